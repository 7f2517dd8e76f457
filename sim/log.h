/* log.h: the one logger and the one error scheme of dfbench.
 *
 * Diagnostics go to stderr, prefixed "dfbench: LEVEL: ", so results on
 * stdout never mix with them.  --quiet raises the threshold to errors.
 *
 * Library functions never exit.  They return 0 on success or a negative
 * DF_E* code, after recording a one-line message with df_fail(); the
 * caller (in the end, main) prints df_errmsg() and maps the code to the
 * exit status with df_exit_status().  The message buffer is per thread,
 * so methods running side by side keep their own. */
#ifndef DFB_LOG_H
#define DFB_LOG_H

#include <stdarg.h>

enum df_status {
  DF_OK = 0,
  DF_EIO = -1,    /* runtime failure: I/O, resources (exit 1) */
  DF_EINPUT = -2, /* bad usage, config or data (exit 2) */
  DF_ENOMEM = -3, /* out of memory (exit 1) */
};

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A "dfbench: hint: ..." line, shown with errors where a fix is likely. */
void log_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Record the calling thread's error message and return code unchanged,
 * so that "return df_fail(DF_EINPUT, ...);" reads as one statement. */
int df_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The last message recorded by this thread ("" if none). */
const char *df_errmsg(void);
/* Exit status for a status code: 0, 1 (runtime) or 2 (input). */
int df_exit_status(int code);

#endif
