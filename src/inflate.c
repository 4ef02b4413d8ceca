/*
 * inflate.c — DEFLATE (RFC 1951) and zlib (RFC 1950) decoder: one-shot, table-driven.
 *
 * Bits are read LSB-first through a 64-bit buffer, refilled 8 bytes at a time while 8 input
 * bytes remain and byte by byte (zero-padded) near the end. Consuming a padding bit means the
 * input was truncated; every exit path checks that first, so a cut stream is FE_E_TRUNCATED
 * whatever garbage the padding decodes to. Huffman codes decode through a 2^ROOT-entry table
 * indexed by the next bits, with sub-tables for longer codes; an entry carries the literal, or
 * the length/distance base and its extra-bit count, so one lookup yields the value.
 * Code-length sets follow zlib's rules: complete, except a single code of length 1.
 */
#include "inflate.h"
#include "rfc1951.h"

#include <string.h>

/* ---- decoding tables ------------------------------------------------------------------ */

/* Entry: value << 16 | kind << 8 | extra << 4 | nbits. For K_SUB, value is the sub-table
 * offset and nbits its index width; otherwise nbits is the full code length. */
enum { K_LIT, K_BASE, K_EOB, K_SUB, K_BAD };
#define E_NBITS(e) ((unsigned)(e) & 15u)
#define E_EXTRA(e) (((unsigned)(e) >> 4) & 15u)
#define E_KIND(e)  (((unsigned)(e) >> 8) & 0xffu)
#define E_VAL(e)   ((unsigned)(e) >> 16)

static uint32_t mk(unsigned val, unsigned kind, unsigned extra, unsigned nbits) {
    return (uint32_t)val << 16 | kind << 8 | extra << 4 | nbits;
}

#define LIT_ROOT  10
#define DIST_ROOT 8
#define CL_ROOT   7   /* code-length codes are at most 7 bits: no sub-tables */
/* Sub-table space. In a complete code, a root prefix whose longest code is ROOT+d bits gets a
 * 2^d-entry sub-table and holds at least d+1 symbols; 2^d/(d+1) grows with d, so n symbols
 * need at most (n/(D+1) + 1) * 2^D sub-entries with D = 15 - ROOT. (Incomplete codes are a
 * single 1-bit code: no sub-tables.) */
#define LIT_TABLE  ((1 << LIT_ROOT) + (286 / (16 - LIT_ROOT) + 1) * (1 << (15 - LIT_ROOT)))
#define DIST_TABLE ((1 << DIST_ROOT) + (32 / (16 - DIST_ROOT) + 1) * (1 << (15 - DIST_ROOT)))
#define CL_TABLE   (1 << CL_ROOT)

enum { T_LIT, T_DIST, T_CL };


/* What symbol sym of a table of type `type` decodes to (without the code length). */
static uint32_t sym_entry(int type, unsigned sym) {
    if (type == T_CL) return mk(sym, K_LIT, 0, 0);
    if (type == T_DIST)
        return sym < 30 ? mk(fe__dist_base[sym], K_BASE, fe__dist_extra[sym], 0) : mk(0, K_BAD, 0, 0);
    if (sym < 256) return mk(sym, K_LIT, 0, 0);
    if (sym == 256) return mk(0, K_EOB, 0, 0);
    if (sym < 286) return mk(fe__len_base[sym - 257], K_BASE, fe__len_extra[sym - 257], 0);
    return mk(0, K_BAD, 0, 0);  /* 286, 287: in the fixed code, never valid in data */
}

enum { B_OK, B_EMPTY, B_OVER, B_INCOMPLETE };

/* Builds the canonical-Huffman decoding table for code lengths lens[0..n) (0 = unused).
 * Returns B_OVER for an over-subscribed set, B_INCOMPLETE for an incomplete one other than a
 * single 1-bit code, B_EMPTY (table decodes everything as K_BAD) when no symbol has a code. */
static int build(uint32_t *table, size_t cap, unsigned root, int type, const uint8_t *lens,
                 unsigned n) {
    unsigned count[16] = {0}, max = 0;
    for (unsigned s = 0; s < n; s++) {
        count[lens[s]]++;
        if (lens[s] > max) max = lens[s];
    }
    unsigned root_size = 1u << root;
    for (unsigned i = 0; i < root_size; i++) table[i] = mk(0, K_BAD, 0, 1);
    if (max == 0) return B_EMPTY;
    int left = 1;
    for (unsigned len = 1; len <= 15; len++) {
        left = 2 * left - (int)count[len];
        if (left < 0) return B_OVER;
    }
    if (left > 0 && max != 1) return B_INCOMPLETE;

    unsigned next[16];
    next[1] = 0;
    for (unsigned len = 1; len < 15; len++) next[len + 1] = (next[len] + count[len]) << 1;
    uint16_t rev[288];
    uint8_t sub_max[1 << LIT_ROOT];  /* longest code per root prefix, for codes > root */
    memset(sub_max, 0, root_size);
    for (unsigned s = 0; s < n; s++) {
        unsigned len = lens[s];
        if (!len) continue;
        unsigned code = next[len]++, r = 0;
        for (unsigned b = 0; b < len; b++) r |= ((code >> b) & 1u) << (len - 1 - b);
        rev[s] = (uint16_t)r;
        if (len > root && len > sub_max[r & (root_size - 1)]) sub_max[r & (root_size - 1)] = (uint8_t)len;
    }
    size_t used = root_size;
    for (unsigned p = 0; p < root_size; p++) {
        if (!sub_max[p]) continue;
        unsigned bits = sub_max[p] - root;
        FE_ASSERT(used + ((size_t)1 << bits) <= cap);
        table[p] = mk((unsigned)used, K_SUB, 0, bits);
        for (size_t i = 0; i < ((size_t)1 << bits); i++) table[used + i] = mk(0, K_BAD, 0, 1);
        used += (size_t)1 << bits;
    }
    for (unsigned s = 0; s < n; s++) {
        unsigned len = lens[s];
        if (!len) continue;
        uint32_t e = sym_entry(type, s) | len;
        if (len <= root) {
            for (unsigned i = rev[s]; i < root_size; i += 1u << len) table[i] = e;
        } else {
            uint32_t link = table[rev[s] & (root_size - 1)];
            unsigned bits = E_NBITS(link), step = 1u << (len - root);
            for (unsigned i = rev[s] >> root; i < (1u << bits); i += step) table[E_VAL(link) + i] = e;
        }
    }
    return B_OK;
}

/* ---- bit input ------------------------------------------------------------------------ */

typedef struct inflater {
    const uint8_t *in;
    size_t in_len, in_pos;   /* in_pos may pass in_len by the zero bytes padded in */
    uint64_t bb;             /* bit buffer, next bit in bit 0                        */
    unsigned bc;             /* valid bits in bb                                     */
    uint8_t *out;
    size_t out_cap, out_pos;
} inflater;

static uint64_t load64le(const uint8_t *p) {
    return (uint64_t)fe__rd_u32le(p) | (uint64_t)fe__rd_u32le(p + 4) << 32;
}

/* Tops the buffer up to at least 56 bits. The fast path loads 8 bytes and advances by whole
 * bytes only; bits above bc are then the true next bits, so OR-ing them again is harmless. */
static inline void refill(inflater *s) {
    if (s->in_pos < s->in_len && s->in_len - s->in_pos >= 8) {
        s->bb |= load64le(s->in + s->in_pos) << s->bc;
        s->in_pos += (63 - s->bc) >> 3;
        s->bc |= 56;
        return;
    }
    s->bb &= s->bc ? ~(uint64_t)0 >> (64 - s->bc) : 0;
    while (s->bc <= 56) {
        uint64_t byte = s->in_pos < s->in_len ? s->in[s->in_pos] : 0;
        s->in_pos++;
        s->bb |= byte << s->bc;
        s->bc += 8;
    }
}

/* true once a padding bit (past the end of the input) has been consumed */
static inline bool overran(const inflater *s) {
    return s->in_pos > s->in_len && (s->in_pos - s->in_len) * 8 > s->bc;
}

static inline void drop(inflater *s, unsigned n) {
    s->bb >>= n;
    s->bc -= n;
}

/* byte offset of the next unread bit, for messages */
static size_t where(const inflater *s) { return s->in_pos - s->bc / 8; }

/* Every failure goes through here: truncation explains whatever the padding decoded to. */
#define INFLATE_FAIL(s, status, ...)                                                           \
    (overran(s) ? fe__fail(FE_E_TRUNCATED, "deflate stream ends early (%zu bytes)", (s)->in_len) \
                : fe__fail((status), __VA_ARGS__))

/* ---- blocks ----------------------------------------------------------------------------- */

static fe_status stored_block(inflater *s) {
    drop(s, s->bc & 7);
    size_t p = s->in_pos - s->bc / 8;
    s->bb = 0;
    s->bc = 0;
    if (p > s->in_len || s->in_len - p < 4)
        return fe__fail(FE_E_TRUNCATED, "stored block header cut at byte %zu", s->in_len);
    unsigned len = s->in[p] | (unsigned)s->in[p + 1] << 8;
    unsigned nlen = s->in[p + 2] | (unsigned)s->in[p + 3] << 8;
    if (len != (~nlen & 0xffffu))
        return fe__fail(FE_E_CORRUPT, "stored block LEN %u does not match NLEN %u (byte %zu)", len,
                        nlen, p);
    p += 4;
    if (s->in_len - p < len)
        return fe__fail(FE_E_TRUNCATED, "stored block of %u bytes at byte %zu is cut short", len, p);
    if (len > s->out_cap - s->out_pos)
        return fe__fail(FE_E_LIMIT, "output exceeds the expected %zu bytes", s->out_cap);
    if (len) memcpy(s->out + s->out_pos, s->in + p, len);
    s->out_pos += len;
    s->in_pos = p + len;
    return FE_OK;
}

static void fixed_tables(uint32_t *lit, uint32_t *dist) {
    uint8_t lens[288];
    memset(lens, 8, 144);
    memset(lens + 144, 9, 112);
    memset(lens + 256, 7, 24);
    memset(lens + 280, 8, 8);
    build(lit, LIT_TABLE, LIT_ROOT, T_LIT, lens, 288);
    memset(lens, 5, 32);
    build(dist, DIST_TABLE, DIST_ROOT, T_DIST, lens, 32);
}

static fe_status dynamic_tables(inflater *s, uint32_t *lit, uint32_t *dist) {
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    size_t at = where(s);
    refill(s);
    unsigned hlit = (unsigned)(s->bb & 31) + 257, hdist = (unsigned)(s->bb >> 5 & 31) + 1;
    unsigned hclen = (unsigned)(s->bb >> 10 & 15) + 4;
    drop(s, 14);
    if (hlit > 286 || hdist > 30)
        return INFLATE_FAIL(s, FE_E_CORRUPT, "dynamic block declares %u length and %u distance codes "
                            "(at most 286 and 30; byte %zu)", hlit, hdist, at);
    uint8_t cl[19] = {0};
    for (unsigned i = 0; i < hclen; i++) {
        if (s->bc < 3) refill(s);
        cl[order[i]] = (uint8_t)(s->bb & 7);
        drop(s, 3);
    }
    uint32_t cltab[CL_TABLE];
    int b = build(cltab, CL_TABLE, CL_ROOT, T_CL, cl, 19);
    if (b != B_OK)
        return INFLATE_FAIL(s, FE_E_CORRUPT, "code-length code is %s (byte %zu)",
                            b == B_OVER ? "over-subscribed" : b == B_EMPTY ? "empty" : "incomplete", at);
    uint8_t lens[286 + 30];
    unsigned n = hlit + hdist, i = 0;
    while (i < n) {
        if (s->bc < 16) refill(s);
        if (overran(s)) break;
        uint32_t e = cltab[s->bb & (CL_TABLE - 1)];  /* complete code: never K_BAD */
        drop(s, E_NBITS(e));
        unsigned sym = E_VAL(e), rep, v = 0;
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0)
                return INFLATE_FAIL(s, FE_E_CORRUPT, "code-length repeat with no previous length "
                                    "(byte %zu)", where(s));
            v = lens[i - 1];
            rep = 3 + (unsigned)(s->bb & 3);
            drop(s, 2);
        } else if (sym == 17) {
            rep = 3 + (unsigned)(s->bb & 7);
            drop(s, 3);
        } else {
            rep = 11 + (unsigned)(s->bb & 127);
            drop(s, 7);
        }
        if (rep > n - i)
            return INFLATE_FAIL(s, FE_E_CORRUPT, "code-length repeat runs past the %u codes "
                                "(byte %zu)", n, where(s));
        memset(lens + i, (int)v, rep);
        i += rep;
    }
    if (overran(s)) return INFLATE_FAIL(s, FE_E_TRUNCATED, "-");
    if (lens[256] == 0)
        return fe__fail(FE_E_CORRUPT, "dynamic block has no end-of-block code (byte %zu)", at);
    b = build(lit, LIT_TABLE, LIT_ROOT, T_LIT, lens, hlit);
    if (b != B_OK)
        return fe__fail(FE_E_CORRUPT, "literal/length code is %s (byte %zu)",
                        b == B_OVER ? "over-subscribed" : "incomplete", at);
    b = build(dist, DIST_TABLE, DIST_ROOT, T_DIST, lens + hlit, hdist);
    if (b == B_OVER || b == B_INCOMPLETE)  /* empty is legal: a block of literals only */
        return fe__fail(FE_E_CORRUPT, "distance code is %s (byte %zu)",
                        b == B_OVER ? "over-subscribed" : "incomplete", at);
    return FE_OK;
}

/* Decodes symbols until end-of-block. The hot loop keeps the bit buffer in locals. */
static fe_status huffman_block(inflater *io, const uint32_t *lit, const uint32_t *dist) {
    /* a local copy whose address never escapes: byte stores to out cannot alias it, so the
     * compiler keeps the bit buffer in registers */
    inflater local = *io, *s = &local;
    uint8_t *out = s->out;
    size_t pos = s->out_pos, cap = s->out_cap;
    fe_status st = FE_OK;
    for (;;) {
        /* 48 bits cover the longest length + distance pair: 15+5 + 15+13 */
        if (s->bc < 48) {
            refill(s);
            if (overran(s)) break;
        }
        uint32_t e = lit[s->bb & ((1u << LIT_ROOT) - 1)];
        if (E_KIND(e) == K_SUB) e = lit[E_VAL(e) + ((s->bb >> LIT_ROOT) & ((1u << E_NBITS(e)) - 1))];
        unsigned kind = E_KIND(e);
        /* bits are consumed before any verdict, so a verdict reached on padding bits is
         * reported as truncation (INFLATE_FAIL) */
        drop(s, E_NBITS(e));
        if (kind == K_LIT) {
            if (pos >= cap) {
                st = INFLATE_FAIL(s, FE_E_LIMIT, "output exceeds the expected %zu bytes", cap);
                break;
            }
            out[pos++] = (uint8_t)E_VAL(e);
            continue;
        }
        if (kind == K_EOB) break;
        if (kind != K_BASE) {
            st = INFLATE_FAIL(s, FE_E_CORRUPT, "invalid literal/length code (byte %zu)", where(s));
            break;
        }
        unsigned len = E_VAL(e) + (unsigned)(s->bb & ((1u << E_EXTRA(e)) - 1));
        drop(s, E_EXTRA(e));
        e = dist[s->bb & ((1u << DIST_ROOT) - 1)];
        if (E_KIND(e) == K_SUB) e = dist[E_VAL(e) + ((s->bb >> DIST_ROOT) & ((1u << E_NBITS(e)) - 1))];
        drop(s, E_NBITS(e));
        if (E_KIND(e) != K_BASE) {
            st = INFLATE_FAIL(s, FE_E_CORRUPT, "invalid distance code (byte %zu)", where(s));
            break;
        }
        size_t d = E_VAL(e) + (unsigned)(s->bb & ((1u << E_EXTRA(e)) - 1));
        drop(s, E_EXTRA(e));
        if (d > pos) {
            st = INFLATE_FAIL(s, FE_E_CORRUPT, "distance %zu reaches before the start of the output "
                              "(%zu bytes so far; byte %zu)", d, pos, where(s));
            break;
        }
        if (len > cap - pos) {
            st = INFLATE_FAIL(s, FE_E_LIMIT, "output exceeds the expected %zu bytes", cap);
            break;
        }
        uint8_t *dst = out + pos;
        const uint8_t *src = dst - d;
        if (d >= 8 && cap - pos >= (size_t)len + 8) {
            /* 8-byte steps may run up to 7 bytes past the match: room is checked, and the
             * source is at least 8 behind, so each step reads only bytes already written */
            uint8_t *end = dst + len;
            do {
                memcpy(dst, src, 8);
                dst += 8;
                src += 8;
            } while (dst < end);
        } else if (d == 1) {
            memset(dst, dst[-1], len);
        } else {
            for (unsigned k = 0; k < len; k++) dst[k] = src[k];
        }
        pos += len;
    }
    s->out_pos = pos;
    if (st == FE_OK && overran(s)) st = INFLATE_FAIL(s, FE_E_TRUNCATED, "-");
    *io = local;
    return st;
}

fe_status fe__inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len, size_t *in_used) {
    *out_len = 0;
    if (in_used) *in_used = 0;
    inflater s = {in, in_len, 0, 0, 0, out, out_cap, 0};
    uint32_t lit[LIT_TABLE], dist[DIST_TABLE];
    int tables = -1;  /* what lit/dist hold: -1 nothing, 1 the fixed code, 2 a dynamic code */
    fe_status st = FE_OK;
    for (;;) {
        refill(&s);
        if (overran(&s)) return INFLATE_FAIL(&s, FE_E_TRUNCATED, "-");
        unsigned final = (unsigned)(s.bb & 1), type = (unsigned)(s.bb >> 1 & 3);
        drop(&s, 3);
        if (type == 0) {
            st = stored_block(&s);
        } else if (type == 1) {
            if (tables != 1) fixed_tables(lit, dist);
            tables = 1;
            st = huffman_block(&s, lit, dist);
        } else if (type == 2) {
            tables = 2;
            st = dynamic_tables(&s, lit, dist);
            if (st == FE_OK) st = huffman_block(&s, lit, dist);
        } else {
            st = INFLATE_FAIL(&s, FE_E_CORRUPT, "invalid block type 3 (byte %zu)", where(&s));
        }
        if (st != FE_OK) return st;
        if (final) break;
    }
    drop(&s, s.bc & 7);
    size_t end = s.in_pos - s.bc / 8;
    if (end > in_len) return fe__fail(FE_E_TRUNCATED, "deflate stream ends early (%zu bytes)", in_len);
    *out_len = s.out_pos;
    if (in_used) *in_used = end;
    return FE_OK;
}

fe_status fe__zlib_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len) {
    *out_len = 0;
    if (in_len < 2) return fe__fail(FE_E_TRUNCATED, "zlib stream of %zu bytes has no header", in_len);
    unsigned cmf = in[0], flg = in[1];
    if ((cmf & 15) != 8)
        return fe__fail(FE_E_CORRUPT, "zlib compression method %u is not deflate (8)", cmf & 15);
    if ((cmf >> 4) > 7)
        return fe__fail(FE_E_CORRUPT, "zlib window size 2^%u is over 32 KiB", (cmf >> 4) + 8);
    if ((cmf * 256 + flg) % 31 != 0)
        return fe__fail(FE_E_CORRUPT, "zlib header check bits are wrong (%02x %02x)", cmf, flg);
    if (flg & 0x20) return fe__fail(FE_E_UNSUPPORTED, "zlib stream needs a preset dictionary");
    size_t n, used;
    fe_status st = fe__inflate_raw(in + 2, in_len - 2, out, out_cap, &n, &used);
    if (st != FE_OK) return st;
    size_t p = 2 + used;
    if (in_len - p < 4) return fe__fail(FE_E_TRUNCATED, "zlib stream ends before its Adler-32");
    uint32_t want = fe__rd_u32be(in + p), got = fe__adler32(1, out, n);
    if (want != got)
        return fe__fail(FE_E_CHECKSUM, "zlib Adler-32 is %08x, data gives %08x", want, got);
    if (in_len - p > 4)
        return fe__fail(FE_E_CORRUPT, "%zu bytes follow the end of the zlib stream", in_len - p - 4);
    *out_len = n;
    return FE_OK;
}
