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
 * group: a combination of their values ("esdfm (vanilla.wait=1h)").
 * Colour names the method and, with several groups, the dash pattern
 * and marker name the group, so the legend lists the methods and the
 * groups once each instead of every pair.  bayes, the ceiling of the
 * true probabilities, is left out unless --methods names it: it sits
 * far above the methods and would squeeze them into a sliver.
 *
 * Each point is the mean over seeds of the metric and its error bar the
 * sample standard deviation sd = sqrt(sum (m_i - mean)^2 / (n - 1)) (0
 * for one seed); empty or nan values are left out.  The lines at one x
 * are drawn side by side, shifted by a few percent of the gap to the
 * next value (a factor on a log axis), so that their error bars do not
 * cover each other; the data file keeps the exact x.  --metric all (the
 * default) draws AUC, PR-AUC and NLL as three panels sharing one
 * legend. */
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

/* The group of row r: the values of the grid keys other than key,
 * "vanilla.wait=1h, model.type=mlp", or "" with one key. */
static void group_name(const plot_csv *t, size_t r, int n_keys, int key,
                       char *buf, size_t len)
{
  size_t used = 0;
  buf[0] = '\0';
  for (int c = 0; c < n_keys && used < len; c++)
    if (c != key)
      used += (size_t)snprintf(buf + used, len - used, "%s%s=%s",
                               used ? ", " : "", t->head[c],
                               plot_csv_at(t, r, c));
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

/* The lines: pairs of a method and a group, each named in lines[]. */
typedef struct window {
  axis ax;
  int n_lines, n_seeds, n_methods, n_groups;
  char lines[MAX_LINES][256];   /* "esdfm (vanilla.wait=1h)" */
  int method[MAX_LINES];        /* of each line, into methods[] */
  int group[MAX_LINES];         /* of each line, into groups[] */
  char methods[MAX_LINES][192]; /* drawn, by first appearance */
  char groups[MAX_LINES][192];  /* "vanilla.wait=1h", or "" */
  cell *cells;                  /* [metric k][line][value] */
} window;

/* The index of text in list[n], added at the end when new.  A line
 * adds at most one method and one group, and there are at most
 * MAX_LINES lines, so the list never overflows. */
static int intern(char (*list)[192], int *n, const char *text)
{
  int i = 0;
  while (i < *n && strcmp(list[i], text))
    i++;
  if (i == *n)
    snprintf(list[(*n)++], sizeof list[0], "%s", text);
  return i;
}

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
    if (!plot_selected_line(o->methods, m))
      continue;
    int v = value_index(&w->ax, plot_csv_at(t, r, key));
    if (v < 0 && w->ax.n == MAX_VALUES)
      return df_fail(DF_EINPUT, "%s: more than %d values of %s", path,
                     MAX_VALUES, t->head[key]);
    if (v < 0) {
      v = w->ax.n++;
      w->ax.text[v] = plot_csv_at(t, r, key);
    }
    char group[192], name[256];
    group_name(t, r, n_keys, key, group, sizeof group);
    snprintf(name, sizeof name, "%.63s%s%s%s", m, *group ? " (" : "", group,
             *group ? ")" : "");
    int l = 0;
    while (l < w->n_lines && strcmp(w->lines[l], name))
      l++;
    if (l == MAX_LINES)
      return df_fail(DF_EINPUT, "%s: more than %d lines; choose --methods",
                     path, MAX_LINES);
    if (l == w->n_lines) {
      char method[192];
      snprintf(method, sizeof method, "%.63s", m);
      w->method[l] = intern(w->methods, &w->n_methods, method);
      w->group[l] = intern(w->groups, &w->n_groups, group);
      snprintf(w->lines[w->n_lines++], sizeof w->lines[0], "%s", name);
    }
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

/* How far the outermost of several lines at one x is shifted from it,
 * in the axis's units (log units on a log axis): an eighth of the
 * smallest gap between values, so that the lines spread over a quarter
 * of it and none comes near the next value. */
static double dodge_reach(const axis *a)
{
  double gap = a->log ? log(1.4) : 1; /* one value: the axis's pad */
  for (int i = 1; i < a->n; i++) {
    double x0 = a->x[a->order[i - 1]], x1 = a->x[a->order[i]];
    double g = a->log ? log(x1 / x0) : x1 - x0;
    if (i == 1 || g < gap)
      gap = g;
  }
  return gap / 8;
}

/* The shifted x of line l of n, as gnuplot's expression of column 1:
 * a factor on a log axis, an offset on a linear one. */
static void dodge(const axis *a, int l, int n, char *buf, size_t len)
{
  double shift = n > 1 ? (2.0 * l / (n - 1) - 1) * dodge_reach(a) : 0;
  if (shift == 0)
    snprintf(buf, len, "1");
  else if (a->log)
    snprintf(buf, len, "($1*%.6g)", exp(shift));
  else
    snprintf(buf, len, "($1%+.6g)", shift);
}

/* The x axis: log or linear, tics at the swept values, room beyond
 * the end values for the n_lines lines shifted sideways (dodge).  The
 * label is the key and what kind of value it takes (the tics carry the
 * values with their units), e.g. "esdfm.elapsed (duration, log
 * scale)". */
static void write_axis(FILE *s, const axis *a, int n_lines, double min_gap,
                       const char *key, char *label, size_t len)
{
  double lo = a->x[a->order[0]], hi = a->x[a->order[a->n - 1]];
  double reach = n_lines > 1 ? dodge_reach(a) : 0;
  if (a->log)
    fprintf(s, "set logscale x\nset xrange [%.17g:%.17g]\n",
            lo / 1.4 / exp(reach), hi * 1.4 * exp(reach));
  else {
    double pad = (hi > lo ? 0.06 * (hi - lo) : 0.5) + reach;
    fprintf(s, "set xrange [%.17g:%.17g]\n", lo - pad, hi + pad);
  }
  /* A tic at every swept value; its label only where it keeps clear of
   * the labels around it (min_gap of the axis), so that 12h and 1d on a
   * log axis do not print as "12h1d".  The ends are always labelled. */
  double x0 = a->log ? log(lo / 1.4 / exp(reach)) : lo;
  double x1 = a->log ? log(hi * 1.4 * exp(reach)) : hi;
  double last_at = -1, end_at = 2;
  fputs("set xtics (", s);
  for (int v = 0; v < a->n; v++) {
    double x = a->x[a->order[v]];
    double at = x1 > x0 ? ((a->log ? log(x) : x) - x0) / (x1 - x0) : 0;
    if (v == 0)
      end_at = x1 > x0 ? ((a->log ? log(hi) : hi) - x0) / (x1 - x0) : 1;
    int labelled = v == 0 || v == a->n - 1 ||
                   (at - last_at >= min_gap && end_at - at >= min_gap);
    fputs(v ? ", " : "", s);
    if (labelled) {
      plot_quote(s, a->text[a->order[v]]);
      last_at = at;
    } else {
      fputs("''", s);
    }
    fprintf(s, " %.17g", x);
  }
  fputs(")\nset mxtics 1\n", s);

  /* The key's unit from the config's table, when it has one. */
  char section[96], what[128] = "";
  const char *dot = strchr(key, '.');
  const cfg_key *k = NULL;
  if (dot && (size_t)(dot - key) < sizeof section) {
    snprintf(section, sizeof section, "%.*s", (int)(dot - key), key);
    k = cfg_find(section, dot + 1);
  }
  if (k && k->doc)
    fprintf(s, "# %s: %s\n", key, k->doc);
  if (a->unit)
    snprintf(what, sizeof what, "duration");
  else if (k && k->unit && *k->unit && a->numeric)
    snprintf(what, sizeof what, "%s", k->unit);
  if (a->log)
    snprintf(what + strlen(what), sizeof what - strlen(what), "%slog scale",
             *what ? ", " : "");
  snprintf(label, len, "%s%s%s%s", key, *what ? " (" : "", what,
           *what ? ")" : "");
  fputs("set xlabel ", s);
  plot_quote(s, label);
  fputs("\n", s);
}

/* A y tic step for metric k: at most about five tics over the bars'
 * range, a round 1, 2 or 5 times a power of ten (gnuplot's own choice
 * puts a dozen 9 pt labels on a two-inch axis); 0 when the range is
 * empty. */
static double tic_step(const window *w, int k)
{
  double lo = INFINITY, hi = -INFINITY;
  for (int l = 0; l < w->n_lines; l++)
    for (int v = 0; v < w->ax.n; v++) {
      const cell *c =
          &w->cells[((size_t)k * MAX_LINES + (size_t)l) * MAX_VALUES +
                    (size_t)v];
      double sd = c->n > 1 ? sqrt(c->m2 / (c->n - 1)) : 0;
      if (c->n) {
        lo = fmin(lo, c->mean - sd);
        hi = fmax(hi, c->mean + sd);
      }
    }
  if (!(hi > lo))
    return 0;
  double raw = (hi - lo) / 5, mag = pow(10, floor(log10(raw)));
  double r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
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

/* The line styles: the method's own with one group; with several, the
 * method's colour and the group's dash and marker.  ls receives each
 * line's style, keys the legend's entries: every line, or with several
 * groups the methods (their colour) and then the groups (dark grey,
 * their dash and marker). */
static void write_styles(plot_fig *fig, const window *w, int *ls, char *keys,
                         size_t len)
{
  keys[0] = '\0';
  for (int l = 0; l < w->n_lines; l++) {
    ls[l] = w->n_groups < 2
                ? plot_style(fig, w->lines[l])
                : plot_group_style(
                      fig, w->lines[l],
                      plot_method_colour(fig, w->methods[w->method[l]]),
                      w->group[l]);
    if (w->n_groups < 2)
      plot_keyentry(keys, len, "linespoints", ls[l], w->lines[l]);
  }
  if (w->n_groups < 2)
    return;
  fputs("# Colour: the method; dash and marker: the group.\n", fig->s);
  for (int m = 0; m < w->n_methods; m++) {
    int st = plot_style_fixed(fig, w->methods[m],
                              plot_method_colour(fig, w->methods[m]), 1, -1);
    plot_keyentry(keys, len, "lines", st, w->methods[m]);
  }
  for (int g = 0; g < w->n_groups; g++) {
    int st = plot_group_style(fig, w->groups[g], "#404040", g);
    plot_keyentry(keys, len, "linespoints", st, w->groups[g]);
  }
}

/* The legend's size: its entries and the longest of them. */
static void legend_size(const window *w, plot_layout *lay)
{
  lay->entries = w->n_groups < 2 ? w->n_lines : w->n_methods + w->n_groups;
  for (int i = 0; i < lay->entries; i++) {
    const char *e = w->n_groups < 2    ? w->lines[i]
                    : i < w->n_methods ? w->methods[i]
                                       : w->groups[i - w->n_methods];
    int len = (int)strlen(e);
    lay->longest = len > lay->longest ? len : lay->longest;
  }
}

/* The script: one panel, or three side by side sharing the x label
 * (below the middle one); the legend below them. */
static void write_script(plot_fig *fig, const window *w, const int *which,
                         int n_which, const char *key)
{
  FILE *s = fig->s;
  char what[256], title[64];
  snprintf(what, sizeof what,
           "%s against %s, per method: mean and sd "
           "over seeds",
           n_which > 1 ? "AUC, PR-AUC and NLL" : metrics[which[0]].label,
           key);
  snprintf(title, sizeof title, "mean ± sd over %d seed%s", w->n_seeds,
           w->n_seeds == 1 ? "" : "s");
  plot_layout lay = {.panels = n_which, .key_title = title};
  legend_size(w, &lay);
  plot_script_begin(fig, what, &lay);
  char xlabel[256];
  /* A tic label is about 0.3 in wide: a fifth of a page-wide figure's
   * panel, a tenth of a column-wide one's. */
  write_axis(s, &w->ax, w->n_lines, n_which > 1 ? 0.14 : 0.09, key, xlabel,
             sizeof xlabel);
  int ls[MAX_LINES];
  static _Thread_local char keys[MAX_LINES * 2 * 300];
  write_styles(fig, w, ls, keys, sizeof keys);
  fprintf(s,
          "# Lines at one x are shifted sideways a little so that their "
          "error bars\n# do not cover each other; %s holds the exact "
          "x.\n",
          fig->data_name);
  for (int k = 0; k < n_which; k++) {
    if (n_which > 1) {
      plot_panel(fig, k);
      fputs("set xlabel ", s);
      plot_quote(s, k == n_which / 2 ? xlabel : "");
      fputs("\n", s);
    }
    double step = tic_step(w, k);
    if (step > 0)
      fprintf(s, "set ytics %.6g\n", step);
    else
      fputs("set ytics autofreq\n", s);
    fprintf(s, "set ylabel '%s'\nplot", metrics[which[k]].label);
    for (int l = 0; l < w->n_lines; l++) {
      char x[64];
      dodge(&w->ax, l, w->n_lines, x, sizeof x);
      fprintf(s,
              "%s \\\n  '%s' index %d using %s:2:3 with yerrorlines "
              "ls %d notitle",
              l ? "," : "", fig->data_name, k * w->n_lines + l, x, ls[l]);
    }
    fputs("\n", s);
  }
  plot_legend(fig, keys);
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
