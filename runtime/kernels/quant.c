/* Kernels of the ONNX quantization ops. (placeholder until its first implementation lands) */
typedef int ssdc_placeholder_runtime_kernels_quant_c;
