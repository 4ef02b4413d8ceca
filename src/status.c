/*
 * status.c — status names and texts, the thread-local last-error detail, version strings.
 *
 * fe__fail_at formats "func: detail" into a per-thread buffer (C11 _Thread_local) so the
 * library never prints: callers decide what to show.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_error[512];

static const struct {
    fe_status   code;
    const char *name;
    const char *text;
} status_table[] = {
    {FE_OK,            "FE_OK",            "success"},
    {FE_E_ARG,         "FE_E_ARG",         "invalid argument"},
    {FE_E_NOMEM,       "FE_E_NOMEM",       "out of memory"},
    {FE_E_IO,          "FE_E_IO",          "input/output error"},
    {FE_E_MAGIC,       "FE_E_MAGIC",       "not a file of the expected format (bad magic)"},
    {FE_E_VERSION,     "FE_E_VERSION",     "unsupported format version"},
    {FE_E_ENDIAN,      "FE_E_ENDIAN",      "byte-order tag mismatch"},
    {FE_E_TRUNCATED,   "FE_E_TRUNCATED",   "data is truncated"},
    {FE_E_CORRUPT,     "FE_E_CORRUPT",     "data is corrupt"},
    {FE_E_RANGE,       "FE_E_RANGE",       "offset or index out of range"},
    {FE_E_ALIGN,       "FE_E_ALIGN",       "misaligned offset"},
    {FE_E_OVERLAP,     "FE_E_OVERLAP",     "overlapping regions"},
    {FE_E_OVERFLOW,    "FE_E_OVERFLOW",    "size arithmetic overflow"},
    {FE_E_CHECKSUM,    "FE_E_CHECKSUM",    "checksum mismatch"},
    {FE_E_SHAPE,       "FE_E_SHAPE",       "shape mismatch"},
    {FE_E_LIMIT,       "FE_E_LIMIT",       "exceeds a size limit"},
    {FE_E_UNSUPPORTED, "FE_E_UNSUPPORTED", "unsupported feature"},
    {FE_E_NUMERIC,     "FE_E_NUMERIC",     "numerical failure"},
    {FE_E_COUNT,       "FE_E_COUNT",       "count field disagrees with the data"},
    {FE_E_DUPLICATE,   "FE_E_DUPLICATE",   "duplicate name"},
    {FE_E_NOT_FOUND,   "FE_E_NOT_FOUND",   "not found"},
    {FE_E_SYNTAX,      "FE_E_SYNTAX",      "syntax error"},
};

const char *fe_status_name(fe_status s) {
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].code == s) return status_table[i].name;
    return "FE_E_?";
}

const char *fe_status_str(fe_status s) {
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
        if (status_table[i].code == s) return status_table[i].text;
    return "unknown status";
}

const char *fe_last_error(void) { return last_error; }

void fe__clear_error(void) { last_error[0] = '\0'; }

fe_status fe__fail_at(fe_status status, const char *func, const char *fmt, ...) {
    int n = snprintf(last_error, sizeof last_error, "%s: ", func);
    if (n < 0 || (size_t)n >= sizeof last_error) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error + n, sizeof last_error - (size_t)n, fmt, ap);
    va_end(ap);
    return status;
}

void fe__assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "faceemd: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}

const char *fe_version_string(void) {
#define FE_STR2(x) #x
#define FE_STR(x) FE_STR2(x)
    return FE_STR(FE_VERSION_MAJOR) "." FE_STR(FE_VERSION_MINOR) "." FE_STR(FE_VERSION_PATCH);
}

float fe__rd_f32le(const uint8_t *p) {
    uint32_t u = fe__rd_u32le(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void fe__wr_f32le(uint8_t *p, float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    fe__wr_u32le(p, u);
}
