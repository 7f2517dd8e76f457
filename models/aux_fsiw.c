/* aux_fsiw.c: FSIW's auxiliary model (Yasui et al., "A Feedback Shift
 * Correction in Predicting Conversion Rates under Delayed Feedback",
 * WWW 2020), trained once on the pre-training clicks and then frozen.
 *
 * The counterfactual deadline: pretend pre-training ended cd =
 * fsiw.deadline earlier, at D = T - 1 - cd (T = stream.pretrain, T - 1
 * the last second of pre-training), and take what is known at the real
 * end, batch->now, as each click's eventual outcome.  A click c <= D
 * has then been observed for elapsed time e = D - c, an input of the
 * model (features.h: feat_add_elapsed).  Two heads on one trunk, each a
 * BCE averaged over its own rows, as the reference code's two separate
 * pre-trained models:
 *
 *   head 0, obs: rows that converted (known by now); label [the
 *     conversion was known at D].  sigmoid(z0) estimates
 *     P(observed by elapsed e | converts, x, e).
 *   head 1, rn: rows still negative at D; label [no conversion known by
 *     now].  sigmoid(z1) estimates P(never converts | negative at
 *     elapsed e, x, e).
 *
 *   L = (1/n0) sum_{i in obs rows} BCE(z_i0, y_obs,i)
 *     + (1/n1) sum_{i in rn rows} BCE(z_i1, y_rn,i)
 *
 * Clicks after D belong to neither head.  In the stream method_fsiw
 * trains each click at the last second of its interval, so the elapsed
 * time the frozen model sees there is that second minus the click
 * time. */
#include "models/method_internal.h"

/* D of the comment above. */
static int64_t fsiw_deadline(const df_config *cfg)
{
  return (int64_t)cfg->stream_pretrain - 1 - (int64_t)cfg->fsiw_deadline;
}

static int64_t aux_fsiw_elapsed(const method_env *env, uint32_t row,
                                int stream)
{
  int64_t c = env->log->click_ts[row];
  if (stream)
    return method_interval_last(env->clock, c) - c;
  int64_t e = fsiw_deadline(env->cfg) - c;
  return e > 0 ? e : 0;
}

/* Row i's heads: obs when it converted (known by now), rn when it was
 * still negative at D; neither after D.  A conversion between D and now
 * makes a row of both (both labels 0). */
static void fsiw_heads(const method_batch *b, size_t i, int64_t d, int *obs,
                       int *rn)
{
  int64_t c = b->log->click_ts[b->ev[i].row];
  int64_t h = b->log->conv_ts[b->ev[i].row];
  *obs = c <= d && replay_known(h, b->now);
  *rn = c <= d && !replay_known(h, d);
}

static double aux_fsiw_loss(void *ctx, size_t n, int heads, const float *z,
                            float *grad)
{
  const method_batch *b = ctx;
  int64_t d = fsiw_deadline(b->cfg);

  /* Each head is averaged over its own rows. */
  size_t n0 = 0, n1 = 0;
  for (size_t i = 0; i < n; i++) {
    int obs, rn;
    fsiw_heads(b, i, d, &obs, &rn);
    n0 += (size_t)obs;
    n1 += (size_t)rn;
  }
  double inv0 = n0 ? 1.0 / (double)n0 : 0, inv1 = n1 ? 1.0 / (double)n1 : 0;

  double obs_sum = 0, rn_sum = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t h = b->log->conv_ts[b->ev[i].row];
    size_t at = i * (size_t)heads;
    int obs, rn;
    fsiw_heads(b, i, d, &obs, &rn);
    grad[at] = grad[at + 1] = 0;
    if (obs)
      obs_sum += method_bce_logit(z[at], replay_known(h, d), inv0, &grad[at]);
    if (rn)
      rn_sum += method_bce_logit(z[at + 1], !replay_known(h, b->now), inv1,
                                 &grad[at + 1]);
  }
  return inv0 * obs_sum + inv1 * rn_sum;
}

const aux_type aux_fsiw = {
    .id = AUX_FSIW,
    .name = "fsiw",
    .heads = 2,
    .loss = aux_fsiw_loss,
    .elapsed = aux_fsiw_elapsed,
};
