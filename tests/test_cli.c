/* test_cli.c: what every dfbench command shares (bench/main.c and
 * bench/cli.c), run as the built binary: the global options before or
 * after the command's name, one wording for an unknown option, and
 * the global line that ends each command's --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char g_dir[] = "/tmp/test_cli_XXXXXX";

static const char *const commands[] = {"generate", "inspect", "run",
                                       "score",    "sweep",   "table",
                                       "plot",     "config"};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const char global_line[] =
    "\n-q, --quiet (errors only on stderr) and --version work with every "
    "command.\n";

/* The whole of a small file ("" when it is missing). */
static void slurp(const char *name, char *buf, size_t size)
{
  char path[300];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f)
    return;
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

typedef struct run_result {
  int status;
  char out[8192], err[2048];
} run_result;

/* "dfbench ARGS" in the test directory, stdout and stderr caught. */
static void run(run_result *r, const char *args)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >out.txt 2>err.txt", g_dir,
           DFB_BINARY, args);
  int st = system(cmd);
  r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  slurp("out.txt", r->out, sizeof r->out);
  slurp("err.txt", r->err, sizeof r->err);
}

/* Each command: an unknown option in the same words, with or without
 * -q before it; -q is never itself taken for an unknown option. */
static void test_unknown_option(void **state)
{
  (void)state;
  static const char *const forms[] = {"%s --bogus", "%s -q --bogus",
                                      "%s --bogus --quiet", "-q %s --bogus"};
  for (size_t c = 0; c < N_COMMANDS; c++) {
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
      char args[64], want[256];
      snprintf(args, sizeof args, forms[f], commands[c]);
      snprintf(want, sizeof want,
               "dfbench: error: %s: unknown option '--bogus'\n"
               "try 'dfbench %s --help'\n",
               commands[c], commands[c]);
      run_result r;
      run(&r, args);
      if (r.status != 2 || strcmp(r.err, want))
        fail_msg("'%s': status %d, stderr '%s'", args, r.status, r.err);
    }
  }
}

/* Each command's --help, wherever it comes, is the command's text and
 * then the global line, on stdout with exit 0; --version likewise. */
static void test_help_and_version(void **state)
{
  (void)state;
  static const char *const forms[] = {"%s --help", "%s -h",
                                      "%s --bogus x --help", "-q %s -h"};
  for (size_t c = 0; c < N_COMMANDS; c++) {
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
      char args[64], usage[64];
      snprintf(args, sizeof args, forms[f], commands[c]);
      snprintf(usage, sizeof usage, "usage: dfbench %s", commands[c]);
      run_result r;
      run(&r, args);
      size_t n = strlen(r.out), g = strlen(global_line);
      if (r.status != 0 || strncmp(r.out, usage, strlen(usage)) || n < g ||
          strcmp(r.out + n - g, global_line) || r.err[0])
        fail_msg("'%s': status %d, stdout '%s', stderr '%s'", args, r.status,
                 r.out, r.err);
    }
    char args[64];
    snprintf(args, sizeof args, "%s --version", commands[c]);
    run_result r;
    run(&r, args);
    assert_int_equal(r.status, 0);
    assert_memory_equal(r.out, "dfbench ", 8);
  }
}

/* --quiet after the command silences info and warnings as it does
 * before it; results on stdout are untouched. */
static void test_quiet_anywhere(void **state)
{
  (void)state;
  static const struct {
    const char *args;
    const char *out; /* a substring of stdout, or "" */
  } cases[] = {
      {"generate --quiet --set generator.clicks=500 --set "
       "data.source=file -o w1.tsv",
       ""},
      {"generate --set generator.clicks=500 -o w2.tsv -q", ""},
      {"-q generate --set generator.clicks=500 -o w3.tsv", ""},
      {"inspect w1.tsv -q", "clicks       500\n"},
      {"config --set generator.seed=7 --quiet", "seed = 7\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    run_result r;
    run(&r, cases[i].args);
    if (r.status != 0 || r.err[0] || !strstr(r.out, cases[i].out))
      fail_msg("'%s': status %d, stdout '%.200s', stderr '%s'", cases[i].args,
               r.status, r.out, r.err);
  }

  /* Without it the same generate speaks. */
  run_result r;
  run(&r, "generate --set generator.clicks=500 -o w4.tsv");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.err, "info: wrote w4.tsv"));
}

static int setup(void **state)
{
  (void)state;
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  return system(cmd) ? -1 : 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unknown_option),
      cmocka_unit_test(test_help_and_version),
      cmocka_unit_test(test_quiet_anywhere),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
