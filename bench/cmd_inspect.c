/* cmd_inspect.c: `dfbench inspect FILE`: what a Criteo-layout click log
 * holds, told to a person (text) or to a script (tsv).
 *
 * Definitions (also in --help):
 *   cvr       conversions / clicks;
 *   delay     conv_ts - click_ts of each converted click;
 *   quantile  of the sorted delays d[0..n-1] at fraction f, by linear
 *             interpolation: h = f (n - 1), q = d[floor h] +
 *             (h - floor h) (d[floor h + 1] - d[floor h]), the
 *             definition of GSL's gsl_stats_quantile_from_sorted_data
 *             and numpy's default;
 *   share_within_T  #{delay <= T} / conversions (T inclusive);
 *   day       floor(click_ts / 86400); conversions are counted on the
 *             day of their click.
 * Undefined numbers (no clicks, no conversions) are "n/a" in the text
 * and "nan" in the tsv.  An empty file is a valid log of 0 clicks and
 * is reported as such, with exit status 0. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "sim/clicklog.h"
#include "sim/log.h"

static const char usage[] =
    "usage: dfbench inspect FILE [--format text|tsv] [--int-features N]\n"
    "                            [--cat-features N]\n"
    "\n"
    "Read a click log in the Criteo Conversion Logs layout and print\n"
    "what it holds: clicks, conversions, CVR, time span, clicks per day,\n"
    "the missing share of each feature, the delay of converted clicks\n"
    "(quantiles 10/25/50/75/90/99 %, linear interpolation between order\n"
    "statistics, as GSL and numpy) and the share of conversions that\n"
    "came within 15m, 1h, 1d, 7d, 14d and 30d of their click (delay <=\n"
    "the bound, over all conversions).\n"
    "\n"
    "  --format text|tsv   text for a person (default) or KEY<TAB>VALUE\n"
    "                      lines: rows, conversions, cvr, first_click_ts,\n"
    "                      last_click_ts, span_s, days, delay_mean_s,\n"
    "                      delay_q10_s .. delay_q99_s, share_within_15m\n"
    "                      .. share_within_30d, missing_int_J,\n"
    "                      missing_cat_J; reals as %.17g, \"nan\" where\n"
    "                      undefined (no clicks, or no conversions)\n"
    "  --int-features N    integer features per line (default 8)\n"
    "  --cat-features N    categorical features per line (default 9)\n"
    "  -h, --help          this text\n"
    "\n"
    "Without --int-features and --cat-features FILE must be in the\n"
    "Criteo layout, 19 fields a line (2 times, 8 integer and 9\n"
    "categorical features); a first line with another count is refused\n"
    "with the flags to pass.  A log that generate wrote with other\n"
    "generator.int_features or cat_features needs them (generate prints\n"
    "them).  A flag given alone leaves the other count at its default.\n"
    "\n"
    "Days: a click's day is floor(click_ts / 86400).  The text's\n"
    "\"touching N calendar days\" and the tsv's days count the days from\n"
    "the first click's to the last click's, both included, so a time span\n"
    "of 6.0d may touch 7 days.\n"
    "\n"
    "A line longer than 1 MiB (1048576 bytes) is refused as malformed.\n"
    "An empty file is a log of 0 clicks.  Exit status: 0 success; 2 on\n"
    "bad usage, when FILE does not exist or is a directory, or on a\n"
    "malformed line (FILE:LINE: field N (name): problem); 1 when FILE\n"
    "exists but cannot be read (no permission, an I/O error).\n";

/* The feature counts of the Criteo Conversion Logs. */
#define CRITEO_INT 8
#define CRITEO_CAT 9

#define N_QUANTILES 6
#define N_SHARES 6
/* Per-day rows beyond this are not listed (a malformed time scale). */
#define MAX_DAYS 100000

static const double quantile_f[N_QUANTILES] = {0.10, 0.25, 0.50,
                                               0.75, 0.90, 0.99};
static const char *const quantile_key[N_QUANTILES] = {
    "q10", "q25", "q50", "q75", "q90", "q99"};
static const struct {
  int64_t seconds;
  const char *name;
} share_bound[N_SHARES] = {{900, "15m"},     {3600, "1h"},
                           {86400, "1d"},    {604800, "7d"},
                           {1209600, "14d"}, {2592000, "30d"}};

typedef struct inspect_stats {
  size_t rows, conversions;
  int64_t first_click, last_click;
  int64_t first_day, n_days; /* days listed from first_day */
  size_t *day_clicks, *day_convs;
  double missing_int[CLICKS_MAX_FEATURES];
  double missing_cat[CLICKS_MAX_FEATURES];
  double delay_mean;
  double quantile[N_QUANTILES];
  double share[N_SHARES];
} inspect_stats;

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Quantile f of sorted d[0..n-1] by linear interpolation (n > 0). */
static double quantile_sorted(const int64_t *d, size_t n, double f)
{
  double h = f * (double)(n - 1);
  size_t lo = (size_t)h;
  if (lo + 1 >= n)
    return (double)d[n - 1];
  return (double)d[lo] + (h - (double)lo) * (double)(d[lo + 1] - d[lo]);
}

/* Number of d[i] <= x in sorted d (upper bound). */
static size_t count_le(const int64_t *d, size_t n, int64_t x)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (d[mid] <= x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Clicks, conversions and the per-day counts. */
static int stats_counts(const df_clicks *log, inspect_stats *st)
{
  st->rows = log->n;
  st->first_click = INT64_MAX;
  st->last_click = INT64_MIN;
  for (size_t i = 0; i < log->n; i++) {
    int64_t c = log->click_ts[i];
    st->first_click = c < st->first_click ? c : st->first_click;
    st->last_click = c > st->last_click ? c : st->last_click;
    st->conversions += log->conv_ts[i] != CLICKS_NO_CONVERSION;
  }
  if (!log->n)
    return 0;

  st->first_day = st->first_click / 86400;
  st->n_days = st->last_click / 86400 - st->first_day + 1;
  if (st->n_days > MAX_DAYS)
    return 0;
  st->day_clicks = calloc((size_t)st->n_days, sizeof(size_t));
  st->day_convs = calloc((size_t)st->n_days, sizeof(size_t));
  if (!st->day_clicks || !st->day_convs)
    return df_fail(DF_ENOMEM, "out of memory for %" PRId64 " days",
                   st->n_days);
  for (size_t i = 0; i < log->n; i++) {
    size_t d = (size_t)(log->click_ts[i] / 86400 - st->first_day);
    st->day_clicks[d]++;
    st->day_convs[d] += log->conv_ts[i] != CLICKS_NO_CONVERSION;
  }
  return 0;
}

/* The share of missing values of each feature. */
static void stats_missing(const df_clicks *log, inspect_stats *st)
{
  size_t miss_int[CLICKS_MAX_FEATURES] = {0};
  size_t miss_cat[CLICKS_MAX_FEATURES] = {0};
  for (size_t i = 0; i < log->n; i++) {
    const int64_t *v = log->ints + i * (size_t)log->n_int;
    const uint64_t *c = log->cats + i * (size_t)log->n_cat;
    for (int j = 0; j < log->n_int; j++)
      miss_int[j] += v[j] == CLICKS_MISSING_INT;
    for (int j = 0; j < log->n_cat; j++)
      miss_cat[j] += c[j] == CLICKS_MISSING_CAT;
  }
  for (int j = 0; j < log->n_int; j++)
    st->missing_int[j] = log->n ? (double)miss_int[j] / log->n : NAN;
  for (int j = 0; j < log->n_cat; j++)
    st->missing_cat[j] = log->n ? (double)miss_cat[j] / log->n : NAN;
}

/* Quantiles, mean and shares of the delays of converted clicks. */
static int stats_delays(const df_clicks *log, inspect_stats *st)
{
  size_t n = st->conversions;
  for (int k = 0; k < N_QUANTILES; k++)
    st->quantile[k] = NAN;
  for (int k = 0; k < N_SHARES; k++)
    st->share[k] = NAN;
  st->delay_mean = NAN;
  if (!n)
    return 0;

  int64_t *d = malloc(n * sizeof *d);
  if (!d)
    return df_fail(DF_ENOMEM, "out of memory for %zu delays", n);
  size_t k = 0;
  double sum = 0;
  for (size_t i = 0; i < log->n; i++)
    if (log->conv_ts[i] != CLICKS_NO_CONVERSION) {
      d[k] = log->conv_ts[i] - log->click_ts[i];
      sum += (double)d[k++];
    }
  qsort(d, n, sizeof *d, cmp_i64);

  st->delay_mean = sum / (double)n;
  for (int q = 0; q < N_QUANTILES; q++)
    st->quantile[q] = quantile_sorted(d, n, quantile_f[q]);
  for (int s = 0; s < N_SHARES; s++)
    st->share[s] = (double)count_le(d, n, share_bound[s].seconds) / n;
  free(d);
  return 0;
}

/* A duration for a person: 45s, 13m, 4.2h, 6.1d (two or three
 * significant digits). */
static const char *fmt_duration(char *buf, size_t size, double s)
{
  static const struct {
    double unit;
    const char *suffix;
  } units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  if (isnan(s))
    return "n/a";
  int u = 0;
  while (u < 3 && s < units[u].unit)
    u++;
  double v = s / units[u].unit;
  snprintf(buf, size, v < 10 && u < 3 ? "%.1f%s" : "%.0f%s", v,
           units[u].suffix);
  return buf;
}

static void print_tsv(const inspect_stats *st, int n_int, int n_cat)
{
  printf("rows\t%zu\nconversions\t%zu\n", st->rows, st->conversions);
  printf("cvr\t%.17g\n",
         st->rows ? (double)st->conversions / st->rows : NAN);
  if (st->rows)
    printf("first_click_ts\t%" PRId64 "\nlast_click_ts\t%" PRId64
           "\nspan_s\t%" PRId64 "\ndays\t%" PRId64 "\n",
           st->first_click, st->last_click,
           st->last_click - st->first_click, st->n_days);
  else
    printf("first_click_ts\tnan\nlast_click_ts\tnan\nspan_s\tnan\n"
           "days\t0\n");
  printf("delay_mean_s\t%.17g\n", st->delay_mean);
  for (int q = 0; q < N_QUANTILES; q++)
    printf("delay_%s_s\t%.17g\n", quantile_key[q], st->quantile[q]);
  for (int s = 0; s < N_SHARES; s++)
    printf("share_within_%s\t%.17g\n", share_bound[s].name, st->share[s]);
  for (int j = 0; j < n_int; j++)
    printf("missing_int_%d\t%.17g\n", j + 1, st->missing_int[j]);
  for (int j = 0; j < n_cat; j++)
    printf("missing_cat_%d\t%.17g\n", j + 1, st->missing_cat[j]);
}

static void print_text_days(const inspect_stats *st)
{
  if (!st->day_clicks) {
    printf("\nclicks per day: not listed (%" PRId64 " days)\n",
           st->n_days);
    return;
  }
  printf("\nclicks per day:\n  %5s %10s %12s %8s\n", "day", "clicks",
         "conversions", "cvr");
  for (int64_t d = 0; d < st->n_days; d++) {
    size_t c = st->day_clicks[d], v = st->day_convs[d];
    if (c)
      printf("  %5" PRId64 " %10zu %12zu %8.4f\n", st->first_day + d, c,
             v, (double)v / c);
    else
      printf("  %5" PRId64 " %10d %12d %8s\n", st->first_day + d, 0, 0,
             "n/a");
  }
}

/* One group of features, five to a line. */
static void print_text_missing(const char *kind, const double *m, int n)
{
  for (int j = 0; j < n; j++) {
    char name[16];
    snprintf(name, sizeof name, "%s_%d", kind, j + 1);
    printf("%s%-6s %5.1f%%", j % 5 ? "   " : "  ", name, 100 * m[j]);
    if (j % 5 == 4 || j + 1 == n)
      printf("\n");
  }
}

static void print_text_delays(const inspect_stats *st)
{
  char b[32];
  if (!st->conversions) {
    printf("\ndelay of converted clicks: n/a (no conversions)\n");
    return;
  }
  printf("\ndelay of converted clicks (%zu):\n ", st->conversions);
  for (int q = 0; q < N_QUANTILES; q++)
    printf(" %s %s", quantile_key[q],
           fmt_duration(b, sizeof b, st->quantile[q]));
  printf("  mean %s\n", fmt_duration(b, sizeof b, st->delay_mean));
  printf("conversions within:\n ");
  for (int s = 0; s < N_SHARES; s++)
    printf(" %s %.1f%%", share_bound[s].name, 100 * st->share[s]);
  printf("\n");
}

static void print_text(const char *path, const inspect_stats *st,
                       int n_int, int n_cat)
{
  char b[32];
  printf("file         %s\n", path);
  if (!st->rows) {
    printf("clicks       0 (the file is empty)\n");
    return;
  }
  double cvr = (double)st->conversions / st->rows;
  printf("clicks       %zu\nconversions  %zu\n", st->rows,
         st->conversions);
  printf("cvr          %.4f (%.2f%%)\n", cvr, 100 * cvr);
  const char *span =
      fmt_duration(b, sizeof b, (double)(st->last_click - st->first_click));
  printf("time span    %s (clicks from %" PRId64 " s to %" PRId64 " s)\n",
         span, st->first_click, st->last_click);
  printf("days         touching %" PRId64 " calendar day%s (day %" PRId64
         " to %" PRId64 ")\n",
         st->n_days, st->n_days == 1 ? "" : "s", st->first_day,
         st->first_day + st->n_days - 1);
  print_text_days(st);
  if (n_int + n_cat)
    printf("\nmissing share per feature:\n");
  print_text_missing("int", st->missing_int, n_int);
  print_text_missing("cat", st->missing_cat, n_cat);
  print_text_delays(st);
}

/* A feature count option: an integer in [0, CLICKS_MAX_FEATURES]. */
static int parse_count(const char *opt, const char *v, int *out)
{
  char *end;
  long x = strtol(v, &end, 10);
  if (!*v || *end || x < 0 || x > CLICKS_MAX_FEATURES) {
    cli_usage_error("inspect", "%s must be an integer in [0, %d], not "
                    "'%s'", opt, CLICKS_MAX_FEATURES, v);
    return -1;
  }
  *out = (int)x;
  return 0;
}

/* Options into *path, *tsv and the feature counts; returns -1 after
 * a usage error, 1 after --help, 0 to go on. */
static int parse_args(int argc, char **argv, const char **path, int *tsv,
                      int *n_int, int *n_cat)
{
  for (int i = 1; i < argc;) {
    const char *v;
    int m;
    if (cli_opt_flag(argv, &i, "--help", "-h")) {
      fputs(usage, stdout);
      return 1;
    }
    if ((m = cli_opt_value("inspect", argc, argv, &i, "--format", NULL,
                           &v))) {
      if (m > 0 && strcmp(v, "text") && strcmp(v, "tsv")) {
        cli_usage_error("inspect", "--format must be text or tsv, not "
                        "'%s'", v);
        return -1;
      }
      if (m > 0)
        *tsv = !strcmp(v, "tsv");
    } else if ((m = cli_opt_value("inspect", argc, argv, &i,
                                  "--int-features", NULL, &v))) {
      if (m > 0 && parse_count("--int-features", v, n_int))
        return -1;
    } else if ((m = cli_opt_value("inspect", argc, argv, &i,
                                  "--cat-features", NULL, &v))) {
      if (m > 0 && parse_count("--cat-features", v, n_cat))
        return -1;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      cli_unknown_arg("inspect", argv[i]);
      return -1;
    } else if (*path) {
      cli_usage_error("inspect", "one FILE only ('%s' is extra)", argv[i]);
      return -1;
    } else {
      *path = argv[i++];
    }
    if (m < 0)
      return -1;
  }
  if (!*path) {
    cli_usage_error("inspect", "no FILE given");
    return -1;
  }
  return 0;
}

/* Without either feature count the file must be in the Criteo layout;
 * its first line is checked first, so that another layout fails with
 * the flags to pass rather than as a malformed line.  A count that was
 * given wins; one that was not takes Criteo's.  On a first line of
 * another layout *other is its feature count, for the hint. */
static int resolve_layout(const char *path, int *n_int, int *n_cat,
                          int *other)
{
  *other = -1;
  if (*n_int < 0 && *n_cat < 0) {
    int fields;
    int rc = clicklog_first_fields(path, &fields);
    if (rc)
      return rc;
    if (fields && fields != 2 + CRITEO_INT + CRITEO_CAT) {
      *other = fields - 2;
      return df_fail(DF_EINPUT,
                     "%s:1: expected %d fields (the Criteo layout: 2 "
                     "times, %d integer and %d categorical features), "
                     "found %d",
                     path, 2 + CRITEO_INT + CRITEO_CAT, CRITEO_INT,
                     CRITEO_CAT, fields);
    }
  }
  *n_int = *n_int < 0 ? CRITEO_INT : *n_int;
  *n_cat = *n_cat < 0 ? CRITEO_CAT : *n_cat;
  return 0;
}

int cmd_inspect(int argc, char **argv)
{
  const char *path = NULL;
  int tsv = 0, n_int = -1, n_cat = -1; /* -1: not given */
  int a = parse_args(argc, argv, &path, &tsv, &n_int, &n_cat);
  if (a)
    return a > 0 ? 0 : 2;

  int other;
  int rc = resolve_layout(path, &n_int, &n_cat, &other);
  if (rc) {
    int status = cli_fail(rc);
    if (other >= 0)
      log_hint("for a log with other feature counts pass --int-features "
               "N --cat-features M with N + M = %d",
               other);
    return status;
  }

  df_clicks *log = NULL;
  inspect_stats st;
  memset(&st, 0, sizeof st);
  rc = clicklog_read(path, n_int, n_cat, 0, &log);
  if (!rc)
    rc = stats_counts(log, &st);
  if (!rc) {
    stats_missing(log, &st);
    rc = stats_delays(log, &st);
  }
  if (!rc) {
    if (tsv)
      print_tsv(&st, n_int, n_cat);
    else
      print_text(path, &st, n_int, n_cat);
    if (fflush(stdout))
      rc = df_fail(DF_EIO, "cannot write to stdout");
  }
  free(st.day_clicks);
  free(st.day_convs);
  clicks_destroy(log);
  return rc ? cli_fail(rc) : 0;
}
