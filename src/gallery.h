/*
 * gallery.h — internal view of a gallery for the search code (stage 1 and stage 2).
 *
 * Layout (weights/INDEX-FORMAT.md): per face an L2-normalised 128-d embedding (fp32), the
 * 4x4x256 and 8x8x128 patch maps with every cell's channel vector L2-normalised (fp32 or
 * fp16, HWC, cells row-major), and the average-pooled vectors (mean over cells of the raw map,
 * then L2-normalised; fp32). Rows are 64-byte aligned and contiguous across faces, so the
 * embeddings form one n x 128 row-major matrix. Accessors do no checking beyond what the
 * comments say: callers pass i < fe_gallery_size(g).
 */
#ifndef FE_GALLERY_H
#define FE_GALLERY_H

#include "internal.h"

/* Everything a face contributes to the search, normalised exactly as the index stores it.
 * The query side uses the same function, so query and gallery are treated alike. */
typedef struct fe__prepared {
    float emb[FE_DESC_DIM];                        /* embedding / ||embedding||            */
    float map4[FE_MAP4_CELLS * FE_MAP4_DIM];       /* each cell / ||cell|| (0 stays 0)    */
    float map8[FE_MAP8_CELLS * FE_MAP8_DIM];
    float pool4[FE_MAP4_DIM];                      /* mean over cells of map4, normalised  */
    float pool8[FE_MAP8_DIM];
} fe__prepared;

/* Normalises f into p (sums in double). FE_E_NUMERIC if any input is NaN/Inf or the
 * embedding is zero. */
fe_status fe__features_prepare(const fe_features *f, fe__prepared *p);

/* The n x 128 embedding matrix (row i = face i), 64-byte aligned; NULL when empty. */
const float *fe__gallery_embeddings(const fe_gallery *g);
/* The same embeddings as 16-row k-major panels (topk.h), what stage 1 scans; NULL when empty. */
const float *fe__gallery_emb_panels(const fe_gallery *g);

/* Patch rows of face i on the 4x4 (grid 4) or 8x8 (grid 8) map. */
typedef struct fe__patch_view {
    const void      *data;    /* cells x dim values: float, or uint16_t binary16 when F16  */
    fe_gallery_dtype dtype;
    uint32_t         cells, dim;
} fe__patch_view;
fe__patch_view fe__gallery_patches(const fe_gallery *g, int grid, size_t i);
/* Direct fp32 pointer to the patch rows of face i, or NULL when the maps are fp16. */
const float *fe__gallery_patches_f32(const fe_gallery *g, int grid, size_t i);
/* The average-pooled vector of face i (grid 4: 256 floats, grid 8: 128 floats). */
const float *fe__gallery_pooled(const fe_gallery *g, int grid, size_t i);
/* Copies (fp32) or converts (fp16) the patch rows of faces idx[0..n) into dst, one face after
 * another (n x cells x dim floats): the candidate matrix for stage 2's cost GEMM. */
void fe__gallery_gather_patches(const fe_gallery *g, int grid, const uint32_t *idx, size_t n,
                                float *dst);

/* Test hook (per thread): called by fe_gallery_save after each chunk written to the temporary
 * file with the running byte count. Lets a test stop a writer mid-file. NULL: none. */
typedef void (*fe__gallery_write_hook)(void *ctx, uint64_t bytes_written);
void fe__gallery_set_write_hook(fe__gallery_write_hook hook, void *ctx);

/* Test and fuzz helper: recomputes every section CRC (for sections that lie inside the buffer)
 * and then the header CRC of an index image in place, so a deliberately changed field reaches
 * the check behind the checksums. Does nothing if the buffer is shorter than a header. */
void fe__gallery_fix_checksums(uint8_t *file, size_t size);

#endif /* FE_GALLERY_H */
