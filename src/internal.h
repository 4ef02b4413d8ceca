/*
 * internal.h — declarations shared by faceemd's sources, never installed.
 *
 * Checked size arithmetic (every size read from a file goes through it before use),
 * failure recording (fe__fail), internal invariants (FE_ASSERT), aligned allocation with a
 * fault-injection hook for tests, and small portable helpers. Internal symbols are fe__*.
 */
#ifndef FE_INTERNAL_H
#define FE_INTERNAL_H

#include "faceemd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- failure recording ---------------------------------------------------------------- */

/* Records "func: message" as this thread's last error and returns status (for `return`). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
fe_status fe__fail_at(fe_status status, const char *func, const char *fmt, ...);
#define fe__fail(status, ...) fe__fail_at((status), __func__, __VA_ARGS__)
/* Clears this thread's last error. */
void fe__clear_error(void);

/* Internal invariants only: hostile input must give a status, never trip an assert. */
void fe__assert_fail(const char *expr, const char *file, int line);
#define FE_ASSERT(e) ((e) ? (void)0 : fe__assert_fail(#e, __FILE__, __LINE__))

/* ---- checked arithmetic: return false on overflow, *out untouched then ------------------ */

static inline bool fe__add_size(size_t a, size_t b, size_t *out) {
    if (a > SIZE_MAX - b) return false;
    *out = a + b;
    return true;
}
static inline bool fe__mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool fe__add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a > UINT64_MAX - b) return false;
    *out = a + b;
    return true;
}
static inline bool fe__mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return false;
    *out = a * b;
    return true;
}
/* a*b*c without overflow */
static inline bool fe__mul3_size(size_t a, size_t b, size_t c, size_t *out) {
    size_t ab;
    return fe__mul_size(a, b, &ab) && fe__mul_size(ab, c, out);
}

/* ---- little-endian access (file formats are LE whatever the host) ----------------------- */

static inline uint16_t fe__rd_u16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t fe__rd_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t fe__rd_u64le(const uint8_t *p) {
    return (uint64_t)fe__rd_u32le(p) | ((uint64_t)fe__rd_u32le(p + 4) << 32);
}
static inline void fe__wr_u16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void fe__wr_u32le(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void fe__wr_u64le(uint8_t *p, uint64_t v) {
    fe__wr_u32le(p, (uint32_t)v);
    fe__wr_u32le(p + 4, (uint32_t)(v >> 32));
}
float fe__rd_f32le(const uint8_t *p);
void fe__wr_f32le(uint8_t *p, float v);
static inline uint32_t fe__rd_u32be(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void fe__wr_u32be(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* ---- memory (alloc.c) ------------------------------------------------------------------ */

#define FE_ALIGN 64  /* cache line and AVX-512 register width */

/* malloc/calloc/free wrappers: every library allocation goes through them so tests can fail
 * the Nth allocation (fe__alloc_fail_after) and check that each path returns FE_E_NOMEM. */
void *fe__malloc(size_t n);
void *fe__calloc(size_t count, size_t size);
void *fe__realloc(void *p, size_t n);
void fe__free(void *p);
/* 64-byte aligned; free with fe__aligned_free. Returns NULL on overflow or failure. */
void *fe__aligned_alloc(size_t n);
void *fe__aligned_calloc(size_t n);
void fe__aligned_free(void *p);
/* Test hook: fail every allocation after n more succeed (n < 0: never fail). Per thread. */
void fe__alloc_fail_after(long n);
char *fe__strdup(const char *s);

/* ---- checksums (checksum.c) ------------------------------------------------------------ */

/* CRC-32 (ISO-HDLC / zlib / PNG polynomial 0xEDB88320). Start with crc = 0. */
uint32_t fe__crc32(uint32_t crc, const void *data, size_t n);
/* Adler-32 as zlib. Start with adler = 1. */
uint32_t fe__adler32(uint32_t adler, const void *data, size_t n);

/* ---- files (fileio.c) ------------------------------------------------------------------ */

/* Reads a whole regular file, refusing files over max_bytes (FE_E_LIMIT) before allocating.
 * *out_data is fe__malloc'ed (free with fe__free), NUL-terminated one byte past *out_size. */
fe_status fe__read_file(const char *path, size_t max_bytes, uint8_t **out_data, size_t *out_size);

/* Atomic file replacement: write to "<path>.tmp.<pid>", then fflush + fsync + fclose + rename
 * (+ fsync of the directory where supported). On any failure the old file is untouched and the
 * temporary file is removed. Usage: begin, write..., commit (or abort). */
typedef struct fe__atomic_file {
    FILE *fp;
    char *final_path;
    char *tmp_path;
    int   failed;       /* sticky: a write failed */
} fe__atomic_file;
fe_status fe__atomic_begin(fe__atomic_file *af, const char *path);
fe_status fe__atomic_write(fe__atomic_file *af, const void *data, size_t n);
fe_status fe__atomic_commit(fe__atomic_file *af);
void fe__atomic_abort(fe__atomic_file *af);
/* Convenience: writes a whole buffer atomically. */
fe_status fe__write_file_atomic(const char *path, const void *data, size_t n);

/* ---- threads ----------------------------------------------------------------------------- */

/* Number of threads the library may use: FE_THREADS env var, else OpenMP's maximum, else 1. */
int fe__max_threads(void);

#endif /* FE_INTERNAL_H */
