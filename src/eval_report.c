/*
 * eval_report.c — the per-query numbers of fe_eval_run (eval.c) become fe_eval_result: one
 * row per kind and method with means in %, paired deltas against stage 1 with a percentile
 * bootstrap 95 % interval over queries (fe__bootstrap_mean_ci, the same seed for every row,
 * so every row is resampled on the same query sets), top-1 fixed/broke counts, and up to
 * n_examples fixed and broke queries of the default variant, spread evenly over the list.
 */
#include "eval.h"
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static char *dup_str(const char *s) { return fe__strdup(s ? s : ""); }

static void free_examples(fe_eval_example *e, size_t n) {
    for (size_t i = 0; e && i < n; i++) {
        fe__free((void *)e[i].query_path);
        fe__free((void *)e[i].identity);
        fe__free((void *)e[i].stage1_path);
        fe__free((void *)e[i].stage1_identity);
        fe__free((void *)e[i].stage2_path);
        fe__free((void *)e[i].stage2_identity);
    }
    fe__free(e);
}

void fe_eval_result_free(fe_eval_result *r) {
    if (!r) return;
    for (size_t k = 0; r->kinds && k < r->n_kinds; k++) {
        free_examples(r->kinds[k].fixed, r->kinds[k].n_fixed);
        free_examples(r->kinds[k].broke, r->kinds[k].n_broke);
    }
    fe__free(r->kinds);
    fe__free(r->rows);
    fe__free(r);
}

/* ---- bootstrap tasks: one per (row, metric) ------------------------------------------- */

typedef struct boot_job {
    const fe__eval_tables *t;
    fe_eval_result        *res;
    fe_status             *status;     /* per task                                            */
} boot_job;

static void boot_task(void *ctx, int tid, size_t task) {
    (void)tid;
    boot_job *j = ctx;
    size_t row = task / 3, metric = task % 3;
    fe_eval_row *rw = &j->res->rows[row];
    const fe__eval_scores *s = &j->t->kind[rw->kind_index];
    size_t col = (size_t)(row - j->res->kinds[rw->kind_index].row_first);   /* 0 = stage 1 */
    const double *v = metric == 0 ? s->p1 : metric == 1 ? s->rp : s->map_r;
    double *d = fe__malloc((s->n_q ? s->n_q : 1) * sizeof *d);
    if (!d) {
        j->status[task] = fe__fail(FE_E_NOMEM, "bootstrap deltas");
        return;
    }
    size_t m = 0;
    for (size_t q = 0; q < s->n_q; q++)
        if (s->ok[q]) d[m++] = 100.0 * (v[q * s->n_cols + col] - v[q * s->n_cols]);
    double lo, hi;
    j->status[task] = fe__bootstrap_mean_ci(d, m, j->t->opt->n_boot, j->t->opt->seed, &lo, &hi);
    double *ci = metric == 0 ? rw->ci_p1 : metric == 1 ? rw->ci_rp : rw->ci_map_r;
    ci[0] = lo;
    ci[1] = hi;
    fe__free(d);
}

/* ---- examples ------------------------------------------------------------------------- */

static fe_status fill_example(const fe__eval_tables *t, const fe__eval_scores *s, size_t q,
                              fe_eval_example *e) {
    const fe_gallery *g = t->g;
    uint32_t face = t->query_face[q];
    uint32_t a = s->top1[q * s->n_cols], b = s->top1[q * s->n_cols + 1];
    e->query_index = face;
    e->seed = t->opt->seed + face;
    e->stage1_index = a;
    e->stage2_index = b;
    e->stage1_score = s->top1_score[q * s->n_cols];
    e->stage2_score = s->top1_score[q * s->n_cols + 1];
    e->query_path = dup_str(fe_gallery_path(g, face));
    e->identity = dup_str(fe_gallery_label(g, face));
    e->stage1_path = dup_str(fe_gallery_path(g, a));
    e->stage1_identity = dup_str(fe_gallery_label(g, a));
    e->stage2_path = dup_str(fe_gallery_path(g, b));
    e->stage2_identity = dup_str(fe_gallery_label(g, b));
    if (!e->query_path || !e->identity || !e->stage1_path || !e->stage1_identity || !e->stage2_path ||
        !e->stage2_identity)
        return fe__fail(FE_E_NOMEM, "example strings");
    return FE_OK;
}

/* want_fixed: stage 1 wrong and the default right; else the reverse. */
static fe_status pick_examples(const fe__eval_tables *t, const fe__eval_scores *s, int want_fixed,
                               fe_eval_example **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    size_t total = 0;
    for (size_t q = 0; q < s->n_q; q++) {
        if (!s->ok[q]) continue;
        double a = s->p1[q * s->n_cols], b = s->p1[q * s->n_cols + 1];
        total += want_fixed ? (a == 0 && b == 1) : (a == 1 && b == 0);
    }
    size_t ne = t->opt->n_examples < total ? t->opt->n_examples : total;
    if (ne == 0) return FE_OK;
    fe_eval_example *e = fe__calloc(ne, sizeof *e);
    if (!e) return fe__fail(FE_E_NOMEM, "examples");
    size_t seen = 0, got = 0;
    fe_status st = FE_OK;
    for (size_t q = 0; q < s->n_q && got < ne && st == FE_OK; q++) {
        if (!s->ok[q]) continue;
        double a = s->p1[q * s->n_cols], b = s->p1[q * s->n_cols + 1];
        if (!(want_fixed ? (a == 0 && b == 1) : (a == 1 && b == 0))) continue;
        if (seen++ == got * total / ne) st = fill_example(t, s, q, &e[got++]);
    }
    *out = e;
    *n_out = got;
    return st;
}

/* ---- the result ----------------------------------------------------------------------- */

static void row_means(const fe__eval_scores *s, size_t col, fe_eval_row *rw) {
    double p1 = 0, rp = 0, mr = 0, d1 = 0, dr = 0, dm = 0;
    size_t m = 0;
    for (size_t q = 0; q < s->n_q; q++) {
        if (!s->ok[q]) continue;
        size_t a = q * s->n_cols, b = a + col;
        p1 += s->p1[b];
        rp += s->rp[b];
        mr += s->map_r[b];
        d1 += s->p1[b] - s->p1[a];
        dr += s->rp[b] - s->rp[a];
        dm += s->map_r[b] - s->map_r[a];
        rw->fixed += s->p1[a] == 0 && s->p1[b] == 1;
        rw->broke += s->p1[a] == 1 && s->p1[b] == 0;
        m++;
    }
    double f = m ? 100.0 / (double)m : NAN;
    rw->p1 = p1 * f;
    rw->rp = rp * f;
    rw->map_r = mr * f;
    rw->d_p1 = d1 * f;
    rw->d_rp = dr * f;
    rw->d_map_r = dm * f;
    rw->n_queries = m;
}

fe_status fe__eval_report(const fe__eval_tables *t, fe_eval_result **out) {
    *out = NULL;
    const fe_eval_options *o = t->opt;
    fe_eval_result *res = fe__calloc(1, sizeof *res);
    if (!res) return fe__fail(FE_E_NOMEM, "result");
    size_t per_kind = 1 + t->n_var;
    res->n_kinds = o->n_kinds;
    res->n_rows = o->n_kinds * per_kind;
    res->kinds = fe__calloc(o->n_kinds, sizeof *res->kinds);
    res->rows = fe__calloc(res->n_rows, sizeof *res->rows);
    res->gallery_faces = t->gallery_faces;
    res->gallery_identities = t->gallery_identities;
    res->setting = o->setting;
    res->seed = o->seed;
    res->n_boot = o->n_boot;
    fe_status st = res->kinds && res->rows ? FE_OK : fe__fail(FE_E_NOMEM, "result rows");
    for (size_t k = 0; st == FE_OK && k < o->n_kinds; k++) {
        const fe__eval_scores *s = &t->kind[k];
        fe_eval_kind *kd = &res->kinds[k];
        kd->kind = o->kinds[k];
        kd->name = fe_perturb_kind_name(o->kinds[k]);
        kd->n_excluded = t->n_excluded;
        kd->n_failed = s->n_failed;
        kd->n_fallback = s->n_fallback;
        kd->row_first = k * per_kind;
        kd->n_rows = per_kind;
        kd->seconds_embed = s->seconds_embed;
        kd->seconds_stage1 = s->seconds_stage1;
        kd->seconds_stage2 = s->seconds_stage2;
        for (size_t c = 0; c < per_kind; c++) {
            fe_eval_row *rw = &res->rows[kd->row_first + c];
            rw->kind_index = k;
            rw->n_excluded = t->n_excluded;
            if (c == 0) {
                snprintf(rw->method, sizeof rw->method, "stage1");
                rw->is_stage1 = 1;
            } else {
                const fe__eval_variant *v = &t->var[c - 1];
                snprintf(rw->method, sizeof rw->method, "%s", v->name);
                rw->is_default = v->is_default;
                rw->grid = v->grid;
                rw->weighting = v->weighting;
                rw->solver = v->solver;
                rw->epsilon = v->epsilon;
                rw->k = v->k;
                rw->alpha = v->alpha;
                rw->stage2_seconds = t->cfg_seconds[k * t->n_cfg + v->cfg];
            }
            row_means(s, c, rw);
            if (c == 0) rw->ci_p1[0] = rw->ci_p1[1] = rw->ci_rp[0] = rw->ci_rp[1] = rw->ci_map_r[0] =
                            rw->ci_map_r[1] = 0;
        }
        kd->n_queries = res->rows[kd->row_first].n_queries;
        st = pick_examples(t, s, 1, &kd->fixed, &kd->n_fixed);
        if (st == FE_OK) st = pick_examples(t, s, 0, &kd->broke, &kd->n_broke);
    }
    /* bootstrap intervals of the stage-2 rows' deltas */
    size_t n_tasks = res->n_rows * 3;
    fe_status *ts = st == FE_OK ? fe__calloc(n_tasks, sizeof *ts) : NULL;
    if (st == FE_OK && !ts) st = fe__fail(FE_E_NOMEM, "bootstrap tasks");
    if (st == FE_OK) {
        boot_job j = {t, res, ts};
        /* stage-1 rows have zero deltas: their tasks are cheap and harmless */
        if (o->parallel_for && o->n_threads > 1) o->parallel_for(o->n_threads, n_tasks, boot_task, &j);
        else
            for (size_t i = 0; i < n_tasks; i++) boot_task(&j, 0, i);
        for (size_t i = 0; i < n_tasks && st == FE_OK; i++) st = ts[i];
    }
    fe__free(ts);
    if (st != FE_OK) {
        fe_eval_result_free(res);
        return st;
    }
    *out = res;
    return FE_OK;
}
