/*
 * fuzz_blob.c — fuzz target for the .feb weight blob reader (src/blob.c, weights/FORMAT.md).
 *
 * Each input is opened twice: as is, and with its header, metadata and tensor CRCs recomputed
 * (when the fields they depend on are in range), so mutations also reach the checks that come
 * after the checksums (metadata syntax, F32 values) and the accessors, dequantization and the
 * network schema of a blob that opens. Seeds: tests/fuzz/corpus/blob/ (tools/gen_blob_seeds.py).
 */
#include "blob.h"
#include "net_schema.h"

#include <stdlib.h>
#include <string.h>

static void exercise(const uint8_t *data, size_t size) {
    fe__blob *b = NULL;
    if (fe__blob_open_memory(data, size, 1, &b) != FE_OK) {
        if (b) abort();  /* a failed open must not hand out a blob */
        return;
    }
    (void)fe__net_schema_check(b);
    (void)fe__blob_meta(b, "arch");
    for (size_t i = 0; i < fe__blob_n_meta(b); i++) {
        const char *k, *v;
        fe__blob_meta_at(b, i, &k, &v);
        if (!k || !v || fe__blob_meta(b, k) == NULL) abort();
    }
    for (size_t i = 0; i < fe__blob_n_tensors(b); i++) {
        const fe__tensor *t = fe__blob_tensor(b, i);
        if (fe__blob_find(b, t->name) != t) abort();
        if (((uintptr_t)t->data % 64) != 0) abort();
        size_t n = (size_t)t->n_elems;  /* <= the input size: validated */
        float *out = malloc(n ? n * sizeof *out : 1);
        if (!out) continue;
        if (fe__tensor_to_f32(t, out, n) != FE_OK) abort();
        for (size_t k = 0; k < n; k++)
            if (out[k] != out[k] || out[k] - out[k] != 0) abort();  /* NaN or infinity got through */
        free(out);
    }
    fe__blob_close(b);
}

/* Recomputes the CRCs of a copy in place; returns 0 when the fields it needs are out of range. */
static int fix_crcs(uint8_t *b, size_t size) {
    if (size < FE_BLOB_HEADER_SIZE) return 0;
    uint64_t n = fe__rd_u32le(b + 32), dir = fe__rd_u64le(b + 40), mo = fe__rd_u64le(b + 56),
             ms = fe__rd_u64le(b + 64), data = fe__rd_u64le(b + 72), end;
    if (n > FE_BLOB_MAX_TENSORS || dir > size || n * FE_BLOB_ENTRY_SIZE > size - dir) return 0;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *e = b + dir + i * FE_BLOB_ENTRY_SIZE;
        uint64_t off = fe__rd_u64le(e + 88), nb = fe__rd_u64le(e + 96);
        if (!fe__add_u64(data, off, &off) || !fe__add_u64(off, nb, &end) || end > size) continue;
        fe__wr_u32le(e + 120, fe__crc32(0, b + off, (size_t)nb));
    }
    if (mo <= size && ms <= size - mo) fe__wr_u32le(b + 92, fe__crc32(0, b + mo, (size_t)ms));
    fe__wr_u32le(b + 88, 0);
    uint32_t crc = fe__crc32(0, b, FE_BLOB_HEADER_SIZE);
    fe__wr_u32le(b + 88, fe__crc32(crc, b + dir, (size_t)(n * FE_BLOB_ENTRY_SIZE)));
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 22)) return 0;  /* larger inputs add nothing but time */
    exercise(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    if (fix_crcs(copy, size)) exercise(copy, size);
    free(copy);
    return 0;
}
