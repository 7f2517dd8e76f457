/* aux_defer.c: DEFER's auxiliary model (Gu et al., "Real Negatives
 * Matter: Continuous Training with Real Negatives for Delayed Feedback
 * Modeling", KDD 2021), trained once on the pre-training clicks and then
 * frozen.
 *
 * One head, dp: the probability that a click is a delayed positive of
 * DEFER's data, one that converts after its first appearance at c + e
 * (e = defer.elapsed) and within the window W = defer.window:
 *
 *   y_dp = [h known by batch->now and e < h - c <= W]
 *   L = (1/n) sum_i BCE(z_i, y_dp,i)
 *
 * over every pre-training click, as ES-DFM's dp head (aux_esdfm.c). */
#include "models/method_internal.h"

static double aux_defer_loss(void *ctx, size_t n, int heads, const float *z,
                             float *grad)
{
  const method_batch *b = ctx;
  int64_t e = (int64_t)b->cfg->defer_elapsed;
  int64_t w = (int64_t)b->cfg->defer_window;
  double inv = n ? 1.0 / (double)n : 0, sum = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t c = b->log->click_ts[b->ev[i].row];
    int64_t h = b->log->conv_ts[b->ev[i].row];
    int dp = replay_known(h, b->now) && h - c > e && h - c <= w;
    size_t at = i * (size_t)heads;
    sum += method_bce_logit(z[at], dp, inv, &grad[at]);
    for (int k = 1; k < heads; k++)
      grad[at + (size_t)k] = 0;
  }
  return inv * sum;
}

const aux_type aux_defer = {
    .id = AUX_DEFER,
    .name = "defer",
    .heads = 1,
    .loss = aux_defer_loss,
    .elapsed = NULL,
};
