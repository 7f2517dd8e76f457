/* method_naive.c: each click labelled by what is known when it is
 * trained, the end of its own interval (conv_ts < interval end), and
 * never corrected (method_interval_end_events).  Plain BCE.
 *
 * The event's time is the last second of the click's interval rather
 * than the click time: the label is then known at the event's time
 * (replay_known(conv_ts, end - 1) is conv_ts < end), the event falls in
 * the same interval, and since every event of an interval has that one
 * time the stable sort keeps them in click-time order, so training sees
 * exactly the clicks of the interval in the order they came. */
#include "models/method_internal.h"

const method_type method_naive = {
    .name = "naive",
    .summary = "each click labelled as known at the end of its interval, "
               "never corrected; BCE; serve sigmoid",
    .aux = AUX_NONE,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = method_interval_end_events,
    .loss = method_loss_bce,
    .serve = method_serve_sigmoid,
};
