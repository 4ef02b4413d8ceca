/*
 * threads.c — how many threads the library may use, and the build description.
 *
 * OpenMP is optional (make OMP=1 defines FE_OMP). Without it every parallel loop runs on one
 * thread and the pragmas are ignored, so no code path depends on OpenMP being present.
 */
#include "internal.h"
#include "gemm.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef FE_OMP
#include <omp.h>
#endif

int fe__max_threads(void) {
    const char *env = getenv("FE_THREADS");
    if (env && *env) {
        long n = strtol(env, NULL, 10);
        if (n >= 1 && n <= 1024) return (int)n;
    }
#ifdef FE_OMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

const char *fe_build_info(void) {
    static _Thread_local char buf[160];
    snprintf(buf, sizeof buf, "faceemd %s; openmp %s; gemm kernel %s (%dx%d)",
             fe_version_string(),
#ifdef FE_OMP
             "on",
#else
             "off",
#endif
             fe__gemm_kernel_name(), FE_GEMM_MR, FE_GEMM_NR);
    return buf;
}
