/* Post-training static quantization (docs/int8.md): a float inference graph
 * and the calibrated range of each activation tensor -> a standard QDQ graph
 * (QuantizeLinear/DequantizeLinear around every quantized op, the layout of
 * ONNX Runtime's quantize_static with int8 activations).
 *
 *   weights of Conv / Gemm / MatMul (constant): int8 in [-127, 127], zero
 *     point 0, one scale per output channel (max |w| / 127), DequantizeLinear
 *     with axis (Conv 0, Gemm transB=1 0, transB=0 and MatMul 1);
 *   bias: int32, scale s_x * s_w[c], DequantizeLinear axis 0;
 *   activations: per tensor, asymmetric int8 over the range widened to hold 0
 *     (scale (max - min) / 255, zero point round(-128 - min / scale));
 *     Q -> DQ after the graph input and after every float node output, except
 *     a Conv/Gemm/MatMul output read only by a Relu or Clip (folded: the
 *     range after the activation is used); MaxPool, GlobalMaxPool, ReduceMax
 *     and views (Reshape, Flatten, Squeeze, Unsqueeze) reuse their input's
 *     parameters, so they run on int8 unchanged.
 * Tensor names are kept: a quantized tensor T is DQ's output, the float value
 * before it is "T/float" and the int8 one "T/int8". */
#ifndef SSDC_PASSES_QUANTIZE_H
#define SSDC_PASSES_QUANTIZE_H

#include "graph/graph.h"

/* Observed range of one tensor. */
typedef struct {
    float min, max;
    bool seen;
} quant_range;

typedef struct {
    bool per_tensor_weights;   /* one scale per weight tensor instead of per channel */
} quant_options;

typedef struct {
    int n_ops;           /* Conv/Gemm/MatMul whose weights were quantized */
    int n_activations;   /* tensors given Q -> DQ */
    int n_folded_act;    /* Relu/Clip folded into the op before */
} quant_stats;

/* Activation parameters of a range (the rule above). */
void quant_params_of_range(float min, float max, float *scale, int32_t *zp);

/* ranges[t] for every tensor t of g (unseen tensors are not quantized).  g
 * must be an inference graph (passes_optimize_inference) with inferred
 * shapes and opset >= 13 (per-axis DequantizeLinear); opt may be NULL. */
ssdc_status passes_quantize(graph *g, const quant_range *ranges, const quant_options *opt,
                            quant_stats *stats, ssdc_error *err);

#endif
