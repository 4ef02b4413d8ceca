/*
 * cli_search.c — shared parsing of the search options (declared in cli_search.h). No verb.
 */
#include "cli_search.h"

#include <string.h>

const char *cli_weights_name(fe_emd_weighting w) {
    return w == FE_EMD_UNIFORM ? "uniform" : w == FE_EMD_SC ? "sc" : "apc";
}

const char *cli_solver_name(fe_emd_solver s) { return s == FE_EMD_EXACT ? "exact" : "sinkhorn"; }

const char *cli_alpha_text(double alpha, char *buf, size_t cap) {
    if (alpha < 0) snprintf(buf, cap, "sum");
    else snprintf(buf, cap, "alpha %g", alpha);
    return buf;
}

int cli_search_options(const char *cmd, const cli_search_args *sa, fe_search_options *o) {
    fe_search_options_default(o);
    long v;
    char what[64];
    if (sa->K) {
        snprintf(what, sizeof what, "%s: --K", cmd);
        if (!cli_parse_long(sa->K, 0, (long)FE_MAX_GALLERY, what, &v)) return CLI_USAGE;
        o->rerank_k = (size_t)v;
    }
    if (sa->grid) {
        if (strcmp(sa->grid, "4") && strcmp(sa->grid, "8"))
            return cli_usage_error(cmd, "--grid must be 4 or 8, got '%s'", sa->grid);
        o->grid = (uint32_t)(sa->grid[0] - '0');
    }
    if (sa->weights) {
        if (!strcmp(sa->weights, "uniform")) o->emd.weighting = FE_EMD_UNIFORM;
        else if (!strcmp(sa->weights, "sc")) o->emd.weighting = FE_EMD_SC;
        else if (!strcmp(sa->weights, "apc")) o->emd.weighting = FE_EMD_APC;
        else return cli_usage_error(cmd, "--weights must be uniform, sc or apc, got '%s'", sa->weights);
    }
    if (sa->solver) {
        if (!strcmp(sa->solver, "sinkhorn")) o->emd.solver = FE_EMD_SINKHORN;
        else if (!strcmp(sa->solver, "exact")) o->emd.solver = FE_EMD_EXACT;
        else return cli_usage_error(cmd, "--solver must be sinkhorn or exact, got '%s'", sa->solver);
    }
    if (sa->alpha) {
        if (!strcmp(sa->alpha, "sum")) {
            o->alpha = -1;
        } else {
            double a;
            snprintf(what, sizeof what, "%s: --alpha", cmd);
            if (!cli_parse_float(sa->alpha, 0, 1, what, &a)) return CLI_USAGE;
            o->alpha = a;
        }
    }
    return CLI_OK;
}
