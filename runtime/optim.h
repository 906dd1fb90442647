/* Optimizers over one flat parameter buffer (PyTorch's update rules). */
#ifndef SSDC_RUNTIME_OPTIM_H
#define SSDC_RUNTIME_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/status.h"

typedef enum { OPTIM_SGD = 0, OPTIM_ADAM, OPTIM_ADAMW } optim_kind;

typedef struct {
    optim_kind kind;
    float lr;
    float momentum;      /* SGD */
    bool nesterov;       /* SGD */
    float weight_decay;  /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
    float beta1, beta2, eps;  /* Adam/AdamW */
    bool amsgrad;
} optim_options;

/* PyTorch's defaults: Adam lr 1e-3, betas 0.9/0.999, eps 1e-8; SGD lr 1e-2. */
void optim_defaults(optim_options *o, optim_kind kind);
const char *optim_kind_name(optim_kind k);
/* "sgd" | "adam" | "adamw"; returns false if unknown. */
bool optim_parse_kind(const char *s, optim_kind *k);

typedef struct {
    optim_options o;
    int64_t n;
    int64_t t;       /* steps taken */
    float *m;        /* momentum buffer / first moment */
    float *v;        /* second moment */
    float *vmax;     /* AMSGrad running max */
} optim_state;

ssdc_status optim_init(optim_state *s, const optim_options *o, int64_t n, ssdc_error *err);
void optim_free(optim_state *s);
/* One update of params[0..n) with grads[0..n). */
void optim_step(optim_state *s, float *params, const float *grads);
/* Floats of state per parameter (for checkpoints): m, v, vmax as used. */
int optim_state_arrays(const optim_state *s, float **arrays);

#endif
