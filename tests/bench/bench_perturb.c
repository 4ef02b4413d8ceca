/*
 * bench_perturb.c — time per OOD query chip for each generator kind (the eval makes one per
 * gallery image per kind: 9,525 LFW chips each).
 */
#include "bench.h"

#include <string.h>

FE_BENCH(perturb) {
    fe_image *chip = NULL;
    if (fe_image_create(FE_CHIP_SIZE, FE_CHIP_SIZE, 3, &chip) != FE_OK) return;
    for (size_t i = 0; i < (size_t)FE_CHIP_SIZE * FE_CHIP_SIZE * 3; i++)
        chip->data[i] = (uint8_t)(i * 2654435761u >> 24);
    for (int k = 0; k < FE_PERTURB_KIND_COUNT; k++) {
        const int reps = 50;
        double best = 1e9;
        for (int r = 0; r < 5; r++) {
            double t0 = fe_b_now();
            for (int i = 0; i < reps; i++) {
                fe_image *out;
                if (fe_perturb(chip, NULL, (fe_perturb_kind)k, (uint64_t)i, &out) != FE_OK) {
                    fe_image_free(chip);
                    return;
                }
                fe_image_free(out);
            }
            double t = (fe_b_now() - t0) / reps;
            if (t < best) best = t;
        }
        printf("perturb %-10s %8.1f us per 150x150 chip (best of 5 x %d)\n",
               fe_perturb_kind_name((fe_perturb_kind)k), best * 1e6, reps);
    }
    fe_image_free(chip);
}
