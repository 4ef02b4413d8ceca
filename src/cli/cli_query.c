/*
 * cli_query.c — `faceemd query FILE.fei IMAGE`: who is this face? The image is aligned (with
 * --landmarks, else the centre crop), embedded, and searched with fe_search: stage 1 cosine
 * top-K, stage 2 EMD re-rank. Prints the top results with both stages' ranks and scores, or
 * with --json one object {"results": [{"rank", "identity", "path", "stage1_rank",
 * "stage1_score", "emd_score", "score", ...}, ...], "query": ..., ...}, best first.
 * The search and the printing are separate steps (query_run, print_*) so other outputs (an
 * HTML report) can reuse the first.
 */
#include "cli_image.h"
#include "cli_search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct query_out {
    fe_search_result *res;
    size_t            n;
    cli_chip_info     chip;
    fe_features      *f;       /* the query's features (for flows)                         */
} query_out;

/* Aligns, embeds and searches. Prints its own errors; returns a CLI status. */
static int query_run(const char *model_path, const cli_landmarks *lm, const char *image,
                     const fe_gallery *g, const fe_search_options *o, size_t k, query_out *q) {
    memset(q, 0, sizeof *q);
    fe_model *model = NULL;
    fe_session *s = NULL;
    fe_image *chip = NULL;
    fe_status st = fe_model_open(model_path, NULL, &model);
    if (st != FE_OK) return cli_fail(model_path, st);
    int rc = CLI_OK;
    q->f = malloc(sizeof *q->f);
    q->res = malloc(k * sizeof *q->res);
    if (!q->f || !q->res) rc = cli_fail("query", FE_E_NOMEM);
    if (rc == CLI_OK && (st = cli_image_chip(lm, image, &chip, &q->chip)) != FE_OK) rc = cli_fail(image, st);
    if (rc == CLI_OK && q->chip.fallback) cli_image_note_fallback(lm, image);
    if (rc == CLI_OK && (st = fe_session_create(model, &s)) != FE_OK) rc = cli_fail("session", st);
    if (rc == CLI_OK && (st = fe_embed(s, chip->data, q->f)) != FE_OK) rc = cli_fail(image, st);
    if (rc == CLI_OK && (st = fe_search(NULL, g, q->f, o, q->res, k, &q->n)) != FE_OK) rc = cli_fail("search", st);
    fe_image_free(chip);
    fe_session_destroy(s);
    fe_model_close(model);
    return rc;
}

static void query_out_free(query_out *q) {
    free(q->res);
    free(q->f);
}

static void print_json(const char *gallery_path, const fe_gallery *g, const char *image,
                       const fe_search_options *o, size_t k, const query_out *q) {
    printf("{\"results\": [");
    for (size_t i = 0; i < q->n; i++) {
        const fe_search_result *r = &q->res[i];
        printf("%s\n  {\"rank\": %u, \"identity\": ", i ? "," : "", r->rank);
        cli_json_string(stdout, fe_gallery_label(g, r->index));
        printf(", \"path\": ");
        cli_json_string(stdout, fe_gallery_path(g, r->index));
        printf(", \"stage1_rank\": %u, \"stage1_score\": ", r->stage1_rank);
        cli_json_float(stdout, r->stage1_score);
        printf(", \"emd_score\": ");
        cli_json_float(stdout, r->emd_score);
        printf(", \"score\": ");
        cli_json_float(stdout, r->score);
        printf(", \"index\": %u, \"reranked\": %s, \"iterations\": %u, \"marginal_error\": ", r->index,
               r->reranked ? "true" : "false", r->iterations);
        cli_json_float(stdout, r->marginal_error);
        printf("}");
    }
    printf("%s],\n \"query\": ", q->n ? "\n" : "");
    cli_json_string(stdout, image);
    printf(", \"alignment\": \"%s\", \"gallery\": ", q->chip.fallback ? "centre-crop" : "landmarks");
    cli_json_string(stdout, gallery_path);
    printf(", \"gallery_faces\": %zu, \"gallery_identities\": %zu,\n \"options\": {\"k\": %zu, \"K\": %zu, "
           "\"grid\": %u, \"weights\": \"%s\", \"solver\": \"%s\", \"alpha\": ",
           fe_gallery_size(g), fe_gallery_identity_count(g), k, o->rerank_k, o->grid,
           cli_weights_name(o->emd.weighting), cli_solver_name(o->emd.solver));
    if (o->alpha < 0) printf("\"sum\"");
    else cli_json_float(stdout, o->alpha);
    printf("}}\n");
}

static void print_text(const char *gallery_path, const fe_gallery *g, const char *image,
                       const fe_search_options *o, const query_out *q) {
    char abuf[32];
    printf("query    %s (%s)\n", image, q->chip.fallback ? "centre crop: no landmarks" : "aligned by its landmarks");
    printf("gallery  %s: %zu faces, %zu identities\n", gallery_path, fe_gallery_size(g), fe_gallery_identity_count(g));
    if (o->rerank_k)
        printf("method   cosine top-%zu, re-ranked by EMD on the %ux%u grid (%s weights, %s, %s)\n\n",
               o->rerank_k, o->grid, o->grid, cli_weights_name(o->emd.weighting), cli_solver_name(o->emd.solver),
               cli_alpha_text(o->alpha, abuf, sizeof abuf));
    else
        printf("method   cosine only (--K 0)\n\n");
    int w = 8;
    for (size_t i = 0; i < q->n; i++) {
        int len = (int)strlen(fe_gallery_label(g, q->res[i].index));
        if (len > w) w = len > 40 ? 40 : len;
    }
    printf("rank  %-*s   score   S_emd   S_cos  stage 1      path\n", w, "identity");
    for (size_t i = 0; i < q->n; i++) {
        const fe_search_result *r = &q->res[i];
        char move[16] = "";
        long d = (long)r->stage1_rank - (long)r->rank;
        if (d) snprintf(move, sizeof move, "(%+ld)", d);
        if (r->reranked)
            printf("%4u  %-*.*s  %6.3f  %6.3f  %6.3f  %5u %-6s %s\n", r->rank, w, w, fe_gallery_label(g, r->index),
                   r->score, r->emd_score, r->stage1_score, r->stage1_rank, move, fe_gallery_path(g, r->index));
        else
            printf("%4u  %-*.*s  %6s  %6s  %6.3f  %5u %-6s %s\n", r->rank, w, w, fe_gallery_label(g, r->index), "-",
                   "-", r->stage1_score, r->stage1_rank, move, fe_gallery_path(g, r->index));
    }
    if (q->n == 0) printf("(the gallery is empty)\n");
}

static const char *landmarks_arg, *model_arg, *k_arg;
static int json;
static cli_search_args sa;

static const cli_option options[] = {
    {"landmarks", 0, "LM", &landmarks_arg, NULL, "landmark TSV (keys like Name/Name_0001.jpg) or x1,y1,...,x5,y5"},
    {"top", 'k', "N", &k_arg, NULL, "results to print (default 10)"},
    CLI_SEARCH_OPTIONS(sa),
    {"model", 'm', "PATH", &model_arg, NULL, "weight blob (default: weights/faceres.feb)"},
    {"json", 0, NULL, NULL, &json, "print one JSON object (results best first)"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "query", "FILE.fei IMAGE [--landmarks LM] [-k N] [--K N] [--grid 4|8] [--weights W] [--alpha A] "
             "[--solver S] [--json]",
    "Who is this face? Aligns IMAGE (with its landmarks, else the fixed centre crop), embeds it\n"
    "and searches the index: stage 1 ranks every face by cosine similarity, stage 2 re-ranks\n"
    "the top K by the Earth Mover's Distance between patch embeddings (DeepFace-EMD) and\n"
    "blends the two scores. Faces beyond K keep their stage-1 order. Prints each result's\n"
    "identity, final rank and score, S_emd, S_cos and stage-1 rank ((+n): moved up n places).",
    options, 2, 2};

FE_VERB(query, "who is this face? search an index: cosine top-K, EMD re-rank") {
    landmarks_arg = model_arg = k_arg = NULL;
    json = 0;
    memset(&sa, 0, sizeof sa);
    int n_pos;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    const char *gallery_path = argv[1], *image = argv[2];
    fe_search_options o;
    if ((rc = cli_search_options("query", &sa, &o)) != CLI_OK) return rc;
    long k = 10;
    if (k_arg && !cli_parse_long(k_arg, 1, 1000000, "query: -k", &k)) return CLI_USAGE;
    cli_landmarks lm;
    if ((rc = cli_landmarks_open(&lm, "query", landmarks_arg)) != CLI_OK) {
        cli_landmarks_close(&lm);
        return rc;
    }
    fe_gallery *g;
    fe_status st = fe_gallery_load(gallery_path, NULL, &g);
    if (st != FE_OK) {
        cli_landmarks_close(&lm);
        return cli_fail(gallery_path, st);
    }
    query_out q;
    rc = query_run(model_arg ? model_arg : cli_default_model_path(), &lm, image, g, &o, (size_t)k, &q);
    if (rc == CLI_OK) {
        if (json) print_json(gallery_path, g, image, &o, (size_t)k, &q);
        else print_text(gallery_path, g, image, &o, &q);
    }
    query_out_free(&q);
    fe_gallery_free(g);
    cli_landmarks_close(&lm);
    return rc;
}
