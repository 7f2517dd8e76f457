/* plot.h: figures of dfbench results, drawn by gnuplot.
 *
 * plot_make() reads result files (a sweep's sweep.csv, a run's
 * hourly.csv or predictions/METHOD.tsv, a click log), writes the numbers
 * to a data file and a gnuplot script that draws them, runs gnuplot and
 * leaves all three side by side:
 *
 *   FIG      e.g. window.png (or .svg, .pdf: the extension picks the
 *            terminal)
 *   FIG.gp   the script (window.png.gp); it reads FIG.dat by its
 *            relative name, so `cd DIR && gnuplot FIG.gp` draws FIG
 *            again, to restyle it
 *   FIG.dat  the plotted numbers, %.17g, one block per line of the
 *            figure, each block headed by comment lines naming it
 *
 * The script and the data are named after the whole figure name, so
 * one figure in two formats (window.svg, window.pdf) keeps two scripts
 * side by side.  Nothing is half-written: the data and the script are
 * written to temporaries and renamed into place, gnuplot draws to a
 * temporary that is renamed after it succeeds, and when gnuplot fails
 * the three files are removed.  An existing FIG, FIG.gp or FIG.dat is
 * refused unless force is set.  Errors are DF_EINPUT (bad input, exit 2) or
 * DF_EIO (gnuplot missing or failing, exit 1) with the message set
 * (sim/log.h).
 *
 * plots/ knows only result files and gnuplot: it depends on sim/ alone.
 * The caller owns the options and everything they point to. */
#ifndef DFB_PLOT_H
#define DFB_PLOT_H

#include <stddef.h>

#include "sim/config.h"

typedef enum plot_kind {
  PLOT_WINDOW = 0, /* metric against a swept key (sweep.csv) */
  PLOT_HOURLY,     /* a metric over stream time (hourly.csv) */
  PLOT_DELAY,      /* empirical delay CDF of a click log */
  PLOT_CALIBRATION /* reliability diagram (predictions/METHOD.tsv) */
} plot_kind;

typedef struct plot_options {
  plot_kind kind;
  const char *input;   /* DIR, or the click log FILE for delay */
  const char *output;  /* the figure; NULL: plot_default_output() */
  const char *metric;  /* NULL: the kind's default (see plot_kind_help) */
  const char *key;     /* window: the grid column; NULL: the first */
  const char *methods; /* comma-separated methods to draw; NULL: all */
  const char *title;   /* a title above the figure; NULL: none */
  const char *smooth;  /* hourly: "N" intervals or a duration "1d" */
  int bins;            /* calibration: number of bins (0: 10) */
  int equal_width;     /* calibration: equal-width instead of quantile */
  /* delay: the configuration that generated the log, or NULL to look
   * for config.ini beside the log (none: the empirical curve only). */
  const df_config *config;
  int force;
} plot_options;

/* The kind called name ("window", ...); 0 or DF_EINPUT listing them. */
int plot_kind_parse(const char *name, plot_kind *kind);

/* The figure written when no output is given: DIR/KIND.png, or for a
 * click log FILE its name without the extension + ".delay.png". */
void plot_default_output(const plot_options *o, char *buf, size_t len);

/* Draw the figure; on success its path is in fig (len bytes). */
int plot_make(const plot_options *o, char *fig, size_t len);

/* After a failure of plot_make: a likely fix ("install it: ..."), or ""
 * when there is none. */
const char *plot_hint(void);

#endif
