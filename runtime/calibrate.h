/* Calibration: activation ranges of a float inference graph over samples.
 *
 * Every float tensor the graph computes per run (graph inputs and node
 * outputs, not constants folded at plan time) gets a [min, max]:
 *   CALIB_MINMAX      the extremes seen over all samples;
 *   CALIB_PERCENTILE  the P-th percentile as max and the (100-P)-th as min,
 *                     from a CALIB_BINS-bin histogram over [min, max] made
 *                     in a second pass (exact to one bin width);
 *   CALIB_ENTROPY     TensorRT's KL-divergence threshold search (128 levels)
 *                     on the same histogram, applied to each side of zero
 *                     separately (the max from the bins above 0, the min
 *                     from those below it, mirrored): ranges stay
 *                     asymmetric.
 * A NaN or Inf in a sample or an activation is an error naming the sample
 * index and the tensor. */
#ifndef SSDC_RUNTIME_CALIBRATE_H
#define SSDC_RUNTIME_CALIBRATE_H

#include "runtime/exec.h"

#define CALIB_BINS 2048

typedef enum { CALIB_MINMAX, CALIB_PERCENTILE, CALIB_ENTROPY } calib_method;

typedef struct {
    calib_method method;
    double percentile; /* CALIB_PERCENTILE: e.g. 99.99 */
} calib_options;

typedef struct {
    int n_tensors;   /* = g->n_tensors */
    bool *observed;  /* tensor t got a range */
    float *min, *max;
} calib_ranges;

/* Ranges of g (one float input, samples along dimension 0) over the batches
 * (each a graph_value for g->inputs[0]; batch sizes may differ). */
ssdc_status calib_collect(const graph *g, const graph_value *batches, int n_batches,
                          const calib_options *opt, calib_ranges *out, ssdc_error *err);
void calib_ranges_free(calib_ranges *r);

/* Parses "minmax" | "entropy" | "percentile:P" (0 < P <= 100). */
ssdc_status calib_parse_method(const char *s, calib_options *opt, ssdc_error *err);

#endif
