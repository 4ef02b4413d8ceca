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
#include "layers.h"

#include <stdlib.h>
#include <string.h>

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 9) / 8388608.0f - 1.0f;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
/* Twelve independent FMA chains and nothing else: what this core sustains for AVX2 FMA (the
 * nominal 116 GFLOP/s assumes 3.6 GHz; a VM's clock may be lower). */
__attribute__((target("avx2,fma"))) static double fma_ceiling_gflops(void) {
    __m256 a[12];
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    const long iters = 20000000;
    double best = 1e9;
    for (int t = 0; t < 5; t++) {
        double t0 = fe_b_now();
        for (long it = 0; it < iters; it++) {
            _Pragma("GCC unroll 12") for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], x, y);
        }
        double dt = fe_b_now() - t0;
        if (dt < best) best = dt;
    }
    float sink[8];
    __m256 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    _mm256_storeu_ps(sink, s);
    if (sink[0] == 12345.0f) printf(" ");
    return (double)iters * 12 * 16 / best / 1e9;
}
#endif

FE_BENCH(gemm_ukr) {
#if defined(__GNUC__) && defined(__x86_64__)
    if (fe__gemm_kernel_avx2())
        printf("FMA-only ceiling (12 chains, no loads): %.1f GFLOP/s on this core\n",
               fma_ceiling_gflops());
#endif
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

static void time_gemm(const char *label, int tb, size_t m, size_t n, size_t k, int threads) {
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
            fe__sgemm_ex(kern, threads, 0, tb, m, n, k, 1.0f, A, k, B, tb ? k : n, 0.0f, C, n);
        double dt = (fe_b_now() - t0) / reps;
        if (dt < best) best = dt;
    }
    double gf = flop / best / 1e9;
    printf("%-26s %6zu x %7zu x %5zu %s %dT: %9.3f ms %6.1f GFLOP/s (%4.1f%% of %d x %.0f)\n",
           label, m, n, k, tb ? "B^T" : "B  ", threads, best * 1e3, gf,
           100.0 * gf / (threads * fe_b_peak_gflops()), threads, fe_b_peak_gflops());
    free(A); free(B); free(C);
}

FE_BENCH(gemm_shapes) {
    printf("fe__sgemm (general entry: packs A and B every call), kernel %s, best of 7\n",
           fe__gemm_kernel_name());
    for (int th = 1; th <= 2; th++) {
        time_gemm("square", 0, 256, 256, 256, th);
        time_gemm("square", 0, 1024, 1024, 1024, th);
        time_gemm("EMD cost 4x4, K=100", 1, 16, 1600, 256, th);
        time_gemm("EMD cost 8x8, K=100", 1, 64, 6400, 128, th);
        time_gemm("gallery 32 q x 100k", 1, 32, 100000, 128, th);
    }
}

FE_BENCH(gemm_conv_shapes) {
    /* the network's convolutions through the conv path (weights packed once, input read in
     * place, epilogue fused), 1 thread, batch 1 unless noted; "GFLOP/s" counts every tap */
    static const struct { const char *name; size_t n, h, cin, k, s, cout; int same; } sh[] = {
        {"stem 7x7/2 150->72", 1, 150, 3, 7, 2, 32, 0},
        {"conv32 3x3 35", 1, 35, 32, 3, 1, 32, 1},
        {"conv64_down.c1 3x3/2", 1, 35, 32, 3, 2, 64, 0},
        {"conv64 3x3 17", 1, 17, 64, 3, 1, 64, 1},
        {"conv128 3x3 8", 1, 8, 128, 3, 1, 128, 1},
        {"conv256 3x3 4", 1, 4, 256, 3, 1, 256, 1},
        {"conv256 3x3 4, batch 16", 16, 4, 256, 3, 1, 256, 1},
        {"down_out.c1 4->1", 1, 4, 256, 3, 2, 256, 0},
        {"down_out.c1 4->1, batch 16", 16, 4, 256, 3, 2, 256, 0},
    };
    const fe__gemm_kernel *kern = fe__gemm_kernel_default();
    printf("conv path (implicit im2col + packed-B GEMM + fused epilogue), kernel %s, best of 9\n",
           kern->name);
    for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
        size_t K = sh[i].k * sh[i].k * sh[i].cin;
        size_t ho = fe__conv_out_dim(sh[i].h, sh[i].k, sh[i].s, sh[i].same, NULL, NULL);
        float *w = malloc(K * sh[i].cout * sizeof(float)), *v = malloc(sh[i].cout * sizeof(float));
        size_t in_img = (sh[i].h + 2) * (sh[i].h + 2) * sh[i].cin, out_img = (ho + 2) * (ho + 2) * sh[i].cout;
        float *ib = calloc(sh[i].n * in_img, sizeof(float)), *ob = calloc(sh[i].n * out_img, sizeof(float));
        fe__conv cv;
        if (!w || !v || !ib || !ob) goto next;
        unsigned s = 3;
        for (size_t j = 0; j < K * sh[i].cout; j++) w[j] = frand(&s) * 0.05f;
        for (size_t j = 0; j < sh[i].cout; j++) v[j] = 1.0f;
        for (size_t j = 0; j < sh[i].n * in_img; j++) ib[j] = frand(&s);
        if (fe__conv_init(&cv, sh[i].k, sh[i].k, sh[i].s, sh[i].cin, sh[i].cout, sh[i].same, w, v, v, v) != FE_OK)
            goto next;
        {
            fe__fmap in = {ib + (sh[i].h + 2 + 1) * sh[i].cin, sh[i].n, sh[i].h, sh[i].h, sh[i].cin,
                           in_img, (sh[i].h + 2) * sh[i].cin, 1};
            fe__fmap out = {ob + (ho + 2 + 1) * sh[i].cout, sh[i].n, ho, ho, sh[i].cout, out_img,
                            (ho + 2) * sh[i].cout, 1};
            double best = 1e9;
            int reps = sh[i].n > 1 ? 5 : 50;
            for (int t = 0; t < 9; t++) {
                double t0 = fe_b_now();
                for (int r = 0; r < reps; r++) fe__conv_forward(kern, &cv, &in, &out, NULL, 1);
                double dt = (fe_b_now() - t0) / reps;
                if (dt < best) best = dt;
            }
            double gf = 2.0 * (double)(sh[i].n * ho * ho) * (double)K * (double)sh[i].cout / best / 1e9;
            printf("%-28s M=%5zu N=%3zu K=%4zu: %8.1f us %6.1f GFLOP/s (%4.1f%% of %.0f)\n",
                   sh[i].name, sh[i].n * ho * ho, sh[i].cout, K, best * 1e6, gf,
                   100 * gf / fe_b_peak_gflops(), fe_b_peak_gflops());
            fe__conv_free(&cv);
        }
    next:
        free(w); free(v); free(ib); free(ob);
    }
}
