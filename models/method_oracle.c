/* method_oracle.c: every click at its click time with its eventual
 * label (conv_ts != -1).  The one method allowed to see the future: its
 * labels are not known at the event's time, so it is an upper reference
 * no deployable method can reach, not a method. */
#include "models/method_internal.h"

static int oracle_events(const method_env *env, replay_event **ev,
                         size_t *n)
{
  return method_once_events(env, method_at_click, 1, ev, n);
}

const method_type method_oracle = {
    .name = "oracle",
    .summary = "each click at click time with its eventual label (sees "
               "the future: upper reference); BCE; serve sigmoid",
    .aux = AUX_NONE,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = oracle_events,
    .loss = method_loss_bce,
    .serve = method_serve_sigmoid,
};
