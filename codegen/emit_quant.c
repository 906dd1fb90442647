/* Emitters of the integer ops and the quantize/dequantize helpers (docs/int8.md). (placeholder until its first implementation lands) */
typedef int ssdc_placeholder_codegen_emit_quant_c;
