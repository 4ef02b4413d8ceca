/*
 * image.c — format detection and the public image entry points.
 *
 * The format is chosen by content (magic bytes), never by file name, so a JPEG called
 * "x.png" still decodes. Writers pick the format from the extension and write atomically.
 */
#include "image_codecs.h"

#include <string.h>

fe_status fe__image_check_dims(uint32_t width, uint32_t height, uint32_t channels) {
    if (width == 0 || height == 0)
        return fe__fail(FE_E_CORRUPT, "image has zero size (%ux%u)", width, height);
    if (channels < 1 || channels > 4) return fe__fail(FE_E_CORRUPT, "bad channel count %u", channels);
    if (width > FE_MAX_IMAGE_DIM || height > FE_MAX_IMAGE_DIM)
        return fe__fail(FE_E_LIMIT, "image %ux%u exceeds the %u-pixel side limit", width, height,
                        FE_MAX_IMAGE_DIM);
    if ((uint64_t)width * height > FE_MAX_IMAGE_PIXELS)
        return fe__fail(FE_E_LIMIT, "image %ux%u exceeds the %u-pixel limit", width, height,
                        FE_MAX_IMAGE_PIXELS);
    return FE_OK;
}

fe_status fe__image_new(uint32_t width, uint32_t height, uint32_t channels, fe_image **out) {
    *out = NULL;
    fe_status st = fe__image_check_dims(width, height, channels);
    if (st != FE_OK) return st;
    fe_image *img = fe__malloc(sizeof *img);
    size_t n = (size_t)width * height * channels;  /* bounded by the caps above */
    uint8_t *px = fe__calloc(n, 1);
    if (!img || !px) {
        fe__free(img);
        fe__free(px);
        return fe__fail(FE_E_NOMEM, "cannot allocate a %ux%ux%u image", width, height, channels);
    }
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->data = px;
    *out = img;
    return FE_OK;
}

fe_status fe_image_create(uint32_t width, uint32_t height, uint32_t channels, fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    return fe__image_new(width, height, channels, out_image);
}

void fe_image_free(fe_image *image) {
    if (!image) return;
    fe__free(image->data);
    fe__free(image);
}

static fe_image_format detect(const uint8_t *p, size_t n) {
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return FE_IMAGE_JPEG;
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) return FE_IMAGE_PNG;
    if (n >= 2 && p[0] == 'P' && (p[1] == '5' || p[1] == '6')) return FE_IMAGE_PPM;
    return FE_IMAGE_UNKNOWN;
}

fe_status fe_image_info(const void *data, size_t size, fe_image_header *out_header) {
    if (!out_header) return fe__fail(FE_E_ARG, "out_header is NULL");
    memset(out_header, 0, sizeof *out_header);
    if (!data && size) return fe__fail(FE_E_ARG, "data is NULL");
    switch (detect(data, size)) {
    case FE_IMAGE_JPEG: return fe__jpeg_info(data, size, out_header);
    case FE_IMAGE_PNG: return fe__png_info(data, size, out_header);
    case FE_IMAGE_PPM: return fe__ppm_info(data, size, out_header);
    default: break;
    }
    return fe__fail(FE_E_MAGIC, "not a JPEG, PNG or PPM/PGM (P5/P6) image");
}

fe_status fe_image_decode(const void *data, size_t size, fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    *out_image = NULL;
    if (!data && size) return fe__fail(FE_E_ARG, "data is NULL");
    switch (detect(data, size)) {
    case FE_IMAGE_JPEG: return fe__jpeg_decode(data, size, out_image);
    case FE_IMAGE_PNG: return fe__png_decode(data, size, out_image);
    case FE_IMAGE_PPM: return fe__ppm_decode(data, size, out_image);
    default: break;
    }
    return fe__fail(FE_E_MAGIC, "not a JPEG, PNG or PPM/PGM (P5/P6) image");
}

fe_status fe_image_load(const char *path, fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    *out_image = NULL;
    uint8_t *data;
    size_t n;
    fe_status st = fe__read_file(path, 256u << 20, &data, &n);
    if (st != FE_OK) return st;
    st = fe_image_decode(data, n, out_image);
    fe__free(data);
    return st;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    if (a < b) return 0;
    for (size_t i = 0; i < b; i++) {
        char c = s[a - b + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suffix[i]) return 0;
    }
    return 1;
}

/* Gray <-> RGB for writers: gray is replicated; colour becomes Rec. 601 luma
 * (299 R + 587 G + 114 B) / 1000, rounded; alpha is dropped. */
static fe_status convert_channels(const fe_image *src, uint32_t want, fe_image **out) {
    fe_status st = fe__image_new(src->width, src->height, want, out);
    if (st != FE_OK) return st;
    size_t n = (size_t)src->width * src->height;
    uint32_t c = src->channels;
    const uint8_t *s = src->data;
    uint8_t *d = (*out)->data;
    for (size_t i = 0; i < n; i++, s += c, d += want) {
        uint32_t gray = c < 3 ? s[0] : (299u * s[0] + 587u * s[1] + 114u * s[2] + 500u) / 1000u;
        if (want == 1) d[0] = (uint8_t)gray;
        else if (c < 3) d[0] = d[1] = d[2] = s[0];
        else { d[0] = s[0]; d[1] = s[1]; d[2] = s[2]; }
    }
    return FE_OK;
}

fe_status fe_image_save(const char *path, const fe_image *image) {
    if (!path || !image || !image->data) return fe__fail(FE_E_ARG, "path or image is NULL");
    fe_status st = fe__image_check_dims(image->width, image->height, image->channels);
    if (st != FE_OK) return st;
    uint8_t *buf = NULL;
    size_t n = 0;
    if (ends_with(path, ".png")) {
        st = fe__png_encode(image, 6, &buf, &n);
    } else if (ends_with(path, ".ppm") || ends_with(path, ".pgm")) {
        /* the extension decides the Netpbm type: .pgm is gray, .ppm is RGB; alpha is dropped */
        uint32_t want = ends_with(path, ".pgm") ? 1 : 3;
        fe_image *conv = NULL;
        if (image->channels != want && (st = convert_channels(image, want, &conv)) != FE_OK) return st;
        st = fe__ppm_encode(conv ? conv : image, &buf, &n);
        fe_image_free(conv);
    } else {
        return fe__fail(FE_E_ARG, "%s: unknown output format (use .png, .ppm or .pgm)", path);
    }
    if (st != FE_OK) return st;
    st = fe__write_file_atomic(path, buf, n);
    fe__free(buf);
    return st;
}

fe_status fe_image_to_rgb(const fe_image *src, fe_image **out_image) {
    if (!out_image) return fe__fail(FE_E_ARG, "out_image is NULL");
    *out_image = NULL;
    if (!src || !src->data) return fe__fail(FE_E_ARG, "src is NULL");
    fe_image *dst;
    fe_status st = fe__image_new(src->width, src->height, 3, &dst);
    if (st != FE_OK) return st;
    size_t n = (size_t)src->width * src->height;
    const uint8_t *s = src->data;
    uint8_t *d = dst->data;
    uint32_t c = src->channels;
    for (size_t i = 0; i < n; i++, s += c, d += 3) {
        if (c < 3) d[0] = d[1] = d[2] = s[0];
        else { d[0] = s[0]; d[1] = s[1]; d[2] = s[2]; }
    }
    *out_image = dst;
    return FE_OK;
}
