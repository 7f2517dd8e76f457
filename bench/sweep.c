/* sweep.c: grids of experiments, their cells and their directory (see
 * sweep.h for the contracts: cell order, names, the seed rule, shards,
 * sweep.ini and the done marker). */
#include "bench/sweep.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/cli.h"
#include "bench/progress.h"
#include "bench/runner.h"
#include "sim/clicklog.h"
#include "sim/gen.h"
#include "sim/log.h"
#include "sim/outfile.h"

/* The largest seed the config accepts (2^53, exact in a double). */
#define SEED_MAX 9007199254740992LL


/* ---- the grid ---- */

static char *trim(char *s)
{
  while (isspace((unsigned char)*s))
    s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1]))
    *--e = '\0';
  return s;
}

/* Apply "key=value" to cfg; the message of a bad value, now or later,
 * names --grid instead of cfg_set's "--set". */
static int apply_value(df_config *cfg, const char *key, const char *value)
{
  char assign[SWEEP_MAX_VALUE + 128];
  snprintf(assign, sizeof assign, "%s=%s", key, value);
  int rc = cfg_set(cfg, assign);
  if (!rc) {
    cfg_label_origin(cfg, key, "--grid");
    return 0;
  }
  const char *msg = df_errmsg();
  if (!strncmp(msg, "--set: ", 7))
    msg += 7;
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", msg);
  return df_fail(rc, "--grid: %s", copy);
}

static int check_value(const df_config *base, const char *key,
                       const char *value)
{
  static _Thread_local df_config c;
  c = *base;
  return apply_value(&c, key, value);
}

/* Add value number pos (from 1) of the axis written as text. */
static int add_value(sweep_axis *a, const char *text, int pos, char *v)
{
  v = trim(v);
  if (!*v)
    return df_fail(DF_EINPUT,
                   "--grid %s: value %d is empty (two separators in a "
                   "row, or one at an end)",
                   text, pos);
  if (a->n == SWEEP_MAX_VALUES)
    return df_fail(DF_EINPUT, "--grid %s: more than %d values", text,
                   SWEEP_MAX_VALUES);
  if (strlen(v) >= SWEEP_MAX_VALUE)
    return df_fail(DF_EINPUT, "--grid %s: a value longer than %d bytes", text,
                   SWEEP_MAX_VALUE - 1);
  for (int i = 0; i < a->n; i++)
    if (!strcmp(a->value[i], v))
      return df_fail(DF_EINPUT, "--grid %s: value '%s' appears twice", text,
                     v);
  strcpy(a->value[a->n++], v);
  return 0;
}

int sweep_add_grid(sweep_spec *s, const df_config *base, const char *text)
{
  char buf[SWEEP_MAX_VALUES * SWEEP_MAX_VALUE];
  if (strlen(text) >= sizeof buf)
    return df_fail(DF_EINPUT, "--grid: the text is too long");
  strcpy(buf, text);

  /* KEY=VALUES, KEY a section.name of the config. */
  char *eq = strchr(buf, '=');
  if (!eq || !memchr(buf, '.', (size_t)(eq - buf)))
    return df_fail(DF_EINPUT,
                   "--grid %s: expected KEY=V1,V2,... (e.g. "
                   "esdfm.elapsed=5m,15m,1h)",
                   text);
  *eq = '\0';
  char *key = trim(buf), *values = eq + 1;
  if (s->n_axes == SWEEP_MAX_AXES)
    return df_fail(DF_EINPUT, "--grid %s: more than %d grids", text,
                   SWEEP_MAX_AXES);
  if (strlen(key) >= sizeof s->axis[0].key)
    return df_fail(DF_EINPUT, "--grid %s: key too long", text);
  for (int i = 0; i < s->n_axes; i++)
    if (!strcmp(s->axis[i].key, key))
      return df_fail(DF_EINPUT, "--grid %s: %s already has a --grid", text,
                     key);
  if (!strcmp(key, "run.threads"))
    return df_fail(DF_EINPUT,
                   "--grid %s: run.threads never changes results; use "
                   "--jobs to use more cores",
                   text);

  /* The values: split on ';' when there is one, else on ','.  Every
   * field counts, empty ones too: "5m,,1h" is a typo, not two values. */
  sweep_axis *a = &s->axis[s->n_axes];
  memset(a, 0, sizeof *a);
  strcpy(a->key, key);
  if (!*trim(values))
    return df_fail(DF_EINPUT, "--grid %s: no value given", text);
  char sep = strchr(values, ';') ? ';' : ',';
  for (char *v = values, *end;; v = end + 1) {
    end = strchr(v, sep);
    if (end)
      *end = '\0';
    int rc = add_value(a, text, a->n + 1, v);
    if (!rc)
      rc = check_value(base, key, a->value[a->n - 1]);
    if (rc)
      return rc;
    if (!end)
      break;
  }

  /* Two spellings of one setting (15m and 900s) would be one cell
   * twice under two names. */
  static _Thread_local df_config c;
  uint64_t hash[SWEEP_MAX_VALUES];
  for (int v = 0; v < a->n; v++) {
    c = *base;
    apply_value(&c, key, a->value[v]);
    hash[v] = sweep_config_hash(&c);
    for (int w = 0; w < v; w++)
      if (hash[w] == hash[v])
        return df_fail(DF_EINPUT,
                       "--grid %s: '%s' and '%s' are the same setting", text,
                       a->value[w], a->value[v]);
  }
  s->n_axes++;
  return 0;
}

int sweep_check(const sweep_spec *s)
{
  if (s->seeds < 1)
    return df_fail(DF_EINPUT, "--seeds %d: need at least 1", s->seeds);
  for (int i = 0; i < s->n_axes && s->seeds > 1; i++)
    if (!strcmp(s->axis[i].key, "generator.seed") ||
        !strcmp(s->axis[i].key, "model.seed"))
      return df_fail(DF_EINPUT,
                     "--grid %s with --seeds %d: the replicates set the "
                     "seeds themselves; use one or the other",
                     s->axis[i].key, s->seeds);
  return 0;
}

/* ---- cells ---- */

size_t sweep_cells(const sweep_spec *s)
{
  size_t n = (size_t)s->seeds;
  for (int i = 0; i < s->n_axes; i++)
    n *= (size_t)s->axis[i].n;
  return n;
}

void sweep_coords(const sweep_spec *s, size_t k, int *idx, int *seed)
{
  /* Mixed radix, the seed the fastest digit, the first axis slowest. */
  *seed = (int)(k % (size_t)s->seeds) + 1;
  k /= (size_t)s->seeds;
  for (int i = s->n_axes - 1; i >= 0; i--) {
    idx[i] = (int)(k % (size_t)s->axis[i].n);
    k /= (size_t)s->axis[i].n;
  }
}

/* Append text to buf at *used, %XX-escaping bytes outside the safe set
 * when escape is set. */
static void put_name(char *buf, size_t len, size_t *used, const char *t,
                     int escape)
{
  for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
    char tmp[4] = {(char)*p, 0};
    if (escape && !isalnum(*p) && *p != '.' && *p != '+' && *p != '-')
      snprintf(tmp, sizeof tmp, "%%%02X", *p);
    size_t n = strlen(tmp);
    if (*used + n < len) {
      memcpy(buf + *used, tmp, n + 1);
      *used += n;
    }
  }
}

static uint64_t fnv1a(const char *p, size_t n)
{
  uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 offset basis */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

void sweep_cell_name(const sweep_spec *s, size_t k, char *buf, size_t len)
{
  int idx[SWEEP_MAX_AXES], seed;
  sweep_coords(s, k, idx, &seed);
  char full[SWEEP_MAX_AXES * (3 * SWEEP_MAX_VALUE + 100) + 32];
  size_t used = 0;
  full[0] = '\0';
  for (int i = 0; i < s->n_axes; i++) {
    put_name(full, sizeof full, &used, s->axis[i].key, 0);
    put_name(full, sizeof full, &used, "-", 0);
    put_name(full, sizeof full, &used, s->axis[i].value[idx[i]], 1);
    put_name(full, sizeof full, &used, "_", 0);
  }
  char tail[32];
  snprintf(tail, sizeof tail, "seed-%d", seed);
  put_name(full, sizeof full, &used, tail, 0);

  /* Past SWEEP_MAX_NAME bytes (file systems stop at 255): the start and
   * a hash of the whole name, still distinct per cell. */
  if (used > SWEEP_MAX_NAME)
    snprintf(full + SWEEP_MAX_NAME - 17, 18, "~%016llx",
             (unsigned long long)fnv1a(full, used));
  snprintf(buf, len, "%s", full);
}

int sweep_cell_config(const sweep_spec *s, const df_config *base, size_t k,
                      df_config *out)
{
  int idx[SWEEP_MAX_AXES], seed;
  sweep_coords(s, k, idx, &seed);
  *out = *base;
  for (int i = 0; i < s->n_axes; i++) {
    int rc = apply_value(out, s->axis[i].key, s->axis[i].value[idx[i]]);
    if (rc)
      return rc;
  }

  /* The seed rule: replicate s adds s - 1 to both seeds. */
  if (out->gen_seed > SEED_MAX - (seed - 1) ||
      out->model_seed > SEED_MAX - (seed - 1))
    return df_fail(DF_EINPUT,
                   "--seeds %d: generator.seed or model.seed + %d is "
                   "above %lld",
                   s->seeds, seed - 1, SEED_MAX);
  out->gen_seed += seed - 1;
  out->model_seed += seed - 1;
  return cfg_validate(out);
}

/* ---- shards ---- */

int sweep_parse_shard(const char *text, int *index, int *count)
{
  char *end;
  errno = 0;
  long i = strtol(text, &end, 10);
  if (end == text || *end != '/' || errno)
    return df_fail(DF_EINPUT, "--shard %s: expected I/N, e.g. 0/4", text);
  const char *q = end + 1;
  long n = strtol(q, &end, 10);
  if (end == q || *end || errno || n < 1 || n > 1000000)
    return df_fail(DF_EINPUT,
                   "--shard %s: N must be a whole number in [1, 1000000]",
                   text);
  if (i < 0 || i >= n)
    return df_fail(DF_EINPUT,
                   "--shard %s: I must be in 0..%ld (shards are numbered "
                   "from 0)",
                   text, n - 1);
  *index = (int)i;
  *count = (int)n;
  return 0;
}

int sweep_in_shard(size_t k, int index, int count)
{
  return k % (size_t)count == (size_t)index;
}

/* ---- texts, hashes, files ---- */

/* The configuration as INI without documentation and without
 * run.threads (results never depend on it). */
static int config_text(const df_config *cfg, FILE *out)
{
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (!m)
    return df_fail(DF_ENOMEM, "out of memory");
  int rc = cfg_write(cfg, m, 0);
  fclose(m);
  if (rc) {
    free(text);
    return rc;
  }
  int in_run = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    if (line[0] == '[')
      in_run = !strcmp(line, "[run]");
    if (in_run && !strncmp(line, "threads =", 9))
      continue;
    fprintf(out, "%s\n", line);
  }
  free(text);
  return 0;
}

int sweep_spec_text(const sweep_spec *s, const df_config *base, char **out)
{
  size_t len = 0;
  *out = NULL;
  FILE *m = open_memstream(out, &len);
  if (!m)
    return df_fail(DF_ENOMEM, "out of memory");
  fputs("# dfbench sweep: the experiment this directory holds.  Every\n"
        "# run in it (each shard, each resume) must match this file.\n"
        "# Replicate s runs with generator.seed and model.seed below\n"
        "# plus s - 1; run.threads is left out (results never depend\n"
        "# on it).\n"
        "[sweep]\n",
        m);
  for (int i = 0; i < s->n_axes; i++) {
    const sweep_axis *a = &s->axis[i];
    int semi = 0;
    for (int v = 0; v < a->n; v++)
      semi |= strchr(a->value[v], ',') != NULL;
    fprintf(m, "grid = %s=", a->key);
    for (int v = 0; v < a->n; v++)
      fprintf(m, "%s%s", v ? (semi ? ";" : ",") : "", a->value[v]);
    fputc('\n', m);
  }
  fprintf(m, "seeds = %d\n\n", s->seeds);
  int rc = config_text(base, m);
  fclose(m);
  if (rc) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

uint64_t sweep_config_hash(const df_config *cfg)
{
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (!m)
    return 0;
  config_text(cfg, m);
  fclose(m);
  uint64_t h = fnv1a(text, len);
  free(text);
  return h;
}

/* The whole file, NUL-terminated, in *out (caller frees); NULL when it
 * does not exist.  0 or DF_EIO/DF_ENOMEM. */
static int read_all(const char *path, char **out)
{
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f)
    return errno == ENOENT ? 0
                           : df_fail(DF_EIO, "%s: cannot open: %s", path,
                                     strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f));) {
    n += got;
    if (n + 1 == cap) {
      char *bigger = realloc(buf, cap *= 2);
      if (!bigger)
        free(buf);
      buf = bigger;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf)
    return df_fail(DF_ENOMEM, "out of memory reading %s", path);
  if (bad) {
    free(buf);
    return df_fail(DF_EIO, "%s: read error", path);
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}

/* ---- sweep.ini: claim the directory or match it ---- */

/* The next "section.key = value" line of an INI text at *p, or 0. */
static int next_entry(const char **p, char *section, size_t slen, char *entry,
                      size_t elen)
{
  while (**p) {
    const char *line = *p, *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line) : strlen(line);
    *p = line + n + (nl != NULL);
    if (n == 0 || line[0] == '#')
      continue;
    if (line[0] == '[') {
      snprintf(section, slen, "%.*s", (int)(n > 2 ? n - 2 : 0), line + 1);
      continue;
    }
    snprintf(entry, elen, "%s.%.*s", section, (int)n, line);
    return 1;
  }
  return 0;
}

/* The first difference between two spec texts, as a message. */
static int spec_refuse(const char *path, const char *old, const char *now)
{
  char s1[64] = "", s2[64] = "", e1[1400], e2[1400];
  const char *p = old, *q = now;
  for (;;) {
    int a = next_entry(&p, s1, sizeof s1, e1, sizeof e1);
    int b = next_entry(&q, s2, sizeof s2, e2, sizeof e2);
    if (!a)
      snprintf(e1, sizeof e1, "(nothing)");
    if (!b)
      snprintf(e2, sizeof e2, "(nothing)");
    if (!a && !b)
      break;
    if (strcmp(e1, e2))
      break;
  }
  return df_fail(DF_EINPUT,
                 "%s: this directory holds a different sweep: it has "
                 "'%.600s' where this command has '%.600s'",
                 path, e1, e2);
}

static int spec_claim(const char *dir, const char *text, int force,
                      const char **hint)
{
  char path[4096], tmp[4200];
  snprintf(path, sizeof path, "%s/sweep.ini", dir);
  for (int attempt = 0; attempt < 2; attempt++) {
    /* A sweep already there must be this one. */
    char *old;
    int rc = read_all(path, &old);
    if (rc)
      return rc;
    if (old) {
      int same = !strcmp(old, text);
      if (!same && !force) {
        *hint = "choose another -o DIR, or pass --force to replace that "
                "sweep (its finished cells whose configuration is "
                "unchanged are kept, its other cells removed)";
        rc = spec_refuse(path, old, text);
        free(old);
        return rc;
      }
      free(old);
      if (same)
        return 0;
      log_warn("%s: replacing a different sweep (--force)", path);
      out_file o;
      rc = out_open(&o, path, 1);
      if (rc)
        return rc;
      fputs(text, o.f);
      return out_commit(&o);
    }

    /* A fresh directory: link() claims it without replacing a sweep.ini
     * that another shard wrote meanwhile. */
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    *hint = "choose another -o DIR for the sweep";
    if (!access(path, F_OK))
      return df_fail(DF_EINPUT,
                     "%s holds the results of a run, not a "
                     "sweep",
                     dir);
    snprintf(path, sizeof path, "%s/sweep.ini", dir);
    snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
      return df_fail(DF_EIO, "%s: cannot create: %s", path, strerror(errno));
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "w");
    int bad = !f || fputs(text, f) < 0;
    bad |= f ? fclose(f) != 0 : close(fd) != 0;
    int linked = !bad && !link(tmp, path);
    int e = errno;
    /* File systems without hard links: a rename, racy only against a
     * shard starting in the same instant with the same sweep.ini. */
    if (!bad && !linked && (e == EPERM || e == ENOTSUP) &&
        access(path, F_OK) && !rename(tmp, path))
      return 0;
    unlink(tmp);
    if (linked)
      return 0;
    if (bad || e != EEXIST)
      return df_fail(DF_EIO, "%s: cannot write: %s", path, strerror(e));
  }
  return df_fail(DF_EIO, "%s: changed while being read", path);
}

/* ---- cells on disk ---- */

int sweep_cell_done(const char *cell_dir, uint64_t hash)
{
  char path[4600], want[80], *text;
  snprintf(path, sizeof path, "%s/done", cell_dir);
  if (read_all(path, &text) || !text)
    return 0;
  snprintf(want, sizeof want, "config_fnv1a64 = %016llx\n",
           (unsigned long long)hash);
  int done = strstr(text, want) != NULL;
  free(text);
  return done;
}

/* Remove the marker first, then whatever a killed run left behind. */
static int cell_clean(const char *cell_dir)
{
  char path[4600];
  snprintf(path, sizeof path, "%s/done", cell_dir);
  if (unlink(path) && errno != ENOENT)
    return df_fail(DF_EIO, "%s: cannot remove: %s", path, strerror(errno));
  DIR *d = opendir(cell_dir);
  if (!d)
    return df_fail(DF_EIO, "%s: cannot open: %s", cell_dir, strerror(errno));
  for (struct dirent *e; (e = readdir(d));) {
    static const char *const ours[] = {"summary.csv", "hourly.csv",
                                       "config.ini"};
    int remove = strstr(e->d_name, ".tmp") != NULL;
    for (int i = 0; i < 3; i++)
      remove |= !strcmp(e->d_name, ours[i]);
    snprintf(path, sizeof path, "%s/%s", cell_dir, e->d_name);
    if (remove)
      unlink(path);
  }
  closedir(d);
  return 0;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does the directory look like a sweep cell: a done marker or one of
 * the files a run writes? */
static int looks_like_cell(const char *path)
{
  static const char *const files[] = {"done", "summary.csv", "hourly.csv",
                                      "config.ini"};
  char file[4700];
  for (int i = 0; i < 4; i++) {
    snprintf(file, sizeof file, "%s/%s", path, files[i]);
    if (!access(file, F_OK))
      return 1;
  }
  return 0;
}

/* Remove the cell directories in cells_dir that s does not name, after
 * --force replaced an older sweep: left there, they keep done markers
 * of other experiments, and anyone globbing the cells gets them.
 * Only directories that look like cells are touched; one holding
 * files dfbench did not write keeps them and is reported. */
static int cells_prune(const sweep_spec *s, const char *cells_dir,
                       size_t *removed)
{
  size_t n = sweep_cells(s);
  char **names = calloc(n ? n : 1, sizeof *names);
  int rc = names ? 0 : df_fail(DF_ENOMEM, "out of memory");
  for (size_t k = 0; k < n && !rc; k++) {
    char name[256];
    sweep_cell_name(s, k, name, sizeof name);
    if (!(names[k] = strdup(name)))
      rc = df_fail(DF_ENOMEM, "out of memory");
  }
  DIR *d = rc ? NULL : opendir(cells_dir);
  if (!rc && !d)
    rc = df_fail(DF_EIO, "%s: cannot open: %s", cells_dir, strerror(errno));
  if (!rc)
    qsort(names, n, sizeof *names, by_name);

  *removed = 0;
  for (struct dirent *e; !rc && (e = readdir(d));) {
    char path[4400], *key = e->d_name;
    struct stat st;
    if (e->d_name[0] == '.' ||
        bsearch(&key, names, n, sizeof *names, by_name))
      continue;
    snprintf(path, sizeof path, "%s/%s", cells_dir, e->d_name);
    if (lstat(path, &st) || !S_ISDIR(st.st_mode) || !looks_like_cell(path))
      continue;
    rc = cell_clean(path);
    if (!rc && rmdir(path))
      log_warn("%s: kept: it holds files a sweep did not write", path);
    else if (!rc)
      ++*removed;
  }
  if (d)
    closedir(d);
  for (size_t k = 0; names && k < n; k++)
    free(names[k]);
  free(names);
  return rc;
}

static int cell_mark(const char *cell_dir, const char *name, uint64_t hash)
{
  char path[4600];
  snprintf(path, sizeof path, "%s/done", cell_dir);
  out_file o;
  int rc = out_open(&o, path, 1);
  if (rc)
    return rc;
  fprintf(o.f,
          "# dfbench sweep: cell %s finished; its results are whole.\n"
          "config_fnv1a64 = %016llx\n",
          name, (unsigned long long)hash);
  return out_commit(&o);
}

/* The clicks of a cell: drawn from its world, or read from the file. */
static int cell_clicks(const df_config *cfg, df_clicks **log)
{
  if (!strcmp(cfg->data_source, "file"))
    return clicklog_read(cfg->data_path, cfg->gen_int_features,
                         cfg->gen_cat_features, 1, log);
  gen_world *w = NULL;
  int rc = gen_world_create(cfg, &w);
  if (!rc)
    rc = gen_draw_clicks(w, cfg->run_threads, NULL, NULL, log);
  gen_world_destroy(w);
  return rc;
}

/* Run one cell into its directory; the marker is written last. */
static int cell_run(const sweep_spec *s, const df_config *base,
                    const char *dir, size_t k, int threads)
{
  static _Thread_local df_config cfg;
  char name[256], cell_dir[4400];
  sweep_cell_name(s, k, name, sizeof name);
  snprintf(cell_dir, sizeof cell_dir, "%s/cells/%s", dir, name);
  int rc = sweep_cell_config(s, base, k, &cfg);
  uint64_t hash = sweep_config_hash(&cfg);
  if (!rc)
    rc = cli_make_dirs(cell_dir);
  if (!rc)
    rc = cell_clean(cell_dir);
  if (rc)
    return rc;

  cfg.run_threads = threads;
  df_clicks *log = NULL;
  rc = cell_clicks(&cfg, &log);
  if (rc)
    return rc;
  run_options opt = {NULL, 1};
  run_report rep;
  rc = runner_run(&cfg, log, &opt, &rep);
  clicks_destroy(log);
  if (rc)
    return rc;
  rc = runner_write(&rep, &cfg, cell_dir, 1);
  run_report_free(&rep);
  if (!rc)
    rc = cell_mark(cell_dir, name, hash);
  return rc;
}

/* ---- sweep.csv ---- */

/* The text of a finished cell's summary.csv (the caller frees it),
 * checked to be what runner_write writes: the header, then at least one
 * whole line with as many fields.  A done marker promises that; disk
 * trouble or a hand edit can break the promise.  DF_EINPUT names the
 * file and the line otherwise. */
static int cell_summary(const char *cell_dir, char **out)
{
  char path[4600], *text;
  snprintf(path, sizeof path, "%s/summary.csv", cell_dir);
  int rc = read_all(path, &text);
  if (rc)
    return rc;
  if (!text)
    return df_fail(DF_EINPUT, "%s: missing", path);
  size_t hl = strlen(runner_summary_header);
  int want = 1;
  for (const char *c = runner_summary_header; *c; c++)
    want += *c == ',';
  if (strncmp(text, runner_summary_header, hl) || text[hl] != '\n')
    rc = df_fail(DF_EINPUT, "%s:1: not summary.csv's header", path);
  long lineno = 2;
  for (const char *line = text + hl + 1; !rc && *line; lineno++) {
    const char *nl = strchr(line, '\n');
    int n = 1;
    for (const char *c = line; nl && c < nl; c++)
      n += *c == ',';
    if (!nl)
      rc = df_fail(DF_EINPUT, "%s:%ld: the last line is cut short", path,
                   lineno);
    else if (n != want)
      rc = df_fail(DF_EINPUT, "%s:%ld: %d fields, the header has %d", path,
                   lineno, n, want);
    else
      line = nl + 1;
  }
  if (!rc && lineno == 2)
    rc = df_fail(DF_EINPUT, "%s: no rows", path);
  if (rc) {
    free(text);
    return rc;
  }
  *out = text;
  return 0;
}

/* The rows of one finished cell's summary.csv, grid values and seed in
 * front, seconds (the last column) left out. */
static int csv_cell(const sweep_spec *s, const char *cell_dir, size_t k,
                    FILE *f, size_t *rows)
{
  char *text;
  int rc = cell_summary(cell_dir, &text);
  if (rc)
    return rc;
  size_t hl = strlen(runner_summary_header);
  int idx[SWEEP_MAX_AXES], seed;
  sweep_coords(s, k, idx, &seed);
  for (char *line = text + hl + 1, *next; *line; line = next) {
    next = strchr(line, '\n');
    next = next ? next + 1 : line + strlen(line);
    char *comma = next - 1;
    while (comma > line && *comma != ',')
      comma--;
    if (comma == line)
      continue;
    for (int i = 0; i < s->n_axes; i++) {
      cli_csv_field(f, s->axis[i].value[idx[i]]);
      fputc(',', f);
    }
    fprintf(f, "%d,%.*s\n", seed, (int)(comma - line), line);
    ++*rows;
  }
  free(text);
  return 0;
}

/* Take the advisory lock on DIR/sweep.lock that serialises rebuilding
 * sweep.csv.  Without it shards finishing together race: one that
 * scanned the cells before another committed its last could rename its
 * older table over the newer one.  With it, the last shard to take the
 * lock scans after every other shard's cells are committed.  POSIX
 * record locks (fcntl) work across NFS, where flock may not; they are
 * released when *fd is closed.  A file system without locks gives *fd
 * = -1 and a warning: the race is back, and any later run repairs it. */
static int dir_lock(const char *dir, int *fd)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/sweep.lock", dir);
  *fd = open(path, O_RDWR | O_CREAT, 0666);
  if (*fd < 0)
    return df_fail(DF_EIO, "%s: cannot open: %s", path, strerror(errno));
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  while (fcntl(*fd, F_SETLKW, &l) < 0) {
    int e = errno;
    if (e == EINTR)
      continue;
    close(*fd);
    *fd = -1;
    if (e != ENOLCK && e != EOPNOTSUPP && e != ENOSYS && e != EINVAL)
      return df_fail(DF_EIO, "%s: cannot lock: %s", path, strerror(e));
    log_warn("%s: the file system has no locks (%s); shards ending at "
             "the same moment may leave sweep.csv without the last "
             "cells, which any later run puts back",
             path, strerror(e));
    return 0;
  }
  return 0;
}

/* sweep_write_csv; *bad receives the cell whose summary.csv could not
 * be read (or stays as it was). */
static int write_csv(const sweep_spec *s, const df_config *base,
                     const char *dir, size_t *rows_out, size_t *bad)
{
  static _Thread_local df_config cfg;
  char path[4600];
  snprintf(path, sizeof path, "%s/sweep.csv", dir);
  out_file o;
  int lock;
  int rc = dir_lock(dir, &lock);
  if (!rc && (rc = out_open(&o, path, 1)) && lock >= 0)
    close(lock);
  if (rc)
    return rc;

  /* Header: the grid keys as given, seed, the summary's columns. */
  for (int i = 0; i < s->n_axes; i++) {
    cli_csv_field(o.f, s->axis[i].key);
    fputc(',', o.f);
  }
  fprintf(o.f, "seed,%.*s\n",
          (int)(strlen(runner_summary_header) - strlen(",seconds")),
          runner_summary_header);

  /* Every finished cell of every shard, in cell order. */
  size_t rows = 0, n = sweep_cells(s);
  for (size_t k = 0; k < n && !rc; k++) {
    char name[256], cell_dir[4400];
    sweep_cell_name(s, k, name, sizeof name);
    snprintf(cell_dir, sizeof cell_dir, "%s/cells/%s", dir, name);
    rc = sweep_cell_config(s, base, k, &cfg);
    if (!rc && sweep_cell_done(cell_dir, sweep_config_hash(&cfg)) &&
        (rc = csv_cell(s, cell_dir, k, o.f, &rows)))
      *bad = k;
  }
  if (rc)
    out_abort(&o);
  else
    rc = out_commit(&o);
  if (!rc && rows_out)
    *rows_out = rows;
  /* The rename is done before the lock is released. */
  if (lock >= 0)
    close(lock);
  return rc;
}

int sweep_write_csv(const sweep_spec *s, const df_config *base,
                    const char *dir, size_t *rows)
{
  size_t bad;
  return write_csv(s, base, dir, rows, &bad);
}

/* ---- running cells side by side ---- */

/* Each cell runs in a child process of its own, at most jobs at a time,
 * while this process only starts them, collects them and draws the
 * progress.  A process can be stopped at once and safely: when the
 * sweep is interrupted (SIGINT, SIGTERM) its running cells are killed,
 * which leaves at worst a cell without its done marker, cleaned here
 * and run again by the next run; a thread could not be stopped half-way
 * through a cell.  Nothing is lost in speed: a cell is seconds to
 * hours of work, a fork microseconds. */

typedef struct pool_child {
  pid_t pid; /* 0: a free slot */
  size_t k;  /* its cell */
  int fd;    /* read end of the pipe that carries its error message */
} pool_child;

typedef struct sweep_pool {
  const sweep_spec *s;
  const df_config *base;
  const char *dir;
  const size_t *todo;                /* cell numbers to run */
  size_t n, next;                    /* cells to run, cells started */
  size_t ran;                        /* cells finished */
  int threads;                       /* run.threads of each cell */
  const volatile sig_atomic_t *stop; /* set by a signal handler */
  int signal;                        /* the interrupting signal, or 0 */
  int status;                        /* the first failure and its message */
  char msg[1400];
  pool_child child[64];
} sweep_pool;

/* The child's side.  SIGINT and SIGTERM get their default action back
 * (the parent's handler only sets a flag this process never reads) and
 * are unblocked; the cell runs; a failure's message goes up the pipe,
 * in one write shorter than PIPE_BUF, so it never blocks.  _exit, not
 * exit: the parent's stdio buffers and atexit handlers are the
 * parent's. */
static void child_main(const sweep_pool *p, size_t k, int fd,
                       const sigset_t *mask)
{
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGINT, &dfl, NULL);
  sigaction(SIGTERM, &dfl, NULL);
  pthread_sigmask(SIG_SETMASK, mask, NULL);
  int rc = cell_run(p->s, p->base, p->dir, k, p->threads);
  if (rc) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", df_errmsg());
    if (write(fd, msg, strlen(msg)) < 0)
      rc = DF_EIO;
  }
  _exit(rc == 0 ? 0 : rc == DF_EINPUT ? 2 : rc == DF_ENOMEM ? 3 : 1);
}

/* Start cell k in slot c.  The two signals are blocked across fork, so
 * that one arriving in between reaches this process (and its flag), not
 * a child that still has this process's handler. */
static int pool_start(sweep_pool *p, pool_child *c, size_t k)
{
  int fds[2];
  if (pipe(fds))
    return df_fail(DF_EIO, "cannot start a cell: %s", strerror(errno));
  sigset_t block, mask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &mask);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child_main(p, k, fds[1], &mask);
  }
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &mask, NULL);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return df_fail(DF_EIO, "cannot start a cell: %s", strerror(e));
  }
  *c = (pool_child){.pid = pid, .k = k, .fd = fds[0]};
  return 0;
}

/* The message the child of c sent up its pipe, or "". */
static void child_message(pool_child *c, char *msg, size_t len)
{
  size_t used = 0;
  for (ssize_t n; used + 1 < len &&
                  (n = read(c->fd, msg + used, len - 1 - used)) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    used += (size_t)n;
  }
  msg[used] = '\0';
  close(c->fd);
}

/* Collect the child of c if it has ended (1), else 0.  A cell killed by
 * SIGINT or SIGTERM was interrupted, not failed: its directory is
 * cleaned unless its marker made it before the signal. */
static int pool_collect(sweep_pool *p, pool_child *c)
{
  int st;
  pid_t r = waitpid(c->pid, &st, WNOHANG);
  if (r == 0 || (r < 0 && errno == EINTR))
    return 0;
  char msg[1024], name[256], cell_dir[4400];
  child_message(c, msg, sizeof msg);
  sweep_cell_name(p->s, c->k, name, sizeof name);
  snprintf(cell_dir, sizeof cell_dir, "%s/cells/%s", p->dir, name);
  int code = 0, sig = r > 0 && WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  if (r < 0) {
    code = DF_EIO;
    snprintf(msg, sizeof msg, "lost its process: %s", strerror(errno));
  } else if (sig == SIGINT || sig == SIGTERM) {
    static _Thread_local df_config cfg;
    if (!p->signal)
      p->signal = sig;
    if (!sweep_cell_config(p->s, p->base, c->k, &cfg) &&
        sweep_cell_done(cell_dir, sweep_config_hash(&cfg)))
      p->ran++;
    else
      cell_clean(cell_dir);
  } else if (sig) {
    code = DF_EIO;
    snprintf(msg, sizeof msg, "killed by signal %d (%s)%s", sig,
             strsignal(sig), sig == SIGKILL ? "; out of memory?" : "");
  } else if (WEXITSTATUS(st)) {
    int x = WEXITSTATUS(st);
    code = x == 2 ? DF_EINPUT : x == 3 ? DF_ENOMEM : DF_EIO;
    if (!*msg)
      snprintf(msg, sizeof msg, "failed (exit status %d)", x);
  } else {
    p->ran++;
  }
  if (code && !p->status) {
    p->status = code;
    snprintf(p->msg, sizeof p->msg, "cell %s: %s", name, msg);
  }
  c->pid = 0;
  return 1;
}

/* Run p's cells, jobs at a time, drawing progress, until they are all
 * done, one has failed (the running ones finish; no new one starts) or
 * a signal set *p->stop (the running ones are killed). */
static void pool_run(sweep_pool *p, int jobs, size_t done_before,
                     size_t total)
{
  progress *bar = progress_create("sweep");
  progress_count(bar, done_before, total);

  /* The cells' own info lines and bars would interleave: while they
   * run only warnings and errors get through. */
  enum log_level level = log_get_level();
  if (level == LOG_INFO)
    log_set_level(LOG_WARN);
  int slots = jobs < 64 ? jobs : 64, running = 0, killed = 0;
  for (;;) {
    if (!p->signal && p->stop && *p->stop)
      p->signal = *p->stop;

    /* Fill the free slots. */
    for (int i = 0; i < slots && !p->signal && !p->status && p->next < p->n;
         i++) {
      if (p->child[i].pid)
        continue;
      int rc = pool_start(p, &p->child[i], p->todo[p->next]);
      if (rc && !p->status) {
        p->status = rc;
        snprintf(p->msg, sizeof p->msg, "%s", df_errmsg());
      }
      if (rc)
        break;
      p->next++;
      running++;
    }

    /* Interrupted: a terminal's Ctrl-C has reached the cells already,
     * a kill of this process alone has not. */
    for (int i = 0; i < slots && p->signal && !killed; i++)
      if (p->child[i].pid)
        kill(p->child[i].pid, SIGTERM);
    killed |= p->signal != 0;

    for (int i = 0; i < slots; i++)
      if (p->child[i].pid && pool_collect(p, &p->child[i]))
        running--;
    progress_count(bar, done_before + p->ran, total);
    if (!running && (p->signal || p->status || p->next == p->n))
      break;
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  log_set_level(level);
  progress_finish(bar);
}

int sweep_run(const sweep_spec *s, const df_config *base,
              const sweep_options *opt, sweep_stats *out)
{
  static _Thread_local df_config cfg;
  memset(out, 0, sizeof *out);
  out->cells = sweep_cells(s);
  char *text = NULL, cells_dir[4096];
  size_t *todo = NULL;

  /* Every cell's configuration is valid before any time is spent. */
  int rc = sweep_check(s);
  for (size_t k = 0; k < out->cells && !rc; k++) {
    const char *names[64];
    int n_names;
    rc = sweep_cell_config(s, base, k, &cfg);
    if (!rc)
      rc = runner_select(&cfg, names, 64, &n_names);
  }
  if (!rc)
    rc = sweep_spec_text(s, base, &text);
  if (!rc)
    rc = cli_make_dirs(opt->dir);
  if (!rc) {
    const char *hint = NULL;
    rc = spec_claim(opt->dir, text, opt->force, &hint);
    if (rc == DF_EINPUT && hint)
      snprintf(out->hint, sizeof out->hint, "%s", hint);
  }
  snprintf(cells_dir, sizeof cells_dir, "%s/cells", opt->dir);
  if (!rc)
    rc = cli_make_dirs(cells_dir);
  size_t pruned = 0;
  if (!rc && opt->force)
    rc = cells_prune(s, cells_dir, &pruned);
  if (pruned)
    log_warn("--force: removed %zu cell director%s that this sweep does "
             "not name from %s",
             pruned, pruned == 1 ? "y" : "ies", cells_dir);
  if (rc)
    goto cleanup;

  /* This shard's cells that are not finished. */
  todo = malloc((out->cells + 1) * sizeof *todo);
  if (!todo) {
    rc = df_fail(DF_ENOMEM, "out of memory");
    goto cleanup;
  }
  size_t n_todo = 0;
  for (size_t k = 0; k < out->cells; k++) {
    if (!sweep_in_shard(k, opt->shard, opt->shards))
      continue;
    char name[256], cell_dir[4400];
    sweep_cell_name(s, k, name, sizeof name);
    snprintf(cell_dir, sizeof cell_dir, "%s/%s", cells_dir, name);
    sweep_cell_config(s, base, k, &cfg);
    out->mine++;
    char *summary = NULL;
    int done = sweep_cell_done(cell_dir, sweep_config_hash(&cfg));
    /* A finished cell whose summary cannot be read is run again: its
     * configuration is known and its results are deterministic, so
     * that costs one cell's time and loses nothing. */
    if (done && cell_summary(cell_dir, &summary)) {
      log_warn("cell %s is marked done but %s; running it again", name,
               df_errmsg());
      done = 0;
    }
    free(summary);
    if (done)
      out->skipped++;
    else
      todo[n_todo++] = k;
  }
  /* A job array with more tasks than cells is legitimate, but a shard
   * number past the cells is more often a mistyped N. */
  if (!out->mine)
    log_warn("--shard %d/%d: the sweep has %zu cells, none of them k "
             "with k mod %d = %d; this shard has nothing to run",
             opt->shard, opt->shards, out->cells, opt->shards, opt->shard);
  log_info("sweep: %zu cells, %zu in shard %d/%d, %zu already finished, "
           "%zu to run, %d at a time",
           out->cells, out->mine, opt->shard, opt->shards, out->skipped,
           n_todo, opt->jobs);

  /* Run them; threads of one cell: run.threads shared among the jobs. */
  sweep_pool p = {.s = s,
                  .base = base,
                  .dir = opt->dir,
                  .todo = todo,
                  .n = n_todo,
                  .stop = opt->stop};
  p.threads =
      base->run_threads / opt->jobs > 1 ? base->run_threads / opt->jobs : 1;
  if (n_todo)
    pool_run(&p, opt->jobs, out->skipped, out->mine);
  out->ran = p.ran;
  out->interrupted = p.signal ? p.signal : opt->stop ? *opt->stop : 0;

  /* sweep.csv from every finished cell, whatever happened above.  A
   * cell this shard does not own is run again by its own shard. */
  size_t bad = out->cells;
  rc = write_csv(s, base, opt->dir, &out->rows, &bad);
  if (rc && bad < out->cells) {
    char name[256];
    sweep_cell_name(s, bad, name, sizeof name);
    if (opt->shards > 1 && !sweep_in_shard(bad, opt->shard, opt->shards))
      snprintf(out->hint, sizeof out->hint,
               "cell %s belongs to shard %zu/%d: rerun that shard's "
               "command, which runs a finished cell again when its "
               "summary.csv cannot be read",
               name, bad % (size_t)opt->shards, opt->shards);
    else
      snprintf(out->hint, sizeof out->hint,
               "rerun the same command: it runs a finished cell again "
               "when its summary.csv cannot be read");
  }
  if (p.status)
    rc = df_fail(p.status, "%s", p.msg);

cleanup:
  free(todo);
  free(text);
  return rc;
}
