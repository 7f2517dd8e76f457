/* method_internal.h: helpers shared by the method files (models/
 * method_*.c) and their tests; not part of the method contract.
 *
 * Event building: a method walks clicks in click-time order (ties by
 * row) and appends events through an event buffer that keeps only the
 * events whose time falls in the stream, [clock->start, clock->end).
 * Methods that train each click once at a time of their choosing (oracle,
 * naive, dfm, fsiw) walk the stream's clicks; methods whose events follow
 * conversions as they arrive (vanilla, fnw, fnc, esdfm, defer) walk every
 * click, so that a conversion of a pre-training click that arrives
 * during the stream enters it, as in a deployed system and in the ES-DFM
 * reference code.  Losses: every method but DFM is a weighted binary
 * cross-entropy on one head, with a per-row weight that may depend on
 * the row's label, the model's own (stop-gradient) probability and the
 * frozen auxiliary probabilities. */
#ifndef DFB_METHOD_INTERNAL_H
#define DFB_METHOD_INTERNAL_H

#include "models/method.h"

/* An event array under construction.  cap is fixed when it is created:
 * methods know how many events a click can give at most. */
typedef struct method_evbuf {
  replay_event *ev;
  size_t n, cap;
  int64_t start, end; /* events outside [start, end) are dropped */
} method_evbuf;

/* Room for per_click events of each click order[first .. n) of the
 * clock; DF_ENOMEM or 0. */
int method_evbuf_create(method_evbuf *b, const method_env *env,
                        size_t first, size_t per_click);
/* The same over the stream's clicks, order[*first .. *last) of the
 * clock (method_stream_range), which it also returns. */
int method_evbuf_create_stream(method_evbuf *b, const method_env *env,
                               size_t per_click, size_t *first,
                               size_t *last);
/* Append one event unless its time is outside the stream (then nothing
 * happens). */
void method_evbuf_push(method_evbuf *b, int64_t time, uint32_t row,
                       int label, enum replay_kind kind);
/* Hand the events to the caller (*ev owned by it). */
void method_evbuf_finish(method_evbuf *b, replay_event **ev, size_t *n);

/* The stream's clicks: rows order[*first .. *last) of the clock. */
void method_stream_range(const method_env *env, size_t *first,
                         size_t *last);

/* The last second of the interval holding time ts (ts in the stream). */
int64_t method_interval_last(const replay_clock *c, int64_t ts);

/* Each stream click once, at time when(env, row), labelled by the
 * conversion known then, or with eventual by its eventual label (the
 * oracle, which sees the future). */
int method_once_events(const method_env *env,
                       int64_t (*when)(const method_env *env, uint32_t row),
                       int eventual, replay_event **ev, size_t *n);
/* Each stream click at its click time, labelled by what is known then
 * (DFM's data). */
int64_t method_at_click(const method_env *env, uint32_t row);

/* Each stream click at the last second of its own interval, labelled by
 * the conversion known then, never corrected: naive's and FSIW's data. */
int method_interval_end_events(const method_env *env, replay_event **ev,
                               size_t *n);

/* Every click's first appearance at c + wait with its label as known
 * then, and, with duplicate, a REPLAY_DELAYED_POS positive at conv_ts
 * when the conversion comes after the wait: vanilla's and ES-DFM's
 * data. */
int method_window_events(const method_env *env, double wait,
                         int duplicate, replay_event **ev, size_t *n);
/* Every click at its click time as a negative, and a positive duplicate
 * at conv_ts for each conversion: FNW's and FNC's data. */
int method_fake_negative_events(const method_env *env, replay_event **ev,
                                size_t *n);

/* The logistic function, without overflow. */
double method_sigmoid(double z);

/* BCE of logit z with label y, softplus(z) - y z; *grad gets its
 * derivative scaled by inv, inv (s(z) - y).  For the aux models' heads. */
double method_bce_logit(double z, double y, double inv, float *grad);

/* Weight of row i of the batch given its label and p = sg(sigmoid(z_i))
 * (a constant: no gradient flows through a weight). */
typedef double (*method_weight_fn)(const method_batch *b, size_t i,
                                   double p);

/* Weighted BCE on one head with the events' labels y_i:
 *   L = (1/n) sum_i w_i [softplus(z_i) - y_i z_i]
 *   dL/dz_i = (1/n) w_i (sigmoid(z_i) - y_i)
 * weight NULL means w_i = 1 (plain BCE).  Only head 0 is used. */
double method_weighted_bce(const method_batch *b, size_t n, int heads,
                           const float *z, float *grad,
                           method_weight_fn weight);

/* Plain BCE on the events' labels: the loss of pretrain, oracle, naive,
 * vanilla and FNC, with ctx a const method_batch *. */
double method_loss_bce(void *ctx, size_t n, int heads, const float *z,
                       float *grad);

/* sigmoid(z[0]): the serving transform of most methods. */
double method_serve_sigmoid(const float *z, int heads);

#endif
