/* cli.c: helpers shared by the commands (see cli.h). */
#include "bench/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/log.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "dfbench: error: %s%s%s\n", cmd ? cmd : "",
          cmd ? ": " : "", msg);
  fprintf(stderr, "try 'dfbench %s%s--help'\n", cmd ? cmd : "",
          cmd ? " " : "");
  return 2;
}

int cli_unknown_arg(const char *cmd, const char *arg)
{
  if (arg[0] == '-' && arg[1])
    return cli_usage_error(cmd, "unknown option '%s'", arg);
  return cli_usage_error(cmd, "unexpected argument '%s'", arg);
}

int cli_fail(int code)
{
  log_error("%s", df_errmsg());
  return df_exit_status(code);
}

int cli_read_config(df_config *cfg, const char *path, char *const *sets,
                    int n_sets)
{
  cfg_defaults(cfg);
  if (path) {
    int rc = cfg_load_file(cfg, path);
    if (rc)
      return rc;
  }
  for (int i = 0; i < n_sets; i++) {
    int rc = cfg_set(cfg, sets[i]);
    if (rc)
      return rc;
  }
  return 0;
}

int cli_load_config(df_config *cfg, const char *path, char *const *sets,
                    int n_sets)
{
  int rc = cli_read_config(cfg, path, sets, n_sets);
  return rc ? rc : cfg_validate(cfg);
}

int cli_load_run_config(df_config *cfg, const char *path, char **sets,
                        int n_sets, const char *data, const char *methods)
{
  char data_src[] = "data.source=file", data_path[4200], list[1100];
  if (data) {
    snprintf(data_path, sizeof data_path, "data.path=%s", data);
    sets[n_sets++] = data_src;
    sets[n_sets++] = data_path;
  }
  if (methods) {
    snprintf(list, sizeof list, "run.methods=%s", methods);
    sets[n_sets++] = list;
  }
  int rc = cli_load_config(cfg, path, sets, n_sets);
  if (methods)
    cfg_label_origin(cfg, "run.methods", "--methods");
  if (data) {
    cfg_label_origin(cfg, "data.source", "--data");
    cfg_label_origin(cfg, "data.path", "--data");
  }
  return rc;
}

void cli_csv_field(FILE *f, const char *t)
{
  if (!strpbrk(t, ",\"\n")) {
    fputs(t, f);
    return;
  }
  fputc('"', f);
  for (; *t; t++) {
    if (*t == '"')
      fputc('"', f);
    fputc(*t, f);
  }
  fputc('"', f);
}

/* One directory, or nothing when it is there already. */
static int make_one_dir(const char *dir)
{
  if (!mkdir(dir, 0777))
    return 0;
  int e = errno;
  struct stat st;
  if (e == EEXIST && !stat(dir, &st) && S_ISDIR(st.st_mode))
    return 0;
  if (e == EEXIST || e == ENOTDIR)
    return df_fail(DF_EINPUT, "%s: exists and is not a directory", dir);
  return df_fail(DF_EIO, "%s: cannot create: %s", dir, strerror(e));
}

int cli_make_dirs(const char *path)
{
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0)
    return df_fail(DF_EINPUT, "an empty path names no directory");
  if (n >= sizeof buf)
    return df_fail(DF_EINPUT, "%.64s...: path too long", path);
  memcpy(buf, path, n + 1);

  /* Each prefix that ends before a '/', then the whole path. */
  for (char *p = buf + 1;; p++) {
    if (*p && *p != '/')
      continue;
    char c = *p;
    *p = '\0';
    int rc = make_one_dir(buf);
    if (rc || !c)
      return rc;
    *p = c;
  }
}

int cli_opt_value(const char *cmd, int argc, char **argv, int *i,
                  const char *name, const char *short_name,
                  const char **value)
{
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (!strncmp(a, name, n) && a[n] == '=') {
    *value = a + n + 1;
    *i += 1;
    return 1;
  }
  if (strcmp(a, name) && !(short_name && !strcmp(a, short_name)))
    return 0;
  if (*i + 1 >= argc) {
    cli_usage_error(cmd, "%s needs a value", a);
    return -1;
  }
  *value = argv[*i + 1];
  *i += 2;
  return 1;
}

int cli_opt_flag(char **argv, int *i, const char *name,
                 const char *short_name)
{
  const char *a = argv[*i];
  if (strcmp(a, name) && !(short_name && !strcmp(a, short_name)))
    return 0;
  *i += 1;
  return 1;
}
