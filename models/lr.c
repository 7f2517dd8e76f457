/* lr.c: hashed logistic regression with H heads, the "lr" learner.
 *
 * Each head h has a weight per one-hot column and a bias; a click with
 * active columns A (features.h) gets the logit
 *
 *   z_h = b_h + sum_{c in A} w_hc.
 *
 * One train() call on n rows minimises, by one optimiser step,
 *
 *   J(w) = loss(z) + (l2 / 2) sum_{c touched, h} w_hc^2
 *
 * with "touched" the columns active in at least one row of the batch:
 * the L2 penalty acts on the weights the batch uses, as in sparse
 * (per-coordinate) regularisation of hashed linear models, never on the
 * biases.  dJ/dw_hc = sum_i dL/dz_ih [c in A_i] + l2 w_hc (touched c).
 *
 * Optimisers, with g = dJ/dw and t the step count from 1:
 *
 *   Adam (Kingma and Ba, ICLR 2015, in the form of Keras and TF's
 *   ResourceApplyAdam): m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps),
 *   b1 = 0.9, b2 = 0.999, eps = 1e-7.  The update is dense and exact:
 *   every weight moves every step, untouched ones with g = 0 so their
 *   moments decay and their momentum keeps acting, as Keras's dense
 *   Adam does.  With (C + 1) H weights (3489 per head by default) this
 *   costs a few microseconds a step, little at batch 1024 but the
 *   whole cost at batch 1.
 *
 *   Adagrad (Duchi, Hazan and Singer, JMLR 2011, as Keras/TF):
 *   a = a + g^2 from a = 0.1,  w -= lr g / (sqrt(a) + eps),  eps = 1e-7.
 *   A weight with g = 0 does not move, so updating only the touched
 *   columns (and the biases) is exact, and batch 1 is cheap.
 *
 * Weights, moments and gradients are doubles; logits are summed in
 * double in a fixed order (bias, then columns in row order), so results
 * are bitwise reproducible.  Weights start at 0.  No allocation happens
 * per step except when a batch is larger than any before it.  Column
 * indices must be below n_columns, as feat_encode guarantees; the hot
 * path does not check them. */
#include "models/lr_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/log.h"

extern const learner_type learner_lr;

#define LR_ADAM_B1 0.9
#define LR_ADAM_B2 0.999
#define LR_ADAM_EPS 1e-7
#define LR_ADAGRAD_INIT 0.1
#define LR_ADAGRAD_EPS 1e-7

typedef struct lr_model {
  learner base;
  int heads;   /* H */
  int width;   /* F, active columns per row */
  int columns; /* C */
  enum learner_optimizer optimizer;
  double learning_rate, l2;
  uint64_t step;  /* optimiser steps taken, t */
  size_t n_par;   /* (C + 1) H */
  double *w;      /* [n_par] weights, bias last */
  double *s1;     /* [n_par] Adam m, or Adagrad's accumulator */
  double *s2;     /* [n_par] Adam v; NULL for Adagrad */
  /* Scratch, not part of the model's state. */
  double *g;          /* [n_par] gradient, zero between steps */
  uint32_t *stamp;    /* [C + 1] step at which a column was touched */
  uint32_t stamp_now; /* current stamp, never 0 */
  uint32_t *touched;  /* [C + 2] columns touched in this step */
  size_t n_touched;
  float *z, *dz; /* [cap H] logits and dL/dz of the batch */
  size_t cap;
} lr_model;

/* ---- allocation ---- */

static void lr_free(lr_model *m)
{
  if (!m)
    return;
  free(m->w);
  free(m->s1);
  free(m->s2);
  free(m->g);
  free(m->stamp);
  free(m->touched);
  free(m->z);
  free(m->dz);
  free(m);
}

/* The arrays of a model whose sizes are set; gradients and stamps
 * zeroed, weights and optimiser state left to the caller. */
static int lr_alloc(lr_model *m)
{
  size_t cols = (size_t)m->columns + 1;
  m->w = malloc(m->n_par * sizeof *m->w);
  m->s1 = malloc(m->n_par * sizeof *m->s1);
  if (m->optimizer == LEARNER_ADAM)
    m->s2 = malloc(m->n_par * sizeof *m->s2);
  m->g = calloc(m->n_par, sizeof *m->g);
  m->stamp = calloc(cols, sizeof *m->stamp);
  /* One spare slot: the branch-free listing writes before it counts. */
  m->touched = malloc((cols + 1) * sizeof *m->touched);
  if (!m->w || !m->s1 || (m->optimizer == LEARNER_ADAM && !m->s2) ||
      !m->g || !m->stamp || !m->touched)
    return df_fail(DF_ENOMEM, "lr: out of memory for %zu weights",
                   m->n_par);
  m->stamp_now = 1;
  return 0;
}

/* Room for the logits and gradients of n rows. */
static int lr_reserve(lr_model *m, size_t n)
{
  if (n <= m->cap)
    return 0;
  size_t k = n * (size_t)m->heads;
  float *z = realloc(m->z, k * sizeof *z);
  if (z)
    m->z = z;
  float *dz = realloc(m->dz, k * sizeof *dz);
  if (dz)
    m->dz = dz;
  if (!z || !dz)
    return df_fail(DF_ENOMEM, "lr: out of memory for a batch of %zu", n);
  m->cap = n;
  return 0;
}

static int lr_create(const learner_spec *spec, learner **out)
{
  *out = NULL;
  if (spec->learning_rate <= 0 || !(spec->l2 >= 0))
    return df_fail(DF_EINPUT, "lr: learning rate must be > 0 and l2 >= 0");
  if (spec->heads < 1 || spec->heads > LOSS_MAX_HEADS ||
      spec->features.n_columns < 1 || feat_width(&spec->features) < 1)
    return df_fail(DF_EINPUT, "lr: needs 1 to %d heads and at least one "
                              "feature column",
                   LOSS_MAX_HEADS);
  if (spec->optimizer != LEARNER_ADAM && spec->optimizer != LEARNER_ADAGRAD)
    return df_fail(DF_EINPUT, "lr: unknown optimizer %d",
                   (int)spec->optimizer);
  lr_model *m = calloc(1, sizeof *m);
  if (!m)
    return df_fail(DF_ENOMEM, "lr: out of memory");
  m->base.type = &learner_lr;
  m->heads = spec->heads;
  m->width = feat_width(&spec->features);
  m->columns = spec->features.n_columns;
  m->optimizer = spec->optimizer;
  m->learning_rate = spec->learning_rate;
  m->l2 = spec->l2;
  m->n_par = ((size_t)m->columns + 1) * (size_t)m->heads;
  int rc = lr_alloc(m);
  if (rc) {
    lr_free(m);
    return rc;
  }

  /* Zero weights; Adam's moments at 0, Adagrad's accumulator at 0.1. */
  for (size_t k = 0; k < m->n_par; k++) {
    m->w[k] = 0;
    m->s1[k] = m->optimizer == LEARNER_ADAM ? 0 : LR_ADAGRAD_INIT;
    if (m->s2)
      m->s2[k] = 0;
  }
  *out = &m->base;
  return 0;
}

static void lr_destroy(learner *l)
{
  lr_free((lr_model *)l);
}

static int lr_clone(const learner *l, learner **out)
{
  const lr_model *a = (const lr_model *)l;
  *out = NULL;
  lr_model *m = malloc(sizeof *m);
  if (!m)
    return df_fail(DF_ENOMEM, "lr: out of memory");

  /* Sizes and hyper-parameters by value, then fresh arrays. */
  *m = *a;
  m->w = m->s1 = m->s2 = m->g = NULL;
  m->stamp = m->touched = NULL;
  m->z = m->dz = NULL;
  m->cap = 0;
  m->n_touched = 0;
  int rc = lr_alloc(m);
  if (rc) {
    lr_free(m);
    return rc;
  }
  memcpy(m->w, a->w, m->n_par * sizeof *m->w);
  memcpy(m->s1, a->s1, m->n_par * sizeof *m->s1);
  if (m->s2)
    memcpy(m->s2, a->s2, m->n_par * sizeof *m->s2);
  *out = &m->base;
  return 0;
}

/* ---- forward and backward ---- */

/* The kernels below take the head count H as a parameter and are
 * instantiated for H = 1 .. 4 by the dispatchers after them, so that
 * the inner loops over heads unroll and the common H = 1 has no
 * stride arithmetic. */

/* z[i H + h] = b_h + sum_f w[x[i F + f] H + h], summed in double. */
static inline void lr_forward_k(const lr_model *m, const uint32_t *x,
                                size_t n, float *z, const size_t H)
{
  size_t F = (size_t)m->width;
  const double *restrict w = m->w;
  const double *bias = w + (size_t)m->columns * H;
  for (size_t i = 0; i < n; i++) {
    const uint32_t *row = x + i * F;
    for (size_t h = 0; h < H; h++) {
      /* Four partial sums break the chain of dependent additions; the
       * order stays fixed, so the result stays reproducible. */
      double acc[4] = {0, 0, 0, 0};
      size_t f = 0;
      for (; f + 4 <= F; f += 4)
        for (size_t q = 0; q < 4; q++)
          acc[q] += w[(size_t)row[f + q] * H + h];
      for (; f < F; f++)
        acc[f % 4] += w[(size_t)row[f] * H + h];
      z[i * H + h] = (float)(bias[h] + ((acc[0] + acc[1]) +
                                        (acc[2] + acc[3])));
    }
  }
}

static void lr_forward(const lr_model *m, const uint32_t *x, size_t n,
                       float *z)
{
  switch (m->heads) {
  case 1:
    lr_forward_k(m, x, n, z, 1);
    break;
  case 2:
    lr_forward_k(m, x, n, z, 2);
    break;
  case 3:
    lr_forward_k(m, x, n, z, 3);
    break;
  default:
    lr_forward_k(m, x, n, z, 4);
    break;
  }
}

/* Start a step's touched set: a new stamp, the bias column first. */
static void lr_touch_reset(lr_model *m)
{
  if (++m->stamp_now == 0) {
    memset(m->stamp, 0, ((size_t)m->columns + 1) * sizeof *m->stamp);
    m->stamp_now = 1;
  }
  m->stamp[m->columns] = m->stamp_now;
  m->touched[0] = (uint32_t)m->columns;
  m->n_touched = 1;
}

/* Back-propagate m->dz: g[c H + h] += dL/dz_ih for each active c of
 * row i, the bias likewise, and list each column on first touch. */
static inline void lr_backward_k(lr_model *m, const uint32_t *x, size_t n,
                                 const size_t H)
{
  size_t F = (size_t)m->width;
  double *restrict g = m->g;
  double *restrict gb = m->g + (size_t)m->columns * H;
  uint32_t *restrict stamp = m->stamp, *restrict touched = m->touched;
  const float *restrict dz = m->dz;
  const uint32_t now = m->stamp_now;
  size_t nt = m->n_touched;
  for (size_t i = 0; i < n; i++) {
    const uint32_t *row = x + i * F;
    double d[LOSS_MAX_HEADS];
    for (size_t h = 0; h < H; h++)
      d[h] = dz[i * H + h];
    for (size_t f = 0; f < F; f++) {
      /* List c on its first touch, without a branch that a batch's
       * mix of new and seen columns would mispredict. */
      uint32_t c = row[f];
      touched[nt] = c;
      nt += stamp[c] != now;
      stamp[c] = now;
      for (size_t h = 0; h < H; h++)
        g[(size_t)c * H + h] += d[h];
    }
    for (size_t h = 0; h < H; h++)
      gb[h] += d[h];
  }
  m->n_touched = nt;
}

static void lr_backward(lr_model *m, const uint32_t *x, size_t n)
{
  switch (m->heads) {
  case 1:
    lr_backward_k(m, x, n, 1);
    break;
  case 2:
    lr_backward_k(m, x, n, 2);
    break;
  case 3:
    lr_backward_k(m, x, n, 3);
    break;
  default:
    lr_backward_k(m, x, n, 4);
    break;
  }
}

/* Forward, loss and backward of one batch: m->g gets dJ/dw on the
 * touched columns (listed in m->touched); returns the loss value. */
static double lr_gradient(lr_model *m, const uint32_t *x, size_t n,
                          loss_fn loss, void *ctx)
{
  size_t H = (size_t)m->heads;
  lr_forward(m, x, n, m->z);
  double value = loss(ctx, n, m->heads, m->z, m->dz);
  lr_touch_reset(m);
  lr_backward(m, x, n);

  /* L2 on the touched weights, not on the biases (touched[0]). */
  for (size_t t = 1; t < m->n_touched; t++) {
    size_t k = (size_t)m->touched[t] * H;
    for (size_t h = 0; h < H; h++)
      m->g[k + h] += m->l2 * m->w[k + h];
  }
  return value;
}

/* Zero the gradient again on the touched columns only. */
static void lr_gradient_clear(lr_model *m)
{
  size_t H = (size_t)m->heads;
  for (size_t t = 0; t < m->n_touched; t++) {
    double *g = m->g + (size_t)m->touched[t] * H;
    for (size_t h = 0; h < H; h++)
      g[h] = 0;
  }
}

/* ---- optimisers ---- */

/* Dense Adam over every parameter (see the top of the file). */
static void lr_adam_update(lr_model *m)
{
  double t = (double)m->step;
  double alpha = m->learning_rate * sqrt(1 - pow(LR_ADAM_B2, t)) /
                 (1 - pow(LR_ADAM_B1, t));
  double *restrict w = m->w, *restrict mo = m->s1, *restrict v = m->s2;
  const double *restrict g = m->g;
  for (size_t k = 0; k < m->n_par; k++) {
    mo[k] = LR_ADAM_B1 * mo[k] + (1 - LR_ADAM_B1) * g[k];
    v[k] = LR_ADAM_B2 * v[k] + (1 - LR_ADAM_B2) * g[k] * g[k];
    w[k] -= alpha * mo[k] / (sqrt(v[k]) + LR_ADAM_EPS);
  }
}

/* Adagrad on the touched columns and the biases: exact, since a zero
 * gradient leaves both the accumulator and the weight unchanged. */
static void lr_adagrad_update(lr_model *m)
{
  size_t H = (size_t)m->heads;
  double lr = m->learning_rate;
  for (size_t t = 0; t < m->n_touched; t++) {
    size_t k0 = (size_t)m->touched[t] * H;
    for (size_t k = k0; k < k0 + H; k++) {
      double g = m->g[k];
      m->s1[k] += g * g;
      m->w[k] -= lr * g / (sqrt(m->s1[k]) + LR_ADAGRAD_EPS);
    }
  }
}

/* ---- the learner's methods ---- */

static void lr_predict(learner *l, const uint32_t *x, size_t n,
                       float *logits)
{
  lr_forward((const lr_model *)l, x, n, logits);
}

static int lr_train(learner *l, const uint32_t *x, size_t n, loss_fn loss,
                    void *ctx, double *loss_value)
{
  lr_model *m = (lr_model *)l;
  *loss_value = 0;
  if (n == 0)
    return 0;
  int rc = lr_reserve(m, n);
  if (rc)
    return rc;

  /* Gradient, a guard against a diverged loss, then the step. */
  double value = lr_gradient(m, x, n, loss, ctx);
  *loss_value = value;
  if (!isfinite(value)) {
    lr_gradient_clear(m);
    return df_fail(DF_EIO, "lr: the training loss is not finite (%g)",
                   value);
  }
  m->step++;
  if (m->optimizer == LEARNER_ADAM)
    lr_adam_update(m);
  else
    lr_adagrad_update(m);
  lr_gradient_clear(m);
  return 0;
}

const learner_type learner_lr = {
    .name = "lr",
    .summary = "hashed logistic regression, one weight per column and "
               "head (Adam or Adagrad)",
    .create = lr_create,
    .destroy = lr_destroy,
    .clone = lr_clone,
    .predict = lr_predict,
    .train = lr_train,
};

/* ---- internals for the tests (lr_internal.h) ---- */

size_t lr_param_count(const learner *l)
{
  return ((const lr_model *)l)->n_par;
}

double *lr_params(learner *l)
{
  return ((lr_model *)l)->w;
}

int lr_objective_grad(learner *l, const uint32_t *x, size_t n,
                      loss_fn loss, void *ctx, double *objective,
                      double *grad)
{
  lr_model *m = (lr_model *)l;
  int rc = lr_reserve(m, n);
  if (rc)
    return rc;
  double value = lr_gradient(m, x, n, loss, ctx);

  /* The penalty over the same touched weights as the gradient's. */
  size_t H = (size_t)m->heads;
  double pen = 0;
  for (size_t t = 1; t < m->n_touched; t++)
    for (size_t h = 0; h < H; h++) {
      double w = m->w[(size_t)m->touched[t] * H + h];
      pen += w * w;
    }
  *objective = value + 0.5 * m->l2 * pen;
  if (grad)
    memcpy(grad, m->g, m->n_par * sizeof *grad);
  lr_gradient_clear(m);
  return 0;
}
