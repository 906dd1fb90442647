/* The student-guided knowledge distillation loss (SGKD) of stochastic
 * self-distillation, and the two feature losses the paper ablates against,
 * appended to a graph as ordinary nodes of the default ONNX domain (opset-13
 * forms: ReduceSum/Unsqueeze axes and TopK K as int64 inputs), so a training
 * graph that holds them can be written as ONNX that onnx.checker accepts.
 *
 * SGKD (docs: /work/shared/design.md, "The method, exactly"), with the
 * student feature s [B, D] and K teacher features t [B, K, D]:
 *
 *   dot[b,k]    = sum_d s[b,d] t[b,k,d]          ReduceSum(Mul(Unsqueeze(s,[1]), t), [2])
 *   w[b,:]      = softmax_k(dot[b,:] / tau)      Div, Softmax(axis 1)
 *   thr[b]      = quantile_q(w[b,:])             TopK(w, K, largest 0) ascending, then
 *                 position p = q*(K-1) (float32, as torch.quantile computes it),
 *                 lo = floor(p), hi = ceil(p), f = p - lo,
 *                 thr = v_lo + f (v_hi - v_lo)            when f < 0.5,
 *                       v_hi - (v_hi - v_lo)(1 - f)       otherwise (torch's lerp),
 *                       v_lo                              when p is an integer
 *                 (v_i = Gather(sorted, [i], axis 1), shape [B,1])
 *   keep        = w >= thr                       GreaterOrEqual
 *   wk          = keep ? w : 0                   Where
 *   wn[b,:]     = wk[b,:] / sum_k wk[b,k]        ReduceSum(keepdims 1), Div
 *   target[b,:] = sum_k wn[b,k] t[b,k,:]         ReduceSum(Mul(Unsqueeze(wn,[2]), t), [1])
 *   L           = mean_{b,d} (s - target)^2      Sub, Mul, ReduceMean (all axes) -> scalar
 *
 * The gradient (passes/autodiff.c) flows into s directly and through dot,
 * softmax, the kept entries and the renormalisation.  The threshold only
 * feeds the comparison, whose bool output carries no gradient, so neither
 * the threshold nor the keep/zero choice does (TopK and Gather need no
 * gradient rule).  The teacher features get a gradient only if the caller
 * differentiates with respect to something they depend on (a frozen teacher
 * does not).
 *
 * Every new tensor and node is named "<prefix><what>" (prefix NULL: "sgkd/",
 * "sgkd_cosine/", "sgkd_mse/"); a name already in the graph is an error.
 * s and t must be float32 (or of not yet inferred dtype).  The functions do
 * not infer shapes: run graph_infer_shapes() before autodiff_build().  On an
 * error the graph may hold part of the new nodes; discard it. */
#ifndef SSDC_PASSES_SGKD_H
#define SSDC_PASSES_SGKD_H

#include "graph/graph.h"

#define SGKD_DEFAULT_TAU 5.0f
#define SGKD_DEFAULT_Q 0.90f

typedef struct {
    float tau;  /* softmax temperature, > 0 (default 5) */
    float q;    /* quantile of the weights kept from, in [0, 1] (default 0.90) */
} sgkd_options;

/* Fills the defaults (tau 5, q 0.90). */
void sgkd_options_default(sgkd_options *opt);

/* Appends the SGKD loss of student feature s [B, D] against teacher features
 * t [B, K, D].  K > 0 is the number of teacher features; K <= 0 takes it from
 * t's static shape (which must then be known).  opt NULL: the defaults.
 * *loss gets the scalar loss tensor (rank 0).  If non-NULL, *weights gets the
 * final renormalised weights [B, K] (0 where dropped) and *kept the number of
 * kept teacher features per sample [B] (float32). */
ssdc_status sgkd_add_loss(graph *g, int s, int t, int K, const sgkd_options *opt,
                          const char *prefix, int *loss, int *weights, int *kept,
                          ssdc_error *err);

/* All-representations cosine ablation: L = 1 - mean_{b,k} cos(s_b, t_{b,k}),
 * cos(x, y) = <x, y> / (max(|x|, 1e-8) max(|y|, 1e-8)) (torch's
 * cosine_similarity with its default eps; the clamp is taken on the squared
 * norms, so a zero vector gives a finite gradient). */
ssdc_status sgkd_add_cosine_loss(graph *g, int s, int t, int K, const char *prefix, int *loss,
                                 ssdc_error *err);

/* Plain self-distillation ablation: L = mean_{b,d} (s[b,d] - t[b,d])^2 with
 * the deterministic teacher feature t [B, D]. */
ssdc_status sgkd_add_mse_loss(graph *g, int s, int t, const char *prefix, int *loss,
                              ssdc_error *err);

#endif
