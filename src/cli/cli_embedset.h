/*
 * cli_embedset.h — embeds a list of image files on several threads, each image once, with a
 * chosen face alignment; the raw descriptors come back in input order. Used by `verify` (and
 * meant for `eval`): the descriptors do not depend on the thread count (fe_embed_batch equals
 * fe_embed bit for bit, and each image is aligned on its own).
 *
 * Threads: cli_parallel_for. Each thread owns a single-threaded session and takes chunks of 8
 * images (one fe_embed_batch each) from a shared counter.
 */
#ifndef FE_CLI_EMBEDSET_H
#define FE_CLI_EMBEDSET_H

#include "cli.h"
#include "cli_parallel.h"

typedef enum cli_align {
    CLI_ALIGN_LANDMARKS = 0,  /* 5-point alignment to opt->tmpl; no landmark row: centre crop */
    CLI_ALIGN_CROP      = 1,  /* the fixed centre crop for every image (baseline)            */
    CLI_ALIGN_WHOLE     = 2   /* the whole image, padded and resized (face-api's route)      */
} cli_align;

typedef struct cli_embedset_opts {
    cli_align               mode;
    const fe_landmark_list *landmarks;      /* LANDMARKS: rows found by path suffix; NULL:
                                               every image falls back to the centre crop    */
    fe_landmarks            tmpl;           /* LANDMARKS: the template, chip pixels          */
    int                     n_threads;      /* >= 1                                          */
    const char             *progress_label; /* NULL: no progress line                        */
} cli_embedset_opts;

typedef struct cli_embedset {
    size_t   n;
    float   *descriptor;      /* n x FE_DESC_DIM raw descriptors (zero for failed images)    */
    uint8_t *fallback;        /* n: 1 = no landmark row, the centre crop was used            */
    uint8_t *failed;          /* n: 1 = could not be loaded, aligned or embedded             */
    size_t   n_fallback, n_failed;
    size_t   first_failed;    /* lowest failed index (valid when n_failed > 0)               */
    char     first_error[512];/* its status text and detail                                  */
    int      threads_used;
    double   seconds;         /* wall time of the whole run                                  */
} cli_embedset;

/* Embeds paths[0..n). Returns FE_OK even when some images fail (see out->failed); a failure
 * of the run itself (memory, session) is returned as a status with fe_last_error() set.
 * Free out with cli_embedset_free in every case. */
fe_status cli_embedset_run(const fe_model *model, const char *const *paths, size_t n,
                           const cli_embedset_opts *opt, cli_embedset *out);
void cli_embedset_free(cli_embedset *set);

#endif
