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

/* 1 when the AVX2 kernels may run: the CPU has AVX2 and FE_KERNEL is not "ref". */
int fe__geom_simd(void);
/* AVX2 span of fe__warp_affine_inv for 3/4 channels (image_geom_avx2.c): fills dst pixels
 * x_lo.. (d points at x_lo) in groups of eight, all four neighbours inside, bit-identical to
 * the portable path; returns the first x it did not do. */
uint32_t fe__warp_span_avx2(const fe_image *src, double ax, double bx, double ay, double by,
                            uint32_t x_lo, uint32_t x_hi, uint8_t *d);
/* AVX2 vertical step of the bilinear resize: d[k] = round(r0[k]*gy + r1[k]*fy) for the
 * first multiple of 8 of n values, bit-identical to the portable loop; returns the count. */
size_t fe__blend_rows_avx2(const float *r0, const float *r1, float gy, float fy, uint8_t *d,
                           size_t n);

#endif
