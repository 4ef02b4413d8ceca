/*
 * blob.h — the .feb weight blob reader and writer (format: weights/FORMAT.md, v1.0).
 *
 * A blob is a validated, read-only view of named tensors. Tensor names are the source
 * manifest's names verbatim ("conv32_1/conv1/conv/filters"). U8 tensors keep the source's
 * own quantization (value = q * scale + min, computed in double and rounded to float, exactly
 * as tfjs does); fe__tensor_to_f32 applies it.
 */
#ifndef FE_BLOB_H
#define FE_BLOB_H

#include "internal.h"

typedef enum fe__dtype { FE_DTYPE_F32 = 1, FE_DTYPE_U8 = 2 } fe__dtype;

#define FE_BLOB_MAX_DIMS 4
#define FE_BLOB_NAME_LEN 48   /* bytes including the terminating NUL */

/* Format constants (FORMAT.md §3-§5). */
#define FE_BLOB_VERSION_MAJOR  1
#define FE_BLOB_VERSION_MINOR  0
#define FE_BLOB_HEADER_SIZE    128u
#define FE_BLOB_ENTRY_SIZE     128u
#define FE_BLOB_ALIGNMENT      64u                      /* what the writer uses          */
#define FE_BLOB_MAX_ALIGNMENT  4096u
#define FE_BLOB_MAX_BYTES      (1024ull * 1024u * 1024u) /* file_size cap                 */
#define FE_BLOB_MAX_TENSORS    4096u
#define FE_BLOB_MAX_META       65536u                   /* metadata bytes                */
#define FE_BLOB_MAX_META_LINES 256u
#define FE_BLOB_MAX_KEY        64u
#define FE_BLOB_MAX_VALUE      1024u

typedef struct fe__tensor {
    char           name[FE_BLOB_NAME_LEN];
    fe__dtype      dtype;
    uint32_t       ndim;
    uint64_t       dims[FE_BLOB_MAX_DIMS];   /* unused dims are 1                        */
    uint64_t       n_elems;                  /* product of dims                          */
    const uint8_t *data;                     /* 64-byte aligned in memory                */
    uint64_t       nbytes;
    double         scale, min;               /* U8 only: value = q * scale + min         */
    uint64_t       file_offset;              /* absolute byte offset of data in the file */
    uint32_t       crc32;                    /* as stored in the directory               */
} fe__tensor;

/* Header fields as read (FORMAT.md §3), for inspectors. */
typedef struct fe__blob_header {
    uint16_t version_major, version_minor;
    uint32_t header_size, alignment, n_tensors, dir_entry_size;
    uint64_t file_size;
    uint64_t dir_offset, dir_size, meta_offset, meta_size, data_offset, data_size;
    uint32_t header_crc32, meta_crc32;
} fe__blob_header;

typedef struct fe__blob fe__blob;

/* Bytes per element of a dtype, 0 for an unknown code. */
size_t fe__dtype_size(fe__dtype dtype);
/* "F32", "U8" or "?" */
const char *fe__dtype_name(fe__dtype dtype);

/* Opens and validates a blob in the order of FORMAT.md §6 (every header field, directory
 * entry, offset, padding byte, the header and metadata CRCs, and every tensor CRC unless
 * verify_crc is 0). Statuses: FE_E_IO, FE_E_MAGIC, FE_E_VERSION, FE_E_ENDIAN,
 * FE_E_TRUNCATED, FE_E_RANGE, FE_E_ALIGN, FE_E_OVERLAP, FE_E_OVERFLOW, FE_E_CHECKSUM,
 * FE_E_SHAPE (bad ndim/dims/nbytes), FE_E_COUNT (dir_size), FE_E_DUPLICATE, FE_E_CORRUPT,
 * FE_E_UNSUPPORTED (unknown dtype), FE_E_NUMERIC (non-finite F32), FE_E_LIMIT, FE_E_NOMEM.
 * On failure *out is NULL and fe_last_error() names the field and byte. */
fe_status fe__blob_open_file(const char *path, int verify_crc, fe__blob **out);
/* Same over a caller buffer, which is copied into aligned memory. */
fe_status fe__blob_open_memory(const void *data, size_t size, int verify_crc, fe__blob **out);
void fe__blob_close(fe__blob *blob);

size_t fe__blob_n_tensors(const fe__blob *blob);
const fe__tensor *fe__blob_tensor(const fe__blob *blob, size_t i);
/* NULL when absent. Binary search over the names. */
const fe__tensor *fe__blob_find(const fe__blob *blob, const char *name);
/* Metadata value for key (e.g. "arch"), or NULL. */
const char *fe__blob_meta(const fe__blob *blob, const char *key);
/* Metadata lines in file order: key and value of line i < fe__blob_n_meta. */
size_t fe__blob_n_meta(const fe__blob *blob);
void fe__blob_meta_at(const fe__blob *blob, size_t i, const char **key, const char **value);
const fe__blob_header *fe__blob_get_header(const fe__blob *blob);
/* The whole validated file image (64-byte aligned), e.g. to hash it. */
const uint8_t *fe__blob_bytes(const fe__blob *blob, size_t *size);

/* Dequantizes / copies a tensor into out[n_elems]. FE_E_SHAPE if n != n_elems. */
fe_status fe__tensor_to_f32(const fe__tensor *t, float *out, size_t n);

/* Writer (blob_write.c): serializes tensors[0..n) in the canonical layout of FORMAT.md §2
 * with the given metadata text (key=value lines, each ending in '\n'). Uses name, dtype,
 * ndim, dims[0..ndim), data, nbytes, scale, min of each tensor, in array order. The result
 * is deterministic and is re-read with fe__blob_open_memory before it is returned, so the
 * writer never emits a blob the reader rejects. *out is fe__malloc'ed (fe__free).
 * Statuses: FE_E_ARG (bad tensor description), FE_E_LIMIT, FE_E_NOMEM, or any reader status
 * for input the format forbids (e.g. FE_E_CORRUPT for malformed metadata). */
fe_status fe__blob_write_memory(const fe__tensor *tensors, size_t n, const char *meta,
                                size_t meta_len, uint8_t **out, size_t *out_size);
/* Same, written atomically to path (temp + fsync + rename); also FE_E_IO. */
fe_status fe__blob_write_file(const char *path, const fe__tensor *tensors, size_t n,
                              const char *meta, size_t meta_len);

/* The network's schema (net_schema.c): checks that the blob holds exactly the 117 tensors of
 * FaceRecognitionNet with their exact shapes (FE_E_NOT_FOUND: missing, FE_E_SHAPE: wrong
 * shape or dtype, FE_E_UNSUPPORTED: unexpected extra tensor, FE_E_CORRUPT: wrong arch). */
fe_status fe__net_schema_check(const fe__blob *blob);

#endif
