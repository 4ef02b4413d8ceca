/*
 * flow_render.c — the flow picture: why two faces match (faceemd.h, fe_flow_render; layout in
 * flow_render.h). Everything is drawn once at layout scale with draw.c and font.c, then
 * enlarged by nearest-neighbour copies, so a picture at scale s is exactly the scale-1 picture
 * with every pixel an s x s block. Deterministic: integer and float arithmetic only.
 */
#include "flow_render.h"

#include "draw.h"
#include "font.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void fe_flow_render_options_default(fe_flow_render_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->scale = 2;
}

static const char *algorithm_name(fe_emd_algorithm a) {
    switch (a) {
    case FE_EMD_ALG_SINKHORN: return "Sinkhorn";
    case FE_EMD_ALG_SINKHORN_LOG: return "Sinkhorn (log domain)";
    case FE_EMD_ALG_ASSIGNMENT: return "exact (assignment)";
    case FE_EMD_ALG_TRANSPORT: return "exact (transport)";
    default: return "given plan";
    }
}

void fe__flow_score_lines(const fe_flow *flow, char *line1, size_t cap1, char *line2, size_t cap2) {
    snprintf(line1, cap1, "S_emd %.3f   S_cos %.3f   score %.3f", flow->emd_score, flow->stage1_score,
             flow->score);
    const fe_emd_stats *s = &flow->stats;
    if (s->algorithm == FE_EMD_ALG_NONE)
        snprintf(line2, cap2, "grid %ux%u, %s", flow->grid, flow->grid, algorithm_name(s->algorithm));
    else
        snprintf(line2, cap2, "grid %ux%u, EMD by %s, %u %s", flow->grid, flow->grid,
                 algorithm_name(s->algorithm), s->iterations,
                 s->algorithm == FE_EMD_ALG_SINKHORN || s->algorithm == FE_EMD_ALG_SINKHORN_LOG
                     ? "iterations" : "augmenting paths");
}

/* s cut to at most max_px wide at scale 1, ending in "..." when cut. */
static void fit_text(const char *s, uint32_t max_px, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", s);
    if (fe__text_width(buf, 1) <= max_px) return;
    size_t n = strlen(buf);
    while (n > 0) {
        n--;
        if (n + 4 > cap) continue;
        memcpy(buf + n, "...", 4);
        if (fe__text_width(buf, 1) <= max_px) return;
    }
    snprintf(buf, cap, "...");
}

/* First column (or row) of cell k on a side of FE_CHIP_SIZE pixels split in g. */
static uint32_t cell_start(uint32_t k, uint32_t g) { return k * FE_CHIP_SIZE / g; }

static fe_status check_flow(const fe_flow *f) {
    if (f->grid != 4 && f->grid != 8)
        return fe__fail(FE_E_ARG, "flow grid is %u, expected 4 or 8", f->grid);
    if (f->cells != f->grid * f->grid)
        return fe__fail(FE_E_ARG, "flow has %u cells, expected %u", f->cells, f->grid * f->grid);
    size_t n = f->cells;
    for (size_t k = 0; k < n * n; k++)
        if (!(f->plan[k] >= 0) || !isfinite(f->plan[k]))
            return fe__fail(FE_E_NUMERIC, "plan entry (%zu, %zu) is %g", k / n, k % n, f->plan[k]);
    for (size_t k = 0; k < n; k++)
        if (!(f->query_weight[k] >= 0) || !isfinite(f->query_weight[k]) || !(f->cand_weight[k] >= 0) ||
            !isfinite(f->cand_weight[k]))
            return fe__fail(FE_E_NUMERIC, "patch weight %zu is %g / %g", k, f->query_weight[k], f->cand_weight[k]);
    return FE_OK;
}

/* The rebuilt candidate (faceemd.h): into the FE_CHIP_SIZE^2 window at (x0, y0) of canvas. */
static void draw_rebuilt(fe_image *canvas, int32_t x0, int32_t y0, const fe_image *q, const fe_flow *f) {
    const uint32_t g = f->grid, n = f->cells;
    uint32_t best_i[FE_MAP8_CELLS];
    double best_v[FE_MAP8_CELLS], top = 0;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t bi = 0;
        double bv = f->plan[j];
        for (uint32_t i = 1; i < n; i++)
            if (f->plan[(size_t)i * n + j] > bv) {
                bv = f->plan[(size_t)i * n + j];
                bi = i;
            }
        best_i[j] = bi;
        best_v[j] = bv;
        if (bv > top) top = bv;
    }
    for (uint32_t j = 0; j < n; j++) {
        uint32_t jx = j % g, jy = j / g, ix = best_i[j] % g, iy = best_i[j] / g;
        uint32_t dx0 = cell_start(jx, g), dx1 = cell_start(jx + 1, g);
        uint32_t dy0 = cell_start(jy, g), dy1 = cell_start(jy + 1, g);
        uint32_t sx0 = cell_start(ix, g), sw = cell_start(ix + 1, g) - sx0;
        uint32_t sy0 = cell_start(iy, g), sh = cell_start(iy + 1, g) - sy0;
        float fj = top > 0 ? (float)(best_v[j] / top) : 0.0f;
        for (uint32_t y = dy0; y < dy1; y++) {
            uint32_t sy = sy0 + (y - dy0 < sh ? y - dy0 : sh - 1);
            for (uint32_t x = dx0; x < dx1; x++) {
                uint32_t sx = sx0 + (x - dx0 < sw ? x - dx0 : sw - 1);
                const uint8_t *s = q->data + ((size_t)sy * FE_CHIP_SIZE + sx) * 3;
                uint8_t *d = canvas->data + ((size_t)(y0 + (int32_t)y) * canvas->width + (size_t)(x0 + (int32_t)x)) * 3;
                for (int c = 0; c < 3; c++) d[c] = (uint8_t)floorf((float)s[c] * fj + 0.5f);
            }
        }
    }
}

fe_status fe_flow_render(const fe_image *query_chip, const fe_image *cand_chip, const fe_flow *flow,
                         const fe_flow_render_options *opt, fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    *out_image = NULL;
    if (!query_chip || !query_chip->data || !cand_chip || !cand_chip->data || !flow)
        return fe__fail(FE_E_ARG, "query_chip, cand_chip and flow are required");
    fe_flow_render_options def;
    if (!opt) {
        fe_flow_render_options_default(&def);
        opt = &def;
    }
    if (opt->size != sizeof *opt)
        return fe__fail(FE_E_ARG, "fe_flow_render_options.size is %u, expected %zu (use "
                        "fe_flow_render_options_default)", (unsigned)opt->size, sizeof *opt);
    if (opt->scale < 1 || opt->scale > 4) return fe__fail(FE_E_ARG, "scale %u is not 1..4", opt->scale);
    const fe_image *chips[2] = {query_chip, cand_chip};
    for (int k = 0; k < 2; k++)
        if (chips[k]->width != FE_CHIP_SIZE || chips[k]->height != FE_CHIP_SIZE)
            return fe__fail(FE_E_SHAPE, "%s chip is %ux%u, expected %dx%d", k ? "candidate" : "query",
                            chips[k]->width, chips[k]->height, FE_CHIP_SIZE, FE_CHIP_SIZE);
    fe_status st = check_flow(flow);
    if (st != FE_OK) return st;

    fe_image *rgb[2] = {NULL, NULL}, *canvas = NULL, *big = NULL;
    for (int k = 0; k < 2 && st == FE_OK; k++) st = fe_image_to_rgb(chips[k], &rgb[k]);
    if (st == FE_OK) st = fe_image_create(FE__FLOW_W, FE__FLOW_H, 3, &canvas);
    if (st != FE_OK) goto done;

    const fe__rgba bg = fe__rgba_make(FE__FLOW_BG_R, FE__FLOW_BG_G, FE__FLOW_BG_B, 255);
    const fe__rgba fg = fe__rgba_make(232, 234, 237, 255), muted = fe__rgba_make(170, 174, 180, 255);
    const fe__rgba grid = fe__rgba_make(255, 255, 255, 96);
    fe__draw_fill_rect(canvas, 0, 0, FE__FLOW_W, FE__FLOW_H, bg);

    /* title: "query: A  ->  candidate: B", each label cut to fit its half */
    char title[520], qa[256], ca[256], tmp[300];
    snprintf(tmp, sizeof tmp, "query: %.250s", opt->query_label ? opt->query_label : "query");
    fit_text(tmp, (FE__FLOW_W - 2 * FE__FLOW_PAD) / 2 - 24, qa, sizeof qa);
    snprintf(tmp, sizeof tmp, "candidate: %.250s", opt->cand_label ? opt->cand_label : "candidate");
    fit_text(tmp, (FE__FLOW_W - 2 * FE__FLOW_PAD) / 2 - 24, ca, sizeof ca);
    snprintf(title, sizeof title, "%s  ->  %s", qa, ca);
    fe__text_draw(canvas, FE__FLOW_PAD, FE__FLOW_TITLE_Y, title, 1, fg);

    static const char *const caption[FE__FLOW_PANELS] = {"query", "candidate", "rebuilt from query",
                                                         "query weights", "candidate weights"};
    for (int p = 0; p < FE__FLOW_PANELS; p++)
        fe__text_draw(canvas, fe__flow_panel_x(p), FE__FLOW_CAP_Y, caption[p], 1, muted);

    const int32_t py = FE__FLOW_PANEL_Y;
    const uint32_t g = flow->grid, n = flow->cells;
    fe__draw_blit(canvas, rgb[0], fe__flow_panel_x(FE__FLOW_QUERY), py, FE_CHIP_SIZE, FE_CHIP_SIZE,
                  FE__SAMPLE_NEAREST, 1.0f);
    fe__draw_blit(canvas, rgb[1], fe__flow_panel_x(FE__FLOW_CAND), py, FE_CHIP_SIZE, FE_CHIP_SIZE,
                  FE__SAMPLE_NEAREST, 1.0f);
    draw_rebuilt(canvas, fe__flow_panel_x(FE__FLOW_REBUILT), py, rgb[0], flow);

    float wq[FE_MAP8_CELLS], wc[FE_MAP8_CELLS], wmax = 0, wmin = INFINITY;
    for (uint32_t k = 0; k < n; k++) {
        wq[k] = (float)flow->query_weight[k];
        wc[k] = (float)flow->cand_weight[k];
        wmax = fmaxf(wmax, fmaxf(wq[k], wc[k]));
        wmin = fminf(wmin, fminf(wq[k], wc[k]));
    }
    if (!(wmax > wmin)) wmin = 0;   /* equal weights: all at the top of the ramp */
    for (int k = 0; k < 2; k++) {
        int32_t x = fe__flow_panel_x(k ? FE__FLOW_CWEIGHT : FE__FLOW_QWEIGHT);
        fe__draw_blit(canvas, rgb[k], x, py, FE_CHIP_SIZE, FE_CHIP_SIZE, FE__SAMPLE_NEAREST, 1.0f);
        fe__draw_heatmap(canvas, x, py, FE_CHIP_SIZE, FE_CHIP_SIZE, k ? wc : wq, g, g, wmin, wmax,
                         FE_FLOW_HEAT_ALPHA);
    }
    static const int gridded[4] = {FE__FLOW_QUERY, FE__FLOW_CAND, FE__FLOW_QWEIGHT, FE__FLOW_CWEIGHT};
    for (int k = 0; k < 4; k++)
        fe__draw_grid(canvas, fe__flow_panel_x(gridded[k]), py, FE_CHIP_SIZE, FE_CHIP_SIZE, g, g, 1, grid);

    char l1[160], l2[160];
    fe__flow_score_lines(flow, l1, sizeof l1, l2, sizeof l2);
    fe__text_draw(canvas, FE__FLOW_PAD, FE__FLOW_SCORE_Y, l1, 1, fg);
    fe__text_draw(canvas, FE__FLOW_PAD, FE__FLOW_SCORE_Y + 12, l2, 1, muted);

    /* the heat legend under the weight panels: lo .. hi */
    {
        int32_t lx = fe__flow_panel_x(FE__FLOW_QWEIGHT), ly = FE__FLOW_SCORE_Y;
        char lo[48];
        snprintf(lo, sizeof lo, "patch weight %.3f", (double)wmin);
        fe__text_draw(canvas, lx, ly, lo, 1, muted);
        int32_t rx = lx + (int32_t)fe__text_width(lo, 1) + 6;
        const int32_t rw = FE__FLOW_LEGEND_W;
        for (int32_t i = 0; i < rw; i++) {
            uint8_t c[3];
            fe__draw_heat_color((float)i / (float)(rw - 1), c);
            fe__draw_fill_rect(canvas, rx + i, ly, 1, 7, fe__rgba_make(c[0], c[1], c[2], 255));
        }
        char mx[32];
        snprintf(mx, sizeof mx, "%.3f", (double)wmax);
        fe__text_draw(canvas, rx + rw + 6, ly, mx, 1, muted);
    }

    if (opt->scale == 1) {
        *out_image = canvas;
        canvas = NULL;
    } else {
        st = fe_image_create(FE__FLOW_W * opt->scale, FE__FLOW_H * opt->scale, 3, &big);
        if (st == FE_OK) {
            fe__draw_blit(big, canvas, 0, 0, big->width, big->height, FE__SAMPLE_NEAREST, 1.0f);
            *out_image = big;
        }
    }
done:
    fe_image_free(canvas);
    fe_image_free(rgb[0]);
    fe_image_free(rgb[1]);
    return st;
}
