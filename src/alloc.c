/*
 * alloc.c — the library's allocation wrappers, with a per-thread fault-injection hook.
 *
 * Tests call fe__alloc_fail_after(n) to make the (n+1)-th allocation fail, then check that
 * the operation returns FE_E_NOMEM and leaks nothing (sqlite's test_malloc idea).
 * Aligned blocks store the original pointer just before the aligned address, so they work on
 * any C11 libc without aligned_alloc's size-multiple rule.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local long fail_countdown = -1;

void fe__alloc_fail_after(long n) { fail_countdown = n; }

/* true when this allocation must fail (test hook) */
static bool inject_failure(void) {
    if (fail_countdown < 0) return false;
    if (fail_countdown == 0) return true;
    fail_countdown--;
    return false;
}

void *fe__malloc(size_t n) {
    if (inject_failure()) return NULL;
    return malloc(n ? n : 1);
}

void *fe__calloc(size_t count, size_t size) {
    if (inject_failure()) return NULL;
    if (count == 0 || size == 0) count = size = 1;
    return calloc(count, size);
}

void *fe__realloc(void *p, size_t n) {
    if (inject_failure()) return NULL;
    return realloc(p, n ? n : 1);
}

void fe__free(void *p) { free(p); }

void *fe__aligned_alloc(size_t n) {
    size_t total;
    if (!fe__add_size(n, FE_ALIGN + sizeof(void *), &total)) return NULL;
    uint8_t *raw = fe__malloc(total);
    if (!raw) return NULL;
    uintptr_t a = ((uintptr_t)(raw + sizeof(void *)) + FE_ALIGN - 1) & ~(uintptr_t)(FE_ALIGN - 1);
    ((void **)a)[-1] = raw;
    return (void *)a;
}

void *fe__aligned_calloc(size_t n) {
    void *p = fe__aligned_alloc(n);
    if (p) memset(p, 0, n);
    return p;
}

void fe__aligned_free(void *p) {
    if (p) free(((void **)p)[-1]);
}

char *fe__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = fe__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
