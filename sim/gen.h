/* gen.h: the synthetic world: clicks, features, true conversion
 * probabilities and conversion delays.
 *
 * The world (generator.* and delay.* keys):
 *
 *   click times   n clicks over generator.days with a daily rhythm
 *                 (intensity 1 + 0.5 cos(2 pi (t/1d - 20h/24h))), sorted;
 *   features      generator.int_features count-like integers,
 *                 x = floor(exp(mu_j + z)) with z normal and shared with
 *                 a per-click latent factor; generator.cat_features
 *                 categorical values with Zipf(generator.zipf) frequencies
 *                 over vocabularies of about generator.cat_values values
 *                 that churn: each frequency rank gets a new value after
 *                 a lifetime averaging generator.churn, so the world
 *                 drifts and new values keep appearing; any value is
 *                 missing with probability generator.missing;
 *   probability   p(x) = sigmoid(b0 + s(x)), s a sum of per-value effects
 *                 (sd generator.signal) and pairwise categorical
 *                 interactions (sd generator.interaction); b0 is solved so
 *                 that the mean of p is generator.cvr.  p(x) is the
 *                 probability of a conversion attributed within
 *                 delay.attribution, and is what FILE.truth records;
 *   delay         a converting click's delay is k(x) D, D from delay.*,
 *                 conditioned on k(x) D <= delay.attribution, with
 *                 log k(x) = delay.feature_effect * r(x), r a standardised
 *                 score of the features independent of s; for a mixture,
 *                 D's first component has the weight
 *                 sigmoid(offset + delay.mix_effect * m(x)), m another
 *                 independent standardised score, and the others keep
 *                 their proportions (sim/delay.h: delay_tilt), so the
 *                 share of fast conversions varies from click to click
 *                 while the mean weights stay as configured.
 *
 * Every effect is a deterministic hash of (seed, field, value), so the
 * world needs no tables and the same seed gives the same world.  Clicks
 * are drawn in fixed chunks, each with its own random stream, so the
 * output is byte-identical whatever the number of threads. */
#ifndef DFB_GEN_H
#define DFB_GEN_H

#include "sim/clicks.h"
#include "sim/config.h"
#include "sim/delay.h"

typedef struct gen_world gen_world;

/* Build the world of cfg (validating the delay keys).  The caller owns
 * *out and frees it with gen_world_destroy. */
int gen_world_create(const df_config *cfg, gen_world **out);
void gen_world_destroy(gen_world *w);

/* Draw the whole click log, with its truth, using up to threads
 * threads (the result does not depend on threads).  progress, when
 * set, is called now and then with the share done in [0, 1]. */
int gen_draw_clicks(const gen_world *w, int threads,
                    void (*progress)(void *ctx, double done), void *ctx,
                    df_clicks **out);

/* The intercept b0 solved for generator.cvr. */
double gen_intercept(const gen_world *w);
/* The delay distribution D (before the factor k(x) and the tilt). */
const delay_dist *gen_delay(const gen_world *w);
/* The tilt of D's weights by the score m(x). */
const delay_tilt *gen_tilt(const gen_world *w);

#endif
