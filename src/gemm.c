/*
 * gemm.c — the general SGEMM driver (BLIS's five loops around the micro-kernel), B packing,
 * and the run-time kernel choice. Contract in gemm.h.
 *
 * Blocking (fp32, this machine: 32 KiB L1d, 1 MiB L2, shared L3 per 2 cores):
 *   KC = 256  a B micro-panel KC x NR = 16 KiB stays in L1 across the MR loop;
 *   MC = 96   the packed A block MC x KC = 96 KiB stays in L2 across the NR loop;
 *   NC = 2048 the packed B block KC x NC = 2 MiB lives in L3.
 * Packed A is row-major [MC][KC] (the micro-kernel takes row pointers); packed B is panels
 * [NC/NR][KC][NR] with the ragged last panel zero-padded; ragged rows use the micro-kernel's
 * own row count and ragged columns go through a staged tile, so no edge reads past C.
 */
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

enum { MR = FE_GEMM_MR, NR = FE_GEMM_NR, KC = 256, MC = 96, NC = 2048 };

/* ---- kernel choice ------------------------------------------------------------------------ */

const fe__gemm_kernel *fe__gemm_kernel_avx2(void) {
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return fe__gemm_kernel_avx2_impl();
#endif
    return NULL;
}

const fe__gemm_kernel *fe__gemm_kernel_default(void) {
    const char *env = getenv("FE_KERNEL");
    if (env && strcmp(env, "ref") == 0) return fe__gemm_kernel_ref();
    const fe__gemm_kernel *k = fe__gemm_kernel_avx2();
    return k ? k : fe__gemm_kernel_ref();
}

const char *fe__gemm_kernel_name(void) { return fe__gemm_kernel_default()->name; }

/* ---- packing ------------------------------------------------------------------------------ */

size_t fe__gemm_packed_b_size(size_t k, size_t n) {
    return (n + NR - 1) / NR * k * NR;
}

/* op(B)[p0.., j0..] (kc x nc) into panels [nc/NR][kc][NR], zero-padding the last panel. */
static void pack_b_block(int trans_b, const float *B, size_t ldb, size_t p0, size_t j0,
                         size_t kc, size_t nc, float *dst) {
    for (size_t jp = 0; jp < nc; jp += NR) {
        size_t w = nc - jp < NR ? nc - jp : NR;
        float *d = dst + jp * kc;   /* panel jp/NR starts at (jp/NR)*kc*NR */
        if (!trans_b) {
            for (size_t p = 0; p < kc; p++) {
                const float *s = B + (p0 + p) * ldb + j0 + jp;
                float *dp = d + p * NR;
                memcpy(dp, s, w * sizeof(float));
                if (w < NR) memset(dp + w, 0, (NR - w) * sizeof(float));
            }
        } else {
            /* op(B) = B^T: column j of the panel is row j0+jp+j of B. Walk k outermost so
             * the 16 source rows are read as parallel sequential streams and every packed
             * row is written once, contiguously (column-major writes cost 16x more). */
            const float *src[NR];
            for (size_t j = 0; j < w; j++) src[j] = B + (j0 + jp + j) * ldb + p0;
            for (size_t p = 0; p < kc; p++) {
                float *dp = d + p * NR;
                size_t j = 0;
                for (; j < w; j++) dp[j] = src[j][p];
                for (; j < NR; j++) dp[j] = 0.0f;
            }
        }
    }
}

void fe__gemm_pack_b(size_t k, size_t n, const float *B, size_t ldb, float *dst) {
    pack_b_block(0, B, ldb, 0, 0, k, n, dst);
}

/* op(A)[i0+i0r.., p0..] rows [r_lo, r_hi) of the block into dst[i][kc] (row-major). */
static void pack_a_rows(int trans_a, const float *A, size_t lda, size_t i0, size_t p0,
                        size_t kc, size_t r_lo, size_t r_hi, float *dst) {
    if (!trans_a) {
        for (size_t i = r_lo; i < r_hi; i++)
            memcpy(dst + i * kc, A + (i0 + i) * lda + p0, kc * sizeof(float));
    } else {
        for (size_t p = 0; p < kc; p++) {
            const float *s = A + (p0 + p) * lda + i0;
            for (size_t i = r_lo; i < r_hi; i++) dst[i * kc + p] = s[i];
        }
    }
}

/* ---- the driver ----------------------------------------------------------------------------- */

static void scale_c(size_t m, size_t n, float beta, float *C, size_t ldc) {
    for (size_t i = 0; i < m; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) memset(c, 0, n * sizeof(float));   /* BLIS: never read C */
        else for (size_t j = 0; j < n; j++) c[j] = beta * c[j];
    }
}

/* One MR x NR (or smaller) tile; ragged columns are staged so nothing past C is touched. */
static void run_tile(const fe__gemm_kernel *kern, size_t mr, size_t nr, size_t kc,
                     const float *ap, const float *bp, float *c, size_t ldc, const fe__epi *ep) {
    const float *a[MR] = {0};
    float *cr[MR] = {0};
    fe__kseg seg = {0, 0, kc};
    for (size_t r = 0; r < mr; r++) a[r] = ap + r * kc;
    if (nr == NR) {
        for (size_t r = 0; r < mr; r++) cr[r] = c + r * ldc;
        kern->ukr(mr, 1, &seg, a, bp, cr, ep);
        return;
    }
    float tmp[MR * NR] = {0};
    for (size_t r = 0; r < mr; r++) {
        cr[r] = tmp + r * NR;
        if (ep->beta != 0.0f) memcpy(tmp + r * NR, c + r * ldc, nr * sizeof(float));
    }
    kern->ukr(mr, 1, &seg, a, bp, cr, ep);
    for (size_t r = 0; r < mr; r++) memcpy(c + r * ldc, tmp + r * NR, nr * sizeof(float));
}

/* Small m with op(B) = B^T (query batches against a gallery, EMD cost matrices): compute
 * C^T = B . op(A)^T. B's rows are then the micro-kernel's A rows, read in place (no packing
 * of the big operand); op(A)^T, m columns, is the packed panel operand; each tile is
 * stored transposed. The epilogue keeps the micro-kernel's op order: alpha*ab, then
 * + beta*c. ap holds ceil(m/NR) panels of KC rows. */
static void sgemm_swapped_bt(const fe__gemm_kernel *kern, int nt, int trans_a, size_t m,
                             size_t n, size_t k, float alpha, const float *A, size_t lda,
                             const float *B, size_t ldb, float beta, float *C, size_t ldc,
                             float *ap) {
    const size_t n_q = (m + NR - 1) / NR, n_g = (n + MR - 1) / MR;
    (void)nt;
    for (size_t pc = 0; pc < k; pc += KC) {                 /* loop 4: KC of the k range */
        const size_t kc = k - pc < KC ? k - pc : KC;
        const float beta_pc = pc == 0 ? beta : 1.0f;
        /* op(A)^T[p][i] = op(A)[i][p]: as A is stored, that is B^T-style packing of A
         * when A is not transposed, plain packing when it is */
        for (size_t jq = 0; jq < n_q; jq++) {
            size_t w = m - jq * NR < NR ? m - jq * NR : NR;
            pack_b_block(!trans_a, A, lda, pc, jq * NR, kc, w, ap + jq * NR * kc);
        }
        fe__epi ep = {FE_EPI_GEMM, alpha, 0.0f, NULL, NULL, NULL, NULL, 0};
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (size_t ig = 0; ig < n_g; ig++) {               /* row blocks of B (= of C^T) */
            const size_t g0 = ig * MR, mr = n - g0 < MR ? n - g0 : MR;
            const float *a[MR] = {0};
            for (size_t r = 0; r < mr; r++) a[r] = B + (g0 + r) * ldb + pc;
            fe__kseg seg = {0, 0, kc};
            for (size_t jq = 0; jq < n_q; jq++) {           /* panels of queries */
                float tmp[MR * NR];
                float *cr[MR] = {0};
                for (size_t r = 0; r < mr; r++) cr[r] = tmp + r * NR;
                kern->ukr(mr, 1, &seg, a, ap + jq * NR * kc, cr, &ep);
                const size_t w = m - jq * NR < NR ? m - jq * NR : NR;
                for (size_t q = 0; q < w; q++) {
                    float *c = C + (jq * NR + q) * ldc + g0;
                    for (size_t r = 0; r < mr; r++) {
                        float v = tmp[r * NR + q];
                        if (beta_pc != 0.0f) v = v + beta_pc * c[r];   /* BLIS: beta 0 never reads C */
                        c[r] = v;
                    }
                }
            }
        }
    }
}

fe_status fe__sgemm_ex(const fe__gemm_kernel *kern, int n_threads, int trans_a, int trans_b,
                       size_t m, size_t n, size_t k, float alpha, const float *A, size_t lda,
                       const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    if (!kern) return fe__fail(FE_E_ARG, "kernel is NULL");
    if (m == 0 || n == 0) return FE_OK;
    if (!C) return fe__fail(FE_E_ARG, "C is NULL");
    if (ldc < n) return fe__fail(FE_E_ARG, "ldc %zu < n %zu", ldc, n);
    size_t span;
    if (!fe__mul_size(m - 1, ldc, &span) || !fe__add_size(span, n, &span))
        return fe__fail(FE_E_OVERFLOW, "C extent overflows (m %zu, ldc %zu)", m, ldc);
    if (k == 0 || alpha == 0.0f) {
        scale_c(m, n, beta, C, ldc);
        return FE_OK;
    }
    if (!A || !B) return fe__fail(FE_E_ARG, "A or B is NULL");
    if (lda < (trans_a ? m : k)) return fe__fail(FE_E_ARG, "lda %zu too small", lda);
    if (ldb < (trans_b ? k : n)) return fe__fail(FE_E_ARG, "ldb %zu too small", ldb);
    if (!fe__mul_size((trans_a ? k : m) - 1, lda, &span) ||
        !fe__mul_size((trans_b ? n : k) - 1, ldb, &span))
        return fe__fail(FE_E_OVERFLOW, "A or B extent overflows");

    /* Threads only where the work pays for the fork: 4 MFLOP is ~40 us of one core. */
    double flops = 2.0 * (double)m * (double)n * (double)k;
    int nt = n_threads > 1 && flops >= 4e6 ? n_threads : 1;
    (void)nt;
    size_t kc_max = k < KC ? k : KC;
    size_t mc_max = m < MC ? m : MC;
    /* With one A block (m <= MC: query batches, EMD costs) each B panel meets one A block
     * only, so it is packed just in time into a 16 KiB buffer on the stack. Otherwise the
     * KC x NC block is packed once and reused by every A block. (A fresh multi-megabyte
     * buffer per call would also cost a page fault per 4 KiB.) */
    if (trans_b && m <= 4 * NR && n >= 4 * MR) {
        float *ap = fe__aligned_alloc((m + NR - 1) / NR * NR * kc_max * sizeof(float));
        if (!ap) return fe__fail(FE_E_NOMEM, "cannot allocate GEMM packing buffers");
        sgemm_swapped_bt(kern, nt, trans_a, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, ap);
        fe__aligned_free(ap);
        return FE_OK;
    }
    const int one_a_block = m <= MC;
    size_t nc_max = n < NC ? (n + NR - 1) / NR * NR : NC;
    float *bp = one_a_block ? NULL : fe__aligned_alloc(kc_max * nc_max * sizeof(float));
    float *ap = fe__aligned_alloc(mc_max * kc_max * sizeof(float));
    if ((!one_a_block && !bp) || !ap) {
        fe__aligned_free(bp);
        fe__aligned_free(ap);
        return fe__fail(FE_E_NOMEM, "cannot allocate GEMM packing buffers");
    }

    for (size_t jc = 0; jc < n; jc += NC) {                 /* loop 5: NC columns of C   */
        size_t nc = n - jc < NC ? n - jc : NC;
        size_t n_jr = (nc + NR - 1) / NR;
        for (size_t pc = 0; pc < k; pc += KC) {             /* loop 4: KC of the k range */
            size_t kc = k - pc < KC ? k - pc : KC;
            fe__epi ep = {FE_EPI_GEMM, alpha, pc == 0 ? beta : 1.0f, NULL, NULL, NULL, NULL, 0};
#pragma omp parallel num_threads(nt) if (nt > 1)
            {
                if (one_a_block) {
                    size_t n_ir = (m + MR - 1) / MR;
#pragma omp for schedule(static)
                    for (size_t ir = 0; ir < n_ir; ir++) {      /* pack A: the m x KC block  */
                        size_t hi = (ir + 1) * MR < m ? (ir + 1) * MR : m;
                        pack_a_rows(trans_a, A, lda, 0, pc, kc, ir * MR, hi, ap);
                    }
                    _Alignas(64) float pb[KC * NR];
#pragma omp for schedule(static)
                    for (size_t jr = 0; jr < n_jr; jr++) {      /* loop 2, packing B as it goes */
                        size_t nr = nc - jr * NR < NR ? nc - jr * NR : NR;
                        pack_b_block(trans_b, B, ldb, pc, jc + jr * NR, kc, nr, pb);
                        for (size_t ir = 0; ir < n_ir; ir++) {  /* loop 1 */
                            size_t mr = m - ir * MR < MR ? m - ir * MR : MR;
                            run_tile(kern, mr, nr, kc, ap + ir * MR * kc, pb,
                                     C + ir * MR * ldc + jc + jr * NR, ldc, &ep);
                        }
                    }
                } else {
#pragma omp for schedule(static)
                    for (size_t jr = 0; jr < n_jr; jr++) {      /* pack B: the KC x NC block */
                        size_t w = nc - jr * NR < NR ? nc - jr * NR : NR;
                        pack_b_block(trans_b, B, ldb, pc, jc + jr * NR, kc, w, bp + jr * NR * kc);
                    }
                    for (size_t ic = 0; ic < m; ic += MC) { /* loop 3: MC rows of C      */
                        size_t mc = m - ic < MC ? m - ic : MC;
                        size_t n_ir = (mc + MR - 1) / MR;
#pragma omp for schedule(static)
                        for (size_t ir = 0; ir < n_ir; ir++) {  /* pack A: the MC x KC block */
                            size_t hi = (ir + 1) * MR < mc ? (ir + 1) * MR : mc;
                            pack_a_rows(trans_a, A, lda, ic, pc, kc, ir * MR, hi, ap);
                        }
#pragma omp for schedule(static)
                        for (size_t t = 0; t < n_jr * n_ir; t++) {
                            size_t jr = t / n_ir, ir = t % n_ir;  /* loop 2 (NR), loop 1 (MR) */
                            size_t mr = mc - ir * MR < MR ? mc - ir * MR : MR;
                            size_t nr = nc - jr * NR < NR ? nc - jr * NR : NR;
                            run_tile(kern, mr, nr, kc, ap + ir * MR * kc, bp + jr * NR * kc,
                                     C + (ic + ir * MR) * ldc + jc + jr * NR, ldc, &ep);
                        }
                    }
                }
            }
        }
    }
    fe__aligned_free(bp);
    fe__aligned_free(ap);
    return FE_OK;
}

fe_status fe__sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                    const float *A, size_t lda, const float *B, size_t ldb, float beta,
                    float *C, size_t ldc) {
    return fe__sgemm_ex(fe__gemm_kernel_default(), fe__max_threads(), trans_a, trans_b, m, n,
                        k, alpha, A, lda, B, ldb, beta, C, ldc);
}
