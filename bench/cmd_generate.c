/* cmd_generate.c: `dfbench generate`: draw a synthetic click log and
 * write it in the Criteo layout, with its FILE.truth sidecar. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/cli.h"
#include "bench/progress.h"
#include "sim/clicklog.h"
#include "sim/gen.h"
#include "sim/log.h"

static const char usage[] =
    "usage: dfbench generate [-c CONFIG] [--set KEY=VALUE]... -o FILE\n"
    "                        [--threads N] [--force]\n"
    "\n"
    "Draw a synthetic click log from the world the generator.* and delay.*\n"
    "keys describe, and write it to FILE in the Criteo Conversion Logs\n"
    "layout (tab-separated: click time, conversion time or empty, integer\n"
    "features, categorical features), with FILE.truth beside it: one line\n"
    "per click, the true probability of an attributed conversion and the\n"
    "true delay in seconds (-1: none).  The same config and seed give the\n"
    "same bytes, whatever --threads says.  Conversions later than\n"
    "delay.attribution are never drawn, so every delay in FILE is within\n"
    "that window and equals the one in FILE.truth.  No config.ini is\n"
    "written: 'dfbench plot FILE --kind delay' draws the configured law\n"
    "only when given the same -c and --set (or a config.ini beside FILE).\n"
    "\n"
    "With generator.int_features or cat_features other than Criteo's 8\n"
    "and 9, FILE is not in the Criteo layout: inspect needs\n"
    "--int-features and --cat-features (generate prints them), and\n"
    "run --data the same generator.* keys.\n"
    "\n"
    "  -c, --config FILE      INI file read over the built-in defaults\n"
    "  --set SECTION.KEY=VAL  override one key (repeatable), e.g.\n"
    "                         --set generator.clicks=200000\n"
    "  -o, --output FILE      the click log to write (required); its\n"
    "                         directory is created if needed\n"
    "  --threads N            threads drawing clicks (default: 2)\n"
    "  --force                replace FILE and FILE.truth if they exist\n"
    "  -h, --help             this text\n"
    "\n"
    "The data.* keys do not apply: they are checked but not used.\n"
    "'dfbench config' lists every key with its default.\n";

typedef struct gen_args {
  const char *config, *output;
  char *sets[256];
  int n_sets, threads, force;
} gen_args;

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, gen_args *a)
{
  const char *v;
  for (int i = 1; i < argc;) {
    int m = 0;
    if (cli_opt_flag(argv, &i, "--help", "-h")) {
      fputs(usage, stdout);
      return 0;
    } else if (cli_opt_flag(argv, &i, "--force", NULL)) {
      a->force = 1;
    } else if ((m = cli_opt_value("generate", argc, argv, &i, "--config",
                                  "-c", &a->config))) {
    } else if ((m = cli_opt_value("generate", argc, argv, &i, "--output",
                                  "-o", &a->output))) {
    } else if ((m = cli_opt_value("generate", argc, argv, &i, "--set", NULL,
                                  &v)) == 1) {
      if (a->n_sets == 256)
        return cli_usage_error("generate", "too many --set options");
      a->sets[a->n_sets++] = (char *)v;
    } else if ((m = cli_opt_value("generate", argc, argv, &i, "--threads",
                                  NULL, &v)) == 1) {
      char *end;
      long t = strtol(v, &end, 10);
      if (*end || t < 1 || t > 64)
        return cli_usage_error("generate",
                               "--threads '%s': expected 1 to 64", v);
      a->threads = (int)t;
    } else if (m == 0) {
      return cli_unknown_arg("generate", argv[i]);
    }
    if (m < 0)
      return 2;
  }
  if (!a->output)
    return cli_usage_error("generate", "-o FILE is required");
  return -1;
}

/* -o names a file: not a directory, nor a path ending in '/'. */
static int check_output(const char *path)
{
  struct stat st;
  size_t n = strlen(path);
  if (!stat(path, &st) && S_ISDIR(st.st_mode))
    return df_fail(DF_EINPUT,
                   "-o %s: is a directory; name the click log "
                   "to write in it",
                   path);
  if (n && path[n - 1] == '/')
    return df_fail(DF_EINPUT,
                   "-o %s: names a directory; name the click "
                   "log to write in it",
                   path);
  return 0;
}

/* The directory that will hold path, created with its parents as
 * `run -o DIR` creates DIR; nothing to do for a bare file name. */
static int make_parent(const char *path)
{
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path)
    return 0;
  char dir[4096];
  if ((size_t)(slash - path) >= sizeof dir)
    return df_fail(DF_EINPUT, "%.64s...: path too long", path);
  memcpy(dir, path, (size_t)(slash - path));
  dir[slash - path] = '\0';
  return cli_make_dirs(dir);
}

static double seconds_since(const struct timespec *t0)
{
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) +
         1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

int cmd_generate(int argc, char **argv)
{
  gen_args a = {.threads = 2};
  int status = parse_args(argc, argv, &a);
  if (status >= 0)
    return status;

  /* Every value is checked, but the data.* keys say where `run` finds
   * its clicks and do not apply here: a run config that names a file
   * (or lacks its data.path yet) still generates. */
  df_config cfg;
  int rc = cli_read_config(&cfg, a.config, a.sets, a.n_sets);
  if (rc)
    return cli_fail(rc);
  if (!strcmp(cfg.data_source, "file"))
    log_warn("data.source = file does not apply: generate always draws "
             "a synthetic world and reads no data.* key");

  /* Refuse to overwrite before spending minutes drawing. */
  char truth[4200];
  snprintf(truth, sizeof truth, "%s.truth", a.output);
  if ((rc = check_output(a.output)))
    return cli_fail(rc);
  if (!a.force && (!access(a.output, F_OK) || !access(truth, F_OK))) {
    log_error("%s or %s exists; refusing to overwrite it", a.output, truth);
    log_hint("pass --force to replace it, or choose another -o");
    return 2;
  }

  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  gen_world *w = NULL;
  df_clicks *log = NULL;
  rc = gen_world_create(&cfg, &w);
  if (!rc)
    rc = make_parent(a.output);
  if (rc) {
    gen_world_destroy(w);
    return cli_fail(rc);
  }
  /* The world's key numbers as they read back, not rounded by %g. */
  char desc[1024], days[40], cvr[40];
  delay_describe(gen_delay(w), desc, sizeof desc);
  cfg_format_double(cfg.gen_days, days, sizeof days);
  cfg_format_double(cfg.gen_cvr, cvr, sizeof cvr);
  log_info("generate seed=%lld clicks=%lld days=%s cvr=%s delay=%s",
           (long long)cfg.gen_seed, (long long)cfg.gen_clicks, days, cvr,
           desc);

  progress *bar = progress_create("generate");
  rc = gen_draw_clicks(w, a.threads, progress_callback, bar, &log);
  progress_finish(bar);
  if (!rc)
    rc = clicklog_write(log, a.output, a.force);
  if (!rc) {
    size_t conv = 0;
    for (size_t i = 0; i < log->n; i++)
      conv += log->conv_ts[i] != CLICKS_NO_CONVERSION;
    log_info("wrote %s and %s: clicks=%zu conversions=%zu cvr=%.4f "
             "seconds=%.1f",
             a.output, truth, log->n, conv,
             log->n ? (double)conv / (double)log->n : 0.0,
             seconds_since(&t0));
    /* Readers assume Criteo's 8 + 9 features unless told. */
    if (cfg.gen_int_features != 8 || cfg.gen_cat_features != 9)
      log_info("not the Criteo layout: read it with 'dfbench inspect %s "
               "--int-features %d --cat-features %d', and run --data it "
               "with the same generator.int_features and cat_features",
               a.output, cfg.gen_int_features, cfg.gen_cat_features);
  }
  clicks_destroy(log);
  gen_world_destroy(w);
  return rc ? cli_fail(rc) : 0;
}
