/* Schemas of the ONNX quantization ops: QuantizeLinear, DequantizeLinear, QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger. (placeholder until its first implementation lands) */
typedef int ssdc_placeholder_graph_ops_quant_c;
