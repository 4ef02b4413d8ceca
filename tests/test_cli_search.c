/*
 * test_cli_search.c — the search commands end to end on the bundled demo data
 * (tests/data/demo: 24 gallery photos of 6 people, one held-back photo): `index build`
 * (counts, summary, skips with reasons, fallbacks, same bytes for any --threads), `index add`,
 * an interrupted build (killed while embedding and while saving: the previous index stays
 * valid and byte-identical), `query --json` (keys, order, best first), `demo` (the clean
 * query's identity is top-1 at both stages), usage errors (exit 2) and bad files (exit 1,
 * naming the file). Needs the model weights/faceres.feb, not ../shared.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELD_BACK FE_T_DEMO "/query/David_Wells/David_Wells_0004.jpg"

/* Builds the demo gallery into path (threads as given); returns the exit status. */
static int build_demo(const char *path, int threads, char *out, size_t cap) {
    return fe_t_run(out, cap, "%s index build %s/gallery -o '%s' --landmarks %s --threads %d 2>&1", fe_t_cli(),
                    FE_T_DEMO, path, FE_T_DEMO_LM, threads);
}

/* The CLI and the model as absolute paths, for commands run from another directory. */
static const char *abs_path(const char *p, char *buf, size_t cap) {
    char cwd[4096];
    if (p[0] == '/' || !getcwd(cwd, sizeof cwd)) snprintf(buf, cap, "%s", p);
    else snprintf(buf, cap, "%s/%s", cwd, p);
    return buf;
}

static int same_file(const char *a, const char *b) {
    size_t na, nb;
    unsigned char *x = fe_t_read_file(a, &na), *y = fe_t_read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- index build ------------------------------------------------------------------------ */

FE_TEST(cli_index_build_demo) {
    if (!fe_t_have_demo(t)) return;
    char out[16384];
    const char *g1 = fe_t_tmp_path("t1.fei"), *g2 = fe_t_tmp_path("t2.fei");
    int rc = build_demo(g1, 1, out, sizeof out);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK_MSG(strstr(out, "indexed 24 faces") && strstr(out, "24 faces of 6 identities") &&
              strstr(out, "0 centre-crop fallbacks") && strstr(out, "skipped 0 files"), "%s", out);
    rc = build_demo(g2, 2, out, sizeof out);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK_MSG(same_file(g1, g2), "--threads 1 and --threads 2 wrote different indexes");
    rc = fe_t_run(out, sizeof out, "%s index info --json '%s'", fe_t_cli(), g1);
    CHECK_MSG(rc == 0 && strstr(out, "\"faces\": 24") && strstr(out, "\"identities\": 6") &&
              strstr(out, "\"patch_dtype\": \"fp32\"") && strstr(out, "history"), "%s", out);
    /* a folder with things that are not faces: each skipped with its reason; no landmarks:
     * every face falls back to the centre crop and is counted; --fp16 */
    const char *dir = fe_t_tmp_path("photos");
    rc = fe_t_run(NULL, 0, "cp -r %s/gallery '%s' && echo notes > '%s/notes.txt' && echo hi > '%s/Steve_Nash/readme.txt'"
                  " && head -c 700 %s > '%s/Steve_Nash/cut.jpg' && mkdir '%s/Steve_Nash/deeper'",
                  FE_T_DEMO, dir, dir, dir, HELD_BACK, dir, dir);
    CHECK(rc == 0);
    const char *g3 = fe_t_tmp_path("t3.fei");
    rc = fe_t_run(out, sizeof out, "%s index build '%s' -o '%s' --fp16 --json 2>/dev/null", fe_t_cli(), dir, g3);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK_MSG(strstr(out, "\"faces\": 24") && strstr(out, "\"fallbacks\": 24") && strstr(out, "\"patch_dtype\": \"fp16\"") &&
              strstr(out, "notes.txt\", \"reason\": \"not inside an identity folder") &&
              strstr(out, "readme.txt\", \"reason\": \"not an image") &&
              strstr(out, "deeper\", \"reason\": \"folder inside an identity folder") &&
              strstr(out, "cut.jpg\", \"reason\": \"") && strstr(out, "\"landmarks\": \"none (centre crop)\""), "%s", out);
    rc = fe_t_run(out, sizeof out, "%s index build '%s' -o '%s' 2>&1", fe_t_cli(), dir, g3);
    CHECK_MSG(rc == 0 && strstr(out, "24 centre-crop fallbacks") && strstr(out, "skipped 4 files:") &&
              strstr(out, "cut.jpg: "), "%s", out);
    NOTE("24 faces of 6 identities; --threads 1 and 2 byte-identical; 4 non-faces skipped with reasons");
}

FE_TEST(cli_index_add) {
    if (!fe_t_have_demo(t)) return;
    char out[16384];
    const char *g = fe_t_tmp_path("add.fei");
    int rc = build_demo(g, 2, out, sizeof out);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    /* an image: identity from its folder's name */
    rc = fe_t_run(out, sizeof out, "%s index add '%s' %s --landmarks %s --json", fe_t_cli(), g, HELD_BACK, FE_T_DEMO_LM);
    CHECK_MSG(rc == 0 && strstr(out, "\"faces\": 25") && strstr(out, "\"identities\": 6") && strstr(out, "\"added\": 1"),
              "exit %d: %s", rc, out);
    /* the same again: skipped as already present; --label makes a new identity */
    rc = fe_t_run(out, sizeof out, "%s index add '%s' %s --json", fe_t_cli(), g, HELD_BACK);
    CHECK_MSG(rc == 0 && strstr(out, "\"faces\": 25") && strstr(out, "\"added\": 0") && strstr(out, "already in the index"),
              "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s index add '%s' %s %s/gallery/Steve_Nash --label 'Someone Else' --json", fe_t_cli(),
                  g, HELD_BACK, FE_T_DEMO);
    CHECK_MSG(rc == 0 && strstr(out, "\"faces\": 30") && strstr(out, "\"identities\": 7") && strstr(out, "\"added\": 5"),
              "exit %d: %s", rc, out);
    /* a folder in the LFW layout */
    const char *dir = fe_t_tmp_path("more");
    CHECK(fe_t_run(NULL, 0, "mkdir -p '%s/Ann' && cp %s/gallery/Ariel_Sharon/Ariel_Sharon_0001.jpg '%s/Ann/a.jpg'", dir,
                   FE_T_DEMO, dir) == 0);
    rc = fe_t_run(out, sizeof out, "%s index add '%s' '%s' 2>&1", fe_t_cli(), g, dir);
    CHECK_MSG(rc == 0 && strstr(out, "31 faces of 8 identities"), "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s index info '%s'", fe_t_cli(), g);
    CHECK_MSG(rc == 0 && strstr(out, "faces        31") && strstr(out, "history = add"), "%s", out);
    /* an image outside any folder without --label: skipped, not guessed */
    CHECK(fe_t_run(NULL, 0, "cp %s '%s/loose.jpg'", HELD_BACK, fe_t_tmpdir()) == 0);
    char cli[4200], model[4200];
    rc = fe_t_run(out, sizeof out, "cd '%s' && '%s' index add add.fei loose.jpg --model '%s' --json", fe_t_tmpdir(),
                  abs_path(fe_t_cli(), cli, sizeof cli), abs_path("weights/faceres.feb", model, sizeof model));
    CHECK_MSG(rc == 0 && strstr(out, "no identity") && strstr(out, "\"added\": 0"), "exit %d: %s", rc, out);
}

/* ---- interrupted build ------------------------------------------------------------------ */

/* Starts `sh -c "exec CMD"` with env_kv set, stderr into a pipe (returned in *err_fd). */
static pid_t spawn(const char *cmd, const char *env_kv, int *err_fd) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char kv[256];
        snprintf(kv, sizeof kv, "%s", env_kv);
        char *eq = strchr(kv, '=');
        if (eq) {
            *eq = 0;
            setenv(kv, eq + 1, 1);
        }
        dup2(fd[1], 2);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1);
        close(fd[0]);
        close(fd[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    *err_fd = fd[0];
    return pid;
}

/* Reads stderr until "test pause" (1) or EOF (0). */
static int wait_pause(int fd, char *seen, size_t cap) {
    size_t n = 0;
    seen[0] = 0;
    for (;;) {
        ssize_t got = read(fd, seen + n, cap - 1 - n);
        if (got <= 0) return 0;
        n += (size_t)got;
        seen[n] = 0;
        if (strstr(seen, "faceemd: test pause")) return 1;
        if (n + 1 >= cap) n = 0;
    }
}

FE_TEST(cli_index_build_interrupted) {
    if (!fe_t_have_demo(t)) return;
    char out[16384];
    const char *g = fe_t_tmp_path("live.fei");
    /* the previous index: five people */
    const char *dir = fe_t_tmp_path("five");
    CHECK(fe_t_run(NULL, 0, "cp -r %s/gallery '%s' && rm -r '%s/Steve_Nash'", FE_T_DEMO, dir, dir) == 0);
    int rc = fe_t_run(out, sizeof out, "%s index build '%s' -o '%s' --landmarks %s 2>&1", fe_t_cli(), dir, g, FE_T_DEMO_LM);
    CHECK_MSG(rc == 0 && strstr(out, "20 faces"), "exit %d: %s", rc, out);
    size_t old_n;
    unsigned char *old = fe_t_read_file(g, &old_n);
    CHECK(old);
    const char *hooks[2] = {"FE_TEST_PAUSE_AFTER=8", "FE_TEST_PAUSE_IN_SAVE=100000"};
    for (int h = 0; h < 2; h++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "exec %s index build %s/gallery -o '%s' --landmarks %s --threads 2", fe_t_cli(), FE_T_DEMO,
                 g, FE_T_DEMO_LM);
        int efd;
        pid_t pid = spawn(cmd, hooks[h], &efd);
        CHECK(pid > 0);
        int paused = wait_pause(efd, out, sizeof out);
        kill(pid, SIGKILL);
        int wst;
        waitpid(pid, &wst, 0);
        close(efd);
        CHECK_MSG(paused, "%s: the build never paused: %s", hooks[h], out);
        CHECK_MSG(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL, "%s: not killed", hooks[h]);
        if (h == 1) {   /* killed mid-save: a partial temporary file exists beside the index */
            char tmpf[800];
            snprintf(tmpf, sizeof tmpf, "%s.tmp.%ld", g, (long)pid);
            struct stat sb;
            CHECK_MSG(stat(tmpf, &sb) == 0 && sb.st_size >= 100000 - 65536 && sb.st_size < 1228800,
                      "no partial temporary file %s", tmpf);
            NOTE("killed mid-save with %lld of 1228800 bytes in %s", (long long)sb.st_size, strrchr(tmpf, '/') + 1);
        }
        size_t now_n;
        unsigned char *now = fe_t_read_file(g, &now_n);
        CHECK_MSG(now && now_n == old_n && memcmp(now, old, old_n) == 0, "%s: the previous index changed", hooks[h]);
        free(now);
        rc = fe_t_run(out, sizeof out, "%s index info --json '%s'", fe_t_cli(), g);
        CHECK_MSG(rc == 0 && strstr(out, "\"faces\": 20") && strstr(out, "\"checksums\": \"ok\""), "%s", out);
    }
    free(old);
    /* and an uninterrupted build then replaces it */
    rc = build_demo(g, 2, out, sizeof out);
    CHECK_MSG(rc == 0 && strstr(out, "24 faces of 6 identities"), "exit %d: %s", rc, out);
    NOTE("killed after 8 faces and mid-save: the previous 20-face index stayed byte-identical and valid");
}

/* ---- query -------------------------------------------------------------------------------- */

/* The value after "key": in s (NULL if absent). */
static const char *after_key(const char *s, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    const char *p = strstr(s, k);
    return p ? p + strlen(k) : NULL;
}

FE_TEST(cli_query_json) {
    if (!fe_t_have_demo(t)) return;
    static char out[65536];
    const char *g = fe_t_tmp_path("q.fei");
    int rc = build_demo(g, 2, out, sizeof out);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    rc = fe_t_run(out, sizeof out, "%s query '%s' %s --landmarks %s -k 7 --json", fe_t_cli(), g, HELD_BACK, FE_T_DEMO_LM);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK_MSG(strncmp(out, "{\"results\": [", 13) == 0, "%s", out);
    /* each result: the required keys in order; ranks 1..7; scores non-increasing */
    static const char *const keys[] = {"rank", "identity", "path", "stage1_rank", "stage1_score", "emd_score", "score"};
    const char *p = out;
    double prev = INFINITY;
    int n = 0, moved = 0;
    while ((p = strstr(p, "{\"rank\": ")) != NULL) {
        const char *end = strchr(p, '}');
        CHECK(end);
        const char *last = p;
        for (int k = 0; k < 7; k++) {
            const char *v = after_key(p, keys[k]);
            CHECK_MSG(v && v < end && v > last, "result %d: key %s missing or out of order", n + 1, keys[k]);
            last = v;
        }
        CHECK(atoi(after_key(p, "rank")) == n + 1);
        double sc = atof(after_key(p, "score"));
        CHECK_MSG(sc <= prev, "result %d: score %g after %g", n + 1, sc, prev);
        prev = sc;
        moved += atoi(after_key(p, "stage1_rank")) != n + 1;
        if (n == 0) CHECK_MSG(strncmp(after_key(p, "identity"), "\"David_Wells\"", 13) == 0, "%s", out);
        n++;
        p = end;
    }
    CHECK_MSG(n == 7, "%d results", n);
    CHECK(strstr(out, "\"query\": ") && strstr(out, "\"options\": {\"k\": 7, \"K\": 100, \"grid\": 4, \"weights\": \"apc\", "
                                                  "\"solver\": \"sinkhorn\", \"alpha\": 0.7}"));
    /* alpha 0: the final ranks are the stage-1 ranks */
    rc = fe_t_run(out, sizeof out, "%s query '%s' %s --landmarks %s -k 24 --alpha 0 --grid 8 --weights sc --solver exact --json",
                  fe_t_cli(), g, HELD_BACK, FE_T_DEMO_LM);
    CHECK_MSG(rc == 0, "exit %d", rc);
    p = out;
    n = 0;
    while ((p = strstr(p, "{\"rank\": ")) != NULL) {
        CHECK_MSG(atoi(after_key(p, "rank")) == atoi(after_key(p, "stage1_rank")), "alpha 0 moved result %d", n + 1);
        n++;
        p++;
    }
    CHECK(n == 24);
    /* text output, K smaller than k: the tail is stage 1's, without EMD scores */
    rc = fe_t_run(out, sizeof out, "%s query '%s' %s --landmarks %s -k 12 --K 5", fe_t_cli(), g, HELD_BACK, FE_T_DEMO_LM);
    CHECK_MSG(rc == 0 && strstr(out, "rank  identity") && strstr(out, "cosine top-5") && strstr(out, "   12  "), "%s", out);
    NOTE("7 results best first with the 7 keys in order (%d moved by stage 2); alpha 0 keeps stage-1 ranks", moved);
}

/* ---- demo --------------------------------------------------------------------------------- */

FE_TEST(cli_demo_output) {
    if (!fe_t_have_demo(t)) return;
    static char out[65536];
    int rc = fe_t_run(out, sizeof out, "%s demo 2>&1", fe_t_cli());
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    const char *c = strstr(out, "clean query: David_Wells_0004"), *m = strstr(out, "masked query: David_Wells_0004"),
               *s = strstr(out, "sunglasses query: David_Wells_0004");
    CHECK_MSG(c && m && s && c < m && m < s, "%s", out);
    /* the clean query's first row: David_Wells at rank 1 in both columns */
    const char *row = strstr(c, "\n   1  ");
    CHECK_MSG(row && row < m, "%s", out);
    const char *eol = strchr(row + 1, '\n');
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)(eol - row - 1), row + 1);
    const char *first = strstr(line, "* David_Wells_"), *second = first ? strstr(first + 1, "* David_Wells_") : NULL;
    CHECK_MSG(first && second, "clean rank-1 row: %s", line);
    int verdicts = 0;
    for (const char *p = out; (p = strstr(p, "  verdict: ")) != NULL; p++) verdicts++;
    CHECK_MSG(verdicts == 3 && strstr(c, "verdict: both stages put David_Wells first"), "%s", out);
    CHECK(strstr(out, "top-1 correct: stage 1 "));
    /* --json: the same facts for scripts */
    rc = fe_t_run(out, sizeof out, "%s demo --json", fe_t_cli());
    CHECK_MSG(rc == 0, "exit %d", rc);
    const char *q = strstr(out, "{\"kind\": \"clean\"");
    CHECK_MSG(q && strstr(q, "\"stage1_top1_correct\": true, \"stage2_top1_correct\": true") &&
              strstr(out, "{\"kind\": \"masked\"") && strstr(out, "{\"kind\": \"sunglasses\"") &&
              strstr(out, "\"gallery_faces\": 24"), "%s", out);
    /* from another directory, through the binary's location */
    char cli[4200];
    rc = fe_t_run(out, sizeof out, "cd '%s' && FE_MODEL= '%s' demo --json", fe_t_tmpdir(), abs_path(fe_t_cli(), cli, sizeof cli));
    CHECK_MSG(rc == 0 && strstr(out, "\"stage2_top1_correct\": true"), "from elsewhere: exit %d: %.300s", rc, out);
    const char *v = strstr(out, "\"top1_correct\": ");
    NOTE("clean David_Wells top-1 at both stages; %s", v ? v : "");
}

/* ---- errors ------------------------------------------------------------------------------- */

FE_TEST(cli_search_errors) {
    if (!fe_t_have_demo(t)) return;
    char out[16384];
    const char *cli = fe_t_cli(), *g = fe_t_tmp_path("e.fei");
    CHECK(build_demo(g, 1, out, sizeof out) == 0);
    /* usage errors: 2 */
    static const char *const usage[] = {
        "query", "query %s", "query %s " HELD_BACK " --grid 5", "query %s " HELD_BACK " --alpha 2",
        "query %s " HELD_BACK " --weights foo", "query %s " HELD_BACK " --solver magic", "query %s " HELD_BACK " -k 0",
        "query %s " HELD_BACK " --K -1", "query %s " HELD_BACK " --landmarks 1,2,3", "query %s " HELD_BACK " --frob",
        "index build " FE_T_DEMO "/gallery", "index build", "index build a b -o %s", "index build " FE_T_DEMO "/gallery -o %s --threads 0",
        "index add %s", "demo extra", "demo --grid 3"};
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        char args[600];
        snprintf(args, sizeof args, usage[i], g);
        int rc = fe_t_run(out, sizeof out, "%s %s 2>&1", cli, args);
        CHECK_MSG(rc == 2, "'%s' exited %d: %s", args, rc, out);
    }
    /* bad files: 1, naming the file */
    const char *bad = fe_t_tmp_path("bad.fei"), *notimg = fe_t_tmp_path("not.jpg");
    CHECK(fe_t_run(NULL, 0, "head -c 1000 '%s' > '%s' && echo text > '%s'", g, bad, notimg) == 0);
    struct { const char *args, *name; } files[] = {   /* %s: the good index, or bad.fei for "bad.fei" */
        {"query /nonexistent/x.fei " HELD_BACK, "/nonexistent/x.fei"},
        {"query %s " HELD_BACK, "bad.fei"},
        {"query " FE_T_DEMO "/landmarks.tsv " HELD_BACK, "landmarks.tsv"},
        {"query %s /nonexistent/face.jpg", "/nonexistent/face.jpg"},
        {"query %s " FE_T_DEMO "/landmarks.tsv", "landmarks.tsv"},
        {"query %s " HELD_BACK " --landmarks /nonexistent/lm.tsv", "/nonexistent/lm.tsv"},
        {"query %s " HELD_BACK " --model /nonexistent/m.feb", "/nonexistent/m.feb"},
        {"index build /nonexistent/dir -o x.fei", "/nonexistent/dir"},
        {"index add /nonexistent/y.fei " HELD_BACK, "/nonexistent/y.fei"},
        {"index add %s /nonexistent/z.jpg", "/nonexistent/z.jpg"},
        {"demo --data /nonexistent/demo", "/nonexistent/demo"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char args[600];
        snprintf(args, sizeof args, files[i].args, strcmp(files[i].name, "bad.fei") == 0 ? bad : g);
        int rc = fe_t_run(out, sizeof out, "%s %s 2>&1 >/dev/null", cli, args);
        CHECK_MSG(rc == 1 && strstr(out, files[i].name), "'%s' exited %d: %s", args, rc, out);
    }
    /* the help of every new command */
    static const char *const helps[] = {"query", "demo", "index build", "index add"};
    for (size_t i = 0; i < 4; i++) {
        int rc = fe_t_run(out, sizeof out, "%s %s --help", cli, helps[i]);
        CHECK_MSG(rc == 0 && strstr(out, "usage: faceemd") && strstr(out, helps[i]), "%s --help: %d", helps[i], rc);
    }
    NOTE("%zu usage errors exit 2; %zu bad files exit 1 naming the file", sizeof usage / sizeof usage[0],
         sizeof files / sizeof files[0]);
}
