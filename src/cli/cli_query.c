/*
 * cli_query.c — `faceemd query FILE.fei IMAGE`: who is this face? The image is aligned (with
 * --landmarks, else the centre crop), embedded, and searched with fe_search: stage 1 cosine
 * top-K, stage 2 EMD re-rank. Prints the top results with both stages' ranks and scores, or
 * with --json one object {"results": [{"rank", "identity", "path", "stage1_rank",
 * "stage1_score", "emd_score", "score", ...}, ...], "query": ..., ...}, best first.
 * The search and the printing are separate steps (query_run, print_*); --html FILE also
 * writes the self-contained report of cli_report.h (query chip, stage-1 and stage-2 top 5 side
 * by side, the flow picture of each stage-2 result), with the gallery faces' chips made from
 * their stored paths under --images DIR (default: the index's "source" folder).
 */
#include "cli_image.h"
#include "cli_report.h"
#include "cli_search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct query_out {
    fe_search_result *res;
    size_t            n;
    cli_chip_info     chip;
    fe_features      *f;       /* the query's features (for flows)                         */
    fe_image         *img;     /* the query chip (for the report)                           */
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
    q->img = chip;
    fe_session_destroy(s);
    fe_model_close(model);
    return rc;
}

static void query_out_free(query_out *q) {
    free(q->res);
    free(q->f);
    fe_image_free(q->img);
}

static void print_json(const char *gallery_path, const fe_gallery *g, const char *image,
                       const fe_search_options *o, size_t k, const query_out *q) {
    size_t n = q->n < k ? q->n : k;
    printf("{\"results\": [");
    for (size_t i = 0; i < n; i++) {
        const fe_search_result *r = &q->res[i];
        printf("%s\n  {\"rank\": %u, \"identity\": ", i ? "," : "", r->rank);
        cli_json_string(stdout, fe_gallery_label(g, r->index));
        cli_json_field_string(stdout, "path", fe_gallery_path(g, r->index));
        printf(", \"stage1_rank\": %u", r->stage1_rank);
        cli_json_field(stdout, "stage1_score", r->stage1_score);
        cli_json_field(stdout, "emd_score", r->emd_score);
        cli_json_field(stdout, "score", r->score);
        printf(", \"index\": %u, \"reranked\": %s, \"iterations\": %u", r->index,
               r->reranked ? "true" : "false", r->iterations);
        cli_json_field(stdout, "marginal_error", r->marginal_error);
        printf("}");
    }
    printf("%s],\n \"query\": ", n ? "\n" : "");
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
                       const fe_search_options *o, size_t k, const query_out *q) {
    const size_t n = q->n < k ? q->n : k;
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
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(fe_gallery_label(g, q->res[i].index));
        if (len > w) w = len > 40 ? 40 : len;
    }
    printf("rank  %-*s   score   S_emd   S_cos  stage 1      path\n", w, "identity");
    for (size_t i = 0; i < n; i++) {
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

/* ---- the HTML report -------------------------------------------------------------------- */

typedef struct chip_src {
    const fe_gallery    *g;
    const cli_landmarks *lm;
    const char          *root;   /* gallery paths are relative to it ("" : as stored)        */
} chip_src;

static fe_status gallery_chip(void *user, size_t i, fe_image **out) {
    const chip_src *c = user;
    const char *p = fe_gallery_path(c->g, i);
    if (!p || !*p) return FE_E_NOT_FOUND;
    char path[8300];
    if (p[0] == '/' || !c->root[0]) snprintf(path, sizeof path, "%s", p);
    else snprintf(path, sizeof path, "%s/%s", c->root, p);
    return cli_image_chip(c->lm, path, out, NULL);
}

static int write_html(const char *html_path, const char *gallery_path, const fe_gallery *g, const char *image,
                      const cli_landmarks *lm, const char *images_root, const fe_search_options *o,
                      const query_out *q) {
    char faces[64], method[256], abuf[32];
    snprintf(faces, sizeof faces, "%zu faces, %zu identities", fe_gallery_size(g), fe_gallery_identity_count(g));
    if (o->rerank_k)
        snprintf(method, sizeof method, "cosine top-%zu, re-ranked by EMD on the %ux%u grid (%s weights, %s, %s)",
                 o->rerank_k, o->grid, o->grid, cli_weights_name(o->emd.weighting), cli_solver_name(o->emd.solver),
                 cli_alpha_text(o->alpha, abuf, sizeof abuf));
    else
        snprintf(method, sizeof method, "cosine only (--K 0)");
    const char *root = images_root ? images_root : fe_gallery_meta_find(g, "source");
    const char *settings[] = {"query", image, "alignment", q->chip.fallback ? "centre crop (no landmarks)" : "landmarks",
                              "gallery", gallery_path, "gallery size", faces, "method", method,
                              "gallery images", root ? root : "(paths as stored)"};
    chip_src cs = {g, lm, root ? root : ""};
    cli_report r;
    int rc = cli_report_begin(&r, g, o, "faceemd query", "Who is this face? Stage 1 ranks the gallery by "
                              "cosine similarity; stage 2 re-ranks the top K by the Earth Mover's Distance "
                              "between face patches.", settings, 6);
    r.chip = gallery_chip;
    r.user = &cs;
    const char *b = strrchr(image, '/');
    char title[1100];
    snprintf(title, sizeof title, "query: %.1000s", b ? b + 1 : image);
    cli_report_query rq = {title, b ? b + 1 : image, NULL, q->img, q->f, q->res, q->n, UINT32_MAX};
    if (rc == CLI_OK) rc = cli_report_add(&r, &rq);
    if (rc == CLI_OK) rc = cli_report_save(&r, html_path);
    cli_report_free(&r);
    return rc;
}

static const char *landmarks_arg, *model_arg, *k_arg, *html_arg, *images_arg;
static int json;
static cli_search_args sa;

static const cli_option options[] = {
    {"landmarks", 0, "LM", &landmarks_arg, NULL, "landmark TSV (keys like Name/Name_0001.jpg) or x1,y1,...,x5,y5"},
    {"top", 'k', "N", &k_arg, NULL, "results to print (default 10)"},
    CLI_SEARCH_OPTIONS(sa),
    {"model", 'm', "PATH", &model_arg, NULL, "weight blob (default: weights/faceres.feb)"},
    {"json", 0, NULL, NULL, &json, "print one JSON object (results best first)"},
    {"html", 0, "FILE", &html_arg, NULL, "also write a self-contained HTML report (chips, both stages, flows)"},
    {"images", 0, "DIR", &images_arg, NULL, "where the gallery's image paths start, for --html (default: the index's source)"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "query", "FILE.fei IMAGE [--landmarks LM] [-k N] [--K N] [--grid 4|8] [--weights W] [--alpha A] "
             "[--solver S] [--json] [--html FILE [--images DIR]]",
    "Who is this face? Aligns IMAGE (with its landmarks, else the fixed centre crop), embeds it\n"
    "and searches the index: stage 1 ranks every face by cosine similarity, stage 2 re-ranks\n"
    "the top K by the Earth Mover's Distance between patch embeddings (DeepFace-EMD) and\n"
    "blends the two scores. Faces beyond K keep their stage-1 order. Prints each result's\n"
    "identity, final rank and score, S_emd, S_cos and stage-1 rank ((+n): moved up n places).\n"
    "--html FILE also writes a self-contained page (images inline, no scripts) with the query\n"
    "chip, the top 5 of both stages side by side and the patch flow of each stage-2 result;\n"
    "gallery chips are made from the stored paths under --images DIR (default: the folder the\n"
    "index was built from) with the same --landmarks.",
    options, 2, 2};

FE_VERB(query, "who is this face? search an index: cosine top-K, EMD re-rank") {
    landmarks_arg = model_arg = k_arg = html_arg = images_arg = NULL;
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
    /* the report needs every stage-1 top-5 face, wherever stage 2 put it */
    size_t want = (size_t)k;
    if (html_arg && fe_gallery_size(g) > want) want = fe_gallery_size(g);
    rc = query_run(model_arg ? model_arg : cli_default_model_path(), &lm, image, g, &o, want ? want : 1, &q);
    if (rc == CLI_OK) {
        if (json) print_json(gallery_path, g, image, &o, (size_t)k, &q);
        else print_text(gallery_path, g, image, &o, (size_t)k, &q);
    }
    if (rc == CLI_OK && html_arg) {
        rc = write_html(html_arg, gallery_path, g, image, &lm, images_arg, &o, &q);
        if (rc == CLI_OK && !json) printf("\nwrote %s\n", html_arg);
    }
    query_out_free(&q);
    fe_gallery_free(g);
    cli_landmarks_close(&lm);
    return rc;
}
