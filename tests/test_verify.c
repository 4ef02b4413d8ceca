/*
 * test_verify.c — k-fold verification accuracy on hand-made score sets with known answers
 * (ties never split, all-equal scores, a test score exactly at the threshold, similarity vs
 * distance orientation), against a brute-force threshold search on random scores, argument
 * errors; and leave-one-out nearest-neighbour P@1 against hand-made and brute-force answers.
 */
#include "test.h"
#include "internal.h"
#include "metrics.h"
#include "verify.h"

#include <string.h>

FE_TEST(verify_hand_computed_two_folds) {
    /* fold 0: 9 S, 4 D, 6 S, 2 D; fold 1: 7 S, 5 D, 3 S, 1 D (S = matched).
     * Fold 0 held out: training 1D 3S 5D 7S; cuts at 2 and at 6 both get 3/4 right, the lower
     * middle of the two (2) is taken; on fold 0, 2D sits exactly on the threshold and counts as
     * "same" (>=): 9S ok, 4D wrong, 6S ok, 2D wrong -> 0.5.
     * Fold 1 held out: training 2D 4D 6S 9S, the one best cut is 5 (4/4); on fold 1: 7S ok,
     * 5D on the threshold -> wrong, 3S wrong, 1D ok -> 0.5.
     * All pairs: 1D 2D 3S 4D 5D 6S 7S 9S, best cut 5.5 with 7/8. */
    const double s[8] = {9, 4, 6, 2, 7, 5, 3, 1};
    const uint8_t same[8] = {1, 0, 1, 0, 1, 0, 1, 0};
    const uint32_t fold[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    fe_verify_result r;
    CHECK_OK(fe_verify_kfold(s, same, fold, 8, 2, 1, &r));
    CHECK(r.n_folds == 2 && r.n_pairs == 8 && r.n_same == 4);
    CHECK(r.fold[0].threshold == 2.0 && r.fold[0].train_accuracy == 0.75);
    CHECK(r.fold[0].test_accuracy == 0.5 && r.fold[0].n_test == 4 && r.fold[0].n_test_correct == 2);
    CHECK(r.fold[1].threshold == 5.0 && r.fold[1].train_accuracy == 1.0);
    CHECK(r.fold[1].test_accuracy == 0.5);
    CHECK(r.mean == 0.5 && r.std == 0.0 && r.std_error == 0.0);
    CHECK(r.threshold_all == 5.5 && r.accuracy_all == 7.0 / 8.0);
    /* the same data as distances d = 10 - s: same decisions, thresholds 10 - t */
    double d[8];
    for (int i = 0; i < 8; i++) d[i] = 10 - s[i];
    fe_verify_result rd;
    CHECK_OK(fe_verify_kfold(d, same, fold, 8, 2, 0, &rd));
    CHECK(rd.fold[0].threshold == 8.0 && rd.fold[1].threshold == 5.0 && rd.threshold_all == 4.5);
    CHECK(rd.fold[0].test_accuracy == 0.5 && rd.fold[1].test_accuracy == 0.5);
    CHECK(rd.mean == r.mean && rd.accuracy_all == r.accuracy_all);
    /* negative control: one label flipped changes the answer */
    uint8_t flipped[8];
    memcpy(flipped, same, sizeof flipped);
    flipped[3] = 1;   /* 2 is now S: fold 1's cut 5 no longer reaches 4/4 */
    CHECK_OK(fe_verify_kfold(s, flipped, fold, 8, 2, 1, &r));
    CHECK(r.fold[1].train_accuracy < 1.0);
    NOTE("fold thresholds 2 and 5 (ties in training accuracy and scores at the threshold), "
         "mean 0.5; all pairs 5.5 at 7/8; distances mirror");
}

FE_TEST(verify_ties_never_split) {
    /* all-equal scores: the only cuts are "all same" and "all different", 9/18 each in
     * training; the lower middle of the two is "all same", so every fold scores 1/2 */
    double s[20];
    uint8_t same[20];
    uint32_t fold[20];
    for (int i = 0; i < 20; i++) {
        s[i] = 0.25;
        same[i] = (uint8_t)(i % 2);
        fold[i] = (uint32_t)(i / 2);
    }
    fe_verify_result r;
    CHECK_OK(fe_verify_kfold(s, same, fold, 20, 10, 1, &r));
    for (int k = 0; k < 10; k++) {
        CHECK(r.fold[k].train_accuracy == 0.5 && r.fold[k].test_accuracy == 0.5);
        CHECK(r.fold[k].threshold < 0.25);   /* "all same": below every score */
    }
    CHECK(r.mean == 0.5 && r.std == 0 && r.threshold_all == 0.25 - 1.25 && r.accuracy_all == 0.5);
    /* a tie across the classes: S 0.8, S 0.5, D 0.5, D 0.2 repeated in 4 folds. Splitting the
     * tie (0.5 S above, 0.5 D below) would get 4/4; without splitting the best is 3/4 */
    const double v[4] = {0.8, 0.5, 0.5, 0.2};
    const uint8_t sv[4] = {1, 1, 0, 0};
    double s2[16];
    uint8_t same2[16];
    uint32_t fold2[16];
    for (int i = 0; i < 16; i++) {
        s2[i] = v[i % 4];
        same2[i] = sv[i % 4];
        fold2[i] = (uint32_t)(i / 4);
    }
    CHECK_OK(fe_verify_kfold(s2, same2, fold2, 16, 4, 1, &r));
    for (int k = 0; k < 4; k++) {
        CHECK_NEAR(r.fold[k].train_accuracy, 0.75, 1e-15);
        CHECK(r.fold[k].test_accuracy == 0.75);
        double thr = r.fold[k].threshold;
        /* both cuts (0.35 and 0.65) get 3/4; the lower middle is 0.35 */
        CHECK_NEAR(thr, 0.35, 1e-15);
    }
}

/* Brute force: the best number of correct training decisions over every threshold that is a
 * training score or above all of them. */
static size_t brute_best(const double *s, const uint8_t *same, const uint32_t *fold, size_t n,
                         uint32_t skip) {
    size_t best = 0;
    for (size_t c = 0; c <= n; c++) {
        if (c < n && fold[c] == skip) continue;
        double t = c < n ? s[c] : INFINITY;
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            if (fold[i] != skip) ok += (s[i] >= t) == (same[i] != 0);
        if (ok > best) best = ok;
    }
    return best;
}

FE_TEST(verify_matches_brute_force) {
    enum { N = 600 };
    static double s[N];
    static uint8_t same[N];
    static uint32_t fold[N];
    uint64_t rng = 12345;
    for (int trial = 0; trial < 20; trial++) {
        uint32_t n_folds = 2 + (uint32_t)(fe__splitmix64(&rng) % 11);
        for (size_t i = 0; i < N; i++) {
            same[i] = (uint8_t)(fe__splitmix64(&rng) & 1);
            /* overlapping classes, scores on a coarse grid so that ties are common */
            double u = (double)(fe__splitmix64(&rng) % 101) / 100.0;
            s[i] = same[i] ? 0.3 + 0.7 * u : 0.7 * u;
            s[i] = floor(s[i] * 50) / 50;
            fold[i] = (uint32_t)(i % n_folds);
        }
        fe_verify_result r;
        CHECK_OK(fe_verify_kfold(s, same, fold, N, n_folds, 1, &r));
        double sum = 0;
        for (uint32_t k = 0; k < n_folds; k++) {
            size_t m = 0, ok_train = 0, ok_test = 0, n_test = 0;
            double thr = r.fold[k].threshold;
            for (size_t i = 0; i < N; i++) {
                int right = (s[i] >= thr) == (same[i] != 0);
                if (fold[i] == k) { n_test++; ok_test += right; }
                else { m++; ok_train += right; }
            }
            size_t best = brute_best(s, same, fold, N, k);
            CHECK_MSG(ok_train == best, "trial %d fold %u: threshold %.17g gets %zu, brute force %zu",
                      trial, k, thr, ok_train, best);
            CHECK(r.fold[k].train_accuracy == (double)best / (double)m);
            CHECK(r.fold[k].n_test == n_test && r.fold[k].n_test_correct == ok_test);
            sum += r.fold[k].test_accuracy;
        }
        CHECK_NEAR(r.mean, sum / n_folds, 1e-12);
        double ss = 0;
        for (uint32_t k = 0; k < n_folds; k++) ss += pow(r.fold[k].test_accuracy - r.mean, 2);
        CHECK_NEAR(r.std, sqrt(ss / (n_folds - 1)), 1e-12);   /* sample std, LFW's sigma */
        CHECK_NEAR(r.std_error, r.std / sqrt((double)n_folds), 1e-12);
        CHECK_NEAR(r.accuracy_all * N, (double)brute_best(s, same, fold, N, UINT32_MAX), 1e-9);
    }
    NOTE("20 random score sets (600 pairs, 2..12 folds, ties on a 0.02 grid): every fold's "
         "training accuracy equals the brute-force optimum");
}

FE_TEST(verify_accuracy_at_fixed_threshold) {
    /* fixed threshold, inclusive at the boundary: distances 0.6 and 0.59 count as same */
    const double d[4] = {0.6, 0.59, 0.61, 1.2};
    const uint8_t sd[4] = {1, 1, 1, 0};
    double acc;
    CHECK_OK(fe_verify_accuracy_at(d, sd, 4, 0.6, 0, &acc));
    CHECK(acc == 0.75);
    CHECK_OK(fe_verify_accuracy_at(d, sd, 4, 0.6, 1, &acc));   /* as similarities: >= 0.6 */
    CHECK(acc == 0.5);   /* 0.6 and 0.61 right, 0.59 and 1.2 wrong */
}

FE_TEST(verify_rejects_bad_arguments) {
    const double s[4] = {1, 2, 3, 4};
    const uint8_t same[4] = {1, 0, 1, 0};
    const uint32_t fold[4] = {0, 1, 0, 1};
    fe_verify_result r;
    CHECK_STATUS(fe_verify_kfold(s, same, fold, 4, 1, 1, &r), FE_E_ARG);
    CHECK_STATUS(fe_verify_kfold(s, same, fold, 4, FE_VERIFY_MAX_FOLDS + 1, 1, &r), FE_E_ARG);
    CHECK_STATUS(fe_verify_kfold(s, same, fold, 4, 3, 1, &r), FE_E_COUNT);   /* fold 2 empty */
    CHECK(strstr(fe_last_error(), "fold 2") != NULL);
    const uint32_t bad_fold[4] = {0, 1, 2, 1};
    CHECK_STATUS(fe_verify_kfold(s, same, bad_fold, 4, 2, 1, &r), FE_E_ARG);
    const uint8_t bad_same[4] = {1, 0, 2, 0};
    CHECK_STATUS(fe_verify_kfold(s, bad_same, fold, 4, 2, 1, &r), FE_E_ARG);
    const double nan_s[4] = {1, NAN, 3, 4}, inf_s[4] = {1, 2, -INFINITY, 4};
    CHECK_STATUS(fe_verify_kfold(nan_s, same, fold, 4, 2, 1, &r), FE_E_NUMERIC);
    CHECK_STATUS(fe_verify_kfold(inf_s, same, fold, 4, 2, 1, &r), FE_E_NUMERIC);
    CHECK_STATUS(fe_verify_kfold(NULL, same, fold, 4, 2, 1, &r), FE_E_ARG);
    CHECK(r.n_folds == 0 && r.mean == 0);   /* zeroed on failure */
    double acc;
    CHECK_STATUS(fe_verify_accuracy_at(s, same, 0, 0.5, 1, &acc), FE_E_ARG);
    CHECK_STATUS(fe_verify_accuracy_at(nan_s, same, 4, 0.5, 1, &acc), FE_E_NUMERIC);
    CHECK_STATUS(fe_verify_accuracy_at(s, same, 4, NAN, 1, &acc), FE_E_NUMERIC);
}

FE_TEST(verify_nn_p1_hand_and_brute) {
    /* 2-D unit vectors: A0 (1,0), A1 (cos 10deg, sin 10deg), B0 (0,1), B1 near A1 at 12 deg,
     * C (-1, 0) alone. Nearest: A0 -> A1, A1 -> B1 (2 deg away), B0 -> B1? B0 is at 90deg:
     * B1 (12deg) is 78 deg away, A1 80, A0 90 -> B1 right; B1 -> A1 (wrong); C -> A0 or ...
     * C's label is unique: a distractor, not a query. */
    const double deg[5] = {0, 10, 90, 12, 180};
    const uint32_t label[5] = {0, 0, 1, 1, 2};
    float e[10];
    for (int i = 0; i < 5; i++) {
        e[2 * i] = (float)cos(deg[i] * 3.14159265358979 / 180);
        e[2 * i + 1] = (float)sin(deg[i] * 3.14159265358979 / 180);
    }
    size_t q, c;
    uint32_t nn[5];
    CHECK_OK(fe__nn_p1(e, 5, 2, label, &q, &c, nn));
    CHECK(q == 4 && c == 2);   /* A0 and B0 right; A1 and B1 wrong */
    CHECK(nn[0] == 1 && nn[1] == 3 && nn[2] == 3 && nn[3] == 1 && nn[4] == 2);
    /* ties go to the lower index: three identical rows */
    const float same_rows[6] = {1, 0, 1, 0, 1, 0};
    const uint32_t lab3[3] = {5, 6, 5};
    CHECK_OK(fe__nn_p1(same_rows, 3, 2, lab3, &q, &c, nn));
    CHECK(nn[0] == 1 && nn[1] == 0 && nn[2] == 0);
    CHECK(q == 2 && c == 1);   /* row 1's label is unique: not a query; row 2 -> row 0 right */
    /* random rows against a brute-force scan */
    enum { N = 700, D = 16 };
    static float r[N * D];
    static uint32_t lab[N], got[N];
    uint64_t rng = 7;
    for (size_t i = 0; i < N; i++) {
        lab[i] = (uint32_t)(fe__splitmix64(&rng) % 300);
        for (int k = 0; k < D; k++)
            r[i * D + k] = (float)((double)(fe__splitmix64(&rng) >> 11) / 9007199254740992.0 - 0.5);
    }
    CHECK_OK(fe__nn_p1(r, N, D, lab, &q, &c, got));
    size_t bq = 0, bc = 0, mism = 0;
    for (size_t i = 0; i < N; i++) {
        size_t best = SIZE_MAX;
        double bs = -INFINITY;
        size_t cnt = 0;
        for (size_t j = 0; j < N; j++) {
            cnt += lab[j] == lab[i];
            if (j == i) continue;
            double d = 0;
            for (int k = 0; k < D; k++) d += (double)r[i * D + k] * r[j * D + k];
            if (d > bs) { bs = d; best = j; }
        }
        /* float GEMM vs double: only near-ties may differ; then both must be near-equal */
        if (got[i] != best) {
            double d2 = 0;
            for (int k = 0; k < D; k++) d2 += (double)r[i * D + k] * r[got[i] * D + k];
            CHECK_MSG(fabs(d2 - bs) < 1e-5, "row %zu: %u (%.9g) vs %zu (%.9g)", i, got[i], d2, best, bs);
            mism++;
        }
        if (cnt >= 2) {
            bq++;
            bc += lab[got[i]] == lab[i];
        }
    }
    CHECK(q == bq && c == bc);
    NOTE("700 random rows: P@1 %zu/%zu, neighbours as brute force (%zu near-ties differ)", c, q, mism);
    float bad[4] = {1, 0, NAN, 0};
    CHECK_STATUS(fe__nn_p1(bad, 2, 2, lab3, &q, &c, NULL), FE_E_NUMERIC);
    CHECK_STATUS(fe__nn_p1(e, 1, 2, label, &q, &c, NULL), FE_E_ARG);
}

/* ---- the faceemd verify command ----------------------------------------------------------- */

/* The number after "key": in a JSON text (first occurrence after the end of `from`), or NAN. */
static double json_num(const char *text, const char *from, const char *key) {
    const char *p = from ? strstr(text, from) : text;
    if (!p) return NAN;
    if (from) p += strlen(from);
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    p = strstr(p, pat);
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

/* Writes the first `per` matched and first `per` mismatched pairs of LFW's pairs.txt as a
 * pairsDevTrain-style file. Returns 0 on failure. */
static int write_subset(const char *src, const char *dst, int per) {
    size_t n;
    char *text = fe_t_read_file(src, &n);
    if (!text) return 0;
    int N = atoi(text);
    FILE *fp = fopen(dst, "w");
    if (!fp || N < per) { free(text); if (fp) fclose(fp); return 0; }
    fprintf(fp, "%d\n", per);
    const char *line = strchr(text, '\n') + 1;
    for (int i = 0; i < 2 * N && line && *line; i++) {
        const char *end = strchr(line, '\n');
        if (!end) break;
        if ((i < N && i < per) || (i >= N && i < N + per)) fprintf(fp, "%.*s\n", (int)(end - line), line);
        line = end + 1;
    }
    fclose(fp);
    free(text);
    return 1;
}

FE_TEST(verify_cli_tiny_lfw) {
    const char *lfw = fe_t_need_shared(t, "data/lfw/pairs.txt");
    if (!lfw) return;
    char pairs[4096], dir[4000], lm[4096], sub[700];
    snprintf(pairs, sizeof pairs, "%s", lfw);
    snprintf(dir, sizeof dir, "%s", fe_t_shared("data/lfw"));
    snprintf(lm, sizeof lm, "%s/landmarks.tsv", dir);
    snprintf(sub, sizeof sub, "%s/pairs20.txt", fe_t_tmpdir());
    CHECK(write_subset(pairs, sub, 10));
    static char out[1 << 16], out1[1 << 16];
    int rc = fe_t_run(out, sizeof out, "%s verify %s --pairs %s --landmarks %s --threads 2 --json 2>&1",
                      fe_t_cli(), dir, sub, lm);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    double acc = json_num(out, "\"cosine\"", "accuracy"), eacc = json_num(out, "\"euclidean\"", "accuracy");
    double p1 = json_num(out, "\"p1\": {", "p1");
    CHECK_MSG(json_num(out, NULL, "pairs") == 20 && json_num(out, NULL, "folds") == 10, "%s", out);
    CHECK(json_num(out, NULL, "images") == 33 && json_num(out, NULL, "fallbacks") == 0);
    /* 20 easy pairs: at most one of the ten 2-pair folds may miss one pair */
    CHECK_MSG(acc >= 0.95 && acc <= 1.0 && eacc >= 0.95 && eacc <= 1.0, "cosine %g euclidean %g", acc, eacc);
    CHECK_MSG(p1 >= 0.8 && p1 <= 1.0, "P@1 %g", p1);
    /* one thread gives the same numbers (only the timing and thread fields differ) */
    rc = fe_t_run(out1, sizeof out1, "%s verify %s --pairs %s --landmarks %s --threads 1 --json 2>&1",
                  fe_t_cli(), dir, sub, lm);
    CHECK(rc == 0);
    char *cut = strstr(out, "\"embedded\""), *cut1 = strstr(out1, "\"embedded\"");
    CHECK(cut && cut1);
    *cut = *cut1 = 0;
    CHECK_MSG(strcmp(out, out1) == 0, "2 threads:\n%s\n1 thread:\n%s", out, out1);
    /* the text report names the fallbacks and the folds; the crop baseline runs too */
    rc = fe_t_run(out, sizeof out, "%s verify %s --pairs %s --align crop 2>&1", fe_t_cli(), dir, sub);
    CHECK_MSG(rc == 0 && strstr(out, "align crop") && strstr(out, "fold  pairs"), "%s", out);
    /* usage errors and a missing image */
    CHECK(fe_t_run(out, sizeof out, "%s verify %s 2>&1", fe_t_cli(), dir) == 2);
    CHECK(strstr(out, "--pairs FILE is required"));
    CHECK(fe_t_run(out, sizeof out, "%s verify %s --pairs %s --align crop --template-scale 1.1 2>&1",
                   fe_t_cli(), dir, sub) == 2);
    CHECK(fe_t_run(out, sizeof out, "%s verify %s --pairs %s --template-scale 9 2>&1", fe_t_cli(), dir, sub) == 2);
    CHECK(fe_t_run(out, sizeof out, "%s verify %s --pairs %s --align sideways 2>&1", fe_t_cli(), dir, sub) == 2);
    rc = fe_t_run(out, sizeof out, "%s verify %s --pairs %s 2>&1", fe_t_cli(), fe_t_tmpdir(), sub);
    CHECK_MSG(rc == 1 && strstr(out, "Aaron_Peirsol_0001.jpg") && strstr(out, "could not be embedded"), "%s", out);
    char bad[700];
    snprintf(bad, sizeof bad, "%s/bad.txt", fe_t_tmpdir());
    CHECK(fe_t_write_file(bad, "1\nAnn\t1\n", 8) == 0);
    rc = fe_t_run(out, sizeof out, "%s verify %s --pairs %s 2>&1", fe_t_cli(), dir, bad);
    CHECK_MSG(rc == 1 && strstr(out, "bad.txt line 2"), "%s", out);
    NOTE("20 LFW pairs: cosine %.4f, euclidean %.4f, P@1 %.3f; 1 and 2 threads agree", acc, eacc, p1);
}

FE_TEST(verify_cli_full_lfw_devtrain) {
    const char *lfw = fe_t_need_shared(t, "data/lfw/pairs.txt");
    if (!lfw) return;
    if (fe_t_sanitized())
        SKIP("under sanitizers embedding 3,443 images takes many minutes; the plain build runs it");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", fe_t_shared("data/lfw"));
    static char out[1 << 16];
    int rc = fe_t_run(out, sizeof out, "%s verify %s --pairs %s/pairs.txt --landmarks %s/landmarks.tsv "
                      "--json 2>&1", fe_t_cli(), dir, dir, dir);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    double acc = json_num(out, "\"cosine\"", "accuracy"), sd = json_num(out, "\"cosine\"", "std");
    double eacc = json_num(out, "\"euclidean\"", "accuracy"), p1 = json_num(out, "\"p1\": {", "p1");
    double secs = json_num(out, "\"time\"", "total_s");
    CHECK(json_num(out, NULL, "pairs") == 2200 && json_num(out, NULL, "fallbacks") == 0);
    CHECK_MSG(acc >= 0.97 && eacc >= 0.97, "cosine %.4f euclidean %.4f (>= 0.97 expected)", acc, eacc);
    NOTE("2200 DevTrain pairs: cosine %.4f +- %.4f, euclidean %.4f, P@1 %.4f, %.1f s", acc, sd, eacc, p1, secs);
}
