/* Kernels of the ONNX quantization ops QuantizeLinear and DequantizeLinear
 * (per tensor or per axis, docs/int8.md) and MatMulInteger / QLinearMatMul.
 *
 *   Q:  y = saturate(round_half_even(x / scale[c]) + zp[c])   (qmath_quantize)
 *   DQ: y = (float)(q - zp[c]) * scale[c]
 *
 * with c the index along axis for a 1-D scale of more than one element, else
 * 0.  The scale is checked here too (> 0, finite), for a scale that was not
 * known when the graph was validated. */
#include "runtime/kernel.h"

#include <math.h>
#include <stdint.h>

#include "graph/qmath.h"

typedef struct {
    int64_t len;    /* scale entries used: 1 (per tensor) or the axis extent */
    int64_t inner;  /* elements after the axis */
} quant_layout;

static ssdc_status quant_layout_of(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                   quant_layout *l, ssdc_error *err)
{
    const graph_value *x = &in[0], *s = &in[1];
    const graph_value *z = n_in > 2 && in[2].data ? &in[2] : NULL;
    if (s->dtype != GRAPH_DT_FLOAT || s->rank > 1)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "scale must be a float scalar or 1-D tensor");
    if (z && z->numel != s->numel)
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "scale has %lld elements and zero point %lld, expected the same",
                              (long long)s->numel, (long long)z->numel);
    for (int64_t i = 0; i < s->numel; i++) {
        float v = ((const float *)s->data)[i];
        if (!(v > 0.0f) || isinf(v))
            return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                                  "scale[%lld] is %g, expected a finite value > 0", (long long)i,
                                  (double)v);
    }
    l->len = 1;
    l->inner = 1;
    if (s->rank == 0 || s->numel == 1)
        return SSDC_OK;
    int64_t axis = graph_attr_int(ctx->node, "axis", 1);
    if (axis < -x->rank || axis >= x->rank)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID, "axis %lld is out of range for rank %d",
                              (long long)axis, x->rank);
    int ax = (int)(axis < 0 ? axis + x->rank : axis);
    if (s->numel != x->dims[ax])
        return rt_kernel_fail(ctx, err, SSDC_ERR_SHAPE,
                              "per-axis scale has %lld elements, expected %lld (the extent of "
                              "axis %d)",
                              (long long)s->numel, (long long)x->dims[ax], ax);
    l->len = s->numel;
    for (int d = ax + 1; d < x->rank; d++)
        l->inner *= x->dims[d];
    return SSDC_OK;
}

static inline int64_t quant_channel(const quant_layout *l, int64_t i)
{
    return l->len == 1 ? 0 : (i / l->inner) % l->len;
}

static ssdc_status quantizelinear_forward(const rt_kernel_ctx *ctx, const graph_value *in, int n_in,
                                          graph_value *out, int n_out, ssdc_error *err)
{
    quant_layout l;
    ssdc_status st = quant_layout_of(ctx, in, n_in, &l, err);
    if (st)
        return st;
    const graph_value *x = &in[0], *z = n_in > 2 && in[2].data ? &in[2] : NULL;
    const float *scale = in[1].data;
    graph_value *y = &out[0];
    if (x->dtype != GRAPH_DT_FLOAT && x->dtype != GRAPH_DT_INT32)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "input 0 is %s, expected float or int32",
                              graph_dtype_name(x->dtype));
    if (y->dtype != GRAPH_DT_INT8 && y->dtype != GRAPH_DT_UINT8)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED, "output is %s, expected int8 or uint8",
                              graph_dtype_name(y->dtype));
    bool s8 = y->dtype == GRAPH_DT_INT8;
    int32_t qmin = s8 ? INT8_MIN : 0, qmax = s8 ? INT8_MAX : UINT8_MAX;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = quant_channel(&l, i);
        int32_t zp = z ? (int32_t)graph_value_get_i64(z, c) : 0;
        float v = x->dtype == GRAPH_DT_FLOAT ? ((const float *)x->data)[i]
                                             : (float)((const int32_t *)x->data)[i];
        int32_t q = qmath_quantize(v, scale[c], zp, qmin, qmax);
        if (s8)
            ((int8_t *)y->data)[i] = (int8_t)q;
        else
            ((uint8_t *)y->data)[i] = (uint8_t)q;
    }
    return SSDC_OK;
}

static ssdc_status dequantizelinear_forward(const rt_kernel_ctx *ctx, const graph_value *in,
                                            int n_in, graph_value *out, int n_out, ssdc_error *err)
{
    quant_layout l;
    ssdc_status st = quant_layout_of(ctx, in, n_in, &l, err);
    if (st)
        return st;
    const graph_value *x = &in[0], *z = n_in > 2 && in[2].data ? &in[2] : NULL;
    const float *scale = in[1].data;
    float *y = out[0].data;
    if (x->dtype != GRAPH_DT_INT8 && x->dtype != GRAPH_DT_UINT8 && x->dtype != GRAPH_DT_INT32)
        return rt_kernel_fail(ctx, err, SSDC_ERR_UNSUPPORTED,
                              "input 0 is %s, expected int8, uint8 or int32",
                              graph_dtype_name(x->dtype));
    if (z && z->dtype != x->dtype)
        return rt_kernel_fail(ctx, err, SSDC_ERR_INVALID,
                              "zero point is %s, expected the dtype of input 0 (%s)",
                              graph_dtype_name(z->dtype), graph_dtype_name(x->dtype));
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = quant_channel(&l, i);
        int64_t zp = z ? graph_value_get_i64(z, c) : 0;
        int64_t q = graph_value_get_i64(x, i);
        y[i] = (float)(q - zp) * scale[c];
    }
    return SSDC_OK;
}

const rt_kernel rt_kernel_quantizelinear = {
    .forward = quantizelinear_forward,
};

const rt_kernel rt_kernel_dequantizelinear = {
    .forward = dequantizelinear_forward,
};
