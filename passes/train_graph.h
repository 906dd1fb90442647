/* Builds the training graph of a classifier: the model's forward graph in
 * training mode, a softmax cross-entropy loss, and (by the autodiff pass) the
 * gradients of every trainable parameter.
 *
 * The model's trainable float initializers (weights and biases of Conv, Gemm,
 * MatMul, BatchNormalization scale/bias, PRelu slopes, and bias vectors added
 * to them) become caller-fed inputs so the runtime never folds them; the
 * BatchNormalization running statistics become state inputs, and each BN node
 * runs in training mode and outputs the updated statistics. */
#ifndef SSDC_PASSES_TRAIN_GRAPH_H
#define SSDC_PASSES_TRAIN_GRAPH_H

#include "graph/graph.h"

#define TRAIN_GRAPH_MAX_CACHEABLE 8

typedef struct {
    float label_smoothing;   /* 0: plain cross-entropy */
} train_graph_options;

typedef struct {
    graph *g;               /* the training graph (owned) */
    /* tensors of g */
    int x_tensor, label_tensor, logits_tensor;
    /* positions in g->inputs */
    int x_input, label_input;
    int n_params;
    int *param_src;         /* tensor index in the model graph, per param */
    int *param_input;       /* position in g->inputs, per param */
    int n_state;
    int *state_src;         /* BN running mean/var: tensor index in the model graph */
    int *state_input;       /* position in g->inputs */
    /* positions in g->outputs */
    int loss_output, logits_output;
    int *grad_output;       /* per param */
    int *state_output;      /* per state tensor: its updated value */
    int *state_new;         /* per state tensor: the tensor holding its update */
    /* outputs added with train_graph_add_output before finish, in order */
    int extra_output0, n_extra_outputs;
    /* Tensors of g that depend on the data input alone through nodes no
     * gradient flows into (passes/ssd: the frozen teacher's deterministic
     * part, where its stochastic region begins): the trainer may compute them
     * once per sample and feed them (train_graph_split_cached). */
    int n_cacheable;
    int cacheable[TRAIN_GRAPH_MAX_CACHEABLE];
} train_graph;

/* model: a validated inference graph with one caller-fed input (the data) and
 * output 0 the logits [N, C].  model is not modified. */
ssdc_status train_graph_build(const graph *model, const train_graph_options *opt, train_graph *out,
                              ssdc_error *err);
void train_graph_free(train_graph *t);

/* The same in steps, for passes that add their own loss terms (passes/ssd):
 * begin clones the model in training form (labels input, parameters and BN
 * state as inputs); add_ce appends the cross-entropy of the logits; finish
 * differentiates `loss` and sets the outputs (loss, logits, gradients, state
 * updates, then any extra outputs added in between).  On error t is freed. */
ssdc_status train_graph_begin(const graph *model, train_graph *t, ssdc_error *err);
ssdc_status train_graph_add_ce(train_graph *t, float label_smoothing, int *loss, ssdc_error *err);
/* Reports a tensor as an extra output (e.g. SGKD weights).  *position
 * (may be NULL) is its index among the extras: after finish it is output
 * extra_output0 + *position. */
ssdc_status train_graph_add_output(train_graph *t, int tensor, int *position, ssdc_error *err);
ssdc_status train_graph_finish(train_graph *t, int loss, ssdc_error *err);

/* Moves the computation of t->cacheable out of t->g: *prefix (new graph)
 * computes them from the data input (its only input; outputs in the order of
 * t->cacheable), and in t->g each becomes a new caller-fed input (positions
 * in t->g->inputs: input_pos[i]) while the nodes only they needed are
 * removed.  Afterwards t->n_cacheable is 0. */
ssdc_status train_graph_split_cached(train_graph *t, graph **prefix, int *input_pos,
                                     ssdc_error *err);

/* Whether model initializer t is a trainable parameter (see above). */
bool train_graph_is_trainable(const graph *model, int t);

#endif
