/*
 * test_deflate.c — the DEFLATE/zlib encoder: optimal length-limited codes (against brute force
 * and plain Huffman), round trips at every level through our inflate, the stored fallback on
 * incompressible data, zlib's own decoder as a one-off cross-check (SKIPs without python3),
 * and allocation failures.
 */
#include "test.h"
#include "deflate.h"
#include "inflate.h"

#include <string.h>

static uint32_t rng(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static uint64_t cost(const uint32_t *f, const uint8_t *l, unsigned n) {
    uint64_t c = 0;
    for (unsigned i = 0; i < n; i++) c += (uint64_t)f[i] * l[i];
    return c;
}

/* Kraft sum scaled by 2^15: 32768 means complete */
static uint64_t kraft(const uint8_t *l, unsigned n) {
    uint64_t k = 0;
    for (unsigned i = 0; i < n; i++)
        if (l[i]) k += (uint64_t)1 << (15 - l[i]);
    return k;
}

/* optimal unlimited Huffman cost (repeatedly merge the two lightest) and that tree's depth */
static uint64_t huffman_cost(const uint32_t *f, unsigned n, unsigned *depth) {
    uint64_t w[300], total = 0;
    unsigned d[300], m = 0;
    for (unsigned i = 0; i < n; i++)
        if (f[i]) { w[m] = f[i]; d[m++] = 0; }
    *depth = 1;
    if (m < 2) return m ? f[0] + f[1] : 0;
    while (m > 1) {
        for (unsigned k = 0; k < 2; k++)  /* move the two smallest to the end */
            for (unsigned i = 0; i + 1 < m - k; i++)
                if (w[i] < w[i + 1]) {
                    uint64_t t = w[i]; w[i] = w[i + 1]; w[i + 1] = t;
                    unsigned u = d[i]; d[i] = d[i + 1]; d[i + 1] = u;
                }
        total += w[m - 1] + w[m - 2];
        w[m - 2] += w[m - 1];
        d[m - 2] = 1 + (d[m - 1] > d[m - 2] ? d[m - 1] : d[m - 2]);
        m--;
    }
    *depth = d[0];
    return total;
}

/* best cost over every length assignment 1..L (brute force, small n) with Kraft sum <= 1 */
static uint64_t brute_cost(const uint32_t *f, unsigned n, unsigned L) {
    uint8_t l[8];
    uint64_t best = UINT64_MAX;
    unsigned total = 1;
    for (unsigned i = 0; i < n; i++) total *= L;
    for (unsigned code = 0; code < total; code++) {
        unsigned c = code;
        for (unsigned i = 0; i < n; i++) { l[i] = (uint8_t)(1 + c % L); c /= L; }
        if (kraft(l, n) > 32768) continue;
        uint64_t k = cost(f, l, n);
        if (k < best) best = k;
    }
    return best;
}

FE_TEST(deflate_code_lengths_optimal) {
    uint32_t x = 12345;
    uint8_t l[288];
    uint32_t f[288];
    /* exact optimum of limited codes, against brute force over all assignments */
    int brute = 0;
    for (int trial = 0; trial < 300; trial++) {
        unsigned n = 2 + rng(&x) % 5, L = 2 + rng(&x) % 3;
        while ((1u << L) < n) L++;
        for (unsigned i = 0; i < n; i++) f[i] = 1 + rng(&x) % (trial % 2 ? 5 : 1000);
        if (trial % 3 == 0) for (unsigned i = 0; i < n; i++) f[i] = 1u << (i * 3);  /* skewed */
        fe__deflate_code_lengths(f, n, L, l);
        uint64_t want = brute_cost(f, n, L);
        CHECK_MSG(cost(f, l, n) == want, "n=%u L=%u: cost %llu, optimum %llu", n, L,
                  (unsigned long long)cost(f, l, n), (unsigned long long)want);
        for (unsigned i = 0; i < n; i++) CHECK(l[i] >= 1 && l[i] <= L);
        CHECK(kraft(l, n) == 32768);
        brute++;
    }
    /* big alphabets: equal to plain Huffman when the limit does not bind, complete always */
    int bound = 0, free_ = 0;
    for (int trial = 0; trial < 200; trial++) {
        unsigned n = 2 + rng(&x) % 287, L = trial % 2 ? 15 : 7 + rng(&x) % 5;
        while ((1u << L) < n) L++;
        for (unsigned i = 0; i < n; i++) {
            f[i] = rng(&x) % 4 == 0 ? 0 : 1 + rng(&x) % (trial % 3 ? 100 : 1u << (rng(&x) % 24));
        }
        f[rng(&x) % n] = 1;
        fe__deflate_code_lengths(f, n, L, l);
        uint8_t maxl = 0;
        for (unsigned i = 0; i < n; i++) {
            CHECK((f[i] == 0) == (l[i] == 0) || (l[i] == 1));
            if (l[i] > maxl) maxl = l[i];
        }
        CHECK(maxl <= L);
        CHECK_MSG(kraft(l, n) == 32768, "trial %d: incomplete code", trial);
        unsigned depth;
        uint64_t h = huffman_cost(f, n, &depth), c = cost(f, l, n);
        CHECK(c >= h);
        /* when a Huffman tree fits the limit, the limited optimum is the Huffman cost */
        if (depth <= L) {
            CHECK_MSG(c == h, "trial %d: %llu vs Huffman %llu", trial, (unsigned long long)c,
                      (unsigned long long)h);
            free_++;
        } else {
            bound++;
        }
    }
    /* Fibonacci weights force depth n-1 without a limit: the limit must hold */
    f[0] = f[1] = 1;
    for (unsigned i = 2; i < 30; i++) f[i] = f[i - 1] + f[i - 2];
    fe__deflate_code_lengths(f, 30, 15, l);
    for (unsigned i = 0; i < 30; i++) CHECK(l[i] >= 1 && l[i] <= 15);
    CHECK(kraft(l, 30) == 32768);
    /* 0 and 1 used symbols still give a complete two-code set */
    memset(f, 0, sizeof f);
    fe__deflate_code_lengths(f, 30, 15, l);
    CHECK(l[0] == 1 && l[1] == 1 && kraft(l, 30) == 32768);
    f[7] = 5;
    fe__deflate_code_lengths(f, 30, 15, l);
    CHECK(l[7] == 1 && l[0] == 1 && kraft(l, 30) == 32768);
    NOTE("%d brute-force optima, %d unconstrained = Huffman, %d limited and complete", brute, free_,
         bound);
}

/* test inputs: 0 random, 1 text-like, 2 runs, 3 smooth image rows, 4 mixed */
static void fill(uint8_t *p, size_t n, int kind, uint32_t seed) {
    static const char *w[] = {"face ", "match ", "earth ", "mover ", "distance ", "patch ", "the "};
    uint32_t x = seed | 1;
    size_t i = 0;
    while (i < n) {
        int k = kind == 4 ? (int)((i / 5000) % 4) : kind;
        if (k == 0) p[i++] = (uint8_t)rng(&x);
        else if (k == 1) {
            const char *s = w[rng(&x) % 7];
            while (*s && i < n) p[i++] = (uint8_t)*s++;
        } else if (k == 2) {
            uint8_t v = (uint8_t)rng(&x);
            size_t r = 1 + rng(&x) % 400;
            while (r-- && i < n) p[i++] = v;
        } else {
            p[i] = (uint8_t)(128 + 60 * sin((double)i / 50.0) + (rng(&x) % 7));
            i++;
        }
    }
}

static int round_trip(fe_test *t, const uint8_t *in, size_t n, int level, size_t *zsize) {
    uint8_t *z;
    size_t zn;
    fe_status st = fe__zlib_compress(in, n, level, &z, &zn);
    if (st != FE_OK) { fe_t_fail(t, __FILE__, __LINE__, "compress: %s", fe_last_error()); return 0; }
    uint8_t *back = malloc(n + 1);
    size_t got = 0;
    st = fe__zlib_decompress(z, zn, back, n, &got);
    int ok = st == FE_OK && got == n && (n == 0 || memcmp(back, in, n) == 0);
    if (!ok)
        fe_t_fail(t, __FILE__, __LINE__, "level %d, %zu bytes: %s %s", level, n, fe_status_name(st),
                  fe_last_error());
    /* raw DEFLATE is the same stream without header and trailer */
    uint8_t *r;
    size_t rn;
    if (ok && fe__deflate_raw(in, n, level, &r, &rn) == FE_OK) {
        ok = rn + 6 == zn && memcmp(r, z + 2, rn) == 0;
        if (!ok) fe_t_fail(t, __FILE__, __LINE__, "raw stream differs from the zlib body");
        fe__free(r);
    }
    if (zsize) *zsize = zn;
    free(back);
    fe__free(z);
    return ok;
}

FE_TEST(deflate_round_trips_every_level) {
    static const size_t sizes[] = {0, 1, 2, 3, 4, 100, 4097, 65535, 65536, 70001, 300000};
    int trips = 0;
    size_t worst_random = 0;
    for (int kind = 0; kind <= 4; kind++) {
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t n = sizes[si];
            uint8_t *buf = malloc(n + 1);
            CHECK(buf);
            fill(buf, n, kind, (uint32_t)(n * 7 + (size_t)kind));
            for (int level = 0; level <= 9; level++) {
                size_t zn;
                if (!round_trip(t, buf, n, level, &zn)) { free(buf); return; }
                trips++;
                if (kind == 0 && n > 0 && zn - n > worst_random) worst_random = zn - n;
                /* incompressible input falls back to stored blocks: 5 bytes per 64 KiB */
                if (kind == 0) CHECK_MSG(zn <= n + 5 * (n / 65535 + 1) + 6 + 5 * (n / 16384),
                                         "random %zu bytes at level %d grew to %zu", n, level, zn);
            }
            free(buf);
        }
    }
    CHECK_STATUS(fe__zlib_compress((const uint8_t *)"x", 1, 10, &(uint8_t *){0}, &(size_t){0}), FE_E_ARG);
    CHECK_STATUS(fe__zlib_compress((const uint8_t *)"x", 1, -1, &(uint8_t *){0}, &(size_t){0}), FE_E_ARG);
    NOTE("%d round trips exact (5 kinds x 11 sizes x levels 0..9); random data grows by <= %zu "
         "bytes", trips, worst_random);
}

FE_TEST(deflate_large_and_levels_trade_off) {
    /* 8 MB of mixed content; level 9 must not be larger than level 1, level 0 is stored */
    size_t n = 8u << 20;
    uint8_t *buf = malloc(n);
    CHECK(buf);
    fill(buf, n, 4, 99);
    size_t z[10];
    for (int level = 0; level <= 9; level += (level == 1 ? 5 : level == 6 ? 3 : 1)) {
        if (!round_trip(t, buf, n, level, &z[level])) { free(buf); return; }
    }
    free(buf);
    CHECK(z[0] >= n);
    CHECK_MSG(z[9] <= z[6] && z[6] <= z[1], "sizes: L1 %zu, L6 %zu, L9 %zu", z[1], z[6], z[9]);
    NOTE("8 MiB mixed: L0 %zu, L1 %zu, L6 %zu, L9 %zu bytes", z[0], z[1], z[6], z[9]);
}

FE_TEST(deflate_output_decodes_with_zlib) {
    /* a one-off cross-check against the reference decoder (Python's zlib) */
    if (fe_t_run(NULL, 0, "python3 -c 'import zlib' >/dev/null 2>&1") != 0)
        SKIP("python3 with zlib is not available");
    const char *dir = fe_t_tmpdir();
    size_t n = 200000;
    uint8_t *buf = malloc(n);
    CHECK(buf);
    int files = 0;
    for (int kind = 0; kind <= 4; kind++) {
        fill(buf, n, kind, (uint32_t)kind + 5);
        for (int level = 0; level <= 9; level += 3) {
            uint8_t *z;
            size_t zn;
            CHECK_OK(fe__zlib_compress(buf, n, level, &z, &zn));
            char zp[512], rp[512];
            snprintf(zp, sizeof zp, "%s/k%d_l%d.zz", dir, kind, level);
            snprintf(rp, sizeof rp, "%s/k%d.raw", dir, kind);
            CHECK(fe_t_write_file(zp, z, zn) == 0 && fe_t_write_file(rp, buf, n) == 0);
            fe__free(z);
            files++;
        }
    }
    free(buf);
    char out[256];
    int rc = fe_t_run(out, sizeof out,
                      "cd '%s' && python3 -c \"import zlib,glob\n"
                      "bad=[f for f in sorted(glob.glob('*.zz')) if zlib.decompress(open(f,'rb').read())"
                      "!=open(f.split('_')[0]+'.raw','rb').read()]\nprint(len(glob.glob('*.zz')),'ok' if not bad else bad)\"",
                      dir);
    CHECK_MSG(rc == 0, "python3 failed: %s", out);
    char want[32];
    snprintf(want, sizeof want, "%d ok", files);
    CHECK_MSG(strncmp(out, want, strlen(want)) == 0, "python zlib says: %s", out);
    NOTE("%d streams (5 kinds x 4 levels) decode with zlib %s", files, "via python3");
}

FE_TEST(deflate_alloc_failures) {
    size_t n = 100000;
    uint8_t *buf = malloc(n);
    CHECK(buf);
    fill(buf, n, 4, 3);
    int fails = 0;
    for (int level = 0; level <= 9; level += 9) {
        for (long k = 0;; k++) {
            uint8_t *z = (uint8_t *)1;
            size_t zn = 1;
            fe__alloc_fail_after(k);
            fe_status st = fe__zlib_compress(buf, n, level, &z, &zn);
            fe__alloc_fail_after(-1);
            if (st == FE_OK) { fe__free(z); break; }
            CHECK_MSG(st == FE_E_NOMEM, "failing allocation %ld gave %s", k, fe_status_name(st));
            CHECK(z == NULL && zn == 0);
            fails++;
            CHECK(k < 100);
        }
    }
    free(buf);
    NOTE("%d failing allocations, each FE_E_NOMEM (leaks: ASan in make check)", fails);
}
