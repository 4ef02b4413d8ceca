/*
 * fuzz_ppm.c — libFuzzer target for the PGM/PPM (P5/P6) reader and writer.
 *
 * Any input must give a status, never a crash, leak or hang. Accepted images must agree with
 * fe__ppm_info and survive a write + read unchanged (abort() otherwise).
 * Seeds: tests/fuzz/corpus/ppm.
 */
#include "image_codecs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fe_image_header h;
    fe_status hs = fe__ppm_info(data, size, &h);
    fe_image *img;
    if (fe__ppm_decode(data, size, &img) != FE_OK) return 0;
    if (hs != FE_OK || h.width != img->width || h.height != img->height || h.channels != img->channels)
        abort();
    uint8_t *buf;
    size_t n;
    fe_image *back;
    if (fe__ppm_encode(img, &buf, &n) != FE_OK || fe__ppm_decode(buf, n, &back) != FE_OK) abort();
    if (memcmp(back->data, img->data, (size_t)img->width * img->height * img->channels) != 0) abort();
    fe_image_free(back);
    fe__free(buf);
    fe_image_free(img);
    return 0;
}
