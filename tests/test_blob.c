/*
 * test_blob.c — the .feb weight blob (weights/FORMAT.md): the committed faceres.feb against
 * the network schema and faceres.md Appendix A, bit-exact dequantization, a table of corrupt
 * blobs each giving its own status, schema faults, metadata rules, allocation faults, the
 * writer's round trip and determinism, SHA-256, the faceapi2feb converter and `faceemd blob`.
 */
#include "test.h"
#include "blob.h"
#include "net_schema.h"
#include "sha256.h"

#include <float.h>
#include <inttypes.h>
#include <string.h>

#define FACERES "weights/faceres.feb"
#define MINI_DIR "tests/data/faceapi-mini"
#define TINY_SEED "tests/fuzz/corpus/blob/valid_tiny.feb"

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ======================================================================================== */
/* the committed blob                                                                       */
/* ======================================================================================== */

FE_TEST(blob_faceres_opens_and_matches_schema) {
    fe__blob *b;
    CHECK_OK(fe__blob_open_file(FACERES, 1, &b));
    fe_status st = fe__net_schema_check(b);
    const fe__blob_header *h = fe__blob_get_header(b);
    size_t n = fe__blob_n_tensors(b), n_f32 = 0, bad_crc = 0, bad_align = 0, order = 0;
    uint64_t params = 0;
    for (size_t i = 0; i < n; i++) {
        const fe__tensor *tn = fe__blob_tensor(b, i);
        const fe__net_tensor *s = fe__net_schema_entry(i);
        params += tn->n_elems;
        n_f32 += tn->dtype == FE_DTYPE_F32;
        /* every tensor CRC, recomputed here independently of the reader's own check */
        bad_crc += fe__crc32(0, tn->data, (size_t)tn->nbytes) != tn->crc32;
        bad_align += ((uintptr_t)tn->data % 64) != 0;
        order += s && strcmp(s->name, tn->name) == 0;  /* blob keeps the forward order */
    }
    const char *arch = fe__blob_meta(b, "arch"), *bin_sha = fe__blob_meta(b, "source.bin.sha256"),
               *man_sha = fe__blob_meta(b, "source.manifest.sha256"), *ver = fe__blob_meta(b, "source.version");
    int meta_ok = arch && strcmp(arch, FE_NET_ARCH) == 0 && ver && strcmp(ver, "1.7.15") == 0 && bin_sha &&
                  strcmp(bin_sha, "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589") == 0 &&
                  man_sha && strcmp(man_sha, "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b") == 0;
    int hdr_ok = h->version_major == 1 && h->alignment == 64 && h->n_tensors == 117 && h->dir_offset == 128 &&
                 h->file_size % 64 == 0 && h->data_offset % 64 == 0;
    fe__blob_close(b);
    CHECK_OK(st);
    CHECK(n == FE_NET_N_TENSORS && order == n);
    CHECK_MSG(params == FE_NET_N_PARAMS, "params %" PRIu64, params);
    CHECK_MSG(n_f32 == 8, "%zu F32 tensors, faceres.md says the 8 conv64_* filters", n_f32);
    CHECK_MSG(bad_crc == 0 && bad_align == 0, "%zu bad CRCs, %zu misaligned", bad_crc, bad_align);
    CHECK(meta_ok && hdr_ok);
    NOTE("117 tensors, %" PRIu64 " params, all CRCs match", params);
}

FE_TEST(blob_faceres_sha256_sidecar) {
    /* the committed sidecar (sha256sum format) must describe the committed blob */
    size_t n, sn;
    uint8_t *data = fe_t_read_file(FACERES, &n);
    char *side = fe_t_read_file(FACERES ".sha256", &sn);
    CHECK(data && side);
    char hex[65];
    fe__sha256_hex(data, n, hex);
    free(data);
    int ok = sn >= 66 && memcmp(side, hex, 64) == 0 && strncmp(side + 64, "  faceres.feb", 13) == 0;
    free(side);
    CHECK_MSG(ok, "weights/faceres.feb.sha256 does not match sha256 %s", hex);
}

FE_TEST(blob_schema_table_matches_appendix_a) {
    /* structural facts of faceres.md: 29 conv layers x 4 tensors + fc, 8 F32 conv64 filters */
    size_t n = fe__net_schema_count(), convs = 0, f32 = 0;
    uint64_t params = 0;
    for (size_t i = 0; i < n; i++) {
        const fe__net_tensor *s = fe__net_schema_entry(i);
        uint64_t p = 1;
        for (uint32_t k = 0; k < s->ndim; k++) p *= s->dims[k];
        params += p;
        if (strstr(s->name, "/conv/filters")) {
            convs++;
            CHECK_MSG(s->ndim == 4 && s->dims[0] == s->dims[1], "%s is not HWIO", s->name);
            /* its bias and scale follow it, all [c_out] */
            for (int k = 1; k <= 3; k++) {
                const fe__net_tensor *c = fe__net_schema_entry(i + (size_t)k);
                CHECK(c && c->ndim == 1 && c->dims[0] == s->dims[3]);
            }
        }
        if (s->dtype == FE_DTYPE_F32) {
            f32++;
            CHECK_MSG(strncmp(s->name, "conv64_", 7) == 0 && strstr(s->name, "/conv/filters"), "%s", s->name);
        }
    }
    CHECK(n == 117 && convs == 29 && f32 == 8 && params == 5614592u);
    CHECK(fe__net_schema_entry(117) == NULL);
    const fe__net_tensor *fc = fe__net_schema_find("fc");
    CHECK(fc && fc->ndim == 2 && fc->dims[0] == 256 && fc->dims[1] == 128 && fc == fe__net_schema_entry(116));
    const fe__net_tensor *stem = fe__net_schema_entry(0);
    CHECK(strcmp(stem->name, "conv32_down/conv/filters") == 0 && stem->dims[0] == 7 && stem->dims[2] == 3);
}

/* ======================================================================================== */
/* dequantization                                                                           */
/* ======================================================================================== */

/* Hand-computed in Python from the package files: q = byte of the .bin, value =
 * float32(q*scale + min) in doubles (what tfjs stores); F32 entries give the raw bits. */
static const struct { const char *name; size_t index; int q; uint32_t bits; } golden[] = {
    {"conv32_down/conv/filters", 0, 79, 0xbcf15556u},     /* -0.0294596367, float arithmetic gives -0.0294596404 */
    {"conv32_down/conv/filters", 1000, 130, 0xbb2c6187u}, /* -0.0026303248, float arithmetic gives -0.00263033062 */
    {"conv32_down/conv/filters", 4703, 146, 0x3bbd9e7bu}, /* 0.00578671461, float arithmetic gives 0.00578670949 */
    {"conv32_1/conv1/conv/bias", 5, 113, 0xb43c69a7u},    /* -1.75473005e-07 */
    {"fc", 0, 109, 0xbbdeb192u},                          /* -0.00679607037 */
    {"fc", 12345, 131, 0x3a8ca60bu},                      /* 0.0010730637 */
    {"fc", 32767, 146, 0x3bd2f911u},                      /* 0.00643838244 */
    {"conv256_down_out/conv1/scale/biases", 100, 88, 0xc0026428u}, /* -2.03736305 */
    {"conv32_down/scale/weights", 31, 40, 0x41083b27u},   /* 8.51444149 */
    {"conv64_down/conv1/conv/filters", 0, -1, 0xbb9333e8u},     /* -0.00449227169 (F32) */
    {"conv64_down/conv1/conv/filters", 18431, -1, 0x3af36600u}, /* 0.00185698271 */
    {"conv64_3/conv2/conv/filters", 36863, -1, 0xbb84767bu},    /* -0.00404244429 */
};

/* faceres.md Appendix A: scale and min as printed there (parsed by the C compiler). */
static const struct { const char *name; double scale, min; } appendix_a[] = {
    {"conv32_down/conv/filters", 0.0005260649557207145, -0.07101876902229645},
    {"conv32_1/conv1/conv/bias", 1.5952091238361e-8, -0.000001978059313556764},
    {"conv128_down/conv1/scale/weights", 0.007448580685783835, 2.830846071243286},
    {"conv256_down_out/conv1/scale/biases", 0.04850864223405427, -6.306123490427055},
    {"conv256_2/conv2/conv/filters", 0.00005543030908002573, -0.007427661416723448},
    {"fc", 0.000357687911566566, -0.04578405268052045},
};

FE_TEST(blob_dequantize_exact) {
    fe__blob *b;
    CHECK_OK(fe__blob_open_file(FACERES, 1, &b));
    float *buf = malloc(589824 * sizeof *buf);
    CHECK(buf);
    size_t checked = 0, float_arith_differs = 0, n_golden = sizeof golden / sizeof golden[0];
    const char *bad = NULL;
    /* 1. scale/min bit-identical to Appendix A */
    for (size_t i = 0; i < sizeof appendix_a / sizeof appendix_a[0]; i++) {
        const fe__tensor *tn = fe__blob_find(b, appendix_a[i].name);
        if (!tn || tn->dtype != FE_DTYPE_U8 || tn->scale != appendix_a[i].scale || tn->min != appendix_a[i].min)
            bad = appendix_a[i].name;
    }
    /* 2. the golden values from Python */
    for (size_t i = 0; !bad && i < n_golden; i++) {
        const fe__tensor *tn = fe__blob_find(b, golden[i].name);
        if (!tn || fe__tensor_to_f32(tn, buf, (size_t)tn->n_elems) != FE_OK) { bad = golden[i].name; break; }
        if (golden[i].q >= 0 && tn->data[golden[i].index] != golden[i].q) bad = golden[i].name;
        if (f32_bits(buf[golden[i].index]) != golden[i].bits) bad = golden[i].name;
        /* negative control: the same value computed in float arithmetic is a different float */
        if (golden[i].q >= 0) {
            float fq = (float)golden[i].q * (float)tn->scale;
            float_arith_differs += f32_bits(fq + (float)tn->min) != golden[i].bits;
        }
        checked++;
    }
    /* 3. every element of every U8 tensor equals (float)((double)q*scale + min) computed here */
    size_t n_elems = 0;
    for (size_t i = 0; !bad && i < fe__blob_n_tensors(b); i++) {
        const fe__tensor *tn = fe__blob_tensor(b, i);
        if (fe__tensor_to_f32(tn, buf, (size_t)tn->n_elems) != FE_OK) { bad = tn->name; break; }
        for (size_t k = 0; k < tn->n_elems; k++) {
            float want;
            if (tn->dtype == FE_DTYPE_U8) {
                double prod = (double)tn->data[k] * tn->scale;
                want = (float)(prod + tn->min);
            } else {
                memcpy(&want, tn->data + 4 * k, 4);  /* little-endian host (x86-64) */
            }
            if (f32_bits(buf[k]) != f32_bits(want)) { bad = tn->name; break; }
        }
        n_elems += (size_t)tn->n_elems;
    }
    /* 4. wrong sizes are refused */
    const fe__tensor *fc = fe__blob_find(b, "fc");
    fe_status wrong = fe__tensor_to_f32(fc, buf, 100);
    free(buf);
    fe__blob_close(b);
    CHECK_MSG(!bad, "dequantized values of '%s' differ", bad);
    CHECK(checked == n_golden && n_elems == FE_NET_N_PARAMS);
    CHECK_MSG(float_arith_differs >= 5, "float arithmetic matched the goldens too often (%zu)", float_arith_differs);
    CHECK(wrong == FE_E_SHAPE);
    NOTE("%zu goldens bit-exact, %zu elements checked; float arithmetic would miss %zu of 9 U8 goldens", checked,
         n_elems, float_arith_differs);
}

/* ======================================================================================== */
/* corrupt blobs made from the real one                                                     */
/* ======================================================================================== */

enum { ABS, ENTRY, DATA, META, TENSOR };       /* what an op's offset is relative to */
enum { NONE, W8, W16, W32, W64, WF64, ADD64, WSTR, FILL, COPY, TRUNC, GROW, F32NAN };

typedef struct op {
    int      kind, base, entry;                /* entry: directory index for base ENTRY */
    int64_t  off;                              /* TRUNC: new size (<0: from the end)    */
    uint64_t value;                            /* FILL: byte; COPY: source entry        */
    double   dvalue;
    int      len;
    const char *s;                             /* WSTR                                  */
} op;

typedef struct corrupt_case {
    const char *what;
    fe_status   want;
    const char *needle;                        /* must appear in fe_last_error()        */
    int         fix;                           /* 1: recompute header+meta CRCs, 2: and tensor CRCs */
    op          ops[4];
} corrupt_case;

/* Entry indices in faceres.feb: 0 conv32_down/conv/filters (4704 B at data 0), 1 its bias
 * (at 4736), 28 conv64_down/conv1/conv/filters (F32), 116 fc. Entry field offsets: name 0,
 * dtype 48, ndim 52, dims 56, offset 88, nbytes 96, scale 104, min 112, crc 120. */
#define U64MAX UINT64_MAX
static const corrupt_case cases[] = {
    {"bad magic", FE_E_MAGIC, "magic", 0, {{W8, ABS, 0, 1, 'X', 0, 0, NULL}}},
    {"PNG instead of a blob", FE_E_MAGIC, "magic", 0, {{W64, ABS, 0, 0, 0x0A1A0A0D474E5089ull, 0, 0, NULL}}},
    {"empty file", FE_E_TRUNCATED, "magic", 0, {{TRUNC, ABS, 0, 0, 0, 0, 0, NULL}}},
    {"truncated in the magic", FE_E_TRUNCATED, "magic", 0, {{TRUNC, ABS, 0, 5, 0, 0, 0, NULL}}},
    {"truncated after the magic", FE_E_TRUNCATED, "header", 0, {{TRUNC, ABS, 0, 8, 0, 0, 0, NULL}}},
    {"truncated in the header", FE_E_TRUNCATED, "header", 0, {{TRUNC, ABS, 0, 127, 0, 0, 0, NULL}}},
    {"truncated after the header", FE_E_TRUNCATED, "file_size", 0, {{TRUNC, ABS, 0, 128, 0, 0, 0, NULL}}},
    {"truncated in the directory", FE_E_TRUNCATED, "file_size", 0, {{TRUNC, ABS, 0, 5000, 0, 0, 0, NULL}}},
    {"truncated in the metadata", FE_E_TRUNCATED, "file_size", 0, {{TRUNC, ABS, 0, 15200, 0, 0, 0, NULL}}},
    {"truncated in the data", FE_E_TRUNCATED, "file_size", 0, {{TRUNC, ABS, 0, 3000000, 0, 0, 0, NULL}}},
    {"last byte missing", FE_E_TRUNCATED, "file_size", 0, {{TRUNC, ABS, 0, -1, 0, 0, 0, NULL}}},
    {"trailing byte", FE_E_CORRUPT, "trailing", 0, {{GROW, ABS, 0, 0, 0, 0, 0, NULL}}},
    {"future major version", FE_E_VERSION, "version_major", 0, {{W16, ABS, 0, 8, 2, 0, 0, NULL}}},
    {"major version 0", FE_E_VERSION, "version_major", 0, {{W16, ABS, 0, 8, 0, 0, 0, NULL}}},
    {"big-endian tag", FE_E_ENDIAN, "big-endian", 0, {{W32, ABS, 0, 12, 0x04030201u, 0, 0, NULL}}},
    {"bad endian tag", FE_E_ENDIAN, "endian_tag", 0, {{W32, ABS, 0, 12, 0, 0, 0, NULL}}},
    {"header_size 256", FE_E_CORRUPT, "header_size", 0, {{W32, ABS, 0, 16, 256, 0, 0, NULL}}},
    {"dir_entry_size 64", FE_E_CORRUPT, "dir_entry_size", 0, {{W32, ABS, 0, 36, 64, 0, 0, NULL}}},
    {"alignment 96", FE_E_ALIGN, "alignment", 0, {{W32, ABS, 0, 20, 96, 0, 0, NULL}}},
    {"alignment 32", FE_E_ALIGN, "alignment", 0, {{W32, ABS, 0, 20, 32, 0, 0, NULL}}},
    {"file_size above the cap", FE_E_LIMIT, "file_size", 0, {{W64, ABS, 0, 24, 1ull << 31, 0, 0, NULL}}},
    {"n_tensors above the cap", FE_E_LIMIT, "n_tensors", 0, {{W32, ABS, 0, 32, 5000, 0, 0, NULL}}},
    {"meta_size above the cap", FE_E_LIMIT, "meta_size", 0, {{W64, ABS, 0, 64, 70000, 0, 0, NULL}}},
    {"n_tensors disagrees with dir_size", FE_E_COUNT, "dir_size", 0, {{W32, ABS, 0, 32, 116, 0, 0, NULL}}},
    {"dir_size disagrees with n_tensors", FE_E_COUNT, "dir_size", 0, {{W64, ABS, 0, 48, 116 * 128, 0, 0, NULL}}},
    {"directory offset past the end", FE_E_RANGE, "dir region", 0, {{W64, ABS, 0, 40, 6460544, 0, 0, NULL}}},
    {"data_size past the end", FE_E_RANGE, "data region", 0, {{W64, ABS, 0, 80, 6444736 + 64, 0, 0, NULL}}},
    {"meta_offset + meta_size overflows", FE_E_OVERFLOW, "meta_offset", 0, {{W64, ABS, 0, 56, U64MAX - 10, 0, 0, NULL}}},
    {"directory overlaps the header", FE_E_OVERLAP, "dir_offset", 0, {{W64, ABS, 0, 40, 64, 0, 0, NULL}}},
    {"metadata overlaps the directory", FE_E_OVERLAP, "meta_offset", 0, {{W64, ABS, 0, 56, 192, 0, 0, NULL}}},
    {"data overlaps the metadata", FE_E_OVERLAP, "data_offset", 0,
     {{W64, ABS, 0, 72, 15808 - 64, 0, 0, NULL}, {W64, ABS, 0, 80, 6444736 + 64, 0, 0, NULL}}},
    {"misaligned data_offset", FE_E_ALIGN, "data_offset", 0,
     {{W64, ABS, 0, 72, 15808 + 8, 0, 0, NULL}, {W64, ABS, 0, 80, 6444736 - 8, 0, 0, NULL}}},
    {"data region ends early", FE_E_CORRUPT, "data region ends", 0, {{W64, ABS, 0, 80, 6444736 - 64, 0, 0, NULL}}},
    {"misaligned tensor offset", FE_E_ALIGN, "offset", 0, {{ADD64, ENTRY, 5, 88, 4, 0, 0, NULL}}},
    {"overlapping tensors", FE_E_OVERLAP, "previous", 0, {{W64, ENTRY, 1, 88, 0, 0, 0, NULL}}},
    {"tensor offset past the end", FE_E_RANGE, "data_size", 0, {{W64, ENTRY, 116, 88, 6444736, 0, 0, NULL}}},
    {"tensor offset + nbytes overflows", FE_E_OVERFLOW, "overflows", 0, {{W64, ENTRY, 116, 88, U64MAX - 63, 0, 0, NULL}}},
    {"dims overflow 64 bits", FE_E_OVERFLOW, "overflows", 0,
     {{W64, ENTRY, 0, 56, 1ull << 32, 0, 0, NULL}, {W64, ENTRY, 0, 64, 1ull << 32, 0, 0, NULL}}},
    {"F32 byte count overflows", FE_E_OVERFLOW, "overflows", 0,
     {{W64, ENTRY, 28, 56, 1ull << 62, 0, 0, NULL}, {W64, ENTRY, 28, 64, 1, 0, 0, NULL}, {W64, ENTRY, 28, 72, 1, 0, 0, NULL},
      {W64, ENTRY, 28, 80, 1, 0, 0, NULL}}},
    {"nbytes disagrees with the shape", FE_E_SHAPE, "nbytes", 0, {{W64, ENTRY, 3, 96, 33, 0, 0, NULL}}},
    {"a zero dim", FE_E_SHAPE, "dims[0]", 0, {{W64, ENTRY, 1, 56, 0, 0, 0, NULL}}},
    {"an unused dim set", FE_E_SHAPE, "unused", 0, {{W64, ENTRY, 1, 64, 1, 0, 0, NULL}}},
    {"ndim 0", FE_E_SHAPE, "ndim", 0, {{W32, ENTRY, 1, 52, 0, 0, 0, NULL}}},
    {"ndim 5", FE_E_SHAPE, "ndim", 0, {{W32, ENTRY, 1, 52, 5, 0, 0, NULL}}},
    {"unknown dtype 3", FE_E_UNSUPPORTED, "dtype", 0, {{W32, ENTRY, 2, 48, 3, 0, 0, NULL}}},
    {"dtype 0", FE_E_UNSUPPORTED, "dtype", 0, {{W32, ENTRY, 2, 48, 0, 0, 0, NULL}}},
    {"duplicate name", FE_E_DUPLICATE, "twice", 0, {{COPY, ENTRY, 7, 0, 3, 0, 48, NULL}}},
    {"unterminated name", FE_E_CORRUPT, "NUL-terminated", 0, {{FILL, ENTRY, 4, 0, 'a', 0, 48, NULL}}},
    {"empty name", FE_E_CORRUPT, "empty name", 0, {{W8, ENTRY, 4, 0, 0, 0, 0, NULL}}},
    {"space in a name", FE_E_CORRUPT, "outside", 0, {{W8, ENTRY, 4, 6, ' ', 0, 0, NULL}}},
    {"garbage after the name", FE_E_CORRUPT, "after the name", 0, {{W8, ENTRY, 4, 47, 'x', 0, 0, NULL}}},
    {"U8 scale NaN", FE_E_CORRUPT, "scale", 0, {{W64, ENTRY, 2, 104, 0x7FF8000000000000ull, 0, 0, NULL}}},
    {"U8 scale negative", FE_E_CORRUPT, "scale", 0, {{WF64, ENTRY, 2, 104, 0, -0.5, 0, NULL}}},
    {"U8 max value overflows float", FE_E_CORRUPT, "scale", 0, {{WF64, ENTRY, 2, 104, 0, 1e37, 0, NULL}}},
    {"U8 min beyond float", FE_E_CORRUPT, "min", 0, {{WF64, ENTRY, 2, 112, 0, -1e39, 0, NULL}}},
    {"F32 tensor with a scale", FE_E_CORRUPT, "F32", 0, {{WF64, ENTRY, 28, 104, 0, 1.0, 0, NULL}}},
    {"padding between tensors", FE_E_CORRUPT, "padding", 0, {{W8, DATA, 0, 4704, 1, 0, 0, NULL}}},
    {"padding before the data", FE_E_CORRUPT, "padding", 0, {{W8, ABS, 0, 15104 + 694, 1, 0, 0, NULL}}},
    {"header CRC mismatch (reserved byte)", FE_E_CHECKSUM, "header_crc32", 0, {{W8, ABS, 0, 100, 1, 0, 0, NULL}}},
    {"header CRC mismatch (directory byte)", FE_E_CHECKSUM, "header_crc32", 0, {{W8, ENTRY, 9, 124, 1, 0, 0, NULL}}},
    {"metadata CRC mismatch", FE_E_CHECKSUM, "meta_crc32", 0, {{W8, META, 0, 5, 'F', 0, 0, NULL}}},
    {"tensor CRC mismatch", FE_E_CHECKSUM, "'fc'", 0, {{W8, TENSOR, 116, 100, 0x5A, 0, 0, NULL}}},
    /* the first bad tensor in directory order is reported, however many threads check CRCs */
    {"two tensor CRC mismatches", FE_E_CHECKSUM, "'conv64_2/conv2/scale/weights'", 0,
     {{W8, TENSOR, 100, 7, 0x01, 0, 0, NULL}, {W8, TENSOR, 50, 3, 0x80, 0, 0, NULL}}},
    {"F32 NaN", FE_E_NUMERIC, "NaN", 2, {{F32NAN, ENTRY, 28, 0, 0, 0, 0, NULL}}},
    {"metadata: no '='", FE_E_CORRUPT, "key=value", 1, {{W8, META, 0, 4, ':', 0, 0, NULL}}},
    {"metadata: control byte", FE_E_CORRUPT, "control", 1, {{W8, META, 0, 7, 0x01, 0, 0, NULL}}},
    {"metadata: malformed UTF-8", FE_E_CORRUPT, "UTF-8", 1, {{W8, META, 0, -33, 0x28, 0, 0, NULL}}},  /* the u-umlaut */
    {"metadata: no final newline", FE_E_CORRUPT, "newline", 1, {{W8, META, 0, -1, 'x', 0, 0, NULL}}},
    {"metadata: duplicate key", FE_E_DUPLICATE, "'arch'", 1, {{WSTR, META, 0, 23, 0, 0, 0, "arch=0123456789"}}},
    /* positive controls: what v1 readers must accept */
    {"newer minor version", FE_OK, "", 1, {{W16, ABS, 0, 10, 7, 0, 0, NULL}}},
    {"reserved header bytes", FE_OK, "", 1, {{W8, ABS, 0, 127, 0xAB, 0, 0, NULL}}},
    {"reserved entry bytes", FE_OK, "", 1, {{W32, ENTRY, 50, 124, 0xDEADBEEF, 0, 0, NULL}}},
};

static size_t op_pos(const uint8_t *b, size_t size, const op *o) {
    int64_t base = 0;
    switch (o->base) {
    case ENTRY: base = 128 + 128 * (int64_t)o->entry; break;
    case DATA: base = (int64_t)fe__rd_u64le(b + 72); break;
    case TENSOR: base = (int64_t)(fe__rd_u64le(b + 72) + fe__rd_u64le(b + 128 + 128 * o->entry + 88)); break;
    case META: base = (int64_t)fe__rd_u64le(b + 56); if (o->off < 0) base += (int64_t)fe__rd_u64le(b + 64); break;
    default: if (o->off < 0) base = (int64_t)size; break;
    }
    return (size_t)(base + o->off);
}

static void fix_crcs(uint8_t *b, int level) {
    uint64_t n = fe__rd_u32le(b + 32), data = fe__rd_u64le(b + 72);
    for (uint64_t i = 0; level >= 2 && i < n; i++) {
        uint8_t *e = b + 128 + 128 * i;
        fe__wr_u32le(e + 120, fe__crc32(0, b + data + fe__rd_u64le(e + 88), (size_t)fe__rd_u64le(e + 96)));
    }
    uint64_t mo = fe__rd_u64le(b + 56), ms = fe__rd_u64le(b + 64);
    fe__wr_u32le(b + 92, fe__crc32(0, b + mo, (size_t)ms));
    fe__wr_u32le(b + 88, 0);
    fe__wr_u32le(b + 88, fe__crc32(fe__crc32(0, b, 128), b + 128, (size_t)(n * 128)));
}

static void apply(uint8_t *b, size_t *size, const op *o) {
    size_t p = op_pos(b, *size, o);
    switch (o->kind) {
    case W8: b[p] = (uint8_t)o->value; break;
    case W16: fe__wr_u16le(b + p, (uint16_t)o->value); break;
    case W32: fe__wr_u32le(b + p, (uint32_t)o->value); break;
    case W64: fe__wr_u64le(b + p, o->value); break;
    case WF64: { uint64_t u; memcpy(&u, &o->dvalue, 8); fe__wr_u64le(b + p, u); break; }
    case ADD64: fe__wr_u64le(b + p, fe__rd_u64le(b + p) + o->value); break;
    case WSTR: memcpy(b + p, o->s, strlen(o->s)); break;
    case FILL: memset(b + p, (int)o->value, (size_t)o->len); break;
    case COPY: memcpy(b + p, b + 128 + 128 * o->value, (size_t)o->len); break;
    case TRUNC: *size = o->off < 0 ? *size - (size_t)-o->off : (size_t)o->off; break;
    case GROW: b[(*size)++] = 0; break;
    case F32NAN: {
        uint8_t *e = b + p;
        fe__wr_u32le(b + fe__rd_u64le(b + 72) + fe__rd_u64le(e + 88) + 40, 0x7FC00000u);
        break;
    }
    default: break;
    }
}

FE_TEST(blob_corrupt_table) {
    size_t n;
    uint8_t *orig = fe_t_read_file(FACERES, &n);
    uint8_t *buf = malloc(n + 16);
    CHECK(orig && buf);
    size_t n_cases = sizeof cases / sizeof cases[0], n_fail = 0;
    char first[600] = "";
    for (size_t c = 0; c < n_cases; c++) {
        const corrupt_case *k = &cases[c];
        memcpy(buf, orig, n);
        size_t size = n;
        for (int i = 0; i < 4; i++) apply(buf, &size, &k->ops[i]);
        if (k->fix) fix_crcs(buf, k->fix);
        fe__blob *b = NULL;
        fe__clear_error();
        fe_status st = fe__blob_open_memory(buf, size, 1, &b);
        int ok = st == k->want && strstr(fe_last_error(), k->needle) != NULL && (st == FE_OK) == (b != NULL);
        fe__blob_close(b);
        if (getenv("FE_TEST_VERBOSE"))
            fprintf(stderr, "  %-40s %-16s %s\n", k->what, fe_status_name(st), fe_last_error());
        if (!ok && !n_fail++)
            snprintf(first, sizeof first, "'%s': got %s (%s), expected %s mentioning '%s'", k->what,
                     fe_status_name(st), fe_last_error(), fe_status_name(k->want), k->needle);
    }
    /* the tensor CRC is the one check a fast open skips */
    memcpy(buf, orig, n);
    static const op flip = {W8, TENSOR, 116, 100, 0x5A, 0, 0, NULL};
    size_t size = n;
    apply(buf, &size, &flip);
    fe__blob *b = NULL;
    fe_status fast = fe__blob_open_memory(buf, n, 0, &b);
    fe__blob_close(b);
    free(buf);
    free(orig);
    CHECK_MSG(n_fail == 0, "%zu of %zu cases wrong; first: %s", n_fail, n_cases, first);
    CHECK_STATUS(fast, FE_OK);
    NOTE("%zu corrupt/edge cases, each with its own status and message", n_cases);
}

FE_TEST(blob_open_file_errors) {
    fe__blob *b = (fe__blob *)1;
    CHECK_STATUS(fe__blob_open_file("/nonexistent/x.feb", 1, &b), FE_E_IO);
    CHECK(b == NULL);
    CHECK_STATUS(fe__blob_open_file(fe_t_tmpdir(), 1, &b), FE_E_IO);
    CHECK_STATUS(fe__blob_open_file(NULL, 1, &b), FE_E_ARG);
    CHECK_STATUS(fe__blob_open_memory(NULL, 5, 1, &b), FE_E_ARG);
    /* a sparse file just over the cap is refused before anything is allocated */
    char path[600];
    snprintf(path, sizeof path, "%s/huge.feb", fe_t_tmpdir());
    FILE *fp = fopen(path, "wb");
    CHECK(fp);
    int ok = fseek(fp, (long)FE_BLOB_MAX_BYTES, SEEK_SET) == 0 && fputc(0, fp) == 0;
    fclose(fp);
    if (!ok) SKIP("cannot make a sparse file here");
    CHECK_STATUS(fe__blob_open_file(path, 1, &b), FE_E_LIMIT);
    remove(path);
}

/* ======================================================================================== */
/* schema faults: blobs rewritten from the real tensors                                     */
/* ======================================================================================== */

/* The real blob's metadata text, rebuilt from its lines. */
static size_t real_meta(const fe__blob *b, char *out, size_t cap, const char *arch) {
    size_t len = 0;
    for (size_t i = 0; i < fe__blob_n_meta(b); i++) {
        const char *k, *v;
        fe__blob_meta_at(b, i, &k, &v);
        if (strcmp(k, "arch") == 0) {
            if (!arch) continue;
            v = arch;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s=%s\n", k, v);
    }
    return len;
}

/* Writes tensors + meta, opens the result and runs the schema check. */
static fe_status schema_of(const fe__tensor *ts, size_t n, const char *meta, size_t meta_len) {
    uint8_t *buf;
    size_t size;
    fe_status st = fe__blob_write_memory(ts, n, meta, meta_len, &buf, &size);
    if (st != FE_OK) return st;
    fe__blob *b;
    st = fe__blob_open_memory(buf, size, 1, &b);
    fe__free(buf);
    if (st != FE_OK) return st;
    st = fe__net_schema_check(b);
    fe__blob_close(b);
    return st;
}

FE_TEST(blob_schema_faults) {
    fe__blob *b;
    CHECK_OK(fe__blob_open_file(FACERES, 0, &b));
    size_t n = fe__blob_n_tensors(b);
    fe__tensor *ts = malloc((n + 1) * sizeof *ts), *rev = malloc(n * sizeof *rev);
    float *zeros = calloc(256 * 128, sizeof *zeros);
    char meta[4096], meta_other[4096];
    CHECK(ts && rev && zeros);
    for (size_t i = 0; i < n; i++) ts[i] = rev[n - 1 - i] = *fe__blob_tensor(b, i);
    size_t ml = real_meta(b, meta, sizeof meta, FE_NET_ARCH);
    fe_status results[10];
    const char *msgs[10];
    static char msgbuf[10][512];
    int r = 0;
#define RUN(expr) do { results[r] = (expr); snprintf(msgbuf[r], sizeof msgbuf[r], "%s", fe_last_error()); msgs[r] = msgbuf[r]; r++; } while (0)
    RUN(schema_of(ts, n, meta, ml));                                   /* 0: unchanged        */
    RUN(schema_of(rev, n, meta, ml));                                  /* 1: any order        */
    fe__tensor keep = ts[4];                                           /* conv32_1/conv1 filters [3,3,32,32] */
    ts[4].dims[2] = 64; ts[4].dims[3] = 16;                            /* same bytes, wrong shape */
    RUN(schema_of(ts, n, meta, ml));                                   /* 2 */
    ts[4] = keep;
    keep = ts[116];                                                    /* fc U8 -> F32 [256,128] */
    ts[116].dtype = FE_DTYPE_F32; ts[116].nbytes *= 4; ts[116].data = (const uint8_t *)zeros;
    ts[116].scale = ts[116].min = 0;
    RUN(schema_of(ts, n, meta, ml));                                   /* 3 */
    ts[116] = keep;
    RUN(schema_of(ts, n - 1, meta, ml));                               /* 4: fc missing       */
    ts[n] = ts[116];
    snprintf(ts[n].name, sizeof ts[n].name, "fc/extra");
    RUN(schema_of(ts, n + 1, meta, ml));                               /* 5: extra tensor     */
    size_t mo = real_meta(b, meta_other, sizeof meta_other, "faceapi-resnet-v2");
    RUN(schema_of(ts, n, meta_other, mo));                             /* 6: wrong arch       */
    mo = real_meta(b, meta_other, sizeof meta_other, NULL);
    RUN(schema_of(ts, n, meta_other, mo));                             /* 7: no arch          */
    keep = ts[1];
    ts[1].ndim = 2; ts[1].dims[0] = 1; ts[1].dims[1] = 32;             /* [32] -> [1,32]      */
    RUN(schema_of(ts, n, meta, ml));                                   /* 8 */
    ts[1] = keep;
#undef RUN
    fe__blob_close(b);
    free(ts);
    free(rev);
    free(zeros);
    static const fe_status want[] = {FE_OK, FE_OK, FE_E_SHAPE, FE_E_SHAPE, FE_E_NOT_FOUND, FE_E_UNSUPPORTED,
                                     FE_E_CORRUPT, FE_E_CORRUPT, FE_E_SHAPE};
    static const char *const needle[] = {"", "", "[3,3,64,16]", "F32", "'fc'", "fc/extra", "v2", "missing", "[1,32]"};
    for (int i = 0; i < r; i++)
        CHECK_MSG(results[i] == want[i] && strstr(msgs[i], needle[i]), "case %d: %s (%s), expected %s with '%s'", i,
                  fe_status_name(results[i]), msgs[i], fe_status_name(want[i]), needle[i]);
    CHECK_STATUS(fe__net_schema_check(NULL), FE_E_ARG);
}

/* ======================================================================================== */
/* writer                                                                                   */
/* ======================================================================================== */

static const float tiny_f32[6] = {1.5f, -2.25f, 0.0f, 3.0e-8f, -1.0e30f, 42.0f};
static const uint8_t tiny_u8[10] = {0, 1, 2, 127, 128, 200, 253, 254, 255, 7};
static const uint8_t tiny_u8b[3] = {9, 8, 7};

/* A small blob of three tensors (F32 [2,3], U8 [10], U8 [1,1,1,3]) and two metadata keys:
 * the fuzz seed and the writer's golden file. */
static void tiny_tensors(fe__tensor t[3], uint8_t f32le[24]) {
    memset(t, 0, 3 * sizeof *t);
    for (int i = 0; i < 6; i++) fe__wr_f32le(f32le + 4 * i, tiny_f32[i]);
    snprintf(t[0].name, sizeof t[0].name, "a/w");
    t[0].dtype = FE_DTYPE_F32; t[0].ndim = 2; t[0].dims[0] = 2; t[0].dims[1] = 3; t[0].data = f32le; t[0].nbytes = 24;
    snprintf(t[1].name, sizeof t[1].name, "a/b-1.q");
    t[1].dtype = FE_DTYPE_U8; t[1].ndim = 1; t[1].dims[0] = 10; t[1].data = tiny_u8; t[1].nbytes = 10;
    t[1].scale = 0.0078125; t[1].min = -1.0;
    snprintf(t[2].name, sizeof t[2].name, "Z");
    t[2].dtype = FE_DTYPE_U8; t[2].ndim = 4; t[2].dims[0] = t[2].dims[1] = t[2].dims[2] = 1; t[2].dims[3] = 3;
    t[2].data = tiny_u8b; t[2].nbytes = 3; t[2].scale = 1e-9; t[2].min = 5e-7;
}
static const char tiny_meta[] = "arch=tiny-test\nnote=a=b \xc3\xbc\n";

FE_TEST(blob_writer_roundtrip_and_golden) {
    fe__tensor tt[3];
    uint8_t f32le[24];
    tiny_tensors(tt, f32le);
    uint8_t *a, *a2;
    size_t na, na2;
    CHECK_OK(fe__blob_write_memory(tt, 3, tiny_meta, sizeof tiny_meta - 1, &a, &na));
    CHECK_OK(fe__blob_write_memory(tt, 3, tiny_meta, sizeof tiny_meta - 1, &a2, &na2));
    int same = na == na2 && memcmp(a, a2, na) == 0;
    fe__free(a2);
    /* golden: the committed fuzz seed is exactly this blob (writer determinism across builds) */
    if (getenv("FE_WRITE_SEEDS")) fe_t_write_file(TINY_SEED, a, na);
    size_t ng;
    uint8_t *g = fe_t_read_file(TINY_SEED, &ng);
    int is_golden = g && ng == na && memcmp(g, a, na) == 0;
    free(g);
    fe__blob *b;
    fe_status st = fe__blob_open_memory(a, na, 1, &b);
    fe__free(a);
    CHECK_OK(st);
    float out[10];
    int fields = fe__blob_n_tensors(b) == 3 && na == 768;  /* 128 + 3*128 + 27 -> 576, + 192 data */
    for (int i = 0; i < 3; i++) {
        const fe__tensor *r = fe__blob_tensor(b, (size_t)i);
        fields &= strcmp(r->name, tt[i].name) == 0 && r->dtype == tt[i].dtype && r->ndim == tt[i].ndim &&
                  r->nbytes == tt[i].nbytes && memcmp(r->data, tt[i].data, (size_t)tt[i].nbytes) == 0 &&
                  r->scale == tt[i].scale && r->min == tt[i].min && fe__blob_find(b, tt[i].name) == r &&
                  ((uintptr_t)r->data % 64) == 0;
        for (uint32_t k = 0; k < 4; k++) fields &= r->dims[k] == (k < tt[i].ndim ? tt[i].dims[k] : 1);
    }
    CHECK_OK(fe__tensor_to_f32(fe__blob_tensor(b, 0), out, 6));
    int f32_ok = memcmp(out, tiny_f32, sizeof tiny_f32) == 0;
    CHECK_OK(fe__tensor_to_f32(fe__blob_tensor(b, 1), out, 10));
    /* scale 2^-7, min -1: every value is exact, so plain expectations */
    int u8_ok = out[0] == -1.0f && out[4] == 0.0f && out[8] == 255.0f / 128.0f - 1.0f;
    const char *note = fe__blob_meta(b, "note");
    int meta_ok = note && strcmp(note, "a=b \xc3\xbc") == 0 && fe__blob_meta(b, "nope") == NULL &&
                  fe__blob_n_meta(b) == 2 && fe__blob_find(b, "a") == NULL && fe__blob_find(b, "zz") == NULL;
    fe__blob_close(b);
    CHECK(same && fields && f32_ok && u8_ok && meta_ok);
    CHECK_MSG(is_golden, "%s differs from the writer's output (FE_WRITE_SEEDS=1 rewrites it)", TINY_SEED);
    /* faceres.feb has no padding after its last tensor; this one has 61 bytes of it */
    CHECK_OK(fe__blob_write_memory(tt, 3, tiny_meta, sizeof tiny_meta - 1, &a, &na));
    a[na - 1] = 1;
    st = fe__blob_open_memory(a, na, 1, &b);
    fe__free(a);
    CHECK_STATUS(st, FE_E_CORRUPT);
    CHECK(strstr(fe_last_error(), "after the last tensor"));
    /* an empty blob is valid */
    CHECK_OK(fe__blob_write_memory(NULL, 0, NULL, 0, &a, &na));
    st = fe__blob_open_memory(a, na, 1, &b);
    fe__free(a);
    CHECK_OK(st);
    CHECK(fe__blob_n_tensors(b) == 0 && fe__blob_n_meta(b) == 0 && na == 128);
    fe__blob_close(b);
}

FE_TEST(blob_writer_rejects_bad_input) {
    fe__tensor tt[3];
    uint8_t f32le[24], *out;
    size_t n;
    tiny_tensors(tt, f32le);
    static char key65[80];
    memset(key65, 'k', 65);
    memcpy(key65 + 65, "=1\n", 4);
    struct { const char *what; fe_status want; const char *meta; } c[] = {
        {"name of 48 bytes", FE_E_ARG, NULL},
        {"name with a space", FE_E_CORRUPT, NULL},
        {"zero dim", FE_E_ARG, NULL},
        {"nbytes mismatch", FE_E_ARG, NULL},
        {"dtype 9", FE_E_ARG, NULL},
        {"NaN min", FE_E_CORRUPT, NULL},
        {"F32 NaN data", FE_E_NUMERIC, NULL},
        {"duplicate names", FE_E_DUPLICATE, NULL},
        {"metadata without newline", FE_E_CORRUPT, "arch=x"},
        {"metadata key with upper case", FE_E_CORRUPT, "Arch=x\n"},
        {"metadata empty key", FE_E_CORRUPT, "=x\n"},
        {"metadata empty line", FE_E_CORRUPT, "a=1\n\n"},
        {"metadata key of 65 bytes", FE_E_CORRUPT, key65},
        {"metadata overlong UTF-8", FE_E_CORRUPT, "a=\xc0\x80\n"},
        {"metadata surrogate", FE_E_CORRUPT, "a=\xed\xa0\x80\n"},
        {"metadata above U+10FFFF", FE_E_CORRUPT, "a=\xf4\x90\x80\x80\n"},
        {"metadata truncated sequence", FE_E_CORRUPT, "a=\xe2\x82\n"},
        {"metadata tab", FE_E_CORRUPT, "a=x\ty\n"},
        {"metadata DEL", FE_E_CORRUPT, "a=x\x7fy\n"},
        {"metadata CR", FE_E_CORRUPT, "a=x\r\n"},
        {"metadata duplicate key", FE_E_DUPLICATE, "a=1\nb=2\na=3\n"},
        {"metadata 4-byte UTF-8 and '=' in a value", FE_OK, "a=\xf0\x9f\x98\x80==\nb=\n"},
    };
    size_t nc = sizeof c / sizeof c[0];
    static char long_value[1100 + 8];
    for (size_t i = 0; i < nc; i++) {
        fe__tensor m[3];
        memcpy(m, tt, sizeof m);
        float nan_data[6];
        memcpy(nan_data, tiny_f32, sizeof nan_data);
        switch (i) {
        case 0: memset(m[0].name, 'a', FE_BLOB_NAME_LEN); break;
        case 1: m[0].name[1] = ' '; break;
        case 2: m[0].dims[1] = 0; break;
        case 3: m[1].nbytes = 9; break;
        case 4: m[1].dtype = (fe__dtype)9; break;
        case 5: m[1].min = NAN; break;
        case 6: nan_data[2] = NAN; m[0].data = (const uint8_t *)nan_data; break;
        case 7: memcpy(m[2].name, m[0].name, sizeof m[0].name); break;
        default: break;
        }
        const char *meta = c[i].meta ? c[i].meta : tiny_meta;
        fe_status st = fe__blob_write_memory(m, 3, meta, strlen(meta), &out, &n);
        if (st == FE_OK) fe__free(out);
        CHECK_MSG(st == c[i].want, "%s: got %s (%s), expected %s", c[i].what, fe_status_name(st), fe_last_error(),
                  fe_status_name(c[i].want));
        CHECK(st == FE_OK || out == NULL);
    }
    /* caps: 257 lines, a value of 1025 bytes */
    char *many = malloc(257 * 8 + 1);
    CHECK(many);
    size_t len = 0;
    for (int i = 0; i < 257; i++) len += (size_t)sprintf(many + len, "k%03d=1\n", i);
    fe_status st = fe__blob_write_memory(tt, 3, many, len, &out, &n);
    free(many);
    CHECK_STATUS(st, FE_E_LIMIT);
    memcpy(long_value, "v=", 2);
    memset(long_value + 2, 'x', 1025);
    long_value[1027] = '\n';
    CHECK_STATUS(fe__blob_write_memory(tt, 3, long_value, 1028, &out, &n), FE_E_CORRUPT);
    CHECK_STATUS(fe__blob_write_memory(tt, 3, tiny_meta, FE_BLOB_MAX_META + 1, &out, &n), FE_E_LIMIT);
}

/* ======================================================================================== */
/* allocation faults                                                                        */
/* ======================================================================================== */

FE_TEST(blob_alloc_failures) {
    size_t n;
    uint8_t *orig = fe_t_read_file(FACERES, &n);
    CHECK(orig);
    int steps_mem = -1, steps_file = -1, steps_write = -1;
    fe_status bad = FE_OK;
    for (long k = 0; k < 64 && steps_mem < 0; k++) {
        fe__blob *b = NULL;
        fe__alloc_fail_after(k);
        fe_status st = fe__blob_open_memory(orig, n, 1, &b);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) {
            st = fe__net_schema_check(b);
            steps_mem = (int)k;
        } else if (st != FE_E_NOMEM || b) {
            bad = st;
        }
        fe__blob_close(b);
    }
    free(orig);
    for (long k = 0; k < 64 && steps_file < 0; k++) {
        fe__blob *b = NULL;
        fe__alloc_fail_after(k);
        fe_status st = fe__blob_open_file(FACERES, 0, &b);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) steps_file = (int)k;
        else if (st != FE_E_NOMEM || b) bad = st;
        fe__blob_close(b);
    }
    fe__tensor tt[3];
    uint8_t f32le[24];
    tiny_tensors(tt, f32le);
    for (long k = 0; k < 64 && steps_write < 0; k++) {
        uint8_t *out = NULL;
        size_t size;
        fe__alloc_fail_after(k);
        fe_status st = fe__blob_write_memory(tt, 3, tiny_meta, sizeof tiny_meta - 1, &out, &size);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) steps_write = (int)k;
        else if (st != FE_E_NOMEM || out) bad = st;
        fe__free(out);
    }
    CHECK_MSG(bad == FE_OK, "a failed allocation gave %s: %s", fe_status_name(bad), fe_last_error());
    CHECK(steps_mem > 0 && steps_file > 0 && steps_write > 0);
    NOTE("open_memory %d, open_file %d, write %d allocations, each failure FE_E_NOMEM", steps_mem, steps_file,
         steps_write);
}

/* ======================================================================================== */
/* SHA-256, the converter, the CLI                                                          */
/* ======================================================================================== */

FE_TEST(blob_sha256_vectors) {
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") */
    char hex[65];
    fe__sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    fe__sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    fe__sha256_hex(m448, strlen(m448), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
    /* one million 'a', fed in uneven pieces so the block buffering is exercised */
    fe__sha256 s;
    uint8_t d[32], chunk[997];
    memset(chunk, 'a', sizeof chunk);
    fe__sha256_init(&s);
    size_t left = 1000000;
    for (size_t step = 1; left; step = step % 997 + 61) {
        size_t take = step < left ? step : left;
        if (take > sizeof chunk) take = sizeof chunk;
        fe__sha256_update(&s, chunk, take);
        left -= take;
    }
    fe__sha256_final(&s, d);
    static const uint8_t want[4] = {0xcd, 0xc7, 0x6e, 0x5c};  /* cdc76e5c9914fb92... */
    CHECK(memcmp(d, want, 4) == 0 && d[31] == 0xd0);
}

static const char *tool(const char *name) {
    static char path[512];
    const char *dir = getenv("FE_TOOLS");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "build/rel/tools", name);
    return path;
}

FE_TEST(blob_converter_roundtrip) {
    const char *conv = tool("faceapi2feb");
    FILE *probe = fopen(conv, "rb");
    if (!probe) SKIP("%s is not built (make tools)", conv);
    fclose(probe);
    char out1[600], out2[600], cmd_out[4096];
    snprintf(out1, sizeof out1, "%s/mini1.feb", fe_t_tmpdir());
    snprintf(out2, sizeof out2, "%s/mini2.feb", fe_t_tmpdir());
    const char *args = "--arch test-mini --package faceemd-tests --version 0 --dir " MINI_DIR;
    int rc1 = fe_t_run(cmd_out, sizeof cmd_out, "%s %s %s/mini-weights_manifest.json %s/mini.bin %s 2>&1", conv, args,
                       MINI_DIR, MINI_DIR, out1);
    CHECK_MSG(rc1 == 0, "converter failed: %s", cmd_out);
    CHECK(strstr(cmd_out, "3 tensors (1 F32, 2 U8)"));
    int rc2 = fe_t_run(NULL, 0, "%s %s %s/mini-weights_manifest.json %s/mini.bin %s 2>/dev/null", conv, args, MINI_DIR,
                       MINI_DIR, out2);
    size_t n1, n2;
    uint8_t *a = fe_t_read_file(out1, &n1), *b2 = fe_t_read_file(out2, &n2);
    int same = rc2 == 0 && a && b2 && n1 == n2 && memcmp(a, b2, n1) == 0;
    free(b2);
    CHECK(a);
    fe__blob *b;
    fe_status st = fe__blob_open_memory(a, n1, 1, &b);
    free(a);
    CHECK_OK(st);
    float v[12];
    const fe__tensor *w = fe__blob_find(b, "layer_a/conv/filters"), *bias = fe__blob_find(b, "layer_a/conv/bias"),
                     *fc = fe__blob_find(b, "fc");
    int ok = w && bias && fc && fe__blob_n_tensors(b) == 3 && w->dtype == FE_DTYPE_F32 && w->ndim == 4 &&
             w->dims[0] == 2 && w->dims[3] == 3 && bias->dtype == FE_DTYPE_U8 && bias->scale == 0.5 &&
             bias->min == -1.0 && fc->ndim == 2 && fc->dims[0] == 4 && fc->dims[1] == 2 &&
             fc->scale == 0.0005260649557207145 && fc->min == -0.07101876902229645 &&
             fe__blob_tensor(b, 1) == bias;  /* manifest order kept */
    static const float wf[12] = {0.5f, -1.25f, 3.0e-3f, 1e-30f, -0.0f, 7.0f, 123.456f, -2.5e7f, 0.1f, 0.2f, 0.3f, -0.4f};
    ok = ok && fe__tensor_to_f32(w, v, 12) == FE_OK && memcmp(v, wf, sizeof wf) == 0;
    ok = ok && fe__tensor_to_f32(bias, v, 3) == FE_OK && v[0] == -1.0f && v[1] == 63.0f && v[2] == 126.5f;
    static const uint8_t fq[8] = {0, 1, 2, 3, 250, 251, 254, 255};
    ok = ok && fe__tensor_to_f32(fc, v, 8) == FE_OK;
    for (int i = 0; ok && i < 8; i++)
        ok = v[i] == (float)((double)fq[i] * 0.0005260649557207145 + -0.07101876902229645);
    const char *src = fe__blob_meta(b, "source.bin"), *sha = fe__blob_meta(b, "source.bin.sha256");
    ok = ok && src && strcmp(src, MINI_DIR "/mini.bin") == 0 && sha && strlen(sha) == 64 &&
         strcmp(fe__blob_meta(b, "arch"), "test-mini") == 0 && !fe__blob_meta(b, "license");
    fe__blob_close(b);
    CHECK(ok && same);

    /* hostile manifests: each refused with a message, and the output file never created */
    static char deep[2 * 70 + 1];
    memset(deep, '[', 70);
    memset(deep + 70, ']', 70);
    struct { const char *what, *json, *needle; } bad[] = {
        {"bin larger than described", "[{\"paths\":[\"m.bin\"],\"weights\":[{\"name\":\"x\",\"shape\":[2],\"dtype\":\"float32\"}]}]", "describes 8"},
        {"bin smaller than described", "[{\"paths\":[\"m.bin\"],\"weights\":[{\"name\":\"x\",\"shape\":[100],\"dtype\":\"float32\"}]}]", "needs more"},
        {"trailing comma", "[{\"paths\":[\"m.bin\"],\"weights\":[],}]", "JSON"},
        {"duplicate key", "[{\"paths\":[\"m.bin\"],\"paths\":[\"m.bin\"]}]", "duplicate key"},
        {"unknown field", "[{\"paths\":[\"m.bin\"],\"weights\":[{\"name\":\"x\",\"shape\":[59],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":1,\"min\":0,\"original_dtype\":\"x\"}}]}]", "unknown field"},
        {"int32 dtype", "[{\"paths\":[\"m.bin\"],\"weights\":[{\"name\":\"x\",\"shape\":[59],\"dtype\":\"int32\"}]}]", "only float32"},
        {"uint16 quantization", "[{\"paths\":[\"m.bin\"],\"weights\":[{\"name\":\"x\",\"shape\":[59],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint16\",\"scale\":1,\"min\":0}}]}]", "only uint8"},
        {"fractional dim", "[{\"paths\":[\"m.bin\"],\"weights\":[{\"name\":\"x\",\"shape\":[5.9e1],\"dtype\":\"float32\"}]}]", "dim 0"},
        {"bad name", "[{\"paths\":[\"m.bin\"],\"weights\":[{\"name\":\"a b\",\"shape\":[59],\"dtype\":\"float32\"}]}]", "is not 1..47"},
        {"two shards", "[{\"paths\":[\"a.bin\",\"b.bin\"],\"weights\":[]}]", "exactly one"},
        {"lone surrogate", "[{\"paths\":[\"\\udc00\"]}]", "surrogate"},
        {"bad UTF-8", "[{\"paths\":[\"\xff\"]}]", "UTF-8"},
        {"not JSON", "hello", "JSON"},
        {"deep nesting", deep, "nesting"},
        {"network schema (default arch)", NULL, "schema"},
    };
    size_t nb = sizeof bad / sizeof bad[0];
    char mpath[600], opath[600];
    snprintf(mpath, sizeof mpath, "%s/m.json", fe_t_tmpdir());
    snprintf(opath, sizeof opath, "%s/never.feb", fe_t_tmpdir());
    for (size_t i = 0; i < nb; i++) {
        int rc;
        if (bad[i].json) {
            CHECK(fe_t_write_file(mpath, bad[i].json, strlen(bad[i].json)) == 0);
            rc = fe_t_run(cmd_out, sizeof cmd_out, "%s --arch t %s %s/mini.bin %s 2>&1", conv, mpath, MINI_DIR, opath);
        } else {
            rc = fe_t_run(cmd_out, sizeof cmd_out, "%s %s/mini-weights_manifest.json %s/mini.bin %s 2>&1", conv,
                          MINI_DIR, MINI_DIR, opath);
        }
        FILE *fp = fopen(opath, "rb");
        if (fp) fclose(fp);
        CHECK_MSG(rc == 1 && strstr(cmd_out, bad[i].needle) && !fp, "%s: exit %d, output: %s", bad[i].what, rc,
                  cmd_out);
    }
    CHECK(fe_t_run(NULL, 0, "%s --bogus 2>/dev/null", conv) == 2);
    NOTE("mini manifest converted twice byte-identically; %zu hostile manifests refused", nb);
}

FE_TEST(blob_cli_info_and_verify) {
    const char *cli = fe_t_cli();
    static char out[1 << 16];
    int rc = fe_t_run(out, sizeof out, "%s blob info --json %s", cli, FACERES);
    CHECK_MSG(rc == 0, "blob info exit %d: %s", rc, out);
    CHECK(strstr(out, "\"arch\":\"faceapi-resnet-v1\"") && strstr(out, "\"n_tensors\":117") &&
          strstr(out, "\"name\":\"conv64_down/conv1/conv/filters\",\"dtype\":\"F32\",\"shape\":[3,3,32,64]") &&
          strstr(out, "\"n_params\":5614592"));
    /* the blob's own sha256, as in weights/faceres.feb.sha256 */
    size_t sn;
    char *side = fe_t_read_file(FACERES ".sha256", &sn);
    CHECK(side && sn > 64);
    side[64] = 0;
    char want[100];
    snprintf(want, sizeof want, "\"sha256\":\"%s\"", side);
    free(side);
    CHECK_MSG(strstr(out, want), "no %s in the JSON", want);
    CHECK_MSG(strstr(out, "\"scale\":0.000357687911566566,\"min\":-0.04578405268052045"), "fc scale/min not exact");
    rc = fe_t_run(out, sizeof out, "%s blob info %s", cli, FACERES);
    CHECK(rc == 0 && strstr(out, "conv256_down_out/conv2/scale/biases") && strstr(out, "arch=faceapi-resnet-v1"));
    rc = fe_t_run(out, sizeof out, "%s blob verify %s 2>&1", cli, FACERES);
    CHECK_MSG(rc == 0 && strstr(out, "FE_OK"), "verify: exit %d: %s", rc, out);
    /* a flipped data byte: exit 1, the status name and the tensor in the message */
    size_t n;
    uint8_t *d = fe_t_read_file(FACERES, &n);
    CHECK(d);
    d[n - 64 - 5] ^= 1;  /* inside fc, the last tensor */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad.feb", fe_t_tmpdir());
    int w = fe_t_write_file(bad, d, n);
    free(d);
    CHECK(w == 0);
    rc = fe_t_run(out, sizeof out, "%s blob verify %s 2>&1", cli, bad);
    CHECK_MSG(rc == 1 && strstr(out, "FE_E_CHECKSUM") && strstr(out, "'fc'"), "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s blob verify --json %s", cli, bad);
    CHECK_MSG(rc == 1 && strstr(out, "\"status\":\"FE_E_CHECKSUM\""), "exit %d: %s", rc, out);
    /* info opens without the tensor CRCs, so it still describes the damaged file */
    rc = fe_t_run(out, sizeof out, "%s blob info %s", cli, bad);
    CHECK(rc == 0);
    CHECK(fe_t_run(NULL, 0, "%s blob frobnicate x 2>/dev/null", cli) == 2);
    CHECK(fe_t_run(NULL, 0, "%s blob info 2>/dev/null", cli) == 2);
    CHECK(fe_t_run(NULL, 0, "%s blob verify /nonexistent.feb 2>/dev/null", cli) == 1);
    CHECK(fe_t_run(out, sizeof out, "%s blob --help", cli) == 0 && strstr(out, "verify"));
}
