/*
 * image_ppm.c — Netpbm binary PGM (P5) and PPM (P6) reader and writer.
 *
 * Header: magic, whitespace-separated width, height, maxval (1..65535), '#' comments allowed
 * between fields, then exactly one whitespace byte before the raster. Samples wider than
 * 8 bits (maxval > 255) are big-endian 16-bit. Every sample is rescaled to 0..255 with
 * rounding: v8 = (v * 255 + maxval / 2) / maxval, which is the identity for maxval 255.
 */
#include "image_codecs.h"

#include <stdio.h>
#include <string.h>

typedef struct ppm_header {
    uint32_t width, height, channels, maxval;
    size_t   raster_offset;
} ppm_header;

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Skips whitespace and comments; returns FE_OK with *pos at the next token. */
static fe_status skip_space(const uint8_t *p, size_t n, size_t *pos) {
    size_t i = *pos;
    for (;;) {
        while (i < n && is_space(p[i])) i++;
        if (i < n && p[i] == '#') {
            while (i < n && p[i] != '\n' && p[i] != '\r') i++;
            continue;
        }
        break;
    }
    *pos = i;
    return i < n ? FE_OK : fe__fail(FE_E_TRUNCATED, "PPM header ends early (byte %zu)", i);
}

static fe_status read_uint(const uint8_t *p, size_t n, size_t *pos, const char *field, uint32_t *out) {
    fe_status st = skip_space(p, n, pos);
    if (st != FE_OK) return st;
    size_t i = *pos;
    if (p[i] < '0' || p[i] > '9')
        return fe__fail(FE_E_CORRUPT, "PPM %s is not a number (byte %zu)", field, i);
    uint64_t v = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > UINT32_MAX) return fe__fail(FE_E_LIMIT, "PPM %s is too large (byte %zu)", field, *pos);
        i++;
    }
    if (i >= n) return fe__fail(FE_E_TRUNCATED, "PPM header ends inside %s", field);
    *pos = i;
    *out = (uint32_t)v;
    return FE_OK;
}

static fe_status parse_header(const uint8_t *p, size_t n, ppm_header *h) {
    memset(h, 0, sizeof *h);
    if (n < 2 || p[0] != 'P' || (p[1] != '5' && p[1] != '6'))
        return fe__fail(FE_E_MAGIC, "not a binary PGM/PPM (P5/P6)");
    h->channels = p[1] == '6' ? 3 : 1;
    size_t pos = 2;
    if (pos < n && !is_space(p[pos]) && p[pos] != '#')
        return fe__fail(FE_E_MAGIC, "no whitespace after the P%c magic", p[1]);
    fe_status st;
    if ((st = read_uint(p, n, &pos, "width", &h->width)) != FE_OK) return st;
    if ((st = read_uint(p, n, &pos, "height", &h->height)) != FE_OK) return st;
    if ((st = read_uint(p, n, &pos, "maxval", &h->maxval)) != FE_OK) return st;
    if (h->maxval == 0 || h->maxval > 65535)
        return fe__fail(FE_E_CORRUPT, "PPM maxval %u is outside 1..65535", h->maxval);
    if (!is_space(p[pos])) return fe__fail(FE_E_CORRUPT, "no whitespace after maxval (byte %zu)", pos);
    h->raster_offset = pos + 1;
    return fe__image_check_dims(h->width, h->height, h->channels);
}

fe_status fe__ppm_info(const uint8_t *data, size_t n, fe_image_header *out) {
    memset(out, 0, sizeof *out);
    ppm_header h;
    fe_status st = parse_header(data, n, &h);
    if (st != FE_OK) return st;
    out->format = FE_IMAGE_PPM;
    out->width = h.width;
    out->height = h.height;
    out->channels = h.channels;
    return FE_OK;
}

fe_status fe__ppm_decode(const uint8_t *data, size_t n, fe_image **out) {
    *out = NULL;
    ppm_header h;
    fe_status st = parse_header(data, n, &h);
    if (st != FE_OK) return st;
    size_t bytes_per = h.maxval > 255 ? 2 : 1;
    size_t samples = (size_t)h.width * h.height * h.channels;  /* bounded by the caps */
    if (n - h.raster_offset < samples * bytes_per)
        return fe__fail(FE_E_TRUNCATED, "PPM raster has %zu bytes, needs %zu",
                        n - h.raster_offset, samples * bytes_per);
    fe_image *img;
    if ((st = fe__image_new(h.width, h.height, h.channels, &img)) != FE_OK) return st;
    const uint8_t *r = data + h.raster_offset;
    uint32_t m = h.maxval;
    for (size_t i = 0; i < samples; i++) {
        uint32_t v = bytes_per == 2 ? ((uint32_t)r[2 * i] << 8) | r[2 * i + 1] : r[i];
        if (v > m) v = m;  /* out-of-range samples saturate (Netpbm says they are invalid) */
        img->data[i] = m == 255 ? (uint8_t)v : (uint8_t)((v * 255u + m / 2) / m);
    }
    *out = img;
    return FE_OK;
}

fe_status fe__ppm_encode(const fe_image *img, uint8_t **out_data, size_t *out_size) {
    *out_data = NULL;
    *out_size = 0;
    if (img->channels != 1 && img->channels != 3)
        return fe__fail(FE_E_UNSUPPORTED, "PPM/PGM holds 1 or 3 channels, not %u (convert first)",
                        img->channels);
    char head[64];
    int hn = snprintf(head, sizeof head, "P%c\n%u %u\n255\n", img->channels == 3 ? '6' : '5',
                      img->width, img->height);
    size_t raster = (size_t)img->width * img->height * img->channels;
    uint8_t *buf = fe__malloc((size_t)hn + raster);
    if (!buf) return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes", (size_t)hn + raster);
    memcpy(buf, head, (size_t)hn);
    memcpy(buf + hn, img->data, raster);
    *out_data = buf;
    *out_size = (size_t)hn + raster;
    return FE_OK;
}
