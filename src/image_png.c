/* image_png.c — placeholder until the PNG codec lands (replaced wholesale). */
#include "image_codecs.h"

fe_status fe__png_info(const uint8_t *data, size_t n, fe_image_header *out) {
    (void)data; (void)n; (void)out;
    return fe__fail(FE_E_UNSUPPORTED, "PNG decoding is not built yet");
}
fe_status fe__png_decode(const uint8_t *data, size_t n, fe_image **out) {
    (void)data; (void)n; *out = NULL;
    return fe__fail(FE_E_UNSUPPORTED, "PNG decoding is not built yet");
}
fe_status fe__png_encode(const fe_image *img, int level, uint8_t **out_data, size_t *out_size) {
    (void)img; (void)level; *out_data = NULL; *out_size = 0;
    return fe__fail(FE_E_UNSUPPORTED, "PNG encoding is not built yet");
}
