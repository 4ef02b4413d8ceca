/*
 * test_flow_render.c — golden pixel tests for the flow picture (flow_render.c) on synthetic
 * chips with known transport plans: a permutation plan must rebuild candidate cell j from
 * query cell perm^-1(j) pixel for pixel (cells of unequal size included, via the clamp
 * rule), partial flows dim by their exact factor, ties pick the lowest query cell, the heat
 * colours and the grid follow draw.c's blend rule exactly, the score lines are the bitmap
 * text, scale 2 is scale 1 with 2x2 blocks, and bad input gives its status. Every golden
 * comparison has a negative control. Plus `faceemd flow` end to end on two demo photos.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "draw.h"
#include "flow_render.h"
#include "font.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#define C FE_CHIP_SIZE

static fe_image *noise_chip(uint32_t seed) {
    fe_image *img = NULL;
    if (fe_image_create(C, C, 3, &img) != FE_OK) return NULL;
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t k = 0; k < (size_t)C * C * 3; k++) {
        s = s * 1664525u + 1013904223u;
        img->data[k] = (uint8_t)(s >> 24);
    }
    return img;
}

static const uint8_t *px(const fe_image *img, uint32_t x, uint32_t y) {
    return img->data + ((size_t)y * img->width + x) * img->channels;
}

static uint32_t cstart(uint32_t k, uint32_t g) { return k * C / g; }

/* A permutation flow on grid g: query cell i sends mass[i] to candidate cell perm[i]. */
static void perm_flow(fe_flow *f, uint32_t g, const uint32_t *perm, const double *mass) {
    memset(f, 0, sizeof *f);
    f->grid = g;
    f->cells = g * g;
    for (uint32_t i = 0; i < f->cells; i++) {
        f->plan[(size_t)i * f->cells + perm[i]] = mass ? mass[i] : 1.0 / f->cells;
        f->query_weight[i] = (double)(i + 1) / 136.0;
        f->cand_weight[i] = 1.0 / f->cells;
    }
    f->stage1_score = 0.734;
    f->emd_score = 0.8125;
    f->score = 0.79;
    f->stats.algorithm = FE_EMD_ALG_SINKHORN;
    f->stats.iterations = 37;
}

static fe_image *render(const fe_image *q, const fe_image *c, const fe_flow *f, uint32_t scale) {
    fe_flow_render_options o;
    fe_flow_render_options_default(&o);
    o.scale = scale;
    o.query_label = "Ann_0001";
    o.cand_label = "Bob_0002";
    fe_image *out = NULL;
    return fe_flow_render(q, c, f, &o, &out) == FE_OK ? out : NULL;
}

/* Counts pixels of the rebuilt panel that differ from the rule with query cell src[j] and
 * factor fac[j] for every candidate cell j. */
static size_t rebuilt_mismatches(const fe_image *pic, const fe_image *q, uint32_t g, const uint32_t *src,
                                 const float *fac, size_t *compared) {
    size_t bad = 0;
    int32_t x0 = fe__flow_panel_x(FE__FLOW_REBUILT), y0 = FE__FLOW_PANEL_Y;
    for (uint32_t j = 0; j < g * g; j++) {
        uint32_t i = src[j], jx = j % g, jy = j / g, ix = i % g, iy = i / g;
        uint32_t sw = cstart(ix + 1, g) - cstart(ix, g), sh = cstart(iy + 1, g) - cstart(iy, g);
        for (uint32_t y = cstart(jy, g); y < cstart(jy + 1, g); y++)
            for (uint32_t x = cstart(jx, g); x < cstart(jx + 1, g); x++) {
                uint32_t dx = x - cstart(jx, g), dy = y - cstart(jy, g);
                const uint8_t *s = px(q, cstart(ix, g) + (dx < sw ? dx : sw - 1), cstart(iy, g) + (dy < sh ? dy : sh - 1));
                const uint8_t *d = px(pic, (uint32_t)x0 + x, (uint32_t)y0 + y);
                for (int c = 0; c < 3; c++)
                    if (d[c] != (uint8_t)floorf((float)s[c] * fac[j] + 0.5f)) bad++;
                (*compared)++;
            }
    }
    return bad;
}

FE_TEST(flow_render_permutation_rebuilds_exactly) {
    fe_image *q = noise_chip(1), *c = noise_chip(2);
    fe_flow *f = malloc(sizeof *f);
    CHECK(q && c && f);
    for (uint32_t g = 4; g <= 8; g += 4) {
        uint32_t n = g * g, perm[64], inv[64];
        for (uint32_t i = 0; i < n; i++) perm[i] = (i * 5 + 3) % n;   /* 5 is coprime to 16 and 64 */
        for (uint32_t i = 0; i < n; i++) inv[perm[i]] = i;
        perm_flow(f, g, perm, NULL);
        fe_image *pic = render(q, c, f, 1);
        CHECK_MSG(pic, "render failed: %s", fe_last_error());
        CHECK(pic->width == FE__FLOW_W && pic->height == FE__FLOW_H && pic->channels == 3);
        float one[64];
        for (uint32_t j = 0; j < n; j++) one[j] = 1.0f;
        size_t cmp = 0, bad = rebuilt_mismatches(pic, q, g, inv, one, &cmp);
        CHECK_MSG(bad == 0 && cmp == (size_t)C * C, "grid %u: %zu of %zu pixels differ", g, bad, cmp);
        /* negative control: the identity permutation does not describe this picture */
        uint32_t id[64];
        for (uint32_t j = 0; j < n; j++) id[j] = j;
        cmp = 0;
        bad = rebuilt_mismatches(pic, q, g, id, one, &cmp);
        CHECK_MSG(bad > (size_t)C * C, "grid %u: the wrong plan matched too (%zu differ)", g, bad);
        /* query and candidate panels: the chips, except on grid lines */
        size_t same = 0, total = 0;
        for (uint32_t y = 1; y < C - 1; y++)
            for (uint32_t x = 1; x < C - 1; x++) {
                int on_line = 0;
                for (uint32_t k = 0; k < g; k++) on_line |= x == cstart(k, g) || y == cstart(k, g);
                if (on_line) continue;
                total++;
                same += !memcmp(px(pic, (uint32_t)fe__flow_panel_x(0) + x, FE__FLOW_PANEL_Y + y), px(q, x, y), 3) &&
                        !memcmp(px(pic, (uint32_t)fe__flow_panel_x(1) + x, FE__FLOW_PANEL_Y + y), px(c, x, y), 3);
            }
        CHECK_MSG(same == total, "grid %u: %zu of %zu chip pixels changed", g, total - same, total);
        /* a grid pixel is white at alpha 96 over the chip, by draw.c's blend rule */
        uint32_t gx = cstart(1, g), gy = 7;
        const uint8_t *d = px(pic, (uint32_t)fe__flow_panel_x(0) + gx, FE__FLOW_PANEL_Y + gy), *s = px(q, gx, gy);
        float k = 96.0f / 255.0f;
        for (int ch = 0; ch < 3; ch++) {
            float v = (float)s[ch] + (255.0f - (float)s[ch]) * k;
            CHECK_MSG(d[ch] == (uint8_t)floorf(v + 0.5f), "grid pixel channel %d: %u vs %g", ch, d[ch], (double)v);
        }
        fe_image_free(pic);
    }
    NOTE("grids 4 and 8: 22500 rebuilt pixels exact each");
    free(f);
    fe_image_free(q);
    fe_image_free(c);
}

FE_TEST(flow_render_dimming_and_ties) {
    fe_image *q = noise_chip(3), *c = noise_chip(4);
    fe_flow *f = malloc(sizeof *f);
    CHECK(q && c && f);
    uint32_t perm[16], inv[16];
    double mass[16];
    float fac[16];
    for (uint32_t i = 0; i < 16; i++) perm[i] = 15 - i;
    for (uint32_t i = 0; i < 16; i++) inv[perm[i]] = i;
    /* cell masses 1, 1/2, 1/4 (exact in binary) relative to the strongest */
    for (uint32_t i = 0; i < 16; i++) mass[i] = (i % 3 == 0 ? 1.0 : i % 3 == 1 ? 0.5 : 0.25) / 16;
    for (uint32_t j = 0; j < 16; j++) fac[j] = (float)(mass[inv[j]] * 16);
    perm_flow(f, 4, perm, mass);
    fe_image *pic = render(q, c, f, 1);
    CHECK(pic);
    size_t cmp = 0, bad = rebuilt_mismatches(pic, q, 4, inv, fac, &cmp);
    CHECK_MSG(bad == 0, "dimmed rebuild: %zu of %zu values differ", bad, cmp * 3);
    for (uint32_t j = 0; j < 16; j++) fac[j] = 1.0f;
    cmp = 0;
    CHECK_MSG(rebuilt_mismatches(pic, q, 4, inv, fac, &cmp) > 0, "negative control: undimmed also matched");
    fe_image_free(pic);
    /* a uniform plan: every candidate cell ties, the lowest query cell (0) wins, full brightness */
    for (size_t k = 0; k < 256; k++) f->plan[k] = 1.0 / 256;
    pic = render(q, c, f, 1);
    CHECK(pic);
    uint32_t zero[16] = {0};
    cmp = 0;
    bad = rebuilt_mismatches(pic, q, 4, zero, fac, &cmp);
    CHECK_MSG(bad == 0, "tie rule: %zu values differ", bad);
    fe_image_free(pic);
    /* an all-zero plan draws a black panel */
    memset(f->plan, 0, sizeof f->plan);
    pic = render(q, c, f, 1);
    CHECK(pic);
    for (uint32_t j = 0; j < 16; j++) fac[j] = 0.0f;
    cmp = 0;
    CHECK(rebuilt_mismatches(pic, q, 4, zero, fac, &cmp) == 0);
    fe_image_free(pic);
    free(f);
    fe_image_free(q);
    fe_image_free(c);
}

FE_TEST(flow_render_heat_colours) {
    fe_image *black = NULL;
    CHECK_OK(fe_image_create(C, C, 3, &black));
    fe_flow *f = malloc(sizeof *f);
    CHECK(f);
    uint32_t perm[16];
    for (uint32_t i = 0; i < 16; i++) perm[i] = i;
    perm_flow(f, 4, perm, NULL);   /* query weights (i+1)/136: the largest is cell 15 */
    fe_image *pic = render(black, black, f, 1);
    CHECK(pic);
    /* query weights (i+1)/136, candidate weights 1/16: lo = 1/136, hi = 16/136 */
    float wmin = (float)(1.0 / 136.0), wmax = (float)(16.0 / 136.0), k = FE_FLOW_HEAT_ALPHA * 255.0f / 255.0f;
    size_t checked = 0;
    for (int side = 0; side < 2; side++)
        for (uint32_t cell = 0; cell < 16; cell++) {
            float w = side ? (float)f->cand_weight[cell] : (float)f->query_weight[cell];
            uint8_t heat[3];
            fe__draw_heat_color((w - wmin) / (wmax - wmin), heat);
            uint32_t x = cstart(cell % 4, 4) + 10, y = cstart(cell / 4, 4) + 10;
            const uint8_t *d = px(pic, (uint32_t)fe__flow_panel_x(side ? FE__FLOW_CWEIGHT : FE__FLOW_QWEIGHT) + x,
                                  FE__FLOW_PANEL_Y + y);
            for (int ch = 0; ch < 3; ch++) {
                uint8_t want = (uint8_t)floorf(0.0f + ((float)heat[ch] - 0.0f) * k + 0.5f);
                CHECK_MSG(d[ch] == want, "side %d cell %u ch %d: %u, expected %u", side, cell, ch, d[ch], want);
                checked++;
            }
        }
    /* negative control and ordering: the largest weight is the brightest cell */
    const uint8_t *lo = px(pic, (uint32_t)fe__flow_panel_x(FE__FLOW_QWEIGHT) + 10, FE__FLOW_PANEL_Y + 10);
    const uint8_t *hi = px(pic, (uint32_t)fe__flow_panel_x(FE__FLOW_QWEIGHT) + 130, FE__FLOW_PANEL_Y + 130);
    CHECK_MSG(hi[0] + hi[1] + hi[2] > lo[0] + lo[1] + lo[2] + 100, "cell 15 (%u,%u,%u) not brighter than cell 0 (%u,%u,%u)",
              hi[0], hi[1], hi[2], lo[0], lo[1], lo[2]);
    fe_image_free(pic);
    /* equal weights everywhere: every cell shows the top of the ramp */
    for (uint32_t i = 0; i < 16; i++) f->query_weight[i] = f->cand_weight[i] = 1.0 / 16;
    pic = render(black, black, f, 1);
    CHECK(pic);
    uint8_t top[3];
    fe__draw_heat_color(1.0f, top);
    for (uint32_t cell = 0; cell < 16; cell++) {
        const uint8_t *d = px(pic, (uint32_t)fe__flow_panel_x(FE__FLOW_CWEIGHT) + cstart(cell % 4, 4) + 10,
                              FE__FLOW_PANEL_Y + cstart(cell / 4, 4) + 10);
        for (int ch = 0; ch < 3; ch++)
            CHECK_MSG(d[ch] == (uint8_t)floorf((float)top[ch] * k + 0.5f), "equal weights, cell %u ch %d: %u", cell,
                      ch, d[ch]);
        checked += 3;
    }
    NOTE("%zu heat values exact", checked);
    fe_image_free(pic);
    free(f);
    fe_image_free(black);
}

FE_TEST(flow_render_text_and_scale) {
    fe_image *q = noise_chip(5), *c = noise_chip(6);
    fe_flow *f = malloc(sizeof *f);
    CHECK(q && c && f);
    uint32_t perm[16];
    for (uint32_t i = 0; i < 16; i++) perm[i] = (i + 1) % 16;
    perm_flow(f, 4, perm, NULL);
    fe_image *pic = render(q, c, f, 1), *pic2 = render(q, c, f, 2);
    CHECK(pic && pic2);
    char l1[160], l2[160];
    fe__flow_score_lines(f, l1, sizeof l1, l2, sizeof l2);
    CHECK_MSG(!strcmp(l1, "S_emd 0.812   S_cos 0.734   score 0.790"), "line 1 is '%s'", l1);
    CHECK_MSG(strstr(l2, "grid 4x4") && strstr(l2, "37 iterations"), "line 2 is '%s'", l2);
    /* the score band equals the two lines drawn on the background, pixel for pixel */
    fe_image *want = NULL;
    CHECK_OK(fe_image_create(FE__FLOW_W, FE__FLOW_H, 3, &want));
    fe__draw_fill_rect(want, 0, 0, FE__FLOW_W, FE__FLOW_H, fe__rgba_make(FE__FLOW_BG_R, FE__FLOW_BG_G, FE__FLOW_BG_B, 255));
    fe__text_draw(want, FE__FLOW_PAD, FE__FLOW_SCORE_Y, l1, 1, fe__rgba_make(232, 234, 237, 255));
    fe__text_draw(want, FE__FLOW_PAD, FE__FLOW_SCORE_Y + 12, l2, 1, fe__rgba_make(170, 174, 180, 255));
    size_t diff = 0, ink = 0;
    for (uint32_t y = FE__FLOW_SCORE_Y; y < FE__FLOW_SCORE_Y + 22; y++)
        for (uint32_t x = 0; x < (uint32_t)fe__flow_panel_x(FE__FLOW_QWEIGHT); x++) {
            diff += memcmp(px(pic, x, y), px(want, x, y), 3) != 0;
            ink += px(pic, x, y)[0] != FE__FLOW_BG_R;
        }
    CHECK_MSG(diff == 0 && ink > 200, "score band: %zu pixels differ, %zu ink pixels", diff, ink);
    /* negative control: another score changes the band */
    fe__text_draw(want, FE__FLOW_PAD, FE__FLOW_SCORE_Y, "S_emd 0.813", 1, fe__rgba_make(232, 234, 237, 255));
    diff = 0;
    for (uint32_t y = FE__FLOW_SCORE_Y; y < FE__FLOW_SCORE_Y + 10; y++)
        for (uint32_t x = 0; x < 120; x++) diff += memcmp(px(pic, x, y), px(want, x, y), 3) != 0;
    CHECK_MSG(diff > 0, "negative control: a different score drew the same pixels");
    /* the title carries both labels */
    fe_image *tw = NULL;
    CHECK_OK(fe_image_create(FE__FLOW_W, 12, 3, &tw));
    fe__draw_fill_rect(tw, 0, 0, FE__FLOW_W, 12, fe__rgba_make(FE__FLOW_BG_R, FE__FLOW_BG_G, FE__FLOW_BG_B, 255));
    fe__text_draw(tw, FE__FLOW_PAD, 0, "query: Ann_0001  ->  candidate: Bob_0002", 1, fe__rgba_make(232, 234, 237, 255));
    diff = 0;
    for (uint32_t y = 0; y < 10; y++)
        for (uint32_t x = 0; x < FE__FLOW_W; x++) diff += memcmp(px(pic, x, FE__FLOW_TITLE_Y + y), px(tw, x, y), 3) != 0;
    CHECK_MSG(diff == 0, "title: %zu pixels differ", diff);
    /* scale 2 is scale 1 with every pixel a 2x2 block */
    CHECK(pic2->width == 2 * FE__FLOW_W && pic2->height == 2 * FE__FLOW_H);
    diff = 0;
    for (uint32_t y = 0; y < pic2->height; y++)
        for (uint32_t x = 0; x < pic2->width; x++) diff += memcmp(px(pic2, x, y), px(pic, x / 2, y / 2), 3) != 0;
    CHECK_MSG(diff == 0, "scale 2: %zu pixels differ from the 2x2 blocks", diff);
    fe_image_free(tw);
    fe_image_free(want);
    fe_image_free(pic);
    fe_image_free(pic2);
    free(f);
    fe_image_free(q);
    fe_image_free(c);
}

FE_TEST(flow_render_errors) {
    fe_image *q = noise_chip(7), *small = NULL, *out = NULL;
    fe_flow *f = malloc(sizeof *f);
    CHECK(q && f);
    CHECK_OK(fe_image_create(100, 100, 3, &small));
    uint32_t perm[16];
    for (uint32_t i = 0; i < 16; i++) perm[i] = i;
    perm_flow(f, 4, perm, NULL);
    fe_flow_render_options o;
    fe_flow_render_options_default(&o);
    CHECK_STATUS(fe_flow_render(NULL, q, f, &o, &out), FE_E_ARG);
    CHECK(out == NULL);
    CHECK_STATUS(fe_flow_render(q, q, f, &o, NULL), FE_E_ARG);
    CHECK_STATUS(fe_flow_render(q, small, f, &o, &out), FE_E_SHAPE);
    o.scale = 5;
    CHECK_STATUS(fe_flow_render(q, q, f, &o, &out), FE_E_ARG);
    o.scale = 1;
    o.size = 3;
    CHECK_STATUS(fe_flow_render(q, q, f, &o, &out), FE_E_ARG);
    o.size = sizeof o;
    f->grid = 5;
    CHECK_STATUS(fe_flow_render(q, q, f, &o, &out), FE_E_ARG);
    f->grid = 8;   /* cells still 16 */
    CHECK_STATUS(fe_flow_render(q, q, f, &o, &out), FE_E_ARG);
    f->grid = 4;
    f->plan[17] = NAN;
    CHECK_STATUS(fe_flow_render(q, q, f, &o, &out), FE_E_NUMERIC);
    f->plan[17] = -1e-3;
    CHECK_STATUS(fe_flow_render(q, q, f, &o, &out), FE_E_NUMERIC);
    f->plan[17] = 0;
    f->cand_weight[3] = INFINITY;
    CHECK_STATUS(fe_flow_render(q, q, f, &o, &out), FE_E_NUMERIC);
    f->cand_weight[3] = 0;
    CHECK_OK(fe_flow_render(q, q, f, NULL, &out));   /* defaults: scale 2 */
    CHECK(out && out->width == 2 * FE__FLOW_W);
    fe_image_free(out);
    /* gray chips are accepted (replicated) */
    fe_image *gray = NULL;
    CHECK_OK(fe_image_create(C, C, 1, &gray));
    CHECK_OK(fe_flow_render(gray, q, f, &o, &out));
    fe_image_free(out);
    fe_image_free(gray);
    /* every allocation failure is FE_E_NOMEM without leaks */
    int ok = 0;
    for (long n = 0; n < 50 && !ok; n++) {
        fe__alloc_fail_after(n);
        fe_status st = fe_flow_render(q, q, f, &o, &out);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) ok = 1;
        else CHECK_MSG(st == FE_E_NOMEM && out == NULL, "allocation %ld: %s", n, fe_status_name(st));
        fe_image_free(out);
        out = NULL;
    }
    CHECK(ok);
    free(f);
    fe_image_free(small);
    fe_image_free(q);
}

/* `faceemd flow` on two demo photos: JSON scores, a PNG of the documented size that the
 * project's reader decodes, and usage errors. */
FE_TEST(cli_flow_demo_pair) {
    struct stat sb;
    if (stat("tests/data/demo/landmarks.tsv", &sb) != 0 || stat("weights/faceres.feb", &sb) != 0)
        SKIP("run from the repository root (needs tests/data/demo and weights/faceres.feb)");
    char out[16384], png[700];
    snprintf(png, sizeof png, "%s/flow.png", fe_t_tmpdir());
    int rc = fe_t_run(out, sizeof out,
                      "%s flow tests/data/demo/query/David_Wells/David_Wells_0004.jpg "
                      "tests/data/demo/gallery/David_Wells/David_Wells_0001.jpg --landmarks "
                      "tests/data/demo/landmarks.tsv -o '%s' --json 2>&1", fe_t_cli(), png);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK_MSG(strstr(out, "\"emd_score\": 0.") && strstr(out, "\"stage1_score\": 0.") && strstr(out, "\"grid\": 4") &&
              strstr(out, "\"width\": 1572, \"height\": 440"), "%s", out);
    fe_image *img = NULL;
    CHECK_OK(fe_image_load(png, &img));
    CHECK(img->width == 1572 && img->height == 440 && img->channels == 3);
    fe_image_free(img);
    rc = fe_t_run(out, sizeof out, "%s flow a.jpg b.jpg 2>&1", fe_t_cli());
    CHECK_MSG(rc == 2 && strstr(out, "missing -o"), "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s flow a.jpg b.jpg -o x.png --grid 5 2>&1", fe_t_cli());
    CHECK_MSG(rc == 2, "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s flow --help", fe_t_cli());
    CHECK_MSG(rc == 0 && strstr(out, "rebuilt"), "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s flow /nonexistent.jpg tests/data/demo/query/David_Wells/David_Wells_0004.jpg -o '%s' 2>&1",
                  fe_t_cli(), png);
    CHECK_MSG(rc == 1 && strstr(out, "/nonexistent.jpg"), "exit %d: %s", rc, out);
}
