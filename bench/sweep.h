/* sweep.h: a grid of experiments (`dfbench sweep`): the grid and its
 * cells, the shard a cell belongs to, and the directory that holds a
 * sweep and lets it resume.
 *
 * Cells.  Each --grid KEY=V1,V2,... is an axis; the cells are the
 * product of the axes times the seed replicates 1..seeds, numbered
 * k = 0, 1, ... with the first axis varying slowest and the seed
 * fastest.  Replicate s sets
 *     generator.seed = base generator.seed + (s - 1)
 *     model.seed     = base model.seed     + (s - 1)
 * so replicate 1 is the base configuration itself and replicates differ
 * in both the world and the training.
 *
 * Names.  Cell k is DIR/cells/NAME with NAME "KEY-VALUE_..._seed-S" in
 * axis order (esdfm.elapsed=15m, seed 2 -> "esdfm.elapsed-15m_seed-2");
 * bytes of a value outside [A-Za-z0-9.+-] are written %XX, so names are
 * filesystem-safe and distinct cells never share a name.  A name longer
 * than SWEEP_MAX_NAME keeps its start and ends in "~" and a 64-bit hash
 * of the whole name.
 *
 * Shards.  Shard I of N (I in 0..N-1) owns the cells with k mod N == I.
 *
 * Processes.  sweep_run runs each cell in a child process, so that an
 * interrupted sweep can kill its running cells safely; the calling
 * process starts and collects them and writes sweep.csv.
 *
 * The directory.  DIR/sweep.ini records the grid, the seeds and the
 * base configuration (every key but run.threads, which never changes
 * results); every later run in DIR, any shard, must match it.  A cell
 * is finished only when DIR/cells/NAME/done, written atomically after
 * its results, holds the hash of the cell's configuration and its
 * summary.csv reads back whole; any other cell directory is cleaned and
 * run again.  DIR/sweep.csv is rebuilt from every finished cell at the
 * end of each run and renamed into place under an fcntl lock on
 * DIR/sweep.lock, so shards sharing DIR combine without a merge step
 * and the last one to take the lock writes the complete table.
 *
 * A sweep_spec is plain data owned by the caller. */
#ifndef DFB_SWEEP_H
#define DFB_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/config.h"

#define SWEEP_MAX_AXES   8
#define SWEEP_MAX_VALUES 64
#define SWEEP_MAX_VALUE  256
#define SWEEP_MAX_NAME   200 /* bytes of a cell directory name */

typedef struct sweep_axis {
  char key[96]; /* "section.name" */
  int n;
  char value[SWEEP_MAX_VALUES][SWEEP_MAX_VALUE];
} sweep_axis;

typedef struct sweep_spec {
  int n_axes;
  sweep_axis axis[SWEEP_MAX_AXES];
  int seeds; /* replicates, >= 1 */
} sweep_spec;

/* Add the axis "KEY=V1,V2,..." (values split on ';' instead when the
 * text holds one, for list-valued keys: "model.hidden=64,32;128").
 * Every value is checked against base; DF_EINPUT names the key, the
 * value and the valid range, or lists the valid keys. */
int sweep_add_grid(sweep_spec *s, const df_config *base, const char *text);
/* Checks across axes and seeds (a seed key on an axis with seeds > 1). */
int sweep_check(const sweep_spec *s);

/* Number of cells: the product of the axes' sizes times seeds. */
size_t sweep_cells(const sweep_spec *s);
/* Value index on each axis (idx[axis]) and replicate 1..seeds of k. */
void sweep_coords(const sweep_spec *s, size_t k, int *idx, int *seed);
/* The directory name of cell k (see above). */
void sweep_cell_name(const sweep_spec *s, size_t k, char *buf, size_t len);
/* The configuration of cell k: base, the axes' values, the seed rule.
 * 0 or DF_EINPUT (a seed out of range). */
int sweep_cell_config(const sweep_spec *s, const df_config *base, size_t k,
                      df_config *out);

/* "I/N" with 0 <= I < N; DF_EINPUT with a message otherwise. */
int sweep_parse_shard(const char *text, int *index, int *count);
/* Does cell k belong to shard index of count? */
int sweep_in_shard(size_t k, int index, int count);

/* The text of DIR/sweep.ini for s over base (run.threads left out). */
int sweep_spec_text(const sweep_spec *s, const df_config *base, char **out);
/* FNV-1a 64 of a configuration's text (run.threads left out): what a
 * cell's done marker holds. */
uint64_t sweep_config_hash(const df_config *cfg);

typedef struct sweep_options {
  const char *dir;
  /* Set to a signal's number by the caller's handler (SIGINT, SIGTERM)
   * to interrupt the sweep; NULL: never. */
  const volatile sig_atomic_t *stop;
  int jobs;          /* cells side by side, >= 1 */
  int shard, shards; /* run shard `shard` of `shards` (0 of 1) */
  int force;         /* replace a different sweep.ini and remove the
                        cell directories this sweep does not name */
} sweep_options;

typedef struct sweep_stats {
  size_t cells;    /* in the whole sweep */
  size_t mine;     /* in this shard */
  size_t skipped;  /* already finished */
  size_t ran;      /* run now, to the end */
  int interrupted; /* the signal that interrupted the sweep, or 0 */
  size_t rows;     /* rows of the rebuilt sweep.csv */
  char hint[512];  /* a likely fix after an error, or "" */
} sweep_stats;

/* Run the cells of opt's shard that are not finished, opt->jobs at a
 * time, each in a child process, then rebuild DIR/sweep.csv.  When
 * *opt->stop becomes non-zero (or a cell is killed by SIGINT or
 * SIGTERM, as a terminal's Ctrl-C does to the whole job) no new cell
 * starts, the running ones are killed and cleaned, sweep.csv is rebuilt
 * from the finished cells, and 0 is returned with out->interrupted set
 * to the signal.  A different DIR/sweep.ini is
 * refused (DF_EINPUT naming the first difference) unless opt->force,
 * which also removes from DIR/cells the directories that look like
 * cells (a done marker or a run's files) but are not cells of s.
 * After a failed cell no new cell starts; the first error is
 * returned. */
int sweep_run(const sweep_spec *s, const df_config *base,
              const sweep_options *opt, sweep_stats *out);

/* Rebuild DIR/sweep.csv from the finished cells, holding the lock on
 * DIR/sweep.lock (rows, if not NULL, receives the count of data rows).
 * A finished cell whose summary.csv does not read back is DF_EINPUT
 * naming it. */
int sweep_write_csv(const sweep_spec *s, const df_config *base,
                    const char *dir, size_t *rows);

/* Is the cell directory finished for a configuration with this hash? */
int sweep_cell_done(const char *cell_dir, uint64_t hash);

#endif
