/*
 * topk_avx2.c — AVX2 + FMA scan of the gallery panels for one query at a time (contract in
 * topk.h; batches of queries go through the SGEMM micro-kernel, gemm_kernel_avx2.c).
 *
 * Panels hold 16 rows k-major, so one k step of a panel is two 8-float vectors and a score
 * accumulates in one lane by FMAs in ascending k from zero, exactly as the GEMM kernel does.
 * With one query a GEMM tile has a single FMA chain per lane and waits on its latency; here 4
 * panels are scanned at once (8 independent chains), which keeps up with memory bandwidth.
 * Compiled with -mavx2 -mfma and selected at run time only on CPUs that have both.
 */
#include "topk.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

int fe__topk_avx2_built(void) { return 1; }

/* One query x one panel (a tail of the single-query scan). */
static void tile_1x16(const float *q, const float *p, size_t dim, float *out, size_t n_out) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0;
    for (size_t k = 0; k < dim; k++) {
        __m256 a = _mm256_broadcast_ss(q + k);
        c0 = _mm256_fmadd_ps(a, _mm256_load_ps(p + k * 16), c0);
        c1 = _mm256_fmadd_ps(a, _mm256_load_ps(p + k * 16 + 8), c1);
    }
    float t[16];
    _mm256_storeu_ps(t, c0);
    _mm256_storeu_ps(t + 8, c1);
    for (size_t r = 0; r < n_out; r++) out[r] = t[r];
}

/* One query x 4 panels (64 rows): 8 independent chains hide the FMA latency. */
static void tile_1x64(const float *q, const float *p, size_t dim, float *out) {
    const size_t ps = dim * 16;
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (size_t k = 0; k < dim; k++) {
        __m256 a = _mm256_broadcast_ss(q + k);
        const float *pk = p + k * 16;
        c0 = _mm256_fmadd_ps(a, _mm256_load_ps(pk), c0);
        c1 = _mm256_fmadd_ps(a, _mm256_load_ps(pk + 8), c1);
        c2 = _mm256_fmadd_ps(a, _mm256_load_ps(pk + ps), c2);
        c3 = _mm256_fmadd_ps(a, _mm256_load_ps(pk + ps + 8), c3);
        c4 = _mm256_fmadd_ps(a, _mm256_load_ps(pk + 2 * ps), c4);
        c5 = _mm256_fmadd_ps(a, _mm256_load_ps(pk + 2 * ps + 8), c5);
        c6 = _mm256_fmadd_ps(a, _mm256_load_ps(pk + 3 * ps), c6);
        c7 = _mm256_fmadd_ps(a, _mm256_load_ps(pk + 3 * ps + 8), c7);
    }
    _mm256_storeu_ps(out, c0); _mm256_storeu_ps(out + 8, c1);
    _mm256_storeu_ps(out + 16, c2); _mm256_storeu_ps(out + 24, c3);
    _mm256_storeu_ps(out + 32, c4); _mm256_storeu_ps(out + 40, c5);
    _mm256_storeu_ps(out + 48, c6); _mm256_storeu_ps(out + 56, c7);
}

void fe__dot_block_avx2(const float *queries, size_t nq, const float *panels, size_t r0, size_t n,
                        size_t dim, float *out, size_t ldo) {
    const float *p0 = panels + (r0 / 16) * dim * 16;
    for (size_t q = 0; q < nq; q++) {
        const float *qp = queries + q * dim;
        float *o = out + q * ldo;
        size_t i = 0;
        for (; i + 64 <= n; i += 64) tile_1x64(qp, p0 + (i / 16) * dim * 16, dim, o + i);
        for (; i < n; i += 16) tile_1x16(qp, p0 + (i / 16) * dim * 16, dim, o + i, n - i < 16 ? n - i : 16);
    }
}

#else /* no AVX2 in this build: never selected */

int fe__topk_avx2_built(void) { return 0; }

void fe__dot_block_avx2(const float *queries, size_t nq, const float *panels, size_t r0, size_t n,
                        size_t dim, float *out, size_t ldo) {
    (void)queries; (void)nq; (void)panels; (void)r0; (void)n; (void)dim; (void)out; (void)ldo;
    FE_ASSERT(!"AVX2 kernel called in a build without it");
}

#endif
