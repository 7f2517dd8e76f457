/* metrics.h: ranking and probability metrics of binary predictions, on
 * n (label, prediction) pairs, and a streaming aggregator that averages
 * per-interval results weighted by interval size.
 *
 * Ownership: the caller owns the prediction and label arrays and the
 * result structs; a metric_stream handle owns its scratch memory and is
 * freed by metric_stream_destroy.  Nothing here keeps a pointer to the
 * caller's arrays after a call returns.
 *
 * Definitions (P positives, N negatives, n = P + N; scores s_i):
 *
 *   AUC     trapezoid area under the ROC curve with tied scores counted
 *           one half, which equals the Mann-Whitney statistic
 *             AUC = sum_{i pos} sum_{j neg} ([s_i > s_j] + [s_i = s_j]/2)
 *                   / (P N)
 *           (Hanley and McNeil 1982).  It is computed exactly in integer
 *           arithmetic (2U fits in 64 bits) and divided once.
 *   PR-AUC  sklearn 1.2.1's precision_recall_curve followed by
 *           auc(recall, precision).  Thresholds are the distinct scores
 *           t_1 > ... > t_K; at t_k, TP_k and FP_k count the samples
 *           with s >= t_k, R_k = TP_k / P, Prec_k = TP_k / (TP_k + FP_k).
 *           sklearn returns the points in increasing-threshold order with
 *           (R = 0, Prec = 1) appended; recall is then non-increasing so
 *           auc() flips the sign of np.trapz.  The result is the
 *           trapezoid sum, in decreasing-threshold order here:
 *             PR-AUC = sum_{k=1..K} (R_k - R_{k-1}) (Prec_k + Prec_{k-1})/2
 *           with (R_0, Prec_0) = (0, 1).  Note that the segment from the
 *           appended end point to the first threshold interpolates
 *           linearly from precision 1, and that this is not average
 *           precision (Davis and Goadrich 2006 on why it is optimistic).
 *   AP      sklearn's average_precision_score, the step-wise sum
 *             AP = sum_{k=1..K} (R_k - R_{k-1}) Prec_k.
 *   NLL     mean natural-log cross-entropy
 *             NLL = -(1/n) sum_i [y_i ln p_i + (1 - y_i) ln(1 - p_i)].
 *           From a logit z (p = 1/(1+e^-z)) each term is computed stably
 *           as ln(1 + e^-|z|) + max(z, 0) - y z, which never overflows and
 *           needs no clipping.  From a probability, p is first clipped to
 *           [METRIC_EPS, 1 - METRIC_EPS] (see below).
 *   Calibration   mean prediction / mean label = sum_i p_i / P.
 *
 * Degenerate inputs: n = 0 is an error (DF_EINPUT).  With a single class
 * the ROC curve does not exist, so AUC is NaN and auc_defined is 0; with
 * P = 0 recall (and so PR-AUC, AP and calibration) is 0/0: they are NaN
 * with pr_defined and calib_defined 0.  With N = 0 and P > 0 the PR
 * metrics are defined (precision is 1 everywhere, PR-AUC = AP = 1), as in
 * sklearn.  All scores tied gives AUC = 1/2.  NLL is defined for every
 * n > 0.  A non-finite prediction, or a probability outside [0, 1], or
 * a label other than 0 or 1, is an error naming the first bad index.
 *
 * Cost: O(n) time and memory besides an LSD radix sort of the scores,
 * split by label (no labels carried; an insertion sort for a class of
 * fewer than 128, so that small groups cost little), then one merge
 * pass.  Measured on one core (bench_metrics): about 0.3 s for 16 M
 * float probabilities quantised to 1e-4, about 0.6 s when all are
 * distinct (one logarithm per distinct score). */
#ifndef DFB_METRICS_H
#define DFB_METRICS_H

#include <stddef.h>

/* Clipping of probabilities before the logarithm.  A float32 sigmoid
 * rounds to exactly 1 once z > about 16.6 (and underflows towards 0 for
 * very negative z), so without clipping one confident mistake would make
 * the mean infinite.  1e-7 is just below float32's machine epsilon
 * (1.19e-7), the spacing of float probabilities near 1: clipping there
 * changes only predictions that float32 cannot tell apart from 0 or 1,
 * and caps one sample's loss at -ln(1e-7) = 16.12.  It is also the
 * epsilon Keras uses, and sklearn's log_loss(eps=1e-7) reproduces it. */
#define METRIC_EPS 1e-7

/* What the prediction values are.  Ranking metrics use the values as
 * given; note that a float sigmoid can tie logits that differ, so
 * ranking logits and ranking their float probabilities can disagree
 * when predictions saturate. */
typedef enum metric_kind {
  METRIC_PROB = 0, /* probabilities in [0, 1]; NLL clipped */
  METRIC_LOGIT = 1 /* finite logits; NLL from logits, no clipping */
} metric_kind;

/* One set of metrics.  A value whose flag is 0 is NaN. */
typedef struct metric_result {
  size_t n;         /* samples */
  size_t positives; /* samples labelled 1 */
  double auc;
  double pr_auc;
  double ap;
  double nll;
  double calibration; /* mean_pred / mean_label */
  double mean_pred;   /* mean probability (sigmoid of logits) */
  double mean_label;  /* positives / n */
  int auc_defined;    /* both classes present */
  int pr_defined;     /* positives > 0: pr_auc and ap */
  int calib_defined;  /* positives > 0 */
} metric_result;

/* All metrics of n pairs, with one sort.  pred[i] is a float
 * probability or logit (kind), label[i] is 0 or 1.  Returns 0, DF_EINPUT
 * (n = 0 or a bad value, message names the index) or DF_ENOMEM. */
int metric_compute(const float *pred, const unsigned char *label, size_t n,
                   metric_kind kind, metric_result *out);
/* The same on double predictions (used by `dfbench score`, which reads
 * decimal text and must not round it to float). */
int metric_compute_d(const double *pred, const unsigned char *label,
                     size_t n, metric_kind kind, metric_result *out);

/* Mean cross-entropy alone (definitions above); n > 0, inputs valid. */
double metric_nll_logit(const float *z, const unsigned char *label,
                        size_t n);
double metric_nll_prob(const double *p, const unsigned char *label,
                       size_t n);

/* Streaming aggregation over test intervals (hours of the replay, or
 * groups of `dfbench score`).  Each update computes one interval's
 * metrics; finish returns, for each metric, the mean of the per-interval
 * values weighted by interval size n_j:
 *   M = sum_j n_j M_j / sum_j n_j,
 * where the sums run over the intervals on which M is defined.  An
 * interval whose AUC (single class) or PR metrics (no positive) are
 * undefined is left out of that metric's mean and counted in
 * auc_skipped / pr_skipped; NLL, mean_pred and mean_label use every
 * interval.  The result's n and positives are totals; a metric no
 * interval defines stays NaN with its flag 0.  calibration is the ratio
 * of the weighted mean prediction to the weighted mean label, i.e. of
 * the pooled means.  The ES-DFM reference code scores every hour with
 * sklearn, which would fail or warn on single-class hours; skipping them
 * and reporting the count is the explicit version of that. */
typedef struct metric_stream metric_stream;

typedef struct metric_stream_summary {
  metric_result mean;  /* weighted means as above */
  size_t intervals;    /* updates with n > 0 */
  size_t auc_skipped;  /* intervals without both classes */
  size_t pr_skipped;   /* intervals without positives */
} metric_stream_summary;

/* NULL when out of memory. */
metric_stream *metric_stream_create(void);
/* Score one interval.  n = 0 is accepted and ignored (an empty hour);
 * bad values are DF_EINPUT as for metric_compute, and leave the stream
 * unchanged. */
int metric_stream_update(metric_stream *s, const float *pred,
                         const unsigned char *label, size_t n,
                         metric_kind kind);
int metric_stream_update_d(metric_stream *s, const double *pred,
                           const unsigned char *label, size_t n,
                           metric_kind kind);
/* The summary so far (the stream may keep receiving updates).  Returns
 * DF_EINPUT when no interval had samples. */
int metric_stream_finish(const metric_stream *s, metric_stream_summary *out);
void metric_stream_destroy(metric_stream *s);

#endif
