/*
 * bench.h — `make bench` harness. A benchmark is `FE_BENCH(name) {` at the start of a line in
 * tests/bench/bench_<area>.c. Report the best of several runs, in the units that explain the
 * number (GFLOP/s against peak, GB/s against bandwidth), never as a pass/fail test.
 */
#ifndef FE_BENCH_H
#define FE_BENCH_H

#include "faceemd.h"

#include <stdio.h>

#define FE_BENCH(name) void bench_##name(void); void bench_##name(void)

/* Monotonic seconds. */
double fe_b_now(void);
/* This machine's nominal single-core fp32 peak in GFLOP/s (FE_PEAK_GFLOPS overrides). */
double fe_b_peak_gflops(void);
/* Path of ../shared/<rel> if present, else NULL (benchmarks needing it print a SKIP line). */
const char *fe_b_shared(const char *rel);

#endif
