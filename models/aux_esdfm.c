/* aux_esdfm.c: ES-DFM's auxiliary model and its pre-training loss (Yang
 * et al., AAAI 2021; labels as in the tn/dp pre-training of the
 * authors' code, but with what is known at batch->now instead of the
 * eventual labels).
 *
 * One batch of pseudo-events of pre-training clicks, e = esdfm.elapsed,
 * c the click time, h the conversion time, now = batch->now:
 *
 *   head 0, dp ("delayed positive"): label y_dp = [h known by now and
 *     h - c > e], BCE averaged over every row;
 *   head 1, tn ("true negative"): label y_tn = [no conversion known by
 *     now], BCE averaged over the rows still negative at e, [h not known
 *     by c + e], among those whose state at e is known (c + e <= now).
 *
 *   L = (1/n) sum_i BCE(z_i0, y_dp,i) + (1/m) sum_{i in M} BCE(z_i1,
 *       y_tn,i),  m = |M| (the tn term is 0 when M is empty)
 *
 * sigmoid(z_i0) estimates p_dp and sigmoid(z_i1) estimates p_rn; the
 * runner freezes the model and hands them to method_esdfm's loss. */
#include "models/method_internal.h"

/* Does row i count for the tn head: still negative at e, and e already
 * elapsed at now? */
static int aux_tn_row(const method_batch *b, size_t i, int64_t e)
{
  int64_t c = b->log->click_ts[b->ev[i].row];
  return c + e <= b->now && !replay_known(b->log->conv_ts[b->ev[i].row],
                                          c + e);
}

static double aux_esdfm_loss(void *ctx, size_t n, int heads,
                             const float *z, float *grad)
{
  const method_batch *b = ctx;
  int64_t e = (int64_t)b->cfg->esdfm_elapsed, now = b->now;

  /* The tn head's rows: negative at e, with e already elapsed. */
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    m += (size_t)aux_tn_row(b, i, e);

  double inv_n = n ? 1.0 / (double)n : 0, inv_m = m ? 1.0 / (double)m : 0;
  double dp = 0, tn = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t c = b->log->click_ts[b->ev[i].row];
    int64_t h = b->log->conv_ts[b->ev[i].row];
    size_t at = i * (size_t)heads;
    int known = replay_known(h, now);

    dp += method_bce_logit(z[at], known && h - c > e, inv_n, &grad[at]);
    if (aux_tn_row(b, i, e))
      tn += method_bce_logit(z[at + 1], !known, inv_m, &grad[at + 1]);
    else
      grad[at + 1] = 0;
  }
  return inv_n * dp + inv_m * tn;
}

const aux_type aux_esdfm = {
    .id = AUX_ESDFM,
    .name = "esdfm",
    .heads = 2,
    .loss = aux_esdfm_loss,
};
