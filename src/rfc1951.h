/*
 * rfc1951.h — the constant tables of DEFLATE (RFC 1951 §3.2.5 and §3.2.7), shared by the
 * encoder (deflate.c) and the decoder (inflate.c) so the two can never disagree.
 */
#ifndef FE_RFC1951_H
#define FE_RFC1951_H

#include <stdint.h>

extern const uint16_t fe__len_base[29];    /* match length of length codes 257..285        */
extern const uint8_t  fe__len_extra[29];   /* their extra bits                              */
extern const uint16_t fe__dist_base[30];   /* distance of distance codes 0..29              */
extern const uint8_t  fe__dist_extra[30];  /* their extra bits                              */
extern const uint8_t  fe__cl_order[19];    /* order of the code-length code lengths         */

#endif
