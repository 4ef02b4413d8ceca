/*
 * cli_perturb.c — `faceemd perturb`: seeded OOD versions of an aligned chip (mask, sunglasses,
 * crop70, rotate, occlude, blur, noise, lowres, clean), one at a time or as a labelled contact
 * sheet (rows = chips, columns = kinds) for people to judge the generators.
 */
#include "cli.h"
#include "font.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- argument parsing -------------------------------------------------------------------
 * parse_landmarks reads the one-image form "x1,y1,...,x5,y5"; it can give way to the shared
 * fe_landmarks_parse of the alignment branch once that lands. */

static int parse_landmarks(const char *s, fe_landmarks *lm, const char **end) {
    for (int i = 0; i < 10; i++) {
        while (*s == ' ') s++;
        if (i > 0) {
            if (*s != ',') return 0;
            s++;
        }
        char *e;
        errno = 0;
        double v = strtod(s, &e);
        if (e == s || errno || !(v >= -1e6 && v <= 1e6)) return 0;
        if (i % 2 == 0) lm->x[i / 2] = (float)v;
        else lm->y[i / 2] = (float)v;
        s = e;
    }
    while (*s == ' ') s++;
    *end = s;
    return 1;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!*s) return 0;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* "a,b,c" -> kinds; returns the count or 0 on a bad name (message printed) */
static int parse_kinds(const char *s, fe_perturb_kind *kinds, int cap) {
    int n = 0;
    char name[32];
    while (*s) {
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof name || n == cap) {
            fprintf(stderr, "faceemd perturb: bad --kinds list\n");
            return 0;
        }
        memcpy(name, s, len);
        name[len] = 0;
        if (fe_perturb_kind_from_name(name, &kinds[n]) != FE_OK) {
            fprintf(stderr, "faceemd perturb: %s\n", fe_last_error());
            return 0;
        }
        n++;
        s += len;
        if (*s == ',') s++;
    }
    return n;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Loads a chip and checks it is the aligned size (a clear message instead of FE_E_SHAPE). */
static int load_chip(const char *path, fe_image **out) {
    fe_status st = fe_image_load(path, out);
    if (st != FE_OK) return cli_fail(path, st);
    if ((*out)->width != FE_CHIP_SIZE || (*out)->height != FE_CHIP_SIZE) {
        fprintf(stderr, "faceemd: %s: is %ux%u; perturb works on aligned %dx%d chips "
                "(make one with 'faceemd chip')\n", path, (*out)->width, (*out)->height,
                FE_CHIP_SIZE, FE_CHIP_SIZE);
        fe_image_free(*out);
        *out = NULL;
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* ---- the contact sheet ----------------------------------------------------------------- */

enum { SHEET_MARGIN = 10, SHEET_GAP = 6, SHEET_LABEL = 14 };

static int make_sheet(char **paths, int n_paths, const fe_landmarks *lms, int n_lms,
                      const fe_perturb_kind *kinds, int n_kinds, uint64_t seed, const char *out) {
    const int C = FE_CHIP_SIZE;
    uint32_t W = (uint32_t)(2 * SHEET_MARGIN + n_kinds * C + (n_kinds - 1) * SHEET_GAP);
    uint32_t H = (uint32_t)(2 * SHEET_MARGIN + SHEET_LABEL + 24 + n_paths * (SHEET_LABEL + C + SHEET_GAP));
    fe_image *sheet;
    fe_status st = fe_image_create(W, H, 3, &sheet);
    if (st != FE_OK) return cli_fail(out, st);
    memset(sheet->data, 246, (size_t)W * H * 3);
    const fe__rgba ink = fe__rgba_make(30, 30, 34, 255), soft = fe__rgba_make(110, 110, 118, 255);
    char text[256];
    snprintf(text, sizeof text, "faceemd perturb: rows = chips (seed %llu + row), columns = kinds",
             (unsigned long long)seed);
    fe__text_draw(sheet, SHEET_MARGIN, SHEET_MARGIN, text, 1, soft);
    int y = SHEET_MARGIN + SHEET_LABEL + 2;  /* column labels at scale 2 (18 px + gap) */
    for (int k = 0; k < n_kinds; k++) {
        const char *name = fe_perturb_kind_name(kinds[k]);
        int x = SHEET_MARGIN + k * (C + SHEET_GAP) + (C - (int)fe__text_width(name, 2)) / 2;
        fe__text_draw(sheet, x, y, name, 2, ink);
    }
    y += 24;
    int rc = CLI_OK;
    for (int r = 0; r < n_paths && rc == CLI_OK; r++) {
        fe_image *chip;
        if ((rc = load_chip(paths[r], &chip)) != CLI_OK) break;
        const fe_landmarks *lm = n_lms == 0 ? NULL : n_lms == 1 ? &lms[0] : &lms[r];
        snprintf(text, sizeof text, "%.60s%s", base_name(paths[r]), lm ? "" : "  (template landmarks)");
        fe__text_draw(sheet, SHEET_MARGIN, y, text, 1, soft);
        y += SHEET_LABEL;
        for (int k = 0; k < n_kinds && rc == CLI_OK; k++) {
            fe_image *img;
            st = fe_perturb(chip, lm, kinds[k], seed + (uint64_t)r, &img);
            if (st != FE_OK) {
                rc = cli_fail(paths[r], st);
                break;
            }
            fe__draw_blit(sheet, img, SHEET_MARGIN + k * (C + SHEET_GAP), y, (uint32_t)C, (uint32_t)C,
                          FE__SAMPLE_NEAREST, 1.0f);
            fe_image_free(img);
        }
        fe_image_free(chip);
        y += C + SHEET_GAP;
    }
    if (rc == CLI_OK && (st = fe_image_save(out, sheet)) != FE_OK) rc = cli_fail(out, st);
    fe_image_free(sheet);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------ */

static const char *opt_kind, *opt_kinds, *opt_seed, *opt_landmarks, *opt_out;
static int opt_sheet;

static const cli_option options[] = {
    {"kind", 0, "K", &opt_kind, NULL,
     "clean|mask|sunglasses|crop70|rotate|occlude|blur|noise|lowres"},
    {"seed", 's', "S", &opt_seed, NULL, "seed, 0..2^64-1 (default 1); same seed, same bytes"},
    {"landmarks", 0, "L", &opt_landmarks, NULL,
     "x1,y1,...,x5,y5 in chip pixels (default: the template)"},
    {"output", 'o', "FILE", &opt_out, NULL, "output image (.png, .ppm or .pgm, by extension)"},
    {"sheet", 0, NULL, NULL, &opt_sheet, "contact sheet of CHIP... x kinds instead"},
    {"kinds", 0, "LIST", &opt_kinds, NULL, "sheet columns, comma-separated (default: all)"},
    {NULL, 0, NULL, NULL, NULL, NULL}};

static const cli_command command = {
    "perturb", "CHIP --kind K [--seed S] [--landmarks L] -o OUT\n"
               "       faceemd perturb --sheet CHIP... [--kinds LIST] [--seed S] [--landmarks L] -o OUT",
    "Makes a seeded out-of-distribution version of an aligned 150x150 chip, as the paper's\n"
    "masked / sunglasses / 70 % crop query sets (mask, sunglasses, crop70) or a stress test\n"
    "(rotate 15-30 degrees, occlude 20-40 % with a grey box, blur sigma 1-3 px, noise sigma\n"
    "6-18 levels, lowres 1/3-1/6), or a clean copy. mask and sunglasses follow the five\n"
    "landmarks (left eye, right eye, nose tip, left and right mouth corner) in chip pixels;\n"
    "without --landmarks the alignment template is used, which fits chips made by\n"
    "'faceemd chip'. --sheet draws every chip (rows, seed S + row) under every kind\n"
    "(columns) with labels; there --landmarks takes one set for all chips or one set per\n"
    "chip separated by ';'.",
    options, 1, -1};

FE_VERB(perturb, "make seeded masked/sunglasses/cropped/... query chips") {
    opt_kind = opt_kinds = opt_seed = opt_landmarks = opt_out = NULL;
    opt_sheet = 0;
    int n_pos;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    if (!opt_out) return cli_usage_error("perturb", "missing -o OUT");
    uint64_t seed = 1;
    if (opt_seed && !parse_u64(opt_seed, &seed))
        return cli_usage_error("perturb", "--seed must be an integer in [0, 2^64-1], got '%s'", opt_seed);
    if (!opt_sheet && n_pos != 1)
        return cli_usage_error("perturb", "expected one CHIP (or --sheet CHIP...), got %d", n_pos);
    if (!opt_sheet && opt_kinds) return cli_usage_error("perturb", "--kinds goes with --sheet");
    if (opt_sheet && opt_kind) return cli_usage_error("perturb", "--sheet takes --kinds, not --kind");
    if (opt_sheet && n_pos > 64) return cli_usage_error("perturb", "at most 64 chips per sheet");

    /* landmarks: one set, or with --sheet one per chip separated by ';' */
    fe_landmarks lms[64];
    int n_lms = 0;
    if (opt_landmarks) {
        const char *s = opt_landmarks, *end;
        for (;;) {
            if (n_lms == 64 || !parse_landmarks(s, &lms[n_lms], &end) || (*end && *end != ';'))
                return cli_usage_error("perturb", "--landmarks: expected ten numbers "
                                       "x1,y1,...,x5,y5%s, got '%s'", opt_sheet ? " (';' between sets)" : "",
                                       opt_landmarks);
            n_lms++;
            if (!*end) break;
            s = end + 1;
        }
        if (!opt_sheet && n_lms != 1)
            return cli_usage_error("perturb", "--landmarks: one set of ten numbers expected");
        if (opt_sheet && n_lms != 1 && n_lms != n_pos)
            return cli_usage_error("perturb", "--landmarks: %d sets for %d chips (give 1 or %d)",
                                   n_lms, n_pos, n_pos);
    } else {
        fprintf(stderr, "faceemd perturb: no --landmarks: using the alignment template points "
                        "(right for chips made by 'faceemd chip')\n");
    }

    if (opt_sheet) {
        fe_perturb_kind kinds[FE_PERTURB_KIND_COUNT * 2];
        int n_kinds = FE_PERTURB_KIND_COUNT;
        if (opt_kinds) {
            n_kinds = parse_kinds(opt_kinds, kinds, FE_PERTURB_KIND_COUNT * 2);
            if (n_kinds == 0) return CLI_USAGE;
        } else {
            for (int k = 0; k < n_kinds; k++) kinds[k] = (fe_perturb_kind)k;
        }
        return make_sheet(argv + 1, n_pos, lms, n_lms, kinds, n_kinds, seed, opt_out);
    }

    if (!opt_kind) return cli_usage_error("perturb", "missing --kind K");
    fe_perturb_kind kind;
    if (fe_perturb_kind_from_name(opt_kind, &kind) != FE_OK)
        return cli_usage_error("perturb", "%s", fe_last_error());
    fe_image *chip, *img;
    if ((rc = load_chip(argv[1], &chip)) != CLI_OK) return rc;
    fe_status st = fe_perturb(chip, n_lms ? &lms[0] : NULL, kind, seed, &img);
    fe_image_free(chip);
    if (st != FE_OK) return cli_fail(argv[1], st);
    st = fe_image_save(opt_out, img);
    fe_image_free(img);
    if (st != FE_OK) return cli_fail(opt_out, st);
    return CLI_OK;
}
