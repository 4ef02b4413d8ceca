/*
 * blob.c — reader of the .feb weight blob (weights/FORMAT.md, v1.0).
 *
 * The whole file lives in one 64-byte aligned buffer and the tensor table points into it, so
 * tensor data keeps the file's alignment in memory. Validation follows FORMAT.md §6 step by
 * step and stops at the first fault with its own status; every sum or product of file values
 * goes through the checked helpers. Tensor names are indexed by a sorted array of pointers,
 * which both finds duplicates and serves fe__blob_find by binary search.
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "blob.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/stat.h>
#define FE_HAVE_POSIX 1
#endif

struct fe__blob {
    uint8_t          *buf;        /* the whole file, 64-byte aligned, owned            */
    size_t            size;
    fe__blob_header   hdr;
    size_t            n_tensors;
    fe__tensor       *tensors;    /* [n_tensors], directory order                       */
    const fe__tensor **by_name;   /* [n_tensors], sorted by name                        */
    size_t            n_meta;
    char             *meta_text;  /* metadata copy: "key\0value\0" per line             */
    const char      **meta_kv;    /* [2*n_meta]: key, value pointers into meta_text     */
};

static const uint8_t feb_magic[8] = {0x89, 'F', 'E', 'B', '\r', '\n', 0x1a, '\n'};

/* Header field offsets (FORMAT.md §3) and directory entry offsets (§4). */
enum {
    H_MAGIC = 0, H_VMAJOR = 8, H_VMINOR = 10, H_ENDIAN = 12, H_HSIZE = 16, H_ALIGN = 20,
    H_FSIZE = 24, H_NTENS = 32, H_ESIZE = 36, H_DIROFF = 40, H_DIRSIZE = 48, H_METAOFF = 56,
    H_METASIZE = 64, H_DATAOFF = 72, H_DATASIZE = 80, H_HCRC = 88, H_MCRC = 92,
    E_NAME = 0, E_DTYPE = 48, E_NDIM = 52, E_DIMS = 56, E_OFFSET = 88, E_NBYTES = 96,
    E_SCALE = 104, E_MIN = 112, E_CRC = 120
};

size_t fe__dtype_size(fe__dtype dtype) {
    switch (dtype) {
    case FE_DTYPE_F32: return 4;
    case FE_DTYPE_U8: return 1;
    }
    return 0;
}

const char *fe__dtype_name(fe__dtype dtype) {
    switch (dtype) {
    case FE_DTYPE_F32: return "F32";
    case FE_DTYPE_U8: return "U8";
    }
    return "?";
}

static double rd_f64le(const uint8_t *p) {
    uint64_t bits = fe__rd_u64le(p);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static int is_name_char(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '/' || c == '-';
}

static int is_key_char(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

void fe__blob_close(fe__blob *b) {
    if (!b) return;
    fe__aligned_free(b->buf);
    fe__free(b->tensors);
    fe__free(b->by_name);
    fe__free(b->meta_text);
    fe__free(b->meta_kv);
    fe__free(b);
}

/* ---- steps 1-9: header and regions ------------------------------------------------------ */

static fe_status check_header(const uint8_t *p, size_t size, fe__blob_header *h) {
    /* 1. magic; a short prefix of it is a truncated blob, anything else is another format */
    size_t m = size < 8 ? size : 8;
    if (memcmp(p, feb_magic, m) != 0) {
        size_t k = 0;
        while (k < m && p[k] == feb_magic[k]) k++;
        return fe__fail(FE_E_MAGIC, "magic: byte %zu is 0x%02x, expected 0x%02x (not a .feb blob)", k,
                        p[k], feb_magic[k]);
    }
    if (size < 8) return fe__fail(FE_E_TRUNCATED, "file has %zu bytes, ends inside the 8-byte magic", size);
    /* 2. the fixed header */
    if (size < FE_BLOB_HEADER_SIZE)
        return fe__fail(FE_E_TRUNCATED, "file has %zu bytes, the header needs %u", size, FE_BLOB_HEADER_SIZE);
    h->version_major = fe__rd_u16le(p + H_VMAJOR);
    h->version_minor = fe__rd_u16le(p + H_VMINOR);
    uint32_t endian = fe__rd_u32le(p + H_ENDIAN);
    h->header_size = fe__rd_u32le(p + H_HSIZE);
    h->alignment = fe__rd_u32le(p + H_ALIGN);
    h->file_size = fe__rd_u64le(p + H_FSIZE);
    h->n_tensors = fe__rd_u32le(p + H_NTENS);
    h->dir_entry_size = fe__rd_u32le(p + H_ESIZE);
    h->dir_offset = fe__rd_u64le(p + H_DIROFF);
    h->dir_size = fe__rd_u64le(p + H_DIRSIZE);
    h->meta_offset = fe__rd_u64le(p + H_METAOFF);
    h->meta_size = fe__rd_u64le(p + H_METASIZE);
    h->data_offset = fe__rd_u64le(p + H_DATAOFF);
    h->data_size = fe__rd_u64le(p + H_DATASIZE);
    h->header_crc32 = fe__rd_u32le(p + H_HCRC);
    h->meta_crc32 = fe__rd_u32le(p + H_MCRC);
    /* 3-6 */
    if (h->version_major != FE_BLOB_VERSION_MAJOR)
        return fe__fail(FE_E_VERSION, "version_major (byte %d) is %u.%u; this build reads %d.x", H_VMAJOR,
                        h->version_major, h->version_minor, FE_BLOB_VERSION_MAJOR);
    if (endian != 0x01020304u)
        return fe__fail(FE_E_ENDIAN, "endian_tag (byte %d) is 0x%08" PRIx32 ", expected 0x01020304%s", H_ENDIAN,
                        endian, endian == 0x04030201u ? " (a big-endian blob)" : "");
    if (h->header_size != FE_BLOB_HEADER_SIZE)
        return fe__fail(FE_E_CORRUPT, "header_size (byte %d) is %" PRIu32 ", v1 requires %u", H_HSIZE,
                        h->header_size, FE_BLOB_HEADER_SIZE);
    if (h->dir_entry_size != FE_BLOB_ENTRY_SIZE)
        return fe__fail(FE_E_CORRUPT, "dir_entry_size (byte %d) is %" PRIu32 ", v1 requires %u", H_ESIZE,
                        h->dir_entry_size, FE_BLOB_ENTRY_SIZE);
    if (h->alignment < FE_BLOB_ALIGNMENT || h->alignment > FE_BLOB_MAX_ALIGNMENT ||
        (h->alignment & (h->alignment - 1)) != 0)
        return fe__fail(FE_E_ALIGN, "alignment (byte %d) is %" PRIu32 ", must be a power of two in [%u, %u]",
                        H_ALIGN, h->alignment, FE_BLOB_ALIGNMENT, FE_BLOB_MAX_ALIGNMENT);
    /* 7. caps, before anything is sized from these fields */
    if (h->file_size > FE_BLOB_MAX_BYTES)
        return fe__fail(FE_E_LIMIT, "file_size (byte %d) is %" PRIu64 ", above the %llu-byte cap", H_FSIZE,
                        h->file_size, FE_BLOB_MAX_BYTES);
    if (h->n_tensors > FE_BLOB_MAX_TENSORS)
        return fe__fail(FE_E_LIMIT, "n_tensors (byte %d) is %" PRIu32 ", above the cap of %u", H_NTENS,
                        h->n_tensors, FE_BLOB_MAX_TENSORS);
    if (h->meta_size > FE_BLOB_MAX_META)
        return fe__fail(FE_E_LIMIT, "meta_size (byte %d) is %" PRIu64 ", above the cap of %u", H_METASIZE,
                        h->meta_size, FE_BLOB_MAX_META);
    /* 8. the real size */
    if ((uint64_t)size < h->file_size)
        return fe__fail(FE_E_TRUNCATED, "file has %zu bytes, file_size (byte %d) says %" PRIu64, size, H_FSIZE,
                        h->file_size);
    if ((uint64_t)size > h->file_size)
        return fe__fail(FE_E_CORRUPT, "%" PRIu64 " trailing bytes after file_size %" PRIu64 " (byte %d)",
                        (uint64_t)size - h->file_size, h->file_size, H_FSIZE);
    return FE_OK;
}

static fe_status check_region(const char *what, int field, uint64_t off, uint64_t len, uint64_t file_size,
                              uint64_t *end) {
    if (!fe__add_u64(off, len, end))
        return fe__fail(FE_E_OVERFLOW, "%s_offset %" PRIu64 " + %s_size %" PRIu64 " overflows (bytes %d..%d)",
                        what, off, what, len, field, field + 15);
    if (*end > file_size)
        return fe__fail(FE_E_RANGE, "%s region [%" PRIu64 ", %" PRIu64 ") ends past file_size %" PRIu64
                        " (bytes %d..%d)", what, off, *end, file_size, field, field + 15);
    return FE_OK;
}

static fe_status check_regions(const fe__blob_header *h) {
    uint64_t dir_end = 0, meta_end = 0, data_end = 0, want;
    fe_status st;
    if ((st = check_region("dir", H_DIROFF, h->dir_offset, h->dir_size, h->file_size, &dir_end)) != FE_OK ||
        (st = check_region("meta", H_METAOFF, h->meta_offset, h->meta_size, h->file_size, &meta_end)) != FE_OK ||
        (st = check_region("data", H_DATAOFF, h->data_offset, h->data_size, h->file_size, &data_end)) != FE_OK)
        return st;
    want = (uint64_t)h->n_tensors * FE_BLOB_ENTRY_SIZE;  /* n_tensors is capped: no overflow */
    if (h->dir_size != want)
        return fe__fail(FE_E_COUNT, "dir_size (byte %d) is %" PRIu64 ", but n_tensors %" PRIu32 " needs %" PRIu64,
                        H_DIRSIZE, h->dir_size, h->n_tensors, want);
    if (h->dir_offset < h->header_size)
        return fe__fail(FE_E_OVERLAP, "dir_offset %" PRIu64 " (byte %d) overlaps the %" PRIu32 "-byte header",
                        h->dir_offset, H_DIROFF, h->header_size);
    if (h->meta_offset < dir_end)
        return fe__fail(FE_E_OVERLAP, "meta_offset %" PRIu64 " (byte %d) is before the directory's end %" PRIu64,
                        h->meta_offset, H_METAOFF, dir_end);
    if (h->data_offset < meta_end)
        return fe__fail(FE_E_OVERLAP, "data_offset %" PRIu64 " (byte %d) is before the metadata's end %" PRIu64,
                        h->data_offset, H_DATAOFF, meta_end);
    if (h->data_offset % h->alignment != 0)
        return fe__fail(FE_E_ALIGN, "data_offset %" PRIu64 " (byte %d) is not a multiple of alignment %" PRIu32,
                        h->data_offset, H_DATAOFF, h->alignment);
    if (data_end != h->file_size)
        return fe__fail(FE_E_CORRUPT, "data region ends at %" PRIu64 ", not at file_size %" PRIu64
                        " (bytes %d..%d)", data_end, h->file_size, H_DATAOFF, H_DATASIZE + 7);
    return FE_OK;
}

/* ---- step 10: directory entries --------------------------------------------------------- */

static fe_status check_entry(const fe__blob_header *h, const uint8_t *buf, size_t i, uint64_t *prev_end,
                             fe__tensor *t) {
    uint64_t at = h->dir_offset + (uint64_t)i * FE_BLOB_ENTRY_SIZE;  /* within the checked region */
    const uint8_t *e = buf + at;
    size_t len = 0;
    while (len < FE_BLOB_NAME_LEN && e[E_NAME + len]) len++;
    if (len == FE_BLOB_NAME_LEN)
        return fe__fail(FE_E_CORRUPT, "tensor %zu: name is not NUL-terminated within %d bytes (entry at byte %" PRIu64 ")",
                        i, FE_BLOB_NAME_LEN, at);
    if (len == 0) return fe__fail(FE_E_CORRUPT, "tensor %zu: empty name (entry at byte %" PRIu64 ")", i, at);
    for (size_t k = 0; k < len; k++)
        if (!is_name_char(e[E_NAME + k]))
            return fe__fail(FE_E_CORRUPT, "tensor %zu: name byte %zu is 0x%02x, outside [A-Za-z0-9_./-] (byte %" PRIu64 ")",
                            i, k, e[E_NAME + k], at + k);
    for (size_t k = len + 1; k < FE_BLOB_NAME_LEN; k++)
        if (e[E_NAME + k])
            return fe__fail(FE_E_CORRUPT, "tensor %zu: non-NUL byte after the name's terminator (byte %" PRIu64 ")", i,
                            at + k);
    memset(t, 0, sizeof *t);
    memcpy(t->name, e + E_NAME, len + 1);
    const char *nm = t->name;

    uint32_t dtype = fe__rd_u32le(e + E_DTYPE);
    if (fe__dtype_size((fe__dtype)dtype) == 0)
        return fe__fail(FE_E_UNSUPPORTED, "tensor '%s': dtype %" PRIu32 " (byte %" PRIu64 ") is not F32 (1) or U8 (2)",
                        nm, dtype, at + E_DTYPE);
    t->dtype = (fe__dtype)dtype;
    uint32_t ndim = fe__rd_u32le(e + E_NDIM);
    if (ndim < 1 || ndim > FE_BLOB_MAX_DIMS)
        return fe__fail(FE_E_SHAPE, "tensor '%s': ndim %" PRIu32 " (byte %" PRIu64 ") is outside 1..%d", nm, ndim,
                        at + E_NDIM, FE_BLOB_MAX_DIMS);
    t->ndim = ndim;
    uint64_t n_elems = 1;
    int overflow = 0;
    for (uint32_t k = 0; k < FE_BLOB_MAX_DIMS; k++) {
        uint64_t d = fe__rd_u64le(e + E_DIMS + 8 * k);
        if (k < ndim && d == 0)
            return fe__fail(FE_E_SHAPE, "tensor '%s': dims[%" PRIu32 "] is 0 (byte %" PRIu64 ")", nm, k,
                            at + E_DIMS + 8 * k);
        if (k >= ndim && d != 0)
            return fe__fail(FE_E_SHAPE, "tensor '%s': unused dims[%" PRIu32 "] is %" PRIu64 ", must be 0 (byte %" PRIu64 ")",
                            nm, k, d, at + E_DIMS + 8 * k);
        t->dims[k] = k < ndim ? d : 1;
        if (k < ndim && !fe__mul_u64(n_elems, d, &n_elems)) overflow = 1;
    }
    uint64_t want;
    if (overflow || !fe__mul_u64(n_elems, fe__dtype_size(t->dtype), &want))
        return fe__fail(FE_E_OVERFLOW, "tensor '%s': its byte count (product of dims x dtype size) overflows 64 bits (byte %" PRIu64 ")", nm,
                        at + E_DIMS);
    t->n_elems = n_elems;
    t->nbytes = fe__rd_u64le(e + E_NBYTES);
    if (t->nbytes != want)
        return fe__fail(FE_E_SHAPE, "tensor '%s': nbytes %" PRIu64 " (byte %" PRIu64 ") but its shape needs %" PRIu64,
                        nm, t->nbytes, at + E_NBYTES, want);
    uint64_t off = fe__rd_u64le(e + E_OFFSET), end;
    if (off % h->alignment != 0)
        return fe__fail(FE_E_ALIGN, "tensor '%s': offset %" PRIu64 " (byte %" PRIu64 ") is not a multiple of %" PRIu32,
                        nm, off, at + E_OFFSET, h->alignment);
    if (!fe__add_u64(off, t->nbytes, &end))
        return fe__fail(FE_E_OVERFLOW, "tensor '%s': offset %" PRIu64 " + nbytes %" PRIu64 " overflows (byte %" PRIu64 ")",
                        nm, off, t->nbytes, at + E_OFFSET);
    if (end > h->data_size)
        return fe__fail(FE_E_RANGE, "tensor '%s': [%" PRIu64 ", %" PRIu64 ") ends past data_size %" PRIu64
                        " (byte %" PRIu64 ")", nm, off, end, h->data_size, at + E_OFFSET);
    if (off < *prev_end)
        return fe__fail(FE_E_OVERLAP, "tensor '%s': offset %" PRIu64 " (byte %" PRIu64 ") is before the previous "
                        "tensor's end %" PRIu64, nm, off, at + E_OFFSET, *prev_end);
    *prev_end = end;
    t->scale = rd_f64le(e + E_SCALE);
    t->min = rd_f64le(e + E_MIN);
    if (t->dtype == FE_DTYPE_U8) {
        /* every q in 0..255 must dequantize to a finite float */
        if (!isfinite(t->scale) || !(t->scale >= 0) || !isfinite(t->min) || !(fabs(t->min) <= FLT_MAX) ||
            !(fabs(255.0 * t->scale + t->min) <= FLT_MAX))
            return fe__fail(FE_E_CORRUPT, "tensor '%s': scale %g / min %g (bytes %" PRIu64 "..%" PRIu64 ") are not "
                            "finite, non-negative scale, within float range", nm, t->scale, t->min,
                            at + E_SCALE, at + E_MIN + 7);
    } else if (fe__rd_u64le(e + E_SCALE) != 0 || fe__rd_u64le(e + E_MIN) != 0) {
        return fe__fail(FE_E_CORRUPT, "tensor '%s': F32 tensor with non-zero scale/min (bytes %" PRIu64 "..%" PRIu64 ")",
                        nm, at + E_SCALE, at + E_MIN + 7);
    }
    t->crc32 = fe__rd_u32le(e + E_CRC);
    t->file_offset = h->data_offset + off;  /* <= file_size: the data region was checked */
    t->data = buf + t->file_offset;
    return FE_OK;
}

static int cmp_tensor_name(const void *a, const void *b) {
    const fe__tensor *ta = *(const fe__tensor *const *)a, *tb = *(const fe__tensor *const *)b;
    return strcmp(ta->name, tb->name);
}

/* ---- step 12: padding ------------------------------------------------------------------- */

static fe_status check_zero(const uint8_t *buf, uint64_t from, uint64_t to, const char *where) {
    for (uint64_t k = from; k < to; k++)
        if (buf[k]) return fe__fail(FE_E_CORRUPT, "padding byte %" PRIu64 " (%s) is 0x%02x, must be 0", k, where, buf[k]);
    return FE_OK;
}

static fe_status check_padding(const fe__blob *b) {
    const fe__blob_header *h = &b->hdr;
    fe_status st;
    if ((st = check_zero(b->buf, h->header_size, h->dir_offset, "before the directory")) != FE_OK ||
        (st = check_zero(b->buf, h->dir_offset + h->dir_size, h->meta_offset, "before the metadata")) != FE_OK ||
        (st = check_zero(b->buf, h->meta_offset + h->meta_size, h->data_offset, "before the data")) != FE_OK)
        return st;
    uint64_t pos = h->data_offset;
    for (size_t i = 0; i < b->n_tensors; i++) {
        const fe__tensor *t = &b->tensors[i];
        if ((st = check_zero(b->buf, pos, t->file_offset, "between tensors")) != FE_OK) return st;
        pos = t->file_offset + t->nbytes;
    }
    return check_zero(b->buf, pos, h->file_size, "after the last tensor");
}

/* ---- step 14: metadata ------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at p[0..n), or 0 if malformed (RFC 3629). */
static size_t utf8_seq(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t lo = 0x80, hi = 0xBF;  /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;         /* no overlong forms  */
        if (c == 0xED) hi = 0x9F;         /* no surrogates      */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;         /* nothing above U+10FFFF */
    } else return 0;
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if ((p[k] & 0xC0) != 0x80) return 0;
    return len;
}

static fe_status parse_meta(fe__blob *b) {
    const fe__blob_header *h = &b->hdr;
    const uint8_t *m = b->buf + h->meta_offset;
    size_t n = (size_t)h->meta_size, lines = 0;
    if (n > 0 && m[n - 1] != '\n')
        return fe__fail(FE_E_CORRUPT, "metadata does not end with a newline (byte %" PRIu64 ")", h->meta_offset + n - 1);
    for (size_t k = 0; k < n; k++) lines += m[k] == '\n';
    if (lines > FE_BLOB_MAX_META_LINES)
        return fe__fail(FE_E_LIMIT, "metadata has %zu lines, above the cap of %u", lines, FE_BLOB_MAX_META_LINES);
    b->meta_text = fe__malloc(n + 1);
    b->meta_kv = fe__calloc(2 * lines + 1, sizeof *b->meta_kv);
    if (!b->meta_text || !b->meta_kv) return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes of metadata", n);
    memcpy(b->meta_text, m, n);
    b->meta_text[n] = 0;
    size_t pos = 0;
    for (size_t line = 0; line < lines; line++) {
        uint64_t at = h->meta_offset + pos;
        size_t k = pos;
        while (k < n && is_key_char(m[k])) k++;
        size_t klen = k - pos;
        if (k >= n || m[k] != '=' || klen == 0)
            return fe__fail(FE_E_CORRUPT, "metadata line %zu: expected key=value with a key of [a-z0-9_.] "
                            "(byte %" PRIu64 ")", line + 1, h->meta_offset + k);
        if (klen > FE_BLOB_MAX_KEY)
            return fe__fail(FE_E_CORRUPT, "metadata line %zu: key of %zu bytes, above %u (byte %" PRIu64 ")", line + 1,
                            klen, FE_BLOB_MAX_KEY, at);
        size_t v = k + 1, e = v;
        while (m[e] != '\n') {  /* a '\n' ends the text: checked above */
            size_t len = m[e] >= 0x20 && m[e] != 0x7F ? utf8_seq(m + e, n - e) : 0;
            if (len == 0)
                return fe__fail(FE_E_CORRUPT, "metadata line %zu: byte 0x%02x at byte %" PRIu64 " is a control "
                                "character or malformed UTF-8", line + 1, m[e], h->meta_offset + e);
            e += len;
        }
        if (e - v > FE_BLOB_MAX_VALUE)
            return fe__fail(FE_E_CORRUPT, "metadata line %zu: value of %zu bytes, above %u (byte %" PRIu64 ")", line + 1,
                            e - v, FE_BLOB_MAX_VALUE, h->meta_offset + v);
        b->meta_text[k] = 0;
        b->meta_text[e] = 0;
        const char *key = b->meta_text + pos;
        for (size_t j = 0; j < line; j++)
            if (strcmp(b->meta_kv[2 * j], key) == 0)
                return fe__fail(FE_E_DUPLICATE, "metadata key '%s' appears on lines %zu and %zu (byte %" PRIu64 ")", key,
                                j + 1, line + 1, at);
        b->meta_kv[2 * line] = key;
        b->meta_kv[2 * line + 1] = b->meta_text + v;
        b->n_meta = line + 1;
        pos = e + 1;
    }
    return FE_OK;
}

/* ---- the whole sequence ------------------------------------------------------------------ */

static fe_status validate(fe__blob *b, int verify_crc) {
    fe__blob_header *h = &b->hdr;
    fe_status st;
    if ((st = check_header(b->buf, b->size, h)) != FE_OK) return st;
    if ((st = check_regions(h)) != FE_OK) return st;

    /* 10-11: directory entries, then unique names */
    b->n_tensors = h->n_tensors;
    b->tensors = fe__calloc(b->n_tensors, sizeof *b->tensors);
    b->by_name = fe__calloc(b->n_tensors, sizeof *b->by_name);
    if (!b->tensors || !b->by_name) return fe__fail(FE_E_NOMEM, "cannot allocate %zu tensor entries", b->n_tensors);
    uint64_t prev_end = 0;
    for (size_t i = 0; i < b->n_tensors; i++) {
        if ((st = check_entry(h, b->buf, i, &prev_end, &b->tensors[i])) != FE_OK) return st;
        b->by_name[i] = &b->tensors[i];
    }
    if (b->n_tensors > 1) qsort(b->by_name, b->n_tensors, sizeof *b->by_name, cmp_tensor_name);
    for (size_t i = 1; i < b->n_tensors; i++)
        if (strcmp(b->by_name[i - 1]->name, b->by_name[i]->name) == 0)
            return fe__fail(FE_E_DUPLICATE, "tensor name '%s' appears twice (entries %zu and %zu)", b->by_name[i]->name,
                            (size_t)(b->by_name[i - 1] - b->tensors), (size_t)(b->by_name[i] - b->tensors));

    /* 12 */
    if ((st = check_padding(b)) != FE_OK) return st;

    /* 13: header CRC with its own field taken as zero, continued over the directory */
    uint8_t head[FE_BLOB_HEADER_SIZE];
    memcpy(head, b->buf, sizeof head);
    fe__wr_u32le(head + H_HCRC, 0);
    uint32_t crc = fe__crc32(0, head, sizeof head);
    crc = fe__crc32(crc, b->buf + h->dir_offset, (size_t)h->dir_size);
    if (crc != h->header_crc32)
        return fe__fail(FE_E_CHECKSUM, "header_crc32 (byte %d) is 0x%08" PRIx32 ", header+directory give 0x%08" PRIx32,
                        H_HCRC, h->header_crc32, crc);
    crc = fe__crc32(0, b->buf + h->meta_offset, (size_t)h->meta_size);
    if (crc != h->meta_crc32)
        return fe__fail(FE_E_CHECKSUM, "meta_crc32 (byte %d) is 0x%08" PRIx32 ", the metadata gives 0x%08" PRIx32,
                        H_MCRC, h->meta_crc32, crc);

    /* 14 */
    if ((st = parse_meta(b)) != FE_OK) return st;

    /* 15: tensors are independent, so with OpenMP their CRCs run in parallel; the reported
     * fault is always the first bad tensor in directory order, whatever the thread count */
    if (verify_crc) {
        long first_bad = (long)b->n_tensors, n_t = (long)b->n_tensors;
#pragma omp parallel for schedule(dynamic, 4) reduction(min : first_bad) if (b->size > (1u << 20))
        for (long i = 0; i < n_t; i++) {
            const fe__tensor *t = &b->tensors[i];
            if (fe__crc32(0, t->data, (size_t)t->nbytes) != t->crc32 && i < first_bad) first_bad = i;
        }
        if (first_bad < n_t) {
            const fe__tensor *t = &b->tensors[first_bad];
            crc = fe__crc32(0, t->data, (size_t)t->nbytes);
            return fe__fail(FE_E_CHECKSUM, "tensor '%s': CRC-32 of its %" PRIu64 " bytes at byte %" PRIu64
                            " is 0x%08" PRIx32 ", the directory says 0x%08" PRIx32, t->name, t->nbytes,
                            t->file_offset, crc, t->crc32);
        }
    }
    /* 16 */
    for (size_t i = 0; i < b->n_tensors; i++) {
        const fe__tensor *t = &b->tensors[i];
        if (t->dtype != FE_DTYPE_F32) continue;
        for (uint64_t k = 0; k < t->n_elems; k++)
            if ((fe__rd_u32le(t->data + 4 * k) & 0x7F800000u) == 0x7F800000u)
                return fe__fail(FE_E_NUMERIC, "tensor '%s': element %" PRIu64 " (byte %" PRIu64 ") is NaN or infinite",
                                t->name, k, t->file_offset + 4 * k);
    }
    return FE_OK;
}

/* Takes ownership of buf (fe__aligned_alloc'ed) whatever the outcome. */
static fe_status open_owned(uint8_t *buf, size_t size, int verify_crc, fe__blob **out) {
    fe__blob *b = fe__calloc(1, sizeof *b);
    if (!b) {
        fe__aligned_free(buf);
        return fe__fail(FE_E_NOMEM, "cannot allocate the blob handle");
    }
    b->buf = buf;
    b->size = size;
    fe_status st = validate(b, verify_crc);
    if (st != FE_OK) {
        fe__blob_close(b);
        return st;
    }
    *out = b;
    return FE_OK;
}

fe_status fe__blob_open_memory(const void *data, size_t size, int verify_crc, fe__blob **out) {
    if (!out) return fe__fail(FE_E_ARG, "no output pointer");
    *out = NULL;
    if (!data && size) return fe__fail(FE_E_ARG, "NULL data with size %zu", size);
    if (size > FE_BLOB_MAX_BYTES)
        return fe__fail(FE_E_LIMIT, "buffer of %zu bytes is above the %llu-byte cap", size, FE_BLOB_MAX_BYTES);
    uint8_t *buf = fe__aligned_alloc(size);
    if (!buf) return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes", size);
    if (size) memcpy(buf, data, size);
    return open_owned(buf, size, verify_crc, out);
}

fe_status fe__blob_open_file(const char *path, int verify_crc, fe__blob **out) {
    if (!out) return fe__fail(FE_E_ARG, "no output pointer");
    *out = NULL;
    if (!path) return fe__fail(FE_E_ARG, "no path given");
    FILE *fp = fopen(path, "rb");
    if (!fp) return fe__fail(FE_E_IO, "%s: %s", path, strerror(errno));
#if FE_HAVE_POSIX
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return fe__fail(FE_E_IO, "%s: not a regular file", path);
    }
#endif
    long end = -1;
    if (fseek(fp, 0, SEEK_END) == 0) end = ftell(fp);
    if (end < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return fe__fail(FE_E_IO, "%s: cannot determine its size", path);
    }
    /* the cap is checked before the allocation it would size */
    if ((unsigned long)end > FE_BLOB_MAX_BYTES) {
        fclose(fp);
        return fe__fail(FE_E_LIMIT, "%s: %ld bytes, above the %llu-byte cap", path, end, FE_BLOB_MAX_BYTES);
    }
    size_t size = (size_t)end;
    uint8_t *buf = fe__aligned_alloc(size);
    if (!buf) {
        fclose(fp);
        return fe__fail(FE_E_NOMEM, "%s: cannot allocate %zu bytes", path, size);
    }
    size_t got = size ? fread(buf, 1, size, fp) : 0;
    int more = fgetc(fp) != EOF, err = ferror(fp);
    fclose(fp);
    if (err || got != size || more) {
        fe__aligned_free(buf);
        return fe__fail(FE_E_IO, "%s: read %zu of %zu bytes%s", path, got, size,
                        more ? " (the file grew while being read)" : "");
    }
    return open_owned(buf, size, verify_crc, out);
}

/* ---- accessors -------------------------------------------------------------------------- */

size_t fe__blob_n_tensors(const fe__blob *b) { return b ? b->n_tensors : 0; }

const fe__tensor *fe__blob_tensor(const fe__blob *b, size_t i) {
    return b && i < b->n_tensors ? &b->tensors[i] : NULL;
}

const fe__tensor *fe__blob_find(const fe__blob *b, const char *name) {
    if (!b || !name) return NULL;
    size_t lo = 0, hi = b->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->by_name[mid]->name, name);
        if (c == 0) return b->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *fe__blob_meta(const fe__blob *b, const char *key) {
    if (!b || !key) return NULL;
    for (size_t i = 0; i < b->n_meta; i++)
        if (strcmp(b->meta_kv[2 * i], key) == 0) return b->meta_kv[2 * i + 1];
    return NULL;
}

size_t fe__blob_n_meta(const fe__blob *b) { return b ? b->n_meta : 0; }

void fe__blob_meta_at(const fe__blob *b, size_t i, const char **key, const char **value) {
    *key = *value = NULL;
    if (b && i < b->n_meta) {
        *key = b->meta_kv[2 * i];
        *value = b->meta_kv[2 * i + 1];
    }
}

const fe__blob_header *fe__blob_get_header(const fe__blob *b) { return b ? &b->hdr : NULL; }

const uint8_t *fe__blob_bytes(const fe__blob *b, size_t *size) {
    if (size) *size = b ? b->size : 0;
    return b ? b->buf : NULL;
}

/* ---- dequantization --------------------------------------------------------------------- */

#pragma STDC FP_CONTRACT OFF

fe_status fe__tensor_to_f32(const fe__tensor *t, float *out, size_t n) {
    if (!t || (!out && n)) return fe__fail(FE_E_ARG, "NULL tensor or output");
    if ((uint64_t)n != t->n_elems)
        return fe__fail(FE_E_SHAPE, "tensor '%s' has %" PRIu64 " elements, the output %zu", t->name, t->n_elems, n);
    if (t->dtype == FE_DTYPE_U8) {
        /* tfjs: Float32Array[i] = q * scale + min in JS doubles. Two separate roundings in
         * double (never fused), then one rounding to float; a table makes it exact and fast. */
        float lut[256];
        for (int q = 0; q < 256; q++) {
            double prod = (double)q * t->scale;
            double sum = prod + t->min;
            lut[q] = (float)sum;
        }
        for (size_t i = 0; i < n; i++) out[i] = lut[t->data[i]];
        return FE_OK;
    }
    if (t->dtype == FE_DTYPE_F32) {
        const uint16_t one = 1;
        if (*(const uint8_t *)&one == 1) {
            memcpy(out, t->data, n * sizeof *out);  /* little-endian host: the file's bytes as is */
        } else {
            for (size_t i = 0; i < n; i++) out[i] = fe__rd_f32le(t->data + 4 * i);
        }
        return FE_OK;
    }
    return fe__fail(FE_E_UNSUPPORTED, "tensor '%s': dtype %d", t->name, (int)t->dtype);
}
