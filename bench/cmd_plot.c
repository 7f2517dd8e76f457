/* cmd_plot.c: `dfbench plot`: figures of results through gnuplot; the
 * options are read here, the figures are made by plots/plot.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "plots/plot.h"
#include "sim/log.h"

static const char usage[] =
    "usage: dfbench plot DIR --kind window|hourly|delay|calibration\n"
    "                    [-o FILE] [--metric M] [--methods LIST]\n"
    "                    [--title TEXT] [--force] [kind options]\n"
    "\n"
    "Draw a figure of results with gnuplot: FILE (default DIR/KIND.png,\n"
    "for delay LOG.delay.png beside the log, LOG without its extension;\n"
    ".png, .svg or .pdf by its extension), with its script FILE.gp and\n"
    "data FILE.dat beside it (window.pdf.gp, window.pdf.dat, so two\n"
    "formats of one figure do not collide); `gnuplot FILE.gp` in that\n"
    "directory draws it again, to restyle it.\n"
    "\n"
    "Figures are laid out for a two-column paper: one panel is a column,\n"
    "3.5 in wide; window's three panels span the page, 7 in; text is\n"
    "9 pt; the legend sits below the panels in as many columns as fit.\n"
    "PDF is drawn in inches, PNG at 300 dpi and SVG at 96 px an inch, so\n"
    "every format shows the same figure.\n"
    "\n"
    "kinds:\n"
    "  window       each metric against a swept key, one line per method,\n"
    "               mean and sd over seeds, from DIR/sweep.csv.  Grid\n"
    "               values that are durations (15m, 1h) make a time axis,\n"
    "               log scale when they span more than a decade; other\n"
    "               values are numbers or categories.  Colour tells the\n"
    "               method; with other grid keys, each combination of\n"
    "               their values (a group) has its own dash and marker,\n"
    "               and the legend lists methods and groups.  Lines at one\n"
    "               x are shifted a little sideways so that their error\n"
    "               bars stay apart.  bayes is left out unless --methods\n"
    "               names it.\n"
    "  hourly       a metric of each test interval over stream time, one\n"
    "               line per method, from DIR/hourly.csv (stream.interval\n"
    "               from DIR/config.ini).\n"
    "  delay        the empirical CDF of the delays (conv_ts - click_ts)\n"
    "               of a click log (DIR is the log FILE), log time axis,\n"
    "               with the configured distribution's CDF, truncated at\n"
    "               delay.attribution, when the config is known: -c or\n"
    "               --set, else config.ini beside the log.\n"
    "  calibration  a reliability diagram: mean label against mean\n"
    "               prediction in bins, per method, with the 95% Wilson\n"
    "               interval of each bin's rate (not 0 wide for a bin of\n"
    "               a few clicks all alike) and each method's ECE in the\n"
    "               legend, from DIR/predictions/METHOD.tsv (run\n"
    "               --predictions); the data file has each bin's clicks.\n"
    "\n"
    "options:\n"
    "  --kind KIND            the figure (required)\n"
    "  -o, --output FILE      the figure; .png, .svg or .pdf\n"
    "  --metric M             window: auc, pr_auc, nll, the relative\n"
    "                         r_auc, r_pr_auc, r_nll (vanilla 0, oracle\n"
    "                         1), ri_auc, ri_pr_auc, ri_nll (pretrain 0,\n"
    "                         oracle 1), or all (default: AUC, PR-AUC\n"
    "                         and NLL in three panels); hourly: auc,\n"
    "                         pr_auc, nll or mean_pred (default auc)\n"
    "  --methods LIST         comma-separated methods to draw (default:\n"
    "                         all in the file; window and hourly: all\n"
    "                         but bayes)\n"
    "  --title TEXT           a title above the figure (default none)\n"
    "  --key KEY              window: the grid column on the x axis\n"
    "                         (default the first)\n"
    "  --smooth W             hourly: trailing moving average over W\n"
    "                         intervals, or a duration (1d), weighted by\n"
    "                         test clicks (default: none)\n"
    "  --bins N               calibration: bins per method (default 10)\n"
    "  --equal-width          calibration: bins of equal width in the\n"
    "                         prediction, not of equal count (default:\n"
    "                         quantile bins, n/N predictions each)\n"
    "  -c, --config FILE      delay: the config that generated the log\n"
    "  --set SECTION.KEY=VAL  delay: override a key of it (repeatable)\n"
    "  --force                replace FILE, FILE.gp and FILE.dat\n"
    "  -h, --help             this text\n"
    "\n"
    "Needs gnuplot (apt-get install gnuplot-nox).  Exit status: 0, 1 when\n"
    "gnuplot is missing or fails, 2 on bad usage or input.\n";

typedef struct plot_args {
  plot_options o;
  const char *config, *kind, *bins;
  char *sets[256];
  int n_sets;
} plot_args;

/* The value options: name, short name, where the value goes. */
static int value_option(int argc, char **argv, int *i, plot_args *a)
{
  const struct {
    const char *name, *short_name;
    const char **value;
  } opts[] = {
      {"--kind", NULL, &a->kind},       {"--output", "-o", &a->o.output},
      {"--metric", NULL, &a->o.metric}, {"--methods", NULL, &a->o.methods},
      {"--title", NULL, &a->o.title},   {"--key", NULL, &a->o.key},
      {"--smooth", NULL, &a->o.smooth}, {"--bins", NULL, &a->bins},
      {"--config", "-c", &a->config},
  };
  for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
    int m = cli_opt_value("plot", argc, argv, i, opts[k].name,
                          opts[k].short_name, opts[k].value);
    if (m)
      return m;
  }
  const char *v;
  int m = cli_opt_value("plot", argc, argv, i, "--set", NULL, &v);
  if (m == 1) {
    if (a->n_sets == 256) {
      cli_usage_error("plot", "too many --set options");
      return -1;
    }
    a->sets[a->n_sets++] = (char *)v;
  }
  return m;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, plot_args *a)
{
  for (int i = 1; i < argc;) {
    int m;
    if (cli_opt_flag(argv, &i, "--help", "-h")) {
      fputs(usage, stdout);
      return 0;
    } else if (cli_opt_flag(argv, &i, "--force", NULL)) {
      a->o.force = 1;
    } else if (cli_opt_flag(argv, &i, "--equal-width", NULL)) {
      a->o.equal_width = 1;
    } else if ((m = value_option(argc, argv, &i, a))) {
      if (m < 0)
        return 2;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return cli_usage_error("plot", "unknown option '%s'", argv[i]);
    } else if (a->o.input) {
      return cli_usage_error("plot", "one DIR only ('%s' is extra)", argv[i]);
    } else {
      a->o.input = argv[i++];
    }
  }
  if (!a->o.input)
    return cli_usage_error("plot", "no DIR given");
  if (!a->kind)
    return cli_usage_error("plot", "--kind is required (window, hourly, "
                                   "delay or calibration)");
  if (plot_kind_parse(a->kind, &a->o.kind))
    return cli_usage_error("plot", "%s", df_errmsg());
  if (a->bins) {
    char *end;
    long b = strtol(a->bins, &end, 10);
    if (!*a->bins || *end || b < 1 || b > 1000)
      return cli_usage_error("plot", "--bins '%s': expected 1 to 1000",
                             a->bins);
    a->o.bins = (int)b;
  }
  if ((a->config || a->n_sets) && a->o.kind != PLOT_DELAY)
    return cli_usage_error("plot", "-c and --set are for --kind delay");
  return -1;
}

int cmd_plot(int argc, char **argv)
{
  plot_args a;
  memset(&a, 0, sizeof a);
  int status = parse_args(argc, argv, &a);
  if (status >= 0)
    return status;

  /* The configuration behind a click log, when the user gives it. */
  df_config cfg;
  if (a.config || a.n_sets) {
    int rc = cli_load_config(&cfg, a.config, a.sets, a.n_sets);
    if (rc)
      return cli_fail(rc);
    a.o.config = &cfg;
  }
  char fig[4096];
  int rc = plot_make(&a.o, fig, sizeof fig);
  if (rc) {
    status = cli_fail(rc);
    if (*plot_hint())
      log_hint("%s", plot_hint());
    return status;
  }
  log_info("wrote %s with its script and data beside it", fig);
  return 0;
}
