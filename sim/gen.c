/* gen.c: the synthetic world (see gen.h for the model it draws from). */
#include "sim/gen.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "sim/log.h"

#define DAY 86400.0
/* Daily rhythm: intensity 1 + RHYTHM_AMP cos(2 pi (t/DAY - RHYTHM_PEAK)). */
#define RHYTHM_AMP 0.5
#define RHYTHM_PEAK (20.0 / 24.0)
/* Clicks per independently seeded chunk: fixed, so that the output does
 * not depend on the number of threads. */
#define CHUNK 65536
/* Clicks drawn to solve the intercept for generator.cvr. */
#define PILOT 200000
/* Correlation of the integer features with the click's latent factor. */
#define LATENT_RHO 0.5
/* Share of the logit variance carried by integer features. */
#define INT_SHARE 0.3

typedef struct alias_table {
  int n;
  double *prob;
  int *alias;
} alias_table;

struct gen_world {
  df_config cfg;
  uint64_t seed;
  delay_dist delay;
  delay_tilt tilt;
  double span;        /* seconds */
  double attribution; /* seconds */
  double b0;
  int n_int, n_cat;
  double int_mu[CLICKS_MAX_FEATURES];
  double int_coef[CLICKS_MAX_FEATURES];
  double cat_sd, pair_sd;
  alias_table vocab[CLICKS_MAX_FEATURES];
};

/* ---- hashing: every effect of the world is a hash of its inputs ---- */

/* splitmix64's finaliser: a bijection of 64-bit words that mixes well. */
static inline uint64_t mix64(uint64_t x)
{
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

static inline uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
  return mix64(mix64(mix64(a) + b) + c);
}

/* A uniform in [0, 1) from a hash. */
static inline double hash_unit(uint64_t h)
{
  return (double)(h >> 11) * 0x1.0p-53;
}

/* A standard normal from a hash (Box-Muller on two derived uniforms). */
static inline double hash_gauss(uint64_t h)
{
  double u1 = 1.0 - hash_unit(mix64(h ^ UINT64_C(0x9e3779b97f4a7c15)));
  double u2 = hash_unit(mix64(h + UINT64_C(0x632be59bd9b4e019)));
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Salts that keep the world's hash families apart. */
enum salt {
  SALT_MU = 1,
  SALT_COEF,
  SALT_LIFE,
  SALT_PHASE,
  SALT_VALUE,
  SALT_EFFECT,
  SALT_PAIR,
  SALT_DELAY,
  SALT_MISSING_INT,
  SALT_CHUNK,
  SALT_TIMES,
  SALT_PILOT,
  SALT_MIX,
};

static inline uint64_t salted(const gen_world *w, enum salt s)
{
  return mix64(w->seed * UINT64_C(0x100000001b3) + (uint64_t)s);
}

/* ---- Zipf vocabularies: Vose's alias method, O(1) a draw ---- */

static int alias_build(alias_table *t, int n, double exponent)
{
  t->n = n;
  t->prob = malloc((size_t)n * sizeof *t->prob);
  t->alias = malloc((size_t)n * sizeof *t->alias);
  int *small = malloc((size_t)n * sizeof *small);
  int *large = malloc((size_t)n * sizeof *large);
  double *p = malloc((size_t)n * sizeof *p);
  int rc = 0;
  if (!t->prob || !t->alias || !small || !large || !p) {
    rc = df_fail(DF_ENOMEM, "out of memory for a vocabulary of %d", n);
    goto cleanup;
  }

  /* Rank r (0-based) has weight (r + 1)^-exponent, scaled to mean 1. */
  double sum = 0;
  for (int r = 0; r < n; r++)
    sum += p[r] = pow(r + 1.0, -exponent);
  int ns = 0, nl = 0;
  for (int r = 0; r < n; r++) {
    p[r] *= n / sum;
    if (p[r] < 1.0)
      small[ns++] = r;
    else
      large[nl++] = r;
  }

  /* Pair each under-full column with an over-full one. */
  while (ns && nl) {
    int s = small[--ns], l = large[--nl];
    t->prob[s] = p[s];
    t->alias[s] = l;
    p[l] -= 1.0 - p[s];
    if (p[l] < 1.0)
      small[ns++] = l;
    else
      large[nl++] = l;
  }
  while (nl) {
    int l = large[--nl];
    t->prob[l] = 1.0;
    t->alias[l] = l;
  }
  while (ns) {
    int s = small[--ns];
    t->prob[s] = 1.0;
    t->alias[s] = s;
  }

cleanup:
  free(small);
  free(large);
  free(p);
  return rc;
}

static inline int alias_draw(const alias_table *t, gsl_rng *r)
{
  int i = (int)gsl_rng_uniform_int(r, (unsigned long)t->n);
  return gsl_rng_uniform(r) < t->prob[i] ? i : t->alias[i];
}

/* ---- the effects of categorical values, cached ----
 *
 * Each value of field k has three hashed normal effects (on the logit,
 * on the delay factor, on the mixture tilt): three Box-Muller draws, most
 * of the generator's time.  Zipf frequencies make a few values most of
 * the clicks, so a direct-mapped cache per thread keeps them; a hit
 * returns exactly what the hashes give, so the output does not depend on
 * the cache. */
#define VCACHE_SLOTS 32768

typedef struct value_effects {
  uint64_t value;
  int field; /* -1: empty slot */
  double effect, delay, mix;
} value_effects;

typedef struct value_cache {
  value_effects slot[VCACHE_SLOTS];
} value_cache;

static value_cache *value_cache_create(void)
{
  value_cache *c = malloc(sizeof *c);
  for (int i = 0; c && i < VCACHE_SLOTS; i++)
    c->slot[i].field = -1;
  return c;
}

static const value_effects *value_effects_get(const gen_world *w,
                                              value_cache *c, int k,
                                              uint64_t v)
{
  value_effects *e =
      &c->slot[mix64(v + (uint64_t)k * UINT64_C(0x9e3779b97f4a7c15)) %
               VCACHE_SLOTS];
  if (e->field == k && e->value == v)
    return e;
  e->field = k;
  e->value = v;
  e->effect = hash_gauss(hash3(salted(w, SALT_EFFECT), (uint64_t)k, v));
  e->delay = hash_gauss(hash3(salted(w, SALT_DELAY), (uint64_t)k, v));
  e->mix = hash_gauss(hash3(salted(w, SALT_MIX), (uint64_t)k, v));
  return e;
}

/* ---- one click ---- */

/* The value that frequency rank `rank` of field k holds at time t: each
 * rank lives for a hashed lifetime around generator.churn, then a new
 * value takes its place. */
static uint64_t cat_value(const gen_world *w, int k, int rank, double t)
{
  uint64_t slot = hash3(salted(w, SALT_VALUE), (uint64_t)k, (uint64_t)rank);
  uint64_t epoch = 0;
  if (w->cfg.gen_churn > 0) {
    double life = w->cfg.gen_churn * (0.5 + hash_unit(slot ^ SALT_LIFE));
    double phase = hash_unit(mix64(slot ^ SALT_PHASE));
    epoch = (uint64_t)floor(t / life + phase);
  }
  uint64_t v = mix64(slot + epoch * UINT64_C(0x9e3779b97f4a7c15));
  return v ? v : 1;
}

/* Draw click features at time t into ints[n_int] and cats[n_cat];
 * return the linear score s(x), set *delay_factor to k(x) and *mix_score
 * to m(x). */
static double draw_features(const gen_world *w, value_cache *vc,
                            gsl_rng *r, double t, int64_t *ints,
                            uint64_t *cats, double *delay_factor,
                            double *mix_score)
{
  const double miss = w->cfg.gen_missing;
  double s = 0, rscore = 0, mscore = 0;

  /* Integer features: log-normal counts sharing a latent factor. */
  double latent = gsl_ran_gaussian_ziggurat(r, 1.0);
  for (int j = 0; j < w->n_int; j++) {
    double z = LATENT_RHO * latent +
               sqrt(1 - LATENT_RHO * LATENT_RHO) *
                   gsl_ran_gaussian_ziggurat(r, 1.0);
    if (gsl_rng_uniform(r) < miss) {
      ints[j] = CLICKS_MISSING_INT;
      s += w->int_coef[j] *
           hash_gauss(hash3(salted(w, SALT_MISSING_INT), (uint64_t)j, 0));
      continue;
    }
    ints[j] = (int64_t)floor(exp(w->int_mu[j] + z));
    /* The effect acts on the standardised log count. */
    s += w->int_coef[j] * (log1p((double)ints[j]) - w->int_mu[j]);
    if (j == 0)
      rscore += 0.5 * z;
  }

  /* Categorical features: Zipf ranks mapped to churning values. */
  for (int k = 0; k < w->n_cat; k++) {
    int rank = alias_draw(&w->vocab[k], r);
    int missing = gsl_rng_uniform(r) < miss;
    cats[k] = missing ? CLICKS_MISSING_CAT : cat_value(w, k, rank, t);
    const value_effects *e = value_effects_get(w, vc, k, cats[k]);
    s += w->cat_sd * e->effect;
    rscore += e->delay;
    mscore += e->mix;
  }
  /* The mixture score: standardised, independent of s and r. */
  *mix_score = w->n_cat ? mscore / sqrt(w->n_cat) : 0;

  /* Pairwise interactions of neighbouring categorical fields. */
  for (int k = 0; k + 1 < w->n_cat; k += 2) {
    uint64_t h = hash3(salted(w, SALT_PAIR) + (uint64_t)k, cats[k],
                       cats[k + 1]);
    s += w->pair_sd * hash_gauss(h);
  }

  /* The delay score is roughly standard normal; clip its tails. */
  double rs = rscore / sqrt(w->n_cat + 0.25);
  rs = rs < -3 ? -3 : rs > 3 ? 3 : rs;
  *delay_factor = exp(w->cfg.delay_feature_effect * rs);
  return s;
}

static inline double sigmoid(double z)
{
  return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

/* ---- the world ---- */

/* Solve mean sigmoid(b0 + s_i) = cvr over a pilot sample of clicks. */
static int solve_intercept(gen_world *w)
{
  int rc = 0;
  double *s = malloc(PILOT * sizeof *s);
  int64_t *ints = malloc(CLICKS_MAX_FEATURES * sizeof *ints);
  uint64_t *cats = malloc(CLICKS_MAX_FEATURES * sizeof *cats);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  value_cache *vc = value_cache_create();
  if (!s || !ints || !cats || !r || !vc) {
    rc = df_fail(DF_ENOMEM, "out of memory");
    goto cleanup;
  }
  gsl_rng_set(r, salted(w, SALT_PILOT));
  for (int i = 0; i < PILOT; i++) {
    double k, m, t = gsl_rng_uniform(r) * w->span;
    s[i] = draw_features(w, vc, r, t, ints, cats, &k, &m);
  }

  /* The mean is increasing in b0: bisect. */
  double lo = -40, hi = 40;
  for (int it = 0; it < 200 && hi - lo > 1e-12; it++) {
    double mid = 0.5 * (lo + hi), mean = 0;
    for (int i = 0; i < PILOT; i++)
      mean += sigmoid(mid + s[i]);
    if (mean / PILOT < w->cfg.gen_cvr)
      lo = mid;
    else
      hi = mid;
  }
  w->b0 = 0.5 * (lo + hi);

cleanup:
  free(vc);
  free(s);
  free(ints);
  free(cats);
  gsl_rng_free(r);
  return rc;
}

int gen_world_create(const df_config *cfg, gen_world **out)
{
  *out = NULL;
  gen_world *w = calloc(1, sizeof *w);
  if (!w)
    return df_fail(DF_ENOMEM, "out of memory");
  w->cfg = *cfg;
  w->seed = (uint64_t)cfg->gen_seed;
  w->span = cfg->gen_days * DAY;
  w->attribution = floor(cfg->delay_attribution);
  w->n_int = cfg->gen_int_features;
  w->n_cat = cfg->gen_cat_features;
  int rc = delay_from_config(&w->delay, cfg);
  if (rc)
    goto fail;
  delay_tilt_solve(&w->delay, cfg->delay_mix_effect, &w->tilt);

  /* Effect sizes: INT_SHARE of the logit variance on integer features,
   * the rest on categorical values; interactions on top. */
  double sig2 = cfg->gen_signal * cfg->gen_signal;
  double int_share = w->n_cat ? (w->n_int ? INT_SHARE : 0) : 1;
  for (int j = 0; j < w->n_int; j++) {
    w->int_mu[j] = 0.3 + 3.0 * hash_unit(hash3(salted(w, SALT_MU), j, 0));
    double sign = hash_unit(hash3(salted(w, SALT_COEF), j, 0)) < 0.5 ? -1 : 1;
    w->int_coef[j] = sign * sqrt(sig2 * int_share / w->n_int);
  }
  if (w->n_cat)
    w->cat_sd = sqrt(sig2 * (1 - int_share) / w->n_cat);
  int pairs = w->n_cat / 2;
  if (pairs)
    w->pair_sd = cfg->gen_interaction / sqrt(pairs);

  /* Vocabularies: field k has about cat_values / 2^(k mod 5) values, so
   * fields differ in cardinality as Criteo's do. */
  for (int k = 0; k < w->n_cat; k++) {
    double v = (double)cfg->gen_cat_values / (double)(1 << (k % 5));
    rc = alias_build(&w->vocab[k], v < 2 ? 2 : (int)v, cfg->gen_zipf);
    if (rc)
      goto fail;
  }

  rc = solve_intercept(w);
  if (rc)
    goto fail;
  *out = w;
  return 0;

fail:
  gen_world_destroy(w);
  return rc;
}

void gen_world_destroy(gen_world *w)
{
  if (!w)
    return;
  for (int k = 0; k < CLICKS_MAX_FEATURES; k++) {
    free(w->vocab[k].prob);
    free(w->vocab[k].alias);
  }
  free(w);
}

double gen_intercept(const gen_world *w) { return w->b0; }

const delay_dist *gen_delay(const gen_world *w) { return &w->delay; }

const delay_tilt *gen_tilt(const gen_world *w) { return &w->tilt; }

/* ---- click times ---- */

/* Cumulative intensity of the daily rhythm: Lambda(t) = integral of
 * 1 + a cos(2 pi (u/DAY - peak)) du over [0, t]. */
static double rhythm_cum(double t)
{
  double c = RHYTHM_AMP * DAY / (2 * M_PI);
  return t + c * (sin(2 * M_PI * (t / DAY - RHYTHM_PEAK)) +
                  sin(2 * M_PI * RHYTHM_PEAK));
}

static double rhythm_rate(double t)
{
  return 1 + RHYTHM_AMP * cos(2 * M_PI * (t / DAY - RHYTHM_PEAK));
}

/* Sorted click times: uniform order statistics from normalised
 * exponential spacings, mapped through the inverse cumulative rhythm
 * (Newton's method, safe because the rate stays in [0.5, 1.5]). */
static int draw_times(const gen_world *w, size_t n, int64_t *ts)
{
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  double *u = malloc(n * sizeof *u);
  if (!r || !u) {
    gsl_rng_free(r);
    free(u);
    return df_fail(DF_ENOMEM, "out of memory for %zu click times", n);
  }
  gsl_rng_set(r, salted(w, SALT_TIMES));

  double sum = 0;
  for (size_t i = 0; i < n; i++)
    u[i] = sum += gsl_ran_exponential(r, 1.0);
  sum += gsl_ran_exponential(r, 1.0);

  double total = rhythm_cum(w->span), t = 0;
  for (size_t i = 0; i < n; i++) {
    double target = u[i] / sum * total;
    for (int it = 0; it < 50; it++) {
      double step = (rhythm_cum(t) - target) / rhythm_rate(t);
      t -= step;
      if (fabs(step) < 1e-6)
        break;
    }
    t = t < 0 ? 0 : t >= w->span ? nextafter(w->span, 0) : t;
    ts[i] = (int64_t)floor(t);
  }
  /* Rounding can only tie, never reorder; keep the guarantee explicit. */
  for (size_t i = 1; i < n; i++)
    if (ts[i] < ts[i - 1])
      ts[i] = ts[i - 1];

  gsl_rng_free(r);
  free(u);
  return 0;
}

/* ---- the log, chunk by chunk ---- */

typedef struct gen_job {
  const gen_world *w;
  df_clicks *log;
  int thread, threads;
  size_t chunks;
  void (*progress)(void *ctx, double done);
  void *ctx;
  int rc;
} gen_job;

static void draw_chunk(const gen_world *w, df_clicks *log, size_t c,
                       value_cache *vc, gsl_rng *r)
{
  gsl_rng_set(r, hash3(salted(w, SALT_CHUNK), c, 0));
  size_t end = (c + 1) * CHUNK < log->n ? (c + 1) * CHUNK : log->n;
  for (size_t i = c * CHUNK; i < end; i++) {
    double k, m, t = (double)log->click_ts[i];
    double s = draw_features(w, vc, r, t, log->ints + i * (size_t)w->n_int,
                             log->cats + i * (size_t)w->n_cat, &k, &m);
    double p = sigmoid(w->b0 + s);
    log->truth_p[i] = p;
    log->conv_ts[i] = CLICKS_NO_CONVERSION;
    log->truth_delay[i] = -1;
    if (gsl_rng_uniform(r) < p) {
      delay_dist dm;
      delay_tilt_apply(&w->delay, &w->tilt, m, &dm);
      double d = delay_sample_truncated(&dm, k, w->attribution, r);
      int64_t delay = llround(d);
      if (delay > (int64_t)w->attribution)
        delay = (int64_t)w->attribution;
      log->conv_ts[i] = log->click_ts[i] + delay;
      log->truth_delay[i] = delay;
    }
  }
}

static void *gen_thread(void *arg)
{
  gen_job *job = arg;
  gsl_rng *r = gsl_rng_alloc(gsl_rng_taus2);
  value_cache *vc = value_cache_create();
  if (!r || !vc) {
    gsl_rng_free(r);
    free(vc);
    job->rc = df_fail(DF_ENOMEM, "out of memory");
    return NULL;
  }
  for (size_t c = (size_t)job->thread; c < job->chunks;
       c += (size_t)job->threads) {
    draw_chunk(job->w, job->log, c, vc, r);
    if (job->progress && job->thread == 0)
      job->progress(job->ctx, (double)(c + 1) / (double)job->chunks);
  }
  gsl_rng_free(r);
  free(vc);
  return NULL;
}

int gen_draw_clicks(const gen_world *w, int threads,
                    void (*progress)(void *ctx, double done), void *ctx,
                    df_clicks **out)
{
  size_t n = (size_t)w->cfg.gen_clicks;
  df_clicks *log = NULL;
  int rc = clicks_create(&log, w->n_int, w->n_cat, n, 1);
  if (rc)
    return rc;
  log->n = n;
  rc = draw_times(w, n, log->click_ts);
  if (rc)
    goto fail;

  /* Chunks are dealt round-robin to the threads; each chunk reseeds its
   * own stream, so any thread count gives the same log. */
  if (threads < 1)
    threads = 1;
  if (threads > 64)
    threads = 64;
  gen_job jobs[64];
  pthread_t tid[64];
  int created[64] = {0};
  size_t chunks = (n + CHUNK - 1) / CHUNK;
  for (int t = 0; t < threads; t++) {
    jobs[t] = (gen_job){w, log, t, threads, chunks, progress, ctx, 0};
    if (t > 0)
      created[t] = !pthread_create(&tid[t], NULL, gen_thread, &jobs[t]);
  }
  /* The calling thread draws its own share, then the share of any
   * thread that could not be started, so the log is complete. */
  gen_thread(&jobs[0]);
  for (int t = 1; t < threads; t++) {
    if (created[t])
      pthread_join(tid[t], NULL);
    else
      gen_thread(&jobs[t]);
  }
  for (int t = 0; t < threads; t++)
    if (jobs[t].rc)
      rc = jobs[t].rc;
  if (rc)
    goto fail;
  *out = log;
  return 0;

fail:
  clicks_destroy(log);
  return rc;
}
