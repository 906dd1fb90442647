/* The stochastic self-distillation (SSD) pass of design.md: a graph rewrite
 * that builds, from a trained teacher and a same-architecture student, the
 * training graph
 *
 *   student (training mode) ──▶ feature s [B,D], logits ──▶ CE
 *   teacher (frozen, inference mode, chosen Dropouts active):
 *     deterministic prefix, run once on B rows
 *     ──▶ tensors entering the stochastic region repeated K times per row
 *         ([B,...] -> [B*K,...], row b*K+k) ──▶ region run once on B*K rows,
 *         every row drawing its own dropout mask ──▶ feature [B*K,D] -> [B,K,D]
 *   loss = alpha * L_sgkd(s, t) + beta * CE (+ gamma * T^2 * KL on logits)
 *
 * and differentiates the loss w.r.t. the student's parameters.  The runtime
 * only sees ordinary ops. */
#ifndef SSDC_PASSES_SSD_H
#define SSDC_PASSES_SSD_H

#include "graph/graph.h"
#include "passes/train_graph.h"

typedef enum {
    SSD_MODE_SSD = 0,         /* student-guided weighting of K stochastic reps */
    SSD_MODE_ALL_REPS_COSINE, /* 1 - mean_k cos(s, t_k) over all K reps */
    SSD_MODE_SELF_DISTILL,    /* MSE to the deterministic teacher feature */
    SSD_MODE_CE               /* cross-entropy only (no teacher) */
} ssd_mode;

const char *ssd_mode_name(ssd_mode m);
bool ssd_parse_mode(const char *s, ssd_mode *m);

#define SSD_MAX_DROPOUTS 16

typedef struct {
    const char *tensor;  /* a tensor of the teacher */
    float rate;          /* in [0, 1) */
} ssd_dropout_spec;

typedef struct {
    ssd_mode mode;
    int reps;                   /* K (default 30) */
    float tau, q;               /* 5, 0.90 */
    float alpha, beta;          /* 0.5, 0.5 */
    float gamma, kd_t;          /* logit KD weight and temperature; gamma 0 = off */
    const char *feature;        /* NULL: the input of the final classifier */
    const ssd_dropout_spec *dropouts;  /* activate or insert dropout here */
    int n_dropouts;
    float teacher_dropout_rate; /* < 0: the file's rates */
    float default_dropout_rate; /* for a dropout ssdc inserts itself (default 0.1) */
    float label_smoothing;
} ssd_options;

void ssd_options_default(ssd_options *o);

typedef struct {
    char feature[256];          /* the feature tensor distilled */
    bool feature_auto;
    char dropouts[768];         /* what is active in the teacher, for the user */
    bool dropout_default;       /* ssdc chose where (the model had no Dropout) */
    int region_nodes;           /* teacher nodes in the stochastic region (run on B*K rows) */
    int prefix_nodes;           /* teacher nodes run once on B rows */
    int weights_extra;          /* extra-output index of the SGKD weights [B,K], or -1 */
    int kept_extra;             /* extra-output index of the kept count [B], or -1 */
} ssd_info;

/* Finds the input of the final classifier (Gemm/MatMul producing the first
 * output, through a bias Add or Identity).  -1 and an error if none. */
ssdc_status ssd_find_feature(const graph *g, int *tensor, ssdc_error *err);

/* teacher and student: validated inference graphs of the same architecture
 * (the student's tensor indices are kept in the training graph, so its
 * parameters can be written back).  On success *out is ready for
 * train_model_graph. */
ssdc_status ssd_build(const graph *teacher, const graph *student, const ssd_options *opt,
                      train_graph *out, ssd_info *info, ssdc_error *err);

#endif
