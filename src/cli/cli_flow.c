/*
 * cli_flow.c — `faceemd flow QUERY CANDIDATE -o flow.png`: why two faces match. Both images
 * are aligned (with --landmarks, else the centre crop) and embedded; fe_flow_faces computes
 * the stage-2 transport plan between their patches with the search options, and
 * fe_flow_render draws the picture (faceemd.h documents it). --json prints the scores.
 */
#include "cli_image.h"
#include "cli_parallel.h"
#include "cli_search.h"

#include <stdlib.h>
#include <string.h>

static const char *landmarks_arg, *model_arg, *output, *scale_arg, *qlabel_arg, *clabel_arg;
static int json;
static cli_search_args sa;

static const cli_option options[] = {
    {"output", 'o', "FILE.png", &output, NULL, "where to write the picture (.png; replaced atomically)"},
    {"landmarks", 0, "LM", &landmarks_arg, NULL, "landmark TSV for both images (keys like Name/Name_0001.jpg)"},
    {"grid", 0, "4|8", &sa.grid, NULL, "patch grid: 4 (4x4x256, default) or 8 (8x8x128)"},
    {"weights", 0, "W", &sa.weights, NULL, "patch weights: uniform, sc or apc (default)"},
    {"solver", 0, "S", &sa.solver, NULL, "sinkhorn (default, the paper's) or exact"},
    {"alpha", 0, "A", &sa.alpha, NULL, "score = A*S_emd + (1-A)*S_cos (default 0.7); 'sum': S_emd + S_cos"},
    {"scale", 0, "N", &scale_arg, NULL, "picture scale 1..4 (default 2: 1572 x 440 pixels)"},
    {"query-label", 0, "TEXT", &qlabel_arg, NULL, "title of the query (default: its file name)"},
    {"cand-label", 0, "TEXT", &clabel_arg, NULL, "title of the candidate (default: its file name)"},
    {"model", 'm', "PATH", &model_arg, NULL, "weight blob (default: weights/faceres.feb)"},
    {"json", 0, NULL, NULL, &json, "print the scores (and the patch weights) as one JSON object"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "flow", "QUERY CANDIDATE -o FILE.png [--landmarks LM] [--grid 4|8] [--weights W] [--solver S] "
            "[--alpha A] [--scale N] [--json]",
    "Shows why two faces match. Aligns and embeds both images, solves stage 2's transport\n"
    "problem between their patches, and draws one picture: the query chip, the candidate chip,\n"
    "the candidate rebuilt from the query's patches (each cell shows the query patch that sends\n"
    "it the most mass, dimmed by how much), the patch weights of each face as a heat map\n"
    "(dark violet = low, pale yellow = high) with the grid, and the EMD and cosine scores.\n"
    "With --json (and no -o) only the scores are printed.",
    options, 2, 2};

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

FE_VERB(flow, "why two faces match: draw the patch flow between them (PNG)") {
    landmarks_arg = model_arg = output = scale_arg = qlabel_arg = clabel_arg = NULL;
    json = 0;
    memset(&sa, 0, sizeof sa);
    int n_pos;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    if (!output && !json) return cli_usage_error("flow", "missing -o FILE.png (or --json)");
    const char *img_path[2] = {argv[1], argv[2]};
    fe_search_options o;
    if ((rc = cli_search_options("flow", &sa, &o)) != CLI_OK) return rc;
    fe_flow_render_options ro;
    fe_flow_render_options_default(&ro);
    long scale = ro.scale;
    if (scale_arg && !cli_parse_long(scale_arg, 1, 4, "flow: --scale", &scale)) return CLI_USAGE;
    ro.scale = (uint32_t)scale;
    ro.query_label = qlabel_arg ? qlabel_arg : base_name(img_path[0]);
    ro.cand_label = clabel_arg ? clabel_arg : base_name(img_path[1]);
    cli_landmarks lm;
    if ((rc = cli_landmarks_open(&lm, "flow", landmarks_arg)) != CLI_OK) {
        cli_landmarks_close(&lm);
        return rc;
    }
    const char *mpath = model_arg ? model_arg : cli_default_model_path();
    fe_model *model = NULL;
    fe_session *s = NULL;
    fe_image *chip[2] = {NULL, NULL}, *pic = NULL;
    cli_chip_info info[2];
    fe_features *f = malloc(2 * sizeof *f);
    fe_flow *flow = malloc(sizeof *flow);
    fe_status st = FE_OK;
    if (!f || !flow) rc = cli_fail("flow", FE_E_NOMEM);
    if (rc == CLI_OK && (st = fe_model_open(mpath, NULL, &model)) != FE_OK) rc = cli_fail(mpath, st);
    if (rc == CLI_OK && (st = fe_session_create(model, &s)) != FE_OK) rc = cli_fail("session", st);
    for (int k = 0; k < 2 && rc == CLI_OK; k++) {
        if ((st = cli_image_chip(&lm, img_path[k], &chip[k], &info[k])) != FE_OK) rc = cli_fail(img_path[k], st);
        else if (info[k].fallback) cli_image_note_fallback(&lm, img_path[k]);
        if (rc == CLI_OK && (st = fe_embed(s, chip[k]->data, &f[k])) != FE_OK) rc = cli_fail(img_path[k], st);
    }
    if (rc == CLI_OK && (st = fe_flow_faces(&f[0], &f[1], &o, flow)) != FE_OK) rc = cli_fail("flow", st);
    double render_ms = 0;
    if (rc == CLI_OK && output) {
        double t0 = cli_now();
        st = fe_flow_render(chip[0], chip[1], flow, &ro, &pic);
        render_ms = (cli_now() - t0) * 1e3;
        if (st != FE_OK) rc = cli_fail("flow", st);
        else if ((st = fe_image_save(output, pic)) != FE_OK) rc = cli_fail(output, st);
    }
    if (rc == CLI_OK && json) {
        printf("{\"query\": ");
        cli_json_string(stdout, img_path[0]);
        cli_json_field_string(stdout, "candidate", img_path[1]);
        cli_json_field(stdout, "stage1_score", flow->stage1_score);
        cli_json_field(stdout, "emd_score", flow->emd_score);
        cli_json_field(stdout, "score", flow->score);
        printf(",\n \"grid\": %u, \"weights\": \"%s\", \"solver\": \"%s\", \"alpha\": ", flow->grid,
               cli_weights_name(o.emd.weighting), cli_solver_name(o.emd.solver));
        if (o.alpha < 0) printf("\"sum\"");
        else cli_json_float(stdout, o.alpha);
        printf(", \"iterations\": %u, \"marginal_error\": ", flow->stats.iterations);
        cli_json_float(stdout, flow->stats.marginal_error);
        printf(", \"alignment\": [\"%s\", \"%s\"]", info[0].fallback ? "centre-crop" : "landmarks",
               info[1].fallback ? "centre-crop" : "landmarks");
        printf(",\n \"query_weights\": ");
        cli_json_doubles(stdout, flow->query_weight, flow->cells);
        printf(",\n \"cand_weights\": ");
        cli_json_doubles(stdout, flow->cand_weight, flow->cells);
        printf(",\n \"output\": ");
        if (output) cli_json_string(stdout, output);
        else printf("null");
        if (output) printf(", \"width\": %u, \"height\": %u, \"render_ms\": %.3f", pic->width, pic->height, render_ms);
        printf("}\n");
    } else if (rc == CLI_OK) {
        printf("%s -> %s: S_emd %.3f  S_cos %.3f  score %.3f (grid %ux%u)\nwrote %s (%ux%u)\n", img_path[0],
               img_path[1], flow->emd_score, flow->stage1_score, flow->score, flow->grid, flow->grid, output,
               pic->width, pic->height);
    }
    fe_image_free(pic);
    fe_image_free(chip[0]);
    fe_image_free(chip[1]);
    free(f);
    free(flow);
    fe_session_destroy(s);
    fe_model_close(model);
    cli_landmarks_close(&lm);
    return rc;
}
