/*
 * model.h — internal hooks on the public model/session objects (tests and benchmarks):
 * force a GEMM kernel or a thread count on one session, reach its workspace.
 */
#ifndef FE_MODEL_H
#define FE_MODEL_H

#include "net.h"

/* Uses kern for this session's forwards (default: fe__gemm_kernel_default at create). */
void fe__session_set_kernel(fe_session *s, const fe__gemm_kernel *kern);
/* Threads for this session's forwards; 0 (default) means fe__max_threads() at each call. */
void fe__session_set_threads(fe_session *s, int n_threads);
fe__net_ws *fe__session_ws(fe_session *s);
const fe__net *fe__model_net(const fe_model *m);

#endif
