/* progress.h: progress of long work, on stderr.
 *
 * On a terminal a live bar redrawn at most ten times a second; otherwise
 * (a log file, CI) a plain key=value line every tenth of the way, so
 * shell tools can read it.  Silent under --quiet.  A progress handle is
 * used from one thread; progress_update is cheap enough for inner loops
 * (it looks at the clock only when the share has moved). */
#ifndef DFB_PROGRESS_H
#define DFB_PROGRESS_H

#include <stddef.h>

typedef struct progress progress;

/* Start reporting the work called label (e.g. "generate"). */
progress *progress_create(const char *label);
/* The share done, in [0, 1]. */
void progress_update(progress *p, double done);
/* Clear the bar and free the handle (NULL is fine). */
void progress_finish(progress *p);
/* Progress in whole units (sweep cells): done of total.  On a terminal
 * a bar with "done/total, left, eta"; otherwise a key=value line
 * (done=, left=, elapsed_s=, eta_s=) each time done changes.  The
 * estimate uses the rate since the first call, so units finished
 * before it (a resumed sweep) do not make it optimistic. */
void progress_count(progress *p, size_t done, size_t total);
/* Several tasks side by side (the methods of a run): done[i] in [0, 1]
 * for names[i], i < n.  On a terminal one line each with its bar,
 * redrawn in place at most ten times a second (progress_finish clears
 * them); otherwise the key=value lines of progress_update for the mean
 * share. */
void progress_lines(progress *p, const char *const *names,
                    const double *done, int n);
/* A callback for APIs that report progress through void *ctx. */
void progress_callback(void *ctx, double done);

#endif
