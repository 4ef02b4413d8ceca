/*
 * conv.c — convolution as implicit im2col + GEMM with the epilogue fused into the tile store.
 *
 * GEMM view: M = output pixels (all images), N = cout, K = kh*kw*cin. B (weights) is packed
 * once at model open; A is the input read in place (im2col.c); C rows are the output pixels,
 * wherever the output view puts them. The BLIS loops, adapted:
 *   loops 5 and 4 (NC, KC) are whole: a packed B panel K x NR is at most 2304*16 floats
 *     (144 KiB), which stays in L2 while every pixel streams past it;
 *   loop 2 (NR panels of B) and loop 3 (row groups: output row oy of every image in the
 *     batch) form the work items: threads split rows where pixels are many (each keeps
 *     its band of rows in its own L2 from layer to layer) and panels where weights are
 *     (each streams only its share of the 4x4/2x2/1x1 layers' weights); then
 *   loop 1 (MR blocks: the group cut into near-equal blocks of <= 6 pixels, so W = 8 runs as
 *     4+4 and W = 17 as 6+6+5, never a 1- or 2-row straggler).
 * Padding taps: a block multiplies only taps that some of its pixels can reach inside the
 * input (row range from oy, column range from its pixels' ox). The skipped terms are exact
 * zeros, so the result is bit-identical to the full sum; for a 3x3 'same' conv on a 1x1 map
 * this is 9x less work, on 4x4 maps 1/6 less.
 */
#include "layers.h"

#include <stddef.h>
#include <string.h>

enum { MR = FE_GEMM_MR, NR = FE_GEMM_NR, MAX_SEG = 16 };

size_t fe__conv_packed_floats(size_t kh, size_t kw, size_t cin, size_t cout) {
    size_t k;
    if (!fe__mul3_size(kh, kw, cin, &k) || cout > SIZE_MAX / NR || k > SIZE_MAX / (cout + NR))
        return 0;
    return fe__gemm_packed_b_size(k, cout);
}

fe_status fe__conv_init_at(fe__conv *cv, float *bp, size_t kh, size_t kw, size_t stride,
                           size_t cin, size_t cout, int same, const float *hwio,
                           const float *bias, const float *scale, const float *shift) {
    memset(cv, 0, sizeof *cv);
    if (cout % NR != 0 || cout == 0 || kh == 0 || kw == 0 || kh > MAX_SEG || stride == 0 ||
        cin == 0)
        return fe__fail(FE_E_UNSUPPORTED, "conv %zux%zu/%zu %zu->%zu not supported", kh, kw,
                        stride, cin, cout);
    size_t nf = fe__conv_packed_floats(kh, kw, cin, cout), nb;
    if (nf == 0 || !fe__mul_size(nf, sizeof(float), &nb))
        return fe__fail(FE_E_OVERFLOW, "conv weights size overflows");
    cv->kh = kh; cv->kw = kw; cv->stride = stride; cv->cin = cin; cv->cout = cout;
    cv->same = same;
    cv->owns_bp = bp == NULL;
    cv->bp = bp ? bp : fe__aligned_alloc(nb);
    cv->bias = fe__aligned_alloc(3 * cout * sizeof(float));
    if (!cv->bp || !cv->bias) {
        fe__conv_free(cv);
        return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes of conv weights", nb);
    }
    cv->scale = cv->bias + cout;
    cv->shift = cv->scale + cout;
    fe__gemm_pack_b(kh * kw * cin, cout, hwio, cout, cv->bp);
    memcpy(cv->bias, bias, cout * sizeof(float));
    memcpy(cv->scale, scale, cout * sizeof(float));
    memcpy(cv->shift, shift, cout * sizeof(float));
    return FE_OK;
}

fe_status fe__conv_init(fe__conv *cv, size_t kh, size_t kw, size_t stride, size_t cin,
                        size_t cout, int same, const float *hwio, const float *bias,
                        const float *scale, const float *shift) {
    return fe__conv_init_at(cv, NULL, kh, kw, stride, cin, cout, same, hwio, bias, scale, shift);
}

void fe__conv_free(fe__conv *cv) {
    if (!cv) return;
    if (cv->owns_bp) fe__aligned_free(cv->bp);
    fe__aligned_free(cv->bias);
    memset(cv, 0, sizeof *cv);
}

void fe__conv_forward(const fe__gemm_kernel *kern, const fe__conv *cv, const fe__fmap *in,
                      const fe__fmap *out, const fe__fmap *res, int relu) {
    size_t pt, pb, pl, pr;
    size_t ho = fe__conv_out_dim(in->h, cv->kh, cv->stride, cv->same, &pt, &pb);
    size_t wo = fe__conv_out_dim(in->w, cv->kw, cv->stride, cv->same, &pl, &pr);
    FE_ASSERT(out->h == ho && out->w == wo && out->n == in->n);
    FE_ASSERT(in->c == cv->cin && out->c == cv->cout);
    FE_ASSERT(in->pad >= pt && in->pad >= pb && in->pad >= pl && in->pad >= pr);
    FE_ASSERT(!res || (res->h == ho && res->w == wo && res->c == cv->cout && res->n == in->n));

    const size_t K = cv->kh * cv->kw * cv->cin, n_panels = cv->cout / NR;
    const size_t group = in->n * wo;                  /* pixels in one row group */
    /* A work item is one panel x one row group, or, when there are few pixels (the
     * weight-bound late layers), one whole panel, so that each thread streams only its
     * share of the weights. The split never changes a result. */
    const size_t rows_per_item = group * ho <= 128 ? ho : 1;
    /* A whole-panel item of a 'valid' conv (every tap in range for every pixel) cuts its
     * blocks from all its pixels at once, across rows: the 7x7 and 3x3 outputs of the down
     * blocks then run as 6,6,..,5 and 5+4 instead of 4+3 and 3 per row (fewer passes over
     * the panel, more accumulator chains per pass). Same chains: results are unchanged. */
    const int span = !cv->same && rows_per_item == ho && ho > 1;
    const size_t g_eff = span ? group * ho : group, nb_eff = (g_eff + MR - 1) / MR;
    /* loop invariants in locals: the stores through a[], c[] could alias the structs */
    const float *const in_data = in->data;
    float *const out_data = out->data;
    const float *const res_data = res ? res->data : out->data;
    const ptrdiff_t in_img = (ptrdiff_t)in->img_stride, a_step = (ptrdiff_t)(cv->stride * in->c);
    const size_t out_img = out->img_stride, out_c = out->c;
    const size_t res_img = res ? res->img_stride : out->img_stride, res_c = res ? res->c : out->c;
    const size_t items_per_panel = ho / rows_per_item;
    const size_t n_items = n_panels * items_per_panel;

    if (kern->gemv && group == 1 && rows_per_item == ho) {
        /* One pixel per row group (the 1x1 maps at batch 1): a 1 x NR tile would have two
         * accumulator chains and wait on FMA latency; the gemv kernel runs one row across
         * GP panels at once. Same chains, same results. */
        const size_t GP = FE_GEMM_GEMV_NP, n_gp = (n_panels + GP - 1) / GP;
#pragma omp for schedule(static)
        for (size_t item = 0; item < n_gp; item++) {
            const size_t jp0 = item * GP, np = n_panels - jp0 < GP ? n_panels - jp0 : GP;
            for (size_t oy = 0; oy < ho; oy++) {
                size_t ky_lo, ky_hi, kx_lo = 0, kx_hi = cv->kw - 1;
                fe__conv_tap_range(oy, in->h, cv->kh, cv->stride, pt, &ky_lo, &ky_hi);
                fe__conv_tap_range(0, in->w, cv->kw, cv->stride, pl, &kx_lo, &kx_hi);
                fe__kseg seg[MAX_SEG];
                const size_t n_seg = fe__conv_segments(cv, in->row_stride, ky_lo, ky_hi,
                                                       kx_lo, kx_hi, seg);
                const long iy0 = (long)(oy * cv->stride) - (long)pt;
                const ptrdiff_t a_row = (ptrdiff_t)iy0 * (ptrdiff_t)in->row_stride -
                                        (ptrdiff_t)pl * (ptrdiff_t)in->c;
                const float *a = in_data + a_row;
                float *c = out_data + oy * out->row_stride + jp0 * NR;
                const float *r = res_data + (res ? oy * res->row_stride + jp0 * NR : 0);
                fe__epi ep = {FE_EPI_AFFINE, 1.0f, 0.0f, cv->bias + jp0 * NR,
                              cv->scale + jp0 * NR, cv->shift + jp0 * NR, res ? &r : NULL,
                              relu};
                kern->gemv(np, n_seg, seg, a, cv->bp + jp0 * K * NR, K * NR, c, &ep);
            }
        }
        return;
    }

#pragma omp for schedule(static)
    for (size_t item = 0; item < n_items; item++) {
        /* Row items run row-major (all panels of row 0, then row 1, ...), so a static split
         * hands each thread a band of rows, the same band layer after layer: its input is
         * what it wrote itself, still in its own L2. Whole-panel items split the weights. */
        const size_t jp = rows_per_item == ho ? item : item % n_panels;   /* loop 2: panel */
        const size_t oy0 = rows_per_item == ho ? 0 : item / n_panels;
        for (size_t oy = oy0; oy < oy0 + (span ? 1 : rows_per_item); oy++) {   /* loop 3 */
            const float *bp = cv->bp + jp * K * NR;
            size_t ky_lo, ky_hi;
            fe__conv_tap_range(oy, in->h, cv->kh, cv->stride, pt, &ky_lo, &ky_hi);
            /* most blocks use every column tap: their segments are built once per row */
            fe__kseg seg_full[MAX_SEG], seg_part[MAX_SEG];
            const size_t n_full = fe__conv_segments(cv, in->row_stride, ky_lo, ky_hi, 0,
                                                    cv->kw - 1, seg_full);
            const long iy0 = (long)(oy * cv->stride) - (long)pt;
            /* offsets of pixel (img 0, oy, ox 0) in the input window, output and residual */
            const ptrdiff_t a_row = (ptrdiff_t)iy0 * (ptrdiff_t)in->row_stride -
                                    (ptrdiff_t)pl * (ptrdiff_t)in->c;
            const size_t c_row = oy * out->row_stride + jp * NR;
            const size_t r_row = res ? oy * res->row_stride + jp * NR : c_row;
            fe__epi ep = {FE_EPI_AFFINE, 1.0f, 0.0f, cv->bias + jp * NR, cv->scale + jp * NR,
                          cv->shift + jp * NR, NULL, relu};
            /* Pixel pointers advance incrementally and are recomputed only where the row
             * wraps to the next image (the group is output row oy of every image). Column
             * taps can only be partial in 'same' convs with left/right padding. */
            const int need_kx = pl > 0 || pr > 0;
            size_t img = 0, ox = 0, oyc = oy;   /* oyc: the pixel's row (moves only in span) */
            const float *ap = NULL, *rp = NULL;
            float *cp = NULL;
            for (size_t b = 0; b < nb_eff; b++) {          /* loop 1: MR blocks */
                const size_t mr = g_eff / nb_eff + (b < g_eff % nb_eff ? 1 : 0);
                const float *a[MR] = {0}, *r[MR] = {0};
                float *c[MR] = {0};
                size_t ox_min = wo, ox_max = 0;
                for (size_t i = 0; i < mr; i++) {
                    if (ox == 0) {
                        /* signed offset: the window may start inside the zero border */
                        const size_t dy = oyc - oy;   /* 0 unless span */
                        ap = in_data + ((ptrdiff_t)img * in_img + a_row +
                                        (ptrdiff_t)(dy * cv->stride * in->row_stride));
                        cp = out_data + (img * out_img + c_row + dy * out->row_stride);
                        rp = res_data + (img * res_img + r_row +
                                         dy * (res ? res->row_stride : out->row_stride));
                    }
                    if (need_kx) {
                        if (ox < ox_min) ox_min = ox;
                        if (ox > ox_max) ox_max = ox;
                    }
                    a[i] = ap;
                    c[i] = cp;
                    r[i] = rp;
                    ap += a_step;
                    cp += out_c;
                    rp += res_c;
                    if (++ox == wo) {
                        ox = 0;
                        if (++img == in->n && span) {
                            img = 0;
                            oyc++;
                        }
                    }
                }
                /* taps any pixel of the block can use: the range shrinks as ox grows, so the
                 * bounding range is [lo(ox_max), hi(ox_min)] */
                size_t kx_lo = 0, kx_hi = cv->kw - 1, unused;
                if (need_kx) {
                    fe__conv_tap_range(ox_max, in->w, cv->kw, cv->stride, pl, &kx_lo, &unused);
                    fe__conv_tap_range(ox_min, in->w, cv->kw, cv->stride, pl, &unused, &kx_hi);
                }
                ep.res = res ? r : NULL;
                if (kx_lo == 0 && kx_hi == cv->kw - 1) {
                    kern->ukr(mr, n_full, seg_full, a, bp, c, &ep);
                } else {
                    size_t n_part = fe__conv_segments(cv, in->row_stride, ky_lo, ky_hi, kx_lo,
                                                      kx_hi, seg_part);
                    kern->ukr(mr, n_part, seg_part, a, bp, c, &ep);
                }
            }
        }
    }
}
