/*
 * test_topk.c — stage 1: the dot-product kernels against double precision, top-K against a
 * brute-force full sort (ties, K > N, K = 1, exclusion), batched = single, any thread count
 * gives the same answer, and 8 threads sharing one loaded gallery.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "internal.h"
#include "gallery.h"
#include "topk.h"

#include <string.h>
#if !defined(__STDC_NO_THREADS__)
#include <threads.h>
#endif

static uint64_t rng_next(uint64_t *s) {  /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float rng_unit(uint64_t *s) { return (float)((double)(rng_next(s) >> 11) * 0x1p-53 * 2.0 - 1.0); }

/* n random unit rows of dim floats */
static float *random_rows(size_t n, size_t dim, uint64_t seed) {
    float *x = malloc(n * dim * sizeof *x + 1);
    if (!x) return NULL;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < dim; k++) {
            x[i * dim + k] = rng_unit(&seed);
            s += (double)x[i * dim + k] * x[i * dim + k];
        }
        for (size_t k = 0; k < dim; k++) x[i * dim + k] = (float)(x[i * dim + k] / sqrt(s));
    }
    return x;
}

/* the panel form stage 1 scans (topk.h); free with fe__aligned_free */
static float *panels_of(const float *rows, size_t n, size_t dim) {
    float *p = fe__aligned_alloc(fe__panels_floats(n, dim) * sizeof(float));
    if (p) fe__panels_pack(rows, n, dim, p);
    return p;
}

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static int n_kernels(fe__kernel ks[2]) {
    ks[0] = FE__KERNEL_REF;
    if (fe__topk_kernel(FE__KERNEL_AVX2) == FE__KERNEL_AVX2) {
        ks[1] = FE__KERNEL_AVX2;
        return 2;
    }
    return 1;
}

FE_TEST(topk_dot_kernels_match_double) {
    const size_t dim = 128, n = 1000, nq = 9;
    float *g = random_rows(n, dim, 1), *q = random_rows(nq, dim, 2);
    float *out = malloc(nq * (n + 3) * sizeof *out), *gp = panels_of(g, n, dim);
    CHECK(g && q && out && gp);
    fe__kernel ks[2];
    int nk = n_kernels(ks);
    double worst_rel[2] = {0, 0}, cross = 0;
    long compared = 0;
    /* awkward shapes: tails of the 6x16, 1x64 and 1x16 tiles, offsets into the panels, and a
     * padded output stride */
    static const size_t rows_try[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000};
    for (int ki = 0; ki < nk; ki++)
        for (size_t qn = 1; qn <= nq; qn++)
            for (size_t r = 0; r < sizeof rows_try / sizeof rows_try[0]; r++) {
                size_t m = rows_try[r], ldo = m + 3, r0 = m < 500 ? 16 * (m % 7) : 0;
                fe__dot_block(ks[ki], q, qn, gp, r0, m, dim, out, ldo);
                for (size_t a = 0; a < qn; a++)
                    for (size_t b = 0; b < m; b++) {
                        double ref = 0, mag = 0;
                        for (size_t k = 0; k < dim; k++) {
                            ref += (double)q[a * dim + k] * g[(r0 + b) * dim + k];
                            mag += fabs((double)q[a * dim + k] * g[(r0 + b) * dim + k]);
                        }
                        double rel = fabs(out[a * ldo + b] - ref) / mag;
                        if (rel > worst_rel[ki]) worst_rel[ki] = rel;
                        compared++;
                    }
            }
    /* error bound for a chain of 128 FMAs (multiply-adds): 128 u = 7.6e-6 (2 x that) relative
     * to sum |q_k g_k|, which is at most 1 for unit vectors; typical errors are far smaller */
    CHECK_MSG(worst_rel[0] < 1.5e-5 && worst_rel[1] < 7.7e-6, "worst relative error %g / %g", worst_rel[0], worst_rel[1]);
    CHECK(compared > 10000);
    /* negative control: a score off by 1e-5 fails the same comparison */
    {
        double ref = 0, mag = 0;
        for (size_t k = 0; k < dim; k++) { ref += (double)q[k] * g[k]; mag += fabs((double)q[k] * g[k]); }
        fe__dot_block(ks[0], q, 1, gp, 0, 1, dim, out, 1);
        CHECK(!(fabs(out[0] + 2e-5 - ref) / mag < 1.5e-5));
    }
    if (nk == 2) {
        float *o2 = malloc(nq * n * sizeof *o2);
        CHECK(o2);
        fe__dot_block(FE__KERNEL_REF, q, nq, gp, 0, n, dim, out, n);
        fe__dot_block(FE__KERNEL_AVX2, q, nq, gp, 0, n, dim, o2, n);
        for (size_t i = 0; i < nq * n; i++) cross = fmax(cross, fabs((double)out[i] - o2[i]));
        free(o2);
        NOTE("ref %.2g, avx2 %.2g worst relative error; |ref - avx2| <= %.2g", worst_rel[0], worst_rel[1], cross);
    } else {
        NOTE("ref %.2g worst relative error; AVX2 kernel not available here", worst_rel[0]);
    }
    free(g); free(q); free(out);
    fe__aligned_free(gp);
}

/* brute force: all scores from the same kernel, full sort by (score desc, index asc) */
typedef struct scored { float s; uint32_t i; } scored;
static int cmp_scored(const void *pa, const void *pb) {
    const scored *a = pa, *b = pb;
    if (a->s != b->s) return a->s > b->s ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static int check_against_sort(fe_test *t, fe__kernel kern, const float *g, size_t n, const float *q,
                              size_t nq, size_t k, const uint32_t *excl, int threads) {
    const size_t dim = 128;
    fe_hit *hits = malloc(nq * k * sizeof *hits);
    size_t *counts = malloc(nq * sizeof *counts);
    float *s = malloc((n ? n : 1) * sizeof *s), *gp = panels_of(g, n, dim);
    scored *all = malloc((n ? n : 1) * sizeof *all);
    if (!hits || !counts || !s || !all || !gp) { fe_t_fail(t, __FILE__, __LINE__, "malloc"); return 0; }
    fe__topk_args a = {gp, n, dim, q, nq, k, excl, kern, threads};
    fe_status st = fe__topk(&a, hits, counts);
    int ok = st == FE_OK;
    if (!ok) fe_t_fail(t, __FILE__, __LINE__, "fe__topk: %s", fe_status_name(st));
    for (size_t qi = 0; ok && qi < nq; qi++) {
        fe__dot_block(kern, q + qi * dim, 1, gp, 0, n, dim, s, n);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!excl || excl[qi] != i) all[m++] = (scored){s[i], (uint32_t)i};
        qsort(all, m, sizeof *all, cmp_scored);
        size_t want = m < k ? m : k;
        if (counts[qi] != want) {
            fe_t_fail(t, __FILE__, __LINE__, "query %zu: %zu hits, expected %zu (n %zu k %zu)", qi, counts[qi], want, n, k);
            ok = 0;
        }
        for (size_t j = 0; ok && j < k; j++) {
            fe_hit h = hits[qi * k + j];
            int good = j < want ? (h.index == all[j].i && fbits(h.score) == fbits(all[j].s))
                                : (h.index == FE_NO_EXCLUDE && isinf(h.score) && h.score < 0);
            if (!good) {
                fe_t_fail(t, __FILE__, __LINE__, "%s query %zu rank %zu: got (%u, %.9g), expected (%u, %.9g); n %zu k %zu threads %d",
                          fe__topk_kernel_name(kern), qi, j, h.index, h.score, j < want ? all[j].i : FE_NO_EXCLUDE,
                          j < want ? all[j].s : -INFINITY, n, k, threads);
                ok = 0;
            }
        }
    }
    free(hits); free(counts); free(s); free(all);
    fe__aligned_free(gp);
    return ok;
}

FE_TEST(topk_matches_full_sort) {
    const size_t dim = 128, n = 1237, nq = 11;
    float *g = random_rows(n, dim, 10), *q = random_rows(nq, dim, 11);
    CHECK(g && q);
    /* ties: duplicate rows give bit-identical scores; queries equal to rows give the top */
    for (size_t i = 0; i < 60; i++) memcpy(g + (i * 17 + 5) * dim, g + (i * 3) * dim, dim * sizeof *g);
    memcpy(g + 1000 * dim, g + 7 * dim, dim * sizeof *g);
    memcpy(q, g + 7 * dim, dim * sizeof *g);        /* query 0's best is a tie: rows 7 and 1000 */
    memcpy(q + dim, g + 1236 * dim, dim * sizeof *g);  /* query 1's best is the last row */
    uint32_t excl_self[11], excl_far[11];
    for (size_t i = 0; i < nq; i++) { excl_self[i] = (uint32_t)(i * 97); excl_far[i] = (uint32_t)(n + i); }
    excl_self[0] = 7;  /* removes one of the tied pair */
    excl_self[1] = 1236;
    static const size_t ks_try[] = {1, 2, 7, 100, 1236, 1237, 1242};
    fe__kernel ks[2];
    int nk = n_kernels(ks);
    long runs = 0;
    for (int ki = 0; ki < nk; ki++)
        for (size_t kk = 0; kk < sizeof ks_try / sizeof ks_try[0]; kk++)
            for (int e = 0; e < 3; e++)
                for (int th = 1; th <= 3; th += 2) {
                    const uint32_t *ex = e == 0 ? NULL : e == 1 ? excl_self : excl_far;
                    if (!check_against_sort(t, ks[ki], g, n, q, nq, ks_try[kk], ex, th)) return;
                    runs++;
                }
    /* small galleries: every n up to 20 against K = 5, and an empty gallery */
    for (size_t m = 0; m <= 20; m++)
        if (!check_against_sort(t, ks[nk - 1], g, m, q, nq, 5, excl_self, 1)) return;
    NOTE("%ld configurations x %zu queries equal a full sort, ties and exclusion included", runs, nq);
    free(g); free(q);
}

FE_TEST(topk_ties_lower_index_first) {
    const size_t dim = 128, n = 1100;
    float *g = malloc(n * dim * sizeof *g), q[128];
    CHECK(g);
    for (size_t k = 0; k < dim; k++) q[k] = k < 64 ? 0.125f : 0.0f;  /* exact: 64 * (1/8)^2 = 1 */
    for (size_t i = 0; i < n; i++) memcpy(g + i * dim, q, sizeof q);
    for (size_t i = 600; i < 620; i++) g[i * dim + 3] = 0.0f;  /* 20 rows score 63/64 */
    float *gp = panels_of(g, n, dim);
    CHECK(gp);
    fe_hit hits[30];
    size_t count;
    for (int th = 1; th <= 4; th++) {
        uint32_t ex = 2;
        fe__topk_args a = {gp, n, dim, q, 1, 30, &ex, FE__KERNEL_AUTO, th};
        CHECK_OK(fe__topk(&a, hits, &count));
        CHECK(count == 30);
        for (uint32_t j = 0; j < 30; j++) {
            uint32_t want = j < 2 ? j : j + 1;  /* 0, 1, 3, 4, ... (2 excluded) */
            CHECK_MSG(hits[j].index == want && hits[j].score == 1.0f, "threads %d rank %u: %u (%g)", th, j,
                      hits[j].index, hits[j].score);
        }
        /* the lower-scoring rows come last, also in index order */
        fe__topk_args b = {gp, n, dim, q, 1, 30, NULL, FE__KERNEL_AUTO, th};
        fe_hit all[1100];
        b.k = n;
        CHECK_OK(fe__topk(&b, all, &count));
        CHECK(count == n && all[1079].index == 1099 && all[1080].index == 600 && all[1099].index == 619);
        CHECK(all[1080].score == 63.0f / 64.0f);
    }
    free(g);
    fe__aligned_free(gp);
}

FE_TEST(topk_batched_equals_single_and_threads) {
    const size_t dim = 128, n = 3001, nq = 37, k = 50;
    float *g0 = random_rows(n, dim, 20), *q = random_rows(nq, dim, 21), *g = panels_of(g0, n, dim);
    free(g0);
    fe_hit *batch = malloc(nq * k * sizeof *batch), *one = malloc(nq * k * sizeof *one);
    size_t counts[37], c1;
    CHECK(g && q && batch && one);
    uint32_t excl[37];
    for (size_t i = 0; i < nq; i++) excl[i] = (uint32_t)(i * 80);
    fe__kernel ks[2];
    int nk = n_kernels(ks);
    for (int ki = 0; ki < nk; ki++) {
        for (size_t i = 0; i < nq; i++) {
            fe__topk_args a = {g, n, dim, q + i * dim, 1, k, excl + i, ks[ki], 1};
            CHECK_OK(fe__topk(&a, one + i * k, &c1));
            CHECK(c1 == k);
        }
        for (int th = 1; th <= 5; th++) {
            fe__topk_args a = {g, n, dim, q, nq, k, excl, ks[ki], th};
            CHECK_OK(fe__topk(&a, batch, counts));
            CHECK_MSG(memcmp(batch, one, nq * k * sizeof *one) == 0,
                      "%s: %zu queries batched on %d threads differ from one at a time", fe__topk_kernel_name(ks[ki]), nq, th);
        }
    }
    /* negative control: the comparison sees a one-ulp change */
    uint32_t u = fbits(one[5].score) + 1;
    memcpy(&one[5].score, &u, 4);
    CHECK(memcmp(batch, one, nq * k * sizeof *one) != 0);
    NOTE("%zu queries x %zu rows, k %zu: batched == single, threads 1-5 identical (%d kernel%s)", nq, n, k, nk, nk > 1 ? "s" : "");
    fe__aligned_free(g); free(q); free(batch); free(one);
}

FE_TEST(topk_kernel_choice) {
    fe__kernel auto_k = fe__topk_kernel(FE__KERNEL_AUTO);
    CHECK(auto_k == FE__KERNEL_REF || auto_k == FE__KERNEL_AVX2);
    CHECK(fe__topk_kernel(FE__KERNEL_REF) == FE__KERNEL_REF);
    setenv("FE_KERNEL", "ref", 1);
    CHECK(fe__topk_kernel(FE__KERNEL_AUTO) == FE__KERNEL_REF);
    unsetenv("FE_KERNEL");
    NOTE("auto = %s", fe__topk_kernel_name(auto_k));
}

FE_TEST(topk_errors) {
    static float g[2048];
    float q[128] = {1};
    fe_hit h[4];
    size_t c;
    fe__topk_args a = {g, 2, 128, q, 1, 0, NULL, FE__KERNEL_AUTO, 1};
    CHECK_STATUS(fe__topk(&a, h, &c), FE_E_ARG);  /* k = 0 */
    a.k = 2;
    a.dim = 12;
    CHECK_STATUS(fe__topk(&a, h, &c), FE_E_ARG);
    a.dim = 128;
    a.nq = SIZE_MAX / 4;
    CHECK_STATUS(fe__topk(&a, h, &c), FE_E_OVERFLOW);
    a.nq = 0;
    CHECK_OK(fe__topk(&a, NULL, NULL));
    fe_gallery *gal;
    CHECK_OK(fe_gallery_create(NULL, &gal));
    CHECK_STATUS(fe_cosine_topk(gal, q, 1, 0, NULL, h, &c), FE_E_ARG);
    CHECK_STATUS(fe_cosine_topk(NULL, q, 1, 4, NULL, h, &c), FE_E_ARG);
    q[77] = NAN;
    CHECK_STATUS(fe_cosine_topk(gal, q, 1, 4, NULL, h, &c), FE_E_NUMERIC);
    q[77] = INFINITY;
    CHECK_STATUS(fe_cosine_topk(gal, q, 1, 4, NULL, h, &c), FE_E_NUMERIC);
    fe_gallery_free(gal);
}

FE_TEST(topk_alloc_failures) {
    const size_t dim = 128, n = 1500, nq = 5;
    float *g0 = random_rows(n, dim, 3), *q = random_rows(nq, dim, 4), *g = panels_of(g0, n, dim);
    free(g0);
    fe_hit *h = malloc(nq * 10 * sizeof *h);
    CHECK(g && q && h);
    long k;
    for (k = 0;; k++) {
        fe__alloc_fail_after(k);
        fe__topk_args a = {g, n, dim, q, nq, 10, NULL, FE__KERNEL_AUTO, 3};
        fe_status st = fe__topk(&a, h, NULL);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) break;
        CHECK_MSG(st == FE_E_NOMEM, "allocation %ld: %s", k, fe_status_name(st));
    }
    CHECK(k >= 10);  /* slice table, 3 x (tile, heaps, counts), merge buffer */
    NOTE("%ld failing allocations, each FE_E_NOMEM", k);
    fe__aligned_free(g); free(q); free(h);
}

/* ---- 8 threads on one loaded gallery -------------------------------------------------- */

#define SHARED_QUERIES 24
#define SHARED_K       40
#define SHARED_THREADS 8
#define SHARED_REPEATS 25

typedef struct shared_job {
    const fe_gallery *g;
    const float      *q;
    const uint32_t   *excl;
    fe_hit           *out;   /* SHARED_QUERIES * SHARED_K */
    int               mismatches;
    const fe_hit     *expected;
    fe_status         st;
} shared_job;

static int shared_worker(void *arg) {
    shared_job *j = arg;
    for (int r = 0; r < SHARED_REPEATS; r++) {
        /* alternate batched and one-at-a-time calls so the threads run different paths */
        if (r & 1) {
            for (int i = 0; i < SHARED_QUERIES && j->st == FE_OK; i++)
                j->st = fe_cosine_topk(j->g, j->q + i * FE_DESC_DIM, 1, SHARED_K, j->excl + i,
                                       j->out + i * SHARED_K, NULL);
        } else {
            j->st = fe_cosine_topk(j->g, j->q, SHARED_QUERIES, SHARED_K, j->excl, j->out, NULL);
        }
        if (j->st != FE_OK) return 1;
        if (memcmp(j->out, j->expected, SHARED_QUERIES * SHARED_K * sizeof(fe_hit))) j->mismatches++;
    }
    return 0;
}

FE_TEST(topk_threads_share_gallery) {
#if defined(__STDC_NO_THREADS__)
    SKIP("this C library has no <threads.h>");
#else
    /* a real loaded (mapped) gallery of synthetic faces */
    fe_gallery *b;
    CHECK_OK(fe_gallery_create(NULL, &b));
    fe_features *f = calloc(1, sizeof *f);
    CHECK(f);
    float *emb = random_rows(700, FE_DESC_DIM, 40);
    CHECK(emb);
    for (int i = 0; i < 700; i++) {
        memcpy(f->embedding, emb + i * FE_DESC_DIM, sizeof f->embedding);
        f->map4[i % 4096] = 1.0f;
        f->map8[i % 8192] = 1.0f;
        char label[32];
        snprintf(label, sizeof label, "person_%03d", i / 3);
        CHECK_OK(fe_gallery_add(b, label, "x.jpg", f));
    }
    char path[700];
    snprintf(path, sizeof path, "%s/shared.fei", fe_t_tmpdir());
    CHECK_OK(fe_gallery_save(b, path));
    fe_gallery_free(b);
    fe_gallery *g;
    CHECK_OK(fe_gallery_load(path, NULL, &g));
    float *q = random_rows(SHARED_QUERIES, FE_DESC_DIM, 41);
    uint32_t excl[SHARED_QUERIES];
    for (int i = 0; i < SHARED_QUERIES; i++) excl[i] = (uint32_t)(i * 29);
    fe_hit *expected = malloc(SHARED_QUERIES * SHARED_K * sizeof *expected);
    CHECK(q && expected);
    CHECK_OK(fe_cosine_topk(g, q, SHARED_QUERIES, SHARED_K, excl, expected, NULL));
    shared_job jobs[SHARED_THREADS];
    thrd_t th[SHARED_THREADS];
    for (int i = 0; i < SHARED_THREADS; i++) {
        jobs[i] = (shared_job){g, q, excl, malloc(SHARED_QUERIES * SHARED_K * sizeof(fe_hit)), 0, expected, FE_OK};
        CHECK(jobs[i].out);
    }
    for (int i = 0; i < SHARED_THREADS; i++) CHECK(thrd_create(&th[i], shared_worker, &jobs[i]) == thrd_success);
    int bad = 0;
    for (int i = 0; i < SHARED_THREADS; i++) {
        thrd_join(th[i], NULL);
        CHECK_MSG(jobs[i].st == FE_OK, "thread %d: %s", i, fe_status_name(jobs[i].st));
        bad += jobs[i].mismatches;
        free(jobs[i].out);
    }
    CHECK_MSG(bad == 0, "%d of %d results differ from the single-threaded one", bad, SHARED_THREADS * SHARED_REPEATS);
    NOTE("%d threads x %d rounds x %d queries on one mapped 700-face gallery: identical", SHARED_THREADS,
         SHARED_REPEATS, SHARED_QUERIES);
    free(expected); free(q); free(emb); free(f);
    fe_gallery_free(g);
#endif
}
