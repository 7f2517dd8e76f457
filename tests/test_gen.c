/* test_gen.c: the synthetic world against what its config promises:
 * conversion rate, calibration of the true probabilities, delays against
 * their CDF, daily rhythm, missing values, drift, determinism; and
 * `dfbench generate` run as the built binary on small worlds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>

#include "sim/delay.h"
#include "sim/gen.h"
#include "sim/log.h"

static df_clicks *draw(const char *const *sets, int threads)
{
  df_config c;
  cfg_defaults(&c);
  assert_int_equal(cfg_set(&c, "generator.clicks=300000"), 0);
  assert_int_equal(cfg_set(&c, "generator.days=40"), 0);
  for (; sets && *sets; sets++)
    assert_int_equal(cfg_set(&c, *sets), 0);
  gen_world *w;
  df_clicks *log;
  assert_int_equal(gen_world_create(&c, &w), 0);
  assert_int_equal(gen_draw_clicks(w, threads, NULL, NULL, &log), 0);
  gen_world_destroy(w);
  return log;
}

/* The attributed CVR meets generator.cvr.  Tolerance: 4 sd of the
 * Bernoulli mean over 300k clicks (0.0030 at 0.227) plus 4 sd of the
 * pilot estimate of the intercept (200k clicks, sd(p) < 0.25: 0.0022). */
static void test_cvr(void **state)
{
  (void)state;
  static const double targets[] = {0.227, 0.05, 0.5};
  for (size_t t = 0; t < 3; t++) {
    char set[64];
    snprintf(set, sizeof set, "generator.cvr=%g", targets[t]);
    const char *sets[] = {set, NULL};
    df_clicks *log = draw(sets, 2);
    size_t conv = 0;
    for (size_t i = 0; i < log->n; i++)
      conv += log->conv_ts[i] != CLICKS_NO_CONVERSION;
    double cvr = (double)conv / (double)log->n, q = targets[t];
    double tol = 4 * sqrt(q * (1 - q) / 300000.0) + 0.0022;
    if (fabs(cvr - q) > tol)
      fail_msg("cvr %.5f, target %.3f, tolerance %.5f", cvr, q, tol);
    clicks_destroy(log);
  }
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Binned calibration: in each decile of the true probability, the share
 * of clicks that converted matches the mean probability within 4 of its
 * standard deviations sqrt(sum p(1-p)) / n_bin. */
static void test_calibration(void **state)
{
  (void)state;
  df_clicks *log = draw(NULL, 2);
  double *sorted = malloc(log->n * sizeof *sorted);
  memcpy(sorted, log->truth_p, log->n * sizeof *sorted);
  qsort(sorted, log->n, sizeof *sorted, cmp_double);

  for (int b = 0; b < 10; b++) {
    double lo = sorted[log->n * (size_t)b / 10];
    double hi = b == 9 ? 2 : sorted[log->n * (size_t)(b + 1) / 10];
    double sum_p = 0, var = 0, sum_y = 0, n = 0;
    for (size_t i = 0; i < log->n; i++) {
      double p = log->truth_p[i];
      if (p < lo || p >= hi)
        continue;
      n++;
      sum_p += p;
      var += p * (1 - p);
      sum_y += log->conv_ts[i] != CLICKS_NO_CONVERSION;
    }
    assert_true(n > 1000);
    if (fabs(sum_y - sum_p) > 4 * sqrt(var))
      fail_msg("bin %d: %.0f conversions, %.1f expected (sd %.1f)", b, sum_y,
               sum_p, sqrt(var));
  }
  /* The probabilities spread: the world has signal to learn. */
  assert_true(sorted[log->n / 10] < 0.1);
  assert_true(sorted[log->n * 9 / 10] > 0.4);
  free(sorted);
  clicks_destroy(log);
}

/* With delays independent of the features, the attributed delays follow
 * the configured CDF truncated at the attribution window: the
 * Kolmogorov-Smirnov statistic stays under 1.63 / sqrt(n), the 1%
 * critical value.  Whole seconds shift the CDF by at most f * 1 s. */
static void test_delays(void **state)
{
  (void)state;
  static const char *const families[][3] = {
      {"delay.family=mixture", NULL, NULL},
      {"delay.family=exponential", "delay.mean=3d", NULL},
      {"delay.family=weibull", "delay.shape=0.5", "delay.scale=12h"},
      {"delay.family=lognormal", "delay.median=2h", "delay.sigma=2"},
      {"delay.family=gamma", "delay.shape=0.4", "delay.scale=5d"},
  };
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
    const char *sets[6] = {"delay.feature_effect=0", "delay.mix_effect=0"};
    for (int j = 0; j < 3; j++)
      sets[j + 2] = families[f][j];
    df_clicks *log = draw(sets, 2);

    df_config c;
    cfg_defaults(&c);
    for (int j = 0; sets[j]; j++)
      assert_int_equal(cfg_set(&c, sets[j]), 0);
    delay_dist d;
    assert_int_equal(delay_from_config(&d, &c), 0);

    size_t m = 0;
    double *x = malloc(log->n * sizeof *x);
    for (size_t i = 0; i < log->n; i++) {
      if (log->conv_ts[i] == CLICKS_NO_CONVERSION)
        continue;
      assert_true(log->truth_delay[i] == log->conv_ts[i] - log->click_ts[i]);
      assert_true(log->truth_delay[i] >= 0);
      assert_true(log->truth_delay[i] <= (int64_t)c.delay_attribution);
      x[m++] = (double)log->truth_delay[i];
    }
    qsort(x, m, sizeof *x, cmp_double);
    double dmax = 0, limit = c.delay_attribution;
    for (size_t i = 0; i < m; i++) {
      /* A rounded delay x stands for a true one in [x - 0.5, x + 0.5]. */
      double lo = delay_cdf_truncated(&d, 1, limit, x[i] - 0.5);
      double hi = delay_cdf_truncated(&d, 1, limit, x[i] + 0.5);
      double below = (double)i / (double)m, above = (i + 1.0) / (double)m;
      dmax = fmax(dmax, fmax(lo - above, below - hi));
    }
    double bound = 1.63 / sqrt((double)m);
    if (dmax > bound)
      fail_msg("family %zu: KS %.5f > %.5f (n = %zu)", f, dmax, bound, m);
    free(x);
    clicks_destroy(log);
  }
}

/* delay.feature_effect makes the delay depend on the click: the mean log
 * delay of conversions differs between frequent values of a field far
 * more than sampling noise allows (about 0.08 decades a value here). */
typedef struct value_delay {
  uint64_t value;
  double delay;
} value_delay;

static int cmp_value_delay(const void *a, const void *b)
{
  const value_delay *x = a, *y = b;
  if (x->value != y->value)
    return x->value < y->value ? -1 : 1;
  return (x->delay > y->delay) - (x->delay < y->delay);
}

/* The delay of a conversion in decades of seconds, and whether it came
 * within an hour: the two per-conversion quantities compared below. */
static double log_delay(int64_t d) { return log10(1.0 + (double)d); }
static double within_hour(int64_t d) { return d <= 3600 ? 1.0 : 0.0; }

/* Spread (max - min) of the mean of f(delay) over the values of
 * categorical field 0 that have at least 400 conversions. */
static double value_spread(const df_clicks *log, double (*f)(int64_t))
{
  value_delay *vd = malloc(log->n * sizeof *vd);
  size_t m = 0;
  for (size_t i = 0; i < log->n; i++)
    if (log->conv_ts[i] != CLICKS_NO_CONVERSION)
      vd[m++] = (value_delay){log->cats[i * (size_t)log->n_cat],
                              f(log->truth_delay[i])};
  qsort(vd, m, sizeof *vd, cmp_value_delay);

  double lo = INFINITY, hi = -INFINITY;
  int groups = 0;
  for (size_t s = 0, e; s < m; s = e) {
    for (e = s; e < m && vd[e].value == vd[s].value; e++)
      ;
    if (e - s < 400 || vd[s].value == CLICKS_MISSING_CAT)
      continue;
    double mean = 0;
    for (size_t i = s; i < e; i++)
      mean += vd[i].delay / (double)(e - s);
    lo = fmin(lo, mean);
    hi = fmax(hi, mean);
    groups++;
  }
  free(vd);
  assert_true(groups >= 4);
  return hi - lo;
}

static void test_feature_effect(void **state)
{
  (void)state;
  const char *off[] = {"delay.feature_effect=0", "delay.mix_effect=0",
                       "generator.churn=0s", NULL};
  const char *on[] = {"delay.feature_effect=3", "delay.mix_effect=0",
                      "generator.churn=0s", NULL};
  df_clicks *a = draw(off, 2), *b = draw(on, 2);
  double s0 = value_spread(a, log_delay), s1 = value_spread(b, log_delay);
  /* In decades of seconds: a strong effect moves the means far more. */
  if (!(s1 > 2 * s0 && s1 > 0.5))
    fail_msg("spread without effect %.3f, with %.3f", s0, s1);
  clicks_destroy(a);
  clicks_destroy(b);
}

/* delay.mix_effect moves the share of fast conversions from click to
 * click: over the values of categorical field 0 with at least 400
 * conversions, the share of conversions within an hour spreads far
 * beyond binomial noise (sd at most 0.025 a value) with the effect, and
 * stays within it without. */
static void test_mix_effect(void **state)
{
  (void)state;
  const char *off[] = {"delay.feature_effect=0", "delay.mix_effect=0",
                       "generator.churn=0s", NULL};
  const char *on[] = {"delay.feature_effect=0", "delay.mix_effect=4",
                      "generator.churn=0s", NULL};
  df_clicks *a = draw(off, 2), *b = draw(on, 2);
  double s0 = value_spread(a, within_hour);
  double s1 = value_spread(b, within_hour);
  print_message("fast-share spread %.3f off, %.3f on\n", s0, s1);
  if (!(s0 < 0.15 && s1 > 0.3))
    fail_msg("fast-share spread without effect %.3f, with %.3f", s0, s1);
  clicks_destroy(a);
  clicks_destroy(b);
}

/* Times sorted in [0, span); the evening peak of the daily rhythm. */
static void test_times(void **state)
{
  (void)state;
  df_clicks *log = draw(NULL, 1);
  double evening = 0, morning = 0;
  for (size_t i = 0; i < log->n; i++) {
    assert_true(log->click_ts[i] >= 0 && log->click_ts[i] < 40 * 86400);
    if (i)
      assert_true(log->click_ts[i] >= log->click_ts[i - 1]);
    int hour = (int)(log->click_ts[i] % 86400 / 3600);
    evening += hour >= 18 && hour < 22;
    morning += hour >= 6 && hour < 10;
  }
  /* Intensity 1 + 0.5 cos: 18-22h vs 6-10h is about 2.6 to 1. */
  assert_true(evening / morning > 2.2 && evening / morning < 3.0);
  clicks_destroy(log);
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Missing values at generator.missing; new values keep appearing when
 * values churn, and almost never when they do not.  The share of the
 * last 2000 clicks whose value of field is absent from the first three
 * quarters of the log. */
static double new_value_share(const df_clicks *log, int field)
{
  size_t half = log->n * 3 / 4, fresh = 0, total = 0;
  uint64_t *seen = malloc(half * sizeof *seen);
  for (size_t i = 0; i < half; i++)
    seen[i] = log->cats[i * (size_t)log->n_cat + (size_t)field];
  qsort(seen, half, sizeof *seen, cmp_u64);
  for (size_t i = log->n - 2000; i < log->n; i++) {
    uint64_t v = log->cats[i * (size_t)log->n_cat + (size_t)field];
    fresh += !bsearch(&v, seen, half, sizeof *seen, cmp_u64);
    total++;
  }
  free(seen);
  return (double)fresh / (double)total;
}

static void test_missing_and_churn(void **state)
{
  (void)state;
  const char *s1[] = {"generator.missing=0.2", "generator.churn=5d", NULL};
  df_clicks *log = draw(s1, 2);
  size_t miss = 0, cells = log->n * (size_t)(log->n_int + log->n_cat);
  for (size_t i = 0; i < log->n * (size_t)log->n_int; i++)
    miss += log->ints[i] == CLICKS_MISSING_INT;
  for (size_t i = 0; i < log->n * (size_t)log->n_cat; i++)
    miss += log->cats[i] == CLICKS_MISSING_CAT;
  /* 4 sd of a binomial share over 5.1 M cells is 0.0007. */
  assert_true(fabs((double)miss / (double)cells - 0.2) < 0.001);
  double churning = new_value_share(log, 0);
  clicks_destroy(log);

  const char *s2[] = {"generator.churn=0s", NULL};
  log = draw(s2, 2);
  double still = new_value_share(log, 0);
  clicks_destroy(log);
  if (!(churning > 0.3 && still < 0.1))
    fail_msg("new values: %.3f with churn, %.3f without", churning, still);
}

/* Same config and seed: the same log, whatever the thread count; another
 * seed: another log. */
static void test_determinism(void **state)
{
  (void)state;
  df_clicks *a = draw(NULL, 1), *b = draw(NULL, 2);
  const char *other[] = {"generator.seed=2", NULL};
  df_clicks *c = draw(other, 2);
  assert_int_equal(a->n, b->n);
  assert_memory_equal(a->click_ts, b->click_ts, a->n * 8);
  assert_memory_equal(a->conv_ts, b->conv_ts, a->n * 8);
  assert_memory_equal(a->ints, b->ints, a->n * 8 * (size_t)a->n_int);
  assert_memory_equal(a->cats, b->cats, a->n * 8 * (size_t)a->n_cat);
  assert_memory_equal(a->truth_p, b->truth_p, a->n * 8);
  assert_true(memcmp(a->cats, c->cats, a->n * 8) != 0);
  clicks_destroy(a);
  clicks_destroy(b);
  clicks_destroy(c);
}

/* Bad delay settings are refused with the key named: a mixture that
 * --set already refuses, written into the struct as code may do, and a
 * window that attributes nothing (F(1m) = 6.9e-7 for a mean of 1000d),
 * which only the world can see. */
static void test_bad_world(void **state)
{
  (void)state;
  static const struct {
    const char *components; /* written straight into the config */
    const char *sets[2];    /* then these --set */
    const char *msg;
  } cases[] = {
      {"0.5*exponential(mean=1h) + 0.5*weibull(scale=2d)",
       {"delay.family=mixture", NULL},
       "default: delay.components: term 2 '0.5*weibull(scale=2d)': "
       "missing parameter 'shape'"},
      {NULL,
       {"delay.components=exponential(mean=1000d)", "delay.attribution=1m"},
       "--set: delay.attribution = 1m: the delay "
       "1*exponential(mean=1000d) puts only"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    df_config c;
    cfg_defaults(&c);
    if (cases[i].components)
      snprintf(c.delay_components, sizeof c.delay_components, "%s",
               cases[i].components);
    for (int j = 0; j < 2 && cases[i].sets[j]; j++)
      assert_int_equal(cfg_set(&c, cases[i].sets[j]), 0);
    gen_world *w = NULL;
    assert_int_equal(gen_world_create(&c, &w), DF_EINPUT);
    assert_null(w);
    if (!strstr(df_errmsg(), cases[i].msg))
      fail_msg("case %zu: '%s' not in '%s'", i, cases[i].msg, df_errmsg());
  }
}

/* ---- the command ------------------------------------------------- */

static char g_dir[] = "/tmp/test_gen_XXXXXX";

/* The whole of a small file in g_dir ("" when it is missing). */
static void slurp(const char *name, char *buf, size_t size)
{
  char path[300];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f)
    return;
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Whether name exists in g_dir. */
static int exists(const char *name)
{
  char path[300];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  return access(path, F_OK) == 0;
}

/* "dfbench generate ARGS" in g_dir on a world of 500 clicks; returns
 * the exit status with stderr in err. */
static int generate(const char *args, char *err, size_t size)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && '%s' generate --set generator.clicks=500 %s "
           ">/dev/null 2>err.txt",
           g_dir, DFB_BINARY, args);
  int st = system(cmd);
  slurp("err.txt", err, size);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Each case: the status, a line stderr must hold, and a file that must
 * then exist (or, after a failure, must not). */
static void test_cli(void **state)
{
  (void)state;
  static const struct {
    const char *args;
    int status;
    const char *err;
    const char *file;
  } cases[] = {
      /* data.* keys are checked but do not apply */
      {"--set data.source=file -o d1.tsv", 0,
       "warning: data.source = file does not apply: generate always "
       "draws a synthetic world and reads no data.* key\n",
       "d1.tsv"},
      {"--set data.source=fil -o d2.tsv", 2,
       "error: --set: data.source: 'fil' is not valid; choose one of "
       "synthetic|file\n",
       "d2.tsv"},
      /* a malformed mixture fails whatever delay.family says */
      {"--set delay.family=exponential --set delay.components=garbage "
       "-o c1.tsv",
       2,
       "error: --set: delay.components: term 1 'garbage': unknown family "
       "'garbage'; valid: exponential, weibull, lognormal, gamma\n",
       "c1.tsv"},
      /* -o: its directory is created; a directory is no file name */
      {"-o new/sub/o1.tsv", 0,
       "info: wrote new/sub/o1.tsv and "
       "new/sub/o1.tsv.truth",
       "new/sub/o1.tsv.truth"},
      {"-o new", 2,
       "error: -o new: is a directory; name the click log "
       "to write in it\n",
       "new/new"},
      {"-o new/sub/o1.tsv/o2.tsv", 2,
       "error: new/sub/o1.tsv: exists and is not a directory\n",
       "new/sub/o1.tsv/o2.tsv"},
      {"-o fresh/", 2,
       "error: -o fresh/: names a directory; name the "
       "click log to write in it\n",
       "fresh"},
      /* another layout: the flags inspect will need */
      {"--set generator.int_features=0 --set generator.cat_features=2 "
       "-o l1.tsv",
       0,
       "info: not the Criteo layout: read it with 'dfbench inspect l1.tsv "
       "--int-features 0 --cat-features 2', and run --data it with the "
       "same generator.int_features and cat_features\n",
       "l1.tsv"},
      /* ranges as typed */
      {"--set generator.seed=-1 -o s1.tsv", 2,
       "error: --set: generator.seed: -1 is out of range; valid: [0, "
       "9007199254740992]\n",
       "s1.tsv"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[4096];
    int st = generate(cases[i].args, err, sizeof err);
    if (st != cases[i].status || !strstr(err, cases[i].err))
      fail_msg("'%s': status %d, stderr '%s'", cases[i].args, st, err);
    if (exists(cases[i].file) != !cases[i].status)
      fail_msg("'%s': %s %s", cases[i].args, cases[i].file,
               cases[i].status ? "written" : "missing");
  }
}

static int cli_setup(void **state)
{
  (void)state;
  return mkdtemp(g_dir) ? 0 : -1;
}

static int cli_teardown(void **state)
{
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) ? -1 : 0;
}

int main(void)
{
  gsl_set_error_handler_off();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cvr),
      cmocka_unit_test(test_calibration),
      cmocka_unit_test(test_delays),
      cmocka_unit_test(test_feature_effect),
      cmocka_unit_test(test_mix_effect),
      cmocka_unit_test(test_times),
      cmocka_unit_test(test_missing_and_churn),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_bad_world),
      cmocka_unit_test_setup_teardown(test_cli, cli_setup, cli_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
