/*
 * test.h — faceemd's tiny test harness (no third-party framework).
 *
 * A test is `FE_TEST(name) { ... }` at the start of a line in tests/test_<area>.c; the
 * Makefile collects those lines into the runner's table. Each test runs in its own process,
 * so a crash or hang is reported as a FAIL and the run still ends with "N passed, N failed".
 * Checks return from the test at the first failure. NOTE() adds the figures a reader wants to
 * see (worst error, counts) to the "ok" line. Tests that need ../shared call fe_t_shared(),
 * which SKIPs with a clear reason when it is absent.
 */
#ifndef FE_TEST_H
#define FE_TEST_H

#include "faceemd.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct fe_test fe_test;

#define FE_TEST(name) void test_##name(fe_test *t); void test_##name(fe_test *t)

#if defined(__GNUC__)
#define FE_T_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FE_T_PRINTF(a, b)
#endif

void fe_t_fail(fe_test *t, const char *file, int line, const char *fmt, ...) FE_T_PRINTF(4, 5);
void fe_t_skip(fe_test *t, const char *fmt, ...) FE_T_PRINTF(2, 3);
void fe_t_note(fe_test *t, const char *fmt, ...) FE_T_PRINTF(2, 3);
int fe_t_failed(const fe_test *t);

#define FAIL(...) do { fe_t_fail(t, __FILE__, __LINE__, __VA_ARGS__); return; } while (0)
#define SKIP(...) do { fe_t_skip(t, __VA_ARGS__); return; } while (0)
#define NOTE(...) fe_t_note(t, __VA_ARGS__)
#define CHECK(cond) do { if (!(cond)) FAIL("check failed: %s", #cond); } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)
/* expr must return exactly the expected fe_status */
#define CHECK_STATUS(expr, expected) do {                                                   \
        fe_status st_ = (expr), ex_ = (expected);                                          \
        if (st_ != ex_) FAIL("%s returned %s, expected %s (%s)", #expr, fe_status_name(st_), \
                             fe_status_name(ex_), fe_last_error());                         \
    } while (0)
#define CHECK_OK(expr) CHECK_STATUS(expr, FE_OK)
/* |a-b| <= tol, with both values printed */
#define CHECK_NEAR(a, b, tol) do {                                                          \
        double a_ = (double)(a), b_ = (double)(b), tol_ = (double)(tol);                   \
        if (!(fabs(a_ - b_) <= tol_))                                                       \
            FAIL("%s = %.9g, %s = %.9g, |diff| = %.3g > %.3g", #a, a_, #b, b_,              \
                 fabs(a_ - b_), tol_);                                                      \
    } while (0)

/* Path of ../shared/<rel> (or $FE_SHARED/<rel>) if it exists, else NULL. The returned string is
 * owned by the harness and valid until the next call. */
const char *fe_t_shared(const char *rel);
/* Like fe_t_shared, but SKIPs the test with a clear reason when absent. Use as
 * `const char *p = fe_t_need_shared(t, "data/lfw"); if (!p) return;` */
const char *fe_t_need_shared(fe_test *t, const char *rel);
/* A fresh temporary directory for this test (removed after the run unless FE_KEEP_TMP=1). */
const char *fe_t_tmpdir(void);
/* <fe_t_tmpdir()>/<name>, in one of 8 rotating buffers owned by the harness (so a few can
 * be held at once, e.g. the arguments of one command). */
const char *fe_t_tmp_path(const char *name);
/* The bundled demo data and the shipped weights, relative to the repository root. */
#define FE_T_DEMO      "tests/data/demo"
#define FE_T_DEMO_LM   FE_T_DEMO "/landmarks.tsv"
#define FE_T_MODEL     "weights/faceres.feb"
/* 1 if the demo landmarks and the weights are there; otherwise SKIPs the test (run from
 * the repository root) and returns 0. */
int fe_t_have_demo(fe_test *t);
/* Reads a whole file (test side; NULL + FAIL-able message on error). Free with free(). */
void *fe_t_read_file(const char *path, size_t *out_size);
int fe_t_write_file(const char *path, const void *data, size_t n);
/* The CLI binary under test ($FE_CLI, else bin/faceemd). */
const char *fe_t_cli(void);
/* Runs a shell command, captures stdout (up to cap-1 bytes, NUL-terminated; out may be NULL)
 * and returns the exit status (or -1 if it could not run / was killed by a signal). */
int fe_t_run(char *out, size_t cap, const char *fmt, ...) FE_T_PRINTF(3, 4);
/* 1 when built with a sanitizer (tests may use a smaller sample there, and say so). */
int fe_t_sanitized(void);

/* Reads raw little-endian float32 data; n_out gets the count. NULL if missing. free(). */
float *fe_t_read_f32(const char *path, size_t *n_out);

#endif /* FE_TEST_H */
