/* Kernel interface: one rt_kernel per op id (see graph/ops.def).
 *
 * The executor calls forward() with every input and output as a concrete
 * graph_value.  Output buffers are already allocated (by the memory plan) with
 * the shapes shape inference gave; they never alias an input.  An omitted
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

/* Fills err with "node 'n' (Op): <message>" and returns code. */
ssdc_status rt_kernel_fail(const rt_kernel_ctx *ctx, ssdc_error *err, ssdc_status code,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
