/*
 * cli_blob.c — `faceemd blob info [--json] FILE` and `faceemd blob verify [--json] FILE`:
 * the inspector and the offline validator of .feb weight blobs (weights/FORMAT.md), built on
 * the library's own reader so they accept and reject exactly what fe_model_open does.
 * info opens without the per-tensor CRCs (so it still describes a damaged file); verify runs
 * every check, the network schema, and the FILE.sha256 sidecar when there is one.
 */
#include "cli.h"

#include "blob.h"
#include "net_schema.h"
#include "sha256.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Shortest of %.15g..%.17g that reads back as the same double, so scale/min round-trip
 * exactly and print as the manifest wrote them. */
static void fmt_double(char *buf, size_t cap, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static void print_shape(FILE *fp, const fe__tensor *t) {
    fputc('[', fp);
    for (uint32_t k = 0; k < t->ndim; k++) fprintf(fp, "%s%" PRIu64, k ? "," : "", t->dims[k]);
    fputc(']', fp);
}

static void blob_sha256(const fe__blob *b, char hex[65]) {
    size_t size;
    const uint8_t *bytes = fe__blob_bytes(b, &size);
    fe__sha256_hex(bytes, size, hex);
}

static void info_json(const char *path, const fe__blob *b) {
    const fe__blob_header *h = fe__blob_get_header(b);
    char hex[65], num[40];
    blob_sha256(b, hex);
    printf("{\"file\":");
    cli_json_string(stdout, path);
    printf(",\"sha256\":\"%s\",\"header\":{\"version_major\":%u,\"version_minor\":%u,\"header_size\":%" PRIu32
           ",\"alignment\":%" PRIu32 ",\"file_size\":%" PRIu64 ",\"n_tensors\":%" PRIu32 ",\"dir_offset\":%" PRIu64
           ",\"dir_size\":%" PRIu64 ",\"meta_offset\":%" PRIu64 ",\"meta_size\":%" PRIu64 ",\"data_offset\":%" PRIu64
           ",\"data_size\":%" PRIu64 ",\"header_crc32\":\"0x%08" PRIx32 "\",\"meta_crc32\":\"0x%08" PRIx32 "\"}",
           hex, h->version_major, h->version_minor, h->header_size, h->alignment, h->file_size, h->n_tensors,
           h->dir_offset, h->dir_size, h->meta_offset, h->meta_size, h->data_offset, h->data_size, h->header_crc32,
           h->meta_crc32);
    printf(",\"metadata\":{");
    for (size_t i = 0; i < fe__blob_n_meta(b); i++) {
        const char *k, *v;
        fe__blob_meta_at(b, i, &k, &v);
        if (i) putchar(',');
        cli_json_string(stdout, k);
        putchar(':');
        cli_json_string(stdout, v);
    }
    printf("},\"tensors\":[");
    uint64_t params = 0;
    for (size_t i = 0; i < fe__blob_n_tensors(b); i++) {
        const fe__tensor *t = fe__blob_tensor(b, i);
        params += t->n_elems;
        printf("%s{\"name\":", i ? "," : "");
        cli_json_string(stdout, t->name);
        printf(",\"dtype\":\"%s\",\"shape\":", fe__dtype_name(t->dtype));
        print_shape(stdout, t);
        printf(",\"offset\":%" PRIu64 ",\"nbytes\":%" PRIu64 ",\"crc32\":\"0x%08" PRIx32 "\"", t->file_offset,
               t->nbytes, t->crc32);
        if (t->dtype == FE_DTYPE_U8) {
            fmt_double(num, sizeof num, t->scale);
            printf(",\"scale\":%s", num);
            fmt_double(num, sizeof num, t->min);
            printf(",\"min\":%s", num);
        }
        putchar('}');
    }
    printf("],\"n_params\":%" PRIu64 "}\n", params);
}

static void info_text(const char *path, const fe__blob *b) {
    const fe__blob_header *h = fe__blob_get_header(b);
    char hex[65], sc[40], mn[40];
    blob_sha256(b, hex);
    printf("file          %s\nsha256        %s\n", path, hex);
    printf("format        .feb %u.%u, alignment %" PRIu32 ", %" PRIu64 " bytes\n", h->version_major,
           h->version_minor, h->alignment, h->file_size);
    printf("directory     %" PRIu32 " tensors at byte %" PRIu64 " (%" PRIu64 " bytes)\n", h->n_tensors,
           h->dir_offset, h->dir_size);
    printf("metadata      %zu lines at byte %" PRIu64 " (%" PRIu64 " bytes)\n", fe__blob_n_meta(b), h->meta_offset,
           h->meta_size);
    printf("data          at byte %" PRIu64 " (%" PRIu64 " bytes)\n", h->data_offset, h->data_size);
    printf("checksums     header_crc32 0x%08" PRIx32 ", meta_crc32 0x%08" PRIx32 "\n\nmetadata:\n", h->header_crc32,
           h->meta_crc32);
    for (size_t i = 0; i < fe__blob_n_meta(b); i++) {
        const char *k, *v;
        fe__blob_meta_at(b, i, &k, &v);
        printf("  %s=%s\n", k, v);
    }
    printf("\ntensors:\n  %3s  %-40s %-5s %-15s %10s %9s  %-10s  %s\n", "#", "name", "dtype", "shape", "offset",
           "bytes", "crc32", "scale, min (U8)");
    uint64_t params = 0;
    size_t n_f32 = 0, n = fe__blob_n_tensors(b);
    for (size_t i = 0; i < n; i++) {
        const fe__tensor *t = fe__blob_tensor(b, i);
        char shape[64];
        size_t len = (size_t)snprintf(shape, sizeof shape, "[");
        for (uint32_t k = 0; k < t->ndim && len < sizeof shape; k++)
            len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%" PRIu64, k ? "," : "", t->dims[k]);
        if (len < sizeof shape) snprintf(shape + len, sizeof shape - len, "]");
        params += t->n_elems;
        n_f32 += t->dtype == FE_DTYPE_F32;
        printf("  %3zu  %-40s %-5s %-15s %10" PRIu64 " %9" PRIu64 "  0x%08" PRIx32, i, t->name,
               fe__dtype_name(t->dtype), shape, t->file_offset, t->nbytes, t->crc32);
        if (t->dtype == FE_DTYPE_U8) {
            fmt_double(sc, sizeof sc, t->scale);
            fmt_double(mn, sizeof mn, t->min);
            printf("  %s, %s", sc, mn);
        }
        putchar('\n');
    }
    printf("\n%zu tensors (%zu F32, %zu U8), %" PRIu64 " parameters\n", n, n_f32, n - n_f32, params);
}

static int blob_info(int argc, char **argv) {
    int json = 0;
    const cli_option options[] = {
        {"json", 0, NULL, NULL, &json, "print one JSON object (header, metadata, tensors)"},
        {NULL, 0, NULL, NULL, NULL, NULL}};
    const cli_command command = {
        "blob info", "[--json] FILE",
        "Prints a .feb blob's header fields, metadata and tensor table (name, dtype, shape, file\n"
        "offset, size, CRC-32, and the U8 dequantization scale and min). The structure is fully\n"
        "validated; per-tensor CRCs are not (use 'faceemd blob verify').",
        options, 1, 1};
    int n_pos, rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    fe__blob *b;
    fe_status st = fe__blob_open_file(argv[1], 0, &b);
    if (st != FE_OK) {
        fprintf(stderr, "faceemd: %s: %s: %s\n", argv[1], fe_status_name(st), fe_last_error());
        return CLI_FAIL;
    }
    if (json) info_json(argv[1], b);
    else info_text(argv[1], b);
    fe__blob_close(b);
    return CLI_OK;
}

/* Compares the blob with FILE.sha256 (sha256sum format) if that file exists. 1: no sidecar,
 * 0: matches, -1: differs. */
static int check_sidecar(const char *path, const fe__blob *b, char *msg, size_t cap) {
    size_t len = strlen(path);
    char *side = malloc(len + 8);
    if (!side) return 1;
    snprintf(side, len + 8, "%s.sha256", path);
    FILE *fp = fopen(side, "rb");
    char line[65] = "";
    size_t got = fp ? fread(line, 1, 64, fp) : 0;
    if (fp) fclose(fp);
    line[got] = 0;
    int rc = 1;
    if (fp) {
        char hex[65];
        blob_sha256(b, hex);
        rc = got == 64 && strcmp(line, hex) == 0 ? 0 : -1;
        snprintf(msg, cap, "%s says %.64s, the file's sha256 is %s", side, line, hex);
    }
    free(side);
    return rc;
}

static int blob_verify(int argc, char **argv) {
    int json = 0, no_schema = 0;
    const cli_option options[] = {
        {"json", 0, NULL, NULL, &json, "print {\"file\", \"ok\", \"status\", \"message\"} on stdout"},
        {"no-schema", 0, NULL, NULL, &no_schema, "check the format only, not the network's tensor list"},
        {NULL, 0, NULL, NULL, NULL, NULL}};
    const cli_command command = {
        "blob verify", "[--json] [--no-schema] FILE",
        "Checks a .feb blob completely: every header field, directory entry, offset and padding\n"
        "byte, the header, metadata and per-tensor CRC-32s, finite F32 values, the network schema\n"
        "(" FE_NET_ARCH ": 117 tensors with exact shapes), and FILE.sha256 when present.\n"
        "Exit status 0 when all pass, 1 otherwise, with the status name and what failed.",
        options, 1, 1};
    int n_pos, rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    const char *path = argv[1];
    fe__blob *b = NULL;
    char sidemsg[300] = "";
    int side = 1;
    fe__clear_error();
    fe_status st = fe__blob_open_file(path, 1, &b);
    if (st == FE_OK && !no_schema) st = fe__net_schema_check(b);
    if (st == FE_OK && (side = check_sidecar(path, b, sidemsg, sizeof sidemsg)) < 0) st = FE_E_CHECKSUM;
    const char *message = side < 0 ? sidemsg : fe_last_error();
    char summary[400] = "";
    if (st == FE_OK) {
        uint64_t params = 0;
        for (size_t i = 0; i < fe__blob_n_tensors(b); i++) params += fe__blob_tensor(b, i)->n_elems;
        snprintf(summary, sizeof summary, "%zu tensors, %" PRIu64 " parameters; structure, padding, header, "
                 "metadata and every tensor CRC-32 match%s%s%s", fe__blob_n_tensors(b), params,
                 no_schema ? "" : "; schema " FE_NET_ARCH " complete", side == 0 ? "; sha256 matches " : "",
                 side == 0 ? "the .sha256 file" : "");
        message = summary;
    }
    if (json) {
        printf("{\"file\":");
        cli_json_string(stdout, path);
        printf(",\"ok\":%s,\"status\":\"%s\",\"message\":", st == FE_OK ? "true" : "false", fe_status_name(st));
        cli_json_string(stdout, message);
        printf("}\n");
    } else if (st == FE_OK) {
        printf("FE_OK: %s: %s\n", path, message);
    } else {
        fprintf(stderr, "faceemd: %s: %s: %s\n", path, fe_status_name(st), message);
    }
    fe__blob_close(b);
    return st == FE_OK ? CLI_OK : CLI_FAIL;
}

static void blob_help(FILE *fp) {
    fprintf(fp, "usage: faceemd blob info [--json] FILE\n"
                "       faceemd blob verify [--json] [--no-schema] FILE\n\n"
                "Inspects or checks a .feb weight blob (weights/FORMAT.md).\n\n"
                "  info     header fields, metadata and the tensor table\n"
                "  verify   every check the format defines, the CRCs and the network schema;\n"
                "           exit 0 if the blob is sound, 1 with the status name otherwise\n\n"
                "'faceemd blob COMMAND --help' describes each command's options.\n");
}

FE_VERB(blob, "inspect (info) or fully check (verify) a .feb weight blob") {
    if (argc < 2) {
        blob_help(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        blob_help(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "info") == 0) return blob_info(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0) return blob_verify(argc - 1, argv + 1);
    return cli_usage_error("blob", "unknown command '%s' (info or verify)", argv[1]);
}
