/*
 * test_emd.c — stage 2 numerics: patch weights, Sinkhorn (plain, log domain, both kernels),
 * exact EMD (assignment, transport), the batched re-rank, against the numpy/POT fixtures in
 * tests/fixtures/emd (table.txt made by tools/emd_fixture_table.py from manifest.json) and
 * against invariants: marginals, EMD(x, x) = 0, brute force over permutations, transport ==
 * assignment, transpose symmetry, optimality certificates. Tolerances sit next to each check.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "emd.h"
#include "emd_synth.h"

#include <float.h>
#include <string.h>

/* ---- fixture table -------------------------------------------------------------------------- */

#define FX_MAX_N 64
#define FX_RECORDS 54   /* 18 cases x 3 weightings */

typedef struct fx_rec {
    char   name[16], kind[16], weighting[8];
    int    n, d;
    double s100, c100, m100, sp;  /* sinkhorn100 similarity, cost, row marginal error; paper */
    int    itp;                    /* paper-recipe iterations */
    double ex_cost, ex_sim;
    double a[FX_MAX_N], b[FX_MAX_N];
    float *q, *g;                  /* n*d patches */
} fx_rec;

static fe_emd_weighting fx_weighting(const fx_rec *r) {
    return strcmp(r->weighting, "sc") == 0 ? FE_EMD_SC
         : strcmp(r->weighting, "apc") == 0 ? FE_EMD_APC : FE_EMD_UNIFORM;
}

static int parse_vec(const char *line, char tag, double *v, int n) {
    if (line[0] != tag || line[1] != ' ') return 0;
    const char *p = line + 2;
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = strtod(p, &end);
        if (end == p) return 0;
        p = end;
    }
    return 1;
}

static void fx_free(fx_rec *r, size_t count) {
    if (!r) return;
    for (size_t i = 0; i < count; i++) {
        free(r[i].q);
        free(r[i].g);
    }
    free(r);
}

/* Loads all 54 records with their patches; NULL (and a FAIL) on any inconsistency. */
static fx_rec *fx_load(fe_test *t, size_t *count) {
    size_t size;
    char *txt = fe_t_read_file("tests/fixtures/emd/table.txt", &size);
    *count = 0;
    if (!txt) {
        fe_t_fail(t, __FILE__, __LINE__, "cannot read tests/fixtures/emd/table.txt");
        return NULL;
    }
    fx_rec *recs = calloc(FX_RECORDS, sizeof *recs);
    size_t k = 0;
    int ok = recs != NULL;
    char *save = NULL;
    for (char *line = strtok_r(txt, "\n", &save); ok && line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        if (k >= FX_RECORDS) { ok = 0; break; }
        fx_rec *r = &recs[k];
        ok = sscanf(line, "case %15s %d %d %15s %7s %lf %lf %lf %lf %d %lf %lf", r->name, &r->n,
                    &r->d, r->kind, r->weighting, &r->s100, &r->c100, &r->m100, &r->sp, &r->itp,
                    &r->ex_cost, &r->ex_sim) == 12 && r->n > 0 && r->n <= FX_MAX_N && r->d > 0;
        char *la = ok ? strtok_r(NULL, "\n", &save) : NULL, *lb = la ? strtok_r(NULL, "\n", &save) : NULL;
        ok = ok && la && lb && parse_vec(la, 'a', r->a, r->n) && parse_vec(lb, 'b', r->b, r->n);
        for (int side = 0; ok && side < 2; side++) {
            char path[256];
            size_t nf;
            snprintf(path, sizeof path, "tests/fixtures/emd/%s.%c.f32", r->name, side ? 'g' : 'q');
            float *v = fe_t_read_f32(path, &nf);
            ok = v && nf == (size_t)r->n * (size_t)r->d;
            if (side) r->g = v; else r->q = v;
            if (!ok) free(v), side ? (r->g = NULL) : (r->q = NULL);
        }
        k++;
    }
    free(txt);
    if (!ok || k != FX_RECORDS) {
        fe_t_fail(t, __FILE__, __LINE__, "fixture table: bad record near %zu (of %d)", k, FX_RECORDS);
        fx_free(recs, k);
        return NULL;
    }
    *count = k;
    return recs;
}

/* s_ij in double as the fixtures (float64 matmul of the float32 patches) */
static double *fx_sim(const fx_rec *r) {
    double *s = malloc((size_t)r->n * r->n * sizeof *s);
    if (s && fe_emd_similarity(r->q, r->n, r->g, r->n, r->d, s) != FE_OK) free(s), s = NULL;
    return s;
}

/* Sinkhorn on a similarity matrix with a chosen kernel (the public entry picks by itself). */
static fe_status sinkhorn_with(fe__emd_kernel kern, const double *sim, size_t n, size_t m,
                               const double *a, const double *b, const fe_emd_options *opt,
                               double *plan, fe_emd_stats *st) {
    size_t nd = fe__sk_doubles(n, m);
    double *mem = fe__aligned_alloc(nd * sizeof(double));
    if (!mem) return FE_E_NOMEM;
    fe__sk p;
    fe__sk_bind(&p, mem, n, m);
    fe__sk_load_f64(&p, sim, m);
    fe__sk_prepare(&p, kern, a, b, opt->epsilon);
    memset(st, 0, sizeof *st);
    fe_status s = fe__sk_solve(&p, kern, opt, plan, st);
    fe__aligned_free(mem);
    return s;
}

static int n_kernels(void) { return fe__emd_kernel_pick() == FE__EMD_AVX2 ? 2 : 1; }
static const char *kname(int k) { return k ? "avx2" : "ref"; }

/* ---- weights ---------------------------------------------------------------------------------- */

FE_TEST(emd_fixture_weights) {
    /* uniform, SC, APC masses in double against numpy: |diff| <= 1e-12 (they agree to ~1e-16;
     * SC/APC go through a sum + 1e-7 normalisation that rounds differently by a few ulp) */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    double worst = 0, a[FX_MAX_N], b[FX_MAX_N];
    char where[16] = "";
    int compared = 0, expected = 0;
    for (size_t k = 0; k < count; k++) {
        fx_rec *r = &fx[k];
        double *sim = fx_sim(r);
        uint32_t flags = 99;
        fe_status st = sim ? fe_emd_weights(fx_weighting(r), sim, r->q, r->n, r->g, r->n, r->d,
                                            NULL, NULL, a, b, &flags) : FE_E_NOMEM;
        free(sim);
        if (st != FE_OK || flags != 0) { fx_free(fx, count); FAIL("%s/%s: %s flags %u", r->name, r->weighting, fe_status_name(st), flags); }
        expected += r->n;
        for (int i = 0; i < r->n; i++) {
            double e = fmax(fabs(a[i] - r->a[i]), fabs(b[i] - r->b[i]));
            if (e > worst) worst = e, snprintf(where, sizeof where, "%s", r->name);
            compared++;
        }
        /* negative control: the same comparison rejects a perturbed output */
        if (!(fabs((a[0] + 1e-11) - r->a[0]) > 1e-12)) { fx_free(fx, count); FAIL("control passed"); }
    }
    fx_free(fx, count);
    NOTE("%d weights, worst |diff| %.2g (%s), tolerance 1e-12", compared, worst, where);
    CHECK(compared == expected && compared > 0);
    CHECK_MSG(worst <= 1e-12, "worst weight error %.3g at %s", worst, where);
}

FE_TEST(emd_weights_apc_given_means) {
    /* APC with the means passed in (float, as the gallery stores them) equals APC with means
     * computed inside, to float rounding of the mean: <= 1e-6 */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    double worst = 0;
    for (size_t k = 0; k < count; k++) {
        fx_rec *r = &fx[k];
        if (fx_weighting(r) != FE_EMD_APC) continue;
        float *qm = malloc(r->d * sizeof *qm), *gm = malloc(r->d * sizeof *gm);
        double a1[FX_MAX_N], b1[FX_MAX_N], a2[FX_MAX_N], b2[FX_MAX_N];
        CHECK_OK(fe_emd_mean_patch(r->q, r->n, r->d, qm));
        CHECK_OK(fe_emd_mean_patch(r->g, r->n, r->d, gm));
        CHECK_OK(fe_emd_weights(FE_EMD_APC, NULL, r->q, r->n, r->g, r->n, r->d, qm, gm, a1, b1, NULL));
        CHECK_OK(fe_emd_weights(FE_EMD_APC, NULL, r->q, r->n, r->g, r->n, r->d, NULL, NULL, a2, b2, NULL));
        for (int i = 0; i < r->n; i++) worst = fmax(worst, fmax(fabs(a1[i] - a2[i]), fabs(b1[i] - b2[i])));
        free(qm);
        free(gm);
    }
    fx_free(fx, count);
    NOTE("worst |diff| %.2g", worst);
    CHECK(worst <= 1e-6);
}

FE_TEST(emd_weights_uniform_fallback) {
    /* APC where every query patch is anti-correlated with the candidate's mean: the paper's
     * formula gives no mass; we fall back to uniform on that side and say so */
    float q[2 * 3] = {1, 0, 0, 0.6f, 0.8f, 0}, g[2 * 3] = {-1, 0, 0, -0.6f, -0.8f, 0};
    double a[2], b[2];
    uint32_t flags = 0;
    CHECK_OK(fe_emd_weights(FE_EMD_APC, NULL, q, 2, g, 2, 3, NULL, NULL, a, b, &flags));
    CHECK(flags == FE_EMD_FLAG_UNIFORM_FALLBACK);
    CHECK(a[0] == 0.5 && a[1] == 0.5 && b[0] == 0.5 && b[1] == 0.5);
    fe_emd_options o;
    fe_emd_options_default(&o);
    fe_emd_stats st;
    CHECK_OK(fe_emd_pair(q, 2, g, 2, 3, NULL, NULL, &o, NULL, NULL, NULL, &st));
    CHECK(st.flags & FE_EMD_FLAG_UNIFORM_FALLBACK);
    /* control: correlated patches need no fallback */
    CHECK_OK(fe_emd_weights(FE_EMD_APC, NULL, q, 2, q, 2, 3, NULL, NULL, a, b, &flags));
    CHECK(flags == 0 && fabs(a[0] + a[1] - 1) < 1e-6);
}

/* ---- Sinkhorn against the fixtures ---------------------------------------------------------- */

FE_TEST(emd_fixture_sinkhorn100) {
    /* exactly 100 iterations: similarity and cost within 1e-4 of numpy (the bound; we
     * get ~1e-15), the row marginal error within 1e-9 + 1e-6 relative; each kernel. Controls:
     * a perturbed output fails; eps = 0.055 fails on most cases (not all: near-uniform plans
     * of unrelated faces barely move) */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    fe_emd_options o;
    fe_emd_options_default(&o);
    o.stop_threshold = 0;
    for (int kern = 0; kern < n_kernels(); kern++) {
        double worst = 0, worst_m = 0, max_merr = 0;
        const char *where = "";
        int bad_control = 0, eps_control_failed = 0;
        for (size_t k = 0; k < count; k++) {
            fx_rec *r = &fx[k];
            double *sim = fx_sim(r);
            fe_emd_stats st;
            fe_status s = sim ? sinkhorn_with((fe__emd_kernel)kern, sim, r->n, r->n, r->a, r->b, &o, NULL, &st) : FE_E_NOMEM;
            if (s != FE_OK) { free(sim); fx_free(fx, count); FAIL("%s: %s", r->name, fe_status_name(s)); }
            if (st.iterations != 100 || st.converged || st.algorithm != FE_EMD_ALG_SINKHORN) {
                free(sim); fx_free(fx, count);
                FAIL("%s/%s: %u iterations, converged %d, algorithm %d", r->name, r->weighting, st.iterations, st.converged, st.algorithm);
            }
            double e = fmax(fabs(st.similarity - r->s100), fabs(st.cost - r->c100));
            if (e > worst) worst = e, where = r->name;
            worst_m = fmax(worst_m, fabs(st.marginal_error - r->m100) / (1e-9 + 1e-6 * r->m100));
            max_merr = fmax(max_merr, st.marginal_error);
            /* negative controls: a perturbed output, and eps = 0.055 instead of 0.05 */
            if (fabs((st.similarity + 3e-4) - r->s100) <= 1e-4) bad_control = 1;
            fe_emd_options o2 = o;
            o2.epsilon = 0.055;
            fe_emd_stats st2;
            if (sinkhorn_with((fe__emd_kernel)kern, sim, r->n, r->n, r->a, r->b, &o2, NULL, &st2) == FE_OK &&
                fabs(st2.similarity - r->s100) > 1e-4)
                eps_control_failed++;
            free(sim);
        }
        NOTE("%s: worst |sim|,|cost| diff %.2g (%s), marginal err rel %.2g, max marginal err %.2g; "
             "eps 0.055 fails %d/54", kname(kern), worst, where, worst_m, max_merr, eps_control_failed);
        if (worst > 1e-4 || worst_m > 1 || bad_control || eps_control_failed < 40) {
            fx_free(fx, count);
            FAIL("%s: worst %.3g at %s, marginal %.3g, controls that passed %d", kname(kern), worst, where, worst_m, bad_control);
        }
    }
    fx_free(fx, count);
}

FE_TEST(emd_fixture_paper_recipe) {
    /* the paper's stop rule: the iteration count must be identical and the similarity within
     * 1e-4 (we get ~1e-15), for each kernel. Control: stop threshold 0.12 changes counts. */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    fe_emd_options o;
    fe_emd_options_default(&o);
    for (int kern = 0; kern < n_kernels(); kern++) {
        double worst = 0;
        int mismatched = 0, control_changed = 0, early = 0;
        for (size_t k = 0; k < count; k++) {
            fx_rec *r = &fx[k];
            double *sim = fx_sim(r);
            fe_emd_stats st, st2;
            fe_emd_options o2 = o;
            o2.stop_threshold = 0.12;
            if (!sim || sinkhorn_with((fe__emd_kernel)kern, sim, r->n, r->n, r->a, r->b, &o, NULL, &st) != FE_OK ||
                sinkhorn_with((fe__emd_kernel)kern, sim, r->n, r->n, r->a, r->b, &o2, NULL, &st2) != FE_OK) {
                free(sim); fx_free(fx, count); FAIL("%s: solve failed", r->name);
            }
            free(sim);
            if ((int)st.iterations != r->itp) {
                mismatched++;
                NOTE("%s/%s: %u iterations, fixture %d (last change %.6g)", r->name, r->weighting, st.iterations, r->itp, st.last_change);
            }
            if (st.converged != (r->itp < 100 || st.last_change < 0.1)) mismatched++;
            early += st.converged;
            worst = fmax(worst, fabs(st.similarity - r->sp));
            control_changed += st2.iterations != st.iterations;
        }
        NOTE("%s: %d of 54 counts differ, %d stopped early, worst |sim diff| %.2g; control "
             "(threshold 0.12) changed %d counts", kname(kern), mismatched, early, worst, control_changed);
        if (mismatched || worst > 1e-4 || control_changed == 0) { fx_free(fx, count); FAIL("%s", kname(kern)); }
    }
    fx_free(fx, count);
}

FE_TEST(emd_fixture_exact) {
    /* exact EMD on the fixture masses: cost within 1e-5 of POT's network simplex (we get
     * ~1e-15), marginals within 1e-9. Control: uniform masses in place of SC/APC fail. */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    double worst = 0, worst_m = 0;
    int controls_failed = 0, weighted = 0;
    for (size_t k = 0; k < count; k++) {
        fx_rec *r = &fx[k];
        double *sim = fx_sim(r), u[FX_MAX_N];
        fe_emd_stats st, st2;
        if (!sim || fe_emd_exact(sim, r->n, r->n, r->a, r->b, NULL, &st) != FE_OK) {
            free(sim); fx_free(fx, count); FAIL("%s: %s", r->name, fe_last_error());
        }
        fe_emd_weighting w = fx_weighting(r);
        if (st.algorithm != (w == FE_EMD_UNIFORM ? FE_EMD_ALG_ASSIGNMENT : FE_EMD_ALG_TRANSPORT) || !st.converged) {
            free(sim); fx_free(fx, count); FAIL("%s: algorithm %d", r->name, st.algorithm);
        }
        worst = fmax(worst, fmax(fabs(st.cost - r->ex_cost), fabs(st.similarity - r->ex_sim)));
        worst_m = fmax(worst_m, st.marginal_error);
        if (w != FE_EMD_UNIFORM) {
            weighted++;
            for (int i = 0; i < r->n; i++) u[i] = 1.0;
            if (fe_emd_exact(sim, r->n, r->n, u, u, NULL, &st2) == FE_OK && fabs(st2.cost - r->ex_cost) > 1e-5)
                controls_failed++;
        }
        free(sim);
    }
    fx_free(fx, count);
    NOTE("worst |cost diff| %.2g (tolerance 1e-5), max marginal error %.2g; control failed %d/%d",
         worst, worst_m, controls_failed, weighted);
    CHECK(worst <= 1e-5);
    CHECK(worst_m <= 1e-9);
    CHECK(controls_failed == weighted);
}

FE_TEST(emd_fixture_batched) {
    /* the search path: fe_emd_rerank with float GEMM similarities and float APC means, one
     * candidate per fixture case. Float costs move S by ~1e-7: Sinkhorn100 within 1e-4,
     * paper-recipe iteration counts identical, exact cost within 1e-5. Both kernels. */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    const int nk = n_kernels();
    for (int kern = 0; kern < nk; kern++) {
        setenv("FE_KERNEL", kern ? "auto" : "ref", 1);
        double w100 = 0, wpaper = 0, wexact = 0;
        int mismatched = 0;
        fe_emd_workspace *ws;
        CHECK_OK(fe_emd_workspace_create(&ws));
        for (size_t k = 0; k < count; k++) {
            fx_rec *r = &fx[k];
            float *qm = malloc(r->d * sizeof *qm), *gm = malloc(r->d * sizeof *gm);
            fe_emd_mean_patch(r->q, r->n, r->d, qm);
            fe_emd_mean_patch(r->g, r->n, r->d, gm);
            const float *cand[1] = {r->g}, *cmean[1] = {gm};
            fe_emd_batch bt = {r->q, qm, (size_t)r->n, (size_t)r->n, (size_t)r->d, 1, cand, cmean};
            fe_emd_options o;
            fe_emd_options_default(&o);
            o.weighting = fx_weighting(r);
            fe_emd_stats s100, sp, sx;
            o.stop_threshold = 0;
            fe_status e1 = fe_emd_rerank(ws, &bt, &o, &s100);
            o.stop_threshold = 0.1;
            fe_status e2 = fe_emd_rerank(ws, &bt, &o, &sp);
            o.solver = FE_EMD_EXACT;
            fe_status e3 = fe_emd_rerank(ws, &bt, &o, &sx);
            free(qm);
            free(gm);
            if (e1 || e2 || e3) { fe_emd_workspace_destroy(ws); fx_free(fx, count); FAIL("%s: %s", r->name, fe_last_error()); }
            w100 = fmax(w100, fabs(s100.similarity - r->s100));
            wpaper = fmax(wpaper, fabs(sp.similarity - r->sp));
            wexact = fmax(wexact, fabs(sx.cost - r->ex_cost));
            if ((int)sp.iterations != r->itp) {
                mismatched++;
                NOTE("%s/%s: %u iterations, fixture %d", r->name, r->weighting, sp.iterations, r->itp);
            }
        }
        fe_emd_workspace_destroy(ws);
        NOTE("%s: sinkhorn100 worst %.2g, paper worst %.2g (%d counts differ), exact worst %.2g",
             kname(kern), w100, wpaper, mismatched, wexact);
        if (w100 > 1e-4 || wpaper > 1e-4 || wexact > 1e-5 || mismatched) { fx_free(fx, count); FAIL("%s", kname(kern)); }
    }
    fx_free(fx, count);
}

FE_TEST(emd_log_domain_matches_plain) {
    /* the stabilised variant is the same iteration: forced on every fixture it reproduces the
     * plain double result to 1e-10 and the same iteration counts */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    fe_emd_options o;
    fe_emd_options_default(&o);
    double worst = 0;
    int diff_it = 0;
    for (size_t k = 0; k < count; k++) {
        fx_rec *r = &fx[k];
        double *sim = fx_sim(r);
        fe_emd_stats a, b;
        o.log_domain = 0;
        fe_status s1 = fe_emd_sinkhorn(sim, r->n, r->n, r->a, r->b, &o, NULL, &a);
        o.log_domain = 1;
        fe_status s2 = fe_emd_sinkhorn(sim, r->n, r->n, r->a, r->b, &o, NULL, &b);
        free(sim);
        if (s1 || s2 || b.algorithm != FE_EMD_ALG_SINKHORN_LOG || b.flags) { fx_free(fx, count); FAIL("%s", r->name); }
        worst = fmax(worst, fabs(a.similarity - b.similarity));
        diff_it += a.iterations != b.iterations;
    }
    fx_free(fx, count);
    NOTE("worst |plain - log| %.2g, iteration counts differing %d", worst, diff_it);
    CHECK(worst <= 1e-10 && diff_it == 0);
}

FE_TEST(emd_underflow_switches_to_log) {
    /* eps = 0.0005: exp(-(c - cmin)/eps) is 0 in double once c - cmin > 0.37 (e^-745); in
     * the occluded case whole rows of the kernel vanish and the plain iteration breaks; the log domain takes
     * over, and with enough iterations approaches the exact EMD within the entropic bias
     * (~eps * log(n m) = 0.003) and the marginals within 1e-4 (slow at such a small eps) */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    fx_rec *r = &fx[2 * 3 + 0];   /* case02 (occluded) uniform, 16 x 16: rows far from cmin */
    double *sim = fx_sim(r);
    fe_emd_options o;
    fe_emd_options_default(&o);
    o.epsilon = 0.0005;
    o.stop_threshold = 0;
    o.max_iter = 3000;
    fe_emd_stats st, ex;
    CHECK_OK(fe_emd_sinkhorn(sim, r->n, r->n, r->a, r->b, &o, NULL, &st));
    CHECK_OK(fe_emd_exact(sim, r->n, r->n, r->a, r->b, NULL, &ex));
    NOTE("eps 0.0005: algorithm %d flags %u, S %.6f vs exact %.6f, marginal err %.2g",
         st.algorithm, st.flags, st.similarity, ex.similarity, st.marginal_error);
    fe_emd_stats st0 = st;
    int ok = st.algorithm == FE_EMD_ALG_SINKHORN_LOG && (st.flags & FE_EMD_FLAG_UNDERFLOW) &&
             fabs(st.similarity - ex.similarity) < 0.003 && st.marginal_error < 1e-4;
    /* control: at eps 0.05 the plain iteration suffices and no flag is set */
    o.epsilon = 0.05;
    o.max_iter = 100;
    CHECK_OK(fe_emd_sinkhorn(sim, r->n, r->n, r->a, r->b, &o, NULL, &st));
    free(sim);
    fx_free(fx, count);
    CHECK_MSG(ok, "algorithm %d flags %u S %.6f exact %.6f merr %.3g", st0.algorithm, st0.flags,
              st0.similarity, ex.similarity, st0.marginal_error);
    CHECK(st.algorithm == FE_EMD_ALG_SINKHORN && st.flags == 0);
}

/* ---- invariants ------------------------------------------------------------------------------- */

FE_TEST(emd_self_distance) {
    /* EMD(x, x): the exact plan is diag(a) (a == b for every weighting when q == g) and the
     * cost is sum_i a_i c_ii, i.e. 0 up to the float normalisation of the patches
     * (|c_ii| = |1 - |x_i|^2| ~ 1e-7): plan off-diagonal 0, cost == that floor to 1e-15.
     * Sinkhorn's similarity is close to 1 (the entropic plan leaks a little mass to near
     * patches: >= 0.99 on face-like patches). */
    synth_rng rng = {42};
    size_t n = 16, d = 256;
    float *z = malloc(n * d * sizeof *z), *x = malloc(n * d * sizeof *x), tmp[512];
    double plan[256], a[16], b[16], sim[256];
    synth_units(&rng, z, n, d);
    synth_image(&rng, z, n, d, 0.0, x, tmp);
    CHECK_OK(fe_emd_similarity(x, n, x, n, d, sim));
    double worst_exact = 0, worst_off = 0, floor_ = 0, worst_sk = 1;
    for (int w = 0; w < 3; w++) {
        fe_emd_options o;
        fe_emd_options_default(&o);
        o.weighting = (fe_emd_weighting)w;
        fe_emd_stats st;
        o.solver = FE_EMD_EXACT;
        CHECK_OK(fe_emd_pair(x, n, x, n, d, NULL, NULL, &o, plan, a, b, &st));
        double expect = 0, sa = 0;
        for (size_t i = 0; i < n; i++) sa += a[i];
        for (size_t i = 0; i < n; i++) {
            CHECK(a[i] == b[i]);
            expect += a[i] / sa * (1.0 - sim[i * n + i]);
            floor_ = fmax(floor_, fabs(1.0 - sim[i * n + i]));
            for (size_t j = 0; j < n; j++) if (i != j) worst_off = fmax(worst_off, plan[i * n + j]);
        }
        worst_exact = fmax(worst_exact, fabs(st.cost - expect));
        o.solver = FE_EMD_SINKHORN;
        CHECK_OK(fe_emd_pair(x, n, x, n, d, NULL, NULL, &o, NULL, NULL, NULL, &st));
        worst_sk = fmin(worst_sk, st.similarity);
    }
    /* control: a different image of the same identity is far from 0 */
    float *y = malloc(n * d * sizeof *y);
    synth_image(&rng, z, n, d, 0.0, y, tmp);
    fe_emd_options o;
    fe_emd_options_default(&o);
    o.solver = FE_EMD_EXACT;
    fe_emd_stats st;
    CHECK_OK(fe_emd_pair(x, n, y, n, d, NULL, NULL, &o, NULL, NULL, NULL, &st));
    free(z); free(x); free(y);
    NOTE("exact: |cost - sum a_i c_ii| %.2g (|c_ii| <= %.2g), off-diagonal plan %.2g; "
         "Sinkhorn S(x,x) >= %.6f; control cost(x,y) %.3f", worst_exact, floor_, worst_off,
         worst_sk, st.cost);
    CHECK(worst_exact <= 1e-15 && worst_off == 0 && floor_ < 1e-6);
    CHECK(worst_sk >= 0.99 && worst_sk <= 1 + 1e-9);
    CHECK(st.cost > 0.1);
}

static double brute_force_assignment(const double *c, int n) {
    /* all n! permutations (Heap's algorithm) */
    int perm[8], cnt[8] = {0};
    for (int i = 0; i < n; i++) perm[i] = i;
    double best = 0;
    for (int i = 0; i < n; i++) best += c[i * n + perm[i]];
    for (int i = 1; i < n;) {
        if (cnt[i] < i) {
            int j = (i & 1) ? cnt[i] : 0, tmp = perm[j];
            perm[j] = perm[i];
            perm[i] = tmp;
            double s = 0;
            for (int k = 0; k < n; k++) s += c[k * n + perm[k]];
            best = s < best ? s : best;
            cnt[i]++;
            i = 1;
        } else {
            cnt[i++] = 0;
        }
    }
    return best;
}

FE_TEST(emd_assignment_brute_force) {
    /* random costs (uniform, and small integers with many ties), n = 1..8: the assignment
     * solver's total equals the minimum over all n! permutations to 1e-12, its duals are
     * feasible (u_i + v_j <= c_ij + 1e-12) and tight on the matching */
    synth_rng rng = {7};
    int cases = 0;
    double worst = 0, worst_dual = 0;
    for (int n = 1; n <= 8; n++) {
        int reps = n <= 6 ? 60 : n == 7 ? 20 : 6;
        for (int rep = 0; rep < reps; rep++) {
            double c[64], u[8], v[8];
            size_t col[8];
            unsigned char work[1024];
            CHECK(fe__assign_work_bytes((size_t)n) <= sizeof work);
            for (int k = 0; k < n * n; k++)
                c[k] = (rep & 1) ? (double)(synth_next(&rng) % 4) : 2 * synth_unif(&rng);
            fe__emd_assignment(c, (size_t)n, col, u, v, work);
            double tot = 0;
            int seen[8] = {0};
            for (int i = 0; i < n; i++) {
                CHECK(col[i] < (size_t)n && !seen[col[i]]);
                seen[col[i]] = 1;
                tot += c[i * n + col[i]];
                worst_dual = fmax(worst_dual, fabs(u[i] + v[col[i]] - c[i * n + col[i]]));
                for (int j = 0; j < n; j++) worst_dual = fmax(worst_dual, u[i] + v[j] - c[i * n + j]);
            }
            worst = fmax(worst, fabs(tot - brute_force_assignment(c, n)));
            cases++;
        }
    }
    /* control: a wrong matching (identity) is beaten by brute force on some case */
    double c3[9] = {5, 1, 9, 1, 5, 9, 9, 9, 1};
    CHECK(brute_force_assignment(c3, 3) == 3 && c3[0] + c3[4] + c3[8] == 11);
    NOTE("%d random cases, worst |solver - brute force| %.2g, worst dual violation %.2g", cases, worst, worst_dual);
    CHECK(worst <= 1e-12 && worst_dual <= 1e-12);
}

/* Transport on a random problem: returns the cost and checks marginals and the certificate. */
static int transport_checked(fe_test *t, const double *c, size_t n, size_t m, const double *a,
                             const double *b, double *out_cost, double *worst) {
    double *x = malloc(n * m * sizeof *x), f[64], g[64];
    void *work = malloc(fe__transport_work_bytes(n, m));
    uint32_t aug;
    fe_status st = fe__emd_transport(c, n, m, a, b, x, f, g, &aug, work);
    free(work);
    if (st != FE_OK) { free(x); fe_t_fail(t, __FILE__, __LINE__, "transport: %s", fe_last_error()); return 0; }
    double primal = 0, dual = 0, merr = 0, viol = 0, slack = 0;
    for (size_t i = 0; i < n; i++) {
        double row = 0;
        for (size_t j = 0; j < m; j++) {
            double xij = x[i * m + j], rc = c[i * m + j] - f[i] - g[j];
            if (xij < 0) viol = fmax(viol, -xij);
            row += xij;
            primal += xij * c[i * m + j];
            viol = fmax(viol, -rc);                  /* dual feasibility */
            if (xij > 1e-15) slack = fmax(slack, fabs(rc)); /* complementary slackness */
        }
        merr = fmax(merr, fabs(row - a[i]));
        dual += a[i] * f[i];
    }
    for (size_t j = 0; j < m; j++) {
        double col = 0;
        for (size_t i = 0; i < n; i++) col += x[i * m + j];
        merr = fmax(merr, fabs(col - b[j]));
        dual += b[j] * g[j];
    }
    free(x);
    *out_cost = primal;
    *worst = fmax(*worst, fmax(fmax(merr, viol), fmax(slack, fabs(primal - dual))));
    return 1;
}

FE_TEST(emd_transport_certificate) {
    /* successive shortest paths on random weighted problems (n != m, zero masses, ties):
     * marginals, x >= 0, dual feasibility, complementary slackness and primal == dual, all
     * within 1e-12: a proof of optimality. Plus a hand-solved 2x3 case. */
    synth_rng rng = {11};
    double worst = 0;
    int cases = 0;
    size_t sizes[][2] = {{1, 1}, {1, 5}, {5, 1}, {2, 3}, {9, 4}, {16, 16}, {25, 9}, {64, 64}, {7, 33}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s][0], m = sizes[s][1];
        for (int rep = 0; rep < 8; rep++) {
            double *c = malloc(n * m * sizeof *c), a[64], b[64], sa = 0, sb = 0, cost;
            for (size_t k = 0; k < n * m; k++)
                c[k] = (rep & 1) ? (double)(synth_next(&rng) % 3) : 2 * synth_unif(&rng);
            for (size_t i = 0; i < n; i++) sa += a[i] = (rep & 2) && i % 3 == 1 ? 0 : synth_unif(&rng);
            for (size_t j = 0; j < m; j++) sb += b[j] = (rep & 4) && j % 4 == 2 ? 0 : synth_unif(&rng);
            if (sa == 0) a[0] = sa = 1;
            if (sb == 0) b[0] = sb = 1;
            for (size_t i = 0; i < n; i++) a[i] /= sa;
            for (size_t j = 0; j < m; j++) b[j] /= sb;
            int ok = transport_checked(t, c, n, m, a, b, &cost, &worst);
            free(c);
            if (!ok) return;
            cases++;
        }
    }
    /* by hand: supplies (0.5, 0.5), demands (0.2, 0.3, 0.5); costs row 0 (0, 1, 2), row 1
     * (2, 1, 0): row 0 sends 0.2 + 0.3 at cost 0.3, row 1 sends 0.5 at 0 -> 0.3 */
    double c[6] = {0, 1, 2, 2, 1, 0}, a[2] = {0.5, 0.5}, b[3] = {0.2, 0.3, 0.5}, cost;
    if (!transport_checked(t, c, 2, 3, a, b, &cost, &worst)) return;
    NOTE("%d random problems, worst certificate residual %.2g; hand case %.15g (expect 0.3)", cases, worst, cost);
    CHECK(fabs(cost - 0.3) <= 1e-15);
    CHECK(worst <= 1e-12);
}

FE_TEST(emd_transport_equals_assignment) {
    /* on uniform masses with n == m both exact solvers must agree (1e-12): random costs and
     * the fixture cost matrices */
    synth_rng rng = {5};
    double worst = 0;
    for (int rep = 0; rep < 40; rep++) {
        size_t n = 1 + (size_t)(synth_next(&rng) % 64);
        double *c = malloc(n * n * sizeof *c), u[64], v[64], a[64], cost, w = 0;
        size_t col[64];
        void *work = malloc(fe__assign_work_bytes(n));
        for (size_t k = 0; k < n * n; k++) c[k] = (rep & 1) ? (double)(synth_next(&rng) % 5) : synth_unif(&rng);
        for (size_t i = 0; i < n; i++) a[i] = 1.0 / (double)n;
        fe__emd_assignment(c, n, col, u, v, work);
        double ca = 0;
        for (size_t i = 0; i < n; i++) ca += c[i * n + col[i]] / (double)n;
        int ok = transport_checked(t, c, n, n, a, a, &cost, &w);
        free(c);
        free(work);
        if (!ok) return;
        worst = fmax(worst, fabs(cost - ca));
    }
    NOTE("worst |transport - assignment| %.2g over 40 random problems (n 1..64)", worst);
    CHECK(worst <= 1e-12);
}

FE_TEST(emd_transpose_symmetry) {
    /* EMD(q, g) with (a, b) == EMD(g, q) with (b, a) on the transposed matrix: exact to 1e-12;
     * Sinkhorn run to convergence (2000 iterations, fixed) to 1e-8 (the plan is unique) */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    double worst_ex = 0, worst_sk = 0;
    fe_emd_options o;
    fe_emd_options_default(&o);
    o.stop_threshold = 0;
    o.max_iter = 2000;
    for (size_t k = 0; k < count; k++) {
        fx_rec *r = &fx[k];
        size_t n = (size_t)r->n;
        double *s = fx_sim(r), *sT = malloc(n * n * sizeof *sT);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) sT[j * n + i] = s[i * n + j];
        fe_emd_stats e1, e2, k1, k2;
        CHECK_OK(fe_emd_exact(s, n, n, r->a, r->b, NULL, &e1));
        CHECK_OK(fe_emd_exact(sT, n, n, r->b, r->a, NULL, &e2));
        CHECK_OK(fe_emd_sinkhorn(s, n, n, r->a, r->b, &o, NULL, &k1));
        CHECK_OK(fe_emd_sinkhorn(sT, n, n, r->b, r->a, &o, NULL, &k2));
        worst_ex = fmax(worst_ex, fabs(e1.cost - e2.cost));
        /* APC masses sum to 1 - 1e-7/sum: unequal totals make the converged plans differ by
         * that much, so compare where the marginals have converged */
        if (k1.marginal_error < 1e-10 && k2.marginal_error < 1e-10)
            worst_sk = fmax(worst_sk, fabs(k1.similarity - k2.similarity));
        free(s);
        free(sT);
    }
    fx_free(fx, count);
    NOTE("worst exact asymmetry %.2g, Sinkhorn (converged) %.2g", worst_ex, worst_sk);
    CHECK(worst_ex <= 1e-12 && worst_sk <= 1e-8);
}

FE_TEST(emd_sinkhorn_marginals_converge) {
    /* the column marginal holds after every c-update (1e-15); the row marginal error shrinks
     * with iterations: after 3000 it is no larger than after 100 on any fixture, below 1e-4,
     * and the worst case is >= 100x smaller (slowest: nearly flat kernels, unrelated faces) */
    size_t count;
    fx_rec *fx = fx_load(t, &count);
    if (!fx) return;
    double worst100 = 0, worst3000 = 0, worst_col = 0, worst_ratio = 0;
    fe_emd_options o;
    fe_emd_options_default(&o);
    o.stop_threshold = 0;
    for (size_t k = 0; k < count; k++) {
        fx_rec *r = &fx[k];
        size_t n = (size_t)r->n;
        double *s = fx_sim(r), *plan = malloc(n * n * sizeof *plan);
        fe_emd_stats st;
        o.max_iter = 100;
        CHECK_OK(fe_emd_sinkhorn(s, n, n, r->a, r->b, &o, plan, &st));
        worst100 = fmax(worst100, st.marginal_error);
        double e100 = st.marginal_error;
        for (size_t j = 0; j < n; j++) {
            double col = 0;
            for (size_t i = 0; i < n; i++) col += plan[i * n + j];
            worst_col = fmax(worst_col, fabs(col - r->b[j]));
        }
        o.max_iter = 3000;
        CHECK_OK(fe_emd_sinkhorn(s, n, n, r->a, r->b, &o, NULL, &st));
        /* unequal totals (APC: 1 - 1e-7/sum on each side) leave |sum a - sum b| behind */
        double sa = 0, sb = 0;
        for (size_t i = 0; i < n; i++) sa += r->a[i], sb += r->b[i];
        double e3000 = st.marginal_error - fabs(sa - sb);
        worst3000 = fmax(worst3000, e3000);
        worst_ratio = fmax(worst_ratio, e3000 - e100);   /* > 0: got worse */
        free(s);
        free(plan);
    }
    fx_free(fx, count);
    NOTE("max marginal error: 100 iterations %.2g, 3000 iterations %.2g (beyond the mass "
         "imbalance), worst growth %.2g; columns %.2g", worst100, worst3000,
         worst_ratio, worst_col);
    CHECK_MSG(worst_col <= 1e-15 && worst3000 <= 1e-4 && worst_ratio <= 1e-15 &&
              worst3000 <= worst100 / 100 && worst100 < 0.01,
              "col %.3g, 100: %.3g, 3000: %.3g, ratio %.3g", worst_col, worst100, worst3000, worst_ratio);
}

/* ---- kernels ------------------------------------------------------------------------------------ */

FE_TEST(emd_exp_accuracy) {
    /* the AVX2 exp against libm over [-708, 0] (2e6 points + special values): relative error
     * <= 4.5e-16 (~2 DBL_EPSILON); below -708.39 results are flushed to 0. The float exp over
     * [-87, 0]: <= 3e-7 (~2.5 FLT_EPSILON), flushed below -87.3. */
#if FE__EMD_HAVE_AVX2
    if (fe__emd_kernel_pick() != FE__EMD_AVX2) SKIP("no AVX2+FMA on this CPU (or FE_KERNEL=ref)");
    size_t N = 1u << 21;
    double *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (size_t i = 0; i < N; i++) x[i] = -708.0 * (double)i / (double)(N - 1);
    x[1] = -0.0;
    x[2] = -1e-300;
    x[3] = -0.34657359027997264;  /* ln2/2: the reduction's edge */
    x[4] = -0.34657359027997270;
    fe__emd_exp_neg_avx2(x, y, N - 3);        /* odd length: exercises the tail */
    fe__emd_exp_neg_avx2(x + N - 3, y + N - 3, 3);
    double worst = 0, wx = 0;
    for (size_t i = 0; i < N; i++) {
        double ref = exp(x[i]), e = fabs(y[i] - ref) / ref;
        if (e > worst) worst = e, wx = x[i];
    }
    double flush[4] = {-708.5, -745.2, -1e6, -INFINITY}, fy[4];
    fe__emd_exp_neg_avx2(flush, fy, 4);
    /* control: a result off by 3 ulp fails the same bound */
    double control = fabs(y[N / 2] * (1 + 6.7e-16) - exp(x[N / 2])) / exp(x[N / 2]);
    free(x);
    free(y);
    /* the float exp of the batched path: <= 3e-7 relative over [-87, 0], flush below -87.3 */
    size_t NF = 1u << 20;
    float *xf = malloc(NF * sizeof *xf), *yf = malloc(NF * sizeof *yf);
    for (size_t i = 0; i < NF; i++) xf[i] = (float)(-87.0 * (double)i / (double)(NF - 1));
    fe__emd_expf_neg_avx2(xf, yf, NF - 5);
    fe__emd_expf_neg_avx2(xf + NF - 5, yf + NF - 5, 5);
    double worstf = 0;
    for (size_t i = 0; i < NF; i++) worstf = fmax(worstf, fabs(yf[i] - exp((double)xf[i])) / exp((double)xf[i]));
    float ff[3] = {-87.5f, -200.0f, -INFINITY}, fyf[3];
    fe__emd_expf_neg_avx2(ff, fyf, 3);
    free(xf);
    free(yf);
    NOTE("double: worst relative error %.3g (%.2f DBL_EPSILON) at x = %.17g; float: %.3g "
         "(%.2f FLT_EPSILON)", worst, worst / DBL_EPSILON, wx, worstf, worstf / FLT_EPSILON);
    CHECK(worst <= 4.5e-16);
    CHECK(fy[0] == 0 && fy[1] == 0 && fy[2] == 0 && fy[3] == 0);
    CHECK(control > 4.5e-16);
    CHECK(worstf <= 3e-7 && fyf[0] == 0 && fyf[1] == 0 && fyf[2] == 0);
#else
    SKIP("no AVX2 kernels on this architecture");
#endif
}

/* sum_k x_k y_k in double and sum |x_k y_k|: a float dot product's reference and error scale */
static void dot_ref(const float *x, const float *y, size_t K, double *ref, double *mag) {
    *ref = *mag = 0;
    for (size_t k = 0; k < K; k++) {
        *ref += (double)x[k] * y[k];
        *mag += fabs((double)x[k] * y[k]);
    }
}

FE_TEST(emd_gemm_kernels) {
    /* the cost GEMM T[j][i] = <q_i, B_j> and qb[j] = <q_bar, B_j>, both kernels, against a
     * double-precision loop over awkward shapes (n around the 16-row panel, N around the
     * 6-row block, K around the 8-lane width): |err| <= 2 K u sum|q||b| (a float dot product's
     * bound, with margin); panel padding rows are 0 and nothing past them is written */
    synth_rng rng = {3};
    size_t Ks[] = {1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 127, 128, 129, 255, 256, 257};
    size_t ns[] = {1, 2, 3, 5, 8, 9, 15, 16, 17, 31, 33, 64};
    double worst_ratio = 0;
    int shapes = 0, bad_pad = 0;
    for (int kern = 0; kern < n_kernels(); kern++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
            for (size_t ni = 0; ni < sizeof ns / sizeof *ns; ni++)
                for (size_t N = 1; N <= 14; N += (N < 8 ? 1 : 3)) {
                    size_t K = Ks[ki], n = ns[ni], pr = fe__emd_panel_rows(n), ldt = pr + 3;
                    float *Q = malloc(n * K * sizeof *Q), *P = fe__aligned_alloc(pr * K * sizeof *P);
                    float *B = malloc(N * (K + 1) * sizeof *B), *T = malloc(N * ldt * sizeof *T);
                    float *qbar = malloc(K * sizeof *qbar), qb[14];
                    const float *rows[14];
                    for (size_t i = 0; i < n * K; i++) Q[i] = (float)synth_gauss(&rng);
                    for (size_t i = 0; i < K; i++) qbar[i] = (float)synth_gauss(&rng);
                    for (size_t i = 0; i < N * (K + 1); i++) B[i] = (float)synth_gauss(&rng);
                    for (size_t j = 0; j < N; j++) rows[j] = B + j * (K + 1);   /* stride > K */
                    for (size_t i = 0; i < N * ldt; i++) T[i] = NAN;
                    fe__emd_pack_query(Q, n, K, P);
                    fe__emd_gemm_cost((fe__emd_kernel)kern, n, K, Q, P, qbar, N, rows, T, ldt, qb, NULL, 0);
                    for (size_t j = 0; j < N; j++) {
                        for (size_t i = 0; i < ldt; i++) {
                            float v = T[j * ldt + i];
                            if (i >= pr) { bad_pad += !isnan(v); continue; }
                            if (i >= n) { bad_pad += v != 0.0f; continue; }
                            double ref, mag;
                            dot_ref(Q + i * K, rows[j], K, &ref, &mag);
                            worst_ratio = fmax(worst_ratio, fabs(v - ref) / ((double)K * FLT_EPSILON * mag + 1e-30));
                        }
                        double ref, mag;
                        dot_ref(qbar, rows[j], K, &ref, &mag);
                        worst_ratio = fmax(worst_ratio, fabs(qb[j] - ref) / ((double)K * FLT_EPSILON * mag + 1e-30));
                    }
                    free(Q); fe__aligned_free(P); free(B); free(T); free(qbar);
                    shapes++;
                }
    NOTE("%d shapes, worst error / bound %.3g", shapes, worst_ratio);
    CHECK(bad_pad == 0);
    CHECK(worst_ratio <= 1.0);
}

FE_TEST(emd_normalise_kernels) {
    /* the SIMD normalisation equals the portable one bit for bit (sizes around the 4-lane
     * width, negative and NaN entries, the all-non-positive fallback and its flag) */
    synth_rng rng = {12};
    int compared = 0;
    for (int kern = 0; kern < n_kernels(); kern++)
        for (size_t n = 1; n <= 21; n++)
            for (int mode = 0; mode < 3; mode++) {
                double w1[21], w2[21];
                uint32_t f1 = 0, f2 = 0;
                for (size_t i = 0; i < n; i++)
                    w1[i] = w2[i] = mode == 2 ? -synth_unif(&rng) : synth_unif(&rng) - (mode ? 0.3 : 0);
                if (mode == 1) w1[n / 2] = w2[n / 2] = NAN;
                fe__emd_normalise(w1, n, &f1);
                fe__emd_normalise_k((fe__emd_kernel)kern, w2, n, &f2);
                CHECK(memcmp(w1, w2, n * sizeof *w1) == 0 && f1 == f2);
                CHECK(mode != 2 || f1 == FE_EMD_FLAG_UNIFORM_FALLBACK);
                compared++;
            }
    NOTE("%d vectors", compared);
}

FE_TEST(emd_load_transposed) {
    /* the transposed load (the re-rank's) equals the row-major one on the transposed matrix,
     * bit for bit, both kernels, odd shapes (padding lanes and negative maxima); with eps its
     * fused kernel equals the row-major load's fe__sk_prepare_f32, bit for bit */
    synth_rng rng = {5};
    size_t sizes[][2] = {{16, 16}, {1, 1}, {3, 5}, {9, 9}, {13, 7}, {17, 4}, {64, 64}};
    int checked = 0, fused = 0;
    for (int kern = 0; kern < n_kernels(); kern++)
        for (size_t sz = 0; sz < sizeof sizes / sizeof *sizes; sz++)
            for (int neg = 0; neg < 2; neg++) {
                size_t n = sizes[sz][0], m = sizes[sz][1], ldt = fe__emd_panel_rows(n), nd = fe__sk_doubles(n, m);
                float *S = malloc(n * m * sizeof *S), *T = calloc(m * ldt, sizeof *T);
                double *m1 = fe__aligned_alloc(nd * sizeof(double)), *m2 = fe__aligned_alloc(nd * sizeof(double));
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < m; j++)
                        T[j * ldt + i] = S[i * m + j] = (float)(synth_unif(&rng) - (neg ? 1.5 : 0.5));
                fe__sk p1, p2;
                fe__sk_bind(&p1, m1, n, m);
                fe__sk_bind(&p2, m2, n, m);
                double ab[64];
                for (size_t i = 0; i < 64; i++) ab[i] = 1.0 / 64;
                CHECK(fe__sk_load_f32(&p1, (fe__emd_kernel)kern, S, m) == 1);
                CHECK(fe__sk_load_f32t(&p2, (fe__emd_kernel)kern, T, ldt, 0.0) == 1);
                CHECK(memcmp(p1.s, p2.s, p1.np * p1.mp * sizeof(double)) == 0);
                CHECK(p1.cmin == p2.cmin && p1.cmax == p2.cmax && !p2.kready);
                CHECK(fe__sk_load_f32t(&p2, (fe__emd_kernel)kern, T, ldt, 0.05) == 1);
                CHECK(memcmp(p1.s, p2.s, p1.np * p1.mp * sizeof(double)) == 0);
                fused += p2.kready;
                fe__sk_prepare_f32(&p1, (fe__emd_kernel)kern, ab, ab, 0.05);
                fe__sk_prepare_f32(&p2, (fe__emd_kernel)kern, ab, ab, 0.05);
                CHECK(memcmp(p1.K, p2.K, p1.np * p1.mp * sizeof(double)) == 0);
                T[(m - 1) * ldt + n - 1] = NAN;
                CHECK(fe__sk_load_f32t(&p2, (fe__emd_kernel)kern, T, ldt, 0.05) == 0);
                T[(m - 1) * ldt + n - 1] = -INFINITY;
                CHECK(fe__sk_load_f32t(&p2, (fe__emd_kernel)kern, T, ldt, 0.05) == 0);
                free(S); free(T); fe__aligned_free(m1); fe__aligned_free(m2);
                checked++;
            }
    NOTE("%d matrices, %d with the fused float kernel", checked, fused);
    CHECK(n_kernels() < 2 || fused > 0);
}

FE_TEST(emd_kernels_agree) {
    /* portable vs AVX2 Sinkhorn on face-like random pairs of odd sizes (padding paths): same
     * iteration counts (unless the last change sits within 1e-9 of the threshold), similarity
     * within 1e-12 */
    if (n_kernels() < 2) SKIP("only the portable kernel on this machine");
    synth_rng rng = {99};
    size_t sizes[][2] = {{1, 1}, {1, 7}, {3, 5}, {4, 4}, {9, 9}, {16, 16}, {17, 15}, {25, 25}, {33, 20}, {64, 64}};
    double worst = 0;
    int same = 0, total = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s][0], m = sizes[s][1], d = 64;
        for (int rep = 0; rep < 6; rep++) {
            size_t nz = n > m ? n : m;
            float *z = malloc(nz * d * sizeof *z), *zg = malloc(nz * d * sizeof *zg), tmp[128];
            float *q = malloc(n * d * sizeof *q), *g = malloc(m * d * sizeof *g);
            synth_units(&rng, z, nz, d);
            synth_units(&rng, zg, nz, d);
            synth_image(&rng, z, n, d, rep % 3 == 2 ? 0.5 : 0, q, tmp);
            synth_image(&rng, rep & 1 ? zg : z, m, d, 0, g, tmp);   /* other / same identity */
            double *sim = malloc(n * m * sizeof *sim), a[64], b[64];
            fe_emd_options o;
            fe_emd_options_default(&o);
            fe_emd_stats s0, s1;
            CHECK_OK(fe_emd_similarity(q, n, g, m, d, sim));
            CHECK_OK(fe_emd_weights(FE_EMD_APC, sim, q, n, g, m, d, NULL, NULL, a, b, NULL));
            CHECK_OK(sinkhorn_with(FE__EMD_REF, sim, n, m, a, b, &o, NULL, &s0));
            CHECK_OK(sinkhorn_with(FE__EMD_AVX2, sim, n, m, a, b, &o, NULL, &s1));
            total++;
            if (s0.iterations == s1.iterations) {
                same++;
                worst = fmax(worst, fabs(s0.similarity - s1.similarity));
            } else {
                CHECK_MSG(fabs(s0.last_change - 0.1) < 1e-9 || fabs(s1.last_change - 0.1) < 1e-9,
                          "%zux%zu: %u vs %u iterations", n, m, s0.iterations, s1.iterations);
            }
            free(z); free(zg); free(q); free(g); free(sim);
        }
    }
    NOTE("%d/%d pairs with equal iteration counts, worst |ref - avx2| %.2g", same, total, worst);
    CHECK(worst <= 1e-12 && same > 0);
}

FE_TEST(emd_kernel_fast_matches_double) {
    /* the batched path's float-accuracy kernel K' against the double one, on float
     * similarities: relative difference <= 3e-7 (the float exp) + 1.2e-7 |exponent| (two
     * float roundings forming the exponent (s - smax)/eps, up to 40 at eps 0.05); padding
     * identical */
    if (n_kernels() < 2) SKIP("only the portable kernel on this machine");
    synth_rng rng = {8};
    size_t sizes[][2] = {{16, 16}, {9, 9}, {13, 7}, {64, 64}, {3, 17}};
    double worst = 0;
    for (size_t sz = 0; sz < 5; sz++) {
        size_t n = sizes[sz][0], m = sizes[sz][1], lds = m + 5, nd = fe__sk_doubles(n, m);
        float *S = malloc(n * lds * sizeof *S);
        double *m1 = fe__aligned_alloc(nd * sizeof(double)), *m2 = fe__aligned_alloc(nd * sizeof(double));
        double a[64], b[64];
        for (size_t k = 0; k < n * lds; k++) S[k] = (float)(2 * synth_unif(&rng) - 1);
        for (size_t i = 0; i < 64; i++) a[i] = b[i] = 1.0 / 64;
        fe__sk p1, p2;
        fe__sk_bind(&p1, m1, n, m);
        fe__sk_bind(&p2, m2, n, m);
        CHECK(fe__sk_load_f32(&p1, FE__EMD_AVX2, S, lds) && fe__sk_load_f32(&p2, FE__EMD_AVX2, S, lds));
        fe__sk_prepare(&p1, FE__EMD_AVX2, a, b, 0.05);
        fe__sk_prepare_f32(&p2, FE__EMD_AVX2, a, b, 0.05);
        for (size_t i = 0; i < p1.np; i++)
            for (size_t j = 0; j < p1.mp; j++) {
                double k1 = p1.K[i * p1.mp + j], k2 = p2.K[i * p1.mp + j];
                if (i >= n || j >= m) { CHECK(k1 == 1.0 && k2 == 1.0); continue; }
                double x = -log(k1);   /* the exponent */
                worst = fmax(worst, fabs(k2 - k1) / k1 / (3e-7 + 1.2e-7 * x));
            }
        free(S);
        fe__aligned_free(m1);
        fe__aligned_free(m2);
    }
    NOTE("worst |fast - double| / bound %.3g", worst);
    CHECK_MSG(worst <= 1.0, "worst |fast - double| / bound %.3g", worst);
}

FE_TEST(emd_loop16_bit_identical) {
    /* the 16 x 16 loop (c in registers, checks deferred to exit) equals repeated general
     * steps bit for bit: iteration count, scalings and the last change */
#if FE__EMD_HAVE_AVX2
    if (n_kernels() < 2) SKIP("only the portable kernel on this machine");
    synth_rng rng = {77};
    size_t nd = fe__sk_doubles(16, 16);
    double *mem = fe__aligned_alloc(2 * nd * sizeof(double));
    int checked = 0, fired_n = 0;
    for (int rep = 0; rep < 24; rep++) {
        fe__sk p[2];
        double sim[256], a[16], b[16];
        float q[16 * 32], g[16 * 32], z[16 * 32], tmp[64];
        synth_units(&rng, z, 16, 32);
        synth_image(&rng, z, 16, 32, rep % 3 == 0 ? 0.5 : 0, q, tmp);
        if (rep & 1) synth_units(&rng, z, 16, 32);
        synth_image(&rng, z, 16, 32, 0, g, tmp);
        CHECK_OK(fe_emd_similarity(q, 16, g, 16, 32, sim));
        CHECK_OK(fe_emd_weights((fe_emd_weighting)(rep % 3), sim, q, 16, g, 16, 32, NULL, NULL, a, b, NULL));
        for (int l = 0; l < 2; l++) {
            fe__sk_bind(&p[l], mem + l * nd, 16, 16);
            fe__sk_load_f64(&p[l], sim, 16);
            fe__sk_prepare(&p[l], FE__EMD_AVX2, a, b, 0.05);
        }
        double sigma = fe__sk_start(&p[0]), thr = 0.1 * sigma, ch16, ch = 0;
        fe__sk_start(&p[1]);
        int fired, bad;
        uint32_t it16 = fe__sk_iterate16_avx2(&p[0], 100, thr, &ch16, &fired, &bad), it = 0;
        while (it < 100) {
            it++;
            CHECK(fe__sk_step_avx2(&p[1], &ch) == 0);
            if (ch < thr) break;
        }
        CHECK(!bad && it == it16 && ch == ch16 && fired == (ch < thr));
        CHECK(memcmp(p[0].r, p[1].r, 16 * sizeof(double)) == 0 && memcmp(p[0].c, p[1].c, 16 * sizeof(double)) == 0);
        checked++;
        fired_n += fired;
    }
    fe__aligned_free(mem);
    NOTE("%d problems bit-identical (%d stopped by the rule)", checked, fired_n);
    CHECK(fired_n > 0 && fired_n < checked);
#else
    SKIP("no AVX2 kernels in this build");
#endif
}

FE_TEST(emd_rerank_underflow) {
    /* eps so small that the plain iteration underflows for some candidates: within the
     * re-rank those candidates go to the log domain, flagged, and agree with the one-pair
     * path (1e-5, float costs) */
    synth_rng rng = {31};
    size_t n = 16, d = 64, K = 9;
    float *z = malloc(n * d * sizeof *z), *q = malloc(n * d * sizeof *q), tmp[128];
    float *G = malloc(K * n * d * sizeof *G), *gm = malloc(K * d * sizeof *gm), qm[64];
    const float *cand[9], *cm[9];
    synth_units(&rng, z, n, d);
    synth_image(&rng, z, n, d, 0.5, q, tmp);
    synth_mean(q, n, d, qm);
    for (size_t k = 0; k < K; k++) {
        if (k % 2) synth_units(&rng, z, n, d);
        synth_image(&rng, z, n, d, 0, G + k * n * d, tmp);
        synth_mean(G + k * n * d, n, d, gm + k * d);
        cand[k] = G + k * n * d;
        cm[k] = gm + k * d;
    }
    fe_emd_options o;
    fe_emd_options_default(&o);
    o.weighting = FE_EMD_UNIFORM;
    o.epsilon = 0.0004;
    o.max_iter = 300;
    fe_emd_stats st[9];
    fe_emd_batch bt = {q, qm, n, n, d, K, cand, cm};
    CHECK_OK(fe_emd_rerank(NULL, &bt, &o, st));
    int flagged = 0;
    double worst = 0;
    for (size_t k = 0; k < K; k++) {
        fe_emd_stats ps;
        CHECK_OK(fe_emd_pair(q, n, cand[k], n, d, qm, cm[k], &o, NULL, NULL, NULL, &ps));
        flagged += (st[k].flags & FE_EMD_FLAG_UNDERFLOW) != 0;
        CHECK(st[k].algorithm == ((st[k].flags & FE_EMD_FLAG_UNDERFLOW) ? FE_EMD_ALG_SINKHORN_LOG
                                                                         : FE_EMD_ALG_SINKHORN));
        worst = fmax(worst, fabs(ps.similarity - st[k].similarity));
    }
    free(z); free(q); free(G); free(gm);
    NOTE("%d of %zu candidates fell back to the log domain; worst |batch - pair| %.2g", flagged, K, worst);
    CHECK(flagged > 0 && flagged < (int)K);
    CHECK(worst <= 1e-5);
}

/* ---- batched re-rank ------------------------------------------------------------------------------ */

FE_TEST(emd_rerank_matches_pair) {
    /* fe_emd_rerank (float GEMM, chunked, stacked or scattered candidates) against fe_emd_pair
     * (double similarities): S within 1e-5 for 4x4x256 and 8x8x128 (float costs), stacked ==
     * scattered bit for bit, exact solver path too; 8x8 with 40 candidates runs several chunks */
    synth_rng rng = {2024};
    struct { size_t n, d, K; } shapes[] = {{16, 256, 37}, {64, 128, 40}, {9, 32, 5}};
    double worst_all[3] = {0, 0, 0};
    int iters_diff_all = 0;
    for (size_t sh = 0; sh < 3; sh++) {
        size_t n = shapes[sh].n, d = shapes[sh].d, K = shapes[sh].K;
        float *z = malloc(n * d * sizeof *z), *q = malloc(n * d * sizeof *q), *tmp = malloc(2 * d * sizeof *tmp);
        float *G = malloc(K * n * d * sizeof *G), *Gs = malloc(K * n * d * sizeof *Gs);
        float *gm = malloc(K * d * sizeof *gm), *qm = malloc(d * sizeof *qm);
        const float **cand = malloc(K * sizeof *cand), **cands = malloc(K * sizeof *cands), **cm = malloc(K * sizeof *cm);
        fe_emd_stats *st = malloc(K * sizeof *st), *st2 = malloc(K * sizeof *st2);
        synth_units(&rng, z, n, d);
        synth_image(&rng, z, n, d, 0.25, q, tmp);
        synth_mean(q, n, d, qm);
        for (size_t k = 0; k < K; k++) {
            if (k % 5 == 0) {
                synth_image(&rng, z, n, d, 0, G + k * n * d, tmp);
            } else {
                float *zz = malloc(n * d * sizeof *zz);
                synth_units(&rng, zz, n, d);
                synth_image(&rng, zz, n, d, 0, G + k * n * d, tmp);
                free(zz);
            }
            synth_mean(G + k * n * d, n, d, gm + k * d);
            cand[k] = G + k * n * d;
            cm[k] = gm + k * d;
            /* scattered copy: reverse order in memory */
            memcpy(Gs + (K - 1 - k) * n * d, G + k * n * d, n * d * sizeof *G);
            cands[k] = Gs + (K - 1 - k) * n * d;
        }
        for (int solver = 0; solver < 2; solver++)
            for (int w = 0; w < 3; w++) {
                fe_emd_options o;
                fe_emd_options_default(&o);
                o.weighting = (fe_emd_weighting)w;
                o.solver = (fe_emd_solver)solver;
                fe_emd_batch bt = {q, qm, n, n, d, K, cand, cm};
                CHECK_OK(fe_emd_rerank(NULL, &bt, &o, st));
                bt.cand = cands;
                CHECK_OK(fe_emd_rerank(NULL, &bt, &o, st2));
                double worst = 0;
                int iters_diff = 0;
                for (size_t k = 0; k < K; k++) {
                    CHECK(memcmp(&st[k], &st2[k], sizeof st[k]) == 0);
                    fe_emd_stats ps;
                    CHECK_OK(fe_emd_pair(q, n, cand[k], n, d, qm, cm[k], &o, NULL, NULL, NULL, &ps));
                    worst = fmax(worst, fabs(ps.similarity - st[k].similarity));
                    iters_diff += ps.iterations != st[k].iterations;
                }
                worst_all[sh] = fmax(worst_all[sh], worst);
                iters_diff_all += solver == 0 ? iters_diff : 0;
                CHECK_MSG(worst <= 1e-5, "%zux%zu %s/%d: worst %.3g", n, d, solver ? "exact" : "sinkhorn", w, worst);
            }
        free(z); free(q); free(tmp); free(G); free(Gs); free(gm); free(qm);
        free(cand); free(cands); free(cm); free(st); free(st2);
    }
    NOTE("worst |batch - pair| over 3 weightings x 2 solvers: 4x4x256 %.2g, 8x8x128 %.2g, "
         "3x3x32 %.2g; Sinkhorn iteration counts differing %d", worst_all[0], worst_all[1],
         worst_all[2], iters_diff_all);
}

/* ---- hostile arguments and allocation failures ----------------------------------------------- */

FE_TEST(emd_bad_arguments) {
    double s[4] = {0.5, 0.1, 0.2, 0.7}, a[2] = {0.5, 0.5}, neg[2] = {0.5, -0.1}, zero[2] = {0, 0};
    double nan_s[4] = {0.5, NAN, 0.2, 0.7};
    fe_emd_stats st;
    fe_emd_options o;
    fe_emd_options_default(&o);
    CHECK_STATUS(fe_emd_sinkhorn(NULL, 2, 2, a, a, &o, NULL, &st), FE_E_ARG);
    CHECK_STATUS(fe_emd_sinkhorn(s, 0, 2, a, a, &o, NULL, &st), FE_E_ARG);
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, a, a, &o, NULL, NULL), FE_E_ARG);
    CHECK_STATUS(fe_emd_sinkhorn(s, FE_EMD_MAX_PATCHES + 1, 2, a, a, &o, NULL, &st), FE_E_LIMIT);
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, neg, a, &o, NULL, &st), FE_E_ARG);
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, a, zero, &o, NULL, &st), FE_E_ARG);
    CHECK_STATUS(fe_emd_sinkhorn(nan_s, 2, 2, a, a, &o, NULL, &st), FE_E_NUMERIC);
    CHECK_STATUS(fe_emd_exact(nan_s, 2, 2, a, a, NULL, &st), FE_E_NUMERIC);
    CHECK_STATUS(fe_emd_exact(s, 2, 2, neg, a, NULL, &st), FE_E_ARG);
    fe_emd_options bad = o;
    bad.size = 7;
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, a, a, &bad, NULL, &st), FE_E_ARG);
    bad = o, bad.epsilon = 0;
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, a, a, &bad, NULL, &st), FE_E_ARG);
    bad = o, bad.epsilon = NAN;
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, a, a, &bad, NULL, &st), FE_E_ARG);
    bad = o, bad.max_iter = 0;
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, a, a, &bad, NULL, &st), FE_E_ARG);
    bad = o, bad.stop_threshold = -1;
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, a, a, &bad, NULL, &st), FE_E_ARG);
    bad = o, bad.weighting = (fe_emd_weighting)9;
    CHECK_STATUS(fe_emd_sinkhorn(s, 2, 2, a, a, &bad, NULL, &st), FE_E_ARG);
    /* control: the same call with good arguments works, and NULL options mean defaults */
    CHECK_OK(fe_emd_sinkhorn(s, 2, 2, a, a, NULL, NULL, &st));
    CHECK(st.iterations >= 1 && st.algorithm == FE_EMD_ALG_SINKHORN);

    /* batch: missing pieces, NaN patches named by candidate, APC without means */
    float q[2 * 4] = {1, 0, 0, 0, 0, 1, 0, 0}, g[2 * 4] = {0, 0, 1, 0, 0, 0, 0, 1};
    float gn[2 * 4] = {0, 0, 1, 0, 0, NAN, 0, 1}, qm[4] = {0.7071f, 0.7071f, 0, 0};
    const float *cand[2] = {g, gn}, *cm[2] = {qm, qm};
    fe_emd_stats out[2];
    fe_emd_batch bt = {q, qm, 2, 2, 4, 2, cand, cm};
    CHECK_STATUS(fe_emd_rerank(NULL, &bt, &o, out), FE_E_NUMERIC);
    CHECK_MSG(strstr(fe_last_error(), "candidate 1") != NULL, "message: %s", fe_last_error());
    bt.n_cand = 1;
    CHECK_OK(fe_emd_rerank(NULL, &bt, &o, out));
    float nan_mean[4] = {0.5f, NAN, 0.5f, 0.5f};
    const float *cm_nan[1] = {nan_mean};
    bt.cand_mean = cm_nan;
    CHECK_STATUS(fe_emd_rerank(NULL, &bt, &o, out), FE_E_NUMERIC);
    CHECK_MSG(strstr(fe_last_error(), "APC") != NULL, "message: %s", fe_last_error());
    bt.cand_mean = NULL;
    CHECK_STATUS(fe_emd_rerank(NULL, &bt, &o, out), FE_E_ARG);
    o.weighting = FE_EMD_UNIFORM;
    CHECK_OK(fe_emd_rerank(NULL, &bt, &o, out));
    bt.d = FE_EMD_MAX_DIM + 1;
    CHECK_STATUS(fe_emd_rerank(NULL, &bt, &o, out), FE_E_LIMIT);
    bt.d = 4, bt.n_cand = 0;
    CHECK_OK(fe_emd_rerank(NULL, &bt, &o, NULL));   /* nothing to do */
    CHECK_STATUS(fe_emd_rerank(NULL, NULL, &o, out), FE_E_ARG);
    float zeros[8] = {0};
    CHECK_STATUS(fe_emd_mean_patch(zeros, 2, 4, qm), FE_E_NUMERIC);
}

FE_TEST(emd_allocation_failures) {
    /* every allocation of the public entries may fail: FE_E_NOMEM, outputs cleared, no leak
     * (LeakSanitizer under make check) */
    float q[4 * 8], g[4 * 8], qm[8], gm[8];
    synth_rng rng = {1};
    synth_units(&rng, q, 4, 8);
    synth_units(&rng, g, 4, 8);
    synth_mean(q, 4, 8, qm);
    synth_mean(g, 4, 8, gm);
    const float *cand[1] = {g}, *cm[1] = {gm};
    fe_emd_batch bt = {q, qm, 4, 4, 8, 1, cand, cm};
    int failures = 0;
    for (int solver = 0; solver < 2; solver++)
        for (long k = 0; k < 12; k++) {
            fe_emd_options o;
            fe_emd_options_default(&o);
            o.solver = (fe_emd_solver)solver;
            fe_emd_stats st;
            fe__alloc_fail_after(k);
            fe_status s1 = fe_emd_pair(q, 4, g, 4, 8, NULL, NULL, &o, NULL, NULL, NULL, &st);
            fe__alloc_fail_after(k);
            fe_status s2 = fe_emd_rerank(NULL, &bt, &o, &st);
            fe_emd_workspace *ws = NULL;
            fe__alloc_fail_after(k);
            fe_status s3 = fe_emd_workspace_create(&ws);
            if (s3 == FE_OK) s3 = fe_emd_rerank(ws, &bt, &o, &st);
            fe__alloc_fail_after(-1);
            fe_emd_workspace_destroy(ws);
            CHECK(s1 == FE_OK || s1 == FE_E_NOMEM);
            CHECK(s2 == FE_OK || s2 == FE_E_NOMEM);
            CHECK(s3 == FE_OK || s3 == FE_E_NOMEM);
            failures += (s1 != FE_OK) + (s2 != FE_OK) + (s3 != FE_OK);
        }
    NOTE("%d injected allocation failures reported as FE_E_NOMEM", failures);
    CHECK(failures > 0);
}
