/*
 * textlines.h — the line discipline shared by faceemd's strict text lists (landmark TSVs,
 * LFW pairs and people files): LF line ends (CRLF tolerated; a lone CR is a control byte),
 * lines of at most FE_MAX_LINE bytes, no control bytes but TAB, tab-separated fields, and a
 * line count taken before parsing so no allocation trusts a count the file only claims.
 */
#ifndef FE_TEXTLINES_H
#define FE_TEXTLINES_H

#include "internal.h"

typedef struct fe__text_reader {
    const char    *src;       /* file name for messages, or "<memory>"                      */
    const uint8_t *data;
    size_t         size, pos, line_no;
    /* the current line */
    const char    *s;
    size_t         len;
    int            unterminated;  /* the file ended without a LF after this line            */
} fe__text_reader;

#define FE_TEXT_MAX_FIELDS 11

typedef struct fe__text_fields {
    size_t      n;              /* columns found (may exceed FE_TEXT_MAX_FIELDS)             */
    const char *f[FE_TEXT_MAX_FIELDS];
    size_t      len[FE_TEXT_MAX_FIELDS];
} fe__text_fields;

/* Starts reading data: FE_E_TRUNCATED for an empty file ("no <first_line>"), FE_E_LIMIT when
 * the lines after the first exceed FE_MAX_GALLERY. *max_rows = lines after the first line. */
fe_status fe__text_begin(fe__text_reader *r, const char *src, const uint8_t *data, size_t size,
                         const char *first_line, size_t *max_rows);

/* Advances to the next line: 0 at the end of data, 1 with a line in r->s / r->len, -1 with
 * *st set (FE_E_LIMIT long line, FE_E_SYNTAX control byte). */
int fe__text_next_line(fe__text_reader *r, fe_status *st);

/* Splits the current line at tabs (out->n counts every column, only the first
 * FE_TEXT_MAX_FIELDS are stored). */
void fe__text_split(const fe__text_reader *r, fe__text_fields *out);

/* Reads path (at most FE_MAX_FILE_BYTES) and hands it to parse(path, data, size, out). */
typedef fe_status (*fe__text_parser)(const char *src, const uint8_t *data, size_t size, void *out);
fe_status fe__text_load_file(const char *path, fe__text_parser parse, void *out);

#endif
