/*
 * search.c — the main job: stage 1 (cosine top-K) then stage 2 (patch-wise EMD re-rank of
 * those K), blended as METHOD.md says; plus the per-pair flow for the explanations.
 *
 * Order contract (faceemd.h, "The search"): re-ranked faces first, by final score, ties by
 * stage-1 rank; then stage 1's order beyond K. Ranks are 1-based. The query is normalised by
 * fe__features_prepare, the very function fe_gallery_add stores faces with, so both sides of
 * every comparison went through the same arithmetic.
 * Workspace: one per thread; every buffer grows on demand and is then reused (steady state:
 * no allocation per query, as the EMD and top-K scratch are workspace-owned too).
 */
#include "emd.h"
#include "gallery.h"
#include "search.h"
#include "topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef fe__rank_key rank_key;

struct fe_search_workspace {
    fe__prepared     *q;          /* the normalised query (54 KiB: heap, not stack)          */
    fe_emd_workspace *emd;
    void             *topk;       /* fe__topk_scratch memory, 64-byte aligned                */
    size_t            topk_bytes;
    fe_hit           *hits;       /* stage 1: the top max(K, n_out)                          */
    size_t            hits_cap;
    /* stage 2, K entries each */
    const float     **cand, **cand_mean;
    fe_emd_stats     *stats;
    uint32_t         *idx;
    rank_key         *keys, *tmp; /* final order (sorted) and the merge sort's buffer       */
    size_t            k_cap;
    float            *f16_rows;   /* fp16 galleries: the K candidates' patches as fp32       */
    size_t            f16_cap;    /* floats                                                  */
};

void fe_search_options_default(fe_search_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->rerank_k = FE_TOPK_DEFAULT;
    opt->grid = FE_SEARCH_GRID_DEFAULT;
    opt->alpha = FE_SEARCH_ALPHA_DEFAULT;
    fe_emd_options_default(&opt->emd);
    opt->exclude = FE_NO_EXCLUDE;
    opt->n_threads = 0;
}

static fe_status check_options(const fe_search_options *o) {
    if (o->size != sizeof *o)
        return fe__fail(FE_E_ARG, "fe_search_options.size is %u, expected %zu (use "
                        "fe_search_options_default)", (unsigned)o->size, sizeof *o);
    if (o->grid != 4 && o->grid != 8) return fe__fail(FE_E_ARG, "grid must be 4 or 8 (got %u)", (unsigned)o->grid);
    if (!isfinite(o->alpha) || o->alpha > 1)
        return fe__fail(FE_E_ARG, "alpha must be in [0, 1], or negative for the plain sum (got %g)", o->alpha);
    if (o->rerank_k > FE_MAX_GALLERY)
        return fe__fail(FE_E_LIMIT, "K = %zu exceeds FE_MAX_GALLERY", o->rerank_k);
    if (o->n_threads < 0 || o->n_threads > 1024)
        return fe__fail(FE_E_ARG, "n_threads must be 0..1024 (got %d)", o->n_threads);
    return fe__emd_check_options(&o->emd);
}

/* ---- workspace ------------------------------------------------------------------------ */

fe_status fe_search_workspace_create(fe_search_workspace **out_ws) {
    if (!out_ws) return fe__fail(FE_E_ARG, "out_ws is required");
    *out_ws = NULL;
    fe_search_workspace *ws = fe__calloc(1, sizeof *ws);
    if (!ws) return fe__fail(FE_E_NOMEM, "search workspace");
    ws->q = fe__aligned_alloc(sizeof *ws->q);
    fe_status st = ws->q ? fe_emd_workspace_create(&ws->emd) : fe__fail(FE_E_NOMEM, "search workspace");
    if (st != FE_OK) {
        fe_search_workspace_destroy(ws);
        return st;
    }
    *out_ws = ws;
    return FE_OK;
}

static void free_k_arrays(fe_search_workspace *ws) {
    fe__free(ws->cand);
    fe__free(ws->cand_mean);
    fe__free(ws->stats);
    fe__free(ws->idx);
    fe__free(ws->keys);
    fe__free(ws->tmp);
    ws->cand = ws->cand_mean = NULL;
    ws->stats = NULL;
    ws->idx = NULL;
    ws->keys = ws->tmp = NULL;
    ws->k_cap = 0;
}

void fe_search_workspace_destroy(fe_search_workspace *ws) {
    if (!ws) return;
    fe__aligned_free(ws->q);
    fe_emd_workspace_destroy(ws->emd);
    fe__aligned_free(ws->topk);
    fe__free(ws->hits);
    free_k_arrays(ws);
    fe__aligned_free(ws->f16_rows);
    fe__free(ws);
}

/* Grows the buffers for n1 stage-1 hits, K re-ranked candidates and (fp16) their patches. */
static fe_status ws_reserve(fe_search_workspace *ws, size_t n1, size_t K, size_t f16_floats) {
    if (n1 > ws->hits_cap) {
        fe__free(ws->hits);
        ws->hits = fe__malloc(n1 * sizeof *ws->hits);  /* n1 <= FE_MAX_GALLERY: no overflow */
        ws->hits_cap = ws->hits ? n1 : 0;
        if (!ws->hits) return fe__fail(FE_E_NOMEM, "%zu stage-1 hits", n1);
    }
    size_t tb = fe__topk_scratch_bytes(1, n1);
    if (tb > ws->topk_bytes) {
        fe__aligned_free(ws->topk);
        ws->topk = fe__aligned_alloc(tb);
        ws->topk_bytes = ws->topk ? tb : 0;
        if (!ws->topk) return fe__fail(FE_E_NOMEM, "top-%zu scratch", n1);
    }
    if (K > ws->k_cap) {
        free_k_arrays(ws);
        ws->cand = fe__malloc(K * sizeof *ws->cand);
        ws->cand_mean = fe__malloc(K * sizeof *ws->cand_mean);
        ws->stats = fe__malloc(K * sizeof *ws->stats);
        ws->idx = fe__malloc(K * sizeof *ws->idx);
        ws->keys = fe__malloc(K * sizeof *ws->keys);
        ws->tmp = fe__malloc(K * sizeof *ws->tmp);
        if (!ws->cand || !ws->cand_mean || !ws->stats || !ws->idx || !ws->keys || !ws->tmp) {
            free_k_arrays(ws);
            return fe__fail(FE_E_NOMEM, "stage-2 arrays for K = %zu", K);
        }
        ws->k_cap = K;
    }
    if (f16_floats > ws->f16_cap) {
        fe__aligned_free(ws->f16_rows);
        size_t bytes;
        ws->f16_rows = fe__mul_size(f16_floats, sizeof(float), &bytes) ? fe__aligned_alloc(bytes) : NULL;
        ws->f16_cap = ws->f16_rows ? f16_floats : 0;
        if (!ws->f16_rows) return fe__fail(FE_E_NOMEM, "fp16 candidate patches (%zu floats)", f16_floats);
    }
    return FE_OK;
}

/* ---- the search ----------------------------------------------------------------------- */

double fe__final_score(double alpha, double emd, double cos_) {
    return alpha < 0 ? emd + cos_ : alpha * emd + (1.0 - alpha) * cos_;
}

static int key_before(rank_key a, rank_key b) {
    return a.score > b.score || (a.score == b.score && a.s1 < b.s1);
}

void fe__rank_sort(rank_key *k, rank_key *tmp, size_t n) {
    rank_key *src = k, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) dst[o++] = key_before(src[j], src[i]) ? src[j++] : src[i++];
            while (i < mid) dst[o++] = src[i++];
            while (j < hi) dst[o++] = src[j++];
        }
        rank_key *t = src;
        src = dst;
        dst = t;
    }
    if (src != k) memcpy(k, src, n * sizeof *k);
}

/* Floats of fp32 copies of K candidates' patches: needed only when the gallery stores fp16. */
static size_t f16_floats(const fe_gallery *g, int grid, size_t K) {
    fe_gallery_info info;
    fe_gallery_get_info(g, &info);
    if (info.patch_dtype != FE_GALLERY_F16) return 0;
    return K * (grid == 8 ? FE_MAP8_CELLS * FE_MAP8_DIM : FE_MAP4_CELLS * FE_MAP4_DIM);
}

/* Stage 2 of K hits: fills stats[0..K) (ws's K arrays are reserved by the caller). */
static fe_status stage2_run(fe_search_workspace *ws, const fe_gallery *g, const fe__prepared *q,
                            const fe_hit *h, size_t K, int grid, const fe_emd_options *emd,
                            fe_emd_stats *stats) {
    const size_t cells = grid == 8 ? FE_MAP8_CELLS : FE_MAP4_CELLS;
    const size_t dim = grid == 8 ? FE_MAP8_DIM : FE_MAP4_DIM;
    for (size_t k = 0; k < K; k++) {
        ws->idx[k] = h[k].index;
        ws->cand[k] = fe__gallery_patches_f32(g, grid, h[k].index);
        ws->cand_mean[k] = fe__gallery_pooled(g, grid, h[k].index);
    }
    if (f16_floats(g, grid, 1)) {
        fe__gallery_gather_patches(g, grid, ws->idx, K, ws->f16_rows);
        for (size_t k = 0; k < K; k++) ws->cand[k] = ws->f16_rows + k * cells * dim;
    }
    const int apc = emd->weighting == FE_EMD_APC;
    fe_emd_batch b = {grid == 8 ? q->map8 : q->map4, apc ? (grid == 8 ? q->pool8 : q->pool4) : NULL,
                      cells, cells, dim, K, ws->cand, apc ? ws->cand_mean : NULL};
    return fe_emd_rerank(ws->emd, &b, emd, stats);
}

fe_status fe__stage2_scores(fe_search_workspace *ws, const fe_gallery *g, const fe__prepared *q,
                            const fe_hit *hits, size_t K, int grid, const fe_emd_options *emd,
                            fe_emd_stats *stats) {
    if (K == 0) return FE_OK;
    fe_status st = ws_reserve(ws, 0, K, f16_floats(g, grid, K));
    return st != FE_OK ? st : stage2_run(ws, g, q, hits, K, grid, emd, stats);
}

static fe_status search_run(fe_search_workspace *ws, const fe_gallery *g, const fe_features *query,
                            const fe_search_options *o, fe_search_result *out, size_t n_out,
                            size_t *count) {
    fe_status st = fe__features_prepare(query, ws->q);
    if (st != FE_OK) return st;
    const size_t n = fe_gallery_size(g);
    if (o->exclude != FE_NO_EXCLUDE && o->exclude >= n)
        return fe__fail(FE_E_ARG, "exclude = %u but the gallery has %zu faces", (unsigned)o->exclude, n);
    size_t avail = n - (o->exclude != FE_NO_EXCLUDE);
    size_t n1 = o->rerank_k > n_out ? o->rerank_k : n_out;   /* stage-1 hits needed */
    if (n1 > avail) n1 = avail;
    if (n1 == 0 || n_out == 0) return FE_OK;
    size_t K = o->rerank_k < n1 ? o->rerank_k : n1;
    const int grid = (int)o->grid;
    if ((st = ws_reserve(ws, n1, K, f16_floats(g, grid, K))) != FE_OK) return st;

    /* stage 1 */
    size_t got = 0;
    fe__topk_args ta = {fe__gallery_emb_panels(g), n, FE_DESC_DIM, ws->q->emb, 1, n1,
                        &o->exclude, FE__KERNEL_AUTO, o->n_threads};
    if ((st = fe__topk_scratch(&ta, ws->topk, ws->topk_bytes, ws->hits, &got)) != FE_OK) return st;
    if (got < n1) n1 = got;   /* NaN scores are dropped by the scan (only with a damaged gallery) */
    if (K > n1) K = n1;

    /* stage 2 on the first K */
    const fe_hit *h = ws->hits;
    rank_key *keys = ws->keys;
    if (K > 0) {
        if ((st = stage2_run(ws, g, ws->q, h, K, grid, &o->emd, ws->stats)) != FE_OK) return st;
        for (size_t k = 0; k < K; k++)
            keys[k] = (rank_key){fe__final_score(o->alpha, ws->stats[k].similarity, (double)h[k].score),
                                 (uint32_t)k};
        fe__rank_sort(keys, ws->tmp, K);
    }

    size_t m = n_out < n1 ? n_out : n1;
    for (size_t r = 0; r < m; r++) {
        size_t s1 = r < K ? keys[r].s1 : r;
        fe_search_result *res = &out[r];
        memset(res, 0, sizeof *res);
        res->index = h[s1].index;
        res->identity = fe_gallery_identity(g, h[s1].index);
        res->rank = (uint32_t)(r + 1);
        res->stage1_rank = (uint32_t)(s1 + 1);
        res->stage1_score = (double)h[s1].score;
        if (r < K) {
            const fe_emd_stats *es = &ws->stats[s1];
            res->emd_score = es->similarity;
            res->score = keys[r].score;
            res->iterations = es->iterations;
            res->marginal_error = es->marginal_error;
            res->emd_flags = es->flags;
            res->reranked = 1;
        } else {
            res->emd_score = NAN;
            res->score = NAN;
        }
    }
    *count = m;
    return FE_OK;
}

fe_status fe_search(fe_search_workspace *ws, const fe_gallery *g, const fe_features *query,
                    const fe_search_options *opt, fe_search_result *out, size_t n_out,
                    size_t *out_count) {
    if (out_count) *out_count = 0;
    if (!g || !query) return fe__fail(FE_E_ARG, "gallery and query are required");
    if (n_out && !out) return fe__fail(FE_E_ARG, "out is NULL with n_out = %zu", n_out);
    fe_search_options def;
    if (!opt) {
        fe_search_options_default(&def);
        opt = &def;
    }
    fe_status st = check_options(opt);
    if (st != FE_OK) return st;
    fe_search_workspace *local = NULL;
    if (!ws) {
        if ((st = fe_search_workspace_create(&local)) != FE_OK) return st;
        ws = local;
    }
    size_t count = 0;
    st = search_run(ws, g, query, opt, out, n_out, &count);
    fe_search_workspace_destroy(local);
    if (st == FE_OK && out_count) *out_count = count;
    return st;
}

/* ---- flow of one pair ----------------------------------------------------------------- */

/* q, g: cells x dim unit rows; qm, gm: pooled vectors. Same steps as fe_emd_pair, keeping the
 * similarity matrix for the picture. */
static fe_status flow_run(const float *q, const float *qm, const float *g, const float *gm,
                          double cos_, const fe_search_options *o, fe_flow *out) {
    const size_t cells = o->grid == 8 ? FE_MAP8_CELLS : FE_MAP4_CELLS;
    const size_t dim = o->grid == 8 ? FE_MAP8_DIM : FE_MAP4_DIM;
    out->grid = o->grid;
    out->cells = (uint32_t)cells;
    uint32_t flags = 0;
    fe_status st = fe_emd_similarity(q, cells, g, cells, dim, out->sim);
    if (st == FE_OK)
        st = fe_emd_weights(o->emd.weighting, out->sim, q, cells, g, cells, dim, qm, gm,
                            out->query_weight, out->cand_weight, &flags);
    if (st == FE_OK)
        st = o->emd.solver == FE_EMD_EXACT
                 ? fe_emd_exact(out->sim, cells, cells, out->query_weight, out->cand_weight, out->plan, &out->stats)
                 : fe_emd_sinkhorn(out->sim, cells, cells, out->query_weight, out->cand_weight, &o->emd,
                                   out->plan, &out->stats);
    if (st != FE_OK) return st;
    out->stats.flags |= flags;
    out->stage1_score = cos_;
    out->emd_score = out->stats.similarity;
    out->score = fe__final_score(o->alpha, out->emd_score, cos_);
    return FE_OK;
}

static fe_status flow_begin(const fe_search_options **opt, fe_search_options *def, fe_flow *out) {
    if (!out) return fe__fail(FE_E_ARG, "out is required");
    memset(out, 0, sizeof *out);
    if (!*opt) {
        fe_search_options_default(def);
        *opt = def;
    }
    return check_options(*opt);
}

static double dot128(const float *a, const float *b) {
    float s = 0;   /* one chain in ascending order, as stage 1's portable kernel */
    for (size_t k = 0; k < FE_DESC_DIM; k++) s += a[k] * b[k];
    return (double)s;
}

fe_status fe_flow_faces(const fe_features *query, const fe_features *cand,
                        const fe_search_options *opt, fe_flow *out) {
    fe_search_options def;
    fe_status st = flow_begin(&opt, &def, out);
    if (st != FE_OK) return st;
    if (!query || !cand) return fe__fail(FE_E_ARG, "query and cand are required");
    fe__prepared *p = fe__aligned_alloc(2 * sizeof *p);
    if (!p) return fe__fail(FE_E_NOMEM, "two prepared faces");
    st = fe__features_prepare(query, &p[0]);
    if (st == FE_OK) st = fe__features_prepare(cand, &p[1]);
    if (st == FE_OK) {
        int g8 = opt->grid == 8;
        st = flow_run(g8 ? p[0].map8 : p[0].map4, g8 ? p[0].pool8 : p[0].pool4,
                      g8 ? p[1].map8 : p[1].map4, g8 ? p[1].pool8 : p[1].pool4,
                      dot128(p[0].emb, p[1].emb), opt, out);
    }
    fe__aligned_free(p);
    if (st != FE_OK) memset(out, 0, sizeof *out);
    return st;
}

fe_status fe_flow_gallery(const fe_gallery *g, size_t index, const fe_features *query,
                          const fe_search_options *opt, fe_flow *out) {
    fe_search_options def;
    fe_status st = flow_begin(&opt, &def, out);
    if (st != FE_OK) return st;
    if (!g || !query) return fe__fail(FE_E_ARG, "gallery and query are required");
    if (index >= fe_gallery_size(g))
        return fe__fail(FE_E_ARG, "index %zu but the gallery has %zu faces", index, fe_gallery_size(g));
    const int g8 = opt->grid == 8;
    fe__prepared *p = fe__aligned_alloc(sizeof *p + sizeof(float) * FE_MAP8_CELLS * FE_MAP8_DIM);
    if (!p) return fe__fail(FE_E_NOMEM, "prepared query");
    _Static_assert(sizeof(fe__prepared) % 64 == 0, "rows after the prepared query stay aligned");
    float *rows = (float *)(void *)(p + 1);
    st = fe__features_prepare(query, p);
    if (st == FE_OK) {
        uint32_t i = (uint32_t)index;
        fe__gallery_gather_patches(g, (int)opt->grid, &i, 1, rows);
        st = flow_run(g8 ? p->map8 : p->map4, g8 ? p->pool8 : p->pool4, rows,
                      fe__gallery_pooled(g, (int)opt->grid, index),
                      dot128(p->emb, fe_gallery_embedding(g, index)), opt, out);
    }
    fe__aligned_free(p);
    if (st != FE_OK) memset(out, 0, sizeof *out);
    return st;
}
