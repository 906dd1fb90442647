/* QuantizeLinear and DequantizeLinear (graph/ops/quant.c, runtime/kernels/
 * quant.c): per tensor and per axis against values computed here (rintf in
 * the default rounding mode, i.e. half to even, then clamping), ties at .5,
 * saturation at both ends of int8 and uint8, the uint8 default of an omitted
 * zero point, and every validation error naming the node: at shape
 * inference for known scales / zero points and in the kernel for a scale fed
 * at run time. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "graph/builder.h"
#include "graph/ops.h"
#include "runtime/exec.h"

static ssdc_error err;

/* The parameters of one Q or DQ node. */
typedef struct {
    const char *op;
    graph_dtype x_dt;
    int rank;
    int64_t dims[4];
    int scale_rank;          /* 0: scalar, 1: 1-D of n_scale */
    int n_scale;
    const float *scale;
    bool scale_is_input;     /* scale fed at run time instead of an initializer */
    graph_dtype zp_dt;       /* UNDEFINED: omitted */
    int n_zp;
    const void *zp;
    bool has_axis;
    int64_t axis;
} qspec;

/* A graph: x (input) -> op "q_node" (scale, zero point) -> y (output). */
static graph *build(const qspec *q)
{
    graph *g = graph_new();
    graph_builder b;
    cr_assert_eq(graph_builder_init(&b, g, GRAPH_BUILDER_EXACT, "", &err), SSDC_OK);
    graph_shape xs;
    graph_shape_init(&xs, q->rank, q->dims);
    int x, s, z = -1, y, node;
    cr_assert_eq(graph_add_tensor(g, "x", q->x_dt, &xs, GRAPH_TENSOR_INPUT, &x, &err), SSDC_OK);
    cr_assert_eq(graph_add_input(g, x, &err), SSDC_OK);
    int64_t sd[1] = {q->n_scale};
    if (q->scale_is_input) {
        graph_shape ss;
        graph_shape_init(&ss, q->scale_rank, sd);
        cr_assert_eq(graph_add_tensor(g, "scale", GRAPH_DT_FLOAT, &ss, GRAPH_TENSOR_INPUT, &s,
                                      &err), SSDC_OK);
        cr_assert_eq(graph_add_input(g, s, &err), SSDC_OK);
    } else {
        cr_assert_eq(graph_builder_initializer(&b, "scale", GRAPH_DT_FLOAT, q->scale_rank, sd,
                                               q->scale, &s), SSDC_OK, "%s", err.msg);
    }
    if (q->zp_dt != GRAPH_DT_UNDEFINED) {
        int64_t zd[1] = {q->n_zp};
        cr_assert_eq(graph_builder_initializer(&b, "zp", q->zp_dt, q->scale_rank, zd, q->zp, &z),
                     SSDC_OK, "%s", err.msg);
    }
    int in[3] = {x, s, z};
    cr_assert_eq(graph_builder_op(&b, q->op, "q_node", z >= 0 ? 3 : 2, in, &y, &node), SSDC_OK,
                 "%s", err.msg);
    if (q->has_axis)
        cr_assert_eq(graph_node_set_int(g, node, "axis", q->axis, &err), SSDC_OK);
    cr_assert_eq(graph_add_output(g, y, &err), SSDC_OK);
    return g;
}

static int64_t numel_of(const qspec *q)
{
    int64_t n = 1;
    for (int d = 0; d < q->rank; d++)
        n *= q->dims[d];
    return n;
}

/* Runs the graph of q on x; copies output 0 (out_bytes bytes) into out and
 * returns its dtype. */
static graph_dtype run(const qspec *q, const void *x, void *out, size_t out_bytes)
{
    graph *g = build(q);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(graph_infer_shapes(g, &err), SSDC_OK, "%s", err.msg);
    rt_session *sess;
    cr_assert_eq(rt_session_create(g, NULL, &sess, &err), SSDC_OK, "%s", err.msg);
    graph_value in = {0};
    graph_value_set_shape(&in, q->x_dt, q->rank, q->dims);
    in.data = (void *)x;
    cr_assert_eq(rt_session_run(sess, &in, &err), SSDC_OK, "%s", err.msg);
    const graph_value *y = rt_session_output(sess, 0);
    cr_assert_eq(y->numel, numel_of(q));
    cr_assert_eq(graph_value_bytes(y), out_bytes);
    memcpy(out, y->data, out_bytes);
    graph_dtype dt = y->dtype;
    rt_session_free(sess);
    graph_free(g);
    return dt;
}

/* The reference: saturate(rint(x / scale) + zp). */
static int32_t ref_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi)
{
    float r = rintf(x / scale) + (float)zp;
    return r < (float)lo ? lo : r > (float)hi ? hi : (int32_t)r;
}

Test(quant_ops, quantize_per_tensor_uint8)
{
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i * 0.37f - 2.0f;
    float scale = 0.05f;
    uint8_t zp = 100;
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 2, .dims = {3, 4},
               .scale_rank = 0, .n_scale = 1, .scale = &scale, .zp_dt = GRAPH_DT_UINT8,
               .n_zp = 1, .zp = &zp};
    uint8_t y[12];
    cr_assert_eq(run(&q, x, y, sizeof y), GRAPH_DT_UINT8);
    for (int i = 0; i < 12; i++)
        cr_assert_eq(y[i], ref_quantize(x[i], scale, zp, 0, 255), "element %d: %d", i, y[i]);
}

Test(quant_ops, quantize_omitted_zero_point_is_uint8_zero)
{
    float x[4] = {-3.0f, 0.4f, 7.6f, 1000.0f};
    float scale = 2.0f;
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 1, .dims = {4},
               .scale_rank = 0, .n_scale = 1, .scale = &scale};
    uint8_t y[4];
    cr_assert_eq(run(&q, x, y, sizeof y), GRAPH_DT_UINT8);
    uint8_t want[4] = {0, 0, 4, 255};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(y[i], want[i], "element %d: %d", i, y[i]);
}

Test(quant_ops, quantize_ties_round_half_to_even)
{
    float x[10] = {0.5f, 1.5f, 2.5f, 3.5f, -0.5f, -1.5f, -2.5f, -3.5f, 1.25f, -1.25f};
    int8_t want[10] = {0, 2, 2, 4, 0, -2, -2, -4, 1, -1};
    float scale = 1.0f;
    int8_t zp = 0;
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 1, .dims = {10},
               .scale_rank = 0, .n_scale = 1, .scale = &scale, .zp_dt = GRAPH_DT_INT8,
               .n_zp = 1, .zp = &zp};
    int8_t y[10];
    cr_assert_eq(run(&q, x, y, sizeof y), GRAPH_DT_INT8);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(y[i], want[i], "x = %g gave %d, expected %d", (double)x[i], y[i], want[i]);

    /* the tie is on x / scale: 1.25 / 0.5 = 2.5 -> 2, 1.75 / 0.5 = 3.5 -> 4; with zp 3
     * the rounding comes before the zero point is added (2 + 3, not rint(5.5)) */
    float x2[3] = {1.25f, 1.75f, -1.25f};
    int8_t want2[3] = {5, 7, 1};
    scale = 0.5f;
    zp = 3;
    q.dims[0] = 3;
    int8_t y2[3];
    run(&q, x2, y2, sizeof y2);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(y2[i], want2[i], "x = %g gave %d, expected %d", (double)x2[i], y2[i],
                     want2[i]);
}

Test(quant_ops, quantize_saturates_int8_and_uint8)
{
    float x[8] = {1000.0f, -1000.0f, 127.4f, 127.6f, -128.4f, -128.6f, INFINITY, -INFINITY};
    float scale = 1.0f;
    int8_t zp8 = 0;
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 1, .dims = {8},
               .scale_rank = 0, .n_scale = 1, .scale = &scale, .zp_dt = GRAPH_DT_INT8,
               .n_zp = 1, .zp = &zp8};
    int8_t y8[8];
    run(&q, x, y8, sizeof y8);
    int8_t want8[8] = {127, -128, 127, 127, -128, -128, 127, -128};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(y8[i], want8[i], "int8, x = %g gave %d", (double)x[i], y8[i]);

    /* uint8 with a zero point that pushes past both ends */
    float xu[6] = {-1.0f, 300.0f, 255.4f, 100.0f, -100.0f, -101.0f};
    uint8_t zpu = 100;
    q.dims[0] = 6;
    q.zp_dt = GRAPH_DT_UINT8;
    q.zp = &zpu;
    uint8_t yu[6];
    run(&q, xu, yu, sizeof yu);
    uint8_t wantu[6] = {99, 255, 255, 200, 0, 0};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(yu[i], wantu[i], "uint8, x = %g gave %d", (double)xu[i], yu[i]);
}

Test(quant_ops, quantize_per_axis)
{
    /* x [2, 3, 2], per channel along axis 1 (given as 1 and as -2) */
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i * 7 % 11) - 5.3f;
    float scale[3] = {0.5f, 0.1f, 2.0f};
    int8_t zp[3] = {-1, 0, 3};
    for (int variant = 0; variant < 3; variant++) {
        qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 3, .dims = {2, 3, 2},
                   .scale_rank = 1, .n_scale = 3, .scale = scale, .zp_dt = GRAPH_DT_INT8,
                   .n_zp = 3, .zp = zp, .has_axis = variant > 0, .axis = variant == 1 ? 1 : -2};
        int8_t y[12];
        run(&q, x, y, sizeof y);
        for (int i = 0; i < 12; i++) {
            int c = (i / 2) % 3;
            cr_assert_eq(y[i], ref_quantize(x[i], scale[c], zp[c], -128, 127),
                         "variant %d element %d (channel %d): %d", variant, i, c, y[i]);
        }
    }
    /* axis 0 of [3, 4] with uint8: row r uses scale[r] */
    float x0[12];
    for (int i = 0; i < 12; i++)
        x0[i] = (float)i * 3.1f - 9.0f;
    uint8_t zpu[3] = {0, 128, 255};
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 2, .dims = {3, 4},
               .scale_rank = 1, .n_scale = 3, .scale = scale, .zp_dt = GRAPH_DT_UINT8,
               .n_zp = 3, .zp = zpu, .has_axis = true, .axis = 0};
    uint8_t y0[12];
    run(&q, x0, y0, sizeof y0);
    for (int i = 0; i < 12; i++)
        cr_assert_eq(y0[i], ref_quantize(x0[i], scale[i / 4], zpu[i / 4], 0, 255),
                     "axis 0 element %d: %d", i, y0[i]);
}

Test(quant_ops, dequantize_per_tensor)
{
    int8_t x8[6] = {-128, -1, 0, 1, 5, 127};
    float scale = 0.25f;
    int8_t zp8 = -3;
    qspec q = {.op = "DequantizeLinear", .x_dt = GRAPH_DT_INT8, .rank = 1, .dims = {6},
               .scale_rank = 0, .n_scale = 1, .scale = &scale, .zp_dt = GRAPH_DT_INT8,
               .n_zp = 1, .zp = &zp8};
    float y[6];
    cr_assert_eq(run(&q, x8, y, sizeof y), GRAPH_DT_FLOAT);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(y[i], (float)(x8[i] - zp8) * scale, "int8 element %d: %g", i, (double)y[i]);

    uint8_t xu[6] = {0, 1, 127, 128, 200, 255};
    uint8_t zpu = 128;
    q.x_dt = GRAPH_DT_UINT8;
    q.zp_dt = GRAPH_DT_UINT8;
    q.zp = &zpu;
    run(&q, xu, y, sizeof y);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(y[i], (float)(xu[i] - zpu) * scale, "uint8 element %d: %g", i, (double)y[i]);

    /* int32 (a bias) without a zero point */
    int32_t x32[6] = {-100000, -1, 0, 1, 77, 1 << 20};
    q.x_dt = GRAPH_DT_INT32;
    q.zp_dt = GRAPH_DT_UNDEFINED;
    scale = 0.001f;
    run(&q, x32, y, sizeof y);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(y[i], (float)x32[i] * scale, "int32 element %d: %g", i, (double)y[i]);
}

Test(quant_ops, dequantize_per_axis)
{
    uint8_t x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (uint8_t)(i * 23);
    float scale[4] = {0.5f, 0.25f, 2.0f, 0.125f};
    uint8_t zp[4] = {0, 10, 128, 255};
    /* x [3, 4], axis 1 (default) */
    qspec q = {.op = "DequantizeLinear", .x_dt = GRAPH_DT_UINT8, .rank = 2, .dims = {3, 4},
               .scale_rank = 1, .n_scale = 4, .scale = scale, .zp_dt = GRAPH_DT_UINT8,
               .n_zp = 4, .zp = zp};
    float y[12];
    run(&q, x, y, sizeof y);
    for (int i = 0; i < 12; i++) {
        int c = i % 4;
        cr_assert_eq(y[i], (float)(x[i] - zp[c]) * scale[c], "element %d: %g", i, (double)y[i]);
    }
    /* x [4, 3], axis 0 */
    q.dims[0] = 4;
    q.dims[1] = 3;
    q.has_axis = true;
    q.axis = 0;
    run(&q, x, y, sizeof y);
    for (int i = 0; i < 12; i++) {
        int c = i / 3;
        cr_assert_eq(y[i], (float)(x[i] - zp[c]) * scale[c], "axis 0 element %d: %g", i,
                     (double)y[i]);
    }
}

/* Builds q, expects shape inference to fail naming the node, and returns the
 * message (in err). */
static void expect_infer_error(const qspec *q, const char *must_contain)
{
    graph *g = build(q);
    ssdc_status st = graph_infer_shapes(g, &err);
    cr_assert_neq(st, SSDC_OK, "%s accepted: expected an error about '%s'", q->op, must_contain);
    cr_assert(strstr(err.msg, "q_node"), "message does not name the node: %s", err.msg);
    cr_assert(strstr(err.msg, must_contain), "message lacks '%s': %s", must_contain, err.msg);
    graph_free(g);
}

Test(quant_ops, bad_scale_values_are_errors)
{
    const float bad[4] = {0.0f, -1.0f, NAN, INFINITY};
    const char *ops[2] = {"QuantizeLinear", "DequantizeLinear"};
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 4; i++) {
            int8_t zp = 0;
            qspec q = {.op = ops[o], .x_dt = o ? GRAPH_DT_INT8 : GRAPH_DT_FLOAT, .rank = 1,
                       .dims = {4}, .scale_rank = 0, .n_scale = 1, .scale = &bad[i],
                       .zp_dt = GRAPH_DT_INT8, .n_zp = 1, .zp = &zp};
            expect_infer_error(&q, "scale");
        }
    /* one bad entry of a per-axis scale, named by its index */
    float s3[3] = {1.0f, 0.5f, 0.0f};
    int8_t z3[3] = {0, 0, 0};
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 2, .dims = {2, 3},
               .scale_rank = 1, .n_scale = 3, .scale = s3, .zp_dt = GRAPH_DT_INT8, .n_zp = 3,
               .zp = z3};
    expect_infer_error(&q, "scale[2]");
}

Test(quant_ops, scale_and_zero_point_lengths_differ)
{
    float s3[3] = {1.0f, 0.5f, 0.25f};
    int8_t z2[2] = {0, 0};
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 2, .dims = {2, 3},
               .scale_rank = 1, .n_scale = 3, .scale = s3, .zp_dt = GRAPH_DT_INT8, .n_zp = 2,
               .zp = z2};
    expect_infer_error(&q, "3 elements and zero point 2");
    q.op = "DequantizeLinear";
    q.x_dt = GRAPH_DT_INT8;
    expect_infer_error(&q, "3 elements and zero point 2");
}

Test(quant_ops, per_axis_length_differs_from_axis_extent)
{
    float s4[4] = {1.0f, 0.5f, 0.25f, 2.0f};
    uint8_t z4[4] = {0, 0, 0, 0};
    /* x [2, 3], axis 1 has extent 3, the scale 4 entries */
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 2, .dims = {2, 3},
               .scale_rank = 1, .n_scale = 4, .scale = s4, .zp_dt = GRAPH_DT_UINT8, .n_zp = 4,
               .zp = z4};
    expect_infer_error(&q, "4 elements, expected 3");
    q.op = "DequantizeLinear";
    q.x_dt = GRAPH_DT_UINT8;
    q.has_axis = true;
    q.axis = 0; /* extent 2 */
    expect_infer_error(&q, "4 elements, expected 2");
}

Test(quant_ops, dequantize_zero_point_dtype_differs)
{
    float s = 1.0f;
    uint8_t zp = 0;
    qspec q = {.op = "DequantizeLinear", .x_dt = GRAPH_DT_INT8, .rank = 1, .dims = {4},
               .scale_rank = 0, .n_scale = 1, .scale = &s, .zp_dt = GRAPH_DT_UINT8, .n_zp = 1,
               .zp = &zp};
    expect_infer_error(&q, "zero point is uint8");
}

Test(quant_ops, quantize_zero_point_dtype_must_be_8_bit)
{
    float s = 1.0f;
    int32_t zp = 0;
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 1, .dims = {4},
               .scale_rank = 0, .n_scale = 1, .scale = &s, .zp_dt = GRAPH_DT_INT32, .n_zp = 1,
               .zp = &zp};
    expect_infer_error(&q, "input 2");
}

Test(quant_ops, scale_fed_at_run_time_is_checked_by_the_kernel)
{
    int8_t zp = 0;
    qspec q = {.op = "QuantizeLinear", .x_dt = GRAPH_DT_FLOAT, .rank = 1, .dims = {2},
               .scale_rank = 0, .n_scale = 1, .scale_is_input = true, .zp_dt = GRAPH_DT_INT8,
               .n_zp = 1, .zp = &zp};
    graph *g = build(&q);
    cr_assert_eq(graph_infer_shapes(g, &err), SSDC_OK, "%s", err.msg);
    rt_session *sess;
    cr_assert_eq(rt_session_create(g, NULL, &sess, &err), SSDC_OK, "%s", err.msg);
    float x[2] = {1.0f, 2.0f};
    float scales[2] = {0.5f, 0.0f};
    for (int k = 0; k < 2; k++) {
        graph_value in[2] = {{0}, {0}};
        graph_value_set_shape(&in[0], GRAPH_DT_FLOAT, 1, q.dims);
        in[0].data = x;
        graph_value_set_shape(&in[1], GRAPH_DT_FLOAT, 0, NULL);
        in[1].data = &scales[k];
        ssdc_status st = rt_session_run(sess, in, &err);
        if (k == 0) {
            cr_assert_eq(st, SSDC_OK, "%s", err.msg);
            const int8_t *y = rt_session_output(sess, 0)->data;
            cr_assert_eq(y[0], 2);
            cr_assert_eq(y[1], 4);
        } else {
            cr_assert_neq(st, SSDC_OK, "a zero scale was accepted");
            cr_assert(strstr(err.msg, "q_node"), "message does not name the node: %s", err.msg);
            cr_assert(strstr(err.msg, "scale"), "%s", err.msg);
        }
    }
    rt_session_free(sess);
    graph_free(g);
}
