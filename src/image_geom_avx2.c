/*
 * image_geom_avx2.c — AVX2 bilinear span for affine warps of 3- and 4-channel images, eight
 * output pixels at a time (chosen at run time; image_geom.c holds the portable path).
 *
 * Bit-identical to the portable sample_inside(): the same double coordinates (ax*x + bx), the
 * same float operations in the same order (no FMA contraction: separate mul and add), the
 * same truncating round of v + 0.5. Neighbours are fetched with 32-bit gathers at byte
 * offsets; a group whose last gather would read past the image falls back to the caller.
 */
#include "geom.h"

#if defined(__x86_64__) && defined(__AVX2__)
#include <immintrin.h>
#include <string.h>

uint32_t fe__warp_span_avx2(const fe_image *src, double ax, double bx, double ay, double by,
                            uint32_t x_lo, uint32_t x_hi, uint8_t *d) {
    const uint32_t C = src->channels;
    if (C != 3 && C != 4) return x_lo;
    const int32_t stride = (int32_t)(src->width * C);
    /* a gather reads 4 bytes at each neighbour: the last one must end inside the image */
    const int32_t last_ok = (int32_t)((size_t)src->width * src->height * C) - 4 - stride - (int32_t)C;
    const uint8_t *data = src->data;
    const __m256d vax = _mm256_set1_pd(ax), vbx = _mm256_set1_pd(bx);
    const __m256d vay = _mm256_set1_pd(ay), vby = _mm256_set1_pd(by);
    const __m256d iota = _mm256_setr_pd(0, 1, 2, 3), four = _mm256_set1_pd(4);
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    const __m256i vstride = _mm256_set1_epi32(stride), vC = _mm256_set1_epi32((int)C);
    const __m256i lo8 = _mm256_set1_epi32(0xFF), vlast = _mm256_set1_epi32(last_ok);
    /* per 128-bit lane: bytes r,g,b of four 32-bit pixels packed to the low 12 bytes */
    const __m256i pack3 = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
                                           0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    uint32_t x = x_lo;
    for (; x + 7 <= x_hi; x += 8) {
        __m256d xd0 = _mm256_add_pd(_mm256_set1_pd((double)x), iota), xd1 = _mm256_add_pd(xd0, four);
        __m256d sx0 = _mm256_add_pd(_mm256_mul_pd(vax, xd0), vbx), sx1 = _mm256_add_pd(_mm256_mul_pd(vax, xd1), vbx);
        __m256d sy0 = _mm256_add_pd(_mm256_mul_pd(vay, xd0), vby), sy1 = _mm256_add_pd(_mm256_mul_pd(vay, xd1), vby);
        __m128i ix0 = _mm256_cvttpd_epi32(sx0), ix1 = _mm256_cvttpd_epi32(sx1);
        __m128i iy0 = _mm256_cvttpd_epi32(sy0), iy1 = _mm256_cvttpd_epi32(sy1);
        __m256 fx = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_sub_pd(sx1, _mm256_cvtepi32_pd(ix1))),
                                    _mm256_cvtpd_ps(_mm256_sub_pd(sx0, _mm256_cvtepi32_pd(ix0))));
        __m256 fy = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_sub_pd(sy1, _mm256_cvtepi32_pd(iy1))),
                                    _mm256_cvtpd_ps(_mm256_sub_pd(sy0, _mm256_cvtepi32_pd(iy0))));
        __m256i ix = _mm256_set_m128i(ix1, ix0), iy = _mm256_set_m128i(iy1, iy0);
        __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(iy, vstride), _mm256_mullo_epi32(ix, vC));
        if (!_mm256_testz_si256(_mm256_cmpgt_epi32(off, vlast), _mm256_cmpgt_epi32(off, vlast))) break;
        const int *base = (const int *)(const void *)data;
        __m256i w00 = _mm256_i32gather_epi32(base, off, 1);
        __m256i w01 = _mm256_i32gather_epi32(base, _mm256_add_epi32(off, vC), 1);
        __m256i w10 = _mm256_i32gather_epi32(base, _mm256_add_epi32(off, vstride), 1);
        __m256i w11 = _mm256_i32gather_epi32(base, _mm256_add_epi32(_mm256_add_epi32(off, vstride), vC), 1);
        __m256 gx = _mm256_sub_ps(one, fx), gy = _mm256_sub_ps(one, fy);
        __m256i out = _mm256_setzero_si256();
        for (uint32_t k = 0; k < C; k++) {
            __m256 a = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(w00, 8 * k), lo8));
            __m256 b = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(w01, 8 * k), lo8));
            __m256 c = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(w10, 8 * k), lo8));
            __m256 e = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(w11, 8 * k), lo8));
            __m256 top = _mm256_add_ps(_mm256_mul_ps(a, gx), _mm256_mul_ps(b, fx));
            __m256 bot = _mm256_add_ps(_mm256_mul_ps(c, gx), _mm256_mul_ps(e, fx));
            __m256 v = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(top, gy), _mm256_mul_ps(bot, fy)), half);
            out = _mm256_or_si256(out, _mm256_slli_epi32(_mm256_cvttps_epi32(v), 8 * k));
        }
        uint8_t *dd = d + (size_t)(x - x_lo) * C;
        if (C == 4) {
            _mm256_storeu_si256((__m256i *)(void *)dd, out);
        } else {
            __m256i p = _mm256_shuffle_epi8(out, pack3);
            uint8_t tmp[32];
            _mm256_storeu_si256((__m256i *)(void *)tmp, p);
            memcpy(dd, tmp, 12);
            memcpy(dd + 12, tmp + 16, 12);
        }
    }
    return x;
}

size_t fe__blend_rows_avx2(const float *r0, const float *r1, float gy, float fy, uint8_t *d,
                           size_t n) {
    const __m256 vg = _mm256_set1_ps(gy), vf = _mm256_set1_ps(fy), half = _mm256_set1_ps(0.5f);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 v = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(r0 + k), vg),
                                               _mm256_mul_ps(_mm256_loadu_ps(r1 + k), vf)), half);
        __m256i i = _mm256_cvttps_epi32(v);  /* 0..255: the packs below never saturate */
        __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
        _mm_storel_epi64((__m128i *)(void *)(d + k), _mm_packus_epi16(w, w));
    }
    return k;
}

#else
size_t fe__blend_rows_avx2(const float *r0, const float *r1, float gy, float fy, uint8_t *d,
                           size_t n) {
    (void)r0; (void)r1; (void)gy; (void)fy; (void)d; (void)n;
    return 0;
}

/* not an x86-64 AVX2 build: never selected (fe__geom_simd() is 0), nothing done */
uint32_t fe__warp_span_avx2(const fe_image *src, double ax, double bx, double ay, double by,
                            uint32_t x_lo, uint32_t x_hi, uint8_t *d) {
    (void)src; (void)ax; (void)bx; (void)ay; (void)by; (void)x_hi; (void)d;
    return x_lo;
}
#endif
