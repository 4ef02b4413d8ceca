/*
 * cli_verify.c — `faceemd verify DATA_DIR --pairs FILE`: LFW face verification accuracy by
 * the 10-fold protocol (fe_verify_kfold; folds as fe_pair_list_folds), on cosine similarity of
 * the unit embeddings and on Euclidean distance of the raw descriptors (face-api's measure,
 * with its fixed 0.6 threshold as well), plus stage-1 nearest-neighbour P@1 (verify.h) on the
 * pair images and, with --people, on every image of the listed people.
 *
 * Each distinct image is embedded once (cli_embedset: all threads). DATA_DIR holds one folder
 * per person (LFW's layout, Name/Name_0001.jpg); when those are not there but DATA_DIR/images/
 * is, that is used (so the LFW folder itself can be given). Alignment: --align landmarks
 * (default; the template may be scaled and shifted for the template study), crop (the fixed
 * centre crop) or whole (the whole image resized, face-api's route without a detector).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_embedset.h"
#include "align.h"
#include "verify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- a set of distinct images, each with a person id ---------------------------------- */

typedef struct imageset {
    size_t    n, cap;
    char    **rel;        /* "Name/Name_0001.jpg"                                           */
    uint32_t *person;     /* index into names                                               */
    size_t    n_slots;    /* power of two > 2 * cap                                          */
    size_t   *slot;       /* image index + 1, 0 = empty; hashed on rel                       */
    size_t    n_names, names_cap;
    char    **names;
    size_t    name_slots;
    size_t   *name_slot;  /* name index + 1                                                  */
} imageset;

static uint64_t str_hash(const char *s) {
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

/* Finds s among keys via slots; inserts (returning the new index) when absent and add != 0.
 * Returns SIZE_MAX when absent (add == 0) or out of memory. */
static size_t str_find(char **keys, size_t *slot, size_t n_slots, const char *s) {
    for (size_t h = (size_t)str_hash(s) & (n_slots - 1); slot[h]; h = (h + 1) & (n_slots - 1))
        if (strcmp(keys[slot[h] - 1], s) == 0) return slot[h] - 1;
    return SIZE_MAX;
}

static void str_insert(char **keys, size_t *slot, size_t n_slots, size_t index) {
    size_t h = (size_t)str_hash(keys[index]) & (n_slots - 1);
    while (slot[h]) h = (h + 1) & (n_slots - 1);
    slot[h] = index + 1;
}

static int grow_table(char **keys, size_t n, size_t **slot, size_t *n_slots, size_t need) {
    if (*n_slots > 2 * need) return 1;
    size_t ns = *n_slots ? *n_slots : 64;
    while (ns <= 2 * need) ns *= 2;
    size_t *s = calloc(ns, sizeof *s);
    if (!s) return 0;
    free(*slot);
    *slot = s;
    *n_slots = ns;
    for (size_t i = 0; i < n; i++) str_insert(keys, s, ns, i);
    return 1;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static size_t person_id(imageset *S, const char *name) {
    size_t i = S->name_slot ? str_find(S->names, S->name_slot, S->name_slots, name) : SIZE_MAX;
    if (i != SIZE_MAX) return i;
    if (S->n_names == S->names_cap) {
        size_t nc = S->names_cap ? 2 * S->names_cap : 256;
        char **p = realloc(S->names, nc * sizeof *p);
        if (!p) return SIZE_MAX;
        S->names = p;
        S->names_cap = nc;
    }
    if (!grow_table(S->names, S->n_names, &S->name_slot, &S->name_slots, S->n_names + 1)) return SIZE_MAX;
    char *d = dup_str(name);
    if (!d) return SIZE_MAX;
    S->names[S->n_names] = d;
    str_insert(S->names, S->name_slot, S->name_slots, S->n_names);
    return S->n_names++;
}

/* Index of image `image` of `name`, added if new; SIZE_MAX when out of memory or the name is
 * invalid (the readers validated it already). */
static size_t image_id(imageset *S, const char *name, uint32_t image) {
    char rel[2 * FE_LFW_MAX_NAME + 32];
    if (fe_lfw_image_path(name, image, rel, sizeof rel) != FE_OK) return SIZE_MAX;
    size_t i = S->slot ? str_find(S->rel, S->slot, S->n_slots, rel) : SIZE_MAX;
    if (i != SIZE_MAX) return i;
    if (S->n == S->cap) {
        size_t nc = S->cap ? 2 * S->cap : 1024;
        char **r = realloc(S->rel, nc * sizeof *r);
        if (!r) return SIZE_MAX;
        S->rel = r;
        uint32_t *p = realloc(S->person, nc * sizeof *p);
        if (!p) return SIZE_MAX;
        S->person = p;
        S->cap = nc;
    }
    if (!grow_table(S->rel, S->n, &S->slot, &S->n_slots, S->n + 1)) return SIZE_MAX;
    size_t pid = person_id(S, name);
    char *d = pid == SIZE_MAX ? NULL : dup_str(rel);
    if (!d) return SIZE_MAX;
    S->rel[S->n] = d;
    S->person[S->n] = (uint32_t)pid;
    str_insert(S->rel, S->slot, S->n_slots, S->n);
    return S->n++;
}

static void imageset_free(imageset *S) {
    for (size_t i = 0; i < S->n; i++) free(S->rel[i]);
    for (size_t i = 0; i < S->n_names; i++) free(S->names[i]);
    free(S->rel);
    free(S->person);
    free(S->slot);
    free(S->names);
    free(S->name_slot);
    memset(S, 0, sizeof *S);
}

/* ---- options -------------------------------------------------------------------------- */

static const char *pairs_path, *landmarks_path, *people_path, *align_arg, *scale_arg, *shift_arg,
                  *threads_arg, *model_path;
static int json;

static const cli_option options[] = {
    {"pairs", 'p', "FILE", &pairs_path, NULL, "LFW pairs file (required), e.g. pairs.txt"},
    {"landmarks", 'l', "FILE.tsv", &landmarks_path, NULL, "5-point landmarks per image (TSV)"},
    {"align", 0, "MODE", &align_arg, NULL,
     "landmarks (default) | crop (fixed centre crop) | whole (whole image, no alignment)"},
    {"template-scale", 0, "S", &scale_arg, NULL, "METHOD.md's template scaled by S (0.25..4; default 1)"},
    {"template-shift", 0, "DY", &shift_arg, NULL, "... and moved DY chip pixels down (-75..75; default 5)"},
    {"people", 0, "FILE", &people_path, NULL, "also P@1 over every image of these people"},
    {"threads", 't', "N", &threads_arg, NULL, "images embedded in parallel (default: CPUs online)"},
    {"model", 'm', "PATH", &model_path, NULL, "weight blob (default: weights/faceres.feb)"},
    {"json", 0, NULL, NULL, &json, "print one JSON object (per-fold numbers included)"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "verify", "DATA_DIR --pairs FILE [--landmarks FILE.tsv] [--align MODE] [--threads N] [--json]",
    "LFW face verification accuracy by the 10-fold protocol: for each fold the threshold that\n"
    "is best on the other nine is applied to it; prints mean +- std (and the standard error)\n"
    "for cosine similarity and for Euclidean distance of the raw descriptors (face-api's\n"
    "measure; its fixed 0.6 threshold too), the threshold, per-fold numbers, centre-crop\n"
    "fallbacks, nearest-neighbour P@1 over the pair images, and the time taken.\n"
    "DATA_DIR holds Name/Name_0001.jpg (or DATA_DIR/images/ does). Folds: View 2 sets, or\n"
    "contiguous tenths of the matched and of the mismatched pairs (faceemd.h).\n"
    "--template-scale/--template-shift scale METHOD.md's template about its centroid and move\n"
    "it down (the template study, docs/ALIGNMENT.md); the default is 1 and 5, and\n"
    "FE_ALIGN_TEMPLATE='S,DY' sets both for every command.",
    options, 1, 1};

/* ---- scoring and output --------------------------------------------------------------- */

typedef struct measure {
    const char      *name;
    fe_verify_result r;
} measure;

static void print_measure_json(const measure *m, double at06) {
    const fe_verify_result *r = &m->r;
    printf("\"%s\": {\"accuracy\": ", m->name);
    cli_json_float(stdout, r->mean);
    cli_json_field(stdout, "std", r->std);
    cli_json_field(stdout, "std_error", r->std_error);
    cli_json_field(stdout, "threshold", r->threshold_all);
    cli_json_field(stdout, "accuracy_all", r->accuracy_all);
    if (!isnan(at06)) cli_json_field(stdout, "accuracy_at_0_6", at06);
    printf(", \"folds\": [");
    for (uint32_t k = 0; k < r->n_folds; k++) {
        const fe_verify_fold *f = &r->fold[k];
        printf("%s{\"threshold\": ", k ? ", " : "");
        cli_json_float(stdout, f->threshold);
        cli_json_field(stdout, "train_accuracy", f->train_accuracy);
        cli_json_field(stdout, "test_accuracy", f->test_accuracy);
        printf(", \"n\": %zu, \"correct\": %zu}", f->n_test, f->n_test_correct);
    }
    printf("]}");
}

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static char *join3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 3);
    if (!s) return NULL;
    memcpy(s, a, la);
    size_t o = la;
    if (lb) { s[o++] = '/'; memcpy(s + o, b, lb); o += lb; }
    if (lc) { s[o++] = '/'; memcpy(s + o, c, lc); o += lc; }
    s[o] = 0;
    return s;
}

static int nomem(void) { return cli_fail("verify", FE_E_NOMEM); }

/* P@1 over the images idx[0..m) of the set (unit embeddings), labels = person ids. */
static fe_status p1_over(const imageset *S, const float *unit, const size_t *idx, size_t m,
                         size_t *queries, size_t *correct) {
    float *e = malloc(m * FE_DESC_DIM * sizeof *e);
    uint32_t *lab = malloc(m * sizeof *lab);
    fe_status st = FE_E_NOMEM;
    if (e && lab) {
        for (size_t i = 0; i < m; i++) {
            memcpy(e + i * FE_DESC_DIM, unit + idx[i] * FE_DESC_DIM, FE_DESC_DIM * sizeof *e);
            lab[i] = S->person[idx[i]];
        }
        st = fe__nn_p1(e, m, FE_DESC_DIM, lab, queries, correct, NULL);
    }
    free(e);
    free(lab);
    return st;
}

FE_VERB(verify, "LFW 10-fold verification accuracy (cosine and Euclidean) and P@1") {
    int n_pos;
    pairs_path = landmarks_path = people_path = align_arg = scale_arg = shift_arg = NULL;
    threads_arg = model_path = NULL;
    json = 0;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    const char *data_dir = argv[1];
    if (!pairs_path) return cli_usage_error("verify", "--pairs FILE is required");
    cli_embedset_opts opt;
    memset(&opt, 0, sizeof opt);
    opt.mode = CLI_ALIGN_LANDMARKS;
    if (align_arg) {
        if (strcmp(align_arg, "landmarks") == 0) opt.mode = CLI_ALIGN_LANDMARKS;
        else if (strcmp(align_arg, "crop") == 0) opt.mode = CLI_ALIGN_CROP;
        else if (strcmp(align_arg, "whole") == 0) opt.mode = CLI_ALIGN_WHOLE;
        else return cli_usage_error("verify", "--align '%s': use landmarks, crop or whole", align_arg);
    }
    double scale = FE__ALIGN_DEFAULT_SCALE, shift = FE__ALIGN_DEFAULT_SHIFT;
    const char *env_tmpl = getenv("FE_ALIGN_TEMPLATE");
    int from_env = !scale_arg && !shift_arg && env_tmpl && *env_tmpl;   /* scale/shift unknown */
    if ((scale_arg || shift_arg) && opt.mode != CLI_ALIGN_LANDMARKS)
        return cli_usage_error("verify", "--template-scale/--template-shift apply to --align landmarks only");
    if (scale_arg && !cli_parse_float(scale_arg, 0.25, 4.0, "verify: --template-scale", &scale)) return CLI_USAGE;
    if (shift_arg && !cli_parse_float(shift_arg, -75.0, 75.0, "verify: --template-shift", &shift)) return CLI_USAGE;
    if (landmarks_path && opt.mode != CLI_ALIGN_LANDMARKS)
        return cli_usage_error("verify", "--landmarks applies to --align landmarks only");
    long nt = cli_threads_default();
    if (threads_arg && !cli_parse_long(threads_arg, 1, 64, "verify: --threads", &nt)) return CLI_USAGE;
    opt.n_threads = (int)nt;
    opt.progress_label = "embedding";   /* drawn only when stderr is a terminal */
    fe_status st;
    if (scale_arg || shift_arg) st = fe__align_template_scaled(scale, shift, &opt.tmpl);
    else st = fe_align_template(&opt.tmpl);   /* the default, or FE_ALIGN_TEMPLATE */
    if (st != FE_OK) return cli_fail("template", st);
    if (!is_dir(data_dir)) return cli_fail(data_dir, fe__fail(FE_E_IO, "not a directory"));

    double t_start = cli_now();
    fe_pair_list *pairs = NULL;
    fe_people_list *people = NULL;
    fe_landmark_list *lms = NULL;
    fe_model *model = NULL;
    imageset S;
    memset(&S, 0, sizeof S);
    cli_embedset E;
    memset(&E, 0, sizeof E);
    char **full = NULL;
    size_t *pair_img = NULL, *people_idx = NULL, n_people_img = 0;
    double *cos_s = NULL, *euc_s = NULL;
    float *unit = NULL;
    uint8_t *same = NULL;
    uint32_t *fold = NULL;
    rc = CLI_OK;

    st = fe_pair_list_load(pairs_path, &pairs);
    if (st != FE_OK) { rc = cli_fail(pairs_path, st); goto done; }
    if (fe_pair_list_folds(pairs) < 2) {
        rc = cli_fail(pairs_path, fe__fail(FE_E_COUNT, "%u fold: at least 2 matched pairs are needed",
                                           fe_pair_list_folds(pairs)));
        goto done;
    }
    if (people_path) {
        st = fe_people_list_load(people_path, &people);
        if (st != FE_OK) { rc = cli_fail(people_path, st); goto done; }
    }
    if (landmarks_path) {
        st = fe_landmark_list_load(landmarks_path, &lms);
        if (st != FE_OK) { rc = cli_fail(landmarks_path, st); goto done; }
    } else if (opt.mode == CLI_ALIGN_LANDMARKS) {
        fprintf(stderr, "faceemd: verify: no --landmarks: every image uses the fixed centre crop\n");
    }
    opt.landmarks = lms;
    const char *model_file = model_path ? model_path : cli_default_model_path();
    st = fe_model_open(model_file, NULL, &model);
    if (st != FE_OK) { rc = cli_fail(model_file, st); goto done; }

    /* the images: pairs first (pair_img[2i], [2i+1]), then the people's */
    size_t n_pairs = fe_pair_list_count(pairs);
    pair_img = malloc(2 * n_pairs * sizeof *pair_img);
    same = malloc(n_pairs);
    fold = malloc(n_pairs * sizeof *fold);
    if (!pair_img || !same || !fold) { rc = nomem(); goto done; }
    size_t n_same = 0;
    for (size_t i = 0; i < n_pairs; i++) {
        fe_pair q;
        fe_pair_list_get(pairs, i, &q);
        pair_img[2 * i] = image_id(&S, q.name1, q.image1);
        pair_img[2 * i + 1] = image_id(&S, q.name2, q.image2);
        if (pair_img[2 * i] == SIZE_MAX || pair_img[2 * i + 1] == SIZE_MAX) { rc = nomem(); goto done; }
        same[i] = (uint8_t)q.same;
        fold[i] = q.fold;
        n_same += (size_t)q.same;
    }
    size_t n_pair_images = S.n;
    if (people) {
        size_t total = 0;
        for (size_t p = 0; p < fe_people_list_count(people); p++) {
            uint32_t k;
            fe_people_list_get(people, p, NULL, &k);
            total += k;
        }
        people_idx = malloc((total ? total : 1) * sizeof *people_idx);
        if (!people_idx) { rc = nomem(); goto done; }
        for (size_t p = 0; p < fe_people_list_count(people); p++) {
            const char *name;
            uint32_t k;
            fe_people_list_get(people, p, &name, &k);
            for (uint32_t j = 1; j <= k; j++) {
                size_t id = image_id(&S, name, j);
                if (id == SIZE_MAX) { rc = nomem(); goto done; }
                people_idx[n_people_img++] = id;
            }
        }
    }
    /* where the person folders are */
    const char *sub = "";
    {
        char *probe = join3(data_dir, "", S.rel[0]);
        if (!probe) { rc = nomem(); goto done; }
        struct stat sb;
        char *alt = join3(data_dir, "images", "");
        if (stat(probe, &sb) != 0 && alt && is_dir(alt)) sub = "images";
        free(probe);
        free(alt);
    }
    full = calloc(S.n, sizeof *full);
    if (!full) { rc = nomem(); goto done; }
    for (size_t i = 0; i < S.n; i++)
        if (!(full[i] = join3(data_dir, sub, S.rel[i]))) { rc = nomem(); goto done; }

    st = cli_embedset_run(model, (const char *const *)full, S.n, &opt, &E);
    if (st != FE_OK) { rc = cli_fail("embedding", st); goto done; }
    if (E.n_failed) {
        fprintf(stderr, "faceemd: %s\n", E.first_error);
        fprintf(stderr, "faceemd: verify: %zu of %zu images could not be embedded; no accuracy without "
                "them\n", E.n_failed, S.n);
        rc = CLI_FAIL;
        goto done;
    }
    if (opt.mode == CLI_ALIGN_LANDMARKS && lms && E.n_fallback) {
        size_t shown = 0;
        for (size_t i = 0; i < S.n && shown < 3; i++)
            if (E.fallback[i]) {
                fprintf(stderr, "faceemd: %s: no row in %s; using the fixed centre crop\n", full[i],
                        landmarks_path);
                shown++;
            }
        if (E.n_fallback > shown)
            fprintf(stderr, "faceemd: ... %zu images in all had no landmark row (centre crop)\n", E.n_fallback);
    }

    /* scores */
    double t_score = cli_now();
    unit = malloc(S.n * FE_DESC_DIM * sizeof *unit);
    cos_s = malloc(n_pairs * sizeof *cos_s);
    euc_s = malloc(n_pairs * sizeof *euc_s);
    if (!unit || !cos_s || !euc_s) { rc = nomem(); goto done; }
    for (size_t i = 0; i < S.n; i++) {
        const float *d = E.descriptor + i * FE_DESC_DIM;
        double n2 = 0;
        for (int k = 0; k < FE_DESC_DIM; k++) n2 += (double)d[k] * d[k];
        double inv = n2 > 0 ? 1.0 / sqrt(n2) : 0.0;
        for (int k = 0; k < FE_DESC_DIM; k++) unit[i * FE_DESC_DIM + k] = (float)(d[k] * inv);
    }
    for (size_t i = 0; i < n_pairs; i++) {
        const float *a = E.descriptor + pair_img[2 * i] * FE_DESC_DIM;
        const float *b = E.descriptor + pair_img[2 * i + 1] * FE_DESC_DIM;
        double ab = 0, aa = 0, bb = 0, dd = 0;
        for (int k = 0; k < FE_DESC_DIM; k++) {
            ab += (double)a[k] * b[k];
            aa += (double)a[k] * a[k];
            bb += (double)b[k] * b[k];
            dd += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
        }
        cos_s[i] = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
        euc_s[i] = sqrt(dd);
    }
    measure mc = {"cosine", {0}}, me = {"euclidean", {0}};
    uint32_t n_folds = fe_pair_list_folds(pairs);
    double at06 = NAN;
    st = fe_verify_kfold(cos_s, same, fold, n_pairs, n_folds, 1, &mc.r);
    if (st == FE_OK) st = fe_verify_kfold(euc_s, same, fold, n_pairs, n_folds, 0, &me.r);
    if (st == FE_OK) st = fe_verify_accuracy_at(euc_s, same, n_pairs, 0.6, 0, &at06);
    if (st != FE_OK) { rc = cli_fail("verify", st); goto done; }
    /* P@1 on the pair images, and on the people's */
    size_t *all_pairs_idx = malloc(n_pair_images * sizeof *all_pairs_idx);
    if (!all_pairs_idx) { rc = nomem(); goto done; }
    for (size_t i = 0; i < n_pair_images; i++) all_pairs_idx[i] = i;
    size_t q1 = 0, c1 = 0, q2 = 0, c2 = 0;
    st = p1_over(&S, unit, all_pairs_idx, n_pair_images, &q1, &c1);
    free(all_pairs_idx);
    if (st == FE_OK && people && n_people_img >= 2) st = p1_over(&S, unit, people_idx, n_people_img, &q2, &c2);
    if (st != FE_OK) { rc = cli_fail("P@1", st); goto done; }
    double score_s = cli_now() - t_score, total_s = cli_now() - t_start;

    const char *mode_name = opt.mode == CLI_ALIGN_LANDMARKS ? "landmarks" : opt.mode == CLI_ALIGN_CROP ? "crop" : "whole";
    if (json) {
        printf("{\"pairs_file\": ");
        cli_json_string(stdout, pairs_path);
        printf(", \"pairs\": %zu, \"matched\": %zu, \"folds\": %u, \"images\": %zu, \"align\": \"%s\"",
               n_pairs, n_same, n_folds, n_pair_images, mode_name);
        if (opt.mode == CLI_ALIGN_LANDMARKS) {
            printf(", \"template\": [");
            for (int k = 0; k < 5; k++) {
                printf(k ? ", " : "");
                cli_json_float(stdout, opt.tmpl.x[k]);
                printf(", ");
                cli_json_float(stdout, opt.tmpl.y[k]);
            }
            printf("], \"template_scale\": ");
            cli_json_float(stdout, from_env ? NAN : scale);
            printf(", \"template_shift\": ");
            cli_json_float(stdout, from_env ? NAN : shift);
        }
        printf(", \"fallbacks\": %zu, ", opt.mode == CLI_ALIGN_LANDMARKS ? E.n_fallback : 0);
        print_measure_json(&mc, NAN);
        printf(", ");
        print_measure_json(&me, at06);
        printf(", \"p1\": {\"gallery\": %zu, \"queries\": %zu, \"correct\": %zu, \"p1\": ", n_pair_images, q1, c1);
        cli_json_float(stdout, q1 ? (double)c1 / q1 : NAN);
        printf("}");
        if (people) {
            printf(", \"p1_people\": {\"gallery\": %zu, \"queries\": %zu, \"correct\": %zu, \"p1\": ",
                   n_people_img, q2, c2);
            cli_json_float(stdout, q2 ? (double)c2 / q2 : NAN);
            printf("}");
        }
        printf(", \"embedded\": %zu, \"threads\": %d, \"backend\": \"%s\", \"time\": {\"embed_s\": ",
               S.n, E.threads_used, cli_threads_backend());
        cli_json_float(stdout, E.seconds);
        printf(", \"images_per_s\": ");
        cli_json_float(stdout, E.seconds > 0 ? S.n / E.seconds : 0);
        printf(", \"score_s\": ");
        cli_json_float(stdout, score_s);
        printf(", \"total_s\": ");
        cli_json_float(stdout, total_s);
        printf("}}\n");
    } else {
        printf("pairs      %zu (%zu matched, %zu mismatched) in %u folds, %s\n", n_pairs, n_same,
               n_pairs - n_same, n_folds, pairs_path);
        printf("images     %zu distinct; align %s", n_pair_images, mode_name);
        if (opt.mode == CLI_ALIGN_LANDMARKS) {
            if (from_env) printf(" (template FE_ALIGN_TEMPLATE=%.40s", env_tmpl);
            else printf(" (template scale %.3f, shift %+.1f px", scale, shift);
            printf("; eyes (%.2f,%.2f) (%.2f,%.2f)); %zu centre-crop fallbacks", opt.tmpl.x[0],
                   opt.tmpl.y[0], opt.tmpl.x[1], opt.tmpl.y[1], E.n_fallback);
        }
        printf("\n");
        printf("accuracy   cosine     %.4f +- %.4f (SE %.4f)  threshold %.4f (all pairs: %.4f)\n",
               mc.r.mean, mc.r.std, mc.r.std_error, mc.r.threshold_all, mc.r.accuracy_all);
        printf("           euclidean  %.4f +- %.4f (SE %.4f)  threshold %.4f (all pairs: %.4f); "
               "at face-api's 0.6: %.4f\n", me.r.mean, me.r.std, me.r.std_error, me.r.threshold_all,
               me.r.accuracy_all, at06);
        printf("fold  pairs   cos thr   train    test    euc thr   train    test\n");
        for (uint32_t k = 0; k < n_folds; k++) {
            const fe_verify_fold *a = &mc.r.fold[k], *b = &me.r.fold[k];
            printf("%4u  %5zu   %7.4f  %.4f  %.4f    %7.4f  %.4f  %.4f\n", k + 1, a->n_test,
                   a->threshold, a->train_accuracy, a->test_accuracy, b->threshold, b->train_accuracy,
                   b->test_accuracy);
        }
        printf("P@1        %.4f (%zu of %zu queries; gallery: the %zu pair images, each against "
               "all others)\n", q1 ? (double)c1 / q1 : NAN, c1, q1, n_pair_images);
        if (people)
            printf("           %.4f (%zu of %zu queries; gallery: all %zu images of the %zu people in "
                   "%s)\n", q2 ? (double)c2 / q2 : NAN, c2, q2, n_people_img,
                   fe_people_list_count(people), people_path);
        printf("time       embedding %.1f s (%zu images, %.0f/s, %d threads, %s), scoring %.2f s, "
               "total %.1f s\n", E.seconds, S.n, E.seconds > 0 ? S.n / E.seconds : 0.0,
               E.threads_used, cli_threads_backend(), score_s, total_s);
    }
done:
    if (full)
        for (size_t i = 0; i < S.n; i++) free(full[i]);
    free(full);
    free(pair_img);
    free(people_idx);
    free(same);
    free(fold);
    free(cos_s);
    free(euc_s);
    free(unit);
    cli_embedset_free(&E);
    imageset_free(&S);
    fe_pair_list_free(pairs);
    fe_people_list_free(people);
    fe_landmark_list_free(lms);
    fe_model_close(model);
    return rc;
}
