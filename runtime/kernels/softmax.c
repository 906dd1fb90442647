/* Softmax and LogSoftmax forward, numerically stable (the maximum is
 * subtracted before exp).  Opset < 13 normalises the flattened trailing block
 * from axis on (default 1); opset 13+ the single axis (default -1).  When the
 * axis is not innermost, whole rows of the inner block are processed at once
 * with the running max and sum in scratch, so memory is read contiguously. */
#include "runtime/kernel.h"

#include <math.h>
#include <string.h>

typedef struct {
    int64_t outer, len, inner;
} softmax_dims;

static bool softmax_layout(const graph_value *x, int64_t axis, bool legacy, softmax_dims *d)
{
    if (x->rank < 1 || axis < -x->rank || axis >= x->rank)
        return false;
    int ax = (int)(axis < 0 ? axis + x->rank : axis);
    d->outer = d->len = d->inner = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < ax)
            d->outer *= x->dims[i];
        else if (i == ax || legacy)
            d->len *= x->dims[i];
        else
            d->inner *= x->dims[i];
    }
    return true;
}

static size_t softmax_scratch(const graph_node *node, const graph_value *in, int n_in,
                              const graph_value *out, int n_out)
{
    /* Without an axis attribute the normalised block is innermost in every
     * opset; with one, size for the opset 13 layout (an upper bound). */
    if (!graph_node_attr(node, "axis"))
        return 0;
    softmax_dims d;
    if (!softmax_layout(&in[0], graph_attr_int(node, "axis", -1), false, &d) || d.inner == 1)
        return 0;
    return 2 * (size_t)d.inner * sizeof(float);
}

static void softmax_row(const float *x, float *y, int64_t n, bool log_out)
{
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        m = x[i] > m ? x[i] : m;
    float sum = 0.0f;
    if (log_out) {
        for (int64_t i = 0; i < n; i++)
            sum += expf(x[i] - m);
        const float lse = logf(sum);
        for (int64_t i = 0; i < n; i++)
            y[i] = (x[i] - m) - lse;
    } else {
        for (int64_t i = 0; i < n; i++) {
            float e = expf(x[i] - m);
            y[i] = e;
            sum += e;
        }
        const float inv = 1.0f / sum;
        for (int64_t i = 0; i < n; i++)
            y[i] *= inv;
    }
}

/* One [len, inner] block normalised along len; mx and sum hold inner floats. */
static void softmax_block(const float *x, float *y, int64_t len, int64_t inner, bool log_out,
                          float *mx, float *sum)
{
    memcpy(mx, x, (size_t)inner * sizeof *mx);
    for (int64_t l = 1; l < len; l++) {
        const float *xl = x + l * inner;
        for (int64_t j = 0; j < inner; j++)
            mx[j] = xl[j] > mx[j] ? xl[j] : mx[j];
    }
    memset(sum, 0, (size_t)inner * sizeof *sum);
    for (int64_t l = 0; l < len; l++) {
        const float *xl = x + l * inner;
        float *yl = y + l * inner;
        for (int64_t j = 0; j < inner; j++) {
            float e = expf(xl[j] - mx[j]);
            if (!log_out)
                yl[j] = e;
            sum[j] += e;
        }
    }
    for (int64_t j = 0; j < inner; j++)
        sum[j] = log_out ? logf(sum[j]) : 1.0f / sum[j];
    for (int64_t l = 0; l < len; l++) {
        const float *xl = x + l * inner;
        float *yl = y + l * inner;
        if (log_out)
            for (int64_t j = 0; j < inner; j++)
                yl[j] = (xl[j] - mx[j]) - sum[j];
        else
            for (int64_t j = 0; j < inner; j++)
                yl[j] *= sum[j];
    }
}

static ssdc_status softmax_run(const rt_kernel_ctx *ctx, const graph_value *in,
                               graph_value *out, bool log_out, ssdc_error *err)
{
    const graph_value *x = &in[0];
    if (x->dtype != GRAPH_DT_FLOAT || out[0].dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "only float tensors are supported (input is %s)",
                              graph_dtype_name(x->dtype));
    if (out[0].numel != x->numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "output has %lld elements, expected %lld",
                              (long long)out[0].numel, (long long)x->numel);
    bool legacy = ctx->g && ctx->g->opset > 0 && ctx->g->opset < 13;
    int64_t axis = graph_attr_int(ctx->node, "axis", legacy ? 1 : -1);
    softmax_dims d;
    if (!softmax_layout(x, axis, legacy, &d))
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %lld is out of range for rank %d",
                              (long long)axis, x->rank);
    if (x->numel == 0)
        return SSDC_OK;
    const float *xd = x->data;
    float *y = out[0].data;
    if (d.inner == 1) {
        for (int64_t o = 0; o < d.outer; o++)
            softmax_row(xd + o * d.len, y + o * d.len, d.len, log_out);
        return SSDC_OK;
    }
    size_t need = 2 * (size_t)d.inner * sizeof(float);
    if (ctx->scratch_bytes < need)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "scratch of %zu bytes, need %zu",
                              ctx->scratch_bytes, need);
    float *mx = ctx->scratch, *sum = mx + d.inner;
    for (int64_t o = 0; o < d.outer; o++)
        softmax_block(xd + o * d.len * d.inner, y + o * d.len * d.inner, d.len, d.inner, log_out,
                      mx, sum);
    return SSDC_OK;
}

static ssdc_status softmax_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                   graph_value *out, int n_out, ssdc_error *err)
{
    return softmax_run(ctx, in, out, false, err);
}

static ssdc_status logsoftmax_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                      graph_value *out, int n_out, ssdc_error *err)
{
    return softmax_run(ctx, in, out, true, err);
}

const rt_kernel rt_kernel_softmax = {
    .forward = softmax_forward,
    .scratch = softmax_scratch,
};

const rt_kernel rt_kernel_logsoftmax = {
    .forward = logsoftmax_forward,
    .scratch = softmax_scratch,
};
