/* features.c: the shared feature pipeline (see features.h).
 *
 * Integer field j with B = int_bins[j] >= 2 columns:
 *
 *   t   = x, or sign(x) log1p(|x|) when model.int_scale = log
 *   s   = clip((t - min_j) / (max_j - min_j), 0, 1)
 *   bin = 1 + min(B - 2, floor(s (B - 1)))        (0 = missing)
 *
 * so the B - 1 present bins have equal width in s and s = 1 falls in
 * the last one.  When the fit rows hold a single value (max == min) or
 * none at all, every present value lands in bin 1.  The signed log1p
 * equals log1p for the non-negative counts of the Criteo log and keeps
 * a negative count finite instead of taking the log of a negative.
 *
 * Categorical field k with K = cat_buckets[k] columns:
 *
 *   bucket = mix64(hash ^ salt_k) mod K,   salt_k = mix64(k + 1)
 *
 * with mix64 the splitmix64 finaliser (Steele, Lea and Flood, "Fast
 * splittable pseudorandom number generators", OOPSLA 2014), which
 * spreads the FNV-1a string hashes evenly over any K.  The salt keeps
 * equal values of different fields from sharing a bucket pattern. */
#include "models/features.h"

#include <math.h>
#include <string.h>

#include "sim/log.h"

/* splitmix64's output function: a bijection of 64-bit words whose
 * every output bit depends on every input bit. */
static uint64_t feat_mix64(uint64_t x)
{
  x += UINT64_C(0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

/* An integer value on the fitted scale: as is, or signed log1p. */
static double feat_scale_value(int log_scale, int64_t v)
{
  double x = (double)v;
  if (!log_scale)
    return x;
  return x < 0 ? -log1p(-x) : log1p(x);
}

/* Item i of a config list; the last item repeats past the end. */
static int feat_list_item(const cfg_list *l, int i)
{
  return l->v[i < l->n ? i : l->n - 1];
}

/* Widths and offsets from the model.* lists; checks B >= 2 for the
 * integer fields so that "missing" keeps a bin of its own. */
static int feat_layout(feat_spec *spec, const df_config *cfg)
{
  if (spec->n_int > 0 && cfg->model_int_bins.n < 1)
    return df_fail(DF_EINPUT, "%s: model.int_bins is empty",
                   cfg_origin(cfg, "model", "int_bins"));
  if (spec->n_cat > 0 && cfg->model_cat_buckets.n < 1)
    return df_fail(DF_EINPUT, "%s: model.cat_buckets is empty",
                   cfg_origin(cfg, "model", "cat_buckets"));

  /* Integer columns first, then categorical ones; widths are at most
   * 2^24 each and 128 fields, so the running sum fits an int. */
  long long off = 0;
  for (int j = 0; j < spec->n_int; j++) {
    int b = feat_list_item(&cfg->model_int_bins, j);
    if (b < 2)
      return df_fail(DF_EINPUT,
                     "%s: model.int_bins: integer feature %d has %d bin; "
                     "at least 2 are needed (bin 0 is 'missing')",
                     cfg_origin(cfg, "model", "int_bins"), j + 1, b);
    spec->int_bins[j] = b;
    spec->int_off[j] = (int)off;
    off += b;
  }
  for (int k = 0; k < spec->n_cat; k++) {
    int b = feat_list_item(&cfg->model_cat_buckets, k);
    if (b < 1)
      return df_fail(DF_EINPUT,
                     "%s: model.cat_buckets: categorical feature %d has "
                     "%d buckets; at least 1 is needed",
                     cfg_origin(cfg, "model", "cat_buckets"), k + 1, b);
    spec->cat_buckets[k] = b;
    spec->cat_off[k] = (int)off;
    off += b;
  }
  spec->n_columns = (int)off;
  return 0;
}

/* Min and max of each integer field's present values on the scale,
 * over rows [begin, end) only. */
static void feat_fit_ranges(feat_spec *spec, const df_clicks *log,
                            size_t begin, size_t end)
{
  int n_int = spec->n_int;
  for (int j = 0; j < n_int; j++) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = begin; i < end; i++) {
      int64_t v = log->ints[i * (size_t)n_int + (size_t)j];
      if (v == CLICKS_MISSING_INT)
        continue;
      double t = feat_scale_value(spec->log_scale, v);
      lo = t < lo ? t : lo;
      hi = t > hi ? t : hi;
    }
    /* No present value: a degenerate range sends all to bin 1. */
    if (lo > hi)
      lo = hi = 0;
    spec->int_min[j] = lo;
    spec->int_max[j] = hi;
  }
}

int feat_fit(feat_spec *spec, const df_config *cfg, const df_clicks *log,
             size_t begin, size_t end)
{
  memset(spec, 0, sizeof *spec);
  if (begin > end || end > log->n)
    return df_fail(DF_EINPUT,
                   "feature fit rows [%zu, %zu) are not within the log's "
                   "%zu clicks",
                   begin, end, log->n);
  spec->n_int = log->n_int;
  spec->n_cat = log->n_cat;

  /* Scale choice, then the column layout, then the statistics. */
  if (!strcmp(cfg->model_int_scale, "log"))
    spec->log_scale = 1;
  else if (strcmp(cfg->model_int_scale, "minmax"))
    return df_fail(DF_EINPUT, "%s: model.int_scale: '%s' is not valid; "
                              "choose one of minmax|log",
                   cfg_origin(cfg, "model", "int_scale"),
                   cfg->model_int_scale);
  int rc = feat_layout(spec, cfg);
  if (rc)
    return rc;
  feat_fit_ranges(spec, log, begin, end);
  return 0;
}

/* The bin of integer field j's value v (see the formula on top). */
static uint32_t feat_int_bin(const feat_spec *spec, int j, int64_t v)
{
  if (v == CLICKS_MISSING_INT)
    return 0;
  int b = spec->int_bins[j];
  double lo = spec->int_min[j], hi = spec->int_max[j];
  if (!(hi > lo))
    return 1;
  double s = (feat_scale_value(spec->log_scale, v) - lo) / (hi - lo);
  s = s < 0 ? 0 : (s > 1 ? 1 : s);
  int bin = (int)floor(s * (double)(b - 1));
  return (uint32_t)(1 + (bin < b - 2 ? bin : b - 2));
}

/* The bucket of categorical field k's hash h (see the formula on top). */
static uint32_t feat_cat_bucket(const feat_spec *spec, int k, uint64_t h)
{
  uint64_t salt = feat_mix64((uint64_t)k + 1);
  return (uint32_t)(feat_mix64(h ^ salt) %
                    (uint64_t)spec->cat_buckets[k]);
}

void feat_encode(const feat_spec *spec, const df_clicks *log, size_t i,
                 uint32_t *out)
{
  /* Index from the base pointers: a log without integer (or
   * categorical) fields may hold NULL there. */
  size_t ni = (size_t)spec->n_int, nc = (size_t)spec->n_cat;
  for (int j = 0; j < spec->n_int; j++)
    out[j] = (uint32_t)spec->int_off[j] +
             feat_int_bin(spec, j, log->ints[i * ni + (size_t)j]);
  for (int k = 0; k < spec->n_cat; k++)
    out[spec->n_int + k] =
        (uint32_t)spec->cat_off[k] +
        feat_cat_bucket(spec, k, log->cats[i * nc + (size_t)k]);
}

void feat_encode_rows(const feat_spec *spec, const df_clicks *log,
                      const size_t *rows, size_t n, uint32_t *out)
{
  size_t w = (size_t)feat_width(spec);
  for (size_t r = 0; r < n; r++)
    feat_encode(spec, log, rows[r], out + r * w);
}

int feat_add_elapsed(feat_spec *spec)
{
  if (spec->n_cat >= CLICKS_MAX_FEATURES)
    return df_fail(DF_EINPUT, "no room for the elapsed-time field beside "
                              "%d categorical features",
                   spec->n_cat);
  int k = spec->n_cat++;
  spec->cat_buckets[k] = FEAT_ELAPSED_BUCKETS;
  spec->cat_off[k] = spec->n_columns;
  spec->n_columns += FEAT_ELAPSED_BUCKETS;
  return 0;
}

uint32_t feat_elapsed_column(const feat_spec *spec, int64_t e)
{
  int b = 0;
  if (e >= 30) {
    double v = 1 + floor(3 * log2((double)e / 30));
    b = v < FEAT_ELAPSED_BUCKETS - 1 ? (int)v : FEAT_ELAPSED_BUCKETS - 1;
  }
  return (uint32_t)(spec->cat_off[spec->n_cat - 1] + b);
}
