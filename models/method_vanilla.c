/* method_vanilla.c: wait vanilla.wait = w after each click, label it by
 * what arrived within w; with vanilla.duplicate, a conversion after the
 * wait adds a positive duplicate at its time (the "Vanilla" of the
 * ES-DFM reference code: w = 1 h with duplicates).  Plain BCE.
 *
 * Without duplicates the observed positive rate is p F(w) (F the delay
 * CDF), and that is what BCE learns: vanilla under-predicts by F(w). */
#include "models/method_internal.h"

static int vanilla_events(const method_env *env, replay_event **ev,
                          size_t *n)
{
  return method_window_events(env, env->cfg->vanilla_wait,
                              env->cfg->vanilla_duplicate, ev, n);
}

const method_type method_vanilla = {
    .name = "vanilla",
    .summary = "click enters after vanilla.wait with the label known then "
               "(+ late positive duplicate if vanilla.duplicate); BCE",
    .aux = AUX_NONE,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = vanilla_events,
    .loss = method_loss_bce,
    .serve = method_serve_sigmoid,
};
