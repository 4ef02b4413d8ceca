/*
 * cli_chipsrc.c — "IMAGE + --landmarks" to an aligned chip, for every command that reads
 * faces (declared in cli_image.h). No verb here: only the shared helper.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_image.h"

#include <string.h>
#include <sys/stat.h>

/* An existing file is a TSV; otherwise a value with a comma is the ten-number form (so a typo
 * in the numbers is reported as such, not as a missing file). */
static int is_points_form(const char *s) {
    struct stat st;
    if (stat(s, &st) == 0) return 0;
    return strchr(s, ',') != NULL;
}

int cli_landmarks_open(cli_landmarks *lm, const char *cmd, const char *arg) {
    memset(lm, 0, sizeof *lm);
    lm->arg = arg;
    if (!arg) return CLI_OK;
    if (is_points_form(arg)) {
        fe_status st = fe_landmarks_parse(arg, &lm->one);
        if (st != FE_OK)
            return cli_usage_error(cmd, "--landmarks '%s': %s", arg, fe_last_error());
        lm->have_one = 1;
        return CLI_OK;
    }
    fe_status st = fe_landmark_list_load(arg, &lm->list);
    if (st != FE_OK) return cli_fail(arg, st);
    return CLI_OK;
}

void cli_landmarks_close(cli_landmarks *lm) {
    fe_landmark_list_free(lm->list);
    lm->list = NULL;
}

fe_status cli_image_chip(const cli_landmarks *lm, const char *image_path, fe_image **out_chip,
                         cli_chip_info *info) {
    cli_chip_info tmp;
    if (!info) info = &tmp;
    memset(info, 0, sizeof *info);
    *out_chip = NULL;
    fe_landmarks row;
    const fe_landmarks *use = NULL;
    if (lm && lm->have_one) {
        use = &lm->one;
    } else if (lm && lm->list) {
        fe_status st = fe_landmark_list_find(lm->list, image_path, &row, NULL);
        if (st == FE_OK) use = &row;
        else if (st == FE_E_NOT_FOUND) info->no_row = 1;
        else return st;
    }
    info->fallback = use == NULL;
    fe_image *img;
    fe_status st = fe_image_load(image_path, &img);
    if (st != FE_OK) return st;
    info->width = img->width;
    info->height = img->height;
    st = fe_align_transform(img->width, img->height, use, info->m, &info->rms_px);
    if (st == FE_OK) st = fe_align_chip(img, use, out_chip);
    fe_image_free(img);
    return st;
}

void cli_image_note_fallback(const cli_landmarks *lm, const char *image_path) {
    if (lm && lm->list)
        fprintf(stderr, "faceemd: %s: no row in %s; using the fixed centre crop\n", image_path, lm->arg);
    else
        fprintf(stderr, "faceemd: %s: no landmarks given; using the fixed centre crop\n", image_path);
}
