/* Reverse-mode automatic differentiation as a graph rewrite.
 *
 * autodiff_build() appends to g the nodes that compute d(loss)/d(param) for
 * each requested tensor.  Each op's rule (autodiff_rule_<sym>, one per op in
 * passes/grad/) reads the gradients of the node's outputs and emits nodes
 * that produce the gradients of its inputs: ordinary ops where ONNX has them,
 * ssdc's gradient ops (graph/ops_training.def) where it does not. */
#ifndef SSDC_PASSES_AUTODIFF_H
#define SSDC_PASSES_AUTODIFF_H

#include "graph/builder.h"
#include "graph/graph.h"
#include "graph/ops.h"

typedef struct autodiff_ctx autodiff_ctx;

typedef struct {
    /* Emits the gradient nodes of one forward node.  Must call
     * autodiff_set_grad() for every input i with autodiff_needs_grad(c, i). */
    ssdc_status (*grad)(autodiff_ctx *c, ssdc_error *err);
} autodiff_rule;

#define X(e, name, sym) extern const autodiff_rule autodiff_rule_##sym __attribute__((weak));
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X

/* Rule of op id, NULL if the op has no gradient. */
const autodiff_rule *autodiff_rule_get(int op);

/* Differentiates scalar tensor `loss` with respect to params[0..n).  On
 * success grads[i] is the tensor holding d(loss)/d(params[i]) (same shape
 * and dtype as the param; a zero tensor when the loss does not depend on it).
 * Fails naming the first node on the path that has no gradient rule. */
ssdc_status autodiff_build(graph *g, int loss, const int *params, int n_params, int *grads,
                           ssdc_error *err);

/* ---- for rules ---- */

/* The forward node (re-fetch after adding nodes: g->nodes may move). */
const graph_node *autodiff_node(const autodiff_ctx *c);
graph *autodiff_graph(const autodiff_ctx *c);
/* Tensor index of forward input / output i (-1 if omitted). */
int autodiff_input(const autodiff_ctx *c, int i);
int autodiff_output(const autodiff_ctx *c, int i);
/* Whether input i needs a gradient (it depends on a param, is float). */
bool autodiff_needs_grad(const autodiff_ctx *c, int i);
/* Gradient of output i, or -1 if the loss does not depend on it. */
int autodiff_dy(const autodiff_ctx *c, int i);
/* Gradient of output i; a zero tensor shaped like output i if it has none. */
ssdc_status autodiff_dy_or_zeros(autodiff_ctx *c, int i, int *t, ssdc_error *err);

/* Records t as a gradient contribution to input i (summed with others). */
ssdc_status autodiff_set_grad(autodiff_ctx *c, int i, int t, ssdc_error *err);

/* Makes forward output i exist (e.g. Dropout's mask, MaxPool's indices) and
 * returns its tensor. */
ssdc_status autodiff_require_output(autodiff_ctx *c, int i, int *t, ssdc_error *err);

/* The builder of the gradient nodes: what a rule adds through it is named
 * "<forward node>/grad/<what>#<k>" (GRAPH_BUILDER_NUMBERED, one counter for
 * the whole pass; what NULL: the op type).  It reports errors into the err
 * the rule was given. */
graph_builder *autodiff_builder(autodiff_ctx *c);
/* A rank-0 constant v with the dtype of tensor ref: double as
 * "<node>/grad/const_f64#<k>" (the first free k), else float as
 * "<node>/grad/const#<k>" (the pass's counter). */
ssdc_status autodiff_const_like(autodiff_ctx *c, double v, int ref, int *t, ssdc_error *err);
/* Shape(tensor), created once per tensor. */
ssdc_status autodiff_shape_of(autodiff_ctx *c, int tensor, int *t, ssdc_error *err);
/* SumTo(g, Shape(like)): reduces a broadcast gradient to the shape of
 * `like`.  Returns g itself when the static shapes already agree. */
ssdc_status autodiff_sum_to_like(autodiff_ctx *c, int g, int like, int *t, ssdc_error *err);

#endif
