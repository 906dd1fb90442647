/* The two passes both back ends share: specialisation (passes/specialize.h:
 * concrete shapes, folded constants, the static graph) and memory planning
 * (passes/memplan.h: views, in place, arenas per dtype, caller buffers,
 * the fused Dropout -> GlobalAveragePool step). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/ops.h"
#include "passes/memplan.h"
#include "passes/specialize.h"
#include "runtime/exec.h"

static ssdc_error err;

static int tensor(graph *g, const char *name)
{
    int t;
    cr_assert_eq(graph_add_tensor(g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &t,
                                  &err), SSDC_OK, "%s", err.msg);
    return t;
}

static int node(graph *g, const char *name, const char *op, int n_in, const int *in, int out)
{
    int n;
    cr_assert_eq(graph_add_node(g, name, op, "", n_in, in, 1, &out, &n, &err), SSDC_OK, "%s",
                 err.msg);
    return n;
}

static int input(graph *g, const char *name, graph_dtype dt, int rank, const int64_t *dims)
{
    graph_shape s;
    graph_shape_init(&s, rank, dims);
    int t;
    cr_assert_eq(graph_add_tensor(g, name, dt, &s, GRAPH_TENSOR_INPUT, &t, &err), SSDC_OK);
    graph_add_input(g, t, &err);
    return t;
}

/* z = Relu(Relu(Reshape(Relu(x), Shape(x)))) for x [N, 6]; a Cast to int64 at
 * the end when with_cast. */
static graph *chain_graph(bool with_cast)
{
    graph *g = graph_new();
    int64_t dx[2] = {-1, 6};
    int x = input(g, "x", GRAPH_DT_FLOAT, 2, dx);
    int a = tensor(g, "a"), sh = tensor(g, "sh"), b = tensor(g, "b"), c = tensor(g, "c");
    int z = tensor(g, "z");
    node(g, "relu1", "Relu", 1, &x, a);
    node(g, "shape", "Shape", 1, &x, sh);
    int rin[2] = {a, sh};
    node(g, "reshape", "Reshape", 2, rin, b);
    node(g, "relu2", "Relu", 1, &b, c);
    node(g, "relu3", "Relu", 1, &c, z);
    int out = z;
    if (with_cast) {
        int k = tensor(g, "k");
        int n = node(g, "cast", "Cast", 1, &z, k);
        graph_node_set_int(g, n, "to", GRAPH_DT_INT64, &err);
        out = k;
    }
    graph_add_output(g, out, &err);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    return g;
}

static const spec_options rt_eval = {.eval = rt_spec_eval};

Test(specialize, static_graph_has_shapes_and_folded_constants)
{
    graph *g = chain_graph(false);
    spec_stats st;
    cr_assert_eq(passes_specialize(g, &(spec_inputs){.batch = 3}, &rt_eval, &st, &err), SSDC_OK,
                 "%s", err.msg);
    cr_assert_eq(st.n_folded, 1, "Shape is evaluated");
    cr_assert_eq(g->n_nodes, 4);
    int sh = graph_find_tensor(g, "sh");
    cr_assert_eq(g->tensors[sh].kind, GRAPH_TENSOR_INITIALIZER);
    cr_assert_eq(g->tensors[sh].producer, -1);
    const int64_t *v = g->tensors[sh].data;
    cr_assert(v && v[0] == 3 && v[1] == 6, "Shape(x) folded to [3, 6]");
    for (int t = 0; t < g->n_tensors; t++)
        cr_assert(graph_shape_is_static(&g->tensors[t].shape), "tensor %s static",
                  g->tensors[t].name);
    int z = graph_find_tensor(g, "z");
    cr_assert_eq(g->tensors[z].shape.dims[0], 3);
    /* stored in execution order: every producer before its consumers */
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            cr_assert_lt(g->tensors[g->nodes[i].inputs[k]].producer, i);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    graph_free(g);
}

/* y = Reshape(x, shape) with shape a graph input: its value decides y's shape */
static graph *shape_input_graph(void)
{
    graph *g = graph_new();
    int64_t dx[2] = {2, 6}, ds[1] = {2};
    int x = input(g, "x", GRAPH_DT_FLOAT, 2, dx);
    int s = input(g, "shape", GRAPH_DT_INT64, 1, ds);
    int y = tensor(g, "y");
    int in[2] = {x, s};
    node(g, "reshape", "Reshape", 2, in, y);
    graph_add_output(g, y, &err);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    return g;
}

Test(specialize, input_deciding_shapes_needs_its_value)
{
    graph *g = shape_input_graph();
    spec_stats st;
    cr_assert_eq(passes_specialize(g, &(spec_inputs){.batch = 1}, &rt_eval, &st, &err),
                 SSDC_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "'shape' decides the shapes"), "%s", err.msg);
    /* with values: the input stays an input, specialised to the value */
    float xs[12] = {0};
    int64_t sv[2] = {3, 4};
    graph_value vals[2];
    int64_t dx[2] = {2, 6}, ds[1] = {2};
    graph_value_set_shape(&vals[0], GRAPH_DT_FLOAT, 2, dx);
    vals[0].data = xs;
    graph_value_set_shape(&vals[1], GRAPH_DT_INT64, 1, ds);
    vals[1].data = sv;
    cr_assert_eq(passes_specialize(g, &(spec_inputs){.values = vals}, &rt_eval, &st, &err),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(st.n_specialised, 1);
    cr_assert(st.from_values);
    int s = graph_find_tensor(g, "shape"), y = graph_find_tensor(g, "y");
    cr_assert_eq(g->tensors[s].kind, GRAPH_TENSOR_INPUT);
    cr_assert(spec_tensor_is_const(g, s));
    cr_assert_eq(((int64_t *)g->tensors[s].data)[1], 4);
    cr_assert_eq(g->tensors[y].shape.dims[0], 3);
    cr_assert_eq(g->tensors[y].shape.dims[1], 4);
    graph_free(g);
}

Test(specialize, batch_without_symbolic_dimension_is_an_error)
{
    graph *g = shape_input_graph();
    spec_stats st;
    cr_assert_eq(passes_specialize(g, &(spec_inputs){.batch = 4}, &rt_eval, &st, &err),
                 SSDC_ERR_ARG);
    cr_assert(strstr(err.msg, "--batch 4 does not apply"), "%s", err.msg);
    graph_free(g);
}

/* ---- memory planning ---- */

static unsigned caps_relu_inplace(void *ctx, const graph_node *n, uint32_t *inplace)
{
    bool allow = ctx != NULL;
    *inplace = allow && n->op == GRAPH_OP_RELU ? 1u : 0u;
    return n->op == GRAPH_OP_RESHAPE ? MEMPLAN_VIEW : 0u;
}

static int by_dtype(graph_dtype dt)
{
    return dt == GRAPH_DT_INT64 ? 1 : 0;
}

typedef struct {
    graph *g;
    spec_values sv;
    memplan mp;
} planned;

static void plan(planned *p, bool with_cast, bool inplace, bool caller_io)
{
    p->g = chain_graph(with_cast);
    float xs[12] = {0};
    graph_value in;
    int64_t d[2] = {2, 6};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 2, d);
    in.data = xs;
    cr_assert_eq(spec_analyze(p->g, &in, &rt_eval, &p->sv, &err), SSDC_OK, "%s", err.msg);
    memplan_target t = {.align = 16, .arena_of = by_dtype, .node_caps = caps_relu_inplace,
                        .ctx = inplace ? (void *)1 : NULL, .caller_io = caller_io};
    cr_assert_eq(memplan_build(p->g, p->sv.vals, p->sv.is_const, p->sv.run_nodes, p->sv.n_run, &t,
                               &p->mp, &err), SSDC_OK, "%s", err.msg);
}

static void unplan(planned *p)
{
    memplan_free(&p->mp);
    spec_values_free(&p->sv);
    graph_free(p->g);
}

Test(memplan, views_and_inplace_share_one_block)
{
    planned p;
    plan(&p, false, true, false);
    cr_assert_eq(p.mp.n_steps, 4, "Shape is folded, 4 steps run");
    cr_assert_eq(p.mp.stats.n_views, 1);
    cr_assert_eq(p.mp.stats.n_inplace, 2, "relu2 and relu3 over their input");
    /* a, b, c, z: one storage class of 12 floats */
    int a = graph_find_tensor(p.g, "a"), z = graph_find_tensor(p.g, "z");
    cr_assert_eq(p.mp.place[a].kind, MEMPLAN_ARENA);
    cr_assert_eq(p.mp.place[z].offset, p.mp.place[a].offset);
    cr_assert_eq(p.mp.stats.arena_bytes, 48u);
    cr_assert_eq(p.mp.stats.sum_tensor_bytes, 4 * 48u);
    int x = graph_find_tensor(p.g, "x");
    cr_assert_eq(p.mp.place[x].kind, MEMPLAN_INPUT);
    unplan(&p);
}

Test(memplan, without_inplace_tensors_alternate)
{
    planned p;
    plan(&p, false, false, false);
    cr_assert_eq(p.mp.stats.n_inplace, 0);
    int a = graph_find_tensor(p.g, "a"), c = graph_find_tensor(p.g, "c");
    int z = graph_find_tensor(p.g, "z");
    /* a (= b) dies at relu2, c at relu3: two blocks, reused */
    cr_assert_neq(p.mp.place[a].offset, p.mp.place[c].offset);
    cr_assert_eq(p.mp.place[z].offset, p.mp.place[a].offset);
    cr_assert_eq(p.mp.stats.arena_bytes, 96u);
    cr_assert_eq(p.mp.stats.peak_live_bytes, 96u);
    unplan(&p);
}

Test(memplan, caller_buffers_and_arenas_per_dtype)
{
    planned p;
    plan(&p, true, true, true);
    int k = graph_find_tensor(p.g, "k"), z = graph_find_tensor(p.g, "z");
    cr_assert_eq(p.mp.place[k].kind, MEMPLAN_OUTPUT, "the graph output is the caller's buffer");
    cr_assert_eq(p.mp.place[k].index, 0);
    cr_assert_eq(p.mp.place[z].kind, MEMPLAN_ARENA);
    cr_assert_eq(p.mp.place[z].arena, 0);
    cr_assert_eq(p.mp.arena_bytes[0], 48u);
    cr_assert_eq(p.mp.arena_bytes[1], 0u, "the int64 output is not in an arena");
    unplan(&p);
    /* bound per run (the runtime): the output lives in the int64 arena */
    plan(&p, true, true, false);
    k = graph_find_tensor(p.g, "k");
    cr_assert_eq(p.mp.place[k].kind, MEMPLAN_ARENA);
    cr_assert_eq(p.mp.place[k].arena, 1);
    cr_assert_eq(p.mp.arena_bytes[1], 96u);
    unplan(&p);
}

/* y = GlobalAveragePool(Dropout(Relu(x))) */
Test(memplan, fused_dropout_pool_step)
{
    graph *g = graph_new();
    int64_t dx[3] = {2, 4, 8};
    int x = input(g, "x", GRAPH_DT_FLOAT, 3, dx);
    int r = tensor(g, "r"), d = tensor(g, "d"), y = tensor(g, "y");
    node(g, "relu", "Relu", 1, &x, r);
    node(g, "drop", "Dropout", 1, &r, d);
    node(g, "gap", "GlobalAveragePool", 1, &d, y);
    graph_add_output(g, y, &err);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    float xs[64] = {0};
    graph_value in;
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 3, dx);
    in.data = xs;
    spec_values sv;
    cr_assert_eq(spec_analyze(g, &in, &rt_eval, &sv, &err), SSDC_OK, "%s", err.msg);
    memplan mp;
    memplan_target t = {.align = 64, .fuse_dropout_pool = true};
    cr_assert_eq(memplan_build(g, sv.vals, sv.is_const, sv.run_nodes, sv.n_run, &t, &mp, &err),
                 SSDC_OK, "%s", err.msg);
    cr_assert_eq(mp.n_steps, 2, "relu, then dropout + pool as one step");
    cr_assert_eq(mp.stats.n_fused, 1);
    cr_assert_eq(mp.steps[1].fused_src, r);
    cr_assert_eq(mp.place[d].kind, MEMPLAN_NONE, "the masked tensor is never stored");
    cr_assert_eq(mp.place[r].kind, MEMPLAN_ARENA);
    memplan_free(&mp);
    t.fuse_dropout_pool = false;
    cr_assert_eq(memplan_build(g, sv.vals, sv.is_const, sv.run_nodes, sv.n_run, &t, &mp, &err),
                 SSDC_OK);
    cr_assert_eq(mp.n_steps, 3);
    cr_assert_eq(mp.place[d].kind, MEMPLAN_ARENA);
    memplan_free(&mp);
    spec_values_free(&sv);
    graph_free(g);
}
