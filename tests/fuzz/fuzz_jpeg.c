/*
 * fuzz_jpeg.c — libFuzzer target for the JPEG reader: fe_image_info, then fe_image_decode
 * when the declared size is modest (large frames are legal but only make the fuzzer slow and
 * memory-hungry; the caps themselves are tested in test_jpeg.c). A successful decode must
 * agree with info: a disagreement is reported as a crash.
 */
#include "faceemd.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fe_image_header h;
    fe_status si = fe_image_info(data, size, &h);
    if (si == FE_OK && (uint64_t)h.width * h.height > (1u << 20)) return 0;
    fe_image *img = NULL;
    fe_status sd = fe_image_decode(data, size, &img);
    if (sd == FE_OK) {
        if (si != FE_OK || h.width != img->width || h.height != img->height ||
            h.channels != img->channels)
            abort();
        fe_image_free(img);
    } else if (img != NULL) {
        abort();
    }
    return 0;
}
