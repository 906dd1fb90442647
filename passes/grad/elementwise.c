/* Gradient rules of the elementwise and activation ops (see passes/autodiff.h).
 *
 * Broadcasting inputs get their gradient summed back to their own shape
 * (autodiff_sum_to_like, a no-op when the static shapes already agree).
 * Activations use ssdc's fused gradient ops (ReluGrad, SigmoidGrad, ...; see
 * graph/ops/training_elementwise.c) where one exists, standard ops otherwise.
 * Every tensor a rule creates gets the static dtype and shape it will have,
 * so later rules can skip reductions that would change nothing. */
#include "passes/autodiff.h"

/* ---- helpers ---- */

static graph_tensor *tensor(autodiff_ctx *c, int t)
{
    return &autodiff_graph(c)->tensors[t];
}

/* Static dtype and shape of t := those of ref. */
static void like(autodiff_ctx *c, int t, int ref)
{
    graph *g = autodiff_graph(c);
    g->tensors[t].dtype = g->tensors[ref].dtype;
    g->tensors[t].shape = g->tensors[ref].shape;
}

/* A default-domain node with one output shaped like ref (ref < 0: unknown). */
static ssdc_status op(autodiff_ctx *c, const char *op_type, int n_in, const int *in, int ref,
                      int *out, int *node, ssdc_error *err)
{
    ssdc_status st = graph_builder_op(autodiff_builder(c), op_type, NULL, n_in, in, out, node);
    if (!st && ref >= 0)
        like(c, *out, ref);
    return st;
}

static ssdc_status op1(autodiff_ctx *c, const char *op_type, int a, int ref, int *out,
                       ssdc_error *err)
{
    return op(c, op_type, 1, &a, ref, out, NULL, err);
}

static ssdc_status op2(autodiff_ctx *c, const char *op_type, int a, int b, int ref, int *out,
                       ssdc_error *err)
{
    int in[2] = {a, b};
    return op(c, op_type, 2, in, ref, out, NULL, err);
}

/* An ai.ssdc gradient op with one output shaped like ref. */
static ssdc_status ssdc_op(autodiff_ctx *c, const char *op_type, int n_in, const int *in, int ref,
                           int *out, int *node, ssdc_error *err)
{
    ssdc_status st = graph_builder_op(autodiff_builder(c), op_type, NULL, n_in, in, out, node);
    if (!st && ref >= 0)
        like(c, *out, ref);
    return st;
}

/* Contribution g (shaped like the node's output) to input i, summed down to
 * the input's shape. */
static ssdc_status give(autodiff_ctx *c, int i, int g, ssdc_error *err)
{
    int t;
    ssdc_status st = autodiff_sum_to_like(c, g, autodiff_input(c, i), &t, err);
    return st ? st : autodiff_set_grad(c, i, t, err);
}

static ssdc_status set_int_attr(autodiff_ctx *c, int node, const char *name, int64_t v,
                                ssdc_error *err)
{
    return graph_node_set_int(autodiff_graph(c), node, name, v, err);
}

/* ---- arithmetic ---- */

/* Add, Sum: every input receives dY (summed to its shape). */
static ssdc_status grad_add(autodiff_ctx *c, ssdc_error *err)
{
    int dy = autodiff_dy(c, 0);
    int n = autodiff_node(c)->n_inputs;
    for (int i = 0; i < n; i++) {
        if (!autodiff_needs_grad(c, i))
            continue;
        ssdc_status st = give(c, i, dy, err);
        if (st)
            return st;
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_add = {grad_add};
const autodiff_rule autodiff_rule_sum = {grad_add};

static ssdc_status grad_sub(autodiff_ctx *c, ssdc_error *err)
{
    int dy = autodiff_dy(c, 0);
    ssdc_status st;
    if (autodiff_needs_grad(c, 0) && (st = give(c, 0, dy, err)))
        return st;
    if (autodiff_needs_grad(c, 1)) {
        int b = autodiff_input(c, 1), s, t;
        /* negate after the reduction: fewer elements */
        if ((st = autodiff_sum_to_like(c, dy, b, &s, err)) || (st = op1(c, "Neg", s, b, &t, err)))
            return st;
        return autodiff_set_grad(c, 1, t, err);
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_sub = {grad_sub};

static ssdc_status grad_mul(autodiff_ctx *c, ssdc_error *err)
{
    int dy = autodiff_dy(c, 0), y = autodiff_output(c, 0);
    for (int i = 0; i < 2; i++) {
        if (!autodiff_needs_grad(c, i))
            continue;
        int t;
        ssdc_status st = op2(c, "Mul", dy, autodiff_input(c, 1 - i), y, &t, err);
        if (!st)
            st = give(c, i, t, err);
        if (st)
            return st;
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_mul = {grad_mul};

/* Y = A / B: dA = dY / B, dB = -dY * A / B^2 = -(dY / B) * Y. */
static ssdc_status grad_div(autodiff_ctx *c, ssdc_error *err)
{
    int dy = autodiff_dy(c, 0), y = autodiff_output(c, 0), b = autodiff_input(c, 1);
    int q;
    ssdc_status st = op2(c, "Div", dy, b, y, &q, err);
    if (st)
        return st;
    if (autodiff_needs_grad(c, 0) && (st = give(c, 0, q, err)))
        return st;
    if (autodiff_needs_grad(c, 1)) {
        int m, s, t;
        if ((st = op2(c, "Mul", q, y, y, &m, err)) ||
            (st = autodiff_sum_to_like(c, m, b, &s, err)) || (st = op1(c, "Neg", s, b, &t, err)))
            return st;
        return autodiff_set_grad(c, 1, t, err);
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_div = {grad_div};

/* Cast of tensor x to dtype dt (x itself when it already has it). */
static ssdc_status cast_to(autodiff_ctx *c, int x, graph_dtype dt, int *out, ssdc_error *err)
{
    if (tensor(c, x)->dtype == dt) {
        *out = x;
        return SSDC_OK;
    }
    int node;
    ssdc_status st = op(c, "Cast", 1, &x, x, out, &node, err);
    if (!st)
        st = set_int_attr(c, node, "to", dt, err);
    if (!st)
        tensor(c, *out)->dtype = dt;
    return st;
}

/* Y = A ^ B: dA = dY * B * A^(B-1), dB = dY * Y * log(A). */
static ssdc_status grad_pow(autodiff_ctx *c, ssdc_error *err)
{
    int dy = autodiff_dy(c, 0), y = autodiff_output(c, 0);
    int a = autodiff_input(c, 0), b = autodiff_input(c, 1);
    graph_dtype dt = tensor(c, a)->dtype;
    ssdc_status st;
    if (autodiff_needs_grad(c, 0)) {
        int e, one, em1, p, t, u;
        if ((st = cast_to(c, b, dt, &e, err)) || (st = autodiff_const_like(c, 1.0, a, &one, err)) ||
            (st = op2(c, "Sub", e, one, e, &em1, err)) ||
            (st = op2(c, "Pow", a, em1, y, &p, err)) || (st = op2(c, "Mul", p, e, y, &t, err)) ||
            (st = op2(c, "Mul", dy, t, y, &u, err)) || (st = give(c, 0, u, err)))
            return st;
    }
    if (autodiff_needs_grad(c, 1)) {
        int l, t, u, v;
        if ((st = op1(c, "Log", a, a, &l, err)) || (st = op2(c, "Mul", dy, y, y, &t, err)) ||
            (st = op2(c, "Mul", t, l, y, &u, err)) ||
            (st = cast_to(c, u, tensor(c, b)->dtype, &v, err)) || (st = give(c, 1, v, err)))
            return st;
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_pow = {grad_pow};

/* ---- unary math ---- */

/* Y = sqrt(X): dX = dY / Y * 0.5 */
static ssdc_status grad_sqrt(autodiff_ctx *c, ssdc_error *err)
{
    int dy = autodiff_dy(c, 0), y = autodiff_output(c, 0), q, half, t;
    ssdc_status st;
    if ((st = op2(c, "Div", dy, y, y, &q, err)) ||
        (st = autodiff_const_like(c, 0.5, y, &half, err)) ||
        (st = op2(c, "Mul", q, half, y, &t, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_sqrt = {grad_sqrt};

static ssdc_status grad_exp(autodiff_ctx *c, ssdc_error *err)
{
    int y = autodiff_output(c, 0), t;
    ssdc_status st = op2(c, "Mul", autodiff_dy(c, 0), y, y, &t, err);
    return st ? st : autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_exp = {grad_exp};

static ssdc_status grad_log(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), t;
    ssdc_status st = op2(c, "Div", autodiff_dy(c, 0), x, x, &t, err);
    return st ? st : autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_log = {grad_log};

static ssdc_status grad_neg(autodiff_ctx *c, ssdc_error *err)
{
    int t;
    ssdc_status st = op1(c, "Neg", autodiff_dy(c, 0), autodiff_input(c, 0), &t, err);
    return st ? st : autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_neg = {grad_neg};

static ssdc_status grad_abs(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), s, t;
    ssdc_status st;
    if ((st = op1(c, "Sign", x, x, &s, err)) || (st = op2(c, "Mul", autodiff_dy(c, 0), s, x, &t, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_abs = {grad_abs};

/* Y = 1 / X: dX = -dY * Y^2 */
static ssdc_status grad_reciprocal(autodiff_ctx *c, ssdc_error *err)
{
    int y = autodiff_output(c, 0), sq, m, t;
    ssdc_status st;
    if ((st = op2(c, "Mul", y, y, y, &sq, err)) ||
        (st = op2(c, "Mul", autodiff_dy(c, 0), sq, y, &m, err)) ||
        (st = op1(c, "Neg", m, y, &t, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_reciprocal = {grad_reciprocal};

/* ---- activations ---- */

/* dX = <Op>Grad(dY, T) with T = the output (use_output) or the input. */
static ssdc_status fused(autodiff_ctx *c, const char *op_type, bool use_output, bool copy_attrs,
                         ssdc_error *err)
{
    int in[2] = {autodiff_dy(c, 0), use_output ? autodiff_output(c, 0) : autodiff_input(c, 0)};
    int t, node;
    ssdc_status st = ssdc_op(c, op_type, 2, in, autodiff_input(c, 0), &t, &node, err);
    if (!st && copy_attrs)
        st = graph_builder_copy_attrs(autodiff_builder(c), node, autodiff_node(c));
    return st ? st : autodiff_set_grad(c, 0, t, err);
}

static ssdc_status grad_relu(autodiff_ctx *c, ssdc_error *err)
{
    return fused(c, "ReluGrad", true, false, err);
}

static ssdc_status grad_leakyrelu(autodiff_ctx *c, ssdc_error *err)
{
    return fused(c, "LeakyReluGrad", false, true, err);
}

static ssdc_status grad_sigmoid(autodiff_ctx *c, ssdc_error *err)
{
    return fused(c, "SigmoidGrad", true, false, err);
}

static ssdc_status grad_tanh(autodiff_ctx *c, ssdc_error *err)
{
    return fused(c, "TanhGrad", true, false, err);
}

const autodiff_rule autodiff_rule_relu = {grad_relu};
const autodiff_rule autodiff_rule_leakyrelu = {grad_leakyrelu};
const autodiff_rule autodiff_rule_sigmoid = {grad_sigmoid};
const autodiff_rule autodiff_rule_tanh = {grad_tanh};

/* Y = X >= 0 ? X : alpha * (exp(X) - 1):  dX = X < 0 ? dY * (Y + alpha) : dY */
static ssdc_status grad_elu(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), y = autodiff_output(c, 0), dy = autodiff_dy(c, 0);
    double alpha = graph_attr_float(autodiff_node(c), "alpha", 1.0f);
    int zero, al, neg, ya, m, t;
    ssdc_status st;
    if ((st = autodiff_const_like(c, 0.0, x, &zero, err)) ||
        (st = autodiff_const_like(c, alpha, x, &al, err)) ||
        (st = op2(c, "Less", x, zero, -1, &neg, err)) || (st = op2(c, "Add", y, al, y, &ya, err)) ||
        (st = op2(c, "Mul", dy, ya, y, &m, err)))
        return st;
    int in[3] = {neg, m, dy};
    if ((st = op(c, "Where", 3, in, x, &t, NULL, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_elu = {grad_elu};

/* Y = log(1 + exp(X)): dX = dY * sigmoid(X) */
static ssdc_status grad_softplus(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), s, t;
    ssdc_status st;
    if ((st = op1(c, "Sigmoid", x, x, &s, err)) ||
        (st = op2(c, "Mul", autodiff_dy(c, 0), s, x, &t, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_softplus = {grad_softplus};

/* Clip(X, min?, max?): dX = ClipGrad(dY, X, min?, max?) (with the Clip-6
 * attributes).  A bound that needs a gradient receives the sum of dY where
 * it clipped X. */
static ssdc_status grad_clip(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), dy = autodiff_dy(c, 0);
    int n_fwd = autodiff_node(c)->n_inputs;
    int in[4] = {dy, x, autodiff_input(c, 1), autodiff_input(c, 2)};
    ssdc_status st;
    if (autodiff_needs_grad(c, 0)) {
        int t, node;
        if ((st = ssdc_op(c, "ClipGrad", 1 + n_fwd, in, x, &t, &node, err)) ||
            (st = graph_builder_copy_attrs(autodiff_builder(c), node, autodiff_node(c))) ||
            (st = autodiff_set_grad(c, 0, t, err)))
            return st;
    }
    for (int i = 1; i < 3; i++) {
        if (!autodiff_needs_grad(c, i))
            continue;
        int bound = autodiff_input(c, i), zero, mask, w, s, shape, t;
        int win[3];
        if ((st = autodiff_const_like(c, 0.0, x, &zero, err)) ||
            (st = op2(c, i == 1 ? "Less" : "Greater", x, bound, -1, &mask, err)))
            return st;
        win[0] = mask, win[1] = dy, win[2] = zero;
        int rs_node;
        if ((st = op(c, "Where", 3, win, x, &w, NULL, err)) ||
            (st = op(c, "ReduceSum", 1, &w, -1, &s, &rs_node, err)) ||
            (st = set_int_attr(c, rs_node, "keepdims", 0, err)) ||
            (st = autodiff_shape_of(c, bound, &shape, err)) ||
            (st = op2(c, "Reshape", s, shape, bound, &t, err)) ||
            (st = autodiff_set_grad(c, i, t, err)))
            return st;
    }
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_clip = {grad_clip};

/* Where(C, A, B): dA = Where(C, dY, 0), dB = Where(C, 0, dY), summed to shape. */
static ssdc_status grad_where(autodiff_ctx *c, ssdc_error *err)
{
    int cond = autodiff_input(c, 0), dy = autodiff_dy(c, 0), y = autodiff_output(c, 0), zero;
    ssdc_status st = autodiff_const_like(c, 0.0, y, &zero, err);
    for (int i = 1; i < 3 && !st; i++) {
        if (!autodiff_needs_grad(c, i))
            continue;
        int in[3] = {cond, i == 1 ? dy : zero, i == 1 ? zero : dy}, t;
        st = op(c, "Where", 3, in, y, &t, NULL, err);
        if (!st)
            st = give(c, i, t, err);
    }
    return st;
}

const autodiff_rule autodiff_rule_where = {grad_where};

/* Dropout(X, ratio?, training_mode?) -> Y, mask:
 * dX = DropoutGrad(dY, mask, ratio?, training_mode?). */
static ssdc_status grad_dropout(autodiff_ctx *c, ssdc_error *err)
{
    if (autodiff_needs_grad(c, 1))
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "node '%s' (Dropout): ssdc has no gradient with respect to the ratio",
                         autodiff_node(c)->name);
    int x = autodiff_input(c, 0), mask;
    ssdc_status st = autodiff_require_output(c, 1, &mask, err);
    if (st)
        return st;
    graph_tensor *mt = tensor(c, mask);
    if (mt->dtype == GRAPH_DT_UNDEFINED) {
        mt->dtype = GRAPH_DT_BOOL;
        mt->shape = tensor(c, x)->shape;
    }
    int n_fwd = autodiff_node(c)->n_inputs;
    int in[4] = {autodiff_dy(c, 0), mask, autodiff_input(c, 1), autodiff_input(c, 2)};
    int n_in = 2;
    if (n_fwd > 2)
        n_in = 4;
    else if (n_fwd > 1)
        n_in = 3;
    int t, node;
    if ((st = ssdc_op(c, "DropoutGrad", n_in, in, x, &t, &node, err)))
        return st;
    const graph_attr *ra = graph_node_attr(autodiff_node(c), "ratio");
    if (ra && ra->type == GRAPH_ATTR_FLOAT &&
        (st = graph_node_set_float(autodiff_graph(c), node, "ratio", ra->f, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_dropout = {grad_dropout};

/* ---- variadic ---- */

static ssdc_status grad_mean(autodiff_ctx *c, ssdc_error *err)
{
    int n = autodiff_node(c)->n_inputs, dy = autodiff_dy(c, 0), y = autodiff_output(c, 0);
    int g = dy;
    ssdc_status st;
    if (n > 1) {
        int k;
        if ((st = autodiff_const_like(c, 1.0 / n, y, &k, err)) ||
            (st = op2(c, "Mul", dy, k, y, &g, err)))
            return st;
    }
    for (int i = 0; i < n; i++)
        if (autodiff_needs_grad(c, i) && (st = give(c, i, g, err)))
            return st;
    return SSDC_OK;
}

const autodiff_rule autodiff_rule_mean = {grad_mean};

/* Max / Min: the gradient goes to the first input equal to the output
 * (a valid subgradient at ties); the last input takes what is left. */
static ssdc_status grad_maxmin(autodiff_ctx *c, ssdc_error *err)
{
    int n = autodiff_node(c)->n_inputs, dy = autodiff_dy(c, 0), y = autodiff_output(c, 0);
    if (n == 1)
        return autodiff_needs_grad(c, 0) ? give(c, 0, dy, err) : SSDC_OK;
    int last = -1;
    for (int i = 0; i < n; i++)
        if (autodiff_needs_grad(c, i))
            last = i;
    int zero, taken = -1; /* taken: an earlier input already equals Y */
    ssdc_status st = autodiff_const_like(c, 0.0, y, &zero, err);
    for (int i = 0; i <= last && !st; i++) {
        bool need = autodiff_needs_grad(c, i);
        int mask = -1;
        if (i == n - 1) {
            st = op1(c, "Not", taken, -1, &mask, err);
        } else {
            int eq;
            st = op2(c, "Equal", autodiff_input(c, i), y, -1, &eq, err);
            if (!st && taken < 0) {
                mask = taken = eq;
            } else if (!st) {
                int avail;
                if (need && !(st = op1(c, "Not", taken, -1, &avail, err)))
                    st = op2(c, "And", eq, avail, -1, &mask, err);
                if (!st && i < last)
                    st = op2(c, "Or", taken, eq, -1, &taken, err);
            }
        }
        if (st || !need)
            continue;
        int in[3] = {mask, dy, zero}, t;
        st = op(c, "Where", 3, in, y, &t, NULL, err);
        if (!st)
            st = give(c, i, t, err);
    }
    return st;
}

const autodiff_rule autodiff_rule_max = {grad_maxmin};
const autodiff_rule autodiff_rule_min = {grad_maxmin};

/* ---- type and identity ---- */

static ssdc_status grad_cast(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), y = autodiff_output(c, 0);
    graph_dtype to = tensor(c, y)->dtype;
    if (to != GRAPH_DT_FLOAT && to != GRAPH_DT_DOUBLE)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "node '%s' (Cast): no gradient through a cast to %s",
                         autodiff_node(c)->name, graph_dtype_name(to));
    int t;
    ssdc_status st = cast_to(c, autodiff_dy(c, 0), tensor(c, x)->dtype, &t, err);
    return st ? st : autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_cast = {grad_cast};

static ssdc_status grad_identity(autodiff_ctx *c, ssdc_error *err)
{
    return autodiff_set_grad(c, 0, autodiff_dy(c, 0), err);
}

const autodiff_rule autodiff_rule_identity = {grad_identity};
