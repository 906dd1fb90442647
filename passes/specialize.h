/* Specialisation: a graph made concrete for given inputs.
 *
 * Both back ends start here.  For concrete input values (or only their
 * shapes) every tensor gets a concrete dtype and shape, and every node whose
 * inputs are all known at this point (initializers, folded outputs, inputs
 * whose value decides a shape) or that reads only shapes (Shape, Size) is
 * evaluated once: its outputs become constants.  Evaluating a node needs an
 * executor, which passes/ does not have: the caller hands one in
 * (spec_options.eval; the runtime's is rt_spec_eval, runtime/exec.h).
 *
 * spec_analyze computes this without touching the graph (the runtime plans
 * on it: runtime/exec.c); passes_specialize rewrites the graph into a static
 * graph for a generator (codegen/): every tensor has its concrete shape,
 * folded outputs are initializers, folded nodes are gone, the remaining
 * nodes are stored in execution order, and an input whose value decided the
 * shapes keeps its place among the graph inputs with that value attached
 * (graph_tensor.data of an INPUT tensor: "specialised"). */
#ifndef SSDC_PASSES_SPECIALIZE_H
#define SSDC_PASSES_SPECIALIZE_H

#include "graph/graph.h"

/* Evaluates node `node` of g on concrete inputs into preallocated outputs. */
typedef ssdc_status (*spec_eval_fn)(void *ctx, const graph *g, int node, const graph_value *in,
                                    int n_in, graph_value *out, int n_out, ssdc_error *err);

typedef struct {
    spec_eval_fn eval;     /* required */
    void *eval_ctx;
    int64_t memory_limit;  /* bytes of folded constants; <= 0: SSDC_DEFAULT_MEMORY_LIMIT */
} spec_options;

/* The concrete view of a graph for one set of inputs. */
typedef struct {
    const graph *g;
    graph_value *vals;      /* per tensor: dtype, shape; data of constants and inputs */
    bool *is_const;         /* per tensor: value known now */
    bool *folded;           /* per node: evaluated now */
    int *run_nodes;         /* the nodes left to run, in execution order */
    int n_run;
    graph_value *inputs_key;  /* per graph input: the shapes analysed for */
    void **captured;        /* per graph input: copy of a value the shapes depend on, or NULL */
    void **owned;           /* per tensor: folded data */
    size_t constant_bytes;  /* bytes of folded outputs */
} spec_values;

/* Analyses g (validated) for inputs (one per g->inputs, same order; values
 * are read only where a shape depends on them: such an input is captured, a
 * copy kept, and it counts as a constant).  On error *out is empty. */
ssdc_status spec_analyze(const graph *g, const graph_value *inputs, const spec_options *opt,
                         spec_values *out, ssdc_error *err);
void spec_values_free(spec_values *v);

/* True when inputs have the shapes (and, for captured inputs, the values)
 * v was made for. */
bool spec_values_match(const spec_values *v, const graph_value *inputs);

/* What passes_specialize did. */
typedef struct {
    int n_folded;        /* nodes evaluated and removed */
    int n_specialised;   /* graph inputs fixed to their given value */
    bool from_values;    /* shapes came from given input values (spec_inputs.values) */
} spec_stats;

/* The inputs to specialise for: either every input's value (values, one per
 * g->inputs), or zeros of the declared shapes with a symbolic dimension 0 set
 * to batch (<= 0: 1).  With zeros, an input whose value decides a shape is an
 * error (nothing to specialise it to). */
typedef struct {
    const graph_value *values;
    int64_t batch;
} spec_inputs;

/* Rewrites g into the static graph described above.  g must be validated. */
ssdc_status passes_specialize(graph *g, const spec_inputs *in, const spec_options *opt,
                              spec_stats *stats, ssdc_error *err);

/* The rewrite of passes_specialize from an analysis v of g already made
 * (spec_analyze, e.g. a runtime plan's); from_values: v's inputs were the
 * caller's values, not zeros made up for the shapes. */
ssdc_status passes_specialize_apply(graph *g, bool from_values, const spec_values *v,
                                    spec_stats *stats, ssdc_error *err);

/* The input values passes_specialize uses for `in` (the given values, or
 * zeros of the declared shapes at the batch): one per g->inputs, each with
 * malloc'd data; free with spec_inputs_free. */
ssdc_status spec_make_inputs(const graph *g, const spec_inputs *in, graph_value **out,
                             ssdc_error *err);
void spec_inputs_free(const graph *g, graph_value *v);

/* True when tensor t of a static graph is a constant: an initializer or a
 * specialised input. */
bool spec_tensor_is_const(const graph *g, int t);

#endif
