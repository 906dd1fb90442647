/* One way for the passes to add computation to a graph: tensors, nodes and
 * initializers named "<prefix><what>" under the builder's prefix.
 *
 * Two namings:
 *   GRAPH_BUILDER_EXACT     "<prefix><what>"; a tensor name already in the
 *                           graph is an error (graph_add_tensor's).
 *   GRAPH_BUILDER_NUMBERED  "<prefix><what>#<k>" with k from the builder's
 *                           counter, which every name advances: a tensor
 *                           (or initializer) takes the next k whose name no
 *                           tensor of the graph has yet; a node takes the
 *                           next k (node names need not be unique).
 * The counter survives graph_builder_set_prefix, so a pass that moves its
 * prefix from node to node still numbers all its names in one sequence.
 *
 * Nodes are made only of ops ssdc knows; the domain ("" or
 * GRAPH_SSDC_DOMAIN) follows from the op type.  Every function returns an
 * ssdc_status and fills the builder's error, naming the tensor or node; on
 * an error the graph may hold part of what was asked for (discard it). */
#ifndef SSDC_GRAPH_BUILDER_H
#define SSDC_GRAPH_BUILDER_H

#include "graph/graph.h"

/* Longest prefix and longest name, terminating NUL included. */
#define GRAPH_BUILDER_NAME_MAX 1024

typedef enum {
    GRAPH_BUILDER_EXACT,
    GRAPH_BUILDER_NUMBERED
} graph_builder_naming;

typedef struct {
    graph *g;
    ssdc_error *err;
    graph_builder_naming naming;
    int counter;                          /* the next k of a numbered name */
    char prefix[GRAPH_BUILDER_NAME_MAX];
} graph_builder;

/* A builder on g with the given prefix ("" for none) and counter 0. */
ssdc_status graph_builder_init(graph_builder *b, graph *g, graph_builder_naming naming,
                               const char *prefix, ssdc_error *err);
/* Replaces the prefix (printf format); the counter is kept. */
ssdc_status graph_builder_set_prefix(graph_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A copy of b numbering from 0 on its own (b's counter does not move): a
 * numbered tensor from it takes the first k whose name is free. */
graph_builder graph_builder_from_zero(const graph_builder *b);

/* A new intermediate tensor: unknown dtype and shape, or the given ones
 * (shape may be NULL). */
ssdc_status graph_builder_tensor(graph_builder *b, const char *what, int *t);
ssdc_status graph_builder_tensor_typed(graph_builder *b, const char *what, graph_dtype dt,
                                       const graph_shape *shape, int *t);

/* A node of op with existing output tensors out[0..n_out) (-1: omitted);
 * what NULL: named after the op.  *node (may be NULL) gets its index, for
 * attributes. */
ssdc_status graph_builder_node(graph_builder *b, const char *op, const char *what, int n_in,
                               const int *in, int n_out, const int *out, int *node);
/* A one-output node and its output, both named what (NULL: the op):
 * graph_builder_tensor then graph_builder_node. */
ssdc_status graph_builder_op(graph_builder *b, const char *op, const char *what, int n_in,
                             const int *in, int *out, int *node);

/* An initializer holding a copy of data (numel(dims) elements of dt;
 * data NULL: zeros). */
ssdc_status graph_builder_initializer(graph_builder *b, const char *what, graph_dtype dt,
                                      int rank, const int64_t *dims, const void *data, int *t);
/* Scalars (rank 0) and a vector of n int64 (rank 1, shape [n]). */
ssdc_status graph_builder_const_f32(graph_builder *b, const char *what, float v, int *t);
ssdc_status graph_builder_const_f64(graph_builder *b, const char *what, double v, int *t);
ssdc_status graph_builder_const_i64(graph_builder *b, const char *what, const int64_t *v, int n,
                                    int *t);

/* Copies every attribute of src (of this graph or another) onto node. */
ssdc_status graph_builder_copy_attrs(graph_builder *b, int node, const graph_node *src);

#endif
