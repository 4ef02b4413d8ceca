/*
 * net.c — FaceRecognitionNet's forward pass, exactly as ../shared/design/faceres.md:
 * (x - mean)/255 -> conv 7x7/2 valid + scale + ReLU -> maxPool 3x3/2 valid -> 14 residual
 * blocks (identity: relu(convNoRelu(conv(x)) + x); down: 3x3/2 valid main branch, avgPool
 * 2x2/2 shortcut with channels zero-padded to [C, 2C), main zero-padded by one row at the
 * bottom and one column at the right when one cell smaller) -> global mean -> fc (no bias).
 *
 * Buffers: NHWC, one-pixel zero border (layers.h), in one calloc'ed arena whose borders are
 * never written. The whole forward is one OpenMP parallel region; every step is an orphaned
 * `omp for` whose implicit barrier orders the steps, so there is one fork per batch.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE   /* madvise's MADV_HUGEPAGE (Linux) */
#include "net.h"
#include "net_schema.h"

#include <math.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

enum { B = FE_NET_BATCH, DESC = FE_DESC_DIM, G = 256 };

/* ---- weights ------------------------------------------------------------------------------ */

static const char *const block_names[14] = {
    "conv32_1", "conv32_2", "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3",
    "conv128_down", "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2",
    "conv256_down_out"};
static const int block_down[14] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1};

/* Dequantizes tensor `name` into a fresh buffer of exactly n floats. */
static fe_status load_f32(const fe__blob *blob, const char *name, size_t n, float **out) {
    *out = NULL;
    const fe__tensor *t = fe__blob_find(blob, name);
    if (!t) return fe__fail(FE_E_NOT_FOUND, "tensor '%s' is missing", name);
    float *v = fe__malloc(n * sizeof(float));
    if (!v) return fe__fail(FE_E_NOMEM, "cannot allocate %zu floats for '%s'", n, name);
    fe_status st = fe__tensor_to_f32(t, v, n);
    if (st != FE_OK) {
        fe__free(v);
        return st;
    }
    *out = v;
    return FE_OK;
}

typedef struct layer_def {
    char   prefix[40];   /* manifest prefix, e.g. "conv64_down/conv1" */
    size_t k, stride, cin, cout;
    int    same;
} layer_def;

/* The architecture (faceres.md §4): stem, then conv1/conv2 of the 14 blocks. */
static void layer_defs(layer_def d[FE_NET_N_CONV]) {
    layer_def stem = {"conv32_down", 7, 2, 3, 32, 0};
    d[0] = stem;
    size_t c = 32;
    for (int b = 0; b < 14; b++) {
        /* conv256_down_out keeps 256 channels; every other down block doubles them */
        size_t cout = block_down[b] && c < 256 ? 2 * c : c;
        layer_def *c1 = &d[1 + 2 * b], *c2 = &d[2 + 2 * b];
        snprintf(c1->prefix, sizeof c1->prefix, "%s/conv1", block_names[b]);
        c1->k = 3; c1->stride = block_down[b] ? 2 : 1; c1->cin = c; c1->cout = cout;
        c1->same = !block_down[b];
        snprintf(c2->prefix, sizeof c2->prefix, "%s/conv2", block_names[b]);
        c2->k = 3; c2->stride = 1; c2->cin = cout; c2->cout = cout; c2->same = 1;
        c = cout;
    }
}

static fe_status load_conv(fe__conv *cv, float *bp, const fe__blob *blob, const layer_def *d) {
    static const char *const parts[4] = {"conv/filters", "conv/bias", "scale/weights",
                                         "scale/biases"};
    float *v[4] = {NULL, NULL, NULL, NULL};
    fe_status st = FE_OK;
    for (int i = 0; i < 4 && st == FE_OK; i++) {
        char name[FE_BLOB_NAME_LEN + 16];
        snprintf(name, sizeof name, "%.39s/%s", d->prefix, parts[i]);
        st = load_f32(blob, name, i == 0 ? d->k * d->k * d->cin * d->cout : d->cout, &v[i]);
    }
    if (st == FE_OK)
        st = fe__conv_init_at(cv, bp, d->k, d->k, d->stride, d->cin, d->cout, d->same, v[0],
                              v[1], v[2], v[3]);
    for (int i = 0; i < 4; i++) fe__free(v[i]);
    return st;
}

/* All packed weights in one block aligned to 2 MiB and, on Linux, advised as transparent
 * huge pages: the late layers stream ~15 MB of weights per image, and with 4 KiB pages
 * (TLB misses, prefetchers stopping at page ends) that stream ran ~15% slower. A hint
 * only: where it is refused, ordinary pages work the same. */
enum { HUGE_PAGE = 2u << 20 };
static float *weights_alloc(size_t bytes, void **raw) {
    size_t total;
    if (!fe__add_size(bytes, HUGE_PAGE, &total)) return NULL;
    uint8_t *r = fe__malloc(total);
    if (!r) return NULL;
    uintptr_t a = ((uintptr_t)r + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise((void *)a, bytes, MADV_HUGEPAGE);
#endif
    *raw = r;
    return (float *)a;
}

fe_status fe__net_load(fe__net *net, const fe__blob *blob) {
    memset(net, 0, sizeof *net);
    fe_status st = fe__net_schema_check(blob);
    if (st != FE_OK) return st;
    layer_def d[FE_NET_N_CONV];
    layer_defs(d);
    size_t floats = 0, off[FE_NET_N_CONV];
    for (int i = 0; i < FE_NET_N_CONV; i++) {
        off[i] = floats;
        floats += fe__conv_packed_floats(d[i].k, d[i].k, d[i].cin, d[i].cout);  /* small */
    }
    float *w = weights_alloc(floats * sizeof(float), &net->weights_raw);
    if (!w) return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes of weights", floats * sizeof(float));
    for (int i = 0; i < FE_NET_N_CONV && st == FE_OK; i++)
        st = load_conv(&net->conv[i], w + off[i], blob, &d[i]);
    if (st == FE_OK) st = load_f32(blob, "fc", (size_t)G * DESC, &net->fc);
    /* faceres.md §2: subtract the RGB mean, then divide by 255, both in float (a true
     * division: *(1/255) rounds differently). A u8 has 256 values: tabulate them. */
    static const float mean[3] = {122.782f, 117.001f, 104.298f};
    for (int ch = 0; ch < 3; ch++)
        for (int v = 0; v < 256; v++) net->norm_lut[ch][v] = ((float)v - mean[ch]) / 255.0f;
    if (st != FE_OK) fe__net_free(net);
    return st;
}

void fe__net_free(fe__net *net) {
    if (!net) return;
    for (int i = 0; i < FE_NET_N_CONV; i++) fe__conv_free(&net->conv[i]);
    fe__free(net->weights_raw);
    fe__free(net->fc);
    memset(net, 0, sizeof *net);
}

/* ---- workspace ---------------------------------------------------------------------------- */

struct fe__net_ws {
    void    *arena;                     /* calloc'ed; pages of unused batch slots stay virtual */
    float   *input;                     /* 150x150x3 raw values for fe__faceapi_input         */
    struct p1 {                         /* one image, stem to conv64_3; one set per thread    */
        fe__fmap in150, s72;            /* normalized input, stem output (no border)          */
        fe__fmap a35[3], a17[3];        /* 35x35x32 and 17x17x64 ping-pong                    */
    } p1[FE_NET_P1_SETS];
    fe__fmap x17;                       /* batch: conv64_3 outputs                            */
    fe__fmap p8, q8, t8, t3, p4, q4, t4, t1, p2;   /* batch: the late stages                  */
    float    g[B * G];                  /* global means                                       */
    int      profile;
    double   prof_ns[FE_NET_N_PROF];
    float   *dump[FE_NET_N_PROF];       /* tests: copy of each step's output (image 0)      */
    double   t_last;
};

/* Defines a map of n images h x w x c with border pad at *cursor (or only sizes it). */
static void map_def(fe__fmap *m, float **cursor, size_t *total, size_t n, size_t h, size_t w,
                    size_t c, size_t pad) {
    size_t hp = h + 2 * pad, wp = w + 2 * pad;
    m->n = n; m->h = h; m->w = w; m->c = c; m->pad = pad;
    m->row_stride = wp * c;
    m->img_stride = hp * wp * c;
    size_t len = (n * m->img_stride + 15) / 16 * 16;   /* keep every buffer 64-byte aligned */
    if (*cursor) {
        m->data = *cursor + pad * m->row_stride + pad * c;
        *cursor += len;
    }
    *total += len;
}

static void ws_layout(fe__net_ws *ws, float *base, size_t *total) {
    float *cur = base;
    *total = 0;
    fe__fmap dummy = {0};
    map_def(&dummy, &cur, total, 1, 150, 150, 3, 0);
    ws->input = dummy.data;
    for (int s = 0; s < FE_NET_P1_SETS; s++) {
        struct p1 *q = &ws->p1[s];
        map_def(&q->in150, &cur, total, 1, 150, 150, 3, 0);
        map_def(&q->s72, &cur, total, 1, 72, 72, 32, 0);
        for (int i = 0; i < 3; i++) map_def(&q->a35[i], &cur, total, 1, 35, 35, 32, 1);
        for (int i = 0; i < 3; i++) map_def(&q->a17[i], &cur, total, 1, 17, 17, 64, 1);
    }
    map_def(&ws->x17, &cur, total, B, 17, 17, 64, 1);
    map_def(&ws->p8, &cur, total, B, 8, 8, 128, 1);
    map_def(&ws->q8, &cur, total, B, 8, 8, 128, 1);
    map_def(&ws->t8, &cur, total, B, 8, 8, 128, 1);
    map_def(&ws->t3, &cur, total, B, 3, 3, 256, 1);
    map_def(&ws->p4, &cur, total, B, 4, 4, 256, 1);
    map_def(&ws->q4, &cur, total, B, 4, 4, 256, 1);
    map_def(&ws->t4, &cur, total, B, 4, 4, 256, 1);
    map_def(&ws->t1, &cur, total, B, 1, 1, 256, 1);
    map_def(&ws->p2, &cur, total, B, 2, 2, 256, 1);
}

fe_status fe__net_ws_create(fe__net_ws **out) {
    *out = NULL;
    fe__net_ws *ws = fe__calloc(1, sizeof *ws);
    if (!ws) return fe__fail(FE_E_NOMEM, "cannot allocate a workspace");
    size_t total;
    ws_layout(ws, NULL, &total);
    /* calloc, not malloc+memset: the zero borders come free and untouched slots stay virtual */
    ws->arena = fe__calloc(total * sizeof(float) + FE_ALIGN, 1);
    if (!ws->arena) {
        fe__free(ws);
        return fe__fail(FE_E_NOMEM, "cannot allocate a %zu-byte workspace", total * sizeof(float));
    }
    uintptr_t a = ((uintptr_t)ws->arena + FE_ALIGN - 1) & ~(uintptr_t)(FE_ALIGN - 1);
    ws_layout(ws, (float *)a, &total);
    *out = ws;
    return FE_OK;
}

void fe__net_ws_free(fe__net_ws *ws) {
    if (!ws) return;
    fe__free(ws->arena);
    fe__free(ws);
}

float *fe__net_ws_input(fe__net_ws *ws) { return ws->input; }

void fe__net_ws_set_dump(fe__net_ws *ws, int step, float *dst) {
    if (step >= 0 && step < FE_NET_N_PROF) ws->dump[step] = dst;
}

void fe__net_ws_profile(fe__net_ws *ws, int enable) {
    ws->profile = enable;
    memset(ws->prof_ns, 0, sizeof ws->prof_ns);
}

const double *fe__net_ws_prof_ns(const fe__net_ws *ws) { return ws->prof_ns; }

const char *fe__net_prof_name(int step) {
    if (step == 0) return "input (x-mean)/255";
    if (step == 1) return "conv32_down 7x7/2";
    if (step == 2) return "maxpool 3x3/2";
    if (step >= 3 && step < 17) return block_names[step - 3];
    if (step == 17) return "mean + fc + outputs";
    return "?";
}

/* ---- forward ------------------------------------------------------------------------------ */

typedef struct ctx {
    const fe__net         *net;
    fe__net_ws            *ws;
    const fe__gemm_kernel *k;
    int                    timing;   /* 0 while images run on separate threads */
} ctx;

static int thread_id(void) {
#ifdef _OPENMP
    int t = omp_get_thread_num();
    return t < FE_NET_P1_SETS ? t : 0;
#else
    return 0;
#endif
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e9 * (double)ts.tv_sec + (double)ts.tv_nsec;
}

static void copy_map(const fe__fmap *m, size_t img, float *dst) {
    for (size_t y = 0; y < m->h; y++)
        memcpy(dst + y * m->w * m->c, m->data + img * m->img_stride + y * m->row_stride,
               m->w * m->c * sizeof(float));
}

/* Called by every thread after a step's barrier; the master books the time and, for tests,
 * copies the step's output map m when it belongs to image 0 (img == 0). */
static void mark(const ctx *c, int step, const fe__fmap *m, size_t img) {
    fe__net_ws *ws = c->ws;
    if (!ws->profile && (step < 0 || !ws->dump[step])) return;
#pragma omp master
    {
        if (step >= 0 && ws->dump[step] && img == 0 && m) copy_map(m, 0, ws->dump[step]);
        if (c->timing) {
            double t = now_ns();
            if (step >= 0) ws->prof_ns[step] += t - ws->t_last;
            ws->t_last = t;
        }
    }
}

void fe__residual(const fe__gemm_kernel *k, const fe__conv *c1, const fe__conv *c2,
                  const fe__fmap *x, const fe__fmap *t, const fe__fmap *y) {
    fe__conv_forward(k, c1, x, t, NULL, 1);
    fe__conv_forward(k, c2, t, y, x, 1);
}

void fe__residual_down(const fe__gemm_kernel *k, const fe__conv *c1, const fe__conv *c2,
                       const fe__fmap *x, const fe__fmap *t, const fe__fmap *y) {
    fe__avgpool2x2s2_zeropad(x, y);                        /* y = shortcut             */
    fe__conv_forward(k, c1, x, t, NULL, 1);
    fe__fmap main = *y;                                    /* the cells main covers    */
    main.h = t->h;
    main.w = t->w;
    fe__conv_forward(k, c2, t, &main, &main, 1);           /* relu(shortcut + main)    */
    if (t->h < y->h) {
        /* 8 -> 3 vs 4 and 4 -> 1 vs 2: main gets one zero row at the bottom and one zero
         * column at the right, so those cells are relu(shortcut + 0). */
        FE_ASSERT(y->h - t->h == 1 && y->w - t->w == 1);
        fe__fmap row = *y, col = *y;
        row.data += t->h * y->row_stride;
        row.h = 1;
        col.data += t->w * y->c;
        col.h = t->h;
        col.w = 1;
        fe__relu_inplace(&row);
        fe__relu_inplace(&col);
    }
}

/* block blk (0..13) of the network */
static void residual(const ctx *c, int blk, const fe__fmap *x, const fe__fmap *t,
                     const fe__fmap *y) {
    fe__residual(c->k, &c->net->conv[1 + 2 * blk], &c->net->conv[2 + 2 * blk], x, t, y);
}
static void residual_down(const ctx *c, int blk, const fe__fmap *x, const fe__fmap *t,
                          const fe__fmap *y) {
    fe__residual_down(c->k, &c->net->conv[1 + 2 * blk], &c->net->conv[2 + 2 * blk], x, t, y);
}

static void prep_input(const fe__net *net, const uint8_t *u8, const float *f32,
                       const fe__fmap *in) {
    static const float mean[3] = {122.782f, 117.001f, 104.298f};
#pragma omp for schedule(static)
    for (size_t y = 0; y < FE_CHIP_SIZE; y++) {
        float *restrict d = in->data + y * in->row_stride;
        size_t o = y * FE_CHIP_SIZE * 3;
        if (u8) {   /* the table holds exactly (v - mean) / 255 */
            const uint8_t *restrict s = u8 + o;
            for (size_t x = 0; x < FE_CHIP_SIZE; x++)
                for (size_t c = 0; c < 3; c++) d[3 * x + c] = net->norm_lut[c][s[3 * x + c]];
        } else {
            const float *restrict s = f32 + o;
            for (size_t x = 0; x < FE_CHIP_SIZE; x++)
                for (size_t c = 0; c < 3; c++) d[3 * x + c] = (s[3 * x + c] - mean[c]) / 255.0f;
        }
    }
}

/* Stem to conv64_3 for one image with buffer set `set`, leaving its output in batch slot
 * `slot` of x17. */
static void phase1(const ctx *c, const uint8_t *u8, const float *f32, int set, size_t slot) {
    fe__net_ws *ws = c->ws;
    const struct p1 *q = &ws->p1[set];
    mark(c, -1, NULL, 0);
    prep_input(c->net, u8, f32, &q->in150);
    mark(c, 0, &q->in150, slot);
    fe__conv_forward(c->k, &c->net->conv[0], &q->in150, &q->s72, NULL, 1);
    mark(c, 1, &q->s72, slot);
    fe__maxpool3x3s2(&q->s72, &q->a35[0]);
    mark(c, 2, &q->a35[0], slot);
    const fe__fmap *a = q->a35, *b = q->a17;
    residual(c, 0, &a[0], &a[2], &a[1]);
    mark(c, 3, &a[1], slot);
    residual(c, 1, &a[1], &a[2], &a[0]);
    mark(c, 4, &a[0], slot);
    residual(c, 2, &a[0], &a[2], &a[1]);
    mark(c, 5, &a[1], slot);
    residual_down(c, 3, &a[1], &b[2], &b[0]);
    mark(c, 6, &b[0], slot);
    residual(c, 4, &b[0], &b[2], &b[1]);
    mark(c, 7, &b[1], slot);
    residual(c, 5, &b[1], &b[2], &b[0]);
    mark(c, 8, &b[0], slot);
    fe__fmap out = ws->x17;
    out.n = 1;
    out.data += slot * out.img_stride;
    residual(c, 6, &b[0], &b[2], &out);
    mark(c, 9, &out, slot);
}

/* conv128_down to the head for n images already in x17. */
static void phase2(const ctx *c, size_t n, fe_features *out) {
    fe__net_ws *ws = c->ws;
    fe__fmap x17 = ws->x17, p8 = ws->p8, q8 = ws->q8, t8 = ws->t8, t3 = ws->t3, p4 = ws->p4,
             q4 = ws->q4, t4 = ws->t4, t1 = ws->t1, p2 = ws->p2;
    x17.n = p8.n = q8.n = t8.n = t3.n = p4.n = q4.n = t4.n = t1.n = p2.n = n;
    mark(c, -1, NULL, 0);
    residual_down(c, 7, &x17, &t8, &p8);
    mark(c, 10, &p8, 0);
    residual(c, 8, &p8, &t8, &q8);
    mark(c, 11, &q8, 0);
    residual(c, 9, &q8, &t8, &p8);      /* p8 = conv128_2 output: map8 */
    mark(c, 12, &p8, 0);
    residual_down(c, 10, &p8, &t3, &p4);
    mark(c, 13, &p4, 0);
    residual(c, 11, &p4, &t4, &q4);
    mark(c, 14, &q4, 0);
    residual(c, 12, &q4, &t4, &p4);     /* p4 = conv256_2 output: map4 */
    mark(c, 15, &p4, 0);
    residual_down(c, 13, &p4, &t1, &p2); /* p2 = the last map: map2 */
    mark(c, 16, &p2, 0);
    fe__global_mean(&p2, ws->g);
    if (ws->dump[17]) {
#pragma omp master
        memcpy(ws->dump[17], ws->g, G * sizeof(float));
#pragma omp barrier
    }
    const float *fc = c->net->fc;
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i++) {
        fe_features *f = &out[i];
        const float *g = ws->g + i * G;
        /* fc: accumulate in double and round once (the reference adds in JS numbers) */
        double acc[DESC] = {0}, norm2 = 0;
        for (size_t q = 0; q < G; q++) {   /* row by row: contiguous fc, vectorisable */
            const double gq = (double)g[q];
            const float *row = fc + q * DESC;
            for (size_t j = 0; j < DESC; j++) acc[j] += gq * (double)row[j];
        }
        for (size_t j = 0; j < DESC; j++) {
            f->descriptor[j] = (float)acc[j];
            norm2 += (double)f->descriptor[j] * (double)f->descriptor[j];
        }
        double norm = sqrt(norm2);
        for (size_t j = 0; j < DESC; j++)
            f->embedding[j] = norm > 0 && isfinite(norm) ? (float)(f->descriptor[j] / norm) : NAN;
        copy_map(&p8, i, f->map8);
        copy_map(&p4, i, f->map4);
        copy_map(&p2, i, f->map2);
    }
    mark(c, 17, NULL, 0);
}

fe_status fe__net_forward(const fe__net *net, fe__net_ws *ws, const fe__gemm_kernel *kern,
                          int n_threads, const uint8_t *const *u8, const float *const *f32,
                          size_t n, fe_features *out) {
    if (!net || !ws || !kern || !out || (!u8 == !f32) || n_threads < 1)
        return fe__fail(FE_E_ARG, "bad forward arguments");
    for (size_t i = 0; i < n; i++)
        if (u8 ? !u8[i] : !f32[i]) return fe__fail(FE_E_ARG, "input %zu is NULL", i);
    int nt = n_threads;
    for (size_t b0 = 0; b0 < n; b0 += B) {
        size_t nb = n - b0 < B ? n - b0 : B;
        int p1_threads = (size_t)nt < nb ? nt : (int)nb;
        if (p1_threads > FE_NET_P1_SETS) p1_threads = FE_NET_P1_SETS;
        if (p1_threads > 1) {
            /* Several images: each thread runs whole images through the early stages (no
             * barrier per layer); a nested team of one gives the layers' orphaned omp for
             * a team of their own. Then the batch goes through the late stages together. */
            const ctx c1 = {net, ws, kern, 0};
#pragma omp parallel for num_threads(p1_threads) schedule(dynamic)
            for (size_t i = 0; i < nb; i++) {
                int set = thread_id();
#pragma omp parallel num_threads(1)
                phase1(&c1, u8 ? u8[b0 + i] : NULL, f32 ? f32[b0 + i] : NULL, set, i);
            }
            const ctx c2 = {net, ws, kern, 1};
#pragma omp parallel num_threads(nt)
            phase2(&c2, nb, out + b0);
        } else {
            const ctx c = {net, ws, kern, 1};
#pragma omp parallel num_threads(nt) if (nt > 1)
            {
                for (size_t i = 0; i < nb; i++)
                    phase1(&c, u8 ? u8[b0 + i] : NULL, f32 ? f32[b0 + i] : NULL, 0, i);
                phase2(&c, nb, out + b0);
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (isnan(out[i].embedding[0]))
            return fe__fail(FE_E_NUMERIC, "image %zu: descriptor norm is zero or not finite", i);
    return FE_OK;
}
