/* QDQ fusion, first step: validation of the Q/DQ parameters and the count of
 * float ops between DQ and Q (passes/qfuse.h, docs/int8.md). */
#include "passes/qfuse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"
#include "graph/qmath.h"

bool qfuse_is_qdq_graph(const graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == GRAPH_OP_QUANTIZELINEAR || g->nodes[i].op == GRAPH_OP_DEQUANTIZELINEAR)
            return true;
    return false;
}

static const graph_tensor *input_tensor(const graph *g, const graph_node *n, int i)
{
    return i < n->n_inputs && n->inputs[i] >= 0 ? &g->tensors[n->inputs[i]] : NULL;
}

static int64_t tensor_numel(const graph_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->shape.rank; d++)
        n *= t->shape.dims[d];
    return n;
}

static ssdc_status fail_node(ssdc_error *err, const graph_node *n, const char *what)
{
    char lab[256];
    return ssdc_fail(err, SSDC_ERR_INVALID, "node %s: %s", graph_node_label(n, lab, sizeof lab),
                     what);
}

/* Scale (input 1) and zero point (input 2) of a Q or DQ node; the quantized
 * side's dtype q_dt (UNDEFINED if unknown). */
static ssdc_status check_params(const graph *g, const graph_node *n, graph_dtype q_dt,
                                const graph_tensor *data, ssdc_error *err)
{
    const graph_tensor *s = input_tensor(g, n, 1), *z = input_tensor(g, n, 2);
    if (!s)
        return fail_node(err, n, "has no scale input");
    if (s->kind != GRAPH_TENSOR_INITIALIZER || !s->data || s->dtype != GRAPH_DT_FLOAT)
        return SSDC_OK; /* not a constant float scale: nothing to check here */
    int64_t ns = tensor_numel(s);
    const float *sv = s->data;
    for (int64_t i = 0; i < ns; i++)
        if (!(sv[i] > 0.0f) || !isfinite(sv[i])) {
            char msg[160];
            snprintf(msg, sizeof msg, "scale '%s'[%lld] is %g, expected a finite value > 0",
                     s->name, (long long)i, (double)sv[i]);
            return fail_node(err, n, msg);
        }
    if (ns > 1 && data && data->shape.rank > 0) {
        int64_t axis = graph_attr_int(n, "axis", 1);
        if (axis < 0)
            axis += data->shape.rank;
        if (axis < 0 || axis >= data->shape.rank)
            return fail_node(err, n, "axis out of range of the input's rank");
        int64_t ext = data->shape.dims[axis];
        if (ext >= 0 && ext != ns) {
            char msg[200];
            snprintf(msg, sizeof msg, "per-axis scale '%s' has %lld entries, axis %lld has %lld",
                     s->name, (long long)ns, (long long)axis, (long long)ext);
            return fail_node(err, n, msg);
        }
    }
    if (!z)
        return SSDC_OK;
    if (z->kind == GRAPH_TENSOR_INITIALIZER && z->dtype != GRAPH_DT_UNDEFINED &&
        tensor_numel(z) != ns) {
        return fail_node(err, n, "scale and zero point differ in length");
    }
    if (q_dt != GRAPH_DT_UNDEFINED && z->dtype != GRAPH_DT_UNDEFINED && z->dtype != q_dt) {
        char msg[160];
        snprintf(msg, sizeof msg, "zero point '%s' is %s, the quantized tensor %s", z->name,
                 graph_dtype_name(z->dtype), graph_dtype_name(q_dt));
        return fail_node(err, n, msg);
    }
    return SSDC_OK;
}

static bool produced_by(const graph *g, int t, int op)
{
    return t >= 0 && g->tensors[t].producer >= 0 && g->nodes[g->tensors[t].producer].op == op;
}

/* A float op reading a DQ output and writing a tensor only Q nodes read. */
static bool between_dq_and_q(const graph *g, const graph_node *n)
{
    bool from_dq = false;
    for (int k = 0; k < n->n_inputs; k++)
        from_dq |= produced_by(g, n->inputs[k], GRAPH_OP_DEQUANTIZELINEAR);
    if (!from_dq || n->n_outputs < 1 || n->outputs[0] < 0)
        return false;
    int y = n->outputs[0];
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == y && g->nodes[i].op == GRAPH_OP_QUANTIZELINEAR)
                return true;
    return false;
}

/* ---- the rewrites ---- */

typedef struct {
    float scale;
    int32_t zp;
    graph_dtype dt;
} qparam;

/* Per-tensor constant parameters of a Q or DQ node (inputs 1, 2). */
static bool node_qparam(const graph *g, const graph_node *n, graph_dtype q_dt, qparam *p)
{
    const graph_tensor *s = input_tensor(g, n, 1), *z = input_tensor(g, n, 2);
    if (!s || s->kind != GRAPH_TENSOR_INITIALIZER || s->dtype != GRAPH_DT_FLOAT || !s->data ||
        tensor_numel(s) != 1)
        return false;
    p->scale = *(const float *)s->data;
    p->zp = 0;
    p->dt = q_dt;
    if (z) {
        if (z->kind != GRAPH_TENSOR_INITIALIZER || !z->data || tensor_numel(z) != 1)
            return false;
        if (z->dtype == GRAPH_DT_INT8)
            p->zp = *(const int8_t *)z->data;
        else if (z->dtype == GRAPH_DT_UINT8)
            p->zp = *(const uint8_t *)z->data;
        else
            return false;
        p->dt = z->dtype;
    }
    return true;
}

static int sole_consumer(const graph *g, int t, const bool *removed)
{
    if (t < 0 || g->tensors[t].is_output)
        return -1;
    int found = -1, c = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (removed[i])
            continue;
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == t) {
                found = i;
                c++;
            }
    }
    return c == 1 ? found : -1;
}

/* Tensor t is DQ(xq) with per-tensor int8 params: xq and its params. */
static bool from_dq(const graph *g, int t, int *xq, qparam *p)
{
    if (t < 0 || g->tensors[t].producer < 0)
        return false;
    const graph_node *n = &g->nodes[g->tensors[t].producer];
    if (n->op != GRAPH_OP_DEQUANTIZELINEAR || n->inputs[0] < 0)
        return false;
    const graph_tensor *x = &g->tensors[n->inputs[0]];
    if (x->dtype != GRAPH_DT_INT8 || !node_qparam(g, n, GRAPH_DT_INT8, p) || p->dt != GRAPH_DT_INT8)
        return false;
    *xq = n->inputs[0];
    return true;
}

/* Tensor t is read only by one Q node with per-tensor int8 params. */
static int to_q(const graph *g, int t, const bool *removed, qparam *p)
{
    int c = sole_consumer(g, t, removed);
    if (c < 0 || g->nodes[c].op != GRAPH_OP_QUANTIZELINEAR || g->nodes[c].inputs[0] != t)
        return -1;
    if (!node_qparam(g, &g->nodes[c], GRAPH_DT_UINT8, p) || p->dt != GRAPH_DT_INT8)
        return -1;
    return c;
}

/* A constant weight: DQ of an int8 initializer, zero points 0, scale per
 * tensor or per `axis`; scales expanded to `channels` entries. */
static bool const_weight(const graph *g, int t, int axis_want, const graph_tensor **w,
                         float *scales, int64_t channels)
{
    if (t < 0 || g->tensors[t].producer < 0)
        return false;
    const graph_node *n = &g->nodes[g->tensors[t].producer];
    if (n->op != GRAPH_OP_DEQUANTIZELINEAR || n->inputs[0] < 0)
        return false;
    const graph_tensor *wt = &g->tensors[n->inputs[0]];
    const graph_tensor *s = input_tensor(g, n, 1), *z = input_tensor(g, n, 2);
    if (wt->kind != GRAPH_TENSOR_INITIALIZER || wt->dtype != GRAPH_DT_INT8 || !s ||
        s->kind != GRAPH_TENSOR_INITIALIZER || s->dtype != GRAPH_DT_FLOAT)
        return false;
    int64_t ns = tensor_numel(s);
    if (ns != 1) {
        int64_t axis = graph_attr_int(n, "axis", 1);
        if (axis < 0)
            axis += wt->shape.rank;
        if (axis != axis_want || ns != channels)
            return false;
    }
    if (z) {
        if (z->kind != GRAPH_TENSOR_INITIALIZER || z->dtype != GRAPH_DT_INT8)
            return false;
        for (int64_t i = 0; i < tensor_numel(z); i++)
            if (((const int8_t *)z->data)[i] != 0)
                return false;
    }
    for (int64_t c = 0; c < channels; c++)
        scales[c] = ((const float *)s->data)[ns == 1 ? 0 : c];
    *w = wt;
    return true;
}

/* The real value of a constant bias: DQ of a constant, or a float initializer. */
static bool const_bias(const graph *g, int t, double *out, int64_t channels)
{
    const graph_tensor *b = &g->tensors[t];
    if (b->kind == GRAPH_TENSOR_INITIALIZER && b->dtype == GRAPH_DT_FLOAT &&
        tensor_numel(b) == channels) {
        for (int64_t c = 0; c < channels; c++)
            out[c] = ((const float *)b->data)[c];
        return true;
    }
    if (b->producer < 0)
        return false;
    const graph_node *n = &g->nodes[b->producer];
    if (n->op != GRAPH_OP_DEQUANTIZELINEAR || n->inputs[0] < 0)
        return false;
    const graph_tensor *q = &g->tensors[n->inputs[0]];
    const graph_tensor *s = input_tensor(g, n, 1), *z = input_tensor(g, n, 2);
    if (q->kind != GRAPH_TENSOR_INITIALIZER || q->dtype != GRAPH_DT_INT32 ||
        tensor_numel(q) != channels || !s || s->kind != GRAPH_TENSOR_INITIALIZER ||
        s->dtype != GRAPH_DT_FLOAT)
        return false;
    int64_t ns = tensor_numel(s);
    if (ns != 1 && ns != channels)
        return false;
    if (z && (z->kind != GRAPH_TENSOR_INITIALIZER || z->dtype != GRAPH_DT_INT32))
        return false;
    for (int64_t c = 0; c < channels; c++) {
        int64_t zp = z ? ((const int32_t *)z->data)[tensor_numel(z) == 1 ? 0 : c] : 0;
        out[c] = (double)(((const int32_t *)q->data)[c] - zp) *
                 (double)((const float *)s->data)[ns == 1 ? 0 : c];
    }
    return true;
}

/* The activation clamp of a Relu or Clip after the op (if it is the sole
 * consumer of y and its output goes to one Q): act range in the Q's int8. */
typedef struct {
    int node;        /* Relu/Clip node fused, or -1 */
    int q;           /* the Q node */
    qparam qp;
    int32_t act_min, act_max;
} q_output;

static bool clip_bound(const graph *g, const graph_node *n, int i, double *v)
{
    const graph_tensor *t = input_tensor(g, n, i);
    if (!t)
        return true; /* omitted: no bound */
    if (t->kind != GRAPH_TENSOR_INITIALIZER || t->dtype != GRAPH_DT_FLOAT || tensor_numel(t) != 1)
        return false;
    *v = *(const float *)t->data;
    return true;
}

static bool find_q_output(const graph *g, int y, const bool *removed, bool allow_act, q_output *o)
{
    o->node = -1;
    o->q = to_q(g, y, removed, &o->qp);
    double lo = -INFINITY, hi = INFINITY;
    if (o->q < 0) {
        if (!allow_act)
            return false;
        int a = sole_consumer(g, y, removed);
        if (a < 0 || g->nodes[a].inputs[0] != y)
            return false;
        const graph_node *an = &g->nodes[a];
        if (an->op == GRAPH_OP_RELU) {
            lo = 0;
        } else if (an->op == GRAPH_OP_CLIP && g->opset >= 11) {
            if (!clip_bound(g, an, 1, &lo) || !clip_bound(g, an, 2, &hi))
                return false;
        } else if (an->op == GRAPH_OP_CLIP) {
            lo = graph_attr_float(an, "min", -INFINITY);
            hi = graph_attr_float(an, "max", INFINITY);
        } else {
            return false;
        }
        o->q = to_q(g, an->outputs[0], removed, &o->qp);
        if (o->q < 0)
            return false;
        o->node = a;
    }
    o->act_min = -128;
    o->act_max = 127;
    if (lo > -INFINITY)
        o->act_min = qmath_quantize((float)lo, o->qp.scale, o->qp.zp, -128, 127);
    if (hi < INFINITY)
        o->act_max = qmath_quantize((float)hi, o->qp.scale, o->qp.zp, -128, 127);
    return true;
}

typedef struct {
    graph *g;
    bool *removed;
    ssdc_error *err;
} fuser;

static ssdc_status add_init(fuser *f, const char *base, const char *what, graph_dtype dt, int rank,
                            const int64_t *dims, const void *data, size_t bytes, int *t)
{
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        return ssdc_fail(f->err, SSDC_ERR_NOMEM, "out of memory");
    memcpy(copy, data, bytes);
    char name[600];
    snprintf(name, sizeof name, "%s/%s", base, what);
    for (int k = 1; graph_find_tensor(f->g, name) >= 0; k++)
        snprintf(name, sizeof name, "%s/%s.%d", base, what, k);
    return graph_add_initializer(f->g, name, dt, rank, dims, copy, t, f->err);
}

/* Requantization of acc with scale s_acc[c] into qp: multipliers M, shifts S. */
static ssdc_status make_requant(fuser *f, const graph_node *n, const double *s_acc, int64_t ch,
                                const qparam *qp, int32_t *m, int32_t *s)
{
    for (int64_t c = 0; c < ch; c++) {
        int sh;
        double r = s_acc[c] / (double)qp->scale;
        if (qmath_quantize_multiplier(r, &m[c], &sh)) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "the requantization multiplier %g of channel %lld cannot be represented "
                     "(expected a finite value below 2^30)",
                     r, (long long)c);
            return fail_node(f->err, n, msg);
        }
        s[c] = sh;
    }
    return SSDC_OK;
}

static ssdc_status set_ints(fuser *f, int node, const char *const *names, const int64_t *vals, int n)
{
    ssdc_status st = SSDC_OK;
    for (int i = 0; i < n && !st; i++)
        st = graph_node_set_int(f->g, node, names[i], vals[i], f->err);
    return st;
}

/* Adds the integer node op(in...) -> out (the Q node's output), copies the
 * attributes of src (may be NULL) and removes src, the activation and the Q. */
static ssdc_status emit_qnode(fuser *f, int src, const char *op, int n_in, const int *in,
                              const q_output *o, int *node)
{
    graph *g = f->g;
    char name[600];
    snprintf(name, sizeof name, "%s/int8", g->nodes[src].name);
    int out = g->nodes[o->q].outputs[0];
    f->removed[src] = true;
    if (o->node >= 0)
        f->removed[o->node] = true;
    f->removed[o->q] = true;
    /* the Q node gives up its output before the new node takes it */
    g->tensors[out].producer = -1;
    g->nodes[o->q].outputs[0] = -1;
    ssdc_status st = graph_add_node(g, name, op, GRAPH_SSDC_DOMAIN, n_in, in, 1, &out, node, f->err);
    if (st)
        return st;
    /* graph_add_node may grow the arrays: re-fetch pointers from here on */
    bool *r = realloc(f->removed, (size_t)g->n_nodes * sizeof *r);
    if (!r)
        return ssdc_fail(f->err, SSDC_ERR_NOMEM, "out of memory");
    f->removed = r;
    f->removed[*node] = false;
    return SSDC_OK;
}

static ssdc_status copy_attrs(graph *g, int node, int src, ssdc_error *err)
{
    for (int a = 0; a < g->nodes[src].n_attrs; a++) {
        graph_attr copy;
        if (!graph_attr_copy(&copy, &g->nodes[src].attrs[a]))
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        ssdc_status st = graph_node_add_attr(g, node, &copy, err);
        if (st)
            return st;
    }
    return SSDC_OK;
}

static ssdc_status fuse_dense(fuser *f, int i, bool *done)
{
    graph *g = f->g;
    graph_node *n = &g->nodes[i];
    *done = false;
    bool conv = n->op == GRAPH_OP_CONV, gemm = n->op == GRAPH_OP_GEMM;
    int xq;
    qparam xp;
    if (n->n_inputs < 2 || !from_dq(g, n->inputs[0], &xq, &xp))
        return SSDC_OK;
    const graph_tensor *wd = &g->tensors[n->inputs[1]];
    if (wd->shape.rank < 2)
        return SSDC_OK;
    bool trans = false;
    int64_t ch, k;
    int axis;
    if (conv) {
        ch = wd->shape.dims[0];
        axis = 0;
        k = 1;
        for (int d = 1; d < wd->shape.rank; d++)
            k *= wd->shape.dims[d];
    } else {
        if (gemm && (graph_attr_float(n, "alpha", 1) != 1.0f || graph_attr_int(n, "transA", 0) ||
                     (n->n_inputs > 2 && n->inputs[2] >= 0 && graph_attr_float(n, "beta", 1) != 1.0f)))
            return SSDC_OK;
        if (wd->shape.rank != 2 || g->tensors[xq].shape.rank != 2)
            return SSDC_OK;
        trans = gemm ? graph_attr_int(n, "transB", 0) != 0 : false;
        ch = trans ? wd->shape.dims[0] : wd->shape.dims[1];
        k = trans ? wd->shape.dims[1] : wd->shape.dims[0];
        axis = trans ? 0 : 1;
    }
    if (ch <= 0 || k <= 0)
        return SSDC_OK;
    q_output o;
    if (!find_q_output(g, n->outputs[0], f->removed, true, &o))
        return SSDC_OK;
    float *ws = malloc((size_t)ch * sizeof *ws);
    double *bias = calloc((size_t)ch, sizeof *bias), *s_acc = malloc((size_t)ch * sizeof *s_acc);
    int32_t *bq = malloc((size_t)ch * 4), *m = malloc((size_t)ch * 4), *s = malloc((size_t)ch * 4);
    int8_t *wt = malloc((size_t)(ch * k));
    ssdc_status st = SSDC_OK;
    const graph_tensor *w;
    int bt = n->n_inputs > 2 ? n->inputs[2] : -1;
    if (!ws || !bias || !s_acc || !bq || !m || !s || !wt) {
        st = ssdc_fail(f->err, SSDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!const_weight(g, n->inputs[1], axis, &w, ws, ch) || (bt >= 0 && !const_bias(g, bt, bias, ch)))
        goto out;
    for (int64_t c = 0; c < ch; c++) {
        s_acc[c] = (double)xp.scale * (double)ws[c];
        double q = s_acc[c] > 0 ? bias[c] / s_acc[c] : 0;
        q = q < 0 ? -floor(-q + 0.5) : floor(q + 0.5);
        bq[c] = q > 2147483647.0 ? INT32_MAX : q < -2147483648.0 ? INT32_MIN : (int32_t)q;
    }
    if ((st = make_requant(f, n, s_acc, ch, &o.qp, m, s)))
        goto out;
    /* weights as [ch, ...] rows */
    const int8_t *wsrc = w->data;
    if (!conv && !trans) {
        for (int64_t r = 0; r < k; r++)
            for (int64_t c = 0; c < ch; c++)
                wt[c * k + r] = wsrc[r * ch + c];
    } else {
        memcpy(wt, wsrc, (size_t)(ch * k));
    }
    const char *base = n->name;
    int in[5] = {xq, -1, -1, -1, -1};
    int64_t wdims[GRAPH_MAX_RANK];
    int wrank = conv ? w->shape.rank : 2;
    for (int d = 0; d < wrank; d++)
        wdims[d] = conv ? w->shape.dims[d] : (d == 0 ? ch : k);
    int64_t chd[1] = {ch};
    if ((st = add_init(f, base, "w_int8", GRAPH_DT_INT8, wrank, wdims, wt, (size_t)(ch * k), &in[1])) ||
        (bt >= 0 && (st = add_init(f, base, "b_int32", GRAPH_DT_INT32, 1, chd, bq, (size_t)ch * 4, &in[2]))) ||
        (st = add_init(f, base, "multiplier", GRAPH_DT_INT32, 1, chd, m, (size_t)ch * 4, &in[3])) ||
        (st = add_init(f, base, "shift", GRAPH_DT_INT32, 1, chd, s, (size_t)ch * 4, &in[4])))
        goto out;
    int node;
    if ((st = emit_qnode(f, i, conv ? "QConv" : "QGemm", 5, in, &o, &node)))
        goto out;
    if (conv && (st = copy_attrs(g, node, i, f->err)))
        goto out;
    static const char *const names[] = {"x_zero_point", "y_zero_point", "act_min", "act_max"};
    int64_t vals[] = {xp.zp, o.qp.zp, o.act_min, o.act_max};
    st = set_ints(f, node, names, vals, 4);
    *done = !st;
out:
    free(ws);
    free(bias);
    free(s_acc);
    free(bq);
    free(m);
    free(s);
    free(wt);
    return st;
}

/* Add(DQ(a), DQ(b)) [-> Relu] -> Q: QAdd, TFLM's scheme (docs/int8.md). */
static ssdc_status fuse_add(fuser *f, int i, bool *done)
{
    graph *g = f->g;
    const graph_node *n = &g->nodes[i];
    *done = false;
    int aq, bq;
    qparam ap, bp;
    q_output o;
    if (n->n_inputs != 2 || !from_dq(g, n->inputs[0], &aq, &ap) || !from_dq(g, n->inputs[1], &bq, &bp))
        return SSDC_OK;
    const graph_shape *sa = &g->tensors[aq].shape, *sb = &g->tensors[bq].shape;
    int64_t nb = sb->rank >= 0 && graph_shape_is_static(sb) ? tensor_numel(&g->tensors[bq]) : -1;
    if (!graph_shape_equal(sa, sb) && nb != 1)
        return SSDC_OK;
    if (!find_q_output(g, n->outputs[0], f->removed, true, &o))
        return SSDC_OK;
    const int left_shift = 20;
    double twice = 2.0 * fmax((double)ap.scale, (double)bp.scale);
    double ra = ap.scale / twice, rb = bp.scale / twice;
    double ry = twice / ((double)(1 << left_shift) * (double)o.qp.scale);
    int32_t ma, mb, my;
    int sha, shb, shy;
    if (qmath_quantize_multiplier(ra, &ma, &sha) || qmath_quantize_multiplier(rb, &mb, &shb) ||
        qmath_quantize_multiplier(ry, &my, &shy))
        return fail_node(f->err, n, "the scales of the inputs and the output give a multiplier "
                                    "that cannot be represented");
    int in[2] = {aq, bq}, node;
    ssdc_status st = emit_qnode(f, i, "QAdd", 2, in, &o, &node);
    static const char *const names[] = {"a_zero_point", "b_zero_point", "y_zero_point",
                                        "left_shift", "a_multiplier", "a_shift", "b_multiplier",
                                        "b_shift", "y_multiplier", "y_shift", "act_min", "act_max"};
    int64_t vals[] = {ap.zp, bp.zp, o.qp.zp, left_shift, ma, sha, mb, shb, my, shy, o.act_min,
                      o.act_max};
    if (!st)
        st = set_ints(f, node, names, vals, 12);
    *done = !st;
    return st;
}

/* GlobalAveragePool / ReduceMean over every axis from 2 on: QAvgPool. */
static ssdc_status fuse_avgpool(fuser *f, int i, bool *done)
{
    graph *g = f->g;
    const graph_node *n = &g->nodes[i];
    *done = false;
    int xq;
    qparam xp;
    q_output o;
    if (!from_dq(g, n->inputs[0], &xq, &xp))
        return SSDC_OK;
    const graph_shape *xs = &g->tensors[xq].shape;
    if (xs->rank < 3)
        return SSDC_OK;
    int64_t keep = 1;
    if (n->op == GRAPH_OP_REDUCEMEAN) {
        size_t na;
        const int64_t *axes = graph_attr_ints(n, "axes", &na);
        if (!axes || na != (size_t)(xs->rank - 2) || n->n_inputs > 1)
            return SSDC_OK;
        uint32_t seen = 0;
        for (size_t k = 0; k < na; k++) {
            int64_t a = axes[k] < 0 ? axes[k] + xs->rank : axes[k];
            if (a < 2 || a >= xs->rank)
                return SSDC_OK;
            seen |= 1u << a;
        }
        if (seen != ((1u << xs->rank) - 4u))
            return SSDC_OK;
        keep = graph_attr_int(n, "keepdims", 1);
    }
    int64_t count = 1;
    for (int d = 2; d < xs->rank; d++) {
        if (xs->dims[d] <= 0)
            return SSDC_OK;
        count *= xs->dims[d];
    }
    if (!find_q_output(g, n->outputs[0], f->removed, true, &o))
        return SSDC_OK;
    int32_t m;
    int sh;
    double r = (double)xp.scale / ((double)o.qp.scale * (double)count);
    if (qmath_quantize_multiplier(r, &m, &sh))
        return fail_node(f->err, n, "the input and output scales give a multiplier that cannot "
                                    "be represented");
    int node;
    ssdc_status st = emit_qnode(f, i, "QAvgPool", 1, &xq, &o, &node);
    static const char *const names[] = {"x_zero_point", "y_zero_point", "multiplier", "shift",
                                        "act_min", "act_max", "keepdims"};
    int64_t vals[] = {xp.zp, o.qp.zp, m, sh, o.act_min, o.act_max, keep};
    if (!st)
        st = set_ints(f, node, names, vals, 7);
    *done = !st;
    return st;
}

/* The float semantics of the unary ops QLut tabulates; false: not one. */
static bool unary_eval(const graph *g, const graph_node *n, double x, double *y)
{
    switch (n->op) {
    case GRAPH_OP_RELU:
        *y = x > 0 ? x : 0;
        return true;
    case GRAPH_OP_LEAKYRELU:
        *y = x >= 0 ? x : x * (double)graph_attr_float(n, "alpha", 0.01f);
        return true;
    case GRAPH_OP_SIGMOID:
        *y = 1.0 / (1.0 + exp(-x));
        return true;
    case GRAPH_OP_TANH:
        *y = tanh(x);
        return true;
    case GRAPH_OP_ELU: {
        double a = graph_attr_float(n, "alpha", 1.0f);
        *y = x >= 0 ? x : a * (exp(x) - 1);
        return true;
    }
    case GRAPH_OP_HARDSIGMOID: {
        double a = graph_attr_float(n, "alpha", 0.2f), b = graph_attr_float(n, "beta", 0.5f);
        double v = a * x + b;
        *y = v < 0 ? 0 : v > 1 ? 1 : v;
        return true;
    }
    case GRAPH_OP_NEG:
        *y = -x;
        return true;
    case GRAPH_OP_ABS:
        *y = fabs(x);
        return true;
    case GRAPH_OP_CLIP: {
        double lo = -INFINITY, hi = INFINITY;
        if (g->opset >= 11) {
            if (!clip_bound(g, n, 1, &lo) || !clip_bound(g, n, 2, &hi))
                return false;
        } else {
            lo = graph_attr_float(n, "min", -INFINITY);
            hi = graph_attr_float(n, "max", INFINITY);
        }
        *y = x < lo ? lo : x > hi ? hi : x;
        return true;
    }
    default:
        return false;
    }
}

static ssdc_status fuse_unary(fuser *f, int i, bool *done)
{
    graph *g = f->g;
    const graph_node *n = &g->nodes[i];
    *done = false;
    int xq;
    qparam xp;
    q_output o;
    double probe;
    if (!unary_eval(g, n, 0.0, &probe) || !from_dq(g, n->inputs[0], &xq, &xp) ||
        !find_q_output(g, n->outputs[0], f->removed, false, &o))
        return SSDC_OK;
    int8_t table[256];
    for (int q = -128; q < 128; q++) {
        double y;
        unary_eval(g, n, (double)(q - xp.zp) * (double)xp.scale, &y);
        table[q + 128] = (int8_t)qmath_quantize((float)y, o.qp.scale, o.qp.zp, -128, 127);
    }
    int64_t dims[1] = {256};
    int in[2] = {xq, -1}, node;
    ssdc_status st = add_init(f, n->name, "table", GRAPH_DT_INT8, 1, dims, table, 256, &in[1]);
    if (!st)
        st = emit_qnode(f, i, "QLut", 2, in, &o, &node);
    *done = !st;
    return st;
}

/* MaxPool / GlobalMaxPool / ReduceMax and views between DQ and Q with the
 * same parameters: the same node on the int8 tensor. */
static ssdc_status fuse_passthrough(fuser *f, int i, bool *done)
{
    graph *g = f->g;
    graph_node *n = &g->nodes[i];
    *done = false;
    int xq;
    qparam xp, yp;
    int q;
    if (!from_dq(g, n->inputs[0], &xq, &xp) ||
        (q = to_q(g, n->outputs[0], f->removed, &yp)) < 0 || xp.scale != yp.scale ||
        xp.zp != yp.zp)
        return SSDC_OK;
    int out = g->nodes[q].outputs[0];
    f->removed[q] = true;
    g->nodes[q].outputs[0] = -1;
    g->tensors[out].producer = i;
    g->tensors[n->outputs[0]].producer = -1;
    n->inputs[0] = xq;
    n->outputs[0] = out;
    *done = true;
    return SSDC_OK;
}

static bool is_passthrough(int op)
{
    return op == GRAPH_OP_MAXPOOL || op == GRAPH_OP_GLOBALMAXPOOL || op == GRAPH_OP_REDUCEMAX ||
           op == GRAPH_OP_RESHAPE || op == GRAPH_OP_FLATTEN || op == GRAPH_OP_SQUEEZE ||
           op == GRAPH_OP_UNSQUEEZE || op == GRAPH_OP_IDENTITY;
}

/* MaxPool's optional Indices output rules it out. */
static bool single_output(const graph_node *n)
{
    for (int k = 1; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0)
            return false;
    return true;
}

static ssdc_status fuse_node(fuser *f, int i, bool *done)
{
    const graph_node *n = &f->g->nodes[i];
    *done = false;
    if (n->n_inputs < 1 || n->n_outputs < 1 || n->outputs[0] < 0 || !single_output(n))
        return SSDC_OK;
    switch (n->op) {
    case GRAPH_OP_CONV:
    case GRAPH_OP_GEMM:
    case GRAPH_OP_MATMUL:
        return fuse_dense(f, i, done);
    case GRAPH_OP_ADD:
        return fuse_add(f, i, done);
    case GRAPH_OP_GLOBALAVERAGEPOOL:
    case GRAPH_OP_REDUCEMEAN:
        return fuse_avgpool(f, i, done);
    default:
        if (is_passthrough(n->op))
            return fuse_passthrough(f, i, done);
        return fuse_unary(f, i, done);
    }
}

/* Removes DQ nodes nothing reads any more (their int8 inputs stay). */
static void remove_dead_dq(graph *g, bool *removed)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        if (removed[i] || n->op != GRAPH_OP_DEQUANTIZELINEAR || n->outputs[0] < 0)
            continue;
        int y = n->outputs[0];
        if (g->tensors[y].is_output)
            continue;
        bool used = false;
        for (int k = 0; k < g->n_nodes && !used; k++)
            if (!removed[k])
                for (int j = 0; j < g->nodes[k].n_inputs; j++)
                    used |= g->nodes[k].inputs[j] == y;
        removed[i] = !used;
    }
}

ssdc_status passes_qfuse(graph *g, qfuse_stats *st, ssdc_error *err)
{
    qfuse_stats s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        ssdc_status rc = SSDC_OK;
        if (n->op == GRAPH_OP_QUANTIZELINEAR) {
            s.n_quantize++;
            const graph_tensor *z = input_tensor(g, n, 2);
            graph_dtype q = z ? z->dtype : GRAPH_DT_UINT8;
            if (n->n_outputs > 0 && n->outputs[0] >= 0 &&
                g->tensors[n->outputs[0]].dtype != GRAPH_DT_UNDEFINED)
                q = g->tensors[n->outputs[0]].dtype;
            rc = check_params(g, n, q, input_tensor(g, n, 0), err);
        } else if (n->op == GRAPH_OP_DEQUANTIZELINEAR) {
            s.n_dequantize++;
            const graph_tensor *x = input_tensor(g, n, 0);
            rc = check_params(g, n, x ? x->dtype : GRAPH_DT_UNDEFINED, x, err);
        }
        if (rc)
            return rc;
    }
    fuser f = {.g = g, .err = err};
    f.removed = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *f.removed);
    if (!f.removed)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status rc = SSDC_OK;
    int n0 = g->n_nodes;
    for (int i = 0; i < n0 && !rc; i++) {
        if (f.removed[i])
            continue;
        bool done;
        rc = fuse_node(&f, i, &done);
        s.n_fused += done;
    }
    if (!rc) {
        remove_dead_dq(g, f.removed);
        graph_remove_nodes(g, f.removed);
    }
    free(f.removed);
    int *order = NULL;
    if (!rc && s.n_fused) {
        order = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *order);
        if (!order)
            rc = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        if (!rc)
            rc = graph_topo_order(g, order, err);
        if (!rc)
            rc = graph_reorder_nodes(g, order, err);
        free(order);
        if (!rc)
            rc = graph_validate(g, err);
        if (!rc)
            rc = graph_infer_shapes(g, err);
    }
    if (rc)
        return rc;
    for (int i = 0; i < g->n_nodes; i++)
        if (between_dq_and_q(g, &g->nodes[i])) {
            if (s.n_unfused < QFUSE_MAX_REPORTED)
                graph_node_label(&g->nodes[i], s.unfused[s.n_unfused], sizeof s.unfused[0]);
            s.n_unfused++;
        }
    if (st)
        *st = s;
    return SSDC_OK;
}
