/* config.h: the experiment configuration, its keys and its INI files.
 *
 * Every key lives in one table (config.c): section, name, type, default,
 * valid range, choices or syntax check, unit and a sentence of
 * documentation.  Every value is checked when it is read, whether or
 * not the rest of the configuration uses the key.  The
 * parser, --set, the validation messages, `dfbench config` and the
 * config.ini written beside results are all driven by that table, so a
 * key is added in exactly one place.
 *
 * df_config is plain data that the caller owns; it holds no pointers.
 * Durations are stored in seconds. */
#ifndef DFB_CONFIG_H
#define DFB_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define CFG_MAX_LIST 64
#define CFG_MAX_TEXT 1024
#define CFG_MAX_KEYS 96

typedef struct cfg_list {
  int n;
  int v[CFG_MAX_LIST];
} cfg_list;

typedef struct df_config {
  /* [data] */
  char data_source[CFG_MAX_TEXT]; /* "synthetic" or "file" */
  char data_path[CFG_MAX_TEXT];

  /* [generator] */
  int64_t gen_seed;
  double gen_days;
  int64_t gen_clicks;
  double gen_cvr;
  int gen_int_features;
  int gen_cat_features;
  double gen_missing;
  int64_t gen_cat_values;
  double gen_zipf;
  double gen_churn; /* seconds */
  double gen_signal;
  double gen_interaction;

  /* [delay] */
  char delay_family[CFG_MAX_TEXT];
  double delay_mean;   /* seconds */
  double delay_shape;
  double delay_scale;  /* seconds */
  double delay_median; /* seconds */
  double delay_sigma;
  char delay_components[CFG_MAX_TEXT];
  double delay_feature_effect;
  double delay_mix_effect;
  double delay_attribution; /* seconds */

  /* [stream] */
  double stream_pretrain; /* seconds */
  double stream_interval; /* seconds */
  char stream_pretrain_labels[CFG_MAX_TEXT];

  /* [run] */
  char run_methods[CFG_MAX_TEXT];
  int run_threads;

  /* [vanilla], [esdfm], [fsiw], [defer] */
  double vanilla_wait;
  int vanilla_duplicate;
  double esdfm_elapsed;
  double fsiw_deadline;
  double defer_elapsed;
  double defer_window;

  /* [model] */
  char model_type[CFG_MAX_TEXT];
  char model_optimizer[CFG_MAX_TEXT];
  double model_learning_rate;
  int model_batch;
  double model_l2;
  int model_epochs;
  cfg_list model_hidden;
  int model_embedding;
  double model_leaky_slope;
  double model_bn_momentum;
  cfg_list model_int_bins;
  cfg_list model_cat_buckets;
  char model_int_scale[CFG_MAX_TEXT];
  int64_t model_seed;

  /* Where each key's value came from ("FILE:LINE", "--set" or
   * "default"), indexed like the key table, for later error messages. */
  char origin[CFG_MAX_KEYS][80];
} df_config;

typedef enum cfg_type {
  CFG_INT,      /* int, decimal */
  CFG_INT64,    /* int64_t, decimal */
  CFG_DOUBLE,   /* double */
  CFG_DURATION, /* double seconds, written with a unit: 15m, 0.25h, 7d */
  CFG_BOOL,     /* int 0/1: true/false, yes/no, on/off, 1/0 */
  CFG_CHOICE,   /* text, one of the '|'-separated choices */
  CFG_TEXT,     /* free text */
  CFG_LIST,     /* cfg_list of positive ints: "256,256,128" */
} cfg_type;

typedef struct cfg_key {
  const char *section;
  const char *name;
  cfg_type type;
  const char *def;     /* default, as text in the file's syntax */
  double min, max;     /* inclusive range for numbers and list items */
  const char *choices; /* CFG_CHOICE: "a|b|c" */
  /* CFG_TEXT: the value's syntax, checked whenever the key is read,
   * used or not, so a typo fails where it was written; returns 0 or
   * DF_EINPUT with the reason in df_errmsg().  NULL: any text. */
  int (*check)(const char *text);
  size_t offset;       /* of the value in df_config */
  const char *unit;    /* shown in docs: "seconds", "clicks", ... */
  const char *doc;     /* one sentence */
} cfg_key;

/* The key table and its length. */
const cfg_key *cfg_keys(int *n);
/* The key "section.name", or NULL. */
const cfg_key *cfg_find(const char *section, const char *name);

/* Fill cfg with every default. */
void cfg_defaults(df_config *cfg);
/* Read an INI file over cfg.  Errors (exit 2) name the file, the line
 * and the key, and the valid range or choices. */
int cfg_load_file(df_config *cfg, const char *path);
/* Apply one "section.key=value" from the command line. */
int cfg_set(df_config *cfg, const char *assignment);
/* Say where the value of key ("section.name") came from, for messages
 * that name it later: "--methods" for a value cfg_set applied on behalf
 * of an option.  An unknown key is ignored. */
void cfg_label_origin(df_config *cfg, const char *key, const char *origin);
/* Cross-key checks that single values cannot make: data.path for file
 * data.  (The delay family's parameters against delay.attribution are
 * checked by delay_from_config, which only the world's users call.)
 * Messages name the key's origin. */
int cfg_validate(const df_config *cfg);
/* Write the whole configuration as INI: every key, documented, with
 * values that read back to the same configuration. */
int cfg_write(const df_config *cfg, FILE *out, int with_docs);
/* Where the value of "section.name" came from. */
const char *cfg_origin(const df_config *cfg, const char *section,
                       const char *name);

/* "15m" -> 900.  A number and a unit s, m, h or d; 0 or DF_EINPUT. */
int cfg_parse_duration(const char *text, double *seconds);
/* The shortest decimal text that reads back to exactly v. */
void cfg_format_double(double v, char *buf, size_t len);
/* Seconds as the shortest exact text with a unit: 900 -> "15m". */
void cfg_format_duration(double seconds, char *buf, size_t len);

#endif
