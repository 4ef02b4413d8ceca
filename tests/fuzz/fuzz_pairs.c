/*
 * fuzz_pairs.c — libFuzzer target for the LFW pairs and people readers (pairs.c).
 *
 * The same bytes go to both readers. When a list loads, its invariants are checked: counts
 * and folds agree with the rows (each fold non-empty, matched/mismatched halves equal per
 * fold), names are valid LFW names (fe_lfw_image_path accepts them and the path has the
 * expected length), image numbers are in range, a matched pair is distinct images of one
 * person, a mismatched pair two people, line numbers strictly increase.
 */
#include "faceemd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_pairs(const fe_pair_list *L) {
    size_t n = fe_pair_list_count(L);
    uint32_t folds = fe_pair_list_folds(L);
    if (n == 0 || n % 2 || folds == 0 || folds > n / 2) abort();
    size_t *same = calloc(folds, sizeof *same), *diff = calloc(folds, sizeof *diff);
    if (!same || !diff) { free(same); free(diff); return; }
    uint32_t last_line = 1;
    char path[2 * FE_LFW_MAX_NAME + 32];
    for (size_t i = 0; i < n; i++) {
        fe_pair q;
        if (fe_pair_list_get(L, i, &q) != FE_OK) abort();
        if (q.fold >= folds || q.line <= last_line) abort();
        last_line = q.line;
        if (q.image1 < 1 || q.image1 > FE_LFW_MAX_INDEX || q.image2 < 1 || q.image2 > FE_LFW_MAX_INDEX) abort();
        int one = strcmp(q.name1, q.name2) == 0;
        if (q.same ? (!one || q.image1 == q.image2) : one) abort();
        if (fe_lfw_image_path(q.name1, q.image1, path, sizeof path) != FE_OK) abort();
        if (strlen(path) < 2 * strlen(q.name1) + 10) abort();
        if (fe_lfw_image_path(q.name2, q.image2, path, sizeof path) != FE_OK) abort();
        (q.same ? same : diff)[q.fold]++;
    }
    for (uint32_t k = 0; k < folds; k++)
        if (same[k] == 0 || same[k] != diff[k]) abort();
    fe_pair q;
    if (fe_pair_list_get(L, n, &q) != FE_E_RANGE) abort();
    free(same);
    free(diff);
}

static void check_people(const fe_people_list *P) {
    size_t n = fe_people_list_count(P);
    if (n == 0) abort();
    char path[2 * FE_LFW_MAX_NAME + 32];
    for (size_t i = 0; i < n; i++) {
        const char *name;
        uint32_t k;
        if (fe_people_list_get(P, i, &name, &k) != FE_OK || !name) abort();
        if (k < 1 || k > FE_LFW_MAX_INDEX) abort();
        if (fe_lfw_image_path(name, k, path, sizeof path) != FE_OK) abort();
    }
    if (fe_people_list_get(P, n, NULL, NULL) != FE_E_RANGE) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    fe_pair_list *L = NULL;
    if (fe_pair_list_load_memory(data, size, &L) == FE_OK) {
        check_pairs(L);
        fe_pair_list_free(L);
    } else if (L != NULL) {
        abort();
    }
    fe_people_list *P = NULL;
    if (fe_people_list_load_memory(data, size, &P) == FE_OK) {
        check_people(P);
        fe_people_list_free(P);
    } else if (P != NULL) {
        abort();
    }
    return 0;
}
