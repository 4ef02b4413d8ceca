/* image_jpeg.c — placeholder until the JPEG decoder lands (replaced wholesale). */
#include "image_codecs.h"

fe_status fe__jpeg_info(const uint8_t *data, size_t n, fe_image_header *out) {
    (void)data; (void)n; (void)out;
    return fe__fail(FE_E_UNSUPPORTED, "JPEG decoding is not built yet");
}
fe_status fe__jpeg_decode(const uint8_t *data, size_t n, fe_image **out) {
    (void)data; (void)n; *out = NULL;
    return fe__fail(FE_E_UNSUPPORTED, "JPEG decoding is not built yet");
}
