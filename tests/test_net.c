/*
 * test_net.c — the whole network against the reference's golden outputs
 * (tests/fixtures/faceres, copied from ../shared/fixtures/faceres: tfjs 4.22 cpu backend),
 * on both GEMM kernels in the same run: descriptor cosine >= 0.99999 and max |diff| <= 1e-4;
 * every per-layer map of face_sample1 and the 8x8/4x4/2x2 maps of every fixture within a
 * relative L2 error of 1e-5. Each comparison has a negative control (a perturbed copy must
 * fail it). Also: batch == single bit for bit, threads == single, no allocation per image,
 * model-open failures propagate the blob's status, allocation-failure stepping gives
 * FE_E_NOMEM with no leak (LSan under make check), face-api's non-150 input rule, the CLI.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "model.h"

#include <sys/resource.h>

#include <string.h>

#define FIX "tests/fixtures/faceres/"
#define MODEL_PATH "weights/faceres.feb"

static const char *const fixtures[5] = {"synth_gradient", "synth_random", "face_sample1",
                                        "face_sample2", "face_sample3"};

/* ---- comparisons (each returns 1 when within its bound) ------------------------------------ */

static double rel_l2(const float *got, const float *want, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)want[i];
        num += d * d;
        den += (double)want[i] * want[i];
    }
    return den > 0 ? sqrt(num / den) : (num > 0 ? INFINITY : 0);
}
static int map_ok(const float *got, const float *want, size_t n, double *err) {
    *err = rel_l2(got, want, n);
    return *err <= 1e-5;
}
static int desc_ok(const float *got, const float *want, double *cosine, double *maxabs) {
    double dot = 0, a = 0, b = 0, m = 0;
    for (int i = 0; i < FE_DESC_DIM; i++) {
        dot += (double)got[i] * want[i];
        a += (double)got[i] * got[i];
        b += (double)want[i] * want[i];
        double d = fabs((double)got[i] - want[i]);
        if (d > m || d != d) m = d;
    }
    *cosine = dot / sqrt(a * b);
    *maxabs = m;
    return *cosine >= 0.99999 && m <= 1e-4;
}
/* Negative controls: perturbations just past each bound must fail. */
static int map_control_fails(const float *got, const float *want, size_t n) {
    float *p = malloc(n * sizeof(float));
    if (!p) return 0;
    memcpy(p, got, n * sizeof(float));
    double norm = 0;
    for (size_t i = 0; i < n; i++) norm += (double)want[i] * want[i];
    p[n / 2] += (float)(3e-5 * sqrt(norm));   /* relative L2 error >= 2e-5 */
    double e;
    int ok = map_ok(p, want, n, &e);
    free(p);
    return !ok;
}
static int desc_controls_fail(const float *got, const float *want) {
    float p[FE_DESC_DIM];
    double c, m;
    memcpy(p, got, sizeof p);
    p[5] += 2e-4f;                              /* the max |diff| part alone must reject */
    int a = desc_ok(p, want, &c, &m);
    int abs_part = m > 1e-4 && c >= 0.99999;
    memcpy(p, got, sizeof p);
    for (int i = 0; i < FE_DESC_DIM; i++)      /* cosine drops to ~0.999987 */
        p[i] += (i % 2 ? 6e-4f : -6e-4f);
    int b = desc_ok(p, want, &c, &m);
    int cos_part = c < 0.99999;
    return !a && !b && abs_part && cos_part;
}

static float *read_fix(fe_test *t, const char *name, const char *suffix, size_t want_n) {
    char path[512];
    snprintf(path, sizeof path, FIX "%s%s", name, suffix);
    size_t n;
    float *v = fe_t_read_f32(path, &n);
    if (!v || n != want_n) {
        free(v);
        fe_t_fail(t, __FILE__, __LINE__, "%s: missing or %zu floats, expected %zu", path, n, want_n);
        return NULL;
    }
    return v;
}

static int kernels(const fe__gemm_kernel **ks) {
    int n = 0;
    ks[n++] = fe__gemm_kernel_ref();
    if (fe__gemm_kernel_avx2()) ks[n++] = fe__gemm_kernel_avx2();
    return n;
}

static fe_model *open_model(fe_test *t) {
    fe_model *m = NULL;
    fe_status st = fe_model_open(MODEL_PATH, NULL, &m);
    if (st != FE_OK)
        fe_t_fail(t, __FILE__, __LINE__, "fe_model_open(%s): %s (%s)", MODEL_PATH,
                  fe_status_name(st), fe_last_error());
    return m;
}

static fe_image *load_fixture(fe_test *t, const char *name) {
    char path[512];
    snprintf(path, sizeof path, FIX "%s.ppm", name);
    fe_image *img = NULL;
    fe_status st = fe_image_load(path, &img);
    if (st != FE_OK || img->width != 150 || img->height != 150 || img->channels != 3) {
        fe_t_fail(t, __FILE__, __LINE__, "%s: %s", path, fe_status_name(st));
        fe_image_free(img);
        return NULL;
    }
    return img;
}

/* ---- golden tests ----------------------------------------------------------------------------- */

FE_TEST(net_fixtures_match_reference_both_kernels) {
    fe_model *m = open_model(t);
    if (!m) return;
    fe_session *s;
    CHECK_OK(fe_session_create(m, &s));
    fe_features *f = malloc(sizeof *f);
    CHECK(f != NULL);
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    char summary[2][256];
    for (int ki = 0; ki < nk; ki++) {
        fe__session_set_kernel(s, ks[ki]);
        double worst_cos = 1, worst_abs = 0, worst_map[3] = {0, 0, 0};
        for (int fi = 0; fi < 5; fi++) {
            fe_image *img = load_fixture(t, fixtures[fi]);
            if (!img) return;
            fe_status st = fe_embed(s, img->data, f);
            fe_image_free(img);
            CHECK_OK(st);
            float *d = read_fix(t, fixtures[fi], ".desc.f32", 128);
            float *m8 = read_fix(t, fixtures[fi], ".fmap8x8.f32", 8 * 8 * 128);
            float *m4 = read_fix(t, fixtures[fi], ".fmap4x4.f32", 4 * 4 * 256);
            float *m2 = read_fix(t, fixtures[fi], ".fmap.f32", 2 * 2 * 256);
            if (!d || !m8 || !m4 || !m2) return;
            double cs, ma, e8, e4, e2;
            int ok_d = desc_ok(f->descriptor, d, &cs, &ma);
            int ok8 = map_ok(f->map8, m8, 8 * 8 * 128, &e8);
            int ok4 = map_ok(f->map4, m4, 4 * 4 * 256, &e4);
            int ok2 = map_ok(f->map2, m2, 2 * 2 * 256, &e2);
            int controls = desc_controls_fail(f->descriptor, d) &&
                           map_control_fails(f->map8, m8, 8 * 8 * 128) &&
                           map_control_fails(f->map4, m4, 4 * 4 * 256) &&
                           map_control_fails(f->map2, m2, 2 * 2 * 256);
            /* embedding = descriptor / ||descriptor|| */
            double n2 = 0, emax = 0;
            for (int j = 0; j < 128; j++) n2 += (double)f->descriptor[j] * f->descriptor[j];
            for (int j = 0; j < 128; j++) {
                double e = fabs(f->embedding[j] - f->descriptor[j] / sqrt(n2));
                if (e > emax) emax = e;
            }
            free(d); free(m8); free(m4); free(m2);
            CHECK_MSG(ok_d && ok8 && ok4 && ok2,
                      "%s [%s]: cosine %.8f maxabs %.3g, rel L2 map8 %.3g map4 %.3g map2 %.3g",
                      fixtures[fi], ks[ki]->name, cs, ma, e8, e4, e2);
            CHECK_MSG(controls, "%s [%s]: a perturbed output passed a comparison", fixtures[fi],
                      ks[ki]->name);
            CHECK_MSG(emax < 1e-7, "embedding is not the normalised descriptor (%.3g)", emax);
            if (cs < worst_cos) worst_cos = cs;
            if (ma > worst_abs) worst_abs = ma;
            if (e8 > worst_map[0]) worst_map[0] = e8;
            if (e4 > worst_map[1]) worst_map[1] = e4;
            if (e2 > worst_map[2]) worst_map[2] = e2;
        }
        snprintf(summary[ki], sizeof summary[ki],
                 "%s: worst cos %.9f maxabs %.2e relL2 map8 %.2e map4 %.2e map2 %.2e",
                 ks[ki]->name, worst_cos, worst_abs, worst_map[0], worst_map[1], worst_map[2]);
    }
    for (int ki = 0; ki < nk; ki++) NOTE("%s", summary[ki]);
    free(f);
    fe_session_destroy(s);
    fe_model_close(m);
}

FE_TEST(net_every_layer_of_face_sample1_both_kernels) {
    static const struct { const char *file; size_t n; } layers[18] = {
        {"input_normalized", 150 * 150 * 3}, {"conv32_down", 72 * 72 * 32},
        {"maxpool", 35 * 35 * 32},           {"conv32_1", 35 * 35 * 32},
        {"conv32_2", 35 * 35 * 32},          {"conv32_3", 35 * 35 * 32},
        {"conv64_down", 17 * 17 * 64},       {"conv64_1", 17 * 17 * 64},
        {"conv64_2", 17 * 17 * 64},          {"conv64_3", 17 * 17 * 64},
        {"conv128_down", 8 * 8 * 128},       {"conv128_1", 8 * 8 * 128},
        {"conv128_2", 8 * 8 * 128},          {"conv256_down", 4 * 4 * 256},
        {"conv256_1", 4 * 4 * 256},          {"conv256_2", 4 * 4 * 256},
        {"conv256_down_out", 2 * 2 * 256},   {"global_avg", 256}};
    fe_model *m = open_model(t);
    if (!m) return;
    fe_session *s;
    CHECK_OK(fe_session_create(m, &s));
    float *dump[18], *want[18];
    for (int i = 0; i < 18; i++) {
        char suffix[64];
        snprintf(suffix, sizeof suffix, ".layers/%s.f32", layers[i].file);
        want[i] = read_fix(t, "face_sample1", suffix, layers[i].n);
        dump[i] = malloc(layers[i].n * sizeof(float));
        if (!want[i] || !dump[i]) return;
        fe__net_ws_set_dump(fe__session_ws(s), i, dump[i]);
    }
    fe_image *img = load_fixture(t, "face_sample1");
    if (!img) return;
    fe_features *f = malloc(sizeof *f);
    CHECK(f != NULL);
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    for (int ki = 0; ki < nk; ki++) {
        fe__session_set_kernel(s, ks[ki]);
        for (int i = 0; i < 18; i++) memset(dump[i], 0xff, layers[i].n * sizeof(float));  /* NaN */
        CHECK_OK(fe_embed(s, img->data, f));
        double worst = 0;
        int worst_i = 0;
        for (int i = 0; i < 18; i++) {
            double e;
            int ok = map_ok(dump[i], want[i], layers[i].n, &e);
            CHECK_MSG(ok, "[%s] layer %s: relative L2 error %.3g > 1e-5", ks[ki]->name,
                      layers[i].file, e);
            CHECK_MSG(map_control_fails(dump[i], want[i], layers[i].n),
                      "[%s] layer %s: perturbed copy passed", ks[ki]->name, layers[i].file);
            if (e > worst) { worst = e; worst_i = i; }
        }
        /* the input normalisation is bit-exact (faceres.md §2) */
        CHECK_MSG(memcmp(dump[0], want[0], layers[0].n * sizeof(float)) == 0,
                  "input_normalized differs from the reference bit pattern");
        NOTE("%s: 18 layers, worst relative L2 %.2e at %s", ks[ki]->name, worst,
             layers[worst_i].file);
    }
    for (int i = 0; i < 18; i++) { free(dump[i]); free(want[i]); }
    free(f);
    fe_image_free(img);
    fe_session_destroy(s);
    fe_model_close(m);
}

/* ---- invariants -------------------------------------------------------------------------------- */

FE_TEST(net_batch_equals_single_bit_for_bit) {
    /* 19 images: the 5 fixtures, repeated, crossing the 16-image batch boundary */
    enum { N = 19 };
    fe_model *m = open_model(t);
    if (!m) return;
    fe_session *s;
    CHECK_OK(fe_session_create(m, &s));
    fe_image *img[5];
    for (int i = 0; i < 5; i++) if (!(img[i] = load_fixture(t, fixtures[i]))) return;
    const uint8_t *chips[N];
    for (int i = 0; i < N; i++) chips[i] = img[(i * 3) % 5]->data;
    fe_features *batch = malloc(N * sizeof *batch), *one = malloc(sizeof *one);
    CHECK(batch && one);
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    for (int ki = 0; ki < nk; ki++) {
        fe__session_set_kernel(s, ks[ki]);
        CHECK_OK(fe_embed_batch(s, chips, N, batch));
        for (int i = 0; i < N; i++) {
            CHECK_OK(fe_embed(s, chips[i], one));
            CHECK_MSG(memcmp(one, &batch[i], sizeof *one) == 0, "[%s] image %d: batch != single",
                      ks[ki]->name, i);
        }
        /* negative control: a changed bit is seen */
        one->map4[17] = nextafterf(one->map4[17], INFINITY);
        CHECK(memcmp(one, &batch[(N - 1)], sizeof *one) != 0);
    }
    CHECK_OK(fe_embed_batch(s, chips, 0, NULL));
    NOTE("%d images in batches of %d and one by one: identical (%d kernel(s))", N, FE_NET_BATCH, nk);
    free(batch); free(one);
    for (int i = 0; i < 5; i++) fe_image_free(img[i]);
    fe_session_destroy(s);
    fe_model_close(m);
}

FE_TEST(net_threads_bit_identical) {
    fe_model *m = open_model(t);
    if (!m) return;
    fe_session *s;
    CHECK_OK(fe_session_create(m, &s));
    fe_image *a = load_fixture(t, "face_sample2"), *b = load_fixture(t, "synth_random");
    if (!a || !b) return;
    const uint8_t *chips[3] = {a->data, b->data, a->data};
    fe_features *f1 = malloc(3 * sizeof *f1), *f2 = malloc(3 * sizeof *f2);
    CHECK(f1 && f2);
    fe__session_set_threads(s, 1);
    CHECK_OK(fe_embed_batch(s, chips, 3, f1));
    fe__session_set_threads(s, 2);
    CHECK_OK(fe_embed_batch(s, chips, 3, f2));
    CHECK_MSG(memcmp(f1, f2, 3 * sizeof *f1) == 0, "2 threads differ from 1");
    CHECK(memcmp(&f1[0], &f1[1], sizeof *f1) != 0);   /* control: different inputs differ */
    CHECK(memcmp(&f1[0], &f1[2], sizeof *f1) == 0);
#ifdef _OPENMP
    NOTE("OpenMP build: 1 and 2 threads identical");
#else
    NOTE("built without OpenMP: thread count is a no-op here (make OMP=1 test runs it)");
#endif
    free(f1); free(f2);
    fe_image_free(a); fe_image_free(b);
    fe_session_destroy(s);
    fe_model_close(m);
}

FE_TEST(net_embed_allocates_nothing) {
    /* the session owns the workspace: with every allocation failing, embedding still works */
    fe_model *m = open_model(t);
    if (!m) return;
    fe_session *s;
    CHECK_OK(fe_session_create(m, &s));
    fe_image *img = load_fixture(t, "face_sample3");
    if (!img) return;
    fe_features *f = malloc(2 * sizeof *f);
    CHECK(f != NULL);
    const uint8_t *chips[2] = {img->data, img->data};
    fe__alloc_fail_after(0);
    fe_status a = fe_embed(s, img->data, f);
    fe_status b = fe_embed_batch(s, chips, 2, f);
    fe__alloc_fail_after(-1);
    CHECK_OK(a);
    CHECK_OK(b);
    free(f);
    fe_image_free(img);
    fe_session_destroy(s);
    fe_model_close(m);
}

FE_TEST(model_open_failures_propagate_blob_status) {
    size_t n;
    uint8_t *blob = fe_t_read_file(MODEL_PATH, &n);
    CHECK_MSG(blob != NULL, "cannot read %s", MODEL_PATH);
    fe_model *m = (fe_model *)1;
    CHECK_STATUS(fe_model_open("tests/fixtures/no-such-file.feb", NULL, &m), FE_E_IO);
    CHECK(m == NULL);
    /* each corruption: the model gives exactly the blob reader's status */
    struct { const char *what; size_t len; size_t flip; fe_status want; } cases[] = {
        {"bad magic", n, 1, FE_E_MAGIC},
        {"truncated", n / 2, (size_t)-1, FE_E_TRUNCATED},
        {"tensor byte flipped (CRC)", n, n - 100, FE_E_CHECKSUM},
        {"empty", 0, (size_t)-1, FE_E_TRUNCATED},
    };
    size_t checked = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *c = malloc(n);
        CHECK(c != NULL);
        memcpy(c, blob, n);
        if (cases[i].flip != (size_t)-1) c[cases[i].flip] ^= 0x5a;
        fe__blob *b = NULL;
        fe_status bs = fe__blob_open_memory(c, cases[i].len, 1, &b);
        fe__blob_close(b);
        fe_status ms = fe_model_open_memory(c, cases[i].len, NULL, &m);
        char path[600];
        snprintf(path, sizeof path, "%s/bad%zu.feb", fe_t_tmpdir(), i);
        CHECK(fe_t_write_file(path, c, cases[i].len) == 0);
        fe_status fs = fe_model_open(path, NULL, &m);
        free(c);
        CHECK_MSG(bs != FE_OK && ms == bs && fs == bs, "%s: blob %s, memory %s, file %s",
                  cases[i].what, fe_status_name(bs), fe_status_name(ms), fe_status_name(fs));
        if (cases[i].want != FE_OK && i < 3)
            CHECK_MSG(bs == cases[i].want, "%s: %s", cases[i].what, fe_status_name(bs));
        CHECK(m == NULL);
        checked++;
    }
    /* the CRC flip opens when verification is off, and the options are checked */
    fe_model_options opt;
    fe_model_options_default(&opt);
    CHECK(opt.verify_crc == 1 && opt.size == sizeof opt);
    opt.size = 0;
    CHECK_STATUS(fe_model_open(MODEL_PATH, &opt, &m), FE_E_ARG);
    CHECK_STATUS(fe_model_open(NULL, NULL, &m), FE_E_ARG);
    CHECK_STATUS(fe_model_open(MODEL_PATH, NULL, NULL), FE_E_ARG);
    CHECK_STATUS(fe_session_create(NULL, NULL), FE_E_ARG);
    free(blob);
    NOTE("%zu corrupt blobs: model status == blob status (file and memory)", checked);
}

FE_TEST(model_session_allocation_failures_give_nomem) {
    /* Step the allocation hook through open (from memory, CRC off to keep it quick) and
     * session create: every failure is FE_E_NOMEM and nothing leaks (LSan in make check). */
    size_t n;
    uint8_t *blob = fe_t_read_file(MODEL_PATH, &n);
    CHECK(blob != NULL);
    fe_model_options opt;
    fe_model_options_default(&opt);
    opt.verify_crc = 0;
    fe_model *m = NULL;
    long steps = 0;
    for (long k = 0;; k++) {
        fe__alloc_fail_after(k);
        fe_status st = fe_model_open_memory(blob, n, &opt, &m);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) break;
        CHECK_MSG(st == FE_E_NOMEM, "open, allocation %ld failing: %s", k, fe_status_name(st));
        CHECK(m == NULL);
        steps++;
        CHECK(k < 10000);
    }
    free(blob);
    fe_session *s = NULL;
    long ssteps = 0;
    for (long k = 0;; k++) {
        fe__alloc_fail_after(k);
        fe_status st = fe_session_create(m, &s);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) break;
        CHECK_MSG(st == FE_E_NOMEM, "session, allocation %ld failing: %s", k, fe_status_name(st));
        CHECK(s == NULL);
        ssteps++;
    }
    fe_image *img = load_fixture(t, "synth_gradient");
    if (!img) return;
    fe_features *f = malloc(sizeof *f);
    CHECK(f != NULL);
    CHECK_OK(fe_embed(s, img->data, f));   /* the model that survived the stepping works */
    float *d = read_fix(t, "synth_gradient", ".desc.f32", 128);
    if (!d) return;
    double c, ma;
    CHECK(desc_ok(f->descriptor, d, &c, &ma));
    free(d); free(f);
    fe_image_free(img);
    fe_session_destroy(s);
    fe_model_close(m);
    NOTE("open failed cleanly at each of %ld allocations, session at %ld", steps, ssteps);
}

/* ---- face-api's input rule for other sizes ------------------------------------------------------- */

FE_TEST(faceapi_resize_matches_tf_goldens) {
    /* tfjs-core's resize_bilinear tests (alignCorners=false), values produced by TF */
    const float in1[12] = {1.56324531f, 2.13817752f, 1.44398421f, 1.07632684f, 0.59306785f,
                           -0.36970865f, 1.62451879f, 1.8367334f, 1.13944798f, 2.01993218f,
                           2.01919952f, 2.67524054f};
    const float want1[24] = {1.5632453f, 2.13817763f, 1.44398415f, 1.07632685f, 0.59306782f,
                             -0.36970866f, 1.59388208f, 1.98745549f, 1.2917161f, 1.54812956f,
                             1.30613375f, 1.15276587f, 1.62451875f, 1.83673334f, 1.13944793f,
                             2.01993227f, 2.01919961f, 2.67524052f, 1.62451875f, 1.83673334f,
                             1.13944793f, 2.01993227f, 2.01919961f, 2.67524052f};
    const float in2[12] = {1.19074044f, 0.91373104f, 2.01611669f, -0.52270832f, 0.38725395f,
                           1.30809779f, 0.61835143f, 3.49600659f, 2.09230986f, 0.56473997f,
                           0.03823943f, 1.19864896f};
    const float want2[40] = {
        1.19074047f, 0.91373104f, 1.68596613f, 0.05186744f, 1.69034398f, -0.15654698f,
        0.7130264f,  0.94193673f, 0.38725394f, 1.30809784f, 0.9045459f,  2.20486879f,
        1.59434628f, 0.89455694f, 1.68591988f, 0.26748738f, 0.58103991f, 1.00690198f,
        0.21274668f, 1.25337338f, 0.6183514f,  3.49600649f, 1.50272655f, 1.73724651f,
        1.68149579f, 0.69152176f, 0.44905344f, 1.07186723f, 0.03823943f, 1.19864893f,
        0.6183514f,  3.49600649f, 1.50272655f, 1.73724651f, 1.68149579f, 0.69152176f,
        0.44905344f, 1.07186723f, 0.03823943f, 1.19864893f};
    const float in3[5] = {1, 2, 3, 4, 5};
    const float want3[10] = {1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f, 5, 5};
    const float in4[4] = {2, 2, 4, 4};
    const float want4[9] = {2, 2, 2, 10.0f / 3, 10.0f / 3, 10.0f / 3, 4, 4, 4};
    float out[40];
    double worst = 0;
    struct { const float *in, *want; size_t sh, sw, ch, dh, dw; } cases[4] = {
        {in1, want1, 2, 3, 2, 4, 3}, {in2, want2, 2, 3, 2, 4, 5}, {in3, want3, 1, 5, 1, 1, 10},
        {in4, want4, 2, 2, 1, 3, 3}};
    for (int c = 0; c < 4; c++) {
        fe__resize_bilinear_legacy(cases[c].in, cases[c].sh, cases[c].sw, cases[c].ch, out,
                                   cases[c].dh, cases[c].dw);
        size_t n = cases[c].dh * cases[c].dw * cases[c].ch;
        for (size_t i = 0; i < n; i++) {
            double e = fabs(out[i] - cases[c].want[i]);
            CHECK_MSG(e <= 1e-6, "case %d value %zu: %.8f vs TF %.8f", c, i, out[i], cases[c].want[i]);
            if (e > worst) worst = e;
        }
        /* negative control: the half-pixel-centres variant would differ */
        CHECK(c == 2 || c == 3 || fabs(out[2 * cases[c].ch] - cases[c].want[2 * cases[c].ch]) < 1e-6);
    }
    NOTE("4 TF golden cases, worst |diff| %.2e (TF prints 8 digits)", worst);
}

FE_TEST(faceapi_pad_to_square_rule) {
    /* 150 x 148 (wide): diff 2, round(1) = 1 row after, 1 before, no resize */
    fe_image *img;
    CHECK_OK(fe_image_create(150, 148, 3, &img));
    for (size_t i = 0; i < 150u * 148u * 3u; i++) img->data[i] = (uint8_t)(1 + i % 250);
    float *out = malloc(150 * 150 * 3 * sizeof(float));
    CHECK(out != NULL);
    CHECK_OK(fe__faceapi_input(img, out));
    for (size_t x = 0; x < 150 * 3; x++) {
        CHECK(out[x] == 0.0f);                          /* row 0: the 1 row before */
        CHECK(out[149 * 450 + x] == 0.0f);              /* row 149: the 1 row after */
        CHECK(out[1 * 450 + x] == (float)img->data[x]); /* row 1 = image row 0 */
    }
    fe_image_free(img);
    /* 150 x 147 (wide): diff 3, round(1.5) = 2 rows after, 1 before */
    CHECK_OK(fe_image_create(150, 147, 1, &img));        /* gray: replicated to RGB */
    memset(img->data, 200, 150 * 147);
    CHECK_OK(fe__faceapi_input(img, out));
    CHECK(out[0] == 0.0f && out[450] == 200.0f && out[450 + 2] == 200.0f);
    CHECK(out[147 * 450] == 200.0f && out[148 * 450] == 0.0f && out[149 * 450] == 0.0f);
    fe_image_free(img);
    /* 2 x 3 (tall, w=2 h=3): diff 1 -> round(0.5) = 1 column after, 0 before; then resize
     * 3x3 -> 150: legacy src = dst * 3/150, so output column 149 samples x = 2.98 -> lerp
     * between column 2 (the pad, 0) and ceil clamped to 2: 0; column 0 is pixel (0,0). */
    CHECK_OK(fe_image_create(2, 3, 3, &img));
    for (int i = 0; i < 18; i++) img->data[i] = (uint8_t)(10 * (i + 1));
    CHECK_OK(fe__faceapi_input(img, out));
    CHECK(out[0] == 10.0f && out[1] == 20.0f && out[2] == 30.0f);
    CHECK(out[149 * 3] == 0.0f);
    /* column 50: src x = 1.0 exactly -> pixel (0,1) = 40,50,60 */
    CHECK(out[50 * 3] == 40.0f && out[50 * 3 + 2] == 60.0f);
    /* column 25: src 0.5 -> halfway between pixel (0,0) and (0,1) */
    CHECK(out[25 * 3] == 25.0f);
    fe_image_free(img);
    free(out);
}

FE_TEST(embed_image_rules) {
    fe_model *m = open_model(t);
    if (!m) return;
    fe_session *s;
    CHECK_OK(fe_session_create(m, &s));
    fe_image *img = load_fixture(t, "face_sample1");
    if (!img) return;
    fe_features *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    CHECK(a && b);
    /* a 150x150 RGB image is fe_embed exactly */
    CHECK_OK(fe_embed(s, img->data, a));
    CHECK_OK(fe_embed_image(s, img, b));
    CHECK(memcmp(a, b, sizeof *a) == 0);
    /* the same chip as RGBA (alpha dropped) goes through the float path: same numbers */
    fe_image *rgba;
    CHECK_OK(fe_image_create(150, 150, 4, &rgba));
    for (size_t i = 0; i < 150 * 150; i++) {
        memcpy(rgba->data + 4 * i, img->data + 3 * i, 3);
        rgba->data[4 * i + 3] = 7;
    }
    CHECK_OK(fe_embed_image(s, rgba, b));
    CHECK(memcmp(a->descriptor, b->descriptor, sizeof a->descriptor) == 0);
    fe_image_free(rgba);
    /* a 300x300 upscale by pixel doubling resizes back (src = 2*dst, integer) to the chip */
    fe_image *big;
    CHECK_OK(fe_image_create(300, 300, 3, &big));
    for (size_t y = 0; y < 300; y++)
        for (size_t x = 0; x < 300; x++)
            memcpy(big->data + (y * 300 + x) * 3, img->data + ((y / 2) * 150 + x / 2) * 3, 3);
    CHECK_OK(fe_embed_image(s, big, b));
    CHECK(memcmp(a->descriptor, b->descriptor, sizeof a->descriptor) == 0);
    /* a non-square crop gives a finite, different descriptor */
    big->width = 300;
    big->height = 200;
    CHECK_OK(fe_embed_image(s, big, b));
    CHECK(memcmp(a->descriptor, b->descriptor, sizeof a->descriptor) != 0);
    CHECK(b->descriptor[0] == b->descriptor[0]);
    fe_image_free(big);
    free(a); free(b);
    fe_image_free(img);
    fe_session_destroy(s);
    fe_model_close(m);
}

/* ---- the CLI ------------------------------------------------------------------------------------- */

FE_TEST(cli_embed_json_and_errors) {
    char out[65536];
    int rc = fe_t_run(out, sizeof out, "%s embed --json " FIX "face_sample1.ppm " FIX
                      "synth_random.ppm 2>/dev/null", fe_t_cli());
    CHECK_MSG(rc == 0, "exit %d", rc);
    /* two lines, in input order, with the three keys */
    char *l1 = out, *l2 = strchr(out, '\n');
    CHECK(l2 != NULL);
    *l2++ = 0;
    CHECK(strstr(l1, "\"file\":\"" FIX "face_sample1.ppm\"") != NULL);
    CHECK(strstr(l2, "\"file\":\"" FIX "synth_random.ppm\"") != NULL);
    CHECK(strstr(l1, "\"descriptor\":[") && strstr(l1, "\"embedding\":["));
    /* the printed descriptor (9 significant digits) is the reference's */
    float *d = read_fix(t, "face_sample1", ".desc.f32", 128);
    if (!d) return;
    char *p = strstr(l1, "\"descriptor\":[") + 14;
    double maxd = 0;
    for (int i = 0; i < 128; i++) {
        char *end;
        double v = strtod(p, &end);
        CHECK(end != p);
        if (fabs(v - d[i]) > maxd) maxd = fabs(v - d[i]);
        p = end + 1;
    }
    free(d);
    CHECK_MSG(maxd <= 1e-4, "CLI descriptor off by %.3g", maxd);
    /* a bad file: named on stderr, the good file still embedded, exit 1, one line each */
    char path[600];
    snprintf(path, sizeof path, "%s/notanimage.ppm", fe_t_tmpdir());
    CHECK(fe_t_write_file(path, "hello", 5) == 0);
    rc = fe_t_run(out, sizeof out, "%s embed --json %s " FIX "face_sample2.ppm 2>&1", fe_t_cli(), path);
    CHECK_MSG(rc == 1, "exit %d", rc);
    CHECK(strstr(out, "faceemd: ") && strstr(out, "notanimage.ppm:"));
    CHECK(strstr(out, "\"error\":\"FE_E_MAGIC\""));
    CHECK(strstr(out, "face_sample2.ppm\",\"descriptor\""));
    /* usage errors exit 2; --help exits 0; a missing model exits 1 naming it */
    CHECK(fe_t_run(NULL, 0, "%s embed 2>/dev/null", fe_t_cli()) == 2);
    CHECK(fe_t_run(NULL, 0, "%s embed --bogus x 2>/dev/null", fe_t_cli()) == 2);
    CHECK(fe_t_run(NULL, 0, "%s embed --help >/dev/null", fe_t_cli()) == 0);
    rc = fe_t_run(out, sizeof out, "%s embed --model /nonexistent.feb " FIX "face_sample1.ppm 2>&1",
                  fe_t_cli());
    CHECK(rc == 1 && strstr(out, "/nonexistent.feb"));
    /* text mode */
    rc = fe_t_run(out, sizeof out, "%s embed " FIX "face_sample1.ppm", fe_t_cli());
    CHECK(rc == 0 && strstr(out, "descriptor norm 1.371"));
}

FE_TEST(cli_embed_peak_rss_under_40mb) {
    /* the memory budget for embedding one image: weights packed once (22.5 MB of
     * fp32), the blob read during open, and a workspace whose unused batch slots are never
     * touched. getrusage(RUSAGE_CHILDREN) gives the largest waited-for child (Linux: KiB). */
    if (fe_t_sanitized()) SKIP("sanitizer builds carry shadow memory; measured in make test");
    int rc = fe_t_run(NULL, 0, "%s embed " FIX "face_sample1.ppm >/dev/null", fe_t_cli());
    CHECK(rc == 0);
    struct rusage ru;
    CHECK(getrusage(RUSAGE_CHILDREN, &ru) == 0);
    double mb = (double)ru.ru_maxrss / 1024.0;
    CHECK_MSG(mb > 1.0 && mb <= 40.0, "peak RSS %.1f MB", mb);
    NOTE("peak RSS of 'faceemd embed' on one image: %.1f MB (budget 40)", mb);
}
