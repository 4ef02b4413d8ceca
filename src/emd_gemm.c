/*
 * emd_gemm.c — the cost GEMM of stage 2: similarities of the n query patches (plus q_bar)
 * against all candidates' patches (plus each g_bar), C = A B^T with both operands stored as
 * rows of length K (float). fe__emd_gemm_rows takes B as row pointers: the candidates of a
 * query are scattered over the gallery, and gathering them would copy ~1.7 MB per query.
 * fe__emd_gemm_nt is the contiguous form. The portable kernel here is the reference;
 * emd_avx2.c has the SIMD one.
 * SWAP POINT: these two functions are the only place stage 2 computes a GEMM; the engine's
 * SGEMM (src/gemm.h) can replace the body of fe__emd_gemm_nt, and of fe__emd_gemm_rows if it
 * accepts row pointers (else behind a gather copy).
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

void fe__emd_gemm_rows_ref(size_t M, size_t N, size_t K, const float *A, size_t lda,
                           const float *const *B, float *C, size_t ldc) {
    for (size_t j = 0; j < N; j++) fe__emd_gemm_nt_ref(M, 1, K, A, lda, B[j], K, C + j, ldc);
}

void fe__emd_gemm_rows(fe__emd_kernel kern, size_t M, size_t N, size_t K, const float *A,
                       size_t lda, const float *const *B, float *C, size_t ldc) {
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) {
        fe__emd_gemm_rows_avx2(M, N, K, A, lda, B, C, ldc);
        return;
    }
#else
    (void)kern;
#endif
    fe__emd_gemm_rows_ref(M, N, K, A, lda, B, C, ldc);
}

/* Contiguous B: row pointers over it, then the same kernels. */
void fe__emd_gemm_nt(fe__emd_kernel kern, size_t M, size_t N, size_t K, const float *A,
                     size_t lda, const float *B, size_t ldb, float *C, size_t ldc) {
    const float *rows[64];
    for (size_t j0 = 0; j0 < N; j0 += 64) {
        size_t nb = N - j0 < 64 ? N - j0 : 64;
        for (size_t j = 0; j < nb; j++) rows[j] = B + (j0 + j) * ldb;
        fe__emd_gemm_rows(kern, M, nb, K, A, lda, rows, C + j0, ldc);
    }
}
