/* bench_mlp.c: training throughput of the MLP learner on one core.
 *
 * The paper's network (8 integer fields, 1488 bins; 9 categorical
 * fields, 2000 buckets, 8-wide embeddings; 256-256-128; one head; Adam)
 * on random encoded rows with random labels, at batch 1024 and 76.
 * Prints key=value lines:
 *   samples_per_s_b<B>  training samples per second at batch B
 *   gemm_gflops_b<B>    GEMM work done per second, counting 2 m n k for
 *                       each sgemm of the forward and backward passes:
 *                       6 B (72*256 + 256*256 + 256*128) per step
 *   sgemm_gflops_1024   OpenBLAS's own square 1024^3 sgemm, same run
 *   params              trainable parameters
 *   update_us           one dense Adam pass over all of them
 *   update_embedding_us its share spent on the embedding table (what
 *                       a lazy embedding update could save at most)
 *   blas_core           the kernel family OpenBLAS picked; 0.3.21 does
 *                       not know recent Xeons and falls back to SSE3
 *                       "Prescott" kernels (about 4x slower), which
 *                       OPENBLAS_CORETYPE=SkylakeX (or Haswell) fixes
 * Usage: bench_mlp [seconds per batch size, default 3] [one batch size
 * instead of both]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "models/blas.h"
#include "models/mlp_internal.h"
#include "sim/log.h"

static const int bench_bins[] = {64, 16, 128, 64, 128, 64, 512, 512};
static const int bench_buckets[] = {512, 128, 256, 256, 64,
                                    256, 256, 16,  256};

static double bench_now(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static learner_spec bench_spec(void)
{
  learner_spec s = {0};
  int col = 0;

  s.features.n_int = 8;
  s.features.n_cat = 9;
  for (int j = 0; j < 8; j++) {
    s.features.int_bins[j] = bench_bins[j];
    s.features.int_off[j] = col;
    col += bench_bins[j];
  }
  for (int k = 0; k < 9; k++) {
    s.features.cat_buckets[k] = bench_buckets[k];
    s.features.cat_off[k] = col;
    col += bench_buckets[k];
  }
  s.features.n_columns = col;
  s.heads = 1;
  s.optimizer = LEARNER_ADAM;
  s.learning_rate = 1e-3;
  s.l2 = 1e-6;
  s.embedding = 8;
  s.n_hidden = 3;
  s.hidden[0] = s.hidden[1] = 256;
  s.hidden[2] = 128;
  s.leaky_slope = 0.2;
  s.bn_momentum = 0.99;
  s.seed = 1;
  return s;
}

/* Mean BCE over the batch, labels in ctx. */
static double bench_loss(void *ctx, size_t n, int heads, const float *z,
                         float *grad)
{
  const float *y = ctx;
  double sum = 0.0;

  for (size_t i = 0; i < n; i++) {
    double p = 1.0 / (1.0 + exp(-(double)z[i]));
    sum -= y[i] ? log(p + 1e-12) : log(1.0 - p + 1e-12);
    grad[i] = (float)((p - y[i]) / (double)n);
  }
  return sum / (double)n;
}

/* Train on rows cycling through the pool for `seconds` after a
 * warm-up of a third of that; samples per second. */
static double bench_train(learner *l, const uint32_t *x, const float *y,
                          size_t pool, size_t batch, double seconds)
{
  size_t r = 0, done = 0;
  double loss = 0.0, t0 = bench_now(), t = t0;

  while (bench_now() - t0 < seconds / 3) {
    learner_train(l, x + r * 17, batch, bench_loss, (void *)(y + r), &loss);
    r = r + 2 * batch > pool ? 0 : r + batch;
  }
  t0 = bench_now();
  do {
    if (learner_train(l, x + r * 17, batch, bench_loss, (void *)(y + r),
                      &loss))
      return -1.0;
    r = r + 2 * batch > pool ? 0 : r + batch;
    done += batch;
    t = bench_now();
  } while (t - t0 < seconds);
  return (double)done / (t - t0);
}

/* Microseconds per optimiser pass, and the embedding table's share
 * (its fraction of the parameter vector: the pass is uniform). */
static void bench_update(learner *l, double seconds)
{
  size_t len = 0;
  int reps = 0;
  double t0 = bench_now(), t;

  mlp_block(l, MLP_EMBED, 0, &len, NULL);
  do {
    mlp_optimizer_step(l);
    reps++;
    t = bench_now();
  } while (t - t0 < seconds);
  double us = (t - t0) / reps * 1e6;
  printf("update_us=%.1f\n", us);
  printf("update_embedding_us=%.1f\n",
         us * (double)len / (double)mlp_param_len(l));
}

/* OpenBLAS single-thread sgemm on square n x n matrices, GFLOP/s. */
static double bench_sgemm(int n, double seconds)
{
  float *a = malloc(sizeof(float) * n * n),
        *b = malloc(sizeof(float) * n * n);
  float *c = malloc(sizeof(float) * n * n);
  int reps = 0;
  double t0, t;

  if (!a || !b || !c)
    return -1.0;
  for (int i = 0; i < n * n; i++) {
    a[i] = (float)(i % 7) * 0.1f;
    b[i] = (float)(i % 5) * 0.1f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n,
              b, n, 0.0f, c, n);
  t0 = bench_now();
  do {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a,
                n, b, n, 0.0f, c, n);
    reps++;
    t = bench_now();
  } while (t - t0 < seconds);
  free(a);
  free(b);
  free(c);
  return 2.0 * n * n * (double)n * reps / (t - t0) * 1e-9;
}

int main(int argc, char **argv)
{
  blas_setup(argv); /* the kernels dfbench itself would use */
  size_t batches[] = {1024, 76};
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  size_t only = argc > 2 ? (size_t)atol(argv[2]) : 0;
  size_t n_batches = only ? 1 : 2;
  learner_spec s = bench_spec();
  size_t pool = 65536;
  const double gemm_per_row = 6.0 * (72 * 256 + 256 * 256 + 256 * 128);
  uint32_t *x = malloc(pool * 17 * sizeof *x);
  float *y = malloc(pool * sizeof *y);
  uint64_t st = 99;

  if (!x || !y || !(seconds > 0))
    return 2;
  openblas_set_num_threads(1);
  printf("blas_core=%s\n", openblas_get_corename());
  if (!strcmp(openblas_get_corename(), "Prescott") &&
      __builtin_cpu_supports("avx2"))
    fprintf(stderr,
            "bench_mlp: hint: OpenBLAS chose SSE3 kernels on an "
            "AVX2 CPU; try OPENBLAS_CORETYPE=%s\n",
            __builtin_cpu_supports("avx512f") ? "SkylakeX" : "Haswell");
  for (size_t i = 0; i < pool; i++) {
    for (int j = 0; j < 17; j++) {
      int width = j < 8 ? bench_bins[j] : bench_buckets[j - 8];
      int off = j < 8 ? s.features.int_off[j] : s.features.cat_off[j - 8];
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      x[i * 17 + j] = (uint32_t)(off + (int)((st >> 33) % width));
    }
    y[i] = (float)((st >> 20) % 8 == 0);
  }
  if (only)
    batches[0] = only;
  for (size_t b = 0; b < n_batches; b++) {
    learner *l = NULL;
    if (learner_mlp.create(&s, &l)) {
      fprintf(stderr, "bench_mlp: %s\n", df_errmsg());
      return 1;
    }
    double sps = bench_train(l, x, y, pool, batches[b], seconds);
    if (b == 0) {
      printf("params=%zu\n", mlp_param_count(l));
      bench_update(l, seconds / 3);
    }
    printf("samples_per_s_b%zu=%.0f\n", batches[b], sps);
    printf("gemm_gflops_b%zu=%.1f\n", batches[b], sps * gemm_per_row * 1e-9);
    learner_mlp.destroy(l);
  }
  printf("sgemm_gflops_1024=%.1f\n", bench_sgemm(1024, seconds / 3));
  free(x);
  free(y);
  return 0;
}
