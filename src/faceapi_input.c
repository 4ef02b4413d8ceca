/*
 * faceapi_input.c — what face-api feeds the network when an image is not a 150x150 chip
 * (faceres.md §2, FaceRecognitionNet.forwardInput -> toBatchTensor(150, centred)):
 * padToSquare with zeros, round(diff/2) rows or columns *after* the image (JS Math.round:
 * halves round up) and the rest before, then tf.image.resizeBilinear(alignCorners=false,
 * halfPixelCenters=false), the legacy sampling src = dst * in/out with no half-pixel offset.
 * The padded square is never built: samples outside the image read as 0. Values stay float
 * (0..255, fractional after the resize), as in the reference.
 */
#include "net.h"

#include <math.h>

/* A virtual source: the stored image placed at (off_y, off_x) in a zero side x side square. */
typedef struct vsrc {
    const uint8_t *u8;          /* one of these */
    const float   *f32;
    size_t         h, w, ch;    /* stored image */
    size_t         oc;          /* channels produced */
    size_t         off_y, off_x;
} vsrc;

static inline double sample(const vsrc *s, size_t y, size_t x, size_t c) {
    if (y < s->off_y || x < s->off_x) return 0.0;
    y -= s->off_y;
    x -= s->off_x;
    if (y >= s->h || x >= s->w) return 0.0;
    size_t sc = s->ch >= s->oc ? c : 0;   /* gray (+alpha) replicated, alpha dropped */
    size_t i = (y * s->w + x) * s->ch + sc;
    return s->u8 ? (double)s->u8[i] : (double)s->f32[i];
}

/* Legacy resize of the sh x sw virtual source to dh x dw (tfjs-backend-cpu's formula). */
static void resize(const vsrc *s, size_t sh, size_t sw, float *dst, size_t dh, size_t dw) {
    const double ry = (double)sh / (double)dh, rx = (double)sw / (double)dw;
    for (size_t r = 0; r < dh; r++) {
        double fy = ry * (double)r;
        size_t y0 = (size_t)floor(fy), y1 = (size_t)ceil(fy);
        if (y1 > sh - 1) y1 = sh - 1;
        double wy = fy - (double)y0;
        for (size_t col = 0; col < dw; col++) {
            double fx = rx * (double)col;
            size_t x0 = (size_t)floor(fx), x1 = (size_t)ceil(fx);
            if (x1 > sw - 1) x1 = sw - 1;
            double wx = fx - (double)x0;
            for (size_t c = 0; c < s->oc; c++) {
                double tl = sample(s, y0, x0, c), tr = sample(s, y0, x1, c);
                double bl = sample(s, y1, x0, c), br = sample(s, y1, x1, c);
                double top = tl + (tr - tl) * wx;
                double bottom = bl + (br - bl) * wx;
                dst[(r * dw + col) * s->oc + c] = (float)(top + (bottom - top) * wy);
            }
        }
    }
}

void fe__resize_bilinear_legacy(const float *src, size_t sh, size_t sw, size_t ch, float *dst,
                                size_t dh, size_t dw) {
    vsrc s = {NULL, src, sh, sw, ch, ch, 0, 0};
    resize(&s, sh, sw, dst, dh, dw);
}

fe_status fe__faceapi_input(const fe_image *img, float *out) {
    if (!img || !img->data || !out) return fe__fail(FE_E_ARG, "image or output is NULL");
    if (img->width == 0 || img->height == 0 || img->channels < 1 || img->channels > 4 ||
        img->width > FE_MAX_IMAGE_DIM || img->height > FE_MAX_IMAGE_DIM)
        return fe__fail(FE_E_ARG, "bad image %ux%ux%u", img->width, img->height, img->channels);
    size_t h = img->height, w = img->width;
    size_t side = h > w ? h : w, diff = side - (h < w ? h : w);
    size_t after = (diff + 1) / 2;          /* Math.round(diff / 2): x.5 rounds up */
    size_t before = diff - after;
    vsrc s = {img->data, NULL, h, w, img->channels, 3, h < w ? before : 0, w < h ? before : 0};
    if (side == FE_CHIP_SIZE) {
        /* already 150 after padding: toBatchTensor skips the resize */
        for (size_t y = 0; y < side; y++)
            for (size_t x = 0; x < side; x++)
                for (size_t c = 0; c < 3; c++)
                    out[(y * side + x) * 3 + c] = (float)sample(&s, y, x, c);
        return FE_OK;
    }
    resize(&s, side, side, out, FE_CHIP_SIZE, FE_CHIP_SIZE);
    return FE_OK;
}
