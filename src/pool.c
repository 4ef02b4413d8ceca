/*
 * pool.c — maxPool 3x3/2 'valid', avgPool 2x2/2 'valid' with the residualDown channel
 * zero-pad, global mean, in-place ReLU; NHWC views (layers.h).
 *
 * Numerics follow tfjs's cpu kernels, which the fixtures come from: max keeps the first of
 * equal values and never picks NaN (v > max from -inf); avg and mean add in JS doubles and
 * round to float once. Loops over (image, row) are orphaned `omp for`.
 */
#include "layers.h"

#include <math.h>
#include <string.h>

/* max over three rows of three pixels, channels contiguous, as TF's cpu kernel:
 * m = -inf, then m = v > m ? v : m (NaN never wins). GCC's -O2 will not vectorise the
 * select, so with GNU C the channels go four at a time through vector extensions (SSE2 on
 * x86-64, NEON on arm64, plain scalar code elsewhere) with the same compare-and-select. */
#if defined(__GNUC__)
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
static inline v4f vsel_gt(v4f v, v4f m) {
    v4i gt = v > m;
    return (v4f)((gt & (v4i)v) | (~gt & (v4i)m));
}
static inline v4f vload(const float *p) {
    v4f x;
    memcpy(&x, p, sizeof x);
    return x;
}
#endif

static void max9(const float *restrict r0, const float *restrict r1, const float *restrict r2,
                 size_t C, float *restrict o) {
    size_t c = 0;
#if defined(__GNUC__)
    const v4f ninf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    for (; c + 4 <= C; c += 4) {
        v4f m = ninf;
        m = vsel_gt(vload(r0 + c), m);
        m = vsel_gt(vload(r0 + C + c), m);
        m = vsel_gt(vload(r0 + 2 * C + c), m);
        m = vsel_gt(vload(r1 + c), m);
        m = vsel_gt(vload(r1 + C + c), m);
        m = vsel_gt(vload(r1 + 2 * C + c), m);
        m = vsel_gt(vload(r2 + c), m);
        m = vsel_gt(vload(r2 + C + c), m);
        m = vsel_gt(vload(r2 + 2 * C + c), m);
        memcpy(o + c, &m, sizeof m);
    }
#endif
    for (; c < C; c++) {
        float m = -INFINITY, v;
        v = r0[c];         m = v > m ? v : m;
        v = r0[C + c];     m = v > m ? v : m;
        v = r0[2 * C + c]; m = v > m ? v : m;
        v = r1[c];         m = v > m ? v : m;
        v = r1[C + c];     m = v > m ? v : m;
        v = r1[2 * C + c]; m = v > m ? v : m;
        v = r2[c];         m = v > m ? v : m;
        v = r2[C + c];     m = v > m ? v : m;
        v = r2[2 * C + c]; m = v > m ? v : m;
        o[c] = m;
    }
}

void fe__maxpool3x3s2(const fe__fmap *in, const fe__fmap *out) {
    FE_ASSERT(in->h >= 3 && in->w >= 3 && out->c == in->c && out->n == in->n);
    FE_ASSERT(out->h == (in->h - 3) / 2 + 1 && out->w == (in->w - 3) / 2 + 1);
    const size_t C = in->c, rows = in->n * out->h;
#pragma omp for schedule(static)
    for (size_t t = 0; t < rows; t++) {
        size_t img = t / out->h, oy = t % out->h;
        const float *r0 = in->data + img * in->img_stride + 2 * oy * in->row_stride;
        for (size_t ox = 0; ox < out->w; ox++) {
            const float *p = r0 + 2 * ox * C;
            max9(p, p + in->row_stride, p + 2 * in->row_stride, C,
                 out->data + img * out->img_stride + oy * out->row_stride + ox * C);
        }
    }
}

void fe__avgpool2x2s2_zeropad(const fe__fmap *in, const fe__fmap *out) {
    FE_ASSERT(in->h >= 2 && in->w >= 2 && out->c >= in->c && out->n == in->n);
    FE_ASSERT(out->h == (in->h - 2) / 2 + 1 && out->w == (in->w - 2) / 2 + 1);
    const size_t C = in->c, rows = in->n * out->h;
#pragma omp for schedule(static)
    for (size_t t = 0; t < rows; t++) {
        size_t img = t / out->h, oy = t % out->h;
        for (size_t ox = 0; ox < out->w; ox++) {
            float *o = out->data + img * out->img_stride + oy * out->row_stride + ox * out->c;
            const float *p00 = in->data + img * in->img_stride + 2 * oy * in->row_stride +
                               2 * ox * C;
            const float *p10 = p00 + in->row_stride;
            for (size_t c = 0; c < C; c++) {
                /* window order (0,0) (0,1) (1,0) (1,1), summed in double, one rounding */
                double s = (double)p00[c] + (double)p00[C + c];
                s += (double)p10[c];
                s += (double)p10[C + c];
                o[c] = (float)(s / 4.0);
            }
            memset(o + C, 0, (out->c - C) * sizeof(float));
        }
    }
}

void fe__global_mean(const fe__fmap *in, float *out) {
    const size_t C = in->c;
#pragma omp for schedule(static)
    for (size_t img = 0; img < in->n; img++) {
        for (size_t c = 0; c < C; c++) {
            double s = 0;
            for (size_t y = 0; y < in->h; y++)
                for (size_t x = 0; x < in->w; x++)
                    s += (double)in->data[img * in->img_stride + y * in->row_stride + x * C + c];
            out[img * C + c] = (float)(s / (double)(in->h * in->w));
        }
    }
}

void fe__relu_inplace(const fe__fmap *m) {
#pragma omp for schedule(static)
    for (size_t img = 0; img < m->n; img++)
        for (size_t y = 0; y < m->h; y++) {
            float *p = m->data + img * m->img_stride + y * m->row_stride;
            for (size_t i = 0; i < m->w * m->c; i++)
                if (p[i] < 0.0f) p[i] = 0.0f;
        }
}
