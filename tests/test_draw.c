/*
 * test_draw.c — golden pixel tests for the drawing primitives (draw.c) and the bitmap font
 * (font.c): hand-computable coverages (full and half pixels, exact triangle areas, fill
 * rules), shapes against an independent supersampled reference, the blending and rounding
 * rule, blits, the heat ramp, grids, deterministic sin/cos/exp, and text against bitmaps
 * written out by hand. Each golden comparison has a negative control.
 */
#include "test.h"
#include "draw.h"
#include "font.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static fe_image *gray_image(uint32_t w, uint32_t h, uint8_t v) {
    fe_image *img = NULL;
    if (fe_image_create(w, h, 1, &img) != FE_OK) return NULL;
    memset(img->data, v, (size_t)w * h);
    return img;
}

static const fe__rgba WHITE = {255, 255, 255, 255};

/* coverage of the whole image for a polygon, in a fresh window */
static fe_status poly_cov(fe__cov *c, uint32_t w, uint32_t h, const float *xy, size_t n,
                          fe__fill_rule rule) {
    fe_status st = fe__cov_create(c, 0, 0, w, h);
    if (st != FE_OK) return st;
    return fe__cov_polygon(c, xy, n, rule);
}

static double cov_sum(const fe__cov *c) {
    double s = 0;
    for (size_t i = 0; i < (size_t)c->w * c->h; i++) s += c->v[i];
    return s;
}

/* ---- independent reference: point sampling on an S x S grid inside each pixel ----------- */

typedef int (*inside_fn)(double x, double y, const void *ctx);

/* convex polygon, either orientation: inside when all edge cross products share a sign */
static int inside_convex(double x, double y, const void *ctx) {
    const float *p = ctx;
    int n = (int)p[0];
    const float *xy = p + 1;
    int pos = 0, neg = 0;
    for (int i = 0; i < n; i++) {
        int j = (i + 1) % n;
        double cr = ((double)xy[2 * j] - xy[2 * i]) * (y - xy[2 * i + 1]) -
                    ((double)xy[2 * j + 1] - xy[2 * i + 1]) * (x - xy[2 * i]);
        pos += cr > 0;
        neg += cr < 0;
    }
    return pos == 0 || neg == 0;
}

typedef struct ell { double cx, cy, rx, ry, ang; } ell;
static int inside_ellipse(double x, double y, const void *ctx) {
    const ell *e = ctx;
    double dx = x - e->cx, dy = y - e->cy;
    /* undo the CCW-as-displayed turn: X = dx cos - dy sin, Y = dx sin + dy cos */
    double X = dx * cos(e->ang) - dy * sin(e->ang), Y = dx * sin(e->ang) + dy * cos(e->ang);
    return (X / e->rx) * (X / e->rx) + (Y / e->ry) * (Y / e->ry) <= 1.0;
}

static double ref_cov(int px, int py, inside_fn f, const void *ctx) {
    const int S = 64;
    int in = 0;
    for (int b = 0; b < S; b++)
        for (int a = 0; a < S; a++)
            in += f(px - 0.5 + (a + 0.5) / S, py - 0.5 + (b + 0.5) / S, ctx);
    return (double)in / (S * S);
}

static double worst_vs_ref(const fe__cov *c, inside_fn f, const void *ctx, int *wx, int *wy) {
    double worst = 0;
    for (uint32_t y = 0; y < c->h; y++)
        for (uint32_t x = 0; x < c->w; x++) {
            double d = fabs(c->v[y * c->w + x] - ref_cov((int)x, (int)y, f, ctx));
            if (d > worst) { worst = d; *wx = (int)x; *wy = (int)y; }
        }
    return worst;
}

/* ======================================================================================== */

FE_TEST(draw_polygon_full_pixel_square_exact) {
    /* square with edges on pixel boundaries: pixels 2..3 x 2..3 exactly, in both windings */
    const float cw[8] = {1.5f, 1.5f, 3.5f, 1.5f, 3.5f, 3.5f, 1.5f, 3.5f};
    const float ccw[8] = {1.5f, 1.5f, 1.5f, 3.5f, 3.5f, 3.5f, 3.5f, 1.5f};
    for (int pass = 0; pass < 2; pass++) {
        fe_image *img = gray_image(8, 8, 0);
        CHECK(img);
        CHECK_OK(fe__draw_polygon(img, pass ? ccw : cw, 4, FE__FILL_NONZERO, WHITE));
        int bad = 0;
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                int want = (x >= 2 && x <= 3 && y >= 2 && y <= 3) ? 255 : 0;
                bad += img->data[y * 8 + x] != want;
            }
        fe_image_free(img);
        CHECK_MSG(bad == 0, "%d pixels differ (pass %d)", bad, pass);
    }
}

FE_TEST(draw_polygon_half_pixel_edges) {
    /* edges through pixel centres: corners 1/4, edges 1/2, inside 1 — exactly */
    const float sq[8] = {1, 1, 4, 1, 4, 4, 1, 4};
    fe__cov c;
    CHECK_OK(poly_cov(&c, 6, 6, sq, 4, FE__FILL_NONZERO));
    int bad = 0, compared = 0;
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 6; x++) {
            double fx = (x == 1 || x == 4) ? 0.5 : (x >= 2 && x <= 3) ? 1 : 0;
            double fy = (y == 1 || y == 4) ? 0.5 : (y >= 2 && y <= 3) ? 1 : 0;
            bad += c.v[y * 6 + x] != (float)(fx * fy);
            compared++;
        }
    CHECK_MSG(bad == 0, "%d of %d coverages differ", bad, compared);
    CHECK(c.v[1 * 6 + 2] == 0.5f && c.v[1 * 6 + 1] == 0.25f);
    /* blended: 0.5 * 255 = 127.5 rounds half up to 128, 0.25 -> 63.75 -> 64 */
    fe_image *img = gray_image(6, 6, 0);
    CHECK(img);
    fe__cov_blend(img, &c, WHITE);
    CHECK(img->data[1 * 6 + 2] == 128 && img->data[1 * 6 + 1] == 64 && img->data[2 * 6 + 2] == 255);
    /* negative control: the same comparison on a square shifted by 1/8 px fails */
    const float sh[8] = {1.125f, 1, 4.125f, 1, 4.125f, 4, 1.125f, 4};
    fe__cov d;
    CHECK_OK(poly_cov(&d, 6, 6, sh, 4, FE__FILL_NONZERO));
    CHECK(d.v[1 * 6 + 1] != 0.25f && d.v[2 * 6 + 1] != 0.5f);
    NOTE("%d exact coverages", compared);
    fe__cov_free(&c);
    fe__cov_free(&d);
    fe_image_free(img);
}

FE_TEST(draw_polygon_triangle_exact_area) {
    /* the upper-left half of an 8x8 image: pixel (i,j) is 1 above the diagonal, 1/2 on it,
     * 0 below. The span length is linear in y, so the sub-scanline midpoint rule is exact. */
    const float tri[6] = {-0.5f, -0.5f, 7.5f, -0.5f, -0.5f, 7.5f};
    fe__cov c;
    CHECK_OK(poly_cov(&c, 8, 8, tri, 3, FE__FILL_EVENODD));
    double worst = 0;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            double want = x + y < 7 ? 1 : x + y == 7 ? 0.5 : 0;
            double d = fabs(c.v[y * 8 + x] - want);
            if (d > worst) worst = d;
        }
    NOTE("worst |cov - exact| %.2g, area %.9g (exact 32)", worst, cov_sum(&c));
    CHECK(worst <= 1e-6);
    CHECK_NEAR(cov_sum(&c), 32.0, 1e-5);
    fe__cov_free(&c);
}

FE_TEST(draw_fill_rules) {
    /* two overlapping squares of the same orientation: NONZERO merges (coverage 1, not 2),
     * EVENODD leaves the overlap empty */
    const float a[8] = {-0.5f, -0.5f, 3.5f, -0.5f, 3.5f, 3.5f, -0.5f, 3.5f};
    const float b[8] = {1.5f, 1.5f, 5.5f, 1.5f, 5.5f, 5.5f, 1.5f, 5.5f};
    const float inner_rev[8] = {1.5f, 1.5f, 1.5f, 2.5f, 2.5f, 2.5f, 2.5f, 1.5f};
    const float inner_same[8] = {1.5f, 1.5f, 2.5f, 1.5f, 2.5f, 2.5f, 1.5f, 2.5f};
    fe__contour two[2] = {{a, 4}, {b, 4}};
    fe__cov nz, eo;
    CHECK_OK(fe__cov_create(&nz, 0, 0, 6, 6));
    CHECK_OK(fe__cov_create(&eo, 0, 0, 6, 6));
    CHECK_OK(fe__cov_contours(&nz, two, 2, FE__FILL_NONZERO));
    CHECK_OK(fe__cov_contours(&eo, two, 2, FE__FILL_EVENODD));
    CHECK(nz.v[2 * 6 + 2] == 1.0f && eo.v[2 * 6 + 2] == 0.0f);  /* overlap */
    CHECK(nz.v[0] == 1.0f && eo.v[0] == 1.0f && nz.v[5 * 6 + 5] == 1.0f && eo.v[5 * 6 + 5] == 1.0f);
    CHECK(nz.v[5] == 0.0f && eo.v[5] == 0.0f);                 /* outside both */
    CHECK_NEAR(cov_sum(&nz), 16 + 16 - 4, 1e-6);
    CHECK_NEAR(cov_sum(&eo), 16 + 16 - 8, 1e-6);
    /* a nested contour of opposite orientation is a hole under both rules; of the same
     * orientation only EVENODD makes a hole */
    fe__contour rev[2] = {{a, 4}, {inner_rev, 4}}, same[2] = {{a, 4}, {inner_same, 4}};
    fe__cov_clear(&nz);
    fe__cov_clear(&eo);
    CHECK_OK(fe__cov_contours(&nz, rev, 2, FE__FILL_NONZERO));
    CHECK_OK(fe__cov_contours(&eo, rev, 2, FE__FILL_EVENODD));
    CHECK(nz.v[2 * 6 + 2] == 0.0f && eo.v[2 * 6 + 2] == 0.0f && nz.v[0] == 1.0f);
    fe__cov_clear(&nz);
    fe__cov_clear(&eo);
    CHECK_OK(fe__cov_contours(&nz, same, 2, FE__FILL_NONZERO));
    CHECK_OK(fe__cov_contours(&eo, same, 2, FE__FILL_EVENODD));
    CHECK(nz.v[2 * 6 + 2] == 1.0f && eo.v[2 * 6 + 2] == 0.0f);
    fe__cov_free(&nz);
    fe__cov_free(&eo);
}

FE_TEST(draw_polygon_matches_supersampled_reference) {
    /* a square of side 9 turned by 30 degrees: per-pixel coverage against 64x64 point
     * sampling. Bound: 1/32 (sub-scanline rounding) + 1/64 (reference) per crossing edge. */
    float poly[1 + 8];
    poly[0] = 4;
    float *xy = poly + 1;
    double s30 = 0.5, c30 = sqrt(3.0) / 2;
    const double cx = 10.3, cy = 9.7, h = 4.5;
    const double corners[4][2] = {{-h, -h}, {h, -h}, {h, h}, {-h, h}};
    for (int k = 0; k < 4; k++) {
        xy[2 * k] = (float)(cx + corners[k][0] * c30 - corners[k][1] * s30);
        xy[2 * k + 1] = (float)(cy + corners[k][0] * s30 + corners[k][1] * c30);
    }
    fe__cov c;
    CHECK_OK(poly_cov(&c, 20, 20, xy, 4, FE__FILL_NONZERO));
    int wx = 0, wy = 0;
    double worst = worst_vs_ref(&c, inside_convex, poly, &wx, &wy);
    NOTE("worst |cov - ref| %.4f at (%d,%d); area %.4f (exact 81)", worst, wx, wy, cov_sum(&c));
    CHECK(worst <= 0.05);
    CHECK_NEAR(cov_sum(&c), 81.0, 0.05);
    /* negative control: a copy moved by 0.3 px fails the same comparison */
    for (int k = 0; k < 4; k++) xy[2 * k] += 0.3f;
    CHECK(worst_vs_ref(&c, inside_convex, poly, &wx, &wy) > 0.05);
    fe__cov_free(&c);
}

FE_TEST(draw_ellipse_against_reference) {
    ell e = {24.2, 20.6, 15.0, 7.0, 0.6};
    fe__cov c;
    CHECK_OK(fe__cov_create(&c, 0, 0, 48, 42));
    CHECK_OK(fe__cov_ellipse(&c, (float)e.cx, (float)e.cy, (float)e.rx, (float)e.ry, (float)e.ang));
    int wx = 0, wy = 0;
    double worst = worst_vs_ref(&c, inside_ellipse, &e, &wx, &wy);
    double area = cov_sum(&c), exact = 3.14159265358979 * e.rx * e.ry;
    NOTE("worst |cov - ref| %.4f at (%d,%d); area %.3f vs pi*a*b %.3f", worst, wx, wy, area, exact);
    CHECK(worst <= 0.06);
    CHECK(fabs(area - exact) / exact <= 0.003);
    /* the angle turns counter-clockwise as displayed: the +x end of the major axis goes up */
    double ux = e.cx + 12 * cos(e.ang), uy = e.cy - 12 * sin(e.ang);
    CHECK(c.v[(int)lround(uy) * 48 + (int)lround(ux)] == 1.0f);
    CHECK(c.v[(int)lround(e.cy + 12 * sin(e.ang)) * 48 + (int)lround(ux)] == 0.0f);
    /* negative control */
    e.ang = -e.ang;
    CHECK(worst_vs_ref(&c, inside_ellipse, &e, &wx, &wy) > 0.5);
    fe__cov_free(&c);
}

FE_TEST(draw_thick_lines) {
    fe__cov c;
    CHECK_OK(fe__cov_create(&c, 0, 0, 10, 10));
    /* width 2 from x 0.5 to 7.5 at y 3.5: exactly pixels 1..7 of rows 3 and 4 */
    CHECK_OK(fe__cov_line(&c, 0.5f, 3.5f, 7.5f, 3.5f, 2.0f, FE__CAP_BUTT));
    int bad = 0;
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++)
            bad += c.v[y * 10 + x] != ((x >= 1 && x <= 7 && (y == 3 || y == 4)) ? 1.0f : 0.0f);
    CHECK_MSG(bad == 0, "butt line: %d pixels differ", bad);
    /* width 1 centred on pixel boundary y = 6.5: rows 6 and 7 half covered */
    fe__cov_clear(&c);
    CHECK_OK(fe__cov_line(&c, 1.5f, 6.5f, 3.5f, 6.5f, 1.0f, FE__CAP_BUTT));
    CHECK(c.v[6 * 10 + 2] == 0.5f && c.v[7 * 10 + 3] == 0.5f && c.v[5 * 10 + 2] == 0.0f);
    CHECK_NEAR(cov_sum(&c), 2.0, 1e-6);
    /* square caps add width/2 at each end; round caps add a disc of diameter width */
    fe__cov_clear(&c);
    CHECK_OK(fe__cov_line(&c, 2.5f, 4.5f, 6.5f, 4.5f, 2.0f, FE__CAP_SQUARE));
    CHECK_NEAR(cov_sum(&c), 6.0 * 2.0, 1e-6);
    fe__cov_clear(&c);
    CHECK_OK(fe__cov_line(&c, 2.5f, 4.3f, 6.5f, 5.1f, 3.0f, FE__CAP_ROUND));
    double len = sqrt(16.0 + 0.64), want = len * 3.0 + 3.14159265358979 * 1.5 * 1.5;
    NOTE("round-capped line area %.4f, exact %.4f", cov_sum(&c), want);
    CHECK(fabs(cov_sum(&c) - want) / want < 0.005);
    /* a diagonal butt line's area (away from the window edges) */
    fe__cov_clear(&c);
    CHECK_OK(fe__cov_line(&c, 2.0f, 2.0f, 7.0f, 7.0f, 1.5f, FE__CAP_BUTT));
    CHECK_NEAR(cov_sum(&c), sqrt(50.0) * 1.5, 0.03);
    /* zero length: round draws a disc, butt nothing */
    fe__cov_clear(&c);
    CHECK_OK(fe__cov_line(&c, 5, 5, 5, 5, 4.0f, FE__CAP_BUTT));
    CHECK(cov_sum(&c) == 0.0);
    CHECK_OK(fe__cov_line(&c, 5, 5, 5, 5, 4.0f, FE__CAP_ROUND));
    CHECK_NEAR(cov_sum(&c), 3.14159265 * 4.0, 0.1);
    fe__cov_free(&c);
}

FE_TEST(draw_polyline_blends_each_pixel_once) {
    /* a translucent closed polyline: where segments overlap (the joints) the pixel is blended
     * once, so no pixel is darker than a plain segment pixel */
    fe_image *img = gray_image(20, 20, 200);
    CHECK(img);
    const float pts[8] = {4, 4, 15, 4, 15, 15, 4, 15};
    CHECK_OK(fe__draw_polyline(img, pts, 4, 1, 3.0f, fe__rgba_make(0, 0, 0, 128)));
    /* 200 - 200 * 128/255 = 99.607 -> 100 on full coverage */
    int lo = 255;
    for (int i = 0; i < 400; i++) if (img->data[i] < lo) lo = img->data[i];
    CHECK_MSG(lo == 100, "darkest pixel %d, expected 100 (one blend)", lo);
    CHECK(img->data[4 * 20 + 4] == 100 && img->data[4 * 20 + 10] == 100);
    CHECK(img->data[10 * 20 + 10] == 200);  /* inside untouched */
    fe_image_free(img);
}

FE_TEST(draw_blend_rule_and_channels) {
    fe_image *g = gray_image(2, 1, 0), *rgb = NULL, *ga = NULL, *rgba = NULL;
    CHECK(g);
    fe__draw_blend_pixel(g, 0, 0, WHITE, 0.5f);
    CHECK(g->data[0] == 128);  /* 127.5 rounds half up */
    g->data[1] = 100;
    fe__draw_blend_pixel(g, 1, 0, fe__rgba_make(200, 200, 200, 128), 1.0f);
    CHECK(g->data[1] == 150);  /* 100 + 100 * 128/255 = 150.2 */
    /* gray destination takes the colour's luma: (77*255 + 128) >> 8 = 77 for pure red */
    g->data[0] = 0;
    fe__draw_blend_pixel(g, 0, 0, fe__rgba_make(255, 0, 0, 255), 1.0f);
    CHECK(g->data[0] == 77);
    /* out-of-image pixels are ignored */
    fe__draw_blend_pixel(g, -1, 0, WHITE, 1.0f);
    fe__draw_blend_pixel(g, 2, 0, WHITE, 1.0f);
    CHECK_OK(fe_image_create(1, 1, 3, &rgb));
    rgb->data[0] = 10; rgb->data[1] = 20; rgb->data[2] = 30;
    fe__draw_tint(rgb, fe__rgba_make(110, 220, 30, 51));  /* k = 0.2 */
    CHECK(rgb->data[0] == 30 && rgb->data[1] == 60 && rgb->data[2] == 30);
    /* "over" onto a transparent destination keeps the colour and sets alpha = k */
    CHECK_OK(fe_image_create(1, 1, 4, &rgba));
    fe__draw_blend_pixel(rgba, 0, 0, fe__rgba_make(200, 100, 50, 255), 0.5f);
    CHECK(rgba->data[0] == 200 && rgba->data[1] == 100 && rgba->data[2] == 50 && rgba->data[3] == 128);
    /* over an opaque destination it is the plain rule */
    rgba->data[0] = 0; rgba->data[3] = 255;
    fe__draw_blend_pixel(rgba, 0, 0, fe__rgba_make(255, 100, 50, 255), 0.5f);
    CHECK(rgba->data[0] == 128 && rgba->data[3] == 255);
    CHECK_OK(fe_image_create(1, 1, 2, &ga));
    fe__draw_blend_pixel(ga, 0, 0, WHITE, 0.25f);
    CHECK(ga->data[0] == 255 && ga->data[1] == 64);
    fe_image_free(g);
    fe_image_free(rgb);
    fe_image_free(ga);
    fe_image_free(rgba);
}

FE_TEST(draw_fill_rect_clipping) {
    fe_image *img = gray_image(6, 5, 0);
    CHECK(img);
    fe__draw_fill_rect(img, -2, 3, 4, 9, WHITE);  /* x 0..1, y 3..4 */
    fe__draw_fill_rect(img, 5, -100, 100, 101, WHITE);  /* x 5, y 0 */
    fe__draw_fill_rect(img, INT32_MAX - 1, 0, INT32_MAX, 5, WHITE);
    fe__draw_fill_rect(img, INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX, WHITE);
    fe__draw_fill_rect(img, 0, 0, 0, 5, WHITE);
    fe__draw_fill_rect(img, 0, 0, -3, 5, WHITE);
    int n = 0;
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 6; x++) {
            int want = ((x <= 1 && y >= 3) || (x == 5 && y == 0)) ? 255 : 0;
            n += img->data[y * 6 + x] == want;
        }
    CHECK_MSG(n == 30, "%d of 30 pixels right", n);
    fe_image_free(img);
}

FE_TEST(draw_blit_scaling_and_alpha) {
    fe_image *src = NULL, *dst = NULL, *g = NULL;
    CHECK_OK(fe_image_create(2, 2, 3, &src));
    for (int i = 0; i < 12; i++) src->data[i] = (uint8_t)(i * 20 + 5);
    CHECK_OK(fe_image_create(4, 4, 3, &dst));
    fe__draw_blit(dst, src, 0, 0, 4, 4, FE__SAMPLE_NEAREST, 1.0f);
    int bad = 0;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++)
                bad += dst->data[(y * 4 + x) * 3 + c] != src->data[((y / 2) * 2 + x / 2) * 3 + c];
    CHECK_MSG(bad == 0, "nearest 2x: %d values differ", bad);
    /* bilinear 2x1 [0, 255] -> 4x1: samples at -0.25(clamped 0), 0.25, 0.75, 1.25(clamped 1) */
    g = gray_image(2, 1, 0);
    CHECK(g);
    g->data[1] = 255;
    fe_image *row = gray_image(4, 1, 9);
    CHECK(row);
    fe__draw_blit(row, g, 0, 0, 4, 1, FE__SAMPLE_BILINEAR, 1.0f);
    CHECK_MSG(row->data[0] == 0 && row->data[1] == 64 && row->data[2] == 191 && row->data[3] == 255,
              "got %d %d %d %d", row->data[0], row->data[1], row->data[2], row->data[3]);
    /* negative control: nearest gives a different row */
    fe__draw_blit(row, g, 0, 0, 4, 1, FE__SAMPLE_NEAREST, 1.0f);
    CHECK(row->data[1] == 0 && row->data[2] == 255);
    /* alpha 0.5 onto white, and clipping at a negative offset (only src's right column) */
    memset(dst->data, 255, 48);
    fe__draw_blit(dst, src, -1, 0, 2, 2, FE__SAMPLE_NEAREST, 0.5f);
    /* dst (0,0) gets src (1,0) = (65, 85, 105): 255 + (65 - 255) * 0.5 = 160 */
    CHECK_MSG(dst->data[0] == 160 && dst->data[1] == 170 && dst->data[2] == 180,
              "got %d %d %d", dst->data[0], dst->data[1], dst->data[2]);
    CHECK(dst->data[3] == 255 && dst->data[4 * 3 * 2] == 255);  /* (1,0) and (0,2) untouched */
    /* gray source into RGB: replicated; RGB into gray: luma */
    fe__draw_blit(dst, g, 0, 0, 2, 1, FE__SAMPLE_NEAREST, 1.0f);
    CHECK(dst->data[3] == 255 && dst->data[4] == 255 && dst->data[0] == 0);
    fe_image *g2 = gray_image(2, 2, 0);
    CHECK(g2);
    fe__draw_blit(g2, src, 0, 0, 2, 2, FE__SAMPLE_NEAREST, 1.0f);
    CHECK(g2->data[0] == (77 * 5 + 150 * 25 + 29 * 45 + 128) >> 8);
    /* a source alpha of 0 leaves the destination alone */
    fe_image *ga = NULL;
    CHECK_OK(fe_image_create(1, 1, 2, &ga));
    ga->data[0] = 0;
    ga->data[1] = 0;
    fe__draw_blit(g2, ga, 0, 0, 2, 2, FE__SAMPLE_BILINEAR, 1.0f);
    CHECK(g2->data[0] == (77 * 5 + 150 * 25 + 29 * 45 + 128) >> 8);
    fe_image_free(src);
    fe_image_free(dst);
    fe_image_free(g);
    fe_image_free(g2);
    fe_image_free(ga);
    fe_image_free(row);
}

static double srgb_lin(double c) {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

FE_TEST(draw_heat_ramp_monotone_lightness) {
    uint8_t a[3], b[3];
    fe__draw_heat_color(0, a);
    CHECK(a[0] == 4 && a[1] == 4 && a[2] == 20);
    fe__draw_heat_color(1, a);
    CHECK(a[0] == 252 && a[1] == 250 && a[2] == 165);
    fe__draw_heat_color(NAN, b);
    CHECK(b[0] == 4 && b[2] == 20);
    fe__draw_heat_color(7.0f, b);
    CHECK(memcmp(a, b, 3) == 0);
    /* relative luminance strictly increases over 256 steps: equal steps look like equal
     * brightness changes, and the ramp reads correctly in gray print */
    double prev = -1, min_step = 1;
    for (int i = 0; i < 256; i++) {
        fe__draw_heat_color(i / 255.0f, a);
        double Y = 0.2126 * srgb_lin(a[0]) + 0.7152 * srgb_lin(a[1]) + 0.0722 * srgb_lin(a[2]);
        if (i) {
            CHECK_MSG(Y > prev, "luminance falls at %d/255", i);
            if (Y - prev < min_step) min_step = Y - prev;
        }
        prev = Y;
    }
    NOTE("smallest luminance step %.2g", min_step);
}

FE_TEST(draw_heatmap_and_grid) {
    fe_image *img = NULL;
    CHECK_OK(fe_image_create(8, 8, 3, &img));
    const float v[4] = {0, 1, 1, 0.5f};
    fe__draw_heatmap(img, 0, 0, 8, 8, v, 2, 2, 0.0f, 1.0f, 1.0f);
    uint8_t hot[3], cold[3], mid[3];
    fe__draw_heat_color(1, hot);
    fe__draw_heat_color(0, cold);
    fe__draw_heat_color(0.5f, mid);
    CHECK(memcmp(img->data, cold, 3) == 0 && memcmp(img->data + 3 * 3, cold, 3) == 0);
    CHECK(memcmp(img->data + 3 * 4, hot, 3) == 0 && memcmp(img->data + 3 * (4 * 8), hot, 3) == 0);
    CHECK(memcmp(img->data + 3 * (7 * 8 + 7), mid, 3) == 0);
    fe_image_free(img);
    /* grid: 16x16 in 4x4 cells, 1 px: vertical lines at x = 0, 4, 8, 12 and 15 */
    fe_image *g = gray_image(16, 16, 0);
    CHECK(g);
    fe__draw_grid(g, 0, 0, 16, 16, 4, 4, 1, fe__rgba_make(255, 255, 255, 128));
    int on = 0, bad = 0;
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) {
            int line = x % 4 == 0 || x == 15 || y % 4 == 0 || y == 15;
            /* a translucent grid blends every line pixel once, crossings included */
            bad += g->data[y * 16 + x] != (line ? 128 : 0);
            on += line;
        }
    CHECK_MSG(bad == 0, "%d grid pixels differ", bad);
    NOTE("%d grid pixels", on);
    fe_image_free(g);
}

FE_TEST(draw_deterministic_math_matches_libm) {
    double worst_sc = 0, worst_exp = 0;
    for (int i = -20000; i <= 20000; i++) {
        double a = i * 0.00731 + 1e-3 * (i % 7);
        double s, c;
        fe__det_sincos(a, &s, &c);
        double e1 = fabs(s - sin(a)), e2 = fabs(c - cos(a));
        if (e1 > worst_sc) worst_sc = e1;
        if (e2 > worst_sc) worst_sc = e2;
        double x = i * 0.0173;
        double r = fabs(fe__det_exp(x) - exp(x)) / exp(x);
        if (r > worst_exp) worst_exp = r;
    }
    NOTE("worst |sin,cos - libm| %.2g, worst exp relative error %.2g", worst_sc, worst_exp);
    CHECK(worst_sc <= 1e-15);
    CHECK(worst_exp <= 1e-15);
    double s, c;
    fe__det_sincos(0, &s, &c);
    CHECK(s == 0.0 && c == 1.0);
    CHECK(fe__det_exp(0) == 1.0);
    CHECK(fe__det_exp(-1000) > 0 && isfinite(fe__det_exp(1000)));
}

FE_TEST(draw_hostile_geometry) {
    fe_image *img = gray_image(10, 10, 7);
    CHECK(img);
    const float nanp[6] = {1, 1, NAN, 5, 3, 8};
    const float huge[6] = {-1e30f, -1e30f, 1e30f, -1e30f, 0, 1e30f};
    const float flat[6] = {1, 1, 5, 1, 9, 1};
    CHECK_OK(fe__draw_polygon(img, nanp, 3, FE__FILL_NONZERO, WHITE));
    CHECK_OK(fe__draw_polygon(img, flat, 3, FE__FILL_NONZERO, WHITE));
    CHECK_OK(fe__draw_polygon(img, huge, 2, FE__FILL_NONZERO, WHITE));
    CHECK_OK(fe__draw_line(img, 1, 1, 8, 8, 0.0f, FE__CAP_ROUND, WHITE));
    CHECK_OK(fe__draw_line(img, 1, 1, 8, 8, NAN, FE__CAP_ROUND, WHITE));
    CHECK_OK(fe__draw_ellipse(img, 5, 5, -3, 2, 0, WHITE));
    CHECK_OK(fe__draw_ellipse(img, 5e30f, 5, 3, 2, 0, WHITE));  /* off the image */
    for (int i = 0; i < 100; i++) CHECK_MSG(img->data[i] == 7, "pixel %d drawn", i);
    /* a huge triangle covering the image fills it without overflow */
    CHECK_OK(fe__draw_polygon(img, huge, 3, FE__FILL_NONZERO, WHITE));
    int n = 0;
    for (int i = 0; i < 100; i++) n += img->data[i] == 255;
    CHECK_MSG(n == 100, "%d of 100 pixels filled", n);
    /* allocation failures give FE_E_NOMEM and draw nothing */
    memset(img->data, 7, 100);
    const float tri[6] = {1, 1, 8, 2, 4, 8};
    long k;
    for (k = 0; k < 12; k++) {
        fe__alloc_fail_after(k);
        fe_status st = fe__draw_polygon(img, tri, 3, FE__FILL_NONZERO, WHITE);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) break;
        CHECK_STATUS(st, FE_E_NOMEM);
        for (int i = 0; i < 100; i++) CHECK(img->data[i] == 7);
    }
    CHECK_MSG(k > 0 && k < 12, "polygon needed %ld allocations", k);
    fe__cov c;
    CHECK_STATUS(fe__cov_create(&c, 0, 0, 0, 5), FE_E_LIMIT);
    CHECK_STATUS(fe__cov_create(&c, 0, 0, 100000, 100000), FE_E_LIMIT);
    fe__cov_free(&c);
    fe_image_free(img);
}

/* ======================================================================================== */
/* Font                                                                                     */
/* ======================================================================================== */

/* Renders s (scale 1, white on black) and compares with rows of '#'/'.' art. */
static int text_matches(const char *s, const char *const *art, int rows, int *bad_out) {
    int w = (int)strlen(art[0]);
    fe_image *img = gray_image((uint32_t)w, (uint32_t)rows, 0);
    if (!img) return 0;
    fe__text_draw(img, 0, 0, s, 1, WHITE);
    int bad = 0;
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < w; x++) bad += (img->data[y * w + x] == 255) != (art[y][x] == '#');
    fe_image_free(img);
    *bad_out = bad;
    return bad == 0;
}

FE_TEST(font_renders_known_strings) {
    /* expected bitmaps written out by hand from the glyph design */
    static const char *const hi[9] = {
        "#...#...#.....#..",
        "#...#.........#..",
        "#...#..##.....#..",
        "#####...#.....#..",
        "#...#...#.....#..",
        "#...#...#........",
        "#...#..###....#..",
        ".................",
        "................."};
    static const char *const gy[9] = {
        "...........",
        "...........",
        ".####.#...#",
        "#...#.#...#",
        "#...#.#...#",
        "#...#.#...#",
        ".####..####",
        "....#.....#",
        ".###...###."};
    static const char *const d70[9] = {
        "#####..###.",
        "....#.#...#",
        "...#..#..##",
        "..#...#.#.#",
        ".#....##..#",
        ".#....#...#",
        ".#.....###."};
    int bad;
    CHECK_MSG(text_matches("Hi!", hi, 9, &bad), "\"Hi!\": %d pixels differ", bad);
    CHECK_MSG(text_matches("gy", gy, 9, &bad), "\"gy\": %d pixels differ", bad);
    CHECK_MSG(text_matches("70", d70, 7, &bad), "\"70\": %d pixels differ", bad);
    /* negative control: a different string fails the same comparison */
    CHECK(!text_matches("Hl!", hi, 9, &bad) && bad > 0);
    NOTE("3 strings exact");
}

FE_TEST(font_scale_and_metrics) {
    const char *s = "Mask 7%";
    uint32_t w1 = fe__text_width(s, 1), h1 = fe__text_height(s, 1);
    CHECK(w1 == 6 * 7 - 1 && h1 == 9);
    CHECK(fe__text_width(s, 3) == 3 * w1 && fe__text_height(s, 3) == 27);
    CHECK(fe__text_width("", 2) == 0 && fe__text_height("", 2) == 0);
    CHECK(fe__text_width("ab\ncde", 1) == 17 && fe__text_height("ab\ncde", 1) == 19);
    CHECK(fe__text_height("a\n", 1) == 19);
    CHECK(fe__text_width(NULL, 1) == 0);
    /* scale 3 is the scale-1 rendering with every pixel a 3x3 block */
    fe_image *a = gray_image(w1, h1, 0), *b = gray_image(3 * w1, 3 * h1, 0);
    CHECK(a && b);
    fe__text_draw(a, 0, 0, s, 1, WHITE);
    fe__text_draw(b, 0, 0, s, 3, WHITE);
    int bad = 0, lit = 0;
    for (uint32_t y = 0; y < 3 * h1; y++)
        for (uint32_t x = 0; x < 3 * w1; x++) {
            bad += b->data[y * 3 * w1 + x] != a->data[(y / 3) * w1 + x / 3];
            lit += b->data[y * 3 * w1 + x] != 0;
        }
    CHECK_MSG(bad == 0 && lit > 0, "%d pixels differ (%d lit)", bad, lit);
    /* text partly outside the image, at extreme positions, is clipped without harm */
    fe__text_draw(a, -7, -5, "clip me\nplease", 2, WHITE);
    fe__text_draw(a, INT32_MAX - 3, INT32_MAX - 3, "far", 4096, WHITE);
    fe__text_draw(a, INT32_MIN, INT32_MIN, "far", 7, WHITE);
    fe_image_free(a);
    fe_image_free(b);
}

FE_TEST(font_glyph_table_sane) {
    /* every printable glyph distinct, inside its 5 columns, non-empty except space; only the
     * glyphs with descenders use rows 7-8; other bytes get the replacement box */
    int lit_total = 0;
    for (int c = 32; c <= 126; c++) {
        const uint8_t *g = fe__font_glyph((unsigned char)c);
        int lit = 0;
        for (int r = 0; r < FE__FONT_H; r++) {
            CHECK_MSG(g[r] < 32, "glyph %d row %d outside 5 columns", c, r);
            for (int k = 0; k < 5; k++) lit += (g[r] >> k) & 1;
        }
        CHECK_MSG((c == ' ') == (lit == 0), "glyph '%c' has %d pixels", c, lit);
        int desc = g[7] || g[8];
        CHECK_MSG(desc == (strchr("gjpqy,_|", c) != NULL), "glyph '%c' descender use %d", c, desc);
        for (int d = 32; d < c; d++)
            CHECK_MSG(memcmp(g, fe__font_glyph((unsigned char)d), FE__FONT_H) != 0,
                      "glyphs '%c' and '%c' are identical", c, d);
        lit_total += lit;
    }
    const uint8_t *box = fe__font_glyph(7), *hi = fe__font_glyph(200);
    CHECK(box == hi && box[0] == 0x1F && box[6] == 0x1F && box[3] == 0x11);
    CHECK(fe__font_glyph('A') != box);
    NOTE("95 glyphs, %d pixels", lit_total);
}
