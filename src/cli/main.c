/*
 * main.c — faceemd's command dispatcher: `faceemd <command> [options]`.
 *
 * The verb table is generated from the FE_VERB lines of src/cli/cli_*.c (see the Makefile),
 * so `faceemd --help` always lists exactly the commands that exist.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define FE_VERB_ENTRY(name, summary) int cli_##name(int argc, char **argv);
#include "verb_table.h"
#undef FE_VERB_ENTRY

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} verbs[] = {
#define FE_VERB_ENTRY(name, summary) {#name, cli_##name, summary},
#include "verb_table.h"
#undef FE_VERB_ENTRY
};

static void usage(FILE *fp) {
    fprintf(fp, "usage: faceemd <command> [options] [arguments]\n\n"
                "Face identification robust to masks, sunglasses and crops: cosine search on\n"
                "a ResNet descriptor, re-ranked by patch-wise Earth Mover's Distance.\n\n"
                "commands:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(fp, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(fp, "\n'faceemd <command> --help' describes a command. Exit status: 0 success,\n"
                "1 runtime failure, 2 usage error.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s\n", fe_build_info());
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0) return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "faceemd: unknown command '%s' (see 'faceemd --help')\n", argv[1]);
    return CLI_USAGE;
}
