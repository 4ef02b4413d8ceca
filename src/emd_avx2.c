/*
 * emd_avx2.c — AVX2+FMA kernels of stage 2, chosen at run time (fe__emd_kernel_pick); the
 * portable versions in emd_gemm.c / emd_sinkhorn.c are the reference they are tested against.
 *
 *   fe__emd_gemm_nt_avx2   C = A B^T on rows of length K: 4x3 blocks of dot products, 8 lanes
 *                          along K, B streamed once (outer loop) while A stays in L1.
 *   fe__emd_exp_neg_avx2   exp(x), x <= 0, in double: 2^k e^r, |r| <= ln2/2, degree-13 Taylor.
 *   fe__sk_kernel_avx2     K' = exp(-(c - cmin)/eps) and its transpose, with padding (emd.h).
 *   fe__sk_iterate_avx2    the Sinkhorn scaling loop in double, 16 rows per register block.
 */
#include "emd.h"

#if FE__EMD_HAVE_AVX2 && defined(__AVX2__) && defined(__FMA__)

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

/* ---- cost GEMM -------------------------------------------------------------------------- */

INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* One MR x NR block of C (MR <= 4, NR <= 3, compile-time constants after inlining). */
INLINE void gemm_block(const int MR, const int NR, size_t K, const float *A, size_t lda,
                       const float *B, size_t ldb, float *C, size_t ldc) {
    __m256 acc[4][3];
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 bv[3];
#pragma GCC unroll 3
        for (int j = 0; j < NR; j++) bv[j] = _mm256_loadu_ps(B + (size_t)j * ldb + k);
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_loadu_ps(A + (size_t)i * lda + k);
#pragma GCC unroll 3
            for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
    if (k < K) { /* tail of K: masked loads read nothing past the row */
        static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
        __m256i mask = _mm256_loadu_si256((const __m256i *)(lanes + 8 - (K - k)));
        __m256 bv[3];
#pragma GCC unroll 3
        for (int j = 0; j < NR; j++) bv[j] = _mm256_maskload_ps(B + (size_t)j * ldb + k, mask);
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_maskload_ps(A + (size_t)i * lda + k, mask);
#pragma GCC unroll 3
            for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NR; j++) C[(size_t)i * ldc + j] = hsum8(acc[i][j]);
}

#define GEMM_BLOCK(MR, NR)                                                                   \
    static void gemm_##MR##x##NR(size_t K, const float *A, size_t lda, const float *B,       \
                                 size_t ldb, float *C, size_t ldc) {                         \
        gemm_block(MR, NR, K, A, lda, B, ldb, C, ldc);                                       \
    }
GEMM_BLOCK(4, 3) GEMM_BLOCK(4, 2) GEMM_BLOCK(4, 1)
GEMM_BLOCK(3, 3) GEMM_BLOCK(3, 2) GEMM_BLOCK(3, 1)
GEMM_BLOCK(2, 3) GEMM_BLOCK(2, 2) GEMM_BLOCK(2, 1)
GEMM_BLOCK(1, 3) GEMM_BLOCK(1, 2) GEMM_BLOCK(1, 1)

typedef void (*gemm_fn)(size_t, const float *, size_t, const float *, size_t, float *, size_t);
static const gemm_fn gemm_table[4][3] = {
    {gemm_1x1, gemm_1x2, gemm_1x3},
    {gemm_2x1, gemm_2x2, gemm_2x3},
    {gemm_3x1, gemm_3x2, gemm_3x3},
    {gemm_4x1, gemm_4x2, gemm_4x3},
};

void fe__emd_gemm_nt_avx2(size_t M, size_t N, size_t K, const float *A, size_t lda,
                          const float *B, size_t ldb, float *C, size_t ldc) {
    /* loop 2: over blocks of 3 rows of B (each read from memory once) */
    for (size_t j = 0; j < N; j += 3) {
        size_t nr = N - j < 3 ? N - j : 3;
        /* loop 1: over blocks of 4 rows of A (L1-resident: the query is n*d floats) */
        for (size_t i = 0; i < M; i += 4) {
            size_t mr = M - i < 4 ? M - i : 4;
            gemm_table[mr - 1][nr - 1](K, A + i * lda, lda, B + j * ldb, ldb, C + i * ldc + j, ldc);
        }
    }
}

/* ---- exp ----------------------------------------------------------------------------------- */

/* exp(x) for x <= 0: x = k ln2 + r (Cody-Waite, ln2 split so k*LN2_HI is exact for |k| < 2^11),
 * e^r by Taylor to degree 13 (truncation < 5e-18 relative for |r| <= 0.347), times 2^k built in
 * the exponent bits. Below -708.39 the result would be subnormal: it is flushed to 0, which a
 * kernel entry <= 2^-1022 times the largest entry cannot feel. */
INLINE __m256d exp_neg4(__m256d x) {
    const __m256d lo = _mm256_set1_pd(-708.39);
    __m256d tiny = _mm256_cmp_pd(x, lo, _CMP_LT_OQ);
    x = _mm256_max_pd(x, lo);
    __m256d k = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(6.93147180369123816490e-01), x);
    r = _mm256_fnmadd_pd(k, _mm256_set1_pd(1.90821492927058770002e-10), r);
    /* 1/j! for j = 13 .. 0 */
    __m256d p = _mm256_set1_pd(1.0 / 6227020800.0);
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 479001600.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 39916800.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 3628800.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 362880.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 40320.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 5040.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 720.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 120.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 24.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 6.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0.5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    /* 2^k: k in [-1022, 0], so k + 1023 is a valid biased exponent */
    __m128i ki = _mm256_cvtpd_epi32(k);
    __m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(ki),
                                                   _mm256_set1_epi64x(1023)), 52);
    __m256d y = _mm256_mul_pd(p, _mm256_castsi256_pd(e));
    return _mm256_andnot_pd(tiny, y);
}

void fe__emd_exp_neg_avx2(const double *x, double *y, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, exp_neg4(_mm256_loadu_pd(x + i)));
    if (i < n) {
        double t[4] = {0, 0, 0, 0};
        memcpy(t, x + i, (n - i) * sizeof *t);
        _mm256_storeu_pd(t, exp_neg4(_mm256_loadu_pd(t)));
        memcpy(y + i, t, (n - i) * sizeof *t);
    }
}

/* ---- Sinkhorn ------------------------------------------------------------------------------ */

void fe__sk_kernel_avx2(fe__sk *p) {
    const size_t n = p->n, m = p->m, np = p->np, mp = p->mp;
    const __m256d inv_eps = _mm256_set1_pd(1.0 / p->eps);
    const __m256d one = _mm256_set1_pd(1.0), cmin = _mm256_set1_pd(p->cmin);
    for (size_t i = 0; i < n; i++) {
        const double *s = p->s + i * m;
        double *k = p->K + i * mp;
        size_t j = 0;
        /* -(c - cmin)/eps with c = 1 - s, as the portable kernel computes it */
        for (; j + 4 <= m; j += 4) {
            __m256d c = _mm256_sub_pd(one, _mm256_loadu_pd(s + j));
            __m256d x = _mm256_mul_pd(_mm256_sub_pd(cmin, c), inv_eps);
            _mm256_storeu_pd(k + j, exp_neg4(x));
        }
        for (; j < m; j++) k[j] = (p->cmin - (1.0 - s[j])) * (1.0 / p->eps);
        fe__emd_exp_neg_avx2(k + (m & ~(size_t)3), k + (m & ~(size_t)3), m & 3);
        for (j = m; j < mp; j++) k[j] = 1.0;
    }
    for (size_t i = n; i < np; i++)
        for (size_t j = 0; j < mp; j++) p->K[i * mp + j] = 1.0;
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < mp; j++) p->Kt[j * np + i] = p->K[i * mp + j];
}

INLINE double hsum4d(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
INLINE double hmin4d(__m256d v) {
    __m128d s = _mm_min_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_min_sd(s, _mm_unpackhi_pd(s, s)));
}

/* y = M x for M with `rows` rows (multiple of 4) stored transposed: Mt is cols x rows,
 * row-major, so column j of M is contiguous. Each finished block of 4 rows goes to
 * update(block, row), which divides the weights by it. 16 rows per pass keep 8 accumulators
 * (two interleaved over j) in registers, so FMA latency is hidden. */
#define MATVEC_T(Mt, rows, cols, x, UPDATE)                                                   \
    do {                                                                                       \
        size_t i0_ = 0;                                                                        \
        for (; i0_ + 16 <= (rows); i0_ += 16) {                                                \
            __m256d acc0 = _mm256_setzero_pd(), acc1 = acc0, acc2 = acc0, acc3 = acc0;                       \
            __m256d acc4 = acc0, acc5 = acc0, acc6 = acc0, acc7 = acc0;                                        \
            for (size_t j_ = 0; j_ < (cols); j_ += 2) {                                        \
                const double *k0 = (Mt) + j_ * (rows) + i0_, *k1 = k0 + (rows);                \
                __m256d x0 = _mm256_broadcast_sd((x) + j_), x1 = _mm256_broadcast_sd((x) + j_ + 1); \
                acc0 = _mm256_fmadd_pd(_mm256_loadu_pd(k0), x0, acc0);                             \
                acc1 = _mm256_fmadd_pd(_mm256_loadu_pd(k0 + 4), x0, acc1);                         \
                acc2 = _mm256_fmadd_pd(_mm256_loadu_pd(k0 + 8), x0, acc2);                         \
                acc3 = _mm256_fmadd_pd(_mm256_loadu_pd(k0 + 12), x0, acc3);                        \
                acc4 = _mm256_fmadd_pd(_mm256_loadu_pd(k1), x1, acc4);                             \
                acc5 = _mm256_fmadd_pd(_mm256_loadu_pd(k1 + 4), x1, acc5);                         \
                acc6 = _mm256_fmadd_pd(_mm256_loadu_pd(k1 + 8), x1, acc6);                         \
                acc7 = _mm256_fmadd_pd(_mm256_loadu_pd(k1 + 12), x1, acc7);                        \
            }                                                                                  \
            UPDATE(_mm256_add_pd(acc0, acc4), i0_);                                                \
            UPDATE(_mm256_add_pd(acc1, acc5), i0_ + 4);                                            \
            UPDATE(_mm256_add_pd(acc2, acc6), i0_ + 8);                                            \
            UPDATE(_mm256_add_pd(acc3, acc7), i0_ + 12);                                           \
        }                                                                                      \
        for (; i0_ < (rows); i0_ += 4) {                                                       \
            __m256d acc0 = _mm256_setzero_pd(), acc1 = acc0, acc2 = acc0, acc3 = acc0;                       \
            for (size_t j_ = 0; j_ < (cols); j_ += 4) {                                        \
                const double *k0 = (Mt) + j_ * (rows) + i0_;                                   \
                acc0 = _mm256_fmadd_pd(_mm256_loadu_pd(k0), _mm256_broadcast_sd((x) + j_), acc0);  \
                acc1 = _mm256_fmadd_pd(_mm256_loadu_pd(k0 + (rows)),                             \
                                     _mm256_broadcast_sd((x) + j_ + 1), acc1);                   \
                acc2 = _mm256_fmadd_pd(_mm256_loadu_pd(k0 + 2 * (rows)),                         \
                                     _mm256_broadcast_sd((x) + j_ + 2), acc2);                   \
                acc3 = _mm256_fmadd_pd(_mm256_loadu_pd(k0 + 3 * (rows)),                         \
                                     _mm256_broadcast_sd((x) + j_ + 3), acc3);                   \
            }                                                                                  \
            UPDATE(_mm256_add_pd(_mm256_add_pd(acc0, acc1), _mm256_add_pd(acc2, acc3)), i0_);          \
        }                                                                                      \
    } while (0)

uint32_t fe__sk_iterate_avx2(fe__sk *p, uint32_t max_iter, double thr_scaled, double *change,
                             int *fired, int *bad) {
    const size_t np = p->np, mp = p->mp;
    const double *K = p->K, *Kt = p->Kt, *a = p->a, *b = p->b;
    double *r = p->r, *c = p->c;
    const double n_real = (double)p->n;
    const __m256d sign = _mm256_set1_pd(-0.0);
    *fired = 0;
    *bad = 0;
    for (uint32_t it = 1; it <= max_iter; it++) {
        __m256d err = _mm256_setzero_pd(), sum = err, mn = _mm256_set1_pd(INFINITY);
        /* r = a / (K' c); err += |r - r_prev| */
#define ROW_UPDATE(u, i)                                                                      \
        do {                                                                                   \
            __m256d rv = _mm256_div_pd(_mm256_loadu_pd(a + (i)), (u));                         \
            mn = _mm256_min_pd(mn, (u));                                                       \
            err = _mm256_add_pd(err, _mm256_andnot_pd(sign, _mm256_sub_pd(rv, _mm256_loadu_pd(r + (i))))); \
            sum = _mm256_add_pd(sum, rv);                                                      \
            _mm256_storeu_pd(r + (i), rv);                                                     \
        } while (0)
        MATVEC_T(Kt, np, mp, c, ROW_UPDATE);
#undef ROW_UPDATE
        /* c = b / (K'^T r) */
#define COL_UPDATE(v, j)                                                                      \
        do {                                                                                   \
            __m256d cv = _mm256_div_pd(_mm256_loadu_pd(b + (j)), (v));                         \
            mn = _mm256_min_pd(mn, (v));                                                       \
            sum = _mm256_add_pd(sum, cv);                                                      \
            _mm256_storeu_pd(c + (j), cv);                                                     \
        } while (0)
        MATVEC_T(K, mp, np, r, COL_UPDATE);
#undef COL_UPDATE
        *change = hsum4d(err) / n_real;
        double total = hsum4d(sum);
        if (!isfinite(total) || !(hmin4d(mn) >= DBL_MIN)) {
            *bad = 1;
            return it;
        }
        if (thr_scaled > 0 && *change < thr_scaled) {
            *fired = 1;
            return it;
        }
    }
    return max_iter;
}

#else
/* Not x86-64 with GCC/clang, or built without -mavx2 -mfma: the portable kernels serve. */
typedef int fe__emd_avx2_unused;
#endif
