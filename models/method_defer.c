/* method_defer.c: delayed feedback modelling with real negatives (Gu et
 * al., "Real Negatives Matter: Continuous Training with Real Negatives
 * for Delayed Feedback Modeling", KDD 2021).
 *
 * Data, e = defer.elapsed, W = defer.window: each click enters at c + e
 * labelled by whether it converted within e, and once more:
 *
 *   converted within e:        a positive duplicate at c + e
 *   converted in (e, W]:       a positive at its conversion time
 *   otherwise:                 at c + W with the label known then (0)
 *
 * so every click appears exactly twice and the features keep their
 * distribution.  With p the probability of a conversion within W and
 * p_dp = P(e < h - c <= W), the observed distribution is
 *
 *   q(y=1|x) = p - p_dp / 2,   q(y=0|x) = 1 - p + p_dp / 2
 *
 * and importance weights p/q give
 *
 *   L = -(1/n) sum_i [ y_i p_i / (p_i - p_dp,i / 2) log f_i
 *       + (1 - y_i) (1 - p_i) / (1 - p_i + p_dp,i / 2) log(1 - f_i) ]
 *
 * with p = sg(f) the model's own probability (a constant, as FNW's) and
 * p_dp from the frozen auxiliary model (aux_defer.c), batch->aux[i].
 * Delayed positives are a subset of positives, so p_dp <= p: an
 * estimate above p is taken as p, which keeps the weights in [1, 2] and
 * (0, 1].  W = delay.attribution learns the attributed CVR; a shorter
 * window learns the conversion rate within W, with fresher negatives.
 * Conversions of clicks before the stream that arrive in it enter it,
 * as for ES-DFM.  dL/dz_i = (1/n) w_i (f_i - y_i); served sigmoid(z). */
#include "models/method_internal.h"
#include "sim/log.h"

static int defer_check(const df_config *cfg)
{
  if (cfg->defer_window > cfg->defer_elapsed)
    return 0;
  char w[32], e[32];
  cfg_format_duration(cfg->defer_window, w, sizeof w);
  cfg_format_duration(cfg->defer_elapsed, e, sizeof e);
  return df_fail(DF_EINPUT,
                 "%s: defer.window (%s) must be longer than "
                 "defer.elapsed (%s)",
                 cfg_origin(cfg, "defer", "window"), w, e);
}

static int defer_events(const method_env *env, replay_event **ev, size_t *n)
{
  int64_t e = (int64_t)env->cfg->defer_elapsed;
  int64_t w = (int64_t)env->cfg->defer_window;
  int rc = defer_check(env->cfg);
  if (rc)
    return rc;
  method_evbuf b;
  rc = method_evbuf_create(&b, env, 0, 2);
  if (rc)
    return rc;
  for (size_t k = 0; k < env->log->n; k++) {
    uint32_t row = env->clock->order[k];
    int64_t c = env->log->click_ts[row], h = env->log->conv_ts[row];
    int early = replay_known(h, c + e);

    /* The first appearance, then the second. */
    method_evbuf_push(&b, c + e, row, early, REPLAY_FIRST);
    if (early)
      method_evbuf_push(&b, c + e, row, 1, REPLAY_SECOND);
    else if (replay_known(h, c + w))
      method_evbuf_push(&b, h, row, 1, REPLAY_DELAYED_POS);
    else
      method_evbuf_push(&b, c + w, row, 0, REPLAY_SECOND);
  }
  method_evbuf_finish(&b, ev, n);
  return 0;
}

static double defer_weight(const method_batch *b, size_t i, double p)
{
  double p_dp = b->aux[i * (size_t)b->aux_heads];
  if (p_dp > p)
    p_dp = p;
  if (b->ev[i].label)
    return p > 0 ? p / (p - p_dp / 2) : 1;
  return (1 - p) / (1 - p + p_dp / 2);
}

static double defer_loss(void *ctx, size_t n, int heads, const float *z,
                         float *grad)
{
  return method_weighted_bce(ctx, n, heads, z, grad, defer_weight);
}

const method_type method_defer = {
    .name = "defer",
    .summary = "esdfm's data with defer.elapsed, every click again after "
               "defer.window; weights p/(p-p_dp/2), (1-p)/(1-p+p_dp/2) "
               "(Gu 2021)",
    .aux = AUX_DEFER,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = defer_events,
    .loss = defer_loss,
    .serve = method_serve_sigmoid,
    .check = defer_check,
};
