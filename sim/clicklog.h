/* clicklog.h: the Criteo Conversion Logs file layout, read and written.
 *
 * One click per line, tab-separated, no header:
 *
 *   click_ts  conv_ts  int_1 .. int_I  cat_1 .. cat_C
 *
 * click_ts and conv_ts are integer seconds from the start of the log;
 * conv_ts is empty when the click did not convert; integer features are
 * signed decimal integers; categorical features are strings.  Any feature
 * may be empty: missing.  A trailing '\r' is tolerated (CRLF files).
 *
 * Categorical values: a string of exactly 16 hexadecimal digits is read
 * as that 64-bit number (the writer writes values so, which makes write
 * then read exact); any other string is hashed with clicks_hash_cat().
 * A 16-digit string "0000000000000000" is the one exception: it is
 * hashed like any other string, because 0 means missing.
 *
 * The truth sidecar FILE.truth has one line per click of FILE:
 *
 *   p<TAB>delay
 *
 * p the true probability of an attributed conversion (%.17g), delay the
 * true delay in whole seconds or -1 for no conversion. */
#ifndef DFB_CLICKLOG_H
#define DFB_CLICKLOG_H

#include "sim/clicks.h"

/* Read a Criteo-layout file.  n_int and n_cat are the feature counts to
 * expect (8 and 9 for Criteo); a line with another number of fields, a
 * non-numeric time or integer, a negative click time, a conversion
 * before its click or a line longer than 1 MiB (CLICKLOG_MAX_LINE) is an
 * error (DF_EINPUT) naming the file, the line and the field.  So is a
 * path that does not exist or is a directory ("FILE: no such file",
 * "FILE: is a directory"); a file that exists but cannot be opened or
 * read is DF_EIO.  Memory grows with the number of rows only.  When
 * with_truth is set and PATH.truth exists it is read too (its lines must
 * match the log's).  The caller owns *out. */
int clicklog_read(const char *path, int n_int, int n_cat, int with_truth,
                  df_clicks **out);

/* The number of tab-separated fields on the first line of path, 0 for
 * an empty file, so a caller can check the layout before reading the
 * whole file.  Errors as clicklog_read's. */
int clicklog_first_fields(const char *path, int *n_fields);

/* Read PATH.truth into log (allocating its truth arrays). */
int clicklog_read_truth(const char *truth_path, df_clicks *log);

/* Write log to path (and path.truth when the log has the truth), each
 * through a temporary file renamed into place, so no half-written file
 * is left.  An existing file is an error unless force is set. */
int clicklog_write(const df_clicks *log, const char *path, int force);

#endif
