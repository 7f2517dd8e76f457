/* outfile.h: result files that appear whole or not at all.
 *
 * Every file dfbench writes for a user goes through here: it is written
 * to a temporary name in the same directory and renamed into place on
 * commit, so an interrupted or failed run leaves no half-written file,
 * and an existing file is never replaced unless the caller says so. */
#ifndef DFB_OUTFILE_H
#define DFB_OUTFILE_H

#include <stdio.h>

/* An existing file is refused (DF_EINPUT) unless force is set. */
typedef struct out_file {
  FILE *f;
  char path[4096];
  char tmp[4096];
} out_file;

int out_open(out_file *o, const char *path, int force);
/* Flush, close and rename into place; on failure the temporary is
 * removed.  Returns 0 or DF_EIO. */
int out_commit(out_file *o);
/* Close and remove the temporary (after an error). */
void out_abort(out_file *o);

#endif
