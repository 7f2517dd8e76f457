/* delay.c: delay families, the mixture syntax and exact truncated
 * sampling (see delay.h).
 *
 * Every family is one row of a descriptor table: its name, its parameter
 * keys and whether each is a duration, and its CDF and inverse CDF (from
 * GSL, except the gamma's inverse).  Parsing, describing,
 * delay_from_config and sampling all walk that table, so a family is
 * added in one place.
 *
 * Truncated sampling.  For a click with factor k and limit L, put
 * x = L / k.  The law of D given D <= x is the mixture
 *
 *   sum_i [w_i F_i(x) / sum_j w_j F_j(x)] * (law of D_i given D_i <= x),
 *
 * so a draw picks component i with probability w_i F_i(x) / sum_j w_j
 * F_j(x), then draws D_i given D_i <= x by inversion: u ~ U(0, F_i(x)),
 * t = F_i^-1(u).  Both steps are exact and take a fixed number of uniform
 * draws, except the gamma, whose inverse CDF (bounded Newton steps on the
 * incomplete gamma function, gamma_inv below) is slow: when F_i(x) >= 1/2
 * it first tries plain rejection from gsl_ran_gamma, at most GAMMA_TRIES
 * times (failure chance 2^-GAMMA_TRIES), and falls back to inversion.
 * Rejection and inversion both give the exact truncated law, so their
 * mixture does too.  "Exact" up to the resolution of the uniforms (2^-32
 * for 32-bit generators such as mt19937 and taus2).
 *
 * The far lower tail.  When F_i(x) < TAIL (1e-280) the inversion would
 * work near the underflow of doubles, so there the leading term of each
 * CDF's expansion at t -> 0 is used instead (F ~ C t^a for the
 * exponential, Weibull and gamma, Mills' ratio for the log-normal); it is
 * exact in the limit and off by well under 1e-3 relative at that level.
 * Such clicks need limit / k to sit dozens of standard deviations below
 * the delays the distribution produces. */
#include "sim/delay.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>

#include "sim/log.h"

#define TAIL 1e-280
#define GAMMA_TRIES 64
#define MIN_ATTRIBUTED 1e-6
#define TERM_SHOWN 48
#define INV_STEPS 100
#define INV_TOL 1e-14
#define LOG_2PI 1.8378770664093454836 /* log(2 pi) */

/* ---- the family table ---- */

typedef struct family_param {
  const char *key;  /* in the components syntax and as delay.KEY */
  int is_duration;  /* written with a unit: 15m, 2d */
  int slot;         /* 1: p1, 2: p2 */
} family_param;

typedef struct family_desc {
  const char *name;
  int nparam;
  family_param param[2];
  double (*cdf)(double t, double p1, double p2);
  /* F^-1(u), given a point x with F(x) >= u that bounds the answer */
  double (*inv)(double u, double x, double p1, double p2);
} family_desc;

/* F(t) = 1 - exp(-t / mean) */
static double exp_cdf(double t, double mean, double unused)
{
  return gsl_cdf_exponential_P(t, mean);
}

static double exp_inv(double u, double x, double mean, double unused)
{
  return gsl_cdf_exponential_Pinv(u, mean);
}

/* F(t) = 1 - exp(-(t / scale)^shape); GSL takes (x, a = scale, b =
 * shape). */
static double weibull_cdf(double t, double scale, double shape)
{
  return gsl_cdf_weibull_P(t, scale, shape);
}

static double weibull_inv(double u, double x, double scale, double shape)
{
  return gsl_cdf_weibull_Pinv(u, scale, shape);
}

/* F(t) = Phi((log t - zeta) / sigma) with zeta = log median. */
static double lognormal_cdf(double t, double median, double sigma)
{
  return gsl_cdf_lognormal_P(t, log(median), sigma);
}

static double lognormal_inv(double u, double x, double median,
                            double sigma)
{
  return gsl_cdf_lognormal_Pinv(u, log(median), sigma);
}

/* F(t) = P(shape, t / scale), the regularised lower incomplete gamma;
 * GSL takes (x, a = shape, b = scale). */
static double gamma_cdf(double t, double scale, double shape)
{
  return gsl_cdf_gamma_P(t, shape, scale);
}

/* GSL's gsl_cdf_gamma_Pinv returns NaN for small shapes (0.05 at any
 * u, 0.3 at u = 1e-100), so the gamma is inverted here: solve
 *   h(s) = log P(a, e^s) - log u = 0,  s = log(t / scale),
 * by Newton steps kept inside a bracket [lo, hi] and replaced by
 * bisection when they leave it; at most INV_STEPS steps.  The bracket:
 * P(a, y) <= y^a / Gamma(a + 1) (as e^-y <= 1), so h <= 0 at
 * lo = (log u + lgamma(a + 1)) / a, which is also the starting point, and
 * h >= 0 at hi = log(x / scale).  h'(s) = y p(y) / P(a, y), p the
 * density y^(a-1) e^-y / Gamma(a). */
static double gamma_inv(double u, double x, double scale, double a)
{
  double lu = log(u), lga = lgamma(a);
  double lo = (lu + lgamma(a + 1)) / a, hi = log(x / scale), s = lo;
  if (!(lo < hi))
    return x;
  for (int i = 0; i < INV_STEPS && hi - lo > INV_TOL * fmax(1, fabs(s));
       i++) {
    double y = exp(s), P = gsl_cdf_gamma_P(y, a, 1);
    double h = P > 0 ? log(P) - lu : -HUGE_VAL;
    if (h == 0)
      break;
    *(h < 0 ? &lo : &hi) = s;

    /* Newton where it stays in the bracket, else bisection. */
    double next = 0.5 * (lo + hi);
    if (P > 0) {
      double newton = s - h / exp(a * s - y - lga - log(P));
      if (newton > lo && newton < hi)
        next = newton;
    }
    if (fabs(next - s) <= INV_TOL * fmax(1, fabs(s))) {
      s = next;
      break;
    }
    s = next;
  }
  return fmin(scale * exp(s), x);
}

/* Indexed by delay_family. */
static const family_desc families[] = {
    {"exponential", 1, {{"mean", 1, 1}, {NULL, 0, 0}}, exp_cdf, exp_inv},
    {"weibull", 2, {{"scale", 1, 1}, {"shape", 0, 2}}, weibull_cdf,
     weibull_inv},
    {"lognormal", 2, {{"median", 1, 1}, {"sigma", 0, 2}}, lognormal_cdf,
     lognormal_inv},
    {"gamma", 2, {{"scale", 1, 1}, {"shape", 0, 2}}, gamma_cdf, gamma_inv},
};

#define N_FAMILIES ((int)(sizeof families / sizeof families[0]))
#define VALID_FAMILIES "exponential, weibull, lognormal, gamma"

static const family_desc *family_of(const delay_component *c)
{
  return &families[c->family];
}

static double component_cdf(const delay_component *c, double t)
{
  if (!(t > 0))
    return 0;
  return family_of(c)->cdf(t, c->p1, c->p2);
}

/* ---- the far lower tail ---- */

/* log F(t) by the leading term of its expansion as F(t) -> 0:
 *   exponential  t / mean
 *   weibull      (t / scale)^shape
 *   gamma        y^shape e^-y / Gamma(shape + 1), y = t / scale
 *   lognormal    phi(z) / -z, z = (log t - log median) / sigma (Mills). */
static double tail_log_cdf(const delay_component *c, double t)
{
  switch (c->family) {
  case DELAY_EXPONENTIAL:
    return log(t / c->p1);
  case DELAY_WEIBULL:
    return c->p2 * log(t / c->p1);
  case DELAY_GAMMA:
    return c->p2 * log(t / c->p1) - t / c->p1 - lgamma(c->p2 + 1);
  case DELAY_LOGNORMAL:
    break;
  }
  double z = (log(t) - log(c->p1)) / c->p2;
  return -0.5 * z * z - log(-z) - 0.5 * LOG_2PI;
}

/* D given D <= x in that regime: with F ~ C t^a, D = x v^(1/a); for the
 * log-normal, Z given Z <= z is z - E / |z| with E ~ Exp(1), so
 * D = x exp(-sigma E / |z|).  v is uniform on (0, 1]. */
static double tail_sample(const delay_component *c, double x, double v)
{
  switch (c->family) {
  case DELAY_EXPONENTIAL:
    return x * v;
  case DELAY_WEIBULL:
  case DELAY_GAMMA:
    return x * pow(v, 1 / c->p2);
  case DELAY_LOGNORMAL:
    break;
  }
  double z = (log(x) - log(c->p1)) / c->p2;
  return x * exp(c->p2 * log(v) / fabs(z));
}

/* Pick a component by w_i F_i(x) when every F_i(x) underflows: the
 * weights are exp(log w_i + log F_i(x) - max), with log F_i from the
 * tail expansion. */
static int tail_pick(const delay_dist *d, double x, double u)
{
  double lw[DELAY_MAX_COMPONENTS], top = -HUGE_VAL, sum = 0;
  for (int i = 0; i < d->n; i++) {
    lw[i] = log(d->c[i].weight) + tail_log_cdf(&d->c[i], x);
    top = fmax(top, lw[i]);
  }
  for (int i = 0; i < d->n; i++)
    sum += lw[i] = exp(lw[i] - top);
  for (int i = 0; i < d->n; i++) {
    u -= lw[i] / sum;
    if (u < 0)
      return i;
  }
  return d->n - 1;
}

/* ---- distribution functions ---- */

double delay_cdf(const delay_dist *d, double t)
{
  double f = 0;
  for (int i = 0; i < d->n; i++)
    f += d->c[i].weight * component_cdf(&d->c[i], t);
  return fmin(f, 1.0);
}

double delay_cdf_truncated(const delay_dist *d, double k, double limit,
                           double t)
{
  if (t >= limit)
    return 1;
  if (!(t > 0))
    return 0;

  /* F(t / k) / F(limit / k), by the tail expansion when the denominator
   * underflows (see the file comment). */
  double top = delay_cdf(d, limit / k);
  if (top >= TAIL)
    return fmin(delay_cdf(d, t / k) / top, 1.0);
  double num = 0, den = 0, shift = -HUGE_VAL;
  for (int i = 0; i < d->n; i++)
    shift = fmax(shift, tail_log_cdf(&d->c[i], limit / k));
  for (int i = 0; i < d->n; i++) {
    double lw = log(d->c[i].weight) - shift;
    num += exp(lw + tail_log_cdf(&d->c[i], t / k));
    den += exp(lw + tail_log_cdf(&d->c[i], limit / k));
  }
  return fmin(num / den, 1.0);
}

/* ---- sampling ---- */

/* D_i given D_i <= x, where F_i(x) = fx. */
static double component_sample(const delay_component *c, double x,
                               double fx, gsl_rng *r)
{
  /* Gamma with most of its mass below x: rejection is cheaper than the
   * inverse CDF, and a bounded number of tries keeps it finite. */
  if (c->family == DELAY_GAMMA && fx >= 0.5) {
    for (int i = 0; i < GAMMA_TRIES; i++) {
      double t = gsl_ran_gamma(r, c->p2, c->p1);
      if (t <= x)
        return t;
    }
  }

  /* Inversion: u ~ U(0, F(x)); rounding may put F^-1(u) a hair past x. */
  double v = gsl_rng_uniform_pos(r);
  if (fx < TAIL)
    return fmin(tail_sample(c, x, v), x);
  double t = family_of(c)->inv(fx * v, x, c->p1, c->p2);
  if (!(t <= x))
    t = x;
  return fmax(t, 0.0);
}

/* Component i with probability w_i F_i(x) / sum_j w_j F_j(x), given
 * f[i] = F_i(x) and total = sum_j w_j f[j].  Rounding can run past the
 * last term, so the fallback is the last component with mass. */
static int pick_component(const delay_dist *d, const double *f,
                          double total, double x, gsl_rng *r)
{
  if (d->n == 1)
    return 0; /* no draw spent on the choice */
  if (total < TAIL)
    return tail_pick(d, x, gsl_rng_uniform(r));

  double acc = gsl_rng_uniform(r) * total;
  for (int i = 0; i < d->n; i++) {
    double m = d->c[i].weight * f[i];
    if (acc < m)
      return i;
    acc -= m;
  }
  int last = d->n - 1;
  while (f[last] <= 0 && last > 0)
    last--;
  return last;
}

double delay_sample_truncated(const delay_dist *d, double k, double limit,
                              gsl_rng *r)
{
  double x = limit / k, f[DELAY_MAX_COMPONENTS], total = 0;
  for (int i = 0; i < d->n; i++) {
    f[i] = component_cdf(&d->c[i], x);
    total += d->c[i].weight * f[i];
  }
  int i = pick_component(d, f, total, x, r);
  double t = component_sample(&d->c[i], x, f[i], r);
  return fmin(k * t, limit);
}

/* ---- parsing ---- */

/* Shorten a term for messages: the first TERM_SHOWN bytes and "...". */
static void term_show(const char *term, char *buf, size_t len)
{
  if (strlen(term) <= TERM_SHOWN)
    snprintf(buf, len, "%s", term);
  else
    snprintf(buf, len, "%.*s...", TERM_SHOWN - 3, term);
}

static const char *skip_blanks(const char *p)
{
  while (isspace((unsigned char)*p))
    p++;
  return p;
}

/* Copy [p, end) without surrounding blanks into buf (len bytes). */
static void copy_trimmed(const char *p, const char *end, char *buf,
                         size_t len)
{
  p = skip_blanks(p);
  while (end > p && isspace((unsigned char)end[-1]))
    end--;
  size_t n = (size_t)(end - p);
  if (n >= len)
    n = len - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
}

/* A '+' at paren depth 0 separates terms, except the sign of an exponent
 * in a weight such as 1e+3. */
static int is_separator(const char *text, const char *p, int depth)
{
  if (*p != '+' || depth != 0)
    return 0;
  const char *q = p;
  while (q > text && isspace((unsigned char)q[-1]))
    q--;
  return !(q - text >= 2 && (q[-1] == 'e' || q[-1] == 'E') &&
           (isdigit((unsigned char)q[-2]) || q[-2] == '.'));
}

/* One parameter value: a positive duration with a unit, or a positive
 * plain number.  Returns 0 or DF_EINPUT with the reason in why. */
static int parse_value(const family_param *fp, const char *text, double *v,
                       char *why, size_t len)
{
  char *end;
  if (fp->is_duration) {
    if (cfg_parse_duration(text, v)) {
      snprintf(why, len,
               "%s: '%s' is not a duration; write a number and a unit s, "
               "m, h or d (e.g. 15m, 2d)",
               fp->key, text);
      return DF_EINPUT;
    }
  } else {
    errno = 0;
    *v = strtod(text, &end);
    if (end == text || *end != '\0' || errno) {
      snprintf(why, len, "%s: '%s' is not a number", fp->key, text);
      return DF_EINPUT;
    }
  }
  if (!(*v > 0) || !isfinite(*v)) {
    snprintf(why, len, "%s: '%s' must be positive and finite", fp->key,
             text);
    return DF_EINPUT;
  }
  return 0;
}

/* One "PARAM = VALUE" of family fd, stored in c and marked in seen.
 * Returns the position of the ',' or ')' after it, or NULL with the
 * reason in why. */
static const char *parse_param(const family_desc *fd, const char *p,
                               delay_component *c, int seen[2], char *why,
                               size_t len)
{
  /* PARAM = */
  p = skip_blanks(p);
  const char *key = p;
  while (isalpha((unsigned char)*p) || *p == '_')
    p++;
  size_t klen = (size_t)(p - key);
  p = skip_blanks(p);
  if (klen == 0 || *p != '=') {
    snprintf(why, len, "expected PARAM=VALUE inside %s(...)", fd->name);
    return NULL;
  }
  int j = 0;
  while (j < fd->nparam && (strlen(fd->param[j].key) != klen ||
                            strncmp(fd->param[j].key, key, klen)))
    j++;
  if (j == fd->nparam) {
    snprintf(why, len, "unknown parameter '%.*s' for %s; valid: %s%s%s",
             (int)klen, key, fd->name, fd->param[0].key,
             fd->nparam > 1 ? ", " : "",
             fd->nparam > 1 ? fd->param[1].key : "");
    return NULL;
  }
  if (seen[j]++) {
    snprintf(why, len, "parameter '%s' given twice", fd->param[j].key);
    return NULL;
  }

  /* VALUE, up to ',' or ')' */
  const char *val = ++p;
  while (*p && *p != ',' && *p != ')')
    p++;
  if (!*p) {
    snprintf(why, len, "missing ')' after the parameters");
    return NULL;
  }
  char text[128];
  double v;
  copy_trimmed(val, p, text, sizeof text);
  if (parse_value(&fd->param[j], text, &v, why, len))
    return NULL;
  *(fd->param[j].slot == 1 ? &c->p1 : &c->p2) = v;
  return p;
}

/* The "PARAM=VALUE,...)" part of a term, p just past '('.  Each of the
 * family's parameters exactly once.  Returns the position after ')' or
 * NULL with the reason in why. */
static const char *parse_params(const family_desc *fd, const char *p,
                                delay_component *c, char *why, size_t len)
{
  int seen[2] = {0, 0};
  p = skip_blanks(p);
  if (*p == ')') {
    p++; /* "()": reported as missing below */
  } else {
    do
      p = parse_param(fd, p, c, seen, why, len);
    while (p && *p++ == ',');
    if (!p)
      return NULL;
  }

  for (int j = 0; j < fd->nparam; j++) {
    if (!seen[j]) {
      snprintf(why, len, "missing parameter '%s' (%s needs %s%s%s)",
               fd->param[j].key, fd->name, fd->param[0].key,
               fd->nparam > 1 ? ", " : "",
               fd->nparam > 1 ? fd->param[1].key : "");
      return NULL;
    }
  }
  return p;
}

/* One term "[WEIGHT*]FAMILY(PARAM=VALUE,...)", trimmed.  The weight may
 * be left out only when the term is alone (lone).  Returns 0 or
 * DF_EINPUT with the reason in why. */
static int parse_term(const char *term, int lone, delay_component *c,
                      char *why, size_t len)
{
  /* WEIGHT * */
  const char *p = term;
  c->weight = 1;
  if (!isalpha((unsigned char)*p)) {
    char *end;
    errno = 0;
    c->weight = strtod(p, &end);
    if (end == p) {
      snprintf(why, len, "expected WEIGHT*FAMILY(PARAM=VALUE,...)");
      return DF_EINPUT;
    }
    if (!(c->weight > 0) || !isfinite(c->weight) || errno) {
      snprintf(why, len, "weight %.*s must be positive and finite",
               (int)(end - p), p);
      return DF_EINPUT;
    }
    p = skip_blanks(end);
    if (*p++ != '*') {
      snprintf(why, len, "expected '*' after the weight");
      return DF_EINPUT;
    }
    p = skip_blanks(p);
  } else if (!lone) {
    snprintf(why, len, "missing weight: write WEIGHT*FAMILY(...) (only a "
                       "lone term may omit it)");
    return DF_EINPUT;
  }

  /* FAMILY ( */
  const char *name = p;
  while (isalpha((unsigned char)*p) || *p == '_')
    p++;
  size_t nlen = (size_t)(p - name);
  int f = 0;
  while (f < N_FAMILIES && (strlen(families[f].name) != nlen ||
                            strncmp(families[f].name, name, nlen)))
    f++;
  if (nlen == 0 || f == N_FAMILIES) {
    snprintf(why, len, "unknown family '%.*s'; valid: " VALID_FAMILIES,
             (int)nlen, name);
    return DF_EINPUT;
  }
  c->family = (delay_family)f;
  c->p2 = 0;
  p = skip_blanks(p);
  if (*p++ != '(') {
    snprintf(why, len, "expected '(' after '%s'", families[f].name);
    return DF_EINPUT;
  }

  /* PARAM=VALUE,... ) and nothing after */
  p = parse_params(&families[f], p, c, why, len);
  if (!p)
    return DF_EINPUT;
  p = skip_blanks(p);
  if (*p) {
    snprintf(why, len, "unexpected text '%s' after ')'", p);
    return DF_EINPUT;
  }
  return 0;
}

int delay_parse_components(const char *text, delay_dist *d)
{
  /* Split at the separating '+' signs. */
  const char *start[DELAY_MAX_COMPONENTS + 1], *end[DELAY_MAX_COMPONENTS];
  int n = 0, depth = 0;
  start[0] = text;
  if (!*skip_blanks(text))
    return df_fail(DF_EINPUT,
                   "no terms; write e.g. 0.3*exponential(mean=15m) + "
                   "0.7*weibull(scale=2d,shape=0.8)");
  for (const char *p = text;; p++) {
    depth += (*p == '(') - (*p == ')');
    if (*p != '\0' && !is_separator(text, p, depth))
      continue;
    end[n++] = p;
    if (*p == '\0')
      break;
    if (n == DELAY_MAX_COMPONENTS)
      return df_fail(DF_EINPUT, "too many terms: at most %d",
                     DELAY_MAX_COMPONENTS);
    start[n] = p + 1;
  }

  /* Parse each term, then normalise the weights. */
  delay_dist out = {.n = n};
  double sum = 0;
  for (int i = 0; i < n; i++) {
    char term[CFG_MAX_TEXT], shown[TERM_SHOWN + 8], why[256];
    copy_trimmed(start[i], end[i], term, sizeof term);
    term_show(term, shown, sizeof shown);
    if (!*term)
      return df_fail(DF_EINPUT, "term %d is empty (a stray '+'?)", i + 1);
    if (parse_term(term, n == 1, &out.c[i], why, sizeof why))
      return df_fail(DF_EINPUT, "term %d '%s': %s", i + 1, shown, why);
    sum += out.c[i].weight;
  }
  /* Weights that already sum to 1 up to rounding are kept as written,
   * so that describe prints 0.3 rather than 0.30000000000000004. */
  if (fabs(sum - 1) > 4 * DBL_EPSILON)
    for (int i = 0; i < n; i++)
      out.c[i].weight /= sum;
  *d = out;
  return 0;
}

int delay_check_components(const char *text)
{
  delay_dist d;
  return delay_parse_components(text, &d);
}

/* ---- from the configuration ---- */

/* The value of the delay.* key named key. */
static double config_param(const df_config *cfg, const char *key)
{
  static const struct {
    const char *key;
    size_t offset;
  } fields[] = {{"mean", offsetof(df_config, delay_mean)},
                {"shape", offsetof(df_config, delay_shape)},
                {"scale", offsetof(df_config, delay_scale)},
                {"median", offsetof(df_config, delay_median)},
                {"sigma", offsetof(df_config, delay_sigma)}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    if (!strcmp(fields[i].key, key))
      return *(const double *)((const char *)cfg + fields[i].offset);
  return NAN;
}

/* A single family from its delay.* keys (their ranges were checked when
 * the keys were read). */
static void single_from_config(delay_dist *d, int f, const df_config *cfg)
{
  const family_desc *fd = &families[f];
  d->n = 1;
  d->c[0] = (delay_component){.family = (delay_family)f, .weight = 1};
  for (int j = 0; j < fd->nparam; j++) {
    double v = config_param(cfg, fd->param[j].key);
    *(fd->param[j].slot == 1 ? &d->c[0].p1 : &d->c[0].p2) = v;
  }
}

int delay_from_config(delay_dist *d, const df_config *cfg)
{
  /* The family, or the mixture text. */
  delay_dist out;
  int f = 0;
  while (f < N_FAMILIES && strcmp(families[f].name, cfg->delay_family))
    f++;
  if (f < N_FAMILIES) {
    single_from_config(&out, f, cfg);
  } else if (!strcmp(cfg->delay_family, "mixture")) {
    if (delay_parse_components(cfg->delay_components, &out)) {
      char why[1024];
      snprintf(why, sizeof why, "%s", df_errmsg());
      return df_fail(DF_EINPUT, "%s: delay.components: %s",
                     cfg_origin(cfg, "delay", "components"), why);
    }
  } else {
    return df_fail(DF_EINPUT,
                   "%s: delay.family: unknown family '%s'; valid: "
                   VALID_FAMILIES ", mixture",
                   cfg_origin(cfg, "delay", "family"), cfg->delay_family);
  }

  /* A window that attributes (almost) nothing is a mistake. */
  double attributed = delay_cdf(&out, cfg->delay_attribution);
  if (!(attributed >= MIN_ATTRIBUTED)) {
    char desc[512], att[64];
    delay_describe(&out, desc, sizeof desc);
    cfg_format_duration(cfg->delay_attribution, att, sizeof att);
    return df_fail(DF_EINPUT,
                   "%s: delay.attribution = %s: the delay %s puts only "
                   "%.3g of conversions within it (at least %g needed)",
                   cfg_origin(cfg, "delay", "attribution"), att, desc,
                   attributed, MIN_ATTRIBUTED);
  }
  *d = out;
  return 0;
}

/* ---- describing ---- */

void delay_describe(const delay_dist *d, char *buf, size_t len)
{
  size_t used = 0;
  if (len == 0)
    return;
  buf[0] = '\0';
  for (int i = 0; i < d->n && used < len; i++) {
    const delay_component *c = &d->c[i];
    const family_desc *fd = family_of(c);
    char w[40];
    cfg_format_double(c->weight, w, sizeof w);
    used += (size_t)snprintf(buf + used, len - used, "%s%s*%s(",
                             i ? " + " : "", w, fd->name);
    for (int j = 0; j < fd->nparam && used < len; j++) {
      char v[40];
      double x = fd->param[j].slot == 1 ? c->p1 : c->p2;
      if (fd->param[j].is_duration)
        cfg_format_duration(x, v, sizeof v);
      else
        cfg_format_double(x, v, sizeof v);
      used += (size_t)snprintf(buf + used, len - used, "%s%s=%s",
                               j ? "," : "", fd->param[j].key, v);
    }
    if (used < len)
      used += (size_t)snprintf(buf + used, len - used, ")");
  }
}

/* ---- feature-dependent mixture weights ---- */

static double tilt_sigmoid(double z)
{
  return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

/* The standard normal density. */
static double tilt_phi(double z)
{
  return exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

/* Mean of sigmoid(offset + sigma Z), Z ~ N(0, 1), midpoint rule. */
static double tilt_mean(double offset, double sigma)
{
  const int nodes = 801;
  const double lo = -8, h = 16.0 / nodes;
  double sum = 0;
  for (int i = 0; i < nodes; i++) {
    double z = lo + (i + 0.5) * h;
    sum += h * tilt_phi(z) * tilt_sigmoid(offset + sigma * z);
  }
  return sum;
}

void delay_tilt_solve(const delay_dist *d, double sigma, delay_tilt *t)
{
  double w1 = d->n > 1 ? d->c[0].weight : 1;
  t->sigma = d->n > 1 && w1 < 1 ? sigma : 0;
  t->offset = w1 < 1 ? log(w1 / (1 - w1)) : 0;
  if (t->sigma == 0)
    return;

  /* The mean is increasing in the offset: bisect around the plain
   * log-odds (the mean moves towards 1/2 as sigma grows). */
  double lo = t->offset - 10 - 2 * sigma, hi = t->offset + 10 + 2 * sigma;
  while (hi - lo > 1e-12) {
    double mid = 0.5 * (lo + hi);
    if (tilt_mean(mid, sigma) < w1)
      lo = mid;
    else
      hi = mid;
  }
  t->offset = 0.5 * (lo + hi);
}

void delay_tilt_apply(const delay_dist *d, const delay_tilt *t, double m,
                      delay_dist *out)
{
  if (out != d)
    *out = *d;
  if (t->sigma == 0 || d->n < 2)
    return;
  double w1 = d->c[0].weight, v = tilt_sigmoid(t->offset + t->sigma * m);
  for (int i = 1; i < d->n; i++)
    out->c[i].weight = d->c[i].weight * (1 - v) / (1 - w1);
  out->c[0].weight = v;
}

double delay_cdf_marginal(const delay_dist *d, double feature_effect,
                          const delay_tilt *t, double limit, double x)
{
  const int full = 121;
  const double lo = -6, h = 12.0 / full;
  int nr = feature_effect > 0 ? full : 1;
  int nm = t && t->sigma > 0 ? full : 1;
  double sum = 0, mass = 0;
  for (int a = 0; a < nm; a++) {
    double m = nm > 1 ? lo + (a + 0.5) * h : 0;
    double wm = nm > 1 ? h * tilt_phi(m) : 1;
    delay_dist dm;
    if (t)
      delay_tilt_apply(d, t, m, &dm);
    else
      dm = *d;
    for (int b = 0; b < nr; b++) {
      double r = nr > 1 ? lo + (b + 0.5) * h : 0;
      double wr = nr > 1 ? h * tilt_phi(r) : 1;
      double rc = r < -3 ? -3 : r > 3 ? 3 : r;
      double k = exp(feature_effect * rc);
      sum += wm * wr * delay_cdf_truncated(&dm, k, limit, x);
      mass += wm * wr;
    }
  }
  return sum / mass;
}
