/*
 * faceapi2feb.c — converts a TensorFlow.js weights manifest + .bin (the face-api package's
 * face_recognition_model) into a .feb blob (weights/FORMAT.md), losslessly.
 *
 * The manifest is parsed by a small strict RFC 8259 parser of our own (no duplicate keys, no
 * trailing commas, no unknown fields). Tensors keep the manifest's names, order and shapes;
 * uint8-quantized ones stay U8 with their double scale/min, float32 ones stay F32. The .bin
 * must be exactly the sum of the tensor sizes. Output is deterministic and written atomically.
 * Usage: faceapi2feb [options] MANIFEST.json MODEL.bin OUT.feb   (see --help)
 */
#include "blob.h"
#include "net_schema.h"
#include "sha256.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONVERTER_VERSION "faceapi2feb 1.0"
#define MAX_MANIFEST (16u * 1024u * 1024u)
#define MAX_DEPTH 64

/* ======================================================================================== */
/* JSON: a tree of values; strings are decoded to UTF-8 and NUL-terminated                  */
/* ======================================================================================== */

typedef enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype        type;
    size_t       off;          /* byte offset where the value starts, for messages       */
    char        *str;          /* J_STR: decoded text; J_NUM: the literal as written      */
    size_t       n;            /* J_ARR / J_OBJ: number of items                          */
    struct jval *items;        /* [n]                                                     */
    char       **keys;         /* J_OBJ: [n] decoded keys                                 */
} jval;

typedef struct jparser {
    const char *p, *end, *start;
    char        err[256];
} jparser;

static void jfree(jval *v) {
    if (!v) return;
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static const char *json_text;  /* the document being converted, for line numbers */

/* Line and column of byte off (computed only for messages, so parsing stays linear). */
static void where(size_t off, size_t *line, size_t *col) {
    *line = 1;
    *col = 1;
    for (size_t k = 0; json_text && k < off; k++) {
        if (json_text[k] == '\n') { ++*line; *col = 1; }
        else ++*col;
    }
}

static size_t line_of(const jval *v) {
    size_t line, col;
    where(v->off, &line, &col);
    return line;
}

static int jerr(jparser *j, const char *fmt, ...) {
    if (j->err[0]) return 0;
    size_t line, col;
    where((size_t)(j->p - j->start), &line, &col);
    int k = snprintf(j->err, sizeof j->err, "line %zu, column %zu: ", line, col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err + k, sizeof j->err - (size_t)k, fmt, ap);
    va_end(ap);
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if malformed. */
static size_t utf8_len(const unsigned char *p, size_t n) {
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; lo = c == 0xE0 ? 0xA0 : lo; hi = c == 0xED ? 0x9F : hi; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; lo = c == 0xF0 ? 0x90 : lo; hi = c == 0xF4 ? 0x8F : hi; }
    else return 0;
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if ((p[k] & 0xC0) != 0x80) return 0;
    return len;
}

static void skip_ws(jparser *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int hex4(jparser *j, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (j->p >= j->end) return jerr(j, "string ends inside a \\u escape");
        char c = *j->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return jerr(j, "bad hex digit in \\u escape");
    }
    *out = v;
    return 1;
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 63)); o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Parses a string at j->p ('"'); the decoded text is never longer than the literal. */
static int parse_string(jparser *j, char **out) {
    const char *q = ++j->p;
    while (q < j->end && *q != '"') q += (*q == '\\' && q + 1 < j->end) ? 2 : 1;
    if (q >= j->end) return jerr(j, "unterminated string");
    char *s = malloc((size_t)(q - j->p) + 1), *o = s;
    if (!s) return jerr(j, "out of memory");
    while (*j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20) { free(s); return jerr(j, "control character 0x%02x in a string", c); }
        if (c != '\\') { *o++ = (char)c; j->p++; continue; }
        j->p++;
        char e = *j->p++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (!hex4(j, &cp)) { free(s); return 0; }
            if (cp >= 0xDC00 && cp <= 0xDFFF) { free(s); return jerr(j, "lone low surrogate in \\u escape"); }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') {
                    free(s);
                    return jerr(j, "high surrogate without a low one");
                }
                j->p += 2;
                if (!hex4(j, &lo)) { free(s); return 0; }
                if (lo < 0xDC00 || lo > 0xDFFF) { free(s); return jerr(j, "bad low surrogate"); }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) { free(s); return jerr(j, "\\u0000 in a string"); }
            o += put_utf8(o, cp);  /* \uXXXX is 6 bytes, its UTF-8 at most 4 (pairs: 12 -> 4) */
            break;
        }
        default: free(s); return jerr(j, "bad escape '\\%c'", e);
        }
    }
    j->p++;
    *o = 0;
    *out = s;
    return 1;
}

/* Number grammar of RFC 8259 §6; the literal is kept as text for exact conversion later. */
static int parse_number(jparser *j, jval *v) {
    const char *s = j->p, *q = s;
    if (q < j->end && *q == '-') q++;
    if (q >= j->end || *q < '0' || *q > '9') return jerr(j, "bad number");
    if (*q == '0') q++;
    else while (q < j->end && *q >= '0' && *q <= '9') q++;
    if (q < j->end && *q == '.') {
        q++;
        if (q >= j->end || *q < '0' || *q > '9') return jerr(j, "digit expected after '.'");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < j->end && (*q == '+' || *q == '-')) q++;
        if (q >= j->end || *q < '0' || *q > '9') return jerr(j, "digit expected in exponent");
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if ((size_t)(q - s) > 64) return jerr(j, "number literal longer than 64 characters");
    v->str = malloc((size_t)(q - s) + 1);
    if (!v->str) return jerr(j, "out of memory");
    memcpy(v->str, s, (size_t)(q - s));
    v->str[q - s] = 0;
    v->type = J_NUM;
    j->p = q;
    return 1;
}

static int parse_value(jparser *j, jval *v, int depth);

/* Grows a J_ARR/J_OBJ by one item (geometric capacity kept in *cap). */
static jval *push_item(jparser *j, jval *v, size_t *cap) {
    if (v->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        jval *ni = realloc(v->items, nc * sizeof *ni);
        if (!ni) { jerr(j, "out of memory"); return NULL; }
        v->items = ni;
        if (v->type == J_OBJ) {
            char **nk = realloc(v->keys, nc * sizeof *nk);
            if (!nk) { jerr(j, "out of memory"); return NULL; }
            v->keys = nk;
        }
        *cap = nc;
    }
    jval *it = &v->items[v->n];
    memset(it, 0, sizeof *it);
    return it;
}

static int parse_value(jparser *j, jval *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(j);
    v->off = (size_t)(j->p - j->start);
    if (depth > MAX_DEPTH) return jerr(j, "nesting deeper than %d", MAX_DEPTH);
    if (j->p >= j->end) return jerr(j, "value expected, input ends");
    char c = *j->p;
    if (c == '"') {
        v->type = J_STR;
        return parse_string(j, &v->str);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(j, v);
    static const struct { const char *word; jtype type; } lits[] = {
        {"null", J_NULL}, {"false", J_FALSE}, {"true", J_TRUE}};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(lits[i].word);
        if ((size_t)(j->end - j->p) >= len && memcmp(j->p, lits[i].word, len) == 0) {
            v->type = lits[i].type;
            j->p += len;
            return 1;
        }
    }
    if (c != '[' && c != '{') return jerr(j, "unexpected character '%c'", c);
    int obj = c == '{';
    v->type = obj ? J_OBJ : J_ARR;
    size_t cap = 0;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; return 1; }
    for (;;) {
        jval *it = push_item(j, v, &cap);
        if (!it) return 0;
        char *key = NULL;
        if (obj) {
            skip_ws(j);
            if (j->p >= j->end || *j->p != '"') return jerr(j, "object key (a string) expected");
            if (!parse_string(j, &key)) return 0;
            for (size_t k = 0; k < v->n; k++)
                if (strcmp(v->keys[k], key) == 0) {
                    free(key);
                    return jerr(j, "duplicate key \"%s\"", v->keys[k]);
                }
            skip_ws(j);
            if (j->p >= j->end || *j->p != ':') { free(key); return jerr(j, "':' expected"); }
            j->p++;
            v->keys[v->n] = key;
        }
        v->n++;  /* counted before parsing so a failure frees what was built */
        if (!parse_value(j, it, depth + 1)) return 0;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') { j->p++; continue; }
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; return 1; }
        return jerr(j, "',' or '%c' expected", obj ? '}' : ']');
    }
}

static int json_parse(const char *text, size_t n, jval *root, char *err, size_t errcap) {
    jparser j = {text, text + n, text, {0}};
    json_text = text;
    /* RFC 8259 §8.1: JSON text is UTF-8 (a byte order mark is refused as well) */
    for (size_t k = 0; k < n;) {
        size_t len = utf8_len((const unsigned char *)text + k, n - k);
        if (len == 0 || (k == 0 && n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)) {
            j.p = text + k;
            jerr(&j, "malformed UTF-8 or a byte order mark (byte %zu)", k);
            snprintf(err, errcap, "%s", j.err);
            return 0;
        }
        k += len;
    }
    int ok = parse_value(&j, root, 0);
    if (ok) {
        skip_ws(&j);
        if (j.p != j.end) ok = jerr(&j, "trailing characters after the top-level value");
    }
    if (!ok) {
        jfree(root);
        snprintf(err, errcap, "%s", j.err);
    }
    return ok;
}

static const jval *jget(const jval *obj, const char *key) {
    for (size_t i = 0; obj->type == J_OBJ && i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

/* ======================================================================================== */
/* conversion                                                                              */
/* ======================================================================================== */

static const char *prog = "faceapi2feb";

static int fail(const char *fmt, ...) {
    fprintf(stderr, "%s: ", prog);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Checks that obj has only keys from the NULL-terminated list. */
static int only_keys(const jval *obj, const char *what, const char *const *allowed) {
    for (size_t i = 0; i < obj->n; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= strcmp(obj->keys[i], *a) == 0;
        if (!ok)
            return fail("manifest line %zu: unknown field \"%s\" in %s (refusing to drop data silently)",
                        line_of(&obj->items[i]), obj->keys[i], what);
    }
    return 1;
}

/* A JSON number that must be a non-negative integer literal in [1, max]. */
static int get_dim(const jval *v, uint64_t max, uint64_t *out) {
    if (v->type != J_NUM) return 0;
    const char *s = v->str;
    if (*s < '1' || *s > '9') return 0;
    uint64_t d = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        d = d * 10 + (uint64_t)(*s - '0');
        if (d > max) return 0;
    }
    *out = d;
    return 1;
}

static int get_double(const jval *v, double *out) {
    if (!v || v->type != J_NUM) return 0;
    char *end;
    errno = 0;
    *out = strtod(v->str, &end);  /* correctly rounded, as JavaScript's Number() */
    return *end == 0 && errno == 0;
}

typedef struct options {
    const char *package, *version, *dir, *arch;
} options;

/* Reads one manifest weight entry into *t (everything but data). */
static int read_weight(const jval *w, size_t i, fe__tensor *t) {
    static const char *const weight_keys[] = {"name", "shape", "dtype", "quantization", NULL};
    static const char *const quant_keys[] = {"dtype", "scale", "min", NULL};
    if (w->type != J_OBJ) return fail("manifest line %zu: weight %zu is not an object", line_of(w), i);
    if (!only_keys(w, "a weight", weight_keys)) return 0;
    const jval *name = jget(w, "name"), *shape = jget(w, "shape"), *dtype = jget(w, "dtype"),
               *q = jget(w, "quantization");
    if (!name || name->type != J_STR) return fail("manifest line %zu: weight %zu has no name", line_of(w), i);
    size_t len = strlen(name->str);
    int name_ok = len >= 1 && len < FE_BLOB_NAME_LEN;
    for (size_t k = 0; name_ok && k < len; k++) {
        char c = name->str[k];
        name_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '/' || c == '-';
    }
    if (!name_ok)
        return fail("manifest line %zu: name \"%s\" is not 1..%d characters of [A-Za-z0-9_./-]", line_of(name),
                    name->str, FE_BLOB_NAME_LEN - 1);
    memcpy(t->name, name->str, len + 1);
    if (!dtype || dtype->type != J_STR || strcmp(dtype->str, "float32") != 0)
        return fail("manifest line %zu: '%s' has dtype %s; only float32 is supported", line_of(w), t->name,
                    dtype && dtype->type == J_STR ? dtype->str : "(missing)");
    if (!shape || shape->type != J_ARR || shape->n < 1 || shape->n > FE_BLOB_MAX_DIMS)
        return fail("manifest line %zu: '%s' needs a shape of 1..%d dimensions", line_of(w), t->name,
                    FE_BLOB_MAX_DIMS);
    t->ndim = (uint32_t)shape->n;
    uint64_t n_elems = 1;
    for (size_t k = 0; k < FE_BLOB_MAX_DIMS; k++) t->dims[k] = 1;
    for (size_t k = 0; k < shape->n; k++)
        if (!get_dim(&shape->items[k], FE_BLOB_MAX_BYTES, &t->dims[k]) ||
            !fe__mul_u64(n_elems, t->dims[k], &n_elems) || n_elems > FE_BLOB_MAX_BYTES)
            return fail("manifest line %zu: '%s' dim %zu is not an integer in 1..%llu (or the size is too large)",
                        line_of(shape), t->name, k, FE_BLOB_MAX_BYTES);
    t->n_elems = n_elems;
    if (!q) {
        t->dtype = FE_DTYPE_F32;
        t->nbytes = n_elems * 4;  /* n_elems <= 1 GiB: no overflow */
        return 1;
    }
    if (q->type != J_OBJ) return fail("manifest line %zu: quantization is not an object", line_of(q));
    if (!only_keys(q, "a quantization", quant_keys)) return 0;
    const jval *qd = jget(q, "dtype");
    if (!qd || qd->type != J_STR || strcmp(qd->str, "uint8") != 0)
        return fail("manifest line %zu: '%s' is quantized as %s; only uint8 is supported", line_of(q), t->name,
                    qd && qd->type == J_STR ? qd->str : "(missing dtype)");
    if (!get_double(jget(q, "scale"), &t->scale) || !get_double(jget(q, "min"), &t->min))
        return fail("manifest line %zu: '%s' needs numeric quantization scale and min", line_of(q), t->name);
    t->dtype = FE_DTYPE_U8;
    t->nbytes = n_elems;
    return 1;
}

/* Fills *out from the manifest (manifest order); data pointers point into bin, whose size
 * must be exactly the sum of the tensor sizes. */
static int read_manifest(const jval *root, const uint8_t *bin, size_t bin_size, const char *bin_path,
                         fe__tensor **out, size_t *n_out) {
    if (root->type != J_ARR || root->n != 1)
        return fail("manifest: expected an array of exactly one weight group");
    const jval *g = &root->items[0];
    static const char *const group_keys[] = {"paths", "weights", NULL};
    if (g->type != J_OBJ) return fail("manifest: the weight group is not an object");
    if (!only_keys(g, "the weight group", group_keys)) return 0;
    const jval *paths = jget(g, "paths"), *weights = jget(g, "weights");
    if (!paths || paths->type != J_ARR || paths->n != 1 || paths->items[0].type != J_STR)
        return fail("manifest: \"paths\" must list exactly one .bin file (sharded weights are not supported)");
    if (strcmp(paths->items[0].str, base_name(bin_path)) != 0)
        fprintf(stderr, "%s: note: the manifest names \"%s\", converting %s\n", prog, paths->items[0].str, bin_path);
    if (!weights || weights->type != J_ARR || weights->n == 0)
        return fail("manifest: \"weights\" must be a non-empty array");
    if (weights->n > FE_BLOB_MAX_TENSORS)
        return fail("manifest: %zu tensors, above the cap of %u", weights->n, FE_BLOB_MAX_TENSORS);
    fe__tensor *ts = calloc(weights->n, sizeof *ts);
    if (!ts) return fail("out of memory");
    uint64_t pos = 0;
    for (size_t i = 0; i < weights->n; i++) {
        fe__tensor *t = &ts[i];
        if (!read_weight(&weights->items[i], i, t)) goto bad;
        if (t->nbytes > bin_size - pos) {
            fail("%s has %zu bytes; the manifest needs more (tensor %zu '%s' ends at byte %llu)", bin_path, bin_size,
                 i, t->name, (unsigned long long)(pos + t->nbytes));
            goto bad;
        }
        t->data = bin + pos;
        pos += t->nbytes;
    }
    if (pos != bin_size) {
        fail("%s has %zu bytes but the manifest describes %llu", bin_path, bin_size, (unsigned long long)pos);
        goto bad;
    }
    *out = ts;
    *n_out = weights->n;
    return 1;
bad:
    free(ts);
    return 0;
}

static int meta_add(char *buf, size_t cap, size_t *len, const char *key, const char *value) {
    int k = snprintf(buf + *len, cap - *len, "%s=%s\n", key, value);
    if (k < 0 || (size_t)k >= cap - *len) return fail("metadata too long");
    *len += (size_t)k;
    return 1;
}

static int build_meta(const options *o, const char *manifest_path, const char *manifest_sha,
                      const char *bin_path, const char *bin_sha, char *buf, size_t cap, size_t *len) {
    char path[512];
    int ok = meta_add(buf, cap, len, "arch", o->arch);
    if (strcmp(o->arch, FE_NET_ARCH) == 0) {
        /* the facts a user of this network needs (faceres.md §1); FORMAT.md §5 lists them */
        ok = ok && meta_add(buf, cap, len, "input", "150x150x3") &&
             meta_add(buf, cap, len, "input.channels", "RGB") &&
             meta_add(buf, cap, len, "input.normalize", "(x-mean)/255") &&
             meta_add(buf, cap, len, "input.mean_rgb", "122.782,117.001,104.298") &&
             meta_add(buf, cap, len, "layout", "NHWC") &&
             meta_add(buf, cap, len, "filter_layout", "HWIO") &&
             meta_add(buf, cap, len, "fc_layout", "IO");
    }
    ok = ok && meta_add(buf, cap, len, "dequantize", "(float)((double)q*scale+min)") &&
         meta_add(buf, cap, len, "source.package", o->package) &&
         meta_add(buf, cap, len, "source.version", o->version);
    snprintf(path, sizeof path, "%s%s%s", o->dir, *o->dir ? "/" : "", base_name(manifest_path));
    ok = ok && meta_add(buf, cap, len, "source.manifest", path) &&
         meta_add(buf, cap, len, "source.manifest.sha256", manifest_sha);
    snprintf(path, sizeof path, "%s%s%s", o->dir, *o->dir ? "/" : "", base_name(bin_path));
    ok = ok && meta_add(buf, cap, len, "source.bin", path) && meta_add(buf, cap, len, "source.bin.sha256", bin_sha) &&
         meta_add(buf, cap, len, "converter", CONVERTER_VERSION);
    if (ok && strcmp(o->package, "@vladmandic/face-api") == 0)
        ok = meta_add(buf, cap, len, "license",
                      "MIT; Copyright (c) Vladimir Mandic; face-api.js Copyright (c) 2018 Vincent M\xc3\xbchler; "
                      "see weights/PROVENANCE.md");
    return ok;
}

static void usage(FILE *fp) {
    fprintf(fp,
            "usage: faceapi2feb [options] MANIFEST.json MODEL.bin OUT.feb\n\n"
            "Converts a TensorFlow.js weights manifest and its .bin (face-api's face_recognition_model)\n"
            "into a .feb weight blob (weights/FORMAT.md), losslessly and deterministically.\n\n"
            "options:\n"
            "  --package NAME   source package recorded in the metadata (default @vladmandic/face-api)\n"
            "  --version VER    its version (default 1.7.15)\n"
            "  --dir DIR        directory of the files inside the package (default model)\n"
            "  --arch NAME      arch metadata (default %s: the result must match the network's\n"
            "                   117-tensor schema; any other name skips that check)\n"
            "  -h, --help       show this help\n",
            FE_NET_ARCH);
}

int main(int argc, char **argv) {
    options o = {"@vladmandic/face-api", "1.7.15", "model", FE_NET_ARCH};
    const char *pos[3];
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) { usage(stdout); return 0; }
        else if (strcmp(argv[i], "--package") == 0) slot = &o.package;
        else if (strcmp(argv[i], "--version") == 0) slot = &o.version;
        else if (strcmp(argv[i], "--dir") == 0) slot = &o.dir;
        else if (strcmp(argv[i], "--arch") == 0) slot = &o.arch;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, argv[i]);
            return 2;
        } else if (n_pos < 3) {
            pos[n_pos++] = argv[i];
            continue;
        } else {
            fprintf(stderr, "%s: too many arguments (see --help)\n", prog);
            return 2;
        }
        if (++i >= argc) { fprintf(stderr, "%s: %s needs a value\n", prog, argv[i - 1]); return 2; }
        *slot = argv[i];
    }
    if (n_pos != 3) { usage(stderr); return 2; }
    const char *manifest_path = pos[0], *bin_path = pos[1], *out_path = pos[2];

    uint8_t *mtext = NULL, *bin = NULL, *blob = NULL;
    size_t mlen, blen, size;
    fe__tensor *ts = NULL;
    size_t n = 0;
    jval root;
    memset(&root, 0, sizeof root);
    int rc = 1;
    char err[300], msha[65], bsha[65], meta[4096];
    size_t meta_len = 0;
    fe_status st;
    if ((st = fe__read_file(manifest_path, MAX_MANIFEST, &mtext, &mlen)) != FE_OK) {
        fail("%s: %s", fe_status_str(st), fe_last_error());
        goto done;
    }
    if ((st = fe__read_file(bin_path, FE_BLOB_MAX_BYTES, &bin, &blen)) != FE_OK) {
        fail("%s: %s", fe_status_str(st), fe_last_error());
        goto done;
    }
    if (!json_parse((const char *)mtext, mlen, &root, err, sizeof err)) {
        fail("%s: invalid JSON: %s", manifest_path, err);
        goto done;
    }
    if (!read_manifest(&root, bin, blen, bin_path, &ts, &n)) goto done;
    fe__sha256_hex(mtext, mlen, msha);
    fe__sha256_hex(bin, blen, bsha);
    if (!build_meta(&o, manifest_path, msha, bin_path, bsha, meta, sizeof meta, &meta_len)) goto done;
    if ((st = fe__blob_write_memory(ts, n, meta, meta_len, &blob, &size)) != FE_OK) {
        fail("cannot encode the blob: %s: %s", fe_status_name(st), fe_last_error());
        goto done;
    }
    if (strcmp(o.arch, FE_NET_ARCH) == 0) {
        fe__blob *b;
        if ((st = fe__blob_open_memory(blob, size, 0, &b)) == FE_OK) {
            st = fe__net_schema_check(b);
            fe__blob_close(b);
        }
        if (st != FE_OK) {
            fail("%s does not match the %s schema: %s: %s (use --arch for other networks)", manifest_path,
                 FE_NET_ARCH, fe_status_name(st), fe_last_error());
            goto done;
        }
    }
    if ((st = fe__write_file_atomic(out_path, blob, size)) != FE_OK) {
        fail("%s: %s", fe_status_str(st), fe_last_error());
        goto done;
    }
    size_t n_f32 = 0;
    for (size_t i = 0; i < n; i++) n_f32 += ts[i].dtype == FE_DTYPE_F32;
    char osha[65];
    fe__sha256_hex(blob, size, osha);
    printf("%s: %zu tensors (%zu F32, %zu U8), %zu bytes, sha256 %s\n", out_path, n, n_f32, n - n_f32, size, osha);
    rc = 0;
done:
    jfree(&root);
    free(ts);
    fe__free(blob);
    fe__free(bin);
    fe__free(mtext);
    return rc;
}
