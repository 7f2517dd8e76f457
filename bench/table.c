/* table.c: reading result files, mean and sd over seeds, the relative
 * columns, and the md / latex / csv layouts (see table.h). */
#include "bench/table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/cli.h"
#include "sim/config.h"
#include "sim/log.h"

#define MAX_FIELDS 64

/* The hint of the last failure of table_read, for the caller. */
static _Thread_local char last_hint[512];

const char *table_hint(void)
{
  return last_hint;
}

/* ---- statistics ---- */

/* Welford's update: mean and sum of squared deviations, one value at a
 * time, without the cancellation of sum(x^2) - n mean^2. */
static void welford(int *n, double *mean, double *m2, double x)
{
  ++*n;
  double d = x - *mean;
  *mean += d / *n;
  *m2 += d * (x - *mean);
}

void table_mean_sd(const double *x, int n, double *mean, double *sd)
{
  int k = 0;
  double m = 0, m2 = 0;
  for (int i = 0; i < n; i++)
    welford(&k, &m, &m2, x[i]);
  *mean = k ? m : NAN;
  *sd = k > 1 ? sqrt(m2 / (k - 1)) : NAN;
}

/* ---- CSV ---- */

/* Split one line in place into fields (RFC 4180 quotes); the count, or
 * -1 on an unterminated quote. */
static int split_csv(char *line, char **field, int max)
{
  int n = 0;
  char *p = line;
  for (;;) {
    if (n == max)
      return n;
    char *out = p;
    field[n++] = p;
    if (*p == '"') {
      char *w = p;
      for (p++;; p++) {
        if (*p == '\0')
          return -1;
        if (*p == '"' && p[1] == '"') {
          *w++ = '"';
          p++;
        } else if (*p == '"') {
          p++;
          break;
        } else {
          *w++ = *p;
        }
      }
      *w = '\0';
      field[n - 1] = out;
      if (*p != ',' && *p != '\0')
        return -1;
    } else {
      p += strcspn(p, ",");
    }
    if (*p == '\0')
      return n;
    *p++ = '\0';
  }
}

/* A number field: "" and "nan" are undefined (NaN). */
static int parse_num(const char *t, double *v)
{
  if (!*t || !strcmp(t, "nan")) {
    *v = NAN;
    return 0;
  }
  char *end;
  errno = 0;
  *v = strtod(t, &end);
  return end == t || *end || errno ? DF_EINPUT : 0;
}

/* ---- groups and rows ---- */

static table_group *find_group(table_data *t, char **values)
{
  for (int g = 0; g < t->n_groups; g++) {
    int same = 1;
    for (int k = 0; k < t->n_keys && same; k++)
      same = !strcmp(t->groups[g].value[k], values[k]);
    if (same)
      return &t->groups[g];
  }
  table_group *grown =
      realloc(t->groups, (size_t)(t->n_groups + 1) * sizeof *grown);
  if (!grown)
    return NULL;
  t->groups = grown;
  table_group *g = &t->groups[t->n_groups++];
  memset(g, 0, sizeof *g);
  for (int k = 0; k < t->n_keys; k++)
    snprintf(g->value[k], sizeof g->value[k], "%s", values[k]);
  return g;
}

static table_row *find_row(table_group *g, const char *method)
{
  for (int i = 0; i < g->n_rows; i++)
    if (!strcmp(g->rows[i].method, method))
      return &g->rows[i];
  if (g->n_rows == TABLE_MAX_METHODS)
    return NULL;
  table_row *r = &g->rows[g->n_rows++];
  memset(r, 0, sizeof *r);
  snprintf(r->method, sizeof r->method, "%s", method);
  return r;
}

/* The paper's order; other methods after these, bayes last. */
static int rank(const char *method)
{
  static const char *const order[] = {
      "pretrain", "vanilla", "oracle", "naive", "dfm",
      "fsiw",     "fnc",     "fnw",    "esdfm", "defer"};
  for (int i = 0; i < (int)(sizeof order / sizeof order[0]); i++)
    if (!strcmp(method, order[i]))
      return i;
  return strcmp(method, "bayes") ? 100 : 1000;
}

/* Insertion sort by rank, stable, so unknown methods keep file order. */
static void sort_rows(table_group *g)
{
  for (int i = 1; i < g->n_rows; i++) {
    table_row r = g->rows[i];
    int j = i;
    for (; j > 0 && rank(g->rows[j - 1].method) > rank(r.method); j--)
      g->rows[j] = g->rows[j - 1];
    g->rows[j] = r;
  }
}

/* (m - lo) / (hi - lo); NaN without references or when they tie. */
static double relative(double m, const table_row *lo, const table_row *hi,
                       int k)
{
  if (!lo || !hi || !(hi->mean[k] != lo->mean[k]))
    return NAN;
  return (m - lo->mean[k]) / (hi->mean[k] - lo->mean[k]);
}

static const table_row *row_named(const table_group *g, const char *name)
{
  for (int i = 0; i < g->n_rows; i++)
    if (!strcmp(g->rows[i].method, name))
      return &g->rows[i];
  return NULL;
}

/* Means, sds, and the relative columns from the means. */
static void finish_group(table_data *t, table_group *g)
{
  sort_rows(g);
  for (int i = 0; i < g->n_rows; i++) {
    table_row *r = &g->rows[i];
    for (int k = 0; k < TABLE_METRICS; k++) {
      if (!r->count[k])
        r->mean[k] = NAN;
      r->sd[k] = r->count[k] > 1 ? sqrt(r->m2[k] / (r->count[k] - 1)) : NAN;
    }
    if (r->n > g->seeds)
      g->seeds = r->n;
    if (r->n > t->seeds)
      t->seeds = r->n;
  }
  const table_row *van = row_named(g, "vanilla");
  const table_row *ora = row_named(g, "oracle");
  const table_row *pre = row_named(g, "pretrain");
  for (int i = 0; i < g->n_rows; i++)
    for (int k = 0; k < TABLE_METRICS; k++) {
      g->rows[i].r[k] = relative(g->rows[i].mean[k], van, ora, k);
      g->rows[i].ri[k] = relative(g->rows[i].mean[k], pre, ora, k);
    }
}

/* ---- reading ---- */

typedef struct columns {
  int method, seed, metric[TABLE_METRICS];
} columns;

static int read_header(char *line, const char *path, table_data *t,
                       columns *c)
{
  char *f[MAX_FIELDS];
  int n = split_csv(line, f, MAX_FIELDS);
  static const char *const names[TABLE_METRICS] = {"auc", "pr_auc", "nll"};
  *c = (columns){-1, -1, {-1, -1, -1}};
  for (int i = 0; i < n; i++) {
    if (!strcmp(f[i], "method") && c->method < 0)
      c->method = i;
    if (!strcmp(f[i], "seed") && c->seed < 0)
      c->seed = i;
    for (int k = 0; k < TABLE_METRICS; k++)
      if (!strcmp(f[i], names[k]) && c->metric[k] < 0)
        c->metric[k] = i;
  }
  if (n < 0 || c->method < 0 || c->metric[0] < 0 || c->metric[1] < 0 ||
      c->metric[2] < 0)
    return df_fail(DF_EINPUT,
                   "%s:1: not a summary.csv or sweep.csv: the header needs "
                   "method, auc, pr_auc and nll",
                   path);

  /* A sweep's grid keys are the columns before seed. */
  t->n_keys = c->seed > 0 ? c->seed : 0;
  if (t->n_keys > TABLE_MAX_KEYS || c->method < t->n_keys)
    return df_fail(DF_EINPUT, "%s:1: unexpected columns before seed", path);
  for (int k = 0; k < t->n_keys; k++)
    snprintf(t->key[k], sizeof t->key[k], "%s", f[k]);
  return 0;
}

static int read_row(char *line, const char *path, long lineno, table_data *t,
                    const columns *c)
{
  char *f[MAX_FIELDS];
  int n = split_csv(line, f, MAX_FIELDS);
  if (n < 0)
    return df_fail(DF_EINPUT, "%s:%ld: a quoted field is not closed", path,
                   lineno);
  int need = c->method;
  for (int k = 0; k < TABLE_METRICS; k++)
    need = c->metric[k] > need ? c->metric[k] : need;
  if (n <= need)
    return df_fail(DF_EINPUT, "%s:%ld: %d fields, expected at least %d", path,
                   lineno, n < 0 ? 0 : n, need + 1);
  table_group *g = find_group(t, f);
  if (!g)
    return df_fail(DF_ENOMEM, "out of memory");
  table_row *r = find_row(g, f[c->method]);
  if (!r)
    return df_fail(DF_EINPUT, "%s:%ld: more than %d methods", path, lineno,
                   TABLE_MAX_METHODS);
  static const char *const names[TABLE_METRICS] = {"auc", "pr_auc", "nll"};
  r->n++;
  for (int k = 0; k < TABLE_METRICS; k++) {
    double v;
    if (parse_num(f[c->metric[k]], &v))
      return df_fail(DF_EINPUT, "%s:%ld: %s: '%s' is not a number", path,
                     lineno, names[k], f[c->metric[k]]);
    if (!isnan(v))
      welford(&r->count[k], &r->mean[k], &r->m2[k], v);
  }
  return 0;
}

static int read_file(const char *path, table_data *t)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return df_fail(DF_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  char line[16384];
  columns c = {-1, -1, {-1, -1, -1}};
  int rc = 0;
  long lineno = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = '\0';
    if (lineno == 1)
      rc = read_header(line, path, t, &c);
    else if (line[0])
      rc = read_row(line, path, lineno, t, &c);
  }
  if (!rc && ferror(f))
    rc = df_fail(DF_EIO, "%s: read error", path);
  if (!rc && lineno == 0)
    rc = df_fail(DF_EINPUT, "%s: empty file", path);
  fclose(f);
  return rc;
}

/* DIR holds no result file: say what it is and what would make one. */
static int no_results(const char *dir)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/sweep.ini", dir);
  if (!access(path, F_OK)) {
    snprintf(last_hint, sizeof last_hint,
             "rerun the sweep command to finish its cells and rebuild "
             "sweep.csv; finished cells are kept");
    return df_fail(DF_EINPUT,
                   "%s is a sweep without sweep.csv: none of its cells "
                   "has finished, or its run was killed before writing it",
                   dir);
  }
  snprintf(last_hint, sizeof last_hint,
           "make one with 'dfbench run -o %.200s' or 'dfbench sweep ... "
           "-o %.200s'",
           dir, dir);
  return df_fail(DF_EINPUT, "%s holds neither sweep.csv nor summary.csv",
                 dir);
}

int table_read(const char *dir, table_data *out)
{
  memset(out, 0, sizeof *out);
  last_hint[0] = '\0';
  char path[4200];
  struct stat st;
  if (stat(dir, &st))
    return df_fail(DF_EINPUT, "%s: %s", dir, strerror(errno));
  if (S_ISREG(st.st_mode)) {
    snprintf(path, sizeof path, "%s", dir);
  } else {
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    if (access(path, F_OK))
      snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (access(path, F_OK))
      return no_results(dir);
  }
  int rc = read_file(path, out);
  for (int g = 0; !rc && g < out->n_groups; g++)
    finish_group(out, &out->groups[g]);
  if (!rc && out->n_groups == 0)
    rc = df_fail(DF_EINPUT, "%s: no results in it yet", path);
  if (rc)
    table_free(out);
  return rc;
}

void table_free(table_data *t)
{
  free(t->groups);
  memset(t, 0, sizeof *t);
}

/* ---- layouts ---- */

/* The nine columns: metric k, then its kind (value, R, RI). */
enum { COL_VALUE, COL_R, COL_RI };
#define N_COLS (3 * TABLE_METRICS)

static const char *const col_names[N_COLS] = {
    "AUC",       "R-AUC", "RI-AUC", "PR-AUC", "R-PR-AUC",
    "RI-PR-AUC", "NLL",   "R-NLL",  "RI-NLL"};

static double col_value(const table_row *r, int col)
{
  int k = col / 3, kind = col % 3;
  return kind == COL_VALUE ? r->mean[k] : kind == COL_R ? r->r[k] : r->ri[k];
}

/* Only oracle and bayes see the future; they are never marked. */
static int candidate(const table_row *r)
{
  return strcmp(r->method, "oracle") && strcmp(r->method, "bayes");
}

/* 2 for the best of a metric, 1 for the runner-up, 0 otherwise.  The
 * R and RI columns are affine in the metric, so they share its marks:
 * their sign of better flips when oracle is worse than the reference
 * (a small world can do that), the metric's never does. */
static void marks(const table_group *g, int col, int *mark)
{
  col -= col % 3;
  int lower = col == 3 * TABLE_NLL;
  double best = NAN, second = NAN;
  int n = 0;
  for (int i = 0; i < g->n_rows; i++) {
    double v = col_value(&g->rows[i], col);
    if (!candidate(&g->rows[i]) || isnan(v))
      continue;
    n++;
    double s = lower ? -v : v;
    if (isnan(best) || s > best) {
      if (!isnan(best))
        second = best;
      best = s;
    } else if (s < best && (isnan(second) || s > second)) {
      second = s;
    }
  }
  for (int i = 0; i < g->n_rows; i++) {
    double v = col_value(&g->rows[i], col), s = lower ? -v : v;
    mark[i] = 0;
    if (n < 2 || !candidate(&g->rows[i]) || isnan(v))
      continue;
    mark[i] = s == best ? 2 : s == second ? 1 : 0;
  }
}

/* The text of one cell; pm is " ± " or " \pm ". */
static void cell_text(const table_row *r, int col, const char *pm, char *buf,
                      size_t len)
{
  double v = col_value(r, col), sd = r->sd[col / 3];
  if (v == 0)
    v = 0; /* no "-0.000" */
  if (isnan(v))
    snprintf(buf, len, "-");
  else if (col % 3 != COL_VALUE)
    snprintf(buf, len, "%.3f", v);
  else if (!isnan(sd))
    snprintf(buf, len, "%.4f%s%.4f", v, pm, sd);
  else
    snprintf(buf, len, "%.4f", v);
}

static void group_title(const table_data *t, const table_group *g, char *buf,
                        size_t len)
{
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < t->n_keys && used < len; k++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s = %s",
                             k ? ", " : "", t->key[k], g->value[k]);
}

static void seeds_note(int seeds, char *buf, size_t len, const char *pm)
{
  if (seeds > 1)
    snprintf(buf, len, "mean%ssd over %d seeds", pm, seeds);
  else
    snprintf(buf, len, "one seed");
}

/* The relative columns' premise: oracle is better than the reference
 * (vanilla for R, pretrain for RI).  Where it is not (a small world can
 * do that), R or RI divides by a gap of the wrong sign or by zero, so
 * its values no longer rank the methods.  One line per broken column
 * pair, written to note (n lines of len bytes at most); the count. */
static int group_notes(const table_group *g, char (*note)[256], int max)
{
  static const char *const names[TABLE_METRICS] = {"AUC", "PR-AUC", "NLL"};
  static const struct {
    const char *ref, *col;
  } refs[] = {{"vanilla", "R"}, {"pretrain", "RI"}};
  const table_row *ora = row_named(g, "oracle");
  int n = 0;
  for (int k = 0; k < TABLE_METRICS && ora; k++)
    for (int r = 0; r < 2 && n < max; r++) {
      const table_row *ref = row_named(g, refs[r].ref);
      double o = ora->mean[k], v = ref ? ref->mean[k] : NAN;
      int lower = k == TABLE_NLL;
      if (isnan(o) || isnan(v) || (lower ? o < v : o > v))
        continue;
      snprintf(note[n++], 256,
               "oracle's %s (%.4f) is not %s %s's (%.4f), so %s-%s does "
               "not rank the methods here; compare %s itself",
               names[k], o, lower ? "below" : "above", refs[r].ref, v,
               refs[r].col, names[k], names[k]);
    }
  return n;
}

/* The notes of every group on stderr, for the layouts that have no
 * place a reader sees them. */
static void warn_notes(const table_data *t)
{
  char title[2048], note[2 * TABLE_METRICS][256];
  for (int gi = 0; gi < t->n_groups; gi++) {
    int n = group_notes(&t->groups[gi], note, 2 * TABLE_METRICS);
    group_title(t, &t->groups[gi], title, sizeof title);
    for (int i = 0; i < n; i++)
      log_warn("%s%s%s", title, *title ? ": " : "", note[i]);
  }
}

static void write_md(const table_data *t, FILE *out)
{
  char title[2048], note[64], text[128];
  for (int gi = 0; gi < t->n_groups; gi++) {
    const table_group *g = &t->groups[gi];
    group_title(t, g, title, sizeof title);
    seeds_note(g->seeds, note, sizeof note, " ± ");
    fprintf(out, "%s%s%s(%s; best in bold, runner-up in italics)\n\n",
            gi ? "\n" : "", title, *title ? " " : "", note);
    fputs("| method |", out);
    for (int c = 0; c < N_COLS; c++)
      fprintf(out, " %s |", col_names[c]);
    fputs("\n|:---|", out);
    for (int c = 0; c < N_COLS; c++)
      fputs("---:|", out);
    fputc('\n', out);

    int mark[N_COLS][TABLE_MAX_METHODS];
    for (int c = 0; c < N_COLS; c++)
      marks(g, c, mark[c]);
    for (int i = 0; i < g->n_rows; i++) {
      fprintf(out, "| %s |", g->rows[i].method);
      for (int c = 0; c < N_COLS; c++) {
        cell_text(&g->rows[i], c, " ± ", text, sizeof text);
        const char *m = !strcmp(text, "-") ? ""
                        : mark[c][i] == 2  ? "**"
                        : mark[c][i]       ? "_"
                                           : "";
        fprintf(out, " %s%s%s |", m, text, m);
      }
      fputc('\n', out);
    }
    char notes[2 * TABLE_METRICS][256];
    int n = group_notes(g, notes, 2 * TABLE_METRICS);
    for (int i = 0; i < n; i++)
      fprintf(out, "%sNote: %s.\n", i ? "" : "\n", notes[i]);
  }
}

/* Text safe in LaTeX: the specials escaped. */
static void latex_escape(const char *t, char *buf, size_t len)
{
  static const struct {
    char c;
    const char *rep;
  } specials[] = {{'_', "\\_"},
                  {'%', "\\%"},
                  {'&', "\\&"},
                  {'#', "\\#"},
                  {'$', "\\$"},
                  {'{', "\\{"},
                  {'}', "\\}"},
                  {'~', "\\textasciitilde{}"},
                  {'^', "\\textasciicircum{}"},
                  {'\\', "\\textbackslash{}"}};
  size_t used = 0;
  buf[0] = '\0';
  for (; *t && used + 20 < len; t++) {
    char one[2] = {*t, '\0'};
    const char *rep = one;
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
      if (*t == specials[i].c)
        rep = specials[i].rep;
    used += (size_t)snprintf(buf + used, len - used, "%s", rep);
  }
}

static void write_latex(const table_data *t, FILE *out)
{
  char title[2048], esc[4096], note[64], text[128];
  fputs("% dfbench table: bold: best, underlined: runner-up, among all\n"
        "% methods but oracle and bayes.  Needs \\usepackage{booktabs}.\n",
        out);
  for (int gi = 0; gi < t->n_groups; gi++) {
    const table_group *g = &t->groups[gi];
    group_title(t, g, title, sizeof title);
    seeds_note(g->seeds, note, sizeof note, " $\\pm$ ");
    latex_escape(title, esc, sizeof esc);
    fprintf(out, "\\begin{table}[t]\n\\centering\n");
    fprintf(out, "\\caption{%s%s%s.}\n", esc, *esc ? "; " : "", note);
    fprintf(out, "\\begin{tabular}{l%s}\n\\toprule\nMethod", "rrrrrrrrr");
    for (int c = 0; c < N_COLS; c++)
      fprintf(out, " & %s", col_names[c]);
    fputs(" \\\\\n\\midrule\n", out);

    int mark[N_COLS][TABLE_MAX_METHODS];
    for (int c = 0; c < N_COLS; c++)
      marks(g, c, mark[c]);
    for (int i = 0; i < g->n_rows; i++) {
      /* A rule after the references and before the ceiling. */
      const char *m = g->rows[i].method;
      if (i > 0 && ((rank(m) > 2 && rank(g->rows[i - 1].method) <= 2) ||
                    !strcmp(m, "bayes")))
        fputs("\\midrule\n", out);
      latex_escape(m, esc, sizeof esc);
      fputs(esc, out);
      for (int c = 0; c < N_COLS; c++) {
        cell_text(&g->rows[i], c, " \\pm ", text, sizeof text);
        if (!strcmp(text, "-"))
          fputs(" & --", out);
        else if (mark[c][i] == 2)
          fprintf(out, " & $\\mathbf{%s}$", text);
        else if (mark[c][i] == 1)
          fprintf(out, " & \\underline{$%s$}", text);
        else
          fprintf(out, " & $%s$", text);
      }
      fputs(" \\\\\n", out);
    }
    fputs("\\bottomrule\n\\end{tabular}\n\\end{table}\n", out);
  }
}

static void csv_num(FILE *f, double v)
{
  char buf[64];
  fputc(',', f);
  if (isnan(v))
    return;
  cfg_format_double(v == 0 ? 0.0 : v, buf, sizeof buf);
  fputs(buf, f);
}

static void write_csv(const table_data *t, FILE *out)
{
  static const char *const names[TABLE_METRICS] = {"auc", "pr_auc", "nll"};
  for (int k = 0; k < t->n_keys; k++) {
    cli_csv_field(out, t->key[k]);
    fputc(',', out);
  }
  fputs("method,seeds", out);
  for (int k = 0; k < TABLE_METRICS; k++)
    fprintf(out, ",%s,%s_sd,r_%s,ri_%s", names[k], names[k], names[k],
            names[k]);
  fputc('\n', out);
  for (int gi = 0; gi < t->n_groups; gi++) {
    const table_group *g = &t->groups[gi];
    for (int i = 0; i < g->n_rows; i++) {
      const table_row *r = &g->rows[i];
      for (int k = 0; k < t->n_keys; k++) {
        cli_csv_field(out, g->value[k]);
        fputc(',', out);
      }
      cli_csv_field(out, r->method);
      fprintf(out, ",%d", r->n);
      for (int k = 0; k < TABLE_METRICS; k++) {
        csv_num(out, r->mean[k]);
        csv_num(out, r->sd[k]);
        csv_num(out, r->r[k]);
        csv_num(out, r->ri[k]);
      }
      fputc('\n', out);
    }
  }
}

int table_write(const table_data *t, const char *format, FILE *out)
{
  if (!strcmp(format, "md"))
    write_md(t, out);
  else if (!strcmp(format, "latex"))
    write_latex(t, out);
  else if (!strcmp(format, "csv"))
    write_csv(t, out);
  else
    return df_fail(DF_EINPUT, "--format %s: choose one of md, latex, csv",
                   format);
  /* md prints its notes below each table; the others have no place a
   * reader sees them. */
  if (strcmp(format, "md"))
    warn_notes(t);
  return ferror(out) ? df_fail(DF_EIO, "cannot write the table") : 0;
}
