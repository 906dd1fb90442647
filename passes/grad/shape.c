/* Gradient rules of the data-movement ops and the reductions (see
 * passes/autodiff.h).
 *
 * Shapes are taken with Shape() of forward tensors wherever a size may be
 * symbolic; the planner evaluates that arithmetic once per plan, so none of
 * it runs per step.  Gathers, slices and pads scatter back with ssdc's
 * GatherGrad, SliceGrad and PadGrad (graph/ops/training_elementwise.c);
 * everything else is standard ONNX (opset-13 input forms, as the importer
 * normalises to). */
#include "passes/autodiff.h"

#include <stdlib.h>
#include <string.h>

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

static ssdc_status op2(autodiff_ctx *c, const char *op_type, int a, int b, int ref, int *out,
                       ssdc_error *err)
{
    int in[2] = {a, b};
    return op(c, op_type, 2, in, ref, out, NULL, err);
}

static ssdc_status set_int_attr(autodiff_ctx *c, int node, const char *name, int64_t v,
                                ssdc_error *err)
{
    return graph_node_set_int(autodiff_graph(c), node, name, v, err);
}

static ssdc_status fail_node(autodiff_ctx *c, ssdc_error *err, const char *what)
{
    const graph_node *n = autodiff_node(c);
    return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "node '%s' (%s): no gradient: %s", n->name,
                     n->op_type, what);
}

/* The values of integer tensor t when known now (an initializer or a
 * Constant node's output); false otherwise. */
static bool known_ints(autodiff_ctx *c, int t, int64_t *v, int *n, int max)
{
    graph *g = autodiff_graph(c);
    const graph_tensor *tt = &g->tensors[t];
    graph_value val;
    const graph_value *pv = NULL;
    if (tt->kind == GRAPH_TENSOR_INITIALIZER && tt->data) {
        graph_value_set_shape(&val, tt->dtype, tt->shape.rank, tt->shape.dims);
        val.data = tt->data;
        pv = &val;
    } else if (tt->producer >= 0 && g->nodes[tt->producer].op == GRAPH_OP_CONSTANT) {
        const graph_node *cn = &g->nodes[tt->producer];
        const graph_attr *a = graph_node_attr(cn, "value");
        if (a && a->type == GRAPH_ATTR_TENSOR && a->t) {
            pv = a->t;
        } else if ((a = graph_node_attr(cn, "value_ints")) && a->type == GRAPH_ATTR_INTS) {
            if (a->n > (size_t)max)
                return false;
            for (size_t k = 0; k < a->n; k++)
                v[k] = a->ints[k];
            *n = (int)a->n;
            return true;
        }
    }
    if (!pv || (pv->dtype != GRAPH_DT_INT64 && pv->dtype != GRAPH_DT_INT32) || pv->numel > max)
        return false;
    for (int64_t k = 0; k < pv->numel; k++)
        v[k] = graph_value_get_i64(pv, k);
    *n = (int)pv->numel;
    return true;
}

static bool same_static_shape(const graph_shape *a, const graph_shape *b)
{
    if (a->rank < 0 || a->rank != b->rank)
        return false;
    for (int d = 0; d < a->rank; d++) {
        if (a->dims[d] >= 0 || b->dims[d] >= 0) {
            if (a->dims[d] != b->dims[d])
                return false;
        } else if (!a->sym[d][0] || strcmp(a->sym[d], b->sym[d]) != 0) {
            return false;
        }
    }
    return true;
}

/* dX = Reshape(g, Shape(X)) for input 0. */
static ssdc_status reshape_back(autodiff_ctx *c, int g, ssdc_error *err)
{
    int x = autodiff_input(c, 0), shape, t;
    ssdc_status st;
    if ((st = autodiff_shape_of(c, x, &shape, err)) || (st = op2(c, "Reshape", g, shape, x, &t, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ---- */

static ssdc_status grad_reshape(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), dy = autodiff_dy(c, 0);
    if (same_static_shape(&tensor(c, x)->shape, &tensor(c, dy)->shape))
        return autodiff_set_grad(c, 0, dy, err);
    return reshape_back(c, dy, err);
}

const autodiff_rule autodiff_rule_reshape = {grad_reshape};
const autodiff_rule autodiff_rule_flatten = {grad_reshape};
const autodiff_rule autodiff_rule_squeeze = {grad_reshape};
const autodiff_rule autodiff_rule_unsqueeze = {grad_reshape};

/* ---- Transpose: the inverse permutation ---- */

static ssdc_status grad_transpose(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), t, node;
    size_t np = 0;
    const int64_t *perm = graph_attr_ints(autodiff_node(c), "perm", &np);
    int64_t inv[GRAPH_MAX_RANK];
    if (perm) {
        if (np > GRAPH_MAX_RANK)
            return fail_node(c, err, "perm is too long");
        for (size_t k = 0; k < np; k++) {
            if (perm[k] < 0 || perm[k] >= (int64_t)np)
                return fail_node(c, err, "perm is not a permutation");
            inv[perm[k]] = (int64_t)k;
        }
    }
    int dy = autodiff_dy(c, 0);
    ssdc_status st = op(c, "Transpose", 1, &dy, x, &t, &node, err);
    /* without perm Transpose reverses the axes, its own inverse */
    if (!st && perm)
        st = graph_node_set_ints(autodiff_graph(c), node, "perm", inv, np, err);
    return st ? st : autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_transpose = {grad_transpose};

/* ---- Concat / Split ---- */

/* Concat: Split(dY) at the inputs' lengths along the axis (static lengths
 * as a constant, symbolic ones gathered from Shape of each input). */
static ssdc_status grad_concat(autodiff_ctx *c, ssdc_error *err)
{
    const graph_node *n = autodiff_node(c);
    int k = n->n_inputs, y = autodiff_output(c, 0);
    const graph_attr *aa = graph_node_attr(n, "axis");
    if (!aa || aa->type != GRAPH_ATTR_INT)
        return fail_node(c, err, "attribute 'axis' is missing");
    int64_t axis = aa->i;
    int rank = tensor(c, y)->shape.rank;
    int64_t *sizes = malloc((size_t)k * sizeof *sizes);
    int *parts = malloc((size_t)k * sizeof *parts);
    int *outs = malloc((size_t)k * sizeof *outs);
    ssdc_status st = SSDC_OK;
    if (!sizes || !parts || !outs) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
        goto done;
    }
    bool all_static = rank >= 0 && axis >= -rank && axis < rank;
    int a = (int)(axis < 0 ? axis + rank : axis);
    for (int i = 0; i < k && all_static; i++) {
        const graph_shape *s = &tensor(c, autodiff_input(c, i))->shape;
        all_static = s->rank == rank && s->dims[a] >= 0;
        if (all_static)
            sizes[i] = s->dims[a];
    }
    int split;
    if (all_static) {
        st = graph_builder_const_i64(autodiff_builder(c), "const", sizes, k, &split);
    } else {
        int at;
        /* Gather takes negative indices */
        st = graph_builder_const_i64(autodiff_builder(c), "const", &axis, 1, &at);
        for (int i = 0; i < k && !st; i++) {
            int shape;
            st = autodiff_shape_of(c, autodiff_input(c, i), &shape, err);
            if (!st)
                st = op2(c, "Gather", shape, at, -1, &parts[i], err);
        }
        int node;
        if (!st)
            st = op(c, "Concat", k, parts, -1, &split, &node, err);
        if (!st)
            st = set_int_attr(c, node, "axis", 0, err);
    }
    if (st)
        goto done;
    int in[2] = {autodiff_dy(c, 0), split}, node;
    for (int i = 0; i < k && !st; i++)
        st = graph_builder_tensor(autodiff_builder(c), "Split", &outs[i]);
    if (st ||
        (st = graph_builder_node(autodiff_builder(c), "Split", NULL, 2, in, k, outs, &node)) ||
        (st = set_int_attr(c, node, "axis", axis, err)))
        goto done;
    for (int i = 0; i < k && !st; i++) {
        like(c, outs[i], autodiff_input(c, i));
        if (autodiff_needs_grad(c, i))
            st = autodiff_set_grad(c, i, outs[i], err);
    }
done:
    free(sizes);
    free(parts);
    free(outs);
    return st;
}

const autodiff_rule autodiff_rule_concat = {grad_concat};

/* Split: Concat of the outputs' gradients (zeros for unused outputs). */
static ssdc_status grad_split(autodiff_ctx *c, ssdc_error *err)
{
    int k = autodiff_node(c)->n_outputs;
    int *parts = malloc((size_t)(k ? k : 1) * sizeof *parts);
    if (!parts)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
    ssdc_status st = SSDC_OK;
    for (int i = 0; i < k && !st; i++)
        st = autodiff_dy_or_zeros(c, i, &parts[i], err);
    int t, node;
    if (!st)
        st = op(c, "Concat", k, parts, autodiff_input(c, 0), &t, &node, err);
    free(parts);
    if (!st)
        st = set_int_attr(c, node, "axis", graph_attr_int(autodiff_node(c), "axis", 0), err);
    return st ? st : autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_split = {grad_split};

/* ---- Slice, Pad, Gather ---- */

/* Slice(X, starts, ends, axes?, steps?):
 * dX = SliceGrad(dY, Shape(X), starts, ends, axes?, steps?). */
static ssdc_status grad_slice(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), n_fwd = autodiff_node(c)->n_inputs, shape, t;
    if (n_fwd < 3)
        return fail_node(c, err, "starts and ends must be inputs");
    ssdc_status st = autodiff_shape_of(c, x, &shape, err);
    if (st)
        return st;
    int in[6] = {autodiff_dy(c, 0), shape, autodiff_input(c, 1), autodiff_input(c, 2),
                 autodiff_input(c, 3), autodiff_input(c, 4)};
    int n_in = 1 + (n_fwd < 5 ? n_fwd : 5);
    if ((st = graph_builder_op(autodiff_builder(c), "SliceGrad", NULL, n_in, in, &t, NULL)))
        return st;
    like(c, t, x);
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_slice = {grad_slice};

/* Pad(X, pads, constant_value?, axes?): dX = PadGrad(dY, pads, axes?).  A
 * constant value that needs a gradient gets the sum of dY over the padding
 * (constant mode; zero in the other modes, which do not use it). */
static ssdc_status grad_pad(autodiff_ctx *c, ssdc_error *err)
{
    const graph_node *n = autodiff_node(c);
    int x = autodiff_input(c, 0), dy = autodiff_dy(c, 0);
    const char *mode = graph_attr_string(n, "mode", "constant");
    bool constant = strcmp(mode, "constant") == 0;
    char *mode_copy = graph_strdup(mode);
    if (!mode_copy)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
    int pads = autodiff_input(c, 1), axes = autodiff_input(c, 3);
    ssdc_status st = SSDC_OK;
    if (pads < 0) {
        size_t np = 0;
        const int64_t *pa = graph_attr_ints(n, "pads", &np);
        if (!pa)
            st = fail_node(c, err, "pads are missing");
        else
            st = graph_builder_const_i64(autodiff_builder(c), "const", pa, (int)np, &pads);
    }
    int dx = -1;
    if (!st && (autodiff_needs_grad(c, 0) || (constant && autodiff_needs_grad(c, 2)))) {
        int in[3] = {dy, pads, axes}, node;
        st = graph_builder_op(autodiff_builder(c), "PadGrad", NULL, axes >= 0 ? 3 : 2, in, &dx,
                              &node);
        if (!st) {
            like(c, dx, x);
            st = graph_node_set_string(autodiff_graph(c), node, "mode", mode_copy, err);
        }
        if (!st && autodiff_needs_grad(c, 0))
            st = autodiff_set_grad(c, 0, dx, err);
    }
    free(mode_copy);
    if (st || !autodiff_needs_grad(c, 2))
        return st;
    int cv = autodiff_input(c, 2), shape, s, t;
    if ((st = autodiff_shape_of(c, cv, &shape, err)))
        return st;
    if (constant) {
        int sy, sx, node;
        if ((st = op(c, "ReduceSum", 1, &dy, -1, &sy, &node, err)) ||
            (st = set_int_attr(c, node, "keepdims", 0, err)) ||
            (st = op(c, "ReduceSum", 1, &dx, -1, &sx, &node, err)) ||
            (st = set_int_attr(c, node, "keepdims", 0, err)) ||
            (st = op2(c, "Sub", sy, sx, -1, &s, err)))
            return st;
        st = op2(c, "Reshape", s, shape, cv, &t, err);
    } else {
        if ((st = autodiff_const_like(c, 0.0, cv, &s, err)))
            return st;
        st = op2(c, "Expand", s, shape, cv, &t, err);
    }
    return st ? st : autodiff_set_grad(c, 2, t, err);
}

const autodiff_rule autodiff_rule_pad = {grad_pad};

/* Gather(data, indices): dData = GatherGrad(dY, indices, Shape(data)). */
static ssdc_status grad_gather(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), shape, t, node;
    ssdc_status st = autodiff_shape_of(c, x, &shape, err);
    if (st)
        return st;
    int in[3] = {autodiff_dy(c, 0), autodiff_input(c, 1), shape};
    if ((st = graph_builder_op(autodiff_builder(c), "GatherGrad", NULL, 3, in, &t, &node)) ||
        (st = graph_builder_copy_attrs(autodiff_builder(c), node, autodiff_node(c))))
        return st;
    like(c, t, x);
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_gather = {grad_gather};

/* ---- Expand, Tile ---- */

static ssdc_status grad_expand(autodiff_ctx *c, ssdc_error *err)
{
    int t;
    ssdc_status st = autodiff_sum_to_like(c, autodiff_dy(c, 0), autodiff_input(c, 0), &t, err);
    return st ? st : autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_expand = {grad_expand};

/* Tile(X, repeats) of rank r: dY viewed as [rep0, d0, rep1, d1, ...] and
 * summed over the rep axes (0, 2, 4, ...). */
static ssdc_status grad_tile(autodiff_ctx *c, ssdc_error *err)
{
    int x = autodiff_input(c, 0), dy = autodiff_dy(c, 0);
    int r = tensor(c, x)->shape.rank;
    if (r < 0)
        return fail_node(c, err, "the input's rank must be known");
    if (r == 0)
        return autodiff_set_grad(c, 0, dy, err);
    int64_t r1[2] = {r, 1}, m1 = -1, axes[GRAPH_MAX_RANK];
    for (int d = 0; d < r; d++)
        axes[d] = 2 * d;
    int cr1, cm1, cax, shape, a, b, ab, s2, v, t, node;
    ssdc_status st;
    if ((st = graph_builder_const_i64(autodiff_builder(c), "const", r1, 2, &cr1)) ||
        (st = graph_builder_const_i64(autodiff_builder(c), "const", &m1, 1, &cm1)) ||
        (st = graph_builder_const_i64(autodiff_builder(c), "const", axes, r, &cax)) ||
        (st = autodiff_shape_of(c, x, &shape, err)) ||
        (st = op2(c, "Reshape", autodiff_input(c, 1), cr1, -1, &a, err)) ||
        (st = op2(c, "Reshape", shape, cr1, -1, &b, err)))
        return st;
    int cat[2] = {a, b};
    if ((st = op(c, "Concat", 2, cat, -1, &ab, &node, err)) ||
        (st = set_int_attr(c, node, "axis", 1, err)) ||
        (st = op2(c, "Reshape", ab, cm1, -1, &s2, err)) ||
        (st = op2(c, "Reshape", dy, s2, -1, &v, err)))
        return st;
    int rin[2] = {v, cax};
    if ((st = op(c, "ReduceSum", 2, rin, x, &t, &node, err)) ||
        (st = set_int_attr(c, node, "keepdims", 0, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_tile = {grad_tile};

/* ---- reductions ---- */

typedef struct {
    int rank;
    bool red[GRAPH_MAX_RANK];
    int n_red;
    bool keepdims;
    bool noop; /* empty axes with noop_with_empty_axes: Y = X */
} red_info;

static ssdc_status reduce_info(autodiff_ctx *c, red_info *ri, ssdc_error *err)
{
    const graph_node *n = autodiff_node(c);
    int x = autodiff_input(c, 0);
    ri->rank = tensor(c, x)->shape.rank;
    ri->keepdims = graph_attr_int(n, "keepdims", 1) != 0;
    if (ri->rank < 0)
        return fail_node(c, err, "the input's rank must be known");
    int64_t axes[GRAPH_MAX_RANK];
    int na = 0;
    int at = autodiff_input(c, 1);
    if (at >= 0) {
        if (!known_ints(c, at, axes, &na, GRAPH_MAX_RANK))
            return fail_node(c, err, "the axes must be a constant");
    } else {
        size_t cnt = 0;
        const int64_t *aa = graph_attr_ints(n, "axes", &cnt);
        if (cnt > GRAPH_MAX_RANK)
            return fail_node(c, err, "too many axes");
        for (size_t k = 0; k < cnt; k++)
            axes[k] = aa[k];
        na = (int)cnt;
    }
    ri->noop = na == 0 && graph_attr_int(n, "noop_with_empty_axes", 0) != 0;
    for (int d = 0; d < ri->rank; d++)
        ri->red[d] = na == 0 && !ri->noop;
    for (int k = 0; k < na; k++) {
        if (axes[k] < -ri->rank || axes[k] >= ri->rank)
            return fail_node(c, err, "an axis is out of range");
        ri->red[axes[k] < 0 ? axes[k] + ri->rank : axes[k]] = true;
    }
    ri->n_red = 0;
    for (int d = 0; d < ri->rank; d++)
        ri->n_red += ri->red[d];
    return SSDC_OK;
}

/* g (shaped like Y) with the reduced axes restored as 1s (a Reshape when
 * keepdims = 0); the shape tensor is made once and shared through *kd. */
static ssdc_status keep_dims(autodiff_ctx *c, const red_info *ri, int g, int *kd, int *out,
                             ssdc_error *err)
{
    if (ri->keepdims || ri->n_red == 0) {
        *out = g;
        return SSDC_OK;
    }
    int x = autodiff_input(c, 0);
    /* a copy: adding tensors below may move the tensor array */
    const graph_shape xshape = tensor(c, x)->shape, *xs = &xshape;
    ssdc_status st;
    if (*kd < 0) {
        int64_t dims[GRAPH_MAX_RANK];
        bool is_static = true;
        for (int d = 0; d < ri->rank; d++) {
            dims[d] = ri->red[d] ? 1 : xs->dims[d];
            is_static = is_static && dims[d] >= 0;
        }
        if (is_static) {
            st = graph_builder_const_i64(autodiff_builder(c), "const", dims, ri->rank, kd);
        } else {
            /* Where(reduced, 1, Shape(X)); "reduced#<k>" takes the first free k */
            uint8_t mask[GRAPH_MAX_RANK];
            for (int d = 0; d < ri->rank; d++)
                mask[d] = ri->red[d];
            graph_builder own = graph_builder_from_zero(autodiff_builder(c));
            int64_t r = ri->rank, one = 1;
            int mt, ct, shape;
            st = graph_builder_initializer(&own, "reduced", GRAPH_DT_BOOL, 1, &r, mask, &mt);
            if (!st)
                st = graph_builder_const_i64(autodiff_builder(c), "const", &one, 1, &ct);
            if (!st)
                st = autodiff_shape_of(c, x, &shape, err);
            int in[3] = {mt, ct, shape};
            if (!st)
                st = op(c, "Where", 3, in, -1, kd, NULL, err);
        }
        if (st)
            return st;
    }
    if ((st = op2(c, "Reshape", g, *kd, -1, out, err)))
        return st;
    graph_tensor *t = tensor(c, *out);
    t->dtype = tensor(c, g)->dtype;
    t->shape = *xs;
    for (int d = 0; d < ri->rank; d++)
        if (ri->red[d]) {
            t->shape.dims[d] = 1;
            t->shape.sym[d][0] = 0;
        }
    return SSDC_OK;
}

/* Expand g (keepdims shape) to X's shape and record it. */
static ssdc_status expand_back(autodiff_ctx *c, int g, ssdc_error *err)
{
    int x = autodiff_input(c, 0), shape, t;
    if (same_static_shape(&tensor(c, g)->shape, &tensor(c, x)->shape))
        return autodiff_set_grad(c, 0, g, err);
    ssdc_status st;
    if ((st = autodiff_shape_of(c, x, &shape, err)) || (st = op2(c, "Expand", g, shape, x, &t, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

/* ReduceSum / ReduceMean: dX = Expand(dY with kept dims [/ count], Shape(X)). */
static ssdc_status grad_reduce_sum_mean(autodiff_ctx *c, bool mean, ssdc_error *err)
{
    red_info ri;
    ssdc_status st = reduce_info(c, &ri, err);
    if (st)
        return st;
    int x = autodiff_input(c, 0), y = autodiff_output(c, 0), g = autodiff_dy(c, 0);
    if (ri.noop)
        return autodiff_set_grad(c, 0, g, err);
    if (mean) {
        const graph_shape *xs = &tensor(c, x)->shape;
        int64_t count = 1;
        bool is_static = true;
        for (int d = 0; d < ri.rank; d++)
            if (ri.red[d]) {
                is_static = is_static && xs->dims[d] >= 0;
                count *= xs->dims[d] >= 0 ? xs->dims[d] : 1;
            }
        int k, q;
        if (is_static) {
            /* scale before expanding: fewer elements */
            if (count != 1) {
                if ((st = autodiff_const_like(c, 1.0 / (double)(count ? count : 1), y, &k, err)) ||
                    (st = op2(c, "Mul", g, k, y, &q, err)))
                    return st;
                g = q;
            }
        } else {
            int sx, sy, cnt, cf, node;
            if ((st = op(c, "Size", 1, &x, -1, &sx, NULL, err)) ||
                (st = op(c, "Size", 1, &y, -1, &sy, NULL, err)) ||
                (st = op2(c, "Div", sx, sy, -1, &cnt, err)) ||
                (st = op(c, "Cast", 1, &cnt, -1, &cf, &node, err)) ||
                (st = set_int_attr(c, node, "to", tensor(c, x)->dtype, err)) ||
                (st = op2(c, "Div", g, cf, y, &q, err)))
                return st;
            g = q;
        }
    }
    int kd = -1, gk;
    if ((st = keep_dims(c, &ri, g, &kd, &gk, err)))
        return st;
    return expand_back(c, gk, err);
}

static ssdc_status grad_reducesum(autodiff_ctx *c, ssdc_error *err)
{
    return grad_reduce_sum_mean(c, false, err);
}

static ssdc_status grad_reducemean(autodiff_ctx *c, ssdc_error *err)
{
    return grad_reduce_sum_mean(c, true, err);
}

const autodiff_rule autodiff_rule_reducesum = {grad_reducesum};
const autodiff_rule autodiff_rule_reducemean = {grad_reducemean};

/* ReduceMax / ReduceMin: dY shared evenly among the elements equal to the
 * extreme (PyTorch's amax/amin rule):
 * mask = Cast(X == Y), dX = mask * dY / ReduceSum(mask). */
static ssdc_status grad_reduce_extreme(autodiff_ctx *c, ssdc_error *err)
{
    red_info ri;
    ssdc_status st = reduce_info(c, &ri, err);
    if (st)
        return st;
    int x = autodiff_input(c, 0), y = autodiff_output(c, 0), dy = autodiff_dy(c, 0);
    if (ri.noop)
        return autodiff_set_grad(c, 0, dy, err);
    int kd = -1, yk, gk, eq, mf, cnt, q, t, node, cax;
    int64_t axes[GRAPH_MAX_RANK];
    int na = 0;
    for (int d = 0; d < ri.rank; d++)
        if (ri.red[d])
            axes[na++] = d;
    if ((st = keep_dims(c, &ri, y, &kd, &yk, err)) || (st = keep_dims(c, &ri, dy, &kd, &gk, err)) ||
        (st = op2(c, "Equal", x, yk, -1, &eq, err)) ||
        (st = op(c, "Cast", 1, &eq, x, &mf, &node, err)) ||
        (st = set_int_attr(c, node, "to", tensor(c, x)->dtype, err)) ||
        (st = graph_builder_const_i64(autodiff_builder(c), "const", axes, na, &cax)))
        return st;
    int rin[2] = {mf, cax};
    if ((st = op(c, "ReduceSum", 2, rin, gk, &cnt, &node, err)) ||
        (st = op2(c, "Div", gk, cnt, gk, &q, err)) || (st = op2(c, "Mul", mf, q, x, &t, err)))
        return st;
    return autodiff_set_grad(c, 0, t, err);
}

const autodiff_rule autodiff_rule_reducemax = {grad_reduce_extreme};
const autodiff_rule autodiff_rule_reducemin = {grad_reduce_extreme};
