/* ssdc train / ssdc eval */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/data.h"
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
    "  --epochs N              epochs (default 100)\n"
    "  --batch N               batch size (default 128)\n"
    "  --optimizer NAME        sgd | adam | adamw (default adam)\n"
    "  --lr X                  learning rate (default 1e-3; sgd 1e-2)\n"
    "  --momentum X            sgd momentum (default 0)\n"
    "  --nesterov              sgd Nesterov momentum\n"
    "  --weight-decay X        L2 (sgd, adam) or decoupled (adamw, default 1e-2) weight decay\n"
    "  --amsgrad               AMSGrad variant of adam/adamw\n"
    "  --beta1 X, --beta2 X    Adam betas (default 0.9, 0.999)\n"
    "  --eps X                 Adam epsilon (default 1e-8)\n"
    "  --label-smoothing X     cross-entropy label smoothing (default 0)\n"
    "  --init onnx|fresh       keep the file's weights (default) or reinitialise them\n"
    "  --val-split F           hold out a seeded stratified fraction of the training split\n"
    "                          for validation (default 0; 0.2 when --patience is given)\n"
    "  --patience N            early stopping: stop after N epochs without a better\n"
    "                          validation loss and restore the best weights (default off)\n"
    "  --seed N                seed for initialisation, shuffling, dropout, split (default 0)\n"
    "  --threads N             OpenBLAS threads (default: OpenBLAS's own)\n"
    "  --log FILE.csv          per-epoch metrics (epoch, losses, accuracies, seconds)\n"
    "  --checkpoint FILE       checkpoint written after every epoch (default OUTPUT.ckpt)\n"
    "  --resume                continue from the checkpoint (after Ctrl-C or a kill)\n"
    "  --quiet                 no per-epoch lines\n";

static const char eval_usage[] =
    "usage: ssdc eval MODEL.onnx --data SPEC [options]\n"
    "\n"
    "Prints accuracy, per-class precision and recall and the confusion matrix of the\n"
    "model on a split of the data set.\n"
    "\n"
    "options:\n" CLI_DATA_HELP
    "  --split test|train      which split (default test)\n"
    "  --batch N               batch size (default 128)\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

typedef struct {
    bool tty, quiet;
} progress_ctx;

static void fmt_eta(double s, char *buf, size_t n)
{
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%d:%02d", t / 60, t % 60);
}

static void on_batch(const train_progress *p, void *user)
{
    const progress_ctx *pc = user;
    if (!pc->tty || pc->quiet)
        return;
    int width = 24, fill = (int)(width * p->batch / (p->batches ? p->batches : 1));
    char bar[32], eta[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fmt_eta(p->eta_s, eta, sizeof eta);
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %lld/%lld  loss %.4f  acc %5.1f%%  %.0f samples/s  ETA %s",
            p->epoch, p->epochs, bar, (long long)p->batch, (long long)p->batches, p->loss,
            100 * p->accuracy, p->samples_per_s, eta);
    fflush(stderr);
}

static void on_epoch(const train_epoch_stats *s, const train_progress *p, void *user)
{
    const progress_ctx *pc = user;
    if (pc->tty && !pc->quiet)
        fprintf(stderr, "\r\033[K");
    if (pc->quiet)
        return;
    printf("epoch %d/%d  loss %.4f  acc %5.1f%%", s->epoch, p->epochs, s->train_loss,
           100 * s->train_acc);
    if (!isnan(s->val_loss))
        printf("  val_loss %.4f  val_acc %5.1f%%%s", s->val_loss, 100 * s->val_acc,
               s->best ? "  *" : "");
    printf("  %.0f samples/s  %.2fs\n", p->samples_per_s, s->seconds);
    fflush(stdout);
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int cli_train(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL, *init = "onnx", *checkpoint = NULL;
    cli_data_options data = {0};
    train_options opt;
    train_options_defaults(&opt);
    optim_kind kind = OPTIM_ADAM;
    double lr = -1, momentum = 0, wd = -1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, smooth = 0,
           val_split = -1;
    bool nesterov = false, amsgrad = false, quiet = false;
    long long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        int dr = cli_data_parse_flag(&data, "train", argc, argv, &i);
        if (dr < 0)
            return 2;
        if (dr > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(train_usage, stdout);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--epochs") && has) {
            if (!parse_int(argv[++i], 0, 1000000, &v))
                return cli_usage_error("train", "--epochs expects 0..1000000, got '%s'", argv[i]);
            opt.epochs = (int)v;
        } else if (!strcmp(a, "--batch") && has) {
            if (!parse_int(argv[++i], 1, 1 << 20, &v))
                return cli_usage_error("train", "--batch expects a positive count, got '%s'", argv[i]);
            opt.batch = (int)v;
        } else if (!strcmp(a, "--optimizer") && has) {
            if (!optim_parse_kind(argv[++i], &kind))
                return cli_usage_error("train", "--optimizer expects sgd, adam or adamw, got '%s'",
                                       argv[i]);
        } else if (!strcmp(a, "--lr") && has) {
            if (!parse_double(argv[++i], &lr) || lr <= 0)
                return cli_usage_error("train", "--lr expects a positive number");
        } else if (!strcmp(a, "--momentum") && has) {
            if (!parse_double(argv[++i], &momentum) || momentum < 0 || momentum >= 1)
                return cli_usage_error("train", "--momentum expects 0 <= x < 1");
        } else if (!strcmp(a, "--weight-decay") && has) {
            if (!parse_double(argv[++i], &wd) || wd < 0)
                return cli_usage_error("train", "--weight-decay expects x >= 0");
        } else if (!strcmp(a, "--beta1") && has) {
            if (!parse_double(argv[++i], &beta1) || beta1 < 0 || beta1 >= 1)
                return cli_usage_error("train", "--beta1 expects 0 <= x < 1");
        } else if (!strcmp(a, "--beta2") && has) {
            if (!parse_double(argv[++i], &beta2) || beta2 < 0 || beta2 >= 1)
                return cli_usage_error("train", "--beta2 expects 0 <= x < 1");
        } else if (!strcmp(a, "--eps") && has) {
            if (!parse_double(argv[++i], &eps) || eps <= 0)
                return cli_usage_error("train", "--eps expects x > 0");
        } else if (!strcmp(a, "--label-smoothing") && has) {
            if (!parse_double(argv[++i], &smooth) || smooth < 0 || smooth >= 1)
                return cli_usage_error("train", "--label-smoothing expects 0 <= x < 1");
        } else if (!strcmp(a, "--nesterov")) {
            nesterov = true;
        } else if (!strcmp(a, "--amsgrad")) {
            amsgrad = true;
        } else if (!strcmp(a, "--init") && has) {
            init = argv[++i];
            if (strcmp(init, "onnx") && strcmp(init, "fresh"))
                return cli_usage_error("train", "--init expects onnx or fresh, got '%s'", init);
        } else if (!strcmp(a, "--val-split") && has) {
            if (!parse_double(argv[++i], &val_split) || val_split < 0 || val_split >= 1)
                return cli_usage_error("train", "--val-split expects 0 <= f < 1");
        } else if (!strcmp(a, "--patience") && has) {
            if (!parse_int(argv[++i], 0, 1000000, &v))
                return cli_usage_error("train", "--patience expects a count");
            opt.patience = (int)v;
        } else if (!strcmp(a, "--seed") && has) {
            if (!parse_int(argv[++i], 0, (long long)(~0ull >> 1), &v))
                return cli_usage_error("train", "--seed expects a non-negative number");
            opt.seed = (uint64_t)v;
        } else if (!strcmp(a, "--threads") && has) {
            if (!parse_int(argv[++i], 1, 1024, &v))
                return cli_usage_error("train", "--threads expects 1..1024");
            opt.threads = (int)v;
        } else if (!strcmp(a, "--log") && has) {
            opt.log_path = argv[++i];
        } else if (!strcmp(a, "--checkpoint") && has) {
            checkpoint = argv[++i];
        } else if (!strcmp(a, "--resume")) {
            opt.resume = true;
        } else if (!strcmp(a, "--quiet")) {
            quiet = true;
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
    optim_defaults(&opt.optim, kind);
    if (lr > 0)
        opt.optim.lr = (float)lr;
    opt.optim.momentum = (float)momentum;
    opt.optim.nesterov = nesterov;
    if (wd >= 0)
        opt.optim.weight_decay = (float)wd;
    opt.optim.beta1 = (float)beta1;
    opt.optim.beta2 = (float)beta2;
    opt.optim.eps = (float)eps;
    opt.optim.amsgrad = amsgrad;
    opt.label_smoothing = (float)smooth;
    if (nesterov && (kind != OPTIM_SGD || momentum <= 0))
        return cli_usage_error("train", "--nesterov needs --optimizer sgd and --momentum > 0");
    if (val_split < 0)
        val_split = opt.patience > 0 ? 0.2 : 0.0;
    if (opt.patience > 0 && val_split <= 0)
        return cli_usage_error("train", "--patience needs a validation split (--val-split > 0)");

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
    progress_ctx pc = {.tty = isatty(2) != 0, .quiet = quiet};
    opt.on_batch = on_batch;
    opt.on_epoch = on_epoch;
    opt.user = &pc;
    opt.stop = &stop_flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    train_result res;
    if (train_model(g, &tdv, va.n ? &vdv : NULL, &opt, &res, &err)) {
        ssdc_error_prefix(&err, "%s", path);
        rc = cli_error(&err);
        goto done;
    }
    if (res.resumed && !quiet)
        printf("resumed from %s after epoch %d\n", checkpoint, res.resumed_epoch);
    if (res.interrupted) {
        fprintf(stderr, "ssdc: interrupted; %d epochs are saved in %s; continue with --resume\n",
                res.epochs_run, checkpoint);
        train_result_free(&res);
        rc = 130;
        goto done;
    }
    onnx_export_options eo = {.producer_version = "0.1.0"};
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
    if (va.n) {
        eval_result eva;
        if (!train_evaluate(g, &vdv, opt.batch, &eva, &err)) {
            printf("  val %.2f%%", 100 * eva.accuracy);
            eval_result_free(&eva);
        }
    }
    printf("  test %.2f%%\n", 100 * ete.accuracy);
    printf("wrote %s\n", out_path);
    eval_result_free(&etr);
    eval_result_free(&ete);
    train_result_free(&res);
done:
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
            if (!parse_int(argv[++i], 1, 1 << 20, &batch))
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
