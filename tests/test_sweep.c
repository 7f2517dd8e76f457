/* test_sweep.c: sweeps (bench/sweep.h): grid expansion in its
 * documented order, cell names, the seed rule, bad grid specs and their
 * messages, shards that cover every cell exactly once, and `dfbench
 * sweep` end to end on tiny worlds: resume after an interruption,
 * shards combining in one directory, --jobs not changing results, a
 * changed configuration refused. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/sweep.h"
#include "sim/log.h"

static sweep_spec *new_spec(void)
{
  sweep_spec *s = calloc(1, sizeof *s);
  assert_non_null(s);
  s->seeds = 1;
  return s;
}

/* ---- grid expansion ---- */

/* Two axes and two seeds: the first axis slowest, the seed fastest; the
 * names and the configurations follow. */
static void test_expansion(void **state)
{
  (void)state;
  df_config base, c;
  cfg_defaults(&base);
  base.gen_seed = 10;
  base.model_seed = 20;
  sweep_spec *s = new_spec();
  assert_int_equal(sweep_add_grid(s, &base, "esdfm.elapsed=5m,1h"), 0);
  assert_int_equal(
      sweep_add_grid(s, &base, "model.learning_rate=0.01, 0.1 ,1"), 0);
  s->seeds = 2;
  assert_int_equal(sweep_check(s), 0);
  assert_int_equal(sweep_cells(s), 2 * 3 * 2);

  static const struct {
    size_t k;
    const char *name;
    double elapsed, lr;
    int seed;
  } cases[] = {
      {0, "esdfm.elapsed-5m_model.learning_rate-0.01_seed-1", 300, 0.01, 1},
      {1, "esdfm.elapsed-5m_model.learning_rate-0.01_seed-2", 300, 0.01, 2},
      {2, "esdfm.elapsed-5m_model.learning_rate-0.1_seed-1", 300, 0.1, 1},
      {5, "esdfm.elapsed-5m_model.learning_rate-1_seed-2", 300, 1, 2},
      {6, "esdfm.elapsed-1h_model.learning_rate-0.01_seed-1", 3600, 0.01, 1},
      {11, "esdfm.elapsed-1h_model.learning_rate-1_seed-2", 3600, 1, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char name[256];
    int idx[SWEEP_MAX_AXES], seed;
    sweep_cell_name(s, cases[i].k, name, sizeof name);
    assert_string_equal(name, cases[i].name);
    sweep_coords(s, cases[i].k, idx, &seed);
    assert_int_equal(seed, cases[i].seed);
    assert_int_equal(sweep_cell_config(s, &base, cases[i].k, &c), 0);
    assert_true(c.esdfm_elapsed == cases[i].elapsed);
    assert_true(c.model_learning_rate == cases[i].lr);
    /* The seed rule: replicate s adds s - 1 to both seeds. */
    assert_int_equal(c.gen_seed, 10 + cases[i].seed - 1);
    assert_int_equal(c.model_seed, 20 + cases[i].seed - 1);
  }

  /* Every name distinct. */
  char names[12][256];
  for (size_t k = 0; k < 12; k++) {
    sweep_cell_name(s, k, names[k], sizeof names[k]);
    for (size_t j = 0; j < k; j++)
      assert_string_not_equal(names[j], names[k]);
  }
  free(s);
}

/* Values with commas split on ';', and unsafe bytes are escaped in the
 * names; no grid gives the seed alone. */
static void test_names(void **state)
{
  (void)state;
  df_config base;
  cfg_defaults(&base);
  sweep_spec *s = new_spec();
  assert_int_equal(sweep_add_grid(s, &base, "model.hidden=64,32;128"), 0);
  char name[256];
  sweep_cell_name(s, 0, name, sizeof name);
  assert_string_equal(name, "model.hidden-64%2C32_seed-1");
  sweep_cell_name(s, 1, name, sizeof name);
  assert_string_equal(name, "model.hidden-128_seed-1");
  char *text;
  assert_int_equal(sweep_spec_text(s, &base, &text), 0);
  assert_non_null(strstr(text, "\ngrid = model.hidden=64,32;128\n"));
  assert_null(strstr(text, "threads ="));
  free(text);

  /* Long values: names stay short and distinct. */
  sweep_spec *l = new_spec();
  char spec[700] = "data.path=";
  for (int v = 0; v < 2; v++) {
    size_t at = strlen(spec);
    memset(spec + at, 'p', 240);
    spec[at + 240] = (char)('a' + v);
    spec[at + 241] = v ? '\0' : ',';
    spec[at + 242] = '\0';
  }
  assert_int_equal(sweep_add_grid(l, &base, spec), 0);
  char n0[256], n1[256];
  sweep_cell_name(l, 0, n0, sizeof n0);
  sweep_cell_name(l, 1, n1, sizeof n1);
  assert_int_equal(strlen(n0), SWEEP_MAX_NAME);
  assert_int_equal(strlen(n1), SWEEP_MAX_NAME);
  assert_true(!strncmp(n0, "data.path-pppp", 14));
  assert_string_not_equal(n0, n1);
  free(l);

  sweep_spec *none = new_spec();
  none->seeds = 3;
  assert_int_equal(sweep_cells(none), 3);
  sweep_cell_name(none, 2, name, sizeof name);
  assert_string_equal(name, "seed-3");
  free(none);
  free(s);
}

/* Bad specs: the message names the key and the valid keys or range. */
static void test_grid_errors(void **state)
{
  (void)state;
  static const struct {
    const char *spec, *want;
  } cases[] = {
      {"esdfm.bogus=1", "unknown key esdfm.bogus; valid keys of [esdfm]: "
                        "elapsed"},
      {"nosuch.key=1", "unknown section [nosuch]; valid sections:"},
      {"esdfm.elapsed=5m,soon", "--grid: esdfm.elapsed: 'soon' is not a "
                                "duration"},
      {"generator.cvr=0.2,2", "--grid: generator.cvr: 2 is out of range; "
                              "valid: [0.001, 0.9]"},
      {"model.type=lr,svm", "choose one of lr|mlp"},
      {"elapsed=5m", "expected KEY=V1,V2,..."},
      {"esdfm.elapsed", "expected KEY=V1,V2,..."},
      {"esdfm.elapsed=", "no value given"},
      {"esdfm.elapsed= ", "no value given"},
      {"esdfm.elapsed=5m,,1h", "--grid esdfm.elapsed=5m,,1h: value 2 is "
                               "empty"},
      {"esdfm.elapsed=5m,1h,", "value 3 is empty"},
      {"esdfm.elapsed=,5m", "value 1 is empty"},
      {"esdfm.elapsed=5m, ,1h", "value 2 is empty"},
      {"model.hidden=64,32;;128", "value 2 is empty"},
      {"esdfm.elapsed=5m,1h,5m", "value '5m' appears twice"},
      {"run.threads=1,2", "run.threads never changes results"},
      {"esdfm.elapsed=15m,1h,900s", "'15m' and '900s' are the same "
                                    "setting"},
  };
  df_config base;
  cfg_defaults(&base);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sweep_spec *s = new_spec();
    int rc = sweep_add_grid(s, &base, cases[i].spec);
    if (rc != DF_EINPUT || !strstr(df_errmsg(), cases[i].want))
      fail_msg("case %zu (%s): rc %d, message '%s'", i, cases[i].spec, rc,
               df_errmsg());
    assert_int_equal(s->n_axes, 0);
    free(s);
  }

  /* Across grids and seeds. */
  sweep_spec *s = new_spec();
  assert_int_equal(sweep_add_grid(s, &base, "esdfm.elapsed=5m"), 0);
  assert_int_equal(sweep_add_grid(s, &base, "esdfm.elapsed=1h"), DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "esdfm.elapsed already has"));
  assert_int_equal(sweep_add_grid(s, &base, "generator.seed=1,2"), 0);
  s->seeds = 2;
  assert_int_equal(sweep_check(s), DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "generator.seed with --seeds 2"));
  free(s);
}

/* ---- shards ---- */

/* For several sizes and shard counts, every cell in exactly one shard,
 * and the shards as even as k mod N makes them. */
static void test_shards(void **state)
{
  (void)state;
  static const size_t sizes[] = {1, 2, 7, 12, 100};
  static const int counts[] = {1, 2, 3, 4, 7, 13};
  for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
    for (size_t b = 0; b < sizeof counts / sizeof counts[0]; b++) {
      int n = counts[b];
      size_t per[13] = {0};
      for (size_t k = 0; k < sizes[a]; k++) {
        int owners = 0;
        for (int i = 0; i < n; i++)
          if (sweep_in_shard(k, i, n)) {
            owners++;
            per[i]++;
          }
        if (owners != 1)
          fail_msg("cell %zu of %zu: %d owners among %d shards", k, sizes[a],
                   owners, n);
      }
      for (int i = 0; i < n; i++)
        assert_true(per[i] == sizes[a] / (size_t)n ||
                    per[i] == sizes[a] / (size_t)n + 1);
    }

  static const struct {
    const char *text;
    int ok, index, count;
    const char *want;
  } cases[] = {
      {"0/1", 1, 0, 1, NULL},
      {"3/4", 1, 3, 4, NULL},
      {"4/4", 0, 0, 0, "I must be in 0..3 (shards are numbered from 0)"},
      {"-1/4", 0, 0, 0, "I must be in 0..3"},
      {"1/0", 0, 0, 0, "N must be a whole number"},
      {"1", 0, 0, 0, "expected I/N"},
      {"a/2", 0, 0, 0, "expected I/N"},
      {"1/2x", 0, 0, 0, "N must be a whole number"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int index = -1, count = -1;
    int rc = sweep_parse_shard(cases[i].text, &index, &count);
    if (cases[i].ok) {
      assert_int_equal(rc, 0);
      assert_int_equal(index, cases[i].index);
      assert_int_equal(count, cases[i].count);
    } else if (rc != DF_EINPUT || !strstr(df_errmsg(), cases[i].want)) {
      fail_msg("case %s: rc %d, message '%s'", cases[i].text, rc,
               df_errmsg());
    }
  }
}

/* ---- the command line ---- */

static char dir[] = "/tmp/dfb_test_sweep_XXXXXX";

static int sh(const char *fmt, ...)
{
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The file's text (caller frees), or NULL. */
static char *slurp(const char *fmt, ...)
{
  char path[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(path, sizeof path, fmt, ap);
  va_end(ap);
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  size_t cap = 1 << 20;
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* A tiny world: a sweep cell takes a fraction of a second. */
static const char tiny[] =
    "--set generator.clicks=20000 --set generator.days=6 "
    "--set stream.pretrain=3d --set model.epochs=1 "
    "--methods pretrain,oracle,vanilla,esdfm";
static const char grid[] = "--grid esdfm.elapsed=15m,1h --seeds 2";

static const char *const cells[4] = {
    "esdfm.elapsed-15m_seed-1", "esdfm.elapsed-15m_seed-2",
    "esdfm.elapsed-1h_seed-1", "esdfm.elapsed-1h_seed-2"};

static int sweep(const char *out, const char *extra)
{
  return sh("'%s' sweep %s %s %s -o %s/%s >/dev/null 2>%s/err.txt",
            DFB_BINARY, tiny, grid, extra, dir, out, dir);
}

static char *err_text(void)
{
  return slurp("%s/err.txt", dir);
}

/* Start `sh -c "exec CMD"` (so the pid is CMD's own), in a process
 * group of its own when group is set, as a shell's job is; the pid. */
static pid_t spawn(int group, const char *fmt, ...)
{
  char cmd[8192], line[8300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  snprintf(line, sizeof line, "exec %s", cmd);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (group)
      setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", line, (char *)NULL);
    _exit(127);
  }
  if (group)
    setpgid(pid, pid); /* either side may win the race; both agree */
  return pid;
}

/* The exit status of pid, or -N when a signal N killed it (unlike a
 * shell's 128 + N, never mistaken for an exit status). */
static int reap(pid_t pid)
{
  int st;
  while (waitpid(pid, &st, 0) < 0)
    assert_int_equal(errno, EINTR);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* Inode and mtime of a cell's marker: a rerun cell gets a new one. */
static void marker_id(const char *run, const char *cell, ino_t *ino,
                      struct timespec *mtime)
{
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s/cells/%s/done", dir, run, cell);
  assert_int_equal(stat(path, &st), 0);
  *ino = st.st_ino;
  *mtime = st.st_mtim;
}

/* The reference: one uninterrupted run on two jobs.  Its sweep.csv has
 * every cell and method, and one thread gives it byte for byte. */
static void test_cli_jobs(void **state)
{
  (void)state;
  assert_int_equal(sweep("a", "--jobs 2"), 0);
  char *a = slurp("%s/a/sweep.csv", dir);
  assert_non_null(a);
  static const char head[] =
      "esdfm.elapsed,seed,method,auc,pr_auc,nll,r_auc,r_pr_auc,r_nll,"
      "ri_auc,ri_pr_auc,ri_nll,test_clicks,train_events\n15m,1,pretrain,";
  assert_true(!strncmp(a, head, strlen(head)));
  size_t lines = 0;
  for (char *p = a; *p; p++)
    lines += *p == '\n';
  assert_int_equal(lines, 1 + 4 * 5); /* 4 methods and bayes a cell */
  assert_non_null(strstr(a, "\n1h,2,esdfm,"));
  for (int i = 0; i < 4; i++) {
    char *done = slurp("%s/a/cells/%s/done", dir, cells[i]);
    assert_non_null(done);
    free(done);
  }

  assert_int_equal(sweep("b", "--jobs 1"), 0);
  char *b = slurp("%s/b/sweep.csv", dir);
  assert_non_null(b);
  assert_string_equal(a, b);
  free(a);
  free(b);
}

/* An interrupted sweep: one cell lost its marker, one was killed while
 * writing (no marker, a truncated summary, a temporary left behind).
 * The rerun runs those two only and ends with the reference table. */
static void test_cli_resume(void **state)
{
  (void)state;
  assert_int_equal(sh("cp -r %s/a %s/r", dir, dir), 0);
  assert_int_equal(sh("rm %s/r/cells/%s/done", dir, cells[1]), 0);
  assert_int_equal(sh("rm %s/r/cells/%s/done && printf 'method,auc\\n' "
                      ">%s/r/cells/%s/summary.csv && touch "
                      "%s/r/cells/%s/hourly.csv.tmpAbC123 && rm "
                      "%s/r/sweep.csv",
                      dir, cells[2], dir, cells[2], dir, cells[2], dir),
                   0);
  ino_t ino[4];
  struct timespec mt[4];
  marker_id("r", cells[0], &ino[0], &mt[0]);
  marker_id("r", cells[3], &ino[3], &mt[3]);

  assert_int_equal(sweep("r", "--jobs 2"), 0);
  char *err = err_text();
  assert_non_null(strstr(err, "2 already finished, 2 to run"));
  free(err);
  for (int i = 0; i < 4; i++) {
    ino_t now;
    struct timespec t;
    marker_id("r", cells[i], &now, &t);
    if (i == 0 || i == 3)
      assert_true(now == ino[i] && t.tv_sec == mt[i].tv_sec &&
                  t.tv_nsec == mt[i].tv_nsec);
  }
  assert_int_equal(
      sh("test ! -e %s/r/cells/%s/hourly.csv.tmpAbC123", dir, cells[2]), 0);
  char *a = slurp("%s/a/sweep.csv", dir), *r = slurp("%s/r/sweep.csv", dir);
  assert_non_null(r);
  assert_string_equal(a, r);

  /* A third run has nothing left to do. */
  assert_int_equal(sweep("r", ""), 0);
  err = err_text();
  assert_non_null(strstr(err, "4 already finished, 0 to run"));
  free(err);
  free(a);
  free(r);
}

/* A finished cell whose summary.csv no longer reads back (a foreign
 * header, a line cut short) is run again by its shard with a warning
 * naming it; another shard cannot run it, so it stops with the cell
 * named and a hint to rerun the owner. */
static void test_cli_corrupt(void **state)
{
  (void)state;
  assert_int_equal(sh("cp -r %s/a %s/c", dir, dir), 0);
  assert_int_equal(
      sh("printf 'garbage\n' >%s/c/cells/%s/summary.csv", dir, cells[1]), 0);
  assert_int_equal(sh("head -c -5 %s/a/cells/%s/summary.csv "
                      ">%s/c/cells/%s/summary.csv",
                      dir, cells[2], dir, cells[2]),
                   0);
  assert_int_equal(sweep("c", ""), 0);
  char *err = err_text();
  static const char *const want[] = {
      "cell esdfm.elapsed-15m_seed-2 is marked done but ",
      "esdfm.elapsed-15m_seed-2/summary.csv:1: not summary.csv's header; "
      "running it again",
      "esdfm.elapsed-1h_seed-1/summary.csv:6: the last line is cut short",
      "2 already finished, 2 to run",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!strstr(err, want[i]))
      fail_msg("'%s' missing from '%s'", want[i], err);
  free(err);
  char *a = slurp("%s/a/sweep.csv", dir), *c = slurp("%s/c/sweep.csv", dir);
  assert_string_equal(a, c);
  free(c);

  /* Cell 0 belongs to shard 0/2: shard 1/2 names it and stops. */
  assert_int_equal(
      sh("printf 'garbage\n' >%s/c/cells/%s/summary.csv", dir, cells[0]), 0);
  assert_int_equal(sweep("c", "--shard 1/2"), 2);
  err = err_text();
  if (!strstr(err, "esdfm.elapsed-15m_seed-1/summary.csv:1: not "
                   "summary.csv's header") ||
      !strstr(err, "hint: cell esdfm.elapsed-15m_seed-1 belongs to shard "
                   "0/2: rerun that shard's command"))
    fail_msg("shard 1/2: '%s'", err);
  free(err);
  assert_int_equal(sweep("c", "--shard 0/2"), 0);
  c = slurp("%s/c/sweep.csv", dir);
  assert_string_equal(a, c);
  free(a);
  free(c);
}

/* Cells of run with a done marker, and files under its cells/. */
static void count_cells(const char *run, int *done, int *files)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/cells", dir, run);
  *done = *files = 0;
  DIR *d = opendir(path);
  if (!d)
    return;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.')
      continue;
    char cell[1400];
    snprintf(cell, sizeof cell, "%s/%s", path, e->d_name);
    DIR *c = opendir(cell);
    assert_non_null(c);
    for (struct dirent *f; (f = readdir(c));) {
      *files += f->d_name[0] != '.';
      *done += !strcmp(f->d_name, "done");
    }
    closedir(c);
  }
  closedir(d);
}

/* SIGINT to the whole job, as a terminal's Ctrl-C sends it, or SIGTERM
 * to the sweep alone, as `kill` and batch systems do, once the first
 * cell is finished: no new cell starts, the running one is killed and
 * cleaned, sweep.csv holds the finished cells, the exit status is 128 +
 * the signal and the message says how to resume; the rerun resumes and
 * ends with the reference table. */
static void test_cli_interrupt(void **state)
{
  (void)state;
  static const struct {
    const char *run;
    int group, sig, status;
  } cases[] = {
      {"i", 1, SIGINT, 130},
      {"t", 0, SIGTERM, 143},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pid_t pid = spawn(cases[i].group,
                      "'%s' sweep %s %s -o %s/%s >/dev/null 2>%s/err.txt",
                      DFB_BINARY, tiny, grid, dir, cases[i].run, dir);
    int done = 0, files = 0;
    for (int wait = 0; wait < 60000 && !done; wait += 5) {
      struct timespec pause = {0, 5 * 1000 * 1000};
      nanosleep(&pause, NULL);
      count_cells(cases[i].run, &done, &files);
    }
    assert_true(done > 0);
    assert_int_equal(kill(cases[i].group ? -pid : pid, cases[i].sig), 0);
    int st = reap(pid);
    char *err = err_text();
    int said = -1;
    const char *at = strstr(err, "error: interrupted: ");
    if (st != cases[i].status || !at ||
        sscanf(at, "error: interrupted: %d of 4 cells finished", &said) !=
            1 ||
        !strstr(at, "finished; rerun the same command to resume"))
      fail_msg("%s: exit %d, message '%s'", cases[i].run, st, err);
    free(err);

    /* What the message says is on disk, whole: four files a finished
     * cell, none left by the killed one, a row per method of each. */
    count_cells(cases[i].run, &done, &files);
    assert_int_equal(said, done);
    assert_true(done < 4);
    assert_int_equal(files, 4 * done);
    char *csv = slurp("%s/%s/sweep.csv", dir, cases[i].run);
    assert_non_null(csv);
    int lines = 0;
    for (char *p = csv; *p; p++)
      lines += *p == '\n';
    assert_int_equal(lines, 1 + 5 * done);
    free(csv);

    assert_int_equal(sweep(cases[i].run, ""), 0);
    err = err_text();
    char want[64];
    snprintf(want, sizeof want, "%d already finished, %d to run", done,
             4 - done);
    assert_non_null(strstr(err, want));
    free(err);
    char *a = slurp("%s/a/sweep.csv", dir);
    csv = slurp("%s/%s/sweep.csv", dir, cases[i].run);
    assert_string_equal(a, csv);
    free(a);
    free(csv);
  }
}

/* Two shards into one directory combine without a merge step. */
static void test_cli_shards(void **state)
{
  (void)state;
  assert_int_equal(sweep("s", "--shard 1/2"), 0);
  char *half = slurp("%s/s/sweep.csv", dir);
  assert_non_null(half);
  assert_null(strstr(half, "\n15m,1,"));
  assert_non_null(strstr(half, "\n15m,2,"));
  assert_int_equal(sweep("s", "--shard 0/2"), 0);
  char *a = slurp("%s/a/sweep.csv", dir), *s = slurp("%s/s/sweep.csv", dir);
  assert_string_equal(a, s);

  /* A shard past the 4 cells runs nothing, says so, and leaves the
   * table as it was. */
  assert_int_equal(sweep("s", "--shard 5/8"), 0);
  char *err = err_text();
  assert_non_null(strstr(err, "warning: --shard 5/8: the sweep has 4 "
                              "cells, none of them k with k mod 8 = 5"));
  free(err);
  free(s);
  s = slurp("%s/s/sweep.csv", dir);
  assert_string_equal(a, s);
  free(half);
  free(a);
  free(s);
}

/* Rebuilding sweep.csv takes DIR/sweep.lock: while another process
 * holds it, a shard with nothing left to run waits and writes nothing;
 * once it is released the shard writes the whole table. */
static void test_cli_lock(void **state)
{
  (void)state;
  assert_int_equal(sh("cp -r %s/a %s/l && rm %s/l/sweep.csv", dir, dir, dir),
                   0);
  char path[1024];
  snprintf(path, sizeof path, "%s/l/sweep.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT, 0666);
  assert_true(fd >= 0);
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  assert_int_equal(fcntl(fd, F_SETLK, &l), 0);

  pid_t pid = spawn(0, "'%s' sweep %s %s -o %s/l >/dev/null 2>%s/err.txt",
                    DFB_BINARY, tiny, grid, dir, dir);
  struct timespec pause = {0, 800 * 1000 * 1000};
  nanosleep(&pause, NULL);
  int st;
  assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
  assert_int_equal(sh("test ! -e %s/l/sweep.csv", dir), 0);

  close(fd); /* releases the lock */
  assert_int_equal(reap(pid), 0);
  char *a = slurp("%s/a/sweep.csv", dir), *b = slurp("%s/l/sweep.csv", dir);
  assert_non_null(b);
  assert_string_equal(a, b);
  free(a);
  free(b);
}

/* A different configuration, grid or seeds in the directory is refused
 * with exit 2 naming the difference; --force takes the new sweep and
 * keeps the cells it shares with the old one. */
static void test_cli_refuse(void **state)
{
  (void)state;
  assert_int_equal(sh("cp -r %s/a %s/f", dir, dir), 0);
  static const struct {
    const char *extra, *want;
  } cases[] = {
      {"--set generator.cvr=0.3", "'generator.cvr = 0.227' where this "
                                  "command has 'generator.cvr = 0.3'"},
      {"--seeds 3", "'sweep.seeds = 2' where this command has "
                    "'sweep.seeds = 3'"},
      {"--grid model.l2=0,1e-4", "this directory holds a different sweep"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = sweep("f", cases[i].extra);
    char *err = err_text();
    if (st != 2 || !strstr(err, cases[i].want) ||
        !strstr(err, "hint: choose another -o DIR, or pass --force"))
      fail_msg("case %zu: exit %d, message '%s'", i, st, err);
    free(err);
  }

  /* A run directory is not a sweep. */
  assert_int_equal(
      sh("mkdir -p %s/run && touch %s/run/summary.csv", dir, dir), 0);
  assert_int_equal(sweep("run", ""), 2);
  char *err = err_text();
  assert_non_null(strstr(err, "holds the results of a run"));
  free(err);

  /* --force with one more grid value: the four cells are kept. */
  assert_int_equal(sh("'%s' sweep %s --grid esdfm.elapsed=15m,1h,4h "
                      "--seeds 2 --force -o %s/f >/dev/null 2>%s/err.txt",
                      DFB_BINARY, tiny, dir, dir),
                   0);
  err = err_text();
  assert_non_null(strstr(err, "6 cells, 6 in shard 0/1, 4 already "
                              "finished, 2 to run"));
  free(err);
  char *f = slurp("%s/f/sweep.csv", dir);
  assert_non_null(strstr(f, "\n4h,2,esdfm,"));
  free(f);

  /* --force with a smaller grid: the cells it does not name go, but a
   * directory that is not a cell, or a cell with a file of the user's
   * in it, keeps what is not the sweep's. */
  assert_int_equal(sh("mkdir %s/f/cells/notes && touch "
                      "%s/f/cells/notes/x.txt %s/f/cells/%s/mine.txt",
                      dir, dir, dir, "esdfm.elapsed-4h_seed-2"),
                   0);
  assert_int_equal(sh("'%s' sweep %s --grid esdfm.elapsed=1h,4h "
                      "--force -o %s/f >/dev/null 2>%s/err.txt",
                      DFB_BINARY, tiny, dir, dir),
                   0);
  err = err_text();
  static const char *const want[] = {
      "cells/esdfm.elapsed-4h_seed-2: kept: it holds files a sweep did "
      "not write",
      "--force: removed 3 cell directories that this sweep does not name",
      "2 cells, 2 in shard 0/1, 2 already finished, 0 to run",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!strstr(err, want[i]))
      fail_msg("'%s' missing from '%s'", want[i], err);
  free(err);
  static const struct {
    const char *path;
    int exists;
  } left[] = {
      {"esdfm.elapsed-1h_seed-1/done", 1},
      {"esdfm.elapsed-4h_seed-1/done", 1},
      {"esdfm.elapsed-15m_seed-1", 0},
      {"esdfm.elapsed-15m_seed-2", 0},
      {"esdfm.elapsed-1h_seed-2", 0},
      {"esdfm.elapsed-4h_seed-2/mine.txt", 1},
      {"esdfm.elapsed-4h_seed-2/done", 0},
      {"esdfm.elapsed-4h_seed-2/summary.csv", 0},
      {"notes/x.txt", 1},
  };
  for (size_t i = 0; i < sizeof left / sizeof left[0]; i++)
    if (sh("test -e %s/f/cells/%s", dir, left[i].path) != !left[i].exists)
      fail_msg("cells/%s should %sexist", left[i].path,
               left[i].exists ? "" : "not ");
}

/* Usage errors: one line and "try --help", exit 2; --help on stdout. */
static void test_cli_usage(void **state)
{
  (void)state;
  static const struct {
    const char *args, *want;
  } cases[] = {
      {"--grid esdfm.elapsed=5m", "-o DIR is required"},
      {"-o x --shard 2/2", "--shard 2/2: I must be in 0..1"},
      {"-o x --seeds 0", "--seeds 0: expected a whole number in [1,"},
      {"-o x --jobs two", "--jobs two: expected a whole number"},
      {"-o x --frobnicate", "unknown option '--frobnicate'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int st = sh("cd %s && '%s' sweep %s >/dev/null 2>%s/err.txt", dir,
                DFB_BINARY, cases[i].args, dir);
    char *err = err_text();
    if (st != 2 || !strstr(err, cases[i].want) ||
        !strstr(err, "try 'dfbench sweep --help'"))
      fail_msg("case %zu: exit %d, message '%s'", i, st, err);
    free(err);
  }

  /* A bad grid is a config error naming the key and the value, before
   * any work. */
  static const struct {
    const char *grid, *want;
  } bad[] = {
      {"esdfm.elapsed=5m,later", "esdfm.elapsed: 'later' is not a duration"},
      {"esdfm.elapsed=5m,,1h", "--grid esdfm.elapsed=5m,,1h: value 2 is "
                               "empty"},
  };
  int st;
  char *err;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    st = sh("'%s' sweep --grid %s -o %s/g >/dev/null 2>%s/err.txt",
            DFB_BINARY, bad[i].grid, dir, dir);
    err = err_text();
    if (st != 2 || !strstr(err, bad[i].want))
      fail_msg("grid %s: exit %d, message '%s'", bad[i].grid, st, err);
    free(err);
    assert_int_equal(sh("test ! -e %s/g/sweep.ini", dir), 0);
  }

  /* Every cell's methods are known before any cell runs, and the
   * message names the option the user typed. */
  static const struct {
    const char *args, *want;
  } methods[] = {
      {"--grid 'run.methods=pretrain;esdfm,bogus'",
       "--grid: run.methods: unknown method 'bogus'"},
      {"--methods esdfm,foo", "--methods: run.methods: unknown method "
                              "'foo'"},
      {"--set run.methods=esdfm,foo", "--set: run.methods: unknown method "
                                      "'foo'"},
  };
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    st = sh("'%s' sweep %s -o %s/g >/dev/null 2>%s/err.txt", DFB_BINARY,
            methods[i].args, dir, dir);
    err = err_text();
    if (st != 2 || !strstr(err, methods[i].want))
      fail_msg("%s: exit %d, message '%s'", methods[i].args, st, err);
    free(err);
    assert_int_equal(sh("test ! -e %s/g/sweep.ini", dir), 0);
  }

  /* A cell that fails in its process: its message comes up to the
   * sweep, named by the cell, and no new cell starts. */
  st = sh("'%s' sweep --data %s/missing.tsv --grid esdfm.elapsed=5m,1h "
          "-o %s/m >/dev/null 2>%s/err.txt",
          DFB_BINARY, dir, dir, dir);
  err = err_text();
  if (st != 2 || !strstr(err, "error: cell esdfm.elapsed-5m_seed-1: ") ||
      !strstr(err, "/missing.tsv: no such file"))
    fail_msg("missing data: exit %d, message '%s'", st, err);
  free(err);
  assert_int_equal(sh("test ! -e %s/m/cells/esdfm.elapsed-1h_seed-1", dir),
                   0);

  assert_int_equal(sh("'%s' sweep --help >%s/out.txt", DFB_BINARY, dir), 0);
  char *out = slurp("%s/out.txt", dir);
  assert_non_null(strstr(out, "usage: dfbench sweep"));
  assert_non_null(strstr(out, "SLURM_ARRAY_TASK_ID"));
  free(out);
}

static int setup(void **state)
{
  (void)state;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  return sh("rm -rf '%s'", dir);
}

int main(void)
{
  log_set_level(LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expansion),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_grid_errors),
      cmocka_unit_test(test_shards),
      cmocka_unit_test(test_cli_jobs),
      cmocka_unit_test(test_cli_resume),
      cmocka_unit_test(test_cli_corrupt),
      cmocka_unit_test(test_cli_shards),
      cmocka_unit_test(test_cli_lock),
      cmocka_unit_test(test_cli_interrupt),
      cmocka_unit_test(test_cli_refuse),
      cmocka_unit_test(test_cli_usage),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
