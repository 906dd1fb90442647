/* Schemas of the ONNX quantization ops QuantizeLinear and DequantizeLinear
 * (opsets 10 and 13) and MatMulInteger / QLinearMatMul.
 *
 * Q/DQ: inputs x, scale, zero_point (optional); attribute axis (default 1).
 * A scale of rank 0 (or one element) quantizes per tensor, a 1-D scale per
 * axis: its length must be the extent of x along axis.  QuantizeLinear makes
 * the zero point's dtype (int8/uint8, uint8 when omitted); DequantizeLinear
 * takes int8/uint8/int32 (the zero point's dtype, when given) to float.
 * Whenever the values of scale / zero point are known they are checked:
 * scale > 0 and finite (docs/int8.md, "Validation"). */
#include "graph/ops.h"

#include <math.h>

/* Checks scale (input si) and zero point (input zi, may be absent) against
 * x's shape and, when known, their values. */
static ssdc_status quant_check_params(graph_infer_ctx *c, int si, int zi, const graph_shape *x,
                                      int64_t axis, ssdc_error *err)
{
    const graph_shape *s = &c->in_shape[si];
    bool has_zp = zi < c->n_in && c->node->inputs[zi] >= 0;
    const graph_shape *z = has_zp ? &c->in_shape[zi] : NULL;
    if (s->rank > 1)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input %d (scale) has rank %d, expected a scalar or 1-D", si,
                                 s->rank);
    if (z && z->rank > 1)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "input %d (zero point) has rank %d, expected a scalar or 1-D", zi,
                                 z->rank);
    int64_t slen = s->rank == 1 ? s->dims[0] : s->rank == 0 ? 1 : -1;
    int64_t zlen = !z ? -1 : z->rank == 1 ? z->dims[0] : z->rank == 0 ? 1 : -1;
    if (slen >= 0 && zlen >= 0 && slen != zlen)
        return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                 "scale has %lld elements and zero point %lld, expected the same",
                                 (long long)slen, (long long)zlen);
    if (s->rank == 1 && x->rank >= 0 && slen != 1) {
        int ax;
        ssdc_status st = graph_infer_axis(c, axis, x->rank, &ax, err);
        if (st)
            return st;
        if (slen >= 0 && x->dims[ax] >= 0 && slen != x->dims[ax])
            return graph_infer_failf(c, err, SSDC_ERR_SHAPE,
                                     "per-axis scale has %lld elements, expected %lld (the extent "
                                     "of axis %d)",
                                     (long long)slen, (long long)x->dims[ax], ax);
    }
    const graph_value *sv = c->in_value[si];
    if (sv && sv->dtype == GRAPH_DT_FLOAT)
        for (int64_t i = 0; i < sv->numel; i++) {
            float v = ((const float *)sv->data)[i];
            if (!(v > 0.0f) || isinf(v))
                return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                         "scale[%lld] is %g, expected a finite value > 0",
                                         (long long)i, (double)v);
        }
    return SSDC_OK;
}

static ssdc_status quantizelinear_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_FLOAT, GRAPH_DT_INT32,
                                             GRAPH_DT_UNDEFINED);
    if (!st)
        st = graph_infer_check_dtype(c, 1, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED);
    bool has_zp = c->n_in > 2 && c->node->inputs[2] >= 0;
    if (!st && has_zp)
        st = graph_infer_check_dtype(c, 2, err, GRAPH_DT_INT8, GRAPH_DT_UINT8, GRAPH_DT_UNDEFINED);
    if (!st)
        st = quant_check_params(c, 1, 2, &c->in_shape[0], graph_attr_int(c->node, "axis", 1), err);
    if (st)
        return st;
    c->out_dtype[0] = has_zp ? c->in_dtype[2] : GRAPH_DT_UINT8;
    c->out_shape[0] = c->in_shape[0];
    return SSDC_OK;
}

static ssdc_status dequantizelinear_infer(graph_infer_ctx *c, ssdc_error *err)
{
    ssdc_status st = graph_infer_check_dtype(c, 0, err, GRAPH_DT_INT8, GRAPH_DT_UINT8,
                                             GRAPH_DT_INT32, GRAPH_DT_UNDEFINED);
    if (!st)
        st = graph_infer_check_dtype(c, 1, err, GRAPH_DT_FLOAT, GRAPH_DT_UNDEFINED);
    bool has_zp = c->n_in > 2 && c->node->inputs[2] >= 0;
    if (st)
        return st;
    if (has_zp && c->in_dtype[0] != GRAPH_DT_UNDEFINED && c->in_dtype[2] != GRAPH_DT_UNDEFINED &&
        c->in_dtype[0] != c->in_dtype[2])
        return graph_infer_failf(c, err, SSDC_ERR_INVALID,
                                 "zero point is %s, expected the dtype of input 0 (%s)",
                                 graph_dtype_name(c->in_dtype[2]), graph_dtype_name(c->in_dtype[0]));
    if ((st = quant_check_params(c, 1, 2, &c->in_shape[0], graph_attr_int(c->node, "axis", 1), err)))
        return st;
    c->out_dtype[0] = GRAPH_DT_FLOAT;
    c->out_shape[0] = c->in_shape[0];
    return SSDC_OK;
}

static int64_t quant_flops(const graph_infer_ctx *c)
{
    return 2 * graph_infer_out_numel(c, 0);
}

static const graph_attr_spec quant_attrs[] = {
    {"axis", GRAPH_ATTR_INT},
    {NULL, GRAPH_ATTR_UNDEFINED},
};

const graph_op_schema graph_schema_quantizelinear = {
    .name = "QuantizeLinear",
    .min_in = 2, .max_in = 3,
    .min_out = 1, .max_out = 1,
    .attrs = quant_attrs,
    .infer = quantizelinear_infer,
    .flops = quant_flops,
};

const graph_op_schema graph_schema_dequantizelinear = {
    .name = "DequantizeLinear",
    .min_in = 2, .max_in = 3,
    .min_out = 1, .max_out = 1,
    .attrs = quant_attrs,
    .infer = dequantizelinear_infer,
    .flops = quant_flops,
};
