/* The training loop: forward, backward and optimizer step over the training
 * graph built by passes/train_graph, one planned arena per batch size, the
 * parameters and their gradients each in one contiguous buffer. */
#ifndef SSDC_RUNTIME_TRAIN_H
#define SSDC_RUNTIME_TRAIN_H

#include <signal.h>

#include "graph/graph.h"
#include "passes/train_graph.h"
#include "runtime/optim.h"

/* A labelled data set in memory (not owned). */
typedef struct {
    const float *x;       /* n samples, each sample_numel floats, row-major */
    const int64_t *y;     /* n labels in [0, n_classes) */
    int64_t n;
    int rank;             /* per-sample rank (e.g. 2 for [C, L]) */
    int64_t dims[4];      /* per-sample dims */
    int n_classes;
} train_data;

int64_t train_data_sample_numel(const train_data *d);

typedef struct {
    int epoch, epochs;            /* 1-based epoch */
    int64_t batch, batches;       /* batches done in this epoch, of */
    double loss, accuracy;        /* running means over the epoch */
    double samples_per_s;
    double elapsed_s, eta_s;      /* this epoch */
} train_progress;

typedef struct {
    int epoch;
    double train_loss, train_acc;
    double val_loss, val_acc;     /* NaN without validation data */
    double seconds;
    bool best;                    /* best validation loss so far */
} train_epoch_stats;

typedef enum {
    TRAIN_ON_NAN_STOP = 0,        /* stop with an error naming the step and the node */
    TRAIN_ON_NAN_SKIP_BATCH       /* skip the batch (no update) and go on */
} train_on_nan;

typedef struct {
    int epochs;                   /* default 100 */
    int batch;                    /* default 128 */
    optim_options optim;
    uint64_t seed;
    int threads;                  /* OpenBLAS threads; 0 = leave as is */
    int patience;                 /* early stopping on validation loss; 0 = off */
    float label_smoothing;
    train_on_nan on_nan;          /* a NaN/Inf loss or gradient */
    const char *checkpoint;       /* written atomically after every epoch; NULL = none */
    bool resume;                  /* continue from checkpoint */
    const char *log_path;         /* per-epoch CSV; NULL = none */
    volatile sig_atomic_t *stop;  /* polled after every batch (Ctrl-C) */
    void (*on_batch)(const train_progress *p, void *user);
    void (*on_epoch)(const train_epoch_stats *s, const train_progress *p, void *user);
    /* After every step: the training graph's extra outputs (e.g. the SGKD
     * weights [B,K] and kept counts [B]; see train_graph_add_output), valid
     * only during the call.  NULL: not called. */
    void (*on_step_extras)(int epoch, const graph_value *const *extras, int n_extras, void *user);
    void *user;
    /* Bytes the trainer may hold for tensors computed once per training
     * sample (train_graph.cacheable: the frozen teacher's deterministic part
     * in distillation); 0: 1 GiB; < 0: compute them in every step. */
    int64_t cache_limit;
    /* After the last epoch (and after early stopping restored the best
     * weights): train_recalibrate_bn on the training data (default true). */
    bool bn_recalibrate;
} train_options;

void train_options_defaults(train_options *o);

typedef struct {
    int epochs_run;               /* epochs completed in total (incl. resumed ones) */
    int best_epoch;               /* 0 without validation */
    double best_val_loss;
    double seconds;               /* this invocation */
    bool stopped_early;
    bool interrupted;
    bool resumed;
    int resumed_epoch;
    int n_history;
    train_epoch_stats *history;   /* every epoch (incl. resumed ones); free with train_result_free */
    int64_t cached_bytes;         /* per-sample tensors computed once and cached (0: none) */
    bool bn_recalibrated;         /* train_recalibrate_bn ran after the last epoch */
    int64_t skipped_batches;      /* --on-nan skip-batch: batches skipped */
    char skipped_msg[800];        /* the last one, with the node that went non-finite */
} train_result;

void train_result_free(train_result *r);

/* Trains model in place: on success its trainable initializers and
 * BatchNormalization statistics hold the trained values (the best epoch's,
 * when early stopping ran).  val may be NULL.  Interrupted by *opt->stop:
 * returns SSDC_OK with res->interrupted (the last checkpoint is intact). */
ssdc_status train_model(graph *model, const train_data *train, const train_data *val,
                        const train_options *opt, train_result *res, ssdc_error *err);

/* The same with a training graph built by the caller (e.g. passes/ssd): its
 * parameters must be the model's (train_graph_begin on model).  Takes
 * ownership of *tg (freed, zeroed) whatever the outcome. */
ssdc_status train_model_graph(graph *model, train_graph *tg, const train_data *train,
                              const train_data *val, const train_options *opt, train_result *res,
                              ssdc_error *err);

/* Reinitialises the model's trainable parameters as PyTorch initialises
 * fresh layers (uniform +-1/sqrt(fan_in) for weights and biases, BN scale 1,
 * bias 0, running mean 0, variance 1); deterministic for a seed. */
ssdc_status train_init_fresh(graph *model, uint64_t seed, ssdc_error *err);

/* The distillation student's initialisation (design.md): Conv/Gemm/MatMul
 * weights normal(0, 0.02), their biases 0, BatchNorm scale normal(1, 0.02),
 * bias 0, running mean 0, variance 1. */
ssdc_status train_init_student(graph *model, uint64_t seed, ssdc_error *err);

typedef struct {
    int64_t n;
    int n_classes;
    double loss;                  /* mean cross-entropy */
    double accuracy;
    int64_t *confusion;           /* n_classes x n_classes, [true][pred] */
} eval_result;

/* The model's first output for every sample of d (inference passes, then the
 * runtime in batches of `batch`, 128 if <= 0): *out holds d->n x *k floats
 * (malloc'd; NULL and 0 on error). */
ssdc_status train_predict(const graph *model, const train_data *d, int batch, float **out,
                          int64_t *k, ssdc_error *err);

/* Sets every BatchNormalization's running mean and variance (model
 * initializers) to the statistics of d under the model's current weights:
 * the mean over all of d's samples and positions, and the population
 * variance (batch statistics from a forward pass in training mode, in
 * batches of `batch`, combined exactly).  A running average drawn during
 * training lags weights that still move (a few optimiser steps per epoch);
 * this removes the lag.  Batches with a non-finite statistic (NaN in the
 * data) are left out.  Models without BN are left unchanged. */
ssdc_status train_recalibrate_bn(graph *model, const train_data *d, int batch, ssdc_error *err);

/* Accuracy, mean cross-entropy and confusion of class scores logits
 * (d->n x d->n_classes, row-major) against d's labels; pred (NULL or d->n
 * entries) receives each sample's predicted class. */
ssdc_status train_score_logits(const float *logits, const train_data *d, int64_t *pred,
                               eval_result *r, ssdc_error *err);

/* Runs the model (inference) over d in batches. */
ssdc_status train_evaluate(const graph *model, const train_data *d, int batch, eval_result *r,
                           ssdc_error *err);
void eval_result_free(eval_result *r);

#endif
