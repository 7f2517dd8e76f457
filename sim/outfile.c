/* outfile.c: atomic result files (see outfile.h). */
#include "sim/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/log.h"

int out_open(out_file *o, const char *path, int force)
{
  memset(o, 0, sizeof *o);
  if (strlen(path) + 16 >= sizeof o->path)
    return df_fail(DF_EINPUT, "%s: path too long", path);
  if (!force && access(path, F_OK) == 0)
    return df_fail(DF_EINPUT,
                   "%s exists; refusing to overwrite it (pass --force to "
                   "replace it)",
                   path);
  strcpy(o->path, path);
  snprintf(o->tmp, sizeof o->tmp, "%s.tmpXXXXXX", path);
  int fd = mkstemp(o->tmp);
  if (fd < 0)
    return df_fail(DF_EIO, "%s: cannot create: %s", path, strerror(errno));
  /* mkstemp makes the file 0600; results get the usual 0666 & ~umask. */
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  o->f = fdopen(fd, "w");
  if (!o->f) {
    close(fd);
    unlink(o->tmp);
    return df_fail(DF_EIO, "%s: cannot open: %s", path, strerror(errno));
  }
  return 0;
}

int out_commit(out_file *o)
{
  int bad = ferror(o->f);
  bad |= fclose(o->f) != 0;
  o->f = NULL;
  if (bad) {
    int e = errno;
    unlink(o->tmp);
    return df_fail(DF_EIO, "%s: write failed: %s", o->path, strerror(e));
  }
  if (rename(o->tmp, o->path)) {
    int e = errno;
    unlink(o->tmp);
    return df_fail(DF_EIO, "%s: cannot rename into place: %s", o->path,
                   strerror(e));
  }
  return 0;
}

void out_abort(out_file *o)
{
  if (o->f)
    fclose(o->f);
  o->f = NULL;
  if (o->tmp[0])
    unlink(o->tmp);
}
