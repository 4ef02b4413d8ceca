/*
 * cli_eval.c — `faceemd eval DATA_DIR --landmarks FILE.tsv ...`: the paper's identification
 * protocol (fe_eval_run) over a gallery of DATA_DIR's images, printed as one table per kind
 * (P@1, RP, MAP@R of stage 1 and each stage-2 variant, deltas with bootstrap 95 % intervals,
 * top-1 fixed/broke counts) and optionally written as JSON; with --pairs also the LFW 10-fold
 * verification accuracy of the gallery's clean embeddings (fe_verify_kfold), as a check of the
 * network and the alignment.
 *
 * The gallery is built here (cli_build: DATA_DIR/<identity>/<image>, or DATA_DIR/images/ when
 * that exists, as LFW's folder) or loaded with --index; --save-index keeps a built one for the
 * next run. Threads: cli_parallel_for, handed to the library.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_build.h"
#include "cli_eval_html.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *landmarks_arg, *kinds_arg, *grid_arg, *weights_arg, *alpha_arg, *solver_arg,
    *k_arg, *eps_arg, *setting_arg, *index_arg, *save_arg, *pairs_arg, *boot_arg, *threads_arg,
    *seed_arg, *limit_arg, *examples_arg, *model_arg, *json_arg, *html_arg;

static const cli_option options[] = {
    {"landmarks", 'l', "FILE.tsv", &landmarks_arg, NULL, "5-point landmarks per image (TSV; rows by path suffix)"},
    {"kinds", 0, "LIST", &kinds_arg, NULL, "query kinds (default mask,sunglasses,crop70,clean; 'all' = all 9)"},
    {"grid", 0, "LIST", &grid_arg, NULL, "patch grids to try: 4, 8 (default 4)"},
    {"weights", 0, "LIST", &weights_arg, NULL, "uniform, sc, apc (default apc)"},
    {"alpha", 0, "LIST", &alpha_arg, NULL, "blend weights in [0,1] or 'sum' (default 0.7)"},
    {"solver", 0, "LIST", &solver_arg, NULL, "sinkhorn, exact (default sinkhorn)"},
    {"k", 'k', "LIST", &k_arg, NULL, "stage-1 candidates re-ranked (default 100)"},
    {"epsilon", 0, "LIST", &eps_arg, NULL, "Sinkhorn entropy (default 0.05)"},
    {"setting", 0, "S", &setting_arg, NULL, "all (default: singletons are distractors) or multi"},
    {"index", 0, "FILE.fei", &index_arg, NULL, "use this gallery index instead of building one"},
    {"save-index", 0, "FILE.fei", &save_arg, NULL, "save the gallery built here (atomic) for --index"},
    {"pairs", 'p', "FILE", &pairs_arg, NULL, "also LFW 10-fold verification accuracy on these pairs"},
    {"boot", 0, "N", &boot_arg, NULL, "bootstrap resamples for the intervals (default 1000)"},
    {"threads", 't', "N", &threads_arg, NULL, "threads (default: CPUs online or $FE_THREADS)"},
    {"seed", 's', "S", &seed_arg, NULL, "perturbation seed: query of face i uses S + i (default 1)"},
    {"limit", 0, "N", &limit_arg, NULL, "a seeded subset of N queries (quick runs)"},
    {"examples", 0, "N", &examples_arg, NULL, "fixed/broke examples kept per kind (default 8)"},
    {"model", 'm', "PATH", &model_arg, NULL, "weight blob (default: weights/faceres.feb)"},
    {"json", 0, "FILE", &json_arg, NULL, "write every row, timing and example as JSON (atomic)"},
    {"html", 0, "FILE", &html_arg, NULL, "write a self-contained page: the tables and fixed/broke examples (atomic)"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "eval",
    "DATA_DIR --landmarks FILE.tsv [--kinds LIST] [--grid 4,8] [--weights uniform,sc,apc]\n"
    "       [--alpha 0.3,0.7,sum] [--solver sinkhorn,exact] [--k 100] [--epsilon 0.05]\n"
    "       [--setting all|multi] [--index F | --save-index F] [--pairs FILE] [--boot N]\n"
    "       [--threads N] [--seed S] [--limit N] [--examples N] [--json FILE] [--html FILE]",
    "The paper's identification protocol (METHOD.md). The gallery is every image of\n"
    "DATA_DIR/<identity>/ (or DATA_DIR/images/<identity>/), clean. Every image whose identity\n"
    "has another image becomes one query per kind (aligned with its landmarks, perturbed with\n"
    "seed S + its gallery index) and is searched with its own clean original left out. Prints\n"
    "per kind P@1, R-Precision and MAP@R (R = the other images of the identity) for stage 1\n"
    "(cosine) and every stage-2 variant (the product of the lists), the change against stage 1\n"
    "with a bootstrap 95 % interval over queries, and how many top-1 answers re-ranking fixed\n"
    "and broke. The first stage-2 row is always the paper's default (4x4, apc, sinkhorn, K 100,\n"
    "eps 0.05, alpha 0.7). Stage 1 runs once per query; alpha and K are free, each grid x\n"
    "weighting x solver x epsilon costs one EMD pass. Lists are comma-separated.\n"
    "--html writes one page (images inline, no scripts) with the tables and, per kind, up to 3\n"
    "queries whose top-1 the default re-ranking fixed and broke: the perturbed query, both\n"
    "top-1 faces with identities and scores, and the flow of the query to stage 2's top-1.",
    options, 1, 1};

/* ---- list options --------------------------------------------------------------------- */

/* Calls item(text, index, ctx) for each comma-separated entry; 0 on an empty entry, a failed
 * item or more than cap entries (message printed). */
typedef int (*item_fn)(const char *text, size_t i, void *dst);

static int parse_list(const char *opt, const char *s, size_t cap, item_fn item, void *dst, size_t *n) {
    *n = 0;
    char buf[64];
    while (1) {
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof buf || *n == cap) {
            cli_usage_error("eval", "--%s '%s': expected up to %zu comma-separated values", opt, s, cap);
            return 0;
        }
        memcpy(buf, s, len);
        buf[len] = 0;
        if (!item(buf, *n, dst)) {
            cli_usage_error("eval", "--%s: '%s' is not allowed here", opt, buf);
            return 0;
        }
        (*n)++;
        if (!s[len]) return 1;
        s += len + 1;
    }
}

static int item_kind(const char *t, size_t i, void *dst) {
    return fe_perturb_kind_from_name(t, &((fe_perturb_kind *)dst)[i]) == FE_OK;
}
static int item_grid(const char *t, size_t i, void *dst) {
    if (strcmp(t, "4") && strcmp(t, "8") && strcmp(t, "4x4") && strcmp(t, "8x8")) return 0;
    ((uint32_t *)dst)[i] = t[0] == '4' ? 4u : 8u;
    return 1;
}
static int item_weight(const char *t, size_t i, void *dst) {
    fe_emd_weighting *w = dst;
    if (!strcmp(t, "uniform")) w[i] = FE_EMD_UNIFORM;
    else if (!strcmp(t, "sc")) w[i] = FE_EMD_SC;
    else if (!strcmp(t, "apc")) w[i] = FE_EMD_APC;
    else return 0;
    return 1;
}
static int item_solver(const char *t, size_t i, void *dst) {
    fe_emd_solver *s = dst;
    if (!strcmp(t, "sinkhorn")) s[i] = FE_EMD_SINKHORN;
    else if (!strcmp(t, "exact")) s[i] = FE_EMD_EXACT;
    else return 0;
    return 1;
}
static int item_number(const char *t, double lo, double hi, double *out) {
    char *end;
    double v = strtod(t, &end);
    if (end == t || *end || !(v >= lo && v <= hi)) return 0;
    *out = v;
    return 1;
}
static int item_alpha(const char *t, size_t i, void *dst) {
    if (!strcmp(t, "sum")) {
        ((double *)dst)[i] = -1;
        return 1;
    }
    return item_number(t, 0, 1, &((double *)dst)[i]);
}
static int item_eps(const char *t, size_t i, void *dst) {
    return item_number(t, 1e-4, 10, &((double *)dst)[i]);
}
static int item_k(const char *t, size_t i, void *dst) {
    double v;
    if (!item_number(t, 1, 100000, &v) || v != floor(v)) return 0;
    ((size_t *)dst)[i] = (size_t)v;
    return 1;
}

/* ---- progress ------------------------------------------------------------------------- */

typedef struct progress_ctx {
    cli_progress p;
    int          started;
    double       t0;        /* when the run began: the rate counts from there */
} progress_ctx;

static void on_progress(void *ctx, const char *kind, size_t done, size_t total) {
    progress_ctx *pc = ctx;
    (void)kind;
    if (!pc->started) {
        cli_progress_begin(&pc->p, "queries x kinds", total);
        pc->p.start_s = pc->t0;
        pc->started = 1;
    }
    cli_progress_update(&pc->p, done);
}

/* ---- verification on the gallery's clean embeddings ------------------------------------ */

typedef struct verif {
    int              done;
    size_t           n_pairs, missing;
    fe_verify_result r;
} verif;

static const fe_gallery *sort_g;
static int by_path(const void *a, const void *b) {
    return strcmp(fe_gallery_path(sort_g, *(const uint32_t *)a), fe_gallery_path(sort_g, *(const uint32_t *)b));
}

static uint32_t find_path(const fe_gallery *g, const uint32_t *order, size_t n, const char *path) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(fe_gallery_path(g, order[mid]), path);
        if (c == 0) return order[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return UINT32_MAX;
}

static int verify_pairs(const fe_gallery *g, const char *pairs_path, verif *v) {
    fe_pair_list *pl = NULL;
    fe_status st = fe_pair_list_load(pairs_path, &pl);
    if (st != FE_OK) return cli_fail(pairs_path, st);
    size_t n = fe_gallery_size(g), np = fe_pair_list_count(pl);
    uint32_t *order = malloc(n * sizeof *order), *fold = malloc((np ? np : 1) * sizeof *fold);
    double *score = malloc((np ? np : 1) * sizeof *score);
    uint8_t *same = malloc(np ? np : 1);
    int rc = CLI_OK;
    if (!order || !fold || !score || !same) rc = cli_fail("verification", FE_E_NOMEM);
    if (rc == CLI_OK) {
        for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
        sort_g = g;
        qsort(order, n, sizeof *order, by_path);
        size_t m = 0;
        for (size_t i = 0; i < np; i++) {
            fe_pair p;
            char a[2 * FE_LFW_MAX_NAME + 32], b[2 * FE_LFW_MAX_NAME + 32];
            fe_pair_list_get(pl, i, &p);
            fe_lfw_image_path(p.name1, p.image1, a, sizeof a);
            fe_lfw_image_path(p.name2, p.image2, b, sizeof b);
            uint32_t ia = find_path(g, order, n, a), ib = find_path(g, order, n, b);
            if (ia == UINT32_MAX || ib == UINT32_MAX) {
                v->missing++;
                continue;
            }
            const float *ea = fe_gallery_embedding(g, ia), *eb = fe_gallery_embedding(g, ib);
            double s = 0;
            for (int k = 0; k < FE_DESC_DIM; k++) s += (double)ea[k] * eb[k];
            score[m] = s;
            same[m] = (uint8_t)p.same;
            fold[m++] = p.fold;
        }
        v->n_pairs = m;
        if (v->missing)
            fprintf(stderr, "faceemd: eval: %zu of %zu pairs name images that are not in the gallery; "
                    "they are left out\n", v->missing, np);
        st = fe_verify_kfold(score, same, fold, m, fe_pair_list_folds(pl), 1, &v->r);
        if (st != FE_OK) rc = cli_fail(pairs_path, st);
        else v->done = 1;
    }
    free(order);
    free(fold);
    free(score);
    free(same);
    fe_pair_list_free(pl);
    return rc;
}

/* ---- output --------------------------------------------------------------------------- */

static const char *weighting_str(fe_emd_weighting w) {
    return w == FE_EMD_UNIFORM ? "uniform" : w == FE_EMD_SC ? "sc" : "apc";
}

static void print_tables(const fe_eval_result *r) {
    for (size_t k = 0; k < r->n_kinds; k++) {
        const fe_eval_kind *kd = &r->kinds[k];
        printf("\n%s: %zu queries (%zu faces with R = 0 not queried%s), embedding %.1f s, stage 1 %.2f s, "
               "stage 2 %.1f s\n", kd->name, kd->n_queries, kd->n_excluded,
               kd->n_failed ? ", some failed" : "", kd->seconds_embed, kd->seconds_stage1, kd->seconds_stage2);
        printf("  %-34s %6s %6s %6s  %-22s %-22s %-22s %5s %5s\n", "method", "P@1", "RP", "MAP@R",
               "dP@1 [95% CI]", "dRP [95% CI]", "dMAP@R [95% CI]", "fixed", "broke");
        for (size_t i = 0; i < kd->n_rows; i++) {
            const fe_eval_row *w = &r->rows[kd->row_first + i];
            char name[160];
            snprintf(name, sizeof name, "%s%s", w->method, w->is_default ? " *" : "");
            if (w->is_stage1) {
                printf("  %-34s %6.2f %6.2f %6.2f\n", name, w->p1, w->rp, w->map_r);
                continue;
            }
            char d[3][40];
            const double *ci[3] = {w->ci_p1, w->ci_rp, w->ci_map_r};
            const double dv[3] = {w->d_p1, w->d_rp, w->d_map_r};
            for (int m = 0; m < 3; m++)
                snprintf(d[m], sizeof d[m], "%+.2f [%+.2f,%+.2f]", dv[m], ci[m][0], ci[m][1]);
            printf("  %-34s %6.2f %6.2f %6.2f  %-22s %-22s %-22s %5zu %5zu\n", name, w->p1, w->rp, w->map_r,
                   d[0], d[1], d[2], w->fixed, w->broke);
        }
    }
    printf("\n* the paper's default (4x4, apc, sinkhorn, eps 0.05, K 100, alpha 0.7). Metrics in %%, "
           "R excludes the query's own image; deltas are stage 2 - stage 1.\n");
}

/* ", \"key\": {index, path, identity, score}": one stage's top-1 of an example */
static void json_top1(FILE *fp, const char *key, uint32_t index, const char *path, const char *identity,
                      double score) {
    fprintf(fp, ", \"%s\": {\"index\": %u", key, index);
    cli_json_field_string(fp, "path", path);
    cli_json_field_string(fp, "identity", identity);
    cli_json_field(fp, "score", score);
    fputc('}', fp);
}

static void json_examples(FILE *fp, const fe_eval_example *e, size_t n) {
    fputc('[', fp);
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "%s{\"query_index\": %u, \"seed\": %llu", i ? ", " : "", e[i].query_index,
                (unsigned long long)e[i].seed);
        cli_json_field_string(fp, "query_path", e[i].query_path);
        cli_json_field_string(fp, "identity", e[i].identity);
        json_top1(fp, "stage1", e[i].stage1_index, e[i].stage1_path, e[i].stage1_identity, e[i].stage1_score);
        json_top1(fp, "stage2", e[i].stage2_index, e[i].stage2_path, e[i].stage2_identity, e[i].stage2_score);
        fputc('}', fp);
    }
    fputc(']', fp);
}

static void json_pair(FILE *fp, const char *key, const double *v) {
    fprintf(fp, "\"%s\": [", key);
    cli_json_float(fp, v[0]);
    fputs(", ", fp);
    cli_json_float(fp, v[1]);
    fputc(']', fp);
}

static void write_json_body(FILE *fp, const fe_eval_result *r, const verif *v, const char *data_dir,
                            const char *index_path, double gallery_s, double total_s) {
    fprintf(fp, "{\"data_dir\": ");
    cli_json_string(fp, data_dir);
    fprintf(fp, ",\n \"gallery\": {\"faces\": %zu, \"identities\": %zu, \"setting\": \"%s\", \"index\": ",
            r->gallery_faces, r->gallery_identities, r->setting == FE_EVAL_MULTI ? "multi" : "all");
    if (index_path) cli_json_string(fp, index_path);
    else fputs("null", fp);
    fprintf(fp, "},\n \"seed\": %llu, \"boot\": %d, \"threads\": %d, \"r_convention\": "
            "\"R excludes the query's own clean original\",\n \"verification\": ",
            (unsigned long long)r->seed, r->n_boot, r->threads);
    if (v->done) {
        fprintf(fp, "{\"pairs\": %zu, \"missing\": %zu, \"folds\": %u, \"accuracy\": ", v->n_pairs, v->missing,
                v->r.n_folds);
        cli_json_float(fp, v->r.mean);
        cli_json_field(fp, "std", v->r.std);
        cli_json_field(fp, "std_error", v->r.std_error);
        fputc('}', fp);
    } else {
        fputs("null", fp);
    }
    fprintf(fp, ",\n \"time\": {\"gallery\": ");
    cli_json_float(fp, gallery_s);
    cli_json_field(fp, "load", r->seconds_load);
    cli_json_field(fp, "eval", r->seconds_total);
    cli_json_field(fp, "total", total_s);
    fprintf(fp, "},\n \"kinds\": [");
    for (size_t k = 0; k < r->n_kinds; k++) {
        const fe_eval_kind *kd = &r->kinds[k];
        fprintf(fp, "%s\n  {\"kind\": \"%s\", \"n_queries\": %zu, \"n_excluded\": %zu, \"n_failed\": %zu, "
                "\"n_fallback\": %zu, \"seconds\": {\"embed\": ", k ? "," : "", kd->name, kd->n_queries,
                kd->n_excluded, kd->n_failed, kd->n_fallback);
        cli_json_float(fp, kd->seconds_embed);
        cli_json_field(fp, "stage1", kd->seconds_stage1);
        cli_json_field(fp, "stage2", kd->seconds_stage2);
        fprintf(fp, "},\n   \"fixed_examples\": ");
        json_examples(fp, kd->fixed, kd->n_fixed);
        fprintf(fp, ",\n   \"broke_examples\": ");
        json_examples(fp, kd->broke, kd->n_broke);
        fputc('}', fp);
    }
    fprintf(fp, "],\n \"rows\": [");
    for (size_t i = 0; i < r->n_rows; i++) {
        const fe_eval_row *w = &r->rows[i];
        fprintf(fp, "%s\n  {\"kind\": \"%s\", \"method\": ", i ? "," : "", r->kinds[w->kind_index].name);
        cli_json_string(fp, w->method);
        fprintf(fp, ", \"default\": %s", w->is_default ? "true" : "false");
        cli_json_field(fp, "p1", w->p1);
        cli_json_field(fp, "rp", w->rp);
        cli_json_field(fp, "map_at_r", w->map_r);
        fprintf(fp, ", \"n_queries\": %zu, \"n_excluded\": %zu", w->n_queries, w->n_excluded);
        if (!w->is_stage1) {
            fprintf(fp, ", \"grid\": %u, \"weighting\": \"%s\", \"solver\": \"%s\"", (unsigned)w->grid,
                    weighting_str(w->weighting), w->solver == FE_EMD_EXACT ? "exact" : "sinkhorn");
            cli_json_field(fp, "epsilon", w->epsilon);
            fprintf(fp, ", \"k\": %zu, \"alpha\": ", w->k);
            if (w->alpha < 0) fputs("\"sum\"", fp);
            else cli_json_float(fp, w->alpha);
            cli_json_field(fp, "d_p1", w->d_p1);
            cli_json_field(fp, "d_rp", w->d_rp);
            cli_json_field(fp, "d_map_at_r", w->d_map_r);
            fputs(", ", fp);
            json_pair(fp, "ci_p1", w->ci_p1);
            fputs(", ", fp);
            json_pair(fp, "ci_rp", w->ci_rp);
            fputs(", ", fp);
            json_pair(fp, "ci_map_at_r", w->ci_map_r);
            fprintf(fp, ", \"fixed\": %zu, \"broke\": %zu", w->fixed, w->broke);
            cli_json_field(fp, "stage2_thread_seconds", w->stage2_seconds);
        }
        fputc('}', fp);
    }
    fputs("]}\n", fp);
}

static int write_json(const char *path, const fe_eval_result *r, const verif *v, const char *data_dir,
                      const char *index_path, double gallery_s, double total_s) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) return cli_fail(path, FE_E_NOMEM);
    write_json_body(fp, r, v, data_dir, index_path, gallery_s, total_s);
    int bad = ferror(fp);
    fclose(fp);
    fe_status st = bad ? FE_E_NOMEM : fe__write_file_atomic(path, buf, len);
    free(buf);
    return st == FE_OK ? CLI_OK : cli_fail(path, st);
}

/* ---- the gallery ---------------------------------------------------------------------- */

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int build_gallery(const fe_model *model, const char *root, cli_landmarks *lm, int nt, fe_gallery **out) {
    cli_faces faces = {0};
    int rc = cli_scan_identity_dirs(root, NULL, &faces);
    if (rc == CLI_OK && faces.n == 0) {
        fprintf(stderr, "faceemd: %s: no images found in DIR/<identity>/\n", root);
        rc = CLI_FAIL;
    }
    fe_status st;
    if (rc == CLI_OK && (st = fe_gallery_create(NULL, out)) != FE_OK) rc = cli_fail("gallery", st);
    if (rc == CLI_OK && ((st = fe_gallery_meta_add(*out, "created_by", "faceemd eval")) != FE_OK ||
                         (st = fe_gallery_meta_add(*out, "source", root)) != FE_OK))
        rc = cli_fail("gallery", st);
    size_t added = 0;
    cli_embed_opts eo = {lm, nt, "gallery"};
    if (rc == CLI_OK) rc = cli_embed_into_gallery(model, &faces, &eo, *out, &added);
    if (rc == CLI_OK && faces.n_skip) {
        for (size_t i = 0; i < faces.n_skip && i < 5; i++)
            fprintf(stderr, "faceemd: eval: skipped %s: %s\n", faces.skip[i].path, faces.skip[i].reason);
        fprintf(stderr, "faceemd: eval: %zu files skipped in all\n", faces.n_skip);
    }
    if (rc == CLI_OK && faces.fallbacks)
        fprintf(stderr, "faceemd: eval: %zu gallery faces had no landmark row (centre crop)\n", faces.fallbacks);
    cli_faces_free(&faces);
    return rc;
}

/* ---- the command ---------------------------------------------------------------------- */

FE_VERB(eval, "reproduce the paper: P@1, RP, MAP@R of stage 1 vs stage 2 on OOD queries") {
    landmarks_arg = kinds_arg = grid_arg = weights_arg = alpha_arg = solver_arg = k_arg = eps_arg = NULL;
    setting_arg = index_arg = save_arg = pairs_arg = boot_arg = threads_arg = seed_arg = limit_arg = NULL;
    examples_arg = model_arg = json_arg = html_arg = NULL;
    int n_pos;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    const char *data_dir = argv[1];
    fe_eval_options o;
    fe_eval_options_default(&o);
    if (kinds_arg && !strcmp(kinds_arg, "all")) {
        for (int i = 0; i < FE_PERTURB_KIND_COUNT; i++) o.kinds[i] = (fe_perturb_kind)i;
        o.n_kinds = FE_PERTURB_KIND_COUNT;
    } else if (kinds_arg && !parse_list("kinds", kinds_arg, FE_PERTURB_KIND_COUNT, item_kind, o.kinds, &o.n_kinds)) {
        return CLI_USAGE;
    }
    if ((grid_arg && !parse_list("grid", grid_arg, 2, item_grid, o.grids, &o.n_grids)) ||
        (weights_arg && !parse_list("weights", weights_arg, 3, item_weight, o.weightings, &o.n_weightings)) ||
        (solver_arg && !parse_list("solver", solver_arg, 2, item_solver, o.solvers, &o.n_solvers)) ||
        (alpha_arg && !parse_list("alpha", alpha_arg, FE_EVAL_MAX_LIST, item_alpha, o.alphas, &o.n_alphas)) ||
        (k_arg && !parse_list("k", k_arg, FE_EVAL_MAX_LIST, item_k, o.ks, &o.n_ks)) ||
        (eps_arg && !parse_list("epsilon", eps_arg, FE_EVAL_MAX_LIST, item_eps, o.epsilons, &o.n_epsilons)))
        return CLI_USAGE;
    for (size_t i = 1; i < o.n_kinds; i++)
        for (size_t j = 0; j < i; j++)
            if (o.kinds[i] == o.kinds[j]) return cli_usage_error("eval", "--kinds names '%s' twice", fe_perturb_kind_name(o.kinds[i]));
    if (setting_arg) {
        if (!strcmp(setting_arg, "all")) o.setting = FE_EVAL_ALL;
        else if (!strcmp(setting_arg, "multi")) o.setting = FE_EVAL_MULTI;
        else return cli_usage_error("eval", "--setting '%s': use all or multi", setting_arg);
    }
    long v;
    if (boot_arg) {
        if (!cli_parse_long(boot_arg, 10, 1000000, "eval: --boot", &v)) return CLI_USAGE;
        o.n_boot = (int)v;
    }
    long nt = cli_threads_default();
    if (threads_arg && !cli_parse_long(threads_arg, 1, 64, "eval: --threads", &nt)) return CLI_USAGE;
    o.n_threads = (int)nt;
    if (seed_arg) {
        if (!cli_parse_long(seed_arg, 0, 0x7fffffffL, "eval: --seed", &v)) return CLI_USAGE;
        o.seed = (uint64_t)v;
    }
    if (limit_arg) {
        if (!cli_parse_long(limit_arg, 1, (long)FE_MAX_GALLERY, "eval: --limit", &v)) return CLI_USAGE;
        o.limit = (size_t)v;
    }
    if (examples_arg) {
        if (!cli_parse_long(examples_arg, 0, 1000, "eval: --examples", &v)) return CLI_USAGE;
        o.n_examples = (size_t)v;
    }
    if (index_arg && save_arg) return cli_usage_error("eval", "--index and --save-index exclude each other");
    if (!is_dir(data_dir)) return cli_fail(data_dir, fe__fail(FE_E_IO, "not a directory"));

    double t_start = cli_now();
    char *root = malloc(strlen(data_dir) + 8);
    if (!root) return cli_fail("eval", FE_E_NOMEM);
    sprintf(root, "%s/images", data_dir);
    if (!is_dir(root)) strcpy(root, data_dir);
    cli_landmarks lm;
    rc = cli_landmarks_open(&lm, "eval", landmarks_arg);
    if (rc == CLI_OK && lm.have_one) rc = cli_usage_error("eval", "--landmarks needs a TSV file (one row per image)");
    if (rc == CLI_OK && !landmarks_arg)
        fprintf(stderr, "faceemd: eval: no --landmarks: every image uses the fixed centre crop and the masks "
                "follow the template\n");
    fe_model *model = NULL;
    fe_gallery *g = NULL;
    fe_eval_result *res = NULL;
    verif vr;
    memset(&vr, 0, sizeof vr);
    const char *model_file = model_arg ? model_arg : cli_default_model_path();
    fe_status st;
    if (rc == CLI_OK && (st = fe_model_open(model_file, NULL, &model)) != FE_OK) rc = cli_fail(model_file, st);
    double t_gal = cli_now();
    if (rc == CLI_OK && index_arg) {
        if ((st = fe_gallery_load(index_arg, NULL, &g)) != FE_OK) rc = cli_fail(index_arg, st);
    } else if (rc == CLI_OK) {
        rc = build_gallery(model, root, &lm, o.n_threads, &g);
        if (rc == CLI_OK && save_arg && (st = fe_gallery_save(g, save_arg)) != FE_OK) rc = cli_fail(save_arg, st);
    }
    double gallery_s = cli_now() - t_gal;
    if (rc == CLI_OK && pairs_arg) rc = verify_pairs(g, pairs_arg, &vr);
    progress_ctx pc;
    memset(&pc, 0, sizeof pc);
    if (rc == CLI_OK) {
        o.image_root = root;
        o.landmarks = lm.list;
        o.parallel_for = cli_parallel_for;
        o.progress = on_progress;
        o.progress_ctx = &pc;
        pc.t0 = cli_now();
        st = fe_eval_run(model, g, &o, &res);
        if (pc.started) cli_progress_end(&pc.p);
        if (st != FE_OK) rc = cli_fail("eval", st);
    }
    if (rc == CLI_OK) {
        double total_s = cli_now() - t_start;
        printf("gallery: %zu faces, %zu identities (%s setting), %s in %.1f s; %d threads; seed %llu\n",
               res->gallery_faces, res->gallery_identities, o.setting == FE_EVAL_MULTI ? "multi" : "all",
               index_arg ? "loaded" : "built", gallery_s, res->threads, (unsigned long long)res->seed);
        if (vr.done)
            printf("verification: %.2f %% +- %.2f (10-fold, %zu pairs, cosine of the gallery embeddings)\n",
                   100 * vr.r.mean, 100 * vr.r.std, vr.n_pairs);
        if (res->first_error[0]) fprintf(stderr, "faceemd: eval: some queries failed; first: %s\n", res->first_error);
        print_tables(res);
        printf("time: gallery %.1f s, query load+align %.1f s, eval %.1f s, total %.1f s\n", gallery_s,
               res->seconds_load, res->seconds_total, total_s);
        if (json_arg) rc = write_json(json_arg, res, &vr, data_dir, index_arg ? index_arg : save_arg, gallery_s, total_s);
        if (rc == CLI_OK && html_arg) {
            char vline[160];
            if (vr.done)
                snprintf(vline, sizeof vline, "%.2f %% +- %.2f (10-fold, %zu pairs)", 100 * vr.r.mean, 100 * vr.r.std,
                         vr.n_pairs);
            cli_eval_html_in hi = {res, g, model, &lm, root, data_dir, index_arg ? index_arg : save_arg,
                                   vr.done ? vline : NULL, total_s};
            rc = cli_eval_html_write(html_arg, &hi);
            if (rc == CLI_OK) printf("wrote %s\n", html_arg);
        }
    }
    fe_eval_result_free(res);
    fe_gallery_free(g);
    fe_model_close(model);
    cli_landmarks_close(&lm);
    free(root);
    return rc;
}
