/*
 * gallery.c — the gallery index: build in memory, save atomically, load with full validation.
 *
 * Format: weights/INDEX-FORMAT.md (".fei" v1): a 512-byte header with a section directory,
 * then nine 64-byte aligned sections (identities, faces, strings, meta, embeddings, pool4,
 * pool8, map4, map8), each with a CRC-32. A loaded gallery is a read-only view over the file
 * image (memory-mapped, or read into one aligned buffer): nothing is copied or converted but
 * the embeddings, which are also kept as k-major panels (512 bytes per face) for stage 1's
 * scan. A created gallery keeps each section in a growable aligned buffer with exactly the
 * on-disk layout, so saving is a straight write.
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "gallery.h"
#include "half.h"
#include "topk.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define FE_HAVE_MMAP 1
#endif

/* ---- format constants (INDEX-FORMAT.md, "Header") -------------------------------------- */

static const uint8_t gi_magic[8] = {0x89, 'F', 'E', 'I', '\r', '\n', 0x1a, '\n'};
#define GI_VERSION_MAJOR 1u
#define GI_VERSION_MINOR 0u
#define GI_ENDIAN_TAG    0x01020304u
#define GI_HEADER_SIZE   512u
#define GI_HEADER_MAX    65536u
#define GI_ALIGN         64u
#define GI_CRC_OFFSET    92u
#define GI_DIR_OFFSET    96u
#define GI_ENTRY_SIZE    32u
#define GI_FLAG_F16      1u
#define GI_ID_REC        8u    /* u32 label_offset, u32 label_length                          */
#define GI_FACE_REC      12u   /* u32 identity, u32 path_offset, u32 path_length              */
#define GI_META_KEY_MAX  64u
#define GI_META_VAL_MAX  4095u
#define GI_EMB_TOL       1e-3  /* |sum of squares - 1| allowed for stored unit vectors        */
#define GI_PATCH_TOL     1e-2  /* looser for patches: fp16 rounding moves it up to ~1e-3      */

enum { SEC_IDS, SEC_FACES, SEC_STRINGS, SEC_META, SEC_EMB, SEC_POOL4, SEC_POOL8, SEC_MAP4,
       SEC_MAP8, N_SEC };
static const char *const sec_name[N_SEC] = {"identities", "faces", "strings", "meta",
                                            "embeddings", "pool4", "pool8", "map4", "map8"};

/* A growable 64-byte aligned byte buffer (writable galleries). */
typedef struct growbuf {
    uint8_t *p;
    size_t   len, cap;
} growbuf;

struct fe_gallery {
    int              read_only;       /* loaded from a file or buffer                        */
    int              mapped;          /* image is an mmap of the file                        */
    int              crc_verified;
    fe_gallery_dtype dtype;           /* of the patch maps                                   */
    uint32_t         version_major, version_minor;
    size_t           n_faces, n_ids, meta_count;
    const uint8_t   *sec[N_SEC];      /* each section's bytes (into image or buf)            */
    size_t           len[N_SEC];
    growbuf          buf[N_SEC];      /* writable galleries own their sections here          */
    uint8_t         *image;           /* loaded galleries: the whole file                    */
    size_t           image_size;
    uint32_t        *id_faces;        /* faces per identity (capacity id_faces_cap)          */
    size_t           id_faces_cap;
    uint32_t        *hash;            /* open addressing: identity id + 1, 0 = empty         */
    size_t           hash_cap;        /* power of two, >= 2 * n_ids                          */
    growbuf          panels;          /* the embeddings again as 16-row k-major panels
                                         (topk.h): stage 1 scans these. 1% of the index.     */
};

static _Thread_local fe__gallery_write_hook write_hook;
static _Thread_local void *write_hook_ctx;

void fe__gallery_set_write_hook(fe__gallery_write_hook hook, void *ctx) {
    write_hook = hook;
    write_hook_ctx = ctx;
}

/* ---- sizes ---------------------------------------------------------------------------- */

static size_t patch_elem_bytes(fe_gallery_dtype d) { return d == FE_GALLERY_F16 ? 2 : 4; }

/* Bytes per face of a per-face array section (0 for the others). */
static size_t row_bytes(int s, fe_gallery_dtype d) {
    switch (s) {
    case SEC_FACES: return GI_FACE_REC;
    case SEC_EMB: return FE_DESC_DIM * 4;
    case SEC_POOL4: return FE_MAP4_DIM * 4;
    case SEC_POOL8: return FE_MAP8_DIM * 4;
    case SEC_MAP4: return (size_t)FE_MAP4_CELLS * FE_MAP4_DIM * patch_elem_bytes(d);
    case SEC_MAP8: return (size_t)FE_MAP8_CELLS * FE_MAP8_DIM * patch_elem_bytes(d);
    default: return 0;
    }
}

static uint64_t align_up(uint64_t v) { return (v + GI_ALIGN - 1) & ~(uint64_t)(GI_ALIGN - 1); }

/* ---- small helpers -------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF) without C0 control
 * characters or DEL, so labels and paths print safely on one line. */
static int text_ok(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) return 0;
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1fu; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0fu; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07u; min = 0x10000; }
        else return 0;
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

static int meta_key_ok(const char *k, size_t n) {
    if (n == 0 || n > GI_META_KEY_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Sum of squares of n floats, 8 independent lanes so the loop vectorises. NaN/Inf in x make
 * the result NaN/Inf, which the callers' range checks reject. */
static float sumsq(const float *x, size_t n) {
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[i + l] * x[i + l];
    float s = 0;
    for (; i < n; i++) s += x[i] * x[i];
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

/* ---- normalisation: features -> stored rows ------------------------------------------- */

static fe_status normalise(const float *x, size_t n, float *out, int allow_zero, const char *what,
                           size_t cell) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    if (!isfinite(s))
        return fe__fail(FE_E_NUMERIC, "%s (cell %zu) contains NaN or Inf", what, cell);
    if (s == 0) {
        if (!allow_zero) return fe__fail(FE_E_NUMERIC, "%s is all zero", what);
        memset(out, 0, n * sizeof *out);
        return FE_OK;
    }
    double inv = 1.0 / sqrt(s);
    for (size_t i = 0; i < n; i++) out[i] = (float)((double)x[i] * inv);
    return FE_OK;
}

static fe_status prepare_map(const float *map, size_t cells, size_t dim, float *out, float *pool,
                             const char *what) {
    double mean[FE_MAP4_DIM > FE_MAP8_DIM ? FE_MAP4_DIM : FE_MAP8_DIM];
    for (size_t c = 0; c < dim; c++) mean[c] = 0;
    for (size_t k = 0; k < cells; k++) {
        const float *row = map + k * dim;
        fe_status st = normalise(row, dim, out + k * dim, 1, what, k);
        if (st != FE_OK) return st;
        for (size_t c = 0; c < dim; c++) mean[c] += row[c];
    }
    /* mean over cells of the raw map, then L2-normalised (a zero mean stays zero) */
    double s = 0;
    for (size_t c = 0; c < dim; c++) {
        mean[c] /= (double)cells;
        s += mean[c] * mean[c];
    }
    double inv = s > 0 ? 1.0 / sqrt(s) : 0.0;
    for (size_t c = 0; c < dim; c++) pool[c] = (float)(mean[c] * inv);
    return FE_OK;
}

fe_status fe__features_prepare(const fe_features *f, fe__prepared *p) {
    if (!f || !p) return fe__fail(FE_E_ARG, "NULL features");
    fe_status st = normalise(f->embedding, FE_DESC_DIM, p->emb, 0, "embedding", 0);
    if (st != FE_OK) return st;
    st = prepare_map(f->map4, FE_MAP4_CELLS, FE_MAP4_DIM, p->map4, p->pool4, "map4");
    if (st != FE_OK) return st;
    return prepare_map(f->map8, FE_MAP8_CELLS, FE_MAP8_DIM, p->map8, p->pool8, "map8");
}

/* ---- writable storage ----------------------------------------------------------------- */

static fe_status grow_reserve(growbuf *b, size_t extra) {
    size_t need;
    if (!fe__add_size(b->len, extra, &need)) return fe__fail(FE_E_OVERFLOW, "gallery too large");
    if (need <= b->cap) return FE_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { cap = need; break; }
        cap *= 2;
    }
    uint8_t *p = fe__aligned_alloc(cap);
    if (!p) return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes of gallery storage", cap);
    if (b->len) memcpy(p, b->p, b->len);
    fe__aligned_free(b->p);
    b->p = p;
    b->cap = cap;
    return FE_OK;
}

/* Points the section views at the writable buffers (after any growth). */
static void sync_views(fe_gallery *g) {
    for (int s = 0; s < N_SEC; s++) {
        g->sec[s] = g->buf[s].p;
        g->len[s] = g->buf[s].len;
    }
}

static const char *str_at(const fe_gallery *g, uint32_t off) {
    return (const char *)g->sec[SEC_STRINGS] + off;
}

static const char *id_label(const fe_gallery *g, size_t id) {
    return str_at(g, fe__rd_u32le(g->sec[SEC_IDS] + id * GI_ID_REC));
}

/* Identity id of label (n bytes), or UINT32_MAX. */
static uint32_t hash_find(const fe_gallery *g, const char *label, size_t n) {
    if (!g->hash_cap) return UINT32_MAX;
    size_t mask = g->hash_cap - 1;
    for (size_t h = (size_t)fnv1a(label, n) & mask;; h = (h + 1) & mask) {
        uint32_t e = g->hash[h];
        if (!e) return UINT32_MAX;
        const uint8_t *rec = g->sec[SEC_IDS] + (size_t)(e - 1) * GI_ID_REC;
        if (fe__rd_u32le(rec + 4) == n && memcmp(str_at(g, fe__rd_u32le(rec)), label, n) == 0)
            return e - 1;
    }
}

static void hash_insert(fe_gallery *g, uint32_t id) {
    const uint8_t *rec = g->sec[SEC_IDS] + (size_t)id * GI_ID_REC;
    size_t mask = g->hash_cap - 1;
    size_t h = (size_t)fnv1a(str_at(g, fe__rd_u32le(rec)), fe__rd_u32le(rec + 4)) & mask;
    while (g->hash[h]) h = (h + 1) & mask;
    g->hash[h] = id + 1;
}

/* Makes room in the hash table and the per-identity counts for n_ids identities (the ids
 * already present are rehashed into a larger table). */
static fe_status ids_reserve(fe_gallery *g, size_t n_ids) {
    if (n_ids > g->id_faces_cap) {
        size_t cap = g->id_faces_cap ? g->id_faces_cap : 64;
        while (cap < n_ids) cap *= 2;  /* n_ids <= FE_MAX_GALLERY: no overflow */
        uint32_t *c = fe__malloc(cap * sizeof *c);
        if (!c) return fe__fail(FE_E_NOMEM, "cannot allocate identity counts");
        if (g->n_ids) memcpy(c, g->id_faces, g->n_ids * sizeof *c);
        fe__free(g->id_faces);
        g->id_faces = c;
        g->id_faces_cap = cap;
    }
    if (2 * n_ids >= g->hash_cap) {
        size_t cap = 64;
        while (cap <= 2 * n_ids) cap *= 2;
        uint32_t *h = fe__calloc(cap, sizeof *h);
        if (!h) return fe__fail(FE_E_NOMEM, "cannot allocate the label table");
        fe__free(g->hash);
        g->hash = h;
        g->hash_cap = cap;
        for (size_t id = 0; id < g->n_ids; id++) hash_insert(g, (uint32_t)id);
    }
    return FE_OK;
}

/* Appends s (n bytes + NUL) to the strings section; space must be reserved. */
static uint32_t push_string(fe_gallery *g, const char *s, size_t n) {
    growbuf *b = &g->buf[SEC_STRINGS];
    uint32_t off = (uint32_t)b->len;
    memcpy(b->p + b->len, s, n);
    b->p[b->len + n] = 0;
    b->len += n + 1;
    return off;
}

static void push_bytes(growbuf *b, const void *p, size_t n) {
    if (n == 0) return;  /* b->p and p may be NULL for empty sections */
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Adds a new identity (space reserved by the caller). */
static uint32_t add_identity(fe_gallery *g, const char *label, size_t n) {
    uint32_t id = (uint32_t)g->n_ids;
    uint8_t rec[GI_ID_REC];
    fe__wr_u32le(rec, push_string(g, label, n));
    fe__wr_u32le(rec + 4, (uint32_t)n);
    push_bytes(&g->buf[SEC_IDS], rec, sizeof rec);
    g->n_ids++;
    g->id_faces[id] = 0;
    sync_views(g);
    hash_insert(g, id);
    return id;
}

static void add_face_record(fe_gallery *g, uint32_t id, const char *path, size_t n) {
    uint8_t rec[GI_FACE_REC];
    fe__wr_u32le(rec, id);
    fe__wr_u32le(rec + 4, push_string(g, path, n));
    fe__wr_u32le(rec + 8, (uint32_t)n);
    push_bytes(&g->buf[SEC_FACES], rec, sizeof rec);
    g->id_faces[id]++;
    g->n_faces++;
}

/* Grows the panel copy of the embeddings to hold n faces; new panels start zeroed. */
static fe_status panels_reserve(fe_gallery *g, size_t n) {
    size_t need = fe__panels_floats(n, FE_DESC_DIM) * sizeof(float);  /* n <= FE_MAX_GALLERY */
    if (need <= g->panels.len) return FE_OK;
    fe_status st = grow_reserve(&g->panels, need - g->panels.len);
    if (st != FE_OK) return st;
    memset(g->panels.p + g->panels.len, 0, need - g->panels.len);
    g->panels.len = need;
    return FE_OK;
}

/* Reserves extra[s] bytes in every section and room for n_ids identities, checking the
 * format's caps first; nothing is changed but capacity. */
static fe_status reserve_all(fe_gallery *g, const size_t extra[N_SEC], size_t n_faces, size_t n_ids) {
    if (n_faces > FE_MAX_GALLERY)
        return fe__fail(FE_E_LIMIT, "a gallery holds at most %u faces", FE_MAX_GALLERY);
    if (extra[SEC_STRINGS] > UINT32_MAX - g->buf[SEC_STRINGS].len)
        return fe__fail(FE_E_LIMIT, "labels and paths exceed the 4 GiB string table");
    if (extra[SEC_META] > FE_MAX_META_BYTES - g->buf[SEC_META].len)
        return fe__fail(FE_E_LIMIT, "metadata exceeds %u bytes", FE_MAX_META_BYTES);
    fe_status st = FE_OK;
    for (int s = 0; s < N_SEC && st == FE_OK; s++) st = grow_reserve(&g->buf[s], extra[s]);
    sync_views(g);  /* also after a failure: buffers that grew have moved */
    if (st == FE_OK) st = panels_reserve(g, n_faces);
    return st == FE_OK ? ids_reserve(g, n_ids) : st;
}

static fe_status check_text_arg(const char *s, size_t max, int nonempty, const char *what, size_t *len) {
    size_t n = strlen(s);
    if (n > max) return fe__fail(FE_E_LIMIT, "%s is %zu bytes; the limit is %zu", what, n, max);
    if (nonempty && n == 0) return fe__fail(FE_E_ARG, "%s is empty", what);
    if (!text_ok((const uint8_t *)s, n))
        return fe__fail(FE_E_ARG, "%s is not UTF-8 text without control characters", what);
    *len = n;
    return FE_OK;
}

/* ---- public: create / add / append / meta --------------------------------------------- */

void fe_gallery_options_default(fe_gallery_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->patch_dtype = FE_GALLERY_F32;
    opt->verify_crc = 1;
    opt->use_mmap = 1;
}

static fe_status read_options(const fe_gallery_options *opt, fe_gallery_options *o) {
    fe_gallery_options_default(o);
    if (!opt) return FE_OK;
    if (opt->size < sizeof *o)
        return fe__fail(FE_E_ARG, "options.size is %u; use fe_gallery_options_default", opt->size);
    *o = *opt;
    if (o->patch_dtype != FE_GALLERY_F32 && o->patch_dtype != FE_GALLERY_F16)
        return fe__fail(FE_E_ARG, "unknown patch dtype %d", (int)o->patch_dtype);
    return FE_OK;
}

fe_status fe_gallery_create(const fe_gallery_options *opt, fe_gallery **out_gallery) {
    if (!out_gallery) return fe__fail(FE_E_ARG, "out_gallery is NULL");
    *out_gallery = NULL;
    fe_gallery_options o;
    fe_status st = read_options(opt, &o);
    if (st != FE_OK) return st;
    fe_gallery *g = fe__calloc(1, sizeof *g);
    if (!g) return fe__fail(FE_E_NOMEM, "cannot allocate a gallery");
    g->dtype = o.patch_dtype;
    g->version_major = GI_VERSION_MAJOR;
    g->version_minor = GI_VERSION_MINOR;
    *out_gallery = g;
    return FE_OK;
}

fe_status fe_gallery_add(fe_gallery *g, const char *label, const char *path, const fe_features *f) {
    if (!g || !label || !f) return fe__fail(FE_E_ARG, "NULL gallery, label or features");
    if (g->read_only) return fe__fail(FE_E_ARG, "a loaded gallery is read-only (append it to a new one)");
    if (!path) path = "";
    size_t ln, pn;
    fe_status st = check_text_arg(label, FE_MAX_LABEL_BYTES, 1, "label", &ln);
    if (st == FE_OK) st = check_text_arg(path, FE_MAX_PATH_BYTES, 0, "path", &pn);
    if (st != FE_OK) return st;
    fe__prepared *p = fe__malloc(sizeof *p);
    if (!p) return fe__fail(FE_E_NOMEM, "cannot allocate feature scratch");
    st = fe__features_prepare(f, p);
    uint32_t id = st == FE_OK ? hash_find(g, label, ln) : 0;
    size_t extra[N_SEC] = {0};
    if (st == FE_OK) {
        int new_id = id == UINT32_MAX;
        for (int s = 0; s < N_SEC; s++) extra[s] = row_bytes(s, g->dtype);
        extra[SEC_IDS] = new_id ? GI_ID_REC : 0;
        extra[SEC_STRINGS] = pn + 1 + (new_id ? ln + 1 : 0);
        st = reserve_all(g, extra, g->n_faces + 1, g->n_ids + (size_t)new_id);
    }
    if (st == FE_OK) {
        if (id == UINT32_MAX) id = add_identity(g, label, ln);
        fe__panels_set_row((float *)(void *)g->panels.p, FE_DESC_DIM, g->n_faces, p->emb);
        add_face_record(g, id, path, pn);
        push_bytes(&g->buf[SEC_EMB], p->emb, sizeof p->emb);
        push_bytes(&g->buf[SEC_POOL4], p->pool4, sizeof p->pool4);
        push_bytes(&g->buf[SEC_POOL8], p->pool8, sizeof p->pool8);
        if (g->dtype == FE_GALLERY_F16) {
            growbuf *b4 = &g->buf[SEC_MAP4], *b8 = &g->buf[SEC_MAP8];
            fe__f32_to_f16_array(p->map4, (uint16_t *)(void *)(b4->p + b4->len), FE_MAP4_CELLS * FE_MAP4_DIM);
            fe__f32_to_f16_array(p->map8, (uint16_t *)(void *)(b8->p + b8->len), FE_MAP8_CELLS * FE_MAP8_DIM);
            b4->len += row_bytes(SEC_MAP4, g->dtype);
            b8->len += row_bytes(SEC_MAP8, g->dtype);
        } else {
            push_bytes(&g->buf[SEC_MAP4], p->map4, sizeof p->map4);
            push_bytes(&g->buf[SEC_MAP8], p->map8, sizeof p->map8);
        }
        sync_views(g);
    }
    fe__free(p);
    return st;
}

fe_status fe_gallery_meta_add(fe_gallery *g, const char *key, const char *value) {
    if (!g || !key || !value) return fe__fail(FE_E_ARG, "NULL gallery, key or value");
    if (g->read_only) return fe__fail(FE_E_ARG, "a loaded gallery is read-only");
    size_t kn = strlen(key), vn;
    if (!meta_key_ok(key, kn))
        return fe__fail(FE_E_ARG, "metadata key '%.80s' is not 1..64 of [a-z0-9_.-]", key);
    fe_status st = check_text_arg(value, GI_META_VAL_MAX, 0, "metadata value", &vn);
    if (st != FE_OK) return st;
    size_t extra[N_SEC] = {0};
    extra[SEC_META] = kn + vn + 2;
    st = reserve_all(g, extra, g->n_faces, g->n_ids);
    if (st != FE_OK) return st;
    push_bytes(&g->buf[SEC_META], key, kn + 1);
    push_bytes(&g->buf[SEC_META], value, vn + 1);
    g->meta_count++;
    sync_views(g);
    return FE_OK;
}

fe_status fe_gallery_append(fe_gallery *dst, const fe_gallery *src) {
    if (!dst || !src) return fe__fail(FE_E_ARG, "NULL gallery");
    if (dst->read_only) return fe__fail(FE_E_ARG, "the destination gallery is read-only");
    if (dst == src) return fe__fail(FE_E_ARG, "cannot append a gallery to itself");
    size_t n = src->n_faces;
    if (n > FE_MAX_GALLERY - dst->n_faces)
        return fe__fail(FE_E_LIMIT, "a gallery holds at most %u faces", FE_MAX_GALLERY);
    /* Map src identities to dst ids before changing anything, so a failure leaves dst as is. */
    uint32_t *map = fe__malloc((src->n_ids ? src->n_ids : 1) * sizeof *map);
    if (!map) return fe__fail(FE_E_NOMEM, "cannot allocate the identity map");
    size_t extra[N_SEC] = {0}, new_ids = 0;
    for (size_t id = 0; id < src->n_ids; id++) {
        const char *lab = id_label(src, id);
        size_t ln = fe__rd_u32le(src->sec[SEC_IDS] + id * GI_ID_REC + 4);
        map[id] = hash_find(dst, lab, ln);
        if (map[id] == UINT32_MAX) {
            new_ids++;
            extra[SEC_STRINGS] += ln + 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        extra[SEC_STRINGS] += fe__rd_u32le(src->sec[SEC_FACES] + i * GI_FACE_REC + 8) + 1;
    for (int s = 0; s < N_SEC; s++) {
        size_t rb = row_bytes(s, dst->dtype);
        if (rb) extra[s] = rb * n;  /* n <= FE_MAX_GALLERY, rb <= 32 KiB: fits 64-bit size_t */
    }
    extra[SEC_IDS] = new_ids * GI_ID_REC;
    extra[SEC_META] = src->len[SEC_META];
    fe_status st = reserve_all(dst, extra, dst->n_faces + n, dst->n_ids + new_ids);
    if (st != FE_OK) {
        fe__free(map);
        return st;
    }
    for (size_t id = 0; id < src->n_ids; id++)
        if (map[id] == UINT32_MAX)
            map[id] = add_identity(dst, id_label(src, id),
                                   fe__rd_u32le(src->sec[SEC_IDS] + id * GI_ID_REC + 4));
    for (size_t i = 0; i < n; i++) {
        const uint8_t *rec = src->sec[SEC_FACES] + i * GI_FACE_REC;
        fe__panels_set_row((float *)(void *)dst->panels.p, FE_DESC_DIM, dst->n_faces,
                           (const float *)(const void *)src->sec[SEC_EMB] + i * FE_DESC_DIM);
        add_face_record(dst, map[fe__rd_u32le(rec)], str_at(src, fe__rd_u32le(rec + 4)),
                        fe__rd_u32le(rec + 8));
    }
    push_bytes(&dst->buf[SEC_EMB], src->sec[SEC_EMB], src->len[SEC_EMB]);
    push_bytes(&dst->buf[SEC_POOL4], src->sec[SEC_POOL4], src->len[SEC_POOL4]);
    push_bytes(&dst->buf[SEC_POOL8], src->sec[SEC_POOL8], src->len[SEC_POOL8]);
    for (int s = SEC_MAP4; s <= SEC_MAP8; s++) {
        growbuf *b = &dst->buf[s];
        size_t elems = src->len[s] / patch_elem_bytes(src->dtype);
        if (src->dtype == dst->dtype)
            push_bytes(b, src->sec[s], src->len[s]);
        else if (dst->dtype == FE_GALLERY_F16)
            fe__f32_to_f16_array((const float *)(const void *)src->sec[s], (uint16_t *)(void *)(b->p + b->len), elems);
        else
            fe__f16_to_f32_array((const uint16_t *)(const void *)src->sec[s], (float *)(void *)(b->p + b->len), elems);
        if (src->dtype != dst->dtype) b->len += elems * patch_elem_bytes(dst->dtype);
    }
    push_bytes(&dst->buf[SEC_META], src->sec[SEC_META], src->len[SEC_META]);
    dst->meta_count += src->meta_count;
    sync_views(dst);
    fe__free(map);
    return FE_OK;
}

/* ---- save ----------------------------------------------------------------------------- */

typedef struct layout {
    uint64_t off[N_SEC], size[N_SEC], file_size;
} layout;

static void compute_layout(const fe_gallery *g, layout *L) {
    uint64_t pos = GI_HEADER_SIZE;
    for (int s = 0; s < N_SEC; s++) {
        L->off[s] = align_up(pos);
        L->size[s] = g->len[s];
        pos = L->off[s] + L->size[s];
    }
    L->file_size = align_up(pos);
}

static uint32_t header_crc(const uint8_t *h, size_t header_size) {
    static const uint8_t zero[4] = {0, 0, 0, 0};
    uint32_t c = fe__crc32(0, h, GI_CRC_OFFSET);
    c = fe__crc32(c, zero, 4);
    return fe__crc32(c, h + GI_CRC_OFFSET + 4, header_size - GI_CRC_OFFSET - 4);
}

static void build_header(const fe_gallery *g, const layout *L, uint8_t *h) {
    memset(h, 0, GI_HEADER_SIZE);
    memcpy(h, gi_magic, 8);
    fe__wr_u16le(h + 8, GI_VERSION_MAJOR);
    fe__wr_u16le(h + 10, GI_VERSION_MINOR);
    fe__wr_u32le(h + 12, GI_ENDIAN_TAG);
    fe__wr_u32le(h + 16, GI_HEADER_SIZE);
    fe__wr_u32le(h + 20, GI_ALIGN);
    fe__wr_u64le(h + 24, L->file_size);
    fe__wr_u32le(h + 32, (uint32_t)g->n_faces);
    fe__wr_u32le(h + 36, (uint32_t)g->n_ids);
    fe__wr_u32le(h + 40, g->dtype == FE_GALLERY_F16 ? GI_FLAG_F16 : 0);
    fe__wr_u32le(h + 44, N_SEC);
    fe__wr_u32le(h + 48, FE_DESC_DIM);
    fe__wr_u32le(h + 52, FE_MAP4_CELLS);
    fe__wr_u32le(h + 56, FE_MAP4_DIM);
    fe__wr_u32le(h + 60, FE_MAP8_CELLS);
    fe__wr_u32le(h + 64, FE_MAP8_DIM);
    for (int s = 0; s < N_SEC; s++) {
        uint8_t *e = h + GI_DIR_OFFSET + (size_t)s * GI_ENTRY_SIZE;
        fe__wr_u32le(e, (uint32_t)s + 1);
        fe__wr_u64le(e + 8, L->off[s]);
        fe__wr_u64le(e + 16, L->size[s]);
        fe__wr_u32le(e + 24, fe__crc32(0, g->sec[s], g->len[s]));
    }
    fe__wr_u32le(h + GI_CRC_OFFSET, header_crc(h, GI_HEADER_SIZE));
}

/* Writes n bytes in 1 MiB chunks, calling the test hook after each. */
static fe_status write_chunks(fe__atomic_file *af, const uint8_t *p, size_t n, uint64_t *written) {
    while (n > 0) {
        size_t c = n < (1u << 20) ? n : (1u << 20);
        fe_status st = fe__atomic_write(af, p, c);
        if (st != FE_OK) return st;
        p += c;
        n -= c;
        *written += c;
        if (write_hook) write_hook(write_hook_ctx, *written);
    }
    return FE_OK;
}

fe_status fe_gallery_save(const fe_gallery *g, const char *path) {
    if (!g || !path) return fe__fail(FE_E_ARG, "NULL gallery or path");
    layout L;
    compute_layout(g, &L);
    uint8_t header[GI_HEADER_SIZE];
    build_header(g, &L, header);
    static const uint8_t zeros[GI_ALIGN];
    fe__atomic_file af;
    fe_status st = fe__atomic_begin(&af, path);
    if (st != FE_OK) return st;
    uint64_t pos = 0;
    st = write_chunks(&af, header, sizeof header, &pos);
    for (int s = 0; s < N_SEC && st == FE_OK; s++) {
        st = fe__atomic_write(&af, zeros, (size_t)(L.off[s] - pos));  /* < 64 bytes of padding */
        pos = L.off[s];
        if (st == FE_OK) st = write_chunks(&af, g->sec[s], g->len[s], &pos);
    }
    if (st == FE_OK) st = fe__atomic_write(&af, zeros, (size_t)(L.file_size - pos));
    if (st != FE_OK) {
        fe__atomic_abort(&af);
        return st;
    }
    return fe__atomic_commit(&af);
}

/* ---- load: validation ----------------------------------------------------------------- */

/* Checks one string reference into the strings section. */
static fe_status check_string(const fe_gallery *g, uint32_t off, uint32_t len, size_t max,
                              int nonempty, const char *what, size_t index) {
    const uint8_t *base = g->sec[SEC_STRINGS];
    size_t size = g->len[SEC_STRINGS];
    if (len > max)
        return fe__fail(FE_E_LIMIT, "%s %zu is %u bytes; the limit is %zu", what, index, len, max);
    if ((uint64_t)off + len + 1 > size)
        return fe__fail(FE_E_RANGE, "%s %zu (offset %u, length %u) lies outside the %zu-byte "
                        "string table", what, index, off, len, size);
    if (base[off + len] != 0)
        return fe__fail(FE_E_CORRUPT, "%s %zu is not NUL-terminated", what, index);
    if (nonempty && len == 0) return fe__fail(FE_E_CORRUPT, "%s %zu is empty", what, index);
    if (memchr(base + off, 0, len))
        return fe__fail(FE_E_CORRUPT, "%s %zu contains a NUL byte", what, index);
    if (!text_ok(base + off, len))
        return fe__fail(FE_E_CORRUPT, "%s %zu is not UTF-8 text without control characters", what, index);
    return FE_OK;
}

static fe_status check_meta(fe_gallery *g) {
    const char *p = (const char *)g->sec[SEC_META];
    size_t n = g->len[SEC_META], i = 0, count = 0;
    while (i < n) {
        const char *k = p + i, *kend = memchr(k, 0, n - i);
        if (!kend) return fe__fail(FE_E_CORRUPT, "metadata key at byte %zu is not NUL-terminated", i);
        if (!meta_key_ok(k, (size_t)(kend - k)))
            return fe__fail(FE_E_CORRUPT, "metadata key at byte %zu is not 1..64 of [a-z0-9_.-]", i);
        i += (size_t)(kend - k) + 1;
        const char *v = p + i, *vend = i < n ? memchr(v, 0, n - i) : NULL;
        if (!vend) return fe__fail(FE_E_CORRUPT, "metadata value at byte %zu is not NUL-terminated", i);
        size_t vn = (size_t)(vend - v);
        if (vn > GI_META_VAL_MAX || !text_ok((const uint8_t *)v, vn))
            return fe__fail(FE_E_CORRUPT, "metadata value at byte %zu is not UTF-8 text of at "
                            "most %u bytes", i, GI_META_VAL_MAX);
        i += vn + 1;
        count++;
    }
    g->meta_count = count;
    return FE_OK;
}

/* Every row of a float section is a unit vector (or zero where allowed). */
static fe_status check_unit_rows(const float *x, size_t rows, size_t dim, double tol, int allow_zero,
                                 const char *what, size_t per_face) {
    for (size_t r = 0; r < rows; r++) {
        float s = sumsq(x + r * dim, dim);
        if (allow_zero && s == 0) continue;
        if (!(fabs((double)s - 1.0) <= tol))
            return fe__fail(FE_E_NUMERIC, "%s of face %zu (row %zu) is not a unit vector "
                            "(squared norm %g)", what, r / per_face, r % per_face, (double)s);
    }
    return FE_OK;
}

static fe_status check_patch_rows(const fe_gallery *g, int s, size_t cells, size_t dim) {
    size_t rows = g->n_faces * cells;
    if (g->dtype == FE_GALLERY_F32)
        return check_unit_rows((const float *)(const void *)g->sec[s], rows, dim, GI_PATCH_TOL, 1,
                               sec_name[s], cells);
    const uint16_t *h = (const uint16_t *)(const void *)g->sec[s];
    float tmp[FE_MAP4_DIM > FE_MAP8_DIM ? FE_MAP4_DIM : FE_MAP8_DIM];
    for (size_t r = 0; r < rows; r++) {
        fe__f16_to_f32_array(h + r * dim, tmp, dim);
        fe_status st = check_unit_rows(tmp, 1, dim, GI_PATCH_TOL, 1, sec_name[s], 1);
        if (st != FE_OK)
            return fe__fail(FE_E_NUMERIC, "%s of face %zu (cell %zu) is not a unit vector",
                            sec_name[s], r / cells, r % cells);
    }
    return FE_OK;
}

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* Validates the index image p[0..n) and points g's views into it. Order of checks as in
 * INDEX-FORMAT.md "Reader": every field before it is used, each fault its own status. */
static fe_status parse_image(fe_gallery *g, const uint8_t *p, size_t n, int verify_crc) {
    if (n < 8 || memcmp(p, gi_magic, 8) != 0) {
        if (n < 8 && memcmp(p, gi_magic, n) == 0)
            return fe__fail(FE_E_TRUNCATED, "index is %zu bytes, shorter than its magic", n);
        return fe__fail(FE_E_MAGIC, "not a faceemd gallery index (bad magic)");
    }
    if (n < 16) return fe__fail(FE_E_TRUNCATED, "index is %zu bytes, shorter than its header", n);
    uint32_t major = fe__rd_u16le(p + 8), minor = fe__rd_u16le(p + 10);
    if (major != GI_VERSION_MAJOR)
        return fe__fail(FE_E_VERSION, "index format version %u.%u; this build reads %u.x", major,
                        minor, GI_VERSION_MAJOR);
    uint32_t tag = fe__rd_u32le(p + 12);
    if (tag != GI_ENDIAN_TAG)
        return fe__fail(FE_E_ENDIAN, "byte-order tag is 0x%08x, expected 0x%08x%s", tag,
                        GI_ENDIAN_TAG, tag == 0x04030201u ? " (written big-endian)" : "");
    if (n < 24) return fe__fail(FE_E_TRUNCATED, "index is %zu bytes, shorter than its header", n);
    uint32_t header_size = fe__rd_u32le(p + 16);
    if (header_size < GI_HEADER_SIZE || header_size > GI_HEADER_MAX || header_size % GI_ALIGN)
        return fe__fail(FE_E_CORRUPT, "header size %u is not a multiple of %u in [%u, %u]",
                        header_size, GI_ALIGN, GI_HEADER_SIZE, GI_HEADER_MAX);
    if (n < header_size)
        return fe__fail(FE_E_TRUNCATED, "index is %zu bytes, shorter than its %u-byte header", n,
                        header_size);
    if (verify_crc) {
        uint32_t want = fe__rd_u32le(p + GI_CRC_OFFSET), got = header_crc(p, header_size);
        if (want != got)
            return fe__fail(FE_E_CHECKSUM, "header CRC-32 is 0x%08x, stored 0x%08x", got, want);
    }
    uint32_t alignment = fe__rd_u32le(p + 20);
    if (alignment != GI_ALIGN)
        return fe__fail(FE_E_ALIGN, "alignment field is %u, this format requires %u", alignment, GI_ALIGN);
    uint64_t file_size = fe__rd_u64le(p + 24);
    if (file_size > n)
        return fe__fail(FE_E_TRUNCATED, "index is %zu bytes, its header says %llu", n,
                        (unsigned long long)file_size);
    if (file_size < n)
        return fe__fail(FE_E_CORRUPT, "index has %llu bytes after its declared end",
                        (unsigned long long)(n - file_size));
    uint32_t n_faces = fe__rd_u32le(p + 32), n_ids = fe__rd_u32le(p + 36);
    uint32_t flags = fe__rd_u32le(p + 40), n_sections = fe__rd_u32le(p + 44);
    if (flags & ~GI_FLAG_F16)
        return fe__fail(FE_E_UNSUPPORTED, "unknown flags 0x%08x", flags & ~GI_FLAG_F16);
    static const uint32_t want_dims[5] = {FE_DESC_DIM, FE_MAP4_CELLS, FE_MAP4_DIM, FE_MAP8_CELLS, FE_MAP8_DIM};
    static const char *const dim_names[5] = {"embedding dim", "map4 cells", "map4 dim", "map8 cells", "map8 dim"};
    for (int d = 0; d < 5; d++) {
        uint32_t v = fe__rd_u32le(p + 48 + 4 * d);
        if (v != want_dims[d])
            return fe__fail(FE_E_SHAPE, "%s is %u, the network gives %u", dim_names[d], v, want_dims[d]);
    }
    if (n_faces > FE_MAX_GALLERY)
        return fe__fail(FE_E_LIMIT, "%u faces exceed the limit of %u", n_faces, FE_MAX_GALLERY);
    if (n_ids > n_faces || (n_faces > 0 && n_ids == 0))
        return fe__fail(FE_E_COUNT, "%u identities for %u faces", n_ids, n_faces);
    uint32_t max_sections = (header_size - GI_DIR_OFFSET) / GI_ENTRY_SIZE;
    if (n_sections < N_SEC || n_sections > max_sections)
        return fe__fail(FE_E_COUNT, "%u sections; expected %u to %u", n_sections, N_SEC, max_sections);
    g->dtype = (flags & GI_FLAG_F16) ? FE_GALLERY_F16 : FE_GALLERY_F32;
    g->n_faces = n_faces;
    g->n_ids = n_ids;
    g->version_major = major;
    g->version_minor = minor;

    /* Section directory: known kinds first and in order; later minor versions may append more
     * (checked for range, overlap and CRC, otherwise ignored). */
    uint64_t prev_end = header_size;
    uint32_t prev_kind = 0;
    for (uint32_t i = 0; i < n_sections; i++) {
        const uint8_t *e = p + GI_DIR_OFFSET + (size_t)i * GI_ENTRY_SIZE;
        uint32_t kind = fe__rd_u32le(e);
        uint64_t off = fe__rd_u64le(e + 8), size = fe__rd_u64le(e + 16), end;
        const char *name = i < N_SEC ? sec_name[i] : "extension";
        if ((i < N_SEC && kind != i + 1) || (i >= N_SEC && kind <= prev_kind))
            return fe__fail(FE_E_CORRUPT, "section %u has kind %u (%s)", i, kind,
                            i < N_SEC ? "out of order" : "not increasing");
        prev_kind = kind;
        if (off % GI_ALIGN)
            return fe__fail(FE_E_ALIGN, "%s section offset %llu is not a multiple of %u", name,
                            (unsigned long long)off, GI_ALIGN);
        if (!fe__add_u64(off, size, &end))
            return fe__fail(FE_E_OVERFLOW, "%s section offset %llu + size %llu overflows", name,
                            (unsigned long long)off, (unsigned long long)size);
        if (end > file_size)
            return fe__fail(FE_E_RANGE, "%s section [%llu, %llu) ends past the file (%llu bytes)",
                            name, (unsigned long long)off, (unsigned long long)end,
                            (unsigned long long)file_size);
        if (off < prev_end)
            return fe__fail(FE_E_OVERLAP, "%s section starts at %llu, inside the previous part "
                            "(ends at %llu)", name, (unsigned long long)off, (unsigned long long)prev_end);
        if (!all_zero(p + prev_end, (size_t)(off - prev_end)))
            return fe__fail(FE_E_CORRUPT, "padding before the %s section is not zero", name);
        prev_end = end;
        if (i >= N_SEC) continue;
        /* expected size from the counts; the products cannot overflow 64 bits under the caps */
        uint64_t want;
        int exact = 1;
        switch (i) {
        case SEC_IDS: want = (uint64_t)n_ids * GI_ID_REC; break;
        case SEC_STRINGS: want = UINT32_MAX; exact = 0; break;
        case SEC_META: want = FE_MAX_META_BYTES; exact = 0; break;
        default: want = (uint64_t)n_faces * row_bytes((int)i, g->dtype); break;
        }
        if (exact && size != want)
            return fe__fail(FE_E_COUNT, "%s section is %llu bytes; %u faces / %u identities need %llu",
                            name, (unsigned long long)size, n_faces, n_ids, (unsigned long long)want);
        if (!exact && size > want)
            return fe__fail(FE_E_LIMIT, "%s section is %llu bytes; the limit is %llu", name,
                            (unsigned long long)size, (unsigned long long)want);
        if (size > SIZE_MAX)
            return fe__fail(FE_E_OVERFLOW, "%s section does not fit in memory", name);
        g->sec[i] = p + off;
        g->len[i] = (size_t)size;
    }
    if (!all_zero(p + prev_end, (size_t)(file_size - prev_end)))
        return fe__fail(FE_E_CORRUPT, "padding after the last section is not zero");
    if (verify_crc) {
        for (uint32_t i = 0; i < n_sections; i++) {
            const uint8_t *e = p + GI_DIR_OFFSET + (size_t)i * GI_ENTRY_SIZE;
            uint64_t off = fe__rd_u64le(e + 8), size = fe__rd_u64le(e + 16);
            uint32_t want = fe__rd_u32le(e + 24), got = fe__crc32(0, p + off, (size_t)size);
            if (want != got)
                return fe__fail(FE_E_CHECKSUM, "%s section CRC-32 is 0x%08x, stored 0x%08x",
                                i < N_SEC ? sec_name[i] : "extension", got, want);
        }
    }

    /* Content: strings, identity references, metadata, then the numbers. */
    fe_status st;
    for (size_t id = 0; id < n_ids; id++) {
        const uint8_t *r = g->sec[SEC_IDS] + id * GI_ID_REC;
        st = check_string(g, fe__rd_u32le(r), fe__rd_u32le(r + 4), FE_MAX_LABEL_BYTES, 1, "label of identity", id);
        if (st != FE_OK) return st;
    }
    for (size_t i = 0; i < n_faces; i++) {
        const uint8_t *r = g->sec[SEC_FACES] + i * GI_FACE_REC;
        uint32_t id = fe__rd_u32le(r);
        if (id >= n_ids)
            return fe__fail(FE_E_RANGE, "face %zu has identity %u; there are %u", i, id, n_ids);
        st = check_string(g, fe__rd_u32le(r + 4), fe__rd_u32le(r + 8), FE_MAX_PATH_BYTES, 0, "path of face", i);
        if (st != FE_OK) return st;
    }
    if ((st = check_meta(g)) != FE_OK) return st;
    st = check_unit_rows((const float *)(const void *)g->sec[SEC_EMB], n_faces, FE_DESC_DIM, GI_EMB_TOL, 0,
                         "embedding", 1);
    if (st == FE_OK)
        st = check_unit_rows((const float *)(const void *)g->sec[SEC_POOL4], n_faces, FE_MAP4_DIM,
                             GI_EMB_TOL, 1, "pool4", 1);
    if (st == FE_OK)
        st = check_unit_rows((const float *)(const void *)g->sec[SEC_POOL8], n_faces, FE_MAP8_DIM,
                             GI_EMB_TOL, 1, "pool8", 1);
    if (st == FE_OK) st = check_patch_rows(g, SEC_MAP4, FE_MAP4_CELLS, FE_MAP4_DIM);
    if (st == FE_OK) st = check_patch_rows(g, SEC_MAP8, FE_MAP8_CELLS, FE_MAP8_DIM);
    return st;
}

/* Builds the per-identity counts and the label table of a loaded gallery (duplicates are an
 * error: two identities with one label would split an identity's faces). */
static fe_status index_identities(fe_gallery *g) {
    size_t n_ids = g->n_ids;
    g->n_ids = 0;  /* ids_reserve rehashes the ids present: none yet */
    fe_status st = ids_reserve(g, n_ids);
    if (st != FE_OK) return st;
    for (size_t id = 0; id < n_ids; id++) {
        const uint8_t *r = g->sec[SEC_IDS] + id * GI_ID_REC;
        if (hash_find(g, str_at(g, fe__rd_u32le(r)), fe__rd_u32le(r + 4)) != UINT32_MAX)
            return fe__fail(FE_E_DUPLICATE, "label '%.200s' names identities %u and %zu",
                            str_at(g, fe__rd_u32le(r)),
                            hash_find(g, str_at(g, fe__rd_u32le(r)), fe__rd_u32le(r + 4)), id);
        hash_insert(g, (uint32_t)id);
        g->id_faces[id] = 0;
        g->n_ids = id + 1;
    }
    for (size_t i = 0; i < g->n_faces; i++) g->id_faces[fe__rd_u32le(g->sec[SEC_FACES] + i * GI_FACE_REC)]++;
    return FE_OK;
}

static int host_is_little_endian(void) {
    const uint32_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Takes ownership of image (aligned buffer or mapping) and validates it. */
static fe_status finish_load(uint8_t *image, size_t size, int mapped, const fe_gallery_options *o,
                             fe_gallery **out) {
    fe_gallery *g = fe__calloc(1, sizeof *g);
    if (!g) {
#if FE_HAVE_MMAP
        if (mapped) munmap(image, size);
        else
#endif
            fe__aligned_free(image);
        return fe__fail(FE_E_NOMEM, "cannot allocate a gallery");
    }
    g->read_only = 1;
    g->image = image;
    g->image_size = size;
    g->mapped = mapped;
    fe_status st = parse_image(g, image, size, o->verify_crc);
    if (st == FE_OK) st = index_identities(g);
    if (st == FE_OK) st = panels_reserve(g, g->n_faces);
    if (st == FE_OK)
        fe__panels_pack((const float *)(const void *)g->sec[SEC_EMB], g->n_faces, FE_DESC_DIM,
                        (float *)(void *)g->panels.p);
    if (st != FE_OK) {
        fe_gallery_free(g);
        return st;
    }
    g->crc_verified = o->verify_crc ? 1 : 0;
    *out = g;
    return FE_OK;
}

fe_status fe_gallery_load_memory(const void *data, size_t size, const fe_gallery_options *opt,
                                 fe_gallery **out_gallery) {
    if (!out_gallery) return fe__fail(FE_E_ARG, "out_gallery is NULL");
    *out_gallery = NULL;
    if (!data && size) return fe__fail(FE_E_ARG, "data is NULL");
    fe_gallery_options o;
    fe_status st = read_options(opt, &o);
    if (st != FE_OK) return st;
    if (!host_is_little_endian())
        return fe__fail(FE_E_UNSUPPORTED, "gallery indexes are read on little-endian hosts only");
    uint8_t *image = fe__aligned_alloc(size);
    if (!image) return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes for the index", size);
    if (size) memcpy(image, data, size);
    return finish_load(image, size, 0, &o, out_gallery);
}

fe_status fe_gallery_load(const char *path, const fe_gallery_options *opt, fe_gallery **out_gallery) {
    if (!out_gallery) return fe__fail(FE_E_ARG, "out_gallery is NULL");
    *out_gallery = NULL;
    if (!path) return fe__fail(FE_E_ARG, "no path given");
    fe_gallery_options o;
    fe_status st = read_options(opt, &o);
    if (st != FE_OK) return st;
    if (!host_is_little_endian())
        return fe__fail(FE_E_UNSUPPORTED, "gallery indexes are read on little-endian hosts only");
    FILE *fp = fopen(path, "rb");
    if (!fp) return fe__fail(FE_E_IO, "%s: %s", path, strerror(errno));
    uint64_t fsize;
#if FE_HAVE_MMAP
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return fe__fail(FE_E_IO, "%s: not a regular file", path);
    }
    fsize = (uint64_t)sb.st_size;
#else
    long end = -1;
    if (fseek(fp, 0, SEEK_END) == 0) end = ftell(fp);
    if (end < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return fe__fail(FE_E_IO, "%s: cannot determine its size", path);
    }
    fsize = (uint64_t)end;
#endif
    if (fsize > SIZE_MAX) {
        fclose(fp);
        return fe__fail(FE_E_OVERFLOW, "%s: %llu bytes do not fit in memory", path, (unsigned long long)fsize);
    }
    size_t size = (size_t)fsize;
#if FE_HAVE_MMAP
    if (o.use_mmap && size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(fp), 0);
        if (m != MAP_FAILED) {
            fclose(fp);
            return finish_load(m, size, 1, &o, out_gallery);
        }
        /* not mappable (some file systems): read it instead */
    }
#endif
    uint8_t *image = fe__aligned_alloc(size);
    if (!image) {
        fclose(fp);
        return fe__fail(FE_E_NOMEM, "%s: cannot allocate %zu bytes", path, size);
    }
    size_t got = size ? fread(image, 1, size, fp) : 0;
    int err = ferror(fp);
    fclose(fp);
    if (err || got != size) {
        fe__aligned_free(image);
        return fe__fail(FE_E_IO, "%s: read %zu of %zu bytes", path, got, size);
    }
    return finish_load(image, size, 0, &o, out_gallery);
}

void fe_gallery_free(fe_gallery *g) {
    if (!g) return;
    for (int s = 0; s < N_SEC; s++) fe__aligned_free(g->buf[s].p);
#if FE_HAVE_MMAP
    if (g->mapped) munmap(g->image, g->image_size);
    else
#endif
        fe__aligned_free(g->image);
    fe__free(g->id_faces);
    fe__free(g->hash);
    fe__aligned_free(g->panels.p);
    fe__free(g);
}

/* ---- accessors ------------------------------------------------------------------------ */

size_t fe_gallery_size(const fe_gallery *g) { return g ? g->n_faces : 0; }
size_t fe_gallery_identity_count(const fe_gallery *g) { return g ? g->n_ids : 0; }

uint32_t fe_gallery_identity(const fe_gallery *g, size_t i) {
    if (!g || i >= g->n_faces) return UINT32_MAX;
    return fe__rd_u32le(g->sec[SEC_FACES] + i * GI_FACE_REC);
}

const char *fe_gallery_label(const fe_gallery *g, size_t i) {
    if (!g || i >= g->n_faces) return NULL;
    return id_label(g, fe__rd_u32le(g->sec[SEC_FACES] + i * GI_FACE_REC));
}

const char *fe_gallery_path(const fe_gallery *g, size_t i) {
    if (!g || i >= g->n_faces) return NULL;
    return str_at(g, fe__rd_u32le(g->sec[SEC_FACES] + i * GI_FACE_REC + 4));
}

const char *fe_gallery_identity_label(const fe_gallery *g, size_t id) {
    if (!g || id >= g->n_ids) return NULL;
    return id_label(g, id);
}

size_t fe_gallery_identity_faces(const fe_gallery *g, size_t id) {
    if (!g || id >= g->n_ids) return 0;
    return g->id_faces[id];
}

uint32_t fe_gallery_find_identity(const fe_gallery *g, const char *label) {
    if (!g || !label) return UINT32_MAX;
    return hash_find(g, label, strlen(label));
}

const float *fe_gallery_embedding(const fe_gallery *g, size_t i) {
    if (!g || i >= g->n_faces) return NULL;
    return (const float *)(const void *)g->sec[SEC_EMB] + i * FE_DESC_DIM;
}

size_t fe_gallery_meta_count(const fe_gallery *g) { return g ? g->meta_count : 0; }

void fe_gallery_meta_at(const fe_gallery *g, size_t i, const char **out_key, const char **out_value) {
    const char *k = NULL, *v = NULL;
    if (g && i < g->meta_count) {
        const char *p = (const char *)g->sec[SEC_META];
        for (size_t j = 0;; j++) {  /* validated: pairs of NUL-terminated strings */
            const char *val = p + strlen(p) + 1;
            if (j == i) {
                k = p;
                v = val;
                break;
            }
            p = val + strlen(val) + 1;
        }
    }
    if (out_key) *out_key = k;
    if (out_value) *out_value = v;
}

const char *fe_gallery_meta_find(const fe_gallery *g, const char *key) {
    const char *found = NULL;
    for (size_t i = 0; key && i < fe_gallery_meta_count(g); i++) {
        const char *k, *v;
        fe_gallery_meta_at(g, i, &k, &v);
        if (strcmp(k, key) == 0) found = v;
    }
    return found;
}

fe_status fe_gallery_get_info(const fe_gallery *g, fe_gallery_info *out) {
    if (!g || !out) return fe__fail(FE_E_ARG, "NULL gallery or info");
    memset(out, 0, sizeof *out);
    out->version_major = g->version_major;
    out->version_minor = g->version_minor;
    out->n_faces = g->n_faces;
    out->n_identities = g->n_ids;
    out->emb_dim = FE_DESC_DIM;
    out->map4_cells = FE_MAP4_CELLS;
    out->map4_dim = FE_MAP4_DIM;
    out->map8_cells = FE_MAP8_CELLS;
    out->map8_dim = FE_MAP8_DIM;
    out->patch_dtype = g->dtype;
    out->loaded = g->read_only;
    out->mapped = g->mapped;
    out->checksums_verified = g->crc_verified;
    if (g->read_only) {
        out->file_bytes = g->image_size;
    } else {
        layout L;
        compute_layout(g, &L);
        out->file_bytes = L.file_size;
    }
    out->embedding_bytes = g->len[SEC_EMB];
    out->map4_bytes = g->len[SEC_MAP4];
    out->map8_bytes = g->len[SEC_MAP8];
    out->pooled_bytes = (uint64_t)g->len[SEC_POOL4] + g->len[SEC_POOL8];
    out->text_bytes = (uint64_t)g->len[SEC_IDS] + g->len[SEC_FACES] + g->len[SEC_STRINGS] + g->len[SEC_META];
    return FE_OK;
}

/* ---- internal accessors for the search code (gallery.h) ------------------------------- */

const float *fe__gallery_embeddings(const fe_gallery *g) {
    return g->n_faces ? (const float *)(const void *)g->sec[SEC_EMB] : NULL;
}

const float *fe__gallery_emb_panels(const fe_gallery *g) {
    return g->n_faces ? (const float *)(const void *)g->panels.p : NULL;
}

fe__patch_view fe__gallery_patches(const fe_gallery *g, int grid, size_t i) {
    fe__patch_view v;
    int s = grid == 8 ? SEC_MAP8 : SEC_MAP4;
    v.cells = grid == 8 ? FE_MAP8_CELLS : FE_MAP4_CELLS;
    v.dim = grid == 8 ? FE_MAP8_DIM : FE_MAP4_DIM;
    v.dtype = g->dtype;
    v.data = g->sec[s] + i * row_bytes(s, g->dtype);
    return v;
}

const float *fe__gallery_patches_f32(const fe_gallery *g, int grid, size_t i) {
    if (g->dtype != FE_GALLERY_F32) return NULL;
    return (const float *)fe__gallery_patches(g, grid, i).data;
}

const float *fe__gallery_pooled(const fe_gallery *g, int grid, size_t i) {
    if (grid == 8) return (const float *)(const void *)g->sec[SEC_POOL8] + i * FE_MAP8_DIM;
    return (const float *)(const void *)g->sec[SEC_POOL4] + i * FE_MAP4_DIM;
}

void fe__gallery_gather_patches(const fe_gallery *g, int grid, const uint32_t *idx, size_t n, float *dst) {
    for (size_t j = 0; j < n; j++) {
        fe__patch_view v = fe__gallery_patches(g, grid, idx[j]);
        size_t m = (size_t)v.cells * v.dim;
        if (v.dtype == FE_GALLERY_F16)
            fe__f16_to_f32_array(v.data, dst + j * m, m);
        else
            memcpy(dst + j * m, v.data, m * sizeof *dst);
    }
}

void fe__gallery_fix_checksums(uint8_t *file, size_t size) {
    if (size < GI_DIR_OFFSET) return;
    uint32_t header_size = fe__rd_u32le(file + 16);
    uint32_t n_sections = fe__rd_u32le(file + 44);
    size_t dir_end = header_size < size ? header_size : size;
    for (uint32_t i = 0; i < n_sections; i++) {
        size_t e_off = GI_DIR_OFFSET + (size_t)i * GI_ENTRY_SIZE;
        if (e_off + GI_ENTRY_SIZE > dir_end) break;
        uint8_t *e = file + e_off;
        uint64_t off = fe__rd_u64le(e + 8), len = fe__rd_u64le(e + 16);
        if (off <= size && len <= size - off) fe__wr_u32le(e + 24, fe__crc32(0, file + off, (size_t)len));
    }
    if (header_size >= GI_DIR_OFFSET && header_size <= size)
        fe__wr_u32le(file + GI_CRC_OFFSET, header_crc(file, header_size));
}
