/* clicklog_internal.h: the knobs of the click-log reader that tests
 * reach and callers need not.
 *
 * The reader takes the file in blocks of CLICKLOG_BLOCK bytes; a line
 * that straddles two blocks is carried over to the next read.  Tests
 * read the same bytes with tiny blocks (down to 1 byte) to exercise
 * every way a line, a field or a "\r\n" can be cut. */
#ifndef DFB_CLICKLOG_INTERNAL_H
#define DFB_CLICKLOG_INTERNAL_H

#include <stddef.h>

#include "sim/clicklog.h"

/* Bytes asked of fread at a time by clicklog_read(). */
#define CLICKLOG_BLOCK ((size_t)2 << 20)
/* A line longer than this is an error, so a file without newlines
 * cannot make the reader's buffer grow with the file. */
#define CLICKLOG_MAX_LINE ((size_t)1 << 20)

/* clicklog_read() with the block size as a parameter (block >= 1). */
int clicklog_read_blocks(const char *path, int n_int, int n_cat,
                         int with_truth, size_t block, df_clicks **out);

/* clicklog_read_truth() with the block size as a parameter. */
int clicklog_read_truth_blocks(const char *truth_path, df_clicks *log,
                               size_t block);

#endif
