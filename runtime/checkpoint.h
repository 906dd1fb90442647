/* Training checkpoints: everything needed to continue training exactly
 * where an epoch ended (parameters, BN statistics, optimizer moments, the
 * best epoch's weights, the metric history).  One binary file, written
 * atomically, with a checksum; a torn or foreign file is refused. */
#ifndef SSDC_RUNTIME_CHECKPOINT_H
#define SSDC_RUNTIME_CHECKPOINT_H

#include "runtime/train.h"

typedef struct {
    uint64_t model_key;     /* identifies the parameter layout */
    int32_t epochs_done;
    uint64_t step;          /* global batch counter (Dropout masks) */
    int32_t optim_kind;
    int64_t optim_t;
    int32_t n_optim_arrays;
    int64_t n_params, n_state;
    double best_val;
    int32_t best_epoch, bad_epochs;
    float *params, *state;          /* n_params, n_state */
    float *optim[3];                /* n_optim_arrays x n_params */
    float *best_params, *best_state;
    int32_t n_history;
    train_epoch_stats *history;
} checkpoint;

ssdc_status checkpoint_write(const char *path, const checkpoint *c, ssdc_error *err);
/* Allocates the arrays; free with checkpoint_free. */
ssdc_status checkpoint_read(const char *path, checkpoint *c, ssdc_error *err);
void checkpoint_free(checkpoint *c);

#endif
