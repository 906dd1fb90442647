/* Classification data sets: the data set type (lifetime, selection),
 * stratified splits and normalisation, and dataset_load, which resolves a
 * spec (cbf, a folder, a prefix or a train file) to the files of one format
 * and calls its reader.  The readers are in frontend/dataset_{ucr,uea,idx,
 * npy,cbf}.c, what they share in frontend/dataset_parse.c. */
#include "frontend/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "frontend/dataset_parse.h"

/* ---- path helpers ---- */

static bool ds_is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static char *ds_concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *r = malloc(la + lb + 1);
    if (r) {
        memcpy(r, a, la);
        memcpy(r + la, b, lb + 1);
    }
    return r;
}

static char *ds_join(const char *dir, const char *name)
{
    size_t ld = strlen(dir);
    bool slash = ld > 0 && dir[ld - 1] == '/';
    size_t ln = strlen(name);
    char *r = malloc(ld + 1 + ln + 1);
    if (r) {
        memcpy(r, dir, ld);
        size_t k = ld;
        if (!slash)
            r[k++] = '/';
        memcpy(r + k, name, ln + 1);
    }
    return r;
}

static bool ds_ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* ---- spec resolution ---- */

static const char *const ds_text_exts[] = {".tsv", ".ts", ".csv", ".txt", ""};

/* Loads PREFIX_TRAIN<ext> / PREFIX_TEST<ext>.  *found = false if no train
 * file exists for any extension. */
static ssdc_status ds_try_text_prefix(const char *prefix, const dataset_load_options *opt,
                                      dataset_pair *out, bool *found, ssdc_error *err)
{
    *found = false;
    for (size_t i = 0; i < sizeof ds_text_exts / sizeof *ds_text_exts; i++) {
        char tr_suffix[32], te_suffix[32];
        snprintf(tr_suffix, sizeof tr_suffix, "_TRAIN%s", ds_text_exts[i]);
        snprintf(te_suffix, sizeof te_suffix, "_TEST%s", ds_text_exts[i]);
        char *tr = ds_concat(prefix, tr_suffix);
        char *te = ds_concat(prefix, te_suffix);
        if (!tr || !te) {
            free(tr);
            free(te);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        }
        ssdc_status st = SSDC_OK;
        if (ds_is_file(tr)) {
            *found = true;
            if (!ds_is_file(te))
                st = ssdc_fail(err, SSDC_ERR_IO, "%s: found, but not its test split %s", tr, te);
            else if (strcmp(ds_text_exts[i], ".ts") == 0)
                st = dataset_load_ts(tr, te, opt, out, err);
            else
                st = dataset_load_tsv(tr, te, opt, out, err);
        }
        free(tr);
        free(te);
        if (*found)
            return st;
    }
    return SSDC_OK;
}

/* PREFIX_X_train.npy ... (prefix "dir/" gives dir/X_train.npy ...). */
static ssdc_status ds_try_npy_prefix(const char *prefix, const dataset_load_options *opt,
                                     dataset_pair *out, bool *found, ssdc_error *err)
{
    *found = false;
    size_t lp = strlen(prefix);
    const char *sep = (lp == 0 || prefix[lp - 1] == '/') ? "" : "_";
    static const char *const parts[4] = {"X_train.npy", "y_train.npy", "X_test.npy",
                                         "y_test.npy"};
    char *paths[4] = {0};
    ssdc_status st = SSDC_OK;
    for (int i = 0; i < 4; i++) {
        size_t n = lp + strlen(sep) + strlen(parts[i]) + 1;
        paths[i] = malloc(n);
        if (!paths[i]) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            goto done;
        }
        snprintf(paths[i], n, "%s%s%s", prefix, sep, parts[i]);
    }
    if (!ds_is_file(paths[0]))
        goto done;
    *found = true;
    for (int i = 1; i < 4; i++)
        if (!ds_is_file(paths[i])) {
            st = ssdc_fail(err, SSDC_ERR_IO, "%s: found, but not %s", paths[0], paths[i]);
            goto done;
        }
    st = dataset_load_npy(paths[0], paths[1], paths[2], paths[3], opt, out, err);
done:
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    return st;
}

/* dir/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (also "images.idx3"). */
static ssdc_status ds_try_idx_dir(const char *dir, const dataset_load_options *opt,
                                  dataset_pair *out, bool *found, ssdc_error *err)
{
    *found = false;
    static const char *const stems[4][2] = {
        {"train-images-idx3-ubyte", "train-images.idx3-ubyte"},
        {"train-labels-idx1-ubyte", "train-labels.idx1-ubyte"},
        {"t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"},
        {"t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"},
    };
    static const char *const exts[2] = {".gz", ""};
    char *paths[4] = {0};
    ssdc_status st = SSDC_OK;
    for (int i = 0; i < 4; i++) {
        for (int s = 0; s < 2 && !paths[i]; s++)
            for (int e = 0; e < 2 && !paths[i]; e++) {
                char name[64];
                snprintf(name, sizeof name, "%s%s", stems[i][s], exts[e]);
                char *p = ds_join(dir, name);
                if (!p) {
                    st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
                    goto done;
                }
                if (ds_is_file(p))
                    paths[i] = p;
                else
                    free(p);
            }
        if (i == 0 && !paths[0])
            goto done;
        if (!paths[i]) {
            st = ssdc_fail(err, SSDC_ERR_IO, "%s: found, but not %s[.gz] in the same folder",
                           paths[0], stems[i][0]);
            *found = true;
            goto done;
        }
    }
    *found = true;
    st = dataset_load_idx(paths[0], paths[1], paths[2], paths[3], opt, out, err);
done:
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    return st;
}

/* Scans dir for one NAME_TRAIN.<ext> or NAME_X_train.npy. */
static ssdc_status ds_scan_dir(const char *dir, const dataset_load_options *opt,
                               dataset_pair *out, bool *found, ssdc_error *err)
{
    *found = false;
    DIR *dp = opendir(dir);
    if (!dp)
        return ssdc_fail(err, SSDC_ERR_IO, "%s: cannot open the folder: %s", dir,
                         strerror(errno));
    char *cand = NULL; /* prefix (dir/NAME) of the first candidate */
    char *cand_name = NULL;
    bool cand_npy = false;
    char *other = NULL;
    struct dirent *e;
    while ((e = readdir(dp))) {
        const char *nm = e->d_name;
        const char *cut = NULL;
        bool npy = false;
        if (ds_ends_with(nm, "_X_train.npy")) {
            cut = nm + strlen(nm) - strlen("_X_train.npy");
            npy = true;
        } else {
            const char *t = strstr(nm, "_TRAIN");
            if (t) {
                const char *ext = t + 6;
                for (size_t i = 0; i < sizeof ds_text_exts / sizeof *ds_text_exts; i++)
                    if (strcmp(ext, ds_text_exts[i]) == 0)
                        cut = t;
            }
        }
        if (!cut || cut == nm)
            continue;
        char *nm_prefix = ds_strndup(nm, (size_t)(cut - nm));
        if (!nm_prefix)
            break;
        if (!cand) {
            cand_name = nm_prefix;
            cand = ds_join(dir, nm_prefix);
            cand_npy = npy;
        } else if (strcmp(cand_name, nm_prefix) != 0 || cand_npy != npy) {
            if (!other)
                other = ds_strdup(nm);
            free(nm_prefix);
        } else {
            free(nm_prefix);
        }
    }
    closedir(dp);
    ssdc_status st = SSDC_OK;
    if (cand && other) {
        *found = true;
        st = ssdc_fail(err, SSDC_ERR_ARG,
                       "%s: holds several data sets (%s and %s ...); give the prefix, e.g. %s",
                       dir, cand_name, other, cand);
    } else if (cand) {
        st = cand_npy ? ds_try_npy_prefix(cand, opt, out, found, err)
                      : ds_try_text_prefix(cand, opt, out, found, err);
    }
    free(cand);
    free(cand_name);
    free(other);
    return st;
}

static ssdc_status ds_load_dir(const char *dir, const dataset_load_options *opt,
                               dataset_pair *out, ssdc_error *err)
{
    bool found = false;
    char *base = ds_basename(dir);
    char *prefix = base ? ds_join(dir, base) : NULL;
    free(base);
    if (!prefix)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = ds_try_text_prefix(prefix, opt, out, &found, err);
    if (!found)
        st = ds_try_npy_prefix(prefix, opt, out, &found, err);
    free(prefix);
    if (!found)
        st = ds_try_idx_dir(dir, opt, out, &found, err);
    if (!found) {
        char *slash = ds_join(dir, "");
        if (!slash)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        st = ds_try_npy_prefix(slash, opt, out, &found, err);
        free(slash);
    }
    if (!found)
        st = ds_scan_dir(dir, opt, out, &found, err);
    if (!found)
        return ssdc_fail(err, SSDC_ERR_IO,
                         "%s: no data set found in the folder (looked for NAME_TRAIN.tsv and "
                         "NAME_TEST.tsv, NAME_TRAIN.ts and NAME_TEST.ts, "
                         "train-images-idx3-ubyte[.gz] and the other IDX files, X_train.npy, "
                         "y_train.npy, X_test.npy, y_test.npy)",
                         dir);
    return st;
}

ssdc_status dataset_load(const char *spec, const dataset_load_options *opt, dataset_pair *out,
                         ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec)
        return ssdc_fail(err, SSDC_ERR_ARG, "no data set given");
    if (strcasecmp(spec, "cbf") == 0) {
        int64_t ntr = opt && opt->cbf_n_train > 0 ? opt->cbf_n_train : DATASET_CBF_DEFAULT_TRAIN;
        int64_t nte = opt && opt->cbf_n_test > 0 ? opt->cbf_n_test : DATASET_CBF_DEFAULT_TEST;
        return dataset_generate_cbf(ntr, nte, opt ? opt->cbf_seed : 0, out, err);
    }
    if (ds_is_dir(spec))
        return ds_load_dir(spec, opt, out, err);
    bool found = false;
    ssdc_status st;
    if (ds_is_file(spec)) {
        /* one of the train files itself */
        const char *base = strrchr(spec, '/');
        base = base ? base + 1 : spec;
        const char *t = strstr(base, "_TRAIN");
        bool npy = ds_ends_with(spec, "X_train.npy"), has_train = t != NULL;
        size_t t_off = has_train ? (size_t)(t - spec) : 0;
        if (npy) {
            size_t cut = strlen(spec) - strlen("X_train.npy");
            if (cut > 0 && spec[cut - 1] == '_')
                cut--;
            char *prefix = ds_strndup(spec, cut);
            if (!prefix)
                return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            st = ds_try_npy_prefix(prefix, opt, out, &found, err);
            free(prefix);
            if (found)
                return st;
        } else if (has_train) {
            char *prefix = ds_strndup(spec, t_off);
            if (!prefix)
                return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            st = ds_try_text_prefix(prefix, opt, out, &found, err);
            free(prefix);
            if (found)
                return st;
        }
        return ssdc_fail(err, SSDC_ERR_ARG,
                         "%s: cannot tell which data set this file belongs to; give its folder, "
                         "its NAME prefix (NAME_TRAIN.tsv, NAME_TRAIN.ts, NAME_X_train.npy) or "
                         "the NAME_TRAIN file",
                         spec);
    }
    st = ds_try_text_prefix(spec, opt, out, &found, err);
    if (found)
        return st;
    st = ds_try_npy_prefix(spec, opt, out, &found, err);
    if (found)
        return st;
    return ssdc_fail(err, SSDC_ERR_IO,
                     "%s: no such data set: not a folder, not a file, and none of %s_TRAIN.tsv, "
                     "%s_TRAIN.ts, %s_TRAIN.csv, %s_X_train.npy exist (built-in: cbf)",
                     spec, spec, spec, spec, spec);
}

/* ---- lifetime, selection, splits ---- */

void dataset_free(dataset *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->x);
    free(d->y);
    if (d->class_names)
        for (int c = 0; c < d->n_classes; c++)
            free(d->class_names[c]);
    free(d->class_names);
    memset(d, 0, sizeof *d);
}

void dataset_pair_free(dataset_pair *p)
{
    if (!p)
        return;
    dataset_free(&p->train);
    dataset_free(&p->test);
}

int64_t dataset_sample_numel(const dataset *d)
{
    int64_t n = 1;
    for (int i = 0; i < d->rank; i++)
        n *= d->dims[i];
    return n;
}

void dataset_count_classes(const dataset *d, int64_t *counts)
{
    for (int c = 0; c < d->n_classes; c++)
        counts[c] = 0;
    for (int64_t i = 0; i < d->n; i++)
        if (d->y[i] >= 0 && d->y[i] < d->n_classes)
            counts[d->y[i]]++;
}

ssdc_status dataset_select(const dataset *d, const int64_t *idx, int64_t k, dataset *out,
                           ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    if (k < 0)
        return ssdc_fail(err, SSDC_ERR_ARG, "dataset_select: negative count %lld", (long long)k);
    for (int64_t i = 0; i < k; i++)
        if (idx[i] < 0 || idx[i] >= d->n)
            return ssdc_fail(err, SSDC_ERR_ARG,
                             "dataset_select: index %lld is outside 0..%lld of %s",
                             (long long)idx[i], (long long)d->n - 1, d->name ? d->name : "");
    int64_t per = dataset_sample_numel(d);
    out->format = d->format;
    out->n = k;
    out->rank = d->rank;
    memcpy(out->dims, d->dims, sizeof out->dims);
    out->n_classes = d->n_classes;
    out->name = ds_strdup(d->name ? d->name : "");
    out->x = malloc((size_t)(k * per > 0 ? k * per : 1) * sizeof *out->x);
    out->y = malloc((size_t)(k > 0 ? k : 1) * sizeof *out->y);
    out->class_names = calloc((size_t)(d->n_classes > 0 ? d->n_classes : 1),
                              sizeof *out->class_names);
    if (!out->name || !out->x || !out->y || !out->class_names) {
        dataset_free(out);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    for (int c = 0; c < d->n_classes; c++)
        if (!(out->class_names[c] = ds_strdup(d->class_names[c]))) {
            dataset_free(out);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        }
    for (int64_t i = 0; i < k; i++) {
        memcpy(out->x + i * per, d->x + idx[i] * per, (size_t)per * sizeof *out->x);
        out->y[i] = d->y[idx[i]];
    }
    return SSDC_OK;
}

ssdc_status dataset_copy(const dataset *d, dataset *out, ssdc_error *err)
{
    int64_t *idx = malloc((size_t)(d->n > 0 ? d->n : 1) * sizeof *idx);
    if (!idx) {
        memset(out, 0, sizeof *out);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < d->n; i++)
        idx[i] = i;
    ssdc_status st = dataset_select(d, idx, d->n, out, err);
    free(idx);
    return st;
}

ssdc_status dataset_split_stratified(const dataset *d, double val_fraction, uint64_t seed,
                                     dataset *train, dataset *val, ssdc_error *err)
{
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
        return ssdc_fail(err, SSDC_ERR_ARG,
                         "validation fraction %g is outside [0, 1)", val_fraction);
    for (int64_t i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->n_classes)
            return ssdc_fail(err, SSDC_ERR_INVALID, "%s: sample %lld has label %lld outside 0..%d",
                             d->name ? d->name : "dataset", (long long)i, (long long)d->y[i],
                             d->n_classes - 1);
    size_t nn = (size_t)(d->n > 0 ? d->n : 1);
    int64_t *order = malloc(nn * sizeof *order);   /* sample ids grouped by class */
    int64_t *start = calloc((size_t)d->n_classes + 1, sizeof *start);
    unsigned char *is_val = calloc(nn, 1);
    int64_t *tr_idx = malloc(nn * sizeof *tr_idx), *va_idx = malloc(nn * sizeof *va_idx);
    ssdc_status st = SSDC_OK;
    if (!order || !start || !is_val || !tr_idx || !va_idx) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < d->n; i++)
        start[d->y[i] + 1]++;
    for (int c = 0; c < d->n_classes; c++)
        start[c + 1] += start[c];
    {
        int64_t *fill = malloc((size_t)(d->n_classes > 0 ? d->n_classes : 1) * sizeof *fill);
        if (!fill) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int c = 0; c < d->n_classes; c++)
            fill[c] = start[c];
        for (int64_t i = 0; i < d->n; i++)
            order[fill[d->y[i]]++] = i;
        free(fill);
    }
    for (int c = 0; c < d->n_classes; c++) {
        int64_t nc = start[c + 1] - start[c];
        if (nc == 0)
            continue;
        int64_t nv = (int64_t)floor((double)nc * val_fraction + 0.5);
        if (nv > nc - 1)
            nv = nc - 1;
        ds_rng r;
        ds_rng_init(&r, seed, 0x5EED0000ull + (uint64_t)c);
        ds_shuffle(order + start[c], nc, &r);
        for (int64_t k = 0; k < nv; k++)
            is_val[order[start[c] + k]] = 1;
    }
    int64_t ntr = 0, nva = 0;
    for (int64_t i = 0; i < d->n; i++) {
        if (is_val[i])
            va_idx[nva++] = i;
        else
            tr_idx[ntr++] = i;
    }
    st = dataset_select(d, tr_idx, ntr, train, err);
    if (!st)
        st = dataset_select(d, va_idx, nva, val, err);
    if (st) {
        dataset_free(train);
        dataset_free(val);
    }
done:
    free(order);
    free(start);
    free(is_val);
    free(tr_idx);
    free(va_idx);
    return st;
}

/* ---- normalisation ---- */

#define DS_STD_EPS 1e-8

ssdc_status dataset_parse_norm_mode(const char *s, dataset_norm_mode *mode, ssdc_error *err)
{
    if (s && strcmp(s, "none") == 0)
        *mode = DATASET_NORM_NONE;
    else if (s && strcmp(s, "znorm-sample") == 0)
        *mode = DATASET_NORM_ZNORM_SAMPLE;
    else if (s && strcmp(s, "znorm-dataset") == 0)
        *mode = DATASET_NORM_ZNORM_DATASET;
    else
        return ssdc_fail(err, SSDC_ERR_ARG,
                         "normalisation '%s' is not one of none, znorm-sample, znorm-dataset",
                         s ? s : "(null)");
    return SSDC_OK;
}

const char *dataset_norm_mode_name(dataset_norm_mode mode)
{
    switch (mode) {
    case DATASET_NORM_NONE: return "none";
    case DATASET_NORM_ZNORM_SAMPLE: return "znorm-sample";
    case DATASET_NORM_ZNORM_DATASET: return "znorm-dataset";
    }
    return "unknown";
}

void dataset_znorm_samples(dataset *d)
{
    if (d->rank < 1 || d->n <= 0)
        return;
    int64_t C = d->dims[0];
    int64_t per = dataset_sample_numel(d);
    int64_t P = C > 0 ? per / C : 0;
    if (P <= 0)
        return;
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t c = 0; c < C; c++) {
            float *x = d->x + i * per + c * P;
            double s = 0;
            for (int64_t k = 0; k < P; k++)
                s += x[k];
            double mean = s / (double)P, ss = 0;
            for (int64_t k = 0; k < P; k++)
                ss += (x[k] - mean) * (x[k] - mean);
            double sd = sqrt(ss / (double)P);
            double inv = sd < DS_STD_EPS ? 1.0 : 1.0 / sd;
            for (int64_t k = 0; k < P; k++)
                x[k] = (float)((x[k] - mean) * inv);
        }
}

ssdc_status dataset_compute_channel_stats(const dataset *d, double *mean, double *std,
                                          ssdc_error *err)
{
    if (d->rank < 1 || d->dims[0] <= 0)
        return ssdc_fail(err, SSDC_ERR_INVALID, "%s: samples have no channels",
                         d->name ? d->name : "dataset");
    int64_t C = d->dims[0];
    int64_t per = dataset_sample_numel(d);
    int64_t P = per / C;
    if (d->n <= 0 || P <= 0)
        return ssdc_fail(err, SSDC_ERR_INVALID,
                         "%s: no samples to compute normalisation statistics from",
                         d->name ? d->name : "dataset");
    double cnt = (double)d->n * (double)P;
    for (int64_t c = 0; c < C; c++) {
        double s = 0;
        for (int64_t i = 0; i < d->n; i++) {
            const float *x = d->x + i * per + c * P;
            for (int64_t k = 0; k < P; k++)
                s += x[k];
        }
        double m = s / cnt, ss = 0;
        for (int64_t i = 0; i < d->n; i++) {
            const float *x = d->x + i * per + c * P;
            for (int64_t k = 0; k < P; k++)
                ss += (x[k] - m) * (x[k] - m);
        }
        mean[c] = m;
        std[c] = sqrt(ss / cnt);
    }
    return SSDC_OK;
}

ssdc_status dataset_apply_channel_stats(dataset *d, int64_t channels, const double *mean,
                                        const double *std, ssdc_error *err)
{
    if (d->rank < 1 || d->dims[0] != channels)
        return ssdc_fail(err, SSDC_ERR_SHAPE,
                         "%s: samples have %lld channel(s), the statistics are for %lld",
                         d->name ? d->name : "dataset", (long long)(d->rank ? d->dims[0] : 0),
                         (long long)channels);
    int64_t per = dataset_sample_numel(d);
    int64_t P = channels > 0 ? per / channels : 0;
    for (int64_t c = 0; c < channels; c++) {
        double inv = std[c] < DS_STD_EPS ? 1.0 : 1.0 / std[c];
        for (int64_t i = 0; i < d->n; i++) {
            float *x = d->x + i * per + c * P;
            for (int64_t k = 0; k < P; k++)
                x[k] = (float)((x[k] - mean[c]) * inv);
        }
    }
    return SSDC_OK;
}

ssdc_status dataset_normalize(dataset *train, dataset *test, dataset_norm_mode mode,
                              ssdc_error *err)
{
    switch (mode) {
    case DATASET_NORM_NONE:
        return SSDC_OK;
    case DATASET_NORM_ZNORM_SAMPLE:
        dataset_znorm_samples(train);
        if (test)
            dataset_znorm_samples(test);
        return SSDC_OK;
    case DATASET_NORM_ZNORM_DATASET: {
        if (test && (test->rank != train->rank ||
                     memcmp(test->dims, train->dims, sizeof test->dims) != 0))
            return ssdc_fail(err, SSDC_ERR_SHAPE,
                             "znorm-dataset: test samples have another shape than train samples");
        int64_t C = train->rank >= 1 ? train->dims[0] : 0;
        if (C <= 0)
            return ssdc_fail(err, SSDC_ERR_INVALID, "znorm-dataset: samples have no channels");
        double *mean = malloc((size_t)C * sizeof *mean), *sd = malloc((size_t)C * sizeof *sd);
        ssdc_status st = (!mean || !sd) ? ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory")
                                        : dataset_compute_channel_stats(train, mean, sd, err);
        if (!st)
            st = dataset_apply_channel_stats(train, C, mean, sd, err);
        if (!st && test)
            st = dataset_apply_channel_stats(test, C, mean, sd, err);
        free(mean);
        free(sd);
        return st;
    }
    }
    return ssdc_fail(err, SSDC_ERR_ARG, "unknown normalisation mode %d", (int)mode);
}
