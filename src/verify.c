/*
 * verify.c — the two sanity checks of a face descriptor on LFW: k-fold verification accuracy
 * (LFW's protocol; rules in faceemd.h, "verification accuracy") and leave-one-out
 * nearest-neighbour P@1 (verify.h).
 *
 * k-fold: scores are mapped to "higher means same" (distances negated), sorted once, and for
 * each fold one pass over the sorted training scores evaluates every admissible cut with
 * running counts, O(n log n + folds * n). Cuts never separate equal scores, so the result does
 * not depend on the order of ties. Everything is in double; thresholds are reported in the
 * caller's units (a distance threshold as a distance).
 */
#include "verify.h"
#include "gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct item {
    double  v;      /* score, oriented so that "same" is predicted iff v >= t             */
    uint8_t same;
    uint32_t fold;
} item;

static int cmp_item(const void *a, const void *b) {
    double x = ((const item *)a)->v, y = ((const item *)b)->v;
    return (x > y) - (x < y);
}

/* The threshold (oriented) for cut c of the m training values w[0..m) (sorted ascending):
 * w[0..c) are predicted "different", w[c..m) "same". */
static double cut_threshold(const double *w, size_t m, size_t c) {
    if (c == 0) return w[0] - (1.0 + fabs(w[0]));
    if (c == m) return w[m - 1] + (1.0 + fabs(w[m - 1]));
    double a = w[c - 1], b = w[c];
    double t = a / 2 + b / 2;          /* no overflow for finite a, b                        */
    if (!(t > a)) t = b;               /* adjacent doubles: b itself still separates them   */
    return t;
}

/* Best cut of the items not in fold `skip` (skip = UINT32_MAX: all). sorted: items ascending
 * by v; w, same_w: scratch of n. Writes the oriented threshold and its training accuracy. */
static void best_cut(const item *sorted, size_t n, uint32_t skip, double *w, uint8_t *same_w,
                     size_t *cuts, double *out_t, double *out_acc) {
    size_t m = 0, n_same = 0;
    for (size_t i = 0; i < n; i++) {
        if (sorted[i].fold == skip) continue;
        w[m] = sorted[i].v;
        same_w[m] = sorted[i].same;
        n_same += sorted[i].same;
        m++;
    }
    /* cut c: correct = (different ones below c) + (same ones from c on) */
    size_t below_diff = 0, below_same = 0, best = 0, n_best = 0;
    for (size_t c = 0; c <= m; c++) {
        if (c > 0) {
            below_diff += !same_w[c - 1];
            below_same += same_w[c - 1];
        }
        if (c > 0 && c < m && !(w[c - 1] < w[c])) continue;   /* would split a tie */
        size_t correct = below_diff + (n_same - below_same);
        if (correct > best || n_best == 0) {
            best = correct;
            n_best = 0;
        }
        if (correct == best) cuts[n_best++] = c;
    }
    size_t c = cuts[(n_best - 1) / 2];
    *out_t = cut_threshold(w, m, c);
    *out_acc = (double)best / (double)m;
}

static fe_status check_scores(const double *score, const uint8_t *same, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(score[i])) return fe__fail(FE_E_NUMERIC, "score %zu is %g", i, score[i]);
        if (same[i] > 1) return fe__fail(FE_E_ARG, "same[%zu] is %u, not 0 or 1", i, same[i]);
    }
    return FE_OK;
}

fe_status fe_verify_kfold(const double *score, const uint8_t *same, const uint32_t *fold,
                          size_t n, uint32_t n_folds, int higher_is_same,
                          fe_verify_result *out_result) {
    if (!out_result) return fe__fail(FE_E_ARG, "out_result is NULL");
    memset(out_result, 0, sizeof *out_result);
    if (!score || !same || !fold) return fe__fail(FE_E_ARG, "score, same or fold is NULL");
    if (n_folds < 2 || n_folds > FE_VERIFY_MAX_FOLDS)
        return fe__fail(FE_E_ARG, "%u folds (2..%u allowed)", n_folds, FE_VERIFY_MAX_FOLDS);
    fe_status st = check_scores(score, same, n);
    if (st != FE_OK) return st;
    size_t count[FE_VERIFY_MAX_FOLDS] = {0};
    for (size_t i = 0; i < n; i++) {
        if (fold[i] >= n_folds)
            return fe__fail(FE_E_ARG, "pair %zu is in fold %u of %u", i, fold[i], n_folds);
        count[fold[i]]++;
    }
    for (uint32_t k = 0; k < n_folds; k++)
        if (count[k] == 0) return fe__fail(FE_E_COUNT, "fold %u of %u holds no pair", k, n_folds);

    size_t bytes_item, bytes_w, bytes_cut;
    if (!fe__mul_size(n, sizeof(item), &bytes_item) || !fe__mul_size(n, sizeof(double), &bytes_w) ||
        !fe__mul_size(n + 1, sizeof(size_t), &bytes_cut))
        return fe__fail(FE_E_OVERFLOW, "%zu pairs", n);
    item *it = fe__malloc(bytes_item);
    double *w = fe__malloc(bytes_w);
    uint8_t *same_w = fe__malloc(n);
    size_t *cuts = fe__malloc(bytes_cut);
    if (!it || !w || !same_w || !cuts) {
        st = fe__fail(FE_E_NOMEM, "scratch for %zu pairs", n);
        goto done;
    }
    const double sign = higher_is_same ? 1.0 : -1.0;
    for (size_t i = 0; i < n; i++) {
        it[i].v = sign * score[i];
        it[i].same = same[i];
        it[i].fold = fold[i];
        out_result->n_same += same[i];
    }
    qsort(it, n, sizeof *it, cmp_item);
    out_result->n_folds = n_folds;
    out_result->n_pairs = n;
    double sum = 0;
    for (uint32_t k = 0; k < n_folds; k++) {
        fe_verify_fold *f = &out_result->fold[k];
        double t;
        best_cut(it, n, k, w, same_w, cuts, &t, &f->train_accuracy);
        for (size_t i = 0; i < n; i++) {
            if (it[i].fold != k) continue;
            f->n_test++;
            f->n_test_correct += (it[i].v >= t) == (it[i].same != 0);
        }
        f->threshold = sign * t;
        f->test_accuracy = (double)f->n_test_correct / (double)f->n_test;
        sum += f->test_accuracy;
    }
    out_result->mean = sum / n_folds;
    double ss = 0;
    for (uint32_t k = 0; k < n_folds; k++) {
        double d = out_result->fold[k].test_accuracy - out_result->mean;
        ss += d * d;
    }
    out_result->std = sqrt(ss / (n_folds - 1));
    out_result->std_error = out_result->std / sqrt((double)n_folds);
    double t_all;
    best_cut(it, n, UINT32_MAX, w, same_w, cuts, &t_all, &out_result->accuracy_all);
    out_result->threshold_all = sign * t_all;
done:
    fe__free(it);
    fe__free(w);
    fe__free(same_w);
    fe__free(cuts);
    return st;
}

fe_status fe_verify_accuracy_at(const double *score, const uint8_t *same, size_t n,
                                double threshold, int higher_is_same, double *out_accuracy) {
    if (!out_accuracy) return fe__fail(FE_E_ARG, "out_accuracy is NULL");
    *out_accuracy = 0;
    if (!score || !same) return fe__fail(FE_E_ARG, "score or same is NULL");
    if (n == 0) return fe__fail(FE_E_ARG, "no pairs");
    if (isnan(threshold)) return fe__fail(FE_E_NUMERIC, "threshold is NaN");
    fe_status st = check_scores(score, same, n);
    if (st != FE_OK) return st;
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        int pred = higher_is_same ? score[i] >= threshold : score[i] <= threshold;
        correct += pred == (same[i] != 0);
    }
    *out_accuracy = (double)correct / (double)n;
    return FE_OK;
}

/* ---- nearest-neighbour P@1 ------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Occurrences of v in the sorted array a[0..n). */
static size_t label_count(const uint32_t *a, size_t n, uint32_t v) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    size_t k = lo;
    while (k < n && a[k] == v) k++;
    return k - lo;
}

#define NN_BLOCK 256   /* query rows per GEMM: NN_BLOCK * n floats of scores at a time */

fe_status fe__nn_p1(const float *emb, size_t n, size_t dim, const uint32_t *label,
                    size_t *out_queries, size_t *out_correct, uint32_t *out_nn) {
    if (out_queries) *out_queries = 0;
    if (out_correct) *out_correct = 0;
    if (!emb || !label || !out_queries || !out_correct)
        return fe__fail(FE_E_ARG, "emb, label or an output is NULL");
    if (n < 2 || dim == 0) return fe__fail(FE_E_ARG, "%zu rows of dimension %zu (need 2 and 1)", n, dim);
    if (n > UINT32_MAX - 1) return fe__fail(FE_E_LIMIT, "%zu rows", n);
    size_t total, bytes;
    if (!fe__mul_size(n, dim, &total) || !fe__mul3_size(NN_BLOCK, n, sizeof(float), &bytes))
        return fe__fail(FE_E_OVERFLOW, "%zu rows of dimension %zu", n, dim);
    for (size_t i = 0; i < total; i++)
        if (!isfinite(emb[i])) return fe__fail(FE_E_NUMERIC, "row %zu holds %g", i / dim, emb[i]);
    /* how many rows share each label: a sorted copy of the labels */
    uint32_t *sorted = fe__malloc(n * sizeof *sorted);   /* n < 2^32: no overflow */
    float *s = fe__aligned_alloc(bytes);
    fe_status st = FE_OK;
    if (!sorted || !s) {
        st = fe__fail(FE_E_NOMEM, "scratch for %zu rows", n);
        goto done;
    }
    memcpy(sorted, label, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u32);
    size_t queries = 0, correct = 0;
    for (size_t i0 = 0; i0 < n; i0 += NN_BLOCK) {
        size_t m = n - i0 < NN_BLOCK ? n - i0 : NN_BLOCK;
        st = fe__sgemm(0, 1, m, n, dim, 1.0f, emb + i0 * dim, dim, emb, dim, 0.0f, s, n);
        if (st != FE_OK) goto done;
        for (size_t r = 0; r < m; r++) {
            size_t i = i0 + r;
            const float *row = s + r * n;
            size_t best = i == 0 ? 1 : 0;
            for (size_t j = 0; j < n; j++)
                if (j != i && row[j] > row[best]) best = j;   /* ties: the lower index */
            if (out_nn) out_nn[i] = (uint32_t)best;
            if (label_count(sorted, n, label[i]) < 2) continue;   /* nothing to find */
            queries++;
            correct += label[best] == label[i];
        }
    }
    *out_queries = queries;
    *out_correct = correct;
done:
    fe__free(sorted);
    fe__aligned_free(s);
    return st;
}
