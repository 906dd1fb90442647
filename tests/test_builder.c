/* The graph builder (graph/builder.c): names under a prefix, exact and
 * numbered (the counter shared by tensors, nodes and initializers, taken
 * names skipped for tensors, kept across prefix changes, from_zero), the
 * domain following from the op type, initializer contents, dtypes and
 * shapes (copies, zeros), attribute copies, and the errors: an op ssdc does
 * not know, a duplicate exact name, a name or prefix over the limit, bad
 * initializer dimensions. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "graph/builder.h"
#include "graph/ops.h"

static const char *tname(const graph *g, int t)
{
    return g->tensors[t].name;
}

/* A new graph with a float input "x" (*x) and a builder b on it. */
static graph *setup(graph_builder *b, graph_builder_naming naming, const char *prefix,
                    ssdc_error *err, int *x)
{
    graph *g = graph_new();
    cr_assert_not_null(g);
    cr_assert_eq(graph_builder_init(b, g, naming, prefix, err), SSDC_OK);
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, NULL, GRAPH_TENSOR_INPUT, x, err),
                 SSDC_OK);
    return g;
}

Test(builder, exact_names_under_prefix)
{
    ssdc_error err = {0};
    graph_builder b;
    int x, y, node;
    graph *g = setup(&b, GRAPH_BUILDER_EXACT, "loss/", &err, &x);
    cr_assert_eq(graph_builder_op(&b, "Relu", "act", 1, &x, &y, &node), SSDC_OK, "%s", err.msg);
    cr_assert_str_eq(tname(g, y), "loss/act");
    cr_assert_str_eq(g->nodes[node].name, "loss/act");
    cr_assert_str_eq(g->nodes[node].op_type, "Relu");
    cr_assert_str_eq(g->nodes[node].domain, "");
    cr_assert_eq(g->nodes[node].op, graph_op_lookup("Relu"));
    cr_assert_eq(g->tensors[y].producer, node);
    cr_assert_eq(g->tensors[y].kind, GRAPH_TENSOR_INTERMEDIATE);
    cr_assert_eq(g->tensors[y].dtype, GRAPH_DT_UNDEFINED);
    cr_assert_eq(g->tensors[y].shape.rank, -1);
    cr_assert_eq(g->nodes[node].n_inputs, 1);
    cr_assert_eq(g->nodes[node].inputs[0], x);

    /* what NULL: named after the op; a node with outputs made before */
    int t1, t2;
    cr_assert_eq(graph_builder_tensor(&b, "first", &t1), SSDC_OK);
    cr_assert_eq(graph_builder_tensor(&b, "second", &t2), SSDC_OK);
    int outs[2] = {t1, t2};
    int in_k[2] = {y, x};
    cr_assert_eq(graph_builder_node(&b, "TopK", NULL, 2, in_k, 2, outs, &node), SSDC_OK, "%s",
                 err.msg);
    cr_assert_str_eq(g->nodes[node].name, "loss/TopK");
    cr_assert_eq(g->nodes[node].n_outputs, 2);
    cr_assert_eq(g->tensors[t2].producer, node);
    cr_assert_str_eq(tname(g, t1), "loss/first");
    cr_assert_str_eq(tname(g, t2), "loss/second");

    /* a typed tensor keeps dtype and shape */
    graph_shape s;
    int64_t dims[2] = {-1, 7};
    graph_shape_init(&s, 2, dims);
    snprintf(s.sym[0], GRAPH_SYM_MAX, "batch");
    int t3;
    cr_assert_eq(graph_builder_tensor_typed(&b, "typed", GRAPH_DT_INT64, &s, &t3), SSDC_OK);
    cr_assert_eq(g->tensors[t3].dtype, GRAPH_DT_INT64);
    cr_assert(graph_shape_equal(&g->tensors[t3].shape, &s));
    cr_assert_str_eq(g->tensors[t3].shape.sym[0], "batch");

    /* exact: a name already taken is an error naming it */
    int dup;
    cr_assert_neq(graph_builder_tensor(&b, "act", &dup), SSDC_OK);
    cr_assert(strstr(err.msg, "loss/act"), "%s", err.msg);
    int n_tensors = g->n_tensors;
    cr_assert_neq(graph_builder_const_f32(&b, "first", 1.0f, &dup), SSDC_OK);
    cr_assert_eq(g->n_tensors, n_tensors);
    graph_free(g);
}

Test(builder, numbered_names_are_unique_and_sequential)
{
    ssdc_error err = {0};
    graph_builder b;
    int x, taken, y, z, node, k;
    graph *g = setup(&b, GRAPH_BUILDER_NUMBERED, "ssd/", &err, &x);
    /* "ssd/Mul#2" is taken by the caller: tensors skip it */
    cr_assert_eq(graph_add_tensor(g, "ssd/Mul#2", GRAPH_DT_FLOAT, NULL, GRAPH_TENSOR_INPUT,
                                  &taken, &err),
                 SSDC_OK);
    int in[2] = {x, x};
    cr_assert_eq(graph_builder_op(&b, "Mul", NULL, 2, in, &y, &node), SSDC_OK, "%s", err.msg);
    cr_assert_str_eq(tname(g, y), "ssd/Mul#0");
    cr_assert_str_eq(g->nodes[node].name, "ssd/Mul#1");
    cr_assert_eq(graph_builder_op(&b, "Mul", NULL, 2, in, &z, &node), SSDC_OK, "%s", err.msg);
    cr_assert_str_eq(tname(g, z), "ssd/Mul#3"); /* #2 was taken */
    cr_assert_str_eq(g->nodes[node].name, "ssd/Mul#4");
    cr_assert_eq(graph_builder_const_f32(&b, "const", 2.0f, &k), SSDC_OK);
    cr_assert_str_eq(tname(g, k), "ssd/const#5");
    cr_assert_eq(b.counter, 6);

    /* the counter survives a prefix change */
    cr_assert_eq(graph_builder_set_prefix(&b, "%s/grad/", "node"), SSDC_OK);
    int w;
    cr_assert_eq(graph_builder_tensor(&b, "hint", &w), SSDC_OK);
    cr_assert_str_eq(tname(g, w), "node/grad/hint#6");

    /* from_zero: the first free k, the original counter untouched */
    graph_builder own = graph_builder_from_zero(&b);
    int f0, f1;
    cr_assert_eq(graph_builder_const_f64(&own, "const_f64", 1.5, &f0), SSDC_OK);
    own = graph_builder_from_zero(&b);
    cr_assert_eq(graph_builder_const_f64(&own, "const_f64", 2.5, &f1), SSDC_OK);
    cr_assert_str_eq(tname(g, f0), "node/grad/const_f64#0");
    cr_assert_str_eq(tname(g, f1), "node/grad/const_f64#1");
    cr_assert_eq(b.counter, 7);

    /* all names distinct */
    for (int i = 0; i < g->n_tensors; i++)
        for (int j = i + 1; j < g->n_tensors; j++)
            cr_assert_str_neq(tname(g, i), tname(g, j));
    graph_free(g);
}

Test(builder, domain_from_the_op_type)
{
    ssdc_error err = {0};
    graph_builder b;
    int x, s, y, node;
    graph *g = setup(&b, GRAPH_BUILDER_NUMBERED, "", &err, &x);
    cr_assert_eq(graph_builder_op(&b, "Shape", NULL, 1, &x, &s, NULL), SSDC_OK, "%s", err.msg);
    int in[2] = {x, s};
    cr_assert_eq(graph_builder_op(&b, "SumTo", NULL, 2, in, &y, &node), SSDC_OK, "%s", err.msg);
    cr_assert_str_eq(g->nodes[node].domain, GRAPH_SSDC_DOMAIN);
    cr_assert_eq(g->nodes[node].op, graph_op_lookup_domain(GRAPH_SSDC_DOMAIN, "SumTo"));
    cr_assert_geq(g->nodes[node].op, 0);
    cr_assert_str_eq(g->nodes[0].domain, "");
    graph_free(g);
}

Test(builder, initializers)
{
    graph *g = graph_new();
    ssdc_error err = {0};
    graph_builder b;
    cr_assert_eq(graph_builder_init(&b, g, GRAPH_BUILDER_EXACT, "c/", &err), SSDC_OK);
    int f, d, v, e, m, z;
    cr_assert_eq(graph_builder_const_f32(&b, "f", -0.25f, &f), SSDC_OK);
    cr_assert_eq(g->tensors[f].kind, GRAPH_TENSOR_INITIALIZER);
    cr_assert_eq(g->tensors[f].dtype, GRAPH_DT_FLOAT);
    cr_assert_eq(g->tensors[f].shape.rank, 0);
    cr_assert_eq(*(const float *)g->tensors[f].data, -0.25f);

    cr_assert_eq(graph_builder_const_f64(&b, "d", 1.0 / 3.0, &d), SSDC_OK);
    cr_assert_eq(g->tensors[d].dtype, GRAPH_DT_DOUBLE);
    cr_assert_eq(g->tensors[d].shape.rank, 0);
    cr_assert_eq(*(const double *)g->tensors[d].data, 1.0 / 3.0);

    int64_t vals[3] = {-1, 4, INT64_MAX};
    cr_assert_eq(graph_builder_const_i64(&b, "v", vals, 3, &v), SSDC_OK);
    cr_assert_eq(g->tensors[v].dtype, GRAPH_DT_INT64);
    cr_assert_eq(g->tensors[v].shape.rank, 1);
    cr_assert_eq(g->tensors[v].shape.dims[0], 3);
    vals[1] = 99; /* the graph holds a copy */
    const int64_t *vd = g->tensors[v].data;
    cr_assert_eq(vd[0], -1);
    cr_assert_eq(vd[1], 4);
    cr_assert_eq(vd[2], INT64_MAX);

    cr_assert_eq(graph_builder_const_i64(&b, "empty", NULL, 0, &e), SSDC_OK);
    cr_assert_eq(g->tensors[e].shape.rank, 1);
    cr_assert_eq(g->tensors[e].shape.dims[0], 0);
    cr_assert_not_null(g->tensors[e].data);

    uint8_t mask[4] = {1, 0, 0, 1};
    int64_t mdims[2] = {2, 2};
    cr_assert_eq(graph_builder_initializer(&b, "mask", GRAPH_DT_BOOL, 2, mdims, mask, &m),
                 SSDC_OK);
    cr_assert_eq(g->tensors[m].dtype, GRAPH_DT_BOOL);
    cr_assert_eq(g->tensors[m].shape.rank, 2);
    cr_assert_eq(g->tensors[m].shape.dims[1], 2);
    cr_assert_eq(memcmp(g->tensors[m].data, mask, 4), 0);

    int64_t zdims[3] = {2, 3, 5};
    cr_assert_eq(graph_builder_initializer(&b, "zero", GRAPH_DT_DOUBLE, 3, zdims, NULL, &z),
                 SSDC_OK);
    const double *zd = g->tensors[z].data;
    for (int i = 0; i < 30; i++)
        cr_assert_eq(zd[i], 0.0);
    cr_assert_str_eq(tname(g, z), "c/zero");

    /* bad dimensions */
    int bad;
    int64_t neg[1] = {-3};
    cr_assert_eq(graph_builder_initializer(&b, "neg", GRAPH_DT_FLOAT, 1, neg, NULL, &bad),
                 SSDC_ERR_LIMIT);
    cr_assert(strstr(err.msg, "c/neg"), "%s", err.msg);
    cr_assert_eq(graph_find_tensor(g, "c/neg"), -1);
    graph_free(g);
}

Test(builder, unknown_op_is_an_error)
{
    ssdc_error err = {0};
    graph_builder b;
    int x, y;
    graph *g = setup(&b, GRAPH_BUILDER_NUMBERED, "p/", &err, &x);
    int n_tensors = g->n_tensors;
    cr_assert_eq(graph_builder_op(&b, "Relux", NULL, 1, &x, &y, NULL), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "'Relux'"), "%s", err.msg);
    cr_assert(strstr(err.msg, "p/Relux"), "%s", err.msg);
    cr_assert_eq(g->n_tensors, n_tensors, "no output tensor is left behind");
    cr_assert_eq(g->n_nodes, 0);
    int out[1] = {x};
    cr_assert_eq(graph_builder_node(&b, "softmax", "s", 1, &x, 1, out, NULL), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "'softmax'"), "%s", err.msg);
    cr_assert_eq(graph_builder_op(&b, NULL, "none", 1, &x, &y, NULL), SSDC_ERR_INVALID);
    cr_assert_eq(g->n_nodes, 0);
    graph_free(g);
}

Test(builder, names_over_the_limit)
{
    graph *g = graph_new();
    ssdc_error err = {0};
    graph_builder b;
    char longname[GRAPH_BUILDER_NAME_MAX + 10];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    cr_assert_eq(graph_builder_init(&b, g, GRAPH_BUILDER_EXACT, longname, &err), SSDC_ERR_LIMIT);
    cr_assert(strstr(err.msg, "prefix"), "%s", err.msg);

    cr_assert_eq(graph_builder_init(&b, g, GRAPH_BUILDER_NUMBERED, "p/", &err), SSDC_OK);
    longname[GRAPH_BUILDER_NAME_MAX - 4] = 0; /* fits alone, not with "p/" and "#0" */
    int t;
    cr_assert_eq(graph_builder_tensor(&b, longname, &t), SSDC_ERR_LIMIT);
    cr_assert_eq(g->n_tensors, 0);
    longname[GRAPH_BUILDER_NAME_MAX - 6] = 0; /* "p/" + 1018 + "#1" = 1022 characters */
    cr_assert_eq(graph_builder_tensor(&b, longname, &t), SSDC_OK, "%s", err.msg);
    cr_assert_eq(strlen(tname(g, t)), (size_t)GRAPH_BUILDER_NAME_MAX - 2);
    graph_free(g);
}

Test(builder, copy_attrs)
{
    graph *src = graph_new(), *g = graph_new();
    ssdc_error err = {0};
    int a, a2, n0;
    cr_assert_eq(graph_add_tensor(src, "a", GRAPH_DT_FLOAT, NULL, GRAPH_TENSOR_INPUT, &a, &err),
                 SSDC_OK);
    cr_assert_eq(graph_add_tensor(src, "b", GRAPH_DT_FLOAT, NULL, GRAPH_TENSOR_INTERMEDIATE, &a2,
                                  &err),
                 SSDC_OK);
    cr_assert_eq(graph_add_node(src, "conv", "Conv", "", 1, &a, 1, &a2, &n0, &err), SSDC_OK);
    int64_t pads[4] = {1, 2, 1, 2};
    cr_assert_eq(graph_node_set_ints(src, n0, "pads", pads, 4, &err), SSDC_OK);
    cr_assert_eq(graph_node_set_int(src, n0, "group", 3, &err), SSDC_OK);

    graph_builder b;
    cr_assert_eq(graph_builder_init(&b, g, GRAPH_BUILDER_EXACT, "t/", &err), SSDC_OK);
    int x, y, node;
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, NULL, GRAPH_TENSOR_INPUT, &x, &err),
                 SSDC_OK);
    cr_assert_eq(graph_builder_op(&b, "Conv", "conv", 1, &x, &y, &node), SSDC_OK);
    cr_assert_eq(graph_builder_copy_attrs(&b, node, &src->nodes[n0]), SSDC_OK, "%s", err.msg);
    cr_assert_eq(g->nodes[node].n_attrs, 2);
    size_t n = 0;
    const int64_t *p = graph_attr_ints(&g->nodes[node], "pads", &n);
    cr_assert_eq(n, 4);
    cr_assert_neq(p, pads);
    cr_assert_eq(p[1], 2);
    cr_assert_eq(graph_attr_int(&g->nodes[node], "group", 0), 3);
    graph_free(src);
    /* the copy is the graph's own */
    cr_assert_eq(graph_attr_ints(&g->nodes[node], "pads", &n)[3], 2);
    graph_free(g);
}
