/* The forward executor.
 *
 * A plan is made once for concrete input shapes: the graph is specialised
 * (passes/specialize.h: constant subgraphs such as shape arithmetic
 * evaluated, every tensor given a concrete shape) and memory-planned
 * (passes/memplan.h: intermediate tensors and kernel scratch placed into one
 * arena by their lifetimes, views and in-place steps sharing memory).
 * Running the plan does no allocation. */
#ifndef SSDC_RUNTIME_EXEC_H
#define SSDC_RUNTIME_EXEC_H

#include "graph/graph.h"
#include "passes/inference.h"
#include "passes/specialize.h"

typedef struct {
    uint64_t seed;          /* Dropout masks; default 0 */
    bool training;          /* Dropout active even without training_mode input */
    int64_t memory_limit;   /* bytes for the arena + folded constants; 0 = default */
    bool no_fusion;         /* run GlobalAveragePool(Dropout(x)) as two nodes (tests, benches) */
    int threads;            /* threads ssdc's own kernels may use; <= 1: one (BLAS: its own setting) */
} rt_options;

typedef struct rt_plan rt_plan;

/* The runtime as the evaluator of passes/specialize.h (ctx: an rt_options
 * or NULL): runs one node's kernel. */
ssdc_status rt_spec_eval(void *ctx, const graph *g, int node, const graph_value *in, int n_in,
                         graph_value *out, int n_out, ssdc_error *err);

/* Plans g for the given inputs (one per g->inputs, same order; data is read
 * only when a shape depends on an input's value).  g must be validated. */
ssdc_status rt_plan_create(const graph *g, const graph_value *inputs, const rt_options *opt,
                           rt_plan **out, ssdc_error *err);
void rt_plan_free(rt_plan *p);

/* True when inputs have the shapes (and, where the plan depends on them, the
 * values) the plan was made for. */
bool rt_plan_matches(const rt_plan *p, const graph_value *inputs);

/* The run counter Dropout masks are drawn with (incremented after every
 * run); set it to replay a step or to resume training reproducibly. */
void rt_plan_set_step(rt_plan *p, uint64_t step);
uint64_t rt_plan_step(const rt_plan *p);

/* Runs the plan.  Outputs stay valid until the next run or free. */
ssdc_status rt_plan_run(rt_plan *p, const graph_value *inputs, ssdc_error *err);
const graph_value *rt_plan_output(const rt_plan *p, int i);

/* Called with every output of every node run, right after its step: value
 * is valid only during the call (the plan shares memory).  A non-OK return
 * stops the run and is returned by rt_plan_run_observe. */
typedef ssdc_status (*rt_observe_fn)(void *ctx, int node, int tensor, const graph_value *value,
                                     ssdc_error *err);
/* rt_plan_run that calls fn after every step.  Nodes folded at plan time
 * (constants) are not reported; graph inputs are the caller's. */
ssdc_status rt_plan_run_observe(rt_plan *p, const graph_value *inputs, rt_observe_fn fn, void *ctx,
                                ssdc_error *err);

/* Runs the plan node by node and stops at the first node with a NaN or Inf
 * in a float output: *node and *output name it (-1 when every value is
 * finite).  For diagnosing a non-finite loss; set the step first to replay a
 * run exactly. */
ssdc_status rt_plan_find_nonfinite(rt_plan *p, const graph_value *inputs, int *node, int *output,
                                   ssdc_error *err);

/* Concrete value of any tensor after planning (constants) / running. */
const graph_value *rt_plan_tensor(const rt_plan *p, int tensor);
/* The specialisation the plan was made from (passes/specialize.h). */
const spec_values *rt_plan_spec(const rt_plan *p);
/* Whether node i is evaluated at plan time (constant) rather than per run. */
bool rt_plan_node_folded(const rt_plan *p, int node);

/* Floating-point operations of node i with the planned shapes (schema flops,
 * or one per output element); 0 for nodes folded at plan time. */
int64_t rt_plan_node_flops(const rt_plan *p, int node);

/* Memory figures of the plan. */
typedef struct {
    size_t arena_bytes;        /* planned arena (intermediates + scratch) */
    size_t sum_tensor_bytes;   /* sum of all intermediate tensors if unshared */
    size_t peak_live_bytes;    /* max bytes simultaneously live */
    size_t constant_bytes;     /* folded constants */
} rt_plan_stats;
void rt_plan_get_stats(const rt_plan *p, rt_plan_stats *s);

/* Makes g a static graph for a generator (codegen/): the inference passes
 * (passes_optimize_inference), then passes_specialize for `in` with the
 * runtime as evaluator: the rewrite of the analysis a runtime plan of the
 * same graph and inputs makes (so every op must be one the runtime runs);
 * that plan's memory figures in *rt (may be NULL), so a caller can print
 * both plans side by side. */
ssdc_status rt_prepare_static(graph *g, const spec_inputs *in, inference_stats *istats,
                              spec_stats *sstats, rt_plan_stats *rt, ssdc_error *err);

/* Convenience: plan if needed (re-plans when shapes change) and run. */
typedef struct rt_session rt_session;
ssdc_status rt_session_create(const graph *g, const rt_options *opt, rt_session **out,
                              ssdc_error *err);
void rt_session_free(rt_session *s);
ssdc_status rt_session_run(rt_session *s, const graph_value *inputs, ssdc_error *err);
const graph_value *rt_session_output(const rt_session *s, int i);
rt_plan *rt_session_plan(rt_session *s);

#endif
