/* Classification data sets: loading (UCR TSV/CSV, UEA .ts, IDX, NPY pairs),
 * the built-in Cylinder-Bell-Funnel generator, stratified splits and
 * normalisation.
 *
 * A data set holds n samples of one per-sample shape (series [C,L] or images
 * [C,H,W]) as float32, row-major, and n labels in 0..n_classes-1.  Labels of
 * a file are mapped to 0..C-1 in sorted order (numeric order when every label
 * is a number, else strcmp order); the mapping is built from the union of the
 * train and test labels so both splits agree.  class_names[c] is the label
 * string that maps to c.
 *
 * Errors name the file and line (text formats) or byte offset (binary
 * formats), e.g. "ECG200_TRAIN.tsv:17: field 5 is 'abc', expected a number".
 * Nothing here exits or aborts; hostile input gives an error value. */
#ifndef SSDC_FRONTEND_DATASET_H
#define SSDC_FRONTEND_DATASET_H

#include <stdint.h>

#include "graph/status.h"

#define DATASET_MAX_RANK 3
#define DATASET_MAX_CLASSES 65536
#define DATASET_MAX_LABEL_LEN 1024
#define DATASET_DEFAULT_MAX_LINE ((int64_t)64 << 20) /* bytes in one text line */
#define DATASET_CBF_LENGTH 128
#define DATASET_CBF_DEFAULT_TRAIN 30
#define DATASET_CBF_DEFAULT_TEST 900

typedef struct {
    char *name;            /* e.g. "ECG200", "BasicMotions", "fashion-mnist", "cbf" */
    const char *format;    /* static string: "tsv", "ts", "idx", "npy", "cbf" */
    int64_t n;             /* samples */
    int rank;              /* per-sample rank: 2 for [C,L] series, 3 for [C,H,W] images */
    int64_t dims[DATASET_MAX_RANK]; /* per-sample dims, e.g. {1, 96} or {1, 28, 28} */
    float *x;              /* n * prod(dims) values, row-major */
    int64_t *y;            /* n labels in 0..n_classes-1 */
    int n_classes;
    char **class_names;    /* n_classes label strings; index = class id */
} dataset;

typedef struct {
    dataset train, test;
} dataset_pair;

typedef enum {
    DATASET_NAN_REFUSE = 0, /* a missing value (NaN, '?') is an error naming file:line */
    DATASET_NAN_ZERO        /* missing values become 0 */
} dataset_nan_mode;

/* All-zero options (or a NULL pointer) mean the defaults. */
typedef struct {
    dataset_nan_mode nan_mode;
    int64_t max_values;      /* per split, <= 0: SSDC_MAX_TENSOR_ELEMS (2^31) */
    int64_t max_line_bytes;  /* <= 0: DATASET_DEFAULT_MAX_LINE (64 MiB) */
    int64_t cbf_n_train;     /* <= 0: 30 */
    int64_t cbf_n_test;      /* <= 0: 900 */
    uint64_t cbf_seed;       /* the generator is deterministic for a seed */
} dataset_load_options;

/* Loads a train/test pair.  spec is one of:
 *  - "cbf": the built-in Cylinder-Bell-Funnel generator (opt->cbf_*);
 *  - a folder holding NAME_TRAIN.tsv/NAME_TEST.tsv (also .csv, .txt or no
 *    extension), NAME_TRAIN.ts/NAME_TEST.ts, IDX files
 *    (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 *    t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) or NPY pairs
 *    (X_train.npy, y_train.npy, X_test.npy, y_test.npy or PREFIX_X_train.npy ...);
 *    NAME = the folder's own name is tried first;
 *  - a prefix such as data/ECG200/ECG200 (then _TRAIN.tsv, _TRAIN.ts, ...,
 *    _X_train.npy are tried);
 *  - one of the train files itself (NAME_TRAIN.tsv, PREFIX_X_train.npy, ...).
 * To load a folder called "cbf", write "./cbf".  On failure *out is zeroed. */
ssdc_status dataset_load(const char *spec, const dataset_load_options *opt, dataset_pair *out,
                         ssdc_error *err);

/* Format-specific loaders (what dataset_load calls once it found the files). */
/* UCR: one sample per line, label first, then the values; separated by tabs,
 * commas or blanks.  Blank lines are skipped. */
ssdc_status dataset_load_tsv(const char *train_path, const char *test_path,
                             const dataset_load_options *opt, dataset_pair *out, ssdc_error *err);
/* UEA/sktime .ts: @-header, then "v,v,...:v,v,...:label" per sample;
 * equal-length series only, no timestamps. */
ssdc_status dataset_load_ts(const char *train_path, const char *test_path,
                            const dataset_load_options *opt, dataset_pair *out, ssdc_error *err);
/* IDX, gzip-compressed or plain.  Images: ubyte (scaled by 1/255), float or
 * double, [N,L] -> [1,L], [N,H,W] -> [1,H,W], [N,C,H,W]; labels: [N] integers. */
ssdc_status dataset_load_idx(const char *train_images, const char *train_labels,
                             const char *test_images, const char *test_labels,
                             const dataset_load_options *opt, dataset_pair *out, ssdc_error *err);
/* NPY: X of rank 2 ([N,L] -> [1,L]), 3 ([N,C,L]) or 4 ([N,C,H,W]), any
 * numeric dtype (values kept as they are); y of shape [N] (or [N,1]), integer
 * labels (float arrays holding whole numbers are accepted). */
ssdc_status dataset_load_npy(const char *x_train, const char *y_train, const char *x_test,
                             const char *y_test, const dataset_load_options *opt,
                             dataset_pair *out, ssdc_error *err);

/* Cylinder-Bell-Funnel (Saito 1994), as in UCR's CBF: length 128, classes
 * 0 = cylinder, 1 = bell, 2 = funnel (UCR labels 1, 2, 3), balanced (the
 * first n % 3 classes get one extra sample), shuffled.  With t = 1..128,
 * a ~ U{16..32}, b - a ~ U{32..96}, eta, eps(t) ~ N(0,1):
 *   cylinder  (6+eta) * [a<=t<=b]                 + eps(t)
 *   bell      (6+eta) * [a<=t<=b] * (t-a)/(b-a)   + eps(t)
 *   funnel    (6+eta) * [a<=t<=b] * (b-t)/(b-a)   + eps(t)
 * Deterministic for (seed, n_train) and (seed, n_test): the two splits use
 * independent streams, so the test split does not depend on n_train. */
ssdc_status dataset_generate_cbf(int64_t n_train, int64_t n_test, uint64_t seed,
                                 dataset_pair *out, ssdc_error *err);

/* Frees everything d owns and zeroes it (safe on a zeroed or freed dataset). */
void dataset_free(dataset *d);
void dataset_pair_free(dataset_pair *p);

/* Values in one sample: prod(dims). */
int64_t dataset_sample_numel(const dataset *d);
/* counts[c] = samples of class c, for c < d->n_classes. */
void dataset_count_classes(const dataset *d, int64_t *counts);

/* out = the samples idx[0..k-1] of d (in that order), with d's classes. */
ssdc_status dataset_select(const dataset *d, const int64_t *idx, int64_t k, dataset *out,
                           ssdc_error *err);
ssdc_status dataset_copy(const dataset *d, dataset *out, ssdc_error *err);

/* Splits d into train and val, stratified by class: of the n_c samples of
 * class c, round(n_c * val_fraction) go to val, but at least one stays in
 * train.  Which ones is decided by seed alone (deterministic); both parts
 * keep d's order and d's class list.  0 <= val_fraction < 1. */
ssdc_status dataset_split_stratified(const dataset *d, double val_fraction, uint64_t seed,
                                     dataset *train, dataset *val, ssdc_error *err);

typedef enum {
    DATASET_NORM_NONE = 0,
    DATASET_NORM_ZNORM_SAMPLE,  /* each sample's channel to mean 0, std 1 (constant -> 0) */
    DATASET_NORM_ZNORM_DATASET  /* per-channel mean/std of the fit set applied to all */
} dataset_norm_mode;

/* "none", "znorm-sample", "znorm-dataset". */
ssdc_status dataset_parse_norm_mode(const char *s, dataset_norm_mode *mode, ssdc_error *err);
const char *dataset_norm_mode_name(dataset_norm_mode mode);

/* Normalises train and (if not NULL) test in place.  For znorm-dataset the
 * statistics come from train only.  Standard deviations are population ones
 * (divide by the count); a std below 1e-8 counts as 1. */
ssdc_status dataset_normalize(dataset *train, dataset *test, dataset_norm_mode mode,
                              ssdc_error *err);
/* The pieces, for callers with more splits: per-channel statistics over all
 * samples and positions (mean and std have d->dims[0] entries), and their
 * application (x - mean[c]) / std[c]. */
ssdc_status dataset_compute_channel_stats(const dataset *d, double *mean, double *std,
                                          ssdc_error *err);
ssdc_status dataset_apply_channel_stats(dataset *d, int64_t channels, const double *mean,
                                        const double *std, ssdc_error *err);
void dataset_znorm_samples(dataset *d);

#endif
