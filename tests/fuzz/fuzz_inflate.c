/*
 * fuzz_inflate.c — libFuzzer target for the zlib/DEFLATE decoder, and through it the encoder.
 *
 * Input: byte 0 picks raw DEFLATE (odd) or zlib (even) and, with byte 1, the output cap
 * (0..16380 bytes); the rest is the stream. Any stream must give a status without a crash.
 * Output that decodes is re-compressed at level (byte 0 >> 1) % 10 (levels 7..9 on its first
 * 2 KiB only: their long chains on degenerate data would slow the fuzzer to a crawl) and must
 * decode back to the same bytes (abort() otherwise). Seeds: tests/fuzz/corpus/inflate.
 */
#include "deflate.h"
#include "inflate.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int raw = data[0] & 1, level = (data[0] >> 1) % 10;
    size_t cap = (size_t)(data[0] >> 4 | data[1] << 4) * 4;  /* 0..16380 */
    uint8_t *out = malloc(cap ? cap : 1);
    if (!out) return 0;
    size_t n = 0, used = 0;
    fe_status st = raw ? fe__inflate_raw(data + 2, size - 2, out, cap, &n, &used)
                       : fe__zlib_decompress(data + 2, size - 2, out, cap, &n);
    if (st == FE_OK) {
        if (n > cap || used > size - 2) abort();
        uint8_t *z, *back = malloc(n ? n : 1);
        size_t zn, bn;
        if (level >= 7 && n > 2048) n = 2048;
        if (!back || fe__zlib_compress(out, n, level, &z, &zn) != FE_OK) abort();
        if (fe__zlib_decompress(z, zn, back, n, &bn) != FE_OK || bn != n || (n && memcmp(back, out, n)))
            abort();
        fe__free(z);
        free(back);
    }
    free(out);
    return 0;
}
