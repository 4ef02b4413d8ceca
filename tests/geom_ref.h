/*
 * geom_ref.h — straightforward double-precision references for the geometry tests
 * (test_geom.c, test_align.c): written independently of src/image_geom.c, from the documented
 * rules only (pixel centres at integers, bilinear, border rules, round half up).
 */
#ifndef FE_GEOM_REF_H
#define FE_GEOM_REF_H

#include "test.h"

#include <string.h>

static inline fe_image *make_image(uint32_t w, uint32_t h, uint32_t c, const uint8_t *px) {
    fe_image *img;
    if (fe_image_create(w, h, c, &img) != FE_OK) return NULL;
    if (px) memcpy(img->data, px, (size_t)w * h * c);
    return img;
}

static inline uint8_t round_ref(double v) {
    double r = floor(v + 0.5);
    return (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
}

/* Reference pixel fetch with the documented border rules. */
static inline double ref_px(const fe_image *s, int64_t x, int64_t y, uint32_t k, fe_border b, const uint8_t *fill) {
    if (b == FE_BORDER_REPLICATE) {
        x = x < 0 ? 0 : x >= s->width ? s->width - 1 : x;
        y = y < 0 ? 0 : y >= s->height ? s->height - 1 : y;
    }
    if (x < 0 || y < 0 || x >= s->width || y >= s->height) return fill ? fill[k] : 0;
    return s->data[((size_t)y * s->width + (size_t)x) * s->channels + k];
}

static inline double ref_bilinear(const fe_image *s, double sx, double sy, uint32_t k, fe_border b,
                           const uint8_t *fill) {
    if (b == FE_BORDER_REPLICATE) {
        sx = fmin(fmax(sx, 0), s->width - 1.0);
        sy = fmin(fmax(sy, 0), s->height - 1.0);
    }
    if (sx <= -1 || sy <= -1 || sx >= s->width || sy >= s->height) return fill ? fill[k] : 0;
    double x0 = floor(sx), y0 = floor(sy), fx = sx - x0, fy = sy - y0;
    int64_t ix = (int64_t)x0, iy = (int64_t)y0;
    return (1 - fy) * ((1 - fx) * ref_px(s, ix, iy, k, b, fill) + fx * ref_px(s, ix + 1, iy, k, b, fill)) +
           fy * ((1 - fx) * ref_px(s, ix, iy + 1, k, b, fill) + fx * ref_px(s, ix + 1, iy + 1, k, b, fill));
}

/* Reference warp: solve the 2x2 system per pixel by Cramer's rule (no precomputed inverse). */
static inline fe_image *ref_warp(const fe_image *s, const double m[6], uint32_t w, uint32_t h, fe_border b,
                          const uint8_t *fill) {
    fe_image *d = make_image(w, h, s->channels, NULL);
    if (!d) return NULL;
    double det = m[0] * m[4] - m[1] * m[3];
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double rx = x - m[2], ry = y - m[5];
            double sx = (rx * m[4] - m[1] * ry) / det, sy = (m[0] * ry - m[3] * rx) / det;
            for (uint32_t k = 0; k < s->channels; k++)
                d->data[((size_t)y * w + x) * s->channels + k] = round_ref(ref_bilinear(s, sx, sy, k, b, fill));
        }
    return d;
}

typedef struct cmp { int max_diff; size_t n_diff, n; } cmp;
static inline cmp compare(const fe_image *a, const fe_image *b) {
    cmp r = {0, 0, 0};
    if (a->width != b->width || a->height != b->height || a->channels != b->channels) {
        r.max_diff = 999;
        return r;
    }
    r.n = (size_t)a->width * a->height * a->channels;
    for (size_t i = 0; i < r.n; i++) {
        int d = abs((int)a->data[i] - (int)b->data[i]);
        if (d > r.max_diff) r.max_diff = d;
        r.n_diff += d != 0;
    }
    return r;
}

#endif
