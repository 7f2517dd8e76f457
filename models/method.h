/* method.h: the training methods behind one descriptor table.
 *
 * A method is a way of choosing, for the one underlying learner, which
 * samples enter the stream and when (its events), how each is weighted
 * (its loss), and how the trained model's output is served (its serving
 * transform).  Each method lives in one file, models/method_NAME.c,
 * defining `const method_type method_NAME`, and is listed by one line in
 * the registry (models/method.c).
 *
 * The runner (bench/) owns the learners and the clock: it pre-trains the
 * shared models once, asks each method for its events, sorts and slices
 * them by interval (sim/replay.h), trains in time order in mini-batches
 * through the method's loss, and scores the served predictions.
 *
 * Labels and time: an event's label must be known at the event's time
 * (replay_known); a loss may in addition use what is known at batch->now,
 * the end of the interval being trained, and nothing later. */
#ifndef DFB_METHOD_H
#define DFB_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "models/loss.h"
#include "sim/clicks.h"
#include "sim/config.h"
#include "sim/replay.h"

/* The frozen auxiliary model a method needs, pre-trained once per run
 * and shared by every method that names it. */
enum method_aux {
  AUX_NONE = 0,
  AUX_ESDFM, /* two heads: dp (delayed positive), tn (true negative) */
  AUX_FSIW,  /* two heads: obs (observed by now | converts), rn (real
                negative | negative now); the elapsed time is an input */
  AUX_DEFER, /* one head: dp within DEFER's window */
  AUX_COUNT
};

/* What a method builds its events from. */
typedef struct method_env {
  const df_clicks *log;
  const replay_clock *clock;
  const df_config *cfg;
} method_env;

/* One mini-batch as the loss sees it: n events, the log they index, the
 * training time, and the frozen auxiliary model's probabilities. */
typedef struct method_batch {
  size_t n;
  const replay_event *ev; /* [n] */
  const df_clicks *log;
  const df_config *cfg;
  int64_t now;      /* end of the interval being trained */
  const float *aux; /* [n * aux_heads] probabilities, or NULL */
  int aux_heads;
} method_batch;

typedef struct method_type {
  const char *name;
  const char *summary; /* one line: data, weights, serving; citation */
  enum method_aux aux;
  int heads;   /* heads of the method's CVR learner: 1, or 2 for DFM */
  int streams; /* 0: frozen after pre-training (the pretrain baseline) */
  /* 1: pre-trains its own CVR learner with its own loss (DFM); 0:
   * starts from the shared BCE-pre-trained model. */
  int own_pretrain;
  /* Build the stream's training events, unsorted (the runner sorts them
   * stably, so build them in a deterministic order).  *ev is malloc'ed
   * and owned by the caller.  NULL for methods that do not stream. */
  int (*events)(const method_env *env, replay_event **ev, size_t *n);
  /* The loss of a batch (ctx is a const method_batch *). */
  loss_fn loss;
  /* Probability of conversion served from the learner's logits z[heads]
   * of one click. */
  double (*serve)(const float *z, int heads);
  /* NULL, or a check of the method's keys against the rest of the
   * config, run before any work: 0 or DF_EINPUT with the message set. */
  int (*check)(const df_config *cfg);
} method_type;

/* An auxiliary model: its heads and its pre-training loss.  The runner
 * pre-trains it on the pre-training clicks as events with time and
 * batch->now both equal to the end of pre-training (or with now at the
 * end of time when stream.pretrain_labels = eventual), then freezes it
 * and hands its probabilities to the methods' losses as batch->aux. */
typedef struct aux_type {
  enum method_aux id;
  const char *name;
  int heads;
  loss_fn loss;
  /* NULL, or the time elapsed since the click that the model takes as
   * an extra input (features.h, feat_add_elapsed): for row's pre-training
   * pseudo-event (stream = 0), and for row in the stream as the method
   * that uses the model trains it (stream = 1). */
  int64_t (*elapsed)(const method_env *env, uint32_t row, int stream);
} aux_type;

const aux_type *aux_find(enum method_aux id);

/* The registry. */
const method_type *method_find(const char *name);
/* All methods in table order, and their names "a|b|c" for messages. */
const method_type *const *method_all(int *n);
const char *method_names(void);

#endif
