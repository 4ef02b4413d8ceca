/*
 * html.h — self-contained HTML pages for faceemd's reports (`query --html`, `demo --html`,
 * `eval --html`): a growing buffer with escaping writers, PNG images inlined as data URIs,
 * and one page skeleton whose inline CSS reads well on a phone and on a desktop. No scripts,
 * no external resources: a report works offline and from a file:// URL.
 *
 * Trust rule: every string that comes from input (file names, labels, paths, messages) goes
 * through an escaping writer (fe__html_text, _textf, _elem, the title/caption/cell arguments
 * below). Only fe__html_raw / _rawf write markup verbatim; their arguments must be literals
 * or numbers made by the program. Class names (cls) are always program constants.
 *
 * Errors are sticky: a failed allocation or image encoding is remembered in the buffer, later
 * writes do nothing, and fe__html_status / fe__html_save return the first failure.
 *
 * Page structure (the CSS classes the skeleton styles):
 *   page_begin(title, subtitle)  <header> with h1 and a muted line, then <main>
 *   section_begin(title, id)     <section> with h2
 *   cards_begin / card_begin     a responsive grid of <article class="card ...">, one column
 *                                on a phone, as many ~260 px columns as fit on a desktop
 *   cols_begin / col_begin       two columns side by side (stacked under 700 px)
 *   <div class="trio">          three figures side by side at any width (eval examples)
 *   table_begin/row/end          a table that scrolls sideways inside its box when too wide
 *   img / img_png                <img> with a PNG data URI, scaled to fit its box
 *   figure                       an image with a caption (class "px": crisp pixel scaling)
 *   page_end(footer)
 */
#ifndef FE_HTML_H
#define FE_HTML_H

#include "internal.h"

typedef struct fe__html {
    char     *buf;      /* len bytes of page, NUL-terminated when cap > 0                   */
    size_t    len, cap;
    fe_status status;   /* FE_OK, or the first failure (sticky)                             */
} fe__html;

void fe__html_init(fe__html *h);
void fe__html_free(fe__html *h);
fe_status fe__html_status(const fe__html *h);

/* Markup verbatim (trusted, see the trust rule). */
void fe__html_raw(fe__html *h, const char *markup);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void fe__html_rawf(fe__html *h, const char *fmt, ...);

/* Text escaped for element content and quoted attribute values: & < > " ' become entities,
 * control bytes other than tab and line feed become U+FFFD. NULL writes nothing. */
void fe__html_text(fe__html *h, const char *s);
/* printf, then the whole result escaped as fe__html_text. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void fe__html_textf(fe__html *h, const char *fmt, ...);
/* <tag class="cls">escaped text</tag> (cls may be NULL). tag is a program constant. */
void fe__html_elem(fe__html *h, const char *tag, const char *cls, const char *text);

/* <img src="data:image/png;base64,..." width height alt class>: the image PNG-encoded in
 * memory (fe__png_encode, level 6). alt is escaped; cls may be NULL. */
void fe__html_img(fe__html *h, const fe_image *img, const char *alt, const char *cls);
/* The same from an already encoded PNG of width x height pixels. */
void fe__html_img_png(fe__html *h, const uint8_t *png, size_t n, uint32_t width, uint32_t height,
                      const char *alt, const char *cls);
/* <figure class="cls"><img ...><figcaption>caption</figcaption></figure>. */
void fe__html_figure(fe__html *h, const fe_image *img, const char *alt, const char *caption,
                     const char *cls);

/* The page skeleton: doctype, charset, viewport, title and the inline stylesheet. */
void fe__html_page_begin(fe__html *h, const char *title, const char *subtitle);
void fe__html_page_end(fe__html *h, const char *footer);
/* id may be NULL; it is escaped. */
void fe__html_section_begin(fe__html *h, const char *title, const char *id);
void fe__html_section_end(fe__html *h);
void fe__html_cards_begin(fe__html *h);
void fe__html_cards_end(fe__html *h);
/* <article class="card cls"> with an h3 title when title is not NULL. */
void fe__html_card_begin(fe__html *h, const char *title, const char *cls);
void fe__html_card_end(fe__html *h);
void fe__html_cols_begin(fe__html *h);
void fe__html_cols_end(fe__html *h);
void fe__html_col_begin(fe__html *h, const char *title);
void fe__html_col_end(fe__html *h);

/* A table: caption (may be NULL), n_cols header cells; rows of n_cols escaped cells. A cell
 * that parses completely as a number (strtod) is right-aligned (class "num"). row_cls (may be
 * NULL) classes the row, e.g. "good" or "bad". */
void fe__html_table_begin(fe__html *h, const char *caption, const char *const *head, size_t n_cols);
void fe__html_table_row(fe__html *h, const char *const *cells, size_t n_cols, const char *row_cls);
void fe__html_table_end(fe__html *h);

/* Writes the page atomically (temporary file + rename): the buffer's first failure, or
 * fe__write_file_atomic's status. */
fe_status fe__html_save(const fe__html *h, const char *path);

#endif
