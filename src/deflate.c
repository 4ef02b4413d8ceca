/*
 * deflate.c — DEFLATE (RFC 1951) / zlib (RFC 1950) encoder, one-shot from memory.
 *
 * Matches: LZ77 over hash chains of 3-byte prefixes within the 32 KiB window; levels 1..3 are
 * greedy, 4..9 lazy (a match is deferred when the next position has a longer one), with chain
 * length and "nice" length growing with the level. Symbols collect into blocks of SYM_CAP;
 * each block is written as dynamic Huffman (package-merge lengths, limit 15, code-length code
 * limit 7), fixed Huffman or stored, whichever costs fewest bits (computed exactly). Codes are
 * always complete, so strict decoders accept them. Level 0 writes stored blocks only.
 */
#include "deflate.h"
#include "rfc1951.h"

#include <stdlib.h>
#include <string.h>

#define WSIZE     32768u           /* DEFLATE window */
#define WMASK     (WSIZE - 1)
#define MIN_MATCH 3
#define MAX_MATCH 258
#define TOO_FAR   4096             /* a 3-byte match further back rarely pays for itself */
#define SYM_CAP   16384            /* symbols per block */

/* RFC 1951 tables: rfc1951.c */

/* Per-level search effort. chain: candidates tried; nice: stop at this length; lazy: defer a
 * match shorter than this (0 = greedy); good: with a deferred match this long, try a quarter
 * of the chain; insert: greedy levels index the inside of matches up to this length only. */
typedef struct level_params {
    unsigned chain, nice, lazy, good, insert;
} level_params;
static const level_params levels[10] = {
    {0, 0, 0, 0, 0},          /* 0: stored */
    {4, 16, 0, 0, 4},      {8, 32, 0, 0, 8},        {24, 64, 0, 0, 32},
    {16, 32, 8, 4, 0},     {32, 64, 16, 8, 0},      {128, 128, 16, 8, 0},
    {256, 192, 32, 16, 0}, {1024, 258, 128, 32, 0}, {4096, 258, 258, 32, 0},
};

/* ---- length-limited Huffman codes (package-merge) --------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Package-merge (Larmore & Hirschberg): the list for depth L is the leaves sorted by weight;
 * each shallower list merges the leaves with pairs ("packages") of the deeper list. Taking the
 * first 2m-2 items of the depth-1 list, a leaf's code length is the number of lists in which it
 * is taken; the items taken in one list are prefixes, so only counts need propagating. */
void fe__deflate_code_lengths(const uint32_t *freq, unsigned n, unsigned maxbits, uint8_t *lens) {
    uint64_t key[288];
    unsigned m = 0;
    memset(lens, 0, n);
    for (unsigned s = 0; s < n; s++)
        if (freq[s]) key[m++] = (uint64_t)freq[s] << 16 | s;
    if (m < 2) {
        unsigned used = m ? (unsigned)(key[0] & 0xffff) : 0;
        lens[used] = 1;
        lens[used == 0 ? 1 : 0] = 1;
        return;
    }
    qsort(key, m, sizeof key[0], cmp_u64);
    uint64_t leaf[288], a[576], b[576], *cur = a, *nxt = b;
    for (unsigned i = 0; i < m; i++) leaf[i] = key[i] >> 16;
    static const unsigned max_items = 2 * 288;
    uint8_t is_pkg[16][2 * 288];  /* per depth: item j of the merged list is a package */
    size_t ncur = m;
    memcpy(cur, leaf, m * sizeof leaf[0]);
    for (unsigned depth = maxbits - 1; depth >= 1; depth--) {
        size_t npk = ncur / 2, i = 0, k = 0, j = 0;
        while (i < m || k < npk) {
            uint64_t pk = k < npk ? cur[2 * k] + cur[2 * k + 1] : UINT64_MAX;
            if (i < m && leaf[i] <= pk) {
                nxt[j] = leaf[i++];
                is_pkg[depth][j++] = 0;
            } else {
                nxt[j] = pk;
                is_pkg[depth][j++] = 1;
                k++;
            }
        }
        FE_ASSERT(j <= max_items);
        ncur = j;
        uint64_t *t = cur;
        cur = nxt;
        nxt = t;
    }
    size_t take = 2 * (size_t)m - 2;
    for (unsigned depth = 1; depth <= maxbits; depth++) {
        size_t nleaf = 0, npk = 0;
        if (depth == maxbits) {
            nleaf = take;
        } else {
            for (size_t j = 0; j < take; j++) {
                if (is_pkg[depth][j]) npk++;
                else nleaf++;
            }
        }
        FE_ASSERT(nleaf <= m);
        for (size_t i = 0; i < nleaf; i++) lens[key[i] & 0xffff]++;
        take = 2 * npk;
    }
}

/* Canonical codes for lens, bit-reversed because DEFLATE sends Huffman codes MSB first into
 * an LSB-first bit stream. */
static void make_codes(const uint8_t *lens, unsigned n, uint16_t *codes) {
    unsigned count[16] = {0}, next[16];
    for (unsigned s = 0; s < n; s++) count[lens[s]]++;
    count[0] = 0;
    next[0] = 0;
    for (unsigned l = 1; l < 16; l++) next[l] = (next[l - 1] + count[l - 1]) << 1;
    for (unsigned s = 0; s < n; s++) {
        unsigned len = lens[s], c = len ? next[len]++ : 0, r = 0;
        for (unsigned i = 0; i < len; i++) r |= ((c >> i) & 1u) << (len - 1 - i);
        codes[s] = (uint16_t)r;
    }
}

/* ---- encoder state ---------------------------------------------------------------------- */

typedef struct deflater {
    const uint8_t *in;
    size_t n;
    const level_params *lp;
    /* output */
    uint8_t *out;
    size_t out_cap, out_pos;
    uint64_t bb;          /* pending bits, LSB first */
    unsigned bc;
    /* match finder: head[h] and prev[pos & WMASK] hold position + 1 (0 = none) */
    uint32_t *head, *prev;
    unsigned hash_bits;
    /* current block */
    uint32_t *syms;       /* literal: byte; match: dist << 16 | len */
    size_t nsyms, block_start;
    uint32_t lfreq[286], dfreq[30];
    uint8_t len_sym[MAX_MATCH + 1], dist_sym[512];
} deflater;

static unsigned dist_code(const deflater *d, unsigned dist) {
    return dist <= 256 ? d->dist_sym[dist - 1] : d->dist_sym[256 + ((dist - 1) >> 7)];
}

static fe_status reserve(deflater *d, size_t more) {
    size_t need;
    if (!fe__add_size(d->out_pos, more, &need) || !fe__add_size(need, 16, &need))
        return fe__fail(FE_E_LIMIT, "compressed output size overflows");
    if (need <= d->out_cap) return FE_OK;
    size_t cap = d->out_cap * 2 > need ? d->out_cap * 2 : need;
    uint8_t *p = fe__realloc(d->out, cap);
    if (!p) return fe__fail(FE_E_NOMEM, "cannot grow the compressed buffer to %zu bytes", cap);
    d->out = p;
    d->out_cap = cap;
    return FE_OK;
}

/* n <= 32; the caller reserved room (reserve) for everything the block writes */
static inline void put_bits(deflater *d, uint32_t v, unsigned n) {
    d->bb |= (uint64_t)v << d->bc;
    d->bc += n;
    if (d->bc >= 32) {
        fe__wr_u32le(d->out + d->out_pos, (uint32_t)d->bb);
        d->out_pos += 4;
        d->bb >>= 32;
        d->bc -= 32;
    }
}

static void flush_to_byte(deflater *d) {
    while (d->bc > 0) {
        d->out[d->out_pos++] = (uint8_t)d->bb;
        d->bb >>= 8;
        d->bc = d->bc > 8 ? d->bc - 8 : 0;
    }
    d->bb = 0;
}

/* ---- block writing ---------------------------------------------------------------------- */

/* Stored blocks for in[start, end): chunks of at most 65535 bytes; final marks the last. */
static fe_status write_stored(deflater *d, size_t start, size_t end, int final) {
    size_t len = end - start, chunks = len ? (len + 65534) / 65535 : 1;
    fe_status st = reserve(d, len + chunks * 6);
    if (st != FE_OK) return st;
    do {
        size_t k = end - start < 65535 ? end - start : 65535;
        put_bits(d, (unsigned)(final && start + k == end), 3);  /* BTYPE 00 */
        flush_to_byte(d);
        fe__wr_u16le(d->out + d->out_pos, (uint16_t)k);
        fe__wr_u16le(d->out + d->out_pos + 2, (uint16_t)~k);
        d->out_pos += 4;
        if (k) memcpy(d->out + d->out_pos, d->in + start, k);
        d->out_pos += k;
        start += k;
    } while (start < end);
    return FE_OK;
}

/* bits a stored encoding of len bytes costs from the current bit position */
static uint64_t stored_bits(const deflater *d, size_t len) {
    uint64_t chunks = len ? (len + 65534) / 65535 : 1;
    unsigned first_pad = (8 - (d->bc + 3) % 8) % 8;
    return chunks * (3 + 32) + first_pad + (chunks - 1) * 5 + (uint64_t)len * 8;
}

typedef struct huff {
    uint8_t llen[286], dlen[30], cllen[19];
    uint16_t lcode[286], dcode[30], clcode[19];
    unsigned hlit, hdist, hclen, ntok;
    uint16_t tok[286 + 30];  /* code-length tokens: symbol | extra value << 5 */
} huff;

/* Run-length codes the lengths (16 = repeat previous 3..6, 17 = zeros 3..10, 18 = zeros
 * 11..138) and builds the code-length code. Returns the header's size in bits. */
static uint64_t plan_header(huff *h) {
    uint8_t all[286 + 30];
    unsigned n = h->hlit + h->hdist;
    memcpy(all, h->llen, h->hlit);
    memcpy(all + h->hlit, h->dlen, h->hdist);
    uint32_t clfreq[19] = {0};
    h->ntok = 0;
    for (unsigned i = 0; i < n;) {
        unsigned v = all[i], run = 1;
        while (i + run < n && all[i + run] == v) run++;
        i += run;
        if (v == 0) {
            while (run >= 11) {
                unsigned r = run < 138 ? run : 138;
                h->tok[h->ntok++] = (uint16_t)(18 | (r - 11) << 5);
                run -= r;
            }
            if (run >= 3) {
                h->tok[h->ntok++] = (uint16_t)(17 | (run - 3) << 5);
                run = 0;
            }
        } else {
            h->tok[h->ntok++] = (uint16_t)v;
            run--;
            while (run >= 3) {
                unsigned r = run < 6 ? run : 6;
                h->tok[h->ntok++] = (uint16_t)(16 | (r - 3) << 5);
                run -= r;
            }
        }
        while (run--) h->tok[h->ntok++] = (uint16_t)v;
    }
    for (unsigned t = 0; t < h->ntok; t++) clfreq[h->tok[t] & 31]++;
    fe__deflate_code_lengths(clfreq, 19, 7, h->cllen);
    make_codes(h->cllen, 19, h->clcode);
    h->hclen = 19;
    while (h->hclen > 4 && h->cllen[fe__cl_order[h->hclen - 1]] == 0) h->hclen--;
    uint64_t bits = 5 + 5 + 4 + 3 * (uint64_t)h->hclen;
    static const uint8_t tok_extra[19] = {[16] = 2, [17] = 3, [18] = 7};
    for (unsigned s = 0; s < 19; s++) bits += (uint64_t)clfreq[s] * (h->cllen[s] + tok_extra[s]);
    return bits;
}

static void write_symbols(deflater *d, const uint8_t *llen, const uint16_t *lcode,
                          const uint8_t *dlen, const uint16_t *dcode) {
    for (size_t i = 0; i < d->nsyms; i++) {
        uint32_t s = d->syms[i];
        unsigned dist = s >> 16;
        if (dist == 0) {
            put_bits(d, lcode[s], llen[s]);
            continue;
        }
        unsigned len = s & 0xffff, ls = d->len_sym[len], ds = dist_code(d, dist);
        put_bits(d, lcode[257 + ls] | (uint32_t)(len - fe__len_base[ls]) << llen[257 + ls],
                 llen[257 + ls] + fe__len_extra[ls]);
        put_bits(d, dcode[ds] | (uint32_t)(dist - fe__dist_base[ds]) << dlen[ds], dlen[ds] + fe__dist_extra[ds]);
    }
    put_bits(d, lcode[256], llen[256]);
}

/* Writes the symbols collected for in[block_start, end) as the cheapest block type. */
static fe_status flush_block(deflater *d, size_t end, int final) {
    d->lfreq[256] = 1;
    uint64_t extra = 0;  /* extra bits: the same for fixed and dynamic codes */
    for (unsigned i = 0; i < 29; i++) extra += (uint64_t)d->lfreq[257 + i] * fe__len_extra[i];
    for (unsigned i = 0; i < 30; i++) extra += (uint64_t)d->dfreq[i] * fe__dist_extra[i];

    huff hh, *hp = &hh;
    fe__deflate_code_lengths(d->lfreq, 286, 15, hp->llen);
    fe__deflate_code_lengths(d->dfreq, 30, 15, hp->dlen);
    hp->hlit = 286;
    while (hp->hlit > 257 && hp->llen[hp->hlit - 1] == 0) hp->hlit--;
    hp->hdist = 30;
    while (hp->hdist > 1 && hp->dlen[hp->hdist - 1] == 0) hp->hdist--;
    uint64_t dyn = 3 + plan_header(hp) + extra, fix = 3 + extra;
    for (unsigned s = 0; s < 286; s++) {
        dyn += (uint64_t)d->lfreq[s] * hp->llen[s];
        fix += (uint64_t)d->lfreq[s] * (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8);
    }
    for (unsigned s = 0; s < 30; s++) {
        dyn += (uint64_t)d->dfreq[s] * hp->dlen[s];
        fix += (uint64_t)d->dfreq[s] * 5;
    }
    uint64_t sto = stored_bits(d, end - d->block_start);
    fe_status st = FE_OK;
    if (sto <= dyn && sto <= fix) {
        st = write_stored(d, d->block_start, end, final);
    } else {
        st = reserve(d, (size_t)((dyn < fix ? dyn : fix) / 8 + 8));
        if (st != FE_OK) return st;
        uint64_t at = (uint64_t)d->out_pos * 8 + d->bc;
        if (fix <= dyn) {
            uint8_t llen[288], dlen[30];
            uint16_t lcode[288], dcode[30];
            memset(llen, 8, 144);
            memset(llen + 144, 9, 112);
            memset(llen + 256, 7, 24);
            memset(llen + 280, 8, 8);
            memset(dlen, 5, 30);
            make_codes(llen, 288, lcode);
            make_codes(dlen, 30, dcode);
            put_bits(d, (unsigned)final | 1u << 1, 3);
            write_symbols(d, llen, lcode, dlen, dcode);
        } else {
            make_codes(hp->llen, 286, hp->lcode);
            make_codes(hp->dlen, 30, hp->dcode);
            put_bits(d, (unsigned)final | 2u << 1, 3);
            put_bits(d, hp->hlit - 257, 5);
            put_bits(d, hp->hdist - 1, 5);
            put_bits(d, hp->hclen - 4, 4);
            for (unsigned i = 0; i < hp->hclen; i++) put_bits(d, hp->cllen[fe__cl_order[i]], 3);
            static const uint8_t tok_extra[19] = {[16] = 2, [17] = 3, [18] = 7};
            for (unsigned t = 0; t < hp->ntok; t++) {
                unsigned s = hp->tok[t] & 31, x = hp->tok[t] >> 5;
                put_bits(d, hp->clcode[s] | x << hp->cllen[s], hp->cllen[s] + tok_extra[s]);
            }
            write_symbols(d, hp->llen, hp->lcode, hp->dlen, hp->dcode);
        }
        /* the space reserved came from the cost model: it must be exact */
        FE_ASSERT((uint64_t)d->out_pos * 8 + d->bc - at == (fix <= dyn ? fix : dyn));
    }
    d->nsyms = 0;
    d->block_start = end;
    memset(d->lfreq, 0, sizeof d->lfreq);
    memset(d->dfreq, 0, sizeof d->dfreq);
    return st;
}

/* ---- LZ77 ------------------------------------------------------------------------------- */

static inline uint32_t hash3(const uint8_t *p, unsigned bits) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> (32 - bits);
}

/* Length of the common prefix of a and b, at most max: 8 bytes per step. */
static inline size_t common(const uint8_t *a, const uint8_t *b, size_t max) {
    size_t i = 0;
    while (i + 8 <= max) {
        uint64_t x = fe__rd_u64le(a + i) ^ fe__rd_u64le(b + i);
        if (x) {
#if defined(__GNUC__)
            return i + (size_t)__builtin_ctzll(x) / 8;
#else
            while (!(x & 0xff)) { x >>= 8; i++; }
            return i;
#endif
        }
        i += 8;
    }
    while (i < max && a[i] == b[i]) i++;
    return i;
}

/* Inserts pos into its hash chain; returns the previous chain head (pos + 1 form). */
static inline uint32_t insert(deflater *d, size_t pos) {
    uint32_t h = hash3(d->in + pos, d->hash_bits), old = d->head[h];
    d->prev[pos & WMASK] = old;
    d->head[h] = (uint32_t)pos + 1;
    return old;
}

static inline uint16_t load16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Longest match for pos starting from chain entry c, longer than *len; updates *len and *dist.
 * Chain entries are positions + 1 of earlier insertions, so every candidate lies before pos;
 * a slot reused after 32 KiB can send the walk sideways, which costs only chain budget. */
static void longest_match(const deflater *d, size_t pos, uint32_t c, unsigned chain, size_t *len,
                          size_t *dist) {
    const uint8_t *p = d->in + pos;
    size_t max = d->n - pos < MAX_MATCH ? d->n - pos : MAX_MATCH;
    size_t best = *len, nice = d->lp->nice < max ? d->lp->nice : max;
    if (best >= max) return;
    /* c >= limit: a candidate exists (c != 0) and is within the window */
    uint32_t limit = pos >= WSIZE ? (uint32_t)(pos - WSIZE + 1) : 1;
    uint16_t head2 = load16(p), end2 = load16(p + best - 1);
    while (c >= limit && chain-- > 0) {
        const uint8_t *q = d->in + (c - 1);
        /* cheap rejections first: the two bytes that would extend the best match, then the
         * first two (the hash only guarantees equal buckets, not equal bytes) */
        if (load16(q + best - 1) == end2 && load16(q) == head2) {
            size_t l = common(p, q, max);
            if (l > best) {
                best = l;
                *dist = pos - (c - 1);
                if (l >= nice) break;
                end2 = load16(p + best - 1);
            }
        }
        c = d->prev[(c - 1) & WMASK];
    }
    *len = best;
}

static inline fe_status emit_literal(deflater *d, size_t pos_after) {
    uint8_t b = d->in[pos_after - 1];
    d->syms[d->nsyms++] = b;
    d->lfreq[b]++;
    return d->nsyms == SYM_CAP ? flush_block(d, pos_after, 0) : FE_OK;
}

static inline fe_status emit_match(deflater *d, size_t len, size_t dist, size_t pos_after) {
    d->syms[d->nsyms++] = (uint32_t)dist << 16 | (uint32_t)len;
    d->lfreq[257 + d->len_sym[len]]++;
    d->dfreq[dist_code(d, (unsigned)dist)]++;
    return d->nsyms == SYM_CAP ? flush_block(d, pos_after, 0) : FE_OK;
}

static fe_status lz_greedy(deflater *d) {
    size_t pos = 0, n = d->n;
    fe_status st = FE_OK;
    while (pos < n && st == FE_OK) {
        size_t len = MIN_MATCH - 1, dist = 0;
        if (n - pos >= MIN_MATCH) {
            uint32_t c = insert(d, pos);
            longest_match(d, pos, c, d->lp->chain, &len, &dist);
            if (len == MIN_MATCH && dist > TOO_FAR) len = MIN_MATCH - 1;
        }
        if (len >= MIN_MATCH) {
            size_t end = pos + len;
            if (len <= d->lp->insert)
                for (size_t q = pos + 1; q < end && n - q >= MIN_MATCH; q++) insert(d, q);
            st = emit_match(d, len, dist, end);
            pos = end;
        } else {
            st = emit_literal(d, ++pos);
        }
    }
    return st;
}

/* Lazy evaluation: the match found at pos-1 is emitted only if pos has no longer one. */
static fe_status lz_lazy(deflater *d) {
    size_t pos = 0, n = d->n, prev_len = MIN_MATCH - 1, prev_dist = 0;
    int pending = 0;  /* in[pos-1] is not yet emitted */
    fe_status st = FE_OK;
    while (pos < n && st == FE_OK) {
        size_t len = MIN_MATCH - 1, dist = 0;
        if (n - pos >= MIN_MATCH) {
            uint32_t c = insert(d, pos);
            if (prev_len < d->lp->lazy) {
                unsigned chain = prev_len >= d->lp->good ? d->lp->chain / 4 : d->lp->chain;
                len = prev_len;
                longest_match(d, pos, c, chain ? chain : 1, &len, &dist);
                if (len == prev_len) len = MIN_MATCH - 1;  /* no longer match found */
                if (len == MIN_MATCH && dist > TOO_FAR) len = MIN_MATCH - 1;
            }
        }
        if (prev_len >= MIN_MATCH && len <= prev_len) {
            size_t end = pos - 1 + prev_len;
            for (size_t q = pos + 1; q < end && n - q >= MIN_MATCH; q++) insert(d, q);
            st = emit_match(d, prev_len, prev_dist, end);
            pos = end;
            pending = 0;
            prev_len = MIN_MATCH - 1;
        } else {
            if (pending) st = emit_literal(d, pos);
            pending = 1;
            prev_len = len;
            prev_dist = dist;
            pos++;
        }
    }
    if (st == FE_OK && pending) st = emit_literal(d, pos);
    return st;
}

/* ---- entry points ----------------------------------------------------------------------- */

static fe_status compress(const uint8_t *in, size_t n, int level, int zlib, uint8_t **out,
                          size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (level < 0 || level > 9) return fe__fail(FE_E_ARG, "compression level %d is not 0..9", level);
    if ((uint64_t)n >= UINT64_C(0xFFFFFFFF))
        return fe__fail(FE_E_LIMIT, "cannot compress %zu bytes in one call (limit 4 GiB)", n);
    deflater *d = fe__calloc(1, sizeof *d);
    if (!d) return fe__fail(FE_E_NOMEM, "cannot allocate the compressor");
    d->in = in;
    d->n = n;
    d->lp = &levels[level];
    fe_status st = FE_OK;
    d->out_cap = n / 2 + 256;
    d->out = fe__malloc(d->out_cap);
    if (!d->out) {
        st = fe__fail(FE_E_NOMEM, "cannot allocate %zu bytes of output", d->out_cap);
        goto done;
    }
    if (zlib) {
        /* CMF: deflate, 32 KiB window; FLG: level class, check bits */
        unsigned flevel = level == 0 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;
        unsigned hdr = 0x78u << 8 | flevel << 6;
        hdr += 31 - hdr % 31;
        d->out[0] = (uint8_t)(hdr >> 8);
        d->out[1] = (uint8_t)hdr;
        d->out_pos = 2;
    }
    if (level == 0) st = write_stored(d, 0, n, 1);
    if (level != 0) {
        /* hash table sized to the input: no point clearing 2^15 heads for 100 bytes */
        d->hash_bits = 8;
        while (d->hash_bits < 15 && ((size_t)1 << d->hash_bits) < n) d->hash_bits++;
        size_t window = n < WSIZE ? (n ? n : 1) : WSIZE;
        d->head = fe__calloc((size_t)1 << d->hash_bits, sizeof *d->head);
        d->prev = fe__malloc(window * sizeof *d->prev);
        d->syms = fe__malloc(SYM_CAP * sizeof *d->syms);
        if (!d->head || !d->prev || !d->syms) {
            st = fe__fail(FE_E_NOMEM, "cannot allocate the match finder");
            goto done;
        }
        for (unsigned c = 0; c < 29; c++)
            for (unsigned l = fe__len_base[c]; l < fe__len_base[c] + (1u << fe__len_extra[c]) && l <= MAX_MATCH; l++)
                d->len_sym[l] = (uint8_t)c;
        d->len_sym[MAX_MATCH] = 28;
        for (unsigned c = 0; c < 30; c++)
            for (unsigned x = fe__dist_base[c]; x < fe__dist_base[c] + (1u << fe__dist_extra[c]); x++)
                d->dist_sym[x <= 256 ? x - 1 : 256 + ((x - 1) >> 7)] = (uint8_t)c;
        st = d->lp->lazy ? lz_lazy(d) : lz_greedy(d);
        if (st == FE_OK) st = flush_block(d, n, 1);
    }
    if (st != FE_OK) goto done;
    if ((st = reserve(d, 8)) != FE_OK) goto done;
    flush_to_byte(d);
    if (zlib) {
        fe__wr_u32be(d->out + d->out_pos, fe__adler32(1, in, n));
        d->out_pos += 4;
    }
    *out = d->out;
    *out_len = d->out_pos;
    d->out = NULL;
done:
    fe__free(d->out);
    fe__free(d->head);
    fe__free(d->prev);
    fe__free(d->syms);
    fe__free(d);
    return st;
}

fe_status fe__zlib_compress(const uint8_t *in, size_t n, int level, uint8_t **out, size_t *out_len) {
    return compress(in, n, level, 1, out, out_len);
}

fe_status fe__deflate_raw(const uint8_t *in, size_t n, int level, uint8_t **out, size_t *out_len) {
    return compress(in, n, level, 0, out, out_len);
}
