/*
 * net_schema.h — the tensors FaceRecognitionNet needs (../shared/design/faceres.md, App. A).
 *
 * 117 entries in the source manifest's order, which is also the forward order: conv32_down,
 * then per block <block>/conv1 and <block>/conv2 (each conv/filters HWIO, conv/bias,
 * scale/weights, scale/biases), then fc [256,128]. The 8 conv64_* filters are F32, the rest U8.
 */
#ifndef FE_NET_SCHEMA_H
#define FE_NET_SCHEMA_H

#include "blob.h"

#define FE_NET_ARCH      "faceapi-resnet-v1"   /* the blob's `arch` metadata value   */
#define FE_NET_N_TENSORS 117
#define FE_NET_N_PARAMS  5614592u

typedef struct fe__net_tensor {
    const char *name;                   /* manifest name, e.g. "conv32_1/conv1/conv/filters" */
    fe__dtype   dtype;                  /* as stored in faceres.feb                          */
    uint32_t    ndim;
    uint32_t    dims[FE_BLOB_MAX_DIMS]; /* unused dims are 0                                  */
} fe__net_tensor;

/* Number of entries (FE_NET_N_TENSORS) and entry i in forward order (NULL past the end). */
size_t fe__net_schema_count(void);
const fe__net_tensor *fe__net_schema_entry(size_t i);
/* Entry by name, or NULL. */
const fe__net_tensor *fe__net_schema_find(const char *name);

#endif
