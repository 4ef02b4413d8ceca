/*
 * cli_index.c — `faceemd index <subcommand>`: the gallery index (weights/INDEX-FORMAT.md).
 *
 * Subcommands live in one table (name, summary, function) so `build` and `add` join by adding
 * a row and a function. Each parses its own options with cli_parse under the name
 * "index <sub>", so --help and usage errors name the full command.
 */
#include "cli.h"

#include <string.h>

static const char *dtype_name(fe_gallery_dtype d) { return d == FE_GALLERY_F16 ? "fp16" : "fp32"; }

/* ---- index info ----------------------------------------------------------------------- */

static int index_info(int argc, char **argv) {
    int json = 0, no_crc = 0, n_pos;
    const cli_option options[] = {
        {"json", 0, NULL, NULL, &json, "print one JSON object instead of text"},
        {"no-crc", 0, NULL, NULL, &no_crc, "skip the CRC-32 checks (faster on large indexes)"},
        {NULL, 0, NULL, NULL, NULL, NULL}};
    const cli_command cmd = {
        "index info", "[--json] [--no-crc] FILE.fei",
        "Validates a gallery index and prints its counts, dimensions, storage type, sizes and\n"
        "checksum status. Exit status 1 if the file is damaged (the message names the field).",
        options, 1, 1};
    int rc = cli_parse(&cmd, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    const char *path = argv[1];
    fe_gallery_options opt;
    fe_gallery_options_default(&opt);
    opt.verify_crc = !no_crc;
    fe_gallery *g;
    fe_status st = fe_gallery_load(path, &opt, &g);
    if (st != FE_OK) {
        if (json) {
            printf("{\"file\": ");
            cli_json_string(stdout, path);
            printf(", \"status\": \"%s\", \"error\": ", fe_status_name(st));
            cli_json_string(stdout, fe_last_error());
            printf("}\n");
        }
        return cli_fail(path, st);
    }
    fe_gallery_info in;
    fe_gallery_get_info(g, &in);
    size_t multi = 0;
    for (size_t id = 0; id < in.n_identities; id++) multi += fe_gallery_identity_faces(g, id) >= 2;
    const char *crc = in.checksums_verified ? "ok" : "not checked";
    if (json) {
        printf("{\"file\": ");
        cli_json_string(stdout, path);
        printf(", \"version\": \"%u.%u\", \"faces\": %zu, \"identities\": %zu, \"identities_multi\": %zu, "
               "\"emb_dim\": %u, \"map4\": [4, 4, %u], \"map8\": [8, 8, %u], \"patch_dtype\": \"%s\", "
               "\"bytes\": {\"file\": %llu, \"embeddings\": %llu, \"map4\": %llu, \"map8\": %llu, "
               "\"pooled\": %llu, \"text\": %llu}, \"checksums\": \"%s\", \"meta\": [",
               in.version_major, in.version_minor, in.n_faces, in.n_identities, multi, in.emb_dim,
               in.map4_dim, in.map8_dim, dtype_name(in.patch_dtype), (unsigned long long)in.file_bytes,
               (unsigned long long)in.embedding_bytes, (unsigned long long)in.map4_bytes,
               (unsigned long long)in.map8_bytes, (unsigned long long)in.pooled_bytes,
               (unsigned long long)in.text_bytes, crc);
        for (size_t i = 0; i < fe_gallery_meta_count(g); i++) {
            const char *k, *v;
            fe_gallery_meta_at(g, i, &k, &v);
            printf("%s{\"key\": ", i ? ", " : "");
            cli_json_string(stdout, k);
            printf(", \"value\": ");
            cli_json_string(stdout, v);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("file         %s\n", path);
        printf("format       faceemd gallery index %u.%u\n", in.version_major, in.version_minor);
        printf("faces        %zu\n", in.n_faces);
        printf("identities   %zu (%zu with 2 or more faces)\n", in.n_identities, multi);
        printf("embedding    %u fp32, unit length            %12llu bytes\n", in.emb_dim,
               (unsigned long long)in.embedding_bytes);
        printf("map4         4x4x%u %s, unit cells      %12llu bytes\n", in.map4_dim,
               dtype_name(in.patch_dtype), (unsigned long long)in.map4_bytes);
        printf("map8         8x8x%u %s, unit cells      %12llu bytes\n", in.map8_dim,
               dtype_name(in.patch_dtype), (unsigned long long)in.map8_bytes);
        printf("pooled       %u + %u fp32                  %12llu bytes\n", in.map4_dim, in.map8_dim,
               (unsigned long long)in.pooled_bytes);
        printf("labels/paths                                %12llu bytes\n", (unsigned long long)in.text_bytes);
        printf("file size                                   %12llu bytes\n", (unsigned long long)in.file_bytes);
        printf("checksums    %s\n", in.checksums_verified ? "ok (header and every section, CRC-32)" : crc);
        for (size_t i = 0; i < fe_gallery_meta_count(g); i++) {
            const char *k, *v;
            fe_gallery_meta_at(g, i, &k, &v);
            printf("meta         %s = %s\n", k, v);
        }
    }
    fe_gallery_free(g);
    return CLI_OK;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} subcommands[] = {
    {"info", "validate an index and print its counts, sizes and checksum status", index_info},
    /* "build" (DIR -o FILE.fei) and "add" (FILE.fei IMAGE...) join here with the network */
};

static void index_usage(FILE *fp) {
    fprintf(fp, "usage: faceemd index <subcommand> [options]\n\n"
                "The gallery index: faces with identity labels and the features the search uses.\n\n"
                "subcommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(fp, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(fp, "\n'faceemd index <subcommand> --help' describes one.\n");
}

FE_VERB(index, "build, extend or inspect a gallery index (.fei)") {
    if (argc < 2) {
        index_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        index_usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0) return subcommands[i].run(argc - 1, argv + 1);
    return cli_usage_error("index", "unknown subcommand '%s'", argv[1]);
}
