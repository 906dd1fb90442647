/* libFuzzer target: ONNX import (decode, normalise, validate), then on a
 * model that imports: shape inference, the inference cleanup pass on a clone
 * (what `ssdc run` / codegen do before planning), and an export of the
 * imported graph re-imported (what `ssdc train -o` / `distill -o` write). */
#include <stdint.h>
#include <stdlib.h>

#include <cblas.h>

#include "frontend/onnx_export.h"
#include "frontend/onnx_import.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/onnx_mutator.h"
#include "graph/graph.h"
#include "passes/inference.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    openblas_set_num_threads(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    graph *g = (graph *)1;
    ssdc_error err = {0};
    ssdc_status st = onnx_import_buffer(data, size, "fuzz.onnx", &g, &err);
    fuzz_check_error(st, &err);
    if (st) {
        if (g != NULL) {
            fprintf(stderr, "fuzz: onnx_import_buffer failed but *out is not NULL\n");
            abort();
        }
        return 0;
    }

    graph *opt = graph_clone(g);

    st = graph_infer_shapes(g, &err);
    fuzz_check_error(st, &err);

    if (opt) {
        st = passes_optimize_inference(opt, NULL, &err);
        fuzz_check_error(st, &err);
        if (!st) {
            st = graph_validate(opt, &err);
            fuzz_check_error(st, &err);
        }
        graph_free(opt);
    }

    uint8_t *buf = NULL;
    size_t len = 0;
    st = onnx_export_buffer(g, NULL, &buf, &len, &err);
    fuzz_check_error(st, &err);
    if (!st) {
        graph *back = NULL;
        st = onnx_import_buffer(buf, len, "fuzz-export.onnx", &back, &err);
        fuzz_check_error(st, &err);
        graph_free(back);
    }
    free(buf);
    graph_free(g);
    return 0;
}
