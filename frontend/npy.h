/* NumPy .npy files (format 1.0/2.0/3.0), little-endian, C order.
 * dtypes: float32 (<f4), float64 (<f8), int64 (<i8), int32 (<i4), bool (|b1),
 * uint8 (|u1), int8 (|i1). */
#ifndef SSDC_FRONTEND_NPY_H
#define SSDC_FRONTEND_NPY_H

#include "graph/graph.h"

/* v->data is malloc'd; the caller frees it.  Errors name the file. */
ssdc_status npy_read_file(const char *path, graph_value *v, ssdc_error *err);
ssdc_status npy_read_buffer(const void *buf, size_t len, const char *source_name,
                            graph_value *v, ssdc_error *err);
/* Writes atomically (temporary file in the same folder, fsync, rename). */
ssdc_status npy_write_file(const char *path, const graph_value *v, ssdc_error *err);

#endif
