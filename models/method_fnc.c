/* method_fnc.c: fake negative calibration (Ktena et al., RecSys 2019).
 *
 * FNW's data trained with plain BCE learns the biased b = p / (1 + p);
 * serving inverts it, p = b / (1 - b).  With b = sigmoid(z) that is
 * exactly exp(z), computed as such (no cancellation).  It exceeds 1 when
 * b > 0.5 (z > 0) and is then clipped to 1: such a click is served
 * p = 1, and one that does not convert costs an unbounded NLL (clamped by
 * the metric), which is where the poor NLL of FNC in the ES-DFM paper's
 * table comes from. */
#include <math.h>

#include "models/method_internal.h"

static double fnc_serve(const float *z, int heads)
{
  return z[0] >= 0 ? 1 : exp(z[0]);
}

const method_type method_fnc = {
    .name = "fnc",
    .summary = "fnw's data, plain BCE; serve b/(1-b) clipped to [0, 1] "
               "(Ktena 2019)",
    .aux = AUX_NONE,
    .heads = 1,
    .streams = 1,
    .own_pretrain = 0,
    .events = method_fake_negative_events,
    .loss = method_loss_bce,
    .serve = fnc_serve,
};
