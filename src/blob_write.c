/*
 * blob_write.c — writer of the .feb weight blob in the canonical layout (weights/FORMAT.md §2).
 *
 * Header at 0, directory at 128, metadata right after it, then each tensor at the next
 * multiple of 64, zero padding everywhere else. The output is a pure function of the inputs
 * (no timestamps, all padding zero), so regenerating a blob is byte-identical. The result is
 * re-read by the reader before it is returned: the writer and reader cannot drift apart.
 */
#include "blob.h"

#include <inttypes.h>
#include <string.h>

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }  /* x is capped */

static void wr_f64le(uint8_t *p, double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    fe__wr_u64le(p, bits);
}

/* The tensor description a caller passes must itself be sane; the reader then checks the
 * encoded result against every rule of the format. */
static fe_status check_input(const fe__tensor *t, size_t i) {
    size_t len = 0;
    while (len < FE_BLOB_NAME_LEN && t->name[len]) len++;
    if (len == 0 || len >= FE_BLOB_NAME_LEN)
        return fe__fail(FE_E_ARG, "tensor %zu: name must be 1..%d bytes", i, FE_BLOB_NAME_LEN - 1);
    size_t es = fe__dtype_size(t->dtype);
    if (es == 0) return fe__fail(FE_E_ARG, "tensor '%s': unknown dtype %d", t->name, (int)t->dtype);
    if (t->ndim < 1 || t->ndim > FE_BLOB_MAX_DIMS)
        return fe__fail(FE_E_ARG, "tensor '%s': ndim %" PRIu32 " is outside 1..%d", t->name, t->ndim, FE_BLOB_MAX_DIMS);
    uint64_t n = es;
    for (uint32_t k = 0; k < t->ndim; k++)
        if (t->dims[k] == 0 || !fe__mul_u64(n, t->dims[k], &n))
            return fe__fail(FE_E_ARG, "tensor '%s': dims[%" PRIu32 "] is 0 or the size overflows", t->name, k);
    if (n != t->nbytes)
        return fe__fail(FE_E_ARG, "tensor '%s': nbytes %" PRIu64 " but the shape needs %" PRIu64, t->name,
                        t->nbytes, n);
    if (n > FE_BLOB_MAX_BYTES)
        return fe__fail(FE_E_LIMIT, "tensor '%s': %" PRIu64 " bytes is above the blob cap", t->name, n);
    if (!t->data && n) return fe__fail(FE_E_ARG, "tensor '%s': no data", t->name);
    return FE_OK;
}

fe_status fe__blob_write_memory(const fe__tensor *tensors, size_t n, const char *meta, size_t meta_len,
                                uint8_t **out, size_t *out_size) {
    if (!out || !out_size) return fe__fail(FE_E_ARG, "no output pointers");
    *out = NULL;
    *out_size = 0;
    if ((!tensors && n) || (!meta && meta_len)) return fe__fail(FE_E_ARG, "NULL tensors or metadata");
    if (n > FE_BLOB_MAX_TENSORS) return fe__fail(FE_E_LIMIT, "%zu tensors, above the cap of %u", n, FE_BLOB_MAX_TENSORS);
    if (meta_len > FE_BLOB_MAX_META)
        return fe__fail(FE_E_LIMIT, "%zu metadata bytes, above the cap of %u", meta_len, FE_BLOB_MAX_META);

    /* layout: every term is capped (tensors by FE_BLOB_MAX_BYTES each), so sums are checked
     * against the cap as they grow and cannot overflow 64 bits */
    const uint64_t a = FE_BLOB_ALIGNMENT;
    uint64_t dir_off = FE_BLOB_HEADER_SIZE, dir_size = (uint64_t)n * FE_BLOB_ENTRY_SIZE;
    uint64_t meta_off = dir_off + dir_size, data_off = align_up(meta_off + meta_len, a), pos = 0;
    for (size_t i = 0; i < n; i++) {
        fe_status st = check_input(&tensors[i], i);
        if (st != FE_OK) return st;
        pos = align_up(pos, a) + tensors[i].nbytes;
        if (data_off + pos > FE_BLOB_MAX_BYTES)
            return fe__fail(FE_E_LIMIT, "the blob would exceed the %llu-byte cap", FE_BLOB_MAX_BYTES);
    }
    uint64_t data_size = align_up(pos, a), file_size = data_off + data_size;
    if (file_size > FE_BLOB_MAX_BYTES)
        return fe__fail(FE_E_LIMIT, "the blob would exceed the %llu-byte cap", FE_BLOB_MAX_BYTES);

    uint8_t *buf = fe__calloc(1, (size_t)file_size);  /* zero: every padding byte */
    if (!buf) return fe__fail(FE_E_NOMEM, "cannot allocate %" PRIu64 " bytes", file_size);
    static const uint8_t magic[8] = {0x89, 'F', 'E', 'B', '\r', '\n', 0x1a, '\n'};
    memcpy(buf, magic, 8);
    fe__wr_u16le(buf + 8, FE_BLOB_VERSION_MAJOR);
    fe__wr_u16le(buf + 10, FE_BLOB_VERSION_MINOR);
    fe__wr_u32le(buf + 12, 0x01020304u);
    fe__wr_u32le(buf + 16, FE_BLOB_HEADER_SIZE);
    fe__wr_u32le(buf + 20, (uint32_t)a);
    fe__wr_u64le(buf + 24, file_size);
    fe__wr_u32le(buf + 32, (uint32_t)n);
    fe__wr_u32le(buf + 36, FE_BLOB_ENTRY_SIZE);
    fe__wr_u64le(buf + 40, dir_off);
    fe__wr_u64le(buf + 48, dir_size);
    fe__wr_u64le(buf + 56, meta_off);
    fe__wr_u64le(buf + 64, meta_len);
    fe__wr_u64le(buf + 72, data_off);
    fe__wr_u64le(buf + 80, data_size);

    pos = 0;
    for (size_t i = 0; i < n; i++) {
        const fe__tensor *t = &tensors[i];
        uint8_t *e = buf + dir_off + (uint64_t)i * FE_BLOB_ENTRY_SIZE;
        pos = align_up(pos, a);
        memcpy(e, t->name, strlen(t->name));  /* the rest of the 48 bytes stays NUL */
        fe__wr_u32le(e + 48, (uint32_t)t->dtype);
        fe__wr_u32le(e + 52, t->ndim);
        for (uint32_t k = 0; k < t->ndim; k++) fe__wr_u64le(e + 56 + 8 * k, t->dims[k]);
        fe__wr_u64le(e + 88, pos);
        fe__wr_u64le(e + 96, t->nbytes);
        if (t->dtype == FE_DTYPE_U8) {
            wr_f64le(e + 104, t->scale);
            wr_f64le(e + 112, t->min);
        }
        if (t->nbytes) memcpy(buf + data_off + pos, t->data, (size_t)t->nbytes);
        fe__wr_u32le(e + 120, fe__crc32(0, t->data, (size_t)t->nbytes));
        pos += t->nbytes;
    }
    if (meta_len) memcpy(buf + meta_off, meta, meta_len);
    fe__wr_u32le(buf + 92, fe__crc32(0, buf + meta_off, meta_len));
    /* header CRC: computed with its own field still zero, then over the directory */
    fe__wr_u32le(buf + 88, fe__crc32(fe__crc32(0, buf, FE_BLOB_HEADER_SIZE), buf + dir_off, (size_t)dir_size));

    fe__blob *check;
    fe_status st = fe__blob_open_memory(buf, (size_t)file_size, 1, &check);
    if (st != FE_OK) {
        fe__free(buf);
        return st;  /* the reader's message says what the input broke */
    }
    fe__blob_close(check);
    *out = buf;
    *out_size = (size_t)file_size;
    return FE_OK;
}

fe_status fe__blob_write_file(const char *path, const fe__tensor *tensors, size_t n, const char *meta,
                              size_t meta_len) {
    uint8_t *buf;
    size_t size;
    fe_status st = fe__blob_write_memory(tensors, n, meta, meta_len, &buf, &size);
    if (st != FE_OK) return st;
    st = fe__write_file_atomic(path, buf, size);
    fe__free(buf);
    return st;
}
