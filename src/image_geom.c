/*
 * image_geom.c — crop, resize (bilinear, exact area), rotation and affine warps of 8-bit
 * images with 1-4 interleaved channels.
 *
 * Conventions (also in faceemd.h): pixel (i, j) has its centre at (i, j); bilinear values are
 * computed in float and rounded half up, clamped to 0..255; the area filter is exact integer
 * arithmetic (weights are coverages in units of 1/dst_size of a source pixel), so its results
 * do not depend on the platform's floating point. Border rules: fe_border.
 */
#include "geom.h"
#include "image_codecs.h"

#include <math.h>
#include <string.h>

fe_status fe__check_image(const fe_image *img, const char *what) {
    if (!img || !img->data) return fe__fail(FE_E_ARG, "%s is NULL", what);
    if (img->width == 0 || img->height == 0 || img->channels < 1 || img->channels > 4 ||
        img->width > FE_MAX_IMAGE_DIM || img->height > FE_MAX_IMAGE_DIM ||
        (uint64_t)img->width * img->height > FE_MAX_IMAGE_PIXELS)
        return fe__fail(FE_E_ARG, "%s is malformed (%ux%ux%u)", what, img->width, img->height,
                        img->channels);
    return FE_OK;
}

static fe_status check_border(fe_border border) {
    if (border != FE_BORDER_CONSTANT && border != FE_BORDER_REPLICATE)
        return fe__fail(FE_E_ARG, "unknown border rule %d", (int)border);
    return FE_OK;
}

/* Rounds half up and clamps; v is a convex combination of 0..255 values, so only float
 * noise can push it outside. */
static inline uint8_t round_u8(float v) {
    v += 0.5f;
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)v;
}

/* ---- crop --------------------------------------------------------------------------------- */

fe_status fe_image_crop(const fe_image *src, int32_t x, int32_t y, uint32_t width, uint32_t height,
                        fe_border border, const uint8_t *fill, fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    *out_image = NULL;
    fe_status st = fe__check_image(src, "src");
    if (st == FE_OK) st = check_border(border);
    if (st != FE_OK) return st;
    fe_image *dst;
    if ((st = fe__image_new(width, height, src->channels, &dst)) != FE_OK) return st;
    const int64_t W = src->width, H = src->height;
    const uint32_t C = src->channels;
    uint8_t fc[4] = {0, 0, 0, 0};
    if (fill) memcpy(fc, fill, C);
    for (uint32_t j = 0; j < height; j++) {
        int64_t sy = (int64_t)y + j;
        if (border == FE_BORDER_REPLICATE) sy = sy < 0 ? 0 : sy >= H ? H - 1 : sy;
        uint8_t *d = dst->data + (size_t)j * width * C;
        const uint8_t *srow = sy >= 0 && sy < H ? src->data + (size_t)sy * (size_t)W * C : NULL;
        for (uint32_t i = 0; i < width; i++, d += C) {
            int64_t sx = (int64_t)x + i;
            if (border == FE_BORDER_REPLICATE) sx = sx < 0 ? 0 : sx >= W ? W - 1 : sx;
            if (srow && sx >= 0 && sx < W) memcpy(d, srow + (size_t)sx * C, C);
            else memcpy(d, fc, C);
        }
    }
    *out_image = dst;
    return FE_OK;
}

/* ---- resize: bilinear ------------------------------------------------------------------- */

/* Per output index: the two source indices and the weight of the second. Half-pixel
 * centres, clamped to the edge pixels (so upscaling replicates the border, as usual). */
typedef struct tap2 { uint32_t i0, i1; float f; } tap2;

static void bilinear_taps(uint32_t sn, uint32_t dn, tap2 *t) {
    double scale = (double)sn / (double)dn;
    for (uint32_t d = 0; d < dn; d++) {
        double s = ((double)d + 0.5) * scale - 0.5;
        if (s < 0) s = 0;
        if (s > (double)(sn - 1)) s = (double)(sn - 1);
        uint32_t i0 = (uint32_t)s;
        t[d].i0 = i0;
        t[d].i1 = i0 + 1 < sn ? i0 + 1 : sn - 1;
        t[d].f = (float)(s - (double)i0);
    }
}

static fe_status resize_bilinear(const fe_image *src, fe_image *dst) {
    const uint32_t C = src->channels, dw = dst->width, dh = dst->height;
    tap2 *tx = fe__malloc(sizeof *tx * dw), *ty = fe__malloc(sizeof *ty * dh);
    if (!tx || !ty) {
        fe__free(tx);
        fe__free(ty);
        return fe__fail(FE_E_NOMEM, "cannot allocate resize tables");
    }
    bilinear_taps(src->width, dw, tx);
    bilinear_taps(src->height, dh, ty);
    const size_t stride = (size_t)src->width * C;
    for (uint32_t j = 0; j < dh; j++) {
        const uint8_t *r0 = src->data + ty[j].i0 * stride, *r1 = src->data + ty[j].i1 * stride;
        float fy = ty[j].f;
        uint8_t *d = dst->data + (size_t)j * dw * C;
        for (uint32_t i = 0; i < dw; i++) {
            const uint8_t *a = r0 + (size_t)tx[i].i0 * C, *b = r0 + (size_t)tx[i].i1 * C;
            const uint8_t *c = r1 + (size_t)tx[i].i0 * C, *e = r1 + (size_t)tx[i].i1 * C;
            float fx = tx[i].f;
            for (uint32_t k = 0; k < C; k++) {
                float top = (float)a[k] * (1.0f - fx) + (float)b[k] * fx;
                float bot = (float)c[k] * (1.0f - fx) + (float)e[k] * fx;
                *d++ = round_u8(top * (1.0f - fy) + bot * fy);
            }
        }
    }
    fe__free(tx);
    fe__free(ty);
    return FE_OK;
}

/* ---- resize: exact area ----------------------------------------------------------------- */

/* On a fine grid where source pixel s covers [s*dn, (s+1)*dn) and output pixel d covers
 * [d*sn, (d+1)*sn), the weight of s in d is the integer length of the overlap; the weights
 * of one output pixel sum to sn. At most sn + dn weights in all. */
typedef struct span { uint32_t first, count, w_off; } span;

static void area_spans(uint32_t sn, uint32_t dn, span *sp, uint32_t *w) {
    uint32_t n = 0;
    for (uint32_t d = 0; d < dn; d++) {
        uint64_t lo = (uint64_t)d * sn, hi = lo + sn;
        uint32_t first = (uint32_t)(lo / dn), last = (uint32_t)((hi - 1) / dn);
        sp[d].first = first;
        sp[d].count = last - first + 1;
        sp[d].w_off = n;
        for (uint32_t s = first; s <= last; s++) {
            uint64_t a = (uint64_t)s * dn, b = a + dn;
            w[n++] = (uint32_t)((hi < b ? hi : b) - (lo > a ? lo : a));
        }
    }
}

static fe_status resize_area(const fe_image *src, fe_image *dst) {
    const uint32_t C = src->channels, sw = src->width, sh = src->height;
    const uint32_t dw = dst->width, dh = dst->height;
    const size_t rowc = (size_t)dw * C;
    span *sx = fe__malloc(sizeof *sx * dw), *sy = fe__malloc(sizeof *sy * dh);
    uint32_t *wx = fe__malloc(sizeof *wx * ((size_t)sw + dw));
    uint32_t *wy = fe__malloc(sizeof *wy * ((size_t)sh + dh));
    uint32_t *hrow = fe__malloc(sizeof *hrow * rowc);
    uint64_t *acc = fe__malloc(sizeof *acc * rowc);
    fe_status st = FE_OK;
    if (!sx || !sy || !wx || !wy || !hrow || !acc) {
        st = fe__fail(FE_E_NOMEM, "cannot allocate area-resize buffers");
        goto done;
    }
    area_spans(sw, dw, sx, wx);
    area_spans(sh, dh, sy, wy);
    /* Sums: a horizontal sum is at most 255*sw < 2^32; the full sum at most
     * 255*sw*sh < 2^37. D = sw*sh is the total weight; round half up exactly. */
    const uint64_t D = (uint64_t)sw * sh;
    for (uint32_t j = 0; j < dh; j++) {
        memset(acc, 0, sizeof *acc * rowc);
        for (uint32_t q = 0; q < sy[j].count; q++) {
            const uint8_t *row = src->data + (size_t)(sy[j].first + q) * sw * C;
            uint64_t wyq = wy[sy[j].w_off + q];
            for (uint32_t i = 0; i < dw; i++) {
                const uint8_t *p = row + (size_t)sx[i].first * C;
                const uint32_t *w = wx + sx[i].w_off;
                for (uint32_t k = 0; k < C; k++) {
                    uint32_t s = 0;
                    for (uint32_t r = 0; r < sx[i].count; r++) s += w[r] * p[(size_t)r * C + k];
                    hrow[(size_t)i * C + k] = s;
                }
            }
            for (size_t k = 0; k < rowc; k++) acc[k] += wyq * hrow[k];
        }
        uint8_t *d = dst->data + (size_t)j * rowc;
        for (size_t k = 0; k < rowc; k++) d[k] = (uint8_t)((2 * acc[k] + D) / (2 * D));
    }
done:
    fe__free(sx);
    fe__free(sy);
    fe__free(wx);
    fe__free(wy);
    fe__free(hrow);
    fe__free(acc);
    return st;
}

fe_status fe_image_resize(const fe_image *src, uint32_t width, uint32_t height,
                          fe_resize_filter filter, fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    *out_image = NULL;
    fe_status st = fe__check_image(src, "src");
    if (st != FE_OK) return st;
    if (filter == FE_RESIZE_AUTO)
        filter = width <= src->width && height <= src->height ? FE_RESIZE_AREA : FE_RESIZE_BILINEAR;
    if (filter != FE_RESIZE_BILINEAR && filter != FE_RESIZE_AREA)
        return fe__fail(FE_E_ARG, "unknown resize filter %d", (int)filter);
    fe_image *dst;
    if ((st = fe__image_new(width, height, src->channels, &dst)) != FE_OK) return st;
    st = filter == FE_RESIZE_AREA ? resize_area(src, dst) : resize_bilinear(src, dst);
    if (st != FE_OK) {
        fe_image_free(dst);
        return st;
    }
    *out_image = dst;
    return FE_OK;
}

/* ---- affine warps ----------------------------------------------------------------------- */

int fe__affine_invert(const double m[6], double inv[6]) {
    for (int k = 0; k < 6; k++)
        if (!isfinite(m[k])) return 0;
    double det = m[0] * m[4] - m[1] * m[3];
    if (!isfinite(det) || fabs(det) < 1e-12) return 0;
    double r[6] = {m[4] / det, -m[1] / det, (m[1] * m[5] - m[4] * m[2]) / det,
                   -m[3] / det, m[0] / det, (m[3] * m[2] - m[0] * m[5]) / det};
    for (int k = 0; k < 6; k++)
        if (!isfinite(r[k])) return 0;
    memcpy(inv, r, sizeof r);
    return 1;
}

void fe__affine_compose(const double a[6], const double b[6], double out[6]) {
    double r[6] = {a[0] * b[0] + a[1] * b[3], a[0] * b[1] + a[1] * b[4], a[0] * b[2] + a[1] * b[5] + a[2],
                   a[3] * b[0] + a[4] * b[3], a[3] * b[1] + a[4] * b[4], a[3] * b[2] + a[4] * b[5] + a[5]};
    memcpy(out, r, sizeof r);
}

void fe__warp_affine_inv(const fe_image *src, const double inv[6], fe_image *dst,
                         fe_border border, const uint8_t *fill) {
    const uint32_t C = src->channels;
    const int64_t W = src->width, H = src->height;
    const size_t stride = (size_t)W * C;
    uint8_t fc[4] = {0, 0, 0, 0};
    if (fill) memcpy(fc, fill, C);
    const float fillf[4] = {fc[0], fc[1], fc[2], fc[3]};
    uint8_t *d = dst->data;
    for (uint32_t y = 0; y < dst->height; y++) {
        for (uint32_t x = 0; x < dst->width; x++, d += C) {
            double sx = inv[0] * x + inv[1] * y + inv[2];
            double sy = inv[3] * x + inv[4] * y + inv[5];
            if (border == FE_BORDER_REPLICATE) {
                /* clamping the coordinate == clamping every neighbour index */
                sx = sx > 0 ? (sx < (double)(W - 1) ? sx : (double)(W - 1)) : 0;
                sy = sy > 0 ? (sy < (double)(H - 1) ? sy : (double)(H - 1)) : 0;
            } else if (!(sx > -1.0 && sx < (double)W && sy > -1.0 && sy < (double)H)) {
                memcpy(d, fc, C);  /* all four neighbours outside (or NaN) */
                continue;
            }
            double flx = floor(sx), fly = floor(sy);
            int64_t x0 = (int64_t)flx, y0 = (int64_t)fly;
            float fx = (float)(sx - flx), fy = (float)(sy - fly);
            if (x0 >= 0 && x0 + 1 < W && y0 >= 0 && y0 + 1 < H) {
                const uint8_t *a = src->data + (size_t)y0 * stride + (size_t)x0 * C;
                const uint8_t *c = a + stride;
                for (uint32_t k = 0; k < C; k++) {
                    float top = (float)a[k] * (1.0f - fx) + (float)a[k + C] * fx;
                    float bot = (float)c[k] * (1.0f - fx) + (float)c[k + C] * fx;
                    d[k] = round_u8(top * (1.0f - fy) + bot * fy);
                }
                continue;
            }
            /* at the edge: each neighbour is read from the image, or clamped, or the fill */
            const uint8_t *p[4];
            int64_t xs[2] = {x0, x0 + 1}, ys[2] = {y0, y0 + 1};
            for (int q = 0; q < 4; q++) {
                int64_t xi = xs[q & 1], yi = ys[q >> 1];
                if (border == FE_BORDER_REPLICATE) {
                    xi = xi < 0 ? 0 : xi >= W ? W - 1 : xi;
                    yi = yi < 0 ? 0 : yi >= H ? H - 1 : yi;
                }
                p[q] = xi >= 0 && xi < W && yi >= 0 && yi < H
                           ? src->data + (size_t)yi * stride + (size_t)xi * C : NULL;
            }
            for (uint32_t k = 0; k < C; k++) {
                float v[4];
                for (int q = 0; q < 4; q++) v[q] = p[q] ? (float)p[q][k] : fillf[k];
                float top = v[0] * (1.0f - fx) + v[1] * fx;
                float bot = v[2] * (1.0f - fx) + v[3] * fx;
                d[k] = round_u8(top * (1.0f - fy) + bot * fy);
            }
        }
    }
}

fe_status fe_image_warp_affine(const fe_image *src, const double m[6], uint32_t width,
                               uint32_t height, fe_border border, const uint8_t *fill,
                               fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    *out_image = NULL;
    fe_status st = fe__check_image(src, "src");
    if (st == FE_OK) st = check_border(border);
    if (st != FE_OK) return st;
    if (!m) return fe__fail(FE_E_ARG, "matrix is NULL");
    double inv[6];
    if (!fe__affine_invert(m, inv))
        return fe__fail(FE_E_NUMERIC, "affine map [%g %g %g; %g %g %g] is not finite or not invertible",
                        m[0], m[1], m[2], m[3], m[4], m[5]);
    fe_image *dst;
    if ((st = fe__image_new(width, height, src->channels, &dst)) != FE_OK) return st;
    fe__warp_affine_inv(src, inv, dst, border, fill);
    *out_image = dst;
    return FE_OK;
}

fe_status fe_image_rotate(const fe_image *src, double cx, double cy, double angle_deg,
                          fe_border border, const uint8_t *fill, fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    *out_image = NULL;
    if (!isfinite(cx) || !isfinite(cy) || !isfinite(angle_deg) || fabs(angle_deg) > 1e6)
        return fe__fail(FE_E_NUMERIC, "rotation centre or angle is not finite");
    fe_status st = fe__check_image(src, "src");
    if (st != FE_OK) return st;
    /* y points down, so "counter-clockwise as displayed" takes (1, 0) towards (cos, -sin) */
    double t = fmod(angle_deg, 360.0) * (3.14159265358979323846 / 180.0);
    double c = cos(t), s = sin(t);
    double m[6] = {c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy};
    return fe_image_warp_affine(src, m, src->width, src->height, border, fill, out_image);
}
