/*
 * fileio.c — whole-file reads with a size cap, and atomic file replacement.
 *
 * Atomic writes follow redis' rdbSave: write a temporary file in the same directory, flush,
 * fsync, close (checked), rename over the target, then fsync the directory, so a reader sees
 * either the old file or the complete new one, even after a crash or a kill mid-write.
 * POSIX calls (fsync, getpid, open) are used where the platform has them (_POSIX_VERSION).
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define FE_HAVE_POSIX 1
#endif

fe_status fe__read_file(const char *path, size_t max_bytes, uint8_t **out_data, size_t *out_size) {
    *out_data = NULL;
    *out_size = 0;
    if (!path) return fe__fail(FE_E_ARG, "no path given");
    FILE *fp = fopen(path, "rb");
    if (!fp) return fe__fail(FE_E_IO, "%s: %s", path, strerror(errno));
#if FE_HAVE_POSIX
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return fe__fail(FE_E_IO, "%s: is a directory", path);
    }
#endif
    /* Read in growing chunks rather than trusting ftell: works for pipes and stays capped. */
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = fe__malloc(cap + 1);
    if (!buf) {
        fclose(fp);
        return fe__fail(FE_E_NOMEM, "%s: cannot allocate read buffer", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap > max_bytes) break;
            size_t ncap = cap * 2;
            if (ncap > max_bytes + 1) ncap = max_bytes + 1;  /* one more byte detects "too big" */
            uint8_t *nb = fe__realloc(buf, ncap + 1);
            if (!nb) {
                fe__free(buf);
                fclose(fp);
                return fe__fail(FE_E_NOMEM, "%s: cannot grow read buffer to %zu bytes", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        fe__free(buf);
        return fe__fail(FE_E_IO, "%s: read error", path);
    }
    if (n > max_bytes) {
        fe__free(buf);
        return fe__fail(FE_E_LIMIT, "%s: larger than the %zu-byte limit", path, max_bytes);
    }
    buf[n] = 0;
    *out_data = buf;
    *out_size = n;
    return FE_OK;
}

fe_status fe__atomic_begin(fe__atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    if (!path || !*path) return fe__fail(FE_E_ARG, "no output path given");
    size_t len = strlen(path);
    af->final_path = fe__strdup(path);
    af->tmp_path = fe__malloc(len + 32);
    if (!af->final_path || !af->tmp_path) {
        fe__atomic_abort(af);
        return fe__fail(FE_E_NOMEM, "%s: cannot allocate path", path);
    }
#if FE_HAVE_POSIX
    snprintf(af->tmp_path, len + 32, "%s.tmp.%ld", path, (long)getpid());
#else
    snprintf(af->tmp_path, len + 32, "%s.tmp", path);
#endif
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp) {
        fe_status st = fe__fail(FE_E_IO, "%s: cannot create: %s", af->tmp_path, strerror(errno));
        fe__free(af->final_path);
        fe__free(af->tmp_path);
        memset(af, 0, sizeof *af);
        return st;
    }
    return FE_OK;
}

fe_status fe__atomic_write(fe__atomic_file *af, const void *data, size_t n) {
    if (!af->fp) return fe__fail(FE_E_ARG, "atomic file is not open");
    if (af->failed) return FE_E_IO;
    if (n && fwrite(data, 1, n, af->fp) != n) {
        af->failed = 1;
        return fe__fail(FE_E_IO, "%s: write failed: %s", af->tmp_path, strerror(errno));
    }
    return FE_OK;
}

#if FE_HAVE_POSIX
/* fsync the directory holding path so the rename itself is durable. Best effort. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0) n = 1;
        if (n >= sizeof dir) return;
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}
#endif

fe_status fe__atomic_commit(fe__atomic_file *af) {
    if (!af->fp) return fe__fail(FE_E_ARG, "atomic file is not open");
    fe_status st = FE_OK;
    if (af->failed) st = fe__fail(FE_E_IO, "%s: an earlier write failed", af->tmp_path);
    if (st == FE_OK && fflush(af->fp) != 0)
        st = fe__fail(FE_E_IO, "%s: flush failed: %s", af->tmp_path, strerror(errno));
#if FE_HAVE_POSIX
    if (st == FE_OK && fsync(fileno(af->fp)) != 0)
        st = fe__fail(FE_E_IO, "%s: fsync failed: %s", af->tmp_path, strerror(errno));
#endif
    if (fclose(af->fp) != 0 && st == FE_OK)
        st = fe__fail(FE_E_IO, "%s: close failed: %s", af->tmp_path, strerror(errno));
    af->fp = NULL;
    if (st == FE_OK && rename(af->tmp_path, af->final_path) != 0)
        st = fe__fail(FE_E_IO, "%s: rename to %s failed: %s", af->tmp_path, af->final_path,
                      strerror(errno));
    if (st != FE_OK) {
        remove(af->tmp_path);
    } else {
#if FE_HAVE_POSIX
        sync_parent_dir(af->final_path);
#endif
    }
    fe__free(af->final_path);
    fe__free(af->tmp_path);
    memset(af, 0, sizeof *af);
    return st;
}

void fe__atomic_abort(fe__atomic_file *af) {
    if (af->fp) {
        fclose(af->fp);
        remove(af->tmp_path);
    }
    fe__free(af->final_path);
    fe__free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

fe_status fe__write_file_atomic(const char *path, const void *data, size_t n) {
    fe__atomic_file af;
    fe_status st = fe__atomic_begin(&af, path);
    if (st != FE_OK) return st;
    st = fe__atomic_write(&af, data, n);
    if (st != FE_OK) {
        fe__atomic_abort(&af);
        return st;
    }
    return fe__atomic_commit(&af);
}
