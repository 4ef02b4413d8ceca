/*
 * test_eval.c — the identification evaluation (fe_eval_run, `faceemd eval`) end to end on the
 * bundled demo data (tests/data/demo: 24 gallery photos of 6 people): numbers in range, the
 * row order (stage 1, then the paper's default, then the sweep), the JSON well-formed with
 * the keys scripts read, the same numbers for 1 and 2 threads and through the library, option
 * checks (FE_E_ARG; exit 2 on the command line), and a small LFW run when ../shared is there.
 * The metric functions themselves are checked by hand in test_metrics.c (ties, R > K, R = 0).
 */
#define _DEFAULT_SOURCE   /* realpath */
#include "test.h"
#include "metrics.h"

#include <limits.h>
#include <stdlib.h>

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* ---- a strict little JSON checker (RFC 8259 grammar, no semantics) ---------------------- */

static const char *js_value(const char *p, int depth);

static const char *js_ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}

static const char *js_string(const char *p) {
    if (*p++ != '"') return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
    return p + 1;
}

static const char *js_number(const char *p) {
    const char *s = p;
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!(*p >= '0' && *p <= '9')) return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    return p > s ? p : NULL;
}

static const char *js_value(const char *p, int depth) {
    if (depth > 64) return NULL;
    p = js_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = js_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                if (!(p = js_string(js_ws(p)))) return NULL;
                p = js_ws(p);
                if (*p++ != ':') return NULL;
            }
            if (!(p = js_value(p, depth + 1))) return NULL;
            p = js_ws(p);
            if (*p == close) return p + 1;
            if (*p++ != ',') return NULL;
        }
    }
    if (*p == '"') return js_string(p);
    if (!strncmp(p, "true", 4)) return p + 4;
    if (!strncmp(p, "false", 5)) return p + 5;
    if (!strncmp(p, "null", 4)) return p + 4;
    return js_number(p);
}

static int json_valid(const char *s) {
    const char *e = js_value(s, 0);
    return e && *js_ws(e) == 0;
}

/* The number after "key": in s (after the first occurrence of `after`, if given); NaN if absent. */
static double num_after(const char *s, const char *after, const char *key) {
    if (after && !(s = strstr(s, after))) return NAN;
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = strstr(s, k);
    return p ? strtod(p + strlen(k), NULL) : NAN;
}

/* The row line of kind/method in the JSON (rows are one per line); NULL if absent. */
static const char *find_row(const char *json, const char *kind, const char *method) {
    char pat[200];
    snprintf(pat, sizeof pat, "{\"kind\": \"%s\", \"method\": \"%s\"", kind, method);
    return strstr(json, pat);
}

static size_t count(const char *s, const char *pat) {
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, pat)); p++) n++;
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

FE_TEST(eval_json_checker_self_test) {
    CHECK(json_valid("{\"a\": [1, 2.5e-3, -0, true, null, \"x\\n\"], \"b\": {}}"));
    CHECK(!json_valid("{\"a\": [1, 2,]}"));
    CHECK(!json_valid("{\"a\": 01}"));
    CHECK(!json_valid("{\"a\": nan}"));
    CHECK(!json_valid("{\"a\": 1} x"));
    CHECK(!json_valid("{\"a\" 1}"));
}

FE_TEST(eval_metrics_ties_and_long_r) {
    /* the evaluation's ranked list stops at R (or at what stage 1 returned): a tie broken the
     * other way moves MAP@R, and an R beyond the list counts the missing ranks as wrong */
    const uint32_t a[] = {3, 1, 3}, b[] = {1, 3, 3};
    fe__query_metrics ma = fe__metrics_query(a, 3, 3, 3), mb = fe__metrics_query(b, 3, 3, 3);
    CHECK(ma.p1 == 1 && mb.p1 == 0 && ma.rp == mb.rp);
    CHECK_NEAR(ma.map_r, (1.0 + 2.0 / 3.0) / 3.0, 1e-15);
    CHECK_NEAR(mb.map_r, (0.5 + 2.0 / 3.0) / 3.0, 1e-15);
    fe__query_metrics mc = fe__metrics_query(a, 3, 3, 200);   /* R = 200 > K */
    CHECK_NEAR(mc.rp, 2.0 / 200.0, 1e-15);
    CHECK(mc.valid);
}

FE_TEST(eval_cli_demo_default) {
    if (!fe_t_have_demo(t)) return;
    /* under sanitizers every embedding is ~50x slower: two kinds and 8 queries there */
    const int san = fe_t_sanitized();
    const int nk = san ? 2 : 4, nq = san ? 8 : 24;
    const char *json = fe_t_tmp_path("demo.json");
    static char out[1 << 16];
    int rc = fe_t_run(out, sizeof out, "%s eval %s/gallery --landmarks %s --threads 2 --boot 200 --json %s %s 2>&1",
                      fe_t_cli(), FE_T_DEMO, FE_T_DEMO_LM, json, san ? "--kinds mask,clean --limit 8" : "");
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    char want[64];
    snprintf(want, sizeof want, "clean: %d queries", nq);
    CHECK_MSG(strstr(out, want) && strstr(out, "mask: ") && strstr(out, "stage1"), "%s", out);
    size_t n;
    char *j = fe_t_read_file(json, &n);
    CHECK(j);
    CHECK_MSG(json_valid(j), "not valid JSON:\n%.2000s", j);
    const char *kinds[4] = {"mask", "clean", "sunglasses", "crop70"};
    CHECK(count(j, "{\"kind\": ") == (size_t)(nk + 2 * nk));   /* kinds + 2 rows each */
    for (int k = 0; k < nk; k++) {
        const char *s1 = find_row(j, kinds[k], "stage1"), *d = find_row(j, kinds[k], "emd-4x4-apc-sinkhorn-a0.7");
        CHECK_MSG(s1 && d && d > s1, "%s rows missing or out of order", kinds[k]);
        CHECK(strstr(d, "\"default\": true") == strstr(d, "\"default\""));
        CHECK(num_after(s1, NULL, "n_queries") == nq && num_after(s1, NULL, "n_excluded") == 0);
        CHECK(num_after(d, NULL, "n_queries") == nq);
        const char *keys[5] = {"p1", "rp", "map_at_r", "d_p1", "stage2_thread_seconds"};
        for (int m = 0; m < 3; m++) {
            double a = num_after(s1, NULL, keys[m]), b = num_after(d, NULL, keys[m]);
            CHECK_MSG(a >= 0 && a <= 100 && b >= 0 && b <= 100, "%s %s: %g %g", kinds[k], keys[m], a, b);
        }
        CHECK(!isnan(num_after(d, NULL, keys[3])) && !isnan(num_after(d, NULL, keys[4])));
        CHECK(strstr(d, "\"ci_p1\": [") && strstr(d, "\"fixed\": ") && strstr(d, "\"grid\": 4"));
        /* a delta is the difference of the means, and its interval is ordered */
        CHECK_NEAR(num_after(d, NULL, "d_p1"), num_after(d, NULL, "p1") - num_after(s1, NULL, "p1"), 1e-6);
    }
    /* clean queries are the gallery images themselves: the nearest other photo is nearly always
     * the same person; masks and crops cost a lot more */
    double clean = num_after(find_row(j, "clean", "stage1"), NULL, "p1");
    double mask = num_after(find_row(j, "mask", "stage1"), NULL, "p1");
    CHECK_MSG(clean >= (san ? 75 : 90), "clean stage-1 P@1 %.2f", clean);
    CHECK_MSG(mask >= (san ? 25 : 50), "mask stage-1 P@1 %.2f", mask);
    double crop = san ? NAN : num_after(find_row(j, "crop70", "stage1"), NULL, "p1");
    CHECK_MSG(san || (crop >= 20 && crop < clean), "crop70 %.2f", crop);
    CHECK(strstr(j, "\"fixed_examples\": [") && strstr(j, "\"broke_examples\": [") && strstr(j, "\"seconds\": {\"embed\": "));
    CHECK(strstr(j, "\"gallery\": {\"faces\": 24, \"identities\": 6"));
    NOTE("demo stage-1 P@1: clean %.1f, mask %.1f, crop70 %.1f", clean, mask, crop);
    free(j);
}

/* Rows with the timing field cut off, for comparing two runs. */
static void strip_times(char *j) {
    char *p = j;
    while ((p = strstr(p, ", \"stage2_thread_seconds\": "))) {
        char *e = strchr(p, '}');
        memmove(p, e, strlen(e) + 1);
    }
}

FE_TEST(eval_cli_demo_sweep_threads) {
    if (!fe_t_have_demo(t)) return;
    if (fe_t_sanitized()) SKIP("four demo runs take minutes under sanitizers; eval_cli_demo_default covers them there");
    static char out[1 << 16];
    const char *j1 = fe_t_tmp_path("t1.json"), *j2 = fe_t_tmp_path("t2.json"), *idx = fe_t_tmp_path("demo.fei");
    const char *sweep = "--kinds clean,mask --grid 4,8 --weights uniform,apc --alpha 0.5,sum --k 5,100 "
                        "--boot 100 --examples 3 --limit 12";
    int rc = fe_t_run(out, sizeof out, "%s eval %s/gallery --landmarks %s %s --threads 1 --save-index %s --json %s 2>&1",
                      fe_t_cli(), FE_T_DEMO, FE_T_DEMO_LM, sweep, idx, j1);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s eval %s/gallery --landmarks %s %s --threads 2 --index %s --json %s 2>&1",
                  fe_t_cli(), FE_T_DEMO, FE_T_DEMO_LM, sweep, idx, j2);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "loaded"));
    size_t n1, n2;
    char *a = fe_t_read_file(j1, &n1), *b = fe_t_read_file(j2, &n2);
    CHECK(a && b && json_valid(a) && json_valid(b));
    /* 1 stage 1 + the default + 2 grids x 2 weightings x 2 K x 2 alphas */
    size_t rows = count(a, "{\"kind\": ") - 2;
    CHECK_MSG(rows == 2 * (2 + 16), "%zu rows", rows);
    CHECK(find_row(a, "mask", "emd-8x8-uniform-sinkhorn-sum-k5") && find_row(a, "clean", "emd-4x4-apc-sinkhorn-a0.5"));
    /* the plain sum is alpha 0.5 scaled by 2: the same order, the same numbers */
    const char *s05 = find_row(a, "mask", "emd-8x8-apc-sinkhorn-a0.5"), *ssum = find_row(a, "mask", "emd-8x8-apc-sinkhorn-sum");
    CHECK(s05 && ssum && num_after(s05, NULL, "map_at_r") == num_after(ssum, NULL, "map_at_r"));
    /* the default comes right after stage 1 even though the sweep does not contain it */
    const char *s1 = find_row(a, "mask", "stage1");
    CHECK(s1 && strstr(s1, "\n") && strstr(strstr(s1, "\n"), "emd-4x4-apc-sinkhorn-a0.7") ==
                                        strstr(strstr(s1, "\n"), "\"method\": \"emd") + 11);
    /* K = 5 re-ranks less than K = 100 but both start from the same stage 1 */
    strip_times(a);
    strip_times(b);
    char *ra = strstr(a, "\"rows\""), *rb = strstr(b, "\"rows\"");
    CHECK(ra && rb);
    CHECK_MSG(strcmp(ra, rb) == 0, "1 and 2 threads differ");
    CHECK(count(a, "\"query_path\"") <= 2 * 2 * 3);
    NOTE("%zu rows; 1 and 2 threads identical; index reused", rows);
    free(a);
    free(b);
}

static void quiet_progress(void *ctx, const char *kind, size_t done, size_t total) {
    size_t *calls = ctx;
    (void)kind;
    if (done <= total) (*calls)++;
}

FE_TEST(eval_library_api) {
    if (!fe_t_have_demo(t)) return;
    static char out[1 << 14];
    const char *idx = fe_t_tmp_path("lib.fei");
    int rc = fe_t_run(out, sizeof out, "%s index build %s/gallery -o %s --landmarks %s 2>&1", fe_t_cli(), FE_T_DEMO, idx, FE_T_DEMO_LM);
    CHECK_MSG(rc == 0, "%s", out);
    fe_model *model;
    fe_gallery *g;
    fe_landmark_list *lm;
    CHECK_OK(fe_model_open(FE_T_MODEL, NULL, &model));
    CHECK_OK(fe_gallery_load(idx, NULL, &g));
    CHECK_OK(fe_landmark_list_load(FE_T_DEMO_LM, &lm));
    fe_eval_options o;
    fe_eval_options_default(&o);
    CHECK(o.n_kinds == 4 && o.grids[0] == 4 && o.alphas[0] == 0.7 && o.ks[0] == 100 && o.n_boot == 1000);
    o.image_root = FE_T_DEMO "/gallery";
    o.landmarks = lm;
    o.kinds[0] = FE_PERTURB_CLEAN;
    o.kinds[1] = FE_PERTURB_SUNGLASSES;
    o.n_kinds = 2;
    o.alphas[1] = 0.0;   /* alpha 0 is stage 1's order exactly */
    o.n_alphas = 2;
    o.solvers[1] = FE_EMD_EXACT;   /* 4x4 exact transport is cheap */
    o.n_solvers = 2;
    const size_t nq = fe_t_sanitized() ? 4 : 10;   /* sanitizers: ~50x slower embedding */
    o.limit = nq;
    o.n_boot = 50;
    size_t calls = 0;
    o.progress = quiet_progress;
    o.progress_ctx = &calls;
    fe_eval_result *r = NULL;
    CHECK_OK(fe_eval_run(model, g, &o, &r));
    CHECK(r->n_kinds == 2 && r->n_rows == 2 * 5 && calls >= 2);
    CHECK(r->gallery_faces == 24 && r->gallery_identities == 6 && r->threads == 1 && r->first_error[0] == 0);
    for (size_t k = 0; k < 2; k++) {
        const fe_eval_kind *kd = &r->kinds[k];
        CHECK(kd->n_queries == nq && kd->n_failed == 0 && kd->n_fallback == 0 && kd->n_rows == 5);
        const fe_eval_row *s1 = &r->rows[kd->row_first], *d = s1 + 1, *a0 = s1 + 2;
        CHECK(s1->is_stage1 && d->is_default && !strcmp(d->method, "emd-4x4-apc-sinkhorn-a0.7"));
        CHECK(!strcmp(a0->method, "emd-4x4-apc-sinkhorn-a0"));
        CHECK(!strcmp(s1[4].method, "emd-4x4-apc-exact-a0") && s1[3].solver == FE_EMD_EXACT);
        CHECK(s1[4].p1 == s1->p1 && s1[4].map_r == s1->map_r);
        CHECK(a0->p1 == s1->p1 && a0->rp == s1->rp && a0->map_r == s1->map_r && a0->fixed == 0 && a0->broke == 0);
        CHECK(d->ci_p1[0] <= d->d_p1 + 1e-9 && d->d_p1 <= d->ci_p1[1] + 1e-9);
        CHECK(kd->n_fixed <= d->fixed && kd->n_broke <= d->broke);
        for (size_t e = 0; e < kd->n_fixed; e++) {
            const fe_eval_example *x = &kd->fixed[e];
            CHECK(x->query_path && x->identity && x->stage1_path && x->stage2_path);
            CHECK(strcmp(x->identity, x->stage1_identity) != 0 && strcmp(x->identity, x->stage2_identity) == 0);
            CHECK(x->seed == o.seed + x->query_index && x->stage1_index != x->query_index);
        }
    }
    CHECK(r->rows[0].p1 >= 75);   /* clean */
    fe_eval_result_free(r);

    /* setting multi: every demo identity has 4 faces, so nothing changes but the wording */
    o.setting = FE_EVAL_MULTI;
    o.n_kinds = 1;
    CHECK_OK(fe_eval_run(model, g, &o, &r));
    CHECK(r->gallery_faces == 24 && r->kinds[0].n_queries == nq && r->kinds[0].n_excluded == 0);
    fe_eval_result_free(r);

    /* bad options */
    fe_eval_options b = o;
    b.grids[0] = 5;
    CHECK_STATUS(fe_eval_run(model, g, &b, &r), FE_E_ARG);
    CHECK(r == NULL);
    b = o;
    b.alphas[0] = 1.5;
    CHECK_STATUS(fe_eval_run(model, g, &b, &r), FE_E_ARG);
    b = o;
    b.n_boot = 5;
    CHECK_STATUS(fe_eval_run(model, g, &b, &r), FE_E_ARG);
    b = o;
    b.n_kinds = 0;
    CHECK_STATUS(fe_eval_run(model, g, &b, &r), FE_E_ARG);
    b = o;
    b.size = 8;
    CHECK_STATUS(fe_eval_run(model, g, &b, &r), FE_E_ARG);
    b = o;
    b.epsilons[0] = -1;
    CHECK(fe_eval_run(model, g, &b, &r) != FE_OK);
    CHECK_STATUS(fe_eval_run(NULL, g, &o, &r), FE_E_ARG);
    fe_eval_result_free(NULL);
    /* a missing image is counted and named, not fatal */
    o.image_root = "/nonexistent-faceemd-dir";
    o.limit = 3;
    CHECK_OK(fe_eval_run(model, g, &o, &r));
    CHECK(r->kinds[0].n_failed == 3 && r->kinds[0].n_queries == 0 && strstr(r->first_error, "nonexistent"));
    fe_eval_result_free(r);
    fe_landmark_list_free(lm);
    fe_gallery_free(g);
    fe_model_close(model);
}

FE_TEST(eval_cli_usage_errors) {
    if (!fe_t_have_demo(t)) return;
    static char out[1 << 14];
    const char *bad[] = {"--grid 5", "--grid 4,4,8", "--alpha 1.5", "--alpha 0.7,", "--weights apc,foo",
                         "--solver simplex", "--kinds mask,bogus", "--kinds mask,mask", "--setting some",
                         "--boot 5", "--threads 0", "--k 0", "--k 2.5", "--epsilon 0", "--limit -3",
                         "--index a.fei --save-index b.fei", "--landmarks 1,2,3,4,5,6,7,8,9,10", "--frobnicate"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = fe_t_run(out, sizeof out, "%s eval %s/gallery %s 2>&1", fe_t_cli(), FE_T_DEMO, bad[i]);
        CHECK_MSG(rc == 2, "'%s': exit %d: %s", bad[i], rc, out);
    }
    CHECK(fe_t_run(out, sizeof out, "%s eval 2>&1", fe_t_cli()) == 2);
    CHECK(fe_t_run(out, sizeof out, "%s eval %s/gallery %s/gallery 2>&1", fe_t_cli(), FE_T_DEMO, FE_T_DEMO) == 2);
    CHECK(fe_t_run(out, sizeof out, "%s eval --help", fe_t_cli()) == 0 && strstr(out, "--save-index"));
    /* runtime failures exit 1 and name the file */
    int rc = fe_t_run(out, sizeof out, "%s eval /nonexistent-dir 2>&1", fe_t_cli());
    CHECK_MSG(rc == 1 && strstr(out, "/nonexistent-dir"), "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s eval %s/gallery --index /nonexistent.fei 2>&1", fe_t_cli(), FE_T_DEMO);
    CHECK_MSG(rc == 1 && strstr(out, "/nonexistent.fei"), "exit %d: %s", rc, out);
}

FE_TEST(eval_cli_small_lfw) {
    const char *p = fe_t_need_shared(t, "data/lfw/landmarks.tsv");
    if (!p) return;
    if (fe_t_sanitized()) SKIP("embedding 54 LFW faces plus 80 queries is slow under sanitizers; the plain build runs it");
    char lfw[4096], dir[4096];
    CHECK(realpath(p, lfw) != NULL);
    CHECK(realpath(fe_t_shared("data/lfw/images"), dir) != NULL);
    /* a small LFW gallery: ten people with 5-6 photos each plus two singletons (54 faces) */
    const char *people[] = {"Ahmed_Chalabi", "Ai_Sugiyama", "Alastair_Campbell", "Angela_Bassett",
                            "Angela_Merkel", "Antonio_Banderas", "Arminio_Fraga", "Ashanti",
                            "Benazir_Bhutto", "Benjamin_Netanyahu", "Aaron_Eckhart", "Aaron_Patterson"};
    const char *g = fe_t_tmp_path("lfw");
    CHECK(mkdir(g, 0755) == 0);
    size_t linked = 0;
    for (size_t i = 0; i < sizeof people / sizeof *people; i++) {
        char src[4400], dst[800];
        snprintf(src, sizeof src, "%s/%s", dir, people[i]);
        snprintf(dst, sizeof dst, "%s/%s", g, people[i]);
        struct stat sb;
        if (stat(src, &sb) != 0) continue;
        CHECK(symlink(src, dst) == 0);
        linked++;
    }
    if (linked < 6) SKIP("fewer than 6 of the chosen LFW people found under %s", dir);
    static char out[1 << 16];
    const char *json = fe_t_tmp_path("lfw.json");
    int rc = fe_t_run(out, sizeof out, "%s eval %s --landmarks %s --kinds mask,clean --limit 40 --boot 100 "
                      "--threads 2 --json %s 2>&1", fe_t_cli(), g, lfw, json);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    size_t n;
    char *j = fe_t_read_file(json, &n);
    CHECK(j && json_valid(j));
    double clean = num_after(find_row(j, "clean", "stage1"), NULL, "p1");
    double mask = num_after(find_row(j, "mask", "stage1"), NULL, "p1");
    double nq = num_after(find_row(j, "mask", "stage1"), NULL, "n_queries");
    double excl = num_after(find_row(j, "mask", "stage1"), NULL, "n_excluded");
    CHECK_MSG(nq == 40 && clean >= 85 && mask >= 30, "n %g clean %.1f mask %.1f", nq, clean, mask);
    CHECK_MSG(excl >= 1, "singletons should be counted as excluded (%g)", excl);
    CHECK(num_after(j, "\"fixed_examples\"", "query_index") >= 0 || strstr(j, "\"fixed_examples\": []"));
    NOTE("%zu LFW people, 40 queries: stage-1 P@1 clean %.1f, mask %.1f", linked, clean, mask);
    free(j);
}
