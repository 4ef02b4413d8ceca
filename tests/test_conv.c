/*
 * test_conv.c — convolution (implicit im2col + GEMM + epilogue) against a direct 7-loop
 * convolution for every conv shape of the network and TF's padding corner cases; the pools
 * against direct loops; TF 'same'/'valid' geometry.
 *
 * Inputs and weights are multiples of 1/64, so every conv sum is exact in fp32 for any
 * summation order (|sum| * 4096 < 2^24 for these K): the GEMM must then equal the direct
 * loop *bit for bit*, epilogue included (same float ops), on both kernels. A random-float
 * run checks a rigorous error bound instead. Each comparison has a negative control.
 */
#include "test.h"
#include "net.h"

#include <string.h>

static uint32_t rs = 99u;
static uint32_t rnd(void) {
    rs ^= rs << 13;
    rs ^= rs >> 17;
    rs ^= rs << 5;
    return rs;
}
static float dyadic(void) { return (float)((int)(rnd() % 129u) - 64) / 64.0f; }
static float uniform(void) { return (float)((double)(rnd() >> 8) / 16777216.0 * 2.0 - 1.0); }

/* A padded NHWC buffer: border `pad`, every float outside the view starts as `fill`. */
typedef struct {
    float   *buf;
    size_t   len;
    fe__fmap m;
} pmap;

static int pmap_init(pmap *p, size_t n, size_t h, size_t w, size_t c, size_t pad, float fill) {
    size_t hp = h + 2 * pad, wp = w + 2 * pad;
    p->len = n * hp * wp * c;
    p->buf = malloc((p->len ? p->len : 1) * sizeof(float));
    if (!p->buf) return 0;
    for (size_t i = 0; i < p->len; i++) p->buf[i] = fill;
    p->m.n = n; p->m.h = h; p->m.w = w; p->m.c = c; p->m.pad = pad;
    p->m.row_stride = wp * c;
    p->m.img_stride = hp * wp * c;
    p->m.data = p->buf + pad * p->m.row_stride + pad * c;
    return 1;
}
static float *at(const fe__fmap *m, size_t img, size_t y, size_t x) {
    return m->data + img * m->img_stride + y * m->row_stride + x * m->c;
}
static void pmap_fill(pmap *p, int exact) {
    for (size_t i = 0; i < p->m.n; i++)
        for (size_t y = 0; y < p->m.h; y++)
            for (size_t x = 0; x < p->m.w; x++)
                for (size_t c = 0; c < p->m.c; c++) at(&p->m, i, y, x)[c] = exact ? dyadic() : uniform();
}

typedef struct {
    const char *name;
    size_t n, h, w, cin, k, stride, cout;
    int same;
} shape;

/* every conv of FaceRecognitionNet (faceres.md §4), then TF padding corner cases */
static const shape net_shapes[] = {
    {"stem 7x7/2 valid", 1, 150, 150, 3, 7, 2, 32, 0},
    {"conv32 3x3 same", 1, 35, 35, 32, 3, 1, 32, 1},
    {"conv64_down.conv1 3x3/2 valid", 1, 35, 35, 32, 3, 2, 64, 0},
    {"conv64 3x3 same", 1, 17, 17, 64, 3, 1, 64, 1},
    {"conv128_down.conv1 3x3/2 valid", 1, 17, 17, 64, 3, 2, 128, 0},
    {"conv128 3x3 same", 1, 8, 8, 128, 3, 1, 128, 1},
    {"conv256_down.conv1 3x3/2 valid", 1, 8, 8, 128, 3, 2, 256, 0},
    {"conv256_down.conv2 3x3 same on 3x3", 1, 3, 3, 256, 3, 1, 256, 1},
    {"conv256 3x3 same", 1, 4, 4, 256, 3, 1, 256, 1},
    {"conv256_down_out.conv1 3x3/2 valid", 1, 4, 4, 256, 3, 2, 256, 0},
    {"conv256_down_out.conv2 3x3 same on 1x1", 1, 1, 1, 256, 3, 1, 256, 1},
    {"batch 3 conv128 same", 3, 8, 8, 128, 3, 1, 128, 1},
    {"batch 5 1x1 same", 5, 1, 1, 64, 3, 1, 32, 1},
    {"batch 2 3x3/2 valid 4x4", 2, 4, 4, 32, 3, 2, 48, 0},
    {"same stride 2 even (pad 0/1)", 2, 6, 6, 8, 3, 2, 16, 1},
    {"same stride 2 odd (pad 1/1)", 1, 7, 5, 8, 3, 2, 16, 1},
    {"same 5x5 on 2x3", 2, 2, 3, 5, 5, 1, 16, 1},
    {"valid 2x2 non-square", 1, 9, 4, 7, 2, 1, 16, 0},
};

/* Direct 7-loop convolution + the reference epilogue in float; also an error scale. */
static void direct_conv(const shape *s, const fe__fmap *in, const float *w, const float *bias,
                        const float *scale, const float *shift, const fe__fmap *res, int relu,
                        const fe__fmap *out_ref, fe__fmap *err_scale) {
    size_t pt, pl;
    size_t ho = fe__conv_out_dim(s->h, s->k, s->stride, s->same, &pt, NULL);
    size_t wo = fe__conv_out_dim(s->w, s->k, s->stride, s->same, &pl, NULL);
    for (size_t img = 0; img < s->n; img++)                       /* 1 */
        for (size_t oy = 0; oy < ho; oy++)                         /* 2 */
            for (size_t ox = 0; ox < wo; ox++)                     /* 3 */
                for (size_t co = 0; co < s->cout; co++) {          /* 4 */
                    double sum = 0, asum = 0;
                    for (size_t ky = 0; ky < s->k; ky++)           /* 5 */
                        for (size_t kx = 0; kx < s->k; kx++)       /* 6 */
                            for (size_t ci = 0; ci < s->cin; ci++) {   /* 7 */
                                long iy = (long)(oy * s->stride + ky) - (long)pt;
                                long ix = (long)(ox * s->stride + kx) - (long)pl;
                                if (iy < 0 || ix < 0 || iy >= (long)s->h || ix >= (long)s->w) continue;
                                double p = (double)at(in, img, (size_t)iy, (size_t)ix)[ci] *
                                           w[((ky * s->k + kx) * s->cin + ci) * s->cout + co];
                                sum += p;
                                asum += fabs(p);
                            }
                    float v = (float)sum + bias[co];
                    v = v * scale[co];
                    v = v + shift[co];
                    float r = res ? at(res, img, oy, ox)[co] : 0.0f;
                    if (res) v = v + r;
                    if (relu && v < 0.0f) v = 0.0f;
                    at(out_ref, img, oy, ox)[co] = v;
                    /* |error| <= |s|*(K+2)u*sum|xw| + 4u*(|(S+b)s| + |t| + |r|), u = 2^-24 */
                    double K = (double)(s->k * s->k * s->cin);
                    at(err_scale, img, oy, ox)[co] = (float)(
                        fabs(scale[co]) * (K + 2) * 0x1p-24 * asum +
                        4 * 0x1p-24 * (fabs((sum + bias[co]) * scale[co]) + fabs(shift[co]) + fabs(r)) +
                        1e-30);
                }
}

/* Compares got with want (exact, or within err_scale); counts bad cells, also checks that the
 * border of the output buffer was not written. Returns bad count; worst ratio in *worst. */
static size_t compare(const pmap *got, const fe__fmap *want, const fe__fmap *err, int exact,
                      double *worst) {
    size_t bad = 0, seen = 0;
    *worst = 0;
    const fe__fmap *g = &got->m;
    for (size_t img = 0; img < g->n; img++)
        for (size_t y = 0; y < g->h; y++)
            for (size_t x = 0; x < g->w; x++)
                for (size_t c = 0; c < g->c; c++) {
                    float a = at(g, img, y, x)[c], b = at(want, img, y, x)[c];
                    double d = fabs((double)a - (double)b);
                    double tol = exact ? 0 : (double)at(err, img, y, x)[c];
                    if (!(d <= tol)) bad++;
                    double ratio = tol > 0 ? d / tol : (d > 0 ? 1e30 : 0);
                    if (ratio > *worst || ratio != ratio) *worst = ratio;
                    seen++;
                }
    /* border and anything outside the view keeps its -7 fill */
    size_t outside = 0;
    for (size_t i = 0; i < got->len; i++) if (got->buf[i] == -7.0f) outside++;
    if (outside != got->len - seen) bad++;
    return bad;
}

static int run_shape(fe_test *t, const fe__gemm_kernel *kern, const shape *s, int exact,
                     double *worst_out) {
    size_t ho = fe__conv_out_dim(s->h, s->k, s->stride, s->same, NULL, NULL);
    size_t wo = fe__conv_out_dim(s->w, s->k, s->stride, s->same, NULL, NULL);
    size_t K = s->k * s->k * s->cin;
    pmap in, out, ref, err, res;
    float *w = malloc(K * s->cout * sizeof(float));
    float *vec = malloc(3 * s->cout * sizeof(float));
    int ok = w && vec && pmap_init(&in, s->n, s->h, s->w, s->cin, s->k / 2 + 1, 0.0f) &&
             pmap_init(&out, s->n, ho, wo, s->cout, 1, -7.0f) &&
             pmap_init(&ref, s->n, ho, wo, s->cout, 0, 0.0f) &&
             pmap_init(&err, s->n, ho, wo, s->cout, 0, 0.0f) &&
             pmap_init(&res, s->n, ho, wo, s->cout, 0, 0.0f);
    if (!ok) { fe_t_fail(t, __FILE__, __LINE__, "out of memory"); return 0; }
    pmap_fill(&in, exact);
    pmap_fill(&res, exact);
    for (size_t i = 0; i < K * s->cout; i++) w[i] = exact ? dyadic() : uniform() * 0.1f;
    float *bias = vec, *scale = vec + s->cout, *shift = vec + 2 * s->cout;
    for (size_t i = 0; i < s->cout; i++) {
        bias[i] = exact ? dyadic() / 64 : uniform() * 1e-4f;
        scale[i] = exact ? 2.0f + fabsf(dyadic()) * 16 : 2.0f + 20.0f * fabsf(uniform());
        shift[i] = exact ? dyadic() * 4 : uniform() * 6.0f;
    }
    fe__conv cv;
    fe_status st = fe__conv_init(&cv, s->k, s->k, s->stride, s->cin, s->cout, s->same, w, bias,
                                 scale, shift);
    int good = st == FE_OK;
    if (!good) fe_t_fail(t, __FILE__, __LINE__, "%s: conv_init %s", s->name, fe_status_name(st));
    *worst_out = 0;
    for (int variant = 0; good && variant < 3; variant++) {
        int relu = variant >= 1, use_res = variant == 2;
        for (size_t i = 0; i < out.len; i++) out.buf[i] = -7.0f;
        fe__conv_forward(kern, &cv, &in.m, &out.m, use_res ? &res.m : NULL, relu);
        direct_conv(s, &in.m, w, bias, scale, shift, use_res ? &res.m : NULL, relu, &ref.m, &err.m);
        double worst;
        size_t bad = compare(&out, &ref.m, &err.m, exact, &worst);
        if (worst > *worst_out) *worst_out = worst;
        /* negative control: one output off by 1e-3 must be caught */
        float *probe = at(&out.m, s->n - 1, ho / 2, wo / 2) + s->cout / 2;
        *probe += 1e-3f + 10.0f * at(&err.m, s->n - 1, ho / 2, wo / 2)[s->cout / 2];
        double w2;
        size_t bad_ctl = compare(&out, &ref.m, &err.m, exact, &w2);
        if (bad || bad_ctl <= bad) {
            fe_t_fail(t, __FILE__, __LINE__, "%s [%s, %s, variant %d]: %zu bad (worst %.3g), control %zu",
                      s->name, kern->name, exact ? "exact" : "bound", variant, bad, worst, bad_ctl);
            good = 0;
        }
    }
    fe__conv_free(&cv);
    free(w); free(vec); free(in.buf); free(out.buf); free(ref.buf); free(err.buf); free(res.buf);
    return good;
}

static int kernels(const fe__gemm_kernel **ks) {
    int n = 0;
    ks[n++] = fe__gemm_kernel_ref();
    if (fe__gemm_kernel_avx2()) ks[n++] = fe__gemm_kernel_avx2();
    return n;
}

FE_TEST(conv_every_net_shape_bit_exact_both_kernels) {
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    size_t n = 0;
    for (int ki = 0; ki < nk; ki++)
        for (size_t i = 0; i < sizeof net_shapes / sizeof net_shapes[0]; i++) {
            double worst;
            if (!run_shape(t, ks[ki], &net_shapes[i], 1, &worst)) return;
            n++;
        }
    NOTE("%zu shape x kernel runs, each plain/relu/residual+relu, bit-exact on dyadic data", n);
}

FE_TEST(conv_random_floats_within_bound) {
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    double worst_all = 0;
    for (int ki = 0; ki < nk; ki++)
        for (size_t i = 1; i < sizeof net_shapes / sizeof net_shapes[0]; i++) {
            double worst;
            if (!run_shape(t, ks[ki], &net_shapes[i], 0, &worst)) return;
            if (worst > worst_all) worst_all = worst;
        }
    NOTE("worst error %.4f of the rigorous fp32 bound", worst_all);
}

FE_TEST(conv_tf_geometry) {
    size_t pb, pa;
    /* faceres.md §4 sizes */
    CHECK(fe__conv_out_dim(150, 7, 2, 0, &pb, &pa) == 72 && pb == 0 && pa == 0);
    CHECK(fe__conv_out_dim(35, 3, 2, 0, NULL, NULL) == 17);
    CHECK(fe__conv_out_dim(17, 3, 2, 0, NULL, NULL) == 8);
    CHECK(fe__conv_out_dim(8, 3, 2, 0, NULL, NULL) == 3);
    CHECK(fe__conv_out_dim(4, 3, 2, 0, NULL, NULL) == 1);
    CHECK(fe__conv_out_dim(2, 3, 1, 0, NULL, NULL) == 0);
    CHECK(fe__conv_out_dim(35, 3, 1, 1, &pb, &pa) == 35 && pb == 1 && pa == 1);
    CHECK(fe__conv_out_dim(1, 3, 1, 1, &pb, &pa) == 1 && pb == 1 && pa == 1);
    /* TF 'same' puts the odd pad after: n=6 k=3 s=2 -> out 3, total 1 -> 0 before, 1 after */
    CHECK(fe__conv_out_dim(6, 3, 2, 1, &pb, &pa) == 3 && pb == 0 && pa == 1);
    CHECK(fe__conv_out_dim(7, 3, 2, 1, &pb, &pa) == 4 && pb == 1 && pa == 1);
    CHECK(fe__conv_out_dim(3, 5, 1, 1, &pb, &pa) == 3 && pb == 2 && pa == 2);
    size_t lo, hi;
    fe__conv_tap_range(0, 4, 3, 1, 1, &lo, &hi);   /* top row of a same conv: taps 1..2 */
    CHECK(lo == 1 && hi == 2);
    fe__conv_tap_range(3, 4, 3, 1, 1, &lo, &hi);   /* bottom row: taps 0..1 */
    CHECK(lo == 0 && hi == 1);
    fe__conv_tap_range(0, 1, 3, 1, 1, &lo, &hi);   /* 1x1 map: only the centre */
    CHECK(lo == 1 && hi == 1);
    fe__conv_tap_range(1, 8, 3, 2, 0, &lo, &hi);   /* valid 8 -> 3: everything */
    CHECK(lo == 0 && hi == 2);
}

FE_TEST(conv_im2col_matches_direct_gather) {
    /* the explicit im2col (the matrix the GEMM reads implicitly) against its definition */
    shape s = {"im2col", 1, 5, 6, 3, 3, 2, 16, 1};
    pmap in;
    CHECK(pmap_init(&in, 1, s.h, s.w, s.cin, 2, 0.0f));
    pmap_fill(&in, 1);
    fe__conv cv = {3, 3, 2, 3, 16, 1, NULL, 0, NULL, NULL, NULL};
    size_t pt, pl;
    size_t ho = fe__conv_out_dim(s.h, 3, 2, 1, &pt, NULL), wo = fe__conv_out_dim(s.w, 3, 2, 1, &pl, NULL);
    size_t K = 27;
    float *col = malloc(ho * wo * K * sizeof(float));
    CHECK(col != NULL);
    fe__im2col(&cv, &in.m, 0, col);
    size_t bad = 0, zeros = 0;
    for (size_t oy = 0; oy < ho; oy++)
        for (size_t ox = 0; ox < wo; ox++)
            for (size_t ky = 0; ky < 3; ky++)
                for (size_t kx = 0; kx < 3; kx++)
                    for (size_t ci = 0; ci < 3; ci++) {
                        long iy = (long)(oy * 2 + ky) - (long)pt, ix = (long)(ox * 2 + kx) - (long)pl;
                        int inside = iy >= 0 && ix >= 0 && iy < (long)s.h && ix < (long)s.w;
                        float want = inside ? at(&in.m, 0, (size_t)iy, (size_t)ix)[ci] : 0.0f;
                        if (!inside) zeros++;
                        if (col[(oy * wo + ox) * K + (ky * 3 + kx) * 3 + ci] != want) bad++;
                    }
    free(col);
    free(in.buf);
    CHECK_MSG(bad == 0, "%zu wrong", bad);
    CHECK(zeros > 0);   /* the case does exercise the padding */
}

FE_TEST(conv_init_rejects_unsupported) {
    fe__conv cv;
    float w[9] = {0}, v[24] = {0};
    CHECK_STATUS(fe__conv_init(&cv, 3, 3, 1, 1, 24, 1, w, v, v, v), FE_E_UNSUPPORTED);
    CHECK(cv.bp == NULL);
    fe__alloc_fail_after(0);
    fe_status st = fe__conv_init(&cv, 1, 1, 1, 1, 16, 0, w, v, v, v);
    fe__alloc_fail_after(-1);
    CHECK_STATUS(st, FE_E_NOMEM);
    fe__alloc_fail_after(1);
    st = fe__conv_init(&cv, 1, 1, 1, 1, 16, 0, w, v, v, v);
    fe__alloc_fail_after(-1);
    CHECK_STATUS(st, FE_E_NOMEM);
}

FE_TEST(pool_max_avg_mean_vs_direct) {
    /* maxpool 72->35 and odd/even avgpool sizes (35->17 drops the last row/col, 8->4) */
    pmap in, out;
    CHECK(pmap_init(&in, 2, 72, 72, 32, 0, 0.0f));
    pmap_fill(&in, 0);
    at(&in.m, 0, 0, 0)[0] = NAN;   /* NaN never wins a max */
    CHECK(pmap_init(&out, 2, 35, 35, 32, 1, -7.0f));
    fe__maxpool3x3s2(&in.m, &out.m);
    size_t bad = 0;
    for (size_t i = 0; i < 2; i++)
        for (size_t y = 0; y < 35; y++)
            for (size_t x = 0; x < 35; x++)
                for (size_t c = 0; c < 32; c++) {
                    float m = -INFINITY;
                    for (size_t ky = 0; ky < 3; ky++)
                        for (size_t kx = 0; kx < 3; kx++) {
                            float v = at(&in.m, i, 2 * y + ky, 2 * x + kx)[c];
                            if (v > m) m = v;
                        }
                    if (at(&out.m, i, y, x)[c] != m) bad++;
                }
    CHECK_MSG(bad == 0, "maxpool: %zu wrong", bad);
    CHECK(at(&out.m, 0, 0, 0)[0] == at(&out.m, 0, 0, 0)[0]);   /* not NaN */
    free(in.buf);
    free(out.buf);

    static const size_t sizes[][2] = {{35, 17}, {17, 8}, {8, 4}, {4, 2}, {3, 1}};
    for (size_t si = 0; si < 5; si++) {
        size_t h = sizes[si][0], ho = sizes[si][1];
        CHECK(fe__conv_out_dim(h, 2, 2, 0, NULL, NULL) == ho);
        CHECK(pmap_init(&in, 2, h, h, 8, 1, 0.0f));
        pmap_fill(&in, 0);
        CHECK(pmap_init(&out, 2, ho, ho, 16, 1, -7.0f));
        fe__avgpool2x2s2_zeropad(&in.m, &out.m);
        bad = 0;
        for (size_t i = 0; i < 2; i++)
            for (size_t y = 0; y < ho; y++)
                for (size_t x = 0; x < ho; x++)
                    for (size_t c = 0; c < 16; c++) {
                        float want = 0.0f;
                        if (c < 8)
                            want = (float)(((double)at(&in.m, i, 2 * y, 2 * x)[c] +
                                            at(&in.m, i, 2 * y, 2 * x + 1)[c] +
                                            at(&in.m, i, 2 * y + 1, 2 * x)[c] +
                                            at(&in.m, i, 2 * y + 1, 2 * x + 1)[c]) / 4.0);
                        if (at(&out.m, i, y, x)[c] != want) bad++;
                    }
        size_t border = 0;
        for (size_t i = 0; i < out.len; i++) border += out.buf[i] == -7.0f;
        free(in.buf);
        free(out.buf);
        CHECK_MSG(bad == 0, "avgpool %zu->%zu: %zu wrong", h, ho, bad);
        CHECK(border == 2 * ((ho + 2) * (ho + 2) - ho * ho) * 16);
    }

    CHECK(pmap_init(&in, 3, 2, 2, 256, 1, 0.0f));
    pmap_fill(&in, 0);
    float g[3 * 256];
    fe__global_mean(&in.m, g);
    for (size_t i = 0; i < 3; i++)
        for (size_t c = 0; c < 256; c++) {
            double s = 0;
            for (size_t y = 0; y < 2; y++)
                for (size_t x = 0; x < 2; x++) s += at(&in.m, i, y, x)[c];
            CHECK(g[i * 256 + c] == (float)(s / 4));
        }
    free(in.buf);
}

/* ---- residual blocks -------------------------------------------------------------------- */

typedef struct {
    fe__conv cv;
    float   *w, *v;   /* hwio, then bias | scale | shift */
} rconv;

static int rconv_init(rconv *r, size_t stride, size_t cin, size_t cout, int same) {
    size_t K = 9 * cin;
    r->w = malloc(K * cout * sizeof(float));
    r->v = malloc(3 * cout * sizeof(float));
    if (!r->w || !r->v) return 0;
    for (size_t i = 0; i < K * cout; i++) r->w[i] = dyadic() / 4;
    for (size_t i = 0; i < cout; i++) {
        r->v[i] = dyadic() / 64;
        r->v[cout + i] = 2.0f + fabsf(dyadic()) * 4;
        r->v[2 * cout + i] = dyadic() * 2;
    }
    return fe__conv_init(&r->cv, 3, 3, stride, cin, cout, same, r->w, r->v, r->v + cout,
                         r->v + 2 * cout) == FE_OK;
}
static void rconv_free(rconv *r) {
    fe__conv_free(&r->cv);
    free(r->w);
    free(r->v);
}

FE_TEST(residual_down_shortcut_rule_odd_even) {
    /* y = relu(shortcut + main): shortcut = avgpool2x2/2 valid with channels [C, Co) zero;
     * main = conv2(relu-conv1/2 valid(x)), zero row at the bottom / zero column at the
     * right when one smaller. The reference here builds every piece unpadded and in the
     * spec's order; the fused, in-place, padded version must match it (to 1e-5 relative:
     * the second conv sums rounded floats, so summation order shows at 1e-7). */
    static const size_t cases[][4] = {   /* n, H, C, Co */
        {1, 35, 8, 16}, {2, 17, 16, 32}, {1, 8, 16, 32}, {2, 4, 32, 32}, {1, 9, 16, 16},
        {2, 6, 16, 32}, {1, 5, 16, 16}};
    const fe__gemm_kernel *ks[2];
    int nk = kernels(ks);
    size_t padded_cases = 0;
    for (int ki = 0; ki < nk; ki++)
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            size_t n = cases[ci][0], H = cases[ci][1], C = cases[ci][2], Co = cases[ci][3];
            size_t Ho = (H - 3) / 2 + 1, Hp = (H - 2) / 2 + 1;
            rconv c1, c2;
            CHECK(rconv_init(&c1, 2, C, Co, 0) && rconv_init(&c2, 1, Co, Co, 1));
            pmap x, tm, y, m1, m2, err;
            CHECK(pmap_init(&x, n, H, H, C, 1, 0.0f) && pmap_init(&tm, n, Ho, Ho, Co, 1, 0.0f) &&
                  pmap_init(&y, n, Hp, Hp, Co, 1, 0.0f) && pmap_init(&m1, n, Ho, Ho, Co, 0, 0.0f) &&
                  pmap_init(&m2, n, Ho, Ho, Co, 0, 0.0f) && pmap_init(&err, n, Ho, Ho, Co, 0, 0.0f));
            pmap_fill(&x, 1);
            fe__residual_down(ks[ki], &c1.cv, &c2.cv, &x.m, &tm.m, &y.m);
            /* reference: main branch unpadded */
            shape s1 = {"c1", n, H, H, C, 3, 2, Co, 0}, s2 = {"c2", n, Ho, Ho, Co, 3, 1, Co, 1};
            direct_conv(&s1, &x.m, c1.w, c1.v, c1.v + Co, c1.v + 2 * Co, NULL, 1, &m1.m, &err.m);
            direct_conv(&s2, &m1.m, c2.w, c2.v, c2.v + Co, c2.v + 2 * Co, NULL, 0, &m2.m, &err.m);
            size_t bad = 0, alt_differs = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t yy = 0; yy < Hp; yy++)
                    for (size_t xx = 0; xx < Hp; xx++)
                        for (size_t c = 0; c < Co; c++) {
                            float sc = 0.0f;   /* shortcut: pooled, or a zero channel */
                            if (c < C)
                                sc = (float)(((double)at(&x.m, i, 2 * yy, 2 * xx)[c] +
                                              at(&x.m, i, 2 * yy, 2 * xx + 1)[c] +
                                              at(&x.m, i, 2 * yy + 1, 2 * xx)[c] +
                                              at(&x.m, i, 2 * yy + 1, 2 * xx + 1)[c]) / 4.0);
                            /* main: zero row at the bottom, zero column at the right */
                            float mn = (yy < Ho && xx < Ho) ? at(&m2.m, i, yy, xx)[c] : 0.0f;
                            float want = sc + mn;
                            if (want < 0.0f) want = 0.0f;
                            /* the second conv sums rounded floats: order-dependent at 1e-7 */
                            float got = at(&y.m, i, yy, xx)[c];
                            if (!(fabsf(got - want) <= 1e-5f * (1.0f + fabsf(want)))) bad++;
                            /* negative control: the pad at the top-left instead */
                            float alt = sc + ((yy >= Hp - Ho && xx >= Hp - Ho)
                                                  ? at(&m2.m, i, yy - (Hp - Ho), xx - (Hp - Ho))[c]
                                                  : 0.0f);
                            if (alt < 0.0f) alt = 0.0f;
                            if (!(fabsf(got - alt) <= 1e-5f * (1.0f + fabsf(alt)))) alt_differs++;
                        }
            /* the zero border of y survives (the next conv reads it as padding) */
            size_t border = 0;
            for (size_t i = 0; i < y.len; i++) border += y.buf[i] != 0.0f;
            size_t inside = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t yy = 0; yy < Hp; yy++)
                    for (size_t xx = 0; xx < Hp; xx++)
                        for (size_t c = 0; c < Co; c++) inside += at(&y.m, i, yy, xx)[c] != 0.0f;
            rconv_free(&c1); rconv_free(&c2);
            free(x.buf); free(tm.buf); free(y.buf); free(m1.buf); free(m2.buf); free(err.buf);
            CHECK_MSG(bad == 0, "[%s] H=%zu C=%zu->%zu (main %zu, shortcut %zu): %zu cells differ",
                      ks[ki]->name, H, C, Co, Ho, Hp, bad);
            CHECK_MSG(border == inside, "[%s] H=%zu: the zero border was written", ks[ki]->name, H);
            CHECK_MSG(Ho == Hp || alt_differs > 0, "H=%zu: top-left padding not distinguished", H);
            padded_cases += Ho < Hp;
        }
    CHECK(padded_cases >= 4);
    NOTE("%zu cases, %zu with the bottom/right zero pad, within 1e-5", sizeof cases / sizeof cases[0] * (size_t)nk, padded_cases);
}
