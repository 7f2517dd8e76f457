/* loss.h: per-head training losses for the learners.
 *
 * A learner computes logits z[i * heads + h] for a batch of n rows, hands
 * them to a loss function, and back-propagates the gradient the loss
 * writes, dL/dz, into grad (same layout).  The loss returns the batch
 * loss value.  Methods supply their own loss functions with this
 * signature when the standard ones below do not fit (DFM's delay
 * likelihood, for example). */
#ifndef DFB_LOSS_H
#define DFB_LOSS_H

#include <stddef.h>

typedef double (*loss_fn)(void *ctx, size_t n, int heads, const float *z,
                          float *grad);

enum loss_norm {
  LOSS_MEAN_ALL = 0, /* divide a head's sum by n, the batch size */
  LOSS_MEAN_MASKED,  /* divide by the number of unmasked rows */
};

#define LOSS_MAX_HEADS 4

/* Weighted, masked binary cross-entropy on every head:
 *
 *   L_h = (1/N_h) sum_i m_ih w_ih [ -y_ih log s(z_ih)
 *                                   - (1 - y_ih) log(1 - s(z_ih)) ]
 *   L = sum_h L_h,   dL/dz_ih = (1/N_h) m_ih w_ih (s(z_ih) - y_ih)
 *
 * with s the logistic function, computed from logits without overflow.
 * Soft labels y in [0, 1] are allowed.  For head h: label[h] is required,
 * weight[h] NULL means 1, mask[h] NULL means every row counts, N_h is n
 * (LOSS_MEAN_ALL) or the number of unmasked rows (LOSS_MEAN_MASKED; a
 * head with no unmasked row contributes 0).  Arrays are indexed by row. */
typedef struct loss_bce_ctx {
  const float *label[LOSS_MAX_HEADS];
  const float *weight[LOSS_MAX_HEADS];
  const unsigned char *mask[LOSS_MAX_HEADS];
  enum loss_norm norm[LOSS_MAX_HEADS];
} loss_bce_ctx;

double loss_bce(void *ctx, size_t n, int heads, const float *z, float *grad);

/* log(1 + exp(x)) without overflow, and log s(x) = -softplus(-x). */
double loss_softplus(double x);

#endif
