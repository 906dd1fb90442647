/* libFuzzer target: `ssdc run` on a fuzzed model with a fixed small input.
 *
 * Imports the model, applies the inference cleanup (as cli/run.c does) and,
 * when every graph input has a supported dtype and a known rank, feeds fixed
 * values: symbolic or unknown dimensions become 2, static ones are kept, and
 * inputs above FUZZ_RUN_MAX_ELEMS elements are refused by the harness.  The
 * plan runs under a 64 MiB memory limit; plans above FUZZ_RUN_MAX_FLOPS
 * are not run (time, not memory, is then the only risk).  This exercises
 * shape inference with concrete values, constant folding, the planner and
 * the kernels. */
#include <stdint.h>
#include <stdlib.h>

#include <cblas.h>

#include "frontend/onnx_import.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/onnx_mutator.h"
#include "graph/graph.h"
#include "passes/inference.h"
#include "runtime/exec.h"

#define FUZZ_RUN_MAX_INPUTS 8
#define FUZZ_RUN_MAX_ELEMS 100000
#define FUZZ_RUN_MEMORY_LIMIT ((int64_t)64 << 20)
#define FUZZ_RUN_MAX_FLOPS ((int64_t)50 * 1000 * 1000)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    openblas_set_num_threads(1);
    return 0;
}

/* Fixed, deterministic values: small floats of both signs; integers 0..2
 * (valid indices and axes for most small shapes); booleans alternating. */
static void fill_input(graph_value *v)
{
    for (int64_t i = 0; i < v->numel; i++) {
        switch (v->dtype) {
        case GRAPH_DT_FLOAT: ((float *)v->data)[i] = (float)((i * 7) % 11 - 5) * 0.25f; break;
        case GRAPH_DT_DOUBLE: ((double *)v->data)[i] = (double)((i * 7) % 11 - 5) * 0.25; break;
        case GRAPH_DT_INT64: ((int64_t *)v->data)[i] = i % 3; break;
        case GRAPH_DT_INT32: ((int32_t *)v->data)[i] = (int32_t)(i % 3); break;
        case GRAPH_DT_INT16: ((int16_t *)v->data)[i] = (int16_t)(i % 3); break;
        case GRAPH_DT_INT8: ((int8_t *)v->data)[i] = (int8_t)(i % 3); break;
        case GRAPH_DT_UINT8: ((uint8_t *)v->data)[i] = (uint8_t)(i % 3); break;
        case GRAPH_DT_BOOL: ((uint8_t *)v->data)[i] = (uint8_t)(i & 1); break;
        default: break;
        }
    }
}

static bool make_input(const graph_tensor *t, graph_value *v)
{
    if (!graph_dtype_supported(t->dtype) || graph_dtype_size(t->dtype) == 0)
        return false;
    if (t->shape.rank < 0 || t->shape.rank > GRAPH_MAX_RANK)
        return false;
    int64_t dims[GRAPH_MAX_RANK];
    int64_t numel = 1;
    for (int d = 0; d < t->shape.rank; d++) {
        dims[d] = t->shape.dims[d] < 0 ? 2 : t->shape.dims[d];
        if (dims[d] > FUZZ_RUN_MAX_ELEMS)
            return false;
        numel *= dims[d];
        if (numel > FUZZ_RUN_MAX_ELEMS)
            return false;
    }
    graph_value_set_shape(v, t->dtype, t->shape.rank, dims);
    size_t bytes = graph_value_bytes(v);
    v->data = malloc(bytes ? bytes : 1);
    if (!v->data)
        return false;
    fill_input(v);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    graph *g = NULL;
    ssdc_error err = {0};
    ssdc_status st = onnx_import_buffer(data, size, "fuzz.onnx", &g, &err);
    fuzz_check_error(st, &err);
    if (st)
        return 0;
    st = passes_optimize_inference(g, NULL, &err);
    fuzz_check_error(st, &err);
    if (st || g->n_inputs > FUZZ_RUN_MAX_INPUTS) {
        graph_free(g);
        return 0;
    }
    graph_value inputs[FUZZ_RUN_MAX_INPUTS];
    memset(inputs, 0, sizeof inputs);
    bool ok = true;
    for (int i = 0; ok && i < g->n_inputs; i++)
        ok = make_input(&g->tensors[g->inputs[i]], &inputs[i]);
    if (ok) {
        rt_options opt;
        memset(&opt, 0, sizeof opt);
        opt.memory_limit = FUZZ_RUN_MEMORY_LIMIT;
        rt_plan *plan = NULL;
        st = rt_plan_create(g, inputs, &opt, &plan, &err);
        fuzz_check_error(st, &err);
        if (!st) {
            int64_t flops = 0;
            for (int n = 0; n < g->n_nodes && flops <= FUZZ_RUN_MAX_FLOPS; n++) {
                int64_t f = rt_plan_node_flops(plan, n);
                if (f > FUZZ_RUN_MAX_FLOPS)
                    flops = FUZZ_RUN_MAX_FLOPS + 1;
                else if (f > 0)
                    flops += f;
            }
            if (flops <= FUZZ_RUN_MAX_FLOPS) {
                st = rt_plan_run(plan, inputs, &err);
                fuzz_check_error(st, &err);
                if (!st) {
                    /* read every output element: sizes must be what the plan says */
                    volatile double sink = 0;
                    for (int o = 0; o < g->n_outputs; o++) {
                        const graph_value *v = rt_plan_output(plan, o);
                        size_t bytes = graph_value_bytes(v);
                        const volatile uint8_t *b = v->data;
                        for (size_t k = 0; k < bytes; k++)
                            sink += b[k];
                    }
                    (void)sink;
                }
            }
            rt_plan_free(plan);
        }
    }
    for (int i = 0; i < FUZZ_RUN_MAX_INPUTS; i++)
        free(inputs[i].data);
    graph_free(g);
    return 0;
}
