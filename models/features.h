/* features.h: the one feature pipeline shared by every learner.
 *
 * A click becomes F = n_int + n_cat column indices into one global
 * one-hot space, so a learner sees each click as F active columns:
 *
 *   integer field j:     column int_off[j] + bin, bin in [0, int_bins[j])
 *                        bin 0 is "missing"; a present value x is min-max
 *                        scaled with the pre-training period's min and max
 *                        (optionally after log1p, model.int_scale), clipped
 *                        to [0, 1], and cut into int_bins[j] - 1 equal-width
 *                        bins numbered 1 .. int_bins[j] - 1.
 *   categorical field k: column cat_off[k] + bucket, bucket in
 *                        [0, cat_buckets[k]), a salted hash of the value's
 *                        64-bit string hash; "missing" hashes like a value.
 *
 * int_off[0] = 0 and the integer columns come first, then the categorical
 * ones: cat_off[0] = sum of int_bins.  The MLP treats integer columns as
 * one-hot inputs and categorical columns as embedding rows; the linear
 * model has one weight per column.
 *
 * Scaling statistics come only from the rows passed to feat_fit (the
 * pre-training period), so no information from the stream's future
 * leaks into the features.  A feat_spec is plain data the caller owns. */
#ifndef DFB_FEATURES_H
#define DFB_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "sim/clicks.h"
#include "sim/config.h"

typedef struct feat_spec {
  int n_int, n_cat;
  int log_scale; /* 1: log1p before min-max (model.int_scale = log) */
  int int_bins[CLICKS_MAX_FEATURES];
  int cat_buckets[CLICKS_MAX_FEATURES];
  int int_off[CLICKS_MAX_FEATURES];
  int cat_off[CLICKS_MAX_FEATURES];
  double int_min[CLICKS_MAX_FEATURES]; /* after the optional log1p */
  double int_max[CLICKS_MAX_FEATURES];
  int n_columns; /* total one-hot width */
} feat_spec;

/* Set up the spec for log's feature counts from the model.* keys
 * (int_bins and cat_buckets, the last value repeating for extra
 * fields) and fit the scaling on rows [begin, end) of log.  Returns 0
 * or DF_EINPUT. */
int feat_fit(feat_spec *spec, const df_config *cfg, const df_clicks *log,
             size_t begin, size_t end);

/* Number of columns per click: n_int + n_cat. */
static inline int feat_width(const feat_spec *spec)
{
  return spec->n_int + spec->n_cat;
}

/* Encode click i of log into out[0 .. feat_width). */
void feat_encode(const feat_spec *spec, const df_clicks *log, size_t i,
                 uint32_t *out);

/* Encode the clicks rows[0..n) into out[n * feat_width]. */
void feat_encode_rows(const feat_spec *spec, const df_clicks *log,
                      const size_t *rows, size_t n, uint32_t *out);

/* ---- elapsed time as an input (FSIW's auxiliary model) ----
 *
 * A model that conditions on the time elapsed since the click sees it as
 * one more categorical field, appended after the click's own fields:
 *
 *   bucket = 0                               e < 30 s
 *            min(K - 1, 1 + floor(3 log2(e / 30 s)))  otherwise
 *
 * with K = FEAT_ELAPSED_BUCKETS: three buckets per doubling, so minutes
 * and weeks are both resolved (bucket 50 is about 30 days). */
#define FEAT_ELAPSED_BUCKETS 64

/* Append the elapsed-time field to spec (its width grows by one).
 * DF_EINPUT when spec already holds CLICKS_MAX_FEATURES fields. */
int feat_add_elapsed(feat_spec *spec);

/* The column of elapsed seconds e in a spec made by feat_add_elapsed. */
uint32_t feat_elapsed_column(const feat_spec *spec, int64_t e);

#endif
