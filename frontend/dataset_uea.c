/* UEA / sktime .ts (dataset_load_ts): an @-header (@problemName,
 * @classLabel true LABEL..., @dimensions, @seriesLength, ...), then @data
 * and one sample per line, "v,v,...:v,v,...:label" (the values of each
 * channel, separated by ':', the class label last).  Equal-length series
 * only, no timestamps; '#' lines are comments; '?' and NaN are missing
 * values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frontend/dataset_parse.h"

/* Next whitespace-separated token of *p (modifies the string). */
static char *ds_token(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *e = s;
    while (*e && *e != ' ' && *e != '\t')
        e++;
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

static bool ds_parse_bool_word(const char *w, bool *v)
{
    if (w && strcasecmp(w, "true") == 0)
        return *v = true, true;
    if (w && strcasecmp(w, "false") == 0)
        return *v = false, true;
    return false;
}

static bool ds_parse_count(const char *w, int64_t *v)
{
    if (!w || !*w)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(w, &end, 10);
    if (*end || errno || x <= 0)
        return false;
    *v = x;
    return true;
}

/* The value of a header line "@key true|false"; key as the format spells it. */
static ssdc_status ds_ts_header_bool(const char *val, const char *key, const char *path,
                                     int64_t ln, bool *v, ssdc_error *err)
{
    if (ds_parse_bool_word(val, v))
        return SSDC_OK;
    return ssdc_fail(err, SSDC_ERR_FORMAT, "%s:%lld: @%s must be true or false", path,
                     (long long)ln, key);
}

/* The value of a header line "@key N", N > 0. */
static ssdc_status ds_ts_header_count(const char *val, const char *key, const char *path,
                                      int64_t ln, int64_t *v, ssdc_error *err)
{
    if (ds_parse_count(val, v))
        return SSDC_OK;
    return ssdc_fail(err, SSDC_ERR_FORMAT, "%s:%lld: @%s must be a positive integer", path,
                     (long long)ln, key);
}

/* A ds_text_reader. */
static ssdc_status ds_ts_read_file(const char *path, const ds_opts *o, ds_labels *labels,
                                   ds_buf *b, ds_sample_ref *ref, char **problem_name,
                                   ssdc_error *err)
{
    ds_reader r;
    ssdc_status st = ds_reader_open(&r, path, o->max_line, err);
    if (st)
        return st;
    ds_labels declared = {0};
    bool in_data = false, have_class = false;
    int64_t hdr_dims = -1, hdr_len = -1;
    char show[64];
    for (;;) {
        bool got;
        st = ds_reader_next(&r, &got, err);
        if (st || !got)
            break;
        size_t ll = r.line_len;
        char *line = ds_trim(r.line, &ll);
        if (ll == 0 || line[0] == '#')
            continue;
        int64_t ln = r.lineno;
        if (!in_data) {
            if (line[0] != '@') {
                st = ssdc_fail(err, SSDC_ERR_FORMAT,
                               "%s:%lld: expected a header line starting with '@' or '@data' "
                               "before the samples, found '%s'",
                               path, (long long)ln, ds_show(line, ll, show, sizeof show));
                goto done;
            }
            char *p = line + 1;
            char *key = ds_token(&p);
            if (!key)
                key = "";
            char *val = ds_token(&p);
            if (strcasecmp(key, "data") == 0) {
                if (!have_class) {
                    st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                   "%s:%lld: no '@classLabel true ...' line before @data: "
                                   "only classification data sets are supported",
                                   path, (long long)ln);
                    goto done;
                }
                in_data = true;
            } else if (strcasecmp(key, "problemName") == 0) {
                if (val && !*problem_name)
                    *problem_name = ds_strdup(val);
            } else if (strcasecmp(key, "timeStamps") == 0) {
                bool v = false;
                st = ds_ts_header_bool(val, "timeStamps", path, ln, &v, err);
                if (st)
                    goto done;
                if (v) {
                    st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                   "%s:%lld: time-stamped series (@timeStamps true) are not "
                                   "supported",
                                   path, (long long)ln);
                    goto done;
                }
            } else if (strcasecmp(key, "equalLength") == 0) {
                bool v = false;
                st = ds_ts_header_bool(val, "equalLength", path, ln, &v, err);
                if (st)
                    goto done;
                if (!v) {
                    st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                   "%s:%lld: unequal-length series (@equalLength false) are not "
                                   "supported; resample or pad them to one length first",
                                   path, (long long)ln);
                    goto done;
                }
            } else if (strcasecmp(key, "dimensions") == 0) {
                st = ds_ts_header_count(val, "dimensions", path, ln, &hdr_dims, err);
                if (st)
                    goto done;
            } else if (strcasecmp(key, "univariate") == 0) {
                bool v = false;
                st = ds_ts_header_bool(val, "univariate", path, ln, &v, err);
                if (st)
                    goto done;
                if (v && hdr_dims < 0)
                    hdr_dims = 1;
            } else if (strcasecmp(key, "seriesLength") == 0) {
                st = ds_ts_header_count(val, "seriesLength", path, ln, &hdr_len, err);
                if (st)
                    goto done;
            } else if (strcasecmp(key, "classLabel") == 0) {
                bool v = false;
                st = ds_ts_header_bool(val, "classLabel", path, ln, &v, err);
                if (st)
                    goto done;
                if (!v) {
                    st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                   "%s:%lld: @classLabel false: only classification data sets "
                                   "(with class labels) are supported",
                                   path, (long long)ln);
                    goto done;
                }
                have_class = true;
                char *lab;
                while ((lab = ds_token(&p))) {
                    int id;
                    st = ds_labels_intern(&declared, lab, strlen(lab), &id, err);
                    if (!st)
                        st = ds_labels_intern(labels, lab, strlen(lab), &id, err);
                    if (st) {
                        ssdc_error_prefix(err, "%s:%lld", path, (long long)ln);
                        goto done;
                    }
                }
                if (declared.n == 0) {
                    st = ssdc_fail(err, SSDC_ERR_FORMAT,
                                   "%s:%lld: @classLabel true lists no class labels", path,
                                   (long long)ln);
                    goto done;
                }
            } else if (strcasecmp(key, "targetLabel") == 0) {
                st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                               "%s:%lld: regression data sets (@targetLabel) are not supported",
                               path, (long long)ln);
                goto done;
            }
            /* other header lines (@missing, ...) carry nothing we need */
            continue;
        }
        /* a sample: ch0 values : ch1 values : ... : label */
        int64_t colons = 0;
        for (size_t i = 0; i < ll; i++)
            colons += line[i] == ':';
        if (colons == 0) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s:%lld: no ':' in the sample line (expected the values of each "
                           "channel separated by ':' and the class label last; truncated file?)",
                           path, (long long)ln);
            goto done;
        }
        int64_t channels = colons;
        int64_t want_c = ref->channels >= 0 ? ref->channels : hdr_dims;
        if (want_c >= 0 && channels != want_c) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s:%lld: the sample has %lld channel(s), expected %lld (%s)", path,
                           (long long)ln, (long long)channels, (long long)want_c,
                           ref->channels >= 0 ? "as the first sample" : "@dimensions");
            goto done;
        }
        char *p = line;
        int64_t length = -1;
        for (int64_t c = 0; c < channels; c++) {
            char *seg_end = strchr(p, ':');
            *seg_end = '\0';
            int64_t count = 0;
            char *q = p;
            for (;;) {
                size_t flen;
                bool last;
                char *field = ds_split_field(&q, ',', &flen, &last);
                count++;
                char what[80];
                snprintf(what, sizeof what, "channel %lld value %lld", (long long)c + 1,
                         (long long)count);
                st = ds_buf_push_field(b, field, flen, what, o, path, ln, err);
                if (st)
                    goto done;
                if (last)
                    break;
            }
            int64_t want_l = length >= 0 ? length : ref->length >= 0 ? ref->length : hdr_len;
            if (want_l >= 0 && count != want_l) {
                st = ssdc_fail(err, SSDC_ERR_FORMAT,
                               "%s:%lld: channel %lld has %lld values, expected %lld (%s); "
                               "unequal-length series are not supported (truncated file?)",
                               path, (long long)ln, (long long)c + 1, (long long)count,
                               (long long)want_l,
                               length >= 0      ? "as channel 1"
                               : ref->length >= 0 ? "as the first sample"
                                                  : "@seriesLength");
                goto done;
            }
            length = count;
            p = seg_end + 1;
        }
        size_t llen = strlen(p);
        char *lab = ds_trim(p, &llen);
        if (ds_labels_find(&declared, lab, llen) < 0) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s:%lld: class label '%s' is not one of those declared by "
                           "@classLabel",
                           path, (long long)ln, ds_show(lab, llen, show, sizeof show));
            goto done;
        }
        int id;
        st = ds_labels_intern(labels, lab, llen, &id, err);
        if (!st)
            st = ds_buf_push_label(b, id, err);
        if (st)
            goto done;
        if (ref->channels < 0) {
            ref->channels = channels;
            ref->length = length;
            ref->ref_path = path;
            ref->ref_line = ln;
        }
    }
    if (!st && !in_data)
        st = ssdc_fail(err, SSDC_ERR_FORMAT,
                       "%s:%lld: end of file before the @data line (truncated or not a .ts file?)",
                       path, (long long)r.lineno);
    else if (!st && b->n == 0)
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s:%lld: no samples after @data", path,
                       (long long)r.lineno);
done:
    ds_labels_free(&declared);
    ds_reader_close(&r);
    return st;
}

ssdc_status dataset_load_ts(const char *train_path, const char *test_path,
                            const dataset_load_options *opt, dataset_pair *out, ssdc_error *err)
{
    return ds_load_text_pair(train_path, test_path, opt, ds_ts_read_file, "ts", out, err);
}
