/* Softmax and LogSoftmax forward, numerically stable (the maximum is
 * subtracted before exp).  Opset < 13 normalises the flattened trailing block
 * from axis on (default 1); opset 13+ the single axis (default -1).  When the
 * axis is not innermost, whole rows of the inner block are processed at once
 * with the running max and sum in scratch, so memory is read contiguously. */
#include "runtime/kernel.h"

#include <math.h>
#include <stdint.h>
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

/* exp(x) for x <= 0 (softmax arguments are x - max), written so loops over it
 * vectorise: x = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite split of ln2),
 * exp(r) by the Cephes polynomial (about 1 ulp), 2^n through the exponent
 * bits.  Below -87.33 (where exp is subnormal) the result is 0.  The clamp
 * compares bit patterns as integers (for negative floats a larger magnitude
 * is a larger pattern): a floating-point compare would keep GCC from
 * vectorising under the default -ftrapping-math. */
static inline float softmax_exp(float x)
{
    const uint32_t lo_bits = 0xc2aeac4fu; /* -87.33654f */
    uint32_t ux;
    memcpy(&ux, &x, sizeof ux);
    const uint32_t keep = ux > lo_bits ? 0u : ~0u;
    ux = ux > lo_bits ? lo_bits : ux;
    float xc;
    memcpy(&xc, &ux, sizeof xc);
    /* round to nearest with the 1.5 * 2^23 trick (exact for |v| < 2^22) */
    float t = xc * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n from t's bits (t = 1.5 * 2^23 + n, so its mantissa holds n): integer
     * arithmetic only, since (int32_t)n is undefined when x is NaN */
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    int32_t bits = (int32_t)((tb - 0x4B400000u + 127u) << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = p * scale;
    uint32_t ue;
    memcpy(&ue, &e, sizeof ue);
    ue &= keep;
    memcpy(&e, &ue, sizeof e);
    return e;
}

static float softmax_max(const float *x, int64_t n)
{
    float m[8];
    int64_t i = 0;
    for (int j = 0; j < 8; j++)
        m[j] = -INFINITY;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    for (; i < n; i++)
        m[0] = x[i] > m[0] ? x[i] : m[0];
    for (int j = 1; j < 8; j++)
        m[0] = m[j] > m[0] ? m[j] : m[0];
    return m[0];
}

static float softmax_sum(const float *x, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += x[i];
    return s;
}

static void softmax_row(const float *restrict x, float *restrict y, int64_t n, bool log_out)
{
    const float m = softmax_max(x, n);
    for (int64_t i = 0; i < n; i++)
        y[i] = softmax_exp(x[i] - m);
    const float sum = softmax_sum(y, n);
    if (log_out) {
        const float lse = logf(sum);
        for (int64_t i = 0; i < n; i++)
            y[i] = (x[i] - m) - lse;
    } else {
        const float inv = 1.0f / sum;
        for (int64_t i = 0; i < n; i++)
            y[i] *= inv;
    }
}

/* One [len, inner] block normalised along len; mx and sum hold inner floats. */
static void softmax_block(const float *restrict x, float *restrict y, int64_t len,
                          int64_t inner, bool log_out, float *restrict mx, float *restrict sum)
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
            float e = softmax_exp(xl[j] - mx[j]);
            yl[j] = e; /* LogSoftmax overwrites it below */
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
