/* loss.c: the standard training losses (see loss.h).
 *
 * Binary cross-entropy from a logit z and a (soft) label y:
 *
 *   -y log s(z) - (1 - y) log(1 - s(z)) = softplus(z) - y z
 *
 * since log s(z) = -softplus(-z) and softplus(z) - softplus(-z) = z.
 * The right-hand side never forms s(z) or log of a tiny number, so
 * |z| = 100 or more stays finite and exact to rounding.  Sums are kept
 * in double; the gradient is written as float like the logits. */
#include "models/loss.h"

#include <math.h>

double loss_softplus(double x)
{
  /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|): the exponent is <= 0. */
  return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}


/* N_h of loss.h: n, or the number of unmasked rows of head h. */
static double loss_count(const loss_bce_ctx *c, int h, size_t n)
{
  if (c->norm[h] != LOSS_MEAN_MASKED || !c->mask[h])
    return (double)n;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += c->mask[h][i] != 0;
  return (double)k;
}

double loss_bce(void *ctx, size_t n, int heads, const float *z, float *grad)
{
  const loss_bce_ctx *c = ctx;
  double total = 0;
  for (int h = 0; h < heads; h++) {
    const float *y = c->label[h], *w = c->weight[h];
    const unsigned char *m = c->mask[h];
    double count = loss_count(c, h, n);
    double inv = count > 0 ? 1 / count : 0;

    /* Head h: a masked row (or an empty head) has zero gradient. */
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
      size_t at = i * (size_t)heads + (size_t)h;
      if ((m && !m[i]) || inv == 0) {
        grad[at] = 0;
        continue;
      }
      /* One e = exp(-|z|) <= 1 serves both softplus(z) and s(z). */
      double zi = z[at], wi = w ? w[i] : 1, e = exp(-fabs(zi));
      double sp = (zi > 0 ? zi : 0) + log1p(e);
      double s = zi >= 0 ? 1 / (1 + e) : e / (1 + e);
      sum += wi * (sp - y[i] * zi);
      grad[at] = (float)(inv * wi * (s - y[i]));
    }
    total += inv * sum;
  }
  return total;
}
