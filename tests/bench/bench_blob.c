/*
 * bench_blob.c — opening weights/faceres.feb: read + full validation with and without the
 * per-tensor CRCs, from a file and from memory, and dequantizing every tensor to float32.
 * Best of N (the machine is shared, so the minimum is the honest figure).
 */
#include "bench.h"
#include "blob.h"

#include <stdlib.h>

static double best_of(int reps, int mode, const char *path, const void *mem, size_t size) {
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        fe__blob *b = NULL;
        double t0 = fe_b_now();
        fe_status st = mode == 0 ? fe__blob_open_file(path, 1, &b)
                     : mode == 1 ? fe__blob_open_file(path, 0, &b)
                                 : fe__blob_open_memory(mem, size, 1, &b);
        double t = fe_b_now() - t0;
        fe__blob_close(b);
        if (st != FE_OK) return -1;
        if (t < best) best = t;
    }
    return best;
}

FE_BENCH(blob_open) {
    const char *path = "weights/faceres.feb";
    FILE *fp = fopen(path, "rb");
    if (!fp) { printf("SKIP blob_open: %s not found (run from the repo root)\n", path); return; }
    static unsigned char mem[8 << 20];
    size_t size = fread(mem, 1, sizeof mem, fp);
    fclose(fp);
    double f_crc = best_of(30, 0, path, NULL, 0), f_fast = best_of(30, 1, path, NULL, 0),
           m_crc = best_of(30, 2, NULL, mem, size);
    double mb = (double)size / 1e6;
    printf("blob open %s (%.2f MB), best of 30:\n", path, mb);
    printf("  file, all CRCs      %7.3f ms  (%.2f GB/s)\n", f_crc * 1e3, mb / f_crc / 1e3);
    printf("  file, no tensor CRC %7.3f ms  (%.2f GB/s)\n", f_fast * 1e3, mb / f_fast / 1e3);
    printf("  memory, all CRCs    %7.3f ms  (%.2f GB/s)\n", m_crc * 1e3, mb / m_crc / 1e3);

    fe__blob *b;
    if (fe__blob_open_memory(mem, size, 0, &b) != FE_OK) return;
    float *out = malloc(600000 * sizeof *out);
    double best = 1e9;
    size_t n_out = 0;
    for (int r = 0; out && r < 30; r++) {
        double t0 = fe_b_now();
        n_out = 0;
        for (size_t i = 0; i < fe__blob_n_tensors(b); i++) {
            const fe__tensor *t = fe__blob_tensor(b, i);
            fe__tensor_to_f32(t, out, (size_t)t->n_elems);
            n_out += (size_t)t->n_elems;
        }
        double t = fe_b_now() - t0;
        if (t < best) best = t;
    }
    printf("  dequantize all      %7.3f ms  (%zu values, %.2f GB/s of float32 written)\n", best * 1e3, n_out,
           (double)n_out * 4 / best / 1e9);
    free(out);
    fe__blob_close(b);
}
