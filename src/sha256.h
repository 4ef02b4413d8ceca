/*
 * sha256.h — SHA-256 (FIPS 180-4), for provenance: the converter records the sha256 of its
 * source files and `faceemd blob info` prints the blob's own, to compare with the committed
 * weights/faceres.feb.sha256.
 */
#ifndef FE_SHA256_H
#define FE_SHA256_H

#include "internal.h"

typedef struct fe__sha256 {
    uint32_t h[8];
    uint64_t n_bytes;      /* message length so far */
    uint8_t  block[64];
    size_t   fill;         /* bytes in block        */
} fe__sha256;

void fe__sha256_init(fe__sha256 *s);
void fe__sha256_update(fe__sha256 *s, const void *data, size_t n);
void fe__sha256_final(fe__sha256 *s, uint8_t digest[32]);
/* One shot into 64 lowercase hex digits + NUL. */
void fe__sha256_hex(const void *data, size_t n, char hex[65]);

#endif
