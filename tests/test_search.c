/*
 * test_search.c — fe_search (stage 1 + stage 2) on synthetic galleries whose answers are known
 * by construction: a query whose embedding is a copy of face A (identity X) but whose patch
 * maps are those of face B (identity Y). Stage 1 must rank X first, stage 2 with alpha = 1 must
 * rank Y's faces first; alpha = 0 reproduces stage 1 exactly; alpha < 0 is the sum; ranks
 * beyond K keep stage 1's order; exclusion; both solvers; fp16; the flow of one pair; 8 threads
 * on one gallery equal one thread; no allocation per query once warm; every failing allocation
 * gives FE_E_NOMEM. No network and no ../shared needed.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "internal.h"
#include "emd_synth.h"

#include <string.h>
#if !defined(__STDC_NO_THREADS__)
#include <threads.h>
#endif

/* ---- the synthetic gallery -------------------------------------------------------------
 * N_ID identities with FACES faces each, then N_DISTRACT single-face identities. Embeddings:
 * normalise(0.8 * base[identity] + 0.6 * noise), so faces of one identity have cosine ~0.64,
 * others ~0. Patch maps (4x4x256 and 8x8x128 alike): cell p of a face is
 * normalise(sqrt(0.75) z[identity][p] + 0.5 noise), so the same cell of two faces of one
 * identity has cosine ~0.75 and anything else ~0 (+- 1/sqrt(d)): a clear identity signal. */

#define N_ID       6
#define FACES      5
#define N_DISTRACT 34
#define N_FACES    (N_ID * FACES + N_DISTRACT)
#define FACE_A     0          /* identity 0, face 0: the query's embedding  */
#define FACE_B     (1 * FACES + 2)   /* identity 1, face 2: the query's patches */

typedef struct synth {
    fe_features *faces;   /* N_FACES */
    char         label[N_FACES][32];
    fe_features *query;
} synth;

static void unit_noise(synth_rng *r, float *v, size_t d) { synth_units(r, v, 1, d); }

static void synth_face_map(synth_rng *r, const float *z, size_t cells, size_t d, float *out) {
    float e[FE_MAP4_DIM];
    for (size_t p = 0; p < cells; p++) {
        unit_noise(r, e, d);
        for (size_t k = 0; k < d; k++) out[p * d + k] = (float)(sqrt(0.75) * z[p * d + k]) + 0.5f * e[k];
        synth_normalise(out + p * d, d);
    }
}

static void make_synth(synth *s, uint64_t seed) {
    synth_rng r = {seed};
    s->faces = calloc(N_FACES, sizeof *s->faces);
    s->query = calloc(1, sizeof *s->query);
    size_t n_ids = N_ID + N_DISTRACT;
    float *base = malloc(n_ids * FE_DESC_DIM * sizeof *base);
    float *z4 = malloc(n_ids * FE_MAP4_CELLS * FE_MAP4_DIM * sizeof *z4);
    float *z8 = malloc(n_ids * FE_MAP8_CELLS * FE_MAP8_DIM * sizeof *z8);
    float noise[FE_DESC_DIM];
    synth_units(&r, base, n_ids, FE_DESC_DIM);
    synth_units(&r, z4, n_ids * FE_MAP4_CELLS, FE_MAP4_DIM);
    synth_units(&r, z8, n_ids * FE_MAP8_CELLS, FE_MAP8_DIM);
    for (size_t i = 0; i < N_FACES; i++) {
        size_t id = i < N_ID * FACES ? i / FACES : N_ID + (i - N_ID * FACES);
        fe_features *f = &s->faces[i];
        snprintf(s->label[i], sizeof s->label[i], "id%02zu", id);
        unit_noise(&r, noise, FE_DESC_DIM);
        for (size_t k = 0; k < FE_DESC_DIM; k++)
            f->embedding[k] = f->descriptor[k] = 0.8f * base[id * FE_DESC_DIM + k] + 0.6f * noise[k];
        synth_normalise(f->embedding, FE_DESC_DIM);
        synth_face_map(&r, z4 + id * FE_MAP4_CELLS * FE_MAP4_DIM, FE_MAP4_CELLS, FE_MAP4_DIM, f->map4);
        synth_face_map(&r, z8 + id * FE_MAP8_CELLS * FE_MAP8_DIM, FE_MAP8_CELLS, FE_MAP8_DIM, f->map8);
    }
    /* the query: embedding of A (slightly moved), patches of B */
    *s->query = s->faces[FACE_B];
    unit_noise(&r, noise, FE_DESC_DIM);
    for (size_t k = 0; k < FE_DESC_DIM; k++)
        s->query->embedding[k] = s->faces[FACE_A].embedding[k] + 0.1f * noise[k];
    synth_normalise(s->query->embedding, FE_DESC_DIM);
    free(base);
    free(z4);
    free(z8);
}

static void free_synth(synth *s) {
    free(s->faces);
    free(s->query);
}

static fe_status make_gallery(const synth *s, fe_gallery_dtype dt, fe_gallery **out) {
    fe_gallery_options o;
    fe_gallery_options_default(&o);
    o.patch_dtype = dt;
    fe_status st = fe_gallery_create(&o, out);
    for (size_t i = 0; st == FE_OK && i < N_FACES; i++) {
        char path[64];
        snprintf(path, sizeof path, "%s/%s_%04zu.jpg", s->label[i], s->label[i], i);
        st = fe_gallery_add(*out, s->label[i], path, &s->faces[i]);
    }
    return st;
}

static int same_result(const fe_search_result *a, const fe_search_result *b) {
    return a->index == b->index && a->identity == b->identity && a->rank == b->rank &&
           a->stage1_rank == b->stage1_rank && a->stage1_score == b->stage1_score &&
           a->reranked == b->reranked && a->iterations == b->iterations &&
           a->emd_flags == b->emd_flags &&
           (a->emd_score == b->emd_score || (isnan(a->emd_score) && isnan(b->emd_score))) &&
           (a->score == b->score || (isnan(a->score) && isnan(b->score))) &&
           (a->marginal_error == b->marginal_error);
}

/* Results are a permutation of stage 1's top list with consistent ranks and scores. */
static const char *check_consistent(const fe_search_result *r, size_t n, size_t K, double alpha) {
    for (size_t i = 0; i < n; i++) {
        if (r[i].rank != i + 1) return "rank is not the position";
        if (r[i].reranked != (i < K)) return "reranked flag";
        if (i < K) {
            double want = alpha < 0 ? r[i].emd_score + r[i].stage1_score
                                    : alpha * r[i].emd_score + (1 - alpha) * r[i].stage1_score;
            if (r[i].score != want) return "score is not the stated blend";
            if (i > 0 && (r[i - 1].score < r[i].score ||
                          (r[i - 1].score == r[i].score && r[i - 1].stage1_rank > r[i].stage1_rank)))
                return "re-ranked part not sorted by score, then stage-1 rank";
            if (r[i].stage1_rank > K) return "a face beyond K was re-ranked";
        } else {
            if (!isnan(r[i].score) || !isnan(r[i].emd_score)) return "score beyond K is not NaN";
            if (r[i].stage1_rank != i + 1) return "beyond K the stage-1 order is not kept";
        }
        for (size_t j = 0; j < i; j++)
            if (r[j].index == r[i].index) return "a face appears twice";
    }
    return NULL;
}

/* ---- known answers ----------------------------------------------------------------------- */

FE_TEST(search_known_answers_each_stage) {
    synth s;
    make_synth(&s, 11);
    fe_gallery *g;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &g));
    fe_search_options o;
    fe_search_options_default(&o);
    CHECK(o.rerank_k == 100 && o.grid == 4 && o.alpha == 0.7 && o.emd.weighting == FE_EMD_APC &&
          o.emd.solver == FE_EMD_SINKHORN && o.exclude == FE_NO_EXCLUDE);
    fe_search_result r[N_FACES];
    size_t n;
    const char *why;
    for (int grid = 4; grid <= 8; grid += 4) {
        o.grid = (uint32_t)grid;
        /* stage 1 alone (alpha 0): identity 0 holds ranks 1-5, face A first */
        o.alpha = 0;
        CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
        CHECK(n == N_FACES);
        CHECK_MSG(!(why = check_consistent(r, n, N_FACES, 0)), "%s", why);
        CHECK(r[0].index == FACE_A && r[0].stage1_score > 0.98);
        for (int i = 0; i < FACES; i++) CHECK_MSG(r[i].identity == 0, "grid %d alpha 0 rank %d: identity %u", grid, i + 1, r[i].identity);
        /* stage 2 alone (alpha 1): identity 1 holds ranks 1-5, face B first */
        o.alpha = 1;
        CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
        CHECK_MSG(!(why = check_consistent(r, n, N_FACES, 1)), "%s", why);
        CHECK_MSG(r[0].index == FACE_B, "grid %d: top-1 is face %u", grid, r[0].index);
        for (int i = 0; i < FACES; i++) CHECK_MSG(r[i].identity == 1, "grid %d alpha 1 rank %d: identity %u", grid, i + 1, r[i].identity);
        NOTE("grid %d alpha 1: B first (S_emd %.3f, stage-1 rank %u), identity 1 at ranks 1-5, best other %.3f",
             grid, r[0].emd_score, r[0].stage1_rank, r[FACES].emd_score);
        /* the default blend moves B to the top: its S_emd outweighs A's cosine */
        o.alpha = 0.7;
        CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
        CHECK_MSG(!(why = check_consistent(r, n, N_FACES, 0.7)), "%s", why);
        CHECK(r[0].index == FACE_B);
    }
    fe_gallery_free(g);
    free_synth(&s);
}

FE_TEST(search_alpha_zero_is_stage1_exactly) {
    synth s;
    make_synth(&s, 12);
    fe_gallery *g;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &g));
    fe_hit hits[N_FACES];
    size_t nh;
    CHECK_OK(fe_cosine_topk(g, s.query->embedding, 1, N_FACES, NULL, hits, &nh));
    fe_search_options o;
    fe_search_options_default(&o);
    o.alpha = 0;
    fe_search_result r[N_FACES];
    size_t n;
    int checked = 0;
    for (int q = 0; q < 4; q++) {
        fe_features *qf = q == 0 ? s.query : &s.faces[q * 9];   /* also gallery faces themselves */
        CHECK_OK(fe_cosine_topk(g, qf->embedding, 1, N_FACES, NULL, hits, &nh));
        for (size_t K = 1; K <= N_FACES; K += 21) {
            o.rerank_k = K;
            CHECK_OK(fe_search(NULL, g, qf, &o, r, N_FACES, &n));
            CHECK(n == nh);
            for (size_t i = 0; i < n; i++) {
                CHECK_MSG(r[i].index == hits[i].index && r[i].stage1_rank == i + 1 &&
                          r[i].stage1_score == (double)hits[i].score,
                          "query %d K %zu rank %zu: face %u, stage 1 says %u", q, K, i + 1, r[i].index, hits[i].index);
                checked++;
            }
        }
    }
    NOTE("%d ranks: alpha = 0 equals fe_cosine_topk's order and scores, for K = 1..%d", checked, N_FACES);
    fe_gallery_free(g);
    free_synth(&s);
}

FE_TEST(search_alpha_negative_is_sum) {
    synth s;
    make_synth(&s, 13);
    fe_gallery *g;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &g));
    fe_search_options o;
    fe_search_options_default(&o);
    fe_search_result r[N_FACES], r1[N_FACES];
    size_t n, n1;
    o.alpha = -1;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
    const char *why = check_consistent(r, n, N_FACES, -1);
    CHECK_MSG(!why, "%s", why);
    /* the sum ranks as alpha = 0.5 does (same order, scores doubled) */
    o.alpha = 0.5;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r1, N_FACES, &n1));
    CHECK(n1 == n);
    for (size_t i = 0; i < n; i++) {
        CHECK(r[i].index == r1[i].index);
        CHECK_NEAR(r[i].score, 2 * r1[i].score, 1e-12);
    }
    NOTE("sum: top %s score %.4f = S_emd %.4f + S_cos %.4f", fe_gallery_label(g, r[0].index), r[0].score,
         r[0].emd_score, r[0].stage1_score);
    fe_gallery_free(g);
    free_synth(&s);
}

FE_TEST(search_k_limits_rerank) {
    synth s;
    make_synth(&s, 14);
    fe_gallery *g;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &g));
    fe_search_options o;
    fe_search_options_default(&o);
    o.alpha = 1;
    fe_search_result r[N_FACES], full[N_FACES];
    size_t n;
    CHECK_OK(fe_search(NULL, g, s.query, &o, full, N_FACES, &n));
    uint32_t b_rank1 = full[0].stage1_rank;   /* B's stage-1 rank */
    CHECK_MSG(b_rank1 > 2 && b_rank1 < N_FACES, "B's stage-1 rank %u: pick another seed", b_rank1);
    /* K reaching B: stage 2 finds it */
    o.rerank_k = b_rank1;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
    CHECK(n == N_FACES && r[0].index == FACE_B);
    const char *why = check_consistent(r, n, b_rank1, 1);
    CHECK_MSG(!why, "%s", why);
    /* K one short: B is beyond K, so it keeps its stage-1 rank, and so does everything after */
    o.rerank_k = b_rank1 - 1;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
    why = check_consistent(r, n, b_rank1 - 1, 1);
    CHECK_MSG(!why, "%s", why);
    CHECK(r[0].index != FACE_B && r[b_rank1 - 1].index == FACE_B && r[b_rank1 - 1].rank == b_rank1);
    /* n_out smaller than K: the first n_out of the full re-ranked list */
    o.rerank_k = N_FACES;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r, 3, &n));
    CHECK(n == 3);
    for (int i = 0; i < 3; i++) CHECK(same_result(&r[i], &full[i]));
    /* K = 0: stage 1 only */
    o.rerank_k = 0;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r, 10, &n));
    CHECK(n == 10 && r[0].index == FACE_A && !r[0].reranked && isnan(r[0].score));
    NOTE("B at stage-1 rank %u: K = %u re-ranks it to 1, K = %u leaves it at %u", b_rank1, b_rank1,
         b_rank1 - 1, b_rank1);
    fe_gallery_free(g);
    free_synth(&s);
}

FE_TEST(search_exclusion) {
    synth s;
    make_synth(&s, 15);
    fe_gallery *g;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &g));
    fe_search_options o;
    fe_search_options_default(&o);
    fe_search_result r[N_FACES];
    size_t n;
    o.exclude = FACE_B;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
    CHECK(n == N_FACES - 1);
    for (size_t i = 0; i < n; i++) CHECK(r[i].index != FACE_B);
    /* without B, another face of identity 1 leads stage 2 at alpha 1 */
    o.alpha = 1;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
    CHECK(r[0].identity == 1 && r[0].index != FACE_B);
    /* excluding stage 1's top face */
    o.exclude = FACE_A;
    o.alpha = 0;
    CHECK_OK(fe_search(NULL, g, s.query, &o, r, 4, &n));
    CHECK(n == 4 && r[0].index != FACE_A && r[0].identity == 0);
    o.exclude = N_FACES;
    CHECK_STATUS(fe_search(NULL, g, s.query, &o, r, 4, &n), FE_E_ARG);
    CHECK(n == 0);
    fe_gallery_free(g);
    free_synth(&s);
}

FE_TEST(search_solvers_weights_fp16_and_flow) {
    synth s;
    make_synth(&s, 16);
    fe_gallery *g, *h;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &g));
    CHECK_OK(make_gallery(&s, FE_GALLERY_F16, &h));
    fe_search_options o;
    fe_search_options_default(&o);
    o.alpha = 1;
    fe_search_result r[N_FACES], r16[N_FACES];
    fe_flow *fl = malloc(sizeof *fl);
    CHECK(fl);
    size_t n;
    double worst_flow = 0, worst_f16 = 0, worst_marg = 0;
    uint32_t max_it = 0;
    for (int grid = 4; grid <= 8; grid += 4)
        for (int w = FE_EMD_UNIFORM; w <= FE_EMD_APC; w++)
            for (int sol = FE_EMD_SINKHORN; sol <= FE_EMD_EXACT; sol++) {
                o.grid = (uint32_t)grid;
                o.emd.weighting = (fe_emd_weighting)w;
                o.emd.solver = (fe_emd_solver)sol;
                CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
                const char *why = check_consistent(r, n, N_FACES, 1);
                CHECK_MSG(!why, "%s", why);
                CHECK_MSG(r[0].index == FACE_B, "grid %d weights %d solver %d: top %u", grid, w, sol, r[0].index);
                for (size_t i = 0; i < n; i++) {
                    CHECK(sol == FE_EMD_EXACT || r[i].iterations >= 1);
                    if (r[i].marginal_error > worst_marg) worst_marg = r[i].marginal_error;
                    if (r[i].iterations > max_it) max_it = r[i].iterations;
                }
                /* fp16 patch maps: the same order at the top, scores within 1e-3 */
                CHECK_OK(fe_search(NULL, h, s.query, &o, r16, N_FACES, &n));
                CHECK(r16[0].index == FACE_B);
                for (size_t i = 0; i < n; i++) {
                    size_t j = 0;
                    while (j < n && r[j].index != r16[i].index) j++;
                    CHECK(j < n);
                    double d = fabs(r16[i].emd_score - r[j].emd_score);
                    if (d > worst_f16) worst_f16 = d;
                }
                /* the flow of the top pair agrees with the search, from the gallery and from
                 * the two faces directly; the plan's marginals are its weights */
                for (int src = 0; src < 2; src++) {
                    if (src == 0) CHECK_OK(fe_flow_gallery(g, r[0].index, s.query, &o, fl));
                    else CHECK_OK(fe_flow_faces(s.query, &s.faces[r[0].index], &o, fl));
                    CHECK(fl->grid == (uint32_t)grid && fl->cells == (uint32_t)(grid * grid));
                    double d = fabs(fl->emd_score - r[0].emd_score);
                    if (d > worst_flow) worst_flow = d;
                    CHECK_NEAR(fl->stage1_score, r[0].stage1_score, 1e-6);
                    CHECK_NEAR(fl->score, fl->emd_score, 1e-15);
                    double tot = 0, err = 0;
                    for (uint32_t i = 0; i < fl->cells; i++) {
                        double row = 0;
                        for (uint32_t j = 0; j < fl->cells; j++) row += fl->plan[i * fl->cells + j];
                        err = fmax(err, fabs(row - fl->query_weight[i]));
                        tot += fl->query_weight[i];
                    }
                    CHECK_NEAR(tot, 1, 1e-6);
                    CHECK_MSG(err <= 1e-3, "row marginal error %g", err);
                }
            }
    CHECK_MSG(worst_flow <= 1e-5, "flow vs search S_emd differ by %g", worst_flow);
    CHECK_MSG(worst_f16 <= 2e-3, "fp16 changes S_emd by %g", worst_f16);
    NOTE("2 grids x 3 weights x 2 solvers: top-1 known; flow vs search S_emd <= %.1e; fp16 vs fp32 <= %.1e; "
         "marginal error <= %.1e; iterations <= %u", worst_flow, worst_f16, worst_marg, max_it);
    /* flow errors */
    CHECK_STATUS(fe_flow_gallery(g, N_FACES, s.query, &o, fl), FE_E_ARG);
    CHECK_STATUS(fe_flow_faces(s.query, NULL, &o, fl), FE_E_ARG);
    free(fl);
    fe_gallery_free(g);
    fe_gallery_free(h);
    free_synth(&s);
}

FE_TEST(search_errors) {
    synth s;
    make_synth(&s, 17);
    fe_gallery *g, *empty;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &g));
    CHECK_OK(fe_gallery_create(NULL, &empty));
    fe_search_options o;
    fe_search_result r[4];
    size_t n = 99;
    CHECK_STATUS(fe_search(NULL, NULL, s.query, NULL, r, 4, &n), FE_E_ARG);
    CHECK(n == 0);
    CHECK_STATUS(fe_search(NULL, g, NULL, NULL, r, 4, &n), FE_E_ARG);
    CHECK_STATUS(fe_search(NULL, g, s.query, NULL, NULL, 4, &n), FE_E_ARG);
    fe_search_options_default(&o); o.grid = 5;
    CHECK_STATUS(fe_search(NULL, g, s.query, &o, r, 4, &n), FE_E_ARG);
    fe_search_options_default(&o); o.alpha = 1.5;
    CHECK_STATUS(fe_search(NULL, g, s.query, &o, r, 4, &n), FE_E_ARG);
    fe_search_options_default(&o); o.alpha = NAN;
    CHECK_STATUS(fe_search(NULL, g, s.query, &o, r, 4, &n), FE_E_ARG);
    fe_search_options_default(&o); o.size = 8;
    CHECK_STATUS(fe_search(NULL, g, s.query, &o, r, 4, &n), FE_E_ARG);
    fe_search_options_default(&o); o.emd.epsilon = 0;
    CHECK_STATUS(fe_search(NULL, g, s.query, &o, r, 4, &n), FE_E_ARG);
    fe_search_options_default(&o); o.n_threads = -1;
    CHECK_STATUS(fe_search(NULL, g, s.query, &o, r, 4, &n), FE_E_ARG);
    /* a query with NaN, or a zero embedding */
    fe_features *q = malloc(sizeof *q);
    *q = *s.query;
    q->map4[7] = NAN;
    CHECK_STATUS(fe_search(NULL, g, q, NULL, r, 4, &n), FE_E_NUMERIC);
    *q = *s.query;
    memset(q->embedding, 0, sizeof q->embedding);
    CHECK_STATUS(fe_search(NULL, g, q, NULL, r, 4, &n), FE_E_NUMERIC);
    free(q);
    /* empty gallery and n_out = 0: nothing to return, not an error */
    CHECK_OK(fe_search(NULL, empty, s.query, NULL, r, 4, &n));
    CHECK(n == 0);
    CHECK_OK(fe_search(NULL, g, s.query, NULL, NULL, 0, &n));
    CHECK(n == 0);
    fe_gallery_free(g);
    fe_gallery_free(empty);
    free_synth(&s);
}

/* ---- memory: steady state and failures -------------------------------------------------- */

FE_TEST(search_workspace_allocates_nothing_when_warm) {
    synth s;
    make_synth(&s, 18);
    fe_gallery *g, *h;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &g));
    CHECK_OK(make_gallery(&s, FE_GALLERY_F16, &h));
    fe_search_workspace *ws;
    CHECK_OK(fe_search_workspace_create(&ws));
    fe_search_options o;
    fe_search_options_default(&o);
    o.n_threads = 1;
    fe_search_result r[N_FACES], want[N_FACES];
    size_t n, nw;
    for (int grid = 4; grid <= 8; grid += 4) {
        o.grid = (uint32_t)grid;
        for (int sol = 0; sol < 2; sol++) {
            o.emd.solver = (fe_emd_solver)sol;
            CHECK_OK(fe_search(ws, h, s.query, &o, want, N_FACES, &nw));   /* warm up (largest) */
            CHECK_OK(fe_search(ws, g, s.query, &o, want, N_FACES, &nw));
            fe__alloc_fail_after(0);   /* from here every library allocation fails */
            for (int q = 0; q < 3; q++) {
                fe_status st = fe_search(ws, q == 2 ? h : g, q ? &s.faces[q] : s.query, &o, r, N_FACES, &n);
                if (st != FE_OK) {
                    fe__alloc_fail_after(-1);
                    FAIL("grid %d solver %d query %d allocated: %s", grid, sol, q, fe_last_error());
                }
            }
            fe__alloc_fail_after(-1);
            CHECK_OK(fe_search(ws, g, s.query, &o, r, N_FACES, &n));
            for (size_t i = 0; i < n; i++) CHECK(same_result(&r[i], &want[i]));
            /* the workspace gives the same answer as a fresh one */
            CHECK_OK(fe_search(NULL, g, s.query, &o, r, N_FACES, &n));
            for (size_t i = 0; i < n; i++) CHECK(same_result(&r[i], &want[i]));
        }
    }
    NOTE("warm workspace: 3 queries per grid x solver with every allocation failing, all FE_OK");
    fe_search_workspace_destroy(ws);
    fe_gallery_free(g);
    fe_gallery_free(h);
    free_synth(&s);
}

FE_TEST(search_alloc_failures) {
    synth s;
    make_synth(&s, 19);
    fe_gallery *h;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F16, &h));
    fe_search_result r[N_FACES];
    fe_flow *fl = malloc(sizeof *fl);
    size_t n;
    long k;
    for (int what = 0; what < 3; what++) {
        for (k = 0;; k++) {
            fe__alloc_fail_after(k);
            fe_status st = what == 0 ? fe_search(NULL, h, s.query, NULL, r, N_FACES, &n)
                         : what == 1 ? fe_flow_gallery(h, 3, s.query, NULL, fl)
                                     : fe_flow_faces(s.query, &s.faces[3], NULL, fl);
            fe__alloc_fail_after(-1);
            if (st == FE_OK) break;
            CHECK_MSG(st == FE_E_NOMEM, "call %d, failing allocation %ld: %s", what, k, fe_status_name(st));
            CHECK(k < 1000);
        }
        NOTE("%s: %ld failing allocations, each FE_E_NOMEM", what == 0 ? "search" : what == 1 ? "flow_gallery" : "flow_faces", k);
    }
    free(fl);
    fe_gallery_free(h);
    free_synth(&s);
}

/* ---- threads ---------------------------------------------------------------------------- */

#if !defined(__STDC_NO_THREADS__)
#define N_THREADS 8
#define N_QUERIES 6

typedef struct job {
    const fe_gallery       *g;
    const synth            *s;
    const fe_search_options *opts;   /* N_QUERIES option sets */
    fe_search_result       *out;     /* N_QUERIES x N_FACES */
    int                     rounds, failed;
} job;

static const fe_features *query_of(const synth *s, int q) { return q == 0 ? s->query : &s->faces[q * 7]; }

static int worker(void *arg) {
    job *j = arg;
    fe_search_workspace *ws;
    if (fe_search_workspace_create(&ws) != FE_OK) { j->failed = 1; return 0; }
    for (int round = 0; round < j->rounds; round++)
        for (int q = 0; q < N_QUERIES; q++) {
            size_t n;
            if (fe_search(ws, j->g, query_of(j->s, q), &j->opts[q], j->out + q * N_FACES, N_FACES, &n) != FE_OK ||
                n != N_FACES - (j->opts[q].exclude != FE_NO_EXCLUDE))
                j->failed = 1;
        }
    fe_search_workspace_destroy(ws);
    return 0;
}
#endif

FE_TEST(search_threads_share_gallery) {
#if defined(__STDC_NO_THREADS__)
    SKIP("this C library has no <threads.h>");
#else
    synth s;
    make_synth(&s, 20);
    fe_gallery *built, *g;
    CHECK_OK(make_gallery(&s, FE_GALLERY_F32, &built));
    char path[600];
    snprintf(path, sizeof path, "%s/shared.fei", fe_t_tmpdir());
    CHECK_OK(fe_gallery_save(built, path));
    fe_gallery_free(built);
    CHECK_OK(fe_gallery_load(path, NULL, &g));   /* mapped, read-only */
    fe_search_options opts[N_QUERIES];
    for (int q = 0; q < N_QUERIES; q++) {
        fe_search_options_default(&opts[q]);
        opts[q].grid = q & 1 ? 8 : 4;
        opts[q].emd.weighting = (fe_emd_weighting)(q % 3);
        opts[q].emd.solver = q == 3 ? FE_EMD_EXACT : FE_EMD_SINKHORN;
        opts[q].rerank_k = q == 4 ? 20 : 100;
        opts[q].exclude = q == 5 ? 3 : FE_NO_EXCLUDE;
    }
    /* one thread first: the reference */
    fe_search_result *ref = malloc(N_QUERIES * N_FACES * sizeof *ref);
    job one = {g, &s, opts, ref, 1, 0};
    worker(&one);
    CHECK(!one.failed);
    int rounds = fe_t_sanitized() ? 1 : 4;
    thrd_t th[N_THREADS];
    job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (job){g, &s, opts, malloc(N_QUERIES * N_FACES * sizeof *ref), rounds, 0};
        CHECK(jobs[i].out);
    }
    for (int i = 0; i < N_THREADS; i++) CHECK(thrd_create(&th[i], worker, &jobs[i]) == thrd_success);
    for (int i = 0; i < N_THREADS; i++) thrd_join(th[i], NULL);
    int bad = 0;
    for (int i = 0; i < N_THREADS; i++) {
        bad |= jobs[i].failed;
        for (int k = 0; k < N_QUERIES * N_FACES; k++)
            if (k % N_FACES < (k / N_FACES == 5 ? N_FACES - 1 : N_FACES) && !same_result(&jobs[i].out[k], &ref[k])) bad = 1;
        free(jobs[i].out);
    }
    free(ref);
    CHECK_MSG(!bad, "a thread's results differ from the single-thread run");
    NOTE("%d threads x %d rounds x %d queries (grids, weights, solvers, K, exclusion) on one mapped gallery: identical to 1 thread",
         N_THREADS, rounds, N_QUERIES);
    fe_gallery_free(g);
    free_synth(&s);
#endif
}
