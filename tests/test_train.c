/* Training: optimizers against PyTorch's update rules, the training loop on
 * the built-in CBF data, checkpoints (resume, torn files, a full disk),
 * reproducibility, and the exported model in ONNX Runtime and onnx.checker. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/dataset.h"
#include "frontend/npy.h"
#include "frontend/onnx_export.h"
#include "frontend/onnx_import.h"
#include "graph/fileio.h"
#include "graph/ops.h"
#include "runtime/checkpoint.h"
#include "runtime/exec.h"
#include "runtime/optim.h"
#include "runtime/train.h"

static const char *root(void)
{
    const char *r = getenv("SSDC_SOURCE_ROOT");
    cr_assert(r, "run through meson test");
    return r;
}

static char *tmpdir(void)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "/tmp/ssdc_train_XXXXXX");
    cr_assert(mkdtemp(buf));
    return buf;
}

/* ---- optimizers: one step against the update rules written out ---- */

Test(optim, adam_matches_pytorch_rule)
{
    optim_options o;
    optim_defaults(&o, OPTIM_ADAM);
    o.lr = 0.01f;
    o.weight_decay = 0.1f;
    optim_state s;
    ssdc_error err = {0};
    cr_assert_eq(optim_init(&s, &o, 3, &err), SSDC_OK);
    float p[3] = {1.0f, -2.0f, 0.5f};
    double ref[3] = {1.0, -2.0, 0.5}, m[3] = {0}, v[3] = {0};
    const float g[2][3] = {{0.1f, -0.3f, 2.0f}, {-0.2f, 0.4f, 1.0f}};
    for (int t = 1; t <= 2; t++) {
        optim_step(&s, p, g[t - 1]);
        for (int i = 0; i < 3; i++) {
            double gi = g[t - 1][i] + 0.1 * ref[i];
            m[i] = 0.9 * m[i] + 0.1 * gi;
            v[i] = 0.999 * v[i] + 0.001 * gi * gi;
            double mh = m[i] / (1 - pow(0.9, t)), vh = v[i] / (1 - pow(0.999, t));
            ref[i] -= 0.01 * mh / (sqrt(vh) + 1e-8);
            cr_assert_float_eq(p[i], ref[i], 1e-6, "step %d param %d: %g vs %g", t, i, p[i], ref[i]);
        }
    }
    optim_free(&s);
}

Test(optim, adamw_decouples_weight_decay)
{
    optim_options o;
    optim_defaults(&o, OPTIM_ADAMW);
    o.lr = 0.1f;
    o.weight_decay = 0.5f;
    optim_state s;
    cr_assert_eq(optim_init(&s, &o, 1, NULL), SSDC_OK);
    float p = 2.0f, g = 0.0f;
    optim_step(&s, &p, &g);
    /* zero gradient: only the decoupled decay moves the weight */
    cr_assert_float_eq(p, 2.0f * (1 - 0.1f * 0.5f), 1e-7);
    optim_free(&s);
}

Test(optim, sgd_momentum_nesterov)
{
    optim_options o;
    optim_defaults(&o, OPTIM_SGD);
    o.lr = 0.1f;
    o.momentum = 0.9f;
    o.nesterov = true;
    optim_state s;
    cr_assert_eq(optim_init(&s, &o, 1, NULL), SSDC_OK);
    float p = 1.0f;
    const float g[2] = {1.0f, 0.5f};
    double ref = 1.0, buf = 0;
    for (int t = 0; t < 2; t++) {
        optim_step(&s, &p, &g[t]);
        buf = t == 0 ? g[t] : 0.9 * buf + g[t];
        ref -= 0.1 * (g[t] + 0.9 * buf);
        cr_assert_float_eq(p, ref, 1e-6);
    }
    optim_free(&s);
}

/* ---- the training loop on CBF with the bundled 1D-CNN (3 classes, length 128) ---- */

static graph *load_cnn1d(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/cnn1d.onnx", root());
    graph *g = NULL;
    ssdc_error err = {0};
    cr_assert_eq(onnx_import_file(path, &g, &err), SSDC_OK, "%s", err.msg);
    return g;
}

static train_data view(const dataset *d)
{
    train_data v = {.x = d->x, .y = d->y, .n = d->n, .rank = d->rank, .n_classes = d->n_classes};
    for (int i = 0; i < d->rank; i++)
        v.dims[i] = d->dims[i];
    return v;
}

Test(train, cnn1d_learns_cbf, .timeout = 300)
{
    dataset_pair dp;
    ssdc_error err = {0};
    cr_assert_eq(dataset_generate_cbf(120, 300, 1, &dp, &err), SSDC_OK, "%s", err.msg);
    graph *g = load_cnn1d();
    cr_assert_eq(train_init_fresh(g, 3, &err), SSDC_OK, "%s", err.msg);
    train_data tr = view(&dp.train), te = view(&dp.test);
    eval_result before;
    cr_assert_eq(train_evaluate(g, &te, 64, &before, &err), SSDC_OK, "%s", err.msg);
    train_options o;
    train_options_defaults(&o);
    o.epochs = 15;
    o.batch = 32;
    o.seed = 5;
    o.threads = 1;
    train_result res;
    cr_assert_eq(train_model(g, &tr, NULL, &o, &res, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(res.epochs_run, 15);
    cr_assert_lt(res.history[14].train_loss, res.history[0].train_loss);
    eval_result after;
    cr_assert_eq(train_evaluate(g, &te, 64, &after, &err), SSDC_OK, "%s", err.msg);
    cr_log_info("CBF test accuracy: %.3f before, %.3f after 15 epochs", before.accuracy,
                after.accuracy);
    cr_assert_gt(after.accuracy, 0.85, "test accuracy %.3f", after.accuracy);
    cr_assert_lt(after.loss, before.loss);
    int64_t total = 0;
    for (int i = 0; i < 9; i++)
        total += after.confusion[i];
    cr_assert_eq(total, 300);
    eval_result_free(&before);
    eval_result_free(&after);
    train_result_free(&res);
    graph_free(g);
    dataset_pair_free(&dp);
}

Test(train, early_stopping_restores_best, .timeout = 300)
{
    dataset_pair dp;
    ssdc_error err = {0};
    cr_assert_eq(dataset_generate_cbf(90, 30, 2, &dp, &err), SSDC_OK);
    dataset tr, va;
    cr_assert_eq(dataset_split_stratified(&dp.train, 0.3, 1, &tr, &va, &err), SSDC_OK);
    graph *g = load_cnn1d();
    train_data tv = view(&tr), vv = view(&va);
    train_options o;
    train_options_defaults(&o);
    o.epochs = 40;
    o.batch = 16;
    o.patience = 3;
    o.optim.lr = 0.05f; /* large enough that validation loss stops improving */
    o.bn_recalibrate = false; /* the best epoch's BN statistics as they were */
    train_result res;
    cr_assert_eq(train_model(g, &tv, &vv, &o, &res, &err), SSDC_OK, "%s", err.msg);
    cr_assert(res.best_epoch >= 1);
    double best = INFINITY;
    for (int i = 0; i < res.n_history; i++)
        if (res.history[i].val_loss < best)
            best = res.history[i].val_loss;
    cr_assert_float_eq(res.best_val_loss, best, 1e-12);
    /* the model holds the best epoch's weights: its validation loss is the best one */
    eval_result er;
    cr_assert_eq(train_evaluate(g, &vv, 64, &er, &err), SSDC_OK);
    cr_assert_float_eq(er.loss, best, 1e-5, "%g vs %g", er.loss, best);
    if (res.stopped_early)
        cr_assert_eq(res.epochs_run, res.best_epoch + 3);
    eval_result_free(&er);
    train_result_free(&res);
    graph_free(g);
    dataset_free(&tr);
    dataset_free(&va);
    dataset_pair_free(&dp);
}

/* ---- checkpoints ---- */

static void train_to(graph *g, const dataset *d, int epochs, const char *ckpt, bool resume,
                     train_result *res)
{
    ssdc_error err = {0};
    train_data tv = view(d);
    train_options o;
    train_options_defaults(&o);
    o.epochs = epochs;
    o.batch = 16;
    o.seed = 9;
    o.threads = 1;
    o.checkpoint = ckpt;
    o.resume = resume;
    cr_assert_eq(train_model(g, &tv, NULL, &o, res, &err), SSDC_OK, "%s", err.msg);
}

Test(train, resume_continues_exactly, .timeout = 300)
{
    dataset_pair dp;
    ssdc_error err = {0};
    cr_assert_eq(dataset_generate_cbf(48, 12, 4, &dp, &err), SSDC_OK);
    char *dir = tmpdir();
    char ck_a[256], ck_b[256];
    snprintf(ck_a, sizeof ck_a, "%s/a.ckpt", dir);
    snprintf(ck_b, sizeof ck_b, "%s/b.ckpt", dir);
    /* A: 4 epochs straight.  B: 2 epochs, then resume to 4. */
    graph *ga = load_cnn1d(), *gb = load_cnn1d(), *gb2 = load_cnn1d();
    train_result ra, rb, rb2;
    train_to(ga, &dp.train, 4, ck_a, false, &ra);
    train_to(gb, &dp.train, 2, ck_b, false, &rb);
    train_to(gb2, &dp.train, 4, ck_b, true, &rb2);
    cr_assert(rb2.resumed);
    cr_assert_eq(rb2.resumed_epoch, 2);
    cr_assert_eq(rb2.n_history, 4);
    uint8_t *ba, *bb;
    size_t la, lb;
    cr_assert_eq(onnx_export_buffer(ga, NULL, &ba, &la, &err), SSDC_OK);
    cr_assert_eq(onnx_export_buffer(gb2, NULL, &bb, &lb, &err), SSDC_OK);
    cr_assert(la == lb && memcmp(ba, bb, la) == 0, "resumed training differs from straight training");
    free(ba), free(bb);
    train_result_free(&ra), train_result_free(&rb), train_result_free(&rb2);
    graph_free(ga), graph_free(gb), graph_free(gb2);
    unlink(ck_a), unlink(ck_b), rmdir(dir);
    dataset_pair_free(&dp);
}

Test(checkpoint, torn_or_foreign_files_are_refused)
{
    char *dir = tmpdir();
    char path[256];
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    float params[4] = {1, 2, 3, 4}, state[2] = {5, 6}, m[4] = {0}, best[4] = {1, 2, 3, 4};
    train_epoch_stats h = {.epoch = 1, .train_loss = 0.5};
    checkpoint c = {.model_key = 42, .epochs_done = 1, .step = 7, .n_optim_arrays = 1,
                    .n_params = 4, .n_state = 2, .params = params, .state = state,
                    .optim = {m}, .best_params = best, .best_state = state, .n_history = 1,
                    .history = &h};
    ssdc_error err = {0};
    cr_assert_eq(checkpoint_write(path, &c, &err), SSDC_OK, "%s", err.msg);
    checkpoint r;
    cr_assert_eq(checkpoint_read(path, &r, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(r.step, 7u);
    cr_assert_eq(r.params[3], 4.0f);
    cr_assert_eq(r.history[0].epoch, 1);
    checkpoint_free(&r);
    /* truncate: the checksum catches it */
    cr_assert_eq(truncate(path, 60), 0);
    cr_assert_eq(checkpoint_read(path, &r, &err), SSDC_ERR_FORMAT);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    unlink(path);
    rmdir(dir);
}

/* A full disk during a checkpoint write leaves the previous checkpoint intact. */
Test(checkpoint, full_disk_keeps_previous, .timeout = 60)
{
    char *dir = tmpdir();
    if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") != 0) {
        rmdir(dir);
        cr_skip_test("cannot mount a tmpfs here (needs root)");
    }
    char path[256];
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    float small[16] = {1, 2, 3};
    checkpoint c = {.model_key = 1, .epochs_done = 1, .n_optim_arrays = 0, .n_params = 16,
                    .params = small, .state = small, .best_params = small, .best_state = small};
    ssdc_error err = {0};
    cr_assert_eq(checkpoint_write(path, &c, &err), SSDC_OK, "%s", err.msg);
    /* now a checkpoint far larger than the file system */
    int64_t n = 200000;
    float *big = calloc((size_t)n, sizeof *big);
    checkpoint b = {.model_key = 1, .epochs_done = 2, .n_optim_arrays = 0, .n_params = n,
                    .params = big, .state = big, .best_params = big, .best_state = big};
    ssdc_status st = checkpoint_write(path, &b, &err);
    cr_assert_eq(st, SSDC_ERR_IO);
    cr_assert(strstr(err.msg, "No space left on device"), "%s", err.msg);
    checkpoint r;
    cr_assert_eq(checkpoint_read(path, &r, &err), SSDC_OK, "previous checkpoint lost: %s", err.msg);
    cr_assert_eq(r.epochs_done, 1);
    cr_assert_eq(r.params[1], 2.0f);
    checkpoint_free(&r);
    /* and no temporary file is left behind */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
    cr_assert_eq(system(cmd), 0, "temporary files left in %s", dir);
    free(big);
    umount(dir);
    rmdir(dir);
}

/* A writer killed before its rename leaves TARGET.tmp.PID.N behind; the next
 * successful write of TARGET removes it when PID is gone, and keeps the
 * temporary file of a writer that is still alive. */
Test(checkpoint, stale_temporary_files_are_removed)
{
    char *dir = tmpdir();
    pid_t dead = fork();
    cr_assert_geq(dead, 0);
    if (dead == 0)
        _exit(0);
    cr_assert_eq(waitpid(dead, NULL, 0), dead); /* reaped: its PID no longer exists */
    char stale[512], live[512], other[512], out[256];
    snprintf(out, sizeof out, "%s/m.onnx", dir);
    snprintf(stale, sizeof stale, "%s.tmp.%ld.3", out, (long)dead);
    snprintf(live, sizeof live, "%s.tmp.%ld.0", out, (long)getppid()); /* our parent: alive */
    snprintf(other, sizeof other, "%s/x.onnx.tmp.%ld.0", dir, (long)dead); /* another target */
    const char *files[3] = {stale, live, other};
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(files[i], "w");
        cr_assert(f);
        fputs("partial", f);
        fclose(f);
    }
    ssdc_error err = {0};
    cr_assert_eq(ssdc_write_file_atomic(out, "model", 5, &err), SSDC_OK, "%s", err.msg);
    struct stat st;
    cr_assert_neq(stat(stale, &st), 0, "the dead writer's temporary file is still there");
    cr_assert_eq(stat(live, &st), 0, "a live writer's temporary file was removed");
    cr_assert_eq(stat(other, &st), 0, "another target's temporary file was removed");
    cr_assert_eq(stat(out, &st), 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* A NaN in one sample: training stops naming the step and the node, or, with
 * skip-batch, skips that sample's batch every epoch and finishes. */
Test(train, nonfinite_loss_names_the_node, .timeout = 120)
{
    dataset_pair dp;
    ssdc_error err = {0};
    cr_assert_eq(dataset_generate_cbf(12, 3, 6, &dp, &err), SSDC_OK);
    dp.train.x[5 * 128 + 40] = NAN;
    graph *g = load_cnn1d();
    train_data tv = view(&dp.train);
    train_options o;
    train_options_defaults(&o);
    o.epochs = 3;
    o.batch = 1;
    train_result res;
    cr_assert_eq(train_model(g, &tv, NULL, &o, &res, &err), SSDC_ERR_INVALID);
    cr_assert(strstr(err.msg, "non-finite loss at step") &&
                  strstr(err.msg, "node '/conv1/Conv' (Conv)"),
              "%s", err.msg);
    o.on_nan = TRAIN_ON_NAN_SKIP_BATCH;
    cr_assert_eq(train_model(g, &tv, NULL, &o, &res, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(res.skipped_batches, 3);
    cr_assert(strstr(res.skipped_msg, "/conv1/Conv"), "%s", res.skipped_msg);
    /* the weights stayed finite */
    for (int t = 0; t < g->n_tensors; t++) {
        const graph_tensor *gt = &g->tensors[t];
        if (gt->kind != GRAPH_TENSOR_INITIALIZER || gt->dtype != GRAPH_DT_FLOAT)
            continue;
        int64_t n = 1;
        for (int d = 0; d < gt->shape.rank; d++)
            n *= gt->shape.dims[d];
        for (int64_t i = 0; i < n; i++)
            cr_assert(isfinite(((float *)gt->data)[i]), "%s", gt->name);
    }
    train_result_free(&res);
    graph_free(g);
    dataset_pair_free(&dp);
}

/* train_recalibrate_bn: the first BatchNormalization's running statistics
 * become the mean and population variance of the first convolution's output
 * over the whole training set (computed here by hand), whatever the batch
 * the recalibration runs in. */
Test(train, bn_recalibration_sets_training_set_statistics, .timeout = 120)
{
    dataset_pair dp;
    ssdc_error err = {0};
    cr_assert_eq(dataset_generate_cbf(60, 10, 4, &dp, &err), SSDC_OK, "%s", err.msg);
    graph *g = load_cnn1d();
    cr_assert_eq(train_init_fresh(g, 2, &err), SSDC_OK, "%s", err.msg);
    train_data tr = view(&dp.train);
    /* the first Conv (1 input channel) and the BN after it */
    int conv = -1, bn = -1;
    for (int i = 0; i < g->n_nodes && conv < 0; i++)
        if (g->nodes[i].op == GRAPH_OP_CONV)
            conv = i;
    cr_assert_geq(conv, 0);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == GRAPH_OP_BATCHNORMALIZATION &&
            g->nodes[i].inputs[0] == g->nodes[conv].outputs[0])
            bn = i;
    cr_assert_geq(bn, 0);
    const graph_node *cn = &g->nodes[conv];
    const graph_tensor *w = &g->tensors[cn->inputs[1]], *b = &g->tensors[cn->inputs[2]];
    cr_assert_eq(w->shape.rank, 3);
    cr_assert_eq(w->shape.dims[1], 1);
    int64_t C = w->shape.dims[0], K = w->shape.dims[2], L = tr.dims[1];
    int64_t pads[2] = {0, 0};
    const graph_attr *pa = graph_node_attr(cn, "pads");
    if (pa)
        for (int k = 0; k < 2; k++)
            pads[k] = pa->ints[k];
    cr_assert_eq(graph_attr_int(cn, "group", 1), 1);
    int64_t Lo = L + pads[0] + pads[1] - K + 1;
    float *mean = g->tensors[g->nodes[bn].inputs[3]].data, *var = g->tensors[g->nodes[bn].inputs[4]].data;
    for (int64_t batch = 7; batch <= 60; batch += 53) {
        for (int64_t c = 0; c < C; c++)
            mean[c] = 5.0f, var[c] = 100.0f;
        cr_assert_eq(train_recalibrate_bn(g, &tr, (int)batch, &err), SSDC_OK, "%s", err.msg);
        for (int64_t c = 0; c < C; c++) {
            double s = 0, q = 0;
            const float *wc = (const float *)w->data + c * K;
            for (int64_t n = 0; n < tr.n; n++)
                for (int64_t o = 0; o < Lo; o++) {
                    double y = ((const float *)b->data)[c];
                    for (int64_t k = 0; k < K; k++) {
                        int64_t l = o + k - pads[0];
                        if (l >= 0 && l < L)
                            y += (double)wc[k] * tr.x[n * L + l];
                    }
                    s += y;
                    q += y * y;
                }
            double cnt = (double)(tr.n * Lo), mu = s / cnt, v = q / cnt - mu * mu;
            cr_assert(fabs(mean[c] - mu) <= 1e-4 * (1 + fabs(mu)), "batch %lld, channel %lld: mean %g, expected %g",
                      (long long)batch, (long long)c, mean[c], mu);
            cr_assert(fabs(var[c] - v) <= 1e-3 * (1e-3 + v), "batch %lld, channel %lld: var %g, expected %g",
                      (long long)batch, (long long)c, var[c], v);
        }
    }
    graph_free(g);
    dataset_pair_free(&dp);
}
