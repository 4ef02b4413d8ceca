/*
 * draw.c — raster drawing on fe_image: coverage rasterizer for polygons (scanline with
 * FE__SUBROWS sub-scanlines and exact horizontal spans), thick lines, ellipses, colour
 * blending, scaled blits, heat-map ramp, grid overlay, and deterministic sin/cos/exp.
 *
 * Conventions, blending and rounding rules: see draw.h. Invariant: every write is clipped to
 * the image; hostile geometry (huge or non-finite coordinates) draws nothing or is clamped,
 * never indexes outside a buffer.
 */
#include "draw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================================== */
/* Deterministic math                                                                       */
/* ======================================================================================== */

/* pi/2 split so that k * PIO2_HI is exact for |k| < 2^20 (its low 20 bits are zero). */
#define PIO2_HI 1.57079632673412561417e+00
#define PIO2_LO 6.07710050650619224932e-11
#define TWO_OVER_PI 6.36619772367581382433e-01
#define PI_D 3.14159265358979323846

/* sin r and cos r for |r| <= pi/4 + tiny: Taylor series to r^17 / r^18, truncation error
 * below 1e-19, evaluated by Horner's rule. */
static void sincos_small(double r, double *s, double *c) {
    double r2 = r * r;
    double ps = 1.0 / 355687428096000.0;              /* 1/17! */
    ps = 1.0 / 1307674368000.0 - r2 * ps;             /* 1/15! */
    ps = 1.0 / 6227020800.0 - r2 * ps;                /* 1/13! */
    ps = 1.0 / 39916800.0 - r2 * ps;                  /* 1/11! */
    ps = 1.0 / 362880.0 - r2 * ps;                    /* 1/9!  */
    ps = 1.0 / 5040.0 - r2 * ps;                      /* 1/7!  */
    ps = 1.0 / 120.0 - r2 * ps;                       /* 1/5!  */
    ps = 1.0 / 6.0 - r2 * ps;                         /* 1/3!  */
    *s = r - r * r2 * ps;
    double pc = 1.0 / 6402373705728000.0;             /* 1/18! */
    pc = 1.0 / 20922789888000.0 - r2 * pc;            /* 1/16! */
    pc = 1.0 / 87178291200.0 - r2 * pc;               /* 1/14! */
    pc = 1.0 / 479001600.0 - r2 * pc;                 /* 1/12! */
    pc = 1.0 / 3628800.0 - r2 * pc;                   /* 1/10! */
    pc = 1.0 / 40320.0 - r2 * pc;                     /* 1/8!  */
    pc = 1.0 / 720.0 - r2 * pc;                       /* 1/6!  */
    pc = 1.0 / 24.0 - r2 * pc;                        /* 1/4!  */
    pc = 0.5 - r2 * pc;                               /* 1/2!  */
    *c = 1.0 - r2 * pc;
}

void fe__det_sincos(double a, double *out_sin, double *out_cos) {
    if (!(a > -1e6 && a < 1e6)) a = 0.0;  /* out of the documented range (or NaN) */
    double k = floor(a * TWO_OVER_PI + 0.5);
    double r = (a - k * PIO2_HI) - k * PIO2_LO;
    double s, c;
    sincos_small(r, &s, &c);
    long q = (long)k & 3;  /* two's complement: also right for negative k */
    switch (q) {
    case 0: *out_sin = s; *out_cos = c; break;
    case 1: *out_sin = c; *out_cos = -s; break;
    case 2: *out_sin = -s; *out_cos = -c; break;
    default: *out_sin = -c; *out_cos = s; break;
    }
}

#define LN2_HI 6.93147180369123816490e-01  /* low bits zero: k * LN2_HI exact for |k| < 2^21 */
#define LN2_LO 1.90821492927058770002e-10
#define INV_LN2 1.44269504088896338700e+00

double fe__det_exp(double x) {
    if (x != x) return x;
    if (x > 700.0) x = 700.0;
    if (x < -700.0) x = -700.0;
    double k = floor(x * INV_LN2 + 0.5);
    double r = (x - k * LN2_HI) - k * LN2_LO;  /* |r| <= ~0.347 */
    /* Taylor to r^14: truncation below 1e-18 relative */
    double p = 1.0 / 87178291200.0;              /* 1/14! */
    static const double inv_fact[14] = {
        1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
        1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};
    for (int i = 13; i >= 0; i--) p = inv_fact[i] + r * p;
    return ldexp(p, (int)k);  /* exact scaling by 2^k */
}

/* ======================================================================================== */
/* Pixels and blending                                                                      */
/* ======================================================================================== */

/* floor(v + 0.5) clamped to 0..255; for v + 0.5 > 0 truncation is floor, and it avoids a
 * libm call (SSE2 has no floor instruction). NaN gives 0. */
static inline uint8_t round_u8(float v) {
    v += 0.5f;
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)v;
}

static inline int luma_u8(uint8_t r, uint8_t g, uint8_t b) {
    return (77 * r + 150 * g + 29 * b + 128) >> 8;
}

/* Blends a source with weight k in [0, 1] into pixel p of an image with C channels.
 * rgb: source colour (used for C >= 3), gray: source luma (C <= 2). */
static inline void blend_px(uint8_t *p, uint32_t C, const float rgb[3], float gray, float k) {
    if (!(k > 0.0f)) return;
    if (k > 1.0f) k = 1.0f;
    if (C == 1) {
        float d = p[0];
        p[0] = round_u8(d + (gray - d) * k);
    } else if (C == 3) {
        for (int i = 0; i < 3; i++) {
            float d = p[i];
            p[i] = round_u8(d + (rgb[i] - d) * k);
        }
    } else {
        /* "over" onto a destination with alpha */
        uint32_t nc = C - 1;
        float da = (float)p[nc] / 255.0f;
        float A = k + da * (1.0f - k);
        for (uint32_t i = 0; i < nc; i++) {
            float s = nc == 1 ? gray : rgb[i];
            float v = A > 0.0f ? (s * k + (float)p[i] * da * (1.0f - k)) / A : 0.0f;
            p[i] = round_u8(v);
        }
        p[nc] = round_u8(A * 255.0f);
    }
}

static inline void color_src(fe__rgba color, float rgb[3], float *gray) {
    rgb[0] = color.r;
    rgb[1] = color.g;
    rgb[2] = color.b;
    *gray = (float)luma_u8(color.r, color.g, color.b);
}

static int image_ok(const fe_image *img) {
    return img && img->data && img->width > 0 && img->height > 0 && img->channels >= 1 &&
           img->channels <= 4 && img->width <= FE_MAX_IMAGE_DIM && img->height <= FE_MAX_IMAGE_DIM;
}

void fe__draw_blend_pixel(fe_image *img, int32_t x, int32_t y, fe__rgba color, float coverage) {
    if (!image_ok(img) || x < 0 || y < 0 || (uint32_t)x >= img->width || (uint32_t)y >= img->height)
        return;
    float rgb[3], gray;
    color_src(color, rgb, &gray);
    uint32_t C = img->channels;
    blend_px(img->data + ((size_t)y * img->width + (size_t)x) * C, C, rgb, gray,
             coverage * (float)color.a / 255.0f);
}

void fe__draw_fill_rect(fe_image *img, int32_t x, int32_t y, int32_t w, int32_t h, fe__rgba color) {
    if (!image_ok(img) || w <= 0 || h <= 0) return;
    int64_t xa = x, ya = y, xb = (int64_t)x + w, yb = (int64_t)y + h;
    if (xa < 0) xa = 0;
    if (ya < 0) ya = 0;
    if (xb > img->width) xb = img->width;
    if (yb > img->height) yb = img->height;
    if (xa >= xb || ya >= yb) return;
    float rgb[3], gray;
    color_src(color, rgb, &gray);
    float k = (float)color.a / 255.0f;
    uint32_t C = img->channels;
    for (int64_t j = ya; j < yb; j++) {
        uint8_t *p = img->data + ((size_t)j * img->width + (size_t)xa) * C;
        for (int64_t i = xa; i < xb; i++, p += C) blend_px(p, C, rgb, gray, k);
    }
}

void fe__draw_tint(fe_image *img, fe__rgba color) {
    if (!image_ok(img)) return;
    fe__draw_fill_rect(img, 0, 0, (int32_t)img->width, (int32_t)img->height, color);
}

/* ======================================================================================== */
/* Coverage buffers and the polygon rasterizer                                              */
/* ======================================================================================== */

fe_status fe__cov_create(fe__cov *c, int32_t x0, int32_t y0, uint32_t w, uint32_t h) {
    memset(c, 0, sizeof *c);
    if (w == 0 || h == 0 || (uint64_t)w * h > FE_MAX_IMAGE_PIXELS)
        return fe__fail(FE_E_LIMIT, "coverage window %ux%u is empty or too large", w, h);
    c->v = fe__calloc((size_t)w * h, sizeof *c->v);
    if (!c->v) return fe__fail(FE_E_NOMEM, "cannot allocate a %ux%u coverage window", w, h);
    c->x0 = x0;
    c->y0 = y0;
    c->w = w;
    c->h = h;
    return FE_OK;
}

fe_status fe__cov_for_image(fe__cov *c, const fe_image *img) {
    if (!image_ok(img)) {
        memset(c, 0, sizeof *c);
        return fe__fail(FE_E_ARG, "image is NULL or malformed");
    }
    return fe__cov_create(c, 0, 0, img->width, img->height);
}

void fe__cov_free(fe__cov *c) {
    if (!c) return;
    fe__free(c->v);
    fe__free(c->scratch);
    memset(c, 0, sizeof *c);
}

void fe__cov_clear(fe__cov *c) {
    if (c && c->v) memset(c->v, 0, (size_t)c->w * c->h * sizeof *c->v);
}

typedef struct edge {
    double x0, y0, y1, dxdy;  /* y0 < y1; x at y is x0 + (y - y0) * dxdy */
    int dir;                  /* +1 if the contour runs downwards here, -1 upwards */
} edge;

static int edge_cmp(const void *a, const void *b) {
    const edge *p = a, *q = b;
    return p->y0 < q->y0 ? -1 : p->y0 > q->y0 ? 1 : 0;
}

typedef struct crossing {
    double x;
    int dir;
} crossing;

/* Adds the span [ua, ub) (window x units, pixel k covers [k, k+1)) to the row accumulators:
 * part[] gets partial pixels, diff[] a +1/-1 pair for the run of full pixels. */
static void add_span(double ua, double ub, uint32_t w, double *part, double *diff, uint32_t *lo,
                     uint32_t *hi) {
    if (ua < 0) ua = 0;
    if (ub > (double)w) ub = (double)w;
    if (!(ub > ua)) return;
    uint32_t ia = (uint32_t)ua, ib = (uint32_t)ub;  /* floor: both are >= 0 */
    if (ia >= w) return;
    if (ia == ib) {
        part[ia] += ub - ua;
    } else {
        part[ia] += (double)(ia + 1) - ua;
        if (ib > ia + 1) {
            diff[ia + 1] += 1.0;
            diff[ib] -= 1.0;  /* diff has w + 1 entries */
        }
        if (ib < w) part[ib] += ub - (double)ib;
    }
    if (ia < *lo) *lo = ia;
    uint32_t last = ib < w ? ib : w - 1;
    if (last > *hi) *hi = last;
}

fe_status fe__cov_contours(fe__cov *c, const fe__contour *contours, size_t n_contours,
                           fe__fill_rule rule) {
    if (!c || !c->v || !contours) return fe__fail(FE_E_ARG, "coverage or contours is NULL");
    size_t n_edges = 0;
    for (size_t k = 0; k < n_contours; k++) {
        if (!contours[k].xy && contours[k].n) return fe__fail(FE_E_ARG, "contour %zu is NULL", k);
        for (size_t i = 0; i < 2 * contours[k].n; i++)
            if (!isfinite(contours[k].xy[i])) return FE_OK;  /* documented: draws nothing */
        if (contours[k].n >= 3 && !fe__add_size(n_edges, contours[k].n, &n_edges))
            return fe__fail(FE_E_OVERFLOW, "too many polygon points");
    }
    if (n_edges == 0) return FE_OK;
    /* one scratch block, kept in the window and reused by later shapes: edges, crossings,
     * the active list, and two row accumulators of w + 1 doubles */
    size_t bytes_e, bytes_x, bytes_a, bytes_row, total;
    if (!fe__mul_size(n_edges, sizeof(edge), &bytes_e) ||
        !fe__mul_size(n_edges, sizeof(crossing), &bytes_x) ||
        !fe__mul_size(n_edges, sizeof(size_t), &bytes_a) ||
        !fe__mul_size((size_t)c->w + 1, 2 * sizeof(double), &bytes_row) ||
        !fe__add_size(bytes_e, bytes_x, &total) || !fe__add_size(total, bytes_a, &total) ||
        !fe__add_size(total, bytes_row, &total))
        return fe__fail(FE_E_OVERFLOW, "polygon scratch size overflows");
    if (total > c->scratch_bytes) {
        void *p = fe__realloc(c->scratch, total);
        if (!p) return fe__fail(FE_E_NOMEM, "cannot allocate polygon scratch (%zu edges)", n_edges);
        c->scratch = p;
        c->scratch_bytes = total;
    }
    /* all parts are multiples of 8 bytes, so each stays aligned for its type */
    double *part = c->scratch;
    double *diff = part + c->w + 1;
    edge *edges = (edge *)(void *)((char *)c->scratch + bytes_row);
    crossing *xs = (crossing *)(void *)((char *)edges + bytes_e);
    size_t *active = (size_t *)(void *)((char *)xs + bytes_x);
    memset(part, 0, bytes_row);

    /* edge list (horizontal edges never cross a sub-scanline and are dropped) */
    size_t ne = 0;
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t k = 0; k < n_contours; k++) {
        size_t n = contours[k].n;
        if (n < 3) continue;
        const float *p = contours[k].xy;
        for (size_t i = 0; i < n; i++) {
            size_t j = i + 1 == n ? 0 : i + 1;
            double ax = p[2 * i], ay = p[2 * i + 1], bx = p[2 * j], by = p[2 * j + 1];
            if (ay == by) continue;
            edge *e = &edges[ne++];
            if (ay < by) {
                e->x0 = ax; e->y0 = ay; e->y1 = by; e->dir = 1;
                e->dxdy = (bx - ax) / (by - ay);
            } else {
                e->x0 = bx; e->y0 = by; e->y1 = ay; e->dir = -1;
                e->dxdy = (ax - bx) / (ay - by);
            }
            if (e->y0 < ymin) ymin = e->y0;
            if (e->y1 > ymax) ymax = e->y1;
        }
    }
    fe_status st = FE_OK;
    if (ne == 0) goto done;
    qsort(edges, ne, sizeof *edges, edge_cmp);

    /* pixel rows touched: row j covers [j - 0.5, j + 0.5) */
    double wy0 = (double)c->y0, wy1 = (double)c->y0 + (double)c->h;  /* rows wy0 .. wy1-1 */
    double rlo = floor(ymin + 0.5), rhi = floor(ymax + 0.5);
    if (rlo < wy0) rlo = wy0;
    if (rhi > wy1 - 1) rhi = wy1 - 1;
    if (rlo > rhi) goto done;
    const double wx = (double)c->x0 - 0.5;  /* window x unit u = x - wx */
    const double inv_sub = 1.0 / FE__SUBROWS;
    size_t next = 0, n_active = 0;
    for (double jr = rlo; jr <= rhi; jr += 1.0) {
        uint32_t lo = c->w, hi = 0;
        for (int s = 0; s < FE__SUBROWS; s++) {
            double ys = jr - 0.5 + ((double)s + 0.5) * inv_sub;
            while (next < ne && edges[next].y0 <= ys) active[n_active++] = next++;
            /* drop finished edges, collect crossings sorted by x (insertion sort: few) */
            size_t nx = 0, keep = 0;
            for (size_t a = 0; a < n_active; a++) {
                const edge *e = &edges[active[a]];
                if (e->y1 <= ys) continue;
                active[keep++] = active[a];
                double x = e->x0 + (ys - e->y0) * e->dxdy;
                size_t q = nx++;
                while (q > 0 && xs[q - 1].x > x) {
                    xs[q] = xs[q - 1];
                    q--;
                }
                xs[q].x = x;
                xs[q].dir = e->dir;
            }
            n_active = keep;
            int wind = 0;
            for (size_t q = 0; q + 1 < nx; q++) {
                wind += xs[q].dir;
                int inside = rule == FE__FILL_EVENODD ? (wind & 1) : wind != 0;
                if (inside) add_span(xs[q].x - wx, xs[q + 1].x - wx, c->w, part, diff, &lo, &hi);
            }
        }
        if (lo > hi) continue;
        float *row = c->v + (size_t)(jr - wy0) * c->w;
        double run = 0;
        for (uint32_t i = lo; i <= hi; i++) {
            run += diff[i];
            double cv = (part[i] + run) * inv_sub;
            float f = cv >= 1.0 ? 1.0f : (float)cv;
            if (f > row[i]) row[i] = f;
            part[i] = 0;
            diff[i] = 0;
        }
        diff[hi + 1] = 0;  /* a run may end at hi + 1 <= w */
    }
done:
    return st;
}

fe_status fe__cov_polygon(fe__cov *c, const float *xy, size_t n, fe__fill_rule rule) {
    fe__contour ct = {xy, n};
    return fe__cov_contours(c, &ct, 1, rule);
}

/* Number of polygon vertices for a full circle of radius r: chords within pi^2/512 px. */
static size_t circle_steps(double r) {
    double n = ceil(16.0 * sqrt(r > 0 ? r : 0));
    if (!(n >= 8)) n = 8;
    if (n > 4096) n = 4096;
    return (size_t)n;
}

/* Vertices of a regular polygon with step angle theta placed at r * this factor give the
 * polygon the area of the circle of radius r (chords inside, vertices just outside), so
 * small discs and caps are not systematically too small. */
static double area_radius_scale(double theta) {
    double s, c;
    fe__det_sincos(theta, &s, &c);
    return sqrt(theta / s);
}

fe_status fe__cov_ellipse(fe__cov *c, float cx, float cy, float rx, float ry, float angle) {
    if (!c || !c->v) return fe__fail(FE_E_ARG, "coverage is NULL");
    if (!(rx > 0) || !(ry > 0) || !isfinite(rx) || !isfinite(ry) || !isfinite(cx) ||
        !isfinite(cy) || !isfinite(angle))
        return FE_OK;
    size_t n = circle_steps(rx > ry ? rx : ry);
    float *xy = fe__malloc(2 * n * sizeof *xy);
    if (!xy) return fe__fail(FE_E_NOMEM, "cannot allocate ellipse points");
    double sa, ca;
    fe__det_sincos(angle, &sa, &ca);
    double g = area_radius_scale(2.0 * PI_D / (double)n);
    for (size_t k = 0; k < n; k++) {
        double st, ct;
        fe__det_sincos(2.0 * PI_D * (double)k / (double)n, &st, &ct);
        double X = g * rx * ct, Y = g * ry * st;
        /* axis turned CCW as displayed: (1, 0) -> (cos, -sin) in y-down coordinates */
        xy[2 * k] = (float)(cx + X * ca + Y * sa);
        xy[2 * k + 1] = (float)(cy - X * sa + Y * ca);
    }
    fe_status st = fe__cov_polygon(c, xy, n, FE__FILL_NONZERO);
    fe__free(xy);
    return st;
}

fe_status fe__cov_line(fe__cov *c, float x0, float y0, float x1, float y1, float width,
                       fe__line_cap cap) {
    if (!c || !c->v) return fe__fail(FE_E_ARG, "coverage is NULL");
    if (!(width > 0) || !isfinite(width) || !isfinite(x0) || !isfinite(y0) || !isfinite(x1) ||
        !isfinite(y1))
        return FE_OK;
    double dx = (double)x1 - x0, dy = (double)y1 - y0, len = sqrt(dx * dx + dy * dy);
    double hw = 0.5 * width;
    if (len < 1e-9) {
        if (cap == FE__CAP_ROUND) return fe__cov_ellipse(c, x0, y0, (float)hw, (float)hw, 0);
        if (cap == FE__CAP_SQUARE) {
            float q[8] = {(float)(x0 - hw), (float)(y0 - hw), (float)(x0 + hw), (float)(y0 - hw),
                          (float)(x0 + hw), (float)(y0 + hw), (float)(x0 - hw), (float)(y0 + hw)};
            return fe__cov_polygon(c, q, 4, FE__FILL_NONZERO);
        }
        return FE_OK;
    }
    double tx = dx / len, ty = dy / len, nx = -ty * hw, ny = tx * hw;
    if (cap != FE__CAP_ROUND) {
        double ex = cap == FE__CAP_SQUARE ? tx * hw : 0, ey = cap == FE__CAP_SQUARE ? ty * hw : 0;
        float q[8] = {(float)(x0 - ex + nx), (float)(y0 - ey + ny), (float)(x1 + ex + nx),
                      (float)(y1 + ey + ny), (float)(x1 + ex - nx), (float)(y1 + ey - ny),
                      (float)(x0 - ex - nx), (float)(y0 - ey - ny)};
        return fe__cov_polygon(c, q, 4, FE__FILL_NONZERO);
    }
    /* stadium: half circle around p1 from +n through +t to -n, then around p0 back */
    size_t m = circle_steps(hw) / 2 + 1;  /* points per half circle, both ends included */
    float stack_xy[4 * 130];              /* enough up to a width of about 500 px */
    float *xy = m <= 130 ? stack_xy : fe__malloc(4 * m * sizeof *xy);
    if (!xy) return fe__fail(FE_E_NOMEM, "cannot allocate line points");
    double g = area_radius_scale(PI_D / (double)(m - 1));
    for (size_t k = 0; k < m; k++) {
        double s, co;
        fe__det_sincos(PI_D * (double)k / (double)(m - 1), &s, &co);
        if (k > 0 && k + 1 < m) {  /* the end points stay on the straight sides */
            s *= g;
            co *= g;
        }
        xy[2 * k] = (float)(x1 + co * nx + s * tx * hw);
        xy[2 * k + 1] = (float)(y1 + co * ny + s * ty * hw);
        xy[2 * (m + k)] = (float)(x0 - co * nx - s * tx * hw);
        xy[2 * (m + k) + 1] = (float)(y0 - co * ny - s * ty * hw);
    }
    fe_status st = fe__cov_polygon(c, xy, 2 * m, FE__FILL_NONZERO);
    if (xy != stack_xy) fe__free(xy);
    return st;
}

void fe__cov_blend(fe_image *img, const fe__cov *c, fe__rgba color) {
    if (!image_ok(img) || !c || !c->v) return;
    float rgb[3], gray;
    color_src(color, rgb, &gray);
    float ka = (float)color.a / 255.0f;
    uint32_t C = img->channels;
    for (uint32_t j = 0; j < c->h; j++) {
        int64_t y = (int64_t)c->y0 + j;
        if (y < 0 || y >= img->height) continue;
        for (uint32_t i = 0; i < c->w; i++) {
            int64_t x = (int64_t)c->x0 + i;
            float cv = c->v[(size_t)j * c->w + i];
            if (cv <= 0.0f || x < 0 || x >= img->width) continue;
            blend_px(img->data + ((size_t)y * img->width + (size_t)x) * C, C, rgb, gray, cv * ka);
        }
    }
}

/* ---- direct drawing: a coverage window over the shape's bounding box ------------------- */

/* Window over [xmin, xmax] x [ymin, ymax] (+1 px margin) clipped to the image; *empty = 1
 * when nothing of it is visible (or the box is not finite). */
static fe_status bbox_window(const fe_image *img, double xmin, double ymin, double xmax,
                             double ymax, fe__cov *c, int *empty) {
    memset(c, 0, sizeof *c);
    *empty = 1;
    if (!image_ok(img)) return fe__fail(FE_E_ARG, "image is NULL or malformed");
    if (!(xmin <= xmax && ymin <= ymax) || !isfinite(xmin) || !isfinite(xmax) ||
        !isfinite(ymin) || !isfinite(ymax))
        return FE_OK;
    double xa = floor(xmin) - 1, xb = ceil(xmax) + 1, ya = floor(ymin) - 1, yb = ceil(ymax) + 1;
    if (xa < 0) xa = 0;
    if (ya < 0) ya = 0;
    if (xb > img->width - 1.0) xb = img->width - 1.0;
    if (yb > img->height - 1.0) yb = img->height - 1.0;
    if (xa > xb || ya > yb) return FE_OK;
    *empty = 0;
    return fe__cov_create(c, (int32_t)xa, (int32_t)ya, (uint32_t)(xb - xa + 1), (uint32_t)(yb - ya + 1));
}

static void points_bbox(const float *xy, size_t n, double pad, double b[4]) {
    b[0] = b[1] = INFINITY;
    b[2] = b[3] = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (xy[2 * i] < b[0]) b[0] = xy[2 * i];
        if (xy[2 * i] > b[2]) b[2] = xy[2 * i];
        if (xy[2 * i + 1] < b[1]) b[1] = xy[2 * i + 1];
        if (xy[2 * i + 1] > b[3]) b[3] = xy[2 * i + 1];
    }
    b[0] -= pad;
    b[1] -= pad;
    b[2] += pad;
    b[3] += pad;
}

fe_status fe__draw_contours(fe_image *img, const fe__contour *contours, size_t n_contours,
                            fe__fill_rule rule, fe__rgba color) {
    if (!contours && n_contours) return fe__fail(FE_E_ARG, "contours is NULL");
    double b[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t k = 0; k < n_contours; k++) {
        if (!contours[k].xy) continue;
        double bk[4];
        points_bbox(contours[k].xy, contours[k].n, 0, bk);
        if (bk[0] < b[0]) b[0] = bk[0];
        if (bk[1] < b[1]) b[1] = bk[1];
        if (bk[2] > b[2]) b[2] = bk[2];
        if (bk[3] > b[3]) b[3] = bk[3];
    }
    fe__cov c;
    int empty;
    fe_status st = bbox_window(img, b[0], b[1], b[2], b[3], &c, &empty);
    if (st != FE_OK || empty) return st;
    st = fe__cov_contours(&c, contours, n_contours, rule);
    if (st == FE_OK) fe__cov_blend(img, &c, color);
    fe__cov_free(&c);
    return st;
}

fe_status fe__draw_polygon(fe_image *img, const float *xy, size_t n, fe__fill_rule rule,
                           fe__rgba color) {
    fe__contour ct = {xy, n};
    return fe__draw_contours(img, &ct, 1, rule, color);
}

fe_status fe__draw_ellipse(fe_image *img, float cx, float cy, float rx, float ry, float angle,
                           fe__rgba color) {
    double r = rx > ry ? rx : ry;
    fe__cov c;
    int empty;
    fe_status st = bbox_window(img, cx - r, cy - r, cx + r, cy + r, &c, &empty);
    if (st != FE_OK || empty) return st;
    st = fe__cov_ellipse(&c, cx, cy, rx, ry, angle);
    if (st == FE_OK) fe__cov_blend(img, &c, color);
    fe__cov_free(&c);
    return st;
}

fe_status fe__draw_line(fe_image *img, float x0, float y0, float x1, float y1, float width,
                        fe__line_cap cap, fe__rgba color) {
    float xy[4] = {x0, y0, x1, y1};
    return fe__draw_polyline_caps(img, xy, 2, 0, width, cap, color);
}

fe_status fe__draw_polyline_caps(fe_image *img, const float *xy, size_t n, int closed,
                                 float width, fe__line_cap cap, fe__rgba color) {
    if (!xy || n == 0) return n ? fe__fail(FE_E_ARG, "points are NULL") : FE_OK;
    double b[4];
    points_bbox(xy, n, 0.75 * (double)width + 1.0, b);  /* square caps reach width/sqrt(2) */
    fe__cov c;
    int empty;
    fe_status st = bbox_window(img, b[0], b[1], b[2], b[3], &c, &empty);
    if (st != FE_OK || empty) return st;
    size_t segs = n == 1 ? 1 : closed ? n : n - 1;
    for (size_t i = 0; i < segs && st == FE_OK; i++) {
        size_t j = n == 1 ? 0 : (i + 1) % n;
        st = fe__cov_line(&c, xy[2 * i], xy[2 * i + 1], xy[2 * j], xy[2 * j + 1], width, cap);
    }
    if (st == FE_OK) fe__cov_blend(img, &c, color);
    fe__cov_free(&c);
    return st;
}

fe_status fe__draw_polyline(fe_image *img, const float *xy, size_t n, int closed, float width,
                            fe__rgba color) {
    return fe__draw_polyline_caps(img, xy, n, closed, width, FE__CAP_ROUND, color);
}

/* ======================================================================================== */
/* Blit, heat map, grid                                                                     */
/* ======================================================================================== */

/* Same taps and arithmetic as image_geom's bilinear resize: edge-clamped coordinates, float
 * weights, horizontal then vertical interpolation. */
float fe__draw_sample_bilinear(const fe_image *img, double x, double y, uint32_t ch) {
    if (!image_ok(img) || ch >= img->channels) return 0.0f;
    const uint32_t W = img->width, H = img->height, C = img->channels;
    double sx = x, sy = y;
    if (!(sx > 0)) sx = 0;
    if (sx > W - 1.0) sx = W - 1.0;
    if (!(sy > 0)) sy = 0;
    if (sy > H - 1.0) sy = H - 1.0;
    uint32_t x0 = (uint32_t)sx, y0 = (uint32_t)sy;
    uint32_t x1 = x0 + 1 < W ? x0 + 1 : W - 1, y1 = y0 + 1 < H ? y0 + 1 : H - 1;
    float fx = (float)(sx - x0), fy = (float)(sy - y0);
    const uint8_t *r0 = img->data + (size_t)y0 * W * C, *r1 = img->data + (size_t)y1 * W * C;
    float top = (float)r0[(size_t)x0 * C + ch] * (1.0f - fx) + (float)r0[(size_t)x1 * C + ch] * fx;
    float bot = (float)r1[(size_t)x0 * C + ch] * (1.0f - fx) + (float)r1[(size_t)x1 * C + ch] * fx;
    return top * (1.0f - fy) + bot * fy;
}

void fe__draw_blit(fe_image *dst, const fe_image *src, int32_t x, int32_t y, uint32_t w,
                   uint32_t h, fe__sample sampling, float alpha) {
    if (!image_ok(dst) || !image_ok(src) || w == 0 || h == 0 || !(alpha > 0)) return;
    if (alpha > 1) alpha = 1;
    const uint32_t SC = src->channels, DC = dst->channels;
    const int src_has_alpha = SC == 2 || SC == 4, src_gray = SC <= 2;
    int64_t ia = x < 0 ? -(int64_t)x : 0, ja = y < 0 ? -(int64_t)y : 0;
    int64_t ib = (int64_t)w, jb = (int64_t)h;
    if ((int64_t)x + ib > dst->width) ib = (int64_t)dst->width - x;
    if ((int64_t)y + jb > dst->height) jb = (int64_t)dst->height - y;
    const double sxs = (double)src->width / w, sys = (double)src->height / h;
    for (int64_t j = ja; j < jb; j++) {
        uint8_t *p = dst->data + ((size_t)(y + j) * dst->width + (size_t)(x + ia)) * DC;
        for (int64_t i = ia; i < ib; i++, p += DC) {
            float v[4];
            if (sampling == FE__SAMPLE_NEAREST) {
                uint64_t sx = (uint64_t)(((double)i + 0.5) * sxs), sy = (uint64_t)(((double)j + 0.5) * sys);
                if (sx >= src->width) sx = src->width - 1;
                if (sy >= src->height) sy = src->height - 1;
                const uint8_t *s = src->data + ((size_t)sy * src->width + (size_t)sx) * SC;
                for (uint32_t k = 0; k < SC; k++) v[k] = s[k];
            } else {
                double fx = ((double)i + 0.5) * sxs - 0.5, fy = ((double)j + 0.5) * sys - 0.5;
                for (uint32_t k = 0; k < SC; k++) v[k] = fe__draw_sample_bilinear(src, fx, fy, k);
            }
            float rgb[3], gray;
            if (src_gray) {
                rgb[0] = rgb[1] = rgb[2] = gray = v[0];
            } else {
                rgb[0] = v[0];
                rgb[1] = v[1];
                rgb[2] = v[2];
                gray = (77.0f * v[0] + 150.0f * v[1] + 29.0f * v[2]) / 256.0f;
            }
            float k = alpha;
            if (src_has_alpha) k *= v[SC - 1] / 255.0f;
            blend_px(p, DC, rgb, gray, k);
        }
    }
}

/* Nine stops of our own: lightness L* about 1.5, 10, 22, 32, 44, 56, 68, 82, 97 (roughly even
 * steps, so equal value steps read as equal brightness steps), hue from blue-violet through
 * magenta and red to orange and pale yellow. */
static const uint8_t heat_stops[9][3] = {
    {4, 4, 20},    {35, 12, 75},  {85, 15, 110}, {135, 30, 105}, {185, 55, 85},
    {225, 90, 55}, {245, 140, 30}, {250, 195, 45}, {252, 250, 165}};

void fe__draw_heat_color(float t, uint8_t rgb[3]) {
    if (!(t > 0)) t = 0;  /* NaN -> 0 */
    if (t > 1) t = 1;
    float u = t * 8.0f;
    int i = (int)u;
    if (i > 7) i = 7;
    float f = u - (float)i;
    for (int k = 0; k < 3; k++)
        rgb[k] = round_u8((float)heat_stops[i][k] * (1.0f - f) + (float)heat_stops[i + 1][k] * f);
}

void fe__draw_heatmap(fe_image *img, int32_t x, int32_t y, uint32_t w, uint32_t h,
                      const float *values, uint32_t gw, uint32_t gh, float vmin, float vmax,
                      float alpha) {
    if (!image_ok(img) || !values || gw == 0 || gh == 0 || w == 0 || h == 0) return;
    float span = vmax - vmin;
    for (uint32_t cy = 0; cy < gh; cy++) {
        int64_t ya = y + (int64_t)((uint64_t)cy * h / gh), yb = y + (int64_t)((uint64_t)(cy + 1) * h / gh);
        for (uint32_t cx = 0; cx < gw; cx++) {
            int64_t xa = x + (int64_t)((uint64_t)cx * w / gw), xb = x + (int64_t)((uint64_t)(cx + 1) * w / gw);
            float v = values[(size_t)cy * gw + cx];
            float t = span > 0 ? (v - vmin) / span : 0.0f;
            uint8_t rgb[3];
            fe__draw_heat_color(t, rgb);
            fe__rgba col = fe__rgba_make(rgb[0], rgb[1], rgb[2], 255);
            for (int64_t j = ya; j < yb; j++)
                for (int64_t i = xa; i < xb; i++)
                    if (i >= INT32_MIN && i <= INT32_MAX && j >= INT32_MIN && j <= INT32_MAX)
                        fe__draw_blend_pixel(img, (int32_t)i, (int32_t)j, col, alpha);
        }
    }
}

void fe__draw_grid(fe_image *img, int32_t x, int32_t y, uint32_t w, uint32_t h, uint32_t nx,
                   uint32_t ny, uint32_t thickness, fe__rgba color) {
    if (!image_ok(img) || w == 0 || h == 0 || nx == 0 || ny == 0 || thickness == 0) return;
    if (w > INT32_MAX || h > INT32_MAX || thickness > INT32_MAX) return;
    /* vertical lines, then horizontal ones skipping the crossings already drawn, so a
     * translucent colour is blended once per pixel */
    int32_t t = (int32_t)thickness;
    for (uint32_t k = 0; k <= nx; k++) {
        int64_t cx = k < nx ? x + (int64_t)((uint64_t)k * w / nx) : (int64_t)x + w - t;
        if (cx < INT32_MIN || cx > INT32_MAX) continue;
        fe__draw_fill_rect(img, (int32_t)cx, y, t, (int32_t)h, color);
    }
    for (uint32_t k = 0; k <= ny; k++) {
        int64_t ry = k < ny ? y + (int64_t)((uint64_t)k * h / ny) : (int64_t)y + h - t;
        if (ry < INT32_MIN || ry > INT32_MAX) continue;
        /* the row segments between vertical lines */
        for (uint32_t q = 0; q < nx; q++) {
            int64_t xa = x + (int64_t)((uint64_t)q * w / nx) + t;
            int64_t xb = q + 1 < nx ? x + (int64_t)((uint64_t)(q + 1) * w / nx) : (int64_t)x + w - t;
            if (xb > xa && xa >= INT32_MIN && xa <= INT32_MAX)
                fe__draw_fill_rect(img, (int32_t)xa, (int32_t)ry, (int32_t)(xb - xa), t, color);
        }
    }
}
