/*
 * textlines.c — the shared line reader of the strict text lists (textlines.h).
 */
#include "textlines.h"

#include <string.h>

fe_status fe__text_begin(fe__text_reader *r, const char *src, const uint8_t *data, size_t size,
                         const char *first_line, size_t *max_rows) {
    memset(r, 0, sizeof *r);
    r->src = src;
    r->data = data;
    r->size = size;
    *max_rows = 0;
    if (size == 0) return fe__fail(FE_E_TRUNCATED, "%s line 1: empty file (no %s)", src, first_line);
    size_t lines = 0;
    for (const uint8_t *p = data, *end = data + size; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        lines++;
    if (data[size - 1] != '\n') lines++;
    if (lines - 1 > FE_MAX_GALLERY)
        return fe__fail(FE_E_LIMIT, "%s: %zu lines exceed the %u-row limit", src, lines, FE_MAX_GALLERY);
    *max_rows = lines - 1;
    return FE_OK;
}

int fe__text_next_line(fe__text_reader *r, fe_status *st) {
    if (r->pos >= r->size) return 0;
    r->line_no++;
    const uint8_t *nl = memchr(r->data + r->pos, '\n', r->size - r->pos);
    size_t end = nl ? (size_t)(nl - r->data) : r->size;
    r->s = (const char *)r->data + r->pos;
    r->len = end - r->pos;
    r->unterminated = nl == NULL;
    r->pos = end + 1;
    if (r->len > 0 && r->s[r->len - 1] == '\r' && !r->unterminated) r->len--;  /* CRLF */
    if (r->len > FE_MAX_LINE) {
        *st = fe__fail(FE_E_LIMIT, "%s line %zu: %zu bytes, longer than the %u-byte limit", r->src,
                       r->line_no, r->len, FE_MAX_LINE);
        return -1;
    }
    for (size_t i = 0; i < r->len; i++) {
        unsigned char c = (unsigned char)r->s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *st = fe__fail(FE_E_SYNTAX, "%s line %zu: control byte 0x%02x at column %zu", r->src,
                           r->line_no, c, i + 1);
            return -1;
        }
    }
    return 1;
}

void fe__text_split(const fe__text_reader *r, fe__text_fields *out) {
    out->n = 0;
    for (size_t i = 0, a = 0;; i++) {
        if (i == r->len || r->s[i] == '\t') {
            if (out->n < FE_TEXT_MAX_FIELDS) {
                out->f[out->n] = r->s + a;
                out->len[out->n] = i - a;
            }
            out->n++;
            a = i + 1;
            if (i == r->len) break;
        }
    }
}

fe_status fe__text_load_file(const char *path, fe__text_parser parse, void *out) {
    uint8_t *data;
    size_t n;
    fe_status st = fe__read_file(path, (size_t)FE_MAX_FILE_BYTES, &data, &n);
    if (st != FE_OK) return st;
    st = parse(path, data, n, out);
    fe__free(data);
    return st;
}
