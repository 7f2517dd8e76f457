/* method_fsiw.c: feedback shift importance weighting (Yasui et al., "A
 * Feedback Shift Correction in Predicting Conversion Rates under Delayed
 * Feedback", WWW 2020).
 *
 * Data: naive's (method_interval_end_events): each stream click once, at
 * the last second of its interval, labelled by the conversion known then
 * and never corrected.  With C the eventual conversion, Y the label
 * observed at elapsed time e, and Y = 1 implying C = 1, importance
 * weighting of the observed distribution towards the eventual one gives
 *
 *   w+ = P(C=1 | x) / P(Y=1 | x) = 1 / P(Y=1 | C=1, x, e)
 *   w- = P(C=0 | x) / P(Y=0 | x) = P(C=0 | Y=0, x, e)
 *
 *   L = -(1/n) sum_i [ y_i w+_i log f_i + (1 - y_i) w-_i log(1 - f_i) ]
 *
 * The two probabilities come from the frozen auxiliary model (aux_fsiw.c,
 * trained with a counterfactual deadline fsiw.deadline on the
 * pre-training clicks, elapsed time as an input): batch->aux[2 i + 0] =
 * P(Y=1 | C=1, x, e), batch->aux[2 i + 1] = P(C=0 | Y=0, x, e).  As in
 * the ES-DFM reference code's FSIW loss, the positive weight is
 * 1 / (P + 1e-8), so a model that gives a positive almost no chance of
 * being observed yields a large but finite weight.  dL/dz_i =
 * (1/n) w_i (f_i - y_i); served sigmoid(z). */
#include "models/method_internal.h"
#include "sim/log.h"

/* The deadline must leave pre-training clicks for the aux model. */
static int fsiw_check(const df_config *cfg)
{
  if (cfg->fsiw_deadline < cfg->stream_pretrain)
    return 0;
  char d[32], p[32];
  cfg_format_duration(cfg->fsiw_deadline, d, sizeof d);
  cfg_format_duration(cfg->stream_pretrain, p, sizeof p);
  return df_fail(DF_EINPUT,
                 "%s: fsiw.deadline (%s) must be shorter than "
                 "stream.pretrain (%s): set it lower, or leave fsiw out "
                 "of run.methods",
                 cfg_origin(cfg, "fsiw", "deadline"), d, p);
}

static double fsiw_weight(const method_batch *b, size_t i, double p)
{
  double p_obs = b->aux[i * (size_t)b->aux_heads + 0];
  double p_rn = b->aux[i * (size_t)b->aux_heads + 1];
  return b->ev[i].label ? 1 / (p_obs + 1e-8) : p_rn;
}

static double fsiw_loss(void *ctx, size_t n, int heads, const float *z,
                        float *grad)
{
  return method_weighted_bce(ctx, n, heads, z, grad, fsiw_weight);
}

const method_type method_fsiw = {
    .name = "fsiw",
    .summary = "naive's data; weights 1/P(observed | converts, x, e), "
               "P(real negative | negative, x, e) (Yasui 2020)",
    .aux = AUX_FSIW,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = method_interval_end_events,
    .loss = fsiw_loss,
    .serve = method_serve_sigmoid,
    .check = fsiw_check,
};
