/*
 * main.c — the test runner: a name -> function table generated from FE_TEST lines.
 *
 * Usage: faceemd_tests [SUBSTRING...]   runs the tests whose name contains any SUBSTRING.
 * Each test runs in a forked child with an alarm, so crashes and hangs become FAILs.
 * Output: "ok <name> [notes]", "FAIL <name>: <where>: <why>", "SKIP <name>: <reason>",
 * then "N skipped" and, last, "N passed, N failed". FE_TEST_NOFORK=1 runs in-process (gdb);
 * FE_TEST_JOBS=N runs N tests at once (output order unchanged).
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fe_test {
    int  failed, skipped;
    char msg[2048];
    char note[2048];
};

#define FE_TEST_ENTRY(name) void test_##name(fe_test *t);
#include "test_table.h"
#undef FE_TEST_ENTRY

static const struct {
    const char *name;
    void (*fn)(fe_test *);
} tests[] = {
#define FE_TEST_ENTRY(name) {#name, test_##name},
#include "test_table.h"
#undef FE_TEST_ENTRY
    {NULL, NULL}
};

void fe_t_fail(fe_test *t, const char *file, int line, const char *fmt, ...) {
    if (t->failed) return;
    t->failed = 1;
    int n = snprintf(t->msg, sizeof t->msg, "%s:%d: ", file, line);
    if (n < 0 || (size_t)n >= sizeof t->msg) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg + n, sizeof t->msg - (size_t)n, fmt, ap);
    va_end(ap);
}

void fe_t_skip(fe_test *t, const char *fmt, ...) {
    t->skipped = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
}

void fe_t_note(fe_test *t, const char *fmt, ...) {
    size_t n = strlen(t->note);
    if (n + 4 >= sizeof t->note) return;
    if (n) {
        strcpy(t->note + n, "; ");
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->note + n, sizeof t->note - n, fmt, ap);
    va_end(ap);
}

int fe_t_failed(const fe_test *t) { return t->failed; }

static char shared_buf[4096];

const char *fe_t_shared(const char *rel) {
    const char *root = getenv("FE_SHARED");
    if (!root || !*root) root = "../shared";
    snprintf(shared_buf, sizeof shared_buf, "%s/%s", root, rel);
    struct stat st;
    return stat(shared_buf, &st) == 0 ? shared_buf : NULL;
}

const char *fe_t_need_shared(fe_test *t, const char *rel) {
    const char *p = fe_t_shared(rel);
    if (!p) fe_t_skip(t, "../shared/%s is absent (set FE_SHARED to its location)", rel);
    return p;
}

static char tmp_root[256];   /* one per run, made by main before any test */
static char test_dir[512];   /* tmp_root/<test name>, made on first use */
static const char *current_test;

const char *fe_t_tmpdir(void) {
    if (!test_dir[0]) {
        snprintf(test_dir, sizeof test_dir, "%s/%s", tmp_root, current_test ? current_test : "x");
        if (mkdir(test_dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "cannot create %s: %s\n", test_dir, strerror(errno));
            exit(2);
        }
    }
    return test_dir;
}

const char *fe_t_tmp_path(const char *name) {
    static char buf[8][700];
    static unsigned k;
    char *p = buf[k++ & 7];
    snprintf(p, sizeof buf[0], "%s/%s", fe_t_tmpdir(), name);
    return p;
}

int fe_t_have_demo(fe_test *t) {
    struct stat sb;
    if (stat(FE_T_DEMO_LM, &sb) != 0 || stat(FE_T_MODEL, &sb) != 0) {
        fe_t_skip(t, "run from the repository root (needs %s and %s)", FE_T_DEMO_LM, FE_T_MODEL);
        return 0;
    }
    return 1;
}

static void make_tmp_root(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/faceemd-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_root)) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", strerror(errno));
        exit(2);
    }
}

void *fe_t_read_file(const char *path, size_t *out_size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) break;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    fclose(fp);
    if (buf) buf[n] = 0;
    if (out_size) *out_size = n;
    return buf;
}

int fe_t_write_file(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = fwrite(data, 1, n, fp);
    return (fclose(fp) == 0 && w == n) ? 0 : -1;
}

float *fe_t_read_f32(const char *path, size_t *n_out) {
    size_t size = 0;
    unsigned char *raw = fe_t_read_file(path, &size);
    *n_out = 0;
    if (!raw) return NULL;
    size_t n = size / 4;
    float *f = malloc((n ? n : 1) * sizeof *f);
    if (!f) { free(raw); return NULL; }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)raw[4 * i] | ((uint32_t)raw[4 * i + 1] << 8) |
                     ((uint32_t)raw[4 * i + 2] << 16) | ((uint32_t)raw[4 * i + 3] << 24);
        memcpy(&f[i], &u, 4);
    }
    free(raw);
    *n_out = n;
    return f;
}

const char *fe_t_cli(void) {
    const char *p = getenv("FE_CLI");
    return p && *p ? p : "bin/faceemd";
}

int fe_t_run(char *out, size_t cap, const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    char sink[4096];
    for (;;) {
        size_t got;
        if (out && n + 1 < cap) {
            got = fread(out + n, 1, cap - 1 - n, p);
            n += got;
        } else {
            got = fread(sink, 1, sizeof sink, p);
        }
        if (got == 0) break;
    }
    if (out && cap) out[n] = 0;
    int st = pclose(p);
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

int fe_t_sanitized(void) {
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

static int selected(const char *name, int argc, char **argv) {
    if (argc <= 1) return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return 1;
    return 0;
}

static void remove_tree(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

typedef struct running {
    int    index;          /* test table index                                   */
    pid_t  pid;
    int    fd;             /* read end of the result pipe                         */
    double t0;
} running;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs a test in this process (FE_TEST_NOFORK=1, for debuggers). */
static int run_inline(int i, char *msg, size_t cap) {
    static fe_test t;
    current_test = tests[i].name;
    test_dir[0] = 0;
    memset(&t, 0, sizeof t);
    tests[i].fn(&t);
    snprintf(msg, cap, "%s", t.failed || t.skipped ? t.msg : t.note);
    return t.failed ? 'F' : t.skipped ? 'S' : 'P';
}

/* Forks a child for test i; its result comes back through a pipe as "<code><text>". */
static int start_test(int i, running *r) {
    int fd[2];
    r->index = i;
    r->t0 = now_s();
    if (pipe(fd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        static fe_test t;
        close(fd[0]);
        const char *to = getenv("FE_TEST_TIMEOUT");
        alarm(to ? (unsigned)atoi(to) : 900);
        current_test = tests[i].name;
        test_dir[0] = 0;
        memset(&t, 0, sizeof t);
        tests[i].fn(&t);
        char c = t.failed ? 'F' : t.skipped ? 'S' : 'P';
        const char *text = t.failed || t.skipped ? t.msg : t.note;
        if (write(fd[1], &c, 1) != 1 || write(fd[1], text, strlen(text)) < 0) _exit(3);
        fflush(NULL);
        _exit(0);
    }
    close(fd[1]);
    r->pid = pid;
    r->fd = fd[0];
    return 0;
}

/* Collects the result of a finished child (wst from waitpid). */
static int finish_test(running *r, int wst, char *msg, size_t cap) {
    size_t n = 0;
    char buf[4200];
    ssize_t got;
    while ((got = read(r->fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)got;
    buf[n] = 0;
    close(r->fd);
    if (n == 0) {
        if (WIFSIGNALED(wst))
            snprintf(msg, cap, "crashed with signal %d (%s)", WTERMSIG(wst),
                     WTERMSIG(wst) == SIGALRM ? "timeout" : strsignal(WTERMSIG(wst)));
        else
            snprintf(msg, cap, "exited with status %d before reporting",
                     WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
        return 'F';
    }
    snprintf(msg, cap, "%s", buf + 1);
    if (WIFEXITED(wst) && WEXITSTATUS(wst) != 0 && buf[0] == 'P') {
        snprintf(msg, cap, "child exited with status %d (sanitizer report above)", WEXITSTATUS(wst));
        return 'F';  /* e.g. LeakSanitizer found leaks at exit */
    }
    return buf[0];
}

static int passed, failed, skipped;

static void report(int i, int code, const char *msg, double secs) {
    if (code == 'P') {
        passed++;
        printf("ok   %-34s %6.2fs%s%s\n", tests[i].name, secs, msg[0] ? "  " : "", msg);
    } else if (code == 'S') {
        skipped++;
        printf("SKIP %s: %s\n", tests[i].name, msg);
    } else {
        failed++;
        printf("FAIL %s: %s\n", tests[i].name, msg);
    }
}

int main(int argc, char **argv) {
    static char msg[4200];
    setvbuf(stdout, NULL, _IOLBF, 0);
    make_tmp_root();
    /* FE_TEST_JOBS=N runs up to N tests at once (each in its own process); lines still come
     * out in table order, each as soon as it and every test before it have finished. */
    const char *jobs_env = getenv("FE_TEST_JOBS");
    int jobs = jobs_env ? atoi(jobs_env) : 1;
    if (jobs < 1) jobs = 1;
    if (jobs > 16) jobs = 16;
    int n_tests = 0;
    while (tests[n_tests].name) n_tests++;
    int *code = calloc((size_t)n_tests + 1, sizeof *code);
    char **text = calloc((size_t)n_tests + 1, sizeof *text);
    double *secs = calloc((size_t)n_tests + 1, sizeof *secs);
    running *run = calloc((size_t)jobs, sizeof *run);
    if (!code || !text || !secs || !run) return 2;
    int next = 0, printed = 0, active = 0;
    for (;;) {
        while (next < n_tests && !selected(tests[next].name, argc, argv)) code[next++] = -1;
        if (getenv("FE_TEST_NOFORK") && next < n_tests) {
            double t0 = now_s();
            code[next] = run_inline(next, msg, sizeof msg);
            secs[next] = now_s() - t0;
            text[next] = strdup(msg);
            next++;
        } else if (next < n_tests && active < jobs) {
            running *slot = NULL;
            for (int j = 0; j < jobs; j++)
                if (run[j].pid == 0) slot = &run[j];
            if (start_test(next, slot) != 0) {
                code[next] = 'F';
                text[next] = strdup("could not fork the test process");
                slot->pid = 0;
            } else {
                active++;
            }
            next++;
            continue;
        } else if (active > 0) {
            int wst = 0;
            pid_t pid = waitpid(-1, &wst, 0);
            for (int j = 0; j < jobs; j++) {
                if (run[j].pid != pid || pid <= 0) continue;
                int i = run[j].index;
                code[i] = finish_test(&run[j], wst, msg, sizeof msg);
                secs[i] = now_s() - run[j].t0;
                text[i] = strdup(msg);
                run[j].pid = 0;
                active--;
            }
        }
        while (printed < n_tests && code[printed] != 0) {
            if (code[printed] > 0) report(printed, code[printed], text[printed] ? text[printed] : "", secs[printed]);
            printed++;
        }
        if (printed == n_tests && active == 0) break;
    }
    for (int i = 0; i < n_tests; i++) free(text[i]);
    free(text);
    free(code);
    free(secs);
    free(run);
    if (!getenv("FE_KEEP_TMP")) remove_tree(tmp_root);
    else printf("temporary files kept in %s\n", tmp_root);
    printf("%d skipped\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
