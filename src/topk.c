/*
 * topk.c — stage 1: cosine top-K of one or many queries over the gallery embeddings.
 *
 * The gallery (k-major panels of 16 rows, topk.h) is scanned in blocks of rows that stay in
 * L2; each block is scored against a block of queries (the SGEMM micro-kernel of gemm.h run
 * directly on the panels, or for one or two queries our streaming AVX2 tiles; one canonical
 * order) into a small score tile, and each query's bounded min-heap takes the scores that beat its current K-th.
 * Order: higher score first, then lower gallery index. Because rows are visited in increasing
 * index order, a score equal to the heap's worst is never better, so ties need no extra test.
 * With threads, the gallery is cut into slices with their own heaps, merged by the same order,
 * so results never depend on the thread count.
 */
#include "topk.h"
#include "gallery.h"
#include "gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROW_BLOCK   512   /* gallery rows per block: 256 KiB of 128-d fp32 panels (L2)      */
#define QUERY_BLOCK 24    /* queries per block (4 GEMM tiles of 6): 12 KiB; scores 48 KiB  */

/* ---- kernel choice -------------------------------------------------------------------- */

fe__kernel fe__topk_kernel(fe__kernel want) {
    if (want == FE__KERNEL_AUTO) {
        const char *env = getenv("FE_KERNEL");
        want = env && strcmp(env, "ref") == 0 ? FE__KERNEL_REF : FE__KERNEL_AVX2;
    }
    /* AVX2 needs both our streaming tiles and the GEMM's kernel (which checks the CPU) */
    if (want == FE__KERNEL_AVX2 && fe__topk_avx2_built() && fe__gemm_kernel_avx2()) return FE__KERNEL_AVX2;
    return FE__KERNEL_REF;
}

const char *fe__topk_kernel_name(fe__kernel k) {
    return k == FE__KERNEL_AVX2 ? "avx2" : k == FE__KERNEL_REF ? "ref" : "auto";
}

/* ---- panels ------------------------------------------------------------------------- */

size_t fe__panels_floats(size_t n, size_t dim) {
    return (n + FE_TOPK_PANEL - 1) / FE_TOPK_PANEL * FE_TOPK_PANEL * dim;
}

void fe__panels_set_row(float *panels, size_t dim, size_t i, const float *row) {
    float *p = panels + (i / FE_TOPK_PANEL) * dim * FE_TOPK_PANEL + i % FE_TOPK_PANEL;
    for (size_t k = 0; k < dim; k++) p[k * FE_TOPK_PANEL] = row[k];
}

void fe__panels_pack(const float *rows, size_t n, size_t dim, float *panels) {
    if (n == 0) return;  /* panels may be NULL then */
    memset(panels, 0, fe__panels_floats(n, dim) * sizeof *panels);
    for (size_t i = 0; i < n; i++) fe__panels_set_row(panels, dim, i, rows + i * dim);
}

/* ---- scores --------------------------------------------------------------------------- */

_Static_assert(FE_TOPK_PANEL == FE_GEMM_NR, "gallery panels must be the GEMM's packed-B panels");

/* S = Q x G^T through the GEMM micro-kernel (gemm.h) straight on the panels, which are its
 * packed-B format: a = query rows, b = panel, c = rows of out; a ragged last panel is staged
 * in a tile. Its contract (one chain per element, ascending k, from zero; alpha = 1 is exact)
 * is the canonical order of topk.h. */
static void dot_gemm(const fe__gemm_kernel *gk, const float *queries, size_t nq, const float *p0,
                     size_t n, size_t dim, float *out, size_t ldo) {
    const fe__kseg seg = {0, 0, dim};
    const fe__epi ep = {FE_EPI_GEMM, 1.0f, 0.0f, NULL, NULL, NULL, NULL, 0};
    float tile[FE_GEMM_MR * FE_GEMM_NR];
    for (size_t i = 0; i < n; i += FE_GEMM_NR) {  /* the 8 KiB panel stays in L1 across queries */
        const float *b = p0 + (i / FE_GEMM_NR) * dim * FE_GEMM_NR;
        size_t nr = n - i < FE_GEMM_NR ? n - i : FE_GEMM_NR;
        for (size_t q = 0; q < nq; q += FE_GEMM_MR) {
            size_t mr = nq - q < FE_GEMM_MR ? nq - q : FE_GEMM_MR;
            const float *a[FE_GEMM_MR];
            float *c[FE_GEMM_MR];
            for (size_t r = 0; r < mr; r++) {
                a[r] = queries + (q + r) * dim;
                c[r] = nr == FE_GEMM_NR ? out + (q + r) * ldo + i : tile + r * FE_GEMM_NR;
            }
            gk->ukr(mr, 1, &seg, a, b, c, &ep);
            if (nr < FE_GEMM_NR)
                for (size_t r = 0; r < mr; r++) memcpy(out + (q + r) * ldo + i, tile + r * FE_GEMM_NR, nr * sizeof *out);
        }
    }
}

void fe__dot_block(fe__kernel kern, const float *queries, size_t nq, const float *panels,
                   size_t r0, size_t n, size_t dim, float *out, size_t ldo) {
    const float *p0 = panels + (r0 / FE_TOPK_PANEL) * dim * FE_TOPK_PANEL;
    if (kern == FE__KERNEL_AVX2) {
        /* one or two queries: our streaming tiles (4 panels per pass) keep up with memory,
         * where the GEMM tile with one row would wait on its single FMA chain */
        if (nq < 3) fe__dot_block_avx2(queries, nq, panels, r0, n, dim, out, ldo);
        else dot_gemm(fe__gemm_kernel_avx2(), queries, nq, p0, n, dim, out, ldo);
        return;
    }
    dot_gemm(fe__gemm_kernel_ref(), queries, nq, p0, n, dim, out, ldo);
}

/* ---- bounded heap --------------------------------------------------------------------- */

/* a ranks below b: lower score, or equal score and higher index */
static int worse(fe_hit a, fe_hit b) {
    return a.score < b.score || (a.score == b.score && a.index > b.index);
}

typedef struct heap {
    fe_hit *e;    /* min-heap on worse(): e[0] is the worst kept hit */
    size_t  n;
} heap;

static void sift_up(fe_hit *e, size_t i) {
    fe_hit x = e[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!worse(x, e[p])) break;
        e[i] = e[p];
        i = p;
    }
    e[i] = x;
}

static void sift_down(fe_hit *e, size_t n, size_t i) {
    fe_hit x = e[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && worse(e[c + 1], e[c])) c++;
        if (!worse(e[c], x)) break;
        e[i] = e[c];
        i = c;
    }
    e[i] = x;
}

/* Offers scores s[0..m) of rows base..base+m-1 to a heap of capacity cap. */
static void select_block(heap *h, size_t cap, const float *s, size_t m, uint32_t base, uint32_t excl) {
    size_t i = 0;
    for (; i < m && h->n < cap; i++) {
        if (base + i == excl || s[i] != s[i]) continue;  /* NaN scores are never returned */
        h->e[h->n] = (fe_hit){base + (uint32_t)i, s[i]};
        sift_up(h->e, h->n++);
    }
    if (i == m) return;
    float thr = h->e[0].score;
    while (i < m) {
        /* Almost no score beats the K-th best once the heap is warm: test 16 at a time with
         * a comparison the compiler vectorises, and look closer only when one does. */
        size_t end = m - i >= 16 ? i + 16 : m;
        if (end - i == 16) {
            int any = 0;
            for (int j = 0; j < 16; j++) any |= s[i + j] > thr;
            if (!any) {
                i = end;
                continue;
            }
        }
        for (; i < end; i++) {
            if (!(s[i] > thr) || base + i == excl) continue;
            h->e[0] = (fe_hit){base + (uint32_t)i, s[i]};
            sift_down(h->e, h->n, 0);
            thr = h->e[0].score;
        }
    }
}

static int better_first(const void *pa, const void *pb) {
    fe_hit a = *(const fe_hit *)pa, b = *(const fe_hit *)pb;
    return worse(b, a) ? -1 : worse(a, b) ? 1 : 0;
}

/* ---- driver --------------------------------------------------------------------------- */

typedef struct slice {
    size_t  r0, r1;   /* gallery rows [r0, r1)                      */
    float  *scores;   /* QUERY_BLOCK x ROW_BLOCK tile               */
    fe_hit *hits;     /* nq heaps of capacity cap                   */
    size_t *counts;   /* heap sizes                                 */
} slice;

/* Scores rows [r, r + m) against one query block into s[q * ROW_BLOCK + i]: S = Q_blk x
 * G_blk^T, a GEMM with M = qn, N = m, K = dim (see fe__dot_block). */
static void score_block(fe__kernel kern, const float *q, size_t qn, const float *panels, size_t r,
                        size_t m, size_t dim, float *s) {
    fe__dot_block(kern, q, qn, panels, r, m, dim, s, ROW_BLOCK);
}

static void scan_slice(const fe__topk_args *a, fe__kernel kern, size_t cap, slice *sl) {
    for (size_t r = sl->r0; r < sl->r1; r += ROW_BLOCK) {
        size_t m = sl->r1 - r < ROW_BLOCK ? sl->r1 - r : ROW_BLOCK;
        for (size_t q0 = 0; q0 < a->nq; q0 += QUERY_BLOCK) {
            size_t qn = a->nq - q0 < QUERY_BLOCK ? a->nq - q0 : QUERY_BLOCK;
            score_block(kern, a->queries + q0 * a->dim, qn, a->panels, r, m, a->dim, sl->scores);
            for (size_t q = 0; q < qn; q++) {
                heap h = {sl->hits + (q0 + q) * cap, sl->counts[q0 + q]};
                uint32_t excl = a->exclude ? a->exclude[q0 + q] : FE_NO_EXCLUDE;
                select_block(&h, cap, sl->scores + q * ROW_BLOCK, m, (uint32_t)r, excl);
                sl->counts[q0 + q] = h.n;
            }
        }
    }
}

/* Scratch of a one-thread scan (fe__topk_scratch): the score tile, the heaps, their sizes. */
static int scratch_layout(size_t nq, size_t cap, size_t *o_hits, size_t *o_counts, size_t *total) {
    size_t tile = (size_t)QUERY_BLOCK * ROW_BLOCK * sizeof(float), hb, cb;
    if (!fe__mul3_size(nq, cap ? cap : 1, sizeof(fe_hit), &hb) || !fe__mul_size(nq, sizeof(size_t), &cb))
        return 0;
    hb = (hb + 63) & ~(size_t)63;
    *o_hits = tile;
    *o_counts = tile + hb;
    return fe__add_size(tile + hb, cb, total);
}

size_t fe__topk_scratch_bytes(size_t nq, size_t k) {
    size_t oh, oc, total;
    return nq && scratch_layout(nq, k, &oh, &oc, &total) && total < SIZE_MAX - 64 ? total : 0;
}

fe_status fe__topk(const fe__topk_args *a, fe_hit *hits, size_t *counts) {
    return fe__topk_scratch(a, NULL, 0, hits, counts);
}

fe_status fe__topk_scratch(const fe__topk_args *a, void *scratch, size_t scratch_bytes, fe_hit *hits,
                           size_t *counts) {
    if (!a || (!hits && a->nq) || (!a->queries && a->nq) || (!a->panels && a->n))
        return fe__fail(FE_E_ARG, "NULL argument");
    if (a->k == 0) return fe__fail(FE_E_ARG, "k must be at least 1");
    if (a->dim == 0 || a->dim % 8) return fe__fail(FE_E_ARG, "dimension %zu is not a multiple of 8", a->dim);
    if (a->n >= UINT32_MAX) return fe__fail(FE_E_LIMIT, "%zu rows exceed the 32-bit index", a->n);
    size_t total;
    if (!fe__mul_size(a->nq, a->k, &total) || total > SIZE_MAX / sizeof(fe_hit))
        return fe__fail(FE_E_OVERFLOW, "%zu queries x k = %zu overflow", a->nq, a->k);
    if (a->nq == 0) return FE_OK;
    fe__kernel kern = fe__topk_kernel(a->kernel);
    size_t cap = a->k < a->n ? a->k : a->n;  /* heap capacity */

    /* slices: enough work per thread to pay for starting it, whole blocks where possible */
    int nt = a->n_threads;
    if (nt <= 0) {
        nt = fe__max_threads();
        if (a->n < ((size_t)1 << 18) / a->nq) nt = 1;  /* under 2^18 dot products: one thread */
    }
    if ((size_t)nt > a->n / ROW_BLOCK + 1) nt = (int)(a->n / ROW_BLOCK + 1);
    if (nt < 1) nt = 1;

    fe_status st = FE_OK;
    size_t o_hits, o_counts, need;
    if (nt == 1 && scratch && ((uintptr_t)scratch & 63) == 0 &&
        scratch_layout(a->nq, cap, &o_hits, &o_counts, &need) && need <= scratch_bytes) {
        /* the caller's memory: no allocation (a search workspace calls this once per query) */
        slice one = {0, a->n, scratch, (fe_hit *)(void *)((char *)scratch + o_hits),
                     (size_t *)(void *)((char *)scratch + o_counts)};
        memset(one.counts, 0, a->nq * sizeof *one.counts);
        scan_slice(a, kern, cap, &one);
        for (size_t q = 0; q < a->nq; q++) {
            fe_hit *out = hits + q * a->k;
            size_t m = one.counts[q];
            memmove(out, one.hits + q * cap, m * sizeof *out);
            qsort(out, m, sizeof *out, better_first);
            for (size_t j = m; j < a->k; j++) out[j] = (fe_hit){FE_NO_EXCLUDE, -INFINITY};
            if (counts) counts[q] = m;
        }
        return FE_OK;
    }
    slice *sl = fe__calloc((size_t)nt, sizeof *sl);
    if (!sl) return fe__fail(FE_E_NOMEM, "cannot allocate %d slices", nt);
    size_t per = (a->n / ROW_BLOCK + (size_t)nt) / (size_t)nt * ROW_BLOCK;  /* rows per slice */
    for (int t = 0; t < nt && st == FE_OK; t++) {
        sl[t].r0 = (size_t)t * per < a->n ? (size_t)t * per : a->n;
        sl[t].r1 = (size_t)(t + 1) * per < a->n && t + 1 < nt ? (size_t)(t + 1) * per : a->n;
        sl[t].scores = fe__aligned_alloc((size_t)QUERY_BLOCK * ROW_BLOCK * sizeof(float));
        sl[t].hits = fe__malloc((cap ? a->nq * cap : 1) * sizeof(fe_hit));  /* <= total */
        sl[t].counts = fe__calloc(a->nq ? a->nq : 1, sizeof(size_t));
        if (!sl[t].scores || !sl[t].hits || !sl[t].counts)
            st = fe__fail(FE_E_NOMEM, "cannot allocate top-%zu heaps for %zu queries", a->k, a->nq);
    }
    if (st == FE_OK) {
        if (nt == 1) {
            scan_slice(a, kern, cap, &sl[0]);
        } else {
#pragma omp parallel for num_threads(nt) schedule(static, 1)
            for (int t = 0; t < nt; t++) scan_slice(a, kern, cap, &sl[t]);
        }
        /* merge the slices' heaps per query and sort best first */
        fe_hit *all = nt > 1 ? fe__malloc((size_t)nt * (cap ? cap : 1) * sizeof *all) : NULL;
        if (nt > 1 && !all) st = fe__fail(FE_E_NOMEM, "cannot allocate the merge buffer");
        for (size_t q = 0; st == FE_OK && q < a->nq; q++) {
            fe_hit *out = hits + q * a->k;
            size_t m = 0;
            if (nt == 1) {
                m = sl[0].counts[q];
                memcpy(out, sl[0].hits + q * cap, m * sizeof *out);
                qsort(out, m, sizeof *out, better_first);
            } else {
                for (int t = 0; t < nt; t++) {
                    memcpy(all + m, sl[t].hits + q * cap, sl[t].counts[q] * sizeof *all);
                    m += sl[t].counts[q];
                }
                qsort(all, m, sizeof *all, better_first);
                if (m > cap) m = cap;
                memcpy(out, all, m * sizeof *out);
            }
            for (size_t j = m; j < a->k; j++) out[j] = (fe_hit){FE_NO_EXCLUDE, -INFINITY};
            if (counts) counts[q] = m;
        }
        fe__free(all);
    }
    for (int t = 0; t < nt; t++) {
        fe__aligned_free(sl[t].scores);
        fe__free(sl[t].hits);
        fe__free(sl[t].counts);
    }
    fe__free(sl);
    return st;
}

fe_status fe_cosine_topk(const fe_gallery *g, const float *queries, size_t n_queries, size_t k,
                         const uint32_t *exclude, fe_hit *out_hits, size_t *out_counts) {
    if (!g || (!queries && n_queries) || (!out_hits && n_queries))
        return fe__fail(FE_E_ARG, "NULL gallery, queries or output");
    if (k == 0) return fe__fail(FE_E_ARG, "k must be at least 1");
    for (size_t i = 0; i < n_queries * FE_DESC_DIM; i++)
        if (!isfinite(queries[i]))
            return fe__fail(FE_E_NUMERIC, "query %zu holds NaN or Inf at element %zu", i / FE_DESC_DIM,
                            i % FE_DESC_DIM);
    if (n_queries == 0) return FE_OK;
    fe__topk_args a = {fe__gallery_emb_panels(g), fe_gallery_size(g), FE_DESC_DIM, queries, n_queries,
                       k, exclude, FE__KERNEL_AUTO, 0};
    return fe__topk(&a, out_hits, out_counts);
}
