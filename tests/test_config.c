/* test_config.c: the config table, INI reading, --set, durations, and
 * the messages users get for bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/config.h"
#include "sim/log.h"

/* Write text to a fresh temporary file; the caller unlinks it. */
static void write_temp(char *path, size_t len, const char *text)
{
  snprintf(path, len, "/tmp/dfb_test_config_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
}

static void test_durations(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    int ok;
    double seconds;
  } cases[] = {
      {"15m", 1, 900},      {"0.25h", 1, 900},  {"7d", 1, 604800},
      {"30s", 1, 30},       {"1.5d", 1, 129600}, {" 2h", 1, 7200},
      {"2 h", 1, 7200},     {"15", 0, 0},        {"m", 0, 0},
      {"15min", 0, 0},      {"", 0, 0},          {"1e3s", 1, 1000},
      {"nan s", 0, 0},      {"15M", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double v = -1;
    int rc = cfg_parse_duration(cases[i].text, &v);
    if (cases[i].ok) {
      assert_int_equal(rc, 0);
      assert_true(v == cases[i].seconds);
    } else {
      assert_int_equal(rc, DF_EINPUT);
    }
  }

  /* Formatting picks the largest exact unit and reads back. */
  static const struct {
    double seconds;
    const char *text;
  } fmt[] = {{900, "15m"}, {86400, "1d"}, {5400, "90m"}, {1.5, "1.5s"},
             {0, "0s"},    {2592000, "30d"}, {3600 * 25, "25h"}};
  for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
    char buf[64];
    double back;
    cfg_format_duration(fmt[i].seconds, buf, sizeof buf);
    assert_string_equal(buf, fmt[i].text);
    assert_int_equal(cfg_parse_duration(buf, &back), 0);
    assert_true(back == fmt[i].seconds);
  }
}

static void test_defaults(void **state)
{
  (void)state;
  df_config c;
  cfg_defaults(&c);
  assert_string_equal(c.data_source, "synthetic");
  assert_int_equal(c.gen_seed, 1);
  assert_int_equal(c.gen_clicks, 15898883);
  assert_true(c.gen_cvr == 0.227);
  assert_int_equal(c.gen_int_features, 8);
  assert_int_equal(c.gen_cat_features, 9);
  assert_true(c.delay_attribution == 30 * 86400.0);
  assert_int_equal(c.model_hidden.n, 3);
  assert_int_equal(c.model_hidden.v[2], 128);
  assert_int_equal(c.model_int_bins.n, 8);
  assert_int_equal(c.model_cat_buckets.v[7], 16);
  assert_string_equal(cfg_origin(&c, "generator", "cvr"), "default");
  assert_int_equal(cfg_validate(&c), 0);

  /* Every key documented, with a default that parses. */
  int n;
  const cfg_key *k = cfg_keys(&n);
  assert_true(n > 20);
  for (int i = 0; i < n; i++) {
    assert_non_null(k[i].doc);
    assert_true(strlen(k[i].doc) > 10);
  }
}

static void test_file_and_set(void **state)
{
  (void)state;
  char path[64];
  write_temp(path, sizeof path,
             "# a comment\n"
             "; another\n"
             "\n"
             "[generator]\n"
             "seed = 42\n"
             "cvr=0.1\n"
             "  days   =  3.5  \n"
             "[delay]\n"
             "family = weibull\n"
             "scale = 2h\n"
             "[model]\n"
             "hidden = 64, 32\n");
  df_config c;
  cfg_defaults(&c);
  assert_int_equal(cfg_load_file(&c, path), 0);
  assert_int_equal(c.gen_seed, 42);
  assert_true(c.gen_cvr == 0.1);
  assert_true(c.gen_days == 3.5);
  assert_string_equal(c.delay_family, "weibull");
  assert_true(c.delay_scale == 7200);
  assert_int_equal(c.model_hidden.n, 2);
  assert_int_equal(c.model_hidden.v[1], 32);

  /* The origin names file and line for later messages. */
  char want[96];
  snprintf(want, sizeof want, "%s:10", path);
  assert_string_equal(cfg_origin(&c, "delay", "scale"), want);

  /* --set overrides what the file said. */
  assert_int_equal(cfg_set(&c, "generator.seed=7"), 0);
  assert_int_equal(c.gen_seed, 7);
  assert_string_equal(cfg_origin(&c, "generator", "seed"), "--set");
  assert_int_equal(cfg_set(&c, "delay.scale = 1.5d"), 0);
  assert_true(c.delay_scale == 129600);
  unlink(path);
}

/* Bad input, in files: status and the message, which must name the
 * file, the line and the key, and the valid range or choices. */
static void test_bad_files(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    const char *want[3]; /* substrings of the message */
  } cases[] = {
      {"[generator]\ncvr = 2\n", {":2:", "generator.cvr", "[0.001, 0.9]"}},
      {"[generator]\ncvr = abc\n", {":2:", "not a number", "generator.cvr"}},
      {"[nope]\nx = 1\n", {":1:", "unknown section [nope]", "generator"}},
      {"[delay]\nmean = 15\n", {":2:", "delay.mean", "unit s, m, h or d"}},
      {"[delay]\nfamily = gauss\n",
       {":2:", "delay.family", "exponential|weibull"}},
      {"[delay]\nmeen = 1h\n", {":2:", "unknown key delay.meen", "mean"}},
      {"seed = 1\n", {":1:", "before any [section]", "seed"}},
      {"[generator]\nseed\n", {":2:", "expected 'key = value'", "seed"}},
      {"[generator\n", {":1:", "malformed section header", ""}},
      {"[generator]\nseed = 1\nseed = 2\n", {":3:", "set twice", "seed"}},
      {"[model]\nhidden = 256,,128\n", {":2:", "model.hidden", "list"}},
      {"[model]\nbatch = 0\n", {":2:", "model.batch", "[1, 1048576]"}},
      {"[model]\nbatch = 1.5\n", {":2:", "not an integer", "model.batch"}},
      {"[generator]\nclicks = 99999999999999999999\n",
       {":2:", "generator.clicks", "not an integer"}},
      {"[data]\nsource = file\n", {"data.source = file needs data.path",
                                   ":2", ""}},
      /* a mixture is checked even when delay.family does not use it */
      {"[delay]\nfamily = gamma\ncomponents = 1*gauss(mean=1h)\n",
       {":3:", "delay.components: term 1 '1*gauss(mean=1h)'",
        "unknown family 'gauss'"}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[64];
    write_temp(path, sizeof path, cases[i].text);
    df_config c;
    cfg_defaults(&c);
    int rc = cfg_load_file(&c, path);
    if (!rc)
      rc = cfg_validate(&c);
    assert_int_equal(rc, DF_EINPUT);
    const char *msg = df_errmsg();
    for (int j = 0; j < 3; j++) {
      if (!strstr(msg, cases[i].want[j]))
        fail_msg("case %zu: '%s' not in '%s'", i, cases[i].want[j], msg);
    }
    /* Errors that come from the file name it. */
    if (!strstr(msg, path))
      fail_msg("case %zu: path not in '%s'", i, msg);
    unlink(path);
  }

  /* A path that names no file or a directory: exit 2, plain words. */
  static const struct {
    const char *path, *msg;
  } paths[] = {
      {"/nonexistent/x.ini", "/nonexistent/x.ini: no such config file"},
      {"/tmp", "/tmp: is a directory"},
  };
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    df_config c;
    cfg_defaults(&c);
    assert_int_equal(cfg_load_file(&c, paths[i].path), DF_EINPUT);
    assert_string_equal(df_errmsg(), paths[i].msg);
  }
}

static void test_bad_sets(void **state)
{
  (void)state;
  static const struct {
    const char *set;
    const char *want;
  } cases[] = {
      {"generator.seed", "expected section.key=value"},
      {"seed=1", "expected section.key=value"},
      {"generator.sed=1", "unknown key generator.sed"},
      {"gen.seed=1", "unknown section [gen]"},
      {"generator.seed=-1", "out of range"},
      {"model.type=xgboost", "choose one of lr|mlp"},
      {"delay.attribution=0s", "out of range"},
      {"delay.components=exponential(mean=1h",
       "delay.components: term 1 'exponential(mean=1h': missing ')'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    df_config c;
    cfg_defaults(&c);
    assert_int_equal(cfg_set(&c, cases[i].set), DF_EINPUT);
    if (!strstr(df_errmsg(), cases[i].want))
      fail_msg("case %zu: '%s' not in '%s'", i, cases[i].want, df_errmsg());
    assert_non_null(strstr(df_errmsg(), "--set"));
  }
}

/* Every range a message prints can be typed back: for each numeric
 * key, the bounds after "valid: [" are accepted by --set, and an
 * integer key stores them exactly (9007199254740992, not the
 * 9.00719925474099e+15 that %.15g printed).  The probe is a value each
 * type refuses with its range: "x" for numbers, "-1s" for durations,
 * whose minimum is never negative. */
static void test_ranges_typable(void **state)
{
  (void)state;
  int n;
  const cfg_key *k = cfg_keys(&n);
  for (int i = 0; i < n; i++) {
    if (k[i].type != CFG_INT && k[i].type != CFG_INT64 &&
        k[i].type != CFG_DOUBLE && k[i].type != CFG_DURATION)
      continue;
    char set[256], lo[64], hi[64];
    df_config c;
    cfg_defaults(&c);
    snprintf(set, sizeof set, "%s.%s=%s", k[i].section, k[i].name,
             k[i].type == CFG_DURATION ? "-1s" : "x");
    assert_int_equal(cfg_set(&c, set), DF_EINPUT);
    const char *r = strstr(df_errmsg(), "valid: [");
    if (!r || sscanf(r, "valid: [%63[^,], %63[^]]]", lo, hi) != 2)
      fail_msg("%s: no range in '%s'", set, df_errmsg());

    const char *bound[2] = {lo, hi};
    double want[2] = {k[i].min, k[i].max};
    for (int b = 0; b < 2; b++) {
      snprintf(set, sizeof set, "%s.%s=%s", k[i].section, k[i].name,
               bound[b]);
      if (cfg_set(&c, set))
        fail_msg("'%s' refused: %s", set, df_errmsg());
      const char *field = (const char *)&c + k[i].offset;
      double got = k[i].type == CFG_INT     ? *(const int *)field
                   : k[i].type == CFG_INT64 ? (double)*(const int64_t *)field
                                            : *(const double *)field;
      if (got != want[b])
        fail_msg("'%s' stored %.17g, not %.17g", set, got, want[b]);
    }
  }

  /* Integers are compared as integers: 2^53 + 1 is out of range. */
  df_config c;
  cfg_defaults(&c);
  assert_int_equal(cfg_set(&c, "generator.seed=9007199254740993"), DF_EINPUT);
  assert_string_equal(df_errmsg(),
                      "--set: generator.seed: 9007199254740993 is out of "
                      "range; valid: [0, 9007199254740992]");
}

/* cfg_write's output reads back to the same configuration. */
static void test_round_trip(void **state)
{
  (void)state;
  df_config a, b;
  cfg_defaults(&a);
  assert_int_equal(cfg_set(&a, "generator.cvr=0.123456789012345678"), 0);
  assert_int_equal(cfg_set(&a, "delay.mean=1234.5s"), 0);
  assert_int_equal(cfg_set(&a, "model.hidden=7,9"), 0);
  assert_int_equal(cfg_set(&a, "data.path=/tmp/some file.tsv"), 0);

  char path[64];
  write_temp(path, sizeof path, "");
  FILE *f = fopen(path, "w");
  assert_int_equal(cfg_write(&a, f, 1), 0);
  fclose(f);
  cfg_defaults(&b);
  assert_int_equal(cfg_load_file(&b, path), 0);
  unlink(path);

  /* Every value equal; origins differ by design. */
  assert_memory_equal(&a, &b, offsetof(df_config, origin));
}

/* The shipped configs: each loads and validates, with the values its
 * comments promise; defaults.ini is exactly what `dfbench config`
 * prints (after its own opening comment), so it cannot drift from the
 * key table. */
static const struct {
  const char *file;
  const char *key; /* one key the file sets, checked by its value */
  double value;
} shipped[] = {
    {"quick.ini", "clicks", 1000000},
    {"criteo_like.ini", "clicks", 15898883},
    {"esdfm_criteo.ini", "pretrain", 30 * 86400.0},
    {"window_sweep.ini", "pretrain", 15 * 86400.0},
    {"defaults.ini", "clicks", 15898883},
};

static void test_shipped_configs(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/configs/%s", DFB_SOURCE_DIR,
             shipped[i].file);
    df_config c;
    cfg_defaults(&c);
    int rc = cfg_load_file(&c, path);
    if (rc)
      fail_msg("%s: %s", shipped[i].file, df_errmsg());
    assert_int_equal(cfg_validate(&c), 0);
    double got = !strcmp(shipped[i].key, "clicks")
                     ? (double)c.gen_clicks
                     : c.stream_pretrain;
    assert_true(got == shipped[i].value);
  }

  /* defaults.ini after its opening comment and blank line. */
  char path[4096], *want = NULL, *have = NULL;
  size_t want_len = 0, have_len = 0;
  snprintf(path, sizeof path, "%s/configs/defaults.ini", DFB_SOURCE_DIR);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[4096];
  while (fgets(line, sizeof line, f) && line[0] != '\n')
    ;
  FILE *w = open_memstream(&want, &want_len);
  while (fgets(line, sizeof line, f))
    fputs(line, w);
  fclose(w);
  fclose(f);
  df_config c;
  cfg_defaults(&c);
  FILE *h = open_memstream(&have, &have_len);
  assert_int_equal(cfg_write(&c, h, 1), 0);
  fclose(h);
  assert_string_equal(want, have);
  free(want);
  free(have);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_durations),   cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_file_and_set), cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_bad_sets),    cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_ranges_typable),
      cmocka_unit_test(test_shipped_configs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
