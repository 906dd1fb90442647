/* The graph IR: tensors, nodes, graphs, dtypes, shapes.
 *
 * A graph owns all its strings, tensors, nodes, attributes and initializer
 * data.  Tensors and nodes are referred to by index (int); -1 in a node's
 * input list means "optional input omitted". */
#ifndef SSDC_GRAPH_GRAPH_H
#define SSDC_GRAPH_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/status.h"

#define GRAPH_MAX_RANK 8
#define GRAPH_SYM_MAX 32

/* Values equal ONNX TensorProto.DataType. */
typedef enum {
    GRAPH_DT_UNDEFINED = 0,
    GRAPH_DT_FLOAT = 1,
    GRAPH_DT_UINT8 = 2,
    GRAPH_DT_INT8 = 3,
    GRAPH_DT_UINT16 = 4,
    GRAPH_DT_INT16 = 5,
    GRAPH_DT_INT32 = 6,
    GRAPH_DT_INT64 = 7,
    GRAPH_DT_STRING = 8,
    GRAPH_DT_BOOL = 9,
    GRAPH_DT_FLOAT16 = 10,
    GRAPH_DT_DOUBLE = 11,
    GRAPH_DT_UINT32 = 12,
    GRAPH_DT_UINT64 = 13,
    GRAPH_DT_BFLOAT16 = 16
} graph_dtype;

/* Bytes per element, 0 for dtypes the runtime cannot hold (string, ...). */
size_t graph_dtype_size(graph_dtype dt);
const char *graph_dtype_name(graph_dtype dt);
/* True for the dtypes ssdc stores and computes with: float, double, int8,
 * uint8, int16, int32, int64, bool. */
bool graph_dtype_supported(graph_dtype dt);

/* A shape.  rank == -1: rank unknown.  dims[i] == -1: unknown dimension;
 * sym[i] (may be empty) then holds its symbolic name (e.g. "batch"). */
typedef struct {
    int rank;
    int64_t dims[GRAPH_MAX_RANK];
    char sym[GRAPH_MAX_RANK][GRAPH_SYM_MAX];
} graph_shape;

void graph_shape_init(graph_shape *s, int rank, const int64_t *dims);
void graph_shape_unknown(graph_shape *s);
bool graph_shape_is_static(const graph_shape *s);
/* Element count of a static shape with overflow and limit checks.  The
 * limit applies to the product of the non-zero dimensions, so an empty
 * tensor such as [0, 2^62] is refused too: kernels multiply partial
 * products of dims (outer/inner sizes), which must not overflow either. */
ssdc_status graph_shape_numel(const graph_shape *s, int64_t *numel, ssdc_error *err);
/* The same rule for a dims array: false if a dim is negative or the non-zero
 * dims multiply to more than SSDC_MAX_TENSOR_ELEMS; else *numel. */
bool graph_dims_numel(int rank, const int64_t *dims, int64_t *numel);
bool graph_shape_equal(const graph_shape *a, const graph_shape *b);
/* Writes e.g. "[batch,1,96]" or "[?,3]" or "[*]" (unknown rank). */
void graph_shape_format(const graph_shape *s, char *buf, size_t size);
/* Copy dimension i of src into dimension j of dst (value and symbol). */
void graph_shape_copy_dim(graph_shape *dst, int j, const graph_shape *src, int i);

/* A concrete tensor: shape, dtype and a pointer to row-major data.  Used for
 * constant values during shape inference and for every tensor the runtime
 * touches.  It does not own data unless stated. */
typedef struct {
    graph_dtype dtype;
    int rank;
    int64_t dims[GRAPH_MAX_RANK];
    int64_t numel;
    void *data;
} graph_value;

/* Sets rank/dims/numel (numel = product of dims, 1 for rank 0). */
void graph_value_set_shape(graph_value *v, graph_dtype dt, int rank, const int64_t *dims);
size_t graph_value_bytes(const graph_value *v);
/* Reads element i of an integer or float tensor as int64 / double (floats
 * read as int64 are truncated and saturated, NaN gives 0). */
int64_t graph_value_get_i64(const graph_value *v, int64_t i);
double graph_value_get_f64(const graph_value *v, int64_t i);

typedef enum {
    GRAPH_ATTR_UNDEFINED = 0,
    GRAPH_ATTR_FLOAT = 1,
    GRAPH_ATTR_INT = 2,
    GRAPH_ATTR_STRING = 3,
    GRAPH_ATTR_TENSOR = 4,
    GRAPH_ATTR_GRAPH = 5,
    GRAPH_ATTR_FLOATS = 6,
    GRAPH_ATTR_INTS = 7,
    GRAPH_ATTR_STRINGS = 8
} graph_attr_type;

const char *graph_attr_type_name(graph_attr_type t);

typedef struct {
    char *name;
    graph_attr_type type;
    float f;
    int64_t i;
    char *s;          /* STRING (NUL-terminated copy) */
    size_t n;         /* count for FLOATS / INTS / STRINGS */
    float *floats;
    int64_t *ints;
    char **strings;
    graph_value *t;   /* TENSOR: owned value with owned data */
} graph_attr;

typedef struct {
    char *name;
    char *op_type;
    char *domain;     /* "" for the default ONNX domain */
    int op;           /* graph_op_id, or -1 if ssdc has no schema for it */
    int n_inputs;
    int *inputs;      /* tensor indices; -1 = omitted optional input */
    int n_outputs;
    int *outputs;     /* tensor indices; -1 = omitted optional output */
    int n_attrs;
    graph_attr *attrs;
} graph_node;

typedef enum {
    GRAPH_TENSOR_INTERMEDIATE = 0, /* produced by a node */
    GRAPH_TENSOR_INPUT,            /* fed by the caller */
    GRAPH_TENSOR_INITIALIZER       /* constant data owned by the graph */
} graph_tensor_kind;

typedef struct {
    char *name;
    graph_tensor_kind kind;
    graph_dtype dtype;
    graph_shape shape;  /* declared or inferred */
    void *data;         /* INITIALIZER only: owned, numel * dtype size bytes */
    int producer;       /* node index, -1 if none */
    bool is_output;
} graph_tensor;

typedef struct graph {
    char *name;
    char *source;       /* file the graph came from, for messages ("" if none) */
    int64_t ir_version;
    int64_t opset;      /* default-domain opset */
    char *producer_name;
    char *producer_version;

    graph_tensor *tensors;
    int n_tensors, cap_tensors;
    graph_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs;        /* caller-fed tensors, in declaration order */
    int n_inputs;
    int *outputs;
    int n_outputs;

    /* name -> tensor index hash table (open addressing), internal */
    int *index;
    int index_cap;
} graph;

graph *graph_new(void);
void graph_free(graph *g);

/* Deep copy (tensors, nodes, attributes, initializer data); NULL if out of
 * memory.  Indices are preserved. */
graph *graph_clone(const graph *g);

/* The largest input or output count of any node (at least 1). */
int graph_max_node_io(const graph *g);

/* in[i] / out[i]: the values of node n's inputs / outputs in vals (one per
 * tensor); an omitted one is all zeros. */
void graph_node_values(const graph_value *vals, const graph_node *n, graph_value *in,
                       graph_value *out);

/* Returns the tensor index, or -1. */
int graph_find_tensor(const graph *g, const char *name);

/* Adds a tensor; fails on a duplicate name.  shape may be NULL (unknown). */
ssdc_status graph_add_tensor(graph *g, const char *name, graph_dtype dt,
                             const graph_shape *shape, graph_tensor_kind kind,
                             int *index, ssdc_error *err);
/* Adds an initializer; takes ownership of data (malloc'd, numel*size bytes). */
ssdc_status graph_add_initializer(graph *g, const char *name, graph_dtype dt,
                                  int rank, const int64_t *dims, void *data,
                                  int *index, ssdc_error *err);
/* Marks tensor t as a caller-fed input / graph output (appended in order). */
ssdc_status graph_add_input(graph *g, int t, ssdc_error *err);
ssdc_status graph_add_output(graph *g, int t, ssdc_error *err);

/* Adds a node.  Input/output indices are copied.  Sets the producer of each
 * output; fails if an output already has a producer.  Resolves node->op from
 * the registry (-1 if unknown). */
ssdc_status graph_add_node(graph *g, const char *name, const char *op_type,
                           const char *domain, int n_in, const int *in, int n_out,
                           const int *out, int *index, ssdc_error *err);

/* Deletes the nodes with remove[i] set, keeping the order of the rest, and
 * fixes every tensor's producer.  Tensors are kept. */
void graph_remove_nodes(graph *g, const bool *remove);

/* Stores the nodes in the order given (order[k] = the node to put at k, a
 * permutation of 0..n_nodes-1) and fixes every tensor's producer. */
ssdc_status graph_reorder_nodes(graph *g, const int *order, ssdc_error *err);

/* Attribute setters (copy their arguments). */
ssdc_status graph_node_set_int(graph *g, int node, const char *name, int64_t v, ssdc_error *err);
ssdc_status graph_node_set_float(graph *g, int node, const char *name, float v, ssdc_error *err);
ssdc_status graph_node_set_string(graph *g, int node, const char *name, const char *v, ssdc_error *err);
ssdc_status graph_node_set_ints(graph *g, int node, const char *name, const int64_t *v, size_t n, ssdc_error *err);
ssdc_status graph_node_set_floats(graph *g, int node, const char *name, const float *v, size_t n, ssdc_error *err);
/* Takes ownership of a (its strings/arrays/tensor must be malloc'd). */
ssdc_status graph_node_add_attr(graph *g, int node, graph_attr *a, ssdc_error *err);
void graph_attr_clear(graph_attr *a);
/* Deep copy of src into dst (all malloc'd); false if out of memory (dst cleared). */
bool graph_attr_copy(graph_attr *dst, const graph_attr *src);

/* Attribute getters. */
const graph_attr *graph_node_attr(const graph_node *n, const char *name);
int64_t graph_attr_int(const graph_node *n, const char *name, int64_t def);
float graph_attr_float(const graph_node *n, const char *name, float def);
const char *graph_attr_string(const graph_node *n, const char *name, const char *def);
/* Returns the INTS array (NULL if absent) and its length in *count. */
const int64_t *graph_attr_ints(const graph_node *n, const char *name, size_t *count);
const float *graph_attr_floats(const graph_node *n, const char *name, size_t *count);

/* Input/output i of node n as a tensor pointer, NULL if omitted/out of range. */
const graph_tensor *graph_node_input(const graph *g, const graph_node *n, int i);

/* Writes the node indices in a topological order into order[n_nodes].
 * Fails with the names of the nodes on a cycle. */
ssdc_status graph_topo_order(const graph *g, int *order, ssdc_error *err);

/* Structural validation: undefined tensors, duplicate names, cycles, arity,
 * attribute types (against the op registry), unsupported dtypes. */
ssdc_status graph_validate(const graph *g, ssdc_error *err);

/* Static shape inference over the whole graph (symbolic dims propagated,
 * constant subgraphs evaluated when a shape depends on values).  Fills
 * graph_tensor.dtype/shape of every intermediate tensor. */
ssdc_status graph_infer_shapes(graph *g, ssdc_error *err);

/* "'name' (OpType)" for messages. */
const char *graph_node_label(const graph_node *n, char *buf, size_t size);

/* Overflow-checked helpers. */
bool graph_mul_overflow(int64_t a, int64_t b, int64_t *out);

char *graph_strdup(const char *s);

#endif
