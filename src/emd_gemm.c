/*
 * emd_gemm.c — the cost GEMM of stage 2: similarities of the n query patches against all
 * candidates' patches (plus each g_bar), and q_bar against the same rows, in float. B comes
 * as row pointers: the candidates of a query are scattered over the gallery, and gathering
 * them would copy ~1.7 MB per query. The output is transposed (T[row][i]): the SIMD kernel
 * (emd_avx2.c) puts the query rows in its lanes; the portable kernel here is the reference.
 * SWAP POINT: fe__emd_gemm_cost is the only place stage 2 computes a GEMM.
 */
#include "emd.h"

/* Four rows of B per pass with eight partial sums per dot product: independent chains the
 * compiler can keep in registers (and vectorise where it may), and a shorter rounding chain
 * than one running sum. */
void fe__emd_gemm_nt_ref(size_t M, size_t N, size_t K, const float *A, size_t lda,
                         const float *B, size_t ldb, float *C, size_t ldc) {
    for (size_t j = 0; j < N; j++) {
        const float *b = B + j * ldb;
        for (size_t i = 0; i < M; i++) {
            const float *a = A + i * lda;
            float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            size_t k = 0;
            for (; k + 8 <= K; k += 8)
                for (int l = 0; l < 8; l++) s[l] += a[k + l] * b[k + l];
            for (; k < K; k++) s[k & 7] += a[k] * b[k];
            C[i * ldc + j] = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
        }
    }
}

size_t fe__emd_panel_rows(size_t n) { return (n + 15) & ~(size_t)15; }

void fe__emd_pack_query(const float *Q, size_t n, size_t d, float *P) {
    for (size_t p = 0; p < fe__emd_panel_rows(n) / 16; p++)
        for (size_t k = 0; k < d; k++)
            for (size_t l = 0; l < 16; l++) {
                size_t i = 16 * p + l;
                P[(p * d + k) * 16 + l] = i < n ? Q[i * d + k] : 0.0f;
            }
}

void fe__emd_gemm_cost(fe__emd_kernel kern, size_t n, size_t d, const float *Q, const float *P,
                       const float *qbar, size_t N, const float *const *B, float *T, size_t ldt,
                       float *qb, fe__pf *pf, int jit) {
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) {
        fe__emd_gemm_cost_avx2(n, d, P, qbar, N, B, T, ldt, qb, pf, jit);
        return;
    }
#else
    (void)kern;
#endif
    (void)P, (void)jit;
    for (size_t j = 0; j < N; j++) {
        /* column j of C = Q B^T is row j of T: ldc 1 walks down it */
        fe__emd_gemm_nt_ref(n, 1, d, Q, d, B[j], d, T + j * ldt, 1);
        for (size_t i = n; i < fe__emd_panel_rows(n); i++) T[j * ldt + i] = 0.0f;
        if (qbar) fe__emd_gemm_nt_ref(1, 1, d, qbar, d, B[j], d, qb + j, 1);
        if (pf) fe__pf_step(pf, 16);
    }
}
