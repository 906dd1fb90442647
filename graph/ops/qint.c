/* Schemas of ssdc's integer ops (domain ai.ssdc): QAdd, QAvgPool, QConv, QGemm, QLut (docs/int8.md). (placeholder until its first implementation lands) */
typedef int ssdc_placeholder_graph_ops_qint_c;
