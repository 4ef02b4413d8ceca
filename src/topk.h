/*
 * topk.h — stage 1 of the search: dot-product scores of queries against the gallery's unit
 * embeddings, and the top K of each query (bounded heaps, deterministic ties).
 *
 * Gallery layout: panels of FE_TOPK_PANEL (16) embeddings stored k-major, panel p =
 * float[dim][16] holding rows 16p..16p+15 (the last panel zero-padded) — the packed-B format
 * of a BLIS-style GEMM (src/gemm.h, NR = 16), so S = Q x G^T needs no packing of the gallery.
 * Every score is one chain over k in ascending order starting from zero: fused multiply-add in
 * the AVX2 kernel, multiply then add in the portable one (the GEMM's own invariant). A query
 * scored alone and inside a batch therefore gets bit-identical scores; the two kernels differ
 * only by FMA rounding (~1e-7 on unit vectors).
 */
#ifndef FE_TOPK_H
#define FE_TOPK_H

#include "internal.h"

#define FE_TOPK_PANEL 16

typedef enum fe__kernel {
    FE__KERNEL_AUTO = 0,   /* FE_KERNEL=ref in the environment forces REF; else the best one */
    FE__KERNEL_REF  = 1,   /* portable C, always built                                       */
    FE__KERNEL_AVX2 = 2    /* x86-64 AVX2 + FMA, chosen at run time                          */
} fe__kernel;

/* The kernel a request resolves to on this machine (AVX2 falls back to REF where absent). */
fe__kernel fe__topk_kernel(fe__kernel want);
const char *fe__topk_kernel_name(fe__kernel k);

/* Floats in the panel form of n rows of dim floats: ceil(n/16) * dim * 16. */
size_t fe__panels_floats(size_t n, size_t dim);
/* Packs n row-major rows (dim floats each) into panels (zero-padding the last panel). */
void fe__panels_pack(const float *rows, size_t n, size_t dim, float *panels);
/* Writes one row into its column of the panels (panel memory already zeroed or packed). */
void fe__panels_set_row(float *panels, size_t dim, size_t i, const float *row);

/* out[q * ldo + i] = dot(queries[q], row i) for q < nq and rows i in [r0, r0 + n) of the
 * panel form; r0 is a multiple of 16. queries are row-major, dim floats each. kern must be
 * resolved (REF or AVX2). */
void fe__dot_block(fe__kernel kern, const float *queries, size_t nq, const float *panels,
                   size_t r0, size_t n, size_t dim, float *out, size_t ldo);

typedef struct fe__topk_args {
    const float    *panels;     /* the gallery in panel form, 64-byte aligned                 */
    size_t          n, dim;     /* rows (< 2^32 - 1); dim a multiple of 8                     */
    const float    *queries;    /* nq x dim, row-major                                        */
    size_t          nq, k;      /* k >= 1                                                     */
    const uint32_t *exclude;    /* nq gallery indexes to skip (FE_NO_EXCLUDE: none), or NULL  */
    fe__kernel      kernel;     /* FE__KERNEL_AUTO normally                                   */
    int             n_threads;  /* gallery slices scanned in parallel (OpenMP); <= 0: auto    */
} fe__topk_args;

/* Top k of each query, best first, equal scores by lower index (fe_cosine_topk's contract:
 * hits has nq * k slots, counts may be NULL). Results do not depend on the thread count or on
 * how the queries are batched. FE_E_ARG, FE_E_LIMIT, FE_E_OVERFLOW, FE_E_NOMEM. */
fe_status fe__topk(const fe__topk_args *a, fe_hit *hits, size_t *counts);

/* fe__topk with caller scratch: when the scan runs on one thread (n_threads 1, or auto on a
 * small gallery) and scratch (64-byte aligned) holds fe__topk_scratch_bytes(nq, k) bytes, it
 * allocates nothing; otherwise it behaves exactly as fe__topk. Same results either way. */
size_t fe__topk_scratch_bytes(size_t nq, size_t k);   /* 0 on overflow */
fe_status fe__topk_scratch(const fe__topk_args *a, void *scratch, size_t scratch_bytes,
                           fe_hit *hits, size_t *counts);

/* The one-query AVX2 scan (topk_avx2.c): fe__topk_avx2_built() is 0 where it is not compiled
 * in. Same contract as fe__dot_block; meant for nq of 1 or 2. */
int fe__topk_avx2_built(void);
void fe__dot_block_avx2(const float *queries, size_t nq, const float *panels, size_t r0, size_t n,
                        size_t dim, float *out, size_t ldo);

#endif /* FE_TOPK_H */
