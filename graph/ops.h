/* The op registry: one schema per op (arity, attributes, shape inference,
 * FLOPs).  Kernels live in runtime/, found by the same op id. */
#ifndef SSDC_GRAPH_OPS_H
#define SSDC_GRAPH_OPS_H

#include "graph/graph.h"

/* Ops of the default ONNX domain (graph/ops.def), then ssdc's own gradient
 * ops of domain "ai.ssdc" (graph/ops_training.def). */
#define GRAPH_SSDC_DOMAIN "ai.ssdc"

typedef enum {
#define X(e, name, sym) GRAPH_OP_##e,
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X
    GRAPH_OP_COUNT
} graph_op_id;

/* Ops below this id are ONNX ops; from it on, ssdc's own. */
enum {
    GRAPH_OP_ONNX_COUNT = 0
#define X(e, name, sym) +1
#include "graph/ops.def"
#undef X
};

typedef struct {
    const char *name;
    graph_attr_type type;
} graph_attr_spec;

/* What shape inference sees of one node.  Arrays have n_in / n_out entries.
 * An omitted optional input has node->inputs[i] == -1, dtype UNDEFINED and
 * rank -1.  in_value[i] is the input's value when it is known before running
 * (initializer, Constant, folded shape arithmetic, or -- at plan time -- a
 * caller-fed integer input), else NULL.  Shapes may be symbolic (dims -1)
 * during static inference; at plan time every input shape is concrete. */
typedef struct {
    const graph *g;
    const graph_node *node;
    int n_in;
    const graph_dtype *in_dtype;
    const graph_shape *in_shape;
    const graph_value *const *in_value;
    int n_out;
    graph_dtype *out_dtype;   /* to fill */
    graph_shape *out_shape;   /* to fill (pre-set to unknown) */
} graph_infer_ctx;

typedef struct graph_op_schema {
    const char *name;
    int min_in, max_in;      /* max_in == -1: variadic */
    int min_out, max_out;
    const graph_attr_spec *attrs;  /* every attribute the op accepts; {NULL} ends */
    uint32_t value_inputs;   /* bit i set: output shape depends on the value of input i */
    bool shape_only;         /* outputs depend only on input shapes (Shape, Size) */
    ssdc_status (*infer)(graph_infer_ctx *c, ssdc_error *err);
    /* Floating-point operations of one run of the node with concrete shapes
     * (multiply-add = 2).  NULL: one per output element. */
    int64_t (*flops)(const graph_infer_ctx *c);
} graph_op_schema;

#define X(e, name, sym) extern const graph_op_schema graph_schema_##sym __attribute__((weak));
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X

/* Schema of op id, NULL if not (yet) defined. */
const graph_op_schema *graph_op_schema_get(int op);
/* Op id for an ONNX op type in the default domain, -1 if unknown. */
int graph_op_lookup(const char *op_type);
/* Op id for (domain, op_type): "" / "ai.onnx" is the default domain,
 * GRAPH_SSDC_DOMAIN ssdc's own ops; -1 if unknown. */
int graph_op_lookup_domain(const char *domain, const char *op_type);
/* The domain of op id: "" or GRAPH_SSDC_DOMAIN. */
const char *graph_op_domain(int op);
const char *graph_op_name(int op);

/* Runs node's shape inference: checks arity and input dtypes, pre-sets every
 * output to unknown, calls the schema.  Fails if the op has no schema.
 * Errors name the node. */
ssdc_status graph_infer_node(const graph *g, const graph_node *node, const graph_dtype *in_dtype,
                             const graph_shape *in_shape, const graph_value *const *in_value,
                             graph_dtype *out_dtype, graph_shape *out_shape, ssdc_error *err);

/* ---- helpers for shape inference (graph/ops.c) ---- */

/* Multidirectional (numpy) broadcasting of a and b into out. */
ssdc_status graph_infer_broadcast(const graph_infer_ctx *c, const graph_shape *a,
                                  const graph_shape *b, graph_shape *out, ssdc_error *err);
/* out[0] = in[0] (dtype and shape): for unary elementwise ops. */
ssdc_status graph_infer_same_as_input0(graph_infer_ctx *c, ssdc_error *err);
/* Normalises axis (may be negative) against rank; fails naming the node. */
ssdc_status graph_infer_axis(const graph_infer_ctx *c, int64_t axis, int rank, int *out,
                             ssdc_error *err);
/* Fills err with "node 'n' (Op): <message>" and returns code. */
ssdc_status graph_infer_failf(const graph_infer_ctx *c, ssdc_error *err, ssdc_status code,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Requires input i to be present with one of the listed dtypes (terminated by
 * GRAPH_DT_UNDEFINED); unknown dtype passes. */
ssdc_status graph_infer_check_dtype(const graph_infer_ctx *c, int i, ssdc_error *err, ...);
/* Element count of output 0 if its shape is static, else 0. */
int64_t graph_infer_out_numel(const graph_infer_ctx *c, int i);

#endif
