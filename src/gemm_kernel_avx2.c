/*
 * gemm_kernel_avx2.c — the x86-64 AVX2+FMA micro-kernel (contract in gemm.h), chosen at run
 * time by gemm.c only when the CPU reports both AVX2 and FMA.
 *
 * Register tile: up to 6 rows x 16 columns = 12 ymm accumulators; per k step two aligned
 * loads of the packed B row (one 64-byte cache line), one broadcast per A row, two FMAs per
 * row. Every row count 1..6 has its own fully unrolled instance, so ragged edges (M = 16 =
 * 6+6+4, M = 1 at the network's tail) waste no arithmetic. The epilogue keeps the
 * reference's separate roundings (add, multiply, add: never fused) so results stay faithful.
 */
#include "gemm.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))
/* GCC at -O2 does not fully unroll the row loops by itself; the accumulators must become
 * registers, so ask for it. */
#define UNROLL _Pragma("GCC unroll 6")

ALWAYS_INLINE void epilogue(const size_t MRV, __m256 *c0, __m256 *c1, float *const *c,
                            const fe__epi *ep) {
    const __m256 zero = _mm256_setzero_ps();
    if (ep->kind == FE_EPI_GEMM) {
        const __m256 alpha = _mm256_set1_ps(ep->alpha);
        if (ep->beta == 0.0f) {   /* BLIS rule: C is not read */
            UNROLL for (size_t r = 0; r < MRV; r++) {
                _mm256_storeu_ps(c[r], _mm256_mul_ps(c0[r], alpha));
                _mm256_storeu_ps(c[r] + 8, _mm256_mul_ps(c1[r], alpha));
            }
        } else {
            const __m256 beta = _mm256_set1_ps(ep->beta);
            UNROLL for (size_t r = 0; r < MRV; r++) {
                __m256 v0 = _mm256_mul_ps(c0[r], alpha), v1 = _mm256_mul_ps(c1[r], alpha);
                v0 = _mm256_add_ps(v0, _mm256_mul_ps(beta, _mm256_loadu_ps(c[r])));
                v1 = _mm256_add_ps(v1, _mm256_mul_ps(beta, _mm256_loadu_ps(c[r] + 8)));
                _mm256_storeu_ps(c[r], v0);
                _mm256_storeu_ps(c[r] + 8, v1);
            }
        }
        return;
    }
    const __m256 bi0 = _mm256_loadu_ps(ep->bias), bi1 = _mm256_loadu_ps(ep->bias + 8);
    const __m256 sc0 = _mm256_loadu_ps(ep->scale), sc1 = _mm256_loadu_ps(ep->scale + 8);
    const __m256 sh0 = _mm256_loadu_ps(ep->shift), sh1 = _mm256_loadu_ps(ep->shift + 8);
    UNROLL for (size_t r = 0; r < MRV; r++) {
        __m256 v0 = _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(c0[r], bi0), sc0), sh0);
        __m256 v1 = _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(c1[r], bi1), sc1), sh1);
        if (ep->res) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(ep->res[r]));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(ep->res[r] + 8));
        }
        if (ep->relu) {   /* max(0, v) returns v when v is NaN, like the reference's v<0?0:v */
            v0 = _mm256_max_ps(zero, v0);
            v1 = _mm256_max_ps(zero, v1);
        }
        _mm256_storeu_ps(c[r], v0);
        _mm256_storeu_ps(c[r] + 8, v1);
    }
}

ALWAYS_INLINE void tile(const size_t MRV, size_t n_seg, const fe__kseg *seg,
                        const float *const *a, const float *b, float *const *c,
                        const fe__epi *ep) {
    __m256 c0[FE_GEMM_MR], c1[FE_GEMM_MR];
    UNROLL for (size_t r = 0; r < MRV; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    for (size_t s = 0; s < n_seg; s++) {
        const float *bp = b + seg[s].b_off;
        const float *ap[FE_GEMM_MR];
        UNROLL for (size_t r = 0; r < MRV; r++) ap[r] = a[r] + seg[s].a_off;
        const size_t len = seg[s].len;
        _Pragma("GCC unroll 4") for (size_t k = 0; k < len; k++, bp += FE_GEMM_NR) {
            const __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
            UNROLL for (size_t r = 0; r < MRV; r++) {
                const __m256 av = _mm256_broadcast_ss(ap[r] + k);
                c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
                c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
            }
        }
    }
    epilogue(MRV, c0, c1, c, ep);
}

static void ukr_avx2(size_t mr, size_t n_seg, const fe__kseg *seg, const float *const *a,
                     const float *b, float *const *c, const fe__epi *ep) {
    switch (mr) {
    case 6: tile(6, n_seg, seg, a, b, c, ep); break;
    case 5: tile(5, n_seg, seg, a, b, c, ep); break;
    case 4: tile(4, n_seg, seg, a, b, c, ep); break;
    case 3: tile(3, n_seg, seg, a, b, c, ep); break;
    case 2: tile(2, n_seg, seg, a, b, c, ep); break;
    case 1: tile(1, n_seg, seg, a, b, c, ep); break;
    default: FE_ASSERT(mr >= 1 && mr <= FE_GEMM_MR);
    }
}

/* One row over NP panels: 2*NP independent accumulator chains instead of 2 (contract in
 * gemm.h). Each element's chain is the one tile(1, ...) builds, so results match it. */
ALWAYS_INLINE void gemv_tile(const size_t NP, size_t n_seg, const fe__kseg *seg,
                             const float *a, const float *b, size_t pstride, float *c,
                             const fe__epi *ep) {
    __m256 c0[FE_GEMM_GEMV_NP], c1[FE_GEMM_GEMV_NP];
    UNROLL for (size_t p = 0; p < NP; p++) c0[p] = c1[p] = _mm256_setzero_ps();
    for (size_t s = 0; s < n_seg; s++) {
        const float *bp = b + seg[s].b_off;
        const float *ap = a + seg[s].a_off;
        const size_t len = seg[s].len;
        _Pragma("GCC unroll 2") for (size_t k = 0; k < len; k++, bp += FE_GEMM_NR) {
            const __m256 av = _mm256_broadcast_ss(ap + k);
            UNROLL for (size_t p = 0; p < NP; p++) {
                c0[p] = _mm256_fmadd_ps(av, _mm256_load_ps(bp + p * pstride), c0[p]);
                c1[p] = _mm256_fmadd_ps(av, _mm256_load_ps(bp + p * pstride + 8), c1[p]);
            }
        }
    }
    UNROLL for (size_t p = 0; p < NP; p++) {
        fe__epi e = *ep;
        const float *rp = ep->res ? ep->res[0] + p * FE_GEMM_NR : NULL;
        float *cp = c + p * FE_GEMM_NR;
        if (ep->kind == FE_EPI_AFFINE) {
            e.bias = ep->bias + p * FE_GEMM_NR;
            e.scale = ep->scale + p * FE_GEMM_NR;
            e.shift = ep->shift + p * FE_GEMM_NR;
            e.res = ep->res ? &rp : NULL;
        }
        epilogue(1, &c0[p], &c1[p], &cp, &e);
    }
}

static void gemv_avx2(size_t np, size_t n_seg, const fe__kseg *seg, const float *a,
                      const float *b, size_t panel_stride, float *c, const fe__epi *ep) {
    switch (np) {
    case 4: gemv_tile(4, n_seg, seg, a, b, panel_stride, c, ep); break;
    case 3: gemv_tile(3, n_seg, seg, a, b, panel_stride, c, ep); break;
    case 2: gemv_tile(2, n_seg, seg, a, b, panel_stride, c, ep); break;
    case 1: gemv_tile(1, n_seg, seg, a, b, panel_stride, c, ep); break;
    default: FE_ASSERT(np >= 1 && np <= FE_GEMM_GEMV_NP);
    }
}

static const fe__gemm_kernel kernel_avx2 = {"avx2", ukr_avx2, gemv_avx2};

/* gemm.c calls this only after checking that the CPU has AVX2 and FMA. */
const fe__gemm_kernel *fe__gemm_kernel_avx2_impl(void) { return &kernel_avx2; }

#else
/* Not compiled for x86-64 AVX2: the kernel is unavailable. */
const fe__gemm_kernel *fe__gemm_kernel_avx2_impl(void) { return NULL; }
#endif
