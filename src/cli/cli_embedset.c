/*
 * cli_embedset.c — many images to raw descriptors on several threads (cli_embedset.h).
 *
 * Work is cut into chunks of CHUNK images; a thread takes the next chunk from a shared
 * counter, loads and aligns each image, embeds the chunk's chips with one fe_embed_batch
 * (the whole-image mode embeds one by one: images may differ in size) and writes the
 * descriptors into the chunk's own rows, so threads never write the same memory. Failures are
 * kept per image; each thread remembers the message of its lowest failing index and the run
 * reports the lowest of those, so the message does not depend on scheduling.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_embedset.h"
#include "align.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
typedef atomic_size_t counter;
#define COUNTER_ADD(c, v) atomic_fetch_add(&(c), (v))
#else
typedef size_t counter;
#define COUNTER_ADD(c, v) (((c) += (v)) - (v))   /* single-threaded builds only */
#endif

#define CHUNK 8
#define MAX_THREADS 64

typedef struct worker {
    fe_session  *session;
    fe_features *feat;          /* CHUNK features                                           */
    size_t       first_failed;  /* lowest failed index seen by this thread (SIZE_MAX: none) */
    char         error[512];
} worker;

typedef struct job {
    const fe_model          *model;
    const char *const       *paths;
    size_t                   n, n_chunks;
    const cli_embedset_opts *opt;
    cli_embedset            *out;
    worker                  *w;
    counter                  done;
    cli_progress            *prog;
} job;

static void note_failure(worker *w, size_t i, const char *path, fe_status st) {
    if (i >= w->first_failed) return;
    w->first_failed = i;
    const char *d = fe_last_error();
    snprintf(w->error, sizeof w->error, "%s: %s%s%s", path, fe_status_str(st), d[0] ? ": " : "", d);
}

static void run_chunk(job *jb, int tid, size_t c) {
    worker *w = &jb->w[tid];
    const cli_embedset_opts *opt = jb->opt;
    size_t i0 = c * CHUNK, i1 = i0 + CHUNK < jb->n ? i0 + CHUNK : jb->n;
    fe_image *chip[CHUNK] = {0};
    const uint8_t *px[CHUNK];
    size_t where[CHUNK], m = 0;
    for (size_t i = i0; i < i1; i++) {
        fe_image *img = NULL;
        fe_status st = fe_image_load(jb->paths[i], &img);
        if (st == FE_OK && opt->mode == CLI_ALIGN_WHOLE) {
            st = fe_embed_image(w->session, img, &w->feat[0]);
            if (st == FE_OK)
                memcpy(jb->out->descriptor + i * FE_DESC_DIM, w->feat[0].descriptor,
                       sizeof w->feat[0].descriptor);
        } else if (st == FE_OK) {
            fe_landmarks lm;
            const fe_landmarks *use = NULL;
            if (opt->mode == CLI_ALIGN_LANDMARKS) {
                if (opt->landmarks) {
                    fe_status fs = fe_landmark_list_find(opt->landmarks, jb->paths[i], &lm, NULL);
                    if (fs == FE_OK) use = &lm;
                    else if (fs != FE_E_NOT_FOUND) st = fs;
                }
                if (!use && st == FE_OK) jb->out->fallback[i] = 1;
            }
            if (st == FE_OK) st = fe__align_chip_with(img, use, &opt->tmpl, FE_BORDER_CONSTANT, &chip[m]);
            if (st == FE_OK) {
                px[m] = chip[m]->data;
                where[m++] = i;
            }
        }
        fe_image_free(img);
        if (st != FE_OK) {
            jb->out->failed[i] = 1;
            note_failure(w, i, jb->paths[i], st);
        }
    }
    if (m) {
        fe_status st = fe_embed_batch(w->session, px, m, w->feat);
        for (size_t k = 0; k < m; k++) {
            size_t i = where[k];
            if (st == FE_OK) {
                memcpy(jb->out->descriptor + i * FE_DESC_DIM, w->feat[k].descriptor,
                       sizeof w->feat[k].descriptor);
            } else {
                jb->out->failed[i] = 1;
                note_failure(w, i, jb->paths[i], st);
            }
            fe_image_free(chip[k]);
        }
    }
    size_t done = COUNTER_ADD(jb->done, i1 - i0) + (i1 - i0);
    /* only thread 0 draws: the progress line is not thread-safe */
    if (tid == 0 && jb->prog) cli_progress_update(jb->prog, done);
}

/* cli_par_fn over chunks */
static void chunk_fn(void *ctx, int tid, size_t c) { run_chunk(ctx, tid, c); }

void cli_embedset_free(cli_embedset *set) {
    if (!set) return;
    free(set->descriptor);
    free(set->fallback);
    free(set->failed);
    memset(set, 0, sizeof *set);
}

fe_status cli_embedset_run(const fe_model *model, const char *const *paths, size_t n,
                           const cli_embedset_opts *opt, cli_embedset *out) {
    memset(out, 0, sizeof *out);
    double t0 = cli_now();
    out->n = n;
    if (n > SIZE_MAX / (FE_DESC_DIM * sizeof(float))) return FE_E_OVERFLOW;
    out->descriptor = calloc(n ? n * FE_DESC_DIM : 1, sizeof(float));
    out->fallback = calloc(n ? n : 1, 1);
    out->failed = calloc(n ? n : 1, 1);
    if (!out->descriptor || !out->fallback || !out->failed) return FE_E_NOMEM;
    size_t n_chunks = (n + CHUNK - 1) / CHUNK;
    int nt = opt->n_threads < 1 ? 1 : opt->n_threads > MAX_THREADS ? MAX_THREADS : opt->n_threads;
    if ((size_t)nt > n_chunks) nt = n_chunks ? (int)n_chunks : 1;
    worker w[MAX_THREADS];
    memset(w, 0, sizeof w);
    fe_status st = FE_OK;
    for (int k = 0; k < nt && st == FE_OK; k++) {
        w[k].first_failed = SIZE_MAX;
        w[k].feat = malloc(CHUNK * sizeof *w[k].feat);
        if (!w[k].feat) st = FE_E_NOMEM;
        else st = fe_session_create(model, &w[k].session);
        if (st == FE_OK) fe__session_set_threads(w[k].session, 1);   /* parallel over images */
    }
    if (st == FE_OK) {
        job jb;
        memset(&jb, 0, sizeof jb);
        jb.model = model;
        jb.paths = paths;
        jb.n = n;
        jb.n_chunks = n_chunks;
        jb.opt = opt;
        jb.out = out;
        jb.w = w;
        cli_progress prog;
        if (opt->progress_label) {
            cli_progress_begin(&prog, opt->progress_label, n);
            jb.prog = &prog;
        }
        cli_parallel_for(nt, n_chunks, chunk_fn, &jb);
        if (jb.prog) cli_progress_end(jb.prog);
        out->threads_used = nt;
        out->first_failed = SIZE_MAX;
        for (int k = 0; k < nt; k++) {
            if (w[k].first_failed < out->first_failed) {
                out->first_failed = w[k].first_failed;
                memcpy(out->first_error, w[k].error, sizeof out->first_error);
            }
        }
        for (size_t i = 0; i < n; i++) {
            out->n_failed += out->failed[i];
            out->n_fallback += out->fallback[i] && !out->failed[i];
        }
    }
    for (int k = 0; k < nt; k++) {
        fe_session_destroy(w[k].session);
        free(w[k].feat);
    }
    out->seconds = cli_now() - t0;
    return st;
}
