/* cmd_config.c: `dfbench config`: the effective configuration, as INI
 * with every key documented, ready to save and edit. */
#include <stdio.h>
#include <string.h>

#include "bench/cli.h"
#include "sim/log.h"

static const char usage[] =
    "usage: dfbench config [-c CONFIG] [--set KEY=VALUE]...\n"
    "\n"
    "Print the effective configuration: the defaults, overridden by\n"
    "CONFIG and then by each --set, every key with its documentation,\n"
    "unit and default.  The output is itself a valid CONFIG.\n"
    "\n"
    "  -c, --config FILE      INI file to read over the defaults\n"
    "  --set SECTION.KEY=VAL  override one key (repeatable)\n"
    "  -h, --help             this text\n";

int cmd_config(int argc, char **argv)
{
  const char *path = NULL, *v;
  char *sets[256];
  int n_sets = 0;
  for (int i = 1; i < argc;) {
    int m;
    if (cli_opt_flag(argv, &i, "--help", "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if ((m = cli_opt_value("config", argc, argv, &i, "--config", "-c",
                           &path)))
      ;
    else if ((m = cli_opt_value("config", argc, argv, &i, "--set", NULL,
                                &v)) == 1) {
      if (n_sets == 256)
        return cli_usage_error("config", "too many --set options");
      sets[n_sets++] = (char *)v;
    } else
      return cli_unknown_arg("config", argv[i]);
    if (m < 0)
      return 2;
  }

  df_config cfg;
  int rc = cli_load_config(&cfg, path, sets, n_sets);
  if (rc)
    return cli_fail(rc);
  rc = cfg_write(&cfg, stdout, 1);
  return rc ? cli_fail(rc) : 0;
}
