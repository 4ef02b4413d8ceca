/*
 * bench_png.c — PNG decode/encode throughput and size per compression level, and raw inflate
 * speed. MB/s count uncompressed pixel bytes (width x height x channels), best of N runs (the
 * machine is shared, so best-of is the least noisy figure). Images: the 150x150 fixture chip
 * (../shared/fixtures/faceres/face_sample1.ppm; a synthetic face-sized image when absent) and a
 * 1200x1200 photo-like image made from it (bilinear 8x upscale plus sensor-like noise).
 */
#include "bench.h"
#include "deflate.h"
#include "image_codecs.h"
#include "inflate.h"

#include <stdlib.h>
#include <string.h>

static fe_image *chip_image(void) {
    fe_image *img = NULL;
    const char *p = fe_b_shared("fixtures/faceres/face_sample1.ppm");
    if (p && fe_image_load(p, &img) == FE_OK) return img;
    printf("(../shared fixture absent: using a synthetic 150x150 image)\n");
    if (fe_image_create(150, 150, 3, &img) != FE_OK) return NULL;
    for (size_t i = 0; i < 150 * 150 * 3; i++)
        img->data[i] = (uint8_t)(128 + 100 * ((i / 3 % 150) * (i / 450) % 97) / 97 - 50);
    return img;
}

static fe_image *upscaled(const fe_image *s, uint32_t f) {
    fe_image *img;
    uint32_t W = s->width * f, H = s->height * f;
    if (fe_image_create(W, H, 3, &img) != FE_OK) return NULL;
    uint32_t x = 1;
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t xx = 0; xx < W; xx++) {
            double fx = (xx + 0.5) / f - 0.5, fy = (y + 0.5) / f - 0.5;
            if (fx < 0) fx = 0;
            if (fy < 0) fy = 0;
            uint32_t x0 = (uint32_t)fx, y0 = (uint32_t)fy;
            uint32_t x1 = x0 + 1 < s->width ? x0 + 1 : x0, y1 = y0 + 1 < s->height ? y0 + 1 : y0;
            double ax = fx - x0, ay = fy - y0;
            for (uint32_t c = 0; c < 3; c++) {
                const uint8_t *d = s->data;
                double v = (1 - ay) * ((1 - ax) * d[(y0 * s->width + x0) * 3 + c] + ax * d[(y0 * s->width + x1) * 3 + c]) +
                           ay * ((1 - ax) * d[(y1 * s->width + x0) * 3 + c] + ax * d[(y1 * s->width + x1) * 3 + c]);
                x ^= x << 13; x ^= x >> 17; x ^= x << 5;
                v += (double)(x % 5) - 2;
                img->data[((size_t)y * W + xx) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
            }
        }
    return img;
}

static void run(const char *name, const fe_image *img) {
    size_t raw = (size_t)img->width * img->height * img->channels;
    int reps = raw < 200000 ? 20 : 3;
    printf("%s (%ux%u RGB, %zu bytes):\n", name, img->width, img->height, raw);
    printf("  level   bytes  ratio  encode MB/s  decode MB/s\n");
    for (int level = 0; level <= 9; level++) {
        double enc = 1e9, dec = 1e9;
        uint8_t *png = NULL;
        size_t n = 0;
        for (int r = 0; r < reps; r++) {
            fe__free(png);
            double t0 = fe_b_now();
            if (fe__png_encode(img, level, &png, &n) != FE_OK) { printf("encode failed: %s\n", fe_last_error()); return; }
            double t = fe_b_now() - t0;
            if (t < enc) enc = t;
        }
        for (int r = 0; r < reps; r++) {
            fe_image *back;
            double t0 = fe_b_now();
            if (fe__png_decode(png, n, &back) != FE_OK) { printf("decode failed: %s\n", fe_last_error()); return; }
            double t = fe_b_now() - t0;
            if (t < dec) dec = t;
            fe_image_free(back);
        }
        printf("  L%d  %9zu  %.3f  %11.1f  %11.1f\n", level, n, (double)n / raw, raw / enc / 1e6, raw / dec / 1e6);
        fe__free(png);
    }
}

FE_BENCH(png_codec) {
    fe_image *chip = chip_image();
    if (!chip) return;
    fe_image *big = upscaled(chip, 8);
    run("chip", chip);
    if (big) run("photo-like", big);
    printf("(best of 20 runs for the chip, 3 for the large image; shared machine)\n");
    fe_image_free(big);
    fe_image_free(chip);
}

FE_BENCH(inflate_text) {
    /* text-like data: many short matches, the decoder's hardest common case */
    static const char *w[] = {"face ", "match ", "earth ", "mover ", "distance ", "patch ", "the "};
    size_t n = 16u << 20, i = 0;
    uint8_t *buf = malloc(n), *out = malloc(n);
    if (!buf || !out) { free(buf); free(out); return; }
    uint32_t x = 9;
    while (i < n) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        for (const char *s = w[x % 7]; *s && i < n; s++) buf[i++] = (uint8_t)*s;
    }
    for (int level = 1; level <= 9; level += 4) {
        uint8_t *z;
        size_t zn, got;
        double t0 = fe_b_now();
        if (fe__zlib_compress(buf, n, level, &z, &zn) != FE_OK) break;
        double ct = fe_b_now() - t0, best = 1e9;
        for (int r = 0; r < 5; r++) {
            t0 = fe_b_now();
            if (fe__zlib_decompress(z, zn, out, n, &got) != FE_OK || got != n) { printf("inflate failed\n"); break; }
            double t = fe_b_now() - t0;
            if (t < best) best = t;
        }
        printf("16 MiB text, level %d: ratio %.3f, deflate %.1f MB/s, inflate %.1f MB/s (best of 5)\n",
               level, (double)zn / n, n / ct / 1e6, n / best / 1e6);
        fe__free(z);
    }
    free(buf);
    free(out);
}
