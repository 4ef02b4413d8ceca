/*
 * fuzz_gallery.c — libFuzzer target for the gallery index reader (weights/INDEX-FORMAT.md).
 *
 * Each input is loaded twice from memory: as given (the CRCs stop most mutations early,
 * which is the common case for damaged files) and with every checksum recomputed first, so
 * mutations reach the field checks behind them. A gallery that loads is then read through
 * every accessor, re-saved to memory-equivalent form by appending it to a new gallery, and
 * searched, so the reader's promises (terminated strings, ids in range, unit rows) are used.
 */
#include "faceemd.h"
#include "gallery.h"

#include <stdlib.h>
#include <string.h>

static void exercise(const fe_gallery *g) {
    size_t n = fe_gallery_size(g), sink = 0;
    for (size_t i = 0; i < n; i++) {
        sink += strlen(fe_gallery_label(g, i)) + strlen(fe_gallery_path(g, i));
        uint32_t id = fe_gallery_identity(g, i);
        if (id >= fe_gallery_identity_count(g)) abort();  /* the loader promised this */
        sink += fe_gallery_identity_faces(g, id);
        if (fe_gallery_find_identity(g, fe_gallery_identity_label(g, id)) != id) abort();
    }
    for (size_t i = 0; i < fe_gallery_meta_count(g); i++) {
        const char *k, *v;
        fe_gallery_meta_at(g, i, &k, &v);
        sink += strlen(k) + strlen(v);
    }
    fe_gallery_info info;
    fe_gallery_get_info(g, &info);
    if (n > 0) {
        fe_hit hits[4];
        size_t count;
        uint32_t excl = 0;
        if (fe_cosine_topk(g, fe_gallery_embedding(g, n - 1), 1, 4, &excl, hits, &count) == FE_OK)
            for (size_t j = 0; j < count; j++)
                if (hits[j].index >= n) abort();
        float buf[FE_MAP8_CELLS * FE_MAP8_DIM];
        uint32_t idx = (uint32_t)(n - 1);
        fe__gallery_gather_patches(g, 8, &idx, 1, buf);
        fe__gallery_gather_patches(g, 4, &idx, 1, buf);
    }
    fe_gallery *copy;
    if (fe_gallery_create(NULL, &copy) == FE_OK) {
        if (fe_gallery_append(copy, g) == FE_OK && fe_gallery_size(copy) != n) abort();
        fe_gallery_free(copy);
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (8u << 20)) return 0;  /* a few faces are enough to reach every check */
    fe_gallery_options opt;
    fe_gallery_options_default(&opt);
    fe_gallery *g;
    if (fe_gallery_load_memory(data, size, &opt, &g) == FE_OK) {
        exercise(g);
        fe_gallery_free(g);
    }
    uint8_t *fixed = malloc(size ? size : 1);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    fe__gallery_fix_checksums(fixed, size);
    if (fe_gallery_load_memory(fixed, size, &opt, &g) == FE_OK) {
        exercise(g);
        fe_gallery_free(g);
    }
    free(fixed);
    return 0;
}
