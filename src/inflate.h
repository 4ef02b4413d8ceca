/*
 * inflate.h — DEFLATE (RFC 1951) and zlib (RFC 1950) decoding from memory into memory.
 *
 * One-shot: the whole compressed stream is in memory and the caller gives an output buffer of
 * the size it expects (PNG knows the exact raw size), which is a hard cap: a stream that would
 * write past it fails with FE_E_LIMIT instead of growing anything. No allocation at all.
 */
#ifndef FE_INFLATE_H
#define FE_INFLATE_H

#include "internal.h"

/* Decodes a raw DEFLATE stream in[0..in_len) into out[0..out_cap).
 * FE_OK: *out_len bytes written; *in_used = bytes up to the byte boundary after the final block.
 * FE_E_CORRUPT   invalid stream (block type 3, stored LEN/NLEN mismatch, over-subscribed or
 *                incomplete code lengths, missing end-of-block code, length code 286/287,
 *                distance code 30/31, distance beyond the start of the output, ...);
 * FE_E_TRUNCATED the input ends before the final block does;
 * FE_E_LIMIT     the stream decodes to more than out_cap bytes.
 * Bytes of out past *out_len (or on failure, anywhere) are unspecified. out may be NULL when
 * out_cap is 0. in_used may be NULL. */
fe_status fe__inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len, size_t *in_used);

/* A complete zlib stream: 2-byte header (CM = 8, CINFO <= 7, FCHECK; a preset dictionary is
 * FE_E_UNSUPPORTED), DEFLATE data, big-endian Adler-32 of the output (FE_E_CHECKSUM when it
 * differs). Bytes after the trailer are FE_E_CORRUPT. Other statuses as fe__inflate_raw. */
fe_status fe__zlib_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                              size_t *out_len);

#endif
