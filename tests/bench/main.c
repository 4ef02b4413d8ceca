/*
 * main.c — the benchmark runner: faceemd_bench [SUBSTRING...] runs the matching benchmarks.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FE_BENCH_ENTRY(name) void bench_##name(void);
#include "bench_table.h"
#undef FE_BENCH_ENTRY

static const struct {
    const char *name;
    void (*fn)(void);
} benches[] = {
#define FE_BENCH_ENTRY(name) {#name, bench_##name},
#include "bench_table.h"
#undef FE_BENCH_ENTRY
    {NULL, NULL}
};

double fe_b_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double fe_b_peak_gflops(void) {
    const char *e = getenv("FE_PEAK_GFLOPS");
    /* AMD Zen 4, 2 x 256-bit FMA pipes per core: 32 fp32 FLOP/cycle at ~3.6 GHz */
    return e ? atof(e) : 116.0;
}

const char *fe_b_shared(const char *rel) {
    static char buf[4096];
    const char *root = getenv("FE_SHARED");
    snprintf(buf, sizeof buf, "%s/%s", root && *root ? root : "../shared", rel);
    struct stat st;
    return stat(buf, &st) == 0 ? buf : NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("# %s\n", fe_build_info());
    for (int i = 0; benches[i].name; i++) {
        int sel = argc <= 1;
        for (int a = 1; a < argc; a++)
            if (strstr(benches[i].name, argv[a])) sel = 1;
        if (!sel) continue;
        printf("\n## %s\n", benches[i].name);
        benches[i].fn();
    }
    return 0;
}
