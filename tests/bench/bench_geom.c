/*
 * bench_geom.c — alignment and resampling cost: µs to turn one decoded LFW-size (150x150)
 * image plus its five landmarks into the 150x150 chip (the per-image cost in index builds
 * and evaluation), the centre-crop fallback, a large face (prefiltered path), and the exact
 * area filter on a 1280x960 photo. Best of several runs; the machine is shared, so noisy.
 */
#include "bench.h"
#include "internal.h"

#include <math.h>
#include <string.h>

#define FIXTURE "tests/fixtures/faceres/face_sample1.ppm"

static fe_image *synthetic(uint32_t w, uint32_t h) {
    fe_image *img;
    if (fe_image_create(w, h, 3, &img) != FE_OK) return NULL;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) img->data[i] = (uint8_t)(i * 2654435761u >> 24);
    return img;
}

/* best-of-5 µs per call of f over `reps` calls */
static double time_chip(const fe_image *img, const fe_landmarks *lm, int reps) {
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = fe_b_now();
        for (int i = 0; i < reps; i++) {
            fe_image *chip;
            if (fe_align_chip(img, lm, &chip) != FE_OK) return -1;
            fe_image_free(chip);
        }
        double t = (fe_b_now() - t0) / reps;
        if (t < best) best = t;
    }
    return best * 1e6;
}

FE_BENCH(align_chip) {
    fe_image *img;
    int from_fixture = fe_image_load(FIXTURE, &img) == FE_OK;
    if (!from_fixture) img = synthetic(150, 150);
    if (!img) return;
    const fe_landmarks lm = {{45.0f, 82.0f, 61.0f, 49.0f, 84.0f}, {64.5f, 67.0f, 89.0f, 106.0f, 107.0f}};
    double us = time_chip(img, &lm, 2000);
    /* bytes moved: ~the source footprint read (about 100x100x3 at scale 1.5) + 67.5 kB written */
    printf("align 150x150 -> 150x150 chip (%s, 5-point fit + bilinear): %.1f us/image, %.2f Mpx/s "
           "(best of 5 x 2000)\n", from_fixture ? "face_sample1" : "synthetic", us, 22500.0 / us);
    printf("centre-crop fallback (65x65 crop, bilinear to 150x150): %.1f us/image\n",
           time_chip(img, NULL, 2000));
    fe_image_free(img);
}

FE_BENCH(align_chip_large_face) {
    /* a 1280x960 photo with a face 4x larger than in the chip: crop + exact area + warp */
    fe_image *img = synthetic(1280, 960);
    if (!img) return;
    const double T[10] = {46.98, 38.07, 102.67, 37.76, 75.00, 69.74, 52.12, 102.34, 98.24, 102.09};
    fe_landmarks lm;
    for (int k = 0; k < 5; k++) {
        lm.x[k] = (float)(300 + 4 * T[2 * k]);
        lm.y[k] = (float)(200 + 4 * T[2 * k + 1]);
    }
    printf("align 1280x960 photo, face at scale 4 (prefiltered): %.1f us/image (best of 5 x 50)\n",
           time_chip(img, &lm, 50));
    fe_image_free(img);
}

FE_BENCH(resize_area) {
    fe_image *img = synthetic(1280, 960), *out;
    if (!img) return;
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = fe_b_now();
        for (int i = 0; i < 10; i++) {
            if (fe_image_resize(img, 320, 240, FE_RESIZE_AREA, &out) != FE_OK) return;
            fe_image_free(out);
        }
        double t = (fe_b_now() - t0) / 10;
        if (t < best) best = t;
    }
    double bytes = 1280.0 * 960 * 3;
    printf("area resize 1280x960x3 -> 320x240: %.2f ms, %.2f GB/s of input (best of 5 x 10)\n",
           best * 1e3, bytes / best / 1e9);
    fe_image_free(img);
}
