/* lr_internal.h: the hashed logistic regression's internals, for its
 * tests only (tests/test_lr.c).  Not part of the learner contract.
 *
 * The parameters of an "lr" learner with H heads over C columns are one
 * array of (C + 1) H doubles: weight w[c H + h] of column c for head h,
 * and the bias of head h at w[C H + h]. */
#ifndef DFB_LR_INTERNAL_H
#define DFB_LR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "models/learner.h"

/* Number of parameters, (C + 1) H. */
size_t lr_param_count(const learner *l);

/* The parameter array itself, which the caller may read and change. */
double *lr_params(learner *l);

/* The objective one train() call on this batch minimises, without
 * updating anything:
 *
 *   J(w) = loss(z(w)) + (l2 / 2) sum_{c touched, h} w[c H + h]^2
 *
 * where "touched" are the columns active in at least one of the n rows
 * (never the bias).  *objective gets J; grad (may be NULL) gets dJ/dw
 * for every parameter, zero where untouched: exactly the gradient that
 * train() hands to the optimiser.  Returns 0 or DF_ENOMEM. */
int lr_objective_grad(learner *l, const uint32_t *x, size_t n,
                      loss_fn loss, void *ctx, double *objective,
                      double *grad);

#endif
