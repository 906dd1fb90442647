/* Kernels of ssdc's integer ops (docs/int8.md, "ssdc's integer ops";
 * schemas in graph/ops/qint.c): QConv, QGemm, QAdd, QAvgPool, QLut.  Integer
 * only, the fixed point of graph/qmath.h (TFLM's rounding), so the results
 * are those of TFLite Micro's reference kernels bit for bit.
 *
 * Accumulators are int32: a node whose worst-case sum (terms * 255 * 128)
 * does not fit is refused rather than overflowing; the bias is added with
 * saturation.  QConv accumulates one output channel at a time in scratch,
 * tap by tap over the output positions whose input is inside the tensor, so
 * a padded position contributes nothing (x = x_zero_point). */
#include "runtime/kernel.h"
#include "graph/ops/window.h"
#include "graph/qmath.h"

#include <stdio.h>
#include <string.h>

/* |x - x_zero_point| * |w| per term, at most. */
#define QINT_TERM_MAX (255 * 128)

static bool qint_present(const graph_value *in, int n_in, int i)
{
    return i < n_in && in[i].dtype != GRAPH_DT_UNDEFINED && in[i].data;
}

static int32_t qint_sat32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* y_zp + qmath_mul(acc, m, s) clamped to [lo, hi]. */
static int8_t qint_requant(int32_t acc, int32_t m, int s, int32_t yzp, int32_t lo, int32_t hi)
{
    int64_t v = (int64_t)yzp + qmath_mul(acc, m, s);
    return (int8_t)qmath_clamp(qint_sat32(v), lo, hi);
}

/* Attributes shared by QConv and QGemm. */
typedef struct {
    int32_t xzp, yzp, lo, hi;
} qint_act;

static ssdc_status qint_act_read(const graph_node *node, qint_act *a, char *msg, size_t size)
{
    int64_t xzp = graph_attr_int(node, "x_zero_point", 0);
    int64_t yzp = graph_attr_int(node, "y_zero_point", 0);
    int64_t lo = graph_attr_int(node, "act_min", -128), hi = graph_attr_int(node, "act_max", 127);
    if (xzp < -128 || xzp > 127 || yzp < -128 || yzp > 127 || lo < -128 || hi > 127 || lo > hi) {
        snprintf(msg, size,
                 "x_zero_point %lld, y_zero_point %lld, act_min %lld, act_max %lld: expected "
                 "values in [-128, 127] with act_min <= act_max",
                 (long long)xzp, (long long)yzp, (long long)lo, (long long)hi);
        return SSDC_ERR_INVALID;
    }
    a->xzp = (int32_t)xzp;
    a->yzp = (int32_t)yzp;
    a->lo = (int32_t)lo;
    a->hi = (int32_t)hi;
    return SSDC_OK;
}

/* Multiplier/shift tensors M (input im), S (input is) of 1 or n entries and
 * an optional bias (input ib, -1 none) of n; terms per sum must keep the
 * int32 accumulator exact. */
typedef struct {
    const int32_t *b, *m, *s;
    bool m_per, s_per;
} qint_requant_params;

static ssdc_status qint_params_read(const graph_value *in, int n_in, int64_t n, int64_t terms,
                                    qint_requant_params *p, char *msg, size_t size)
{
    memset(p, 0, sizeof *p);
    if (n_in < 5 || in[3].dtype != GRAPH_DT_INT32 || in[4].dtype != GRAPH_DT_INT32 ||
        (qint_present(in, n_in, 2) && in[2].dtype != GRAPH_DT_INT32)) {
        snprintf(msg, size, "B, M and S must be int32 tensors");
        return SSDC_ERR_UNSUPPORTED;
    }
    if (qint_present(in, n_in, 2)) {
        if (in[2].numel != n) {
            snprintf(msg, size, "B has %lld elements, expected %lld", (long long)in[2].numel,
                     (long long)n);
            return SSDC_ERR_SHAPE;
        }
        p->b = in[2].data;
    }
    for (int i = 3; i < 5; i++)
        if (in[i].numel != 1 && in[i].numel != n) {
            snprintf(msg, size, "%s has %lld elements, expected 1 or %lld", i == 3 ? "M" : "S",
                     (long long)in[i].numel, (long long)n);
            return SSDC_ERR_SHAPE;
        }
    p->m = in[3].data;
    p->s = in[4].data;
    p->m_per = in[3].numel != 1;
    p->s_per = in[4].numel != 1;
    for (int64_t c = 0; c < in[3].numel; c++)
        if (p->m[c] < 0) {
            snprintf(msg, size, "M[%lld] is %d, expected >= 0", (long long)c, p->m[c]);
            return SSDC_ERR_INVALID;
        }
    for (int64_t c = 0; c < in[4].numel; c++)
        if (p->s[c] < -31 || p->s[c] > 30) {
            snprintf(msg, size, "S[%lld] is %d, expected a shift in [-31, 30]", (long long)c,
                     p->s[c]);
            return SSDC_ERR_INVALID;
        }
    if (terms > INT32_MAX / QINT_TERM_MAX) {
        snprintf(msg, size, "%lld products per output may overflow the int32 accumulator",
                 (long long)terms);
        return SSDC_ERR_UNSUPPORTED;
    }
    return SSDC_OK;
}

/* The output of channel c from its sum of products. */
static int8_t qint_channel_out(const qint_requant_params *p, const qint_act *a, int64_t c,
                               int32_t sum)
{
    int32_t acc = p->b ? qint_sat32((int64_t)p->b[c] + sum) : sum;
    return qint_requant(acc, p->m[p->m_per ? c : 0], p->s[p->s_per ? c : 0], a->yzp, a->lo,
                        a->hi);
}

/* ---- QConv ---- */

typedef struct {
    graph_window3 w;
    int64_t batch, chans, m, group, cpg, mpg;
    qint_act act;
    qint_requant_params rq;
} qconv_plan;

static ssdc_status qconv_plan_make(const graph_node *node, const graph_value *in, int n_in,
                                   const graph_value *out, int n_out, qconv_plan *p, char *msg,
                                   size_t size)
{
    memset(p, 0, sizeof *p);
    const graph_value *x = &in[0], *wt = &in[1];
    if (n_in < 5 || x->dtype != GRAPH_DT_INT8 || wt->dtype != GRAPH_DT_INT8 || n_out < 1 ||
        out[0].dtype != GRAPH_DT_INT8) {
        snprintf(msg, size, "X, W and Y must be int8 (X is %s, W is %s)",
                 graph_dtype_name(x->dtype), graph_dtype_name(wt->dtype));
        return SSDC_ERR_UNSUPPORTED;
    }
    int n = x->rank - 2;
    if (n < 1 || n > GRAPH_WINDOW_MAX_SPATIAL || wt->rank != x->rank || out[0].rank != x->rank) {
        snprintf(msg, size, "X has rank %d and W rank %d, expected equal ranks 3 to %d", x->rank,
                 wt->rank, GRAPH_WINDOW_MAX_SPATIAL + 2);
        return SSDC_ERR_SHAPE;
    }
    p->batch = x->dims[0];
    p->chans = x->dims[1];
    p->m = wt->dims[0];
    p->cpg = wt->dims[1];
    p->group = graph_attr_int(node, "group", 1);
    if (p->group < 1 || p->m % p->group || p->cpg * p->group != p->chans) {
        snprintf(msg, size,
                 "W has %lld output and %lld input channels per group, X has %lld channels, "
                 "group %lld",
                 (long long)p->m, (long long)p->cpg, (long long)p->chans, (long long)p->group);
        return SSDC_ERR_SHAPE;
    }
    p->mpg = p->m / p->group;
    graph_window win;
    ssdc_status st = graph_window_resolve(node, n, x->dims + 2, wt->dims + 2, true, &win, msg, size);
    if (st)
        return st;
    if (out[0].dims[0] != p->batch || out[0].dims[1] != p->m) {
        snprintf(msg, size, "output has the wrong shape");
        return SSDC_ERR_SHAPE;
    }
    for (int d = 0; d < n; d++)
        if (out[0].dims[2 + d] != win.out[d]) {
            snprintf(msg, size, "output spatial dimension %d is %lld, expected %lld", d,
                     (long long)out[0].dims[2 + d], (long long)win.out[d]);
            return SSDC_ERR_SHAPE;
        }
    graph_window_to3(&win, &p->w);
    if ((st = qint_act_read(node, &p->act, msg, size)))
        return st;
    return qint_params_read(in, n_in, p->m, p->cpg * p->w.kernel_size, &p->rq, msg, size);
}

static size_t qconv_scratch(const graph_node *node, const graph_value *in, int n_in,
                            const graph_value *out, int n_out)
{
    qconv_plan p;
    char msg[256];
    if (qconv_plan_make(node, in, n_in, out, n_out, &p, msg, sizeof msg))
        return 0;
    return (size_t)p.w.out_size * sizeof(int32_t);
}

/* acc[o] += w * (x[o's tap] - xzp) over every tap of one input channel
 * plane xc (weights wc), for the output positions whose tap is inside. */
static void qconv_channel(const int8_t *xc, const int8_t *wc, int32_t xzp,
                          const graph_window3 *w, int32_t *acc)
{
    const int64_t ih_n = w->in[1], iw_n = w->in[2], oh_n = w->out[1], ow_n = w->out[2];
    const int64_t sw = w->stride[2];
    for (int64_t kd = 0; kd < w->kernel[0]; kd++) {
        int64_t off_d = kd * w->dilation[0] - w->pad_begin[0], lo_d, hi_d;
        graph_window_tap_range(w->out[0], w->stride[0], off_d, 0, w->in[0], &lo_d, &hi_d);
        for (int64_t kh = 0; kh < w->kernel[1]; kh++) {
            int64_t off_h = kh * w->dilation[1] - w->pad_begin[1], lo_h, hi_h;
            graph_window_tap_range(oh_n, w->stride[1], off_h, 0, ih_n, &lo_h, &hi_h);
            for (int64_t kw = 0; kw < w->kernel[2]; kw++) {
                int64_t off_w = kw * w->dilation[2] - w->pad_begin[2], lo, hi;
                graph_window_tap_range(ow_n, sw, off_w, 0, iw_n, &lo, &hi);
                const int32_t wv = wc[(kd * w->kernel[1] + kh) * w->kernel[2] + kw];
                if (wv == 0)
                    continue;
                for (int64_t od = lo_d; od < hi_d; od++) {
                    int64_t id = od * w->stride[0] + off_d;
                    for (int64_t oh = lo_h; oh < hi_h; oh++) {
                        int64_t ih = oh * w->stride[1] + off_h;
                        const int64_t row = (id * ih_n + ih) * iw_n + off_w;
                        int32_t *dst = acc + (od * oh_n + oh) * ow_n;
                        for (int64_t ow = lo; ow < hi; ow++)
                            dst[ow] += wv * ((int32_t)xc[row + ow * sw] - xzp);
                    }
                }
            }
        }
    }
}

static ssdc_status qconv_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    qconv_plan p;
    char msg[512];
    ssdc_status st = qconv_plan_make(ctx->node, in, n_in, out, n_out, &p, msg, sizeof msg);
    if (st)
        return rt_kernel_fail(ctx, err, st, "%s", msg);
    const graph_window3 *w = &p.w;
    if (out[0].numel == 0)
        return SSDC_OK;
    size_t need = (size_t)w->out_size * sizeof(int32_t);
    if (ctx->scratch_bytes < need || !ctx->scratch)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "scratch of %zu bytes, need %zu for the accumulators",
                              ctx->scratch_bytes, need);
    const int8_t *x = in[0].data, *wt = in[1].data;
    int8_t *y = out[0].data;
    int32_t *acc = ctx->scratch;
    const int64_t ck = p.cpg * w->kernel_size;
    for (int64_t n = 0; n < p.batch; n++)
        for (int64_t m = 0; m < p.m; m++) {
            const int8_t *xg = x + (n * p.chans + (m / p.mpg) * p.cpg) * w->in_size;
            memset(acc, 0, need);
            for (int64_t c = 0; c < p.cpg; c++)
                qconv_channel(xg + c * w->in_size, wt + m * ck + c * w->kernel_size, p.act.xzp,
                              w, acc);
            int8_t *ym = y + (n * p.m + m) * w->out_size;
            for (int64_t i = 0; i < w->out_size; i++)
                ym[i] = qint_channel_out(&p.rq, &p.act, m, acc[i]);
        }
    return SSDC_OK;
}

const rt_kernel rt_kernel_qconv = {
    .forward = qconv_forward,
    .scratch = qconv_scratch,
};

/* ---- QGemm ---- */

static ssdc_status qgemm_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    const graph_value *a = &in[0], *wt = &in[1];
    if (n_in < 5 || n_out < 1 || a->dtype != GRAPH_DT_INT8 || wt->dtype != GRAPH_DT_INT8 ||
        out[0].dtype != GRAPH_DT_INT8)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "A, W and Y must be int8 (A is %s, W is %s)",
                              graph_dtype_name(a->dtype), graph_dtype_name(wt->dtype));
    if (a->rank != 2 || wt->rank != 2 || a->dims[1] != wt->dims[1] || out[0].rank != 2 ||
        out[0].dims[0] != a->dims[0] || out[0].dims[1] != wt->dims[0])
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "A [M, K], W [N, K] and Y [M, N] do not match");
    const int64_t rows = a->dims[0], k = a->dims[1], n = wt->dims[0];
    char msg[256];
    qint_act act;
    qint_requant_params rq;
    ssdc_status st;
    if ((st = qint_act_read(ctx->node, &act, msg, sizeof msg)) ||
        (st = qint_params_read(in, n_in, n, k, &rq, msg, sizeof msg)))
        return rt_kernel_fail(ctx, err, st, "%s", msg);
    const int8_t *av = a->data, *wv = wt->data;
    int8_t *y = out[0].data;
    for (int64_t i = 0; i < rows; i++) {
        const int8_t *ai = av + i * k;
        for (int64_t j = 0; j < n; j++) {
            const int8_t *wj = wv + j * k;
            int32_t sum = 0;
            for (int64_t t = 0; t < k; t++)
                sum += ((int32_t)ai[t] - act.xzp) * (int32_t)wj[t];
            y[i * n + j] = qint_channel_out(&rq, &act, j, sum);
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_qgemm = {
    .forward = qgemm_forward,
};

/* ---- QAdd ---- */

typedef struct {
    int32_t zp, m;
    int s;
} qadd_side;

static ssdc_status qadd_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    const graph_node *node = ctx->node;
    if (n_in < 2 || n_out < 1 || in[0].dtype != GRAPH_DT_INT8 || in[1].dtype != GRAPH_DT_INT8 ||
        out[0].dtype != GRAPH_DT_INT8)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "A, B and Y must be int8");
    if (out[0].numel != in[0].numel || (in[1].numel != 1 && in[1].numel != in[0].numel))
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "A has %lld elements, B %lld (expected the same or 1), Y %lld",
                              (long long)in[0].numel, (long long)in[1].numel,
                              (long long)out[0].numel);
    static const char *const names[3][3] = {
        {"a_zero_point", "a_multiplier", "a_shift"},
        {"b_zero_point", "b_multiplier", "b_shift"},
        {"y_zero_point", "y_multiplier", "y_shift"},
    };
    qadd_side sd[3];
    for (int i = 0; i < 3; i++) {
        int64_t zp = graph_attr_int(node, names[i][0], 0);
        int64_t m = graph_attr_int(node, names[i][1], 0);
        int64_t s = graph_attr_int(node, names[i][2], 0);
        if (zp < -128 || zp > 127 || m < 0 || m > INT32_MAX || s < -31 || s > 30)
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "%s %lld, %s %lld, %s %lld: expected [-128, 127], "
                                  "[0, 2^31) and [-31, 30]",
                                  names[i][0], (long long)zp, names[i][1], (long long)m,
                                  names[i][2], (long long)s);
        sd[i].zp = (int32_t)zp;
        sd[i].m = (int32_t)m;
        sd[i].s = (int)s;
    }
    int64_t ls = graph_attr_int(node, "left_shift", 20);
    int64_t lo = graph_attr_int(node, "act_min", -128), hi = graph_attr_int(node, "act_max", 127);
    /* (x - zp) * 2^left_shift must fit int32: 255 * 2^23 does */
    if (ls < 0 || ls > 23 || lo < -128 || hi > 127 || lo > hi)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "left_shift %lld (expected [0, 23]), act_min %lld, act_max %lld "
                              "(expected [-128, 127], act_min <= act_max)",
                              (long long)ls, (long long)lo, (long long)hi);
    const int8_t *a = in[0].data, *b = in[1].data;
    int8_t *y = out[0].data;
    const bool b_one = in[1].numel == 1;
    const int32_t scale = (int32_t)1 << ls;
    for (int64_t i = 0; i < in[0].numel; i++) {
        int32_t av = ((int32_t)a[i] - sd[0].zp) * scale;
        int32_t bv = ((int32_t)b[b_one ? 0 : i] - sd[1].zp) * scale;
        int64_t sum = (int64_t)qmath_mul(av, sd[0].m, sd[0].s) + qmath_mul(bv, sd[1].m, sd[1].s);
        y[i] = qint_requant(qint_sat32(sum), sd[2].m, sd[2].s, sd[2].zp, (int32_t)lo,
                            (int32_t)hi);
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_qadd = {
    .forward = qadd_forward,
};

/* ---- QAvgPool ---- */

static ssdc_status qavgpool_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                    graph_value *out, int n_out, ssdc_error *err)
{
    const graph_node *node = ctx->node;
    const graph_value *x = &in[0];
    if (n_in < 1 || n_out < 1 || x->dtype != GRAPH_DT_INT8 || out[0].dtype != GRAPH_DT_INT8)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "X and Y must be int8");
    if (x->rank < 3)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "X has rank %d, expected at least 3",
                              x->rank);
    const int64_t planes = x->dims[0] * x->dims[1];
    const int64_t count = planes ? x->numel / planes : 0;
    if (out[0].numel != planes)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "Y has %lld elements, expected %lld",
                              (long long)out[0].numel, (long long)planes);
    if (count > INT32_MAX / 255)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "%lld elements per mean may overflow the int32 sum",
                              (long long)count);
    int64_t xzp = graph_attr_int(node, "x_zero_point", 0);
    int64_t yzp = graph_attr_int(node, "y_zero_point", 0);
    int64_t m = graph_attr_int(node, "multiplier", 0), s = graph_attr_int(node, "shift", 0);
    int64_t lo = graph_attr_int(node, "act_min", -128), hi = graph_attr_int(node, "act_max", 127);
    if (xzp < -128 || xzp > 127 || yzp < -128 || yzp > 127 || m < 0 || m > INT32_MAX ||
        s < -31 || s > 30 || lo < -128 || hi > 127 || lo > hi)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "x_zero_point %lld, y_zero_point %lld, multiplier %lld, shift "
                              "%lld, act_min %lld, act_max %lld out of range",
                              (long long)xzp, (long long)yzp, (long long)m, (long long)s,
                              (long long)lo, (long long)hi);
    const int8_t *xv = x->data;
    int8_t *y = out[0].data;
    for (int64_t p = 0; p < planes; p++) {
        const int8_t *xp = xv + p * count;
        int32_t sum = 0;
        for (int64_t i = 0; i < count; i++)
            sum += (int32_t)xp[i] - (int32_t)xzp;
        y[p] = qint_requant(sum, (int32_t)m, (int)s, (int32_t)yzp, (int32_t)lo, (int32_t)hi);
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_qavgpool = {
    .forward = qavgpool_forward,
};

/* ---- QLut ---- */

static ssdc_status qlut_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                graph_value *out, int n_out, ssdc_error *err)
{
    if (n_in < 2 || n_out < 1 || in[0].dtype != GRAPH_DT_INT8 || in[1].dtype != GRAPH_DT_INT8 ||
        out[0].dtype != GRAPH_DT_INT8)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "X, T and Y must be int8");
    if (in[1].numel != 256 || out[0].numel != in[0].numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "T has %lld elements, expected 256 (Y %lld, X %lld)",
                              (long long)in[1].numel, (long long)out[0].numel,
                              (long long)in[0].numel);
    const int8_t *x = in[0].data, *t = in[1].data;
    int8_t *y = out[0].data;
    /* in place allowed (rt_kernel_caps): element i is read before it is written */
    for (int64_t i = 0; i < in[0].numel; i++)
        y[i] = t[(int32_t)x[i] + 128];
    return SSDC_OK;
}

const rt_kernel rt_kernel_qlut = {
    .forward = qlut_forward,
};
