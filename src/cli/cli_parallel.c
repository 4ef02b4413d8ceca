/*
 * cli_parallel.c — the CLI's threads (cli_parallel.h): a dynamic parallel-for on OpenMP when
 * built with it, else C11 <threads.h> where the C library has it, else one thread; the default
 * thread count; and a monotonic clock for the timings commands print.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli_parallel.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifdef FE_OMP
#include <omp.h>
#define CLI_PAR_OMP 1
#elif !defined(__STDC_NO_THREADS__) && !defined(__STDC_NO_ATOMICS__)
#include <threads.h>
#include <stdatomic.h>
#define CLI_PAR_C11 1
#endif

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_threads_default(void) {
    const char *env = getenv("FE_THREADS");
    if (env && *env) {
        long n = strtol(env, NULL, 10);
        if (n >= 1 && n <= 256) return (int)n;
    }
#if defined(CLI_PAR_OMP) || defined(CLI_PAR_C11)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
#else
    return 1;
#endif
}

const char *cli_threads_backend(void) {
#if defined(CLI_PAR_OMP)
    return "openmp";
#elif defined(CLI_PAR_C11)
    return "c11 threads";
#else
    return "none";
#endif
}

#if defined(CLI_PAR_C11)
typedef struct par_shared {
    cli_par_fn    fn;
    void         *ctx;
    size_t        n;
    atomic_size_t next;
} par_shared;

typedef struct par_thread {
    par_shared *sh;
    int         tid;
} par_thread;

static int par_loop(void *arg) {
    par_thread *t = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&t->sh->next, 1);
        if (i >= t->sh->n) break;
        t->sh->fn(t->sh->ctx, t->tid, i);
    }
    return 0;
}
#endif

void cli_parallel_for(int n_threads, size_t n, cli_par_fn fn, void *ctx) {
    if (n_threads < 1) n_threads = 1;
    if ((size_t)n_threads > n) n_threads = n ? (int)n : 1;
#if defined(CLI_PAR_OMP)
    if (n_threads > 1) {
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
        for (long long i = 0; i < (long long)n; i++) fn(ctx, omp_get_thread_num(), (size_t)i);
        return;
    }
#elif defined(CLI_PAR_C11)
    if (n_threads > 1) {
        par_shared sh = {fn, ctx, n, 0};
        par_thread t[64];
        thrd_t th[64];
        int started = 0;
        if (n_threads > 64) n_threads = 64;
        for (int k = 0; k < n_threads; k++) t[k] = (par_thread){&sh, k};
        /* threads 1..n-1 are new; the caller is thread 0 (a failed start just means fewer) */
        for (int k = 1; k < n_threads; k++) {
            if (thrd_create(&th[started], par_loop, &t[k]) != thrd_success) break;
            started++;
        }
        par_loop(&t[0]);
        for (int k = 0; k < started; k++) thrd_join(th[k], NULL);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) fn(ctx, 0, i);
}

