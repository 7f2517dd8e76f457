/* bench_metrics.c: time metric_compute on 16 M predictions with many
 * ties (probabilities quantised to 1e-4, 20% positives), the size of the
 * default world's test stream, and print key=value lines.
 *
 * The same on distinct scores, and each both through metric_compute
 * (buffers allocated per call) and a metric_stream (buffers kept).
 *
 * Then the per-group cost of `dfbench score FILE` with a group column:
 * double predictions (as score reads them) through one metric_stream,
 * one update per group, for 1 M rows in 100 k groups of 10 (where the
 * fixed cost of a group dominates) and 16 M rows in 720 groups (a
 * 30-day stream scored per hour).  Keys groups_ROWS_GROUPS_seconds and
 * groups_ROWS_GROUPS_us_per_group.  With N given, only the first part
 * runs, at that size.
 *
 * usage: bench_metrics [N] [REPEATS]   (defaults 16777216 and 5) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/metrics.h"
#include "sim/log.h"

static double now_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* xorshift64*: a fixed, fast stream, so every run sees the same data. */
static double uniform(uint64_t *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return (double)((*s * 2685821657736338717u) >> 11) * 0x1p-53;
}

/* Scores that carry signal: positives skewed upwards, and rounded to
 * 1e-4 when quantise is set, so that most scores are tied with many
 * others (10001 distinct values), or left as floats (about n distinct). */
static void bench_fill(float *pred, unsigned char *label, size_t n,
                       int quantise)
{
  uint64_t s = 88172645463325252u;
  for (size_t i = 0; i < n; i++) {
    label[i] = uniform(&s) < 0.2;
    double u = uniform(&s);
    double p = label[i] ? 1.0 - (1.0 - u) * (1.0 - u) : u * u;
    pred[i] = quantise ? (float)((double)(long)(p * 1e4 + 0.5) * 1e-4)
                       : (float)p;
  }
}

/* Best of `repeats` timings of one configuration, the least disturbed
 * by other processes.  stream set: through a metric_stream, whose
 * buffers stay allocated between calls (as in the replay, hour after
 * hour); else metric_compute, which allocates and faults in its
 * buffers on every call. */
static int bench_time(const float *pred, const unsigned char *label,
                      size_t n, int repeats, metric_stream *stream,
                      double *best, metric_result *r)
{
  *best = 1e300;
  for (int k = 0; k < repeats; k++) {
    double t0 = now_seconds();
    int rc = stream ? metric_stream_update(stream, pred, label, n,
                                           METRIC_PROB)
                    : metric_compute(pred, label, n, METRIC_PROB, r);
    if (rc)
      return rc;
    double t = now_seconds() - t0;
    *best = t < *best ? t : *best;
  }
  if (stream) {
    metric_stream_summary sum;
    int rc = metric_stream_finish(stream, &sum);
    *r = sum.mean;
    return rc;
  }
  return 0;
}

/* Best of `repeats` passes over `groups` equal runs of the n double
 * predictions, each run one stream update, as score_groups does. */
static int bench_groups(const double *pred, const unsigned char *label,
                        size_t n, size_t groups, int repeats, double *best)
{
  *best = 1e300;
  for (int k = 0; k < repeats; k++) {
    metric_stream *s = metric_stream_create();
    if (!s)
      return DF_ENOMEM;
    double t0 = now_seconds();
    for (size_t g = 0; g < groups; g++) {
      size_t b = n / groups * g, e = g + 1 < groups ? b + n / groups : n;
      int rc = metric_stream_update_d(s, pred + b, label + b, e - b,
                                      METRIC_PROB);
      if (rc) {
        metric_stream_destroy(s);
        return rc;
      }
    }
    double t = now_seconds() - t0;
    *best = t < *best ? t : *best;
    metric_stream_destroy(s);
  }
  return 0;
}

/* The two grouped layouts of the file comment, on tied scores. */
static int bench_grouped(int repeats)
{
  static const size_t layout[][2] = {{1000000, 100000}, {16777216, 720}};
  size_t cap = layout[1][0];
  float *pf = malloc(cap * sizeof *pf);
  double *pd = malloc(cap * sizeof *pd);
  unsigned char *label = malloc(cap);
  int rc = DF_ENOMEM;
  if (!pf || !pd || !label)
    goto cleanup;
  for (size_t c = 0; c < 2; c++) {
    size_t n = layout[c][0], groups = layout[c][1];
    double best;
    bench_fill(pf, label, n, 1);
    for (size_t i = 0; i < n; i++)
      pd[i] = pf[i];
    rc = bench_groups(pd, label, n, groups, repeats, &best);
    if (rc)
      goto cleanup;
    printf("groups_%zu_%zu_seconds=%.4f\n", n, groups, best);
    printf("groups_%zu_%zu_us_per_group=%.3f\n", n, groups,
           best / (double)groups * 1e6);
  }
  rc = 0;
cleanup:
  free(pf);
  free(pd);
  free(label);
  return rc;
}

int main(int argc, char **argv)
{
  size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1u << 24;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  int status = 1;
  float *pred = malloc(n * sizeof *pred);
  unsigned char *label = malloc(n);
  metric_stream *stream = metric_stream_create();
  if (!pred || !label || !stream || repeats < 1 || n == 0) {
    fprintf(stderr, "bench_metrics: bad arguments or out of memory\n");
    goto cleanup;
  }
  printf("n=%zu\nrepeats=%d\n", n, repeats);

  /* Ties (the brief's case) then distinct scores; one-shot then warm. */
  for (int quantise = 1; quantise >= 0; quantise--) {
    bench_fill(pred, label, n, quantise);
    const char *data = quantise ? "ties" : "distinct";
    for (int warm = 0; warm <= 1; warm++) {
      double best;
      metric_result r;
      if (bench_time(pred, label, n, repeats, warm ? stream : NULL, &best,
                     &r)) {
        fprintf(stderr, "bench_metrics: %s\n", df_errmsg());
        goto cleanup;
      }
      const char *mode = warm ? "stream" : "compute";
      printf("%s_%s_seconds=%.4f\n%s_%s_predictions_per_second=%.4g\n",
             data, mode, best, data, mode, (double)n / best);
      if (warm)
        printf("%s_auc=%.6f\n%s_pr_auc=%.6f\n%s_ap=%.6f\n%s_nll=%.6f\n",
               data, r.auc, data, r.pr_auc, data, r.ap, data, r.nll);
    }
  }
  if (argc <= 1 && bench_grouped(repeats)) {
    fprintf(stderr, "bench_metrics: %s\n", df_errmsg());
    goto cleanup;
  }
  status = 0;

cleanup:
  metric_stream_destroy(stream);
  free(pred);
  free(label);
  return status;
}
