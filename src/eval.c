/*
 * eval.c — fe_eval_run: the paper's identification protocol over a gallery (faceemd.h,
 * "identification evaluation"). This file runs the queries; eval_report.c summarises them.
 *
 * Work goes in blocks of BLOCK queries. Per block: every query image is loaded and aligned
 * once (phase "load"); then for each kind: perturb + embed + normalise (phase "embed", chunks
 * of CHUNK chips per fe_embed_batch), stage 1 for the whole block (fe__topk, 16 queries per
 * task), and stage 2 per query: each EMD configuration scores the top max(K) once
 * (fe__stage2_scores, the search's own code), then every (K, alpha) of that configuration is
 * ranked (fe__final_score, fe__rank_sort) and scored (fe__metrics_query). Phases are timed by
 * the wall clock; each EMD configuration's work also by thread time. Threads come from the
 * caller (opt->parallel_for); each has its own session and search workspace, and writes only
 * its own queries' slots, so results do not depend on the thread count.
 */
#define _POSIX_C_SOURCE 200809L
#include "emd.h"
#include "eval.h"
#include "gallery.h"
#include "metrics.h"
#include "model.h"
#include "search.h"
#include "topk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 256
#define CHUNK 8
#define S1_TASK 16
#define MAX_THREADS 256

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fe_eval_options_default(fe_eval_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    const fe_perturb_kind kinds[4] = {FE_PERTURB_MASK, FE_PERTURB_SUNGLASSES, FE_PERTURB_CROP70,
                                      FE_PERTURB_CLEAN};
    memcpy(o->kinds, kinds, sizeof kinds);
    o->n_kinds = 4;
    o->grids[0] = FE_SEARCH_GRID_DEFAULT;
    o->n_grids = 1;
    o->weightings[0] = FE_EMD_APC;
    o->n_weightings = 1;
    o->solvers[0] = FE_EMD_SINKHORN;
    o->n_solvers = 1;
    o->alphas[0] = FE_SEARCH_ALPHA_DEFAULT;
    o->n_alphas = 1;
    o->ks[0] = FE_TOPK_DEFAULT;
    o->n_ks = 1;
    fe_emd_options_default(&o->emd);
    o->epsilons[0] = o->emd.epsilon;
    o->n_epsilons = 1;
    o->setting = FE_EVAL_ALL;
    o->seed = 1;
    o->n_boot = 1000;
    o->n_examples = 8;
    o->n_threads = 1;
}

/* ---- variants ------------------------------------------------------------------------- */

static const char *weighting_name(fe_emd_weighting w) {
    return w == FE_EMD_UNIFORM ? "uniform" : w == FE_EMD_SC ? "sc" : "apc";
}

static void variant_name(fe__eval_variant *v, double eps_default) {
    char a[16], k[24] = "", e[24] = "";
    if (v->alpha < 0) snprintf(a, sizeof a, "sum");
    else snprintf(a, sizeof a, "a%.6g", v->alpha);
    if (v->k != FE_TOPK_DEFAULT) snprintf(k, sizeof k, "-k%zu", v->k);
    if (v->epsilon != eps_default) snprintf(e, sizeof e, "-eps%.6g", v->epsilon);
    snprintf(v->name, sizeof v->name, "emd-%ux%u-%s-%s-%s%s%s", (unsigned)v->grid, (unsigned)v->grid,
             weighting_name(v->weighting), v->solver == FE_EMD_EXACT ? "exact" : "sinkhorn", a, k, e);
}

static int same_variant(const fe__eval_variant *a, const fe__eval_variant *b) {
    return a->grid == b->grid && a->weighting == b->weighting && a->solver == b->solver &&
           a->epsilon == b->epsilon && a->k == b->k && a->alpha == b->alpha;
}

/* The paper's default first, then the sweep's product (duplicates dropped). The caller
 * frees *out. Configurations are numbered in order of first use. */
static fe_status make_variants(const fe_eval_options *o, fe__eval_variant **out, size_t *n_out,
                               size_t *n_cfg) {
    size_t cap = 1 + o->n_grids * o->n_weightings * o->n_solvers * o->n_epsilons * o->n_ks * o->n_alphas;
    fe__eval_variant *v = fe__calloc(cap, sizeof *v);
    if (!v) return fe__fail(FE_E_NOMEM, "%zu variants", cap);
    fe_emd_options def;
    fe_emd_options_default(&def);
    v[0] = (fe__eval_variant){FE_SEARCH_GRID_DEFAULT, FE_EMD_APC, FE_EMD_SINKHORN, def.epsilon,
                              FE_TOPK_DEFAULT, FE_SEARCH_ALPHA_DEFAULT, 0, 1, ""};
    size_t n = 1;
    for (size_t gi = 0; gi < o->n_grids; gi++)
        for (size_t wi = 0; wi < o->n_weightings; wi++)
            for (size_t si = 0; si < o->n_solvers; si++)
                for (size_t ei = 0; ei < o->n_epsilons; ei++)
                    for (size_t ki = 0; ki < o->n_ks; ki++)
                        for (size_t ai = 0; ai < o->n_alphas; ai++) {
                            fe__eval_variant c = {o->grids[gi], o->weightings[wi], o->solvers[si],
                                                  o->epsilons[ei], o->ks[ki], o->alphas[ai], 0, 0, ""};
                            int dup = 0;
                            for (size_t j = 0; j < n && !dup; j++) dup = same_variant(&v[j], &c);
                            if (!dup) v[n++] = c;
                        }
    /* configurations: (grid, weighting, solver, epsilon) */
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        for (; j < i; j++)
            if (v[j].grid == v[i].grid && v[j].weighting == v[i].weighting &&
                v[j].solver == v[i].solver && v[j].epsilon == v[i].epsilon)
                break;
        v[i].cfg = j < i ? v[j].cfg : nc++;
        variant_name(&v[i], def.epsilon);
    }
    *out = v;
    *n_out = n;
    *n_cfg = nc;
    return FE_OK;
}

static fe_status check_options(const fe_eval_options *o) {
    if (o->size != sizeof *o)
        return fe__fail(FE_E_ARG, "fe_eval_options.size is %u, expected %zu (use fe_eval_options_default)",
                        (unsigned)o->size, sizeof *o);
    if (o->n_kinds < 1 || o->n_kinds > FE_PERTURB_KIND_COUNT || o->n_grids < 1 || o->n_grids > 2 ||
        o->n_weightings < 1 || o->n_weightings > 3 || o->n_solvers < 1 || o->n_solvers > 2 ||
        o->n_alphas < 1 || o->n_alphas > FE_EVAL_MAX_LIST || o->n_ks < 1 || o->n_ks > FE_EVAL_MAX_LIST ||
        o->n_epsilons < 1 || o->n_epsilons > FE_EVAL_MAX_LIST)
        return fe__fail(FE_E_ARG, "every list (kinds, grids, weightings, solvers, alphas, K, epsilon) "
                        "needs 1 .. its capacity entries");
    for (size_t i = 0; i < o->n_kinds; i++)
        if (!fe_perturb_kind_name(o->kinds[i])) return fe__fail(FE_E_ARG, "unknown kind %d", (int)o->kinds[i]);
    for (size_t i = 0; i < o->n_grids; i++)
        if (o->grids[i] != 4 && o->grids[i] != 8) return fe__fail(FE_E_ARG, "grid must be 4 or 8 (got %u)", (unsigned)o->grids[i]);
    for (size_t i = 0; i < o->n_weightings; i++)
        if ((unsigned)o->weightings[i] > FE_EMD_APC) return fe__fail(FE_E_ARG, "unknown weighting %d", (int)o->weightings[i]);
    for (size_t i = 0; i < o->n_solvers; i++)
        if ((unsigned)o->solvers[i] > FE_EMD_EXACT) return fe__fail(FE_E_ARG, "unknown solver %d", (int)o->solvers[i]);
    for (size_t i = 0; i < o->n_alphas; i++)
        if (!isfinite(o->alphas[i]) || o->alphas[i] > 1)
            return fe__fail(FE_E_ARG, "alpha must be in [0, 1], or negative for the plain sum (got %g)", o->alphas[i]);
    for (size_t i = 0; i < o->n_ks; i++)
        if (o->ks[i] < 1 || o->ks[i] > 100000) return fe__fail(FE_E_ARG, "K must be 1..100000 (got %zu)", o->ks[i]);
    for (size_t i = 0; i < o->n_epsilons; i++) {
        fe_emd_options e = o->emd;
        e.epsilon = o->epsilons[i];
        fe_status st = fe__emd_check_options(&e);
        if (st != FE_OK) return st;
    }
    if ((unsigned)o->setting > FE_EVAL_MULTI) return fe__fail(FE_E_ARG, "unknown setting %d", (int)o->setting);
    if (o->n_boot < 10) return fe__fail(FE_E_ARG, "n_boot must be >= 10 (got %d)", o->n_boot);
    if (o->n_threads < 1 || o->n_threads > MAX_THREADS)
        return fe__fail(FE_E_ARG, "n_threads must be 1..%d (got %d)", MAX_THREADS, o->n_threads);
    if (o->n_examples > 1000) return fe__fail(FE_E_ARG, "n_examples must be <= 1000");
    return FE_OK;
}

/* ---- run state ------------------------------------------------------------------------ */

typedef struct worker {
    fe_session          *session;
    fe_features         *feat;       /* CHUNK                                               */
    fe_search_workspace *ws;
    fe_emd_stats        *stats;      /* n_cfg x kmax                                        */
    fe_hit              *act;        /* n1: this query's active stage-1 hits                */
    uint32_t            *ranked;     /* n1 identity ids                                     */
    fe__rank_key        *keys, *tmp; /* kmax                                                */
    double              *cfg_s;      /* n_cfg thread-seconds, current kind                  */
    fe_status            fatal;      /* first failure that stops the run                    */
    char                 fatal_msg[512];
    size_t               first_failed;   /* lowest failed query position (SIZE_MAX: none)   */
    char                 failed_msg[512];
} worker;

typedef struct run {
    const fe_model         *model;
    const fe_gallery       *g;
    const fe_eval_options  *o;
    int                     nt;
    fe__eval_variant       *var;
    size_t                  n_var, n_cfg, kmax, n1;
    const uint32_t         *id;        /* identity per face                                  */
    const uint32_t         *rel;       /* R per face (other active faces of its identity)    */
    const uint8_t          *active;    /* NULL: all                                          */
    const uint32_t         *qface;     /* n_q query faces                                    */
    size_t                  n_q;
    worker                 *w;
    /* block state */
    size_t                  base, nb;  /* queries [base, base + nb)                          */
    fe_image               *chip[BLOCK];
    fe_landmarks            lm[BLOCK];
    uint8_t                 have_lm[BLOCK], chip_ok[BLOCK], fallback[BLOCK];
    fe__prepared           *prep;      /* BLOCK, aligned                                     */
    uint8_t                 qok[BLOCK];
    float                  *qemb;      /* BLOCK x FE_DESC_DIM                                */
    uint32_t                qexcl[BLOCK];
    fe_hit                 *hits;      /* BLOCK x n1                                         */
    size_t                  kind;      /* current kind                                       */
    fe__eval_scores        *sc;        /* current kind's scores                              */
} run;

static void note_fail(worker *w, size_t pos, const char *what, fe_status st) {
    if (pos >= w->first_failed) return;
    w->first_failed = pos;
    snprintf(w->failed_msg, sizeof w->failed_msg, "%.300s: %s: %.150s", what, fe_status_str(st), fe_last_error());
}

static void note_fatal(worker *w, fe_status st) {
    if (w->fatal != FE_OK) return;
    w->fatal = st;
    snprintf(w->fatal_msg, sizeof w->fatal_msg, "%s", fe_last_error());
}

static void par(run *r, size_t n, fe_task_fn fn) {
    if (r->o->parallel_for && r->nt > 1 && n > 1) {
        r->o->parallel_for(r->nt, n, fn, r);
    } else {
        for (size_t i = 0; i < n; i++) fn(r, 0, i);
    }
}

/* phase load: image -> aligned chip + landmarks in the chip */
static void load_task(void *ctx, int tid, size_t i) {
    run *r = ctx;
    uint32_t face = r->qface[r->base + i];
    const char *rel = fe_gallery_path(r->g, face);
    const char *root = r->o->image_root;
    char path[FE_MAX_PATH_BYTES + 4096 + 2];
    if (root && *root) snprintf(path, sizeof path, "%s/%s", root, rel);
    else snprintf(path, sizeof path, "%s", rel);
    fe_landmarks img_lm;
    const fe_landmarks *use = NULL;
    fe_status st = FE_OK;
    if (r->o->landmarks) {
        st = fe_landmark_list_find(r->o->landmarks, path, &img_lm, NULL);
        if (st == FE_OK) use = &img_lm;
        else if (st == FE_E_NOT_FOUND) st = FE_OK;
    }
    r->fallback[i] = use == NULL;
    fe_image *img = NULL;
    double m[6];
    if (st == FE_OK) st = fe_image_load(path, &img);
    if (st == FE_OK) st = fe_align_transform(img->width, img->height, use, m, NULL);
    if (st == FE_OK) st = fe_align_chip(img, use, &r->chip[i]);
    fe_image_free(img);
    r->have_lm[i] = use != NULL;
    if (use) fe_landmarks_transform(m, use, &r->lm[i]);
    r->chip_ok[i] = st == FE_OK;
    if (st != FE_OK) note_fail(&r->w[tid], r->base + i, path, st);
}

static uint64_t query_seed(const run *r, size_t pos) { return r->o->seed + r->qface[pos]; }

/* phase embed: CHUNK chips -> perturbed -> features -> prepared */
static void embed_task(void *ctx, int tid, size_t c) {
    run *r = ctx;
    worker *w = &r->w[tid];
    size_t i0 = c * CHUNK, i1 = i0 + CHUNK < r->nb ? i0 + CHUNK : r->nb;
    fe_image *q[CHUNK] = {0};
    const uint8_t *px[CHUNK];
    size_t where[CHUNK], m = 0;
    fe_perturb_kind kind = r->o->kinds[r->kind];
    for (size_t i = i0; i < i1; i++) {
        r->qok[i] = 0;
        if (!r->chip_ok[i]) continue;
        fe_status st = fe_perturb(r->chip[i], r->have_lm[i] ? &r->lm[i] : NULL, kind,
                                  query_seed(r, r->base + i), &q[m]);
        if (st != FE_OK) {
            note_fail(w, r->base + i, fe_gallery_path(r->g, r->qface[r->base + i]), st);
            continue;
        }
        px[m] = q[m]->data;
        where[m++] = i;
    }
    if (m) {
        fe_status st = fe_embed_batch(w->session, px, m, w->feat);
        for (size_t k = 0; k < m; k++) {
            size_t i = where[k];
            if (st == FE_OK) st = fe__features_prepare(&w->feat[k], &r->prep[i]);
            if (st == FE_OK) {
                r->qok[i] = 1;
                memcpy(r->qemb + i * FE_DESC_DIM, r->prep[i].emb, sizeof r->prep[i].emb);
            } else {
                note_fail(w, r->base + i, fe_gallery_path(r->g, r->qface[r->base + i]), st);
            }
            fe_image_free(q[k]);
        }
    }
}

/* phase stage 1: S1_TASK queries per fe__topk call (failed queries are scored too, as zero
 * vectors, and ignored) */
static void stage1_task(void *ctx, int tid, size_t t) {
    run *r = ctx;
    size_t i0 = t * S1_TASK, i1 = i0 + S1_TASK < r->nb ? i0 + S1_TASK : r->nb;
    fe__topk_args a = {fe__gallery_emb_panels(r->g), fe_gallery_size(r->g), FE_DESC_DIM,
                       r->qemb + i0 * FE_DESC_DIM, i1 - i0, r->n1, r->qexcl + i0,
                       FE__KERNEL_AUTO, 1};
    fe_status st = fe__topk(&a, r->hits + i0 * r->n1, NULL);
    if (st != FE_OK) note_fatal(&r->w[tid], st);
}

/* Scores one ranking into column c of query pos. */
static void put(run *r, size_t pos, size_t c, const uint32_t *ranked, size_t n, uint32_t top1,
                double top1_score) {
    fe__eval_scores *s = r->sc;
    uint32_t face = r->qface[pos];
    fe__query_metrics m = fe__metrics_query(ranked, n, r->id[face], r->rel[face]);
    size_t at = pos * s->n_cols + c;
    s->p1[at] = m.p1;
    s->rp[at] = m.rp;
    s->map_r[at] = m.map_r;
    s->top1[at] = top1;
    s->top1_score[at] = top1_score;
}

/* phase stage 2: one query, every configuration and variant */
static void stage2_task(void *ctx, int tid, size_t i) {
    run *r = ctx;
    worker *w = &r->w[tid];
    if (!r->qok[i] || w->fatal != FE_OK) return;
    size_t pos = r->base + i;
    uint32_t face = r->qface[pos];
    /* the active hits, best first */
    const fe_hit *h = r->hits + i * r->n1;
    size_t na = 0;
    for (size_t k = 0; k < r->n1; k++) {
        if (h[k].index == FE_NO_EXCLUDE) break;
        if (!r->active || r->active[h[k].index]) w->act[na++] = h[k];
    }
    size_t L = r->rel[face] > 0 ? r->rel[face] : 1;   /* ranks the metrics look at */
    if (L > na) L = na;
    for (size_t k = 0; k < L; k++) w->ranked[k] = r->id[w->act[k].index];
    put(r, pos, 0, w->ranked, L, na ? w->act[0].index : FE_NO_EXCLUDE, na ? (double)w->act[0].score : NAN);
    size_t kmax = r->kmax < na ? r->kmax : na;
    for (size_t c = 0; c < r->n_cfg; c++) {
        const fe__eval_variant *v0 = NULL;
        for (size_t v = 0; v < r->n_var && !v0; v++)
            if (r->var[v].cfg == c) v0 = &r->var[v];
        fe_emd_options eo = r->o->emd;
        eo.weighting = v0->weighting;
        eo.solver = v0->solver;
        eo.epsilon = v0->epsilon;
        fe_emd_stats *st = w->stats + c * r->kmax;
        double t0 = now_s();
        fe_status s = fe__stage2_scores(w->ws, r->g, &r->prep[i], w->act, kmax, (int)v0->grid, &eo, st);
        if (s != FE_OK) {
            note_fatal(w, s);
            return;
        }
        for (size_t v = 0; v < r->n_var; v++) {
            const fe__eval_variant *vv = &r->var[v];
            if (vv->cfg != c) continue;
            size_t K = vv->k < kmax ? vv->k : kmax;
            for (size_t k = 0; k < K; k++)
                w->keys[k] = (fe__rank_key){fe__final_score(vv->alpha, st[k].similarity, (double)w->act[k].score),
                                            (uint32_t)k};
            fe__rank_sort(w->keys, w->tmp, K);
            for (size_t k = 0; k < L; k++)
                w->ranked[k] = r->id[w->act[k < K ? w->keys[k].s1 : k].index];
            uint32_t top = na ? w->act[K ? w->keys[0].s1 : 0].index : FE_NO_EXCLUDE;
            double top_score = K ? w->keys[0].score : na ? (double)w->act[0].score : NAN;
            put(r, pos, 1 + v, w->ranked, L, top, top_score);
        }
        w->cfg_s[c] += now_s() - t0;
    }
}

/* ---- setup ---------------------------------------------------------------------------- */

static fe_status workers_create(run *r) {
    r->w = fe__calloc((size_t)r->nt, sizeof *r->w);
    if (!r->w) return fe__fail(FE_E_NOMEM, "workers");
    for (int t = 0; t < r->nt; t++) {
        worker *w = &r->w[t];
        w->first_failed = SIZE_MAX;
        fe_status st = fe_session_create(r->model, &w->session);
        if (st != FE_OK) return st;
        fe__session_set_threads(w->session, 1);   /* parallel over queries instead */
        if ((st = fe_search_workspace_create(&w->ws)) != FE_OK) return st;
        w->feat = fe__malloc(CHUNK * sizeof *w->feat);
        w->stats = fe__calloc(r->n_cfg * r->kmax, sizeof *w->stats);
        w->act = fe__malloc(r->n1 * sizeof *w->act);
        w->ranked = fe__malloc(r->n1 * sizeof *w->ranked);
        w->keys = fe__malloc(r->kmax * sizeof *w->keys);
        w->tmp = fe__malloc(r->kmax * sizeof *w->tmp);
        w->cfg_s = fe__calloc(r->n_cfg, sizeof *w->cfg_s);
        if (!w->feat || !w->stats || !w->act || !w->ranked || !w->keys || !w->tmp || !w->cfg_s)
            return fe__fail(FE_E_NOMEM, "worker scratch");
    }
    return FE_OK;
}

static void workers_destroy(run *r) {
    for (int t = 0; r->w && t < r->nt; t++) {
        worker *w = &r->w[t];
        fe_session_destroy(w->session);
        fe_search_workspace_destroy(w->ws);
        fe__free(w->feat);
        fe__free(w->stats);
        fe__free(w->act);
        fe__free(w->ranked);
        fe__free(w->keys);
        fe__free(w->tmp);
        fe__free(w->cfg_s);
    }
    fe__free(r->w);
}

static fe_status scores_alloc(fe__eval_scores *s, size_t n_q, size_t n_cols) {
    s->n_q = n_q;
    s->n_cols = n_cols;
    size_t n = n_q > 0 && n_cols > 0 ? n_q * n_cols : 1;
    s->ok = fe__calloc(n_q ? n_q : 1, 1);
    s->p1 = fe__calloc(n, sizeof *s->p1);
    s->rp = fe__calloc(n, sizeof *s->rp);
    s->map_r = fe__calloc(n, sizeof *s->map_r);
    s->top1 = fe__calloc(n, sizeof *s->top1);
    s->top1_score = fe__calloc(n, sizeof *s->top1_score);
    if (!s->ok || !s->p1 || !s->rp || !s->map_r || !s->top1 || !s->top1_score)
        return fe__fail(FE_E_NOMEM, "scores of %zu queries x %zu columns", n_q, n_cols);
    return FE_OK;
}

static void scores_free(fe__eval_scores *s) {
    fe__free(s->ok);
    fe__free(s->p1);
    fe__free(s->rp);
    fe__free(s->map_r);
    fe__free(s->top1);
    fe__free(s->top1_score);
}

/* Faces per identity among the active faces; R of each face; the query list (R >= 1), a
 * seeded subset of opt->limit of them, in face order. */
static fe_status plan_queries(run *r, uint32_t *id, uint32_t *rel, uint8_t *active, uint32_t *qface,
                              size_t *n_excluded, size_t *n_active, size_t *rmax) {
    const fe_gallery *g = r->g;
    size_t n = fe_gallery_size(g), ni = fe_gallery_identity_count(g);
    uint32_t *cnt = fe__calloc(ni ? ni : 1, sizeof *cnt);
    if (!cnt) return fe__fail(FE_E_NOMEM, "identity counts");
    for (size_t i = 0; i < n; i++) {
        id[i] = fe_gallery_identity(g, i);
        cnt[id[i]]++;
    }
    *n_active = 0;
    *rmax = 0;
    size_t nq = 0, excl = 0;
    for (size_t i = 0; i < n; i++) {
        active[i] = r->o->setting == FE_EVAL_ALL || cnt[id[i]] >= 2;
        rel[i] = active[i] ? cnt[id[i]] - 1 : 0;
        *n_active += active[i];
        if (rel[i] > *rmax) *rmax = rel[i];
        if (rel[i] >= 1) qface[nq++] = (uint32_t)i;
        else excl++;
    }
    fe__free(cnt);
    if (r->o->limit && r->o->limit < nq) {
        /* seeded partial Fisher-Yates, then back to face order */
        uint64_t s = r->o->seed ^ UINT64_C(0x5EEDF00D);
        for (size_t i = 0; i < r->o->limit; i++) {
            size_t j = i + (size_t)(fe__splitmix64(&s) % (uint64_t)(nq - i));
            uint32_t t = qface[i];
            qface[i] = qface[j];
            qface[j] = t;
        }
        nq = r->o->limit;
        for (size_t i = 1; i < nq; i++)   /* insertion sort is plenty for a limit */
            for (size_t j = i; j > 0 && qface[j - 1] > qface[j]; j--) {
                uint32_t t = qface[j];
                qface[j] = qface[j - 1];
                qface[j - 1] = t;
            }
    }
    r->n_q = nq;
    *n_excluded = excl;
    return FE_OK;
}

static fe_status first_fatal(const run *r) {
    for (int t = 0; t < r->nt; t++)
        if (r->w[t].fatal != FE_OK) return fe__fail(r->w[t].fatal, "%s", r->w[t].fatal_msg);
    return FE_OK;
}

fe_status fe_eval_run(const fe_model *model, const fe_gallery *g, const fe_eval_options *opt,
                      fe_eval_result **out_result) {
    if (out_result) *out_result = NULL;
    if (!model || !g || !opt || !out_result) return fe__fail(FE_E_ARG, "model, gallery, options and out are required");
    fe_status st = check_options(opt);
    if (st != FE_OK) return st;
    const size_t n = fe_gallery_size(g);
    if (n < 2) return fe__fail(FE_E_ARG, "the gallery needs at least 2 faces (has %zu)", n);
    double t_start = now_s();
    run *r = fe__aligned_alloc(sizeof *r);
    if (!r) return fe__fail(FE_E_NOMEM, "eval state");
    memset(r, 0, sizeof *r);
    r->model = model;
    r->g = g;
    r->o = opt;
    r->nt = opt->parallel_for ? opt->n_threads : 1;
    uint32_t *id = fe__malloc(n * sizeof *id), *rel = fe__malloc(n * sizeof *rel);
    uint32_t *qface = fe__malloc(n * sizeof *qface);
    uint8_t *active = fe__malloc(n);
    fe__eval_scores *sc = fe__calloc(opt->n_kinds, sizeof *sc);
    double *cfg_seconds = NULL;
    size_t n_excluded = 0, n_active = 0, rmax = 0;
    char first_error[512] = "";
    if (!id || !rel || !qface || !active || !sc) st = fe__fail(FE_E_NOMEM, "per-face arrays");
    if (st == FE_OK) st = make_variants(opt, &r->var, &r->n_var, &r->n_cfg);
    if (st == FE_OK) st = plan_queries(r, id, rel, active, qface, &n_excluded, &n_active, &rmax);
    if (st == FE_OK) {
        r->id = id;
        r->rel = rel;
        r->qface = qface;
        r->active = opt->setting == FE_EVAL_MULTI ? active : NULL;
        for (size_t v = 0; v < r->n_var; v++)
            if (r->var[v].k > r->kmax) r->kmax = r->var[v].k;
        /* stage-1 hits per query: enough for K and R after dropping inactive faces */
        size_t need = (r->kmax > rmax ? r->kmax : rmax) + (n - n_active);
        r->n1 = need < n - 1 ? need : n - 1;
        if (r->kmax > r->n1) r->kmax = r->n1;
        if (r->kmax == 0) r->kmax = 1;
        r->prep = fe__aligned_alloc(BLOCK * sizeof *r->prep);
        r->qemb = fe__aligned_alloc(BLOCK * FE_DESC_DIM * sizeof *r->qemb);
        r->hits = fe__malloc(BLOCK * r->n1 * sizeof *r->hits);
        cfg_seconds = fe__calloc(opt->n_kinds * r->n_cfg, sizeof *cfg_seconds);
        if (!r->prep || !r->qemb || !r->hits || !cfg_seconds) st = fe__fail(FE_E_NOMEM, "block buffers");
    }
    if (st == FE_OK) st = workers_create(r);
    for (size_t k = 0; st == FE_OK && k < opt->n_kinds; k++) st = scores_alloc(&sc[k], r->n_q, 1 + r->n_var);
    double t_load = 0;
    size_t n_blocks = (r->n_q + BLOCK - 1) / BLOCK;
    for (size_t b = 0; st == FE_OK && b < n_blocks; b++) {
        r->base = b * BLOCK;
        r->nb = r->n_q - r->base < BLOCK ? r->n_q - r->base : BLOCK;
        double t0 = now_s();
        memset(r->chip, 0, sizeof r->chip);
        par(r, r->nb, load_task);
        t_load += now_s() - t0;
        for (size_t i = 0; i < r->nb; i++) r->qexcl[i] = r->qface[r->base + i];
        for (size_t k = 0; st == FE_OK && k < opt->n_kinds; k++) {
            r->kind = k;
            r->sc = &sc[k];
            for (int t = 0; t < r->nt; t++) memset(r->w[t].cfg_s, 0, r->n_cfg * sizeof(double));
            t0 = now_s();
            par(r, (r->nb + CHUNK - 1) / CHUNK, embed_task);
            for (size_t i = 0; i < r->nb; i++) {
                if (!r->qok[i]) memset(r->qemb + i * FE_DESC_DIM, 0, FE_DESC_DIM * sizeof(float));
                sc[k].ok[r->base + i] = r->qok[i];
                sc[k].n_failed += !r->qok[i];
                sc[k].n_fallback += r->qok[i] && r->fallback[i];
            }
            double t1 = now_s();
            par(r, (r->nb + S1_TASK - 1) / S1_TASK, stage1_task);
            double t2 = now_s();
            if ((st = first_fatal(r)) == FE_OK) par(r, r->nb, stage2_task);
            double t3 = now_s();
            if (st == FE_OK) st = first_fatal(r);
            sc[k].seconds_embed += t1 - t0;
            sc[k].seconds_stage1 += t2 - t1;
            sc[k].seconds_stage2 += t3 - t2;
            for (int t = 0; t < r->nt; t++)
                for (size_t c = 0; c < r->n_cfg; c++) cfg_seconds[k * r->n_cfg + c] += r->w[t].cfg_s[c];
            if (opt->progress)
                opt->progress(opt->progress_ctx, fe_perturb_kind_name(opt->kinds[k]),
                              r->base * opt->n_kinds + (k + 1) * r->nb, r->n_q * opt->n_kinds);
        }
        for (size_t i = 0; i < r->nb; i++) fe_image_free(r->chip[i]);
    }
    if (st == FE_OK) {
        size_t best = SIZE_MAX;
        for (int t = 0; t < r->nt; t++)
            if (r->w[t].first_failed < best) {
                best = r->w[t].first_failed;
                snprintf(first_error, sizeof first_error, "%s", r->w[t].failed_msg);
            }
        fe__eval_tables tb = {g, opt, r->var, r->n_var, cfg_seconds, r->n_cfg, qface, r->n_q, n_excluded,
                              opt->setting == FE_EVAL_MULTI ? n_active : n, 0, sc};
        size_t ni = fe_gallery_identity_count(g), na_id = 0;
        if (opt->setting == FE_EVAL_MULTI) {
            for (size_t i = 0; i < ni; i++) na_id += fe_gallery_identity_faces(g, i) >= 2;
        } else {
            na_id = ni;
        }
        tb.gallery_identities = na_id;
        st = fe__eval_report(&tb, out_result);
        if (st == FE_OK) {
            fe_eval_result *res = *out_result;
            res->seconds_load = t_load;
            res->threads = r->nt;
            snprintf(res->first_error, sizeof res->first_error, "%s", first_error);
            res->seconds_total = now_s() - t_start;
        }
    }
    if (r->w) workers_destroy(r);
    for (size_t k = 0; sc && k < opt->n_kinds; k++) scores_free(&sc[k]);
    fe__free(sc);
    fe__free(cfg_seconds);
    fe__free(r->var);
    fe__aligned_free(r->prep);
    fe__aligned_free(r->qemb);
    fe__free(r->hits);
    fe__aligned_free(r);
    fe__free(id);
    fe__free(rel);
    fe__free(qface);
    fe__free(active);
    return st;
}
