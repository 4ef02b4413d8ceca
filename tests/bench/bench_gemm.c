/*
 * bench_gemm.c — micro-kernel and SGEMM throughput in GFLOP/s against the core's peak.
 *
 * gemm_ukr: the register tile alone on L1-resident operands (the ceiling for everything
 * else). gemm_shapes: fe__sgemm (packing included) on square sizes and on the network's conv
 * shapes as plain GEMMs (M = output pixels, N = Cout, K = kh*kw*Cin), 1 and 2 threads.
 * Best of N runs: the machine is shared, so single runs are noisy.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 9) / 8388608.0f - 1.0f;
}

FE_BENCH(gemm_ukr) {
    enum { MR = FE_GEMM_MR, NR = FE_GEMM_NR, K = 256 };
    const fe__gemm_kernel *ks[2] = {fe__gemm_kernel_ref(), fe__gemm_kernel_avx2()};
    float *a = fe__aligned_alloc(MR * K * sizeof(float));
    float *b = fe__aligned_alloc(K * NR * sizeof(float));
    float *c = fe__aligned_alloc(MR * NR * sizeof(float));
    if (!a || !b || !c) return;
    unsigned s = 1;
    for (int i = 0; i < MR * K; i++) a[i] = frand(&s);
    for (int i = 0; i < K * NR; i++) b[i] = frand(&s);
    for (int ki = 0; ki < 2; ki++) {
        if (!ks[ki]) { printf("avx2: unavailable on this CPU\n"); continue; }
        for (size_t mr = MR; mr >= 1; mr -= (mr == MR ? 2 : 3)) {
            const float *ap[MR];
            float *cp[MR];
            for (int r = 0; r < MR; r++) { ap[r] = a + r * K; cp[r] = c + r * NR; }
            fe__kseg seg = {0, 0, K};
            fe__epi ep = {FE_EPI_GEMM, 1.0f, 0.0f, NULL, NULL, NULL, NULL, 0};
            int reps = ki == 0 ? 2000 : 40000;
            double best = 1e9;
            for (int t = 0; t < 7; t++) {
                double t0 = fe_b_now();
                for (int i = 0; i < reps; i++) ks[ki]->ukr(mr, 1, &seg, ap, b, cp, &ep);
                double dt = fe_b_now() - t0;
                if (dt < best) best = dt;
            }
            double gf = 2.0 * (double)mr * NR * K * reps / best / 1e9;
            printf("ukr %-4s %zux%d k=%d: %6.1f GFLOP/s (%4.1f%% of %.0f peak)\n", ks[ki]->name,
                   mr, NR, K, gf, 100.0 * gf / fe_b_peak_gflops(), fe_b_peak_gflops());
            if (mr == 1) break;
        }
    }
    fe__aligned_free(a); fe__aligned_free(b); fe__aligned_free(c);
}

static void time_gemm(const char *label, size_t m, size_t n, size_t k, int threads) {
    float *A = malloc(m * k * sizeof(float)), *B = malloc(k * n * sizeof(float));
    float *C = malloc(m * n * sizeof(float));
    if (!A || !B || !C) { free(A); free(B); free(C); return; }
    unsigned s = 7;
    for (size_t i = 0; i < m * k; i++) A[i] = frand(&s);
    for (size_t i = 0; i < k * n; i++) B[i] = frand(&s);
    const fe__gemm_kernel *kern = fe__gemm_kernel_default();
    double flop = 2.0 * (double)m * (double)n * (double)k;
    int reps = (int)(2e8 / flop) + 1;
    double best = 1e9;
    for (int t = 0; t < 7; t++) {
        double t0 = fe_b_now();
        for (int i = 0; i < reps; i++)
            fe__sgemm_ex(kern, threads, 0, 0, m, n, k, 1.0f, A, k, B, n, 0.0f, C, n);
        double dt = (fe_b_now() - t0) / reps;
        if (dt < best) best = dt;
    }
    double gf = flop / best / 1e9;
    printf("%-22s %5zu x %5zu x %5zu  %dT: %8.3f ms %6.1f GFLOP/s (%4.1f%% of %d x %.0f)\n", label,
           m, n, k, threads, best * 1e3, gf, 100.0 * gf / (threads * fe_b_peak_gflops()), threads,
           fe_b_peak_gflops());
    free(A); free(B); free(C);
}

FE_BENCH(gemm_shapes) {
    printf("kernel %s; fe__sgemm incl. packing; best of 7\n", fe__gemm_kernel_name());
    for (int th = 1; th <= 2; th++) {
        time_gemm("square", 256, 256, 256, th);
        time_gemm("square", 512, 512, 512, th);
        time_gemm("square", 1024, 1024, 1024, th);
        time_gemm("stem 7x7/2", 5184, 32, 147, th);
        time_gemm("conv32 3x3", 1225, 32, 288, th);
        time_gemm("conv64 3x3", 289, 64, 576, th);
        time_gemm("conv128 3x3", 64, 128, 1152, th);
        time_gemm("conv256 3x3", 16, 256, 2304, th);
        time_gemm("conv256 x16 batch", 256, 256, 2304, th);
        time_gemm("down_out conv1", 1, 256, 2304, th);
        time_gemm("emd cost 100x16", 1600, 16, 256, th);
    }
}
