/*
 * cli_index.c — `faceemd index <subcommand>`: the gallery index (weights/INDEX-FORMAT.md).
 *
 * Subcommands live in one table (name, summary, function). Each parses its own options with
 * cli_parse under the name "index <sub>", so --help and usage errors name the full command.
 * build and add read photos through cli_build.h (folder scan, parallel embedding in input
 * order) and write with fe_gallery_save, which is atomic: until the final rename, any index
 * already at the output path stays as it was, whatever happens to this process.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_build.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *dtype_name(fe_gallery_dtype d) { return d == FE_GALLERY_F16 ? "fp16" : "fp32"; }

/* ---- index info ----------------------------------------------------------------------- */

static int index_info(int argc, char **argv) {
    int json = 0, no_crc = 0, n_pos;
    const cli_option options[] = {
        {"json", 0, NULL, NULL, &json, "print one JSON object instead of text"},
        {"no-crc", 0, NULL, NULL, &no_crc, "skip the CRC-32 checks (faster on large indexes)"},
        {NULL, 0, NULL, NULL, NULL, NULL}};
    const cli_command cmd = {
        "index info", "[--json] [--no-crc] FILE.fei",
        "Validates a gallery index and prints its counts, dimensions, storage type, sizes and\n"
        "checksum status. Exit status 1 if the file is damaged (the message names the field).",
        options, 1, 1};
    int rc = cli_parse(&cmd, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    const char *path = argv[1];
    fe_gallery_options opt;
    fe_gallery_options_default(&opt);
    opt.verify_crc = !no_crc;
    fe_gallery *g;
    fe_status st = fe_gallery_load(path, &opt, &g);
    if (st != FE_OK) {
        if (json) {
            printf("{\"file\": ");
            cli_json_string(stdout, path);
            printf(", \"status\": \"%s\", \"error\": ", fe_status_name(st));
            cli_json_string(stdout, fe_last_error());
            printf("}\n");
        }
        return cli_fail(path, st);
    }
    fe_gallery_info in;
    fe_gallery_get_info(g, &in);
    size_t multi = 0;
    for (size_t id = 0; id < in.n_identities; id++) multi += fe_gallery_identity_faces(g, id) >= 2;
    const char *crc = in.checksums_verified ? "ok" : "not checked";
    if (json) {
        printf("{\"file\": ");
        cli_json_string(stdout, path);
        printf(", \"version\": \"%u.%u\", \"faces\": %zu, \"identities\": %zu, \"identities_multi\": %zu, "
               "\"emb_dim\": %u, \"map4\": [4, 4, %u], \"map8\": [8, 8, %u], \"patch_dtype\": \"%s\", "
               "\"bytes\": {\"file\": %llu, \"embeddings\": %llu, \"map4\": %llu, \"map8\": %llu, "
               "\"pooled\": %llu, \"text\": %llu}, \"checksums\": \"%s\", \"meta\": [",
               in.version_major, in.version_minor, in.n_faces, in.n_identities, multi, in.emb_dim,
               in.map4_dim, in.map8_dim, dtype_name(in.patch_dtype), (unsigned long long)in.file_bytes,
               (unsigned long long)in.embedding_bytes, (unsigned long long)in.map4_bytes,
               (unsigned long long)in.map8_bytes, (unsigned long long)in.pooled_bytes,
               (unsigned long long)in.text_bytes, crc);
        for (size_t i = 0; i < fe_gallery_meta_count(g); i++) {
            const char *k, *v;
            fe_gallery_meta_at(g, i, &k, &v);
            printf("%s{\"key\": ", i ? ", " : "");
            cli_json_string(stdout, k);
            printf(", \"value\": ");
            cli_json_string(stdout, v);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("file         %s\n", path);
        printf("format       faceemd gallery index %u.%u\n", in.version_major, in.version_minor);
        printf("faces        %zu\n", in.n_faces);
        printf("identities   %zu (%zu with 2 or more faces)\n", in.n_identities, multi);
        printf("embedding    %u fp32, unit length            %12llu bytes\n", in.emb_dim,
               (unsigned long long)in.embedding_bytes);
        printf("map4         4x4x%u %s, unit cells      %12llu bytes\n", in.map4_dim,
               dtype_name(in.patch_dtype), (unsigned long long)in.map4_bytes);
        printf("map8         8x8x%u %s, unit cells      %12llu bytes\n", in.map8_dim,
               dtype_name(in.patch_dtype), (unsigned long long)in.map8_bytes);
        printf("pooled       %u + %u fp32                  %12llu bytes\n", in.map4_dim, in.map8_dim,
               (unsigned long long)in.pooled_bytes);
        printf("labels/paths                                %12llu bytes\n", (unsigned long long)in.text_bytes);
        printf("file size                                   %12llu bytes\n", (unsigned long long)in.file_bytes);
        printf("checksums    %s\n", in.checksums_verified ? "ok (header and every section, CRC-32)" : crc);
        for (size_t i = 0; i < fe_gallery_meta_count(g); i++) {
            const char *k, *v;
            fe_gallery_meta_at(g, i, &k, &v);
            printf("meta         %s = %s\n", k, v);
        }
    }
    fe_gallery_free(g);
    return CLI_OK;
}

/* ---- index build / index add ---------------------------------------------------------- */

/* What build and add share: options, then landmarks, model, threads. */
typedef struct build_args {
    const char *out, *landmarks, *threads, *model, *label;
    int         fp16, json;
} build_args;

typedef struct build_env {
    cli_landmarks lm;
    fe_model     *model;
    int           n_threads;
} build_env;

static int env_open(build_env *e, const build_args *a, const char *cmd) {
    memset(e, 0, sizeof *e);
    long nt = cli_threads_default();
    if (a->threads && !cli_parse_long(a->threads, 1, 256, "--threads", &nt)) return CLI_USAGE;
    e->n_threads = (int)nt;
    int rc = cli_landmarks_open(&e->lm, cmd, a->landmarks);
    if (rc != CLI_OK) return rc;
    const char *mpath = a->model ? a->model : cli_default_model_path();
    fe_status st = fe_model_open(mpath, NULL, &e->model);
    if (st != FE_OK) return cli_fail(mpath, st);
    return CLI_OK;
}

static void env_close(build_env *e) {
    fe_model_close(e->model);
    cli_landmarks_close(&e->lm);
}

static const char *landmark_source(const build_env *e) {
    return e->lm.list ? e->lm.arg : e->lm.have_one ? "one set for all images" : "none (centre crop)";
}

/* The closing report of build/add: text for people, or one JSON object. */
static void print_summary(const char *verb, const char *path, const fe_gallery *g, const cli_faces *f,
                          size_t added, const build_env *e, double secs, int json) {
    fe_gallery_info in;
    fe_gallery_get_info(g, &in);
    double rate = secs > 0 ? (double)f->n / secs : 0;
    if (json) {
        printf("{\"command\": \"index %s\", \"output\": ", verb);
        cli_json_string(stdout, path);
        printf(", \"faces\": %zu, \"identities\": %zu, \"added\": %zu, \"fallbacks\": %zu, "
               "\"patch_dtype\": \"%s\", \"bytes\": %llu, \"threads\": %d, \"seconds\": ",
               in.n_faces, in.n_identities, added, f->fallbacks, dtype_name(in.patch_dtype),
               (unsigned long long)in.file_bytes, e->n_threads);
        cli_json_float(stdout, secs);
        printf(", \"images_per_second\": ");
        cli_json_float(stdout, rate);
        printf(", \"landmarks\": ");
        cli_json_string(stdout, landmark_source(e));
        printf(", \"skipped\": [");
        for (size_t i = 0; i < f->n_skip; i++) {
            printf("%s{\"path\": ", i ? ", " : "");
            cli_json_string(stdout, f->skip[i].path);
            printf(", \"reason\": ");
            cli_json_string(stdout, f->skip[i].reason);
            printf("}");
        }
        printf("]}\n");
        return;
    }
    printf("%s %zu face%s: %s now holds %zu faces of %zu identities (%s patch maps, %.1f MiB)\n",
           verb[0] == 'b' ? "indexed" : "added", added, added == 1 ? "" : "s", path, in.n_faces,
           in.n_identities, dtype_name(in.patch_dtype), (double)in.file_bytes / 1048576.0);
    printf("  %.1f s, %.1f images/s on %d thread%s (%s)\n", secs, rate, e->n_threads,
           e->n_threads == 1 ? "" : "s", cli_threads_backend());
    printf("  alignment: landmarks from %s; %zu centre-crop fallback%s", landmark_source(e), f->fallbacks,
           f->fallbacks == 1 ? "" : "s");
    if (f->fallbacks && e->lm.list) printf(" (no row in the TSV)");
    printf("\n");
    for (size_t i = 0; i < f->n_fallback_paths; i++) printf("    %s\n", f->fallback_paths[i]);
    if (f->fallbacks > f->n_fallback_paths) printf("    ... and %zu more\n", f->fallbacks - f->n_fallback_paths);
    printf("  skipped %zu file%s%s\n", f->n_skip, f->n_skip == 1 ? "" : "s", f->n_skip ? ":" : "");
    for (size_t i = 0; i < f->n_skip && i < 20; i++) printf("    %s: %s\n", f->skip[i].path, f->skip[i].reason);
    if (f->n_skip > 20) printf("    ... and %zu more (--json lists all)\n", f->n_skip - 20);
}

/* Embeds the listed faces into g, saves atomically to path, prints the summary. */
static int embed_and_save(const char *verb, const char *path, fe_gallery *g, cli_faces *faces,
                          build_env *e, const char *history, int json) {
    double t0 = cli_now();
    size_t added = 0;
    cli_embed_opts eo = {&e->lm, e->n_threads, verb[0] == 'b' ? "indexing" : "adding"};
    int rc = cli_embed_into_gallery(e->model, faces, &eo, g, &added);
    if (rc != CLI_OK) return rc;
    double secs = cli_now() - t0;
    if (added == 0 && verb[0] == 'b') {
        for (size_t i = 0; i < faces->n_skip && i < 20; i++)
            fprintf(stderr, "faceemd: %s: %s\n", faces->skip[i].path, faces->skip[i].reason);
        fprintf(stderr, "faceemd: %s: no face could be indexed; %s left as it was\n", verb, path);
        return CLI_FAIL;
    }
    char line[4400];
    snprintf(line, sizeof line, "%s: %zu faces; landmarks: %.1000s", history, added, landmark_source(e));
    fe_status st = fe_gallery_meta_add(g, "history", line);
    if (st != FE_OK) return cli_fail(path, st);
    cli_test_pause_in_save_arm();
    if ((st = fe_gallery_save(g, path)) != FE_OK) return cli_fail(path, st);
    print_summary(verb, path, g, faces, added, e, secs, json);
    return CLI_OK;
}

static int index_build(int argc, char **argv) {
    build_args a = {0};
    int n_pos;
    const cli_option options[] = {
        {"output", 'o', "FILE.fei", &a.out, NULL, "the index to write (required; replaced atomically)"},
        {"landmarks", 0, "LM", &a.landmarks, NULL, "landmark TSV (keys like Name/Name_0001.jpg) or x1,y1,...,x5,y5"},
        {"threads", 0, "N", &a.threads, NULL, "images embedded in parallel (default: CPUs online)"},
        {"fp16", 0, NULL, NULL, &a.fp16, "store patch maps as fp16 (half the size)"},
        {"model", 'm', "PATH", &a.model, NULL, "weight blob (default: weights/faceres.feb)"},
        {"json", 0, NULL, NULL, &a.json, "print the summary as one JSON object"},
        {NULL, 0, NULL, NULL, NULL, NULL}};
    const cli_command cmd = {
        "index build", "DIR -o FILE.fei [--landmarks LM] [--threads N] [--fp16] [--model PATH] [--json]",
        "Builds a gallery index from DIR/<identity>/<image> (one sub-folder per person, as LFW).\n"
        "Every file whose content is a JPEG, PNG or PPM/PGM image is aligned to a chip (with its\n"
        "row of the landmark TSV; without one, the fixed centre crop, counted in the summary),\n"
        "embedded, and stored with its identity and path. Files that are not images, or cannot\n"
        "be read, are skipped and listed with the reason. The result does not depend on --threads.\n"
        "The index is written to a temporary file and renamed into place, so an interrupted build\n"
        "leaves any previous FILE.fei intact.",
        options, 1, 1};
    int rc = cli_parse(&cmd, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    if (!a.out) return cli_usage_error("index build", "missing -o FILE.fei");
    const char *dir = argv[1];
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "faceemd: %s: not a folder (index build reads DIR/<identity>/<image>)\n", dir);
        return CLI_FAIL;
    }
    build_env e;
    if ((rc = env_open(&e, &a, "index build")) != CLI_OK) {
        env_close(&e);
        return rc;
    }
    cli_faces faces = {0};
    fe_gallery *g = NULL;
    rc = cli_scan_identity_dirs(dir, NULL, &faces);
    if (rc == CLI_OK && faces.n == 0) {
        fprintf(stderr, "faceemd: %s: no images found in DIR/<identity>/ (%zu other files skipped)\n", dir,
                faces.n_skip);
        rc = CLI_FAIL;
    }
    fe_gallery_options go;
    fe_gallery_options_default(&go);
    go.patch_dtype = a.fp16 ? FE_GALLERY_F16 : FE_GALLERY_F32;
    fe_status st;
    if (rc == CLI_OK && (st = fe_gallery_create(&go, &g)) != FE_OK) rc = cli_fail(a.out, st);
    if (rc == CLI_OK && ((st = fe_gallery_meta_add(g, "created_by", "faceemd index build")) != FE_OK ||
                         (st = fe_gallery_meta_add(g, "source", dir)) != FE_OK))
        rc = cli_fail(a.out, st);
    if (rc == CLI_OK) {
        char history[4200];
        snprintf(history, sizeof history, "build %.4000s", dir);
        rc = embed_and_save("build", a.out, g, &faces, &e, history, a.json);
    }
    fe_gallery_free(g);
    cli_faces_free(&faces);
    env_close(&e);
    return rc;
}

typedef struct path_key {
    const char *label, *path;
} path_key;

static int by_key(const void *pa, const void *pb) {
    const path_key *a = pa, *b = pb;
    int c = strcmp(a->path, b->path);
    return c ? c : strcmp(a->label, b->label);
}

/* The parent folder's name of path ("x/Ann/Ann_1.jpg" -> "Ann"), in buf; NULL if none. */
static const char *parent_name(const char *path, char *buf, size_t cap) {
    const char *end = strrchr(path, '/');
    if (!end) return NULL;
    const char *start = end;
    while (start > path && start[-1] != '/') start--;
    size_t n = (size_t)(end - start);
    if (n == 0 || n >= cap || (n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.'))
        return NULL;
    memcpy(buf, start, n);
    buf[n] = 0;
    return buf;
}

static int index_add(int argc, char **argv) {
    build_args a = {0};
    int n_pos;
    const cli_option options[] = {
        {"label", 'l', "L", &a.label, NULL, "identity of every image given (and of DIR's own images)"},
        {"landmarks", 0, "LM", &a.landmarks, NULL, "landmark TSV (keys like Name/Name_0001.jpg) or x1,y1,...,x5,y5"},
        {"threads", 0, "N", &a.threads, NULL, "images embedded in parallel (default: CPUs online)"},
        {"model", 'm', "PATH", &a.model, NULL, "weight blob (default: weights/faceres.feb)"},
        {"json", 0, NULL, NULL, &a.json, "print the summary as one JSON object"},
        {NULL, 0, NULL, NULL, NULL, NULL}};
    const cli_command cmd = {
        "index add", "FILE.fei DIR|IMAGE... [--label L] [--landmarks LM] [--threads N] [--model PATH] [--json]",
        "Adds faces to an existing index and rewrites it atomically. A DIR is read as by\n"
        "'index build' (DIR/<identity>/<image>); with --label, DIR is one person's folder and its\n"
        "images get label L. An IMAGE gets --label, or else the name of the folder it is in.\n"
        "Faces already in the index (same identity and path) are skipped. Patch maps keep the\n"
        "index's storage type (fp32 or fp16).",
        options, 2, -1};
    int rc = cli_parse(&cmd, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    const char *path = argv[1];
    fe_gallery *old = NULL, *g = NULL;
    fe_status st = fe_gallery_load(path, NULL, &old);
    if (st != FE_OK) return cli_fail(path, st);
    build_env e;
    if ((rc = env_open(&e, &a, "index add")) != CLI_OK) {
        env_close(&e);
        fe_gallery_free(old);
        return rc;
    }
    cli_faces faces = {0};
    for (int i = 2; rc == CLI_OK && i <= n_pos; i++) {
        const char *arg = argv[i];
        struct stat sb;
        char buf[1100];
        if (stat(arg, &sb) != 0) {
            fprintf(stderr, "faceemd: %s: no such file or folder\n", arg);
            rc = CLI_FAIL;
        } else if (S_ISDIR(sb.st_mode)) {
            rc = cli_scan_identity_dirs(arg, a.label, &faces);
        } else if (!cli_is_image_file(arg)) {
            if (!cli_faces_skip(&faces, arg, "not an image (JPEG, PNG, PPM/PGM)")) rc = cli_fail("index add", FE_E_NOMEM);
        } else {
            const char *label = a.label ? a.label : parent_name(arg, buf, sizeof buf);
            if (!label) {
                if (!cli_faces_skip(&faces, arg, "no identity: give --label, or keep the image in a folder named after the person"))
                    rc = cli_fail("index add", FE_E_NOMEM);
            } else if (!cli_faces_add(&faces, label, arg, NULL)) {
                rc = cli_fail("index add", FE_E_NOMEM);
            }
        }
    }
    /* faces already in the index: same path and label */
    size_t n_old = fe_gallery_size(old);
    path_key *keys = n_old ? malloc(n_old * sizeof *keys) : NULL;
    if (rc == CLI_OK && n_old && !keys) rc = cli_fail("index add", FE_E_NOMEM);
    if (rc == CLI_OK && n_old) {
        for (size_t i = 0; i < n_old; i++) keys[i] = (path_key){fe_gallery_label(old, i), fe_gallery_path(old, i)};
        qsort(keys, n_old, sizeof *keys, by_key);
        size_t w = 0;
        for (size_t i = 0; rc == CLI_OK && i < faces.n; i++) {
            path_key k = {faces.face[i].label, faces.face[i].stored};
            if (bsearch(&k, keys, n_old, sizeof *keys, by_key)) {
                if (!cli_faces_skip(&faces, faces.face[i].path, "already in the index as %s", k.label))
                    rc = cli_fail("index add", FE_E_NOMEM);
                free(faces.face[i].label);
                free(faces.face[i].path);
                free(faces.face[i].stored);
            } else {
                faces.face[w++] = faces.face[i];
            }
        }
        if (rc == CLI_OK) faces.n = w;
    }
    free(keys);
    fe_gallery_info oi;
    fe_gallery_get_info(old, &oi);
    fe_gallery_options go;
    fe_gallery_options_default(&go);
    go.patch_dtype = oi.patch_dtype;
    if (rc == CLI_OK && ((st = fe_gallery_create(&go, &g)) != FE_OK || (st = fe_gallery_append(g, old)) != FE_OK))
        rc = cli_fail(path, st);
    if (rc == CLI_OK) {
        char history[4200];
        snprintf(history, sizeof history, "add %d argument%s%s%.1000s", n_pos - 1, n_pos == 2 ? "" : "s",
                 a.label ? " as " : "", a.label ? a.label : "");
        rc = embed_and_save("add", path, g, &faces, &e, history, a.json);
    }
    fe_gallery_free(g);
    fe_gallery_free(old);
    cli_faces_free(&faces);
    env_close(&e);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} subcommands[] = {
    {"build", "index DIR/<identity>/<image> into a new FILE.fei (atomic)", index_build},
    {"add", "add faces (folders or images) to an existing index (atomic)", index_add},
    {"info", "validate an index and print its counts, sizes and checksum status", index_info},
};

static void index_usage(FILE *fp) {
    fprintf(fp, "usage: faceemd index <subcommand> [options]\n\n"
                "The gallery index: faces with identity labels and the features the search uses.\n\n"
                "subcommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(fp, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(fp, "\n'faceemd index <subcommand> --help' describes one.\n");
}

FE_VERB(index, "build, extend or inspect a gallery index (.fei)") {
    if (argc < 2) {
        index_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        index_usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0) return subcommands[i].run(argc - 1, argv + 1);
    return cli_usage_error("index", "unknown subcommand '%s'", argv[1]);
}
