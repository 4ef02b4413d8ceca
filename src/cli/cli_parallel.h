/*
 * cli_parallel.h — threads and time for the CLI commands (cli_parallel.c).
 */
#ifndef FE_CLI_PARALLEL_H
#define FE_CLI_PARALLEL_H

#include <stddef.h>

/* Thread count: --threads value if given (validated by the caller), else $FE_THREADS, else the
 * CPUs online. cli_threads_backend() names what runs them ("openmp", "c11 threads", "none"). */
int cli_threads_default(void);
const char *cli_threads_backend(void);

/* Runs fn(ctx, tid, i) for i in [0, n) on up to n_threads threads (tid in [0, n_threads)),
 * items handed out dynamically; returns when all are done. OpenMP when built with it, else
 * C11 <threads.h> when the C library has it, else one thread. */
typedef void (*cli_par_fn)(void *ctx, int tid, size_t i);
void cli_parallel_for(int n_threads, size_t n, cli_par_fn fn, void *ctx);

/* Monotonic seconds, for the timings commands report. */
double cli_now(void);

#endif
