/*
 * base64.h — RFC 4648 section 4 base64 (alphabet A-Z a-z 0-9 + /, '=' padding, no line
 * breaks), used for PNG data URIs in the HTML reports. Encoding only: the library never needs
 * to read base64.
 */
#ifndef FE_BASE64_H
#define FE_BASE64_H

#include "internal.h"

/* Encoded length of n bytes: 4 * ceil(n / 3), without the NUL. 0 with *ok = 0 on overflow. */
size_t fe__base64_len(size_t n, int *ok);
/* Writes the encoding of data (n bytes) and a NUL into out, which must hold
 * fe__base64_len(n) + 1 bytes. Returns the encoded length. */
size_t fe__base64_encode(const uint8_t *data, size_t n, char *out);

#endif
