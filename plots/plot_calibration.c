/* plot_calibration.c: `--kind calibration`: a reliability diagram of
 * each method's predictions, from a run's DIR/predictions/METHOD.tsv
 * (`dfbench run --predictions`), lines "hour<TAB>label<TAB>prediction".
 *
 * Bins: by default B quantile bins (--bins, 10): the predictions sorted
 * ascending (ties by label) and cut into B runs of floor(b n / B) ..
 * floor((b + 1) n / B) - 1, so every point averages the same number of
 * clicks and has a comparable error; CVR predictions crowd into a narrow
 * range, where equal-width bins would leave most bins nearly empty.
 * --equal-width cuts [0, 1] into B bins of width 1/B instead (bin
 * floor(p B), p = 1 in the last), and empty bins are left out.
 *
 * Per bin b with n_b clicks: x = mean prediction, y = mean label, the
 * error bar the 95% Wilson score interval of the rate (Wilson, JASA
 * 1927), with z = 1.96,
 *   centre = (y + z^2 / (2 n_b)) / (1 + z^2 / n_b)
 *   half   = z sqrt(y (1 - y) / n_b + z^2 / (4 n_b^2)) / (1 + z^2 / n_b)
 * rather than y +- sqrt(y (1 - y) / n_b): that standard error is 0 at
 * a rate of 0 or 1, which a sparse bin (equal-width bins at the edges)
 * often has, and would draw 2 clicks out of 2 as certain; the Wilson
 * interval stays honest there (10 of 10 gives [0.72, 1]).  The legend
 * gives after each method its expected calibration error
 *   ECE = sum_b n_b / n |y_b - x_b|
 * (the data file has the clicks of every bin).  Methods come in the
 * order of DIR/summary.csv, then any others by name. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plots/plot_internal.h"
#include "sim/log.h"

#define MAX_METHODS 64
#define WILSON_Z    1.96 /* the normal quantile of a 95% interval */

typedef struct pred {
  double p;
  int label;
} pred;

static int cmp_pred(const void *a, const void *b)
{
  const pred *x = a, *y = b;
  if (x->p != y->p)
    return x->p < y->p ? -1 : 1;
  return x->label - y->label;
}

/* Read one predictions file into *out (n rows). */
static int read_predictions(const char *path, pred **out, size_t *n)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return df_fail(DF_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  char line[512];
  int rc = 0;
  if (!fgets(line, sizeof line, f) ||
      strcmp(line, "hour\tlabel\tprediction\n"))
    rc = df_fail(DF_EINPUT,
                 "%s:1: expected the header "
                 "'hour<TAB>label<TAB>prediction'",
                 path);
  size_t cap = 1024, k = 0;
  pred *v = rc ? NULL : malloc(cap * sizeof *v);
  if (!rc && !v)
    rc = df_fail(DF_ENOMEM, "out of memory");
  for (size_t lineno = 2; !rc && fgets(line, sizeof line, f); lineno++) {
    char *tab = strchr(line, '\t'), *end;
    long label = tab ? strtol(tab + 1, &end, 10) : -1;
    double p = tab && *end == '\t' ? strtod(end + 1, &end) : NAN;
    if (!tab || (label != 0 && label != 1) || !(p >= 0 && p <= 1) ||
        (*end != '\n' && *end != '\0')) {
      rc = df_fail(DF_EINPUT,
                   "%s:%zu: expected hour, a 0/1 label and a "
                   "prediction in [0, 1]",
                   path, lineno);
      break;
    }
    if (k == cap) {
      pred *nv = realloc(v, 2 * cap * sizeof *v);
      if (!nv) {
        rc = df_fail(DF_ENOMEM, "out of memory");
        break;
      }
      v = nv;
      cap *= 2;
    }
    v[k].p = p;
    v[k++].label = (int)label;
  }
  fclose(f);
  if (!rc && !k)
    rc = df_fail(DF_EINPUT, "%s: no predictions", path);
  if (rc) {
    free(v);
    return rc;
  }
  *out = v;
  *n = k;
  return 0;
}

/* Bin the sorted predictions, write the block, return the ECE; *hi
 * grows to the largest coordinate drawn. */
static double write_bins(FILE *f, const pred *v, size_t n, int bins,
                         int equal_width, double *hi)
{
  double ece = 0;
  size_t lo = 0;
  for (int b = 0; b < bins; b++) {
    size_t end = (size_t)((double)(b + 1) * (double)n / bins);
    if (equal_width) {
      end = lo;
      while (end < n && (b + 1 == bins || v[end].p < (double)(b + 1) / bins))
        end++;
    }
    if (end <= lo)
      continue;
    double sp = 0, sl = 0, m = (double)(end - lo);
    for (size_t i = lo; i < end; i++) {
      sp += v[i].p;
      sl += v[i].label;
    }
    double x = sp / m, y = sl / m, z2 = WILSON_Z * WILSON_Z;
    double den = 1 + z2 / m, centre = (y + z2 / (2 * m)) / den;
    double half = WILSON_Z * sqrt(y * (1 - y) / m + z2 / (4 * m * m)) / den;
    ece += m / (double)n * fabs(y - x);
    fprintf(f, "%.17g\t%.17g\t%.17g\t%.17g\t%zu\t%.17g\t%.17g\n", x, y,
            fmax(0, centre - half), fmin(1, centre + half), end - lo, v[lo].p,
            v[end - 1].p);
    *hi = fmax(*hi, fmax(x, fmin(1, centre + half)));
    lo = end;
  }
  fputs("\n\n", f);
  return ece;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The methods with a predictions file, in summary.csv's order first. */
static int list_methods(const char *dir, char **names, int *n)
{
  char path[PLOT_PATH];
  snprintf(path, sizeof path, "%s/predictions", dir);
  DIR *d = opendir(path);
  if (!d)
    return df_fail(DF_EINPUT,
                   "%s: cannot open: %s (written by `dfbench "
                   "run --predictions`)",
                   path, strerror(errno));
  *n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && *n < MAX_METHODS) {
    size_t len = strlen(e->d_name);
    if (len > 4 && !strcmp(e->d_name + len - 4, ".tsv") &&
        e->d_name[0] != '.' && (names[*n] = strdup(e->d_name)))
      names[(*n)++][len - 4] = '\0';
  }
  closedir(d);
  if (!*n)
    return df_fail(DF_EINPUT, "%s: no METHOD.tsv files", path);
  qsort(names, (size_t)*n, sizeof *names, by_name);

  /* Move the methods of summary.csv to the front, in its order. */
  plot_csv t;
  snprintf(path, sizeof path, "%s/summary.csv", dir);
  if (plot_csv_read(path, &t))
    return 0;
  int mcol = plot_csv_col(&t, "method"), front = 0;
  for (size_t r = 0; mcol >= 0 && r < t.n; r++)
    for (int k = front; k < *n; k++)
      if (!strcmp(names[k], plot_csv_at(&t, r, mcol))) {
        char *keep = names[k];
        memmove(names + front + 1, names + front,
                (size_t)(k - front) * sizeof *names);
        names[front++] = keep;
        break;
      }
  plot_csv_free(&t);
  return 0;
}

/* The opening and the frame: a square plot of one column, the legend
 * (each method with its ECE, and the diagonal) below it. */
static void write_frame(plot_fig *fig, int bins, int equal_width,
                        char *const *names, int n_names)
{
  char title[96];
  snprintf(title, sizeof title, "ECE; %d %s bins, 95%% Wilson bars", bins,
           equal_width ? "equal-width" : "equal-count");
  plot_layout lay = {.panels = 1,
                     .square = 1,
                     .entries = 1,
                     .longest = (int)strlen("calibrated"),
                     .key_title = title};
  for (int k = 0; k < n_names; k++)
    if (plot_selected(fig->opt->methods, names[k])) {
      int len = (int)strlen(names[k]) + (int)strlen(" 0.000");
      lay.entries++;
      lay.longest = len > lay.longest ? len : lay.longest;
    }
  plot_script_begin(fig,
                    "Reliability diagram: observed rate against "
                    "mean prediction in bins, per method",
                    &lay);
  fputs("set xlabel 'mean prediction in the bin'\n"
        "set ylabel 'observed conversion rate'\n",
        fig->s);
}

int plot_calibration(plot_fig *fig)
{
  const plot_options *o = fig->opt;
  int bins = o->bins ? o->bins : 10;
  if (o->metric)
    return df_fail(DF_EINPUT, "--metric is not used by --kind calibration");
  char *names[MAX_METHODS];
  int n_names = 0;
  int rc = list_methods(o->input, names, &n_names);
  if (!rc)
    rc = plot_check_methods(o->methods, (const char *const *)names, n_names,
                            "the predictions");

  write_frame(fig, bins, o->equal_width, names, rc ? 0 : n_names);
  fprintf(fig->d,
          "# calibration of %s/predictions, %d %s bins\n"
          "# columns: mean prediction, mean label, the 95%% Wilson "
          "interval of the label's rate (low, high), clicks, lowest and "
          "highest prediction\n\n",
          o->input, bins, o->equal_width ? "equal-width" : "quantile");
  static _Thread_local char plot[16384], keys[MAX_METHODS * 300];
  size_t used = 0;
  double hi = 0.1;
  int block = 0;
  plot[0] = '\0';
  int diagonal = plot_style_fixed(fig, "calibrated", "#808080", 2, -1);
  keys[0] = '\0';
  plot_keyentry(keys, sizeof keys, "lines", diagonal, "calibrated");
  for (int k = 0; k < n_names && !rc; k++) {
    if (!plot_selected(o->methods, names[k]))
      continue;
    char path[PLOT_PATH];
    snprintf(path, sizeof path, "%s/predictions/%s.tsv", o->input, names[k]);
    pred *v = NULL;
    size_t n = 0;
    rc = read_predictions(path, &v, &n);
    if (rc)
      break;
    qsort(v, n, sizeof *v, cmp_pred);
    fprintf(fig->d, "# block %d: %s, %zu predictions\n", block, names[k], n);
    double ece = write_bins(fig->d, v, n, bins, o->equal_width, &hi);
    free(v);
    int ls = plot_style(fig, names[k]);
    used += (size_t)snprintf(plot + used, sizeof plot - used,
                             ", \\\n  '%s' index %d using 1:2:3:4 with "
                             "yerrorlines ls %d notitle",
                             fig->data_name, block++, ls);
    if (used >= sizeof plot) /* 64 clauses fit; never run past it */
      used = sizeof plot - 1;
    char title[128];
    snprintf(title, sizeof title, "%s %.3f", names[k], ece);
    plot_keyentry(keys, sizeof keys, "linespoints", ls, title);
  }
  /* Square axes from 0 to a round bound above every point. */
  hi = fmin(1, ceil(hi * 1.05 * 20) / 20);
  fprintf(fig->s, "set xrange [0:%g]\nset yrange [0:%g]\n", hi, hi);
  fprintf(fig->s, "plot x with lines ls %d notitle%s\n", diagonal, plot);
  plot_legend(fig, keys);
  for (int k = 0; k < n_names; k++)
    free(names[k]);
  return rc;
}
