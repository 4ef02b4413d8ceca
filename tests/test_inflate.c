/*
 * test_inflate.c — the DEFLATE/zlib decoder against streams made by zlib itself
 * (tests/data/zlib, tools/make-zlib-goldens.py), every prefix and bit flip of real streams,
 * and a table of hand-built invalid streams, each with its own status.
 */
#include "test.h"
#include "inflate.h"

#include <string.h>

/* ---- the generators of tools/make-zlib-goldens.py, bit for bit ------------------------- */

static uint32_t lcg(uint32_t x) { return x * 1103515245u + 12345u; }

static const char *const words[] = {"the",   "quick", "brown",    "fox",  "jumps", "over",
                                    "lazy",  "dog",   "face",     "match", "patch", "earth",
                                    "mover", "distance", "chip",  "gallery", "query"};

/* fills out[0..n) like gen(kind, seed, n); returns 0 for an unknown kind */
static int gen_data(const char *kind, uint32_t seed, uint8_t *out, size_t n) {
    uint32_t x = seed;
    size_t i = 0;
    if (!strcmp(kind, "rand")) {
        for (; i < n; i++) out[i] = (uint8_t)((x = lcg(x)) >> 24);
    } else if (!strcmp(kind, "text")) {
        while (i < n) {
            x = lcg(x);
            const char *w = words[(x >> 16) % 17];
            for (size_t k = 0; w[k] && i < n; k++) out[i++] = (uint8_t)w[k];
            if (i < n) out[i++] = ' ';
        }
    } else if (!strcmp(kind, "runs")) {
        while (i < n) {
            x = lcg(x);
            uint8_t v = (uint8_t)(x >> 24);
            x = lcg(x);
            size_t run = 1 + (x >> 16) % 300;
            for (size_t k = 0; k < run && i < n; k++) out[i++] = v;
        }
    } else if (!strcmp(kind, "far")) {
        static uint8_t block[32000];
        for (size_t k = 0; k < sizeof block; k++) block[k] = (uint8_t)((x = lcg(x)) >> 24);
        while (i < n) {
            for (size_t k = 0; k < sizeof block && i < n; k++) out[i++] = block[k];
            x = lcg(x);
            block[(x >> 8) % sizeof block] ^= 0x5A;
        }
    } else {
        return 0;
    }
    return 1;
}

typedef struct golden {
    char name[64], kind[16], wrap[8];
    unsigned seed;
    size_t size;
    uint32_t crc;
} golden;

/* reads tests/data/zlib/MANIFEST.tsv; returns the row count (0 on error) */
static size_t read_manifest(golden *g, size_t cap) {
    FILE *fp = fopen("tests/data/zlib/MANIFEST.tsv", "r");
    if (!fp) return 0;
    char line[512];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, fp)) {
        if (sscanf(line, "%63[^\t]\t%15[^\t]\t%u\t%zu\t%7[^\t]\t%x", g[n].name, g[n].kind,
                   &g[n].seed, &g[n].size, g[n].wrap, &g[n].crc) == 6)
            n++;
    }
    fclose(fp);
    return n;
}

static uint8_t *load_stream(const char *name, size_t *n) {
    char path[256];
    snprintf(path, sizeof path, "tests/data/zlib/%.100s.zz", name);
    return fe_t_read_file(path, n);
}

static fe_status decode(const golden *g, const uint8_t *z, size_t zn, uint8_t *out, size_t cap,
                        size_t *got) {
    if (!strcmp(g->wrap, "raw")) {
        size_t used;
        fe_status st = fe__inflate_raw(z, zn, out, cap, got, &used);
        if (st == FE_OK && used != zn) return FE_E_COUNT;  /* raw streams fill their file */
        return st;
    }
    return fe__zlib_decompress(z, zn, out, cap, got);
}

FE_TEST(inflate_zlib_goldens_exact) {
    golden g[64];
    size_t rows = read_manifest(g, 64);
    CHECK_MSG(rows >= 18, "tests/data/zlib/MANIFEST.tsv has %zu rows", rows);
    size_t total = 0, max_size = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t zn;
        uint8_t *z = load_stream(g[r].name, &zn);
        CHECK_MSG(z, "missing tests/data/zlib/%s.zz", g[r].name);
        uint8_t *want = malloc(g[r].size + 1), *got = malloc(g[r].size + 64);
        CHECK(want && got);
        CHECK(gen_data(g[r].kind, g[r].seed, want, g[r].size));
        CHECK_MSG(fe__crc32(0, want, g[r].size) == g[r].crc, "%s: generator differs from Python's",
                  g[r].name);
        /* exact cap, then a roomy cap (the length must still be exact) */
        size_t n = 99;
        CHECK_OK(decode(&g[r], z, zn, got, g[r].size, &n));
        CHECK_MSG(n == g[r].size && memcmp(got, want, n) == 0, "%s: output differs", g[r].name);
        CHECK_OK(decode(&g[r], z, zn, got, g[r].size + 64, &n));
        CHECK_MSG(n == g[r].size && memcmp(got, want, n) == 0, "%s: output differs (roomy cap)",
                  g[r].name);
        if (g[r].size > 0) {
            CHECK_STATUS(decode(&g[r], z, zn, got, g[r].size - 1, &n), FE_E_LIMIT);
            /* negative control: the comparison used above sees a one-byte change */
            CHECK_OK(decode(&g[r], z, zn, got, g[r].size, &n));
            got[g[r].size / 2] ^= 1;
            CHECK(memcmp(got, want, n) != 0);
        }
        total += g[r].size;
        if (g[r].size > max_size) max_size = g[r].size;
        free(z);
        free(want);
        free(got);
    }
    NOTE("%zu streams, %zu bytes decoded exactly, largest %zu", rows, total, max_size);
}

FE_TEST(inflate_every_prefix_is_truncated) {
    const char *names[] = {"text_fixed", "text_l9", "text_l0_stored", "one_byte", "far_l9"};
    golden g[64];
    size_t rows = read_manifest(g, 64);
    size_t tried = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t r = 0;
        while (r < rows && strcmp(g[r].name, names[k])) r++;
        CHECK_MSG(r < rows, "%s not in the manifest", names[k]);
        size_t zn;
        uint8_t *z = load_stream(names[k], &zn);
        CHECK(z);
        uint8_t *out = malloc(g[r].size + 1);
        CHECK(out);
        /* all prefixes of small streams; of large ones, the first and last 600 and a stride */
        for (size_t len = 0; len < zn; len++) {
            if (zn > 3000 && len > 600 && len + 600 < zn && len % 97) continue;
            size_t n;
            fe_status st = fe__zlib_decompress(z, len, out, g[r].size, &n);
            CHECK_MSG(st == FE_E_TRUNCATED, "%s cut to %zu of %zu bytes gave %s (%s)", names[k], len,
                      zn, fe_status_name(st), fe_last_error());
            tried++;
        }
        free(z);
        free(out);
    }
    NOTE("%zu prefixes, all FE_E_TRUNCATED", tried);
}

FE_TEST(inflate_bit_flips_never_lie) {
    /* every single-bit change is either detected or decodes to the same bytes (a flip in the
     * padding after the final block); never a crash (ASan in make check) */
    const char *names[] = {"text_fixed", "runs_fixed", "one_byte", "rand_l6"};
    golden g[64];
    size_t rows = read_manifest(g, 64);
    size_t flips = 0, detected = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t r = 0;
        while (r < rows && strcmp(g[r].name, names[k])) r++;
        CHECK(r < rows);
        size_t zn;
        uint8_t *z = load_stream(names[k], &zn);
        uint8_t *want = malloc(g[r].size + 1), *out = malloc(g[r].size + 1);
        CHECK(z && want && out);
        gen_data(g[r].kind, g[r].seed, want, g[r].size);
        for (size_t bit = 0; bit < zn * 8; bit++) {
            z[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            size_t n;
            fe_status st = fe__zlib_decompress(z, zn, out, g[r].size, &n);
            z[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            flips++;
            if (st != FE_OK) {
                detected++;
                continue;
            }
            CHECK_MSG(n == g[r].size && memcmp(out, want, n) == 0,
                      "%s: flipping bit %zu decodes to different data with FE_OK", names[k], bit);
        }
        free(z);
        free(want);
        free(out);
    }
    NOTE("%zu flips, %zu rejected, the rest decode identically", flips, detected);
}

/* ---- hand-built streams ----------------------------------------------------------------- */

typedef struct bitw {
    uint8_t b[512];
    size_t bit;
} bitw;

static void put(bitw *w, uint32_t v, unsigned n) {  /* LSB first, as DEFLATE packs fields */
    for (unsigned i = 0; i < n; i++, w->bit++)
        if (v >> i & 1) w->b[w->bit / 8] |= (uint8_t)(1u << (w->bit % 8));
}
static void put_code(bitw *w, uint32_t code, unsigned len) {  /* Huffman codes MSB first */
    for (unsigned i = len; i-- > 0;) put(w, code >> i & 1, 1);
}
static size_t bytes(const bitw *w) { return (w->bit + 7) / 8; }

/* the fixed literal/length code of RFC 1951 3.2.6 */
static void put_fixed(bitw *w, unsigned sym) {
    if (sym < 144) put_code(w, 0x30 + sym, 8);
    else if (sym < 256) put_code(w, 0x190 + sym - 144, 9);
    else if (sym < 280) put_code(w, sym - 256, 7);
    else put_code(w, 0xC0 + sym - 280, 8);
}

/* canonical codes for lengths (as a decoder derives them) */
static void canon(const uint8_t *lens, unsigned n, uint32_t *codes) {
    unsigned count[16] = {0}, next[16] = {0};
    for (unsigned s = 0; s < n; s++) count[lens[s]]++;
    count[0] = 0;
    for (unsigned l = 1; l < 16; l++) next[l] = (next[l - 1] + count[l - 1]) << 1;
    for (unsigned s = 0; s < n; s++)
        if (lens[s]) codes[s] = next[lens[s]]++;
}

/* A dynamic block header sending the given lengths literally with a flat 4-bit code-length
 * code for symbols 0..15 (16..18 unused); returns the literal/length and distance codes. */
static void put_dynamic(bitw *w, int final, const uint8_t *lit, unsigned hlit, const uint8_t *dist,
                        unsigned hdist) {
    put(w, (unsigned)final, 1);
    put(w, 2, 2);
    put(w, hlit - 257, 5);
    put(w, hdist - 1, 5);
    put(w, 19 - 4, 4);
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    for (int i = 0; i < 19; i++) put(w, order[i] < 16 ? 4 : 0, 3);
    for (unsigned i = 0; i < hlit; i++) put_code(w, lit[i], 4);
    for (unsigned i = 0; i < hdist; i++) put_code(w, dist[i], 4);
}

static void zlib_wrap(const bitw *w, uint8_t *out, size_t *n, uint32_t adler) {
    out[0] = 0x78;
    out[1] = 0x9C;
    memcpy(out + 2, w->b, bytes(w));
    fe__wr_u32be(out + 2 + bytes(w), adler);
    *n = 2 + bytes(w) + 4;
}

FE_TEST(inflate_invalid_streams_table) {
    uint8_t out[64];
    size_t n;
    int cases = 0;
#define RAW_IS(w, cap, status, what) do {                                                     \
        fe_status st_ = fe__inflate_raw((w).b, bytes(&(w)), out, (cap), &n, NULL);             \
        CHECK_MSG(st_ == (status), "%s: got %s (%s), expected %s", what, fe_status_name(st_),   \
                  fe_last_error(), fe_status_name(status));                                    \
        cases++;                                                                               \
    } while (0)

    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 3, 2);
      RAW_IS(w, 64, FE_E_CORRUPT, "block type 3"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 0, 2); w.bit = 8; put(&w, 5, 16); put(&w, 0xFFFF, 16);
      RAW_IS(w, 64, FE_E_CORRUPT, "stored LEN/NLEN mismatch"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 0, 2); w.bit = 8; put(&w, 5, 16); put(&w, 0xFFFA, 16);
      put(&w, 'a', 8); RAW_IS(w, 64, FE_E_TRUNCATED, "stored block cut short"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 0, 2); w.bit = 8; put(&w, 5, 16); put(&w, 0xFFFA, 16);
      put(&w, 0x61616161, 32); put(&w, 0x61, 8); RAW_IS(w, 4, FE_E_LIMIT, "stored block over the cap"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 286);
      put_code(&w, 0, 5); put_fixed(&w, 256); RAW_IS(w, 64, FE_E_CORRUPT, "fixed length code 286"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 287);
      put_code(&w, 0, 5); put_fixed(&w, 256); RAW_IS(w, 64, FE_E_CORRUPT, "fixed length code 287"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 257);
      put_code(&w, 30, 5); put_fixed(&w, 256); RAW_IS(w, 64, FE_E_CORRUPT, "distance code 30"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 257);
      put_code(&w, 31, 5); put_fixed(&w, 256); RAW_IS(w, 64, FE_E_CORRUPT, "distance code 31"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 257);
      put_code(&w, 1, 5); put_fixed(&w, 256); RAW_IS(w, 64, FE_E_CORRUPT, "distance 2 after 1 byte"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 257);
      put_code(&w, 0, 5); put_fixed(&w, 256);
      RAW_IS(w, 64, FE_OK, "distance 1 after 1 byte");
      CHECK(n == 4 && memcmp(out, "aaaa", 4) == 0);
      RAW_IS(w, 3, FE_E_LIMIT, "match over the cap"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 'b');
      RAW_IS(w, 64, FE_E_TRUNCATED, "missing end-of-block"); }
    { bitw w = {{0}, 0}; put(&w, 0, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 256);
      RAW_IS(w, 64, FE_E_TRUNCATED, "no final block"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 1, 2); put_fixed(&w, 'a'); put_fixed(&w, 'b');
      put_fixed(&w, 256); RAW_IS(w, 1, FE_E_LIMIT, "literal over the cap"); }
    { bitw w = {{0}, 0}; RAW_IS(w, 64, FE_E_TRUNCATED, "empty input"); }

    /* dynamic headers */
    uint8_t lit[288] = {0}, dist[32] = {0};
    /* a complete code: 'a' and 'b' and 256 and 257 with lengths 2,2,2,2 */
    lit['a'] = lit['b'] = lit[256] = lit[257] = 2;
    dist[0] = 1;  /* single 1-bit distance code: incomplete but legal */
    { bitw w = {{0}, 0}; put_dynamic(&w, 1, lit, 258, dist, 1);
      uint32_t c[288]; canon(lit, 258, c);
      put_code(&w, c['a'], 2); put_code(&w, c['b'], 2); put_code(&w, c[257], 2); put_code(&w, 0, 1);
      put_code(&w, c[256], 2);
      RAW_IS(w, 64, FE_OK, "valid dynamic block");
      CHECK(n == 5 && memcmp(out, "abbbb", 5) == 0); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 2, 2); put(&w, 30, 5); put(&w, 0, 5);
      put(&w, 15, 4); RAW_IS(w, 64, FE_E_CORRUPT, "HLIT = 287"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 2, 2); put(&w, 0, 5); put(&w, 30, 5);
      put(&w, 15, 4); RAW_IS(w, 64, FE_E_CORRUPT, "HDIST = 31"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 2, 2); put(&w, 0, 5); put(&w, 0, 5); put(&w, 0, 4);
      put(&w, 1, 3); put(&w, 1, 3); put(&w, 1, 3); put(&w, 0, 3); w.bit += 40;
      RAW_IS(w, 64, FE_E_CORRUPT, "over-subscribed code-length code"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 2, 2); put(&w, 0, 5); put(&w, 0, 5); put(&w, 0, 4);
      put(&w, 2, 3); put(&w, 2, 3); put(&w, 0, 3); put(&w, 0, 3); w.bit += 40;
      RAW_IS(w, 64, FE_E_CORRUPT, "incomplete code-length code"); }
    { bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 2, 2); put(&w, 0, 5); put(&w, 0, 5); put(&w, 0, 4);
      put(&w, 0, 3); put(&w, 0, 3); put(&w, 0, 3); put(&w, 0, 3); w.bit += 40;
      RAW_IS(w, 64, FE_E_CORRUPT, "empty code-length code"); }
    { uint8_t l2[288] = {0}; l2['a'] = l2['b'] = l2['c'] = 1; l2[256] = 2;
      bitw w = {{0}, 0}; put_dynamic(&w, 1, l2, 257, dist, 1); w.bit += 16;
      RAW_IS(w, 64, FE_E_CORRUPT, "over-subscribed literal/length code"); }
    { uint8_t l2[288] = {0}; l2['a'] = 2; l2[256] = 2;
      bitw w = {{0}, 0}; put_dynamic(&w, 1, l2, 257, dist, 1); w.bit += 16;
      RAW_IS(w, 64, FE_E_CORRUPT, "incomplete literal/length code"); }
    { uint8_t l2[288] = {0}; l2['a'] = 1; l2['b'] = 1;
      bitw w = {{0}, 0}; put_dynamic(&w, 1, l2, 257, dist, 1); w.bit += 16;
      RAW_IS(w, 64, FE_E_CORRUPT, "no end-of-block code"); }
    { uint8_t d2[32] = {0}; d2[0] = d2[1] = d2[2] = 1;
      bitw w = {{0}, 0}; put_dynamic(&w, 1, lit, 258, d2, 3); w.bit += 16;
      RAW_IS(w, 64, FE_E_CORRUPT, "over-subscribed distance code"); }
    { uint8_t d2[32] = {0}; d2[0] = 2; d2[1] = 2;
      bitw w = {{0}, 0}; put_dynamic(&w, 1, lit, 258, d2, 2); w.bit += 16;
      RAW_IS(w, 64, FE_E_CORRUPT, "incomplete distance code"); }
    { /* no distance codes at all is legal for a literals-only block... */
      uint8_t d2[32] = {0}, l2[288] = {0}; l2['x'] = 1; l2[256] = 1;
      bitw w = {{0}, 0}; put_dynamic(&w, 1, l2, 257, d2, 1);
      uint32_t c[288]; canon(l2, 257, c);
      put_code(&w, c['x'], 1); put_code(&w, c[256], 1);
      RAW_IS(w, 64, FE_OK, "literals-only block without distance codes");
      CHECK(n == 1 && out[0] == 'x'); }
    { /* ...but using a distance then is not */
      uint8_t d2[32] = {0};
      bitw w = {{0}, 0}; put_dynamic(&w, 1, lit, 258, d2, 1);
      uint32_t c[288]; canon(lit, 258, c);
      put_code(&w, c['a'], 2); put_code(&w, c[257], 2); put_code(&w, 0, 1); put_code(&w, c[256], 2);
      RAW_IS(w, 64, FE_E_CORRUPT, "distance with an empty distance code"); }
    { /* repeat-previous (16) as the first code length */
      bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 2, 2); put(&w, 0, 5); put(&w, 0, 5); put(&w, 0, 4);
      put(&w, 1, 3); put(&w, 0, 3); put(&w, 0, 3); put(&w, 1, 3);  /* 16 and 0: 1 bit each */
      put_code(&w, 1, 1); put(&w, 0, 2); w.bit += 64;
      RAW_IS(w, 64, FE_E_CORRUPT, "repeat with no previous length"); }
    { /* 18 (zeros, 11..138) running past HLIT + HDIST */
      bitw w = {{0}, 0}; put(&w, 1, 1); put(&w, 2, 2); put(&w, 0, 5); put(&w, 0, 5); put(&w, 0, 4);
      put(&w, 0, 3); put(&w, 0, 3); put(&w, 1, 3); put(&w, 1, 3);  /* 18 and 0: 1 bit each */
      put_code(&w, 1, 1); put(&w, 127, 7); put_code(&w, 1, 1); put(&w, 127, 7);
      put_code(&w, 1, 1); put(&w, 127, 7); w.bit += 64;
      RAW_IS(w, 64, FE_E_CORRUPT, "repeat past the end of the lengths"); }
    { /* a dynamic header cut in the middle of its code lengths */
      bitw w = {{0}, 0}; put_dynamic(&w, 1, lit, 258, dist, 1);
      w.bit = 100; memset(w.b + 13, 0, sizeof w.b - 13); w.b[12] &= 0x0F;
      RAW_IS(w, 64, FE_E_TRUNCATED, "dynamic header cut short"); }

    /* zlib wrapper */
    bitw ok = {{0}, 0};
    put(&ok, 1, 1); put(&ok, 1, 2); put_fixed(&ok, 'h'); put_fixed(&ok, 'i'); put_fixed(&ok, 256);
    uint8_t z[64];
    size_t zn;
    zlib_wrap(&ok, z, &zn, fe__adler32(1, "hi", 2));
    CHECK_OK(fe__zlib_decompress(z, zn, out, 64, &n));
    CHECK(n == 2 && memcmp(out, "hi", 2) == 0);
#define ZLIB_IS(buf, len, status, what) do {                                                  \
        fe_status st_ = fe__zlib_decompress((buf), (len), out, 64, &n);                        \
        CHECK_MSG(st_ == (status), "%s: got %s (%s), expected %s", what, fe_status_name(st_),   \
                  fe_last_error(), fe_status_name(status));                                    \
        cases++;                                                                               \
    } while (0)
    uint8_t bad[72];
    memcpy(bad, z, zn); bad[zn - 1] ^= 1;
    ZLIB_IS(bad, zn, FE_E_CHECKSUM, "Adler-32 mismatch");
    memcpy(bad, z, zn); bad[zn] = 0;
    ZLIB_IS(bad, zn + 1, FE_E_CORRUPT, "byte after the trailer");
    ZLIB_IS(z, zn - 1, FE_E_TRUNCATED, "trailer cut");
    ZLIB_IS(z, 1, FE_E_TRUNCATED, "header cut");
    ZLIB_IS(z, 0, FE_E_TRUNCATED, "empty");
    memcpy(bad, z, zn); bad[0] = 0x77; bad[1] = 0x01 + 0;
    bad[1] = (uint8_t)(31 - (0x77 * 256) % 31);
    ZLIB_IS(bad, zn, FE_E_CORRUPT, "compression method 7");
    memcpy(bad, z, zn); bad[0] = 0x88; bad[1] = (uint8_t)(31 - (0x88 * 256) % 31);
    ZLIB_IS(bad, zn, FE_E_CORRUPT, "window 2^16");
    memcpy(bad, z, zn); bad[1] ^= 1;
    ZLIB_IS(bad, zn, FE_E_CORRUPT, "header check bits");
    memcpy(bad, z, zn); bad[1] = 0x20; bad[1] = (uint8_t)(bad[1] + (31 - (0x78 * 256 + 0x20) % 31) % 31);
    ZLIB_IS(bad, zn, FE_E_UNSUPPORTED, "preset dictionary");
    NOTE("%d invalid or edge streams, each with its status", cases);
}
