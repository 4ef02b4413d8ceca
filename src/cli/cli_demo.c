/*
 * cli_demo.c — `faceemd demo`: the main job end to end on the bundled demo data
 * (tests/data/demo: a few LFW identities in gallery/<identity>/, one or more held-back photos
 * in query/<identity>/, their landmarks.tsv). It indexes the gallery in memory, makes a clean,
 * a masked and a sunglasses query from each held-back photo (fe_perturb on its aligned chip
 * with the landmarks moved into chip space, seed 1), and prints stage 1 (cosine) next to
 * stage 2 (EMD re-rank) for each, with rank changes and a one-line verdict.
 * The data and the model are found next to the binary (bin/ or build/<cfg>/ of a checkout),
 * else under the current directory; --data and --model override. --html FILE also writes the
 * self-contained report of cli_report.h with every query (chips, both stages, flows).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_build.h"
#include "cli_report.h"
#include "cli_search.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEMO_TOP  5
#define DEMO_SEED 1

/* rel under the checkout holding this binary (1-3 folders up), else under ".". */
static const char *find_repo_file(const char *rel, char *buf, size_t cap) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        for (int up = 1; up <= 3; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash) break;
            *slash = 0;
            if ((size_t)snprintf(buf, cap, "%s/%s", exe, rel) < cap && access(buf, R_OK) == 0) return buf;
        }
    }
    snprintf(buf, cap, "%s", rel);
    return buf;
}

/* File name without folder and extension: "a/Ann_0003.jpg" -> "Ann_0003". */
static void short_name(const char *path, char *buf, size_t cap) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, cap, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && dot != buf) *dot = 0;
}

static const char *const kind_title[3] = {"clean", "masked", "sunglasses"};

typedef struct demo_query {
    const char       *kind;
    fe_search_result *res;      /* all gallery faces, final order */
    size_t            n;
    size_t            s1[DEMO_TOP];   /* stage-1 order: index into res of stage-1 rank r+1 */
    int               ok1, ok2;       /* top-1 has the query's identity */
    size_t            best1, best2;   /* first rank of the query's identity (0: absent) */
} demo_query;

static void analyse(demo_query *d, const fe_gallery *g, uint32_t want) {
    for (size_t r = 0; r < DEMO_TOP; r++) d->s1[r] = SIZE_MAX;
    d->best1 = d->best2 = 0;
    for (size_t i = 0; i < d->n; i++) {
        const fe_search_result *r = &d->res[i];
        if (r->stage1_rank >= 1 && r->stage1_rank <= DEMO_TOP) d->s1[r->stage1_rank - 1] = i;
        int hit = fe_gallery_identity(g, r->index) == want;
        if (hit && (!d->best2 || r->rank < d->best2)) d->best2 = r->rank;
        if (hit && (!d->best1 || r->stage1_rank < d->best1)) d->best1 = r->stage1_rank;
    }
    d->ok1 = d->best1 == 1;
    d->ok2 = d->best2 == 1;
}

static const char *s1_top_label(const demo_query *d, const fe_gallery *g) {
    return d->s1[0] == SIZE_MAX ? "?" : fe_gallery_label(g, d->res[d->s1[0]].index);
}

static void verdict(const demo_query *d, const fe_gallery *g, const char *who, char *buf, size_t cap) {
    const char *top2 = d->n ? fe_gallery_label(g, d->res[0].index) : "?", *top1 = s1_top_label(d, g);
    if (d->ok1 && d->ok2)
        snprintf(buf, cap, "both stages put %s first", who);
    else if (!d->ok1 && d->ok2)
        snprintf(buf, cap, "re-ranking fixed it: stage 1 put %s first, stage 2 puts %s first", top1, who);
    else if (d->ok1 && !d->ok2)
        snprintf(buf, cap, "re-ranking broke it: stage 1 had %s first, stage 2 puts %s first", who, top2);
    else
        snprintf(buf, cap, "neither stage puts %s first (stage 1: %s, stage 2: %s); its best rank is %zu, then %zu",
                 who, top1, top2, d->best1, d->best2);
}

static void print_side_by_side(const demo_query *d, const fe_gallery *g, uint32_t want, int w) {
    printf("   #  %-*s  %6s    %-*s  %6s\n", w + 2, "stage 1: cosine", "S_cos", w + 2, "stage 2: EMD re-ranked",
           "score");
    size_t rows = d->n < DEMO_TOP ? d->n : DEMO_TOP;
    for (size_t r = 0; r < rows; r++) {
        char a[128] = "", b[128];
        double sa = 0;
        const char *ma = " ";
        if (d->s1[r] != SIZE_MAX) {
            const fe_search_result *x = &d->res[d->s1[r]];
            short_name(fe_gallery_path(g, x->index), a, sizeof a);
            sa = x->stage1_score;
            ma = fe_gallery_identity(g, x->index) == want ? "*" : " ";
        }
        const fe_search_result *y = &d->res[r];
        short_name(fe_gallery_path(g, y->index), b, sizeof b);
        char move[24];
        if (!y->reranked) snprintf(move, sizeof move, "(beyond K)");
        else if (y->stage1_rank == y->rank) snprintf(move, sizeof move, "=");
        else snprintf(move, sizeof move, "%s from %u", y->stage1_rank > y->rank ? "up" : "down", y->stage1_rank);
        printf("  %2zu  %s %-*s  %6.3f    %s %-*s  %6.3f  %s\n", r + 1, ma, w, a, sa,
               fe_gallery_identity(g, y->index) == want ? "*" : " ", w, b, y->score, move);
    }
}

static void json_hit(const fe_gallery *g, const fe_search_result *r, int stage2) {
    printf("{\"rank\": %u, \"identity\": ", stage2 ? r->rank : r->stage1_rank);
    cli_json_string(stdout, fe_gallery_label(g, r->index));
    cli_json_field_string(stdout, "path", fe_gallery_path(g, r->index));
    printf(", \"stage1_rank\": %u", r->stage1_rank);
    cli_json_field(stdout, "stage1_score", r->stage1_score);
    if (stage2) {
        cli_json_field(stdout, "emd_score", r->emd_score);
        cli_json_field(stdout, "score", r->score);
    }
    printf("}");
}

/* Loads the held-back photo's chip and makes the three queries' features; keep (may be NULL)
 * receives the three chips (the caller frees them). */
static int make_queries(const cli_landmarks *lm, fe_session *s, const char *path, fe_features *f3,
                        fe_image **keep) {
    fe_image *chip = NULL, *q[3] = {NULL, NULL, NULL};
    cli_chip_info info;
    fe_status st = cli_image_chip(lm, path, &chip, &info);
    if (st != FE_OK) return cli_fail(path, st);
    fe_landmarks in_img, in_chip;
    st = fe_landmark_list_find(lm->list, path, &in_img, NULL);
    if (st != FE_OK) {
        fe_image_free(chip);
        fprintf(stderr, "faceemd: %s: no row in %s; the demo needs landmarks for the held-back photos\n",
                path, lm->arg);
        return CLI_FAIL;
    }
    fe_landmarks_transform(info.m, &in_img, &in_chip);
    q[0] = chip;
    st = fe_perturb(chip, &in_chip, FE_PERTURB_MASK, DEMO_SEED, &q[1]);
    if (st == FE_OK) st = fe_perturb(chip, &in_chip, FE_PERTURB_SUNGLASSES, DEMO_SEED, &q[2]);
    const uint8_t *px[3] = {chip->data, q[1] ? q[1]->data : NULL, q[2] ? q[2]->data : NULL};
    if (st == FE_OK) st = fe_embed_batch(s, px, 3, f3);
    for (int k = 0; k < 3; k++) {
        if (keep && st == FE_OK) keep[k] = q[k];
        else fe_image_free(q[k]);
    }
    return st == FE_OK ? CLI_OK : cli_fail(path, st);
}

/* Gallery face i's chip for the report: the demo adds every scanned face in order. */
typedef struct demo_chips {
    const cli_faces     *gal;
    const cli_landmarks *lm;
} demo_chips;

static fe_status demo_chip(void *user, size_t i, fe_image **out) {
    const demo_chips *c = user;
    if (i >= c->gal->n) return FE_E_NOT_FOUND;
    return cli_image_chip(c->lm, c->gal->face[i].path, out, NULL);
}

static const char *data_arg, *model_arg, *threads_arg, *html_arg;
static int json;
static cli_search_args sa;

static const cli_option options[] = {
    {"json", 0, NULL, NULL, &json, "print one JSON object instead of the tables"},
    CLI_SEARCH_OPTIONS(sa),
    {"data", 0, "DIR", &data_arg, NULL, "demo data (default: tests/data/demo of this checkout)"},
    {"model", 'm', "PATH", &model_arg, NULL, "weight blob (default: weights/faceres.feb)"},
    {"threads", 0, "N", &threads_arg, NULL, "threads for indexing (default: CPUs online)"},
    {"html", 0, "FILE", &html_arg, NULL, "also write a self-contained HTML report (chips, both stages, flows)"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "demo", "[--json] [--html FILE] [--K N] [--grid 4|8] [--weights W] [--alpha A] [--solver S]",
    "Runs the main job on the bundled demo data (a few LFW identities, see its ATTRIBUTION):\n"
    "indexes the gallery in memory, then searches with a held-back photo as taken, wearing a\n"
    "generated surgical mask, and wearing generated sunglasses. For each query it prints the\n"
    "top 5 of stage 1 (cosine) beside the top 5 of stage 2 (EMD re-ranked), marks the query's\n"
    "identity with '*' and rank changes with 'up/down from N', and says in one line whether\n"
    "re-ranking fixed, kept or broke the top-1. No arguments are needed. --html FILE also\n"
    "writes a self-contained page (images inline, no scripts) with every query's chip, both\n"
    "stages' top 5 side by side and the patch flow of each stage-2 result.",
    options, 0, 0};

FE_VERB(demo, "the main job on bundled LFW photos: clean, masked, sunglasses") {
    data_arg = model_arg = threads_arg = html_arg = NULL;
    json = 0;
    memset(&sa, 0, sizeof sa);
    int n_pos;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    fe_search_options o;
    if ((rc = cli_search_options("demo", &sa, &o)) != CLI_OK) return rc;
    long nt = cli_threads_default();
    if (threads_arg && !cli_parse_long(threads_arg, 1, 256, "demo: --threads", &nt)) return CLI_USAGE;

    char dbuf[4096], mbuf[4096], path[4200];
    const char *data = data_arg ? data_arg : find_repo_file("tests/data/demo", dbuf, sizeof dbuf);
    const char *mpath = model_arg ? model_arg : getenv("FE_MODEL") && *getenv("FE_MODEL") ? cli_default_model_path()
                                                                   : find_repo_file("weights/faceres.feb", mbuf, sizeof mbuf);
    cli_landmarks lm;
    snprintf(path, sizeof path, "%s/landmarks.tsv", data);
    if ((rc = cli_landmarks_open(&lm, "demo", path)) != CLI_OK) {
        fprintf(stderr, "faceemd: demo: the demo data is missing or damaged (looked in %s; --data DIR)\n", data);
        cli_landmarks_close(&lm);
        return rc;
    }
    fe_model *model = NULL;
    fe_session *s = NULL;
    fe_gallery *g = NULL;
    cli_faces gal = {0}, held = {0};
    fe_features *f3 = malloc(3 * sizeof *f3);
    fe_search_result *res = NULL;
    fe_status st = fe_model_open(mpath, NULL, &model);
    if (st != FE_OK) rc = cli_fail(mpath, st);
    if (rc == CLI_OK && !f3) rc = cli_fail("demo", FE_E_NOMEM);
    if (rc == CLI_OK && (st = fe_session_create(model, &s)) != FE_OK) rc = cli_fail("session", st);
    snprintf(path, sizeof path, "%s/gallery", data);
    if (rc == CLI_OK) rc = cli_scan_identity_dirs(path, NULL, &gal);
    snprintf(path, sizeof path, "%s/query", data);
    if (rc == CLI_OK) rc = cli_scan_identity_dirs(path, NULL, &held);
    if (rc == CLI_OK && (gal.n == 0 || held.n == 0)) {
        fprintf(stderr, "faceemd: demo: %s has no gallery/<identity>/ or query/<identity>/ images\n", data);
        rc = CLI_FAIL;
    }
    double t0 = cli_now();
    size_t added = 0;
    if (rc == CLI_OK && (st = fe_gallery_create(NULL, &g)) != FE_OK) rc = cli_fail("demo", st);
    if (rc == CLI_OK) {
        cli_embed_opts eo = {&lm, (int)nt, json ? NULL : "indexing the demo gallery"};
        rc = cli_embed_into_gallery(model, &gal, &eo, g, &added);
    }
    if (rc == CLI_OK && (gal.n_skip || added == 0)) {
        for (size_t i = 0; i < gal.n_skip; i++) fprintf(stderr, "faceemd: %s: %s\n", gal.skip[i].path, gal.skip[i].reason);
        fprintf(stderr, "faceemd: demo: the demo gallery is damaged\n");
        rc = CLI_FAIL;
    }
    double index_s = cli_now() - t0;
    size_t ng = fe_gallery_size(g);
    if (rc == CLI_OK && !(res = malloc(3 * ng * sizeof *res))) rc = cli_fail("demo", FE_E_NOMEM);

    char abuf[32], vbuf[600];
    int w = 12;
    for (size_t i = 0; rc == CLI_OK && i < ng; i++) {
        char b[128];
        short_name(fe_gallery_path(g, i), b, sizeof b);
        if ((int)strlen(b) > w) w = (int)strlen(b) > 40 ? 40 : (int)strlen(b);
    }
    if (rc == CLI_OK && json) {
        printf("{\"data\": ");
        cli_json_string(stdout, data);
        printf(", \"gallery_faces\": %zu, \"gallery_identities\": %zu, \"index_seconds\": ", ng,
               fe_gallery_identity_count(g));
        cli_json_float(stdout, index_s);
        printf(",\n \"options\": {\"K\": %zu, \"grid\": %u, \"weights\": \"%s\", \"solver\": \"%s\", \"alpha\": ",
               o.rerank_k, o.grid, cli_weights_name(o.emd.weighting), cli_solver_name(o.emd.solver));
        if (o.alpha < 0) printf("\"sum\"");
        else cli_json_float(stdout, o.alpha);
        printf(", \"perturb_seed\": %d},\n \"queries\": [", DEMO_SEED);
    } else if (rc == CLI_OK) {
        printf("faceemd demo: %zu gallery photos of %zu people (LFW, %s), indexed in %.2f s\n", ng,
               fe_gallery_identity_count(g), data, index_s);
        if (o.rerank_k)
            printf("stage 1: cosine top-%zu; stage 2: EMD re-rank on the %ux%u grid, %s weights, %s, %s\n",
                   o.rerank_k, o.grid, o.grid, cli_weights_name(o.emd.weighting), cli_solver_name(o.emd.solver),
                   cli_alpha_text(o.alpha, abuf, sizeof abuf));
        else
            printf("stage 1 only (--K 0)\n");
        printf("'*' marks the query's identity\n");
    }
    cli_report rep;
    int have_rep = 0;
    demo_chips dc = {&gal, &lm};
    if (rc == CLI_OK && html_arg) {
        char faces[64], method[256];
        snprintf(faces, sizeof faces, "%zu photos of %zu people (LFW)", ng, fe_gallery_identity_count(g));
        if (o.rerank_k)
            snprintf(method, sizeof method, "cosine top-%zu, re-ranked by EMD on the %ux%u grid (%s weights, %s, %s)",
                     o.rerank_k, o.grid, o.grid, cli_weights_name(o.emd.weighting), cli_solver_name(o.emd.solver),
                     cli_alpha_text(o.alpha, abuf, sizeof abuf));
        else
            snprintf(method, sizeof method, "cosine only (--K 0)");
        const char *settings[] = {"data", data, "gallery", faces, "method", method, "queries",
                                  "each held-back photo as taken, with a generated surgical mask and with "
                                  "generated sunglasses (seed 1)"};
        have_rep = 1;
        rc = cli_report_begin(&rep, g, &o, "faceemd demo",
                              "Who is this face? The same held-back photo as taken, masked and wearing "
                              "sunglasses, searched in a small LFW gallery: stage 1 (cosine) next to stage 2 "
                              "(EMD re-ranked). Green marks the query's identity.", settings, 4);
        rep.chip = demo_chip;
        rep.user = &dc;
    }
    int n_ok1 = 0, n_ok2 = 0, n_q = 0;
    for (size_t h = 0; rc == CLI_OK && h < held.n; h++) {
        const char *who = held.face[h].label, *hp = held.face[h].path;
        uint32_t want = fe_gallery_find_identity(g, who);
        fe_image *qchip[3] = {NULL, NULL, NULL};
        if ((rc = make_queries(&lm, s, hp, f3, html_arg ? qchip : NULL)) != CLI_OK) break;
        for (int k = 0; rc == CLI_OK && k < 3; k++) {
            demo_query d = {kind_title[k], res + (size_t)k * ng, 0, {0}, 0, 0, 0, 0};
            if ((st = fe_search(NULL, g, &f3[k], &o, d.res, ng, &d.n)) != FE_OK) {
                rc = cli_fail("search", st);
                break;
            }
            analyse(&d, g, want);
            verdict(&d, g, who, vbuf, sizeof vbuf);
            if (have_rep) {
                char sn[128], title[300], label[200];
                short_name(hp, sn, sizeof sn);
                snprintf(title, sizeof title, "%s query: %s", d.kind, sn);
                snprintf(label, sizeof label, "%s%s", sn, k == 0 ? "" : k == 1 ? " + mask" : " + sunglasses");
                cli_report_query rq = {title, label, vbuf, qchip[k], &f3[k], d.res, d.n, want};
                if ((rc = cli_report_add(&rep, &rq)) != CLI_OK) break;
            }
            n_ok1 += d.ok1;
            n_ok2 += d.ok2;
            if (json) {
                printf("%s\n  {\"kind\": \"%s\", \"image\": ", n_q ? "," : "", d.kind);
                cli_json_string(stdout, held.face[h].stored);
                printf(", \"identity\": ");
                cli_json_string(stdout, who);
                printf(", \"in_gallery\": %s, \"stage1_top1_correct\": %s, \"stage2_top1_correct\": %s, "
                       "\"stage1_best_rank\": %zu, \"stage2_best_rank\": %zu, \"verdict\": ",
                       want != UINT32_MAX ? "true" : "false", d.ok1 ? "true" : "false", d.ok2 ? "true" : "false",
                       d.best1, d.best2);
                cli_json_string(stdout, vbuf);
                printf(",\n   \"stage1\": [");
                for (size_t r = 0, c = 0; r < DEMO_TOP; r++)
                    if (d.s1[r] != SIZE_MAX) {
                        printf("%s", c++ ? ", " : "");
                        json_hit(g, &d.res[d.s1[r]], 0);
                    }
                printf("],\n   \"stage2\": [");
                for (size_t r = 0; r < DEMO_TOP && r < d.n; r++) {
                    printf("%s", r ? ", " : "");
                    json_hit(g, &d.res[r], 1);
                }
                printf("]}");
            } else {
                char sn[128];
                short_name(hp, sn, sizeof sn);
                printf("\n%s query: %s%s\n", d.kind, sn,
                       k == 0 ? " (held back: not in the gallery)" : k == 1 ? " + generated surgical mask"
                                                                            : " + generated sunglasses");
                print_side_by_side(&d, g, want, w);
                printf("  verdict: %s\n", vbuf);
            }
            n_q++;
        }
        for (int k = 0; k < 3; k++) fe_image_free(qchip[k]);
    }
    if (rc == CLI_OK && have_rep) {
        rc = cli_report_save(&rep, html_arg);
    }
    if (have_rep) cli_report_free(&rep);
    if (rc == CLI_OK) {
        if (json)
            printf("\n ],\n \"top1_correct\": {\"stage1\": %d, \"stage2\": %d, \"queries\": %d}}\n", n_ok1, n_ok2, n_q);
        else
            printf("\ntop-1 correct: stage 1 %d of %d, stage 2 %d of %d queries\n", n_ok1, n_q, n_ok2, n_q);
        if (!json && html_arg) printf("wrote %s\n", html_arg);
    }
    free(res);
    free(f3);
    fe_gallery_free(g);
    cli_faces_free(&gal);
    cli_faces_free(&held);
    fe_session_destroy(s);
    fe_model_close(model);
    cli_landmarks_close(&lm);
    return rc;
}
