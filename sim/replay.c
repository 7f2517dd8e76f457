/* replay.c: the stream's intervals, clicks in time order, and events
 * sorted and sliced by interval (see replay.h). */
#include "sim/replay.h"

#include <stdlib.h>
#include <string.h>

#include "sim/config.h"
#include "sim/log.h"

/* Stable LSD radix sort of 32-bit keys carrying 32-bit values, 11 bits
 * a pass; ties keep their input order. */
static int radix_u32(uint32_t *key, uint32_t *val, size_t n)
{
  uint32_t *k2 = malloc(n * sizeof *k2), *v2 = malloc(n * sizeof *v2);
  if (n && (!k2 || !v2)) {
    free(k2);
    free(v2);
    return df_fail(DF_ENOMEM, "out of memory sorting %zu items", n);
  }
  for (int shift = 0; shift < 32; shift += 11) {
    size_t count[2049] = {0};
    for (size_t i = 0; i < n; i++)
      count[((key[i] >> shift) & 2047) + 1]++;
    for (int b = 0; b < 2048; b++)
      count[b + 1] += count[b];
    for (size_t i = 0; i < n; i++) {
      size_t at = count[(key[i] >> shift) & 2047]++;
      k2[at] = key[i];
      v2[at] = val[i];
    }
    memcpy(key, k2, n * sizeof *key);
    memcpy(val, v2, n * sizeof *val);
  }
  free(k2);
  free(v2);
  return 0;
}

int replay_clock_create(replay_clock *c, const df_clicks *log,
                        double pretrain, double interval)
{
  memset(c, 0, sizeof *c);
  if (log->n > UINT32_MAX)
    return df_fail(DF_EINPUT, "logs of more than %u clicks are not "
                              "supported", UINT32_MAX);
  c->start = (int64_t)pretrain;
  c->interval = (int64_t)interval;
  if (c->interval < 1)
    return df_fail(DF_EINPUT, "stream.interval must be at least 1s");

  /* The stream covers every click after pre-training. */
  int64_t last = -1;
  for (size_t i = 0; i < log->n; i++)
    if (log->click_ts[i] > last)
      last = log->click_ts[i];
  if (last < c->start) {
    char pre[32];
    cfg_format_duration(pretrain, pre, sizeof pre);
    return df_fail(DF_EINPUT,
                   "no click after the pre-training period: "
                   "stream.pretrain is %s and the last click is at %.1fd "
                   "(%llds); set stream.pretrain shorter than the log "
                   "(with the config that generated it, if it did)",
                   pre, (double)last / 86400, (long long)last);
  }
  c->n_intervals = (size_t)((last - c->start) / c->interval + 1);
  c->end = c->start + (int64_t)c->n_intervals * c->interval;

  /* Rows in click-time order.  Times fit 32 bits after clamping those
   * before the stream to 0 (their order among themselves is kept by
   * row, which is all pre-training needs). */
  uint32_t *key = malloc((log->n ? log->n : 1) * sizeof *key);
  c->order = malloc((log->n ? log->n : 1) * sizeof *c->order);
  c->click_off = calloc(c->n_intervals + 1, sizeof *c->click_off);
  if (!key || !c->order || !c->click_off) {
    free(key);
    replay_clock_destroy(c);
    return df_fail(DF_ENOMEM, "out of memory for the replay clock");
  }
  for (size_t i = 0; i < log->n; i++) {
    int64_t t = log->click_ts[i] - c->start + 1;
    key[i] = t < 0 ? 0 : (uint32_t)(t > UINT32_MAX ? UINT32_MAX : t);
    c->order[i] = (uint32_t)i;
  }
  int rc = radix_u32(key, c->order, log->n);
  free(key);
  if (rc) {
    replay_clock_destroy(c);
    return rc;
  }

  /* Interval offsets by one pass over the ordered rows. */
  size_t t = 0;
  for (size_t i = 0; i <= log->n; i++) {
    int64_t ts = i < log->n ? log->click_ts[c->order[i]] : INT64_MAX;
    while (t <= c->n_intervals && ts >= replay_interval_begin(c, t))
      c->click_off[t++] = i;
  }
  return 0;
}

void replay_clock_destroy(replay_clock *c)
{
  free(c->order);
  free(c->click_off);
  memset(c, 0, sizeof *c);
}

int replay_sort(replay_event *ev, size_t n)
{
  if (n < 2)
    return 0;
  /* Sort an index by time, then permute: events are 16 bytes, and times
   * are offset so they fit 32 bits with everything before 0 at 0. */
  int64_t lo = ev[0].time;
  for (size_t i = 1; i < n; i++)
    if (ev[i].time < lo)
      lo = ev[i].time;
  uint32_t *key = malloc(n * sizeof *key), *idx = malloc(n * sizeof *idx);
  replay_event *out = malloc(n * sizeof *out);
  int rc = 0;
  if (!key || !idx || !out) {
    rc = df_fail(DF_ENOMEM, "out of memory sorting %zu events", n);
    goto cleanup;
  }
  if (n > UINT32_MAX) {
    rc = df_fail(DF_EINPUT, "too many events (%zu)", n);
    goto cleanup;
  }
  for (size_t i = 0; i < n; i++) {
    int64_t d = ev[i].time - lo;
    if (d > UINT32_MAX) {
      rc = df_fail(DF_EINPUT, "event times span more than 136 years");
      goto cleanup;
    }
    key[i] = (uint32_t)d;
    idx[i] = (uint32_t)i;
  }
  rc = radix_u32(key, idx, n);
  if (rc)
    goto cleanup;
  for (size_t i = 0; i < n; i++)
    out[i] = ev[idx[i]];
  memcpy(ev, out, n * sizeof *ev);

cleanup:
  free(key);
  free(idx);
  free(out);
  return rc;
}

void replay_slice(const replay_clock *c, const replay_event *ev, size_t n,
                  size_t *off)
{
  size_t i = 0;
  while (i < n && ev[i].time < c->start)
    i++;
  for (size_t t = 0; t <= c->n_intervals; t++) {
    int64_t begin = replay_interval_begin(c, t);
    while (i < n && ev[i].time < begin)
      i++;
    off[t] = i;
  }
}
