/* bench_lr.c: training throughput of the "lr" learner on one core.
 *
 * Rows are random encoded clicks in the default feature layout (8
 * integer and 9 categorical fields, 3488 columns, 17 active a row) with
 * random labels and weights in [0.5, 2), trained with the weighted BCE
 * of loss.h.  For each optimiser, batch size and head count it trains
 * for about a second and prints one key=value line:
 *
 *   optimizer=adam heads=1 batch=1024 samples=... seconds=...
 *   samples_per_s=...
 *
 * Usage: bench_lr [SECONDS]   (default 1 per line). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/learner.h"
#include "sim/log.h"

enum { BENCH_ROWS = 1 << 16 };

static double bench_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t bench_rng(uint64_t *s)
{
  uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

/* The default layout, fitted on a one-row log of the Criteo shape. */
static int bench_features(feat_spec *fs, df_config *cfg)
{
  df_clicks *log;
  int rc = clicks_create(&log, 8, 9, 1, 0);
  if (rc)
    return rc;
  log->n = 1;
  for (int j = 0; j < 8; j++)
    log->ints[j] = j;
  for (int k = 0; k < 9; k++)
    log->cats[k] = (uint64_t)k + 1;
  cfg_defaults(cfg);
  rc = feat_fit(fs, cfg, log, 0, 1);
  clicks_destroy(log);
  return rc;
}

/* Random encoded rows: a uniform column within each field's range. */
static void bench_rows(const feat_spec *fs, uint32_t *x, uint64_t *s)
{
  int w = feat_width(fs);
  for (size_t i = 0; i < BENCH_ROWS; i++) {
    uint32_t *row = x + i * (size_t)w;
    for (int j = 0; j < fs->n_int; j++)
      row[j] = (uint32_t)fs->int_off[j] +
               (uint32_t)(bench_rng(s) % (uint64_t)fs->int_bins[j]);
    for (int k = 0; k < fs->n_cat; k++)
      row[fs->n_int + k] =
          (uint32_t)fs->cat_off[k] +
          (uint32_t)(bench_rng(s) % (uint64_t)fs->cat_buckets[k]);
  }
}

typedef struct bench_data {
  const uint32_t *x;
  const float *y, *w;
  int width;
} bench_data;

/* Train one learner for about `seconds`, batches taken in turn from
 * the row pool, and print its line. */
static int bench_one(const learner_spec *spec, const bench_data *d,
                     size_t batch, double seconds)
{
  learner *l;
  int rc = learner_create("lr", spec, &l);
  if (rc)
    return rc;
  size_t done = 0, at = 0;
  double t0 = bench_now(), t = t0;
  while (t - t0 < seconds) {
    /* Check the clock every 64 batches: timing costs nothing then. */
    for (int k = 0; k < 64 && !rc; k++) {
      if (at + batch > BENCH_ROWS)
        at = 0;
      loss_bce_ctx ctx = {.norm = {LOSS_MEAN_ALL}};
      for (int h = 0; h < spec->heads; h++) {
        ctx.label[h] = d->y + at;
        ctx.weight[h] = d->w + at;
      }
      double loss;
      rc = learner_train(l, d->x + at * (size_t)d->width, batch, loss_bce,
                         &ctx, &loss);
      at += batch;
      done += batch;
    }
    if (rc)
      break;
    t = bench_now();
  }
  if (!rc)
    printf("optimizer=%s heads=%d batch=%zu samples=%zu seconds=%.3f "
           "samples_per_s=%.0f\n",
           spec->optimizer == LEARNER_ADAM ? "adam" : "adagrad",
           spec->heads, batch, done, t - t0, (double)done / (t - t0));
  fflush(stdout);
  learner_destroy(l);
  return rc;
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  if (!(seconds > 0)) {
    fprintf(stderr, "usage: bench_lr [SECONDS]\n");
    return 2;
  }
  df_config cfg;
  feat_spec fs;
  int rc = bench_features(&fs, &cfg);
  if (rc) {
    log_error("%s", df_errmsg());
    return df_exit_status(rc);
  }

  /* The row pool, labels about 23% positive, weights in [0.5, 2). */
  int width = feat_width(&fs);
  uint32_t *x = malloc((size_t)BENCH_ROWS * (size_t)width * sizeof *x);
  float *y = malloc(BENCH_ROWS * sizeof *y);
  float *w = malloc(BENCH_ROWS * sizeof *w);
  if (!x || !y || !w) {
    rc = DF_ENOMEM;
    log_error("out of memory");
    goto cleanup;
  }
  uint64_t s = 1;
  bench_rows(&fs, x, &s);
  for (size_t i = 0; i < BENCH_ROWS; i++) {
    y[i] = (float)(bench_rng(&s) % 1000 < 227);
    w[i] = (float)(0.5 + 1.5 * (double)(bench_rng(&s) >> 11) * 0x1p-53);
  }
  printf("columns=%d active=%d rows=%d\n", fs.n_columns, width,
         BENCH_ROWS);

  static const enum learner_optimizer opts[] = {LEARNER_ADAM,
                                                LEARNER_ADAGRAD};
  static const size_t batches[] = {1024, 256, 1};
  static const int heads[] = {1, 2};
  bench_data d = {x, y, w, width};
  for (int o = 0; o < 2 && !rc; o++)
    for (int hi = 0; hi < 2 && !rc; hi++)
      for (int b = 0; b < 3 && !rc; b++) {
        learner_spec spec;
        rc = learner_spec_from_config(&spec, &cfg, &fs, heads[hi]);
        spec.optimizer = opts[o];
        if (!rc)
          rc = bench_one(&spec, &d, batches[b], seconds);
      }
  if (rc)
    log_error("%s", df_errmsg());

cleanup:
  free(x);
  free(y);
  free(w);
  return df_exit_status(rc);
}
