/* main.c: the dfbench command line: global options and the table of
 * commands.  Each command parses its own options (bench/cmd_*.c); the
 * global ones are handled here, before or after the command's name, so
 * every command accepts them the same way. */
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "bench/cli.h"
#include "models/blas.h"
#include "sim/log.h"

#ifndef DFB_VERSION
#define DFB_VERSION "dev"
#endif

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"generate", cmd_generate,
     "draw a synthetic click log (Criteo layout) and its truth"},
    {"inspect", cmd_inspect, "summarise a click log: CVR, days, delays"},
    {"run", cmd_run,
     "replay a log through time, train and score every method"},
    {"score", cmd_score, "AUC, PR-AUC, AP and NLL of labelled predictions"},
    {"sweep", cmd_sweep, "a resumable, shardable grid of runs"},
    {"table", cmd_table, "the paper's table from a run or sweep directory"},
    {"plot", cmd_plot, "draw a figure of results with gnuplot"},
    {"config", cmd_config,
     "print the effective configuration, every key documented"},
};

#define N_COMMANDS ((int)(sizeof commands / sizeof commands[0]))

/* The line that ends every command's --help: the global options are
 * documented here once rather than in each command's text. */
static const char global_line[] =
    "\n-q, --quiet (errors only on stderr) and --version work with every "
    "command.\n";

static void print_help(void)
{
  printf("dfbench %s: conversion-rate prediction under delayed feedback\n"
         "\n"
         "usage: dfbench [--quiet] COMMAND [OPTIONS]\n"
         "       dfbench --help | --version | COMMAND --help\n"
         "\n"
         "commands:\n",
         DFB_VERSION);
  for (int i = 0; i < N_COMMANDS; i++)
    printf("  %-10s %s\n", commands[i].name, commands[i].summary);
  printf("\n"
         "global options (before or after COMMAND):\n"
         "  -q, --quiet    print errors only on stderr\n"
         "  -h, --help     this text, or after COMMAND the command's own\n"
         "  --version      the version\n"
         "\n"
         "Results go to files or stdout; diagnostics and progress to "
         "stderr.\n"
         "Exit status: 0 success, 1 runtime failure, 2 bad usage, config "
         "or data.\n"
         "Configuration keys: 'dfbench config' lists them all with their "
         "defaults.\n");
}

/* Take the global options out of a command's arguments (argv[0] is its
 * name), so its parser never sees them: -q sets the log level, and
 * *help and *version say whether -h/--help or --version came.  The
 * arguments are matched as whole words, so an option value spelled like
 * one ("-o -q") must be written joined ("--output=-q").  Returns the
 * new argc. */
static int take_globals(int argc, char **argv, int *help, int *version)
{
  int n = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
      log_set_level(LOG_ERROR);
    else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
      *help = 1;
    else if (!strcmp(a, "--version"))
      *version = 1;
    else
      argv[n++] = argv[i];
  }
  argv[n] = NULL;
  return n;
}

/* Run command c on its arguments.  --help anywhere among them asks for
 * the command's help alone, whatever else they say; the global line
 * follows it. */
static int run_command(const command *c, int argc, char **argv)
{
  int help = 0, version = 0;
  argc = take_globals(argc, argv, &help, &version);
  if (help) {
    static char help_opt[] = "--help";
    char *help_argv[] = {argv[0], help_opt, NULL};
    int rc = c->run(2, help_argv);
    if (!rc)
      fputs(global_line, stdout);
    return rc;
  }
  if (version) {
    printf("dfbench %s\n", DFB_VERSION);
    return 0;
  }
  return c->run(argc, argv);
}

int main(int argc, char **argv)
{
  /* Errors are checked at every GSL call; never let GSL abort. */
  gsl_set_error_handler_off();
  /* Fast kernels, one BLAS thread per learner (models/blas.h). */
  blas_setup(argv);

  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      print_help();
      return 0;
    }
    if (!strcmp(a, "--version")) {
      printf("dfbench %s\n", DFB_VERSION);
      return 0;
    }
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
      log_set_level(LOG_ERROR);
    else
      return cli_usage_error(NULL, "unknown option '%s'", a);
  }
  if (i == argc)
    return cli_usage_error(NULL, "no command given");

  for (int c = 0; c < N_COMMANDS; c++)
    if (!strcmp(argv[i], commands[c].name))
      return run_command(&commands[c], argc - i, argv + i);
  return cli_usage_error(NULL, "unknown command '%s'", argv[i]);
}
