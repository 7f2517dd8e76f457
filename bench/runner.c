/* runner.c: pre-training, the stream replay per method, scoring and the
 * result files (see runner.h). */
#include "bench/runner.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/progress.h"
#include "models/features.h"
#include "models/learner.h"
#include "models/method.h"
#include "sim/log.h"
#include "sim/outfile.h"
#include "sim/replay.h"

#define MAX_METHODS 32
/* Rows predicted per call when scoring. */
#define PREDICT_CHUNK 4096

/* Everything the methods share, read-only once set up. */
typedef struct shared {
  const df_config *cfg;
  const run_options *opt;
  df_clicks *log;
  replay_clock clock;
  feat_spec feat;
  int width;          /* encoded columns per click */
  uint32_t *x;        /* [n * width] every click encoded */
  unsigned char *y;   /* [n] eventual attributed label */
  int64_t pre_now;    /* what pre-training labels may know */
  feat_spec feat_elapsed; /* feat plus the elapsed-time field */
  learner *base;      /* the BCE-pre-trained CVR model */
  float *aux[AUX_COUNT]; /* [n * heads] frozen aux probabilities by row */
  int aux_heads[AUX_COUNT];
  const method_type *methods[MAX_METHODS];
  int n_methods;
  run_method *results;
  /* What each pre-training job trains: 0 the CVR model, 0 < k <
   * AUX_COUNT the aux model k, AUX_COUNT + i method i's own model. */
  int pre_jobs[AUX_COUNT + MAX_METHODS];
  int pre_status[AUX_COUNT + MAX_METHODS]; /* per pre-training job */
  learner *own[MAX_METHODS]; /* methods' own pre-trained models */
  int status[MAX_METHODS]; /* per method */
  atomic_size_t steps_done;
  atomic_size_t method_steps[MAX_METHODS]; /* stream steps per method */
  size_t steps_total;
} shared;

static double now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- a small pool: jobs 0..n-1 on up to `threads` threads ---- */

typedef struct pool {
  void (*fn)(shared *sh, int job);
  shared *sh;
  int n;
  atomic_int next;
  atomic_int finished;
} pool;

static void *pool_worker(void *arg)
{
  pool *p = arg;
  for (int j; (j = atomic_fetch_add(&p->next, 1)) < p->n;) {
    p->fn(p->sh, j);
    atomic_fetch_add(&p->finished, 1);
  }
  return NULL;
}

/* The stream's progress, one line a method on a terminal. */
static void draw_methods(shared *sh, progress *bar)
{
  const char *names[MAX_METHODS];
  double done[MAX_METHODS];
  size_t steps = replay_steps(&sh->clock);
  for (int i = 0; i < sh->n_methods; i++) {
    names[i] = sh->methods[i]->name;
    done[i] = steps ? (double)atomic_load(&sh->method_steps[i]) /
                          (double)steps
                    : 1;
  }
  progress_lines(bar, names, done, sh->n_methods);
}

/* Run the jobs; the calling thread draws progress (label) meanwhile,
 * per method when per_method is set.  Which thread runs a job never
 * changes its result. */
static void pool_run(shared *sh, void (*fn)(shared *, int), int n,
                     const char *label, int per_method)
{
  pool p = {.fn = fn, .sh = sh, .n = n};
  int threads = sh->cfg->run_threads < n ? sh->cfg->run_threads : n;
  pthread_t tid[64];
  int started = 0;
  for (int t = 0; t < threads && t < 64; t++)
    if (!pthread_create(&tid[t], NULL, pool_worker, &p))
      started++;
  if (!started)
    pool_worker(&p);

  progress *bar = progress_create(label);
  while (atomic_load(&p.finished) < n) {
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    if (per_method)
      draw_methods(sh, bar);
    else if (sh->steps_total)
      progress_update(bar, (double)atomic_load(&sh->steps_done) /
                               (double)sh->steps_total);
  }
  progress_finish(bar);
  for (int t = 0; t < started; t++)
    pthread_join(tid[t], NULL);
}

/* ---- pre-training ---- */

/* The encoded columns of a model's input: the click's, and for an aux
 * model with an elapsed-time input one more (features.h). */
static int enc_width(const shared *sh, const aux_type *a)
{
  return sh->width + (a && a->elapsed ? 1 : 0);
}

/* Row's input to a model: its encoded click, then for an aux model with
 * an elapsed-time input the elapsed column, for pre-training (stream 0)
 * or the stream (stream 1). */
static void enc_row(const shared *sh, const aux_type *a, uint32_t row,
                    int stream, uint32_t *out)
{
  memcpy(out, sh->x + (size_t)row * (size_t)sh->width,
         (size_t)sh->width * sizeof *out);
  if (a && a->elapsed) {
    method_env env = {sh->log, &sh->clock, sh->cfg};
    out[sh->width] = feat_elapsed_column(&sh->feat_elapsed,
                                         a->elapsed(&env, row, stream));
  }
}

/* splitmix64: the shuffle's generator (Steele, Lea and Flood, OOPSLA
 * 2014), one 64-bit state a stream. */
static uint64_t shuffle_next(uint64_t *state)
{
  uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A uniform integer below bound (1 <= bound < 2^32), by Lemire's
 * multiply-and-reject ("Fast random integer generation in an interval",
 * ACM TOMACS 2019): exact, and nearly always one draw. */
static uint32_t shuffle_below(uint64_t *state, uint32_t bound)
{
  uint64_t m = (shuffle_next(state) >> 32) * (uint64_t)bound;
  uint32_t low = (uint32_t)m;
  if (low < bound) {
    uint32_t threshold = (uint32_t)(-bound) % bound;
    while (low < threshold) {
      m = (shuffle_next(state) >> 32) * (uint64_t)bound;
      low = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

/* Fisher-Yates over ev[0..n), n < 2^32 (the clock's limit): several
 * times faster than gsl_ran_shuffle's byte-wise swaps, which took a fifth
 * of a default run. */
static void shuffle_events(replay_event *ev, size_t n, uint64_t *state)
{
  for (size_t i = n; i > 1; i--) {
    size_t j = shuffle_below(state, (uint32_t)i);
    replay_event t = ev[i - 1];
    ev[i - 1] = ev[j];
    ev[j] = t;
  }
}

/* Train l for model.epochs passes over the pre-training clicks in a
 * shuffled order (seeded by model.seed and salt), as pseudo-events whose
 * time and label are what is known at sh->pre_now.  With loss NULL the
 * loss is BCE on those labels; otherwise the method or aux loss sees a
 * method_batch.  a is the aux model being trained, or NULL.  tick, when
 * given, counts the batches done (for the progress bar of the shared
 * pre-training). */
static int pretrain(shared *sh, learner *l, loss_fn loss,
                    const aux_type *a, uint64_t salt, atomic_size_t *tick)
{
  const df_config *cfg = sh->cfg;
  size_t n = sh->clock.click_off[0], batch = (size_t)cfg->model_batch;
  size_t width = (size_t)enc_width(sh, a);
  int rc = 0;
  if (n == 0)
    return 0;

  replay_event *ev = malloc(n * sizeof *ev);
  uint32_t *xb = malloc(batch * width * sizeof *xb);
  float *yb = malloc(batch * sizeof *yb);
  if (!ev || !xb || !yb) {
    rc = df_fail(DF_ENOMEM, "out of memory for pre-training");
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t row = sh->clock.order[i];
    ev[i] = (replay_event){.time = sh->pre_now, .row = row,
                           .label = (uint8_t)replay_known(
                               sh->log->conv_ts[row], sh->pre_now)};
  }
  uint64_t state = (uint64_t)cfg->model_seed * 1000003u + salt;

  for (int epoch = 0; epoch < cfg->model_epochs && !rc; epoch++) {
    shuffle_events(ev, n, &state);
    for (size_t b = 0; b < n && !rc; b += batch) {
      size_t nb = n - b < batch ? n - b : batch;
      /* Gather the batch; the rows are scattered, so fetch ahead the
       * encoded row and the times a method's loss reads. */
      for (size_t i = 0; i < nb; i++) {
        if (i + 8 < nb) {
          uint32_t ahead = ev[b + i + 8].row;
          __builtin_prefetch(sh->x + (size_t)ahead * (size_t)sh->width);
          __builtin_prefetch(&sh->log->click_ts[ahead]);
          __builtin_prefetch(&sh->log->conv_ts[ahead]);
        }
        enc_row(sh, a, ev[b + i].row, 0, xb + i * width);
        yb[i] = ev[b + i].label;
      }
      double value;
      if (loss) {
        method_batch mb = {.n = nb, .ev = ev + b, .log = sh->log,
                           .cfg = cfg, .now = sh->pre_now};
        rc = learner_train(l, xb, nb, loss, &mb, &value);
      } else {
        loss_bce_ctx ctx = {.label = {yb}};
        rc = learner_train(l, xb, nb, loss_bce, &ctx, &value);
      }
      if (tick)
        atomic_fetch_add(tick, 1);
    }
  }

cleanup:
  free(ev);
  free(xb);
  free(yb);
  return rc;
}

/* A new learner for the CVR model or a method's own (a NULL), or for
 * the aux model a. */
static int learner_new(shared *sh, const aux_type *a, int heads,
                       learner **out)
{
  learner_spec spec;
  const feat_spec *f = a && a->elapsed ? &sh->feat_elapsed : &sh->feat;
  int rc = learner_spec_from_config(&spec, sh->cfg, f, heads);
  return rc ? rc : learner_create(sh->cfg->model_type, &spec, out);
}

/* Probabilities of the frozen aux model l of type a for every click
 * after pre-training, stored by row. */
static int predict_all(shared *sh, learner *l, const aux_type *a,
                       float **out)
{
  size_t n = sh->log->n, width = (size_t)enc_width(sh, a);
  int heads = a->heads;
  float *p = calloc(n * (size_t)heads, sizeof *p);
  float *z = malloc(PREDICT_CHUNK * (size_t)heads * sizeof *z);
  uint32_t *xb = malloc(PREDICT_CHUNK * width * sizeof *xb);
  if (!p || !z || !xb) {
    free(p);
    free(z);
    free(xb);
    return df_fail(DF_ENOMEM, "out of memory for auxiliary predictions");
  }
  for (size_t b = sh->clock.click_off[0]; b < n; b += PREDICT_CHUNK) {
    size_t nb = n - b < PREDICT_CHUNK ? n - b : PREDICT_CHUNK;
    for (size_t i = 0; i < nb; i++)
      enc_row(sh, a, sh->clock.order[b + i], 1, xb + i * width);
    learner_predict(l, xb, nb, z);
    for (size_t i = 0; i < nb; i++)
      for (int h = 0; h < heads; h++) {
        double v = z[i * (size_t)heads + (size_t)h];
        p[(size_t)sh->clock.order[b + i] * (size_t)heads + (size_t)h] =
            (float)(v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)));
      }
  }
  free(z);
  free(xb);
  *out = p;
  return 0;
}

/* A pre-training job: the shared CVR model (sh->pre_jobs[job] = 0), a
 * method's own model (AUX_COUNT + its index), or the aux model of that
 * id, frozen and predicted for every click. */
static void pretrain_job(shared *sh, int job)
{
  int rc, id = sh->pre_jobs[job];
  if (id >= AUX_COUNT) {
    const method_type *m = sh->methods[id - AUX_COUNT];
    learner **l = &sh->own[id - AUX_COUNT];
    rc = learner_new(sh, NULL, m->heads, l);
    if (!rc)
      rc = pretrain(sh, *l, m->loss, NULL, 100, &sh->steps_done);
  } else if (id == 0) {
    rc = learner_new(sh, NULL, 1, &sh->base);
    if (!rc)
      rc = pretrain(sh, sh->base, NULL, NULL, 0, &sh->steps_done);
  } else {
    const aux_type *a = aux_find((enum method_aux)id);
    learner *l = NULL;
    rc = learner_new(sh, a, a->heads, &l);
    if (!rc)
      rc = pretrain(sh, l, a->loss, a, (uint64_t)id, &sh->steps_done);
    if (!rc)
      rc = predict_all(sh, l, a, &sh->aux[id]);
    sh->aux_heads[id] = a->heads;
    learner_destroy(l);
  }
  if (rc)
    log_error("pre-training: %s", df_errmsg());
  sh->pre_status[job] = rc;
}

/* ---- the stream, per method ---- */

typedef struct stream_buf {
  uint32_t *x;
  float *aux, *z, *pred;
  unsigned char *y;
  size_t cap;
} stream_buf;

static int buf_reserve(stream_buf *b, size_t n, int width, int heads)
{
  if (n <= b->cap)
    return 0;
  free(b->x);
  free(b->aux);
  free(b->z);
  free(b->pred);
  free(b->y);
  b->x = malloc(n * (size_t)width * sizeof *b->x);
  b->aux = malloc(n * LOSS_MAX_HEADS * sizeof *b->aux);
  b->z = malloc(n * (size_t)heads * sizeof *b->z);
  b->pred = malloc(n * sizeof *b->pred);
  b->y = malloc(n);
  b->cap = n;
  if (!b->x || !b->aux || !b->z || !b->pred || !b->y) {
    b->cap = 0;
    return df_fail(DF_ENOMEM, "out of memory for a batch of %zu", n);
  }
  return 0;
}

static void buf_free(stream_buf *b)
{
  free(b->x);
  free(b->aux);
  free(b->z);
  free(b->pred);
  free(b->y);
}

static void gather_x(const shared *sh, const uint32_t *rows, size_t n,
                     size_t stride, uint32_t *x)
{
  size_t w = (size_t)sh->width;
  for (size_t i = 0; i < n; i++)
    memcpy(x + i * w, sh->x + (size_t)rows[i * stride] * w,
           w * sizeof *x);
}

/* Train one interval's events ev[0..n) in mini-batches. */
static int train_interval(shared *sh, const method_type *m, learner *l,
                          const replay_event *ev, size_t n, int64_t now,
                          stream_buf *b)
{
  size_t batch = (size_t)sh->cfg->model_batch;
  const float *aux = m->aux ? sh->aux[m->aux] : NULL;
  int ah = m->aux ? sh->aux_heads[m->aux] : 0;
  for (size_t s = 0; s < n; s += batch) {
    size_t nb = n - s < batch ? n - s : batch;
    for (size_t i = 0; i < nb; i++) {
      uint32_t row = ev[s + i].row;
      memcpy(b->x + i * (size_t)sh->width,
             sh->x + (size_t)row * (size_t)sh->width,
             (size_t)sh->width * sizeof *b->x);
      for (int h = 0; h < ah; h++)
        b->aux[i * (size_t)ah + (size_t)h] =
            aux[(size_t)row * (size_t)ah + (size_t)h];
    }
    method_batch mb = {.n = nb, .ev = ev + s, .log = sh->log,
                       .cfg = sh->cfg, .now = now,
                       .aux = ah ? b->aux : NULL, .aux_heads = ah};
    double value;
    int rc = learner_train(l, b->x, nb, m->loss, &mb, &value);
    if (rc)
      return rc;
  }
  return 0;
}

/* Predictions of the clicks of interval t into b->pred and b->y. */
static void predict_interval(shared *sh, const method_type *m, learner *l,
                             size_t t, stream_buf *b, size_t *n_out)
{
  const replay_clock *c = &sh->clock;
  const uint32_t *rows = c->order + c->click_off[t];
  size_t n = c->click_off[t + 1] - c->click_off[t];
  for (size_t s = 0; s < n; s += PREDICT_CHUNK) {
    size_t nb = n - s < PREDICT_CHUNK ? n - s : PREDICT_CHUNK;
    gather_x(sh, rows + s, nb, 1, b->x);
    learner_predict(l, b->x, nb, b->z);
    for (size_t i = 0; i < nb; i++)
      b->pred[s + i] = (float)m->serve(b->z + i * (size_t)m->heads,
                                       m->heads);
  }
  for (size_t i = 0; i < n; i++)
    b->y[i] = sh->y[rows[i]];
  *n_out = n;
}

/* Score one test interval: its hour row, the stream, the predictions
 * file. */
static int score_interval(run_method *res, metric_stream *ms, size_t t,
                          const float *pred, const unsigned char *y,
                          size_t n, FILE *pf)
{
  if (n == 0)
    return 0;
  run_hour *h = &res->hours[res->n_hours++];
  h->interval = t;
  int rc = metric_compute(pred, y, n, METRIC_PROB, &h->m);
  if (!rc)
    rc = metric_stream_update(ms, pred, y, n, METRIC_PROB);
  for (size_t i = 0; pf && i < n; i++)
    fprintf(pf, "%zu\t%d\t%.17g\n", t, y[i], (double)pred[i]);
  return rc;
}

static int open_predictions(shared *sh, const char *name, out_file *o)
{
  if (!sh->opt->predictions_dir)
    return 0;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.tsv", sh->opt->predictions_dir, name);
  int rc = out_open(o, path, sh->opt->force);
  if (!rc)
    fputs("hour\tlabel\tprediction\n", o->f);
  return rc;
}

static int stream_method(shared *sh, const method_type *m, run_method *res)
{
  const replay_clock *c = &sh->clock;
  size_t steps = replay_steps(c);
  learner *l = NULL;
  replay_event *ev = NULL;
  size_t n_ev = 0, *off = NULL;
  stream_buf b = {0};
  out_file pf = {0};
  metric_stream *ms = metric_stream_create();
  res->hours = calloc(steps ? steps : 1, sizeof *res->hours);
  off = calloc(c->n_intervals + 1, sizeof *off);
  int rc = (!ms || !res->hours || !off)
               ? df_fail(DF_ENOMEM, "out of memory for method %s", m->name)
               : 0;

  /* The model: a clone of the shared one, or its own pre-training. */
  if (!rc && m->own_pretrain) {
    int k = (int)(res - sh->results);
    l = sh->own[k];
    sh->own[k] = NULL;
  } else if (!rc) {
    rc = learner_clone(sh->base, &l);
  }

  /* The events, in time order, cut by interval. */
  if (!rc && m->streams) {
    method_env env = {sh->log, c, sh->cfg};
    rc = m->events(&env, &ev, &n_ev);
    if (!rc)
      rc = replay_sort(ev, n_ev);
    if (!rc)
      replay_slice(c, ev, n_ev, off);
  }
  size_t biggest = (size_t)sh->cfg->model_batch;
  for (size_t t = 0; t < c->n_intervals; t++)
    if (c->click_off[t + 1] - c->click_off[t] > biggest)
      biggest = c->click_off[t + 1] - c->click_off[t];
  if (!rc)
    rc = buf_reserve(&b, biggest, sh->width, m->heads);
  if (!rc)
    rc = open_predictions(sh, m->name, &pf);

  /* Step t: train on interval t, test on interval t + 1. */
  for (size_t t = 0; t < steps && !rc; t++) {
    if (m->streams) {
      int64_t now = replay_interval_begin(c, t + 1) - 1;
      rc = train_interval(sh, m, l, ev + off[t], off[t + 1] - off[t], now,
                          &b);
      res->train_events += off[t + 1] - off[t];
    }
    size_t n;
    if (!rc) {
      predict_interval(sh, m, l, t + 1, &b, &n);
      rc = score_interval(res, ms, t + 1, b.pred, b.y, n, pf.f);
    }
    atomic_fetch_add(&sh->steps_done, 1);
    atomic_fetch_add(&sh->method_steps[res - sh->results], 1);
  }
  if (!rc)
    rc = metric_stream_finish(ms, &res->summary);
  if (pf.f)
    rc = rc ? (out_abort(&pf), rc) : out_commit(&pf);

  learner_destroy(l);
  free(ev);
  free(off);
  buf_free(&b);
  metric_stream_destroy(ms);
  return rc;
}

static void method_job(shared *sh, int job)
{
  const method_type *m = sh->methods[job];
  run_method *res = &sh->results[job];
  double t0 = now_seconds();
  snprintf(res->name, sizeof res->name, "%s", m->name);
  int rc = stream_method(sh, m, res);
  res->seconds = now_seconds() - t0;
  if (rc)
    log_error("method %s: %s", m->name, df_errmsg());
  sh->status[job] = rc;
}

/* The ceiling: the true probabilities scored on the same intervals. */
static int score_truth(shared *sh, run_method *res)
{
  const replay_clock *c = &sh->clock;
  size_t steps = replay_steps(c), biggest = 1;
  snprintf(res->name, sizeof res->name, "bayes");
  for (size_t t = 0; t < c->n_intervals; t++)
    if (c->click_off[t + 1] - c->click_off[t] > biggest)
      biggest = c->click_off[t + 1] - c->click_off[t];
  float *pred = malloc(biggest * sizeof *pred);
  unsigned char *y = malloc(biggest);
  metric_stream *ms = metric_stream_create();
  out_file pf = {0};
  res->hours = calloc(steps ? steps : 1, sizeof *res->hours);
  int rc = (!pred || !y || !ms || !res->hours)
               ? df_fail(DF_ENOMEM, "out of memory scoring the truth")
               : open_predictions(sh, "bayes", &pf);
  for (size_t t = 1; t <= steps && !rc; t++) {
    size_t n = c->click_off[t + 1] - c->click_off[t];
    for (size_t i = 0; i < n; i++) {
      uint32_t row = c->order[c->click_off[t] + i];
      pred[i] = (float)sh->log->truth_p[row];
      y[i] = sh->y[row];
    }
    rc = score_interval(res, ms, t, pred, y, n, pf.f);
  }
  if (!rc)
    rc = metric_stream_finish(ms, &res->summary);
  if (pf.f)
    rc = rc ? (out_abort(&pf), rc) : out_commit(&pf);
  free(pred);
  free(y);
  metric_stream_destroy(ms);
  return rc;
}

/* ---- selection and set-up ---- */

int runner_select(const df_config *cfg, const char **names, int max,
                  int *n)
{
  int count;
  const method_type *const *all = method_all(&count);
  *n = 0;
  if (!strcmp(cfg->run_methods, "all")) {
    for (int i = 0; i < count && *n < max; i++)
      names[(*n)++] = all[i]->name;
    return 0;
  }

  /* A comma list, kept in registry order so tables read the same. */
  char list[CFG_MAX_TEXT];
  snprintf(list, sizeof list, "%s", cfg->run_methods);
  int want[MAX_METHODS] = {0};
  for (char *tok = strtok(list, ", "); tok; tok = strtok(NULL, ", ")) {
    int found = 0;
    for (int i = 0; i < count && i < MAX_METHODS; i++)
      if (!strcmp(all[i]->name, tok))
        want[i] = found = 1;
    if (!found)
      return df_fail(DF_EINPUT, "%s: run.methods: unknown method '%s'; "
                                "valid: %s, or all",
                     cfg_origin(cfg, "run", "methods"), tok,
                     method_names());
  }
  for (int i = 0; i < count && i < MAX_METHODS && *n < max; i++)
    if (want[i])
      names[(*n)++] = all[i]->name;
  if (*n == 0)
    return df_fail(DF_EINPUT, "%s: run.methods: no method given",
                   cfg_origin(cfg, "run", "methods"));
  return 0;
}

static int setup(shared *sh)
{
  const df_config *cfg = sh->cfg;
  df_clicks *log = sh->log;
  int rc = clicks_sort_by_time(log);
  if (!rc)
    rc = replay_clock_create(&sh->clock, log, cfg->stream_pretrain,
                             cfg->stream_interval);
  if (rc)
    return rc;
  if (sh->clock.click_off[0] == 0)
    log_warn("no click before stream.pretrain: the models start "
             "untrained");

  /* Scaling from the pre-training clicks only: no future leaks in. */
  rc = feat_fit(&sh->feat, cfg, log, 0, sh->clock.click_off[0]);
  if (rc)
    return rc;
  sh->feat_elapsed = sh->feat;
  rc = feat_add_elapsed(&sh->feat_elapsed);
  if (rc)
    return rc;
  sh->width = feat_width(&sh->feat);
  sh->x = malloc(log->n * (size_t)sh->width * sizeof *sh->x + 1);
  sh->y = malloc(log->n + 1);
  if (!sh->x || !sh->y)
    return df_fail(DF_ENOMEM, "out of memory encoding %zu clicks", log->n);
  size_t rows[PREDICT_CHUNK];
  for (size_t b = 0; b < log->n; b += PREDICT_CHUNK) {
    size_t nb = log->n - b < PREDICT_CHUNK ? log->n - b : PREDICT_CHUNK;
    for (size_t i = 0; i < nb; i++)
      rows[i] = b + i;
    feat_encode_rows(&sh->feat, log, rows, nb,
                     sh->x + b * (size_t)sh->width);
  }
  for (size_t i = 0; i < log->n; i++)
    sh->y[i] = log->conv_ts[i] != CLICKS_NO_CONVERSION;

  /* Pre-training labels: known at the end of pre-training, or (the
   * reference code's choice) the eventual ones. */
  sh->pre_now = !strcmp(cfg->stream_pretrain_labels, "eventual")
                    ? INT64_MAX
                    : sh->clock.start - 1;
  return 0;
}

int runner_run(const df_config *cfg, df_clicks *log, const run_options *opt,
               run_report *out)
{
  memset(out, 0, sizeof *out);
  double t0 = now_seconds();
  shared sh = {.cfg = cfg, .opt = opt, .log = log};
  const char *names[MAX_METHODS];
  int rc = runner_select(cfg, names, MAX_METHODS, &sh.n_methods);
  if (!rc && !learner_find(cfg->model_type))
    rc = df_fail(DF_EINPUT, "model.type '%s' is not built in; valid: %s",
                 cfg->model_type, learner_names());
  for (int i = 0; i < sh.n_methods && !rc; i++) {
    sh.methods[i] = method_find(names[i]);
    if (sh.methods[i]->check)
      rc = sh.methods[i]->check(cfg);
  }
  if (!rc)
    rc = setup(&sh);
  if (rc)
    goto cleanup;

  /* Pre-training, side by side: the methods' own models first (DFM's
   * two-head likelihood is the longest job), then the shared CVR model
   * if a method starts from it, then every aux model needed. */
  int jobs = 0, need_base = 0;
  for (int i = 0; i < sh.n_methods; i++) {
    if (sh.methods[i]->own_pretrain)
      sh.pre_jobs[jobs++] = AUX_COUNT + i;
    else
      need_base = 1;
  }
  if (need_base)
    sh.pre_jobs[jobs++] = 0;
  for (int id = 1; id < AUX_COUNT; id++)
    for (int i = 0; i < sh.n_methods; i++)
      if ((int)sh.methods[i]->aux == id) {
        sh.pre_jobs[jobs++] = id;
        break;
      }
  sh.results = calloc((size_t)sh.n_methods + 1, sizeof *sh.results);
  if (!sh.results) {
    rc = df_fail(DF_ENOMEM, "out of memory");
    goto cleanup;
  }
  log_info("pre-training on %zu clicks (%d epochs, model.type=%s)",
           sh.clock.click_off[0], cfg->model_epochs, cfg->model_type);
  size_t batches = (sh.clock.click_off[0] + (size_t)cfg->model_batch - 1) /
                   (size_t)cfg->model_batch;
  sh.steps_total = (size_t)jobs * (size_t)cfg->model_epochs * batches;
  pool_run(&sh, pretrain_job, jobs, "pretrain", 0);
  for (int j = 0; j < jobs && !rc; j++)
    if (sh.pre_status[j])
      rc = df_fail(sh.pre_status[j], "pre-training failed");
  if (rc)
    goto cleanup;

  /* The stream, methods side by side. */
  size_t steps = replay_steps(&sh.clock);
  atomic_store(&sh.steps_done, 0);
  sh.steps_total = steps * (size_t)sh.n_methods;
  log_info("stream: %zu steps of %gs over %zu clicks, %d methods",
           steps, cfg->stream_interval,
           log->n - sh.clock.click_off[0], sh.n_methods);
  pool_run(&sh, method_job, sh.n_methods, "stream", 1);
  for (int i = 0; i < sh.n_methods && !rc; i++)
    if (sh.status[i])
      rc = df_fail(sh.status[i], "method %s failed",
                   sh.methods[i]->name);

  /* A line a method, once the live lines are gone. */
  for (int i = 0; i < sh.n_methods && !rc; i++) {
    const run_method *res = &sh.results[i];
    log_info("method=%s auc=%.4f pr_auc=%.4f nll=%.4f seconds=%.1f",
             res->name, res->summary.mean.auc, res->summary.mean.pr_auc,
             res->summary.mean.nll, res->seconds);
  }
  out->n = sh.n_methods;
  if (!rc && log->truth_p) {
    rc = score_truth(&sh, &sh.results[sh.n_methods]);
    out->n++;
  }
  out->m = sh.results;
  sh.results = NULL;
  out->steps = steps;
  out->seconds = now_seconds() - t0;

cleanup:
  if (sh.results) {
    for (int i = 0; i <= sh.n_methods; i++)
      free(sh.results[i].hours);
    free(sh.results);
  }
  learner_destroy(sh.base);
  for (int i = 0; i < MAX_METHODS; i++)
    learner_destroy(sh.own[i]);
  for (int i = 0; i < AUX_COUNT; i++)
    free(sh.aux[i]);
  free(sh.x);
  free(sh.y);
  replay_clock_destroy(&sh.clock);
  if (rc)
    run_report_free(out);
  return rc;
}

void run_report_free(run_report *r)
{
  for (int i = 0; r->m && i < r->n; i++)
    free(r->m[i].hours);
  free(r->m);
  memset(r, 0, sizeof *r);
}
