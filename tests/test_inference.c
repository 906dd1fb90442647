/* Inference cleanup: Dropout/Identity removal and BatchNormalization folding
 * keep every bundled model's outputs (within float rounding). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/npy.h"
#include "frontend/onnx_import.h"
#include "graph/ops.h"
#include "passes/inference.h"
#include "runtime/exec.h"

static int count_op(const graph *g, int op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += g->nodes[i].op == op;
    return n;
}

static void check_model(const char *name, int expect_bn_folded, int expect_dropout)
{
    const char *root = getenv("SSDC_SOURCE_ROOT");
    cr_assert(root);
    char path[1024], in_path[1024];
    snprintf(path, sizeof path, "%s/models/%s.onnx", root, name);
    snprintf(in_path, sizeof in_path, "%s/models/%s.input.npy", root, name);
    ssdc_error err = {0};
    graph *a = NULL, *b = NULL;
    cr_assert_eq(onnx_import_file(path, &a, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(onnx_import_file(path, &b, &err), SSDC_OK, "%s", err.msg);
    int bn_before = count_op(b, GRAPH_OP_BATCHNORMALIZATION);
    inference_stats st;
    cr_assert_eq(passes_optimize_inference(b, &st, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(st.bn_folded, expect_bn_folded, "%s: folded %d BN", name, st.bn_folded);
    cr_assert_eq(count_op(b, GRAPH_OP_BATCHNORMALIZATION), bn_before - expect_bn_folded);
    cr_assert_eq(st.dropout_removed, expect_dropout);
    cr_assert_eq(count_op(b, GRAPH_OP_DROPOUT), 0);
    graph_value in = {0};
    cr_assert_eq(npy_read_file(in_path, &in, &err), SSDC_OK);
    rt_session *sa, *sb;
    rt_session_create(a, NULL, &sa, &err);
    rt_session_create(b, NULL, &sb, &err);
    cr_assert_eq(rt_session_run(sa, &in, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(rt_session_run(sb, &in, &err), SSDC_OK, "%s", err.msg);
    const graph_value *ya = rt_session_output(sa, 0), *yb = rt_session_output(sb, 0);
    cr_assert_eq(ya->numel, yb->numel);
    for (int64_t i = 0; i < ya->numel; i++) {
        float x = ((float *)ya->data)[i], y = ((float *)yb->data)[i];
        cr_assert(fabsf(x - y) <= 1e-5f + 1e-5f * fabsf(x), "%s: output %lld %g vs %g", name,
                  (long long)i, x, y);
    }
    /* names of inputs and outputs are kept */
    cr_assert_str_eq(b->tensors[b->outputs[0]].name, a->tensors[a->outputs[0]].name);
    cr_assert_str_eq(b->tensors[b->inputs[0]].name, a->tensors[a->inputs[0]].name);
    rt_session_free(sa);
    rt_session_free(sb);
    free(in.data);
    graph_free(a);
    graph_free(b);
}

Test(inference, cnn1d) { check_model("cnn1d", 3, 1); }
Test(inference, cnn2d) { check_model("cnn2d", 2, 1); }
Test(inference, resnet1d) { check_model("resnet1d", 6, 0); }
Test(inference, har6) { check_model("har6", 0, 0); }
