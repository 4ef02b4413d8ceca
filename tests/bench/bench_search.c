/*
 * bench_search.c — the main job's speed: end-to-end query latency (decode + align + embed +
 * stage 1 + stage 2) on the bundled demo gallery, fe_search on a synthetic 10,000-face gallery
 * (stage 1 alone, then K = 100 re-ranked on the 4x4 and 8x8 grids, Sinkhorn and exact, fp32
 * and fp16 patch maps), and `faceemd index build` throughput on 500 LFW photos with 1 and 2
 * threads (SKIP without ../shared/data/lfw or the CLI binary).
 * One query per call with a warm per-thread workspace and a single-threaded stage-1 scan (the
 * way a server thread runs). Times are best-of-runs (the machine is shared).
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "internal.h"
#include "model.h"
#include "../emd_synth.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUNS 5

/* ---- the demo gallery, end to end ------------------------------------------------------ */

/* Loads, aligns (landmark row) and embeds one photo. */
static fe_status embed_photo(fe_session *s, const fe_landmark_list *ll, const char *path, fe_features *f) {
    fe_image *img, *chip;
    fe_landmarks lm;
    fe_status st = fe_image_load(path, &img);
    if (st != FE_OK) return st;
    st = fe_landmark_list_find(ll, path, &lm, NULL);
    if (st == FE_OK) st = fe_align_chip(img, &lm, &chip);
    fe_image_free(img);
    if (st != FE_OK) return st;
    st = fe_embed(s, chip->data, f);
    fe_image_free(chip);
    return st;
}

static double demo_embed_s;   /* best decode + align + embed time, reused for the 10k line */

FE_BENCH(search_demo_end_to_end) {
    const char *dir = "tests/data/demo";
    fe_landmark_list *ll;
    fe_model *m;
    fe_session *s;
    fe_gallery *g;
    if (fe_landmark_list_load("tests/data/demo/landmarks.tsv", &ll) != FE_OK ||
        fe_model_open("weights/faceres.feb", NULL, &m) != FE_OK) {
        printf("search_demo_end_to_end: SKIP (run from the repository root)\n");
        return;
    }
    fe_session_create(m, &s);
    fe__session_set_threads(s, 1);   /* one query per thread: the engine's own threads off */
    fe_gallery_create(NULL, &g);
    fe_features *f = malloc(sizeof *f);
    char path[600], query[600] = "";
    for (size_t i = 0; i < fe_landmark_list_count(ll); i++) {
        const char *key;
        fe_landmark_list_get(ll, i, &key, NULL);
        struct stat sb;
        snprintf(path, sizeof path, "%s/gallery/%s", dir, key);
        if (stat(path, &sb) != 0) {
            snprintf(query, sizeof query, "%s/query/%s", dir, key);
            continue;
        }
        char label[256];
        snprintf(label, sizeof label, "%.*s", (int)strcspn(key, "/"), key);
        if (embed_photo(s, ll, path, f) != FE_OK || fe_gallery_add(g, label, key, f) != FE_OK) {
            printf("search_demo_end_to_end: %s: %s\n", path, fe_last_error());
            return;
        }
    }
    fe_search_workspace *ws;
    fe_search_workspace_create(&ws);
    fe_search_options o;
    fe_search_options_default(&o);
    o.n_threads = 1;
    fe_search_result r[10];
    size_t n;
    double be = 1e9, bs = 1e9, bt = 1e9;
    for (int run = 0; run < 20; run++) {
        double t0 = fe_b_now();
        embed_photo(s, ll, query, f);
        double t1 = fe_b_now();
        fe_search(ws, g, f, &o, r, 10, &n);
        double t2 = fe_b_now();
        if (t1 - t0 < be) be = t1 - t0;
        if (t2 - t1 < bs) bs = t2 - t1;
        if (t2 - t0 < bt) bt = t2 - t0;
    }
    demo_embed_s = be;
    printf("demo gallery (%zu faces), held-back JPEG query, defaults (K 100 -> all %zu re-ranked, 4x4, APC, "
           "Sinkhorn), best of 20, %s:\n", fe_gallery_size(g), fe_gallery_size(g), fe_build_info());
    printf("  end to end %.2f ms = decode + align + embed %.2f ms + search %.3f ms (top-1 %s)\n", bt * 1e3,
           be * 1e3, bs * 1e3, fe_gallery_label(g, r[0].index));
    free(f);
    fe_search_workspace_destroy(ws);
    fe_gallery_free(g);
    fe_session_destroy(s);
    fe_model_close(m);
    fe_landmark_list_free(ll);
}

/* ---- a synthetic 10,000-face gallery --------------------------------------------------- */

#define N_IDS   2000
#define PER_ID  5
#define N_Q     20

/* A face of the identity whose components are (base, z4, z8): face-like patch statistics
 * (emd_synth.h); occluded: that share of the patches replaced by unrelated content. */
static void synth_face(synth_rng *r, const float *base, const float *z4, const float *z8, double occluded,
                       fe_features *f) {
    float tmp[2 * FE_MAP4_DIM], noise[FE_DESC_DIM];
    synth_units(r, noise, 1, FE_DESC_DIM);
    for (size_t k = 0; k < FE_DESC_DIM; k++) f->embedding[k] = 0.8f * base[k] + 0.6f * noise[k];
    synth_normalise(f->embedding, FE_DESC_DIM);
    memcpy(f->descriptor, f->embedding, sizeof f->descriptor);
    synth_image(r, z4, FE_MAP4_CELLS, FE_MAP4_DIM, occluded, f->map4, tmp);
    synth_image(r, z8, FE_MAP8_CELLS, FE_MAP8_DIM, occluded, f->map8, tmp);
}

static double time_queries(fe_search_workspace *ws, const fe_gallery *g, const fe_features *q,
                           const fe_search_options *o, double *iters) {
    fe_search_result r[100];
    size_t n;
    double best = 1e9, it = 0;
    for (int run = 0; run < RUNS; run++) {
        double t0 = fe_b_now();
        for (int i = 0; i < N_Q; i++) fe_search(ws, g, &q[i], o, r, 10, &n);
        double t = (fe_b_now() - t0) / N_Q;
        if (t < best) best = t;
    }
    if (iters) {   /* mean solver iterations of the top 10 of each query */
        size_t cnt = 0;
        for (int i = 0; i < N_Q; i++) {
            fe_search(ws, g, &q[i], o, r, 10, &n);
            for (size_t k = 0; k < n; k++) it += r[k].iterations, cnt++;
        }
        *iters = cnt ? it / (double)cnt : 0;
    }
    return best;
}

FE_BENCH(search_10k) {
    synth_rng rng = {77};
    size_t n4 = (size_t)FE_MAP4_CELLS * FE_MAP4_DIM, n8 = (size_t)FE_MAP8_CELLS * FE_MAP8_DIM;
    float *base = malloc((size_t)N_IDS * FE_DESC_DIM * sizeof *base);
    float *z4 = malloc((size_t)N_IDS * n4 * sizeof *z4), *z8 = malloc((size_t)N_IDS * n8 * sizeof *z8);
    fe_features *f = malloc(sizeof *f), *q = malloc(N_Q * sizeof *q);
    fe_gallery *g, *h;
    fe_gallery_options go;
    fe_gallery_options_default(&go);
    go.patch_dtype = FE_GALLERY_F16;
    if (!base || !z4 || !z8 || !f || !q || fe_gallery_create(NULL, &g) != FE_OK || fe_gallery_create(&go, &h) != FE_OK) {
        printf("search_10k: SKIP, out of memory\n");
        return;
    }
    double t0 = fe_b_now();
    synth_units(&rng, base, N_IDS, FE_DESC_DIM);
    synth_units(&rng, z4, (size_t)N_IDS * FE_MAP4_CELLS, FE_MAP4_DIM);
    synth_units(&rng, z8, (size_t)N_IDS * FE_MAP8_CELLS, FE_MAP8_DIM);
    for (size_t i = 0; i < (size_t)N_IDS * PER_ID; i++) {
        size_t id = i / PER_ID;
        char label[32];
        snprintf(label, sizeof label, "id%04zu", id);
        synth_face(&rng, base + id * FE_DESC_DIM, z4 + id * n4, z8 + id * n8, 0.0, f);
        if (fe_gallery_add(g, label, "", f) != FE_OK) {
            printf("search_10k: %s\n", fe_last_error());
            return;
        }
    }
    fe_gallery_append(h, g);
    /* OOD-like queries: a quarter of the patches occluded */
    for (int i = 0; i < N_Q; i++) {
        size_t id = (size_t)(synth_next(&rng) % N_IDS);
        synth_face(&rng, base + id * FE_DESC_DIM, z4 + id * n4, z8 + id * n8, 0.25, &q[i]);
    }
    free(base);
    free(z4);
    free(z8);
    printf("synthetic gallery: %d faces (%d identities x %d), face-like patch statistics, %d OOD-like queries "
           "(25 %% of patches occluded), made in %.1f s; one thread, warm workspace, mean per query of the best of %d runs\n",
           N_IDS * PER_ID, N_IDS, PER_ID, N_Q, fe_b_now() - t0, RUNS);
    fe_search_workspace *ws;
    fe_search_workspace_create(&ws);
    fe_search_options o;
    fe_search_options_default(&o);
    o.n_threads = 1;
    o.rerank_k = 0;
    double s1 = time_queries(ws, g, q, &o, NULL), it;
    printf("  stage 1 only (cosine scan of 10,000 x 128 + top 100):        %7.3f ms/query\n", s1 * 1e3);
    static const struct { const char *name; uint32_t grid; fe_emd_solver sol; int f16; } cfg[] = {
        {"K 100, 4x4, APC, Sinkhorn (defaults)", 4, FE_EMD_SINKHORN, 0},
        {"K 100, 8x8, APC, Sinkhorn           ", 8, FE_EMD_SINKHORN, 0},
        {"K 100, 4x4, APC, exact              ", 4, FE_EMD_EXACT, 0},
        {"K 100, 8x8, APC, exact              ", 8, FE_EMD_EXACT, 0},
        {"K 100, 4x4, APC, Sinkhorn, fp16 maps", 4, FE_EMD_SINKHORN, 1},
        {"K 100, 8x8, APC, Sinkhorn, fp16 maps", 8, FE_EMD_SINKHORN, 1},
    };
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        fe_search_options_default(&o);
        o.n_threads = 1;
        o.grid = cfg[c].grid;
        o.emd.solver = cfg[c].sol;
        double t = time_queries(ws, cfg[c].f16 ? h : g, q, &o, &it);
        printf("  %s: %7.3f ms/query; stage 2 = %.3f ms = %.2f us/candidate (%.1f %s)\n", cfg[c].name, t * 1e3,
               (t - s1) * 1e3, (t - s1) / 100 * 1e6, it, cfg[c].sol == FE_EMD_EXACT ? "augmenting paths" : "iterations");
        if (c == 0 && demo_embed_s > 0)
            printf("    end to end with one photo's decode + align + embed (%.2f ms, from search_demo_end_to_end): "
                   "%.2f ms/query\n", demo_embed_s * 1e3, (demo_embed_s + t) * 1e3);
    }
    free(f);
    free(q);
    fe_search_workspace_destroy(ws);
    fe_gallery_free(g);
    fe_gallery_free(h);
}

/* ---- real features: 600 LFW photos ---------------------------------------------------- */

/* Stage 2 on real patch maps (the Sinkhorn stop rule fires after far fewer iterations than on
 * the synthetic data): a gallery of the first 600 LFW photos (landmark rows), queried with
 * masked versions of 20 of them (their originals excluded, as in the evaluation protocol). */
FE_BENCH(search_lfw_600) {
    const char *lmp = fe_b_shared("data/lfw/landmarks.tsv"), *img;   /* one static buffer: use at once */
    char images[4096];
    fe_landmark_list *ll;
    fe_model *m;
    if (!lmp || fe_landmark_list_load(lmp, &ll) != FE_OK) {
        printf("search_lfw_600: SKIP (../shared/data/lfw is absent)\n");
        return;
    }
    img = fe_b_shared("data/lfw/images");
    snprintf(images, sizeof images, "%s", img ? img : "");
    if (fe_model_open("weights/faceres.feb", NULL, &m) != FE_OK) {
        printf("search_lfw_600: SKIP (run from the repository root)\n");
        fe_landmark_list_free(ll);
        return;
    }
    enum { N = 600, NQ = 20 };
    fe_session *s;
    fe_gallery *g;
    fe_session_create(m, &s);
    fe__session_set_threads(s, 1);
    fe_gallery_create(NULL, &g);
    fe_features *f = malloc(sizeof *f), *q = malloc(NQ * sizeof *q);
    uint32_t excl[NQ];
    double t0 = fe_b_now();
    int nq = 0;
    for (size_t i = 0; i < N && i < fe_landmark_list_count(ll); i++) {
        const char *key;
        fe_landmarks lm, lmc;
        char path[4400], label[256];
        fe_landmark_list_get(ll, i, &key, &lm);
        snprintf(path, sizeof path, "%s/%s", images, key);
        snprintf(label, sizeof label, "%.*s", (int)strcspn(key, "/"), key);
        fe_image *im, *chip, *mk;
        double mm[6];
        if (fe_image_load(path, &im) != FE_OK) continue;
        fe_align_transform(im->width, im->height, &lm, mm, NULL);
        fe_status st = fe_align_chip(im, &lm, &chip);
        fe_image_free(im);
        if (st != FE_OK) continue;
        if (fe_embed(s, chip->data, f) == FE_OK && fe_gallery_add(g, label, key, f) == FE_OK && nq < NQ && i % 29 == 3) {
            fe_landmarks_transform(mm, &lm, &lmc);
            if (fe_perturb(chip, &lmc, FE_PERTURB_MASK, 1, &mk) == FE_OK) {
                if (fe_embed(s, mk->data, &q[nq]) == FE_OK) excl[nq++] = (uint32_t)(fe_gallery_size(g) - 1);
                fe_image_free(mk);
            }
        }
        fe_image_free(chip);
    }
    printf("gallery: %zu LFW photos embedded in %.1f s; %d masked queries of gallery photos, their originals excluded; "
           "one thread, warm workspace, mean per query of the best of %d runs:\n", fe_gallery_size(g), fe_b_now() - t0, nq, RUNS);
    fe_search_workspace *ws;
    fe_search_workspace_create(&ws);
    static const struct { const char *name; size_t K; uint32_t grid; fe_emd_solver sol; } cfg[] = {
        {"stage 1 only                        ", 0, 4, FE_EMD_SINKHORN},
        {"K 100, 4x4, APC, Sinkhorn (defaults)", 100, 4, FE_EMD_SINKHORN},
        {"K 100, 8x8, APC, Sinkhorn           ", 100, 8, FE_EMD_SINKHORN},
        {"K 100, 4x4, APC, exact              ", 100, 4, FE_EMD_EXACT},
        {"K 100, 8x8, APC, exact              ", 100, 8, FE_EMD_EXACT},
    };
    double s1 = 0;
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        fe_search_options o;
        fe_search_options_default(&o);
        o.n_threads = 1;
        o.rerank_k = cfg[c].K;
        o.grid = cfg[c].grid;
        o.emd.solver = cfg[c].sol;
        fe_search_result r[10];
        size_t n;
        double best = 1e9, it = 0;
        int hit1 = 0;
        for (int run = 0; run < RUNS; run++) {
            double a = fe_b_now();
            for (int i = 0; i < nq; i++) {
                o.exclude = excl[i];
                fe_search(ws, g, &q[i], &o, r, 10, &n);
                if (run == 0) {
                    hit1 += n && fe_gallery_identity(g, r[0].index) == fe_gallery_identity(g, excl[i]);
                    for (size_t k = 0; k < n; k++) it += r[k].iterations;
                }
            }
            double t = (fe_b_now() - a) / nq;
            if (t < best) best = t;
        }
        if (c == 0) s1 = best;
        printf("  %s: %7.3f ms/query", cfg[c].name, best * 1e3);
        if (c) printf("; stage 2 = %.3f ms = %.2f us/candidate (%.1f %s)", (best - s1) * 1e3, (best - s1) / 100 * 1e6,
                      it / (10.0 * nq), cfg[c].sol == FE_EMD_EXACT ? "augmenting paths" : "iterations");
        printf("; top-1 right %d/%d\n", hit1, nq);
    }
    free(f);
    free(q);
    fe_search_workspace_destroy(ws);
    fe_gallery_free(g);
    fe_session_destroy(s);
    fe_model_close(m);
    fe_landmark_list_free(ll);
}

/* ---- index build throughput ------------------------------------------------------------ */

static double children_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

/* The CLI to run: the OpenMP build's if present, else bin/faceemd. */
static const char *cli_path(void) {
    struct stat sb;
    if (stat("build/omp/faceemd", &sb) == 0) return "build/omp/faceemd";
    if (stat("bin/faceemd", &sb) == 0) return "bin/faceemd";
    return NULL;
}

FE_BENCH(search_index_build) {
    const char *lfw = fe_b_shared("data/lfw/images");
    const char *cli = cli_path();
    if (!lfw || !cli) {
        printf("search_index_build: SKIP (%s)\n", !lfw ? "../shared/data/lfw is absent" : "no CLI binary: make OMP=1");
        return;
    }
    char lfw_dir[4096], tmp[] = "/tmp/faceemd-bench-XXXXXX", cmd[16384];
    snprintf(lfw_dir, sizeof lfw_dir, "%s", lfw);
    if (!mkdtemp(tmp)) return;
    /* the first 500 photos in folder order, as identity folders of symbolic links */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && n=0; for d in */; do [ $n -ge 500 ] && break; mkdir -p '%s'/\"$d\"; "
             "for f in \"$d\"*; do [ $n -ge 500 ] && break; ln -s \"$PWD/$f\" '%s'/\"$f\"; n=$((n+1)); done; done",
             lfw_dir, tmp, tmp);
    if (system(cmd) != 0) {
        printf("search_index_build: SKIP, cannot make the photo list\n");
        return;
    }
    const char *lm = fe_b_shared("data/lfw/landmarks.tsv");
    char lmarg[4200] = "";
    if (lm) snprintf(lmarg, sizeof lmarg, "--landmarks '%s'", lm);
    FILE *la = fopen("/proc/loadavg", "r");
    char load[64] = "?";
    if (la) {
        if (!fgets(load, sizeof load, la)) load[0] = 0;
        fclose(la);
        load[strcspn(load, " ")] = 0;
    }
    printf("index build of the first 500 LFW photos (%s, landmarks %s), best of 2; images/s over decode + align + "
           "embed + append (model load and save excluded); load average before: %s (2 cores):\n", cli,
           lm ? "from the TSV" : "absent", load);
    for (int threads = 1; threads <= 2; threads++) {
        double best = 0, wall_best = 1e9, cpu_best = 1e9;
        for (int run = 0; run < 2; run++) {
            double c0 = children_cpu_s();
            snprintf(cmd, sizeof cmd, "'%s' index build '%s' -o '%s/out.fei' %s --threads %d --json", cli, tmp, tmp,
                     lmarg, threads);
            double t0 = fe_b_now();
            FILE *p = popen(cmd, "r");
            char out[65536];
            size_t got = p ? fread(out, 1, sizeof out - 1, p) : 0;
            int rc = p ? pclose(p) : -1;
            double wall = fe_b_now() - t0, cpu = children_cpu_s() - c0;
            if (cpu < cpu_best) cpu_best = cpu;
            out[got] = 0;
            const char *r = strstr(out, "\"images_per_second\": ");
            if (rc != 0 || !r) {
                printf("  %d thread(s): the build failed (exit %d)\n", threads, rc);
                break;
            }
            double ips = atof(r + 21);
            if (ips > best) best = ips;
            if (wall < wall_best) wall_best = wall;
        }
        printf("  %d thread%s: %6.1f images/s (%.2f ms/image); whole command %.2f s wall, %.2f s CPU (%.2f ms CPU/image)\n",
               threads, threads > 1 ? "s" : " ", best, best > 0 ? 1e3 / best : 0, wall_best, cpu_best, cpu_best * 2.0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", tmp);
}
