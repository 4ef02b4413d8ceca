/*
 * jpeg_kernels.c — chooses the JPEG pixel kernels (IDCT, fancy upsampling, YCbCr -> RGB):
 * the AVX2 set when the CPU has AVX2 (checked at run time, so the binary stays portable), else
 * the portable C set. FE_KERNEL=ref forces the portable set, which is how tests compare the
 * two (they must produce identical bytes). No global state: the choice is recomputed per
 * decode, which costs a getenv and a cpuid-backed flag read.
 */
#include "jpeg.h"

#include <stdlib.h>
#include <string.h>

const fe__jpeg_kernels fe__jpeg_kernels_ref = {
    "ref", fe__jpeg_idct_islow, fe__jpeg_h2v1_fancy, fe__jpeg_h2v2_fancy, fe__jpeg_ycc_rgb,
};

#if defined(__x86_64__)
const fe__jpeg_kernels fe__jpeg_kernels_avx2 = {
    "avx2", fe__jpeg_idct_islow_avx2, fe__jpeg_h2v1_fancy_avx2, fe__jpeg_h2v2_fancy_avx2,
    fe__jpeg_ycc_rgb_avx2,
};
#endif

const fe__jpeg_kernels *fe__jpeg_pick_kernels(void) {
    const char *force = getenv("FE_KERNEL");
    if (force && strcmp(force, "ref") == 0) return &fe__jpeg_kernels_ref;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx2")) return &fe__jpeg_kernels_avx2;
#endif
    return &fe__jpeg_kernels_ref;
}
