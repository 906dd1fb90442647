/* Post-training static quantization: float graph + calibrated ranges -> QDQ graph (docs/int8.md). (placeholder until its first implementation lands) */
typedef int ssdc_placeholder_passes_quantize_c;
