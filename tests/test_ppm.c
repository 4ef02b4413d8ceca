/*
 * test_ppm.c — the PGM/PPM (P5/P6) codec: hand-computed samples for 8-bit, 16-bit and odd
 * maxvals, header syntax (comments, any whitespace), a corrupt-header table with its statuses,
 * write + read round trips, and allocation failures.
 */
#include "test.h"
#include "internal.h"
#include "image_codecs.h"

#include <string.h>

static fe_status dec(const char *s, size_t n, fe_image **img) { return fe_image_decode(s, n, img); }

FE_TEST(ppm_samples_exact) {
    fe_image *img;
    /* 8-bit P6 with a comment */
    static const char p6[] = "P6\n# made by hand\n2 1\n255\n\x01\x02\x03\xfd\xfe\xff";
    CHECK_OK(dec(p6, sizeof p6 - 1, &img));
    CHECK(img->width == 2 && img->height == 1 && img->channels == 3);
    CHECK(memcmp(img->data, "\x01\x02\x03\xfd\xfe\xff", 6) == 0);
    fe_image_free(img);
    /* 16-bit P5: v8 = (v*255 + 32767) / 65535, big-endian samples */
    static const char p5[] = "P5 3 1 65535\n\x00\x00\x80\x80\xff\xff";
    CHECK_OK(dec(p5, sizeof p5 - 1, &img));
    CHECK(img->channels == 1 && img->data[0] == 0 && img->data[1] == 128 && img->data[2] == 255);
    fe_image_free(img);
    /* maxval 1000 (two bytes): 500 -> (500*255 + 500) / 1000 = 128; 999 -> 255 */
    static const char p5b[] = "P5\t2\r1\f1000\n\x01\xf4\x03\xe7";
    CHECK_OK(dec(p5b, sizeof p5b - 1, &img));
    CHECK_MSG(img->data[0] == 128 && img->data[1] == 255, "got %u %u", img->data[0], img->data[1]);
    fe_image_free(img);
    /* maxval 1 and a sample over maxval, which saturates */
    static const char p5c[] = "P5 3 1 1 \x00\x01\x07";
    CHECK_OK(dec(p5c, sizeof p5c - 1, &img));
    CHECK(img->data[0] == 0 && img->data[1] == 255 && img->data[2] == 255);
    fe_image_free(img);
    fe_image_header h;
    CHECK_OK(fe_image_info(p6, sizeof p6 - 1, &h));
    CHECK(h.format == FE_IMAGE_PPM && h.width == 2 && h.height == 1 && h.channels == 3);
}

FE_TEST(ppm_corrupt_headers_table) {
    static const struct {
        const char *data;
        fe_status want;
        const char *what;
    } cases[] = {
        {"P6x 1 1 255\n...", FE_E_MAGIC, "no whitespace after magic"},
        {"P6\n1 1", FE_E_TRUNCATED, "header ends in height"},
        {"P6\n1 1 255", FE_E_TRUNCATED, "header ends in maxval"},
        {"P6\n# only a comment", FE_E_TRUNCATED, "header is a comment"},
        {"P6\nx 1 255\n...", FE_E_CORRUPT, "width not a number"},
        {"P6\n1 1 0\n...", FE_E_CORRUPT, "maxval 0"},
        {"P6\n1 1 65536\n......", FE_E_CORRUPT, "maxval 65536"},
        {"P6\n0 1 255\n", FE_E_CORRUPT, "width 0"},
        {"P6\n1 0 255\n", FE_E_CORRUPT, "height 0"},
        {"P6\n20000 1 255\n", FE_E_LIMIT, "width over the cap"},
        {"P5\n16384 16384 255\n", FE_E_LIMIT, "pixels over the cap"},
        {"P6\n99999999999 1 255\n", FE_E_LIMIT, "width over 32 bits"},
        {"P6\n2 2 255\n0123456789", FE_E_TRUNCATED, "raster short by 2"},
        {"P5\n2 2 65535\n0123456", FE_E_TRUNCATED, "16-bit raster short"},
        {"P6\n1 1 255#\n...", FE_E_CORRUPT, "no whitespace after maxval"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fe_image *img = (fe_image *)1;
        fe_status st = fe__ppm_decode((const uint8_t *)cases[i].data, strlen(cases[i].data), &img);
        CHECK_MSG(st == cases[i].want, "%s: %s (%s), expected %s", cases[i].what, fe_status_name(st),
                  fe_last_error(), fe_status_name(cases[i].want));
        CHECK(img == NULL);
        fe_image_header h;
        st = fe__ppm_info((const uint8_t *)cases[i].data, strlen(cases[i].data), &h);
        CHECK(st == cases[i].want || (st == FE_OK && cases[i].want == FE_E_TRUNCATED));
    }
    /* dispatch: P3 (ASCII) is not a format we read */
    fe_image *img;
    CHECK_STATUS(fe_image_decode("P3\n1 1 255\n1 2 3\n", 17, &img), FE_E_MAGIC);
    NOTE("%zu malformed headers, each with its status", sizeof cases / sizeof cases[0]);
}

FE_TEST(ppm_write_read_round_trip) {
    for (uint32_t c = 1; c <= 4; c++) {
        fe_image *img, *back;
        CHECK_OK(fe_image_create(13, 7, c, &img));
        for (size_t i = 0; i < 13 * 7 * c; i++) img->data[i] = (uint8_t)(i * 37);
        uint8_t *buf;
        size_t n;
        fe_status st = fe__ppm_encode(img, &buf, &n);
        if (c == 2 || c == 4) {
            CHECK_STATUS(st, FE_E_UNSUPPORTED);
            fe_image_free(img);
            continue;
        }
        CHECK_OK(st);
        CHECK_OK(fe_image_decode(buf, n, &back));
        CHECK(back->channels == c && memcmp(back->data, img->data, 13 * 7 * c) == 0);
        fe__free(buf);
        fe_image_free(back);
        char path[600];
        snprintf(path, sizeof path, "%s/x.%s", fe_t_tmpdir(), c == 1 ? "pgm" : "ppm");
        CHECK_OK(fe_image_save(path, img));
        CHECK_OK(fe_image_load(path, &back));
        CHECK(back->channels == c && memcmp(back->data, img->data, 13 * 7 * c) == 0);
        fe_image_free(back);
        fe_image_free(img);
    }
}

FE_TEST(ppm_alloc_failures) {
    static const char p6[] = "P6\n2 1\n255\n\x01\x02\x03\xfd\xfe\xff";
    int fails = 0;
    for (long k = 0;; k++) {
        fe_image *img = (fe_image *)1;
        fe__alloc_fail_after(k);
        fe_status st = fe_image_decode(p6, sizeof p6 - 1, &img);
        fe__alloc_fail_after(-1);
        if (st == FE_OK) { fe_image_free(img); break; }
        CHECK_STATUS(st, FE_E_NOMEM);
        CHECK(img == NULL);
        fails++;
        CHECK(k < 10);
    }
    NOTE("%d failing allocations, each FE_E_NOMEM", fails);
}
