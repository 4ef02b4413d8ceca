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

#define K(c) _mm256_set1_epi32(c)

/* The LLM 1-D IDCT of jpeg_idct.c, on 8 lanes at once: x[k] frequency k -> o[n] sample n. */
static inline void idct8(const __m256i x[8], __m256i o[8]) {
    __m256i z = _mm256_mullo_epi32(_mm256_add_epi32(x[2], x[6]), K(4433));
    __m256i r2 = _mm256_add_epi32(z, _mm256_mullo_epi32(x[2], K(6270)));
    __m256i r6 = _mm256_sub_epi32(z, _mm256_mullo_epi32(x[6], K(15137)));
    __m256i p = _mm256_slli_epi32(_mm256_add_epi32(x[0], x[4]), 13);
    __m256i m = _mm256_slli_epi32(_mm256_sub_epi32(x[0], x[4]), 13);
    __m256i e0 = _mm256_add_epi32(p, r2), e3 = _mm256_sub_epi32(p, r2);
    __m256i e1 = _mm256_add_epi32(m, r6), e2 = _mm256_sub_epi32(m, r6);
    __m256i s71 = _mm256_add_epi32(x[7], x[1]), s53 = _mm256_add_epi32(x[5], x[3]);
    __m256i s73 = _mm256_add_epi32(x[7], x[3]), s51 = _mm256_add_epi32(x[5], x[1]);
    __m256i z5 = _mm256_mullo_epi32(_mm256_add_epi32(s73, s51), K(9633));
    __m256i t7 = _mm256_mullo_epi32(x[7], K(2446)), t5 = _mm256_mullo_epi32(x[5], K(16819));
    __m256i t3 = _mm256_mullo_epi32(x[3], K(25172)), t1 = _mm256_mullo_epi32(x[1], K(12299));
    s71 = _mm256_mullo_epi32(s71, K(-7373));
    s53 = _mm256_mullo_epi32(s53, K(-20995));
    s73 = _mm256_add_epi32(_mm256_mullo_epi32(s73, K(-16069)), z5);
    s51 = _mm256_add_epi32(_mm256_mullo_epi32(s51, K(-3196)), z5);
    t7 = _mm256_add_epi32(t7, _mm256_add_epi32(s71, s73));
    t5 = _mm256_add_epi32(t5, _mm256_add_epi32(s53, s51));
    t3 = _mm256_add_epi32(t3, _mm256_add_epi32(s53, s73));
    t1 = _mm256_add_epi32(t1, _mm256_add_epi32(s71, s51));
    o[0] = _mm256_add_epi32(e0, t1); o[7] = _mm256_sub_epi32(e0, t1);
    o[1] = _mm256_add_epi32(e1, t3); o[6] = _mm256_sub_epi32(e1, t3);
    o[2] = _mm256_add_epi32(e2, t5); o[5] = _mm256_sub_epi32(e2, t5);
    o[3] = _mm256_add_epi32(e3, t7); o[4] = _mm256_sub_epi32(e3, t7);
}

static inline void transpose8(__m256i r[8]) {
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
    }
}

void fe__jpeg_idct_islow_avx2(const int16_t *blk, uint8_t *out, size_t stride) {
    __m256i x[8], o[8];
    /* x[k] = row k of coefficients: lanes are the 8 columns, so pass 1 does all columns */
    for (int k = 0; k < 8; k++) x[k] = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(blk + 8 * k)));
    idct8(x, o);
    const __m256i r1 = K(1 << 10), lo = K(-32768), hi = K(32767);
    for (int n = 0; n < 8; n++)
        o[n] = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(_mm256_add_epi32(o[n], r1), 11), lo), hi);
    transpose8(o);  /* o[u] = frequency u of each row */
    idct8(o, x);
    /* (v + 2^17) >> 18, + 128: the level shift folded into the rounding constant (exact, it
     * is a multiple of 2^18; the sum stays below 2^31 for int16-saturated inputs) */
    const __m256i r2 = K((1 << 17) + (128 << 18));
    for (int n = 0; n < 8; n++) x[n] = _mm256_srai_epi32(_mm256_add_epi32(x[n], r2), 18);
    transpose8(x);  /* x[row] lanes = columns */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int r = 0; r < 8; r += 4) {
        /* saturating packs: int32 -> int16 -> uint8 clamps to 0..255 like the scalar code */
        __m256i a = _mm256_packs_epi32(x[r], x[r + 1]), b = _mm256_packs_epi32(x[r + 2], x[r + 3]);
        __m256i p = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a, b), order);
        uint8_t tmp[32];
        _mm256_storeu_si256((__m256i *)tmp, p);
        for (int i = 0; i < 4; i++) memcpy(out + (size_t)(r + i) * stride, tmp + 8 * i, 8);
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
    if (i < n) fe__jpeg_ycc_rgb(y + i, cb + i, cr + i, n - i, out + 3 * (size_t)i);
}

#endif
