/* examples/classify.c: the whole ssdc story through the public C API only.
 *
 *   1. import an ONNX classifier (models/cnn1d.onnx: a PyTorch 1D-CNN) and
 *      print its inputs and outputs;
 *   2. load the built-in Cylinder-Bell-Funnel data set (generated, no files);
 *   3. train the model briefly (the teacher) and evaluate it;
 *   4. distil a fresh same-size student with stochastic self-distillation
 *      (SSD: K stochastic teacher passes, student-guided weighting);
 *   5. evaluate the student, export it to ONNX, import the file again and
 *      run it on test samples;
 *   6. generate dependency-free C for it.
 *
 * Build against an installed libssdc:
 *     cc -o classify classify.c $(pkg-config --cflags --libs ssdc)
 * Run:
 *     ./classify models/cnn1d.onnx OUTDIR
 * Exit status 0 on success; on an error the message names what went wrong. */
#include <ssdc/ssdc.h>

#include <stdio.h>
#include <string.h>

static void print_tensor(const char *kind, const ssdc_tensor_info *t)
{
    printf("  %s %s: %s [", kind, t->name, ssdc_dtype_name(t->dtype));
    for (int d = 0; d < t->rank; d++) {
        if (t->dims[d] >= 0)
            printf("%s%lld", d ? "," : "", (long long)t->dims[d]);
        else
            printf("%s%s", d ? "," : "", t->dim_names[d][0] ? t->dim_names[d] : "?");
    }
    printf("]\n");
}

static void on_epoch(const ssdc_epoch *e, void *user)
{
    printf("  %s epoch %d/%d: loss %.4f, train accuracy %.1f%%\n", (const char *)user, e->epoch,
           e->epochs, e->train_loss, 100 * e->train_acc);
}

static int argmax(const float *v, int64_t n)
{
    int best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = (int)i;
    return best;
}

int main(int argc, char **argv)
{
    const char *model_path = argc > 1 ? argv[1] : "models/cnn1d.onnx";
    const char *outdir = argc > 2 ? argv[2] : ".";
    char path[4096];
    ssdc_error err;
    ssdc_model *teacher = NULL, *student = NULL, *reloaded = NULL;
    ssdc_dataset *data = NULL;
    ssdc_session *session = NULL;
    ssdc_eval_result ev = {0};
    int rc = 1;

    printf("libssdc %s\n", ssdc_version());

    /* 1. import */
    ssdc_model_info mi;
    if (ssdc_model_import(model_path, &teacher, &err) || ssdc_model_get_info(teacher, &mi, &err))
        goto fail;
    printf("model %s: opset %lld, %d nodes, %lld parameters, %lld FLOPs per sample\n",
           model_path, (long long)mi.opset, mi.n_nodes, (long long)mi.n_params,
           (long long)mi.flops_per_sample);
    for (int i = 0; i < mi.n_inputs; i++) {
        ssdc_tensor_info t;
        if (ssdc_model_input(teacher, i, &t, &err))
            goto fail;
        print_tensor("input", &t);
    }
    for (int i = 0; i < mi.n_outputs; i++) {
        ssdc_tensor_info t;
        if (ssdc_model_output(teacher, i, &t, &err))
            goto fail;
        print_tensor("output", &t);
    }

    /* 2. data */
    ssdc_dataset_options dopt = {.cbf_n_train = 150, .cbf_n_test = 300, .cbf_seed = 7};
    ssdc_dataset_info di;
    if (ssdc_dataset_load("cbf", &dopt, &data, &err) || ssdc_dataset_get_info(data, &di, &err))
        goto fail;
    printf("data %s: %lld train / %lld test samples, %d classes, sample [%lld,%lld]\n", di.name,
           (long long)di.n_train, (long long)di.n_test, di.n_classes, (long long)di.dims[0],
           (long long)di.dims[1]);

    /* 3. teacher: cross-entropy, a few epochs */
    ssdc_train_options to;
    ssdc_train_options_init(&to);
    to.epochs = 8;
    to.batch = 32;
    to.lr = 3e-3f;
    to.seed = 1;
    to.on_epoch = on_epoch;
    to.user = (void *)"teacher";
    ssdc_train_result tr;
    if (ssdc_train(teacher, data, &to, &tr, &err))
        goto fail;
    if (ssdc_evaluate(teacher, data, SSDC_SPLIT_TEST, 0, &ev, &err))
        goto fail;
    printf("teacher: %d epochs in %.2fs, test accuracy %.2f%%\n", tr.epochs_run, tr.seconds,
           100 * ev.accuracy);
    ssdc_eval_result_free(&ev);

    /* 4. student: SSD with K = 8 stochastic teacher passes */
    ssdc_distill_options so;
    ssdc_distill_options_init(&so);
    so.reps = 8;
    to.epochs = 8;
    to.user = (void *)"student";
    ssdc_distill_result dr;
    if (ssdc_distill(teacher, data, &so, &to, &student, &dr, &err))
        goto fail;
    printf("student: SSD on feature '%s'%s, teacher dropout %s, %d epochs in %.2fs\n", dr.feature,
           dr.feature_auto ? " (auto)" : "", dr.dropouts, dr.train.epochs_run, dr.train.seconds);

    /* 5. evaluate, export, reload, run */
    if (ssdc_evaluate(student, data, SSDC_SPLIT_TEST, 0, &ev, &err))
        goto fail;
    printf("student: test accuracy %.2f%%\n", 100 * ev.accuracy);
    printf("confusion (rows: true class, columns: predicted):\n");
    for (int c = 0; c < ev.n_classes; c++) {
        const char *name;
        if (ssdc_dataset_class_name(data, c, &name, &err))
            goto fail;
        printf("  %-8s", name);
        for (int k = 0; k < ev.n_classes; k++)
            printf(" %5lld", (long long)ev.confusion[c * ev.n_classes + k]);
        printf("\n");
    }
    ssdc_eval_result_free(&ev);

    snprintf(path, sizeof path, "%s/student.onnx", outdir);
    if (ssdc_model_export(student, path, &err))
        goto fail;
    printf("wrote %s\n", path);
    if (ssdc_model_import(path, &reloaded, &err) || ssdc_session_create(reloaded, NULL, &session, &err))
        goto fail;

    enum { N = 8 };
    static float batch[N * 128];
    int64_t labels[N];
    if (di.rank != 2 || N * di.sample_size > (int64_t)(sizeof batch / sizeof *batch)) {
        fprintf(stderr, "classify: expected samples [channels, length] of at most 128 values\n");
        goto done;
    }
    for (int i = 0; i < N; i++) {
        const float *x;
        if (ssdc_dataset_sample(data, SSDC_SPLIT_TEST, i, &x, &labels[i], &err))
            goto fail;
        memcpy(batch + i * di.sample_size, x, (size_t)di.sample_size * sizeof *x);
    }
    ssdc_tensor in = {.data = batch, .rank = 3, .dims = {N, di.dims[0], di.dims[1]}};
    ssdc_tensor out;
    if (ssdc_session_run(session, &in, 1, &err) || ssdc_session_output(session, 0, &out, &err))
        goto fail;
    int correct = 0;
    printf("predictions of %s on %d test samples:", path, N);
    for (int i = 0; i < N; i++) {
        int p = argmax(out.data + i * out.dims[1], out.dims[1]);
        correct += p == labels[i];
        printf(" %d/%lld", p, (long long)labels[i]);
    }
    printf("  (%d of %d right)\n", correct, N);

    /* 6. C code for a microcontroller */
    snprintf(path, sizeof path, "%s/student_c", outdir);
    ssdc_codegen_result cg;
    if (ssdc_codegen(student, path, "student", NULL, &cg, &err))
        goto fail;
    printf("wrote %s/student.c and student.h: %d node functions, arena %zu bytes, weights %zu "
           "bytes\n",
           path, cg.n_nodes, cg.arena_bytes, cg.weight_bytes);

    printf("ok\n");
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "classify: error (%s): %s\n", ssdc_status_name(err.code), err.msg);
done:
    ssdc_eval_result_free(&ev);
    ssdc_session_free(session);
    ssdc_model_free(reloaded);
    ssdc_model_free(student);
    ssdc_model_free(teacher);
    ssdc_dataset_free(data);
    return rc;
}
