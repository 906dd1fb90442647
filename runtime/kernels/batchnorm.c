/* Per-channel kernels: BatchNormalization (inference with running statistics;
 * training_mode = 1 with batch statistics and updated running statistics)
 * and PRelu (slope broadcast to X with runs of equal broadcast merged). */
#include "runtime/kernel.h"

#include <math.h>
#include <string.h>

/* ---- BatchNormalization ---- */

static ssdc_status bn_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                              graph_value *out, int n_out, ssdc_error *err)
{
    const graph_value *x = &in[0];
    for (int i = 0; i < 5; i++)
        if (i >= n_in || in[i].dtype != GRAPH_DT_FLOAT)
            return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                                  "input %d has dtype %s, only float is supported", i,
                                  graph_dtype_name(i < n_in ? in[i].dtype : GRAPH_DT_UNDEFINED));
    if (x->rank < 2 || out[0].dtype != GRAPH_DT_FLOAT || out[0].numel != x->numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "X has rank %d, expected at least 2",
                              x->rank);
    int64_t batch = x->dims[0], chans = x->dims[1];
    int64_t size = batch * chans != 0 ? x->numel / (batch * chans) : 0;
    /* opset < 9 with spatial = 0: parameters hold one value per element of a sample */
    bool per_element = in[1].numel != chans && in[1].numel == chans * size;
    int64_t want = per_element ? chans * size : chans;
    for (int i = 1; i < 5; i++)
        if (in[i].numel != want)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "input %d has %lld elements, expected %lld (one per channel)", i,
                                  (long long)in[i].numel, (long long)want);
    for (int o = 1; o < n_out; o++)
        if (out[o].dtype != GRAPH_DT_UNDEFINED &&
            (out[o].dtype != GRAPH_DT_FLOAT || out[o].numel != in[3].numel))
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "output %d must be float with %lld elements", o,
                                  (long long)in[3].numel);
    float eps = graph_attr_float(ctx->node, "epsilon", 1e-5f);
    float momentum = graph_attr_float(ctx->node, "momentum", 0.9f);
    bool training = graph_attr_int(ctx->node, "training_mode", 0) != 0;
    const float *xd = x->data, *scale = in[1].data, *bias = in[2].data;
    const float *mean = in[3].data, *var = in[4].data;
    float *y = out[0].data;

    if (per_element) {
        if (training)
            return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                                  "training_mode with per-element (spatial = 0) parameters");
        int64_t plane = chans * size;
        for (int64_t n = 0; n < batch; n++)
            for (int64_t i = 0; i < plane; i++) {
                float a = scale[i] / sqrtf(var[i] + eps);
                y[n * plane + i] = (xd[n * plane + i] - mean[i]) * a + bias[i];
            }
    } else if (!training) {
        for (int64_t c = 0; c < chans; c++) {
            const float a = scale[c] / sqrtf(var[c] + eps);
            const float b = bias[c] - mean[c] * a;
            for (int64_t n = 0; n < batch; n++) {
                const float *xp = xd + (n * chans + c) * size;
                float *yp = y + (n * chans + c) * size;
                for (int64_t i = 0; i < size; i++)
                    yp[i] = xp[i] * a + b;
            }
        }
    } else {
        float *run_mean = n_out > 1 && out[1].dtype == GRAPH_DT_FLOAT ? out[1].data : NULL;
        float *run_var = n_out > 2 && out[2].dtype == GRAPH_DT_FLOAT ? out[2].data : NULL;
        double count = (double)(batch * size);
        for (int64_t c = 0; c < chans; c++) {
            double sum = 0.0;
            for (int64_t n = 0; n < batch; n++) {
                const float *xp = xd + (n * chans + c) * size;
                for (int64_t i = 0; i < size; i++)
                    sum += xp[i];
            }
            double mu = count > 0 ? sum / count : 0.0, sq = 0.0;
            for (int64_t n = 0; n < batch; n++) {
                const float *xp = xd + (n * chans + c) * size;
                for (int64_t i = 0; i < size; i++)
                    sq += ((double)xp[i] - mu) * ((double)xp[i] - mu);
            }
            double v = count > 0 ? sq / count : 0.0;
            const float a = (float)(scale[c] / sqrt(v + eps));
            const float b = (float)(bias[c] - mu * a);
            for (int64_t n = 0; n < batch; n++) {
                const float *xp = xd + (n * chans + c) * size;
                float *yp = y + (n * chans + c) * size;
                for (int64_t i = 0; i < size; i++)
                    yp[i] = xp[i] * a + b;
            }
            if (run_mean)
                run_mean[c] = mean[c] * momentum + (float)mu * (1.0f - momentum);
            if (run_var)
                run_var[c] = var[c] * momentum + (float)v * (1.0f - momentum);
        }
        return SSDC_OK;
    }
    /* Inference: the optional statistics outputs pass the running ones on. */
    for (int o = 1; o < n_out; o++)
        if (out[o].dtype == GRAPH_DT_FLOAT)
            memcpy(out[o].data, o % 2 ? mean : var, (size_t)out[o].numel * sizeof(float));
    return SSDC_OK;
}

/* ---- PRelu ---- */

static ssdc_status prelu_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                 graph_value *out, int n_out, ssdc_error *err)
{
    const graph_value *x = &in[0], *s = &in[1];
    if (x->dtype != GRAPH_DT_FLOAT || s->dtype != GRAPH_DT_FLOAT ||
        out[0].dtype != GRAPH_DT_FLOAT)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "only float tensors are supported (X is %s, slope %s)",
                              graph_dtype_name(x->dtype), graph_dtype_name(s->dtype));
    if (s->rank > x->rank || out[0].numel != x->numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE, "slope of rank %d for X of rank %d",
                              s->rank, x->rank);
    /* Merge adjacent dims of X that are all broadcast (kind 0) or all
     * indexed (kind 1) in the slope; size-1 dims of X drop out. */
    int64_t len[GRAPH_MAX_RANK];
    int kind[GRAPH_MAX_RANK];
    int nm = 0;
    for (int d = 0; d < x->rank; d++) {
        int ds = d - (x->rank - s->rank);
        int64_t xd = x->dims[d], sd = ds >= 0 ? s->dims[ds] : 1;
        if (sd != 1 && sd != xd)
            return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                                  "slope dimension %lld does not broadcast to X dimension %lld",
                                  (long long)sd, (long long)xd);
        if (xd == 1)
            continue;
        int k = sd == xd;
        if (nm > 0 && kind[nm - 1] == k) {
            len[nm - 1] *= xd;
        } else {
            len[nm] = xd;
            kind[nm++] = k;
        }
    }
    if (x->numel == 0)
        return SSDC_OK;
    if (nm == 0) {
        len[0] = 1;
        kind[0] = 0;
        nm = 1;
    }
    int64_t sstride[GRAPH_MAX_RANK];
    for (int d = nm - 1, acc = 1; d >= 0; d--) {
        sstride[d] = kind[d] ? acc : 0;
        if (kind[d])
            acc *= (int)len[d];
    }
    const float *restrict xd = x->data, *sd = s->data;
    float *restrict y = out[0].data;
    const int64_t inner = len[nm - 1];
    const int64_t outer = x->numel / inner;
    int64_t idx[GRAPH_MAX_RANK] = {0}, soff = 0;
    for (int64_t o = 0; o < outer; o++) {
        const float *xp = xd + o * inner;
        float *yp = y + o * inner;
        /* max(x, 0) + slope * min(x, 0) in the compare-select forms GCC turns
         * into maxps / minps (a select around the product would stay a
         * branch); NaN passes through the first term */
        if (kind[nm - 1]) {
            const float *restrict sp = sd + soff;
            for (int64_t i = 0; i < inner; i++) {
                const float v = xp[i];
                yp[i] = (v < 0.0f ? 0.0f : v) + (v < 0.0f ? v : 0.0f) * sp[i];
            }
        } else {
            const float sv = sd[soff];
            for (int64_t i = 0; i < inner; i++) {
                const float v = xp[i];
                yp[i] = (v < 0.0f ? 0.0f : v) + (v < 0.0f ? v : 0.0f) * sv;
            }
        }
        for (int d = nm - 2; d >= 0; d--) {
            soff += sstride[d];
            if (++idx[d] < len[d])
                break;
            soff -= sstride[d] * len[d];
            idx[d] = 0;
        }
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_batchnormalization = {
    .forward = bn_forward,
};

const rt_kernel rt_kernel_prelu = {
    .forward = prelu_forward,
};
