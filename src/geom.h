/*
 * geom.h — internal geometry helpers shared by image_geom.c and align.c.
 *
 * Affine maps use fe_image_warp_affine's layout: x' = m[0]x + m[1]y + m[2],
 * y' = m[3]x + m[4]y + m[5], pixel centres at integer coordinates.
 */
#ifndef FE_GEOM_H
#define FE_GEOM_H

#include "internal.h"

/* FE_E_ARG unless img is non-NULL with data and valid dimensions (1..4 channels, caps). */
fe_status fe__check_image(const fe_image *img, const char *what);

/* inv := m^-1. Returns 0 (inv untouched) if m is not finite or |det| < 1e-12. */
int fe__affine_invert(const double m[6], double inv[6]);
/* out := a o b (apply b first, then a). */
void fe__affine_compose(const double a[6], const double b[6], double out[6]);

/* Fills the already allocated dst (same channels as src) by bilinear sampling of src at
 * inv(x, y) for each dst pixel centre (x, y). inv maps destination to source. */
void fe__warp_affine_inv(const fe_image *src, const double inv[6], fe_image *dst,
                         fe_border border, const uint8_t *fill);

#endif
