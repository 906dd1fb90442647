/* ssdc train / ssdc eval */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/data.h"
#include "cli/report.h"
#include "cli/train_flags.h"
#include "frontend/onnx_export.h"
#include "frontend/onnx_import.h"
#include "runtime/train.h"

static const char train_usage[] =
    "usage: ssdc train MODEL.onnx --data SPEC -o TRAINED.onnx [options]\n"
    "\n"
    "Trains the architecture in MODEL.onnx with softmax cross-entropy and writes the\n"
    "trained model as ONNX (same graph, updated weights and BatchNorm statistics).\n"
    "\n"
    "options:\n" CLI_DATA_HELP
    "  -o, --output FILE       the trained model (written atomically)\n"
    "  --init onnx|fresh       keep the file's weights (default) or reinitialise them\n"
    CLI_TRAIN_HELP CLI_REPORT_HELP;

static const char eval_usage[] =
    "usage: ssdc eval MODEL.onnx --data SPEC [options]\n"
    "\n"
    "Prints accuracy, per-class precision and recall and the confusion matrix of the\n"
    "model on a split of the data set.\n"
    "\n"
    "options:\n" CLI_DATA_HELP
    "  --split test|train      which split (default test)\n"
    "  --batch N               batch size (default 128)\n";

int cli_train(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL, *init = "onnx";
    cli_data_options data = {0};
    cli_train_flags tf;
    report_flags rf = {0};
    cli_train_flags_init(&tf);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_data_parse_flag(&data, "train", argc, argv, &i);
        if (!r)
            r = cli_train_parse_flag(&tf, "train", argc, argv, &i);
        if (!r)
            r = report_parse_flag(&rf, "train", argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(train_usage, stdout);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--init") && i + 1 < argc) {
            init = argv[++i];
            if (strcmp(init, "onnx") && strcmp(init, "fresh"))
                return cli_usage_error("train", "--init expects onnx or fresh, got '%s'", init);
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("train", "unknown option or missing value: '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_usage_error("train", "more than one model given ('%s')", a);
        }
    }
    if (!path)
        return cli_usage_error("train", "no model given");
    if (!data.spec)
        return cli_usage_error("train", "no --data given");
    if (!out_path)
        return cli_usage_error("train", "no output given (-o TRAINED.onnx)");
    if (cli_train_flags_finish(&tf, "train"))
        return 2;
    train_options opt = tf.opt;
    const char *checkpoint = tf.checkpoint;
    bool quiet = tf.quiet;
    double val_split = tf.val_split;

    char *ckpt_buf = NULL;
    if (!checkpoint) {
        size_t n = strlen(out_path) + 8;
        ckpt_buf = malloc(n);
        if (!ckpt_buf)
            return cli_errorf("out of memory");
        snprintf(ckpt_buf, n, "%s.ckpt", out_path);
        checkpoint = ckpt_buf;
    }
    opt.checkpoint = checkpoint;

    ssdc_error err = {0};
    graph *g = NULL;
    dataset_pair dp = {0};
    dataset tr = {0}, va = {0};
    int rc = 0;
    run_report *rep = report_new(&rf, argc, argv);
    if ((rf.html || rf.metrics) && !rep) {
        rc = cli_errorf("out of memory");
        goto done;
    }
    if (onnx_import_file(path, &g, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (cli_data_load(&data, &dp, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (!quiet)
        cli_data_print_summary(&dp);
    if (val_split > 0) {
        if (dataset_split_stratified(&dp.train, val_split, opt.seed, &tr, &va, &err)) {
            rc = cli_error(&err);
            goto done;
        }
        if (!quiet)
            printf("validation: %lld of the training samples (stratified, seed %llu)\n",
                   (long long)va.n, (unsigned long long)opt.seed);
    } else if (dataset_copy(&dp.train, &tr, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (!strcmp(init, "fresh") && train_init_fresh(g, opt.seed, &err)) {
        ssdc_error_prefix(&err, "%s", path);
        rc = cli_error(&err);
        goto done;
    }
    int C = dp.train.n_classes;
    train_data tdv = cli_data_view(&tr, C), vdv = cli_data_view(&va, C),
               test = cli_data_view(&dp.test, C);
    report_set_data(rep, &dp, &tr, va.n ? &va : NULL);
    cli_progress pc;
    cli_progress_attach(&pc, &opt, quiet, NULL);
    report_run *rrun = report_begin_run(rep, "model", "ce", 0, -1, -1, &pc, &opt);
    cli_install_stop_handler();
    train_result res;
    if (train_model(g, &tdv, va.n ? &vdv : NULL, &opt, &res, &err)) {
        ssdc_error_prefix(&err, "%s", path);
        rc = cli_error(&err);
        goto done;
    }
    report_end_run(rrun, &res);
    cli_report_skipped(&res);
    if (res.resumed && !quiet)
        printf("resumed from %s after epoch %d\n", checkpoint, res.resumed_epoch);
    if (res.interrupted) {
        fprintf(stderr, "ssdc: interrupted; %d epochs are saved in %s; continue with --resume\n",
                res.epochs_run, checkpoint);
        train_result_free(&res);
        if (report_finish(rep, &err))
            cli_error(&err);
        rc = 130;
        goto done;
    }
    onnx_export_options eo = {.producer_version = cli_version};
    if (onnx_export_file(g, out_path, &eo, &err)) {
        train_result_free(&res);
        rc = cli_error(&err);
        goto done;
    }
    eval_result etr, ete;
    if (train_evaluate(g, &tdv, opt.batch, &etr, &err) ||
        train_evaluate(g, &test, opt.batch, &ete, &err)) {
        train_result_free(&res);
        rc = cli_error(&err);
        goto done;
    }
    printf("trained %d epochs in %.1fs%s", res.epochs_run, res.seconds,
           res.stopped_early ? " (early stopping)" : "");
    if (res.best_epoch)
        printf(", best validation loss %.4f at epoch %d%s", res.best_val_loss, res.best_epoch,
               opt.patience > 0 ? " (weights restored)" : "");
    printf("\n");
    printf("accuracy: train %.2f%%", 100 * etr.accuracy);
    double val_acc = NAN;
    if (va.n) {
        eval_result eva;
        if (!train_evaluate(g, &vdv, opt.batch, &eva, &err)) {
            printf("  val %.2f%%", 100 * eva.accuracy);
            val_acc = eva.accuracy;
            eval_result_free(&eva);
        }
    }
    printf("  test %.2f%%\n", 100 * ete.accuracy);
    printf("wrote %s\n", out_path);
    report_set_model(rep, out_path, g);
    report_add_result(rep, "model (CE)", "ce", &ete, res.seconds, res.epochs_run, res.best_epoch,
                      etr.accuracy, val_acc);
    if (report_finish(rep, &err))
        rc = cli_error(&err);
    else if (rf.html)
        printf("wrote %s\n", rf.html);
    eval_result_free(&etr);
    eval_result_free(&ete);
    train_result_free(&res);
done:
    report_free(rep);
    dataset_free(&tr);
    dataset_free(&va);
    dataset_pair_free(&dp);
    graph_free(g);
    free(ckpt_buf);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    const char *path = NULL, *split = "test";
    cli_data_options data = {0};
    long long batch = 128;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int dr = cli_data_parse_flag(&data, "eval", argc, argv, &i);
        if (dr < 0)
            return 2;
        if (dr > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(eval_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--split") && i + 1 < argc) {
            split = argv[++i];
            if (strcmp(split, "test") && strcmp(split, "train"))
                return cli_usage_error("eval", "--split expects test or train");
        } else if (!strcmp(a, "--batch") && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], 1, 1 << 20, &batch))
                return cli_usage_error("eval", "--batch expects a positive count");
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("eval", "unknown option or missing value: '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_usage_error("eval", "more than one model given ('%s')", a);
        }
    }
    if (!path)
        return cli_usage_error("eval", "no model given");
    if (!data.spec)
        return cli_usage_error("eval", "no --data given");
    ssdc_error err = {0};
    graph *g = NULL;
    dataset_pair dp = {0};
    int rc = 0;
    if (onnx_import_file(path, &g, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (cli_data_load(&data, &dp, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    const dataset *d = !strcmp(split, "train") ? &dp.train : &dp.test;
    int C = dp.train.n_classes;
    train_data view = cli_data_view(d, C);
    eval_result r;
    if (train_evaluate(g, &view, (int)batch, &r, &err)) {
        ssdc_error_prefix(&err, "%s", path);
        rc = cli_error(&err);
        goto done;
    }
    printf("model: %s\n", path);
    cli_data_print_summary(&dp);
    printf("%s split: %lld samples, accuracy %.2f%%, mean cross-entropy %.4f\n", split,
           (long long)r.n, 100 * r.accuracy, r.loss);
    printf("\n%-16s %9s %9s %8s\n", "class", "precision", "recall", "support");
    for (int c = 0; c < C; c++) {
        int64_t tp = r.confusion[c * C + c], pred = 0, sup = 0;
        for (int k = 0; k < C; k++) {
            pred += r.confusion[k * C + c];
            sup += r.confusion[c * C + k];
        }
        char p[16], rc_[16];
        if (pred)
            snprintf(p, sizeof p, "%.3f", (double)tp / (double)pred);
        else
            snprintf(p, sizeof p, "-");
        if (sup)
            snprintf(rc_, sizeof rc_, "%.3f", (double)tp / (double)sup);
        else
            snprintf(rc_, sizeof rc_, "-");
        printf("%-16.16s %9s %9s %8lld\n", dp.train.class_names ? dp.train.class_names[c] : "?", p,
               rc_, (long long)sup);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n%-16s", "");
    for (int c = 0; c < C; c++)
        printf(" %6d", c);
    printf("\n");
    for (int c = 0; c < C; c++) {
        printf("%2d %-13.13s", c, dp.train.class_names ? dp.train.class_names[c] : "?");
        for (int k = 0; k < C; k++)
            printf(" %6lld", (long long)r.confusion[c * C + k]);
        printf("\n");
    }
    eval_result_free(&r);
done:
    dataset_pair_free(&dp);
    graph_free(g);
    return rc;
}
