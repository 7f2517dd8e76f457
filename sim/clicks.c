/* clicks.c: allocation of in-memory click logs (see clicks.h). */
#include "sim/clicks.h"

#include <stdlib.h>
#include <string.h>

#include "sim/log.h"

int clicks_create(df_clicks **out, int n_int, int n_cat, size_t capacity,
                  int with_truth)
{
  *out = NULL;
  if (n_int < 0 || n_int > CLICKS_MAX_FEATURES || n_cat < 0 ||
      n_cat > CLICKS_MAX_FEATURES)
    return df_fail(DF_EINPUT, "feature counts must be in [0, %d]",
                   CLICKS_MAX_FEATURES);

  df_clicks *log = calloc(1, sizeof *log);
  if (!log)
    return df_fail(DF_ENOMEM, "out of memory");
  log->n_int = n_int;
  log->n_cat = n_cat;
  if (with_truth) {
    /* A non-NULL pointer marks the truth as present; reserve fills it. */
    log->truth_p = malloc(sizeof(double));
    log->truth_delay = malloc(sizeof(int64_t));
    if (!log->truth_p || !log->truth_delay) {
      clicks_destroy(log);
      return df_fail(DF_ENOMEM, "out of memory");
    }
  }
  int rc = clicks_reserve(log, capacity ? capacity : 1024);
  if (rc) {
    clicks_destroy(log);
    return rc;
  }
  *out = log;
  return 0;
}

void clicks_destroy(df_clicks *log)
{
  if (!log)
    return;
  free(log->click_ts);
  free(log->conv_ts);
  free(log->ints);
  free(log->cats);
  free(log->truth_p);
  free(log->truth_delay);
  free(log);
}

/* Grow one array to cap rows of width items of size bytes. */
static int grow(void **p, size_t cap, size_t width, size_t size)
{
  if (width == 0)
    return 0;
  void *q = realloc(*p, cap * width * size);
  if (!q)
    return df_fail(DF_ENOMEM, "out of memory for %zu clicks", cap);
  *p = q;
  return 0;
}

int clicks_reserve(df_clicks *log, size_t n)
{
  if (n <= log->capacity)
    return 0;
  size_t cap = log->capacity ? log->capacity : 1024;
  while (cap < n)
    cap += cap / 2 + 1;

  int rc = grow((void **)&log->click_ts, cap, 1, sizeof(int64_t));
  if (!rc)
    rc = grow((void **)&log->conv_ts, cap, 1, sizeof(int64_t));
  if (!rc)
    rc = grow((void **)&log->ints, cap, (size_t)log->n_int,
              sizeof(int64_t));
  if (!rc)
    rc = grow((void **)&log->cats, cap, (size_t)log->n_cat,
              sizeof(uint64_t));
  if (!rc && log->truth_p)
    rc = grow((void **)&log->truth_p, cap, 1, sizeof(double));
  if (!rc && log->truth_delay)
    rc = grow((void **)&log->truth_delay, cap, 1, sizeof(int64_t));
  if (!rc)
    log->capacity = cap;
  return rc;
}

int clicks_add_truth(df_clicks *log)
{
  size_t cap = log->capacity ? log->capacity : 1;
  free(log->truth_p);
  free(log->truth_delay);
  log->truth_p = calloc(cap, sizeof(double));
  log->truth_delay = calloc(cap, sizeof(int64_t));
  if (!log->truth_p || !log->truth_delay)
    return df_fail(DF_ENOMEM, "out of memory for the truth of %zu clicks",
                   cap);
  return 0;
}

uint64_t clicks_hash_cat(const char *s, size_t len)
{
  uint64_t h = UINT64_C(14695981039346656037);
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= UINT64_C(1099511628211);
  }
  return h ? h : 1;
}

typedef struct time_row {
  int64_t ts;
  size_t row;
} time_row;

static int cmp_time_row(const void *a, const void *b)
{
  const time_row *x = a, *y = b;
  if (x->ts != y->ts)
    return x->ts < y->ts ? -1 : 1;
  return (x->row > y->row) - (x->row < y->row);
}

/* Apply the permutation perm (new row i is old row perm[i]) to one array
 * of width items of size bytes. */
static int permute(void *base, const time_row *perm, size_t n, size_t width,
                   size_t size)
{
  if (!base || !width)
    return 0;
  size_t row = width * size;
  char *tmp = malloc(n * row), *src = base;
  if (!tmp)
    return df_fail(DF_ENOMEM, "out of memory sorting %zu clicks", n);
  for (size_t i = 0; i < n; i++)
    memcpy(tmp + i * row, src + perm[i].row * row, row);
  memcpy(base, tmp, n * row);
  free(tmp);
  return 0;
}

int clicks_sort_by_time(df_clicks *log)
{
  size_t n = log->n, i = 1;
  while (i < n && log->click_ts[i - 1] <= log->click_ts[i])
    i++;
  if (i >= n)
    return 0;

  time_row *perm = malloc(n * sizeof *perm);
  if (!perm)
    return df_fail(DF_ENOMEM, "out of memory sorting %zu clicks", n);
  for (i = 0; i < n; i++)
    perm[i] = (time_row){log->click_ts[i], i};
  qsort(perm, n, sizeof *perm, cmp_time_row);

  int rc = permute(log->click_ts, perm, n, 1, sizeof(int64_t));
  if (!rc)
    rc = permute(log->conv_ts, perm, n, 1, sizeof(int64_t));
  if (!rc)
    rc = permute(log->ints, perm, n, (size_t)log->n_int, sizeof(int64_t));
  if (!rc)
    rc = permute(log->cats, perm, n, (size_t)log->n_cat, sizeof(uint64_t));
  if (!rc)
    rc = permute(log->truth_p, perm, n, 1, sizeof(double));
  if (!rc)
    rc = permute(log->truth_delay, perm, n, 1, sizeof(int64_t));
  free(perm);
  return rc;
}
