/*
 * faceemd.h — face identification robust to masks, sunglasses and crops.
 *
 * faceemd turns aligned 150x150 face chips into a 128-d descriptor with a pretrained ResNet
 * (stage 1, cosine top-K over a gallery) and re-ranks the top candidates by the Earth Mover's
 * Distance between patch embeddings of a late feature map (stage 2, DeepFace-EMD, CVPR 2022).
 *
 * Basic usage
 *
 *     fe_model *model; fe_session *s; fe_image *img, *chip;
 *     fe_model_open("weights/faceres.feb", NULL, &model);     // read-only, share it
 *     fe_session_create(model, &s);                            // one per thread
 *     fe_image_load("face.jpg", &img);
 *     fe_align_chip(img, &landmarks, &chip);                   // or NULL: centre crop
 *     fe_features f; fe_embed(s, chip->data, &f);              // f.embedding: unit 128-d
 *     ...
 *     fe_image_free(chip); fe_image_free(img);
 *     fe_session_destroy(s); fe_model_close(model);
 *
 * Conventions
 *   - Fallible calls return an fe_status (FE_OK = 0, failures negative). The thread-local
 *     fe_last_error() then holds a sentence naming what failed and where (byte offset, field).
 *   - Outputs are trailing out_* pointers, set to NULL/0 on failure. Destructors accept NULL.
 *   - Options structs come from *_default() and carry their own size for forward compatibility.
 *
 * Thread safety: a model and a loaded gallery are read-only after open and may be shared by any
 * number of threads; a session is a per-thread workspace and must not be used by two threads
 * at once. fe_last_error() is per thread.
 */
#ifndef FACEEMD_H
#define FACEEMD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FE_VERSION_MAJOR 0
#define FE_VERSION_MINOR 1
#define FE_VERSION_PATCH 0

/* ======================================================================================== */
/* Status codes. Values are stable: new codes are only ever appended.                        */
/* ======================================================================================== */

typedef enum fe_status {
    FE_OK            =   0,
    FE_E_ARG         =  -1,  /* invalid argument from the caller                            */
    FE_E_NOMEM       =  -2,  /* allocation failed                                           */
    FE_E_IO          =  -3,  /* open/read/write/rename failed (errno text in the message)   */
    FE_E_MAGIC       =  -4,  /* not this file format: bad magic / signature                 */
    FE_E_VERSION     =  -5,  /* format version this build cannot read                       */
    FE_E_ENDIAN      =  -6,  /* byte-order tag does not match                               */
    FE_E_TRUNCATED   =  -7,  /* the data ends before a declared structure does              */
    FE_E_CORRUPT     =  -8,  /* malformed content (bad code, bad marker, impossible value)  */
    FE_E_RANGE       =  -9,  /* an offset or index points outside its container             */
    FE_E_ALIGN       = -10,  /* an offset is not aligned as the format requires             */
    FE_E_OVERLAP     = -11,  /* two regions that must be disjoint overlap                   */
    FE_E_OVERFLOW    = -12,  /* a size computed from the input overflows                    */
    FE_E_CHECKSUM    = -13,  /* CRC / Adler / checksum mismatch                             */
    FE_E_SHAPE       = -14,  /* tensor or array shape differs from what is required         */
    FE_E_LIMIT       = -15,  /* exceeds a documented cap (FE_MAX_*)                         */
    FE_E_UNSUPPORTED = -16,  /* valid input using a feature this build does not implement   */
    FE_E_NUMERIC     = -17,  /* NaN/Inf, or a solver failed to converge                     */
    FE_E_COUNT       = -18,  /* a count field disagrees with the data                       */
    FE_E_DUPLICATE   = -19,  /* a name that must be unique appears twice                    */
    FE_E_NOT_FOUND   = -20,  /* a required item is missing                                  */
    FE_E_SYNTAX      = -21   /* text input does not parse                                   */
} fe_status;

/* Static name of a status, e.g. "FE_E_CHECKSUM"; "FE_E_?" for unknown values. */
const char *fe_status_name(fe_status s);
/* Static one-line description of a status. */
const char *fe_status_str(fe_status s);
/* Detail of the last failure on this thread ("" if none). Valid until the next faceemd call. */
const char *fe_last_error(void);

/* Version "MAJOR.MINOR.PATCH" and build facts (OpenMP on/off, GEMM kernel in use). */
const char *fe_version_string(void);
const char *fe_build_info(void);

/* Caps checked before any allocation driven by input data. */
#define FE_MAX_IMAGE_DIM     16384u             /* width or height                         */
#define FE_MAX_IMAGE_PIXELS  (64u * 1024u * 1024u)
#define FE_MAX_FILE_BYTES    (1024ull * 1024u * 1024u)
#define FE_MAX_LINE          65536u             /* one line of a text list                 */
#define FE_MAX_GALLERY       (64u * 1024u * 1024u)

/* ======================================================================================== */
/* Model and session (issue: engine core)                                                   */
/* ======================================================================================== */

#define FE_CHIP_SIZE   150   /* network input: FE_CHIP_SIZE x FE_CHIP_SIZE x 3, RGB, HWC   */
#define FE_DESC_DIM    128   /* descriptor length                                           */
#define FE_MAP8_CELLS   64   /* conv128_2 output: 8x8 cells ...                             */
#define FE_MAP8_DIM    128   /* ... of 128 channels                                         */
#define FE_MAP4_CELLS   16   /* conv256_2 output: 4x4 cells ...                             */
#define FE_MAP4_DIM    256   /* ... of 256 channels                                         */
#define FE_MAP2_CELLS    4   /* conv256_down_out output: 2x2 cells of 256 channels          */
#define FE_MAP2_DIM    256

typedef struct fe_model fe_model;
typedef struct fe_session fe_session;

typedef struct fe_model_options {
    uint32_t size;          /* sizeof(fe_model_options), set by fe_model_options_default   */
    int      verify_crc;    /* 1 (default): check every tensor CRC at open                  */
} fe_model_options;

void fe_model_options_default(fe_model_options *opt);

/* Opens a .feb weight blob, validates every field and the network schema, and prepares the
 * weights for inference. opt may be NULL (defaults). Returns FE_E_IO, FE_E_MAGIC,
 * FE_E_VERSION, FE_E_ENDIAN, FE_E_TRUNCATED, FE_E_RANGE, FE_E_ALIGN, FE_E_OVERLAP,
 * FE_E_OVERFLOW, FE_E_CHECKSUM, FE_E_SHAPE, FE_E_DUPLICATE, FE_E_NOT_FOUND, FE_E_NOMEM. */
fe_status fe_model_open(const char *path, const fe_model_options *opt, fe_model **out_model);
/* Same, from a caller-owned buffer (copied; the caller may free it on return). */
fe_status fe_model_open_memory(const void *data, size_t size, const fe_model_options *opt,
                               fe_model **out_model);
void fe_model_close(fe_model *model);

/* A per-thread workspace sized once, so embedding allocates nothing per image. */
fe_status fe_session_create(const fe_model *model, fe_session **out_session);
void fe_session_destroy(fe_session *session);

/* Everything the search needs from one face. Maps are channels-last (HWC), as the reference. */
typedef struct fe_features {
    float descriptor[FE_DESC_DIM];                 /* raw network output (not normalised)  */
    float embedding[FE_DESC_DIM];                  /* descriptor / ||descriptor||          */
    float map8[FE_MAP8_CELLS * FE_MAP8_DIM];       /* conv128_2 output, 8x8x128            */
    float map4[FE_MAP4_CELLS * FE_MAP4_DIM];       /* conv256_2 output, 4x4x256            */
    float map2[FE_MAP2_CELLS * FE_MAP2_DIM];       /* conv256_down_out output, 2x2x256     */
} fe_features;

/* Embeds one 150x150x3 RGB chip (row-major HWC, 8 bits per channel). */
fe_status fe_embed(fe_session *s, const uint8_t *rgb_chip, fe_features *out);
/* Embeds n chips; out has n elements. Same results as n calls of fe_embed, bit for bit
 * (late layers run up to 16 images together so their weights are read once per batch). */
fe_status fe_embed_batch(fe_session *s, const uint8_t *const *rgb_chips, size_t n,
                         fe_features *out);
/* Embeds an image of any size the way face-api treats a whole-image input: gray replicated,
 * alpha dropped, zero-padded to a square (round(diff/2) after, the rest before), then TF's
 * legacy bilinear resize to 150x150 in float. A 150x150 RGB image is fe_embed exactly.
 * No alignment is done: pass a face crop. FE_E_ARG, FE_E_NUMERIC. */
struct fe_image;
fe_status fe_embed_image(fe_session *s, const struct fe_image *img, fe_features *out);

/* ======================================================================================== */
/* Images (issue: images in, face chips out)                                                */
/* ======================================================================================== */

/* A decoded image: 8 bits per channel, rows top to bottom, channels interleaved.
 * channels is 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA). Free with fe_image_free. */
typedef struct fe_image {
    uint32_t width, height, channels;
    uint8_t *data;                                 /* width*height*channels bytes          */
} fe_image;

typedef enum fe_image_format {
    FE_IMAGE_UNKNOWN = 0, FE_IMAGE_JPEG = 1, FE_IMAGE_PNG = 2, FE_IMAGE_PPM = 3
} fe_image_format;

typedef struct fe_image_header {
    fe_image_format format;
    uint32_t width, height, channels;  /* after EXIF orientation, as fe_image_decode returns */
} fe_image_header;

/* The five landmarks in image pixels: left eye, right eye, nose tip, left mouth corner,
 * right mouth corner (left/right as seen in the image). */
typedef struct fe_landmarks {
    float x[5], y[5];
} fe_landmarks;

/* Detects the format from the first bytes (not the file name) and decodes. JPEG (baseline and
 * progressive), PNG (all types), PPM/PGM (P5/P6). EXIF orientation is applied. */
fe_status fe_image_load(const char *path, fe_image **out_image);
fe_status fe_image_decode(const void *data, size_t size, fe_image **out_image);
/* Reads only the header: format, size and channels, without decoding pixels. */
fe_status fe_image_info(const void *data, size_t size, fe_image_header *out_header);
/* Writes atomically (temp + rename); the format follows the extension: .png, .ppm or .pgm. */
fe_status fe_image_save(const char *path, const fe_image *image);
/* A new image of the given size, zero-filled (caps apply). */
fe_status fe_image_create(uint32_t width, uint32_t height, uint32_t channels, fe_image **out_image);
/* Converts to 3-channel RGB: gray is replicated, alpha is dropped. */
fe_status fe_image_to_rgb(const fe_image *src, fe_image **out_image);
void fe_image_free(fe_image *image);

/* ======================================================================================== */
/* Gallery index and search (issue: the main job)                                           */
/* ======================================================================================== */

/* A gallery is a list of faces: identity label, source path, and the features the search
 * needs (weights/INDEX-FORMAT.md). Created galleries are built with fe_gallery_add /
 * fe_gallery_append and written with fe_gallery_save; loaded ones are read-only, validated in
 * every field, and may be shared by any number of threads. */
typedef struct fe_gallery fe_gallery;

typedef enum fe_gallery_dtype {
    FE_GALLERY_F32 = 0,   /* patch maps stored as IEEE binary32 (default)                     */
    FE_GALLERY_F16 = 1    /* patch maps stored as IEEE binary16: half the size                */
} fe_gallery_dtype;

#define FE_MAX_LABEL_BYTES   1023u   /* identity label, UTF-8, without the NUL              */
#define FE_MAX_PATH_BYTES    4095u   /* source path, UTF-8, without the NUL                 */
#define FE_MAX_META_BYTES    (1u << 20)  /* all metadata of one index                        */

typedef struct fe_gallery_options {
    uint32_t         size;         /* sizeof(fe_gallery_options), set by *_default           */
    fe_gallery_dtype patch_dtype;  /* create: how patch maps are stored (FE_GALLERY_F32)      */
    int              verify_crc;   /* load: 1 (default) checks every section's CRC-32         */
    int              use_mmap;     /* load: 1 (default) maps the file read-only where the
                                      platform can; 0 reads it into memory                    */
} fe_gallery_options;

void fe_gallery_options_default(fe_gallery_options *opt);

/* An empty, writable gallery. opt may be NULL (defaults). */
fe_status fe_gallery_create(const fe_gallery_options *opt, fe_gallery **out_gallery);
/* Appends one face. label: identity name (1..FE_MAX_LABEL_BYTES bytes of UTF-8, no control
 * characters); faces with the same label share one identity. path: where the face came from
 * (0..FE_MAX_PATH_BYTES, same rules; NULL = ""). The embedding and patch maps are normalised as
 * the index stores them. FE_E_ARG (read-only gallery, bad string), FE_E_LIMIT, FE_E_NUMERIC
 * (NaN/Inf or zero embedding), FE_E_NOMEM. On failure the gallery is unchanged. */
fe_status fe_gallery_add(fe_gallery *g, const char *label, const char *path, const fe_features *f);
/* Appends every face and metadata entry of src to the writable dst (for `index add`); labels
 * already in dst join their identity; fp16/fp32 patch maps are converted as needed. On failure
 * dst is unchanged. */
fe_status fe_gallery_append(fe_gallery *dst, const fe_gallery *src);
/* Adds a metadata entry (key: 1..64 of [a-z0-9_.-]; value: UTF-8 without control characters,
 * up to 4095 bytes). Keys may repeat (e.g. one "history" entry per build step). */
fe_status fe_gallery_meta_add(fe_gallery *g, const char *key, const char *value);
/* Writes the index atomically (temporary file, fsync, rename): an interrupted save leaves any
 * previous file at path intact. */
fe_status fe_gallery_save(const fe_gallery *g, const char *path);
/* Loads and validates an index. Statuses: FE_E_IO, FE_E_MAGIC, FE_E_VERSION, FE_E_ENDIAN,
 * FE_E_TRUNCATED, FE_E_CORRUPT (bad string, padding, section order), FE_E_COUNT (counts that
 * disagree with section sizes), FE_E_OVERFLOW, FE_E_RANGE, FE_E_ALIGN, FE_E_OVERLAP,
 * FE_E_CHECKSUM, FE_E_SHAPE (dimensions), FE_E_LIMIT (FE_MAX_GALLERY, string lengths),
 * FE_E_DUPLICATE (labels), FE_E_UNSUPPORTED (flags), FE_E_NUMERIC (non-unit vectors),
 * FE_E_NOMEM. opt may be NULL. */
fe_status fe_gallery_load(const char *path, const fe_gallery_options *opt, fe_gallery **out_gallery);
/* Same from a caller buffer (copied; the caller may free it on return). */
fe_status fe_gallery_load_memory(const void *data, size_t size, const fe_gallery_options *opt,
                                 fe_gallery **out_gallery);
void fe_gallery_free(fe_gallery *g);

/* Number of faces; identities (distinct labels). */
size_t fe_gallery_size(const fe_gallery *g);
size_t fe_gallery_identity_count(const fe_gallery *g);
/* Face i's identity id (0 .. identity_count-1, in order of first appearance); UINT32_MAX if i
 * is out of range. */
uint32_t fe_gallery_identity(const fe_gallery *g, size_t i);
/* Face i's label and path; NULL if out of range. Valid until the gallery changes or is freed. */
const char *fe_gallery_label(const fe_gallery *g, size_t i);
const char *fe_gallery_path(const fe_gallery *g, size_t i);
/* Label of identity id, and how many faces it has (NULL / 0 if out of range). */
const char *fe_gallery_identity_label(const fe_gallery *g, size_t id);
size_t fe_gallery_identity_faces(const fe_gallery *g, size_t id);
/* Identity id of a label, or UINT32_MAX when absent. */
uint32_t fe_gallery_find_identity(const fe_gallery *g, const char *label);
/* Face i's unit embedding (FE_DESC_DIM floats), or NULL if out of range. */
const float *fe_gallery_embedding(const fe_gallery *g, size_t i);
/* Metadata entries in order; key/value NULL when i is out of range. */
size_t fe_gallery_meta_count(const fe_gallery *g);
void fe_gallery_meta_at(const fe_gallery *g, size_t i, const char **out_key, const char **out_value);
/* The last value stored under key, or NULL. */
const char *fe_gallery_meta_find(const fe_gallery *g, const char *key);

typedef struct fe_gallery_info {
    uint32_t         version_major, version_minor;   /* of the file (current for unsaved) */
    size_t           n_faces, n_identities;
    uint32_t         emb_dim, map4_cells, map4_dim, map8_cells, map8_dim;
    fe_gallery_dtype patch_dtype;
    int              loaded;              /* 1: loaded from a file or buffer (read-only)    */
    int              mapped;              /* 1: the file is memory-mapped                   */
    int              checksums_verified;  /* 1: every CRC was checked at load               */
    uint64_t         file_bytes;          /* the whole index as saved (computed if unsaved) */
    uint64_t         embedding_bytes, map4_bytes, map8_bytes, pooled_bytes, text_bytes;
} fe_gallery_info;

fe_status fe_gallery_get_info(const fe_gallery *g, fe_gallery_info *out_info);

/* ---- stage 1: cosine top-K ------------------------------------------------------------ */

#define FE_TOPK_DEFAULT 100u
#define FE_NO_EXCLUDE   UINT32_MAX

typedef struct fe_hit {
    uint32_t index;   /* gallery face index (FE_NO_EXCLUDE in unused slots)                   */
    float    score;   /* dot product with the unit embedding: the cosine for a unit query     */
} fe_hit;

/* For each of n_queries queries (row-major, n_queries x FE_DESC_DIM, unit length for cosine
 * scores), the k faces with the highest score, best first; equal scores rank the lower face
 * index first. exclude (NULL: none) gives per query one face index to leave out (the query's
 * own image), or FE_NO_EXCLUDE. out_hits has n_queries * k slots (query q's at q * k);
 * out_counts[q] (may be NULL) gets min(k, faces available); unused slots get index
 * FE_NO_EXCLUDE and score -INFINITY. Thread-safe on a shared gallery. FE_E_ARG, FE_E_NUMERIC
 * (a query holds NaN/Inf), FE_E_NOMEM. */
fe_status fe_cosine_topk(const fe_gallery *g, const float *queries, size_t n_queries, size_t k,
                         const uint32_t *exclude, fe_hit *out_hits, size_t *out_counts);

/* ======================================================================================== */
/* Evaluation and reports (issues: reproduce the paper; show why two faces match)           */
/* ======================================================================================== */

#ifdef __cplusplus
}
#endif

#endif /* FACEEMD_H */
