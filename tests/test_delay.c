/* test_delay.c: the delay families (sim/delay.h).
 *
 * CDFs against an independent reference, the exact truncated sampler
 * against its CDF by a Kolmogorov-Smirnov test, the components syntax
 * and its error messages, delay_from_config with --set overrides, the
 * describe -> parse round trip, the feature tilt of the mixture weights
 * and the Criteo-like shape of the default world. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "sim/config.h"
#include "sim/delay.h"
#include "sim/log.h"

#define MIN 60.0
#define HOUR 3600.0
#define DAY 86400.0

static delay_dist parse_ok(const char *text)
{
  delay_dist d;
  int rc = delay_parse_components(text, &d);
  if (rc)
    print_error("%s: %s\n", text, df_errmsg());
  assert_int_equal(rc, 0);
  return d;
}

/* |got - want| <= tol * max(|want|, tiny), reported with both values. */
static void assert_close(double got, double want, double tol,
                         const char *what)
{
  double err = fabs(got - want), scale = fmax(fabs(want), 1e-300);
  if (!(err <= tol * scale))
    print_error("%s: got %.17g, want %.17g (rel err %.3g > %.3g)\n", what,
                got, want, err / scale, tol);
  assert_true(err <= tol * scale);
}

/* ---- CDF values ---- */

/* Expected values from /usr/bin/python3 (SciPy 1.10, NumPy 1.24):
 *   exponential  -math.expm1(-t / mean)
 *   weibull      -math.expm1(-(t / scale) ** shape)
 *   lognormal    0.5 * math.erfc(-(log t - log median) / (sigma sqrt 2))
 *   gamma        scipy.special.gammainc(shape, t / scale) (Cephes), which
 *                agrees to 1e-15 with a 400-term series
 *                exp(a log x - x - lgamma a) sum_k x^k / (a (a+1)...(a+k))
 *   mixture      the weighted sum of the above.
 * Tolerance: 1e-12 relative (GSL and the references agree to ~1e-15). */
static const struct {
  const char *dist;
  double t, want;
} cdf_cases[] = {
    {"exponential(mean=15m)", 60.0, 0.064493014968382265},
    {"exponential(mean=15m)", 900.0, 0.63212055882855767},
    {"exponential(mean=15m)", 3600.0, 0.98168436111126578},
    {"exponential(mean=15m)", 86400.0, 1},
    {"weibull(scale=2d,shape=0.8)", 600.0, 0.010718844720648029},
    {"weibull(scale=2d,shape=0.8)", 86400.0, 0.43692879100444287},
    {"weibull(scale=2d,shape=0.8)", 172800.0, 0.63212055882855767},
    {"weibull(scale=2d,shape=0.8)", 2592000.0, 0.99983787799473933},
    {"lognormal(median=5h,sigma=1.4)", 60.0, 2.3093305443095439e-05},
    {"lognormal(median=5h,sigma=1.4)", 3600.0, 0.12515463630838877},
    {"lognormal(median=5h,sigma=1.4)", 18000.0, 0.5},
    {"lognormal(median=5h,sigma=1.4)", 604800.0, 0.99396986242079688},
    {"gamma(scale=1d,shape=2.5)", 3600.0, 0.00010351121121236146},
    {"gamma(scale=1d,shape=2.5)", 86400.0, 0.15085496391539038},
    {"gamma(scale=1d,shape=2.5)", 259200.0, 0.69378108158672125},
    {"gamma(scale=1d,shape=2.5)", 2592000.0, 0.99999999998784539},
    {"gamma(scale=6h,shape=0.3)", 60.0, 0.1904630383034305},
    {"gamma(scale=6h,shape=0.3)", 3600.0, 0.62702929982994027},
    {"gamma(scale=6h,shape=0.3)", 86400.0, 0.99797748935438912},
    {"gamma(scale=6h,shape=0.3)", 864000.0, 1},
    {"gamma(scale=1d,shape=0.05)", 0.001, 0.41194236106897253},
    {"gamma(scale=1d,shape=0.05)", 60.0, 0.71405169980341365},
    {"gamma(scale=1d,shape=0.05)", 86400.0, 0.98847634705145981},
    {"0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
     "0.54*exponential(mean=12d)",
     3600.0, 0.31987510626561727},
    {"0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
     "0.54*exponential(mean=12d)",
     86400.0, 0.48217390950749273},
    {"0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
     "0.54*exponential(mean=12d)",
     1209600.0, 0.8316301300807698},
    {"0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
     "0.54*exponential(mean=12d)",
     2592000.0, 0.95564326663563237},
};

static void test_cdf_values(void **state)
{
  for (size_t i = 0; i < sizeof cdf_cases / sizeof cdf_cases[0]; i++) {
    delay_dist d = parse_ok(cdf_cases[i].dist);
    assert_close(delay_cdf(&d, cdf_cases[i].t), cdf_cases[i].want, 1e-12,
                 cdf_cases[i].dist);
  }
}

/* The truncated CDF is F(t/k) / F(L/k), 0 below 0 and 1 from L on. */
static void test_cdf_truncated(void **state)
{
  delay_dist d = parse_ok("weibull(scale=2d,shape=0.8)");
  double k = 4, lim = 30 * DAY;
  assert_true(delay_cdf(&d, 0) == 0);
  assert_true(delay_cdf(&d, -5) == 0);
  assert_true(delay_cdf_truncated(&d, k, lim, -1) == 0);
  assert_true(delay_cdf_truncated(&d, k, lim, lim) == 1);
  assert_true(delay_cdf_truncated(&d, k, lim, 2 * lim) == 1);
  /* 86400 / 4 = 6h: F(6h) / F(7.5d) of the Weibull above. */
  double want = delay_cdf(&d, 6 * HOUR) / delay_cdf(&d, 7.5 * DAY);
  assert_close(delay_cdf_truncated(&d, k, lim, DAY), want, 1e-15,
               "truncated weibull");
}

/* ---- the sampler against its CDF ---- */

#define KS_N 200000

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Cases with fixed seeds, so the test is deterministic.  "Heavy": most
 * of the mass lies beyond the limit.  The last two run the far-tail
 * path of delay.c (every F(limit/k) < 1e-280), where sampler and CDF
 * share the same small-t expansion. */
static const struct {
  const char *dist;
  double k, limit;
  unsigned long seed;
} ks_cases[] = {
    {"exponential(mean=15m)", 1, 30 * DAY, 1},
    {"exponential(mean=20d)", 1, 30 * DAY, 2},
    {"exponential(mean=20d)", 10, 30 * DAY, 3}, /* heavy: F = 0.139 */
    {"weibull(scale=2d,shape=0.8)", 1, 30 * DAY, 4},
    {"weibull(scale=2d,shape=0.8)", 0.05, 30 * DAY, 5},
    {"lognormal(median=5h,sigma=1.4)", 1, 30 * DAY, 6},
    {"lognormal(median=5h,sigma=1.4)", 40, 30 * DAY, 7}, /* heavy */
    {"gamma(scale=1d,shape=2.5)", 1, 30 * DAY, 8},  /* rejection */
    {"gamma(scale=1d,shape=2.5)", 30, 30 * DAY, 9}, /* inversion */
    {"gamma(scale=6h,shape=0.3)", 3, 30 * DAY, 10},
    /* F(limit/k) = 0.30 and 0.48: the gamma inversion at small shapes,
     * where GSL's gsl_cdf_gamma_Pinv returns NaN */
    {"gamma(scale=6h,shape=0.3)", 1e4, 30 * DAY, 17},
    {"gamma(scale=1d,shape=0.05)", 1e8, 30 * DAY, 18},
    {"0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
     "0.54*exponential(mean=12d)",
     1, 30 * DAY, 11},
    {"0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
     "0.54*exponential(mean=12d)",
     0.02, 30 * DAY, 12},
    {"0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
     "0.54*exponential(mean=12d)",
     50, 30 * DAY, 13},
    {"0.5*gamma(scale=2d,shape=3) + 0.5*weibull(scale=1h,shape=1.5)", 2,
     30 * DAY, 14},
    {"gamma(scale=100d,shape=50)", 1, 60, 15},
    {"lognormal(median=30d,sigma=0.08)", 1, DAY, 16},
};

/* D = sup |F_N - F| over the sorted sample: at each point the empirical
 * CDF jumps from i/N to (i+1)/N. */
static double ks_statistic(const double *x, int n, const delay_dist *d,
                           double k, double limit)
{
  double dmax = 0;
  for (int i = 0; i < n; i++) {
    double f = delay_cdf_truncated(d, k, limit, x[i]);
    dmax = fmax(dmax, fmax(f - (double)i / n, (double)(i + 1) / n - f));
  }
  return dmax;
}

/* Kolmogorov-Smirnov: D < 1.63 / sqrt(N), the asymptotic 1% critical
 * value (P(sqrt(N) D > 1.628) = 0.01).  Every draw also lies in
 * [0, limit]. */
static void test_sample_ks(void **state)
{
  double *x = malloc(KS_N * sizeof *x);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  assert_non_null(x);
  assert_non_null(r);
  for (size_t c = 0; c < sizeof ks_cases / sizeof ks_cases[0]; c++) {
    delay_dist d = parse_ok(ks_cases[c].dist);
    double k = ks_cases[c].k, lim = ks_cases[c].limit;
    gsl_rng_set(r, ks_cases[c].seed);
    int in_range = 1;
    for (int i = 0; i < KS_N; i++) {
      x[i] = delay_sample_truncated(&d, k, lim, r);
      in_range &= x[i] >= 0 && x[i] <= lim;
    }
    assert_true(in_range);
    qsort(x, KS_N, sizeof *x, cmp_double);
    double ks = ks_statistic(x, KS_N, &d, k, lim);
    if (!(ks < 1.63 / sqrt(KS_N)))
      print_error("%s k=%g: D = %.5f >= %.5f\n", ks_cases[c].dist, k, ks,
                  1.63 / sqrt(KS_N));
    assert_true(ks < 1.63 / sqrt(KS_N));
  }
  gsl_rng_free(r);
  free(x);
}

/* The same rng state gives the same draws, bit for bit. */
static void test_sample_deterministic(void **state)
{
  delay_dist d = parse_ok("0.5*gamma(scale=2d,shape=3) + "
                          "0.5*lognormal(median=1h,sigma=2)");
  gsl_rng *a = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng *b = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(a, 42);
  gsl_rng_set(b, 42);
  int same = 1;
  for (int i = 0; i < 1000; i++) {
    double k = 0.01 * (i + 1);
    double x = delay_sample_truncated(&d, k, 30 * DAY, a);
    same &= x == delay_sample_truncated(&d, k, 30 * DAY, b);
  }
  assert_true(same);
  gsl_rng_free(a);
  gsl_rng_free(b);
}

/* ---- parsing ---- */

static const struct {
  const char *text;
  int n;
  delay_component c[2];
} parse_cases[] = {
    {"0.3*exponential(mean=15m) + 0.7*weibull(scale=2d,shape=0.8)",
     2,
     {{DELAY_EXPONENTIAL, 0.3, 900, 0},
      {DELAY_WEIBULL, 0.7, 172800, 0.8}}},
    /* blanks anywhere sensible, parameters in any order, weights
     * normalised */
    {"  1 * weibull ( shape = 0.8 , scale = 2d )+3*gamma(shape=2,scale=6h)",
     2,
     {{DELAY_WEIBULL, 0.25, 172800, 0.8}, {DELAY_GAMMA, 0.75, 21600, 2}}},
    /* the '+' of an exponent does not split terms */
    {"1e+0*lognormal(median=5h,sigma=1.4)+1E+0*exponential(mean=0.5d)",
     2,
     {{DELAY_LOGNORMAL, 0.5, 18000, 1.4},
      {DELAY_EXPONENTIAL, 0.5, 43200, 0}}},
    /* a lone term may omit its weight */
    {"gamma(scale=1d,shape=2.5)", 1, {{DELAY_GAMMA, 1, 86400, 2.5}}},
    {"2*exponential(mean=90s)", 1, {{DELAY_EXPONENTIAL, 1, 90, 0}}},
};

static void test_parse_ok(void **state)
{
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
    delay_dist d = parse_ok(parse_cases[i].text);
    assert_int_equal(d.n, parse_cases[i].n);
    for (int j = 0; j < d.n; j++) {
      const delay_component *w = &parse_cases[i].c[j];
      assert_int_equal(d.c[j].family, w->family);
      assert_close(d.c[j].weight, w->weight, 1e-15, parse_cases[i].text);
      assert_true(d.c[j].p1 == w->p1);
      if (w->family != DELAY_EXPONENTIAL)
        assert_true(d.c[j].p2 == w->p2);
    }
  }
}

#define T8 "0.1*exponential(mean=1h)+"
static const struct {
  const char *text, *msg;
} parse_errors[] = {
    {"", "no terms; write e.g."},
    {"   ", "no terms"},
    {"0.3*weibul(scale=2d,shape=0.8) + 0.7*exponential(mean=1h)",
     "term 1 '0.3*weibul(scale=2d,shape=0.8)': unknown family 'weibul'; "
     "valid: exponential, weibull, lognormal, gamma"},
    {"garbage", "term 1 'garbage': unknown family 'garbage'"},
    {"%%%", "term 1 '%%%': expected WEIGHT*FAMILY(PARAM=VALUE,...)"},
    {"0.5*exponential(mean=1h) + 0.5*weibull(scale=2d)",
     "term 2 '0.5*weibull(scale=2d)': missing parameter 'shape' (weibull "
     "needs scale, shape)"},
    {"exponential()", "missing parameter 'mean'"},
    {"exponential(mean=15)",
     "mean: '15' is not a duration; write a number and a unit"},
    {"exponential(mean=-2h)", "mean: '-2h' must be positive"},
    {"-0.3*exponential(mean=1h) + 1.3*exponential(mean=1d)",
     "term 1 '-0.3*exponential(mean=1h)': weight -0.3 must be positive"},
    {"0*exponential(mean=1h) + 1*exponential(mean=1d)",
     "weight 0 must be positive"},
    {"exponential(mean=1h, scale=2d)",
     "unknown parameter 'scale' for exponential; valid: mean"},
    {"weibull(scale=2d,shape=0.8,shape=1)", "parameter 'shape' given twice"},
    {"lognormal(median=5h,sigma=abc)", "sigma: 'abc' is not a number"},
    {"lognormal(median=5h,sigma=0)", "sigma: '0' must be positive"},
    {"exponential(mean=1h) + 0.5*gamma(scale=1d,shape=2)",
     "term 1 'exponential(mean=1h)': missing weight"},
    {"0.5*exponential(mean=1h) + ", "term 2 is empty"},
    {"0.5 exponential(mean=1h)", "expected '*' after the weight"},
    {"0.5*exponential mean=1h", "expected '(' after 'exponential'"},
    {"0.5*exponential(mean=1h", "missing ')' after the parameters"},
    {"exponential(mean=1h) x", "unexpected text 'x' after ')'"},
    {"exponential(1h)", "expected PARAM=VALUE inside exponential(...)"},
    {T8 T8 T8 T8 T8 T8 T8 T8 "0.2*gamma(scale=1d,shape=2)",
     "too many terms: at most 8"},
};

static void test_parse_errors(void **state)
{
  for (size_t i = 0; i < sizeof parse_errors / sizeof parse_errors[0];
       i++) {
    delay_dist d = {.n = -7};
    int rc = delay_parse_components(parse_errors[i].text, &d);
    if (rc != DF_EINPUT || !strstr(df_errmsg(), parse_errors[i].msg))
      print_error("'%s' gave %d '%s', want '%s'\n", parse_errors[i].text,
                  rc, df_errmsg(), parse_errors[i].msg);
    assert_int_equal(rc, DF_EINPUT);
    assert_non_null(strstr(df_errmsg(), parse_errors[i].msg));
    assert_int_equal(d.n, -7); /* untouched on error */
  }
}

/* ---- from the configuration ---- */

static const struct {
  const char *set[3];
  delay_component want;
} config_cases[] = {
    {{"delay.family=exponential", "delay.mean=2h"},
     {DELAY_EXPONENTIAL, 1, 7200, 0}},
    {{"delay.family=weibull", "delay.scale=3d", "delay.shape=0.7"},
     {DELAY_WEIBULL, 1, 259200, 0.7}},
    {{"delay.family=lognormal", "delay.median=5h", "delay.sigma=1.25"},
     {DELAY_LOGNORMAL, 1, 18000, 1.25}},
    {{"delay.family=gamma", "delay.scale=12h", "delay.shape=2.5"},
     {DELAY_GAMMA, 1, 43200, 2.5}},
    {{"delay.family=mixture", "delay.components=gamma(scale=1d,shape=3)"},
     {DELAY_GAMMA, 1, 86400, 3}},
};

static void test_from_config(void **state)
{
  for (size_t i = 0; i < sizeof config_cases / sizeof config_cases[0];
       i++) {
    df_config cfg;
    cfg_defaults(&cfg);
    for (int j = 0; j < 3 && config_cases[i].set[j]; j++)
      assert_int_equal(cfg_set(&cfg, config_cases[i].set[j]), 0);
    delay_dist d;
    assert_int_equal(delay_from_config(&d, &cfg), 0);
    const delay_component *w = &config_cases[i].want;
    assert_int_equal(d.n, 1);
    assert_int_equal(d.c[0].family, w->family);
    assert_true(d.c[0].weight == 1);
    assert_true(d.c[0].p1 == w->p1);
    if (w->family != DELAY_EXPONENTIAL)
      assert_true(d.c[0].p2 == w->p2);
  }
}

/* The first failure of the --set list, then of delay_from_config, must
 * say msg.  delay.components is checked when it is set, whatever
 * delay.family says, like any other malformed value. */
static const struct {
  const char *set[4];
  const char *msg;
} config_errors[] = {
    {{"delay.family=mixture",
      "delay.components=0.5*exponential(mean=1h) + "
      "0.5*weibul(scale=2d,shape=0.8)"},
     "--set: delay.components: term 2 '0.5*weibul(scale=2d,shape=0.8)': "
     "unknown family 'weibul'; valid: exponential, weibull, lognormal, "
     "gamma"},
    {{"delay.family=exponential", "delay.components=garbage"},
     "--set: delay.components: term 1 'garbage': unknown family "
     "'garbage'; valid: exponential, weibull, lognormal, gamma"},
    {{"delay.components=0.5*gamma(scale=1d)+0.5*gamma(scale=2d,shape=1)",
      "delay.family=weibull"},
     "--set: delay.components: term 1 '0.5*gamma(scale=1d)': missing "
     "parameter 'shape' (gamma needs scale, shape)"},
    {{"delay.family=lognormal", "delay.components="},
     "--set: delay.components: no terms; write e.g. "
     "0.3*exponential(mean=15m) + 0.7*weibull(scale=2d,shape=0.8)"},
    /* a window that attributes nothing: median 1000d, sigma 0.1, 1h */
    {{"delay.family=lognormal", "delay.median=1000d", "delay.sigma=0.1",
      "delay.attribution=1h"},
     "--set: delay.attribution = 1h: the delay "
     "1*lognormal(median=1000d,sigma=0.1) puts only 0 of conversions "
     "within it (at least 1e-06 needed)"},
};

static void test_from_config_errors(void **state)
{
  for (size_t i = 0; i < sizeof config_errors / sizeof config_errors[0];
       i++) {
    df_config cfg;
    cfg_defaults(&cfg);
    int rc = 0;
    for (int j = 0; j < 4 && config_errors[i].set[j] && !rc; j++)
      rc = cfg_set(&cfg, config_errors[i].set[j]);
    delay_dist d = {.n = -7};
    if (!rc)
      rc = delay_from_config(&d, &cfg);
    if (rc != DF_EINPUT || !strstr(df_errmsg(), config_errors[i].msg))
      print_error("gave %d '%s'\n", rc, df_errmsg());
    assert_int_equal(rc, DF_EINPUT);
    assert_non_null(strstr(df_errmsg(), config_errors[i].msg));
    assert_int_equal(d.n, -7);
  }
}

/* An error in a file names the file and the line of the key. */
static void test_from_config_file_origin(void **state)
{
  char path[] = "/tmp/test_delay_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  fputs("[delay]\nfamily = mixture\n# the mixture\n"
        "components = 0.4*exponential(mean=1h) + 0.6*gamma(scale=1d)\n",
        f);
  fclose(f);

  df_config cfg;
  cfg_defaults(&cfg);
  int rc = cfg_load_file(&cfg, path);
  delay_dist d;
  if (!rc)
    rc = delay_from_config(&d, &cfg);
  char want[256];
  snprintf(want, sizeof want,
           "%s:4: delay.components: term 2 '0.6*gamma(scale=1d)': missing "
           "parameter 'shape'",
           path);
  if (!strstr(df_errmsg(), want))
    print_error("got '%s'\nwant '%s'\n", df_errmsg(), want);
  unlink(path);
  assert_int_equal(rc, DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), want));
}

/* ---- describe ---- */

static const char *const describe_cases[] = {
    "0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
    "0.54*exponential(mean=12d)",
    "1*gamma(scale=36h,shape=0.3)",
    "1*weibull(scale=1234.5678s,shape=0.123456789)",
    "0.1*exponential(mean=1s) + 0.2*exponential(mean=2m) + "
    "0.3*gamma(scale=3h,shape=3) + 0.4*weibull(scale=4d,shape=4)",
    /* weights renormalised to values with long decimal forms */
    "1*exponential(mean=1h) + 2*lognormal(median=3h,sigma=2) + "
    "4*weibull(scale=1d,shape=0.5)",
};

static void test_describe_round_trip(void **state)
{
  for (size_t i = 0; i < sizeof describe_cases / sizeof describe_cases[0];
       i++) {
    delay_dist a = parse_ok(describe_cases[i]), b;
    char text[1024];
    delay_describe(&a, text, sizeof text);
    /* Weights that sum to 1 are printed as written. */
    if (i < 4)
      assert_string_equal(text, describe_cases[i]);
    b = parse_ok(text);
    assert_int_equal(a.n, b.n);
    for (int j = 0; j < a.n; j++) {
      assert_int_equal(a.c[j].family, b.c[j].family);
      assert_close(b.c[j].weight, a.c[j].weight, 1e-15, text);
      assert_true(a.c[j].p1 == b.c[j].p1);
      assert_true(a.c[j].p2 == b.c[j].p2);
    }
  }
}

/* ---- the default world ---- */

/* ---- the feature tilt of the mixture weights ---- */

typedef struct tilt_ref {
  double offset, sigma;
} tilt_ref;

static double tilt_integrand(double z, void *p)
{
  const tilt_ref *t = p;
  double v = t->offset + t->sigma * z;
  double s = v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v));
  return exp(-0.5 * z * z) / sqrt(2 * M_PI) * s;
}

/* The solved offset makes E[w1(Z)] the configured weight: checked with
 * GSL's adaptive integration over the whole line (QAGI), an algorithm
 * independent of the midpoint rule the code uses, to 1e-9.  The tilted
 * weights sum to 1, keep the other components' proportions, and move
 * the first weight with m in the right direction. */
static void test_tilt_solve(void **state)
{
  static const struct {
    const char *dist;
    double sigma;
  } cases[] = {
      {"0.3*exponential(mean=12m) + 0.7*exponential(mean=12d)", 2.5},
      {"0.05*exponential(mean=12m) + 0.95*exponential(mean=12d)", 4},
      {"0.8*exponential(mean=1h) + 0.1*gamma(scale=1d,shape=2) + "
       "0.1*lognormal(median=3d,sigma=1)",
       1},
  };
  gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    delay_dist d = parse_ok(cases[c].dist);
    delay_tilt t;
    delay_tilt_solve(&d, cases[c].sigma, &t);
    tilt_ref ref = {t.offset, t.sigma};
    gsl_function f = {tilt_integrand, &ref};
    double mean, err;
    assert_int_equal(gsl_integration_qagi(&f, 1e-13, 1e-12, 1000, ws,
                                          &mean, &err),
                     0);
    assert_close(mean, d.c[0].weight, 1e-9, cases[c].dist);

    delay_dist lo, hi;
    delay_tilt_apply(&d, &t, -1.5, &lo);
    delay_tilt_apply(&d, &t, 1.5, &hi);
    assert_true(lo.c[0].weight < d.c[0].weight);
    assert_true(hi.c[0].weight > d.c[0].weight);
    double sum = 0;
    for (int i = 0; i < hi.n; i++)
      sum += hi.c[i].weight;
    assert_close(sum, 1, 1e-12, "tilted weights sum");
    for (int i = 2; i < d.n; i++)
      assert_close(hi.c[i].weight / hi.c[1].weight,
                   d.c[i].weight / d.c[1].weight, 1e-12, "proportions");
  }
  gsl_integration_workspace_free(ws);

  /* No effect: sigma 0, or a single component. */
  delay_dist one = parse_ok("exponential(mean=1d)"), out;
  delay_tilt t;
  delay_tilt_solve(&one, 3, &t);
  delay_tilt_apply(&one, &t, 2, &out);
  assert_true(t.sigma == 0 && out.c[0].weight == 1);
}

/* Draws of k D_m, with m ~ N(0, 1) and log k = e r, r ~ N(0, 1) clipped
 * to [-3, 3], as the generator makes them, against
 * delay_cdf_marginal: the largest gap between the empirical CDF and the
 * marginal law at 60 fixed times from 1 min to the limit stays under
 * the 1% Kolmogorov-Smirnov bound 1.63 / sqrt(N) (a maximum over fewer
 * points can only be smaller than over all of them). */
static void test_tilt_marginal(void **state)
{
  static const struct {
    double effect, sigma;
  } cases[] = {{0, 2.5}, {1, 0}, {0.5, 2.5}};
  enum { N = 40000, POINTS = 60 };
  delay_dist d = parse_ok("0.3*exponential(mean=12m) + "
                          "0.16*lognormal(median=5h,sigma=1.4) + "
                          "0.54*exponential(mean=12d)");
  double lim = 30 * DAY, *x = malloc(N * sizeof *x);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    delay_tilt t;
    delay_tilt_solve(&d, cases[c].sigma, &t);
    gsl_rng_set(r, 7 + c);
    for (int i = 0; i < N; i++) {
      double rr = gsl_ran_gaussian(r, 1), m = gsl_ran_gaussian(r, 1);
      rr = rr < -3 ? -3 : rr > 3 ? 3 : rr;
      delay_dist dm;
      delay_tilt_apply(&d, &t, m, &dm);
      x[i] = delay_sample_truncated(&dm, exp(cases[c].effect * rr), lim, r);
    }
    qsort(x, N, sizeof *x, cmp_double);
    double gap = 0;
    size_t below = 0;
    for (int p = 0; p < POINTS; p++) {
      double at = MIN * pow(lim / MIN, (double)p / (POINTS - 1));
      while (below < N && x[below] <= at)
        below++;
      double g = delay_cdf_marginal(&d, cases[c].effect, &t, lim, at);
      gap = fmax(gap, fabs((double)below / N - g));
    }
    if (!(gap < 1.63 / sqrt(N)))
      print_error("effect %g sigma %g: gap %.5f\n", cases[c].effect,
                  cases[c].sigma, gap);
    assert_true(gap < 1.63 / sqrt(N));
  }
  gsl_rng_free(r);
  free(x);
}

/* Criteo-like delays (Chapelle 2014, "Modeling delayed feedback in
 * display advertising"): among conversions attributed within 30 days,
 * about a third arrive within an hour, about half within a day and more
 * than a tenth after 14 days.  Shares of the default world's marginal
 * law (its feature factor and tilt integrated out, delay_cdf_marginal);
 * the mixture alone, F(t) / F(30d), gives 0.3347, 0.5046 and 0.1298
 * (checked with SciPy). */
static void test_default_is_criteo_like(void **state)
{
  df_config cfg;
  cfg_defaults(&cfg);
  delay_dist d;
  assert_int_equal(delay_from_config(&d, &cfg), 0);
  double lim = cfg.delay_attribution;
  assert_true(lim == 30 * DAY);
  assert_close(delay_cdf_truncated(&d, 1, lim, HOUR), 0.3347, 1e-3, "1h");
  assert_close(delay_cdf_truncated(&d, 1, lim, DAY), 0.5046, 1e-3, "1d");

  delay_tilt t;
  delay_tilt_solve(&d, cfg.delay_mix_effect, &t);
  double e = cfg.delay_feature_effect;
  double hour = delay_cdf_marginal(&d, e, &t, lim, HOUR);
  double day = delay_cdf_marginal(&d, e, &t, lim, DAY);
  double late = 1 - delay_cdf_marginal(&d, e, &t, lim, 14 * DAY);
  print_message("default shares: 1h %.4f, 1d %.4f, >14d %.4f\n", hour, day,
                late);
  assert_true(hour > 0.30 && hour < 0.37);
  assert_true(day > 0.45 && day < 0.55);
  assert_true(late > 0.10);
}

int main(void)
{
  gsl_set_error_handler_off();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cdf_values),
      cmocka_unit_test(test_cdf_truncated),
      cmocka_unit_test(test_sample_ks),
      cmocka_unit_test(test_sample_deterministic),
      cmocka_unit_test(test_parse_ok),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_from_config),
      cmocka_unit_test(test_from_config_errors),
      cmocka_unit_test(test_from_config_file_origin),
      cmocka_unit_test(test_describe_round_trip),
      cmocka_unit_test(test_tilt_solve),
      cmocka_unit_test(test_tilt_marginal),
      cmocka_unit_test(test_default_is_criteo_like),
  };
  return cmocka_run_group_tests_name("delay", tests, NULL, NULL);
}
