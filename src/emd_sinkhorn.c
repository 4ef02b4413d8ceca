/*
 * emd_sinkhorn.c — entropic OT exactly as METHOD.md ("Solver"): K = exp(-c/eps), r = c = 1,
 * r = a / (K c), c = b / (K^T r), stop when mean|r - r_prev| < thr (at most max_iter), plan
 * T = diag(r) K diag(c). Portable kernels (the reference for emd_avx2.c), the log-domain
 * variant taken when the plain iteration under/overflows, and fe_emd_sinkhorn.
 *
 * Layout and the r' = sigma r rescaling: see fe__sk in emd.h. All arithmetic is double.
 */
#define _POSIX_C_SOURCE 200809L
#include "emd.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void fe_emd_options_default(fe_emd_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->weighting = FE_EMD_APC;
    opt->solver = FE_EMD_SINKHORN;
    opt->epsilon = 0.05;
    opt->max_iter = 100;
    opt->stop_threshold = 0.1;
    opt->log_domain = 0;
}

fe__emd_kernel fe__emd_kernel_pick(void) {
    const char *env = getenv("FE_KERNEL");
    if (env && strcmp(env, "ref") == 0) return FE__EMD_REF;
#if FE__EMD_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return FE__EMD_AVX2;
#endif
    return FE__EMD_REF;
}

/* ---- problem layout --------------------------------------------------------------------- */

static size_t round4(size_t x) { return (x + 3) & ~(size_t)3; }

size_t fe__sk_doubles(size_t n, size_t m) {
    size_t pp, np = round4(n), mp = round4(m), t, x;
    if (n == 0 || m == 0 || np < n || mp < m) return 0;
    /* s, K: np*mp each; a, r: np; b, c: mp; work: 2(np + mp) */
    if (!fe__mul_size(np, mp, &pp) || !fe__mul_size(pp, 2, &t)) return 0;
    if (!fe__add_size(np, mp, &x) || !fe__mul_size(x, 4, &x) || !fe__add_size(t, x, &t)) return 0;
    return t;
}

void fe__sk_bind(fe__sk *p, double *mem, size_t n, size_t m) {
    size_t np = round4(n), mp = round4(m);
    memset(p, 0, sizeof *p);
    p->n = n, p->m = m, p->np = np, p->mp = mp;
    p->s = mem;      mem += np * mp;
    p->K = mem;      mem += np * mp;
    p->a = mem;      mem += np;
    p->r = mem;      mem += np;
    p->b = mem;      mem += mp;
    p->c = mem;      mem += mp;
    p->work = mem;
}

/* Both loads also set cmin = min(1 - s) = 1 - max s (the rounding of 1 - s is monotone). */
int fe__sk_load_f64(fe__sk *p, const double *s, size_t lds) {
    p->kready = 0;
    double total = 0, smax = -INFINITY, smin = INFINITY;
    for (size_t i = 0; i < p->np; i++)
        for (size_t j = 0; j < p->mp; j++) {
            int real = i < p->n && j < p->m;
            double v = real ? s[i * lds + j] : 0.0;
            p->s[i * p->mp + j] = v;
            total += v;
            if (real && v > smax) smax = v;
            if (real && v < smin) smin = v;
        }
    p->cmin = 1.0 - smax;
    p->cmax = 1.0 - smin;
    return isfinite(total);   /* any NaN or Inf makes the sum non-finite */
}

/* The portable load: element (i, j) of the similarity block is s[i * rs + j * cs] (row-major
 * when cs = 1, the transposed GEMM output when rs = 1). Pads to np x mp with zeros and notes
 * the cost range of the real part. */
static int load_strided(fe__sk *p, const float *s, size_t rs, size_t cs) {
    p->kready = 0;
    double total = 0, smax = -INFINITY, smin = INFINITY;
    for (size_t i = 0; i < p->np; i++)
        for (size_t j = 0; j < p->mp; j++) {
            int real = i < p->n && j < p->m;
            double v = real ? (double)s[i * rs + j * cs] : 0.0;
            p->s[i * p->mp + j] = v;
            total += v;
            if (real && v > smax) smax = v;
            if (real && v < smin) smin = v;
        }
    p->cmin = 1.0 - smax;
    p->cmax = 1.0 - smin;
    return isfinite(total);
}

int fe__sk_load_f32(fe__sk *p, fe__emd_kernel kern, const float *s, size_t lds) {
    p->kready = 0;
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) return fe__sk_load_f32_avx2(p, s, lds);
#else
    (void)kern;
#endif
    return load_strided(p, s, lds, 1);
}

int fe__sk_load_f32t(fe__sk *p, fe__emd_kernel kern, const float *t, size_t ldt, double eps) {
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) return fe__sk_load_f32t_avx2(p, t, ldt, eps);
#else
    (void)kern;
#endif
    (void)eps;
    return load_strided(p, t, 1, ldt);
}

/* K' from p->s with libm exp: the reference kernel. */
static void kernel_ref(fe__sk *p) {
    const size_t n = p->n, m = p->m, np = p->np, mp = p->mp;
    const double inv_eps = 1.0 / p->eps;
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < mp; j++)
            p->K[i * mp + j] = (i < n && j < m)
                ? exp((p->cmin - (1.0 - p->s[i * mp + j])) * inv_eps) : 1.0;
}

void fe__sk_prepare(fe__sk *p, fe__emd_kernel kern, const double *a, const double *b,
                    double eps) {
    p->eps = eps;
    for (size_t i = 0; i < p->np; i++) p->a[i] = i < p->n ? a[i] : 0.0;
    for (size_t j = 0; j < p->mp; j++) p->b[j] = j < p->m ? b[j] : 0.0;
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) {
        fe__sk_kernel_avx2(p);
        return;
    }
#else
    (void)kern;
#endif
    kernel_ref(p);
}

void fe__sk_prepare_f32(fe__sk *p, fe__emd_kernel kern, const double *a, const double *b,
                        double eps) {
#if FE__EMD_HAVE_AVX2
    /* float exp while every exponent -(c - cmin)/eps stays above float's -87 */
    if (kern == FE__EMD_AVX2 && (p->cmax - p->cmin) / eps <= 80.0) {
        p->eps = eps;
        for (size_t i = 0; i < p->np; i++) p->a[i] = i < p->n ? a[i] : 0.0;
        for (size_t j = 0; j < p->mp; j++) p->b[j] = j < p->m ? b[j] : 0.0;
        if (!p->kready) fe__sk_kernel_fast_avx2(p);   /* else the load made it, with this eps */
        return;
    }
#endif
    fe__sk_prepare(p, kern, a, b, eps);
}

/* ---- plain iterations -------------------------------------------------------------------- */

double fe__sk_start(fe__sk *p) {
    /* c = 1 and r_prev = 1 in the paper's scale, i.e. r'_prev = sigma; padding 0 */
    const double sigma = exp(-p->cmin / p->eps);
    for (size_t i = 0; i < p->np; i++) p->r[i] = i < p->n ? sigma : 0.0;
    for (size_t j = 0; j < p->mp; j++) p->c[j] = j < p->m ? 1.0 : 0.0;
    return sigma;
}

int fe__sk_step_ref(fe__sk *p, double *change) {
    const size_t n = p->n, m = p->m, mp = p->mp;
    const double *K = p->K;
    double *r = p->r, *c = p->c;
    double err = 0, total = 0, lo = INFINITY;
    for (size_t i = 0; i < n; i++) {           /* r = a / (K' c) */
        double u = 0;
        for (size_t j = 0; j < m; j++) u += K[i * mp + j] * c[j];
        double rn = p->a[i] / u;
        lo = u < lo ? u : lo;
        err += fabs(rn - r[i]);
        total += rn;
        r[i] = rn;
    }
    for (size_t j = 0; j < m; j++) {           /* c = b / (K'^T r) */
        double v = 0;
        for (size_t i = 0; i < n; i++) v += K[i * mp + j] * r[i];
        c[j] = p->b[j] / v;
        lo = v < lo ? v : lo;
        total += c[j];
    }
    *change = err / (double)n;
    /* r, c >= 0, so a finite total means no Inf/NaN; a sum below DBL_MIN means the kernel
     * underflowed there and r or c lost their precision */
    return !isfinite(total) || !(lo >= DBL_MIN);
}

int fe__sk_step(fe__sk *p, fe__emd_kernel kern, double *change) {
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) return fe__sk_step_avx2(p, change);
#else
    (void)kern;
#endif
    return fe__sk_step_ref(p, change);
}

uint32_t fe__sk_iterate(fe__sk *p, fe__emd_kernel kern, uint32_t max_iter, double thr,
                        double *last_change, int *fired, int *bad) {
    const double sigma = fe__sk_start(p), thr_scaled = thr * sigma;
    double change = 0;
    uint32_t it = 0;
    *fired = *bad = 0;
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2 && p->np == 16 && p->mp == 16) {
        it = fe__sk_iterate16_avx2(p, max_iter, thr_scaled, &change, fired, bad);
        *last_change = sigma > 0 ? change / sigma : INFINITY;
        return it;
    }
#endif
    while (it < max_iter) {
        it++;
        if (fe__sk_step(p, kern, &change)) {
            *bad = 1;
            break;
        }
        if (thr_scaled > 0 && change < thr_scaled) {
            *fired = 1;
            break;
        }
    }
    *last_change = sigma > 0 ? change / sigma : INFINITY;
    return it;
}

/* ---- log domain --------------------------------------------------------------------------- */

/* log sum_k exp(x_k) over n terms; -inf if all are -inf */
static double logsumexp(const double *x, size_t n) {
    double mx = -INFINITY, s = 0;
    for (size_t k = 0; k < n; k++) mx = x[k] > mx ? x[k] : mx;
    if (mx == -INFINITY) return -INFINITY;
    for (size_t k = 0; k < n; k++) s += exp(x[k] - mx);
    return mx + log(s);
}

/* |e^x - e^y| without forming e^x and e^y when they would overflow separately */
static double exp_absdiff(double x, double y) {
    if (x == y) return 0;
    double hi = x > y ? x : y, lo = x > y ? y : x;
    return exp(hi) * -expm1(lo - hi);
}

/* The same iteration on f = log r, g = log c in the paper's scale, with log-sum-exp sums:
 * log r_i = log a_i - LSE_j(-c_ij/eps + log c_j), log c_j = log b_j - LSE_i(-c_ij/eps +
 * log r_i). Zero masses give -inf potentials, which LSE skips. Scratch: p->work holds
 * f (np), g (mp), and one row/column of terms (max(n, m) <= np + mp). */
uint32_t fe__sk_iterate_log(fe__sk *p, uint32_t max_iter, double thr, double *last_change,
                            int *fired, int *bad) {
    const size_t n = p->n, m = p->m, mp = p->mp;
    const double inv_eps = 1.0 / p->eps;
    double *f = p->work, *g = f + p->np, *t = g + p->mp;
    *fired = 0;
    *bad = 0;
    *last_change = INFINITY;
    for (size_t i = 0; i < n; i++) f[i] = 0;       /* r = 1 */
    for (size_t j = 0; j < m; j++) g[j] = 0;       /* c = 1 */
    for (uint32_t it = 1; it <= max_iter; it++) {
        double err = 0;
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < m; j++) t[j] = -(1.0 - p->s[i * mp + j]) * inv_eps + g[j];
            double fi = log(p->a[i]) - logsumexp(t, m);
            err += exp_absdiff(fi, f[i]);
            f[i] = fi;
        }
        for (size_t j = 0; j < m; j++) {
            for (size_t i = 0; i < n; i++) t[i] = -(1.0 - p->s[i * mp + j]) * inv_eps + f[i];
            g[j] = log(p->b[j]) - logsumexp(t, n);
            if (isnan(g[j]) || g[j] == INFINITY) {
                *bad = 1;
                return it;
            }
        }
        *last_change = err / (double)n;
        if (thr > 0 && *last_change < thr) {
            *fired = 1;
            return it;
        }
    }
    return max_iter;
}

/* ---- plan, similarity, marginals ------------------------------------------------------------ */

/* Shared by both finishing paths: T_ij from the plain scalings or the log potentials. */
static int finish_scalar(fe__sk *p, int log_dom, double *plan, fe_emd_stats *st) {
    const size_t n = p->n, m = p->m, mp = p->mp;
    const double inv_eps = 1.0 / p->eps;
    double *f = p->work, *g = f + p->np, *colsum = g + p->mp;  /* colsum: m <= np + mp */
    double sim = 0, total = 0, merr = 0;
    for (size_t j = 0; j < m; j++) colsum[j] = 0;
    for (size_t i = 0; i < n; i++) {
        double row = 0;
        for (size_t j = 0; j < m; j++) {
            double s = p->s[i * mp + j];
            double tij = log_dom ? exp(f[i] - (1.0 - s) * inv_eps + g[j])
                                 : p->r[i] * p->K[i * mp + j] * p->c[j];
            if (plan) plan[i * m + j] = tij;
            row += tij;
            colsum[j] += tij;
            sim += tij * s;
        }
        total += row;
        merr = fmax(merr, fabs(row - p->a[i]));
    }
    for (size_t j = 0; j < m; j++) merr = fmax(merr, fabs(colsum[j] - p->b[j]));
    st->similarity = sim;
    st->cost = total - sim;   /* sum T (1 - s) */
    st->marginal_error = merr;
    return isfinite(sim) && isfinite(total) && isfinite(merr);
}

int fe__sk_finish(fe__sk *p, fe__emd_kernel kern, int log_dom, double *plan, fe_emd_stats *st) {
    if (log_dom) return finish_scalar(p, 1, plan, st);
#if FE__EMD_HAVE_AVX2
    if (kern == FE__EMD_AVX2) return fe__sk_finish_avx2(p, plan, st);
#else
    (void)kern;
#endif
    return finish_scalar(p, 0, plan, st);
}

fe_status fe__sk_solve_log(fe__sk *p, const fe_emd_options *opt, double *plan, fe_emd_stats *st) {
    double change = 0;
    int fired = 0, bad = 0;
    uint32_t it = fe__sk_iterate_log(p, opt->max_iter, opt->stop_threshold, &change, &fired, &bad);
    if (bad || !fe__sk_finish(p, FE__EMD_REF, 1, plan, st))
        return fe__fail(FE_E_NUMERIC, "Sinkhorn failed in the log domain too (iteration %u, "
                        "epsilon %g)", (unsigned)it, opt->epsilon);
    st->iterations = it;
    st->converged = fired;
    st->last_change = change;
    st->algorithm = FE_EMD_ALG_SINKHORN_LOG;
    return FE_OK;
}

fe_status fe__sk_solve(fe__sk *p, fe__emd_kernel kern, const fe_emd_options *opt, double *plan,
                       fe_emd_stats *st) {
    if (!opt->log_domain) {
        double change = 0;
        int fired = 0, bad = 0;
        uint32_t it = fe__sk_iterate(p, kern, opt->max_iter, opt->stop_threshold, &change,
                                     &fired, &bad);
        if (!bad && fe__sk_finish(p, kern, 0, plan, st)) {
            st->iterations = it;
            st->converged = fired;
            st->last_change = change;
            st->algorithm = FE_EMD_ALG_SINKHORN;
            return FE_OK;
        }
        st->flags |= FE_EMD_FLAG_UNDERFLOW;
    }
    return fe__sk_solve_log(p, opt, plan, st);
}

/* ---- public entry ------------------------------------------------------------------------- */

fe_status fe__emd_check_options(const fe_emd_options *opt) {
    if (opt->size != sizeof *opt)
        return fe__fail(FE_E_ARG, "fe_emd_options.size is %u, expected %zu (use "
                        "fe_emd_options_default)", (unsigned)opt->size, sizeof *opt);
    if ((unsigned)opt->weighting > FE_EMD_APC)
        return fe__fail(FE_E_ARG, "unknown weighting %d", (int)opt->weighting);
    if ((unsigned)opt->solver > FE_EMD_EXACT)
        return fe__fail(FE_E_ARG, "unknown solver %d", (int)opt->solver);
    if (!(opt->epsilon > 0) || !isfinite(opt->epsilon))
        return fe__fail(FE_E_ARG, "epsilon must be positive and finite (got %g)", opt->epsilon);
    if (opt->max_iter < 1 || opt->max_iter > FE_EMD_MAX_ITER)
        return fe__fail(FE_E_ARG, "max_iter must be 1..%u (got %u)", FE_EMD_MAX_ITER,
                        (unsigned)opt->max_iter);
    if (!(opt->stop_threshold >= 0) || !isfinite(opt->stop_threshold))
        return fe__fail(FE_E_ARG, "stop_threshold must be >= 0 and finite (got %g)",
                        opt->stop_threshold);
    return FE_OK;
}

fe_status fe__emd_check_pair(const double *sim, size_t n, size_t m, const double *a,
                             const double *b) {
    if (!sim || !a || !b) return fe__fail(FE_E_ARG, "sim, a and b are required");
    if (n == 0 || m == 0) return fe__fail(FE_E_ARG, "empty problem (%zu x %zu)", n, m);
    if (n > FE_EMD_MAX_PATCHES || m > FE_EMD_MAX_PATCHES)
        return fe__fail(FE_E_LIMIT, "%zu x %zu patches exceed FE_EMD_MAX_PATCHES (%u)", n, m,
                        FE_EMD_MAX_PATCHES);
    for (size_t k = 0; k < n * m; k++)
        if (!isfinite(sim[k]))
            return fe__fail(FE_E_NUMERIC, "similarity [%zu][%zu] is not finite", k / m, k % m);
    double sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(a[i] >= 0) || !isfinite(a[i]))
            return fe__fail(FE_E_ARG, "a[%zu] = %g is not a finite mass >= 0", i, a[i]);
        sa += a[i];
    }
    for (size_t j = 0; j < m; j++) {
        if (!(b[j] >= 0) || !isfinite(b[j]))
            return fe__fail(FE_E_ARG, "b[%zu] = %g is not a finite mass >= 0", j, b[j]);
        sb += b[j];
    }
    if (!(sa > 0) || !(sb > 0) || !isfinite(sa) || !isfinite(sb))
        return fe__fail(FE_E_ARG, "masses must have positive finite sums (a: %g, b: %g)", sa, sb);
    return FE_OK;
}

fe_status fe_emd_sinkhorn(const double *sim, size_t n, size_t m, const double *a,
                          const double *b, const fe_emd_options *opt, double *plan,
                          fe_emd_stats *out_stats) {
    fe_emd_options def;
    if (out_stats) memset(out_stats, 0, sizeof *out_stats);
    if (!out_stats) return fe__fail(FE_E_ARG, "out_stats is required");
    if (!opt) {
        fe_emd_options_default(&def);
        opt = &def;
    }
    fe_status st = fe__emd_check_options(opt);
    if (st == FE_OK) st = fe__emd_check_pair(sim, n, m, a, b);
    if (st != FE_OK) return st;
    size_t nd = fe__sk_doubles(n, m), bytes;
    if (nd == 0 || !fe__mul_size(nd, sizeof(double), &bytes))
        return fe__fail(FE_E_OVERFLOW, "workspace size overflows (%zu x %zu)", n, m);
    double *mem = fe__aligned_alloc(bytes);
    if (!mem) return fe__fail(FE_E_NOMEM, "Sinkhorn workspace of %zu bytes", bytes);
    fe__sk p;
    fe__emd_kernel kern = fe__emd_kernel_pick();
    fe__sk_bind(&p, mem, n, m);
    fe__sk_load_f64(&p, sim, m);   /* finite: checked above */
    fe__sk_prepare(&p, kern, a, b, opt->epsilon);
    st = fe__sk_solve(&p, kern, opt, plan, out_stats);
    fe__aligned_free(mem);
    if (st != FE_OK) memset(out_stats, 0, sizeof *out_stats);
    return st;
}
