/* log.c: stderr logger and per-thread error messages (see log.h). */
#include "sim/log.h"

#include <stdio.h>

static enum log_level g_level = LOG_INFO;
static _Thread_local char t_errmsg[1024];

static const char *const level_names[] = {"error", "warning", "info",
                                          "debug"};

void log_set_level(enum log_level level) { g_level = level; }

enum log_level log_get_level(void) { return g_level; }

void log_msg(enum log_level level, const char *fmt, ...)
{
  if (level > g_level)
    return;

  /* One fprintf per line keeps lines whole when threads log at once. */
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "dfbench: %s: %s\n", level_names[level], line);
}

void log_hint(const char *fmt, ...)
{
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "dfbench: hint: %s\n", line);
}

int df_fail(int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t_errmsg, sizeof t_errmsg, fmt, ap);
  va_end(ap);
  return code;
}

const char *df_errmsg(void) { return t_errmsg; }

int df_exit_status(int code)
{
  if (code == DF_OK)
    return 0;
  return code == DF_EINPUT ? 2 : 1;
}
