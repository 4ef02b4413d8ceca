/*
 * emd_weights.c — patch similarities and patch masses of stage 2 (METHOD.md, "Weights"):
 *   uniform  a_i = 1/n, b_j = 1/m
 *   SC       a_i ~ sum_j c_ij, b_j ~ sum_i c_ij                 (c_ij = 1 - s_ij)
 *   APC      a_i ~ max(0, <q_i, g_bar>), b_j ~ max(0, <g_j, q_bar>)
 * each normalised as w / (sum w + 1e-7), the paper's rule. In double from float patches, so a
 * pair computed here matches the float64 fixtures to rounding.
 */
#include "emd.h"

#include <math.h>
#include <string.h>

/* sum_k x_k y_k in double (float products are exact in double) */
static double dot_f64(const float *x, const float *y, size_t d) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t k = 0;
    for (; k + 4 <= d; k += 4) {
        s0 += (double)x[k] * y[k];
        s1 += (double)x[k + 1] * y[k + 1];
        s2 += (double)x[k + 2] * y[k + 2];
        s3 += (double)x[k + 3] * y[k + 3];
    }
    for (; k < d; k++) s0 += (double)x[k] * y[k];
    return (s0 + s1) + (s2 + s3);
}

static double dot_fd(const float *x, const double *y, size_t d) {
    double s = 0;
    for (size_t k = 0; k < d; k++) s += (double)x[k] * y[k];
    return s;
}

static fe_status check_patches(const float *p, size_t n, size_t d, const char *what) {
    if (!p) return fe__fail(FE_E_ARG, "%s patches are required", what);
    if (n == 0 || d == 0) return fe__fail(FE_E_ARG, "%s: %zu patches of dimension %zu", what, n, d);
    if (n > FE_EMD_MAX_PATCHES || d > FE_EMD_MAX_DIM)
        return fe__fail(FE_E_LIMIT, "%s: %zu patches of dimension %zu exceed the caps (%u, %u)",
                        what, n, d, FE_EMD_MAX_PATCHES, FE_EMD_MAX_DIM);
    return FE_OK;
}

fe_status fe_emd_similarity(const float *q, size_t n, const float *g, size_t m, size_t d,
                            double *sim) {
    fe_status st = check_patches(q, n, d, "query");
    if (st == FE_OK) st = check_patches(g, m, d, "candidate");
    if (st != FE_OK) return st;
    if (!sim) return fe__fail(FE_E_ARG, "sim is required");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) sim[i * m + j] = dot_f64(q + i * d, g + j * d, d);
    return FE_OK;
}

/* mean of the rows, L2-normalised, in double */
static fe_status mean_dir(const float *p, size_t n, size_t d, double *out) {
    for (size_t k = 0; k < d; k++) out[k] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++) out[k] += p[i * d + k];
    double nn = 0;
    for (size_t k = 0; k < d; k++) {
        out[k] /= (double)n;
        nn += out[k] * out[k];
    }
    nn = sqrt(nn);
    if (!(nn > 0) || !isfinite(nn))
        return fe__fail(FE_E_NUMERIC, "mean patch has norm %g (all patches cancel, or "
                        "non-finite input)", nn);
    for (size_t k = 0; k < d; k++) out[k] /= nn;
    return FE_OK;
}

fe_status fe_emd_mean_patch(const float *p, size_t n, size_t d, float *out) {
    fe_status st = check_patches(p, n, d, "mean");
    if (st != FE_OK) return st;
    if (!out) return fe__fail(FE_E_ARG, "out is required");
    double *tmp = fe__malloc(d * sizeof *tmp);
    if (!tmp) return fe__fail(FE_E_NOMEM, "%zu doubles", d);
    st = mean_dir(p, n, d, tmp);
    for (size_t k = 0; k < d; k++) out[k] = st == FE_OK ? (float)tmp[k] : 0.0f;
    fe__free(tmp);
    return st;
}

void fe__emd_normalise(double *w, size_t n, uint32_t *flags) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = w[i] > 0 ? w[i] : 0.0;   /* also maps NaN to 0; callers reject NaN earlier */
        s += w[i];
    }
    if (!(s > 0)) {
        for (size_t i = 0; i < n; i++) w[i] = 1.0 / (double)n;
        if (flags) *flags |= FE_EMD_FLAG_UNIFORM_FALLBACK;
        return;
    }
    s += 1e-7;
    for (size_t i = 0; i < n; i++) w[i] /= s;
}

void fe__emd_normalise_k(fe__emd_kernel kern, double *w, size_t n, uint32_t *flags) {
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) {
        fe__emd_normalise_avx2(w, n, flags);
        return;
    }
#else
    (void)kern;
#endif
    fe__emd_normalise(w, n, flags);
}

void fe__emd_sc_raw(const double *s, size_t lds, size_t n, size_t m, double *a, double *b) {
    for (size_t j = 0; j < m; j++) b[j] = 0;
    for (size_t i = 0; i < n; i++) {
        double row = 0;
        for (size_t j = 0; j < m; j++) {
            double c = 1.0 - s[i * lds + j];
            row += c;
            b[j] += c;
        }
        a[i] = row;
    }
}

fe_status fe_emd_weights(fe_emd_weighting w, const double *sim, const float *q, size_t n,
                         const float *g, size_t m, size_t d, const float *q_mean,
                         const float *g_mean, double *a, double *b, uint32_t *out_flags) {
    uint32_t flags = 0;
    if (out_flags) *out_flags = 0;
    if (!a || !b) return fe__fail(FE_E_ARG, "a and b are required");
    if (n == 0 || m == 0) return fe__fail(FE_E_ARG, "empty problem (%zu x %zu)", n, m);
    if (n > FE_EMD_MAX_PATCHES || m > FE_EMD_MAX_PATCHES)
        return fe__fail(FE_E_LIMIT, "%zu x %zu patches exceed FE_EMD_MAX_PATCHES", n, m);
    switch (w) {
    case FE_EMD_UNIFORM:
        for (size_t i = 0; i < n; i++) a[i] = 1.0 / (double)n;
        for (size_t j = 0; j < m; j++) b[j] = 1.0 / (double)m;
        return FE_OK;
    case FE_EMD_SC:
        if (!sim) return fe__fail(FE_E_ARG, "SC weights need the similarity matrix");
        for (size_t k = 0; k < n * m; k++)
            if (!isfinite(sim[k])) return fe__fail(FE_E_NUMERIC, "similarity %zu is not finite", k);
        fe__emd_sc_raw(sim, m, n, m, a, b);
        break;
    case FE_EMD_APC: {
        fe_status st = check_patches(q, n, d, "query");
        if (st == FE_OK) st = check_patches(g, m, d, "candidate");
        if (st != FE_OK) return st;
        double *qbar = fe__malloc(2 * d * sizeof *qbar), *gbar = qbar + d;
        if (!qbar) return fe__fail(FE_E_NOMEM, "%zu doubles", 2 * d);
        if (q_mean) for (size_t k = 0; k < d; k++) qbar[k] = q_mean[k];
        else st = mean_dir(q, n, d, qbar);
        if (st == FE_OK && g_mean) for (size_t k = 0; k < d; k++) gbar[k] = g_mean[k];
        else if (st == FE_OK) st = mean_dir(g, m, d, gbar);
        if (st == FE_OK) {
            for (size_t i = 0; i < n; i++) a[i] = dot_fd(q + i * d, gbar, d);
            for (size_t j = 0; j < m; j++) b[j] = dot_fd(g + j * d, qbar, d);
        }
        fe__free(qbar);
        if (st != FE_OK) return st;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(a[i])) return fe__fail(FE_E_NUMERIC, "APC weight %zu is not finite", i);
        for (size_t j = 0; j < m; j++)
            if (!isfinite(b[j])) return fe__fail(FE_E_NUMERIC, "APC weight %zu is not finite", j);
        break;
    }
    default:
        return fe__fail(FE_E_ARG, "unknown weighting %d", (int)w);
    }
    fe__emd_normalise(a, n, &flags);
    fe__emd_normalise(b, m, &flags);
    if (out_flags) *out_flags = flags;
    return FE_OK;
}
