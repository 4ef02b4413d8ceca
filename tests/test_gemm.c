/*
 * test_gemm.c — the SGEMM driver and both micro-kernels against a naive triple loop.
 *
 * Inputs are multiples of 1/64 in [-1, 1], so every product is exact and every partial sum
 * below 2^24 * 2^-12 is exact too: for k up to ~2000 the fp32 GEMM must equal the double
 * reference *exactly*, whatever the blocking. Larger problems use random floats with a
 * bound of (k+2)*2^-24*sum|a||b|. Every comparison has a negative control.
 */
#include "test.h"
#include "gemm.h"

#include <string.h>

static uint32_t rng_state = 12345u;
static uint32_t rng(void) {   /* xorshift32, deterministic */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}
static float dyadic(void) { return (float)((int)(rng() % 129u) - 64) / 64.0f; }
static float uniform(void) { return (float)((double)(rng() >> 8) / 16777216.0 * 2.0 - 1.0); }

/* Kernels to test: the reference always, AVX2 when this CPU has it. */
static int kernels(const fe__gemm_kernel **ks) {
    int n = 0;
    ks[n++] = fe__gemm_kernel_ref();
    if (fe__gemm_kernel_avx2()) ks[n++] = fe__gemm_kernel_avx2();
    return n;
}

typedef struct {
    int    ta, tb;
    size_t m, n, k, lda, ldb, ldc;
    float  alpha, beta;
    float *A, *B, *C, *C0;   /* C0: C before the call (for beta) */
    double *ref;             /* m x n expected */
    double *absref;          /* m x n: sum |alpha a b| (error scale) */
} problem;

static void problem_free(problem *p) {
    free(p->A); free(p->B); free(p->C); free(p->C0); free(p->ref); free(p->absref);
    memset(p, 0, sizeof *p);
}

static float a_at(const problem *p, size_t i, size_t q) {
    return p->ta ? p->A[q * p->lda + i] : p->A[i * p->lda + q];
}
static float b_at(const problem *p, size_t q, size_t j) {
    return p->tb ? p->B[j * p->ldb + q] : p->B[q * p->ldb + j];
}

/* Builds a problem with padded strides (pad = extra columns filled with a sentinel). */
static int problem_init(problem *p, int ta, int tb, size_t m, size_t n, size_t k, size_t pad,
                        float alpha, float beta, int exact, float c_fill) {
    memset(p, 0, sizeof *p);
    p->ta = ta; p->tb = tb; p->m = m; p->n = n; p->k = k;
    p->alpha = alpha; p->beta = beta;
    size_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    p->lda = ac + pad; p->ldb = bc + pad; p->ldc = n + pad;
    p->A = malloc((ar * p->lda + 1) * sizeof(float));
    p->B = malloc((br * p->ldb + 1) * sizeof(float));
    p->C = malloc((m * p->ldc + 1) * sizeof(float));
    p->C0 = malloc((m * p->ldc + 1) * sizeof(float));
    p->ref = malloc((m * n + 1) * sizeof(double));
    p->absref = malloc((m * n + 1) * sizeof(double));
    if (!p->A || !p->B || !p->C || !p->C0 || !p->ref || !p->absref) return 0;
    for (size_t i = 0; i < ar * p->lda; i++) p->A[i] = exact ? dyadic() : uniform();
    for (size_t i = 0; i < br * p->ldb; i++) p->B[i] = exact ? dyadic() : uniform();
    for (size_t i = 0; i < m * p->ldc; i++) {
        size_t col = i % p->ldc;
        /* c_fill: NaN poisons C (beta = 0 must not read it); 0.5 means dyadic values */
        p->C[i] = col < n ? (c_fill == 0.5f ? dyadic() : c_fill) : 777.0f;  /* pad: sentinel */
    }
    memcpy(p->C0, p->C, m * p->ldc * sizeof(float));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0, sa = 0;
            for (size_t q = 0; q < k; q++) {
                double v = (double)a_at(p, i, q) * (double)b_at(p, q, j);
                s += v;
                sa += fabs(v);
            }
            double c0 = p->C0[i * p->ldc + j];
            p->ref[i * n + j] = (double)alpha * s + (beta != 0.0f ? (double)beta * c0 : 0.0);
            p->absref[i * n + j] = fabs((double)alpha) * sa + (beta != 0.0f ? fabs((double)beta * c0) : 0.0);
        }
    return 1;
}

/* Returns the number of bad elements; worst error relative to the bound in *worst.
 * exact: require equality; else |c - ref| <= (k+4) * 2^-24 * absref + 1e-30. Also checks
 * that the padding sentinels are untouched. */
static size_t problem_check(const problem *p, const float *C, int exact, double *worst) {
    size_t bad = 0;
    *worst = 0;
    for (size_t i = 0; i < p->m; i++) {
        for (size_t j = 0; j < p->ldc; j++) {
            float c = C[i * p->ldc + j];
            if (j >= p->n) {
                if (c != 777.0f) bad++;
                continue;
            }
            double r = p->ref[i * p->n + j];
            double err = fabs((double)c - r);
            double tol = exact ? 0.0 : ((double)p->k + 4.0) * 0x1p-24 * p->absref[i * p->n + j] + 1e-30;
            if (!(err <= tol)) bad++;
            double rel = tol > 0 ? err / tol : (err > 0 ? 1e30 : 0);
            if (rel > *worst || rel != rel) *worst = rel;
        }
    }
    return bad;
}

/* Runs one problem on one kernel; returns bad count (and a negative control: flipping one
 * output element by one ulp must be detected by the same check). */
static size_t run_problem(const fe__gemm_kernel *kern, int threads, problem *p, int exact,
                          double *worst, int *control_ok, fe_status *st) {
    memcpy(p->C, p->C0, p->m * p->ldc * sizeof(float));
    *st = fe__sgemm_ex(kern, threads, p->ta, p->tb, p->m, p->n, p->k, p->alpha, p->A, p->lda,
                       p->B, p->ldb, p->beta, p->C, p->ldc);
    size_t bad = problem_check(p, p->C, exact, worst);
    /* negative control: perturb the middle element clearly beyond the tolerance */
    size_t mid = (p->m / 2) * p->ldc + p->n / 2;
    float keep = p->C[mid];
    double tol = exact ? 0 : ((double)p->k + 4.0) * 0x1p-24 * p->absref[(p->m / 2) * p->n + p->n / 2];
    p->C[mid] = (float)((double)keep + 4.0 * tol + 1e-3);
    double w2;
    *control_ok = problem_check(p, p->C, exact, &w2) > bad;
    p->C[mid] = keep;
    return bad;
}

FE_TEST(gemm_exact_awkward_sizes_both_kernels) {
    /* 1, MR-1, MR, MR+1, NR-1, NR, NR+1, KC-1, KC, KC+1, MC-1, MC+1, primes */
    static const size_t sizes[] = {1, 5, 6, 7, 15, 16, 17, 31, 95, 97, 255, 256, 257, 131};
    const size_t ns = sizeof sizes / sizeof sizes[0];
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    size_t cases = 0;
    for (int ki = 0; ki < nk; ki++) {
        for (size_t a = 0; a < ns; a++) {
            /* each size in each role, partnered with sizes that rotate through the list */
            size_t triples[3][3] = {{sizes[a], sizes[(a + 3) % ns], sizes[(a + 7) % ns]},
                                    {sizes[(a + 5) % ns], sizes[a], sizes[(a + 2) % ns]},
                                    {sizes[(a + 9) % ns], sizes[(a + 11) % ns], sizes[a]}};
            for (int ti = 0; ti < 3; ti++) {
                int ta = (int)((a + (size_t)ti) & 1), tb = (int)(((a + (size_t)ti) >> 1) & 1);
                problem p;
                CHECK(problem_init(&p, ta, tb, triples[ti][0], triples[ti][1], triples[ti][2],
                                   (a % 3) * 3, 1.0f, 0.0f, 1, NAN));
                double worst;
                int control;
                fe_status st;
                size_t bad = run_problem(ks[ki], 1, &p, 1, &worst, &control, &st);
                if (st != FE_OK || bad || !control) {
                    problem_free(&p);
                    FAIL("%s m=%zu n=%zu k=%zu ta=%d tb=%d: status %s, %zu bad, control %d",
                         ks[ki]->name, triples[ti][0], triples[ti][1], triples[ti][2], ta, tb,
                         fe_status_name(st), bad, control);
                }
                problem_free(&p);
                cases++;
            }
        }
    }
    NOTE("%zu exact cases over %d kernel(s), NaN-poisoned C with beta=0, padded strides", cases, nk);
}

FE_TEST(gemm_alpha_beta_and_accumulation_over_kc) {
    /* beta != 0 reads C once; k > KC accumulates across KC blocks with beta only once */
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    for (int ki = 0; ki < nk; ki++) {
        problem p;
        CHECK(problem_init(&p, 0, 1, 37, 45, 700, 2, 0.5f, 0.5f, 1, 0.5f));
        double worst;
        int control;
        fe_status st;
        size_t bad = run_problem(ks[ki], 1, &p, 1, &worst, &control, &st);
        problem_free(&p);
        CHECK_OK(st);
        CHECK_MSG(bad == 0 && control, "%s: %zu bad, control %d", ks[ki]->name, bad, control);
        CHECK(problem_init(&p, 1, 0, 20, 33, 300, 0, -2.0f, 1.0f, 1, 0.5f));
        bad = run_problem(ks[ki], 1, &p, 1, &worst, &control, &st);
        problem_free(&p);
        CHECK_OK(st);
        CHECK_MSG(bad == 0 && control, "%s alpha=-2 beta=1: %zu bad", ks[ki]->name, bad);
    }
}

FE_TEST(gemm_large_random_within_bound) {
    /* random floats: the error bound (k+4)*2^-24*sum|ab|; several MC/NC/KC blocks */
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    double worst_all = 0;
    size_t m = fe_t_sanitized() ? 130 : 301, n = fe_t_sanitized() ? 150 : 2100, k = 517;
    for (int ki = 0; ki < nk; ki++) {
        for (int tt = 0; tt < 2; tt++) {
            problem p;
            CHECK(problem_init(&p, tt, tt, m, n, k, 1, 1.0f, 0.0f, 0, NAN));
            double worst;
            int control;
            fe_status st;
            size_t bad = run_problem(ks[ki], 2, &p, 0, &worst, &control, &st);
            problem_free(&p);
            CHECK_OK(st);
            CHECK_MSG(bad == 0 && control, "%s %zux%zux%zu trans=%d: %zu bad, control %d",
                      ks[ki]->name, m, n, k, tt, bad, control);
            if (worst > worst_all) worst_all = worst;
        }
    }
    NOTE("%zux%zux%zu: worst error %.3f of the (k+4)*2^-24*sum|ab| bound", m, n, k, worst_all);
}

FE_TEST(gemm_threads_bit_identical) {
    /* the thread split never changes a result: each C element is one ordered chain */
    const fe__gemm_kernel *k = fe__gemm_kernel_default();
    problem p;
    CHECK(problem_init(&p, 0, 0, 200, 300, 400, 0, 1.0f, 0.0f, 0, 0.0f));
    CHECK_OK(fe__sgemm_ex(k, 1, 0, 0, p.m, p.n, p.k, 1.0f, p.A, p.lda, p.B, p.ldb, 0.0f, p.C, p.ldc));
    float *c1 = malloc(p.m * p.ldc * sizeof(float));
    CHECK(c1 != NULL);
    memcpy(c1, p.C, p.m * p.ldc * sizeof(float));
    CHECK_OK(fe__sgemm_ex(k, 2, 0, 0, p.m, p.n, p.k, 1.0f, p.A, p.lda, p.B, p.ldb, 0.0f, p.C, p.ldc));
    int same = memcmp(c1, p.C, p.m * p.ldc * sizeof(float)) == 0;
    p.C[7] += 1.0f;   /* negative control */
    int control = memcmp(c1, p.C, p.m * p.ldc * sizeof(float)) != 0;
    free(c1);
    problem_free(&p);
    CHECK(same);
    CHECK(control);
}

FE_TEST(gemm_degenerate_and_argument_errors) {
    float C[6];
    for (int i = 0; i < 6; i++) C[i] = NAN;
    /* k == 0 with beta == 0: C becomes zero without being read; A, B never touched */
    CHECK_OK(fe__sgemm(0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, C, 3));
    for (int i = 0; i < 6; i++) CHECK(C[i] == 0.0f);
    for (int i = 0; i < 6; i++) C[i] = (float)i;
    CHECK_OK(fe__sgemm(0, 0, 2, 3, 4, 0.0f, NULL, 4, NULL, 3, 2.0f, C, 3));   /* alpha = 0 */
    for (int i = 0; i < 6; i++) CHECK(C[i] == 2.0f * (float)i);
    CHECK_OK(fe__sgemm(0, 0, 0, 3, 4, 1.0f, NULL, 4, NULL, 3, 0.0f, NULL, 3));  /* m == 0 */
    float A[8] = {0}, B[12] = {0};
    CHECK_STATUS(fe__sgemm(0, 0, 2, 3, 4, 1.0f, A, 4, B, 3, 0.0f, C, 2), FE_E_ARG);  /* ldc < n */
    CHECK_STATUS(fe__sgemm(0, 0, 2, 3, 4, 1.0f, A, 3, B, 3, 0.0f, C, 3), FE_E_ARG);  /* lda < k */
    CHECK_STATUS(fe__sgemm(1, 0, 2, 3, 4, 1.0f, A, 1, B, 3, 0.0f, C, 3), FE_E_ARG);  /* lda < m */
    CHECK_STATUS(fe__sgemm(0, 1, 2, 3, 4, 1.0f, A, 4, B, 3, 0.0f, C, 3), FE_E_ARG);  /* ldb < k */
    CHECK_STATUS(fe__sgemm(0, 0, 2, 3, 4, 1.0f, NULL, 4, B, 3, 0.0f, C, 3), FE_E_ARG);
    CHECK_STATUS(fe__sgemm(0, 0, SIZE_MAX / 2, 3, 4, 1.0f, A, 4, B, 3, 0.0f, C, SIZE_MAX / 2),
                 FE_E_OVERFLOW);
    /* allocation failure of the packing buffers */
    fe__alloc_fail_after(0);
    fe_status st = fe__sgemm(0, 0, 2, 3, 4, 1.0f, A, 4, B, 3, 0.0f, C, 3);
    fe__alloc_fail_after(-1);
    CHECK_STATUS(st, FE_E_NOMEM);
}

FE_TEST(gemm_microkernel_segments_and_affine_epilogue) {
    /* The conv contract: A rows addressed in place with k split into segments, and the
     * affine epilogue ((ab + bias) * scale + shift + res, relu) bit-exact to the same float
     * ops done here, for every row count 1..MR, on both kernels. */
    enum { MR = FE_GEMM_MR, NR = FE_GEMM_NR, K = 40 };
    static float src[MR][128];
    static _Alignas(64) float bp[K * NR];
    float bias[NR], scale[NR], shift[NR], res[MR][NR], out[MR][NR];
    for (int r = 0; r < MR; r++)
        for (int i = 0; i < 128; i++) src[r][i] = dyadic();
    for (int i = 0; i < K * NR; i++) bp[i] = dyadic();
    for (int j = 0; j < NR; j++) {
        bias[j] = uniform() * 1e-4f; scale[j] = 2.0f + 20.0f * fabsf(uniform());
        shift[j] = 6.0f * uniform();
    }
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < NR; j++) res[r][j] = 3.0f * uniform();
    /* three segments: k 0..9 from offset 5, k 10..29 from offset 60, k 30..39 from offset 100 */
    const fe__kseg seg[3] = {{5, 0, 10}, {60, 10 * NR, 20}, {100, 30 * NR, 10}};
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    size_t checked = 0;
    for (int ki = 0; ki < nk; ki++) {
        for (size_t mr = 1; mr <= MR; mr++) {
            for (int variant = 0; variant < 4; variant++) {
                const float *a[MR], *rr[MR];
                float *c[MR];
                for (size_t r = 0; r < MR; r++) {
                    a[r] = src[r]; c[r] = out[r]; rr[r] = res[r];
                    for (int j = 0; j < NR; j++) out[r][j] = NAN;
                }
                fe__epi ep = {FE_EPI_AFFINE, 1.0f, 0.0f, bias, scale, shift,
                              (variant & 1) ? rr : NULL, (variant >> 1) & 1};
                ks[ki]->ukr(mr, 3, seg, a, bp, c, &ep);
                for (size_t r = 0; r < mr; r++)
                    for (int j = 0; j < NR; j++) {
                        double acc = 0;   /* exact: dyadic data, small k */
                        for (int s = 0; s < 3; s++)
                            for (size_t q = 0; q < seg[s].len; q++)
                                acc += (double)src[r][seg[s].a_off + q] * bp[seg[s].b_off + q * NR + (size_t)j];
                        float v = (float)acc + bias[j];
                        v = v * scale[j];
                        v = v + shift[j];
                        if (variant & 1) v = v + res[r][j];
                        if ((variant >> 1) & 1 && v < 0.0f) v = 0.0f;
                        CHECK_MSG(out[r][j] == v, "%s mr=%zu variant %d r=%zu j=%d: %.9g != %.9g",
                                  ks[ki]->name, mr, variant, r, (int)j, out[r][j], v);
                        checked++;
                    }
                for (size_t r = mr; r < MR; r++)   /* rows beyond mr untouched */
                    for (int j = 0; j < NR; j++) CHECK(out[r][j] != out[r][j]);
            }
        }
    }
    /* relu keeps NaN (reference: v < 0 ? 0 : v) */
    for (int ki = 0; ki < nk; ki++) {
        const float *a[1] = {src[0]};
        float *c[1] = {out[0]};
        float nanbias[NR];
        for (int j = 0; j < NR; j++) nanbias[j] = j == 3 ? NAN : -1e30f;
        fe__epi ep = {FE_EPI_AFFINE, 1.0f, 0.0f, nanbias, scale, shift, NULL, 1};
        ks[ki]->ukr(1, 3, seg, a, bp, c, &ep);
        CHECK_MSG(out[0][3] != out[0][3], "%s: relu(NaN) gave %g", ks[ki]->name, out[0][3]);
        CHECK(out[0][0] == 0.0f);
    }
    NOTE("%zu outputs bit-exact (rows 1..%d, 3 segments, residual/relu variants)", checked, MR);
}

FE_TEST(gemm_gemv_matches_one_row_microkernel) {
    /* The one-row multi-panel kernel (1x1 maps at batch 1) must give, panel by panel, the
     * very bits ukr(1, ...) gives on the same kernel: same chains, same epilogue. Random
     * (non-dyadic) data and a long k, so any reordering of the sum would show. */
    enum { NR = FE_GEMM_NR, NP = FE_GEMM_GEMV_NP, K = 700, PS = K * NR + 64 };
    static float src[1024];
    static _Alignas(64) float bp[NP * PS];
    static float bias[NP * NR], scale[NP * NR], shift[NP * NR], res[NP * NR];
    static float out[NP * NR], want[NP * NR];
    for (int i = 0; i < 1024; i++) src[i] = uniform();
    for (int i = 0; i < NP * PS; i++) bp[i] = uniform();
    for (int j = 0; j < NP * NR; j++) {
        bias[j] = uniform() * 1e-2f; scale[j] = 0.5f + fabsf(uniform());
        shift[j] = uniform(); res[j] = uniform();
    }
    const fe__kseg seg[3] = {{3, 0, 250}, {300, 250 * NR, 200}, {700, 450 * NR, 250}};
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    size_t checked = 0;
    for (int ki = 0; ki < nk; ki++) {
        CHECK(ks[ki]->gemv != NULL);
        if (!ks[ki]->gemv) continue;
        for (size_t np = 1; np <= NP; np++)
            for (int variant = 0; variant < 5; variant++) {
                const float *rp = res;
                fe__epi ep = {FE_EPI_AFFINE, 1.0f, 0.0f, bias, scale, shift,
                              (variant & 1) ? &rp : NULL, (variant >> 1) & 1};
                if (variant == 4) {
                    fe__epi g = {FE_EPI_GEMM, 0.75f, 0.0f, NULL, NULL, NULL, NULL, 0};
                    ep = g;
                }
                for (int j = 0; j < NP * NR; j++) out[j] = want[j] = NAN;
                ks[ki]->gemv(np, 3, seg, src, bp, PS, out, &ep);
                for (size_t p = 0; p < np; p++) {
                    const float *a[1] = {src}, *rr[1] = {res + p * NR};
                    float *c[1] = {want + p * NR};
                    fe__epi e = ep;
                    if (variant != 4) {
                        e.bias = bias + p * NR; e.scale = scale + p * NR; e.shift = shift + p * NR;
                        e.res = (variant & 1) ? rr : NULL;
                    }
                    ks[ki]->ukr(1, 3, seg, a, bp + p * PS, c, &e);
                }
                for (size_t j = 0; j < np * NR; j++, checked++)
                    CHECK_MSG(memcmp(&out[j], &want[j], sizeof(float)) == 0,
                              "%s np=%zu variant %d j=%zu: %.9g != %.9g", ks[ki]->name, np,
                              variant, j, out[j], want[j]);
                for (size_t j = np * NR; j < NP * NR; j++) CHECK(out[j] != out[j]);
            }
    }
    NOTE("%zu outputs bit-identical to ukr(1, ...) (np 1..%d, affine/residual/relu/gemm)",
         checked, NP);
}

FE_TEST(gemm_pack_b_layout) {
    /* panel j, row k, lane l holds B[k][j*NR + l]; lanes past n are zero */
    enum { NR = FE_GEMM_NR };
    size_t k = 5, n = 37;
    float B[5 * 40];
    for (size_t i = 0; i < 5 * 40; i++) B[i] = (float)i;
    size_t sz = fe__gemm_packed_b_size(k, n);
    CHECK(sz == 3 * k * NR);
    float *p = fe__aligned_alloc(sz * sizeof(float));
    CHECK(p != NULL);
    fe__gemm_pack_b(k, n, B, 40, p);
    size_t bad = 0;
    for (size_t j = 0; j < 3; j++)
        for (size_t q = 0; q < k; q++)
            for (size_t l = 0; l < NR; l++) {
                size_t col = j * NR + l;
                float want = col < n ? B[q * 40 + col] : 0.0f;
                if (p[(j * k + q) * NR + l] != want) bad++;
            }
    fe__aligned_free(p);
    CHECK_MSG(bad == 0, "%zu misplaced", bad);
}

FE_TEST(gemm_small_m_transposed_b_path) {
    /* m <= 64 with op(B) = B^T takes the swapped route (C^T = B op(A)^T, B read in place,
     * tiles stored transposed): the shapes of query batches and EMD cost matrices. Exact on
     * dyadic data, beta = 0 into NaN-poisoned C, beta != 0, k over KC, padded strides. */
    static const size_t ms[] = {1, 16, 17, 64}, ns[] = {24, 101, 1601}, ks_[] = {1, 257, 600};
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    size_t cases = 0;
    for (int ki = 0; ki < nk; ki++)
        for (size_t a = 0; a < 4; a++)
            for (size_t b = 0; b < 3; b++)
                for (size_t c = 0; c < 3; c++) {
                    int ta = (int)((a + b + c) & 1);
                    int beta_case = (int)((a + c) % 2);
                    problem p;
                    CHECK(problem_init(&p, ta, 1, ms[a], ns[b], ks_[c], (b + 1) % 3, 1.0f,
                                       beta_case ? 0.5f : 0.0f, 1, beta_case ? 0.5f : NAN));
                    double worst;
                    int control;
                    fe_status st;
                    size_t bad = run_problem(ks[ki], 2, &p, 1, &worst, &control, &st);
                    problem_free(&p);
                    CHECK_OK(st);
                    CHECK_MSG(bad == 0 && control, "%s m=%zu n=%zu k=%zu ta=%d beta=%s: %zu bad",
                              ks[ki]->name, ms[a], ns[b], ks_[c], ta, beta_case ? "0.5" : "0", bad);
                    cases++;
                }
    NOTE("%zu exact cases on the swapped small-m B^T route", cases);
}
