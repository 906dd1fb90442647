/* Kernel interface: one rt_kernel per op id (see graph/ops.def).
 *
 * The executor calls forward() with every input and output as a concrete
 * graph_value.  Output buffers are already allocated (by the memory plan) with
 * the shapes shape inference gave; they alias an input only where
 * rt_kernel_caps allows it.  An omitted
 * optional input/output has dtype GRAPH_DT_UNDEFINED and data NULL.  Kernels
 * return an error (never abort) for dtypes or attribute values they do not
 * handle, naming the node. */
#ifndef SSDC_RUNTIME_KERNEL_H
#define SSDC_RUNTIME_KERNEL_H

#include "graph/graph.h"
#include "graph/ops.h"

typedef struct {
    const graph *g;
    const graph_node *node;
    int node_index;
    uint64_t seed;      /* run seed (Dropout masks) */
    uint64_t step;      /* training step / run counter (Dropout masks) */
    bool training;      /* true: Dropout draws masks even without training_mode */
    int threads;        /* threads a kernel may use (runtime/parallel.h); <= 1: the caller's */
    void *scratch;      /* scratch() bytes of planned memory, 64-byte aligned */
    size_t scratch_bytes;
} rt_kernel_ctx;

typedef ssdc_status (*rt_forward_fn)(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                     graph_value *out, int n_out, ssdc_error *err);
/* Scratch bytes the kernel needs for these concrete shapes (e.g. im2col). */
typedef size_t (*rt_scratch_fn)(const graph_node *node, const graph_value *in, int n_in,
                                const graph_value *out, int n_out);

typedef struct {
    rt_forward_fn forward;
    rt_scratch_fn scratch;  /* NULL: none */
} rt_kernel;

#define X(e, name, sym) extern const rt_kernel rt_kernel_##sym __attribute__((weak));
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X

/* Kernel of op id, NULL if ssdc cannot run it. */
const rt_kernel *rt_kernel_get(int op);

/* How the memory plan may place op's outputs (passes/memplan.h): MEMPLAN_VIEW
 * when output 0 is input 0's bytes (the kernel then copies nothing), and in
 * *inplace the inputs output 0 may overwrite (the kernel reads element i of
 * it before writing element i). */
unsigned rt_kernel_caps(int op, uint32_t *inplace);

/* A Dropout node's ratio and whether it draws a mask in this run (input
 * ratio or attribute; input training_mode or ctx->training; ratio 0 never
 * does); an error for a malformed ratio/training_mode input or an active
 * ratio outside [0, 1].  Shared by the Dropout kernel and the fused step
 * below. */
ssdc_status rt_dropout_params(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                              double *ratio, bool *active, ssdc_error *err);

/* The random stream id of a Dropout node's masks (with the step:
 * rng_stream_id): its "seed" attribute when it has one >= 0 (with the top
 * bit set, apart from node indices), else its node index.  Passes that
 * remove nodes before a Dropout keep its masks by giving it a seed. */
uint32_t rt_dropout_stream(const rt_kernel_ctx *ctx);

/* GlobalAveragePool(Dropout(X)) in one pass (runtime/exec.c runs the pair
 * this way when nothing else reads the Dropout's outputs, so the masked
 * tensor is never stored).  x: the Dropout's input (its shape; its data is
 * not read), whose row r is row r / reps of src (reps > 1 when X was src
 * repeated reps times per row by Expand + Reshape, which then are not run
 * either; reps = 1: src is X).  dctx/din: the Dropout node and its inputs
 * (ratio, training_mode; its masks' random stream), gctx: the pool node, its
 * scratch rt_dropout_gap_scratch(x, gctx->threads) bytes (split over that
 * many threads).  Bit-identical to running the
 * nodes one by one: the same masks, products and summation order. */
size_t rt_dropout_gap_scratch(const graph_value *x, int threads);
ssdc_status rt_dropout_gap_forward(const rt_kernel_ctx *dctx, const graph_value *din, int dn_in,
                                   const graph_value *x, const graph_value *src, int64_t reps,
                                   const rt_kernel_ctx *gctx, graph_value *y, ssdc_error *err);

/* Fills err with "node 'n' (Op): <message>" and returns code. */
ssdc_status rt_kernel_fail(const rt_kernel_ctx *ctx, ssdc_error *err, ssdc_status code,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
