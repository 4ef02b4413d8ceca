/*
 * jpeg_idct.c — 8x8 inverse DCT for JPEG (ITU-T T.81 A.3.3), integer, separable.
 *
 * The 1-D transform is the Loeffler–Ligtenberg–Moschytz factorisation (ICASSP 1989): 12
 * multiplications, with the even part a rotation by c6 and the odd part four rotations merged
 * around sqrt(2)*c3. Scaling follows the widely used "islow" convention so results agree with
 * libjpeg's default decoder: constants in 13-bit fixed point, each 1-D pass yields sqrt(8) times
 * the orthonormal IDCT, columns first, 2 extra fraction bits kept between passes, round-half-up
 * descaling, +128 level shift, clamp to 0..255. Overflow safety: inputs are within int16 and
 * the column results are saturated to int16 (as libjpeg-turbo's SIMD code does), so with the
 * largest weight sum of any intermediate (61214 < 2^16) nothing exceeds 2^31.
 */
#include "jpeg.h"

#define CONST_BITS 13
#define PASS1_BITS 2

/* round(x * 2^13) of the LLM rotation factors, each a sum of sqrt(2)*cos(k*pi/16) terms */
#define K_0_298631336  2446   /* sqrt2 * (-c1 + c3 + c5 - c7) */
#define K_0_390180644  3196   /* sqrt2 * ( c3 - c5)           */
#define K_0_541196100  4433   /* sqrt2 * c6                   */
#define K_0_765366865  6270   /* sqrt2 * (c2 - c6)            */
#define K_0_899976223  7373   /* sqrt2 * (c3 - c7)            */
#define K_1_175875602  9633   /* sqrt2 * c3                   */
#define K_1_501321110 12299   /* sqrt2 * ( c1 + c3 - c5 - c7) */
#define K_1_847759065 15137   /* sqrt2 * (c2 + c6)            */
#define K_1_961570560 16069   /* sqrt2 * (c3 + c5)            */
#define K_2_053119869 16819   /* sqrt2 * ( c1 + c3 - c5 + c7) */
#define K_2_562915447 20995   /* sqrt2 * (c1 + c3)            */
#define K_3_072711026 25172   /* sqrt2 * ( c1 + c3 + c5 - c7) */

/* One 1-D IDCT: x[0..7] (frequency) -> o[0..7] (space), scaled by 2^13 * sqrt(8). */
static inline void idct_1d(int32_t x0, int32_t x1, int32_t x2, int32_t x3, int32_t x4,
                           int32_t x5, int32_t x6, int32_t x7, int32_t o[8]) {
    /* even part: 4-point IDCT of x0, x2, x4, x6 */
    int32_t z = (x2 + x6) * K_0_541196100;
    int32_t r2 = z + x2 * K_0_765366865;    /* sqrt2 (c2 x2 + c6 x6) */
    int32_t r6 = z - x6 * K_1_847759065;    /* sqrt2 (c6 x2 - c2 x6) */
    int32_t p = (x0 + x4) * (1 << CONST_BITS), m = (x0 - x4) * (1 << CONST_BITS);
    int32_t e0 = p + r2, e3 = p - r2, e1 = m + r6, e2 = m - r6;
    /* odd part: x1, x3, x5, x7 through the shared sqrt2*c3 rotation */
    int32_t s71 = x7 + x1, s53 = x5 + x3, s73 = x7 + x3, s51 = x5 + x1;
    int32_t z5 = (s73 + s51) * K_1_175875602;
    int32_t t7 = x7 * K_0_298631336, t5 = x5 * K_2_053119869;
    int32_t t3 = x3 * K_3_072711026, t1 = x1 * K_1_501321110;
    s71 *= -K_0_899976223;
    s53 *= -K_2_562915447;
    s73 = s73 * -K_1_961570560 + z5;
    s51 = s51 * -K_0_390180644 + z5;
    t7 += s71 + s73;
    t5 += s53 + s51;
    t3 += s53 + s73;
    t1 += s71 + s51;
    o[0] = e0 + t1; o[7] = e0 - t1;
    o[1] = e1 + t3; o[6] = e1 - t3;
    o[2] = e2 + t5; o[5] = e2 - t5;
    o[3] = e3 + t7; o[4] = e3 - t7;
}

static inline int32_t sat16(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }
static inline uint8_t clamp8(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

uint8_t fe__jpeg_idct_dc(int16_t dc) {
    /* both passes of the full transform reduce to this when every AC coefficient is zero */
    return clamp8(((sat16(dc * (1 << PASS1_BITS)) + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) + 128);
}

void fe__jpeg_idct_islow(const int16_t *blk, uint8_t *out, size_t stride) {
    int32_t ws[64];
    /* pass 1: columns, keeping PASS1_BITS fraction bits */
    for (int c = 0; c < 8; c++) {
        const int16_t *in = blk + c;
        if ((in[8] | in[16] | in[24] | in[32] | in[40] | in[48] | in[56]) == 0) {
            int32_t dc = sat16(in[0] * (1 << PASS1_BITS));  /* exact: same as the full path */
            for (int r = 0; r < 8; r++) ws[8 * r + c] = dc;
            continue;
        }
        int32_t o[8];
        idct_1d(in[0], in[8], in[16], in[24], in[32], in[40], in[48], in[56], o);
        for (int r = 0; r < 8; r++)
            ws[8 * r + c] = sat16((o[r] + (1 << (CONST_BITS - PASS1_BITS - 1))) >> (CONST_BITS - PASS1_BITS));
    }
    /* pass 2: rows, removing the remaining scale (2^13 * 2^2 * 8) and level-shifting */
    enum { SHIFT = CONST_BITS + PASS1_BITS + 3 };
    for (int r = 0; r < 8; r++) {
        const int32_t *w = ws + 8 * r;
        uint8_t *dst = out + (size_t)r * stride;
        if ((w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) == 0) {
            uint8_t v = clamp8(((w[0] + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) + 128);
            for (int c = 0; c < 8; c++) dst[c] = v;
            continue;
        }
        int32_t o[8];
        idct_1d(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], o);
        for (int c = 0; c < 8; c++) dst[c] = clamp8(((o[c] + (1 << (SHIFT - 1))) >> SHIFT) + 128);
    }
}
