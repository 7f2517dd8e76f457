/* learner.h: the learners behind one descriptor table.
 *
 * A learner maps a click's encoded feature columns (features.h) to one
 * logit per output head.  All learners share the trunk-and-heads shape:
 * DFM trains a CVR head and a delay-rate head, ES-DFM's auxiliary model a
 * dp head and a tn head, on one trunk.  Training is one optimiser step per
 * call on a mini-batch, with the loss (and so the labels, weights and
 * masks) supplied by the caller through a loss_fn.
 *
 * A learner is an opaque handle: create/destroy in pairs; clone makes an
 * independent deep copy (a pre-trained model shared by several methods
 * is cloned once per method).  One learner is used by one thread at a
 * time; different learners may train side by side.  For a given seed
 * and sequence of calls the results are bitwise identical, whatever the
 * number of threads in the process (BLAS runs single-threaded inside a
 * learner). */
#ifndef DFB_LEARNER_H
#define DFB_LEARNER_H

#include <stddef.h>
#include <stdint.h>

#include "models/features.h"
#include "models/loss.h"
#include "sim/config.h"

#define LEARNER_MAX_HIDDEN 8

enum learner_optimizer { LEARNER_ADAM = 0, LEARNER_ADAGRAD };

typedef struct learner_spec {
  feat_spec features; /* column layout; learners use the widths only */
  int heads;          /* output heads, 1 .. LOSS_MAX_HEADS */
  enum learner_optimizer optimizer;
  double learning_rate;
  double l2;
  int embedding;        /* mlp: embedding width per categorical field */
  int n_hidden;         /* mlp: number of hidden layers */
  int hidden[LEARNER_MAX_HIDDEN];
  double leaky_slope;   /* mlp: LeakyReLU negative slope */
  double bn_momentum;   /* mlp: BatchNorm running-average momentum */
  uint64_t seed;
} learner_spec;

typedef struct learner learner;

typedef struct learner_type {
  const char *name;
  const char *summary;
  int (*create)(const learner_spec *spec, learner **out);
  void (*destroy)(learner *l);
  int (*clone)(const learner *l, learner **out);
  /* Inference: logits[n * heads] of the n rows x[n * feat_width]. */
  void (*predict)(learner *l, const uint32_t *x, size_t n, float *logits);
  /* One optimiser step on n rows: forward in training mode, loss(ctx)
   * gives dL/dz, backward, update.  *loss_value gets the batch loss. */
  int (*train)(learner *l, const uint32_t *x, size_t n, loss_fn loss,
               void *ctx, double *loss_value);
} learner_type;

/* Every handle starts with its type, so the wrappers below dispatch. */
struct learner {
  const learner_type *type;
};

/* The registry: the type named name ("lr", "mlp"), or NULL. */
const learner_type *learner_find(const char *name);
/* "lr|mlp", for messages. */
const char *learner_names(void);

/* Fill spec from the model.* keys of cfg for features and heads. */
int learner_spec_from_config(learner_spec *spec, const df_config *cfg,
                             const feat_spec *features, int heads);

int learner_create(const char *type, const learner_spec *spec,
                   learner **out);
static inline void learner_destroy(learner *l)
{
  if (l)
    l->type->destroy(l);
}
static inline int learner_clone(const learner *l, learner **out)
{
  return l->type->clone(l, out);
}
static inline void learner_predict(learner *l, const uint32_t *x, size_t n,
                                   float *logits)
{
  l->type->predict(l, x, n, logits);
}
static inline int learner_train(learner *l, const uint32_t *x, size_t n,
                                loss_fn loss, void *ctx, double *loss_value)
{
  return l->type->train(l, x, n, loss, ctx, loss_value);
}

#endif
