/* The SSD pass: the K-way tiled stochastic region equals K separate teacher
 * passes with the same dropout masks; the deterministic prefix runs once; the
 * feature is found automatically; --emit-graph writes a graph onnx.checker
 * accepts; ssdc distill trains a student end to end. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/onnx_import.h"
#include "graph/ops.h"
#include "passes/ssd.h"
#include "runtime/exec.h"
#include "runtime/rng.h"
#include "runtime/train.h"

static graph *load(const char *name)
{
    const char *root = getenv("SSDC_SOURCE_ROOT");
    cr_assert(root, "run through meson test");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s.onnx", root, name);
    graph *g = NULL;
    ssdc_error err = {0};
    cr_assert_eq(onnx_import_file(path, &g, &err), SSDC_OK, "%s", err.msg);
    return g;
}

static int find_node(const graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name))
            return i;
    return -1;
}

static void fill(float *x, int64_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    }
}

enum { B = 3, K = 5, C = 32, L = 128 };

Test(ssd, tiled_region_equals_separate_passes, .timeout = 120)
{
    ssdc_error err = {0};
    graph *teacher = load("cnn1d"), *student = load("cnn1d");
    ssd_options o;
    ssd_options_default(&o);
    o.reps = K;
    train_graph tg;
    ssd_info info;
    cr_assert_eq(ssd_build(teacher, student, &o, &tg, &info, &err), SSDC_OK, "%s", err.msg);
    cr_assert_str_eq(info.feature, "/Flatten_output_0");
    cr_assert(info.feature_auto);
    /* Dropout, GlobalAveragePool, Flatten run on B*K rows; the convolutions once */
    cr_assert_eq(info.region_nodes, 3, "region nodes %d", info.region_nodes);
    cr_assert_geq(info.prefix_nodes, 9, "prefix nodes %d", info.prefix_nodes);
    graph *g = tg.g;
    int drop = find_node(g, "teacher//dropout/Dropout");
    cr_assert_geq(drop, 0);
    int feat = graph_find_tensor(g, "teacher//Flatten_output_0");
    cr_assert_geq(feat, 0);
    cr_assert_eq(graph_add_output(g, feat, &err), SSDC_OK); /* keep it readable after the run */

    /* inputs of the training graph: x, labels, the student's params and state */
    graph_value *in = calloc((size_t)g->n_inputs, sizeof *in);
    float *x = malloc(B * 1 * L * sizeof *x);
    int64_t y[B] = {0, 1, 2};
    fill(x, B * L, 3);
    int64_t xd[3] = {B, 1, L}, yd[1] = {B};
    graph_value_set_shape(&in[tg.x_input], GRAPH_DT_FLOAT, 3, xd);
    in[tg.x_input].data = x;
    graph_value_set_shape(&in[tg.label_input], GRAPH_DT_INT64, 1, yd);
    in[tg.label_input].data = y;
    for (int p = 0; p < tg.n_params; p++) {
        const graph_tensor *t = &student->tensors[tg.param_src[p]];
        graph_value_set_shape(&in[tg.param_input[p]], GRAPH_DT_FLOAT, t->shape.rank, t->shape.dims);
        in[tg.param_input[p]].data = t->data;
    }
    for (int s = 0; s < tg.n_state; s++) {
        const graph_tensor *t = &student->tensors[tg.state_src[s]];
        graph_value_set_shape(&in[tg.state_input[s]], GRAPH_DT_FLOAT, t->shape.rank, t->shape.dims);
        in[tg.state_input[s]].data = t->data;
    }
    rt_options ro = {.seed = 7, .training = true};
    rt_plan *p;
    cr_assert_eq(rt_plan_create(g, in, &ro, &p, &err), SSDC_OK, "%s", err.msg);
    rt_plan_set_step(p, 5);
    cr_assert_eq(rt_plan_run(p, in, &err), SSDC_OK, "%s", err.msg);
    const graph_value *tiled = rt_plan_tensor(p, feat);
    cr_assert_eq(tiled->rank, 2);
    cr_assert_eq(tiled->dims[0], B * K);
    cr_assert_eq(tiled->dims[1], C);

    /* K separate full teacher passes: the Dropout becomes x * M with M the
     * mask the tiled run drew for rows b*K + k, scaled by 1/(1 - ratio) */
    graph *sep = graph_clone(teacher);
    int dn = find_node(sep, "/dropout/Dropout");
    cr_assert_geq(dn, 0);
    int64_t md[3] = {-1, C, L};
    graph_shape ms;
    graph_shape_init(&ms, 3, md);
    int m;
    cr_assert_eq(graph_add_tensor(sep, "mask", GRAPH_DT_FLOAT, &ms, GRAPH_TENSOR_INPUT, &m, &err), 0);
    cr_assert_eq(graph_add_input(sep, m, &err), 0);
    graph_node *n = &sep->nodes[dn];
    free(n->op_type);
    n->op_type = graph_strdup("Mul");
    n->op = GRAPH_OP_MUL;
    n->inputs[1] = m;
    n->n_inputs = 2;
    n->n_outputs = 1;
    int sfeat = graph_find_tensor(sep, "/Flatten_output_0");
    cr_assert_eq(graph_add_output(sep, sfeat, &err), SSDC_OK);
    const float ratio = 0.2f; /* the file's Dropout rate */
    uint32_t thr = rng_dropout_threshold(ratio);
    uint64_t stream = rng_stream_id(5, (uint32_t)drop);
    float *mask = malloc(B * C * L * sizeof *mask);
    rt_session *s;
    rt_session_create(sep, NULL, &s, &err);
    int64_t kept = 0;
    double worst = 0;
    for (int k = 0; k < K; k++) {
        for (int b = 0; b < B; b++)
            for (int j = 0; j < C * L; j++) {
                uint64_t i = ((uint64_t)(b * K + k)) * C * L + (uint64_t)j;
                int keep = rng_keep16(7, stream, i, thr);
                kept += keep;
                mask[b * C * L + j] = keep ? 1.0f / (1.0f - ratio) : 0.0f;
            }
        graph_value sin[2] = {0};
        graph_value_set_shape(&sin[0], GRAPH_DT_FLOAT, 3, xd);
        sin[0].data = x;
        int64_t mdim[3] = {B, C, L};
        graph_value_set_shape(&sin[1], GRAPH_DT_FLOAT, 3, mdim);
        sin[1].data = mask;
        cr_assert_eq(rt_session_run(s, sin, &err), SSDC_OK, "%s", err.msg);
        const graph_value *f = rt_session_output(s, 1);
        for (int b = 0; b < B; b++)
            for (int d = 0; d < C; d++) {
                float a = ((const float *)tiled->data)[(b * K + k) * C + d];
                float e = ((const float *)f->data)[b * C + d];
                double diff = fabs((double)a - (double)e);
                if (diff > worst)
                    worst = diff;
                cr_assert(diff <= 1e-5 + 1e-5 * fabs(e), "b %d k %d d %d: tiled %g, separate %g", b,
                          k, d, a, e);
            }
    }
    /* the masks really drop about 20% */
    double frac = (double)kept / (double)(B * K * C * L);
    cr_assert(frac > 0.75 && frac < 0.85, "kept fraction %g", frac);
    /* and the K representations differ from each other */
    cr_assert_neq(((const float *)tiled->data)[0], ((const float *)tiled->data)[C]);
    cr_log_info("tiled vs separate passes: max |diff| %.3g", worst);
    rt_session_free(s);
    rt_plan_free(p);
    free(mask);
    free(x);
    free(in);
    graph_free(sep);
    train_graph_free(&tg);
    graph_free(teacher);
    graph_free(student);
}

/* Without a Dropout in the file, ssdc inserts one before the feature block. */
Test(ssd, default_dropout_for_a_model_without_one)
{
    ssdc_error err = {0};
    graph *teacher = load("resnet1d"), *student = load("resnet1d");
    ssd_options o;
    ssd_options_default(&o);
    o.reps = 4;
    train_graph tg;
    ssd_info info;
    cr_assert_eq(ssd_build(teacher, student, &o, &tg, &info, &err), SSDC_OK, "%s", err.msg);
    cr_assert(info.dropout_default);
    cr_assert(strstr(info.dropouts, "inserted at"), "%s", info.dropouts);
    cr_assert_gt(info.region_nodes, 0);
    cr_assert_gt(info.prefix_nodes, info.region_nodes, "prefix %d region %d", info.prefix_nodes,
                 info.region_nodes);
    train_graph_free(&tg);
    /* an explicit --dropout on a tensor that does not exist is a clear error */
    ssd_dropout_spec d = {"no_such_tensor", 0.1f};
    o.dropouts = &d;
    o.n_dropouts = 1;
    cr_assert_eq(ssd_build(teacher, student, &o, &tg, &info, &err), SSDC_ERR_ARG);
    cr_assert(strstr(err.msg, "no_such_tensor"), "%s", err.msg);
    graph_free(teacher);
    graph_free(student);
}

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* ssdc distill end to end: a student of the CBF teacher, its training graph
 * accepted by onnx.checker, the student accepted too. */
Test(ssd, distill_cli_and_emit_graph, .timeout = 600)
{
    const char *root = getenv("SSDC_SOURCE_ROOT"), *bin = getenv("SSDC_BIN");
    cr_assert(root && bin);
    char dir[] = "/tmp/ssdc_ssd_XXXXXX";
    cr_assert(mkdtemp(dir));
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' train models/cnn1d.onnx --data cbf --init fresh --epochs 40 --batch 16 "
             "--threads 1 --quiet -o '%s/t.onnx' > '%s/train.out' 2>&1 && "
             "'%s' distill '%s/t.onnx' --data cbf --epochs 40 --batch 16 --threads 1 --reps 8 "
             "--emit-graph '%s/train_graph.onnx' -o '%s/s.onnx' > '%s/distill.out' 2>&1",
             root, bin, dir, dir, bin, dir, dir, dir, dir);
    cr_assert_eq(sh(cmd), 0, "see %s/*.out", dir);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import onnx; m = onnx.load('%s/train_graph.onnx'); "
             "onnx.checker.check_model(m); "
             "ops = {n.op_type for n in m.graph.node if n.domain == ''}; "
             "assert {'Dropout', 'Softmax', 'TopK', 'GreaterOrEqual', 'Where', "
             "'SoftmaxCrossEntropyLoss', 'Expand'} <= ops, ops; "
             "onnx.checker.check_model(onnx.load('%s/s.onnx'), full_check=True)\"",
             dir, dir);
    cr_assert_eq(sh(cmd), 0, "onnx.checker refused the training graph or the student");
    /* the student learned the task */
    char out[4096] = {0};
    snprintf(cmd, sizeof cmd, "%s/distill.out", dir);
    FILE *f = fopen(cmd, "r");
    cr_assert(f);
    size_t nread = fread(out, 1, sizeof out - 1, f);
    out[nread] = 0;
    fclose(f);
    const char *acc = strstr(out, "student ");
    cr_assert(acc && strstr(out, "feature '/Flatten_output_0' (auto)"), "%s", out);
    double teacher_acc = 0, student_acc = 0;
    const char *line = strstr(out, "test accuracy: teacher");
    cr_assert(line, "%s", out);
    cr_assert_eq(sscanf(line, "test accuracy: teacher %lf%% student %lf%%", &teacher_acc,
                        &student_acc), 2, "%s", line);
    cr_assert_gt(student_acc, 70.0, "%s", out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
}
