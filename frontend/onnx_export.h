/* ONNX export: the graph IR encoded as a ModelProto (protobuf-c, generated
 * from Debian's onnx.proto) and written atomically.  The protobuf structs
 * exist only while one export runs; they point into the IR, nothing is
 * decoded back from them.
 *
 * What is written
 *   - ir_version 8 (or 7, by option); producer_name "ssdc", producer_version
 *     from the options; the graph's name ("ssdc_graph" when it has none).
 *   - opset_import: the default domain at the opset chosen by the rule
 *     below; {"ai.ssdc", 1} as well when a node has domain "ai.ssdc" (ssdc's
 *     gradient ops).  Other domains are refused.
 *   - nodes in graph order (in a topological order instead if graph order is
 *     not one, as ONNX requires): name, op_type, domain, inputs and outputs
 *     by tensor name (an omitted optional one is "", trailing omitted ones
 *     are dropped), attributes of every type the IR holds (FLOAT, INT,
 *     STRING, TENSOR, FLOATS, INTS, STRINGS).
 *   - initializers in tensor order as TensorProto with little-endian
 *     raw_data (float, double, int8, int16, int32, int64, uint8, bool).
 *   - graph inputs: the caller-fed tensors only (never initializers), in
 *     declaration order; graph outputs in order.  Each is a ValueInfoProto
 *     with elem_type and, when the rank is known, a shape whose dims carry
 *     dim_value, dim_param (the symbolic name in graph_shape.sym) or nothing
 *     (unknown).  Inputs and outputs must have a known dtype.
 *   - with options.value_info: a ValueInfoProto for each intermediate tensor
 *     (not an input, output or initializer) whose dtype and rank are known,
 *     in tensor order (run graph_infer_shapes first to have them).
 * The same graph and options always give the same bytes: no timestamps, no
 * hash-table order.
 *
 * The opset rule (default domain)
 *   The IR holds every op in its opset-13+ form: the importer turns the
 *   older attribute forms into inputs (Squeeze/Unsqueeze axes, Split split,
 *   ReduceSum axes: opset 13; Dropout ratio/training_mode: 12; Clip min/max
 *   and Pad pads/value: 11) and rewrites opset < 13 Softmax/LogSoftmax
 *   (2-D coercion) into the opset-13 single-axis form.  So
 *       opset = max(13, g->opset, what the nodes need),
 *   i.e. g->opset is kept when it is 13..17 and raised to 13 below that,
 *   then raised further, as little as possible, for node forms that need a
 *   later opset:
 *       BatchNormalization training_mode=1        14
 *       Reshape allowzero=1                       14
 *       Shape start / end                         15
 *   Attributes with their default value that an opset below the one that
 *   introduced them does not know are dropped there: BatchNormalization
 *   training_mode=0 and Reshape allowzero=0 below 14, ReduceMean/Max/Min
 *   noop_with_empty_axes=0; obsolete ones with the same meaning are always
 *   dropped: BatchNormalization spatial=1, Gemm broadcast.
 *   Refused, with an error naming the node:
 *     - a node form that needs opset 18 or later (Split num_outputs,
 *       Reduce{Mean,Max,Min} with an axes input or noop_with_empty_axes=1,
 *       Pad axes input, Pad mode "wrap", AveragePool dilations) or g->opset
 *       above 17: the exporter writes opsets 13 to 17;
 *     - an old attribute form that is not valid at 13+ (Squeeze/Unsqueeze
 *       axes, Split split, ReduceSum axes, Clip min/max, Pad pads/value,
 *       Dropout ratio, TopK k, BatchNormalization spatial=0);
 *     - a BatchNormalization with outputs beyond Y but without
 *       training_mode=1 (the opset 9-13 training form, written unchanged and
 *       valid only up to 13) in a graph that needs opset 14 or more.
 *
 * Writing a file
 *   The bytes go to a temporary file in the target's folder (fwrite,
 *   fflush, fsync), which is then renamed over the target (and the folder
 *   synced).  On any failure the temporary file is removed, an existing
 *   target is left as it was, and the error names the path and the system's
 *   reason (e.g. "No space left on device"). */
#ifndef SSDC_FRONTEND_ONNX_EXPORT_H
#define SSDC_FRONTEND_ONNX_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

#define ONNX_EXPORT_MIN_OPSET 13
#define ONNX_EXPORT_MAX_OPSET 17
#define ONNX_EXPORT_DEFAULT_IR_VERSION 8

/* Zero-initialised options (or NULL) give the defaults. */
typedef struct {
    const char *producer_version; /* ModelProto.producer_version; NULL/"": omitted */
    int64_t ir_version;           /* 7 or 8; 0: ONNX_EXPORT_DEFAULT_IR_VERSION */
    bool value_info;              /* describe intermediate tensors with known dtype and rank */
    bool drop_unused;             /* leave out initializers no node reads (not graph outputs) */
} onnx_export_options;

/* Encodes g into *data (malloc'd, *len bytes; the caller frees it).  On
 * error *data is NULL and err names the node or tensor. */
ssdc_status onnx_export_buffer(const graph *g, const onnx_export_options *opt, uint8_t **data,
                               size_t *len, ssdc_error *err);

/* Encodes g and writes it to path atomically (see above).  Errors begin with
 * the path. */
ssdc_status onnx_export_file(const graph *g, const char *path, const onnx_export_options *opt,
                             ssdc_error *err);

/* The default-domain opset an export of g would declare (the rule above),
 * or the error that export would give. */
ssdc_status onnx_export_opset(const graph *g, int64_t *opset, ssdc_error *err);

#endif
