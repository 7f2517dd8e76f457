/* replay.h: the replay clock, the only place that knows what time it is.
 *
 * The stream starts at the end of pre-training (stream.pretrain) and is
 * cut into intervals of stream.interval seconds: interval t covers
 * [start + t * interval, start + (t + 1) * interval).  Step t trains on
 * the events whose label-availability time falls in interval t, in time
 * order, and then tests on the clicks of interval t + 1 against their
 * true attributed labels: steps 0 .. n_intervals - 2.  (With the
 * reference protocol, 30 days of hours, that is 719 steps.)
 *
 * A training event is one sample entering training: a click, the time
 * its (observed) label became available, and that label.  Events are
 * built by the training methods (models/); the clock only orders and
 * slices them.  Ties in time keep the order in which the method built
 * the events (a stable sort), so the stream is deterministic.
 *
 * A method never sees a label before it is known: an event of interval t
 * may only use conversions with conv_ts < the end of interval t, and
 * replay_known() is the one test for that. */
#ifndef DFB_REPLAY_H
#define DFB_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "sim/clicks.h"

/* What kind of sample an event is; methods give weights by kind. */
enum replay_kind {
  REPLAY_FIRST = 0,   /* a click's first appearance, label as observed */
  REPLAY_DELAYED_POS, /* a positive duplicate when a late conversion
                         arrives */
  REPLAY_SECOND,      /* a second appearance with the label known after
                         a longer window (DEFER) */
};

typedef struct replay_event {
  int64_t time;  /* label-availability time: when it enters training */
  uint32_t row;  /* the click's row in the log */
  uint8_t label; /* the observed label, 0 or 1 */
  uint8_t kind;  /* enum replay_kind */
  uint16_t unused;
} replay_event;

typedef struct replay_clock {
  int64_t start;    /* end of pre-training: the stream's first second */
  int64_t interval; /* seconds */
  int64_t end;      /* first second after the stream */
  size_t n_intervals;
  /* Rows of the log in click-time order (ties by row) and, for each
   * interval t, its clicks order[click_off[t] .. click_off[t + 1]).
   * Clicks before start are order[0 .. click_off[0]). */
  uint32_t *order;
  size_t *click_off; /* [n_intervals + 1] */
} replay_clock;

/* Set up the clock for log, pre-training seconds and interval seconds.
 * The stream ends at the first interval boundary after the last click.
 * DF_EINPUT when the log has no click after the pre-training period or
 * more than 2^32 - 1 rows. */
int replay_clock_create(replay_clock *c, const df_clicks *log,
                        double pretrain, double interval);
void replay_clock_destroy(replay_clock *c);

/* Number of train-then-test steps: n_intervals - 1 (0 if none). */
static inline size_t replay_steps(const replay_clock *c)
{
  return c->n_intervals ? c->n_intervals - 1 : 0;
}

/* First second of interval t. */
static inline int64_t replay_interval_begin(const replay_clock *c,
                                            size_t t)
{
  return c->start + (int64_t)t * c->interval;
}

/* Is a conversion at conv_ts known at time `now` (conversions arrive at
 * their timestamp, so known means conv_ts <= now)?  -1 is never known. */
static inline int replay_known(int64_t conv_ts, int64_t now)
{
  return conv_ts != CLICKS_NO_CONVERSION && conv_ts <= now;
}

/* Sort events by time, stably (radix sort): equal times keep their
 * order.  Returns 0 or DF_ENOMEM. */
int replay_sort(replay_event *ev, size_t n);

/* For events sorted by time, off[t] .. off[t + 1] are the events of
 * interval t (events before start or at or after end fall outside every
 * interval).  off has n_intervals + 1 entries. */
void replay_slice(const replay_clock *c, const replay_event *ev, size_t n,
                  size_t *off);

#endif
