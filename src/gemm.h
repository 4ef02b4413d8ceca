/*
 * gemm.h — faceemd's own single-precision GEMM: a packed, blocked BLIS-style driver over an
 * MR x NR register-tile micro-kernel (portable C, or AVX2+FMA chosen at run time).
 *
 * Layout: row-major throughout. The micro-kernel reads A through MR row pointers (each row
 * contiguous in k, so a packed A block, a plain row-major A, or — for convolution — rows of
 * an NHWC feature map addressed in place all work) and B from a packed panel [k][NR] (NR
 * floats per k, 64-byte aligned). A k-range may be split into segments that start at
 * different A offsets (the taps of a convolution window) while B stays contiguous.
 * Invariant: each C element is one FMA/multiply-add chain over k in ascending order starting
 * from zero, whatever the tile shape, batch grouping or thread count; so a kernel gives
 * bit-identical results for an image alone or inside a batch.
 */
#ifndef FE_GEMM_H
#define FE_GEMM_H

#include "internal.h"

#define FE_GEMM_MR 6    /* rows of the register tile                                      */
#define FE_GEMM_NR 16   /* columns of the register tile: two 8-float AVX vectors          */

/* One contiguous run of k: rows a[r] + a_off .. + len, B panel rows b_off/NR .. + len. */
typedef struct fe__kseg {
    size_t a_off;   /* floats added to every A row pointer                                */
    size_t b_off;   /* floats into the packed B panel (= first k of the run * FE_GEMM_NR) */
    size_t len;     /* number of k values                                                 */
} fe__kseg;

/* What the micro-kernel does with its MR x NR accumulator tile AB before storing it. */
typedef enum fe__epi_kind {
    FE_EPI_GEMM = 0,   /* C = alpha*AB (+ beta*C; C is never read when beta == 0)          */
    FE_EPI_AFFINE = 1  /* C = relu?(((AB + bias) * scale + shift) (+ R)), per-column vectors */
} fe__epi_kind;

typedef struct fe__epi {
    fe__epi_kind kind;
    float        alpha, beta;                 /* FE_EPI_GEMM                                  */
    const float *bias, *scale, *shift;        /* FE_EPI_AFFINE: NR entries for this tile      */
    const float *const *res;                  /* FE_EPI_AFFINE: mr residual rows, or NULL     */
    int          relu;                        /* FE_EPI_AFFINE: max(0, .) last, NaN kept      */
} fe__epi;

/* Micro-kernel: C[r][0..NR) for r < mr (1 <= mr <= FE_GEMM_MR) from the k segments.
 * a[r]: row r of A; b: packed panel; c[r]: row r of C (NR floats, any alignment). The
 * affine epilogue reproduces the reference's float ops exactly: add bias, multiply by scale,
 * add shift, add residual, then ReLU (each rounded to float, never fused). */
typedef void (*fe__ukr_fn)(size_t mr, size_t n_seg, const fe__kseg *seg,
                           const float *const *a, const float *b, float *const *c,
                           const fe__epi *ep);

/* One-row kernel over np adjacent panels (1 <= np <= FE_GEMM_GEMV_NP): for p < np,
 * c[p*NR .. p*NR+NR) = epilogue(a . panel p), panel p at b + p*panel_stride, its epilogue
 * vectors at bias/scale/shift + p*NR and its residual at res[0] + p*NR. For output maps of
 * one pixel (the 1x1 layers at batch 1), where a 1 x NR tile has only two accumulator
 * chains and waits on FMA latency: np panels give 2*np independent chains. Each element is
 * the same chain as ukr(1, ...) computes, so results are bit-identical to it. */
typedef void (*fe__gemv_fn)(size_t np, size_t n_seg, const fe__kseg *seg, const float *a,
                            const float *b, size_t panel_stride, float *c, const fe__epi *ep);

#define FE_GEMM_GEMV_NP 4   /* panels per gemv call: 8 accumulators                       */

typedef struct fe__gemm_kernel {
    const char *name;   /* "ref" or "avx2"                                                */
    fe__ukr_fn  ukr;
    fe__gemv_fn gemv;
} fe__gemm_kernel;

/* The portable kernel (always available). */
const fe__gemm_kernel *fe__gemm_kernel_ref(void);
/* The AVX2+FMA kernel, or NULL when this build or CPU lacks it. */
const fe__gemm_kernel *fe__gemm_kernel_avx2(void);
/* What gemm_kernel_avx2.c compiled to (NULL off x86-64); no CPU check: use the above. */
const fe__gemm_kernel *fe__gemm_kernel_avx2_impl(void);
/* The kernel to use: FE_KERNEL=ref forces the portable one; otherwise the best the CPU runs. */
const fe__gemm_kernel *fe__gemm_kernel_default(void);
/* Name of the default kernel ("avx2" / "ref"), for fe_build_info. */
const char *fe__gemm_kernel_name(void);

/* Applies the epilogue to an mr x NR tile of accumulators (ab, row stride NR) in portable
 * C. Used by the reference kernel, and by callers that stage ragged tiles. */
void fe__epi_apply_ref(size_t mr, const float *ab, float *const *c, const fe__epi *ep);

/* ---- general entry point for other code (EMD cost matrices, gallery scans) -------------- */

/* C = alpha * op(A) * op(B) + beta * C, row-major; op(A) is m x k, op(B) is k x n.
 *   trans_a = 0: A[i*lda + p] (lda >= k);  trans_a = 1: A[p*lda + i] (lda >= m)
 *   trans_b = 0: B[p*ldb + j] (ldb >= n);  trans_b = 1: B[j*ldb + p] (ldb >= k)
 *   C[i*ldc + j] (ldc >= n).
 * beta == 0 follows the BLIS rule: C is only written, never read (NaN in C is overwritten).
 * alpha == 0 or k == 0: A and B are not read; C = beta*C. Multithreaded (fe__max_threads)
 * when the product is large enough to pay. Statuses: FE_E_ARG (NULL pointer or leading
 * dimension too small), FE_E_OVERFLOW, FE_E_NOMEM (packing buffers). */
fe_status fe__sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                    const float *A, size_t lda, const float *B, size_t ldb, float beta,
                    float *C, size_t ldc);
/* Same with an explicit kernel and thread count (tests, benchmarks). */
fe_status fe__sgemm_ex(const fe__gemm_kernel *kern, int n_threads, int trans_a, int trans_b,
                       size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
                       const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* ---- pre-packed B (weights) -------------------------------------------------------------- */

/* Floats needed to pack a k x n row-major B into panels: ceil(n/NR) * k * NR. */
size_t fe__gemm_packed_b_size(size_t k, size_t n);
/* Packs row-major B (k x n, row stride ldb) into panels [n/NR][k][NR], zero-padding the
 * last panel's columns. Panel j starts at dst + j*k*NR, so any k sub-range of a panel is
 * contiguous. dst must be 64-byte aligned. */
void fe__gemm_pack_b(size_t k, size_t n, const float *B, size_t ldb, float *dst);

#endif /* FE_GEMM_H */
