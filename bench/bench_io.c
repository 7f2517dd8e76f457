/* bench_io.c: throughput of the click-log writer and reader.
 *
 *   bench_io [ROWS [DIR]]      (default 16000000 rows, DIR $TMPDIR or /tmp)
 *
 * Builds a random log of ROWS clicks with Criteo-like fields (60 days
 * of click times, 22.7 % converted, 8 small integers and 9 hashed
 * categories, about a fifth of the features missing), writes it to a
 * temporary file, frees it and reads the file back in a child process,
 * so that each phase's peak RSS is its own.  A checksum over every
 * field checks that the read gives back what was written.  Results are
 * key=value lines on stdout; MB is 10^6 bytes.  The read comes from the
 * page cache just filled by the write, so it measures parsing, not the
 * disk. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/clicklog.h"
#include "sim/log.h"

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* splitmix64: fast, and good enough for field values. */
static uint64_t rng_next(uint64_t *s)
{
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t rng_below(uint64_t *s, uint64_t n)
{
  return rng_next(s) % n;
}

/* A Criteo-like random log: sorted click times over 60 days, delays
 * spread over minutes to weeks, integers of 1 to 4 digits, categories
 * drawn from a few thousand values per feature. */
static int build_log(size_t n, df_clicks **out)
{
  int rc = clicks_create(out, 8, 9, n, 0);
  if (rc)
    return rc;
  df_clicks *log = *out;
  uint64_t s = 42;
  for (size_t i = 0; i < n; i++) {
    int64_t c = (int64_t)((double)i / (double)n * 5184000.0);
    log->click_ts[i] = c;
    log->conv_ts[i] = rng_below(&s, 1000) < 227
                          ? c + (int64_t)(rng_below(&s, 1u << 21) >>
                                          rng_below(&s, 12))
                          : CLICKS_NO_CONVERSION;
    for (int j = 0; j < 8; j++)
      log->ints[i * 8 + j] =
          rng_below(&s, 5) ? (int64_t)rng_below(&s, 1u << (2 + j)) - 1
                           : CLICKS_MISSING_INT;
    for (int j = 0; j < 9; j++) {
      char v[8];
      uint64_t k = rng_below(&s, 5000);
      memcpy(v, &k, sizeof v);
      log->cats[i * 9 + j] = rng_below(&s, 6) ? clicks_hash_cat(v, 8)
                                              : CLICKS_MISSING_CAT;
    }
  }
  log->n = n;
  return 0;
}

/* FNV-style mix of every field, to compare the read with the write. */
static uint64_t log_checksum(const df_clicks *log)
{
  uint64_t h = UINT64_C(14695981039346656037);
  for (size_t i = 0; i < log->n; i++) {
    h = (h ^ (uint64_t)log->click_ts[i]) * UINT64_C(1099511628211);
    h = (h ^ (uint64_t)log->conv_ts[i]) * UINT64_C(1099511628211);
  }
  for (size_t i = 0; i < log->n * 8; i++)
    h = (h ^ (uint64_t)log->ints[i]) * UINT64_C(1099511628211);
  for (size_t i = 0; i < log->n * 9; i++)
    h = (h ^ log->cats[i]) * UINT64_C(1099511628211);
  return h;
}

static double peak_rss_mb(int who)
{
  struct rusage u;
  getrusage(who, &u);
  return (double)u.ru_maxrss * 1024 / 1e6; /* ru_maxrss is in KiB */
}

/* The read phase, in the child: prints its figures, exits 0 if the
 * checksum matches. */
static int read_phase(const char *path, size_t n, double bytes,
                      uint64_t want)
{
  df_clicks *log = NULL;
  double t0 = now_s();
  int rc = clicklog_read(path, 8, 9, 0, &log);
  double t = now_s() - t0;
  if (rc) {
    fprintf(stderr, "bench_io: read: %s\n", df_errmsg());
    return 1;
  }
  int ok = log->n == n && log_checksum(log) == want;
  printf("read_s=%.3f\nread_mb_s=%.1f\nread_lines_s=%.0f\n"
         "read_ok=%d\n",
         t, bytes / t / 1e6, (double)n / t, ok);
  fflush(stdout);
  clicks_destroy(log);
  return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
  size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 16000000;
  const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/bench_io_%ld.tsv", dir ? dir : "/tmp",
           (long)getpid());

  /* Build and write. */
  df_clicks *log = NULL;
  double t0 = now_s();
  int rc = build_log(n, &log);
  double t_build = now_s() - t0;
  if (rc) {
    fprintf(stderr, "bench_io: %s\n", df_errmsg());
    return 1;
  }
  uint64_t sum = log_checksum(log);
  t0 = now_s();
  rc = clicklog_write(log, path, 1);
  double t_write = now_s() - t0;
  clicks_destroy(log);
  if (rc) {
    fprintf(stderr, "bench_io: write: %s\n", df_errmsg());
    return 1;
  }
  struct stat sb;
  double bytes = stat(path, &sb) ? 0 : (double)sb.st_size;
  printf("rows=%zu\nbytes=%.0f\nbuild_s=%.3f\nwrite_s=%.3f\n"
         "write_mb_s=%.1f\npeak_rss_write_mb=%.0f\n",
         n, bytes, t_build, t_write, bytes / t_write / 1e6,
         peak_rss_mb(RUSAGE_SELF));
  fflush(stdout);

  /* Read back in a child, whose peak RSS is the reader's alone. */
  pid_t pid = fork();
  if (pid == 0)
    _exit(read_phase(path, n, bytes, sum));
  int st = 1;
  if (pid < 0 || waitpid(pid, &st, 0) != pid)
    st = 1;
  printf("peak_rss_read_mb=%.0f\n", peak_rss_mb(RUSAGE_CHILDREN));
  unlink(path);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
