/* QDQ fusion, first step: validation of the Q/DQ parameters and the count of
 * float ops between DQ and Q (passes/qfuse.h, docs/int8.md). */
#include "passes/qfuse.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph/ops.h"

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
        } else if (between_dq_and_q(g, n)) {
            if (s.n_unfused < QFUSE_MAX_REPORTED)
                graph_node_label(n, s.unfused[s.n_unfused], sizeof s.unfused[0]);
            s.n_unfused++;
        }
        if (rc)
            return rc;
    }
    if (st)
        *st = s;
    return SSDC_OK;
}
