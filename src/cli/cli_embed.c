/*
 * cli_embed.c — `faceemd embed [--json] [--model PATH] FILE...`: the 128-d descriptor of
 * each image. 150x150 RGB chips are used as is; other sizes follow face-api's own rule
 * (pad to square, bilinear resize; fe_embed_image). A file that fails to load is reported
 * on stderr as "faceemd: FILE: ..." and the others are still embedded; the exit status is
 * then 1. With --json every input gets exactly one line, in input order, so scripts can zip
 * lines with arguments: {"file", "descriptor", "embedding"} or {"file", "error", "message"}.
 */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *model_path;
static int json;

static const cli_option options[] = {
    {"json", 0, NULL, NULL, &json, "one JSON object per input line: file, descriptor, embedding"},
    {"model", 'm', "PATH", &model_path, NULL, "weight blob (default: weights/faceres.feb)"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "embed", "[--json] [--model PATH] FILE...",
    "Computes the network's 128-d face descriptor of each image (PPM/PGM now, JPEG and PNG\n"
    "where their decoders are built in). The raw descriptor is what face-api returns; the\n"
    "embedding is it divided by its L2 norm (for cosine similarity). Give aligned 150x150\n"
    "face chips; other sizes are padded to a square and resized as face-api does.",
    options, 1, -1};

static void print_error_json(const char *file, fe_status st) {
    fputs("{\"file\":", stdout);
    cli_json_string(stdout, file);
    fputs(",\"error\":", stdout);
    cli_json_string(stdout, fe_status_name(st));
    fputs(",\"message\":", stdout);
    cli_json_string(stdout, fe_last_error());
    fputs("}\n", stdout);
}

FE_VERB(embed, "128-d face descriptors of images (--json for scripts)") {
    int n_pos;
    model_path = NULL;
    json = 0;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    const char *mpath = model_path ? model_path : cli_default_model_path();
    fe_model *model = NULL;
    fe_session *session = NULL;
    fe_features *f = malloc(sizeof *f);
    if (!f) return cli_fail("embed", FE_E_NOMEM);
    fe_status st = fe_model_open(mpath, NULL, &model);
    if (st != FE_OK) {
        free(f);
        return cli_fail(mpath, st);
    }
    st = fe_session_create(model, &session);
    if (st != FE_OK) {
        fe_model_close(model);
        free(f);
        return cli_fail("session", st);
    }
    cli_progress prog;
    cli_progress_begin(&prog, "embedding", (size_t)n_pos);
    int failed = 0;
    for (int i = 0; i < n_pos; i++) {
        const char *file = argv[1 + i];
        fe_image *img = NULL;
        st = fe_image_load(file, &img);
        if (st == FE_OK) st = fe_embed_image(session, img, f);
        fe_image_free(img);
        if (st != FE_OK) {
            failed = 1;
            if (json) print_error_json(file, st);
            fflush(stdout);
            cli_fail(file, st);
            continue;
        }
        if (json) {
            fputs("{\"file\":", stdout);
            cli_json_string(stdout, file);
            fputs(",\"descriptor\":", stdout);
            cli_json_floats(stdout, f->descriptor, FE_DESC_DIM);
            fputs(",\"embedding\":", stdout);
            cli_json_floats(stdout, f->embedding, FE_DESC_DIM);
            fputs("}\n", stdout);
        } else {
            double n2 = 0;
            for (int j = 0; j < FE_DESC_DIM; j++) n2 += (double)f->descriptor[j] * f->descriptor[j];
            printf("%s: descriptor norm %.4f, embedding", file, sqrt(n2));
            for (int j = 0; j < 6; j++) printf(" %+.4f", f->embedding[j]);
            printf(" ... (%d values; --json prints all)\n", FE_DESC_DIM);
        }
        cli_progress_update(&prog, (size_t)i + 1);
    }
    cli_progress_end(&prog);
    fe_session_destroy(session);
    fe_model_close(model);
    free(f);
    return failed ? CLI_FAIL : CLI_OK;
}
