/*
 * topk_avx2.c — AVX2 + FMA dot-product kernel for stage 1 (contract in topk.h).
 *
 * Register tiles keep eight 8-lane accumulators (one per query/row pair) so the multiply-adds
 * are independent, then one shuffle network (reduce8) sums all eight at once in the canonical
 * lane order. One query: 1 x 8 rows per tile, reading the gallery once at memory speed.
 * Batched: 4 queries x 2 rows per tile, 6 loads per 8 FMAs, the rows coming from L2.
 * Compiled with -mavx2 -mfma; selected at run time only on CPUs that have both.
 */
#include "topk.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

int fe__topk_avx2_built(void) { return 1; }

/* Sums each of v0..v7 as ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)); lane i of the result is vi's. */
static inline __m256 reduce8(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 v4, __m256 v5,
                             __m256 v6, __m256 v7) {
    __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(v4, v5), _mm256_hadd_ps(v6, v7));
    /* u0 = [v0:0123 v1:0123 v2:0123 v3:0123 | v0:4567 v1:4567 v2:4567 v3:4567], u1 likewise */
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* The same association for one accumulator. */
static inline float reduce1(__m256 v) {
    __m256 t = _mm256_hadd_ps(v, v);
    t = _mm256_hadd_ps(t, t);
    return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
}

static float dot_1x1(const float *q, const float *r, size_t dim) {
    __m256 a = _mm256_setzero_ps();
    for (size_t j = 0; j < dim; j += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(r + j), a);
    return reduce1(a);
}

/* one query against 8 consecutive rows */
static void dot_1x8(const float *q, const float *r, size_t dim, float *out) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t j = 0; j < dim; j += 8) {
        __m256 qv = _mm256_loadu_ps(q + j);
        a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r + 0 * dim + j), a0);
        a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r + 1 * dim + j), a1);
        a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r + 2 * dim + j), a2);
        a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r + 3 * dim + j), a3);
        a4 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r + 4 * dim + j), a4);
        a5 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r + 5 * dim + j), a5);
        a6 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r + 6 * dim + j), a6);
        a7 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(r + 7 * dim + j), a7);
    }
    _mm256_storeu_ps(out, reduce8(a0, a1, a2, a3, a4, a5, a6, a7));
}

/* 4 queries (rows of q, stride dim) against 2 rows: out[qi * ldo + ri] */
static void dot_4x2(const float *q, const float *r, size_t dim, float *out, size_t ldo) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
           a30 = a00, a31 = a00;
    const float *q0 = q, *q1 = q + dim, *q2 = q + 2 * dim, *q3 = q + 3 * dim;
    const float *r0 = r, *r1 = r + dim;
    for (size_t j = 0; j < dim; j += 8) {
        __m256 g0 = _mm256_loadu_ps(r0 + j), g1 = _mm256_loadu_ps(r1 + j), qv;
        qv = _mm256_loadu_ps(q0 + j);
        a00 = _mm256_fmadd_ps(qv, g0, a00);
        a01 = _mm256_fmadd_ps(qv, g1, a01);
        qv = _mm256_loadu_ps(q1 + j);
        a10 = _mm256_fmadd_ps(qv, g0, a10);
        a11 = _mm256_fmadd_ps(qv, g1, a11);
        qv = _mm256_loadu_ps(q2 + j);
        a20 = _mm256_fmadd_ps(qv, g0, a20);
        a21 = _mm256_fmadd_ps(qv, g1, a21);
        qv = _mm256_loadu_ps(q3 + j);
        a30 = _mm256_fmadd_ps(qv, g0, a30);
        a31 = _mm256_fmadd_ps(qv, g1, a31);
    }
    float s[8];
    _mm256_storeu_ps(s, reduce8(a00, a01, a10, a11, a20, a21, a30, a31));
    for (int i = 0; i < 4; i++) {
        out[(size_t)i * ldo] = s[2 * i];
        out[(size_t)i * ldo + 1] = s[2 * i + 1];
    }
}

void fe__dot_block_avx2(const float *queries, size_t nq, const float *rows, size_t n, size_t dim,
                        float *out, size_t ldo) {
    size_t q = 0;
    for (; q + 4 <= nq; q += 4) {
        const float *qp = queries + q * dim;
        float *o = out + q * ldo;
        size_t i = 0;
        for (; i + 2 <= n; i += 2) dot_4x2(qp, rows + i * dim, dim, o + i, ldo);
        for (; i < n; i++)
            for (size_t k = 0; k < 4; k++) o[k * ldo + i] = dot_1x1(qp + k * dim, rows + i * dim, dim);
    }
    for (; q < nq; q++) {
        const float *qp = queries + q * dim;
        float *o = out + q * ldo;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) dot_1x8(qp, rows + i * dim, dim, o + i);
        for (; i < n; i++) o[i] = dot_1x1(qp, rows + i * dim, dim);
    }
}

#else /* no AVX2 in this build: never selected */

int fe__topk_avx2_built(void) { return 0; }

void fe__dot_block_avx2(const float *queries, size_t nq, const float *rows, size_t n, size_t dim,
                        float *out, size_t ldo) {
    (void)queries; (void)nq; (void)rows; (void)n; (void)dim; (void)out; (void)ldo;
    FE_ASSERT(!"AVX2 kernel called in a build without it");
}

#endif
