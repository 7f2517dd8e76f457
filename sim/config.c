/* config.c: the key table and the INI reader and writer (see config.h).
 *
 * The INI dialect: "[section]" headers, "key = value" lines, comments
 * starting with '#' or ';' on their own line, blank lines.  A value may
 * contain spaces; surrounding blanks are trimmed.  A key set twice in
 * one file is an error (it is almost always a mistake).
 *
 * Why not inih: Debian builds it without INI_HANDLER_LINENO, so its
 * handler cannot tell which line a bad value came from, and every error
 * here must name the line.  The dialect is small enough to parse here. */
#include "sim/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim/delay.h"
#include "sim/log.h"

#define OFF(field) offsetof(df_config, field)

/* The table.  Ranges are inclusive; durations are in seconds. */
static const cfg_key keys[] = {
    /* data */
    {"data", "source", CFG_CHOICE, "synthetic", 0, 0, "synthetic|file", NULL,
     OFF(data_source), "",
     "Where clicks come from: the generator, or a Criteo-layout file."},
    {"data", "path", CFG_TEXT, "", 0, 0, NULL, NULL, OFF(data_path), "path",
     "Criteo-layout TSV read when data.source = file; a FILE.truth "
     "sidecar beside it is read too."},

    /* generator */
    {"generator", "seed", CFG_INT64, "1", 0, 9.007199254740992e15, NULL, NULL,
     OFF(gen_seed), "",
     "Random seed of the world; the same seed gives the same bytes."},
    {"generator", "days", CFG_DOUBLE, "60", 0.01, 3650, NULL, NULL,
     OFF(gen_days), "days", "Length of the click log."},
    {"generator", "clicks", CFG_INT64, "15898883", 1, 1e9, NULL, NULL,
     OFF(gen_clicks), "clicks",
     "Number of clicks (the Criteo log has 15898883)."},
    {"generator", "cvr", CFG_DOUBLE, "0.227", 0.001, 0.9, NULL, NULL,
     OFF(gen_cvr), "probability",
     "Target rate of conversions attributed within delay.attribution."},
    {"generator", "int_features", CFG_INT, "8", 0, 64, NULL, NULL,
     OFF(gen_int_features), "features",
     "Count-like integer features per click (Criteo: 8)."},
    {"generator", "cat_features", CFG_INT, "9", 0, 64, NULL, NULL,
     OFF(gen_cat_features), "features",
     "Categorical features per click (Criteo: 9)."},
    {"generator", "missing", CFG_DOUBLE, "0.1", 0, 0.9, NULL, NULL,
     OFF(gen_missing), "probability",
     "Share of feature values left empty (missing)."},
    {"generator", "cat_values", CFG_INT64, "20000", 2, 1e7, NULL, NULL,
     OFF(gen_cat_values), "values",
     "Distinct live values of each categorical feature at any moment."},
    {"generator", "zipf", CFG_DOUBLE, "1.1", 0.5, 3, NULL, NULL,
     OFF(gen_zipf), "",
     "Exponent of the heavy-tailed (Zipf) frequency of categorical values."},
    {"generator", "churn", CFG_DURATION, "30d", 0, 1e10, NULL, NULL,
     OFF(gen_churn), "duration",
     "Mean lifetime of a categorical value before a new one replaces it "
     "(0: never), the source of drift that makes fresh models win."},
    {"generator", "signal", CFG_DOUBLE, "1.2", 0, 10, NULL, NULL,
     OFF(gen_signal), "logit sd",
     "Standard deviation of the features' effect on the logit."},
    {"generator", "interaction", CFG_DOUBLE, "0.4", 0, 10, NULL, NULL,
     OFF(gen_interaction), "logit sd",
     "Standard deviation of pairwise categorical interactions on the logit "
     "(0: none), which a linear model cannot fit."},

    /* delay */
    {"delay", "family", CFG_CHOICE, "mixture", 0, 0,
     "exponential|weibull|lognormal|gamma|mixture", NULL, OFF(delay_family),
     "", "Distribution of the delay from click to conversion."},
    {"delay", "mean", CFG_DURATION, "1d", 1, 1e10, NULL, NULL,
     OFF(delay_mean), "duration", "Exponential: mean delay."},
    {"delay", "shape", CFG_DOUBLE, "0.6", 0.05, 50, NULL, NULL,
     OFF(delay_shape), "", "Weibull and gamma: shape parameter."},
    {"delay", "scale", CFG_DURATION, "1d", 1, 1e10, NULL, NULL,
     OFF(delay_scale), "duration",
     "Weibull: scale in 1-exp(-(t/scale)^shape); gamma: scale."},
    {"delay", "median", CFG_DURATION, "6h", 1, 1e10, NULL, NULL,
     OFF(delay_median), "duration", "Log-normal: median delay."},
    {"delay", "sigma", CFG_DOUBLE, "1.5", 0.01, 20, NULL, NULL,
     OFF(delay_sigma), "",
     "Log-normal: standard deviation of the log delay."},
    {"delay", "components", CFG_TEXT,
     "0.3*exponential(mean=12m) + 0.16*lognormal(median=5h,sigma=1.4) + "
     "0.54*exponential(mean=12d)",
     0, 0, NULL, delay_check_components, OFF(delay_components), "",
     "Mixture: WEIGHT*FAMILY(PARAM=VALUE,...) terms joined by '+'; weights "
     "are normalised."},
    {"delay", "feature_effect", CFG_DOUBLE, "0.5", 0, 3, NULL, NULL,
     OFF(delay_feature_effect), "log factor sd",
     "How strongly a click's features stretch or shrink its delay (0: "
     "independent)."},
    {"delay", "mix_effect", CFG_DOUBLE, "2.5", 0, 5, NULL, NULL,
     OFF(delay_mix_effect), "log-odds sd",
     "How strongly a click's features move the weight of the mixture's "
     "first component, so that some clicks convert mostly fast and others "
     "mostly late; the mean weight stays as configured (0: the same "
     "weights for every click)."},
    {"delay", "attribution", CFG_DURATION, "30d", 60, 1e10, NULL, NULL,
     OFF(delay_attribution), "duration",
     "Conversions later than this after the click are not attributed."},

    /* stream */
    {"stream", "pretrain", CFG_DURATION, "30d", 0, 1e10, NULL, NULL,
     OFF(stream_pretrain), "duration",
     "Pre-training period at the start of the log; the stream follows."},
    {"stream", "interval", CFG_DURATION, "1h", 1, 1e10, NULL, NULL,
     OFF(stream_interval), "duration",
     "Retraining interval: train on one interval, test on the next."},
    {"stream", "pretrain_labels", CFG_CHOICE, "known", 0, 0, "known|eventual",
     NULL, OFF(stream_pretrain_labels), "",
     "Pre-training labels: what is known at the end of pre-training (no "
     "leakage), or the eventual labels as the ES-DFM reference code uses."},

    /* run */
    {"run", "methods", CFG_TEXT, "all", 0, 0, NULL, NULL, OFF(run_methods),
     "", "Comma-separated methods to run, or all."},
    {"run", "threads", CFG_INT, "2", 1, 64, NULL, NULL, OFF(run_threads),
     "threads",
     "Methods trained side by side; results do not depend on "
     "it."},

    /* methods */
    {"vanilla", "wait", CFG_DURATION, "1h", 0, 1e10, NULL, NULL,
     OFF(vanilla_wait), "duration",
     "Vanilla: how long a click waits before it is labelled."},
    {"vanilla", "duplicate", CFG_BOOL, "true", 0, 0, NULL, NULL,
     OFF(vanilla_duplicate), "",
     "Vanilla: re-insert a positive duplicate when a conversion arrives "
     "after the wait (the ES-DFM code's Vanilla)."},
    {"esdfm", "elapsed", CFG_DURATION, "15m", 0, 1e10, NULL, NULL,
     OFF(esdfm_elapsed), "duration",
     "ES-DFM: elapsed time e before a click enters the stream."},
    {"fsiw", "deadline", CFG_DURATION, "7d", 1, 1e10, NULL, NULL,
     OFF(fsiw_deadline), "duration",
     "FSIW: counterfactual deadline; the auxiliary model pretends "
     "pre-training ended this much earlier and learns from what arrived "
     "since (shorter than stream.pretrain)."},
    {"defer", "elapsed", CFG_DURATION, "15m", 0, 1e10, NULL, NULL,
     OFF(defer_elapsed), "duration",
     "DEFER: elapsed time before a click's first appearance."},
    {"defer", "window", CFG_DURATION, "30d", 1, 1e10, NULL, NULL,
     OFF(defer_window), "duration",
     "DEFER: real-negative window after which each click not yet "
     "converted appears again with its label; the attribution window "
     "learns the attributed CVR, a shorter one the CVR within it."},

    /* model */
    {"model", "type", CFG_CHOICE, "lr", 0, 0, "lr|mlp", NULL, OFF(model_type),
     "", "Learner: hashed logistic regression or the ES-DFM paper's MLP."},
    {"model", "optimizer", CFG_CHOICE, "adam", 0, 0, "adam|adagrad", NULL,
     OFF(model_optimizer), "", "Adaptive optimiser of every learner."},
    {"model", "learning_rate", CFG_DOUBLE, "0.001", 1e-8, 10, NULL, NULL,
     OFF(model_learning_rate), "", "Step size of the optimiser."},
    {"model", "batch", CFG_INT, "1024", 1, 1 << 20, NULL, NULL,
     OFF(model_batch), "samples", "Mini-batch size."},
    {"model", "l2", CFG_DOUBLE, "1e-6", 0, 10, NULL, NULL, OFF(model_l2), "",
     "L2 penalty on the weights (the MLP's hidden kernels)."},
    {"model", "epochs", CFG_INT, "5", 1, 1000, NULL, NULL, OFF(model_epochs),
     "passes", "Passes over the shuffled pre-training data."},
    {"model", "hidden", CFG_LIST, "256,256,128", 1, 65536, NULL, NULL,
     OFF(model_hidden), "units", "MLP hidden layer widths."},
    {"model", "embedding", CFG_INT, "8", 1, 1024, NULL, NULL,
     OFF(model_embedding), "dimensions",
     "MLP embedding width of each categorical field."},
    {"model", "leaky_slope", CFG_DOUBLE, "0.2", 0, 1, NULL, NULL,
     OFF(model_leaky_slope), "",
     "Negative slope of LeakyReLU (0.2, TensorFlow's default)."},
    {"model", "bn_momentum", CFG_DOUBLE, "0.99", 0, 1, NULL, NULL,
     OFF(model_bn_momentum), "",
     "BatchNorm running-statistics momentum (Keras default)."},
    {"model", "int_bins", CFG_LIST, "64,16,128,64,128,64,512,512", 1, 1 << 24,
     NULL, NULL, OFF(model_int_bins), "bins",
     "Equal-width bins of each integer feature after min-max scaling; the "
     "last value repeats for extra features."},
    {"model", "cat_buckets", CFG_LIST, "512,128,256,256,64,256,256,16,256", 1,
     1 << 24, NULL, NULL, OFF(model_cat_buckets), "buckets",
     "Hash buckets of each categorical feature; the last value repeats for "
     "extra features."},
    {"model", "int_scale", CFG_CHOICE, "minmax", 0, 0, "minmax|log", NULL,
     OFF(model_int_scale), "",
     "Integer features: min-max scaling as the reference code does, or "
     "log1p first, which suits heavy-tailed counts."},
    {"model", "seed", CFG_INT64, "1", 0, 9.007199254740992e15, NULL, NULL,
     OFF(model_seed), "", "Seed of initialisation and shuffling."},
};

#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

_Static_assert(sizeof keys / sizeof keys[0] <= CFG_MAX_KEYS,
               "raise CFG_MAX_KEYS");

const cfg_key *cfg_keys(int *n)
{
  *n = N_KEYS;
  return keys;
}

static int key_index(const char *section, const char *name)
{
  for (int i = 0; i < N_KEYS; i++)
    if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, name))
      return i;
  return -1;
}

const cfg_key *cfg_find(const char *section, const char *name)
{
  int i = key_index(section, name);
  return i < 0 ? NULL : &keys[i];
}

/* ---- durations ---- */

int cfg_parse_duration(const char *text, double *seconds)
{
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno || !isfinite(v))
    return DF_EINPUT;
  while (isspace((unsigned char)*end))
    end++;

  static const struct {
    char unit;
    double seconds;
  } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (end[0] == units[i].unit && end[1] == '\0') {
      *seconds = v * units[i].seconds;
      return 0;
    }
  }
  return DF_EINPUT;
}

void cfg_format_duration(double seconds, char *buf, size_t len)
{
  /* The largest unit that divides the value exactly reads best. */
  static const struct {
    const char *unit;
    double seconds;
  } units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    double q = seconds / units[i].seconds;
    if (seconds != 0 && q == floor(q) && fabs(q) < 1e15) {
      cfg_format_double(q, buf, len);
      strncat(buf, units[i].unit, len - strlen(buf) - 1);
      return;
    }
  }
  cfg_format_double(seconds, buf, len);
  strncat(buf, "s", len - strlen(buf) - 1);
}

void cfg_format_double(double v, char *buf, size_t len)
{
  /* The shortest of %.15g .. %.17g that reads back to the same double:
   * 0.227 stays "0.227", and every value still round-trips. */
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, len, "%.*g", digits, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

/* ---- values ---- */

static int parse_bool(const char *t, int *v)
{
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  for (int i = 0; i < 4; i++) {
    if (!strcmp(t, yes[i]))
      return *v = 1, 0;
    if (!strcmp(t, no[i]))
      return *v = 0, 0;
  }
  return DF_EINPUT;
}

static int choice_ok(const char *choices, const char *t)
{
  size_t n = strlen(t);
  for (const char *p = choices; *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, t, n))
      return 1;
    p += len + (bar != NULL);
  }
  return 0;
}

/* Parse a number with strtod/strtoll rules and nothing after it.  An
 * integer is also given exactly in *x: a double cannot hold every
 * int64_t, and 2^53 + 1 must not pass a range check as 2^53. */
static int parse_number(const char *t, int integer, double *v, long long *x)
{
  char *end;
  errno = 0;
  if (integer) {
    *x = strtoll(t, &end, 10);
    *v = (double)*x;
  } else {
    *v = strtod(t, &end);
  }
  if (end == t || *end != '\0' || errno || !isfinite(*v))
    return DF_EINPUT;
  return 0;
}

/* "[min, max]" as a user would type the bounds back: integer keys (and
 * list items) in full, never with an exponent; reals as the shortest
 * text that reads back exactly; durations with their largest exact
 * unit. */
static void range_text(const cfg_key *k, char *buf, size_t len)
{
  char lo[64], hi[64];
  if (k->type == CFG_DURATION) {
    cfg_format_duration(k->min, lo, sizeof lo);
    cfg_format_duration(k->max, hi, sizeof hi);
  } else if (k->type == CFG_DOUBLE) {
    cfg_format_double(k->min, lo, sizeof lo);
    cfg_format_double(k->max, hi, sizeof hi);
  } else {
    snprintf(lo, sizeof lo, "%lld", (long long)k->min);
    snprintf(hi, sizeof hi, "%lld", (long long)k->max);
  }
  snprintf(buf, len, "[%s, %s]", lo, hi);
}

static int parse_list(const cfg_key *k, const char *t, cfg_list *out,
                      const char *where)
{
  cfg_list l = {0};
  const char *p = t;
  char range[160];
  range_text(k, range, sizeof range);
  for (;;) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    while (isspace((unsigned char)*end))
      end++;
    if (end == p || errno || (*end != ',' && *end != '\0'))
      return df_fail(DF_EINPUT,
                     "%s: %s.%s: '%s' is not a comma-separated list of "
                     "integers",
                     where, k->section, k->name, t);
    if (v < k->min || v > k->max)
      return df_fail(DF_EINPUT,
                     "%s: %s.%s: item %ld is out of range; valid items are "
                     "integers in %s",
                     where, k->section, k->name, v, range);
    if (l.n == CFG_MAX_LIST)
      return df_fail(DF_EINPUT, "%s: %s.%s: more than %d items", where,
                     k->section, k->name, CFG_MAX_LIST);
    l.v[l.n++] = (int)v;
    if (*end == '\0')
      break;
    p = end + 1;
  }
  *out = l;
  return 0;
}

static int store_text(char *field, const cfg_key *k, const char *t,
                      const char *where);

/* The key's own syntax check of text t, its reason prefixed with where
 * and the key as every other message is.  Text too long to store is
 * left to store_text to report. */
static int check_text(const cfg_key *k, const char *t, const char *where)
{
  if (strlen(t) >= CFG_MAX_TEXT || !k->check(t))
    return 0;
  char why[CFG_MAX_TEXT];
  snprintf(why, sizeof why, "%s", df_errmsg());
  return df_fail(DF_EINPUT, "%s: %s.%s: %s", where, k->section, k->name, why);
}

/* Store text t as the value of key k in cfg; where names the source in
 * messages ("file.ini:12" or "--set"). */
static int set_value(df_config *cfg, int ki, const char *t,
                     const char *where)
{
  const cfg_key *k = &keys[ki];
  char *field = (char *)cfg + k->offset;
  char range[160];
  range_text(k, range, sizeof range);
  double v = 0;
  long long x = 0;
  int real = k->type == CFG_DOUBLE;

  switch (k->type) {
  case CFG_INT:
  case CFG_INT64:
  case CFG_DOUBLE:
    if (parse_number(t, !real, &v, &x))
      return df_fail(DF_EINPUT, "%s: %s.%s: '%s' is not %s; valid: %s", where,
                     k->section, k->name, t, real ? "a number" : "an integer",
                     range);
    /* The bounds of integer keys are integers below 2^53, exact both
     * as double and as long long. */
    if (real ? v < k->min || v > k->max
             : x < (long long)k->min || x > (long long)k->max)
      return df_fail(DF_EINPUT, "%s: %s.%s: %s is out of range; valid: %s",
                     where, k->section, k->name, t, range);
    if (k->type == CFG_INT)
      *(int *)field = (int)x;
    else if (k->type == CFG_INT64)
      *(int64_t *)field = x;
    else
      *(double *)field = v;
    return 0;
  case CFG_DURATION:
    if (cfg_parse_duration(t, &v))
      return df_fail(DF_EINPUT,
                     "%s: %s.%s: '%s' is not a duration; write a number "
                     "and a unit s, m, h or d (e.g. 15m, 0.25h, 7d)",
                     where, k->section, k->name, t);
    if (v < k->min || v > k->max)
      return df_fail(DF_EINPUT, "%s: %s.%s: %s is out of range; valid: %s",
                     where, k->section, k->name, t, range);
    *(double *)field = v;
    return 0;
  case CFG_BOOL:
    if (parse_bool(t, (int *)field))
      return df_fail(DF_EINPUT,
                     "%s: %s.%s: '%s' is not a boolean; valid: true, "
                     "false, yes, no, on, off, 1, 0",
                     where, k->section, k->name, t);
    return 0;
  case CFG_CHOICE:
    if (!choice_ok(k->choices, t))
      return df_fail(DF_EINPUT, "%s: %s.%s: '%s' is not valid; choose one "
                                "of %s",
                     where, k->section, k->name, t, k->choices);
    return store_text(field, k, t, where);
  case CFG_TEXT:
    if (k->check && check_text(k, t, where))
      return DF_EINPUT;
    return store_text(field, k, t, where);
  case CFG_LIST:
    return parse_list(k, t, (cfg_list *)field, where);
  }
  return df_fail(DF_EIO, "internal: key type %d", (int)k->type);
}

static int store_text(char *field, const cfg_key *k, const char *t,
                      const char *where)
{
  if (strlen(t) >= CFG_MAX_TEXT)
    return df_fail(DF_EINPUT, "%s: %s.%s: value longer than %d bytes",
                   where, k->section, k->name, CFG_MAX_TEXT - 1);
  strcpy(field, t);
  return 0;
}

void cfg_defaults(df_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  for (int i = 0; i < N_KEYS; i++) {
    int rc = set_value(cfg, i, keys[i].def, "default");
    /* The table's own defaults must parse; a failure is a bug here. */
    if (rc) {
      log_error("internal: %s", df_errmsg());
      abort();
    }
    snprintf(cfg->origin[i], sizeof cfg->origin[i], "default");
  }
}

/* ---- reading ---- */

static char *trim(char *s)
{
  while (isspace((unsigned char)*s))
    s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1]))
    *--e = '\0';
  return s;
}

static const char *section_names(void)
{
  return "data, generator, delay, stream, run, vanilla, esdfm, fsiw, "
         "defer, model";
}

static int section_known(const char *s)
{
  for (int i = 0; i < N_KEYS; i++)
    if (!strcmp(keys[i].section, s))
      return 1;
  return 0;
}

/* The keys of one section, "a, b, c", for an unknown-key message. */
static void section_keys(const char *section, char *buf, size_t len)
{
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < N_KEYS && used < len; i++) {
    if (strcmp(keys[i].section, section))
      continue;
    used += (size_t)snprintf(buf + used, len - used, "%s%s",
                             used ? ", " : "", keys[i].name);
  }
}

static int unknown_key(const char *where, const char *section,
                       const char *name)
{
  if (!section_known(section))
    return df_fail(DF_EINPUT, "%s: unknown section [%s]; valid sections: %s",
                   where, section, section_names());
  char list[1024];
  section_keys(section, list, sizeof list);
  return df_fail(DF_EINPUT, "%s: unknown key %s.%s; valid keys of [%s]: %s",
                 where, section, name, section, list);
}

int cfg_load_file(df_config *cfg, const char *path)
{
  /* As for a click log: a path that names nothing or a directory is a
   * usage error, any other failure to read a runtime one. */
  FILE *f = fopen(path, "r");
  if (!f) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR || e == EISDIR)
      return df_fail(DF_EINPUT, "%s: %s", path,
                     e == EISDIR ? "is a directory" : "no such config file");
    return df_fail(DF_EIO, "%s: cannot open config: %s", path, strerror(e));
  }
  struct stat st;
  if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
    fclose(f);
    return df_fail(DF_EINPUT, "%s: is a directory", path);
  }

  char line[4 * CFG_MAX_TEXT], section[128] = "", where[CFG_MAX_TEXT + 32];
  unsigned char seen[CFG_MAX_KEYS] = {0};
  int rc = 0;
  for (long lineno = 1; fgets(line, sizeof line, f); lineno++) {
    snprintf(where, sizeof where, "%s:%ld", path, lineno);
    if (!strchr(line, '\n') && !feof(f)) {
      rc = df_fail(DF_EINPUT, "%s: line too long", where);
      break;
    }
    char *s = trim(line);
    if (*s == '\0' || *s == '#' || *s == ';')
      continue;

    /* A section header. */
    if (*s == '[') {
      char *close = strchr(s, ']');
      if (!close || close[1] != '\0') {
        rc = df_fail(DF_EINPUT, "%s: malformed section header '%s'", where,
                     s);
        break;
      }
      *close = '\0';
      char *name = trim(s + 1);
      if (!section_known(name)) {
        rc = df_fail(DF_EINPUT,
                     "%s: unknown section [%s]; valid sections: %s", where,
                     name, section_names());
        break;
      }
      snprintf(section, sizeof section, "%s", name);
      continue;
    }

    /* A key = value line. */
    char *eq = strchr(s, '=');
    if (!eq) {
      rc = df_fail(DF_EINPUT, "%s: expected 'key = value', got '%s'", where,
                   s);
      break;
    }
    *eq = '\0';
    char *name = trim(s), *value = trim(eq + 1);
    if (!*section) {
      rc = df_fail(DF_EINPUT, "%s: key '%s' before any [section]", where,
                   name);
      break;
    }
    int ki = key_index(section, name);
    if (ki < 0) {
      rc = unknown_key(where, section, name);
      break;
    }
    if (seen[ki]) {
      rc = df_fail(DF_EINPUT, "%s: %s.%s is set twice in this file", where,
                   section, name);
      break;
    }
    seen[ki] = 1;
    rc = set_value(cfg, ki, value, where);
    if (rc)
      break;
    snprintf(cfg->origin[ki], sizeof cfg->origin[ki], "%.70s", where);
  }
  if (!rc && ferror(f))
    rc = df_fail(DF_EIO, "%s: read error: %s", path, strerror(errno));
  fclose(f);
  return rc;
}

int cfg_set(df_config *cfg, const char *assignment)
{
  char buf[2 * CFG_MAX_TEXT];
  if (strlen(assignment) >= sizeof buf)
    return df_fail(DF_EINPUT, "--set: assignment too long");
  strcpy(buf, assignment);

  char *eq = strchr(buf, '=');
  char *dot = eq ? memchr(buf, '.', (size_t)(eq - buf)) : NULL;
  if (!eq || !dot)
    return df_fail(DF_EINPUT,
                   "--set %s: expected section.key=value (e.g. "
                   "esdfm.elapsed=15m)",
                   assignment);
  *eq = '\0';
  *dot = '\0';
  char *section = trim(buf), *name = trim(dot + 1), *value = trim(eq + 1);
  int ki = key_index(section, name);
  if (ki < 0)
    return unknown_key("--set", section, name);
  int rc = set_value(cfg, ki, value, "--set");
  if (!rc)
    snprintf(cfg->origin[ki], sizeof cfg->origin[ki], "--set");
  return rc;
}

const char *cfg_origin(const df_config *cfg, const char *section,
                       const char *name)
{
  int i = key_index(section, name);
  return i < 0 ? "?" : cfg->origin[i];
}

int cfg_validate(const df_config *cfg)
{
  if (!strcmp(cfg->data_source, "file") && cfg->data_path[0] == '\0')
    return df_fail(DF_EINPUT,
                   "%s: data.source = file needs data.path (or --data FILE)",
                   cfg_origin(cfg, "data", "source"));
  return 0;
}

/* ---- writing ---- */

static void format_value(const df_config *cfg, const cfg_key *k, char *buf,
                         size_t len)
{
  const char *field = (const char *)cfg + k->offset;
  switch (k->type) {
  case CFG_INT:
    snprintf(buf, len, "%d", *(const int *)field);
    break;
  case CFG_INT64:
    snprintf(buf, len, "%lld", (long long)*(const int64_t *)field);
    break;
  case CFG_DOUBLE:
    cfg_format_double(*(const double *)field, buf, len);
    break;
  case CFG_DURATION:
    cfg_format_duration(*(const double *)field, buf, len);
    break;
  case CFG_BOOL:
    snprintf(buf, len, "%s", *(const int *)field ? "true" : "false");
    break;
  case CFG_CHOICE:
  case CFG_TEXT:
    snprintf(buf, len, "%s", field);
    break;
  case CFG_LIST: {
    const cfg_list *l = (const cfg_list *)field;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < l->n && used < len; i++)
      used += (size_t)snprintf(buf + used, len - used, "%s%d",
                               i ? "," : "", l->v[i]);
    break;
  }
  }
}

/* The key's documentation as '#' comment lines of at most 78 columns. */
static void write_doc(FILE *out, const cfg_key *k)
{
  char text[2048];
  int n = snprintf(text, sizeof text, "%s", k->doc);
  if (k->type == CFG_CHOICE)
    n += snprintf(text + n, sizeof text - (size_t)n, " One of %s.",
                  k->choices);
  if (k->unit && *k->unit)
    n += snprintf(text + n, sizeof text - (size_t)n, " Unit: %s.",
                  k->unit);
  snprintf(text + n, sizeof text - (size_t)n, " Default: %s",
           *k->def ? k->def : "(empty)");

  const char *p = text;
  while (*p) {
    size_t take = strlen(p);
    if (take > 76) {
      take = 76;
      while (take > 0 && p[take] != ' ')
        take--;
      if (take == 0)
        take = strcspn(p, " ");
    }
    fprintf(out, "# %.*s\n", (int)take, p);
    p += take;
    while (*p == ' ')
      p++;
  }
}

int cfg_write(const df_config *cfg, FILE *out, int with_docs)
{
  const char *section = "";
  char value[CFG_MAX_TEXT + 64];
  for (int i = 0; i < N_KEYS; i++) {
    const cfg_key *k = &keys[i];
    if (strcmp(section, k->section)) {
      fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
      section = k->section;
    }
    if (with_docs)
      write_doc(out, k);
    format_value(cfg, k, value, sizeof value);
    fprintf(out, "%s = %s\n", k->name, value);
  }
  return ferror(out) ? df_fail(DF_EIO, "cannot write the configuration") : 0;
}

void cfg_label_origin(df_config *cfg, const char *key, const char *origin)
{
  /* df_config.origin is indexed like the key table. */
  char section[96];
  const char *dot = strchr(key, '.');
  if (!dot || (size_t)(dot - key) >= sizeof section)
    return;
  snprintf(section, sizeof section, "%.*s", (int)(dot - key), key);
  int n;
  const cfg_key *all = cfg_keys(&n), *k = cfg_find(section, dot + 1);
  if (k)
    snprintf(cfg->origin[k - all], sizeof cfg->origin[0], "%s", origin);
}
