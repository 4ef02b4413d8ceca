/*
 * pairs.c — strict readers of LFW's protocol lists: pairs files (pairsDevTrain.txt, View 2's
 * pairs.txt) and people files (peopleDevTrain.txt), and the Name/Name_%04d.jpg path rule.
 *
 * Formats, fold rule and statuses: faceemd.h ("LFW protocol lists"). The line rules follow
 * landmarks.c (LF, CRLF tolerated, no blank lines, FE_MAX_LINE). Layout: rows in file order,
 * names copied once into one pool (a pair holds offsets into it); duplicates are found with an
 * open-addressing hash table of row indices, sized from the line count before parsing, so no
 * allocation depends on a count the file claims but does not back with lines.
 */
#include "textlines.h"

#include <stdio.h>
#include <string.h>

typedef struct pair_row {
    uint32_t name1, name2;    /* offsets into pool                                          */
    uint32_t image1, image2;
    uint32_t fold, line;
    uint8_t  same;
} pair_row;

struct fe_pair_list {
    size_t    n;
    uint32_t  folds;
    pair_row *row;
    char     *pool;
};

struct fe_people_list {
    size_t    n;
    uint32_t *name;           /* offsets into pool                                          */
    uint32_t *images;
    char     *pool;
};

/* ---- lines and fields: textlines.c ---------------------------------------------------- */

/* Printable excerpt of a field for messages (at most 40 bytes; the line has no control bytes). */
#define SHOW(p, n) (int)((n) > 40 ? 40 : (n)), (p)

typedef enum num_err { NUM_OK, NUM_SYNTAX, NUM_ZERO, NUM_BIG } num_err;

/* Decimal digits only, no sign or leading zero; 1..max. */
static num_err parse_count(const char *s, size_t n, uint32_t max, uint32_t *out) {
    if (n == 0) return NUM_SYNTAX;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return NUM_SYNTAX;
        if (v <= UINT32_MAX) v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (n > 1 && s[0] == '0') return v == 0 ? NUM_ZERO : NUM_SYNTAX;
    if (v == 0) return NUM_ZERO;
    if (v > max) return NUM_BIG;
    *out = (uint32_t)v;
    return NUM_OK;
}

static fe_status count_fail(const fe__text_reader *r, num_err e, const char *what, const char *f, size_t n,
                            uint32_t max) {
    if (e == NUM_SYNTAX)
        return fe__fail(FE_E_SYNTAX, "%s line %zu: %s '%.*s' is not a number (decimal digits, no "
                        "sign or leading zero)", r->src, r->line_no, what, SHOW(f, n));
    if (e == NUM_ZERO)
        return fe__fail(FE_E_RANGE, "%s line %zu: %s is 0 (numbering starts at 1)", r->src,
                        r->line_no, what);
    return fe__fail(FE_E_RANGE, "%s line %zu: %s '%.*s' is over the limit %u", r->src, r->line_no,
                    what, SHOW(f, n), max);
}

static int name_char(char c, int first) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return 1;
    return !first && (c == '_' || c == '-' || c == '.' || c == '\'');
}

/* 0 if s[0..n) is a valid name, else the 1-based position of the first bad byte (n+1 for a
 * name that is too long, 1 for an empty one). */
static size_t name_error(const char *s, size_t n) {
    if (n == 0) return 1;
    if (n > FE_LFW_MAX_NAME) return n + 1;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i], i == 0)) return i + 1;
    return 0;
}

static fe_status name_fail(const fe__text_reader *r, const char *what, const char *f, size_t n) {
    size_t at = name_error(f, n);
    if (n == 0) return fe__fail(FE_E_SYNTAX, "%s line %zu: %s is empty", r->src, r->line_no, what);
    if (n > FE_LFW_MAX_NAME)
        return fe__fail(FE_E_SYNTAX, "%s line %zu: %s is %zu bytes long (at most %u)", r->src,
                        r->line_no, what, n, FE_LFW_MAX_NAME);
    return fe__fail(FE_E_SYNTAX, "%s line %zu: %s '%.*s' has byte 0x%02x at position %zu (names "
                    "are [A-Za-z0-9_.'-], starting with a letter or digit)", r->src, r->line_no,
                    what, SHOW(f, n), (unsigned char)f[at - 1], at);
}

static uint64_t hash_mix(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * UINT64_C(1099511628211);  /* FNV-1a */
    return h;
}

/* Table of row indices + 1 (0 = empty), power-of-two size >= 2 * max_rows. */
static size_t *table_new(size_t max_rows, size_t *n_slots) {
    size_t s = 16;
    while (s < 2 * max_rows) s *= 2;
    *n_slots = s;
    return fe__calloc(s, sizeof(size_t));
}

/* An empty line (only a final LF-less end can be empty, and that ends the loop first). */
static fe_status blank_fail(const fe__text_reader *r) {
    return fe__fail(FE_E_SYNTAX, "%s line %zu: blank line", r->src, r->line_no);
}

/* ---- pairs ---------------------------------------------------------------------------- */

void fe_pair_list_free(fe_pair_list *list) {
    if (!list) return;
    fe__free(list->row);
    fe__free(list->pool);
    fe__free(list);
}

static uint64_t pair_hash(const char *pool, const pair_row *p) {
    /* order-independent: hash the two (name, image) ends in a fixed order */
    const char *a = pool + p->name1, *b = pool + p->name2;
    uint32_t ia = p->image1, ib = p->image2;
    int c = strcmp(a, b);
    if (c > 0 || (c == 0 && ia > ib)) {
        const char *t = a; a = b; b = t;
        uint32_t u = ia; ia = ib; ib = u;
    }
    uint64_t h = UINT64_C(1469598103934665603);
    h = hash_mix(h, a, strlen(a) + 1);
    h = hash_mix(h, &ia, sizeof ia);
    h = hash_mix(h, b, strlen(b) + 1);
    return hash_mix(h, &ib, sizeof ib);
}

static int pair_equal(const char *pool, const pair_row *p, const pair_row *q) {
    const char *p1 = pool + p->name1, *p2 = pool + p->name2;
    const char *q1 = pool + q->name1, *q2 = pool + q->name2;
    return (strcmp(p1, q1) == 0 && p->image1 == q->image1 && strcmp(p2, q2) == 0 &&
            p->image2 == q->image2) ||
           (strcmp(p1, q2) == 0 && p->image1 == q->image2 && strcmp(p2, q1) == 0 &&
            p->image2 == q->image1);
}

/* Copies a name into the pool; returns its offset. */
static uint32_t pool_add(char *pool, size_t *used, const char *s, size_t n) {
    uint32_t off = (uint32_t)*used;
    memcpy(pool + *used, s, n);
    pool[*used + n] = 0;
    *used += n + 1;
    return off;
}

static fe_status parse_pairs(const char *src, const uint8_t *data, size_t size, fe_pair_list **out) {
    fe__text_reader r;
    size_t max_rows;
    fe_status st = fe__text_begin(&r, src, data, size, "count line", &max_rows);
    if (st != FE_OK) return st;
    /* the pool holds at most every byte of the file plus a NUL per name; offsets are 32-bit */
    if (size > UINT32_MAX / 2) return fe__fail(FE_E_LIMIT, "%s: %zu bytes is too large a pairs file", src, size);
    fe_pair_list *L = fe__calloc(1, sizeof *L);
    size_t n_slots = 0, *slot = NULL;
    if (!L) return fe__fail(FE_E_NOMEM, "%s: cannot allocate the list", src);
    L->row = fe__malloc(sizeof *L->row * (max_rows ? max_rows : 1));
    L->pool = fe__malloc(size + 1);   /* every stored name is followed by a tab in the file */
    slot = table_new(max_rows, &n_slots);
    if (!L->row || !L->pool || !slot) {
        st = fe__fail(FE_E_NOMEM, "%s: cannot allocate %zu rows", src, max_rows);
        goto fail;
    }
    /* header */
    int got = fe__text_next_line(&r, &st);
    if (got < 0) goto fail;
    fe__text_fields f;
    fe__text_split(&r, &f);
    uint32_t sets = 1, per_set = 0;
    if (r.len == 0 || f.n > 2) {
        st = fe__fail(FE_E_MAGIC, "%s line 1: not a pairs header ('N', or 'S<TAB>N' for S sets of N "
                      "matched and N mismatched pairs)", src);
        goto fail;
    }
    for (size_t k = 0; k < f.n; k++) {
        uint32_t v = 0;
        num_err e = parse_count(f.f[k], f.len[k], FE_MAX_GALLERY, &v);
        if (e == NUM_SYNTAX) {
            st = fe__fail(FE_E_MAGIC, "%s line 1: '%.*s' is not a count: not a pairs header ('N' or "
                          "'S<TAB>N')", src, SHOW(f.f[k], f.len[k]));
            goto fail;
        }
        if (e != NUM_OK) {
            st = count_fail(&r, e, f.n == 2 && k == 0 ? "the number of sets" : "the pairs count",
                            f.f[k], f.len[k], FE_MAX_GALLERY);
            goto fail;
        }
        if (f.n == 2 && k == 0) sets = v;
        else per_set = v;
    }
    uint64_t total = (uint64_t)sets * per_set * 2;
    if (total > FE_MAX_GALLERY) {
        st = fe__fail(FE_E_LIMIT, "%s line 1: %u sets of 2 x %u pairs exceed the %u-pair limit", src,
                      sets, per_set, FE_MAX_GALLERY);
        goto fail;
    }
    L->folds = sets >= 2 ? sets : (per_set < 10 ? per_set : 10);
    size_t pool_used = 0;
    while ((got = fe__text_next_line(&r, &st)) != 0) {
        if (got < 0) goto fail;
        if (r.len == 0) {
            st = blank_fail(&r);
            goto fail;
        }
        size_t k = L->n;                      /* this row's index */
        if (k >= total) {
            st = fe__fail(FE_E_COUNT, "%s line %zu: more rows than the header's %llu pairs", src,
                          r.line_no, (unsigned long long)total);
            goto fail;
        }
        uint32_t set = (uint32_t)(k / (2 * (size_t)per_set));
        size_t in_set = k % (2 * (size_t)per_set);
        int want_same = in_set < per_set;
        size_t idx = want_same ? in_set : in_set - per_set;   /* within its block */
        fe__text_split(&r, &f);
        if (f.n != 3 && f.n != 4) {
            if (r.unterminated && f.n < 3)
                st = fe__fail(FE_E_TRUNCATED, "%s line %zu: the file ends inside a row (%zu columns, "
                              "no final newline)", src, r.line_no, f.n);
            else
                st = fe__fail(FE_E_SHAPE, "%s line %zu: %zu tab-separated columns, expected 3 (matched "
                              "pair) or 4 (mismatched pair)", src, r.line_no, f.n);
            goto fail;
        }
        if (r.unterminated && f.len[f.n - 1] == 0) {   /* f.n is 3 or 4 here */
            st = fe__fail(FE_E_TRUNCATED, "%s line %zu: the file ends inside a row (empty last column, "
                          "no final newline)", src, r.line_no);
            goto fail;
        }
        int is_same = f.n == 3;
        if (is_same != want_same) {
            if (r.unterminated && f.n == 3 && !want_same)
                st = fe__fail(FE_E_TRUNCATED, "%s line %zu: the file ends inside a mismatched row (3 of "
                              "4 columns, no final newline)", src, r.line_no);
            else {
                char in_set_text[40] = "";
                if (sets > 1) snprintf(in_set_text, sizeof in_set_text, " of set %u", set + 1);
                st = fe__fail(FE_E_COUNT, "%s line %zu: a %s pair where %s pair %zu of %u%s is due "
                              "(the header's count is %u of each kind)", src, r.line_no,
                              is_same ? "matched" : "mismatched", want_same ? "matched" : "mismatched",
                              idx + 1, per_set, in_set_text, per_set);
            }
            goto fail;
        }
        pair_row *p = &L->row[k];
        const size_t ci1 = 1, cn2 = is_same ? 0 : 2, ci2 = is_same ? 2 : 3;
        const char *what1 = is_same ? "the name" : "the first name";
        if (name_error(f.f[0], f.len[0])) {
            st = name_fail(&r, what1, f.f[0], f.len[0]);
            goto fail;
        }
        if (!is_same && name_error(f.f[cn2], f.len[cn2])) {
            st = name_fail(&r, "the second name", f.f[cn2], f.len[cn2]);
            goto fail;
        }
        num_err e = parse_count(f.f[ci1], f.len[ci1], FE_LFW_MAX_INDEX, &p->image1);
        if (e != NUM_OK) {
            st = count_fail(&r, e, "the first image number", f.f[ci1], f.len[ci1], FE_LFW_MAX_INDEX);
            goto fail;
        }
        e = parse_count(f.f[ci2], f.len[ci2], FE_LFW_MAX_INDEX, &p->image2);
        if (e != NUM_OK) {
            st = count_fail(&r, e, "the second image number", f.f[ci2], f.len[ci2], FE_LFW_MAX_INDEX);
            goto fail;
        }
        if (is_same && p->image1 == p->image2) {
            st = fe__fail(FE_E_CORRUPT, "%s line %zu: matched pair of image %u of %.*s with itself", src,
                          r.line_no, p->image1, SHOW(f.f[0], f.len[0]));
            goto fail;
        }
        if (!is_same && f.len[0] == f.len[2] && memcmp(f.f[0], f.f[2], f.len[0]) == 0) {
            st = fe__fail(FE_E_CORRUPT, "%s line %zu: mismatched pair names one person (%.*s) twice",
                          src, r.line_no, SHOW(f.f[0], f.len[0]));
            goto fail;
        }
        p->name1 = pool_add(L->pool, &pool_used, f.f[0], f.len[0]);
        p->name2 = is_same ? p->name1 : pool_add(L->pool, &pool_used, f.f[cn2], f.len[cn2]);
        p->same = (uint8_t)is_same;
        p->line = (uint32_t)r.line_no;
        p->fold = sets >= 2 ? set : (uint32_t)((uint64_t)idx * L->folds / per_set);
        /* duplicates, in either order */
        size_t h = (size_t)pair_hash(L->pool, p) & (n_slots - 1);
        for (; slot[h]; h = (h + 1) & (n_slots - 1)) {
            const pair_row *q = &L->row[slot[h] - 1];
            if (pair_equal(L->pool, p, q)) {
                st = fe__fail(FE_E_DUPLICATE, "%s line %zu: the pair %s %u / %s %u repeats line %u", src,
                              r.line_no, L->pool + p->name1, p->image1, L->pool + p->name2, p->image2,
                              q->line);
                goto fail;
            }
        }
        slot[h] = k + 1;
        L->n++;
    }
    if (L->n != total) {
        size_t k = L->n;
        size_t in_set = per_set ? k % (2 * (size_t)per_set) : 0;
        st = fe__fail(FE_E_COUNT, "%s line %zu: the file ends after %zu of the header's %llu pairs "
                      "(%s pairs are due next)", src, r.line_no, L->n, (unsigned long long)total,
                      in_set < per_set ? "matched" : "mismatched");
        goto fail;
    }
    fe__free(slot);
    *out = L;
    return FE_OK;
fail:
    fe__free(slot);
    fe_pair_list_free(L);
    return st;
}

/* fe__text_parser adapters for fe__text_load_file */
static fe_status parse_pairs_file(const char *src, const uint8_t *data, size_t size, void *out) {
    return parse_pairs(src, data, size, out);
}

fe_status fe_pair_list_load_memory(const void *data, size_t size, fe_pair_list **out_list) {
    if (!out_list) return fe__fail(FE_E_ARG, "out_list is NULL");
    *out_list = NULL;
    if (!data && size) return fe__fail(FE_E_ARG, "data is NULL");
    return parse_pairs("<memory>", data, size, out_list);
}

fe_status fe_pair_list_load(const char *path, fe_pair_list **out_list) {
    if (!out_list) return fe__fail(FE_E_ARG, "out_list is NULL");
    *out_list = NULL;
    if (!path) return fe__fail(FE_E_ARG, "path is NULL");
    return fe__text_load_file(path, parse_pairs_file, out_list);
}

size_t fe_pair_list_count(const fe_pair_list *list) { return list ? list->n : 0; }
uint32_t fe_pair_list_folds(const fe_pair_list *list) { return list ? list->folds : 0; }

fe_status fe_pair_list_get(const fe_pair_list *list, size_t i, fe_pair *out_pair) {
    if (!list || !out_pair) return fe__fail(FE_E_ARG, "list or out_pair is NULL");
    if (i >= list->n) {
        memset(out_pair, 0, sizeof *out_pair);
        return fe__fail(FE_E_RANGE, "pair %zu of a list of %zu", i, list->n);
    }
    const pair_row *p = &list->row[i];
    out_pair->name1 = list->pool + p->name1;
    out_pair->name2 = list->pool + p->name2;
    out_pair->image1 = p->image1;
    out_pair->image2 = p->image2;
    out_pair->same = p->same;
    out_pair->fold = p->fold;
    out_pair->line = p->line;
    return FE_OK;
}

/* ---- people --------------------------------------------------------------------------- */

void fe_people_list_free(fe_people_list *list) {
    if (!list) return;
    fe__free(list->name);
    fe__free(list->images);
    fe__free(list->pool);
    fe__free(list);
}

static fe_status parse_people(const char *src, const uint8_t *data, size_t size,
                              fe_people_list **out) {
    fe__text_reader r;
    size_t max_rows;
    fe_status st = fe__text_begin(&r, src, data, size, "count line", &max_rows);
    if (st != FE_OK) return st;
    if (size > UINT32_MAX / 2) return fe__fail(FE_E_LIMIT, "%s: %zu bytes is too large a people file", src, size);
    fe_people_list *L = fe__calloc(1, sizeof *L);
    size_t n_slots = 0, *slot = NULL, *line_of = NULL;
    if (!L) return fe__fail(FE_E_NOMEM, "%s: cannot allocate the list", src);
    size_t cap = max_rows ? max_rows : 1;
    L->name = fe__malloc(sizeof *L->name * cap);
    L->images = fe__malloc(sizeof *L->images * cap);
    L->pool = fe__malloc(size + 1);
    line_of = fe__malloc(sizeof *line_of * cap);
    slot = table_new(max_rows, &n_slots);
    if (!L->name || !L->images || !L->pool || !line_of || !slot) {
        st = fe__fail(FE_E_NOMEM, "%s: cannot allocate %zu rows", src, max_rows);
        goto fail;
    }
    int got = fe__text_next_line(&r, &st);
    if (got < 0) goto fail;
    fe__text_fields f;
    fe__text_split(&r, &f);
    uint32_t count = 0;
    if (r.len == 0 || f.n != 1) {
        st = fe__fail(FE_E_MAGIC, "%s line 1: not a people header (the number of people alone)", src);
        goto fail;
    }
    num_err e = parse_count(f.f[0], f.len[0], FE_MAX_GALLERY, &count);
    if (e == NUM_SYNTAX) {
        st = fe__fail(FE_E_MAGIC, "%s line 1: '%.*s' is not a count: not a people header", src,
                      SHOW(f.f[0], f.len[0]));
        goto fail;
    }
    if (e != NUM_OK) {
        st = count_fail(&r, e, "the number of people", f.f[0], f.len[0], FE_MAX_GALLERY);
        goto fail;
    }
    size_t pool_used = 0;
    while ((got = fe__text_next_line(&r, &st)) != 0) {
        if (got < 0) goto fail;
        if (r.len == 0) {
            st = blank_fail(&r);
            goto fail;
        }
        size_t k = L->n;
        if (k >= count) {
            st = fe__fail(FE_E_COUNT, "%s line %zu: more rows than the header's %u people", src,
                          r.line_no, count);
            goto fail;
        }
        fe__text_split(&r, &f);
        if (f.n != 2) {
            if (r.unterminated && f.n < 2)
                st = fe__fail(FE_E_TRUNCATED, "%s line %zu: the file ends inside a row (1 of 2 columns, "
                              "no final newline)", src, r.line_no);
            else
                st = fe__fail(FE_E_SHAPE, "%s line %zu: %zu tab-separated columns, expected 2 "
                              "(Name<TAB>images)", src, r.line_no, f.n);
            goto fail;
        }
        if (name_error(f.f[0], f.len[0])) {
            st = name_fail(&r, "the name", f.f[0], f.len[0]);
            goto fail;
        }
        e = parse_count(f.f[1], f.len[1], FE_LFW_MAX_INDEX, &L->images[k]);
        if (e != NUM_OK) {
            st = count_fail(&r, e, "the number of images", f.f[1], f.len[1], FE_LFW_MAX_INDEX);
            goto fail;
        }
        uint32_t off = pool_add(L->pool, &pool_used, f.f[0], f.len[0]);
        size_t h = (size_t)hash_mix(UINT64_C(1469598103934665603), f.f[0], f.len[0]) & (n_slots - 1);
        for (; slot[h]; h = (h + 1) & (n_slots - 1)) {
            size_t other = slot[h] - 1;
            if (strcmp(L->pool + L->name[other], L->pool + off) == 0) {
                st = fe__fail(FE_E_DUPLICATE, "%s line %zu: %s repeats line %zu", src, r.line_no,
                              L->pool + off, line_of[other]);
                goto fail;
            }
        }
        slot[h] = k + 1;
        L->name[k] = off;
        line_of[k] = r.line_no;
        L->n++;
    }
    if (L->n != count) {
        st = fe__fail(FE_E_COUNT, "%s line %zu: the file ends after %zu of the header's %u people", src,
                      r.line_no, L->n, count);
        goto fail;
    }
    fe__free(slot);
    fe__free(line_of);
    *out = L;
    return FE_OK;
fail:
    fe__free(slot);
    fe__free(line_of);
    fe_people_list_free(L);
    return st;
}

static fe_status parse_people_file(const char *src, const uint8_t *data, size_t size, void *out) {
    return parse_people(src, data, size, out);
}

fe_status fe_people_list_load_memory(const void *data, size_t size, fe_people_list **out_list) {
    if (!out_list) return fe__fail(FE_E_ARG, "out_list is NULL");
    *out_list = NULL;
    if (!data && size) return fe__fail(FE_E_ARG, "data is NULL");
    return parse_people("<memory>", data, size, out_list);
}

fe_status fe_people_list_load(const char *path, fe_people_list **out_list) {
    if (!out_list) return fe__fail(FE_E_ARG, "out_list is NULL");
    *out_list = NULL;
    if (!path) return fe__fail(FE_E_ARG, "path is NULL");
    return fe__text_load_file(path, parse_people_file, out_list);
}

size_t fe_people_list_count(const fe_people_list *list) { return list ? list->n : 0; }

fe_status fe_people_list_get(const fe_people_list *list, size_t i, const char **out_name,
                             uint32_t *out_images) {
    if (out_name) *out_name = NULL;
    if (out_images) *out_images = 0;
    if (!list) return fe__fail(FE_E_ARG, "list is NULL");
    if (i >= list->n) return fe__fail(FE_E_RANGE, "person %zu of a list of %zu", i, list->n);
    if (out_name) *out_name = list->pool + list->name[i];
    if (out_images) *out_images = list->images[i];
    return FE_OK;
}

/* ---- paths ---------------------------------------------------------------------------- */

fe_status fe_lfw_image_path(const char *name, uint32_t image, char *buf, size_t cap) {
    if (!name || !buf) return fe__fail(FE_E_ARG, "name or buf is NULL");
    if (cap) buf[0] = 0;
    size_t n = strlen(name);
    if (name_error(name, n))
        return fe__fail(FE_E_ARG, "'%.40s' is not an LFW name ([A-Za-z0-9_.'-], 1..%u bytes, "
                        "starting with a letter or digit)", name, FE_LFW_MAX_NAME);
    if (image < 1 || image > FE_LFW_MAX_INDEX)
        return fe__fail(FE_E_ARG, "image number %u outside 1..%u", image, FE_LFW_MAX_INDEX);
    int w = snprintf(buf, cap, "%s/%s_%04u.jpg", name, name, image);
    if (w < 0 || (size_t)w >= cap) {
        if (cap) buf[0] = 0;
        return fe__fail(FE_E_LIMIT, "a buffer of %zu bytes cannot hold the %d-byte path", cap, w + 1);
    }
    return FE_OK;
}
