/* method_fnw.c: fake negative weighted (Ktena et al., "Addressing
 * delayed feedback for continuous training with neural networks in CTR
 * prediction", RecSys 2019).
 *
 * Data: every click enters at its click time as a negative; each
 * conversion adds a positive duplicate at its time.  The observed
 * distribution is b(y=1|x) = p / (1 + p), and importance weighting with
 * the model's own p = sg(sigmoid(z)) gives
 *
 *   L = -(1/n) sum_i [ y_i (1 + p_i) log f_i
 *                      + (1 - y_i) (1 - p_i)(1 + p_i) log(1 - f_i) ]
 *
 * with f = sigmoid(z).  The weights are constants (stop-gradient), so
 * dL/dz_i = (1/n) w_i (f_i - y_i), as in the reference code's
 * fake_negative_weighted_loss. */
#include "models/method_internal.h"

static double fnw_weight(const method_batch *b, size_t i, double p)
{
  return b->ev[i].label ? 1 + p : (1 - p) * (1 + p);
}

static double fnw_loss(void *ctx, size_t n, int heads, const float *z,
                       float *grad)
{
  return method_weighted_bce(ctx, n, heads, z, grad, fnw_weight);
}

const method_type method_fnw = {
    .name = "fnw",
    .summary = "clicks at once as negatives + positive at conversion; "
               "weights 1+p, (1-p)(1+p), p = sg(f) (Ktena 2019)",
    .aux = AUX_NONE,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = method_fake_negative_events,
    .loss = fnw_loss,
    .serve = method_serve_sigmoid,
};
