/* plot_window.c: `--kind window`: each metric against a swept key, one
 * line per method, from a sweep's DIR/sweep.csv, whose header is the
 * grid key columns, then seed, then method and the metrics of
 * summary.csv (auc, pr_auc, nll, r_*, ri_*, ...).
 *
 * The x axis is one grid column (--key, default the first).  Its values
 * are config text: when every value is a duration (15m, 1h, 4h) the axis
 * is time in minutes (largest value up to 2h), hours (up to 3d) or days;
 * when every value is a number the axis is that number; otherwise the
 * values are categories in order of appearance.  A numeric axis whose
 * positive values span more than a decade is drawn on a log scale.  Tics
 * sit at the swept values, labelled with their text.
 *
 * A line is a method and, when the sweep has other grid keys, one
 * combination of their values ("esdfm (vanilla.wait=1h)").  Each point
 * is the mean over seeds of the metric and its error bar the sample
 * standard deviation sd = sqrt(sum (m_i - mean)^2 / (n - 1)) (0 for one
 * seed); empty or nan values are left out.  --metric all (the default)
 * draws AUC, PR-AUC and NLL as three panels sharing one legend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_internal.h"
#include "sim/log.h"

#define MAX_LINES  64
#define MAX_VALUES 256

static const struct {
  const char *name, *label;
} metrics[] = {
    {"auc", "AUC"},
    {"pr_auc", "PR-AUC"},
    {"nll", "NLL (nats per click)"},
    {"r_auc", "R-AUC (vanilla 0, oracle 1)"},
    {"r_pr_auc", "R-PR-AUC (vanilla 0, oracle 1)"},
    {"r_nll", "R-NLL (vanilla 0, oracle 1)"},
    {"ri_auc", "RI-AUC (pretrain 0, oracle 1)"},
    {"ri_pr_auc", "RI-PR-AUC (pretrain 0, oracle 1)"},
    {"ri_nll", "RI-NLL (pretrain 0, oracle 1)"},
};
#define N_METRICS ((int)(sizeof metrics / sizeof metrics[0]))

/* The swept values of the key: text, position on the axis. */
typedef struct axis {
  int n;
  const char *text[MAX_VALUES];
  double x[MAX_VALUES];
  int order[MAX_VALUES]; /* values by position */
  const char *unit;      /* "minutes", "hours", "days", NULL */
  int numeric, log;
} axis;

/* Running mean and sum of squared deviations (Welford). */
typedef struct cell {
  double n, mean, m2;
} cell;

static int value_index(const axis *a, const char *text)
{
  for (int v = 0; v < a->n; v++)
    if (!strcmp(a->text[v], text))
      return v;
  return -1;
}

/* Classify the key's values and place them on the axis. */
static void axis_place(axis *a)
{
  int durations = 1, numbers = 1;
  double sec[MAX_VALUES], hi = 0, lo = INFINITY;
  for (int v = 0; v < a->n; v++) {
    char *end;
    durations &= !cfg_parse_duration(a->text[v], &sec[v]);
    a->x[v] = strtod(a->text[v], &end);
    numbers &= end != a->text[v] && !*end && isfinite(a->x[v]);
  }
  if (durations) {
    for (int v = 0; v < a->n; v++)
      hi = fmax(hi, sec[v]);
    double unit = hi <= 7200 ? 60 : hi <= 3 * 86400 ? 3600 : 86400;
    a->unit = unit == 60 ? "minutes" : unit == 3600 ? "hours" : "days";
    for (int v = 0; v < a->n; v++)
      a->x[v] = sec[v] / unit;
  }
  a->numeric = durations || numbers;
  if (!a->numeric)
    for (int v = 0; v < a->n; v++)
      a->x[v] = v + 1;
  hi = 0;
  for (int v = 0; v < a->n; v++) {
    hi = fmax(hi, a->x[v]);
    lo = fmin(lo, a->x[v]);
  }
  a->log = a->numeric && lo > 0 && hi / lo > 10;

  /* The plotting order: by position (insertion sort, n is small). */
  for (int v = 0; v < a->n; v++) {
    int k = v;
    while (k > 0 && a->x[a->order[k - 1]] > a->x[v]) {
      a->order[k] = a->order[k - 1];
      k--;
    }
    a->order[k] = v;
  }
}

/* The name of the line of row r: the method and the other keys. */
static void line_name(const plot_csv *t, size_t r, int n_keys, int key,
                      int mcol, char *buf, size_t len)
{
  size_t used = (size_t)snprintf(buf, len, "%s", plot_csv_at(t, r, mcol));
  const char *sep = " (";
  for (int c = 0; c < n_keys && used < len; c++) {
    if (c == key)
      continue;
    used += (size_t)snprintf(buf + used, len - used, "%s%s=%s", sep,
                             t->head[c], plot_csv_at(t, r, c));
    sep = ", ";
  }
  if (n_keys > 1 && used < len)
    snprintf(buf + used, len - used, ")");
}

/* The grid key column and the metric columns; DF_EINPUT naming them. */
static int find_columns(const plot_csv *t, const char *path,
                        const plot_options *o, int *n_keys, int *key,
                        int *mcol, int *which, int *n_which)
{
  int seed = plot_csv_col(t, "seed");
  *mcol = plot_csv_col(t, "method");
  if (seed < 1 || *mcol <= seed)
    return df_fail(DF_EINPUT,
                   "%s: expected grid key columns, then 'seed' "
                   "and 'method' (not a sweep's sweep.csv?)",
                   path);
  *n_keys = seed;
  *key = 0;
  if (o->key) {
    *key = plot_csv_col(t, o->key);
    if (*key < 0 || *key >= seed) {
      char keys[1024] = "";
      for (int c = 0; c < seed; c++)
        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s",
                 c ? ", " : "", t->head[c]);
      return df_fail(DF_EINPUT, "%s: no grid key '%s'; its keys: %s", path,
                     o->key, keys);
    }
  }
  const char *metric = o->metric ? o->metric : "all";
  *n_which = 0;
  for (int m = 0; m < N_METRICS; m++)
    if (!strcmp(metric, metrics[m].name) || (!strcmp(metric, "all") && m < 3))
      which[(*n_which)++] = m;
  if (!*n_which)
    return df_fail(DF_EINPUT,
                   "unknown metric '%s' for window; valid: "
                   "all, auc, pr_auc, nll, r_auc, r_pr_auc, r_nll, "
                   "ri_auc, ri_pr_auc, ri_nll",
                   metric);
  for (int k = 0; k < *n_which; k++)
    if (plot_csv_col(t, metrics[which[k]].name) < 0)
      return df_fail(DF_EINPUT, "%s: no column '%s'", path,
                     metrics[which[k]].name);
  return 0;
}

typedef struct window {
  axis ax;
  int n_lines, n_seeds;
  char lines[MAX_LINES][256];
  cell *cells; /* [metric k][line][value] */
} window;

/* Walk the rows: the axis values, the lines and the running means. */
static int collect(const plot_csv *t, const char *path, const plot_options *o,
                   int n_keys, int key, int mcol, const int *which,
                   int n_which, window *w)
{
  const char *seeds[MAX_VALUES], *methods[MAX_LINES];
  int n_methods = 0;
  for (size_t r = 0; r < t->n; r++) {
    /* Count the seeds and the methods, drawn or not. */
    const char *s = plot_csv_at(t, r, n_keys);
    int j = 0;
    while (j < w->n_seeds && strcmp(seeds[j], s))
      j++;
    if (j == w->n_seeds && j < MAX_VALUES)
      seeds[w->n_seeds++] = s;
    const char *m = plot_csv_at(t, r, mcol);
    for (j = 0; j < n_methods && strcmp(methods[j], m);)
      j++;
    if (j == n_methods && j < MAX_LINES)
      methods[n_methods++] = m;
    if (!plot_selected(o->methods, plot_csv_at(t, r, mcol)))
      continue;
    int v = value_index(&w->ax, plot_csv_at(t, r, key));
    if (v < 0 && w->ax.n == MAX_VALUES)
      return df_fail(DF_EINPUT, "%s: more than %d values of %s", path,
                     MAX_VALUES, t->head[key]);
    if (v < 0) {
      v = w->ax.n++;
      w->ax.text[v] = plot_csv_at(t, r, key);
    }
    char name[256];
    line_name(t, r, n_keys, key, mcol, name, sizeof name);
    int l = 0;
    while (l < w->n_lines && strcmp(w->lines[l], name))
      l++;
    if (l == MAX_LINES)
      return df_fail(DF_EINPUT, "%s: more than %d lines; choose --methods",
                     path, MAX_LINES);
    if (l == w->n_lines)
      snprintf(w->lines[w->n_lines++], sizeof w->lines[0], "%s", name);
    for (int k = 0; k < n_which; k++) {
      int col = plot_csv_col(t, metrics[which[k]].name);
      double x;
      if (!*plot_csv_at(t, r, col))
        continue;
      int rc = plot_csv_num(t, path, r, col, &x);
      if (rc)
        return rc;
      if (isnan(x))
        continue;
      cell *c = &w->cells[((size_t)k * MAX_LINES + (size_t)l) * MAX_VALUES +
                          (size_t)v];
      c->n += 1;
      double d = x - c->mean;
      c->mean += d / c->n;
      c->m2 += d * (x - c->mean);
    }
  }
  int rc = plot_check_methods(o->methods, methods, n_methods, path);
  if (!rc && !w->n_lines)
    rc = df_fail(DF_EINPUT, "%s: no rows", path);
  return rc;
}

/* The x axis: log or linear, tics at the swept values. */
static void write_axis(FILE *s, const axis *a, const char *key)
{
  double lo = a->x[a->order[0]], hi = a->x[a->order[a->n - 1]];
  if (a->log)
    fprintf(s, "set logscale x\nset xrange [%.17g:%.17g]\n", lo / 1.4,
            hi * 1.4);
  else {
    double pad = hi > lo ? 0.06 * (hi - lo) : 0.5;
    fprintf(s, "set xrange [%.17g:%.17g]\n", lo - pad, hi + pad);
  }
  fputs("set xtics (", s);
  for (int v = 0; v < a->n; v++) {
    fputs(v ? ", " : "", s);
    plot_quote(s, a->text[a->order[v]]);
    fprintf(s, " %.17g", a->x[a->order[v]]);
  }
  fputs(")\nset mxtics 1\n", s);
  /* The tics carry the values with their units. */
  fprintf(s, "set xlabel '%s%s'\n", key, a->log ? " (log scale)" : "");
}

/* The data blocks of metric k: one per line, points by position. */
static void write_blocks(FILE *d, const window *w, int k, const char *name)
{
  for (int l = 0; l < w->n_lines; l++) {
    fprintf(d, "# block %d: %s, %s\n", k * w->n_lines + l, name, w->lines[l]);
    for (int i = 0; i < w->ax.n; i++) {
      int v = w->ax.order[i];
      const cell *c =
          &w->cells[((size_t)k * MAX_LINES + (size_t)l) * MAX_VALUES +
                    (size_t)v];
      if (!c->n)
        continue;
      double sd = c->n > 1 ? sqrt(c->m2 / (c->n - 1)) : 0;
      fprintf(d, "%.17g\t%.17g\t%.17g\t%g\t%s\n", w->ax.x[v], c->mean, sd,
              c->n, w->ax.text[v]);
    }
    fputs("\n\n", d);
  }
}

/* The script: one panel, or three side by side with one legend below. */
static void write_script(plot_fig *fig, const window *w, const int *which,
                         int n_which, const char *key)
{
  FILE *s = fig->s;
  char what[256];
  snprintf(what, sizeof what,
           "%s against %s, per method: mean and sd "
           "over seeds",
           n_which > 1 ? "AUC, PR-AUC and NLL" : metrics[which[0]].label,
           key);
  plot_script_begin(fig, what, n_which > 1 ? 2.1 : 1);
  write_axis(s, &w->ax, key);
  for (int l = 0; l < w->n_lines; l++)
    plot_style(fig, w->lines[l]);
  fprintf(s, "set key title 'mean ± sd over %d seed%s'\n", w->n_seeds,
          w->n_seeds == 1 ? "" : "s");
  if (n_which > 1) {
    /* A title belongs to the whole figure, not to each panel. */
    const char *title = fig->opt->title;
    fputs("# Three panels; the legend of the first sits below them all.\n"
          "unset title\n",
          s);
    fprintf(s,
            "set multiplot layout 1,3 margins 0.075,0.99,0.31,%s "
            "spacing 0.07,0",
            title ? "0.88" : "0.95");
    if (title) {
      fputs(" title ", s);
      plot_quote(s, title);
    }
    fputs("\nset key at screen 0.5,0.02 center bottom horizontal\n", s);
  }
  for (int k = 0; k < n_which; k++) {
    if (k == 1)
      fputs("unset key\n", s);
    fprintf(s, "set ylabel '%s'\nplot", metrics[which[k]].label);
    for (int l = 0; l < w->n_lines; l++)
      fprintf(s,
              "%s \\\n  '%s' index %d using 1:2:3 with yerrorlines "
              "ls %d title '%s'",
              l ? "," : "", fig->data_name, k * w->n_lines + l, l + 1,
              w->lines[l]);
    fputs("\n", s);
  }
  if (n_which > 1)
    fputs("unset multiplot\n", s);
}

int plot_window(plot_fig *fig)
{
  const plot_options *o = fig->opt;
  char path[PLOT_PATH];
  snprintf(path, sizeof path, "%s/sweep.csv", o->input);
  plot_csv t;
  int rc = plot_csv_read(path, &t);
  if (rc)
    return rc;
  int n_keys = 0, key = 0, mcol = 0, which[N_METRICS], n_which = 0;
  rc = find_columns(&t, path, o, &n_keys, &key, &mcol, which, &n_which);
  window *w = rc ? NULL : calloc(1, sizeof *w);
  if (!rc && !w)
    rc = df_fail(DF_ENOMEM, "out of memory");
  if (!rc) {
    w->cells =
        calloc((size_t)n_which * MAX_LINES * MAX_VALUES, sizeof *w->cells);
    if (!w->cells)
      rc = df_fail(DF_ENOMEM, "out of memory");
  }
  if (!rc)
    rc = collect(&t, path, o, n_keys, key, mcol, which, n_which, w);
  if (!rc) {
    axis_place(&w->ax);
    fprintf(fig->d,
            "# %s: mean and sd over seeds against %s\n"
            "# columns: %s%s%s, mean, sd, seeds, value as "
            "swept\n\n",
            path, t.head[key], t.head[key], w->ax.unit ? " in " : "",
            w->ax.unit      ? w->ax.unit
            : w->ax.numeric ? ""
                            : " (position)");
    for (int k = 0; k < n_which; k++)
      write_blocks(fig->d, w, k, metrics[which[k]].name);
    write_script(fig, w, which, n_which, t.head[key]);
  }
  if (w)
    free(w->cells);
  free(w);
  plot_csv_free(&t);
  return rc;
}
