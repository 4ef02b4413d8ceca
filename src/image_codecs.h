/*
 * image_codecs.h — the per-format decoders and encoders behind fe_image_load / fe_image_save.
 *
 * Contract for every decoder: never trust the input; check every size against the caps in
 * faceemd.h before allocating; return a specific status with fe__fail detail; on failure
 * *out is NULL and nothing leaks. Output is 8-bit interleaved (1, 3 or 4 channels).
 * info functions read only the header (no pixel allocation).
 */
#ifndef FE_IMAGE_CODECS_H
#define FE_IMAGE_CODECS_H

#include "internal.h"

/* Allocates an image, checking FE_MAX_IMAGE_DIM / FE_MAX_IMAGE_PIXELS (FE_E_LIMIT). */
fe_status fe__image_new(uint32_t width, uint32_t height, uint32_t channels, fe_image **out);
/* Checks a header's dimensions against the caps (FE_E_LIMIT, or FE_E_CORRUPT for zero). */
fe_status fe__image_check_dims(uint32_t width, uint32_t height, uint32_t channels);

fe_status fe__ppm_info(const uint8_t *data, size_t n, fe_image_header *out);
fe_status fe__ppm_decode(const uint8_t *data, size_t n, fe_image **out);
fe_status fe__ppm_encode(const fe_image *img, uint8_t **out_data, size_t *out_size);

fe_status fe__jpeg_info(const uint8_t *data, size_t n, fe_image_header *out);
fe_status fe__jpeg_decode(const uint8_t *data, size_t n, fe_image **out);

fe_status fe__png_info(const uint8_t *data, size_t n, fe_image_header *out);
fe_status fe__png_decode(const uint8_t *data, size_t n, fe_image **out);
/* compression level 0 (stored blocks) .. 9 (best); 6 is a good default */
fe_status fe__png_encode(const fe_image *img, int level, uint8_t **out_data, size_t *out_size);

#endif
