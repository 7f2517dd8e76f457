/* delay.h: parametric distributions of the click-to-conversion delay.
 *
 * A delay_dist is a mixture of up to DELAY_MAX_COMPONENTS components (a
 * single family is a mixture of one), plain data with weights that sum
 * to 1.  All times are in seconds.  Component parameters:
 *
 *   exponential  p1 = mean              F(t) = 1 - exp(-t / mean)
 *   weibull      p1 = scale, p2 = shape F(t) = 1 - exp(-(t/scale)^shape)
 *   lognormal    p1 = median, p2 = sigma
 *                                       F(t) = Phi((log t - log median)
 *                                                  / sigma)
 *   gamma        p1 = scale, p2 = shape F(t) = P(shape, t / scale)
 *
 * Feature-dependent delays are an accelerated-failure-time model: a
 * click with factor k > 0 has delay k * D, D ~ the mixture, so its CDF
 * is F(t / k).  Attribution truncates: only delays <= limit are kept,
 * and the generator samples from F(t / k) / F(limit / k) on [0, limit]. */
#ifndef DFB_DELAY_H
#define DFB_DELAY_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "sim/config.h"

#define DELAY_MAX_COMPONENTS 8

typedef enum delay_family {
  DELAY_EXPONENTIAL = 0,
  DELAY_WEIBULL,
  DELAY_LOGNORMAL,
  DELAY_GAMMA,
} delay_family;

typedef struct delay_component {
  delay_family family;
  double weight; /* normalised: the weights of a dist sum to 1 */
  double p1, p2; /* see the table above; p2 unused by exponential */
} delay_component;

typedef struct delay_dist {
  int n;
  delay_component c[DELAY_MAX_COMPONENTS];
} delay_dist;

/* The distribution the delay.* keys describe: delay.family with its
 * parameters, or delay.components when the family is "mixture".  Also
 * rejects a distribution that puts less than 1e-6 of its mass within
 * delay.attribution (nothing would ever be attributed).  Errors name the
 * key, where it was set (cfg_origin) and the problem, e.g.
 *   exp.ini:7: delay.components: term 2 'weibul(scale=2d,shape=0.8)':
 *   unknown family 'weibul'; valid: exponential, weibull, lognormal, gamma
 * d is written only on success. */
int delay_from_config(delay_dist *d, const df_config *cfg);

/* Parse the mixture syntax, e.g.
 *   0.3*exponential(mean=15m) + 0.7*weibull(scale=2d,shape=0.8)
 * Terms are WEIGHT*FAMILY(PARAM=VALUE,...) joined by '+', at most
 * DELAY_MAX_COMPONENTS of them; blanks may surround every token.  Each
 * family takes exactly its parameters, each once, in any order: mean,
 * scale and median are positive durations with a unit (15m, 2d; see
 * cfg_parse_duration), shape and sigma positive plain numbers.  Weights
 * are positive and normalised to sum to 1 (kept as written when they
 * already do, up to rounding).  A lone term may omit its
 * weight ("gamma(scale=1d,shape=2)" is a mixture of one); with two or
 * more terms every weight is required, so a forgotten one is caught.
 * On error returns DF_EINPUT with a message saying which term is wrong
 * and why ("term 2 '...': missing parameter 'shape' ..."); d is written
 * only on success. */
int delay_parse_components(const char *text, delay_dist *d);

/* delay_parse_components(text) for its verdict only: 0, or DF_EINPUT
 * with the message.  The config reader checks delay.components with it
 * whatever delay.family says, so a malformed mixture is always an
 * error, as a malformed value of any other key is. */
int delay_check_components(const char *text);

/* P(D <= t) of the untruncated, unscaled mixture; 0 for t <= 0. */
double delay_cdf(const delay_dist *d, double t);

/* P(k D <= t | k D <= limit): the CDF of the attributed delay of a click
 * with factor k; 1 for t >= limit. */
double delay_cdf_truncated(const delay_dist *d, double k, double limit,
                           double t);

/* One draw of k D conditioned on k D <= limit, in seconds, exact (no
 * approximation of the truncated law): a component is picked with
 * probability w_i F_i(limit/k) / sum_j w_j F_j(limit/k), then drawn
 * below limit/k by inversion (gamma: bounded rejection first).  Uses only
 * r, a bounded number of draws from it, so the result is a function of
 * the rng state.  Needs k > 0, limit > 0 and GSL's error handler off (as
 * main sets it).  Where every F_i(limit/k) < 1e-280 the leading term of
 * the small-t expansion stands in for the CDF (see delay.c).  About
 * 0.15 us a draw for the default mixture (taus2, one 2020s core). */
double delay_sample_truncated(const delay_dist *d, double k, double limit,
                              gsl_rng *r);

/* ---- feature-dependent mixture weights ----
 *
 * A click with a standardised feature score m gives the first component
 * of a mixture the weight
 *
 *   w1(m) = sigmoid(offset + sigma m)
 *
 * and scales the others by (1 - w1(m)) / (1 - w1), so they keep their
 * proportions; sigma is delay.mix_effect.  offset is solved so that the
 * mean of w1(Z) over Z ~ N(0, 1) is the configured w1: over clicks the
 * mixture keeps its weights, while each click's share of fast (first
 * component) conversions moves with its features.  sigma = 0, or a
 * single component, leaves every click with the configured weights. */
typedef struct delay_tilt {
  double sigma;
  double offset;
} delay_tilt;

/* Solve the tilt of d for sigma >= 0 (the mean over N(0, 1) by the
 * midpoint rule on [-8, 8], 801 nodes; offset by bisection to 1e-12). */
void delay_tilt_solve(const delay_dist *d, double sigma, delay_tilt *t);

/* The weights of a click with score m: out = d with the tilted weights
 * (out may be d itself). */
void delay_tilt_apply(const delay_dist *d, const delay_tilt *t, double m,
                      delay_dist *out);

/* The CDF of the attributed delay over all clicks, whose factor is
 * k = exp(feature_effect r) with r ~ N(0, 1) clipped to [-3, 3] (as the
 * generator clips it) and whose tilt score m ~ N(0, 1) is independent
 * of r:
 *
 *   G(x) = E_{r,m}[ P(k D_m <= x | k D_m <= limit) ]
 *
 * D_m the mixture with the weights of score m; by the midpoint rule over
 * r and m on [-6, 6] (121 nodes each; one node where an effect is 0). */
double delay_cdf_marginal(const delay_dist *d, double feature_effect,
                          const delay_tilt *t, double limit, double x);

/* A one-line description in the components syntax, e.g.
 * "0.3*exponential(mean=15m) + ...", that delay_parse_components reads
 * back to the same parameters and to weights equal up to the rounding of
 * renormalisation (a few ulp).  Truncated to len - 1 bytes. */
void delay_describe(const delay_dist *d, char *buf, size_t len);

#endif
