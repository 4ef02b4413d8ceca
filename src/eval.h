/*
 * eval.h — what the two halves of the evaluation share: eval.c runs the queries (load, align,
 * perturb, embed, stage 1, every stage-2 variant, per-query metrics) and eval_report.c turns
 * the per-query numbers into fe_eval_result (means, bootstrap intervals, fixed/broke examples).
 */
#ifndef FE_EVAL_H
#define FE_EVAL_H

#include "internal.h"

/* One stage-2 variant: an EMD configuration (cfg) plus the cheap knobs K and alpha. */
typedef struct fe__eval_variant {
    uint32_t         grid;
    fe_emd_weighting weighting;
    fe_emd_solver    solver;
    double           epsilon;
    size_t           k;
    double           alpha;
    size_t           cfg;          /* index of (grid, weighting, solver, epsilon)         */
    int              is_default;
    char             name[128];
} fe__eval_variant;

/* Per kind, per query q (0 .. n_q) and column c (0 = stage 1, 1 + v = variant v), at
 * [q * n_cols + c]. Queries that failed have ok[q] = 0. */
typedef struct fe__eval_scores {
    size_t    n_q, n_cols;
    uint8_t  *ok;
    double   *p1, *rp, *map_r;
    uint32_t *top1;
    double   *top1_score;
    double    seconds_embed, seconds_stage1, seconds_stage2;
    size_t    n_failed, n_fallback;
} fe__eval_scores;

/* Everything eval_report.c needs. */
typedef struct fe__eval_tables {
    const fe_gallery       *g;
    const fe_eval_options  *opt;
    const fe__eval_variant *var;
    size_t                  n_var;
    const double           *cfg_seconds;  /* per kind: n_cfg thread-seconds each          */
    size_t                  n_cfg;
    const uint32_t         *query_face;   /* n_q gallery faces                             */
    size_t                  n_q, n_excluded, gallery_faces, gallery_identities;
    const fe__eval_scores  *kind;         /* opt->n_kinds                                  */
} fe__eval_tables;

/* Builds the result (rows, intervals, examples); runs the bootstrap with opt's threads. */
fe_status fe__eval_report(const fe__eval_tables *t, fe_eval_result **out);

#endif
