/*
 * test_jpeg.c — the JPEG decoder against libjpeg-turbo's djpeg (goldens in tests/data/jpeg,
 * made by tools/make-jpeg-goldens.sh), the IDCT against a double-precision reference, Exif
 * orientation, unsupported coding processes, a table of hand-built corrupt files (each with
 * its own status), every truncation of real files, allocation failures, and — when
 * ../shared/data/lfw is present — all LFW images, a sample of them checked against djpeg.
 * Bounds (issue 3): max |diff| <= 2 per channel and mean |diff| <= 0.5.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "jpeg.h"

#include <dirent.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>

#define GOLD "tests/data/jpeg/"

/* ---- comparison ------------------------------------------------------------------------ */

typedef struct diff_stats {
    int      max;
    double   mean;
    size_t   n;       /* samples compared */
    size_t   exact;   /* of which identical */
} diff_stats;

/* Compares two images sample by sample; -1 when shapes differ. */
static int image_diff(const fe_image *a, const fe_image *b, diff_stats *s) {
    memset(s, 0, sizeof *s);
    if (a->width != b->width || a->height != b->height || a->channels != b->channels) return -1;
    size_t n = (size_t)a->width * a->height * a->channels;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a->data[i] - (int)b->data[i]);
        if (d > s->max) s->max = d;
        sum += d;
        s->exact += d == 0;
    }
    s->n = n;
    s->mean = n ? sum / (double)n : 0;
    return 0;
}

static int within_bounds(const diff_stats *s) { return s->n > 0 && s->max <= 2 && s->mean <= 0.5; }

static fe_status load(const char *path, fe_image **img) { return fe_image_load(path, img); }

/* every golden with expected pixels; the comment says which mode it covers */
static const char *const goldens[] = {
    "gray_33x17",          /* baseline grayscale                                   */
    "s444_33x17",          /* 4:4:4                                                */
    "s422_33x17",          /* 4:2:2 (h2v1 fancy)                                   */
    "s420_33x17",          /* 4:2:0 (h2v2 fancy)                                   */
    "s440_33x17",          /* 4:4:0 (h1v2 fancy)                                   */
    "s411_35x17",          /* 4:1:1 (4:1 replicated)                               */
    "s311_35x17",          /* 3:1 horizontal (replicated)                          */
    "mixed_33x17",         /* Y 2x2, Cb 2x1, Cr 1x2                                */
    "s420_1x1",            /* 1x1                                                  */
    "s420_3x5",            /* chroma 2 wide: libjpeg replicates instead of filtering */
    "s422_3x2",
    "s440_2x5",
    "s420_15x9",
    "s420_48x32",
    "q5_33x17",            /* quality 5: 16-bit tables, clamping                   */
    "q100_444_15x9",       /* quality 100                                          */
    "opt_420_33x17",       /* optimised Huffman tables                             */
    "rgb_33x17",           /* Adobe transform 0: RGB, no colour conversion         */
    "q16_444_33x17",       /* SOF1 with 16-bit quantization tables                 */
    "seqscans_33x17",      /* sequential, one scan per component, out of order     */
    "prog_420_48x32",      /* progressive (cjpeg default script: spectral + SA)    */
    "prog_gray_33x17",
    "prog_sa_444_33x17",   /* custom script: DC/AC successive approximation         */
    "prog_422_35x17",      /* progressive with optimised tables                    */
    "rst_420_48x32",       /* restart every MCU row                                */
    "rst_422_33x17",       /* restart every 3 MCUs                                 */
    "rst_gray_15x9",       /* restart every block, non-interleaved                 */
    "prog_rst_420_48x32",  /* progressive with restarts (EOB runs reset)           */
    "orient_1", "orient_2", "orient_3", "orient_4",   /* Exif orientation, the expected */
    "orient_5", "orient_6", "orient_7", "orient_8",   /* pixels rotated by ImageMagick  */
};
#define N_GOLDENS (sizeof goldens / sizeof goldens[0])

static fe_status load_expected(const char *name, fe_image **img) {
    char p[256];
    snprintf(p, sizeof p, GOLD "%s.ppm", name);
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    else snprintf(p, sizeof p, GOLD "%s.pgm", name);
    return load(p, img);
}

FE_TEST(jpeg_goldens_match_djpeg) {
    int worst_max = 0;
    double worst_mean = 0;
    size_t total = 0, exact = 0;
    const char *worst = "-";
    for (size_t i = 0; i < N_GOLDENS; i++) {
        char p[256];
        snprintf(p, sizeof p, GOLD "%s.jpg", goldens[i]);
        fe_image *got = NULL, *want = NULL;
        fe_status st = load(p, &got);
        CHECK_MSG(st == FE_OK, "%s: %s (%s)", p, fe_status_name(st), fe_last_error());
        st = load_expected(goldens[i], &want);
        if (st != FE_OK) {
            fe_image_free(got);
            FAIL("%s: expected pixels: %s", goldens[i], fe_last_error());
        }
        diff_stats s;
        int shape = image_diff(got, want, &s);
        fe_image_free(got);
        fe_image_free(want);
        CHECK_MSG(shape == 0, "%s: shape differs from djpeg", goldens[i]);
        CHECK_MSG(within_bounds(&s), "%s: max %d mean %.4f", goldens[i], s.max, s.mean);
        if (s.max > worst_max || (s.max == worst_max && s.mean > worst_mean)) {
            worst_max = s.max;
            worst_mean = s.mean;
            worst = goldens[i];
        }
        total += s.n;
        exact += s.exact;
    }
    NOTE("%zu files, worst max %d mean %.4f (%s); %zu/%zu samples identical", N_GOLDENS,
         worst_max, worst_mean, worst, exact, total);
}

FE_TEST(jpeg_golden_negative_control) {
    /* the same comparison must reject a perturbed decode and a mismatched golden */
    fe_image *got, *want, *other;
    CHECK_OK(load(GOLD "s420_33x17.jpg", &got));
    CHECK_OK(load_expected("s420_33x17", &want));
    diff_stats s;
    CHECK(image_diff(got, want, &s) == 0 && within_bounds(&s));
    got->data[100] = (uint8_t)(got->data[100] < 128 ? got->data[100] + 3 : got->data[100] - 3);
    CHECK(image_diff(got, want, &s) == 0 && s.max == 3 && !within_bounds(&s));
    got->data[100] = want->data[100];
    size_t n = (size_t)got->width * got->height * got->channels;
    for (size_t i = 0; i < n; i++)  /* +-1 everywhere: max 1 passes, mean 1 must not */
        got->data[i] = (uint8_t)(want->data[i] < 255 ? want->data[i] + 1 : 254);
    CHECK(image_diff(got, want, &s) == 0 && s.max <= 1 && s.mean > 0.5 && !within_bounds(&s));
    double shifted = s.mean;
    CHECK_OK(load_expected("s444_33x17", &other));
    CHECK(image_diff(other, want, &s) == 0 && !within_bounds(&s));
    NOTE("rejected: one sample off by 3; all shifted (mean %.2f); 4:4:4 golden for 4:2:0 (max %d)",
         shifted, s.max);
    fe_image_free(got);
    fe_image_free(want);
    fe_image_free(other);
}

FE_TEST(jpeg_info_agrees_with_decode) {
    for (size_t i = 0; i < N_GOLDENS; i++) {
        char p[256];
        snprintf(p, sizeof p, GOLD "%s.jpg", goldens[i]);
        size_t n;
        void *data = fe_t_read_file(p, &n);
        CHECK_MSG(data != NULL, "cannot read %s", p);
        fe_image_header h;
        fe_image *img = NULL;
        fe_status a = fe_image_info(data, n, &h), b = fe_image_decode(data, n, &img);
        free(data);
        int ok = a == FE_OK && b == FE_OK && h.format == FE_IMAGE_JPEG && h.width == img->width &&
                 h.height == img->height && h.channels == img->channels;
        fe_image_free(img);
        CHECK_MSG(ok, "%s: info and decode disagree", goldens[i]);
    }
    NOTE("%zu files", N_GOLDENS);
}

/* ---- IDCT -------------------------------------------------------------------------------- */

static uint32_t rng_state = 12345;
static uint32_t rng(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

FE_TEST(jpeg_idct_matches_float_reference) {
    /* T.81 A.3.3 computed in double, rounded, level-shifted, clamped; random sparse blocks
     * with the magnitudes real coefficients have, then extreme ones (no overflow allowed). */
    double cosv[8][8];
    for (int x = 0; x < 8; x++)
        for (int u = 0; u < 8; u++)
            cosv[x][u] = (u == 0 ? sqrt(0.5) : 1.0) * cos((2 * x + 1) * u * 3.14159265358979323846 / 16);
    int worst = 0;
    long off = 0, n = 0;
    for (int iter = 0; iter < 20000; iter++) {
        int16_t blk[64] = {0};
        int nz = 1 + (int)(rng() % 20);
        int range = iter % 4 == 0 ? 2048 : 512;
        for (int k = 0; k < nz; k++) blk[rng() % 64] = (int16_t)((int)(rng() % (2 * range + 1)) - range);
        uint8_t out[64];
        fe__jpeg_idct_islow(blk, out, 8);
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                double s = 0;
                for (int v = 0; v < 8; v++)
                    for (int u = 0; u < 8; u++) s += cosv[x][u] * cosv[y][v] * blk[8 * v + u];
                double ref = floor(s / 4 + 128 + 0.5);
                ref = ref < 0 ? 0 : ref > 255 ? 255 : ref;
                int d = abs(out[8 * y + x] - (int)ref);
                if (d > worst) worst = d;
                off += d != 0;
                n++;
            }
    }
    CHECK_MSG(worst <= 1, "islow IDCT differs from the exact IDCT by %d", worst);
    /* DC only is exact: value/8 + 128 */
    int16_t dc[64] = {0};
    dc[0] = 80;
    uint8_t out[64];
    fe__jpeg_idct_islow(dc, out, 8);
    for (int i = 0; i < 64; i++) CHECK(out[i] == 138);
    /* extremes: must not overflow (UBSan in make check) and must stay in range */
    for (int iter = 0; iter < 2000; iter++) {
        int16_t blk[64];
        for (int k = 0; k < 64; k++) blk[k] = (int16_t)(rng() & 1 ? 32767 : -32768);
        fe__jpeg_idct_islow(blk, out, 8);
    }
    /* negative control: the reference must see a wrong sample */
    CHECK(abs(out[0] - (out[0] ^ 4)) > 1);
    NOTE("20000 random blocks: max |diff| %d vs double IDCT, %.2f%% samples off by one", worst,
         100.0 * (double)off / (double)n);
}

/* ---- SIMD kernels ------------------------------------------------------------------------ */

FE_TEST(jpeg_simd_kernels_match_portable) {
    const fe__jpeg_kernels *ref = &fe__jpeg_kernels_ref, *k = fe__jpeg_pick_kernels();
    if (k == ref) SKIP("this CPU has no AVX2 (or FE_KERNEL=ref): only the portable kernels exist");
    long checked = 0;
    /* IDCT: sparse, dense and saturating blocks */
    for (int iter = 0; iter < 20000; iter++) {
        int16_t blk[64] = {0};
        int mode = iter % 3;
        for (int i = 0; i < 64; i++) {
            if (mode == 0 && rng() % 8) continue;
            int range = mode == 2 ? 32768 : 1024;
            blk[i] = (int16_t)((int)(rng() % (2u * range)) - range);
        }
        uint8_t a[8 * 11], b[8 * 11];
        memset(a, 7, sizeof a);
        memset(b, 7, sizeof b);
        ref->idct(blk, a, 11);
        k->idct(blk, b, 11);
        CHECK_MSG(memcmp(a, b, sizeof a) == 0, "IDCT differs on block %d (mode %d)", iter, mode);
        checked += 64;
    }
    /* upsamplers and colour conversion over many widths */
    uint8_t in1[300], in2[300], in3[300], o1[900], o2[900];
    for (uint32_t n = 3; n < 260; n++) {
        for (int i = 0; i < 300; i++) {
            in1[i] = (uint8_t)rng();
            in2[i] = (uint8_t)rng();
            in3[i] = (uint8_t)(n & 1 ? rng() : (i & 1) * 255);  /* extremes for clamping */
        }
        memset(o1, 0, sizeof o1);
        memset(o2, 0, sizeof o2);
        ref->h2v1(in1, n, o1);
        k->h2v1(in1, n, o2);
        CHECK_MSG(memcmp(o1, o2, 2 * n) == 0, "h2v1 differs at width %u", n);
        ref->h2v2(in1, in2, n, o1);
        k->h2v2(in1, in2, n, o2);
        CHECK_MSG(memcmp(o1, o2, 2 * n) == 0, "h2v2 differs at width %u", n);
        ref->ycc_rgb(in1, in2, in3, n, o1);
        k->ycc_rgb(in1, in2, in3, n, o2);
        CHECK_MSG(memcmp(o1, o2, 3 * n) == 0, "YCbCr->RGB differs at width %u", n);
        checked += 7 * n;
    }
    /* whole decodes: every golden identical with FE_KERNEL=ref (this test runs in its own process) */
    for (size_t i = 0; i < N_GOLDENS; i++) {
        char p[256];
        snprintf(p, sizeof p, GOLD "%s.jpg", goldens[i]);
        fe_image *a, *b;
        unsetenv("FE_KERNEL");
        CHECK_OK(load(p, &a));
        setenv("FE_KERNEL", "ref", 1);
        CHECK_OK(load(p, &b));
        unsetenv("FE_KERNEL");
        diff_stats s;
        int same = image_diff(a, b, &s) == 0 && s.max == 0;
        fe_image_free(a);
        fe_image_free(b);
        CHECK_MSG(same, "%s decodes differently with FE_KERNEL=ref", goldens[i]);
    }
    NOTE("%s vs ref: %ld outputs identical; %zu goldens identical", k->name, checked, N_GOLDENS);
}

/* ---- orientation ------------------------------------------------------------------------ */

FE_TEST(jpeg_exif_orientation) {
    fe_image *base;
    CHECK_OK(load(GOLD "orient_base_15x9.jpg", &base));
    CHECK(base->width == 15 && base->height == 9);
    for (int o = 1; o <= 8; o++) {
        char p[256];
        snprintf(p, sizeof p, GOLD "orient_%d.jpg", o);
        size_t n;
        uint8_t *data = fe_t_read_file(p, &n);
        CHECK(data != NULL);
        fe_image_header h;
        fe_image *img;
        CHECK_OK(fe_image_info(data, n, &h));
        CHECK_OK(fe_image_decode(data, n, &img));
        free(data);
        int swap = o >= 5;
        CHECK_MSG(h.width == (swap ? 9u : 15u) && h.height == (swap ? 15u : 9u),
                  "orientation %d: info says %ux%u", o, h.width, h.height);
        /* independent formulation: each orientation is a composition of a transpose (5..8)
         * with mirrors applied in the output frame (x: 2,3,6,7; y: 3,4,7,8), e.g. 6 = rotate
         * 90 clockwise = transpose then mirror x — not the per-case table of jpeg_exif.c */
        int flip_x = o == 2 || o == 3 || o == 6 || o == 7;
        int flip_y = o == 3 || o == 4 || o == 7 || o == 8;
        int ok = img->width == h.width && img->height == h.height;
        for (uint32_t y = 0; ok && y < img->height; y++)
            for (uint32_t x = 0; ok && x < img->width; x++) {
                uint32_t u = flip_x ? img->width - 1 - x : x, v = flip_y ? img->height - 1 - y : y;
                uint32_t sx = swap ? v : u, sy = swap ? u : v;
                for (int c = 0; c < 3; c++)
                    ok &= img->data[(y * img->width + x) * 3 + c] == base->data[(sy * 15 + sx) * 3 + c];
            }
        fe_image_free(img);
        CHECK_MSG(ok, "orientation %d does not match the transformed base image", o);
    }
    fe_image_free(base);
    NOTE("orientations 1..8 (II and MM Exif) match; 5..8 report swapped size");
}

/* ---- hand-built files ------------------------------------------------------------------- */

typedef struct jb { uint8_t d[1 << 16]; size_t n; } jb;
static void b8(jb *b, int v) { if (b->n < sizeof b->d) b->d[b->n++] = (uint8_t)v; }
static void b16(jb *b, int v) { b8(b, v >> 8); b8(b, v & 255); }
static void bput(jb *b, const void *p, size_t n) { for (size_t i = 0; i < n; i++) b8(b, ((const uint8_t *)p)[i]); }
static void seg(jb *b, int m, const uint8_t *p, size_t n) { b8(b, 0xFF); b8(b, m); b16(b, (int)n + 2); bput(b, p, n); }

/* entropy bit writer with 0xFF stuffing and 1-bit fill */
typedef struct bitw { jb *b; int acc, n; } bitw;
static void bits(bitw *w, uint32_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        w->acc = (w->acc << 1) | (int)((v >> i) & 1);
        if (++w->n == 8) {
            b8(w->b, w->acc & 255);
            if ((w->acc & 255) == 0xFF) b8(w->b, 0);
            w->acc = w->n = 0;
        }
    }
}
static void bits_flush(bitw *w) { while (w->n) bits(w, 1, 1); }

typedef struct scan_spec {
    int ns, id[3], tables[3], ss, se, ahal;
    const uint8_t *data;
    size_t n;
} scan_spec;

typedef struct mini {
    int sof, precision, width, height, ncomp;
    int id[4], hv[4], tq[4];
    int dqt_pq, dqt_tq, no_dqt;
    const uint8_t *dht;     /* raw DHT payload; NULL: DC0 = {"0"->0}, AC0 = {"0"->EOB} */
    size_t dht_n;
    int dri;
    scan_spec scan[4];
    int nscans;
    int no_eoi;
} mini;

static const uint8_t one_block[] = {0x3F};  /* DC "0" (diff 0) + AC "0" (EOB), fill 1s */

/* 8x8 gray baseline whose one block is flat 128 */
static mini gray8(void) {
    mini m;
    memset(&m, 0, sizeof m);
    m.sof = 0xC0; m.precision = 8; m.width = 8; m.height = 8; m.ncomp = 1;
    m.id[0] = 1; m.hv[0] = 0x11;
    m.nscans = 1;
    m.scan[0] = (scan_spec){1, {1}, {0x00}, 0, 63, 0, one_block, 1};
    return m;
}

/* 16x16 4:2:0 colour baseline, one MCU of 6 flat blocks */
static const uint8_t six_blocks[] = {0x00, 0x0F};
static mini color16(void) {
    mini m = gray8();
    m.width = m.height = 16;
    m.ncomp = 3;
    m.id[0] = 1; m.hv[0] = 0x22; m.id[1] = 2; m.hv[1] = 0x11; m.id[2] = 3; m.hv[2] = 0x11;
    m.scan[0] = (scan_spec){3, {1, 2, 3}, {0, 0, 0}, 0, 63, 0, six_blocks, 2};
    return m;
}

static void build(jb *b, const mini *m) {
    b->n = 0;
    b8(b, 0xFF); b8(b, 0xD8);
    if (!m->no_dqt) {
        uint8_t q[129];
        q[0] = (uint8_t)(m->dqt_pq << 4 | m->dqt_tq);
        for (int i = 1; i < 129; i++) q[i] = m->dqt_pq ? (i & 1 ? 0 : 1) : 1;
        seg(b, 0xDB, q, m->dqt_pq ? 129 : 65);
    }
    if (m->dht) {
        seg(b, 0xC4, m->dht, m->dht_n);
    } else {
        static const uint8_t std[] = {0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
                                      0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00};
        seg(b, 0xC4, std, sizeof std);
    }
    if (m->dri) {
        uint8_t r[2] = {(uint8_t)(m->dri >> 8), (uint8_t)m->dri};
        seg(b, 0xDD, r, 2);
    }
    uint8_t f[6 + 12];
    f[0] = (uint8_t)m->precision;
    f[1] = (uint8_t)(m->height >> 8); f[2] = (uint8_t)m->height;
    f[3] = (uint8_t)(m->width >> 8); f[4] = (uint8_t)m->width;
    f[5] = (uint8_t)m->ncomp;
    int nc = m->ncomp > 4 ? 4 : m->ncomp;
    for (int i = 0; i < nc; i++) {
        f[6 + 3 * i] = (uint8_t)m->id[i];
        f[7 + 3 * i] = (uint8_t)m->hv[i];
        f[8 + 3 * i] = (uint8_t)m->tq[i];
    }
    seg(b, m->sof, f, 6 + 3 * (size_t)nc);
    for (int s = 0; s < m->nscans; s++) {
        const scan_spec *sc = &m->scan[s];
        uint8_t p[16];
        size_t k = 0;
        p[k++] = (uint8_t)sc->ns;
        for (int i = 0; i < sc->ns && i < 3; i++) {
            p[k++] = (uint8_t)sc->id[i];
            p[k++] = (uint8_t)sc->tables[i];
        }
        p[k++] = (uint8_t)sc->ss;
        p[k++] = (uint8_t)sc->se;
        p[k++] = (uint8_t)sc->ahal;
        seg(b, 0xDA, p, k);
        bput(b, sc->data, sc->n);
    }
    if (!m->no_eoi) { b8(b, 0xFF); b8(b, 0xD9); }
}

static fe_status decode_mini(const mini *m, fe_image **img) {
    static jb b;
    build(&b, m);
    return fe_image_decode(b.d, b.n, img);
}

FE_TEST(jpeg_minimal_files_decode) {
    /* the builder itself must make valid files, or the corrupt table proves nothing */
    fe_image *img;
    mini m = gray8();
    CHECK_OK(decode_mini(&m, &img));
    CHECK(img->width == 8 && img->channels == 1);
    for (int i = 0; i < 64; i++) CHECK(img->data[i] == 128);
    fe_image_free(img);
    m = color16();
    CHECK_OK(decode_mini(&m, &img));
    CHECK(img->width == 16 && img->channels == 3);
    for (int i = 0; i < 16 * 16 * 3; i++) CHECK(img->data[i] == 128);
    fe_image_free(img);
    /* restart every MCU with RST0, RST1 in sequence */
    static const uint8_t rst_data[] = {0x3F, 0xFF, 0xD0, 0x3F, 0xFF, 0xD1, 0x3F};
    m = gray8();
    m.width = 24;
    m.dri = 1;
    m.scan[0].data = rst_data;
    m.scan[0].n = sizeof rst_data;
    CHECK_OK(decode_mini(&m, &img));
    fe_image_free(img);
    /* progressive: DC first, then AC 1..63, one EOB bit each */
    static const uint8_t b7f[] = {0x7F};
    m = gray8();
    m.sof = 0xC2;
    m.scan[0] = (scan_spec){1, {1}, {0x00}, 0, 0, 0x00, b7f, 1};
    m.scan[1] = (scan_spec){1, {1}, {0x00}, 1, 63, 0x00, b7f, 1};
    m.nscans = 2;
    CHECK_OK(decode_mini(&m, &img));
    CHECK(img->data[63] == 128);
    fe_image_free(img);
    /* stray bytes between the end of the entropy data and the next marker are skipped */
    static const uint8_t stray[] = {0x3F, 0x12, 0x34, 0x00};
    m = gray8();
    m.scan[0].data = stray;
    m.scan[0].n = sizeof stray;
    CHECK_OK(decode_mini(&m, &img));
    CHECK(img->data[0] == 128);
    fe_image_free(img);
    /* bytes after EOI are ignored */
    static jb b;
    m = gray8();
    build(&b, &m);
    bput(&b, "trailing junk", 13);
    CHECK_OK(fe_image_decode(b.d, b.n, &img));
    fe_image_free(img);
    NOTE("gray 8x8, 4:2:0 16x16, restarts, progressive, stray bytes before EOI, bytes after EOI");
}

typedef struct corrupt_case {
    const char *name;
    fe_status   expect;
} corrupt_case;

/* DHT payloads for the entropy cases */
static const uint8_t dht_range[] = {   /* AC: "0" -> EOB, "10" -> 0xF1 (run 15, size 1) */
    0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
    0x10, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xF1};
static const uint8_t dht_zrl[] = {     /* AC: "0" -> EOB, "10" -> ZRL */
    0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
    0x10, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xF0};
static const uint8_t dht_dc15[] = {    /* DC: "0" -> 15 magnitude bits */
    0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15,
    0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00};
static const uint8_t dht_refine[] = {  /* AC: "0" -> EOB, "10" -> 0x02 (size 2: invalid in refinement), "110" -> 0xF1 */
    0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
    0x10, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0xF1};

/* Applies corrupt case `i` to a fresh spec; returns 0 past the end of the table. */
static int corrupt_variant(int i, mini *m, corrupt_case *c, jb *raw, int *use_raw) {
    static const uint8_t ff00[] = {0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00};
    static const uint8_t over[] = {0x00, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2};
    static const uint8_t many[] = {0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0, 1};
    static const uint8_t cls2[] = {0x20, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t idx5[] = {0x05, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t dcsym[] = {0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16};
    static uint8_t ent[64];
    *m = gray8();
    *use_raw = 0;
    raw->n = 0;
    switch (i) {
    case 0: *c = (corrupt_case){"segment length < 2", FE_E_CORRUPT};
        *use_raw = 1; bput(raw, "\xFF\xD8\xFF\xDB\x00\x01\xFF\xD9", 8); break;
    case 1: *c = (corrupt_case){"segment longer than the file", FE_E_TRUNCATED};
        *use_raw = 1; bput(raw, "\xFF\xD8\xFF\xDB\xFF\xF0\x00\x01", 8); break;
    case 2: *c = (corrupt_case){"garbage instead of a marker", FE_E_CORRUPT};
        *use_raw = 1; bput(raw, "\xFF\xD8\xFF\xFE\x00\x02\x12\x34", 8); break;
    case 3: *c = (corrupt_case){"DQT table index 4", FE_E_RANGE}; m->dqt_tq = 4; break;
    case 4: *c = (corrupt_case){"DQT precision 2", FE_E_CORRUPT}; m->dqt_pq = 2; break;
    case 5: *c = (corrupt_case){"DHT class 2", FE_E_CORRUPT}; m->dht = cls2; m->dht_n = sizeof cls2; break;
    case 6: *c = (corrupt_case){"DHT table index 5", FE_E_RANGE}; m->dht = idx5; m->dht_n = sizeof idx5; break;
    case 7: *c = (corrupt_case){"DHT over-subscribed (3 codes of length 1)", FE_E_CORRUPT};
        m->dht = over; m->dht_n = sizeof over; break;
    case 8: *c = (corrupt_case){"DHT counts exceed the segment", FE_E_COUNT}; m->dht = many; m->dht_n = sizeof many; break;
    case 9: *c = (corrupt_case){"DHT DC symbol 16", FE_E_CORRUPT}; m->dht = dcsym; m->dht_n = sizeof dcsym; break;
    case 10: *c = (corrupt_case){"SOF 12-bit", FE_E_UNSUPPORTED}; m->precision = 12; m->sof = 0xC1; break;
    case 11: *c = (corrupt_case){"SOF 4 components (CMYK)", FE_E_UNSUPPORTED}; m->ncomp = 4; break;
    case 12: *c = (corrupt_case){"SOF 0 components", FE_E_CORRUPT}; m->ncomp = 0; break;
    case 13: *c = (corrupt_case){"SOF width 0", FE_E_CORRUPT}; m->width = 0; break;
    case 14: *c = (corrupt_case){"SOF height 0 (DNL)", FE_E_UNSUPPORTED}; m->height = 0; break;
    case 15: *c = (corrupt_case){"SOF width 20000 > FE_MAX_IMAGE_DIM", FE_E_LIMIT}; m->width = 20000; break;
    case 16: *c = (corrupt_case){"SOF 16000x16000 > FE_MAX_IMAGE_PIXELS", FE_E_LIMIT};
        m->width = m->height = 16000; break;
    case 17: *c = (corrupt_case){"SOF sampling factor 0", FE_E_CORRUPT}; m->hv[0] = 0x01; break;
    case 18: *c = (corrupt_case){"SOF sampling factor 5", FE_E_CORRUPT}; m->hv[0] = 0x51; break;
    case 19: *c = (corrupt_case){"SOF quantization table 4", FE_E_RANGE}; m->tq[0] = 4; break;
    case 20: *c = (corrupt_case){"SOF duplicate component ids", FE_E_DUPLICATE};
        *m = color16(); m->id[2] = 2; break;
    case 21: *c = (corrupt_case){"MCU of 18 blocks", FE_E_CORRUPT}; *m = color16(); m->hv[0] = 0x44; break;
    case 22: *c = (corrupt_case){"fractional sampling 3:2", FE_E_UNSUPPORTED};
        *m = color16(); m->hv[0] = 0x31; m->hv[1] = 0x21; break;
    case 23: *c = (corrupt_case){"SOS names an unknown component", FE_E_NOT_FOUND}; m->scan[0].id[0] = 9; break;
    case 24: *c = (corrupt_case){"SOS names a component twice", FE_E_DUPLICATE};
        *m = color16(); m->scan[0].id[2] = 1; break;
    case 25: *c = (corrupt_case){"SOS Huffman selector 4", FE_E_RANGE}; m->scan[0].tables[0] = 0x40; break;
    case 26: *c = (corrupt_case){"SOS uses undefined AC table 1", FE_E_NOT_FOUND}; m->scan[0].tables[0] = 0x01; break;
    case 27: *c = (corrupt_case){"quantization table never defined", FE_E_NOT_FOUND}; m->tq[0] = 2; break;
    case 28: *c = (corrupt_case){"sequential scan with Se=62", FE_E_CORRUPT}; m->scan[0].se = 62; break;
    case 29: *c = (corrupt_case){"SOS with 0 components", FE_E_CORRUPT}; m->scan[0].ns = 0; break;
    case 30: *c = (corrupt_case){"SOS before SOF", FE_E_CORRUPT};
        *use_raw = 1; bput(raw, "\xFF\xD8\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\x3F\xFF\xD9", 15); break;
    case 31: *c = (corrupt_case){"second SOF", FE_E_CORRUPT};
        *use_raw = 1;
        bput(raw, "\xFF\xD8\xFF\xC0\x00\x0B\x08\x00\x08\x00\x08\x01\x01\x11\x00", 15);
        bput(raw, "\xFF\xC0\x00\x0B\x08\x00\x08\x00\x08\x01\x01\x11\x00\xFF\xD9", 15); break;
    case 32: *c = (corrupt_case){"arithmetic coding (SOF9)", FE_E_UNSUPPORTED}; m->sof = 0xC9; break;
    case 33: *c = (corrupt_case){"lossless (SOF3)", FE_E_UNSUPPORTED}; m->sof = 0xC3; break;
    case 34: *c = (corrupt_case){"hierarchical (SOF5)", FE_E_UNSUPPORTED}; m->sof = 0xC5; break;
    case 35: *c = (corrupt_case){"JPEG-LS (SOF55)", FE_E_UNSUPPORTED}; m->sof = 0xF7; break;
    case 36: *c = (corrupt_case){"no EOI", FE_E_TRUNCATED}; m->no_eoi = 1; break;
    case 37: *c = (corrupt_case){"EOI before any scan", FE_E_TRUNCATED}; m->nscans = 0; break;
    case 38: *c = (corrupt_case){"EOI before component 2 is coded", FE_E_TRUNCATED};
        *m = color16(); m->scan[0].ns = 1; m->scan[0].data = one_block; m->scan[0].n = 1;
        m->width = m->height = 8; m->hv[0] = 0x11; break;
    case 39: *c = (corrupt_case){"entropy data ends early (EOI)", FE_E_TRUNCATED}; {
        static const uint8_t d[] = {0x00};  /* 8 blocks of 2 bits, data for 4 */
        m->width = 64; m->scan[0].data = d; m->scan[0].n = 1;
    } break;
    case 40: *c = (corrupt_case){"entropy data runs into a DHT marker", FE_E_CORRUPT};
        *use_raw = 1; {
            jb tmp; mini g = gray8(); g.width = 64; g.no_eoi = 1; build(&tmp, &g);
            bput(raw, tmp.d, tmp.n);
            bput(raw, "\xFF\xC4\x00\x02\xFF\xD9", 6);
        } break;
    case 41: *c = (corrupt_case){"bad Huffman code (all ones)", FE_E_CORRUPT};
        m->scan[0].data = ff00; m->scan[0].n = sizeof ff00; break;
    case 42: case 43: {
        *c = i == 42 ? (corrupt_case){"AC run past coefficient 63", FE_E_RANGE}
                     : (corrupt_case){"zero run (ZRL) past coefficient 63", FE_E_RANGE};
        m->dht = i == 42 ? dht_range : dht_zrl;
        m->dht_n = i == 42 ? sizeof dht_range : sizeof dht_zrl;
        jb e; e.n = 0; bitw w = {&e, 0, 0};
        bits(&w, 0, 1);
        for (int k = 0; k < 4; k++) i == 42 ? bits(&w, 0x5, 3) : bits(&w, 0x2, 2);
        bits(&w, 0, 1);
        bits_flush(&w);
        memcpy(ent, e.d, e.n);
        m->scan[0].data = ent; m->scan[0].n = e.n;
    } break;
    case 44: {
        *c = (corrupt_case){"DC predictor overflows", FE_E_CORRUPT};
        m->dht = dht_dc15; m->dht_n = sizeof dht_dc15; m->width = 24;
        jb e; e.n = 0; bitw w = {&e, 0, 0};
        for (int k = 0; k < 3; k++) { bits(&w, 0, 1); bits(&w, 0x7FFF, 15); bits(&w, 0, 1); }
        bits_flush(&w);
        memcpy(ent, e.d, e.n);
        m->scan[0].data = ent; m->scan[0].n = e.n;
    } break;
    case 45: *c = (corrupt_case){"restart marker out of sequence", FE_E_CORRUPT}; {
        static const uint8_t d[] = {0x3F, 0xFF, 0xD3, 0x3F};
        m->width = 16; m->dri = 1; m->scan[0].data = d; m->scan[0].n = sizeof d;
    } break;
    case 46: *c = (corrupt_case){"EOI where a restart marker is due", FE_E_TRUNCATED}; {
        static const uint8_t d[] = {0x3F, 0x3F};
        m->width = 16; m->dri = 1; m->scan[0].data = d; m->scan[0].n = sizeof d;
    } break;
    /* progressive parameter checks (gray 8x8, SOF2) */
    case 47: case 48: case 49: case 50: case 51: case 52: case 53: {
        static const uint8_t b7f[] = {0x7F};
        m->sof = 0xC2;
        m->scan[0] = (scan_spec){1, {1}, {0x00}, 0, 0, 0x00, b7f, 1};
        m->scan[1] = (scan_spec){1, {1}, {0x00}, 1, 63, 0x00, b7f, 1};
        m->nscans = 2;
        if (i == 47) { *c = (corrupt_case){"progressive DC scan with Se=5", FE_E_CORRUPT}; m->scan[0].se = 5; }
        if (i == 48) { *c = (corrupt_case){"refinement with Al != Ah-1", FE_E_CORRUPT}; m->scan[1].ahal = 0x20; }
        if (i == 49) { *c = (corrupt_case){"AC scan before the DC scan", FE_E_CORRUPT};
            scan_spec t = m->scan[0]; m->scan[0] = m->scan[1]; m->scan[1] = t; }
        if (i == 50) { *c = (corrupt_case){"Al = 14", FE_E_CORRUPT}; m->scan[0].ahal = 0x0E; }
        if (i == 51) { *c = (corrupt_case){"AC coefficients sent twice", FE_E_CORRUPT}; m->scan[2] = m->scan[1]; m->nscans = 3; }
        if (i == 52) { *c = (corrupt_case){"refinement of a band never sent", FE_E_CORRUPT}; m->scan[1].ahal = 0x10; }
        if (i == 53) { *c = (corrupt_case){"AC scan Se < Ss", FE_E_CORRUPT}; m->scan[1].ss = 9; m->scan[1].se = 8; }
    } break;
    case 54: *c = (corrupt_case){"progressive AC scan of 3 components", FE_E_CORRUPT}; {
        static const uint8_t b7f[] = {0x7F};
        *m = color16();
        m->sof = 0xC2;
        m->scan[0] = (scan_spec){3, {1, 2, 3}, {0, 0, 0}, 0, 0, 0x00, six_blocks, 2};
        m->scan[1] = (scan_spec){3, {1, 2, 3}, {0, 0, 0}, 1, 5, 0x00, b7f, 1};
        m->nscans = 2;
    } break;
    case 55: case 56: {
        /* refinement: "10" = size 2 (invalid), "110" = run 15 size 1 past Se */
        *c = i == 55 ? (corrupt_case){"refinement coefficient of size 2", FE_E_CORRUPT}
                     : (corrupt_case){"refinement run past Se", FE_E_RANGE};
        static const uint8_t b7f[] = {0x7F};
        static uint8_t r[4];
        m->sof = 0xC2;
        m->dht = dht_refine; m->dht_n = sizeof dht_refine;
        m->scan[0] = (scan_spec){1, {1}, {0x00}, 0, 0, 0x00, b7f, 1};
        m->scan[1] = (scan_spec){1, {1}, {0x00}, 1, 5, 0x01, b7f, 1};   /* first, Al=1: EOB */
        jb e; e.n = 0; bitw w = {&e, 0, 0};
        if (i == 55) { bits(&w, 0x2, 2); bits(&w, 1, 1); }
        else { bits(&w, 0x6, 3); bits(&w, 1, 1); }
        bits_flush(&w);
        memcpy(r, e.d, e.n);
        m->scan[2] = (scan_spec){1, {1}, {0x00}, 1, 5, 0x10, r, e.n};
        m->nscans = 3;
    } break;
    case 57: *c = (corrupt_case){"DAC marker (arithmetic conditioning)", FE_E_UNSUPPORTED};
        *use_raw = 1; bput(raw, "\xFF\xD8\xFF\xCC\x00\x04\x00\x00\xFF\xD9", 10); break;
    case 58: *c = (corrupt_case){"file ends inside a marker length", FE_E_TRUNCATED};
        *use_raw = 1; bput(raw, "\xFF\xD8\xFF\xDB\x00", 5); break;
    case 59: *c = (corrupt_case){"SOF length does not match its components", FE_E_CORRUPT};
        *use_raw = 1; bput(raw, "\xFF\xD8\xFF\xC0\x00\x0C\x08\x00\x08\x00\x08\x01\x01\x11\x00\x00\xFF\xD9", 18); break;
    default: return 0;
    }
    return 1;
}

FE_TEST(jpeg_corrupt_table) {
    static jb b, raw;
    int n = 0;
    mini m;
    corrupt_case c;
    int use_raw;
    for (int i = 0; corrupt_variant(i, &m, &c, &raw, &use_raw); i++, n++) {
        if (use_raw) b = raw;
        else build(&b, &m);
        fe_image *img = (fe_image *)&b;  /* must be reset to NULL on failure */
        fe_status st = fe_image_decode(b.d, b.n, &img);
        CHECK_MSG(st == c.expect, "case %d '%s': decode gave %s, expected %s (%s)", i, c.name,
                  fe_status_name(st), fe_status_name(c.expect), fe_last_error());
        CHECK_MSG(img == NULL, "case %d '%s': output not NULL on failure", i, c.name);
        CHECK_MSG(strlen(fe_last_error()) > 10, "case %d '%s': no message", i, c.name);
        /* info reads headers only: it must fail the same way unless the fault is in the data */
        fe_image_header h;
        fe_status si = fe_image_info(b.d, b.n, &h);
        CHECK_MSG(si == FE_OK || si == st, "case %d '%s': info gave %s, decode %s", i, c.name,
                  fe_status_name(si), fe_status_name(st));
    }
    NOTE("%d corrupt variants, each with its expected status", n);
}

FE_TEST(jpeg_scan_count_capped) {
    /* a valid gray 8x8 progressive file with one scan per coefficient per bit plane:
     * DC first Al=13, 13 DC refinements, then each AC coefficient k first at Al=13 and
     * refined 13 times. With n_ac coefficients: 14 * (1 + n_ac) scans. */
    static const uint8_t b7f[] = {0x7F};
    static jb b;
    for (int pass = 0; pass < 2; pass++) {
        int n_ac = pass == 0 ? 17 : 63;  /* 252 scans (allowed), 896 (over the cap) */
        b.n = 0;
        mini m = gray8();
        m.sof = 0xC2;
        m.nscans = 0;
        build(&b, &m);
        b.n -= 2;  /* drop EOI */
        for (int k = 0; k <= n_ac; k++)
            for (int ah = 0; ah <= 13; ah++) {
                int al = 13 - ah;
                /* first scan Ah=0 Al=13; each refinement Ah=Al+1 */
                uint8_t p[] = {1, 1, 0x00, (uint8_t)k, (uint8_t)k,
                               (uint8_t)(ah ? (al + 1) << 4 | al : 13)};
                seg(&b, 0xDA, p, sizeof p);
                bput(&b, b7f, 1);
            }
        b8(&b, 0xFF); b8(&b, 0xD9);
        fe_image *img;
        fe_status st = fe_image_decode(b.d, b.n, &img);
        if (pass == 0) {
            CHECK_MSG(st == FE_OK, "252 scans: %s (%s)", fe_status_name(st), fe_last_error());
            CHECK(img->data[0] == 128);
            fe_image_free(img);
        } else {
            CHECK_STATUS(st, FE_E_LIMIT);
        }
    }
    NOTE("252 scans decode, 896 give FE_E_LIMIT (cap %d)", FE__JPEG_MAX_SCANS);
}

/* ---- real files: truncation, restarts, allocation failures -------------------------------- */

FE_TEST(jpeg_every_truncation_fails) {
    static const char *const files[] = {"s420_33x17", "prog_420_48x32", "rst_422_33x17",
                                        "prog_sa_444_33x17", "orient_6"};
    size_t total = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char p[256];
        snprintf(p, sizeof p, GOLD "%s.jpg", files[f]);
        size_t n;
        uint8_t *data = fe_t_read_file(p, &n);
        CHECK(data != NULL && n > 100);
        for (size_t len = 0; len < n; len++) {
            uint8_t *cut = malloc(len ? len : 1);  /* exact size: ASan sees any over-read */
            memcpy(cut, data, len);
            fe_image *img;
            fe_status st = fe_image_decode(cut, len, &img);
            free(cut);
            fe_status want = len < 3 ? FE_E_MAGIC : FE_E_TRUNCATED;
            if (st != want) {
                free(data);
                FAIL("%s cut to %zu of %zu bytes: %s, expected %s (%s)", files[f], len, n,
                     fe_status_name(st), fe_status_name(want), fe_last_error());
            }
            total++;
        }
        free(data);
    }
    NOTE("%zu prefixes of 5 files: all FE_E_TRUNCATED (MAGIC below 3 bytes)", total);
}

/* Index of the n-th (0-based) occurrence of marker FF m after the first SOS, or 0. */
static size_t find_in_scan(const uint8_t *d, size_t n, int m, int nth) {
    size_t i = 2;
    while (i + 1 < n && !(d[i] == 0xFF && d[i + 1] == 0xDA)) i++;
    for (; i + 1 < n; i++)
        if (d[i] == 0xFF && d[i + 1] == m && nth-- == 0) return i;
    return 0;
}

FE_TEST(jpeg_restart_resync_and_errors) {
    size_t n;
    uint8_t *data = fe_t_read_file(GOLD "rst_420_48x32.jpg", &n);
    CHECK(data != NULL);
    fe_image *want, *img;
    CHECK_OK(fe_image_decode(data, n, &want));
    size_t r0 = find_in_scan(data, n, 0xD0, 0);
    CHECK(r0 > 0);
    /* stray bytes before a restart marker are skipped and decoding resumes at it */
    uint8_t *ins = malloc(n + 3);
    memcpy(ins, data, r0);
    memcpy(ins + r0, "\x12\x34\x56", 3);
    memcpy(ins + r0 + 3, data + r0, n - r0);
    CHECK_OK(fe_image_decode(ins, n + 3, &img));
    diff_stats s;
    CHECK(image_diff(img, want, &s) == 0 && s.max == 0);
    fe_image_free(img);
    free(ins);
    /* wrong restart number */
    data[r0 + 1] = 0xD5;
    CHECK_STATUS(fe_image_decode(data, n, &img), FE_E_CORRUPT);
    CHECK(strstr(fe_last_error(), "RST0") != NULL);
    data[r0 + 1] = 0xD0;
    /* corrupted entropy bytes inside the second interval: all ones is no code */
    size_t next = r0 + 2;
    while (next + 1 < n && !(data[next] == 0xFF && data[next + 1] != 0)) next++;
    CHECK(next > r0 + 8);
    uint8_t save[4];
    memcpy(save, data + r0 + 2, 4);
    memcpy(data + r0 + 2, "\xFF\x00\xFF\x00", 4);
    fe_status st = fe_image_decode(data, n, &img);
    CHECK_MSG(st == FE_E_CORRUPT || st == FE_E_RANGE, "ones in an interval gave %s", fe_status_name(st));
    memcpy(data + r0 + 2, save, 4);
    CHECK_OK(fe_image_decode(data, n, &img));
    fe_image_free(img);
    fe_image_free(want);
    free(data);
    NOTE("garbage before RST skipped (pixels identical); out-of-sequence RST and bad codes rejected");
}

FE_TEST(jpeg_allocation_failures) {
    static const char *const files[] = {"s420_33x17", "prog_420_48x32", "orient_6"};
    int steps = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char p[256];
        snprintf(p, sizeof p, GOLD "%s.jpg", files[f]);
        size_t n;
        uint8_t *data = fe_t_read_file(p, &n);
        CHECK(data != NULL);
        for (long k = 0;; k++) {
            fe_image *img;
            fe__alloc_fail_after(k);
            fe_status st = fe_image_decode(data, n, &img);
            fe__alloc_fail_after(-1);
            if (st == FE_OK) {
                fe_image_free(img);
                break;
            }
            steps++;
            if (st != FE_E_NOMEM) {
                free(data);
                FAIL("%s: allocation %ld failing gave %s", files[f], k, fe_status_name(st));
            }
            CHECK(k < 100);
        }
        free(data);
    }
    NOTE("%d failure points, all FE_E_NOMEM (leaks: LSan under make check)", steps);
}

FE_TEST(jpeg_unsupported_modes) {
    static const char *const files[] = {"unsup_arith", "unsup_arith_prog", "unsup_cmyk",
                                        "unsup_12bit", "unsup_lossless", "unsup_hier"};
    static const char *const words[] = {"arithmetic", "arithmetic", "CMYK", "12-bit", "lossless",
                                        "hierarchical"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, GOLD "%s.jpg", files[i]);
        size_t n;
        uint8_t *data = fe_t_read_file(p, &n);
        CHECK(data != NULL);
        fe_image *img;
        fe_image_header h;
        fe_status si = fe_image_info(data, n, &h), sd = fe_image_decode(data, n, &img);
        free(data);
        CHECK_MSG(si == FE_E_UNSUPPORTED && sd == FE_E_UNSUPPORTED, "%s: info %s, decode %s",
                  files[i], fe_status_name(si), fe_status_name(sd));
        CHECK_MSG(strstr(fe_last_error(), words[i]) != NULL, "%s: message '%s' lacks '%s'",
                  files[i], fe_last_error(), words[i]);
    }
    NOTE("arithmetic (SOF9, SOF10), CMYK, 12-bit, lossless, hierarchical");
}

FE_TEST(jpeg_malformed_exif_is_ignored) {
    /* bad Exif must never fail a decode nor be read out of bounds: orientation stays 1 */
    size_t n;
    uint8_t *base = fe_t_read_file(GOLD "orient_6.jpg", &n);
    CHECK(base != NULL);
    /* layout from the generator: SOI, APP1 (len at 4..5), "Exif\0\0" at 6, TIFF at 12 */
    CHECK(base[2] == 0xFF && base[3] == 0xE1 && memcmp(base + 6, "Exif", 4) == 0);
    size_t tiff = 12;
    struct { const char *name; size_t off; uint8_t v; } cases[] = {
        {"IFD offset past the end", tiff + 7, 0xF0},
        {"IFD offset 0", tiff + 7, 0x00},
        {"entry count 0xFFFF", tiff + 8, 0xFF},
        {"bad byte-order mark", tiff + 0, 'X'},
        {"bad TIFF magic", tiff + 3, 43},
        {"orientation type LONG", tiff + 10 + 12 + 3, 4},
        {"orientation value 9", tiff + 10 + 12 + 9, 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *d = malloc(n);
        memcpy(d, base, n);
        d[cases[i].off] = cases[i].v;
        fe_image *img;
        fe_image_header h;
        fe_status si = fe_image_info(d, n, &h), sd = fe_image_decode(d, n, &img);
        free(d);
        CHECK_MSG(si == FE_OK && sd == FE_OK, "%s: info %s decode %s", cases[i].name,
                  fe_status_name(si), fe_status_name(sd));
        int upright = img->width == 15 && img->height == 9 && h.width == 15;
        fe_image_free(img);
        CHECK_MSG(upright, "%s: orientation was applied", cases[i].name);
    }
    /* control: the unmodified file is rotated */
    fe_image_header h;
    CHECK_OK(fe_image_info(base, n, &h));
    CHECK(h.width == 9 && h.height == 15);
    /* APP1 shorter than its TIFF header */
    uint8_t *d = malloc(n);
    memcpy(d, base, n);
    free(base);
    CHECK(d[5] > 20);
    /* shrink the APP1 to "Exif\0\0" + 4 bytes (bytes 4..15), the rest becomes a COM segment */
    size_t app1_len = (size_t)d[4] << 8 | d[5];
    d[4] = 0; d[5] = 12;
    d[16] = 0xFF; d[17] = 0xFE;
    d[18] = (uint8_t)((app1_len - 14) >> 8); d[19] = (uint8_t)(app1_len - 14);
    fe_image *img;
    fe_status st = fe_image_decode(d, n, &img);
    free(d);
    CHECK_MSG(st == FE_OK, "short Exif: %s (%s)", fe_status_name(st), fe_last_error());
    CHECK(img->width == 15);
    fe_image_free(img);
    NOTE("7 malformed IFDs and a short APP1: decoded upright");
}

FE_TEST(jpeg_info_reads_only_headers) {
    size_t n;
    uint8_t *data = fe_t_read_file(GOLD "s420_48x32.jpg", &n);
    CHECK(data != NULL);
    size_t sos = 2;
    while (sos + 1 < n && !(data[sos] == 0xFF && data[sos + 1] == 0xDA)) sos++;
    size_t hdr_end = sos + 2 + ((size_t)data[sos + 2] << 8 | data[sos + 3]);
    fe_image_header h;
    CHECK_OK(fe_image_info(data, hdr_end, &h));
    CHECK(h.width == 48 && h.height == 32 && h.channels == 3 && h.format == FE_IMAGE_JPEG);
    fe_image *img;
    CHECK_STATUS(fe_image_decode(data, hdr_end, &img), FE_E_TRUNCATED);
    CHECK_STATUS(fe_image_info(data, sos, &h), FE_E_TRUNCATED);
    free(data);
    NOTE("headers up to SOS suffice for info; decode of the same bytes is FE_E_TRUNCATED");
}

/* ---- LFW ------------------------------------------------------------------------------ */

typedef struct path_list { char **v; size_t n, cap; } path_list;

static void list_jpegs(const char *dir, path_list *l) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t k = strlen(e->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            list_jpegs(p, l);
        } else if (k > 4 && strcmp(e->d_name + k - 4, ".jpg") == 0) {
            if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 1024;
                l->v = realloc(l->v, l->cap * sizeof *l->v);
            }
            l->v[l->n++] = strdup(p);
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted LFW paths, or NULL (test skipped) when ../shared/data/lfw is absent. */
static int lfw_list(fe_test *t, path_list *l) {
    const char *root = fe_t_need_shared(t, "data/lfw/images");
    if (!root) return 0;
    char rootbuf[4096];
    snprintf(rootbuf, sizeof rootbuf, "%s", root);
    memset(l, 0, sizeof *l);
    list_jpegs(rootbuf, l);
    qsort(l->v, l->n, sizeof *l->v, cmp_str);
    return 1;
}

static void lfw_free(path_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

FE_TEST(jpeg_lfw_all_decode) {
    path_list l;
    if (!lfw_list(t, &l)) return;
    /* under ASan every 4th image is decoded (the full set is ~4x slower); all otherwise */
    size_t stride = fe_t_sanitized() ? 4 : 1, decoded = 0, failed = 0;
    char first_fail[600] = "";
    double secs = 0;
    for (size_t i = 0; i < l.n; i += stride) {
        size_t n;
        void *data = fe_t_read_file(l.v[i], &n);
        fe_image *img = NULL;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        fe_status st = data ? fe_image_decode(data, n, &img) : FE_E_IO;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        free(data);
        fe_image_free(img);
        decoded++;
        if (st != FE_OK && !failed++)
            snprintf(first_fail, sizeof first_fail, "%s: %s", l.v[i], fe_last_error());
    }
    size_t total = l.n;
    lfw_free(&l);
    CHECK_MSG(failed == 0, "%zu of %zu LFW images failed; first %s", failed, decoded, first_fail);
    CHECK_MSG(total == 9525, "expected 9525 LFW images, found %zu", total);
    NOTE("%zu LFW images decoded%s in %.2f s (%.0f us each)", decoded,
         stride > 1 ? " (every 4th: sanitizer build)" : "", secs, 1e6 * secs / (double)decoded);
}

FE_TEST(jpeg_lfw_sample_matches_djpeg) {
    char line[256];
    if (fe_t_run(line, sizeof line, "command -v djpeg") != 0)
        SKIP("djpeg (libjpeg-turbo-progs) is not installed: no reference decoder to compare with");
    path_list l;
    if (!lfw_list(t, &l)) return;
    int have_jpegtran = fe_t_run(line, sizeof line, "command -v jpegtran") == 0;
    size_t sampled = 0, transcoded = 0;
    int worst = 0;
    double worst_mean = 0;
    char out[4200], prog[4200];
    snprintf(out, sizeof out, "%s/djpeg.ppm", fe_t_tmpdir());
    snprintf(prog, sizeof prog, "%s/prog.jpg", fe_t_tmpdir());
    for (size_t i = 0; i < l.n; i += 50) {
        /* the file itself, then a lossless jpegtran transcode to progressive with restarts */
        for (int variant = 0; variant < 1 + have_jpegtran; variant++) {
            const char *src = l.v[i];
            if (variant == 1) {
                if (fe_t_run(NULL, 0, "jpegtran -progressive -restart 2B -outfile '%s' '%s'", prog, src) != 0)
                    FAIL("jpegtran failed on %s", src);
                src = prog;
            }
            if (fe_t_run(NULL, 0, "djpeg -outfile '%s' '%s'", out, src) != 0) FAIL("djpeg failed on %s", src);
            fe_image *a, *b;
            CHECK_OK(fe_image_load(src, &a));
            CHECK_OK(fe_image_load(out, &b));
            diff_stats s;
            int shape = image_diff(a, b, &s);
            fe_image_free(a);
            fe_image_free(b);
            CHECK_MSG(shape == 0 && within_bounds(&s), "%s%s: max %d mean %.3f", l.v[i],
                      variant ? " (progressive transcode)" : "", s.max, s.mean);
            if (s.max > worst) worst = s.max;
            if (s.mean > worst_mean) worst_mean = s.mean;
            if (variant) transcoded++;
            else sampled++;
        }
    }
    lfw_free(&l);
    CHECK(sampled > 0);
    NOTE("%zu files (every 50th) + %zu progressive transcodes%s vs djpeg: worst max %d, worst mean %.4f",
         sampled, transcoded, have_jpegtran ? "" : " (jpegtran absent)", worst, worst_mean);
}
