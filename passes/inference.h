/* Inference cleanup, shared by the runtime's callers and code generation:
 * Dropout (in inference form) and Identity removed, BatchNormalization folded
 * into the Conv or Gemm before it, dead nodes removed.  The graph computes
 * the same outputs (up to float rounding of the folded weights); graph input
 * and output names are kept. */
#ifndef SSDC_PASSES_INFERENCE_H
#define SSDC_PASSES_INFERENCE_H

#include "graph/graph.h"

typedef struct {
    int dropout_removed, identity_removed, bn_folded, dead_removed;
    int qdq_fused;      /* float ops of a QDQ graph made integer (passes/qfuse.h) */
    int qdq_unfused;    /* float ops left between DQ and Q */
} inference_stats;

typedef struct {
    /* A QDQ graph (QuantizeLinear/DequantizeLinear, docs/int8.md) is run as
     * it is, in float, instead of fused into integer ops: the reference. */
    bool qdq_simulate;
} inference_options;

/* The cleanup above, then (unless opt->qdq_simulate) passes_qfuse on a QDQ
 * graph.  opt may be NULL (defaults: fuse). */
ssdc_status passes_optimize_inference_opt(graph *g, const inference_options *opt,
                                          inference_stats *stats, ssdc_error *err);
ssdc_status passes_optimize_inference(graph *g, inference_stats *stats, ssdc_error *err);

/* Only the BatchNormalization folding of passes_optimize_inference (for a
 * frozen teacher inside a training graph): every inference-form BN after a
 * Conv/Gemm whose output feeds only the BN, except where keep[that output]
 * (a tensor the caller still refers to by name; keep may be NULL).  The
 * BN's output tensor stays (the Conv writes it).  *folded: how many. */
ssdc_status passes_fold_batchnorm(graph *g, const bool *keep, int *folded, ssdc_error *err);

/* Removes nodes that contribute to no graph output; returns how many. */
int passes_remove_dead_nodes(graph *g);

#endif
