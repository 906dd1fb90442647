/* The public C API (include/ssdc/ssdc.h), through libssdc.so and nothing
 * else: errors as values with messages, model inspection, running against
 * the PyTorch fixtures, ONNX buffers, data sets from arrays, training,
 * interruption, distillation options, evaluation and code generation.  The
 * whole story against the installed library is tests/test_install.sh. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ssdc/ssdc.h>

static const char *src_root(void)
{
    const char *r = getenv("SSDC_SOURCE_ROOT");
    return r ? r : ".";
}

static void model_path(const char *file, char *buf, size_t n)
{
    snprintf(buf, n, "%s/models/%s", src_root(), file);
}

/* A float32 .npy (format 1.0, C order) into a malloc'd array. */
static float *read_npy_f32(const char *path, int64_t *count)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    unsigned char head[10];
    cr_assert_eq(fread(head, 1, 10, f), 10u);
    cr_assert_eq(head[6], 1, "%s: expected npy format 1.0", path);
    size_t hl = (size_t)head[8] | (size_t)head[9] << 8;
    char *h = calloc(1, hl + 1);
    cr_assert_eq(fread(h, 1, hl, f), hl);
    cr_assert_not_null(strstr(h, "'<f4'"), "%s is not float32", path);
    long start = ftell(f);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f) - start;
    fseek(f, start, SEEK_SET);
    float *v = malloc((size_t)bytes);
    cr_assert_eq(fread(v, 1, (size_t)bytes, f), (size_t)bytes);
    fclose(f);
    free(h);
    *count = bytes / 4;
    return v;
}

Test(api, version_and_status_names)
{
    cr_assert_str_eq(ssdc_version(), SSDC_VERSION_STRING);
    cr_assert_str_eq(ssdc_status_name(SSDC_OK), "ok");
    cr_assert_str_eq(ssdc_status_name(SSDC_ERR_IO), "i/o error");
    cr_assert_str_eq(ssdc_status_name((ssdc_status)999), "unknown error");
    cr_assert_str_eq(ssdc_dtype_name(SSDC_DTYPE_FLOAT), "float32");
}

Test(api, errors_are_values_with_messages)
{
    ssdc_error err;
    ssdc_model *m = (ssdc_model *)&err; /* must be reset to NULL */
    cr_assert_eq(ssdc_model_import("/nonexistent/model.onnx", &m, &err), SSDC_ERR_IO);
    cr_assert_null(m);
    cr_assert_eq(err.code, SSDC_ERR_IO);
    cr_assert_not_null(strstr(err.msg, "/nonexistent/model.onnx"), "message: %s", err.msg);

    cr_assert_eq(ssdc_model_import_buffer("garbage!", 8, "junk.onnx", &m, &err), SSDC_ERR_FORMAT);
    cr_assert_null(m);
    cr_assert_not_null(strstr(err.msg, "junk.onnx"), "message: %s", err.msg);

    /* NULL arguments and a NULL err */
    cr_assert_eq(ssdc_model_import(NULL, &m, &err), SSDC_ERR_ARG);
    cr_assert_eq(ssdc_model_import("x.onnx", NULL, NULL), SSDC_ERR_ARG);
    cr_assert_eq(ssdc_model_import("/nonexistent.onnx", &m, NULL), SSDC_ERR_IO);
    ssdc_dataset *d = NULL;
    cr_assert_eq(ssdc_dataset_load("/nonexistent/data", NULL, &d, &err), SSDC_ERR_IO,
                 "%s", err.msg);
    cr_assert_null(d);
    cr_assert_eq(ssdc_train(NULL, NULL, NULL, NULL, &err), SSDC_ERR_ARG);
    cr_assert_not_null(strstr(err.msg, "ssdc_train"), "message: %s", err.msg);

    /* the free functions take NULL */
    ssdc_model_free(NULL);
    ssdc_session_free(NULL);
    ssdc_dataset_free(NULL);
    ssdc_eval_result_free(NULL);
    ssdc_free(NULL);

    /* success leaves err alone */
    char path[4096];
    model_path("cnn1d.onnx", path, sizeof path);
    strcpy(err.msg, "untouched");
    cr_assert_eq(ssdc_model_import(path, &m, &err), SSDC_OK);
    cr_assert_str_eq(err.msg, "untouched");
    ssdc_model_free(m);
}

Test(api, model_info_inputs_outputs)
{
    char path[4096];
    ssdc_error err;
    ssdc_model *m;
    model_path("cnn1d.onnx", path, sizeof path);
    cr_assert_eq(ssdc_model_import(path, &m, &err), SSDC_OK, "%s", err.msg);
    ssdc_model_info info;
    cr_assert_eq(ssdc_model_get_info(m, &info, &err), SSDC_OK);
    cr_assert_eq(info.n_inputs, 1);
    cr_assert_eq(info.n_outputs, 1);
    cr_assert_eq(info.opset, 13);
    cr_assert_str_eq(info.producer_name, "pytorch");
    cr_assert_str_eq(info.source, path);
    cr_assert_eq(info.n_params, 6243); /* as `ssdc inspect` */
    cr_assert_eq(info.flops_per_sample, 1509568);
    cr_assert_gt(info.arena_bytes_per_sample, 0);
    cr_assert_eq(info.n_unsupported, 0);

    ssdc_tensor_info t;
    cr_assert_eq(ssdc_model_input(m, 0, &t, &err), SSDC_OK);
    cr_assert_str_eq(t.name, "input");
    cr_assert_eq(t.dtype, SSDC_DTYPE_FLOAT);
    cr_assert_eq(t.rank, 3);
    cr_assert_eq(t.dims[0], -1);
    cr_assert_str_eq(t.dim_names[0], "batch");
    cr_assert_eq(t.dims[1], 1);
    cr_assert_eq(t.dims[2], 128);
    cr_assert_str_eq(t.dim_names[2], "");
    cr_assert_eq(ssdc_model_output(m, 0, &t, &err), SSDC_OK);
    cr_assert_str_eq(t.name, "logits");
    cr_assert_eq(t.rank, 2);
    cr_assert_eq(t.dims[1], 3);
    cr_assert_eq(ssdc_model_output(m, 1, &t, &err), SSDC_ERR_ARG);
    cr_assert_not_null(strstr(err.msg, "1 outputs"), "%s", err.msg);
    ssdc_model_free(m);
}

/* Every bundled model run through a session matches PyTorch's output. */
Test(api, session_matches_pytorch_fixtures)
{
    const char *names[] = {"cnn1d", "cnn2d", "har6", "resnet1d"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[4096], in_path[4096], out_path[4096];
        snprintf(path, sizeof path, "%s/models/%s.onnx", src_root(), names[k]);
        snprintf(in_path, sizeof in_path, "%s/models/%s.input.npy", src_root(), names[k]);
        snprintf(out_path, sizeof out_path, "%s/models/%s.output.npy", src_root(), names[k]);
        ssdc_error err;
        ssdc_model *m;
        ssdc_session *s;
        cr_assert_eq(ssdc_model_import(path, &m, &err), SSDC_OK, "%s", err.msg);
        ssdc_tensor_info ti;
        cr_assert_eq(ssdc_model_input(m, 0, &ti, &err), SSDC_OK);
        int64_t n_in, n_out;
        float *x = read_npy_f32(in_path, &n_in), *want = read_npy_f32(out_path, &n_out);
        ssdc_tensor in = {.data = x, .rank = ti.rank};
        int64_t per = 1;
        for (int d = 1; d < ti.rank; d++)
            per *= (in.dims[d] = ti.dims[d]);
        in.dims[0] = n_in / per;
        cr_assert_eq(ssdc_session_create(m, NULL, &s, &err), SSDC_OK, "%s", err.msg);
        ssdc_model_free(m); /* the session keeps its own copy */
        ssdc_tensor out;
        cr_assert_eq(ssdc_session_output(s, 0, &out, &err), SSDC_ERR_ARG); /* not run yet */
        cr_assert_eq(ssdc_session_run(s, &in, 1, &err), SSDC_OK, "%s: %s", names[k], err.msg);
        cr_assert_eq(ssdc_session_output(s, 0, &out, &err), SSDC_OK);
        int64_t n = 1;
        for (int d = 0; d < out.rank; d++)
            n *= out.dims[d];
        cr_assert_eq(n, n_out, "%s: %lld outputs, fixture %lld", names[k], (long long)n,
                     (long long)n_out);
        for (int64_t i = 0; i < n; i++)
            cr_assert_float_eq(out.data[i], want[i], 1e-4, "%s[%lld]: %g vs %g", names[k],
                               (long long)i, out.data[i], want[i]);
        /* wrong input count, wrong shape: errors, session still usable */
        cr_assert_eq(ssdc_session_run(s, &in, 2, &err), SSDC_ERR_ARG);
        ssdc_tensor bad = in;
        bad.dims[ti.rank - 1] += 1;
        cr_assert_neq(ssdc_session_run(s, &bad, 1, &err), SSDC_OK);
        cr_assert_eq(ssdc_session_run(s, &in, 1, &err), SSDC_OK, "%s", err.msg);
        ssdc_session_free(s);
        free(x);
        free(want);
    }
}

Test(api, export_buffer_round_trip_and_clone)
{
    char path[4096];
    ssdc_error err;
    ssdc_model *m, *back, *copy;
    model_path("cnn1d.onnx", path, sizeof path);
    cr_assert_eq(ssdc_model_import(path, &m, &err), SSDC_OK, "%s", err.msg);
    void *bytes;
    size_t len;
    cr_assert_eq(ssdc_model_export_buffer(m, &bytes, &len, &err), SSDC_OK, "%s", err.msg);
    cr_assert_gt(len, 1000u);
    cr_assert_eq(ssdc_model_import_buffer(bytes, len, "mem.onnx", &back, &err), SSDC_OK, "%s",
                 err.msg);
    void *bytes2;
    size_t len2;
    cr_assert_eq(ssdc_model_export_buffer(back, &bytes2, &len2, &err), SSDC_OK);
    cr_assert_eq(len, len2);
    cr_assert_eq(memcmp(bytes, bytes2, len), 0, "export is not deterministic");
    cr_assert_eq(ssdc_model_clone(m, &copy, &err), SSDC_OK);
    cr_assert_eq(ssdc_model_reinit(copy, SSDC_INIT_STUDENT, 3, &err), SSDC_OK, "%s", err.msg);
    void *bytes3;
    size_t len3;
    cr_assert_eq(ssdc_model_export_buffer(copy, &bytes3, &len3, &err), SSDC_OK);
    cr_assert(len3 != len || memcmp(bytes, bytes3, len) != 0, "reinit changed nothing");
    cr_assert_eq(ssdc_model_reinit(copy, (ssdc_init)7, 3, &err), SSDC_ERR_ARG);
    ssdc_free(bytes);
    ssdc_free(bytes2);
    ssdc_free(bytes3);
    ssdc_model_free(m);
    ssdc_model_free(back);
    ssdc_model_free(copy);
}

/* Two classes of length-16 series: rising vs falling ramps plus noise. */
static void make_ramps(float *x, int64_t *y, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        y[i] = i % 2;
        for (int t = 0; t < 16; t++) {
            seed = seed * 1103515245u + 12345u;
            float noise = ((float)(seed >> 16 & 0x7fff) / 32768.0f - 0.5f) * 0.5f;
            x[i * 16 + t] = (y[i] ? 1.0f - t / 8.0f : t / 8.0f - 1.0f) + noise;
        }
    }
}

typedef struct {
    int epochs_seen;
    volatile sig_atomic_t *stop;
    int stop_after;
} hook_state;

static void on_epoch(const ssdc_epoch *e, void *user)
{
    hook_state *h = user;
    h->epochs_seen++;
    cr_assert_eq(e->epoch, h->epochs_seen);
    cr_assert(isfinite(e->train_loss));
    if (h->stop && e->epoch == h->stop_after)
        *h->stop = 1;
}

Test(api, arrays_train_evaluate_distill_codegen)
{
    enum { NTR = 64, NTE = 32 };
    static float xtr[NTR * 16], xte[NTE * 16];
    static int64_t ytr[NTR], yte[NTE];
    make_ramps(xtr, ytr, NTR, 1);
    make_ramps(xte, yte, NTE, 2);
    ssdc_error err;
    ssdc_dataset *d;
    ssdc_dataset_arrays a = {.rank = 1, .dims = {16}, .x_train = xtr, .y_train = ytr,
                             .n_train = NTR, .x_test = xte, .y_test = yte, .n_test = NTE};
    ytr[5] = 9;
    a.n_classes = 2;
    cr_assert_eq(ssdc_dataset_from_arrays(&a, &d, &err), SSDC_ERR_ARG);
    ytr[5] = 1;
    a.n_classes = 0;
    cr_assert_eq(ssdc_dataset_from_arrays(&a, &d, &err), SSDC_OK, "%s", err.msg);
    ssdc_dataset_info di;
    cr_assert_eq(ssdc_dataset_get_info(d, &di, &err), SSDC_OK);
    cr_assert_eq(di.n_classes, 2);
    cr_assert_eq(di.rank, 2); /* [L] is stored as [1, L] */
    cr_assert_eq(di.dims[0], 1);
    cr_assert_eq(di.dims[1], 16);
    cr_assert_str_eq(di.format, "arrays");
    const float *x0;
    int64_t y0;
    cr_assert_eq(ssdc_dataset_sample(d, SSDC_SPLIT_TEST, 3, &x0, &y0, &err), SSDC_OK);
    cr_assert_eq(x0[0], xte[3 * 16]);
    cr_assert_eq(y0, yte[3]);
    cr_assert_eq(ssdc_dataset_sample(d, SSDC_SPLIT_TEST, NTE, &x0, &y0, &err), SSDC_ERR_ARG);

    ssdc_model *m;
    cr_assert_eq(ssdc_model_builtin_cnn1d(1, 16, 2, 0.1f, 5, &m, &err), SSDC_OK, "%s", err.msg);

    /* option checks */
    ssdc_train_options to;
    ssdc_train_options_init(&to);
    to.patience = 3;
    to.val_split = 0;
    cr_assert_eq(ssdc_train(m, d, &to, NULL, &err), SSDC_ERR_ARG);
    cr_assert_not_null(strstr(err.msg, "validation"), "%s", err.msg);
    ssdc_train_options_init(&to);
    to.nesterov = true;
    cr_assert_eq(ssdc_train(m, d, &to, NULL, &err), SSDC_ERR_ARG);

    /* training, with a callback and an interruption after epoch 2 */
    volatile sig_atomic_t stop = 0;
    hook_state h = {.stop = &stop, .stop_after = 2};
    ssdc_train_options_init(&to);
    to.epochs = 30;
    to.batch = 16;
    to.lr = 5e-3f;
    to.stop = &stop;
    to.on_epoch = on_epoch;
    to.user = &h;
    ssdc_train_result tr;
    cr_assert_eq(ssdc_train(m, d, &to, &tr, &err), SSDC_OK, "%s", err.msg);
    cr_assert(tr.interrupted);
    cr_assert_leq(tr.epochs_run, 3);

    h = (hook_state){0};
    to.stop = NULL;
    to.val_split = 0.25;
    cr_assert_eq(ssdc_train(m, d, &to, &tr, &err), SSDC_OK, "%s", err.msg);
    cr_assert_not(tr.interrupted);
    cr_assert_eq(tr.epochs_run, 30);
    cr_assert_eq(h.epochs_seen, 30);
    cr_assert_eq(tr.n_train + tr.n_val, NTR);
    cr_assert_eq(tr.n_val, 16);
    cr_assert(isfinite(tr.last.val_loss));
    ssdc_eval_result ev;
    cr_assert_eq(ssdc_evaluate(m, d, SSDC_SPLIT_TEST, 0, &ev, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(ev.n, NTE);
    cr_assert_eq(ev.n_classes, 2);
    cr_assert_geq(ev.accuracy, 0.9, "teacher accuracy %g", ev.accuracy);
    int64_t total = 0;
    for (int i = 0; i < 4; i++)
        total += ev.confusion[i];
    cr_assert_eq(total, NTE);
    ssdc_eval_result_free(&ev);
    cr_assert_null(ev.confusion);

    /* distillation: bad options, then SSD and the CE ablation */
    ssdc_distill_options so;
    ssdc_distill_options_init(&so);
    cr_assert_eq(so.reps, 30);
    cr_assert_float_eq(so.tau, 5.0f, 1e-6);
    cr_assert_float_eq(so.percentile, 90.0f, 1e-4);
    cr_assert_float_eq(so.alpha, 0.5f, 1e-6);
    ssdc_model *student = (ssdc_model *)&err;
    so.reps = 0;
    cr_assert_eq(ssdc_distill(m, d, &so, &to, &student, NULL, &err), SSDC_ERR_ARG);
    cr_assert_null(student);
    so.reps = 4;
    so.feature = "no_such_tensor";
    cr_assert_neq(ssdc_distill(m, d, &so, &to, &student, NULL, &err), SSDC_OK);
    cr_assert_not_null(strstr(err.msg, "no_such_tensor"), "%s", err.msg);
    so.feature = NULL;
    to.epochs = 20;
    to.val_split = 0;
    to.on_epoch = NULL;
    ssdc_distill_result dr;
    cr_assert_eq(ssdc_distill(m, d, &so, &to, &student, &dr, &err), SSDC_OK, "%s", err.msg);
    cr_assert(dr.feature_auto);
    cr_assert_gt(strlen(dr.feature), 0u);
    cr_assert_eq(dr.train.epochs_run, 20);
    cr_assert_gt(dr.region_nodes, 0);
    cr_assert_eq(ssdc_evaluate(student, d, SSDC_SPLIT_TEST, 8, &ev, &err), SSDC_OK);
    cr_assert_geq(ev.accuracy, 0.8, "student accuracy %g", ev.accuracy);
    ssdc_eval_result_free(&ev);

    ssdc_model *ce_student;
    so.mode = SSDC_DISTILL_CE;
    to.epochs = 2;
    so.finetune_epochs = 1;
    cr_assert_eq(ssdc_distill(m, d, &so, &to, &ce_student, &dr, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(dr.train.epochs_run, 3);
    ssdc_model_free(ce_student);

    /* code generation */
    char dir[] = "/tmp/ssdc_api_test_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(ssdc_codegen(student, dir, "1bad", NULL, NULL, &err), SSDC_ERR_ARG);
    ssdc_codegen_result cg;
    cr_assert_eq(ssdc_codegen(student, dir, "student", NULL, &cg, &err), SSDC_OK, "%s", err.msg);
    cr_assert_gt(cg.n_nodes, 0);
    cr_assert_gt(cg.weight_bytes, 0u);
    char f[256];
    snprintf(f, sizeof f, "%s/student.c", dir);
    cr_assert_eq(access(f, R_OK), 0);
    unlink(f);
    snprintf(f, sizeof f, "%s/student.h", dir);
    cr_assert_eq(access(f, R_OK), 0);
    unlink(f);
    rmdir(dir);

    ssdc_model_free(student);
    ssdc_model_free(m);
    ssdc_dataset_free(d);
}

Test(api, cbf_dataset_options)
{
    ssdc_error err;
    ssdc_dataset *d;
    ssdc_dataset_options o = {.cbf_n_train = 12, .cbf_n_test = 9, .cbf_seed = 4,
                              .normalize = SSDC_NORM_ZNORM_SAMPLE};
    cr_assert_eq(ssdc_dataset_load("cbf", &o, &d, &err), SSDC_OK, "%s", err.msg);
    ssdc_dataset_info di;
    cr_assert_eq(ssdc_dataset_get_info(d, &di, &err), SSDC_OK);
    cr_assert_eq(di.n_train, 12);
    cr_assert_eq(di.n_test, 9);
    cr_assert_eq(di.n_classes, 3);
    cr_assert_eq(di.sample_size, 128);
    const char *name;
    cr_assert_eq(ssdc_dataset_class_name(d, 0, &name, &err), SSDC_OK);
    cr_assert_str_eq(name, "cylinder");
    cr_assert_eq(ssdc_dataset_class_name(d, 3, &name, &err), SSDC_ERR_ARG);
    const float *x;
    cr_assert_eq(ssdc_dataset_sample(d, SSDC_SPLIT_TRAIN, 0, &x, NULL, &err), SSDC_OK);
    double mean = 0;
    for (int i = 0; i < 128; i++)
        mean += x[i];
    cr_assert_float_eq(mean / 128, 0.0, 1e-4, "znorm-sample mean %g", mean / 128);
    ssdc_dataset_free(d);
    o.normalize = (ssdc_normalize)9;
    cr_assert_eq(ssdc_dataset_load("cbf", &o, &d, &err), SSDC_ERR_ARG);
}
