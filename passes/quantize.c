/* Post-training static quantization into a QDQ graph (passes/quantize.h). */
#include "passes/quantize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"
#include "graph/qmath.h"

void quant_params_of_range(float min, float max, float *scale, int32_t *zp)
{
    double lo = min < 0 ? min : 0, hi = max > 0 ? max : 0;
    double s = (hi - lo) / 255.0;
    if (!(s > 0) || !isfinite(s))
        s = 1.0 / 255.0; /* a constant-zero tensor: any scale represents it */
    double z = -128.0 - lo / s;
    z = floor(z + 0.5);
    *scale = (float)s;
    *zp = z < -128 ? -128 : z > 127 ? 127 : (int32_t)z;
}

typedef struct {
    graph *g;
    ssdc_error *err;
} qz;

static ssdc_status add_init(qz *q, const char *base, const char *what, graph_dtype dt, int rank,
                            const int64_t *dims, const void *data, size_t bytes, int *t)
{
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        return ssdc_fail(q->err, SSDC_ERR_NOMEM, "out of memory");
    memcpy(copy, data, bytes);
    char name[700];
    snprintf(name, sizeof name, "%s/%s", base, what);
    for (int k = 1; graph_find_tensor(q->g, name) >= 0; k++)
        snprintf(name, sizeof name, "%s/%s.%d", base, what, k);
    return graph_add_initializer(q->g, name, dt, rank, dims, copy, t, q->err);
}

static ssdc_status add_tensor(qz *q, const char *base, const char *what, graph_dtype dt, int *t)
{
    char name[700];
    snprintf(name, sizeof name, "%s/%s", base, what);
    for (int k = 1; graph_find_tensor(q->g, name) >= 0; k++)
        snprintf(name, sizeof name, "%s/%s.%d", base, what, k);
    return graph_add_tensor(q->g, name, dt, NULL, GRAPH_TENSOR_INTERMEDIATE, t, q->err);
}

static ssdc_status add_node(qz *q, const char *base, const char *op, int n_in, const int *in,
                            int out, int *node)
{
    char name[700];
    snprintf(name, sizeof name, "%s/%s", base, op);
    for (int k = 1;; k++) {
        bool dup = false;
        for (int i = 0; i < q->g->n_nodes && !dup; i++)
            dup = !strcmp(q->g->nodes[i].name, name);
        if (!dup)
            break;
        snprintf(name, sizeof name, "%s/%s.%d", base, op, k);
    }
    return graph_add_node(q->g, name, op, "", n_in, in, 1, &out, node, q->err);
}

static int n_readers(const graph *g, int t, int *only)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == t) {
                c++;
                *only = i;
            }
    return c;
}

static bool is_dense(int op)
{
    return op == GRAPH_OP_CONV || op == GRAPH_OP_GEMM || op == GRAPH_OP_MATMUL;
}

static bool shares_params(int op)
{
    return op == GRAPH_OP_MAXPOOL || op == GRAPH_OP_GLOBALMAXPOOL || op == GRAPH_OP_REDUCEMAX ||
           op == GRAPH_OP_RESHAPE || op == GRAPH_OP_FLATTEN || op == GRAPH_OP_SQUEEZE ||
           op == GRAPH_OP_UNSQUEEZE;
}

typedef struct {
    bool on;
    float scale;
    int32_t zp;
} act_param;

/* Q -> DQ on tensor t: consumers read the DQ's output. */
static ssdc_status insert_qdq(qz *q, int t, const act_param *p)
{
    graph *g = q->g;
    char base[600];
    snprintf(base, sizeof base, "%s", g->tensors[t].name);
    int8_t zp8 = (int8_t)p->zp;
    int ts, tz, tq, node;
    ssdc_status st;
    if ((st = add_init(q, base, "scale", GRAPH_DT_FLOAT, 0, NULL, &p->scale, 4, &ts)) ||
        (st = add_init(q, base, "zero_point", GRAPH_DT_INT8, 0, NULL, &zp8, 1, &tz)) ||
        (st = add_tensor(q, base, "int8", GRAPH_DT_INT8, &tq)))
        return st;
    bool is_input = g->tensors[t].kind == GRAPH_TENSOR_INPUT;
    int src = t, dst = t;
    if (is_input) {
        if ((st = add_tensor(q, base, "dq", GRAPH_DT_FLOAT, &dst)))
            return st;
        for (int i = 0; i < g->n_nodes; i++)
            for (int k = 0; k < g->nodes[i].n_inputs; k++)
                if (g->nodes[i].inputs[k] == t)
                    g->nodes[i].inputs[k] = dst;
    } else {
        if ((st = add_tensor(q, base, "float", GRAPH_DT_FLOAT, &src)))
            return st;
        int prod = g->tensors[t].producer;
        for (int k = 0; k < g->nodes[prod].n_outputs; k++)
            if (g->nodes[prod].outputs[k] == t)
                g->nodes[prod].outputs[k] = src;
        g->tensors[src].producer = prod;
        g->tensors[t].producer = -1;
    }
    int qin[3] = {src, ts, tz}, dqin[3] = {tq, ts, tz};
    if ((st = add_node(q, base, "QuantizeLinear", 3, qin, tq, &node)))
        return st;
    return add_node(q, base, "DequantizeLinear", 3, dqin, dst, &node);
}

/* Per-channel symmetric int8 weights + int32 bias of dense node i. */
static ssdc_status quantize_weights(qz *q, int i, float s_x, bool per_tensor, bool *done)
{
    graph *g = q->g;
    graph_node *n = &g->nodes[i];
    *done = false;
    if (n->n_inputs < 2 || n->inputs[1] < 0)
        return SSDC_OK;
    const graph_tensor *w = &g->tensors[n->inputs[1]];
    if (w->kind != GRAPH_TENSOR_INITIALIZER || w->dtype != GRAPH_DT_FLOAT || w->shape.rank < 2)
        return SSDC_OK;
    int axis;
    if (n->op == GRAPH_OP_CONV)
        axis = 0;
    else if (w->shape.rank != 2)
        return SSDC_OK;
    else
        axis = n->op == GRAPH_OP_GEMM && graph_attr_int(n, "transB", 0) ? 0 : 1;
    int64_t ch = w->shape.dims[axis], numel = 1;
    for (int d = 0; d < w->shape.rank; d++)
        numel *= w->shape.dims[d];
    int64_t inner = 1;
    for (int d = axis + 1; d < w->shape.rank; d++)
        inner *= w->shape.dims[d];
    const float *wf = w->data;
    float *sc = calloc((size_t)ch, sizeof *sc);
    int8_t *wq = malloc((size_t)numel), *zq = calloc((size_t)ch, 1);
    int32_t *bq = NULL, *bz = NULL;
    float *bs = NULL;
    ssdc_status st = SSDC_OK;
    if (!sc || !wq || !zq) {
        st = ssdc_fail(q->err, SSDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int64_t e = 0; e < numel; e++) {
        int64_t c = per_tensor ? 0 : (e / inner) % ch;
        float a = fabsf(wf[e]);
        if (a > sc[c])
            sc[c] = a;
    }
    for (int64_t c = 0; c < ch; c++) {
        if (per_tensor)
            sc[c] = sc[0];
        sc[c] = sc[c] > 0 ? sc[c] / 127.0f : 1.0f / 127.0f;
    }
    for (int64_t e = 0; e < numel; e++)
        wq[e] = (int8_t)qmath_quantize(wf[e], sc[(e / inner) % ch], 0, -127, 127);
    char base[600];
    snprintf(base, sizeof base, "%s", n->name);
    int64_t chd[1] = {ch};
    int twq, tws, twz, tw, node;
    if ((st = add_init(q, base, "w_int8", GRAPH_DT_INT8, w->shape.rank, w->shape.dims, wq,
                       (size_t)numel, &twq)) ||
        (st = add_init(q, base, "w_scale", GRAPH_DT_FLOAT, 1, chd, sc, (size_t)ch * 4, &tws)) ||
        (st = add_init(q, base, "w_zero_point", GRAPH_DT_INT8, 1, chd, zq, (size_t)ch, &twz)) ||
        (st = add_tensor(q, base, "w_dq", GRAPH_DT_FLOAT, &tw)))
        goto out;
    int in[3] = {twq, tws, twz};
    if ((st = add_node(q, base, "DequantizeLinear", 3, in, tw, &node)) ||
        (st = graph_node_set_int(g, node, "axis", axis, q->err)))
        goto out;
    n = &g->nodes[i];
    n->inputs[1] = tw;
    int bt = n->n_inputs > 2 ? n->inputs[2] : -1;
    if (bt >= 0) {
        const graph_tensor *b = &g->tensors[bt];
        int64_t nb = b->shape.rank == 1 ? b->shape.dims[0] : -1;
        if (b->kind == GRAPH_TENSOR_INITIALIZER && b->dtype == GRAPH_DT_FLOAT && nb == ch &&
            (n->op != GRAPH_OP_GEMM || axis == 0 || graph_attr_int(n, "transB", 0) == 0)) {
            bq = malloc((size_t)ch * 4);
            bz = calloc((size_t)ch, 4);
            bs = malloc((size_t)ch * 4);
            if (!bq || !bz || !bs) {
                st = ssdc_fail(q->err, SSDC_ERR_NOMEM, "out of memory");
                goto out;
            }
            for (int64_t c = 0; c < ch; c++) {
                bs[c] = s_x * sc[c];
                double v = (double)((const float *)b->data)[c] / (double)bs[c];
                v = v < 0 ? -floor(-v + 0.5) : floor(v + 0.5);
                bq[c] = v > 2147483647.0 ? INT32_MAX : v < -2147483648.0 ? INT32_MIN : (int32_t)v;
            }
            int tbq, tbs, tbz, tb;
            if ((st = add_init(q, base, "b_int32", GRAPH_DT_INT32, 1, chd, bq, (size_t)ch * 4, &tbq)) ||
                (st = add_init(q, base, "b_scale", GRAPH_DT_FLOAT, 1, chd, bs, (size_t)ch * 4, &tbs)) ||
                (st = add_init(q, base, "b_zero_point", GRAPH_DT_INT32, 1, chd, bz, (size_t)ch * 4, &tbz)) ||
                (st = add_tensor(q, base, "b_dq", GRAPH_DT_FLOAT, &tb)))
                goto out;
            int bin[3] = {tbq, tbs, tbz};
            if ((st = add_node(q, base, "DequantizeLinear", 3, bin, tb, &node)) ||
                (st = graph_node_set_int(g, node, "axis", 0, q->err)))
                goto out;
            g->nodes[i].inputs[2] = tb;
        }
    }
    *done = true;
out:
    free(sc);
    free(wq);
    free(zq);
    free(bq);
    free(bz);
    free(bs);
    return st;
}

ssdc_status passes_quantize(graph *g, const quant_range *ranges, const quant_options *opt,
                            quant_stats *stats, ssdc_error *err)
{
    quant_stats s = {0};
    if (g->opset < 13)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "%s: opset %lld: per-channel DequantizeLinear needs opset 13 or later "
                         "(re-export the model with opset_version=13)",
                         g->source && *g->source ? g->source : "model", (long long)g->opset);
    ssdc_status st0 = graph_infer_shapes(g, err);
    if (st0)
        return st0;
    int nt = g->n_tensors, nn = g->n_nodes;
    act_param *act = calloc((size_t)(nt ? nt : 1), sizeof *act);
    int *order = malloc((size_t)(nn ? nn : 1) * sizeof *order);
    ssdc_status st = SSDC_OK;
    if (!act || !order) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = graph_topo_order(g, order, err)))
        goto out;
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        if (g->tensors[t].dtype == GRAPH_DT_FLOAT && ranges[t].seen) {
            act[t].on = true;
            quant_params_of_range(ranges[t].min, ranges[t].max, &act[t].scale, &act[t].zp);
        }
    }
    for (int k = 0; k < nn; k++) {
        const graph_node *n = &g->nodes[order[k]];
        for (int o = 0; o < n->n_outputs; o++) {
            int t = n->outputs[o];
            if (t < 0 || g->tensors[t].dtype != GRAPH_DT_FLOAT || !ranges[t].seen)
                continue;
            int only = -1;
            if (is_dense(n->op) && !g->tensors[t].is_output && n_readers(g, t, &only) == 1 &&
                (g->nodes[only].op == GRAPH_OP_RELU || g->nodes[only].op == GRAPH_OP_CLIP)) {
                s.n_folded_act++;
                continue; /* quantized after the activation */
            }
            int x = n->n_inputs ? n->inputs[0] : -1;
            act[t].on = true;
            if (o == 0 && shares_params(n->op) && x >= 0 && act[x].on) {
                act[t].scale = act[x].scale;
                act[t].zp = act[x].zp;
            } else {
                quant_params_of_range(ranges[t].min, ranges[t].max, &act[t].scale, &act[t].zp);
            }
        }
    }
    bool per_tensor = opt && opt->per_tensor_weights;
    qz q = {g, err};
    for (int i = 0; i < nn && !st; i++) {
        const graph_node *n = &g->nodes[i];
        if (!is_dense(n->op) || n->inputs[0] < 0 || !act[n->inputs[0]].on)
            continue;
        bool done;
        st = quantize_weights(&q, i, act[g->nodes[i].inputs[0]].scale, per_tensor, &done);
        s.n_ops += done;
    }
    for (int t = 0; t < nt && !st; t++)
        if (act[t].on) {
            st = insert_qdq(&q, t, &act[t]);
            s.n_activations++;
        }
    free(order);
    order = NULL;
    if (st)
        goto out;
    order = malloc((size_t)g->n_nodes * sizeof *order);
    if (!order) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!(st = graph_topo_order(g, order, err)) && !(st = graph_reorder_nodes(g, order, err)) &&
        !(st = graph_validate(g, err)))
        st = graph_infer_shapes(g, err);
out:
    free(act);
    free(order);
    if (stats)
        *stats = s;
    return st;
}
