/* NPY pairs (dataset_load_npy): X_train.npy, y_train.npy, X_test.npy and
 * y_test.npy (frontend/npy.c reads each file).  X is [N,L] (one channel),
 * [N,C,L] or [N,C,H,W] of any numeric dtype; y is [N] or [N,1] integer labels
 * (float arrays of whole numbers are accepted). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/dataset_parse.h"
#include "frontend/npy.h"
#include "graph/graph.h"

static ssdc_status ds_npy_x(const char *path, const ds_opts *o, ds_buf *b, int *rank,
                            int64_t *dims, ssdc_error *err)
{
    graph_value v;
    ssdc_status st = npy_read_file(path, &v, err);
    if (st)
        return st;
    if (v.rank < 2 || v.rank > 4) {
        st = ssdc_fail(err, SSDC_ERR_SHAPE,
                       "%s: X must have rank 2 ([N,L]), 3 ([N,C,L]) or 4 ([N,C,H,W]), found rank "
                       "%d",
                       path, v.rank);
        goto done;
    }
    st = ds_check_sample_dims(path, v.rank, v.dims, err);
    if (st)
        goto done;
    if (v.rank == 2) {
        *rank = 2;
        dims[0] = 1;
        dims[1] = v.dims[1];
    } else {
        *rank = v.rank - 1;
        for (int i = 1; i < v.rank; i++)
            dims[i - 1] = v.dims[i];
    }
    st = ds_buf_reserve(b, v.numel, err);
    if (st) {
        ssdc_error_prefix(err, "%s", path);
        goto done;
    }
    int64_t per = v.numel / v.dims[0];
    for (int64_t i = 0; i < v.numel; i++) {
        double x;
        ds_num k = ds_check_value(graph_value_get_f64(&v, i), o->nan_mode, &x);
        if (k == DS_NUM_MISSING) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s: element %lld (sample %lld) is NaN; --nan zero replaces "
                           "missing values with 0",
                           path, (long long)i, (long long)(i / per));
            goto done;
        }
        if (k == DS_NUM_RANGE) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s: element %lld (sample %lld) is outside the float32 range", path,
                           (long long)i, (long long)(i / per));
            goto done;
        }
        b->x[b->nx++] = (float)x;
    }
    b->n = v.dims[0];
done:
    free(v.data);
    return st;
}

static ssdc_status ds_npy_y(const char *path, int64_t n, const char *x_path, ds_labels *labels,
                            ds_buf *b, ssdc_error *err)
{
    graph_value v;
    ssdc_status st = npy_read_file(path, &v, err);
    if (st)
        return st;
    if (!(v.rank == 1 || (v.rank == 2 && v.dims[1] == 1))) {
        st = ssdc_fail(err, SSDC_ERR_SHAPE, "%s: y must have shape [N] or [N,1], found rank %d",
                       path, v.rank);
        goto done;
    }
    if (v.dims[0] != n) {
        st = ssdc_fail(err, SSDC_ERR_SHAPE, "%s: %lld labels, but %s has %lld samples", path,
                       (long long)v.dims[0], x_path, (long long)n);
        goto done;
    }
    bool is_float = v.dtype == GRAPH_DT_FLOAT || v.dtype == GRAPH_DT_DOUBLE;
    b->n = 0;
    for (int64_t i = 0; i < n; i++) {
        long long lab;
        if (is_float) {
            double d = graph_value_get_f64(&v, i);
            if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e15) {
                st = ssdc_fail(err, SSDC_ERR_FORMAT,
                               "%s: label %lld is %g, expected a whole number (class labels "
                               "must be integers)",
                               path, (long long)i, d);
                goto done;
            }
            lab = (long long)d;
        } else {
            lab = (long long)graph_value_get_i64(&v, i);
        }
        st = ds_buf_push_int_label(b, labels, lab, path, i, err);
        if (st)
            goto done;
    }
done:
    free(v.data);
    return st;
}

/* "dir/X_train.npy" is named after dir, "dir/NAME_X_train.npy" NAME. */
static char *ds_npy_name(const char *x_train)
{
    char *base = ds_basename(x_train);
    if (base && strcmp(base, "X_train.npy") == 0) {
        free(base);
        return ds_name_from_dir_of(x_train);
    }
    free(base);
    return ds_name_from_train_path(x_train);
}

static const ds_array_format ds_npy_format = {
    .format = "npy",
    .read_x = ds_npy_x,
    .read_y = ds_npy_y,
    .name_of = ds_npy_name,
};

ssdc_status dataset_load_npy(const char *x_train, const char *y_train, const char *x_test,
                             const char *y_test, const dataset_load_options *opt,
                             dataset_pair *out, ssdc_error *err)
{
    return ds_load_array_pair(&ds_npy_format, x_train, y_train, x_test, y_test, opt, out, err);
}
