/* libFuzzer target: the serialized TensorProto reader
 * (onnx_read_tensor_file), which the conformance runner uses for the
 * input_N.pb / output_N.pb files of the ONNX node tests. */
#include <stdint.h>
#include <stdlib.h>

#include "frontend/onnx_import.h"
#include "fuzz/fuzz_util.h"
#include "graph/graph.h"

static fuzz_memfile file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_memfile_open(&file, "input_0.pb");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_memfile_set(&file, data, size);
    graph_value v;
    memset(&v, 0, sizeof v);
    char *name = NULL;
    ssdc_error err = {0};
    ssdc_status st = onnx_read_tensor_file(file.path, &v, &name, &err);
    fuzz_check_error(st, &err);
    if (!st) {
        size_t bytes = graph_value_bytes(&v);
        const volatile uint8_t *b = v.data;
        volatile unsigned sink = 0;
        for (size_t k = 0; k < bytes; k++)
            sink += b[k];
        (void)sink;
        if (name)
            sink += (unsigned)strlen(name);
    }
    free(v.data);
    free(name);
    return 0;
}
