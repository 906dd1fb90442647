/* ONNX export: the graph IR encoded with protobuf-c as a ModelProto.
 *
 * The message tree is built for one onnx__model_proto__pack call: its
 * strings, dims and tensor bytes point into the IR (nothing is copied on a
 * little-endian host), and the arrays and messages it needs are allocated in
 * an ex_ctx and freed together when packing is done.  See onnx_export.h for
 * what is written and for the opset rule. */
#include "frontend/onnx_export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/fileio.h"
#include "graph/ops.h"
#include "onnx.pb-c.h"

#define EX_MAX_BYTES ((size_t)1 << 31) /* 2 GiB, the protobuf limit */
#define EX_GRAPH_NAME "ssdc_graph"
#define EX_PRODUCER_NAME "ssdc"

/* ---- allocation: every message and array of one export ---- */

typedef struct {
    const graph *g;
    int64_t opset;
    bool drop_unused;
    void **allocs;
    size_t n_allocs, cap_allocs;
    ssdc_error *err;
} ex_ctx;

/* Zeroed memory for n elements of size bytes, freed by ex_free; NULL (and
 * err filled) when out of memory. */
static void *ex_alloc(ex_ctx *c, size_t n, size_t size)
{
    if (n && size > SIZE_MAX / n) {
        ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (c->n_allocs == c->cap_allocs) {
        size_t cap = c->cap_allocs ? c->cap_allocs * 2 : 256;
        void **na = realloc(c->allocs, cap * sizeof *na);
        if (!na) {
            ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
            return NULL;
        }
        c->allocs = na;
        c->cap_allocs = cap;
    }
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory for %zu bytes", n * size);
        return NULL;
    }
    c->allocs[c->n_allocs++] = p;
    return p;
}

static void ex_free(ex_ctx *c)
{
    for (size_t i = 0; i < c->n_allocs; i++)
        free(c->allocs[i]);
    free(c->allocs);
    c->allocs = NULL;
    c->n_allocs = c->cap_allocs = 0;
}

/* protobuf-c wants non-const pointers; it never writes through them. */
static char *ex_str(const char *s)
{
    return (char *)s;
}

/* NULL for an empty optional string, so the field is left out. */
static char *ex_opt_str(const char *s)
{
    return s && s[0] ? (char *)s : NULL;
}

static bool ex_is_default_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

static bool ex_host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* ---- the opset rule ---- */

/* Value of INT attribute name, def if absent or of another type. */
static int64_t ex_attr_int(const graph_node *n, const char *name, int64_t def)
{
    const graph_attr *a = graph_node_attr(n, name);
    return a && a->type == GRAPH_ATTR_INT ? a->i : def;
}

static bool ex_input_present(const graph_node *n, int i)
{
    return i < n->n_inputs && n->inputs[i] >= 0;
}

static bool ex_is_op(const graph_node *n, const char *op)
{
    return strcmp(n->op_type, op) == 0;
}

static bool ex_is_reduce_18(const graph_node *n)
{
    return ex_is_op(n, "ReduceMean") || ex_is_op(n, "ReduceMax") || ex_is_op(n, "ReduceMin");
}

/* What one node needs of the default-domain opset: *min..*max, with a short
 * reason for each bound that is not the exporter's own.  Fails for forms no
 * opset from 13 to 17 can express. */
static ssdc_status ex_node_opset(const graph_node *n, int64_t *min, const char **why_min,
                                 int64_t *max, const char **why_max, ssdc_error *err)
{
    *min = ONNX_EXPORT_MIN_OPSET;
    *max = ONNX_EXPORT_MAX_OPSET;
    *why_min = *why_max = NULL;
    const char *old_attr = NULL, *new_form = NULL;
    static const struct {
        const char *op, *attr;
    } old_forms[] = {
        {"Squeeze", "axes"}, {"Unsqueeze", "axes"}, {"Split", "split"}, {"ReduceSum", "axes"},
        {"Clip", "min"},     {"Clip", "max"},       {"Pad", "pads"},    {"Pad", "value"},
        {"Dropout", "ratio"}, {"TopK", "k"},
    };
    for (size_t k = 0; k < sizeof old_forms / sizeof old_forms[0]; k++)
        if (ex_is_op(n, old_forms[k].op) && graph_node_attr(n, old_forms[k].attr))
            old_attr = old_forms[k].attr;
    if (old_attr)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "node '%s' (%s): attribute '%s' is the form of an opset before 13; "
                         "the IR must carry it as an input (as the importer does)",
                         n->name, n->op_type, old_attr);

    if (ex_is_op(n, "BatchNormalization")) {
        if (ex_attr_int(n, "spatial", 1) == 0)
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                             "node '%s' (%s): spatial=0 (per-element statistics, opset < 9) has "
                             "no form at opset 13 or later",
                             n->name, n->op_type);
        bool training = ex_attr_int(n, "training_mode", 0) != 0;
        bool extra = false;
        for (int o = 1; o < n->n_outputs; o++)
            extra = extra || n->outputs[o] >= 0;
        if (training) {
            *min = 14;
            *why_min = "training_mode=1";
        } else if (extra) {
            *max = 13;
            *why_max = "outputs beyond Y without training_mode=1 (the opset 9-13 training form)";
        }
    } else if (ex_is_op(n, "Reshape")) {
        if (ex_attr_int(n, "allowzero", 0) != 0) {
            *min = 14;
            *why_min = "allowzero=1";
        }
    } else if (ex_is_op(n, "Shape")) {
        if (graph_node_attr(n, "start") || graph_node_attr(n, "end")) {
            *min = 15;
            *why_min = "attribute start/end";
        }
    } else if (ex_is_op(n, "Split")) {
        if (graph_node_attr(n, "num_outputs"))
            new_form = "attribute num_outputs needs opset 18";
    } else if (ex_is_reduce_18(n)) {
        if (ex_input_present(n, 1))
            new_form = "an axes input needs opset 18";
        else if (ex_attr_int(n, "noop_with_empty_axes", 0) != 0)
            new_form = "noop_with_empty_axes=1 needs opset 18";
    } else if (ex_is_op(n, "Pad")) {
        const graph_attr *m = graph_node_attr(n, "mode");
        if (ex_input_present(n, 3))
            new_form = "an axes input needs opset 18";
        else if (m && m->type == GRAPH_ATTR_STRING && m->s && strcmp(m->s, "wrap") == 0)
            new_form = "mode \"wrap\" needs opset 19";
    } else if (ex_is_op(n, "AveragePool")) {
        if (graph_node_attr(n, "dilations"))
            new_form = "attribute dilations needs opset 19";
    }
    if (new_form)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "node '%s' (%s): %s; the exporter writes opsets %d to %d", n->name,
                         n->op_type, new_form, ONNX_EXPORT_MIN_OPSET, ONNX_EXPORT_MAX_OPSET);
    return SSDC_OK;
}

ssdc_status onnx_export_opset(const graph *g, int64_t *opset, ssdc_error *err)
{
    *opset = 0;
    if (g->opset > ONNX_EXPORT_MAX_OPSET)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "the graph is at opset %lld; the exporter writes opsets %d to %d",
                         (long long)g->opset, ONNX_EXPORT_MIN_OPSET, ONNX_EXPORT_MAX_OPSET);
    int64_t lo = g->opset > ONNX_EXPORT_MIN_OPSET ? g->opset : ONNX_EXPORT_MIN_OPSET;
    int64_t hi = ONNX_EXPORT_MAX_OPSET;
    const graph_node *lo_node = NULL, *hi_node = NULL;
    const char *lo_why = NULL, *hi_why = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        if (!ex_is_default_domain(n->domain))
            continue;
        int64_t mn, mx;
        const char *wmn, *wmx;
        ssdc_status st = ex_node_opset(n, &mn, &wmn, &mx, &wmx, err);
        if (st)
            return st;
        if (mn > lo) {
            lo = mn;
            lo_node = n;
            lo_why = wmn;
        }
        if (mx < hi) {
            hi = mx;
            hi_node = n;
            hi_why = wmx;
        }
    }
    if (lo > hi) {
        char why_lo[600];
        if (lo_node)
            snprintf(why_lo, sizeof why_lo, "node '%.200s' (%.64s) needs opset %lld (%s)",
                     lo_node->name, lo_node->op_type, (long long)lo, lo_why);
        else
            snprintf(why_lo, sizeof why_lo, "the graph is at opset %lld", (long long)lo);
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "no opset fits every node: %s, but node '%.200s' (%.64s) is valid only "
                         "up to opset %lld (%s)",
                         why_lo, hi_node->name, hi_node->op_type, (long long)hi, hi_why);
    }
    *opset = lo;
    return SSDC_OK;
}

/* Attributes left out at the chosen opset (see the header). */
static bool ex_skip_attr(const graph_node *n, const graph_attr *a, int64_t opset)
{
    if (!ex_is_default_domain(n->domain))
        return false;
    bool int0 = a->type == GRAPH_ATTR_INT && a->i == 0;
    if (ex_is_op(n, "BatchNormalization"))
        return strcmp(a->name, "spatial") == 0 ||
               (opset < 14 && strcmp(a->name, "training_mode") == 0 && int0);
    if (ex_is_op(n, "Reshape"))
        return opset < 14 && strcmp(a->name, "allowzero") == 0 && int0;
    if (ex_is_op(n, "Gemm"))
        return strcmp(a->name, "broadcast") == 0;
    if (ex_is_reduce_18(n))
        return opset < 18 && strcmp(a->name, "noop_with_empty_axes") == 0 && int0;
    return false;
}

/* ---- tensors ---- */

/* A TensorProto with little-endian raw_data for numel elements at data. */
static ssdc_status ex_tensor(ex_ctx *c, const char *name, graph_dtype dt, int rank,
                             const int64_t *dims, int64_t numel, const void *data,
                             const char *label, Onnx__TensorProto **out)
{
    size_t es = graph_dtype_size(dt);
    if (!es)
        return ssdc_fail(c->err, SSDC_ERR_UNSUPPORTED, "%s: dtype %s cannot be exported", label,
                         graph_dtype_name(dt));
    if (rank < 0 || rank > GRAPH_MAX_RANK || numel < 0)
        return ssdc_fail(c->err, SSDC_ERR_INVALID, "%s: no static shape", label);
    if (numel > 0 && !data)
        return ssdc_fail(c->err, SSDC_ERR_INVALID, "%s: has no data", label);
    size_t bytes = (size_t)numel * es;
    if (bytes >= EX_MAX_BYTES)
        return ssdc_fail(c->err, SSDC_ERR_LIMIT, "%s: %zu bytes, more than the 2 GiB limit", label,
                         bytes);
    Onnx__TensorProto *tp = ex_alloc(c, 1, sizeof *tp);
    int64_t *d = ex_alloc(c, (size_t)rank, sizeof *d);
    if (!tp || !d)
        return SSDC_ERR_NOMEM;
    onnx__tensor_proto__init(tp);
    for (int i = 0; i < rank; i++)
        d[i] = dims[i];
    tp->n_dims = (size_t)rank;
    tp->dims = d;
    tp->has_data_type = 1;
    tp->data_type = (int32_t)dt;
    tp->name = ex_opt_str(name);
    tp->has_raw_data = 1;
    tp->raw_data.len = bytes;
    const uint8_t *src = data;
    bool copy = !ex_host_is_little_endian() && es > 1;
    if (dt == GRAPH_DT_BOOL)
        for (size_t i = 0; i < bytes && !copy; i++)
            copy = src[i] > 1;
    if (!copy || bytes == 0) {
        tp->raw_data.data = (uint8_t *)src;
    } else {
        uint8_t *buf = ex_alloc(c, bytes, 1);
        if (!buf)
            return SSDC_ERR_NOMEM;
        if (dt == GRAPH_DT_BOOL) {
            for (size_t i = 0; i < bytes; i++)
                buf[i] = src[i] != 0;
        } else {
            for (size_t i = 0; i < (size_t)numel; i++)
                for (size_t b = 0; b < es; b++)
                    buf[i * es + b] = src[i * es + es - 1 - b];
        }
        tp->raw_data.data = buf;
    }
    *out = tp;
    return SSDC_OK;
}

/* ---- value infos ---- */

static ssdc_status ex_value_info(ex_ctx *c, const graph_tensor *t, Onnx__ValueInfoProto **out)
{
    Onnx__ValueInfoProto *vi = ex_alloc(c, 1, sizeof *vi);
    Onnx__TypeProto *tp = ex_alloc(c, 1, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ex_alloc(c, 1, sizeof *tt);
    if (!vi || !tp || !tt)
        return SSDC_ERR_NOMEM;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    vi->name = ex_str(t->name);
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)t->dtype;
    const graph_shape *s = &t->shape;
    if (s->rank >= 0) {
        if (s->rank > GRAPH_MAX_RANK)
            return ssdc_fail(c->err, SSDC_ERR_INVALID, "tensor '%s': invalid rank %d", t->name,
                             s->rank);
        Onnx__TensorShapeProto *sp = ex_alloc(c, 1, sizeof *sp);
        Onnx__TensorShapeProto__Dimension **dims = ex_alloc(c, (size_t)s->rank, sizeof *dims);
        Onnx__TensorShapeProto__Dimension *dim = ex_alloc(c, (size_t)s->rank, sizeof *dim);
        if (!sp || !dims || !dim)
            return SSDC_ERR_NOMEM;
        onnx__tensor_shape_proto__init(sp);
        for (int i = 0; i < s->rank; i++) {
            onnx__tensor_shape_proto__dimension__init(&dim[i]);
            if (s->dims[i] >= 0) {
                dim[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dim[i].dim_value = s->dims[i];
            } else if (s->sym[i][0]) {
                dim[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                dim[i].dim_param = ex_str(s->sym[i]);
            }
            dims[i] = &dim[i];
        }
        sp->n_dim = (size_t)s->rank;
        sp->dim = dims;
        tt->shape = sp;
    }
    *out = vi;
    return SSDC_OK;
}

/* ---- nodes ---- */

static ssdc_status ex_attribute(ex_ctx *c, const graph_node *n, const graph_attr *a,
                                Onnx__AttributeProto **out)
{
    Onnx__AttributeProto *ap = ex_alloc(c, 1, sizeof *ap);
    if (!ap)
        return SSDC_ERR_NOMEM;
    onnx__attribute_proto__init(ap);
    ap->name = ex_str(a->name);
    ap->has_type = 1;
    switch (a->type) {
    case GRAPH_ATTR_FLOAT:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        ap->has_f = 1;
        ap->f = a->f;
        break;
    case GRAPH_ATTR_INT:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        ap->has_i = 1;
        ap->i = a->i;
        break;
    case GRAPH_ATTR_STRING:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        ap->has_s = 1;
        ap->s.data = (uint8_t *)(a->s ? a->s : "");
        ap->s.len = a->s ? strlen(a->s) : 0;
        break;
    case GRAPH_ATTR_FLOATS:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        ap->n_floats = a->floats ? a->n : 0;
        ap->floats = a->floats;
        break;
    case GRAPH_ATTR_INTS:
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        ap->n_ints = a->ints ? a->n : 0;
        ap->ints = a->ints;
        break;
    case GRAPH_ATTR_STRINGS: {
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
        size_t cnt = a->strings ? a->n : 0;
        ProtobufCBinaryData *s = ex_alloc(c, cnt, sizeof *s);
        if (!s)
            return SSDC_ERR_NOMEM;
        for (size_t i = 0; i < cnt; i++) {
            const char *v = a->strings[i] ? a->strings[i] : "";
            s[i].data = (uint8_t *)v;
            s[i].len = strlen(v);
        }
        ap->n_strings = cnt;
        ap->strings = s;
        break;
    }
    case GRAPH_ATTR_TENSOR: {
        ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        char label[400];
        snprintf(label, sizeof label, "node '%.200s' (%.64s): attribute '%.64s'", n->name,
                 n->op_type, a->name);
        if (!a->t)
            return ssdc_fail(c->err, SSDC_ERR_INVALID, "%s: tensor attribute without a tensor",
                             label);
        const graph_value *v = a->t;
        int64_t numel = 1;
        for (int i = 0; i < v->rank && i < GRAPH_MAX_RANK; i++)
            if (v->dims[i] < 0 || graph_mul_overflow(numel, v->dims[i], &numel))
                return ssdc_fail(c->err, SSDC_ERR_INVALID, "%s: invalid shape", label);
        ssdc_status st = ex_tensor(c, NULL, v->dtype, v->rank, v->dims, numel, v->data, label,
                                   &ap->t);
        if (st)
            return st;
        break;
    }
    default:
        return ssdc_fail(c->err, SSDC_ERR_UNSUPPORTED,
                         "node '%s' (%s): attribute '%s' has type %s, which cannot be exported",
                         n->name, n->op_type, a->name, graph_attr_type_name(a->type));
    }
    *out = ap;
    return SSDC_OK;
}

/* Tensor names of a node's inputs or outputs: "" for an omitted one,
 * trailing omitted ones dropped. */
static ssdc_status ex_names(ex_ctx *c, const int *idx, int n, char ***out, size_t *count)
{
    int used = n;
    while (used > 0 && idx[used - 1] < 0)
        used--;
    char **names = ex_alloc(c, (size_t)used, sizeof *names);
    if (!names)
        return SSDC_ERR_NOMEM;
    for (int i = 0; i < used; i++)
        names[i] = ex_str(idx[i] >= 0 ? c->g->tensors[idx[i]].name : "");
    *out = names;
    *count = (size_t)used;
    return SSDC_OK;
}

static ssdc_status ex_node(ex_ctx *c, const graph_node *n, Onnx__NodeProto **out)
{
    Onnx__NodeProto *np = ex_alloc(c, 1, sizeof *np);
    Onnx__AttributeProto **attrs = ex_alloc(c, (size_t)n->n_attrs, sizeof *attrs);
    if (!np || !attrs)
        return SSDC_ERR_NOMEM;
    onnx__node_proto__init(np);
    np->name = ex_opt_str(n->name);
    np->op_type = ex_str(n->op_type);
    np->domain = ex_opt_str(n->domain);
    ssdc_status st = ex_names(c, n->inputs, n->n_inputs, &np->input, &np->n_input);
    if (!st)
        st = ex_names(c, n->outputs, n->n_outputs, &np->output, &np->n_output);
    if (st)
        return st;
    size_t na = 0;
    for (int i = 0; i < n->n_attrs; i++) {
        if (ex_skip_attr(n, &n->attrs[i], c->opset))
            continue;
        if ((st = ex_attribute(c, n, &n->attrs[i], &attrs[na])))
            return st;
        na++;
    }
    np->n_attribute = na;
    np->attribute = attrs;
    *out = np;
    return SSDC_OK;
}

/* Node order: graph order if it is topological, else a topological order. */
static ssdc_status ex_node_order(const graph *g, int *order, ssdc_error *err)
{
    bool topo = true;
    for (int i = 0; i < g->n_nodes && topo; i++) {
        const graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs && topo; k++) {
            int t = n->inputs[k];
            topo = t < 0 || g->tensors[t].producer < i;
        }
        order[i] = i;
    }
    if (topo)
        return SSDC_OK;
    return graph_topo_order(g, order, err);
}

/* ---- model ---- */

/* Domains other than the default one, and their opset_import entries. */
static ssdc_status ex_opset_imports(ex_ctx *c, Onnx__ModelProto *m)
{
    const graph *g = c->g;
    bool ssdc_domain = false;
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        if (ex_is_default_domain(n->domain))
            continue;
        if (strcmp(n->domain, GRAPH_SSDC_DOMAIN) != 0)
            return ssdc_fail(c->err, SSDC_ERR_UNSUPPORTED,
                             "node '%s' (%s): domain '%s' cannot be exported (only the default "
                             "ONNX domain and %s)",
                             n->name, n->op_type, n->domain, GRAPH_SSDC_DOMAIN);
        ssdc_domain = true;
    }
    size_t count = ssdc_domain ? 2 : 1;
    Onnx__OperatorSetIdProto **ops = ex_alloc(c, count, sizeof *ops);
    Onnx__OperatorSetIdProto *op = ex_alloc(c, count, sizeof *op);
    if (!ops || !op)
        return SSDC_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        onnx__operator_set_id_proto__init(&op[i]);
        op[i].has_version = 1;
        ops[i] = &op[i];
    }
    op[0].domain = ex_str("");
    op[0].version = c->opset;
    if (ssdc_domain) {
        op[1].domain = ex_str(GRAPH_SSDC_DOMAIN);
        op[1].version = 1;
    }
    m->n_opset_import = count;
    m->opset_import = ops;
    return SSDC_OK;
}

static ssdc_status ex_check_io(const graph_tensor *t, const char *what, ssdc_error *err)
{
    if (t->dtype == GRAPH_DT_UNDEFINED)
        return ssdc_fail(err, SSDC_ERR_INVALID,
                         "%s '%s' has no known element type (run shape inference before "
                         "exporting)",
                         what, t->name);
    return SSDC_OK;
}

static ssdc_status ex_graph(ex_ctx *c, Onnx__GraphProto *gp)
{
    const graph *g = c->g;
    ssdc_status st;
    onnx__graph_proto__init(gp);
    gp->name = ex_str(g->name && g->name[0] ? g->name : EX_GRAPH_NAME);

    /* nodes */
    int *order = ex_alloc(c, (size_t)g->n_nodes, sizeof *order);
    Onnx__NodeProto **nodes = ex_alloc(c, (size_t)g->n_nodes, sizeof *nodes);
    if (!order || !nodes)
        return SSDC_ERR_NOMEM;
    if ((st = ex_node_order(g, order, c->err)))
        return st;
    for (int i = 0; i < g->n_nodes; i++)
        if ((st = ex_node(c, &g->nodes[order[i]], &nodes[i])))
            return st;
    gp->n_node = (size_t)g->n_nodes;
    gp->node = nodes;

    /* initializers, in tensor order */
    bool *used = NULL;
    if (c->drop_unused) {
        used = ex_alloc(c, (size_t)g->n_tensors, sizeof *used);
        if (!used)
            return SSDC_ERR_NOMEM;
        for (int i = 0; i < g->n_nodes; i++)
            for (int j = 0; j < g->nodes[i].n_inputs; j++)
                if (g->nodes[i].inputs[j] >= 0)
                    used[g->nodes[i].inputs[j]] = true;
        for (int t = 0; t < g->n_tensors; t++)
            used[t] |= g->tensors[t].is_output;
    }
    size_t n_init = 0;
    for (int t = 0; t < g->n_tensors; t++)
        n_init += g->tensors[t].kind == GRAPH_TENSOR_INITIALIZER && (!used || used[t]);
    Onnx__TensorProto **inits = ex_alloc(c, n_init, sizeof *inits);
    if (!inits)
        return SSDC_ERR_NOMEM;
    size_t k = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const graph_tensor *gt = &g->tensors[t];
        if (gt->kind != GRAPH_TENSOR_INITIALIZER || (used && !used[t]))
            continue;
        char label[300];
        snprintf(label, sizeof label, "initializer '%.256s'", gt->name);
        int64_t numel;
        if ((st = graph_shape_numel(&gt->shape, &numel, c->err))) {
            ssdc_error_prefix(c->err, "%s", label);
            return st;
        }
        if ((st = ex_tensor(c, gt->name, gt->dtype, gt->shape.rank, gt->shape.dims, numel,
                            gt->data, label, &inits[k++])))
            return st;
    }
    gp->n_initializer = n_init;
    gp->initializer = inits;

    /* caller-fed inputs and the outputs */
    Onnx__ValueInfoProto **ins = ex_alloc(c, (size_t)g->n_inputs, sizeof *ins);
    Onnx__ValueInfoProto **outs = ex_alloc(c, (size_t)g->n_outputs, sizeof *outs);
    if (!ins || !outs)
        return SSDC_ERR_NOMEM;
    size_t ni = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        const graph_tensor *gt = &g->tensors[g->inputs[i]];
        if (gt->kind == GRAPH_TENSOR_INITIALIZER)
            continue;
        if ((st = ex_check_io(gt, "graph input", c->err)) ||
            (st = ex_value_info(c, gt, &ins[ni++])))
            return st;
    }
    gp->n_input = ni;
    gp->input = ins;
    if (g->n_outputs == 0)
        return ssdc_fail(c->err, SSDC_ERR_INVALID, "the graph has no outputs");
    for (int i = 0; i < g->n_outputs; i++) {
        const graph_tensor *gt = &g->tensors[g->outputs[i]];
        if ((st = ex_check_io(gt, "graph output", c->err)) ||
            (st = ex_value_info(c, gt, &outs[i])))
            return st;
    }
    gp->n_output = (size_t)g->n_outputs;
    gp->output = outs;
    return SSDC_OK;
}

/* Intermediate tensors described by value_info: produced by a node, not a
 * graph output, dtype and rank known. */
static bool ex_wants_value_info(const graph_tensor *t)
{
    return t->kind == GRAPH_TENSOR_INTERMEDIATE && t->producer >= 0 && !t->is_output &&
           t->dtype != GRAPH_DT_UNDEFINED && t->shape.rank >= 0;
}

static ssdc_status ex_value_infos(ex_ctx *c, Onnx__GraphProto *gp)
{
    const graph *g = c->g;
    size_t n = 0;
    for (int t = 0; t < g->n_tensors; t++)
        n += ex_wants_value_info(&g->tensors[t]);
    Onnx__ValueInfoProto **vis = ex_alloc(c, n, sizeof *vis);
    if (!vis)
        return SSDC_ERR_NOMEM;
    size_t k = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const graph_tensor *gt = &g->tensors[t];
        if (!ex_wants_value_info(gt))
            continue;
        ssdc_status st = ex_value_info(c, gt, &vis[k++]);
        if (st)
            return st;
    }
    gp->n_value_info = n;
    gp->value_info = vis;
    return SSDC_OK;
}

ssdc_status onnx_export_buffer(const graph *g, const onnx_export_options *opt, uint8_t **data,
                               size_t *len, ssdc_error *err)
{
    *data = NULL;
    *len = 0;
    onnx_export_options defaults;
    memset(&defaults, 0, sizeof defaults);
    if (!opt)
        opt = &defaults;
    int64_t ir = opt->ir_version ? opt->ir_version : ONNX_EXPORT_DEFAULT_IR_VERSION;
    if (ir != 7 && ir != 8)
        return ssdc_fail(err, SSDC_ERR_ARG, "IR version %lld cannot be written (7 or 8)",
                         (long long)ir);
    ssdc_status st = graph_validate(g, err);
    if (st) {
        ssdc_error_prefix(err, "cannot export an invalid graph");
        return st;
    }
    ex_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.err = err;
    c.drop_unused = opt && opt->drop_unused;
    if ((st = onnx_export_opset(g, &c.opset, err)))
        return st;

    Onnx__ModelProto m;
    Onnx__GraphProto gp;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = ir;
    m.producer_name = ex_str(EX_PRODUCER_NAME);
    m.producer_version = ex_opt_str(opt->producer_version);
    m.graph = &gp;
    st = ex_opset_imports(&c, &m);
    if (!st)
        st = ex_graph(&c, &gp);
    if (!st && opt->value_info)
        st = ex_value_infos(&c, &gp);
    if (st) {
        ex_free(&c);
        return st;
    }
    size_t size = onnx__model_proto__get_packed_size(&m);
    if (size >= EX_MAX_BYTES) {
        ex_free(&c);
        return ssdc_fail(err, SSDC_ERR_LIMIT, "the model is %zu bytes, more than the 2 GiB limit",
                         size);
    }
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        ex_free(&c);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory for %zu bytes", size);
    }
    size_t packed = onnx__model_proto__pack(&m, buf);
    ex_free(&c);
    if (packed != size) {
        free(buf);
        return ssdc_fail(err, SSDC_ERR_INVALID, "protobuf packing wrote %zu bytes, expected %zu",
                         packed, size);
    }
    *data = buf;
    *len = size;
    return SSDC_OK;
}

ssdc_status onnx_export_file(const graph *g, const char *path, const onnx_export_options *opt,
                             ssdc_error *err)
{
    uint8_t *data;
    size_t len;
    ssdc_status st = onnx_export_buffer(g, opt, &data, &len, err);
    if (st) {
        ssdc_error_prefix(err, "%s", path);
        return st;
    }
    /* atomic (graph/fileio.c): its messages name the path */
    st = ssdc_write_file_atomic(path, data, len, err);
    free(data);
    return st;
}
