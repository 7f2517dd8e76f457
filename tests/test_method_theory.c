/* test_method_theory.c: each method's loss against what its theory says
 * its optimum is, for one context x with true CVR p and exponential
 * delays (mean 1 day, F(t) = 1 - exp(-t / 1 d)).
 *
 * Expected losses over an observed label distribution q are formed from
 * the methods' own loss functions on one-event batches:
 *   E[L](z) = q(y=1) L(z | y=1) + q(y=0) L(z | y=0)
 * and minimised numerically over the logit z by golden-section search
 * (bracket [-12, 12], stopped when it is under 1e-9 wide).  The logits
 * are floats, so the minimiser is resolved to about 1e-7 in z; the
 * stated tolerance on f = sigmoid(z) is 1e-6. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "models/method.h"
#include "models/method_internal.h"

#define DAY 86400.0

static void assert_close(double got, double want, double abs_)
{
  if (!(fabs(got - want) <= abs_))
    fail_msg("got %.12g, want %.12g (tolerance %g)", got, want, abs_);
}

static double exp_cdf(double t)
{
  return 1 - exp(-t / DAY);
}

/* ---- expected loss of a 1-head method over q(y=1) = q1 ---- */

typedef struct one_head {
  const method_type *m;
  double q1;
  float aux[2]; /* p_dp, p_rn for ES-DFM */
} one_head;

/* L(z | y) of the method's loss for a single event of label y. */
static double one_head_loss(const one_head *o, int y, double z,
                            double *grad)
{
  replay_event ev;
  memset(&ev, 0, sizeof ev);
  ev.label = (uint8_t)y;
  method_batch b = {.n = 1, .ev = &ev, .aux = o->aux, .aux_heads = 2};
  float zf = (float)z, g;
  double loss = o->m->loss(&b, 1, 1, &zf, &g);
  if (grad)
    *grad = g;
  return loss;
}

static double one_head_expected(const one_head *o, double z)
{
  return o->q1 * one_head_loss(o, 1, z, NULL) +
         (1 - o->q1) * one_head_loss(o, 0, z, NULL);
}

/* The expected gradient: its root is the stationary point, also for
 * losses whose weights are stop-gradient functions of z (FNW). */
static double one_head_grad(const one_head *o, double z)
{
  double g1, g0;
  one_head_loss(o, 1, z, &g1);
  one_head_loss(o, 0, z, &g0);
  return o->q1 * g1 + (1 - o->q1) * g0;
}

typedef double (*scalar_fn)(const void *ctx, double z);

/* The root of the method's expected gradient in z, by bisection on
 * [-12, 12] to 1e-9, as a probability: the optimum of a loss whose
 * weights follow the model's own p (FNW, DEFER). */
static double one_head_root(const one_head *o)
{
  double lo = -12, hi = 12;
  while (hi - lo > 1e-9) {
    double mid = (lo + hi) / 2;
    if (one_head_grad(o, mid) < 0)
      lo = mid;
    else
      hi = mid;
  }
  return method_sigmoid((lo + hi) / 2);
}

/* Golden-section minimisation of f on [lo, hi] (unimodal). */
static double golden_min(scalar_fn f, const void *ctx, double lo,
                         double hi)
{
  const double r = (sqrt(5.0) - 1) / 2;
  double a = hi - r * (hi - lo), b = lo + r * (hi - lo);
  double fa = f(ctx, a), fb = f(ctx, b);
  while (hi - lo > 1e-9) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - r * (hi - lo);
      fa = f(ctx, a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + r * (hi - lo);
      fb = f(ctx, b);
    }
  }
  return (lo + hi) / 2;
}

static double expected_fn(const void *ctx, double z)
{
  return one_head_expected(ctx, z);
}

/* The argmin of the expected loss, as a probability. */
static double one_head_argmin(const one_head *o)
{
  return method_sigmoid(golden_min(expected_fn, o, -12, 12));
}

/* ---- (a) ES-DFM with exact weights is unbiased ----
 *
 * p_dp = p (1 - F(e)), p_rn = (1 - p) / (1 - p + p_dp), observed
 * q(y=1) = p / (1 + p_dp): the weighted loss is minimised at f = p. */
static const struct {
  double p, e; /* e in seconds */
} esdfm_cases[] = {
    {0.05, 900}, {0.3, 900}, {0.3, 3600}, {0.3, DAY}, {0.7, 900},
    {0.7, 7 * DAY},
};

static void test_esdfm_unbiased(void **state)
{
  for (size_t k = 0; k < sizeof esdfm_cases / sizeof esdfm_cases[0];
       k++) {
    double p = esdfm_cases[k].p, e = esdfm_cases[k].e;
    double p_dp = p * (1 - exp_cdf(e));
    double p_rn = (1 - p) / (1 - p + p_dp);
    one_head o = {method_find("esdfm"), p / (1 + p_dp),
                  {(float)p_dp, (float)p_rn}};
    assert_close(one_head_argmin(&o), p, 1e-6);
    /* Without the weights (plain BCE on the same data) it is biased:
     * the optimum is q(y=1) itself. */
    one_head plain = {method_find("oracle"), o.q1, {0, 0}};
    assert_close(one_head_argmin(&plain), o.q1, 1e-6);
    assert_true(fabs(o.q1 - p) > 1e-4);
  }
}

/* ---- (b) vanilla without duplicates under-predicts by F(w) ---- */

static void test_vanilla_biased(void **state)
{
  static const double waits[] = {900, 3600, DAY, 7 * DAY};
  for (size_t k = 0; k < sizeof waits / sizeof waits[0]; k++) {
    double p = 0.3;
    one_head o = {method_find("vanilla"), p * exp_cdf(waits[k]), {0, 0}};
    assert_close(one_head_argmin(&o), p * exp_cdf(waits[k]), 1e-6);
  }
}

/* ---- (c) FNW's weights are self-consistent at f = p ----
 *
 * Observed: b(y=1) = p / (1 + p).  The weights use the model's own
 * p = sg(f), so the optimum is a fixed point: the root of the expected
 * gradient (weights following z), and the minimiser of the objective
 * with the weights frozen at the true p, are both p. */
static double fnw_frozen_fn(const void *ctx, double z)
{
  /* Weights at the true p: w1 = 1 + p, w0 = (1 - p)(1 + p), times the
   * BCE of each label from the plain loss. */
  const one_head *o = ctx;
  one_head plain = {method_find("oracle"), 0, {0, 0}};
  double p = o->q1 / (1 - o->q1);
  return o->q1 * (1 + p) * one_head_loss(&plain, 1, z, NULL) +
         (1 - o->q1) * (1 - p) * (1 + p) *
             one_head_loss(&plain, 0, z, NULL);
}

static void test_fnw_fixed_point(void **state)
{
  static const double ps[] = {0.02, 0.2, 0.5, 0.9};
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
    double p = ps[k];
    one_head o = {method_find("fnw"), p / (1 + p), {0, 0}};

    /* The root of the method's expected gradient. */
    assert_close(one_head_root(&o), p, 1e-6);

    /* The weights the method gives at z = logit(p) are 1 + p and
     * (1 - p)(1 + p): its loss equals the frozen objective there. */
    double zp = log(p / (1 - p));
    assert_close(one_head_expected(&o, zp), fnw_frozen_fn(&o, zp), 1e-6);
    assert_close(method_sigmoid(golden_min(fnw_frozen_fn, &o, -12, 12)),
                 p, 1e-6);
  }
}

/* ---- (d) FNC: biased optimum b = p / (1 + p), served back to p ---- */

static void test_fnc_calibration(void **state)
{
  static const double ps[] = {0.02, 0.2, 0.5, 0.9};
  const method_type *m = method_find("fnc");
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
    double p = ps[k];
    one_head o = {m, p / (1 + p), {0, 0}};
    double z = golden_min(expected_fn, &o, -12, 12);
    assert_close(method_sigmoid(z), p / (1 + p), 1e-6);
    float zf = (float)z;
    assert_close(m->serve(&zf, 1), p, 1e-6);
  }
}

/* ---- (e) FSIW with exact weights is unbiased ----
 *
 * A click observed at elapsed time e: q(y=1) = p F(e).  Exact weights
 * P(Y=1 | C=1) = F(e) and P(C=0 | Y=0) = (1 - p) / (1 - p F(e)) make
 * the weighted loss's optimum p itself, where plain BCE on the same data
 * (naive) learns p F(e). */
static void test_fsiw_unbiased(void **state)
{
  static const struct {
    double p, e;
  } cases[] = {{0.05, 600}, {0.3, 1800}, {0.3, 3600}, {0.7, DAY}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    double p = cases[k].p, f = exp_cdf(cases[k].e);
    one_head o = {method_find("fsiw"), p * f,
                  {(float)f, (float)((1 - p) / (1 - p * f))}};
    assert_close(one_head_argmin(&o), p, 1e-6);
    one_head naive = {method_find("naive"), p * f, {0, 0}};
    assert_close(one_head_argmin(&naive), p * f, 1e-6);
  }
}

/* ---- (f) DEFER's weights are self-consistent at f = p_W ----
 *
 * Each click twice: at e with the label known then, and again with the
 * label known at the window W.  With p_W = p F(W) and the exact p_dp =
 * p (F(W) - F(e)), q(y=1) = (p F(e) + p F(W)) / 2 = p_W - p_dp / 2.  The
 * weights use the model's own p = sg(f), so, as for FNW, the optimum is
 * the root of the expected gradient: p_W, for a window as long as the
 * attribution (F(W) = 1) or shorter. */
static void test_defer_fixed_point(void **state)
{
  static const struct {
    double p, e, w; /* w 0: no window (F(W) = 1) */
  } cases[] = {{0.05, 900, 0},     {0.3, 900, 0},   {0.3, 3600, 0},
               {0.7, 900, 0},      {0.3, 900, DAY}, {0.5, 3600, 7 * DAY}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    double p = cases[k].p, fe = exp_cdf(cases[k].e);
    double fw = cases[k].w > 0 ? exp_cdf(cases[k].w) : 1;
    double p_w = p * fw, p_dp = p * (fw - fe);
    one_head o = {method_find("defer"), p_w - p_dp / 2, {(float)p_dp, 0}};

    assert_close(one_head_root(&o), p_w, 1e-6);
    /* Plain BCE on the same data learns q(y=1), biased low. */
    one_head plain = {method_find("oracle"), o.q1, {0, 0}};
    assert_close(one_head_argmin(&plain), o.q1, 1e-6);
    assert_true(p_w - o.q1 > 1e-3);
  }
}

/* ---- (g) DFM recovers (p, lambda0) ----
 *
 * Clicks observed for elapsed times t in {0.5, 1, 2, 4} days (equal
 * shares), delays exponential with rate lambda0 per day.  At elapsed t a
 * click is converted with probability p F(t), and its delay then has
 * mean dbar(t) = 1/lambda0 - t e^{-lambda0 t} / (1 - e^{-lambda0 t});
 * it is pending otherwise.  The converted term is linear in d, so its
 * expectation is the loss at d = dbar(t) (rounded to whole seconds:
 * below 1e-5 days).  Minimised by a coarse grid over (z1, z2), then
 * cyclic golden-section refinement; tolerance 1e-4 on p and 1e-3
 * relative on lambda. */
typedef struct dfm_problem {
  const method_type *m;
  df_clicks *log; /* rows 2k: converted at dbar(t_k); 2k+1: pending */
  double w_conv[4], w_pend[4];
  int64_t now;
  double z[2]; /* the point, and which coordinate moves */
  int axis;
} dfm_problem;

static const double dfm_elapsed[4] = {0.5, 1, 2, 4};

static double dfm_expected(const dfm_problem *d, const double z[2])
{
  replay_event ev;
  memset(&ev, 0, sizeof ev);
  method_batch b = {.n = 1, .ev = &ev, .log = d->log, .now = d->now};
  float zf[2] = {(float)z[0], (float)z[1]}, g[2];
  double sum = 0;
  for (uint32_t k = 0; k < 4; k++) {
    ev.row = 2 * k;
    sum += d->w_conv[k] * d->m->loss(&b, 1, 2, zf, g);
    ev.row = 2 * k + 1;
    sum += d->w_pend[k] * d->m->loss(&b, 1, 2, zf, g);
  }
  return sum;
}

static double dfm_axis_fn(const void *ctx, double v)
{
  const dfm_problem *d = ctx;
  double z[2] = {d->z[0], d->z[1]};
  z[d->axis] = v;
  return dfm_expected(d, z);
}

static void dfm_setup(dfm_problem *d, double p, double lambda0)
{
  memset(d, 0, sizeof *d);
  d->m = method_find("dfm");
  d->now = (int64_t)(10 * DAY);
  assert_int_equal(clicks_create(&d->log, 0, 0, 8, 0), 0);
  d->log->n = 8;
  for (int k = 0; k < 4; k++) {
    double t = dfm_elapsed[k], f = 1 - exp(-lambda0 * t);
    double dbar = 1 / lambda0 - t * exp(-lambda0 * t) / f;
    d->w_conv[k] = 0.25 * p * f;
    d->w_pend[k] = 0.25 * (1 - p * f);
    d->log->click_ts[2 * k] = 0;
    d->log->conv_ts[2 * k] = (int64_t)llround(dbar * DAY);
    d->log->click_ts[2 * k + 1] = d->now - (int64_t)llround(t * DAY);
    d->log->conv_ts[2 * k + 1] = CLICKS_NO_CONVERSION;
  }
}

static void test_dfm_recovers(void **state)
{
  static const struct {
    double p, lambda0; /* per day */
  } cases[] = {{0.3, 1}, {0.1, 3}, {0.6, 0.5}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    dfm_problem d;
    dfm_setup(&d, cases[k].p, cases[k].lambda0);

    /* Coarse grid: z1 and z2 in [-6, 6] by 0.25. */
    double best = INFINITY;
    for (double a = -6; a <= 6; a += 0.25)
      for (double b = -6; b <= 6; b += 0.25) {
        double z[2] = {a, b}, v = dfm_expected(&d, z);
        if (v < best) {
          best = v;
          d.z[0] = a;
          d.z[1] = b;
        }
      }

    /* Refine one coordinate at a time within +-1 of the point. */
    for (int it = 0; it < 200; it++) {
      d.axis = it % 2;
      double c = d.z[d.axis];
      d.z[d.axis] = golden_min(dfm_axis_fn, &d, c - 1, c + 1);
    }
    assert_close(method_sigmoid(d.z[0]), cases[k].p, 1e-4);
    assert_close(loss_softplus(d.z[1]) / cases[k].lambda0, 1, 1e-3);
    clicks_destroy(d.log);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_esdfm_unbiased),
      cmocka_unit_test(test_vanilla_biased),
      cmocka_unit_test(test_fnw_fixed_point),
      cmocka_unit_test(test_fnc_calibration),
      cmocka_unit_test(test_fsiw_unbiased),
      cmocka_unit_test(test_defer_fixed_point),
      cmocka_unit_test(test_dfm_recovers),
  };
  return cmocka_run_group_tests_name("method_theory", tests, NULL, NULL);
}
