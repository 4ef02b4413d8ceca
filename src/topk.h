/*
 * topk.h — stage 1 of the search: dot-product scores of queries against a row-major matrix of
 * unit embeddings, and the top K of each query (bounded heaps, deterministic ties).
 *
 * The dot product has one fixed order of operations per kernel, so a query scored alone and
 * the same query inside a batch give bit-identical scores: element j goes to lane j % 8, each
 * lane is a chain over j in increasing order (fused multiply-add in the AVX2 kernel, multiply
 * then add in the portable one), and the lanes are summed as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)).
 * The two kernels differ only by FMA rounding (~1e-7 on unit vectors).
 */
#ifndef FE_TOPK_H
#define FE_TOPK_H

#include "internal.h"

typedef enum fe__kernel {
    FE__KERNEL_AUTO = 0,   /* FE_KERNEL=ref in the environment forces REF; else the best one */
    FE__KERNEL_REF  = 1,   /* portable C, always built                                       */
    FE__KERNEL_AVX2 = 2    /* x86-64 AVX2 + FMA, chosen at run time                          */
} fe__kernel;

/* The kernel a request resolves to on this machine (AVX2 falls back to REF where absent). */
fe__kernel fe__topk_kernel(fe__kernel want);
const char *fe__topk_kernel_name(fe__kernel k);

/* out[q * ldo + i] = dot(queries[q], rows[i]) for q < nq, i < n; rows and queries are
 * row-major with dim floats per row, dim a multiple of 8. kern must be resolved (REF/AVX2). */
void fe__dot_block(fe__kernel kern, const float *queries, size_t nq, const float *rows, size_t n,
                   size_t dim, float *out, size_t ldo);

typedef struct fe__topk_args {
    const float    *gallery;    /* n x dim, row-major                                         */
    size_t          n, dim;     /* n < 2^32 - 1; dim a multiple of 8                          */
    const float    *queries;    /* nq x dim                                                   */
    size_t          nq, k;      /* k >= 1                                                     */
    const uint32_t *exclude;    /* nq gallery indexes to skip (FE_NO_EXCLUDE: none), or NULL  */
    fe__kernel      kernel;     /* FE__KERNEL_AUTO normally                                   */
    int             n_threads;  /* gallery slices scanned in parallel (OpenMP); <= 0: auto    */
} fe__topk_args;

/* Top k of each query, best first, equal scores by lower index (fe_cosine_topk's contract:
 * hits has nq * k slots, counts may be NULL). Results do not depend on the thread count or on
 * how the queries are batched. FE_E_ARG, FE_E_LIMIT, FE_E_NOMEM. */
fe_status fe__topk(const fe__topk_args *a, fe_hit *hits, size_t *counts);

/* The AVX2 kernel (topk_avx2.c): fe__topk_avx2_built() is 0 where it is not compiled in. */
int fe__topk_avx2_built(void);
void fe__dot_block_avx2(const float *queries, size_t nq, const float *rows, size_t n, size_t dim,
                        float *out, size_t ldo);

#endif /* FE_TOPK_H */
