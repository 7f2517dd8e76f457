/* test_table.c: `dfbench table` (bench/table.h) on hand-written
 * summary.csv and sweep.csv files: the mean and sample sd over seeds,
 * R and RI from the means, the paper's row order, which cells are
 * marked best and runner-up, the md / latex / csv layouts, and the
 * messages of bad input.  Expected values are worked out by hand in the
 * comments; the tolerance covers rounding in the last bits only. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/table.h"
#include "sim/log.h"

#define TOL 1e-12

static char dir[] = "/tmp/dfb_test_table_XXXXXX";

static void near(double got, double want, const char *what)
{
  if (isnan(want) ? !isnan(got) : !(fabs(got - want) <= TOL))
    fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

static void put(const char *name, const char *text)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static int sh(const char *fmt, ...)
{
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *name)
{
  static char buf[1 << 16];
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* A run's summary.csv in registry order, as `dfbench run` writes it
 * (its r_* columns are ignored: the table recomputes them). */
static const char run_summary[] =
    "method,auc,pr_auc,nll,r_auc,r_pr_auc,r_nll,ri_auc,ri_pr_auc,ri_nll,"
    "test_clicks,train_events,seconds\n"
    "pretrain,0.70,0.30,0.50,9,9,9,9,9,9,100,0,0.1\n"
    "oracle,0.80,0.40,0.40,9,9,9,9,9,9,100,100,0.1\n"
    "vanilla,0.72,0.32,0.48,9,9,9,9,9,9,100,100,0.1\n"
    "esdfm,0.76,0.36,0.44,9,9,9,9,9,9,100,120,0.1\n"
    "bayes,0.90,0.60,0.30,9,9,9,9,9,9,100,0,0\n";

/* A sweep.csv: esdfm.elapsed = 15m over three seeds; 1h with one seed
 * and rows out of order (and a method the paper does not know); a
 * quoted grid value. */
static const char sweep_csv[] =
    "esdfm.elapsed,seed,method,auc,pr_auc,nll,test_clicks\n"
    "15m,1,pretrain,0.69,0.29,0.50,100\n"
    "15m,1,oracle,0.78,0.38,0.40,100\n"
    "15m,1,vanilla,0.71,0.31,0.47,100\n"
    "15m,1,esdfm,0.74,0.34,0.44,100\n"
    "15m,2,pretrain,0.70,0.30,0.50,100\n"
    "15m,2,oracle,0.80,0.40,0.41,100\n"
    "15m,2,vanilla,0.72,0.32,0.48,100\n"
    "15m,2,esdfm,0.75,0.35,0.45,100\n"
    "15m,3,pretrain,0.71,0.31,0.50,100\n"
    "15m,3,oracle,0.82,0.42,0.39,100\n"
    "15m,3,vanilla,0.73,0.33,0.49,100\n"
    "15m,3,esdfm,0.79,0.39,0.43,100\n"
    "1h,1,bayes,0.9,0.6,0.3,100\n"
    "1h,1,esdfm,0.75,0.35,0.45,100\n"
    "1h,1,newthing,0.5,0.2,0.7,100\n"
    "1h,1,oracle,0.8,0.4,0.4,100\n"
    "1h,1,vanilla,0.7,0.3,0.5,100\n"
    "1h,1,pretrain,0.6,0.2,0.6,100\n"
    "\"a,b\",1,pretrain,0.5,0.25,0.6,100\n";

static int setup(void **state)
{
  (void)state;
  if (!mkdtemp(dir))
    return -1;
  sh("mkdir -p %s/run %s/sweep %s/empty %s/unfinished/cells", dir, dir, dir,
     dir);
  put("unfinished/sweep.ini", "[sweep]\nseeds = 1\n");
  put("run/summary.csv", run_summary);
  put("sweep/sweep.csv", sweep_csv);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  return sh("rm -rf '%s'", dir);
}

/* ---- arithmetic ---- */

static void test_mean_sd(void **state)
{
  (void)state;
  static const struct {
    double x[4];
    int n;
    double mean, sd;
  } cases[] = {
      /* sd = sqrt(((1.5^2 + 0.5^2) * 2) / 3) = sqrt(5/3) */
      {{1, 2, 3, 4}, 4, 2.5, 1.2909944487358056},
      {{5}, 1, 5, NAN},
      {{0}, 0, NAN, NAN},
      {{2, 2, 2}, 3, 2, 0},
      /* Large offset, unit spread: no cancellation. */
      {{1e9 + 1, 1e9 + 2, 1e9 + 3}, 3, 1e9 + 2, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double mean, sd;
    table_mean_sd(cases[i].x, cases[i].n, &mean, &sd);
    near(mean, cases[i].mean, "mean");
    near(sd, cases[i].sd, "sd");
  }
}

static const table_row *row(const table_group *g, const char *m)
{
  for (int i = 0; i < g->n_rows; i++)
    if (!strcmp(g->rows[i].method, m))
      return &g->rows[i];
  fail_msg("no row %s", m);
  return NULL;
}

/* One run: R = (m - vanilla) / (oracle - vanilla),
 * RI = (m - pretrain) / (oracle - pretrain), for every metric. */
static void test_run_arithmetic(void **state)
{
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/run", dir);
  table_data t;
  assert_int_equal(table_read(path, &t), 0);
  assert_int_equal(t.n_groups, 1);
  assert_int_equal(t.n_keys, 0);
  assert_int_equal(t.seeds, 1);
  const table_group *g = &t.groups[0];

  /* The paper's order, bayes last. */
  static const char *const order[] = {"pretrain", "vanilla", "oracle",
                                      "esdfm", "bayes"};
  assert_int_equal(g->n_rows, 5);
  for (int i = 0; i < 5; i++)
    assert_string_equal(g->rows[i].method, order[i]);

  static const struct {
    const char *method;
    int k;
    double mean, r, ri;
  } cases[] = {
      /* esdfm AUC: (0.76-0.72)/(0.80-0.72) = 0.5; (0.76-0.70)/0.10 */
      {"esdfm", TABLE_AUC, 0.76, 0.5, 0.6},
      {"esdfm", TABLE_PR_AUC, 0.36, 0.5, 0.6},
      /* NLL: (0.44-0.48)/(0.40-0.48) = 0.5; (0.44-0.50)/(0.40-0.50) */
      {"esdfm", TABLE_NLL, 0.44, 0.5, 0.6},
      /* pretrain: (0.70-0.72)/0.08 = -0.25, RI 0 by definition */
      {"pretrain", TABLE_AUC, 0.70, -0.25, 0},
      /* vanilla: R 0, RI (0.72-0.70)/0.10 = 0.2 */
      {"vanilla", TABLE_AUC, 0.72, 0, 0.2},
      {"oracle", TABLE_NLL, 0.40, 1, 1},
      /* bayes above the ceiling: (0.90-0.72)/0.08 = 2.25 */
      {"bayes", TABLE_AUC, 0.90, 2.25, 2},
      {"bayes", TABLE_NLL, 0.30, 2.25, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const table_row *r = row(g, cases[i].method);
    near(r->mean[cases[i].k], cases[i].mean, cases[i].method);
    near(r->sd[cases[i].k], NAN, cases[i].method);
    near(r->r[cases[i].k], cases[i].r, cases[i].method);
    near(r->ri[cases[i].k], cases[i].ri, cases[i].method);
  }
  table_free(&t);
}

/* A sweep: grouped by grid point, mean and sample sd over seeds, the
 * relative columns from the means (not the mean of per-seed ratios,
 * which is 0.4898 for esdfm's R-AUC here). */
static void test_sweep_arithmetic(void **state)
{
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/sweep", dir);
  table_data t;
  assert_int_equal(table_read(path, &t), 0);
  assert_int_equal(t.n_keys, 1);
  assert_string_equal(t.key[0], "esdfm.elapsed");
  assert_int_equal(t.n_groups, 3);
  assert_string_equal(t.groups[0].value[0], "15m");
  assert_string_equal(t.groups[1].value[0], "1h");
  assert_string_equal(t.groups[2].value[0], "a,b");
  assert_int_equal(t.seeds, 3);

  const table_group *g = &t.groups[0];
  static const struct {
    const char *method;
    int k;
    double mean, sd, r, ri;
  } cases[] = {
      /* esdfm AUC 0.74, 0.75, 0.79: mean 0.76, deviations -0.02, -0.01,
       * 0.03, sd = sqrt(0.0014 / 2) = sqrt(0.0007); oracle 0.80 (sd
       * 0.02), vanilla 0.72, pretrain 0.70 (sd 0.01). */
      {"esdfm", TABLE_AUC, 0.76, 0.026457513110645907, 0.5, 0.6},
      {"esdfm", TABLE_PR_AUC, 0.36, 0.026457513110645907, 0.5, 0.6},
      /* NLL 0.44 0.45 0.43 (sd 0.01); vanilla 0.48, oracle 0.40 */
      {"esdfm", TABLE_NLL, 0.44, 0.01, 0.5, 0.6},
      {"oracle", TABLE_AUC, 0.80, 0.02, 1, 1},
      {"vanilla", TABLE_AUC, 0.72, 0.01, 0, 0.2},
      /* pretrain NLL 0.50 each seed: (0.50-0.48)/(0.40-0.48) = -0.25 */
      {"pretrain", TABLE_NLL, 0.50, 0, -0.25, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const table_row *r = row(g, cases[i].method);
    assert_int_equal(r->n, 3);
    near(r->mean[cases[i].k], cases[i].mean, cases[i].method);
    near(r->sd[cases[i].k], cases[i].sd, cases[i].method);
    near(r->r[cases[i].k], cases[i].r, cases[i].method);
    near(r->ri[cases[i].k], cases[i].ri, cases[i].method);
  }

  /* 1h: the paper's order, an unknown method after the known ones. */
  static const char *const order[] = {"pretrain", "vanilla",  "oracle",
                                      "esdfm",    "newthing", "bayes"};
  g = &t.groups[1];
  assert_int_equal(g->n_rows, 6);
  for (int i = 0; i < 6; i++)
    assert_string_equal(g->rows[i].method, order[i]);
  /* esdfm: (0.75-0.7)/(0.8-0.7) = 0.5, (0.75-0.6)/(0.8-0.6) = 0.75 */
  near(row(g, "esdfm")->r[TABLE_AUC], 0.5, "1h esdfm R");
  near(row(g, "esdfm")->ri[TABLE_AUC], 0.75, "1h esdfm RI");

  /* No references: the relative columns are undefined. */
  g = &t.groups[2];
  near(row(g, "pretrain")->r[TABLE_AUC], NAN, "a,b R");
  near(row(g, "pretrain")->ri[TABLE_AUC], NAN, "a,b RI");
  table_free(&t);
}

/* ---- the layouts, through the binary ---- */

static char *table_out(const char *args)
{
  assert_int_equal(sh("'%s' table %s >%s/out.txt 2>%s/err.txt", DFB_BINARY,
                      args, dir, dir),
                   0);
  return slurp("out.txt");
}

static void want_all(const char *text, const char *const *want, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!strstr(text, want[i]))
      fail_msg("'%s' missing from:\n%s", want[i], text);
}

/* Bold is the best of the methods that do not see the future, the
 * runner-up underlined (md: italics); oracle and bayes are never
 * marked; lower NLL is better. */
static void test_formats(void **state)
{
  (void)state;
  char args[600];
  snprintf(args, sizeof args, "%s/run", dir);
  static const char *const md[] = {
      "| method | AUC | R-AUC | RI-AUC | PR-AUC | R-PR-AUC | RI-PR-AUC | "
      "NLL | R-NLL | RI-NLL |\n|:---|---:|",
      "| pretrain | 0.7000 | -0.250 | 0.000 | 0.3000 |",
      "| vanilla | _0.7200_ | _0.000_ | _0.200_ |",
      "| oracle | 0.8000 | 1.000 | 1.000 | 0.4000 | 1.000 | 1.000 | "
      "0.4000 | 1.000 | 1.000 |",
      "| esdfm | **0.7600** | **0.500** | **0.600** | **0.3600** | "
      "**0.500** | **0.600** | **0.4400** | **0.500** | **0.600** |",
      "| bayes | 0.9000 | 2.250 | 2.000 |",
  };
  want_all(table_out(args), md, sizeof md / sizeof md[0]);

  snprintf(args, sizeof args, "%s/run --format latex", dir);
  static const char *const latex[] = {
      "\\begin{tabular}{lrrrrrrrrr}\n\\toprule\nMethod & AUC & R-AUC",
      "\\midrule\npretrain & $0.7000$ & $-0.250$",
      "vanilla & \\underline{$0.7200$}",
      "oracle & $0.8000$",
      "\\midrule\nesdfm & $\\mathbf{0.7600}$ & $\\mathbf{0.500}$",
      "\\midrule\nbayes & $0.9000$",
      "\\bottomrule\n\\end{tabular}\n\\end{table}\n",
  };
  want_all(table_out(args), latex, sizeof latex / sizeof latex[0]);

  /* csv: numbers that read back, sd empty with one seed. */
  snprintf(args, sizeof args, "%s/run --format csv", dir);
  char *csv = table_out(args);
  static const char head[] =
      "method,seeds,auc,auc_sd,r_auc,ri_auc,pr_auc,pr_auc_sd,r_pr_auc,"
      "ri_pr_auc,nll,nll_sd,r_nll,ri_nll\npretrain,1,0.7,,-0.25";
  assert_true(!strncmp(csv, head, strlen(head)));
  char *line = strstr(csv, "\nesdfm,1,");
  assert_non_null(line);
  double v[12];
  char *p = line + strlen("\nesdfm,1,");
  for (int i = 0; i < 12; i++) {
    v[i] = *p == ',' ? NAN : strtod(p, &p);
    assert_true(*p == ',' || *p == '\n');
    p++;
  }
  static const double want[12] = {0.76, NAN, 0.5,  0.6, 0.36, NAN,
                                  0.5,  0.6, 0.44, NAN, 0.5,  0.6};
  for (int i = 0; i < 12; i++)
    near(v[i], want[i], "csv esdfm");

  /* Without vanilla the R columns are '-', never marked. */
  put("noref.csv", "method,auc,pr_auc,nll\npretrain,0.70,0.30,0.50\n"
                   "oracle,0.80,0.40,0.40\nesdfm,0.76,0.36,0.44\n"
                   "fnw,0.74,0.34,0.46\n");
  snprintf(args, sizeof args, "%s/noref.csv", dir);
  static const char *const noref[] = {
      "| esdfm | **0.7600** | - | **0.600** |",
      "| fnw | _0.7400_ | - | _0.400_ |",
  };
  want_all(table_out(args), noref, sizeof noref / sizeof noref[0]);

  /* A sweep: one table per grid point, mean ± sd where defined. */
  snprintf(args, sizeof args, "%s/sweep", dir);
  static const char *const sweep_md[] = {
      "esdfm.elapsed = 15m (mean ± sd over 3 seeds;",
      "| esdfm | **0.7600 ± 0.0265** | **0.500** | **0.600** |",
      "| oracle | 0.8000 ± 0.0200 |",
      "\nesdfm.elapsed = 1h (one seed;",
      "| newthing | 0.5000 |",
      "\nesdfm.elapsed = a,b (",
  };
  want_all(table_out(args), sweep_md, sizeof sweep_md / sizeof sweep_md[0]);
  snprintf(args, sizeof args, "%s/sweep --format csv", dir);
  static const char *const sweep_csv_want[] = {
      "esdfm.elapsed,method,seeds,auc,auc_sd,",
      "\n15m,esdfm,3,0.76",
      "\n\"a,b\",pretrain,1,0.5,,,,0.25,",
  };
  want_all(table_out(args), sweep_csv_want,
           sizeof sweep_csv_want / sizeof sweep_csv_want[0]);
  snprintf(args, sizeof args, "%s/sweep --format latex", dir);
  static const char *const sweep_latex[] = {
      "\\caption{esdfm.elapsed = 15m; mean $\\pm$ sd over 3 seeds.}",
      "esdfm & $\\mathbf{0.7600 \\pm 0.0265}$",
  };
  want_all(table_out(args), sweep_latex,
           sizeof sweep_latex / sizeof sweep_latex[0]);
}

/* Where oracle is not better than a reference, that reference's
 * relative column cannot rank the methods: md says so below the table,
 * latex and csv on stderr; where it is, nothing is said. */
static void test_notes(void **state)
{
  (void)state;
  /* AUC: oracle below vanilla, above pretrain; PR-AUC fine; NLL: oracle
   * worse than both. */
  put("flip.csv", "method,auc,pr_auc,nll\npretrain,0.70,0.30,0.50\n"
                  "vanilla,0.72,0.32,0.48\noracle,0.71,0.40,0.55\n"
                  "esdfm,0.76,0.36,0.44\n");
  static const char *const notes[] = {
      "oracle's AUC (0.7100) is not above vanilla's (0.7200), so R-AUC "
      "does not rank the methods here; compare AUC itself",
      "oracle's NLL (0.5500) is not below vanilla's (0.4800), so R-NLL "
      "does not rank the methods here",
      "oracle's NLL (0.5500) is not below pretrain's (0.5000), so RI-NLL",
  };
  char args[600], want[400];
  snprintf(args, sizeof args, "%s/flip.csv", dir);
  char *md = table_out(args);
  for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
    snprintf(want, sizeof want, "|\n%sNote: %s", i ? "" : "\n", notes[i]);
    if (i == 0 ? !strstr(md, want) : !strstr(md, notes[i]))
      fail_msg("md: '%s' missing from:\n%s", notes[i], md);
  }
  assert_null(strstr(md, "RI-AUC does not"));
  assert_null(strstr(md, "PR-AUC does not"));
  assert_null(strstr(slurp("err.txt"), "oracle's"));

  static const char *const formats[] = {"latex", "csv"};
  for (size_t f = 0; f < 2; f++) {
    snprintf(args, sizeof args, "%s/flip.csv --format %s", dir, formats[f]);
    assert_null(strstr(table_out(args), "oracle's"));
    char *err = slurp("err.txt");
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
      snprintf(want, sizeof want, "warning: %s", notes[i]);
      if (!strstr(err, want))
        fail_msg("%s: '%s' missing from '%s'", formats[f], want, err);
    }
  }

  /* Sweeps name the grid point; a sane table has no note. */
  put("flipsweep.csv", "k,seed,method,auc,pr_auc,nll\n"
                       "a,1,vanilla,0.7,0.3,0.5\na,1,oracle,0.6,0.4,0.4\n");
  snprintf(args, sizeof args, "%s/flipsweep.csv --format csv", dir);
  table_out(args);
  assert_non_null(strstr(slurp("err.txt"), "warning: k = a: oracle's AUC"));
  snprintf(args, sizeof args, "%s/run", dir);
  assert_null(strstr(table_out(args), "Note:"));
  snprintf(args, sizeof args, "%s/run --format latex", dir);
  table_out(args);
  assert_null(strstr(slurp("err.txt"), "oracle's"));
}

/* Bad input: exit 2 and a message naming the file, line and field. */
static void test_errors(void **state)
{
  (void)state;
  put("bad.csv", "method,auc,pr_auc,nll\npretrain,0.7,0.3,0.5\n"
                 "oracle,high,0.4,0.4\n");
  put("nohead.csv", "a,b,c\n1,2,3\n");
  put("short.csv", "method,auc,pr_auc,nll\npretrain,0.7\n");
  put("quote.csv", "k,seed,method,auc,pr_auc,nll\n\"open,1,x,1,1,1\n");
  static const struct {
    const char *args, *want;
    int usage;
  } cases[] = {
      {"%s/empty", "holds neither sweep.csv nor summary.csv", 0},
      {"%s/empty", "hint: make one with 'dfbench run -o", 0},
      {"%s/unfinished",
       "unfinished is a sweep without sweep.csv: none of "
       "its cells has finished, or its run was killed",
       0},
      {"%s/unfinished",
       "hint: rerun the sweep command to finish its cells "
       "and rebuild sweep.csv",
       0},
      {"%s/bad.csv", "bad.csv:3: auc: 'high' is not a number", 0},
      {"%s/nohead.csv", "nohead.csv:1: not a summary.csv or sweep.csv", 0},
      {"%s/short.csv", "short.csv:2: 2 fields, expected at least 4", 0},
      {"%s/quote.csv", "quote.csv:2: a quoted field is not closed", 0},
      {"%s/nothere", "nothere: No such file or directory", 0},
      {"%s/run --format html",
       "--format html: choose one of md, latex, "
       "csv",
       1},
      {"%s/run %s/run", "unexpected argument", 1},
      {"--bogus %s", "unknown option '--bogus'", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char args[1200];
    snprintf(args, sizeof args, cases[i].args, dir, dir);
    int st =
        sh("'%s' table %s >/dev/null 2>%s/err.txt", DFB_BINARY, args, dir);
    char *err = slurp("err.txt");
    if (st != 2 || !strstr(err, cases[i].want) ||
        (cases[i].usage && !strstr(err, "try 'dfbench table --help'")))
      fail_msg("case %zu: exit %d, message '%s'", i, st, err);
  }
  assert_int_equal(sh("'%s' table 2>%s/err.txt", DFB_BINARY, dir), 2);
  assert_non_null(strstr(slurp("err.txt"), "DIR is required"));
  assert_int_equal(sh("'%s' table --help >%s/out.txt", DFB_BINARY, dir), 0);
  assert_non_null(strstr(slurp("out.txt"), "usage: dfbench table DIR"));
}

int main(void)
{
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mean_sd),
      cmocka_unit_test(test_run_arithmetic),
      cmocka_unit_test(test_sweep_arithmetic),
      cmocka_unit_test(test_formats),
      cmocka_unit_test(test_notes),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
