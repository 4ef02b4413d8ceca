/*
 * emd_gemm.c — the cost GEMM of stage 2 behind one swap point, fe__emd_gemm_nt: similarities
 * of n query patches against stacked candidate patches, C = A B^T with both operands stored as
 * rows of length K (float). The portable kernel below is the reference; emd_avx2.c has the
 * SIMD one. SWAP POINT: when the engine's SGEMM (src/gemm.h) lands, fe__emd_gemm_nt can call
 * it for large N; nothing else in stage 2 depends on how C is computed.
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

void fe__emd_gemm_nt(fe__emd_kernel kern, size_t M, size_t N, size_t K, const float *A,
                     size_t lda, const float *B, size_t ldb, float *C, size_t ldc) {
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) {
        fe__emd_gemm_nt_avx2(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
#else
    (void)kern;
#endif
    fe__emd_gemm_nt_ref(M, N, K, A, lda, B, ldb, C, ldc);
}
