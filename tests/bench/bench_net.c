/*
 * bench_net.c — the face network end to end: ms per image at batch 1 and 16 on 1 and 2
 * threads, GFLOP/s against the core's peak (0.5417 GFLOP per image = 2 x 270,854,144 MACs,
 * faceres.md §4), and a per-layer breakdown (1 thread, batch 1 and 16). Best of N runs: the
 * machine is shared, so the minimum is the number closest to the code's own speed.
 * Needs weights/faceres.feb and tests/fixtures/faceres (run from the repository root).
 */
#include "bench.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

#define NET_MACS 270854144.0

/* MACs per profiled step (faceres.md §4): input, stem, maxpool, 14 blocks, head */
static const double step_macs[FE_NET_N_PROF] = {
    0, 24385536, 0, 22579200, 22579200, 22579200, 15980544, 21307392, 21307392, 21307392,
    14155776, 18874368, 18874368, 7962624, 18874368, 18874368, 1179648, 32768};

typedef struct bench_ctx {
    fe_model   *model;
    fe_session *s;
    fe_image   *img;
} bench_ctx;

static int setup(bench_ctx *b) {
    memset(b, 0, sizeof *b);
    fe_status st = fe_model_open("weights/faceres.feb", NULL, &b->model);
    if (st != FE_OK) {
        printf("SKIP: weights/faceres.feb: %s (run from the repository root)\n", fe_status_name(st));
        return 0;
    }
    st = fe_session_create(b->model, &b->s);
    if (st == FE_OK) st = fe_image_load("tests/fixtures/faceres/face_sample1.ppm", &b->img);
    if (st != FE_OK) {
        printf("SKIP: %s\n", fe_last_error());
        fe_session_destroy(b->s);
        fe_model_close(b->model);
        return 0;
    }
    return 1;
}

static void teardown(bench_ctx *b) {
    fe_image_free(b->img);
    fe_session_destroy(b->s);
    fe_model_close(b->model);
}

/* Best time of one fe_embed_batch of n images over `runs` runs (after one warm-up). */
static double best_batch_s(bench_ctx *b, int threads, size_t n, int runs, fe_features *f) {
    const uint8_t *chips[16];
    for (size_t i = 0; i < n; i++) chips[i] = b->img->data;
    fe__session_set_threads(b->s, threads);
    fe_embed_batch(b->s, chips, n, f);
    double best = 1e9;
    for (int r = 0; r < runs; r++) {
        double t0 = fe_b_now();
        fe_embed_batch(b->s, chips, n, f);
        double t = fe_b_now() - t0;
        if (t < best) best = t;
    }
    return best;
}

FE_BENCH(net_embed) {
    bench_ctx b;
    if (!setup(&b)) return;
    fe_features *f = malloc(16 * sizeof *f);
    if (!f) { teardown(&b); return; }
    double peak = fe_b_peak_gflops();
    printf("FaceRecognitionNet, 150x150 chip, %.4f GFLOP/image; best of N; peak %.0f GFLOP/s/core\n",
           2 * NET_MACS / 1e9, peak);
    printf("(shared machine: other jobs may be running; re-measure on a quiet machine)\n");
    printf("%-8s %-6s %10s %10s %10s\n", "threads", "batch", "ms/image", "GFLOP/s", "% of peak");
    for (int th = 1; th <= 2; th++)
        for (size_t n = 1; n <= 16; n += 15) {
            int runs = n == 1 ? 200 : 20;
            double t = best_batch_s(&b, th, n, runs, f) / (double)n;
            double gf = 2 * NET_MACS / t / 1e9;
            printf("%-8d %-6zu %10.3f %10.1f %9.1f%%\n", th, n, t * 1e3, gf, 100 * gf / (th * peak));
        }
    printf("targets at batch 1: <= 6 ms on 1 thread, <= 3.5 ms on 2 "
           "(onnxruntime 6.0/3.4, PyTorch 7.5/5.2, dlib 14.2/11.2)\n");
    free(f);
    teardown(&b);
}

FE_BENCH(net_layers) {
    bench_ctx b;
    if (!setup(&b)) return;
    fe_features *f = malloc(16 * sizeof *f);
    if (!f) { teardown(&b); return; }
    fe__net_ws *ws = fe__session_ws(b.s);
    const uint8_t *chips[16];
    for (int i = 0; i < 16; i++) chips[i] = b.img->data;
    fe__session_set_threads(b.s, 1);
    for (size_t n = 1; n <= 16; n += 15) {
        double best[FE_NET_N_PROF];
        for (int i = 0; i < FE_NET_N_PROF; i++) best[i] = 1e18;
        int runs = n == 1 ? 100 : 10;
        for (int r = 0; r < runs; r++) {
            fe__net_ws_profile(ws, 1);   /* resets the counters */
            fe_embed_batch(b.s, chips, n, f);
            const double *p = fe__net_ws_prof_ns(ws);
            for (int i = 0; i < FE_NET_N_PROF; i++)
                if (p[i] < best[i]) best[i] = p[i];
        }
        fe__net_ws_profile(ws, 0);
        printf("\nper layer, 1 thread, batch %zu (best of %d per layer, us per image):\n", n, runs);
        printf("  %-22s %9s %9s %9s\n", "step", "us", "GFLOP/s", "% peak");
        double total = 0;
        for (int i = 0; i < FE_NET_N_PROF; i++) {
            double us = best[i] / 1e3 / (double)n;
            total += us;
            double gf = step_macs[i] > 0 ? 2 * step_macs[i] / (us * 1e3) : 0;
            printf("  %-22s %9.1f", fe__net_prof_name(i), us);
            if (step_macs[i] > 0) printf(" %9.1f %8.1f%%\n", gf, 100 * gf / fe_b_peak_gflops());
            else printf("\n");
        }
        printf("  %-22s %9.1f %9.1f\n", "sum of bests", total, 2 * NET_MACS / (total * 1e3));
    }
    free(f);
    teardown(&b);
}
