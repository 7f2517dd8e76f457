/* blas.c: OpenBLAS kernel choice and threads (see blas.h). */
#include "models/blas.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "sim/log.h"

/* Set by the restart so that it happens at most once. */
#define RESTARTED "DFBENCH_BLAS_RESTARTED"

static const char *better_kernels(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "Haswell";
#endif
  return NULL;
}

void blas_setup(char **argv)
{
  openblas_set_num_threads(1);
  const char *core = openblas_get_corename();
  const char *want = better_kernels();
  if (getenv("OPENBLAS_CORETYPE") || getenv(RESTARTED) || !want || !core ||
      strcmp(core, "Prescott"))
    return;

  /* The restart: same program, same arguments, better kernels.  If exec
   * fails, carry on with the slow kernels. */
  setenv("OPENBLAS_CORETYPE", want, 1);
  setenv(RESTARTED, "1", 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");
  log_debug("could not restart with %s kernels; using %s", want, core);
}

const char *blas_kernels(void) { return openblas_get_corename(); }
