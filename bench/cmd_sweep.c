/* cmd_sweep.c: `dfbench sweep`: a grid of runs, resumable and
 * shardable, in one directory (bench/sweep.h holds the logic). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "bench/runner.h"
#include "bench/sweep.h"
#include "sim/log.h"

static const char usage[] =
    "usage: dfbench sweep [-c CONFIG] [--set KEY=VALUE]... [--data FILE]\n"
    "                     [--methods LIST] --grid KEY=V1,V2,... "
    "[--grid ...]\n"
    "                     [--seeds N] [--jobs J] [--shard I/N] [--force]"
    " -o DIR\n"
    "\n"
    "Run `dfbench run` for every cell of a grid: the product of the\n"
    "--grid values (the first --grid varies slowest) times the seed\n"
    "replicates 1..N.  Replicate s adds s - 1 to generator.seed and to\n"
    "model.seed, so replicate 1 is the configuration as given.\n"
    "\n"
    "  -c, --config FILE      INI file read over the built-in defaults\n"
    "  --set SECTION.KEY=VAL  override one key (repeatable)\n"
    "  --data FILE            a Criteo-layout log instead of generated\n"
    "                         worlds\n"
    "  --methods LIST         comma-separated methods, or all (default)\n"
    "  --grid KEY=V1,V2,...   one axis over any config key (repeatable);\n"
    "                         separate values with ';' when they hold\n"
    "                         commas (model.hidden=64,32;128)\n"
    "  --seeds N              replicates per grid point (default 1)\n"
    "  --jobs J               cells run side by side, each in a process\n"
    "                         of its own (default 1); each cell gets\n"
    "                         run.threads / J threads, at least 1;\n"
    "                         results never depend on J\n"
    "  --shard I/N            run only the cells k with k mod N = I,\n"
    "                         I in 0..N-1 (default 0/1: all)\n"
    "  -o, --output DIR       the sweep directory (created if needed)\n"
    "  --force                replace a different sweep already in DIR:\n"
    "                         its finished cells whose configuration is\n"
    "                         unchanged are kept, the cell directories\n"
    "                         this sweep does not name are removed\n"
    "  -h, --help             this text\n"
    "\n"
    "Writes DIR/sweep.ini (the grid, seeds and base configuration),\n"
    "DIR/cells/NAME/ (a run's summary.csv, hourly.csv, config.ini and a\n"
    "done marker written last; NAME as in esdfm.elapsed-15m_seed-2) and\n"
    "DIR/sweep.csv: the grid keys, seed, then summary.csv's columns\n"
    "without seconds, one row per finished cell and method, rebuilt\n"
    "from every finished cell at the end of each run.\n"
    "\n"
    "Rerunning the same command resumes: finished cells are skipped and\n"
    "a cell without its marker, or whose summary.csv does not read back\n"
    "whole, is cleaned and run again.  A different grid, seeds or\n"
    "configuration in an existing DIR is refused (exit 2).\n"
    "\n"
    "Ctrl-C (SIGINT) or SIGTERM stops the sweep cleanly: no new cell\n"
    "starts, the running ones are killed and cleaned, sweep.csv is\n"
    "rebuilt from the finished cells, and the message says how many\n"
    "finished.  Exit status: 0, 1 when a cell fails at run time, 2 on\n"
    "bad usage, config or data, 130 after SIGINT and 143 after SIGTERM\n"
    "(128 + the signal, as a shell reports it).\n"
    "\n"
    "Shards may share DIR (a shared file system): each runs its cells\n"
    "and rebuilds sweep.csv from all finished ones under a lock on\n"
    "DIR/sweep.lock (fcntl), so the last to end leaves the complete\n"
    "table.\n"
    "\n"
    "On a cluster, a Slurm job array (one task per shard):\n"
    "  #SBATCH --array=0-7\n"
    "  dfbench sweep -c exp.ini --grid esdfm.elapsed=5m,15m,1h,4h \\\n"
    "    --seeds 5 --shard $SLURM_ARRAY_TASK_ID/8 -o /shared/sweep\n"
    "GNU parallel over ssh, one shard per host of hosts.txt:\n"
    "  seq 0 7 | parallel --sshloginfile hosts.txt --jobs 1 \\\n"
    "    dfbench sweep -c exp.ini --grid esdfm.elapsed=5m,15m,1h,4h \\\n"
    "    --seeds 5 --shard {}/8 -o /shared/sweep\n"
    "Then: dfbench table /shared/sweep\n";

/* The signal that interrupts the sweep, or 0.  The handler only sets
 * it (a sig_atomic_t store is async-signal-safe); the sweep's loop
 * reads it between its steps and does the work. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
  interrupted = sig;
}

/* SIGINT and SIGTERM set the flag, without SA_RESTART so that the
 * sweep's sleep wakes at once; old receives the previous handlers. */
static void catch_signals(struct sigaction *old)
{
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old[0]);
  sigaction(SIGTERM, &sa, &old[1]);
}

typedef struct sweep_args {
  const char *config, *output, *data, *methods, *seeds, *jobs, *shard;
  char *sets[256];
  const char *grids[SWEEP_MAX_AXES + 1];
  int n_sets, n_grids, force;
} sweep_args;

static int parse_args(int argc, char **argv, sweep_args *a)
{
  const char *v;
  for (int i = 1; i < argc;) {
    int m = 0;
    if (cli_opt_flag(argv, &i, "--help", "-h")) {
      fputs(usage, stdout);
      return 0;
    } else if (cli_opt_flag(argv, &i, "--force", NULL)) {
      a->force = 1;
    } else if ((m = cli_opt_value("sweep", argc, argv, &i, "--config", "-c",
                                  &a->config))) {
    } else if ((m = cli_opt_value("sweep", argc, argv, &i, "--output", "-o",
                                  &a->output))) {
    } else if ((m = cli_opt_value("sweep", argc, argv, &i, "--data", NULL,
                                  &a->data))) {
    } else if ((m = cli_opt_value("sweep", argc, argv, &i, "--methods", NULL,
                                  &a->methods))) {
    } else if ((m = cli_opt_value("sweep", argc, argv, &i, "--seeds", NULL,
                                  &a->seeds))) {
    } else if ((m = cli_opt_value("sweep", argc, argv, &i, "--jobs", "-j",
                                  &a->jobs))) {
    } else if ((m = cli_opt_value("sweep", argc, argv, &i, "--shard", NULL,
                                  &a->shard))) {
    } else if ((m = cli_opt_value("sweep", argc, argv, &i, "--grid", NULL,
                                  &v)) == 1) {
      if (a->n_grids == SWEEP_MAX_AXES)
        return cli_usage_error("sweep", "more than %d --grid options",
                               SWEEP_MAX_AXES);
      a->grids[a->n_grids++] = v;
    } else if (m == 0 && (m = cli_opt_value("sweep", argc, argv, &i, "--set",
                                            NULL, &v)) == 1) {
      if (a->n_sets >= 250)
        return cli_usage_error("sweep", "too many --set options");
      a->sets[a->n_sets++] = (char *)v;
    } else if (m == 0) {
      return cli_unknown_arg("sweep", argv[i]);
    }
    if (m < 0)
      return 2;
  }
  if (!a->output)
    return cli_usage_error("sweep", "-o DIR is required");
  if (strlen(a->output) > 3000)
    return cli_usage_error("sweep", "-o DIR: path too long");
  return -1;
}

/* A whole number in [lo, hi] for option name; -1 after a usage error. */
static int count_arg(const char *name, const char *text, int lo, int hi)
{
  if (!text)
    return lo;
  char *end;
  long v = strtol(text, &end, 10);
  if (end == text || *end || v < lo || v > hi) {
    cli_usage_error("sweep", "%s %s: expected a whole number in [%d, %d]",
                    name, text, lo, hi);
    return -1;
  }
  return (int)v;
}

int cmd_sweep(int argc, char **argv)
{
  sweep_args a = {0};
  int status = parse_args(argc, argv, &a);
  if (status >= 0)
    return status;
  sweep_options opt = {.dir = a.output, .force = a.force, .shards = 1};
  int seeds = count_arg("--seeds", a.seeds, 1, 100000);
  opt.jobs = count_arg("--jobs", a.jobs, 1, 64);
  if (seeds < 0 || opt.jobs < 0)
    return 2;
  if (a.shard && sweep_parse_shard(a.shard, &opt.shard, &opt.shards))
    return cli_usage_error("sweep", "%s", df_errmsg());

  /* The base configuration, the grid, every method name checked. */
  int rc = DF_ENOMEM;
  df_config *cfg = malloc(sizeof *cfg);
  sweep_spec *spec = calloc(1, sizeof *spec);
  if (cfg && spec)
    rc = cli_load_run_config(cfg, a.config, a.sets, a.n_sets, a.data,
                             a.methods);
  else
    df_fail(rc, "out of memory");
  if (!rc && a.n_grids == 0 && seeds == 1)
    log_warn("no --grid and one seed: the sweep has a single cell");
  for (int i = 0; i < a.n_grids && !rc; i++)
    rc = sweep_add_grid(spec, cfg, a.grids[i]);
  spec->seeds = seeds;
  const char *names[32];
  int n_names;
  if (!rc)
    rc = runner_select(cfg, names, 32, &n_names);

  /* Run, interruptible from here on: before this point nothing is on
   * disk, and the default action of the signals is right. */
  sweep_stats st = {0};
  struct sigaction old[2];
  opt.stop = &interrupted;
  catch_signals(old);
  if (!rc)
    rc = sweep_run(spec, cfg, &opt, &st);
  sigaction(SIGINT, &old[0], NULL);
  sigaction(SIGTERM, &old[1], NULL);
  if (!rc && !st.interrupted)
    log_info("sweep: ran %zu cells, skipped %zu finished; %s/sweep.csv "
             "has %zu rows (try 'dfbench table %s')",
             st.ran, st.skipped, a.output, st.rows, a.output);
  free(cfg);
  free(spec);
  if (!rc && st.interrupted) {
    char shard[64] = "";
    if (opt.shards > 1)
      snprintf(shard, sizeof shard, " of shard %d/%d", opt.shard, opt.shards);
    log_error("interrupted: %zu of %zu cells%s finished; rerun the same "
              "command to resume",
              st.skipped + st.ran, st.mine, shard);
    /* 128 + the signal, as a shell reports a process it ended. */
    return 128 + st.interrupted;
  }
  if (!rc)
    return 0;
  status = cli_fail(rc);
  if (*st.hint)
    log_hint("%s", st.hint);
  return status;
}
