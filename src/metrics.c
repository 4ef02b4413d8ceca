/*
 * metrics.c — P@1, R-Precision, MAP@R (Musgrave et al. 2020, as used by DeepFace-EMD) and a
 * percentile bootstrap for the confidence interval of a mean (e.g. stage-2 minus stage-1).
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

fe__query_metrics fe__metrics_query(const uint32_t *ranked, size_t n_ranked, uint32_t query_id,
                                    uint32_t r) {
    fe__query_metrics m = {0, 0, 0, r, 0};
    if (r == 0) return m;
    m.valid = 1;
    m.p1 = (n_ranked > 0 && ranked[0] == query_id) ? 1.0 : 0.0;
    size_t limit = n_ranked < r ? n_ranked : r;
    uint32_t hits = 0;
    double ap = 0;
    for (size_t k = 0; k < limit; k++) {
        if (ranked[k] != query_id) continue;
        hits++;
        ap += (double)hits / (double)(k + 1);
    }
    m.rp = (double)hits / (double)r;
    m.map_r = ap / (double)r;
    return m;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

fe_status fe__bootstrap_mean_ci(const double *v, size_t n, int n_boot, uint64_t seed,
                                double *lo, double *hi) {
    *lo = *hi = NAN;
    if (n == 0) return FE_OK;
    if (n_boot < 10) return fe__fail(FE_E_ARG, "need at least 10 bootstrap resamples, got %d", n_boot);
    double *means = fe__malloc((size_t)n_boot * sizeof *means);
    if (!means) return fe__fail(FE_E_NOMEM, "cannot allocate %d bootstrap means", n_boot);
    uint64_t state = seed;
    for (int b = 0; b < n_boot; b++) {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            /* multiply-shift maps 64 random bits to [0, n) without modulo bias worth noting */
            uint64_t x = fe__splitmix64(&state) >> 32;
            s += v[(size_t)((x * (uint64_t)n) >> 32)];
        }
        means[b] = s / (double)n;
    }
    qsort(means, (size_t)n_boot, sizeof *means, cmp_double);
    /* nearest-rank quantiles */
    size_t ilo = (size_t)floor(0.025 * (double)(n_boot - 1) + 0.5);
    size_t ihi = (size_t)floor(0.975 * (double)(n_boot - 1) + 0.5);
    *lo = means[ilo];
    *hi = means[ihi];
    fe__free(means);
    return FE_OK;
}
