/* plot.c: what every figure shares: the kinds, the three output paths,
 * the script's terminal and style, the method colours, the CSV reader,
 * and running gnuplot so that the figure appears whole or not at all. */
#include "plots/plot_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/log.h"
#include "sim/outfile.h"

/* The hint of the last failure, for the caller to show after it. */
static _Thread_local char last_hint[256];

const char *plot_hint(void)
{
  return last_hint;
}

/* ---- kinds ---------------------------------------------------------- */

static const struct {
  const char *name;
  int (*build)(plot_fig *fig);
} kinds[] = {
    [PLOT_WINDOW] = {"window", plot_window},
    [PLOT_HOURLY] = {"hourly", plot_hourly},
    [PLOT_DELAY] = {"delay", plot_delay},
    [PLOT_CALIBRATION] = {"calibration", plot_calibration},
};
#define N_KINDS ((int)(sizeof kinds / sizeof kinds[0]))

int plot_kind_parse(const char *name, plot_kind *kind)
{
  for (int k = 0; k < N_KINDS; k++)
    if (!strcmp(name, kinds[k].name)) {
      *kind = (plot_kind)k;
      return 0;
    }
  return df_fail(DF_EINPUT,
                 "unknown kind '%s'; valid: window, hourly, delay, "
                 "calibration",
                 name);
}

/* ---- paths ---------------------------------------------------------- */

/* The position of path's extension ('.' of the basename), or its end. */
static size_t ext_at(const char *path)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  return dot && dot != base ? (size_t)(dot - path) : strlen(path);
}

void plot_default_output(const plot_options *o, char *buf, size_t len)
{
  struct stat st;
  if (o->kind == PLOT_DELAY && !stat(o->input, &st) && !S_ISDIR(st.st_mode))
    snprintf(buf, len, "%.*s.delay.png", (int)ext_at(o->input), o->input);
  else
    snprintf(buf, len, "%s/%s.png", o->input, kinds[o->kind].name);
}

/* The terminals by extension.  Each draws the same figure, laid out in
 * inches and points for paper (see plot_script_begin): PDF in inches,
 * PNG at 300 pixels per inch, SVG at the 96 of CSS.  The factors make
 * 9 pt text, lines and markers the same size on paper in every format;
 * they were measured with gnuplot 5.4 (Debian 12):
 *   pdfcairo  font N is N * fontscale * 4/3 pt, fontscale 0.5 unless
 *             given; a line of width 1 is 0.5 pt; a point of size 1 is
 *             6 pt across;
 *   pngcairo  font N is N * fontscale * 4/3 px (96 dpi); a line is 1
 *             px; a point 6 px;
 *   svg       font N is N * fontscale CSS px; a line is 1 px; a point
 *             9 px.
 * So, per PDF unit: fontscale 0.75 for PDF, 3.125 for PNG and 4/3 for
 * SVG; lines 2.083 px (PNG), 0.667 px (SVG); points x 4.17 (PNG), x
 * 0.889 (SVG; it has no pointscale, so the styles carry it). */
static const struct {
  const char *ext, *term;
  double per_inch; /* 0: the terminal takes inches */
  double font, line, point;
} terminals[] = {
    {".png", "pngcairo", 300, 3.125, 300.0 / 144, 300.0 / 72},
    {".svg", "svg", 96, 4.0 / 3, 96.0 / 144, 96.0 / 108},
    {".pdf", "pdfcairo", 0, 0.75, 1, 1},
};
#define N_TERMINALS ((int)(sizeof terminals / sizeof terminals[0]))

static int terminal_of(const char *path)
{
  const char *ext = path + ext_at(path);
  for (int t = 0; t < N_TERMINALS; t++)
    if (!strcmp(ext, terminals[t].ext))
      return t;
  return -1;
}

/* The figure's path and its script's and data file's beside it, named
 * after the whole figure name (window.pdf.gp), so that the figures of
 * one plot in two formats keep their own scripts side by side. */
static int fig_paths(plot_fig *fig, const char *path)
{
  size_t stem = ext_at(path);
  if (strlen(path) + 8 >= PLOT_PATH)
    return df_fail(DF_EINPUT, "%.64s...: path too long", path);
  if (strchr(path, '\''))
    return df_fail(DF_EINPUT, "%s: a figure's name may not hold a quote",
                   path);
  if (terminal_of(path) < 0)
    return df_fail(DF_EINPUT,
                   "%s: unknown figure type '%s'; write .png, .svg or .pdf",
                   path, path + stem);
  snprintf(fig->fig, PLOT_PATH, "%s", path);
  snprintf(fig->script, PLOT_PATH, "%s.gp", path);
  snprintf(fig->data, PLOT_PATH, "%s.dat", path);
  const char *slash = strrchr(fig->fig, '/');
  fig->fig_name = slash ? slash + 1 : fig->fig;
  slash = strrchr(fig->data, '/');
  fig->data_name = slash ? slash + 1 : fig->data;
  return 0;
}

/* ---- the script ----------------------------------------------------- */

void plot_quote(FILE *f, const char *s)
{
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'')
      fputc('\'', f);
    fputc(*s, f);
  }
  fputc('\'', f);
}

/* Paper geometry: a panel is a column of a two-column paper, three
 * side by side span the page; 9 pt text.  A legend column is as wide
 * as gnuplot makes it: 0.42 in for the sample and gaps and 0.0795 in
 * (a digit's width, 0.636 em) a character of the longest entry, as
 * measured from its output; 0.08 here, so that gnuplot always fits the
 * columns counted here and the rows come out as reserved. */
#define COLUMN_IN 3.5
#define PAGE_IN   7.0
#define PANEL_IN  2.3  /* height of a panel with its tics and labels */
#define KEYCOL_IN 0.42 /* a legend column's sample and gaps */
#define CHAR_IN   0.08 /* a legend character */
#define ROW_IN    0.17 /* a legend row: gnuplot draws 0.165 in */
#define XAXIS_IN  0.45 /* x tics and label below a panel */
#define LEFT_IN   0.7  /* y tics and label left of a panel */
#define RIGHT_IN  0.22
#define GAP_IN    0.7 /* between panels: the next one's y axis */

void plot_script_begin(plot_fig *fig, const char *what,
                       const plot_layout *lay)
{
  FILE *s = fig->s;
  const plot_options *o = fig->opt;
  int t = terminal_of(fig->fig);

  /* The panels' box, the legend's columns and rows, then the canvas;
   * a square panel is as tall as it is wide. */
  double width = lay->panels > 1 ? PAGE_IN : COLUMN_IN;
  double left = lay->left > 0 ? lay->left : LEFT_IN;
  double inner = width - left - RIGHT_IN;
  double panel = lay->square       ? inner + XAXIS_IN + 0.1
                 : lay->height > 0 ? lay->height
                                   : PANEL_IN;
  double entry = KEYCOL_IN + lay->longest * CHAR_IN;
  int cols = (int)((width - 0.05) / entry);
  cols = cols < 1 ? 1 : cols > lay->entries ? lay->entries : cols;
  int rows = lay->entries ? (lay->entries + cols - 1) / cols : 0;
  double legend =
      rows ? (rows + (lay->key_title != NULL)) * ROW_IN + 0.08 : 0.02;
  double height = panel + legend + (o->title ? 0.25 : 0);
  fig->point = terminals[t].point;
  fig->panels = lay->panels;
  fig->left = left / width;
  fig->right = 1 - RIGHT_IN / width;
  fig->gap = lay->panels > 1 ? GAP_IN / width : 0;
  fig->bottom = (legend + XAXIS_IN) / height;
  fig->legend = legend / height;
  fig->top = 1 - (o->title ? 0.33 : 0.1) / height;

  fprintf(s, "# %s\n", what);
  fprintf(s, "# Drawn by `dfbench plot --kind %s` from %s.\n",
          kinds[o->kind].name, o->input);
  fprintf(s,
          "# The numbers are in %s (see its comment lines).  To\n"
          "# restyle, edit this file and run `gnuplot %s` in its\n"
          "# directory; it writes %s unless outfile is set\n"
          "# (gnuplot -e \"outfile='other.png'\" ...).\n\n",
          fig->data_name,
          strrchr(fig->script, '/') ? strrchr(fig->script, '/') + 1
                                    : fig->script,
          fig->fig_name);

  fputs("if (!exists(\"outfile\")) outfile = ", s);
  plot_quote(s, fig->fig_name);
  fprintf(s, "\n# %g in wide, 9 pt text: a paper's %s.\n", width,
          lay->panels > 1 ? "page width" : "column");
  char size[64];
  if (terminals[t].per_inch)
    snprintf(size, sizeof size, "%.0f,%.0f", width * terminals[t].per_inch,
             height * terminals[t].per_inch);
  else
    snprintf(size, sizeof size, "%gin,%.3gin", width, height);
  fprintf(s,
          "set terminal %s noenhanced size %s font 'sans,9' fontscale %.4g "
          "linewidth %.4g%s\n",
          terminals[t].term, size, terminals[t].font, terminals[t].line,
          t == 1 ? " background rgb 'white'" : "");
  fputs("set output outfile\nset encoding utf8\n", s);
  fputs("# Light grid, outward tics, small error-bar caps drawn solid.\n"
        "set grid back lc rgb '#d8d8d8' lw 0.5\n"
        "set border 3 back lw 0.8\nset tics nomirror out scale 0.6\n"
        "set errorbars small dt solid\n"
        "set datafile missing 'nan'\n",
        s);

  /* The legend is drawn last, by plot_legend, in a plot of its own
   * across the canvas below the panels: a legend below a plot is held
   * to that plot's width and would stack into one tall column. */
  fprintf(s,
          "# The panels, then the legend below them in %d column%s.\n"
          "set key off at screen 0.5,0.01 center bottom horizontal "
          "maxcols %d Left reverse noenhanced samplen 2.5 spacing 1.1\n",
          cols, cols == 1 ? "" : "s", cols);
  snprintf(fig->key_title, sizeof fig->key_title, "%s",
           lay->key_title ? lay->key_title : "");
  fputs("set multiplot", s);
  if (o->title) {
    fputs(" title ", s);
    plot_quote(s, o->title);
  }
  fputs("\n", s);
  if (lay->panels == 1)
    plot_panel(fig, 0);
}

void plot_panel(plot_fig *fig, int k)
{
  int n = fig->panels;
  double w = (fig->right - fig->left - (n - 1) * fig->gap) / n;
  double l = fig->left + k * (w + fig->gap);
  fprintf(fig->s,
          "set lmargin at screen %.4g\nset rmargin at screen %.4g\n"
          "set bmargin at screen %.4g\nset tmargin at screen %.4g\n",
          l, l + w, fig->bottom, fig->top);
}

void plot_keyentry(char *buf, size_t len, const char *with, int ls,
                   const char *title)
{
  size_t used = strlen(buf);
  used +=
      (size_t)snprintf(buf + used, used < len ? len - used : 0,
                       ", \\\n  keyentry with %s ls %d title '", with, ls);
  for (const char *c = title; *c && used + 3 < len; c++) {
    if (*c == '\'')
      buf[used++] = '\'';
    buf[used++] = *c;
  }
  if (used + 2 < len) {
    buf[used++] = '\'';
    buf[used] = '\0';
  }
}

void plot_legend(plot_fig *fig, const char *keys)
{
  fprintf(fig->s,
          "# The legend: an empty plot across the canvas below the panels "
          "(y = 2 lies\n# outside its range) that draws only the key.\n"
          "unset border\nunset tics\nunset grid\nunset xlabel\n"
          "unset ylabel\nunset logscale\nunset arrow\n"
          "set xrange [0:1]\nset yrange [0:1]\n"
          "set lmargin at screen 0\nset rmargin at screen 1\n"
          "set bmargin at screen 0\nset tmargin at screen %.4g\n",
          fig->legend);
  /* The title is set only now: a hidden key still draws its title. */
  if (*fig->key_title) {
    fputs("set key title ", fig->s);
    plot_quote(fig->s, fig->key_title);
    fputs("\n", fig->s);
  }
  fprintf(fig->s, "set key on\nplot 2 notitle%s\nunset multiplot\n", keys);
}

/* Each method keeps its colour, dash and marker in every figure: the
 * Okabe-Ito colour-blind-safe palette; the references in black (oracle
 * solid, bayes dotted: dashes break up on noisy lines), pretrain in
 * grey. */
static const struct {
  const char *name, *colour;
  int dash, point;
} method_styles[] = {
    {"oracle", "#000000", 1, 6},   {"bayes", "#000000", 3, 12},
    {"pretrain", "#999999", 1, 4}, {"naive", "#CC79A7", 1, 8},
    {"vanilla", "#56B4E9", 1, 5},  {"fnw", "#E69F00", 1, 9},
    {"fnc", "#882255", 1, 11},     {"esdfm", "#D55E00", 1, 7},
    {"dfm", "#009E73", 1, 13},     {"fsiw", "#0072B2", 1, 15},
    {"defer", "#117733", 1, 3},
};
static const char *const spare_colours[] = {"#D55E00", "#0072B2", "#009E73",
                                            "#E69F00", "#CC79A7", "#56B4E9",
                                            "#882255", "#999999"};

/* The groups' dash patterns and markers (plot_group_style): solid and
 * filled first, then patterns and open markers that stay apart at 9 pt
 * and in grey print. */
static const char *const group_dashes[] = {
    "1", "(6,3)", "(1.5,2.5)", "(8,3,1.5,3)", "(3,3)", "(8,3,1.5,3,1.5,3)"};
static const int group_points[] = {7, 4, 8, 12, 10, 14, 2};
#define N_GROUP_DASHES ((int)(sizeof group_dashes / sizeof group_dashes[0]))
#define N_GROUP_POINTS ((int)(sizeof group_points / sizeof group_points[0]))

/* Lines of 0.75 pt; markers 3.6 pt across, small enough not to hide
 * short error bars. */
static int style_line(plot_fig *fig, const char *name, const char *colour,
                      const char *dash, int point)
{
  int n = ++fig->series;
  fprintf(fig->s,
          "set style line %d lc rgb '%s' dt %s pt %d ps %.3g lw 1.5 # %s\n",
          n, colour, dash, point, 0.6 * fig->point, name);
  return n;
}

int plot_style_fixed(plot_fig *fig, const char *name, const char *colour,
                     int dash, int point)
{
  char dt[16];
  snprintf(dt, sizeof dt, "%d", dash);
  return style_line(fig, name, colour, dt, point);
}

/* The style of method, or a spare one by the count of styles so far. */
static void method_style(const plot_fig *fig, const char *method,
                         const char **colour, int *dash, int *point)
{
  int n = fig->series;
  *colour = spare_colours[n % 8];
  *dash = 1 + n / 8 % 4;
  *point = 4 + n % 10;
  for (size_t i = 0; i < sizeof method_styles / sizeof method_styles[0]; i++)
    if (!strcmp(method, method_styles[i].name)) {
      *colour = method_styles[i].colour;
      *dash = method_styles[i].dash;
      *point = method_styles[i].point;
    }
}

int plot_style(plot_fig *fig, const char *name)
{
  const char *colour;
  int dash, point;
  method_style(fig, name, &colour, &dash, &point);
  return plot_style_fixed(fig, name, colour, dash, point);
}

const char *plot_method_colour(const plot_fig *fig, const char *method)
{
  const char *colour;
  int dash, point;
  method_style(fig, method, &colour, &dash, &point);
  return colour;
}

int plot_group_style(plot_fig *fig, const char *name, const char *colour,
                     int group)
{
  return style_line(fig, name, colour, group_dashes[group % N_GROUP_DASHES],
                    group_points[group % N_GROUP_POINTS]);
}

int plot_selected(const char *list, const char *name)
{
  if (!list)
    return 1;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && !strncmp(p, name, n))
      return 1;
    p += len + (comma != NULL);
  }
  return 0;
}

int plot_selected_line(const char *list, const char *name)
{
  return list ? plot_selected(list, name) : strcmp(name, "bayes") != 0;
}

int plot_check_methods(const char *list, const char *const *names, int n,
                       const char *where)
{
  for (const char *p = list; p && *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    int k = 0;
    while (k < n && (strlen(names[k]) != len || strncmp(names[k], p, len)))
      k++;
    if (k == n)
      return df_fail(DF_EINPUT, "--methods: no '%.*s' in %s", (int)len, p,
                     where);
    p += len + (comma != NULL);
  }
  return 0;
}

/* ---- CSV ------------------------------------------------------------ */

/* Split line at commas into out (at most max); returns the count. */
static int split(char *line, char **out, int max)
{
  int n = 0;
  for (char *p = line;; p++) {
    if (n < max)
      out[n] = p;
    n++;
    p = strchr(p, ',');
    if (!p)
      break;
    *p = '\0';
  }
  return n;
}

int plot_csv_read(const char *path, plot_csv *t)
{
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "rb");
  if (!f)
    return df_fail(DF_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0, got;
  t->buf = malloc(cap + 1);
  while (t->buf && (got = fread(t->buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      char *nb = realloc(t->buf, 2 * cap + 1);
      if (!nb) {
        free(t->buf);
        t->buf = NULL;
      }
      t->buf = nb;
      cap *= 2;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!t->buf)
    return df_fail(DF_ENOMEM, "%s: out of memory", path);
  if (bad) {
    plot_csv_free(t);
    return df_fail(DF_EIO, "%s: read failed", path);
  }
  t->buf[len] = '\0';

  /* Lines: count them, then split each in place. */
  size_t lines = 0;
  for (size_t i = 0; i < len; i++)
    lines += t->buf[i] == '\n';
  lines += len && t->buf[len - 1] != '\n';
  if (!lines) {
    plot_csv_free(t);
    return df_fail(DF_EINPUT, "%s: empty file, expected a CSV header", path);
  }
  char *p = t->buf, *next;
  next = strchr(p, '\n');
  if (next)
    *next = '\0';
  if (next && next > p && next[-1] == '\r')
    next[-1] = '\0';
  t->n_cols = 1;
  for (const char *c = p; *c; c++)
    t->n_cols += *c == ',';
  t->head = malloc((size_t)t->n_cols * sizeof *t->head);
  t->cell = malloc((lines - 1) * (size_t)t->n_cols * sizeof *t->cell + 1);
  if (!t->head || !t->cell) {
    plot_csv_free(t);
    return df_fail(DF_ENOMEM, "%s: out of memory", path);
  }
  split(p, t->head, t->n_cols);
  for (size_t line = 2; next && next[1]; line++) {
    p = next + 1;
    next = strchr(p, '\n');
    if (next)
      *next = '\0';
    if (next && next > p && next[-1] == '\r')
      next[-1] = '\0';
    if (!*p)
      continue;
    int n = split(p, t->cell + t->n * (size_t)t->n_cols, t->n_cols);
    if (n != t->n_cols) {
      int cols = t->n_cols;
      plot_csv_free(t);
      return df_fail(DF_EINPUT, "%s:%zu: %d fields, the header has %d", path,
                     line, n, cols);
    }
    t->n++;
  }
  return 0;
}

void plot_csv_free(plot_csv *t)
{
  free(t->head);
  free(t->cell);
  free(t->buf);
  memset(t, 0, sizeof *t);
}

int plot_csv_col(const plot_csv *t, const char *name)
{
  for (int c = 0; c < t->n_cols; c++)
    if (!strcmp(t->head[c], name))
      return c;
  return -1;
}

int plot_csv_num(const plot_csv *t, const char *path, size_t row, int col,
                 double *v)
{
  const char *s = plot_csv_at(t, row, col);
  char *end;
  *v = strtod(s, &end);
  if (end == s || *end)
    return df_fail(DF_EINPUT, "%s:%zu: %s: '%s' is not a number", path,
                   row + 2, t->head[col], s);
  return 0;
}

/* ---- gnuplot -------------------------------------------------------- */

/* gnuplot's path on PATH into buf, or DF_EIO with the hint to install. */
static int find_gnuplot(char *buf, size_t len)
{
  const char *path = getenv("PATH");
  for (const char *p = path ? path : ""; *p;) {
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    snprintf(buf, len, "%.*s/gnuplot", (int)n, p);
    if (n && !access(buf, X_OK))
      return 0;
    p += n + (colon != NULL);
  }
  snprintf(last_hint, sizeof last_hint,
           "install it: apt-get install gnuplot-nox");
  return df_fail(DF_EIO, "gnuplot not found on PATH; plot draws with it");
}

/* Run `gnuplot -e "outfile='TMP'" SCRIPT` in the script's directory so
 * the script's relative data name resolves; 0 when it exits 0. */
static int run_gnuplot(const char *gnuplot, const plot_fig *fig,
                       const char *tmp_name)
{
  char dir[PLOT_PATH], setting[PLOT_PATH + 32];
  snprintf(dir, sizeof dir, "%s", fig->script);
  char *slash = strrchr(dir, '/');
  const char *script = slash ? slash + 1 : dir;
  if (slash == dir)
    dir[1] = '\0';
  else if (slash)
    *slash = '\0';
  snprintf(setting, sizeof setting, "outfile='%s'", tmp_name);

  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return df_fail(DF_EIO, "cannot start gnuplot: %s", strerror(errno));
  if (pid == 0) {
    if (slash && chdir(dir))
      _exit(126);
    execl(gnuplot, "gnuplot", "-e", setting, script, (char *)NULL);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return df_fail(DF_EIO, "waiting for gnuplot: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st))
    return df_fail(DF_EIO,
                   "gnuplot failed on %s (exit status %d); its messages "
                   "are above",
                   fig->script, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}

/* Draw the committed script into a temporary beside the figure and
 * rename it into place. */
static int draw(plot_fig *fig, const char *gnuplot)
{
  char tmp[PLOT_PATH + 16];
  int rc;
  snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", fig->fig);
  int fd = mkstemp(tmp);
  if (fd < 0)
    return df_fail(DF_EIO, "%s: cannot create: %s", fig->fig,
                   strerror(errno));
  close(fd);
  const char *slash = strrchr(tmp, '/');
  rc = run_gnuplot(gnuplot, fig, slash ? slash + 1 : tmp);
  struct stat st;
  if (!rc && (stat(tmp, &st) || st.st_size == 0))
    rc = df_fail(DF_EIO, "gnuplot wrote nothing to %s", fig->fig);
  if (!rc) {
    /* mkstemp made it 0600; a figure gets the usual 0666 & ~umask. */
    mode_t mask = umask(0);
    umask(mask);
    chmod(tmp, 0666 & ~mask);
    if (rename(tmp, fig->fig))
      rc = df_fail(DF_EIO, "%s: cannot rename into place: %s", fig->fig,
                   strerror(errno));
  }
  if (rc)
    unlink(tmp);
  return rc;
}

/* Refuse existing outputs before reading any input. */
static int check_free(const plot_fig *fig)
{
  const char *paths[3] = {fig->fig, fig->script, fig->data};
  for (int i = 0; i < 3; i++)
    if (!access(paths[i], F_OK)) {
      snprintf(last_hint, sizeof last_hint,
               "pass --force to replace it, or choose another -o");
      return df_fail(DF_EINPUT, "%s exists; refusing to overwrite it",
                     paths[i]);
    }
  return 0;
}

/* Write len bytes of text to path through a temporary (out_open). */
static int write_file(const char *path, const char *text, size_t len)
{
  out_file f;
  int rc = out_open(&f, path, 1);
  if (rc)
    return rc;
  fwrite(text, 1, len, f.f);
  return out_commit(&f);
}

/* Build the data and the script in memory; only when the inputs are
 * good and the outputs free are they written. */
static int build(plot_fig *fig, char **data, size_t *n_data, char **script,
                 size_t *n_script)
{
  fig->d = open_memstream(data, n_data);
  fig->s = open_memstream(script, n_script);
  int rc = fig->d && fig->s ? kinds[fig->opt->kind].build(fig)
                            : df_fail(DF_ENOMEM, "out of memory");
  if (fig->d && fclose(fig->d) && !rc)
    rc = df_fail(DF_ENOMEM, "out of memory");
  if (fig->s && fclose(fig->s) && !rc)
    rc = df_fail(DF_ENOMEM, "out of memory");
  fig->d = fig->s = NULL;
  return rc;
}

int plot_make(const plot_options *o, char *out, size_t len)
{
  plot_fig fig;
  memset(&fig, 0, sizeof fig);
  last_hint[0] = '\0';
  fig.opt = o;
  char def[PLOT_PATH], gnuplot[PLOT_PATH];
  plot_default_output(o, def, sizeof def);
  int rc = fig_paths(&fig, o->output ? o->output : def);
  if (rc)
    return rc;

  /* Read the inputs; then refuse taken outputs and a missing gnuplot. */
  char *data = NULL, *script = NULL;
  size_t n_data = 0, n_script = 0;
  rc = build(&fig, &data, &n_data, &script, &n_script);
  if (!rc && !o->force)
    rc = check_free(&fig);
  if (!rc)
    rc = find_gnuplot(gnuplot, sizeof gnuplot);

  /* Write both, then draw; a failed drawing takes them away again. */
  if (!rc)
    rc = write_file(fig.data, data, n_data);
  if (!rc) {
    rc = write_file(fig.script, script, n_script);
    if (rc)
      unlink(fig.data);
  }
  free(data);
  free(script);
  if (rc)
    return rc;
  rc = draw(&fig, gnuplot);
  if (rc) {
    unlink(fig.data);
    unlink(fig.script);
    return rc;
  }
  snprintf(out, len, "%s", fig.fig);
  return 0;
}
