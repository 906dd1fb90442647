/* Emitters of the reductions and normalisations: ReduceSum/Mean/Max/Min
 * (constant axes), GlobalAveragePool, GlobalMaxPool, Softmax, LogSoftmax and
 * BatchNormalization in inference form (when the passes could not fold it).
 * Contiguous sums use eight independent partial sums (the order of the
 * runtime's pool_sum), which compilers vectorise without reassociating.
 * Semantics follow runtime/kernels/reduce.c, pool.c, softmax.c and
 * batchnorm.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/emitter.h"

typedef enum { R_SUM, R_MEAN, R_MAX, R_MIN } red_op;

/* "s = sum of n floats from p" with eight partial sums; p is an expression
 * for the start (contiguous), result in variable `res` (declared by caller). */
static void emit_sum8(cg_ctx *c, int ind, const char *p, int64_t n, const char *res)
{
    int64_t full = n / 8 * 8;
    cg_printf(c, "%*s{\n", ind, "");
    ind += 4;
    cg_printf(c, "%*sconst float *q = %s;\n", ind, "", p);
    cg_printf(c, "%*sfloat a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f, a4 = 0.0f, a5 = 0.0f, "
                 "a6 = 0.0f, a7 = 0.0f;\n",
              ind, "");
    if (full > 0) {
        cg_printf(c, "%*sfor (int k = 0; k < %lld; k += 8) {\n", ind, "", (long long)full);
        for (int t = 0; t < 8; t++)
            cg_printf(c, "%*sa%d += q[k + %d];\n", ind + 4, "", t, t);
        cg_printf(c, "%*s}\n", ind, "");
    }
    cg_printf(c, "%*s%s = ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7));\n", ind, "", res);
    for (int64_t k = full; k < n; k++)
        cg_printf(c, "%*s%s += q[%lld];\n", ind, "", res, (long long)k);
    ind -= 4;
    cg_printf(c, "%*s}\n", ind, "");
}

/* The input as alternating kept / reduced blocks (as the runtime). */
typedef struct {
    int n;
    int64_t dims[GRAPH_MAX_RANK];
    bool red[GRAPH_MAX_RANK];
    int64_t count;
} red_plan;

static void red_plan_make(red_plan *p, const graph_value *x, const bool *red)
{
    p->n = 0;
    p->count = 1;
    for (int d = 0; d < x->rank; d++) {
        if (red[d])
            p->count *= x->dims[d];
        if (x->dims[d] == 1)
            continue;
        if (p->n > 0 && p->red[p->n - 1] == red[d]) {
            p->dims[p->n - 1] *= x->dims[d];
        } else {
            p->dims[p->n] = x->dims[d];
            p->red[p->n] = red[d];
            p->n++;
        }
    }
    if (p->n == 0) {
        p->dims[0] = 1;
        p->red[0] = false;
        p->n = 1;
    }
}

static bool reduce_axes(const cg_node *n, bool *red, char *why, size_t size)
{
    const graph_value *x = n->in[0];
    int r = x->rank;
    int64_t axes[GRAPH_MAX_RANK];
    int64_t na = 0;
    if (n->n_in > 1 && n->in[1]) {
        if (!n->in_const[1]) {
            snprintf(why, size, "axes are computed at run time; they must be a constant");
            return false;
        }
        na = n->in[1]->numel;
        if (na > r) {
            snprintf(why, size, "too many axes");
            return false;
        }
        for (int64_t k = 0; k < na; k++)
            axes[k] = graph_value_get_i64(n->in[1], k);
    } else {
        size_t cnt = 0;
        const int64_t *a = graph_attr_ints(n->node, "axes", &cnt);
        if (cnt > (size_t)r) {
            snprintf(why, size, "too many axes");
            return false;
        }
        na = (int64_t)cnt;
        for (size_t k = 0; k < cnt; k++)
            axes[k] = a[k];
    }
    bool noop = na == 0 && graph_attr_int(n->node, "noop_with_empty_axes", 0) != 0;
    for (int d = 0; d < r; d++)
        red[d] = na == 0 && !noop;
    for (int64_t k = 0; k < na; k++) {
        if (axes[k] < -r || axes[k] >= r) {
            snprintf(why, size, "axis %lld out of range", (long long)axes[k]);
            return false;
        }
        red[axes[k] < 0 ? axes[k] + r : axes[k]] = true;
    }
    return true;
}

static bool check_reduce(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    bool red[GRAPH_MAX_RANK];
    return reduce_axes(n, red, why, size);
}

static void emit_reduce_plan(cg_ctx *c, const char *X, const char *Y, const red_plan *p,
                             int64_t y_numel, red_op op, bool empty)
{
    const char *init = op == R_MAX ? "-INF" : op == R_MIN ? "INF" : "0.0f";
    char initbuf[80];
    if (op == R_MAX || op == R_MIN) {
        snprintf(initbuf, sizeof initbuf, "%s%s", op == R_MAX ? "-" : "", cg_math(c, CG_FN_INF));
        init = initbuf;
    }
    const char *pick = op == R_MAX ? ">" : "<";
    int n = p->n;
    bool inner_red = p->red[n - 1];
    int64_t L = p->dims[n - 1];
    /* output strides of the blocks, input strides */
    int64_t ost[GRAPH_MAX_RANK], xst[GRAPH_MAX_RANK], s = 1;
    for (int k = n - 1; k >= 0; k--) {
        ost[k] = p->red[k] ? 0 : s;
        if (!p->red[k])
            s *= p->dims[k];
    }
    s = 1;
    for (int k = n - 1; k >= 0; k--) {
        xst[k] = s;
        s *= p->dims[k];
    }
    cg_printf(c, "    for (int i = 0; i < %lld; i++)\n        %s[i] = %s;\n", (long long)y_numel, Y,
              init);
    if (!empty) {
        int ind = 4;
        for (int k = 0; k < n - 1; k++) {
            if (p->dims[k] == 1)
                continue;
            cg_printf(c, "%*sfor (int i%d = 0; i%d < %lld; i%d++)%s\n", ind, "", k, k,
                      (long long)p->dims[k], k, k == n - 2 ? " {" : "");
            ind += 4;
        }
        bool opened = n > 1 && p->dims[n - 2] != 1;
        if (!opened) {
            cg_printf(c, "%*s{\n", ind, "");
            ind += 4;
        }
        char xo[300] = "0", yo[300] = "0";
        size_t px = 0, py = 0;
        for (int k = 0; k < n - 1; k++) {
            if (p->dims[k] == 1)
                continue;
            px += (size_t)snprintf(xo + px, sizeof xo - px, "%si%d * %lld", px ? " + " : "", k,
                                   (long long)xst[k]);
            if (ost[k])
                py += (size_t)snprintf(yo + py, sizeof yo - py, "%si%d * %lld", py ? " + " : "",
                                       k, (long long)ost[k]);
        }
        cg_printf(c, "%*sconst float *xr = %s + %s;\n", ind, "", X, xo);
        cg_printf(c, "%*sfloat *yr = %s + %s;\n", ind, "", Y, yo);
        if (inner_red) {
            if (op == R_SUM || op == R_MEAN) {
                cg_printf(c, "%*sfloat s;\n", ind, "");
                emit_sum8(c, ind, "xr", L, "s");
                cg_printf(c, "%*syr[0] += s;\n", ind, "");
            } else {
                cg_printf(c, "%*sfloat m = yr[0];\n", ind, "");
                cg_printf(c, "%*sfor (int k = 0; k < %lld; k++)\n", ind, "", (long long)L);
                cg_printf(c, "%*sm = xr[k] %s m ? xr[k] : m;\n", ind + 4, "", pick);
                cg_printf(c, "%*syr[0] = m;\n", ind, "");
            }
        } else {
            cg_printf(c, "%*sfor (int k = 0; k < %lld; k++)\n", ind, "", (long long)L);
            if (op == R_SUM || op == R_MEAN)
                cg_printf(c, "%*syr[k] += xr[k];\n", ind + 4, "");
            else
                cg_printf(c, "%*syr[k] = xr[k] %s yr[k] ? xr[k] : yr[k];\n", ind + 4, "", pick);
        }
        ind -= 4;
        cg_printf(c, "%*s}\n", ind, "");
    }
    if (op == R_MEAN)
        cg_printf(c, "    for (int i = 0; i < %lld; i++)\n        %s[i] = %s[i] / %s;\n",
                  (long long)y_numel, Y, Y, cg_flit(c, (float)p->count));
}

static ssdc_status emit_reduce(cg_ctx *c, const cg_node *n, red_op op)
{
    bool red[GRAPH_MAX_RANK];
    char why[200];
    reduce_axes(n, red, why, sizeof why);
    red_plan p;
    red_plan_make(&p, n->in[0], red);
    if (n->out[0]->numel == 0)
        return SSDC_OK;
    emit_reduce_plan(c, cg_in(c, n, 0), cg_out(c, n, 0), &p, n->out[0]->numel, op,
                     n->in[0]->numel == 0);
    return SSDC_OK;
}

#define REDUCE_EMITTER(sym, OP)                                                              \
    static ssdc_status emit_##sym(cg_ctx *c, const cg_node *n, ssdc_error *err)              \
    {                                                                                        \
        (void)err;                                                                           \
        return emit_reduce(c, n, OP);                                                        \
    }                                                                                        \
    const codegen_emitter codegen_emitter_##sym = {check_reduce, emit_##sym, 0};

REDUCE_EMITTER(reducesum, R_SUM)
REDUCE_EMITTER(reducemean, R_MEAN)
REDUCE_EMITTER(reducemax, R_MAX)
REDUCE_EMITTER(reducemin, R_MIN)

/* ---- global pools ---- */

static ssdc_status emit_global(cg_ctx *c, const cg_node *n, bool is_max)
{
    const graph_value *x = n->in[0];
    int64_t planes = x->dims[0] * x->dims[1];
    int64_t size = planes ? x->numel / planes : 0;
    const char *X = cg_in(c, n, 0), *Y = cg_out(c, n, 0);
    if (planes == 0)
        return SSDC_OK;
    cg_printf(c, "    for (int p = 0; p < %lld; p++) {\n", (long long)planes);
    if (is_max) {
        cg_printf(c, "        const float *xp = %s + p * %lld;\n", X, (long long)size);
        cg_printf(c, "        float m = -%s;\n", cg_math(c, CG_FN_INF));
        cg_printf(c, "        for (int k = 0; k < %lld; k++)\n", (long long)size);
        cg_printf(c, "            m = xp[k] > m ? xp[k] : m;\n");
        cg_printf(c, "        %s[p] = m;\n", Y);
    } else if (size == 0) {
        cg_printf(c, "        %s[p] = 0.0f;\n", Y);
    } else {
        char start[160];
        snprintf(start, sizeof start, "%s + p * %lld", X, (long long)size);
        cg_printf(c, "        float s;\n");
        emit_sum8(c, 8, start, size, "s");
        cg_printf(c, "        %s[p] = s / %s;\n", Y, cg_flit(c, (float)size));
    }
    cg_printf(c, "    }\n");
    return SSDC_OK;
}

static bool check_global(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (n->in[0]->rank < 2) {
        snprintf(why, size, "input of rank %d", n->in[0]->rank);
        return false;
    }
    return true;
}

static ssdc_status emit_globalaveragepool(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    return emit_global(c, n, false);
}

static ssdc_status emit_globalmaxpool(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    return emit_global(c, n, true);
}

const codegen_emitter codegen_emitter_globalaveragepool = {check_global, emit_globalaveragepool, 0};
const codegen_emitter codegen_emitter_globalmaxpool = {check_global, emit_globalmaxpool, 0};

/* ---- Softmax / LogSoftmax ---- */

static bool softmax_layout(const cg_ctx *c, const cg_node *n, int64_t *outer, int64_t *len,
                           int64_t *inner)
{
    const graph *g = cg_graph(c);
    const graph_value *x = n->in[0];
    bool legacy = g->opset > 0 && g->opset < 13;
    int64_t axis = graph_attr_int(n->node, "axis", legacy ? 1 : -1);
    if (x->rank < 1 || axis < -x->rank || axis >= x->rank)
        return false;
    int ax = (int)(axis < 0 ? axis + x->rank : axis);
    *outer = *len = *inner = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < ax)
            *outer *= x->dims[i];
        else if (i == ax || legacy)
            *len *= x->dims[i];
        else
            *inner *= x->dims[i];
    }
    return true;
}

static bool check_softmax(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    int64_t o, l, i;
    if (!softmax_layout(c, n, &o, &l, &i)) {
        snprintf(why, size, "axis out of range");
        return false;
    }
    return true;
}

static ssdc_status emit_softmax_kind(cg_ctx *c, const cg_node *n, bool log_out)
{
    int64_t outer = 0, len = 0, inner = 0;
    softmax_layout(c, n, &outer, &len, &inner);
    const char *X = cg_in(c, n, 0), *Y = cg_out(c, n, 0);
    if (outer * len * inner == 0)
        return SSDC_OK;
    const char *ex = cg_math(c, CG_FN_EXPF);
    const char *lg = log_out ? cg_math(c, CG_FN_LOGF) : "";
    const char *inf = cg_math(c, CG_FN_INF);
    if (inner == 1) {
        cg_printf(c, "    for (int o = 0; o < %lld; o++) {\n", (long long)outer);
        cg_printf(c, "        const float *xr = %s + o * %lld;\n", X, (long long)len);
        cg_printf(c, "        float *yr = %s + o * %lld;\n", Y, (long long)len);
        cg_printf(c, "        float m = -%s, s;\n", inf);
        cg_printf(c, "        for (int k = 0; k < %lld; k++)\n", (long long)len);
        cg_printf(c, "            m = xr[k] > m ? xr[k] : m;\n");
        cg_printf(c, "        for (int k = 0; k < %lld; k++)\n", (long long)len);
        cg_printf(c, "            yr[k] = %s(xr[k] - m);\n", ex);
        emit_sum8(c, 8, "yr", len, "s");
        if (log_out) {
            cg_printf(c, "        s = %s(s);\n", lg);
            cg_printf(c, "        for (int k = 0; k < %lld; k++)\n", (long long)len);
            cg_printf(c, "            yr[k] = (xr[k] - m) - s;\n");
        } else {
            cg_printf(c, "        s = 1.0f / s;\n");
            cg_printf(c, "        for (int k = 0; k < %lld; k++)\n", (long long)len);
            cg_printf(c, "            yr[k] *= s;\n");
        }
        cg_printf(c, "    }\n");
        return SSDC_OK;
    }
    cg_printf(c, "    for (int o = 0; o < %lld; o++)\n", (long long)outer);
    cg_printf(c, "        for (int j = 0; j < %lld; j++) {\n", (long long)inner);
    cg_printf(c, "            const float *xr = %s + o * %lld + j;\n", X, (long long)(len * inner));
    cg_printf(c, "            float *yr = %s + o * %lld + j;\n", Y, (long long)(len * inner));
    cg_printf(c, "            float m = -%s, s = 0.0f;\n", inf);
    cg_printf(c, "            for (int k = 0; k < %lld; k++)\n", (long long)len);
    cg_printf(c, "                m = xr[k * %lld] > m ? xr[k * %lld] : m;\n", (long long)inner,
              (long long)inner);
    cg_printf(c, "            for (int k = 0; k < %lld; k++) {\n", (long long)len);
    cg_printf(c, "                const float e = %s(xr[k * %lld] - m);\n", ex, (long long)inner);
    cg_printf(c, "                yr[k * %lld] = e;\n                s += e;\n            }\n",
              (long long)inner);
    if (log_out) {
        cg_printf(c, "            s = %s(s);\n", lg);
        cg_printf(c, "            for (int k = 0; k < %lld; k++)\n", (long long)len);
        cg_printf(c, "                yr[k * %lld] = (xr[k * %lld] - m) - s;\n", (long long)inner,
                  (long long)inner);
    } else {
        cg_printf(c, "            s = 1.0f / s;\n");
        cg_printf(c, "            for (int k = 0; k < %lld; k++)\n", (long long)len);
        cg_printf(c, "                yr[k * %lld] *= s;\n", (long long)inner);
    }
    cg_printf(c, "        }\n");
    return SSDC_OK;
}

static ssdc_status emit_softmax(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    return emit_softmax_kind(c, n, false);
}

static ssdc_status emit_logsoftmax(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    return emit_softmax_kind(c, n, true);
}

const codegen_emitter codegen_emitter_softmax = {check_softmax, emit_softmax, 0};
const codegen_emitter codegen_emitter_logsoftmax = {check_softmax, emit_logsoftmax, 0};

/* ---- BatchNormalization (inference form) ---- */

static bool check_bn(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    if (graph_attr_int(n->node, "training_mode", 0) != 0) {
        snprintf(why, size, "training_mode = 1 (batch statistics) has no inference code");
        return false;
    }
    for (int o = 1; o < n->n_out; o++)
        if (n->out[o]) {
            snprintf(why, size, "output %d (running statistics) is used", o);
            return false;
        }
    const graph_value *x = n->in[0];
    if (n->n_in < 5 || x->rank < 2) {
        snprintf(why, size, "needs X of rank >= 2 and four parameters");
        return false;
    }
    for (int i = 1; i < 5; i++)
        if (!n->in[i] || n->in[i]->numel != x->dims[1]) {
            snprintf(why, size, "parameter %d must have one value per channel", i);
            return false;
        }
    return true;
}

static ssdc_status emit_bn(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    const graph_value *x = n->in[0];
    int64_t batch = x->dims[0], chans = x->dims[1];
    int64_t size = batch * chans != 0 ? x->numel / (batch * chans) : 0;
    float eps = graph_attr_float(n->node, "epsilon", 1e-5f);
    const char *X = cg_in(c, n, 0), *Y = cg_out(c, n, 0);
    bool all_const = true;
    for (int i = 1; i < 5; i++)
        all_const = all_const && n->in_const[i];
    if (x->numel == 0)
        return SSDC_OK;
    const char *A, *B;
    if (all_const) {
        /* the runtime's per-channel a and b, computed now in the same float steps */
        float *ab = malloc((size_t)(2 * chans) * sizeof *ab);
        if (!ab)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        const float *scale = n->in[1]->data, *bias = n->in[2]->data;
        const float *mean = n->in[3]->data, *var = n->in[4]->data;
        for (int64_t ch = 0; ch < chans; ch++) {
            float a = scale[ch] / sqrtf(var[ch] + eps);
            ab[ch] = a;
            ab[chans + ch] = bias[ch] - mean[ch] * a;
        }
        A = cg_add_const(c, "bn_scale", ab, chans);
        B = cg_add_const(c, "bn_shift", ab + chans, chans);
        free(ab);
        cg_printf(c, "    for (int ch = 0; ch < %lld; ch++) {\n", (long long)chans);
        cg_printf(c, "        const float a = %s[ch], b = %s[ch];\n", A, B);
    } else {
        cg_printf(c, "    for (int ch = 0; ch < %lld; ch++) {\n", (long long)chans);
        cg_printf(c, "        const float a = %s[ch] / %s(%s[ch] + %s);\n", cg_in(c, n, 1),
                  cg_math(c, CG_FN_SQRTF), cg_in(c, n, 4), cg_flit(c, eps));
        cg_printf(c, "        const float b = %s[ch] - %s[ch] * a;\n", cg_in(c, n, 2),
                  cg_in(c, n, 3));
    }
    cg_printf(c, "        for (int nb = 0; nb < %lld; nb++) {\n", (long long)batch);
    cg_printf(c, "            const float *xp = %s + (nb * %lld + ch) * %lld;\n", X,
              (long long)chans, (long long)size);
    cg_printf(c, "            float *yp = %s + (nb * %lld + ch) * %lld;\n", Y, (long long)chans,
              (long long)size);
    cg_printf(c, "            for (int i = 0; i < %lld; i++)\n", (long long)size);
    cg_printf(c, "                yp[i] = xp[i] * a + b;\n");
    cg_printf(c, "        }\n    }\n");
    return SSDC_OK;
}
const codegen_emitter codegen_emitter_batchnormalization = {check_bn, emit_bn, CG_INPLACE};

/* ---- ArgMax / ArgMin (int64 indices) ---- */

static bool check_arg(const cg_ctx *c, const cg_node *n, char *why, size_t size)
{
    (void)c;
    graph_dtype dt = n->in[0]->dtype;
    if (dt != GRAPH_DT_FLOAT && dt != GRAPH_DT_DOUBLE && dt != GRAPH_DT_INT32 &&
        dt != GRAPH_DT_INT64) {
        snprintf(why, size, "dtype %s", graph_dtype_name(dt));
        return false;
    }
    int r = n->in[0]->rank;
    int64_t axis = graph_attr_int(n->node, "axis", 0);
    if (axis < -r || axis >= r || n->in[0]->dims[axis < 0 ? axis + r : axis] == 0) {
        snprintf(why, size, "axis %lld of rank %d (or of length 0)", (long long)axis, r);
        return false;
    }
    return true;
}

/* The first best index (the last with select_last_index), as the runtime. */
static ssdc_status emit_arg(cg_ctx *c, const cg_node *n, bool is_max)
{
    const graph_value *x = n->in[0];
    int r = x->rank;
    int64_t axis = graph_attr_int(n->node, "axis", 0);
    int a = (int)(axis < 0 ? axis + r : axis);
    bool last = graph_attr_int(n->node, "select_last_index", 0) != 0;
    int64_t outer = cg_prod(x->dims, 0, a), ad = x->dims[a], inner = cg_prod(x->dims, a + 1, r);
    const char *X = cg_in(c, n, 0), *Y = cg_out(c, n, 0), *T = cg_ctype(x->dtype);
    if (outer * inner == 0)
        return SSDC_OK;
    const char *op = is_max ? ">" : "<";
    cg_printf(c, "    for (int o = 0; o < %lld; o++)\n", (long long)outer);
    cg_printf(c, "        for (int j = 0; j < %lld; j++) {\n", (long long)inner);
    cg_printf(c, "            const %s *xr = %s + o * %lld + j;\n", T, X, (long long)(ad * inner));
    cg_printf(c, "            %s best = xr[0];\n            int64_t bi = 0;\n", T);
    cg_printf(c, "            for (int k = 1; k < %lld; k++) {\n", (long long)ad);
    cg_printf(c, "                const %s v = xr[k * %lld];\n", T, (long long)inner);
    if (last)
        cg_printf(c, "                if (v %s best || v == best) {\n", op);
    else
        cg_printf(c, "                if (v %s best) {\n", op);
    cg_printf(c, "                    best = v;\n                    bi = k;\n                }\n");
    cg_printf(c, "            }\n");
    cg_printf(c, "            %s[o * %lld + j] = bi;\n        }\n", Y, (long long)inner);
    return SSDC_OK;
}

static ssdc_status emit_argmax(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    return emit_arg(c, n, true);
}

static ssdc_status emit_argmin(cg_ctx *c, const cg_node *n, ssdc_error *err)
{
    (void)err;
    return emit_arg(c, n, false);
}

const codegen_emitter codegen_emitter_argmax = {check_arg, emit_argmax, CG_TYPED};
const codegen_emitter codegen_emitter_argmin = {check_arg, emit_argmin, CG_TYPED};
