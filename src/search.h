/*
 * search.h — the pieces of fe_search (search.c) that the evaluation (eval.c) reuses, so a
 * sweep scores stage 1 once per query and then re-ranks the same top K under many stage-2
 * settings with exactly the search's arithmetic and order.
 */
#ifndef FE_SEARCH_H
#define FE_SEARCH_H

#include "gallery.h"

/* A re-ranked candidate: final score and stage-1 position (0-based). */
typedef struct fe__rank_key {
    double   score;
    uint32_t s1;
} fe__rank_key;

/* The final score of faceemd.h: alpha * emd + (1 - alpha) * cos_ (alpha >= 0), emd + cos_
 * (alpha < 0). */
double fe__final_score(double alpha, double emd, double cos_);
/* Sorts k[0..n) by score, higher first, equal scores by lower s1 (tmp: n scratch keys).
 * Bottom-up merge sort: stable and allocation-free (libc's qsort may allocate). */
void fe__rank_sort(fe__rank_key *k, fe__rank_key *tmp, size_t n);
/* Stage 2 of one prepared query against hits[0..K): fills stats[0..K) (S_emd in .similarity)
 * with the grid (4 or 8) and EMD options given, exactly as fe_search does. Uses ws's stage-2
 * buffers (grown on demand); stats must not point into ws. Options are not checked here. */
fe_status fe__stage2_scores(fe_search_workspace *ws, const fe_gallery *g, const fe__prepared *q,
                            const fe_hit *hits, size_t K, int grid, const fe_emd_options *emd,
                            fe_emd_stats *stats);

#endif
