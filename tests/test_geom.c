/*
 * test_geom.c — crop, resize (bilinear, exact area), rotation and affine warps against
 * hand-computed small cases and against straightforward references written here: a 2-D
 * brute-force box filter on the exact fine grid (area, exact), and a double-precision bilinear
 * sampler with the documented border rules (bilinear, within 1 level: the library
 * interpolates in float, so a value within ~1e-5 of a .5 tie may round the other way).
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "geom.h"
#include "internal.h"
#include "geom_ref.h"

#include <string.h>

static uint32_t rng_state = 12345u;
static uint32_t rnd(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}
static double urand(double lo, double hi) { return lo + (hi - lo) * (rnd() / 16777216.0); }

/* smooth gradient plus noise, so interpolation errors are visible and no area is flat */
static fe_image *make_test_image(uint32_t w, uint32_t h, uint32_t c) {
    fe_image *img = make_image(w, h, c, NULL);
    if (!img) return NULL;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t k = 0; k < c; k++) {
                double v = 128 + 90 * sin(0.21 * x + 0.7 * k) * cos(0.17 * y) + (double)(rnd() % 41) - 20;
                img->data[((size_t)y * w + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return img;
}

FE_TEST(geom_crop_border_rules) {
    /* 4x3, 2 channels: value = 10*y + x in channel 0, 100 + that in channel 1 */
    uint8_t px[4 * 3 * 2];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) {
            px[(y * 4 + x) * 2] = (uint8_t)(10 * y + x);
            px[(y * 4 + x) * 2 + 1] = (uint8_t)(100 + 10 * y + x);
        }
    fe_image *src = make_image(4, 3, 2, px), *out;
    CHECK(src);
    const uint8_t fill[2] = {7, 201};
    for (int b = 0; b < 2; b++) {
        CHECK_OK(fe_image_crop(src, -2, 1, 7, 4, (fe_border)b, fill, &out));
        CHECK(out->width == 7 && out->height == 4 && out->channels == 2);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 7; x++)
                for (int k = 0; k < 2; k++) {
                    int got = out->data[(y * 7 + x) * 2 + k];
                    int want = (int)ref_px(src, x - 2, y + 1, (uint32_t)k, (fe_border)b, fill);
                    CHECK_MSG(got == want, "border %d (%d,%d,%d): %d != %d", b, x, y, k, got, want);
                }
        fe_image_free(out);
    }
    /* spot values by hand: replicate left of (0,1) is (0,1); constant is the fill */
    CHECK_OK(fe_image_crop(src, -1, 2, 2, 2, FE_BORDER_REPLICATE, NULL, &out));
    CHECK(out->data[0] == 20 && out->data[2] == 20 && out->data[4] == 20 && out->data[6] == 20);
    fe_image_free(out);
    CHECK_OK(fe_image_crop(src, -1, 2, 2, 2, FE_BORDER_CONSTANT, NULL, &out));
    CHECK(out->data[0] == 0 && out->data[2] == 20 && out->data[4] == 0 && out->data[6] == 0);
    fe_image_free(out);
    /* entirely outside, huge offsets: no overflow */
    CHECK_OK(fe_image_crop(src, INT32_MAX, INT32_MIN, 3, 3, FE_BORDER_REPLICATE, NULL, &out));
    CHECK(out->data[0] == 3 && out->data[1] == 103);  /* top-right corner pixel */
    fe_image_free(out);
    fe_image_free(src);
}

/* ---- area ------------------------------------------------------------------------------ */

/* 2-D brute force on the exact fine grid: src pixel (i,j) covers [i*dw,(i+1)*dw) x
 * [j*dh,(j+1)*dh), dst pixel (x,y) covers [x*sw,(x+1)*sw) x [y*sh,(y+1)*sh). */
static fe_image *ref_area(const fe_image *s, uint32_t dw, uint32_t dh) {
    fe_image *d = make_image(dw, dh, s->channels, NULL);
    uint64_t sw = s->width, sh = s->height;
    for (uint64_t y = 0; y < dh; y++)
        for (uint64_t x = 0; x < dw; x++)
            for (uint32_t k = 0; k < s->channels; k++) {
                uint64_t sum = 0;
                for (uint64_t j = 0; j < sh; j++) {
                    uint64_t lo = j * dh > y * sh ? j * dh : y * sh;
                    uint64_t hi = (j + 1) * dh < (y + 1) * sh ? (j + 1) * dh : (y + 1) * sh;
                    if (hi <= lo) continue;
                    for (uint64_t i = 0; i < sw; i++) {
                        uint64_t l2 = i * dw > x * sw ? i * dw : x * sw;
                        uint64_t h2 = (i + 1) * dw < (x + 1) * sw ? (i + 1) * dw : (x + 1) * sw;
                        if (h2 <= l2) continue;
                        sum += (hi - lo) * (h2 - l2) * s->data[(j * sw + i) * s->channels + k];
                    }
                }
                uint64_t D = sw * sh;
                d->data[(y * dw + x) * s->channels + k] = (uint8_t)((2 * sum + D) / (2 * D));
            }
    return d;
}

FE_TEST(geom_resize_area_hand_cases) {
    fe_image *src, *out;
    /* 4x4 -> 2x2: means of 2x2 blocks */
    const uint8_t a[16] = {0, 2, 4, 6, 10, 12, 14, 16, 20, 22, 24, 26, 30, 32, 34, 36};
    src = make_image(4, 4, 1, a);
    CHECK_OK(fe_image_resize(src, 2, 2, FE_RESIZE_AREA, &out));
    CHECK(out->data[0] == 6 && out->data[1] == 10 && out->data[2] == 26 && out->data[3] == 30);
    fe_image_free(out);
    fe_image_free(src);
    /* 3 -> 2: (30 + 60/2)/1.5 = 40 and (60/2 + 90)/1.5 = 80 (fractional coverage) */
    const uint8_t b[3] = {30, 60, 90};
    src = make_image(3, 1, 1, b);
    CHECK_OK(fe_image_resize(src, 2, 1, FE_RESIZE_AREA, &out));
    CHECK_MSG(out->data[0] == 40 && out->data[1] == 80, "got %d %d", out->data[0], out->data[1]);
    fe_image_free(out);
    fe_image_free(src);
    /* 5 -> 2: (10+20+30/2)/2.5 = 18, (30/2+40+50)/2.5 = 42 */
    const uint8_t c[5] = {10, 20, 30, 40, 50};
    src = make_image(5, 1, 1, c);
    CHECK_OK(fe_image_resize(src, 2, 1, FE_RESIZE_AREA, &out));
    CHECK_MSG(out->data[0] == 18 && out->data[1] == 42, "got %d %d", out->data[0], out->data[1]);
    fe_image_free(out);
    fe_image_free(src);
    /* 3x3 -> 2x2 in both axes: weights 1, .5 / .5, 1 per axis; total 2.25 */
    const uint8_t e[9] = {9, 18, 27, 36, 45, 54, 63, 72, 81};
    src = make_image(3, 3, 1, e);
    CHECK_OK(fe_image_resize(src, 2, 2, FE_RESIZE_AREA, &out));
    /* (9 + 18/2 + 36/2 + 45/4)/2.25 = 21, (27 + 18/2 + 54/2 + 45/4)/2.25 = 33, ... = 57, 69 */
    CHECK_MSG(out->data[0] == 21 && out->data[1] == 33 && out->data[2] == 57 && out->data[3] == 69,
              "got %d %d %d %d", out->data[0], out->data[1], out->data[2], out->data[3]);
    fe_image_free(out);
    fe_image_free(src);
    /* rounding is half up, exactly: mean 1.5 -> 2, 0.5 -> 1, 254.5 -> 255 */
    const uint8_t r[6] = {1, 2, 0, 1, 254, 255};
    src = make_image(6, 1, 1, r);
    CHECK_OK(fe_image_resize(src, 3, 1, FE_RESIZE_AREA, &out));
    CHECK_MSG(out->data[0] == 2 && out->data[1] == 1 && out->data[2] == 255, "got %d %d %d",
              out->data[0], out->data[1], out->data[2]);
    fe_image_free(out);
    fe_image_free(src);
    /* same size is a copy; AUTO picks area for reductions (the 4x4 case again) */
    src = make_test_image(13, 7, 3);
    CHECK_OK(fe_image_resize(src, 13, 7, FE_RESIZE_AREA, &out));
    CHECK(memcmp(src->data, out->data, 13 * 7 * 3) == 0);
    fe_image_free(out);
    fe_image_free(src);
    src = make_image(4, 4, 1, a);
    CHECK_OK(fe_image_resize(src, 2, 2, FE_RESIZE_AUTO, &out));
    CHECK(out->data[0] == 6 && out->data[3] == 30);
    fe_image_free(out);
    fe_image_free(src);
}

FE_TEST(geom_resize_area_matches_bruteforce) {
    static const uint32_t sizes[][4] = {{37, 23, 10, 7}, {150, 150, 150, 150}, {250, 250, 150, 150},
                                        {31, 17, 30, 16}, {5, 9, 1, 1}, {16, 16, 5, 3},
                                        {7, 5, 11, 9} /* upscaling is defined too */};
    size_t compared = 0;
    for (size_t ti = 0; ti < sizeof sizes / sizeof sizes[0]; ti++)
        for (uint32_t c = 1; c <= 4; c++) {
            fe_image *src = make_test_image(sizes[ti][0], sizes[ti][1], c), *out;
            CHECK_OK(fe_image_resize(src, sizes[ti][2], sizes[ti][3], FE_RESIZE_AREA, &out));
            fe_image *ref = ref_area(src, sizes[ti][2], sizes[ti][3]);
            cmp r = compare(out, ref);
            CHECK_MSG(r.max_diff == 0, "%ux%ux%u -> %ux%u: %zu values differ (max %d)", sizes[ti][0],
                      sizes[ti][1], c, sizes[ti][2], sizes[ti][3], r.n_diff, r.max_diff);
            compared += r.n;
            /* negative control: the comparison sees a one-level change */
            out->data[r.n / 2] ^= 1;
            CHECK(compare(out, ref).max_diff == 1);
            fe_image_free(out);
            fe_image_free(ref);
            fe_image_free(src);
        }
    NOTE("%zu values identical to the 2-D brute-force box filter", compared);
}

/* ---- bilinear resize -------------------------------------------------------------------- */

FE_TEST(geom_resize_bilinear_hand_cases) {
    fe_image *src, *out;
    /* 2 -> 4: centres at -0.25, 0.25, 0.75, 1.25 (clamped): 0, 25, 75, 100 */
    const uint8_t a[2] = {0, 100};
    src = make_image(2, 1, 1, a);
    CHECK_OK(fe_image_resize(src, 4, 1, FE_RESIZE_BILINEAR, &out));
    CHECK_MSG(out->data[0] == 0 && out->data[1] == 25 && out->data[2] == 75 && out->data[3] == 100,
              "got %d %d %d %d", out->data[0], out->data[1], out->data[2], out->data[3]);
    fe_image_free(out);
    /* AUTO enlarges bilinearly */
    CHECK_OK(fe_image_resize(src, 4, 1, FE_RESIZE_AUTO, &out));
    CHECK(out->data[1] == 25);
    fe_image_free(out);
    fe_image_free(src);
    /* 4 -> 2: centres at 0.5 and 2.5: pair means 5, 25 */
    const uint8_t b[4] = {0, 10, 20, 30};
    src = make_image(4, 1, 1, b);
    CHECK_OK(fe_image_resize(src, 2, 1, FE_RESIZE_BILINEAR, &out));
    CHECK(out->data[0] == 5 && out->data[1] == 25);
    fe_image_free(out);
    fe_image_free(src);
    /* 1x1 -> 3x2: constant */
    const uint8_t one[3] = {9, 99, 199};
    src = make_image(1, 1, 3, one);
    CHECK_OK(fe_image_resize(src, 3, 2, FE_RESIZE_BILINEAR, &out));
    for (int i = 0; i < 6; i++) CHECK(out->data[3 * i] == 9 && out->data[3 * i + 2] == 199);
    fe_image_free(out);
    fe_image_free(src);
    /* 2x2 -> 4x4, interior pixel (1,1): sample (0.25, 0.25) of {0,40;80,120} = 30 */
    const uint8_t q[4] = {0, 40, 80, 120};
    src = make_image(2, 2, 1, q);
    CHECK_OK(fe_image_resize(src, 4, 4, FE_RESIZE_BILINEAR, &out));
    CHECK_MSG(out->data[5] == 30 && out->data[0] == 0 && out->data[15] == 120, "got %d", out->data[5]);
    fe_image_free(out);
    fe_image_free(src);
}

FE_TEST(geom_resize_bilinear_matches_reference) {
    static const uint32_t sizes[][4] = {{37, 23, 61, 40}, {150, 150, 112, 112}, {20, 30, 20, 30},
                                        {9, 4, 150, 150}, {64, 48, 33, 17}};
    int worst = 0;
    size_t n_diff = 0, n = 0;
    for (size_t ti = 0; ti < sizeof sizes / sizeof sizes[0]; ti++)
        for (uint32_t c = 1; c <= 4; c += 3) {
            uint32_t sw = sizes[ti][0], sh = sizes[ti][1], dw = sizes[ti][2], dh = sizes[ti][3];
            fe_image *src = make_test_image(sw, sh, c), *out;
            CHECK_OK(fe_image_resize(src, dw, dh, FE_RESIZE_BILINEAR, &out));
            fe_image *ref = make_image(dw, dh, c, NULL);
            for (uint32_t y = 0; y < dh; y++)
                for (uint32_t x = 0; x < dw; x++)
                    for (uint32_t k = 0; k < c; k++) {
                        double sx = (x + 0.5) * sw / dw - 0.5, sy = (y + 0.5) * sh / dh - 0.5;
                        ref->data[((size_t)y * dw + x) * c + k] =
                            round_ref(ref_bilinear(src, sx, sy, k, FE_BORDER_REPLICATE, NULL));
                    }
            cmp r = compare(out, ref);
            CHECK_MSG(r.max_diff <= 1, "%ux%u -> %ux%u: max diff %d", sw, sh, dw, dh, r.max_diff);
            if (r.max_diff > worst) worst = r.max_diff;
            n_diff += r.n_diff;
            n += r.n;
            fe_image_free(out);
            fe_image_free(ref);
            fe_image_free(src);
        }
    CHECK_MSG(n_diff * 1000 < n, "%zu of %zu values differ", n_diff, n);
    NOTE("max diff %d, %zu of %zu values off by one (float ties)", worst, n_diff, n);
}

/* ---- warps ------------------------------------------------------------------------------ */

FE_TEST(geom_warp_matches_reference) {
    int worst = 0;
    size_t n_diff = 0, n = 0, n_fill = 0;
    for (int trial = 0; trial < 40; trial++) {
        uint32_t c = 1 + (uint32_t)(trial % 4);
        fe_image *src = make_test_image(40 + (uint32_t)(rnd() % 20), 30 + (uint32_t)(rnd() % 20), c);
        double th = urand(-3.2, 3.2), s = urand(0.5, 3.0), sh = urand(-0.3, 0.3);
        double m[6] = {s * cos(th), -s * sin(th) + sh, urand(-40, 60),
                       s * sin(th), s * cos(th), urand(-40, 60)};
        fe_border b = (fe_border)(trial & 1);
        const uint8_t fill[4] = {17, 230, 99, 250};
        uint32_t w = 57, h = 49;
        fe_image *out, *ref;
        CHECK_OK(fe_image_warp_affine(src, m, w, h, b, trial % 3 ? fill : NULL, &out));
        ref = ref_warp(src, m, w, h, b, trial % 3 ? fill : NULL);
        cmp r = compare(out, ref);
        CHECK_MSG(r.max_diff <= 1, "trial %d: max diff %d", trial, r.max_diff);
        if (r.max_diff > worst) worst = r.max_diff;
        n_diff += r.n_diff;
        n += r.n;
        for (size_t i = 0; i < r.n; i += c) n_fill += b == FE_BORDER_CONSTANT && out->data[i] == (trial % 3 ? 17 : 0);
        /* negative control */
        out->data[r.n / 3] = (uint8_t)(out->data[r.n / 3] + 3);
        CHECK(compare(out, ref).max_diff >= 2);
        fe_image_free(out);
        fe_image_free(ref);
        fe_image_free(src);
    }
    CHECK_MSG(n_diff * 1000 < n, "%zu of %zu values differ", n_diff, n);
    CHECK(n_fill > 1000);  /* the constant border was exercised */
    NOTE("40 random affine maps, both borders, 1-4 channels: max diff %d, %zu of %zu off by one",
         worst, n_diff, n);
}

FE_TEST(geom_warp_exact_cases) {
    fe_image *src = make_test_image(23, 17, 3), *out, *crop;
    /* identity is a copy */
    const double id[6] = {1, 0, 0, 0, 1, 0};
    CHECK_OK(fe_image_warp_affine(src, id, 23, 17, FE_BORDER_CONSTANT, NULL, &out));
    CHECK(memcmp(out->data, src->data, 23 * 17 * 3) == 0);
    fe_image_free(out);
    /* an integer translation is a crop, for both border rules */
    const double tr[6] = {1, 0, -5, 0, 1, 4};
    for (int b = 0; b < 2; b++) {
        CHECK_OK(fe_image_warp_affine(src, tr, 30, 25, (fe_border)b, NULL, &out));
        CHECK_OK(fe_image_crop(src, 5, -4, 30, 25, (fe_border)b, NULL, &crop));
        CHECK_MSG(compare(out, crop).max_diff == 0, "border %d", b);
        fe_image_free(out);
        fe_image_free(crop);
    }
    /* half-pixel shift: mean of neighbours, rounded half up */
    const uint8_t two[2] = {10, 21};
    fe_image *s2 = make_image(2, 1, 1, two);
    const double half[6] = {1, 0, -0.5, 0, 1, 0};
    CHECK_OK(fe_image_warp_affine(s2, half, 2, 1, FE_BORDER_REPLICATE, NULL, &out));
    CHECK_MSG(out->data[0] == 16 && out->data[1] == 21, "got %d %d", out->data[0], out->data[1]);
    fe_image_free(out);
    /* constant border blends with the fill at the edge: (21 + 200)/2 = 110.5 -> 111 */
    const uint8_t f = 200;
    CHECK_OK(fe_image_warp_affine(s2, half, 2, 1, FE_BORDER_CONSTANT, &f, &out));
    CHECK_MSG(out->data[0] == 16 && out->data[1] == 111, "got %d %d", out->data[0], out->data[1]);
    fe_image_free(out);
    fe_image_free(s2);
    fe_image_free(src);
}

FE_TEST(geom_rotate_exact_and_reference) {
    /* 90 degrees counter-clockwise about the centre of a square: dst(x,y) = src(W-1-y, x) */
    const uint32_t W = 15;
    fe_image *src = make_test_image(W, W, 3), *out;
    CHECK_OK(fe_image_rotate(src, (W - 1) / 2.0, (W - 1) / 2.0, 90, FE_BORDER_CONSTANT, NULL, &out));
    for (uint32_t y = 0; y < W; y++)
        for (uint32_t x = 0; x < W; x++)
            for (int k = 0; k < 3; k++)
                CHECK_MSG(out->data[(y * W + x) * 3 + k] == src->data[(x * W + (W - 1 - y)) * 3 + k],
                          "(%u,%u)", x, y);
    fe_image_free(out);
    /* a full turn is the identity */
    CHECK_OK(fe_image_rotate(src, 3.3, 9.1, -360, FE_BORDER_REPLICATE, NULL, &out));
    CHECK(memcmp(out->data, src->data, W * W * 3) == 0);
    fe_image_free(out);
    /* 23 degrees about an off-centre point against the reference warp */
    double th = 23 * 3.14159265358979323846 / 180, cx = 4.5, cy = 10;
    double m[6] = {cos(th), sin(th), cx - cos(th) * cx - sin(th) * cy,
                   -sin(th), cos(th), cy + sin(th) * cx - cos(th) * cy};
    CHECK_OK(fe_image_rotate(src, cx, cy, 23, FE_BORDER_REPLICATE, NULL, &out));
    fe_image *ref = ref_warp(src, m, W, W, FE_BORDER_REPLICATE, NULL);
    CHECK(compare(out, ref).max_diff <= 1);
    /* direction: a point right of the centre moves up (screen counter-clockwise) */
    CHECK(fabs(m[3] * (cx + 1) + m[4] * cy + m[5] - (cy - sin(th))) < 1e-12);
    fe_image_free(ref);
    fe_image_free(out);
    fe_image_free(src);
}

FE_TEST(geom_rejects_bad_arguments) {
    fe_image *src = make_test_image(8, 8, 3), *out = (fe_image *)1;
    const double singular[6] = {1, 2, 0, 2, 4, 0}, nan_m[6] = {NAN, 0, 0, 0, 1, 0};
    CHECK_STATUS(fe_image_warp_affine(src, singular, 8, 8, FE_BORDER_CONSTANT, NULL, &out), FE_E_NUMERIC);
    CHECK(out == NULL);
    CHECK_STATUS(fe_image_warp_affine(src, nan_m, 8, 8, FE_BORDER_CONSTANT, NULL, &out), FE_E_NUMERIC);
    CHECK_STATUS(fe_image_warp_affine(src, NULL, 8, 8, FE_BORDER_CONSTANT, NULL, &out), FE_E_ARG);
    CHECK_STATUS(fe_image_rotate(src, NAN, 0, 10, FE_BORDER_CONSTANT, NULL, &out), FE_E_NUMERIC);
    CHECK_STATUS(fe_image_rotate(src, 0, 0, INFINITY, FE_BORDER_CONSTANT, NULL, &out), FE_E_NUMERIC);
    CHECK_STATUS(fe_image_crop(src, 0, 0, 4, 4, (fe_border)7, NULL, &out), FE_E_ARG);
    CHECK_STATUS(fe_image_resize(src, 4, 4, (fe_resize_filter)9, &out), FE_E_ARG);
    CHECK_STATUS(fe_image_resize(NULL, 4, 4, FE_RESIZE_AREA, &out), FE_E_ARG);
    CHECK_STATUS(fe_image_resize(src, 0, 4, FE_RESIZE_AREA, &out), FE_E_CORRUPT);
    CHECK_STATUS(fe_image_resize(src, FE_MAX_IMAGE_DIM + 1, 4, FE_RESIZE_AREA, &out), FE_E_LIMIT);
    CHECK_STATUS(fe_image_crop(src, 0, 0, 16384, 16384, FE_BORDER_CONSTANT, NULL, &out), FE_E_LIMIT);
    CHECK_STATUS(fe_image_resize(src, 4, 4, FE_RESIZE_AREA, NULL), FE_E_ARG);
    fe_image bad = *src;
    bad.channels = 5;
    CHECK_STATUS(fe_image_crop(&bad, 0, 0, 4, 4, FE_BORDER_CONSTANT, NULL, &out), FE_E_ARG);
    bad.channels = 3;
    bad.data = NULL;
    CHECK_STATUS(fe_image_rotate(&bad, 0, 0, 1, FE_BORDER_CONSTANT, NULL, &out), FE_E_ARG);
    CHECK(out == NULL);
    fe_image_free(src);
}

FE_TEST(geom_allocation_failures) {
    /* every allocation in each call may fail: always FE_E_NOMEM, never a leak (LSan in check) */
    fe_image *src = make_test_image(40, 30, 3), *out;
    const double m[6] = {0.9, 0.1, 3, -0.1, 0.9, 2};
    int steps = 0;
    for (int op = 0; op < 4; op++) {
        for (long n = 0;; n++) {
            fe__alloc_fail_after(n);
            fe_status st;
            switch (op) {
            case 0: st = fe_image_resize(src, 17, 13, FE_RESIZE_AREA, &out); break;
            case 1: st = fe_image_resize(src, 77, 53, FE_RESIZE_BILINEAR, &out); break;
            case 2: st = fe_image_warp_affine(src, m, 20, 20, FE_BORDER_CONSTANT, NULL, &out); break;
            default: st = fe_image_crop(src, -3, -3, 9, 9, FE_BORDER_REPLICATE, NULL, &out); break;
            }
            fe__alloc_fail_after(-1);
            steps++;
            if (st == FE_OK) {
                fe_image_free(out);
                break;
            }
            CHECK_MSG(st == FE_E_NOMEM && out == NULL, "op %d step %ld: %s", op, n, fe_status_name(st));
            CHECK(n < 100);
        }
    }
    NOTE("%d failure points", steps);
    fe_image_free(src);
}

FE_TEST(geom_simd_matches_portable_bit_for_bit) {
    /* The AVX2 kernels (when this CPU has AVX2) must give exactly the portable results:
     * random maps, 3 and 4 channels, spans reaching the image's last pixel (the gather guard),
     * and the bilinear resize's vertical step. */
    enum { N = 24 };
    fe_image *out[2][N], *srcs[N], *rs[2];
    double maps[N][6];
    for (int i = 0; i < N; i++) {
        uint32_t c = i % 3 == 0 ? 4 : 3;
        srcs[i] = make_test_image(31 + (uint32_t)(rnd() % 40), 17 + (uint32_t)(rnd() % 40), c);
        double th = urand(-3.2, 3.2), s = urand(0.4, 3.0);
        double m[6] = {s * cos(th), -s * sin(th), urand(-30, 30), s * sin(th), s * cos(th), urand(-30, 30)};
        if (i < 2) {  /* dst (x, y) samples src (x + W - 20.5, y + H - 20.5): the last pixel */
            m[0] = 1, m[1] = 0, m[2] = -(srcs[i]->width - 20.5);
            m[3] = 0, m[4] = 1, m[5] = -(srcs[i]->height - 20.5);
        }
        memcpy(maps[i], m, sizeof m);
    }
    int simd = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass) setenv("FE_KERNEL", "ref", 1);
        else unsetenv("FE_KERNEL");
        if (!pass) simd = fe__geom_simd();
        else CHECK(fe__geom_simd() == 0);
        for (int i = 0; i < N; i++)
            CHECK_OK(fe_image_warp_affine(srcs[i], maps[i], 64, 40, (fe_border)(i & 1), NULL, &out[pass][i]));
        CHECK_OK(fe_image_resize(srcs[1], 150, 149, FE_RESIZE_BILINEAR, &rs[pass]));
    }
    unsetenv("FE_KERNEL");
    for (int i = 0; i < N; i++) {
        cmp r = compare(out[0][i], out[1][i]);
        CHECK_MSG(r.n_diff == 0, "map %d: %zu values differ (max %d)", i, r.n_diff, r.max_diff);
        fe_image_free(out[0][i]);
        fe_image_free(out[1][i]);
        fe_image_free(srcs[i]);
    }
    CHECK(compare(rs[0], rs[1]).n_diff == 0);
    fe_image_free(rs[0]);
    fe_image_free(rs[1]);
    NOTE("%s", simd ? "AVX2 and portable paths identical" : "no AVX2 on this CPU: portable path only");
}
