/*
 * bench_core.c — checksum throughput (CRC-32 guards every blob and index load).
 */
#include "bench.h"
#include "internal.h"

#include <stdlib.h>

FE_BENCH(crc32) {
    size_t n = 64u << 20;
    unsigned char *buf = malloc(n);
    if (!buf) return;
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 2654435761u >> 24);
    double best = 1e9;
    uint32_t c = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = fe_b_now();
        c ^= fe__crc32(0, buf, n);
        double t = fe_b_now() - t0;
        if (t < best) best = t;
    }
    printf("crc32 slicing-by-8: %.2f GB/s (64 MiB, best of 5; check %08x)\n", (double)n / best / 1e9, c);
    free(buf);
}
