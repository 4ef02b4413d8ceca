/*
 * fuzz_landmarks.c — libFuzzer target for the landmark TSV reader and the one-image form.
 *
 * The input is parsed as a list; when it loads, every row is read back and looked up by a
 * path ending in its key (it must find a row whose key is at least as long), and by its key
 * with a character dropped. The same bytes, cut at the first NUL, go to fe_landmarks_parse.
 */
#include "faceemd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    fe_landmark_list *list = NULL;
    if (fe_landmark_list_load_memory(data, size, &list) == FE_OK) {
        size_t n = fe_landmark_list_count(list);
        for (size_t i = 0; i < n && i < 64; i++) {
            const char *key;
            fe_landmarks lm;
            if (fe_landmark_list_get(list, i, &key, &lm) != FE_OK || !key) abort();
            size_t kl = strlen(key);
            char *path = malloc(kl + 8);
            if (!path) break;
            memcpy(path, "/d/e/", 5);
            memcpy(path + 5, key, kl + 1);
            size_t idx;
            if (fe_landmark_list_find(list, path, &lm, &idx) != FE_OK) abort();
            const char *found;
            fe_landmark_list_get(list, idx, &found, NULL);
            if (strlen(found) < kl) abort();  /* the longest match wins */
            if (kl > 1) fe_landmark_list_find(list, path + 6, &lm, NULL);
            free(path);
        }
        if (fe_landmark_list_get(list, n, NULL, NULL) != FE_E_RANGE) abort();
        fe_landmark_list_free(list);
    } else if (list != NULL) {
        abort();
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    fe_landmarks lm;
    fe_landmarks_parse(text, &lm);
    free(text);
    return 0;
}
