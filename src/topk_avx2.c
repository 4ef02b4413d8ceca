/*
 * topk_avx2.c — AVX2 + FMA dot-product kernels for stage 1 (contract in topk.h).
 *
 * Panels hold 16 rows k-major, so one k step of a panel is two 8-float vectors and a score
 * accumulates in one lane by FMAs in ascending k: no horizontal sums. Batched: 6 queries x
 * 16 rows per tile (12 accumulators; per k 2 panel loads + 6 broadcasts for 12 FMAs), the
 * GEMM micro-kernel shape; a group of fewer than 6 queries repeats a row rather than having
 * its own slower tile. One query: 4 panels at once (8 independent FMA chains to cover the
 * FMA latency), reading the gallery once at memory speed. Compiled with -mavx2 -mfma and
 * selected at run time only on CPUs that have both.
 */
#include "topk.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

int fe__topk_avx2_built(void) { return 1; }

/* Up to 6 queries (row pointers; a short group repeats its last row, whose extra results are
 * dropped) x one panel of 16 rows: out[j * ldo + 0..n_out) for j < mq. */
static void tile_6x16(const float *const qr[6], size_t mq, const float *p, size_t dim, float *out,
                      size_t ldo, size_t n_out) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const float *q0 = qr[0], *q1 = qr[1], *q2 = qr[2], *q3 = qr[3], *q4 = qr[4], *q5 = qr[5];
    for (size_t k = 0; k < dim; k++) {
        __m256 b0 = _mm256_load_ps(p + k * 16), b1 = _mm256_load_ps(p + k * 16 + 8), a;
        a = _mm256_broadcast_ss(q0 + k); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(q1 + k); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(q2 + k); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(q3 + k); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(q4 + k); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(q5 + k); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    }
    float t[6][16];
    int direct = mq == 6 && n_out == 16;
    float *o[6];
    for (size_t j = 0; j < 6; j++) o[j] = direct ? out + j * ldo : t[j];
    _mm256_storeu_ps(o[0], c00); _mm256_storeu_ps(o[0] + 8, c01);
    _mm256_storeu_ps(o[1], c10); _mm256_storeu_ps(o[1] + 8, c11);
    _mm256_storeu_ps(o[2], c20); _mm256_storeu_ps(o[2] + 8, c21);
    _mm256_storeu_ps(o[3], c30); _mm256_storeu_ps(o[3] + 8, c31);
    _mm256_storeu_ps(o[4], c40); _mm256_storeu_ps(o[4] + 8, c41);
    _mm256_storeu_ps(o[5], c50); _mm256_storeu_ps(o[5] + 8, c51);
    if (!direct)
        for (size_t j = 0; j < mq; j++)
            for (size_t r = 0; r < n_out; r++) out[j * ldo + r] = t[j][r];
}

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
    if (nq < 3) {  /* few queries: one at a time over 4 panels per tile, at memory speed */
        for (size_t q = 0; q < nq; q++) {
            const float *qp = queries + q * dim;
            float *o = out + q * ldo;
            size_t i = 0;
            for (; i + 64 <= n; i += 64) tile_1x64(qp, p0 + (i / 16) * dim * 16, dim, o + i);
            for (; i < n; i += 16) tile_1x16(qp, p0 + (i / 16) * dim * 16, dim, o + i, n - i < 16 ? n - i : 16);
        }
        return;
    }
    /* panel-major: each 8 KiB panel stays in L1 while every query group passes over it */
    for (size_t i = 0; i < n; i += 16) {
        const float *p = p0 + (i / 16) * dim * 16;
        size_t nr = n - i < 16 ? n - i : 16;
        for (size_t q = 0; q < nq; q += 6) {
            size_t mq = nq - q < 6 ? nq - q : 6;
            const float *qr[6];
            for (size_t j = 0; j < 6; j++) qr[j] = queries + (q + (j < mq ? j : mq - 1)) * dim;
            tile_6x16(qr, mq, p, dim, out + q * ldo + i, ldo, nr);
        }
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
