/*
 * cli_search.h — the search options every command that searches shares (query, demo, eval):
 * --K, --grid, --weights, --alpha, --solver, read into fe_search_options the same way, and
 * their names for printing.
 */
#ifndef FE_CLI_SEARCH_H
#define FE_CLI_SEARCH_H

#include "cli.h"

typedef struct cli_search_args {
    const char *K, *grid, *weights, *alpha, *solver;   /* option values as given, or NULL */
} cli_search_args;

/* The cli_option rows for these five options (append them to a command's table). */
#define CLI_SEARCH_OPTIONS(sa)                                                                   \
    {"K", 0, "N", &(sa).K, NULL, "stage-1 candidates re-ranked by EMD (default 100; 0: stage 1 only)"}, \
    {"grid", 0, "4|8", &(sa).grid, NULL, "patch grid of stage 2: 4 (4x4x256, default) or 8 (8x8x128)"}, \
    {"weights", 0, "W", &(sa).weights, NULL, "patch weights: uniform, sc or apc (default)"},    \
    {"alpha", 0, "A", &(sa).alpha, NULL, "score = A*S_emd + (1-A)*S_cos, A in [0,1] (default 0.7); 'sum': S_emd + S_cos"}, \
    {"solver", 0, "S", &(sa).solver, NULL, "sinkhorn (default, the paper's) or exact"}

/* Fills o (from fe_search_options_default) with the given values. Returns CLI_OK, or prints
 * a usage error naming cmd and returns CLI_USAGE. */
int cli_search_options(const char *cmd, const cli_search_args *sa, fe_search_options *o);

const char *cli_weights_name(fe_emd_weighting w);
const char *cli_solver_name(fe_emd_solver s);
/* "alpha 0.7" or "sum", for headings. */
const char *cli_alpha_text(double alpha, char *buf, size_t cap);

#endif
