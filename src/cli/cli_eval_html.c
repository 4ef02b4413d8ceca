/*
 * cli_eval_html.c — the `eval --html` page (see cli_eval_html.h). Layout:
 *   header; a settings table (gallery, setting, seed, bootstrap, threads, time);
 *   per kind <section id="kind-NAME">: the results table (one row per method, class "good" /
 *   "bad" when the P@1 interval lies above / below zero), then "Re-ranking fixed the top-1"
 *   and "Re-ranking broke the top-1": per example <div class="cols"> with a card
 *   (class "example": a trio of query | stage-1 top-1 | stage-2 top-1 figures) and the flow
 *   picture of the query against stage 2's top-1 (<figure class="px flow">).
 * A chip that cannot be remade (image gone, bad landmarks) is a grey "no image" placeholder.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_eval_html.h"
#include "cli_report.h"

#include "html.h"

#include <stdlib.h>
#include <string.h>

typedef struct page {
    fe__html                 h;
    const cli_eval_html_in  *in;
    fe_session              *s;
    fe_search_options        so;     /* the paper's default: the examples' variant            */
    fe_flow                 *flow;
} page;

static void full_path(const page *p, const char *rel, char *buf, size_t cap) {
    const char *root = p->in->image_root;
    if (root && *root) snprintf(buf, cap, "%s/%s", root, rel);
    else snprintf(buf, cap, "%s", rel);
}

/* Gallery face i's clean chip; with kind/seed given and want_query, the perturbed query made
 * from it as fe_eval_run made it (the landmarks moved into the chip). NULL on failure. */
static fe_image *face_chip(const page *p, uint32_t i, int want_query, fe_perturb_kind kind, uint64_t seed) {
    if (i >= fe_gallery_size(p->in->g)) return NULL;
    char path[FE_MAX_PATH_BYTES + 4096 + 2];
    full_path(p, fe_gallery_path(p->in->g, i), path, sizeof path);
    fe_image *chip = NULL, *q = NULL;
    cli_chip_info info;
    if (cli_image_chip(p->in->lm, path, &chip, &info) != FE_OK) return NULL;
    if (!want_query) return chip;
    fe_landmarks l, in_chip;
    int have = !info.fallback && p->in->lm->list && fe_landmark_list_find(p->in->lm->list, path, &l, NULL) == FE_OK;
    if (have) fe_landmarks_transform(info.m, &l, &in_chip);
    fe_status st = fe_perturb(chip, have ? &in_chip : NULL, kind, seed, &q);
    fe_image_free(chip);
    return st == FE_OK ? q : NULL;
}

static void fmt(char *buf, size_t cap, const char *f, double v) { snprintf(buf, cap, f, v); }

static void results_table(page *p, const fe_eval_kind *kd) {
    static const char *const head[11] = {"method", "P@1", "RP", "MAP@R", "ΔP@1", "ΔP@1 95 % CI", "ΔRP",
                                         "ΔMAP@R", "fixed", "broke", "queries"};
    const fe_eval_result *r = p->in->r;
    fe__html_table_begin(&p->h, NULL, head, 11);
    for (size_t i = 0; i < kd->n_rows; i++) {
        const fe_eval_row *w = &r->rows[kd->row_first + i];
        char c[11][160];
        snprintf(c[0], sizeof c[0], "%s%s", w->method, w->is_default ? " *" : "");
        fmt(c[1], sizeof c[1], "%.2f", w->p1);
        fmt(c[2], sizeof c[2], "%.2f", w->rp);
        fmt(c[3], sizeof c[3], "%.2f", w->map_r);
        snprintf(c[10], sizeof c[10], "%zu", w->n_queries);
        const char *row_cls = NULL;
        if (w->is_stage1) {
            for (int k = 4; k < 10; k++) strcpy(c[k], "–");
        } else {
            fmt(c[4], sizeof c[4], "%+.2f", w->d_p1);
            snprintf(c[5], sizeof c[5], "[%+.2f,\u00a0%+.2f]", w->ci_p1[0], w->ci_p1[1]);
            fmt(c[6], sizeof c[6], "%+.2f", w->d_rp);
            fmt(c[7], sizeof c[7], "%+.2f", w->d_map_r);
            snprintf(c[8], sizeof c[8], "%zu", w->fixed);
            snprintf(c[9], sizeof c[9], "%zu", w->broke);
            row_cls = w->ci_p1[0] > 0 ? "good" : w->ci_p1[1] < 0 ? "bad" : NULL;
        }
        const char *cells[11];
        for (int k = 0; k < 11; k++) cells[k] = c[k];
        fe__html_table_row(&p->h, cells, 11, row_cls);
    }
    fe__html_table_end(&p->h);
}

static void chip_figure(page *p, fe_image *img, const char *caption) {
    fe_image *ph = img ? NULL : cli_report_placeholder_chip();
    fe__html_figure(&p->h, img ? img : ph, caption, caption, NULL);
    fe_image_free(ph);
}

/* One example: the trio card and the flow picture side by side. */
static void example(page *p, const fe_eval_kind *kd, const fe_eval_example *e, int fixed) {
    fe__html *h = &p->h;
    const fe_gallery *g = p->in->g;
    const char *qname = strrchr(e->query_path, '/') ? strrchr(e->query_path, '/') + 1 : e->query_path;
    fe_image *q = face_chip(p, e->query_index, 1, kd->kind, e->seed);
    fe_image *c1 = face_chip(p, e->stage1_index, 0, kd->kind, 0);
    fe_image *c2 = face_chip(p, e->stage2_index, 0, kd->kind, 0);
    char title[1200], cap[3][1200];
    snprintf(title, sizeof title, "%.1000s + %s", qname, kd->name);
    snprintf(cap[0], sizeof cap[0], "query: %.1000s (%s, seed %llu)", e->identity, kd->name,
             (unsigned long long)e->seed);
    snprintf(cap[1], sizeof cap[1], "stage 1 top-1: %.1000s, S_cos %.3f%s", e->stage1_identity, e->stage1_score,
             fixed ? " (wrong)" : " (right)");
    snprintf(cap[2], sizeof cap[2], "stage 2 top-1: %.1000s, score %.3f%s", e->stage2_identity, e->stage2_score,
             fixed ? " (right)" : " (wrong)");
    fe__html_cols_begin(h);
    fe__html_raw(h, "<div class=\"col\">");
    fe__html_card_begin(h, title, fixed ? "example hit" : "example");
    fe__html_raw(h, "<div class=\"trio px\">\n");
    chip_figure(p, q, cap[0]);
    chip_figure(p, c1, cap[1]);
    chip_figure(p, c2, cap[2]);
    fe__html_raw(h, "</div>\n");
    fe__html_elem(h, "p", fixed ? "good" : "bad",
                  fixed ? "Re-ranking fixed it: stage 2 puts the right person first."
                        : "Re-ranking broke it: stage 1 had the right person first.");
    fe__html_elem(h, "p", "muted", e->stage1_path);
    fe__html_elem(h, "p", "muted", e->stage2_path);
    fe__html_card_end(h);
    fe__html_raw(h, "</div>\n<div class=\"col\">");
    /* the flow of the query against stage 2's top-1 (the default variant's grid and weights) */
    fe_features f;
    fe_image *pic = NULL;
    if (q && c2 && p->s && fe_embed(p->s, q->data, &f) == FE_OK &&
        fe_flow_gallery(g, e->stage2_index, &f, &p->so, p->flow) == FE_OK) {
        fe_flow_render_options ro;
        fe_flow_render_options_default(&ro);
        ro.scale = 1;
        ro.query_label = title;
        ro.cand_label = e->stage2_identity;
        if (fe_flow_render(q, c2, p->flow, &ro, &pic) != FE_OK) pic = NULL;
    }
    if (pic) {
        char fc[1200];
        snprintf(fc, sizeof fc, "Why stage 2 chose %.1000s: S_emd %.3f, S_cos %.3f, score %.3f", e->stage2_identity,
                 p->flow->emd_score, p->flow->stage1_score, p->flow->score);
        fe__html_figure(h, pic, fc, fc, "px flow");
        fe_image_free(pic);
    } else {
        fe__html_elem(h, "p", "muted", "(no flow picture: the query could not be remade)");
    }
    fe__html_raw(h, "</div>\n");
    fe__html_cols_end(h);
    fe_image_free(q);
    fe_image_free(c1);
    fe_image_free(c2);
}

static void examples(page *p, const fe_eval_kind *kd, const fe_eval_example *e, size_t n, int fixed) {
    char t[200];
    size_t show = n < CLI_EVAL_HTML_EXAMPLES ? n : CLI_EVAL_HTML_EXAMPLES;
    const fe_eval_row *d = &p->in->r->rows[kd->row_first + 1 < p->in->r->n_rows ? kd->row_first + 1 : kd->row_first];
    size_t total = fixed ? d->fixed : d->broke;
    snprintf(t, sizeof t, "Re-ranking %s the top-1 (%zu of %zu queries; %zu shown)", fixed ? "fixed" : "broke",
             total, kd->n_queries, show);
    fe__html_elem(&p->h, "h3", NULL, t);
    if (!show) fe__html_elem(&p->h, "p", "muted", fixed ? "None: no query's top-1 went from wrong to right."
                                                        : "None: no query's top-1 went from right to wrong.");
    for (size_t i = 0; i < show; i++) example(p, kd, &e[i], fixed);
}

static void settings(page *p) {
    const cli_eval_html_in *in = p->in;
    const fe_eval_result *r = in->r;
    char gal[160], seed[64], boot[64], thr[64], tm[64];
    snprintf(gal, sizeof gal, "%zu faces, %zu identities", r->gallery_faces, r->gallery_identities);
    snprintf(seed, sizeof seed, "%llu (query of face i: seed + i)", (unsigned long long)r->seed);
    snprintf(boot, sizeof boot, "%d resamples of the queries", r->n_boot);
    snprintf(thr, sizeof thr, "%d", r->threads);
    snprintf(tm, sizeof tm, "%.1f s", in->total_s);
    const char *rows[][2] = {{"data", in->data_dir ? in->data_dir : "-"},
                             {"index", in->index_path ? in->index_path : "built here"},
                             {"gallery", gal},
                             {"setting", r->setting == FE_EVAL_MULTI ? "multi (identities with >= 2 faces)"
                                                                     : "all (singletons are distractors)"},
                             {"seed", seed},
                             {"bootstrap", boot},
                             {"threads", thr},
                             {"time", tm},
                             {"verification", in->verification}};
    static const char *const head[2] = {"setting", "value"};
    fe__html_table_begin(&p->h, NULL, head, 2);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i][1]) fe__html_table_row(&p->h, rows[i], 2, NULL);
    fe__html_table_end(&p->h);
}

int cli_eval_html_write(const char *path, const cli_eval_html_in *in) {
    page p;
    memset(&p, 0, sizeof p);
    p.in = in;
    fe__html_init(&p.h);
    fe_search_options_default(&p.so);
    p.flow = malloc(sizeof *p.flow);
    if (!p.flow) return cli_fail(path, FE_E_NOMEM);
    fe_status st = fe_session_create(in->model, &p.s);
    if (st != FE_OK) {
        free(p.flow);
        return cli_fail("eval --html: session", st);
    }
    fe__html *h = &p.h;
    fe__html_page_begin(h, "faceemd eval",
                        "Identification with out-of-distribution queries: stage 1 ranks the gallery by the "
                        "cosine of the embeddings, stage 2 re-ranks the top K by EMD over face patches.");
    settings(&p);
    fe__html_elem(h, "p", "muted",
                  "Metrics in %; R = the other images of the query's identity. Deltas are stage 2 minus "
                  "stage 1 over the same queries, with a bootstrap 95 % interval; a row is green when the "
                  "P@1 interval lies above zero, red when below. * marks the paper's default (4x4, apc, "
                  "sinkhorn, eps 0.05, K 100, alpha 0.7); the examples use it.");
    for (size_t k = 0; k < in->r->n_kinds; k++) {
        const fe_eval_kind *kd = &in->r->kinds[k];
        char title[200], id[80];
        snprintf(title, sizeof title, "%s: %zu queries", kd->name, kd->n_queries);
        snprintf(id, sizeof id, "kind-%s", kd->name);
        fe__html_section_begin(h, title, id);
        results_table(&p, kd);
        examples(&p, kd, kd->fixed, kd->n_fixed, 1);
        examples(&p, kd, kd->broke, kd->n_broke, 0);
        fe__html_section_end(h);
    }
    char foot[256];
    snprintf(foot, sizeof foot, "Made by faceemd %s. Self-contained: images are inline, no scripts, "
             "nothing is fetched.", fe_version_string());
    fe__html_page_end(h, foot);
    st = fe__html_save(h, path);
    fe_session_destroy(p.s);
    free(p.flow);
    fe__html_free(h);
    return st == FE_OK ? CLI_OK : cli_fail(path, st);
}
