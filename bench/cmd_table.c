/* cmd_table.c: `dfbench table`: the ES-DFM paper's table from a run or
 * a sweep directory (bench/table.h holds the logic). */
#include <stdio.h>
#include <string.h>

#include "bench/cli.h"
#include "bench/table.h"
#include "sim/log.h"

static const char usage[] =
    "usage: dfbench table DIR [--format md|latex|csv]\n"
    "\n"
    "Print the ES-DFM paper's table of a run directory (summary.csv) or a\n"
    "sweep directory (sweep.csv): methods as rows in the paper's order\n"
    "(pretrain, vanilla, oracle, then naive, dfm, fsiw, fnc, fnw, esdfm,\n"
    "defer, other methods, bayes last); columns AUC, R-AUC, RI-AUC,\n"
    "PR-AUC, R-PR-AUC, RI-PR-AUC, NLL, R-NLL, RI-NLL.  DIR may also be\n"
    "one of those files.\n"
    "\n"
    "  --format md|latex|csv  the layout (default md)\n"
    "  -h, --help             this text\n"
    "\n"
    "Over seeds a metric is \"mean ± sd\" (sample sd, n - 1).  R and RI\n"
    "are computed from the means:\n"
    "  R  = (m - vanilla) / (oracle - vanilla)\n"
    "  RI = (m - pretrain) / (oracle - pretrain)\n"
    "('-' without the references); better is positive for NLL too.  A\n"
    "sweep gives one table per grid point, titled by it.  Where oracle\n"
    "is not better than vanilla (or pretrain) in a metric, R (or RI) of\n"
    "that metric does not rank the methods: a note says so, below the\n"
    "table in md, on stderr for latex and csv.\n"
    "\n"
    "md and latex mark each column's best value in bold and the runner-up\n"
    "(latex: underlined; md: italics) among the methods that do not see\n"
    "the future, all but oracle and bayes; lower NLL is better.  latex\n"
    "uses booktabs.  csv has one row per grid point and method: the grid\n"
    "keys, method, seeds, then per metric its mean, sd, R and RI.\n";

int cmd_table(int argc, char **argv)
{
  const char *dir = NULL, *format = "md";
  for (int i = 1; i < argc;) {
    int m;
    if (cli_opt_flag(argv, &i, "--help", "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if ((m = cli_opt_value("table", argc, argv, &i, "--format", "-f",
                           &format))) {
      if (m < 0)
        return 2;
    } else if (argv[i][0] == '-' || dir) {
      return cli_unknown_arg("table", argv[i]);
    } else {
      dir = argv[i++];
    }
  }
  if (!dir)
    return cli_usage_error("table", "DIR is required");
  if (strcmp(format, "md") && strcmp(format, "latex") &&
      strcmp(format, "csv"))
    return cli_usage_error("table",
                           "--format %s: choose one of md, "
                           "latex, csv",
                           format);

  table_data t;
  int rc = table_read(dir, &t);
  if (rc) {
    int status = cli_fail(rc);
    if (*table_hint())
      log_hint("%s", table_hint());
    return status;
  }
  rc = table_write(&t, format, stdout);
  table_free(&t);
  return rc ? cli_fail(rc) : 0;
}
