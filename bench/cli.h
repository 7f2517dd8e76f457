/* cli.h: what every dfbench command shares: option helpers, the config
 * loader, usage errors, directories and CSV fields of result files.
 *
 * Each command is `int cmd_NAME(int argc, char **argv)` returning the
 * process exit status (0, 1 runtime failure, 2 bad usage, config or
 * data); argv[0] is the command's name.  main has taken the global
 * options out of argv first (-q, --quiet, --version), turns -h or
 * --help anywhere into argv = {NAME, "--help"}, and ends the command's
 * help with a line on the global options, so no command parses or
 * documents them itself. */
#ifndef DFB_CLI_H
#define DFB_CLI_H

#include <stdio.h>

#include "sim/config.h"
#include "sim/outfile.h"

/* Print "dfbench: error: CMD: MESSAGE" and "try 'dfbench CMD --help'";
 * return 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The usage error for an argument that no option of cmd matched:
 * "unknown option 'ARG'" when ARG starts with '-' (and is not "-"),
 * else "unexpected argument 'ARG'"; returns 2.  Every command words
 * the two cases so. */
int cli_unknown_arg(const char *cmd, const char *arg);

/* Print df_errmsg() as an error and return the exit status of code. */
int cli_fail(int code);

/* Defaults, then the file (if any), then each --set in order, then the
 * cross-key checks.  Returns 0 or a DF_E* code with the message set. */
int cli_load_config(df_config *cfg, const char *path, char *const *sets,
                    int n_sets);
/* cli_load_config for run and sweep, whose --data FILE and --methods
 * LIST are short for --set data.source=file --set data.path=FILE and
 * --set run.methods=LIST (applied after the other --set options; sets
 * needs room for three more entries); later messages about those keys
 * name the option the user typed.  data and methods may be NULL. */
int cli_load_run_config(df_config *cfg, const char *path, char **sets,
                        int n_sets, const char *data, const char *methods);
/* cli_load_config without the cross-key checks, for a command that uses
 * only some keys and checks those itself (generate reads no data.*):
 * every value is still checked as it is read. */
int cli_read_config(df_config *cfg, const char *path, char *const *sets,
                    int n_sets);

/* mkdir -p: path and every directory above it, as `run -o DIR` and
 * `generate -o DIR/FILE` create them.  A file in the way is a usage
 * error (DF_EINPUT, "X: exists and is not a directory"); any other
 * failure, such as a permission, a runtime one (DF_EIO). */
int cli_make_dirs(const char *path);

/* Write t as one CSV field: as it is, or quoted with its quotes doubled
 * when it holds a comma, a quote or a newline (RFC 4180). */
void cli_csv_field(FILE *f, const char *t);

/* Options: a tiny parser shared by the commands.  cli_opt_value
 * matches "--name VALUE", "--name=VALUE" and, when short is given,
 * "-s VALUE" at argv[*i]; it advances *i past what it used and stores
 * the value.  Returns 1 on a match, 0 on none, -1 when the value is
 * missing (a usage error has then been printed). */
int cli_opt_value(const char *cmd, int argc, char **argv, int *i,
                  const char *name, const char *short_name,
                  const char **value);
/* Matches the flag "--name" (or short) at argv[*i]; advances *i. */
int cli_opt_flag(char **argv, int *i, const char *name,
                 const char *short_name);

/* The commands. */
int cmd_generate(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_table(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
