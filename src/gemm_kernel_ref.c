/*
 * gemm_kernel_ref.c — the portable MR x NR micro-kernel and epilogue (contract in gemm.h).
 *
 * Plain C11 that any compiler vectorises as it can; it is the reference the SIMD kernel is
 * tested against and what FE_KERNEL=ref selects. Each accumulator is a multiply-then-add
 * chain over k in ascending order (no FMA contraction: the build is ISO C, where GCC keeps
 * a*b+c as two roundings), so results do not depend on tile shape or grouping.
 */
#include "gemm.h"

void fe__epi_apply_ref(size_t mr, const float *ab, float *const *c, const fe__epi *ep) {
    enum { NR = FE_GEMM_NR };
    if (ep->kind == FE_EPI_GEMM) {
        for (size_t r = 0; r < mr; r++) {
            float *cr = c[r];
            for (size_t j = 0; j < NR; j++) {
                float v = ab[r * NR + j] * ep->alpha;
                if (ep->beta != 0.0f) v = v + ep->beta * cr[j];
                cr[j] = v;
            }
        }
        return;
    }
    for (size_t r = 0; r < mr; r++) {
        float *cr = c[r];
        const float *rr = ep->res ? ep->res[r] : NULL;
        for (size_t j = 0; j < NR; j++) {
            /* the reference's op order: conv + bias, * scale, + shift, + residual, relu */
            float v = ab[r * NR + j] + ep->bias[j];
            v = v * ep->scale[j];
            v = v + ep->shift[j];
            if (rr) v = v + rr[j];
            if (ep->relu && v < 0.0f) v = 0.0f;
            cr[j] = v;
        }
    }
}

static void ukr_ref(size_t mr, size_t n_seg, const fe__kseg *seg, const float *const *a,
                    const float *b, float *const *c, const fe__epi *ep) {
    enum { MR = FE_GEMM_MR, NR = FE_GEMM_NR };
    float ab[MR * NR] = {0};
    for (size_t s = 0; s < n_seg; s++) {
        const float *bs = b + seg[s].b_off;
        for (size_t r = 0; r < mr; r++) {
            const float *ar = a[r] + seg[s].a_off;
            float *acc = ab + r * NR;
            for (size_t k = 0; k < seg[s].len; k++) {
                const float av = ar[k];
                const float *bk = bs + k * NR;
                for (size_t j = 0; j < NR; j++) acc[j] += av * bk[j];
            }
        }
    }
    fe__epi_apply_ref(mr, ab, c, ep);
}

/* Portable one-row multi-panel path: one ukr_ref call per panel (the same chains). */
static void gemv_ref(size_t np, size_t n_seg, const fe__kseg *seg, const float *a,
                     const float *b, size_t panel_stride, float *c, const fe__epi *ep) {
    enum { NR = FE_GEMM_NR };
    for (size_t p = 0; p < np; p++) {
        fe__epi e = *ep;
        const float *rp = ep->res ? ep->res[0] + p * NR : NULL;
        float *cp = c + p * NR;
        if (ep->kind == FE_EPI_AFFINE) {
            e.bias = ep->bias + p * NR;
            e.scale = ep->scale + p * NR;
            e.shift = ep->shift + p * NR;
            e.res = ep->res ? &rp : NULL;
        }
        ukr_ref(1, n_seg, seg, &a, b + p * panel_stride, &cp, &e);
    }
}

static const fe__gemm_kernel kernel_ref = {"ref", ukr_ref, gemv_ref};

const fe__gemm_kernel *fe__gemm_kernel_ref(void) { return &kernel_ref; }
