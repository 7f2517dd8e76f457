/* method_esdfm.c: elapsed-time sampling delayed feedback model (Yang et
 * al., "Capturing Delayed Feedback in Conversion Rate Prediction via
 * Elapsed-Time Sampling", AAAI 2021).
 *
 * Data: each click enters at c + e (e = esdfm.elapsed) labelled by
 * whether it converted within e; a later conversion adds a positive
 * duplicate at its time.  The observed distribution is
 *
 *   q(y=1|x) = p / (1 + p_dp),  q(y=0|x) = (1 - p + p_dp) / (1 + p_dp)
 *
 * with p_dp = p P(h - c > e | converts) and p_rn = (1 - p) / (1 - p +
 * p_dp).  Importance weights p/q give
 *
 *   L = -(1/n) sum_i [ y_i (1 + p_dp,i) log f_i
 *                      + (1 - y_i)(1 + p_dp,i) p_rn,i log(1 - f_i) ]
 *
 * Every positive, delayed duplicates included, gets 1 + p_dp.  As in the
 * authors' code (loss delay_tn_importance_weight_loss of the ES-DFM
 * release), p_dp and p_rn are the sigmoid outputs of the frozen
 * auxiliary model's dp and tn heads used directly, as constants:
 * batch->aux[2 i + 0] = p_dp, batch->aux[2 i + 1] = p_rn
 * (aux_esdfm.c).  dL/dz_i = (1/n) w_i (f_i - y_i). */
#include "models/method_internal.h"

static int esdfm_events(const method_env *env, replay_event **ev,
                        size_t *n)
{
  return method_window_events(env, env->cfg->esdfm_elapsed, 1, ev, n);
}

static double esdfm_weight(const method_batch *b, size_t i, double p)
{
  double p_dp = b->aux[i * (size_t)b->aux_heads + 0];
  double p_rn = b->aux[i * (size_t)b->aux_heads + 1];
  return b->ev[i].label ? 1 + p_dp : (1 + p_dp) * p_rn;
}

static double esdfm_loss(void *ctx, size_t n, int heads, const float *z,
                         float *grad)
{
  return method_weighted_bce(ctx, n, heads, z, grad, esdfm_weight);
}

const method_type method_esdfm = {
    .name = "esdfm",
    .summary = "click enters after esdfm.elapsed + late positive "
               "duplicate; weights 1+p_dp, (1+p_dp)p_rn (Yang 2021)",
    .aux = AUX_ESDFM,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = esdfm_events,
    .loss = esdfm_loss,
    .serve = method_serve_sigmoid,
};
