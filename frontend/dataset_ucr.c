/* UCR TSV / CSV (dataset_load_tsv): one sample per line, the class label
 * first, then the values of the series; fields separated by tabs, commas or
 * blanks (the first non-blank line decides which, for the whole file).  Blank
 * lines are skipped; every row has the length of the first one; '?' and NaN
 * are missing values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/dataset_parse.h"

/* A label field: not empty, not a NaN/inf number. */
static ssdc_status ds_label_field(ds_labels *labels, char *field, size_t flen, const char *path,
                                  int64_t line, int *id, ssdc_error *err)
{
    char show[64];
    if (flen == 0)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s:%lld: the class label is empty", path,
                         (long long)line);
    double d;
    if (ds_parse_double(field, &d) && !isfinite(d))
        return ssdc_fail(err, SSDC_ERR_FORMAT,
                         "%s:%lld: the class label is '%s', expected a class name or number",
                         path, (long long)line, ds_show(field, flen, show, sizeof show));
    ssdc_status st = ds_labels_intern(labels, field, flen, id, err);
    if (st)
        return ssdc_error_prefix(err, "%s:%lld", path, (long long)line);
    return SSDC_OK;
}

/* A ds_text_reader: the file has no header, so no problem name. */
static ssdc_status ds_tsv_read_file(const char *path, const ds_opts *o, ds_labels *labels,
                                    ds_buf *b, ds_sample_ref *ref, char **problem_name,
                                    ssdc_error *err)
{
    (void)problem_name;
    ds_reader r;
    ssdc_status st = ds_reader_open(&r, path, o->max_line, err);
    if (st)
        return st;
    char delim = 0; /* '\t', ',' or ' ' (runs of blanks) */
    for (;;) {
        bool got;
        st = ds_reader_next(&r, &got, err);
        if (st || !got)
            break;
        /* trim trailing blanks and leading spaces; a leading tab is an empty
         * label field in a tab-separated file */
        char *line = r.line;
        size_t ll = r.line_len;
        while (ll > 0 && (line[ll - 1] == ' ' || line[ll - 1] == '\t'))
            ll--;
        line[ll] = '\0';
        while (*line == ' ')
            line++, ll--;
        if (ll == 0)
            continue;
        if (!delim)
            delim = strchr(line, '\t') ? '\t' : strchr(line, ',') ? ',' : ' ';
        if (delim == ' ')
            while (*line == '\t')
                line++, ll--;
        /* split into fields */
        int64_t field_no = 0, values = 0;
        char *p = line;
        for (;;) {
            size_t flen;
            bool last;
            char *field = ds_split_field(&p, delim, &flen, &last);
            field_no++;
            if (field_no == 1) {
                int id;
                st = ds_label_field(labels, field, flen, path, r.lineno, &id, err);
                if (!st)
                    st = ds_buf_push_label(b, id, err);
            } else {
                char what[48];
                snprintf(what, sizeof what, "field %lld", (long long)field_no);
                st = ds_buf_push_field(b, field, flen, what, o, path, r.lineno, err);
                values++;
            }
            if (st)
                goto done;
            if (last)
                break;
        }
        if (values == 0) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s:%lld: the row has a class label but no values (expected the "
                           "label, then the series, separated by %s)",
                           path, (long long)r.lineno,
                           delim == '\t' ? "tabs" : delim == ',' ? "commas" : "blanks");
            goto done;
        }
        if (ref->length < 0) {
            ref->channels = 1;
            ref->length = values;
            ref->ref_path = path;
            ref->ref_line = r.lineno;
        } else if (values != ref->length) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s:%lld: the row has %lld values, expected %lld as on %s:%lld "
                           "(rows of different lengths are not supported; pad with NaN)",
                           path, (long long)r.lineno, (long long)values, (long long)ref->length,
                           ref->ref_path, (long long)ref->ref_line);
            goto done;
        }
    }
    if (!st && b->n == 0)
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s: no samples (the file is empty)", path);
done:
    ds_reader_close(&r);
    return st;
}

ssdc_status dataset_load_tsv(const char *train_path, const char *test_path,
                             const dataset_load_options *opt, dataset_pair *out, ssdc_error *err)
{
    return ds_load_text_pair(train_path, test_path, opt, ds_tsv_read_file, "tsv", out, err);
}
