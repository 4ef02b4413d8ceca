/*
 * layers.h — the network's building blocks on NHWC feature maps: TF-exact convolution
 * (im2col addressing + the packed GEMM micro-kernel + fused epilogue), max/avg/global pools.
 *
 * A feature map view (fe__fmap) is n images of h x w x c floats, channels contiguous, with
 * explicit image and row strides so a view can be a window of a larger buffer. Buffers keep
 * a zero border of `pad` pixels around each image, so 'same' convolutions read their zero
 * padding straight from memory. Work-sharing loops are orphaned `omp for`: called inside a
 * parallel region they split across its threads, otherwise they run serially.
 */
#ifndef FE_LAYERS_H
#define FE_LAYERS_H

#include "gemm.h"

typedef struct fe__fmap {
    float *data;         /* pixel (0,0) of image 0                                          */
    size_t n, h, w, c;   /* images, rows, columns, channels                                 */
    size_t img_stride;   /* floats between images                                           */
    size_t row_stride;   /* floats between rows (>= w*c)                                    */
    size_t pad;          /* zero pixels guaranteed on every side of each image              */
} fe__fmap;

/* A convolution layer with its weights pre-packed for the GEMM (y = conv + bias, then
 * * scale + shift: TF's convLayer + scaleLayer). HWIO filters flattened are exactly the
 * K x Cout row-major B operand, K = kh*kw*cin in (ky, kx, ci) order. */
typedef struct fe__conv {
    size_t kh, kw, stride, cin, cout;
    int    same;                  /* TF 'same' padding, else 'valid'                        */
    float *bp;                    /* packed B: [cout/NR][kh*kw*cin][NR], 64-byte aligned   */
    int    owns_bp;               /* bp was allocated here (not by fe__conv_init_at's caller) */
    float *bias, *scale, *shift;  /* [cout]                                                 */
} fe__conv;

/* ---- im2col.c: TF geometry and implicit im2col addressing --------------------------------- */

/* TF output size and leading pad for one spatial dimension (n input, k kernel, s stride):
 * valid: out = floor((n-k)/s)+1, pad 0; same: out = ceil(n/s), pad_before =
 * floor(max((out-1)*s+k-n, 0)/2), pad_after = the rest. Returns 0 when n < k for valid. */
size_t fe__conv_out_dim(size_t n, size_t k, size_t s, int same, size_t *pad_before,
                        size_t *pad_after);
/* The k taps a window at output coordinate o may use without leaving the input:
 * [*lo, *hi] (inclusive); *lo > *hi when none. */
void fe__conv_tap_range(size_t o, size_t n, size_t k, size_t s, size_t pad_before,
                        size_t *lo, size_t *hi);
/* Segments for the taps [ky_lo..ky_hi] x [kx_lo..kx_hi] of a kh x kw x cin window over a
 * map with row stride row_stride: one segment per kernel row, kx runs merged (adjacent taps
 * are adjacent in both NHWC memory and the packed K order). Returns the segment count. */
size_t fe__conv_segments(const fe__conv *cv, size_t row_stride, size_t ky_lo, size_t ky_hi,
                         size_t kx_lo, size_t kx_hi, fe__kseg *seg);
/* Explicit im2col of one image (tests and documentation): col[(oy*Wo+ox)][K], zeros where
 * the window leaves the input. in is an unpadded-or-padded view; ho, wo from fe__conv_out_dim. */
void fe__im2col(const fe__conv *cv, const fe__fmap *in, size_t img, float *col);

/* ---- conv.c ------------------------------------------------------------------------------- */

/* Packs weights (hwio [kh][kw][cin][cout]) and copies the per-channel vectors. cout must be
 * a multiple of FE_GEMM_NR (FE_E_UNSUPPORTED otherwise). FE_E_NOMEM. */
fe_status fe__conv_init(fe__conv *cv, size_t kh, size_t kw, size_t stride, size_t cin,
                        size_t cout, int same, const float *hwio, const float *bias,
                        const float *scale, const float *shift);
/* Same, packing into caller memory bp (fe__conv_packed_floats floats, 64-byte aligned),
 * which stays the caller's: fe__conv_free leaves it alone. The network puts every layer in
 * one huge-page arena this way. */
fe_status fe__conv_init_at(fe__conv *cv, float *bp, size_t kh, size_t kw, size_t stride,
                           size_t cin, size_t cout, int same, const float *hwio,
                           const float *bias, const float *scale, const float *shift);
/* Floats of packed B for a kh x kw x cin -> cout conv (0 on overflow). */
size_t fe__conv_packed_floats(size_t kh, size_t kw, size_t cin, size_t cout);
void fe__conv_free(fe__conv *cv);
/* out = relu?(((conv(in) + bias) * scale + shift) (+ res)). out->h/w must be the TF output
 * size; in->pad must cover the 'same' padding; res (may be NULL, may alias out: each
 * element is read before it is written) has out's shape. Orphaned omp for. */
void fe__conv_forward(const fe__gemm_kernel *kern, const fe__conv *cv, const fe__fmap *in,
                      const fe__fmap *out, const fe__fmap *res, int relu);

/* ---- pool.c ------------------------------------------------------------------------------- */

/* maxPool 3x3 stride 2 'valid' (out h, w = floor((h-3)/2)+1). NaN never wins, as TF's cpu
 * kernel (v > max). */
void fe__maxpool3x3s2(const fe__fmap *in, const fe__fmap *out);
/* avgPool 2x2 stride 2 'valid' into channels [0, in->c) of out (mean of 4 in double,
 * rounded once, as TF's cpu kernel); channels [in->c, out->c) are set to zero: the
 * residualDown shortcut's channel zero-pad. */
void fe__avgpool2x2s2_zeropad(const fe__fmap *in, const fe__fmap *out);
/* out[img][ch] = mean over h, w (double sum, rounded once). */
void fe__global_mean(const fe__fmap *in, float *out);
/* v = max(0, v) on the cells of a view (NaN kept). */
void fe__relu_inplace(const fe__fmap *m);

#endif /* FE_LAYERS_H */
