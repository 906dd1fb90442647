/* Schemas (arity, attributes, shape inference) of the data-movement ops:
 * Identity, Flatten, Reshape, Transpose, Concat, Split, Slice, Squeeze,
 * Unsqueeze, Constant, Shape, Size, Gather, Pad, Tile, Expand,
 * ConstantOfShape, Range.  Kernels: runtime/kernels/shape_ops.c.
 *
 * Symbolic dimensions (-1 with a name) are carried through wherever an
 * output dimension is exactly one input dimension. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph/ops.h"

#define MAX_LIST (2 * GRAPH_MAX_RANK)
#define MANY_OUTPUTS 65535

/* ---- helpers ---- */

static int64_t no_flops(const graph_infer_ctx *c)
{
    (void)c;
    return 0;
}

static bool has_input(const graph_infer_ctx *c, int i)
{
    return i < c->n_in && c->node->inputs[i] >= 0;
}

static void set_dim(graph_shape *s, int j, int64_t v)
{
    s->dims[j] = v;
    s->sym[j][0] = 0;
}

static bool is_int_dtype(graph_dtype dt)
{
    return dt == GRAPH_DT_INT64 || dt == GRAPH_DT_INT32;
}

/* An integer list an op takes from input i (opset 13+ form) or, when that
 * input is omitted, from an INTS attribute (older form). */
typedef struct {
    bool present; /* given as input or attribute */
    bool known;   /* values known */
    int64_t n;    /* length, -1 if unknown */
    int64_t v[MAX_LIST];
} int_list;

static ssdc_status infer_int_list(const graph_infer_ctx *c, int input, const char *attr,
                                  const char *what, int_list *l, ssdc_error *err)
{
    l->present = l->known = false;
    l->n = -1;
    if (has_input(c, input)) {
        l->present = true;
        if (c->in_dtype[input] != GRAPH_DT_UNDEFINED && !is_int_dtype(c->in_dtype[input]))
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "%s (input %d) has dtype %s, "
                                     "expected int64 or int32", what, input,
                                     graph_dtype_name(c->in_dtype[input]));
        const graph_shape *s = &c->in_shape[input];
        if (s->rank == 1 && s->dims[0] >= 0)
            l->n = s->dims[0];
        else if (s->rank == 0)
            l->n = 1;
        else if (s->rank > 1)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "%s (input %d) must be 1-D, has "
                                     "rank %d", what, input, s->rank);
        const graph_value *v = c->in_value[input];
        if (!v)
            return SSDC_OK;
        if (!is_int_dtype(v->dtype))
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "%s (input %d) has dtype %s, "
                                     "expected int64 or int32", what, input,
                                     graph_dtype_name(v->dtype));
        if (v->rank > 1)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "%s (input %d) must be 1-D, has "
                                     "rank %d", what, input, v->rank);
        if (v->numel > MAX_LIST)
            return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "%s has %lld entries, at "
                                     "most %d supported", what, (long long)v->numel, MAX_LIST);
        l->n = v->numel;
        for (int64_t k = 0; k < v->numel; k++)
            l->v[k] = graph_value_get_i64(v, k);
        l->known = true;
        return SSDC_OK;
    }
    const graph_attr *a = attr ? graph_node_attr(c->node, attr) : NULL;
    if (a && a->type == GRAPH_ATTR_INTS) {
        if (a->n > MAX_LIST)
            return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "%s has %zu entries, at most "
                                     "%d supported", what, a->n, MAX_LIST);
        l->present = l->known = true;
        l->n = (int64_t)a->n;
        for (size_t k = 0; k < a->n; k++)
            l->v[k] = a->ints[k];
    }
    return SSDC_OK;
}

/* Normalises a list of axes against rank into flags; fails on duplicates. */
static ssdc_status axes_to_flags(const graph_infer_ctx *c, const int_list *axes, int rank,
                                 bool *flags, ssdc_error *err)
{
    memset(flags, 0, (size_t)GRAPH_MAX_RANK * sizeof *flags);
    for (int64_t k = 0; k < axes->n; k++) {
        int a = 0;
        ssdc_status st = graph_infer_axis(c, axes->v[k], rank, &a, err);
        if (st)
            return st;
        if (flags[a])
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "axis %lld is repeated",
                                     (long long)axes->v[k]);
        flags[a] = true;
    }
    return SSDC_OK;
}

/* Product of dims [lo, hi) of s into dim j of o: static when all are, a copy
 * of the single symbolic dim when the others multiply to 1, else unknown. */
static ssdc_status product_dim(const graph_infer_ctx *c, const graph_shape *s, int lo, int hi,
                               graph_shape *o, int j, ssdc_error *err)
{
    int64_t p = 1;
    int unknown = 0, last = -1;
    for (int i = lo; i < hi; i++) {
        if (s->dims[i] < 0) {
            unknown++;
            last = i;
        } else if (graph_mul_overflow(p, s->dims[i], &p) || p > SSDC_MAX_TENSOR_ELEMS) {
            return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "dimension product exceeds %lld",
                                     (long long)SSDC_MAX_TENSOR_ELEMS);
        }
    }
    if (unknown == 0 || p == 0)
        set_dim(o, j, p);
    else if (unknown == 1 && p == 1)
        graph_shape_copy_dim(o, j, s, last);
    else
        set_dim(o, j, -1);
    return SSDC_OK;
}

static ssdc_status check_rank(const graph_infer_ctx *c, int64_t rank, ssdc_error *err)
{
    if (rank > GRAPH_MAX_RANK)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "output rank %lld exceeds %d",
                                 (long long)rank, GRAPH_MAX_RANK);
    return SSDC_OK;
}

/* ---- Identity ---- */

static const graph_attr_spec no_attrs[] = {{NULL, 0}};

const graph_op_schema graph_schema_identity = {
    .name = "Identity", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = no_attrs, .infer = graph_infer_same_as_input0, .flops = no_flops,
};

/* ---- Flatten ---- */

static ssdc_status flatten_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    graph_shape_init(o, 2, NULL);
    if (in->rank < 0)
        return SSDC_OK;
    int64_t axis = graph_attr_int(c->node, "axis", 1);
    int r = in->rank;
    if (axis < -r || axis > r)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "axis %lld is out of range [%d, %d] for rank %d",
                                 (long long)axis, -r, r, r);
    int a = (int)(axis < 0 ? axis + r : axis);
    ssdc_status st = product_dim(c, in, 0, a, o, 0, err);
    return st ? st : product_dim(c, in, a, r, o, 1, err);
}

static const graph_attr_spec flatten_attrs[] = {{"axis", GRAPH_ATTR_INT}, {NULL, 0}};

const graph_op_schema graph_schema_flatten = {
    .name = "Flatten", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = flatten_attrs, .infer = flatten_infer, .flops = no_flops,
};

/* ---- Reshape ---- */

static ssdc_status reshape_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    bool allowzero = graph_attr_int(c->node, "allowzero", 0) != 0;
    int_list want;
    ssdc_status st = infer_int_list(c, 1, NULL, "shape", &want, err);
    if (st)
        return st;
    if (c->in_dtype[1] != GRAPH_DT_UNDEFINED && c->in_dtype[1] != GRAPH_DT_INT64)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "shape input has dtype %s, expected "
                                 "int64", graph_dtype_name(c->in_dtype[1]));
    if (want.n > GRAPH_MAX_RANK)
        return check_rank(c, want.n, err);
    if (!want.known) {
        if (want.n >= 0)
            graph_shape_init(o, (int)want.n, NULL);
        return SSDC_OK;
    }
    int n = (int)want.n;
    graph_shape_init(o, n, NULL);
    bool used[GRAPH_MAX_RANK] = {false}; /* input dims copied by a 0 entry */
    int neg = -1;
    bool out_unknown = false, has_zero = false;
    int64_t p_out = 1;
    for (int k = 0; k < n; k++) {
        int64_t v = want.v[k];
        if (v == -1) {
            if (neg >= 0)
                return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                         "shape has more than one -1 (entries %d and %d)", neg, k);
            neg = k;
        } else if (v == 0 && !allowzero) {
            if (in->rank < 0) {
                out_unknown = true;
            } else if (k >= in->rank) {
                return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                         "shape entry %d is 0 (copy the input dimension) but the "
                                         "input has rank %d", k, in->rank);
            } else {
                graph_shape_copy_dim(o, k, in, k);
                used[k] = true; /* cancels against the input's dim k */
            }
        } else if (v < 0) {
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "shape entry %d is %lld", k,
                                     (long long)v);
        } else {
            has_zero |= v == 0;
            set_dim(o, k, v);
            if (graph_mul_overflow(p_out, v, &p_out) || p_out > SSDC_MAX_TENSOR_ELEMS)
                return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "shape has more than %lld "
                                         "elements", (long long)SSDC_MAX_TENSOR_ELEMS);
        }
    }
    if (allowzero && has_zero && neg >= 0)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "shape has both 0 and -1 while allowzero=1");
    bool in_unknown = in->rank < 0;
    int64_t p_in = 1;
    for (int i = 0; !in_unknown && i < in->rank; i++) {
        if (used[i])
            continue;
        if (in->dims[i] < 0)
            in_unknown = true;
        else if (graph_mul_overflow(p_in, in->dims[i], &p_in))
            return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "input has too many elements");
    }
    if (in_unknown || out_unknown)
        return SSDC_OK; /* a -1 entry stays unknown */
    char si[160];
    if (neg >= 0) {
        if (p_out == 0 || p_in % p_out != 0) {
            graph_shape_format(in, si, sizeof si);
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "cannot reshape %s: the other entries multiply to %lld, "
                                     "which does not divide %lld", si, (long long)p_out,
                                     (long long)p_in);
        }
        set_dim(o, neg, p_in / p_out);
    } else if (p_in != p_out) {
        char so[160];
        graph_shape_format(in, si, sizeof si);
        graph_shape_format(o, so, sizeof so);
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "cannot reshape %s to %s (element counts differ)", si, so);
    }
    return SSDC_OK;
}

static const graph_attr_spec reshape_attrs[] = {{"allowzero", GRAPH_ATTR_INT}, {NULL, 0}};

const graph_op_schema graph_schema_reshape = {
    .name = "Reshape", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attrs = reshape_attrs, .value_inputs = 1u << 1, .infer = reshape_infer, .flops = no_flops,
};

/* ---- Transpose ---- */

static ssdc_status transpose_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    size_t np = 0;
    const graph_attr *pa = graph_node_attr(c->node, "perm");
    const int64_t *perm = pa && pa->type == GRAPH_ATTR_INTS ? pa->ints : NULL;
    np = perm ? pa->n : 0;
    if (in->rank < 0) {
        if (perm && np <= GRAPH_MAX_RANK)
            graph_shape_init(o, (int)np, NULL);
        return SSDC_OK;
    }
    int r = in->rank;
    if (perm && np != (size_t)r)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "perm has %zu entries, the input has rank %d", np, r);
    bool seen[GRAPH_MAX_RANK] = {false};
    graph_shape_init(o, r, NULL);
    for (int k = 0; k < r; k++) {
        int64_t p = perm ? perm[k] : r - 1 - k;
        if (p < 0 || p >= r || seen[p])
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "perm is not a permutation of 0..%d (entry %d is %lld)",
                                     r - 1, k, (long long)p);
        seen[p] = true;
        graph_shape_copy_dim(o, k, in, (int)p);
    }
    return SSDC_OK;
}

static const graph_attr_spec transpose_attrs[] = {{"perm", GRAPH_ATTR_INTS}, {NULL, 0}};

const graph_op_schema graph_schema_transpose = {
    .name = "Transpose", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = transpose_attrs, .infer = transpose_infer, .flops = no_flops,
};

/* ---- Concat ---- */

static ssdc_status concat_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_attr *aa = graph_node_attr(c->node, "axis");
    if (!aa || aa->type != GRAPH_ATTR_INT)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "attribute 'axis' is required");
    graph_dtype dt = GRAPH_DT_UNDEFINED;
    int rank = -1;
    for (int i = 0; i < c->n_in; i++) {
        if (!has_input(c, i))
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "input %d is empty", i);
        if (c->in_dtype[i] != GRAPH_DT_UNDEFINED) {
            if (dt != GRAPH_DT_UNDEFINED && c->in_dtype[i] != dt)
                return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                         "input %d has dtype %s, input 0 has %s", i,
                                         graph_dtype_name(c->in_dtype[i]), graph_dtype_name(dt));
            dt = c->in_dtype[i];
        }
        if (c->in_shape[i].rank >= 0) {
            if (rank >= 0 && c->in_shape[i].rank != rank)
                return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                         "inputs have different ranks (%d and %d)", rank,
                                         c->in_shape[i].rank);
            rank = c->in_shape[i].rank;
        }
    }
    c->out_dtype[0] = dt;
    if (rank < 0)
        return SSDC_OK;
    int a = 0;
    ssdc_status st = graph_infer_axis(c, aa->i, rank, &a, err);
    if (st)
        return st;
    graph_shape *o = &c->out_shape[0];
    graph_shape_init(o, rank, NULL);
    int64_t sum = 0;
    int n_unknown = 0, last_unknown = -1;
    for (int i = 0; i < c->n_in; i++) {
        const graph_shape *s = &c->in_shape[i];
        if (s->rank < 0) {
            n_unknown += 2; /* axis length unknown; nothing to merge */
            continue;
        }
        for (int d = 0; d < rank; d++) {
            if (d == a)
                continue;
            if (s->dims[d] >= 0) {
                if (o->dims[d] >= 0 && o->dims[d] != s->dims[d]) {
                    char s0[160], s1[160];
                    graph_shape_format(&c->in_shape[0], s0, sizeof s0);
                    graph_shape_format(s, s1, sizeof s1);
                    return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                             "input %d has shape %s, which does not match %s "
                                             "outside axis %d", i, s1, s0, a);
                }
                set_dim(o, d, s->dims[d]);
            } else if (o->dims[d] < 0 && !o->sym[d][0]) {
                graph_shape_copy_dim(o, d, s, d);
            }
        }
        if (s->dims[a] < 0) {
            n_unknown++;
            last_unknown = i;
        } else {
            sum += s->dims[a];
        }
    }
    if (n_unknown == 0)
        set_dim(o, a, sum);
    else if (n_unknown == 1 && sum == 0 && last_unknown >= 0)
        graph_shape_copy_dim(o, a, &c->in_shape[last_unknown], a);
    return SSDC_OK;
}

static const graph_attr_spec concat_attrs[] = {{"axis", GRAPH_ATTR_INT}, {NULL, 0}};

const graph_op_schema graph_schema_concat = {
    .name = "Concat", .min_in = 1, .max_in = -1, .min_out = 1, .max_out = 1,
    .attrs = concat_attrs, .infer = concat_infer, .flops = no_flops,
};

/* ---- Split ---- */

static ssdc_status split_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    for (int i = 0; i < c->n_out; i++)
        c->out_dtype[i] = c->in_dtype[0];
    if (in->rank < 0)
        return SSDC_OK;
    int a = 0;
    ssdc_status st = graph_infer_axis(c, graph_attr_int(c->node, "axis", 0), in->rank, &a, err);
    if (st)
        return st;
    int64_t dim = in->dims[a];
    for (int i = 0; i < c->n_out; i++) {
        c->out_shape[i] = *in;
        set_dim(&c->out_shape[i], a, -1);
    }
    const graph_attr *sa = graph_node_attr(c->node, "split");
    if (has_input(c, 1) || (sa && sa->type == GRAPH_ATTR_INTS)) {
        const graph_value *v = has_input(c, 1) ? c->in_value[1] : NULL;
        if (has_input(c, 1) && c->in_dtype[1] != GRAPH_DT_UNDEFINED &&
            !is_int_dtype(c->in_dtype[1]))
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "split input has dtype %s, "
                                     "expected int64", graph_dtype_name(c->in_dtype[1]));
        if (has_input(c, 1) && !v)
            return SSDC_OK;
        int64_t n = v ? v->numel : (int64_t)sa->n;
        if (n != c->n_out)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "split has %lld entries for %d outputs", (long long)n,
                                     c->n_out);
        int64_t sum = 0;
        for (int i = 0; i < c->n_out; i++) {
            int64_t s = v ? graph_value_get_i64(v, i) : sa->ints[i];
            if (s < 0)
                return graph_infer_failf(c, err, SSDC_ERR_INVALID, "split entry %d is %lld", i,
                                         (long long)s);
            if (__builtin_add_overflow(sum, s, &sum))
                return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "split entries overflow (entry "
                                         "%d is %lld)", i, (long long)s);
            set_dim(&c->out_shape[i], a, s);
        }
        if (dim >= 0 && sum != dim)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "split sums to %lld, axis %d has length %lld",
                                     (long long)sum, a, (long long)dim);
        return SSDC_OK;
    }
    if (dim < 0)
        return SSDC_OK;
    int64_t n = c->n_out;
    if (graph_node_attr(c->node, "num_outputs")) {
        /* opset 18: ceil-sized chunks, the last one smaller */
        int64_t chunk = (dim + n - 1) / n;
        for (int i = 0; i < c->n_out; i++) {
            int64_t lo = chunk * i < dim ? chunk * i : dim;
            int64_t hi = lo + chunk < dim ? lo + chunk : dim;
            set_dim(&c->out_shape[i], a, hi - lo);
        }
        return SSDC_OK;
    }
    if (dim % n != 0)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "axis %d of length %lld cannot be split into %lld equal parts", a,
                                 (long long)dim, (long long)n);
    for (int i = 0; i < c->n_out; i++)
        set_dim(&c->out_shape[i], a, dim / n);
    return SSDC_OK;
}

static const graph_attr_spec split_attrs[] = {
    {"axis", GRAPH_ATTR_INT}, {"split", GRAPH_ATTR_INTS}, {"num_outputs", GRAPH_ATTR_INT},
    {NULL, 0}};

const graph_op_schema graph_schema_split = {
    .name = "Split", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = MANY_OUTPUTS,
    .attrs = split_attrs, .value_inputs = 1u << 1, .infer = split_infer, .flops = no_flops,
};

/* ---- Slice ---- */

/* Effective start and element count of one sliced axis (ONNX clamping). */
static int64_t slice_count(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first)
{
    if (start < 0)
        start += dim;
    if (end < 0)
        end += dim;
    int64_t n;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        int64_t s = step > dim ? dim + 1 : step;
        n = end > start ? (end - start - 1) / s + 1 : 0;
    } else {
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        int64_t s = step < -dim ? dim + 1 : -step;
        n = start > end ? (start - end - 1) / s + 1 : 0;
    }
    *first = start;
    return n;
}

static ssdc_status slice_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    int_list starts, ends, axes, steps;
    ssdc_status st = infer_int_list(c, 1, NULL, "starts", &starts, err);
    if (!st)
        st = infer_int_list(c, 2, NULL, "ends", &ends, err);
    if (!st)
        st = infer_int_list(c, 3, NULL, "axes", &axes, err);
    if (!st)
        st = infer_int_list(c, 4, NULL, "steps", &steps, err);
    if (st)
        return st;
    if (in->rank < 0)
        return SSDC_OK;
    int r = in->rank;
    *o = *in;
    bool all_known = starts.known && ends.known && (!axes.present || axes.known) &&
                     (!steps.present || steps.known);
    if (!all_known) {
        /* which axes are sliced may still be known */
        if (axes.known) {
            bool f[GRAPH_MAX_RANK];
            if ((st = axes_to_flags(c, &axes, r, f, err)))
                return st;
            for (int d = 0; d < r; d++)
                if (f[d])
                    set_dim(o, d, -1);
        } else if (!axes.present && starts.n >= 0 && starts.n <= r) {
            for (int d = 0; d < starts.n; d++)
                set_dim(o, d, -1);
        } else {
            graph_shape_init(o, r, NULL);
        }
        return SSDC_OK;
    }
    int64_t n = starts.n;
    if (ends.n != n || (axes.present && axes.n != n) || (steps.present && steps.n != n))
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "starts, ends, axes and steps have different lengths (%lld, "
                                 "%lld, %lld, %lld)", (long long)n, (long long)ends.n,
                                 (long long)(axes.present ? axes.n : n),
                                 (long long)(steps.present ? steps.n : n));
    if (!axes.present) {
        if (n > r)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "starts has %lld entries, the input has rank %d",
                                     (long long)n, r);
        axes.n = n;
        for (int k = 0; k < n; k++)
            axes.v[k] = k;
    }
    bool f[GRAPH_MAX_RANK];
    if ((st = axes_to_flags(c, &axes, r, f, err)))
        return st;
    for (int k = 0; k < n; k++) {
        int d = (int)(axes.v[k] < 0 ? axes.v[k] + r : axes.v[k]);
        int64_t step = steps.present ? steps.v[k] : 1;
        if (step == 0)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "step %d is 0", k);
        if (in->dims[d] < 0) {
            /* x[0:INT_MAX] of a symbolic dim is that dim */
            if (!(step == 1 && starts.v[k] == 0 && ends.v[k] >= INT32_MAX))
                set_dim(o, d, -1);
            continue;
        }
        int64_t first;
        set_dim(o, d, slice_count(in->dims[d], starts.v[k], ends.v[k], step, &first));
    }
    return SSDC_OK;
}

const graph_op_schema graph_schema_slice = {
    .name = "Slice", .min_in = 3, .max_in = 5, .min_out = 1, .max_out = 1, .attrs = no_attrs,
    .value_inputs = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4), .infer = slice_infer,
    .flops = no_flops,
};

/* ---- Squeeze / Unsqueeze ---- */

static ssdc_status squeeze_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    int_list axes;
    ssdc_status st = infer_int_list(c, 1, "axes", "axes", &axes, err);
    if (st)
        return st;
    if (in->rank < 0)
        return SSDC_OK;
    int r = in->rank;
    if (axes.present && !axes.known) {
        if (axes.n >= 0 && axes.n <= r)
            graph_shape_init(o, r - (int)axes.n, NULL);
        return SSDC_OK;
    }
    bool f[GRAPH_MAX_RANK] = {false};
    if (axes.present && axes.n > 0) {
        if ((st = axes_to_flags(c, &axes, r, f, err)))
            return st;
        for (int d = 0; d < r; d++)
            if (f[d] && in->dims[d] >= 0 && in->dims[d] != 1)
                return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                         "cannot squeeze axis %d of length %lld", d,
                                         (long long)in->dims[d]);
    } else {
        for (int d = 0; d < r; d++) {
            if (in->dims[d] < 0)
                return SSDC_OK; /* whether it is 1 decides the rank */
            f[d] = in->dims[d] == 1;
        }
    }
    graph_shape_init(o, 0, NULL);
    for (int d = 0; d < r; d++)
        if (!f[d])
            graph_shape_copy_dim(o, o->rank++, in, d);
    return SSDC_OK;
}

static const graph_attr_spec squeeze_attrs[] = {{"axes", GRAPH_ATTR_INTS}, {NULL, 0}};

const graph_op_schema graph_schema_squeeze = {
    .name = "Squeeze", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .attrs = squeeze_attrs, .value_inputs = 1u << 1, .infer = squeeze_infer, .flops = no_flops,
};

static ssdc_status unsqueeze_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    int_list axes;
    ssdc_status st = infer_int_list(c, 1, "axes", "axes", &axes, err);
    if (st)
        return st;
    if (!axes.present)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "axes are required (input 1)");
    if (in->rank < 0 || axes.n < 0)
        return SSDC_OK;
    int64_t R = in->rank + axes.n;
    if ((st = check_rank(c, R, err)))
        return st;
    if (!axes.known) {
        graph_shape_init(o, (int)R, NULL);
        return SSDC_OK;
    }
    bool f[GRAPH_MAX_RANK];
    if ((st = axes_to_flags(c, &axes, (int)R, f, err)))
        return st;
    graph_shape_init(o, (int)R, NULL);
    for (int d = 0, j = 0; d < R; d++) {
        if (f[d])
            set_dim(o, d, 1);
        else
            graph_shape_copy_dim(o, d, in, j++);
    }
    return SSDC_OK;
}

const graph_op_schema graph_schema_unsqueeze = {
    .name = "Unsqueeze", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .attrs = squeeze_attrs, .value_inputs = 1u << 1, .infer = unsqueeze_infer,
    .flops = no_flops,
};

/* ---- Constant ---- */

static ssdc_status constant_infer(graph_infer_ctx *c, ssdc_error *err)
{
    graph_shape *o = &c->out_shape[0];
    const graph_node *n = c->node;
    if (n->n_attrs != 1)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "needs exactly one value attribute, has %d attributes",
                                 n->n_attrs);
    const graph_attr *a = &n->attrs[0];
    if (strcmp(a->name, "value") == 0 && a->type == GRAPH_ATTR_TENSOR && a->t) {
        if (!graph_dtype_supported(a->t->dtype))
            return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "value has dtype %s",
                                     graph_dtype_name(a->t->dtype));
        if (a->t->rank > GRAPH_MAX_RANK)
            return check_rank(c, a->t->rank, err);
        c->out_dtype[0] = a->t->dtype;
        graph_shape_init(o, a->t->rank, a->t->dims);
    } else if (strcmp(a->name, "value_float") == 0 && a->type == GRAPH_ATTR_FLOAT) {
        c->out_dtype[0] = GRAPH_DT_FLOAT;
        graph_shape_init(o, 0, NULL);
    } else if (strcmp(a->name, "value_int") == 0 && a->type == GRAPH_ATTR_INT) {
        c->out_dtype[0] = GRAPH_DT_INT64;
        graph_shape_init(o, 0, NULL);
    } else if (strcmp(a->name, "value_floats") == 0 && a->type == GRAPH_ATTR_FLOATS) {
        int64_t d = (int64_t)a->n;
        c->out_dtype[0] = GRAPH_DT_FLOAT;
        graph_shape_init(o, 1, &d);
    } else if (strcmp(a->name, "value_ints") == 0 && a->type == GRAPH_ATTR_INTS) {
        int64_t d = (int64_t)a->n;
        c->out_dtype[0] = GRAPH_DT_INT64;
        graph_shape_init(o, 1, &d);
    } else {
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED,
                                 "attribute '%s' (%s) is not supported", a->name,
                                 graph_attr_type_name(a->type));
    }
    return SSDC_OK;
}

static const graph_attr_spec constant_attrs[] = {
    {"value", GRAPH_ATTR_TENSOR},       {"value_float", GRAPH_ATTR_FLOAT},
    {"value_floats", GRAPH_ATTR_FLOATS}, {"value_int", GRAPH_ATTR_INT},
    {"value_ints", GRAPH_ATTR_INTS},     {"value_string", GRAPH_ATTR_STRING},
    {"value_strings", GRAPH_ATTR_STRINGS}, {NULL, 0}};

const graph_op_schema graph_schema_constant = {
    .name = "Constant", .min_in = 0, .max_in = 0, .min_out = 1, .max_out = 1,
    .attrs = constant_attrs, .infer = constant_infer, .flops = no_flops,
};

/* ---- Shape / Size ---- */

/* [start, end) of Shape (opset 15), clamped like a Python slice. */
static void shape_range(const graph_node *n, int r, int *lo, int *hi)
{
    int64_t s = graph_attr_int(n, "start", 0);
    int64_t e = graph_attr_int(n, "end", r);
    if (s < 0)
        s += r;
    if (e < 0)
        e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    *lo = (int)s;
    *hi = (int)(e > s ? e : s);
}

static ssdc_status shape_infer(graph_infer_ctx *c, ssdc_error *err)
{
    (void)err;
    c->out_dtype[0] = GRAPH_DT_INT64;
    graph_shape_init(&c->out_shape[0], 1, NULL);
    int r = c->in_shape[0].rank;
    if (r >= 0) {
        int lo, hi;
        shape_range(c->node, r, &lo, &hi);
        set_dim(&c->out_shape[0], 0, hi - lo);
    }
    return SSDC_OK;
}

static const graph_attr_spec shape_attrs[] = {
    {"start", GRAPH_ATTR_INT}, {"end", GRAPH_ATTR_INT}, {NULL, 0}};

const graph_op_schema graph_schema_shape = {
    .name = "Shape", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = shape_attrs, .shape_only = true, .infer = shape_infer, .flops = no_flops,
};

static ssdc_status size_infer(graph_infer_ctx *c, ssdc_error *err)
{
    (void)err;
    c->out_dtype[0] = GRAPH_DT_INT64;
    graph_shape_init(&c->out_shape[0], 0, NULL);
    return SSDC_OK;
}

const graph_op_schema graph_schema_size = {
    .name = "Size", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .attrs = no_attrs,
    .shape_only = true, .infer = size_infer, .flops = no_flops,
};

/* ---- Gather ---- */

static ssdc_status gather_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *data = &c->in_shape[0], *idx = &c->in_shape[1];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    if (c->in_dtype[1] != GRAPH_DT_UNDEFINED && !is_int_dtype(c->in_dtype[1]))
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "indices have dtype %s, expected int64 or int32",
                                 graph_dtype_name(c->in_dtype[1]));
    if (data->rank < 0)
        return SSDC_OK;
    if (data->rank == 0)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "data must have rank >= 1");
    int a = 0;
    ssdc_status st = graph_infer_axis(c, graph_attr_int(c->node, "axis", 0), data->rank, &a, err);
    if (st)
        return st;
    if (idx->rank < 0)
        return SSDC_OK;
    if ((st = check_rank(c, data->rank - 1 + idx->rank, err)))
        return st;
    int64_t ad = data->dims[a];
    const graph_value *iv = c->in_value[1];
    if (iv && ad >= 0) {
        for (int64_t k = 0; k < iv->numel; k++) {
            int64_t i = graph_value_get_i64(iv, k);
            if (i < -ad || i >= ad)
                return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                         "index %lld is out of range for axis %d of length %lld",
                                         (long long)i, a, (long long)ad);
        }
    }
    graph_shape_init(o, data->rank - 1 + idx->rank, NULL);
    int j = 0;
    for (int d = 0; d < a; d++)
        graph_shape_copy_dim(o, j++, data, d);
    for (int d = 0; d < idx->rank; d++)
        graph_shape_copy_dim(o, j++, idx, d);
    for (int d = a + 1; d < data->rank; d++)
        graph_shape_copy_dim(o, j++, data, d);
    return SSDC_OK;
}

static const graph_attr_spec gather_attrs[] = {{"axis", GRAPH_ATTR_INT}, {NULL, 0}};

const graph_op_schema graph_schema_gather = {
    .name = "Gather", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attrs = gather_attrs, .infer = gather_infer, .flops = no_flops,
};

/* ---- Pad ---- */

static ssdc_status pad_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    const char *mode = graph_attr_string(c->node, "mode", "constant");
    bool constant = strcmp(mode, "constant") == 0;
    if (!constant && strcmp(mode, "reflect") != 0 && strcmp(mode, "edge") != 0)
        return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED,
                                 "mode '%s' is not supported (constant, reflect, edge)", mode);
    if (has_input(c, 2) && c->in_dtype[2] != GRAPH_DT_UNDEFINED &&
        c->in_dtype[0] != GRAPH_DT_UNDEFINED && c->in_dtype[2] != c->in_dtype[0])
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "constant_value has dtype %s, data has %s",
                                 graph_dtype_name(c->in_dtype[2]),
                                 graph_dtype_name(c->in_dtype[0]));
    int_list pads, axes;
    ssdc_status st = infer_int_list(c, 1, "pads", "pads", &pads, err);
    if (!st)
        st = infer_int_list(c, 3, NULL, "axes", &axes, err);
    if (st)
        return st;
    if (!pads.present)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "pads are required (input 1)");
    if (in->rank < 0)
        return SSDC_OK;
    int r = in->rank;
    if (!pads.known || (axes.present && !axes.known)) {
        graph_shape_init(o, r, NULL);
        return SSDC_OK;
    }
    if (!axes.present) {
        axes.n = r;
        for (int d = 0; d < r; d++)
            axes.v[d] = d;
    }
    if (pads.n != 2 * axes.n)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "pads has %lld entries, expected %lld (2 per padded axis)",
                                 (long long)pads.n, (long long)(2 * axes.n));
    bool f[GRAPH_MAX_RANK];
    if ((st = axes_to_flags(c, &axes, r, f, err)))
        return st;
    *o = *in;
    for (int k = 0; k < axes.n; k++) {
        int d = (int)(axes.v[k] < 0 ? axes.v[k] + r : axes.v[k]);
        int64_t pb = pads.v[k], pe = pads.v[k + axes.n];
        if (in->dims[d] < 0) {
            int64_t sum;
            if (__builtin_add_overflow(pb, pe, &sum) || sum != 0)
                set_dim(o, d, -1);
            continue;
        }
        int64_t nd;
        if (__builtin_add_overflow(in->dims[d], pb, &nd) || __builtin_add_overflow(nd, pe, &nd))
            return graph_infer_failf(c, err, SSDC_ERR_LIMIT,
                                     "pads %lld, %lld on axis %d of length %lld overflow", (long long)pb,
                                     (long long)pe, d, (long long)in->dims[d]);
        if (nd < 0)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "pads %lld, %lld make axis %d of length %lld negative",
                                     (long long)pb, (long long)pe, d, (long long)in->dims[d]);
        if (!constant && in->dims[d] == 0 && nd > 0)
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "mode '%s' cannot pad axis %d of length 0", mode, d);
        set_dim(o, d, nd);
    }
    return SSDC_OK;
}

static const graph_attr_spec pad_attrs[] = {
    {"mode", GRAPH_ATTR_STRING}, {"pads", GRAPH_ATTR_INTS}, {"value", GRAPH_ATTR_FLOAT},
    {NULL, 0}};

const graph_op_schema graph_schema_pad = {
    .name = "Pad", .min_in = 1, .max_in = 4, .min_out = 1, .max_out = 1, .attrs = pad_attrs,
    .value_inputs = (1u << 1) | (1u << 3), .infer = pad_infer, .flops = no_flops,
};

/* ---- Tile ---- */

static ssdc_status tile_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    int_list rep;
    ssdc_status st = infer_int_list(c, 1, NULL, "repeats", &rep, err);
    if (st)
        return st;
    if (in->rank < 0) {
        if (rep.n >= 0 && rep.n <= GRAPH_MAX_RANK)
            graph_shape_init(o, (int)rep.n, NULL);
        return SSDC_OK;
    }
    int r = in->rank;
    if (rep.n >= 0 && rep.n != r)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "repeats has %lld entries, the input has rank %d",
                                 (long long)rep.n, r);
    graph_shape_init(o, r, NULL);
    if (!rep.known)
        return SSDC_OK;
    for (int d = 0; d < r; d++) {
        int64_t k = rep.v[d];
        if (k < 0)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "repeats[%d] is %lld", d,
                                     (long long)k);
        if (k == 1)
            graph_shape_copy_dim(o, d, in, d);
        else if (k == 0)
            set_dim(o, d, 0);
        else if (in->dims[d] >= 0) {
            int64_t v;
            if (graph_mul_overflow(in->dims[d], k, &v) || v > SSDC_MAX_TENSOR_ELEMS)
                return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "tiled axis %d is too long", d);
            set_dim(o, d, v);
        }
    }
    return SSDC_OK;
}

const graph_op_schema graph_schema_tile = {
    .name = "Tile", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .attrs = no_attrs,
    .value_inputs = 1u << 1, .infer = tile_infer, .flops = no_flops,
};

/* ---- Expand ---- */

static ssdc_status expand_infer(graph_infer_ctx *c, ssdc_error *err)
{
    const graph_shape *in = &c->in_shape[0];
    graph_shape *o = &c->out_shape[0];
    c->out_dtype[0] = c->in_dtype[0];
    int_list shp;
    ssdc_status st = infer_int_list(c, 1, NULL, "shape", &shp, err);
    if (st)
        return st;
    if (shp.n > GRAPH_MAX_RANK)
        return check_rank(c, shp.n, err);
    if (!shp.known) {
        if (in->rank >= 0 && shp.n >= 0)
            graph_shape_init(o, in->rank > shp.n ? in->rank : (int)shp.n, NULL);
        return SSDC_OK;
    }
    graph_shape t;
    graph_shape_init(&t, (int)shp.n, shp.v);
    for (int d = 0; d < t.rank; d++)
        if (t.dims[d] < 0)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "shape[%d] is %lld", d,
                                     (long long)t.dims[d]);
    return graph_infer_broadcast(c, in, &t, o, err);
}

const graph_op_schema graph_schema_expand = {
    .name = "Expand", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .attrs = no_attrs,
    .value_inputs = 1u << 1, .infer = expand_infer, .flops = no_flops,
};

/* ---- ConstantOfShape ---- */

static ssdc_status constantofshape_infer(graph_infer_ctx *c, ssdc_error *err)
{
    graph_shape *o = &c->out_shape[0];
    const graph_attr *va = graph_node_attr(c->node, "value");
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    if (va) {
        if (va->type != GRAPH_ATTR_TENSOR || !va->t || va->t->numel != 1)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "attribute 'value' must be a one-element tensor");
        if (!graph_dtype_supported(va->t->dtype))
            return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "value has dtype %s",
                                     graph_dtype_name(va->t->dtype));
        c->out_dtype[0] = va->t->dtype;
    }
    if (c->in_dtype[0] != GRAPH_DT_UNDEFINED && c->in_dtype[0] != GRAPH_DT_INT64)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "input has dtype %s, expected int64",
                                 graph_dtype_name(c->in_dtype[0]));
    int_list shp;
    ssdc_status st = infer_int_list(c, 0, NULL, "shape", &shp, err);
    if (st)
        return st;
    if (shp.n > GRAPH_MAX_RANK)
        return check_rank(c, shp.n, err);
    if (!shp.known) {
        if (shp.n >= 0)
            graph_shape_init(o, (int)shp.n, NULL);
        return SSDC_OK;
    }
    int64_t numel = 1;
    for (int d = 0; d < shp.n; d++) {
        if (shp.v[d] < 0)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "shape[%d] is %lld", d,
                                     (long long)shp.v[d]);
        if (graph_mul_overflow(numel, shp.v[d], &numel) || numel > SSDC_MAX_TENSOR_ELEMS)
            return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "output has more than %lld "
                                     "elements", (long long)SSDC_MAX_TENSOR_ELEMS);
    }
    graph_shape_init(o, (int)shp.n, shp.v);
    return SSDC_OK;
}

static const graph_attr_spec constantofshape_attrs[] = {{"value", GRAPH_ATTR_TENSOR}, {NULL, 0}};

const graph_op_schema graph_schema_constantofshape = {
    .name = "ConstantOfShape", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = constantofshape_attrs, .value_inputs = 1u << 0, .infer = constantofshape_infer,
    .flops = no_flops,
};

/* ---- Range ---- */

static ssdc_status range_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st;
    for (int i = 0; i < 3; i++) {
        st = graph_infer_check_dtype(c, i, err, GRAPH_DT_FLOAT, GRAPH_DT_DOUBLE, GRAPH_DT_INT16,
                                     GRAPH_DT_INT32, GRAPH_DT_INT64, GRAPH_DT_UNDEFINED);
        if (st)
            return st;
        if (c->in_shape[i].rank > 0 && !(c->in_shape[i].rank == 1 && c->in_shape[i].dims[0] == 1))
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "input %d must be a scalar", i);
    }
    graph_dtype dt = c->in_dtype[0];
    for (int i = 1; i < 3; i++) {
        if (dt == GRAPH_DT_UNDEFINED)
            dt = c->in_dtype[i];
        else if (c->in_dtype[i] != GRAPH_DT_UNDEFINED && c->in_dtype[i] != dt)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "start, limit and delta have different dtypes");
    }
    c->out_dtype[0] = dt;
    graph_shape *o = &c->out_shape[0];
    graph_shape_init(o, 1, NULL);
    const graph_value *sv = c->in_value[0], *lv = c->in_value[1], *dv = c->in_value[2];
    if (!sv || !lv || !dv)
        return SSDC_OK;
    if (sv->numel != 1 || lv->numel != 1 || dv->numel != 1)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE, "inputs must be scalars");
    int64_t n;
    if (sv->dtype == GRAPH_DT_FLOAT || sv->dtype == GRAPH_DT_DOUBLE) {
        double s = graph_value_get_f64(sv, 0), l = graph_value_get_f64(lv, 0);
        double d = graph_value_get_f64(dv, 0);
        if (d == 0 || !isfinite(s) || !isfinite(l) || !isfinite(d))
            return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                     "start, limit, delta (%g, %g, %g) do not make a range", s,
                                     l, d);
        double diff = sv->dtype == GRAPH_DT_FLOAT ? (double)((float)l - (float)s) : l - s;
        double q = ceil(diff / d);
        if (q > (double)SSDC_MAX_TENSOR_ELEMS)
            return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "range has more than %lld elements",
                                     (long long)SSDC_MAX_TENSOR_ELEMS);
        n = q > 0 ? (int64_t)q : 0;
    } else {
        int64_t s = graph_value_get_i64(sv, 0), l = graph_value_get_i64(lv, 0);
        int64_t d = graph_value_get_i64(dv, 0);
        if (d == 0)
            return graph_infer_failf(c, err, SSDC_ERR_INVALID, "delta is 0");
        int64_t diff;
        if (__builtin_sub_overflow(l, s, &diff))
            return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "range has too many elements");
        if (d > 0)
            n = diff > 0 ? (diff - 1) / d + 1 : 0;
        else
            n = diff >= 0 ? 0 : d == INT64_MIN ? 1 : (-(diff + 1)) / (-d) + 1;
        if (n > SSDC_MAX_TENSOR_ELEMS)
            return graph_infer_failf(c, err, SSDC_ERR_LIMIT, "range has more than %lld elements",
                                     (long long)SSDC_MAX_TENSOR_ELEMS);
    }
    set_dim(o, 0, n);
    return SSDC_OK;
}

const graph_op_schema graph_schema_range = {
    .name = "Range", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1, .attrs = no_attrs,
    .value_inputs = (1u << 0) | (1u << 1) | (1u << 2), .infer = range_infer, .flops = no_flops,
};
