/*
 * font.h — faceemd's built-in 5x9 bitmap font (printable ASCII 32..126) and text drawing on
 * fe_image, for labels in contact sheets, flow pictures and reports. No font library.
 *
 * Metrics (at scale 1): a glyph is 5 columns x 9 rows in a 6 x 10 cell (1 column and 1 row of
 * spacing). Rows 0-6 hold capitals and digits (the baseline is under row 6), lower case has
 * its x-height on rows 2-6 and descenders on rows 7-8. Text is placed by the top-left corner
 * of its first cell. Bytes outside 32..126 (except '\n', a line break) draw a hollow box.
 */
#ifndef FE_FONT_H
#define FE_FONT_H

#include "draw.h"

#define FE__FONT_W       5   /* glyph width in pixels at scale 1                       */
#define FE__FONT_H       9   /* glyph height (with descender rows)                     */
#define FE__FONT_ADVANCE 6   /* horizontal distance between cells                      */
#define FE__FONT_LINE    10  /* vertical distance between lines                        */

/* The 9 row bytes of a glyph; in each, bit 4 is the leftmost column and bit 0 the rightmost.
 * Non-printable bytes give the replacement box. */
const uint8_t *fe__font_glyph(unsigned char c);

/* Draws s with its first cell's top-left at (x, y), every font pixel a scale x scale square
 * (scale 0 is taken as 1) blended with color; clipped to the image. */
void fe__text_draw(fe_image *img, int32_t x, int32_t y, const char *s, uint32_t scale,
                   fe__rgba color);
/* Width in pixels of the longest line: (6 n - 1) * scale for n characters, 0 if empty. */
uint32_t fe__text_width(const char *s, uint32_t scale);
/* Height in pixels: (10 lines - 1) * scale, counting a trailing line break as a line; 0 for
 * an empty string. */
uint32_t fe__text_height(const char *s, uint32_t scale);

#endif /* FE_FONT_H */
