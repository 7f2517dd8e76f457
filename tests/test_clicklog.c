/* test_clicklog.c: the Criteo-layout reader and writer (sim/clicklog.c).
 *
 * Every read is repeated with several block sizes, down to one byte,
 * so that lines, fields and "\r\n" cut by a block boundary are read
 * the same as whole ones.  Bad input is checked with its status and
 * the message the user gets (FILE:LINE: field N (name): problem). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/clicklog_internal.h"
#include "sim/log.h"

static char g_dir[256];

static const size_t g_blocks[] = {1, 2, 3, 5, 16, 4096, CLICKLOG_BLOCK};
#define N_BLOCKS (sizeof g_blocks / sizeof g_blocks[0])

/* ---- helpers ------------------------------------------------------ */

static const char *tpath(char *buf, const char *name)
{
  snprintf(buf, 512, "%s/%s", g_dir, name);
  return buf;
}

static void write_bytes(const char *path, const char *s, size_t n)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(s, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static char *read_bytes(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)len + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
  b[len] = '\0';
  fclose(f);
  *n = (size_t)len;
  return b;
}

/* Files in the test directory whose name contains "tmp". */
static int count_temporaries(void)
{
  DIR *d = opendir(g_dir);
  assert_non_null(d);
  int k = 0;
  for (struct dirent *e; (e = readdir(d));)
    k += strstr(e->d_name, ".tmp") != NULL;
  closedir(d);
  return k;
}

static void assert_logs_equal(const df_clicks *a, const df_clicks *b)
{
  assert_int_equal(a->n, b->n);
  assert_int_equal(a->n_int, b->n_int);
  assert_int_equal(a->n_cat, b->n_cat);
  for (size_t i = 0; i < a->n; i++) {
    assert_int_equal(a->click_ts[i], b->click_ts[i]);
    assert_int_equal(a->conv_ts[i], b->conv_ts[i]);
  }
  size_t ni = a->n * (size_t)a->n_int, nc = a->n * (size_t)a->n_cat;
  for (size_t i = 0; i < ni; i++)
    assert_int_equal(a->ints[i], b->ints[i]);
  for (size_t i = 0; i < nc; i++)
    assert_int_equal(a->cats[i], b->cats[i]);
  assert_int_equal(a->truth_p != NULL, b->truth_p != NULL);
  if (a->truth_p)
    for (size_t i = 0; i < a->n; i++) {
      /* Exact: %.17g round-trips every double. */
      assert_memory_equal(&a->truth_p[i], &b->truth_p[i], sizeof(double));
      assert_int_equal(a->truth_delay[i], b->truth_delay[i]);
    }
}

/* A log with every kind of value the layout can hold. */
static df_clicks *make_edge_log(int with_truth)
{
  static const int64_t click[] = {0, 5, 86400, INT64_MAX - 1};
  static const int64_t conv[] = {0, -1, 90000, INT64_MAX};
  static const int64_t ints[4][3] = {
      {0, -1, CLICKS_MISSING_INT},
      {INT64_MAX, INT64_MIN + 1, 42},
      {CLICKS_MISSING_INT, CLICKS_MISSING_INT, CLICKS_MISSING_INT},
      {-7, 1000000, 123456789012}};
  static const uint64_t cats[4][2] = {{1, UINT64_MAX},
                                      {CLICKS_MISSING_CAT, 0xAB},
                                      {0x8000000000000000u, 0},
                                      {0x0123456789ABCDEFu, 16}};
  static const double p[] = {0.0, 1.0, 1.0 / 3.0, 4.9406564584124654e-324};
  static const int64_t delay[] = {0, -1, 3600, 1};
  df_clicks *log;
  assert_int_equal(clicks_create(&log, 3, 2, 4, with_truth), 0);
  for (size_t i = 0; i < 4; i++) {
    log->click_ts[i] = click[i];
    log->conv_ts[i] = conv[i];
    memcpy(log->ints + 3 * i, ints[i], sizeof ints[i]);
    memcpy(log->cats + 2 * i, cats[i], sizeof cats[i]);
    if (with_truth) {
      log->truth_p[i] = p[i];
      log->truth_delay[i] = delay[i];
    }
  }
  log->n = 4;
  return log;
}

/* A bigger random log, to straddle many blocks. */
static df_clicks *make_random_log(size_t n, unsigned seed)
{
  df_clicks *log;
  assert_int_equal(clicks_create(&log, 8, 9, n, 1), 0);
  srand(seed);
  for (size_t i = 0; i < n; i++) {
    log->click_ts[i] = rand() % 5184000;
    log->conv_ts[i] = rand() % 4 ? -1 : log->click_ts[i] + rand() % 99999;
    for (int j = 0; j < 8; j++)
      log->ints[i * 8 + j] =
          rand() % 5 ? rand() % 2000 - 10 : CLICKS_MISSING_INT;
    for (int j = 0; j < 9; j++)
      log->cats[i * 9 + j] =
          rand() % 6 ? (uint64_t)rand() << 33 ^ (uint64_t)rand() : 0;
    log->truth_p[i] = rand() / (double)RAND_MAX;
    log->truth_delay[i] = rand() % 3 ? -1 : rand() % 5000000;
  }
  log->n = n;
  return log;
}

/* ---- writing ------------------------------------------------------ */

/* The exact bytes of a small log: uppercase 16-digit hex, missing
 * values as empty fields, conv_ts empty without a conversion, and the
 * sidecar with %.17g.  Written by hand from clicklog.h. */
static void test_write_exact_bytes(void **state)
{
  (void)state;
  char path[512], tp[600];
  tpath(path, "exact.tsv");
  df_clicks *log = make_edge_log(1);
  assert_int_equal(clicklog_write(log, path, 0), 0);

  static const char want[] =
      "0\t0\t0\t-1\t\t0000000000000001\tFFFFFFFFFFFFFFFF\n"
      "5\t\t9223372036854775807\t-9223372036854775807\t42\t\t"
      "00000000000000AB\n"
      "86400\t90000\t\t\t\t8000000000000000\t\n"
      "9223372036854775806\t9223372036854775807\t-7\t1000000\t"
      "123456789012\t0123456789ABCDEF\t0000000000000010\n";
  static const char want_truth[] = "0\t0\n1\t-1\n"
                                   "0.33333333333333331\t3600\n"
                                   "4.9406564584124654e-324\t1\n";
  size_t n;
  char *got = read_bytes(path, &n);
  assert_string_equal(got, want);
  free(got);
  snprintf(tp, sizeof tp, "%s.truth", path);
  got = read_bytes(tp, &n);
  assert_string_equal(got, want_truth);
  free(got);
  clicks_destroy(log);
}

/* Same log, same bytes, twice. */
static void test_write_deterministic(void **state)
{
  (void)state;
  char a[512], b[512], at[600], bt[600];
  df_clicks *log = make_random_log(3000, 7);
  assert_int_equal(clicklog_write(log, tpath(a, "det_a.tsv"), 0), 0);
  assert_int_equal(clicklog_write(log, tpath(b, "det_b.tsv"), 0), 0);
  snprintf(at, sizeof at, "%s.truth", a);
  snprintf(bt, sizeof bt, "%s.truth", b);
  size_t na, nb;
  char *x = read_bytes(a, &na), *y = read_bytes(b, &nb);
  assert_int_equal(na, nb);
  assert_memory_equal(x, y, na);
  free(x);
  free(y);
  x = read_bytes(at, &na);
  y = read_bytes(bt, &nb);
  assert_int_equal(na, nb);
  assert_memory_equal(x, y, na);
  free(x);
  free(y);
  clicks_destroy(log);
}

/* write -> read gives every field back exactly, at every block size. */
static void test_round_trip(void **state)
{
  (void)state;
  char path[512];
  df_clicks *logs[2] = {make_edge_log(1), make_random_log(2000, 3)};
  const char *names[2] = {"rt_edge.tsv", "rt_random.tsv"};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(clicklog_write(logs[k], tpath(path, names[k]), 0), 0);
    for (size_t b = 0; b < N_BLOCKS; b++) {
      df_clicks *back = NULL;
      int rc = clicklog_read_blocks(path, logs[k]->n_int, logs[k]->n_cat,
                                    1, g_blocks[b], &back);
      assert_int_equal(rc, 0);
      assert_logs_equal(logs[k], back);
      clicks_destroy(back);
    }
    clicks_destroy(logs[k]);
  }
}

/* Without with_truth the sidecar is not read. */
static void test_read_without_truth(void **state)
{
  (void)state;
  char path[512];
  df_clicks *log = make_edge_log(1), *back = NULL;
  assert_int_equal(clicklog_write(log, tpath(path, "nt.tsv"), 0), 0);
  assert_int_equal(clicklog_read(path, 3, 2, 0, &back), 0);
  assert_null(back->truth_p);
  assert_null(back->truth_delay);
  assert_int_equal(back->n, 4);
  clicks_destroy(back);
  clicks_destroy(log);
}

/* Existing files are refused without force; a stale sidecar too. */
static void test_write_refuses_and_replaces(void **state)
{
  (void)state;
  char path[512], tp[600];
  tpath(path, "ow.tsv");
  snprintf(tp, sizeof tp, "%s.truth", path);
  df_clicks *with = make_edge_log(1), *without = make_edge_log(0);
  assert_int_equal(clicklog_write(with, path, 0), 0);

  assert_int_equal(clicklog_write(with, path, 0), DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "exists; refusing to overwrite"));
  assert_int_equal(clicklog_write(without, path, 0), DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "ow.tsv.truth exists"));

  /* With force, the log without truth replaces both files. */
  assert_int_equal(clicklog_write(without, path, 1), 0);
  assert_int_equal(access(path, F_OK), 0);
  assert_int_not_equal(access(tp, F_OK), 0);
  assert_int_equal(count_temporaries(), 0);
  clicks_destroy(with);
  clicks_destroy(without);
}

/* Rows the reader would refuse are not written; nothing is left. */
static void test_write_rejects_bad_rows(void **state)
{
  (void)state;
  char path[512];
  df_clicks *log = make_edge_log(1);
  log->conv_ts[2] = 10;
  assert_int_equal(clicklog_write(log, tpath(path, "badrow.tsv"), 0),
                   DF_EINPUT);
  assert_string_equal(df_errmsg(), "click 2: conversion time 10 before "
                                   "click time 86400");
  log->conv_ts[2] = -1;
  log->click_ts[1] = -3;
  assert_int_equal(clicklog_write(log, path, 0), DF_EINPUT);
  assert_string_equal(df_errmsg(), "click 1: negative click time -3");
  assert_int_not_equal(access(path, F_OK), 0);
  assert_int_equal(count_temporaries(), 0);
  clicks_destroy(log);
}

/* A sidecar that cannot be put in place (a directory holds its name)
 * leaves neither file. */
static void test_write_truth_failure_leaves_nothing(void **state)
{
  (void)state;
  char path[512], tp[600];
  tpath(path, "tf.tsv");
  snprintf(tp, sizeof tp, "%s.truth", path);
  assert_int_equal(mkdir(tp, 0700), 0);
  df_clicks *log = make_edge_log(1);
  assert_int_equal(clicklog_write(log, path, 1), DF_EIO);
  assert_non_null(strstr(df_errmsg(), "tf.tsv.truth: cannot rename"));
  assert_int_not_equal(access(path, F_OK), 0);
  assert_int_equal(count_temporaries(), 0);
  rmdir(tp);
  clicks_destroy(log);
}

/* ---- reading good input ------------------------------------------- */

/* 2 integer and 2 categorical features; CRLF, a last line without '\n',
 * hex and non-hex categorical values. */
static void test_read_good_table(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t rows;
    int64_t click1, conv1; /* the last row */
    int64_t int_a, int_b;  /* the last row */
    const char *cat_a;     /* NULL: cat_b is compared as a number */
    uint64_t cat_b;
  } cases[] = {
      {"", 0, 0, 0, 0, 0, NULL, 0},
      {"1\t2\t3\t4\tx\ty\n", 1, 1, 2, 3, 4, "x", 0},
      {"1\t2\t3\t4\tx\t00000000000000ff", 1, 1, 2, 3, 4, "x", 0xff},
      {"1\t\t\t\t\t\r\n", 1, 1, -1, INT64_MIN, INT64_MIN, "", 0},
      {"0\t\t1\t1\ta\tb\r\n7\t9\t-5\t\tAB\t0000000000000000\r\n", 2, 7, 9,
       -5, INT64_MIN, "AB", 0},
      {"0\t\t1\t1\ta\tb\n3\t3\t-9223372036854775807\t9223372036854775807"
       "\t0123456789abcdeF\tFFFFFFFFFFFFFFFF\r",
       2, 3, 3, INT64_MIN + 1, INT64_MAX, NULL, UINT64_MAX},
      {"4\t5\t6\t7\t00000000000000001\t000000000000001\n", 1, 4, 5, 6, 7,
       "00000000000000001", 0},
  };
  char path[512];
  tpath(path, "good.tsv");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (size_t b = 0; b < N_BLOCKS; b++) {
      write_bytes(path, cases[c].text, strlen(cases[c].text));
      df_clicks *log = NULL;
      assert_int_equal(clicklog_read_blocks(path, 2, 2, 0, g_blocks[b],
                                            &log),
                       0);
      assert_int_equal(log->n, cases[c].rows);
      if (log->n) {
        size_t r = log->n - 1;
        assert_int_equal(log->click_ts[r], cases[c].click1);
        assert_int_equal(log->conv_ts[r], cases[c].conv1);
        assert_int_equal(log->ints[2 * r], cases[c].int_a);
        assert_int_equal(log->ints[2 * r + 1], cases[c].int_b);
        const char *ca = cases[c].cat_a;
        if (ca) {
          uint64_t want = *ca ? clicks_hash_cat(ca, strlen(ca)) : 0;
          assert_int_equal(log->cats[2 * r], want);
        } else {
          assert_int_equal(log->cats[2 * r], 0x0123456789ABCDEFu);
          assert_int_equal(log->cats[2 * r + 1], cases[c].cat_b);
        }
      }
      clicks_destroy(log);
    }
}

/* The last categorical field of the cases above, checked apart: the
 * 16-digit zero string and 15-digit strings are hashed, not read. */
static void test_read_cat_rules(void **state)
{
  (void)state;
  static const struct {
    const char *field;
    uint64_t want; /* 0: the hash of the field */
  } cases[] = {
      {"0000000000000000", 0},  {"000000000000001", 0},
      {"00000000000000001", 0}, {"000000000000000G", 0},
      {"000000000000000a", 10}, {"000000000000000A", 10},
      {"68fd1e64", 0},          {"", 0},
  };
  char path[512], line[64];
  tpath(path, "cats.tsv");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int len = snprintf(line, sizeof line, "0\t\t%s\n", cases[c].field);
    write_bytes(path, line, (size_t)len);
    df_clicks *log = NULL;
    assert_int_equal(clicklog_read(path, 0, 1, 0, &log), 0);
    size_t fl = strlen(cases[c].field);
    uint64_t want = cases[c].want ? cases[c].want
                    : fl          ? clicks_hash_cat(cases[c].field, fl)
                                  : CLICKS_MISSING_CAT;
    assert_int_equal(log->cats[0], want);
    clicks_destroy(log);
  }
}

/* ---- reading bad input -------------------------------------------- */

/* 2 integer and 2 categorical features: 6 fields a line. */
static void test_read_bad_table(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t len; /* 0: strlen(text) */
    const char *msg;
  } cases[] = {
      {"0\t12x\t1\t2\ta\tb\n", 0,
       "bad.tsv:1: field 2 (conv_ts): '12x' is not an integer"},
      {"0\t\t1\t2\ta\tb\n0\t\t1\t2\ta\n", 0,
       "bad.tsv:2: expected 6 fields, found 5"},
      {"0\t\t1\t2\ta\tb\tc\n", 0, "bad.tsv:1: expected 6 fields, found 7"},
      {"0\tx\t1\t2\ta\n", 0, "bad.tsv:1: expected 6 fields, found 5"},
      {"0\t\t\t\t\t\n\n0\t\t\t\t\t\n", 0,
       "bad.tsv:2: expected 6 fields, found 1 (an empty line)"},
      {"0\t\t99999999999999999999\t\t\t\n", 0,
       "bad.tsv:1: field 3 (int_1): '99999999999999999999' is out of "
       "range"},
      {"0\t\t1\t-9223372036854775808\t\t\n", 0,
       "bad.tsv:1: field 4 (int_2): '-9223372036854775808' is out of "
       "range"},
      {"9223372036854775808\t\t\t\t\t\n", 0,
       "bad.tsv:1: field 1 (click_ts): '9223372036854775808' is out of "
       "range"},
      {"-5\t\t\t\t\t\n", 0,
       "bad.tsv:1: field 1 (click_ts): negative click time -5"},
      {"10\t5\t\t\t\t\n", 0,
       "bad.tsv:1: field 2 (conv_ts): conversion time 5 before click "
       "time 10"},
      {"10\t-1\t\t\t\t\n", 0,
       "bad.tsv:1: field 2 (conv_ts): conversion time -1 before click "
       "time 10"},
      {"\t5\t\t\t\t\n", 0,
       "bad.tsv:1: field 1 (click_ts): empty click time"},
      {"0\t\t-\t\t\t\n", 0, "bad.tsv:1: field 3 (int_1): '-' is not an "
                            "integer"},
      {"0\t\t+5\t\t\t\n", 0, "bad.tsv:1: field 3 (int_1): '+5' is not an "
                             "integer"},
      {"0\t\t 5\t\t\t\n", 0, "bad.tsv:1: field 3 (int_1): ' 5' is not an "
                             "integer"},
      {"0\t\t1\t1e3\t\t\n", 0, "bad.tsv:1: field 4 (int_2): '1e3' is not "
                               "an integer"},
      {"1\t2\t3\t4\t\t\n1\t2\t3\t4\ta\0b\tc\n", 24,
       "bad.tsv:2: field 5 (cat_1): embedded NUL byte"},
      {"1\t2\t3\0\t4\t\t\n", 12,
       "bad.tsv:1: field 3 (int_1): embedded NUL byte"},
      {"1\t2\t3\t4\t\t\n1\t2\t3\t4\t\t\n1\r\t2\t3\t4\t\t\n", 0,
       "bad.tsv:3: field 1 (click_ts): '1?' is not an integer"},
  };
  char path[512];
  tpath(path, "bad.tsv");
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    size_t len = cases[c].len ? cases[c].len : strlen(cases[c].text);
    write_bytes(path, cases[c].text, len);
    for (size_t b = 0; b < N_BLOCKS; b++) {
      df_clicks dummy, *log = &dummy; /* must be reset to NULL */
      int rc = clicklog_read_blocks(path, 2, 2, 0, g_blocks[b], &log);
      assert_int_equal(rc, DF_EINPUT);
      assert_null(log);
      /* The message ends with the case's text, after the directory. */
      const char *m = df_errmsg();
      size_t ml = strlen(m), wl = strlen(cases[c].msg);
      if (ml < wl || strcmp(m + ml - wl, cases[c].msg))
        fail_msg("case %zu block %zu: got '%s', want '...%s'", c,
                 g_blocks[b], m, cases[c].msg);
    }
  }
}

/* A path that names no file, or a directory, is the user's mistake
 * (DF_EINPUT, exit 2), said in plain words; so is a sidecar that is a
 * directory. */
static void test_read_missing_file(void **state)
{
  (void)state;
  static const struct {
    const char *name; /* in the test directory; "" is the directory */
    const char *msg;  /* the message after the path */
  } cases[] = {
      {"no-such.tsv", ": no such file"},
      {"no-such-dir/x.tsv", ": no such file"},
      {"", ": is a directory"},
      {"dir.tsv", ": is a directory"},
  };
  char path[512], sub[512];
  assert_int_equal(mkdir(tpath(sub, "dir.tsv"), 0777), 0);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    df_clicks *log = NULL;
    int rc = clicklog_read(tpath(path, cases[c].name), 8, 9, 1, &log);
    char want[600];
    snprintf(want, sizeof want, "%s%s", path, cases[c].msg);
    assert_int_equal(rc, DF_EINPUT);
    assert_null(log);
    assert_string_equal(df_errmsg(), want);
  }

  /* log.tsv exists and is empty, its sidecar a directory */
  write_bytes(tpath(path, "log.tsv"), "", 0);
  assert_int_equal(mkdir(tpath(sub, "log.tsv.truth"), 0777), 0);
  df_clicks *log = NULL;
  assert_int_equal(clicklog_read(path, 8, 9, 1, &log), DF_EINPUT);
  char want[600];
  snprintf(want, sizeof want, "%s: is a directory", sub);
  assert_string_equal(df_errmsg(), want);
  rmdir(sub);
  rmdir(tpath(sub, "dir.tsv"));
  unlink(path);
}

/* clicklog_first_fields counts the first line's fields only: what
 * inspect checks the layout with before reading the file. */
static void test_first_fields(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    int fields;
  } cases[] = {
      {"", 0},
      {"\n", 1},
      {"5\t\n", 2},
      {"5\t\r\n1\t2\t3\n", 2},
      {"1\t2\t3", 3},
      {"0\t\t1\t2\t3\t4\t5\t6\t7\t8\ta\tb\tc\td\te\tf\tg\th\ti\nx\n", 19},
  };
  char path[512];
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    write_bytes(tpath(path, "first.tsv"), cases[c].text,
                strlen(cases[c].text));
    int n = -1;
    assert_int_equal(clicklog_first_fields(path, &n), 0);
    if (n != cases[c].fields)
      fail_msg("case %zu: %d fields, want %d", c, n, cases[c].fields);
  }
  int n = -1;
  assert_int_equal(clicklog_first_fields(tpath(path, "none.tsv"), &n),
                   DF_EINPUT);
  assert_string_equal(strstr(df_errmsg(), "none.tsv"),
                      "none.tsv: no such file");
}

/* A line longer than CLICKLOG_MAX_LINE is refused, so a file without
 * newlines cannot grow the buffer. */
static void test_read_line_too_long(void **state)
{
  (void)state;
  char path[512];
  size_t n = CLICKLOG_MAX_LINE + 100;
  char *s = malloc(n);
  assert_non_null(s);
  memset(s, '7', n);
  write_bytes(tpath(path, "long.tsv"), s, n);
  free(s);
  df_clicks *log = NULL;
  assert_int_equal(clicklog_read_blocks(path, 0, 0, 0, 4096, &log),
                   DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "long.tsv:1: line longer than"));
}

/* ---- the truth sidecar -------------------------------------------- */

static void test_truth_bad_table(void **state)
{
  (void)state;
  static const struct {
    const char *truth;
    const char *msg;
  } cases[] = {
      {"0.5\t-1\n", "tr.tsv.truth has 1 lines but "},
      {"0.5\t-1\n0.5\t-1\n0.5\t-1\n", "tr.tsv.truth has 3 lines but "},
      {"0.5\t-1\n0.5\tx\n", "tr.tsv.truth:2: field 2 (delay): 'x' is not "
                            "an integer"},
      {"1.5\t3\n0.5\t-1\n", "tr.tsv.truth:1: field 1 (p): '1.5' is not a "
                            "probability in [0, 1]"},
      {"nan\t3\n0.5\t-1\n", "tr.tsv.truth:1: field 1 (p): 'nan' is not a "
                            "probability in [0, 1]"},
      {"0.5\t-2\n0.5\t-1\n", "tr.tsv.truth:1: field 2 (delay): '-2' is "
                             "below -1"},
      {"0.5\n0.5\t-1\n", "tr.tsv.truth:1: expected 2 fields, found 1"},
      {"0.5\t\n0.5\t-1\n", "tr.tsv.truth:1: field 2 (delay): empty"},
      {"\t1\n0.5\t-1\n", "tr.tsv.truth:1: field 1 (p): empty"},
  };
  char path[512], tp[600];
  tpath(path, "tr.tsv");
  snprintf(tp, sizeof tp, "%s.truth", path);
  write_bytes(path, "0\t\n1\t\n", 6);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    write_bytes(tp, cases[c].truth, strlen(cases[c].truth));
    for (size_t b = 0; b < N_BLOCKS; b++) {
      df_clicks *log = NULL;
      int rc = clicklog_read_blocks(path, 0, 0, 1, g_blocks[b], &log);
      assert_int_equal(rc, DF_EINPUT);
      assert_null(log);
      if (!strstr(df_errmsg(), cases[c].msg))
        fail_msg("case %zu: got '%s', want '%s'", c, df_errmsg(),
                 cases[c].msg);
    }
  }
  /* Both files are named when the counts differ. */
  write_bytes(tp, "0.5\t-1\n", 7);
  df_clicks *log = NULL;
  assert_int_equal(clicklog_read(path, 0, 0, 1, &log), DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "tr.tsv has 2 clicks"));
}

/* clicklog_read_truth on its own, and the truth being optional. */
static void test_truth_read_alone(void **state)
{
  (void)state;
  char path[512], tp[600];
  tpath(path, "ta.tsv");
  snprintf(tp, sizeof tp, "%s.truth", path);
  write_bytes(path, "0\t\n1\t7\n", 7);
  df_clicks *log = NULL;
  assert_int_equal(clicklog_read(path, 0, 0, 1, &log), 0);
  assert_null(log->truth_p); /* no sidecar: no truth, no error */

  write_bytes(tp, "0.25\t-1\r\n1\t6", 12);
  assert_int_equal(clicklog_read_truth_blocks(tp, log, 1), 0);
  assert_true(log->truth_p[0] == 0.25 && log->truth_p[1] == 1.0);
  assert_int_equal(log->truth_delay[0], -1);
  assert_int_equal(log->truth_delay[1], 6);

  write_bytes(tp, "0.25\t-1\n", 8);
  assert_int_equal(clicklog_read_truth(tp, log), DF_EINPUT);
  assert_non_null(strstr(df_errmsg(), "but the log has 2 clicks"));
  assert_null(log->truth_p); /* a failed read leaves no half truth */
  clicks_destroy(log);
}

/* ---- setup -------------------------------------------------------- */

static int group_setup(void **state)
{
  (void)state;
  const char *t = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/test_clicklog.XXXXXX", t ? t : "/tmp");
  return mkdtemp(g_dir) ? 0 : -1;
}

/* Remove the directory and the files the tests left in it. */
static int group_teardown(void **state)
{
  (void)state;
  DIR *d = opendir(g_dir);
  if (!d)
    return -1;
  char p[600];
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') {
      snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
      if (unlink(p))
        rmdir(p);
    }
  closedir(d);
  return rmdir(g_dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_exact_bytes),
      cmocka_unit_test(test_write_deterministic),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_read_without_truth),
      cmocka_unit_test(test_write_refuses_and_replaces),
      cmocka_unit_test(test_write_rejects_bad_rows),
      cmocka_unit_test(test_write_truth_failure_leaves_nothing),
      cmocka_unit_test(test_read_good_table),
      cmocka_unit_test(test_read_cat_rules),
      cmocka_unit_test(test_read_bad_table),
      cmocka_unit_test(test_read_missing_file),
      cmocka_unit_test(test_read_line_too_long),
      cmocka_unit_test(test_first_fields),
      cmocka_unit_test(test_truth_bad_table),
      cmocka_unit_test(test_truth_read_alone),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
