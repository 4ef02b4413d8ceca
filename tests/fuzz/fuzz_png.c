/*
 * fuzz_png.c — libFuzzer target for the PNG reader (and, on inputs it accepts, the writer).
 *
 * Byte 0 picks how the rest is used: 0 as a PNG file unchanged (signature, CRC and chunk
 * paths); 1 as a PNG file with every chunk CRC recomputed, so mutations reach the chunk rules
 * and zlib; 2 as a recipe (IHDR fields, PLTE, tRNS and raw filtered rows) that is compressed
 * and wrapped into a valid container, so mutations reach the filters, Adam7 and the sample
 * conversions past the Adler-32 check. Any input must give a status, never a crash, leak or
 * hang. Accepted images must agree with fe__png_info and survive encode + decode unchanged
 * (abort() otherwise). Seeds: tests/fuzz/corpus/png.
 */
#include "deflate.h"
#include "image_codecs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fix_crcs(uint8_t *d, size_t n) {
    size_t p = 8;
    while (n >= 12 && p <= n - 12) {
        uint32_t len = fe__rd_u32be(d + p);
        if (len > n - p - 12) break;
        fe__wr_u32be(d + p + 8 + len, fe__crc32(0, d + p + 4, (size_t)len + 4));
        p += 12 + (size_t)len;
    }
}

static uint8_t *put_chunk(uint8_t *p, const char *type, const uint8_t *data, size_t len) {
    fe__wr_u32be(p, (uint32_t)len);
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    fe__wr_u32be(p + 8 + len, fe__crc32(0, p + 4, len + 4));
    return p + 12 + len;
}

/* recipe: w-1, h-1, type/depth selector, interlace|split, PLTE entries, tRNS bytes, level,
 * then PLTE (3 per entry), tRNS, and the raw rows (whatever remains) */
static uint8_t *synthesize(const uint8_t *r, size_t n, size_t *out_n) {
    static const uint8_t combos[15][2] = {{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1},
                                          {3, 2}, {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16}};
    if (n < 7) return NULL;
    uint32_t w = 1 + r[0] % 64, h = 1 + r[1] % 64;
    unsigned color = combos[r[2] % 15][0], depth = combos[r[2] % 15][1], interlace = r[3] & 1;
    size_t plte_n = r[4], trns_n = r[5] % 7, level = r[6] % 10, split = r[3] >> 1;
    r += 7;
    n -= 7;
    if (plte_n * 3 + trns_n > n) return NULL;
    const uint8_t *plte = r, *trns = r + plte_n * 3, *raw = trns + trns_n;
    size_t raw_n = n - plte_n * 3 - trns_n;
    uint8_t *z;
    size_t zn;
    if (fe__zlib_compress(raw, raw_n, (int)level, &z, &zn) != FE_OK) return NULL;
    size_t cap = 8 + 25 + (12 + plte_n * 3) + (12 + trns_n) + (zn + 1) * 12 + zn + 12;
    uint8_t *png = malloc(cap), *p = png;
    if (!png) { fe__free(z); return NULL; }
    uint8_t ihdr[13] = {0};
    fe__wr_u32be(ihdr, w);
    fe__wr_u32be(ihdr + 4, h);
    ihdr[8] = (uint8_t)depth;
    ihdr[9] = (uint8_t)color;
    ihdr[12] = (uint8_t)interlace;
    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    p = put_chunk(p + 8, "IHDR", ihdr, 13);
    if (plte_n) p = put_chunk(p, "PLTE", plte, plte_n * 3);
    if (trns_n) p = put_chunk(p, "tRNS", trns, trns_n);
    size_t step = split ? split : zn + 1, k = 0;
    do {
        size_t len = zn - k < step ? zn - k : step;
        p = put_chunk(p, "IDAT", z + k, len);
        k += len;
    } while (k < zn);
    p = put_chunk(p, "IEND", NULL, 0);
    fe__free(z);
    *out_n = (size_t)(p - png);
    return png;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0] % 3;
    uint8_t *buf = NULL;
    size_t n = size - 1;
    if (mode == 2) {
        buf = synthesize(data + 1, size - 1, &n);
        if (!buf) return 0;
    } else {
        buf = malloc(n ? n : 1);
        if (!buf) return 0;
        memcpy(buf, data + 1, n);
        if (mode == 1) fix_crcs(buf, n);
    }
    fe_image_header h;
    fe_status hs = fe__png_info(buf, n, &h);
    fe_image *img;
    if (fe__png_decode(buf, n, &img) != FE_OK) {
        free(buf);
        return 0;
    }
    if (hs != FE_OK || h.width != img->width || h.height != img->height || h.channels != img->channels)
        abort();  /* a file that decodes must have a header that says so */
    if ((uint64_t)img->width * img->height <= (1u << 16)) {
        uint8_t *png;
        size_t pn;
        fe_image *back;
        if (fe__png_encode(img, (int)(size % 10), &png, &pn) != FE_OK) abort();
        if (fe__png_decode(png, pn, &back) != FE_OK) abort();
        size_t bytes = (size_t)img->width * img->height * img->channels;
        if (back->channels != img->channels || memcmp(back->data, img->data, bytes) != 0) abort();
        fe_image_free(back);
        fe__free(png);
    }
    fe_image_free(img);
    free(buf);
    return 0;
}
