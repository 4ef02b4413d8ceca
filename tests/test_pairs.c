/*
 * test_pairs.c — the strict LFW pairs and people readers: the real DevTrain lists when
 * ../shared is present (counts, fold rule, every referenced image on disk, agreement between
 * the two files), tables of malformed lists each with its own status and line, the accepted
 * variants (CRLF, View 2 sets, small N), and the Name/Name_%04d.jpg path rule.
 */
#include "test.h"
#include "internal.h"

#include <string.h>

FE_TEST(pairs_real_lfw_devtrain) {
    const char *p = fe_t_need_shared(t, "data/lfw/pairs.txt");
    if (!p) return;
    char path[4096];
    snprintf(path, sizeof path, "%s", p);
    fe_pair_list *L;
    CHECK_OK(fe_pair_list_load(path, &L));
    CHECK(fe_pair_list_count(L) == 2200);
    CHECK(fe_pair_list_folds(L) == 10);
    fe_pair q;
    CHECK_OK(fe_pair_list_get(L, 0, &q));
    CHECK(strcmp(q.name1, "Aaron_Peirsol") == 0 && strcmp(q.name2, "Aaron_Peirsol") == 0);
    CHECK(q.image1 == 1 && q.image2 == 2 && q.same == 1 && q.fold == 0 && q.line == 2);
    CHECK_OK(fe_pair_list_get(L, 1100, &q));
    CHECK(strcmp(q.name1, "AJ_Cook") == 0 && strcmp(q.name2, "Marsha_Thomason") == 0);
    CHECK(q.image1 == 1 && q.image2 == 1 && q.same == 0 && q.fold == 0 && q.line == 1102);
    CHECK_OK(fe_pair_list_get(L, 2199, &q));
    CHECK(q.same == 0 && q.fold == 9 && q.line == 2201);
    CHECK_STATUS(fe_pair_list_get(L, 2200, &q), FE_E_RANGE);
    /* fold rule: contiguous tenths, 110 matched + 110 mismatched in each */
    size_t per[10][2] = {{0}};
    for (size_t i = 0; i < 2200; i++) {
        CHECK_OK(fe_pair_list_get(L, i, &q));
        CHECK(q.same == (i < 1100));
        size_t m = i < 1100 ? i : i - 1100;
        CHECK_MSG(q.fold == m / 110, "pair %zu in fold %u", i, q.fold);
        per[q.fold][q.same]++;
    }
    for (int k = 0; k < 10; k++) CHECK(per[k][0] == 110 && per[k][1] == 110);
    /* people.txt agrees: every pair's images exist in the counts and on disk */
    const char *pp = fe_t_need_shared(t, "data/lfw/people.txt");
    if (!pp) { fe_pair_list_free(L); return; }
    snprintf(path, sizeof path, "%s", pp);
    fe_people_list *P;
    CHECK_OK(fe_people_list_load(path, &P));
    size_t n = fe_people_list_count(P), images = 0, multi = 0;
    CHECK(n == 4038);
    for (size_t i = 0; i < n; i++) {
        uint32_t k;
        CHECK_OK(fe_people_list_get(P, i, NULL, &k));
        images += k;
        multi += k >= 2;
    }
    CHECK_MSG(images == 9525 && multi == 1184, "%zu images, %zu with >= 2", images, multi);
    const char *dir = fe_t_need_shared(t, "data/lfw/images");
    if (!dir) { fe_pair_list_free(L); fe_people_list_free(P); return; }
    char root[4096];
    snprintf(root, sizeof root, "%s", dir);
    size_t checked = 0;
    for (size_t i = 0; i < 2200; i++) {
        CHECK_OK(fe_pair_list_get(L, i, &q));
        for (int e = 0; e < 2; e++) {
            const char *name = e ? q.name2 : q.name1;
            uint32_t img = e ? q.image2 : q.image1, have = 0;
            for (size_t j = 0; j < n; j++) {   /* linear: 4,400 x 4,038 string compares is fine */
                const char *pn;
                CHECK_OK(fe_people_list_get(P, j, &pn, &have));
                if (strcmp(pn, name) == 0) break;
                have = 0;
            }
            CHECK_MSG(img >= 1 && img <= have, "%s %u: people.txt lists %u images", name, img, have);
            char rel[600], full[4700];
            CHECK_OK(fe_lfw_image_path(name, img, rel, sizeof rel));
            snprintf(full, sizeof full, "%s/%s", root, rel);
            FILE *fp = fopen(full, "rb");
            CHECK_MSG(fp != NULL, "%s missing", full);
            fclose(fp);
            checked++;
        }
    }
    fe_pair_list_free(L);
    fe_people_list_free(P);
    NOTE("2200 pairs in 10 folds of 110+110; 4038 people, 9525 images, 1184 with >= 2; "
         "%zu pair images found on disk", checked);
}

typedef struct bad_case {
    const char *what;
    const char *text;
    size_t      len;     /* 0: strlen(text) */
    fe_status   want;
    const char *in_msg;  /* must appear in fe_last_error() */
} bad_case;

static int run_cases(fe_test *t, const bad_case *cases, size_t n, int people) {
    for (size_t i = 0; i < n; i++) {
        const bad_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->text);
        fe_status st;
        void *out = (void *)1;
        if (people) st = fe_people_list_load_memory(c->text, len, (fe_people_list **)&out);
        else st = fe_pair_list_load_memory(c->text, len, (fe_pair_list **)&out);
        if (st != c->want || out != NULL || !strstr(fe_last_error(), c->in_msg)) {
            fe_t_fail(t, __FILE__, __LINE__, "%s: got %s (%s), want %s with '%s'%s", c->what,
                      fe_status_name(st), fe_last_error(), fe_status_name(c->want), c->in_msg,
                      out ? "; output not NULL" : "");
            return 0;
        }
    }
    return 1;
}

#define M1 "Ann\t1\t2\n"
#define M2 "Bob\t3\t4\n"
#define X1 "Ann\t1\tBob\t2\n"
#define X2 "Cy\t5\tDee\t1\n"

FE_TEST(pairs_malformed_table) {
    static char overlong[70100];
    size_t ol = (size_t)snprintf(overlong, sizeof overlong, "2\n" M1);
    memset(overlong + ol, 'A', FE_MAX_LINE + 1);
    ol += FE_MAX_LINE + 1;
    ol += (size_t)snprintf(overlong + ol, sizeof overlong - ol, "\t1\t2\n" X1 X2);
    static char longname[400];
    size_t nl = (size_t)snprintf(longname, sizeof longname, "1\n");
    memset(longname + nl, 'A', FE_LFW_MAX_NAME + 1);
    nl += FE_LFW_MAX_NAME + 1;
    nl += (size_t)snprintf(longname + nl, sizeof longname - nl, "\t1\t2\n" X1);
    static const char nul_name[] = "1\nA\0n\t1\t2\n" X1;
    const bad_case cases[] = {
        {"empty file", "", 0, FE_E_TRUNCATED, "line 1: empty file"},
        {"no header", M1 M2 X1 X2, 0, FE_E_MAGIC, "line 1"},
        {"word header", "pairs\n" M1 X1, 0, FE_E_MAGIC, "line 1: 'pairs'"},
        {"three-field header", "1\t2\t3\n" M1 X1, 0, FE_E_MAGIC, "line 1"},
        {"blank header", "\n" M1 X1, 0, FE_E_MAGIC, "line 1"},
        {"header with BOM", "\xEF\xBB\xBF" "1\n" M1 X1, 0, FE_E_MAGIC, "line 1"},
        {"zero pairs", "0\n", 0, FE_E_RANGE, "line 1: the pairs count is 0"},
        {"zero sets", "0\t1\n" M1 X1, 0, FE_E_RANGE, "line 1: the number of sets is 0"},
        {"huge count", "99999999999\n" M1 X1, 0, FE_E_RANGE, "line 1"},
        {"sets x pairs over the cap", "60000\t60000\n" M1 X1, 0, FE_E_LIMIT, "line 1"},
        {"too few rows", "2\n" M1 M2 X1, 0, FE_E_COUNT, "after 3 of the header's 4 pairs"},
        {"too many rows", "1\n" M1 X1 X2, 0, FE_E_COUNT, "line 4: more rows"},
        {"mismatched row early", "2\n" M1 X1 X2 M2, 0, FE_E_COUNT, "line 3: a mismatched pair where matched pair 2 of 2"},
        {"matched row late", "1\n" M1 M2, 0, FE_E_COUNT, "line 3: a matched pair where mismatched pair 1 of 1"},
        {"View 2 set order", "2\t1\n" M1 X1 X2 M2, 0, FE_E_COUNT, "matched pair 1 of 1 of set 2"},
        {"two columns", "1\nAnn\t1\n" X1, 0, FE_E_SHAPE, "line 2: 2 tab-separated columns"},
        {"five columns", "1\n" M1 "Ann\t1\tBob\t2\t3\n", 0, FE_E_SHAPE, "line 3: 5"},
        {"spaces for tabs", "1\nAnn 1 2\n" X1, 0, FE_E_SHAPE, "line 2: 1"},
        {"not a number", "1\nAnn\tone\t2\n" X1, 0, FE_E_SYNTAX, "line 2: the first image number 'one'"},
        {"signed number", "1\nAnn\t+1\t2\n" X1, 0, FE_E_SYNTAX, "line 2"},
        {"negative number", "1\n" M1 "Ann\t1\tBob\t-2\n", 0, FE_E_SYNTAX, "line 3: the second image number '-2'"},
        {"leading zero", "1\nAnn\t01\t2\n" X1, 0, FE_E_SYNTAX, "line 2"},
        {"decimal number", "1\nAnn\t1.0\t2\n" X1, 0, FE_E_SYNTAX, "line 2"},
        {"trailing space", "1\nAnn\t1\t2 \n" X1, 0, FE_E_SYNTAX, "line 2"},
        {"image zero", "1\nAnn\t0\t2\n" X1, 0, FE_E_RANGE, "line 2: the first image number is 0"},
        {"image 00", "1\nAnn\t00\t2\n" X1, 0, FE_E_RANGE, "line 2"},
        {"image too large", "1\nAnn\t1\t1000000\n" X1, 0, FE_E_RANGE, "line 2: the second image number '1000000' is over"},
        {"empty name", "1\n\t1\t2\n" X1, 0, FE_E_SYNTAX, "line 2: the name is empty"},
        {"slash in name", "1\n" M1 "Ann\t1\tx/y\t2\n", 0, FE_E_SYNTAX, "line 3: the second name 'x/y' has byte 0x2f at position 2"},
        {"dot-dot name", "1\n..\t1\t2\n" X1, 0, FE_E_SYNTAX, "position 1"},
        {"name with a space", "1\nAnn Lee\t1\t2\n" X1, 0, FE_E_SYNTAX, "0x20"},
        {"UTF-8 name", "1\nJos\xc3\xa9\t1\t2\n" X1, 0, FE_E_SYNTAX, "0xc3"},
        {"name too long", longname, nl, FE_E_SYNTAX, "line 2: the name is 256 bytes long"},
        {"NUL in name", nul_name, sizeof nul_name - 1, FE_E_SYNTAX, "line 2: control byte 0x00"},
        {"lone CR", "1\nAnn\t1\r\t2\n" X1, 0, FE_E_SYNTAX, "control byte 0x0d"},
        {"blank row", "1\n" M1 "\n" X1, 0, FE_E_SYNTAX, "line 3: blank"},
        {"trailing blank line", "1\n" M1 X1 "\n", 0, FE_E_SYNTAX, "line 4: blank"},
        {"overlong line", overlong, ol, FE_E_LIMIT, "line 3"},
        {"image paired with itself", "1\nAnn\t2\t2\n" X1, 0, FE_E_CORRUPT, "line 2: matched pair of image 2 of Ann"},
        {"mismatched pair of one person", "1\n" M1 "Ann\t1\tAnn\t2\n", 0, FE_E_CORRUPT, "line 3"},
        {"repeated matched pair", "2\n" M1 M1 X1 X2, 0, FE_E_DUPLICATE, "line 3: the pair Ann 1 / Ann 2 repeats line 2"},
        {"matched pair reversed", "2\n" M1 "Ann\t2\t1\n" X1 X2, 0, FE_E_DUPLICATE, "repeats line 2"},
        {"mismatched pair reversed", "2\n" M1 M2 X1 "Bob\t2\tAnn\t1\n", 0, FE_E_DUPLICATE, "line 5"},
        {"cut inside the last row", "1\n" M1 "Ann\t1\tBob", 0, FE_E_TRUNCATED, "line 3"},
        {"cut after a tab", "1\n" M1 "Ann\t1\tBob\t", 0, FE_E_TRUNCATED, "line 3"},
        {"cut in a matched row", "1\nAnn\t1", 0, FE_E_TRUNCATED, "line 2"},
    };
    if (!run_cases(t, cases, sizeof cases / sizeof cases[0], 0)) return;
    /* a file path appears in the message; a missing file is an I/O error */
    char path[600];
    snprintf(path, sizeof path, "%s/bad_pairs.txt", fe_t_tmpdir());
    CHECK(fe_t_write_file(path, "1\nAnn\t1\n", 8) == 0);
    fe_pair_list *L;
    CHECK_STATUS(fe_pair_list_load(path, &L), FE_E_SHAPE);
    CHECK(strstr(fe_last_error(), "bad_pairs.txt line 2") != NULL);
    CHECK_STATUS(fe_pair_list_load("/nonexistent/pairs.txt", &L), FE_E_IO);
    CHECK_STATUS(fe_pair_list_load(NULL, &L), FE_E_ARG);
    CHECK_STATUS(fe_pair_list_load_memory(NULL, 4, &L), FE_E_ARG);
    NOTE("%zu malformed pairs files, each with its own status and line", sizeof cases / sizeof cases[0]);
}

FE_TEST(people_malformed_table) {
    const bad_case cases[] = {
        {"empty file", "", 0, FE_E_TRUNCATED, "line 1"},
        {"no header", "Ann\t2\nBob\t1\n", 0, FE_E_MAGIC, "line 1"},
        {"View 2 header (two numbers)", "10\t601\nAnn\t2\n", 0, FE_E_MAGIC, "line 1"},
        {"zero people", "0\n", 0, FE_E_RANGE, "line 1: the number of people is 0"},
        {"too few rows", "3\nAnn\t2\nBob\t1\n", 0, FE_E_COUNT, "after 2 of the header's 3 people"},
        {"too many rows", "1\nAnn\t2\nBob\t1\n", 0, FE_E_COUNT, "line 3: more rows"},
        {"View 2 nested count", "2\n601\nAnn\t2\n", 0, FE_E_SHAPE, "line 2: 1 tab-separated"},
        {"three columns", "1\nAnn\t2\t3\n", 0, FE_E_SHAPE, "line 2: 3"},
        {"not a number", "1\nAnn\ttwo\n", 0, FE_E_SYNTAX, "line 2: the number of images 'two'"},
        {"zero images", "2\nAnn\t2\nBob\t0\n", 0, FE_E_RANGE, "line 3: the number of images is 0"},
        {"too many images", "1\nAnn\t1000000\n", 0, FE_E_RANGE, "line 2"},
        {"bad name", "1\n-Ann\t2\n", 0, FE_E_SYNTAX, "line 2: the name '-Ann' has byte 0x2d at position 1"},
        {"duplicate person", "3\nAnn\t2\nBob\t1\nAnn\t4\n", 0, FE_E_DUPLICATE, "line 4: Ann repeats line 2"},
        {"blank line", "2\nAnn\t2\n\nBob\t1\n", 0, FE_E_SYNTAX, "line 3: blank"},
        {"control byte", "1\nAnn\t2\x01\n", 0, FE_E_SYNTAX, "line 2: control byte 0x01"},
        {"cut after the name", "2\nAnn\t2\nBob", 0, FE_E_TRUNCATED, "line 3"},
    };
    if (!run_cases(t, cases, sizeof cases / sizeof cases[0], 1)) return;
    fe_people_list *P;
    CHECK_STATUS(fe_people_list_load("/nonexistent/people.txt", &P), FE_E_IO);
    NOTE("%zu malformed people files, each with its own status and line", sizeof cases / sizeof cases[0]);
}

FE_TEST(pairs_accepted_variants) {
    fe_pair_list *L;
    fe_pair q;
    /* CRLF, and a complete last row without its newline */
    const char *crlf = "1\r\nAnn\t1\t2\r\nAnn\t1\tBob\t2";
    CHECK_OK(fe_pair_list_load_memory(crlf, strlen(crlf), &L));
    CHECK(fe_pair_list_count(L) == 2 && fe_pair_list_folds(L) == 1);
    CHECK_OK(fe_pair_list_get(L, 1, &q));
    CHECK(strcmp(q.name1, "Ann") == 0 && strcmp(q.name2, "Bob") == 0 && q.image2 == 2 && q.line == 3);
    fe_pair_list_free(L);
    /* names with every allowed byte; the largest image number */
    const char *odd = "1\nO'Neil-Jr._2\t1\t999999\nA\t7\tz\t3\n";
    CHECK_OK(fe_pair_list_load_memory(odd, strlen(odd), &L));
    CHECK_OK(fe_pair_list_get(L, 0, &q));
    CHECK(strcmp(q.name1, "O'Neil-Jr._2") == 0 && q.image2 == 999999);
    fe_pair_list_free(L);
    /* View 2: "S<TAB>N", fold = set */
    const char *v2 = "3\t1\n" M1 X1 M2 X2 "Eve\t1\t3\nEve\t2\tFay\t1\n";
    CHECK_OK(fe_pair_list_load_memory(v2, strlen(v2), &L));
    CHECK(fe_pair_list_count(L) == 6 && fe_pair_list_folds(L) == 3);
    for (size_t i = 0; i < 6; i++) {
        CHECK_OK(fe_pair_list_get(L, i, &q));
        CHECK_MSG(q.fold == i / 2 && q.same == (i % 2 == 0), "pair %zu: fold %u same %d", i, q.fold, q.same);
    }
    fe_pair_list_free(L);
    /* "N" with N = 25: folds are floor(m * 10 / 25), sizes 3,2,3,2,... of each kind */
    char buf[4096];
    size_t o = (size_t)snprintf(buf, sizeof buf, "25\n");
    for (int i = 0; i < 25; i++) o += (size_t)snprintf(buf + o, sizeof buf - o, "P%d\t1\t2\n", i);
    for (int i = 0; i < 25; i++) o += (size_t)snprintf(buf + o, sizeof buf - o, "P%d\t1\tQ%d\t1\n", i, i);
    CHECK_OK(fe_pair_list_load_memory(buf, o, &L));
    CHECK(fe_pair_list_folds(L) == 10);
    size_t per[10] = {0};
    for (size_t i = 0; i < 50; i++) {
        CHECK_OK(fe_pair_list_get(L, i, &q));
        size_t m = i % 25;
        CHECK(q.fold == m * 10 / 25);
        per[q.fold]++;
    }
    for (int k = 0; k < 10; k++) CHECK(per[k] == (k % 2 == 0 ? 6u : 4u));
    fe_pair_list_free(L);
    /* fewer than 10 matched pairs: one fold per pair of each kind */
    const char *small = "2\n" M1 M2 X1 X2;
    CHECK_OK(fe_pair_list_load_memory(small, strlen(small), &L));
    CHECK(fe_pair_list_folds(L) == 2);
    CHECK_OK(fe_pair_list_get(L, 3, &q));
    CHECK(q.fold == 1 && q.same == 0);
    fe_pair_list_free(L);
    /* people: CRLF and a missing final newline */
    fe_people_list *P;
    const char *pe = "2\r\nAnn\t2\r\nBob_Lee\t13";
    CHECK_OK(fe_people_list_load_memory(pe, strlen(pe), &P));
    const char *name;
    uint32_t k;
    CHECK(fe_people_list_count(P) == 2);
    CHECK_OK(fe_people_list_get(P, 1, &name, &k));
    CHECK(strcmp(name, "Bob_Lee") == 0 && k == 13);
    CHECK_STATUS(fe_people_list_get(P, 2, &name, &k), FE_E_RANGE);
    CHECK(name == NULL && k == 0);
    fe_people_list_free(P);
}

FE_TEST(pairs_lfw_image_path) {
    char buf[64];
    CHECK_OK(fe_lfw_image_path("Aaron_Peirsol", 3, buf, sizeof buf));
    CHECK(strcmp(buf, "Aaron_Peirsol/Aaron_Peirsol_0003.jpg") == 0);
    CHECK_OK(fe_lfw_image_path("A", 12345, buf, sizeof buf));
    CHECK(strcmp(buf, "A/A_12345.jpg") == 0);
    /* "Bo/Bo_0001.jpg" is 14 bytes + NUL */
    CHECK_OK(fe_lfw_image_path("Bo", 1, buf, 15));
    CHECK(strcmp(buf, "Bo/Bo_0001.jpg") == 0);
    CHECK_STATUS(fe_lfw_image_path("Bo", 1, buf, 14), FE_E_LIMIT);
    CHECK(buf[0] == 0);
    static const struct { const char *name; uint32_t image; } bad[] = {
        {"", 1}, {"../etc", 1}, {"a/b", 1}, {".hidden", 1}, {"_x", 1}, {"Ann Lee", 1},
        {"Ann", 0}, {"Ann", FE_LFW_MAX_INDEX + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(fe_lfw_image_path(bad[i].name, bad[i].image, buf, sizeof buf) == FE_E_ARG,
                  "'%s' %u accepted", bad[i].name, bad[i].image);
    char longname[FE_LFW_MAX_NAME + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK_STATUS(fe_lfw_image_path(longname, 1, buf, sizeof buf), FE_E_ARG);
    longname[FE_LFW_MAX_NAME] = 0;   /* exactly the limit: valid, but the buffer is small */
    CHECK_STATUS(fe_lfw_image_path(longname, 1, buf, sizeof buf), FE_E_LIMIT);
}

FE_TEST(pairs_allocation_failures) {
    /* every allocation of both readers, failed in turn: FE_E_NOMEM, nothing half-built
     * (leaks show under make check) */
    const char *pairs = "2\n" M1 M2 X1 X2, *people = "2\nAnn\t2\nBob\t1\n";
    int nomem = 0;
    for (long k = 0; k < 12; k++) {
        fe_pair_list *L = (fe_pair_list *)1;
        fe_people_list *P = (fe_people_list *)1;
        fe__alloc_fail_after(k);
        fe_status a = fe_pair_list_load_memory(pairs, strlen(pairs), &L);
        fe__alloc_fail_after(k);
        fe_status b = fe_people_list_load_memory(people, strlen(people), &P);
        fe__alloc_fail_after(-1);
        CHECK_MSG((a == FE_OK) == (L != NULL) && (a == FE_OK || a == FE_E_NOMEM), "pairs, fail after %ld: %s",
                  k, fe_status_name(a));
        CHECK_MSG((b == FE_OK) == (P != NULL) && (b == FE_OK || b == FE_E_NOMEM), "people, fail after %ld: %s",
                  k, fe_status_name(b));
        nomem += (a == FE_E_NOMEM) + (b == FE_E_NOMEM);
        fe_pair_list_free(L);
        fe_people_list_free(P);
    }
    CHECK(nomem == 10);  /* 4 + 6 allocations: each one's failure was seen */
    NOTE("%d injected allocation failures, each FE_E_NOMEM", nomem);
}
