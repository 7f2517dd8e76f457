/* plot_internal.h: what the kinds of figure share (plots/plot_*.c):
 * the figure under construction, a small CSV reader, the method styles
 * and gnuplot text helpers.  Tests may include it; users use plot.h. */
#ifndef DFB_PLOT_INTERNAL_H
#define DFB_PLOT_INTERNAL_H

#include <stdio.h>

#include "plots/plot.h"

#define PLOT_PATH 4096

/* A figure being written: its three paths, the data file and the script
 * (both in memory until plot_make writes them). */
typedef struct plot_fig {
  const plot_options *opt;
  char fig[PLOT_PATH], script[PLOT_PATH], data[PLOT_PATH];
  const char *fig_name, *data_name; /* basenames, for the script */
  FILE *d, *s;                      /* the data and the script */
  int series;                       /* line styles defined so far */
} plot_fig;

/* Each kind fills the data file and the script of fig from o->input. */
int plot_window(plot_fig *fig);
int plot_hourly(plot_fig *fig);
int plot_delay(plot_fig *fig);
int plot_calibration(plot_fig *fig);

/* The script's opening: a comment block (what, from where, how to
 * redraw), the terminal chosen by the extension at a paper size scaled
 * by width (1: one panel, wider for multiplots), the output, the fonts
 * and the common style.  what is one line. */
void plot_script_begin(plot_fig *fig, const char *what, double width);

/* Define the next line style for method name (same colour and dash for
 * a method in every figure) and return its number for "ls N". */
int plot_style(plot_fig *fig, const char *name);
/* The next line style with these colour, dash type and point type. */
int plot_style_fixed(plot_fig *fig, const char *name, const char *colour,
                     int dash, int point);

/* Write s as a gnuplot single-quoted string ('' stands for '). */
void plot_quote(FILE *f, const char *s);

/* Whether name is in the comma-separated list (NULL: every name). */
int plot_selected(const char *list, const char *name);
/* Every method of the list is among names[n]; DF_EINPUT "--methods: no
 * 'x' in WHERE" otherwise. */
int plot_check_methods(const char *list, const char *const *names, int n,
                       const char *where);

/* A CSV file held in memory: a header row and n rows of n_cols fields,
 * every field a NUL-terminated string inside buf. */
typedef struct plot_csv {
  int n_cols;
  size_t n;
  char **head; /* [n_cols] */
  char **cell; /* [n * n_cols], row-major */
  char *buf;
} plot_csv;

/* Read path; a row with another number of fields than the header is
 * DF_EINPUT naming the file and line.  The caller frees with
 * plot_csv_free. */
int plot_csv_read(const char *path, plot_csv *t);
void plot_csv_free(plot_csv *t);
/* The column called name, or -1. */
int plot_csv_col(const plot_csv *t, const char *name);
/* Field (row, col) as a number ("nan" allowed); DF_EINPUT naming the
 * file, the line and the column otherwise. */
int plot_csv_num(const plot_csv *t, const char *path, size_t row, int col,
                 double *v);
static inline const char *plot_csv_at(const plot_csv *t, size_t row, int col)
{
  return t->cell[row * (size_t)t->n_cols + (size_t)col];
}

#endif
