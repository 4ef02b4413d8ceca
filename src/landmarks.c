/*
 * landmarks.c — strict reader of 5-point landmark lists (TSV, as ../shared/data/lfw/
 * landmarks.tsv) and of the one-image form "x1,y1,...,x5,y5".
 *
 * Format and statuses: see faceemd.h. Lines end with LF; CRLF is tolerated (a CR directly
 * before the LF is dropped, since files edited on Windows are common and unambiguous), any
 * other CR is a control byte. Numbers: [+-]digits[.digits][(e|E)[+-]digits] (or .digits),
 * parsed without the C locale (so a host program's setlocale cannot change them).
 * Layout: rows in file order (keys in one pool); an open-addressing table on each key's last
 * path component finds the rows that can match an image path's suffix in O(1).
 */
#include "textlines.h"

#include <math.h>
#include <string.h>

#define N_COLS 11
#define COORD_LIMIT 32768.0

static const char *const col_names[N_COLS] = {
    "image", "left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y", "nose_x", "nose_y",
    "mouth_left_x", "mouth_left_y", "mouth_right_x", "mouth_right_y"};

struct fe_landmark_list {
    size_t        n;        /* rows                                                          */
    char        **key;      /* [n] NUL-terminated, into pool                                 */
    fe_landmarks *lm;       /* [n]                                                           */
    char         *pool;     /* key bytes                                                     */
    size_t        n_slots;  /* power of two >= 2n                                            */
    size_t       *slot;     /* [n_slots] row index + 1, 0 = empty; hashed on key basename    */
};

/* ---- numbers -------------------------------------------------------------------------- */

typedef enum num_err { NUM_OK, NUM_SYNTAX, NUM_NONFINITE, NUM_RANGE } num_err;

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int ieq(const char *s, size_t n, const char *word) {
    size_t k = strlen(word);
    if (n != k) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != word[i]) return 0;
    return 1;
}

/* Parses s[0..n) as a whole decimal number within +-COORD_LIMIT. */
static num_err parse_number(const char *s, size_t n, double *out) {
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (ieq(s + i, n - i, "nan") || ieq(s + i, n - i, "inf") || ieq(s + i, n - i, "infinity"))
        return NUM_NONFINITE;
    uint64_t mant = 0;
    int n_digits = 0, exp10 = 0;
    size_t int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (mant < UINT64_C(1000000000000000000)) mant = mant * 10 + (uint64_t)(s[i] - '0');
        else exp10++;  /* beyond 19 significant digits: scale instead */
        i++;
    }
    n_digits = (int)(i - int_start);
    if (i < n && s[i] == '.') {
        i++;
        size_t frac_start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (mant < UINT64_C(1000000000000000000)) {
                mant = mant * 10 + (uint64_t)(s[i] - '0');
                exp10--;
            }
            i++;
        }
        n_digits += (int)(i - frac_start);
    }
    if (n_digits == 0) return NUM_SYNTAX;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        size_t e_start = i;
        int e = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (e < 100000) e = e * 10 + (s[i] - '0');
            i++;
        }
        if (i == e_start) return NUM_SYNTAX;
        exp10 += eneg ? -e : e;
    }
    if (i != n) return NUM_SYNTAX;
    /* mant < 2^53 and |exp10| <= 22: one correctly rounded operation on exact values */
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double v;
    if (mant == 0) v = 0.0;
    else if (exp10 > 40) return NUM_RANGE;        /* >= 1e40: far beyond the limit        */
    else if (exp10 < -400) v = 0.0;               /* underflows to zero                   */
    else if (mant < (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22)
        v = exp10 >= 0 ? (double)mant * p10[exp10] : (double)mant / p10[-exp10];
    else
        v = (double)mant * pow(10.0, exp10);
    if (neg) v = -v;
    if (!(fabs(v) <= COORD_LIMIT)) return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

/* ---- the one-image form --------------------------------------------------------------- */

fe_status fe_landmarks_parse(const char *text, fe_landmarks *out_lm) {
    if (!text || !out_lm) return fe__fail(FE_E_ARG, "text or out_lm is NULL");
    memset(out_lm, 0, sizeof *out_lm);
    size_t len = strlen(text);
    if (len > FE_MAX_LINE) return fe__fail(FE_E_LIMIT, "landmark text longer than %u bytes", FE_MAX_LINE);
    double v[10];
    size_t n_val = 0, pos = 0;
    for (;;) {
        size_t end = pos;
        while (end < len && text[end] != ',') end++;
        size_t a = pos, b = end;
        while (a < b && text[a] == ' ') a++;
        while (b > a && text[b - 1] == ' ') b--;
        if (n_val < 10) {
            if (a == b) return fe__fail(FE_E_SYNTAX, "value %zu of the landmarks is empty", n_val + 1);
            double x = 0;
            switch (parse_number(text + a, b - a, &x)) {
            case NUM_OK: break;
            case NUM_SYNTAX:
                return fe__fail(FE_E_SYNTAX, "value %zu '%.*s' is not a number", n_val + 1,
                                (int)(b - a > 40 ? 40 : b - a), text + a);
            case NUM_NONFINITE:
                return fe__fail(FE_E_NUMERIC, "value %zu '%.*s' is not finite", n_val + 1,
                                (int)(b - a > 40 ? 40 : b - a), text + a);
            case NUM_RANGE:
                return fe__fail(FE_E_RANGE, "value %zu '%.*s' is outside [-%g, %g]", n_val + 1,
                                (int)(b - a > 40 ? 40 : b - a), text + a, COORD_LIMIT, COORD_LIMIT);
            }
            v[n_val] = x;
        }
        n_val++;
        if (end >= len) break;
        pos = end + 1;
    }
    if (n_val != 10)
        return fe__fail(FE_E_SHAPE, "expected ten comma-separated numbers x1,y1,...,x5,y5, got %zu",
                        n_val);
    for (int k = 0; k < 5; k++) {
        out_lm->x[k] = (float)v[2 * k];
        out_lm->y[k] = (float)v[2 * k + 1];
    }
    return FE_OK;
}

/* ---- hashing on the last path component ---------------------------------------------- */

static const char *basename_of(const char *s, size_t n, size_t *out_len) {
    size_t i = n;
    while (i > 0 && s[i - 1] != '/') i--;
    *out_len = n - i;
    return s + i;
}

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = UINT64_C(1469598103934665603);  /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
    return h;
}

/* key matches path if it is the whole path or a suffix that starts right after a '/' */
static int suffix_match(const char *path, size_t path_len, const char *key, size_t key_len) {
    if (key_len > path_len || memcmp(path + path_len - key_len, key, key_len) != 0) return 0;
    return key_len == path_len || path[path_len - key_len - 1] == '/' || key[0] == '/';
}

/* ---- the TSV reader ------------------------------------------------------------------- */

void fe_landmark_list_free(fe_landmark_list *list) {
    if (!list) return;
    fe__free(list->key);
    fe__free(list->lm);
    fe__free(list->pool);
    fe__free(list->slot);
    fe__free(list);
}

static fe_status parse_tsv(const char *name, const uint8_t *data, size_t size,
                           fe_landmark_list **out) {
    fe__text_reader r;
    size_t max_rows;
    fe_status st = fe__text_begin(&r, name, data, size, "header line", &max_rows);
    if (st != FE_OK) return st;
    fe_landmark_list *L = fe__calloc(1, sizeof *L);
    if (!L) return fe__fail(FE_E_NOMEM, "%s: cannot allocate the list", name);
    size_t n_slots = 16;
    while (n_slots < 2 * max_rows) n_slots *= 2;
    size_t *line_of = NULL;
    L->key = fe__malloc(sizeof *L->key * (max_rows ? max_rows : 1));
    L->lm = fe__malloc(sizeof *L->lm * (max_rows ? max_rows : 1));
    L->pool = fe__malloc(size + 1);
    L->slot = fe__calloc(n_slots, sizeof *L->slot);
    line_of = fe__malloc(sizeof *line_of * (max_rows ? max_rows : 1));
    L->n_slots = n_slots;
    if (!L->key || !L->lm || !L->pool || !L->slot || !line_of) {
        st = fe__fail(FE_E_NOMEM, "%s: cannot allocate %zu rows", name, max_rows);
        goto fail;
    }
    size_t pool_used = 0;
    int got;
    while ((got = fe__text_next_line(&r, &st)) != 0) {
        if (got < 0) goto fail;
        const char *s = r.s;
        size_t len = r.len, line_no = r.line_no;
        if (line_no == 1) {
            size_t hl = 0;
            int ok = 1;
            for (int c = 0; c < N_COLS && ok; c++) {
                size_t k = strlen(col_names[c]);
                if (c) ok = hl < len && s[hl++] == '\t';
                ok = ok && hl + k <= len && memcmp(s + hl, col_names[c], k) == 0;
                hl += k;
            }
            if (!ok || hl != len) {
                st = fe__fail(FE_E_MAGIC, "%s line 1: not the landmark header 'image<TAB>"
                              "left_eye_x<TAB>...<TAB>mouth_right_y' (got '%.*s')", name,
                              (int)(len > 60 ? 60 : len), s);
                goto fail;
            }
            continue;
        }
        if (len == 0) {
            st = fe__fail(FE_E_SYNTAX, "%s line %zu: blank line", name, line_no);
            goto fail;
        }
        fe__text_fields col;
        fe__text_split(&r, &col);
        if (col.n != N_COLS) {
            if (r.unterminated && col.n < N_COLS)
                st = fe__fail(FE_E_TRUNCATED, "%s line %zu: the file ends inside a row (%zu of %d "
                              "columns, no final newline)", name, line_no, col.n, N_COLS);
            else
                st = fe__fail(FE_E_SHAPE, "%s line %zu: %zu tab-separated columns, expected %d", name,
                              line_no, col.n, N_COLS);
            goto fail;
        }
        /* the key */
        size_t klen = col.len[0];
        if (klen == 0) {
            st = fe__fail(FE_E_SYNTAX, "%s line %zu: empty image key", name, line_no);
            goto fail;
        }
        size_t row = L->n;
        fe_landmarks *lm = &L->lm[row];
        for (int c = 1; c < N_COLS; c++) {
            double v = 0;
            const char *f = col.f[c];
            int fl = (int)(col.len[c] > 40 ? 40 : col.len[c]);
            switch (parse_number(f, col.len[c], &v)) {
            case NUM_OK: break;
            case NUM_SYNTAX:
                st = fe__fail(FE_E_SYNTAX, "%s line %zu column %d (%s): '%.*s' is not a number", name,
                              line_no, c + 1, col_names[c], fl, f);
                goto fail;
            case NUM_NONFINITE:
                st = fe__fail(FE_E_NUMERIC, "%s line %zu column %d (%s): '%.*s' is not finite", name,
                              line_no, c + 1, col_names[c], fl, f);
                goto fail;
            case NUM_RANGE:
                st = fe__fail(FE_E_RANGE, "%s line %zu column %d (%s): '%.*s' is outside [-%g, %g]",
                              name, line_no, c + 1, col_names[c], fl, f, COORD_LIMIT, COORD_LIMIT);
                goto fail;
            }
            if (c & 1) lm->x[(c - 1) / 2] = (float)v;
            else lm->y[(c - 2) / 2] = (float)v;
        }
        /* insert, refusing a repeated key */
        char *key = L->pool + pool_used;
        memcpy(key, col.f[0], klen);
        key[klen] = 0;
        size_t bl;
        const char *base = basename_of(key, klen, &bl);
        size_t h = (size_t)hash_bytes(base, bl) & (n_slots - 1);
        while (L->slot[h]) {
            size_t other = L->slot[h] - 1;
            if (strcmp(L->key[other], key) == 0) {
                st = fe__fail(FE_E_DUPLICATE, "%s line %zu: key '%.80s' repeats line %zu", name,
                              line_no, key, line_of[other]);
                goto fail;
            }
            h = (h + 1) & (n_slots - 1);
        }
        L->slot[h] = row + 1;
        L->key[row] = key;
        line_of[row] = line_no;
        pool_used += klen + 1;
        L->n++;
    }
    fe__free(line_of);
    *out = L;
    return FE_OK;
fail:
    fe__free(line_of);
    fe_landmark_list_free(L);
    return st;
}

/* the fe__text_parser adapter for fe__text_load_file */
static fe_status parse_tsv_file(const char *src, const uint8_t *data, size_t size, void *out) {
    return parse_tsv(src, data, size, out);
}

fe_status fe_landmark_list_load_memory(const void *data, size_t size, fe_landmark_list **out_list) {
    if (!out_list) return fe__fail(FE_E_ARG, "out_list is NULL");
    *out_list = NULL;
    if (!data && size) return fe__fail(FE_E_ARG, "data is NULL");
    return parse_tsv("<memory>", data, size, out_list);
}

fe_status fe_landmark_list_load(const char *path, fe_landmark_list **out_list) {
    if (!out_list) return fe__fail(FE_E_ARG, "out_list is NULL");
    *out_list = NULL;
    if (!path) return fe__fail(FE_E_ARG, "path is NULL");
    return fe__text_load_file(path, parse_tsv_file, out_list);
}

size_t fe_landmark_list_count(const fe_landmark_list *list) { return list ? list->n : 0; }

fe_status fe_landmark_list_get(const fe_landmark_list *list, size_t i, const char **out_key,
                               fe_landmarks *out_lm) {
    if (out_key) *out_key = NULL;
    if (!list) return fe__fail(FE_E_ARG, "list is NULL");
    if (i >= list->n) return fe__fail(FE_E_RANGE, "row %zu of a list of %zu", i, list->n);
    if (out_key) *out_key = list->key[i];
    if (out_lm) *out_lm = list->lm[i];
    return FE_OK;
}

fe_status fe_landmark_list_find(const fe_landmark_list *list, const char *image_path,
                                fe_landmarks *out_lm, size_t *out_index) {
    if (!list || !image_path) return fe__fail(FE_E_ARG, "list or image_path is NULL");
    size_t plen = strlen(image_path), bl;
    const char *base = basename_of(image_path, plen, &bl);
    size_t h = (size_t)hash_bytes(base, bl) & (list->n_slots - 1);
    size_t best = 0, best_len = 0;
    int found = 0;
    for (; list->slot[h]; h = (h + 1) & (list->n_slots - 1)) {
        size_t r = list->slot[h] - 1, kl = strlen(list->key[r]);
        if (suffix_match(image_path, plen, list->key[r], kl) && (!found || kl > best_len)) {
            best = r;
            best_len = kl;
            found = 1;
        }
    }
    if (!found) return fe__fail(FE_E_NOT_FOUND, "no landmark row matches '%.200s'", image_path);
    if (out_lm) *out_lm = list->lm[best];
    if (out_index) *out_index = best;
    return FE_OK;
}
