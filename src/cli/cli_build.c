/*
 * cli_build.c — folders of photos to gallery faces (declared in cli_build.h): the LFW folder
 * scan and the parallel embedding that appends faces to a gallery in input order.
 *
 * Embedding runs in rounds: a round's faces are cut into chunks of CHUNK images, each chunk
 * decoded, aligned and embedded as one fe_embed_batch by whichever thread takes it (one
 * single-threaded session per thread), into the round's slots; then the main thread appends
 * the slots in order. fe_embed_batch equals fe_embed bit for bit, so chunking and thread count
 * never change a number.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_build.h"
#include "gallery.h"
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#define CLI_ATOMIC 1
#endif

/* ---- face lists ----------------------------------------------------------------------- */

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void cli_faces_free(cli_faces *f) {
    for (size_t i = 0; i < f->n; i++) {
        free(f->face[i].label);
        free(f->face[i].path);
        free(f->face[i].stored);
    }
    for (size_t i = 0; i < f->n_skip; i++) {
        free(f->skip[i].path);
        free(f->skip[i].reason);
    }
    for (size_t i = 0; i < f->n_fallback_paths; i++) free(f->fallback_paths[i]);
    free(f->face);
    free(f->skip);
    free(f->fallback_paths);
    memset(f, 0, sizeof *f);
}

static int grow(void **p, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 1;
    size_t nc = *cap ? *cap * 2 : 64;
    if (nc > SIZE_MAX / elem) return 0;
    void *q = realloc(*p, nc * elem);
    if (!q) return 0;
    *p = q;
    *cap = nc;
    return 1;
}

int cli_faces_add(cli_faces *f, const char *label, const char *path, const char *stored) {
    if (!grow((void **)&f->face, &f->cap, f->n, sizeof *f->face)) return 0;
    cli_face c = {dup_str(label), dup_str(path), dup_str(stored ? stored : path)};
    if (!c.label || !c.path || !c.stored) {
        free(c.label);
        free(c.path);
        free(c.stored);
        return 0;
    }
    f->face[f->n++] = c;
    return 1;
}

int cli_faces_skip(cli_faces *f, const char *path, const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (!grow((void **)&f->skip, &f->skip_cap, f->n_skip, sizeof *f->skip)) return 0;
    cli_skip s = {dup_str(path), dup_str(reason)};
    if (!s.path || !s.reason) {
        free(s.path);
        free(s.reason);
        return 0;
    }
    f->skip[f->n_skip++] = s;
    return 1;
}

/* ---- the folder scan ------------------------------------------------------------------ */

int cli_is_image_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    unsigned char head[16];
    size_t n = fread(head, 1, sizeof head, fp);
    fclose(fp);
    fe_image_header h;
    /* a signature is all fe_image_info needs to tell "not an image" (FE_E_MAGIC) from
     * "an image, cut short here" */
    return fe_image_info(head, n, &h) != FE_E_MAGIC;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir, without "." entries and hidden files. 0 and errno on failure. */
static int list_dir(const char *dir, char ***out, size_t *count) {
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int ok = 1;
    while (ok && (errno = 0, e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *s = dup_str(e->d_name);
        if (!s || !grow((void **)&names, &cap, n, sizeof *names)) {
            free(s);
            ok = 0;
            break;
        }
        names[n++] = s;
    }
    if (ok && errno) ok = 0;
    int saved = errno;
    closedir(d);
    if (!ok) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        errno = saved ? saved : ENOMEM;
        return 0;
    }
    if (n) qsort(names, n, sizeof *names, by_name);
    *out = names;
    *count = n;
    return 1;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static char *join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *p = malloc(la + slash + lb + 1);
    if (!p) return NULL;
    memcpy(p, a, la);
    if (slash) p[la] = '/';
    memcpy(p + la + slash, b, lb + 1);
    return p;
}

static int nomem(void) {
    fprintf(stderr, "faceemd: out of memory while listing files\n");
    return CLI_FAIL;
}

/* One file found in an identity folder (or the --label folder). */
static int take_file(cli_faces *out, const char *label, const char *path, const char *stored) {
    struct stat sb;
    if (stat(path, &sb) != 0) return cli_faces_skip(out, path, "cannot stat: %s", strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return cli_faces_skip(out, path, "folder inside an identity folder (not searched)");
    if (!S_ISREG(sb.st_mode)) return cli_faces_skip(out, path, "not a regular file");
    if (!cli_is_image_file(path)) return cli_faces_skip(out, path, "not an image (JPEG, PNG, PPM/PGM)");
    return cli_faces_add(out, label, path, stored);
}

int cli_scan_identity_dirs(const char *dir, const char *label, cli_faces *out) {
    char **top;
    size_t n_top;
    if (!list_dir(dir, &top, &n_top)) {
        fprintf(stderr, "faceemd: %s: cannot read the folder: %s\n", dir, strerror(errno));
        return CLI_FAIL;
    }
    int ok = 1;
    for (size_t i = 0; ok && i < n_top; i++) {
        char *path = join(dir, top[i]);
        if (!path) { ok = 0; break; }
        struct stat sb;
        if (label) {
            ok = take_file(out, label, path, top[i]);
        } else if (stat(path, &sb) != 0) {
            ok = cli_faces_skip(out, path, "cannot stat: %s", strerror(errno));
        } else if (!S_ISDIR(sb.st_mode)) {
            ok = cli_faces_skip(out, path, "not inside an identity folder (DIR/<identity>/<image>)");
        } else {
            char **files;
            size_t n_files;
            if (!list_dir(path, &files, &n_files)) {
                ok = errno == ENOMEM ? 0 : cli_faces_skip(out, path, "cannot read the folder: %s", strerror(errno));
            } else {
                for (size_t j = 0; ok && j < n_files; j++) {
                    char *fp = join(path, files[j]), *stored = join(top[i], files[j]);
                    ok = fp && stored && take_file(out, top[i], fp, stored);
                    free(fp);
                    free(stored);
                }
                free_names(files, n_files);
            }
        }
        free(path);
    }
    free_names(top, n_top);
    return ok ? CLI_OK : nomem();
}

/* ---- test pauses ---------------------------------------------------------------------- */

static void test_pause(void) {
    fprintf(stderr, "faceemd: test pause\n");
    fflush(stderr);
    for (;;) pause();   /* until the test's SIGKILL */
}

static uint64_t pause_at_bytes;

static void pause_hook(void *ctx, uint64_t written) {
    (void)ctx;
    if (written >= pause_at_bytes) test_pause();
}

void cli_test_pause_in_save_arm(void) {
    const char *env = getenv("FE_TEST_PAUSE_IN_SAVE");
    if (env && *env) {
        pause_at_bytes = strtoull(env, NULL, 10);
        fe__gallery_set_write_hook(pause_hook, NULL);
    }
}

/* ---- parallel embedding --------------------------------------------------------------- */

#define CHUNK 8          /* images per fe_embed_batch                                       */
#define CHUNKS_PER_THREAD 4

typedef struct slot {
    int  ok, fallback;
    char err[400];
} slot;

typedef struct embed_ctx {
    cli_faces           *faces;
    const cli_landmarks *lm;
    fe_session         **sess;        /* per thread                                         */
    fe_features        **tmp;         /* per thread: CHUNK features                         */
    size_t               base;        /* first face of the round                            */
    size_t               n_round;
    fe_features         *feat;        /* the round's slots                                  */
    slot                *slots;
    cli_progress        *prog;        /* NULL: no progress line                             */
    size_t               pause_after; /* 0: never (test hook); counted over all rounds      */
#if defined(CLI_ATOMIC)
    atomic_size_t        done;
#else
    size_t               done;
#endif
} embed_ctx;

static void embed_chunk(void *arg, int tid, size_t c) {
    embed_ctx *cx = arg;
    size_t i0 = c * CHUNK, i1 = i0 + CHUNK < cx->n_round ? i0 + CHUNK : cx->n_round;
    fe_image *chip[CHUNK];
    const uint8_t *px[CHUNK];
    size_t where[CHUNK], m = 0;
    for (size_t i = i0; i < i1; i++) {
        slot *s = &cx->slots[i];
        const cli_face *f = &cx->faces->face[cx->base + i];
        cli_chip_info info;
        fe_image *img = NULL;
        fe_status st = cli_image_chip(cx->lm, f->path, &img, &info);
        s->ok = 0;
        s->fallback = info.fallback;
        if (st != FE_OK) {
            const char *d = fe_last_error();
            snprintf(s->err, sizeof s->err, "%s%s%s", fe_status_str(st), d[0] ? ": " : "", d);
            continue;
        }
        chip[m] = img;
        px[m] = img->data;
        where[m++] = i;
    }
    if (m) {
        fe_status st = fe_embed_batch(cx->sess[tid], px, m, cx->tmp[tid]);
        for (size_t k = 0; k < m; k++) {
            slot *s = &cx->slots[where[k]];
            if (st == FE_OK) {
                cx->feat[where[k]] = cx->tmp[tid][k];
                s->ok = 1;
            } else {
                snprintf(s->err, sizeof s->err, "%s: %s", fe_status_str(st), fe_last_error());
            }
            fe_image_free(chip[k]);
        }
    }
#if defined(CLI_ATOMIC)
    size_t done = atomic_fetch_add(&cx->done, i1 - i0) + (i1 - i0);
#else
    size_t done = (cx->done += i1 - i0);
#endif
    /* only thread 0 draws (the progress line is not thread-safe); counts include past rounds */
    if (tid == 0 && cx->prog) cli_progress_update(cx->prog, cx->base + done);
    if (cx->pause_after && cx->base + done >= cx->pause_after) test_pause();
}

int cli_embed_into_gallery(const fe_model *model, cli_faces *faces, const cli_embed_opts *opt,
                           fe_gallery *g, size_t *out_added) {
    *out_added = 0;
    int nt = opt->n_threads < 1 ? 1 : opt->n_threads;
    size_t per_round = (size_t)nt * CHUNK * CHUNKS_PER_THREAD;
    if (per_round > faces->n) per_round = faces->n ? faces->n : 1;
    if ((size_t)nt > (per_round + CHUNK - 1) / CHUNK) nt = (int)((per_round + CHUNK - 1) / CHUNK);
    embed_ctx cx;
    memset(&cx, 0, sizeof cx);
    cx.faces = faces;
    cx.lm = opt->lm;
    cx.sess = calloc((size_t)nt, sizeof *cx.sess);
    cx.tmp = calloc((size_t)nt, sizeof *cx.tmp);
    cx.feat = malloc(per_round * sizeof *cx.feat);
    cx.slots = calloc(per_round, sizeof *cx.slots);
    int rc = CLI_OK;
    fe_status st = FE_OK;
    if (!cx.sess || !cx.tmp || !cx.feat || !cx.slots) st = FE_E_NOMEM;
    for (int t = 0; st == FE_OK && t < nt; t++) {
        st = fe_session_create(model, &cx.sess[t]);
        if (st == FE_OK) {
            fe__session_set_threads(cx.sess[t], 1);   /* parallel over images instead */
            cx.tmp[t] = malloc(CHUNK * sizeof *cx.tmp[t]);
            if (!cx.tmp[t]) st = FE_E_NOMEM;
        }
    }
    if (st != FE_OK) rc = cli_fail("embedding", st);
    const char *pa = getenv("FE_TEST_PAUSE_AFTER");
    cx.pause_after = pa && *pa ? (size_t)strtoul(pa, NULL, 10) : 0;
    cli_progress prog;
    if (opt->progress_label) cli_progress_begin(&prog, opt->progress_label, faces->n);
    for (size_t base = 0; rc == CLI_OK && base < faces->n; base += per_round) {
        cx.base = base;
        cx.n_round = faces->n - base < per_round ? faces->n - base : per_round;
        cx.prog = opt->progress_label ? &prog : NULL;
#if defined(CLI_ATOMIC)
        atomic_store(&cx.done, 0);
#else
        cx.done = 0;
#endif
        cli_parallel_for(nt, (cx.n_round + CHUNK - 1) / CHUNK, embed_chunk, &cx);
        for (size_t i = 0; rc == CLI_OK && i < cx.n_round; i++) {
            const cli_face *f = &faces->face[base + i];
            const slot *s = &cx.slots[i];
            if (!s->ok) {
                if (!cli_faces_skip(faces, f->path, "%s", s->err)) rc = cli_fail("embedding", FE_E_NOMEM);
                continue;
            }
            st = fe_gallery_add(g, f->label, f->stored, &cx.feat[i]);
            if (st == FE_E_ARG || st == FE_E_LIMIT || st == FE_E_NUMERIC) {
                const char *d = fe_last_error();
                if (!cli_faces_skip(faces, f->path, "not added: %s%s%s", fe_status_str(st), d[0] ? ": " : "", d))
                    rc = cli_fail("embedding", FE_E_NOMEM);
                continue;
            }
            if (st != FE_OK) {
                rc = cli_fail(f->path, st);
                break;
            }
            (*out_added)++;
            if (s->fallback) {
                if (faces->n_fallback_paths < 5) {
                    char **fp = realloc(faces->fallback_paths, (faces->n_fallback_paths + 1) * sizeof *fp);
                    if (fp) {
                        faces->fallback_paths = fp;
                        fp[faces->n_fallback_paths] = dup_str(f->path);
                        if (fp[faces->n_fallback_paths]) faces->n_fallback_paths++;
                    }
                }
                faces->fallbacks++;
            }
        }
        if (cx.prog) cli_progress_update(&prog, base + cx.n_round);
    }
    if (opt->progress_label) cli_progress_end(&prog);
    for (int t = 0; cx.sess && t < nt; t++) {
        fe_session_destroy(cx.sess[t]);
        if (cx.tmp) free(cx.tmp[t]);
    }
    free(cx.sess);
    free(cx.tmp);
    free(cx.feat);
    free(cx.slots);
    return rc;
}
