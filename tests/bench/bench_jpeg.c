/*
 * bench_jpeg.c — JPEG decode time on LFW images, side by side with libjpeg-turbo.
 *
 * Ours: fe_image_decode from memory, best of N per file (AVX2 kernels, and the portable ones
 * with FE_KERNEL=ref). djpeg: best of M runs of `djpeg -outfile /dev/null FILE` as a process
 * (fork + exec + wait), minus the best of M runs on a 1x1 JPEG — the start-up cost (exec,
 * dynamic linking, libjpeg init) — so "corrected" approximates djpeg's decode alone; raw is
 * printed too. tjbench (libjpeg-turbo's own in-process benchmark: TurboJPEG decompression
 * with default accurate IDCT and fancy upsampling) is the cleanest anchor when installed.
 * The machine is shared, so every figure is a best-of and the ratios matter more than µs.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <dirent.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static double decode_best(const uint8_t *data, size_t n, int reps) {
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        fe_image *img;
        double t0 = fe_b_now();
        fe_status st = fe_image_decode(data, n, &img);
        double t = fe_b_now() - t0;
        if (st != FE_OK) return -1;
        fe_image_free(img);
        if (t < best) best = t;
    }
    return best;
}

/* mean seconds per decode over at least `secs` of repeated decoding (tjbench's statistic) */
static double decode_mean(const uint8_t *data, size_t n, double secs) {
    long k = 0;
    double t0 = fe_b_now(), t;
    do {
        fe_image *img;
        if (fe_image_decode(data, n, &img) != FE_OK) return -1;
        fe_image_free(img);
        k++;
    } while ((t = fe_b_now() - t0) < secs);
    return t / (double)k;
}

/* wall time of one `djpeg -outfile /dev/null path` process, or -1 if it cannot run */
static double djpeg_once(const char *path) {
    char *argv[] = {"djpeg", "-outfile", "/dev/null", (char *)path, NULL};
    pid_t pid;
    double t0 = fe_b_now();
    if (posix_spawnp(&pid, "djpeg", NULL, NULL, argv, environ) != 0) return -1;
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    return fe_b_now() - t0;
}

/* best of reps runs on path and, interleaved so both see the same load, on the 1x1 file */
static int djpeg_best(const char *path, const char *tiny, int reps, double *file_s, double *tiny_s) {
    *file_s = *tiny_s = 1e9;
    for (int r = 0; r < reps; r++) {
        double a = djpeg_once(path), b = djpeg_once(tiny);
        if (a < 0 || b < 0) return -1;
        if (a < *file_s) *file_s = a;
        if (b < *tiny_s) *tiny_s = b;
    }
    return 0;
}

/* tjbench's decompression frame rate for one file, as seconds per image, or -1 */
static double tjbench_secs(const char *path) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "tjbench '%s' -benchtime 1 -warmup 0.5 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    double fps = -1;
    while (fgets(line, sizeof line, p)) {
        char *s = strstr(line, "Frame rate:");
        if (s && fps < 0) fps = atof(s + strlen("Frame rate:"));
    }
    if (pclose(p) != 0) return -1;
    return fps > 0 ? 1.0 / fps : -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void collect(const char *dir, char ***v, size_t *n, size_t *cap) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0) continue;
        size_t k = strlen(e->d_name);
        if (S_ISDIR(sb.st_mode)) {
            collect(p, v, n, cap);
        } else if (k > 4 && strcmp(e->d_name + k - 4, ".jpg") == 0) {
            if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 1024;
                *v = realloc(*v, *cap * sizeof **v);
            }
            (*v)[(*n)++] = strdup(p);
        }
    }
    closedir(d);
}

static double median(double *x, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && x[j] < x[j - 1]; j--) {
            double t = x[j]; x[j] = x[j - 1]; x[j - 1] = t;
        }
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

FE_BENCH(jpeg_decode_lfw) {
    const char *root = fe_b_shared("data/lfw/images");
    if (!root) {
        printf("SKIP jpeg_decode_lfw: ../shared/data/lfw/images is absent\n");
        return;
    }
    char rootbuf[4096];
    snprintf(rootbuf, sizeof rootbuf, "%s", root);
    char **v = NULL;
    size_t n = 0, cap = 0;
    collect(rootbuf, &v, &n, &cap);
    if (n == 0) {
        printf("SKIP jpeg_decode_lfw: no .jpg under %s\n", rootbuf);
        return;
    }
    qsort(v, n, sizeof *v, cmp_str);
    enum { FILES = 8, REPS = 200, DJ_REPS = 40 };
    const char *tiny = "tests/data/jpeg/s420_1x1.jpg";
    double dummy_a, dummy_b;
    int have_dj = djpeg_best(tiny, tiny, 1, &dummy_a, &dummy_b) == 0;
    int have_tj = tjbench_secs(tiny) > 0;
    printf("%-34s %8s %8s %8s | %8s %8s %8s | %8s %6s\n", "file (150x150 baseline 4:2:0)", "best",
           "mean", "ref-best", "djpeg", "1x1", "dj-1x1", "tjbench", "ratio");
    double r_dj[FILES], r_tj[FILES], ours_all[FILES];
    int k_dj = 0, k_tj = 0, k = 0;
    for (int f = 0; f < FILES; f++) {
        const char *path = v[(size_t)f * n / FILES];
        FILE *fp = fopen(path, "rb");
        if (!fp) continue;
        static uint8_t buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        unsetenv("FE_KERNEL");
        double best = decode_best(buf, len, REPS), mean = decode_mean(buf, len, 0.5);
        setenv("FE_KERNEL", "ref", 1);
        double ref = decode_best(buf, len, REPS / 4);
        unsetenv("FE_KERNEL");
        double dj = -1, dt = -1, tj = have_tj ? tjbench_secs(path) : -1;
        if (have_dj && djpeg_best(path, tiny, DJ_REPS, &dj, &dt) != 0) dj = -1;
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        printf("%-34s %6.0fus %6.0fus %6.0fus | %6.0fus %6.0fus %6.0fus | %6.0fus %5.2fx\n", name,
               1e6 * best, 1e6 * mean, 1e6 * ref, 1e6 * dj, 1e6 * dt, 1e6 * (dj - dt), 1e6 * tj,
               tj > 0 ? mean / tj : -1.0);
        ours_all[k++] = best;
        if (dj > 0 && dj - dt > 0) r_dj[k_dj++] = best / (dj - dt);
        if (tj > 0) r_tj[k_tj++] = mean / tj;
    }
    if (k) printf("ours: median best-of-%d %.0f us per image\n", REPS, 1e6 * median(ours_all, k));
    if (k_dj) printf("ours best / (djpeg best - 1x1 best): median %.2fx over %d files (process timing: noisy)\n",
                     median(r_dj, k_dj), k_dj);
    else printf("SKIP djpeg comparison: djpeg not installed (or start-up noise exceeded its decode time)\n");
    if (k_tj) printf("ours mean / tjbench mean: median %.2fx over %d files (target: within 2x)\n",
                     median(r_tj, k_tj), k_tj);
    else printf("SKIP tjbench comparison: tjbench not installed\n");
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}
