/*
 * test_core.c — status table, checked arithmetic, checksums, whole-file reads, atomic writes
 * and the allocation fault hook: the small pieces every reader and writer builds on.
 */
#include "test.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

FE_TEST(status_names_unique) {
    /* every code has its own name and text; unknown codes say so */
    const char *seen[32] = {0};
    for (int c = 0; c >= FE_E_SYNTAX; c--) {
        const char *n = fe_status_name((fe_status)c);
        CHECK_MSG(strcmp(n, "FE_E_?") != 0, "status %d has no name", c);
        for (int k = 0; k < -c; k++) CHECK_MSG(strcmp(seen[k], n) != 0, "%s named twice", n);
        seen[-c] = n;
    }
    CHECK(strcmp(fe_status_name((fe_status)-999), "FE_E_?") == 0);
    CHECK(strcmp(fe_status_name(FE_E_CHECKSUM), "FE_E_CHECKSUM") == 0);
}

FE_TEST(last_error_records_function) {
    fe__clear_error();
    CHECK(fe_last_error()[0] == 0);
    CHECK_STATUS(fe__fail(FE_E_RANGE, "offset %d", 42), FE_E_RANGE);
    CHECK_MSG(strstr(fe_last_error(), "offset 42") != NULL, "got '%s'", fe_last_error());
    CHECK_MSG(strstr(fe_last_error(), __func__) != NULL, "got '%s'", fe_last_error());
}

FE_TEST(checked_arithmetic) {
    size_t s;
    uint64_t u;
    CHECK(fe__add_size(1, 2, &s) && s == 3);
    CHECK(!fe__add_size(SIZE_MAX, 1, &s));
    CHECK(fe__mul_size(0, SIZE_MAX, &s) && s == 0);
    CHECK(!fe__mul_size(SIZE_MAX / 2 + 1, 2, &s));
    CHECK(!fe__mul3_size(1u << 20, 1u << 20, (size_t)1 << 30, &s) || sizeof(size_t) > 8);
    CHECK(!fe__add_u64(UINT64_MAX, 1, &u));
    CHECK(!fe__mul_u64(UINT64_C(1) << 32, UINT64_C(1) << 32, &u));
    CHECK(fe__mul_u64(UINT64_C(1) << 31, UINT64_C(1) << 32, &u) && u == UINT64_C(1) << 63);
}

FE_TEST(checksums_known_values) {
    /* standard check values (CRC catalogue; zlib) */
    CHECK(fe__crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(fe__crc32(0, "", 0) == 0);
    CHECK(fe__adler32(1, "Wikipedia", 9) == 0x11E60398u);
    /* incremental == one shot, across the 8-byte fast path and the tail */
    unsigned char buf[1000];
    for (int i = 0; i < 1000; i++) buf[i] = (unsigned char)(i * 131 + 7);
    uint32_t one = fe__crc32(0, buf, sizeof buf);
    uint32_t inc = fe__crc32(fe__crc32(fe__crc32(0, buf, 3), buf + 3, 500), buf + 503, 497);
    CHECK(one == inc);
    /* bitwise reference */
    uint32_t c = 0xFFFFFFFFu;
    for (int i = 0; i < 1000; i++) {
        c ^= buf[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    CHECK(one == ~c);
    /* Adler over more than the 5552-byte overflow bound, against the definition */
    static unsigned char big[20000];
    memset(big, 0xff, sizeof big);
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < sizeof big; i++) { a = (a + big[i]) % 65521; b = (b + a) % 65521; }
    CHECK(fe__adler32(1, big, sizeof big) == ((b << 16) | a));
}

FE_TEST(read_file_cap_and_errors) {
    char path[600];
    snprintf(path, sizeof path, "%s/ten.bin", fe_t_tmpdir());
    CHECK(fe_t_write_file(path, "0123456789", 10) == 0);
    uint8_t *d;
    size_t n;
    CHECK_OK(fe__read_file(path, 10, &d, &n));
    CHECK(n == 10 && memcmp(d, "0123456789", 10) == 0 && d[10] == 0);
    fe__free(d);
    CHECK_STATUS(fe__read_file(path, 9, &d, &n), FE_E_LIMIT);
    CHECK(d == NULL && n == 0);
    CHECK_STATUS(fe__read_file("/nonexistent/x", 10, &d, &n), FE_E_IO);
    CHECK_STATUS(fe__read_file(fe_t_tmpdir(), 10, &d, &n), FE_E_IO);
}

FE_TEST(atomic_write_keeps_old_file_on_failure) {
    char path[600];
    snprintf(path, sizeof path, "%s/out.bin", fe_t_tmpdir());
    CHECK_OK(fe__write_file_atomic(path, "old", 3));
    /* an aborted write leaves the old content and no temporary file behind */
    fe__atomic_file af;
    CHECK_OK(fe__atomic_begin(&af, path));
    CHECK_OK(fe__atomic_write(&af, "new content", 11));
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s", af.tmp_path);
    fe__atomic_abort(&af);
    size_t n;
    char *got = fe_t_read_file(path, &n);
    CHECK(got && n == 3 && memcmp(got, "old", 3) == 0);
    free(got);
    CHECK(fe_t_read_file(tmp, &n) == NULL);
    /* a committed write replaces it */
    CHECK_OK(fe__write_file_atomic(path, "new", 3));
    got = fe_t_read_file(path, &n);
    CHECK(got && n == 3 && memcmp(got, "new", 3) == 0);
    free(got);
    /* unwritable directory: FE_E_IO, nothing created */
    CHECK_STATUS(fe__write_file_atomic("/nonexistent-dir/x.bin", "x", 1), FE_E_IO);
}

FE_TEST(alloc_fault_hook) {
    fe__alloc_fail_after(1);
    void *a = fe__malloc(10);
    void *b = fe__malloc(10);
    fe__alloc_fail_after(-1);
    void *c = fe__aligned_alloc(100);
    CHECK(a != NULL && b == NULL && c != NULL);
    CHECK(((uintptr_t)c % FE_ALIGN) == 0);
    fe__free(a);
    fe__aligned_free(c);
    CHECK(fe__aligned_alloc(SIZE_MAX - 8) == NULL);
}
