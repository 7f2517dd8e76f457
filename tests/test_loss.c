/* test_loss.c: the standard losses (models/loss.c) against values from
 * an independent reference.
 *
 * Expected numbers come from numpy in double precision (/usr/bin/python3,
 * numpy 1.24): softplus(x) = np.logaddexp(0, x), s(x) = 1/(1+exp(-x)),
 * L_h = sum(m w (softplus(z) - y z)) / N_h, dL/dz = m w (s(z) - y) / N_h.
 * Labels and weights enter as the floats the C code sees (0.3f is
 * 0.30000001192092896).  The logits are exact in float, so the loss
 * (summed in double) must match to 1e-12 relative; the gradients are
 * floats, so 1e-7 relative plus 1e-30 absolute. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "models/loss.h"

static void assert_close(double got, double want, double rel, double abs_)
{
  if (!(fabs(got - want) <= abs_ + rel * fabs(want)))
    fail_msg("got %.17g, want %.17g (rel %g, abs %g)", got, want, rel,
             abs_);
}

/* ---- softplus ---- */

static const struct {
  double x, want;
} softplus_cases[] = {
    {0, 0.6931471805599453},
    {3, 3.048587351573742},
    {-3, 0.04858735157374206},
    {100, 100},
    {-100, 3.720075976020836e-44},
    {800, 800}, /* exp(800) overflows; the answer must not */
    {-800, 0},
};

static void test_softplus(void **state)
{
  for (size_t i = 0; i < sizeof softplus_cases / sizeof softplus_cases[0];
       i++)
    assert_close(loss_softplus(softplus_cases[i].x), softplus_cases[i].want,
                 1e-15, 0);
}

/* ---- bce on one batch of 4 rows and 2 heads ---- */

/* z[i][h]; head 0 has soft label 0.3 in row 2, head 1 meets |z| = 100
 * in rows 1 and 2, the second of them on the wrong side. */
static const float bce_z[8] = {0, 2, -1, 100, 3, -100, 0.5f, -0.5f};
static const float bce_y0[4] = {1, 0, 0.3f, 1};
static const float bce_y1[4] = {0, 1, 1, 0};
static const float bce_w1[4] = {1, 2, 0.5f, 3};
static const unsigned char bce_m1[4] = {1, 1, 1, 0};

typedef struct bce_case {
  const char *name;
  enum loss_norm norm1; /* head 0 is always LOSS_MEAN_ALL, unweighted */
  double loss;
  double grad1[4]; /* head 1's gradient; head 0's is in bce_grad0 */
} bce_case;

/* Head 0 alone: 0.9072682920173074 (its 0.3f is 0.30000001192...). */
static const double bce_grad0[4] = {-0.125, 0.06723535534249878,
                                    0.1631435287253761,
                                    -0.09438516719953635};

static const bce_case bce_cases[] = {
    /* Head 1 masked mean, N = 3: 17.375642670347656. */
    {"masked mean", LOSS_MEAN_MASKED, 18.282910962364962,
     {0.2935990259926275, 0, -0.16666666666666666, 0}},
    /* Head 1 mean over all n = 4: 13.031732002760743. */
    {"mean over all", LOSS_MEAN_ALL, 13.939000294778051,
     {0.22019926949447063, 0, -0.125, 0}},
};

static void test_bce(void **state)
{
  for (size_t c = 0; c < sizeof bce_cases / sizeof bce_cases[0]; c++) {
    const bce_case *bc = &bce_cases[c];
    loss_bce_ctx ctx = {
        .label = {bce_y0, bce_y1},
        .weight = {NULL, bce_w1},
        .mask = {NULL, bce_m1},
        .norm = {LOSS_MEAN_ALL, bc->norm1},
    };
    float grad[8];
    double loss = loss_bce(&ctx, 4, 2, bce_z, grad);
    assert_close(loss, bc->loss, 1e-12, 0);
    for (int i = 0; i < 4; i++) {
      assert_close(grad[2 * i], bce_grad0[i], 1e-7, 1e-30);
      assert_close(grad[2 * i + 1], bc->grad1[i], 1e-7, 1e-30);
    }
  }
}

/* A head whose rows are all masked out adds nothing under the masked
 * mean, and its gradient is zero. */
static void test_bce_empty_head(void **state)
{
  static const unsigned char none[4] = {0, 0, 0, 0};
  loss_bce_ctx ctx = {
      .label = {bce_y0, bce_y1},
      .mask = {NULL, none},
      .norm = {LOSS_MEAN_ALL, LOSS_MEAN_MASKED},
  };
  float grad[8];
  double loss = loss_bce(&ctx, 4, 2, bce_z, grad);
  assert_close(loss, 0.9072682920173074, 1e-12, 0);
  for (int i = 0; i < 4; i++) {
    assert_close(grad[2 * i], bce_grad0[i], 1e-7, 1e-30);
    assert_true(grad[2 * i + 1] == 0);
  }
}

/* Extreme logits: the right side costs e^-100 = 3.7e-44, the wrong side
 * 100; everything finite.  Mean (2 * 3.72e-44 + 200) / 4 = 50. */
static void test_bce_extreme(void **state)
{
  static const float z[4] = {100, -100, 100, -100};
  static const float y[4] = {1, 0, 0, 1};
  static const double want_grad[4] = {0, 9.300189940052091e-45, 0.25,
                                      -0.25};
  loss_bce_ctx ctx = {.label = {y}};
  float grad[4];
  double loss = loss_bce(&ctx, 4, 1, z, grad);
  assert_true(isfinite(loss));
  assert_close(loss, 50, 1e-15, 0);
  for (int i = 0; i < 4; i++) {
    assert_true(isfinite(grad[i]));
    assert_close(grad[i], want_grad[i], 1e-7, 1e-44);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_softplus),
      cmocka_unit_test(test_bce),
      cmocka_unit_test(test_bce_empty_head),
      cmocka_unit_test(test_bce_extreme),
  };
  return cmocka_run_group_tests_name("loss", tests, NULL, NULL);
}
