/* report.c: the result files of a run and its table for a person.
 *
 * summary.csv  one row per method (then bayes): weighted means over the
 *              test intervals and the relative metrics
 *                r_m  = (m - vanilla)  / (oracle - vanilla)   (ES-DFM)
 *                ri_m = (m - pretrain) / (oracle - pretrain)  (later
 *                       papers)
 *              The ratio form needs no sign flip for NLL: lower is
 *              better for m and oracle alike, so better is positive.
 *              Empty when a reference method was not run.
 * hourly.csv   one row per method and test interval.
 * config.ini   the effective configuration, every key. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/runner.h"
#include "sim/log.h"
#include "sim/outfile.h"

static const run_method *find(const run_report *r, const char *name)
{
  for (int i = 0; i < r->n; i++)
    if (!strcmp(r->m[i].name, name))
      return &r->m[i];
  return NULL;
}

/* A number as the shortest round-trip text; "nan" when undefined. */
static void put_num(FILE *f, double v)
{
  char buf[64];
  if (isnan(v)) {
    fputs("nan", f);
    return;
  }
  cfg_format_double(v == 0 ? 0.0 : v, buf, sizeof buf); /* no "-0" */
  fputs(buf, f);
}

/* (m - lo) / (hi - lo), empty when a reference is missing or equal. */
static void put_rel(FILE *f, const run_method *lo, const run_method *hi,
                    double m, size_t offset)
{
  if (!lo || !hi) {
    fputs(",", f);
    return;
  }
  double a = *(const double *)((const char *)&lo->summary.mean + offset);
  double b = *(const double *)((const char *)&hi->summary.mean + offset);
  fputc(',', f);
  if (b != a)
    put_num(f, (m - a) / (b - a));
  else
    fputs("nan", f);
}

static const size_t metric_offsets[3] = {
    offsetof(metric_result, auc), offsetof(metric_result, pr_auc),
    offsetof(metric_result, nll)};

const char runner_summary_header[] =
    "method,auc,pr_auc,nll,r_auc,r_pr_auc,r_nll,ri_auc,ri_pr_auc,ri_nll,"
    "test_clicks,train_events,seconds";

static void write_summary(const run_report *r, FILE *f)
{
  const run_method *van = find(r, "vanilla"), *ora = find(r, "oracle");
  const run_method *pre = find(r, "pretrain");
  fprintf(f, "%s\n", runner_summary_header);
  for (int i = 0; i < r->n; i++) {
    const run_method *m = &r->m[i];
    fputs(m->name, f);
    for (int k = 0; k < 3; k++) {
      fputc(',', f);
      put_num(f, *(const double *)((const char *)&m->summary.mean +
                                   metric_offsets[k]));
    }
    for (int k = 0; k < 3; k++)
      put_rel(f, van, ora,
              *(const double *)((const char *)&m->summary.mean +
                                metric_offsets[k]),
              metric_offsets[k]);
    for (int k = 0; k < 3; k++)
      put_rel(f, pre, ora,
              *(const double *)((const char *)&m->summary.mean +
                                metric_offsets[k]),
              metric_offsets[k]);
    fprintf(f, ",%zu,%zu,", m->summary.mean.n, m->train_events);
    put_num(f, round(m->seconds * 1000) / 1000);
    fputc('\n', f);
  }
}

static void write_hourly(const run_report *r, FILE *f)
{
  fputs("method,hour,test_clicks,auc,pr_auc,nll,mean_pred,mean_label\n", f);
  for (int i = 0; i < r->n; i++) {
    const run_method *m = &r->m[i];
    for (size_t h = 0; h < m->n_hours; h++) {
      const metric_result *x = &m->hours[h].m;
      fprintf(f, "%s,%zu,%zu,", m->name, m->hours[h].interval, x->n);
      put_num(f, x->auc_defined ? x->auc : NAN);
      fputc(',', f);
      put_num(f, x->pr_defined ? x->pr_auc : NAN);
      fputc(',', f);
      put_num(f, x->nll);
      fputc(',', f);
      put_num(f, x->mean_pred);
      fputc(',', f);
      put_num(f, x->mean_label);
      fputc('\n', f);
    }
  }
}

static int write_one(const char *dir, const char *name, int force,
                     const run_report *r, const df_config *cfg,
                     int which)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  out_file o;
  int rc = out_open(&o, path, force);
  if (rc)
    return rc;
  if (which == 0)
    write_summary(r, o.f);
  else if (which == 1)
    write_hourly(r, o.f);
  else
    rc = cfg_write(cfg, o.f, 1);
  if (rc) {
    out_abort(&o);
    return rc;
  }
  return out_commit(&o);
}

int runner_write(const run_report *r, const df_config *cfg,
                 const char *dir, int force)
{
  int rc = write_one(dir, "summary.csv", force, r, cfg, 0);
  if (!rc)
    rc = write_one(dir, "hourly.csv", force, r, cfg, 1);
  if (!rc)
    rc = write_one(dir, "config.ini", force, r, cfg, 2);
  return rc;
}

void runner_print(const run_report *r, FILE *out)
{
  const run_method *van = find(r, "vanilla"), *ora = find(r, "oracle");
  const run_method *pre = find(r, "pretrain");
  fprintf(out, "%-10s %8s %8s %8s %8s %8s %9s\n", "method", "AUC",
          "PR-AUC", "NLL", "R-AUC", "RI-AUC", "seconds");
  for (int i = 0; i < r->n; i++) {
    const metric_result *m = &r->m[i].summary.mean;
    fprintf(out, "%-10s %8.4f %8.4f %8.4f", r->m[i].name, m->auc,
            m->pr_auc, m->nll);
    double rel[2] = {NAN, NAN};
    if (van && ora && ora->summary.mean.auc != van->summary.mean.auc)
      rel[0] = (m->auc - van->summary.mean.auc) /
               (ora->summary.mean.auc - van->summary.mean.auc);
    if (pre && ora && ora->summary.mean.auc != pre->summary.mean.auc)
      rel[1] = (m->auc - pre->summary.mean.auc) /
               (ora->summary.mean.auc - pre->summary.mean.auc);
    for (int k = 0; k < 2; k++) {
      if (isnan(rel[k]))
        fprintf(out, " %8s", "-");
      else
        fprintf(out, " %8.3f", rel[k]);
    }
    fprintf(out, " %9.1f\n", r->m[i].seconds);
  }
}
