/*
 * align.h — internal alignment entry points: the template family (for choosing the template
 * by LFW verification accuracy), the similarity fit, and the chip with an explicit template
 * and border rule. The public fe_align_* calls are these with the default template.
 */
#ifndef FE_ALIGN_H
#define FE_ALIGN_H

#include "internal.h"

/* Degeneracy limits (see faceemd.h): fit scales above this many chip pixels per image pixel
 * are refused, as are chip footprints larger than FE__ALIGN_MAX_FOOTPRINT image sizes. */
#define FE__ALIGN_MAX_SCALE     20.0
#define FE__ALIGN_MAX_FOOTPRINT 4.0
#define FE__ALIGN_MIN_EYE_DIST  2.0

/* Centre-crop fallback, from the mean LFW landmarks (align.c): side as a fraction of
 * min(W, H), centre as fractions of W and H (edge coordinates, image = [0, W] x [0, H]). */
#define FE__FALLBACK_SIDE 0.4315
#define FE__FALLBACK_CX   0.5025
#define FE__FALLBACK_CY   0.5416

/* The default template is the reference template (METHOD.md's) with this scale and shift
 * (docs/ALIGNMENT.md); FE_ALIGN_TEMPLATE="1,0" selects the reference, the default before the
 * template study. */
#define FE__ALIGN_DEFAULT_SCALE 1.0
#define FE__ALIGN_DEFAULT_SHIFT 5.0

/* The reference template (METHOD.md's) scaled by `scale` about its centroid and moved shift_y
 * chip pixels down. FE_E_ARG unless 0.25 <= scale <= 4 and |shift_y| <= 75. */
fe_status fe__align_template_scaled(double scale, double shift_y, fe_landmarks *out);
/* Least-squares similarity mapping the points `from` onto `to` (closed form, Umeyama 1991
 * restricted to 2-D): m in fe_image_warp_affine layout; rms (may be NULL) is the RMS residual
 * in `to` units. FE_E_NUMERIC for non-finite input, FE_E_CORRUPT if `from` collapses. */
fe_status fe__align_fit(const fe_landmarks *from, const fe_landmarks *to, double m[6], double *rms);
/* The square fallback crop of a width x height image: top-left pixel and side. */
void fe__align_fallback_rect(uint32_t width, uint32_t height, int32_t *x0, int32_t *y0,
                             uint32_t *side);
/* fe_align_transform / fe_align_chip with an explicit template and border rule. */
fe_status fe__align_transform_with(uint32_t width, uint32_t height, const fe_landmarks *lm,
                                   const fe_landmarks *tmpl, double m[6], double *rms);
fe_status fe__align_chip_with(const fe_image *img, const fe_landmarks *lm,
                              const fe_landmarks *tmpl, fe_border border, fe_image **out_chip);

#endif
