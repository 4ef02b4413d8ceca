/*
 * test_align.c — 5-point alignment: recovery of known similarities, the chip of a fixture face
 * against an independent computation (normal-equation fit + double bilinear sampler), the
 * area-prefiltered path for large faces, the centre-crop fallback and its constants (from the
 * LFW landmarks when ../shared is present), degenerate landmarks, the template family, and the
 * `faceemd chip` command.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "align.h"
#include "geom.h"
#include "geom_ref.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define FIXTURE "tests/fixtures/faceres/face_sample1.ppm"
/* landmarks picked by eye on the 150x150 fixture (left eye, right eye, nose tip, mouth corners) */
static const fe_landmarks sample1_lm = {{45.0f, 82.0f, 61.0f, 49.0f, 84.0f},
                                        {64.5f, 67.0f, 89.0f, 106.0f, 107.0f}};
#define SAMPLE1_LM_ARG "45,64.5,82,67,61,89,49,106,84,107"

/* the default template: METHOD.md's (the reference, R) moved 5 px down (docs/ALIGNMENT.md) */
static const double T[10] = {46.98, 43.07, 102.67, 42.76, 75.00, 74.74, 52.12, 107.34, 98.24, 107.09};
static const double R[10] = {46.98, 38.07, 102.67, 37.76, 75.00, 69.74, 52.12, 102.34, 98.24, 102.09};

static uint32_t rng_state = 777u;
static double urand(double lo, double hi) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return lo + (hi - lo) * ((rng_state >> 8) / 16777216.0);
}

static fe_landmarks default_template(void) {
    fe_landmarks t;
    for (int k = 0; k < 5; k++) {
        t.x[k] = (float)T[2 * k];
        t.y[k] = (float)T[2 * k + 1];
    }
    return t;
}

/* Independent fit: the 4-parameter linear least squares [x -y 1 0; y x 0 1][a b tx ty]' = [u v]'
 * through its normal equations, solved by Gaussian elimination with partial pivoting. */
static void ref_fit(const fe_landmarks *p, const fe_landmarks *q, double m[6]) {
    double A[4][5] = {{0}};
    for (int k = 0; k < 5; k++) {
        double rows[2][5] = {{p->x[k], -(double)p->y[k], 1, 0, q->x[k]},
                             {p->y[k], p->x[k], 0, 1, q->y[k]}};
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 5; j++) A[i][j] += rows[r][i] * rows[r][j];
    }
    for (int c = 0; c < 4; c++) {
        int piv = c;
        for (int r = c + 1; r < 4; r++)
            if (fabs(A[r][c]) > fabs(A[piv][c])) piv = r;
        for (int j = 0; j < 5; j++) {
            double tmp = A[c][j];
            A[c][j] = A[piv][j];
            A[piv][j] = tmp;
        }
        for (int r = 0; r < 4; r++) {
            if (r == c) continue;
            double f = A[r][c] / A[c][c];
            for (int j = c; j < 5; j++) A[r][j] -= f * A[c][j];
        }
    }
    double a = A[0][4] / A[0][0], b = A[1][4] / A[1][1], tx = A[2][4] / A[2][2], ty = A[3][4] / A[3][3];
    m[0] = a; m[1] = -b; m[2] = tx;
    m[3] = b; m[4] = a;  m[5] = ty;
}

FE_TEST(align_fit_recovers_known_similarity) {
    /* Landmarks are floats (about 7 digits), so a raw translation far from the face cannot be
     * recovered to 1e-4 from them; what must be recovered is the map itself where it is used:
     * scale and angle, and the chip position of the landmarks and of the chip's corners. */
    fe_landmarks tmpl = default_template();
    double worst = 0, worst_s = 0, worst_th = 0, worst_t = 0;
    for (int trial = 0; trial < 2000; trial++) {
        double s = exp(urand(log(0.3), log(5.0))), th = urand(-3.14159, 3.14159);
        double tx = urand(-300, 300), ty = urand(-300, 300);
        double truth[6] = {s * cos(th), -s * sin(th), tx, s * sin(th), s * cos(th), ty};
        /* landmarks = truth^-1 (template), so the exact fit is truth */
        double inv[6];
        CHECK(fe__affine_invert(truth, inv));
        fe_landmarks lm;
        fe_landmarks_transform(inv, &tmpl, &lm);
        double m[6], rms;
        CHECK_OK(fe__align_fit(&lm, &tmpl, m, &rms));
        double es = fabs(hypot(m[0], m[3]) / s - 1), eth = fabs(remainder(atan2(m[3], m[0]) - th, 6.283185307179586));
        worst_s = fmax(worst_s, es);
        worst_th = fmax(worst_th, eth);
        worst_t = fmax(worst_t, fmax(fabs(m[2] - tx), fabs(m[5] - ty)));
        CHECK_MSG(es <= 1e-4 && eth <= 1e-4, "trial %d: scale error %.3g, angle error %.3g", trial, es, eth);
        /* image points: the landmarks and the chip corners' preimages */
        double pts[9][2];
        for (int k = 0; k < 5; k++) pts[k][0] = lm.x[k], pts[k][1] = lm.y[k];
        for (int c = 0; c < 4; c++) {
            double u = (c & 1) ? 149.5 : -0.5, v = (c & 2) ? 149.5 : -0.5;
            pts[5 + c][0] = inv[0] * u + inv[1] * v + inv[2];
            pts[5 + c][1] = inv[3] * u + inv[4] * v + inv[5];
        }
        for (int k = 0; k < 9; k++) {
            double x = pts[k][0], y = pts[k][1];
            double e = hypot(m[0] * x + m[1] * y + m[2] - (truth[0] * x + truth[1] * y + truth[2]),
                             m[3] * x + m[4] * y + m[5] - (truth[3] * x + truth[4] * y + truth[5]));
            worst = fmax(worst, e);
            CHECK_MSG(e <= 1e-4, "trial %d: point %d lands %.3g chip px off (s %.3g)", trial, k, e, s);
        }
        CHECK(rms < 1e-3);
    }
    /* noisy landmarks: the closed form equals the normal-equation solution */
    double worst_ne = 0;
    for (int trial = 0; trial < 500; trial++) {
        fe_landmarks lm;
        for (int k = 0; k < 5; k++) {
            lm.x[k] = (float)(T[2 * k] * 0.4 + 30 + urand(-3, 3));
            lm.y[k] = (float)(T[2 * k + 1] * 0.4 + 50 + urand(-3, 3));
        }
        double m[6], r[6];
        CHECK_OK(fe__align_fit(&lm, &tmpl, m, NULL));
        ref_fit(&lm, &tmpl, r);
        for (int k = 0; k < 6; k++) worst_ne = fmax(worst_ne, fabs(m[k] - r[k]));
    }
    CHECK_MSG(worst_ne < 1e-9, "closed form vs normal equations: %.3g", worst_ne);
    /* negative control: a template point moved by 0.5 px is no longer recovered to 1e-4 */
    fe_landmarks moved = tmpl, lm;
    moved.x[2] += 0.5f;
    double truth[6] = {2, 0, 10, 0, 2, 20}, inv[6], m[6];
    fe__affine_invert(truth, inv);
    fe_landmarks_transform(inv, &tmpl, &lm);
    CHECK_OK(fe__align_fit(&lm, &moved, m, NULL));
    CHECK(fabs(m[0] * lm.x[2] + m[1] * lm.y[2] + m[2] - tmpl.x[2]) > 1e-4);
    NOTE("2000 random similarities (scale 0.3-5, any angle, shift +-300): worst chip-position "
         "error %.2g px, scale %.2g (rel), angle %.2g rad, raw translation %.2g; vs normal "
         "equations %.2g", worst, worst_s, worst_th, worst_t, worst_ne);
}

/* The expected chip, computed independently: normal-equation fit, per-pixel 2x2 solve, double
 * bilinear sampling with a black border, round half up; gray/alpha handled like fe_image_to_rgb. */
static fe_image *ref_chip(const fe_image *img, const fe_landmarks *lm) {
    fe_landmarks tmpl = default_template();
    double m[6];
    ref_fit(lm, &tmpl, m);
    fe_image *warped = ref_warp(img, m, 150, 150, FE_BORDER_CONSTANT, NULL);
    fe_image *rgb;
    if (fe_image_to_rgb(warped, &rgb) != FE_OK) rgb = NULL;
    fe_image_free(warped);
    return rgb;
}

FE_TEST(align_chip_matches_independent_computation) {
    fe_image *img, *chip;
    CHECK_OK(fe_image_load(FIXTURE, &img));
    CHECK_OK(fe_align_chip(img, &sample1_lm, &chip));
    CHECK(chip->width == 150 && chip->height == 150 && chip->channels == 3);
    fe_image *ref = ref_chip(img, &sample1_lm);
    CHECK(ref);
    cmp r = compare(chip, ref);
    CHECK_MSG(r.max_diff <= 1, "max diff %d over %zu values", r.max_diff, r.n_diff);
    CHECK_MSG(r.n_diff * 1000 < r.n, "%zu of %zu values differ", r.n_diff, r.n);
    /* negative control: landmarks moved by 1 px give a chip the comparison rejects */
    fe_landmarks moved = sample1_lm;
    for (int k = 0; k < 5; k++) moved.x[k] += 1.0f;
    fe_image *chip2;
    CHECK_OK(fe_align_chip(img, &moved, &chip2));
    cmp r2 = compare(chip2, ref);
    CHECK_MSG(r2.max_diff > 1, "moved landmarks still match (max diff %d)", r2.max_diff);
    /* an independent check of where the face lands: the warp carries each landmark onto the
     * template within the fit residual */
    double m[6], rms;
    CHECK_OK(fe_align_transform(150, 150, &sample1_lm, m, &rms));
    fe_landmarks in_chip;
    fe_landmarks_transform(m, &sample1_lm, &in_chip);
    for (int k = 0; k < 5; k++) CHECK(hypot(in_chip.x[k] - T[2 * k], in_chip.y[k] - T[2 * k + 1]) < 3 * rms);
    NOTE("face_sample1 chip: max diff %d, %zu of %zu values off by one; fit rms %.2f px; "
         "1 px landmark shift -> max diff %d", r.max_diff, r.n_diff, r.n, rms, r2.max_diff);
    fe_image_free(chip2);
    fe_image_free(ref);
    fe_image_free(chip);
    fe_image_free(img);
}

FE_TEST(align_gray_and_rgba_inputs) {
    /* gray: the chip is the gray chip replicated; RGBA: alpha dropped */
    fe_image *img, *gray, *rgba, *c3, *c1, *c4;
    CHECK_OK(fe_image_load(FIXTURE, &img));
    CHECK_OK(fe_image_create(150, 150, 1, &gray));
    CHECK_OK(fe_image_create(150, 150, 4, &rgba));
    for (size_t i = 0; i < 150 * 150; i++) {
        gray->data[i] = img->data[3 * i + 1];
        memcpy(rgba->data + 4 * i, img->data + 3 * i, 3);
        rgba->data[4 * i + 3] = (uint8_t)i;
    }
    CHECK_OK(fe_align_chip(img, &sample1_lm, &c3));
    CHECK_OK(fe_align_chip(gray, &sample1_lm, &c1));
    CHECK_OK(fe_align_chip(rgba, &sample1_lm, &c4));
    CHECK(c1->channels == 3 && c4->channels == 3);
    CHECK(memcmp(c3->data, c4->data, 150 * 150 * 3) == 0);
    for (size_t i = 0; i < 150 * 150; i++)
        CHECK(c1->data[3 * i] == c3->data[3 * i + 1] && c1->data[3 * i + 2] == c3->data[3 * i + 1]);
    fe_image_free(c1);
    fe_image_free(c3);
    fe_image_free(c4);
    fe_image_free(gray);
    fe_image_free(rgba);
    fe_image_free(img);
}

FE_TEST(align_large_face_is_area_prefiltered) {
    /* A 1-px checkerboard seen at 4x the chip's scale: bilinear sampling alone would
     * alias (values anywhere in 0..255); with the area reduction the chip is uniform grey. */
    const uint32_t W = 640;
    fe_image *img, *chip;
    CHECK_OK(fe_image_create(W, W, 3, &img));
    for (uint32_t y = 0; y < W; y++)
        for (uint32_t x = 0; x < W; x++) memset(img->data + ((size_t)y * W + x) * 3, ((x ^ y) & 1) ? 255 : 0, 3);
    fe_landmarks tmpl = default_template(), lm;
    const double up[6] = {4.0, 0.1, 15, -0.1, 4.0, 25};  /* chip -> image, scale 4, inside */
    fe_landmarks_transform(up, &tmpl, &lm);
    CHECK_OK(fe_align_chip(img, &lm, &chip));
    int lo = 255, hi = 0;
    for (size_t i = 0; i < 150 * 150 * 3; i++) {
        lo = chip->data[i] < lo ? chip->data[i] : lo;
        hi = chip->data[i] > hi ? chip->data[i] : hi;
    }
    CHECK_MSG(lo >= 118 && hi <= 137, "chip range %d..%d", lo, hi);
    /* negative control: the direct bilinear warp of the same map aliases */
    double m[6], inv[6];
    CHECK_OK(fe_align_transform(W, W, &lm, m, NULL));
    CHECK(fe__affine_invert(m, inv));
    fe_image *direct;
    CHECK_OK(fe_image_create(150, 150, 3, &direct));
    fe__warp_affine_inv(img, inv, direct, FE_BORDER_CONSTANT, NULL);
    int dlo = 255, dhi = 0;
    for (size_t i = 0; i < 150 * 150 * 3; i++) {
        dlo = direct->data[i] < dlo ? direct->data[i] : dlo;
        dhi = direct->data[i] > dhi ? direct->data[i] : dhi;
    }
    CHECK(dhi - dlo > 100);
    NOTE("checkerboard at scale 4: prefiltered chip %d..%d, direct bilinear %d..%d", lo, hi, dlo, dhi);
    fe_image_free(direct);
    fe_image_free(chip);
    fe_image_free(img);
}

FE_TEST(align_large_face_matches_small_face) {
    /* The fixture blown up 5x (each pixel a 5x5 block) with its landmarks scaled to match gives
     * nearly the chip of the original: the prefiltered path loses no geometry. */
    const uint32_t F = 5;
    fe_image *img, *big, *c_small, *c_big;
    CHECK_OK(fe_image_load(FIXTURE, &img));
    CHECK_OK(fe_image_create(150 * F, 150 * F, 3, &big));
    for (uint32_t y = 0; y < 150 * F; y++)
        for (uint32_t x = 0; x < 150 * F; x++)
            memcpy(big->data + ((size_t)y * 150 * F + x) * 3, img->data + ((size_t)(y / F) * 150 + x / F) * 3, 3);
    fe_landmarks lm_big;
    for (int k = 0; k < 5; k++) {  /* centre of pixel i maps to F*i + (F-1)/2 */
        lm_big.x[k] = (float)(F * sample1_lm.x[k] + (F - 1) / 2.0);
        lm_big.y[k] = (float)(F * sample1_lm.y[k] + (F - 1) / 2.0);
    }
    CHECK_OK(fe_align_chip(img, &sample1_lm, &c_small));
    CHECK_OK(fe_align_chip(big, &lm_big, &c_big));
    double sum = 0;
    int worst = 0;
    for (size_t i = 0; i < 150 * 150 * 3; i++) {
        int d = abs((int)c_small->data[i] - (int)c_big->data[i]);
        sum += d;
        worst = d > worst ? d : worst;
    }
    double mean = sum / (150 * 150 * 3);
    CHECK_MSG(mean < 2.0, "mean abs diff %.3f", mean);
    NOTE("5x enlarged face vs original: mean abs diff %.3f, max %d", mean, worst);
    fe_image_free(c_small);
    fe_image_free(c_big);
    fe_image_free(big);
    fe_image_free(img);
}

FE_TEST(align_fallback_centre_crop) {
    int32_t x0, y0;
    uint32_t side;
    fe__align_fallback_rect(150, 150, &x0, &y0, &side);
    CHECK_MSG(x0 == 43 && y0 == 49 && side == 65, "LFW-size crop %d,%d side %u", x0, y0, side);
    fe__align_fallback_rect(250, 250, &x0, &y0, &side);
    CHECK_MSG(x0 == 72 && y0 == 81 && side == 108, "250 px crop %d,%d side %u", x0, y0, side);
    fe__align_fallback_rect(400, 200, &x0, &y0, &side);
    CHECK_MSG(x0 == 158 && y0 == 65 && side == 86, "400x200 crop %d,%d side %u", x0, y0, side);
    fe__align_fallback_rect(1, 1, &x0, &y0, &side);
    CHECK(x0 == 0 && y0 == 0 && side == 1);
    /* the chip is exactly that crop resized (bilinear when enlarging, area when reducing) */
    fe_image *img, *chip, *crop, *want;
    CHECK_OK(fe_image_load(FIXTURE, &img));
    CHECK_OK(fe_align_chip(img, NULL, &chip));
    CHECK_OK(fe_image_crop(img, 43, 49, 65, 65, FE_BORDER_CONSTANT, NULL, &crop));
    CHECK_OK(fe_image_resize(crop, 150, 150, FE_RESIZE_BILINEAR, &want));
    CHECK(compare(chip, want).max_diff == 0);
    /* and fe_align_transform(NULL) describes it: a warp with that map agrees inside */
    double m[6], rms = -1;
    CHECK_OK(fe_align_transform(150, 150, NULL, m, &rms));
    CHECK(rms == 0 && m[1] == 0 && m[3] == 0 && fabs(m[0] - 150.0 / 65) < 1e-12);
    fe_image *warped;
    CHECK_OK(fe_image_warp_affine(img, m, 150, 150, FE_BORDER_CONSTANT, NULL, &warped));
    int worst = 0;
    for (uint32_t y = 3; y < 147; y++)
        for (uint32_t x = 3; x < 147; x++)
            for (int k = 0; k < 3; k++) {
                size_t i = ((size_t)y * 150 + x) * 3 + (size_t)k;
                worst = abs(warped->data[i] - chip->data[i]) > worst ? abs(warped->data[i] - chip->data[i]) : worst;
            }
    CHECK_MSG(worst <= 1, "interior differs by %d", worst);
    fe_image_free(warped);
    fe_image_free(want);
    fe_image_free(crop);
    fe_image_free(chip);
    /* a large image reduces with the area filter */
    fe_image *big, *bchip, *bcrop, *bwant;
    CHECK_OK(fe_image_resize(img, 700, 500, FE_RESIZE_BILINEAR, &big));
    CHECK_OK(fe_align_chip(big, NULL, &bchip));
    fe__align_fallback_rect(700, 500, &x0, &y0, &side);
    CHECK_OK(fe_image_crop(big, x0, y0, side, side, FE_BORDER_CONSTANT, NULL, &bcrop));
    CHECK_OK(fe_image_resize(bcrop, 150, 150, FE_RESIZE_AREA, &bwant));
    CHECK(side > 150 && compare(bchip, bwant).max_diff == 0);
    fe_image_free(bwant);
    fe_image_free(bcrop);
    fe_image_free(bchip);
    fe_image_free(big);
    fe_image_free(img);
}

FE_TEST(align_fallback_constants_from_lfw_mean) {
    /* The constants in align.h are the mean LFW face mapped through the template. */
    const char *path = fe_t_need_shared(t, "data/lfw/landmarks.tsv");
    if (!path) return;
    fe_landmark_list *L;
    CHECK_OK(fe_landmark_list_load(path, &L));
    size_t n = fe_landmark_list_count(L);
    double sx[5] = {0}, sy[5] = {0};
    for (size_t i = 0; i < n; i++) {
        fe_landmarks lm;
        CHECK_OK(fe_landmark_list_get(L, i, NULL, &lm));
        for (int k = 0; k < 5; k++) {
            sx[k] += lm.x[k];
            sy[k] += lm.y[k];
        }
    }
    fe_landmarks mean, tmpl = default_template();
    for (int k = 0; k < 5; k++) {
        mean.x[k] = (float)(sx[k] / (double)n);
        mean.y[k] = (float)(sy[k] / (double)n);
    }
    double m[6], inv[6];
    CHECK_OK(fe__align_fit(&mean, &tmpl, m, NULL));
    CHECK(fe__affine_invert(m, inv));
    double s = hypot(m[0], m[3]), angle = atan2(m[3], m[0]) * 180 / 3.14159265358979;
    double cx = inv[0] * 74.5 + inv[1] * 74.5 + inv[2], cy = inv[3] * 74.5 + inv[4] * 74.5 + inv[5];
    double side_frac = 150.0 / s / 150.0, cx_frac = (cx + 0.5) / 150.0, cy_frac = (cy + 0.5) / 150.0;
    CHECK_NEAR(side_frac, FE__FALLBACK_SIDE, 5e-4);
    CHECK_NEAR(cx_frac, FE__FALLBACK_CX, 5e-4);
    CHECK_NEAR(cy_frac, FE__FALLBACK_CY, 5e-4);
    CHECK(fabs(angle) < 1.0);
    NOTE("mean of %zu rows: scale %.4f, angle %.2f deg, side %.4f, centre (%.4f, %.4f)", n, s, angle,
         side_frac, cx_frac, cy_frac);
    fe_landmark_list_free(L);
}

FE_TEST(align_every_lfw_row_is_accepted) {
    /* the degeneracy limits must not reject real faces */
    const char *path = fe_t_need_shared(t, "data/lfw/landmarks.tsv");
    if (!path) return;
    fe_landmark_list *L;
    CHECK_OK(fe_landmark_list_load(path, &L));
    size_t n = fe_landmark_list_count(L), outside = 0;
    double smin = 1e9, smax = 0, rmax = 0;
    for (size_t i = 0; i < n; i++) {
        fe_landmarks lm;
        const char *key;
        CHECK_OK(fe_landmark_list_get(L, i, &key, &lm));
        double m[6], rms, inv[6];
        fe_status st = fe_align_transform(150, 150, &lm, m, &rms);
        CHECK_MSG(st == FE_OK, "%s: %s (%s)", key, fe_status_name(st), fe_last_error());
        double s = hypot(m[0], m[3]);
        smin = fmin(smin, s);
        smax = fmax(smax, s);
        rmax = fmax(rmax, rms);
        CHECK(fe__affine_invert(m, inv));
        int out = 0;
        for (int c = 0; c < 4; c++) {
            double u = (c & 1) ? 149 : 0, v = (c & 2) ? 149 : 0;
            double x = inv[0] * u + inv[1] * v + inv[2], y = inv[3] * u + inv[4] * v + inv[5];
            out |= x < -0.5 || y < -0.5 || x > 149.5 || y > 149.5;
        }
        outside += (size_t)out;
    }
    NOTE("%zu rows: scale %.2f-%.2f chip px per image px, max fit rms %.1f px, %zu chips reach "
         "outside the image", n, smin, smax, rmax, outside);
    fe_landmark_list_free(L);
}

FE_TEST(align_rejects_degenerate_landmarks) {
    fe_image *img, *chip = (fe_image *)1;
    CHECK_OK(fe_image_load(FIXTURE, &img));
    fe_landmarks lm = sample1_lm;
    lm.y[3] = NAN;
    CHECK_STATUS(fe_align_chip(img, &lm, &chip), FE_E_NUMERIC);
    CHECK(chip == NULL);
    lm = sample1_lm;
    lm.x[0] = INFINITY;
    CHECK_STATUS(fe_align_chip(img, &lm, &chip), FE_E_NUMERIC);
    lm = sample1_lm;  /* coincident eyes */
    lm.x[1] = lm.x[0] + 1.0f;
    lm.y[1] = lm.y[0];
    CHECK_STATUS(fe_align_chip(img, &lm, &chip), FE_E_CORRUPT);
    CHECK(strstr(fe_last_error(), "eyes") != NULL);
    for (int k = 0; k < 5; k++) lm.x[k] = 50, lm.y[k] = 60;  /* all points equal */
    CHECK_STATUS(fe_align_chip(img, &lm, &chip), FE_E_CORRUPT);
    for (int k = 0; k < 5; k++) {  /* a face 2.5 px wide: scale ~22 */
        lm.x[k] = (float)(70 + R[2 * k] / 22);
        lm.y[k] = (float)(70 + R[2 * k + 1] / 22);
    }
    CHECK_STATUS(fe_align_chip(img, &lm, &chip), FE_E_CORRUPT);
    CHECK(strstr(fe_last_error(), "scales the face") != NULL);
    for (int k = 0; k < 5; k++) {  /* the same shape at scale ~18 is accepted */
        lm.x[k] = (float)(70 + R[2 * k] / 18);
        lm.y[k] = (float)(70 + R[2 * k + 1] / 18);
    }
    CHECK_OK(fe_align_chip(img, &lm, &chip));
    fe_image_free(chip);
    lm = sample1_lm;  /* far outside the image */
    lm.x[4] = 301;
    CHECK_STATUS(fe_align_chip(img, &lm, &chip), FE_E_RANGE);
    lm.x[4] = -151;
    CHECK_STATUS(fe_align_chip(img, &lm, &chip), FE_E_RANGE);
    /* landmarks spanning 3 image sizes: the chip would cover 6.8 image sizes */
    fe_image *tiny;
    CHECK_OK(fe_image_create(10, 10, 3, &tiny));
    for (int k = 0; k < 5; k++) {
        lm.x[k] = (float)(-30 + R[2 * k] / 2.2);
        lm.y[k] = (float)(-27 + R[2 * k + 1] / 2.2);
    }
    CHECK_STATUS(fe_align_chip(tiny, &lm, &chip), FE_E_CORRUPT);
    CHECK(strstr(fe_last_error(), "too far apart") != NULL);
    fe_image_free(tiny);
    /* left/right swapped is a valid (mirrored, upside-down) similarity fit, not rejected */
    lm = sample1_lm;
    float tx = lm.x[0], ty = lm.y[0];
    lm.x[0] = lm.x[1], lm.y[0] = lm.y[1], lm.x[1] = tx, lm.y[1] = ty;
    CHECK_OK(fe_align_chip(img, &lm, &chip));
    fe_image_free(chip);
    CHECK_STATUS(fe_align_chip(NULL, &sample1_lm, &chip), FE_E_ARG);
    CHECK_STATUS(fe_align_chip(img, &sample1_lm, NULL), FE_E_ARG);
    fe_image_free(img);
}

FE_TEST(align_template_family_and_env) {
    fe_landmarks d, t1, t2;
    unsetenv("FE_ALIGN_TEMPLATE");
    CHECK_OK(fe_align_template(&d));
    for (int k = 0; k < 5; k++) CHECK(d.x[k] == (float)T[2 * k] && d.y[k] == (float)T[2 * k + 1]);
    CHECK_OK(fe__align_template_scaled(1.0, 5.0, &t1));
    CHECK(memcmp(&t1, &d, sizeof d) == 0);
    /* "1,0" is METHOD.md's template (the default before the study), bit for bit */
    CHECK_OK(fe__align_template_scaled(1.0, 0.0, &t1));
    for (int k = 0; k < 5; k++) CHECK(t1.x[k] == (float)R[2 * k] && t1.y[k] == (float)R[2 * k + 1]);
    setenv("FE_ALIGN_TEMPLATE", "1,0", 1);
    CHECK_OK(fe_align_template(&t2));
    CHECK(memcmp(&t1, &t2, sizeof t1) == 0);
    unsetenv("FE_ALIGN_TEMPLATE");
    /* scaled about the reference's centroid: centroid fixed, eye distance x1.06; shift moves
     * y only */
    fe_landmarks r0 = t1;
    CHECK_OK(fe__align_template_scaled(1.06, -4.0, &t2));
    double c0x = 0, c0y = 0, c2x = 0, c2y = 0;
    for (int k = 0; k < 5; k++) {
        c0x += r0.x[k] / 5.0; c0y += r0.y[k] / 5.0;
        c2x += t2.x[k] / 5.0; c2y += t2.y[k] / 5.0;
    }
    CHECK_NEAR(c2x, c0x, 1e-4);
    CHECK_NEAR(c2y, c0y - 4.0, 1e-4);
    CHECK_NEAR(hypot(t2.x[1] - t2.x[0], t2.y[1] - t2.y[0]), 1.06 * hypot(r0.x[1] - r0.x[0], r0.y[1] - r0.y[0]), 1e-3);
    CHECK_STATUS(fe__align_template_scaled(0.1, 0, &t2), FE_E_ARG);
    CHECK_STATUS(fe__align_template_scaled(1, NAN, &t2), FE_E_ARG);
    /* the environment knob reaches fe_align_chip */
    setenv("FE_ALIGN_TEMPLATE", "1.06,-4", 1);
    CHECK_OK(fe_align_template(&t1));
    CHECK(memcmp(&t1, &t2, sizeof t1) == 0);
    fe_image *img, *c_env, *c_with;
    CHECK_OK(fe_image_load(FIXTURE, &img));
    CHECK_OK(fe_align_chip(img, &sample1_lm, &c_env));
    CHECK_OK(fe__align_chip_with(img, &sample1_lm, &t2, FE_BORDER_CONSTANT, &c_with));
    CHECK(compare(c_env, c_with).max_diff == 0);
    fe_image_free(c_with);
    CHECK_OK(fe__align_chip_with(img, &sample1_lm, &d, FE_BORDER_CONSTANT, &c_with));
    CHECK(compare(c_env, c_with).max_diff > 10);
    fe_image_free(c_with);
    fe_image_free(c_env);
    setenv("FE_ALIGN_TEMPLATE", "1.06", 1);
    CHECK_STATUS(fe_align_chip(img, &sample1_lm, &c_env), FE_E_ARG);
    setenv("FE_ALIGN_TEMPLATE", "9,0", 1);
    CHECK_STATUS(fe_align_template(&t1), FE_E_ARG);
    unsetenv("FE_ALIGN_TEMPLATE");
    fe_image_free(img);
}

FE_TEST(align_allocation_failures) {
    fe_image *img, *big, *chip;
    CHECK_OK(fe_image_load(FIXTURE, &img));
    CHECK_OK(fe_image_resize(img, 600, 600, FE_RESIZE_BILINEAR, &big));
    fe_landmarks lm4;
    for (int k = 0; k < 5; k++) lm4.x[k] = sample1_lm.x[k] * 4, lm4.y[k] = sample1_lm.y[k] * 4;
    int steps = 0;
    for (int op = 0; op < 4; op++)
        for (long n = 0;; n++) {
            fe__alloc_fail_after(n);
            fe_status st = op == 0 ? fe_align_chip(img, &sample1_lm, &chip)
                         : op == 1 ? fe_align_chip(img, NULL, &chip)
                         : op == 2 ? fe_align_chip(big, &lm4, &chip)  /* prefiltered path */
                                   : fe_align_chip(big, NULL, &chip);
            fe__alloc_fail_after(-1);
            steps++;
            if (st == FE_OK) {
                fe_image_free(chip);
                break;
            }
            CHECK_MSG(st == FE_E_NOMEM && chip == NULL, "op %d step %ld: %s", op, n, fe_status_name(st));
            CHECK(n < 100);
        }
    NOTE("%d failure points", steps);
    fe_image_free(big);
    fe_image_free(img);
}

/* ---- the chip command --------------------------------------------------------------------- */

static int same_as_library_chip(fe_test *t, const char *out_path, const fe_landmarks *lm) {
    fe_image *img, *want, *got;
    if (fe_image_load(FIXTURE, &img) != FE_OK || fe_align_chip(img, lm, &want) != FE_OK) return 0;
    fe_status st = fe_image_load(out_path, &got);
    int same = st == FE_OK && compare(got, want).max_diff == 0;
    if (st == FE_OK) fe_image_free(got);
    fe_image_free(want);
    fe_image_free(img);
    (void)t;
    return same;
}

FE_TEST(chip_cli_points_tsv_and_fallback) {
    const char *dir = fe_t_tmpdir();
    char out[8192], path[700], tsv[700];
    /* ten numbers */
    snprintf(path, sizeof path, "%s/a.ppm", dir);
    int rc = fe_t_run(out, sizeof out, "%s chip %s --landmarks %s -o %s --json 2>&1", fe_t_cli(), FIXTURE,
                      SAMPLE1_LM_ARG, path);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "\"fallback\": false") && strstr(out, "\"landmarks\": \"points\""));
    CHECK(same_as_library_chip(t, path, &sample1_lm));
    /* a TSV whose key matches the end of the image path */
    snprintf(tsv, sizeof tsv, "%s/lm.tsv", dir);
    char text[512];
    int n = snprintf(text, sizeof text, "image\tleft_eye_x\tleft_eye_y\tright_eye_x\tright_eye_y\t"
                     "nose_x\tnose_y\tmouth_left_x\tmouth_left_y\tmouth_right_x\tmouth_right_y\n"
                     "faceres/face_sample1.ppm\t45\t64.5\t82\t67\t61\t89\t49\t106\t84\t107\n");
    CHECK(fe_t_write_file(tsv, text, (size_t)n) == 0);
    snprintf(path, sizeof path, "%s/b.ppm", dir);
    rc = fe_t_run(out, sizeof out, "%s chip %s --landmarks %s -o %s 2>&1", fe_t_cli(), FIXTURE, tsv, path);
    CHECK_MSG(rc == 0 && out[0] == 0, "exit %d: %s", rc, out);
    CHECK(same_as_library_chip(t, path, &sample1_lm));
    /* no row for the image: centre crop, said on stderr */
    n = snprintf(text, sizeof text, "image\tleft_eye_x\tleft_eye_y\tright_eye_x\tright_eye_y\t"
                 "nose_x\tnose_y\tmouth_left_x\tmouth_left_y\tmouth_right_x\tmouth_right_y\n"
                 "other/face_sample1.ppm\t45\t64.5\t82\t67\t61\t89\t49\t106\t84\t107\n");
    CHECK(fe_t_write_file(tsv, text, (size_t)n) == 0);
    snprintf(path, sizeof path, "%s/c.ppm", dir);
    rc = fe_t_run(out, sizeof out, "%s chip %s --landmarks %s -o %s 2>&1 >/dev/null", fe_t_cli(), FIXTURE,
                  tsv, path);
    CHECK_MSG(rc == 0 && strstr(out, "no row in") && strstr(out, "centre crop"), "exit %d: %s", rc, out);
    CHECK(same_as_library_chip(t, path, NULL));
    /* no --landmarks at all */
    snprintf(path, sizeof path, "%s/d.ppm", dir);
    rc = fe_t_run(out, sizeof out, "%s chip %s -o %s --json 2>/dev/null", fe_t_cli(), FIXTURE, path);
    CHECK(rc == 0 && strstr(out, "\"fallback\": true") && strstr(out, "\"landmarks\": \"none\""));
    CHECK(same_as_library_chip(t, path, NULL));
}

FE_TEST(chip_cli_errors) {
    const char *dir = fe_t_tmpdir();
    char out[4096], path[700];
    snprintf(path, sizeof path, "%s/x.ppm", dir);
    /* usage errors: exit 2 */
    CHECK(fe_t_run(out, sizeof out, "%s chip %s 2>&1", fe_t_cli(), FIXTURE) == 2);
    CHECK(strstr(out, "-o") != NULL);
    CHECK(fe_t_run(out, sizeof out, "%s chip -o %s 2>&1", fe_t_cli(), path) == 2);
    CHECK(fe_t_run(out, sizeof out, "%s chip %s --landmarks 1,2,3 -o %s 2>&1", fe_t_cli(), FIXTURE, path) == 2);
    CHECK(strstr(out, "ten") != NULL);
    CHECK(fe_t_run(out, sizeof out, "%s chip %s --landmarks 1,2,3,4,nan,6,7,8,9,10 -o %s 2>&1", fe_t_cli(),
                   FIXTURE, path) == 2);
    /* runtime failures: exit 1, naming the file */
    CHECK(fe_t_run(out, sizeof out, "%s chip %s/missing.ppm -o %s 2>&1", fe_t_cli(), dir, path) == 1);
    CHECK(strstr(out, "missing.ppm") != NULL);
    CHECK(fe_t_run(out, sizeof out, "%s chip %s --landmarks %s/none.tsv -o %s 2>&1", fe_t_cli(), FIXTURE,
                   dir, path) == 1);
    CHECK(strstr(out, "none.tsv") != NULL);
    CHECK(fe_t_run(out, sizeof out, "%s chip %s --landmarks 45,64.5,45.5,64.5,61,89,49,106,84,107 -o %s 2>&1",
                   fe_t_cli(), FIXTURE, path) == 1);
    CHECK(strstr(out, "eyes") != NULL);
    CHECK(fe_t_run(out, sizeof out, "%s chip %s -o %s/x.bmp 2>&1", fe_t_cli(), FIXTURE, dir) == 1);
    CHECK(fe_t_run(out, sizeof out, "%s chip --help", fe_t_cli()) == 0);
    CHECK(strstr(out, "--landmarks") != NULL);
}
