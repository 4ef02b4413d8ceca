/*
 * align.c — 5-point face alignment: least-squares similarity to a template, then a bilinear
 * warp into the FE_CHIP_SIZE^2 RGB chip the network reads; a fixed centre crop without
 * landmarks.
 *
 * Fit: Umeyama (1991) for 2-D, closed form, in double: with centred points P (landmarks) and
 * Q (template), a = sum(P.Q)/sum|P|^2, b = sum(P x Q)/sum|P|^2, so [a -b; b a] = s*R. Warp:
 * fe__warp_affine_inv with the inverse map; border black (dlib's chips, which this network was
 * trained on, are black outside the image; in 9,525 LFW images only 7 chips reach outside).
 *
 * Fallback numbers: the mean of the 9,525 rows of ../shared/data/lfw/landmarks.tsv is
 * (62.80,67.50) (87.06,67.04) (74.87,81.91) (64.55,94.30) (86.16,94.06) in the 150 px images;
 * its fit to the default template has scale 2.3172, rotation 0.59 deg (dropped) and maps the
 * chip centre (74.5,74.5) to (74.88,80.75). So the chip sees a 150/2.3172 = 64.73 px square
 * centred there: side 0.4315*min(W,H), centre (0.5025*W, 0.5416*H) in edge coordinates, i.e.
 * pixels 43..107 x 49..113 of a 150x150 LFW image (tests/test_align.c recomputes these). The
 * crop follows the template: with METHOD.md's (5 px higher) the centre was at 0.5560*H.
 */
#include "align.h"
#include "geom.h"
#include "image_codecs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* METHOD.md's template, the reference of the scale/shift family. The default is the member
 * (FE__ALIGN_DEFAULT_SCALE, FE__ALIGN_DEFAULT_SHIFT): this template moved 5 px down, chosen by
 * the LFW study in docs/ALIGNMENT.md (same verification accuracy within noise, stage-1 P@1
 * 0.9565 -> 0.9655 over 6,671 DevTrain queries). */
static const float reference_template[10] = {46.98f, 38.07f, 102.67f, 37.76f, 75.00f,
                                             69.74f, 52.12f, 102.34f, 98.24f, 102.09f};

fe_status fe__align_template_scaled(double scale, double shift_y, fe_landmarks *out) {
    if (!out) return fe__fail(FE_E_ARG, "out is NULL");
    if (!(scale >= 0.25 && scale <= 4.0) || !(fabs(shift_y) <= 75.0))
        return fe__fail(FE_E_ARG, "template scale %g or shift %g out of range ([0.25, 4], [-75, 75])",
                        scale, shift_y);
    double cx = 0, cy = 0;
    for (int k = 0; k < 5; k++) {
        cx += reference_template[2 * k] / 5.0;
        cy += reference_template[2 * k + 1] / 5.0;
    }
    /* p + (scale - 1)(p - c): at scale 1 the points are the reference's plus the shift, exactly
     * (each moves within its binade, so "1,0" is the reference bit for bit) */
    for (int k = 0; k < 5; k++) {
        double x = reference_template[2 * k], y = reference_template[2 * k + 1];
        out->x[k] = (float)(x + (scale - 1.0) * (x - cx));
        out->y[k] = (float)(y + (scale - 1.0) * (y - cy) + shift_y);
    }
    return FE_OK;
}

fe_status fe_align_template(fe_landmarks *out_template) {
    if (!out_template) return fe__fail(FE_E_ARG, "out_template is NULL");
    const char *env = getenv("FE_ALIGN_TEMPLATE");
    double scale = FE__ALIGN_DEFAULT_SCALE, shift = FE__ALIGN_DEFAULT_SHIFT;
    if (env && *env) {
        char *end;
        scale = strtod(env, &end);
        if (end == env || *end != ',')
            return fe__fail(FE_E_ARG, "FE_ALIGN_TEMPLATE='%.40s' is not 'scale,shift_y'", env);
        const char *p = end + 1;
        shift = strtod(p, &end);
        if (end == p || *end)
            return fe__fail(FE_E_ARG, "FE_ALIGN_TEMPLATE='%.40s' is not 'scale,shift_y'", env);
    }
    return fe__align_template_scaled(scale, shift, out_template);
}

void fe_landmarks_transform(const double m[6], const fe_landmarks *in, fe_landmarks *out) {
    fe_landmarks r;
    for (int k = 0; k < 5; k++) {
        double x = in->x[k], y = in->y[k];
        r.x[k] = (float)(m[0] * x + m[1] * y + m[2]);
        r.y[k] = (float)(m[3] * x + m[4] * y + m[5]);
    }
    *out = r;
}

static int finite_points(const fe_landmarks *p) {
    for (int k = 0; k < 5; k++)
        if (!isfinite(p->x[k]) || !isfinite(p->y[k])) return 0;
    return 1;
}

fe_status fe__align_fit(const fe_landmarks *from, const fe_landmarks *to, double m[6], double *rms) {
    if (!finite_points(from) || !finite_points(to))
        return fe__fail(FE_E_NUMERIC, "landmarks are not finite (NaN or Inf)");
    double px = 0, py = 0, qx = 0, qy = 0;
    for (int k = 0; k < 5; k++) {
        px += from->x[k]; py += from->y[k];
        qx += to->x[k];   qy += to->y[k];
    }
    px /= 5; py /= 5; qx /= 5; qy /= 5;
    double sxx = 0, sa = 0, sb = 0;
    for (int k = 0; k < 5; k++) {
        double x = from->x[k] - px, y = from->y[k] - py, u = to->x[k] - qx, v = to->y[k] - qy;
        sxx += x * x + y * y;
        sa += x * u + y * v;
        sb += x * v - y * u;
    }
    if (!(sxx > 1e-6)) return fe__fail(FE_E_CORRUPT, "the five landmarks coincide");
    double a = sa / sxx, b = sb / sxx;
    m[0] = a;  m[1] = -b; m[2] = qx - a * px + b * py;
    m[3] = b;  m[4] = a;  m[5] = qy - b * px - a * py;
    if (rms) {
        double e = 0;
        for (int k = 0; k < 5; k++) {
            double dx = m[0] * from->x[k] + m[1] * from->y[k] + m[2] - to->x[k];
            double dy = m[3] * from->x[k] + m[4] * from->y[k] + m[5] - to->y[k];
            e += dx * dx + dy * dy;
        }
        *rms = sqrt(e / 5);
    }
    return FE_OK;
}

void fe__align_fallback_rect(uint32_t width, uint32_t height, int32_t *x0, int32_t *y0,
                             uint32_t *side) {
    double mn = width < height ? width : height;
    double s = floor(FE__FALLBACK_SIDE * mn + 0.5);
    if (s < 1) s = 1;
    *side = (uint32_t)s;
    *x0 = (int32_t)floor(FE__FALLBACK_CX * width - s / 2 + 0.5);
    *y0 = (int32_t)floor(FE__FALLBACK_CY * height - s / 2 + 0.5);
}

fe_status fe__align_transform_with(uint32_t width, uint32_t height, const fe_landmarks *lm,
                                   const fe_landmarks *tmpl, double m[6], double *rms) {
    if (rms) *rms = 0;
    if (width == 0 || height == 0 || width > FE_MAX_IMAGE_DIM || height > FE_MAX_IMAGE_DIM)
        return fe__fail(FE_E_ARG, "image size %ux%u", width, height);
    if (!lm) {
        int32_t x0, y0;
        uint32_t side;
        fe__align_fallback_rect(width, height, &x0, &y0, &side);
        /* bilinear resize with half-pixel centres: chip = (u - x0 + 0.5) * 150/side - 0.5 */
        double f = (double)FE_CHIP_SIZE / side;
        m[0] = f; m[1] = 0; m[2] = (0.5 - x0) * f - 0.5;
        m[3] = 0; m[4] = f; m[5] = (0.5 - y0) * f - 0.5;
        return FE_OK;
    }
    if (!finite_points(lm)) return fe__fail(FE_E_NUMERIC, "landmarks are not finite (NaN or Inf)");
    for (int k = 0; k < 5; k++) {
        if (lm->x[k] < -(double)width || lm->x[k] > 2.0 * width || lm->y[k] < -(double)height ||
            lm->y[k] > 2.0 * height)
            return fe__fail(FE_E_RANGE, "landmark %d (%g, %g) lies more than an image size outside "
                            "the %ux%u image", k + 1, lm->x[k], lm->y[k], width, height);
    }
    double eye = hypot((double)lm->x[1] - lm->x[0], (double)lm->y[1] - lm->y[0]);
    if (eye < FE__ALIGN_MIN_EYE_DIST)
        return fe__fail(FE_E_CORRUPT, "the eyes are %.3g px apart (at least %g needed)", eye,
                        FE__ALIGN_MIN_EYE_DIST);
    fe_status st = fe__align_fit(lm, tmpl, m, rms);
    if (st != FE_OK) return st;
    double s = hypot(m[0], m[3]);
    double longest = width > height ? width : height;
    if (s > FE__ALIGN_MAX_SCALE)
        return fe__fail(FE_E_CORRUPT, "landmarks too close together: the fit scales the face %.3g "
                        "times (limit %g)", s, FE__ALIGN_MAX_SCALE);
    if (FE_CHIP_SIZE / s > FE__ALIGN_MAX_FOOTPRINT * longest)
        return fe__fail(FE_E_CORRUPT, "landmarks too far apart: the chip would cover %.0f px of a "
                        "%ux%u image", FE_CHIP_SIZE / s, width, height);
    return FE_OK;
}

fe_status fe_align_transform(uint32_t width, uint32_t height, const fe_landmarks *lm_or_null,
                             double out_m[6], double *out_rms_px) {
    if (!out_m) return fe__fail(FE_E_ARG, "out_m is NULL");
    fe_landmarks tmpl;
    fe_status st = fe_align_template(&tmpl);
    if (st != FE_OK) return st;
    return fe__align_transform_with(width, height, lm_or_null, &tmpl, out_m, out_rms_px);
}

/* Makes the chip with the source's channel count into *out (allocated here). */
static fe_status warp_chip(const fe_image *img, const double m[6], fe_border border, fe_image **out) {
    double inv[6];
    if (!fe__affine_invert(m, inv)) return fe__fail(FE_E_NUMERIC, "alignment map is not invertible");
    fe_image *chip = NULL, *mid = NULL, *crop = NULL;
    fe_status st = fe__image_new(FE_CHIP_SIZE, FE_CHIP_SIZE, img->channels, &chip);
    if (st != FE_OK) return st;
    double s = hypot(m[0], m[3]);
    const fe_image *from = img;
    if (s < 1.0) {
        /* The face is larger in the image than in the chip: bilinear sampling would skip
         * pixels (aliasing), so area-reduce the chip's footprint to about chip resolution
         * first. The footprint is clamped to the image, so its edges stay the image's. */
        double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
        const double c = FE_CHIP_SIZE - 0.5, corners[4][2] = {{-0.5, -0.5}, {c, -0.5}, {-0.5, c}, {c, c}};
        for (int k = 0; k < 4; k++) {
            double u = inv[0] * corners[k][0] + inv[1] * corners[k][1] + inv[2];
            double v = inv[3] * corners[k][0] + inv[4] * corners[k][1] + inv[5];
            lo_x = fmin(lo_x, u); hi_x = fmax(hi_x, u);
            lo_y = fmin(lo_y, v); hi_y = fmax(hi_y, v);
        }
        double margin = 2.0 / s + 2.0;
        double x0 = fmax(0, floor(lo_x - margin)), x1 = fmin(img->width - 1.0, ceil(hi_x + margin));
        double y0 = fmax(0, floor(lo_y - margin)), y1 = fmin(img->height - 1.0, ceil(hi_y + margin));
        if (x0 <= x1 && y0 <= y1) {
            uint32_t cw = (uint32_t)(x1 - x0 + 1), ch = (uint32_t)(y1 - y0 + 1);
            uint32_t dw = (uint32_t)fmax(2.0, floor(cw * s + 0.5));
            uint32_t dh = (uint32_t)fmax(2.0, floor(ch * s + 0.5));
            if (dw > cw) dw = cw;
            if (dh > ch) dh = ch;
            st = fe_image_crop(img, (int32_t)x0, (int32_t)y0, cw, ch, FE_BORDER_CONSTANT, NULL, &crop);
            if (st == FE_OK) st = fe_image_resize(crop, dw, dh, FE_RESIZE_AREA, &mid);
            if (st != FE_OK) goto done;
            /* image -> reduced image: u' = (u - x0 + 0.5) * dw/cw - 0.5; chip <- u' */
            double fx = (double)dw / cw, fy = (double)dh / ch;
            double a[6] = {fx, 0, (0.5 - x0) * fx - 0.5, 0, fy, (0.5 - y0) * fy - 0.5};
            fe__affine_compose(a, inv, inv);
            from = mid;
        }
    }
    fe__warp_affine_inv(from, inv, chip, border, NULL);
done:
    fe_image_free(crop);
    fe_image_free(mid);
    if (st != FE_OK) {
        fe_image_free(chip);
        return st;
    }
    *out = chip;
    return FE_OK;
}

static fe_status fallback_chip(const fe_image *img, fe_image **out) {
    int32_t x0, y0;
    uint32_t side;
    fe__align_fallback_rect(img->width, img->height, &x0, &y0, &side);
    fe_image *crop;
    fe_status st = fe_image_crop(img, x0, y0, side, side, FE_BORDER_CONSTANT, NULL, &crop);
    if (st != FE_OK) return st;
    st = fe_image_resize(crop, FE_CHIP_SIZE, FE_CHIP_SIZE, FE_RESIZE_AUTO, out);
    fe_image_free(crop);
    return st;
}

fe_status fe__align_chip_with(const fe_image *img, const fe_landmarks *lm,
                              const fe_landmarks *tmpl, fe_border border, fe_image **out_chip) {
    if (!out_chip) return fe__fail(FE_E_ARG, "out_chip is NULL");
    *out_chip = NULL;
    fe_status st = fe__check_image(img, "img");
    if (st != FE_OK) return st;
    fe_image *chip;
    if (lm) {
        double m[6];
        st = fe__align_transform_with(img->width, img->height, lm, tmpl, m, NULL);
        if (st == FE_OK) st = warp_chip(img, m, border, &chip);
    } else {
        st = fallback_chip(img, &chip);
    }
    if (st != FE_OK) return st;
    if (chip->channels != 3) {
        fe_image *rgb;
        st = fe_image_to_rgb(chip, &rgb);
        fe_image_free(chip);
        if (st != FE_OK) return st;
        chip = rgb;
    }
    *out_chip = chip;
    return FE_OK;
}

fe_status fe_align_chip(const fe_image *img, const fe_landmarks *lm_or_null, fe_image **out_chip) {
    if (!out_chip) return fe__fail(FE_E_ARG, "out_chip is NULL");
    *out_chip = NULL;
    fe_landmarks tmpl;
    fe_status st = fe_align_template(&tmpl);
    if (st != FE_OK) return st;
    return fe__align_chip_with(img, lm_or_null, &tmpl, FE_BORDER_CONSTANT, out_chip);
}
