/* plot_delay.c: `--kind delay`: the distribution of the delay from click
 * to conversion in a click log, on a log time axis.
 *
 * Empirical: the delays d_i = conv_ts - click_ts of the converted clicks
 * (those within delay.attribution when the config is known), sorted;
 * at each distinct delay v the CDF F(v) = #{d_i <= v} / n, drawn as a
 * right-continuous step function.  A log axis has no 0: delays of 0 s
 * count in F from the first positive delay on.  Beyond 2000 distinct
 * delays only those at least 0.2% above the last one written are kept
 * (and the last), so a 16 M-click log gives a small file; every value
 * written is still exact.
 *
 * Configured, when the configuration is known (given, or config.ini
 * beside the log): the CDF of the attributed delay the generator draws
 * (sim/gen.h, sim/delay.h), over clicks: each has the factor k and the
 * mixture weights of its feature scores, and the curve is their mean,
 * delay_cdf_marginal (the scores taken as standard normal). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plots/plot_internal.h"
#include "sim/clicklog.h"
#include "sim/delay.h"
#include "sim/log.h"

#define DENSE_POINTS 2000
#define THIN_STEP    1.002
#define CURVE_POINTS 400

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The configuration beside the log (config.ini in its directory), or
 * none; *found tells. */
static int config_beside(const char *log_path, df_config *cfg, int *found,
                         char *where, size_t len)
{
  const char *slash = strrchr(log_path, '/');
  snprintf(where, len, "%.*sconfig.ini",
           slash ? (int)(slash - log_path + 1) : 0, log_path);
  *found = !access(where, F_OK);
  if (!*found)
    return 0;
  cfg_defaults(cfg);
  int rc = cfg_load_file(cfg, where);
  return rc ? rc : cfg_validate(cfg);
}

/* The sorted delays of attributed conversions; limit < 0: no limit. */
static int sorted_delays(const df_clicks *log, double limit, int64_t **out,
                         size_t *n, size_t *dropped)
{
  int64_t *d = malloc((log->n ? log->n : 1) * sizeof *d);
  if (!d)
    return df_fail(DF_ENOMEM, "out of memory for %zu delays", log->n);
  *n = *dropped = 0;
  for (size_t i = 0; i < log->n; i++) {
    if (log->conv_ts[i] == CLICKS_NO_CONVERSION)
      continue;
    int64_t v = log->conv_ts[i] - log->click_ts[i];
    if (limit >= 0 && (double)v > limit)
      (*dropped)++;
    else
      d[(*n)++] = v;
  }
  qsort(d, *n, sizeof *d, cmp_i64);
  *out = d;
  return 0;
}

/* Block 0: the empirical CDF at the distinct positive delays. */
static void write_empirical(FILE *f, const int64_t *d, size_t n)
{
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++)
    distinct += i + 1 == n || d[i + 1] != d[i];
  fputs("# block 0: empirical CDF: delay (s), F(delay), "
        "conversions with delay <= it\n",
        f);
  double last = 0;
  for (size_t i = 0; i < n; i++) {
    if (i + 1 < n && d[i + 1] == d[i])
      continue;
    if (d[i] <= 0)
      continue;
    int keep = distinct <= DENSE_POINTS || i + 1 == n ||
               (double)d[i] >= last * THIN_STEP;
    if (!keep)
      continue;
    fprintf(f, "%lld\t%.17g\t%zu\n", (long long)d[i],
            (double)(i + 1) / (double)n, i + 1);
    last = (double)d[i];
  }
  fputs("\n\n", f);
}

/* Block 1: the configured attributed-delay CDF on a log grid, the
 * features' stretch and mixture tilt integrated out. */
static void write_configured(FILE *f, const delay_dist *dist,
                             const df_config *cfg, double limit,
                             double t_lo)
{
  double effect = cfg->delay_feature_effect;
  delay_tilt tilt;
  delay_tilt_solve(dist, cfg->delay_mix_effect, &tilt);
  fprintf(f,
          "# block 1: configured CDF truncated at %.17g s, delay "
          "factor log-sd %.17g, mixture tilt log-odds sd %.17g: delay (s), "
          "G(delay)\n",
          limit, effect, tilt.sigma);
  for (int i = 0; i < CURVE_POINTS; i++) {
    double t = t_lo * pow(limit / t_lo, (double)i / (CURVE_POINTS - 1));
    double g = delay_cdf_marginal(dist, effect, &tilt, limit, t);
    fprintf(f, "%.17g\t%.17g\n", t, g);
  }
  fputs("\n\n", f);
}

/* The frame: log seconds labelled as durations, the share on y. */
static void write_frame(plot_fig *fig, double x_hi, double limit)
{
  FILE *s = fig->s;
  fputs("set logscale x 10\n"
        "set xtics ('1s' 1, '1m' 60, '10m' 600, '1h' 3600, '6h' 21600, "
        "'1d' 86400, '7d' 604800, '30d' 2592000)\n"
        "set mxtics default\n",
        s);
  fprintf(s, "set xrange [1:%.17g]\nset yrange [0:1]\n", x_hi);
  fputs("set ytics 0.2 format '%.1f'\n"
        "set xlabel 'delay from click to conversion (log scale)'\n"
        "set ylabel 'share of conversions'\n",
        s);
  if (limit > 0)
    fprintf(s,
            "# The attribution window: later conversions are not "
            "counted.\n"
            "set arrow from %.17g, graph 0 to %.17g, graph 1 nohead "
            "dt 3 lc rgb '#808080' lw 1\n",
            limit, limit);
}

int plot_delay(plot_fig *fig)
{
  const plot_options *o = fig->opt;
  struct stat st;
  if (!stat(o->input, &st) && S_ISDIR(st.st_mode))
    return df_fail(DF_EINPUT,
                   "%s is a directory; --kind delay reads a "
                   "click log FILE",
                   o->input);
  if (o->metric)
    return df_fail(DF_EINPUT, "--metric is not used by --kind delay");

  /* The configuration, if any, says the features and the delays. */
  df_config beside;
  const df_config *cfg = o->config;
  char where[PLOT_PATH] = "the given config";
  int found = 0;
  int rc =
      cfg ? 0 : config_beside(o->input, &beside, &found, where, sizeof where);
  if (rc)
    return rc;
  if (found)
    cfg = &beside;
  delay_dist dist;
  if (cfg && (rc = delay_from_config(&dist, cfg)))
    return rc;

  df_clicks *log = NULL;
  rc = clicklog_read(o->input, cfg ? cfg->gen_int_features : 8,
                     cfg ? cfg->gen_cat_features : 9, 0, &log);
  if (rc)
    return rc;
  double limit = cfg ? cfg->delay_attribution : -1;
  int64_t *d = NULL;
  size_t n = 0, dropped = 0;
  rc = sorted_delays(log, limit, &d, &n, &dropped);
  clicks_destroy(log);
  if (!rc && !n)
    rc =
        df_fail(DF_EINPUT, "%s: no conversions, no delays to plot", o->input);
  if (!rc && d[n - 1] <= 0)
    rc = df_fail(DF_EINPUT,
                 "%s: every delay is 0 s, which a log axis cannot show",
                 o->input);
  if (rc) {
    free(d);
    return rc;
  }
  if (dropped)
    log_warn("%s: %zu conversions after delay.attribution left out", o->input,
             dropped);

  /* The data: the empirical CDF, then the configured one. */
  fprintf(fig->d, "# delays of %s: %zu attributed conversions\n\n", o->input,
          n);
  write_empirical(fig->d, d, n);
  if (cfg)
    write_configured(fig->d, &dist, cfg, limit, 1);

  /* The script: the legend below, one entry a curve. */
  plot_layout lay = {.panels = 1,
                     .entries = cfg ? 2 : 1,
                     .longest = (int)strlen("empirical (16000000 "
                                            "conversions)")};
  plot_script_begin(fig, "CDF of the delay from click to conversion", &lay);
  double x_hi = fmax(limit, (double)d[n - 1]) * 1.3;
  write_frame(fig, x_hi < 120 ? 120 : x_hi, limit);
  int ls = plot_style_fixed(fig, "empirical", "#0072B2", 1, 7), lc = 0;
  char lim[32] = "";
  if (cfg) {
    char desc[CFG_MAX_TEXT];
    delay_describe(&dist, desc, sizeof desc);
    cfg_format_duration(limit, lim, sizeof lim);
    lc = plot_style_fixed(fig, "configured", "#D55E00", 2, 6);
    fprintf(fig->s,
            "# configured (%s): %s,\n# truncated at %s, delay "
            "factor log-sd %g, mixture tilt log-odds sd %g\n",
            where, desc, lim, cfg->delay_feature_effect,
            cfg->delay_mix_effect);
  }
  char keys[1024] = "", title[128];
  snprintf(title, sizeof title, "empirical (%zu conversions)", n);
  plot_keyentry(keys, sizeof keys, "lines", ls, title);
  fprintf(fig->s, "plot '%s' index 0 using 1:2 with steps ls %d notitle",
          fig->data_name, ls);
  if (cfg) {
    fprintf(fig->s, ", \\\n  '%s' index 1 using 1:2 with lines ls %d notitle",
            fig->data_name, lc);
    snprintf(title, sizeof title, "configured, truncated at %s", lim);
    plot_keyentry(keys, sizeof keys, "lines", lc, title);
  }
  fputs("\n", fig->s);
  plot_legend(fig, keys);
  free(d);
  return 0;
}
