/* method_dfm.c: the delayed feedback model (Chapelle, "Modeling Delayed
 * Feedback in Display Advertising", KDD 2014).
 *
 * Two heads: p = sigmoid(z1) the conversion probability, lambda =
 * softplus(z2) the rate of an exponential delay.  Each click enters at
 * its click time; at training time now (batch->now) its label is the
 * conversion known by now, its elapsed time t = now - c and, when
 * converted, its delay d = h - c.  The negative log-likelihood per row:
 *
 *   converted:      L = -log p - log lambda + lambda d
 *   not converted:  L = -log(1 - p + p exp(-lambda t))
 *
 * averaged over the batch.  Times are in days inside the loss (delays of
 * minutes to weeks give lambda of order 0.1 to 100, well scaled for a
 * softplus head).  Stable forms, with s the logistic function:
 *
 *   -log p = softplus(-z1)
 *   1 - p + p e^{-lambda t} = (1 - p)(1 + e^{z1 - lambda t}), so
 *   -log(...) = softplus(z1) - softplus(z1 - lambda t)
 *
 * and the gradients (d lambda / d z2 = s(z2)):
 *
 *   converted:     dL/dz1 = s(z1) - 1
 *                  dL/dz2 = s(z2) d - s(z2) / lambda
 *   not converted: dL/dz1 = s(z1) - s(z1 - lambda t)
 *                  dL/dz2 = t s(z2) s(z1 - lambda t)
 *
 * For z2 < -30, lambda = softplus(z2) ~ u - u^2/2 with u = e^{z2}, so
 * log lambda ~ z2 - u/2 and s(z2)/lambda ~ 1 - u/2, which stay finite
 * where e^{z2} underflows.  The event's own label is the conversion
 * known at the click time (the one-clock rule); the loss re-reads the
 * log at now, which is known at the end of the interval.  DFM
 * pre-trains its own 2-head learner with this loss (own_pretrain).
 * Served: p = sigmoid(z1). */
#include <math.h>

#include "models/method_internal.h"

/* Seconds per unit of time inside the loss: days. */
#define DFM_TIME_UNIT 86400.0

static int dfm_events(const method_env *env, replay_event **ev,
                      size_t *n)
{
  return method_once_events(env, method_at_click, 0, ev, n);
}

/* log(lambda) and s(z2) / lambda for lambda = softplus(z2). */
static void dfm_rate(double z2, double *log_lambda, double *s_over)
{
  if (z2 < -30) {
    double u = exp(z2);
    *log_lambda = z2 - u / 2;
    *s_over = 1 - u / 2;
    return;
  }
  double lambda = loss_softplus(z2);
  *log_lambda = log(lambda);
  *s_over = method_sigmoid(z2) / lambda;
}

/* One row's loss and gradient (g[0], g[1]) for a converted row with
 * delay d, or a pending row with elapsed time t (days). */
static double dfm_row(double z1, double z2, int converted, double d,
                      double t, double g[2])
{
  double lambda = loss_softplus(z2), s2 = method_sigmoid(z2);
  if (converted) {
    double log_lambda, s_over;
    dfm_rate(z2, &log_lambda, &s_over);
    g[0] = method_sigmoid(z1) - 1;
    g[1] = s2 * d - s_over;
    return loss_softplus(-z1) - log_lambda + lambda * d;
  }
  double a = z1 - lambda * t, sa = method_sigmoid(a);
  g[0] = method_sigmoid(z1) - sa;
  g[1] = t * s2 * sa;
  return loss_softplus(z1) - loss_softplus(a);
}

static double dfm_loss(void *ctx, size_t n, int heads, const float *z,
                       float *grad)
{
  const method_batch *b = ctx;
  double inv = n ? 1.0 / (double)n : 0, sum = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t c = b->log->click_ts[b->ev[i].row];
    int64_t h = b->log->conv_ts[b->ev[i].row];
    int converted = replay_known(h, b->now);
    double d = converted ? (double)(h - c) / DFM_TIME_UNIT : 0;
    double t = (double)(b->now - c) / DFM_TIME_UNIT, g[2];
    size_t at = i * (size_t)heads;

    sum += dfm_row(z[at], z[at + 1], converted, d, t < 0 ? 0 : t, g);
    grad[at] = (float)(inv * g[0]);
    grad[at + 1] = (float)(inv * g[1]);
  }
  return inv * sum;
}

const method_type method_dfm = {
    .name = "dfm",
    .summary = "clicks at click time, label and elapsed time as of "
               "training; CVR x exponential-delay likelihood (Chapelle "
               "2014)",
    .aux = AUX_NONE,
    .heads = 2,
    .streams = 1,
    .own_pretrain = 1,
    .events = dfm_events,
    .loss = dfm_loss,
    .serve = method_serve_sigmoid,
};
