/* The IR: tensors, nodes, name index, topological order, validation, shapes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "graph/ops.h"

static int add_t(graph *g, const char *name, int rank, const int64_t *dims)
{
    graph_shape s;
    graph_shape_init(&s, rank, dims);
    int t = -1;
    ssdc_error err = {0};
    cr_assert_eq(graph_add_tensor(g, name, GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INTERMEDIATE, &t, &err),
                 SSDC_OK, "%s", err.msg);
    return t;
}

Test(graph, name_index_survives_growth)
{
    graph *g = graph_new();
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "t%d", i);
        add_t(g, name, 0, NULL);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "t%d", i);
        cr_assert_eq(graph_find_tensor(g, name), i);
    }
    cr_assert_eq(graph_find_tensor(g, "missing"), -1);
    ssdc_error err = {0};
    cr_assert_eq(graph_add_tensor(g, "t5", GRAPH_DT_FLOAT, NULL, GRAPH_TENSOR_INTERMEDIATE, NULL, &err),
                 SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "duplicate tensor name 't5'"), "%s", err.msg);
    graph_free(g);
}

Test(graph, op_registry_lookup)
{
    cr_assert_eq(graph_op_lookup("Conv"), GRAPH_OP_CONV);
    cr_assert_eq(graph_op_lookup("Abs"), GRAPH_OP_ABS);
    cr_assert_eq(graph_op_lookup("Xor"), GRAPH_OP_XOR);
    cr_assert_eq(graph_op_lookup("NoSuchOp"), -1);
    cr_assert_str_eq(graph_op_name(GRAPH_OP_MATMUL), "MatMul");
    /* every op table is sorted, so every name is found in its own domain */
    for (int op = 0; op < GRAPH_OP_COUNT; op++)
        cr_assert_eq(graph_op_lookup_domain(graph_op_domain(op), graph_op_name(op)), op, "%s",
                     graph_op_name(op));
    cr_assert_eq(graph_op_lookup_domain("ai.ssdc", "ConvGrad"), GRAPH_OP_CONVGRAD);
    cr_assert_eq(graph_op_lookup("ConvGrad"), -1);
    cr_assert_eq(graph_op_lookup_domain("com.example", "Conv"), -1);
}

/* x -> Relu -> a -> Relu -> b, built in reverse order in the node list */
Test(graph, topo_order_and_cycle)
{
    graph *g = graph_new();
    ssdc_error err = {0};
    int64_t d[1] = {4};
    graph_shape s;
    graph_shape_init(&s, 1, d);
    int x;
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &x, &err), 0);
    graph_add_input(g, x, &err);
    int a = add_t(g, "a", 1, d), b = add_t(g, "b", 1, d);
    cr_assert_eq(graph_add_node(g, "second", "Relu", "", 1, &a, 1, &b, NULL, &err), 0);
    cr_assert_eq(graph_add_node(g, "first", "Relu", "", 1, &x, 1, &a, NULL, &err), 0);
    graph_add_output(g, b, &err);
    int order[2];
    cr_assert_eq(graph_topo_order(g, order, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 0);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    graph_free(g);

    /* a cycle: a = Relu(b), b = Relu(a) */
    g = graph_new();
    a = add_t(g, "a", 1, d);
    b = add_t(g, "b", 1, d);
    cr_assert_eq(graph_add_node(g, "n1", "Relu", "", 1, &b, 1, &a, NULL, &err), 0);
    cr_assert_eq(graph_add_node(g, "n2", "Relu", "", 1, &a, 1, &b, NULL, &err), 0);
    cr_assert_eq(graph_validate(g, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "cycle") && strstr(err.msg, "'n1'") && strstr(err.msg, "'n2'"),
              "%s", err.msg);
    graph_free(g);
}

Test(graph, validate_undefined_input_and_double_producer)
{
    graph *g = graph_new();
    ssdc_error err = {0};
    int64_t d[1] = {4};
    int ghost = add_t(g, "ghost", 1, d), y = add_t(g, "y", 1, d);
    cr_assert_eq(graph_add_node(g, "r", "Relu", "", 1, &ghost, 1, &y, NULL, &err), 0);
    cr_assert_eq(graph_validate(g, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "node 'r' (Relu): input 'ghost' is not defined"), "%s", err.msg);
    cr_assert_eq(graph_add_node(g, "r2", "Relu", "", 1, &ghost, 1, &y, NULL, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "already produced by node 'r'"), "%s", err.msg);
    graph_free(g);
}

Test(graph, validate_arity_and_attribute_types)
{
    graph *g = graph_new();
    ssdc_error err = {0};
    int64_t d[1] = {4};
    graph_shape s;
    graph_shape_init(&s, 1, d);
    int x;
    graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &x, &err);
    graph_add_input(g, x, &err);
    int y = add_t(g, "y", 1, d);
    int two[2] = {x, x};
    int node;
    cr_assert_eq(graph_add_node(g, "r", "Relu", "", 2, two, 1, &y, &node, &err), 0);
    cr_assert_eq(graph_validate(g, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "node 'r' (Relu): has 2 inputs, expected 1..1"), "%s", err.msg);
    graph_free(g);

    g = graph_new();
    graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &x, &err);
    graph_add_input(g, x, &err);
    y = add_t(g, "y", 1, d);
    cr_assert_eq(graph_add_node(g, "lr", "LeakyRelu", "", 1, &x, 1, &y, &node, &err), 0);
    cr_assert_eq(graph_node_set_string(g, node, "alpha", "0.1", &err), 0);
    cr_assert_eq(graph_validate(g, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "attribute 'alpha' is string, expected float"), "%s", err.msg);
    cr_assert_eq(graph_node_set_float(g, node, "alpha", 0.1f, &err), 0);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(graph_node_set_int(g, node, "bogus", 1, &err), 0);
    cr_assert_eq(graph_validate(g, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "unknown attribute 'bogus'"), "%s", err.msg);
    graph_free(g);
}

Test(graph, shape_format_and_numel_limits)
{
    graph_shape s;
    int64_t d[3] = {-1, 1, 96};
    graph_shape_init(&s, 3, d);
    snprintf(s.sym[0], GRAPH_SYM_MAX, "batch");
    char buf[64];
    graph_shape_format(&s, buf, sizeof buf);
    cr_assert_str_eq(buf, "[batch,1,96]");
    cr_assert(!graph_shape_is_static(&s));
    int64_t big[3] = {1 << 20, 1 << 20, 1 << 20};
    graph_shape_init(&s, 3, big);
    int64_t n;
    ssdc_error err = {0};
    cr_assert_eq(graph_shape_numel(&s, &n, &err), SSDC_ERR_LIMIT);
    int64_t over[2] = {INT64_MAX / 2, 4};
    graph_shape_init(&s, 2, over);
    cr_assert_eq(graph_shape_numel(&s, &n, &err), SSDC_ERR_LIMIT);
    int64_t ok[2] = {3, 5};
    graph_shape_init(&s, 2, ok);
    cr_assert_eq(graph_shape_numel(&s, &n, &err), SSDC_OK);
    cr_assert_eq(n, 15);
}

/* Static inference keeps the symbolic batch through broadcasting ops. */
Test(graph, infer_shapes_symbolic_broadcast)
{
    graph *g = graph_new();
    ssdc_error err = {0};
    int64_t dx[2] = {-1, 8};
    graph_shape s;
    graph_shape_init(&s, 2, dx);
    snprintf(s.sym[0], GRAPH_SYM_MAX, "N");
    int x, b, y;
    graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &s, GRAPH_TENSOR_INPUT, &x, &err);
    graph_add_input(g, x, &err);
    float *bias = calloc(8, sizeof *bias);
    int64_t db[1] = {8};
    cr_assert_eq(graph_add_initializer(g, "bias", GRAPH_DT_FLOAT, 1, db, bias, &b, &err), 0);
    cr_assert_eq(graph_add_tensor(g, "y", GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &y, &err), 0);
    int in[2] = {x, b};
    cr_assert_eq(graph_add_node(g, "add", "Add", "", 2, in, 1, &y, NULL, &err), 0);
    graph_add_output(g, y, &err);
    cr_assert_eq(graph_infer_shapes(g, &err), SSDC_OK, "%s", err.msg);
    char buf[64];
    graph_shape_format(&g->tensors[y].shape, buf, sizeof buf);
    cr_assert_str_eq(buf, "[N,8]");
    cr_assert_eq(g->tensors[y].dtype, GRAPH_DT_FLOAT);
    graph_free(g);
}
