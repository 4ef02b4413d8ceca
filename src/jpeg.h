/*
 * jpeg.h — internal state of the JPEG decoder (ITU-T T.81 / JFIF / Exif), shared by the
 * jpeg_*.c files. image_jpeg.c drives: headers (jpeg_markers.c) -> scans (jpeg_scan.c, entropy
 * decoding in jpeg_huffman.c) -> IDCT (jpeg_idct.c) -> upsampling + colour (jpeg_color.c)
 * -> Exif orientation (jpeg_exif.c). Invariants: every field read from the file is validated
 * in jpeg_markers.c before the scan code uses it; component planes and coefficient arrays are
 * sized from the validated SOF before any entropy data is read.
 */
#ifndef FE_JPEG_H
#define FE_JPEG_H

#include "image_codecs.h"

#define FE__JPEG_MAX_COMPS   3     /* gray or three-component colour; 4 (CMYK) is rejected   */
#define FE__JPEG_MAX_SCANS   256   /* bounds the work a hostile progressive file can demand   */
#define FE__JPEG_FAST_BITS   9     /* Huffman lookahead: codes up to 9 bits in one lookup     */

/* zigzag position k -> natural (row-major) index, T.81 figure A.6 */
extern const uint8_t fe__jpeg_zigzag[64];

/* AC lookahead entry: a whole (run, value) pair decoded in one table lookup. */
typedef struct fe__jpeg_fast_ac {
    int16_t value;           /* coefficient before dequantization                              */
    uint8_t run;             /* zeros before it                                                */
    uint8_t len;             /* code + magnitude bits; 0 = not in the table                    */
} fe__jpeg_fast_ac;

/* A Huffman table ready for decoding (T.81 annex C canonical codes). */
typedef struct fe__jpeg_huff {
    /* lookahead of FAST_BITS bits: (code length << 8) | symbol; 0 = code longer than FAST_BITS */
    uint16_t fast[1 << FE__JPEG_FAST_BITS];
    /* AC only: run and value when code and magnitude bits both fit in the lookahead */
    fe__jpeg_fast_ac fast_ac[1 << FE__JPEG_FAST_BITS];
    /* general path: maxcode[l] = largest code of length l, left-aligned to 16 bits, plus one
     * (0 when there is no code of that length); valptr[l] maps a code to its symbol index */
    uint32_t maxcode[18];
    int32_t  valptr[17];
    uint8_t  vals[256];
    uint8_t  defined;
} fe__jpeg_huff;

typedef struct fe__jpeg_comp {
    uint8_t  id;             /* component identifier from SOF                                  */
    uint8_t  h, v;           /* sampling factors, 1..4                                         */
    uint8_t  tq;             /* quantization table selector, 0..3                              */
    uint8_t  td, ta;         /* Huffman selectors of the current scan                          */
    uint32_t wd, hd;         /* samples of this component: ceil(W*h/Hmax) x ceil(H*v/Vmax)     */
    uint32_t bw, bh;         /* blocks allocated: MCU-padded, mcux*h x mcuy*v                  */
    uint32_t bw_used, bh_used; /* blocks holding image data: ceil(wd/8) x ceil(hd/8)           */
    size_t   stride;         /* plane row stride = bw*8                                        */
    uint8_t *plane;          /* reconstructed samples, (bh*8) rows of stride bytes             */
    int16_t *coef;           /* progressive only: bw*bh blocks of 64 coefficients, natural order */
    uint16_t q[64];          /* quantization table latched at the component's first scan, zigzag */
    uint8_t  q_latched;
    uint8_t  done;           /* sequential: its scan has been decoded                          */
    int32_t  dc_pred;        /* DC predictor (T.81 F.2.1.3.1)                                  */
    int8_t   coef_bits[64];  /* progressive: current Al of each coefficient, -1 = not yet sent  */
} fe__jpeg_comp;

/* Bit reader over entropy-coded data: bits are MSB-first, left-aligned in acc; the bits past
 * n are zero or the true next bits. Stuffed 0xFF00 is unstuffed; at a marker or the end of data
 * it appends zero bits and counts them in pad, so decoding always terminates and `n < pad`
 * tells that made-up bits were consumed. */
typedef struct fe__jpeg_bits {
    const uint8_t *p, *end;
    uint64_t acc;
    int      n;              /* valid bits in acc (real + padding)                              */
    int      pad;            /* zero bits appended after the real data                         */
    int      stopped;        /* reached a marker or the end of data                            */
} fe__jpeg_bits;

/* Pixel kernels: portable C, and on x86-64 AVX2 versions chosen at run time (jpeg_kernels.c;
 * FE_KERNEL=ref forces the portable ones). Both produce identical bytes (tested). */
typedef struct fe__jpeg_kernels {
    const char *name;
    /* dequantized block (natural order, int16 range) -> 8x8 samples at out (row stride) */
    void (*idct)(const int16_t *blk, uint8_t *out, size_t stride);
    /* 2:1 horizontal triangle filter: n >= 3 samples -> 2n */
    void (*h2v1)(const uint8_t *in, uint32_t n, uint8_t *out);
    /* 2:2 triangle filter: co-sited row and its vertical neighbour, n >= 3 -> 2n */
    void (*h2v2)(const uint8_t *near, const uint8_t *far, uint32_t n, uint8_t *out);
    /* n pixels of YCbCr -> interleaved RGB (JFIF) */
    void (*ycc_rgb)(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, uint32_t n, uint8_t *out);
} fe__jpeg_kernels;

extern const fe__jpeg_kernels fe__jpeg_kernels_ref;
#if defined(__x86_64__)
extern const fe__jpeg_kernels fe__jpeg_kernels_avx2;
#endif
/* The best kernels this CPU runs (AVX2 when present), or the portable ones with FE_KERNEL=ref. */
const fe__jpeg_kernels *fe__jpeg_pick_kernels(void);

typedef struct fe__jpeg {
    const uint8_t *data;
    size_t   size, pos;      /* pos: next byte of the marker stream                            */
    /* frame */
    int      have_sof, progressive;
    uint32_t width, height;  /* as coded (before orientation)                                  */
    int      ncomp;
    int      hmax, vmax;
    uint32_t mcux, mcuy;     /* MCUs per row / column of an interleaved scan                   */
    fe__jpeg_comp comp[FE__JPEG_MAX_COMPS];
    /* tables */
    uint16_t qt[4][64];      /* zigzag order                                                    */
    uint8_t  qt_defined[4];
    fe__jpeg_huff dc[4], ac[4];
    uint32_t restart_interval;
    /* application markers */
    int      jfif, adobe, adobe_transform;
    int      rgb;            /* colour space, fixed when the first scan starts (as libjpeg)   */
    int      orientation;    /* Exif 1..8; 1 when absent or unreadable                         */
    /* current scan */
    int      ns, sc[FE__JPEG_MAX_COMPS];  /* scan components (indices into comp)                */
    int      ss, se, ah, al;
    uint32_t eobrun;
    int      n_scans;
    fe__jpeg_bits br;
    const fe__jpeg_kernels *k;
} fe__jpeg;

/* ---- jpeg_markers.c ------------------------------------------------------------------- */

/* Reads markers from d->pos until an SOS header has been parsed (returns FE_OK with the scan
 * set up and d->pos at the entropy data) or EOI (*at_eoi = 1). Validates every segment. */
fe_status fe__jpeg_next_scan(fe__jpeg *d, int *at_eoi);
/* Checks the SOI and reads headers up to the first SOS (info and decode both start here). */
fe_status fe__jpeg_read_headers(fe__jpeg *d, const uint8_t *data, size_t n);
/* Whether a 3-component frame holds RGB rather than YCbCr (Adobe transform 0 or R,G,B ids). */
int fe__jpeg_is_rgb(const fe__jpeg *d);

/* ---- jpeg_huffman.c ------------------------------------------------------------------- */

/* Builds a decoding table from the DHT counts (16) and symbols; FE_E_CORRUPT when the code
 * lengths are over-subscribed. is_ac selects the combined run/value lookahead. */
fe_status fe__jpeg_huff_build(fe__jpeg_huff *h, const uint8_t counts[16], const uint8_t *vals,
                              int n_vals, int is_ac);
void fe__jpeg_bits_init(fe__jpeg_bits *b, const uint8_t *p, const uint8_t *end);
/* Decodes one block of a sequential scan into blk (natural order, dequantized with q in
 * zigzag order, blk zeroed by the caller); *last = zigzag index of the last coefficient
 * written (0: DC only). Returns FE_OK or FE_E_CORRUPT / FE_E_RANGE. */
fe_status fe__jpeg_decode_block_seq(fe__jpeg_bits *b, const fe__jpeg_huff *dc,
                                    const fe__jpeg_huff *ac, int32_t *dc_pred,
                                    const uint16_t *q, int16_t *blk, int *last);
/* Progressive scans (T.81 G.1.2): DC first / refine, AC first / refine on one block. */
fe_status fe__jpeg_decode_dc_first(fe__jpeg_bits *b, const fe__jpeg_huff *dc, int32_t *dc_pred,
                                   int al, int16_t *blk);
void      fe__jpeg_decode_dc_refine(fe__jpeg_bits *b, int al, int16_t *blk);
fe_status fe__jpeg_decode_ac_first(fe__jpeg_bits *b, const fe__jpeg_huff *ac, int ss, int se,
                                   int al, uint32_t *eobrun, int16_t *blk);
fe_status fe__jpeg_decode_ac_refine(fe__jpeg_bits *b, const fe__jpeg_huff *ac, int ss, int se,
                                    int al, uint32_t *eobrun, int16_t *blk);

/* ---- jpeg_scan.c ---------------------------------------------------------------------- */

/* Decodes the entropy data of the current scan (set up by fe__jpeg_next_scan), leaving
 * d->pos at the marker that follows it. Sequential blocks go straight to the IDCT. */
fe_status fe__jpeg_decode_scan(fe__jpeg *d);
/* Progressive: dequantizes and transforms every coded block into the planes. */
void fe__jpeg_finish_progressive(fe__jpeg *d);

/* ---- jpeg_idct.c ---------------------------------------------------------------------- */

/* Inverse DCT of one dequantized block (natural order, values within int16) into 8x8 samples
 * at out (row stride). Integer LLM algorithm with libjpeg's "islow" scaling (13-bit
 * constants, 2 extra bits between passes), rounding and clamping to 0..255. */
void fe__jpeg_idct_islow(const int16_t *blk, uint8_t *out, size_t stride);
/* The value every sample of a block with only a DC coefficient takes (same as the IDCT). */
uint8_t fe__jpeg_idct_dc(int16_t dc);
#if defined(__x86_64__)
void fe__jpeg_idct_islow_avx2(const int16_t *blk, uint8_t *out, size_t stride);
#endif

/* ---- jpeg_color.c --------------------------------------------------------------------- */

/* Upsamples every component to full size (libjpeg's "fancy" triangle filter for 2:1 ratios,
 * replication otherwise) and converts to 8-bit gray or RGB in img (width x height, as coded). */
fe_status fe__jpeg_to_image(const fe__jpeg *d, fe_image *img);
/* portable kernels (see fe__jpeg_kernels) */
void fe__jpeg_h2v1_fancy(const uint8_t *in, uint32_t n, uint8_t *out);
void fe__jpeg_h2v2_fancy(const uint8_t *near, const uint8_t *far, uint32_t n, uint8_t *out);
void fe__jpeg_ycc_rgb(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, uint32_t n, uint8_t *out);
#if defined(__x86_64__)
void fe__jpeg_h2v1_fancy_avx2(const uint8_t *in, uint32_t n, uint8_t *out);
void fe__jpeg_h2v2_fancy_avx2(const uint8_t *near, const uint8_t *far, uint32_t n, uint8_t *out);
void fe__jpeg_ycc_rgb_avx2(const uint8_t *y, const uint8_t *cb, const uint8_t *cr, uint32_t n, uint8_t *out);
#endif

/* ---- jpeg_exif.c ---------------------------------------------------------------------- */

/* Orientation 1..8 from an APP1 payload starting with "Exif\0\0"; 1 when absent, malformed
 * or out of range (a bad Exif block never fails the decode; the pixels are still valid). */
int fe__jpeg_exif_orientation(const uint8_t *p, size_t n);
/* Size after orientation (5..8 swap width and height). */
void fe__jpeg_oriented_size(int orientation, uint32_t w, uint32_t h, uint32_t *ow, uint32_t *oh);
/* Applies an orientation: dst (oriented size) from src (as coded); same channel count. */
void fe__jpeg_orient(int orientation, const fe_image *src, fe_image *dst);

#endif
