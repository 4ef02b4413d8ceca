/*
 * jpeg_huffman.c — Huffman decoding of JPEG entropy-coded data (ITU-T T.81 annex C, F.2.2 and
 * G.1.2): canonical table construction with a 9-bit lookahead (and, for AC tables, a combined
 * run/value lookahead), the bit reader, and the block decoders for sequential scans and for the
 * four kinds of progressive scan. Coefficients are int16 in natural order. Hostile data can
 * only produce FE_E_CORRUPT / FE_E_RANGE here: every index is checked against 63 or Se.
 */
#include "jpeg.h"

#include <string.h>

/* ---- tables ---------------------------------------------------------------------------- */

fe_status fe__jpeg_huff_build(fe__jpeg_huff *h, const uint8_t counts[16], const uint8_t *vals,
                              int n_vals, int is_ac) {
    enum { FB = FE__JPEG_FAST_BITS };
    memset(h, 0, sizeof *h);
    memcpy(h->vals, vals, (size_t)n_vals);
    uint32_t code = 0;
    int k = 0;
    for (int l = 1; l <= 16; l++) {
        int cnt = counts[l - 1];
        h->valptr[l] = k - (int32_t)code;
        for (int i = 0; i < cnt; i++, k++, code++) {
            /* canonical codes of length l must stay below 2^l; more means an over-subscribed
             * set of lengths (no prefix code exists) — checked before the code is used */
            if (code >= (1u << l))
                return fe__fail(FE_E_CORRUPT, "Huffman table is over-subscribed at code length %d", l);
            if (l <= FB) {
                /* every FB-bit prefix that starts with this code decodes to it */
                uint32_t first = code << (FB - l), span = 1u << (FB - l);
                for (uint32_t j = 0; j < span; j++)
                    h->fast[first + j] = (uint16_t)(l << 8 | vals[k]);
            }
        }
        h->maxcode[l] = code << (16 - l);
        code <<= 1;
    }
    if (is_ac) {
        /* each short code followed by s magnitude bits that still fit in FB bits: one entry
         * per value of those bits, replicated over the remaining low bits */
        code = 0;
        k = 0;
        for (int l = 1; l <= FB; l++, code <<= 1) {
            for (int i = 0; i < counts[l - 1]; i++, k++, code++) {
                int rs = vals[k], r = rs >> 4, s = rs & 15;
                if (s == 0 || l + s > FB) continue;
                uint32_t span = 1u << (FB - l - s);
                for (uint32_t bits = 0; bits < (1u << s); bits++) {
                    int v = bits < (1u << (s - 1)) ? (int)bits - (1 << s) + 1 : (int)bits;
                    fe__jpeg_fast_ac e = {(int16_t)v, (uint8_t)r, (uint8_t)(l + s)};
                    uint32_t first = (code << (FB - l)) | (bits << (FB - l - s));
                    for (uint32_t j = 0; j < span; j++) h->fast_ac[first + j] = e;
                }
            }
        }
    }
    h->defined = 1;
    return FE_OK;
}

/* ---- bit reader ------------------------------------------------------------------------ */

void fe__jpeg_bits_init(fe__jpeg_bits *b, const uint8_t *p, const uint8_t *end) {
    b->p = p;
    b->end = end;
    b->acc = 0;
    b->n = 0;
    b->pad = 0;
    b->stopped = 0;
}

static inline uint64_t load_be64(const uint8_t *p) {
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
           (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* Tops the buffer up to at least 56 bits. Stuffed 0xFF00 becomes 0xFF; at a marker or the
 * end of the data the reader stops there (the marker is left for the marker parser) and
 * supplies zero bits, as T.81 decoders conventionally do, counting them in pad. */
static void refill(fe__jpeg_bits *b) {
    /* fast path: when the next 8 bytes hold no 0xFF, take as many whole bytes as fit in one
     * OR. The bits below the new n then hold the top of the next byte, which is exactly what
     * the next refill ORs in again (so the "bits past n are zero or the true future bits"
     * invariant holds, and they are zero by the time the reader stops at a marker). */
    if (!b->stopped && b->end - b->p >= 8) {
        uint64_t w = load_be64(b->p);
        uint64_t nff = ~w;  /* a 0xFF byte becomes 0x00: the classic has-zero-byte test */
        if (((nff - 0x0101010101010101ull) & ~nff & 0x8080808080808080ull) == 0) {
            int nb = (63 - b->n) >> 3;
            b->acc |= w >> b->n;
            b->p += nb;
            b->n += 8 * nb;
            return;
        }
    }
    while (b->n <= 56) {
        if (!b->stopped) {
            if (b->p < b->end) {
                uint32_t byte = *b->p;
                if (byte != 0xFF) {
                    b->p++;
                } else if (b->end - b->p >= 2 && b->p[1] == 0x00) {
                    b->p += 2;
                } else {
                    b->stopped = 1;  /* marker (or a lone 0xFF at the very end) */
                    continue;
                }
                b->acc |= (uint64_t)byte << (56 - b->n);
                b->n += 8;
                continue;
            }
            b->stopped = 1;
        }
        b->n += 8;  /* zero padding: acc's bits past n are already zero */
        b->pad += 8;
    }
}

static inline uint32_t get_bits(fe__jpeg_bits *b, int k) {  /* 1 <= k <= 16 */
    if (b->n < k) refill(b);
    uint32_t v = (uint32_t)(b->acc >> (64 - k));
    b->acc <<= k;
    b->n -= k;
    return v;
}

static inline int get_bit(fe__jpeg_bits *b) {
    if (b->n < 1) refill(b);
    int v = (int)(b->acc >> 63);
    b->acc <<= 1;
    b->n -= 1;
    return v;
}

/* T.81 F.2.2.1 EXTEND: s magnitude bits to a signed value. */
static inline int32_t receive_extend(fe__jpeg_bits *b, int s) {
    if (s == 0) return 0;
    int32_t v = (int32_t)get_bits(b, s);
    return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
}

/* Next Huffman symbol, or -1 for a bit pattern that is no code of the table. */
static inline int decode_sym(fe__jpeg_bits *b, const fe__jpeg_huff *h) {
    if (b->n < 16) refill(b);
    uint32_t e = h->fast[b->acc >> (64 - FE__JPEG_FAST_BITS)];
    if (e) {
        int l = (int)(e >> 8);
        b->acc <<= l;
        b->n -= l;
        return (int)(e & 255);
    }
    uint32_t look = (uint32_t)(b->acc >> 48);
    for (int l = FE__JPEG_FAST_BITS + 1; l <= 16; l++) {
        if (look < h->maxcode[l]) {
            int idx = (int)(look >> (16 - l)) + h->valptr[l];
            b->acc <<= l;
            b->n -= l;
            return h->vals[idx];
        }
    }
    return -1;
}

static int16_t clamp16(int32_t v) {
    return (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
}

#define BAD_CODE(kind) fe__fail(FE_E_CORRUPT, "bad Huffman code (%s)", kind)

/* ---- sequential (baseline / extended) -------------------------------------------------- */

fe_status fe__jpeg_decode_block_seq(fe__jpeg_bits *b, const fe__jpeg_huff *dc,
                                    const fe__jpeg_huff *ac, int32_t *dc_pred,
                                    const uint16_t *q, int16_t *blk, int *last) {
    const uint8_t *zz = fe__jpeg_zigzag;
    *last = 0;
    int s = decode_sym(b, dc);
    if (s < 0) return BAD_CODE("DC");
    int32_t pred = *dc_pred + receive_extend(b, s);
    if (pred < -32767 || pred > 32767)
        return fe__fail(FE_E_CORRUPT, "DC coefficient %d is out of range", (int)pred);
    *dc_pred = pred;
    blk[0] = clamp16(pred * (int32_t)q[0]);
    const fe__jpeg_fast_ac *fa = ac->fast_ac;
    for (int k = 1; k < 64; k++) {
        if (b->n < 32) refill(b);
        fe__jpeg_fast_ac e = fa[b->acc >> (64 - FE__JPEG_FAST_BITS)];
        if (e.len) {
            b->acc <<= e.len;
            b->n -= e.len;
            k += e.run;
            if (k > 63) return fe__fail(FE_E_RANGE, "AC coefficient index %d past 63", k);
            blk[zz[k]] = clamp16((int32_t)e.value * q[k]);
            *last = k;
            continue;
        }
        int rs = decode_sym(b, ac);
        if (rs < 0) return BAD_CODE("AC");
        int r = rs >> 4;
        s = rs & 15;
        if (s == 0) {
            if (r != 15) break;  /* EOB */
            k += 15;             /* ZRL: sixteen zeros */
            if (k > 63) return fe__fail(FE_E_RANGE, "zero run to coefficient %d past 63", k);
            continue;
        }
        k += r;
        if (k > 63) return fe__fail(FE_E_RANGE, "AC coefficient index %d past 63", k);
        blk[zz[k]] = clamp16(receive_extend(b, s) * (int32_t)q[k]);
        *last = k;
    }
    return FE_OK;
}

/* ---- progressive (T.81 G.1.2) ---------------------------------------------------------- */

/* value * 2^al as a stored coefficient, or -1 when it does not fit in 16 bits */
static int scaled(int32_t v, int al, int16_t *out) {
    int32_t x = v * (int32_t)(1 << al);
    if (x < -32767 || x > 32767) return -1;
    *out = (int16_t)x;
    return 0;
}

fe_status fe__jpeg_decode_dc_first(fe__jpeg_bits *b, const fe__jpeg_huff *dc, int32_t *dc_pred,
                                   int al, int16_t *blk) {
    int s = decode_sym(b, dc);
    if (s < 0) return BAD_CODE("DC");
    int32_t pred = *dc_pred + receive_extend(b, s);
    if (pred < -32767 || pred > 32767 || scaled(pred, al, &blk[0]) < 0)
        return fe__fail(FE_E_CORRUPT, "DC coefficient %d << %d is out of range", (int)pred, al);
    *dc_pred = pred;
    return FE_OK;
}

void fe__jpeg_decode_dc_refine(fe__jpeg_bits *b, int al, int16_t *blk) {
    if (get_bit(b)) blk[0] = (int16_t)(blk[0] | (1 << al));
}

fe_status fe__jpeg_decode_ac_first(fe__jpeg_bits *b, const fe__jpeg_huff *ac, int ss, int se,
                                   int al, uint32_t *eobrun, int16_t *blk) {
    const uint8_t *zz = fe__jpeg_zigzag;
    if (*eobrun) {
        (*eobrun)--;
        return FE_OK;
    }
    for (int k = ss; k <= se; k++) {
        int rs = decode_sym(b, ac);
        if (rs < 0) return BAD_CODE("AC");
        int r = rs >> 4, s = rs & 15;
        if (s == 0) {
            if (r < 15) {  /* EOBr: this block and 2^r - 1 + extra more end here */
                *eobrun = (1u << r) - 1;
                if (r) *eobrun += get_bits(b, r);
                break;
            }
            k += 15;
            if (k > se) return fe__fail(FE_E_RANGE, "zero run to coefficient %d past Se=%d", k, se);
            continue;
        }
        k += r;
        if (k > se) return fe__fail(FE_E_RANGE, "AC coefficient index %d past Se=%d", k, se);
        if (scaled(receive_extend(b, s), al, &blk[zz[k]]) < 0)
            return fe__fail(FE_E_CORRUPT, "AC coefficient << %d is out of range", al);
    }
    return FE_OK;
}

/* Successive-approximation refinement: a coefficient already non-zero gets one correction
 * bit; a zero one may become +-2^al. T.81 G.1.2.3. */
static inline void refine(fe__jpeg_bits *b, int16_t *c, int p1) {
    if (get_bit(b) && (*c & p1) == 0) *c = clamp16(*c >= 0 ? *c + p1 : *c - p1);
}

fe_status fe__jpeg_decode_ac_refine(fe__jpeg_bits *b, const fe__jpeg_huff *ac, int ss, int se,
                                    int al, uint32_t *eobrun, int16_t *blk) {
    const uint8_t *zz = fe__jpeg_zigzag;
    int p1 = 1 << al;
    int k = ss;
    if (*eobrun == 0) {
        while (k <= se) {
            int rs = decode_sym(b, ac);
            if (rs < 0) return BAD_CODE("AC refinement");
            int r = rs >> 4, s = rs & 15;
            int v = 0;
            if (s) {
                if (s != 1)
                    return fe__fail(FE_E_CORRUPT, "refinement scan coefficient of size %d (must be 1)", s);
                v = get_bit(b) ? p1 : -p1;
            } else if (r != 15) {
                *eobrun = 1u << r;
                if (r) *eobrun += get_bits(b, r);
                break;  /* the rest of this block is refined below */
            }
            /* skip r coefficients that are still zero (refining non-zero ones on the way),
             * then the next zero one takes v (ZRL: r = 15, v = 0 skips sixteen) */
            int placed = 0;
            while (k <= se) {
                int16_t *c = &blk[zz[k]];
                k++;
                if (*c) {
                    refine(b, c, p1);
                } else if (r == 0) {
                    if (v) *c = (int16_t)v;
                    placed = 1;
                    break;
                } else {
                    r--;
                }
            }
            if (!placed)
                return fe__fail(FE_E_RANGE, "refinement run goes past Se=%d", se);
        }
    }
    if (*eobrun) {
        for (; k <= se; k++) {
            int16_t *c = &blk[zz[k]];
            if (*c) refine(b, c, p1);
        }
        (*eobrun)--;
    }
    return FE_OK;
}
