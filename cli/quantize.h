/* Post-training static quantization as the CLI composes it (ssdc quantize,
 * ssdc pipeline --quantize int8): inference passes, calibration on samples
 * (runtime/calibrate.h), passes_quantize (passes/quantize.h), and the error
 * of every quantized tensor against the float model. */
#ifndef SSDC_CLI_QUANTIZE_H
#define SSDC_CLI_QUANTIZE_H

#include "runtime/calibrate.h"
#include "runtime/train.h"

typedef struct {
    calib_options calib;
    int64_t samples;        /* calibration samples (the first N of calib data); <= 0: all */
    bool print_table;       /* per-tensor scale, zero point, SQNR */
} cli_quantize_options;

/* *out: the QDQ graph of model (a new graph).  n_activations / sqnr_mean_db
 * may be NULL. */
ssdc_status cli_quantize_graph(const graph *model, const train_data *calib,
                               const cli_quantize_options *opt, graph **out, ssdc_error *err);

#endif
