/*
 * cli_report.h — the HTML search report shared by `query --html` and `demo --html` (and open
 * to `eval --html`): for each searched query, its chip, the top results of stage 1 (cosine)
 * and of stage 2 (EMD re-ranked) side by side as result cards with identities and scores, and
 * the flow picture of each stage-2 result. Pages are built with src/html.h, so every label
 * and path is escaped and every image is an inline PNG data URI.
 */
#ifndef FE_CLI_REPORT_H
#define FE_CLI_REPORT_H

#include "cli.h"
#include "html.h"

#define CLI_REPORT_TOP 5

/* Where the gallery faces' chips come from: chip(user, i, &img) makes face i's chip (a new
 * image), or fails; a failed face shows a grey placeholder. Chips are made once and cached. */
typedef struct cli_report {
    fe__html                 html;
    const fe_gallery        *g;
    const fe_search_options *o;
    fe_status              (*chip)(void *user, size_t i, fe_image **out);
    void                    *user;
    fe_image               **cache;      /* one slot per gallery face                        */
    uint8_t                 *tried;
    size_t                   n_queries;
} cli_report;

/* One searched query. res holds the search output in final order (all faces, or at least
 * enough that every stage-1 rank <= CLI_REPORT_TOP is present). */
typedef struct cli_report_query {
    const char             *title;     /* "masked query: David_Wells_0004"                   */
    const char             *label;     /* short name in the flow pictures ("David_Wells_0004
                                          + mask"); NULL: title                              */
    const char             *note;      /* a verdict line, or NULL                            */
    const fe_image         *chip;      /* the query chip (150 x 150)                         */
    const fe_features      *f;         /* the query's features (for the flows)               */
    const fe_search_result *res;
    size_t                  n;
    uint32_t                want;      /* identity to mark as correct, or UINT32_MAX         */
} cli_report_query;

/* Starts a page; settings rows (pairs of label, value; n_rows rows) go in a table. */
int cli_report_begin(cli_report *r, const fe_gallery *g, const fe_search_options *o, const char *title,
                     const char *subtitle, const char *const *settings, size_t n_rows);
/* Appends one query's block. Returns CLI_OK or prints and returns CLI_FAIL. */
int cli_report_add(cli_report *r, const cli_report_query *q);
/* Ends the page and writes it atomically to path. Returns CLI_OK or CLI_FAIL. */
int cli_report_save(cli_report *r, const char *path);
void cli_report_free(cli_report *r);
/* A grey FE_CHIP_SIZE chip saying "no image", for a face whose picture cannot be made
 * (NULL when out of memory). Free with fe_image_free. */
fe_image *cli_report_placeholder_chip(void);

#endif
