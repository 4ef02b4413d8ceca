/*
 * half.c — IEEE 754 binary16 conversion (see half.h for the contract).
 *
 * binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits; binary32: 8 exponent bits
 * (bias 127), 23 mantissa bits. A normal half is a float whose exponent is rebiased by
 * 127 - 15 = 112 and whose mantissa is the top 10 of the float's 23 bits, so the conversion is
 * integer arithmetic on the bit patterns; rounding adds just under half an ulp plus the lowest
 * kept bit (ties to even), and a carry out of the mantissa correctly bumps the exponent.
 */
#include "half.h"

#include <string.h>

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t fe__f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)  /* NaN: quiet, keep the top 9 payload bits */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x1ffu));
    if (ax >= 0x477ff000u)  /* >= 65520, halfway past the largest half 65504: ties go to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax >= 0x38800000u) {  /* >= 2^-14: a normal half */
        uint32_t m = ax - 0x38000000u;  /* rebias: subtract 112 << 23 */
        m += 0x0fffu + ((m >> 13) & 1u);
        return (uint16_t)(sign | (m >> 13));
    }
    /* Below 2^-14: a subnormal half, value = r * 2^-24. With the implicit bit the float is
     * mant * 2^(e - 150), so r = mant >> (126 - e), rounded to nearest even. */
    uint32_t e = ax >> 23;
    if (e < 102) return sign;  /* < 2^-25: rounds to zero (2^-25 itself is a tie, handled below) */
    uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  /* 14 .. 24 */
    uint32_t r = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) r++;  /* may carry into 0x400 = 2^-14: fine */
    return (uint16_t)(sign | r);
}

float fe__f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) return bits_f32(sign | 0x7f800000u | (m << 13));
    if (e != 0) return bits_f32(sign | ((e + 112) << 23) | (m << 13));
    /* zero or subnormal: m * 2^-24 is exact in float (m < 2^10) */
    float v = (float)m * 0x1p-24f;
    return bits_f32(sign | f32_bits(v));
}

void fe__f32_to_f16_array(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = fe__f32_to_f16(src[i]);
}

void fe__f16_to_f32_array(const uint16_t *src, float *dst, size_t n) {
    /* Branch-free: shift exponent+mantissa into place and rebias by 112 << 23. Inf/NaN
     * (exponent 31) need another 112 << 23 to reach 255. Subnormals: give them the exponent of
     * 2^-14 (113) so the float is 2^-14 * (1 + m/1024), then subtract 2^-14 exactly, leaving
     * m * 2^-24. The selects compile to blends, so the loop vectorises. */
    for (size_t i = 0; i < n; i++) {
        uint32_t h = src[i];
        uint32_t o = (h & 0x7fffu) << 13;
        uint32_t exp = o & 0x0f800000u;
        uint32_t sign = (h & 0x8000u) << 16;
        o += 0x38000000u;
        o += exp == 0x0f800000u ? 0x38000000u : 0u;
        uint32_t sub = exp == 0 ? 1u : 0u;
        o += sub << 23;
        uint32_t s = f32_bits(bits_f32(o) - 0x1p-14f);  /* used only for subnormals */
        dst[i] = bits_f32((sub ? s : o) | sign);
    }
}
