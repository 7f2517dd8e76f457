/* cmd_run.c: `dfbench run`: one experiment on a generated world or a
 * Criteo-layout file, written to a results directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/cli.h"
#include "bench/progress.h"
#include "bench/runner.h"
#include "models/method.h"
#include "sim/clicklog.h"
#include "sim/gen.h"
#include "sim/log.h"

static const char usage[] =
    "usage: dfbench run [-c CONFIG] [--set KEY=VALUE]... [--data FILE]\n"
    "                   [--methods LIST] [--predictions] [--force] -o DIR\n"
    "\n"
    "Replay a click log through time as a production system sees it:\n"
    "pre-train on [0, stream.pretrain), then interval by interval\n"
    "(stream.interval) train every method on the events whose labels\n"
    "became available in the interval and test it on the next interval's\n"
    "clicks against their true attributed labels.  Metrics are per test\n"
    "interval, averaged weighted by interval size.\n"
    "\n"
    "  -c, --config FILE      INI file read over the built-in defaults\n"
    "  --set SECTION.KEY=VAL  override one key (repeatable)\n"
    "  --data FILE            a Criteo-layout log instead of a generated\n"
    "                         world (FILE.truth is read when present); its\n"
    "                         feature counts are generator.int_features\n"
    "                         and generator.cat_features (8 and 9)\n"
    "  --methods LIST         comma-separated methods, or all (default)\n"
    "  --predictions          also write DIR/predictions/METHOD.tsv\n"
    "  -o, --output DIR       results directory (created if needed)\n"
    "  --force                replace results already in DIR\n"
    "  -h, --help             this text\n"
    "\n"
    "Writes DIR/summary.csv (one row per method, plus bayes when the true\n"
    "probabilities are known), DIR/hourly.csv (one row per method and\n"
    "test interval) and DIR/config.ini (the effective configuration), and\n"
    "prints the summary table on stdout.\n";

typedef struct run_args {
  const char *config, *output, *data, *methods;
  char *sets[256];
  int n_sets, predictions, force;
} run_args;

static int parse_args(int argc, char **argv, run_args *a)
{
  const char *v;
  for (int i = 1; i < argc;) {
    int m = 0;
    if (cli_opt_flag(argv, &i, "--help", "-h")) {
      fputs(usage, stdout);
      return 0;
    } else if (cli_opt_flag(argv, &i, "--force", NULL)) {
      a->force = 1;
    } else if (cli_opt_flag(argv, &i, "--predictions", NULL)) {
      a->predictions = 1;
    } else if ((m = cli_opt_value("run", argc, argv, &i, "--config", "-c",
                                  &a->config))) {
    } else if ((m = cli_opt_value("run", argc, argv, &i, "--output", "-o",
                                  &a->output))) {
    } else if ((m = cli_opt_value("run", argc, argv, &i, "--data", NULL,
                                  &a->data))) {
    } else if ((m = cli_opt_value("run", argc, argv, &i, "--methods", NULL,
                                  &a->methods))) {
    } else if ((m = cli_opt_value("run", argc, argv, &i, "--set", NULL,
                                  &v)) == 1) {
      if (a->n_sets >= 250)
        return cli_usage_error("run", "too many --set options");
      a->sets[a->n_sets++] = (char *)v;
    } else if (m == 0) {
      return cli_unknown_arg("run", argv[i]);
    }
    if (m < 0)
      return 2;
  }
  if (!a->output)
    return cli_usage_error("run", "-o DIR is required");
  return -1;
}

/* The clicks: drawn from the world, or read from data.path. */
static int load_clicks(const df_config *cfg, df_clicks **log)
{
  if (!strcmp(cfg->data_source, "file")) {
    log_info("reading %s", cfg->data_path);
    return clicklog_read(cfg->data_path, cfg->gen_int_features,
                         cfg->gen_cat_features, 1, log);
  }
  gen_world *w = NULL;
  int rc = gen_world_create(cfg, &w);
  if (rc)
    return rc;
  log_info("generating seed=%lld clicks=%lld days=%g",
           (long long)cfg->gen_seed, (long long)cfg->gen_clicks,
           cfg->gen_days);
  progress *bar = progress_create("generate");
  rc = gen_draw_clicks(w, cfg->run_threads, progress_callback, bar, log);
  progress_finish(bar);
  gen_world_destroy(w);
  return rc;
}

int cmd_run(int argc, char **argv)
{
  run_args a = {0};
  int status = parse_args(argc, argv, &a);
  if (status >= 0)
    return status;

  df_config cfg;
  int rc = cli_load_run_config(&cfg, a.config, a.sets, a.n_sets, a.data,
                               a.methods);
  const char *names[32];
  int n_names;
  if (!rc)
    rc = runner_select(&cfg, names, 32, &n_names);
  if (rc)
    return cli_fail(rc);

  /* Refuse to overwrite results before spending the run's time. */
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.csv", a.output);
  if (!a.force && !access(path, F_OK)) {
    log_error("%s already holds results (%s)", a.output, path);
    log_hint("pass --force to replace them, or choose another -o");
    return 2;
  }
  char pred_dir[4200];
  snprintf(pred_dir, sizeof pred_dir, "%s/predictions", a.output);
  rc = cli_make_dirs(a.predictions ? pred_dir : a.output);
  if (rc)
    return cli_fail(rc);

  log_info("run seed=%lld model.type=%s methods=%s data=%s",
           (long long)cfg.gen_seed, cfg.model_type, cfg.run_methods,
           strcmp(cfg.data_source, "file") ? "synthetic" : cfg.data_path);
  df_clicks *log = NULL;
  rc = load_clicks(&cfg, &log);
  if (rc) {
    int fail = cli_fail(rc), fields = 0;
    int expect = 2 + cfg.gen_int_features + cfg.gen_cat_features;
    if (!strcmp(cfg.data_source, "file") &&
        !clicklog_first_fields(cfg.data_path, &fields) && fields > 2 &&
        fields != expect)
      log_hint("the log's first line has %d features; pass --set "
               "generator.int_features=N --set generator.cat_features=M "
               "with N + M = %d",
               fields - 2, fields - 2);
    return fail;
  }

  run_options opt = {a.predictions ? pred_dir : NULL, a.force};
  run_report rep;
  rc = runner_run(&cfg, log, &opt, &rep);
  clicks_destroy(log);
  if (rc)
    return cli_fail(rc);
  rc = runner_write(&rep, &cfg, a.output, a.force);
  if (!rc) {
    runner_print(&rep, stdout);
    log_info("wrote %s/summary.csv, hourly.csv, config.ini; %zu steps in "
             "%.1fs",
             a.output, rep.steps, rep.seconds);
  }
  run_report_free(&rep);
  return rc ? cli_fail(rc) : 0;
}
