/* blas.h: choosing OpenBLAS's kernels and threads.
 *
 * OpenBLAS picks its kernels when the library loads.  Debian 12's
 * OpenBLAS 0.3.21 does not recognise recent Xeons (family 6 model 207,
 * with AVX-512) and falls back to its "Prescott" SSE3 kernels, which run
 * the MLP 3-4x slower.  blas_setup() detects that case and restarts the
 * program once with OPENBLAS_CORETYPE set to the kernels the processor
 * supports (SkylakeX with AVX-512, Haswell with AVX2 and FMA).  A user's
 * own OPENBLAS_CORETYPE is always respected.  It also keeps BLAS single-
 * threaded: results must not depend on the thread count, and dfbench
 * uses its cores for methods and sweep cells side by side. */
#ifndef DFB_BLAS_H
#define DFB_BLAS_H

/* Call first thing in main.  May replace the process (execv) with the
 * same program and arguments; returns when no restart is needed. */
void blas_setup(char **argv);
/* The kernels OpenBLAS uses, e.g. "SkylakeX". */
const char *blas_kernels(void);

#endif
