/* QDQ fusion: DequantizeLinear -> op -> QuantizeLinear into ssdc's integer ops (docs/int8.md). (placeholder until its first implementation lands) */
typedef int ssdc_placeholder_passes_qfuse_c;
