/*
 * test_gallery.c — the gallery index: fp16 conversion, normalisation, round trips (fp32 and
 * fp16), a table of corrupt indexes each with its own status, truncation at every length,
 * allocation failures, an interrupted save, and `faceemd index info`.
 * Features are synthetic (seeded), so nothing here needs the network or ../shared.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "internal.h"
#include "gallery.h"
#include "half.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- synthetic features --------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {  /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float rng_unit(uint64_t *s) { return (float)((double)(rng_next(s) >> 11) * 0x1p-53 * 2.0 - 1.0); }

/* ReLU-like maps (sparse, non-negative, one all-zero cell each), a random descriptor. */
static void synth_features(fe_features *f, uint64_t seed) {
    uint64_t s = seed;
    double n2 = 0;
    for (int i = 0; i < FE_DESC_DIM; i++) {
        f->descriptor[i] = rng_unit(&s) * 0.3f;
        n2 += (double)f->descriptor[i] * f->descriptor[i];
    }
    for (int i = 0; i < FE_DESC_DIM; i++) f->embedding[i] = (float)(f->descriptor[i] / sqrt(n2));
    for (int i = 0; i < FE_MAP8_CELLS * FE_MAP8_DIM; i++) {
        float v = rng_unit(&s) * 3.0f;
        f->map8[i] = v > 0.5f ? v : 0.0f;
    }
    for (int i = 0; i < FE_MAP4_CELLS * FE_MAP4_DIM; i++) {
        float v = rng_unit(&s) * 2.0f;
        f->map4[i] = v > 0.2f ? v : 0.0f;
    }
    for (int i = 0; i < FE_MAP2_CELLS * FE_MAP2_DIM; i++) f->map2[i] = rng_unit(&s);
    memset(f->map8 + 5 * FE_MAP8_DIM, 0, FE_MAP8_DIM * sizeof(float));
    memset(f->map4 + 3 * FE_MAP4_DIM, 0, FE_MAP4_DIM * sizeof(float));
}

static const char *const labels[] = {"Alice_Adams", "Bob_Brown", "Zoë_Çelik", "Dan_Dune"};

/* A gallery of n faces over 3 identities (face i has label i % 3 when i < 3k); meta added. */
static fe_status make_gallery(size_t n, fe_gallery_dtype dt, uint64_t seed, fe_gallery **out) {
    fe_gallery_options o;
    fe_gallery_options_default(&o);
    o.patch_dtype = dt;
    fe_gallery *g;
    fe_status st = fe_gallery_create(&o, &g);
    if (st != FE_OK) return st;
    fe_features *f = malloc(sizeof *f);
    if (!f) { fe_gallery_free(g); return FE_E_NOMEM; }
    for (size_t i = 0; i < n && st == FE_OK; i++) {
        char path[64];
        snprintf(path, sizeof path, "lfw/%s/%s_%04zu.jpg", labels[i % 3], labels[i % 3], i);
        synth_features(f, seed + i);
        st = fe_gallery_add(g, labels[i % 3], i == 1 ? "" : path, f);
    }
    if (st == FE_OK) st = fe_gallery_meta_add(g, "created_by", "test_gallery");
    if (st == FE_OK) st = fe_gallery_meta_add(g, "history", "build 1");
    free(f);
    if (st != FE_OK) { fe_gallery_free(g); return st; }
    *out = g;
    return FE_OK;
}

/* ---- binary16 ------------------------------------------------------------------------- */

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

FE_TEST(half_known_bit_patterns) {
    static const struct { uint32_t f; uint16_t h; } to_half[] = {
        {0x3f800000, 0x3c00},  /* 1.0 */
        {0xbf800000, 0xbc00},  /* -1.0 */
        {0x00000000, 0x0000}, {0x80000000, 0x8000},  /* +-0 */
        {0x3eaaaaab, 0x3555},  /* 1/3 rounds down */
        {0x477fe000, 0x7bff},  /* 65504, the largest half */
        {0x477fefff, 0x7bff},  /* just below the overflow tie */
        {0x477ff000, 0x7c00},  /* 65520: tie between 65504 (odd) and 2^16 -> inf */
        {0x7f800000, 0x7c00}, {0xff800000, 0xfc00},  /* +-inf */
        {0x7fc00000, 0x7e00},  /* quiet NaN */
        {0x7f800001, 0x7e00},  /* signalling NaN comes out quiet */
        {0x38800000, 0x0400},  /* 2^-14, smallest normal */
        {0x387fc000, 0x03ff},  /* largest subnormal 1023 * 2^-24 */
        {0x387fe000, 0x0400},  /* halfway to the smallest normal: ties to even = 0x400 */
        {0x33800000, 0x0001},  /* 2^-24, smallest subnormal */
        {0x33000000, 0x0000},  /* 2^-25: tie between 0 and 2^-24 -> 0 (even) */
        {0x33000001, 0x0001},  /* just above the tie */
        {0x33c00000, 0x0002},  /* 3 * 2^-25: tie between 1 and 2 -> 2 (even) */
        {0x34200000, 0x0002},  /* 5 * 2^-25: tie between 2 and 3 -> 2 (even) */
        {0x3f801000, 0x3c00},  /* 1 + 2^-11: tie -> 1.0 (even) */
        {0x3f803000, 0x3c02},  /* 1 + 3 * 2^-11: tie -> 1 + 2^-9 (even) */
        {0x3f801001, 0x3c01},  /* just above the tie rounds up */
        {0x3f7ff000, 0x3c00},  /* 1 - 2^-12: tie between 0x3bff and 1.0 -> 1.0 (even) */
        {0x40490fdb, 0x4248},  /* pi */
        {0x2f800000, 0x0000},  /* 2^-32 underflows */
        {0x4f800000, 0x7c00},  /* 2^32 overflows */
    };
    for (size_t i = 0; i < sizeof to_half / sizeof to_half[0]; i++) {
        uint16_t h = fe__f32_to_f16(bitsf(to_half[i].f));
        CHECK_MSG(h == to_half[i].h, "f32 0x%08x -> 0x%04x, expected 0x%04x", to_half[i].f, h, to_half[i].h);
    }
    static const struct { uint16_t h; uint32_t f; } to_float[] = {
        {0x3c00, 0x3f800000}, {0xc000, 0xc0000000}, {0x7bff, 0x477fe000}, {0x0001, 0x33800000},
        {0x03ff, 0x387fc000}, {0x0400, 0x38800000}, {0x8001, 0xb3800000}, {0x7c00, 0x7f800000},
        {0xfc00, 0xff800000}, {0x7e00, 0x7fc00000}, {0x3555, 0x3eaaa000}, {0x8000, 0x80000000},
    };
    for (size_t i = 0; i < sizeof to_float / sizeof to_float[0]; i++) {
        uint32_t f = fbits(fe__f16_to_f32(to_float[i].h));
        float v;
        fe__f16_to_f32_array(&to_float[i].h, &v, 1);
        CHECK_MSG(f == to_float[i].f, "half 0x%04x -> 0x%08x, expected 0x%08x", to_float[i].h, f, to_float[i].f);
        CHECK_MSG(fbits(v) == to_float[i].f, "array: half 0x%04x -> 0x%08x", to_float[i].h, fbits(v));
    }
}

/* Truncating conversion: the negative control for the rounding checks below. */
static uint16_t f32_to_f16_truncate(float f) {
    uint32_t x = fbits(f), ax = x & 0x7fffffffu;
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    if (ax >= 0x38800000u && ax < 0x477fe000u) return (uint16_t)(sign | ((ax - 0x38000000u) >> 13));
    return fe__f32_to_f16(f);
}

FE_TEST(half_exhaustive) {
    /* every half: exact to float and back; the branch-free array form agrees bit for bit */
    static uint16_t all[65536];
    static float arr[65536];
    for (uint32_t h = 0; h < 65536; h++) all[h] = (uint16_t)h;
    fe__f16_to_f32_array(all, arr, 65536);
    long nan_count = 0, mid_checked = 0, trunc_wrong = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = fe__f16_to_f32((uint16_t)h);
        CHECK_MSG(fbits(arr[h]) == fbits(f), "array 0x%04x -> 0x%08x, scalar 0x%08x", h, fbits(arr[h]), fbits(f));
        int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan) {
            nan_count++;
            CHECK_MSG(f != f, "0x%04x should be NaN", h);
            CHECK((fe__f32_to_f16(f) & 0x7e00) == 0x7e00);
            continue;
        }
        CHECK_MSG(fe__f32_to_f16(f) == h, "0x%04x -> %a -> 0x%04x", h, (double)f, fe__f32_to_f16(f));
        /* between h and the next half up (same sign, finite): the midpoint ties to even, and
         * one float ulp either side rounds to the nearer */
        if ((h & 0x7fff) >= 0x7bff) continue;
        float lo = f, hi = fe__f16_to_f32((uint16_t)(h + 1));
        float mid = (float)(((double)lo + (double)hi) / 2);  /* exact: one more bit than a half */
        CHECK(((double)lo + (double)hi) / 2 == (double)mid);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        CHECK_MSG(fe__f32_to_f16(mid) == even, "midpoint of 0x%04x/0x%04x -> 0x%04x", h, h + 1, fe__f32_to_f16(mid));
        uint32_t mb = fbits(mid);
        /* |mid| grows with the bit pattern, so the +1 pattern is farther from zero */
        float toward_hi = bitsf(mb + ((fabsf(hi) > fabsf(lo)) ? 1u : (uint32_t)-1));
        float toward_lo = bitsf(mb + ((fabsf(hi) > fabsf(lo)) ? (uint32_t)-1 : 1u));
        if (mid != 0) {
            CHECK_MSG(fe__f32_to_f16(toward_hi) == h + 1, "above midpoint of 0x%04x", h);
            CHECK_MSG(fe__f32_to_f16(toward_lo) == h, "below midpoint of 0x%04x", h);
            if (f32_to_f16_truncate(toward_hi) != h + 1) trunc_wrong++;
        }
        mid_checked++;
    }
    CHECK(nan_count == 2 * 1023);  /* 2 signs x 1023 payloads */
    CHECK(mid_checked > 60000);
    /* negative control: truncation fails the same midpoint check for most halves */
    CHECK_MSG(trunc_wrong > 50000, "truncation disagreed only %ld times", trunc_wrong);
    NOTE("65536 halves exact; %ld midpoints tie to even; truncation control fails %ld", mid_checked, trunc_wrong);
}

/* ---- normalisation -------------------------------------------------------------------- */

FE_TEST(gallery_prepare_normalises) {
    fe_features *f = malloc(sizeof *f);
    fe__prepared *p = malloc(sizeof *p);
    CHECK(f && p);
    synth_features(f, 7);
    /* scale the embedding: prepare renormalises it */
    for (int i = 0; i < FE_DESC_DIM; i++) f->embedding[i] *= 3.0f;
    CHECK_OK(fe__features_prepare(f, p));
    double worst = 0;
    double n2 = 0;
    for (int i = 0; i < FE_DESC_DIM; i++) n2 += (double)p->emb[i] * p->emb[i];
    worst = fabs(n2 - 1);
    /* every map4 cell unit, except the zero cell which stays zero; pool = normalised mean */
    double mean[FE_MAP4_DIM] = {0}, m2 = 0, pool_err = 0;
    for (int c = 0; c < FE_MAP4_CELLS; c++) {
        double s = 0, ref = 0;
        for (int k = 0; k < FE_MAP4_DIM; k++) {
            s += (double)p->map4[c * FE_MAP4_DIM + k] * p->map4[c * FE_MAP4_DIM + k];
            ref += (double)f->map4[c * FE_MAP4_DIM + k] * f->map4[c * FE_MAP4_DIM + k];
            mean[k] += f->map4[c * FE_MAP4_DIM + k] / 16.0;
        }
        if (c == 3) CHECK(s == 0);
        else if (fabs(s - 1) > worst) worst = fabs(s - 1);
        /* direction kept: cell = raw / ||raw|| within float rounding */
        for (int k = 0; k < FE_MAP4_DIM && ref > 0; k++)
            CHECK_NEAR(p->map4[c * FE_MAP4_DIM + k], f->map4[c * FE_MAP4_DIM + k] / sqrt(ref), 1e-7);
    }
    for (int k = 0; k < FE_MAP4_DIM; k++) m2 += mean[k] * mean[k];
    for (int k = 0; k < FE_MAP4_DIM; k++) {
        double e = fabs(p->pool4[k] - mean[k] / sqrt(m2));
        if (e > pool_err) pool_err = e;
    }
    CHECK_MSG(worst < 1e-6, "worst |norm^2 - 1| = %g", worst);
    CHECK_MSG(pool_err < 1e-7, "pool4 error %g", pool_err);
    /* negative control: the pooled vector is not the mean of the normalised cells */
    double alt2 = 0, alt_err = 0, alt[FE_MAP4_DIM] = {0};
    for (int c = 0; c < FE_MAP4_CELLS; c++)
        for (int k = 0; k < FE_MAP4_DIM; k++) alt[k] += p->map4[c * FE_MAP4_DIM + k];
    for (int k = 0; k < FE_MAP4_DIM; k++) alt2 += alt[k] * alt[k];
    for (int k = 0; k < FE_MAP4_DIM; k++) alt_err = fmax(alt_err, fabs(p->pool4[k] - alt[k] / sqrt(alt2)));
    CHECK(alt_err > 1e-4);
    /* NaN anywhere, or a zero embedding, is refused */
    f->map8[77] = NAN;
    CHECK_STATUS(fe__features_prepare(f, p), FE_E_NUMERIC);
    synth_features(f, 7);
    memset(f->embedding, 0, sizeof f->embedding);
    CHECK_STATUS(fe__features_prepare(f, p), FE_E_NUMERIC);
    NOTE("worst |norm^2-1| %.2g, pool4 err %.2g (alternative pooling differs by %.2g)", worst, pool_err, alt_err);
    free(f);
    free(p);
}

/* ---- round trips ---------------------------------------------------------------------- */

/* Checks that loaded gallery h holds exactly the faces of g (built by make_gallery). */
static int same_gallery(fe_test *t, const fe_gallery *g, const fe_gallery *h) {
    if (fe_gallery_size(g) != fe_gallery_size(h) || fe_gallery_identity_count(g) != fe_gallery_identity_count(h)) {
        fe_t_fail(t, __FILE__, __LINE__, "counts differ: %zu/%zu vs %zu/%zu", fe_gallery_size(g),
                  fe_gallery_identity_count(g), fe_gallery_size(h), fe_gallery_identity_count(h));
        return 0;
    }
    fe_gallery_info gi, hi;
    fe_gallery_get_info(g, &gi);
    fe_gallery_get_info(h, &hi);
    for (size_t i = 0; i < fe_gallery_size(g); i++) {
        if (strcmp(fe_gallery_label(g, i), fe_gallery_label(h, i)) || strcmp(fe_gallery_path(g, i), fe_gallery_path(h, i)) ||
            fe_gallery_identity(g, i) != fe_gallery_identity(h, i) ||
            memcmp(fe_gallery_embedding(g, i), fe_gallery_embedding(h, i), FE_DESC_DIM * 4) ||
            memcmp(fe__gallery_pooled(g, 4, i), fe__gallery_pooled(h, 4, i), FE_MAP4_DIM * 4) ||
            memcmp(fe__gallery_pooled(g, 8, i), fe__gallery_pooled(h, 8, i), FE_MAP8_DIM * 4)) {
            fe_t_fail(t, __FILE__, __LINE__, "face %zu differs", i);
            return 0;
        }
        for (int grid = 4; grid <= 8; grid += 4) {
            fe__patch_view a = fe__gallery_patches(g, grid, i), b = fe__gallery_patches(h, grid, i);
            size_t bytes = (size_t)a.cells * a.dim * (a.dtype == FE_GALLERY_F16 ? 2 : 4);
            if (a.dtype != b.dtype || memcmp(a.data, b.data, bytes)) {
                fe_t_fail(t, __FILE__, __LINE__, "face %zu grid %d patches differ", i, grid);
                return 0;
            }
        }
    }
    for (size_t id = 0; id < fe_gallery_identity_count(g); id++)
        if (strcmp(fe_gallery_identity_label(g, id), fe_gallery_identity_label(h, id)) ||
            fe_gallery_identity_faces(g, id) != fe_gallery_identity_faces(h, id)) {
            fe_t_fail(t, __FILE__, __LINE__, "identity %zu differs", id);
            return 0;
        }
    if (fe_gallery_meta_count(g) != fe_gallery_meta_count(h) || gi.file_bytes != hi.file_bytes) {
        fe_t_fail(t, __FILE__, __LINE__, "meta count or size differs");
        return 0;
    }
    return 1;
}

static void round_trip(fe_test *t, fe_gallery_dtype dt) {
    fe_gallery *g;
    CHECK_OK(make_gallery(7, dt, 100, &g));
    /* the stored rows are what fe__features_prepare gives (fp16: rounded to nearest even) */
    fe_features *f = malloc(sizeof *f);
    fe__prepared *p = malloc(sizeof *p);
    CHECK(f && p);
    synth_features(f, 100 + 4);
    CHECK_OK(fe__features_prepare(f, p));
    CHECK(memcmp(fe_gallery_embedding(g, 4), p->emb, sizeof p->emb) == 0);
    CHECK(memcmp(fe__gallery_pooled(g, 4, 4), p->pool4, sizeof p->pool4) == 0);
    fe__patch_view v = fe__gallery_patches(g, 8, 4);
    for (int k = 0; k < FE_MAP8_CELLS * FE_MAP8_DIM; k++) {
        if (dt == FE_GALLERY_F16)
            CHECK(((const uint16_t *)v.data)[k] == fe__f32_to_f16(p->map8[k]));
        else
            CHECK(fbits(((const float *)v.data)[k]) == fbits(p->map8[k]));
    }
    free(f);
    free(p);
    CHECK(fe_gallery_size(g) == 7 && fe_gallery_identity_count(g) == 3);
    CHECK(fe_gallery_identity_faces(g, 0) == 3 && fe_gallery_identity_faces(g, 2) == 2);
    CHECK(fe_gallery_find_identity(g, "Zoë_Çelik") == 2 && fe_gallery_find_identity(g, "nobody") == UINT32_MAX);
    CHECK(strcmp(fe_gallery_path(g, 1), "") == 0);
    CHECK(fe_gallery_label(g, 7) == NULL && fe_gallery_identity(g, 99) == UINT32_MAX);

    const char *path = fe_t_tmp_path(dt == FE_GALLERY_F16 ? "g16.fei" : "g32.fei");
    CHECK_OK(fe_gallery_save(g, path));
    size_t n;
    uint8_t *bytes = fe_t_read_file(path, &n);
    CHECK(bytes);
    /* every way in: mmap, read, memory; every one identical to what was saved */
    for (int way = 0; way < 3; way++) {
        fe_gallery_options o;
        fe_gallery_options_default(&o);
        o.use_mmap = way == 0;
        fe_gallery *h;
        if (way < 2) CHECK_OK(fe_gallery_load(path, &o, &h));
        else CHECK_OK(fe_gallery_load_memory(bytes, n, &o, &h));
        if (!same_gallery(t, g, h)) { fe_gallery_free(h); return; }
        fe_gallery_info info;
        CHECK_OK(fe_gallery_get_info(h, &info));
        CHECK(info.loaded == 1 && info.checksums_verified == 1 && info.file_bytes == n);
        CHECK(info.patch_dtype == dt && info.n_faces == 7 && info.n_identities == 3);
        CHECK(way != 0 || info.mapped == 1);
        CHECK(((uintptr_t)fe__gallery_embeddings(h) & 63) == 0);
        CHECK(((uintptr_t)fe__gallery_patches(h, 8, 3).data & 63) == 0);
        const char *k, *val;
        fe_gallery_meta_at(h, 1, &k, &val);
        CHECK(k && strcmp(k, "history") == 0 && strcmp(val, "build 1") == 0);
        CHECK(strcmp(fe_gallery_meta_find(h, "created_by"), "test_gallery") == 0);
        fe_gallery_meta_at(h, 2, &k, &val);
        CHECK(k == NULL && val == NULL);
        /* read-only: no adds */
        CHECK_STATUS(fe_gallery_meta_add(h, "x", "y"), FE_E_ARG);
        /* saving a loaded gallery reproduces the file byte for byte */
        const char *p2 = fe_t_tmp_path("resaved.fei");
        CHECK_OK(fe_gallery_save(h, p2));
        size_t n2;
        uint8_t *b2 = fe_t_read_file(p2, &n2);
        CHECK(b2 && n2 == n && memcmp(b2, bytes, n) == 0);
        free(b2);
        fe_gallery_free(h);
    }
    NOTE("%s: 7 faces, %zu bytes", dt == FE_GALLERY_F16 ? "fp16" : "fp32", n);
    free(bytes);
    fe_gallery_free(g);
}

FE_TEST(gallery_round_trip_f32) { round_trip(t, FE_GALLERY_F32); }
FE_TEST(gallery_round_trip_f16) { round_trip(t, FE_GALLERY_F16); }

FE_TEST(gallery_empty_round_trip) {
    fe_gallery *g, *h;
    CHECK_OK(fe_gallery_create(NULL, &g));
    const char *path = fe_t_tmp_path("empty.fei");
    CHECK_OK(fe_gallery_save(g, path));
    CHECK_OK(fe_gallery_load(path, NULL, &h));
    CHECK(fe_gallery_size(h) == 0 && fe_gallery_identity_count(h) == 0 && fe__gallery_embeddings(h) == NULL);
    size_t count = 9;
    float q[FE_DESC_DIM] = {1};
    fe_hit hits[5];
    CHECK_OK(fe_cosine_topk(h, q, 1, 5, NULL, hits, &count));
    CHECK(count == 0 && hits[0].index == FE_NO_EXCLUDE && isinf(hits[4].score));
    fe_gallery_free(g);
    fe_gallery_free(h);
}

/* A small reference Sinkhorn (METHOD.md: uniform weights, eps 0.05, at most 100 iterations,
 * stop when the mean change of r drops below 0.1), in double, only to measure how fp16
 * storage moves stage 2's similarity S_emd = sum T_ij s_ij. s is n x n patch cosines. */
static double emd_similarity(const double *s, int n) {
    double K[64 * 64], r[64], c[64], u[64];
    for (int i = 0; i < n * n; i++) K[i] = exp(-(1.0 - s[i]) / 0.05);
    for (int i = 0; i < n; i++) r[i] = c[i] = 1.0;
    for (int it = 0; it < 100; it++) {
        double change = 0;
        for (int i = 0; i < n; i++) {
            double kc = 0;
            for (int j = 0; j < n; j++) kc += K[i * n + j] * c[j];
            u[i] = (1.0 / n) / kc;
            change += fabs(u[i] - r[i]);
            r[i] = u[i];
        }
        for (int j = 0; j < n; j++) {
            double kr = 0;
            for (int i = 0; i < n; i++) kr += K[i * n + j] * r[i];
            c[j] = (1.0 / n) / kr;
        }
        if (change / n < 0.1) break;
    }
    double sim = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) sim += r[i] * K[i * n + j] * c[j] * s[i * n + j];
    return sim;
}

/* fp16 patch maps: the effect on what stage 2 computes from them, the patch cosines
 * s_ij = <q_i, g_j> between an fp32 query and fp16-stored gallery patches. Bound: each stored
 * element is within 2^-11 relative of the fp32 one, so |delta s| <= 2^-11 * sum |q_k g_k|
 * <= 2^-11 = 4.9e-4 for unit vectors (plus 2^-25 per subnormal). */
FE_TEST(gallery_f16_patch_cosine_error) {
    fe_gallery *g16, *g32;
    CHECK_OK(make_gallery(12, FE_GALLERY_F16, 500, &g16));
    CHECK_OK(make_gallery(12, FE_GALLERY_F32, 500, &g32));
    fe_features *f = malloc(sizeof *f);
    fe__prepared *q = malloc(sizeof *q);
    float *c16 = malloc(sizeof(float) * FE_MAP8_CELLS * FE_MAP8_DIM);
    CHECK(f && q && c16);
    /* the query: face 5 of the gallery with noise, so one candidate is clearly closest */
    synth_features(f, 505);
    uint64_t ns = 77;
    for (int k = 0; k < FE_MAP4_CELLS * FE_MAP4_DIM; k++) f->map4[k] += rng_unit(&ns) > 0.6f ? 1.0f : 0.0f;
    for (int k = 0; k < FE_MAP8_CELLS * FE_MAP8_DIM; k++) f->map8[k] += rng_unit(&ns) > 0.6f ? 1.0f : 0.0f;
    CHECK_OK(fe__features_prepare(f, q));
    double worst[2] = {0, 0}, sum_abs[2] = {0, 0}, emd_worst[2] = {0, 0};
    double *s16m = malloc(64 * 64 * sizeof(double)), *s32m = malloc(64 * 64 * sizeof(double));
    double emd16[2][12], emd32[2][12];
    CHECK(s16m && s32m);
    long n_pairs[2] = {0, 0};
    for (int grid = 4; grid <= 8; grid += 4) {
        int gi = grid == 8;
        uint32_t cells = grid == 8 ? FE_MAP8_CELLS : FE_MAP4_CELLS, dim = grid == 8 ? FE_MAP8_DIM : FE_MAP4_DIM;
        const float *qm = grid == 8 ? q->map8 : q->map4;
        for (uint32_t i = 0; i < 12; i++) {
            fe__gallery_gather_patches(g16, grid, &i, 1, c16);
            const float *c32 = fe__gallery_patches_f32(g32, grid, i);
            CHECK(c32 && fe__gallery_patches_f32(g16, grid, i) == NULL);
            for (uint32_t a = 0; a < cells; a++)
                for (uint32_t b = 0; b < cells; b++) {
                    double s16 = 0, s32 = 0;
                    for (uint32_t k = 0; k < dim; k++) {
                        s16 += (double)qm[a * dim + k] * c16[b * dim + k];
                        s32 += (double)qm[a * dim + k] * c32[b * dim + k];
                    }
                    double e = fabs(s16 - s32);
                    worst[gi] = fmax(worst[gi], e);
                    sum_abs[gi] += e;
                    n_pairs[gi]++;
                    s16m[a * cells + b] = s16;
                    s32m[a * cells + b] = s32;
                }
            emd16[gi][i] = emd_similarity(s16m, (int)cells);
            emd32[gi][i] = emd_similarity(s32m, (int)cells);
            emd_worst[gi] = fmax(emd_worst[gi], fabs(emd16[gi][i] - emd32[gi][i]));
        }
    }
    /* ranking of the 12 candidates by S_emd: the same order with fp16 and fp32 */
    int order_same = 1, best32[2] = {0, 0};
    for (int gi = 0; gi < 2; gi++)
        for (int i = 0; i < 12; i++) {
            if (emd32[gi][i] > emd32[gi][best32[gi]]) best32[gi] = i;
            for (int j = 0; j < 12; j++)
                if ((emd32[gi][i] > emd32[gi][j]) != (emd16[gi][i] > emd16[gi][j])) order_same = 0;
        }
    CHECK_MSG(best32[0] == 5 && best32[1] == 5, "the noisy copy of face 5 should match it (%d, %d)", best32[0], best32[1]);
    CHECK(order_same);
    CHECK_MSG(emd_worst[0] < 1e-3 && emd_worst[1] < 1e-3, "S_emd moved by %g / %g", emd_worst[0], emd_worst[1]);
    free(s16m);
    free(s32m);
    CHECK(n_pairs[0] == 12 * 16 * 16 && n_pairs[1] == 12 * 64 * 64);
    CHECK_MSG(worst[0] <= 0x1p-11 && worst[1] <= 0x1p-11, "worst %g / %g", worst[0], worst[1]);
    CHECK(worst[0] > 0 && worst[1] > 0);  /* fp16 really rounds: the comparison can fail */
    NOTE("fp16 patch cosine |err|: 4x4 max %.2e mean %.2e; 8x8 max %.2e mean %.2e (bound 4.9e-4)",
         worst[0], sum_abs[0] / (double)n_pairs[0], worst[1], sum_abs[1] / (double)n_pairs[1]);
    NOTE("S_emd (uniform, Sinkhorn) |err| max 4x4 %.2e, 8x8 %.2e; order of 12 candidates unchanged",
         emd_worst[0], emd_worst[1]);
    fe_gallery_info i16, i32;
    fe_gallery_get_info(g16, &i16);
    fe_gallery_get_info(g32, &i32);
    NOTE("size per face fp32 %llu B, fp16 %llu B", (unsigned long long)(i32.file_bytes / 12),
         (unsigned long long)(i16.file_bytes / 12));
    free(f); free(q); free(c16);
    fe_gallery_free(g16);
    fe_gallery_free(g32);
}

FE_TEST(gallery_append_merges_identities) {
    fe_gallery *a, *b, *c;
    CHECK_OK(make_gallery(4, FE_GALLERY_F32, 1, &a));   /* labels 0,1,2,0 */
    CHECK_OK(make_gallery(5, FE_GALLERY_F16, 50, &b));  /* labels 0,1,2,0,1 */
    fe_features *f = malloc(sizeof *f);
    CHECK(f);
    synth_features(f, 77);
    CHECK_OK(fe_gallery_add(b, labels[3], "dan.jpg", f));
    free(f);
    fe_gallery_options o;
    fe_gallery_options_default(&o);
    o.patch_dtype = FE_GALLERY_F16;
    CHECK_OK(fe_gallery_create(&o, &c));
    CHECK_OK(fe_gallery_append(c, a));
    CHECK_OK(fe_gallery_append(c, b));
    CHECK_STATUS(fe_gallery_append(c, c), FE_E_ARG);
    CHECK(fe_gallery_size(c) == 10 && fe_gallery_identity_count(c) == 4);
    CHECK(fe_gallery_identity_faces(c, 0) == 4 && fe_gallery_identity_faces(c, 1) == 3 &&
          fe_gallery_identity_faces(c, 3) == 1);
    CHECK(strcmp(fe_gallery_label(c, 9), labels[3]) == 0 && strcmp(fe_gallery_path(c, 9), "dan.jpg") == 0);
    CHECK(fe_gallery_identity(c, 4) == 0 && fe_gallery_identity(c, 8) == 1);
    CHECK(fe_gallery_meta_count(c) == 4);
    /* fp32 faces converted to fp16 exactly as fe__f32_to_f16; fp16 faces copied */
    for (int k = 0; k < 100; k++) {
        const float *src = fe__gallery_patches_f32(a, 4, 2);
        CHECK(((const uint16_t *)fe__gallery_patches(c, 4, 2).data)[k * 7] == fe__f32_to_f16(src[k * 7]));
    }
    CHECK(memcmp(fe__gallery_patches(c, 8, 6).data, fe__gallery_patches(b, 8, 2).data, 64 * 128 * 2) == 0);
    CHECK(memcmp(fe_gallery_embedding(c, 6), fe_gallery_embedding(b, 2), 512) == 0);
    /* a loaded gallery appends the same way (index add: load, append, add, save) */
    const char *path = fe_t_tmp_path("c.fei");
    CHECK_OK(fe_gallery_save(c, path));
    fe_gallery *l, *d;
    CHECK_OK(fe_gallery_load(path, NULL, &l));
    CHECK_STATUS(fe_gallery_append(l, a), FE_E_ARG);  /* read-only */
    CHECK_OK(fe_gallery_create(&o, &d));
    CHECK_OK(fe_gallery_append(d, l));
    CHECK(same_gallery(t, c, d));
    fe_gallery_free(a); fe_gallery_free(b); fe_gallery_free(c); fe_gallery_free(l); fe_gallery_free(d);
}

FE_TEST(gallery_add_rejects_bad_input) {
    fe_gallery *g;
    CHECK_OK(make_gallery(2, FE_GALLERY_F32, 3, &g));
    fe_features *f = malloc(sizeof *f);
    CHECK(f);
    synth_features(f, 5);
    char longlab[FE_MAX_LABEL_BYTES + 2];
    memset(longlab, 'a', sizeof longlab - 1);
    longlab[sizeof longlab - 1] = 0;
    CHECK_STATUS(fe_gallery_add(g, "", "p", f), FE_E_ARG);
    CHECK_STATUS(fe_gallery_add(g, longlab, "p", f), FE_E_LIMIT);
    CHECK_STATUS(fe_gallery_add(g, "bad\xff", "p", f), FE_E_ARG);
    CHECK_STATUS(fe_gallery_add(g, "over\xc0\xaflong", "p", f), FE_E_ARG);
    CHECK_STATUS(fe_gallery_add(g, "surrogate\xed\xa0\x80", "p", f), FE_E_ARG);
    CHECK_STATUS(fe_gallery_add(g, "tab\there", "p", f), FE_E_ARG);
    CHECK_STATUS(fe_gallery_add(g, "ok", "new\nline", f), FE_E_ARG);
    CHECK_STATUS(fe_gallery_add(g, NULL, "p", f), FE_E_ARG);
    CHECK_STATUS(fe_gallery_add(NULL, "x", "p", f), FE_E_ARG);
    f->map4[100] = INFINITY;
    CHECK_STATUS(fe_gallery_add(g, "ok", "p", f), FE_E_NUMERIC);
    synth_features(f, 5);
    memset(f->embedding, 0, sizeof f->embedding);
    CHECK_STATUS(fe_gallery_add(g, "ok", "p", f), FE_E_NUMERIC);
    CHECK_STATUS(fe_gallery_meta_add(g, "Bad Key", "v"), FE_E_ARG);
    CHECK_STATUS(fe_gallery_meta_add(g, "k", "v\n"), FE_E_ARG);
    fe_gallery_options o;
    fe_gallery_options_default(&o);
    o.patch_dtype = (fe_gallery_dtype)7;
    fe_gallery *h;
    CHECK_STATUS(fe_gallery_create(&o, &h), FE_E_ARG);
    o.patch_dtype = FE_GALLERY_F32;
    o.size = 4;
    CHECK_STATUS(fe_gallery_create(&o, &h), FE_E_ARG);
    /* nothing was added by the failed calls */
    CHECK(fe_gallery_size(g) == 2 && fe_gallery_identity_count(g) == 2 && fe_gallery_meta_count(g) == 2);
    synth_features(f, 5);
    CHECK_OK(fe_gallery_add(g, "Zoë ☃ 🙂", NULL, f));  /* 2-, 3- and 4-byte UTF-8 */
    CHECK(fe_gallery_size(g) == 3);
    free(f);
    fe_gallery_free(g);
}

/* ---- corrupt indexes ------------------------------------------------------------------ */

static uint64_t sec_off(const uint8_t *p, int i) { return fe__rd_u64le(p + 96 + 32 * i + 8); }
static uint64_t sec_len(const uint8_t *p, int i) { return fe__rd_u64le(p + 96 + 32 * i + 16); }

enum { S_IDS, S_FACES, S_STRINGS, S_META, S_EMB, S_POOL4, S_POOL8, S_MAP4, S_MAP8 };

typedef struct corrupt_case {
    const char *name;
    int         fix_crc;    /* recompute checksums after the change, to reach the check behind */
    fe_status   expected;
} corrupt_case;

/* Applies case c to a copy of a valid index (3 faces over 2 identities, fp32) in place. */
static void corrupt(int c, uint8_t *p, size_t *n) {
    uint8_t *ids = p + sec_off(p, S_IDS), *faces = p + sec_off(p, S_FACES);
    uint8_t *str = p + sec_off(p, S_STRINGS);
    uint8_t *entry;
    switch (c) {
    case 0: p[1] = 'X'; break;                                   /* magic */
    case 1: fe__wr_u16le(p + 8, 2); break;                       /* future major version */
    case 2: fe__wr_u32le(p + 12, 0x04030201u); break;            /* big-endian writer */
    case 3: fe__wr_u32le(p + 12, 0xdeadbeefu); break;            /* garbage tag */
    case 4: fe__wr_u32le(p + 16, 100); break;                    /* header size */
    case 5: p[70] ^= 1; break;                                   /* header CRC (reserved byte) */
    case 6: fe__wr_u32le(p + 20, 32); break;                     /* alignment field */
    case 7: fe__wr_u64le(p + 24, *n + 64); break;                /* file size: more than there is */
    case 8: fe__wr_u64le(p + 24, *n - 64); break;                /* trailing bytes */
    case 9: fe__wr_u32le(p + 32, FE_MAX_GALLERY + 1); break;     /* too many faces */
    case 10: fe__wr_u32le(p + 32, 4); break;                     /* face count vs sections */
    case 11: fe__wr_u32le(p + 36, 4); break;                     /* more identities than faces */
    case 12: fe__wr_u32le(p + 36, 0); break;                     /* no identities */
    case 13: fe__wr_u32le(p + 40, 4); break;                     /* unknown flag */
    case 14: fe__wr_u32le(p + 40, 1); break;                     /* fp16 flag on fp32 data */
    case 15: fe__wr_u32le(p + 48, 64); break;                    /* embedding dim */
    case 16: fe__wr_u32le(p + 60, 49); break;                    /* map8 cells */
    case 17: fe__wr_u32le(p + 44, 8); break;                     /* too few sections */
    case 18: fe__wr_u32le(p + 44, 14); break;                    /* more than the header holds */
    case 19: fe__wr_u32le(p + 96 + 32 * S_POOL4, 7); break;      /* section kinds out of order */
    case 20: entry = p + 96 + 32 * S_EMB; fe__wr_u64le(entry + 8, sec_off(p, S_EMB) + 4); break;
    case 21: entry = p + 96 + 32 * S_MAP8; fe__wr_u64le(entry + 16, UINT64_MAX - 100); break;
    case 22: entry = p + 96 + 32 * S_MAP8; fe__wr_u64le(entry + 8, UINT64_MAX & ~(uint64_t)63); break;
    case 23: entry = p + 96 + 32 * S_MAP8; fe__wr_u64le(entry + 8, *n); break;  /* past the end */
    case 24: entry = p + 96 + 32 * S_POOL4; fe__wr_u64le(entry + 8, sec_off(p, S_EMB)); break;
    case 25: entry = p + 96 + 32 * S_IDS; fe__wr_u64le(entry + 8, 448); break;  /* inside header */
    case 26: p[sec_off(p, S_IDS) + sec_len(p, S_IDS)] = 1; break;  /* padding */
    case 27: memset(p + *n, 0, 64); p[*n + 63] = 1; *n += 64; fe__wr_u64le(p + 24, *n); break;
    case 28: case 29: case 30: case 31: case 32: case 33: case 34: case 35: case 36:
        p[sec_off(p, c - 28) + sec_len(p, c - 28) / 2] ^= 0x10; break;  /* CRC of each section */
    case 37: str[fe__rd_u32le(ids) + fe__rd_u32le(ids + 4)] = 'x'; break;  /* unterminated label */
    case 38: fe__wr_u32le(ids + 8, (uint32_t)sec_len(p, S_STRINGS)); break;  /* label offset */
    case 39: fe__wr_u32le(ids + 4, FE_MAX_LABEL_BYTES + 1); break;          /* label length */
    case 40: str[fe__rd_u32le(ids)] = 0xff; break;                          /* invalid UTF-8 */
    case 41: str[fe__rd_u32le(ids) + 2] = 0; break;                         /* NUL inside */
    case 42: fe__wr_u32le(ids + 4, 0); str[fe__rd_u32le(ids)] = 0; break;  /* empty label */
    case 43: fe__wr_u32le(faces + 12, 2); break;                            /* label index */
    case 44: memcpy(ids + 8, ids, 8); break;                                /* duplicate label */
    case 45: str[fe__rd_u32le(faces + 4) + 3] = '\n'; break;                /* control char in path */
    case 46: fe__wr_u32le(faces + 8, UINT32_MAX); break;                    /* path length */
    case 47: fe__wr_f32le(p + sec_off(p, S_EMB) + 8, 0.9f); break;          /* non-unit embedding */
    case 48: fe__wr_f32le(p + sec_off(p, S_MAP4) + 4 * 300, NAN); break;    /* NaN patch */
    case 49: fe__wr_f32le(p + sec_off(p, S_POOL8) + 4, 5.0f); break;        /* pool8 */
    case 50: fe__wr_f32le(p + sec_off(p, S_MAP8) + 4 * 700, 2.0f); break;   /* map8 */
    case 51: p[sec_off(p, S_META)] = 'A'; break;                            /* meta key */
    case 52: p[sec_off(p, S_META) + sec_len(p, S_META) - 1] = 'x'; break;   /* meta unterminated */
    case 53: *n -= 64; fe__wr_u64le(p + 24, *n); break;                     /* last section cut */
    /* accepted: a later minor version, and an appended extension section */
    case 54: fe__wr_u16le(p + 10, 3); break;
    case 55: fe__wr_u16le(p + 10, 1); fe__wr_u32le(p + 44, 10);
             entry = p + 96 + 32 * 9; fe__wr_u32le(entry, 40); fe__wr_u64le(entry + 8, *n);
             fe__wr_u64le(entry + 16, 0); break;
    case 56: memset(p + *n, 0, 64); *n += 64; fe__wr_u64le(p + 24, *n); break;  /* zero tail */
    default: break;
    }
}

static const corrupt_case cases[] = {
    {"bad magic", 0, FE_E_MAGIC},
    {"future version", 1, FE_E_VERSION},
    {"big-endian tag", 1, FE_E_ENDIAN},
    {"garbage endian tag", 1, FE_E_ENDIAN},
    {"header size", 1, FE_E_CORRUPT},
    {"header checksum", 0, FE_E_CHECKSUM},
    {"alignment field", 1, FE_E_ALIGN},
    {"file size > data", 1, FE_E_TRUNCATED},
    {"trailing bytes", 1, FE_E_CORRUPT},
    {"faces over limit", 1, FE_E_LIMIT},
    {"face count", 1, FE_E_COUNT},
    {"identities > faces", 1, FE_E_COUNT},
    {"zero identities", 1, FE_E_COUNT},
    {"unknown flag", 1, FE_E_UNSUPPORTED},
    {"fp16 flag on fp32", 1, FE_E_COUNT},
    {"embedding dim", 1, FE_E_SHAPE},
    {"map8 cells", 1, FE_E_SHAPE},
    {"too few sections", 1, FE_E_COUNT},
    {"too many sections", 1, FE_E_COUNT},
    {"section order", 1, FE_E_CORRUPT},
    {"misaligned offset", 1, FE_E_ALIGN},
    {"overflowing size", 1, FE_E_OVERFLOW},
    {"overflowing offset", 1, FE_E_OVERFLOW},
    {"offset past end", 1, FE_E_RANGE},
    {"overlapping sections", 1, FE_E_OVERLAP},
    {"section inside header", 1, FE_E_OVERLAP},
    {"nonzero padding", 1, FE_E_CORRUPT},
    {"nonzero final padding", 1, FE_E_CORRUPT},
    {"crc identities", 0, FE_E_CHECKSUM},
    {"crc faces", 0, FE_E_CHECKSUM},
    {"crc strings", 0, FE_E_CHECKSUM},
    {"crc meta", 0, FE_E_CHECKSUM},
    {"crc embeddings", 0, FE_E_CHECKSUM},
    {"crc pool4", 0, FE_E_CHECKSUM},
    {"crc pool8", 0, FE_E_CHECKSUM},
    {"crc map4", 0, FE_E_CHECKSUM},
    {"crc map8", 0, FE_E_CHECKSUM},
    {"unterminated label", 1, FE_E_CORRUPT},
    {"label offset", 1, FE_E_RANGE},
    {"label too long", 1, FE_E_LIMIT},
    {"label not UTF-8", 1, FE_E_CORRUPT},
    {"NUL inside label", 1, FE_E_CORRUPT},
    {"empty label", 1, FE_E_CORRUPT},
    {"label index", 1, FE_E_RANGE},
    {"duplicate label", 1, FE_E_DUPLICATE},
    {"control char in path", 1, FE_E_CORRUPT},
    {"path length", 1, FE_E_LIMIT},
    {"non-unit embedding", 1, FE_E_NUMERIC},
    {"NaN in map4", 1, FE_E_NUMERIC},
    {"non-unit pool8", 1, FE_E_NUMERIC},
    {"non-unit map8 cell", 1, FE_E_NUMERIC},
    {"meta key", 1, FE_E_CORRUPT},
    {"meta unterminated", 1, FE_E_CORRUPT},
    {"last section cut", 1, FE_E_RANGE},
    {"minor version 3", 1, FE_OK},
    {"extension section", 1, FE_OK},
    {"zero tail padding", 1, FE_OK},
};

FE_TEST(gallery_corrupt_table) {
    fe_gallery *g;
    CHECK_OK(make_gallery(3, FE_GALLERY_F32, 40, &g));
    /* 2 identities for the label-duplicate case: rebuild with labels 0,1,0 */
    fe_gallery_free(g);
    CHECK_OK(fe_gallery_create(NULL, &g));
    fe_features *f = malloc(sizeof *f);
    CHECK(f);
    for (int i = 0; i < 3; i++) {
        synth_features(f, 40 + (uint64_t)i);
        CHECK_OK(fe_gallery_add(g, i == 1 ? "Bob_Brown" : "Alice_Adams", "some/where.jpg", f));
    }
    free(f);
    CHECK_OK(fe_gallery_meta_add(g, "created_by", "test"));
    const char *path = fe_t_tmp_path("valid.fei");
    CHECK_OK(fe_gallery_save(g, path));
    fe_gallery_free(g);
    size_t n;
    uint8_t *valid = fe_t_read_file(path, &n);
    CHECK(valid);
    uint8_t *buf = malloc(n + 64);
    CHECK(buf);
    int distinct[32] = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int verify = 1; verify >= 0; verify--) {
            if (!verify && cases[c].expected == FE_E_CHECKSUM) continue;
            memcpy(buf, valid, n);
            size_t m = n;
            corrupt((int)c, buf, &m);
            CHECK_MSG(m != n || memcmp(buf, valid, n) != 0, "case '%s' changed nothing", cases[c].name);
            if (cases[c].fix_crc) fe__gallery_fix_checksums(buf, m);
            fe_gallery_options o;
            fe_gallery_options_default(&o);
            o.verify_crc = verify;
            fe_gallery *h = (fe_gallery *)1;
            fe_status st = fe_gallery_load_memory(buf, m, &o, &h);
            CHECK_MSG(st == cases[c].expected, "case '%s' (verify_crc %d): %s, expected %s (%s)",
                      cases[c].name, verify, fe_status_name(st), fe_status_name(cases[c].expected),
                      fe_last_error());
            CHECK_MSG(st == FE_OK ? h != NULL : h == NULL, "case '%s': out pointer", cases[c].name);
            CHECK_MSG(st == FE_OK || fe_last_error()[0], "case '%s': no message", cases[c].name);
            if (st == FE_OK) CHECK(fe_gallery_size(h) == 3);
            fe_gallery_free(h);
            distinct[-st] = 1;
        }
    }
    int kinds = 0;
    for (int k = 1; k < 32; k++) kinds += distinct[k];
    NOTE("%zu cases, %d distinct statuses", sizeof cases / sizeof cases[0], kinds);
    /* the valid image itself loads, and I/O failures say so */
    fe_gallery *h;
    CHECK_OK(fe_gallery_load_memory(valid, n, NULL, &h));
    fe_gallery_free(h);
    CHECK_STATUS(fe_gallery_load("/nonexistent/x.fei", NULL, &h), FE_E_IO);
    CHECK_STATUS(fe_gallery_load(fe_t_tmpdir(), NULL, &h), FE_E_IO);
    CHECK_STATUS(fe_gallery_load_memory(NULL, 5, NULL, &h), FE_E_ARG);
    free(valid);
    free(buf);
}

FE_TEST(gallery_truncated_at_every_length) {
    fe_gallery *g;
    CHECK_OK(make_gallery(2, FE_GALLERY_F16, 9, &g));
    const char *path = fe_t_tmp_path("t.fei");
    CHECK_OK(fe_gallery_save(g, path));
    fe_gallery_free(g);
    size_t n;
    uint8_t *valid = fe_t_read_file(path, &n);
    CHECK(valid);
    /* every proper prefix, in an exact-size buffer so ASan sees any read past it */
    for (size_t m = 0; m < n; m++) {
        uint8_t *cut = malloc(m ? m : 1);
        CHECK(cut);
        memcpy(cut, valid, m);
        fe_gallery *h = NULL;
        fe_status st = fe_gallery_load_memory(cut, m, NULL, &h);
        free(cut);
        CHECK_MSG(st == FE_E_TRUNCATED, "prefix of %zu/%zu bytes: %s (%s)", m, n, fe_status_name(st), fe_last_error());
        CHECK(h == NULL);
    }
    /* also through a file (read and mmap paths) at a few lengths */
    for (size_t m = 0; m < n; m += n / 5) {
        const char *pc = fe_t_tmp_path("cut.fei");
        CHECK(fe_t_write_file(pc, valid, m) == 0);
        for (int mm = 0; mm < 2; mm++) {
            fe_gallery_options o;
            fe_gallery_options_default(&o);
            o.use_mmap = mm;
            fe_gallery *h;
            CHECK_STATUS(fe_gallery_load(pc, &o, &h), FE_E_TRUNCATED);
        }
    }
    NOTE("%zu prefixes, all FE_E_TRUNCATED", n);
    free(valid);
}

/* ---- allocation failures -------------------------------------------------------------- */

static fe_status build_save_load(const char *path, int use_mmap) {
    fe_gallery *g, *h = NULL, *c = NULL;
    fe_status st = make_gallery(4, FE_GALLERY_F16, 11, &g);
    if (st != FE_OK) return st;
    st = fe_gallery_save(g, path);
    fe_gallery_options o;
    fe_gallery_options_default(&o);
    o.use_mmap = use_mmap;
    if (st == FE_OK) st = fe_gallery_load(path, &o, &h);
    if (st == FE_OK) st = fe_gallery_create(NULL, &c);
    if (st == FE_OK) st = fe_gallery_append(c, h);
    if (st == FE_OK) st = fe_gallery_append(c, g);
    fe_hit hits[8];
    if (st == FE_OK) st = fe_cosine_topk(c, fe_gallery_embedding(c, 1), 1, 8, NULL, hits, NULL);
    fe_gallery_free(c);
    fe_gallery_free(h);
    fe_gallery_free(g);
    return st;
}

FE_TEST(gallery_alloc_failures) {
    for (int mm = 0; mm < 2; mm++) {
        const char *path = fe_t_tmp_path("nomem.fei");
        long steps = 0;
        for (long k = 0;; k++) {
            fe__alloc_fail_after(k);
            fe_status st = build_save_load(path, mm);
            fe__alloc_fail_after(-1);
            if (st == FE_OK) { steps = k; break; }
            CHECK_MSG(st == FE_E_NOMEM, "failing allocation %ld gave %s (%s)", k, fe_status_name(st), fe_last_error());
            CHECK(k < 10000);
        }
        CHECK(steps > 10);
        NOTE("%s: %ld failing allocations, each FE_E_NOMEM", mm ? "mmap" : "read", steps);
    }
}

/* ---- interrupted save ----------------------------------------------------------------- */

typedef struct hook_ctx {
    int      fd;
    uint64_t stop_at;
} hook_ctx;

static void stop_mid_write(void *ctx, uint64_t written) {
    hook_ctx *h = ctx;
    if (written < h->stop_at) return;
    char c = 'x';
    if (write(h->fd, &c, 1) != 1) _exit(3);
    for (;;) pause();  /* wait here, half written, for SIGKILL */
}

FE_TEST(gallery_interrupted_save_keeps_old_file) {
    const char *path = fe_t_tmp_path("live.fei");
    fe_gallery *old, *big;
    CHECK_OK(make_gallery(3, FE_GALLERY_F32, 1000, &old));
    CHECK_OK(fe_gallery_save(old, path));
    size_t old_n;
    uint8_t *old_bytes = fe_t_read_file(path, &old_n);
    CHECK(old_bytes);
    CHECK_OK(make_gallery(60, FE_GALLERY_F32, 2000, &big));  /* ~3 MB: several 1 MiB chunks */
    fe_gallery_info bi;
    fe_gallery_get_info(big, &bi);
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        hook_ctx h = {pfd[1], bi.file_bytes / 2};
        fe__gallery_set_write_hook(stop_mid_write, &h);
        fe_gallery_save(big, path);
        _exit(4);  /* not reached: the hook stops the save half way */
    }
    close(pfd[1]);
    char c;
    CHECK(read(pfd[0], &c, 1) == 1);
    close(pfd[0]);
    /* the child is paused half way: its temporary file is partly written, the target intact */
    char tmp[800];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)pid);
    struct stat sb;
    CHECK_MSG(stat(tmp, &sb) == 0, "no temporary file %s", tmp);
    kill(pid, SIGKILL);
    int wst;
    CHECK(waitpid(pid, &wst, 0) == pid && WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
    CHECK(stat(tmp, &sb) == 0 && (uint64_t)sb.st_size < bi.file_bytes);
    size_t n;
    uint8_t *now = fe_t_read_file(path, &n);
    CHECK(now && n == old_n && memcmp(now, old_bytes, n) == 0);
    free(now);
    fe_gallery *h;
    CHECK_OK(fe_gallery_load(path, NULL, &h));
    CHECK(same_gallery(t, old, h));
    fe_gallery_free(h);
    /* the stray temporary file does not get in the way of the next save */
    CHECK_OK(fe_gallery_save(big, path));
    CHECK_OK(fe_gallery_load(path, NULL, &h));
    CHECK(same_gallery(t, big, h));
    fe_gallery_free(h);
    NOTE("killed at %llu of %llu bytes; old file intact; stray temp %lld bytes left, next save ok",
         (unsigned long long)(bi.file_bytes / 2), (unsigned long long)bi.file_bytes, (long long)sb.st_size);
    free(old_bytes);
    fe_gallery_free(old);
    fe_gallery_free(big);
}

/* A writer killed at arbitrary moments, without a hook: the file is always one whole index. */
FE_TEST(gallery_killed_writer_leaves_whole_file) {
    const char *path = fe_t_tmp_path("race.fei");
    fe_gallery *a, *b;
    CHECK_OK(make_gallery(2, FE_GALLERY_F32, 1, &a));
    CHECK_OK(make_gallery(20, FE_GALLERY_F16, 2, &b));
    CHECK_OK(fe_gallery_save(a, path));
    int seen_a = 0, seen_b = 0;
    for (int round = 0; round < 6; round++) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            for (int i = 0;; i++) fe_gallery_save(i & 1 ? a : b, path);
        }
        struct timespec d = {0, 3000000L + 7000000L * round};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fe_gallery *h;
        CHECK_OK(fe_gallery_load(path, NULL, &h));
        if (fe_gallery_size(h) == 2) { CHECK(same_gallery(t, a, h)); seen_a++; }
        else { CHECK(same_gallery(t, b, h)); seen_b++; }
        fe_gallery_free(h);
    }
    NOTE("6 kills: file held the small index %d times, the large %d times, never a mix", seen_a, seen_b);
    fe_gallery_free(a);
    fe_gallery_free(b);
}

/* ---- the fuzz seed corpus stays valid and current ------------------------------------- */

static fe_status seed_gallery(int which, fe_gallery **out) {
    if (which == 0) return fe_gallery_create(NULL, out);
    fe_gallery_options o;
    fe_gallery_options_default(&o);
    o.patch_dtype = FE_GALLERY_F16;
    fe_gallery *g;
    fe_status st = fe_gallery_create(&o, &g);
    if (st != FE_OK) return st;
    fe_features *f = malloc(sizeof *f);
    if (!f) { fe_gallery_free(g); return FE_E_NOMEM; }
    for (int i = 0; i < which && st == FE_OK; i++) {
        synth_features(f, 300 + (uint64_t)i);
        st = fe_gallery_add(g, i == 1 ? "B" : "A", i ? "b/1.jpg" : "a/0.jpg", f);
    }
    if (st == FE_OK) st = fe_gallery_meta_add(g, "k", "v");
    free(f);
    if (st != FE_OK) { fe_gallery_free(g); return st; }
    *out = g;
    return FE_OK;
}

FE_TEST(gallery_fuzz_seeds_current) {
    static const char *const names[] = {"empty.fei", "one_f16.fei", "two_f16.fei"};
    int regen = getenv("FE_REGEN_SEEDS") != NULL;
    for (int s = 0; s < 3; s++) {
        fe_gallery *g;
        CHECK_OK(seed_gallery(s, &g));
        const char *tmp = fe_t_tmp_path("seed.fei");
        CHECK_OK(fe_gallery_save(g, tmp));
        fe_gallery_free(g);
        size_t n, m;
        uint8_t *want = fe_t_read_file(tmp, &n);
        char committed[256];
        snprintf(committed, sizeof committed, "tests/fuzz/corpus/gallery/%s", names[s]);
        if (regen) CHECK(fe_t_write_file(committed, want, n) == 0);
        uint8_t *have = fe_t_read_file(committed, &m);
        CHECK_MSG(have && m == n && memcmp(have, want, n) == 0,
                  "%s is missing or stale; regenerate with FE_REGEN_SEEDS=1 make run-tests T=seeds", committed);
        free(have);
        free(want);
    }
}

/* ---- CLI ------------------------------------------------------------------------------ */

FE_TEST(cli_index_info) {
    fe_gallery *g;
    CHECK_OK(make_gallery(5, FE_GALLERY_F16, 21, &g));
    const char *path = fe_t_tmp_path("info.fei");
    CHECK_OK(fe_gallery_save(g, path));
    fe_gallery_free(g);
    char out[8192];
    int rc = fe_t_run(out, sizeof out, "%s index info '%s' 2>&1", fe_t_cli(), path);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK_MSG(strstr(out, "faces") && strstr(out, "5") && strstr(out, "fp16") && strstr(out, "ok"), "%s", out);
    rc = fe_t_run(out, sizeof out, "%s index info --json '%s'", fe_t_cli(), path);
    CHECK_MSG(rc == 0, "exit %d", rc);
    CHECK_MSG(strstr(out, "\"faces\": 5") && strstr(out, "\"identities\": 3") &&
              strstr(out, "\"patch_dtype\": \"fp16\"") && strstr(out, "\"checksums\": \"ok\""), "%s", out);
    /* a damaged file: exit 1 naming the file and the section */
    size_t n;
    uint8_t *bytes = fe_t_read_file(path, &n);
    CHECK(bytes);
    bytes[n - 100] ^= 1;
    const char *bad = fe_t_tmp_path("bad.fei");
    CHECK(fe_t_write_file(bad, bytes, n) == 0);
    free(bytes);
    rc = fe_t_run(out, sizeof out, "%s index info '%s' 2>&1", fe_t_cli(), bad);
    CHECK_MSG(rc == 1 && strstr(out, "bad.fei") && strstr(out, "map8"), "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s index info --json '%s' 2>/dev/null", fe_t_cli(), bad);
    CHECK_MSG(rc == 1 && strstr(out, "FE_E_CHECKSUM"), "exit %d: %s", rc, out);
    /* usage errors and help */
    CHECK(fe_t_run(NULL, 0, "%s index 2>/dev/null", fe_t_cli()) == 2);
    CHECK(fe_t_run(NULL, 0, "%s index frobnicate x 2>/dev/null", fe_t_cli()) == 2);
    CHECK(fe_t_run(NULL, 0, "%s index info 2>/dev/null", fe_t_cli()) == 2);
    rc = fe_t_run(out, sizeof out, "%s index info --help", fe_t_cli());
    CHECK(rc == 0 && strstr(out, "usage: faceemd index info"));
    rc = fe_t_run(out, sizeof out, "%s index --help", fe_t_cli());
    CHECK(rc == 0 && strstr(out, "info"));
}
