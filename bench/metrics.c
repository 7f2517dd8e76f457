/* metrics.c: AUC, PR-AUC, AP, NLL and calibration in one radix sort,
 * and the interval-weighted stream aggregator (formulas in metrics.h).
 *
 * The plan for n pairs: one pass validates the input, accumulates the
 * NLL and the prediction sum, and writes each score as an order-keeping
 * unsigned key, positives at the front of a buffer and negatives at the
 * back; each part is sorted by an LSD radix sort; one merge pass walks
 * the two sorted parts from the highest score down, one group of tied
 * scores at a time.  That walk gives AUC, PR-AUC and AP, and also the
 * NLL and the prediction sum, computed once per distinct score (with
 * the group's counts as weights) so that heavy ties cost few logarithms.
 * Float scores use 32-bit keys, double scores 64-bit keys. */
#include "bench/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/log.h"

/* Radix digits of 11 bits: 3 passes for 32-bit keys, 6 for 64-bit, and
 * a 2048-entry histogram fits in L1. */
#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_MASK (RADIX_SIZE - 1u)

struct metric_stream {
  void *scratch;
  size_t cap; /* bytes of scratch */
  size_t n, positives, intervals, auc_skipped, pr_skipped;
  double w_auc, s_auc; /* weight and weighted sum over defined AUCs */
  double w_pr, s_pr_auc, s_ap;
  double s_nll, s_pred; /* n-weighted sums over every interval */
};

/* ---- order-keeping keys ------------------------------------------- */

/* IEEE order as unsigned order: flip all bits of negatives, set the
 * sign bit of positives.  -0 is mapped to +0 first, so that the two
 * zeros tie as they compare equal (sklearn's np.diff sees no change). */
static uint32_t key_f32(float x)
{
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if (u == 0x80000000u)
    u = 0;
  return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static uint64_t key_f64(double x)
{
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  if (u == 0x8000000000000000u)
    u = 0;
  return (u & 0x8000000000000000u) ? ~u : u | 0x8000000000000000u;
}

/* ---- sorts ---------------------------------------------------------- */

/* Below this many keys an insertion sort replaces the radix sort.  The
 * radix sort has a fixed cost whatever n: clearing its digit
 * histograms (6 x 2048 counters for 64-bit keys, 98 KB) and summing
 * 2048 buckets per pass, about 7 us a sort, twice per group (positives
 * and negatives) -- which made `dfbench score` spend some 14 us on each
 * group of 10 rows.  Insertion sort costs about n^2/4 moves on average
 * and n^2/2 at worst (reversed keys): at 128 keys its worst case is
 * still cheaper than the radix sort's fixed cost, and a group of 10
 * rows now costs well under a microsecond.  Both sorts give the same
 * order of the same integer keys, so every result is unchanged. */
#define SMALL_SORT 128

static void insertion_sort_u32(uint32_t *a, size_t n)
{
  for (size_t i = 1; i < n; i++) {
    uint32_t k = a[i];
    size_t j = i;
    for (; j > 0 && a[j - 1] > k; j--)
      a[j] = a[j - 1];
    a[j] = k;
  }
}

static void insertion_sort_u64(uint64_t *a, size_t n)
{
  for (size_t i = 1; i < n; i++) {
    uint64_t k = a[i];
    size_t j = i;
    for (; j > 0 && a[j - 1] > k; j--)
      a[j] = a[j - 1];
    a[j] = k;
  }
}

/* ---- LSD radix sorts ---------------------------------------------- */

/* Sort a[0..n) ascending using tmp[0..n) and hist (one row per digit,
 * owned by the caller so that threads never share it); returns
 * whichever of a and tmp holds the result (a below SMALL_SORT keys).
 * All digit histograms come from one read of the keys; a digit that is
 * the same for every key is skipped (common: the high exponent bits of
 * probabilities). */
static uint32_t *radix_sort_u32(uint32_t *a, uint32_t *tmp, size_t n,
                                size_t (*hist)[RADIX_SIZE])
{
  enum { PASSES = 3 };
  if (n < SMALL_SORT) {
    insertion_sort_u32(a, n);
    return a;
  }
  memset(hist, 0, PASSES * sizeof *hist);
  for (size_t i = 0; i < n; i++)
    for (int d = 0; d < PASSES; d++)
      hist[d][(a[i] >> (d * RADIX_BITS)) & RADIX_MASK]++;

  for (int d = 0; d < PASSES; d++) {
    size_t *h = hist[d], sum = 0;
    if (n == 0 || h[(a[0] >> (d * RADIX_BITS)) & RADIX_MASK] == n)
      continue;
    for (size_t b = 0; b < RADIX_SIZE; b++) {
      size_t c = h[b];
      h[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++)
      tmp[h[(a[i] >> (d * RADIX_BITS)) & RADIX_MASK]++] = a[i];
    uint32_t *t = a;
    a = tmp;
    tmp = t;
  }
  return a;
}

static uint64_t *radix_sort_u64(uint64_t *a, uint64_t *tmp, size_t n,
                                size_t (*hist)[RADIX_SIZE])
{
  enum { PASSES = 6 };
  if (n < SMALL_SORT) {
    insertion_sort_u64(a, n);
    return a;
  }
  memset(hist, 0, PASSES * sizeof *hist);
  for (size_t i = 0; i < n; i++)
    for (int d = 0; d < PASSES; d++)
      hist[d][(a[i] >> (d * RADIX_BITS)) & RADIX_MASK]++;

  for (int d = 0; d < PASSES; d++) {
    size_t *h = hist[d], sum = 0;
    if (n == 0 || h[(a[0] >> (d * RADIX_BITS)) & RADIX_MASK] == n)
      continue;
    for (size_t b = 0; b < RADIX_SIZE; b++) {
      size_t c = h[b];
      h[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++)
      tmp[h[(a[i] >> (d * RADIX_BITS)) & RADIX_MASK]++] = a[i];
    uint64_t *t = a;
    a = tmp;
    tmp = t;
  }
  return a;
}

/* Back from a key to the score it was made from. */
static double unkey(uint64_t k, int wide)
{
  if (wide) {
    uint64_t u = (k & 0x8000000000000000u) ? k ^ 0x8000000000000000u : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
  }
  uint32_t k32 = (uint32_t)k;
  uint32_t u = (k32 & 0x80000000u) ? k32 ^ 0x80000000u : ~k32;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* ---- validation and the split by label ----------------------------- */

/* Probabilities must lie in [0, 1] (NaN fails that test), logits must
 * be finite, labels 0 or 1. */
static int sample_check(double x, unsigned char y, metric_kind kind,
                        size_t i)
{
  if (y > 1)
    return df_fail(DF_EINPUT, "sample %zu: label %u is not 0 or 1", i,
                   (unsigned)y);
  if (kind == METRIC_LOGIT && !isfinite(x))
    return df_fail(DF_EINPUT, "sample %zu: logit %g is not finite", i, x);
  if (kind == METRIC_PROB && !(x >= 0 && x <= 1))
    return df_fail(DF_EINPUT,
                   "sample %zu: probability %g is not in [0, 1]", i, x);
  return 0;
}

/* Validate and write keys: positives from keys[0] upwards, negatives
 * from keys[n-1] downwards.  Exactly one of pf, pd is set.  Stores the
 * number of positives.
 *
 * The write is branch-free, since labels are unpredictable: each key is
 * stored at both free ends and only the end of its class advances; the
 * other copy lands in the still-free middle and is overwritten later. */
static int split_samples(const float *pf, const double *pd,
                         const unsigned char *label, size_t n,
                         metric_kind kind, void *keys, size_t *positives)
{
  size_t lo = 0, hi = n;
  if (pf) {
    uint32_t *k = keys;
    for (size_t i = 0; i < n; i++) {
      int rc = sample_check(pf[i], label[i], kind, i);
      if (rc)
        return rc;
      uint32_t key = key_f32(pf[i]);
      k[lo] = key;
      k[hi - 1] = key;
      lo += label[i];
      hi -= !label[i];
    }
  } else {
    uint64_t *k = keys;
    for (size_t i = 0; i < n; i++) {
      int rc = sample_check(pd[i], label[i], kind, i);
      if (rc)
        return rc;
      uint64_t key = key_f64(pd[i]);
      k[lo] = key;
      k[hi - 1] = key;
      lo += label[i];
      hi -= !label[i];
    }
  }
  *positives = lo;
  return 0;
}

/* ---- per-threshold losses ------------------------------------------ */

/* Neumaier's compensated sum: the walk adds up to n terms of mixed
 * size, and the result must agree with numpy's pairwise sums to 1e-12. */
typedef struct csum {
  double s, c;
} csum;

static void csum_add(csum *a, double x)
{
  double t = a->s + x;
  a->c += fabs(a->s) >= fabs(x) ? (a->s - t) + x : (x - t) + a->s;
  a->s = t;
}

/* Loss and probability of tp_g positives and fp_g negatives all scored
 * x: the transcendental work is done once per distinct score, not once
 * per sample, which is what makes heavily tied streams cheap. */
static void group_losses(double x, uint64_t tp_g, uint64_t fp_g,
                         metric_kind kind, csum *nll, csum *pred)
{
  double loss = 0, prob;
  if (kind == METRIC_LOGIT) {
    /* ln(1 + e^-|z|) + max(z, 0) - y z: no overflow for finite z. */
    double sp = log1p(exp(-fabs(x))) + (x > 0 ? x : 0);
    loss = (double)tp_g * (sp - x) + (double)fp_g * sp;
    prob = 1.0 / (1.0 + exp(-x));
  } else {
    double p = x < METRIC_EPS       ? METRIC_EPS
               : x > 1 - METRIC_EPS ? 1 - METRIC_EPS
                                    : x;
    if (tp_g)
      loss += (double)tp_g * -log(p);
    if (fp_g)
      loss += (double)fp_g * -log(1 - p);
    prob = x;
  }
  csum_add(nll, loss);
  csum_add(pred, (double)(tp_g + fp_g) * prob);
}

/* ---- the merge walk ------------------------------------------------ */

static uint64_t key_at(const void *a, size_t i, int wide)
{
  return wide ? ((const uint64_t *)a)[i] : ((const uint32_t *)a)[i];
}

/* Walk the sorted positives pos[0..np) and negatives neg[0..nn) from
 * the highest key down, one group of tied keys at a time, and fill in
 * every metric (formulas in metrics.h).  The Mann-Whitney count is kept
 * doubled and exact: a group with tp_g positives and fp_g negatives
 * below TP higher positives adds fp_g (2 TP + tp_g). */
static void rank_walk(const void *pos, size_t np, const void *neg,
                      size_t nn, int wide, metric_kind kind,
                      metric_result *out)
{
  size_t i = np, j = nn;
  uint64_t u2 = 0, tp = 0, fp = 0;
  double r_prev = 0, p_prev = 1, pr_auc = 0, ap = 0;
  csum nll = {0, 0}, pred = {0, 0};
  while (i > 0 || j > 0) {
    /* The next threshold and the samples tied at it. */
    uint64_t kp = i > 0 ? key_at(pos, i - 1, wide) : 0;
    uint64_t kn = j > 0 ? key_at(neg, j - 1, wide) : 0;
    uint64_t k = (i > 0 && (j == 0 || kp >= kn)) ? kp : kn;
    uint64_t tp_g = 0, fp_g = 0;
    while (i > 0 && key_at(pos, i - 1, wide) == k)
      i--, tp_g++;
    while (j > 0 && key_at(neg, j - 1, wide) == k)
      j--, fp_g++;
    group_losses(unkey(k, wide), tp_g, fp_g, kind, &nll, &pred);

    /* ROC: pairs ranked right count 2, ties 1. */
    u2 += fp_g * (2 * tp + tp_g);
    tp += tp_g;
    fp += fp_g;

    /* PR: the point (R_k, Prec_k) as sklearn computes it. */
    if (np > 0) {
      double r = (double)tp / (double)np;
      double p = (double)tp / (double)(tp + fp);
      pr_auc += (r - r_prev) * (p + p_prev) / 2.0;
      ap += (r - r_prev) * p;
      r_prev = r;
      p_prev = p;
    }
  }

  double n = (double)(np + nn), sum_pred = pred.s + pred.c;
  out->n = np + nn;
  out->positives = np;
  out->auc_defined = np > 0 && nn > 0;
  out->auc = out->auc_defined
                 ? (double)u2 / (2.0 * (double)np * (double)nn)
                 : NAN;
  out->pr_defined = np > 0;
  out->pr_auc = np > 0 ? pr_auc : NAN;
  out->ap = np > 0 ? ap : NAN;
  out->nll = (nll.s + nll.c) / n;
  out->mean_pred = sum_pred / n;
  out->mean_label = (double)np / n;
  out->calib_defined = np > 0;
  out->calibration = np > 0 ? sum_pred / (double)np : NAN;
}

/* ---- one set of metrics -------------------------------------------- */

/* Grow *scratch to hold the histograms and two key arrays. */
static int scratch_reserve(void **scratch, size_t *cap, size_t n, int wide)
{
  size_t width = wide ? 8 : 4;
  size_t hist = 6 * RADIX_SIZE * sizeof(size_t);
  if (n > (SIZE_MAX - hist) / (2 * width))
    return df_fail(DF_ENOMEM, "metrics: %zu samples are too many", n);
  size_t need = hist + 2 * width * n;
  if (need <= *cap)
    return 0;
  void *p = realloc(*scratch, need);
  if (!p)
    return df_fail(DF_ENOMEM, "metrics: out of memory for %zu samples",
                   n);
  *scratch = p;
  *cap = need;
  return 0;
}

static int metric_run(const float *pf, const double *pd,
                      const unsigned char *label, size_t n,
                      metric_kind kind, void **scratch, size_t *cap,
                      metric_result *out)
{
  int wide = pf == NULL;
  if (n == 0)
    return df_fail(DF_EINPUT, "metrics: no samples");
  if (kind != METRIC_PROB && kind != METRIC_LOGIT)
    return df_fail(DF_EINPUT, "metrics: unknown prediction kind %d",
                   (int)kind);
  int rc = scratch_reserve(scratch, cap, n, wide);
  if (rc)
    return rc;

  /* Layout: histograms, then keys, then the sort's second buffer. */
  size_t (*hist)[RADIX_SIZE] = *scratch;
  char *keys = (char *)*scratch + 6 * RADIX_SIZE * sizeof(size_t);
  size_t width = wide ? 8 : 4;
  char *tmp = keys + n * width;

  size_t np;
  rc = split_samples(pf, pd, label, n, kind, keys, &np);
  if (rc)
    return rc;
  size_t nn = n - np;

  /* Sort each class on its own: no labels to carry. */
  const void *pos, *neg;
  if (wide) {
    pos = radix_sort_u64((uint64_t *)keys, (uint64_t *)tmp, np, hist);
    neg = radix_sort_u64((uint64_t *)keys + np, (uint64_t *)tmp + np, nn,
                         hist);
  } else {
    pos = radix_sort_u32((uint32_t *)keys, (uint32_t *)tmp, np, hist);
    neg = radix_sort_u32((uint32_t *)keys + np, (uint32_t *)tmp + np, nn,
                         hist);
  }

  memset(out, 0, sizeof *out);
  rank_walk(pos, np, neg, nn, wide, kind, out);
  return 0;
}

int metric_compute(const float *pred, const unsigned char *label, size_t n,
                   metric_kind kind, metric_result *out)
{
  void *scratch = NULL;
  size_t cap = 0;
  int rc = metric_run(pred, NULL, label, n, kind, &scratch, &cap, out);
  free(scratch);
  return rc;
}

int metric_compute_d(const double *pred, const unsigned char *label,
                     size_t n, metric_kind kind, metric_result *out)
{
  void *scratch = NULL;
  size_t cap = 0;
  int rc = metric_run(NULL, pred, label, n, kind, &scratch, &cap, out);
  free(scratch);
  return rc;
}

/* The per-sample forms reuse the per-group loss with a group of one. */
double metric_nll_logit(const float *z, const unsigned char *label,
                        size_t n)
{
  csum nll = {0, 0}, pred = {0, 0};
  for (size_t i = 0; i < n; i++)
    group_losses(z[i], label[i], !label[i], METRIC_LOGIT, &nll, &pred);
  return (nll.s + nll.c) / (double)n;
}

double metric_nll_prob(const double *p, const unsigned char *label,
                       size_t n)
{
  csum nll = {0, 0}, pred = {0, 0};
  for (size_t i = 0; i < n; i++)
    group_losses(p[i], label[i], !label[i], METRIC_PROB, &nll, &pred);
  return (nll.s + nll.c) / (double)n;
}

/* ---- the stream aggregator ---------------------------------------- */

metric_stream *metric_stream_create(void)
{
  return calloc(1, sizeof(metric_stream));
}

void metric_stream_destroy(metric_stream *s)
{
  if (!s)
    return;
  free(s->scratch);
  free(s);
}

/* Add one interval's result, weighted by its size. */
static void stream_add(metric_stream *s, const metric_result *r)
{
  double w = (double)r->n;
  s->n += r->n;
  s->positives += r->positives;
  s->intervals++;
  s->s_nll += w * r->nll;
  s->s_pred += w * r->mean_pred;
  if (r->auc_defined) {
    s->w_auc += w;
    s->s_auc += w * r->auc;
  } else
    s->auc_skipped++;
  if (r->pr_defined) {
    s->w_pr += w;
    s->s_pr_auc += w * r->pr_auc;
    s->s_ap += w * r->ap;
  } else
    s->pr_skipped++;
}

static int stream_update(metric_stream *s, const float *pf,
                         const double *pd, const unsigned char *label,
                         size_t n, metric_kind kind)
{
  if (n == 0)
    return 0;
  metric_result r;
  int rc = metric_run(pf, pd, label, n, kind, &s->scratch, &s->cap, &r);
  if (rc)
    return rc;
  stream_add(s, &r);
  return 0;
}

int metric_stream_update(metric_stream *s, const float *pred,
                         const unsigned char *label, size_t n,
                         metric_kind kind)
{
  return stream_update(s, pred, NULL, label, n, kind);
}

int metric_stream_update_d(metric_stream *s, const double *pred,
                           const unsigned char *label, size_t n,
                           metric_kind kind)
{
  return stream_update(s, NULL, pred, label, n, kind);
}

int metric_stream_finish(const metric_stream *s, metric_stream_summary *out)
{
  if (s->n == 0)
    return df_fail(DF_EINPUT, "metrics: no interval had samples");
  memset(out, 0, sizeof *out);
  metric_result *m = &out->mean;
  double n = (double)s->n;
  m->n = s->n;
  m->positives = s->positives;
  m->nll = s->s_nll / n;
  m->mean_pred = s->s_pred / n;
  m->mean_label = (double)s->positives / n;

  m->auc_defined = s->w_auc > 0;
  m->auc = m->auc_defined ? s->s_auc / s->w_auc : NAN;
  m->pr_defined = s->w_pr > 0;
  m->pr_auc = m->pr_defined ? s->s_pr_auc / s->w_pr : NAN;
  m->ap = m->pr_defined ? s->s_ap / s->w_pr : NAN;
  m->calib_defined = s->positives > 0;
  m->calibration = m->calib_defined ? m->mean_pred / m->mean_label : NAN;

  out->intervals = s->intervals;
  out->auc_skipped = s->auc_skipped;
  out->pr_skipped = s->pr_skipped;
  return 0;
}
