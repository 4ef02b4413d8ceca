/*
 * jpeg_scan.c — walks the MCUs of one scan (ITU-T T.81 A.2, B.2.3, E.2): interleaved scans
 * cover mcux x mcuy MCUs of h x v blocks per component; a one-component scan covers only the
 * blocks holding image data, ceil(wd/8) x ceil(hd/8). Handles restart intervals (RSTn expected
 * in sequence; stray bytes before a marker are skipped, then predictors and EOB runs reset) and
 * decides truncation: made-up padding bits consumed at the end of data or EOI give
 * FE_E_TRUNCATED, at any other marker FE_E_CORRUPT. Work is bounded by blocks x scans.
 */
#include "jpeg.h"

#include <stdio.h>
#include <string.h>

/* Skips to the next marker at or after byte i: 0xFF followed by neither 0x00 nor 0xFF. */
static size_t find_marker(const fe__jpeg *d, size_t i) {
    const uint8_t *s = d->data;
    while (i + 1 < d->size) {
        if (s[i] == 0xFF && s[i + 1] != 0x00 && s[i + 1] != 0xFF) return i;
        i++;
    }
    return d->size;
}

/* The marker (0xD9 = EOI) or end of data (-1) where the bit reader stopped. */
static int stop_marker(const fe__jpeg *d, size_t *at) {
    *at = find_marker(d, (size_t)(d->br.p - d->data));
    return *at < d->size ? d->data[*at + 1] : -1;
}

/* Made-up bits were consumed: the entropy data was too short. */
static fe_status short_data(const fe__jpeg *d, const char *where, uint32_t mcu) {
    size_t at;
    int m = stop_marker(d, &at);
    if (m < 0 || m == 0xD9)
        return fe__fail(FE_E_TRUNCATED, "scan %d: entropy-coded data ends %s MCU %u (%s at byte %zu)",
                        d->n_scans, where, mcu, m < 0 ? "end of file" : "EOI", at);
    return fe__fail(FE_E_CORRUPT, "scan %d: entropy-coded data runs into marker 0xFF%02X at byte %zu %s MCU %u",
                    d->n_scans, m, at, where, mcu);
}

/* A decoding error after made-up bits were consumed means the data was short (truncated at
 * EOF/EOI, corrupt at another marker); an error on real bits is corruption. */
static fe_status entropy_error(const fe__jpeg *d, fe_status st, uint32_t mcu) {
    if (d->br.n < d->br.pad) return short_data(d, "inside", mcu);
    char why[256];
    snprintf(why, sizeof why, "%s", fe_last_error());
    return fe__fail(st, "scan %d, MCU %u: %s", d->n_scans, mcu, why);
}

static fe_status do_restart(fe__jpeg *d, int *next_rst, uint32_t mcu) {
    fe__jpeg_bits *b = &d->br;
    if (b->n < b->pad) return short_data(d, "before restart at", mcu);
    size_t i = find_marker(d, (size_t)(b->p - d->data));
    if (i >= d->size)
        return fe__fail(FE_E_TRUNCATED, "scan %d: file ends where marker RST%d was expected (MCU %u)",
                        d->n_scans, *next_rst, mcu);
    int m = d->data[i + 1];
    if (m != 0xD0 + *next_rst) {
        if (m == 0xD9)
            return fe__fail(FE_E_TRUNCATED, "scan %d: EOI where RST%d was expected (MCU %u)",
                            d->n_scans, *next_rst, mcu);
        return fe__fail(FE_E_CORRUPT, "scan %d: found marker 0xFF%02X at byte %zu where RST%d was expected (MCU %u)",
                        d->n_scans, m, i, *next_rst, mcu);
    }
    *next_rst = (*next_rst + 1) & 7;
    fe__jpeg_bits_init(b, d->data + i + 2, d->data + d->size);
    for (int s = 0; s < d->ns; s++) d->comp[d->sc[s]].dc_pred = 0;
    d->eobrun = 0;
    return FE_OK;
}

/* A block whose AC coefficients are all zero is flat: skip the transform. */
static inline void fill_block(uint8_t *out, size_t stride, uint8_t v) {
    for (int r = 0; r < 8; r++) memset(out + (size_t)r * stride, v, 8);
}

/* Decodes one block of component c at block position (bx, by). */
static inline fe_status decode_block(fe__jpeg *d, fe__jpeg_comp *c, uint32_t bx, uint32_t by) {
    fe__jpeg_bits *b = &d->br;
    if (!d->progressive) {
        int16_t blk[64];
        int last;
        memset(blk, 0, sizeof blk);
        fe_status st = fe__jpeg_decode_block_seq(b, &d->dc[c->td], &d->ac[c->ta], &c->dc_pred, c->q, blk, &last);
        if (st != FE_OK) return st;
        uint8_t *out = c->plane + (size_t)by * 8 * c->stride + (size_t)bx * 8;
        if (last == 0) fill_block(out, c->stride, fe__jpeg_idct_dc(blk[0]));
        else d->k->idct(blk, out, c->stride);
        return FE_OK;
    }
    int16_t *blk = c->coef + ((size_t)by * c->bw + bx) * 64;
    if (d->ss == 0) {
        if (d->ah == 0) return fe__jpeg_decode_dc_first(b, &d->dc[c->td], &c->dc_pred, d->al, blk);
        fe__jpeg_decode_dc_refine(b, d->al, blk);
        return FE_OK;
    }
    if (d->ah == 0) return fe__jpeg_decode_ac_first(b, &d->ac[c->ta], d->ss, d->se, d->al, &d->eobrun, blk);
    return fe__jpeg_decode_ac_refine(b, &d->ac[c->ta], d->ss, d->se, d->al, &d->eobrun, blk);
}

fe_status fe__jpeg_decode_scan(fe__jpeg *d) {
    fe__jpeg_bits_init(&d->br, d->data + d->pos, d->data + d->size);
    for (int s = 0; s < d->ns; s++) d->comp[d->sc[s]].dc_pred = 0;
    d->eobrun = 0;
    uint32_t nx, ny;
    if (d->ns == 1) {
        nx = d->comp[d->sc[0]].bw_used;
        ny = d->comp[d->sc[0]].bh_used;
    } else {
        nx = d->mcux;
        ny = d->mcuy;
    }
    uint32_t ri = d->restart_interval, left = ri, mcu = 0;
    int next_rst = 0;
    for (uint32_t my = 0; my < ny; my++) {
        for (uint32_t mx = 0; mx < nx; mx++, mcu++) {
            if (ri) {
                if (left == 0) {
                    fe_status st = do_restart(d, &next_rst, mcu);
                    if (st != FE_OK) return st;
                    left = ri;
                }
                left--;
            }
            fe_status st = FE_OK;
            if (d->ns == 1) {
                st = decode_block(d, &d->comp[d->sc[0]], mx, my);
            } else {
                for (int s = 0; s < d->ns && st == FE_OK; s++) {
                    fe__jpeg_comp *c = &d->comp[d->sc[s]];
                    for (uint32_t v = 0; v < c->v && st == FE_OK; v++)
                        for (uint32_t h = 0; h < c->h && st == FE_OK; h++)
                            st = decode_block(d, c, mx * c->h + h, my * c->v + v);
                }
            }
            if (st != FE_OK) return entropy_error(d, st, mcu);
        }
        /* bounded work: stop as soon as the data has run out */
        if (d->br.n < d->br.pad) return short_data(d, "before the end of", mcu);
    }
    if (d->br.n < d->br.pad) return short_data(d, "before the end of", mcu);
    if (!d->progressive)
        for (int s = 0; s < d->ns; s++) d->comp[d->sc[s]].done = 1;
    /* leftover bits are fill; anything else before the next marker is skipped, as libjpeg does */
    d->pos = find_marker(d, (size_t)(d->br.p - d->data));
    return FE_OK;
}

void fe__jpeg_finish_progressive(fe__jpeg *d) {
    for (int ci = 0; ci < d->ncomp; ci++) {
        fe__jpeg_comp *c = &d->comp[ci];
        for (uint32_t by = 0; by < c->bh_used; by++) {
            for (uint32_t bx = 0; bx < c->bw_used; bx++) {
                const int16_t *src = c->coef + ((size_t)by * c->bw + bx) * 64;
                int16_t blk[64];
                int ac = 0;
                for (int k = 0; k < 64; k++) {
                    int nat = fe__jpeg_zigzag[k];
                    int32_t v = (int32_t)src[nat] * c->q[k];
                    blk[nat] = (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
                    ac |= k ? blk[nat] : 0;
                }
                uint8_t *out = c->plane + (size_t)by * 8 * c->stride + (size_t)bx * 8;
                if (!ac) fill_block(out, c->stride, fe__jpeg_idct_dc(blk[0]));
                else d->k->idct(blk, out, c->stride);
            }
        }
    }
}
