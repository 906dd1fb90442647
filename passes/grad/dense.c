/* Gradient rules of the dense ops: Conv, Gemm, MatMul, the pools,
 * BatchNormalization, Softmax, LogSoftmax and SoftmaxCrossEntropyLoss.
 *
 * Standard ONNX ops where they do the job without extra passes over memory
 * (Gemm / MatMul gradients are Gemm / MatMul with flipped transposes, summed
 * over broadcast batch dimensions with SumTo; BatchNormalization in inference
 * mode is a per-channel affine map), ssdc's gradient ops otherwise (ConvGrad,
 * the pool gradients, BatchNormalizationGrad with batch statistics,
 * SoftmaxGrad, LogSoftmaxGrad, SoftmaxCrossEntropyLossGrad). */
#include "passes/autodiff.h"

#include <stdio.h>
#include <string.h>

/* ---- helpers ---- */

static ssdc_status dg_fail(autodiff_ctx *c, ssdc_error *err, ssdc_status code, const char *what)
{
    const graph_node *n = autodiff_node(c);
    return ssdc_fail(err, code, "node '%s' (%s): %s", n->name, n->op_type, what);
}

static const graph_tensor *dg_tensor(autodiff_ctx *c, int t)
{
    return &autodiff_graph(c)->tensors[t];
}

/* Adds a node whose outputs are created only where want[o] (omitted: -1).
 * The node is named after its first output tensor, which is unique. */
static ssdc_status dg_add_node_some(autodiff_ctx *c, const char *op_type, const char *domain,
                                    int n_in, const int *in, int n_out, const bool *want,
                                    int *out, int *node, ssdc_error *err)
{
    ssdc_status st;
    const char *name = NULL;
    for (int o = 0; o < n_out; o++) {
        out[o] = -1;
        if (!want[o])
            continue;
        if ((st = graph_builder_tensor(autodiff_builder(c), op_type, &out[o])))
            return st;
        if (!name)
            name = dg_tensor(c, out[o])->name;
    }
    if (!name)
        return dg_fail(c, err, SSDC_ERR_INVALID, "gradient node without outputs");
    char buf[512];
    snprintf(buf, sizeof buf, "%s", name);
    return graph_add_node(autodiff_graph(c), buf, op_type, domain, n_in, in, n_out, out, node,
                          err);
}

static ssdc_status dg_set_int(autodiff_ctx *c, int node, const char *name, int64_t v,
                              ssdc_error *err)
{
    return graph_node_set_int(autodiff_graph(c), node, name, v, err);
}

/* Gives an intermediate gradient tensor a static dtype and shape (so that
 * autodiff_sum_to_like can see when no reduction is needed). */
static void dg_set_shape(autodiff_ctx *c, int t, const graph_shape *s)
{
    graph_tensor *tt = &autodiff_graph(c)->tensors[t];
    tt->dtype = GRAPH_DT_FLOAT;
    tt->shape = *s;
}

/* Gemm(a, b) with the given transposes and alpha. */
static ssdc_status dg_gemm(autodiff_ctx *c, int a, int b, bool ta, bool tb, float alpha, int *out,
                           ssdc_error *err)
{
    int in[2] = {a, b}, node;
    ssdc_status st = graph_builder_op(autodiff_builder(c), "Gemm", NULL, 2, in, out, &node);
    if (!st && ta)
        st = dg_set_int(c, node, "transA", 1, err);
    if (!st && tb)
        st = dg_set_int(c, node, "transB", 1, err);
    if (!st && alpha != 1.0f)
        st = graph_node_set_float(autodiff_graph(c), node, "alpha", alpha, err);
    return st;
}

static ssdc_status dg_matmul(autodiff_ctx *c, int a, int b, int *out, ssdc_error *err)
{
    int in[2] = {a, b};
    return graph_builder_op(autodiff_builder(c), "MatMul", NULL, 2, in, out, NULL);
}

/* Transpose of the last two dims of a tensor of rank r. */
static ssdc_status dg_transpose_last2(autodiff_ctx *c, int x, int r, int *out, ssdc_error *err)
{
    int64_t perm[GRAPH_MAX_RANK];
    for (int d = 0; d < r; d++)
        perm[d] = d;
    perm[r - 1] = r - 2;
    perm[r - 2] = r - 1;
    int node;
    ssdc_status st = graph_builder_op(autodiff_builder(c), "Transpose", NULL, 1, &x, out, &node);
    if (!st)
        st = graph_node_set_ints(autodiff_graph(c), node, "perm", perm, (size_t)r, err);
    return st;
}

/* Reshape(x, constant shape). */
static ssdc_status dg_reshape_const(autodiff_ctx *c, int x, const int64_t *shape, int n, int *out,
                                   ssdc_error *err)
{
    int s;
    ssdc_status st = graph_builder_const_i64(autodiff_builder(c), "const", shape, n, &s);
    if (st)
        return st;
    int in[2] = {x, s};
    return graph_builder_op(autodiff_builder(c), "Reshape", NULL, 2, in, out, NULL);
}

static ssdc_status dg_flatten(autodiff_ctx *c, int x, int axis, int *out, ssdc_error *err)
{
    int node;
    ssdc_status st = graph_builder_op(autodiff_builder(c), "Flatten", NULL, 1, &x, out, &node);
    if (!st)
        st = dg_set_int(c, node, "axis", axis, err);
    return st;
}

/* ReduceSum(x, axes, keepdims = 0): axes as an input from opset 13, as an
 * attribute before (the form the graph's opset defines). */
static ssdc_status dg_reduce_sum(autodiff_ctx *c, int x, const int64_t *axes, int n, int *out,
                                 ssdc_error *err)
{
    graph *g = autodiff_graph(c);
    int node;
    ssdc_status st;
    if (g->opset >= 13) {
        int a;
        if ((st = graph_builder_const_i64(autodiff_builder(c), "const", axes, n, &a)))
            return st;
        int in[2] = {x, a};
        st = graph_builder_op(autodiff_builder(c), "ReduceSum", NULL, 2, in, out, &node);
    } else {
        st = graph_builder_op(autodiff_builder(c), "ReduceSum", NULL, 1, &x, out, &node);
        if (!st)
            st = graph_node_set_ints(g, node, "axes", axes, (size_t)n, err);
    }
    if (!st)
        st = dg_set_int(c, node, "keepdims", 0, err);
    return st;
}

static ssdc_status dg_binary(autodiff_ctx *c, const char *op, int a, int b, int *out,
                             ssdc_error *err)
{
    int in[2] = {a, b};
    return graph_builder_op(autodiff_builder(c), op, NULL, 2, in, out, NULL);
}

/* Zeros shaped like tensor `like` (ConstantOfShape's default value is float 0). */
static ssdc_status dg_zeros_like(autodiff_ctx *c, int like, int *out, ssdc_error *err)
{
    int shape;
    ssdc_status st = autodiff_shape_of(c, like, &shape, err);
    if (!st)
        st = graph_builder_op(autodiff_builder(c), "ConstantOfShape", NULL, 1, &shape, out, NULL);
    return st;
}

static int dg_rank(autodiff_ctx *c, int t)
{
    return t >= 0 ? dg_tensor(c, t)->shape.rank : -1;
}

/* ---- Conv ---- */

static ssdc_status grad_conv(autodiff_ctx *c, ssdc_error *err)
{
    int dy;
    ssdc_status st = autodiff_dy_or_zeros(c, 0, &dy, err);
    if (st)
        return st;
    bool want[3] = {autodiff_needs_grad(c, 0), autodiff_needs_grad(c, 1),
                    autodiff_needs_grad(c, 2)};
    if (!want[0] && !want[1] && !want[2])
        return SSDC_OK;
    int in[3] = {dy, autodiff_input(c, 0), autodiff_input(c, 1)}, out[3], node;
    if ((st = dg_add_node_some(c, "ConvGrad", GRAPH_SSDC_DOMAIN, 3, in, 3, want, out, &node, err)))
        return st;
    if ((st = graph_builder_copy_attrs(autodiff_builder(c), node, autodiff_node(c))))
        return st;
    for (int i = 0; i < 3; i++)
        if (want[i] && (st = autodiff_set_grad(c, i, out[i], err)))
            return st;
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_conv = {.grad = grad_conv};

/* ---- Gemm: Y = alpha * op(A) op(B) + beta * C ---- */

static ssdc_status grad_gemm(autodiff_ctx *c, ssdc_error *err)
{
    const graph_node *n = autodiff_node(c);
    bool ta = graph_attr_int(n, "transA", 0) != 0, tb = graph_attr_int(n, "transB", 0) != 0;
    float alpha = graph_attr_float(n, "alpha", 1.0f), beta = graph_attr_float(n, "beta", 1.0f);
    int a = autodiff_input(c, 0), b = autodiff_input(c, 1), dy, t;
    ssdc_status st = autodiff_dy_or_zeros(c, 0, &dy, err);
    if (st)
        return st;
    if (autodiff_needs_grad(c, 0)) {
        /* dop(A) = alpha dY op(B)^T */
        if (!ta)
            st = dg_gemm(c, dy, b, false, !tb, alpha, &t, err);
        else
            st = dg_gemm(c, b, dy, tb, true, alpha, &t, err);
        if (st || (st = autodiff_set_grad(c, 0, t, err)))
            return st;
    }
    if (autodiff_needs_grad(c, 1)) {
        /* dop(B) = alpha op(A)^T dY */
        if (!tb)
            st = dg_gemm(c, a, dy, !ta, false, alpha, &t, err);
        else
            st = dg_gemm(c, dy, a, true, ta, alpha, &t, err);
        if (st || (st = autodiff_set_grad(c, 1, t, err)))
            return st;
    }
    if (autodiff_needs_grad(c, 2)) {
        if ((st = autodiff_sum_to_like(c, dy, autodiff_input(c, 2), &t, err)))
            return st;
        if (beta != 1.0f) {
            int k, s;
            if ((st = graph_builder_const_f32(autodiff_builder(c), "const", beta, &k)) ||
                (st = dg_binary(c, "Mul", t, k, &s, err)))
                return st;
            t = s;
        }
        if ((st = autodiff_set_grad(c, 2, t, err)))
            return st;
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_gemm = {.grad = grad_gemm};

/* ---- MatMul (numpy semantics) ---- */

/* t holds a gradient of the broadcast shape `full`; reduce it to `like`. */
static ssdc_status dg_sum_to(autodiff_ctx *c, int t, const graph_shape *full, int like, int *out,
                             ssdc_error *err)
{
    dg_set_shape(c, t, full);
    return autodiff_sum_to_like(c, t, like, out, err);
}

static ssdc_status grad_matmul(autodiff_ctx *c, ssdc_error *err)
{
    int a = autodiff_input(c, 0), b = autodiff_input(c, 1), y = autodiff_output(c, 0);
    int ra = dg_rank(c, a), rb = dg_rank(c, b), ry = dg_rank(c, y);
    if (ra < 1 || rb < 1 || ry < 0)
        return dg_fail(c, err, SSDC_ERR_UNSUPPORTED,
                       "the gradient of MatMul needs operands and output of known rank");
    bool need_a = autodiff_needs_grad(c, 0), need_b = autodiff_needs_grad(c, 1);
    int dy, t, u, v;
    ssdc_status st = autodiff_dy_or_zeros(c, 0, &dy, err);
    if (st)
        return st;
    const graph_shape ys = dg_tensor(c, y)->shape;
    if (ra == 1 && rb == 1) {
        /* dot product: dY is a scalar */
        if (need_a && ((st = dg_binary(c, "Mul", dy, b, &t, err)) ||
                       (st = autodiff_set_grad(c, 0, t, err))))
            return st;
        if (need_b && ((st = dg_binary(c, "Mul", dy, a, &t, err)) ||
                       (st = autodiff_set_grad(c, 1, t, err))))
            return st;
        return SSDC_OK;
    }
    if (ra == 1) {
        /* Y[..., N] = A[K] B[..., K, N] */
        int64_t shp[GRAPH_MAX_RANK + 1];
        for (int d = 0; d < ry - 1; d++)
            shp[d] = 0;
        shp[ry - 1] = 1;
        shp[ry] = -1;
        int dy_row = -1; /* dY as [..., 1, N] */
        if ((need_b || rb > 2) && (st = dg_reshape_const(c, dy, shp, ry + 1, &dy_row, err)))
            return st;
        if (need_a) {
            if (rb == 2) {
                st = dg_matmul(c, b, dy, &t, err); /* [K, N] x [N] */
            } else {
                graph_shape full = ys; /* [batch..., 1, K] */
                full.rank = ry + 1;
                full.dims[ry - 1] = 1;
                full.sym[ry - 1][0] = 0;
                graph_shape_copy_dim(&full, ry, &dg_tensor(c, a)->shape, 0);
                if (!(st = dg_transpose_last2(c, b, rb, &u, err)) &&
                    !(st = dg_matmul(c, dy_row, u, &v, err)))
                    st = dg_sum_to(c, v, &full, a, &t, err);
            }
            if (st || (st = autodiff_set_grad(c, 0, t, err)))
                return st;
        }
        if (need_b) {
            const int64_t col[2] = {-1, 1};
            if ((st = dg_reshape_const(c, a, col, 2, &u, err)) ||
                (st = dg_matmul(c, u, dy_row, &t, err)) || (st = autodiff_set_grad(c, 1, t, err)))
                return st;
        }
        return SSDC_OK;
    }
    if (rb == 1) {
        /* Y[..., M] = A[..., M, K] B[K] */
        if (need_a) {
            int64_t shp[GRAPH_MAX_RANK + 1];
            for (int d = 0; d < ry; d++)
                shp[d] = 0;
            shp[ry] = 1;
            const int64_t row[2] = {1, -1};
            if ((st = dg_reshape_const(c, dy, shp, ry + 1, &u, err)) ||
                (st = dg_reshape_const(c, b, row, 2, &v, err)) ||
                (st = dg_matmul(c, u, v, &t, err)) || (st = autodiff_set_grad(c, 0, t, err)))
                return st;
        }
        if (need_b) {
            if (ra == 2) {
                st = dg_matmul(c, dy, a, &t, err); /* [M] x [M, K] */
            } else {
                const int64_t flat[1] = {-1};
                if (!(st = dg_flatten(c, a, ra - 1, &u, err)) &&
                    !(st = dg_reshape_const(c, dy, flat, 1, &v, err)))
                    st = dg_matmul(c, v, u, &t, err);
            }
            if (st || (st = autodiff_set_grad(c, 1, t, err)))
                return st;
        }
        return SSDC_OK;
    }
    if (ra == 2 && rb == 2) {
        if (need_a && ((st = dg_gemm(c, dy, b, false, true, 1.0f, &t, err)) ||
                       (st = autodiff_set_grad(c, 0, t, err))))
            return st;
        if (need_b && ((st = dg_gemm(c, a, dy, true, false, 1.0f, &t, err)) ||
                       (st = autodiff_set_grad(c, 1, t, err))))
            return st;
        return SSDC_OK;
    }
    /* batched: dA = dY B^T, dB = A^T dY, summed over broadcast batch dims */
    if (need_a) {
        graph_shape full = ys; /* [batch..., M, K] */
        graph_shape_copy_dim(&full, ry - 1, &dg_tensor(c, a)->shape, ra - 1);
        if ((st = dg_transpose_last2(c, b, rb, &u, err)) || (st = dg_matmul(c, dy, u, &v, err)) ||
            (st = dg_sum_to(c, v, &full, a, &t, err)) || (st = autodiff_set_grad(c, 0, t, err)))
            return st;
    }
    if (need_b) {
        if (rb == 2) {
            /* B is shared by every row of A: one Gemm over the flattened rows */
            if ((st = dg_flatten(c, a, ra - 1, &u, err)) ||
                (st = dg_flatten(c, dy, ry - 1, &v, err)) ||
                (st = dg_gemm(c, u, v, true, false, 1.0f, &t, err)))
                return st;
        } else {
            graph_shape full = ys; /* [batch..., K, N] */
            graph_shape_copy_dim(&full, ry - 2, &dg_tensor(c, b)->shape, rb - 2);
            if ((st = dg_transpose_last2(c, a, ra, &u, err)) ||
                (st = dg_matmul(c, u, dy, &v, err)) || (st = dg_sum_to(c, v, &full, b, &t, err)))
                return st;
        }
        if ((st = autodiff_set_grad(c, 1, t, err)))
            return st;
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_matmul = {.grad = grad_matmul};

/* ---- pools: Grad(dY, X) -> dX with the forward's attributes ---- */

static ssdc_status grad_pool(autodiff_ctx *c, const char *op, bool copy_attrs, ssdc_error *err)
{
    if (!autodiff_needs_grad(c, 0))
        return SSDC_OK;
    int dy, t, node;
    ssdc_status st = autodiff_dy_or_zeros(c, 0, &dy, err);
    if (st)
        return st;
    int in[2] = {dy, autodiff_input(c, 0)};
    if ((st = graph_builder_op(autodiff_builder(c), op, NULL, 2, in, &t, &node)))
        return st;
    if (copy_attrs && (st = graph_builder_copy_attrs(autodiff_builder(c), node, autodiff_node(c))))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

static ssdc_status grad_maxpool(autodiff_ctx *c, ssdc_error *err)
{
    return grad_pool(c, "MaxPoolGrad", true, err);
}

static ssdc_status grad_averagepool(autodiff_ctx *c, ssdc_error *err)
{
    return grad_pool(c, "AveragePoolGrad", true, err);
}

static ssdc_status grad_globalaveragepool(autodiff_ctx *c, ssdc_error *err)
{
    return grad_pool(c, "GlobalAveragePoolGrad", false, err);
}

static ssdc_status grad_globalmaxpool(autodiff_ctx *c, ssdc_error *err)
{
    return grad_pool(c, "GlobalMaxPoolGrad", false, err);
}

const autodiff_rule autodiff_rule_maxpool = {.grad = grad_maxpool};
const autodiff_rule autodiff_rule_averagepool = {.grad = grad_averagepool};
const autodiff_rule autodiff_rule_globalaveragepool = {.grad = grad_globalaveragepool};
const autodiff_rule autodiff_rule_globalmaxpool = {.grad = grad_globalmaxpool};

/* ---- BatchNormalization ---- */

/* Inference mode: Y = (X - mean) * a + B with a = scale / sqrt(var + eps), all
 * fixed per channel.  dX = dY * a, dB = sum dY, dScale = sum(dY * (X - mean)) /
 * sqrt(var + eps), dMean = -dB * a, dVar = -0.5 * scale * sum(dY * (X - mean)) /
 * (var + eps)^1.5. */
static ssdc_status grad_bn_inference(autodiff_ctx *c, int dy, ssdc_error *err)
{
    const graph_node *n = autodiff_node(c);
    const float eps = graph_attr_float(n, "epsilon", 1e-5f);
    int x = autodiff_input(c, 0), scale = autodiff_input(c, 1), mean = autodiff_input(c, 3),
        var = autodiff_input(c, 4);
    int r = dg_rank(c, x), pr = dg_rank(c, scale);
    if (r < 2 || pr < 1)
        return dg_fail(c, err, SSDC_ERR_UNSUPPORTED,
                       "the gradient of BatchNormalization needs inputs of known rank");
    bool per_element = pr > 1; /* opset < 9, spatial = 0: one value per element of a sample */
    /* per channel: parameters as [C, 1, ..., 1]; reduce over all dims but 1 */
    int64_t bshape[GRAPH_MAX_RANK], axes[GRAPH_MAX_RANK];
    int n_axes = 0;
    bshape[0] = -1;
    for (int d = 1; d < r - 1; d++)
        bshape[d] = 1;
    if (per_element) {
        axes[n_axes++] = 0;
    } else {
        for (int d = 0; d < r; d++)
            if (d != 1)
                axes[n_axes++] = d;
    }
    bool reshape = !per_element && r > 2;
    bool need_x = autodiff_needs_grad(c, 0), need_s = autodiff_needs_grad(c, 1);
    bool need_b = autodiff_needs_grad(c, 2), need_m = autodiff_needs_grad(c, 3);
    bool need_v = autodiff_needs_grad(c, 4);
    int k_eps, ve, sd, a = -1, db = -1, sxc = -1, t, u;
    ssdc_status st;
    if ((st = graph_builder_const_f32(autodiff_builder(c), "const", eps, &k_eps)) ||
        (st = dg_binary(c, "Add", var, k_eps, &ve, err)) ||
        (st = graph_builder_op(autodiff_builder(c), "Sqrt", NULL, 1, &ve, &sd, NULL)))
        return st;
    if ((need_x || need_m) && (st = dg_binary(c, "Div", scale, sd, &a, err)))
        return st;
    if (need_x) {
        int ab = a;
        if (reshape && (st = dg_reshape_const(c, a, bshape, r - 1, &ab, err)))
            return st;
        if ((st = dg_binary(c, "Mul", dy, ab, &t, err)) || (st = autodiff_set_grad(c, 0, t, err)))
            return st;
    }
    if ((need_b || need_m) && (st = dg_reduce_sum(c, dy, axes, n_axes, &db, err)))
        return st;
    if (need_b && (st = autodiff_set_grad(c, 2, db, err)))
        return st;
    if (need_m) {
        if ((st = dg_binary(c, "Mul", db, a, &u, err)) ||
            (st = graph_builder_op(autodiff_builder(c), "Neg", NULL, 1, &u, &t, NULL)) ||
            (st = autodiff_set_grad(c, 3, t, err)))
            return st;
    }
    if (need_s || need_v) {
        int mb = mean, xc, p;
        if (reshape && (st = dg_reshape_const(c, mean, bshape, r - 1, &mb, err)))
            return st;
        if ((st = dg_binary(c, "Sub", x, mb, &xc, err)) ||
            (st = dg_binary(c, "Mul", dy, xc, &p, err)) ||
            (st = dg_reduce_sum(c, p, axes, n_axes, &sxc, err)))
            return st;
    }
    if (need_s && ((st = dg_binary(c, "Div", sxc, sd, &t, err)) ||
                   (st = autodiff_set_grad(c, 1, t, err))))
        return st;
    if (need_v) {
        int k_half, p, q, den;
        if ((st = graph_builder_const_f32(autodiff_builder(c), "const", -0.5f, &k_half)) ||
            (st = dg_binary(c, "Mul", sxc, scale, &p, err)) ||
            (st = dg_binary(c, "Mul", p, k_half, &q, err)) ||
            (st = dg_binary(c, "Mul", ve, sd, &den, err)) ||
            (st = dg_binary(c, "Div", q, den, &t, err)) || (st = autodiff_set_grad(c, 4, t, err)))
            return st;
    }
    return SSDC_OK;
}

static ssdc_status grad_batchnormalization(autodiff_ctx *c, ssdc_error *err)
{
    const graph_node *n = autodiff_node(c); /* invalid once nodes are added */
    const bool training = graph_attr_int(n, "training_mode", 0) != 0;
    const float eps = graph_attr_float(n, "epsilon", 1e-5f);
    for (int o = 1; o < n->n_outputs; o++)
        if (autodiff_dy(c, o) >= 0)
            return dg_fail(c, err, SSDC_ERR_UNSUPPORTED,
                           "the loss depends on a statistics output; ssdc differentiates only "
                           "through Y");
    int dy;
    ssdc_status st = autodiff_dy_or_zeros(c, 0, &dy, err);
    if (st)
        return st;
    if (!training)
        return grad_bn_inference(c, dy, err);
    /* training: batch statistics; Y does not depend on the running ones */
    bool want[3] = {autodiff_needs_grad(c, 0), autodiff_needs_grad(c, 1),
                    autodiff_needs_grad(c, 2)};
    if (want[0] || want[1] || want[2]) {
        int in[3] = {dy, autodiff_input(c, 0), autodiff_input(c, 1)}, out[3], node;
        if ((st = dg_add_node_some(c, "BatchNormalizationGrad", GRAPH_SSDC_DOMAIN, 3, in, 3, want,
                                   out, &node, err)) ||
            (st = graph_node_set_float(autodiff_graph(c), node, "epsilon", eps, err)))
            return st;
        for (int i = 0; i < 3; i++)
            if (want[i] && (st = autodiff_set_grad(c, i, out[i], err)))
                return st;
    }
    for (int i = 3; i < 5; i++) {
        int z;
        if (autodiff_needs_grad(c, i) &&
            ((st = dg_zeros_like(c, autodiff_input(c, i), &z, err)) ||
             (st = autodiff_set_grad(c, i, z, err))))
            return st;
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_batchnormalization = {.grad = grad_batchnormalization};

/* ---- Softmax / LogSoftmax ---- */

static ssdc_status grad_softmax_common(autodiff_ctx *c, const char *op, ssdc_error *err)
{
    if (!autodiff_needs_grad(c, 0))
        return SSDC_OK;
    graph *g = autodiff_graph(c);
    const graph_node *n = autodiff_node(c);
    int x = autodiff_input(c, 0), y = autodiff_output(c, 0), r = dg_rank(c, x);
    bool legacy = g->opset > 0 && g->opset < 13;
    int64_t axis = graph_attr_int(n, "axis", legacy ? 1 : -1);
    int dy, t, node;
    ssdc_status st = autodiff_dy_or_zeros(c, 0, &dy, err);
    if (st)
        return st;
    int ax = (int)axis;
    if (r >= 1 && axis < 0)
        ax = (int)(axis + r);
    if (!legacy || (r >= 1 && ax == r - 1)) {
        int in[2] = {dy, y};
        if ((st = graph_builder_op(autodiff_builder(c), op, NULL, 2, in, &t, &node)) ||
            (st = dg_set_int(c, node, "axis", axis, err)))
            return st;
        return autodiff_set_grad(c, 0, t, err);
    }
    if (r < 1 || ax < 0 || ax >= r)
        return dg_fail(c, err, SSDC_ERR_UNSUPPORTED,
                       "the gradient of an opset < 13 softmax needs an input of known rank");
    /* opset < 13: normalised over the dims from axis on, flattened */
    int dy2, y2, g2, shape;
    if ((st = dg_flatten(c, dy, ax, &dy2, err)) || (st = dg_flatten(c, y, ax, &y2, err)))
        return st;
    int in[2] = {dy2, y2};
    if ((st = graph_builder_op(autodiff_builder(c), op, NULL, 2, in, &g2, &node)) ||
        (st = dg_set_int(c, node, "axis", 1, err)) ||
        (st = autodiff_shape_of(c, x, &shape, err)))
        return st;
    int rin[2] = {g2, shape};
    if ((st = graph_builder_op(autodiff_builder(c), "Reshape", NULL, 2, rin, &t, NULL)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

static ssdc_status grad_softmax(autodiff_ctx *c, ssdc_error *err)
{
    return grad_softmax_common(c, "SoftmaxGrad", err);
}

static ssdc_status grad_logsoftmax(autodiff_ctx *c, ssdc_error *err)
{
    return grad_softmax_common(c, "LogSoftmaxGrad", err);
}

const autodiff_rule autodiff_rule_softmax = {.grad = grad_softmax};
const autodiff_rule autodiff_rule_logsoftmax = {.grad = grad_logsoftmax};

/* ---- SoftmaxCrossEntropyLoss(scores, labels, weights?) -> loss, log_prob? ---- */

static ssdc_status grad_softmaxcrossentropyloss(autodiff_ctx *c, ssdc_error *err)
{
    if (autodiff_needs_grad(c, 2))
        return dg_fail(c, err, SSDC_ERR_UNSUPPORTED,
                       "ssdc has no gradient with respect to the class weights (input 2)");
    if (!autodiff_needs_grad(c, 0))
        return SSDC_OK;
    int dloss = autodiff_dy(c, 0), dlp = autodiff_dy(c, 1), lp, t, node;
    ssdc_status st = autodiff_require_output(c, 1, &lp, err);
    if (st)
        return st;
    if (dloss >= 0) {
        int w = autodiff_input(c, 2);
        int in[4] = {dloss, lp, autodiff_input(c, 1), w};
        if ((st = graph_builder_op(autodiff_builder(c), "SoftmaxCrossEntropyLossGrad", NULL,
                                   w >= 0 ? 4 : 3, in, &t, &node)) ||
            (st = graph_builder_copy_attrs(autodiff_builder(c), node, autodiff_node(c))) ||
            (st = autodiff_set_grad(c, 0, t, err)))
            return st;
    }
    if (dlp >= 0) {
        int in[2] = {dlp, lp};
        if ((st = graph_builder_op(autodiff_builder(c), "LogSoftmaxGrad", NULL, 2, in, &t,
                                   &node)) ||
            (st = dg_set_int(c, node, "axis", 1, err)) || (st = autodiff_set_grad(c, 0, t, err)))
            return st;
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_softmaxcrossentropyloss = {.grad = grad_softmaxcrossentropyloss};
