/*
 * image_jpeg.c — JPEG decoder entry points: baseline, extended (8-bit) and progressive Huffman
 * JPEG, gray or three components (YCbCr, or RGB per Adobe/component ids), any integer
 * sampling ratio, restart intervals, Exif orientation. Flow: headers -> component planes
 * (allocated only after the SOF passed the caps) -> scans until EOI -> IDCT (progressive) ->
 * upsample + colour -> orientation. Policy: a file without EOI, or whose entropy data runs
 * out, is FE_E_TRUNCATED (no partial images); bytes after EOI, and stray bytes between a scan's
 * end and the next marker, are ignored (as libjpeg does); more than 256 scans is FE_E_LIMIT.
 */
#include "jpeg.h"

#include <string.h>

static void release(fe__jpeg *d) {
    if (!d) return;
    for (int i = 0; i < FE__JPEG_MAX_COMPS; i++) {
        fe__free(d->comp[i].plane);
        fe__free(d->comp[i].coef);
    }
    fe__free(d);
}

static fe_status start(const uint8_t *data, size_t n, fe__jpeg **out) {
    *out = NULL;
    fe__jpeg *d = fe__malloc(sizeof *d);
    if (!d) return fe__fail(FE_E_NOMEM, "cannot allocate the JPEG decoder state");
    fe_status st = fe__jpeg_read_headers(d, data, n);
    if (st != FE_OK) {
        fe__free(d);
        return st;
    }
    d->k = fe__jpeg_pick_kernels();
    *out = d;
    return FE_OK;
}

fe_status fe__jpeg_info(const uint8_t *data, size_t n, fe_image_header *out) {
    memset(out, 0, sizeof *out);
    fe__jpeg *d;
    fe_status st = start(data, n, &d);
    if (st != FE_OK) return st;
    out->format = FE_IMAGE_JPEG;
    fe__jpeg_oriented_size(d->orientation, d->width, d->height, &out->width, &out->height);
    out->channels = d->ncomp == 1 ? 1 : 3;
    release(d);
    return FE_OK;
}

/* Planes (and coefficients for progressive) sized from the validated frame header. */
static fe_status alloc_planes(fe__jpeg *d) {
    for (int i = 0; i < d->ncomp; i++) {
        fe__jpeg_comp *c = &d->comp[i];
        size_t blocks, bytes;
        if (!fe__mul_size(c->bw, c->bh, &blocks) || !fe__mul_size(blocks, 64, &bytes))
            return fe__fail(FE_E_OVERFLOW, "component %d plane size overflows", c->id);
        c->plane = fe__calloc(bytes, 1);
        if (!c->plane) return fe__fail(FE_E_NOMEM, "cannot allocate a %ux%u-block plane", c->bw, c->bh);
        if (d->progressive) {
            c->coef = fe__calloc(bytes, sizeof(int16_t));
            if (!c->coef) return fe__fail(FE_E_NOMEM, "cannot allocate %zu coefficients", bytes);
        }
    }
    return FE_OK;
}

static fe_status decode(fe__jpeg *d, fe_image **out) {
    fe_status st = alloc_planes(d);
    if (st != FE_OK) return st;
    for (;;) {
        if ((st = fe__jpeg_decode_scan(d)) != FE_OK) return st;
        int eoi;
        if ((st = fe__jpeg_next_scan(d, &eoi)) != FE_OK) return st;
        if (eoi) break;
    }
    for (int i = 0; i < d->ncomp; i++) {
        const fe__jpeg_comp *c = &d->comp[i];
        if (d->progressive ? c->coef_bits[0] < 0 : !c->done)
            return fe__fail(FE_E_TRUNCATED, "EOI before component %d was coded", c->id);
    }
    if (d->progressive) fe__jpeg_finish_progressive(d);
    uint32_t ch = d->ncomp == 1 ? 1 : 3;
    fe_image *img;
    if ((st = fe__image_new(d->width, d->height, ch, &img)) != FE_OK) return st;
    if ((st = fe__jpeg_to_image(d, img)) != FE_OK) {
        fe_image_free(img);
        return st;
    }
    if (d->orientation != 1) {
        uint32_t ow, oh;
        fe__jpeg_oriented_size(d->orientation, d->width, d->height, &ow, &oh);
        fe_image *rot;
        if ((st = fe__image_new(ow, oh, ch, &rot)) != FE_OK) {
            fe_image_free(img);
            return st;
        }
        fe__jpeg_orient(d->orientation, img, rot);
        fe_image_free(img);
        img = rot;
    }
    *out = img;
    return FE_OK;
}

fe_status fe__jpeg_decode(const uint8_t *data, size_t n, fe_image **out) {
    *out = NULL;
    fe__jpeg *d;
    fe_status st = start(data, n, &d);
    if (st != FE_OK) return st;
    st = decode(d, out);
    release(d);
    return st;
}
