/* The executor: planning (folding shape arithmetic, arena by lifetimes),
 * running, re-planning in a session, limits. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "runtime/exec.h"

static ssdc_error err;

static int tensor(graph *g, const char *name)
{
    int t;
    cr_assert_eq(graph_add_tensor(g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &t,
                                  &err), SSDC_OK, "%s", err.msg);
    return t;
}

static int node1(graph *g, const char *name, const char *op, int n_in, const int *in, int out)
{
    int n;
    cr_assert_eq(graph_add_node(g, name, op, "", n_in, in, 1, &out, &n, &err), SSDC_OK, "%s", err.msg);
    return n;
}

static int i64_init(graph *g, const char *name, int n, const int64_t *v)
{
    int64_t *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    memcpy(d, v, (size_t)n * sizeof *d);
    int64_t dims[1] = {n};
    int t;
    cr_assert_eq(graph_add_initializer(g, name, GRAPH_DT_INT64, 1, dims, d, &t, &err), SSDC_OK);
    return t;
}

/* y = Reshape(Relu(x) + 1, [Shape(x)[0], -1]) for x of shape [N, 2, 3] */
static graph *flatten_graph(void)
{
    graph *g = graph_new();
    int64_t dx[3] = {-1, 2, 3};
    graph_shape s;
    graph_shape_init(&s, 3, dx);
    snprintf(s.sym[0], GRAPH_SYM_MAX, "batch");
    int x;
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &x, &err), 0);
    graph_add_input(g, x, &err);
    float *one = malloc(sizeof *one);
    *one = 1.0f;
    int c1;
    graph_add_initializer(g, "one", GRAPH_DT_FLOAT, 0, NULL, one, &c1, &err);
    int r = tensor(g, "r"), a = tensor(g, "a");
    node1(g, "relu", "Relu", 1, &x, r);
    int add_in[2] = {r, c1};
    node1(g, "add", "Add", 2, add_in, a);
    int sh = tensor(g, "sh"), b = tensor(g, "b"), bu = tensor(g, "bu"), cat = tensor(g, "cat");
    int y = tensor(g, "y");
    node1(g, "shape", "Shape", 1, &x, sh);
    int64_t zero = 0, m1 = -1;
    int idx;
    int64_t *z = malloc(sizeof *z);
    *z = 0;
    graph_add_initializer(g, "zero", GRAPH_DT_INT64, 0, NULL, z, &idx, &err);
    int gin[2] = {sh, idx};
    node1(g, "gather", "Gather", 2, gin, b);
    int ax = i64_init(g, "axes0", 1, &zero);
    int uin[2] = {b, ax};
    node1(g, "unsq", "Unsqueeze", 2, uin, bu);
    int minus = i64_init(g, "minus1", 1, &m1);
    int cin[2] = {bu, minus};
    int cat_node = node1(g, "concat", "Concat", 2, cin, cat);
    graph_node_set_int(g, cat_node, "axis", 0, &err);
    int rin[2] = {a, cat};
    node1(g, "reshape", "Reshape", 2, rin, y);
    graph_add_output(g, y, &err);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    return g;
}

Test(exec, folds_shape_arithmetic_and_runs)
{
    graph *g = flatten_graph();
    float xs[12];
    for (int i = 0; i < 12; i++)
        xs[i] = (float)i - 6.0f;
    graph_value in = {0};
    int64_t d[3] = {2, 2, 3};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 3, d);
    in.data = xs;
    rt_plan *p;
    cr_assert_eq(rt_plan_create(g, &in, NULL, &p, &err), SSDC_OK, "%s", err.msg);
    /* Shape, Gather, Unsqueeze, Concat are evaluated at plan time */
    int folded = 0;
    for (int n = 0; n < g->n_nodes; n++)
        folded += rt_plan_node_folded(p, n);
    cr_assert_eq(folded, 4);
    cr_assert_eq(rt_plan_run(p, &in, &err), SSDC_OK, "%s", err.msg);
    const graph_value *y = rt_plan_output(p, 0);
    cr_assert_eq(y->rank, 2);
    cr_assert_eq(y->dims[0], 2);
    cr_assert_eq(y->dims[1], 6);
    for (int i = 0; i < 12; i++)
        cr_assert_float_eq(((float *)y->data)[i], fmaxf(xs[i], 0.0f) + 1.0f, 1e-6);
    rt_plan_free(p);
    graph_free(g);
}

Test(exec, session_replans_for_new_batch)
{
    graph *g = flatten_graph();
    rt_session *s;
    cr_assert_eq(rt_session_create(g, NULL, &s, &err), SSDC_OK);
    for (int batch = 1; batch <= 5; batch += 2) {
        float *xs = malloc((size_t)batch * 6 * sizeof *xs);
        for (int i = 0; i < batch * 6; i++)
            xs[i] = (float)(i % 5) - 2.0f;
        graph_value in = {0};
        int64_t d[3] = {batch, 2, 3};
        graph_value_set_shape(&in, GRAPH_DT_FLOAT, 3, d);
        in.data = xs;
        cr_assert_eq(rt_session_run(s, &in, &err), SSDC_OK, "%s", err.msg);
        const graph_value *y = rt_session_output(s, 0);
        cr_assert_eq(y->dims[0], batch);
        cr_assert_eq(y->dims[1], 6);
        for (int i = 0; i < batch * 6; i++)
            cr_assert_float_eq(((float *)y->data)[i], fmaxf(xs[i], 0.0f) + 1.0f, 1e-6);
        free(xs);
    }
    rt_session_free(s);
    graph_free(g);
}

Test(exec, wrong_input_shape_is_an_error)
{
    graph *g = flatten_graph();
    float xs[8] = {0};
    graph_value in = {0};
    int64_t d[3] = {1, 2, 4};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 3, d);
    in.data = xs;
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(g, &in, NULL, &p, &err), SSDC_ERR_SHAPE);
    cr_assert(strstr(err.msg, "input 'x': expected shape [batch,2,3], got [1,2,4]"), "%s", err.msg);
    cr_assert_null(p);
    graph_free(g);
}

/* A chain of 20 nodes over x [4,256] (1 tensor = 4096 bytes). */
static rt_plan *chain_plan(graph **gp, const char *op, float *xs)
{
    graph *g = graph_new();
    int64_t d[2] = {4, 256};
    graph_shape s;
    graph_shape_init(&s, 2, d);
    int prev;
    graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &prev, &err);
    graph_add_input(g, prev, &err);
    for (int i = 0; i < 20; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "t%d", i);
        int t = tensor(g, nm);
        snprintf(nm, sizeof nm, "n%d", i);
        node1(g, nm, op, 1, &prev, t);
        prev = t;
    }
    graph_add_output(g, prev, &err);
    for (int i = 0; i < 4 * 256; i++)
        xs[i] = (float)i;
    graph_value in = {0};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 2, d);
    in.data = xs;
    rt_plan *p;
    cr_assert_eq(rt_plan_create(g, &in, NULL, &p, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_run(p, &in, &err), SSDC_OK, "%s", err.msg);
    *gp = g;
    return p;
}

/* Tensors whose lifetimes do not overlap share memory: two buffers suffice. */
Test(exec, arena_reuses_memory_by_lifetime)
{
    graph *g;
    float *xs = calloc(4 * 256, sizeof *xs);
    rt_plan *p = chain_plan(&g, "Softmax", xs);
    rt_plan_stats st;
    rt_plan_get_stats(p, &st);
    cr_assert_eq(st.sum_tensor_bytes, 20u * 4096u);
    cr_assert_eq(st.peak_live_bytes, 2u * 4096u);
    cr_assert_eq(st.arena_bytes, st.peak_live_bytes);
    /* softmax of a softmax ... of row 0 stays a probability distribution */
    const float *y = rt_plan_output(p, 0)->data;
    double sum = 0;
    for (int i = 0; i < 256; i++)
        sum += y[i];
    cr_assert_float_eq(sum, 1.0, 1e-4);
    rt_plan_free(p);
    free(xs);
    graph_free(g);
}

/* Elementwise ops whose input dies write in place: one buffer for the chain. */
Test(exec, elementwise_in_place)
{
    graph *g;
    float *xs = calloc(4 * 256, sizeof *xs);
    rt_plan *p = chain_plan(&g, "Neg", xs);
    rt_plan_stats st;
    rt_plan_get_stats(p, &st);
    cr_assert_eq(st.sum_tensor_bytes, 20u * 4096u);
    cr_assert_eq(st.arena_bytes, 4096u);
    /* an even number of Neg: y == x, and x (the caller's) is untouched */
    const float *y = rt_plan_output(p, 0)->data;
    for (int i = 0; i < 4 * 256; i++) {
        cr_assert_float_eq(y[i], (float)i, 1e-6);
        cr_assert_float_eq(xs[i], (float)i, 1e-6);
    }
    rt_plan_free(p);
    free(xs);
    graph_free(g);
}

Test(exec, memory_limit_refuses_huge_plan)
{
    graph *g = graph_new();
    int64_t d[2] = {-1, 1024};
    graph_shape s;
    graph_shape_init(&s, 2, d);
    int x;
    graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &x, &err);
    graph_add_input(g, x, &err);
    int y = tensor(g, "y");
    node1(g, "relu", "Relu", 1, &x, y);
    graph_add_output(g, y, &err);
    float *xs = calloc(1024 * 64, sizeof *xs);
    graph_value in = {0};
    int64_t dd[2] = {64, 1024};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 2, dd);
    in.data = xs;
    rt_options opt = {.memory_limit = 4096};
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(g, &in, &opt, &p, &err), SSDC_ERR_LIMIT);
    cr_assert(strstr(err.msg, "memory limit"), "%s", err.msg);
    free(xs);
    graph_free(g);
}

Test(exec, unsupported_nodes_listed_at_once)
{
    graph *g = graph_new();
    int64_t d[1] = {4};
    graph_shape s;
    graph_shape_init(&s, 1, d);
    int x;
    graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &x, &err);
    graph_add_input(g, x, &err);
    int a = tensor(g, "a"), b = tensor(g, "b");
    node1(g, "fancy1", "FancyOp", 1, &x, a);
    node1(g, "fancy2", "Hardmax2", 1, &a, b);
    graph_add_output(g, b, &err);
    float xs[4] = {0};
    graph_value in = {0};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 1, d);
    in.data = xs;
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(g, &in, NULL, &p, &err), SSDC_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "'fancy1' (FancyOp)") && strstr(err.msg, "'fancy2' (Hardmax2)"), "%s",
              err.msg);
    graph_free(g);
}
