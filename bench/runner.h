/* runner.h: one experiment: pre-train, replay the stream for every
 * method, score, and write the results (`dfbench run`).
 *
 * The runner pairs each method (models/method.h) with a learner, trains
 * it on the events the replay clock hands it interval by interval, and
 * scores its served predictions on the next interval's clicks against
 * their true attributed labels (sim/replay.h documents the protocol).
 *
 * Shared work is done once per run: the feature scaling (fitted on the
 * pre-training clicks), the encoding of every click, the BCE-pre-trained
 * CVR model the methods start from, each auxiliary model, and the models
 * of methods that pre-train with their own loss (DFM), all trained side
 * by side before the stream.  Methods
 * then run side by side on run.threads threads, each on its own clone,
 * so the results do not depend on the number of threads.
 *
 * A run_report is plain data owned by the caller (run_report_free). */
#ifndef DFB_RUNNER_H
#define DFB_RUNNER_H

#include <stddef.h>
#include <stdio.h>

#include "bench/metrics.h"
#include "sim/clicks.h"
#include "sim/config.h"

/* One test interval of one method. */
typedef struct run_hour {
  size_t interval; /* index of the tested interval since stream start */
  metric_result m;
} run_hour;

typedef struct run_method {
  char name[32];
  metric_stream_summary summary; /* weighted over test intervals */
  size_t train_events;
  double seconds; /* wall time of its own training and scoring */
  run_hour *hours;
  size_t n_hours;
} run_method;

typedef struct run_report {
  int n;             /* methods, then "bayes" when the truth is known */
  run_method *m;
  size_t steps;      /* train-then-test steps of the stream */
  double seconds;    /* wall time of the whole run */
} run_report;

typedef struct run_options {
  const char *predictions_dir; /* write METHOD.tsv there, or NULL */
  int force;                   /* replace existing prediction files */
} run_options;

/* Run the experiment of cfg on log (sorted by time in place if it is
 * not).  Returns 0 or a DF_E* code with the message set. */
int runner_run(const df_config *cfg, df_clicks *log, const run_options *opt,
               run_report *out);
void run_report_free(run_report *r);

/* summary.csv's header line (DESIGN.md), without its newline: what
 * runner_write writes and what a sweep reads back. */
extern const char runner_summary_header[];

/* summary.csv, hourly.csv and config.ini in dir, each written whole or
 * not at all. */
int runner_write(const run_report *r, const df_config *cfg,
                 const char *dir, int force);
/* The summary as an aligned table for a person. */
void runner_print(const run_report *r, FILE *out);

/* The methods run.methods selects, in registry order ("all" or a comma
 * list); DF_EINPUT naming unknown ones. */
int runner_select(const df_config *cfg, const char **names, int max,
                  int *n);

#endif
