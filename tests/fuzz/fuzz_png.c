/*
 * fuzz_png.c — libFuzzer target for the PNG reader (and, on inputs it accepts, the writer).
 *
 * Any input must give a status, never a crash, leak or hang. Accepted images must agree with
 * fe_image_info, and re-encoding then decoding them must give the same pixels (abort() on a
 * mismatch so the fuzzer reports it). Seeds: tests/fuzz/corpus/png (small goldens).
 */
#include "image_codecs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fe_image_header h;
    fe_status hs = fe__png_info(data, size, &h);
    fe_image *img;
    if (fe__png_decode(data, size, &img) != FE_OK) return 0;
    if (hs != FE_OK || h.width != img->width || h.height != img->height || h.channels != img->channels)
        abort();  /* a file that decodes must have a header that says so */
    if ((uint64_t)img->width * img->height <= (1u << 16)) {
        uint8_t *png;
        size_t n;
        fe_image *back;
        int level = (int)(size % 10);
        if (fe__png_encode(img, level, &png, &n) != FE_OK) abort();
        if (fe__png_decode(png, n, &back) != FE_OK) abort();
        size_t bytes = (size_t)img->width * img->height * img->channels;
        if (back->channels != img->channels || memcmp(back->data, img->data, bytes) != 0) abort();
        fe_image_free(back);
        fe__free(png);
    }
    fe_image_free(img);
    return 0;
}
