/*
 * jpeg_avx2.c — AVX2 versions of the JPEG pixel kernels (see fe__jpeg_kernels in jpeg.h):
 * islow IDCT with the 8 columns (then rows) of a block in the 8 int32 lanes, the 2:1 and 2:2
 * triangle upsamplers 16 samples at a time in 16-bit lanes, and YCbCr -> RGB 16 pixels at a
 * time in 32-bit lanes. Each performs exactly the integer operations of its portable twin
 * (same constants, shifts, roundings and saturations), so the output bytes are identical;
 * test_jpeg.c checks that. Built with -mavx2; selected only when the CPU reports AVX2.
 */
#include "jpeg.h"

#if defined(__x86_64__) && defined(__AVX2__)
#include <immintrin.h>
#include <string.h>

/* ---- IDCT ------------------------------------------------------------------------------ */

/* The IDCT works on 16-bit data with pmaddwd (a*ca + b*cb per 32-bit lane). Every rotation of
 * the LLM factorisation in jpeg_idct.c is a linear form with integer constants, so expanding
 * it into pairwise products gives the same integers exactly — e.g. the even part's
 * (x2 + x6)*4433 + x2*6270 is x2*10703 + x6*4433, and the odd output t1 (x1*12299 + the
 * shared z1, z4, z5 terms) is x1*11363 + x3*9633 + x5*6437 + x7*2260. Inputs are int16 (the
 * dequantized coefficients, and the pass-1 results saturated to int16 exactly as the
 * portable code does); intermediate sums may wrap but the final value of each output is
 * below 2^31 (see jpeg_idct.c), and wrapping adds are exact modulo 2^32. */

#define K(c) _mm256_set1_epi32(c)
#define C2(a, b) _mm256_set1_epi32((int32_t)((uint32_t)(uint16_t)(int16_t)(a) | \
                                              (uint32_t)(uint16_t)(int16_t)(b) << 16))

/* (a0, b0, a1, b1, ..., a7, b7): lanes 0..7 of two rows side by side for pmaddwd */
static inline __m256i pair(__m128i a, __m128i b) {
    return _mm256_set_m128i(_mm_unpackhi_epi16(a, b), _mm_unpacklo_epi16(a, b));
}

/* 1-D IDCT of 8 lanes at once: x[k] frequency k (int16) -> o[n] sample n (int32, scaled
 * by 2^13 * sqrt(8) like the portable idct_1d) */
static inline void idct8(const __m128i x[8], __m256i o[8]) {
    __m256i x04 = pair(x[0], x[4]), x26 = pair(x[2], x[6]);
    __m256i x13 = pair(x[1], x[3]), x57 = pair(x[5], x[7]);
    __m256i p = _mm256_madd_epi16(x04, C2(8192, 8192)), m = _mm256_madd_epi16(x04, C2(8192, -8192));
    __m256i r2 = _mm256_madd_epi16(x26, C2(10703, 4433));   /* 4433 + 6270, 4433          */
    __m256i r6 = _mm256_madd_epi16(x26, C2(4433, -10704));  /* 4433, 4433 - 15137         */
    __m256i e0 = _mm256_add_epi32(p, r2), e3 = _mm256_sub_epi32(p, r2);
    __m256i e1 = _mm256_add_epi32(m, r6), e2 = _mm256_sub_epi32(m, r6);
    /* odd part, each output expanded over x1, x3, x5, x7 */
    __m256i t1 = _mm256_add_epi32(_mm256_madd_epi16(x13, C2(11363, 9633)), _mm256_madd_epi16(x57, C2(6437, 2260)));
    __m256i t3 = _mm256_add_epi32(_mm256_madd_epi16(x13, C2(9633, -2259)), _mm256_madd_epi16(x57, C2(-11362, -6436)));
    __m256i t5 = _mm256_add_epi32(_mm256_madd_epi16(x13, C2(6437, -11362)), _mm256_madd_epi16(x57, C2(2261, 9633)));
    __m256i t7 = _mm256_add_epi32(_mm256_madd_epi16(x13, C2(2260, -6436)), _mm256_madd_epi16(x57, C2(9633, -11363)));
    o[0] = _mm256_add_epi32(e0, t1); o[7] = _mm256_sub_epi32(e0, t1);
    o[1] = _mm256_add_epi32(e1, t3); o[6] = _mm256_sub_epi32(e1, t3);
    o[2] = _mm256_add_epi32(e2, t5); o[5] = _mm256_sub_epi32(e2, t5);
    o[3] = _mm256_add_epi32(e3, t7); o[4] = _mm256_sub_epi32(e3, t7);
}

/* two int32 rows -> int16 with saturation: row a in the low half, row b in the high half */
static inline __m256i pack2(__m256i a, __m256i b) {
    return _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
}

static inline void transpose8x8_16(__m128i r[8]) {
    __m128i a0 = _mm_unpacklo_epi16(r[0], r[1]), a1 = _mm_unpackhi_epi16(r[0], r[1]);
    __m128i a2 = _mm_unpacklo_epi16(r[2], r[3]), a3 = _mm_unpackhi_epi16(r[2], r[3]);
    __m128i a4 = _mm_unpacklo_epi16(r[4], r[5]), a5 = _mm_unpackhi_epi16(r[4], r[5]);
    __m128i a6 = _mm_unpacklo_epi16(r[6], r[7]), a7 = _mm_unpackhi_epi16(r[6], r[7]);
    __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2);
    __m128i b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3);
    __m128i b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6);
    __m128i b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
    r[0] = _mm_unpacklo_epi64(b0, b4); r[1] = _mm_unpackhi_epi64(b0, b4);
    r[2] = _mm_unpacklo_epi64(b1, b5); r[3] = _mm_unpackhi_epi64(b1, b5);
    r[4] = _mm_unpacklo_epi64(b2, b6); r[5] = _mm_unpackhi_epi64(b2, b6);
    r[6] = _mm_unpacklo_epi64(b3, b7); r[7] = _mm_unpackhi_epi64(b3, b7);
}

void fe__jpeg_idct_islow_avx2(const int16_t *blk, uint8_t *out, size_t stride) {
    __m128i x[8];
    __m256i o[8];
    /* x[v] = coefficient row v: lanes are the 8 columns, so pass 1 does all columns */
    for (int v = 0; v < 8; v++) x[v] = _mm_loadu_si128((const __m128i *)(blk + 8 * v));
    idct8(x, o);
    const __m256i r1 = K(1 << 10);
    for (int n = 0; n < 8; n += 2) {
        /* descale by 11 bits, saturate to int16 (= sat16 of the portable code) */
        __m256i w = pack2(_mm256_srai_epi32(_mm256_add_epi32(o[n], r1), 11),
                          _mm256_srai_epi32(_mm256_add_epi32(o[n + 1], r1), 11));
        x[n] = _mm256_castsi256_si128(w);
        x[n + 1] = _mm256_extracti128_si256(w, 1);
    }
    transpose8x8_16(x);  /* x[u] = horizontal frequency u, lanes are the 8 rows */
    idct8(x, o);         /* o[c] = column c, lanes are the 8 rows */
    /* (v + 2^17) >> 18, + 128: the level shift folded into the rounding constant (exact, a
     * multiple of 2^18; no overflow as the true value is below 2^31 - 2^26) */
    const __m256i r2 = K((1 << 17) + (128 << 18));
    for (int n = 0; n < 8; n += 2) {
        __m256i w = pack2(_mm256_srai_epi32(_mm256_add_epi32(o[n], r2), 18),
                          _mm256_srai_epi32(_mm256_add_epi32(o[n + 1], r2), 18));
        x[n] = _mm256_castsi256_si128(w);
        x[n + 1] = _mm256_extracti128_si256(w, 1);
    }
    transpose8x8_16(x);  /* x[row], lanes are columns */
    for (int r = 0; r < 8; r += 2) {
        __m128i b = _mm_packus_epi16(x[r], x[r + 1]);  /* clamp to 0..255 */
        _mm_storel_epi64((__m128i *)(out + (size_t)r * stride), b);
        _mm_storel_epi64((__m128i *)(out + (size_t)(r + 1) * stride), _mm_srli_si128(b, 8));
    }
}

/* ---- upsampling ------------------------------------------------------------------------- */

static inline __m256i ld16(const uint8_t *p) { return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p)); }

/* even | odd << 8 puts each (even, odd) pair of 16-bit results side by side as bytes */
static inline void st_pairs(uint8_t *out, __m256i even, __m256i odd) {
    _mm256_storeu_si256((__m256i *)out, _mm256_or_si256(even, _mm256_slli_epi16(odd, 8)));
}

void fe__jpeg_h2v1_fancy_avx2(const uint8_t *in, uint32_t n, uint8_t *out) {
    const __m256i three = _mm256_set1_epi16(3), b1 = _mm256_set1_epi16(1), b2 = _mm256_set1_epi16(2);
    out[0] = in[0];
    out[1] = (uint8_t)((3 * in[0] + in[1] + 2) >> 2);
    uint32_t i = 1;
    for (; i + 17 <= n; i += 16) {  /* reads in[i-1 .. i+16], all < n */
        __m256i c = _mm256_mullo_epi16(ld16(in + i), three);
        __m256i e = _mm256_srli_epi16(_mm256_add_epi16(_mm256_add_epi16(c, ld16(in + i - 1)), b1), 2);
        __m256i o = _mm256_srli_epi16(_mm256_add_epi16(_mm256_add_epi16(c, ld16(in + i + 1)), b2), 2);
        st_pairs(out + 2 * i, e, o);
    }
    for (; i + 1 < n; i++) {
        int c = 3 * in[i];
        out[2 * i] = (uint8_t)((c + in[i - 1] + 1) >> 2);
        out[2 * i + 1] = (uint8_t)((c + in[i + 1] + 2) >> 2);
    }
    out[2 * n - 2] = (uint8_t)((3 * in[n - 1] + in[n - 2] + 1) >> 2);
    out[2 * n - 1] = in[n - 1];
}

void fe__jpeg_h2v2_fancy_avx2(const uint8_t *near, const uint8_t *far, uint32_t n, uint8_t *out) {
#define CS(i) (3 * near[i] + far[i])
    const __m256i three = _mm256_set1_epi16(3), b8 = _mm256_set1_epi16(8), b7 = _mm256_set1_epi16(7);
    out[0] = (uint8_t)((4 * CS(0) + 8) >> 4);
    out[1] = (uint8_t)((3 * CS(0) + CS(1) + 7) >> 4);
    uint32_t i = 1;
    for (; i + 17 <= n; i += 16) {
        /* column sums at i-1, i, i+1 (each <= 1020, so 16-bit lanes are exact) */
        __m256i cl = _mm256_add_epi16(_mm256_mullo_epi16(ld16(near + i - 1), three), ld16(far + i - 1));
        __m256i c = _mm256_add_epi16(_mm256_mullo_epi16(ld16(near + i), three), ld16(far + i));
        __m256i cr = _mm256_add_epi16(_mm256_mullo_epi16(ld16(near + i + 1), three), ld16(far + i + 1));
        c = _mm256_mullo_epi16(c, three);
        __m256i e = _mm256_srli_epi16(_mm256_add_epi16(_mm256_add_epi16(c, cl), b8), 4);
        __m256i o = _mm256_srli_epi16(_mm256_add_epi16(_mm256_add_epi16(c, cr), b7), 4);
        st_pairs(out + 2 * i, e, o);
    }
    for (; i + 1 < n; i++) {
        int c = 3 * CS(i);
        out[2 * i] = (uint8_t)((c + CS(i - 1) + 8) >> 4);
        out[2 * i + 1] = (uint8_t)((c + CS(i + 1) + 7) >> 4);
    }
    out[2 * n - 2] = (uint8_t)((3 * CS(n - 1) + CS(n - 2) + 8) >> 4);
    out[2 * n - 1] = (uint8_t)((4 * CS(n - 1) + 7) >> 4);
#undef CS
}

/* ---- colour ----------------------------------------------------------------------------- */

/* 8 pixels: R, G, B as int32 lanes, the fixed-point JFIF equations of fe__jpeg_ycc_rgb */
static inline void ycc8(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, __m256i *R, __m256i *G, __m256i *B) {
    const __m256i c128 = K(128), half = K(32768);
    __m256i Y = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)y));
    __m256i b = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)cb)), c128);
    __m256i r = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)cr)), c128);
    *R = _mm256_add_epi32(Y, _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(r, K(91881)), half), 16));
    __m256i g = _mm256_add_epi32(_mm256_mullo_epi32(b, K(-22554)), _mm256_mullo_epi32(r, K(-46802)));
    *G = _mm256_add_epi32(Y, _mm256_srai_epi32(_mm256_add_epi32(g, half), 16));
    *B = _mm256_add_epi32(Y, _mm256_srai_epi32(_mm256_add_epi32(_mm256_mullo_epi32(b, K(116130)), half), 16));
}

/* two groups of 8 int32 -> 16 bytes in order, clamped to 0..255 */
static inline __m128i to_u8(__m256i lo, __m256i hi) {
    __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);    /* 16 x int16 */
    __m256i b = _mm256_packus_epi16(w, w);                                      /* clamp     */
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(b, 0x08));
}

#define M(...) _mm_setr_epi8(__VA_ARGS__)

void fe__jpeg_ycc_rgb_avx2(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, uint32_t n, uint8_t *out) {
    /* byte shuffles that interleave 16 R, 16 G and 16 B bytes into 48 bytes RGBRGB... */
    const __m128i r0 = M(0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1, 5);
    const __m128i r1 = M(-1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10, -1);
    const __m128i r2 = M(-1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1, -1);
    const __m128i g0 = M(-1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1, -1);
    const __m128i g1 = M(5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1, 10);
    const __m128i g2 = M(-1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15, -1);
    const __m128i b0 = M(-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1);
    const __m128i b1 = M(-1, 5, -1, -1, 6, -1, -1, 7, -1, -1, 8, -1, -1, 9, -1, -1);
    const __m128i b2 = M(10, -1, -1, 11, -1, -1, 12, -1, -1, 13, -1, -1, 14, -1, -1, 15);
    uint32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i Ra, Ga, Ba, Rb, Gb, Bb;
        ycc8(y + i, cb + i, cr + i, &Ra, &Ga, &Ba);
        ycc8(y + i + 8, cb + i + 8, cr + i + 8, &Rb, &Gb, &Bb);
        __m128i R = to_u8(Ra, Rb), G = to_u8(Ga, Gb), B = to_u8(Ba, Bb);
        __m128i *o = (__m128i *)(out + 3 * (size_t)i);
        _mm_storeu_si128(o, _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(R, r0), _mm_shuffle_epi8(G, g0)), _mm_shuffle_epi8(B, b0)));
        _mm_storeu_si128(o + 1, _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(R, r1), _mm_shuffle_epi8(G, g1)), _mm_shuffle_epi8(B, b1)));
        _mm_storeu_si128(o + 2, _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(R, r2), _mm_shuffle_epi8(G, g2)), _mm_shuffle_epi8(B, b2)));
    }
    if (i < n) {
        /* the last n - i < 16 pixels through the same vector code, via padded copies */
        uint8_t ty[16] = {0}, tb[16] = {0}, tr[16] = {0}, to[48];
        memcpy(ty, y + i, n - i);
        memcpy(tb, cb + i, n - i);
        memcpy(tr, cr + i, n - i);
        fe__jpeg_ycc_rgb_avx2(ty, tb, tr, 16, to);
        memcpy(out + 3 * (size_t)i, to, 3 * (size_t)(n - i));
    }
}

#endif
