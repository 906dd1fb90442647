/* Kernels of ssdc's integer ops (docs/int8.md), fixed point by graph/qmath.h. (placeholder until its first implementation lands) */
typedef int ssdc_placeholder_runtime_kernels_qint_c;
