/*
 * blob.h — the .feb weight blob reader (format: weights/FORMAT.md).
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

typedef struct fe__tensor {
    char           name[FE_BLOB_NAME_LEN];
    fe__dtype      dtype;
    uint32_t       ndim;
    uint64_t       dims[FE_BLOB_MAX_DIMS];   /* unused dims are 1                        */
    uint64_t       n_elems;                  /* product of dims                          */
    const uint8_t *data;                     /* 64-byte aligned in memory                */
    uint64_t       nbytes;
    double         scale, min;               /* U8 only: value = q * scale + min         */
} fe__tensor;

typedef struct fe__blob fe__blob;

/* Opens and validates a blob (every header field, directory entry, offset, CRC unless
 * verify_crc is 0). Statuses: FE_E_IO, FE_E_MAGIC, FE_E_VERSION, FE_E_ENDIAN, FE_E_TRUNCATED,
 * FE_E_RANGE, FE_E_ALIGN, FE_E_OVERLAP, FE_E_OVERFLOW, FE_E_CHECKSUM, FE_E_SHAPE (bad
 * ndim/dims/nbytes), FE_E_DUPLICATE, FE_E_CORRUPT, FE_E_UNSUPPORTED (unknown dtype),
 * FE_E_LIMIT, FE_E_NOMEM. */
fe_status fe__blob_open_file(const char *path, int verify_crc, fe__blob **out);
/* Same over a caller buffer, which is copied into aligned memory. */
fe_status fe__blob_open_memory(const void *data, size_t size, int verify_crc, fe__blob **out);
void fe__blob_close(fe__blob *blob);

size_t fe__blob_n_tensors(const fe__blob *blob);
const fe__tensor *fe__blob_tensor(const fe__blob *blob, size_t i);
/* NULL when absent. */
const fe__tensor *fe__blob_find(const fe__blob *blob, const char *name);
/* Metadata value for key (e.g. "arch"), or NULL. */
const char *fe__blob_meta(const fe__blob *blob, const char *key);

/* Dequantizes / copies a tensor into out[n_elems]. FE_E_SHAPE if n != n_elems. */
fe_status fe__tensor_to_f32(const fe__tensor *t, float *out, size_t n);

/* The network's schema (net_schema.c): checks that the blob holds exactly the 117 tensors of
 * FaceRecognitionNet with their exact shapes (FE_E_NOT_FOUND: missing, FE_E_SHAPE: wrong
 * shape or dtype, FE_E_UNSUPPORTED: unexpected extra tensor, FE_E_CORRUPT: wrong arch). */
fe_status fe__net_schema_check(const fe__blob *blob);

#endif
