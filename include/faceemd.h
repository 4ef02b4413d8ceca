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
/* Embeds n chips; out has n elements. Same results as n calls of fe_embed. */
fe_status fe_embed_batch(fe_session *s, const uint8_t *const *rgb_chips, size_t n,
                         fe_features *out);

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

typedef struct fe_gallery fe_gallery;

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

/* ======================================================================================== */
/* Evaluation and reports (issues: reproduce the paper; show why two faces match)           */
/* ======================================================================================== */

#ifdef __cplusplus
}
#endif

#endif /* FACEEMD_H */
