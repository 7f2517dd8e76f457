/* clicklog.c: the Criteo Conversion Logs layout, read and written (see
 * clicklog.h for the layout and the contract).
 *
 * Reading.  The file is taken in blocks of CLICKLOG_BLOCK bytes with
 * fread; lines are found with memchr, and a line cut by the end of a
 * block is moved to the front of the buffer and completed by the next
 * read.  The buffer holds one block plus at most one line of
 * CLICKLOG_MAX_LINE bytes and is allocated once, so memory grows with
 * the number of rows only, never with the text.  Fields are parsed by
 * hand, straight into the columns of the log.
 *
 * What the reader accepts, precisely:
 *   - an integer is an optional '-' then decimal digits, nothing else
 *     (no '+', no blanks); it must fit in int64_t, and an integer
 *     feature may not be INT64_MIN, which means missing;
 *   - click_ts is a non-empty integer >= 0; conv_ts is empty (no
 *     conversion) or an integer >= click_ts;
 *   - one '\r' before the '\n' is dropped; the last line may lack its
 *     '\n'; a NUL byte anywhere is an error;
 *   - an empty file is a valid log of 0 clicks (the writer writes a
 *     log of 0 clicks as an empty file, so write then read round
 *     trips); an empty line is an error like any line with too few
 *     fields.
 * When a line has the wrong number of fields that is reported before
 * any problem within a field.  Every error names FILE:LINE and, for a
 * field, its number from 1 and its name.
 *
 * Writing.  Rows are formatted by hand into a 1 MiB buffer handed to
 * fwrite; categorical values as 16 uppercase hex digits, missing values
 * as empty fields.  The truth sidecar, when the log has one, is written
 * beside it; both are written to temporary files, flushed, and only
 * then renamed into place (the sidecar first), so a failure leaves
 * neither file half-written. */
#include "sim/clicklog_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/log.h"
#include "sim/outfile.h"

/* ---- Reading lines in blocks ------------------------------------- */

typedef struct line_reader {
  FILE *f;
  const char *path;
  char *buf;
  size_t block;    /* bytes asked of each fread */
  size_t len;      /* bytes held in buf */
  size_t pos;      /* offset of the next line */
  size_t scan;     /* no '\n' in [pos, scan) */
  size_t nul;      /* offset of the first NUL byte read, or SIZE_MAX */
  size_t line_nul; /* offset of a NUL in the current line, or SIZE_MAX */
  size_t lineno;   /* number of the current line, from 1 */
  int eof;
} line_reader;

/* Open path for reading.  A path that names nothing or a directory is
 * the user's mistake (DF_EINPUT, exit 2); a file that exists but cannot
 * be opened, as for want of permission, is a runtime failure (DF_EIO,
 * exit 1), as is an I/O error later in the read. */
static int reader_open(line_reader *r, const char *path, size_t block)
{
  memset(r, 0, sizeof *r);
  r->path = path;
  r->block = block ? block : 1;
  r->nul = SIZE_MAX;
  r->line_nul = SIZE_MAX;
  r->f = fopen(path, "rb");
  if (!r->f) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return df_fail(DF_EINPUT, "%s: no such file", path);
    if (e == EISDIR)
      return df_fail(DF_EINPUT, "%s: is a directory", path);
    return df_fail(DF_EIO, "%s: cannot open: %s", path, strerror(e));
  }
  /* fopen opens a directory on Linux; its first read would fail. */
  struct stat st;
  if (!fstat(fileno(r->f), &st) && S_ISDIR(st.st_mode))
    return df_fail(DF_EINPUT, "%s: is a directory", path);

  /* One allocation for the whole read: a block after a partial line. */
  r->buf = malloc(r->block + CLICKLOG_MAX_LINE);
  if (!r->buf)
    return df_fail(DF_ENOMEM, "out of memory for the read buffer");
  return 0;
}

static void reader_close(line_reader *r)
{
  if (r->f)
    fclose(r->f);
  free(r->buf);
  r->f = NULL;
  r->buf = NULL;
}

/* Drop the lines already returned and read one more block. */
static int reader_fill(line_reader *r)
{
  if (r->pos) {
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->scan -= r->pos;
    if (r->nul != SIZE_MAX)
      r->nul -= r->pos;
    r->pos = 0;
  }
  if (r->len > CLICKLOG_MAX_LINE)
    return df_fail(DF_EINPUT, "%s:%zu: line longer than %zu bytes",
                   r->path, r->lineno + 1, CLICKLOG_MAX_LINE);

  /* A short count means the end of the file or an error. */
  size_t got = fread(r->buf + r->len, 1, r->block, r->f);
  if (got < r->block) {
    if (ferror(r->f))
      return df_fail(DF_EIO, "%s: read failed: %s", r->path,
                     strerror(errno));
    r->eof = 1;
  }
  if (r->nul == SIZE_MAX) {
    const char *z = memchr(r->buf + r->len, '\0', got);
    if (z)
      r->nul = (size_t)(z - r->buf);
  }
  r->len += got;
  return 0;
}

/* The next line, without its "\n" or "\r\n": returns 1 with *line and
 * *n set, 0 at the end of the file, or a negative DF_E* code.  The line
 * stays valid until the next call; r->line_nul tells where in it a NUL
 * byte is, if any. */
static int reader_next(line_reader *r, const char **line, size_t *n)
{
  size_t end, next;
  for (;;) {
    const char *nl = memchr(r->buf + r->scan, '\n', r->len - r->scan);
    if (nl) {
      end = (size_t)(nl - r->buf);
      next = end + 1;
      break;
    }
    r->scan = r->len;
    if (r->eof) {
      if (r->pos == r->len)
        return 0;
      end = next = r->len;
      break;
    }
    int rc = reader_fill(r);
    if (rc)
      return rc;
  }

  r->lineno++;
  if (end - r->pos > CLICKLOG_MAX_LINE)
    return df_fail(DF_EINPUT, "%s:%zu: line longer than %zu bytes",
                   r->path, r->lineno, CLICKLOG_MAX_LINE);
  r->line_nul = r->nul < end ? r->nul - r->pos : SIZE_MAX;
  *line = r->buf + r->pos;
  *n = end - r->pos;
  if (*n && (*line)[*n - 1] == '\r')
    (*n)--;
  r->pos = r->scan = next;
  return 1;
}

/* ---- Fields ------------------------------------------------------- */

enum num_status { NUM_OK, NUM_EMPTY, NUM_BAD, NUM_RANGE };

/* Parse the field that starts at p and ends at the next '\t' or at end
 * as a signed decimal integer.  *stop is set to the end of the field.
 * The magnitude is checked against INT64_MAX (or 2^63 when negative)
 * before each step, the cutoff test of strtol. */
static enum num_status num_parse(const char *p, const char *end,
                                 const char **stop, int64_t *v)
{
  const char *s = p;
  int neg = p < end && *p == '-';
  p += neg;
  const char *digits = p;
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t cut = limit / 10;
  unsigned cut_d = (unsigned)(limit % 10);
  uint64_t m = 0;
  int range = 0;

  for (; p < end; p++) {
    unsigned d = (unsigned)(unsigned char)*p - '0';
    if (d > 9)
      break;
    if (m > cut || (m == cut && d > cut_d))
      range = 1;
    else
      m = m * 10 + d;
  }
  if (p < end && *p != '\t') {
    const char *tab = memchr(p, '\t', (size_t)(end - p));
    *stop = tab ? tab : end;
    return NUM_BAD;
  }
  *stop = p;
  if (p == s)
    return NUM_EMPTY;
  if (p == digits)
    return NUM_BAD;
  if (range)
    return NUM_RANGE;
  *v = neg ? -(int64_t)(m - 1) - 1 : (int64_t)m;
  return NUM_OK;
}

/* Hex digit values plus one; 0 for every other byte.  A table, not
 * comparisons: random hex digits would mispredict every branch. */
static const unsigned char hex_value[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16};

/* A categorical value: 16 hex digits are that number (unless zero),
 * anything else its hash, empty is missing. */
static uint64_t cat_value(const char *s, size_t len)
{
  if (len == 0)
    return CLICKS_MISSING_CAT;
  if (len == 16) {
    uint64_t v = 0;
    unsigned bad = 0;
    for (int i = 0; i < 16; i++) {
      unsigned d = hex_value[(unsigned char)s[i]];
      bad |= d == 0;
      v = v << 4 | ((uint64_t)(d - 1) & 15);
    }
    if (!bad && v != 0)
      return v;
  }
  return clicks_hash_cat(s, len);
}

/* The field text for a message: at most 40 bytes, control and non-ASCII
 * bytes shown as '?'. */
static const char *field_quote(char *buf, size_t size, const char *p,
                               size_t len)
{
  size_t k = 0;
  for (; k < len && k < 40 && k + 4 < size; k++) {
    unsigned char c = (unsigned char)p[k];
    buf[k] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
  }
  if (k < len && k + 4 < size) {
    memcpy(buf + k, "...", 3);
    k += 3;
  }
  buf[k] = '\0';
  return buf;
}

static int count_fields(const char *line, size_t n)
{
  int k = 1;
  for (size_t i = 0; i < n; i++)
    k += line[i] == '\t';
  return k;
}

/* ---- Parsing a log line -------------------------------------------- */

typedef struct log_parser {
  const char *path;
  line_reader *r;
  df_clicks *log;
  const char *line; /* the current line and its length */
  size_t n;
} log_parser;

static void log_field_name(char *buf, size_t size, int k, int n_int)
{
  if (k == 0)
    snprintf(buf, size, "click_ts");
  else if (k == 1)
    snprintf(buf, size, "conv_ts");
  else if (k < 2 + n_int)
    snprintf(buf, size, "int_%d", k - 1);
  else
    snprintf(buf, size, "cat_%d", k - 1 - n_int);
}

/* Fail on field k (from 0) of the current line, unless the line has
 * the wrong number of fields, which is reported instead. */
static int log_fail(log_parser *lp, int k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int log_fail(log_parser *lp, int k, const char *fmt, ...)
{
  int want = 2 + lp->log->n_int + lp->log->n_cat;
  int found = count_fields(lp->line, lp->n);
  if (found != want)
    return df_fail(DF_EINPUT, "%s:%zu: expected %d fields, found %d%s",
                   lp->path, lp->r->lineno, want, found,
                   lp->n ? "" : " (an empty line)");

  char problem[256], name[32];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(problem, sizeof problem, fmt, ap);
  va_end(ap);
  log_field_name(name, sizeof name, k, lp->log->n_int);
  return df_fail(DF_EINPUT, "%s:%zu: field %d (%s): %s", lp->path,
                 lp->r->lineno, k + 1, name, problem);
}

/* The message for a bad integer field [p, stop). */
static int log_fail_num(log_parser *lp, int k, enum num_status st,
                        const char *p, const char *stop)
{
  char q[64];
  field_quote(q, sizeof q, p, (size_t)(stop - p));
  if (st == NUM_EMPTY)
    return log_fail(lp, k, "empty");
  if (st == NUM_RANGE)
    return log_fail(lp, k, "'%s' is out of range", q);
  return log_fail(lp, k, "'%s' is not an integer", q);
}

/* Parse the two times of row `row` from the line; *p moves past them. */
static int log_parse_times(log_parser *lp, size_t row, const char **pp,
                           const char *end)
{
  const char *p = *pp, *stop;
  int64_t click = 0, conv = CLICKS_NO_CONVERSION;

  enum num_status st = num_parse(p, end, &stop, &click);
  if (st == NUM_EMPTY)
    return log_fail(lp, 0, "empty click time");
  if (st != NUM_OK)
    return log_fail_num(lp, 0, st, p, stop);
  if (click < 0)
    return log_fail(lp, 0, "negative click time %" PRId64, click);
  if (stop == end)
    return log_fail(lp, 1, "missing");

  p = stop + 1;
  st = num_parse(p, end, &stop, &conv);
  if (st == NUM_EMPTY)
    conv = CLICKS_NO_CONVERSION;
  else if (st != NUM_OK)
    return log_fail_num(lp, 1, st, p, stop);
  else if (conv < click)
    return log_fail(lp, 1,
                    "conversion time %" PRId64 " before click time %" PRId64,
                    conv, click);

  lp->log->click_ts[row] = click;
  lp->log->conv_ts[row] = conv;
  *pp = stop;
  return 0;
}

/* Parse one line into row log->n and count it. */
static int log_parse_line(log_parser *lp)
{
  df_clicks *log = lp->log;
  size_t row = log->n;
  int rc = clicks_reserve(log, row + 1);
  if (rc)
    return rc;
  if (lp->r->line_nul != SIZE_MAX)
    return log_fail(lp, count_fields(lp->line, lp->r->line_nul) - 1,
                    "embedded NUL byte");

  /* The times, then each integer, then each categorical feature; p is
   * always at the '\t' or end that closes the previous field. */
  const char *p = lp->line, *end = lp->line + lp->n, *stop;
  rc = log_parse_times(lp, row, &p, end);
  if (rc)
    return rc;

  int64_t *ints = log->ints + row * (size_t)log->n_int;
  for (int j = 0; j < log->n_int; j++) {
    if (p == end)
      return log_fail(lp, 2 + j, "missing");
    p++;
    int64_t v = 0;
    enum num_status st = num_parse(p, end, &stop, &v);
    if (st == NUM_EMPTY)
      v = CLICKS_MISSING_INT;
    else if (st != NUM_OK || v == CLICKS_MISSING_INT)
      return log_fail_num(lp, 2 + j, st == NUM_OK ? NUM_RANGE : st, p,
                          stop);
    ints[j] = v;
    p = stop;
  }

  uint64_t *cats = log->cats + row * (size_t)log->n_cat;
  for (int j = 0; j < log->n_cat; j++) {
    if (p == end)
      return log_fail(lp, 2 + log->n_int + j, "missing");
    p++;
    const char *tab = memchr(p, '\t', (size_t)(end - p));
    stop = tab ? tab : end;
    cats[j] = cat_value(p, (size_t)(stop - p));
    p = stop;
  }
  if (p != end)
    return log_fail(lp, 0, "too many fields");
  log->n++;
  return 0;
}

/* ---- The truth sidecar -------------------------------------------- */

typedef struct truth_parser {
  const char *path;
  line_reader *r;
} truth_parser;

static int truth_fail(truth_parser *tp, int k, const char *what,
                      const char *p, size_t len)
{
  static const char *const names[] = {"p", "delay"};
  char q[64];
  field_quote(q, sizeof q, p, len);
  if (len == 0)
    return df_fail(DF_EINPUT, "%s:%zu: field %d (%s): empty", tp->path,
                   tp->r->lineno, k + 1, names[k]);
  return df_fail(DF_EINPUT, "%s:%zu: field %d (%s): '%s' %s", tp->path,
                 tp->r->lineno, k + 1, names[k], q, what);
}

/* Parse "p<TAB>delay" into row `row` of log. */
static int truth_parse_line(truth_parser *tp, const char *line, size_t n,
                            df_clicks *log, size_t row)
{
  int found = count_fields(line, n);
  if (found != 2)
    return df_fail(DF_EINPUT, "%s:%zu: expected 2 fields, found %d%s",
                   tp->path, tp->r->lineno, found,
                   n ? "" : " (an empty line)");
  if (tp->r->line_nul != SIZE_MAX)
    return df_fail(DF_EINPUT, "%s:%zu: field %d (%s): embedded NUL byte",
                   tp->path, tp->r->lineno,
                   count_fields(line, tp->r->line_nul),
                   count_fields(line, tp->r->line_nul) == 1 ? "p"
                                                            : "delay");

  /* p: strtod needs a terminated copy; the C locale is in force. */
  const char *tab = memchr(line, '\t', n);
  size_t plen = (size_t)(tab - line);
  char num[64], *e;
  if (plen == 0 || plen >= sizeof num)
    return truth_fail(tp, 0, "is not a probability", line, plen);
  memcpy(num, line, plen);
  num[plen] = '\0';
  double p = strtod(num, &e);
  if (e != num + plen || !(p >= 0 && p <= 1))
    return truth_fail(tp, 0, "is not a probability in [0, 1]", line, plen);

  /* delay: an integer >= -1. */
  const char *d = tab + 1, *end = line + n, *stop;
  int64_t delay = 0;
  enum num_status st = num_parse(d, end, &stop, &delay);
  if (st == NUM_RANGE)
    return truth_fail(tp, 1, "is out of range", d, (size_t)(end - d));
  if (st != NUM_OK)
    return truth_fail(tp, 1, "is not an integer", d, (size_t)(end - d));
  if (delay < -1)
    return truth_fail(tp, 1, "is below -1", d, (size_t)(end - d));

  if (row < log->n) {
    log->truth_p[row] = p;
    log->truth_delay[row] = delay;
  }
  return 0;
}

/* Read truth_path into log; log_path, when known, is named in the
 * message about a line count that does not match. */
static int truth_read(const char *truth_path, const char *log_path,
                      df_clicks *log, size_t block)
{
  line_reader r;
  memset(&r, 0, sizeof r);
  truth_parser tp = {truth_path, &r};
  locale_t c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (!c_loc)
    return df_fail(DF_ENOMEM, "cannot create the C locale");
  locale_t old = uselocale(c_loc);

  int rc = clicks_add_truth(log);
  if (!rc)
    rc = reader_open(&r, truth_path, block);
  const char *line;
  size_t n, rows = 0;
  while (!rc && (rc = reader_next(&r, &line, &n)) == 1)
    rc = truth_parse_line(&tp, line, n, log, rows++);
  reader_close(&r);

  /* Every click needs its line and every line its click. */
  if (!rc && rows != log->n) {
    if (log_path)
      rc = df_fail(DF_EINPUT, "%s has %zu lines but %s has %zu clicks",
                   truth_path, rows, log_path, log->n);
    else
      rc = df_fail(DF_EINPUT, "%s has %zu lines but the log has %zu "
                   "clicks", truth_path, rows, log->n);
  }
  if (rc) {
    free(log->truth_p);
    free(log->truth_delay);
    log->truth_p = NULL;
    log->truth_delay = NULL;
  }
  uselocale(old);
  freelocale(c_loc);
  return rc;
}

int clicklog_read_truth_blocks(const char *truth_path, df_clicks *log,
                               size_t block)
{
  return truth_read(truth_path, NULL, log, block);
}

int clicklog_read_truth(const char *truth_path, df_clicks *log)
{
  return truth_read(truth_path, NULL, log, CLICKLOG_BLOCK);
}

/* ---- Reading a log ------------------------------------------------ */

int clicklog_read_blocks(const char *path, int n_int, int n_cat,
                         int with_truth, size_t block, df_clicks **out)
{
  *out = NULL;
  df_clicks *log = NULL;
  line_reader r;
  memset(&r, 0, sizeof r);
  int rc = clicks_create(&log, n_int, n_cat, 0, 0);
  if (rc)
    return rc;

  /* Every line, in order, straight into the columns. */
  rc = reader_open(&r, path, block);
  log_parser lp = {path, &r, log, NULL, 0};
  while (!rc && (rc = reader_next(&r, &lp.line, &lp.n)) == 1)
    rc = log_parse_line(&lp);
  reader_close(&r);
  if (rc)
    goto cleanup;

  /* The sidecar, when asked for and present. */
  if (with_truth) {
    char tpath[4200];
    snprintf(tpath, sizeof tpath, "%s.truth", path);
    if (access(tpath, F_OK) == 0)
      rc = truth_read(tpath, path, log, block);
  }

cleanup:
  if (rc)
    clicks_destroy(log);
  else
    *out = log;
  return rc;
}

int clicklog_read(const char *path, int n_int, int n_cat, int with_truth,
                  df_clicks **out)
{
  return clicklog_read_blocks(path, n_int, n_cat, with_truth,
                              CLICKLOG_BLOCK, out);
}

int clicklog_first_fields(const char *path, int *n_fields)
{
  line_reader r;
  const char *line;
  size_t n;
  *n_fields = 0;
  int rc = reader_open(&r, path, CLICKLOG_BLOCK);
  if (!rc)
    rc = reader_next(&r, &line, &n);
  if (rc == 1) {
    *n_fields = count_fields(line, n);
    rc = 0;
  }
  reader_close(&r);
  return rc;
}

/* ---- Writing ------------------------------------------------------ */

/* Rows are formatted into buf and handed to fwrite when it is nearly
 * full; the first write error is kept. */
typedef struct out_buf {
  out_file *o;
  char *buf;
  size_t n, cap;
  int err;
} out_buf;

static void obuf_flush(out_buf *b)
{
  if (b->n && !b->err && fwrite(b->buf, 1, b->n, b->o->f) != b->n)
    b->err = errno ? errno : EIO;
  b->n = 0;
}

static char *fmt_i64(char *p, int64_t v)
{
  char tmp[24];
  int k = 0;
  uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  if (v < 0)
    *p++ = '-';
  do {
    tmp[k++] = (char)('0' + m % 10);
    m /= 10;
  } while (m);
  while (k)
    *p++ = tmp[--k];
  return p;
}

static char *fmt_hex16(char *p, uint64_t v)
{
  static const char digits[] = "0123456789ABCDEF";
  for (int i = 15; i >= 0; i--) {
    p[i] = digits[v & 15];
    v >>= 4;
  }
  return p + 16;
}

/* One log row, with its '\n'; at most 21 bytes a number, 17 a cat. */
static char *fmt_row(char *p, const df_clicks *log, size_t i)
{
  p = fmt_i64(p, log->click_ts[i]);
  *p++ = '\t';
  if (log->conv_ts[i] != CLICKS_NO_CONVERSION)
    p = fmt_i64(p, log->conv_ts[i]);
  const int64_t *ints = log->ints + i * (size_t)log->n_int;
  for (int j = 0; j < log->n_int; j++) {
    *p++ = '\t';
    if (ints[j] != CLICKS_MISSING_INT)
      p = fmt_i64(p, ints[j]);
  }
  const uint64_t *cats = log->cats + i * (size_t)log->n_cat;
  for (int j = 0; j < log->n_cat; j++) {
    *p++ = '\t';
    if (cats[j] != CLICKS_MISSING_CAT)
      p = fmt_hex16(p, cats[j]);
  }
  *p++ = '\n';
  return p;
}

/* Refuse rows the reader would refuse, so that write then read holds. */
static int check_rows(const df_clicks *log)
{
  for (size_t i = 0; i < log->n; i++) {
    int64_t c = log->click_ts[i], v = log->conv_ts[i];
    if (c < 0)
      return df_fail(DF_EINPUT, "click %zu: negative click time %" PRId64,
                     i, c);
    if (v != CLICKS_NO_CONVERSION && v < c)
      return df_fail(DF_EINPUT,
                     "click %zu: conversion time %" PRId64
                     " before click time %" PRId64,
                     i, v, c);
  }
  return 0;
}

static int write_rows(const df_clicks *log, out_buf *b)
{
  size_t row_max = (size_t)(2 + log->n_int) * 21 + (size_t)log->n_cat * 17;
  for (size_t i = 0; i < log->n && !b->err; i++) {
    if (b->cap - b->n < row_max + 1)
      obuf_flush(b);
    b->n = (size_t)(fmt_row(b->buf + b->n, log, i) - b->buf);
  }
  obuf_flush(b);
  return b->err;
}

/* p with %.17g (round trip) and the delay, in the C locale. */
static int write_truth(const df_clicks *log, out_buf *b)
{
  locale_t c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (!c_loc)
    return ENOMEM;
  locale_t old = uselocale(c_loc);
  for (size_t i = 0; i < log->n && !b->err; i++) {
    if (b->cap - b->n < 64)
      obuf_flush(b);
    char *p = b->buf + b->n;
    p += snprintf(p, 32, "%.17g\t", log->truth_p[i]);
    p = fmt_i64(p, log->truth_delay[i]);
    *p++ = '\n';
    b->n = (size_t)(p - b->buf);
  }
  obuf_flush(b);
  uselocale(old);
  freelocale(c_loc);
  return b->err;
}

/* Write everything to the temporaries and flush them. */
static int write_both(const df_clicks *log, out_file *lo, out_file *tr)
{
  out_buf b = {lo, malloc((size_t)1 << 20), 0, (size_t)1 << 20, 0};
  if (!b.buf)
    return df_fail(DF_ENOMEM, "out of memory for the write buffer");
  int e = write_rows(log, &b);
  if (!e && fflush(lo->f))
    e = errno;
  if (e) {
    free(b.buf);
    return df_fail(DF_EIO, "%s: write failed: %s", lo->path, strerror(e));
  }
  if (tr->f) {
    b.o = tr;
    e = write_truth(log, &b);
    if (!e && fflush(tr->f))
      e = errno;
  }
  free(b.buf);
  if (e)
    return df_fail(DF_EIO, "%s: write failed: %s", tr->path, strerror(e));
  return 0;
}

int clicklog_write(const df_clicks *log, const char *path, int force)
{
  out_file lo, tr;
  memset(&lo, 0, sizeof lo);
  memset(&tr, 0, sizeof tr);
  char tpath[4200];
  int has_truth = log->truth_p && log->truth_delay;
  int committed_truth = 0;
  snprintf(tpath, sizeof tpath, "%s.truth", path);

  /* A stale sidecar would be read as the truth of the new log. */
  int rc = check_rows(log);
  if (!rc && !has_truth && !force && access(tpath, F_OK) == 0)
    rc = df_fail(DF_EINPUT, "%s exists and would not match the new log; "
                 "refusing to overwrite it (pass --force to replace it)",
                 tpath);
  if (!rc)
    rc = out_open(&lo, path, force);
  if (!rc && has_truth)
    rc = out_open(&tr, tpath, force);
  if (!rc)
    rc = write_both(log, &lo, &tr);
  if (rc)
    goto cleanup;

  /* Both are complete on disk: put the sidecar in place, then the log;
   * if the log cannot follow, the new sidecar goes too. */
  if (has_truth) {
    rc = out_commit(&tr);
    committed_truth = !rc;
  } else if (access(tpath, F_OK) == 0 && unlink(tpath)) {
    rc = df_fail(DF_EIO, "%s: cannot remove the stale sidecar: %s", tpath,
                 strerror(errno));
  }
  if (!rc) {
    rc = out_commit(&lo);
    if (rc && committed_truth)
      unlink(tpath);
  }

cleanup:
  if (rc) {
    if (lo.f)
      out_abort(&lo);
    if (tr.f)
      out_abort(&tr);
  }
  return rc;
}
