/* mlp.c: the ES-DFM paper's multilayer perceptron as a learner.
 *
 * Network (Yang et al., "Capturing Delayed Feedback in Conversion Rate
 * Prediction via Elapsed-Time Sampling", AAAI 2021, and its Keras code):
 *
 *   input  u = [ onehot(int bins) | e(cat_1) | ... | e(cat_K) ]
 *   layer  h_l = BN_l(LeakyReLU(h_{l-1} W_l + b_l)),  l = 1 .. L
 *   output z = h_L W_o + b_o  (one logit per head)
 *
 * with e() rows of one embedding table over all categorical columns
 * (row = column - cat_off[0]).  The one-hot part of u is never built:
 * u W_1 is the sum of the n_int rows of W_1 picked by the integer
 * columns plus [e(cat_1) .. e(cat_K)] times the embedding rows of W_1,
 * a small GEMM.  The other layers are single-threaded OpenBLAS sgemm
 * calls, the output layer (a few heads) plain loops.
 *
 * BatchNorm as Keras's (non-fused, 2-D input) layer: batch mean and
 * biased batch variance in training, eps = 1e-3, running statistics
 * r <- m r + (1 - m) batch with m = bn_momentum; the running variance
 * is fed the biased batch variance, as Keras's non-fused path does
 * (TensorFlow's fused kernel, used for 4-D inputs only, would feed the
 * unbiased one).  Inference uses the running statistics.
 *
 * Loss: the caller's loss_fn gives dL/dz; we add l2 * ||W_l||^2 for
 * the hidden kernels W_1 .. W_L (Keras kernel_regularizer=l2(l2):
 * not the output kernel, biases, BatchNorm or embeddings), and the
 * reported loss value includes that term, as Keras's training loss
 * does.
 *
 * Optimisers, Keras defaults, dense over every parameter (embedding
 * rows and one-hot rows of W_1 that a batch does not touch still move
 * with their momentum, as in Keras where a Dense kernel's gradient is
 * dense):
 *   Adam (Kingma & Ba 2015): m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2,
 *     w <- w - lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + 1e-7),
 *     b1 = 0.9, b2 = 0.999;
 *   Adagrad (Duchi et al. 2011): a <- a + g^2 (a starts at 0.1),
 *     w <- w - lr g / (sqrt(a) + 1e-7).
 *
 * Initialisation, Keras defaults, from a splitmix64 stream seeded by
 * spec->seed: kernels Glorot uniform, limit sqrt(6 / (fan_in +
 * fan_out)) (fan_in of W_1 is the whole input width); biases and beta
 * 0; gamma 1; embeddings uniform(-0.05, 0.05); running mean 0, running
 * variance 1.
 *
 * Memory: parameters, gradients and optimiser state are flat float
 * vectors with every block padded to 16 floats; scratch for a batch
 * grows to the largest batch seen (predict works in chunks).  The
 * gradient vector is all zero between calls: the update pass clears
 * it, so the scatter-adds of the sparse input need no memset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "models/mlp_internal.h"
#include "sim/log.h"

/* Element-wise kernels are compiled for AVX-512, AVX2 and baseline
 * x86-64 and picked at load time, so results repeat bit for bit on one
 * machine; across machines the order of the vector reductions (like
 * OpenBLAS's kernels) may change the last bits. */
#define MLP_CLONES                                                           \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#define MLP_ALIGN         16 /* floats: blocks start on 64 bytes */
#define MLP_PREDICT_CHUNK 1024
#define MLP_BN_EPS        1e-3f
#define MLP_ADAM_B1       0.9
#define MLP_ADAM_B2       0.999
#define MLP_EPS           1e-7f
#define MLP_ADAGRAD_INIT  0.1f

typedef struct mlp_layer {
  int in, out;
  size_t w, b, gamma, beta; /* offsets in the parameter vector */
} mlp_layer;

typedef struct mlp {
  learner base;
  learner_spec spec;
  int n_layers, heads, width; /* width: columns per row (n_int + n_cat) */
  int onehot;                 /* one-hot columns: cat_off[0] */
  int emb_dim, emb_in;        /* embedding width, n_cat * emb_dim */
  size_t emb_rows;
  mlp_layer layer[LEARNER_MAX_HIDDEN];
  size_t w_out, b_out, emb; /* offsets */
  size_t n_decay;           /* [0, n_decay): hidden kernels */
  size_t n_param, n_real;
  float *param, *grad, *m1, *m2; /* m2 unused by Adagrad */
  float *run_mean[LEARNER_MAX_HIDDEN], *run_var[LEARNER_MAX_HIDDEN];
  float *mu[LEARNER_MAX_HIDDEN], *var[LEARNER_MAX_HIDDEN];
  float *istd[LEARNER_MAX_HIDDEN], *bscale[LEARNER_MAX_HIDDEN];
  float *stats; /* one block behind the per-feature arrays above */
  long step;
  /* Batch scratch, rows <= cap. */
  size_t cap;
  float *scratch;
  float *act[LEARNER_MAX_HIDDEN], *xhat[LEARNER_MAX_HIDDEN];
  float *out[LEARNER_MAX_HIDDEN];
  float *einp, *de, *d0, *d1, *z, *dz;
} mlp;

/* ---- small helpers ------------------------------------------------ */

static size_t mlp_pad(size_t n)
{
  return (n + MLP_ALIGN - 1) / MLP_ALIGN * MLP_ALIGN;
}

static float *mlp_falloc(size_t n)
{
  float *p = aligned_alloc(64, mlp_pad(n ? n : 1) * sizeof(float));

  if (p)
    memset(p, 0, mlp_pad(n ? n : 1) * sizeof(float));
  return p;
}

/* splitmix64 (Steele, Lea & Flood 2014): a tiny seeded stream. */
static uint64_t mlp_rand64(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform on (-limit, limit) from the top 53 bits. */
static float mlp_uniform(uint64_t *s, double limit)
{
  double u = (double)(mlp_rand64(s) >> 11) * 0x1.0p-53;

  return (float)((2.0 * u - 1.0) * limit);
}

/* Flush denormals to zero (and read them as zero) while the learner
 * computes, as TensorFlow does on CPU: Adam moments of parameters
 * whose gradient stays zero decay into the denormal range, where x86
 * arithmetic is some 100 times slower.  The caller's mode comes back
 * on return (the MXCSR register is per thread). */
static unsigned mlp_ftz_begin(void)
{
#if defined(__SSE__)
  unsigned old = _mm_getcsr();

  _mm_setcsr(old | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
  return old;
#else
  return 0;
#endif
}

static void mlp_ftz_end(unsigned old)
{
#if defined(__SSE__)
  _mm_setcsr(old);
#else
  (void)old;
#endif
}

/* ---- spec checks and layout --------------------------------------- */

static int mlp_check_features(const feat_spec *f)
{
  int col = 0;

  if (f->n_int < 0 || f->n_cat < 0 || f->n_int > CLICKS_MAX_FEATURES ||
      f->n_cat > CLICKS_MAX_FEATURES || f->n_int + f->n_cat < 1)
    return df_fail(DF_EINPUT,
                   "mlp: need 1 .. %d integer and categorical "
                   "fields, got %d and %d",
                   CLICKS_MAX_FEATURES, f->n_int, f->n_cat);
  for (int j = 0; j < f->n_int; j++) {
    if (f->int_bins[j] < 1 || f->int_off[j] != col)
      return df_fail(DF_EINPUT,
                     "mlp: integer field %d: bins %d at "
                     "offset %d, expected offset %d",
                     j, f->int_bins[j], f->int_off[j], col);
    col += f->int_bins[j];
  }
  for (int k = 0; k < f->n_cat; k++) {
    if (f->cat_buckets[k] < 1 || f->cat_off[k] != col)
      return df_fail(DF_EINPUT,
                     "mlp: categorical field %d: buckets %d at "
                     "offset %d, expected offset %d",
                     k, f->cat_buckets[k], f->cat_off[k], col);
    col += f->cat_buckets[k];
  }
  if (f->n_columns != col)
    return df_fail(DF_EINPUT, "mlp: n_columns %d, fields add up to %d",
                   f->n_columns, col);
  return 0;
}

static int mlp_check_spec(const learner_spec *s)
{
  if (s->heads < 1 || s->heads > LOSS_MAX_HEADS)
    return df_fail(DF_EINPUT, "mlp: heads %d not in 1 .. %d", s->heads,
                   LOSS_MAX_HEADS);
  if (s->n_hidden < 1 || s->n_hidden > LEARNER_MAX_HIDDEN)
    return df_fail(DF_EINPUT, "mlp: %d hidden layers, need 1 .. %d",
                   s->n_hidden, LEARNER_MAX_HIDDEN);
  for (int l = 0; l < s->n_hidden; l++)
    if (s->hidden[l] < 1)
      return df_fail(DF_EINPUT, "mlp: hidden layer %d has %d units", l,
                     s->hidden[l]);
  if (s->features.n_cat > 0 && s->embedding < 1)
    return df_fail(DF_EINPUT, "mlp: embedding width %d, need >= 1",
                   s->embedding);
  if (!(s->learning_rate > 0) || !(s->l2 >= 0))
    return df_fail(DF_EINPUT,
                   "mlp: learning rate %g must be > 0 and "
                   "l2 %g >= 0",
                   s->learning_rate, s->l2);
  if (!(s->leaky_slope >= 0 && s->leaky_slope <= 1))
    return df_fail(DF_EINPUT, "mlp: leaky slope %g not in [0, 1]",
                   s->leaky_slope);
  if (!(s->bn_momentum >= 0 && s->bn_momentum < 1))
    return df_fail(DF_EINPUT, "mlp: BatchNorm momentum %g not in [0, 1)",
                   s->bn_momentum);
  if (s->optimizer != LEARNER_ADAM && s->optimizer != LEARNER_ADAGRAD)
    return df_fail(DF_EINPUT, "mlp: unknown optimizer %d", (int)s->optimizer);
  return mlp_check_features(&s->features);
}

/* Offsets of every block: hidden kernels first (the L2 region), then
 * biases, gamma, beta, the output layer and the embedding table. */
static void mlp_layout(mlp *m)
{
  const learner_spec *s = &m->spec;
  size_t off = 0;
  int in = m->onehot + m->emb_in;

  m->n_real = 0;
  for (int l = 0; l < m->n_layers; l++) {
    m->layer[l].in = in;
    m->layer[l].out = s->hidden[l];
    m->layer[l].w = off;
    off += mlp_pad((size_t)in * s->hidden[l]);
    m->n_real += (size_t)in * s->hidden[l] + 3 * (size_t)s->hidden[l];
    in = s->hidden[l];
  }
  m->n_decay = off;
  for (int l = 0; l < m->n_layers; l++) {
    size_t h = mlp_pad((size_t)m->layer[l].out);

    m->layer[l].b = off;
    m->layer[l].gamma = off + h;
    m->layer[l].beta = off + 2 * h;
    off += 3 * h;
  }
  m->w_out = off;
  off += mlp_pad((size_t)m->heads * in);
  m->b_out = off;
  off += mlp_pad((size_t)m->heads);
  m->emb = off;
  off += mlp_pad(m->emb_rows * m->emb_dim);
  m->n_param = off;
  m->n_real += (size_t)m->heads * (in + 1) + m->emb_rows * m->emb_dim;
}

/* ---- create, destroy, clone --------------------------------------- */

static void mlp_destroy(learner *l)
{
  mlp *m = (mlp *)l;

  if (!m)
    return;
  free(m->param);
  free(m->grad);
  free(m->m1);
  free(m->m2);
  free(m->stats);
  free(m->scratch);
  free(m);
}

/* Per-feature arrays: running mean and variance, batch mean, variance,
 * 1/std and a backward scale of every hidden layer, from one block. */
static int mlp_alloc_stats(mlp *m)
{
  size_t total = 0;

  for (int l = 0; l < m->n_layers; l++)
    total += 6 * mlp_pad((size_t)m->layer[l].out);
  m->stats = mlp_falloc(total);
  if (!m->stats)
    return DF_ENOMEM;
  float *p = m->stats;
  for (int l = 0; l < m->n_layers; l++) {
    size_t h = mlp_pad((size_t)m->layer[l].out);

    m->run_mean[l] = p;
    m->run_var[l] = p + h;
    m->mu[l] = p + 2 * h;
    m->var[l] = p + 3 * h;
    m->istd[l] = p + 4 * h;
    m->bscale[l] = p + 5 * h;
    p += 6 * h;
  }
  return 0;
}

/* Keras default initialisers (see the file comment). */
static void mlp_init(mlp *m)
{
  uint64_t s = m->spec.seed;
  float *p = m->param;

  for (int l = 0; l <= m->n_layers; l++) {
    int last = l == m->n_layers;
    int fan_in = last ? m->layer[l - 1].out : m->layer[l].in;
    int fan_out = last ? m->heads : m->layer[l].out;
    size_t w = last ? m->w_out : m->layer[l].w;
    double limit = sqrt(6.0 / (fan_in + fan_out));

    for (size_t i = 0; i < (size_t)fan_in * fan_out; i++)
      p[w + i] = mlp_uniform(&s, limit);
  }
  for (int l = 0; l < m->n_layers; l++)
    for (int j = 0; j < m->layer[l].out; j++) {
      p[m->layer[l].gamma + j] = 1.0f;
      m->run_var[l][j] = 1.0f;
    }
  for (size_t i = 0; i < m->emb_rows * m->emb_dim; i++)
    p[m->emb + i] = mlp_uniform(&s, 0.05);
  if (m->spec.optimizer == LEARNER_ADAGRAD)
    for (size_t i = 0; i < m->n_param; i++)
      m->m1[i] = MLP_ADAGRAD_INIT;
}

static int mlp_create(const learner_spec *spec, learner **out)
{
  int rc = mlp_check_spec(spec);
  mlp *m = NULL;

  *out = NULL;
  if (rc)
    return rc;
  m = calloc(1, sizeof *m);
  if (!m)
    goto nomem;
  m->base.type = &learner_mlp;
  m->spec = *spec;
  m->n_layers = spec->n_hidden;
  m->heads = spec->heads;
  m->width = spec->features.n_int + spec->features.n_cat;
  m->onehot = spec->features.n_cat ? spec->features.cat_off[0]
                                   : spec->features.n_columns;
  m->emb_dim = spec->features.n_cat ? spec->embedding : 0;
  m->emb_in = spec->features.n_cat * m->emb_dim;
  m->emb_rows = (size_t)(spec->features.n_columns - m->onehot);
  mlp_layout(m);
  m->param = mlp_falloc(m->n_param);
  m->grad = mlp_falloc(m->n_param);
  m->m1 = mlp_falloc(m->n_param);
  m->m2 = mlp_falloc(m->n_param);
  if (!m->param || !m->grad || !m->m1 || !m->m2 || mlp_alloc_stats(m))
    goto nomem;
  mlp_init(m);
  *out = &m->base;
  return 0;
nomem:
  mlp_destroy(&m->base);
  return df_fail(DF_ENOMEM, "mlp: out of memory for the parameters");
}

/* A deep copy: parameters, optimiser state, step count and running
 * statistics (the scratch is not state and is not copied). */
static int mlp_clone(const learner *l, learner **out)
{
  const mlp *src = (const mlp *)l;
  learner *cp = NULL;
  int rc = mlp_create(&src->spec, &cp);
  mlp *dst = (mlp *)cp;

  if (rc)
    return rc;
  memcpy(dst->param, src->param, src->n_param * sizeof(float));
  memcpy(dst->m1, src->m1, src->n_param * sizeof(float));
  memcpy(dst->m2, src->m2, src->n_param * sizeof(float));
  for (int k = 0; k < src->n_layers; k++) {
    size_t h = (size_t)src->layer[k].out * sizeof(float);

    memcpy(dst->run_mean[k], src->run_mean[k], h);
    memcpy(dst->run_var[k], src->run_var[k], h);
  }
  dst->step = src->step;
  *out = cp;
  return 0;
}

/* Scratch for n rows: per hidden layer its activations, normalised
 * values and outputs; the embedding input and its gradient; two
 * gradient buffers as wide as the widest layer; logits and dL/dz. */
static int mlp_reserve(mlp *m, size_t n)
{
  size_t per_row = 0, cap, hmax = 0;

  if (n <= m->cap)
    return 0;
  cap = mlp_pad(n);
  for (int l = 0; l < m->n_layers; l++) {
    per_row += 3 * (size_t)m->layer[l].out;
    if ((size_t)m->layer[l].out > hmax)
      hmax = (size_t)m->layer[l].out;
  }
  per_row += 2 * (size_t)m->emb_in + 2 * hmax + 2 * (size_t)m->heads;
  free(m->scratch);
  m->cap = 0;
  m->scratch = mlp_falloc(cap * per_row);
  if (!m->scratch)
    return df_fail(DF_ENOMEM, "mlp: out of memory for a batch of %zu", n);
  float *p = m->scratch;
  for (int l = 0; l < m->n_layers; l++) {
    size_t h = cap * m->layer[l].out;

    m->act[l] = p;
    m->xhat[l] = p + h;
    m->out[l] = p + 2 * h;
    p += 3 * h;
  }
  m->einp = p;
  m->de = p + cap * m->emb_in;
  p += 2 * cap * m->emb_in;
  m->d0 = p;
  m->d1 = p + cap * hmax;
  p += 2 * cap * hmax;
  m->z = p;
  m->dz = p + cap * m->heads;
  m->cap = cap;
  return 0;
}

/* ---- LeakyReLU and BatchNorm kernels ----------------------------- */

/* A hidden layer's element-wise passes are two kernels, one forward
 * and one backward, each fusing LeakyReLU with BatchNorm so that the
 * batch is read as few times as possible (these passes cost as much
 * as the GEMMs).  Both are exported through mlp_internal.h: the
 * network calls them and test_mlp checks them, so the code that is
 * tested is the code that trains. */

/* Given mu_j (already the batch mean): var_j and istd_j. */
MLP_CLONES static void bn_variance(const float *restrict a, size_t n, int h,
                                   const float *restrict mu, float eps,
                                   float *restrict var, float *restrict istd)
{
  memset(var, 0, (size_t)h * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    const float *restrict ai = a + i * h;
#pragma omp simd
    for (int j = 0; j < h; j++) {
      float d = ai[j] - mu[j];
      var[j] += d * d;
    }
  }
  float inv_n = 1.0f / (float)n;
#pragma omp simd
  for (int j = 0; j < h; j++) {
    var[j] *= inv_n;
    istd[j] = 1.0f / sqrtf(var[j] + eps);
  }
}

MLP_CLONES static void bn_normalize(const float *restrict a, size_t n, int h,
                                    const float *restrict mu,
                                    const float *restrict istd,
                                    const float *restrict gamma,
                                    const float *restrict beta,
                                    float *restrict xhat, float *restrict y)
{
  for (size_t i = 0; i < n; i++) {
    const float *restrict ai = a + i * h;
    float *restrict xi = xhat + i * h;
    float *restrict yi = y + i * h;
#pragma omp simd
    for (int j = 0; j < h; j++) {
      float x = (ai[j] - mu[j]) * istd[j];
      xi[j] = x;
      yi[j] = gamma[j] * x + beta[j];
    }
  }
}

/* a = LeakyReLU(z + b) in place; in training also the column sums
 * into mu (then scaled to the batch mean). */
MLP_CLONES static void mlp_leaky(float *restrict a, size_t n, int h,
                                 const float *restrict b, float slope,
                                 float *restrict mu)
{
  if (mu)
    memset(mu, 0, (size_t)h * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    float *restrict ai = a + i * h;
#pragma omp simd
    for (int j = 0; j < h; j++) {
      float v = ai[j] + b[j];
      ai[j] = v > 0.0f ? v : slope * v;
    }
    if (mu) {
#pragma omp simd
      for (int j = 0; j < h; j++)
        mu[j] += ai[j];
    }
  }
  if (mu) {
    float inv_n = 1.0f / (float)n;
#pragma omp simd
    for (int j = 0; j < h; j++)
      mu[j] *= inv_n;
  }
}

void mlp_leaky_bn_forward(float *restrict a, size_t n, int h,
                          const float *restrict b, float slope,
                          const float *restrict gamma,
                          const float *restrict beta, float eps,
                          float *restrict mu, float *restrict var,
                          float *restrict istd, float *restrict xhat,
                          float *restrict y)
{
  mlp_leaky(a, n, h, b, slope, mu);
  bn_variance(a, n, h, mu, eps, var, istd);
  bn_normalize(a, n, h, mu, istd, gamma, beta, xhat, y);
}

/* dgamma_j, dbeta_j: sums over the batch (overwritten). */
MLP_CLONES static void bn_grad_sums(const float *restrict dy,
                                    const float *restrict xhat, size_t n,
                                    int h, float *restrict dgamma,
                                    float *restrict dbeta)
{
  memset(dgamma, 0, (size_t)h * sizeof(float));
  memset(dbeta, 0, (size_t)h * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    const float *restrict di = dy + i * h;
    const float *restrict xi = xhat + i * h;
#pragma omp simd
    for (int j = 0; j < h; j++) {
      dbeta[j] += di[j];
      dgamma[j] += di[j] * xi[j];
    }
  }
}

/* The backward formulas are in mlp_internal.h.  The per-column factor
 * gamma_j istd_j / n goes to scratch first, so that the row loop is
 * one multiply-add chain per element. */
MLP_CLONES void mlp_bn_leaky_backward(
    float *restrict d, const float *restrict xhat, const float *restrict a,
    const float *restrict gamma, const float *restrict istd, size_t n, int h,
    float slope, float *restrict dgamma, float *restrict dbeta,
    float *restrict db, float *restrict scratch)
{
  float *restrict k = scratch, fn = (float)n;

  bn_grad_sums(d, xhat, n, h, dgamma, dbeta);
  memset(db, 0, (size_t)h * sizeof(float));
#pragma omp simd
  for (int j = 0; j < h; j++)
    k[j] = gamma[j] * istd[j] / fn;
  for (size_t i = 0; i < n; i++) {
    float *restrict di = d + i * h;
    const float *restrict xi = xhat + i * h;
    const float *restrict ai = a + i * h;
#pragma omp simd
    for (int j = 0; j < h; j++) {
      float dx = k[j] * (fn * di[j] - dbeta[j] - xi[j] * dgamma[j]);
      float dz = ai[j] > 0.0f ? dx : slope * dx;
      di[j] = dz;
      db[j] += dz;
    }
  }
}

/* ---- forward ------------------------------------------------------ */

/* z[n x h1] = u W_1 without the bias: the embedding part as a GEMM,
 * then the one-hot part as a sum of picked rows of W_1. */
MLP_CLONES static void mlp_first_layer(mlp *m, const uint32_t *x, size_t n,
                                       float *restrict z)
{
  const feat_spec *f = &m->spec.features;
  const float *w1 = m->param + m->layer[0].w;
  const float *emb = m->param + m->emb;
  int h = m->layer[0].out, e = m->emb_dim;

  if (m->emb_in > 0) {
    for (size_t i = 0; i < n; i++)
      for (int k = 0; k < f->n_cat; k++) {
        size_t row = x[i * m->width + f->n_int + k] - (size_t)m->onehot;
        memcpy(m->einp + i * m->emb_in + (size_t)k * e, emb + row * e,
               (size_t)e * sizeof(float));
      }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, h,
                m->emb_in, 1.0f, m->einp, m->emb_in,
                w1 + (size_t)m->onehot * h, h, 0.0f, z, h);
  } else {
    memset(z, 0, n * h * sizeof(float));
  }
  for (size_t i = 0; i < n; i++) {
    float *restrict zi = z + i * h;
    for (int j = 0; j < f->n_int; j++) {
      const float *restrict wr = w1 + (size_t)x[i * m->width + j] * h;
#pragma omp simd
      for (int c = 0; c < h; c++)
        zi[c] += wr[c];
    }
  }
}

/* Inference BatchNorm folded into y = a s + t, s = gamma / sqrt(rv +
 * eps), t = beta - rm s; done in place. */
MLP_CLONES static void mlp_bn_infer(mlp *m, int l, float *restrict a,
                                    size_t n)
{
  int h = m->layer[l].out;
  float *restrict s = m->mu[l], *restrict t = m->var[l];
  const float *gamma = m->param + m->layer[l].gamma;
  const float *beta = m->param + m->layer[l].beta;

  for (int j = 0; j < h; j++) {
    s[j] = gamma[j] / sqrtf(m->run_var[l][j] + MLP_BN_EPS);
    t[j] = beta[j] - m->run_mean[l][j] * s[j];
  }
  for (size_t i = 0; i < n; i++) {
    float *restrict ai = a + i * h;
#pragma omp simd
    for (int j = 0; j < h; j++)
      ai[j] = ai[j] * s[j] + t[j];
  }
}

/* z[i * heads + k] = b_o[k] + <y_i, W_o[k]>. */
MLP_CLONES static void mlp_output(const mlp *m, const float *restrict y,
                                  size_t n, float *restrict z)
{
  int in = m->layer[m->n_layers - 1].out;
  const float *w = m->param + m->w_out, *b = m->param + m->b_out;

  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < m->heads; k++) {
      const float *restrict wk = w + (size_t)k * in;
      const float *restrict yi = y + i * in;
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int c = 0; c < in; c++)
        s += yi[c] * wk[c];
      z[i * m->heads + k] = s + b[k];
    }
}

/* Dense layer l >= 1 without bias: z = in W_l. */
static void mlp_dense(const mlp *m, int l, const float *in, size_t n,
                      float *z)
{
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n,
              m->layer[l].out, m->layer[l].in, 1.0f, in, m->layer[l].in,
              m->param + m->layer[l].w, m->layer[l].out, 0.0f, z,
              m->layer[l].out);
}

/* Training-mode forward: every layer's activations, batch statistics,
 * normalised values and outputs stay in the scratch; logits in m->z. */
static void mlp_forward_train(mlp *m, const uint32_t *x, size_t n)
{
  float slope = (float)m->spec.leaky_slope;

  for (int l = 0; l < m->n_layers; l++) {
    int h = m->layer[l].out;

    if (l == 0)
      mlp_first_layer(m, x, n, m->act[0]);
    else
      mlp_dense(m, l, m->out[l - 1], n, m->act[l]);
    mlp_leaky_bn_forward(m->act[l], n, h, m->param + m->layer[l].b, slope,
                         m->param + m->layer[l].gamma,
                         m->param + m->layer[l].beta, MLP_BN_EPS, m->mu[l],
                         m->var[l], m->istd[l], m->xhat[l], m->out[l]);
  }
  mlp_output(m, m->out[m->n_layers - 1], n, m->z);
}

static void mlp_predict(learner *l, const uint32_t *x, size_t n,
                        float *logits)
{
  mlp *m = (mlp *)l;
  float slope = (float)m->spec.leaky_slope;
  size_t chunk = n < MLP_PREDICT_CHUNK ? n : MLP_PREDICT_CHUNK;

  if (n == 0)
    return;
  if (mlp_reserve(m, chunk)) { /* no status to return: mark the rows */
    for (size_t i = 0; i < n * (size_t)m->heads; i++)
      logits[i] = NAN;
    return;
  }
  unsigned csr = mlp_ftz_begin();
  for (size_t r = 0; r < n; r += chunk) {
    size_t c = n - r < chunk ? n - r : chunk;
    const uint32_t *xr = x + r * m->width;

    for (int k = 0; k < m->n_layers; k++) {
      if (k == 0)
        mlp_first_layer(m, xr, c, m->act[0]);
      else
        mlp_dense(m, k, m->act[k - 1], c, m->act[k]);
      mlp_leaky(m->act[k], c, m->layer[k].out, m->param + m->layer[k].b,
                slope, NULL);
      mlp_bn_infer(m, k, m->act[k], c);
    }
    mlp_output(m, m->act[m->n_layers - 1], c, logits + r * m->heads);
  }
  mlp_ftz_end(csr);
}

/* ---- backward ----------------------------------------------------- */

/* Output layer: dW_o[k] = sum_i dz_ik y_i, db_o[k] = sum_i dz_ik,
 * dy_i = sum_k dz_ik W_o[k]. */
MLP_CLONES static void mlp_output_backward(mlp *m, const float *restrict y,
                                           size_t n, float *restrict dy)
{
  int in = m->layer[m->n_layers - 1].out;
  const float *w = m->param + m->w_out;
  float *gw = m->grad + m->w_out, *gb = m->grad + m->b_out;

  for (size_t i = 0; i < n; i++) {
    const float *restrict yi = y + i * in;
    float *restrict di = dy + i * in;

    memset(di, 0, (size_t)in * sizeof(float));
    for (int k = 0; k < m->heads; k++) {
      float g = m->dz[i * m->heads + k];
      float *restrict gk = gw + (size_t)k * in;
      const float *restrict wk = w + (size_t)k * in;

      gb[k] += g;
#pragma omp simd
      for (int c = 0; c < in; c++) {
        gk[c] += g * yi[c];
        di[c] += g * wk[c];
      }
    }
  }
}

/* First layer: dW_1 rows of the one-hot part by scatter-add, the
 * embedding rows by a GEMM, and the embedding table's gradient. */
MLP_CLONES static void mlp_first_backward(mlp *m, const uint32_t *x, size_t n,
                                          const float *dz)
{
  const feat_spec *f = &m->spec.features;
  int h = m->layer[0].out, e = m->emb_dim;
  float *gw = m->grad + m->layer[0].w, *ge = m->grad + m->emb;

  for (size_t i = 0; i < n; i++) {
    const float *restrict di = dz + i * h;
    for (int j = 0; j < f->n_int; j++) {
      float *restrict gr = gw + (size_t)x[i * m->width + j] * h;
#pragma omp simd
      for (int c = 0; c < h; c++)
        gr[c] += di[c];
    }
  }
  if (m->emb_in == 0)
    return;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m->emb_in, h, (int)n,
              1.0f, m->einp, m->emb_in, dz, h, 0.0f,
              gw + (size_t)m->onehot * h, h);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, m->emb_in, h,
              1.0f, dz, h, m->param + m->layer[0].w + (size_t)m->onehot * h,
              h, 0.0f, m->de, m->emb_in);
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < f->n_cat; k++) {
      size_t row = x[i * m->width + f->n_int + k] - (size_t)m->onehot;
      float *restrict gr = ge + row * e;
      const float *restrict src = m->de + i * m->emb_in + (size_t)k * e;
#pragma omp simd
      for (int c = 0; c < e; c++)
        gr[c] += src[c];
    }
}

/* Backward through the whole network from m->dz into m->grad (which
 * must be zero on entry). */
static void mlp_backward(mlp *m, const uint32_t *x, size_t n)
{
  float *d = m->d0, *d_prev = m->d1;

  mlp_output_backward(m, m->out[m->n_layers - 1], n, d);
  for (int l = m->n_layers - 1; l >= 0; l--) {
    int in = m->layer[l].in, h = m->layer[l].out;

    mlp_bn_leaky_backward(
        d, m->xhat[l], m->act[l], m->param + m->layer[l].gamma, m->istd[l], n,
        h, (float)m->spec.leaky_slope, m->grad + m->layer[l].gamma,
        m->grad + m->layer[l].beta, m->grad + m->layer[l].b, m->bscale[l]);
    if (l == 0) {
      mlp_first_backward(m, x, n, d);
      break;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, h, (int)n, 1.0f,
                m->out[l - 1], in, d, h, 0.0f, m->grad + m->layer[l].w, h);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, in, h, 1.0f,
                d, h, m->param + m->layer[l].w, h, 0.0f, d_prev, in);
    float *t = d;
    d = d_prev;
    d_prev = t;
  }
}

/* ---- training ----------------------------------------------------- */

static int mlp_check_rows(const mlp *m, const uint32_t *x, size_t n)
{
  const feat_spec *f = &m->spec.features;

  if (n == 0 || n > (size_t)1 << 30)
    return df_fail(DF_EINPUT, "mlp: batch of %zu rows, need 1 .. 2^30", n);
  for (size_t i = 0; i < n; i++) {
    const uint32_t *xi = x + i * m->width;
    for (int j = 0; j < f->n_int; j++)
      if (xi[j] - (uint32_t)f->int_off[j] >= (uint32_t)f->int_bins[j])
        return df_fail(DF_EINPUT,
                       "mlp: row %zu: column %u is not in "
                       "integer field %d",
                       i, xi[j], j);
    for (int k = 0; k < f->n_cat; k++) {
      uint32_t c = xi[f->n_int + k];
      if (c - (uint32_t)f->cat_off[k] >= (uint32_t)f->cat_buckets[k])
        return df_fail(DF_EINPUT,
                       "mlp: row %zu: column %u is not in "
                       "categorical field %d",
                       i, c, k);
    }
  }
  return 0;
}

/* Forward, loss and backward: m->grad holds dL/dtheta without the L2
 * term, *data_loss the caller's loss. */
static int mlp_forward_backward(mlp *m, const uint32_t *x, size_t n,
                                loss_fn loss, void *ctx, double *data_loss)
{
  int rc = mlp_check_rows(m, x, n);

  if (!rc)
    rc = mlp_reserve(m, n);
  if (rc)
    return rc;
  unsigned csr = mlp_ftz_begin();
  mlp_forward_train(m, x, n);
  mlp_ftz_end(csr);
  *data_loss = loss(ctx, n, m->heads, m->z, m->dz);
  if (!isfinite(*data_loss))
    return df_fail(DF_EINPUT, "mlp: the loss is %g", *data_loss);
  csr = mlp_ftz_begin();
  mlp_backward(m, x, n);
  mlp_ftz_end(csr);
  return 0;
}

static double mlp_l2_norm2(const mlp *m)
{
  const float *restrict w = m->param;
  float s = 0.0f;

#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < m->n_decay; i++)
    s += w[i] * w[i];
  return s;
}

int mlp_gradient(learner *l, const uint32_t *x, size_t n, loss_fn loss,
                 void *ctx, double *loss_value, float *grad)
{
  mlp *m = (mlp *)l;
  double data_loss = 0.0;
  int rc = mlp_forward_backward(m, x, n, loss, ctx, &data_loss);
  float l2x2 = (float)(2.0 * m->spec.l2);

  if (!rc) {
    for (size_t i = 0; i < m->n_param; i++)
      grad[i] = m->grad[i] + (i < m->n_decay ? l2x2 * m->param[i] : 0.0f);
    *loss_value = data_loss + m->spec.l2 * mlp_l2_norm2(m);
  }
  memset(m->grad, 0, m->n_param * sizeof(float));
  return rc;
}

/* Adam on w[0..n) with gradient g + decay w; clears g.  Returns the
 * sum of w^2 before the step (the L2 term's norm). */
MLP_CLONES static float mlp_adam(float *restrict w, float *restrict g,
                                 float *restrict m1, float *restrict m2,
                                 size_t n, float decay, float lr_t)
{
  const float b1 = (float)MLP_ADAM_B1, b2 = (float)MLP_ADAM_B2;
  float ss = 0.0f;

#pragma omp simd reduction(+ : ss)
  for (size_t i = 0; i < n; i++) {
    float wi = w[i], gi = g[i] + decay * wi;
    float mi = b1 * m1[i] + (1.0f - b1) * gi;
    float vi = b2 * m2[i] + (1.0f - b2) * gi * gi;

    ss += wi * wi;
    m1[i] = mi;
    m2[i] = vi;
    w[i] = wi - lr_t * mi / (sqrtf(vi) + MLP_EPS);
    g[i] = 0.0f;
  }
  return ss;
}

/* Adagrad likewise. */
MLP_CLONES static float mlp_adagrad(float *restrict w, float *restrict g,
                                    float *restrict acc, size_t n,
                                    float decay, float lr)
{
  float ss = 0.0f;

#pragma omp simd reduction(+ : ss)
  for (size_t i = 0; i < n; i++) {
    float wi = w[i], gi = g[i] + decay * wi;
    float ai = acc[i] + gi * gi;

    ss += wi * wi;
    acc[i] = ai;
    w[i] = wi - lr * gi / (sqrtf(ai) + MLP_EPS);
    g[i] = 0.0f;
  }
  return ss;
}

/* One optimiser step over the L2 region and the rest; returns the L2
 * region's squared norm before the step. */
static double mlp_update(mlp *m)
{
  float decay = (float)(2.0 * m->spec.l2);
  size_t nd = m->n_decay, rest = m->n_param - nd;
  double ss;

  m->step++;
  if (m->spec.optimizer == LEARNER_ADAGRAD) {
    float lr = (float)m->spec.learning_rate;
    ss = mlp_adagrad(m->param, m->grad, m->m1, nd, decay, lr);
    mlp_adagrad(m->param + nd, m->grad + nd, m->m1 + nd, rest, 0.0f, lr);
    return ss;
  }
  double t = (double)m->step;
  float lr_t =
      (float)(m->spec.learning_rate * sqrt(1.0 - pow(MLP_ADAM_B2, t)) /
              (1.0 - pow(MLP_ADAM_B1, t)));
  ss = mlp_adam(m->param, m->grad, m->m1, m->m2, nd, decay, lr_t);
  mlp_adam(m->param + nd, m->grad + nd, m->m1 + nd, m->m2 + nd, rest, 0.0f,
           lr_t);
  return ss;
}

/* Running statistics: r <- m r + (1 - m) batch (Keras momentum). */
static void mlp_update_running(mlp *m)
{
  float mom = (float)m->spec.bn_momentum;

  for (int l = 0; l < m->n_layers; l++) {
    float *restrict rm = m->run_mean[l], *restrict rv = m->run_var[l];
    const float *restrict mu = m->mu[l], *restrict var = m->var[l];
#pragma omp simd
    for (int j = 0; j < m->layer[l].out; j++) {
      rm[j] = mom * rm[j] + (1.0f - mom) * mu[j];
      rv[j] = mom * rv[j] + (1.0f - mom) * var[j];
    }
  }
}

static int mlp_train(learner *l, const uint32_t *x, size_t n, loss_fn loss,
                     void *ctx, double *loss_value)
{
  mlp *m = (mlp *)l;
  double data_loss = 0.0;
  int rc = mlp_forward_backward(m, x, n, loss, ctx, &data_loss);

  if (rc) {
    memset(m->grad, 0, m->n_param * sizeof(float));
    return rc;
  }
  unsigned csr = mlp_ftz_begin();
  mlp_update_running(m);
  double ss = mlp_update(m);
  mlp_ftz_end(csr);
  if (loss_value)
    *loss_value = data_loss + m->spec.l2 * ss;
  return 0;
}

/* ---- internals for tests ------------------------------------------ */

void mlp_optimizer_step(learner *l)
{
  unsigned csr = mlp_ftz_begin();

  mlp_update((mlp *)l);
  mlp_ftz_end(csr);
}

float *mlp_block(learner *l, enum mlp_block kind, int layer, size_t *len,
                 size_t *off)
{
  mlp *m = (mlp *)l;
  size_t o = (size_t)-1, n = 0;
  int hidden = layer >= 0 && layer < m->n_layers;
  int in_range = layer >= 0 && layer <= m->n_layers;
  float *p = NULL;

  if (kind == MLP_EMBED && m->emb_in > 0) {
    o = m->emb;
    n = m->emb_rows * m->emb_dim;
  } else if (kind == MLP_KERNEL && in_range) {
    o = hidden ? m->layer[layer].w : m->w_out;
    n = hidden ? (size_t)m->layer[layer].in * m->layer[layer].out
               : (size_t)m->heads * m->layer[m->n_layers - 1].out;
  } else if (kind == MLP_BIAS && in_range) {
    o = hidden ? m->layer[layer].b : m->b_out;
    n = hidden ? (size_t)m->layer[layer].out : (size_t)m->heads;
  } else if ((kind == MLP_GAMMA || kind == MLP_BETA) && hidden) {
    o = kind == MLP_GAMMA ? m->layer[layer].gamma : m->layer[layer].beta;
    n = (size_t)m->layer[layer].out;
  } else if ((kind == MLP_RUN_MEAN || kind == MLP_RUN_VAR) && hidden) {
    p = kind == MLP_RUN_MEAN ? m->run_mean[layer] : m->run_var[layer];
    n = (size_t)m->layer[layer].out;
  } else {
    return NULL;
  }
  if (!p)
    p = m->param + o;
  if (len)
    *len = n;
  if (off)
    *off = o;
  return p;
}

size_t mlp_param_len(const learner *l)
{
  return ((const mlp *)l)->n_param;
}

size_t mlp_param_count(const learner *l)
{
  return ((const mlp *)l)->n_real;
}

const learner_type learner_mlp = {
    .name = "mlp",
    .summary = "ES-DFM paper MLP: one-hot integer bins and categorical "
               "embeddings, Dense-LeakyReLU-BatchNorm layers",
    .create = mlp_create,
    .destroy = mlp_destroy,
    .clone = mlp_clone,
    .predict = mlp_predict,
    .train = mlp_train,
};
