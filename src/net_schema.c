/*
 * net_schema.c — the exact tensor list of FaceRecognitionNet and the blob check against it.
 *
 * Table copied from ../shared/design/faceres.md Appendix A (the face-api 1.7.15 manifest's
 * order, names, shapes; stored dtype). fe__net_schema_check accepts a blob only when its
 * `arch` metadata is FE_NET_ARCH and it holds exactly these tensors, each with its dtype and
 * shape: the architecture is code, the blob only parameters (FORMAT.md §6, last paragraph).
 */
#include "net_schema.h"

#include <inttypes.h>
#include <string.h>

static const fe__net_tensor schema[FE_NET_N_TENSORS] = {
    {"conv32_down/conv/filters", FE_DTYPE_U8, 4, {7, 7, 3, 32}},
    {"conv32_down/conv/bias", FE_DTYPE_U8, 1, {32}},
    {"conv32_down/scale/weights", FE_DTYPE_U8, 1, {32}},
    {"conv32_down/scale/biases", FE_DTYPE_U8, 1, {32}},
    {"conv32_1/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 32, 32}},
    {"conv32_1/conv1/conv/bias", FE_DTYPE_U8, 1, {32}},
    {"conv32_1/conv1/scale/weights", FE_DTYPE_U8, 1, {32}},
    {"conv32_1/conv1/scale/biases", FE_DTYPE_U8, 1, {32}},
    {"conv32_1/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 32, 32}},
    {"conv32_1/conv2/conv/bias", FE_DTYPE_U8, 1, {32}},
    {"conv32_1/conv2/scale/weights", FE_DTYPE_U8, 1, {32}},
    {"conv32_1/conv2/scale/biases", FE_DTYPE_U8, 1, {32}},
    {"conv32_2/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 32, 32}},
    {"conv32_2/conv1/conv/bias", FE_DTYPE_U8, 1, {32}},
    {"conv32_2/conv1/scale/weights", FE_DTYPE_U8, 1, {32}},
    {"conv32_2/conv1/scale/biases", FE_DTYPE_U8, 1, {32}},
    {"conv32_2/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 32, 32}},
    {"conv32_2/conv2/conv/bias", FE_DTYPE_U8, 1, {32}},
    {"conv32_2/conv2/scale/weights", FE_DTYPE_U8, 1, {32}},
    {"conv32_2/conv2/scale/biases", FE_DTYPE_U8, 1, {32}},
    {"conv32_3/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 32, 32}},
    {"conv32_3/conv1/conv/bias", FE_DTYPE_U8, 1, {32}},
    {"conv32_3/conv1/scale/weights", FE_DTYPE_U8, 1, {32}},
    {"conv32_3/conv1/scale/biases", FE_DTYPE_U8, 1, {32}},
    {"conv32_3/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 32, 32}},
    {"conv32_3/conv2/conv/bias", FE_DTYPE_U8, 1, {32}},
    {"conv32_3/conv2/scale/weights", FE_DTYPE_U8, 1, {32}},
    {"conv32_3/conv2/scale/biases", FE_DTYPE_U8, 1, {32}},
    {"conv64_down/conv1/conv/filters", FE_DTYPE_F32, 4, {3, 3, 32, 64}},
    {"conv64_down/conv1/conv/bias", FE_DTYPE_U8, 1, {64}},
    {"conv64_down/conv1/scale/weights", FE_DTYPE_U8, 1, {64}},
    {"conv64_down/conv1/scale/biases", FE_DTYPE_U8, 1, {64}},
    {"conv64_down/conv2/conv/filters", FE_DTYPE_F32, 4, {3, 3, 64, 64}},
    {"conv64_down/conv2/conv/bias", FE_DTYPE_U8, 1, {64}},
    {"conv64_down/conv2/scale/weights", FE_DTYPE_U8, 1, {64}},
    {"conv64_down/conv2/scale/biases", FE_DTYPE_U8, 1, {64}},
    {"conv64_1/conv1/conv/filters", FE_DTYPE_F32, 4, {3, 3, 64, 64}},
    {"conv64_1/conv1/conv/bias", FE_DTYPE_U8, 1, {64}},
    {"conv64_1/conv1/scale/weights", FE_DTYPE_U8, 1, {64}},
    {"conv64_1/conv1/scale/biases", FE_DTYPE_U8, 1, {64}},
    {"conv64_1/conv2/conv/filters", FE_DTYPE_F32, 4, {3, 3, 64, 64}},
    {"conv64_1/conv2/conv/bias", FE_DTYPE_U8, 1, {64}},
    {"conv64_1/conv2/scale/weights", FE_DTYPE_U8, 1, {64}},
    {"conv64_1/conv2/scale/biases", FE_DTYPE_U8, 1, {64}},
    {"conv64_2/conv1/conv/filters", FE_DTYPE_F32, 4, {3, 3, 64, 64}},
    {"conv64_2/conv1/conv/bias", FE_DTYPE_U8, 1, {64}},
    {"conv64_2/conv1/scale/weights", FE_DTYPE_U8, 1, {64}},
    {"conv64_2/conv1/scale/biases", FE_DTYPE_U8, 1, {64}},
    {"conv64_2/conv2/conv/filters", FE_DTYPE_F32, 4, {3, 3, 64, 64}},
    {"conv64_2/conv2/conv/bias", FE_DTYPE_U8, 1, {64}},
    {"conv64_2/conv2/scale/weights", FE_DTYPE_U8, 1, {64}},
    {"conv64_2/conv2/scale/biases", FE_DTYPE_U8, 1, {64}},
    {"conv64_3/conv1/conv/filters", FE_DTYPE_F32, 4, {3, 3, 64, 64}},
    {"conv64_3/conv1/conv/bias", FE_DTYPE_U8, 1, {64}},
    {"conv64_3/conv1/scale/weights", FE_DTYPE_U8, 1, {64}},
    {"conv64_3/conv1/scale/biases", FE_DTYPE_U8, 1, {64}},
    {"conv64_3/conv2/conv/filters", FE_DTYPE_F32, 4, {3, 3, 64, 64}},
    {"conv64_3/conv2/conv/bias", FE_DTYPE_U8, 1, {64}},
    {"conv64_3/conv2/scale/weights", FE_DTYPE_U8, 1, {64}},
    {"conv64_3/conv2/scale/biases", FE_DTYPE_U8, 1, {64}},
    {"conv128_down/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 64, 128}},
    {"conv128_down/conv1/conv/bias", FE_DTYPE_U8, 1, {128}},
    {"conv128_down/conv1/scale/weights", FE_DTYPE_U8, 1, {128}},
    {"conv128_down/conv1/scale/biases", FE_DTYPE_U8, 1, {128}},
    {"conv128_down/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 128, 128}},
    {"conv128_down/conv2/conv/bias", FE_DTYPE_U8, 1, {128}},
    {"conv128_down/conv2/scale/weights", FE_DTYPE_U8, 1, {128}},
    {"conv128_down/conv2/scale/biases", FE_DTYPE_U8, 1, {128}},
    {"conv128_1/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 128, 128}},
    {"conv128_1/conv1/conv/bias", FE_DTYPE_U8, 1, {128}},
    {"conv128_1/conv1/scale/weights", FE_DTYPE_U8, 1, {128}},
    {"conv128_1/conv1/scale/biases", FE_DTYPE_U8, 1, {128}},
    {"conv128_1/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 128, 128}},
    {"conv128_1/conv2/conv/bias", FE_DTYPE_U8, 1, {128}},
    {"conv128_1/conv2/scale/weights", FE_DTYPE_U8, 1, {128}},
    {"conv128_1/conv2/scale/biases", FE_DTYPE_U8, 1, {128}},
    {"conv128_2/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 128, 128}},
    {"conv128_2/conv1/conv/bias", FE_DTYPE_U8, 1, {128}},
    {"conv128_2/conv1/scale/weights", FE_DTYPE_U8, 1, {128}},
    {"conv128_2/conv1/scale/biases", FE_DTYPE_U8, 1, {128}},
    {"conv128_2/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 128, 128}},
    {"conv128_2/conv2/conv/bias", FE_DTYPE_U8, 1, {128}},
    {"conv128_2/conv2/scale/weights", FE_DTYPE_U8, 1, {128}},
    {"conv128_2/conv2/scale/biases", FE_DTYPE_U8, 1, {128}},
    {"conv256_down/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 128, 256}},
    {"conv256_down/conv1/conv/bias", FE_DTYPE_U8, 1, {256}},
    {"conv256_down/conv1/scale/weights", FE_DTYPE_U8, 1, {256}},
    {"conv256_down/conv1/scale/biases", FE_DTYPE_U8, 1, {256}},
    {"conv256_down/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 256, 256}},
    {"conv256_down/conv2/conv/bias", FE_DTYPE_U8, 1, {256}},
    {"conv256_down/conv2/scale/weights", FE_DTYPE_U8, 1, {256}},
    {"conv256_down/conv2/scale/biases", FE_DTYPE_U8, 1, {256}},
    {"conv256_1/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 256, 256}},
    {"conv256_1/conv1/conv/bias", FE_DTYPE_U8, 1, {256}},
    {"conv256_1/conv1/scale/weights", FE_DTYPE_U8, 1, {256}},
    {"conv256_1/conv1/scale/biases", FE_DTYPE_U8, 1, {256}},
    {"conv256_1/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 256, 256}},
    {"conv256_1/conv2/conv/bias", FE_DTYPE_U8, 1, {256}},
    {"conv256_1/conv2/scale/weights", FE_DTYPE_U8, 1, {256}},
    {"conv256_1/conv2/scale/biases", FE_DTYPE_U8, 1, {256}},
    {"conv256_2/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 256, 256}},
    {"conv256_2/conv1/conv/bias", FE_DTYPE_U8, 1, {256}},
    {"conv256_2/conv1/scale/weights", FE_DTYPE_U8, 1, {256}},
    {"conv256_2/conv1/scale/biases", FE_DTYPE_U8, 1, {256}},
    {"conv256_2/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 256, 256}},
    {"conv256_2/conv2/conv/bias", FE_DTYPE_U8, 1, {256}},
    {"conv256_2/conv2/scale/weights", FE_DTYPE_U8, 1, {256}},
    {"conv256_2/conv2/scale/biases", FE_DTYPE_U8, 1, {256}},
    {"conv256_down_out/conv1/conv/filters", FE_DTYPE_U8, 4, {3, 3, 256, 256}},
    {"conv256_down_out/conv1/conv/bias", FE_DTYPE_U8, 1, {256}},
    {"conv256_down_out/conv1/scale/weights", FE_DTYPE_U8, 1, {256}},
    {"conv256_down_out/conv1/scale/biases", FE_DTYPE_U8, 1, {256}},
    {"conv256_down_out/conv2/conv/filters", FE_DTYPE_U8, 4, {3, 3, 256, 256}},
    {"conv256_down_out/conv2/conv/bias", FE_DTYPE_U8, 1, {256}},
    {"conv256_down_out/conv2/scale/weights", FE_DTYPE_U8, 1, {256}},
    {"conv256_down_out/conv2/scale/biases", FE_DTYPE_U8, 1, {256}},
    {"fc", FE_DTYPE_U8, 2, {256, 128}},
};

size_t fe__net_schema_count(void) { return FE_NET_N_TENSORS; }

const fe__net_tensor *fe__net_schema_entry(size_t i) { return i < FE_NET_N_TENSORS ? &schema[i] : NULL; }

const fe__net_tensor *fe__net_schema_find(const char *name) {
    for (size_t i = 0; name && i < FE_NET_N_TENSORS; i++)
        if (strcmp(schema[i].name, name) == 0) return &schema[i];
    return NULL;
}

static void shape_str(char *buf, size_t cap, uint32_t ndim, const uint64_t *dims) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (uint32_t k = 0; k < ndim && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRIu64, k ? "," : "", dims[k]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

fe_status fe__net_schema_check(const fe__blob *blob) {
    if (!blob) return fe__fail(FE_E_ARG, "no blob");
    const char *arch = fe__blob_meta(blob, "arch");
    if (!arch || strcmp(arch, FE_NET_ARCH) != 0)
        return fe__fail(FE_E_CORRUPT, "metadata arch is %s%s%s, expected '%s'", arch ? "'" : "",
                        arch ? arch : "missing", arch ? "'" : "", FE_NET_ARCH);
    for (size_t i = 0; i < FE_NET_N_TENSORS; i++) {
        const fe__net_tensor *s = &schema[i];
        const fe__tensor *t = fe__blob_find(blob, s->name);
        if (!t) return fe__fail(FE_E_NOT_FOUND, "tensor '%s' is missing from the blob", s->name);
        int same = t->dtype == s->dtype && t->ndim == s->ndim;
        for (uint32_t k = 0; same && k < s->ndim; k++) same = t->dims[k] == s->dims[k];
        if (!same) {
            uint64_t want[FE_BLOB_MAX_DIMS];
            for (int k = 0; k < FE_BLOB_MAX_DIMS; k++) want[k] = s->dims[k];
            char got_s[96], want_s[96];
            shape_str(got_s, sizeof got_s, t->ndim, t->dims);
            shape_str(want_s, sizeof want_s, s->ndim, want);
            return fe__fail(FE_E_SHAPE, "tensor '%s' is %s %s, the network needs %s %s", s->name,
                            fe__dtype_name(t->dtype), got_s, fe__dtype_name(s->dtype), want_s);
        }
    }
    /* every expected name was found and names are unique, so a larger count means extras */
    size_t n = fe__blob_n_tensors(blob);
    for (size_t i = 0; n != FE_NET_N_TENSORS && i < n; i++) {
        const fe__tensor *t = fe__blob_tensor(blob, i);
        if (!fe__net_schema_find(t->name))
            return fe__fail(FE_E_UNSUPPORTED, "tensor '%s' (entry %zu) is not part of %s", t->name, i, FE_NET_ARCH);
    }
    return FE_OK;
}
