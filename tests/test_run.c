/* test_run.c: the runner end to end on small generated worlds: the
 * published ordering of methods, results independent of the thread
 * count, the protocol's test intervals and weighting, the result files,
 * and `dfbench run` on the command line (files, --data, errors). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>

#include "bench/runner.h"
#include "sim/gen.h"
#include "sim/log.h"
#include "sim/replay.h"

/* A small world: 20 days, 10 of pre-training, hourly stream. */
static const char *const world[] = {
    "generator.clicks=200000", "generator.days=20", "stream.pretrain=10d",
    "model.learning_rate=0.01", "model.epochs=3", NULL};

static void config(df_config *c, const char *const *extra)
{
  cfg_defaults(c);
  for (const char *const *s = world; *s; s++)
    assert_int_equal(cfg_set(c, *s), 0);
  for (; extra && *extra; extra++)
    assert_int_equal(cfg_set(c, *extra), 0);
}

static df_clicks *draw(const df_config *c)
{
  gen_world *w;
  df_clicks *log;
  assert_int_equal(gen_world_create(c, &w), 0);
  assert_int_equal(gen_draw_clicks(w, 2, NULL, NULL, &log), 0);
  gen_world_destroy(w);
  return log;
}

static const run_method *find(const run_report *r, const char *name)
{
  for (int i = 0; i < r->n; i++)
    if (!strcmp(r->m[i].name, name))
      return &r->m[i];
  fail_msg("method %s missing", name);
  return NULL;
}

/* The ceiling and the pattern of the papers: bayes above oracle, oracle
 * above every method that does not see the future, pretrain not above
 * oracle.  "Within noise": a method may tie oracle to 0.002 AUC, about
 * the standard error of the weighted hourly AUC here. */
static void test_ordering(void **state)
{
  (void)state;
  df_config c;
  config(&c, NULL);
  df_clicks *log = draw(&c);
  run_options opt = {0};
  run_report r;
  assert_int_equal(runner_run(&c, log, &opt, &r), 0);

  double bayes = find(&r, "bayes")->summary.mean.auc;
  double oracle = find(&r, "oracle")->summary.mean.auc;
  for (int i = 0; i < r.n; i++) {
    double auc = r.m[i].summary.mean.auc;
    if (strcmp(r.m[i].name, "bayes"))
      assert_true(auc < bayes);
    if (strcmp(r.m[i].name, "bayes") && strcmp(r.m[i].name, "oracle") &&
        auc > oracle + 0.002)
      fail_msg("%s AUC %.4f above oracle %.4f", r.m[i].name, auc, oracle);
  }
  assert_true(find(&r, "pretrain")->summary.mean.auc < oracle);
  /* Streaming helps on a drifting world: the fresh methods beat the
   * frozen model. */
  assert_true(find(&r, "esdfm")->summary.mean.auc >
              find(&r, "pretrain")->summary.mean.auc);
  run_report_free(&r);
  clicks_destroy(log);
}

/* The protocol, recomputed from the clock and the labels: the test
 * intervals are 1 .. steps, each with the clicks of that hour, and the
 * summary is the size-weighted mean of the hourly values. */
static void test_protocol(void **state)
{
  (void)state;
  const char *extra[] = {"run.methods=pretrain,oracle", NULL};
  df_config c;
  config(&c, extra);
  df_clicks *log = draw(&c);
  run_options opt = {0};
  run_report r;
  assert_int_equal(runner_run(&c, log, &opt, &r), 0);

  /* Count the test clicks of each hour independently of the clock. */
  size_t hours = (size_t)(10 * 24), counted = 0;
  size_t *per = calloc(hours + 1, sizeof *per);
  for (size_t i = 0; i < log->n; i++) {
    int64_t t = log->click_ts[i] - 10 * 86400;
    if (t >= 3600 && t / 3600 < (int64_t)hours)
      per[t / 3600]++;
  }
  assert_int_equal(r.steps, hours - 1);

  const run_method *m = find(&r, "oracle");
  double auc = 0, nll = 0, n_auc = 0, n_all = 0;
  for (size_t h = 0; h < m->n_hours; h++) {
    const run_hour *x = &m->hours[h];
    assert_int_equal(x->m.n, per[x->interval]);
    counted += x->m.n;
    nll += (double)x->m.n * x->m.nll;
    n_all += (double)x->m.n;
    if (x->m.auc_defined) {
      auc += (double)x->m.n * x->m.auc;
      n_auc += (double)x->m.n;
    }
  }
  size_t expected = 0;
  for (size_t t = 1; t < hours; t++)
    expected += per[t];
  assert_int_equal(counted, expected);
  assert_int_equal(m->summary.mean.n, expected);
  assert_true(fabs(auc / n_auc - m->summary.mean.auc) < 1e-12);
  assert_true(fabs(nll / n_all - m->summary.mean.nll) < 1e-12);
  free(per);
  run_report_free(&r);
  clicks_destroy(log);
}

/* One thread or two: the same numbers, bit for bit. */
static void test_threads(void **state)
{
  (void)state;
  const char *one[] = {"run.threads=1", "run.methods=vanilla,esdfm,dfm",
                       NULL};
  const char *two[] = {"run.threads=2", "run.methods=vanilla,esdfm,dfm",
                       NULL};
  df_config c1, c2;
  config(&c1, one);
  config(&c2, two);
  df_clicks *l1 = draw(&c1), *l2 = draw(&c2);
  run_options opt = {0};
  run_report a, b;
  assert_int_equal(runner_run(&c1, l1, &opt, &a), 0);
  assert_int_equal(runner_run(&c2, l2, &opt, &b), 0);
  assert_int_equal(a.n, b.n);
  for (int i = 0; i < a.n; i++) {
    assert_memory_equal(&a.m[i].summary, &b.m[i].summary,
                        sizeof a.m[i].summary);
    assert_int_equal(a.m[i].n_hours, b.m[i].n_hours);
    assert_memory_equal(a.m[i].hours, b.m[i].hours,
                        a.m[i].n_hours * sizeof *a.m[i].hours);
  }
  run_report_free(&a);
  run_report_free(&b);
  clicks_destroy(l1);
  clicks_destroy(l2);
}

/* ---- the command line ---- */

static char dir[] = "/tmp/dfb_test_run_XXXXXX";

static int sh(const char *fmt, ...)
{
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Drop the last column (seconds) of every line of a CSV text. */
static void drop_seconds(char *s)
{
  char *out = s;
  for (char *line = s; *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char *comma = line + len;
    while (comma > line && *comma != ',')
      comma--;
    memmove(out, line, (size_t)(comma - line));
    out += comma - line;
    *out++ = '\n';
    line += len + (nl != NULL);
  }
  *out = '\0';
}

static const char small[] =
    "--set generator.clicks=60000 --set generator.days=8 "
    "--set stream.pretrain=4d --set stream.interval=6h "
    "--set fsiw.deadline=2d --set defer.window=2d";

/* A generated world written to a file and replayed with --data gives the
 * same results as the same world drawn in memory: the two paths meet. */
static void test_cli_data(void **state)
{
  (void)state;
  assert_int_equal(sh("'%s' -q generate %s -o %s/w.tsv", DFB_BINARY,
                      small, dir),
                   0);
  assert_int_equal(sh("'%s' -q run %s -o %s/a >/dev/null", DFB_BINARY,
                      small, dir),
                   0);
  assert_int_equal(sh("'%s' -q run %s --data %s/w.tsv --predictions "
                      "-o %s/b >/dev/null",
                      DFB_BINARY, small, dir, dir),
                   0);
  char a[1 << 16], path[256];
  snprintf(path, sizeof path, "%s/a/summary.csv", dir);
  assert_non_null(slurp(path));
  snprintf(a, sizeof a, "%s", slurp(path));
  snprintf(path, sizeof path, "%s/b/summary.csv", dir);
  char *b = slurp(path);
  assert_non_null(b);
  drop_seconds(a);
  drop_seconds(b);
  assert_string_equal(a, b);
  assert_non_null(strstr(a, "\nbayes,"));

  /* Every method's predictions, one line per test click plus a header. */
  snprintf(path, sizeof path, "%s/b/predictions/esdfm.tsv", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[256];
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "hour\tlabel\tprediction\n");
  fclose(f);

  /* score reads the file back: hour is the group, so its size-weighted
   * means are summary.csv's row.  The predictions are written with
   * %.17g, so they read back to the very floats that were scored; only
   * the order of the weighted sums may differ (1e-12 relative). */
  char out[256];
  snprintf(out, sizeof out, "%s/score.txt", dir);
  assert_int_equal(sh("'%s' -q score %s >%s", DFB_BINARY, path, out), 0);
  double n, pos, s_auc, s_pr, s_ap, s_nll;
  assert_int_equal(sscanf(slurp(out), "%*s %*s %*s %*s %*s %*s %lf %lf %lf "
                                      "%lf %lf %lf",
                          &n, &pos, &s_auc, &s_pr, &s_ap, &s_nll),
                   6);
  const char *row = strstr(a, "\nesdfm,");
  assert_non_null(row);
  double r_auc, r_pr, r_nll;
  assert_int_equal(sscanf(row, "\nesdfm,%lf,%lf,%lf", &r_auc, &r_pr, &r_nll),
                   3);
  assert_true(fabs(s_auc - r_auc) <= 1e-12 * r_auc);
  assert_true(fabs(s_pr - r_pr) <= 1e-12 * r_pr);
  assert_true(fabs(s_nll - r_nll) <= 1e-12 * r_nll);
}

static void test_cli_errors(void **state)
{
  (void)state;
  char err[256];
  snprintf(err, sizeof err, "%s/err.txt", dir);

  /* Existing results are never overwritten silently. */
  assert_int_equal(sh("'%s' -q run %s -o %s/c >/dev/null", DFB_BINARY,
                      small, dir),
                   0);
  assert_int_equal(sh("'%s' run %s -o %s/c >/dev/null 2>%s", DFB_BINARY,
                      small, dir, err),
                   2);
  assert_non_null(strstr(slurp(err), "already holds results"));
  assert_int_equal(sh("'%s' -q run %s -o %s/c --force >/dev/null",
                      DFB_BINARY, small, dir),
                   0);

  /* A log of another layout, read as Criteo's: the hint says the fix. */
  assert_int_equal(sh("'%s' -q generate --set generator.clicks=500 "
                      "--set generator.days=4 --set generator.int_features=2 "
                      "--set generator.cat_features=3 -o %s/w5.tsv",
                      DFB_BINARY, dir),
                   0);
  char w5[300];
  snprintf(w5, sizeof w5, "--data %s/w5.tsv", dir);

  const struct {
    const char *args, *want;
  } cases[] = {
      {w5, "first line has 5 features; pass --set "
           "generator.int_features=N --set generator.cat_features=M with "
           "N + M = 5"},
      {"--methods esdfm,bogus", "--methods: run.methods: unknown method "
                                "'bogus'"},
      {"--set stream.interval=0s", "stream.interval"},
      {"--set model.type=svm", "choose one of lr|mlp"},
      {"--data /nonexistent.tsv", "/nonexistent.tsv"},
      {"--set stream.pretrain=100d", "no click after the pre-training"},
      {"--set fsiw.deadline=4d", "fsiw.deadline (4d) must be shorter"},
      {"--set defer.elapsed=2d", "defer.window (2d) must be longer"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = sh("'%s' run %s %s -o %s/d%zu >/dev/null 2>%s", DFB_BINARY,
                small, cases[i].args, dir, i, err);
    char *msg = slurp(err);
    if (st != 2 || !strstr(msg, cases[i].want))
      fail_msg("case %zu: exit %d, message '%s'", i, st, msg);
  }
  assert_int_equal(sh("'%s' run 2>%s", DFB_BINARY, err), 2);
  assert_non_null(strstr(slurp(err), "try 'dfbench run --help'"));
}

static int teardown(void **state)
{
  (void)state;
  return sh("rm -rf '%s'", dir);
}

static int setup(void **state)
{
  (void)state;
  return mkdtemp(dir) ? 0 : -1;
}

int main(void)
{
  gsl_set_error_handler_off();
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ordering),
      cmocka_unit_test(test_protocol),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_cli_data),
      cmocka_unit_test(test_cli_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
