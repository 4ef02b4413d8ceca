/*
 * deflate.h — DEFLATE (RFC 1951) and zlib (RFC 1950) compression from memory into memory.
 *
 * LZ77 over hash chains (levels 1..9 trade speed for ratio; 0 = stored blocks only), each
 * block sent as whichever of dynamic Huffman, fixed Huffman or stored is smallest.
 */
#ifndef FE_DEFLATE_H
#define FE_DEFLATE_H

#include "internal.h"

/* Compresses in[0..n) at level 0..9 into a new fe__malloc'ed buffer (*out, *out_len; free with
 * fe__free). zlib adds the RFC 1950 header and the Adler-32 trailer; raw is bare DEFLATE.
 * FE_E_ARG for a bad level, FE_E_LIMIT for inputs of 2^32 bytes or more, FE_E_NOMEM. */
fe_status fe__zlib_compress(const uint8_t *in, size_t n, int level, uint8_t **out, size_t *out_len);
fe_status fe__deflate_raw(const uint8_t *in, size_t n, int level, uint8_t **out, size_t *out_len);

/* Optimal code lengths of at most maxbits (<= 15) for freq[0..n) (package-merge); unused
 * symbols get 0. Fewer than two used symbols still give a complete code: two codes of
 * length 1 (the used one, if any, and symbol 0 or 1). Needs 2 <= n <= 288. Exposed for tests. */
void fe__deflate_code_lengths(const uint32_t *freq, unsigned n, unsigned maxbits, uint8_t *lens);

#endif
