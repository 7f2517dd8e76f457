/* learner.c: the learner registry and the config-to-spec glue (see
 * learner.h).  A new learner is one line in the table below. */
#include "models/learner.h"

#include <pthread.h>
#include <string.h>

#include "sim/log.h"

extern const learner_type learner_lr;
extern const learner_type learner_mlp;

static const learner_type *const learner_table[] = {
    &learner_lr,
    &learner_mlp,
};

#define LEARNER_COUNT \
  ((int)(sizeof learner_table / sizeof learner_table[0]))

const learner_type *learner_find(const char *name)
{
  for (int i = 0; i < LEARNER_COUNT; i++)
    if (!strcmp(learner_table[i]->name, name))
      return learner_table[i];
  return NULL;
}

/* The '|'-joined names, built once from the table. */
static char learner_names_buf[256];
static pthread_once_t learner_names_once = PTHREAD_ONCE_INIT;

static void learner_names_build(void)
{
  size_t len = 0;
  for (int i = 0; i < LEARNER_COUNT; i++) {
    const char *name = learner_table[i]->name;
    size_t k = strlen(name);
    if (len + k + 2 > sizeof learner_names_buf)
      break;
    if (i > 0)
      learner_names_buf[len++] = '|';
    memcpy(learner_names_buf + len, name, k);
    len += k;
  }
  learner_names_buf[len] = '\0';
}

const char *learner_names(void)
{
  pthread_once(&learner_names_once, learner_names_build);
  return learner_names_buf;
}

int learner_spec_from_config(learner_spec *spec, const df_config *cfg,
                             const feat_spec *features, int heads)
{
  memset(spec, 0, sizeof *spec);
  if (heads < 1 || heads > LOSS_MAX_HEADS)
    return df_fail(DF_EINPUT, "a learner has 1 to %d heads, not %d",
                   LOSS_MAX_HEADS, heads);
  spec->features = *features;
  spec->heads = heads;

  /* The optimiser by name; the config table allows only these two. */
  if (!strcmp(cfg->model_optimizer, "adam"))
    spec->optimizer = LEARNER_ADAM;
  else if (!strcmp(cfg->model_optimizer, "adagrad"))
    spec->optimizer = LEARNER_ADAGRAD;
  else
    return df_fail(DF_EINPUT, "%s: model.optimizer: '%s' is not valid; "
                              "choose one of adam|adagrad",
                   cfg_origin(cfg, "model", "optimizer"),
                   cfg->model_optimizer);
  spec->learning_rate = cfg->model_learning_rate;
  spec->l2 = cfg->model_l2;

  /* The MLP's shape. */
  if (cfg->model_hidden.n > LEARNER_MAX_HIDDEN)
    return df_fail(DF_EINPUT,
                   "%s: model.hidden: %d layers; at most %d are allowed",
                   cfg_origin(cfg, "model", "hidden"), cfg->model_hidden.n,
                   LEARNER_MAX_HIDDEN);
  spec->n_hidden = cfg->model_hidden.n;
  for (int i = 0; i < spec->n_hidden; i++)
    spec->hidden[i] = cfg->model_hidden.v[i];
  spec->embedding = cfg->model_embedding;
  spec->leaky_slope = cfg->model_leaky_slope;
  spec->bn_momentum = cfg->model_bn_momentum;
  spec->seed = (uint64_t)cfg->model_seed;
  return 0;
}

int learner_create(const char *type, const learner_spec *spec,
                   learner **out)
{
  *out = NULL;
  const learner_type *t = learner_find(type);
  if (!t)
    return df_fail(DF_EINPUT, "unknown learner '%s'; valid: %s", type,
                   learner_names());
  if (spec->heads < 1 || spec->heads > LOSS_MAX_HEADS)
    return df_fail(DF_EINPUT, "learner %s: %d heads; valid: 1 to %d",
                   type, spec->heads, LOSS_MAX_HEADS);
  if (spec->features.n_columns < 1 || feat_width(&spec->features) < 1)
    return df_fail(DF_EINPUT, "learner %s: the feature layout has no "
                              "columns",
                   type);
  return t->create(spec, out);
}
