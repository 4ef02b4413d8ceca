/*
 * test_metrics.c — P@1, RP and MAP@R against rankings computed by hand, including R larger
 * than the ranked list, a query with no other image of its identity, and the bootstrap.
 */
#include "test.h"
#include "metrics.h"

FE_TEST(metrics_hand_computed) {
    /* identity 7, R = 3; correct at positions 1, 3, 6 (1-based) of a 6-long ranking.
     * P@1 = 1; RP = hits in top 3 / 3 = 2/3; MAP@R = (1/1 + 2/3) / 3 = 5/9 (position 6 is
     * beyond R and does not count). */
    const uint32_t ranked[] = {7, 2, 7, 3, 4, 7};
    fe__query_metrics m = fe__metrics_query(ranked, 6, 7, 3);
    CHECK(m.valid);
    CHECK_NEAR(m.p1, 1.0, 0);
    CHECK_NEAR(m.rp, 2.0 / 3.0, 1e-15);
    CHECK_NEAR(m.map_r, 5.0 / 9.0, 1e-15);
    /* first result wrong: correct at 2 and 3 of R = 3 -> P@1 0, RP 2/3, MAP (1/2 + 2/3)/3 */
    const uint32_t r2[] = {1, 7, 7, 7};
    m = fe__metrics_query(r2, 4, 7, 3);
    CHECK_NEAR(m.p1, 0.0, 0);
    CHECK_NEAR(m.rp, 2.0 / 3.0, 1e-15);
    CHECK_NEAR(m.map_r, (0.5 + 2.0 / 3.0) / 3.0, 1e-15);
    /* perfect ranking gives 1, 1, 1 */
    const uint32_t r3[] = {5, 5, 9};
    m = fe__metrics_query(r3, 3, 5, 2);
    CHECK(m.p1 == 1.0 && m.rp == 1.0 && m.map_r == 1.0);
}

FE_TEST(metrics_r_larger_than_list) {
    /* only 4 results available (e.g. K = 4) but R = 10: missing positions count as wrong */
    const uint32_t ranked[] = {3, 3, 1, 3};
    fe__query_metrics m = fe__metrics_query(ranked, 4, 3, 10);
    CHECK_NEAR(m.rp, 3.0 / 10.0, 1e-15);
    CHECK_NEAR(m.map_r, (1.0 + 1.0 + 3.0 / 4.0) / 10.0, 1e-15);
    /* an empty ranking scores zero but stays valid */
    m = fe__metrics_query(ranked, 0, 3, 2);
    CHECK(m.valid && m.p1 == 0 && m.rp == 0 && m.map_r == 0);
}

FE_TEST(metrics_no_other_image_excluded) {
    const uint32_t ranked[] = {4, 4};
    fe__query_metrics m = fe__metrics_query(ranked, 2, 4, 0);
    CHECK(!m.valid);
    CHECK(m.p1 == 0 && m.rp == 0 && m.map_r == 0);
}

FE_TEST(metrics_ties_follow_given_order) {
    /* the metric scores the order it is given: the ranking code breaks score ties by gallery
     * index; swapping two tied items changes MAP@R, which shows the order matters */
    const uint32_t a[] = {1, 2, 1}, b[] = {2, 1, 1};
    fe__query_metrics ma = fe__metrics_query(a, 3, 1, 2), mb = fe__metrics_query(b, 3, 1, 2);
    CHECK_NEAR(ma.map_r, 0.5, 1e-15);
    CHECK_NEAR(mb.map_r, 0.25, 1e-15);
    CHECK(ma.rp == mb.rp);
}

FE_TEST(bootstrap_ci_brackets_mean) {
    double v[200];
    uint64_t s = 1;
    double mean = 0;
    for (int i = 0; i < 200; i++) {
        v[i] = (double)(fe__splitmix64(&s) % 1000) / 1000.0;
        mean += v[i] / 200;
    }
    double lo, hi, lo2, hi2;
    CHECK_OK(fe__bootstrap_mean_ci(v, 200, 2000, 42, &lo, &hi));
    CHECK(lo < mean && mean < hi);
    /* the 95 % interval of a mean of 200 U(0,1) values is about +-1.96*0.289/sqrt(200) */
    CHECK_NEAR(hi - lo, 2 * 1.96 * 0.2887 / sqrt(200.0), 0.015);
    CHECK_OK(fe__bootstrap_mean_ci(v, 200, 2000, 42, &lo2, &hi2));
    CHECK(lo == lo2 && hi == hi2);  /* deterministic for a seed */
    /* constant data: zero-width interval */
    double c[5] = {0.5, 0.5, 0.5, 0.5, 0.5};
    CHECK_OK(fe__bootstrap_mean_ci(c, 5, 100, 1, &lo, &hi));
    CHECK(lo == 0.5 && hi == 0.5);
    CHECK_OK(fe__bootstrap_mean_ci(c, 0, 100, 1, &lo, &hi));
    CHECK(isnan(lo) && isnan(hi));
    CHECK_STATUS(fe__bootstrap_mean_ci(c, 5, 3, 1, &lo, &hi), FE_E_ARG);
    NOTE("CI width %.4f for n=200", hi2 - lo2);
}
