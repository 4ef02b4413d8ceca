/*
 * emd.h — internals of stage 2 (patch-wise EMD): kernel choice, the cost GEMM swap point, the
 * Sinkhorn problem layout shared by the portable and AVX2 kernels, and the exact solvers.
 *
 * Numerics: similarities may come from a float GEMM, everything after (kernel, scalings, stop
 * rule, plan) is double, because the paper's stop rule compares absolute changes of r (values up
 * to ~1e7 here) with 0.1, i.e. it needs ~1e-8 relative accuracy, beyond float.
 */
#ifndef FE_EMD_H
#define FE_EMD_H

#include "internal.h"

#ifndef FE__EMD_HAVE_AVX2   /* -DFE__EMD_HAVE_AVX2=0 builds the portable path alone */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FE__EMD_HAVE_AVX2 1
#else
#define FE__EMD_HAVE_AVX2 0
#endif
#endif

typedef enum fe__emd_kernel { FE__EMD_REF = 0, FE__EMD_AVX2 = 1 } fe__emd_kernel;

/* A hint to bring the cache line at p into L2 (no effect on results; nothing where the
 * compiler has no such builtin). */
#if defined(__GNUC__) || defined(__clang__)
#define fe__prefetch_l2(p) __builtin_prefetch((p), 0, 2)
#else
#define fe__prefetch_l2(p) ((void)(p))
#endif

/* A prefetch cursor over rows that will be read soon: fe__pf_step issues a few L2 prefetches
 * and advances, so a compute-bound loop (the cost GEMM) can stream the next data in without
 * stalling on a burst of misses. */
typedef struct fe__pf {
    const float *const *rows;
    size_t n_rows, row_bytes, row, off;
} fe__pf;
static inline void fe__pf_step(fe__pf *pf, int lines) {
    for (; lines > 0 && pf->row < pf->n_rows; lines--) {
        fe__prefetch_l2((const char *)pf->rows[pf->row] + pf->off);
        pf->off += 64;
        if (pf->off >= pf->row_bytes) pf->off = 0, pf->row++;
    }
}

/* AVX2+FMA when the CPU has them and FE_KERNEL is not "ref"; else the portable kernels. */
fe__emd_kernel fe__emd_kernel_pick(void);

/* ---- cost GEMM (swap point, emd_gemm.c) -----------------------------------------------------
 * C[i*ldc + j] = sum_k A[i*lda + k] * B[j*ldb + k], i < M, j < N ("NT": both operands are rows
 * of length K), float, 8 partial sums per dot product: the portable reference. */
void fe__emd_gemm_nt_ref(size_t M, size_t N, size_t K, const float *A, size_t lda,
                         const float *B, size_t ldb, float *C, size_t ldc);
/* The re-rank's GEMM, transposed: T[j*ldt + i] = <q_i, B_j> for the n query rows q_i (rows i
 * in [n, fe__emd_panel_rows(n)) get 0; ldt >= that), and qb[j] = <qbar, B_j> when qbar is not
 * NULL. Q: n x d row-major (the portable kernel reads it); P: Q packed by fe__emd_pack_query
 * (the SIMD kernel reads it; 32-byte aligned): panels of 16 rows, each d x 16 floats k-major,
 * fe__emd_panel_rows(n) * d floats in all. pf (may be NULL): rows to stream into L2
 * meanwhile, 2 lines per 4 k-steps (the next chunk: the GEMM is compute-bound and leaves the
 * memory system idle); jit: B itself is cold, prefetch its rows two candidates ahead. */
size_t fe__emd_panel_rows(size_t n);
void fe__emd_pack_query(const float *Q, size_t n, size_t d, float *P);
void fe__emd_gemm_cost(fe__emd_kernel kern, size_t n, size_t d, const float *Q, const float *P,
                       const float *qbar, size_t N, const float *const *B, float *T, size_t ldt,
                       float *qb, fe__pf *pf, int jit);
#if FE__EMD_HAVE_AVX2
void fe__emd_gemm_cost_avx2(size_t n, size_t d, const float *P, const float *qbar, size_t N,
                            const float *const *B, float *T, size_t ldt, float *qb, fe__pf *pf,
                            int jit);
/* y[i] = exp(x[i]) for x[i] <= 0 (finite): relative error <= 4.5e-16 (tested); results below
 * 2^-1022 are flushed to 0. */
void fe__emd_exp_neg_avx2(const double *x, double *y, size_t n);
#endif

/* ---- Sinkhorn problem ------------------------------------------------------------------
 * K' = exp(-(c - cmin)/eps) (max entry 1), K = sigma K' with sigma = exp(-cmin/eps), so with
 * r' = sigma r the iteration r' = a/(K'c), c = b/(K'^T r') is the paper's, and the stop test
 * mean|r - r_prev| < thr becomes mean|r' - r'_prev| < thr * sigma. Rows and columns are padded
 * to multiples of 4 (np, mp) for the SIMD kernel: padded K' entries are 1, padded s, a, b, r,
 * c are 0, so padding never touches a real row or column (padded u, v stay > 0, r, c 0). */
typedef struct fe__sk {
    size_t  n, m, np, mp;
    double *s;       /* np*mp similarities, row-major, padding 0                              */
    double *K;       /* np*mp, K' (row-major; both products read it, no transpose is kept)   */
    double *a, *b;   /* np, mp                                                                */
    double *r, *c;   /* np, mp: scalings (r in the r' = sigma r scale)                        */
    double *work;    /* 2*(np + mp): log-domain and finishing scratch                         */
    double  eps;
    double  cmin;    /* min c_ij; sigma = exp(-cmin/eps)                                       */
    double  cmax;    /* max c_ij (set by the loads)                                            */
    int     kready;  /* K' already computed by the load (fe__sk_load_f32t with eps)            */
} fe__sk;

/* Doubles needed by fe__sk_bind for an n x m problem (0 on overflow). */
size_t fe__sk_doubles(size_t n, size_t m);
/* Lays the arrays over mem (fe__sk_doubles(n, m) doubles, 32-byte aligned). */
void fe__sk_bind(fe__sk *p, double *mem, size_t n, size_t m);
/* Copies n x m similarities (row stride lds) into p->s and sets p->cmin; 0 if any is not
 * finite. */
int fe__sk_load_f64(fe__sk *p, const double *s, size_t lds);
int fe__sk_load_f32(fe__sk *p, fe__emd_kernel kern, const float *s, size_t lds);
/* The same from a transposed matrix, s_ij = t[j*ldt + i] (fe__emd_gemm_cost's output; ldt >= n
 * rounded up to 8). eps > 0: the AVX2 kernel also computes K' in float in the same pass where
 * fe__sk_prepare_f32 would (p->kready; the prepare then keeps it). */
int fe__sk_load_f32t(fe__sk *p, fe__emd_kernel kern, const float *t, size_t ldt, double eps);
/* Builds K' from p->s (after a load) and copies the masses a (n), b (m) in. */
void fe__sk_prepare(fe__sk *p, fe__emd_kernel kern, const double *a, const double *b, double eps);
/* fe__sk_prepare for a problem loaded from floats (fe__sk_load_f32 or _f32t): the AVX2 kernel
 * then computes K' in float (its inputs came from a float GEMM, so that is their accuracy),
 * unless the exponents would leave float's range. */
void fe__sk_prepare_f32(fe__sk *p, fe__emd_kernel kern, const double *a, const double *b,
                        double eps);
/* Starting point r = 1, c = 1 in the paper's scale; returns sigma. */
double fe__sk_start(fe__sk *p);
/* One iteration: r = a/(K'c), c = b/(K'^T r). *change = mean|r' - r'_prev| (divide by sigma
 * for the paper's scale). Returns 1 when under/overflow or NaN was seen (the values are then
 * unusable), else 0. */
int fe__sk_step(fe__sk *p, fe__emd_kernel kern, double *change);
int fe__sk_step_ref(fe__sk *p, double *change);

/* fe__sk_start, then fe__sk_step until the stop rule (thr in the paper's scale; 0: never),
 * max_iter, or under/overflow. Returns the iterations run; *fired = the stop rule held;
 * *last_change = mean|r - r_prev| of the last iteration (paper scale); *bad = see step. */
uint32_t fe__sk_iterate(fe__sk *p, fe__emd_kernel kern, uint32_t max_iter, double thr,
                        double *last_change, int *fired, int *bad);
/* Log-domain iterations on the same problem (uses p->s, p->a, p->b; potentials in p->work).
 * Same outputs as fe__sk_iterate. */
uint32_t fe__sk_iterate_log(fe__sk *p, uint32_t max_iter, double thr, double *last_change,
                            int *fired, int *bad);
/* After fe__sk_iterate (log = 0) or fe__sk_iterate_log (log = 1): similarity, cost and
 * marginal error into st; the plan into plan (n*m) when not NULL. 0 if a value is not finite. */
int fe__sk_finish(fe__sk *p, fe__emd_kernel kern, int log, double *plan, fe_emd_stats *st);

#if FE__EMD_HAVE_AVX2
int fe__sk_load_f32_avx2(fe__sk *p, const float *s, size_t lds);
int fe__sk_load_f32t_avx2(fe__sk *p, const float *t, size_t ldt, double eps);
void fe__sk_kernel_avx2(fe__sk *p);
/* K' from p->s (float values) with the float exp; exponents must stay >= -87
 * (fe__sk_prepare_f32 checks). */
void fe__sk_kernel_fast_avx2(fe__sk *p);
/* y = exp(x) for x <= 0 in float: relative error ~2e-7; below -87.3 flushed to 0. */
void fe__emd_expf_neg_avx2(const float *x, float *y, size_t n);
int fe__sk_step_avx2(fe__sk *p, double *change);
/* The scaling loop for np == mp == 16 (the 4x4 grid), bit-identical to repeated
 * fe__sk_step_avx2; thr_scaled and *change in the r' scale. */
uint32_t fe__sk_iterate16_avx2(fe__sk *p, uint32_t max_iter, double thr_scaled, double *change,
                               int *fired, int *bad);
int fe__sk_finish_avx2(fe__sk *p, double *plan, fe_emd_stats *st);
#endif

/* The whole Sinkhorn solve on a loaded, prepared problem: plain, then the log domain if the
 * plain iterations under/overflowed (or opt->log_domain). FE_E_NUMERIC if even that fails.
 * st->flags is kept (weight flags) and FE_EMD_FLAG_UNDERFLOW added when the log domain ran
 * after a failure. */
fe_status fe__sk_solve(fe__sk *p, fe__emd_kernel kern, const fe_emd_options *opt, double *plan,
                       fe_emd_stats *st);
/* The log-domain solve alone (after a failed plain run, or on request). */
fe_status fe__sk_solve_log(fe__sk *p, const fe_emd_options *opt, double *plan, fe_emd_stats *st);

/* Argument checks shared by the public entries: options (size, ranges), and one pair given as
 * a similarity matrix with masses (finite, >= 0, positive sums, caps). */
fe_status fe__emd_check_options(const fe_emd_options *opt);
fe_status fe__emd_check_pair(const double *sim, size_t n, size_t m, const double *a,
                             const double *b);

/* Patch masses (emd_weights.c). fe__emd_normalise: w <- max(0, w) / (sum + 1e-7), the
 * paper's rule; a side with no mass becomes uniform and sets FE_EMD_FLAG_UNIFORM_FALLBACK.
 * fe__emd_sc_raw: SC row and column cost sums of s (n rows of stride lds). */
void fe__emd_normalise(double *w, size_t n, uint32_t *flags);
/* The same, bit for bit, with the kernel's divisions. */
void fe__emd_normalise_k(fe__emd_kernel kern, double *w, size_t n, uint32_t *flags);
#if FE__EMD_HAVE_AVX2
void fe__emd_normalise_avx2(double *w, size_t n, uint32_t *flags);
#endif
void fe__emd_sc_raw(const double *s, size_t lds, size_t n, size_t m, double *a, double *b);

/* ---- exact solvers (emd_exact.c), double -------------------------------------------------- */

/* Min-cost perfect matching of an n x n cost matrix (row-major) by shortest augmenting paths
 * with potentials (Hungarian / Jonker-Volgenant augmentation), O(n^3). col_of_row[i] is the
 * column matched to row i. u (n), v (n): duals with u_i + v_j <= cost_ij (+ rounding), equal on
 * matched pairs. work: fe__assign_work_bytes(n) bytes. */
size_t fe__assign_work_bytes(size_t n);
void fe__emd_assignment(const double *cost, size_t n, size_t *col_of_row, double *u, double *v,
                        void *work);

/* Min-cost transport (uncapacitated, supplies a (n), demands b (m), both summing to 1) by
 * successive shortest paths: Dijkstra on reduced costs from all sources with supply left to
 * the nearest sink with demand left, augment, update potentials. x (n*m) gets the plan; f (n),
 * g (m): duals with f_i + g_j <= cost_ij (+ rounding), equal where x_ij > 0. Returns FE_OK or
 * FE_E_NUMERIC (no progress within the augmentation cap). work: fe__transport_work_bytes. */
size_t fe__transport_work_bytes(size_t n, size_t m);
fe_status fe__emd_transport(const double *cost, size_t n, size_t m, const double *a,
                            const double *b, double *x, double *f, double *g,
                            uint32_t *augmentations, void *work);

/* One pair, exact (what fe_emd_exact runs after its checks): sim n*m, masses scaled to sum 1
 * inside; uniform and n == m -> assignment, else transport. plan may be NULL. work:
 * fe__emd_exact_work_bytes(n, m) bytes, 64-byte aligned. Overwrites *st. */
size_t fe__emd_exact_work_bytes(size_t n, size_t m);
fe_status fe__emd_exact_solve(const double *sim, size_t n, size_t m, const double *a,
                              const double *b, double *plan, fe_emd_stats *st, void *work);

#endif /* FE_EMD_H */
