/* cmd_score.c: `dfbench score FILE`: the metrics of a file of labelled
 * probabilities, optionally per group, as one TSV header and one TSV
 * value line.  The input rules and the output are described in usage[]
 * below, which is also the --help text. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/cli.h"
#include "bench/metrics.h"
#include "sim/log.h"

static const char usage[] =
    "usage: dfbench score FILE\n"
    "\n"
    "Score labelled probabilities.  FILE (or '-' for stdin) holds TSV\n"
    "lines 'label<TAB>prediction[<TAB>group]': label 0 or 1, prediction\n"
    "a decimal number in [0, 1] with no white space around it (not\n"
    "hexadecimal; a value below the smallest double, such as 1e-400,\n"
    "reads as 0), group any string; no NUL bytes.  A first line made of\n"
    "column names is a header and the columns are then read by name:\n"
    "'label', 'prediction', and 'group' or 'hour'.\n"
    "\n"
    "Output, tab-separated, a header line then a value line:\n"
    "  n  positives  auc  pr_auc  ap  nll\n"
    "AUC is the trapezoid ROC area with ties counted one half; PR-AUC is\n"
    "sklearn's precision_recall_curve + auc; AP is sklearn's\n"
    "average_precision_score; NLL is the mean natural-log cross-entropy\n"
    "of the probabilities clipped to [1e-7, 1 - 1e-7].  Floats are the\n"
    "shortest decimal that reads back to the same double.\n"
    "\n"
    "One class: without both classes there is no ROC curve and AUC is\n"
    "undefined; without positives there is no recall and PR-AUC and AP\n"
    "are undefined too (with positives only, PR-AUC = AP = 1, as in\n"
    "sklearn).  NLL is always defined.  An undefined value prints 'nan'\n"
    "with a warning on stderr.\n"
    "\n"
    "Groups: with a group column every metric is computed per group and\n"
    "averaged with weights equal to group sizes, over the groups that\n"
    "define it (n and positives are totals): a group without both\n"
    "classes is left out of the AUC mean, one without positives out of\n"
    "the PR-AUC and AP means, with a warning giving the counts; 'nan'\n"
    "only when no group defines the metric.  The files of 'dfbench run\n"
    "--predictions' are read as they are: their 'hour' is the 1-based\n"
    "index of the test interval, so each group is one test interval and\n"
    "auc, pr_auc and nll are the method's row of summary.csv.\n"
    "\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage, a FILE\n"
    "that is missing or a directory, or a malformed line (the message\n"
    "names FILE:LINE and the field).\n";

/* The most fields a line may have; one more is read to report it. */
enum { MAX_FIELDS = 3 };

/* Where each column is; group is -1 when there is none. */
typedef struct score_layout {
  int label, prediction, group, fields;
} score_layout;

/* The samples read, in file order, and the interned group names. */
typedef struct score_data {
  double *pred;
  unsigned char *label;
  uint32_t *group;
  size_t n, cap;
  char **names;     /* group id -> name */
  size_t n_groups, names_cap;
  uint32_t *slots;  /* open-addressing table of group id + 1, 0 = free */
  size_t n_slots;
} score_data;

/* ---- groups: interned strings --------------------------------------- */

/* FNV-1a: groups are short strings (hours, ids). */
static uint64_t score_hash(const char *s)
{
  uint64_t h = 14695981039346656037u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

/* Double the table (kept at most half full) and reinsert every name. */
static int score_grow_slots(score_data *d)
{
  size_t n_slots = d->n_slots ? 2 * d->n_slots : 1024;
  uint32_t *slots = calloc(n_slots, sizeof *slots);
  if (!slots)
    return df_fail(DF_ENOMEM, "score: out of memory for groups");
  for (size_t g = 0; g < d->n_groups; g++) {
    size_t at = score_hash(d->names[g]) & (n_slots - 1);
    while (slots[at])
      at = (at + 1) & (n_slots - 1);
    slots[at] = (uint32_t)(g + 1);
  }
  free(d->slots);
  d->slots = slots;
  d->n_slots = n_slots;
  return 0;
}

/* The id of group name, added if new. */
static int score_group_id(score_data *d, const char *name, uint32_t *id)
{
  if (2 * (d->n_groups + 1) > d->n_slots) {
    int rc = score_grow_slots(d);
    if (rc)
      return rc;
  }
  size_t at = score_hash(name) & (d->n_slots - 1);
  for (; d->slots[at]; at = (at + 1) & (d->n_slots - 1))
    if (!strcmp(d->names[d->slots[at] - 1], name)) {
      *id = d->slots[at] - 1;
      return 0;
    }

  /* A new name. */
  if (d->n_groups == d->names_cap) {
    size_t cap = d->names_cap ? 2 * d->names_cap : 256;
    char **names = realloc(d->names, cap * sizeof *names);
    if (!names)
      return df_fail(DF_ENOMEM, "score: out of memory for groups");
    d->names = names;
    d->names_cap = cap;
  }
  char *copy = strdup(name);
  if (!copy)
    return df_fail(DF_ENOMEM, "score: out of memory for groups");
  d->names[d->n_groups] = copy;
  d->slots[at] = (uint32_t)(d->n_groups + 1);
  *id = (uint32_t)d->n_groups++;
  return 0;
}

static void score_data_free(score_data *d)
{
  for (size_t g = 0; g < d->n_groups; g++)
    free(d->names[g]);
  free(d->names);
  free(d->slots);
  free(d->pred);
  free(d->label);
  free(d->group);
}

/* ---- parsing ---------------------------------------------------------- */

/* Split line at tabs into at most MAX_FIELDS + 1 fields (the last one
 * keeps any further tabs); returns the count. */
static int score_split(char *line, char **field)
{
  int nf = 0;
  field[nf++] = line;
  for (char *p = line; nf <= MAX_FIELDS && (p = strchr(p, '\t'));) {
    *p++ = '\0';
    field[nf++] = p;
  }
  return nf;
}

/* Is this line a header?  Yes when every field starts with a letter
 * (a data line starts with the label 0 or 1).  Then the names must be
 * known, unique, and include label and prediction. */
static int score_header(char **field, int nf, const char *file,
                        score_layout *lay)
{
  for (int f = 0; f < nf; f++)
    if (!((field[f][0] >= 'a' && field[f][0] <= 'z') ||
          (field[f][0] >= 'A' && field[f][0] <= 'Z')))
      return 0;
  if (nf > MAX_FIELDS)
    return df_fail(DF_EINPUT, "%s:1: header: more than %d columns", file,
                   MAX_FIELDS);

  *lay = (score_layout){-1, -1, -1, nf};
  for (int f = 0; f < nf; f++) {
    int *col = !strcmp(field[f], "label")        ? &lay->label
               : !strcmp(field[f], "prediction") ? &lay->prediction
               : !strcmp(field[f], "group") || !strcmp(field[f], "hour")
                   ? &lay->group
                   : NULL;
    if (!col)
      return df_fail(DF_EINPUT,
                     "%s:1: header: unknown column '%.40s' (known: label, "
                     "prediction, group, hour)",
                     file, field[f]);
    if (*col >= 0)
      return df_fail(DF_EINPUT, "%s:1: header: column '%.40s' repeated",
                     file, field[f]);
    *col = f;
  }
  if (lay->label < 0 || lay->prediction < 0)
    return df_fail(DF_EINPUT,
                   "%s:1: header: needs columns 'label' and 'prediction'",
                   file);
  return 1;
}

/* Make room for one more sample. */
static int score_reserve(score_data *d)
{
  if (d->n < d->cap)
    return 0;
  size_t cap = d->cap ? 2 * d->cap : 1 << 16;
  double *pred = realloc(d->pred, cap * sizeof *pred);
  if (pred)
    d->pred = pred;
  unsigned char *label = realloc(d->label, cap);
  if (label)
    d->label = label;
  uint32_t *group = realloc(d->group, cap * sizeof *group);
  if (group)
    d->group = group;
  if (!pred || !label || !group)
    return df_fail(DF_ENOMEM, "score: out of memory at %zu lines", d->n);
  d->cap = cap;
  return 0;
}

/* A prediction is a decimal number as strtod reads it and nothing
 * else: white space, which strtod would skip in front of the number,
 * is refused on either side, and so are hexadecimal floats ("0x1p-2",
 * which strtod reads too) since no writer of probabilities means them.
 * A value below the smallest positive double, like 1e-400, reads as 0
 * (strtod's underflow): a probability that small is 0 to every metric,
 * the NLL clipping it to 1e-7 anyway. */
static int score_prediction(const char *p, const char *file, size_t line_no,
                            double *out)
{
  size_t len = strlen(p);
  const char *digits = p + (*p == '+' || *p == '-');
  char *end;

  if (len && (isspace((unsigned char)p[0]) ||
              isspace((unsigned char)p[len - 1])))
    return df_fail(DF_EINPUT,
                   "%s:%zu: prediction: '%.40s' has white space around "
                   "the number",
                   file, line_no, p);
  if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
    return df_fail(DF_EINPUT,
                   "%s:%zu: prediction: '%.40s' is hexadecimal, not a "
                   "decimal probability",
                   file, line_no, p);
  double x = strtod(p, &end);
  if (end == p || *end)
    return df_fail(DF_EINPUT, "%s:%zu: prediction: '%.40s' is not a number",
                   file, line_no, p);
  if (!(x >= 0 && x <= 1))
    return df_fail(DF_EINPUT,
                   "%s:%zu: prediction: '%.40s' is not a probability in "
                   "[0, 1]",
                   file, line_no, p);
  *out = x;
  return 0;
}

/* Parse the fields of data line `line_no` into sample d->n. */
static int score_sample(score_data *d, char **field, int nf,
                        const score_layout *lay, const char *file,
                        size_t line_no)
{
  if (nf != lay->fields)
    return df_fail(DF_EINPUT, "%s:%zu: expected %d fields, got %s%d", file,
                   line_no, lay->fields, nf > MAX_FIELDS ? "at least " : "",
                   nf);
  int rc = score_reserve(d);
  if (rc)
    return rc;

  const char *l = field[lay->label];
  if ((l[0] != '0' && l[0] != '1') || l[1])
    return df_fail(DF_EINPUT, "%s:%zu: label: expected 0 or 1, got '%.40s'",
                   file, line_no, l);
  d->label[d->n] = (unsigned char)(l[0] - '0');

  rc = score_prediction(field[lay->prediction], file, line_no,
                        &d->pred[d->n]);
  if (rc)
    return rc;

  d->group[d->n] = 0;
  if (lay->group >= 0) {
    rc = score_group_id(d, field[lay->group], &d->group[d->n]);
    if (rc)
      return rc;
  }
  d->n++;
  return 0;
}

/* Read every line of f.  Without a header the layout is positional and
 * its width (2 or 3 fields) is fixed by the first line. */
static int score_read(FILE *f, const char *file, score_data *d,
                      score_layout *lay)
{
  char *line = NULL, *field[MAX_FIELDS + 1];
  size_t len = 0, line_no = 0;
  ssize_t got;
  int rc = 0;
  while ((got = getline(&line, &len, f)) >= 0) {
    line_no++;
    /* Strip the line end, CRLF included. */
    while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
      line[--got] = '\0';
    /* A NUL byte would end the line early for every string function
     * below and silently drop the rest: refuse it. */
    const char *nul = memchr(line, '\0', (size_t)got);
    if (nul) {
      int at = 1;
      for (const char *q = line; q < nul; q++)
        at += *q == '\t';
      rc = df_fail(DF_EINPUT, "%s:%zu: field %d holds a NUL byte", file,
                   line_no, at);
      break;
    }
    int nf = score_split(line, field);

    if (line_no == 1) {
      rc = score_header(field, nf, file, lay);
      if (rc < 0)
        break;
      if (rc == 1) {
        rc = 0;
        continue;
      }
      if (nf < 2 || nf > MAX_FIELDS) {
        rc = df_fail(DF_EINPUT,
                     "%s:1: expected 2 or 3 fields "
                     "(label, prediction[, group]), got %s%d",
                     file, nf > MAX_FIELDS ? "at least " : "", nf);
        break;
      }
      *lay = (score_layout){0, 1, nf == 3 ? 2 : -1, nf};
    }
    rc = score_sample(d, field, nf, lay, file, line_no);
    if (rc)
      break;
  }
  if (!rc && ferror(f))
    rc = df_fail(DF_EIO, "%s: read error: %s", file, strerror(errno));
  if (!rc && d->n == 0)
    rc = df_fail(DF_EINPUT, "%s: no samples", file);
  free(line);
  return rc;
}

/* ---- scoring ----------------------------------------------------------- */

/* Stable counting sort of the samples by group into contiguous runs,
 * then one stream update per group. */
static int score_groups(const score_data *d, metric_stream_summary *sum)
{
  int rc = DF_ENOMEM;
  size_t *start = calloc(d->n_groups + 1, sizeof *start);
  double *pred = malloc(d->n * sizeof *pred);
  unsigned char *label = malloc(d->n);
  metric_stream *s = metric_stream_create();
  if (!start || !pred || !label || !s) {
    df_fail(DF_ENOMEM, "score: out of memory for %zu samples", d->n);
    goto cleanup;
  }

  /* start[g] = first slot of group g. */
  for (size_t i = 0; i < d->n; i++)
    start[d->group[i] + 1]++;
  for (size_t g = 0; g < d->n_groups; g++)
    start[g + 1] += start[g];
  for (size_t i = 0; i < d->n; i++) {
    size_t at = start[d->group[i]]++;
    pred[at] = d->pred[i];
    label[at] = d->label[i];
  }

  /* After the scatter start[g] is the end of group g. */
  for (size_t g = 0, b = 0; g < d->n_groups; b = start[g++]) {
    rc = metric_stream_update_d(s, pred + b, label + b, start[g] - b,
                                METRIC_PROB);
    if (rc)
      goto cleanup;
  }
  rc = metric_stream_finish(s, sum);

cleanup:
  metric_stream_destroy(s);
  free(start);
  free(pred);
  free(label);
  return rc;
}

/* The shortest of %.15g, %.16g, %.17g that reads back to x; "nan" when
 * the metric is undefined. */
static void score_print_double(double x, int defined, const char *sep)
{
  char buf[40];
  if (!defined) {
    printf("nan%s", sep);
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (strtod(buf, NULL) == x)
      break;
  }
  printf("%s%s", buf, sep);
}

static void score_warn(const char *file, const metric_stream_summary *s,
                       int grouped)
{
  const metric_result *m = &s->mean;
  if (grouped && s->auc_skipped)
    log_warn("%s: %zu of %zu groups lack a class and are left out of the "
             "AUC mean",
             file, s->auc_skipped, s->intervals);
  if (grouped && s->pr_skipped)
    log_warn("%s: %zu of %zu groups have no positive and are left out of "
             "the PR-AUC and AP means",
             file, s->pr_skipped, s->intervals);
  if (!m->auc_defined)
    log_warn("%s: AUC is undefined (%s): printed as nan", file,
             grouped ? "no group has both classes" : "only one class");
  if (!m->pr_defined)
    log_warn("%s: PR-AUC and AP are undefined (%s): printed as nan", file,
             grouped ? "no group has a positive" : "no positive");
}

static void score_print(const metric_stream_summary *s)
{
  const metric_result *m = &s->mean;
  printf("n\tpositives\tauc\tpr_auc\tap\tnll\n");
  printf("%zu\t%zu\t", m->n, m->positives);
  score_print_double(m->auc, m->auc_defined, "\t");
  score_print_double(m->pr_auc, m->pr_defined, "\t");
  score_print_double(m->ap, m->pr_defined, "\t");
  score_print_double(m->nll, 1, "\n");
}

/* Open path ("-": stdin) for reading.  A missing file, a directory or
 * a file that cannot be opened is the user's to fix (DF_EINPUT, exit
 * 2) like a malformed line, not a runtime failure.  fopen() opens a
 * directory without complaint and only the first read fails, so ask
 * fstat(). */
static int score_open(const char *path, const char *name, FILE **out)
{
  FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
  struct stat st;

  if (!f && errno == ENOENT)
    return df_fail(DF_EINPUT, "%s: no such file", path);
  if (!f)
    return df_fail(DF_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (f != stdin)
      fclose(f);
    return df_fail(DF_EINPUT, "%s: is a directory", name);
  }
  *out = f;
  return 0;
}

int cmd_score(int argc, char **argv)
{
  const char *path = NULL;
  for (int i = 1; i < argc;) {
    if (cli_opt_flag(argv, &i, "--help", "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if (argv[i][0] == '-' && argv[i][1])
      return cli_usage_error("score", "unknown option '%s'", argv[i]);
    if (path)
      return cli_usage_error("score", "unexpected argument '%s'", argv[i]);
    path = argv[i++];
  }
  if (!path)
    return cli_usage_error("score", "no FILE given (use '-' for stdin)");

  int stdin_input = !strcmp(path, "-");
  const char *name = stdin_input ? "<stdin>" : path;
  FILE *f = NULL;
  int rc = score_open(path, name, &f);
  if (rc)
    return cli_fail(rc);

  score_data d = {0};
  score_layout lay = {0, 1, -1, 2};
  metric_stream_summary sum;
  rc = score_read(f, name, &d, &lay);
  if (!rc && lay.group >= 0) {
    rc = score_groups(&d, &sum);
  } else if (!rc) {
    memset(&sum, 0, sizeof sum);
    sum.intervals = 1;
    rc = metric_compute_d(d.pred, d.label, d.n, METRIC_PROB, &sum.mean);
  }
  if (!rc) {
    score_warn(name, &sum, lay.group >= 0);
    score_print(&sum);
    if (fflush(stdout))
      rc = df_fail(DF_EIO, "score: cannot write the result: %s",
                   strerror(errno));
  }

  if (!stdin_input)
    fclose(f);
  score_data_free(&d);
  return rc ? cli_fail(rc) : 0;
}
