/*
 * emd_avx2.c — AVX2+FMA kernels of stage 2, chosen at run time (fe__emd_kernel_pick); the
 * portable versions in emd_gemm.c / emd_sinkhorn.c are the reference they are tested against.
 *
 *   fe__emd_gemm_cost_avx2 T = B Q^T, B given as row pointers: 6 x 16 blocks (6 B rows
 *                          broadcast against 16 packed query rows; 4 x 16 with the q_bar
 *                          dots fused for one panel), B streamed once (outer loop,
 *                          prefetched) while the query panels stay in L1.
 *   fe__emd_exp_neg_avx2   exp(x), x <= 0, in double: 2^k e^r, |r| <= ln2/2, degree-13 Taylor
 *                          by Estrin's scheme.
 *   fe__sk_kernel_avx2     K' = exp(-(c - cmin)/eps) with padding (emd.h).
 *   fe__sk_step_avx2       one Sinkhorn scaling iteration in double, any padded shape.
 *   fe__sk_iterate16_avx2  the whole scaling loop for 16 x 16 problems (the 4x4 grid), with
 *                          the column scalings in registers.
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

/* ---- cost GEMM -------------------------------------------------------------------------------
 * T[j][i] = <q_i, B_j>: lanes run over the query rows i (packed panels of 16, k-major, built
 * once per query), the candidate rows B_j are broadcast a float at a time. An MR x 16 block
 * keeps 2*MR accumulators and needs no horizontal sums, so it runs close to the FMA peak where
 * a dot-product form (8 lanes along k, 4 x 3 blocks, horizontal sums) lost ~20 % to its
 * reductions (67 -> 87 GFLOP/s on a 4x4-grid chunk in L2, 71 -> 96 on 8x8). */
INLINE void cost_step(const int MR, size_t k, const float *P, const float *const *B,
                      __m256 acc[6][2]) {
    __m256 q0 = _mm256_load_ps(P + 16 * k), q1 = _mm256_load_ps(P + 16 * k + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        __m256 b = _mm256_broadcast_ss(B[r] + k);
        acc[r][0] = _mm256_fmadd_ps(b, q0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(b, q1, acc[r][1]);
    }
}

/* One step of the next-chunk prefetch cursor: two adjacent lines of the current row (a
 * prefetch past the end of a row is harmless), then on to the next row. Always inlined, so
 * the cursor stays in the caller's registers. */
INLINE void pf_step(const float *const *pr, size_t *row, size_t nrow, size_t *off, size_t rb) {
    if (*row >= nrow) return;
    const char *l = (const char *)pr[*row] + *off;
    _mm_prefetch(l, _MM_HINT_T1);
    _mm_prefetch(l + 64, _MM_HINT_T1);
    *off += 128;
    if (*off >= rb) *off = 0, (*row)++;
}

INLINE void cost_block(const int MR, size_t d, const float *P, const float *const *B, float *T,
                       size_t ldt, fe__pf *pf) {
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    /* the cursor in locals (registers) */
    const float *const *pr = pf ? pf->rows : NULL;
    size_t row = pf ? pf->row : 0, nrow = pf ? pf->n_rows : 0, off = pf ? pf->off : 0;
    const size_t rb = pf ? pf->row_bytes : 0;
    size_t k = 0;
    for (; k + 4 <= d; k += 4) {
        pf_step(pr, &row, nrow, &off, rb);
        cost_step(MR, k, P, B, acc);
        cost_step(MR, k + 1, P, B, acc);
        cost_step(MR, k + 2, P, B, acc);
        cost_step(MR, k + 3, P, B, acc);
    }
    for (; k < d; k++) cost_step(MR, k, P, B, acc);
    if (pf) pf->row = row, pf->off = off;
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_ps(T + (size_t)r * ldt, acc[r][0]);
        _mm256_storeu_ps(T + (size_t)r * ldt + 8, acc[r][1]);
    }
}

/* qb[r] = <qbar, B_r>, MR rows (just read by cost_block, so from L1): 8 lanes along k */
INLINE void qbar_block(const int MR, size_t d, const float *qbar, const float *const *B,
                       float *qb) {
    __m256 acc[6];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) acc[r] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= d; k += 8) {
        __m256 q = _mm256_loadu_ps(qbar + k);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(B[r] + k), q, acc[r]);
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        float s = hsum8(acc[r]);
        for (size_t kk = k; kk < d; kk++) s += qbar[kk] * B[r][kk];
        qb[r] = s;
    }
}

/* cost_block and qbar_block in one pass, for one panel (n <= 16): 4 rows leave registers for
 * the 4 q_bar sums (8 lanes along k, summed as qbar_block does: the same qb bit for bit), and
 * the B rows are read once instead of twice. */
INLINE void cost_qbar_block(const int MR, size_t d, const float *P, const float *qbar,
                            const float *const *B, float *T, size_t ldt, float *qb, fe__pf *pf) {
    __m256 acc[6][2], aq[4];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = aq[r] = _mm256_setzero_ps();
    const float *const *pr = pf ? pf->rows : NULL;
    size_t row = pf ? pf->row : 0, nrow = pf ? pf->n_rows : 0, off = pf ? pf->off : 0;
    const size_t rb = pf ? pf->row_bytes : 0;
    size_t k = 0;
    for (; k + 8 <= d; k += 8) {
        /* the cursor as cost_block steps it: 2 lines per 4 k */
        pf_step(pr, &row, nrow, &off, rb);
        pf_step(pr, &row, nrow, &off, rb);
        const __m256 q = _mm256_loadu_ps(qbar + k);
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) aq[r] = _mm256_fmadd_ps(_mm256_loadu_ps(B[r] + k), q, aq[r]);
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) cost_step(MR, k + (size_t)s, P, B, acc);
    }
    for (size_t kk = k; kk < d; kk++) cost_step(MR, kk, P, B, acc);
    if (pf) pf->row = row, pf->off = off;
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_ps(T + (size_t)r * ldt, acc[r][0]);
        _mm256_storeu_ps(T + (size_t)r * ldt + 8, acc[r][1]);
        float s = hsum8(aq[r]);
        for (size_t kk = k; kk < d; kk++) s += qbar[kk] * B[r][kk];
        qb[r] = s;
    }
}

#define COST_QBAR(MR)                                                                         \
    static void cost_q##MR(size_t d, const float *P, const float *qbar, const float *const *B,\
                           float *T, size_t ldt, float *qb, fe__pf *pf) {                    \
        cost_qbar_block(MR, d, P, qbar, B, T, ldt, qb, pf);                                  \
    }
COST_QBAR(1) COST_QBAR(2) COST_QBAR(3) COST_QBAR(4)
typedef void (*cost_q_fn)(size_t, const float *, const float *, const float *const *, float *,
                          size_t, float *, fe__pf *);
static const cost_q_fn cost_q_table[4] = {cost_q1, cost_q2, cost_q3, cost_q4};

#define COST_BLOCK(MR)                                                                        \
    static void cost_##MR(size_t d, const float *P, size_t panels, const float *qbar,        \
                          const float *const *B, float *T, size_t ldt, float *qb,            \
                          fe__pf *pf) {                                                      \
        for (size_t p = 0; p < panels; p++)                                                  \
            cost_block(MR, d, P + p * 16 * d, B, T + 16 * p, ldt, pf);                       \
        if (qbar) qbar_block(MR, d, qbar, B, qb);                                            \
    }
COST_BLOCK(1) COST_BLOCK(2) COST_BLOCK(3) COST_BLOCK(4) COST_BLOCK(5) COST_BLOCK(6)

typedef void (*cost_fn)(size_t, const float *, size_t, const float *, const float *const *,
                        float *, size_t, float *, fe__pf *);
static const cost_fn cost_table[6] = {cost_1, cost_2, cost_3, cost_4, cost_5, cost_6};

void fe__emd_gemm_cost_avx2(size_t n, size_t d, const float *P, const float *qbar, size_t N,
                            const float *const *B, float *T, size_t ldt, float *qb, fe__pf *pf,
                            int jit) {
    const size_t panels = (n + 15) / 16;
    if (pf && pf->row >= pf->n_rows) pf = NULL;
    if (qbar && panels == 1) {   /* the 4x4 grid with APC */
        for (size_t j = 0, mr; j < N; j += mr) {
            mr = N - j < 4 ? N - j : 4;
            for (size_t p = j + 34; jit && p < j + 34 + mr && p < N; p++)
                for (size_t k = 0; k < d; k += 16) _mm_prefetch((const char *)(B[p] + k), _MM_HINT_T1);
            cost_q_table[mr - 1](d, P, qbar, B + j, T + j * ldt, ldt, qb + j, pf);
            if (pf && pf->row >= pf->n_rows) pf = NULL;
        }
        return;
    }
    for (size_t j = 0, mr; j < N; j += mr) {
        mr = N - j < 6 ? N - j : 6;
        /* cold B: rows two candidates ahead into L2 (candidate blocks sit at random places) */
        for (size_t p = j + 34; jit && p < j + 34 + mr && p < N; p++)
            for (size_t k = 0; k < d; k += 16) _mm_prefetch((const char *)(B[p] + k), _MM_HINT_T1);
        cost_table[mr - 1](d, P, panels, qbar, B + j, T + j * ldt, ldt, qb ? qb + j : NULL, pf);
        if (pf && pf->row >= pf->n_rows) pf = NULL;
    }
}

/* ---- exp ----------------------------------------------------------------------------------- */

/* exp(x) for x <= 0: x = k ln2 + r (Cody-Waite, ln2 split so k*LN2_HI is exact for |k| < 2^11),
 * e^r by Taylor to degree 13 (truncation < 5e-18 relative for |r| <= 0.347) evaluated with
 * Estrin's scheme (dependency depth 5 instead of Horner's 13: kernels call this on long runs
 * of independent vectors, and the shorter chain lets them overlap), times 2^k built in the
 * exponent bits. Below -708.39 the result would be subnormal: it is flushed to 0, which a
 * kernel entry <= 2^-1022 times the largest entry cannot feel. */
INLINE __m256d exp_neg4(__m256d x) {
    const __m256d lo = _mm256_set1_pd(-708.39);
    __m256d tiny = _mm256_cmp_pd(x, lo, _CMP_LT_OQ);
    x = _mm256_max_pd(x, lo);
    __m256d k = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(k, _mm256_set1_pd(6.93147180369123816490e-01), x);
    r = _mm256_fnmadd_pd(k, _mm256_set1_pd(1.90821492927058770002e-10), r);
    __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2), r8 = _mm256_mul_pd(r4, r4);
#define C_(j) _mm256_set1_pd(1.0 / (j))
    /* pairs c_2i + c_2i+1 r, with c_j = 1/j! */
    __m256d q0 = _mm256_fmadd_pd(r, C_(1.0), C_(1.0));
    __m256d q1 = _mm256_fmadd_pd(r, C_(6.0), C_(2.0));
    __m256d q2 = _mm256_fmadd_pd(r, C_(120.0), C_(24.0));
    __m256d q3 = _mm256_fmadd_pd(r, C_(5040.0), C_(720.0));
    __m256d q4 = _mm256_fmadd_pd(r, C_(362880.0), C_(40320.0));
    __m256d q5 = _mm256_fmadd_pd(r, C_(39916800.0), C_(3628800.0));
    __m256d q6 = _mm256_fmadd_pd(r, C_(6227020800.0), C_(479001600.0));
#undef C_
    __m256d s0 = _mm256_fmadd_pd(q1, r2, q0), s1 = _mm256_fmadd_pd(q3, r2, q2);
    __m256d s2 = _mm256_fmadd_pd(q5, r2, q4);
    __m256d t0 = _mm256_fmadd_pd(s1, r4, s0), t1 = _mm256_fmadd_pd(q6, r4, s2);
    __m256d p = _mm256_fmadd_pd(t1, r8, t0);
    /* 2^k: k in [-1022, 0], so k + 1023 is a valid biased exponent */
    __m128i ki = _mm256_cvtpd_epi32(k);
    __m256i e = _mm256_slli_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(ki),
                                                   _mm256_set1_epi64x(1023)), 52);
    __m256d y = _mm256_mul_pd(p, _mm256_castsi256_pd(e));
    return _mm256_andnot_pd(tiny, y);
}

/* exp(x) for -87 <= x <= 0 in float (8 lanes): x = k ln2 + r, |r| <= ln2/2, e^r by Taylor to
 * degree 7 (truncation < 6e-9 relative), Estrin's scheme; below -87.3 (where 2^k leaves the
 * normal floats) the result is flushed to 0. Relative error ~2e-7. */
INLINE __m256 exp_neg8f(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f);
    __m256 tiny = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(x, lo);
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145752f), x);      /* ln2 hi: 8 bits */
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860677e-06f), r);          /* ln2 - hi       */
    __m256 r2 = _mm256_mul_ps(r, r), r4 = _mm256_mul_ps(r2, r2);
    __m256 q0 = _mm256_fmadd_ps(r, _mm256_set1_ps(1.0f), _mm256_set1_ps(1.0f));
    __m256 q1 = _mm256_fmadd_ps(r, _mm256_set1_ps(1.0f / 6), _mm256_set1_ps(0.5f));
    __m256 q2 = _mm256_fmadd_ps(r, _mm256_set1_ps(1.0f / 120), _mm256_set1_ps(1.0f / 24));
    __m256 q3 = _mm256_fmadd_ps(r, _mm256_set1_ps(1.0f / 5040), _mm256_set1_ps(1.0f / 720));
    __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(q3, r2, q2), r4, _mm256_fmadd_ps(q1, r2, q0));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

void fe__emd_expf_neg_avx2(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_neg8f(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(t, x + i, (n - i) * sizeof *t);
        _mm256_storeu_ps(t, exp_neg8f(_mm256_loadu_ps(t)));
        memcpy(y + i, t, (n - i) * sizeof *t);
    }
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

/* ---- masses -------------------------------------------------------------------------------- */

/* fe__emd_normalise with the divisions 4 at a time (vdivpd: the same quotients, a quarter of
 * the divider's time); the sum stays sequential, as the portable one adds. */
void fe__emd_normalise_avx2(double *w, size_t n, uint32_t *flags) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = w[i] > 0 ? w[i] : 0.0;
        s += w[i];
    }
    if (!(s > 0)) {
        fe__emd_normalise(w, n, flags);   /* the uniform fallback */
        return;
    }
    s += 1e-7;
    const __m256d sv = _mm256_set1_pd(s);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(w + i, _mm256_div_pd(_mm256_loadu_pd(w + i), sv));
    for (; i < n; i++) w[i] /= s;
}

/* ---- Sinkhorn ------------------------------------------------------------------------------ */

INLINE double hsum4d(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
INLINE double hmax4d(__m256d v) {
    __m128d s = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_max_sd(s, _mm_unpackhi_pd(s, s)));
}
INLINE double hmin4d(__m256d v) {
    __m128d s = _mm_min_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_min_sd(s, _mm_unpackhi_pd(s, s)));
}
/* lanes j0 .. j0+3 that are < m: all ones, else zero */
INLINE __m256d lanes_below(size_t j0, size_t m) {
    __m256i idx = _mm256_add_epi64(_mm256_set1_epi64x((long long)j0), _mm256_setr_epi64x(0, 1, 2, 3));
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)m), idx));
}

/* Converts, pads, checks (the sum of all values is finite iff every value is) and finds
 * cmin = 1 - max s in one pass. */
int fe__sk_load_f32_avx2(fe__sk *p, const float *s, size_t lds) {
    const size_t n = p->n, m = p->m, np = p->np, mp = p->mp;
    __m256d total = _mm256_setzero_pd(), mx = _mm256_set1_pd(-INFINITY), mnv = _mm256_set1_pd(INFINITY);
    double smax = -INFINITY, smin = INFINITY;
    for (size_t i = 0; i < np; i++) {
        double *row = p->s + i * mp;
        size_t j = 0;
        if (i < n) {
            const float *src = s + i * lds;
            for (; j + 4 <= m; j += 4) {
                __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(src + j));
                total = _mm256_add_pd(total, v);
                mx = _mm256_max_pd(mx, v);
                mnv = _mm256_min_pd(mnv, v);
                _mm256_storeu_pd(row + j, v);
            }
            for (; j < m; j++) {
                row[j] = (double)src[j];
                total = _mm256_add_pd(total, _mm256_set1_pd(row[j]));
                smax = row[j] > smax ? row[j] : smax;
                smin = row[j] < smin ? row[j] : smin;
            }
        }
        for (; j < mp; j++) row[j] = 0.0;
    }
    double vmax = hmax4d(mx), vmin = hmin4d(mnv);
    p->cmin = 1.0 - (vmax > smax ? vmax : smax);
    p->cmax = 1.0 - (vmin < smin ? vmin : smin);
    return isfinite(hsum4d(total));
}

/* K' = exp((cmin - (1 - s)) / eps), as the portable kernel; padding 1. p->cmin is set by
 * the load. */
void fe__sk_kernel_avx2(fe__sk *p) {
    const size_t n = p->n, m = p->m, np = p->np, mp = p->mp;
    const __m256d inv_eps = _mm256_set1_pd(1.0 / p->eps), one = _mm256_set1_pd(1.0);
    const __m256d cmin = _mm256_set1_pd(p->cmin);
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < mp; j += 4) {
            __m256d k = one;
            if (i < n) {
                __m256d c = _mm256_sub_pd(one, _mm256_loadu_pd(p->s + i * mp + j));
                k = exp_neg4(_mm256_mul_pd(_mm256_sub_pd(cmin, c), inv_eps));
                if (j + 4 > m) k = _mm256_blendv_pd(one, k, lanes_below(j, m));
            }
            _mm256_storeu_pd(p->K + i * mp + j, k);
        }
}

INLINE __m256d reduce4(__m256d a0, __m256d a1, __m256d a2, __m256d a3) {
    /* [sum a0, sum a1, sum a2, sum a3]: a 4x4 transpose-add */
    __m256d h01 = _mm256_add_pd(_mm256_unpacklo_pd(a0, a1), _mm256_unpackhi_pd(a0, a1));
    __m256d h23 = _mm256_add_pd(_mm256_unpacklo_pd(a2, a3), _mm256_unpackhi_pd(a2, a3));
    return _mm256_add_pd(_mm256_permute2f128_pd(h01, h23, 0x20),
                         _mm256_permute2f128_pd(h01, h23, 0x31));
}

/* K' to float accuracy from p->s (values of a float GEMM, so converting them back to float is
 * exact): computing exp in double there would be false precision. Exponents are (s - smax)/eps
 * in [-87, 0] (the caller checks the range); padding 1. */
void fe__sk_kernel_fast_avx2(fe__sk *p) {
    const size_t n = p->n, m = p->m, np = p->np, mp = p->mp;
    const __m256 inv_eps = _mm256_set1_ps((float)(1.0 / p->eps));
    const __m256 smax = _mm256_set1_ps((float)(1.0 - p->cmin));
    const __m256d one = _mm256_set1_pd(1.0);
    for (size_t i = 0; i < np; i++) {
        double *k = p->K + i * mp;
        const double *s = p->s + i * mp;
        for (size_t j = 0; j < mp; j += 8) {   /* mp is a multiple of 4 */
            const int two = j + 4 < mp;
            if (i >= n) {
                _mm256_storeu_pd(k + j, one);
                if (two) _mm256_storeu_pd(k + j + 4, one);
                continue;
            }
            __m128 lo = _mm256_cvtpd_ps(_mm256_loadu_pd(s + j));
            __m128 hi = two ? _mm256_cvtpd_ps(_mm256_loadu_pd(s + j + 4)) : lo;
            __m256 e = exp_neg8f(_mm256_mul_ps(_mm256_sub_ps(_mm256_set_m128(hi, lo), smax), inv_eps));
            __m256d e0 = _mm256_cvtps_pd(_mm256_castps256_ps128(e));
            __m256d e1 = _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1));
            if (j + 4 > m) e0 = _mm256_blendv_pd(one, e0, lanes_below(j, m));
            _mm256_storeu_pd(k + j, e0);
            if (two) {
                if (j + 8 > m) e1 = _mm256_blendv_pd(one, e1, lanes_below(j + 4, m));
                _mm256_storeu_pd(k + j + 4, e1);
            }
        }
    }
}

/* 4 x 4 floats (rows v0..v3) transposed, widened to double and stored as 4 rows of ld */
INLINE void store_t4(double *dst, size_t ld, __m128 v0, __m128 v1, __m128 v2, __m128 v3) {
    _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
    _mm256_storeu_pd(dst, _mm256_cvtps_pd(v0));
    _mm256_storeu_pd(dst + ld, _mm256_cvtps_pd(v1));
    _mm256_storeu_pd(dst + 2 * ld, _mm256_cvtps_pd(v2));
    _mm256_storeu_pd(dst + 3 * ld, _mm256_cvtps_pd(v3));
}

/* float lanes i0 .. i0+7 that are < n: all ones, else zero */
INLINE __m256 flanes_below(size_t i0, size_t n) {
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    long long left = (long long)n - (long long)i0;
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left > 8 ? 8 : left)), idx));
}

/* fe__sk_load_f32 from the transposed GEMM output (s_ij = t[j*ldt + i], ldt >= n rounded up to
 * 8), fused with the float kernel for problems up to 16 x 16 (the 4x4 grid): pass 1 finds the
 * range (and checks finiteness) on the floats; then, when eps > 0 and the exponents stay in
 * float's range, the exps of whole T rows (independent 8-lane ones, the bulk of the work) go
 * to a small transposed K' on the stack (the values fe__sk_kernel_fast_avx2 gives); pass 2
 * converts 4 x 4 blocks, transposed in registers, into s and K'. */
int fe__sk_load_f32t_avx2(fe__sk *p, const float *t, size_t ldt, double eps) {
    const size_t n = p->n, m = p->m, np = p->np, mp = p->mp;
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 big = _mm256_set1_ps(FLT_MAX);
    const __m256 ninf = _mm256_set1_ps(-INFINITY), pinf = _mm256_set1_ps(INFINITY);
    __m256 mx = ninf, mn = pinf, ok = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (size_t j = 0; j < m; j++)
        for (size_t i0 = 0; i0 < n; i0 += 8) {
            __m256 v = _mm256_loadu_ps(t + j * ldt + i0), vmx = v, vmn = v;
            if (i0 + 8 > n) {
                __m256 live = flanes_below(i0, n);
                v = _mm256_and_ps(v, live);
                vmx = _mm256_blendv_ps(ninf, v, live);
                vmn = _mm256_blendv_ps(pinf, v, live);
            }
            mx = _mm256_max_ps(mx, vmx);
            mn = _mm256_min_ps(mn, vmn);
            ok = _mm256_and_ps(ok, _mm256_cmp_ps(_mm256_and_ps(v, absmask), big, _CMP_LE_OQ));
        }
    if (_mm256_movemask_ps(ok) != 0xff) return 0;   /* a NaN or Inf */
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    __m128 l = _mm_min_ps(_mm256_castps256_ps128(mn), _mm256_extractf128_ps(mn, 1));
    l = _mm_min_ps(l, _mm_movehl_ps(l, l));
    l = _mm_min_ss(l, _mm_movehdup_ps(l));
    p->cmin = 1.0 - (double)_mm_cvtss_f32(h);
    p->cmax = 1.0 - (double)_mm_cvtss_f32(l);
    /* as fe__sk_prepare_f32 decides, for the shapes the stack buffer holds */
    p->kready = eps > 0 && (p->cmax - p->cmin) / eps <= 80.0 && np <= 16 && mp <= 16;
    float E[16 * 16] __attribute__((aligned(32)));   /* K' transposed: E[j*16 + i] */
    if (p->kready) {
        const __m256 inv_eps = _mm256_set1_ps((float)(1.0 / eps));
        const __m256 smax = _mm256_set1_ps((float)(1.0 - p->cmin)), one = _mm256_set1_ps(1.0f);
        for (size_t j = 0; j < mp; j++)
            for (size_t i0 = 0; i0 < np; i0 += 8) {   /* i0 + 8 <= ldt */
                __m256 e = one;
                if (j < m) {
                    __m256 x = _mm256_sub_ps(_mm256_loadu_ps(t + j * ldt + i0), smax);
                    e = _mm256_blendv_ps(one, exp_neg8f(_mm256_mul_ps(x, inv_eps)), flanes_below(i0, n));
                }
                _mm256_store_ps(E + j * 16 + i0, e);
            }
    }
    const __m128 zero = _mm_setzero_ps();
    for (size_t i0 = 0; i0 < np; i0 += 4) {
        const __m128 live = _mm256_castps256_ps128(flanes_below(i0, n));
        for (size_t j0 = 0; j0 < mp; j0 += 4) {
            __m128 v[4];
            for (int q = 0; q < 4; q++)
                v[q] = j0 + q < m ? _mm_and_ps(_mm_loadu_ps(t + (j0 + q) * ldt + i0), live) : zero;
            store_t4(p->s + i0 * mp + j0, mp, v[0], v[1], v[2], v[3]);
            if (p->kready) {
                const float *e = E + j0 * 16 + i0;
                store_t4(p->K + i0 * mp + j0, mp, _mm_load_ps(e), _mm_load_ps(e + 16),
                         _mm_load_ps(e + 32), _mm_load_ps(e + 48));
            }
        }
    }
    return 1;
}

/* One scaling iteration, any padded shape.
 *   u = K'c: 4 rows at a time as dot products (4 accumulators, chain mp/4), reduced by a 4x4
 *            transpose-add; r = a/u;
 *   v = K'^T r: 16 columns at a time as axpys over the rows (8 accumulators: even and odd
 *            rows), then 4 at a time; c = b/v. */
int fe__sk_step_avx2(fe__sk *p, double *change) {
    const size_t np = p->np, mp = p->mp;
    const double *K = p->K, *a = p->a, *b = p->b;
    double *r = p->r, *c = p->c;
    const __m256d sign = _mm256_set1_pd(-0.0);
    __m256d err = _mm256_setzero_pd(), sum = err, mn = _mm256_set1_pd(INFINITY);
    for (size_t i0 = 0; i0 < np; i0 += 4) {
        const double *k = K + i0 * mp;
        __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t j = 0; j < mp; j += 4) {
            __m256d cv = _mm256_loadu_pd(c + j);
            a0 = _mm256_fmadd_pd(_mm256_loadu_pd(k + j), cv, a0);
            a1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + mp + j), cv, a1);
            a2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 2 * mp + j), cv, a2);
            a3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 3 * mp + j), cv, a3);
        }
        __m256d u = reduce4(a0, a1, a2, a3);
        __m256d rv = _mm256_div_pd(_mm256_loadu_pd(a + i0), u);
        mn = _mm256_min_pd(mn, u);
        err = _mm256_add_pd(err, _mm256_andnot_pd(sign, _mm256_sub_pd(rv, _mm256_loadu_pd(r + i0))));
        sum = _mm256_add_pd(sum, rv);
        _mm256_storeu_pd(r + i0, rv);
    }
    size_t j0 = 0;
    for (; j0 + 16 <= mp; j0 += 16) {
        __m256d e0 = _mm256_setzero_pd(), e1 = e0, e2 = e0, e3 = e0;
        __m256d o0 = e0, o1 = e0, o2 = e0, o3 = e0;
        for (size_t i = 0; i < np; i += 2) {   /* np is a multiple of 4 */
            const double *k = K + i * mp + j0;
            __m256d re = _mm256_broadcast_sd(r + i), ro = _mm256_broadcast_sd(r + i + 1);
            e0 = _mm256_fmadd_pd(_mm256_loadu_pd(k), re, e0);
            e1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 4), re, e1);
            e2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 8), re, e2);
            e3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 12), re, e3);
            o0 = _mm256_fmadd_pd(_mm256_loadu_pd(k + mp), ro, o0);
            o1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + mp + 4), ro, o1);
            o2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + mp + 8), ro, o2);
            o3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + mp + 12), ro, o3);
        }
        __m256d v[4] = {_mm256_add_pd(e0, o0), _mm256_add_pd(e1, o1), _mm256_add_pd(e2, o2),
                        _mm256_add_pd(e3, o3)};
        for (int q = 0; q < 4; q++) {
            __m256d cv = _mm256_div_pd(_mm256_loadu_pd(b + j0 + 4 * q), v[q]);
            mn = _mm256_min_pd(mn, v[q]);
            sum = _mm256_add_pd(sum, cv);
            _mm256_storeu_pd(c + j0 + 4 * q, cv);
        }
    }
    for (; j0 < mp; j0 += 4) {
        __m256d e0 = _mm256_setzero_pd(), e1 = e0, e2 = e0, e3 = e0;
        for (size_t i = 0; i < np; i += 4) {
            const double *k = K + i * mp + j0;
            e0 = _mm256_fmadd_pd(_mm256_loadu_pd(k), _mm256_broadcast_sd(r + i), e0);
            e1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + mp), _mm256_broadcast_sd(r + i + 1), e1);
            e2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 2 * mp), _mm256_broadcast_sd(r + i + 2), e2);
            e3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 3 * mp), _mm256_broadcast_sd(r + i + 3), e3);
        }
        __m256d v = _mm256_add_pd(_mm256_add_pd(e0, e1), _mm256_add_pd(e2, e3));
        __m256d cv = _mm256_div_pd(_mm256_loadu_pd(b + j0), v);
        mn = _mm256_min_pd(mn, v);
        sum = _mm256_add_pd(sum, cv);
        _mm256_storeu_pd(c + j0, cv);
    }
    *change = hsum4d(err) / (double)p->n;
    /* r, c >= 0: a finite sum means no Inf/NaN; a K'c or K'^T r below DBL_MIN means the
     * kernel underflowed there (padded sums are sums of real c or r, no smaller) */
    return !isfinite(hsum4d(sum)) || !(hmin4d(mn) >= DBL_MIN);
}

/* The whole scaling loop for the 4x4 grid's 16 x 16 problems (np == mp == 16), fully
 * unrolled with c kept in registers: ~230 instructions per iteration, whose dependency chain
 * (4-deep dot products + reduce + divide, then 8-deep axpys + divide) is about as long as its
 * issue time, so one problem at a time keeps the FMA units busy. Same arithmetic order as
 * fe__sk_step_avx2. Returns the iterations run; *change, *fired, *bad as fe__sk_iterate. */
uint32_t fe__sk_iterate16_avx2(fe__sk *p, uint32_t max_iter, double thr_scaled, double *change,
                               int *fired, int *bad) {
    const double *K = p->K, *a = p->a, *b = p->b;
    double *r = p->r;
    const double n_real = (double)p->n;
    const __m256d sign = _mm256_set1_pd(-0.0);
    __m256d c0 = _mm256_loadu_pd(p->c), c1 = _mm256_loadu_pd(p->c + 4);
    __m256d c2 = _mm256_loadu_pd(p->c + 8), c3 = _mm256_loadu_pd(p->c + 12);
    uint32_t it = 0;
    /* Under/overflow checks run on a min and a sum kept over all iterations and are tested
     * once at exit: a NaN, Inf or tiny value anywhere spoils them, and a stop it may have
     * triggered early is then discarded with the rest (log domain). Only the stop rule's
     * sum is reduced each iteration. */
    __m256d sum = _mm256_setzero_pd(), mn = _mm256_set1_pd(INFINITY);
    *fired = *bad = 0;
    while (it < max_iter) {
        it++;
        __m256d err = _mm256_setzero_pd();
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) {   /* r = a / (K' c), rows 4g .. 4g+3 */
            const double *k = K + 64 * g;
            __m256d x0 = _mm256_mul_pd(_mm256_loadu_pd(k), c0);
            __m256d x1 = _mm256_mul_pd(_mm256_loadu_pd(k + 16), c0);
            __m256d x2 = _mm256_mul_pd(_mm256_loadu_pd(k + 32), c0);
            __m256d x3 = _mm256_mul_pd(_mm256_loadu_pd(k + 48), c0);
            x0 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 4), c1, x0);
            x1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 20), c1, x1);
            x2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 36), c1, x2);
            x3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 52), c1, x3);
            x0 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 8), c2, x0);
            x1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 24), c2, x1);
            x2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 40), c2, x2);
            x3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 56), c2, x3);
            x0 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 12), c3, x0);
            x1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 28), c3, x1);
            x2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 44), c3, x2);
            x3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 60), c3, x3);
            __m256d u = reduce4(x0, x1, x2, x3);
            __m256d rv = _mm256_div_pd(_mm256_loadu_pd(a + 4 * g), u);
            mn = _mm256_min_pd(mn, u);
            err = _mm256_add_pd(err, _mm256_andnot_pd(sign, _mm256_sub_pd(rv, _mm256_loadu_pd(r + 4 * g))));
            sum = _mm256_add_pd(sum, rv);
            _mm256_storeu_pd(r + 4 * g, rv);
        }
        {   /* c = b / (K'^T r) */
            __m256d e0 = _mm256_setzero_pd(), e1 = e0, e2 = e0, e3 = e0;
            __m256d o0 = e0, o1 = e0, o2 = e0, o3 = e0;
#pragma GCC unroll 8
            for (int i = 0; i < 16; i += 2) {
                const double *k = K + 16 * i;
                __m256d re = _mm256_broadcast_sd(r + i), ro = _mm256_broadcast_sd(r + i + 1);
                e0 = _mm256_fmadd_pd(_mm256_loadu_pd(k), re, e0);
                e1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 4), re, e1);
                e2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 8), re, e2);
                e3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 12), re, e3);
                o0 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 16), ro, o0);
                o1 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 20), ro, o1);
                o2 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 24), ro, o2);
                o3 = _mm256_fmadd_pd(_mm256_loadu_pd(k + 28), ro, o3);
            }
            e0 = _mm256_add_pd(e0, o0);
            e1 = _mm256_add_pd(e1, o1);
            e2 = _mm256_add_pd(e2, o2);
            e3 = _mm256_add_pd(e3, o3);
            c0 = _mm256_div_pd(_mm256_loadu_pd(b), e0);
            c1 = _mm256_div_pd(_mm256_loadu_pd(b + 4), e1);
            c2 = _mm256_div_pd(_mm256_loadu_pd(b + 8), e2);
            c3 = _mm256_div_pd(_mm256_loadu_pd(b + 12), e3);
            mn = _mm256_min_pd(_mm256_min_pd(mn, _mm256_min_pd(e0, e1)), _mm256_min_pd(e2, e3));
            sum = _mm256_add_pd(sum, _mm256_add_pd(_mm256_add_pd(c0, c1), _mm256_add_pd(c2, c3)));
        }
        *change = hsum4d(err) / n_real;
        if (thr_scaled > 0 && *change < thr_scaled) {
            *fired = 1;
            break;
        }
    }
    if (!isfinite(hsum4d(sum)) || !(hmin4d(mn) >= DBL_MIN)) *bad = 1, *fired = 0;
    _mm256_storeu_pd(p->c, c0);
    _mm256_storeu_pd(p->c + 4, c1);
    _mm256_storeu_pd(p->c + 8, c2);
    _mm256_storeu_pd(p->c + 12, c3);
    return it;
}

/* fe__sk_finish_avx2 for 16 x 16 problems without a plan: column sums in registers, four
 * row sums reduced at a time, and four accumulators for S (the general loop below chains 64
 * dependent FMAs into one). Padded rows and columns have r_i = 0, c_j = 0: their T is 0. */
static int finish16(fe__sk *p, fe_emd_stats *st) {
    const double *K = p->K, *S = p->s;
    const __m256d sign = _mm256_set1_pd(-0.0);
    __m256d c[4], col[4], sim[4], tot = _mm256_setzero_pd(), merr = tot;
    for (int q = 0; q < 4; q++) {
        c[q] = _mm256_loadu_pd(p->c + 4 * q);
        col[q] = sim[q] = _mm256_setzero_pd();
    }
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        __m256d row[4];
#pragma GCC unroll 4
        for (int l = 0; l < 4; l++) {
            const size_t i = 4 * (size_t)g + (size_t)l;
            const __m256d ri = _mm256_broadcast_sd(p->r + i);
            __m256d t[4];
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++) {
                t[q] = _mm256_mul_pd(_mm256_mul_pd(ri, _mm256_loadu_pd(K + 16 * i + 4 * q)), c[q]);
                col[q] = _mm256_add_pd(col[q], t[q]);
                sim[q] = _mm256_fmadd_pd(t[q], _mm256_loadu_pd(S + 16 * i + 4 * q), sim[q]);
            }
            row[l] = _mm256_add_pd(_mm256_add_pd(t[0], t[1]), _mm256_add_pd(t[2], t[3]));
        }
        __m256d rs = reduce4(row[0], row[1], row[2], row[3]);   /* rows 4g .. 4g+3 */
        tot = _mm256_add_pd(tot, rs);
        merr = _mm256_max_pd(merr, _mm256_andnot_pd(sign, _mm256_sub_pd(rs, _mm256_loadu_pd(p->a + 4 * g))));
    }
    for (int q = 0; q < 4; q++)
        merr = _mm256_max_pd(merr, _mm256_andnot_pd(sign, _mm256_sub_pd(col[q], _mm256_loadu_pd(p->b + 4 * q))));
    double s = hsum4d(_mm256_add_pd(_mm256_add_pd(sim[0], sim[1]), _mm256_add_pd(sim[2], sim[3])));
    double total = hsum4d(tot), me = hmax4d(merr);
    st->similarity = s;
    st->cost = total - s;
    st->marginal_error = me;
    return isfinite(s) && isfinite(total) && isfinite(me);
}

/* T_ij = r_i K'_ij c_j (padded c_j = 0 makes padded columns vanish); S = sum T s; cost =
 * sum T - S; marginal errors from the row sums and the column sums (p->work). */
int fe__sk_finish_avx2(fe__sk *p, double *plan, fe_emd_stats *st) {
    const size_t n = p->n, m = p->m, mp = p->mp;
    if (!plan && p->np == 16 && mp == 16) return finish16(p, st);
    double *col = p->work;   /* mp <= 2(np + mp) */
    const __m256d sign = _mm256_set1_pd(-0.0);
    __m256d simv = _mm256_setzero_pd(), totv = simv, merr = simv;
    for (size_t j = 0; j < mp; j += 4) _mm256_storeu_pd(col + j, _mm256_setzero_pd());
    for (size_t i = 0; i < n; i++) {
        const __m256d ri = _mm256_set1_pd(p->r[i]);
        __m256d rowv = _mm256_setzero_pd();
        for (size_t j = 0; j < mp; j += 4) {
            __m256d t = _mm256_mul_pd(_mm256_mul_pd(ri, _mm256_loadu_pd(p->K + i * mp + j)),
                                      _mm256_loadu_pd(p->c + j));
            rowv = _mm256_add_pd(rowv, t);
            _mm256_storeu_pd(col + j, _mm256_add_pd(_mm256_loadu_pd(col + j), t));
            simv = _mm256_fmadd_pd(t, _mm256_loadu_pd(p->s + i * mp + j), simv);
            if (plan) {
                if (j + 4 <= m) {
                    _mm256_storeu_pd(plan + i * m + j, t);
                } else {
                    double tmp[4];
                    _mm256_storeu_pd(tmp, t);
                    for (size_t k = j; k < m; k++) plan[i * m + k] = tmp[k - j];
                }
            }
        }
        totv = _mm256_add_pd(totv, rowv);
        double e = fabs(hsum4d(rowv) - p->a[i]);
        merr = _mm256_max_pd(merr, _mm256_set1_pd(e));
    }
    for (size_t j = 0; j < mp; j += 4)   /* padded columns: 0 - 0 */
        merr = _mm256_max_pd(merr, _mm256_andnot_pd(sign, _mm256_sub_pd(_mm256_loadu_pd(col + j),
                                                                        _mm256_loadu_pd(p->b + j))));
    double sim = hsum4d(simv), total = hsum4d(totv), me = hmax4d(merr);
    st->similarity = sim;
    st->cost = total - sim;
    st->marginal_error = me;
    return isfinite(sim) && isfinite(total) && isfinite(me);
}

#else
/* Not x86-64 with GCC/clang, or built without -mavx2 -mfma: the portable kernels serve. */
typedef int fe__emd_avx2_unused;
#endif
