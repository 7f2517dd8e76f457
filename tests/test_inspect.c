/* test_inspect.c: `dfbench inspect` (bench/cmd_inspect.c), run as the
 * built binary on small hand-made logs; its stdout, stderr and exit
 * status are checked against numbers worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[256];

/* 8 clicks, 2 integer and 1 categorical feature.  Converted clicks and
 * their delays: 600, 3600 (1h exactly), 86400 (1d exactly), 900 (15m
 * exactly), 864000 (10d).  Days: day 0 holds 3 clicks (2 converted),
 * day 1 2 (1), day 2 3 (2).  Missing: int_1 on 2 lines, int_2 on 3,
 * cat_1 on 2. */
static const char g_log[] = "0\t600\t1\t\ta\n"
                            "100\t\t\t5\tb\n"
                            "3600\t7200\t2\t3\t\n"
                            "86400\t172800\t\t\tc\n"
                            "90000\t\t1\t1\td\n"
                            "172800\t173700\t1\t1\te\n"
                            "200000\t1064000\t4\t\t\n"
                            "250000\t\t1\t1\tf\n";

/* ---- running the binary ------------------------------------------- */

typedef struct run_result {
  int status; /* exit status, or -1 if it did not exit */
  char out[16384];
  char err[4096];
} run_result;

static void slurp(const char *path, char *buf, size_t size)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Run DFB_BINARY with args (NULL-terminated), stdout and stderr caught
 * in files so that neither pipe can fill and block the child. */
static void run(run_result *r, const char *const *args)
{
  char out[300], err[300];
  snprintf(out, sizeof out, "%s/stdout", g_dir);
  snprintf(err, sizeof err, "%s/stderr", g_dir);
  char *argv[16];
  int n = 0;
  argv[n++] = (char *)DFB_BINARY;
  for (; args[n - 1] && n < 15; n++)
    argv[n] = (char *)args[n - 1];
  argv[n] = NULL;

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
      _exit(127);
    execv(DFB_BINARY, argv);
    _exit(127);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  slurp(out, r->out, sizeof r->out);
  slurp(err, r->err, sizeof r->err);
}

/* Write text to name in the test directory; path receives its path. */
static const char *write_log(char path[300], const char *name,
                             const char *text)
{
  snprintf(path, 300, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
  return path;
}

/* The value of key in tsv output, as text; fails when absent. */
static const char *tsv_value(const char *out, const char *key, char *buf,
                             size_t size)
{
  size_t kl = strlen(key);
  for (const char *p = out; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len > kl && !strncmp(p, key, kl) && p[kl] == '\t') {
      snprintf(buf, size, "%.*s", (int)(len - kl - 1), p + kl + 1);
      return buf;
    }
    p += len + (nl != NULL);
  }
  fail_msg("key '%s' missing from:\n%s", key, out);
  return NULL;
}

/* ---- tests -------------------------------------------------------- */

/* The tsv numbers, each worked out by hand from g_log and checked with
 * numpy (np.quantile, default 'linear', on the five delays; means and
 * shares likewise).  Tolerance: 1e-12 relative, far below the error of
 * any wrong definition (the nearest neighbours differ by > 1 %). */
static void test_tsv_numbers(void **state)
{
  (void)state;
  static const struct {
    const char *key;
    double want;
  } cases[] = {
      {"rows", 8},
      {"conversions", 5},
      {"cvr", 0.625},
      {"first_click_ts", 0},
      {"last_click_ts", 250000},
      {"span_s", 250000},
      {"days", 3},
      {"delay_mean_s", 191100},
      {"delay_q10_s", 720},    /* h = 0.4: 600 + 0.4 * 300 */
      {"delay_q25_s", 900},    /* h = 1 */
      {"delay_q50_s", 3600},   /* h = 2 */
      {"delay_q75_s", 86400},  /* h = 3 */
      {"delay_q90_s", 552960}, /* h = 3.6: 86400 + 0.6 * 777600 */
      {"delay_q99_s", 832896}, /* h = 3.96 */
      {"share_within_15m", 0.4}, /* 600, 900 (inclusive) */
      {"share_within_1h", 0.6},
      {"share_within_1d", 0.8},
      {"share_within_7d", 0.8},
      {"share_within_14d", 1.0},
      {"share_within_30d", 1.0},
      {"missing_int_1", 0.25},
      {"missing_int_2", 0.375},
      {"missing_cat_1", 0.25},
  };
  char path_buf[300];
  const char *path = write_log(path_buf, "hand.tsv", g_log);
  const char *args[] = {"inspect",      path,           "--format", "tsv",
                        "--int-features", "2", "--cat-features", "1",
                        NULL};
  run_result r;
  run(&r, args);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.err, "");
  char v[64];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    double got = strtod(tsv_value(r.out, cases[c].key, v, sizeof v), NULL);
    double tol = 1e-12 * fmax(1.0, fabs(cases[c].want));
    if (!(fabs(got - cases[c].want) <= tol))
      fail_msg("%s: got %s, want %.17g", cases[c].key, v, cases[c].want);
  }
}

/* The text for a person: counts, the day table, human durations. */
static void test_text_report(void **state)
{
  (void)state;
  static const char *const want[] = {
      "clicks       8\n",
      "conversions  5\n",
      "cvr          0.6250 (62.50%)\n",
      "time span    2.9d (clicks from 0 s to 250000 s)\n",
      "days         touching 3 calendar days (day 0 to 2)\n",
      "      0          3            2   0.6667\n",
      "      1          2            1   0.5000\n",
      "      2          3            2   0.6667\n",
      "int_1   25.0%   int_2   37.5%\n",
      "cat_1   25.0%\n",
      "q10 12m q25 15m q50 1.0h q75 1.0d q90 6.4d q99 9.6d  mean 2.2d\n",
      "15m 40.0% 1h 60.0% 1d 80.0% 7d 80.0% 14d 100.0% 30d 100.0%\n",
  };
  char path_buf[300];
  const char *path = write_log(path_buf, "hand.tsv", g_log);
  const char *args[] = {"inspect", path, "--int-features", "2",
                        "--cat-features=1", NULL};
  run_result r;
  run(&r, args);
  assert_int_equal(r.status, 0);
  for (size_t c = 0; c < sizeof want / sizeof want[0]; c++)
    if (!strstr(r.out, want[c]))
      fail_msg("missing '%s' in:\n%s", want[c], r.out);
}

/* No conversions: cvr 0, delays and shares undefined. */
static void test_no_conversions(void **state)
{
  (void)state;
  char path_buf[300];
  const char *path = write_log(path_buf, "noconv.tsv", "0\t\t\n5\t\t\n");
  const char *tsv[] = {"inspect", path, "--int-features", "0",
                       "--cat-features", "1", "--format", "tsv", NULL};
  run_result r;
  char v[64];
  run(&r, tsv);
  assert_int_equal(r.status, 0);
  assert_string_equal(tsv_value(r.out, "cvr", v, sizeof v), "0");
  assert_string_equal(tsv_value(r.out, "share_within_1d", v, sizeof v),
                      "nan");
  assert_string_equal(tsv_value(r.out, "delay_q50_s", v, sizeof v), "nan");

  const char *text[] = {"inspect", path, "--int-features", "0",
                        "--cat-features", "1", NULL};
  run(&r, text);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "cvr          0.0000 (0.00%)"));
  assert_non_null(
      strstr(r.out, "delay of converted clicks: n/a (no conversions)"));
}

/* An empty file is a log of 0 clicks, said plainly. */
static void test_empty_file(void **state)
{
  (void)state;
  char path_buf[300];
  const char *path = write_log(path_buf, "empty.tsv", "");
  const char *text[] = {"inspect", path, NULL};
  run_result r;
  run(&r, text);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "clicks       0 (the file is empty)\n"));

  const char *tsv[] = {"inspect", path, "--format", "tsv", NULL};
  char v[64];
  run(&r, tsv);
  assert_int_equal(r.status, 0);
  assert_string_equal(tsv_value(r.out, "rows", v, sizeof v), "0");
  assert_string_equal(tsv_value(r.out, "cvr", v, sizeof v), "nan");
  assert_string_equal(tsv_value(r.out, "share_within_30d", v, sizeof v),
                      "nan");
}

/* Bad data and bad usage: exit 2 and a message naming the problem. */
static void test_errors(void **state)
{
  (void)state;
  char bad_buf[300];
  const char *bad = write_log(bad_buf, "bad.tsv", "0\t\t\n5\t12x\t\n");
  char def_buf[300];
  const char *def = write_log(def_buf, "def.tsv", "0\t\t\t\t\n");
  /* Criteo lines of 19 fields, then one of 18 or 20 */
  static const char criteo[] = "0\t\t1\t2\t3\t4\t5\t6\t7\t8\ta\tb\tc\td\te"
                               "\tf\tg\th\ti\n";
  char c18_buf[300], c20_buf[300], c0_buf[300];
  char text[512];
  snprintf(text, sizeof text, "%s%.*s\n", criteo,
           (int)(strrchr(criteo, '\t') - criteo), criteo);
  const char *c18 = write_log(c18_buf, "c18.tsv", text);
  snprintf(text, sizeof text, "%.*s\tj\n%s", (int)strlen(criteo) - 1,
           criteo, criteo);
  const char *c20 = write_log(c20_buf, "c20.tsv", text);
  /* what generate writes with no features: two times a line */
  const char *c0 = write_log(c0_buf, "c0.tsv", "0\t\n5\t7\n");
  /* a first line one byte over the 1 MiB limit */
  char long_buf[300];
  size_t n_long = ((size_t)1 << 20) + 1;
  char *big = malloc(n_long + 2);
  assert_non_null(big);
  memset(big, '7', n_long);
  memcpy(big + n_long, "\n", 2);
  const char *long_log = write_log(long_buf, "long.tsv", big);
  free(big);
  static const struct {
    const char *args[8];
    int status;
    const char *err;
  } cases[] = {
      {{"inspect", "@bad", "--int-features", "0", "--cat-features", "1"},
       2,
       "bad.tsv:2: field 2 (conv_ts): '12x' is not an integer\n"},
      /* without the flags the first line must be Criteo's */
      {{"inspect", "@def"}, 2,
       "def.tsv:1: expected 19 fields (the Criteo layout: 2 times, 8 "
       "integer and 9 categorical features), found 5\n"
       "dfbench: hint: for a log with other feature counts pass "
       "--int-features N --cat-features M with N + M = 3\n"},
      {{"inspect", "@c0", "--format", "tsv"}, 2,
       "c0.tsv:1: expected 19 fields (the Criteo layout: 2 times, 8 "
       "integer and 9 categorical features), found 2\n"
       "dfbench: hint: for a log with other feature counts pass "
       "--int-features N --cat-features M with N + M = 0\n"},
      {{"inspect", "@c20"}, 2,
       "c20.tsv:1: expected 19 fields (the Criteo layout: 2 times, 8 "
       "integer and 9 categorical features), found 20\n"},
      /* a malformed line after a good first line is named as before */
      {{"inspect", "@c18"}, 2, "c18.tsv:2: expected 19 fields, found 18\n"},
      {{"inspect", "@long"}, 2,
       "long.tsv:1: line longer than 1048576 bytes\n"},
      /* a flag given alone leaves the other count at Criteo's */
      {{"inspect", "@c0", "--int-features", "0"}, 2,
       "c0.tsv:1: expected 11 fields, found 2\n"},
      {{"inspect"}, 2, "error: inspect: no FILE given\n"
                       "try 'dfbench inspect --help'\n"},
      {{"inspect", "@bad", "--format", "csv"}, 2,
       "--format must be text or tsv, not 'csv'\ntry 'dfbench inspect "
       "--help'\n"},
      {{"inspect", "@bad", "--int-features", "x"}, 2,
       "--int-features must be an integer in [0, 64], not 'x'\n"},
      {{"inspect", "@bad", "--cat-features", "65"}, 2,
       "--cat-features must be an integer in [0, 64], not '65'\n"},
      {{"inspect", "@bad", "--cat-features"}, 2,
       "--cat-features needs a value\n"},
      {{"inspect", "@bad", "--bogus"}, 2, "unknown option '--bogus'\n"},
      {{"inspect", "@bad", "@def"}, 2, "one FILE only"},
      {{"inspect", "/nonexistent/x.tsv"}, 2,
       "error: /nonexistent/x.tsv: no such file\n"},
      {{"inspect", "@dir"}, 2, ": is a directory\n"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const char *args[8];
    for (int k = 0; k < 8; k++) {
      const char *a = cases[c].args[k];
      args[k] = a && !strcmp(a, "@bad")   ? bad
                : a && !strcmp(a, "@def") ? def
                : a && !strcmp(a, "@dir") ? g_dir
                : a && !strcmp(a, "@c0")  ? c0
                : a && !strcmp(a, "@c18") ? c18
                : a && !strcmp(a, "@c20") ? c20
                : a && !strcmp(a, "@long") ? long_log
                                          : a;
    }
    run_result r;
    run(&r, args);
    assert_int_equal(r.status, cases[c].status);
    assert_string_equal(r.out, "");
    if (!strstr(r.err, cases[c].err))
      fail_msg("case %zu: stderr '%s' lacks '%s'", c, r.err, cases[c].err);
  }
}

/* Another layout reads when both counts are given: what generate
 * writes with no features at all. */
static void test_other_layout(void **state)
{
  (void)state;
  char path_buf[300];
  const char *path = write_log(path_buf, "c0.tsv", "0\t\n5\t7\n");
  const char *args[] = {"inspect",        path, "--int-features", "0",
                        "--cat-features", "0",  NULL};
  run_result r;
  run(&r, args);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.err, "");
  assert_non_null(strstr(r.out, "clicks       2\nconversions  1\n"));
}

static void test_help(void **state)
{
  (void)state;
  const char *args[] = {"inspect", "--help", NULL};
  run_result r;
  run(&r, args);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.err, "");
  assert_non_null(strstr(r.out, "usage: dfbench inspect FILE"));
  assert_non_null(strstr(r.out, "share_within_15m"));
  assert_non_null(strstr(r.out, "Criteo layout, 19 fields a line"));
  assert_non_null(strstr(r.out, "touching N calendar days"));
  assert_non_null(strstr(r.out, "longer than 1 MiB (1048576 bytes)"));
}

static int group_setup(void **state)
{
  (void)state;
  const char *t = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/test_inspect.XXXXXX", t ? t : "/tmp");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
  (void)state;
  static const char *const names[] = {
      "stdout",  "stderr",  "hand.tsv", "noconv.tsv", "empty.tsv",
      "bad.tsv", "def.tsv", "c0.tsv",   "c18.tsv",    "c20.tsv",
      "long.tsv"};
  char p[300];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
    unlink(p);
  }
  return rmdir(g_dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tsv_numbers),
      cmocka_unit_test(test_text_report),
      cmocka_unit_test(test_no_conversions),
      cmocka_unit_test(test_empty_file),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_other_layout),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
