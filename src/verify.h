/*
 * verify.h — internal part of verify.c: leave-one-out nearest-neighbour P@1, the
 * identification sanity check that goes with LFW verification accuracy.
 *
 * Definition: every row i of emb is a query against all the other rows (the gallery is the
 * whole set minus the query itself); its nearest neighbour is the row with the highest dot
 * product (the cosine for unit rows), ties going to the lower index. A query counts only if
 * its label occurs at least twice (otherwise there is nothing to find: such rows are
 * distractors only); P@1 = correct / queries, correct when the neighbour has the query's label.
 */
#ifndef FE_VERIFY_H
#define FE_VERIFY_H

#include "internal.h"

/* emb: n x dim, row-major (unit rows for cosine). label: n identity ids. out_nn (n, may be
 * NULL) gets each row's nearest neighbour. Scores come from fe__sgemm in blocks of 256 rows
 * (multithreaded as fe__max_threads allows). FE_E_ARG, FE_E_NUMERIC (NaN/Inf in emb),
 * FE_E_LIMIT, FE_E_OVERFLOW, FE_E_NOMEM. */
fe_status fe__nn_p1(const float *emb, size_t n, size_t dim, const uint32_t *label,
                    size_t *out_queries, size_t *out_correct, uint32_t *out_nn);

#endif
