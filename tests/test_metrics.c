/* test_metrics.c: the metrics (bench/metrics.h) against hand-worked
 * answers, against sklearn 1.2.1, and against a brute-force reference
 * written here; the stream aggregator against a hand-computed weighted
 * mean; and the messages of bad input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/metrics.h"
#include "sim/log.h"

/* Every expected value below is either exact in binary up to the last
 * bits of a few divisions and logarithms, or printed by sklearn with
 * %.17g: 1e-12 is far above both rounding levels. */
#define TOL 1e-12

enum { MAX_N = 40 };

typedef struct known_case {
  size_t n;
  unsigned char label[MAX_N];
  double pred[MAX_N];
  double auc, pr_auc, ap, nll; /* NaN: undefined */
} known_case;

/* Hand-worked cases.  Every score is a multiple of 2^-10 or a decimal
 * whose float and double forms rank alike, so the float and double
 * entry points must agree.
 *
 * 1. sklearn's documentation example, y = 0 0 1 1, s = .1 .4 .35 .8.
 *    Pairs (pos, neg): .35>.1 yes, .35>.4 no, .8>.1, .8>.4 yes, so
 *    AUC = 3/4.  Thresholds high to low with (TP, FP) and (R, Prec):
 *      .8  (1,0) (1/2, 1);  .4 (1,1) (1/2, 1/2);
 *      .35 (2,1) (1, 2/3);  .1 (2,2) (1, 1/2).
 *    PR-AUC from (0, 1): 1/2 (1 + 1)/2 + 0 + 1/2 (1/2 + 2/3)/2 + 0
 *      = 1/2 + 7/24 = 19/24.  AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
 *    NLL = -(ln .9 + ln .6 + ln .35 + ln .8) / 4.
 * 2. All tied: y = 0 1 0 1, s = 1/2.  One threshold, (R, Prec) =
 *    (1, 1/2): AUC = 1/2, PR-AUC = (1/2 + 1)/2 = 3/4, AP = 1/2,
 *    NLL = ln 2.
 * 3. Single class, negatives only: AUC, PR-AUC, AP undefined, NLL =
 *    -(ln .75 + ln .5) / 2. */
static const known_case hand_cases[] = {
    {4, {0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8}, 0.75, 19.0 / 24, 5.0 / 6,
     -(-0.10536051565782628 + -0.51082562376599072 +
       -1.0498221244986778 + -0.22314355131420971) /
         4},
    {4, {0, 1, 0, 1}, {0.5, 0.5, 0.5, 0.5}, 0.5, 0.75, 0.5,
     0.69314718055994531},
    {2, {0, 0}, {0.25, 0.5}, NAN, NAN, NAN,
     -(-0.2876820724517809 + -0.69314718055994529) / 2},
};

/* From sklearn 1.2.1 with /usr/bin/python3: roc_auc_score, auc() of
 * precision_recall_curve, average_precision_score and
 * log_loss(eps=1e-7), printed with %.17g (inputs drawn by numpy with
 * seed 20240611; NaN where sklearn has no AUC). */
static const known_case sklearn_cases[] = {
  /* heavy ties */
  {24,
   {0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1},
   {0.5, 0.375, 0.5, 0.5, 0.25, 0.25, 0.125, 0.5, 0.125, 0.25, 0.5, 0.5,
       0.25, 0.375, 0.375, 0.125, 0.125, 0.5, 0.375, 0.375, 0.125, 0.125,
       0.375, 0.5},
   0.67482517482517479, 0.7496947496947497, 0.6718559218559218,
   0.74744323384387723},
  /* imbalanced */
  {40, {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0},
   {0.294921875, 0.8984375, 0.2626953125, 0.345703125, 0.3203125,
       0.8857421875, 0.4638671875, 0.2783203125, 0.8828125, 0.693359375,
       0.4541015625, 0.0537109375, 0.8154296875, 0.3212890625, 0.73046875,
       0.294921875, 0.9990234375, 0.923828125, 0.4462890625, 0.1474609375,
       0.2470703125, 0.220703125, 0.849609375, 0.4677734375, 0.9296875,
       0.9912109375, 0.2158203125, 0.546875, 0.8603515625, 0.05859375,
       0.408203125, 0.501953125, 0.576171875, 0.4921875, 0.3271484375,
       0.0712890625, 0.17578125, 0.4326171875, 0.7626953125, 0.53125},
   0.80180180180180183, 0.17794117647058821, 0.25,
   1.0008658060529545},
  /* 0 and 1 */
  {8, {1, 0, 1, 0, 1, 0, 0, 1},
   {1, 0, 0, 1, 0.5, 0.25, 0, 1},
   0.6875, 0.73124999999999996, 0.64583333333333326, 4.1521276194318428},
  /* n=1 */
  {1, {1},
   {0.375},
   NAN, 1, 1, 0.98082925301172619},
  /* all positive */
  {3, {1, 1, 1},
   {0.25, 0.5, 0.5},
   NAN, 1, 1, 0.92419624074659368},
};

static void check_close(double got, double want, const char *what,
                        size_t row)
{
  if (isnan(want)) {
    if (!isnan(got))
      fail_msg("row %zu: %s = %.17g, expected NaN", row, what, got);
    return;
  }
  if (!(fabs(got - want) <= TOL))
    fail_msg("row %zu: %s = %.17g, expected %.17g", row, what, got, want);
}

/* One table row through both entry points. */
static void check_case(const known_case *c, size_t row)
{
  float pf[MAX_N];
  for (size_t i = 0; i < c->n; i++)
    pf[i] = (float)c->pred[i];
  metric_result rd, rf;
  assert_int_equal(metric_compute_d(c->pred, c->label, c->n, METRIC_PROB,
                                    &rd),
                   0);
  assert_int_equal(metric_compute(pf, c->label, c->n, METRIC_PROB, &rf),
                   0);
  const metric_result *rs[2] = {&rd, &rf};
  size_t pos = 0;
  for (size_t i = 0; i < c->n; i++)
    pos += c->label[i];
  for (int k = 0; k < 2; k++) {
    const metric_result *r = rs[k];
    assert_int_equal(r->n, c->n);
    assert_int_equal(r->positives, pos);
    assert_int_equal(r->auc_defined, !isnan(c->auc));
    assert_int_equal(r->pr_defined, !isnan(c->pr_auc));
    check_close(r->auc, c->auc, "auc", row);
    check_close(r->pr_auc, c->pr_auc, "pr_auc", row);
    check_close(r->ap, c->ap, "ap", row);
    /* The float path rounds 0.1, 0.35 ... and its NLL moves by ~1e-8. */
    if (k == 0)
      check_close(r->nll, c->nll, "nll", row);
    else
      assert_true(fabs(r->nll - c->nll) < 1e-6);
  }
}

static void test_hand_cases(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof hand_cases / sizeof *hand_cases; i++)
    check_case(&hand_cases[i], i);
}

static void test_sklearn_cases(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof sklearn_cases / sizeof *sklearn_cases; i++)
    check_case(&sklearn_cases[i], i);
}

/* Mean prediction over mean label, and NLL from logits:
 * z = 0, 2, -3 with y = 1, 0, 0 gives the terms ln 2,
 * ln(1 + e^-2) + 2, ln(1 + e^-3); probabilities 1/2, 1/(1+e^-2),
 * 1/(1+e^3).  Calibration is their sum over the one positive. */
static void test_logits_and_calibration(void **state)
{
  (void)state;
  const float z[] = {0.0f, 2.0f, -3.0f};
  const unsigned char y[] = {1, 0, 0};
  double terms = log(2.0) + log1p(exp(-2.0)) + 2.0 + log1p(exp(-3.0));
  double probs = 0.5 + 1 / (1 + exp(-2.0)) + 1 / (1 + exp(3.0));
  metric_result r;
  assert_int_equal(metric_compute(z, y, 3, METRIC_LOGIT, &r), 0);
  check_close(r.nll, terms / 3, "nll", 0);
  check_close(metric_nll_logit(z, y, 3), terms / 3, "nll_logit", 0);
  check_close(r.mean_pred, probs / 3, "mean_pred", 0);
  check_close(r.calibration, probs, "calibration", 0);
  assert_true(r.calib_defined);
  /* The positive (z = 0) beats z = -3 and loses to z = 2. */
  check_close(r.auc, 0.5, "auc", 0);

  /* A huge logit is stable: the wrong-side loss is |z|, no overflow. */
  const float big[] = {1000.0f, -1000.0f};
  const unsigned char yb[] = {0, 0};
  assert_int_equal(metric_compute(big, yb, 2, METRIC_LOGIT, &r), 0);
  check_close(r.nll, 500.0, "nll big", 1);
  assert_false(r.calib_defined);
  assert_true(isnan(r.calibration));

  /* From probabilities, 0 and 1 are clipped to [eps, 1 - eps]; the
   * second term is -ln(1 - (1 - eps)), as sklearn computes it. */
  const double p[] = {0.0, 1.0};
  const unsigned char yp[] = {1, 0};
  double clipped = (-log(METRIC_EPS) - log(1 - (1 - METRIC_EPS))) / 2;
  check_close(metric_nll_prob(p, yp, 2), clipped, "clip", 2);
}

/* Randomized: AUC by counting all pairs, and PR-AUC and AP by counting,
 * at every distinct score, the samples at or above it; O(n^2). */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static double rng_uniform(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717u) >> 11) * 0x1p-53;
}

static void brute_force(const double *s, const unsigned char *y, size_t n,
                        double *auc, double *pr_auc, double *ap)
{
  double wins = 0, np = 0, nn = 0;
  for (size_t i = 0; i < n; i++) {
    np += y[i];
    nn += !y[i];
    for (size_t j = 0; j < n; j++)
      if (y[i] && !y[j])
        wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
  }
  *auc = wins / (np * nn);

  /* Distinct thresholds from high to low: repeatedly the largest score
   * below the previous threshold. */
  double t = INFINITY, r_prev = 0, p_prev = 1;
  *pr_auc = *ap = 0;
  for (;;) {
    double next = -INFINITY;
    for (size_t i = 0; i < n; i++)
      if (s[i] < t && s[i] > next)
        next = s[i];
    if (next == -INFINITY)
      break;
    t = next;
    double tp = 0, fp = 0;
    for (size_t i = 0; i < n; i++)
      if (s[i] >= t)
        y[i] ? tp++ : fp++;
    double r = tp / np, p = tp / (tp + fp);
    *pr_auc += (r - r_prev) * (p + p_prev) / 2;
    *ap += (r - r_prev) * p;
    r_prev = r;
    p_prev = p;
  }
}

static void test_random_against_brute_force(void **state)
{
  (void)state;
  enum { TRIALS = 200, N = 300 };
  double s[N];
  unsigned char y[N];
  for (int t = 0; t < TRIALS; t++) {
    /* Sizes from 2 up, both classes, ties from coarse quantisation. */
    size_t n = 2 + (size_t)(rng_uniform() * (N - 2));
    double levels = t % 3 == 0 ? 4 : t % 3 == 1 ? 64 : 1 << 20;
    for (size_t i = 0; i < n; i++) {
      y[i] = rng_uniform() < 0.3;
      s[i] = floor(rng_uniform() * levels) / levels;
    }
    y[0] = 1;
    y[1] = 0;
    double auc, pr_auc, ap;
    brute_force(s, y, n, &auc, &pr_auc, &ap);
    metric_result r;
    assert_int_equal(metric_compute_d(s, y, n, METRIC_PROB, &r), 0);
    check_close(r.auc, auc, "auc", (size_t)t);
    check_close(r.pr_auc, pr_auc, "pr_auc", (size_t)t);
    check_close(r.ap, ap, "ap", (size_t)t);
  }
}

/* Bad input: the code and the message. */
typedef struct bad_case {
  size_t n;
  double pred[2];
  unsigned char label[2];
  metric_kind kind;
  const char *message;
} bad_case;

static const bad_case bad_cases[] = {
    {0, {0.5, 0.5}, {0, 1}, METRIC_PROB, "metrics: no samples"},
    {2, {0.5, 0.5}, {0, 2}, METRIC_PROB,
     "sample 1: label 2 is not 0 or 1"},
    {2, {1.5, 0.5}, {0, 1}, METRIC_PROB,
     "sample 0: probability 1.5 is not in [0, 1]"},
    {2, {0.5, -0.25}, {0, 1}, METRIC_PROB,
     "sample 1: probability -0.25 is not in [0, 1]"},
    {2, {NAN, 0.5}, {0, 1}, METRIC_PROB,
     "sample 0: probability nan is not in [0, 1]"},
    {2, {3.0, INFINITY}, {0, 1}, METRIC_LOGIT,
     "sample 1: logit inf is not finite"},
    {2, {0.5, 0.5}, {0, 1}, (metric_kind)7,
     "metrics: unknown prediction kind 7"},
};

static void test_bad_input(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
    const bad_case *c = &bad_cases[i];
    float pf[2] = {(float)c->pred[0], (float)c->pred[1]};
    metric_result r;
    assert_int_equal(metric_compute_d(c->pred, c->label, c->n, c->kind,
                                      &r),
                     DF_EINPUT);
    assert_string_equal(df_errmsg(), c->message);
    assert_int_equal(metric_compute(pf, c->label, c->n, c->kind, &r),
                     DF_EINPUT);
    assert_string_equal(df_errmsg(), c->message);
  }
}

/* Four intervals (12 samples): the three hand cases (n = 4, 4, 2), two
 * positives scored 3/4 and 1 (AUC undefined, PR-AUC = AP = 1), plus an
 * empty one that must be ignored.
 *   AUC    over the two intervals with both classes:
 *          (4 * 3/4 + 4 * 1/2) / 8 = 5/8, 2 skipped;
 *   PR-AUC over the three with positives:
 *          (4 * 19/24 + 4 * 3/4 + 2 * 1) / 10 = 49/60, 1 skipped;
 *   AP     (4 * 5/6 + 4 * 1/2 + 2 * 1) / 10 = 11/15;
 *   NLL    the sum of every interval's n * NLL over 12, the last
 *          interval's terms being -ln .75 and -ln(1 - 1e-7) (clipped);
 *   calibration  sum of predictions / positives
 *          = (1.65 + 2 + 0.75 + 1.75) / 6. */
static void test_stream(void **state)
{
  (void)state;
  metric_stream *s = metric_stream_create();
  assert_non_null(s);
  metric_stream_summary sum;
  assert_int_equal(metric_stream_finish(s, &sum), DF_EINPUT);
  assert_string_equal(df_errmsg(), "metrics: no interval had samples");

  double nll_sum = 0;
  for (int k = 0; k < 3; k++) {
    const known_case *c = &hand_cases[k];
    assert_int_equal(metric_stream_update_d(s, c->pred, c->label, c->n,
                                            METRIC_PROB),
                     0);
    nll_sum += (double)c->n * c->nll;
  }
  const float last[] = {0.75f, 1.0f};
  const unsigned char last_y[] = {1, 1};
  assert_int_equal(metric_stream_update(s, last, last_y, 2, METRIC_PROB),
                   0);
  assert_int_equal(metric_stream_update(s, last, last_y, 0, METRIC_PROB),
                   0);
  nll_sum += -log(0.75) - log(1 - METRIC_EPS);

  /* A bad interval is refused and changes nothing. */
  const unsigned char bad_y[] = {3, 0};
  assert_int_equal(metric_stream_update(s, last, bad_y, 2, METRIC_PROB),
                   DF_EINPUT);

  assert_int_equal(metric_stream_finish(s, &sum), 0);
  assert_int_equal(sum.mean.n, 12);
  assert_int_equal(sum.mean.positives, 6);
  assert_int_equal(sum.intervals, 4);
  assert_int_equal(sum.auc_skipped, 2);
  assert_int_equal(sum.pr_skipped, 1);
  check_close(sum.mean.auc, 5.0 / 8, "auc", 0);
  check_close(sum.mean.pr_auc, 49.0 / 60, "pr_auc", 0);
  check_close(sum.mean.ap, 11.0 / 15, "ap", 0);
  check_close(sum.mean.nll, nll_sum / 12, "nll", 0);
  check_close(sum.mean.calibration, (1.65 + 2 + 0.75 + 1.75) / 6,
              "calibration", 0);
  metric_stream_destroy(s);
}

/* A stream of negatives only: every ranking metric stays undefined. */
static void test_stream_undefined(void **state)
{
  (void)state;
  metric_stream *s = metric_stream_create();
  assert_non_null(s);
  const float p[] = {0.5f, 0.25f};
  const unsigned char y[] = {0, 0};
  assert_int_equal(metric_stream_update(s, p, y, 2, METRIC_PROB), 0);
  assert_int_equal(metric_stream_update(s, p, y, 1, METRIC_PROB), 0);
  metric_stream_summary sum;
  assert_int_equal(metric_stream_finish(s, &sum), 0);
  assert_false(sum.mean.auc_defined);
  assert_false(sum.mean.pr_defined);
  assert_false(sum.mean.calib_defined);
  assert_true(isnan(sum.mean.auc) && isnan(sum.mean.pr_auc) &&
              isnan(sum.mean.ap) && isnan(sum.mean.calibration));
  assert_int_equal(sum.auc_skipped, 2);
  /* Terms -ln .5, -ln .75, then -ln .5 again. */
  check_close(sum.mean.nll, (-2 * log(0.5) - log(0.75)) / 3, "nll", 0);
  metric_stream_destroy(s);
}

/* Signed zeros tie, and negative logits rank below positive ones. */
static void test_key_order(void **state)
{
  (void)state;
  const float z[] = {-0.0f, 0.0f, -2.5f, 1e-30f, -1e-30f, 3.0f};
  const unsigned char y[] = {1, 0, 0, 1, 0, 1};
  /* Pairs (pos, neg): -0 ties 0 (1/2), beats -2.5 and -1e-30 (2);
   * 1e-30 beats all three (3); 3 beats all three (3): 8.5 / 9. */
  metric_result r;
  assert_int_equal(metric_compute(z, y, 6, METRIC_LOGIT, &r), 0);
  check_close(r.auc, 8.5 / 9, "auc", 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hand_cases),
      cmocka_unit_test(test_sklearn_cases),
      cmocka_unit_test(test_logits_and_calibration),
      cmocka_unit_test(test_random_against_brute_force),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_stream),
      cmocka_unit_test(test_stream_undefined),
      cmocka_unit_test(test_key_order),
  };
  return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
