/* test_plot.c: `dfbench plot` end to end: the built binary (DFB_BINARY)
 * draws each kind of figure from small hand-written result files in a
 * temporary directory.  For each: exit 0, an image of the right type
 * (PNG magic, <svg, %PDF), a script that names its data file and draws
 * the figure again when run alone with gnuplot, and data numbers equal
 * to values computed by hand here.  Bad input: exit status and message.
 * Needs gnuplot (gnuplot-nox, as CI installs). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* Numbers are written with %.17g: only summation order differs. */
#define TOL 1e-12

static char dir[] = "/tmp/dfb_test_plot_XXXXXX";

/* ---- helpers -------------------------------------------------------- */

static int sh(const char *fmt, ...)
{
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* dir/name, in one of a few rotating buffers. */
static const char *at(const char *name)
{
  static char buf[8][512];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static void put(const char *name, const char *text)
{
  FILE *f = fopen(at(name), "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
  static char buf[1 << 20];
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Whether the file at path holds text, NUL bytes and all. */
static int file_has(const char *path, const char *text)
{
  static char buf[1 << 20];
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf, f), k = strlen(text);
  fclose(f);
  for (size_t i = 0; i + k <= n; i++)
    if (!memcmp(buf + i, text, k))
      return 1;
  return 0;
}

/* `dfbench plot ARGS` with stderr to dir/err.txt; the exit status. */
static int plot(const char *args)
{
  return sh("cd '%s' && '%s' plot %s >'%s' 2>'%s'", dir, DFB_BINARY, args,
            at("out.txt"), at("err.txt"));
}

/* Rows of data block `index` ("# block N:" then numeric lines). */
static int block(const char *dat, int index, double rows[][8], int max)
{
  char head[32];
  snprintf(head, sizeof head, "# block %d:", index);
  const char *p = strstr(dat, head);
  assert_non_null(p);
  p = strchr(p, '\n') + 1;
  int n = 0;
  while (*p && *p != '\n' && *p != '#' && n < max) {
    char line[1024], *q = line, *end;
    size_t len = strcspn(p, "\n");
    snprintf(line, sizeof line, "%.*s", (int)len, p);
    for (int c = 0; c < 8; c++, q = end) {
      rows[n][c] = strtod(q, &end);
      if (end == q)
        break;
    }
    p += len + (p[len] == '\n');
    n++;
  }
  return n;
}

static const struct {
  const char *ext, *magic;
  size_t offset;
} types[] = {
    {"png", "\x89PNG\r\n\x1a\n", 0},
    {"svg", "<svg", 0}, /* anywhere in the head, after <?xml ...?> */
    {"pdf", "%PDF-", 0},
};

/* The figure at path is of type ext. */
static void assert_image(const char *path, const char *ext)
{
  char *s = slurp(path);
  if (!s)
    fail_msg("%s: missing", path);
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    if (strcmp(ext, types[t].ext))
      continue;
    if (!strcmp(ext, "svg")) {
      assert_memory_equal(s, "<?xml", 5);
      assert_non_null(strstr(s, types[t].magic));
    } else {
      assert_memory_equal(s, types[t].magic, strlen(types[t].magic));
    }
  }
}

/* The script of figure STEM.EXT, STEM.EXT.gp, names STEM.EXT.dat and,
 * run alone by gnuplot in its directory, draws STEM.EXT again. */
static void assert_redraws(const char *stem, const char *ext)
{
  char name[256], gp[300], dat[300];
  snprintf(name, sizeof name, "%s.%s", stem, ext);
  snprintf(gp, sizeof gp, "%s.gp", name);
  const char *base = strrchr(name, '/');
  snprintf(dat, sizeof dat, "'%s.dat'", base ? base + 1 : name);
  const char *script = slurp(at(gp));
  assert_non_null(script);
  assert_non_null(strstr(script, dat));
  assert_null(strstr(script, ".tmp"));
  assert_int_equal(unlink(at(name)), 0);
  assert_int_equal(sh("cd \"$(dirname '%s')\" && gnuplot \"$(basename "
                      "'%s')\" 2>/dev/null",
                      at(gp), at(gp)),
                   0);
  assert_image(at(name), ext);
}

/* ---- fixtures ------------------------------------------------------- */

static const char sweep_head[] =
    "esdfm.elapsed,seed,method,auc,pr_auc,nll,r_auc,r_pr_auc,r_nll,"
    "ri_auc,ri_pr_auc,ri_nll,test_clicks,train_events\n";

/* Two methods, three windows (the sweep's order is not the axis's),
 * two seeds; vanilla at 4h has one seed's AUC empty. */
static const char sweep_rows[] =
    "1h,1,vanilla,0.70,0.30,0.50,0,0,0,,,,10,20\n"
    "1h,1,esdfm,0.72,0.32,0.48,0.5,,,,,,10,20\n"
    "15m,1,vanilla,0.60,0.20,0.60,,,,,,,10,20\n"
    "15m,1,esdfm,0.61,0.21,0.59,,,,,,,10,20\n"
    "4h,1,vanilla,,0.40,0.40,,,,,,,10,20\n"
    "4h,1,esdfm,0.80,0.41,0.39,,,,,,,10,20\n"
    "1h,2,vanilla,0.74,0.34,0.46,,,,,,,10,20\n"
    "1h,2,esdfm,0.73,0.33,0.47,,,,,,,10,20\n"
    "15m,2,vanilla,0.62,0.22,0.58,,,,,,,10,20\n"
    "15m,2,esdfm,0.61,0.21,0.59,,,,,,,10,20\n"
    "4h,2,vanilla,0.90,0.42,0.38,,,,,,,10,20\n"
    "4h,2,esdfm,0.80,0.43,0.37,,,,,,,10,20\n"
    "1h,1,bayes,0.95,0.60,0.20,,,,,,,10,0\n"
    "15m,1,bayes,0.95,0.60,0.20,,,,,,,10,0\n";

static const char hourly_csv[] =
    "method,hour,test_clicks,auc,pr_auc,nll,mean_pred,mean_label\n"
    "oracle,1,100,0.70,0.30,0.50,0.20,0.25\n"
    "oracle,2,300,0.80,0.40,0.40,0.22,0.20\n"
    "oracle,3,100,nan,nan,0.30,0.24,0.30\n"
    "oracle,4,200,0.60,0.20,0.60,0.26,0.10\n"
    "esdfm,1,100,0.65,0.25,0.55,0.10,0.25\n"
    "esdfm,2,300,0.75,0.35,0.45,0.12,0.20\n"
    "esdfm,3,100,0.70,0.30,0.50,0.14,0.30\n"
    "esdfm,4,200,0.55,0.15,0.65,0.16,0.10\n"
    "bayes,1,100,0.90,0.60,0.30,0.25,0.25\n"
    "bayes,2,300,0.91,0.61,0.31,0.20,0.20\n"
    "bayes,3,100,0.92,0.62,0.32,0.30,0.30\n"
    "bayes,4,200,0.93,0.63,0.33,0.10,0.10\n";

/* A Criteo-layout line: click and conversion time, 17 empty features. */
static void log_line(FILE *f, long click, long conv)
{
  if (conv >= 0)
    fprintf(f, "%ld\t%ld", click, conv);
  else
    fprintf(f, "%ld\t", click);
  for (int j = 0; j < 17; j++)
    fputc('\t', f);
  fputc('\n', f);
}

/* Delays 60, 3600, 60, 86400 s, one click without a conversion. */
static void write_log(const char *name)
{
  FILE *f = fopen(at(name), "w");
  assert_non_null(f);
  log_line(f, 100, 160);
  log_line(f, 200, 3800);
  log_line(f, 300, -1);
  log_line(f, 400, 460);
  log_line(f, 500, 86900);
  assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
  (void)state;
  if (!mkdtemp(dir))
    return -1;
  char text[4096];
  snprintf(text, sizeof text, "%s%s", sweep_head, sweep_rows);
  sh("mkdir -p '%s/sweep' '%s/run/predictions' '%s/gen' '%s/empty'", dir, dir,
     dir, dir);
  put("sweep/sweep.csv", text);
  put("run/hourly.csv", hourly_csv);
  put("run/config.ini", "[stream]\ninterval = 6h\n");
  put("run/summary.csv", "method,auc\nvanilla,0.5\nesdfm,0.6\n");
  put("run/predictions/vanilla.tsv", "hour\tlabel\tprediction\n"
                                     "1\t0\t0.1\n1\t1\t0.4\n2\t0\t0.2\n"
                                     "2\t1\t0.3\n");
  put("run/predictions/esdfm.tsv", "hour\tlabel\tprediction\n"
                                   "1\t1\t0.9\n1\t0\t0.05\n");
  write_log("clicks.tsv");
  FILE *f = fopen(at("zero.tsv"), "w");
  log_line(f, 100, 100);
  log_line(f, 200, -1);
  fclose(f);
  write_log("gen/clicks.tsv");
  put("exp.ini", "[delay]\nfamily = exponential\nmean = 1h\n"
                 "feature_effect = 0\nattribution = 30d\n");
  put("gen/config.ini", "[delay]\nfamily = exponential\nmean = 1h\n"
                        "feature_effect = 0\nattribution = 1d\n");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  return sh("rm -rf '%s'", dir);
}

/* ---- window --------------------------------------------------------- */

/* The colour, dash type and point type of the line style whose
 * comment is name ("set style line N lc rgb 'C' dt D pt P ... # name"). */
static void style_of(const char *gp, const char *name, char *colour,
                     char *dash, int *point)
{
  char tail[300];
  snprintf(tail, sizeof tail, " # %s\n", name);
  const char *end = strstr(gp, tail);
  if (!end)
    fail_msg("no line style '%s'", name);
  const char *line = end;
  while (line > gp && line[-1] != '\n')
    line--;
  assert_int_equal(sscanf(line,
                          "set style line %*d lc rgb '%15[^']' dt %15s "
                          "pt %d",
                          colour, dash, point),
                   3);
}

/* How many times text occurs in s. */
static int count(const char *s, const char *text)
{
  int n = 0;
  for (const char *p = s; (p = strstr(p, text)); p++)
    n++;
  return n;
}

/* Mean and sample sd of two numbers. */
static void mean_sd2(double a, double b, double *mean, double *sd)
{
  *mean = (a + b) / 2;
  *sd = fabs(a - b) / sqrt(2.0);
}

static void test_window(void **state)
{
  (void)state;
  assert_int_equal(plot("sweep --kind window"), 0);
  assert_image(at("sweep/window.png"), "png");
  const char *dat = slurp(at("sweep/window.png.dat"));
  assert_non_null(dat);

  /* Block 0: AUC of vanilla, points by window: 15m, 1h, 4h, in hours. */
  double r[8][8];
  assert_int_equal(block(dat, 0, r, 8), 3);
  const double x[3] = {0.25, 1, 4};
  const double a[3][2] = {{0.60, 0.62}, {0.70, 0.74}, {0.90, NAN}};
  for (int i = 0; i < 3; i++) {
    double m, sd;
    mean_sd2(a[i][0], a[i][1], &m, &sd);
    if (isnan(a[i][1])) { /* one seed: its value, sd 0 */
      m = a[i][0];
      sd = 0;
    }
    assert_true(fabs(r[i][0] - x[i]) < TOL);
    assert_true(fabs(r[i][1] - m) < TOL);
    assert_true(fabs(r[i][2] - sd) < TOL);
    assert_true(r[i][3] == (isnan(a[i][1]) ? 1 : 2));
  }
  /* Block 5: NLL of esdfm (blocks: metric-major, 2 lines each). */
  assert_int_equal(block(dat, 5, r, 8), 3);
  double m, sd;
  mean_sd2(0.48, 0.47, &m, &sd);
  assert_true(fabs(r[1][1] - m) < TOL && fabs(r[1][2] - sd) < TOL);

  /* bayes is left out unless --methods names it. */
  assert_null(strstr(dat, "bayes"));

  /* Log axis (15m to 4h spans 16x), tics labelled as swept, the key
   * and its kind of value below the middle panel only. */
  const char *gp = slurp(at("sweep/window.png.gp"));
  assert_non_null(strstr(gp, "set logscale x"));
  assert_non_null(strstr(gp, "'15m' 0.25"));
  assert_int_equal(count(gp, "set xlabel 'esdfm.elapsed (duration, log "
                             "scale)'"),
                   2);
  assert_int_equal(count(gp, "set xlabel ''"), 2);
  assert_null(strstr(gp, "bayes"));

  /* Three panels and the legend: four plots on a page-wide canvas, 7
   * in at 300 dpi, 9 pt text. */
  assert_int_equal(count(gp, "\nplot "), 4);
  assert_non_null(strstr(gp, "set terminal pngcairo noenhanced size 2100,"));
  assert_non_null(strstr(gp, "font 'sans,9' fontscale 3.125"));

  /* The two lines at one x are drawn apart by a factor of 2^(1/4) each
   * way: a quarter of the smallest log gap (ln 4) split between them;
   * the data file keeps the exact x (above). */
  assert_int_equal(count(gp, "using ($1*0.840896):2:3"), 3);
  assert_int_equal(count(gp, "using ($1*1.18921):2:3"), 3);

  /* The legend is one entry a line, the data clauses untitled. */
  assert_non_null(strstr(gp, "keyentry with linespoints ls 1 title "
                             "'vanilla'"));
  assert_non_null(strstr(gp, "keyentry with linespoints ls 2 title "
                             "'esdfm'"));
  assert_int_equal(count(gp, "yerrorlines"), count(gp, "notitle") - 1);
  assert_redraws("sweep/window", "png");

  /* One metric, SVG: a panel and the legend on a column-wide canvas,
   * 3.5 in at 96 px an inch. */
  assert_int_equal(plot("sweep --kind window --metric pr_auc "
                        "-o sweep/pr.svg"),
                   0);
  assert_image(at("sweep/pr.svg"), "svg");
  gp = slurp(at("sweep/pr.svg.gp"));
  assert_int_equal(count(gp, "\nplot "), 2);
  assert_non_null(strstr(gp, "set terminal svg noenhanced size 336,"));
  assert_redraws("sweep/pr", "svg");

  /* --methods brings bayes in; relative metrics are metrics too. */
  assert_int_equal(plot("sweep --kind window --metric r_auc --methods "
                        "esdfm,bayes -o sweep/bayes.png"),
                   0);
  dat = slurp(at("sweep/bayes.png.dat"));
  assert_non_null(strstr(dat, "# block 1: r_auc, bayes"));
  assert_null(strstr(dat, "vanilla"));

  /* The same figure as PDF beside it: its own script and data, and
   * neither figure's script draws the other. */
  assert_int_equal(plot("sweep --kind window --metric pr_auc "
                        "-o sweep/pr.pdf"),
                   0);
  assert_image(at("sweep/pr.pdf"), "pdf");
  assert_image(at("sweep/pr.svg"), "svg");
  /* A PDF one column wide, 3.5 in, with true 9 pt text (pdfcairo's
   * fontscale 0.75, see plots/plot.c). */
  assert_true(file_has(at("sweep/pr.pdf"), "/MediaBox [ 0 0 252 "));
  assert_non_null(strstr(slurp(at("sweep/pr.pdf.gp")), "size 3.5in,"));
  assert_non_null(
      strstr(slurp(at("sweep/pr.pdf.gp")), "font 'sans,9' fontscale 0.75 "));
  assert_non_null(strstr(slurp(at("sweep/pr.pdf.gp")), "'pr.pdf'"));
  assert_null(strstr(slurp(at("sweep/pr.pdf.gp")), "pr.svg"));
  assert_non_null(strstr(slurp(at("sweep/pr.svg.gp")), "'pr.svg'"));
  assert_redraws("sweep/pr", "pdf");
  assert_redraws("sweep/pr", "svg");
}

/* Two grid keys: lines per method and value of the other key; a key of
 * plain categories is placed by order of appearance. */
static void test_window_keys(void **state)
{
  (void)state;
  sh("mkdir -p '%s/sweep2'", dir);
  put("sweep2/sweep.csv",
      "model.type,vanilla.wait,seed,method,auc,pr_auc,nll\n"
      "mlp,1h,1,esdfm,0.7,0.3,0.5\n"
      "lr,1h,1,esdfm,0.6,0.2,0.6\n"
      "mlp,2h,1,esdfm,0.8,0.4,0.4\n"
      "lr,2h,1,esdfm,0.5,0.1,0.7\n");
  assert_int_equal(plot("sweep2 --kind window --metric auc -o "
                        "sweep2/type.pdf"),
                   0);
  assert_image(at("sweep2/type.pdf"), "pdf");
  const char *gp = slurp(at("sweep2/type.pdf.gp"));
  assert_non_null(strstr(gp, "'mlp' 1, 'lr' 2"));
  assert_null(strstr(gp, "\nset logscale"));
  assert_non_null(strstr(gp, "set xlabel 'model.type'"));

  /* The two groups of esdfm: the method's colour, each group its own
   * dash and marker, and a legend of the method and the groups. */
  char c1[16], c2[16], d1[16], d2[16];
  int p1, p2;
  style_of(gp, "esdfm (vanilla.wait=1h)", c1, d1, &p1);
  style_of(gp, "esdfm (vanilla.wait=2h)", c2, d2, &p2);
  assert_string_equal(c1, "#D55E00");
  assert_string_equal(c2, "#D55E00");
  assert_string_not_equal(d1, d2);
  assert_int_not_equal(p1, p2);
  static const char *const legend[] = {
      "keyentry with lines ls 3 title 'esdfm'",
      "keyentry with linespoints ls 4 title 'vanilla.wait=1h'",
      "keyentry with linespoints ls 5 title 'vanilla.wait=2h'",
  };
  for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++)
    if (!strstr(gp, legend[i]))
      fail_msg("'%s' missing from the script", legend[i]);
  char c4[16], d4[16];
  int p4;
  style_of(gp, "vanilla.wait=2h", c4, d4, &p4);
  assert_string_equal(d4, d2);
  assert_int_equal(p4, p2);
  assert_null(strstr(gp, "title 'esdfm (vanilla"));
  assert_redraws("sweep2/type", "pdf");

  assert_int_equal(plot("sweep2 --kind window --key vanilla.wait "
                        "--metric nll"),
                   0);
  const char *dat = slurp(at("sweep2/window.png.dat"));
  double r[4][8];
  assert_int_equal(block(dat, 1, r, 4), 2); /* esdfm (model.type=lr) */
  assert_true(fabs(r[0][0] - 60) < TOL && fabs(r[0][1] - 0.6) < TOL);
  assert_true(fabs(r[1][0] - 120) < TOL && fabs(r[1][1] - 0.7) < TOL);

  /* A linear axis (60 and 120 minutes): the two lines sit an eighth of
   * the gap, 7.5, either side, and the range leaves room for them
   * beyond its usual 6% pad: [60 - 3.6 - 7.5, 120 + 3.6 + 7.5]. */
  gp = slurp(at("sweep2/window.png.gp"));
  assert_non_null(strstr(gp, "using ($1-7.5):2:3"));
  assert_non_null(strstr(gp, "using ($1+7.5):2:3"));
  double lo, hi;
  const char *range = strstr(gp, "set xrange [");
  assert_non_null(range);
  assert_int_equal(sscanf(range, "set xrange [%lf:%lf]", &lo, &hi), 2);
  assert_true(fabs(lo - 48.9) < 1e-9 && fabs(hi - 131.1) < 1e-9);

  /* Tics at every value, but a label only where it keeps clear of its
   * neighbours: on the log axis from 5m to 1d (x in hours, range
   * [5m / 1.4, 1d * 1.4]), 12h sits 0.11 of the axis before 1d, less
   * than the 0.14 a label needs in a three-panel figure, so it is
   * unlabelled; the ends always are. */
  sh("mkdir -p '%s/sweep3'", dir);
  put("sweep3/sweep.csv", "esdfm.elapsed,seed,method,auc,pr_auc,nll\n"
                          "5m,1,esdfm,0.7,0.3,0.5\n"
                          "1h,1,esdfm,0.7,0.3,0.5\n"
                          "12h,1,esdfm,0.7,0.3,0.5\n"
                          "1d,1,esdfm,0.7,0.3,0.5\n");
  assert_int_equal(plot("sweep3 --kind window"), 0);
  gp = slurp(at("sweep3/window.png.gp"));
  assert_non_null(strstr(gp, "set xtics ('5m' 0.083333333333333329, "
                             "'1h' 1, '' 12, '1d' 24)"));
}

/* ---- hourly --------------------------------------------------------- */

static void test_hourly(void **state)
{
  (void)state;
  assert_int_equal(plot("run --kind hourly"), 0);
  assert_image(at("run/hourly.png"), "png");
  const char *dat = slurp(at("run/hourly.png.dat"));
  double r[8][8];

  /* oracle: x = hour * 6h in hours (a 30 h stream), AUC as written;
   * the undefined AUC stays nan for gnuplot to skip. */
  assert_int_equal(block(dat, 0, r, 8), 4);
  const double x[4] = {6, 12, 18, 24}, auc[4] = {0.7, 0.8, NAN, 0.6};
  for (int i = 0; i < 4; i++) {
    assert_true(fabs(r[i][0] - x[i]) < TOL);
    assert_true(isnan(auc[i]) ? isnan(r[i][1])
                              : fabs(r[i][1] - auc[i]) < TOL);
  }
  const char *gp = slurp(at("run/hourly.png.gp"));
  assert_non_null(strstr(gp, "(hours)"));
  assert_non_null(strstr(gp, "title 'esdfm'"));
  assert_redraws("run/hourly", "png");
  /* bayes only when --methods names it. */
  assert_null(strstr(gp, "bayes"));
  assert_int_equal(plot("run --kind hourly --methods oracle,bayes "
                        "-o run/hb.png"),
                   0);
  assert_non_null(strstr(slurp(at("run/hb.png.gp")), "title 'bayes'"));

  /* Trailing mean over 2 intervals (12h), weighted by test clicks. */
  assert_int_equal(plot("run --kind hourly --smooth 12h --methods esdfm "
                        "--metric nll -o run/nll.png"),
                   0);
  dat = slurp(at("run/nll.png.dat"));
  assert_int_equal(block(dat, 0, r, 8), 4);
  const double want[4] = {0.55, (100 * 0.55 + 300 * 0.45) / 400,
                          (300 * 0.45 + 100 * 0.50) / 400,
                          (100 * 0.50 + 200 * 0.65) / 300};
  for (int i = 0; i < 4; i++)
    assert_true(fabs(r[i][1] - want[i]) < TOL);
  assert_null(strstr(slurp(at("run/nll.png.gp")), "oracle"));

  /* mean_pred brings the observed rate: the last block. */
  assert_int_equal(plot("run --kind hourly --metric mean_pred --smooth 2 "
                        "-o run/mp.png"),
                   0);
  dat = slurp(at("run/mp.png.dat"));
  assert_int_equal(block(dat, 2, r, 8), 4);
  assert_true(fabs(r[1][1] - (100 * 0.25 + 300 * 0.20) / 400) < TOL);
  assert_non_null(strstr(slurp(at("run/mp.png.gp")), "observed rate"));
}

/* ---- delay ---------------------------------------------------------- */

static void test_delay(void **state)
{
  (void)state;
  /* No config: the empirical CDF alone, FILE.delay.png beside it. */
  assert_int_equal(plot("clicks.tsv --kind delay"), 0);
  assert_image(at("clicks.delay.png"), "png");
  const char *dat = slurp(at("clicks.delay.png.dat"));
  double r[8][8];
  assert_int_equal(block(dat, 0, r, 8), 3);
  const double want[3][3] = {{60, 0.5, 2}, {3600, 0.75, 3}, {86400, 1, 4}};
  for (int i = 0; i < 3; i++)
    for (int c = 0; c < 3; c++)
      assert_true(fabs(r[i][c] - want[i][c]) < TOL);
  assert_null(strstr(dat, "# block 1:"));
  assert_non_null(strstr(slurp(at("clicks.delay.png.gp")), "set logscale x"));
  assert_redraws("clicks.delay", "png");

  /* With -c: the exponential's CDF truncated at 30d beside it. */
  assert_int_equal(plot("clicks.tsv --kind delay -c exp.ini -o "
                        "exp.pdf"),
                   0);
  assert_image(at("exp.pdf"), "pdf");
  dat = slurp(at("exp.pdf.dat"));
  static double c[400][8];
  assert_int_equal(block(dat, 1, c, 400), 400);
  double limit = 30 * 86400.0, z = 1 - exp(-limit / 3600);
  for (int i = 0; i < 400; i += 57)
    assert_true(fabs(c[i][1] - (1 - exp(-c[i][0] / 3600)) / z) < 1e-9);
  assert_true(fabs(c[0][0] - 1) < TOL && fabs(c[399][0] - limit) < 1e-6);
  assert_true(fabs(c[399][1] - 1) < 1e-12);
  assert_non_null(strstr(slurp(at("exp.pdf.gp")), "truncated at 30d"));
  assert_redraws("exp", "pdf");

  /* config.ini beside the log: attribution 1d leaves 86400 s in and
   * the configured curve ends at 1d. */
  assert_int_equal(plot("gen/clicks.tsv --kind delay"), 0);
  dat = slurp(at("gen/clicks.delay.png.dat"));
  assert_int_equal(block(dat, 1, c, 400), 400);
  assert_true(fabs(c[399][0] - 86400) < 1e-6);
  assert_non_null(
      strstr(slurp(at("gen/clicks.delay.png.gp")), "truncated at 1d"));
}

/* ---- calibration ---------------------------------------------------- */

/* Wilson's 95% interval of k successes in n, at the ends where the
 * standard error vanishes: 0 of n is [0, z^2 / (n + z^2)] and n of n is
 * [n / (n + z^2)], 1], z = 1.96. */
#define Z2 (1.96 * 1.96)

static void test_calibration(void **state)
{
  (void)state;
  assert_int_equal(plot("run --kind calibration --bins 2"), 0);
  assert_image(at("run/calibration.png"), "png");
  const char *dat = slurp(at("run/calibration.png.dat"));
  double r[4][8];

  /* vanilla (summary.csv's first): {0.1:0, 0.2:0} and {0.3:1, 0.4:1};
   * columns x, y, Wilson low and high, clicks, lowest and highest
   * prediction. */
  assert_non_null(strstr(dat, "# block 0: vanilla"));
  assert_int_equal(block(dat, 0, r, 4), 2);
  const double want[2][7] = {{0.15, 0, 0, Z2 / (2 + Z2), 2, 0.1, 0.2},
                             {0.35, 1, 2 / (2 + Z2), 1, 2, 0.3, 0.4}};
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 7; k++)
      if (!(fabs(r[i][k] - want[i][k]) < TOL))
        fail_msg("bin %d column %d: %.17g, want %.17g", i, k, r[i][k],
                 want[i][k]);
  /* ECE = 0.5 |0 - 0.15| + 0.5 |1 - 0.35| = 0.4. */
  const char *gp = slurp(at("run/calibration.png.gp"));
  assert_non_null(strstr(gp, "title 'vanilla 0.400'"));
  assert_non_null(strstr(gp, "title 'esdfm 0."));
  assert_non_null(strstr(gp, "using 1:2:3:4 with yerrorlines"));
  assert_non_null(strstr(gp, "ECE; 2 equal-count bins, 95% Wilson bars"));
  assert_redraws("run/calibration", "png");

  /* Equal width: [0, 0.5) holds all four, 2 of 4 converted: Wilson's
   * [0.150, 0.850] (to the three decimals references print). */
  assert_int_equal(plot("run --kind calibration --bins 2 --equal-width "
                        "--methods vanilla -o run/cal.svg"),
                   0);
  assert_image(at("run/cal.svg"), "svg");
  dat = slurp(at("run/cal.svg.dat"));
  assert_int_equal(block(dat, 0, r, 4), 1);
  assert_true(fabs(r[0][0] - 0.25) < TOL && fabs(r[0][1] - 0.5) < TOL);
  assert_true(fabs(r[0][2] - 0.150) < 5e-4 && fabs(r[0][3] - 0.850) < 5e-4);
  assert_true(r[0][4] == 4);
  assert_null(strstr(dat, "esdfm"));
  assert_non_null(
      strstr(slurp(at("run/cal.svg.gp")), "2 equal-width bins, 95% Wilson"));

  /* Sparse bins, one click each at rates 0 and 1: a standard error
   * would be 0, the interval is not. */
  assert_int_equal(plot("run --kind calibration --bins 2 --equal-width "
                        "--methods esdfm -o run/sparse.png"),
                   0);
  dat = slurp(at("run/sparse.png.dat"));
  assert_int_equal(block(dat, 0, r, 4), 2);
  assert_true(r[0][1] == 0 && r[0][2] == 0 &&
              fabs(r[0][3] - Z2 / (1 + Z2)) < TOL && r[0][4] == 1);
  assert_true(r[1][1] == 1 && fabs(r[1][2] - 1 / (1 + Z2)) < TOL &&
              r[1][3] == 1 && r[1][4] == 1);
}

/* ---- bad input ------------------------------------------------------ */

static void test_errors(void **state)
{
  (void)state;
  put("bad.csv", "a,b\n1,2\n");
  sh("mkdir -p '%s/nokey' '%s/ragged'", dir, dir);
  put("nokey/sweep.csv", "method,seed,auc\nesdfm,1,0.5\n");
  put("ragged/hourly.csv", "method,hour,test_clicks,auc\nx,1,2\n");
  static const struct {
    const char *args;
    int status;
    const char *want;
  } cases[] = {
      {"--kind hourly", 2, "no DIR given"},
      {"run", 2, "--kind is required"},
      {"run --kind bogus", 2, "unknown kind 'bogus'; valid: window"},
      {"run --kind hourly --metric bogus", 2, "unknown metric 'bogus'"},
      {"sweep --kind window --metric bogus", 2, "unknown metric 'bogus'"},
      {"sweep --kind window --key nokey", 2,
       "no grid key 'nokey'; its keys: esdfm.elapsed"},
      {"nokey --kind window", 2, "expected grid key columns"},
      {"missing --kind hourly", 2, "missing/hourly.csv: cannot open"},
      {"ragged --kind hourly", 2, "ragged/hourly.csv:2: 3 fields"},
      {"empty --kind calibration", 2, "predictions"},
      {"run --kind calibration --bins 0", 2, "--bins '0'"},
      {"run --kind hourly --smooth 1x", 2, "--smooth '1x'"},
      {"run --kind hourly --methods nope", 2, "--methods: no 'nope' in"},
      {"sweep --kind window --methods esdfm,nope", 2, "no 'nope' in"},
      {"run --kind calibration --methods nope", 2, "no 'nope' in"},
      {"run --kind hourly -o run/x.jpg", 2, "unknown figure type '.jpg'"},
      {"run --kind delay", 2, "is a directory"},
      {"missing.tsv --kind delay", 2, "missing.tsv"},
      {"zero.tsv --kind delay", 2, "every delay is 0 s"},
      {"clicks.tsv --kind delay --set delay.family=weibul", 2,
       "delay.family"},
      {"run --kind hourly -c exp.ini", 2, "-c and --set are for"},
      {"run --kind hourly --frob", 2, "unknown option '--frob'"},
      {"run --kind hourly", 2, "exists; refusing to overwrite"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = plot(cases[i].args);
    const char *msg = slurp(at("err.txt"));
    if (st != cases[i].status || !strstr(msg, cases[i].want))
      fail_msg("case %zu '%s': exit %d, message '%s'", i, cases[i].args, st,
               msg);
  }
  /* Usage errors point to --help. */
  assert_int_equal(plot("run --kind bogus"), 2);
  assert_non_null(strstr(slurp(at("err.txt")), "try 'dfbench plot --help'"));
  assert_int_equal(plot("--help"), 0);
  assert_non_null(strstr(slurp(at("out.txt")), "usage: dfbench plot"));
  assert_non_null(strstr(slurp(at("out.txt")), "r_auc, r_pr_auc, r_nll"));
  assert_non_null(strstr(slurp(at("out.txt")), "ri_auc, ri_pr_auc, ri_nll"));

  /* No gnuplot: exit 1, the hint, and nothing written. */
  int st = sh("cd '%s' && PATH=/nonexistent '%s' plot run --kind hourly "
              "-o run/none.png 2>'%s'",
              dir, DFB_BINARY, at("err.txt"));
  assert_int_equal(st, 1);
  const char *msg = slurp(at("err.txt"));
  assert_non_null(strstr(msg, "gnuplot not found"));
  assert_non_null(strstr(msg, "apt-get install gnuplot-nox"));
  struct stat sb;
  assert_int_not_equal(stat(at("run/none.png.gp"), &sb), 0);
  assert_int_not_equal(stat(at("run/none.png.dat"), &sb), 0);

  /* --force replaces. */
  assert_int_equal(plot("run --kind hourly --force"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window),      cmocka_unit_test(test_window_keys),
      cmocka_unit_test(test_hourly),      cmocka_unit_test(test_delay),
      cmocka_unit_test(test_calibration), cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
