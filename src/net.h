/*
 * net.h — FaceRecognitionNet (../shared/design/faceres.md): weights prepared from a blob,
 * the per-session workspace, the batched forward pass, and face-api's input rule for
 * images that are not 150x150.
 *
 * Forward layout: NHWC float buffers with a one-pixel zero border, carved from one zeroed
 * arena per session (untouched batch slots cost address space, not memory). Stem to
 * conv64_3 runs one image at a time (weights there are small and stay in cache); from
 * conv128_down on, up to FE_NET_BATCH images run together so every weight is read once
 * per batch. With several threads, a single image splits every layer between them; a batch
 * instead gives each thread whole images for the early stages (no barrier per layer), then
 * splits the late layers. Results never depend on the batch grouping or thread count.
 */
#ifndef FE_NET_H
#define FE_NET_H

#include "blob.h"
#include "layers.h"

#define FE_NET_N_CONV 29   /* stem + 14 blocks x 2                                          */
#define FE_NET_BATCH  16   /* images per pass through the weight-bound late stages           */
#define FE_NET_P1_SETS 8   /* threads that may run whole images through the early stages  */
#define FE_NET_N_PROF 18   /* profiled steps: input, stem, maxpool, 14 blocks, head        */

typedef struct fe__net {
    fe__conv conv[FE_NET_N_CONV];   /* forward order: conv32_down, then <block>/conv1, conv2 */
    void    *weights_raw;           /* the block holding every conv's packed weights         */
    float   *fc;                    /* [256][128], desc = g . fc, no bias                    */
    float    norm_lut[3][256];      /* (v - mean_c) / 255 for every u8 v: the input step     */
} fe__net;

/* Checks the schema and prepares every layer (dequantize, pack). On failure nothing is
 * kept. Statuses: the schema's (FE_E_NOT_FOUND, FE_E_SHAPE, FE_E_UNSUPPORTED,
 * FE_E_CORRUPT), FE_E_NOMEM. */
fe_status fe__net_load(fe__net *net, const fe__blob *blob);
void fe__net_free(fe__net *net);

/* Blocks (faceres.md §3), all buffers with a zero border of at least 1:
 * residual: y = relu(convNoRelu(conv(x, c1), c2) + x); t holds conv(x, c1).
 * residualDown: y = relu(shortcut + main); shortcut = avgPool 2x2/2 'valid' of x with
 * channels [x->c, y->c) zero; main = convNoRelu(convDown(x, c1) -> t, c2), zero-padded by
 * one row at the bottom and one column at the right when it is one cell smaller than the
 * shortcut (y->h = floor((x->h-2)/2)+1, t->h = floor((x->h-3)/2)+1). Orphaned omp for. */
void fe__residual(const fe__gemm_kernel *k, const fe__conv *c1, const fe__conv *c2,
                  const fe__fmap *x, const fe__fmap *t, const fe__fmap *y);
void fe__residual_down(const fe__gemm_kernel *k, const fe__conv *c1, const fe__conv *c2,
                       const fe__fmap *x, const fe__fmap *t, const fe__fmap *y);

typedef struct fe__net_ws fe__net_ws;

/* The workspace: every buffer one forward needs for batches up to FE_NET_BATCH. */
fe_status fe__net_ws_create(fe__net_ws **out);
void fe__net_ws_free(fe__net_ws *ws);
/* A 150x150x3 float buffer in the workspace for fe__faceapi_input's result. */
float *fe__net_ws_input(fe__net_ws *ws);

/* Tests: after step `step` (0 input, 1 stem, 2 maxpool, 3..16 blocks, 17 global mean), copy
 * image 0's output (channels last, no border) to dst; NULL stops. */
void fe__net_ws_set_dump(fe__net_ws *ws, int step, float *dst);
/* Per-step wall time accumulated over forwards (ns), when enabled. */
void fe__net_ws_profile(fe__net_ws *ws, int enable);
const double *fe__net_ws_prof_ns(const fe__net_ws *ws);
const char *fe__net_prof_name(int step);

/* Runs n images. Inputs are 150x150x3 RGB HWC, either u8 (chips) or f32 values in 0..255
 * (resized input); exactly one of u8/f32 is non-NULL. Fills out[0..n). n_threads >= 1.
 * FE_E_NUMERIC if a descriptor has zero or non-finite norm. */
fe_status fe__net_forward(const fe__net *net, fe__net_ws *ws, const fe__gemm_kernel *kern,
                          int n_threads, const uint8_t *const *u8, const float *const *f32,
                          size_t n, fe_features *out);

/* ---- faceapi_input.c ---------------------------------------------------------------------- */

/* TF's legacy resizeBilinear (alignCorners = false, halfPixelCenters = false): source
 * coordinate = dst * (in/out), floor/ceil neighbours clamped, lerp across then down, in
 * double, stored as float. src: sh x sw x ch floats; dst: dh x dw x ch. */
void fe__resize_bilinear_legacy(const float *src, size_t sh, size_t sw, size_t ch, float *dst,
                                size_t dh, size_t dw);
/* face-api's input for a non-square or non-150 image (faceres.md §2): gray is replicated
 * and alpha dropped; zero-pad to a square with round(diff/2) rows/columns after the image
 * and the rest before; then, unless the square is already 150, the legacy bilinear resize
 * to 150x150. out: 150x150x3 floats in 0..255. No allocation. FE_E_ARG on bad sizes. */
fe_status fe__faceapi_input(const fe_image *img, float *out);

#endif /* FE_NET_H */
