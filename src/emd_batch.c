/*
 * emd_batch.c — stage 2 for the search: one query against K candidates (fe_emd_rerank), and
 * the one-pair convenience fe_emd_pair.
 *
 * Per chunk of candidates (~256 KiB of their patches: 15 for the 4x4 grid, 7 for 8x8; the
 * next chunk's rows are prefetched during this chunk's GEMM) the similarities come from one GEMM of
 * the query against all the chunk's candidate rows [g_1..g_m; g_bar] (row pointers: no gather
 * copy), transposed (T[row][i], see fe__emd_gemm_cost), with <q_bar, row> beside it, so APC's
 * dot products come out of the same pass. Then per candidate: masses, kernel and Sinkhorn in
 * double, or the exact solver.
 * Workspace (one block, 64-byte aligned pieces): query panels | T | q_bar dots | B row
 * pointers | a, b | Sinkhorn problem | exact-solver scratch (only with --solver exact).
 */
#include "emd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct fe_emd_workspace {
    void  *mem;
    size_t bytes;
};

fe_status fe_emd_workspace_create(fe_emd_workspace **out_ws) {
    if (!out_ws) return fe__fail(FE_E_ARG, "out_ws is required");
    *out_ws = fe__calloc(1, sizeof **out_ws);
    return *out_ws ? FE_OK : fe__fail(FE_E_NOMEM, "EMD workspace");
}

void fe_emd_workspace_destroy(fe_emd_workspace *ws) {
    if (!ws) return;
    fe__aligned_free(ws->mem);
    fe__free(ws);
}

static fe_status ws_reserve(fe_emd_workspace *ws, size_t bytes) {
    if (ws->bytes >= bytes) return FE_OK;
    fe__aligned_free(ws->mem);
    ws->mem = fe__aligned_alloc(bytes);
    ws->bytes = ws->mem ? bytes : 0;
    return ws->mem ? FE_OK : fe__fail(FE_E_NOMEM, "EMD workspace of %zu bytes", bytes);
}

/* Carves `count` elements of `size` bytes off a running offset, 64-byte aligned. */
static int carve(size_t *off, size_t count, size_t size, size_t *at) {
    size_t b, o = (*off + 63) & ~(size_t)63;
    if (o < *off || !fe__mul_size(count, size, &b) || !fe__add_size(o, b, off)) return 0;
    *at = o;
    return 1;
}

/* Candidate rows per chunk: ~256 KiB of patches, a quarter of L2, so while one chunk's GEMM
 * runs (compute-bound: the memory system is idle) the next chunk's rows can be prefetched from
 * DRAM, and its GEMM then reads them from cache. */
#define CHUNK_BYTES (256u * 1024u)

typedef struct rerank_ctx {
    const fe_emd_batch   *batch;
    const fe_emd_options *opt;
    fe__emd_kernel        kern;
    const float          *T;        /* chunk rows x ldt similarities (transposed)             */
    const float          *qb;       /* chunk rows: <q_bar, row> (APC)                         */
    size_t                ldt, k0;  /* row stride of T; first candidate of the chunk          */
    size_t                mb;       /* rows per candidate: m (+1 for APC's g_bar)             */
    int                   apc;
    double               *a, *b;    /* scratch masses                                         */
    fe_emd_stats         *out;
} rerank_ctx;

/* Masses of chunk candidate k, loaded into p (see the layout in fe_emd_rerank). Returns 0 if
 * an APC dot product is not finite (the n x m block is checked by the load). */
static int masses(const rerank_ctx *cx, const fe__sk *p, size_t k, uint32_t *flags) {
    const size_t n = cx->batch->n, m = cx->batch->m, mp = p->mp;
    double *a = cx->a, *b = cx->b;
    if (cx->opt->weighting == FE_EMD_UNIFORM) {
        for (size_t i = 0; i < n; i++) a[i] = 1.0 / (double)n;
        for (size_t j = 0; j < m; j++) b[j] = 1.0 / (double)m;
        return 1;
    }
    if (cx->opt->weighting == FE_EMD_SC) {
        for (size_t j = 0; j < m; j++) b[j] = 0;
        for (size_t i = 0; i < n; i++) {
            double row = 0;
            for (size_t j = 0; j < m; j++) {
                double c = 1.0 - p->s[i * mp + j];
                row += c;
                b[j] += c;
            }
            a[i] = row;
        }
    } else {   /* APC: <q_i, g_bar> in the candidate's last T row, <q_bar, g_j> in qb */
        const float *ga = cx->T + (k * cx->mb + m) * cx->ldt, *qb = cx->qb + k * cx->mb;
        double t[4] = {0, 0, 0, 0};   /* finite iff every term is (no overflow from floats) */
        for (size_t i = 0; i < n; i++) t[i & 3] += a[i] = ga[i];
        for (size_t j = 0; j < m; j++) t[j & 3] += b[j] = qb[j];
        if (!isfinite((t[0] + t[1]) + (t[2] + t[3]))) return 0;
    }
    fe__emd_normalise_k(cx->kern, a, n, flags);
    fe__emd_normalise_k(cx->kern, b, m, flags);
    return 1;
}

/* Loads candidate k of the chunk into p and computes its masses into cx->a, cx->b. */
static fe_status load_one(rerank_ctx *cx, fe__sk *p, size_t k) {
    fe_emd_stats *out = &cx->out[cx->k0 + k];
    memset(out, 0, sizeof *out);
    double eps = cx->opt->solver == FE_EMD_SINKHORN ? cx->opt->epsilon : 0.0;
    if (!fe__sk_load_f32t(p, cx->kern, cx->T + k * cx->mb * cx->ldt, cx->ldt, eps))
        return fe__fail(FE_E_NUMERIC, "candidate %zu: a similarity is not finite (non-finite "
                        "patch values?)", cx->k0 + k);
    if (!masses(cx, p, k, &out->flags))
        return fe__fail(FE_E_NUMERIC, "candidate %zu: an APC dot product is not finite "
                        "(non-finite mean vector?)", cx->k0 + k);
    return FE_OK;
}

static fe_status name_candidate(fe_status st, size_t k) {
    char why[256];
    snprintf(why, sizeof why, "%s", fe_last_error());
    return fe__fail(st, "candidate %zu: %s", k, why);
}

/* One candidate of the chunk: load, masses, then the solver. */
static fe_status solve_one(rerank_ctx *cx, fe__sk *p, size_t k, void *ex_work) {
    const size_t n = cx->batch->n, m = cx->batch->m;
    fe_emd_stats *out = &cx->out[cx->k0 + k];
    fe_status st = load_one(cx, p, k);
    if (st != FE_OK) return st;
    if (cx->opt->solver == FE_EMD_EXACT) {
        /* the exact solvers take an unpadded n x m matrix: K' is free scratch here */
        uint32_t flags = out->flags;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) p->K[i * m + j] = p->s[i * p->mp + j];
        st = fe__emd_exact_solve(p->K, n, m, cx->a, cx->b, NULL, out, ex_work);
        out->flags |= flags;
    } else {
        fe__sk_prepare_f32(p, cx->kern, cx->a, cx->b, cx->opt->epsilon);
        st = fe__sk_solve(p, cx->kern, cx->opt, NULL, out);
    }
    return st == FE_OK ? FE_OK : name_candidate(st, cx->k0 + k);
}

/* Row pointers of candidates k0 .. k0+kc-1: m patch rows each, then g_bar (APC). */
static void gather_rows(const fe_emd_batch *batch, int apc, size_t k0, size_t kc,
                        const float **rows) {
    const size_t m = batch->m, mb = m + (size_t)apc;
    for (size_t k = 0; k < kc; k++) {
        for (size_t j = 0; j < m; j++) rows[k * mb + j] = batch->cand[k0 + k] + j * batch->d;
        if (apc) rows[k * mb + m] = batch->cand_mean[k0 + k];
    }
}

fe_status fe_emd_rerank(fe_emd_workspace *ws, const fe_emd_batch *batch,
                        const fe_emd_options *opt, fe_emd_stats *out_stats) {
    fe_emd_options def;
    fe_emd_workspace local = {NULL, 0};
    if (!batch) return fe__fail(FE_E_ARG, "batch is required");
    if (!opt) {
        fe_emd_options_default(&def);
        opt = &def;
    }
    fe_status st = fe__emd_check_options(opt);
    if (st != FE_OK) return st;
    const size_t n = batch->n, m = batch->m, d = batch->d, K = batch->n_cand;
    const int apc = opt->weighting == FE_EMD_APC, exact = opt->solver == FE_EMD_EXACT;
    if (K == 0) return FE_OK;
    if (!out_stats || !batch->query || !batch->cand)
        return fe__fail(FE_E_ARG, "query, cand and out_stats are required");
    if (n == 0 || m == 0 || d == 0)
        return fe__fail(FE_E_ARG, "empty problem (n %zu, m %zu, d %zu)", n, m, d);
    if (n > FE_EMD_MAX_PATCHES || m > FE_EMD_MAX_PATCHES || d > FE_EMD_MAX_DIM ||
        K > FE_MAX_GALLERY)
        return fe__fail(FE_E_LIMIT, "n %zu, m %zu, d %zu or %zu candidates exceed the caps", n,
                        m, d, K);
    if (apc && (!batch->query_mean || !batch->cand_mean))
        return fe__fail(FE_E_ARG, "APC weights need query_mean and cand_mean");
    for (size_t k = 0; k < K; k++)
        if (!batch->cand[k] || (apc && !batch->cand_mean[k]))
            return fe__fail(FE_E_ARG, "candidate %zu has no patches or no mean", k);

    /* Layout of one chunk's GEMM: B = for each candidate its m patch rows then g_bar (mb =
     * m + apc rows); T = (chunk * mb) rows of ldt (query rows padded to the panel size).
     * Candidate k's block: T[k*mb + j][i] = s_ij; T[k*mb + m][i] = <q_i, g_bar> (APC a);
     * qb[k*mb + j] = <q_bar, g_j> (APC b). */
    const size_t mb = m + (size_t)apc, ldt = fe__emd_panel_rows(n);
    size_t per = mb * d * sizeof(float), chunk = per >= CHUNK_BYTES ? 1 : CHUNK_BYTES / per;
    if (chunk > K) chunk = K;
    size_t off = 0, o_p, o_t, o_qb, o_rows, o_a, o_b, o_sk, o_ex = 0, nd = fe__sk_doubles(n, m);
    size_t ex_bytes = exact ? fe__emd_exact_work_bytes(n, m) : 0;
    if (!nd || (exact && !ex_bytes) || !carve(&off, ldt, d * sizeof(float), &o_p) ||
        !carve(&off, chunk * mb, ldt * sizeof(float), &o_t) ||
        !carve(&off, chunk * mb, sizeof(float), &o_qb) ||
        !carve(&off, 2 * chunk * mb, sizeof(float *), &o_rows) ||
        !carve(&off, n, sizeof(double), &o_a) || !carve(&off, m, sizeof(double), &o_b) ||
        !carve(&off, nd, sizeof(double), &o_sk) ||
        (exact && !carve(&off, ex_bytes, 1, &o_ex)))
        return fe__fail(FE_E_OVERFLOW, "workspace size overflows");
    if (!ws) ws = &local;
    if ((st = ws_reserve(ws, off)) != FE_OK) return st;
    unsigned char *base = ws->mem;
    float *P = (float *)(base + o_p), *T = (float *)(base + o_t), *qb = (float *)(base + o_qb);
    const float **rowbuf = (const float **)(void *)(base + o_rows);
    const float *qbar = apc ? batch->query_mean : NULL;
    fe__sk p;
    fe__sk_bind(&p, (double *)(base + o_sk), n, m);
    rerank_ctx cx = {batch, opt, fe__emd_kernel_pick(), T, qb, ldt, 0, mb, apc,
                     (double *)(base + o_a), (double *)(base + o_b), out_stats};

    if (cx.kern != FE__EMD_REF) fe__emd_pack_query(batch->query, n, d, P);

    /* B rows of chunk c: rowbuf[(c % 2) * chunk * mb ...], built one chunk ahead. The first
     * chunk is small: nothing runs before its GEMM to hide its memory latency; its GEMM is too
     * short to stream in all of the second, so both prefetch their own rows just in time. */
    size_t first = chunk >= 8 ? chunk / 4 : chunk;
    for (size_t k0 = 0, c = 0, kc; k0 < K && st == FE_OK; k0 += kc, c++) {
        kc = c == 0 ? first : chunk;
        kc = K - k0 < kc ? K - k0 : kc;
        const float **brows = rowbuf + (c % 2) * chunk * mb;
        if (k0 == 0) gather_rows(batch, apc, 0, kc, brows);
        /* the next chunk's rows, prefetched while this chunk's GEMM runs */
        size_t k1 = k0 + kc, kc1 = K - k1 < chunk ? K - k1 : chunk;
        fe__pf pf = {NULL, 0, d * sizeof(float), 0, 0};
        if (k1 < K) {
            const float **next = rowbuf + ((c + 1) % 2) * chunk * mb;
            gather_rows(batch, apc, k1, kc1, next);
            pf.rows = next;
            pf.n_rows = kc1 * mb;
        }
        /* all similarities of the chunk (and APC's dot products): one GEMM */
        cx.k0 = k0;
        fe__emd_gemm_cost(cx.kern, n, d, batch->query, P, qbar, kc * mb, brows, T, ldt, qb,
                          &pf, c <= 1);
        for (size_t k = 0; k < kc && st == FE_OK; k++) st = solve_one(&cx, &p, k, base + o_ex);
    }
    fe__aligned_free(local.mem);
    if (st != FE_OK) memset(out_stats, 0, K * sizeof *out_stats);
    return st;
}

fe_status fe_emd_pair(const float *q, size_t n, const float *g, size_t m, size_t d,
                      const float *q_mean, const float *g_mean, const fe_emd_options *opt,
                      double *plan, double *a, double *b, fe_emd_stats *out_stats) {
    fe_emd_options def;
    if (out_stats) memset(out_stats, 0, sizeof *out_stats);
    if (!out_stats) return fe__fail(FE_E_ARG, "out_stats is required");
    if (!opt) {
        fe_emd_options_default(&def);
        opt = &def;
    }
    fe_status st = fe__emd_check_options(opt);
    if (st != FE_OK) return st;
    if (n == 0 || m == 0 || n > FE_EMD_MAX_PATCHES || m > FE_EMD_MAX_PATCHES)
        return fe__fail(n && m ? FE_E_LIMIT : FE_E_ARG, "%zu x %zu patches", n, m);
    size_t cells, bytes;
    if (!fe__mul_size(n, m, &cells) || !fe__add_size(cells, n + m, &cells) ||
        !fe__mul_size(cells, sizeof(double), &bytes))
        return fe__fail(FE_E_OVERFLOW, "%zu x %zu", n, m);
    double *sim = fe__malloc(bytes);
    if (!sim) return fe__fail(FE_E_NOMEM, "%zu bytes", bytes);
    double *wa = sim + n * m, *wb = wa + n;
    uint32_t flags = 0;
    st = fe_emd_similarity(q, n, g, m, d, sim);
    if (st == FE_OK)
        st = fe_emd_weights(opt->weighting, sim, q, n, g, m, d, q_mean, g_mean, wa, wb, &flags);
    if (st == FE_OK)
        st = opt->solver == FE_EMD_EXACT ? fe_emd_exact(sim, n, m, wa, wb, plan, out_stats)
                                         : fe_emd_sinkhorn(sim, n, m, wa, wb, opt, plan, out_stats);
    if (st == FE_OK) {
        out_stats->flags |= flags;
        if (a) memcpy(a, wa, n * sizeof *a);
        if (b) memcpy(b, wb, m * sizeof *b);
    }
    fe__free(sim);
    return st;
}
