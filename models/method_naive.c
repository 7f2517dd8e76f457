/* method_naive.c: each click labelled by what is known when it is
 * trained, the end of its own interval (conv_ts < interval end), and
 * never corrected.
 *
 * The event's time is the last second of the click's interval rather
 * than the click time: the label is then known at the event's time
 * (replay_known(conv_ts, end - 1) is conv_ts < end), the event falls in
 * the same interval, and since every event of an interval has that one
 * time the stable sort keeps them in click-time order, so training sees
 * exactly the clicks of the interval in the order they came. */
#include "models/method_internal.h"

static int naive_events(const method_env *env, replay_event **ev,
                        size_t *n)
{
  method_evbuf b;
  int rc = method_evbuf_create(&b, env, 1);
  if (rc)
    return rc;
  const replay_clock *clk = env->clock;
  for (size_t t = 0; t < clk->n_intervals; t++) {
    int64_t last = replay_interval_begin(clk, t + 1) - 1;
    for (size_t k = clk->click_off[t]; k < clk->click_off[t + 1]; k++) {
      uint32_t row = clk->order[k];
      method_evbuf_push(&b, last, row,
                        replay_known(env->log->conv_ts[row], last),
                        REPLAY_FIRST);
    }
  }
  method_evbuf_finish(&b, ev, n);
  return 0;
}

const method_type method_naive = {
    .name = "naive",
    .summary = "each click labelled as known at the end of its interval, "
               "never corrected; BCE; serve sigmoid",
    .aux = AUX_NONE,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = naive_events,
    .loss = method_loss_bce,
    .serve = method_serve_sigmoid,
};
