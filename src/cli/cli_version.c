/*
 * cli_version.c — `faceemd version`: version and build facts (OpenMP, GEMM kernel).
 */
#include "cli.h"

static const cli_option options[] = {{NULL, 0, NULL, NULL, NULL, NULL}};
static const cli_command command = {
    "version", "", "Prints the version and how this binary was built.", options, 0, 0};

FE_VERB(version, "print version and build information") {
    int n_pos;
    int rc = cli_parse(&command, argc, argv, &n_pos);
    if (rc >= 0) return rc;
    printf("%s\n", fe_build_info());
    return CLI_OK;
}
