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
  return p;
}

static void draw_bar(const progress *p, double done, double elapsed)
{
  char bar[31];
  int fill = (int)(done * 30);
  memset(bar, '#', (size_t)fill);
  memset(bar + fill, '.', (size_t)(30 - fill));
  bar[30] = '\0';
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
  if (p->tty && !p->quiet && p->last_share >= 0)
    fprintf(stderr, "\r%*s\r", 78, "");
  free(p);
}

void progress_callback(void *ctx, double done)
{
  progress_update(ctx, done);
}
