/*
 * cli_report.c — the HTML search report (see cli_report.h). Page layout per query:
 *   <section class="report-query"> title, note, the query chip,
 *   two columns: stage 1 top 5 | stage 2 top 5, each a list of <div class="card result">
 *   (chip, "rank. identity", path, scores; class "hit" when the identity is the query's),
 *   then "Why they match": the flow picture (fe_flow_gallery + fe_flow_render, scale 1) of
 *   each stage-2 result, as figures.
 * Result cards are counted by the browser test (CLI_REPORT_TOP per stage per query).
 */
#include "cli_report.h"

#include "font.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_report_begin(cli_report *r, const fe_gallery *g, const fe_search_options *o, const char *title,
                     const char *subtitle, const char *const *settings, size_t n_rows) {
    memset(r, 0, sizeof *r);
    fe__html_init(&r->html);
    r->g = g;
    r->o = o;
    size_t n = fe_gallery_size(g);
    r->cache = calloc(n ? n : 1, sizeof *r->cache);
    r->tried = calloc(n ? n : 1, 1);
    if (!r->cache || !r->tried) return cli_fail("report", FE_E_NOMEM);
    fe__html_page_begin(&r->html, title, subtitle);
    if (n_rows) {
        static const char *const head[2] = {"setting", "value"};
        fe__html_table_begin(&r->html, NULL, head, 2);
        for (size_t i = 0; i < n_rows; i++) fe__html_table_row(&r->html, settings + 2 * i, 2, NULL);
        fe__html_table_end(&r->html);
    }
    return CLI_OK;
}

fe_image *cli_report_placeholder_chip(void) {
    fe_image *img = NULL;
    if (fe_image_create(FE_CHIP_SIZE, FE_CHIP_SIZE, 3, &img) != FE_OK) return NULL;
    memset(img->data, 96, (size_t)FE_CHIP_SIZE * FE_CHIP_SIZE * 3);
    fe__text_draw(img, 30, 60, "no image", 2, fe__rgba_make(230, 230, 230, 255));
    return img;
}

static const fe_image *gallery_chip(cli_report *r, size_t i) {
    if (!r->tried[i]) {
        r->tried[i] = 1;
        if (!r->chip || r->chip(r->user, i, &r->cache[i]) != FE_OK) r->cache[i] = cli_report_placeholder_chip();
    }
    return r->cache[i];
}

static void result_card(cli_report *r, const cli_report_query *q, const fe_search_result *x, int stage2) {
    fe__html *h = &r->html;
    const char *label = fe_gallery_label(r->g, x->index), *path = fe_gallery_path(r->g, x->index);
    int hit = q->want != UINT32_MAX && fe_gallery_identity(r->g, x->index) == q->want;
    fe__html_raw(h, hit ? "<div class=\"card result hit\">" : "<div class=\"card result\">");
    const fe_image *chip = gallery_chip(r, x->index);
    if (chip) fe__html_img(h, chip, label, NULL);
    fe__html_raw(h, "<div>");
    fe__html_raw(h, "<div class=\"who\">");
    fe__html_textf(h, "%u. %s", stage2 ? x->rank : x->stage1_rank, label);
    fe__html_raw(h, "</div>");
    fe__html_elem(h, "div", "muted", path);
    fe__html_raw(h, "<div>");
    if (!stage2) {
        fe__html_textf(h, "S_cos %.3f", x->stage1_score);
    } else if (x->reranked) {
        fe__html_textf(h, "score %.3f (S_emd %.3f, S_cos %.3f)", x->score, x->emd_score, x->stage1_score);
        if (x->stage1_rank != x->rank) {
            fe__html_raw(h, " <span class=\"muted\">");
            fe__html_textf(h, "%s from %u", x->stage1_rank > x->rank ? "up" : "down", x->stage1_rank);
            fe__html_raw(h, "</span>");
        }
    } else {
        fe__html_textf(h, "S_cos %.3f (beyond K: not re-ranked)", x->stage1_score);
    }
    fe__html_raw(h, "</div></div></div>\n");
}

int cli_report_add(cli_report *r, const cli_report_query *q) {
    fe__html *h = &r->html;
    r->n_queries++;
    fe__html_rawf(h, "<section class=\"report-query\" id=\"q%zu\">\n", r->n_queries);
    fe__html_elem(h, "h2", NULL, q->title);
    fe__html_raw(h, "<div class=\"query\">");
    if (q->chip) fe__html_img(h, q->chip, q->title, NULL);
    if (q->note) fe__html_elem(h, "p", NULL, q->note);
    fe__html_raw(h, "</div>\n");

    size_t top = q->n < CLI_REPORT_TOP ? q->n : CLI_REPORT_TOP;
    fe__html_cols_begin(h);
    fe__html_col_begin(h, "Stage 1: cosine");
    for (uint32_t want_rank = 1; want_rank <= top; want_rank++)
        for (size_t i = 0; i < q->n; i++)
            if (q->res[i].stage1_rank == want_rank) result_card(r, q, &q->res[i], 0);
    fe__html_col_end(h);
    fe__html_col_begin(h, r->o->rerank_k ? "Stage 2: EMD re-ranked" : "Stage 2: off (--K 0)");
    for (size_t i = 0; i < top; i++) result_card(r, q, &q->res[i], 1);
    fe__html_col_end(h);
    fe__html_cols_end(h);

    if (r->o->rerank_k && q->f) {
        fe__html_elem(h, "h3", NULL, "Why they match: the patch flow to each stage-2 result");
        fe__html_elem(h, "p", "muted",
                      "Left to right: the query, the candidate, the candidate rebuilt from the query's "
                      "patches (each cell shows the query patch that sends it the most mass, dimmed by how "
                      "much), and each face's patch weights (dark violet low, pale yellow high).");
        fe_flow *flow = malloc(sizeof *flow);
        if (!flow) return cli_fail("report", FE_E_NOMEM);
        fe_flow_render_options ro;
        fe_flow_render_options_default(&ro);
        ro.scale = 1;
        ro.query_label = q->label ? q->label : q->title;
        for (size_t i = 0; i < top && q->res[i].reranked; i++) {
            const fe_search_result *x = &q->res[i];
            fe_image *pic = NULL;
            const fe_image *cand = gallery_chip(r, x->index);
            ro.cand_label = fe_gallery_label(r->g, x->index);
            fe_status st = fe_flow_gallery(r->g, x->index, q->f, r->o, flow);
            if (st == FE_OK && cand && q->chip) st = fe_flow_render(q->chip, cand, flow, &ro, &pic);
            if (st != FE_OK) {
                free(flow);
                return cli_fail("report: flow", st);
            }
            if (!pic) continue;
            char cap[1200];
            snprintf(cap, sizeof cap, "%u. %.1000s: S_emd %.3f, S_cos %.3f, score %.3f", x->rank,
                     fe_gallery_label(r->g, x->index), flow->emd_score, flow->stage1_score, flow->score);
            fe__html_figure(h, pic, cap, cap, "px flow");
            fe_image_free(pic);
        }
        free(flow);
    }
    fe__html_raw(h, "</section>\n");
    if (fe__html_status(h) != FE_OK) return cli_fail("report", fe__html_status(h));
    return CLI_OK;
}

int cli_report_save(cli_report *r, const char *path) {
    char foot[256];
    snprintf(foot, sizeof foot, "Made by faceemd %s. Self-contained: images are inline, no scripts, "
             "nothing is fetched.", fe_version_string());
    fe__html_page_end(&r->html, foot);
    fe_status st = fe__html_save(&r->html, path);
    return st == FE_OK ? CLI_OK : cli_fail(path, st);
}

void cli_report_free(cli_report *r) {
    size_t n = r->g ? fe_gallery_size(r->g) : 0;
    for (size_t i = 0; r->cache && i < n; i++) fe_image_free(r->cache[i]);
    free(r->cache);
    free(r->tried);
    fe__html_free(&r->html);
    memset(r, 0, sizeof *r);
}
