/*
 * draw.h — internal raster drawing on fe_image (8-bit, 1-4 interleaved channels): filled
 * rectangles, anti-aliased polygons, ellipses and thick lines, colour blending, scaled image
 * blits, a heat-map colour ramp and grid overlays. Used by the OOD generators (perturb.c),
 * the contact sheet and the flow pictures.
 *
 * Coordinates follow image_geom's convention: pixel (i, j) has its centre at (i, j) and covers
 * [i-0.5, i+0.5) x [j-0.5, j+0.5); an image of width W spans [-0.5, W-0.5]. Angles are in
 * radians, counter-clockwise as displayed (y grows downwards).
 *
 * Colour and blending rule (every primitive ends here): a colour is RGBA; a pixel gets weight
 * k = coverage * a / 255 (float) and each colour channel becomes d + (s - d) * k, rounded half
 * up (floor(v + 0.5)) and clamped to 0..255. Gray images (1-2 channels) use s = the colour's
 * luma (77 R + 150 G + 29 B + 128) >> 8. Images with an alpha channel (2 or 4) are composited
 * "over": A = k + da (1 - k) and C = (s k + d da (1 - k)) / A, with da = dst alpha / 255.
 *
 * Determinism: only +, -, *, /, sqrt and floor in float/double with no contraction (GCC's
 * -std=c11 default), plus the own sin/cos/exp below (no libm transcendental), so the same
 * call gives the same bytes on every conforming IEEE-754 platform.
 */
#ifndef FE_DRAW_H
#define FE_DRAW_H

#include "internal.h"

typedef struct fe__rgba {
    uint8_t r, g, b, a;
} fe__rgba;

static inline fe__rgba fe__rgba_make(uint8_t r, uint8_t g, uint8_t b, uint8_t a) {
    fe__rgba c = {r, g, b, a};
    return c;
}

/* Which points a polygon with crossing or nested contours fills. NONZERO: where the winding
 * number (sum of +1 for downward, -1 for upward edges crossed) is not zero, so overlapping
 * contours of the same orientation merge; EVENODD: where an odd number of edges is crossed,
 * so a contour nested in another cuts a hole whatever its orientation. */
typedef enum fe__fill_rule { FE__FILL_NONZERO = 0, FE__FILL_EVENODD = 1 } fe__fill_rule;

typedef enum fe__line_cap {
    FE__CAP_BUTT = 0,    /* ends exactly at the end points                                 */
    FE__CAP_ROUND = 1,   /* half discs of diameter width beyond the end points             */
    FE__CAP_SQUARE = 2   /* extended by width / 2 beyond the end points                    */
} fe__line_cap;

typedef enum fe__sample { FE__SAMPLE_NEAREST = 0, FE__SAMPLE_BILINEAR = 1 } fe__sample;

/* One closed contour: n points, xy[2i], xy[2i+1]; the last point joins the first. */
typedef struct fe__contour {
    const float *xy;
    size_t n;
} fe__contour;

/* ---- coverage buffers -------------------------------------------------------------------
 * Shapes are first rasterized to per-pixel coverage in [0, 1] over a window of the image
 * (x0, y0, w, h), then blended with a colour. Several shapes rasterized into one buffer
 * combine by maximum, so a stroked polyline blends each pixel once even where segments
 * overlap.
 *
 * Anti-aliasing: each pixel row is sampled on FE__SUBROWS sub-scanlines at heights
 * j - 0.5 + (s + 0.5) / FE__SUBROWS; on each the inside spans are exact in x and the pixel's
 * coverage is the mean span length inside it. So vertical edges and edges at multiples of
 * 1/FE__SUBROWS in y give exact area coverage (a pixel cut by a half-pixel edge gets exactly
 * 0.5), and other edges are within 1/(2*FE__SUBROWS) of their true area. */
#define FE__SUBROWS 16

typedef struct fe__cov {
    float *v;            /* w*h coverages, row-major                                      */
    int32_t x0, y0;      /* image position of v[0]                                          */
    uint32_t w, h;
    void *scratch;       /* rasterizer scratch, grown on demand and reused between shapes    */
    size_t scratch_bytes;
} fe__cov;

/* A zeroed window (FE_E_LIMIT beyond FE_MAX_IMAGE_PIXELS, FE_E_NOMEM). Free with
 * fe__cov_free (accepts a zeroed struct). */
fe_status fe__cov_create(fe__cov *c, int32_t x0, int32_t y0, uint32_t w, uint32_t h);
/* The window covering the whole image. */
fe_status fe__cov_for_image(fe__cov *c, const fe_image *img);
void fe__cov_free(fe__cov *c);
void fe__cov_clear(fe__cov *c);
/* cov := max(cov, coverage of the contours under rule). Non-finite points make the call draw
 * nothing. FE_E_NOMEM for the scratch edge list. */
fe_status fe__cov_contours(fe__cov *c, const fe__contour *contours, size_t n_contours,
                           fe__fill_rule rule);
fe_status fe__cov_polygon(fe__cov *c, const float *xy, size_t n, fe__fill_rule rule);
/* Thick line from (x0, y0) to (x1, y1), width in pixels, with the given caps. */
fe_status fe__cov_line(fe__cov *c, float x0, float y0, float x1, float y1, float width,
                       fe__line_cap cap);
/* Ellipse of radii rx, ry centred at (cx, cy), its x axis turned by angle (radians, CCW as
 * displayed); drawn as a polygon of n = ceil(16 sqrt(max radius)) vertices (8..4096), placed
 * at radii scaled by sqrt(t / sin t), t = 2 pi / n, so the polygon has the ellipse's area;
 * the outline stays within 0.02 px of the curve. Round caps are built the same way. */
fe_status fe__cov_ellipse(fe__cov *c, float cx, float cy, float rx, float ry, float angle);
/* Blends color into img weighted by the coverage (the rule at the top of this file). */
void fe__cov_blend(fe_image *img, const fe__cov *c, fe__rgba color);

/* ---- direct drawing (allocate a coverage window over the shape's bounding box) -------- */

/* Blends color into one pixel with the given coverage (0..1); outside pixels are ignored. */
void fe__draw_blend_pixel(fe_image *img, int32_t x, int32_t y, fe__rgba color, float coverage);
/* Blends color over the whole image (e.g. a translucent tint). */
void fe__draw_tint(fe_image *img, fe__rgba color);
/* Integer rectangle: pixels x..x+w-1, y..y+h-1 (clipped), full coverage. */
void fe__draw_fill_rect(fe_image *img, int32_t x, int32_t y, int32_t w, int32_t h, fe__rgba color);
fe_status fe__draw_polygon(fe_image *img, const float *xy, size_t n, fe__fill_rule rule,
                           fe__rgba color);
fe_status fe__draw_contours(fe_image *img, const fe__contour *contours, size_t n_contours,
                            fe__fill_rule rule, fe__rgba color);
fe_status fe__draw_ellipse(fe_image *img, float cx, float cy, float rx, float ry, float angle,
                           fe__rgba color);
fe_status fe__draw_line(fe_image *img, float x0, float y0, float x1, float y1, float width,
                        fe__line_cap cap, fe__rgba color);
/* n points joined by thick segments with round joins and caps (closed: last joins first);
 * each pixel is blended once. n == 1 draws a dot. */
fe_status fe__draw_polyline(fe_image *img, const float *xy, size_t n, int closed, float width,
                            fe__rgba color);
/* The same with the given caps at every segment end (so BUTT leaves notches at joints). */
fe_status fe__draw_polyline_caps(fe_image *img, const float *xy, size_t n, int closed,
                                 float width, fe__line_cap cap, fe__rgba color);

/* Draws src scaled into the dst rectangle (x, y, w, h) (clipped), blended with weight
 * alpha * (src alpha channel if any). NEAREST samples src pixel floor((i + 0.5) * sw / w);
 * BILINEAR samples at (i + 0.5) * sw / w - 0.5 with edge pixels replicated (image_geom's
 * resize rule). Channels convert: gray -> (g, g, g), RGB -> luma for a gray dst. With
 * alpha = 1, NEAREST and equal sizes and channel counts, the copy is exact. */
void fe__draw_blit(fe_image *dst, const fe_image *src, int32_t x, int32_t y, uint32_t w,
                   uint32_t h, fe__sample sampling, float alpha);

/* Heat-map colour of t in [0, 1] (clamped; NaN -> 0): a dark-violet -> red -> orange -> pale
 * yellow ramp of our own, with CIE lightness rising monotonically, linearly interpolated in
 * sRGB between 9 stops. */
void fe__draw_heat_color(float t, uint8_t rgb[3]);
/* Fills the rectangle (x, y, w, h) with a gw x gh grid of cells coloured by
 * heat((v - vmin) / (vmax - vmin)) (vmax <= vmin: all 0), blended with alpha. Cell k spans
 * columns x + floor(k w / gw) .. x + floor((k+1) w / gw) - 1 (rows likewise). */
void fe__draw_heatmap(fe_image *img, int32_t x, int32_t y, uint32_t w, uint32_t h,
                      const float *values, uint32_t gw, uint32_t gh, float vmin, float vmax,
                      float alpha);
/* Grid lines over the rectangle (x, y, w, h) split into nx x ny cells: vertical lines start at
 * columns x + floor(k w / nx) for k = 0..nx-1 and x + w - thickness for k = nx (horizontal
 * likewise), each thickness pixels wide. */
void fe__draw_grid(fe_image *img, int32_t x, int32_t y, uint32_t w, uint32_t h, uint32_t nx,
                   uint32_t ny, uint32_t thickness, fe__rgba color);

/* ---- deterministic math (no libm transcendental) ------------------------------------ */

/* sin and cos of a (radians, |a| < 1e6), within 2 ulp-ish of libm; range reduction by
 * pi/2 with a two-part constant, then Taylor series on [-pi/4, pi/4]. */
void fe__det_sincos(double a, double *out_sin, double *out_cos);
/* exp(x) for x in [-700, 700] (clamped), within ~1e-15 relative: x = k ln2 + r, series in r. */
double fe__det_exp(double x);

/* Bilinear sample of channel ch at (x, y), edge pixels replicated, as image_geom's resize. */
float fe__draw_sample_bilinear(const fe_image *img, double x, double y, uint32_t ch);

#endif /* FE_DRAW_H */
