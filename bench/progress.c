/* progress.c: a live bar on terminals, key=value lines elsewhere. */
#include "bench/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/log.h"

struct progress {
  char label[64];
  int tty, quiet;
  double start, last_draw, last_share;
  int last_tenth;
  long long first_count, last_count; /* progress_count; -1 before */
  int lines;                         /* progress_lines drawn */
};

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

progress *progress_create(const char *label)
{
  progress *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  snprintf(p->label, sizeof p->label, "%s", label);
  p->tty = isatty(STDERR_FILENO);
  p->quiet = log_get_level() < LOG_INFO;
  p->start = p->last_draw = now();
  p->last_share = -1;
  p->first_count = p->last_count = -1;
  return p;
}

/* The bar of share done in [0, 1]: width '#' and '.' characters and a
 * NUL in bar[width] (bar holds width + 1 bytes). */
static void fill_bar(char *bar, int width, double done)
{
  int fill = (int)(done * width);
  fill = fill < 0 ? 0 : fill > width ? width : fill;
  memset(bar, '#', (size_t)fill);
  memset(bar + fill, '.', (size_t)(width - fill));
  bar[width] = '\0';
}

static void draw_bar(const progress *p, double done, double elapsed)
{
  char bar[31];
  fill_bar(bar, 30, done);
  double eta = done > 0.01 ? elapsed * (1 - done) / done : 0;
  fprintf(stderr, "\r%-12s [%s] %3.0f%%  %5.0fs elapsed  eta %5.0fs ",
          p->label, bar, 100 * done, elapsed, eta);
  fflush(stderr);
}

void progress_update(progress *p, double done)
{
  if (!p || p->quiet || done - p->last_share < 1e-3)
    return;
  p->last_share = done;
  double t = now(), elapsed = t - p->start;
  if (p->tty) {
    if (t - p->last_draw >= 0.1 || done >= 1) {
      p->last_draw = t;
      draw_bar(p, done, elapsed);
    }
    return;
  }
  int tenth = (int)(done * 10);
  if (tenth > p->last_tenth) {
    p->last_tenth = tenth;
    fprintf(stderr, "dfbench: progress: task=%s done=%.2f elapsed_s=%.1f\n",
            p->label, done, elapsed);
  }
}

void progress_finish(progress *p)
{
  if (!p)
    return;
  if (p->tty && !p->quiet && p->lines > 0)
    fprintf(stderr, "\033[%dA\r\033[J", p->lines); /* up, clear below */
  else if (p->tty && !p->quiet && p->last_share >= 0)
    fprintf(stderr, "\r%*s\r", 78, "");
  fflush(stderr);
  free(p);
}

void progress_lines(progress *p, const char *const *names, const double *done,
                    int n)
{
  if (!p || p->quiet || n <= 0)
    return;
  double mean = 0;
  for (int i = 0; i < n; i++)
    mean += done[i] / n;
  if (!p->tty) {
    progress_update(p, mean);
    return;
  }
  double t = now();
  if (p->lines > 0 && t - p->last_draw < 0.1 && mean < 1)
    return;
  p->last_draw = t;
  p->last_share = mean;

  /* Back to the first line, then one line a task: its bar, its share,
   * and the elapsed time on the last line. */
  if (p->lines > 0)
    fprintf(stderr, "\033[%dA", p->lines);
  for (int i = 0; i < n; i++) {
    char bar[31];
    fill_bar(bar, 30, done[i]);
    fprintf(stderr, "\r%-10s %-10s [%s] %3.0f%%\033[K\n",
            i == 0 ? p->label : "", names[i], bar, 100 * done[i]);
  }
  double elapsed = t - p->start;
  double eta = mean > 0.01 ? elapsed * (1 - mean) / mean : 0;
  fprintf(stderr, "\r%-10s %5.0fs elapsed  eta %5.0fs\033[K\n", "", elapsed,
          eta);
  p->lines = n + 1;
  fflush(stderr);
}

/* Seconds as a person reads them: 42s, 7m05s, 3h25m. */
static void human_time(double s, char *buf, size_t len)
{
  long t = (long)(s + 0.5);
  if (t < 100)
    snprintf(buf, len, "%lds", t);
  else if (t < 6000)
    snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
  else
    snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
}

void progress_count(progress *p, size_t done, size_t total)
{
  if (!p || p->quiet)
    return;
  double t = now();
  if (p->first_count < 0) {
    p->first_count = p->last_count = (long long)done;
    p->start = t;
  }
  long long ran = (long long)done - p->first_count;
  size_t left = total > done ? total - done : 0;
  double elapsed = t - p->start;
  double eta = ran > 0 ? elapsed / (double)ran * (double)left : -1;
  int changed = (long long)done != p->last_count;
  p->last_count = (long long)done;

  /* A terminal: the bar, redrawn on news or once a second. */
  if (p->tty) {
    if (!changed && t - p->last_draw < 1)
      return;
    p->last_draw = t;
    p->last_share = 0;
    char bar[17], el[32], et[32] = "?";
    fill_bar(bar, 16, total ? (double)done / (double)total : 1);
    human_time(elapsed, el, sizeof el);
    if (eta >= 0)
      human_time(eta, et, sizeof et);
    fprintf(stderr,
            "\r%s [%s] %zu/%zu cells  %zu left  elapsed %-6s eta %-6s",
            p->label, bar, done, total, left, el, et);
    fflush(stderr);
    return;
  }

  /* Elsewhere: one key=value line per unit done. */
  if (!changed)
    return;
  fprintf(stderr,
          "dfbench: progress: task=%s done=%zu left=%zu total=%zu "
          "elapsed_s=%.1f",
          p->label, done, left, total, elapsed);
  if (eta >= 0)
    fprintf(stderr, " eta_s=%.0f", eta);
  fputc('\n', stderr);
}

void progress_callback(void *ctx, double done)
{
  progress_update(ctx, done);
}
