/*
 * emd_synth.h — random patch maps with face-like similarity statistics, for the EMD tests and
 * benchmarks (header-only, static functions). Calibrated on ../shared/fixtures/emd: patches of
 * one image share a per-image component (within-image cosine ~0.4), two images of one identity
 * share a per-position component (same-position cosine ~0.54), unrelated patches are ~0
 * (std 1/sqrt(d)); an occluded image replaces a share of its patches by unrelated ones.
 */
#ifndef FE_EMD_SYNTH_H
#define FE_EMD_SYNTH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

typedef struct synth_rng {
    uint64_t s;
} synth_rng;

static inline uint64_t synth_next(synth_rng *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in (0, 1) */
static inline double synth_unif(synth_rng *r) { return ((double)(synth_next(r) >> 11) + 0.5) * 0x1p-53; }
static inline double synth_gauss(synth_rng *r) {
    return sqrt(-2.0 * log(synth_unif(r))) * cos(6.283185307179586 * synth_unif(r));
}
static inline void synth_normalise(float *v, size_t d) {
    double s = 0;
    for (size_t k = 0; k < d; k++) s += (double)v[k] * v[k];
    s = 1.0 / sqrt(s);
    for (size_t k = 0; k < d; k++) v[k] = (float)(v[k] * s);
}
/* n random unit vectors (rows of n*d) */
static inline void synth_units(synth_rng *r, float *v, size_t n, size_t d) {
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < d; k++) v[i * d + k] = (float)synth_gauss(r);
        synth_normalise(v + i * d, d);
    }
}
/* One image of the identity whose per-position components are z (n*d unit rows). A fraction
 * `occluded` of the patches (the first ones) is replaced by unrelated content. tmp: 2*d floats. */
static inline void synth_image(synth_rng *r, const float *z, size_t n, size_t d, double occluded,
                               float *out, float *tmp) {
    float *w = tmp, *e = tmp + d;
    synth_units(r, w, 1, d);
    size_t n_occ = (size_t)(occluded * (double)n + 0.5);
    for (size_t p = 0; p < n; p++) {
        synth_units(r, e, 1, d);
        for (size_t k = 0; k < d; k++) {
            double x = sqrt(0.40) * w[k];
            x += p < n_occ ? sqrt(0.60) * e[k] : sqrt(0.54) * z[p * d + k] + sqrt(0.06) * e[k];
            out[p * d + k] = (float)x;
        }
        synth_normalise(out + p * d, d);
    }
}
/* APC's mean vector: mean of the rows, L2-normalised */
static inline void synth_mean(const float *x, size_t n, size_t d, float *out) {
    for (size_t k = 0; k < d; k++) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += x[i * d + k];
        out[k] = (float)(s / (double)n);
    }
    synth_normalise(out, d);
}

#endif
