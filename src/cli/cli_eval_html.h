/*
 * cli_eval_html.h — `faceemd eval --html FILE`: the evaluation as one self-contained page
 * (src/html.h: escaped text, inline PNGs, no scripts). Per kind a table of stage 1 and every
 * stage-2 row (P@1, RP, MAP@R, the deltas with their bootstrap 95 % intervals, fixed/broke),
 * then a few example queries whose top-1 the paper's default re-ranking fixed and broke: the
 * perturbed query chip (regenerated with fe_perturb from the example's seed, exactly as the
 * evaluation made it), stage 1's and stage 2's top-1 chips with identities and scores, and
 * the flow picture of the query against stage 2's top-1.
 */
#ifndef FE_CLI_EVAL_HTML_H
#define FE_CLI_EVAL_HTML_H

#include "cli_image.h"

#define CLI_EVAL_HTML_EXAMPLES 3   /* fixed and broke examples shown per kind */

typedef struct cli_eval_html_in {
    const fe_eval_result *r;
    const fe_gallery     *g;
    const fe_model       *model;      /* to embed the regenerated queries for their flows     */
    const cli_landmarks  *lm;         /* the landmarks the evaluation used                    */
    const char           *image_root; /* gallery paths are relative to this                  */
    const char           *data_dir, *index_path;   /* shown in the settings (may be NULL)    */
    const char           *verification;            /* a line, or NULL                        */
    double                total_s;
} cli_eval_html_in;

/* Builds the page and writes it atomically to path. CLI_OK, or prints and returns CLI_FAIL. */
int cli_eval_html_write(const char *path, const cli_eval_html_in *in);

#endif
