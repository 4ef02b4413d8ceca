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
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define FE_INLINE static inline __attribute__((always_inline))
#else
#define FE_INLINE static inline
#endif

int fe__geom_simd(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    const char *k = getenv("FE_KERNEL");
    if (k && strcmp(k, "ref") == 0) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

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

/* Rounds half up. Every value interpolated here is a convex combination of 0..255 with
 * non-negative float weights, so it lies in [0, 255 + a few ulp]: truncating v + 0.5 is
 * floor(v + 0.5) and cannot leave 0..255, and no clamp (or branch) is needed. */
static inline uint8_t round_u8(float v) { return (uint8_t)(int)(v + 0.5f); }

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
    /* columns [i_lo, i_hi) read the image; those left of it lie left of the image (replicate:
     * its first pixel), those right of it right of the image (its last pixel) */
    int64_t i_lo = -(int64_t)x, i_hi = W - (int64_t)x;
    i_lo = i_lo < 0 ? 0 : i_lo > width ? width : i_lo;
    i_hi = i_hi < i_lo ? i_lo : i_hi > width ? width : i_hi;
    const int rep = border == FE_BORDER_REPLICATE;
    for (uint32_t j = 0; j < height; j++) {
        int64_t sy = (int64_t)y + j;
        if (rep) sy = sy < 0 ? 0 : sy >= H ? H - 1 : sy;
        uint8_t *d = dst->data + (size_t)j * width * C;
        if (sy < 0 || sy >= H) {  /* constant border, row outside */
            for (uint32_t i = 0; i < width; i++) memcpy(d + (size_t)i * C, fc, C);
            continue;
        }
        const uint8_t *srow = src->data + (size_t)sy * (size_t)W * C;
        for (int64_t i = 0; i < i_lo; i++) memcpy(d + i * C, rep ? srow : fc, C);
        if (i_hi > i_lo)
            memcpy(d + i_lo * C, srow + (size_t)((int64_t)x + i_lo) * C, (size_t)(i_hi - i_lo) * C);
        for (int64_t i = i_hi; i < (int64_t)width; i++)
            memcpy(d + i * C, rep ? srow + (size_t)(W - 1) * C : fc, C);
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

/* Separable: each needed source row is interpolated horizontally once into a float row
 * (top = a*(1-fx) + b*fx), then output rows blend two of them (top*(1-fy) + bot*fy); the
 * arithmetic per value is the same as a direct 4-tap evaluation. */
static void hrow_bilinear(const uint8_t *restrict row, const tap2 *restrict tx, uint32_t dw,
                          uint32_t C, float *restrict out) {
    for (uint32_t i = 0; i < dw; i++) {
        const uint8_t *a = row + (size_t)tx[i].i0 * C, *b = row + (size_t)tx[i].i1 * C;
        float fx = tx[i].f, gx = 1.0f - fx;
        for (uint32_t k = 0; k < C; k++) *out++ = (float)a[k] * gx + (float)b[k] * fx;
    }
}

static fe_status resize_bilinear(const fe_image *src, fe_image *dst) {
    const uint32_t C = src->channels, dw = dst->width, dh = dst->height;
    const size_t rowc = (size_t)dw * C;
    tap2 *tx = fe__malloc(sizeof *tx * dw), *ty = fe__malloc(sizeof *ty * dh);
    float *buf = fe__malloc(sizeof *buf * rowc * 2);
    if (!tx || !ty || !buf) {
        fe__free(tx);
        fe__free(ty);
        fe__free(buf);
        return fe__fail(FE_E_NOMEM, "cannot allocate resize tables");
    }
    bilinear_taps(src->width, dw, tx);
    bilinear_taps(src->height, dh, ty);
    const size_t stride = (size_t)src->width * C;
    const int simd = fe__geom_simd();
    float *slot[2] = {buf, buf + rowc};
    int64_t have[2] = {-1, -1};  /* source row held by each slot */
    for (uint32_t j = 0; j < dh; j++) {
        const float *r[2];
        for (int q = 0; q < 2; q++) {
            int64_t want = q ? ty[j].i1 : ty[j].i0, other = q ? ty[j].i0 : ty[j].i1;
            int sl = have[0] == want ? 0 : have[1] == want ? 1 : -1;
            if (sl < 0) {  /* load into the slot that does not hold the other needed row */
                sl = have[0] == other ? 1 : 0;
                hrow_bilinear(src->data + (size_t)want * stride, tx, dw, C, slot[sl]);
                have[sl] = want;
            }
            r[q] = slot[sl];
        }
        const float *restrict r0 = r[0], *restrict r1 = r[1];
        float fy = ty[j].f, gy = 1.0f - fy;
        uint8_t *restrict d = dst->data + (size_t)j * rowc;
        size_t k = simd ? fe__blend_rows_avx2(r0, r1, gy, fy, d, rowc) : 0;
        for (; k < rowc; k++) d[k] = round_u8(r0[k] * gy + r1[k] * fy);
    }
    fe__free(tx);
    fe__free(ty);
    fe__free(buf);
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

/* Horizontal step: out[i*C + k] = sum over the source columns of output column i of
 * weight * value. C is a compile-time constant at each call site. */
FE_INLINE void area_hrow(const uint8_t *restrict row, const span *restrict sx,
                         const uint32_t *restrict wx, uint32_t dw, uint32_t *restrict out,
                         const uint32_t C) {
    for (uint32_t i = 0; i < dw; i++) {
        const uint8_t *p = row + (size_t)sx[i].first * C;
        const uint32_t *w = wx + sx[i].w_off;
        /* scalar accumulators: the branches on the constant C fold away (a loop over k
         * with an array would stay in memory at -O2) */
        uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (uint32_t r = 0; r < sx[i].count; r++, p += C) {
            uint32_t wr = w[r];
            a0 += wr * p[0];
            if (C > 1) a1 += wr * p[1];
            if (C > 2) a2 += wr * p[2];
            if (C > 3) a3 += wr * p[3];
        }
        uint32_t *o = out + (size_t)i * C;
        o[0] = a0;
        if (C > 1) o[1] = a1;
        if (C > 2) o[2] = a2;
        if (C > 3) o[3] = a3;
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
    const uint64_t D = (uint64_t)sw * sh, D2 = 2 * D;
    const double inv2D = 1.0 / (double)D2;
    int64_t have = -1;  /* source row whose horizontal sums hrow holds: a row on the boundary
                           of two output rows is summed once */
    for (uint32_t j = 0; j < dh; j++) {
        memset(acc, 0, sizeof *acc * rowc);
        for (uint32_t q = 0; q < sy[j].count; q++) {
            uint32_t r = sy[j].first + q;
            if (have != (int64_t)r) {
                const uint8_t *row = src->data + (size_t)r * sw * C;
                switch (C) {
                case 1: area_hrow(row, sx, wx, dw, hrow, 1); break;
                case 2: area_hrow(row, sx, wx, dw, hrow, 2); break;
                case 3: area_hrow(row, sx, wx, dw, hrow, 3); break;
                default: area_hrow(row, sx, wx, dw, hrow, 4); break;
                }
                have = r;
            }
            uint64_t wyq = wy[sy[j].w_off + q];
            for (size_t k = 0; k < rowc; k++) acc[k] += wyq * hrow[k];
        }
        /* floor((2*acc + D) / 2D) without a 64-bit division per value: the reciprocal product
         * is within a few ulp of the quotient (at most 255.5), so its truncation is off by at
         * most one; two integer checks make it exact */
        uint8_t *d = dst->data + (size_t)j * rowc;
        for (size_t k = 0; k < rowc; k++) {
            uint64_t num = 2 * acc[k] + D;
            uint64_t q = (uint64_t)((double)num * inv2D);
            if (q * D2 > num) q--;
            if ((q + 1) * D2 <= num) q++;
            d[k] = (uint8_t)q;
        }
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

/* One bilinear sample with all four neighbours inside (x0 = (int)sx since sx >= 0). The
 * channel count is a compile-time constant at each call site, so the loop unrolls. */
FE_INLINE void sample_inside(const uint8_t *restrict data, size_t stride, double sx, double sy,
                             uint8_t *restrict d, const uint32_t C) {
    size_t x0 = (size_t)sx, y0 = (size_t)sy;
    float fx = (float)(sx - (double)x0), fy = (float)(sy - (double)y0);
    float gx = 1.0f - fx, gy = 1.0f - fy;
    const uint8_t *a = data + y0 * stride + x0 * C, *c = a + stride;
#define FE_BILERP_(k)                                                                    \
    d[k] = round_u8(((float)a[k] * gx + (float)a[(k) + C] * fx) * gy +                      \
                    ((float)c[k] * gx + (float)c[(k) + C] * fx) * fy)
    /* spelled out per channel: the branches on the constant C fold away */
    FE_BILERP_(0);
    if (C > 1) FE_BILERP_(1);
    if (C > 2) FE_BILERP_(2);
    if (C > 3) FE_BILERP_(3);
#undef FE_BILERP_
}

FE_INLINE void span_inside(const fe_image *src, double bx, double by, double ax, double ay,
                           uint32_t x_lo, uint32_t x_hi, uint8_t *d, const uint32_t C) {
    const size_t stride = (size_t)src->width * C;
    for (uint32_t x = x_lo; x <= x_hi; x++, d += C)
        sample_inside(src->data, stride, ax * x + bx, ay * x + by, d, C);
}

/* A sample near or beyond the edge: each neighbour is read from the image, clamped
 * (replicate) or the fill (constant). */
static void sample_edge(const fe_image *src, double sx, double sy, fe_border border,
                        const uint8_t *fc, uint8_t *d) {
    const uint32_t C = src->channels;
    const int64_t W = src->width, H = src->height;
    const size_t stride = (size_t)W * C;
    if (border == FE_BORDER_REPLICATE) {
        /* clamping the coordinate == clamping every neighbour index */
        sx = sx > 0 ? (sx < (double)(W - 1) ? sx : (double)(W - 1)) : 0;
        sy = sy > 0 ? (sy < (double)(H - 1) ? sy : (double)(H - 1)) : 0;
    } else if (!(sx > -1.0 && sx < (double)W && sy > -1.0 && sy < (double)H)) {
        memcpy(d, fc, C);  /* all four neighbours outside (or NaN) */
        return;
    }
    double flx = floor(sx), fly = floor(sy);
    int64_t x0 = (int64_t)flx, y0 = (int64_t)fly;
    float fx = (float)(sx - flx), fy = (float)(sy - fly), gx = 1.0f - fx, gy = 1.0f - fy;
    const uint8_t *p[4];
    for (int q = 0; q < 4; q++) {
        int64_t xi = x0 + (q & 1), yi = y0 + (q >> 1);
        if (border == FE_BORDER_REPLICATE) {
            xi = xi < 0 ? 0 : xi >= W ? W - 1 : xi;
            yi = yi < 0 ? 0 : yi >= H ? H - 1 : yi;
        }
        p[q] = xi >= 0 && xi < W && yi >= 0 && yi < H ? src->data + (size_t)yi * stride + (size_t)xi * C
                                                      : NULL;
    }
    for (uint32_t k = 0; k < C; k++) {
        float v[4];
        for (int q = 0; q < 4; q++) v[q] = p[q] ? (float)p[q][k] : (float)fc[k];
        float top = v[0] * gx + v[1] * fx;
        float bot = v[2] * gx + v[3] * fx;
        d[k] = round_u8(top * gy + bot * fy);
    }
}

/* Is the sample at x fully inside: 0 <= s < L for both coordinates (so x0 + 1 <= W - 1)? */
static int inside_at(double bx, double ax, double by, double ay, double Lx, double Ly, int64_t x) {
    double sx = ax * (double)x + bx, sy = ay * (double)x + by;
    return sx >= 0 && sx < Lx && sy >= 0 && sy < Ly;
}

/* Narrows [*lo, *hi] to the x with 0 <= b + a*x < L (an interval: the map is linear). */
static void clip_interval(double b, double a, double L, double *lo, double *hi) {
    if (a == 0) {
        if (!(b >= 0 && b < L)) *lo = 1, *hi = 0;
        return;
    }
    double e1 = (0 - b) / a, e2 = (L - b) / a;
    if (e1 > e2) { double t = e1; e1 = e2; e2 = t; }
    if (e1 > *lo) *lo = e1;
    if (e2 < *hi) *hi = e2;
}

void fe__warp_affine_inv(const fe_image *src, const double inv[6], fe_image *dst,
                         fe_border border, const uint8_t *fill) {
    const uint32_t C = src->channels, w = dst->width;
    uint8_t fc[4] = {0, 0, 0, 0};
    if (fill) memcpy(fc, fill, C);
    const double Lx = (double)src->width - 1, Ly = (double)src->height - 1;
    const int simd = (C == 3 || C == 4) && fe__geom_simd();
    for (uint32_t y = 0; y < dst->height; y++) {
        /* source coordinates of pixel x of this row: (ax*x + bx, ay*x + by), used verbatim by
         * every path so the interior test and the samples agree bit for bit */
        const double ax = inv[0], ay = inv[3], bx = inv[1] * y + inv[2], by = inv[4] * y + inv[5];
        uint8_t *d = dst->data + (size_t)y * w * C;
        /* the interior span, estimated in closed form, then made exact at its ends */
        double lo = 0, hi = (double)w - 1;
        clip_interval(bx, ax, Lx, &lo, &hi);
        clip_interval(by, ay, Ly, &lo, &hi);
        int64_t x_lo = 1, x_hi = 0;
        if (lo <= hi + 2) {
            x_lo = (int64_t)fmax(0.0, ceil(lo) - 1);
            x_hi = (int64_t)fmin((double)w - 1, floor(hi) + 1);
            while (x_lo <= x_hi && !inside_at(bx, ax, by, ay, Lx, Ly, x_lo)) x_lo++;
            while (x_hi >= x_lo && !inside_at(bx, ax, by, ay, Lx, Ly, x_hi)) x_hi--;
        }
        if (x_lo > x_hi) x_lo = w, x_hi = (int64_t)w - 1;  /* no interior: all edge samples */
        for (int64_t x = 0; x < x_lo; x++)
            sample_edge(src, ax * (double)x + bx, ay * (double)x + by, border, fc, d + x * C);
        if (x_lo <= x_hi) {
            uint32_t a = (uint32_t)x_lo, b = (uint32_t)x_hi;
            if (simd) a = fe__warp_span_avx2(src, ax, bx, ay, by, a, b, d + (size_t)a * C);
            uint8_t *dd = d + (size_t)a * C;
            if (a <= b) switch (C) {
                case 1: span_inside(src, bx, by, ax, ay, a, b, dd, 1); break;
                case 3: span_inside(src, bx, by, ax, ay, a, b, dd, 3); break;
                case 4: span_inside(src, bx, by, ax, ay, a, b, dd, 4); break;
                default: span_inside(src, bx, by, ax, ay, a, b, dd, 2); break;
                }
        }
        for (int64_t x = x_hi + 1; x < (int64_t)w; x++)
            sample_edge(src, ax * (double)x + bx, ay * (double)x + by, border, fc, d + x * C);
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
