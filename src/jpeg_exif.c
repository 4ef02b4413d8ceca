/*
 * jpeg_exif.c — Exif orientation (Exif 2.32 §4.6.4, TIFF 6.0 IFD layout) and its application.
 *
 * APP1 payload: "Exif\0\0", then a TIFF header ("II" little- or "MM" big-endian, 42, offset
 * of IFD0 from the TIFF header), IFD0 = u16 count + 12-byte entries (tag, type, count, value).
 * Tag 0x0112 (SHORT) holds 1..8. Every offset is checked against the payload; anything
 * malformed means "no orientation" (1) — the pixels stay decodable, as in common viewers.
 */
#include "jpeg.h"

static uint32_t rd(const uint8_t *p, int bytes, int big) {
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint32_t)p[big ? i : bytes - 1 - i] << (8 * (bytes - 1 - i));
    return v;
}

int fe__jpeg_exif_orientation(const uint8_t *p, size_t n) {
    if (n < 6 + 8) return 1;
    const uint8_t *t = p + 6;  /* TIFF header; all offsets are relative to it */
    size_t tn = n - 6;
    int big;
    if (t[0] == 'I' && t[1] == 'I') big = 0;
    else if (t[0] == 'M' && t[1] == 'M') big = 1;
    else return 1;
    if (rd(t + 2, 2, big) != 42) return 1;
    uint32_t ifd = rd(t + 4, 4, big);
    if (ifd < 8 || ifd > tn || tn - ifd < 2) return 1;
    uint32_t count = rd(t + ifd, 2, big);
    if ((size_t)count > (tn - ifd - 2) / 12) return 1;  /* entries must lie inside the payload */
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = t + ifd + 2 + 12 * (size_t)i;
        if (rd(e, 2, big) != 0x0112) continue;
        if (rd(e + 2, 2, big) != 3 || rd(e + 4, 4, big) < 1) return 1;  /* SHORT, count >= 1 */
        uint32_t v = rd(e + 8, 2, big);  /* a single SHORT sits in the value field itself */
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

void fe__jpeg_oriented_size(int orientation, uint32_t w, uint32_t h, uint32_t *ow, uint32_t *oh) {
    int swap = orientation >= 5 && orientation <= 8;
    *ow = swap ? h : w;
    *oh = swap ? w : h;
}

/* For each output pixel (x, y) of an ow x oh image, the source pixel in the W x H original:
 *   1 (x, y)        2 (W-1-x, y)       3 (W-1-x, H-1-y)   4 (x, H-1-y)
 *   5 (y, x)        6 (y, H-1-x)       7 (W-1-y, H-1-x)   8 (W-1-y, x)
 * i.e. 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse,
 * 8 rotate 90 counter-clockwise — what a viewer must do to display the image upright. */
void fe__jpeg_orient(int orientation, const fe_image *src, fe_image *dst) {
    uint32_t W = src->width, H = src->height, ow = dst->width, oh = dst->height;
    size_t c = src->channels;
    for (uint32_t y = 0; y < oh; y++) {
        uint8_t *out = dst->data + (size_t)y * ow * c;
        for (uint32_t x = 0; x < ow; x++, out += c) {
            uint32_t sx, sy;
            switch (orientation) {
            case 2: sx = W - 1 - x; sy = y; break;
            case 3: sx = W - 1 - x; sy = H - 1 - y; break;
            case 4: sx = x; sy = H - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = H - 1 - x; break;
            case 7: sx = W - 1 - y; sy = H - 1 - x; break;
            case 8: sx = W - 1 - y; sy = x; break;
            default: sx = x; sy = y; break;
            }
            const uint8_t *in = src->data + ((size_t)sy * W + sx) * c;
            for (size_t k = 0; k < c; k++) out[k] = in[k];
        }
    }
}
