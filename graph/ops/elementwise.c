/* Schemas of the elementwise ops: arithmetic and comparison with numpy
 * broadcasting, logic, unary math and activations, Clip, Where, Cast and
 * Dropout.  Kernels: runtime/kernels/elementwise.c. */
#include "graph/ops.h"

#define DT_END GRAPH_DT_UNDEFINED
#define DT_FLOATS GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE
#define DT_INTS GRAPH_DT_INT8, GRAPH_DT_UINT8, GRAPH_DT_INT16, GRAPH_DT_INT32, GRAPH_DT_INT64
#define DT_NUMERIC DT_FLOATS, DT_INTS
#define DT_SIGNED DT_FLOATS, GRAPH_DT_INT8, GRAPH_DT_INT16, GRAPH_DT_INT32, GRAPH_DT_INT64

typedef enum {
    EW_FLOAT,   /* float, double */
    EW_SIGNED,  /* float, double, signed integers */
    EW_NUMERIC, /* float, double, all integers */
    EW_EQUAL,   /* numeric and bool */
    EW_BOOL     /* bool only */
} ew_dtype_class;

static ssdc_status check_class(const graph_infer_ctx *c, int i, ew_dtype_class k, ssdc_error *err)
{
    switch (k) {
    case EW_FLOAT: return graph_infer_check_dtype(c, i, err, DT_FLOATS, DT_END);
    case EW_SIGNED: return graph_infer_check_dtype(c, i, err, DT_SIGNED, DT_END);
    case EW_NUMERIC: return graph_infer_check_dtype(c, i, err, DT_NUMERIC, DT_END);
    case EW_EQUAL: return graph_infer_check_dtype(c, i, err, DT_NUMERIC, GRAPH_DT_BOOL, DT_END);
    case EW_BOOL: return graph_infer_check_dtype(c, i, err, GRAPH_DT_BOOL, DT_END);
    }
    return SSDC_OK;
}

static bool input_present(const graph_infer_ctx *c, int i)
{
    return i < c->n_in && c->node->inputs[i] >= 0;
}

/* Inputs [first, first + n) must share one dtype (unknown dtypes pass);
 * returns it in *dt (UNDEFINED if none is known). */
static ssdc_status common_dtype(const graph_infer_ctx *c, int first, int n, graph_dtype *dt,
                                ssdc_error *err)
{
    graph_dtype seen = GRAPH_DT_UNDEFINED;
    int seen_at = -1;
    for (int i = first; i < first + n; i++) {
        graph_dtype d = c->in_dtype[i];
        if (d == GRAPH_DT_UNDEFINED)
            continue;
        if (seen == GRAPH_DT_UNDEFINED) {
            seen = d;
            seen_at = i;
        } else if (d != seen) {
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "input %d has dtype %s but input %d has dtype %s; they must "
                                     "match",
                                     seen_at, graph_dtype_name(seen), i, graph_dtype_name(d));
        }
    }
    *dt = seen;
    return SSDC_OK;
}

/* Broadcast shape of inputs [first, first + n). */
static ssdc_status broadcast_inputs(const graph_infer_ctx *c, int first, int n, graph_shape *out,
                                    ssdc_error *err)
{
    graph_shape acc = c->in_shape[first];
    for (int i = first + 1; i < first + n; i++) {
        graph_shape next;
        ssdc_status st = graph_infer_broadcast(c, &acc, &c->in_shape[i], &next, err);
        if (st)
            return st;
        acc = next;
    }
    *out = acc;
    return SSDC_OK;
}

/* All inputs of class k with one common dtype, output broadcast over all of
 * them; output dtype = the inputs' dtype, or out_dt if not UNDEFINED. */
static ssdc_status infer_nary(graph_infer_ctx *c, ew_dtype_class k, graph_dtype out_dt,
                              ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < c->n_in; i++)
        if ((st = check_class(c, i, k, err)))
            return st;
    graph_dtype dt = GRAPH_DT_UNDEFINED;
    if ((st = common_dtype(c, 0, c->n_in, &dt, err)))
        return st;
    if ((st = broadcast_inputs(c, 0, c->n_in, &c->out_shape[0], err)))
        return st;
    c->out_dtype[0] = out_dt != GRAPH_DT_UNDEFINED ? out_dt : dt;
    return SSDC_OK;
}

static ssdc_status infer_numeric_nary(graph_infer_ctx *c, ssdc_error *err)
{
    return infer_nary(c, EW_NUMERIC, GRAPH_DT_UNDEFINED, err);
}

static ssdc_status infer_compare(graph_infer_ctx *c, ssdc_error *err)
{
    return infer_nary(c, EW_NUMERIC, GRAPH_DT_BOOL, err);
}

static ssdc_status infer_equal(graph_infer_ctx *c, ssdc_error *err)
{
    return infer_nary(c, EW_EQUAL, GRAPH_DT_BOOL, err);
}

static ssdc_status infer_logic(graph_infer_ctx *c, ssdc_error *err)
{
    return infer_nary(c, EW_BOOL, GRAPH_DT_BOOL, err);
}

/* Pow: base and exponent may differ in dtype; output has the base's. */
static ssdc_status infer_pow(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    if ((st = check_class(c, 0, EW_NUMERIC, err)) || (st = check_class(c, 1, EW_NUMERIC, err)))
        return st;
    if ((st = broadcast_inputs(c, 0, 2, &c->out_shape[0], err)))
        return st;
    c->out_dtype[0] = c->in_dtype[0];
    return SSDC_OK;
}

static ssdc_status infer_unary(graph_infer_ctx *c, ew_dtype_class k, ssdc_error *err)
{
    ssdc_status st = check_class(c, 0, k, err);
    if (st)
        return st;
    return graph_infer_same_as_input0(c, err);
}

static ssdc_status infer_unary_float(graph_infer_ctx *c, ssdc_error *err)
{
    return infer_unary(c, EW_FLOAT, err);
}

static ssdc_status infer_unary_signed(graph_infer_ctx *c, ssdc_error *err)
{
    return infer_unary(c, EW_SIGNED, err);
}

static ssdc_status infer_unary_numeric(graph_infer_ctx *c, ssdc_error *err)
{
    return infer_unary(c, EW_NUMERIC, err);
}

static ssdc_status infer_not(graph_infer_ctx *c, ssdc_error *err)
{
    return infer_unary(c, EW_BOOL, err);
}

/* A scalar-like optional input: absent, or one element of dtype dt. */
static ssdc_status check_scalar_input(const graph_infer_ctx *c, int i, graph_dtype dt,
                                      const char *what, ssdc_error *err)
{
    if (!input_present(c, i))
        return SSDC_OK;
    if (dt != GRAPH_DT_UNDEFINED && c->in_dtype[i] != GRAPH_DT_UNDEFINED && c->in_dtype[i] != dt)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "%s (input %d) has dtype %s, expected %s",
                                 what, i, graph_dtype_name(c->in_dtype[i]), graph_dtype_name(dt));
    const graph_shape *s = &c->in_shape[i];
    for (int d = 0; d < s->rank; d++) {
        if (s->dims[d] > 1 || s->dims[d] == 0) {
            char buf[160];
            graph_shape_format(s, buf, sizeof buf);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "%s (input %d) must be a scalar, got shape %s", what, i, buf);
        }
    }
    return SSDC_OK;
}

static ssdc_status infer_clip(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = check_class(c, 0, EW_NUMERIC, err);
    if (st)
        return st;
    if ((st = check_scalar_input(c, 1, c->in_dtype[0], "min", err)) ||
        (st = check_scalar_input(c, 2, c->in_dtype[0], "max", err)))
        return st;
    return graph_infer_same_as_input0(c, err);
}

static ssdc_status infer_where(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = check_class(c, 0, EW_BOOL, err);
    if (st)
        return st;
    for (int i = 1; i < 3; i++)
        if ((st = check_class(c, i, EW_EQUAL, err)))
            return st;
    graph_dtype dt = GRAPH_DT_UNDEFINED;
    if ((st = common_dtype(c, 1, 2, &dt, err)))
        return st;
    if ((st = broadcast_inputs(c, 0, 3, &c->out_shape[0], err)))
        return st;
    c->out_dtype[0] = dt;
    return SSDC_OK;
}

static ssdc_status infer_cast(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_attr *a = graph_node_attr(c->node, "to");
    if (!a || a->type != GRAPH_ATTR_INT)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "missing integer attribute 'to'");
    graph_dtype to = (graph_dtype)a->i;
    if (!graph_dtype_supported(to))
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "cast to %s (%lld) is not supported",
                                 graph_dtype_name(to), (long long)a->i);
    ssdc_status st = check_class(c, 0, EW_EQUAL, err);
    if (st)
        return st;
    c->out_dtype[0] = to;
    c->out_shape[0] = c->in_shape[0];
    return SSDC_OK;
}

static ssdc_status infer_dropout(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = check_class(c, 0, EW_FLOAT, err);
    if (st)
        return st;
    if (input_present(c, 1)) {
        if ((st = graph_infer_check_dtype(c, 1, err, DT_FLOATS, DT_END)) ||
            (st = check_scalar_input(c, 1, GRAPH_DT_UNDEFINED, "ratio", err)))
            return st;
    }
    if ((st = check_scalar_input(c, 2, GRAPH_DT_BOOL, "training_mode", err)))
        return st;
    const graph_attr *r = graph_node_attr(c->node, "ratio");
    if (r && (r->type != GRAPH_ATTR_FLOAT || !(r->f >= 0.0f && r->f <= 1.0f)))
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "ratio must be in [0, 1]");
    c->out_dtype[0] = c->in_dtype[0];
    c->out_shape[0] = c->in_shape[0];
    if (c->n_out > 1) {
        c->out_dtype[1] = GRAPH_DT_BOOL;
        c->out_shape[1] = c->in_shape[0];
    }
    return SSDC_OK;
}

/* Variadic ops do n_in - 1 operations per output element (Mean: n_in). */
static int64_t flops_variadic(const graph_infer_ctx *c)
{
    int64_t n = graph_infer_out_numel(c, 0);
    return n * (c->n_in > 1 ? c->n_in - 1 : 1);
}

static int64_t flops_mean(const graph_infer_ctx *c)
{
    return graph_infer_out_numel(c, 0) * c->n_in;
}

static const graph_attr_spec no_attrs[] = {{NULL, GRAPH_ATTR_UNDEFINED}};
static const graph_attr_spec alpha_attrs[] = {{"alpha", GRAPH_ATTR_FLOAT},
                                              {NULL, GRAPH_ATTR_UNDEFINED}};
static const graph_attr_spec hardsigmoid_attrs[] = {
    {"alpha", GRAPH_ATTR_FLOAT}, {"beta", GRAPH_ATTR_FLOAT}, {NULL, GRAPH_ATTR_UNDEFINED}};
/* Clip-6 had min/max attributes; the importer turns them into inputs, the
 * kernel still honours them when the inputs are absent. */
static const graph_attr_spec clip_attrs[] = {
    {"min", GRAPH_ATTR_FLOAT}, {"max", GRAPH_ATTR_FLOAT}, {NULL, GRAPH_ATTR_UNDEFINED}};
static const graph_attr_spec cast_attrs[] = {{"to", GRAPH_ATTR_INT}, {NULL, GRAPH_ATTR_UNDEFINED}};
/* Dropout-7/10: ratio attribute; 12+: ratio input and seed attribute. */
static const graph_attr_spec dropout_attrs[] = {
    {"ratio", GRAPH_ATTR_FLOAT}, {"seed", GRAPH_ATTR_INT}, {NULL, GRAPH_ATTR_UNDEFINED}};

#define EW_SCHEMA(sym, onnx, mi, ma, mo, xo, at, fn, fl)                                        \
    const graph_op_schema graph_schema_##sym = {                                                \
        .name = onnx, .min_in = mi, .max_in = ma, .min_out = mo, .max_out = xo, .attrs = at,   \
        .value_inputs = 0, .shape_only = false, .infer = fn, .flops = fl}

#define BINARY(sym, onnx, fn) EW_SCHEMA(sym, onnx, 2, 2, 1, 1, no_attrs, fn, NULL)
#define UNARY(sym, onnx, fn) EW_SCHEMA(sym, onnx, 1, 1, 1, 1, no_attrs, fn, NULL)

BINARY(add, "Add", infer_numeric_nary);
BINARY(sub, "Sub", infer_numeric_nary);
BINARY(mul, "Mul", infer_numeric_nary);
BINARY(div, "Div", infer_numeric_nary);
BINARY(pow, "Pow", infer_pow);

EW_SCHEMA(min, "Min", 1, -1, 1, 1, no_attrs, infer_numeric_nary, flops_variadic);
EW_SCHEMA(max, "Max", 1, -1, 1, 1, no_attrs, infer_numeric_nary, flops_variadic);
EW_SCHEMA(sum, "Sum", 1, -1, 1, 1, no_attrs, infer_numeric_nary, flops_variadic);
EW_SCHEMA(mean, "Mean", 1, -1, 1, 1, no_attrs, infer_numeric_nary, flops_mean);

BINARY(equal, "Equal", infer_equal);
BINARY(greater, "Greater", infer_compare);
BINARY(greaterorequal, "GreaterOrEqual", infer_compare);
BINARY(less, "Less", infer_compare);
BINARY(lessorequal, "LessOrEqual", infer_compare);

BINARY(and, "And", infer_logic);
BINARY(or, "Or", infer_logic);
BINARY(xor, "Xor", infer_logic);
UNARY(not, "Not", infer_not);

UNARY(abs, "Abs", infer_unary_numeric);
UNARY(neg, "Neg", infer_unary_signed);
UNARY(sign, "Sign", infer_unary_numeric);
UNARY(sqrt, "Sqrt", infer_unary_float);
UNARY(exp, "Exp", infer_unary_float);
UNARY(log, "Log", infer_unary_float);
UNARY(reciprocal, "Reciprocal", infer_unary_float);
UNARY(floor, "Floor", infer_unary_float);
UNARY(ceil, "Ceil", infer_unary_float);
UNARY(sin, "Sin", infer_unary_float);
UNARY(cos, "Cos", infer_unary_float);
UNARY(erf, "Erf", infer_unary_float);
UNARY(relu, "Relu", infer_unary_signed);
UNARY(sigmoid, "Sigmoid", infer_unary_float);
UNARY(tanh, "Tanh", infer_unary_float);
UNARY(softplus, "Softplus", infer_unary_float);
EW_SCHEMA(leakyrelu, "LeakyRelu", 1, 1, 1, 1, alpha_attrs, infer_unary_float, NULL);
EW_SCHEMA(elu, "Elu", 1, 1, 1, 1, alpha_attrs, infer_unary_float, NULL);
EW_SCHEMA(hardsigmoid, "HardSigmoid", 1, 1, 1, 1, hardsigmoid_attrs, infer_unary_float, NULL);

EW_SCHEMA(clip, "Clip", 1, 3, 1, 1, clip_attrs, infer_clip, NULL);
EW_SCHEMA(where, "Where", 3, 3, 1, 1, no_attrs, infer_where, NULL);
EW_SCHEMA(cast, "Cast", 1, 1, 1, 1, cast_attrs, infer_cast, NULL);
EW_SCHEMA(dropout, "Dropout", 1, 3, 1, 2, dropout_attrs, infer_dropout, NULL);
