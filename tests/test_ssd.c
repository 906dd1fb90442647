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

/* The training graph's inputs: x [rank dims xd], labels y [xd[0]], the
 * student's parameters and BN state from the model graph. */
static graph_value *bind_training_inputs(const train_graph *tg, const graph *student, float *x,
                                         const int64_t *xd, int rank, int64_t *y)
{
    const graph *g = tg->g;
    graph_value *in = calloc((size_t)g->n_inputs, sizeof *in);
    cr_assert(in);
    graph_value_set_shape(&in[tg->x_input], GRAPH_DT_FLOAT, rank, xd);
    in[tg->x_input].data = x;
    graph_value_set_shape(&in[tg->label_input], GRAPH_DT_INT64, 1, xd);
    in[tg->label_input].data = y;
    for (int p = 0; p < tg->n_params; p++) {
        const graph_tensor *t = &student->tensors[tg->param_src[p]];
        graph_value_set_shape(&in[tg->param_input[p]], GRAPH_DT_FLOAT, t->shape.rank, t->shape.dims);
        in[tg->param_input[p]].data = t->data;
    }
    for (int s = 0; s < tg->n_state; s++) {
        const graph_tensor *t = &student->tensors[tg->state_src[s]];
        graph_value_set_shape(&in[tg->state_input[s]], GRAPH_DT_FLOAT, t->shape.rank, t->shape.dims);
        in[tg->state_input[s]].data = t->data;
    }
    return in;
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
    /* Dropout, GlobalAveragePool, Flatten run on B*K rows; the convolutions
     * once, the frozen teacher's BatchNormalizations folded into them */
    cr_assert_eq(info.region_nodes, 3, "region nodes %d", info.region_nodes);
    cr_assert_eq(info.prefix_nodes, 6, "prefix nodes %d (3 Conv + 3 Relu)", info.prefix_nodes);
    graph *g = tg.g;
    for (int i = 0; i < g->n_nodes; i++)
        cr_assert(!(g->nodes[i].op == GRAPH_OP_BATCHNORMALIZATION &&
                    !strncmp(g->nodes[i].name, "teacher/", 8)),
                  "teacher BN '%s' not folded", g->nodes[i].name);
    int drop = find_node(g, "teacher//dropout/Dropout");
    cr_assert_geq(drop, 0);
    int feat = graph_find_tensor(g, "teacher//Flatten_output_0");
    cr_assert_geq(feat, 0);
    cr_assert_eq(graph_add_output(g, feat, &err), SSDC_OK); /* keep it readable after the run */

    /* inputs of the training graph: x, labels, the student's params and state */
    float *x = malloc(B * 1 * L * sizeof *x);
    int64_t y[B] = {0, 1, 2};
    fill(x, B * L, 3);
    int64_t xd[3] = {B, 1, L};
    graph_value *in = bind_training_inputs(&tg, student, x, xd, 3, y);
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
    /* the SSD pass gives its Dropouts a seed: the stream is 2^31 | seed */
    uint64_t stream = rng_stream_id(5, 0x80000000u | (uint32_t)graph_attr_int(&g->nodes[drop], "seed", -1));
    cr_assert_geq(graph_attr_int(&g->nodes[drop], "seed", -1), 0);
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
    /* the teacher's deterministic part was cached */
    cr_assert(strstr(out, "computed once per training sample"), "%s", out);
    /* same seed and threads: a byte-identical student (2 threads: the fused
     * Dropout + pooling step splits its rows) */
    for (int threads = 1; threads <= 2; threads++) {
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && for k in 1 2; do '%s' distill '%s/t.onnx' --data cbf --epochs 10 "
                 "--batch 16 --threads %d --reps 8 --quiet -o '%s'/r$k.onnx || exit 1; done && "
                 "cmp '%s/r1.onnx' '%s/r2.onnx'",
                 root, bin, dir, threads, dir, dir, dir);
        cr_assert_eq(sh(cmd), 0, "two distillations with the same seed and %d thread(s) differ",
                     threads);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
}

/* The planner runs the teacher's Dropout -> GlobalAveragePool as one step
 * reading the untiled rows (runtime/exec.c fuse_dropout_gap): every output
 * of the training graph (loss, gradients, the K teacher features) is
 * bit-identical to running the nodes one by one, for 1 and 3 threads, and
 * the plan no longer stores the K-fold tiled tensors. */
Test(ssd, fused_dropout_pool_equals_nodes, .timeout = 120)
{
    ssdc_error err = {0};
    graph *teacher = load("cnn1d"), *student = load("cnn1d");
    ssd_options o;
    ssd_options_default(&o);
    o.reps = 7; /* not a multiple of the kernel's group of 4 */
    train_graph tg;
    ssd_info info;
    cr_assert_eq(ssd_build(teacher, student, &o, &tg, &info, &err), SSDC_OK, "%s", err.msg);
    graph *g = tg.g;
    int feat = graph_find_tensor(g, "teacher//Flatten_output_0");
    cr_assert_geq(feat, 0);
    cr_assert_eq(graph_add_output(g, feat, &err), SSDC_OK);
    enum { NB = 5, NL = 128 };
    float *x = malloc(NB * NL * sizeof *x);
    int64_t y[NB] = {0, 1, 2, 1, 0};
    fill(x, NB * NL, 11);
    int64_t xd[3] = {NB, 1, NL};
    graph_value *in = bind_training_inputs(&tg, student, x, xd, 3, y);
    rt_options variants[3] = {{.seed = 3, .training = true, .no_fusion = true},
                              {.seed = 3, .training = true, .threads = 1},
                              {.seed = 3, .training = true, .threads = 3}};
    rt_plan *p[3];
    rt_plan_stats st[3];
    for (int v = 0; v < 3; v++) {
        cr_assert_eq(rt_plan_create(g, in, &variants[v], &p[v], &err), SSDC_OK, "%s", err.msg);
        rt_plan_set_step(p[v], 9);
        cr_assert_eq(rt_plan_run(p[v], in, &err), SSDC_OK, "%s", err.msg);
        rt_plan_get_stats(p[v], &st[v]);
    }
    for (int v = 1; v < 3; v++) {
        for (int i = 0; i < g->n_outputs; i++) {
            const graph_value *a = rt_plan_output(p[0], i), *b = rt_plan_output(p[v], i);
            cr_assert_eq(a->numel, b->numel);
            cr_assert(!memcmp(a->data, b->data, graph_value_bytes(a)),
                      "output '%s' differs with fusion (threads %d)",
                      g->tensors[g->outputs[i]].name, variants[v].threads);
        }
    }
    /* the K teacher features differ (the masks are real) */
    const graph_value *f = rt_plan_tensor(p[1], feat);
    cr_assert_eq(f->dims[0], NB * 7);
    cr_assert_neq(((const float *)f->data)[0], ((const float *)f->data)[f->dims[1]]);
    /* the tiled [B*K, 32, L] tensors (Expand's output, its Reshape view and
     * the Dropout's output) are no longer stored */
    size_t tiled = (size_t)NB * 7 * 32 * NL * sizeof(float);
    cr_assert_geq(st[0].sum_tensor_bytes - st[1].sum_tensor_bytes, 3 * tiled, "sum %zu vs %zu",
                  st[1].sum_tensor_bytes, st[0].sum_tensor_bytes);
    cr_assert_lt(st[1].arena_bytes, st[0].arena_bytes, "arena fused %zu, unfused %zu",
                 st[1].arena_bytes, st[0].arena_bytes);
    cr_log_info("arena fused %zu, unfused %zu", st[1].arena_bytes, st[0].arena_bytes);
    for (int v = 0; v < 3; v++)
        rt_plan_free(p[v]);
    free(x);
    free(in);
    train_graph_free(&tg);
    graph_free(teacher);
    graph_free(student);
}

/* The fused Dropout -> GlobalAveragePool on a small graph of its own: rows
 * repeated by Unsqueeze + Expand + Reshape (reps 6) and a plain Dropout
 * (reps 1), a spatial size that is not a multiple of 8, 2-D planes; bit-
 * identical to the node-by-node run for 1 and 2 threads, and each Dropout's
 * masks keep about 1 - ratio. */
Test(ssd, fused_dropout_pool_small_graph)
{
    enum { N = 3, NC = 5, H = 3, W = 7, R = 6 };
    ssdc_error err = {0};
    graph *g = graph_new();
    cr_assert(g);
    g->opset = 13;
    int64_t xdims[4] = {N, NC, H, W};
    graph_shape xs;
    graph_shape_init(&xs, 4, xdims);
    int x, ax, ex, sh, u, e, r, d1, d2, p1, p2, ratio;
    cr_assert_eq(graph_add_tensor(g, "x", GRAPH_DT_FLOAT, &xs, GRAPH_TENSOR_INPUT, &x, &err), 0);
    cr_assert_eq(graph_add_input(g, x, &err), 0);
    int64_t *axv = malloc(sizeof *axv), *exv = malloc(5 * sizeof *exv), *shv = malloc(4 * sizeof *shv);
    float *rv = malloc(sizeof *rv);
    axv[0] = 1;
    int64_t exd[5] = {1, R, 1, 1, 1}, shd[4] = {-1, NC, H, W}, one = 1, five = 5, four = 4;
    memcpy(exv, exd, sizeof exd);
    memcpy(shv, shd, sizeof shd);
    rv[0] = 0.3f;
    cr_assert_eq(graph_add_initializer(g, "axes", GRAPH_DT_INT64, 1, &one, axv, &ax, &err), 0);
    cr_assert_eq(graph_add_initializer(g, "expand", GRAPH_DT_INT64, 1, &five, exv, &ex, &err), 0);
    cr_assert_eq(graph_add_initializer(g, "shape", GRAPH_DT_INT64, 1, &four, shv, &sh, &err), 0);
    cr_assert_eq(graph_add_initializer(g, "ratio", GRAPH_DT_FLOAT, 0, NULL, rv, &ratio, &err), 0);
    const char *names[] = {"u", "e", "r", "d1", "d2", "p1", "p2"};
    int *ts[] = {&u, &e, &r, &d1, &d2, &p1, &p2};
    for (int i = 0; i < 7; i++)
        cr_assert_eq(graph_add_tensor(g, names[i], GRAPH_DT_FLOAT, NULL, GRAPH_TENSOR_INTERMEDIATE,
                                      ts[i], &err), 0, "%s", err.msg);
    int in_u[2] = {x, ax}, in_e[2] = {u, ex}, in_r[2] = {e, sh}, in_d1[2] = {r, ratio},
        in_d2[2] = {x, ratio};
    cr_assert_eq(graph_add_node(g, "U", "Unsqueeze", "", 2, in_u, 1, &u, NULL, &err), 0);
    cr_assert_eq(graph_add_node(g, "E", "Expand", "", 2, in_e, 1, &e, NULL, &err), 0);
    cr_assert_eq(graph_add_node(g, "R", "Reshape", "", 2, in_r, 1, &r, NULL, &err), 0);
    cr_assert_eq(graph_add_node(g, "D1", "Dropout", "", 2, in_d1, 1, &d1, NULL, &err), 0);
    cr_assert_eq(graph_add_node(g, "D2", "Dropout", "", 2, in_d2, 1, &d2, NULL, &err), 0);
    cr_assert_eq(graph_add_node(g, "P1", "GlobalAveragePool", "", 1, &d1, 1, &p1, NULL, &err), 0);
    cr_assert_eq(graph_add_node(g, "P2", "GlobalAveragePool", "", 1, &d2, 1, &p2, NULL, &err), 0);
    cr_assert_eq(graph_add_output(g, p1, &err), 0);
    cr_assert_eq(graph_add_output(g, p2, &err), 0);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);
    float xv[N * NC * H * W];
    fill(xv, N * NC * H * W, 5);
    graph_value in = {0};
    graph_value_set_shape(&in, GRAPH_DT_FLOAT, 4, xdims);
    in.data = xv;
    rt_options variants[3] = {{.seed = 1, .training = true, .no_fusion = true},
                              {.seed = 1, .training = true},
                              {.seed = 1, .training = true, .threads = 2}};
    rt_plan *p[3];
    for (int v = 0; v < 3; v++) {
        cr_assert_eq(rt_plan_create(g, &in, &variants[v], &p[v], &err), SSDC_OK, "%s", err.msg);
        rt_plan_set_step(p[v], 2);
        cr_assert_eq(rt_plan_run(p[v], &in, &err), SSDC_OK, "%s", err.msg);
    }
    /* fused: Expand's, Reshape's and both Dropouts' outputs are not stored */
    rt_plan_stats s0, s1;
    rt_plan_get_stats(p[0], &s0);
    rt_plan_get_stats(p[1], &s1);
    size_t row = (size_t)NC * H * W * sizeof(float);
    cr_assert_geq(s0.sum_tensor_bytes - s1.sum_tensor_bytes, 3 * N * R * row + N * row,
                  "sum of tensors %zu fused, %zu unfused", s1.sum_tensor_bytes, s0.sum_tensor_bytes);
    for (int o = 0; o < 2; o++) {
        const graph_value *a = rt_plan_output(p[0], o);
        cr_assert_eq(a->numel, (o == 0 ? N * R : N) * NC);
        for (int v = 1; v < 3; v++)
            cr_assert(!memcmp(a->data, rt_plan_output(p[v], o)->data, graph_value_bytes(a)),
                      "output %d differs with fusion, variant %d", o, v);
    }
    /* the R repeats of a row differ (their masks do) and their mean is near the
     * row's plain mean (dropout rescales by 1 / (1 - ratio)) */
    const float *p1v = rt_plan_output(p[1], 0)->data;
    cr_assert_neq(p1v[0], p1v[NC]);
    rt_options plain = {.seed = 1};
    rt_plan *q;
    cr_assert_eq(rt_plan_create(g, &in, &plain, &q, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_run(q, &in, &err), SSDC_OK, "%s", err.msg);
    const float *mean = rt_plan_output(q, 1)->data;
    double dev = 0, spread = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < NC; c++) {
            double m = 0;
            for (int k = 0; k < R; k++)
                m += p1v[(n * R + k) * NC + c] / R;
            dev += fabs(m - mean[n * NC + c]);
            spread += fabs(mean[n * NC + c]);
        }
    cr_assert_lt(dev, spread, "repeat means deviate %g (mean magnitudes %g)", dev, spread);
    rt_plan_free(q);
    for (int v = 0; v < 3; v++)
        rt_plan_free(p[v]);
    graph_free(g);
}

/* The frozen teacher's deterministic part, computed once per sample
 * (train_graph_split_cached, what the trainer does when it fits its cache
 * limit): the split training graph fed the prefix graph's outputs gives
 * bit-identical loss, gradients and teacher features, and runs no teacher
 * convolution. */
Test(ssd, cached_teacher_prefix_equals_full_graph, .timeout = 120)
{
    ssdc_error err = {0};
    graph *teacher = load("cnn1d"), *student = load("cnn1d");
    ssd_options o;
    ssd_options_default(&o);
    o.reps = 6;
    train_graph full, split;
    ssd_info info;
    cr_assert_eq(ssd_build(teacher, student, &o, &full, &info, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(ssd_build(teacher, student, &o, &split, &info, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(full.n_cacheable, 1, "the region starts at one tensor (the Dropout's input)");
    graph *prefix = NULL;
    int pos[TRAIN_GRAPH_MAX_CACHEABLE];
    cr_assert_eq(train_graph_split_cached(&split, &prefix, pos, &err), SSDC_OK, "%s", err.msg);
    cr_assert(prefix);
    cr_assert_eq(prefix->n_inputs, 1);
    cr_assert_eq(prefix->n_outputs, 1);
    int convs_full = 0, convs_split = 0, convs_prefix = 0;
    for (int i = 0; i < full.g->n_nodes; i++)
        convs_full += full.g->nodes[i].op == GRAPH_OP_CONV;
    for (int i = 0; i < split.g->n_nodes; i++)
        convs_split += split.g->nodes[i].op == GRAPH_OP_CONV;
    for (int i = 0; i < prefix->n_nodes; i++)
        convs_prefix += prefix->nodes[i].op == GRAPH_OP_CONV;
    cr_assert_eq(convs_prefix, 3, "the teacher's 3 convolutions");
    cr_assert_eq(convs_split + convs_prefix, convs_full, "full %d, split %d", convs_full,
                 convs_split);

    enum { NB = 4, NL = 128 };
    float *x = malloc(NB * NL * sizeof *x);
    int64_t y[NB] = {2, 0, 1, 1};
    fill(x, NB * NL, 17);
    int64_t xd[3] = {NB, 1, NL};
    graph_value *in_full = bind_training_inputs(&full, student, x, xd, 3, y);
    graph_value *in_split = bind_training_inputs(&split, student, x, xd, 3, y);
    /* the prefix on the same batch */
    rt_session *s;
    cr_assert_eq(rt_session_create(prefix, NULL, &s, &err), SSDC_OK, "%s", err.msg);
    graph_value px = {0};
    graph_value_set_shape(&px, GRAPH_DT_FLOAT, 3, xd);
    px.data = x;
    cr_assert_eq(rt_session_run(s, &px, &err), SSDC_OK, "%s", err.msg);
    in_split[pos[0]] = *rt_session_output(s, 0);
    rt_options ro = {.seed = 4, .training = true};
    rt_plan *pf, *ps;
    cr_assert_eq(rt_plan_create(full.g, in_full, &ro, &pf, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_create(split.g, in_split, &ro, &ps, &err), SSDC_OK, "%s", err.msg);
    rt_plan_set_step(pf, 3);
    rt_plan_set_step(ps, 3);
    cr_assert_eq(rt_plan_run(pf, in_full, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(rt_plan_run(ps, in_split, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(full.g->n_outputs, split.g->n_outputs);
    for (int i = 0; i < full.g->n_outputs; i++) {
        const graph_value *a = rt_plan_output(pf, i), *b = rt_plan_output(ps, i);
        cr_assert_eq(a->numel, b->numel);
        cr_assert(!memcmp(a->data, b->data, graph_value_bytes(a)), "output '%s' differs",
                  full.g->tensors[full.g->outputs[i]].name);
    }
    double loss = graph_value_get_f64(rt_plan_output(pf, full.loss_output), 0);
    cr_assert(loss > 0 && isfinite(loss));
    rt_plan_free(pf);
    rt_plan_free(ps);
    rt_session_free(s);
    graph_free(prefix);
    free(in_full);
    free(in_split);
    free(x);
    train_graph_free(&full);
    train_graph_free(&split);
    graph_free(teacher);
    graph_free(student);
}
