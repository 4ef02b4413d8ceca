/*
 * bench_emd.c — stage 2 speed: re-rank of K = 100 candidates per query on one core (4x4 grid,
 * 256-d patches, APC, Sinkhorn with the paper's stop rule), split into the cost GEMM and the
 * Sinkhorn part; the stop rule firing after the first iteration (real faces stop after ~2:
 * the issue's <= 0.3 ms target is read there and on search_lfw_600); the 8x8 grid; fixed 100
 * iterations; exact solvers per pair.
 *
 * Data: a synthetic gallery with face-like patch statistics (tests/emd_synth.h, calibrated on
 * the fixtures) bigger than the L3 cache, candidates scattered in it as the search will pass
 * them (an OOD query: 25 % of its patches occluded; 5 same-identity images among the 100);
 * and the fixture patch maps themselves. The stop rule's iteration count depends on the data,
 * so the mean count is printed with every time. Times are the best of 5 runs over all queries
 * (the machine is shared).
 */
#include "bench.h"
#include "emd.h"
#include "../emd_synth.h"

#include <stdlib.h>
#include <string.h>

#define RUNS 5
#define NQ   40      /* queries per run */
#define KC   100     /* candidates per query */

typedef struct gallery {
    size_t n, d, faces, per_id;
    float *patches;  /* faces * n * d */
    float *means;    /* faces * d */
} gallery;

static int gallery_make(gallery *g, size_t n, size_t d, size_t faces, size_t per_id, uint64_t seed) {
    synth_rng rng = {seed};
    g->n = n, g->d = d, g->faces = faces, g->per_id = per_id;
    g->patches = malloc(faces * n * d * sizeof(float));
    g->means = malloc(faces * d * sizeof(float));
    float *z = malloc(n * d * sizeof *z), *tmp = malloc(2 * d * sizeof *tmp);
    if (!g->patches || !g->means || !z || !tmp) return 0;
    for (size_t f = 0; f < faces; f++) {
        if (f % per_id == 0) synth_units(&rng, z, n, d);   /* a new identity */
        synth_image(&rng, z, n, d, 0.0, g->patches + f * n * d, tmp);
        synth_mean(g->patches + f * n * d, n, d, g->means + f * d);
    }
    free(z);
    free(tmp);
    return 1;
}

static void gallery_free(gallery *g) {
    free(g->patches);
    free(g->means);
}

typedef struct query_set {
    float *q, *qm;                /* NQ queries */
    const float **cand, **cmean;  /* NQ * KC pointers into the gallery */
} query_set;

/* Query i: an occluded image of identity id(i) (a fresh image: 25 % of its patches replaced);
 * candidates: that identity's gallery images, then random other faces. */
static int queries_make(query_set *qs, const gallery *g, uint64_t seed) {
    synth_rng rng = {seed};
    size_t n = g->n, d = g->d;
    qs->q = malloc(NQ * n * d * sizeof(float));
    qs->qm = malloc(NQ * d * sizeof(float));
    qs->cand = malloc(NQ * KC * sizeof *qs->cand);
    qs->cmean = malloc(NQ * KC * sizeof *qs->cmean);
    float *z = malloc(n * d * sizeof *z), *tmp = malloc(2 * d * sizeof *tmp);
    if (!qs->q || !qs->qm || !qs->cand || !qs->cmean || !z || !tmp) return 0;
    for (size_t i = 0; i < NQ; i++) {
        size_t first = (synth_next(&rng) % (g->faces / g->per_id)) * g->per_id;
        /* the identity's per-position components are not stored: rebuild a query from one of
         * its images (same statistics: same-position cosine ~0.54 to the others) */
        const float *src = g->patches + first * n * d;
        for (size_t p = 0; p < n * d; p++) z[p] = src[p];
        synth_image(&rng, z, n, d, 0.25, qs->q + i * n * d, tmp);
        synth_mean(qs->q + i * n * d, n, d, qs->qm + i * d);
        for (size_t k = 0; k < KC; k++) {
            size_t f = k < g->per_id ? first + k : synth_next(&rng) % g->faces;
            qs->cand[i * KC + k] = g->patches + f * n * d;
            qs->cmean[i * KC + k] = g->means + f * d;
        }
    }
    free(z);
    free(tmp);
    return 1;
}

static void queries_free(query_set *qs) {
    free(qs->q);
    free(qs->qm);
    free(qs->cand);
    free(qs->cmean);
}

/* Mean over the queries of each query's best of RUNS times (the machine is shared: a query
 * is short enough to run uncontended in some run). *mean_iter: iterations per pair. */
static double time_rerank(const gallery *g, const query_set *qs, const fe_emd_options *o,
                          double *mean_iter) {
    fe_emd_workspace *ws;
    fe_emd_stats *st = malloc(KC * sizeof *st);
    double best[NQ], iters = 0;
    if (!st || fe_emd_workspace_create(&ws) != FE_OK) return -1;
    for (size_t i = 0; i < NQ; i++) best[i] = 1e9;
    for (int run = 0; run < RUNS; run++) {
        iters = 0;
        for (size_t i = 0; i < NQ; i++) {
            fe_emd_batch bt = {qs->q + i * g->n * g->d, qs->qm + i * g->d, g->n, g->n, g->d, KC,
                               qs->cand + i * KC, qs->cmean + i * KC};
            double t0 = fe_b_now();
            if (fe_emd_rerank(ws, &bt, o, st) != FE_OK) {
                printf("  rerank failed: %s\n", fe_last_error());
                return -1;
            }
            double t = fe_b_now() - t0;
            best[i] = t < best[i] ? t : best[i];
            for (size_t k = 0; k < KC; k++) iters += st[k].iterations;
        }
    }
    fe_emd_workspace_destroy(ws);
    free(st);
    double sum = 0;
    for (size_t i = 0; i < NQ; i++) sum += best[i];
    *mean_iter = iters / (NQ * KC);
    return sum / NQ;
}

/* The cost GEMM alone, as fe_emd_rerank runs it for APC: the query panels against each chunk
 * of candidates' rows [g_1..g_m; g_bar] (row pointers; chunks of ~256 KiB of patches, as the
 * re-rank), with <q_bar, row> beside. hot = 1: each chunk was just read (what the re-rank gets
 * by prefetching the next chunk during the Sinkhorn of the current one); hot = 0: straight
 * from DRAM. Returns the mean over queries of each query's best of RUNS, in seconds. */
static double time_gemm(const gallery *g, const query_set *qs, int hot) {
    size_t n = g->n, d = g->d, mb = n + 1, ldt = fe__emd_panel_rows(n);
    size_t chunk = (256u * 1024u) / (mb * d * sizeof(float));
    fe__emd_kernel kern = fe__emd_kernel_pick();
    float *P = fe__aligned_alloc(ldt * d * sizeof *P), *T = malloc(KC * mb * ldt * sizeof *T);
    float *qb = malloc(KC * mb * sizeof *qb);
    const float **B = malloc(KC * mb * sizeof *B);
    double best[NQ], sum = 0;
    for (size_t i = 0; i < NQ; i++) best[i] = 1e9;
    for (int run = 0; run < RUNS; run++) {
        for (size_t i = 0; i < NQ; i++) {
            const float *q = qs->q + i * n * d, *qm = qs->qm + i * d;
            for (size_t k = 0; k < KC; k++) {
                for (size_t j = 0; j < n; j++) B[k * mb + j] = qs->cand[i * KC + k] + j * d;
                B[k * mb + n] = qs->cmean[i * KC + k];
            }
            double t0 = fe_b_now(), t = 0;
            fe__emd_pack_query(q, n, d, P);
            t += fe_b_now() - t0;
            for (size_t k0 = 0; k0 < KC; k0 += chunk) {
                size_t kc = KC - k0 < chunk ? KC - k0 : chunk;
                if (hot) fe__emd_gemm_cost(kern, n, d, q, P, qm, kc * mb, B + k0 * mb, T, ldt, qb, NULL, 0);
                t0 = fe_b_now();
                fe__emd_gemm_cost(kern, n, d, q, P, qm, kc * mb, B + k0 * mb, T, ldt, qb, NULL, !hot);
                t += fe_b_now() - t0;
            }
            best[i] = t < best[i] ? t : best[i];
        }
    }
    for (size_t i = 0; i < NQ; i++) sum += best[i];
    fe__aligned_free(P);
    free(T);
    free(qb);
    free(B);
    return sum / NQ;
}

/* The GEMM kernel on L1-resident data (3 candidates' rows over and over): what the FMA units
 * give right now, to read the other numbers against on a shared machine. GFLOP/s. */
static double calibrate(void) {
    size_t d = 256, n = 16, nb = 51;
    float *A = malloc(n * d * sizeof *A), *P = fe__aligned_alloc(n * d * sizeof *P);
    float *Bm = malloc(nb * d * sizeof *Bm), *T = malloc(nb * n * sizeof *T), qb[51];
    const float *B[51];
    for (size_t i = 0; i < n * d; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < nb * d; i++) Bm[i] = (float)(i % 5) * 0.1f;
    for (size_t j = 0; j < nb; j++) B[j] = Bm + j * d;
    fe__emd_pack_query(A, n, d, P);
    double best = 1e9;
    for (int r = 0; r < 2000; r++) {
        double t0 = fe_b_now();
        fe__emd_gemm_cost(fe__emd_kernel_pick(), n, d, A, P, A, nb, B, T, n, qb, NULL, 0);
        double t = fe_b_now() - t0;
        best = t < best ? t : best;
    }
    free(A);
    fe__aligned_free(P);
    free(Bm);
    free(T);
    return 2.0 * (n + 1) * nb * d / best / 1e9;
}

static void report_grid(const char *label, size_t n, size_t d, size_t faces) {
    gallery g;
    query_set qs;
    double t0 = fe_b_now();
    if (!gallery_make(&g, n, d, faces, 5, 1234) || !queries_make(&qs, &g, 99)) {
        printf("%s: out of memory\n", label);
        return;
    }
    printf("%s: %zu patches x %zu-d, synthetic gallery of %zu faces (%.0f MB, > L3), %d queries "
           "x %d scattered candidates (made in %.1f s)\n", label, n, d, faces,
           (double)faces * n * d * 4 / 1e6, NQ, KC, fe_b_now() - t0);
    fe_emd_options o;
    fe_emd_options_default(&o);
    double it, it100, ite, itu;
    double t = time_rerank(&g, &qs, &o, &it);
    double tg = time_gemm(&g, &qs, 1), tgc = time_gemm(&g, &qs, 0);
    double flop = 2.0 * (double)(n + 1) * KC * (n + 1) * d;   /* useful: (n + 1) x (n + 1) per pair */
    double it1, t1;
    o.stop_threshold = 1e300;   /* fires after the first iteration */
    t1 = time_rerank(&g, &qs, &o, &it1);
    o.stop_threshold = 0;
    double t100 = time_rerank(&g, &qs, &o, &it100);
    o.stop_threshold = 0.1;
    o.solver = FE_EMD_EXACT;
    double te = time_rerank(&g, &qs, &o, &ite);
    o.weighting = FE_EMD_UNIFORM;
    double tu = time_rerank(&g, &qs, &o, &itu);
    printf("  re-rank, APC, Sinkhorn (paper stop rule): %7.3f ms/query = %.2f us/pair "
           "(%.1f iterations/pair on average)\n", t * 1e3, t / KC * 1e6, it);
    printf("    cost GEMM (+ APC dots), chunks in L2: %7.3f ms/query  %5.1f GFLOP/s (peak %.0f)\n",
           tg * 1e3, flop / tg / 1e9, fe_b_peak_gflops());
    printf("    cost GEMM (+ APC dots), from DRAM:    %7.3f ms/query  %5.1f GFLOP/s (the re-rank "
           "prefetches the next chunk during the GEMM instead)\n", tgc * 1e3, flop / tgc / 1e9);
    printf("    the rest (weights, kernel, Sinkhorn): %7.3f ms/query = %.2f us/pair, "
           "%.1f ns/iteration\n", (t - tg) * 1e3, (t - tg) / KC * 1e6, (t - tg) / KC / it * 1e9);
    printf("  re-rank, APC, Sinkhorn, stop after 1 iteration (real faces: ~2): %7.3f ms/query "
           "(%.2f us/pair beyond the GEMM)\n", t1 * 1e3, (t1 - tg) / KC * 1e6);
    printf("  re-rank, APC, Sinkhorn, fixed 100 iterations: %7.3f ms/query (%.2f us/pair beyond "
           "the GEMM)\n", t100 * 1e3, (t100 - tg) / KC * 1e6);
    printf("  re-rank, APC, exact (transport, SSP):  %8.3f ms/query (%.2f us/pair beyond the GEMM, "
           "%.1f augmenting paths/pair)\n", te * 1e3, (te - tg) / KC * 1e6, ite);
    printf("  re-rank, uniform, exact (assignment):  %8.3f ms/query (%.2f us/pair beyond the GEMM)\n",
           tu * 1e3, (tu - tg) / KC * 1e6);
    queries_free(&qs);
    gallery_free(&g);
}

FE_BENCH(emd_rerank) {
    printf("EMD re-rank, one core, kernel %s; times: mean over %d queries of each query's best "
           "of %d runs (shared machine). Context: the paper's PyTorch recipe ~14 us/pair "
           "(1.4 ms/query), POT Sinkhorn ~500 us/pair, POT exact 54 us/pair\n",
           fe__emd_kernel_pick() == FE__EMD_AVX2 ? "avx2" : "ref", NQ, RUNS);
    printf("machine state: the GEMM kernel on L1-resident data runs at %.1f GFLOP/s now "
           "(~90 when this machine is quiet; peak %.0f; AVX2 FMA measured ~101 on this VM)\n",
           calibrate(), fe_b_peak_gflops());
    report_grid("4x4 grid", 16, 256, 4000);
    report_grid("8x8 grid", 64, 128, 2000);
}

/* The fixture patch maps (4x4 x 256: cases 00-02, query and candidate blocks): each query
 * against 100 candidates cycling over the six blocks. */
FE_BENCH(emd_rerank_fixtures) {
    const char *names[3] = {"case00", "case01", "case02"};
    float *blk[6], mean[6][256];
    for (int c = 0; c < 3; c++)
        for (int s = 0; s < 2; s++) {
            char path[128];
            snprintf(path, sizeof path, "tests/fixtures/emd/%s.%c.f32", names[c], s ? 'g' : 'q');
            FILE *fp = fopen(path, "rb");
            float *v = malloc(16 * 256 * sizeof *v);
            if (!fp || !v || fread(v, sizeof *v, 16 * 256, fp) != 16 * 256) {
                printf("emd_rerank_fixtures: SKIP (run from the repository root)\n");
                if (fp) fclose(fp);
                free(v);
                for (int k = 0; k < c * 2 + s; k++) free(blk[k]);
                return;
            }
            fclose(fp);
            blk[c * 2 + s] = v;   /* little-endian host assumed (x86-64) */
            synth_mean(v, 16, 256, mean[c * 2 + s]);
        }
    const float *cand[KC], *cm[KC];
    fe_emd_stats st[KC];
    fe_emd_options o;
    fe_emd_options_default(&o);
    double best = 1e9, iters = 0;
    for (int run = 0; run < RUNS; run++) {
        double t0 = fe_b_now();
        iters = 0;
        for (int qi = 0; qi < 3; qi++) {
            for (int k = 0; k < KC; k++) cand[k] = blk[k % 6], cm[k] = mean[k % 6];
            fe_emd_batch bt = {blk[qi * 2], mean[qi * 2], 16, 16, 256, KC, cand, cm};
            if (fe_emd_rerank(NULL, &bt, &o, st) != FE_OK) return;
            for (int k = 0; k < KC; k++) iters += st[k].iterations;
        }
        double t = (fe_b_now() - t0) / 3;
        best = t < best ? t : best;
    }
    printf("EMD re-rank on the fixture patch maps (4x4x256, APC, paper stop rule): %.3f ms/query, "
           "%.1f iterations/pair (L2-resident candidates)\n", best * 1e3, iters / (3 * KC));
    for (int k = 0; k < 6; k++) free(blk[k]);
}
