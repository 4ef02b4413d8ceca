/*
 * half.h — IEEE 754 binary16 ("fp16") <-> binary32 conversion in portable C.
 *
 * Used for the optional fp16 patch maps of the gallery index (weights/INDEX-FORMAT.md).
 * float -> half rounds to nearest, ties to even, with gradual underflow (subnormal halves),
 * overflow to infinity and NaNs kept quiet with their top payload bits. half -> float is exact.
 */
#ifndef FE_HALF_H
#define FE_HALF_H

#include <stddef.h>
#include <stdint.h>

uint16_t fe__f32_to_f16(float f);
float fe__f16_to_f32(uint16_t h);
/* Array forms; the half -> float one is branch-free so the compiler vectorises it. */
void fe__f32_to_f16_array(const float *src, uint16_t *dst, size_t n);
void fe__f16_to_f32_array(const uint16_t *src, float *dst, size_t n);

#endif
