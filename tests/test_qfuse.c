/* passes_qfuse, first step: Q/DQ parameter validation naming the node, and
 * the float op between DQ and Q counted (and named) as not fused. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/builder.h"
#include "passes/qfuse.h"

/* x -> Q(q_in) -> DQ(dq_in) -> Relu(relu) -> Q(q_out) -> DQ(dq_out) -> y */
static graph *make_qdq_relu(float scale_in, int n_scale_out)
{
    ssdc_error err = {0};
    graph *g = graph_new();
    cr_assert(g);
    graph_builder b;
    cr_assert_eq(graph_builder_init(&b, g, GRAPH_BUILDER_EXACT, "", &err), SSDC_OK, "%s", err.msg);
    graph_shape sh;
    graph_shape_init(&sh, 2, (int64_t[]){1, 4});
    int x;
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &sh, GRAPH_TENSOR_INPUT, &x, &err), SSDC_OK);
    cr_assert_eq(graph_add_input(g, x, &err), SSDC_OK);
    int s_in, z_in, s_out, z_out;
    cr_assert_eq(graph_builder_const_f32(&b, "s_in", scale_in, &s_in), SSDC_OK);
    uint8_t zp = 128;
    cr_assert_eq(graph_builder_initializer(&b, "z_in", GRAPH_DT_UINT8, 0, NULL, &zp, &z_in), SSDC_OK);
    float so[4] = {0.05f, 0.05f, 0.05f, 0.05f};
    uint8_t zo[4] = {0};
    int64_t d = n_scale_out;
    cr_assert_eq(graph_builder_initializer(&b, "s_out", GRAPH_DT_FLOAT, n_scale_out > 1, &d, so,
                                           &s_out), SSDC_OK);
    cr_assert_eq(graph_builder_initializer(&b, "z_out", GRAPH_DT_UINT8, n_scale_out > 1, &d, zo,
                                           &z_out), SSDC_OK);
    int q0, dq0, r, q1, y;
    cr_assert_eq(graph_builder_op(&b, "QuantizeLinear", "q_in", 3, (int[]){x, s_in, z_in}, &q0, NULL), SSDC_OK, "%s", err.msg);
    cr_assert_eq(graph_builder_op(&b, "DequantizeLinear", "dq_in", 3, (int[]){q0, s_in, z_in}, &dq0, NULL), SSDC_OK);
    cr_assert_eq(graph_builder_op(&b, "Relu", "relu", 1, (int[]){dq0}, &r, NULL), SSDC_OK);
    cr_assert_eq(graph_builder_op(&b, "QuantizeLinear", "q_out", 3, (int[]){r, s_out, z_out}, &q1, NULL), SSDC_OK);
    cr_assert_eq(graph_builder_op(&b, "DequantizeLinear", "dq_out", 3, (int[]){q1, s_out, z_out}, &y, NULL), SSDC_OK);
    cr_assert_eq(graph_add_output(g, y, &err), SSDC_OK);
    /* the quantized tensors' dtypes and the Relu output's shape, as import would infer */
    g->tensors[q0].dtype = GRAPH_DT_UINT8;
    g->tensors[q1].dtype = GRAPH_DT_UINT8;
    g->tensors[r].dtype = GRAPH_DT_FLOAT;
    g->tensors[r].shape = sh;
    return g;
}

Test(qfuse, counts_and_names_unfused_op)
{
    graph *g = make_qdq_relu(0.02f, 1);
    cr_assert(qfuse_is_qdq_graph(g));
    qfuse_stats st;
    ssdc_error err = {0};
    int n0 = g->n_nodes;
    cr_assert_eq(passes_qfuse(g, &st, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(st.n_quantize, 2);
    cr_assert_eq(st.n_dequantize, 2);
    cr_assert_eq(st.n_unfused, 1);
    cr_assert(strstr(st.unfused[0], "relu"), "%s", st.unfused[0]);
    cr_assert_eq(g->n_nodes, n0, "an unfused node stays as it is");
    graph_free(g);
}

Test(qfuse, bad_scale_names_node)
{
    float bad[] = {0.0f, -1.0f, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        graph *g = make_qdq_relu(bad[i], 1);
        ssdc_error err = {0};
        cr_assert_neq(passes_qfuse(g, NULL, &err), SSDC_OK, "scale %g accepted", (double)bad[i]);
        cr_assert(strstr(err.msg, "q_in"), "%s", err.msg);
        graph_free(g);
    }
}

Test(qfuse, per_axis_length_mismatch_names_node)
{
    graph *g = make_qdq_relu(0.02f, 3); /* 3 scales on axis 1 of extent 4 */
    ssdc_error err = {0};
    cr_assert_neq(passes_qfuse(g, NULL, &err), SSDC_OK);
    cr_assert(strstr(err.msg, "q_out") && strstr(err.msg, "per-axis"), "%s", err.msg);
    graph_free(g);
}

Test(qfuse, zero_point_type_mismatch_names_node)
{
    graph *g = make_qdq_relu(0.02f, 1);
    g->tensors[graph_find_tensor(g, "q_in")].dtype = GRAPH_DT_INT8; /* DQ reads int8, zp uint8 */
    ssdc_error err = {0};
    cr_assert_neq(passes_qfuse(g, NULL, &err), SSDC_OK);
    cr_assert(strstr(err.msg, "zero point"), "%s", err.msg);
    graph_free(g);
}

Test(qfuse, float_graph_is_not_qdq)
{
    graph *g = graph_new();
    cr_assert_not(qfuse_is_qdq_graph(g));
    graph_free(g);
}
