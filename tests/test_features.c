/* test_features.c: the feature pipeline (models/features.c) against
 * hand-computed bins, its layout rules and its bad-input messages.
 *
 * Bins follow bin = 1 + min(B - 2, floor(s (B - 1))) with s the value
 * min-max scaled on the fit rows and clipped to [0, 1]; every expected
 * bin below was worked out by hand from that formula (the log-scale ones
 * with log1p(9)/log1p(99) = 0.5, log1p(30)/log1p(99) = 0.7457 and
 * log1p(2)/log1p(99) = 0.2386). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "models/features.h"
#include "sim/log.h"

#define M CLICKS_MISSING_INT

/* A log of rows x n_int integer values (row-major) and n_cat
 * categorical hashes all equal to cat. */
static df_clicks *make_log(int n_int, int n_cat, const int64_t *ints,
                           size_t rows, uint64_t cat)
{
  df_clicks *log;
  assert_int_equal(clicks_create(&log, n_int, n_cat, rows, 0), 0);
  log->n = rows;
  for (size_t i = 0; i < rows; i++) {
    log->click_ts[i] = (int64_t)i;
    log->conv_ts[i] = CLICKS_NO_CONVERSION;
    for (int j = 0; j < n_int; j++)
      log->ints[i * (size_t)n_int + (size_t)j] =
          ints[i * (size_t)n_int + (size_t)j];
    for (int k = 0; k < n_cat; k++)
      log->cats[i * (size_t)n_cat + (size_t)k] = cat;
  }
  return log;
}

static void config_with(df_config *cfg, const char *const *sets)
{
  cfg_defaults(cfg);
  for (; *sets; sets++)
    assert_int_equal(cfg_set(cfg, *sets), 0);
}

/* ---- known bins, minmax: three fields, fit rows [1, 6) ---- */

/* Field 0 (B = 5): fit values 0, 10, 5, -, 3, so min 0 and max 10;
 * row 0's 1000 lies outside the fit rows and must not widen the range.
 * Field 1 (B = 4, repeated): a single value 7 in the fit rows, so every
 * present value is bin 1.  Field 2 (B = 4): no present value when fitted,
 * so every present value is bin 1 too. */
static const int64_t minmax_ints[] = {
    1000, 7,   M, /* row 0, not fitted: 1000 clips to s = 1 */
    0,    7,   M, /* row 1 */
    10,   7,   M, /* row 2 */
    5,    M,   M, /* row 3 */
    M,    7,   M, /* row 4 */
    3,    7,   M, /* row 5 */
    20,   100, 5, /* row 6, stream: clipped high */
    -5,   M,   M, /* row 7, stream: clipped low */
    2,    7,   0, /* row 8 */
};

/* Expected bins (before the offsets 0, 5, 9). */
static const uint32_t minmax_bins[][3] = {
    {4, 1, 0}, {1, 1, 0}, {4, 1, 0}, {3, 0, 0}, {0, 1, 0},
    {2, 1, 0}, {4, 1, 1}, {1, 0, 0}, {1, 1, 1},
};

static void test_minmax_known_bins(void **state)
{
  static const char *const sets[] = {"model.int_bins=5,4",
                                     "model.cat_buckets=7", NULL};
  df_config cfg;
  config_with(&cfg, sets);
  df_clicks *log = make_log(3, 2, minmax_ints, 9, 42);
  feat_spec spec;
  assert_int_equal(feat_fit(&spec, &cfg, log, 1, 6), 0);

  /* The repeat-last rule and the layout. */
  static const int bins[] = {5, 4, 4}, offs[] = {0, 5, 9};
  for (int j = 0; j < 3; j++) {
    assert_int_equal(spec.int_bins[j], bins[j]);
    assert_int_equal(spec.int_off[j], offs[j]);
  }
  assert_int_equal(spec.cat_buckets[0], 7);
  assert_int_equal(spec.cat_buckets[1], 7);
  assert_int_equal(spec.cat_off[0], 13);
  assert_int_equal(spec.cat_off[1], 20);
  assert_int_equal(spec.n_columns, 27);
  assert_int_equal(feat_width(&spec), 5);

  /* Only rows [1, 6) were fitted: the 1000 of row 0 is ignored. */
  assert_true(spec.int_min[0] == 0 && spec.int_max[0] == 10);
  assert_true(spec.int_min[1] == 7 && spec.int_max[1] == 7);

  for (size_t i = 0; i < 9; i++) {
    uint32_t out[5];
    feat_encode(&spec, log, i, out);
    for (int j = 0; j < 3; j++)
      assert_int_equal(out[j], (uint32_t)offs[j] + minmax_bins[i][j]);
  }
  clicks_destroy(log);
}

/* ---- known bins under both scales, one field with B = 4 ---- */

typedef struct scale_case {
  const char *scale;
  uint32_t bins[5]; /* of the values below */
} scale_case;

/* Fit on 0, 99, 9, 30; encode those and the stream value 2. */
static const int64_t scale_values[] = {0, 99, 9, 30, 2};
static const scale_case scale_cases[] = {
    /* 9/99 * 3 = 0.27, 30/99 * 3 = 0.91, 2/99 * 3 = 0.06 */
    {"model.int_scale=minmax", {1, 3, 1, 1, 1}},
    /* 0.5 * 3 = 1.5, 0.7457 * 3 = 2.24, 0.2386 * 3 = 0.72 */
    {"model.int_scale=log", {1, 3, 2, 3, 1}},
};

static void test_scales(void **state)
{
  for (size_t c = 0; c < sizeof scale_cases / sizeof scale_cases[0];
       c++) {
    const char *sets[] = {"model.int_bins=4", scale_cases[c].scale, NULL};
    df_config cfg;
    config_with(&cfg, sets);
    df_clicks *log = make_log(1, 0, scale_values, 5, 0);
    feat_spec spec;
    assert_int_equal(feat_fit(&spec, &cfg, log, 0, 4), 0);
    assert_int_equal(spec.log_scale, c == 1);
    for (size_t i = 0; i < 5; i++) {
      uint32_t out;
      feat_encode(&spec, log, i, &out);
      assert_int_equal(out, scale_cases[c].bins[i]);
    }
    clicks_destroy(log);
  }
}

/* B = 2: one bin for every present value, bin 0 for missing. */
static void test_two_bins(void **state)
{
  static const char *const sets[] = {"model.int_bins=2", NULL};
  static const int64_t v[] = {0, 50, 100, M, 1000, -1000};
  static const uint32_t want[] = {1, 1, 1, 0, 1, 1};
  df_config cfg;
  config_with(&cfg, sets);
  df_clicks *log = make_log(1, 0, v, 6, 0);
  feat_spec spec;
  assert_int_equal(feat_fit(&spec, &cfg, log, 0, 3), 0);
  uint32_t out[6];
  size_t rows[] = {0, 1, 2, 3, 4, 5};
  feat_encode_rows(&spec, log, rows, 6, out);
  for (int i = 0; i < 6; i++)
    assert_int_equal(out[i], want[i]);
  clicks_destroy(log);
}

/* The defaults on the Criteo layout: 1488 + 2000 = 3488 columns. */
static void test_default_layout(void **state)
{
  df_config cfg;
  cfg_defaults(&cfg);
  int64_t ints[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  df_clicks *log = make_log(8, 9, ints, 1, 7);
  feat_spec spec;
  assert_int_equal(feat_fit(&spec, &cfg, log, 0, 1), 0);
  assert_int_equal(spec.n_columns, 3488);
  assert_int_equal(spec.cat_off[0], 1488);
  assert_int_equal(spec.int_off[7], 976);
  assert_int_equal(spec.cat_off[8], 3488 - 256);
  assert_int_equal(feat_width(&spec), 17);
  clicks_destroy(log);
}

/* The elapsed-time field of FSIW's aux model: appended after the
 * click's fields, 64 columns, three buckets per doubling from 30 s
 * (bucket = 1 + floor(3 log2(e / 30 s)), worked by hand), clipped. */
static void test_elapsed_field(void **state)
{
  static const struct {
    int64_t e;
    uint32_t bucket;
  } cases[] = {
      {-5, 0},      {0, 0},        {29, 0},       {30, 1},
      {59, 3},      {60, 4},       {3600, 21},    {86400, 35},
      {2592000, 50}, {1000000000, 63},
  };
  df_config cfg;
  cfg_defaults(&cfg);
  int64_t ints[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  df_clicks *log = make_log(8, 9, ints, 1, 7);
  feat_spec spec;
  assert_int_equal(feat_fit(&spec, &cfg, log, 0, 1), 0);
  assert_int_equal(feat_add_elapsed(&spec), 0);
  assert_int_equal(feat_width(&spec), 18);
  assert_int_equal(spec.n_columns, 3488 + FEAT_ELAPSED_BUCKETS);
  assert_int_equal(spec.cat_off[9], 3488);
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    if (feat_elapsed_column(&spec, cases[k].e) != 3488 + cases[k].bucket)
      fail_msg("elapsed %lld: column %u, want %u",
               (long long)cases[k].e, feat_elapsed_column(&spec, cases[k].e),
               3488 + cases[k].bucket);

  /* No room beyond CLICKS_MAX_FEATURES categorical fields. */
  spec.n_cat = CLICKS_MAX_FEATURES;
  assert_int_equal(feat_add_elapsed(&spec), DF_EINPUT);
  clicks_destroy(log);
}

/* ---- categorical buckets ---- */

/* 100000 distinct hashes into 16 buckets on two fields: every column in
 * its field's range, the same answer twice, counts within 5 sigma of
 * the uniform 6250 (sigma = sqrt(100000 (1/16)(15/16)) = 76.5), and
 * the per-field salt makes the two fields agree only about 1/16 of the
 * time (bound 0.1). */
static void test_buckets(void **state)
{
  static const char *const sets[] = {"model.cat_buckets=16", NULL};
  df_config cfg;
  config_with(&cfg, sets);
  enum { N = 100000 };
  df_clicks *log;
  assert_int_equal(clicks_create(&log, 0, 2, N, 0), 0);
  log->n = N;
  for (size_t i = 0; i < N; i++) {
    /* Hash 0 (missing) included: it gets a bucket like any value. */
    uint64_t h = (uint64_t)i * UINT64_C(0x100000001b3);
    log->cats[2 * i] = log->cats[2 * i + 1] = h;
  }
  feat_spec spec;
  assert_int_equal(feat_fit(&spec, &cfg, log, 0, N), 0);

  int count[16] = {0};
  size_t same = 0;
  for (size_t i = 0; i < N; i++) {
    uint32_t a[2], b[2];
    feat_encode(&spec, log, i, a);
    feat_encode(&spec, log, i, b);
    assert_memory_equal(a, b, sizeof a);
    assert_in_range(a[0], 0, 15);
    assert_in_range(a[1], 16, 31);
    count[a[0]]++;
    same += a[0] == a[1] - 16;
  }
  for (int k = 0; k < 16; k++)
    assert_in_range(count[k], 6250 - 383, 6250 + 383);
  assert_true(same < N / 10);
  clicks_destroy(log);
}

/* ---- bad input ---- */

typedef struct bad_case {
  const char *set;  /* one assignment */
  size_t begin, end;
  const char *want; /* in the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"model.int_bins=1", 0, 2,
     "--set: model.int_bins: integer feature 1 has 1 bin"},
    {"model.int_bins=8,1", 0, 2,
     "--set: model.int_bins: integer feature 2 has 1 bin"},
    {"model.int_bins=8", 2, 1, "rows [2, 1) are not within"},
    {"model.int_bins=8", 0, 4, "rows [0, 4) are not within the log's 3"},
};

static void test_bad_input(void **state)
{
  static const int64_t v[] = {1, 2, 3, 4, 5, 6};
  for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
    const char *sets[] = {bad_cases[c].set, NULL};
    df_config cfg;
    config_with(&cfg, sets);
    df_clicks *log = make_log(2, 1, v, 3, 9);
    feat_spec spec;
    int rc = feat_fit(&spec, &cfg, log, bad_cases[c].begin,
                      bad_cases[c].end);
    assert_int_equal(rc, DF_EINPUT);
    if (!strstr(df_errmsg(), bad_cases[c].want))
      fail_msg("message '%s' lacks '%s'", df_errmsg(), bad_cases[c].want);
    clicks_destroy(log);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_minmax_known_bins),
      cmocka_unit_test(test_scales),
      cmocka_unit_test(test_two_bins),
      cmocka_unit_test(test_default_layout),
      cmocka_unit_test(test_elapsed_field),
      cmocka_unit_test(test_buckets),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests_name("features", tests, NULL, NULL);
}
