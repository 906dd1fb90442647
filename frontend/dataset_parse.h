/* Internal to the data set files (frontend/dataset*.c): what the format
 * readers share.  Not part of the API; callers use frontend/dataset.h.
 *
 *   dataset.c        the data set type, split, normalisation, dataset_load
 *                    (which picks the reader from a spec)
 *   dataset_ucr.c    UCR TSV/CSV            dataset_uea.c  UEA/sktime .ts
 *   dataset_idx.c    IDX (gzip or plain)    dataset_npy.c  NPY pairs
 *   dataset_cbf.c    the CBF generator and the random numbers it (and the
 *                    stratified split) draws
 *   dataset_parse.c  everything declared here but the random numbers
 *
 * Text formats are read line by line with a bounded line buffer (lines above
 * max_line_bytes are refused before they are held in memory); values are
 * appended to growable buffers whose size is capped by max_values, so hostile
 * files cannot make us allocate more than the data they contain (binary
 * formats grow their buffers as the bytes actually arrive, whatever the
 * header claims). */
#ifndef SSDC_FRONTEND_DATASET_PARSE_H
#define SSDC_FRONTEND_DATASET_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/dataset.h"

/* ---- options (defaults resolved) ---- */

typedef struct {
    dataset_nan_mode nan_mode;
    int64_t max_values;
    int64_t max_line;
} ds_opts;

ds_opts ds_resolve_opts(const dataset_load_options *o);

/* ---- strings and paths ---- */

char *ds_strndup(const char *s, size_t n);
char *ds_strdup(const char *s);
/* Copies at most 40 bytes of s into buf for an error message, replacing
 * unprintable bytes with '?' and marking a cut with "...". */
const char *ds_show(const char *s, size_t len, char *buf, size_t cap);
bool ds_is_dir(const char *path);
/* The last path component of p without trailing slashes (malloc'd). */
char *ds_basename(const char *p);
/* The data set name from a train file path: ".../ECG200_TRAIN.tsv" -> "ECG200". */
char *ds_name_from_train_path(const char *path);
/* Name for a data set in a folder: the folder's name. */
char *ds_name_from_dir_of(const char *path);

/* ---- bounded line reader ---- */

typedef struct {
    FILE *f;
    const char *path;
    char *blk;
    size_t blk_len, blk_pos;
    bool eof;
    char *line;
    size_t line_len, line_cap;
    int64_t lineno;
    int64_t max_line;
} ds_reader;

ssdc_status ds_reader_open(ds_reader *r, const char *path, int64_t max_line, ssdc_error *err);
void ds_reader_close(ds_reader *r);
/* Reads the next line into r->line (NUL-terminated, without "\n" or "\r\n").
 * *got = false at end of file. */
ssdc_status ds_reader_next(ds_reader *r, bool *got, ssdc_error *err);

/* ---- label table: interned label strings, union over train and test ---- */

typedef struct {
    char **names;
    size_t *lens;
    int n, cap;
    int *slots; /* open addressing over names, -1 = empty */
    size_t nslots;
} ds_labels;

void ds_labels_free(ds_labels *t);
/* The id of label s, -1 if it is not in the table. */
int ds_labels_find(const ds_labels *t, const char *s, size_t len);
ssdc_status ds_labels_intern(ds_labels *t, const char *s, size_t len, int *id, ssdc_error *err);

/* ---- growable split buffer: values and raw label ids ---- */

typedef struct {
    float *x;
    int64_t nx, capx;
    int *lab;
    int64_t n, capn;
    int64_t max_values;
} ds_buf;

void ds_buf_free(ds_buf *b);
/* Makes room for k more values; the message is completed by the caller. */
ssdc_status ds_buf_reserve(ds_buf *b, int64_t k, ssdc_error *err);
ssdc_status ds_buf_push_label(ds_buf *b, int id, ssdc_error *err);
/* Interns the integer label v (IDX, NPY) and appends it; an error names
 * "path: label i". */
ssdc_status ds_buf_push_int_label(ds_buf *b, ds_labels *labels, long long v, const char *path,
                                  int64_t i, ssdc_error *err);
/* Finishes a pair from two buffers sharing one label table: labels map to
 * classes in sorted order (frontend/dataset.h); the values move into out. */
ssdc_status ds_finish_pair(dataset_pair *out, ds_buf *tr, ds_buf *te, const ds_labels *labels,
                           const char *name, const char *format, int rank, const int64_t *dims,
                           ssdc_error *err);

/* ---- numbers, one rule for every format ---- */

typedef enum { DS_NUM_OK, DS_NUM_MISSING, DS_NUM_BAD, DS_NUM_RANGE } ds_num;

/* s as a whole is a number in strtod's syntax; false for "" or trailing text. */
bool ds_parse_double(const char *s, double *v);
/* What a number becomes in a float32 split: NaN is a missing value (*out = 0
 * with --nan zero, else DS_NUM_MISSING); infinities and magnitudes above
 * FLT_MAX are DS_NUM_RANGE; else *out = d and DS_NUM_OK. */
ds_num ds_check_value(double d, dataset_nan_mode nan_mode, double *out);

/* ---- text fields (UCR, UEA) ---- */

/* Trims blanks (spaces, tabs) off both ends of s[0..*len) and NUL-terminates
 * the rest in place. */
char *ds_trim(char *s, size_t *len);
/* The next field of the NUL-terminated *p, up to delim (' ' means runs of
 * blanks), trimmed and NUL-terminated in place; *last = true for the last
 * field, else *p moves past the delimiter. */
char *ds_split_field(char **p, char delim, size_t *len, bool *last);
/* Parses a value field ('?' and NaN are missing values) and appends it to
 * b; errors read "path:line: WHAT is ..." (what: e.g. "field 3"). */
ssdc_status ds_buf_push_field(ds_buf *b, char *field, size_t flen, const char *what,
                              const ds_opts *o, const char *path, int64_t line,
                              ssdc_error *err);

/* ---- the pair loaders the readers plug into ---- */

/* The per-sample shape [channels, length] of a text format, set by the first
 * sample read (of the train file), and where that sample was. */
typedef struct {
    int64_t channels, length; /* -1 until known */
    const char *ref_path;
    int64_t ref_line;
} ds_sample_ref;

/* Reads one text file into b (labels into the shared table); *problem_name
 * may be set from the file's header (malloc'd). */
typedef ssdc_status (*ds_text_reader)(const char *path, const ds_opts *o, ds_labels *labels,
                                      ds_buf *b, ds_sample_ref *ref, char **problem_name,
                                      ssdc_error *err);

/* Train file, then test file: samples of shape [ref.channels, ref.length];
 * the name is the train file's problem name, else its NAME_TRAIN prefix. */
ssdc_status ds_load_text_pair(const char *train_path, const char *test_path,
                              const dataset_load_options *opt, ds_text_reader read_file,
                              const char *format, dataset_pair *out, ssdc_error *err);

/* A binary format of X (samples) and y (labels) files. */
typedef struct {
    const char *format;
    /* X into b (b->n = samples); per-sample shape into rank/dims */
    ssdc_status (*read_x)(const char *path, const ds_opts *o, ds_buf *b, int *rank,
                          int64_t *dims, ssdc_error *err);
    /* n labels into b, for the n samples of x_path */
    ssdc_status (*read_y)(const char *path, int64_t n, const char *x_path, ds_labels *labels,
                          ds_buf *b, ssdc_error *err);
    char *(*name_of)(const char *x_train); /* malloc'd */
} ds_array_format;

/* X and y of train, then of test; train and test samples must have one shape. */
ssdc_status ds_load_array_pair(const ds_array_format *fmt, const char *x_train,
                               const char *y_train, const char *x_test, const char *y_test,
                               const dataset_load_options *opt, dataset_pair *out,
                               ssdc_error *err);
/* An array of samples (dims[0] of them) has at least one, and no other
 * dimension is 0. */
ssdc_status ds_check_sample_dims(const char *path, int rank, const int64_t *dims,
                                 ssdc_error *err);

/* ---- random numbers (dataset_cbf.c) ---- */

typedef struct {
    uint64_t s;
    bool has_spare;
    double spare;
} ds_rng;

/* A generator for (seed, stream): independent streams of one seed. */
void ds_rng_init(ds_rng *r, uint64_t seed, uint64_t stream);
/* Fisher-Yates shuffle of v[0..n). */
void ds_shuffle(int64_t *v, int64_t n, ds_rng *r);

#endif
