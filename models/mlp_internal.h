/* mlp_internal.h: the MLP learner's internals, for its tests and
 * benchmark only (methods use the learner.h interface).
 *
 * The trainable parameters live in one flat float vector; a block
 * (a layer's kernel, bias, BatchNorm gamma or beta, the output layer,
 * the embedding table) is a contiguous slice of it.  The BatchNorm
 * running statistics live apart and are not trainable.  Pointers
 * returned here stay valid until the learner is destroyed. */
#ifndef DFB_MLP_INTERNAL_H
#define DFB_MLP_INTERNAL_H

#include <stddef.h>

#include "models/learner.h"

extern const learner_type learner_mlp;

enum mlp_block {
  MLP_KERNEL = 0, /* hidden layer l: [in x out] row-major; output
                     layer (l = n_hidden): [heads x in] */
  MLP_BIAS,       /* [out] */
  MLP_GAMMA,      /* BatchNorm scale [out], hidden layers only */
  MLP_BETA,       /* BatchNorm shift [out], hidden layers only */
  MLP_EMBED,      /* [embedding rows x width], layer ignored */
  MLP_RUN_MEAN,   /* BatchNorm running mean [out], not trainable */
  MLP_RUN_VAR,    /* BatchNorm running variance [out], not trainable */
};

/* Block kind of layer l of an MLP learner: its first float, its length
 * in *len and, for trainable blocks, its offset in the flat parameter
 * vector in *off ((size_t)-1 for running statistics).  NULL if the
 * block does not exist. */
float *mlp_block(learner *l, enum mlp_block kind, int layer, size_t *len,
                 size_t *off);

/* Length of the flat parameter vector (with alignment padding, whose
 * entries stay zero) and the number of real trainable parameters. */
size_t mlp_param_len(const learner *l);
size_t mlp_param_count(const learner *l);

/* Forward in training mode and backward on n rows, without touching
 * the running statistics or the optimiser: grad[mlp_param_len] gets
 * dL/dtheta including the L2 term, *loss_value the loss including
 * l2 * sum ||W||^2.  Returns 0 or DF_EINPUT. */
int mlp_gradient(learner *l, const uint32_t *x, size_t n, loss_fn loss,
                 void *ctx, double *loss_value, float *grad);

/* One optimiser step on the gradient accumulated so far (all zero
 * outside train): the dense update pass alone, for the benchmark. */
void mlp_optimizer_step(learner *l);

/* The element-wise passes of hidden layer l in training mode, the
 * very functions the network runs (arrays row-major, n rows of h
 * columns, no two arrays overlapping).
 *
 * Forward, given z = x W_l (without bias) in a[n x h]:
 *   a_ij = LeakyReLU(z_ij + b_j) (slope times negative values), in place,
 *   mu_j = mean_i a_ij, var_j = mean_i (a_ij - mu_j)^2 (biased),
 *   istd_j = 1 / sqrt(var_j + eps), xhat_ij = (a_ij - mu_j) istd_j,
 *   y_ij = gamma_j xhat_ij + beta_j.
 * mu, var and istd get h values, xhat and y n x h.  With n = 1 every
 * xhat is 0 and y = beta, as in Keras: one row has no spread to
 * normalise. */
void mlp_leaky_bn_forward(float *a, size_t n, int h, const float *b,
                          float slope, const float *gamma, const float *beta,
                          float eps, float *mu, float *var, float *istd,
                          float *xhat, float *y);

/* Backward of the same, in place on d[n x h] (dL/dy in, dL/dz out),
 * given the forward's xhat, its activations a (whose sign picks the
 * slope), gamma and istd:
 *   dbeta_j = sum_i dy_ij, dgamma_j = sum_i dy_ij xhat_ij,
 *   da_ij = gamma_j istd_j / n (n dy_ij - dbeta_j - xhat_ij dgamma_j),
 *   dz_ij = da_ij if a_ij > 0, else slope da_ij,
 *   db_j = sum_i dz_ij.
 * dgamma, dbeta and db are overwritten; scratch takes h floats.  With
 * n = 1, da = 0 exactly: a batch of one row sends no gradient below
 * BatchNorm and none to gamma, only beta learns. */
void mlp_bn_leaky_backward(float *d, const float *xhat, const float *a,
                           const float *gamma, const float *istd, size_t n,
                           int h, float slope, float *dgamma, float *dbeta,
                           float *db, float *scratch);

#endif
