/*
 * emd_exact.c — exact EMD in double (the --solver exact path of stage 2).
 *
 *   uniform masses, n == m: the optimal plan is a permutation / n (Birkhoff), so the problem is
 *     a min-cost perfect matching: shortest augmenting paths with dual potentials (the
 *     augmentation phase of Jonker-Volgenant, i.e. the Hungarian method), O(n^3).
 *   anything else: the transportation problem by successive shortest paths: Dijkstra on
 *     reduced costs (non-negative thanks to the potentials) from every source with supply left
 *     to the nearest sink with demand left, augment by the bottleneck, update potentials.
 *     Chosen over network simplex because on these dense problems (n, m <= 64) it is short,
 *     has no degenerate pivots or cycling rules, and ends with its own optimality certificate:
 *     the potentials are dual-feasible and tight on every positive flow.
 * Both work on costs c_ij = 1 - s_ij (row-major), masses scaled to sum 1.
 */
#include "emd.h"

#include <math.h>
#include <string.h>

/* ---- assignment ----------------------------------------------------------------------------- */

size_t fe__assign_work_bytes(size_t n) {
    size_t b;
    /* dist (double), row_of_col, prev, order (size_t), used (1 byte), each n */
    if (!fe__mul_size(n, sizeof(double) + 3 * sizeof(size_t) + 1, &b)) return 0;
    return b;
}

void fe__emd_assignment(const double *cost, size_t n, size_t *col_of_row, double *u, double *v,
                        void *work) {
    const size_t NONE = (size_t)-1;
    double *dist = work;
    size_t *row_of_col = (size_t *)(dist + n), *prev = row_of_col + n, *order = prev + n;
    unsigned char *used = (unsigned char *)(order + n);

    /* duals: u = 0, v_j = min_i c_ij, so every reduced cost c_ij - u_i - v_j is >= 0 */
    for (size_t j = 0; j < n; j++) {
        double mn = INFINITY;
        for (size_t i = 0; i < n; i++) mn = cost[i * n + j] < mn ? cost[i * n + j] : mn;
        v[j] = mn;
        row_of_col[j] = NONE;
    }
    for (size_t i = 0; i < n; i++) u[i] = 0, col_of_row[i] = NONE;

    for (size_t r0 = 0; r0 < n; r0++) {
        /* Dijkstra over columns: a path alternates row -> column (reduced cost) and column ->
         * its matched row (cost 0); it ends at the first free column taken off the heap. */
        for (size_t j = 0; j < n; j++) dist[j] = INFINITY, used[j] = 0, prev[j] = NONE;
        size_t row = r0, from = NONE, n_done = 0, sink = NONE;
        double base = 0;
        for (;;) {
            /* relax the row's arcs and pick the nearest unused column in one pass (the first
             * of equal ones, as a separate scan would) */
            const double *crow = cost + row * n, ur = u[row];
            size_t best = NONE;
            double bestd = INFINITY;
            for (size_t j = 0; j < n; j++) {
                if (used[j]) continue;
                double rc = crow[j] - ur - v[j];
                double dj = base + (rc > 0 ? rc : 0);     /* rounding may dip below 0 */
                if (dj < dist[j]) dist[j] = dj, prev[j] = from;
                if (best == NONE || dist[j] < bestd) best = j, bestd = dist[j];
            }
            used[best] = 1;
            order[n_done++] = best;
            if (row_of_col[best] == NONE) {
                sink = best;
                break;
            }
            from = best;
            row = row_of_col[best];
            base = dist[best];
        }
        /* potentials: columns taken off the heap move by dist_j - D, their rows (and r0) by
         * D - dist; reduced costs stay >= 0 and the whole path becomes tight */
        double D = dist[sink];
        u[r0] += D;
        for (size_t k = 0; k + 1 < n_done; k++) {
            size_t j = order[k];
            v[j] -= D - dist[j];
            u[row_of_col[j]] += D - dist[j];
        }
        /* augment: shift the matching along the path back to r0 */
        for (size_t j = sink; j != NONE;) {
            size_t pj = prev[j];
            size_t i = pj == NONE ? r0 : row_of_col[pj];
            row_of_col[j] = i;
            col_of_row[i] = j;
            j = pj;
        }
    }
}

/* ---- transportation ------------------------------------------------------------------------ */

size_t fe__transport_work_bytes(size_t n, size_t m) {
    size_t v, b;
    /* supply (n), demand (m), dist (n+m) doubles; pred (n+m) size_t; done (n+m) bytes */
    if (!fe__add_size(n, m, &v) || !fe__mul_size(v, 2 * sizeof(double) + sizeof(size_t) + 1, &b))
        return 0;
    return b;
}

/* The first node in [lo, hi) not done with the smallest finite dist (NONE if there is none). */
static size_t nearest_open(const double *dist, const unsigned char *done, size_t lo, size_t hi) {
    size_t best = (size_t)-1;
    double bd = INFINITY;
    for (size_t v = lo; v < hi; v++)
        if (!done[v] && dist[v] < bd) best = v, bd = dist[v];
    return best;
}

/* The earlier of two candidates a < b (NONE = none) unless b is strictly nearer: what one
 * scan over both ranges would pick. */
static size_t nearer(const double *dist, size_t a, size_t b) {
    const size_t NONE = (size_t)-1;
    if (a == NONE) return b;
    return b != NONE && dist[b] < dist[a] ? b : a;
}

/* Remaining supply/demand at or below this is spent: masses sum to 1, so this bounds each
 * marginal's error, far inside the 1e-9 the callers need. */
#define MASS_TOL 1e-14

fe_status fe__emd_transport(const double *cost, size_t n, size_t m, const double *a,
                            const double *b, double *x, double *f, double *g,
                            uint32_t *augmentations, void *work) {
    const size_t NONE = (size_t)-1, V = n + m;   /* nodes: sources 0..n-1, sinks n..n+m-1 */
    double *supply = work, *demand = supply + n, *dist = demand + m;
    size_t *pred = (size_t *)(dist + V);
    unsigned char *done = (unsigned char *)(pred + V);
    uint64_t cap = 10 * (uint64_t)V * V + 100, aug = 0;

    for (size_t k = 0; k < n * m; k++) x[k] = 0;
    for (size_t i = 0; i < n; i++) supply[i] = a[i], f[i] = 0;
    for (size_t j = 0; j < m; j++) {
        double mn = INFINITY;
        for (size_t i = 0; i < n; i++) mn = cost[i * m + j] < mn ? cost[i * m + j] : mn;
        g[j] = mn;   /* f = 0, g_j = min_i c_ij: dual feasible */
        demand[j] = b[j];
    }
    /* greedy start on tight arcs (c_ij - f_i - g_j = 0 at each column's minimum): a flow
     * there keeps complementary slackness, and saves many augmenting paths */
    for (size_t j = 0; j < m; j++) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++) best = cost[i * m + j] < cost[best * m + j] ? i : best;
        double t = supply[best] < demand[j] ? supply[best] : demand[j];
        if (t <= 0) continue;
        x[best * m + j] = t;
        supply[best] -= t;
        demand[j] -= t;
    }
    *augmentations = 0;
    for (;;) {
        int any_supply = 0, any_demand = 0;
        for (size_t i = 0; i < n; i++) any_supply |= supply[i] > MASS_TOL;
        for (size_t j = 0; j < m; j++) any_demand |= demand[j] > MASS_TOL;
        if (!any_supply || !any_demand) break;
        if (++aug > cap)
            return fe__fail(FE_E_NUMERIC, "transport solver made no progress after %llu "
                            "augmenting paths (%zu x %zu)", (unsigned long long)cap, n, m);

        /* Dijkstra (dense, O(V^2)) from all sources with supply left. Reduced costs:
         * forward i->j: c_ij - f_i - g_j >= 0; backward j->i (x_ij > 0): its negative, 0 up
         * to rounding (complementary slackness), clamped at 0. */
        for (size_t v = 0; v < V; v++) {
            dist[v] = (v < n && supply[v] > MASS_TOL) ? 0.0 : INFINITY;
            pred[v] = NONE;
            done[v] = 0;
        }
        /* Each step relaxes one side and picks the next node: the relaxed side's nearest
         * comes out of the relaxing loop, the other side's from a scan (one pass fewer than
         * scanning all nodes apart; the same node: the first of the nearest). */
        size_t target = NONE, best = nearest_open(dist, done, 0, V);
        while (best != NONE) {
            done[best] = 1;
            size_t near_src, near_snk;
            if (best < n) {
                const size_t i = best;
                const double *ci = cost + i * m;
                double bd = INFINITY;
                near_snk = NONE;
                for (size_t j = 0; j < m; j++) {
                    if (done[n + j]) continue;
                    double rc = ci[j] - f[i] - g[j];
                    double d = dist[i] + (rc > 0 ? rc : 0);
                    if (d < dist[n + j]) dist[n + j] = d, pred[n + j] = i;
                    if (dist[n + j] < bd) near_snk = n + j, bd = dist[n + j];
                }
                near_src = nearest_open(dist, done, 0, n);
            } else {
                const size_t j = best - n;
                if (demand[j] > MASS_TOL) {
                    target = best;
                    break;
                }
                double bd = INFINITY;
                near_src = NONE;
                for (size_t i = 0; i < n; i++) {
                    if (done[i]) continue;
                    if (x[i * m + j] > 0) {
                        double rc = f[i] + g[j] - cost[i * m + j];
                        double d = dist[best] + (rc > 0 ? rc : 0);
                        if (d < dist[i]) dist[i] = d, pred[i] = best;
                    }
                    if (dist[i] < bd) near_src = i, bd = dist[i];
                }
                near_snk = nearest_open(dist, done, n, V);
            }
            best = nearer(dist, near_src, near_snk);
        }
        if (target == NONE) break;   /* unreachable on a complete bipartite graph */

        /* potentials (Johnson): phi(v) += min(dist_v, D), phi = -f on sources, g on sinks */
        double D = dist[target];
        for (size_t i = 0; i < n; i++) f[i] -= dist[i] < D ? dist[i] : D;
        for (size_t j = 0; j < m; j++) g[j] += dist[n + j] < D ? dist[n + j] : D;

        /* bottleneck along the path target <- ... <- source */
        size_t s = target;
        double delta = demand[target - n];
        for (size_t v = target; pred[v] != NONE; v = pred[v]) {
            size_t u = pred[v];
            if (u >= n) {                      /* backward arc sink u -> source v */
                double xv = x[v * m + (u - n)];
                delta = xv < delta ? xv : delta;
            }
            s = u;
        }
        delta = supply[s] < delta ? supply[s] : delta;
        /* push delta: forward arcs gain it, backward arcs lose it (a bottleneck hits 0) */
        for (size_t v = target; pred[v] != NONE; v = pred[v]) {
            size_t u = pred[v];
            if (u < n) {
                x[u * m + (v - n)] += delta;
            } else {
                double *xv = &x[v * m + (u - n)];
                *xv = *xv - delta > MASS_TOL * 1e-3 ? *xv - delta : 0.0;
            }
        }
        supply[s] = supply[s] - delta > 0 ? supply[s] - delta : 0.0;
        demand[target - n] = demand[target - n] - delta > 0 ? demand[target - n] - delta : 0.0;
    }
    *augmentations = (uint32_t)aug;
    return FE_OK;
}

/* ---- public entry ------------------------------------------------------------------------- */

size_t fe__emd_exact_work_bytes(size_t n, size_t m) {
    size_t nm, t, w1 = fe__assign_work_bytes(n > m ? n : m), w2 = fe__transport_work_bytes(n, m);
    if (!w1 || !w2 || !fe__mul_size(n, m, &nm)) return 0;
    /* cost, plan (n*m each); a, b, f/u, g/v (n + m each, twice); col_of_row (n size_t) */
    if (!fe__mul_size(nm, 2, &t) || !fe__add_size(t, 2 * (n + m), &t) ||
        !fe__mul_size(t, sizeof(double), &t) || !fe__add_size(t, n * sizeof(size_t), &t) ||
        !fe__add_size(t, w1 > w2 ? w1 : w2, &t))
        return 0;
    return t + 64;
}

fe_status fe__emd_exact_solve(const double *sim, size_t n, size_t m, const double *a,
                              const double *b, double *plan, fe_emd_stats *st, void *work) {
    double *cost = work, *x = cost + n * m, *an = x + n * m, *bn = an + n, *f = bn + m,
           *g = f + n;
    size_t *col_of_row = (size_t *)(g + m);
    void *solver_work = (void *)(((uintptr_t)(col_of_row + n) + 63) & ~(uintptr_t)63);
    double sa = 0, sb = 0;
    int uniform = n == m;
    for (size_t i = 0; i < n; i++) sa += a[i], uniform &= a[i] == a[0];
    for (size_t j = 0; j < m; j++) sb += b[j], uniform &= b[j] == b[0];
    for (size_t i = 0; i < n; i++) an[i] = a[i] / sa;
    for (size_t j = 0; j < m; j++) bn[j] = b[j] / sb;
    for (size_t k = 0; k < n * m; k++) cost[k] = 1.0 - sim[k];

    memset(st, 0, sizeof *st);
    if (uniform) {
        fe__emd_assignment(cost, n, col_of_row, f, g, solver_work);
        for (size_t k = 0; k < n * m; k++) x[k] = 0;
        for (size_t i = 0; i < n; i++) x[i * m + col_of_row[i]] = 1.0 / (double)n;
        st->iterations = (uint32_t)n;
        st->algorithm = FE_EMD_ALG_ASSIGNMENT;
    } else {
        fe_status s = fe__emd_transport(cost, n, m, an, bn, x, f, g, &st->iterations,
                                        solver_work);
        if (s != FE_OK) return s;
        st->algorithm = FE_EMD_ALG_TRANSPORT;
    }
    double simv = 0, costv = 0, merr = 0;
    for (size_t i = 0; i < n; i++) {
        double row = 0;
        for (size_t j = 0; j < m; j++) {
            double t = x[i * m + j];
            row += t;
            simv += t * sim[i * m + j];
            costv += t * cost[i * m + j];
        }
        merr = fabs(row - an[i]) > merr ? fabs(row - an[i]) : merr;
    }
    for (size_t j = 0; j < m; j++) {
        double col = 0;
        for (size_t i = 0; i < n; i++) col += x[i * m + j];
        merr = fabs(col - bn[j]) > merr ? fabs(col - bn[j]) : merr;
    }
    if (plan) memcpy(plan, x, n * m * sizeof *plan);
    st->similarity = simv;
    st->cost = costv;
    st->marginal_error = merr;
    st->converged = 1;
    if (!isfinite(simv) || !isfinite(costv))
        return fe__fail(FE_E_NUMERIC, "exact EMD gave a non-finite cost");
    return FE_OK;
}

fe_status fe_emd_exact(const double *sim, size_t n, size_t m, const double *a, const double *b,
                       double *plan, fe_emd_stats *out_stats) {
    if (out_stats) memset(out_stats, 0, sizeof *out_stats);
    if (!out_stats) return fe__fail(FE_E_ARG, "out_stats is required");
    fe_status st = fe__emd_check_pair(sim, n, m, a, b);
    if (st != FE_OK) return st;
    size_t bytes = fe__emd_exact_work_bytes(n, m);
    if (!bytes) return fe__fail(FE_E_OVERFLOW, "workspace size overflows (%zu x %zu)", n, m);
    void *work = fe__aligned_alloc(bytes);
    if (!work) return fe__fail(FE_E_NOMEM, "exact EMD workspace of %zu bytes", bytes);
    st = fe__emd_exact_solve(sim, n, m, a, b, plan, out_stats, work);
    fe__aligned_free(work);
    if (st != FE_OK) memset(out_stats, 0, sizeof *out_stats);
    return st;
}
