/* bench_gen.c: throughput of the synthetic world.
 *
 *   bench_gen [CLICKS]      (default 15898883, the Criteo log's size)
 *
 * Draws the default world (configs' defaults, seed 1) in memory with 1
 * and with 2 threads, checks that both give the same log, and prints
 * key=value lines: seconds, clicks per second, and peak RSS.  Writing
 * the file is measured by bench_io. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "sim/gen.h"
#include "sim/log.h"

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static df_clicks *draw(const df_config *cfg, int threads, double *secs)
{
  gen_world *w;
  df_clicks *log;
  double t0 = now_s();
  if (gen_world_create(cfg, &w) ||
      gen_draw_clicks(w, threads, NULL, NULL, &log)) {
    fprintf(stderr, "bench_gen: %s\n", df_errmsg());
    exit(1);
  }
  *secs = now_s() - t0;
  gen_world_destroy(w);
  return log;
}

int main(int argc, char **argv)
{
  gsl_set_error_handler_off();
  df_config cfg;
  cfg_defaults(&cfg);
  if (argc > 1) {
    char set[64];
    snprintf(set, sizeof set, "generator.clicks=%s", argv[1]);
    if (cfg_set(&cfg, set)) {
      fprintf(stderr, "bench_gen: %s\n", df_errmsg());
      return 2;
    }
  }

  double s1, s2;
  df_clicks *a = draw(&cfg, 1, &s1);
  df_clicks *b = draw(&cfg, 2, &s2);
  int same = a->n == b->n &&
             !memcmp(a->conv_ts, b->conv_ts, a->n * sizeof *a->conv_ts) &&
             !memcmp(a->cats, b->cats,
                     a->n * (size_t)a->n_cat * sizeof *a->cats);

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("clicks=%zu\n", a->n);
  printf("threads1_seconds=%.3f\nthreads1_clicks_per_s=%.0f\n", s1,
         (double)a->n / s1);
  printf("threads2_seconds=%.3f\nthreads2_clicks_per_s=%.0f\n", s2,
         (double)a->n / s2);
  printf("same_log_for_1_and_2_threads=%s\n", same ? "yes" : "NO");
  printf("peak_rss_mb=%.0f\n", (double)ru.ru_maxrss / 1024.0);
  clicks_destroy(a);
  clicks_destroy(b);
  return same ? 0 : 1;
}
