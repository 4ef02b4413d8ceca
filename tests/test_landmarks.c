/*
 * test_landmarks.c — the strict landmark TSV reader (real LFW list when ../shared is present,
 * and a table of malformed lists, each with its own status and the line in the message), the
 * path-suffix lookup, and the one-image "x1,y1,...,x5,y5" form.
 */
#include "test.h"
#include "internal.h"

#include <string.h>

#define HDR "image\tleft_eye_x\tleft_eye_y\tright_eye_x\tright_eye_y\tnose_x\tnose_y\t" \
            "mouth_left_x\tmouth_left_y\tmouth_right_x\tmouth_right_y\n"
#define ROW_A "Ann/Ann_0001.jpg\t64.20\t64.20\t88.20\t66.60\t74.40\t85.80\t61.80\t94.20\t83.40\t96.60\n"
#define ROW_B "Bob/Bob_0002.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\n"

FE_TEST(landmarks_real_lfw_list) {
    const char *path = fe_t_need_shared(t, "data/lfw/landmarks.tsv");
    if (!path) return;
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    fe_landmark_list *L;
    CHECK_OK(fe_landmark_list_load(p, &L));
    size_t n = fe_landmark_list_count(L);
    CHECK_MSG(n == 9525, "%zu rows", n);
    const char *key;
    fe_landmarks lm;
    CHECK_OK(fe_landmark_list_get(L, 0, &key, &lm));
    CHECK(strcmp(key, "Aaron_Eckhart/Aaron_Eckhart_0001.jpg") == 0);
    const float want[10] = {64.20f, 64.20f, 88.20f, 66.60f, 74.40f, 85.80f, 61.80f, 94.20f, 83.40f, 96.60f};
    for (int k = 0; k < 5; k++) CHECK(lm.x[k] == want[2 * k] && lm.y[k] == want[2 * k + 1]);
    /* every row is found from an image path under a data directory, and only itself */
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(fe_landmark_list_get(L, i, &key, NULL));
        char img[4096];
        snprintf(img, sizeof img, "/some/where/lfw/images/%s", key);
        size_t idx;
        fe_landmarks got;
        CHECK_OK(fe_landmark_list_find(L, img, &got, &idx));
        CHECK_MSG(idx == i, "row %zu found as %zu", i, idx);
    }
    fe_landmarks got;
    CHECK_STATUS(fe_landmark_list_find(L, "/x/Aaron_Eckhart/Aaron_Eckhart_0001.ppm", &got, NULL),
                 FE_E_NOT_FOUND);
    CHECK_STATUS(fe_landmark_list_get(L, n, &key, &lm), FE_E_RANGE);
    CHECK(key == NULL);
    fe_landmark_list_free(L);
    NOTE("%zu rows; every key found from a full image path", n);
}

typedef struct bad_case {
    const char *what;
    const char *text;   /* NULL: built by the test */
    size_t      len;    /* 0: strlen(text) */
    fe_status   want;
    const char *in_msg; /* must appear in fe_last_error() */
} bad_case;

FE_TEST(landmarks_malformed_table) {
    static char overlong[70000];
    size_t ol = 0;
    ol += (size_t)snprintf(overlong, sizeof overlong, "%s", HDR);
    memset(overlong + ol, 'k', FE_MAX_LINE + 1);
    ol += FE_MAX_LINE + 1;
    ol += (size_t)snprintf(overlong + ol, sizeof overlong - ol, "\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\n");
    static const char nul_key[] = HDR "Ann/A\0nn.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\n";
    const bad_case cases[] = {
        {"empty file", "", 0, FE_E_TRUNCATED, "line 1: empty file"},
        {"missing header", ROW_A ROW_B, 0, FE_E_MAGIC, "line 1"},
        {"header with a BOM", "\xEF\xBB\xBF" HDR ROW_A, 0, FE_E_MAGIC, "line 1"},
        {"header with spaces", "image left_eye_x left_eye_y right_eye_x right_eye_y nose_x nose_y "
         "mouth_left_x mouth_left_y mouth_right_x mouth_right_y\n" ROW_A, 0, FE_E_MAGIC, "line 1"},
        {"header missing a column", "image\tleft_eye_x\tleft_eye_y\tright_eye_x\tright_eye_y\tnose_x\t"
         "nose_y\tmouth_left_x\tmouth_left_y\tmouth_right_x\n", 0, FE_E_MAGIC, "line 1"},
        {"ten columns", HDR ROW_A "Bob/b.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", 0, FE_E_SHAPE, "line 3: 10"},
        {"twelve columns", HDR "Bob/b.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\n", 0, FE_E_SHAPE, "line 2: 12"},
        {"space-separated row", HDR "Bob/b.jpg 1 2 3 4 5 6 7 8 9 10\n", 0, FE_E_SHAPE, "line 2"},
        {"non-numeric", HDR ROW_A "Bob/b.jpg\t1\t2\tabc\t4\t5\t6\t7\t8\t9\t10\n", 0, FE_E_SYNTAX,
         "line 3 column 4 (right_eye_x): 'abc'"},
        {"two decimal points", HDR "Bob/b.jpg\t1.2.3\t2\t3\t4\t5\t6\t7\t8\t9\t10\n", 0, FE_E_SYNTAX, "line 2"},
        {"empty field", HDR "Bob/b.jpg\t1\t\t3\t4\t5\t6\t7\t8\t9\t10\n", 0, FE_E_SYNTAX, "line 2 column 3"},
        {"leading space", HDR "Bob/b.jpg\t 1\t2\t3\t4\t5\t6\t7\t8\t9\t10\n", 0, FE_E_SYNTAX, "line 2"},
        {"hex number", HDR "Bob/b.jpg\t0x10\t2\t3\t4\t5\t6\t7\t8\t9\t10\n", 0, FE_E_SYNTAX, "line 2"},
        {"bare exponent", HDR "Bob/b.jpg\t1e\t2\t3\t4\t5\t6\t7\t8\t9\t10\n", 0, FE_E_SYNTAX, "line 2"},
        {"NaN", HDR ROW_A ROW_B "Cy/c.jpg\t1\t2\t3\t4\tNaN\t6\t7\t8\t9\t10\n", 0, FE_E_NUMERIC,
         "line 4 column 6 (nose_x)"},
        {"-inf", HDR "Cy/c.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t9\t-inf\n", 0, FE_E_NUMERIC, "line 2"},
        {"Infinity", HDR "Cy/c.jpg\tInfinity\t2\t3\t4\t5\t6\t7\t8\t9\t1\n", 0, FE_E_NUMERIC, "line 2"},
        {"huge exponent", HDR "Cy/c.jpg\t1e400\t2\t3\t4\t5\t6\t7\t8\t9\t1\n", 0, FE_E_RANGE, "line 2"},
        {"out of range", HDR "Cy/c.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t-40000\t1\n", 0, FE_E_RANGE, "line 2"},
        {"overlong line", overlong, ol, FE_E_LIMIT, "line 2"},
        {"duplicate key", HDR ROW_A ROW_B ROW_A, 0, FE_E_DUPLICATE, "line 4"},
        {"truncated last line", HDR ROW_A "Bob/Bob_0002.jpg\t1\t2\t3", 0, FE_E_TRUNCATED, "line 3"},
        {"truncated after the key", HDR "Bob/Bob_0002.jpg", 0, FE_E_TRUNCATED, "line 2"},
        {"blank line", HDR ROW_A "\n" ROW_B, 0, FE_E_SYNTAX, "line 3: blank"},
        {"trailing blank line", HDR ROW_A "\n", 0, FE_E_SYNTAX, "line 3: blank"},
        {"lone CR", HDR "Bob/b.jpg\t1\t2\t3\t4\t5\r\t6\t7\t8\t9\t10\n", 0, FE_E_SYNTAX, "line 2"},
        {"NUL in key", nul_key, sizeof nul_key - 1, FE_E_SYNTAX, "line 2: control byte 0x00"},
        {"empty key", HDR "\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\n", 0, FE_E_SYNTAX, "line 2: empty image key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->text);
        fe_landmark_list *L = (fe_landmark_list *)1;
        fe_status st = fe_landmark_list_load_memory(c->text, len, &L);
        CHECK_MSG(st == c->want, "%s: got %s, want %s (%s)", c->what, fe_status_name(st),
                  fe_status_name(c->want), fe_last_error());
        CHECK_MSG(L == NULL, "%s: output not NULL", c->what);
        CHECK_MSG(strstr(fe_last_error(), c->in_msg) != NULL, "%s: message '%s' lacks '%s'", c->what,
                  fe_last_error(), c->in_msg);
    }
    /* the duplicate message names both lines */
    fe_landmark_list *L;
    CHECK_STATUS(fe_landmark_list_load_memory(HDR ROW_A ROW_B ROW_A, strlen(HDR ROW_A ROW_B ROW_A), &L),
                 FE_E_DUPLICATE);
    CHECK_MSG(strstr(fe_last_error(), "repeats line 2"), "%s", fe_last_error());
    /* a file path appears in the message */
    char path[600];
    snprintf(path, sizeof path, "%s/bad.tsv", fe_t_tmpdir());
    CHECK(fe_t_write_file(path, HDR "x\t1\n", strlen(HDR "x\t1\n")) == 0);
    CHECK_STATUS(fe_landmark_list_load(path, &L), FE_E_SHAPE);
    CHECK(strstr(fe_last_error(), "bad.tsv line 2") != NULL);
    CHECK_STATUS(fe_landmark_list_load("/nonexistent/x.tsv", &L), FE_E_IO);
    NOTE("%zu malformed lists, each with its own status and line", sizeof cases / sizeof cases[0]);
}

FE_TEST(landmarks_accepted_variants) {
    fe_landmark_list *L;
    fe_landmarks lm;
    /* CRLF line endings */
    const char *crlf = "image\tleft_eye_x\tleft_eye_y\tright_eye_x\tright_eye_y\tnose_x\tnose_y\t"
                       "mouth_left_x\tmouth_left_y\tmouth_right_x\tmouth_right_y\r\n"
                       "Bob/b.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\r\n";
    CHECK_OK(fe_landmark_list_load_memory(crlf, strlen(crlf), &L));
    CHECK(fe_landmark_list_count(L) == 1);
    CHECK_OK(fe_landmark_list_get(L, 0, NULL, &lm));
    CHECK(lm.y[4] == 10.0f);
    fe_landmark_list_free(L);
    /* a complete last row without its newline */
    const char *nonl = HDR ROW_A "Bob/Bob_0002.jpg\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10";
    CHECK_OK(fe_landmark_list_load_memory(nonl, strlen(nonl), &L));
    CHECK(fe_landmark_list_count(L) == 2);
    fe_landmark_list_free(L);
    /* header only: an empty list */
    CHECK_OK(fe_landmark_list_load_memory(HDR, strlen(HDR), &L));
    CHECK(fe_landmark_list_count(L) == 0);
    CHECK_STATUS(fe_landmark_list_find(L, "a/b.jpg", &lm, NULL), FE_E_NOT_FOUND);
    fe_landmark_list_free(L);
    /* number forms; values are the nearest float to the decimal */
    const char *nums = HDR "k.jpg\t6.42e1\t+1\t-0.5\t.25\t7.\t1E-1\t32768\t-32768\t0.1\t123.456789012345678901234\n";
    CHECK_OK(fe_landmark_list_load_memory(nums, strlen(nums), &L));
    CHECK_OK(fe_landmark_list_get(L, 0, NULL, &lm));
    CHECK(lm.x[0] == 64.2f && lm.y[0] == 1.0f && lm.x[1] == -0.5f && lm.y[1] == 0.25f);
    CHECK(lm.x[2] == 7.0f && lm.y[2] == 0.1f && lm.x[3] == 32768.0f && lm.y[3] == -32768.0f);
    CHECK(lm.x[4] == 0.1f && lm.y[4] == 123.456789012345678f);
    fe_landmark_list_free(L);
}

FE_TEST(landmarks_find_suffix_rule) {
    const char *text = HDR "Ann/Ann_0001.jpg\t1\t1\t1\t1\t1\t1\t1\t1\t1\t1\n"
                           "Ann_0002.jpg\t2\t2\t2\t2\t2\t2\t2\t2\t2\t2\n"
                           "b/Ann/Ann_0001.jpg\t3\t3\t3\t3\t3\t3\t3\t3\t3\t3\n"
                           "/abs/c.jpg\t4\t4\t4\t4\t4\t4\t4\t4\t4\t4\n";
    fe_landmark_list *L;
    CHECK_OK(fe_landmark_list_load_memory(text, strlen(text), &L));
    static const struct { const char *path; int row; } q[] = {
        {"lfw/Ann/Ann_0001.jpg", 0},     {"Ann/Ann_0001.jpg", 0},    {"/z/b/Ann/Ann_0001.jpg", 2},
        {"b/Ann/Ann_0001.jpg", 2},       {"xAnn/Ann_0001.jpg", -1},  {"Ann_0001.jpg", -1},
        {"Ann_0002.jpg", 1},             {"d/e/Ann_0002.jpg", 1},    {"Ann_0002.jpg.bak", -1},
        {"xAnn_0002.jpg", -1},           {"/abs/c.jpg", 3},          {"/x/abs/c.jpg", 3},
        {"abs/c.jpg", -1},               {"", -1},                   {"Ann/ann_0001.jpg", -1},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        fe_landmarks lm;
        size_t idx = 99;
        fe_status st = fe_landmark_list_find(L, q[i].path, &lm, &idx);
        if (q[i].row < 0) {
            CHECK_MSG(st == FE_E_NOT_FOUND, "'%s' matched row %zu", q[i].path, idx);
        } else {
            CHECK_MSG(st == FE_OK && idx == (size_t)q[i].row && lm.x[0] == (float)(q[i].row + 1),
                      "'%s': %s idx %zu", q[i].path, fe_status_name(st), idx);
        }
    }
    fe_landmark_list_free(L);
}

FE_TEST(landmarks_parse_one_image_form) {
    fe_landmarks lm;
    CHECK_OK(fe_landmarks_parse("64.2,64.2,88.2,66.6,74.4,85.8,61.8,94.2,83.4,96.6", &lm));
    CHECK(lm.x[0] == 64.2f && lm.y[2] == 85.8f && lm.x[4] == 83.4f && lm.y[4] == 96.6f);
    CHECK_OK(fe_landmarks_parse(" 1, 2 ,3,4,5,6,7,8,9,-10 ", &lm));
    CHECK(lm.x[0] == 1 && lm.y[0] == 2 && lm.y[4] == -10);
    static const struct { const char *s; fe_status want; } bad[] = {
        {"1,2,3,4,5,6,7,8,9", FE_E_SHAPE},         {"1,2,3,4,5,6,7,8,9,10,11", FE_E_SHAPE},
        {"1,2,3,4,5,6,7,8,9,10,", FE_E_SHAPE},     {"", FE_E_SYNTAX},
        {"1,2,3,4,nan,6,7,8,9,10", FE_E_NUMERIC},  {"1,2,3,4,5,6,7,8,9,inf", FE_E_NUMERIC},
        {"1,2,3,4,x,6,7,8,9,10", FE_E_SYNTAX},     {"1,,3,4,5,6,7,8,9,10", FE_E_SYNTAX},
        {"1;2;3;4;5;6;7;8;9;10", FE_E_SYNTAX},     {"1,2,3,4,5,6,7,8,9,1e9", FE_E_RANGE},
        {"1\t,2,3,4,5,6,7,8,9,10", FE_E_SYNTAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fe_status st = fe_landmarks_parse(bad[i].s, &lm);
        CHECK_MSG(st == bad[i].want, "'%s': %s, want %s (%s)", bad[i].s, fe_status_name(st),
                  fe_status_name(bad[i].want), fe_last_error());
    }
    CHECK_STATUS(fe_landmarks_parse(NULL, &lm), FE_E_ARG);
}

FE_TEST(landmarks_allocation_failures) {
    const char *text = HDR ROW_A ROW_B;
    int steps = 0;
    for (long n = 0;; n++) {
        fe_landmark_list *L = (fe_landmark_list *)1;
        fe__alloc_fail_after(n);
        fe_status st = fe_landmark_list_load_memory(text, strlen(text), &L);
        fe__alloc_fail_after(-1);
        steps++;
        if (st == FE_OK) {
            fe_landmark_list_free(L);
            break;
        }
        CHECK_MSG(st == FE_E_NOMEM && L == NULL, "step %ld: %s", n, fe_status_name(st));
        CHECK(n < 50);
    }
    NOTE("%d failure points", steps);
}
