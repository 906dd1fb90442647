/* QDQ fusion (docs/int8.md): DequantizeLinear -> float op -> QuantizeLinear
 * into ssdc's integer ops.
 *
 * This stop implements the first step only: every QuantizeLinear /
 * DequantizeLinear node's parameters are validated (errors name the node),
 * and the float ops sitting between DQ and Q are counted as not fused (the
 * graph is left unchanged and still runs in float).  The rewrites into
 * QConv/QGemm/QAdd/QAvgPool/QLut are not written yet. */
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

/* Validates the Q/DQ parameters of g (scale > 0 and finite, zero point in
 * its type's range and of the input/output type, per-axis lengths equal to
 * the axis' extent when the shape is known) and fills *st (may be NULL).
 * Errors name the node. */
ssdc_status passes_qfuse(graph *g, qfuse_stats *st, ssdc_error *err);

#endif
