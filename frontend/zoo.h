/* Built-in architectures, built directly as graph IR, for users without an
 * ONNX file of their own (ssdc pipeline's default) and for benchmarks. */
#ifndef SSDC_FRONTEND_ZOO_H
#define SSDC_FRONTEND_ZOO_H

#include "graph/graph.h"

/* The 1D-CNN of models/make_models.py's cnn1d, sized to the data:
 * input [batch, channels, length] -> Conv(16,k7)+BN+ReLU -> Conv(32,k5)+BN+ReLU
 * -> Conv(32,k3)+BN+ReLU -> Dropout(dropout) -> GlobalAveragePool -> Flatten
 * -> Gemm(n_classes).  Weights initialised as PyTorch initialises fresh
 * layers, deterministically from seed. */
ssdc_status zoo_cnn1d(int64_t channels, int64_t length, int n_classes, float dropout,
                      uint64_t seed, graph **out, ssdc_error *err);

#endif
