/* ssdc distill / ssdc pipeline */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>

#include "cli/cli.h"
#include "cli/data.h"
#include "cli/deploy.h"
#include "cli/report.h"
#include "cli/train_flags.h"
#include "frontend/onnx_export.h"
#include "frontend/onnx_import.h"
#include "frontend/zoo.h"
#include "graph/fileio.h"
#include "passes/ssd.h"
#include "runtime/train.h"

#define CLI_DISTILL_HELP                                                                          \
    "  --mode MODE             ssd (default) | all-reps-cosine | self-distill | ce\n"            \
    "  --reps K                stochastic teacher passes per sample (default 30)\n"              \
    "  --tau X                 softmax temperature of the SGKD weights (default 5)\n"            \
    "  --percentile P          keep the reps whose weight is >= the P-th percentile (90)\n"      \
    "  --alpha X, --beta X     loss = alpha * distillation + beta * cross-entropy (0.5, 0.5)\n"  \
    "  --kd-logits GAMMA,T     add GAMMA * T^2 * KL(teacher || student) on logits (off)\n"       \
    "  --feature TENSOR        the representation to distil (default: the input of the\n"       \
    "                          final classifier, found automatically and printed)\n"             \
    "  --dropout TENSOR:RATE   activate the teacher's Dropout on TENSOR or insert one there\n"   \
    "                          (repeatable); without it the file's Dropouts are used, or ssdc\n" \
    "                          inserts one before the block producing the feature\n"             \
    "  --teacher-dropout-rate R  override the rate of the teacher's active Dropouts\n"           \
    "  --student-init MODE     fresh (default: conv/linear weights N(0, 0.02), BN scale\n"       \
    "                          N(1, 0.02)) | teacher (start from the teacher's weights)\n"       \
    "  --finetune-epochs N     cross-entropy-only epochs after distillation (default 0)\n"

static const char distill_usage[] =
    "usage: ssdc distill TEACHER.onnx --data SPEC -o STUDENT.onnx [options]\n"
    "\n"
    "Trains a fresh student of the teacher's architecture with stochastic\n"
    "self-distillation: the frozen teacher runs K times with dropout on, and the\n"
    "student-guided loss (SGKD) weights and filters those K representations by their\n"
    "agreement with the student's own.  Writes the student as ONNX.\n"
    "\n"
    "options:\n" CLI_DATA_HELP CLI_DISTILL_HELP
    "  --emit-graph FILE.onnx  also write the training graph the pass built (teacher\n"
    "                          prefix, the K-way stochastic branch, losses, gradients)\n"
    "  -o, --output FILE       the student (written atomically)\n" CLI_TRAIN_HELP CLI_REPORT_HELP;

static const char pipeline_usage[] =
    "usage: ssdc pipeline --data SPEC [-o DIR] [options]\n"
    "\n"
    "The whole story: trains a teacher (cross-entropy, early stopping on a validation\n"
    "split), distils a same-size student with SSD, evaluates both on the test split,\n"
    "writes DIR/teacher.onnx and DIR/student.onnx, generates the student's C\n"
    "(DIR/c/student.h, .c), compiles it with $CC (default cc), runs it on the test split\n"
    "and prints a comparison table with its accuracy beside the runtime's.\n"
    "\n"
    "options:\n" CLI_DATA_HELP
    "  --model FILE.onnx       the architecture (default: ssdc's built-in 1D-CNN sized to\n"
    "                          the data: 3 Conv-BN-ReLU blocks, Dropout 0.1, global average\n"
    "                          pooling, linear classifier)\n"
    "  -o, --output-dir DIR    where the models go (default ssdc-out)\n"
    "  --teacher-epochs N      teacher's epoch budget (default 100)\n"
    "  --teacher-patience N    teacher's early stopping patience (default 20)\n"
    "  --ablations             also train the paper's baselines with the same budget:\n"
    "                          CE-only, self-distill and all-reps-cosine students\n"
    "  --results FILE.csv      also write the comparison table as CSV (model, mode,\n"
    "                          test_accuracy, seconds, epochs; model is teacher, student\n"
    "                          or generated-c)\n"
    "  --no-codegen            skip the generated-C step (also skipped, with a note, when\n"
    "                          no C compiler is found)\n"
    CLI_DISTILL_HELP
    CLI_REPORT_HELP
    "training flags (student; the teacher uses the same optimizer and batch):\n" CLI_TRAIN_HELP;

typedef struct {
    ssd_options so;
    ssd_dropout_spec drop[SSD_MAX_DROPOUTS];
    char drop_names[SSD_MAX_DROPOUTS][256];
    bool init_teacher;
    int finetune_epochs;
} distill_flags;

static void distill_flags_init(distill_flags *d)
{
    memset(d, 0, sizeof *d);
    ssd_options_default(&d->so);
}

static int parse_distill_flag(distill_flags *d, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (*i + 1 >= argc)
        return 0;
    const char *v = argv[*i + 1];
    double x;
    long long n;
    if (!strcmp(a, "--mode")) {
        if (!ssd_parse_mode(v, &d->so.mode))
            return cli_usage_error(cmd, "--mode expects ssd, all-reps-cosine, self-distill or ce"),
                   -1;
    } else if (!strcmp(a, "--reps")) {
        if (!cli_parse_int(v, 1, 4096, &n))
            return cli_usage_error(cmd, "--reps expects 1..4096, got '%s'", v), -1;
        d->so.reps = (int)n;
    } else if (!strcmp(a, "--tau")) {
        if (!cli_parse_double(v, &x) || x <= 0)
            return cli_usage_error(cmd, "--tau expects a positive number"), -1;
        d->so.tau = (float)x;
    } else if (!strcmp(a, "--percentile")) {
        if (!cli_parse_double(v, &x) || x < 0 || x > 100)
            return cli_usage_error(cmd, "--percentile expects 0..100"), -1;
        d->so.q = (float)(x / 100.0);
    } else if (!strcmp(a, "--alpha") || !strcmp(a, "--beta")) {
        if (!cli_parse_double(v, &x) || x < 0)
            return cli_usage_error(cmd, "%s expects a number >= 0", a), -1;
        *(a[2] == 'a' ? &d->so.alpha : &d->so.beta) = (float)x;
    } else if (!strcmp(a, "--kd-logits")) {
        double g, t;
        char extra;
        if (sscanf(v, "%lf,%lf%c", &g, &t, &extra) != 2 || g < 0 || t <= 0)
            return cli_usage_error(cmd, "--kd-logits expects GAMMA,T (e.g. 0.5,4)"), -1;
        d->so.gamma = (float)g;
        d->so.kd_t = (float)t;
    } else if (!strcmp(a, "--feature")) {
        d->so.feature = v;
    } else if (!strcmp(a, "--dropout")) {
        const char *colon = strrchr(v, ':');
        if (!colon || colon == v || !cli_parse_double(colon + 1, &x) || x < 0 || x >= 1)
            return cli_usage_error(cmd, "--dropout expects TENSOR:RATE with 0 <= RATE < 1"), -1;
        if (d->so.n_dropouts == SSD_MAX_DROPOUTS)
            return cli_usage_error(cmd, "at most %d --dropout", SSD_MAX_DROPOUTS), -1;
        int k = d->so.n_dropouts++;
        snprintf(d->drop_names[k], sizeof d->drop_names[k], "%.*s", (int)(colon - v), v);
        d->drop[k].tensor = d->drop_names[k];
        d->drop[k].rate = (float)x;
        d->so.dropouts = d->drop;
    } else if (!strcmp(a, "--teacher-dropout-rate")) {
        if (!cli_parse_double(v, &x) || x < 0 || x >= 1)
            return cli_usage_error(cmd, "--teacher-dropout-rate expects 0 <= R < 1"), -1;
        d->so.teacher_dropout_rate = (float)x;
    } else if (!strcmp(a, "--student-init")) {
        if (strcmp(v, "fresh") && strcmp(v, "teacher"))
            return cli_usage_error(cmd, "--student-init expects fresh or teacher"), -1;
        d->init_teacher = !strcmp(v, "teacher");
    } else if (!strcmp(a, "--finetune-epochs")) {
        if (!cli_parse_int(v, 0, 1000000, &n))
            return cli_usage_error(cmd, "--finetune-epochs expects a count"), -1;
        d->finetune_epochs = (int)n;
    } else {
        return 0;
    }
    ++*i;
    return 1;
}

typedef struct {
    double test_acc, seconds;
    int epochs;
} distill_outcome;

/* Trains student (already initialised) against teacher; exports nothing. */
static ssdc_status distill_run(const graph *teacher, graph *student, const distill_flags *d,
                               const train_options *opt_in, const train_data *tr,
                               const train_data *va, const char *emit_graph, bool quiet,
                               const char *label, const char *ckpt_base, distill_outcome *outc,
                               run_report *rep, ssdc_error *err)
{
    train_graph tg;
    ssd_info info;
    ssdc_status st = ssd_build(teacher, student, &d->so, &tg, &info, err);
    if (st)
        return st;
    if (!quiet) {
        printf("%s: mode %s", label, ssd_mode_name(d->so.mode));
        if (d->so.mode != SSD_MODE_CE) {
            printf(", feature '%s'%s", info.feature, info.feature_auto ? " (auto)" : "");
            if (d->so.mode != SSD_MODE_SELF_DISTILL)
                printf(", K = %d, teacher dropout: %s; %d teacher nodes run once per batch, %d "
                       "on %d x batch rows",
                       d->so.reps, info.dropouts, info.prefix_nodes, info.region_nodes,
                       d->so.reps);
        }
        printf("\n");
    }
    if (emit_graph) {
        onnx_export_options eo = {.producer_version = cli_version};
        if ((st = onnx_export_file(tg.g, emit_graph, &eo, err))) {
            train_graph_free(&tg);
            return st;
        }
        if (!quiet)
            printf("wrote the training graph to %s (%d nodes)\n", emit_graph, tg.g->n_nodes);
    }
    train_options opt = *opt_in;
    cli_progress pc;
    cli_progress_attach(&pc, &opt, quiet, label);
    report_run *rrun = report_begin_run(rep, label, ssd_mode_name(d->so.mode), d->so.reps,
                                        info.weights_extra, info.kept_extra, &pc, &opt);
    char ckpt[4096];
    if (ckpt_base) {
        snprintf(ckpt, sizeof ckpt, "%s", ckpt_base);
        opt.checkpoint = ckpt;
    }
    train_result res;
    if ((st = train_model_graph(student, &tg, tr, va, &opt, &res, err)))
        return st;
    report_end_run(rrun, &res);
    if (!quiet && res.cached_bytes > 0)
        printf("%s: the teacher's deterministic part was computed once per training sample "
               "(%.1f MiB kept), not in every step\n",
               label, (double)res.cached_bytes / 1048576.0);
    outc->seconds = res.seconds;
    outc->epochs = res.epochs_run;
    cli_report_skipped(&res);
    bool interrupted = res.interrupted;
    train_result_free(&res);
    if (interrupted)
        return ssdc_fail(err, SSDC_ERR_INVALID, "interrupted; %s holds the finished epochs; continue "
                                                "with --resume",
                         ckpt_base ? ckpt_base : "the checkpoint");
    if (d->finetune_epochs > 0) {
        train_options fo = opt;
        fo.epochs = d->finetune_epochs;
        char fck[4200];
        if (ckpt_base) {
            snprintf(fck, sizeof fck, "%s.finetune", ckpt_base);
            fo.checkpoint = fck;
        }
        char flabel[300];
        snprintf(flabel, sizeof flabel, "%s fine-tune", label);
        rrun = report_begin_run(rep, flabel, "ce", 0, -1, -1, &pc, &fo);
        if ((st = train_model(student, tr, va, &fo, &res, err)))
            return st;
        report_end_run(rrun, &res);
        outc->seconds += res.seconds;
        interrupted = res.interrupted;
        train_result_free(&res);
        if (interrupted)
            return ssdc_fail(err, SSDC_ERR_INVALID, "interrupted during fine-tuning");
    }
    return SSDC_OK;
}

static char *default_ckpt(const char *out)
{
    size_t n = strlen(out) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.ckpt", out);
    return p;
}

int cli_distill(int argc, char **argv)
{
    const char *path = NULL, *out_path = NULL, *emit = NULL;
    cli_data_options data = {0};
    cli_train_flags tf;
    distill_flags d;
    report_flags rf = {0};
    cli_train_flags_init(&tf);
    distill_flags_init(&d);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_data_parse_flag(&data, "distill", argc, argv, &i);
        if (!r)
            r = cli_train_parse_flag(&tf, "distill", argc, argv, &i);
        if (!r)
            r = parse_distill_flag(&d, "distill", argc, argv, &i);
        if (!r)
            r = report_parse_flag(&rf, "distill", argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(distill_usage, stdout);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--emit-graph") && i + 1 < argc) {
            emit = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("distill", "unknown option or missing value: '%s'", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_usage_error("distill", "more than one teacher given ('%s')", a);
        }
    }
    if (!path)
        return cli_usage_error("distill", "no teacher model given");
    if (!data.spec)
        return cli_usage_error("distill", "no --data given");
    if (!out_path)
        return cli_usage_error("distill", "no output given (-o STUDENT.onnx)");
    if (cli_train_flags_finish(&tf, "distill"))
        return 2;
    ssdc_error err = {0};
    graph *teacher = NULL, *student = NULL;
    dataset_pair dp = {0};
    dataset tr = {0}, va = {0};
    char *ckpt = tf.checkpoint ? NULL : default_ckpt(out_path);
    int rc = 0;
    run_report *rep = report_new(&rf, argc, argv);
    if ((rf.html || rf.metrics) && !rep) {
        rc = cli_errorf("out of memory");
        goto done;
    }
    if (onnx_import_file(path, &teacher, &err) || onnx_import_file(path, &student, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (!d.init_teacher && train_init_student(student, tf.opt.seed, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (cli_data_load(&data, &dp, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (!tf.quiet)
        cli_data_print_summary(&dp);
    if (tf.val_split > 0 ? dataset_split_stratified(&dp.train, tf.val_split, tf.opt.seed, &tr, &va, &err)
                         : dataset_copy(&dp.train, &tr, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    int C = dp.train.n_classes;
    train_data tv = cli_data_view(&tr, C), vv = cli_data_view(&va, C), test = cli_data_view(&dp.test, C);
    report_set_data(rep, &dp, &tr, va.n ? &va : NULL);
    cli_install_stop_handler();
    distill_outcome oc = {0};
    if (distill_run(teacher, student, &d, &tf.opt, &tv, va.n ? &vv : NULL, emit, tf.quiet,
                    "student", tf.checkpoint ? tf.checkpoint : ckpt, &oc, rep, &err)) {
        ssdc_error_prefix(&err, "%s", path);
        rc = cli_error(&err);
        goto done;
    }
    onnx_export_options eo = {.producer_version = cli_version};
    if (onnx_export_file(student, out_path, &eo, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    eval_result et, es;
    if (train_evaluate(teacher, &test, tf.opt.batch, &et, &err) ||
        train_evaluate(student, &test, tf.opt.batch, &es, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    printf("distilled %d epochs in %.1fs\n", oc.epochs, oc.seconds);
    printf("test accuracy: teacher %.2f%%  student %.2f%%\n", 100 * et.accuracy, 100 * es.accuracy);
    printf("wrote %s\n", out_path);
    report_set_model(rep, out_path, student);
    report_add_result(rep, "teacher", "given", &et, NAN, 0, 0, NAN, NAN);
    char sname[64];
    snprintf(sname, sizeof sname, "student (%s)", ssd_mode_name(d.so.mode));
    report_add_result(rep, sname, ssd_mode_name(d.so.mode), &es, oc.seconds, oc.epochs, 0, NAN,
                      NAN);
    if (report_finish(rep, &err))
        rc = cli_error(&err);
    else if (rf.html)
        printf("wrote %s\n", rf.html);
    eval_result_free(&et);
    eval_result_free(&es);
done:
    report_free(rep);
    free(ckpt);
    dataset_free(&tr);
    dataset_free(&va);
    dataset_pair_free(&dp);
    graph_free(teacher);
    graph_free(student);
    return rc;
}

/* ---- pipeline ---- */

static int make_dir(const char *p)
{
    if (mkdir(p, 0777) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

int cli_pipeline(int argc, char **argv)
{
    const char *model_path = NULL, *out_dir = "ssdc-out", *results = NULL;
    long long teacher_epochs = 100, teacher_patience = 20;
    bool ablations = false, codegen = true;
    cli_data_options data = {0};
    cli_train_flags tf;
    distill_flags d;
    report_flags rf = {0};
    cli_train_flags_init(&tf);
    distill_flags_init(&d);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_data_parse_flag(&data, "pipeline", argc, argv, &i);
        if (!r)
            r = cli_train_parse_flag(&tf, "pipeline", argc, argv, &i);
        if (!r)
            r = parse_distill_flag(&d, "pipeline", argc, argv, &i);
        if (!r)
            r = report_parse_flag(&rf, "pipeline", argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(pipeline_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--model") && has) {
            model_path = argv[++i];
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output-dir")) && has) {
            out_dir = argv[++i];
        } else if (!strcmp(a, "--teacher-epochs") && has) {
            if (!cli_parse_int(argv[++i], 1, 1000000, &teacher_epochs))
                return cli_usage_error("pipeline", "--teacher-epochs expects a count");
        } else if (!strcmp(a, "--teacher-patience") && has) {
            if (!cli_parse_int(argv[++i], 0, 1000000, &teacher_patience))
                return cli_usage_error("pipeline", "--teacher-patience expects a count");
        } else if (!strcmp(a, "--results") && has) {
            results = argv[++i];
        } else if (!strcmp(a, "--ablations")) {
            ablations = true;
        } else if (!strcmp(a, "--no-codegen")) {
            codegen = false;
        } else {
            return cli_usage_error("pipeline", "unknown option or missing value: '%s'", a);
        }
    }
    if (!data.spec)
        return cli_usage_error("pipeline", "no --data given (try --data cbf)");
    if (tf.opt.resume)
        return cli_usage_error("pipeline", "--resume is for train and distill");
    if (tf.val_split < 0)
        tf.val_split = teacher_patience > 0 ? 0.2 : 0.0;
    if (cli_train_flags_finish(&tf, "pipeline"))
        return 2;
    if (make_dir(out_dir) != 0)
        return cli_errorf("cannot create '%s': %s", out_dir, strerror(errno));

    ssdc_error err = {0};
    graph *arch = NULL, *teacher = NULL;
    dataset_pair dp = {0};
    dataset tr = {0}, va = {0};
    int rc = 0;
    char path[4096], model_desc[256];
    run_report *rep = report_new(&rf, argc, argv);
    if ((rf.html || rf.metrics) && !rep) {
        rc = cli_errorf("out of memory");
        goto done;
    }
    if (cli_data_load(&data, &dp, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    cli_data_print_summary(&dp);
    int C = dp.train.n_classes;
    if (model_path) {
        if (onnx_import_file(model_path, &arch, &err)) {
            rc = cli_error(&err);
            goto done;
        }
        snprintf(model_desc, sizeof model_desc, "%s", model_path);
    } else {
        if (dp.train.rank != 2) {
            rc = cli_errorf("the built-in model is a 1D-CNN for [channels, length] series; give "
                            "--model for %d-D samples",
                            dp.train.rank);
            goto done;
        }
        if (zoo_cnn1d(dp.train.dims[0], dp.train.dims[1], C, 0.1f, tf.opt.seed, &arch, &err)) {
            rc = cli_error(&err);
            goto done;
        }
        snprintf(model_desc, sizeof model_desc, "built-in 1D-CNN for [%lld, %lld] -> %d classes",
                 (long long)dp.train.dims[0], (long long)dp.train.dims[1], C);
        printf("model: %s\n", model_desc);
    }
    if (tf.val_split > 0 ? dataset_split_stratified(&dp.train, tf.val_split, tf.opt.seed, &tr, &va, &err)
                         : dataset_copy(&dp.train, &tr, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    train_data tv = cli_data_view(&tr, C), vv = cli_data_view(&va, C), test = cli_data_view(&dp.test, C);
    report_set_data(rep, &dp, &tr, va.n ? &va : NULL);
    cli_install_stop_handler();

    /* 1. teacher: cross-entropy with early stopping */
    teacher = graph_clone(arch);
    if (!teacher || train_init_fresh(teacher, tf.opt.seed, &err)) {
        rc = cli_errorf("cannot initialise the teacher: %s", teacher ? err.msg : "out of memory");
        goto done;
    }
    train_options to = tf.opt;
    to.epochs = (int)teacher_epochs;
    to.patience = va.n ? (int)teacher_patience : 0;
    snprintf(path, sizeof path, "%s/teacher.onnx.ckpt", out_dir);
    to.checkpoint = path;
    to.log_path = NULL;
    cli_progress pc;
    cli_progress_attach(&pc, &to, tf.quiet, "teacher");
    report_run *rrun = report_begin_run(rep, "teacher", "ce", 0, -1, -1, &pc, &to);
    printf("== teacher: cross-entropy, up to %d epochs%s\n", to.epochs,
           to.patience ? ", early stopping on the validation loss" : "");
    train_result res;
    if (train_model(teacher, &tv, va.n ? &vv : NULL, &to, &res, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    report_end_run(rrun, &res);
    double teacher_s = res.seconds;
    int teacher_ep = res.epochs_run, teacher_best = res.best_epoch;
    bool interrupted = res.interrupted;
    train_result_free(&res);
    if (interrupted) {
        rc = cli_errorf("interrupted");
        goto done;
    }
    snprintf(path, sizeof path, "%s/teacher.onnx", out_dir);
    onnx_export_options eo = {.producer_version = cli_version};
    if (onnx_export_file(teacher, path, &eo, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    eval_result et;
    if (train_evaluate(teacher, &test, tf.opt.batch, &et, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    report_set_model(rep, model_desc, teacher);
    report_add_result(rep, "teacher (CE, early stopping)", "ce", &et, teacher_s, teacher_ep,
                      teacher_best, NAN, NAN);

    /* 2. students: SSD, then (with --ablations) the baselines, same budget */
    ssd_mode modes[4] = {d.so.mode, SSD_MODE_CE, SSD_MODE_SELF_DISTILL, SSD_MODE_ALL_REPS_COSINE};
    int n_modes = ablations ? 4 : 1;
    double acc[4] = {0}, secs[4] = {0};
    int eps[4] = {0};
    for (int m = 0; m < n_modes; m++) {
        if (m > 0 && modes[m] == modes[0])
            modes[m] = SSD_MODE_SSD;
        distill_flags dm = d;
        dm.so.mode = modes[m];
        dm.so.dropouts = dm.drop;
        graph *student = graph_clone(arch);
        if (!student || train_init_student(student, tf.opt.seed, &err)) {
            graph_free(student);
            rc = cli_errorf("cannot initialise the student");
            goto done;
        }
        char label[64], ck[4200];
        snprintf(label, sizeof label, "student[%s]", ssd_mode_name(modes[m]));
        snprintf(ck, sizeof ck, "%s/student-%s.onnx.ckpt", out_dir, ssd_mode_name(modes[m]));
        printf("== %s: %d epochs\n", label, tf.opt.epochs);
        distill_outcome oc = {0};
        train_options so = tf.opt;
        so.patience = 0;
        so.log_path = NULL;
        if (distill_run(teacher, student, &dm, &so, &tv, va.n ? &vv : NULL, NULL, tf.quiet, label,
                        ck, &oc, rep, &err)) {
            graph_free(student);
            eval_result_free(&et);
            rc = cli_error(&err);
            goto done;
        }
        eval_result es;
        if (train_evaluate(student, &test, tf.opt.batch, &es, &err)) {
            graph_free(student);
            eval_result_free(&et);
            rc = cli_error(&err);
            goto done;
        }
        acc[m] = es.accuracy;
        secs[m] = oc.seconds;
        eps[m] = oc.epochs;
        char rname[64];
        snprintf(rname, sizeof rname, "student (%s)", ssd_mode_name(modes[m]));
        report_add_result(rep, rname, ssd_mode_name(modes[m]), &es, oc.seconds, oc.epochs, 0, NAN,
                          NAN);
        eval_result_free(&es);
        if (m == 0) {
            snprintf(path, sizeof path, "%s/student.onnx", out_dir);
            if (onnx_export_file(student, path, &eo, &err)) {
                graph_free(student);
                eval_result_free(&et);
                rc = cli_error(&err);
                goto done;
            }
        }
        graph_free(student);
    }
    /* 3. the student as dependency-free C, compiled and run on the test split */
    deploy_check dc = {0};
    bool have_c = false;
    char cdir[4200];
    snprintf(cdir, sizeof cdir, "%s/c", out_dir);
    if (codegen) {
        snprintf(path, sizeof path, "%s/student.onnx", out_dir);
        printf("== generated C: %s/student.c, compiled and run on the test split\n", cdir);
        if (deploy_check_model(path, cdir, "student", &test, &dc, &err)) {
            deploy_check_free(&dc);
            eval_result_free(&et);
            rc = cli_error(&err);
            goto done;
        }
        /* generated, compiled or not: its static arena is known */
        report_set_codegen_arena(rep, (int64_t)dc.arena_bytes);
        if (dc.skipped)
            printf("note: no C compiler ('%s') found: the generated C in %s was not compiled "
                   "(set CC, or --no-codegen)\n",
                   dc.compiler, cdir);
        have_c = !dc.skipped;
        if (have_c)
            report_add_result(rep, "student (generated C)", ssd_mode_name(modes[0]), &dc.c, NAN,
                              0, 0, NAN, NAN);
    }
    printf("\n%-28s %14s %10s\n", "model", "test accuracy", "train s");
    printf("%-28s %13.2f%% %10.1f   (%d epochs, best %d)\n", "teacher (CE, early stopping)",
           100 * et.accuracy, teacher_s, teacher_ep, teacher_best);
    for (int m = 0; m < n_modes; m++) {
        char name[64];
        snprintf(name, sizeof name, "student (%s)", ssd_mode_name(modes[m]));
        printf("%-28s %13.2f%% %10.1f\n", name, 100 * acc[m], secs[m]);
    }
    if (have_c) {
        printf("%-28s %13.2f%% %10s   (same class as the runtime on %lld of %lld samples, max "
               "|logit diff| %.2g; arena %zu B, weights %zu B)\n",
               "student (generated C)", 100 * dc.c.accuracy, "-", (long long)dc.agree,
               (long long)dc.c.n, dc.max_abs_diff, dc.arena_bytes, dc.weight_bytes);
        if (dc.agree != dc.c.n)
            fprintf(stderr, "ssdc: warning: the generated C and the runtime disagree on %lld test "
                            "samples\n",
                    (long long)(dc.c.n - dc.agree));
    }
    if (results) {
        char buf[2048];
        size_t len = (size_t)snprintf(buf, sizeof buf,
                                      "model,mode,test_accuracy,seconds,epochs\n"
                                      "teacher,ce,%.6f,%.3f,%d\n",
                                      et.accuracy, teacher_s, teacher_ep);
        for (int m = 0; m < n_modes && len < sizeof buf; m++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "student,%s,%.6f,%.3f,%d\n",
                                    ssd_mode_name(modes[m]), acc[m], secs[m], eps[m]);
        if (have_c && len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "generated-c,%s,%.6f,,\n",
                                    ssd_mode_name(modes[0]), dc.c.accuracy);
        if (ssdc_write_file_atomic(results, buf, len < sizeof buf ? len : sizeof buf - 1, &err)) {
            deploy_check_free(&dc);
            eval_result_free(&et);
            rc = cli_error(&err);
            goto done;
        }
    }
    printf("\nwrote %s/teacher.onnx and %s/student.onnx\n", out_dir, out_dir);
    if (have_c)
        printf("wrote %s/student.h and %s/student.c (%s/student_main.c: a test program; "
               "%s/student --raw %s/student-test.f32 reruns the test split)\n",
               cdir, cdir, cdir, cdir, cdir);
    else if (codegen)
        printf("wrote %s/student.h, %s/student.c and %s/student_main.c\n", cdir, cdir, cdir);
    deploy_check_free(&dc);
    eval_result_free(&et);
    if (report_finish(rep, &err)) {
        rc = cli_error(&err);
        goto done;
    }
    if (rf.html)
        printf("wrote %s\n", rf.html);
done:
    report_free(rep);
    dataset_free(&tr);
    dataset_free(&va);
    dataset_pair_free(&dp);
    graph_free(arch);
    graph_free(teacher);
    return rc;
}
