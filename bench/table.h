/* table.h: the ES-DFM paper's table from result files (`dfbench
 * table`).
 *
 * Input: a run's summary.csv or a sweep's sweep.csv (bench/sweep.h).
 * Rows of a sweep are grouped by grid point (the columns before
 * "seed"), in the order the points first appear; a run is one group.
 * Within a group each method's AUC, PR-AUC and NLL are averaged over
 * its rows (the seeds) with the sample standard deviation
 *     mean = sum(x) / n,  sd = sqrt(sum((x - mean)^2) / (n - 1))
 * (undefined, NaN, for n = 1), accumulated with Welford's update.  The
 * relative columns are recomputed from the means,
 *     R  = (mean - vanilla) / (oracle - vanilla)     (ES-DFM's table)
 *     RI = (mean - pretrain) / (oracle - pretrain)   (later papers)
 * NaN when a reference is missing or the two references are equal; the
 * ratio needs no sign flip for NLL (better is positive for all three).
 *
 * Rows come in the paper's order: pretrain, vanilla, oracle (the
 * references), then naive, dfm, fsiw, fnc, fnw, esdfm, defer, then any
 * other method in file order, bayes last.
 *
 * A table_data is plain data owned by the caller (table_free). */
#ifndef DFB_TABLE_H
#define DFB_TABLE_H

#include <stdio.h>

#define TABLE_MAX_KEYS    8
#define TABLE_MAX_METHODS 32

enum { TABLE_AUC, TABLE_PR_AUC, TABLE_NLL, TABLE_METRICS };

typedef struct table_row {
  char method[32];
  int n;                      /* rows (seeds) read */
  int count[TABLE_METRICS];   /* of them, with a defined value */
  double mean[TABLE_METRICS]; /* NaN when count is 0 */
  double sd[TABLE_METRICS];   /* sample sd; NaN when count < 2 */
  double m2[TABLE_METRICS];   /* Welford's sum of squares */
  double r[TABLE_METRICS];    /* against vanilla and oracle */
  double ri[TABLE_METRICS];   /* against pretrain and oracle */
} table_row;

typedef struct table_group {
  char value[TABLE_MAX_KEYS][256]; /* the grid point */
  int n_rows;
  int seeds; /* the most rows of any of its methods */
  table_row rows[TABLE_MAX_METHODS];
} table_group;

typedef struct table_data {
  int n_keys;
  char key[TABLE_MAX_KEYS][96];
  int n_groups;
  table_group *groups;
  int seeds; /* the most of any group */
} table_data;

/* Read dir/sweep.csv, else dir/summary.csv; or dir itself when it is a
 * file.  DF_EINPUT names the file, the line and the field at fault. */
int table_read(const char *dir, table_data *out);
void table_free(table_data *t);
/* After a failure of table_read: a likely fix, or "". */
const char *table_hint(void);

/* The mean and sample sd (n - 1) of x[0..n-1]; sd NaN when n < 2. */
void table_mean_sd(const double *x, int n, double *mean, double *sd);

/* Write the table as "md", "latex" or "csv" (DF_EINPUT otherwise).
 *
 * md and latex: one table per grid point, titled by it; columns AUC,
 * R-AUC, RI-AUC, PR-AUC, R-PR-AUC, RI-PR-AUC, NLL, R-NLL, RI-NLL, each
 * metric "mean ± sd" when there are several seeds.  In every column the
 * best value among the methods that do not see the future (every row
 * but oracle and bayes) is bold and the runner-up underlined (latex) or
 * italic (md): with the proposed method best, the runner-up is the
 * best baseline, as the paper marks it.  Lower NLL is better.
 *
 * csv: the grid keys, method, seeds, then per metric its mean, sd, R
 * and RI, numbers as shortest round-trip text, empty when undefined.
 *
 * Where oracle's mean is not better than a reference's, the R or RI of
 * that metric divides by a gap of the wrong sign (or zero) and does not
 * rank the methods: md prints a "Note:" line below the group's table,
 * latex and csv a warning on stderr, naming the grid point. */
int table_write(const table_data *t, const char *format, FILE *out);

#endif
