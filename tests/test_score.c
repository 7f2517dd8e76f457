/* test_score.c: `dfbench score` end to end: the built binary
 * (DFB_BINARY) runs on small files written to a temporary directory;
 * its value line is checked against sklearn, its malformed-input errors
 * by exit status and message, its usage errors and --help. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* sklearn values printed with %.17g: the tolerance only covers the
 * last-bit differences of summation order. */
#define TOL 1e-12

static char tmp_dir[] = "/tmp/dfb_test_score_XXXXXX";
static char input_path[256], err_path[256], dir_path[260];

typedef struct run_out {
  int status;
  char out[4096];
  char err[4096];
} run_out;

/* Write content (unless NULL; len bytes of it, or up to its NUL when
 * len is 0) to input_path and run "DFB_BINARY score ARGS", where "%s"
 * in args is replaced by the input path; capture stdout, stderr and
 * the exit status. */
static void run_score_n(const char *content, size_t len, const char *args,
                        run_out *r)
{
  if (content) {
    FILE *f = fopen(input_path, "w");
    assert_non_null(f);
    fwrite(content, 1, len ? len : strlen(content), f);
    assert_int_equal(fclose(f), 0);
  }
  char expanded[512], cmd[1024];
  snprintf(expanded, sizeof expanded, args, input_path);
  snprintf(cmd, sizeof cmd, "'%s' score %s 2>'%s'", DFB_BINARY, expanded,
           err_path);

  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t got = fread(r->out, 1, sizeof r->out - 1, p);
  r->out[got] = '\0';
  int st = pclose(p);
  r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

  FILE *e = fopen(err_path, "r");
  assert_non_null(e);
  got = fread(r->err, 1, sizeof r->err - 1, e);
  r->err[got] = '\0';
  fclose(e);
}

static void run_score(const char *content, const char *args, run_out *r)
{
  run_score_n(content, 0, args, r);
}

static int setup(void **state)
{
  (void)state;
  if (!mkdtemp(tmp_dir))
    return -1;
  snprintf(input_path, sizeof input_path, "%s/in.tsv", tmp_dir);
  snprintf(err_path, sizeof err_path, "%s/err.txt", tmp_dir);
  /* A directory named like the input plus ".d", for "is a directory". */
  snprintf(dir_path, sizeof dir_path, "%s.d", input_path);
  return mkdir(dir_path, 0700);
}

static int teardown(void **state)
{
  (void)state;
  unlink(input_path);
  unlink(err_path);
  rmdir(dir_path);
  rmdir(tmp_dir);
  return 0;
}

/* ---- good input: the value line --------------------------------------- */

typedef struct value_case {
  const char *name;
  const char *content;
  const char *args;
  unsigned long n, positives;
  double auc, pr_auc, ap, nll; /* NaN: "nan" expected */
  const char *warning;         /* substring of stderr, or "" */
} value_case;

/* Data: g1 = sklearn's doc example (y 0 0 1 1, s .1 .4 .35 .8), g2 = four
 * tied scores of 0.5 with two positives, g3 = two negatives (.25, .5).
 * Expected values from /usr/bin/python3, sklearn 1.2.1:
 * roc_auc_score, auc(precision_recall_curve), average_precision_score,
 * log_loss(eps=1e-7), per group and weighted by group size over the
 * groups where each is defined (g3 has neither AUC nor PR metrics);
 * a size-weighted NLL always equals the NLL of the pooled rows. */
#define G1 "0\t0.1\tg1\n0\t0.4\tg1\n1\t0.35\tg1\n1\t0.8\tg1\n"
#define G2 "0\t0.5\tg2\n1\t0.5\tg2\n0\t0.5\tg2\n1\t0.5\tg2\n"
#define G3 "0\t0.25\tg3\n0\t0.5\tg3\n"

static const value_case value_cases[] = {
    {"plain", "0\t0.1\n0\t0.4\n1\t0.35\n1\t0.8\n", "'%s'", 4, 2, 0.75,
     0.79166666666666663, 0.83333333333333326, 0.47228795380917615, ""},
    {"stdin", "0\t0.1\n0\t0.4\n1\t0.35\n1\t0.8\n", "- <'%s'", 4, 2, 0.75,
     0.79166666666666663, 0.83333333333333326, 0.47228795380917615, ""},
    {"header label/prediction, CRLF",
     "label\tprediction\r\n0\t0.1\r\n0\t0.4\r\n1\t0.35\r\n1\t0.8\r\n",
     "'%s'", 4, 2, 0.75, 0.79166666666666663, 0.83333333333333326,
     0.47228795380917615, ""},
    {"groups", G1 G2 G3, "'%s'", 10, 4, 0.625, 0.77083333333333326,
     0.66666666666666663, 0.56425697904882122,
     "1 of 3 groups lack a class"},
    {"groups interleaved, run --predictions header",
     "hour\tlabel\tprediction\n"
     "g3\t0\t0.25\ng1\t0\t0.1\ng2\t0\t0.5\ng1\t0\t0.4\ng2\t1\t0.5\n"
     "g1\t1\t0.35\ng3\t0\t0.5\ng2\t0\t0.5\ng1\t1\t0.8\ng2\t1\t0.5\n",
     "'%s'", 10, 4, 0.625, 0.77083333333333326, 0.66666666666666663,
     0.56425697904882122, "1 of 3 groups have no positive"},
    {"header in another order, column named group",
     "prediction\tgroup\tlabel\n"
     "0.1\tg1\t0\n0.4\tg1\t0\n0.35\tg1\t1\n0.8\tg1\t1\n"
     "0.5\tg2\t0\n0.5\tg2\t1\n0.5\tg2\t0\n0.5\tg2\t1\n",
     "'%s'", 8, 4, 0.625, 0.77083333333333326, 0.66666666666666663,
     0.58271756718456069, ""},
    {"single class: positives only", "1\t0.25\n1\t1\n", "'%s'", 2, 2, NAN,
     1, 1, 0.69314723055994776, "AUC is undefined (only one class)"},
    {"single class: negatives only", "0\t0.25\n0\t0.5\n", "'%s'", 2, 0,
     NAN, NAN, NAN, 0.49041462650586315,
     "PR-AUC and AP are undefined (no positive)"},
    /* Underflow reads as 0: sklearn on y = 0 1, s = 0 .5. */
    {"1e-400 reads as 0", "0\t1e-400\n1\t0.5\n", "'%s'", 2, 1, 1, 1, 1,
     0.34657364027997511, ""},
    {"-0 is 0, '+' and exponents", "0\t-0\n1\t+5e-1\n", "'%s'", 2, 1, 1,
     1, 1, 0.34657364027997511, ""},
};

/* A printed value: "nan" for NaN, else within TOL. */
static void check_field(const char *text, double want, const char *what,
                        const char *name)
{
  if (isnan(want)) {
    if (strcmp(text, "nan"))
      fail_msg("%s: %s printed '%s', expected nan", name, what, text);
    return;
  }
  char *end;
  double got = strtod(text, &end);
  if (*end || !(fabs(got - want) <= TOL))
    fail_msg("%s: %s printed '%s', expected %.17g", name, what, text,
             want);
}

static void test_values(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof value_cases / sizeof *value_cases; i++) {
    const value_case *c = &value_cases[i];
    run_out r;
    run_score(c->content, c->args, &r);
    if (r.status != 0)
      fail_msg("%s: exit %d: %s", c->name, r.status, r.err);

    /* Header line, then six tab-separated fields and a newline. */
    const char *head = "n\tpositives\tauc\tpr_auc\tap\tnll\n";
    assert_memory_equal(r.out, head, strlen(head));
    char *line = r.out + strlen(head), *field[6], *save = NULL;
    assert_non_null(strchr(line, '\n'));
    *strchr(line, '\n') = '\0';
    for (int f = 0; f < 6; f++) {
      field[f] = strtok_r(f ? NULL : line, "\t", &save);
      assert_non_null(field[f]);
    }
    assert_null(strtok_r(NULL, "\t", &save));
    assert_int_equal(strtoul(field[0], NULL, 10), c->n);
    assert_int_equal(strtoul(field[1], NULL, 10), c->positives);
    check_field(field[2], c->auc, "auc", c->name);
    check_field(field[3], c->pr_auc, "pr_auc", c->name);
    check_field(field[4], c->ap, "ap", c->name);
    check_field(field[5], c->nll, "nll", c->name);
    if (!strstr(r.err, c->warning))
      fail_msg("%s: stderr lacks '%s': %s", c->name, c->warning, r.err);
    if (!*c->warning && *r.err)
      fail_msg("%s: unexpected stderr: %s", c->name, r.err);
  }
}

/* ---- bad input and bad usage ------------------------------------------- */

typedef struct error_case {
  const char *content; /* NULL: no file is written */
  size_t len;          /* bytes of content; 0: up to its NUL */
  const char *args;
  int status;
  const char *message; /* substring of stderr; "%s" is the input path */
} error_case;

/* A literal with embedded NUL bytes and its length. */
#define BYTES(s) s, sizeof s - 1

static const error_case error_cases[] = {
    {"0\t0.5\n1\t0.5\n2\t0.5\n", 0, "'%s'", 2,
     "%s:3: label: expected 0 or 1, got '2'"},
    {"0\t0.5\n10\t0.5\n", 0, "'%s'", 2,
     "%s:2: label: expected 0 or 1, got '10'"},
    {"0\t0.5\n1\tabc\n", 0, "'%s'", 2,
     "%s:2: prediction: 'abc' is not a number"},
    {"0\t0.5\n1\t0.5x\n", 0, "'%s'", 2,
     "%s:2: prediction: '0.5x' is not a number"},
    {"0\t0.5\n1\t1.5\n", 0, "'%s'", 2,
     "%s:2: prediction: '1.5' is not a probability in [0, 1]"},
    {"0\tnan\n", 0, "'%s'", 2,
     "%s:1: prediction: 'nan' is not a probability in [0, 1]"},
    {"0\t-inf\n", 0, "'%s'", 2,
     "%s:1: prediction: '-inf' is not a probability in [0, 1]"},
    {"0\t0.5\n1\t0.5\tg\n", 0, "'%s'", 2, "%s:2: expected 2 fields, got 3"},
    {"0\t0.5\tg\n1\n", 0, "'%s'", 2, "%s:2: expected 3 fields, got 1"},
    {"0\t0.5\ta\tb\n", 0, "'%s'", 2,
     "%s:1: expected 2 or 3 fields (label, prediction[, group]), got at "
     "least 4"},
    {"0\t0.5\n\n", 0, "'%s'", 2, "%s:2: expected 2 fields, got 1"},
    {"", 0, "'%s'", 2, "%s: no samples"},
    {"label\tprediction\n", 0, "'%s'", 2, "%s: no samples"},
    {"label\tscore\n0\t0.5\n", 0, "'%s'", 2,
     "%s:1: header: unknown column 'score' (known: label, prediction, "
     "group, hour)"},
    {"label\tlabel\n", 0, "'%s'", 2, "%s:1: header: column 'label' repeated"},
    {"hour\tlabel\n", 0, "'%s'", 2,
     "%s:1: header: needs columns 'label' and 'prediction'"},
    {"0\t0.5\n", 0, "-x '%s'", 2, "score: unknown option '-x'"},
    {"0\t0.5\n", 0, "'%s' extra", 2, "score: unexpected argument 'extra'"},
    {NULL, 0, "", 2, "score: no FILE given (use '-' for stdin)"},
    {NULL, 0, "/nonexistent/x.tsv", 2, "/nonexistent/x.tsv: no such file"},
    {NULL, 0, "'%s.d'", 2, "%s.d: is a directory"},
    {NULL, 0, "- <'%s.d'", 2, "<stdin>: is a directory"},
    /* strtod would skip leading white space; trailing is refused too. */
    {"0\t0.5\n1\t 0.5\n", 0, "'%s'", 2,
     "%s:2: prediction: ' 0.5' has white space around the number"},
    {"0\t0.5 \n", 0, "'%s'", 2,
     "%s:1: prediction: '0.5 ' has white space around the number"},
    {"0\t0.5\v\tg\n", 0, "'%s'", 2,
     "%s:1: prediction: '0.5\v' has white space around the number"},
    {"0 \t0.5\n", 0, "'%s'", 2, "%s:1: label: expected 0 or 1, got '0 '"},
    /* A NUL byte would cut the line short: "0.2<NUL>5" is not 0.2. */
    {BYTES("0\t0.5\n1\t0.2\0" "5\n"), "'%s'", 2,
     "%s:2: field 2 holds a NUL byte"},
    {BYTES("\0" "0\t0.5\n"), "'%s'", 2, "%s:1: field 1 holds a NUL byte"},
    {BYTES("0\t0.5\tg\0\n"), "'%s'", 2, "%s:1: field 3 holds a NUL byte"},
    /* Hexadecimal floats are read by strtod but meant by no writer. */
    {"0\t0x1p-2\n", 0, "'%s'", 2,
     "%s:1: prediction: '0x1p-2' is hexadecimal, not a decimal "
     "probability"},
    {"0\t-0X0\n", 0, "'%s'", 2,
     "%s:1: prediction: '-0X0' is hexadecimal, not a decimal probability"},
    {"0\t1e400\n", 0, "'%s'", 2,
     "%s:1: prediction: '1e400' is not a probability in [0, 1]"},
};

static void test_errors(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof error_cases / sizeof *error_cases; i++) {
    const error_case *c = &error_cases[i];
    char message[512];
    snprintf(message, sizeof message, c->message, input_path);
    run_out r;
    run_score_n(c->content, c->len, c->args, &r);
    if (r.status != c->status || !strstr(r.err, message))
      fail_msg("case %zu: exit %d, stderr '%s'; expected exit %d and "
               "'%s'",
               i, r.status, r.err, c->status, message);
    assert_string_equal(r.out, "");
    /* Usage errors ("score: ...") point at --help. */
    if (!strncmp(c->message, "score: ", 7))
      assert_non_null(strstr(r.err, "try 'dfbench score --help'"));
  }
}

static void test_stdin_name(void **state)
{
  (void)state;
  run_out r;
  run_score("0\t0.5\n1\tx\n", "- <'%s'", &r);
  assert_int_equal(r.status, 2);
  assert_non_null(
      strstr(r.err, "<stdin>:2: prediction: 'x' is not a number"));
}

static void test_help(void **state)
{
  (void)state;
  run_out r;
  run_score(NULL, "--help", &r);
  assert_int_equal(r.status, 0);
  assert_memory_equal(r.out, "usage: dfbench score FILE\n", 26);
  assert_string_equal(r.err, "");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_stdin_name),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests_name("score", tests, setup, teardown);
}
