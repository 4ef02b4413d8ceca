/*
 * cli_build.h — turning folders of face photos into gallery faces, shared by `index build`,
 * `index add`, `demo` (and later `eval`): the LFW folder scan, a small parallel-for, and the
 * parallel embedding that appends faces to a gallery in input order.
 *
 * Layout read by cli_scan_identity_dirs: DIR/<identity>/<image>, one sub-folder per identity
 * (LFW). A file is an image by its content (JPEG, PNG, PPM/PGM signature), not its name.
 * Determinism: names are sorted bytewise; faces are embedded in parallel but appended in list
 * order, each by one single-threaded session, so the gallery is the same for any thread count.
 */
#ifndef FE_CLI_BUILD_H
#define FE_CLI_BUILD_H

#include "cli_image.h"
#include "cli_parallel.h"

/* One input face, or one file left out with the reason. */
typedef struct cli_face {
    char *label;    /* identity                                                              */
    char *path;     /* file to read                                                          */
    char *stored;   /* path recorded in the gallery (relative to the scanned folder)         */
} cli_face;

typedef struct cli_skip {
    char *path;
    char *reason;
} cli_skip;

typedef struct cli_faces {
    cli_face *face;
    size_t    n, cap;
    cli_skip *skip;
    size_t    n_skip, skip_cap;
    size_t    fallbacks;        /* faces aligned by the centre crop (no landmark row)         */
    char    **fallback_paths;   /* the first few, for the summary                            */
    size_t    n_fallback_paths;
} cli_faces;

void cli_faces_free(cli_faces *f);
/* Appends a face (strings copied; stored NULL = path). Returns 0 on allocation failure. */
int cli_faces_add(cli_faces *f, const char *label, const char *path, const char *stored);
int cli_faces_skip(cli_faces *f, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* 1 if the file starts like an image faceemd reads (JPEG, PNG, PPM/PGM), else 0. */
int cli_is_image_file(const char *path);

/* Adds every image of DIR/<identity>/ (labels = folder names); files elsewhere and non-images
 * become skips. label (may be NULL) instead labels every image directly inside DIR (a folder
 * of one person). Returns CLI_OK, or prints and returns CLI_FAIL when DIR cannot be read. */
int cli_scan_identity_dirs(const char *dir, const char *label, cli_faces *out);

typedef struct cli_embed_opts {
    const cli_landmarks *lm;
    int                  n_threads;
    const char          *progress_label;   /* NULL: no progress line                        */
} cli_embed_opts;

/* Embeds faces->face[0..n) with one session per thread and appends them to g in list order.
 * Images that cannot be read or aligned become skips (with fe_last_error's text), centre-crop
 * fallbacks are counted in faces->fallbacks. Returns CLI_OK or prints and returns CLI_FAIL
 * (allocation failure, or a gallery append that fails for another reason than the label).
 * *out_added gets the faces added. */
int cli_embed_into_gallery(const fe_model *model, cli_faces *faces, const cli_embed_opts *opt,
                           fe_gallery *g, size_t *out_added);

/* The test-only pause hooks: FE_TEST_PAUSE_AFTER=N stops the process (waiting for a signal)
 * once N faces are embedded, after printing "faceemd: test pause" on stderr;
 * FE_TEST_PAUSE_IN_SAVE=B does the same in a gallery save once B bytes of it are written
 * (after the section that crosses B: the temporary file then holds part of the index). */
void cli_test_pause_in_save_arm(void);

#endif
