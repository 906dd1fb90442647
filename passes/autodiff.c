#include "passes/autodiff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const autodiff_rule *autodiff_rule_get(int op)
{
    static const autodiff_rule *const table[GRAPH_OP_COUNT] = {
#define X(e, name, sym) &autodiff_rule_##sym,
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X
    };
    if (op < 0 || op >= GRAPH_OP_COUNT)
        return NULL;
    const autodiff_rule *r = table[op];
    return r && r->grad ? r : NULL;
}

typedef struct {
    int *items;
    int n, cap;
} int_list;

struct autodiff_ctx {
    graph *g;
    graph_builder b;    /* "<node>/grad/<what>#<k>", one counter for the pass */
    int node;           /* forward node being differentiated */
    int n_fwd_tensors;  /* tensors < this are forward tensors */
    bool *req;          /* per forward tensor: depends on a param */
    int_list *contrib;  /* per forward tensor: gradient contributions */
    int *dy;            /* per output of the current node */
    int *shape_cache;   /* per forward tensor: its Shape tensor or -1 */
};

static ssdc_status list_push(int_list *l, int v, ssdc_error *err)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 2;
        int *a = realloc(l->items, (size_t)cap * sizeof *a);
        if (!a)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
        l->items = a;
        l->cap = cap;
    }
    l->items[l->n++] = v;
    return SSDC_OK;
}

const graph_node *autodiff_node(const autodiff_ctx *c)
{
    return &c->g->nodes[c->node];
}

graph *autodiff_graph(const autodiff_ctx *c)
{
    return c->g;
}

int autodiff_input(const autodiff_ctx *c, int i)
{
    const graph_node *n = autodiff_node(c);
    return i >= 0 && i < n->n_inputs ? n->inputs[i] : -1;
}

int autodiff_output(const autodiff_ctx *c, int i)
{
    const graph_node *n = autodiff_node(c);
    return i >= 0 && i < n->n_outputs ? n->outputs[i] : -1;
}

static bool is_float(graph_dtype dt)
{
    return dt == GRAPH_DT_FLOAT || dt == GRAPH_DT_DOUBLE;
}

bool autodiff_needs_grad(const autodiff_ctx *c, int i)
{
    int t = autodiff_input(c, i);
    return t >= 0 && t < c->n_fwd_tensors && c->req[t] && is_float(c->g->tensors[t].dtype);
}

int autodiff_dy(const autodiff_ctx *c, int i)
{
    const graph_node *n = autodiff_node(c);
    return i >= 0 && i < n->n_outputs ? c->dy[i] : -1;
}

/* Gives a gradient tensor the static dtype/shape of the tensor it belongs to. */
static void shape_like(graph *g, int t, int like)
{
    if (g->tensors[t].dtype == GRAPH_DT_UNDEFINED)
        g->tensors[t].dtype = g->tensors[like].dtype;
    if (g->tensors[t].shape.rank < 0)
        g->tensors[t].shape = g->tensors[like].shape;
}

graph_builder *autodiff_builder(autodiff_ctx *c)
{
    return &c->b;
}

/* Names what the builder adds next "<current node>/grad/...". */
static ssdc_status name_under_node(autodiff_ctx *c)
{
    return graph_builder_set_prefix(&c->b, "%s/grad/", c->g->nodes[c->node].name);
}

ssdc_status autodiff_const_like(autodiff_ctx *c, double v, int ref, int *t, ssdc_error *err)
{
    if (c->g->tensors[ref].dtype != GRAPH_DT_DOUBLE)
        return graph_builder_const_f32(&c->b, "const", (float)v, t);
    graph_builder own = graph_builder_from_zero(&c->b);
    return graph_builder_const_f64(&own, "const_f64", v, t);
}

ssdc_status autodiff_shape_of(autodiff_ctx *c, int tensor, int *t, ssdc_error *err)
{
    if (tensor < c->n_fwd_tensors && c->shape_cache[tensor] >= 0) {
        *t = c->shape_cache[tensor];
        return SSDC_OK;
    }
    ssdc_status st = graph_builder_op(&c->b, "Shape", NULL, 1, &tensor, t, NULL);
    if (st)
        return st;
    if (tensor < c->n_fwd_tensors)
        c->shape_cache[tensor] = *t;
    return SSDC_OK;
}

static bool same_static_shape(const graph_shape *a, const graph_shape *b)
{
    if (a->rank < 0 || b->rank < 0 || a->rank != b->rank)
        return false;
    for (int d = 0; d < a->rank; d++) {
        if (a->dims[d] >= 0 || b->dims[d] >= 0) {
            if (a->dims[d] != b->dims[d])
                return false;
        } else if (!a->sym[d][0] || strcmp(a->sym[d], b->sym[d]) != 0) {
            return false; /* two unknown dims: equal only when named alike */
        }
    }
    return true;
}

ssdc_status autodiff_sum_to_like(autodiff_ctx *c, int g, int like, int *t, ssdc_error *err)
{
    if (same_static_shape(&c->g->tensors[g].shape, &c->g->tensors[like].shape)) {
        *t = g;
        return SSDC_OK;
    }
    int shape;
    ssdc_status st = autodiff_shape_of(c, like, &shape, err);
    if (st)
        return st;
    int in[2] = {g, shape};
    st = graph_builder_op(&c->b, "SumTo", NULL, 2, in, t, NULL);
    if (!st)
        shape_like(c->g, *t, like);
    return st;
}

/* ConstantOfShape(Shape(like), value = 0) */
static ssdc_status zeros_like(autodiff_ctx *c, int like, int *t, ssdc_error *err)
{
    int shape, node;
    ssdc_status st = autodiff_shape_of(c, like, &shape, err);
    if (!st)
        st = graph_builder_op(&c->b, "ConstantOfShape", NULL, 1, &shape, t, &node);
    if (st)
        return st;
    graph_attr a = {0};
    a.name = graph_strdup("value");
    a.type = GRAPH_ATTR_TENSOR;
    a.t = calloc(1, sizeof *a.t);
    float *zero = calloc(1, sizeof *zero);
    if (!a.name || !a.t || !zero) {
        free(zero);
        graph_attr_clear(&a);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
    }
    int64_t one = 1;
    graph_value_set_shape(a.t, c->g->tensors[like].dtype == GRAPH_DT_DOUBLE ? GRAPH_DT_DOUBLE
                                                                             : GRAPH_DT_FLOAT,
                          1, &one);
    if (a.t->dtype == GRAPH_DT_DOUBLE) {
        free(zero);
        zero = calloc(1, sizeof(double));
        if (!zero) {
            graph_attr_clear(&a);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
        }
    }
    a.t->data = zero;
    st = graph_node_add_attr(c->g, node, &a, err);
    if (!st)
        shape_like(c->g, *t, like);
    return st;
}

ssdc_status autodiff_dy_or_zeros(autodiff_ctx *c, int i, int *t, ssdc_error *err)
{
    int dy = autodiff_dy(c, i);
    if (dy >= 0) {
        *t = dy;
        return SSDC_OK;
    }
    int out = autodiff_output(c, i);
    if (out < 0)
        return ssdc_fail(err, SSDC_ERR_INVALID, "node '%s' (%s): output %d is omitted",
                         autodiff_node(c)->name, autodiff_node(c)->op_type, i);
    return zeros_like(c, out, t, err);
}

ssdc_status autodiff_set_grad(autodiff_ctx *c, int i, int t, ssdc_error *err)
{
    int x = autodiff_input(c, i);
    if (x < 0 || x >= c->n_fwd_tensors)
        return ssdc_fail(err, SSDC_ERR_INVALID, "node '%s' (%s): gradient for a missing input %d",
                         autodiff_node(c)->name, autodiff_node(c)->op_type, i);
    shape_like(c->g, t, x);
    return list_push(&c->contrib[x], t, err);
}

ssdc_status autodiff_require_output(autodiff_ctx *c, int i, int *t, ssdc_error *err)
{
    graph_node *n = &c->g->nodes[c->node];
    if (i < n->n_outputs && n->outputs[i] >= 0) {
        *t = n->outputs[i];
        return SSDC_OK;
    }
    /* "<node>/output<i>#<k>", in the pass's sequence */
    graph_builder ob = c->b;
    char what[32];
    snprintf(what, sizeof what, "output%d", i);
    ssdc_status st = graph_builder_set_prefix(&ob, "%s/", n->name);
    if (!st)
        st = graph_builder_tensor(&ob, what, t);
    c->b.counter = ob.counter;
    if (st)
        return st;
    n = &c->g->nodes[c->node];
    if (i >= n->n_outputs) {
        int *outs = realloc(n->outputs, (size_t)(i + 1) * sizeof *outs);
        int *dy = realloc(c->dy, (size_t)(i + 1) * sizeof *dy);
        if (!outs || !dy) {
            if (outs)
                n->outputs = outs;
            if (dy)
                c->dy = dy;
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
        }
        for (int k = n->n_outputs; k <= i; k++) {
            outs[k] = -1;
            dy[k] = -1;
        }
        n->outputs = outs;
        c->dy = dy;
        n->n_outputs = i + 1;
    }
    n->outputs[i] = *t;
    c->g->tensors[*t].producer = c->node;
    return SSDC_OK;
}

/* Sums the contributions to tensor x into one gradient tensor (-1 if none). */
static ssdc_status finalize_grad(autodiff_ctx *c, int x, int *out, ssdc_error *err)
{
    int_list *l = &c->contrib[x];
    if (l->n == 0) {
        *out = -1;
        return SSDC_OK;
    }
    if (l->n == 1) {
        *out = l->items[0];
        return SSDC_OK;
    }
    ssdc_status st = graph_builder_op(&c->b, "Sum", NULL, l->n, l->items, out, NULL);
    if (!st)
        shape_like(c->g, *out, x);
    return st;
}

ssdc_status autodiff_build(graph *g, int loss, const int *params, int n_params, int *grads,
                           ssdc_error *err)
{
    int nn = g->n_nodes, nt = g->n_tensors;
    autodiff_ctx c = {.g = g, .n_fwd_tensors = nt};
    int *order = malloc((size_t)(nn ? nn : 1) * sizeof *order);
    bool *reach = calloc((size_t)nt, sizeof *reach);
    c.req = calloc((size_t)nt, sizeof *c.req);
    c.contrib = calloc((size_t)nt, sizeof *c.contrib);
    c.shape_cache = malloc((size_t)nt * sizeof *c.shape_cache);
    ssdc_status st = SSDC_OK;
    if (!order || !reach || !c.req || !c.contrib || !c.shape_cache) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
        goto done;
    }
    for (int t = 0; t < nt; t++)
        c.shape_cache[t] = -1;
    if (loss < 0 || loss >= nt) {
        st = ssdc_fail(err, SSDC_ERR_INVALID, "autodiff: loss tensor index %d out of range", loss);
        goto done;
    }
    if (g->tensors[loss].shape.rank > 0) {
        int64_t n = 1;
        for (int d = 0; d < g->tensors[loss].shape.rank; d++)
            n *= g->tensors[loss].shape.dims[d];
        if (n != 1) {
            st = ssdc_fail(err, SSDC_ERR_SHAPE, "autodiff: loss '%s' is not a scalar",
                           g->tensors[loss].name);
            goto done;
        }
    }
    if ((st = graph_topo_order(g, order, err)))
        goto done;
    for (int i = 0; i < n_params; i++)
        c.req[params[i]] = true;
    for (int k = 0; k < nn; k++) {
        const graph_node *n = &g->nodes[order[k]];
        bool any = false;
        for (int i = 0; i < n->n_inputs; i++)
            any = any || (n->inputs[i] >= 0 && c.req[n->inputs[i]] &&
                          is_float(g->tensors[n->inputs[i]].dtype));
        for (int o = 0; any && o < n->n_outputs; o++)
            if (n->outputs[o] >= 0)
                c.req[n->outputs[o]] = true;
    }
    reach[loss] = true;
    for (int k = nn - 1; k >= 0; k--) {
        const graph_node *n = &g->nodes[order[k]];
        bool any = false;
        for (int o = 0; o < n->n_outputs; o++)
            any = any || (n->outputs[o] >= 0 && reach[n->outputs[o]]);
        for (int i = 0; any && i < n->n_inputs; i++)
            if (n->inputs[i] >= 0)
                reach[n->inputs[i]] = true;
    }

    /* gradient nodes "<node>/grad/<what>#<k>"; the seed and the zero
     * gradients of unused parameters "<tensor>/grad/seed", ".../zero" */
    graph_builder tb;
    if ((st = graph_builder_init(&c.b, g, GRAPH_BUILDER_NUMBERED, "", err)) ||
        (st = graph_builder_init(&tb, g, GRAPH_BUILDER_EXACT, "", err)))
        goto done;

    /* seed: d(loss)/d(loss) = 1, in the loss's dtype, so double graphs stay double */
    {
        bool dbl = g->tensors[loss].dtype == GRAPH_DT_DOUBLE;
        const double one_f64 = 1.0;
        const float one_f32 = 1.0f;
        int seed;
        graph_shape ls = g->tensors[loss].shape;
        int64_t dims[GRAPH_MAX_RANK];
        int rank = ls.rank < 0 ? 0 : ls.rank;
        for (int d = 0; d < rank; d++)
            dims[d] = 1;
        if ((st = graph_builder_set_prefix(&tb, "%s/grad/", g->tensors[loss].name)) ||
            (st = graph_builder_initializer(&tb, "seed", dbl ? GRAPH_DT_DOUBLE : GRAPH_DT_FLOAT,
                                            rank, dims, dbl ? (const void *)&one_f64 : &one_f32,
                                            &seed)) ||
            (st = list_push(&c.contrib[loss], seed, err)))
            goto done;
    }

    for (int k = nn - 1; k >= 0; k--) {
        c.node = order[k];
        const graph_node *n = &g->nodes[c.node];
        bool active = false;
        for (int o = 0; o < n->n_outputs; o++) {
            int t = n->outputs[o];
            active = active || (t >= 0 && c.req[t] && reach[t]);
        }
        if (!active)
            continue;
        bool needs = false;
        for (int i = 0; i < n->n_inputs; i++)
            needs = needs || autodiff_needs_grad(&c, i);
        if (!needs)
            continue;
        if ((st = name_under_node(&c)))
            goto done;
        int n_out = n->n_outputs;
        free(c.dy);
        c.dy = malloc((size_t)(n_out ? n_out : 1) * sizeof *c.dy);
        if (!c.dy) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory in autodiff");
            goto done;
        }
        bool have_dy = false;
        for (int o = 0; o < n_out; o++) {
            c.dy[o] = -1;
            int t = g->nodes[c.node].outputs[o];
            if (t >= 0 && (st = finalize_grad(&c, t, &c.dy[o], err)))
                goto done;
            have_dy = have_dy || c.dy[o] >= 0;
        }
        if (!have_dy)
            continue;
        n = &g->nodes[c.node];
        const autodiff_rule *rule = autodiff_rule_get(n->op);
        if (!rule) {
            st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                           "node '%s' (%s): ssdc has no gradient for %s, which lies between the "
                           "parameters and the loss",
                           n->name, n->op_type, n->op_type);
            goto done;
        }
        int before[64];
        int n_in = n->n_inputs < 64 ? n->n_inputs : 64;
        for (int i = 0; i < n_in; i++)
            before[i] = n->inputs[i] >= 0 && n->inputs[i] < nt ? c.contrib[n->inputs[i]].n : 0;
        if ((st = rule->grad(&c, err)))
            goto done;
        n = &g->nodes[c.node];
        for (int i = 0; i < n_in; i++) {
            if (!autodiff_needs_grad(&c, i))
                continue;
            /* the same tensor may feed two inputs: count its contributions once per use */
            int uses = 0;
            for (int j = 0; j < n_in; j++)
                uses += n->inputs[j] == n->inputs[i] && autodiff_needs_grad(&c, j);
            if (c.contrib[n->inputs[i]].n < before[i] + (uses ? 1 : 0)) {
                st = ssdc_fail(err, SSDC_ERR_INVALID,
                               "node '%s' (%s): gradient rule gave no gradient for input %d",
                               n->name, n->op_type, i);
                goto done;
            }
        }
    }
    /* contributions summed under the first node's name */
    c.node = 0;
    if (g->n_nodes > 0 && (st = name_under_node(&c)))
        goto done;
    for (int i = 0; i < n_params; i++) {
        int p = params[i];
        if ((st = finalize_grad(&c, p, &grads[i], err)))
            goto done;
        if (grads[i] < 0) {
            /* the loss does not depend on this parameter: a zero gradient */
            const graph_shape *s = &g->tensors[p].shape;
            if (!graph_shape_is_static(s)) {
                st = ssdc_fail(err, SSDC_ERR_SHAPE, "autodiff: parameter '%s' has no static shape",
                               g->tensors[p].name);
                goto done;
            }
            graph_dtype zdt = g->tensors[p].dtype == GRAPH_DT_DOUBLE ? GRAPH_DT_DOUBLE
                                                                      : GRAPH_DT_FLOAT;
            if ((st = graph_builder_set_prefix(&tb, "%s/grad/", g->tensors[p].name)) ||
                (st = graph_builder_initializer(&tb, "zero", zdt, s->rank, s->dims, NULL,
                                                &grads[i])))
                goto done;
        }
    }
done:
    if (c.contrib)
        for (int t = 0; t < nt; t++)
            free(c.contrib[t].items);
    free(c.contrib);
    free(c.req);
    free(c.shape_cache);
    free(c.dy);
    free(order);
    free(reach);
    return st;
}
