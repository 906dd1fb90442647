#include "graph/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[GRAPH_OP_COUNT] = {
#define X(e, name, sym) name,
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X
};

const graph_op_schema *graph_op_schema_get(int op)
{
    static const graph_op_schema *const table[GRAPH_OP_COUNT] = {
#define X(e, name, sym) &graph_schema_##sym,
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X
    };
    if (op < 0 || op >= GRAPH_OP_COUNT)
        return NULL;
    return table[op];
}

/* Binary search over op_names[lo..hi] (each .def file is sorted). */
static int lookup_range(const char *op_type, int lo, int hi)
{
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(op_type, op_names[mid]);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

int graph_op_lookup(const char *op_type)
{
    return lookup_range(op_type, 0, GRAPH_OP_ONNX_COUNT - 1);
}

int graph_op_lookup_domain(const char *domain, const char *op_type)
{
    if (!domain || !domain[0] || !strcmp(domain, "ai.onnx"))
        return graph_op_lookup(op_type);
    if (!strcmp(domain, GRAPH_SSDC_DOMAIN))
        return lookup_range(op_type, GRAPH_OP_ONNX_COUNT, GRAPH_OP_COUNT - 1);
    return -1;
}

const char *graph_op_domain(int op)
{
    return op >= GRAPH_OP_ONNX_COUNT ? GRAPH_SSDC_DOMAIN : "";
}

const char *graph_op_name(int op)
{
    return op >= 0 && op < GRAPH_OP_COUNT ? op_names[op] : "?";
}

/* ---- helpers ---- */

ssdc_status graph_infer_failf(const graph_infer_ctx *c, ssdc_error *err, ssdc_status code,
                              const char *fmt, ...)
{
    if (!err)
        return code;
    char msg[SSDC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ssdc_fail(err, code, "node '%s' (%s): %s", c->node->name, c->node->op_type, msg);
}

ssdc_status graph_infer_broadcast(const graph_infer_ctx *c, const graph_shape *a,
                                  const graph_shape *b, graph_shape *out, ssdc_error *err)
{
    if (a->rank < 0 || b->rank < 0) {
        graph_shape_unknown(out);
        return SSDC_OK;
    }
    int r = a->rank > b->rank ? a->rank : b->rank;
    graph_shape o;
    graph_shape_init(&o, r, NULL);
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1;
        int64_t db = ib >= 0 ? b->dims[ib] : 1;
        if (da == 1) {
            if (ib >= 0)
                graph_shape_copy_dim(&o, i, b, ib);
            else
                o.dims[i] = 1;
        } else if (db == 1) {
            graph_shape_copy_dim(&o, i, a, ia);
        } else if (da >= 0 && db >= 0) {
            if (da != db) {
                char sa[160], sb[160];
                graph_shape_format(a, sa, sizeof sa);
                graph_shape_format(b, sb, sizeof sb);
                return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                         "shapes %s and %s cannot be broadcast (dimension %d: "
                                         "%lld vs %lld)",
                                         sa, sb, i, (long long)da, (long long)db);
            }
            o.dims[i] = da;
        } else if (da >= 0) {
            o.dims[i] = da; /* the symbolic side must be da (or 1) */
        } else if (db >= 0) {
            o.dims[i] = db;
        } else {
            graph_shape_copy_dim(&o, i, a, ia); /* both symbolic: assume equal */
        }
    }
    *out = o;
    return SSDC_OK;
}

ssdc_status graph_infer_same_as_input0(graph_infer_ctx *c, ssdc_error *err)
{
    c->out_dtype[0] = c->in_dtype[0];
    c->out_shape[0] = c->in_shape[0];
    return SSDC_OK;
}

ssdc_status graph_infer_axis(const graph_infer_ctx *c, int64_t axis, int rank, int *out,
                             ssdc_error *err)
{
    if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return SSDC_OK;
}

ssdc_status graph_infer_check_dtype(const graph_infer_ctx *c, int i, ssdc_error *err, ...)
{
    if (i >= c->n_in || c->node->inputs[i] < 0)
        return graph_infer_failf(c, err, SSDC_ERR_INVALID, "input %d is missing", i);
    graph_dtype dt = c->in_dtype[i];
    if (dt == GRAPH_DT_UNDEFINED)
        return SSDC_OK;
    va_list ap;
    va_start(ap, err);
    char allowed[256];
    size_t pos = 0;
    allowed[0] = 0;
    for (;;) {
        int a = va_arg(ap, int);
        if (a == GRAPH_DT_UNDEFINED)
            break;
        if ((graph_dtype)a == dt) {
            va_end(ap);
            return SSDC_OK;
        }
        if (pos < sizeof allowed)
            pos += (size_t)snprintf(allowed + pos, sizeof allowed - pos, "%s%s", pos ? ", " : "",
                                    graph_dtype_name((graph_dtype)a));
    }
    va_end(ap);
    const graph_tensor *t = &c->g->tensors[c->node->inputs[i]];
    return graph_infer_failf(c, err, SSDC_ERR_UNSUPPORTED, "input %d '%s' has dtype %s, expected %s",
                             i, t->name, graph_dtype_name(dt), allowed);
}

int64_t graph_infer_out_numel(const graph_infer_ctx *c, int i)
{
    if (i >= c->n_out || !graph_shape_is_static(&c->out_shape[i]))
        return 0;
    int64_t n = 1;
    for (int d = 0; d < c->out_shape[i].rank; d++)
        n *= c->out_shape[i].dims[d];
    return n;
}

ssdc_status graph_infer_node(const graph *g, const graph_node *node, const graph_dtype *in_dtype,
                             const graph_shape *in_shape, const graph_value *const *in_value,
                             graph_dtype *out_dtype, graph_shape *out_shape, ssdc_error *err)
{
    const graph_op_schema *s = graph_op_schema_get(node->op);
    if (!s || !s->infer)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "node '%s' (%s): op %s is not supported",
                         node->name, node->op_type, node->op_type);
    for (int i = 0; i < node->n_outputs; i++) {
        out_dtype[i] = GRAPH_DT_UNDEFINED;
        graph_shape_unknown(&out_shape[i]);
    }
    graph_infer_ctx c = {
        .g = g, .node = node, .n_in = node->n_inputs, .in_dtype = in_dtype,
        .in_shape = in_shape, .in_value = in_value, .n_out = node->n_outputs,
        .out_dtype = out_dtype, .out_shape = out_shape,
    };
    ssdc_status st = s->infer(&c, err);
    if (st)
        return st;
    for (int i = 0; i < node->n_outputs; i++) {
        if (out_shape[i].rank > GRAPH_MAX_RANK)
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                             "node '%s' (%s): output %d has rank %d, at most %d supported",
                             node->name, node->op_type, i, out_shape[i].rank, GRAPH_MAX_RANK);
        for (int d = 0; d < out_shape[i].rank; d++)
            if (out_shape[i].dims[d] < -1)
                return ssdc_fail(err, SSDC_ERR_SHAPE,
                                 "node '%s' (%s): output %d would have negative dimension %lld",
                                 node->name, node->op_type, i, (long long)out_shape[i].dims[d]);
    }
    return SSDC_OK;
}

/* ---- static inference over the graph ---- */

static void value_of_initializer(const graph_tensor *t, graph_value *v)
{
    graph_value_set_shape(v, t->dtype, t->shape.rank, t->shape.dims);
    v->data = t->data;
}

ssdc_status graph_infer_shapes(graph *g, ssdc_error *err)
{
    int nn = g->n_nodes, nt = g->n_tensors;
    int *order = malloc((size_t)(nn ? nn : 1) * sizeof *order);
    graph_value *vals = calloc((size_t)(nt ? nt : 1), sizeof *vals);
    const graph_value **known = calloc((size_t)(nt ? nt : 1), sizeof *known);
    if (!order || !vals || !known) {
        free(order), free(vals), free(known);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory inferring shapes");
    }
    ssdc_status st = graph_topo_order(g, order, err);
    for (int t = 0; t < nt && !st; t++) {
        if (g->tensors[t].kind == GRAPH_TENSOR_INITIALIZER) {
            value_of_initializer(&g->tensors[t], &vals[t]);
            known[t] = &vals[t];
        }
    }
    int max_io = graph_max_node_io(g);
    graph_dtype *idt = malloc((size_t)max_io * sizeof *idt);
    graph_shape *ish = malloc((size_t)max_io * sizeof *ish);
    const graph_value **ival = malloc((size_t)max_io * sizeof *ival);
    graph_dtype *odt = malloc((size_t)max_io * sizeof *odt);
    graph_shape *osh = malloc((size_t)max_io * sizeof *osh);
    if (!idt || !ish || !ival || !odt || !osh)
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory inferring shapes");
    for (int k = 0; k < nn && !st; k++) {
        graph_node *n = &g->nodes[order[k]];
        if (!graph_op_schema_get(n->op))
            continue; /* unsupported: outputs stay unknown */
        for (int i = 0; i < n->n_inputs; i++) {
            int t = n->inputs[i];
            if (t < 0) {
                idt[i] = GRAPH_DT_UNDEFINED;
                graph_shape_unknown(&ish[i]);
                ival[i] = NULL;
            } else {
                idt[i] = g->tensors[t].dtype;
                ish[i] = g->tensors[t].shape;
                ival[i] = known[t];
            }
        }
        st = graph_infer_node(g, n, idt, ish, ival, odt, osh, err);
        if (st)
            break;
        for (int o = 0; o < n->n_outputs; o++) {
            int t = n->outputs[o];
            if (t < 0)
                continue;
            graph_tensor *tt = &g->tensors[t];
            /* keep declared info where inference knows less (e.g. graph outputs) */
            if (odt[o] != GRAPH_DT_UNDEFINED)
                tt->dtype = odt[o];
            if (osh[o].rank >= 0 || tt->shape.rank < 0) {
                if (tt->shape.rank == osh[o].rank) {
                    /* fill unknown inferred dims from declared ones */
                    for (int d = 0; d < osh[o].rank; d++)
                        if (osh[o].dims[d] < 0 && !osh[o].sym[d][0])
                            graph_shape_copy_dim(&osh[o], d, &tt->shape, d);
                }
                tt->shape = osh[o];
            }
        }
        if (n->op == GRAPH_OP_CONSTANT && n->n_outputs == 1 && n->outputs[0] >= 0) {
            const graph_attr *a = graph_node_attr(n, "value");
            if (a && a->type == GRAPH_ATTR_TENSOR && a->t)
                known[n->outputs[0]] = a->t;
        }
    }
    free(idt), free(ish), free(ival), free(odt), free(osh);
    free(order), free(vals), free(known);
    return st;
}
