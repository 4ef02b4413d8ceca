/*
 * metrics.h — identification metrics of the DeepFace-EMD protocol (METHOD.md "Metrics"):
 * P@1, R-Precision and MAP@R per query, their means, and a bootstrap confidence interval.
 *
 * R is the number of gallery images of the query's identity, NOT counting the query's own
 * clean original (which the protocol removes from the gallery). The paper's public code
 * counts R including that image; we report the correct R and say so. A query with R = 0 has
 * nothing to find: it is excluded from all three means and counted separately.
 */
#ifndef FE_METRICS_H
#define FE_METRICS_H

#include "internal.h"

typedef struct fe__query_metrics {
    double   p1;      /* 1 if the first result has the query's identity                    */
    double   rp;      /* correct results among the first R, divided by R                   */
    double   map_r;   /* (1/R) * sum over correct positions k <= R of precision@k          */
    uint32_t r;       /* relevant gallery images                                           */
    int      valid;   /* 0 when r == 0 (excluded from means)                               */
} fe__query_metrics;

/* ranked[0..n_ranked) are the identity ids of the gallery in ranked order (best first, the
 * query's own original already removed). Positions past n_ranked count as wrong, so a list
 * shorter than R (R larger than the re-ranked K) is scored correctly. */
fe__query_metrics fe__metrics_query(const uint32_t *ranked, size_t n_ranked, uint32_t query_id,
                                    uint32_t r);

/* Percentile bootstrap (n_boot resamples with replacement, deterministic for seed) of the
 * mean of v[0..n): writes the 2.5 % and 97.5 % quantiles. n == 0 gives NaN bounds. */
fe_status fe__bootstrap_mean_ci(const double *v, size_t n, int n_boot, uint64_t seed,
                                double *lo, double *hi);

/* splitmix64: a tiny, well-mixed PRNG step (Steele, Lea, Flood 2014). */
static inline uint64_t fe__splitmix64(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

#endif
