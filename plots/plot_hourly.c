/* plot_hourly.c: `--kind hourly`: a metric of each test interval over
 * stream time, one line per method, from a run's DIR/hourly.csv.
 *
 *   x  = interval * stream.interval, the start of the test interval in
 *        stream time (0 = end of pre-training); stream.interval comes
 *        from DIR/config.ini (1h when it is missing); days when the
 *        stream is longer than two days, hours otherwise.
 *   y  = the metric (auc, pr_auc, nll or mean_pred) of the interval, or
 *        with --smooth W its trailing moving average over the last W
 *        intervals (W a count, or a duration such as 1d), weighted by
 *        test clicks as the stream metrics are, over the intervals where
 *        the metric is defined:
 *          y_t = sum_{s=t-W+1..t} n_s m_s / sum_{s=t-W+1..t} n_s
 *        (the first W - 1 points average the intervals there are).
 * With mean_pred the observed conversion rate (mean_label) is drawn too,
 * in black, smoothed the same way.  bayes is drawn only when --methods
 * names it, as in the window plot. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plots/plot_internal.h"
#include "sim/log.h"

static const struct {
  const char *name, *label;
} metrics[] = {
    {"auc", "AUC"},
    {"pr_auc", "PR-AUC"},
    {"nll", "NLL (nats per click)"},
    {"mean_pred", "predicted or observed CVR"},
};
#define N_METRICS ((int)(sizeof metrics / sizeof metrics[0]))

/* The smoothing window in intervals from "N" or a duration. */
static int smooth_window(const char *text, double interval, int *w)
{
  *w = 1;
  if (!text)
    return 0;
  char *end;
  long n = strtol(text, &end, 10);
  double seconds;
  if (*text && !*end && n >= 1 && n <= 1000000) {
    *w = (int)n;
    return 0;
  }
  if (!cfg_parse_duration(text, &seconds) && seconds >= interval &&
      seconds / interval <= 1e6) {
    *w = (int)lround(seconds / interval);
    return 0;
  }
  return df_fail(DF_EINPUT,
                 "--smooth '%s': expected a number of intervals (1, 24) "
                 "or a duration of at least one interval (1d)",
                 text);
}

/* stream.interval of the run in dir (1h without its config.ini). */
static int run_interval(const char *dir, double *interval)
{
  char path[PLOT_PATH];
  snprintf(path, sizeof path, "%s/config.ini", dir);
  df_config cfg;
  cfg_defaults(&cfg);
  *interval = 3600;
  if (access(path, F_OK)) {
    log_warn("%s: not found; taking stream.interval = 1h", path);
    return 0;
  }
  int rc = cfg_load_file(&cfg, path);
  if (!rc)
    *interval = cfg.stream_interval;
  return rc;
}

/* Write one method's block: x, y (smoothed), test clicks of rows
 * [rows] of the table; col is the value's column. */
static int write_block(plot_fig *fig, const plot_csv *t, const char *path,
                       const size_t *rows, size_t n, int col, int w,
                       double interval, double x_unit)
{
  int hour = plot_csv_col(t, "hour"), clicks = plot_csv_col(t, "test_clicks");
  double *v = malloc((n ? n : 1) * 2 * sizeof *v), *c = v + n;
  if (!v)
    return df_fail(DF_ENOMEM, "out of memory");
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    rc = plot_csv_num(t, path, rows[i], col, &v[i]);
    if (!rc)
      rc = plot_csv_num(t, path, rows[i], clicks, &c[i]);
  }
  double sum = 0, weight = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    /* Slide the window: add interval i, drop interval i - w. */
    if (!isnan(v[i])) {
      sum += c[i] * v[i];
      weight += c[i];
    }
    if (i >= (size_t)w && !isnan(v[i - w])) {
      sum -= c[i - w] * v[i - w];
      weight -= c[i - w];
    }
    double h;
    rc = plot_csv_num(t, path, rows[i], hour, &h);
    double y = w == 1 ? v[i] : weight > 0 ? sum / weight : NAN;
    if (!rc)
      fprintf(fig->d, "%.17g\t%.17g\t%.17g\n", h * interval / x_unit, y,
              c[i]);
  }
  fputs("\n\n", fig->d);
  free(v);
  return rc;
}

/* Methods in order of first appearance. */
static int list_methods(const plot_csv *t, int mcol, const char **names,
                        int max)
{
  int n = 0;
  for (size_t r = 0; r < t->n; r++) {
    const char *m = plot_csv_at(t, r, mcol);
    int k = 0;
    while (k < n && strcmp(names[k], m))
      k++;
    if (k == n && n < max)
      names[n++] = m;
  }
  return n;
}

static int check_columns(const plot_csv *t, const char *path,
                         const char *metric)
{
  const char *need[] = {"method", "hour", "test_clicks", metric,
                        "mean_label"};
  int n_need = strcmp(metric, "mean_pred") ? 4 : 5;
  for (int i = 0; i < n_need; i++)
    if (plot_csv_col(t, need[i]) < 0)
      return df_fail(DF_EINPUT,
                     "%s: no column '%s' (not a run's "
                     "hourly.csv?)",
                     path, need[i]);
  return 0;
}

/* The script's frame: what it shows, the axes and their units, the
 * legend of the selected methods (and the observed rate, if drawn). */
static void write_frame(plot_fig *fig, int mi, int w, int days,
                        const char **names, int n_names)
{
  char what[256];
  snprintf(what, sizeof what,
           "%s of each test interval over stream time, per method%s",
           metrics[mi].label, w > 1 ? " (moving average)" : "");
  plot_layout lay = {.panels = 1, .left = w > 1 ? 0.85 : 0};
  if (!strcmp(metrics[mi].name, "mean_pred")) {
    lay.entries = 1;
    lay.longest = (int)strlen("observed rate");
  }
  for (int k = 0; k < n_names; k++)
    if (plot_selected_line(fig->opt->methods, names[k])) {
      int len = (int)strlen(names[k]);
      lay.entries++;
      lay.longest = len > lay.longest ? len : lay.longest;
    }
  plot_script_begin(fig, what, &lay);
  fprintf(fig->s, "set xlabel 'time after pre-training (%s)'\n",
          days ? "days" : "hours");
  if (w > 1)
    fprintf(fig->s, "set ylabel \"%s\\n(trailing mean of %d intervals)\"\n",
            metrics[mi].label, w);
  else
    fprintf(fig->s, "set ylabel '%s'\n", metrics[mi].label);
  fputs("set xrange [0:*]\n", fig->s);
}

/* One block and one line style per selected method (and the observed
 * rate for mean_pred), then the plot command drawing them. */
static int write_lines(plot_fig *fig, const plot_csv *t, const char *path,
                       const char *metric, const char **names, int n_names,
                       int w, double interval, double x_unit)
{
  size_t *rows = malloc((t->n ? t->n : 1) * sizeof *rows);
  int *styles = malloc((size_t)(n_names + 1) * sizeof *styles);
  const char *titles[65];
  int rc = rows && styles ? 0 : df_fail(DF_ENOMEM, "out of memory");
  int mcol = plot_csv_col(t, "method"), blocks = 0;
  int n_lines = n_names + !strcmp(metric, "mean_pred");
  for (int k = 0; k < n_lines && !rc; k++) {
    int observed = k == n_names;
    const char *name = observed ? names[0] : names[k];
    if (!observed && !plot_selected_line(fig->opt->methods, name))
      continue;
    size_t n = 0;
    for (size_t r = 0; r < t->n; r++)
      if (!strcmp(plot_csv_at(t, r, mcol), name))
        rows[n++] = r;
    fprintf(fig->d, "# block %d: %s\n", blocks,
            observed ? "observed conversion rate (mean_label)" : name);
    rc = write_block(fig, t, path, rows, n,
                     plot_csv_col(t, observed ? "mean_label" : metric), w,
                     interval, x_unit);
    titles[blocks] = observed ? "observed rate" : name;
    styles[blocks++] =
        observed ? plot_style_fixed(fig, "observed rate", "#000000", 2, 7)
                 : plot_style(fig, name);
  }

  static _Thread_local char keys[65 * 300];
  keys[0] = '\0';
  fputs("plot", fig->s);
  for (int b = 0; b < blocks && !rc; b++) {
    fprintf(fig->s,
            "%s \\\n  '%s' index %d using 1:2 with lines ls %d notitle",
            b ? "," : "", fig->data_name, b, styles[b]);
    plot_keyentry(keys, sizeof keys, "lines", styles[b], titles[b]);
  }
  fputs("\n", fig->s);
  plot_legend(fig, keys);
  free(rows);
  free(styles);
  return rc;
}

int plot_hourly(plot_fig *fig)
{
  const plot_options *o = fig->opt;
  const char *metric = o->metric ? o->metric : "auc";
  int mi = 0;
  while (mi < N_METRICS && strcmp(metrics[mi].name, metric))
    mi++;
  if (mi == N_METRICS)
    return df_fail(DF_EINPUT,
                   "unknown metric '%s' for hourly; valid: auc, "
                   "pr_auc, nll, mean_pred",
                   metric);

  /* The table, the run's interval and the smoothing window. */
  char path[PLOT_PATH];
  snprintf(path, sizeof path, "%s/hourly.csv", o->input);
  plot_csv t;
  int rc = plot_csv_read(path, &t);
  if (rc)
    return rc;
  double interval = 3600;
  int w = 1;
  rc = check_columns(&t, path, metric);
  if (!rc)
    rc = run_interval(o->input, &interval);
  if (!rc)
    rc = smooth_window(o->smooth, interval, &w);

  /* The methods, the stream's length and the unit of the x axis. */
  const char *names[64];
  int n_names =
      rc ? 0 : list_methods(&t, plot_csv_col(&t, "method"), names, 64);
  if (!rc)
    rc = plot_check_methods(o->methods, names, n_names, path);
  double last = 0;
  for (size_t r = 0; r < t.n && !rc; r++) {
    double h;
    rc = plot_csv_num(&t, path, r, plot_csv_col(&t, "hour"), &h);
    last = h > last ? h : last;
  }
  if (!rc && !t.n)
    rc = df_fail(DF_EINPUT, "%s: no rows", path);
  int days = (last + 1) * interval > 2 * 86400;

  /* The frame, then the lines. */
  if (!rc) {
    write_frame(fig, mi, w, days, names, n_names);
    fprintf(fig->d,
            "# %s from %s, stream.interval %g s, window %d\n"
            "# columns: stream time (%s), %s, test clicks\n\n",
            metric, path, interval, w, days ? "days" : "hours", metric);
    rc = write_lines(fig, &t, path, metric, names, n_names, w, interval,
                     days ? 86400 : 3600);
  }
  plot_csv_free(&t);
  return rc;
}
