/*
 * model.c — the public model and session objects (include/faceemd.h, "Model and session").
 *
 * A model is the prepared network (weights dequantized and packed once, then read-only:
 * share it between threads); the blob it came from is closed at the end of open. A session
 * owns the forward workspace, sized once at create, so embedding allocates nothing.
 */
#include "model.h"

#include <stddef.h>
#include <string.h>

struct fe_model {
    fe__net net;
};

struct fe_session {
    const fe_model        *model;
    fe__net_ws            *ws;
    const fe__gemm_kernel *kern;
    int                    n_threads;   /* 0: fe__max_threads() per call */
};

void fe_model_options_default(fe_model_options *opt) {
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->size = sizeof *opt;
    opt->verify_crc = 1;
}

static fe_status read_options(const fe_model_options *opt, int *verify_crc) {
    *verify_crc = 1;
    if (!opt) return FE_OK;
    size_t need = offsetof(fe_model_options, verify_crc) + sizeof opt->verify_crc;
    if (opt->size < need)
        return fe__fail(FE_E_ARG, "fe_model_options.size is %u (use fe_model_options_default)",
                        opt->size);
    *verify_crc = opt->verify_crc != 0;
    return FE_OK;
}

/* Takes ownership of blob (closes it). */
static fe_status open_from_blob(fe__blob *blob, fe_model **out_model) {
    fe_model *m = fe__calloc(1, sizeof *m);
    fe_status st = m ? fe__net_load(&m->net, blob)
                     : fe__fail(FE_E_NOMEM, "cannot allocate a model");
    fe__blob_close(blob);
    if (st != FE_OK) {
        fe__free(m);
        return st;
    }
    *out_model = m;
    return FE_OK;
}

fe_status fe_model_open(const char *path, const fe_model_options *opt, fe_model **out_model) {
    if (!out_model) return fe__fail(FE_E_ARG, "out_model is NULL");
    *out_model = NULL;
    if (!path) return fe__fail(FE_E_ARG, "path is NULL");
    int verify;
    fe_status st = read_options(opt, &verify);
    if (st != FE_OK) return st;
    fe__blob *blob;
    st = fe__blob_open_file(path, verify, &blob);
    if (st != FE_OK) return st;
    return open_from_blob(blob, out_model);
}

fe_status fe_model_open_memory(const void *data, size_t size, const fe_model_options *opt,
                               fe_model **out_model) {
    if (!out_model) return fe__fail(FE_E_ARG, "out_model is NULL");
    *out_model = NULL;
    if (!data && size) return fe__fail(FE_E_ARG, "data is NULL");
    int verify;
    fe_status st = read_options(opt, &verify);
    if (st != FE_OK) return st;
    fe__blob *blob;
    st = fe__blob_open_memory(data, size, verify, &blob);
    if (st != FE_OK) return st;
    return open_from_blob(blob, out_model);
}

void fe_model_close(fe_model *model) {
    if (!model) return;
    fe__net_free(&model->net);
    fe__free(model);
}

const fe__net *fe__model_net(const fe_model *m) { return &m->net; }

fe_status fe_session_create(const fe_model *model, fe_session **out_session) {
    if (!out_session) return fe__fail(FE_E_ARG, "out_session is NULL");
    *out_session = NULL;
    if (!model) return fe__fail(FE_E_ARG, "model is NULL");
    fe_session *s = fe__calloc(1, sizeof *s);
    if (!s) return fe__fail(FE_E_NOMEM, "cannot allocate a session");
    fe_status st = fe__net_ws_create(&s->ws);
    if (st != FE_OK) {
        fe__free(s);
        return st;
    }
    s->model = model;
    s->kern = fe__gemm_kernel_default();
    *out_session = s;
    return FE_OK;
}

void fe_session_destroy(fe_session *session) {
    if (!session) return;
    fe__net_ws_free(session->ws);
    fe__free(session);
}

void fe__session_set_kernel(fe_session *s, const fe__gemm_kernel *kern) { s->kern = kern; }
void fe__session_set_threads(fe_session *s, int n_threads) { s->n_threads = n_threads; }
fe__net_ws *fe__session_ws(fe_session *s) { return s->ws; }

static fe_status run(fe_session *s, const uint8_t *const *u8, const float *const *f32, size_t n,
                     fe_features *out) {
    int nt = s->n_threads > 0 ? s->n_threads : fe__max_threads();
    fe_status st = fe__net_forward(&s->model->net, s->ws, s->kern, nt, u8, f32, n, out);
    if (st != FE_OK) memset(out, 0, n * sizeof *out);
    return st;
}

fe_status fe_embed(fe_session *s, const uint8_t *rgb_chip, fe_features *out) {
    if (!s || !rgb_chip || !out) return fe__fail(FE_E_ARG, "session, chip or out is NULL");
    return run(s, &rgb_chip, NULL, 1, out);
}

fe_status fe_embed_batch(fe_session *s, const uint8_t *const *rgb_chips, size_t n,
                         fe_features *out) {
    if (!s || (n && (!rgb_chips || !out))) return fe__fail(FE_E_ARG, "NULL argument");
    if (n == 0) return FE_OK;
    return run(s, rgb_chips, NULL, n, out);
}

fe_status fe_embed_image(fe_session *s, const fe_image *img, fe_features *out) {
    if (!s || !img || !img->data || !out) return fe__fail(FE_E_ARG, "NULL argument");
    if (img->width == FE_CHIP_SIZE && img->height == FE_CHIP_SIZE && img->channels == 3)
        return fe_embed(s, img->data, out);
    float *in = fe__net_ws_input(s->ws);
    fe_status st = fe__faceapi_input(img, in);
    if (st != FE_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    const float *p = in;
    return run(s, NULL, &p, 1, out);
}
