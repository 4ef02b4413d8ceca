/*
 * test_blob.c — the .feb weight blob (weights/FORMAT.md): the committed faceres.feb, the
 * network schema, exact dequantization, a table of corrupt blobs each with its own status,
 * allocation faults, the writer's determinism, and the faceapi2feb converter.
 */
#include "test.h"
#include "blob.h"
#include "net_schema.h"
#include "sha256.h"

#include <float.h>
#include <string.h>

#define FACERES "weights/faceres.feb"

FE_TEST(blob_faceres_opens_and_matches_schema) {
    fe__blob *b;
    CHECK_OK(fe__blob_open_file(FACERES, 1, &b));
    fe_status st = fe__net_schema_check(b);
    size_t n = fe__blob_n_tensors(b);
    fe__blob_close(b);
    CHECK_OK(st);
    CHECK(n == FE_NET_N_TENSORS);
}
