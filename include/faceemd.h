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

/* ---- geometry (image_geom.c) ------------------------------------------------------------
 * Coordinates: pixel (i, j) is column i, row j; its centre is at (i, j) and it covers
 * [i-0.5, i+0.5] x [j-0.5, j+0.5]. An image of width W spans [-0.5, W-0.5].
 * Rounding: interpolated values are computed in float and rounded half up
 * (floor(v + 0.5)), clamped to 0..255; area averaging is exact integer arithmetic.
 * All functions take 1-4 channel images and return a new image with the same channels.
 * On x86-64 CPUs with AVX2, warps and bilinear resizes use AVX2 kernels whose results are
 * bit-identical to the portable code (FE_KERNEL=ref forces the portable code). */

/* What a sample outside the source image reads. CONSTANT: the fill colour (fill[c] per
 * channel, or 0 when fill is NULL); a bilinear sample straddling the edge blends image and
 * fill. REPLICATE: the nearest edge pixel (coordinates are clamped). */
typedef enum fe_border { FE_BORDER_CONSTANT = 0, FE_BORDER_REPLICATE = 1 } fe_border;

typedef enum fe_resize_filter {
    FE_RESIZE_AUTO     = 0,  /* AREA when neither side grows, else BILINEAR                 */
    FE_RESIZE_BILINEAR = 1,  /* half-pixel centres: src = (dst + 0.5) * src_w / dst_w - 0.5,
                                edge pixels replicated                                      */
    FE_RESIZE_AREA     = 2   /* exact box filter: each output pixel is the mean of the input
                                area it covers, partial pixels weighted by their coverage   */
} fe_resize_filter;

/* The width x height window whose top-left pixel is (x, y) in src; parts outside src follow
 * the border rule. FE_E_ARG for a NULL or malformed image or bad border; FE_E_LIMIT/FE_E_CORRUPT
 * for an output size beyond the caps or zero; FE_E_NOMEM. */
fe_status fe_image_crop(const fe_image *src, int32_t x, int32_t y, uint32_t width, uint32_t height,
                        fe_border border, const uint8_t *fill, fe_image **out_image);
/* Resamples src to width x height (FE_E_ARG, FE_E_LIMIT, FE_E_CORRUPT, FE_E_NOMEM). */
fe_status fe_image_resize(const fe_image *src, uint32_t width, uint32_t height,
                          fe_resize_filter filter, fe_image **out_image);
/* Rotates the content by angle_deg counter-clockwise as displayed, about (cx, cy) in pixel
 * coordinates; same size as src; bilinear. FE_E_NUMERIC for non-finite arguments. */
fe_status fe_image_rotate(const fe_image *src, double cx, double cy, double angle_deg,
                          fe_border border, const uint8_t *fill, fe_image **out_image);
/* General affine warp, bilinear. m maps source to destination coordinates:
 *   x_dst = m[0]*x + m[1]*y + m[2],  y_dst = m[3]*x + m[4]*y + m[5];
 * each destination pixel samples the source at the inverse image of its centre. No
 * prefiltering: for reductions beyond 2x, resize with FE_RESIZE_AREA first. FE_E_NUMERIC
 * when m is not finite or not invertible. */
fe_status fe_image_warp_affine(const fe_image *src, const double m[6], uint32_t width,
                               uint32_t height, fe_border border, const uint8_t *fill,
                               fe_image **out_image);

/* ---- 5-point alignment (align.c) ---------------------------------------------------------
 * The chip is FE_CHIP_SIZE^2 RGB. With landmarks, a least-squares similarity (scale, rotation,
 * translation; closed form) maps them onto the template, whose default in chip pixels is
 *   (46.98,43.07) (102.67,42.76) (75.00,74.74) (52.12,107.34) (98.24,107.09)
 * (../shared/design/METHOD.md's template moved 5 px down: the best of the LFW template study
 * in docs/ALIGNMENT.md), and the chip is sampled bilinearly; chip pixels whose source
 * lies outside the image are black (FE_BORDER_CONSTANT, 0), as in dlib's training chips. When
 * the face is larger in the image than in the chip (fit scale < 1), its footprint is first
 * area-reduced to about chip resolution, so the warp never skips pixels (no aliasing).
 * Without landmarks (NULL): a fixed centre crop, the square of side
 * 0.4315*min(W,H) centred at (0.5025*W, 0.5416*H) (the mean LFW landmarks mapped through the
 * default template; src/align.c explains the numbers), resized to the chip. Gray is
 * replicated; alpha is dropped.
 * Experiment knob: the environment variable FE_ALIGN_TEMPLATE="scale,shift_y" scales
 * METHOD.md's template (46.98,38.07) ... (98.24,102.09) about its centroid and moves it
 * shift_y chip pixels down; unset means "1,5" (the default above), and "1,0" is METHOD.md's
 * template exactly (the default before the study).
 * Statuses for landmarks: FE_E_NUMERIC (NaN/Inf), FE_E_RANGE (a point more than one image
 * size beyond the image), FE_E_CORRUPT (degenerate: eyes closer than 2 px, points collapsed,
 * or a fit scale over 20 chip pixels per image pixel or a chip footprint over 4x the image). */

/* The default template (chip pixels; honours FE_ALIGN_TEMPLATE: FE_E_ARG if malformed). */
fe_status fe_align_template(fe_landmarks *out_template);
/* The image -> chip affine map (layout as fe_image_warp_affine's m) that fe_align_chip uses
 * for this image size and landmarks (NULL: the centre crop's scale and shift). out_rms_px
 * (may be NULL) gets the fit's RMS residual in chip pixels (0 without landmarks). */
fe_status fe_align_transform(uint32_t width, uint32_t height, const fe_landmarks *lm_or_null,
                             double out_m[6], double *out_rms_px);
/* The aligned 150x150 RGB chip of img. */
fe_status fe_align_chip(const fe_image *img, const fe_landmarks *lm_or_null, fe_image **out_chip);
/* Applies an affine map (fe_image_warp_affine layout) to the five points. */
void fe_landmarks_transform(const double m[6], const fe_landmarks *in, fe_landmarks *out);

/* ---- landmark lists (landmarks.c) --------------------------------------------------------
 * A TSV file: the header line
 *   image left_eye_x left_eye_y right_eye_x right_eye_y nose_x nose_y mouth_left_x
 *   mouth_left_y mouth_right_x mouth_right_y              (tab-separated, exactly these names)
 * then one row per image: a key (a relative path such as Name/Name_0001.jpg) and ten decimal
 * numbers, all tab-separated. Strict: every line ends with LF (CRLF is accepted, a lone CR is
 * not; the last line may lack its LF only if complete), no blank lines, lines of at most
 * FE_MAX_LINE bytes, finite numbers within [-32768, 32768], keys unique and free of control
 * bytes. Failures name the line: FE_E_TRUNCATED (empty file, or the last line cut short),
 * FE_E_MAGIC (no header), FE_E_SHAPE (column count), FE_E_SYNTAX (not a number, empty key,
 * blank line, control byte), FE_E_NUMERIC (NaN/Inf), FE_E_RANGE (out of range), FE_E_LIMIT
 * (long line, too many rows), FE_E_DUPLICATE (repeated key). */
typedef struct fe_landmark_list fe_landmark_list;

fe_status fe_landmark_list_load(const char *path, fe_landmark_list **out_list);
fe_status fe_landmark_list_load_memory(const void *data, size_t size, fe_landmark_list **out_list);
size_t fe_landmark_list_count(const fe_landmark_list *list);
/* Row i (0-based, file order): its key (owned by the list) and points. FE_E_RANGE if i is out
 * of range. out_key or out_lm may be NULL. */
fe_status fe_landmark_list_get(const fe_landmark_list *list, size_t i, const char **out_key,
                               fe_landmarks *out_lm);
/* The row whose key is a suffix of image_path starting at a '/' boundary (or the whole path):
 * "Ann/Ann_0001.jpg" matches "lfw/images/Ann/Ann_0001.jpg" but not "xAnn/Ann_0001.jpg". The
 * longest matching key wins. FE_E_NOT_FOUND when none matches. out_index may be NULL. */
fe_status fe_landmark_list_find(const fe_landmark_list *list, const char *image_path,
                                fe_landmarks *out_lm, size_t *out_index);
void fe_landmark_list_free(fe_landmark_list *list);
/* Parses the one-image form "x1,y1,x2,y2,x3,y3,x4,y4,x5,y5" (ten numbers, commas, optional
 * spaces around them), same number rules as the TSV. FE_E_SHAPE if not ten values. */
fe_status fe_landmarks_parse(const char *text, fe_landmarks *out_lm);

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

/* ---- Stage 2 building blocks: patch-wise EMD (../shared/design/METHOD.md, "Stage 2") -----
 *
 * A pair is n query patches q_i and m candidate patches g_j (rows of length d, L2-normalised),
 * or directly their similarity matrix s_ij = <q_i, g_j> (n*m doubles, row-major). The ground
 * cost is c_ij = 1 - s_ij; a (n) and b (m) are the patch masses; the plan T (n*m, row-major)
 * moves a to b, and S_emd = sum_ij T_ij s_ij.
 *
 *   fe_emd_similarity + fe_emd_weights + fe_emd_sinkhorn | fe_emd_exact   one pair, in double
 *   fe_emd_pair                                           the same in one call, from patches
 *   fe_emd_rerank                                         one query against K candidates (the
 *                                                         search path: one GEMM for all costs)
 * All functions are thread-safe; a workspace must not be shared by two threads at once. */

#define FE_EMD_MAX_PATCHES 1024u     /* n or m: workspaces hold a few n*m doubles (<= 16 MiB)    */
#define FE_EMD_MAX_DIM     65536u    /* d                                                       */
#define FE_EMD_MAX_ITER    1000000u  /* max_iter                                                */

typedef enum fe_emd_weighting {
    FE_EMD_UNIFORM = 0,   /* 1/n and 1/m                                                       */
    FE_EMD_SC      = 1,   /* a_i ~ sum_j c_ij, b_j ~ sum_i c_ij, each / (sum + 1e-7)            */
    FE_EMD_APC     = 2    /* a_i ~ max(0, <q_i, mean(g)>), b_j ~ max(0, <g_j, mean(q)>), same   */
} fe_emd_weighting;

typedef enum fe_emd_solver {
    FE_EMD_SINKHORN = 0,  /* entropic OT, the paper's recipe (--solver sinkhorn)               */
    FE_EMD_EXACT    = 1   /* exact EMD (--solver exact)                                        */
} fe_emd_solver;

/* Which algorithm produced a result (fe_emd_stats.algorithm). */
typedef enum fe_emd_algorithm {
    FE_EMD_ALG_NONE         = 0,
    FE_EMD_ALG_SINKHORN     = 1,  /* scaling iterations in double                              */
    FE_EMD_ALG_SINKHORN_LOG = 2,  /* log-domain (stabilised) iterations                        */
    FE_EMD_ALG_ASSIGNMENT   = 3,  /* exact, uniform weights and n == m: shortest augmenting
                                     paths (Jonker-Volgenant / Hungarian), O(n^3)              */
    FE_EMD_ALG_TRANSPORT    = 4   /* exact, general weights: successive shortest paths         */
} fe_emd_algorithm;

#define FE_EMD_FLAG_UNDERFLOW        1u  /* plain Sinkhorn under/overflowed: log domain took over */
#define FE_EMD_FLAG_UNIFORM_FALLBACK 2u  /* a weight vector had no mass: uniform used instead  */

typedef struct fe_emd_options {
    uint32_t         size;            /* sizeof(fe_emd_options), set by fe_emd_options_default */
    fe_emd_weighting weighting;       /* FE_EMD_APC                                             */
    fe_emd_solver    solver;          /* FE_EMD_SINKHORN                                        */
    double           epsilon;         /* 0.05: kernel K_ij = exp(-c_ij / epsilon)               */
    uint32_t         max_iter;        /* 100                                                    */
    double           stop_threshold;  /* 0.1: stop when mean_i |r_i - r_prev_i| < this;
                                         0 runs exactly max_iter iterations                     */
    int              log_domain;      /* 0: plain iterations, log domain only on underflow;
                                         1: always the log domain                               */
} fe_emd_options;

void fe_emd_options_default(fe_emd_options *opt);

typedef struct fe_emd_stats {
    double           similarity;      /* S_emd = sum T_ij s_ij                                  */
    double           cost;            /* sum T_ij (1 - s_ij)                                    */
    double           marginal_error;  /* max(max_i |(T 1)_i - a_i|, max_j |(T^T 1)_j - b_j|);
                                         exact solvers: against a and b scaled to sum 1        */
    double           last_change;     /* Sinkhorn: mean |r - r_prev| of the last iteration     */
    uint32_t         iterations;      /* Sinkhorn iterations run; exact: augmenting paths      */
    int              converged;       /* Sinkhorn: the stop rule fired; exact: 1 (optimal)      */
    fe_emd_algorithm algorithm;
    uint32_t         flags;           /* FE_EMD_FLAG_*                                          */
} fe_emd_stats;

/* sim[i*m + j] = <q_i, g_j>, accumulated in double. q is n*d, g is m*d, row-major. */
fe_status fe_emd_similarity(const float *q, size_t n, const float *g, size_t m, size_t d,
                            double *sim);
/* APC's average-pooled vector: the mean of the n rows of p (n*d), L2-normalised, into out (d).
 * FE_E_NUMERIC if the mean is zero or not finite. */
fe_status fe_emd_mean_patch(const float *p, size_t n, size_t d, float *out);
/* Patch masses into a (n) and b (m). UNIFORM needs only n, m; SC needs sim; APC needs q, g, d
 * and the mean vectors (q_mean, g_mean; NULL: fe_emd_mean_patch of q, g). A side with no mass
 * (all zero) becomes uniform and sets FE_EMD_FLAG_UNIFORM_FALLBACK in *out_flags (may be NULL). */
fe_status fe_emd_weights(fe_emd_weighting w, const double *sim, const float *q, size_t n,
                         const float *g, size_t m, size_t d, const float *q_mean,
                         const float *g_mean, double *a, double *b, uint32_t *out_flags);
/* Entropic OT exactly as METHOD.md: K = exp(-c/eps), r = 1, c = 1; repeat r = a/(K c),
 * c = b/(K^T r) until mean|r - r_prev| < stop_threshold or max_iter; T = diag(r) K diag(c).
 * Iterates in double; on under/overflow it restarts in the log domain (FE_EMD_FLAG_UNDERFLOW).
 * a, b >= 0 with positive sums (used as given, not rescaled). plan (n*m) may be NULL; opt may
 * be NULL (defaults). FE_E_ARG, FE_E_LIMIT, FE_E_NOMEM, FE_E_NUMERIC (non-finite input, or
 * even the log domain failed). */
fe_status fe_emd_sinkhorn(const double *sim, size_t n, size_t m, const double *a,
                          const double *b, const fe_emd_options *opt, double *plan,
                          fe_emd_stats *out_stats);
/* Exact EMD in double: a and b are scaled to sum 1; uniform masses with n == m use the
 * assignment solver, anything else successive shortest paths. Marginals hold to ~1e-15.
 * plan (n*m) may be NULL. FE_E_ARG, FE_E_LIMIT, FE_E_NOMEM, FE_E_NUMERIC. */
fe_status fe_emd_exact(const double *sim, size_t n, size_t m, const double *a, const double *b,
                       double *plan, fe_emd_stats *out_stats);
/* One pair from patches: similarity (double), weights (opt->weighting), solver (opt->solver).
 * q_mean / g_mean as fe_emd_weights. plan, a (n) and b (m) may be NULL. */
fe_status fe_emd_pair(const float *q, size_t n, const float *g, size_t m, size_t d,
                      const float *q_mean, const float *g_mean, const fe_emd_options *opt,
                      double *plan, double *a, double *b, fe_emd_stats *out_stats);

/* Re-ranking: one query against n_cand candidates. Reusable scratch memory (grows on demand;
 * one per thread). */
typedef struct fe_emd_workspace fe_emd_workspace;
fe_status fe_emd_workspace_create(fe_emd_workspace **out_ws);
void fe_emd_workspace_destroy(fe_emd_workspace *ws);

typedef struct fe_emd_batch {
    const float        *query;       /* n*d, rows L2-normalised                                 */
    const float        *query_mean;  /* d, average-pooled and L2-normalised (APC only)          */
    size_t              n, m, d;     /* query patches, patches per candidate, dimension         */
    size_t              n_cand;
    const float *const *cand;        /* n_cand pointers to m*d blocks (rows L2-normalised),
                                        anywhere in memory (e.g. straight into a mapped
                                        gallery: no copy is made)                               */
    const float *const *cand_mean;   /* n_cand pointers to d floats (APC only; else NULL)       */
} fe_emd_batch;

/* Fills out_stats[k] (similarity, iterations, marginal error, ...) for every candidate, with
 * opt's weighting and solver (NULL: the paper's defaults: APC, Sinkhorn eps 0.05, <= 100
 * iterations, stop at 0.1). Costs come from a float GEMM of the query (and q_bar) against all
 * candidates' patches (and g_bar), chunk by chunk; masses, kernel, iterations and plan sums
 * then run in double as fe_emd_sinkhorn / fe_emd_exact do, except that the kernel is
 * computed to float accuracy (its inputs have no more). Single-threaded: run one query per
 * thread, each with its own workspace. ws may be NULL (allocates per call). FE_E_ARG,
 * FE_E_LIMIT, FE_E_NOMEM, FE_E_NUMERIC (a non-finite patch or mean value; the message names
 * the candidate; out_stats is then zeroed). */
fe_status fe_emd_rerank(fe_emd_workspace *ws, const fe_emd_batch *batch,
                        const fe_emd_options *opt, fe_emd_stats *out_stats);

/* ---- The search: stage 1 then stage 2 (search.c) -----------------------------------------
 *
 * fe_search answers "who is this face?" against a gallery exactly as METHOD.md describes:
 *   1. stage 1: cosine of the query's unit embedding with every gallery face, top K
 *      (fe_cosine_topk's order: higher score first, equal scores by lower face index);
 *   2. stage 2: those K re-scored by patch-wise EMD on the grid (fe_emd_rerank, with the
 *      query's patches normalised by the same code as the gallery's), final score
 *        score = alpha * S_emd + (1 - alpha) * S_cos      (alpha >= 0)
 *        score = S_emd + S_cos                            (alpha < 0: the paper's plain sum)
 *      sorted by score, equal scores by stage-1 rank (so alpha = 0 is stage 1's order exactly);
 *   3. ranks beyond K keep their stage-1 order, after the K re-ranked faces.
 * Ranks are 1-based (rank 1 = best). Results beyond K carry emd_score = score = NaN. */

#define FE_SEARCH_GRID_DEFAULT  4
#define FE_SEARCH_ALPHA_DEFAULT 0.7

typedef struct fe_search_options {
    uint32_t       size;       /* sizeof(fe_search_options), set by fe_search_options_default */
    size_t         rerank_k;   /* K: stage-1 candidates re-ranked (FE_TOPK_DEFAULT = 100);
                                  0 = stage 1 only                                           */
    uint32_t       grid;       /* 4 (4x4x256 map, default) or 8 (8x8x128)                     */
    double         alpha;      /* 0.7; in [0, 1] a blend; < 0 the plain sum S_emd + S_cos;
                                  NaN/Inf and values > 1 are refused                         */
    fe_emd_options emd;        /* weighting (APC), solver (Sinkhorn), epsilon 0.05, <= 100
                                  iterations, stop 0.1: fe_emd_options_default               */
    uint32_t       exclude;    /* gallery face to leave out (the query's own clean original in
                                  the evaluation protocol), or FE_NO_EXCLUDE (default)       */
    int            n_threads;  /* threads of the stage-1 scan: 0 (default) automatic; 1 when
                                  the caller already runs one query per thread               */
} fe_search_options;

void fe_search_options_default(fe_search_options *opt);

typedef struct fe_search_result {
    uint32_t index;           /* gallery face (fe_gallery_label / fe_gallery_path)            */
    uint32_t identity;        /* its identity id (fe_gallery_identity)                         */
    uint32_t rank;            /* final rank, 1 = best                                          */
    uint32_t stage1_rank;     /* rank by cosine alone, 1 = best                                */
    double   stage1_score;    /* S_cos: cosine of the unit embeddings (a float dot product)    */
    double   emd_score;       /* S_emd on the grid; NaN beyond K                               */
    double   score;           /* the final score above; NaN beyond K                           */
    uint32_t iterations;      /* Sinkhorn iterations, or the exact solver's augmenting paths   */
    double   marginal_error;  /* the solver's marginal error (fe_emd_stats)                   */
    uint32_t emd_flags;       /* FE_EMD_FLAG_* of this candidate                               */
    int      reranked;        /* 1: within the top K and scored by stage 2                     */
} fe_search_result;

/* Per-thread scratch for fe_search: sized by the first queries, then reused, so a thread
 * searching repeatedly with the same options allocates nothing (when the stage-1 scan runs on
 * one thread: n_threads = 1, or automatic on a gallery under ~260,000 faces). Never share one
 * between two threads at once; any number of threads may search one loaded gallery, each
 * with its own. */
typedef struct fe_search_workspace fe_search_workspace;
fe_status fe_search_workspace_create(fe_search_workspace **out_ws);
void fe_search_workspace_destroy(fe_search_workspace *ws);

/* Searches g for query (fe_embed's output; normalised here exactly as fe_gallery_add does).
 * Writes the first min(n_out, faces searched) results, best first, into out and their count
 * into *out_count (may be NULL). n_out may exceed K: the tail is stage 1's order. ws may be
 * NULL (allocates per call); opt may be NULL (defaults). Statuses: FE_E_ARG (NULL gallery or
 * query, n_out > 0 with NULL out, bad options, exclude out of range), FE_E_NUMERIC (NaN/Inf or
 * zero embedding in the query), FE_E_LIMIT, FE_E_NOMEM. On failure *out_count is 0. */
fe_status fe_search(fe_search_workspace *ws, const fe_gallery *g, const fe_features *query,
                    const fe_search_options *opt, fe_search_result *out, size_t n_out,
                    size_t *out_count);

/* What made one query/candidate pair match (the flow picture, issue "show why two faces
 * match"): the transport plan between the query's patches (rows) and the candidate's
 * (columns) on the chosen grid, the patch weights, the patch similarities and the scores.
 * Computed in double by fe_emd_pair from the same normalised patches and pooled vectors that
 * fe_search uses, so emd_score agrees with fe_search's to float accuracy (~1e-6). */
typedef struct fe_flow {
    uint32_t     grid;                                    /* 4 or 8                         */
    uint32_t     cells;                                   /* grid * grid (cell = y*grid + x) */
    double       plan[FE_MAP8_CELLS * FE_MAP8_CELLS];     /* cells x cells, row-major:
                                                             plan[i*cells + j] = mass from
                                                             query cell i to candidate cell j */
    double       sim[FE_MAP8_CELLS * FE_MAP8_CELLS];      /* patch cosines, same layout      */
    double       query_weight[FE_MAP8_CELLS];             /* a_i (sum 1)                    */
    double       cand_weight[FE_MAP8_CELLS];              /* b_j (sum 1)                    */
    double       stage1_score, emd_score, score;          /* as fe_search_result            */
    fe_emd_stats stats;                                   /* the solver's report            */
} fe_flow;

/* The flow between two faces (e.g. two embedded images), with opt's grid, weights, solver and
 * alpha (opt may be NULL: defaults). FE_E_ARG, FE_E_NUMERIC, FE_E_NOMEM. */
fe_status fe_flow_faces(const fe_features *query, const fe_features *cand,
                        const fe_search_options *opt, fe_flow *out);
/* The flow between a query and gallery face `index` (its stored, possibly fp16, patches).
 * FE_E_ARG also when index is out of range. */
fe_status fe_flow_gallery(const fe_gallery *g, size_t index, const fe_features *query,
                          const fe_search_options *opt, fe_flow *out);

/* The flow picture (flow_render.c): one RGB image, left to right,
 *   query chip | candidate chip | candidate rebuilt from the query's patches |
 *   query patch weights | candidate patch weights
 * with a title line (the two labels), a caption over each panel and the scores under them
 * ("S_emd 0.812  S_cos 0.734  score 0.790", three decimals, then the grid, the solver and its
 * iterations) and a heat legend, drawn with the built-in bitmap font. Layout pixels
 * (multiply by scale): a 6-pixel margin and gap, panels of FE_CHIP_SIZE^2 at y = 32, picture
 * 786 x 220.
 *   - Chips and the weight panels carry a grid of the flow's cells (white, alpha 96/255).
 *   - Rebuilt: candidate cell j shows query cell i* = argmax_i plan[i][j] (the lowest i on
 *     ties): pixel (dx, dy) of cell j (offset from the cell's top-left) copies query pixel
 *     (min(dx, w_i* - 1), min(dy, h_i* - 1)) of cell i*, multiplied by f_j = plan[i*][j] /
 *     max_j' plan[i*(j')][j'] and rounded half up (cells follow fe__draw_heatmap's split:
 *     cell k spans floor(k * 150 / grid) .. floor((k + 1) * 150 / grid) - 1). A strong
 *     match is bright, a cell fed by many weak flows dark. No grid is drawn on it.
 *   - Weights: the chip with the heat colour of (w - lo) / (hi - lo) blended over each cell
 *     at alpha FE_FLOW_HEAT_ALPHA, lo and hi the smallest and largest weight of both faces
 *     (one scale for both: lo = dark violet, hi = pale yellow; if all weights are equal, lo
 *     is taken as 0, so every cell is pale yellow). The legend under them shows lo and hi.
 * Labels are drawn as given (bytes outside ASCII 32..126 as boxes), cut with "..." to fit. */
#define FE_FLOW_HEAT_ALPHA 0.6f

typedef struct fe_flow_render_options {
    uint32_t    size;          /* sizeof(fe_flow_render_options), set by *_default            */
    uint32_t    scale;         /* 1..4 output pixels per layout pixel (nearest); default 2    */
    const char *query_label;   /* title of the query (NULL: "query")                          */
    const char *cand_label;    /* title of the candidate (NULL: "candidate")                  */
} fe_flow_render_options;

void fe_flow_render_options_default(fe_flow_render_options *opt);

/* Draws the flow picture of flow (from fe_flow_faces / fe_flow_gallery) between the two
 * FE_CHIP_SIZE x FE_CHIP_SIZE chips (1-4 channels; converted to RGB). opt may be NULL.
 * FE_E_ARG (NULL argument, bad options, a grid other than 4 or 8, cells != grid^2),
 * FE_E_SHAPE (a chip of another size), FE_E_NUMERIC (a negative or non-finite plan entry or
 * weight), FE_E_NOMEM. Free the result with fe_image_free. */
fe_status fe_flow_render(const fe_image *query_chip, const fe_image *cand_chip, const fe_flow *flow,
                         const fe_flow_render_options *opt, fe_image **out_image);

/* ======================================================================================== */
/* Evaluation and reports (issues: reproduce the paper; show why two faces match)           */
/* ======================================================================================== */

/* ---- OOD query generators (perturb.c) ----------------------------------------------------
 * Seeded out-of-distribution versions of an aligned chip, as the paper's masked / sunglasses /
 * crop70 query sets plus extra stress tests. Every kind returns a new FE_CHIP_SIZE^2 RGB chip
 * and leaves the input untouched; the same (chip, landmarks, kind, seed) always gives the same
 * bytes (own PRNG and math, no rand(), no libm transcendental; see perturb.c).
 *
 *   clean       identity copy (converted to RGB)
 *   mask        surgical mask fitted to the landmarks: from the nose bridge (covering the
 *               nose tip) to under the chin, jaw to jaw, with pleats, light shading, a light
 *               rim and ear loops; light blue (70 %), white (18 %) or black (12 %), size and
 *               shade varied by the seed
 *   sunglasses  two dark rounded lenses over the eyes, a bridge and temples to the edge;
 *               black, dark brown or dark green tint, lens size varied by the seed
 *   crop70      the square of side round(0.7 * 150) = 105 at a seeded position (each offset
 *               uniform in 0..45), resized back to 150 x 150 bilinearly (half-pixel centres)
 *   rotate      rotation about the chip centre by 15..30 degrees, seeded sign, bilinear,
 *               edge pixels replicated
 *   occlude     a flat grey rectangle (level 70..190) covering 20..40 % of the chip, aspect
 *               0.5..2, at a seeded position
 *   blur        Gaussian blur, sigma uniform in 1..3 px (kernel radius ceil(3 sigma))
 *   noise       additive Gaussian noise per channel, sigma uniform in 6..18 levels
 *   lowres      box-averaged down by a factor 3, 5 or 6 (50, 30 or 25 px), bilinear back up
 *
 * Landmarks are in chip pixels (image_geom convention: pixel centres at integer coordinates),
 * order as fe_landmarks; NULL means the alignment template (fe_align_template: where
 * fe_align_chip puts the landmarks; by default (46.98,43.07) (102.67,42.76) (75.00,74.74)
 * (52.12,107.34) (98.24,107.09)). Only mask and sunglasses use them. */
typedef enum fe_perturb_kind {
    FE_PERTURB_CLEAN      = 0,
    FE_PERTURB_MASK       = 1,
    FE_PERTURB_SUNGLASSES = 2,
    FE_PERTURB_CROP70     = 3,
    FE_PERTURB_ROTATE     = 4,
    FE_PERTURB_OCCLUDE    = 5,
    FE_PERTURB_BLUR       = 6,
    FE_PERTURB_NOISE      = 7,
    FE_PERTURB_LOWRES     = 8
} fe_perturb_kind;
#define FE_PERTURB_KIND_COUNT 9   /* kinds are 0 .. FE_PERTURB_KIND_COUNT-1 */

/* Makes the perturbed chip. chip: FE_CHIP_SIZE x FE_CHIP_SIZE, 1-4 channels (gray is
 * replicated, alpha dropped). Returns FE_E_ARG (NULL argument, unknown kind), FE_E_SHAPE
 * (chip not 150 x 150), FE_E_NUMERIC (non-finite landmarks), FE_E_RANGE (a landmark more than
 * one chip size outside the chip), FE_E_CORRUPT (degenerate landmarks: eyes closer than 4 px,
 * or the mouth less than half the eye distance below the eye line), FE_E_NOMEM.
 * *out is NULL on failure; free the result with fe_image_free. */
fe_status fe_perturb(const fe_image *chip, const fe_landmarks *lm_in_chip, fe_perturb_kind kind,
                     uint64_t seed, fe_image **out);
/* Static lower-case name ("mask", "crop70", ...), or NULL for an unknown value. */
const char *fe_perturb_kind_name(fe_perturb_kind kind);
/* The kind with that exact name; FE_E_ARG (message lists the names) if there is none. */
fe_status fe_perturb_kind_from_name(const char *name, fe_perturb_kind *out_kind);

/* ---- LFW protocol lists (pairs.c) -------------------------------------------------------
 * Pairs files, as LFW's pairsDevTrain.txt / pairsDevTest.txt / pairs.txt. The first line is
 * either "N" (N matched rows, then N mismatched rows) or "S<TAB>N" (View 2: S sets one after
 * the other, each N matched then N mismatched rows). A matched row is "Name<TAB>i<TAB>j", a
 * mismatched row "Name1<TAB>i<TAB>Name2<TAB>j"; image i of Name is Name/Name_%04d.jpg
 * (fe_lfw_image_path).
 * Folds (for fe_verify_kfold): with "S<TAB>N" and S >= 2, fold s is set s (the standard View 2
 * split). With "N" (or S = 1) the F = min(10, N) folds are contiguous runs in file order:
 * matched pair m (0-based) is in fold floor(m*F/N), mismatched pair x in fold floor(x*F/N);
 * so each fold holds N/F pairs of each kind (pairsDevTrain: 110 + 110), and because LFW sorts
 * each block by name, most people's pairs stay within one fold.
 * People files, as peopleDevTrain.txt: the first line is the count C, then C rows
 * "Name<TAB>n" (n = the person's images, Name_0001 .. Name_%04d(n)).
 * Strict, like the landmark lists: LF line ends (CRLF accepted, a lone CR is a control byte;
 * the last line may lack its LF only if complete), no blank lines, lines of at most
 * FE_MAX_LINE bytes. Names: 1..FE_LFW_MAX_NAME bytes of [A-Za-z0-9_.'-] starting with a letter
 * or digit (so a name is always one safe path component). Numbers: decimal digits only, no
 * sign, no leading zero, 1..FE_LFW_MAX_INDEX (image numbers and n) or 1..FE_MAX_GALLERY
 * (counts). Failures name the line: FE_E_TRUNCATED (empty file; the last line cut short),
 * FE_E_MAGIC (line 1 is not a count header), FE_E_SHAPE (a row with the wrong number of
 * columns), FE_E_SYNTAX (a number or name that does not parse, blank line, control byte),
 * FE_E_RANGE (0, or over the caps), FE_E_COUNT (rows disagree with the header: a matched row
 * where a mismatched one is due or the reverse, too few or too many rows), FE_E_CORRUPT (a
 * matched pair of one image with itself; a mismatched pair naming one person),
 * FE_E_DUPLICATE (a pair, in either order, or a person listed twice), FE_E_LIMIT (long line,
 * more rows than FE_MAX_GALLERY). */
#define FE_LFW_MAX_NAME  255u      /* bytes of one person's name                              */
#define FE_LFW_MAX_INDEX 999999u   /* image number, and images per person                    */

typedef struct fe_pair_list fe_pair_list;
typedef struct fe_people_list fe_people_list;

typedef struct fe_pair {
    const char *name1, *name2;   /* owned by the list; equal strings for a matched pair      */
    uint32_t    image1, image2;  /* 1-based image numbers                                    */
    int         same;            /* 1: matched pair (one person), 0: mismatched              */
    uint32_t    fold;            /* 0 .. fe_pair_list_folds() - 1                            */
    uint32_t    line;            /* 1-based line of the row in the file                      */
} fe_pair;

fe_status fe_pair_list_load(const char *path, fe_pair_list **out_list);
fe_status fe_pair_list_load_memory(const void *data, size_t size, fe_pair_list **out_list);
/* All pairs (matched and mismatched), in file order. */
size_t fe_pair_list_count(const fe_pair_list *list);
uint32_t fe_pair_list_folds(const fe_pair_list *list);
/* Pair i (0-based, file order). FE_E_RANGE if i is out of range. */
fe_status fe_pair_list_get(const fe_pair_list *list, size_t i, fe_pair *out_pair);
void fe_pair_list_free(fe_pair_list *list);

fe_status fe_people_list_load(const char *path, fe_people_list **out_list);
fe_status fe_people_list_load_memory(const void *data, size_t size, fe_people_list **out_list);
size_t fe_people_list_count(const fe_people_list *list);
/* Person i (file order): name (owned by the list) and number of images. FE_E_RANGE if i is out
 * of range; out_name / out_images may be NULL. */
fe_status fe_people_list_get(const fe_people_list *list, size_t i, const char **out_name,
                             uint32_t *out_images);
void fe_people_list_free(fe_people_list *list);

/* Writes "Name/Name_%04u.jpg" (LFW's layout) into buf of cap bytes. FE_E_ARG for a name that
 * breaks the rules above or an image number outside 1..FE_LFW_MAX_INDEX; FE_E_LIMIT when buf
 * is too small. */
fe_status fe_lfw_image_path(const char *name, uint32_t image, char *buf, size_t cap);

/* ---- verification accuracy (verify.c) ---------------------------------------------------
 * k-fold face verification as LFW's protocol: for each fold, the threshold that maximises
 * accuracy on the other folds is applied to the held-out fold; the result is the mean of the
 * held-out accuracies with their sample standard deviation (n - 1) and standard error
 * (std / sqrt(folds)), as LFW asks results to be reported.
 * Threshold rule: scores are sorted; candidate cuts lie between distinct adjacent scores, or
 * below all or above all (tied scores are never split). A cut between a < b gives the threshold
 * (a + b) / 2; below all gives min - (1 + |min|), above all max + (1 + |max|). When several
 * cuts reach the best training accuracy, the middle one of them is taken (the lower middle of
 * an even number), so the choice does not lean towards either end.
 * Direction: higher_is_same = 1 for similarities (cosine: "same" iff score >= threshold), 0
 * for distances (Euclidean: "same" iff score <= threshold). */
#define FE_VERIFY_MAX_FOLDS 64u

typedef struct fe_verify_fold {
    double threshold;        /* chosen on the other folds                                    */
    double train_accuracy;   /* its accuracy on the other folds                              */
    double test_accuracy;    /* its accuracy on this fold                                    */
    size_t n_test, n_test_correct;
} fe_verify_fold;

typedef struct fe_verify_result {
    uint32_t       n_folds;
    size_t         n_pairs, n_same;
    double         mean, std, std_error;    /* of the held-out accuracies                    */
    double         threshold_all;           /* the rule applied to all pairs at once ...     */
    double         accuracy_all;            /* ... and its (optimistic) accuracy on them     */
    fe_verify_fold fold[FE_VERIFY_MAX_FOLDS];
} fe_verify_result;

/* score[i], same[i] (1 matched, 0 mismatched) and fold[i] (< n_folds) for n pairs. Every fold
 * must hold at least one pair; 2 <= n_folds <= FE_VERIFY_MAX_FOLDS. FE_E_ARG (NULL, bad
 * n_folds, a same value not 0/1, a fold index out of range), FE_E_COUNT (an empty fold),
 * FE_E_NUMERIC (a NaN or infinite score), FE_E_NOMEM. */
fe_status fe_verify_kfold(const double *score, const uint8_t *same, const uint32_t *fold,
                          size_t n, uint32_t n_folds, int higher_is_same,
                          fe_verify_result *out_result);
/* Accuracy of a fixed threshold over n pairs (e.g. face-api's Euclidean 0.6). FE_E_ARG,
 * FE_E_NUMERIC as above. */
fe_status fe_verify_accuracy_at(const double *score, const uint8_t *same, size_t n,
                                double threshold, int higher_is_same, double *out_accuracy);


/* ---- identification evaluation (eval.c) -------------------------------------------------
 * The paper's protocol (../shared/design/METHOD.md): every gallery face whose identity has
 * another face in the gallery becomes one query per kind: its clean image is loaded, aligned
 * as the gallery was (fe_align_chip with its landmark row), perturbed by fe_perturb with seed
 * `seed + face index`, embedded, and searched against the gallery with the face itself left
 * out. Faces alone in their identity (R = 0) have nothing to find: they are not queried, only
 * counted (n_excluded), and stay in the gallery as distractors (setting ALL) or are removed
 * from it (setting MULTI: identities with >= 2 faces only).
 * Stage 1 runs once per query; its top max(K) is then re-scored once per EMD configuration
 * (grid x weighting x solver x epsilon) and re-ranked for every K and alpha of the sweep, so
 * alpha and K cost no EMD work. Ranks past K keep stage 1's order (as fe_search).
 * Metrics per query (R = faces of the query's identity, its own image not counted): P@1,
 * R-Precision, MAP@R; means in %. Deltas are stage 2 minus stage 1 over the same queries, with
 * a percentile bootstrap 95 % interval (resampling queries). "fixed": stage 1's top-1 was
 * wrong and the variant's right; "broke": the reverse.
 * Row names: "stage1", and "emd-<g>x<g>-<weighting>-<solver>-a<alpha>" (alpha < 0: "-sum"),
 * with "-k<K>" when K != 100 and "-eps<e>" when epsilon != 0.05. The paper's default
 * (4x4, apc, sinkhorn, eps 0.05, K 100, alpha 0.7) is always computed and is the first
 * stage-2 row of each kind. */
#define FE_EVAL_MAX_LIST 16u

typedef enum fe_eval_setting {
    FE_EVAL_ALL   = 0,   /* every gallery face stays in the gallery                         */
    FE_EVAL_MULTI = 1    /* only faces of identities with >= 2 faces                        */
} fe_eval_setting;

/* Runs fn(ctx, tid, i) for i in [0, n) on up to n_threads threads (tid < n_threads) and
 * returns when all are done (e.g. the CLI's thread pool). */
typedef void (*fe_task_fn)(void *ctx, int tid, size_t i);
typedef void (*fe_parallel_for_fn)(int n_threads, size_t n, fe_task_fn fn, void *ctx);
/* Progress: called from the calling thread after each kind of each block of queries; done
 * and total count query x kind units; kind is the kind just finished. */
typedef void (*fe_eval_progress_fn)(void *ctx, const char *kind, size_t done, size_t total);

typedef struct fe_eval_options {
    uint32_t               size;            /* sizeof(fe_eval_options), set by *_default    */
    const char            *image_root;      /* gallery paths are relative to this (NULL: as
                                               stored)                                      */
    const fe_landmark_list *landmarks;      /* rows by path suffix; NULL or no row: centre
                                               crop (counted in n_fallback)                  */
    fe_perturb_kind        kinds[FE_PERTURB_KIND_COUNT];   /* mask, sunglasses, crop70, clean */
    size_t                 n_kinds;
    uint32_t               grids[2];          size_t n_grids;       /* {4}                  */
    fe_emd_weighting       weightings[3];     size_t n_weightings;  /* {APC}                */
    fe_emd_solver          solvers[2];        size_t n_solvers;     /* {SINKHORN}           */
    double                 alphas[FE_EVAL_MAX_LIST];   size_t n_alphas;    /* {0.7}; < 0: sum */
    size_t                 ks[FE_EVAL_MAX_LIST];       size_t n_ks;        /* {100}          */
    double                 epsilons[FE_EVAL_MAX_LIST]; size_t n_epsilons;  /* {0.05}         */
    fe_emd_options         emd;               /* the rest of the solver options (defaults)  */
    fe_eval_setting        setting;           /* FE_EVAL_ALL                                */
    size_t                 limit;             /* 0: every query; else a seeded subset of that
                                                 many (the same faces for every kind)        */
    uint64_t               seed;              /* 1                                          */
    int                    n_boot;            /* bootstrap resamples, >= 10 (1000)          */
    size_t                 n_examples;        /* fixed/broke examples kept per kind (8)     */
    int                    n_threads;         /* 1                                          */
    fe_parallel_for_fn     parallel_for;      /* NULL: everything on the calling thread     */
    fe_eval_progress_fn    progress;          /* NULL: none                                 */
    void                  *progress_ctx;
} fe_eval_options;

void fe_eval_options_default(fe_eval_options *opt);

/* One table row: a kind under stage 1 or one stage-2 variant. */
typedef struct fe_eval_row {
    char             method[128];    /* "stage1", "emd-4x4-apc-sinkhorn-a0.7", ...          */
    size_t           kind_index;     /* into fe_eval_result.kinds                           */
    int              is_stage1, is_default;
    uint32_t         grid;           /* stage 2 only from here to alpha                     */
    fe_emd_weighting weighting;
    fe_emd_solver    solver;
    double           epsilon;
    size_t           k;
    double           alpha;          /* < 0: plain sum                                      */
    double           p1, rp, map_r;  /* means over the queries, in %                        */
    double           d_p1, d_rp, d_map_r;              /* minus stage 1, percentage points  */
    double           ci_p1[2], ci_rp[2], ci_map_r[2];  /* bootstrap 95 % of the deltas      */
    size_t           n_queries;      /* queries scored (R >= 1, embedded)                  */
    size_t           n_excluded;     /* faces with R = 0 (not queried)                     */
    size_t           fixed, broke;   /* top-1 changes against stage 1                      */
    double           stage2_seconds; /* thread-seconds of this row's EMD configuration (shared
                                        by its K and alpha rows); 0 for stage 1            */
} fe_eval_row;

/* A query whose top-1 the default variant changed. Strings are owned by the result. */
typedef struct fe_eval_example {
    uint32_t    query_index;         /* gallery face the query was made from (left out)     */
    uint64_t    seed;                /* fe_perturb seed of the query                        */
    const char *query_path, *identity;
    uint32_t    stage1_index, stage2_index;            /* top-1 gallery faces               */
    const char *stage1_path, *stage1_identity, *stage2_path, *stage2_identity;
    double      stage1_score;        /* cosine of stage 1's top-1                           */
    double      stage2_score;        /* final score of stage 2's top-1                      */
} fe_eval_example;

typedef struct fe_eval_kind {
    fe_perturb_kind  kind;
    const char      *name;           /* static                                              */
    size_t           n_queries, n_excluded, n_failed, n_fallback;
    size_t           row_first, n_rows;                /* rows[row_first .. +n_rows)         */
    double           seconds_embed;  /* wall: perturb + embed + normalise                    */
    double           seconds_stage1; /* wall: cosine top-K                                   */
    double           seconds_stage2; /* wall: every EMD configuration, ranking, metrics     */
    fe_eval_example *fixed, *broke;  /* up to n_examples each (default variant)             */
    size_t           n_fixed, n_broke;
} fe_eval_kind;

typedef struct fe_eval_result {
    size_t          n_kinds;
    fe_eval_kind   *kinds;
    size_t          n_rows;
    fe_eval_row    *rows;            /* per kind: stage1, the default, then the sweep       */
    size_t          gallery_faces;   /* faces searched (MULTI: without singletons)          */
    size_t          gallery_identities;
    fe_eval_setting setting;
    uint64_t        seed;
    int             n_boot, threads;
    double          seconds_load;    /* wall: decoding and aligning the query images (once
                                        for all kinds)                                      */
    double          seconds_total;
    char            first_error[512];/* first image that failed to load or embed ("" none)  */
} fe_eval_result;

/* Runs the evaluation of model's queries against g (built from the same images with the same
 * model and alignment). FE_E_ARG (NULL, bad options, empty lists, bad grid/alpha/K), FE_E_NOMEM,
 * and the statuses of fe_emd_rerank and fe_search. Images that cannot be loaded or embedded are
 * counted (n_failed) and left out, with the first message in first_error. */
fe_status fe_eval_run(const fe_model *model, const fe_gallery *g, const fe_eval_options *opt,
                      fe_eval_result **out_result);
void fe_eval_result_free(fe_eval_result *r);

#ifdef __cplusplus
}
#endif

#endif /* FACEEMD_H */
