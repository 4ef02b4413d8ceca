/*
 * cli_image.h — shared by the commands that read face images (chip, embed, index build,
 * query, ...): turns "IMAGE + --landmarks LM" into the aligned 150x150 chip, so every command
 * reads --landmarks the same way and words the centre-crop fallback the same way.
 *
 * LM is a landmark TSV file whose keys are matched against the end of each image path
 * (fe_landmark_list_find) when a file of that name exists; otherwise, if it contains a comma,
 * the one-image form "x1,y1,...,x5,y5".
 */
#ifndef FE_CLI_IMAGE_H
#define FE_CLI_IMAGE_H

#include "cli.h"

typedef struct cli_landmarks {
    const char       *arg;       /* the --landmarks value as given, or NULL                 */
    fe_landmark_list *list;      /* when arg named a TSV file                               */
    fe_landmarks      one;       /* when arg was ten numbers                                */
    int               have_one;
} cli_landmarks;

/* Interprets a --landmarks value (arg may be NULL: no landmarks). Returns CLI_OK, or prints
 * the problem and returns CLI_USAGE (malformed numbers) or CLI_FAIL (unreadable or invalid
 * TSV file). Always safe to pass to cli_landmarks_close afterwards. */
int cli_landmarks_open(cli_landmarks *lm, const char *cmd, const char *arg);
void cli_landmarks_close(cli_landmarks *lm);

typedef struct cli_chip_info {
    int      fallback;   /* 1: centre crop (no --landmarks, or no row for this image)      */
    int      no_row;     /* 1: a TSV was given but has no row for this image               */
    uint32_t width, height;   /* the source image                                         */
    double   m[6];       /* image -> chip map used (fe_align_transform)                    */
    double   rms_px;     /* landmark fit residual in chip pixels (0 for the fallback)       */
} cli_chip_info;

/* Loads image_path (any supported format) and makes its chip with the landmarks that apply.
 * info may be NULL. Prints nothing; returns the fe_status (fe_last_error() has the detail),
 * so callers report with cli_fail(image_path, st). */
fe_status cli_image_chip(const cli_landmarks *lm, const char *image_path, fe_image **out_chip,
                         cli_chip_info *info);
/* The standard stderr line for an image that fell back to the centre crop. */
void cli_image_note_fallback(const cli_landmarks *lm, const char *image_path);

#endif
