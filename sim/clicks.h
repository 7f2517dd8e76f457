/* clicks.h: a click log held in memory, column by column.
 *
 * One df_clicks holds every click of a log, sorted or not, in plain
 * arrays the caller may read directly.  The log owns all its arrays;
 * clicks_destroy() frees them.  Times are whole seconds from the start
 * of the log, as in the Criteo Conversion Logs.
 *
 * Memory at Criteo scale (16 M clicks, 8 + 9 features) is about 2.6 GB:
 * 8 bytes a time, 8 a feature, 16 for the truth when it is known. */
#ifndef DFB_CLICKS_H
#define DFB_CLICKS_H

#include <stddef.h>
#include <stdint.h>

#define CLICKS_MAX_FEATURES 64
/* A missing integer feature (empty field in the file). */
#define CLICKS_MISSING_INT INT64_MIN
/* A missing categorical feature hashes to 0; no string hashes to 0. */
#define CLICKS_MISSING_CAT UINT64_C(0)
/* No conversion (empty field in the file; delay -1 in .truth). */
#define CLICKS_NO_CONVERSION INT64_C(-1)

typedef struct df_clicks {
  size_t n;        /* number of clicks */
  size_t capacity; /* rows allocated */
  int n_int;       /* integer features per click */
  int n_cat;       /* categorical features per click */
  int64_t *click_ts; /* [n] click time, seconds */
  int64_t *conv_ts;  /* [n] conversion time or CLICKS_NO_CONVERSION */
  int64_t *ints;     /* [n * n_int] row-major, CLICKS_MISSING_INT */
  uint64_t *cats;    /* [n * n_cat] row-major string hashes, 0 missing */
  /* The truth, known for generated logs or from a .truth sidecar;
   * both NULL when unknown.  truth_p is the probability of an
   * attributed conversion; truth_delay is conv - click or -1. */
  double *truth_p;      /* [n] */
  int64_t *truth_delay; /* [n] */
} df_clicks;

/* Create an empty log for n_int and n_cat features with room for
 * capacity rows (it grows as rows are appended).  with_truth allocates
 * the truth arrays.  Returns 0 or DF_ENOMEM / DF_EINPUT. */
int clicks_create(df_clicks **out, int n_int, int n_cat, size_t capacity,
                  int with_truth);
void clicks_destroy(df_clicks *log);
/* Make room for at least n rows; returns 0 or DF_ENOMEM. */
int clicks_reserve(df_clicks *log, size_t n);
/* Allocate (zeroed) truth arrays for a log that has none. */
int clicks_add_truth(df_clicks *log);

/* Reorder the rows by click time, stably (equal times keep their order),
 * truth included.  A log already in order is left untouched.  Returns 0
 * or DF_ENOMEM. */
int clicks_sort_by_time(df_clicks *log);

/* 64-bit FNV-1a hash of a categorical string of len bytes, never 0, so
 * that 0 can mean missing.  Equal strings give equal hashes on every
 * machine. */
uint64_t clicks_hash_cat(const char *s, size_t len);

#endif
