/* method.c: the method registry, the auxiliary-model registry, and the
 * event and loss helpers the method files share (method_internal.h).
 * A new method is one file and one line in method_table. */
#include "models/method.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "models/method_internal.h"
#include "sim/log.h"

extern const method_type method_pretrain, method_oracle, method_naive,
    method_vanilla, method_fnw, method_fnc, method_esdfm, method_dfm,
    method_fsiw, method_defer;
extern const aux_type aux_esdfm, aux_fsiw, aux_defer;

static const method_type *const method_table[] = {
    &method_pretrain, &method_oracle, &method_naive, &method_vanilla,
    &method_fnw,      &method_fnc,    &method_esdfm, &method_dfm,
    &method_fsiw,     &method_defer,
};

#define METHOD_COUNT \
  ((int)(sizeof method_table / sizeof method_table[0]))

static const aux_type *const aux_table[] = {
    &aux_esdfm,
    &aux_fsiw,
    &aux_defer,
};

const aux_type *aux_find(enum method_aux id)
{
  for (size_t i = 0; i < sizeof aux_table / sizeof aux_table[0]; i++)
    if (aux_table[i]->id == id)
      return aux_table[i];
  return NULL;
}

const method_type *method_find(const char *name)
{
  for (int i = 0; i < METHOD_COUNT; i++)
    if (!strcmp(method_table[i]->name, name))
      return method_table[i];
  return NULL;
}

const method_type *const *method_all(int *n)
{
  *n = METHOD_COUNT;
  return method_table;
}

/* The '|'-joined names, built once from the table. */
static char method_names_buf[256];
static pthread_once_t method_names_once = PTHREAD_ONCE_INIT;

static void method_names_build(void)
{
  size_t len = 0;
  for (int i = 0; i < METHOD_COUNT; i++) {
    const char *name = method_table[i]->name;
    size_t k = strlen(name);
    if (len + k + 2 > sizeof method_names_buf)
      break;
    if (i > 0)
      method_names_buf[len++] = '|';
    memcpy(method_names_buf + len, name, k);
    len += k;
  }
  method_names_buf[len] = '\0';
}

const char *method_names(void)
{
  pthread_once(&method_names_once, method_names_build);
  return method_names_buf;
}

/* ---- events ---- */

void method_stream_range(const method_env *env, size_t *first,
                         size_t *last)
{
  *first = env->clock->click_off[0];
  *last = env->log->n;
}

int method_evbuf_create(method_evbuf *b, const method_env *env,
                        size_t first, size_t per_click)
{
  b->n = 0;
  b->cap = (env->log->n - first) * per_click;
  b->start = env->clock->start;
  b->end = env->clock->end;
  b->ev = malloc((b->cap ? b->cap : 1) * sizeof *b->ev);
  if (!b->ev)
    return df_fail(DF_ENOMEM, "out of memory for %zu events", b->cap);
  return 0;
}

int method_evbuf_create_stream(method_evbuf *b, const method_env *env,
                               size_t per_click, size_t *first,
                               size_t *last)
{
  method_stream_range(env, first, last);
  return method_evbuf_create(b, env, *first, per_click);
}

void method_evbuf_push(method_evbuf *b, int64_t time, uint32_t row,
                       int label, enum replay_kind kind)
{
  if (time < b->start || time >= b->end || b->n >= b->cap)
    return;
  replay_event *e = &b->ev[b->n++];
  memset(e, 0, sizeof *e);
  e->time = time;
  e->row = row;
  e->label = (uint8_t)(label != 0);
  e->kind = (uint8_t)kind;
}

void method_evbuf_finish(method_evbuf *b, replay_event **ev, size_t *n)
{
  *ev = b->ev;
  *n = b->n;
  b->ev = NULL;
}

int64_t method_interval_last(const replay_clock *c, int64_t ts)
{
  int64_t t = (ts - c->start) / c->interval;
  return c->start + (t + 1) * c->interval - 1;
}

int method_once_events(const method_env *env,
                       int64_t (*when)(const method_env *env, uint32_t row),
                       int eventual, replay_event **ev, size_t *n)
{
  method_evbuf b;
  size_t first, last;
  int rc = method_evbuf_create_stream(&b, env, 1, &first, &last);
  if (rc)
    return rc;
  for (size_t k = first; k < last; k++) {
    uint32_t row = env->clock->order[k];
    int64_t at = when(env, row), h = env->log->conv_ts[row];
    int label = eventual ? h != CLICKS_NO_CONVERSION : replay_known(h, at);
    method_evbuf_push(&b, at, row, label, REPLAY_FIRST);
  }
  method_evbuf_finish(&b, ev, n);
  return 0;
}

int64_t method_at_click(const method_env *env, uint32_t row)
{
  return env->log->click_ts[row];
}

/* The last second of the interval of row's click. */
static int64_t method_at_interval_end(const method_env *env, uint32_t row)
{
  return method_interval_last(env->clock, env->log->click_ts[row]);
}

int method_interval_end_events(const method_env *env, replay_event **ev,
                               size_t *n)
{
  return method_once_events(env, method_at_interval_end, 0, ev, n);
}

int method_window_events(const method_env *env, double wait,
                         int duplicate, replay_event **ev, size_t *n)
{
  method_evbuf b;
  int rc = method_evbuf_create(&b, env, 0, duplicate ? 2 : 1);
  if (rc)
    return rc;
  int64_t w = (int64_t)wait;
  for (size_t k = 0; k < env->log->n; k++) {
    uint32_t row = env->clock->order[k];
    int64_t c = env->log->click_ts[row], h = env->log->conv_ts[row];

    /* The first appearance, labelled by what has arrived within w. */
    method_evbuf_push(&b, c + w, row, replay_known(h, c + w),
                      REPLAY_FIRST);
    /* A conversion after the wait: a positive duplicate when it comes. */
    if (duplicate && h != CLICKS_NO_CONVERSION && h > c + w)
      method_evbuf_push(&b, h, row, 1, REPLAY_DELAYED_POS);
  }
  method_evbuf_finish(&b, ev, n);
  return 0;
}

int method_fake_negative_events(const method_env *env, replay_event **ev,
                                size_t *n)
{
  method_evbuf b;
  int rc = method_evbuf_create(&b, env, 0, 2);
  if (rc)
    return rc;
  for (size_t k = 0; k < env->log->n; k++) {
    uint32_t row = env->clock->order[k];
    int64_t c = env->log->click_ts[row], h = env->log->conv_ts[row];
    method_evbuf_push(&b, c, row, 0, REPLAY_FIRST);
    if (h != CLICKS_NO_CONVERSION)
      method_evbuf_push(&b, h, row, 1, REPLAY_DELAYED_POS);
  }
  method_evbuf_finish(&b, ev, n);
  return 0;
}

/* ---- losses ---- */

double method_sigmoid(double z)
{
  double e = exp(-fabs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

double method_bce_logit(double z, double y, double inv, float *grad)
{
  *grad = (float)(inv * (method_sigmoid(z) - y));
  return loss_softplus(z) - y * z;
}

double method_weighted_bce(const method_batch *b, size_t n, int heads,
                           const float *z, float *grad,
                           method_weight_fn weight)
{
  double inv = n ? 1.0 / (double)n : 0, sum = 0;
  for (size_t i = 0; i < n; i++) {
    size_t at = i * (size_t)heads;
    double zi = z[at], s = method_sigmoid(zi), y = b->ev[i].label;
    double w = weight ? weight(b, i, s) : 1;

    /* -y log s - (1 - y) log(1 - s) = softplus(z) - y z (loss.c). */
    sum += w * (loss_softplus(zi) - y * zi);
    grad[at] = (float)(inv * w * (s - y));
    for (int h = 1; h < heads; h++)
      grad[at + (size_t)h] = 0;
  }
  return inv * sum;
}

double method_loss_bce(void *ctx, size_t n, int heads, const float *z,
                       float *grad)
{
  return method_weighted_bce(ctx, n, heads, z, grad, NULL);
}

double method_serve_sigmoid(const float *z, int heads)
{
  return method_sigmoid(z[0]);
}
