/* QDQ fusion (docs/int8.md): DequantizeLinear -> float op -> QuantizeLinear
 * into ssdc's integer ops.
 *
 * Every QuantizeLinear / DequantizeLinear node's parameters are validated
 * (errors name the node).  Then, with int8 activations and per-tensor
 * activation parameters: Conv / Gemm / MatMul with constant int8 weights
 * (zero point 0, per tensor or per output channel) [-> Relu/Clip] -> Q
 * become QConv / QGemm; Add -> QAdd; GlobalAveragePool and ReduceMean over
 * the spatial axes -> QAvgPool; a unary elementwise op -> QLut;
 * MaxPool/GlobalMaxPool/ReduceMax and views with equal parameters on both
 * sides run on the int8 tensor.  Whatever does not match stays in float
 * with its DQ/Q (the graph still runs) and is counted.  Not yet: uint8
 * activations, QLinearConv/QLinearMatMul files. */
#ifndef SSDC_PASSES_QFUSE_H
#define SSDC_PASSES_QFUSE_H

#include "graph/graph.h"

#define QFUSE_MAX_REPORTED 16

typedef struct {
    int n_quantize, n_dequantize;   /* Q / DQ nodes seen */
    int n_fused;                    /* float ops made integer */
    int n_unfused;                  /* float ops between DQ and Q left as they are */
    char unfused[QFUSE_MAX_REPORTED][128]; /* labels of the first unfused ones */
} qfuse_stats;

/* True when g has at least one QuantizeLinear or DequantizeLinear node. */
bool qfuse_is_qdq_graph(const graph *g);

/* Validates the Q/DQ parameters of g (scale > 0 and finite, zero point of
 * the input/output type, per-axis lengths equal to the axis' extent when the
 * shape is known), fuses as above and fills *st (may be NULL).  Errors
 * name the node (also a requantization multiplier qmath cannot hold). */
ssdc_status passes_qfuse(graph *g, qfuse_stats *st, ssdc_error *err);

#endif
