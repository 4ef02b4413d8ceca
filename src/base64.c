/*
 * base64.c — RFC 4648 section 4 base64 encoding (see base64.h). Each 3-byte group becomes 4
 * characters of 6 bits each, most significant first; a final group of 1 or 2 bytes is padded
 * with zero bits and completed with "==" or "=".
 */
#include "base64.h"

static const char alphabet[65] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t fe__base64_len(size_t n, int *ok) {
    size_t groups = n / 3 + (n % 3 != 0), len;
    int good = fe__mul_size(groups, 4, &len) && len < SIZE_MAX;
    if (ok) *ok = good;
    return good ? len : 0;
}

size_t fe__base64_encode(const uint8_t *data, size_t n, char *out) {
    char *p = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)data[i] << 16) | ((uint32_t)data[i + 1] << 8) | data[i + 2];
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = '=';
        *p++ = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)data[i] << 16) | ((uint32_t)data[i + 1] << 8);
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = '=';
    }
    *p = 0;
    return (size_t)(p - out);
}
