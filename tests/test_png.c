/*
 * test_png.c — the PNG codec: exact goldens for every colour type, bit depth, tRNS form and
 * Adam7 (tests/data/png, tools/make-png-goldens.py), writer round trips, the writer checked by
 * pngcheck and by Python's zlib (one-off; SKIPs without them), a table of corrupt files each
 * with its own status, every prefix truncated, and allocation failures.
 */
#include "test.h"
#include "internal.h"
#include "deflate.h"
#include "image_codecs.h"

#include <string.h>

/* ---- PAM (P7) expected-pixel files ------------------------------------------------------ */

static uint8_t *read_pam(const char *path, uint32_t *w, uint32_t *h, uint32_t *c) {
    size_t n;
    char *d = fe_t_read_file(path, &n);
    if (!d) return NULL;
    char *end = strstr(d, "ENDHDR\n");
    unsigned maxval = 0;
    char *p;
    *w = *h = *c = 0;
    if ((p = strstr(d, "WIDTH "))) *w = (uint32_t)atoi(p + 6);
    if ((p = strstr(d, "HEIGHT "))) *h = (uint32_t)atoi(p + 7);
    if ((p = strstr(d, "DEPTH "))) *c = (uint32_t)atoi(p + 6);
    if ((p = strstr(d, "MAXVAL "))) maxval = (unsigned)atoi(p + 7);
    size_t off = end ? (size_t)(end - d) + 7 : n;
    if (strncmp(d, "P7\n", 3) || !end || maxval != 255 || n - off != (size_t)*w * *h * *c) {
        free(d);
        return NULL;
    }
    uint8_t *px = malloc(n - off + 1);
    memcpy(px, d + off, n - off);
    free(d);
    return px;
}

typedef struct golden {
    char name[96], source[32];
    uint32_t w, h, c;
} golden;

static size_t read_manifest(golden *g, size_t cap) {
    FILE *fp = fopen("tests/data/png/MANIFEST.tsv", "r");
    if (!fp) return 0;
    char line[1024];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, fp))
        if (sscanf(line, "%95[^\t]\t%u\t%u\t%u\t%31[^\t]", g[n].name, &g[n].w, &g[n].h, &g[n].c,
                   g[n].source) == 5)
            n++;
    fclose(fp);
    return n;
}

FE_TEST(png_goldens_exact) {
    golden g[128];
    size_t rows = read_manifest(g, 128);
    CHECK_MSG(rows >= 80, "tests/data/png/MANIFEST.tsv has %zu rows", rows);
    size_t pixels = 0, py = 0, im = 0, adam7 = 0;
    unsigned worst = 0;
    for (size_t r = 0; r < rows; r++) {
        char path[256];
        snprintf(path, sizeof path, "tests/data/png/%.95s.png", g[r].name);
        size_t n;
        uint8_t *data = fe_t_read_file(path, &n);
        CHECK_MSG(data, "missing %s", path);
        snprintf(path, sizeof path, "tests/data/png/%.95s.pam", g[r].name);
        uint32_t w, h, c;
        uint8_t *want = read_pam(path, &w, &h, &c);
        CHECK_MSG(want && w == g[r].w && h == g[r].h && c == g[r].c, "bad or missing %s", path);
        fe_image_header hd;
        CHECK_OK(fe_image_info(data, n, &hd));
        CHECK_MSG(hd.format == FE_IMAGE_PNG && hd.width == w && hd.height == h && hd.channels == c,
                  "%s: info says %ux%ux%u", g[r].name, hd.width, hd.height, hd.channels);
        fe_image *img;
        fe_status st = fe_image_decode(data, n, &img);
        CHECK_MSG(st == FE_OK, "%s: %s (%s)", g[r].name, fe_status_name(st), fe_last_error());
        CHECK_MSG(img->width == w && img->height == h && img->channels == c, "%s: decoded %ux%ux%u",
                  g[r].name, img->width, img->height, img->channels);
        size_t bytes = (size_t)w * h * c;
        for (size_t i = 0; i < bytes; i++) {
            unsigned d = (unsigned)abs((int)img->data[i] - (int)want[i]);
            if (d > worst) worst = d;
            CHECK_MSG(d == 0, "%s: byte %zu (pixel %zu, channel %zu) is %u, expected %u", g[r].name, i,
                      i / c, i % c, img->data[i], want[i]);
        }
        /* negative control: the same comparison catches a one-unit change */
        img->data[bytes / 2] ^= 1;
        CHECK(memcmp(img->data, want, bytes) != 0);
        pixels += (size_t)w * h;
        if (!strcmp(g[r].source, "imagemagick")) im++;
        else py++;
        if (strstr(g[r].name, "adam7")) adam7++;
        fe_image_free(img);
        free(want);
        free(data);
    }
    NOTE("%zu files (%zu from source samples, %zu by ImageMagick; %zu Adam7), %zu pixels, max "
         "abs diff %u", rows, py, im, adam7, pixels, worst);
}

/* ---- writer ------------------------------------------------------------------------------- */

static void fill_image(fe_image *img, uint32_t seed, int smooth) {
    uint32_t x = seed | 1;
    size_t n = (size_t)img->width * img->height * img->channels;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        if (smooth) {
            size_t p = i / img->channels, yy = p / img->width, xx = p % img->width;
            img->data[i] = (uint8_t)(xx * 3 + yy * 2 + (i % img->channels) * 40 + (x % 5));
        } else {
            img->data[i] = (uint8_t)x;
        }
    }
}

FE_TEST(png_writer_round_trips) {
    static const uint32_t sizes[][2] = {{1, 1}, {7, 3}, {33, 17}, {150, 150}, {1, 300}, {257, 2}};
    int trips = 0;
    for (uint32_t c = 1; c <= 4; c++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            fe_image *img;
            CHECK_OK(fe_image_create(sizes[s][0], sizes[s][1], c, &img));
            fill_image(img, c * 100 + (uint32_t)s, s % 2);
            for (int level = 0; level <= 9; level += (level < 2 ? 1 : 3)) {
                uint8_t *png;
                size_t n;
                CHECK_OK(fe__png_encode(img, level, &png, &n));
                static const uint8_t color_of[5] = {0, 0, 4, 2, 6};
                CHECK(n > 33 && png[24] == 8 && png[25] == color_of[c] && png[28] == 0);
                fe_image *back;
                CHECK_OK(fe_image_decode(png, n, &back));
                CHECK(back->width == img->width && back->height == img->height && back->channels == c);
                CHECK_MSG(memcmp(back->data, img->data, (size_t)img->width * img->height * c) == 0,
                          "%ux%ux%u level %d differs after a round trip", img->width, img->height, c, level);
                fe_image_free(back);
                fe__free(png);  /* fe__malloc is malloc */
                trips++;
            }
            fe_image_free(img);
        }
    }
    CHECK_STATUS(fe__png_encode(&(fe_image){1, 1, 3, (uint8_t[3]){0}}, 10, &(uint8_t *){0}, &(size_t){0}), FE_E_ARG);
    CHECK_STATUS(fe__png_encode(&(fe_image){1, 1, 5, (uint8_t[5]){0}}, 6, &(uint8_t *){0}, &(size_t){0}), FE_E_CORRUPT);
    NOTE("%d exact round trips (1-4 channels, 6 sizes, levels 0,1,2,5,8)", trips);
}

FE_TEST(png_save_load_atomic) {
    fe_image *img, *back;
    CHECK_OK(fe_image_create(40, 30, 3, &img));
    fill_image(img, 5, 1);
    char path[600];
    snprintf(path, sizeof path, "%s/x.PNG", fe_t_tmpdir());
    CHECK_OK(fe_image_save(path, img));
    CHECK_OK(fe_image_load(path, &back));
    CHECK(back->channels == 3 && memcmp(back->data, img->data, 40 * 30 * 3) == 0);
    fe_image_free(back);
    /* an image the writer refuses leaves the old file in place */
    size_t n0, n1;
    free(fe_t_read_file(path, &n0));
    fe_image bad = {0, 5, 3, img->data};
    CHECK(fe_image_save(path, &bad) != FE_OK);
    free(fe_t_read_file(path, &n1));
    CHECK(n0 == n1);
    fe_image_free(img);
}

static fe_image *load_chip(fe_test *t) {
    const char *p = fe_t_need_shared(t, "fixtures/faceres/face_sample1.ppm");
    if (!p) return NULL;
    fe_image *img;
    if (fe_image_load(p, &img) != FE_OK) {
        fe_t_fail(t, __FILE__, __LINE__, "cannot load %s: %s", p, fe_last_error());
        return NULL;
    }
    return img;
}

/* a 600x600 photo-like image: the chip scaled up 4x bilinearly, with sensor-like noise */
static fe_image *photo_like(const fe_image *chip) {
    fe_image *img;
    if (fe_image_create(600, 600, 3, &img) != FE_OK) return NULL;
    uint32_t x = 77;
    for (uint32_t y = 0; y < 600; y++)
        for (uint32_t xx = 0; xx < 600; xx++)
            for (uint32_t c = 0; c < 3; c++) {
                double fx = (xx + 0.5) / 4 - 0.5, fy = (y + 0.5) / 4 - 0.5;
                int x0 = fx < 0 ? 0 : (int)fx, y0 = fy < 0 ? 0 : (int)fy;
                int x1 = x0 + 1 < 150 ? x0 + 1 : 149, y1 = y0 + 1 < 150 ? y0 + 1 : 149;
                double ax = fx - x0 < 0 ? 0 : fx - x0, ay = fy - y0 < 0 ? 0 : fy - y0;
                const uint8_t *d = chip->data;
                double v = (1 - ay) * ((1 - ax) * d[(y0 * 150 + x0) * 3 + c] + ax * d[(y0 * 150 + x1) * 3 + c]) +
                           ay * ((1 - ax) * d[(y1 * 150 + x0) * 3 + c] + ax * d[(y1 * 150 + x1) * 3 + c]);
                x ^= x << 13; x ^= x >> 17; x ^= x << 5;
                v += (double)(x % 5) - 2;
                img->data[((size_t)y * 600 + xx) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
            }
    return img;
}

FE_TEST(png_writer_ratio_per_level) {
    fe_image *chip = load_chip(t);
    if (!chip) return;
    fe_image *photo = photo_like(chip);
    CHECK(photo);
    const fe_image *imgs[2] = {chip, photo};
    const char *names[2] = {"chip 150x150", "photo-like 600x600"};
    for (int k = 0; k < 2; k++) {
        char line[400];
        int len = 0;
        size_t raw = (size_t)imgs[k]->width * imgs[k]->height * 3, sz[10];
        for (int level = 0; level <= 9; level++) {
            uint8_t *png;
            CHECK_OK(fe__png_encode(imgs[k], level, &png, &sz[level]));
            fe_image *back;
            CHECK_OK(fe_image_decode(png, sz[level], &back));
            CHECK(memcmp(back->data, imgs[k]->data, raw) == 0);
            fe_image_free(back);
            fe__free(png);
            len += snprintf(line + len, sizeof line - (size_t)len, " L%d %.3f", level, (double)sz[level] / raw);
        }
        CHECK(sz[0] > raw && sz[9] <= sz[1]);
        NOTE("%s size/raw:%s", names[k], line);
    }
    fe_image_free(photo);
    fe_image_free(chip);
}

FE_TEST(png_writer_checked_by_pngcheck_and_python) {
    /* one-off cross-checks of the writer by independent tools; SKIP where absent */
    int have_pngcheck = fe_t_run(NULL, 0, "command -v pngcheck >/dev/null 2>&1") == 0;
    int have_python = fe_t_run(NULL, 0, "python3 -c 'import zlib' >/dev/null 2>&1") == 0;
    if (!have_pngcheck && !have_python) SKIP("neither pngcheck nor python3 is available");
    const char *dir = fe_t_tmpdir();
    int files = 0;
    for (uint32_t c = 1; c <= 4; c++) {
        for (int level = 0; level <= 9; level += 3) {
            fe_image *img;
            CHECK_OK(fe_image_create(c == 3 ? 150 : 37, c == 3 ? 150 : 23, c, &img));
            fill_image(img, c + (uint32_t)level, level % 2 == 0);
            uint8_t *png;
            size_t n;
            CHECK_OK(fe__png_encode(img, level, &png, &n));
            char p[512];
            snprintf(p, sizeof p, "%s/c%u_l%d.png", dir, c, level);
            CHECK(fe_t_write_file(p, png, n) == 0);
            snprintf(p, sizeof p, "%s/c%u_l%d.raw", dir, c, level);
            CHECK(fe_t_write_file(p, img->data, (size_t)img->width * img->height * c) == 0);
            fe__free(png);
            fe_image_free(img);
            files++;
        }
    }
    char out[4096];
    if (have_pngcheck) {
        int rc = fe_t_run(out, sizeof out, "cd '%s' && pngcheck *.png 2>&1", dir);
        CHECK_MSG(rc == 0, "pngcheck rejects our output:\n%s", out);
        CHECK_MSG(strstr(out, "No errors were detected in") != NULL, "pngcheck: %s", out);
    }
    if (have_python) {
        /* parse chunks, check CRCs, inflate with zlib, unfilter, compare with the pixels */
        static const char script[] =
            "import zlib,struct,glob,sys\n"
            "bad=[]\n"
            "for f in sorted(glob.glob('*.png')):\n"
            " d=open(f,'rb').read(); assert d[:8]==b'\\x89PNG\\r\\n\\x1a\\n'; p=8; z=b''\n"
            " while p<len(d):\n"
            "  n,t=struct.unpack('>I4s',d[p:p+8]); body=d[p+8:p+8+n]\n"
            "  assert zlib.crc32(d[p+4:p+8+n])==struct.unpack('>I',d[p+8+n:p+12+n])[0],(f,t)\n"
            "  if t==b'IHDR': w,h,bd,ct,_,_,il=struct.unpack('>IIBBBBB',body)\n"
            "  if t==b'IDAT': z+=body\n"
            "  p+=12+n\n"
            " raw=zlib.decompress(z); c={0:1,4:2,2:3,6:4}[ct]; rb=w*c; out=bytearray(); prev=bytearray(rb)\n"
            " for y in range(h):\n"
            "  ft=raw[y*(rb+1)]; r=bytearray(raw[y*(rb+1)+1:(y+1)*(rb+1)])\n"
            "  for i in range(rb):\n"
            "   a=r[i-c] if i>=c else 0; b=prev[i]; cc=prev[i-c] if i>=c else 0\n"
            "   if ft==1: r[i]=(r[i]+a)&255\n"
            "   elif ft==2: r[i]=(r[i]+b)&255\n"
            "   elif ft==3: r[i]=(r[i]+(a+b)//2)&255\n"
            "   elif ft==4:\n"
            "    q=a+b-cc; pa,pb,pc=abs(q-a),abs(q-b),abs(q-cc)\n"
            "    r[i]=(r[i]+(a if pa<=pb and pa<=pc else b if pb<=pc else cc))&255\n"
            "  out+=r; prev=r\n"
            " if bytes(out)!=open(f[:-4]+'.raw','rb').read(): bad.append(f)\n"
            "print(len(glob.glob('*.png')),'ok' if not bad else bad)\n";
        char sp[512];
        snprintf(sp, sizeof sp, "%s/check.py", dir);
        CHECK(fe_t_write_file(sp, script, sizeof script - 1) == 0);
        int rc = fe_t_run(out, sizeof out, "cd '%s' && python3 check.py 2>&1", dir);
        char want[32];
        snprintf(want, sizeof want, "%d ok", files);
        CHECK_MSG(rc == 0 && strncmp(out, want, strlen(want)) == 0, "python check: %s", out);
    }
    NOTE("%d files (1-4 channels x levels 0,3,6,9): %s%s", files,
         have_pngcheck ? "pngcheck: no errors; " : "pngcheck absent; ",
         have_python ? "python3 zlib: CRCs, IDAT and pixels exact" : "python3 absent");
}

/* ---- corrupt files ------------------------------------------------------------------------ */

typedef struct pngb {
    uint8_t d[8192];
    size_t n;
} pngb;

static void pb_chunk(pngb *b, const char *type, const void *data, uint32_t len) {
    fe__wr_u32be(b->d + b->n, len);
    memcpy(b->d + b->n + 4, type, 4);
    if (len) memcpy(b->d + b->n + 8, data, len);
    fe__wr_u32be(b->d + b->n + 8 + len, fe__crc32(0, b->d + b->n + 4, (size_t)len + 4));
    b->n += 12 + len;
}

static void pb_start(pngb *b, uint32_t w, uint32_t h, int depth, int color, int interlace) {
    memcpy(b->d, "\x89PNG\r\n\x1a\n", 8);
    b->n = 8;
    uint8_t ihdr[13];
    fe__wr_u32be(ihdr, w);
    fe__wr_u32be(ihdr + 4, h);
    ihdr[8] = (uint8_t)depth;
    ihdr[9] = (uint8_t)color;
    ihdr[10] = ihdr[11] = 0;
    ihdr[12] = (uint8_t)interlace;
    pb_chunk(b, "IHDR", ihdr, 13);
}

/* zlib-compresses raw into an IDAT */
static void pb_idat(pngb *b, const uint8_t *raw, size_t n) {
    uint8_t *z;
    size_t zn;
    if (fe__zlib_compress(raw, n, 6, &z, &zn) != FE_OK) return;
    pb_chunk(b, "IDAT", z, (uint32_t)zn);
    fe__free(z);
}

/* the raw (filtered) data of a w x h 8-bit RGB image: filter 0, a gradient */
static size_t rgb_raw(uint8_t *raw, uint32_t w, uint32_t h, int filter) {
    size_t k = 0;
    for (uint32_t y = 0; y < h; y++) {
        raw[k++] = (uint8_t)filter;
        for (uint32_t x = 0; x < w * 3; x++) raw[k++] = (uint8_t)(x * 7 + y);
    }
    return k;
}

FE_TEST(png_corrupt_files_table) {
    uint8_t raw[4096];
    size_t rn = rgb_raw(raw, 8, 8, 0);
    int cases = 0;
    fe_image *img;
#define PNG_IS(b, status, what) do {                                                          \
        fe_status st_ = fe__png_decode((b).d, (b).n, &img);                                    \
        CHECK_MSG(st_ == (status), "%s: got %s (%s), expected %s", what, fe_status_name(st_),   \
                  fe_last_error(), fe_status_name(status));                                    \
        CHECK(st_ != FE_OK || img != NULL);                                                    \
        if (st_ == FE_OK) fe_image_free(img);                                                  \
        else CHECK(img == NULL);                                                               \
        cases++;                                                                               \
    } while (0)
#define NEW(b, w, h, d, c, il) pngb b; pb_start(&b, w, h, d, c, il)
#define END(b) pb_chunk(&b, "IEND", NULL, 0)

    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_OK, "valid base"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); END(b); b.d[1] = 'p'; PNG_IS(b, FE_E_MAGIC, "bad signature"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); END(b); b.d[29] ^= 1; PNG_IS(b, FE_E_CHECKSUM, "IHDR CRC"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); END(b); b.d[b.n - 16 - 1] ^= 0x40;
      PNG_IS(b, FE_E_CHECKSUM, "IDAT CRC"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_chunk(&b, "tEXt", "a\0b", 3); b.d[b.n - 5] ^= 1; pb_idat(&b, raw, rn); END(b);
      PNG_IS(b, FE_E_CHECKSUM, "ancillary chunk CRC"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); PNG_IS(b, FE_E_TRUNCATED, "no IEND"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); END(b); b.n -= 30; PNG_IS(b, FE_E_TRUNCATED, "cut in IDAT"); }
    /* IHDR values */
    { NEW(b, 0, 8, 8, 2, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "width 0"); }
    { NEW(b, 8, 0, 8, 2, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "height 0"); }
    { NEW(b, 0x80000000u, 8, 8, 2, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "width 2^31"); }
    { NEW(b, 8, 8, 3, 0, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "depth 3"); }
    { NEW(b, 8, 8, 4, 2, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "RGB depth 4"); }
    { NEW(b, 8, 8, 16, 3, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "palette depth 16"); }
    { NEW(b, 8, 8, 8, 5, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "colour type 5"); }
    { NEW(b, 8, 8, 8, 2, 2); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "interlace 2"); }
    { NEW(b, 8, 8, 8, 2, 0); b.d[8 + 8 + 10] = 1; fe__wr_u32be(b.d + 29, fe__crc32(0, b.d + 12, 17));
      pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "compression method 1"); }
    { NEW(b, 8, 8, 8, 2, 0); b.d[8 + 8 + 11] = 1; fe__wr_u32be(b.d + 29, fe__crc32(0, b.d + 12, 17));
      pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "filter method 1"); }
    { pngb b; memcpy(b.d, "\x89PNG\r\n\x1a\n", 8); b.n = 8; pb_chunk(&b, "IHDR", "\0\0\0\x8\0\0\0\x8\x8\x2\0\0", 12);
      pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "IHDR of 12 bytes"); }
    { pngb b; memcpy(b.d, "\x89PNG\r\n\x1a\n", 8); b.n = 8; pb_chunk(&b, "gAMA", "\0\0\0\1", 4);
      PNG_IS(b, FE_E_CORRUPT, "first chunk not IHDR"); }
    /* caps and decompression bombs, refused before allocating */
    { NEW(b, 20000, 1, 8, 2, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_LIMIT, "width 20000"); }
    { NEW(b, 16384, 16384, 8, 6, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_LIMIT, "16384^2 pixels"); }
    { NEW(b, 10000, 6000, 16, 6, 0); pb_idat(&b, raw, rn); END(b);
      PNG_IS(b, FE_E_TRUNCATED, "60 Mpixel header with a tiny IDAT"); }
    /* chunk structure */
    { NEW(b, 8, 8, 8, 2, 0); END(b); PNG_IS(b, FE_E_NOT_FOUND, "missing IDAT"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); pb_chunk(&b, "IEND", "x", 1); PNG_IS(b, FE_E_CORRUPT, "IEND with data"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_chunk(&b, "ABCD", "x", 1); pb_idat(&b, raw, rn); END(b);
      PNG_IS(b, FE_E_UNSUPPORTED, "unknown critical chunk"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_chunk(&b, "abCd", "x", 1); pb_idat(&b, raw, rn); pb_chunk(&b, "zzZz", NULL, 0); END(b);
      PNG_IS(b, FE_OK, "unknown ancillary chunks are skipped"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_chunk(&b, "IHDR", b.d + 16, 13); pb_idat(&b, raw, rn); END(b);
      PNG_IS(b, FE_E_DUPLICATE, "second IHDR"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_chunk(&b, "ab1d", "x", 1); pb_idat(&b, raw, rn); END(b);
      PNG_IS(b, FE_E_CORRUPT, "chunk type with a digit"); }
    { NEW(b, 8, 8, 8, 2, 0); fe__wr_u32be(b.d + b.n, 0x80000000u); memcpy(b.d + b.n + 4, "IDAT", 4); b.n += 20;
      PNG_IS(b, FE_E_CORRUPT, "chunk length 2^31"); }
    { NEW(b, 8, 8, 8, 2, 0); uint8_t *z; size_t zn; CHECK_OK(fe__zlib_compress(raw, rn, 6, &z, &zn));
      pb_chunk(&b, "IDAT", z, 10); pb_chunk(&b, "tEXt", "a\0b", 3); pb_chunk(&b, "IDAT", z + 10, (uint32_t)zn - 10);
      fe__free(z); END(b); PNG_IS(b, FE_E_CORRUPT, "IDAT not consecutive"); }
    { NEW(b, 8, 8, 8, 2, 0); uint8_t *z; size_t zn; CHECK_OK(fe__zlib_compress(raw, rn, 6, &z, &zn));
      for (size_t k = 0; k < zn; k += 3) pb_chunk(&b, "IDAT", z + k, (uint32_t)(zn - k < 3 ? zn - k : 3));
      fe__free(z); END(b); PNG_IS(b, FE_OK, "IDAT in 3-byte chunks"); }
    /* image data */
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn - 5); END(b); PNG_IS(b, FE_E_TRUNCATED, "IDAT too short"); }
    { NEW(b, 8, 7, 8, 2, 0); pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_CORRUPT, "IDAT too long"); }
    { uint8_t r2[4096]; size_t n2 = rgb_raw(r2, 8, 8, 0); r2[25 * 3] = 5;
      NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, r2, n2); END(b); PNG_IS(b, FE_E_CORRUPT, "filter type 5"); }
    { NEW(b, 8, 8, 8, 2, 0); uint8_t *z; size_t zn; CHECK_OK(fe__zlib_compress(raw, rn, 6, &z, &zn));
      z[zn - 1] ^= 1; pb_chunk(&b, "IDAT", z, (uint32_t)zn); fe__free(z); END(b);
      PNG_IS(b, FE_E_CHECKSUM, "Adler-32 mismatch"); }
    { NEW(b, 8, 8, 8, 2, 0); uint8_t *z; size_t zn; CHECK_OK(fe__zlib_compress(raw, rn, 6, &z, &zn));
      z[0] = 0x79; pb_chunk(&b, "IDAT", z, (uint32_t)zn); fe__free(z); END(b);
      PNG_IS(b, FE_E_CORRUPT, "zlib method 9"); }
    { NEW(b, 8, 8, 8, 2, 0); uint8_t *z; size_t zn; CHECK_OK(fe__zlib_compress(raw, rn, 6, &z, &zn));
      z[2] |= 6; pb_chunk(&b, "IDAT", z, (uint32_t)zn); fe__free(z); END(b);
      PNG_IS(b, FE_E_CORRUPT, "deflate block type 3"); }
    { NEW(b, 8, 8, 8, 2, 0); uint8_t z[8] = {0x78, 0xBB, 0, 0, 0, 1, 3, 0};  /* FDICT set */
      pb_chunk(&b, "IDAT", z, 8); END(b); PNG_IS(b, FE_E_UNSUPPORTED, "zlib preset dictionary"); }
    { NEW(b, 8, 8, 8, 2, 0); uint8_t z[400]; uint8_t *zz; size_t zn; CHECK_OK(fe__zlib_compress(raw, rn, 6, &zz, &zn));
      memcpy(z, zz, zn); z[zn] = 0; fe__free(zz); pb_chunk(&b, "IDAT", z, (uint32_t)zn + 1); END(b);
      PNG_IS(b, FE_E_CORRUPT, "byte after the zlib stream"); }
    /* palette and transparency rules */
    uint8_t pal[9] = {255, 0, 0, 0, 255, 0, 0, 0, 255}, praw[72];
    for (int y = 0; y < 8; y++) { praw[y * 9] = 0; for (int x = 0; x < 8; x++) praw[y * 9 + 1 + x] = (uint8_t)((x + y) % 3); }
    { NEW(b, 8, 8, 8, 3, 0); pb_chunk(&b, "PLTE", pal, 9); pb_idat(&b, praw, 72); END(b); PNG_IS(b, FE_OK, "palette base"); }
    { NEW(b, 8, 8, 8, 3, 0); pb_idat(&b, praw, 72); END(b); PNG_IS(b, FE_E_NOT_FOUND, "palette without PLTE"); }
    { NEW(b, 8, 8, 8, 3, 0); pb_chunk(&b, "PLTE", pal, 6); pb_idat(&b, praw, 72); END(b);
      PNG_IS(b, FE_E_CORRUPT, "palette index past PLTE"); }
    { NEW(b, 8, 8, 8, 3, 0); pb_chunk(&b, "PLTE", pal, 9); pb_chunk(&b, "PLTE", pal, 9); pb_idat(&b, praw, 72); END(b);
      PNG_IS(b, FE_E_DUPLICATE, "second PLTE"); }
    { NEW(b, 8, 8, 8, 3, 0); pb_chunk(&b, "PLTE", pal, 8); pb_idat(&b, praw, 72); END(b);
      PNG_IS(b, FE_E_CORRUPT, "PLTE length 8"); }
    { NEW(b, 8, 8, 1, 3, 0); uint8_t big[15]; memset(big, 1, 15); pb_chunk(&b, "PLTE", big, 9);
      pb_idat(&b, praw, 72); END(b); PNG_IS(b, FE_E_CORRUPT, "3 entries for 1-bit indices"); }
    { NEW(b, 8, 8, 8, 0, 0); pb_chunk(&b, "PLTE", pal, 9); pb_idat(&b, praw, 72); END(b);
      PNG_IS(b, FE_E_CORRUPT, "PLTE in a gray image"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); pb_chunk(&b, "PLTE", pal, 9); END(b);
      PNG_IS(b, FE_E_CORRUPT, "PLTE after IDAT"); }
    { NEW(b, 8, 8, 8, 3, 0); pb_chunk(&b, "tRNS", "\0", 1); pb_chunk(&b, "PLTE", pal, 9); pb_idat(&b, praw, 72); END(b);
      PNG_IS(b, FE_E_CORRUPT, "tRNS before PLTE"); }
    { NEW(b, 8, 8, 8, 3, 0); pb_chunk(&b, "PLTE", pal, 9); pb_chunk(&b, "tRNS", "\0\0\0\0", 4);
      pb_idat(&b, praw, 72); END(b); PNG_IS(b, FE_E_CORRUPT, "tRNS longer than PLTE"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_chunk(&b, "tRNS", "\0\0\0\0", 4); pb_idat(&b, raw, rn); END(b);
      PNG_IS(b, FE_E_CORRUPT, "RGB tRNS of 4 bytes"); }
    { NEW(b, 8, 8, 8, 6, 0); pb_chunk(&b, "tRNS", "\0\0\0\0\0\0", 6); pb_idat(&b, raw, rn); END(b);
      PNG_IS(b, FE_E_CORRUPT, "tRNS with an alpha channel"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_chunk(&b, "tRNS", "\0\0\0\0\0\0", 6); pb_chunk(&b, "tRNS", "\0\0\0\0\0\0", 6);
      pb_idat(&b, raw, rn); END(b); PNG_IS(b, FE_E_DUPLICATE, "second tRNS"); }
    { NEW(b, 8, 8, 8, 2, 0); pb_idat(&b, raw, rn); pb_chunk(&b, "tRNS", "\0\0\0\0\0\0", 6); END(b);
      PNG_IS(b, FE_E_CORRUPT, "tRNS after IDAT"); }
    /* the header reader agrees on the channels without decoding */
    { NEW(b, 8, 8, 8, 3, 0); pb_chunk(&b, "PLTE", pal, 9); pb_chunk(&b, "tRNS", "\x10", 1); pb_idat(&b, praw, 72); END(b);
      fe_image_header hd; CHECK_OK(fe_image_info(b.d, b.n, &hd)); CHECK(hd.channels == 4);
      PNG_IS(b, FE_OK, "palette with tRNS");
      CHECK_OK(fe__png_decode(b.d, b.n, &img)); CHECK(img->channels == 4 && img->data[3] == 0x10 && img->data[7] == 255);
      fe_image_free(img); }
    NOTE("%d crafted files, each with its own status", cases);
}

FE_TEST(png_every_prefix_truncated) {
    /* every cut of real files: an interlaced multi-IDAT golden and one of our own outputs */
    const char *files[] = {"tests/data/png/py_rgb8_key_adam7_33x17.png", "tests/data/png/im_p8_palette_40x30.png"};
    size_t tried = 0;
    for (int f = 0; f < 2; f++) {
        size_t n;
        uint8_t *d = fe_t_read_file(files[f], &n);
        CHECK_MSG(d, "missing %s", files[f]);
        for (size_t len = 0; len < n; len++) {
            fe_image *img;
            fe_status st = fe__png_decode(d, len, &img);
            fe_status want = len < 8 ? FE_E_MAGIC : FE_E_TRUNCATED;
            CHECK_MSG(st == want, "%s cut to %zu of %zu: %s (%s)", files[f], len, n, fe_status_name(st),
                      fe_last_error());
            fe_image_header hd;
            st = fe__png_info(d, len, &hd);
            CHECK(st == want || st == FE_OK);  /* the header may be complete before the cut */
            tried++;
        }
        free(d);
    }
    NOTE("%zu prefixes: FE_E_MAGIC below 8 bytes, FE_E_TRUNCATED after", tried);
}

FE_TEST(png_alloc_failures) {
    size_t n;
    uint8_t *d = fe_t_read_file("tests/data/png/py_rgb8_key_adam7_33x17.png", &n);  /* split IDAT */
    CHECK(d);
    int fails = 0;
    for (long k = 0;; k++) {
        fe_image *img = (fe_image *)1;
        fe__alloc_fail_after(k);
        fe_status st = fe_image_decode(d, n, &img);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) { fe_image_free(img); break; }
        CHECK_MSG(st == FE_E_NOMEM, "decode with allocation %ld failing: %s", k, fe_status_name(st));
        CHECK(img == NULL);
        fails++;
        CHECK(k < 50);
    }
    fe_image *src;
    CHECK_OK(fe_image_decode(d, n, &src));
    free(d);
    for (long k = 0;; k++) {
        uint8_t *png = (uint8_t *)1;
        size_t pn = 1;
        fe__alloc_fail_after(k);
        fe_status st = fe__png_encode(src, 6, &png, &pn);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) { fe__free(png); break; }
        CHECK_MSG(st == FE_E_NOMEM, "encode with allocation %ld failing: %s", k, fe_status_name(st));
        CHECK(png == NULL && pn == 0);
        fails++;
        CHECK(k < 50);
    }
    fe_image_free(src);
    NOTE("%d failing allocations, each FE_E_NOMEM (leaks: ASan in make check)", fails);
}
