/*
 * image_png.c — PNG decoder (every colour type and bit depth, PLTE/tRNS, Adam7) and an 8-bit
 * encoder, following the PNG specification (W3C, 2nd edition / ISO/IEC 15948).
 *
 * Decoding checks every chunk's CRC, the critical-chunk rules (IHDR first; PLTE at most once,
 * before IDAT; IDAT consecutive; IEND present) and rejects unknown critical chunks
 * (FE_E_UNSUPPORTED); other ancillary chunks are skipped. Sizes are capped before allocation,
 * and the IDAT data must inflate to exactly the raw size the header implies (inflate.c caps it).
 * Output, 8 bits per channel: gray 1 channel, gray+alpha 2, RGB 3, RGBA 4; palette 3 (4 with
 * tRNS; entries past the tRNS list are opaque); a tRNS colour key on gray/RGB adds alpha:
 * 0 where the raw sample(s) equal the key at full bit depth, else 255.
 * Sample rules: 16-bit v -> round(v / 257) = (v * 255 + 32767) / 65535 (exact rounding; keeping
 * only the high byte would be off by one for about half the values); 1/2/4-bit gray
 * v -> v * 255 / (2^d - 1), i.e. v * 255, * 85, * 17 (exact). A palette index past PLTE is
 * FE_E_CORRUPT.
 * Encoding: 8-bit gray / gray+alpha / RGB / RGBA, not interlaced; per row the filter with the
 * least sum of |residual| (residuals read as signed bytes), then deflate.c.
 */
#include "image_codecs.h"

#include "deflate.h"
#include "inflate.h"

#include <string.h>

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* Adam7 passes: first column, first row, column step, row step */
static const uint8_t adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                    {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

typedef struct png {
    uint32_t width, height;
    unsigned depth, color, interlace;
    unsigned spp;               /* samples per pixel in the file */
    unsigned out_channels;
    uint8_t plte[256][3];
    unsigned plte_n;
    uint8_t trns[256];          /* palette alpha */
    unsigned trns_n;
    int has_trns;               /* any tRNS (palette alpha or colour key) */
    uint16_t key[3];            /* colour key, raw sample values */
    size_t idat_first;          /* offset of the first IDAT chunk's length field */
    size_t idat_bytes;          /* total IDAT payload */
    unsigned idat_chunks;
} png;

typedef struct chunk {
    size_t at;                  /* offset of the length field */
    uint32_t len;
    char type[5];
    const uint8_t *data;
} chunk;

static int is_critical(const char *t) { return t[0] >= 'A' && t[0] <= 'Z'; }

/* Reads and CRC-checks the chunk at *pos; advances *pos past it. */
static fe_status read_chunk(const uint8_t *d, size_t n, size_t *pos, chunk *c) {
    size_t p = *pos;
    if (n - p < 8) return fe__fail(FE_E_TRUNCATED, "PNG ends at byte %zu inside a chunk header (no IEND)", n);
    c->at = p;
    c->len = fe__rd_u32be(d + p);
    memcpy(c->type, d + p + 4, 4);
    c->type[4] = 0;
    for (int i = 0; i < 4; i++) {
        char ch = c->type[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
            return fe__fail(FE_E_CORRUPT, "PNG chunk type at byte %zu is not 4 letters", p + 4);
    }
    if (c->len > 0x7fffffffu)
        return fe__fail(FE_E_CORRUPT, "PNG %s chunk length %u exceeds 2^31-1 (byte %zu)", c->type, c->len, p);
    if (n - p - 8 < (size_t)c->len + 4)
        return fe__fail(FE_E_TRUNCATED, "PNG %s chunk at byte %zu needs %u+4 bytes, %zu remain", c->type,
                        p, c->len, n - p - 8);
    c->data = d + p + 8;
    uint32_t want = fe__rd_u32be(d + p + 8 + c->len), got = fe__crc32(0, d + p + 4, (size_t)c->len + 4);
    if (want != got)
        return fe__fail(FE_E_CHECKSUM, "PNG %s chunk at byte %zu: CRC %08x, data gives %08x", c->type, p,
                        want, got);
    *pos = p + 12 + c->len;
    return FE_OK;
}

static fe_status parse_ihdr(png *g, const chunk *c) {
    if (strcmp(c->type, "IHDR") != 0)
        return fe__fail(FE_E_CORRUPT, "PNG first chunk is %s, not IHDR", c->type);
    if (c->len != 13) return fe__fail(FE_E_CORRUPT, "PNG IHDR has %u bytes, not 13", c->len);
    const uint8_t *p = c->data;
    g->width = fe__rd_u32be(p);
    g->height = fe__rd_u32be(p + 4);
    g->depth = p[8];
    g->color = p[9];
    g->interlace = p[12];
    if (g->width == 0 || g->height == 0 || g->width > 0x7fffffffu || g->height > 0x7fffffffu)
        return fe__fail(FE_E_CORRUPT, "PNG size %ux%u is invalid", g->width, g->height);
    unsigned d = g->depth;
    int ok;
    switch (g->color) {
    case 0: ok = d == 1 || d == 2 || d == 4 || d == 8 || d == 16; g->spp = 1; break;
    case 3: ok = d == 1 || d == 2 || d == 4 || d == 8; g->spp = 1; break;
    case 2: ok = d == 8 || d == 16; g->spp = 3; break;
    case 4: ok = d == 8 || d == 16; g->spp = 2; break;
    case 6: ok = d == 8 || d == 16; g->spp = 4; break;
    default: return fe__fail(FE_E_CORRUPT, "PNG colour type %u is invalid", g->color);
    }
    if (!ok) return fe__fail(FE_E_CORRUPT, "PNG bit depth %u is invalid for colour type %u", d, g->color);
    if (p[10] != 0) return fe__fail(FE_E_CORRUPT, "PNG compression method %u is invalid", p[10]);
    if (p[11] != 0) return fe__fail(FE_E_CORRUPT, "PNG filter method %u is invalid", p[11]);
    if (g->interlace > 1) return fe__fail(FE_E_CORRUPT, "PNG interlace method %u is invalid", g->interlace);
    return fe__image_check_dims(g->width, g->height, 4);  /* caps, before anything is allocated */
}

/* Walks the chunks. With stop_at_idat, returns at the first IDAT (enough for the header);
 * otherwise validates through IEND and records the IDAT extent. */
static fe_status parse(const uint8_t *d, size_t n, png *g, int stop_at_idat) {
    memset(g, 0, sizeof *g);
    if (n < 8 || memcmp(d, png_sig, 8) != 0) return fe__fail(FE_E_MAGIC, "not a PNG (bad signature)");
    size_t pos = 8;
    chunk c;
    fe_status st = read_chunk(d, n, &pos, &c);
    if (st != FE_OK) return st;
    if ((st = parse_ihdr(g, &c)) != FE_OK) return st;
    int seen_plte = 0, seen_idat = 0, last_was_idat = 0;
    for (;;) {
        if ((st = read_chunk(d, n, &pos, &c)) != FE_OK) return st;
        int is_idat = !strcmp(c.type, "IDAT");
        if (!strcmp(c.type, "IHDR")) return fe__fail(FE_E_DUPLICATE, "PNG has a second IHDR (byte %zu)", c.at);
        if (is_idat) {
            if (seen_idat && !last_was_idat)
                return fe__fail(FE_E_CORRUPT, "PNG IDAT chunks are not consecutive (byte %zu)", c.at);
            if (g->color == 3 && !seen_plte)
                return fe__fail(FE_E_NOT_FOUND, "PNG palette image has no PLTE before IDAT");
            if (!seen_idat) g->idat_first = c.at;
            seen_idat = 1;
            g->idat_bytes += c.len;  /* < n: no overflow */
            g->idat_chunks++;
            if (stop_at_idat) break;
        } else if (!strcmp(c.type, "PLTE")) {
            if (seen_idat) return fe__fail(FE_E_CORRUPT, "PNG PLTE after IDAT (byte %zu)", c.at);
            if (seen_plte) return fe__fail(FE_E_DUPLICATE, "PNG has a second PLTE (byte %zu)", c.at);
            if (g->has_trns) return fe__fail(FE_E_CORRUPT, "PNG PLTE after tRNS (byte %zu)", c.at);
            if (g->color == 0 || g->color == 4)
                return fe__fail(FE_E_CORRUPT, "PNG gray image (colour type %u) has a PLTE", g->color);
            if (c.len == 0 || c.len % 3 || c.len > 768)
                return fe__fail(FE_E_CORRUPT, "PNG PLTE length %u is not 3..768 in steps of 3", c.len);
            g->plte_n = c.len / 3;
            if (g->color == 3 && g->plte_n > (1u << g->depth))
                return fe__fail(FE_E_CORRUPT, "PNG PLTE has %u entries, more than %u-bit indices allow",
                                g->plte_n, g->depth);
            memcpy(g->plte, c.data, c.len);
            seen_plte = 1;
        } else if (!strcmp(c.type, "tRNS")) {
            if (seen_idat) return fe__fail(FE_E_CORRUPT, "PNG tRNS after IDAT (byte %zu)", c.at);
            if (g->has_trns) return fe__fail(FE_E_DUPLICATE, "PNG has a second tRNS (byte %zu)", c.at);
            if (g->color == 4 || g->color == 6)
                return fe__fail(FE_E_CORRUPT, "PNG tRNS on an image with an alpha channel (type %u)", g->color);
            if (g->color == 3) {
                if (!seen_plte) return fe__fail(FE_E_CORRUPT, "PNG tRNS before PLTE (byte %zu)", c.at);
                if (c.len > g->plte_n)
                    return fe__fail(FE_E_CORRUPT, "PNG tRNS has %u entries for %u palette colours", c.len,
                                    g->plte_n);
                memcpy(g->trns, c.data, c.len);
                g->trns_n = c.len;
            } else {
                unsigned want = g->color == 0 ? 2 : 6;
                if (c.len != want)
                    return fe__fail(FE_E_CORRUPT, "PNG tRNS has %u bytes, colour type %u needs %u", c.len,
                                    g->color, want);
                for (unsigned i = 0; i < want / 2; i++) g->key[i] = (uint16_t)(c.data[2 * i] << 8 | c.data[2 * i + 1]);
            }
            g->has_trns = 1;
        } else if (!strcmp(c.type, "IEND")) {
            if (!seen_idat) return fe__fail(FE_E_NOT_FOUND, "PNG has no IDAT chunk");
            if (c.len != 0) return fe__fail(FE_E_CORRUPT, "PNG IEND has %u bytes of data", c.len);
            break;  /* bytes after IEND are ignored, as by other decoders */
        } else if (is_critical(c.type)) {
            return fe__fail(FE_E_UNSUPPORTED, "PNG critical chunk %s is not supported (byte %zu)", c.type, c.at);
        }
        last_was_idat = is_idat;
    }
    switch (g->color) {
    case 0: g->out_channels = g->has_trns ? 2 : 1; break;
    case 2: g->out_channels = g->has_trns ? 4 : 3; break;
    case 3: g->out_channels = g->has_trns ? 4 : 3; break;
    case 4: g->out_channels = 2; break;
    default: g->out_channels = 4; break;
    }
    return FE_OK;
}

fe_status fe__png_info(const uint8_t *data, size_t n, fe_image_header *out) {
    memset(out, 0, sizeof *out);
    png g;
    fe_status st = parse(data, n, &g, 1);
    if (st != FE_OK) return st;
    out->format = FE_IMAGE_PNG;
    out->width = g.width;
    out->height = g.height;
    out->channels = g.out_channels;
    return FE_OK;
}

/* ---- raw layout and filters -------------------------------------------------------------- */

typedef struct pass {
    uint32_t x0, y0, dx, dy, w, h;
    size_t rowbytes;            /* without the filter byte */
    size_t offset;              /* of the pass's first filter byte in the raw buffer */
} pass;

/* Pass geometry and the total raw (filtered) size. Sizes are bounded by the caps already
 * checked, but the arithmetic is checked anyway. */
static fe_status layout(const png *g, pass *ps, unsigned *npass, size_t *raw_size) {
    size_t total = 0;
    unsigned np = g->interlace ? 7 : 1;
    size_t bits_pp = (size_t)g->spp * g->depth;
    for (unsigned i = 0; i < np; i++) {
        pass *p = &ps[i];
        if (g->interlace) {
            p->x0 = adam7[i][0]; p->y0 = adam7[i][1]; p->dx = adam7[i][2]; p->dy = adam7[i][3];
        } else {
            p->x0 = p->y0 = 0; p->dx = p->dy = 1;
        }
        p->w = g->width > p->x0 ? (g->width - p->x0 + p->dx - 1) / p->dx : 0;
        p->h = g->height > p->y0 ? (g->height - p->y0 + p->dy - 1) / p->dy : 0;
        size_t bits, row, bytes;
        if (!fe__mul_size(p->w, bits_pp, &bits) || !fe__add_size(bits / 8, (bits % 8) != 0, &row))
            return fe__fail(FE_E_OVERFLOW, "PNG row size overflows");
        p->rowbytes = row;
        p->offset = total;
        if (p->w == 0 || p->h == 0) continue;  /* an empty pass has no filter bytes either */
        if (!fe__mul_size(row + 1, p->h, &bytes) || !fe__add_size(total, bytes, &total))
            return fe__fail(FE_E_OVERFLOW, "PNG raw size overflows");
    }
    *npass = np;
    *raw_size = total;
    return FE_OK;
}

static inline uint8_t paeth(int a, int b, int c) {
    int p = a + b - c, pa = p > a ? p - a : a - p, pb = p > b ? p - b : b - p, pc = p > c ? p - c : c - p;
    return (uint8_t)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

/* Undoes the filters of one pass in place; bpp = bytes per complete pixel (at least 1). */
static fe_status unfilter(uint8_t *raw, const pass *p, size_t bpp, unsigned pass_no) {
    const uint8_t *prev = NULL;
    size_t rb = p->rowbytes;
    for (uint32_t r = 0; r < p->h; r++) {
        uint8_t *row = raw + p->offset + (size_t)r * (rb + 1), *x = row + 1;
        unsigned f = row[0];
        switch (f) {
        case 0: break;
        case 1:
            for (size_t i = bpp; i < rb; i++) x[i] = (uint8_t)(x[i] + x[i - bpp]);
            break;
        case 2:
            if (prev)
                for (size_t i = 0; i < rb; i++) x[i] = (uint8_t)(x[i] + prev[i]);
            break;
        case 3:
            if (prev) {
                for (size_t i = 0; i < bpp && i < rb; i++) x[i] = (uint8_t)(x[i] + (prev[i] >> 1));
                for (size_t i = bpp; i < rb; i++) x[i] = (uint8_t)(x[i] + ((x[i - bpp] + prev[i]) >> 1));
            } else {
                for (size_t i = bpp; i < rb; i++) x[i] = (uint8_t)(x[i] + (x[i - bpp] >> 1));
            }
            break;
        case 4:
            if (prev) {
                for (size_t i = 0; i < bpp && i < rb; i++) x[i] = (uint8_t)(x[i] + prev[i]);
                for (size_t i = bpp; i < rb; i++)
                    x[i] = (uint8_t)(x[i] + paeth(x[i - bpp], prev[i], prev[i - bpp]));
            } else {  /* Paeth of (left, 0, 0) is left */
                for (size_t i = bpp; i < rb; i++) x[i] = (uint8_t)(x[i] + x[i - bpp]);
            }
            break;
        default:
            return fe__fail(FE_E_CORRUPT, "PNG row %u%s has filter type %u (0..4 allowed)", r,
                            pass_no ? " of an Adam7 pass" : "", f);
        }
        prev = x;
    }
    return FE_OK;
}

/* ---- samples to output pixels ----------------------------------------------------------- */

static inline uint8_t from16(unsigned v) { return (uint8_t)((v * 255u + 32767u) / 65535u); }

/* Converts one unfiltered row of w pixels to output pixels written every `step` bytes. */
static fe_status convert_row(const png *g, const uint8_t *x, uint32_t w, uint8_t *dst, size_t step) {
    unsigned oc = g->out_channels, d = g->depth;
    if (g->color == 3) {
        unsigned shift0 = 8 - d, mask = (1u << d) - 1;
        for (uint32_t c = 0; c < w; c++, dst += step) {
            unsigned idx = d == 8 ? x[c] : (x[(size_t)c * d / 8] >> (shift0 - (c * d) % 8)) & mask;
            if (idx >= g->plte_n)
                return fe__fail(FE_E_CORRUPT, "PNG palette index %u is past the %u PLTE entries", idx,
                                g->plte_n);
            dst[0] = g->plte[idx][0];
            dst[1] = g->plte[idx][1];
            dst[2] = g->plte[idx][2];
            if (oc == 4) dst[3] = idx < g->trns_n ? g->trns[idx] : 255;
        }
        return FE_OK;
    }
    unsigned spp = g->spp;
    int key = g->has_trns;  /* colour types 0 and 2 only: tRNS is refused on 4 and 6 */
    if (d < 8) {  /* gray */
        unsigned shift0 = 8 - d, mask = (1u << d) - 1, mul = 255 / mask;
        for (uint32_t c = 0; c < w; c++, dst += step) {
            unsigned v = (x[(size_t)c * d / 8] >> (shift0 - (c * d) % 8)) & mask;
            dst[0] = (uint8_t)(v * mul);
            if (key) dst[1] = v == g->key[0] ? 0 : 255;
        }
    } else if (d == 8) {
        if (!key && step == spp) {
            memcpy(dst, x, (size_t)w * spp);
            return FE_OK;
        }
        for (uint32_t c = 0; c < w; c++, dst += step, x += spp) {
            for (unsigned s = 0; s < spp; s++) dst[s] = x[s];
            if (key)
                dst[spp] = (x[0] == g->key[0] && (spp == 1 || (x[1] == g->key[1] && x[2] == g->key[2])))
                               ? 0 : 255;
        }
    } else {
        for (uint32_t c = 0; c < w; c++, dst += step, x += 2 * spp) {
            int match = 1;
            for (unsigned s = 0; s < spp; s++) {
                unsigned v = (unsigned)x[2 * s] << 8 | x[2 * s + 1];
                dst[s] = from16(v);
                if (key) match &= v == g->key[s];  /* spp is 1 or 3 when keyed */
            }
            if (key) dst[spp] = match ? 0 : 255;
        }
    }
    return FE_OK;
}

fe_status fe__png_decode(const uint8_t *data, size_t n, fe_image **out) {
    *out = NULL;
    png *g = fe__malloc(sizeof *g);
    if (!g) return fe__fail(FE_E_NOMEM, "cannot allocate the PNG decoder");
    uint8_t *joined = NULL, *raw = NULL;
    fe_image *img = NULL;
    fe_status st = parse(data, n, g, 0);
    if (st != FE_OK) goto done;
    pass ps[7];
    unsigned np = 0;
    size_t raw_size = 0;
    if ((st = layout(g, ps, &np, &raw_size)) != FE_OK) goto done;
    /* DEFLATE expands at most ~1032:1 (a 258-byte match per 2 bits): far less data than the
     * image needs is truncation, caught before the raw buffer is allocated */
    if (g->idat_bytes < 2 || (raw_size - 1) / 1032 > g->idat_bytes) {
        st = fe__fail(FE_E_TRUNCATED, "PNG IDAT holds %zu bytes, far too few for %zu bytes of image data",
                      g->idat_bytes, raw_size);
        goto done;
    }
    const uint8_t *z = data + g->idat_first + 8;
    if (g->idat_chunks > 1) {  /* join the consecutive IDAT payloads */
        joined = fe__malloc(g->idat_bytes);
        if (!joined) {
            st = fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes for IDAT", g->idat_bytes);
            goto done;
        }
        size_t pos = g->idat_first, k = 0;
        for (unsigned i = 0; i < g->idat_chunks; i++) {
            chunk c;
            st = read_chunk(data, n, &pos, &c);
            FE_ASSERT(st == FE_OK);  /* parse() read these already */
            memcpy(joined + k, c.data, c.len);
            k += c.len;
        }
        z = joined;
    }
    if ((st = fe__image_new(g->width, g->height, g->out_channels, &img)) != FE_OK) goto done;
    raw = fe__malloc(raw_size);
    if (!raw) {
        st = fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes of PNG image data", raw_size);
        goto done;
    }
    size_t got;
    st = fe__zlib_decompress(z, g->idat_bytes, raw, raw_size, &got);
    if (st == FE_E_LIMIT) {
        st = fe__fail(FE_E_CORRUPT, "PNG IDAT inflates to more than the %zu bytes the image needs", raw_size);
        goto done;
    }
    if (st != FE_OK) goto done;
    if (got != raw_size) {
        st = fe__fail(FE_E_TRUNCATED, "PNG IDAT inflates to %zu of the %zu bytes the image needs", got,
                      raw_size);
        goto done;
    }
    size_t bpp = (g->spp * g->depth + 7) / 8;
    uint32_t w = g->width;
    size_t oc = g->out_channels;
    for (unsigned i = 0; i < np && st == FE_OK; i++) {
        const pass *p = &ps[i];
        if (p->w == 0 || p->h == 0) continue;
        if ((st = unfilter(raw, p, bpp, g->interlace ? i + 1 : 0)) != FE_OK) break;
        for (uint32_t r = 0; r < p->h && st == FE_OK; r++) {
            size_t y = p->y0 + (size_t)r * p->dy;
            uint8_t *dst = img->data + (y * w + p->x0) * oc;
            st = convert_row(g, raw + p->offset + (size_t)r * (p->rowbytes + 1) + 1, p->w, dst, p->dx * oc);
        }
    }
done:
    if (st == FE_OK) *out = img;
    else fe_image_free(img);
    fe__free(raw);
    fe__free(joined);
    fe__free(g);
    return st;
}

/* ---- encoder ----------------------------------------------------------------------------- */

/* Sum of |residual| (as signed bytes) of filter f on row x over prev (NULL = zeros). */
static uint64_t filter_cost(unsigned f, const uint8_t *x, const uint8_t *prev, size_t rb, size_t bpp) {
    uint64_t s = 0;
    for (size_t i = 0; i < rb; i++) {
        int a = i >= bpp ? x[i - bpp] : 0, b = prev ? prev[i] : 0, c = prev && i >= bpp ? prev[i - bpp] : 0;
        int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) >> 1 : paeth(a, b, c);
        int r = (int8_t)(uint8_t)(x[i] - pred);
        s += (uint64_t)(r < 0 ? -r : r);
    }
    return s;
}

static void filter_apply(unsigned f, const uint8_t *x, const uint8_t *prev, size_t rb, size_t bpp,
                         uint8_t *outp) {
    for (size_t i = 0; i < rb; i++) {
        int a = i >= bpp ? x[i - bpp] : 0, b = prev ? prev[i] : 0, c = prev && i >= bpp ? prev[i - bpp] : 0;
        int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) >> 1 : paeth(a, b, c);
        outp[i] = (uint8_t)(x[i] - pred);
    }
}

static uint8_t *put_chunk(uint8_t *p, const char *type, const uint8_t *data, uint32_t len) {
    fe__wr_u32be(p, len);
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    fe__wr_u32be(p + 8 + len, fe__crc32(0, p + 4, (size_t)len + 4));
    return p + 12 + len;
}

#define IDAT_MAX (1u << 20)  /* bytes per IDAT chunk */

fe_status fe__png_encode(const fe_image *img, int level, uint8_t **out_data, size_t *out_size) {
    *out_data = NULL;
    *out_size = 0;
    if (!img || !img->data) return fe__fail(FE_E_ARG, "image is NULL");
    if (level < 0 || level > 9) return fe__fail(FE_E_ARG, "PNG compression level %d is not 0..9", level);
    fe_status st = fe__image_check_dims(img->width, img->height, img->channels);
    if (st != FE_OK) return st;
    static const uint8_t color_of[5] = {0, 0, 4, 2, 6};
    size_t bpp = img->channels, rb = (size_t)img->width * bpp, h = img->height;
    size_t fsize = (rb + 1) * h;  /* bounded by the caps */
    uint8_t *filtered = fe__malloc(fsize);
    if (!filtered) return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes to filter into", fsize);
    for (size_t y = 0; y < h; y++) {
        const uint8_t *x = img->data + y * rb, *prev = y ? x - rb : NULL;
        unsigned best = 0;
        if (level > 0) {  /* stored blocks gain nothing from filtering */
            uint64_t best_cost = UINT64_MAX;
            for (unsigned f = 0; f < 5; f++) {
                uint64_t c = filter_cost(f, x, prev, rb, bpp);
                if (c < best_cost) { best_cost = c; best = f; }
            }
        }
        filtered[y * (rb + 1)] = (uint8_t)best;
        filter_apply(best, x, prev, rb, bpp, filtered + y * (rb + 1) + 1);
    }
    uint8_t *z;
    size_t zn;
    st = fe__zlib_compress(filtered, fsize, level, &z, &zn);
    fe__free(filtered);
    if (st != FE_OK) return st;
    size_t nidat = zn / IDAT_MAX + 1, total = 8 + 25 + 12 * nidat + zn + 12;
    uint8_t *buf = fe__malloc(total);
    if (!buf) {
        fe__free(z);
        return fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes of PNG", total);
    }
    uint8_t ihdr[13], *p = buf;
    fe__wr_u32be(ihdr, img->width);
    fe__wr_u32be(ihdr + 4, img->height);
    ihdr[8] = 8;
    ihdr[9] = color_of[img->channels];
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    memcpy(p, png_sig, 8);
    p = put_chunk(p + 8, "IHDR", ihdr, 13);
    size_t k = 0;
    do {  /* an empty stream still needs one IDAT */
        uint32_t len = zn - k < IDAT_MAX ? (uint32_t)(zn - k) : IDAT_MAX;
        p = put_chunk(p, "IDAT", z + k, len);
        k += len;
    } while (k < zn);
    p = put_chunk(p, "IEND", NULL, 0);
    fe__free(z);
    *out_data = buf;
    *out_size = (size_t)(p - buf);
    return FE_OK;
}
