/* libssdc: the public C API of ssdc.
 *
 * ssdc imports ONNX models, runs them, trains them with cross-entropy,
 * distils them into a same-size student with stochastic self-distillation
 * (SSD, Aslam et al., arXiv 2504.14307), exports them back to ONNX and
 * generates dependency-free C99 inference code.  This header is the whole
 * public interface; build with
 *
 *     cc prog.c $(pkg-config --cflags --libs ssdc)                # libssdc.so
 *
 * or, for the static libssdc.a, the flags of `pkg-config --static --libs ssdc`
 * (which add openblas, protobuf-c, z, m and pthread) with its -lssdc turned
 * into `-Wl,-Bstatic -lssdc -Wl,-Bdynamic` (or libssdc.a's path).
 *
 * A typical program:
 *
 *     ssdc_error err;
 *     ssdc_model *teacher = NULL, *student = NULL;
 *     ssdc_dataset *data = NULL;
 *     if (ssdc_model_import("cnn1d.onnx", &teacher, &err) ||
 *         ssdc_dataset_load("cbf", NULL, &data, &err))
 *         goto fail;
 *     ssdc_train_options to;
 *     ssdc_train_options_init(&to);
 *     to.epochs = 20;
 *     if (ssdc_train(teacher, data, &to, NULL, &err))
 *         goto fail;
 *     ssdc_distill_options dopt;
 *     ssdc_distill_options_init(&dopt);
 *     if (ssdc_distill(teacher, data, &dopt, &to, &student, NULL, &err) ||
 *         ssdc_model_export(student, "student.onnx", &err))
 *         goto fail;
 *     ...
 *   fail:
 *     fprintf(stderr, "error: %s\n", err.msg);
 *
 * Conventions
 *   - Every exported symbol starts with ssdc_ (types, functions) or SSDC_
 *     (macros, enum values).
 *   - Errors are values (see <ssdc/status.h>): fallible functions return
 *     ssdc_status and take a last `ssdc_error *err` (may be NULL) that
 *     receives the code and a one-line message on failure.  The library never
 *     prints, exits or aborts.  On failure, out-parameters that return an
 *     object (ssdc_model **out, ...) are set to NULL.
 *   - Objects are opaque handles (ssdc_model, ssdc_session, ssdc_dataset)
 *     created by a function that returns them through an out-parameter and
 *     released by the matching *_free function, which accepts NULL.
 *   - Options structs are filled with the defaults by their *_init function
 *     (or, where documented, a zeroed struct / NULL pointer means defaults);
 *     set the fields you want to change afterwards.
 *   - Strings returned through info structs point into the object they
 *     describe and stay valid until it is freed or modified.
 *   - A handle must not be used by two threads at the same time; distinct
 *     handles may be used from distinct threads.
 *   - Files are written atomically (temporary file, fsync, rename): a failed
 *     write leaves an existing file as it was.
 */
#ifndef SSDC_SSDC_H
#define SSDC_SSDC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ssdc/status.h>
#include <ssdc/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== */
/* Library                                                                */
/* ===================================================================== */

/* The library's version, e.g. "0.1.0" (SSDC_VERSION_STRING of the headers
 * it was built with). */
const char *ssdc_version(void);

/* Frees memory the library allocated for the caller (ssdc_model_export_buffer's
 * bytes).  NULL is fine. */
void ssdc_free(void *p);

/* ===================================================================== */
/* Models                                                                 */
/* ===================================================================== */

typedef struct ssdc_model ssdc_model;

#define SSDC_MAX_RANK 8

/* Element types; the values are ONNX's TensorProto.DataType. */
typedef enum {
    SSDC_DTYPE_UNDEFINED = 0,
    SSDC_DTYPE_FLOAT = 1,
    SSDC_DTYPE_UINT8 = 2,
    SSDC_DTYPE_INT8 = 3,
    SSDC_DTYPE_UINT16 = 4,
    SSDC_DTYPE_INT16 = 5,
    SSDC_DTYPE_INT32 = 6,
    SSDC_DTYPE_INT64 = 7,
    SSDC_DTYPE_STRING = 8,
    SSDC_DTYPE_BOOL = 9,
    SSDC_DTYPE_FLOAT16 = 10,
    SSDC_DTYPE_DOUBLE = 11,
    SSDC_DTYPE_UINT32 = 12,
    SSDC_DTYPE_UINT64 = 13,
    SSDC_DTYPE_BFLOAT16 = 16
} ssdc_dtype;

/* "float", "int64", ...; never NULL. */
const char *ssdc_dtype_name(ssdc_dtype dtype);

/* A graph input or output as the model declares it (after shape inference). */
typedef struct {
    const char *name;
    ssdc_dtype dtype;
    int rank;                              /* -1: unknown */
    int64_t dims[SSDC_MAX_RANK];           /* -1: symbolic or unknown */
    const char *dim_names[SSDC_MAX_RANK];  /* symbolic name ("batch") or "" */
} ssdc_tensor_info;

typedef struct {
    const char *name;              /* the graph's name ("" if none) */
    const char *source;            /* the file it was imported from ("" if none) */
    const char *producer_name;     /* e.g. "pytorch" ("" if none) */
    const char *producer_version;
    int64_t ir_version, opset;     /* opset: the default domain's */
    int n_inputs, n_outputs;       /* caller-fed inputs (not initializers), outputs */
    int n_nodes, n_initializers;
    int64_t n_params;              /* float values held by initializers */
    int64_t param_bytes;           /* bytes held by initializers */
    int n_unsupported;             /* nodes ssdc cannot run (no schema or kernel) */
    /* With every symbolic dimension set to 1 (one sample); -1 when the model
     * cannot be planned (unsupported nodes, inputs without a shape). */
    int64_t flops_per_sample;
    int64_t arena_bytes_per_sample; /* activation arena of the runtime */
} ssdc_model_info;

/* Reads an ONNX file (IR 3-8, opsets 7-17), decodes it into ssdc's graph,
 * validates it and infers every tensor's shape.  Errors name the file and
 * the node or tensor. */
ssdc_status ssdc_model_import(const char *path, ssdc_model **out, ssdc_error *err);

/* The same from serialized ModelProto bytes; name is used in messages
 * (NULL: "<buffer>"). */
ssdc_status ssdc_model_import_buffer(const void *data, size_t len, const char *name,
                                     ssdc_model **out, ssdc_error *err);

/* ssdc's built-in 1D-CNN (the default of `ssdc pipeline`) for samples of
 * shape [channels, length] and n_classes classes: input [batch, channels,
 * length] -> 3 x (Conv + BatchNorm + ReLU) -> Dropout(dropout) -> global
 * average pooling -> linear classifier.  Weights initialised as PyTorch
 * initialises fresh layers, deterministically from seed. */
ssdc_status ssdc_model_builtin_cnn1d(int64_t channels, int64_t length, int n_classes,
                                     float dropout, uint64_t seed, ssdc_model **out,
                                     ssdc_error *err);

/* A deep, independent copy. */
ssdc_status ssdc_model_clone(const ssdc_model *m, ssdc_model **out, ssdc_error *err);

void ssdc_model_free(ssdc_model *m);

ssdc_status ssdc_model_get_info(const ssdc_model *m, ssdc_model_info *info, ssdc_error *err);

/* Input / output i (0 <= i < n_inputs / n_outputs of the info). */
ssdc_status ssdc_model_input(const ssdc_model *m, int i, ssdc_tensor_info *info, ssdc_error *err);
ssdc_status ssdc_model_output(const ssdc_model *m, int i, ssdc_tensor_info *info,
                              ssdc_error *err);

typedef enum {
    /* PyTorch's initialisation of fresh layers: uniform +-1/sqrt(fan_in) for
     * weights and biases, BatchNorm scale 1, bias 0, running mean 0, var 1. */
    SSDC_INIT_FRESH = 0,
    /* The SSD student's (design.md): Conv/Gemm/MatMul weights normal(0, 0.02),
     * biases 0, BatchNorm scale normal(1, 0.02), bias 0. */
    SSDC_INIT_STUDENT = 1
} ssdc_init;

/* Reinitialises the model's trainable parameters, deterministically for a
 * seed. */
ssdc_status ssdc_model_reinit(ssdc_model *m, ssdc_init how, uint64_t seed, ssdc_error *err);

/* Writes the model as ONNX (IR 8, default-domain opset 13..17, producer
 * "ssdc"), atomically.  The same model always gives the same bytes. */
ssdc_status ssdc_model_export(const ssdc_model *m, const char *path, ssdc_error *err);

/* The same ONNX bytes in memory: *data is malloc'd (release it with
 * ssdc_free), *len bytes. */
ssdc_status ssdc_model_export_buffer(const ssdc_model *m, void **data, size_t *len,
                                     ssdc_error *err);

/* ===================================================================== */
/* Running a model                                                        */
/* ===================================================================== */

typedef struct ssdc_session ssdc_session;

/* A dense row-major float array.  As an input, data is only read during
 * ssdc_session_run. */
typedef struct {
    const float *data;
    int rank;
    int64_t dims[SSDC_MAX_RANK];
} ssdc_tensor;

/* A zeroed struct (or NULL) gives the defaults. */
typedef struct {
    /* Run Dropout layers in training mode (Monte-Carlo dropout); the masks
     * are drawn from seed and a per-run counter.  Default off. */
    bool dropout_active;
    uint64_t seed;
    int64_t memory_limit;    /* bytes for one run's arena; 0: 8 GiB */
} ssdc_session_options;

/* A session runs a snapshot of the model taken here (later changes to m,
 * e.g. training, do not affect it; m may be freed).  Memory is planned on
 * the first run and again only when input shapes change. */
ssdc_status ssdc_session_create(const ssdc_model *m, const ssdc_session_options *opt,
                                ssdc_session **out, ssdc_error *err);

void ssdc_session_free(ssdc_session *s);

/* Runs the model on n_inputs arrays, one per model input in declaration
 * order.  Any batch size works when the model's batch dimension is
 * symbolic.  Inputs whose model dtype is not float (int64, double, ...)
 * are converted from the given floats. */
ssdc_status ssdc_session_run(ssdc_session *s, const ssdc_tensor *inputs, int n_inputs,
                             ssdc_error *err);

/* Output i of the last run.  out->data stays valid until the next run or
 * ssdc_session_free; outputs of another dtype are converted to float. */
ssdc_status ssdc_session_output(ssdc_session *s, int i, ssdc_tensor *out, ssdc_error *err);

/* ===================================================================== */
/* Data sets                                                              */
/* ===================================================================== */

/* A classification data set: a train and a test split of float samples of
 * one shape ([channels, length] series or [channels, height, width] images)
 * with labels 0..n_classes-1. */
typedef struct ssdc_dataset ssdc_dataset;

typedef enum { SSDC_SPLIT_TRAIN = 0, SSDC_SPLIT_TEST = 1 } ssdc_split;

typedef enum {
    SSDC_NORM_NONE = 0,
    SSDC_NORM_ZNORM_SAMPLE,  /* each sample's channel to mean 0, std 1 */
    SSDC_NORM_ZNORM_DATASET  /* per-channel mean/std of the train split applied to both */
} ssdc_normalize;

/* A zeroed struct (or NULL) gives the defaults. */
typedef struct {
    ssdc_normalize normalize;   /* default none */
    bool nan_to_zero;           /* missing values become 0 (default: an error naming file:line) */
    int64_t cbf_n_train;        /* built-in CBF: train samples (0: 30) */
    int64_t cbf_n_test;         /* test samples (0: 900) */
    uint64_t cbf_seed;          /* the generator is deterministic for a seed */
} ssdc_dataset_options;

typedef struct {
    const char *name;           /* e.g. "ECG200", "cbf" */
    const char *format;         /* "tsv", "ts", "idx", "npy", "cbf", "arrays" */
    int64_t n_train, n_test;
    int n_classes;
    int rank;                   /* per-sample rank: 2 for [C, L], 3 for [C, H, W] */
    int64_t dims[3];            /* per-sample dims */
    int64_t sample_size;        /* floats per sample: the product of dims */
} ssdc_dataset_info;

/* Loads a train/test pair.  spec is
 *   - "cbf": the built-in Cylinder-Bell-Funnel generator (no download);
 *   - a UCR folder or prefix (NAME_TRAIN.tsv / NAME_TEST.tsv, .csv, .txt),
 *     a UEA .ts pair, an IDX folder (gzip or plain: train-images-idx3-ubyte,
 *     ...), NPY pairs (X_train.npy, y_train.npy, X_test.npy, y_test.npy), or
 *     one of the train files itself.
 * Labels are mapped to 0..C-1 in sorted order (numeric when all are numbers). */
ssdc_status ssdc_dataset_load(const char *spec, const ssdc_dataset_options *opt,
                              ssdc_dataset **out, ssdc_error *err);

/* A data set from the caller's arrays (copied). */
typedef struct {
    const char *name;            /* NULL: "arrays" */
    int rank;                    /* per-sample rank, 1..3 (rank 1 [L] is stored as [1, L]) */
    int64_t dims[3];             /* per-sample dims */
    const float *x_train;        /* n_train * prod(dims) floats, row-major */
    const int64_t *y_train;      /* n_train labels in 0..n_classes-1 */
    int64_t n_train;
    const float *x_test;         /* may be NULL when n_test is 0 */
    const int64_t *y_test;
    int64_t n_test;
    int n_classes;               /* 0: 1 + the largest label */
    ssdc_normalize normalize;
} ssdc_dataset_arrays;

ssdc_status ssdc_dataset_from_arrays(const ssdc_dataset_arrays *a, ssdc_dataset **out,
                                     ssdc_error *err);

void ssdc_dataset_free(ssdc_dataset *d);

ssdc_status ssdc_dataset_get_info(const ssdc_dataset *d, ssdc_dataset_info *info,
                                  ssdc_error *err);

/* The label string of class c as the files spell it (e.g. "1", "abnormal"). */
ssdc_status ssdc_dataset_class_name(const ssdc_dataset *d, int c, const char **name,
                                    ssdc_error *err);

/* Sample i of a split: *x points at sample_size floats inside d; *label
 * (may be NULL) receives its class. */
ssdc_status ssdc_dataset_sample(const ssdc_dataset *d, ssdc_split split, int64_t i,
                                const float **x, int64_t *label, ssdc_error *err);

/* ===================================================================== */
/* Training                                                               */
/* ===================================================================== */

typedef enum { SSDC_OPTIM_SGD = 0, SSDC_OPTIM_ADAM, SSDC_OPTIM_ADAMW } ssdc_optimizer;

/* What on_epoch receives after every epoch. */
typedef struct {
    int epoch, epochs;              /* 1-based epoch, of */
    double train_loss, train_acc;   /* means over the epoch */
    double val_loss, val_acc;       /* NaN without a validation split */
    double seconds;
    bool best;                      /* best validation loss so far */
} ssdc_epoch;

typedef struct {
    int epochs;               /* default 100 */
    int batch;                /* default 128 */
    ssdc_optimizer optimizer; /* default adam */
    float lr;                 /* 0: the optimizer's default (adam/adamw 1e-3, sgd 1e-2) */
    float momentum;           /* sgd, default 0 */
    bool nesterov;            /* sgd, needs momentum > 0 */
    float weight_decay;       /* < 0: the optimizer's default (adamw 1e-2, else 0) */
    float beta1, beta2, eps;  /* adam/adamw: 0.9, 0.999, 1e-8 */
    bool amsgrad;
    float label_smoothing;    /* default 0 */
    /* Fraction of the train split held out (stratified by class, chosen by
     * seed) for validation; < 0: 0.2 when patience > 0, else 0. */
    double val_split;
    int patience;             /* early stopping on validation loss, restoring the best
                                 weights; 0 = off (default) */
    uint64_t seed;            /* shuffling, dropout, split, initialisation; default 0 */
    int threads;              /* OpenBLAS threads; 0 = leave as is */
    const char *checkpoint;   /* written atomically after every epoch; NULL = none */
    bool resume;              /* continue from checkpoint (same result as an uninterrupted run) */
    const char *log_path;     /* per-epoch metrics CSV; NULL = none */
    /* Polled after every batch: when *stop becomes non-zero the run ends
     * after the current batch with result.interrupted set (e.g. set it from
     * a SIGINT handler).  NULL: never. */
    volatile sig_atomic_t *stop;
    void (*on_epoch)(const ssdc_epoch *e, void *user);  /* NULL: none */
    void *user;
    /* After training, BatchNorm running mean/variance set to the training
     * split's statistics under the final weights (default true; false: the
     * running averages as training left them, as PyTorch does). */
    bool bn_recalibrate;
} ssdc_train_options;

void ssdc_train_options_init(ssdc_train_options *o);

typedef struct {
    int epochs_run;           /* epochs completed (incl. resumed ones) */
    int best_epoch;           /* 0 without validation */
    double best_val_loss;     /* NaN without validation */
    double seconds;           /* this call */
    bool stopped_early;
    bool interrupted;         /* *stop was set; the checkpoint holds the finished epochs */
    bool resumed;
    int64_t n_train, n_val;   /* samples trained on / held out */
    ssdc_epoch last;          /* the last epoch's figures (epoch 0 if none ran) */
} ssdc_train_result;

/* Trains m in place with softmax cross-entropy on d's train split (minus the
 * validation hold-out): on success m holds the trained weights and BatchNorm
 * statistics (the best epoch's when early stopping ran).  The model must
 * have one input [batch, ...sample dims] and output 0 the logits
 * [batch, n_classes].  res may be NULL.  An interruption through *stop is
 * not an error: SSDC_OK with res->interrupted. */
ssdc_status ssdc_train(ssdc_model *m, const ssdc_dataset *d, const ssdc_train_options *opt,
                       ssdc_train_result *res, ssdc_error *err);

/* ===================================================================== */
/* Distillation (SSD)                                                     */
/* ===================================================================== */

typedef enum {
    SSDC_DISTILL_SSD = 0,          /* student-guided weighting of K stochastic teacher reps */
    SSDC_DISTILL_ALL_REPS_COSINE,  /* ablation: 1 - mean_k cos(s, t_k) over all K reps */
    SSDC_DISTILL_SELF_DISTILL,     /* ablation: MSE to the deterministic teacher feature */
    SSDC_DISTILL_CE                /* ablation: cross-entropy only, no teacher */
} ssdc_distill_mode;

/* Dropout at a named tensor of the teacher (activates the file's Dropout
 * there, or inserts one). */
typedef struct {
    const char *tensor;
    float rate;                    /* 0 <= rate < 1 */
} ssdc_dropout;

typedef struct {
    ssdc_distill_mode mode;        /* default SSDC_DISTILL_SSD */
    int reps;                      /* K stochastic teacher passes per sample (30) */
    float tau;                     /* softmax temperature of the SGKD weights (5) */
    float percentile;              /* keep reps whose weight is >= this percentile (90) */
    float alpha, beta;             /* loss = alpha * distillation + beta * CE (0.5, 0.5) */
    float kd_gamma, kd_temperature;/* + gamma * T^2 * KL on logits; gamma 0 = off (T 4) */
    const char *feature;           /* NULL: the input of the final classifier */
    const ssdc_dropout *dropouts;  /* NULL: the file's Dropouts, or one ssdc inserts
                                      before the block producing the feature */
    int n_dropouts;                /* at most 16 */
    float teacher_dropout_rate;    /* < 0 (default): the file's rates */
    float default_dropout_rate;    /* rate of a dropout ssdc inserts itself (0.1) */
    bool student_from_teacher;     /* start from the teacher's weights instead of the
                                      student initialisation (SSDC_INIT_STUDENT) */
    int finetune_epochs;           /* cross-entropy-only epochs afterwards (0) */
    const char *emit_graph;        /* also write the training graph as ONNX; NULL = no */
} ssdc_distill_options;

void ssdc_distill_options_init(ssdc_distill_options *o);

typedef struct {
    ssdc_train_result train;       /* the distillation run (plus fine-tuning time/epochs) */
    char feature[256];             /* the feature tensor distilled */
    bool feature_auto;             /* found automatically */
    char dropouts[768];            /* the teacher's active dropout, for people */
    bool dropout_default;          /* ssdc chose where (the model had no Dropout) */
    int prefix_nodes;              /* teacher nodes run once per batch */
    int region_nodes;              /* teacher nodes run on K x batch rows */
} ssdc_distill_result;

/* Distils a new student of the teacher's architecture on d's train split
 * (train options: epochs, batch, optimizer, seed, val_split, ... as for
 * ssdc_train; the teacher stays frozen).  On success *student is a new
 * model (free it with ssdc_model_free).  res may be NULL.  An interruption
 * through topt->stop is an error here (SSDC_ERR_INVALID; the checkpoint
 * holds the finished epochs). */
ssdc_status ssdc_distill(const ssdc_model *teacher, const ssdc_dataset *d,
                         const ssdc_distill_options *dopt, const ssdc_train_options *topt,
                         ssdc_model **student, ssdc_distill_result *res, ssdc_error *err);

/* ===================================================================== */
/* Evaluation                                                             */
/* ===================================================================== */

typedef struct {
    int64_t n;                     /* samples evaluated */
    int n_classes;
    double loss;                   /* mean cross-entropy */
    double accuracy;               /* in [0, 1] */
    int64_t *confusion;            /* n_classes x n_classes, [true * n_classes + predicted] */
} ssdc_eval_result;

/* Runs m (inference mode) over a split of d in batches of batch (0: 128). */
ssdc_status ssdc_evaluate(const ssdc_model *m, const ssdc_dataset *d, ssdc_split split, int batch,
                          ssdc_eval_result *res, ssdc_error *err);

/* Frees res->confusion and zeroes res (safe on a zeroed result). */
void ssdc_eval_result_free(ssdc_eval_result *res);

/* ===================================================================== */
/* C code generation                                                      */
/* ===================================================================== */

/* A zeroed struct (or NULL) gives the defaults. */
typedef struct {
    int64_t batch;                 /* batch of symbolic-batch inputs; <= 0: 1 */
    bool no_libm;                  /* own expf/logf/... instead of <math.h> */
    const char *weights_section;   /* NULL: default; else a linker section for the weights */
    bool emit_main;                /* also OUTDIR/NAME_main.c, a test program */
} ssdc_codegen_options;

typedef struct {
    size_t arena_bytes;            /* the static arena of the generated code */
    size_t weight_bytes;           /* static const data */
    size_t peak_live_bytes;        /* intermediate bytes live at once (lower bound) */
    size_t sum_tensor_bytes;       /* every intermediate in its own buffer */
    int n_nodes, n_views, n_inplace, n_folded;
} ssdc_codegen_result;

/* Writes OUTDIR/NAME.h and OUTDIR/NAME.c (and NAME_main.c): dependency-free
 * C99 inference code for m (no malloc, no stdio; one static arena).  name
 * must be a C identifier; outdir is created if needed.  m is not modified
 * (the inference passes run on a copy).  When nodes cannot be generated,
 * SSDC_ERR_UNSUPPORTED names them.  res may be NULL. */
ssdc_status ssdc_codegen(const ssdc_model *m, const char *outdir, const char *name,
                         const ssdc_codegen_options *opt, ssdc_codegen_result *res,
                         ssdc_error *err);

#ifdef __cplusplus
}
#endif

#endif
