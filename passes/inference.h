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
} inference_stats;

ssdc_status passes_optimize_inference(graph *g, inference_stats *stats, ssdc_error *err);

/* Removes nodes that contribute to no graph output; returns how many. */
int passes_remove_dead_nodes(graph *g);

#endif
