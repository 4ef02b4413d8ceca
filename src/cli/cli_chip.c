/*
 * cli_chip.c — `faceemd chip IMAGE [--landmarks LM] -o OUT`: the aligned 150x150 chip the
 * network sees, written in the format of OUT's extension (.png, .ppm, .pgm).
 */
#include "cli_image.h"

static const char *landmarks_arg, *output;
static int json;

static const cli_option options[] = {
    {"landmarks", 0, "LM", &landmarks_arg, NULL,
     "x1,y1,...,x5,y5 (eyes, nose tip, mouth corners) or a landmark TSV file"},
    {"output", 'o', "FILE", &output, NULL, "where to write the chip (.png, .ppm or .pgm)"},
    {"json", 0, NULL, NULL, &json, "print what was done as one JSON object"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "chip", "IMAGE [--landmarks LM] -o OUT",
    "Writes the aligned 150x150 RGB face chip of IMAGE: a least-squares similarity maps the\n"
    "five landmarks (in IMAGE's pixels) onto the network's template. LM is ten comma-separated\n"
    "numbers, or a TSV file like LFW's landmarks.tsv whose first column is matched against the\n"
    "end of IMAGE's path (Name/Name_0001.jpg). Without landmarks, or with no row for IMAGE, a\n"
    "fixed centre crop is used and a note goes to stderr.",
    options, 1, 1};

FE_VERB(chip, "write the aligned 150x150 face chip of an image") {
    int n_pos;
    landmarks_arg = output = NULL;
    json = 0;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    if (!output) return cli_usage_error("chip", "missing -o OUT");
    const char *image = argv[1];
    cli_landmarks lm;
    rc = cli_landmarks_open(&lm, "chip", landmarks_arg);
    if (rc != CLI_OK) {
        cli_landmarks_close(&lm);
        return rc;
    }
    fe_image *chip;
    cli_chip_info info;
    fe_status st = cli_image_chip(&lm, image, &chip, &info);
    if (st != FE_OK) {
        cli_landmarks_close(&lm);
        return cli_fail(image, st);
    }
    if (info.fallback) cli_image_note_fallback(&lm, image);
    st = fe_image_save(output, chip);
    fe_image_free(chip);
    if (st != FE_OK) {
        cli_landmarks_close(&lm);
        return cli_fail(output, st);
    }
    if (json) {
        printf("{\"image\": ");
        cli_json_string(stdout, image);
        printf(", \"output\": ");
        cli_json_string(stdout, output);
        printf(", \"width\": %u, \"height\": %u, \"landmarks\": \"%s\", \"fallback\": %s, \"transform\": [",
               info.width, info.height, lm.have_one ? "points" : lm.list ? "tsv" : "none",
               info.fallback ? "true" : "false");
        for (int k = 0; k < 6; k++) {
            if (k) printf(", ");
            cli_json_float(stdout, info.m[k]);
        }
        printf("], \"rms_px\": ");
        cli_json_float(stdout, info.rms_px);
        printf("}\n");
    }
    cli_landmarks_close(&lm);
    return CLI_OK;
}
