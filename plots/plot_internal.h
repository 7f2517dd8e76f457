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
  double point;                     /* the terminal's marker size factor */
  /* Where the panels sit (plot_script_begin), as screen fractions. */
  int panels;
  double left, right, gap, bottom, top;
  double legend;       /* the legend's band below them, from 0 */
  char key_title[160]; /* the legend's title row, or "" */
} plot_fig;

/* A figure's layout on paper: one panel is a column of a two-column
 * paper, 3.5 in wide; three panels side by side span the page, 7 in.
 * The legend sits below the panels in as many columns as fit, and the
 * figure is as tall as the panels plus the legend's rows, so there is
 * no empty band above or beside the legend. */
typedef struct plot_layout {
  int panels;            /* 1, or 3 side by side */
  double height;         /* of a panel with its axes, in; 0: 2.3 */
  double left;           /* the y axis's room left of a panel, in; 0: 0.7 */
  int square;            /* a square panel (equal x and y ranges) */
  int entries;           /* legend entries */
  int longest;           /* characters of the longest entry */
  const char *key_title; /* a row above the entries, or NULL */
} plot_layout;

/* Each kind fills the data file and the script of fig from o->input. */
int plot_window(plot_fig *fig);
int plot_hourly(plot_fig *fig);
int plot_delay(plot_fig *fig);
int plot_calibration(plot_fig *fig);

/* The script's opening: a comment block (what, from where, how to
 * redraw), the terminal chosen by the extension at the paper size of
 * lay, the output, 9 pt fonts, the common style, the legend's settings
 * (hidden until plot_legend) and a multiplot with the title, if any.
 * A single panel's margins are set here; with several, plot_panel sets
 * each one's.  Every plot clause of the panels is notitle: the legend
 * entries are keyentry clauses for plot_legend.  what is one line. */
void plot_script_begin(plot_fig *fig, const char *what,
                       const plot_layout *lay);
/* The margins of panel k (0, 1, ...) of the multiplot. */
void plot_panel(plot_fig *fig, int k);
/* Append ", keyentry with WITH ls LS title 'TITLE'" to buf (len bytes,
 * NUL-terminated), TITLE quoted for gnuplot. */
void plot_keyentry(char *buf, size_t len, const char *with, int ls,
                   const char *title);
/* The legend, drawn from keys (plot_keyentry clauses) by a plot of its
 * own across the canvas below the panels, and the multiplot's end. */
void plot_legend(plot_fig *fig, const char *keys);

/* Define the next line style for method name (same colour, dash and
 * marker for a method in every figure) and return its number for
 * "ls N". */
int plot_style(plot_fig *fig, const char *name);
/* The next line style with these colour, dash type and point type. */
int plot_style_fixed(plot_fig *fig, const char *name, const char *colour,
                     int dash, int point);
/* The colour method has in every figure. */
const char *plot_method_colour(const plot_fig *fig, const char *method);
/* The next line style with this colour and the dash pattern and marker
 * of group number group (0, 1, ...): lines that differ by a group as
 * well as by method share the method's colour and the group's dash and
 * marker. */
int plot_group_style(plot_fig *fig, const char *name, const char *colour,
                     int group);

/* Write s as a gnuplot single-quoted string ('' stands for '). */
void plot_quote(FILE *f, const char *s);

/* Whether name is in the comma-separated list (NULL: every name). */
int plot_selected(const char *list, const char *name);
/* The same for the lines of a metric over methods (window, hourly): with
 * no list every name but bayes, whose ceiling sits far above the methods
 * and would squeeze them into a sliver. */
int plot_selected_line(const char *list, const char *name);
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
