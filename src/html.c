/*
 * html.c — the HTML report writer (see html.h): a growing byte buffer with sticky errors,
 * HTML escaping, PNG data URIs (fe__png_encode + base64.c) and the page skeleton with its
 * inline, responsive stylesheet. Pages are UTF-8; nothing is fetched from anywhere.
 */
#include "html.h"

#include "base64.h"
#include "image_codecs.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void fe__html_init(fe__html *h) {
    memset(h, 0, sizeof *h);
    h->status = FE_OK;
}

void fe__html_free(fe__html *h) {
    fe__free(h->buf);
    memset(h, 0, sizeof *h);
}

fe_status fe__html_status(const fe__html *h) { return h->status; }

/* Room for n more bytes plus the NUL; sets the sticky status on failure. */
static int reserve(fe__html *h, size_t n) {
    if (h->status != FE_OK) return 0;
    size_t need;
    if (!fe__add_size(h->len, n, &need) || !fe__add_size(need, 1, &need)) {
        h->status = fe__fail(FE_E_OVERFLOW, "page size overflows");
        return 0;
    }
    if (need <= h->cap) return 1;
    size_t cap = h->cap ? h->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *nb = fe__realloc(h->buf, cap);
    if (!nb) {
        h->status = fe__fail(FE_E_NOMEM, "cannot grow the page to %zu bytes", cap);
        return 0;
    }
    h->buf = nb;
    h->cap = cap;
    return 1;
}

static void put(fe__html *h, const char *s, size_t n) {
    if (!reserve(h, n)) return;
    memcpy(h->buf + h->len, s, n);
    h->len += n;
    h->buf[h->len] = 0;
}

void fe__html_raw(fe__html *h, const char *markup) {
    if (markup) put(h, markup, strlen(markup));
}

/* vsnprintf into a temporary buffer (NULL on failure, status set). */
static char *vformat(fe__html *h, const char *fmt, va_list ap) {
    if (h->status != FE_OK) return NULL;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) {
        h->status = fe__fail(FE_E_ARG, "bad format string");
        return NULL;
    }
    char *s = fe__malloc((size_t)n + 1);
    if (!s) {
        h->status = fe__fail(FE_E_NOMEM, "cannot format %d bytes", n);
        return NULL;
    }
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

void fe__html_rawf(fe__html *h, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(h, fmt, ap);
    va_end(ap);
    fe__html_raw(h, s);
    fe__free(s);
}

void fe__html_text(fe__html *h, const char *s) {
    if (!s) return;
    const char *run = s;   /* bytes copied as they are, up to p */
    const char *p = s;
    for (; *p; p++) {
        const char *ent = NULL;
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) ent = "&#xFFFD;";
        }
        if (ent) {
            put(h, run, (size_t)(p - run));
            put(h, ent, strlen(ent));
            run = p + 1;
        }
    }
    put(h, run, (size_t)(p - run));
}

void fe__html_textf(fe__html *h, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(h, fmt, ap);
    va_end(ap);
    fe__html_text(h, s);
    fe__free(s);
}

void fe__html_elem(fe__html *h, const char *tag, const char *cls, const char *text) {
    if (cls) fe__html_rawf(h, "<%s class=\"%s\">", tag, cls);
    else fe__html_rawf(h, "<%s>", tag);
    fe__html_text(h, text);
    fe__html_rawf(h, "</%s>", tag);
}

void fe__html_img_png(fe__html *h, const uint8_t *png, size_t n, uint32_t width, uint32_t height,
                      const char *alt, const char *cls) {
    int ok;
    size_t len = fe__base64_len(n, &ok);
    if (!ok) {
        if (h->status == FE_OK) h->status = fe__fail(FE_E_OVERFLOW, "data URI of %zu bytes", n);
        return;
    }
    fe__html_rawf(h, "<img src=\"data:image/png;base64,");
    if (!reserve(h, len)) return;
    h->len += fe__base64_encode(png, n, h->buf + h->len);
    fe__html_rawf(h, "\" width=\"%u\" height=\"%u\" alt=\"", width, height);
    fe__html_text(h, alt);
    if (cls) fe__html_rawf(h, "\" class=\"%s", cls);
    fe__html_raw(h, "\">");
}

void fe__html_img(fe__html *h, const fe_image *img, const char *alt, const char *cls) {
    if (h->status != FE_OK) return;
    uint8_t *png = NULL;
    size_t n = 0;
    fe_status st = fe__png_encode(img, 6, &png, &n);
    if (st != FE_OK) {
        h->status = st;
        return;
    }
    fe__html_img_png(h, png, n, img->width, img->height, alt, cls);
    fe__free(png);
}

void fe__html_figure(fe__html *h, const fe_image *img, const char *alt, const char *caption,
                     const char *cls) {
    if (cls) fe__html_rawf(h, "<figure class=\"%s\">", cls);
    else fe__html_raw(h, "<figure>");
    fe__html_img(h, img, alt, NULL);
    if (caption) fe__html_elem(h, "figcaption", NULL, caption);
    fe__html_raw(h, "</figure>\n");
}

/* One stylesheet for every report. Phone first: one column, images never wider than their
 * box, wide tables scroll inside their own box; from 700 px the two-column blocks sit side by
 * side. Colours follow the reader's light or dark preference. */
static const char css[] =
    ":root{--bg:#fafafa;--fg:#1d1d1f;--muted:#5f6368;--card:#fff;--line:#d9d9de;--good:#1e7d32;"
    "--bad:#b3261e;--accent:#3d5afe}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#151517;--fg:#e8e8ea;--muted:#a0a3a8;"
    "--card:#1f1f23;--line:#3a3a40;--good:#7bd88f;--bad:#ff8a80;--accent:#8c9eff}}\n"
    "*{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,-apple-system,"
    "'Segoe UI',Roboto,sans-serif;overflow-wrap:anywhere}\n"
    "header,main,footer{max-width:1200px;margin:0 auto;padding:12px 16px}\n"
    "h1{font-size:1.5rem;margin:.3em 0}h2{font-size:1.25rem;margin:1.2em 0 .5em;"
    "border-bottom:1px solid var(--line);padding-bottom:.2em}h3{font-size:1rem;margin:0 0 .4em}\n"
    ".muted,figcaption,footer{color:var(--muted);font-size:.9rem}\n"
    "section{margin-bottom:24px}\n"
    ".cards{display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(min(100%,260px),1fr))}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px;min-width:0}\n"
    ".cols{display:grid;gap:16px;grid-template-columns:1fr;margin:12px 0}\n"
    "@media (min-width:700px){.cols{grid-template-columns:1fr 1fr}}\n"
    ".col{min-width:0}\n"
    ".result{display:flex;gap:10px;align-items:center;margin-bottom:8px}\n"
    ".result img{width:96px;height:96px;flex:none;border-radius:6px}\n"
    ".result .who{font-weight:600}\n"
    ".hit{border-color:var(--good);box-shadow:inset 4px 0 0 var(--good)}\n"
    ".good{color:var(--good)}.bad{color:var(--bad)}\n"
    ".query{display:flex;gap:12px;align-items:center;flex-wrap:wrap}\n"
    ".query img{width:150px;height:150px;border-radius:6px}\n"
    "img{max-width:100%;height:auto}\n"
    ".px img,img.px{image-rendering:pixelated}\n"
    "figure{margin:0 0 16px}figure img{display:block;width:100%;border-radius:6px}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;font-size:.92rem;margin:.4em 0}\n"
    "caption{text-align:left;color:var(--muted);padding-bottom:.3em}\n"
    "th{white-space:nowrap}\n"
    "th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "tr.good td:first-child{box-shadow:inset 3px 0 0 var(--good)}"
    "tr.bad td:first-child{box-shadow:inset 3px 0 0 var(--bad)}\n"
    "code{font-size:.9em}\n"
    ".trio{display:grid;gap:8px;grid-template-columns:repeat(3,1fr)}.trio figure{margin:0}\n";

void fe__html_page_begin(fe__html *h, const char *title, const char *subtitle) {
    fe__html_raw(h, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta name=\"generator\" content=\"faceemd\">\n<title>");
    fe__html_text(h, title);
    fe__html_raw(h, "</title>\n<style>\n");
    fe__html_raw(h, css);
    fe__html_raw(h, "</style>\n</head>\n<body>\n<header>\n");
    fe__html_elem(h, "h1", NULL, title);
    if (subtitle) fe__html_elem(h, "p", "muted", subtitle);
    fe__html_raw(h, "\n</header>\n<main>\n");
}

void fe__html_page_end(fe__html *h, const char *footer) {
    fe__html_raw(h, "</main>\n<footer>");
    fe__html_text(h, footer);
    fe__html_raw(h, "</footer>\n</body>\n</html>\n");
}

void fe__html_section_begin(fe__html *h, const char *title, const char *id) {
    if (id) {
        fe__html_raw(h, "<section id=\"");
        fe__html_text(h, id);
        fe__html_raw(h, "\">\n");
    } else {
        fe__html_raw(h, "<section>\n");
    }
    if (title) fe__html_elem(h, "h2", NULL, title);
    fe__html_raw(h, "\n");
}

void fe__html_section_end(fe__html *h) { fe__html_raw(h, "</section>\n"); }
void fe__html_cards_begin(fe__html *h) { fe__html_raw(h, "<div class=\"cards\">\n"); }
void fe__html_cards_end(fe__html *h) { fe__html_raw(h, "</div>\n"); }

void fe__html_card_begin(fe__html *h, const char *title, const char *cls) {
    if (cls) fe__html_rawf(h, "<article class=\"card %s\">", cls);
    else fe__html_raw(h, "<article class=\"card\">");
    if (title) fe__html_elem(h, "h3", NULL, title);
    fe__html_raw(h, "\n");
}

void fe__html_card_end(fe__html *h) { fe__html_raw(h, "</article>\n"); }
void fe__html_cols_begin(fe__html *h) { fe__html_raw(h, "<div class=\"cols\">\n"); }
void fe__html_cols_end(fe__html *h) { fe__html_raw(h, "</div>\n"); }

void fe__html_col_begin(fe__html *h, const char *title) {
    fe__html_raw(h, "<div class=\"col\">");
    if (title) fe__html_elem(h, "h3", NULL, title);
    fe__html_raw(h, "\n");
}

void fe__html_col_end(fe__html *h) { fe__html_raw(h, "</div>\n"); }

void fe__html_table_begin(fe__html *h, const char *caption, const char *const *head, size_t n_cols) {
    fe__html_raw(h, "<div class=\"scroll\"><table>");
    if (caption) fe__html_elem(h, "caption", NULL, caption);
    fe__html_raw(h, "<thead><tr>");
    for (size_t i = 0; i < n_cols; i++) fe__html_elem(h, "th", NULL, head[i]);
    fe__html_raw(h, "</tr></thead>\n<tbody>\n");
}

static int is_number(const char *s) {
    if (!s || !*s) return 0;
    char *end;
    (void)strtod(s, &end);
    return end != s && *end == 0;
}

void fe__html_table_row(fe__html *h, const char *const *cells, size_t n_cols, const char *row_cls) {
    if (row_cls) fe__html_rawf(h, "<tr class=\"%s\">", row_cls);
    else fe__html_raw(h, "<tr>");
    for (size_t i = 0; i < n_cols; i++) fe__html_elem(h, "td", is_number(cells[i]) ? "num" : NULL, cells[i]);
    fe__html_raw(h, "</tr>\n");
}

void fe__html_table_end(fe__html *h) { fe__html_raw(h, "</tbody></table></div>\n"); }

fe_status fe__html_save(const fe__html *h, const char *path) {
    if (h->status != FE_OK) return h->status;
    return fe__write_file_atomic(path, h->buf ? h->buf : "", h->len);
}
