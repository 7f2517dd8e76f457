/* test_lr.c: the learner registry (models/learner.c) and the hashed
 * logistic regression (models/lr.c).
 *
 * Checks: the gradient train() applies equals central differences of
 * the objective; one Adam and one Adagrad step match their formulas; a
 * weight-2 row equals the row twice; on a synthetic logistic world the
 * model reaches the Bayes NLL; heads with masks train independently;
 * clones and reruns are bitwise identical; bad specs are refused with a
 * message.  The data come from a fixed splitmix64 stream, so every run
 * sees the same numbers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/learner.h"
#include "models/lr_internal.h"
#include "sim/log.h"

/* ---- helpers ---- */

static uint64_t rng_next(uint64_t *s)
{
  uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

/* Uniform on [0, 1). */
static double rng_unif(uint64_t *s)
{
  return (double)(rng_next(s) >> 11) * 0x1p-53;
}

/* A spec of `fields` categorical fields of v columns each. */
static learner_spec make_spec(int fields, int v, int heads,
                              enum learner_optimizer opt, double lr,
                              double l2)
{
  learner_spec s;
  memset(&s, 0, sizeof s);
  s.features.n_cat = fields;
  for (int f = 0; f < fields; f++) {
    s.features.cat_buckets[f] = v;
    s.features.cat_off[f] = f * v;
  }
  s.features.n_columns = fields * v;
  s.heads = heads;
  s.optimizer = opt;
  s.learning_rate = lr;
  s.l2 = l2;
  return s;
}

static learner *make_lr(const learner_spec *s)
{
  learner *l;
  int rc = learner_create("lr", s, &l);
  if (rc)
    fail_msg("learner_create: %s", df_errmsg());
  return l;
}

/* n random rows: column f v + U{0..v-1} in field f. */
static void random_rows(uint64_t *s, int fields, int v, size_t n,
                        uint32_t *x)
{
  for (size_t i = 0; i < n; i++)
    for (int f = 0; f < fields; f++)
      x[i * (size_t)fields + (size_t)f] =
          (uint32_t)(f * v) + (uint32_t)(rng_next(s) % (uint64_t)v);
}

static void random_params(uint64_t *s, learner *l, double scale)
{
  double *w = lr_params(l);
  for (size_t k = 0; k < lr_param_count(l); k++)
    w[k] = scale * (2 * rng_unif(s) - 1);
}

/* loss_bce times n: a plain weighted sum, so that a weight-2 row and
 * two copies of the row give the same objective (the mean divides by
 * different batch sizes). */
static double loss_sum(void *ctx, size_t n, int heads, const float *z,
                       float *grad)
{
  double v = loss_bce(ctx, n, heads, z, grad);
  for (size_t k = 0; k < n * (size_t)heads; k++)
    grad[k] *= (float)n;
  return v * (double)n;
}

/* ---- gradient check ---- */

enum { GC_F = 3, GC_V = 5, GC_H = 2, GC_N = 8 };

/* The batch of the gradient checks: 8 rows over 15 columns (some
 * untouched), weighted labels on head 0, a masked head 1. */
typedef struct gc_batch {
  uint32_t x[GC_N * GC_F];
  float y0[GC_N], y1[GC_N], w0[GC_N];
  unsigned char m1[GC_N];
  loss_bce_ctx ctx;
} gc_batch;

static void gc_batch_fill(gc_batch *b, uint64_t *s)
{
  random_rows(s, GC_F, GC_V, GC_N, b->x);
  for (int i = 0; i < GC_N; i++) {
    b->y0[i] = (float)(rng_next(s) & 1);
    b->y1[i] = (float)rng_unif(s); /* soft labels */
    b->w0[i] = (float)(0.5 + 1.5 * rng_unif(s));
    b->m1[i] = (unsigned char)(i % 3 != 1);
  }
  memset(&b->ctx, 0, sizeof b->ctx);
  b->ctx.label[0] = b->y0;
  b->ctx.label[1] = b->y1;
  b->ctx.weight[0] = b->w0;
  b->ctx.mask[1] = b->m1;
  b->ctx.norm[1] = LOSS_MEAN_MASKED;
}

/* dJ/dw from the code against (J(w + h) - J(w - h)) / 2h with h = 1e-2.
 * The logits are floats (relative rounding 6e-8), which puts about 1e-5
 * of noise into each difference; the truncation error h^2 J''' / 6 is
 * below 1e-6.  Tolerance: 1e-4 absolute plus 1e-3 relative, far below
 * the size of any missing term (an L2 term alone is 0.1 |w| ~ 0.03). */
static void test_gradient_check(void **state)
{
  uint64_t s = 11;
  learner_spec spec = make_spec(GC_F, GC_V, GC_H, LEARNER_ADAM, 0.01, 0.1);
  learner *l = make_lr(&spec);
  random_params(&s, l, 0.5);
  gc_batch b;
  gc_batch_fill(&b, &s);

  size_t np = lr_param_count(l);
  assert_int_equal(np, (GC_F * GC_V + 1) * GC_H);
  double grad[(GC_F * GC_V + 1) * GC_H], j0;
  assert_int_equal(
      lr_objective_grad(l, b.x, GC_N, loss_bce, &b.ctx, &j0, grad), 0);

  double *w = lr_params(l), h = 1e-2;
  int untouched = 0;
  for (size_t k = 0; k < np; k++) {
    double keep = w[k], jp, jm;
    w[k] = keep + h;
    lr_objective_grad(l, b.x, GC_N, loss_bce, &b.ctx, &jp, NULL);
    w[k] = keep - h;
    lr_objective_grad(l, b.x, GC_N, loss_bce, &b.ctx, &jm, NULL);
    w[k] = keep;
    double fd = (jp - jm) / (2 * h);
    if (!(fabs(fd - grad[k]) <= 1e-4 + 1e-3 * fabs(grad[k])))
      fail_msg("param %zu: gradient %.9g, central difference %.9g", k,
               grad[k], fd);
    untouched += grad[k] == 0 && fd == 0;
  }
  /* 8 rows cannot cover all 15 columns of this seed: some stay at 0. */
  assert_true(untouched > 0);
  learner_destroy(l);
}

/* ---- one optimiser step against its formula ---- */

typedef struct step_case {
  enum learner_optimizer opt;
  double lr;
} step_case;

static const step_case step_cases[] = {
    {LEARNER_ADAM, 0.01},
    {LEARNER_ADAGRAD, 0.05},
};

/* From random weights and a fresh optimiser, train() must move each
 * weight by Adam's first step, with m = 0.1 g and v = 0.001 g^2,
 *   w - lr sqrt(1 - 0.999) / (1 - 0.9) m / (sqrt(v) + 1e-7),
 * or Adagrad's from the accumulator 0.1,
 *   w - lr g / (sqrt(0.1 + g^2) + 1e-7),
 * g being lr_objective_grad's gradient.  Both sides are double
 * arithmetic in a different order: tolerance 1e-12 relative. */
static void test_optimizer_step(void **state)
{
  for (size_t c = 0; c < sizeof step_cases / sizeof step_cases[0]; c++) {
    uint64_t s = 23;
    learner_spec spec =
        make_spec(GC_F, GC_V, GC_H, step_cases[c].opt, step_cases[c].lr,
                  0.1);
    learner *l = make_lr(&spec);
    random_params(&s, l, 0.5);
    gc_batch b;
    gc_batch_fill(&b, &s);

    enum { NP = (GC_F * GC_V + 1) * GC_H };
    double g[NP], w0[NP], j;
    memcpy(w0, lr_params(l), sizeof w0);
    lr_objective_grad(l, b.x, GC_N, loss_bce, &b.ctx, &j, g);
    double loss;
    assert_int_equal(learner_train(l, b.x, GC_N, loss_bce, &b.ctx, &loss),
                     0);

    const double *w1 = lr_params(l), lr = step_cases[c].lr;
    for (int k = 0; k < NP; k++) {
      double want;
      if (step_cases[c].opt == LEARNER_ADAM)
        want = w0[k] - lr * sqrt(0.001) / 0.1 * (0.1 * g[k]) /
                           (sqrt(0.001 * g[k] * g[k]) + 1e-7);
      else
        want = w0[k] - lr * g[k] / (sqrt(0.1 + g[k] * g[k]) + 1e-7);
      if (!(fabs(w1[k] - want) <= 1e-12 * fabs(want)))
        fail_msg("case %zu param %d: %.17g, want %.17g", c, k, w1[k],
                 want);
    }
    learner_destroy(l);
  }
}

/* ---- a weight-2 row equals the row twice ---- */

/* Rows a, b, c, d with a weighted 2 against a, a, b, c, d with unit
 * weights, under a summed loss: objectives and gradients equal to 1e-6
 * (float gradients summed in another order). */
static void test_weight_is_duplication(void **state)
{
  uint64_t s = 5;
  learner_spec spec = make_spec(3, 6, 1, LEARNER_ADAM, 0.01, 0.01);
  learner *l = make_lr(&spec);
  random_params(&s, l, 0.7);

  uint32_t xw[4 * 3], xd[5 * 3];
  random_rows(&s, 3, 6, 4, xw);
  memcpy(xd, xw, 3 * sizeof *xw);
  memcpy(xd + 3, xw, 4 * 3 * sizeof *xw);
  float yw[4] = {1, 0, 1, 0}, ww[4] = {2, 1, 0.5f, 1.5f};
  float yd[5] = {1, 1, 0, 1, 0}, wd[5] = {1, 1, 1, 0.5f, 1.5f};
  loss_bce_ctx cw = {.label = {yw}, .weight = {ww}};
  loss_bce_ctx cd = {.label = {yd}, .weight = {wd}};

  double gw[19], gd[19], jw, jd;
  assert_int_equal(lr_param_count(l), 19);
  lr_objective_grad(l, xw, 4, loss_sum, &cw, &jw, gw);
  lr_objective_grad(l, xd, 5, loss_sum, &cd, &jd, gd);
  assert_true(fabs(jw - jd) <= 1e-6);
  for (int k = 0; k < 19; k++)
    if (!(fabs(gw[k] - gd[k]) <= 1e-6))
      fail_msg("param %d: weighted %.9g, duplicated %.9g", k, gw[k],
               gd[k]);
  learner_destroy(l);
}

/* ---- learning a logistic world ---- */

enum { LW_F = 4, LW_V = 30, LW_TRAIN = 200000, LW_TEST = 100000 };

typedef struct learn_case {
  enum learner_optimizer opt;
  double lr;
  int epochs, batch;
} learn_case;

static const learn_case learn_cases[] = {
    {LEARNER_ADAM, 0.01, 3, 256},
    {LEARNER_ADAGRAD, 0.1, 3, 256},
};

/* A world with 4 fields of 30 values, true logit
 *   z = -1 + sum_f t_f(value_f),  t ~ U(-1.2, 1.2),
 * labels drawn from s(z).  After 3 epochs over 200000 rows the model's
 * mean NLL on 100000 fresh rows must be within 0.01 of the Bayes NLL of
 * the true probabilities on the same rows (the estimation excess is
 * about 121 / (2 * 200000) = 3e-4). */
static void test_learns_bayes(void **state)
{
  uint64_t s = 2024;
  double truth[LW_F * LW_V];
  for (int k = 0; k < LW_F * LW_V; k++)
    truth[k] = 1.2 * (2 * rng_unif(&s) - 1);
  size_t n = LW_TRAIN + LW_TEST;
  uint32_t *x = malloc(n * LW_F * sizeof *x);
  float *y = malloc(n * sizeof *y), *z = malloc(LW_TEST * sizeof *z);
  double *zt = malloc(n * sizeof *zt);
  assert_non_null(x && y && z && zt);
  random_rows(&s, LW_F, LW_V, n, x);
  for (size_t i = 0; i < n; i++) {
    zt[i] = -1;
    for (int f = 0; f < LW_F; f++)
      zt[i] += truth[x[i * LW_F + (size_t)f]];
    y[i] = (float)(rng_unif(&s) < 1 / (1 + exp(-zt[i])));
  }

  for (size_t c = 0; c < sizeof learn_cases / sizeof learn_cases[0]; c++) {
    const learn_case *lc = &learn_cases[c];
    learner_spec spec = make_spec(LW_F, LW_V, 1, lc->opt, lc->lr, 1e-6);
    learner *l = make_lr(&spec);
    for (int e = 0; e < lc->epochs; e++)
      for (size_t i = 0; i < LW_TRAIN; i += (size_t)lc->batch) {
        size_t b = LW_TRAIN - i < (size_t)lc->batch ? LW_TRAIN - i
                                                    : (size_t)lc->batch;
        loss_bce_ctx ctx = {.label = {y + i}};
        double loss;
        assert_int_equal(
            learner_train(l, x + i * LW_F, b, loss_bce, &ctx, &loss), 0);
      }

    /* NLL = softplus(z) - y z, for the model and for the truth. */
    learner_predict(l, x + (size_t)LW_TRAIN * LW_F, LW_TEST, z);
    double nll = 0, bayes = 0;
    for (size_t i = 0; i < LW_TEST; i++) {
      double yi = y[LW_TRAIN + i], zb = zt[LW_TRAIN + i];
      nll += loss_softplus(z[i]) - yi * z[i];
      bayes += loss_softplus(zb) - yi * zb;
    }
    nll /= LW_TEST;
    bayes /= LW_TEST;
    print_message("optimizer %d: nll %.5f bayes %.5f\n", (int)lc->opt, nll,
                  bayes);
    assert_true(fabs(nll - bayes) < 0.01);
    learner_destroy(l);
  }
  free(x);
  free(y);
  free(z);
  free(zt);
}

/* ---- heads train independently ---- */

enum { MH_F = 3, MH_V = 10, MH_N = 64, MH_STEPS = 100 };

/* A 2-head learner whose heads see disjoint masks (even rows, odd
 * rows) and different labels gives, head by head, the same bits as two
 * 1-head learners trained on the same rows with that head's labels and
 * mask: no head's data leaks into the other's weights. */
static void test_heads_independent(void **state)
{
  static const enum learner_optimizer opts[] = {LEARNER_ADAM,
                                                LEARNER_ADAGRAD};
  for (int o = 0; o < 2; o++) {
    learner_spec s2 = make_spec(MH_F, MH_V, 2, opts[o], 0.05, 1e-3);
    learner_spec s1 = make_spec(MH_F, MH_V, 1, opts[o], 0.05, 1e-3);
    learner *two = make_lr(&s2), *one[2] = {make_lr(&s1), make_lr(&s1)};
    uint64_t s = 99;
    uint32_t x[MH_N * MH_F];
    float y[2][MH_N];
    unsigned char m[2][MH_N];
    for (int step = 0; step < MH_STEPS; step++) {
      /* Head 0 likes field 0's low values, head 1 its high ones. */
      random_rows(&s, MH_F, MH_V, MH_N, x);
      for (int i = 0; i < MH_N; i++) {
        int v0 = (int)x[i * MH_F];
        y[0][i] = (float)(v0 < 5);
        y[1][i] = (float)(v0 >= 5 && rng_unif(&s) < 0.8);
        m[0][i] = (unsigned char)(i % 2 == 0);
        m[1][i] = (unsigned char)(i % 2 == 1);
      }
      loss_bce_ctx c2 = {.label = {y[0], y[1]},
                         .mask = {m[0], m[1]},
                         .norm = {LOSS_MEAN_MASKED, LOSS_MEAN_MASKED}};
      double loss;
      assert_int_equal(learner_train(two, x, MH_N, loss_bce, &c2, &loss),
                       0);
      for (int h = 0; h < 2; h++) {
        loss_bce_ctx c1 = {.label = {y[h]},
                           .mask = {m[h]},
                           .norm = {LOSS_MEAN_MASKED}};
        assert_int_equal(
            learner_train(one[h], x, MH_N, loss_bce, &c1, &loss), 0);
      }
    }

    float z2[MH_N * 2], z1[2][MH_N];
    random_rows(&s, MH_F, MH_V, MH_N, x);
    learner_predict(two, x, MH_N, z2);
    for (int h = 0; h < 2; h++)
      learner_predict(one[h], x, MH_N, z1[h]);
    int differ = 0;
    for (int i = 0; i < MH_N; i++) {
      for (int h = 0; h < 2; h++)
        assert_memory_equal(&z2[2 * i + h], &z1[h][i], sizeof(float));
      differ += z2[2 * i] != z2[2 * i + 1];
    }
    /* The heads learnt different things. */
    assert_true(differ > MH_N / 2);
    learner_destroy(two);
    learner_destroy(one[0]);
    learner_destroy(one[1]);
  }
}

/* ---- clone and determinism ---- */

/* Train l on `steps` batches drawn from *s (4 fields of 8, 2 heads). */
static void train_steps(learner *l, uint64_t *s, int steps)
{
  uint32_t x[32 * 4];
  float y0[32], y1[32];
  for (int t = 0; t < steps; t++) {
    random_rows(s, 4, 8, 32, x);
    for (int i = 0; i < 32; i++) {
      y0[i] = (float)(x[i * 4] % 2);
      y1[i] = (float)rng_unif(s);
    }
    loss_bce_ctx ctx = {.label = {y0, y1}};
    double loss;
    assert_int_equal(learner_train(l, x, 32, loss_bce, &ctx, &loss), 0);
  }
}

static void predict_probe(learner *l, float *z)
{
  uint64_t s = 777;
  uint32_t x[50 * 4];
  random_rows(&s, 4, 8, 50, x);
  learner_predict(l, x, 50, z);
}

/* A clone predicts the same bits; training the clone leaves the
 * original alone; the original trained on the same batches then
 * matches the clone bit for bit (the optimiser state was copied). */
static void test_clone(void **state)
{
  static const enum learner_optimizer opts[] = {LEARNER_ADAM,
                                                LEARNER_ADAGRAD};
  for (int o = 0; o < 2; o++) {
    learner_spec spec = make_spec(4, 8, 2, opts[o], 0.05, 1e-3);
    learner *a = make_lr(&spec), *b;
    uint64_t s = 3;
    train_steps(a, &s, 20);
    assert_int_equal(learner_clone(a, &b), 0);
    float za[100], zb[100], za0[100];
    predict_probe(a, za0);
    predict_probe(b, zb);
    assert_memory_equal(za0, zb, sizeof za0);

    uint64_t sb = s, sa = s;
    train_steps(b, &sb, 20);
    predict_probe(a, za);
    assert_memory_equal(za, za0, sizeof za);
    predict_probe(b, zb);
    assert_memory_not_equal(za, zb, sizeof za);

    train_steps(a, &sa, 20);
    predict_probe(a, za);
    assert_memory_equal(za, zb, sizeof za);
    assert_memory_equal(lr_params(a), lr_params(b),
                        lr_param_count(a) * sizeof(double));
    learner_destroy(a);
    learner_destroy(b);
  }
}

/* Two runs of the same calls give the same bytes. */
static void test_deterministic(void **state)
{
  learner_spec spec = make_spec(4, 8, 2, LEARNER_ADAM, 0.02, 1e-4);
  learner *a = make_lr(&spec), *b = make_lr(&spec);
  uint64_t sa = 8, sb = 8;
  train_steps(a, &sa, 50);
  train_steps(b, &sb, 50);
  assert_memory_equal(lr_params(a), lr_params(b),
                      lr_param_count(a) * sizeof(double));
  float za[100], zb[100];
  predict_probe(a, za);
  predict_probe(b, zb);
  assert_memory_equal(za, zb, sizeof za);
  learner_destroy(a);
  learner_destroy(b);
}

/* ---- registry, config and bad input ---- */

static void test_registry(void **state)
{
  const learner_type *t = learner_find("lr");
  assert_non_null(t);
  assert_string_equal(t->name, "lr");
  assert_null(learner_find("svm"));
  assert_non_null(strstr(learner_names(), "lr"));

  /* The defaults of the config table reach the spec. */
  df_config cfg;
  cfg_defaults(&cfg);
  learner_spec base = make_spec(2, 4, 1, LEARNER_ADAM, 0.1, 0);
  learner_spec spec;
  assert_int_equal(
      learner_spec_from_config(&spec, &cfg, &base.features, 2), 0);
  assert_int_equal(spec.heads, 2);
  assert_int_equal(spec.optimizer, LEARNER_ADAM);
  assert_true(spec.learning_rate == 0.001 && spec.l2 == 1e-6);
  assert_int_equal(spec.n_hidden, 3);
  assert_int_equal(spec.hidden[2], 128);
  assert_int_equal(spec.features.n_columns, 8);
  assert_int_equal(cfg_set(&cfg, "model.optimizer=adagrad"), 0);
  assert_int_equal(
      learner_spec_from_config(&spec, &cfg, &base.features, 1), 0);
  assert_int_equal(spec.optimizer, LEARNER_ADAGRAD);
}

typedef struct bad_case {
  const char *type;
  int heads;
  double lr;
  const char *want;
} bad_case;

static const bad_case bad_cases[] = {
    {"svm", 1, 0.1, "unknown learner 'svm'; valid: lr"},
    {"lr", 0, 0.1, "learner lr: 0 heads; valid: 1 to 4"},
    {"lr", 5, 0.1, "learner lr: 5 heads; valid: 1 to 4"},
    {"lr", 1, 0, "lr: learning rate must be > 0"},
};

static void test_bad_input(void **state)
{
  for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
    learner_spec spec = make_spec(2, 4, bad_cases[c].heads, LEARNER_ADAM,
                                  bad_cases[c].lr, 0);
    learner dummy = {NULL}, *l = &dummy; /* must be reset to NULL */
    assert_int_equal(learner_create(bad_cases[c].type, &spec, &l),
                     DF_EINPUT);
    assert_null(l);
    if (!strstr(df_errmsg(), bad_cases[c].want))
      fail_msg("message '%s' lacks '%s'", df_errmsg(), bad_cases[c].want);
  }

  /* Config-level errors name the key and where it was set. */
  df_config cfg;
  cfg_defaults(&cfg);
  assert_int_equal(cfg_set(&cfg, "model.hidden=1,2,3,4,5,6,7,8,9"), 0);
  learner_spec base = make_spec(2, 4, 1, LEARNER_ADAM, 0.1, 0), spec;
  assert_int_equal(
      learner_spec_from_config(&spec, &cfg, &base.features, 1), DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "--set: model.hidden: 9 layers"));
  cfg_defaults(&cfg);
  assert_int_equal(
      learner_spec_from_config(&spec, &cfg, &base.features, 9), DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "1 to 4 heads, not 9"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradient_check),
      cmocka_unit_test(test_optimizer_step),
      cmocka_unit_test(test_weight_is_duplication),
      cmocka_unit_test(test_learns_bayes),
      cmocka_unit_test(test_heads_independent),
      cmocka_unit_test(test_clone),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_registry),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests_name("lr", tests, NULL, NULL);
}
