/* method_pretrain.c: the pre-trained model, frozen (the baseline every
 * later paper reports RI against).  It streams nothing; its loss is
 * plain BCE, used only if a runner pre-trains with the method's loss. */
#include "models/method_internal.h"

const method_type method_pretrain = {
    .name = "pretrain",
    .summary = "no stream: the BCE-pre-trained model, frozen; serve "
               "sigmoid",
    .aux = AUX_NONE,
    .heads = 1,
    .streams = 0,
    .own_pretrain = 0,
    .events = NULL,
    .loss = method_loss_bce,
    .serve = method_serve_sigmoid,
};
