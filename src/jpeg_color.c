/*
 * jpeg_color.c — chroma upsampling and colour conversion to 8-bit gray / RGB (JFIF 1.02).
 *
 * Upsampling reproduces libjpeg's default "fancy" filters so output matches djpeg: for a 2:1
 * horizontal ratio each output sample is 3/4 of the nearer input plus 1/4 of the farther one,
 * for 1:2 vertically likewise, and for 2:2 the product of both (9/16, 3/16, 3/16, 1/16), with
 * alternating rounding biases so errors do not drift; edges replicate the last real sample
 * (columns beyond wd and rows beyond hd are never read). Other integer ratios replicate
 * (box filter). YCbCr -> RGB uses the JFIF equations in 16-bit fixed point, rounded.
 */
#include "jpeg.h"

#include <string.h>

static inline uint8_t clamp8(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* 2:1 horizontal triangle filter: in has n >= 3 samples, out gets 2n. */
void fe__jpeg_h2v1_fancy(const uint8_t *in, uint32_t n, uint8_t *out) {
    out[0] = in[0];
    out[1] = (uint8_t)((3 * in[0] + in[1] + 2) >> 2);
    for (uint32_t i = 1; i + 1 < n; i++) {
        int c = 3 * in[i];
        out[2 * i] = (uint8_t)((c + in[i - 1] + 1) >> 2);
        out[2 * i + 1] = (uint8_t)((c + in[i + 1] + 2) >> 2);
    }
    out[2 * n - 2] = (uint8_t)((3 * in[n - 1] + in[n - 2] + 1) >> 2);
    out[2 * n - 1] = in[n - 1];
}

/* 1:2 vertical triangle filter: near is the co-sited row, far the neighbour above (upper
 * output row, bias 1) or below (lower output row, bias 2). */
static void v2_fancy(const uint8_t *near, const uint8_t *far, uint32_t n, int bias, uint8_t *out) {
    for (uint32_t i = 0; i < n; i++) out[i] = (uint8_t)((3 * near[i] + far[i] + bias) >> 2);
}

/* 2:2: vertical 3:1 sums (0..1020), then horizontal 3:1 with biases 8 and 7; n >= 3. */
void fe__jpeg_h2v2_fancy(const uint8_t *near, const uint8_t *far, uint32_t n, uint8_t *out) {
#define CS(i) (3 * near[i] + far[i])
    out[0] = (uint8_t)((4 * CS(0) + 8) >> 4);
    out[1] = (uint8_t)((3 * CS(0) + CS(1) + 7) >> 4);
    for (uint32_t i = 1; i + 1 < n; i++) {
        int c = 3 * CS(i);
        out[2 * i] = (uint8_t)((c + CS(i - 1) + 8) >> 4);
        out[2 * i + 1] = (uint8_t)((c + CS(i + 1) + 7) >> 4);
    }
    out[2 * n - 2] = (uint8_t)((3 * CS(n - 1) + CS(n - 2) + 8) >> 4);
    out[2 * n - 1] = (uint8_t)((4 * CS(n - 1) + 7) >> 4);
#undef CS
}

/* Row y (full resolution) of component c, in the width W; may point into the plane. */
static const uint8_t *comp_row(const fe__jpeg *d, const fe__jpeg_comp *c, uint32_t y, uint8_t *buf) {
    int hr = d->hmax / c->h, vr = d->vmax / c->v;
    const uint8_t *pl = c->plane;
    size_t st = c->stride;
    if (hr == 1 && vr == 1) return pl + (size_t)y * st;
    /* libjpeg filters 2:1 horizontal ratios only when the component is over 2 samples wide
     * (a narrower one is replicated); matching that keeps tiny images identical to djpeg */
    int narrow = hr == 2 && c->wd <= 2;
    if (hr == 2 && vr == 1 && !narrow) {
        d->k->h2v1(pl + (size_t)y * st, c->wd, buf);
        return buf;
    }
    if (vr == 2 && (hr == 1 || hr == 2) && !narrow) {
        uint32_t yn = y >> 1;
        uint32_t yf = (y & 1) ? (yn + 1 < c->hd ? yn + 1 : yn) : (yn > 0 ? yn - 1 : 0);
        const uint8_t *near = pl + (size_t)yn * st, *far = pl + (size_t)yf * st;
        if (hr == 1) v2_fancy(near, far, c->wd, (y & 1) ? 2 : 1, buf);
        else d->k->h2v2(near, far, c->wd, buf);
        return buf;
    }
    /* other ratios: replicate */
    const uint8_t *src = pl + (size_t)(y / (uint32_t)vr) * st;
    for (uint32_t x = 0; x < d->width; x++) buf[x] = src[x / (uint32_t)hr];
    return buf;
}

void fe__jpeg_ycc_rgb(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, uint32_t n, uint8_t *out) {
    for (uint32_t i = 0; i < n; i++) {
        int32_t Y = y[i], b = cb[i] - 128, r = cr[i] - 128;
        out[3 * i + 0] = clamp8(Y + ((91881 * r + 32768) >> 16));               /* 1.402   */
        out[3 * i + 1] = clamp8(Y + ((-22554 * b - 46802 * r + 32768) >> 16));  /* .34414, .71414 */
        out[3 * i + 2] = clamp8(Y + ((116130 * b + 32768) >> 16));              /* 1.772   */
    }
}

fe_status fe__jpeg_to_image(const fe__jpeg *d, fe_image *img) {
    uint32_t w = d->width, h = d->height;
    int nc = d->ncomp;
    /* row buffers: upsampled output may be up to 2*wd wide (>= W) before cropping */
    size_t cap = (size_t)w + 64;
    for (int i = 0; i < nc; i++)
        if (2 * (size_t)d->comp[i].wd + 64 > cap) cap = 2 * (size_t)d->comp[i].wd + 64;
    uint8_t *buf = fe__malloc(cap * (size_t)nc);
    if (!buf) return fe__fail(FE_E_NOMEM, "cannot allocate JPEG row buffers");
    int rgb = d->rgb;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row[FE__JPEG_MAX_COMPS];
        for (int i = 0; i < nc; i++) row[i] = comp_row(d, &d->comp[i], y, buf + cap * (size_t)i);
        uint8_t *dst = img->data + (size_t)y * w * (size_t)nc;
        if (nc == 1) {
            memcpy(dst, row[0], w);
        } else if (rgb) {
            for (uint32_t x = 0; x < w; x++) {
                dst[3 * x] = row[0][x];
                dst[3 * x + 1] = row[1][x];
                dst[3 * x + 2] = row[2][x];
            }
        } else {
            d->k->ycc_rgb(row[0], row[1], row[2], w, dst);
        }
    }
    fe__free(buf);
    return FE_OK;
}
