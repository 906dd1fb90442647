/* ONNX import: ModelProto (protobuf-c, generated from Debian's onnx.proto)
 * decoded into the graph IR.  Protobuf structs never outlive the import. */
#ifndef SSDC_FRONTEND_ONNX_IMPORT_H
#define SSDC_FRONTEND_ONNX_IMPORT_H

#include "graph/graph.h"

/* Reads, decodes, normalises (old-opset attribute forms turned into the
 * opset-13+ input forms), and validates.  On error *out is NULL and err names
 * the file and the node/tensor. */
ssdc_status onnx_import_file(const char *path, graph **out, ssdc_error *err);
ssdc_status onnx_import_buffer(const void *buf, size_t len, const char *source_name,
                               graph **out, ssdc_error *err);

/* Decodes a serialized TensorProto (the input_N.pb / output_N.pb files of the
 * ONNX node tests) into a value with malloc'd data (free v->data).  name may
 * be NULL; else receives a malloc'd copy of the tensor's name. */
ssdc_status onnx_read_tensor_file(const char *path, graph_value *v, char **name,
                                  ssdc_error *err);

#endif
