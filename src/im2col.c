/*
 * im2col.c — TF convolution geometry ('same'/'valid' exactly as tf.conv2d) and the implicit
 * im2col addressing the conv driver hands to the GEMM micro-kernel.
 *
 * im2col row m = output pixel, column k = (ky, kx, ci) in HWIO order. In NHWC the columns of
 * one kernel row (kx = 0..kw-1, ci = 0..cin-1) are kw*cin consecutive floats of the input,
 * so a window is kh contiguous runs: the GEMM reads them in place through one pointer per
 * output pixel plus per-row offsets, and the matrix is never materialised. fe__im2col below
 * materialises it only for tests, from the same geometry.
 */
#include "layers.h"

#include <string.h>

size_t fe__conv_out_dim(size_t n, size_t k, size_t s, int same, size_t *pad_before,
                        size_t *pad_after) {
    size_t out, pb = 0, pa = 0;
    if (same) {
        out = (n + s - 1) / s;
        size_t need = (out - 1) * s + k;
        size_t total = need > n ? need - n : 0;
        pb = total / 2;
        pa = total - pb;
    } else {
        out = n >= k ? (n - k) / s + 1 : 0;
    }
    if (pad_before) *pad_before = pb;
    if (pad_after) *pad_after = pa;
    return out;
}

void fe__conv_tap_range(size_t o, size_t n, size_t k, size_t s, size_t pad_before,
                        size_t *lo, size_t *hi) {
    /* input coordinate of tap t: o*s - pad_before + t, must lie in [0, n) */
    size_t start = o * s;   /* = input coordinate of tap 0, plus pad_before */
    *lo = pad_before > start ? pad_before - start : 0;
    size_t last = n - 1 + pad_before;   /* largest valid start + t */
    if (last < start) {
        *lo = 1;
        *hi = 0;
        return;
    }
    size_t h = last - start;
    *hi = h < k - 1 ? h : k - 1;
}

size_t fe__conv_segments(const fe__conv *cv, size_t row_stride, size_t ky_lo, size_t ky_hi,
                         size_t kx_lo, size_t kx_hi, fe__kseg *seg) {
    if (ky_lo > ky_hi || kx_lo > kx_hi) return 0;
    size_t n = 0;
    for (size_t ky = ky_lo; ky <= ky_hi; ky++, n++) {
        seg[n].a_off = ky * row_stride + kx_lo * cv->cin;
        seg[n].b_off = (ky * cv->kw + kx_lo) * cv->cin * FE_GEMM_NR;
        seg[n].len = (kx_hi - kx_lo + 1) * cv->cin;
    }
    return n;
}

void fe__im2col(const fe__conv *cv, const fe__fmap *in, size_t img, float *col) {
    size_t pt, pl;
    size_t ho = fe__conv_out_dim(in->h, cv->kh, cv->stride, cv->same, &pt, NULL);
    size_t wo = fe__conv_out_dim(in->w, cv->kw, cv->stride, cv->same, &pl, NULL);
    size_t K = cv->kh * cv->kw * cv->cin;
    const float *base = in->data + img * in->img_stride;
    for (size_t oy = 0; oy < ho; oy++)
        for (size_t ox = 0; ox < wo; ox++) {
            float *row = col + (oy * wo + ox) * K;
            for (size_t ky = 0; ky < cv->kh; ky++)
                for (size_t kx = 0; kx < cv->kw; kx++) {
                    float *dst = row + (ky * cv->kw + kx) * cv->cin;
                    /* signed: the window may start in the padding */
                    long iy = (long)(oy * cv->stride + ky) - (long)pt;
                    long ix = (long)(ox * cv->stride + kx) - (long)pl;
                    if (iy < 0 || ix < 0 || iy >= (long)in->h || ix >= (long)in->w) {
                        memset(dst, 0, cv->cin * sizeof(float));
                    } else {
                        memcpy(dst, base + (size_t)iy * in->row_stride + (size_t)ix * in->c,
                               cv->cin * sizeof(float));
                    }
                }
        }
}
