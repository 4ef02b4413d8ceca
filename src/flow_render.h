/*
 * flow_render.h — the flow picture's layout, shared by flow_render.c and its golden tests
 * (faceemd.h documents the picture). All numbers are layout pixels: multiply by the scale.
 */
#ifndef FE_FLOW_RENDER_H
#define FE_FLOW_RENDER_H

#include "internal.h"

#define FE__FLOW_PAD      6     /* margin and gap between panels                              */
#define FE__FLOW_TITLE_Y  6     /* the title line                                             */
#define FE__FLOW_CAP_Y    20    /* panel captions                                             */
#define FE__FLOW_PANEL_Y  32    /* panels' top row                                            */
#define FE__FLOW_SCORE_Y  189   /* first score line; the second is 12 lower                   */
#define FE__FLOW_PANELS   5
#define FE__FLOW_LEGEND_W 160   /* the heat ramp under the weight panels                       */
#define FE__FLOW_W        (FE__FLOW_PAD + FE__FLOW_PANELS * (FE_CHIP_SIZE + FE__FLOW_PAD))  /* 786 */
#define FE__FLOW_H        220

enum { FE__FLOW_QUERY = 0, FE__FLOW_CAND = 1, FE__FLOW_REBUILT = 2, FE__FLOW_QWEIGHT = 3,
       FE__FLOW_CWEIGHT = 4 };

static inline int32_t fe__flow_panel_x(int panel) {
    return FE__FLOW_PAD + panel * (FE_CHIP_SIZE + FE__FLOW_PAD);
}

/* Background and text colours (RGB). */
#define FE__FLOW_BG_R 32
#define FE__FLOW_BG_G 33
#define FE__FLOW_BG_B 36

/* The two score lines exactly as drawn. */
void fe__flow_score_lines(const fe_flow *flow, char *line1, size_t cap1, char *line2, size_t cap2);

#endif
