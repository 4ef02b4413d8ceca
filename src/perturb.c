/*
 * perturb.c — seeded OOD query generators on aligned 150x150 chips (issue 5, item 1): mask,
 * sunglasses, crop70 (the paper's three query sets, ../shared/design/METHOD.md "OOD queries")
 * and the stress tests rotate, occlude, blur, noise, lowres. Kinds are described in faceemd.h.
 *
 * Determinism: one PRNG stream per (seed, kind), splitmix64 (Steele, Lea & Flood 2014); all
 * geometry uses draw.c's own sin/cos/exp, so the bytes depend on nothing but the inputs.
 * Shapes are built in a face frame: origin at the eye midpoint, u along the eye line, v
 * perpendicular towards the mouth, both in units of the eye distance d.
 */
#include "draw.h"
#include "image_codecs.h"

#include <math.h>
#include <string.h>

#define CHIP FE_CHIP_SIZE

static const char *const kind_names[FE_PERTURB_KIND_COUNT] = {
    "clean", "mask", "sunglasses", "crop70", "rotate", "occlude", "blur", "noise", "lowres"};

const char *fe_perturb_kind_name(fe_perturb_kind kind) {
    return (unsigned)kind < FE_PERTURB_KIND_COUNT ? kind_names[kind] : NULL;
}

fe_status fe_perturb_kind_from_name(const char *name, fe_perturb_kind *out_kind) {
    if (!out_kind) return fe__fail(FE_E_ARG, "out_kind is NULL");
    *out_kind = FE_PERTURB_CLEAN;
    if (!name) return fe__fail(FE_E_ARG, "kind name is NULL");
    for (int k = 0; k < FE_PERTURB_KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *out_kind = (fe_perturb_kind)k;
            return FE_OK;
        }
    return fe__fail(FE_E_ARG,
                    "unknown perturbation '%.40s' (kinds: clean, mask, sunglasses, crop70, rotate, "
                    "occlude, blur, noise, lowres)", name);
}

/* ======================================================================================== */
/* PRNG: splitmix64                                                                         */
/* ======================================================================================== */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* The stream of one (seed, kind): kinds get unrelated streams for the same seed. */
static rng rng_for(uint64_t seed, fe_perturb_kind kind) {
    rng r = {seed ^ (UINT64_C(0xD1B54A32D192ED03) * (uint64_t)(kind + 1))};
    return r;
}

/* uniform in [0, 1) with 53 random bits */
static double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }
static double rng_range(rng *r, double lo, double hi) { return lo + (hi - lo) * rng_unit(r); }
/* uniform integer in [0, n), n >= 1 (bias below 2^-40 for the small n used here) */
static uint32_t rng_below(rng *r, uint32_t n) { return (uint32_t)(rng_unit(r) * n); }

/* Standard normal, approximated by Irwin-Hall: the sum of 12 uniforms minus 6 (mean 0,
 * variance 1, tails cut at +-6). Integer arithmetic on 16-bit lanes of three outputs, so it
 * is exact and cheap. */
static float rng_gauss(rng *r) {
    uint32_t sum = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t x = rng_next(r);
        sum += (uint32_t)(x & 0xFFFF) + (uint32_t)((x >> 16) & 0xFFFF) +
               (uint32_t)((x >> 32) & 0xFFFF) + (uint32_t)(x >> 48);
    }
    /* each lane u = (k + 0.5) / 65536; sum of 12 u - 6 = (sum + 6 - 6 * 65536) / 65536 */
    return (float)(((double)sum + 6.0 - 393216.0) / 65536.0);
}

/* ======================================================================================== */
/* Small helpers                                                                            */
/* ======================================================================================== */

/* floor(v + 0.5) clamped to 0..255; for v + 0.5 > 0 truncation is floor, and it avoids a
 * libm call (SSE2 has no floor instruction). NaN gives 0. */
static inline uint8_t round_u8(float v) {
    v += 0.5f;
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)v;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- PRIVATE GEOMETRY -------------------------------------------------------------------
 * The few sampling routines the generators need, kept here so this file does not depend on
 * src/image_geom.c (branch geom) yet. They follow its conventions (pixel centres at integer
 * coordinates, float bilinear rounded half up, edge pixels replicated) and can be replaced
 * by fe_image_crop / fe_image_resize(FE_RESIZE_BILINEAR) / fe_image_rotate once it lands. */

/* Bilinear resize of an RGB image, half-pixel centres: src = (dst + 0.5) * sn / dn - 0.5,
 * clamped to the edge pixels; horizontal then vertical interpolation in float. The taps of
 * each output column and row are computed once. */
typedef struct tap2 {
    uint32_t i0, i1;
    float f;
} tap2;

static void bilinear_taps(uint32_t sn, uint32_t dn, tap2 *t) {
    for (uint32_t d = 0; d < dn; d++) {
        double s = clampd(((double)d + 0.5) * sn / dn - 0.5, 0, sn - 1.0);
        t[d].i0 = (uint32_t)s;
        t[d].i1 = t[d].i0 + 1 < sn ? t[d].i0 + 1 : sn - 1;
        t[d].f = (float)(s - t[d].i0);
    }
}

static fe_status resize_bilinear_rgb(const fe_image *src, uint32_t dw, uint32_t dh, fe_image **out) {
    if (dw > CHIP || dh > CHIP) return fe__fail(FE_E_ARG, "resize target over the chip size");
    tap2 tx[CHIP], ty[CHIP];
    bilinear_taps(src->width, dw, tx);
    bilinear_taps(src->height, dh, ty);
    fe_image *dst;
    fe_status st = fe__image_new(dw, dh, 3, &dst);
    if (st != FE_OK) return st;
    const size_t stride = (size_t)src->width * 3;
    for (uint32_t j = 0; j < dh; j++) {
        const uint8_t *r0 = src->data + ty[j].i0 * stride, *r1 = src->data + ty[j].i1 * stride;
        float fy = ty[j].f;
        uint8_t *d = dst->data + (size_t)j * dw * 3;
        for (uint32_t i = 0; i < dw; i++) {
            uint32_t x0 = tx[i].i0 * 3, x1 = tx[i].i1 * 3;
            float fx = tx[i].f;
            for (int c = 0; c < 3; c++) {
                float top = (float)r0[x0 + c] * (1.0f - fx) + (float)r0[x1 + c] * fx;
                float bot = (float)r1[x0 + c] * (1.0f - fx) + (float)r1[x1 + c] * fx;
                *d++ = round_u8(top * (1.0f - fy) + bot * fy);
            }
        }
    }
    *out = dst;
    return FE_OK;
}

/* The w x h window at (x, y), which must lie inside src. */
static fe_status crop_rgb(const fe_image *src, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                          fe_image **out) {
    fe_image *dst;
    fe_status st = fe__image_new(w, h, 3, &dst);
    if (st != FE_OK) return st;
    for (uint32_t j = 0; j < h; j++)
        memcpy(dst->data + (size_t)j * w * 3, src->data + ((size_t)(y + j) * src->width + x) * 3,
               (size_t)w * 3);
    *out = dst;
    return FE_OK;
}

/* Exact box average by an integer factor f dividing both sides: each output is the mean of
 * an f x f block, rounded half up in integer arithmetic. */
static fe_status box_down_rgb(const fe_image *src, uint32_t f, fe_image **out) {
    uint32_t dw = src->width / f, dh = src->height / f;
    fe_image *dst;
    fe_status st = fe__image_new(dw, dh, 3, &dst);
    if (st != FE_OK) return st;
    const uint32_t n = f * f;
    for (uint32_t j = 0; j < dh; j++)
        for (uint32_t i = 0; i < dw; i++)
            for (int c = 0; c < 3; c++) {
                uint32_t sum = 0;
                for (uint32_t b = 0; b < f; b++)
                    for (uint32_t a = 0; a < f; a++)
                        sum += src->data[((size_t)(j * f + b) * src->width + i * f + a) * 3 + c];
                dst->data[((size_t)j * dw + i) * 3 + c] = (uint8_t)((sum + n / 2) / n);
            }
    *out = dst;
    return FE_OK;
}

/* Rotation by angle (radians, CCW as displayed) about (c, c), c = (CHIP - 1) / 2, the chip
 * centre; each output pixel samples the input bilinearly at the inverse-rotated position,
 * edge pixels replicated. */
static fe_status rotate_rgb(const fe_image *src, double angle, fe_image **out) {
    fe_image *dst;
    fe_status st = fe__image_new(src->width, src->height, 3, &dst);
    if (st != FE_OK) return st;
    double s, co;
    fe__det_sincos(angle, &s, &co);
    const uint32_t W = src->width, H = src->height;
    const double cx = (W - 1) * 0.5, cy = (H - 1) * 0.5;
    for (uint32_t j = 0; j < H; j++)
        for (uint32_t i = 0; i < W; i++) {
            double dx = i - cx, dy = j - cy;
            double sx = clampd(cx + dx * co - dy * s, 0, W - 1.0);
            double sy = clampd(cy + dx * s + dy * co, 0, H - 1.0);
            uint32_t x0 = (uint32_t)sx, y0 = (uint32_t)sy;
            uint32_t x1 = x0 + 1 < W ? x0 + 1 : W - 1, y1 = y0 + 1 < H ? y0 + 1 : H - 1;
            float fx = (float)(sx - x0), fy = (float)(sy - y0);
            const uint8_t *r0 = src->data + (size_t)y0 * W * 3, *r1 = src->data + (size_t)y1 * W * 3;
            uint8_t *d = dst->data + ((size_t)j * W + i) * 3;
            for (uint32_t c = 0; c < 3; c++) {
                float top = (float)r0[x0 * 3 + c] * (1.0f - fx) + (float)r0[x1 * 3 + c] * fx;
                float bot = (float)r1[x0 * 3 + c] * (1.0f - fx) + (float)r1[x1 * 3 + c] * fx;
                d[c] = round_u8(top * (1.0f - fy) + bot * fy);
            }
        }
    *out = dst;
    return FE_OK;
}
/* ---- end of PRIVATE GEOMETRY ------------------------------------------------------------- */

/* ======================================================================================== */
/* Face frame                                                                               */
/* ======================================================================================== */

typedef struct face {
    double ox, oy;        /* eye midpoint, chip pixels                                      */
    double ux, uy;        /* unit vector along the eye line (left eye -> right eye)         */
    double vx, vy;        /* unit vector perpendicular to it, towards the mouth             */
    double d;             /* eye distance in pixels                                         */
    double nose_u, nose_v, mouth_u, mouth_v;  /* nose tip and mouth centre, units of d      */
    double le_u, re_u;    /* eye positions along u (-0.5 and +0.5 by construction)          */
    double yaw;           /* nose offset from the eye-mouth midline: > 0 turned to the right */
} face;

static fe_status face_init(const fe_landmarks *lm, face *f) {
    for (int i = 0; i < 5; i++) {
        if (!isfinite(lm->x[i]) || !isfinite(lm->y[i]))
            return fe__fail(FE_E_NUMERIC, "landmark %d is not finite", i + 1);
        if (lm->x[i] < -CHIP || lm->x[i] > 2 * CHIP || lm->y[i] < -CHIP || lm->y[i] > 2 * CHIP)
            return fe__fail(FE_E_RANGE, "landmark %d (%.1f, %.1f) is more than a chip size outside "
                            "the %dx%d chip", i + 1, (double)lm->x[i], (double)lm->y[i], CHIP, CHIP);
    }
    double ex = (double)lm->x[1] - lm->x[0], ey = (double)lm->y[1] - lm->y[0];
    f->d = sqrt(ex * ex + ey * ey);
    if (f->d < 4.0)
        return fe__fail(FE_E_CORRUPT, "the eyes are %.2f px apart (at least 4 needed)", f->d);
    f->ux = ex / f->d;
    f->uy = ey / f->d;
    f->ox = 0.5 * ((double)lm->x[0] + lm->x[1]);
    f->oy = 0.5 * ((double)lm->y[0] + lm->y[1]);
    double mx = 0.5 * ((double)lm->x[3] + lm->x[4]) - f->ox, my = 0.5 * ((double)lm->y[3] + lm->y[4]) - f->oy;
    f->vx = -f->uy;
    f->vy = f->ux;
    if (mx * f->vx + my * f->vy < 0) {  /* mirrored face (eyes given right to left): flip v */
        f->vx = -f->vx;
        f->vy = -f->vy;
    }
    f->mouth_u = (mx * f->ux + my * f->uy) / f->d;
    f->mouth_v = (mx * f->vx + my * f->vy) / f->d;
    if (f->mouth_v < 0.5)  /* real faces: about 1.15, still over 0.7 when strongly pitched */
        return fe__fail(FE_E_CORRUPT, "the mouth is %.2f eye distances below the eye line "
                        "(at least 0.5 needed)", f->mouth_v);
    double nx = lm->x[2] - f->ox, ny = lm->y[2] - f->oy;
    f->nose_u = (nx * f->ux + ny * f->uy) / f->d;
    /* a nose outside the eye-mouth band is a bad landmark: keep it in a sane range */
    f->nose_v = clampd((nx * f->vx + ny * f->vy) / f->d, 0.25 * f->mouth_v, 0.85 * f->mouth_v);
    f->nose_u = clampd(f->nose_u, -0.6, 0.6);
    f->le_u = -0.5;
    f->re_u = 0.5;
    f->yaw = clampd(f->nose_u - 0.5 * f->mouth_u, -0.35, 0.35);
    return FE_OK;
}

static inline void face_pt(const face *f, double u, double v, float *x, float *y) {
    *x = (float)(f->ox + f->d * (u * f->ux + v * f->vx));
    *y = (float)(f->oy + f->d * (u * f->uy + v * f->vy));
}

static inline void face_uv(const face *f, double x, double y, double *u, double *v) {
    double dx = x - f->ox, dy = y - f->oy;
    *u = (dx * f->ux + dy * f->uy) / f->d;
    *v = (dx * f->vx + dy * f->vy) / f->d;
}

/* A polyline in face coordinates, mapped to chip pixels. */
typedef struct path {
    float xy[2 * 512];
    size_t n;
} path;

static void path_add(path *p, const face *f, double u, double v) {
    if (p->n < 512) {
        face_pt(f, u, v, &p->xy[2 * p->n], &p->xy[2 * p->n + 1]);
        p->n++;
    }
}

/* Quadratic Bezier a -> b with control c, m segments; the start point is added only when
 * with_start is set (so consecutive curves do not repeat their joint). */
static void path_quad(path *p, const face *f, double au, double av, double cu, double cv,
                      double bu, double bv, int m, int with_start) {
    for (int k = with_start ? 0 : 1; k <= m; k++) {
        double t = (double)k / m, s = 1 - t;
        path_add(p, f, s * s * au + 2 * s * t * cu + t * t * bu, s * s * av + 2 * s * t * cv + t * t * bv);
    }
}

/* Blends a shaded colour into every pixel of a coverage window: shade(u, v) scales the base
 * colour (values above 1 lighten). */
typedef float (*shade_fn)(const void *ctx, double u, double v, int32_t x, int32_t y);

static void blend_shaded(fe_image *img, const fe__cov *c, const face *f, const float base[3],
                         float alpha, shade_fn shade, const void *ctx) {
    for (uint32_t j = 0; j < c->h; j++)
        for (uint32_t i = 0; i < c->w; i++) {
            float cv = c->v[(size_t)j * c->w + i];
            if (cv <= 0.0f) continue;
            int32_t x = c->x0 + (int32_t)i, y = c->y0 + (int32_t)j;
            double u, v;
            face_uv(f, x, y, &u, &v);
            float s = shade(ctx, u, v, x, y);
            fe__rgba col = fe__rgba_make(round_u8(base[0] * s), round_u8(base[1] * s),
                                         round_u8(base[2] * s), 255);
            fe__draw_blend_pixel(img, x, y, col, cv * alpha);
        }
}

/* ======================================================================================== */
/* mask                                                                                     */
/* ======================================================================================== */

typedef struct mask_geo {
    const face *f;
    double w_top, w_mouth, w_low;   /* half widths (units of d) at the top corner, the mouth,
                                       and where the sides turn into the chin curve         */
    double y_peak, y_corner, y_low, y_chin;  /* v of the top centre, top corners, side end,
                                                chin                                        */
    double fl, fr;                   /* side scale for yaw (left / right of the centre line)  */
    double pleat[3];                 /* v of the pleats at the centre line                    */
    uint64_t salt;                   /* seeds the fabric grain                                 */
} mask_geo;

/* centre line of the mask: the nose above the nose tip, the mouth below the mouth */
static double mask_cu(const mask_geo *g, double v) {
    const face *f = g->f;
    double t = clampd((v - f->nose_v) / (f->mouth_v - f->nose_v), 0, 1);
    return f->nose_u + (f->mouth_u - f->nose_u) * t;
}

static void mask_side_pt(path *p, const mask_geo *g, double side, double half_w, double v) {
    double s = side > 0 ? g->fr : g->fl;
    path_add(p, g->f, mask_cu(g, v) + side * s * half_w, v);
}

static void mask_outline(const mask_geo *g, path *p) {
    const face *f = g->f;
    p->n = 0;
    /* top edge, peak -> right corner: a quadratic whose control sits a little below the peak
     * height, so the top is a soft point over the nose bridge like a wired mask */
    double cu = mask_cu(g, g->y_peak);
    path_add(p, f, cu, g->y_peak);
    for (int k = 1; k <= 20; k++) {
        double t = k / 20.0, s = 1 - t;
        double hu = 2 * s * t * 0.48 * g->w_top + t * t * g->w_top;
        double v = s * s * g->y_peak + 2 * s * t * (g->y_peak + 0.05) + t * t * g->y_corner;
        mask_side_pt(p, g, 1, hu, v);
    }
    /* right side: corner -> mouth level -> start of the chin curve */
    for (int k = 1; k <= 10; k++) {
        double t = k / 10.0;
        double v = g->y_corner + (g->y_low - g->y_corner) * t;
        double hw = v < f->mouth_v
                        ? g->w_top + (g->w_mouth - g->w_top) * (v - g->y_corner) / (f->mouth_v - g->y_corner)
                        : g->w_mouth + (g->w_low - g->w_mouth) * (v - f->mouth_v) / (g->y_low - f->mouth_v);
        mask_side_pt(p, g, 1, hw, v);
    }
    /* chin: an elliptic arc from the right side end through the chin to the left side end */
    for (int k = 1; k < 48; k++) {
        double sa, ca;
        fe__det_sincos(3.14159265358979323846 * k / 48.0, &sa, &ca);
        double v = g->y_low + (g->y_chin - g->y_low) * sa;
        mask_side_pt(p, g, ca >= 0 ? 1 : -1, fabs(ca) * g->w_low, v);
    }
    /* left side up, then the left half of the top edge back to the peak */
    for (int k = 0; k < 10; k++) {
        double t = 1 - k / 10.0;
        double v = g->y_corner + (g->y_low - g->y_corner) * t;
        double hw = v < f->mouth_v
                        ? g->w_top + (g->w_mouth - g->w_top) * (v - g->y_corner) / (f->mouth_v - g->y_corner)
                        : g->w_mouth + (g->w_low - g->w_mouth) * (v - f->mouth_v) / (g->y_low - f->mouth_v);
        mask_side_pt(p, g, -1, hw, v);
    }
    for (int k = 20; k >= 1; k--) {
        double t = k / 20.0, s = 1 - t;
        double hu = 2 * s * t * 0.48 * g->w_top + t * t * g->w_top;
        double v = s * s * g->y_peak + 2 * s * t * (g->y_peak + 0.05) + t * t * g->y_corner;
        mask_side_pt(p, g, -1, hu, v);
    }
}

/* max(0, 1 - t^2)^2: a smooth bump of half-width 1 */
static double bump(double t) {
    double a = 1 - t * t;
    return a > 0 ? a * a : 0;
}

/* Per-pixel fabric grain in [-1, 1): a splitmix64 hash of the pixel and a seeded salt. */
static double grain(uint64_t salt, int32_t x, int32_t y) {
    rng h = {salt ^ ((uint64_t)(uint32_t)x << 32) ^ (uint64_t)(uint32_t)y};
    return 2.0 * rng_unit(&h) - 1.0;
}

static float mask_shade(const void *ctx, double u, double v, int32_t x, int32_t y) {
    const mask_geo *g = ctx;
    double cu = mask_cu(g, v);
    double half = (u >= cu ? g->fr : g->fl) * g->w_top;
    double xr = clampd((u - cu) / half, -1.2, 1.2);
    /* the fabric curves away towards the sides and under the chin */
    double s = 1.0 - 0.13 * xr * xr;
    s -= 0.10 * clampd((v - g->f->mouth_v) / (g->y_chin - g->f->mouth_v), 0, 1);
    /* pleats: a thin crease shadow with a lit band above it; they sag a little at the sides */
    for (int k = 0; k < 3; k++) {
        double pv = g->pleat[k] + 0.05 * xr * xr;
        s -= 0.22 * bump((v - pv) / 0.026);
        s += 0.07 * bump((v - pv + 0.07) / 0.05);
    }
    return (float)(s + 0.025 * grain(g->salt, x, y));
}

static fe_status make_mask(fe_image *img, const face *f, rng *r) {
    /* seeded choices, in this order: colour, size, shade */
    double pick = rng_unit(r);
    float base[3], rim[3], loop[3];
    if (pick < 0.70) {         /* light blue surgical mask, hue and lightness jittered */
        double l = rng_range(r, -14, 14), h = rng_range(r, -10, 10);
        base[0] = (float)(118 + l - h); base[1] = (float)(166 + l); base[2] = (float)(222 + l + 0.5 * h);
        rim[0] = 222; rim[1] = 234; rim[2] = 246;
        loop[0] = 236; loop[1] = 238; loop[2] = 242;
    } else if (pick < 0.88) {  /* white */
        double l = rng_range(r, -10, 6);
        base[0] = (float)(236 + l); base[1] = (float)(239 + l); base[2] = (float)(242 + l);
        rim[0] = 252; rim[1] = 252; rim[2] = 252;
        loop[0] = 240; loop[1] = 240; loop[2] = 240;
    } else {                   /* black */
        double l = rng_range(r, -8, 10);
        base[0] = (float)(44 + l); base[1] = (float)(46 + l); base[2] = (float)(52 + l);
        rim[0] = 78; rim[1] = 80; rim[2] = 86;
        loop[0] = 30; loop[1] = 30; loop[2] = 32;
    }
    mask_geo g;
    g.f = f;
    double wscale = rng_range(r, 0.94, 1.06);
    g.w_top = 0.93 * wscale;
    g.w_mouth = 0.92 * wscale;
    g.w_low = 0.80 * wscale;
    g.y_peak = clampd(rng_range(r, 0.48, 0.60) * f->nose_v, 0.24, fmax(0.24, f->mouth_v - 0.3));
    g.y_corner = g.y_peak + 0.20;
    g.y_chin = f->mouth_v * rng_range(r, 1.68, 1.82);
    g.y_low = f->mouth_v + 0.40 * (g.y_chin - f->mouth_v);
    if (g.y_corner > f->mouth_v - 0.15) g.y_corner = fmax(g.y_peak + 0.05, f->mouth_v - 0.15);
    g.fl = clampd(1 + 1.3 * f->yaw, 0.6, 1.4);
    g.fr = clampd(1 - 1.3 * f->yaw, 0.6, 1.4);
    for (int k = 0; k < 3; k++)
        g.pleat[k] = g.y_corner + (g.y_low - g.y_corner) * (k + 1) / 4.0 + 0.03;
    double shade_jitter = rng_range(r, 0.96, 1.03);
    g.salt = rng_next(r);
    for (int c = 0; c < 3; c++) base[c] = (float)(base[c] * shade_jitter);

    fe_status st;
    /* ear loops first, so the mask covers their ends: from the top corner round to the ear
     * and back to the side at the mouth; skipped on a side turned away from the camera */
    for (int side = -1; side <= 1; side += 2) {
        double fs = side > 0 ? g.fr : g.fl;
        if (fs < 0.85) continue;
        path lp;
        lp.n = 0;
        double cu_top = mask_cu(&g, g.y_corner), cu_m = mask_cu(&g, f->mouth_v);
        double tu = cu_top + side * fs * (g.w_top - 0.02), eu = cu_top + side * fs * (g.w_top + 0.26);
        double bu = cu_m + side * fs * (g.w_mouth - 0.02), ev = 0.75 * f->nose_v;
        path_quad(&lp, f, tu, g.y_corner, tu + side * 0.12, ev + 0.02, eu, ev, 8, 1);
        path_quad(&lp, f, eu, ev, eu + side * 0.02, f->mouth_v - 0.25, bu, f->mouth_v, 10, 0);
        float w = (float)fmax(0.8, 0.013 * f->d);
        st = fe__draw_polyline(img, lp.xy, lp.n, 0, w,
                               fe__rgba_make(round_u8(loop[0]), round_u8(loop[1]), round_u8(loop[2]), 170));
        if (st != FE_OK) return st;
    }
    path outline;
    mask_outline(&g, &outline);
    fe__cov cov;
    if ((st = fe__cov_for_image(&cov, img)) != FE_OK) return st;
    st = fe__cov_polygon(&cov, outline.xy, outline.n, FE__FILL_NONZERO);
    if (st == FE_OK) blend_shaded(img, &cov, f, base, 1.0f, mask_shade, &g);
    fe__cov_free(&cov);
    if (st != FE_OK) return st;
    /* the light binding along the edge */
    return fe__draw_polyline(img, outline.xy, outline.n, 1, (float)fmax(0.9, 0.022 * f->d),
                             fe__rgba_make(round_u8(rim[0]), round_u8(rim[1]), round_u8(rim[2]), 190));
}

/* ======================================================================================== */
/* sunglasses                                                                               */
/* ======================================================================================== */

typedef struct lens_geo {
    const face *f;
    double top_v, bot_v;  /* v range of the lenses (for the gradient)                       */
} lens_geo;

static float lens_shade(const void *ctx, double u, double v, int32_t x, int32_t y) {
    const lens_geo *g = ctx;
    (void)u;
    (void)x;
    (void)y;
    double t = clampd((v - g->top_v) / (g->bot_v - g->top_v), 0, 1);
    /* a little lighter at the top (sky reflection), darkest at the bottom */
    return (float)(1.35 - 0.55 * t);
}

/* Rounds the corners of a closed polygon (face coordinates) with quadratic Beziers: corner i
 * is replaced by a curve from radius[i] before it to radius[i] after it along its edges. */
static void rounded_polygon(path *p, const face *f, const double (*pt)[2], const double *radius,
                            int n) {
    p->n = 0;
    for (int i = 0; i < n; i++) {
        const double *a = pt[(i + n - 1) % n], *c = pt[i], *b = pt[(i + 1) % n];
        double la = sqrt((a[0] - c[0]) * (a[0] - c[0]) + (a[1] - c[1]) * (a[1] - c[1]));
        double lb = sqrt((b[0] - c[0]) * (b[0] - c[0]) + (b[1] - c[1]) * (b[1] - c[1]));
        double rr = fmin(radius[i], 0.49 * fmin(la, lb));
        double pu = c[0] + (a[0] - c[0]) * rr / la, pv = c[1] + (a[1] - c[1]) * rr / la;
        double qu = c[0] + (b[0] - c[0]) * rr / lb, qv = c[1] + (b[1] - c[1]) * rr / lb;
        path_quad(p, f, pu, pv, c[0], c[1], qu, qv, 8, 1);
    }
}

static fe_status make_sunglasses(fe_image *img, const face *f, rng *r) {
    /* seeded choices, in this order: tint, lens size */
    double pick = rng_unit(r);
    float lens[3], frame[3];
    if (pick < 0.7) {
        lens[0] = 22; lens[1] = 22; lens[2] = 25;
    } else if (pick < 0.85) {
        lens[0] = 40; lens[1] = 28; lens[2] = 20;
    } else {
        lens[0] = 22; lens[1] = 34; lens[2] = 27;
    }
    for (int c = 0; c < 3; c++) frame[c] = lens[c] * 0.45f;
    double a = 0.47 * rng_range(r, 0.94, 1.06);  /* lens half width  (units of d) */
    double b = 0.27 * rng_range(r, 0.90, 1.10);  /* lens half height */
    double lift = rng_range(r, 0.0, 0.04);       /* lens centre above the eye line */
    double fl = clampd(1 + 1.0 * f->yaw, 0.65, 1.35), fr = clampd(1 - 1.0 * f->yaw, 0.65, 1.35);

    /* one lens in (p, q): p outwards from the nose, q down; a wayfarer-like outline with a
     * straight top whose outer corner sweeps up, and a narrower, rounded bottom */
    const double shape[6][2] = {{-a, -b},          {a, -b - 0.03},     {0.93 * a, 0.30 * b},
                                {0.55 * a, b},     {-0.45 * a, b},     {-0.93 * a, 0.20 * b}};
    const double radius[6] = {0.06, 0.05, 0.12, 0.14, 0.14, 0.12};
    path outl[2], top[2];
    fe__cov cov;
    fe_status st = fe__cov_for_image(&cov, img);
    if (st != FE_OK) return st;
    lens_geo lg = {f, -lift - b - 0.03, -lift + b};
    float inner_top[2][2], outer_top[2][2];
    for (int side = 0; side < 2; side++) {
        double sgn = side ? 1 : -1, sc = side ? fr : fl;
        double cu = (side ? f->re_u : f->le_u) + sgn * 0.06 * sc, cv = -lift;
        double pts[6][2];
        for (int k = 0; k < 6; k++) {
            pts[k][0] = cu + sgn * sc * shape[k][0];
            pts[k][1] = cv + shape[k][1];
        }
        rounded_polygon(&outl[side], f, (const double(*)[2])pts, radius, 6);
        if ((st = fe__cov_polygon(&cov, outl[side].xy, outl[side].n, FE__FILL_NONZERO)) != FE_OK)
            break;
        face_pt(f, pts[0][0], pts[0][1] + 0.02, &inner_top[side][0], &inner_top[side][1]);
        face_pt(f, pts[1][0], pts[1][1] + 0.03, &outer_top[side][0], &outer_top[side][1]);
        top[side].n = 0;  /* the thick brow bar along the top edge */
        path_add(&top[side], f, pts[0][0] + sgn * sc * 0.03, pts[0][1] + 0.025);
        path_add(&top[side], f, pts[1][0] - sgn * sc * 0.03, pts[1][1] + 0.03);
    }
    if (st == FE_OK) blend_shaded(img, &cov, f, lens, 250.0f / 255.0f, lens_shade, &lg);
    fe__cov_free(&cov);
    if (st != FE_OK) return st;

    fe__rgba fc = fe__rgba_make(round_u8(frame[0]), round_u8(frame[1]), round_u8(frame[2]), 255);
    float rim_w = (float)fmax(1.0, 0.04 * f->d), bar_w = (float)fmax(1.5, 0.055 * f->d);
    for (int side = 0; side < 2 && st == FE_OK; side++) {
        st = fe__draw_polyline(img, outl[side].xy, outl[side].n, 1, rim_w, fc);
        if (st == FE_OK) st = fe__draw_polyline(img, top[side].xy, top[side].n, 0, bar_w, fc);
    }
    if (st != FE_OK) return st;
    /* bridge: an arch between the inner top corners */
    path br;
    br.n = 0;
    double lu, lv, ru, rv;
    face_uv(f, inner_top[0][0], inner_top[0][1], &lu, &lv);
    face_uv(f, inner_top[1][0], inner_top[1][1], &ru, &rv);
    path_quad(&br, f, lu, lv, 0.5 * (lu + ru), 0.5 * (lv + rv) - 0.06, ru, rv, 12, 1);
    st = fe__draw_polyline(img, br.xy, br.n, 0, (float)fmax(1.2, 0.065 * f->d), fc);
    /* temples: from the outer top corners outwards past the chip edge, sloping slightly down */
    for (int side = 0; side < 2 && st == FE_OK; side++) {
        double ou, ov;
        face_uv(f, outer_top[side][0], outer_top[side][1], &ou, &ov);
        double sgn = side ? 1 : -1;
        float ex, ey;
        face_pt(f, ou + sgn * 3.0, ov + 0.12, &ex, &ey);
        st = fe__draw_line(img, outer_top[side][0], outer_top[side][1], ex, ey,
                           (float)fmax(1.2, 0.06 * f->d), FE__CAP_ROUND, fc);
    }
    return st;
}

/* ======================================================================================== */
/* The other kinds                                                                          */
/* ======================================================================================== */

static fe_status make_crop70(const fe_image *img, rng *r, fe_image **out) {
    const uint32_t side = (uint32_t)(0.7 * CHIP + 0.5);  /* 105 */
    uint32_t x0 = rng_below(r, CHIP - side + 1), y0 = rng_below(r, CHIP - side + 1);
    fe_image *crop;
    fe_status st = crop_rgb(img, x0, y0, side, side, &crop);
    if (st != FE_OK) return st;
    st = resize_bilinear_rgb(crop, CHIP, CHIP, out);
    fe_image_free(crop);
    return st;
}

static fe_status make_rotate(const fe_image *img, rng *r, fe_image **out) {
    double deg = rng_range(r, 15.0, 30.0);
    if (rng_below(r, 2)) deg = -deg;
    return rotate_rgb(img, deg * (3.14159265358979323846 / 180.0), out);
}

static void make_occlude(fe_image *img, rng *r) {
    const double area = (double)CHIP * CHIP;
    double frac = rng_range(r, 0.20, 0.40);
    double aspect = fe__det_exp(rng_range(r, -0.69314718055994531, 0.69314718055994531));  /* w/h */
    double wd = floor(sqrt(frac * area * aspect) + 0.5);
    uint32_t w = (uint32_t)clampd(wd, 1, CHIP);
    uint32_t h = (uint32_t)clampd(floor(frac * area / w + 0.5), 1, CHIP);
    /* keep the rounded rectangle inside 20..40 % of the area */
    uint32_t hmin = (uint32_t)ceil(0.20 * area / w), hmax = (uint32_t)floor(0.40 * area / w);
    if (h < hmin) h = hmin;
    if (h > hmax) h = hmax;
    if (h > CHIP) h = CHIP;
    uint32_t x0 = rng_below(r, CHIP - w + 1), y0 = rng_below(r, CHIP - h + 1);
    uint8_t level = (uint8_t)(70 + rng_below(r, 121));
    fe__draw_fill_rect(img, (int32_t)x0, (int32_t)y0, (int32_t)w, (int32_t)h,
                       fe__rgba_make(level, level, level, 255));
}

static fe_status make_blur(const fe_image *img, rng *r, fe_image **out) {
    double sigma = rng_range(r, 1.0, 3.0);
    int rad = (int)ceil(3.0 * sigma);
    float wts[10];
    double sum = 0;
    for (int k = 0; k <= rad; k++) sum += (k ? 2 : 1) * fe__det_exp(-(double)k * k / (2 * sigma * sigma));
    for (int k = 0; k <= rad; k++) wts[k] = (float)(fe__det_exp(-(double)k * k / (2 * sigma * sigma)) / sum);
    fe_image *dst;
    fe_status st = fe__image_new(CHIP, CHIP, 3, &dst);
    if (st != FE_OK) return st;
    float *tmp = fe__malloc(sizeof(float) * CHIP * CHIP * 3);
    if (!tmp) {
        fe_image_free(dst);
        return fe__fail(FE_E_NOMEM, "cannot allocate the blur buffer");
    }
    /* separable, edge pixels replicated: rows into tmp, then columns into dst. Rows are
     * padded by rad replicated pixels on each side so the inner loops need no clamping. */
    enum { PAD = 9, ROW = (CHIP + 2 * PAD) * 3 };
    float prow[ROW];
    for (int y = 0; y < CHIP; y++) {
        const uint8_t *srow = img->data + y * CHIP * 3;
        for (int x = -PAD; x < CHIP + PAD; x++) {
            int xs = x < 0 ? 0 : x >= CHIP ? CHIP - 1 : x;
            for (int c = 0; c < 3; c++) prow[(x + PAD) * 3 + c] = srow[xs * 3 + c];
        }
        float *trow = tmp + y * CHIP * 3;
        for (int x = 0; x < CHIP; x++)
            for (int c = 0; c < 3; c++) {
                const float *p = prow + (x + PAD) * 3 + c;
                float acc = wts[0] * p[0];
                for (int k = 1; k <= rad; k++) acc += wts[k] * (p[-3 * k] + p[3 * k]);
                trow[x * 3 + c] = acc;
            }
    }
    const float *rows[CHIP + 2 * PAD];
    for (int y = -PAD; y < CHIP + PAD; y++)
        rows[y + PAD] = tmp + (y < 0 ? 0 : y >= CHIP ? CHIP - 1 : y) * CHIP * 3;
    for (int y = 0; y < CHIP; y++) {
        const float *const *rr = rows + y + PAD;
        uint8_t *drow = dst->data + y * CHIP * 3;
        for (int i = 0; i < CHIP * 3; i++) {
            float acc = wts[0] * rr[0][i];
            for (int k = 1; k <= rad; k++) acc += wts[k] * (rr[-k][i] + rr[k][i]);
            drow[i] = round_u8(acc);
        }
    }
    fe__free(tmp);
    *out = dst;
    return FE_OK;
}

static void make_noise(fe_image *img, rng *r) {
    float sigma = (float)rng_range(r, 6.0, 18.0);
    size_t n = (size_t)CHIP * CHIP * 3;
    for (size_t i = 0; i < n; i++) img->data[i] = round_u8((float)img->data[i] + sigma * rng_gauss(r));
}

static fe_status make_lowres(const fe_image *img, rng *r, fe_image **out) {
    static const uint32_t factors[3] = {3, 5, 6};  /* divisors of 150: 50, 30, 25 px */
    uint32_t f = factors[rng_below(r, 3)];
    fe_image *small;
    fe_status st = box_down_rgb(img, f, &small);
    if (st != FE_OK) return st;
    st = resize_bilinear_rgb(small, CHIP, CHIP, out);
    fe_image_free(small);
    return st;
}

/* ======================================================================================== */

fe_status fe_perturb(const fe_image *chip, const fe_landmarks *lm_in_chip, fe_perturb_kind kind,
                     uint64_t seed, fe_image **out) {
    if (!out) return fe__fail(FE_E_ARG, "out is NULL");
    *out = NULL;
    if (!chip || !chip->data) return fe__fail(FE_E_ARG, "chip is NULL");
    if ((unsigned)kind >= FE_PERTURB_KIND_COUNT)
        return fe__fail(FE_E_ARG, "unknown perturbation kind %d", (int)kind);
    if (chip->channels < 1 || chip->channels > 4)
        return fe__fail(FE_E_ARG, "chip has %u channels (1-4 expected)", chip->channels);
    if (chip->width != CHIP || chip->height != CHIP)
        return fe__fail(FE_E_SHAPE, "chip is %ux%u, expected the aligned %dx%d chip", chip->width,
                        chip->height, CHIP, CHIP);
    face f;
    fe_landmarks tmpl;   /* no landmarks: where fe_align_chip put them, the template */
    fe_status st = lm_in_chip ? FE_OK : fe_align_template(&tmpl);
    if (st != FE_OK) return st;
    st = face_init(lm_in_chip ? lm_in_chip : &tmpl, &f);
    if (st != FE_OK) return st;
    fe_image *img;
    if ((st = fe_image_to_rgb(chip, &img)) != FE_OK) return st;
    rng r = rng_for(seed, kind);
    fe_image *res = NULL;
    switch (kind) {
    case FE_PERTURB_CLEAN: break;
    case FE_PERTURB_MASK: st = make_mask(img, &f, &r); break;
    case FE_PERTURB_SUNGLASSES: st = make_sunglasses(img, &f, &r); break;
    case FE_PERTURB_CROP70: st = make_crop70(img, &r, &res); break;
    case FE_PERTURB_ROTATE: st = make_rotate(img, &r, &res); break;
    case FE_PERTURB_OCCLUDE: make_occlude(img, &r); break;
    case FE_PERTURB_BLUR: st = make_blur(img, &r, &res); break;
    case FE_PERTURB_NOISE: make_noise(img, &r); break;
    case FE_PERTURB_LOWRES: st = make_lowres(img, &r, &res); break;
    }
    if (res) {
        fe_image_free(img);
        img = res;
    }
    if (st != FE_OK) {
        fe_image_free(img);
        return st;
    }
    *out = img;
    return FE_OK;
}
