/* What the data set readers share (declared in frontend/dataset_parse.h):
 * options, string and path helpers, the bounded line reader, the label
 * table, the split buffers, number and text-field parsing, and the two pair
 * loaders (text files; X/y arrays) that the format readers plug into. */
#include "frontend/dataset_parse.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- options ---- */

ds_opts ds_resolve_opts(const dataset_load_options *o)
{
    ds_opts r;
    r.nan_mode = o ? o->nan_mode : DATASET_NAN_REFUSE;
    r.max_values = (o && o->max_values > 0) ? o->max_values : SSDC_MAX_TENSOR_ELEMS;
    r.max_line = (o && o->max_line_bytes > 0) ? o->max_line_bytes : DATASET_DEFAULT_MAX_LINE;
    return r;
}

/* ---- strings and paths ---- */

char *ds_strndup(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

char *ds_strdup(const char *s)
{
    return ds_strndup(s, strlen(s));
}

const char *ds_show(const char *s, size_t len, char *buf, size_t cap)
{
    size_t lim = cap > 48 ? 40 : cap / 2;
    size_t k = 0;
    for (size_t i = 0; i < len && i < lim; i++)
        buf[k++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (len > lim) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

bool ds_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *ds_basename(const char *p)
{
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && p[start - 1] != '/')
        start--;
    if (len - start == 0 || (len - start == 1 && p[start] == '.'))
        return ds_strdup("dataset");
    return ds_strndup(p + start, len - start);
}

char *ds_name_from_train_path(const char *path)
{
    char *base = ds_basename(path);
    if (!base)
        return NULL;
    char *cut = strstr(base, "_TRAIN");
    if (!cut)
        cut = strstr(base, "_X_train");
    if (!cut)
        cut = strchr(base, '.');
    if (cut && cut != base)
        *cut = '\0';
    return base;
}

char *ds_name_from_dir_of(const char *path)
{
    size_t len = strlen(path);
    while (len > 0 && path[len - 1] != '/')
        len--;
    if (len == 0)
        return ds_strdup("dataset");
    char *dir = ds_strndup(path, len);
    if (!dir)
        return NULL;
    char *base = ds_basename(dir);
    free(dir);
    return base;
}

/* ---- bounded line reader ---- */

#define DS_BLOCK ((size_t)1 << 20)

ssdc_status ds_reader_open(ds_reader *r, const char *path, int64_t max_line, ssdc_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->max_line = max_line;
    if (ds_is_dir(path))
        return ssdc_fail(err, SSDC_ERR_IO, "%s: is a folder, expected a file", path);
    r->f = fopen(path, "rb");
    if (!r->f)
        return ssdc_fail(err, SSDC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    r->blk = malloc(DS_BLOCK);
    if (!r->blk) {
        fclose(r->f);
        r->f = NULL;
        return ssdc_fail(err, SSDC_ERR_NOMEM, "%s: out of memory", path);
    }
    return SSDC_OK;
}

void ds_reader_close(ds_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->blk);
    free(r->line);
    memset(r, 0, sizeof *r);
}

ssdc_status ds_reader_next(ds_reader *r, bool *got, ssdc_error *err)
{
    r->line_len = 0;
    bool started = false;
    *got = false;
    for (;;) {
        if (r->blk_pos == r->blk_len) {
            if (r->eof)
                break;
            r->blk_len = fread(r->blk, 1, DS_BLOCK, r->f);
            r->blk_pos = 0;
            if (r->blk_len < DS_BLOCK) {
                if (ferror(r->f))
                    return ssdc_fail(err, SSDC_ERR_IO, "%s:%lld: read error", r->path,
                                     (long long)(r->lineno + 1));
                r->eof = true;
            }
            continue;
        }
        started = true;
        const char *s = r->blk + r->blk_pos;
        size_t avail = r->blk_len - r->blk_pos;
        const char *nl = memchr(s, '\n', avail);
        size_t take = nl ? (size_t)(nl - s) : avail;
        if ((int64_t)(r->line_len + take) > r->max_line)
            return ssdc_fail(err, SSDC_ERR_LIMIT,
                             "%s:%lld: line longer than %lld bytes (the limit for one line)",
                             r->path, (long long)(r->lineno + 1), (long long)r->max_line);
        if (r->line_len + take + 1 > r->line_cap) {
            size_t cap = r->line_cap ? r->line_cap : 4096;
            while (cap < r->line_len + take + 1)
                cap *= 2;
            if ((int64_t)cap > r->max_line + 1)
                cap = (size_t)r->max_line + 1;
            char *nb = realloc(r->line, cap);
            if (!nb)
                return ssdc_fail(err, SSDC_ERR_NOMEM, "%s:%lld: out of memory", r->path,
                                 (long long)(r->lineno + 1));
            r->line = nb;
            r->line_cap = cap;
        }
        memcpy(r->line + r->line_len, s, take);
        r->line_len += take;
        r->blk_pos += take + (nl ? 1 : 0);
        if (nl)
            break;
    }
    if (!started)
        return SSDC_OK;
    r->lineno++;
    if (!r->line) {
        r->line = malloc(1);
        if (!r->line)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "%s: out of memory", r->path);
        r->line_cap = 1;
    }
    if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
        r->line_len--;
    r->line[r->line_len] = '\0';
    if (memchr(r->line, '\0', r->line_len))
        return ssdc_fail(err, SSDC_ERR_FORMAT,
                         "%s:%lld: NUL byte in a text file (is this a binary file?)", r->path,
                         (long long)r->lineno);
    *got = true;
    return SSDC_OK;
}

/* ---- label table ---- */

void ds_labels_free(ds_labels *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->lens);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static uint64_t ds_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int ds_labels_find(const ds_labels *t, const char *s, size_t len)
{
    if (t->nslots == 0)
        return -1;
    size_t mask = t->nslots - 1;
    for (size_t i = ds_hash(s, len) & mask;; i = (i + 1) & mask) {
        int id = t->slots[i];
        if (id < 0)
            return -1;
        if (t->lens[id] == len && memcmp(t->names[id], s, len) == 0)
            return id;
    }
}

ssdc_status ds_labels_intern(ds_labels *t, const char *s, size_t len, int *id, ssdc_error *err)
{
    if (len > DATASET_MAX_LABEL_LEN)
        return ssdc_fail(err, SSDC_ERR_LIMIT, "class label of %zu bytes is too long (limit %d)",
                         len, DATASET_MAX_LABEL_LEN);
    int found = ds_labels_find(t, s, len);
    if (found >= 0) {
        *id = found;
        return SSDC_OK;
    }
    if (t->n >= DATASET_MAX_CLASSES)
        return ssdc_fail(err, SSDC_ERR_LIMIT,
                         "more than %d distinct class labels (is this a regression data set?)",
                         DATASET_MAX_CLASSES);
    if ((size_t)(t->n + 1) * 2 > t->nslots) {
        size_t ns = t->nslots ? t->nslots * 2 : 64;
        int *slots = malloc(ns * sizeof *slots);
        if (!slots)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < ns; i++)
            slots[i] = -1;
        for (int k = 0; k < t->n; k++) {
            size_t i = ds_hash(t->names[k], t->lens[k]) & (ns - 1);
            while (slots[i] >= 0)
                i = (i + 1) & (ns - 1);
            slots[i] = k;
        }
        free(t->slots);
        t->slots = slots;
        t->nslots = ns;
    }
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        char **names = realloc(t->names, (size_t)cap * sizeof *names);
        if (!names)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        t->names = names;
        size_t *lens = realloc(t->lens, (size_t)cap * sizeof *lens);
        if (!lens)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        t->lens = lens;
        t->cap = cap;
    }
    char *copy = ds_strndup(s, len);
    if (!copy)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    int k = t->n++;
    t->names[k] = copy;
    t->lens[k] = len;
    size_t mask = t->nslots - 1;
    size_t i = ds_hash(s, len) & mask;
    while (t->slots[i] >= 0)
        i = (i + 1) & mask;
    t->slots[i] = k;
    *id = k;
    return SSDC_OK;
}

/* A label that is a finite number (numeric labels sort by value). */
static bool ds_parse_number(const char *s, double *v)
{
    double d;
    if (!ds_parse_double(s, &d) || !isfinite(d))
        return false;
    *v = d;
    return true;
}

typedef struct {
    int id;
    double v;
    const char *s;
} ds_label_key;

static int ds_cmp_label_num(const void *pa, const void *pb)
{
    const ds_label_key *a = pa, *b = pb;
    if (a->v < b->v)
        return -1;
    if (a->v > b->v)
        return 1;
    return strcmp(a->s, b->s);
}

static int ds_cmp_label_str(const void *pa, const void *pb)
{
    const ds_label_key *a = pa, *b = pb;
    return strcmp(a->s, b->s);
}

/* map[id] = class; names = one label string per class (malloc'd).  Numeric
 * labels with the same value ("1" and "1.0") are one class. */
static ssdc_status ds_labels_finalize(const ds_labels *t, int **map_out, char ***names_out,
                                      int *n_classes, ssdc_error *err)
{
    *map_out = NULL;
    *names_out = NULL;
    *n_classes = 0;
    if (t->n == 0)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "no class labels");
    ds_label_key *keys = malloc((size_t)t->n * sizeof *keys);
    int *map = calloc((size_t)t->n, sizeof *map);
    char **names = calloc((size_t)t->n, sizeof *names);
    if (!keys || !map || !names) {
        free(keys);
        free(map);
        free(names);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    bool numeric = true;
    for (int i = 0; i < t->n; i++) {
        keys[i].id = i;
        keys[i].s = t->names[i];
        keys[i].v = 0;
        if (numeric && !ds_parse_number(t->names[i], &keys[i].v))
            numeric = false;
    }
    qsort(keys, (size_t)t->n, sizeof *keys, numeric ? ds_cmp_label_num : ds_cmp_label_str);
    int c = -1;
    for (int i = 0; i < t->n; i++) {
        bool same = i > 0 && (numeric ? keys[i].v == keys[i - 1].v
                                      : strcmp(keys[i].s, keys[i - 1].s) == 0);
        if (!same) {
            c++;
            names[c] = ds_strdup(keys[i].s);
            if (!names[c]) {
                for (int k = 0; k < c; k++)
                    free(names[k]);
                free(names);
                free(map);
                free(keys);
                return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            }
        }
        map[keys[i].id] = c;
    }
    free(keys);
    *map_out = map;
    *names_out = names;
    *n_classes = c + 1;
    return SSDC_OK;
}

static ssdc_status ds_labels_intern_int(ds_labels *labels, long long v, int *id, ssdc_error *err)
{
    char s[32];
    int k = snprintf(s, sizeof s, "%lld", v);
    return ds_labels_intern(labels, s, (size_t)k, id, err);
}

/* ---- split buffers ---- */

void ds_buf_free(ds_buf *b)
{
    free(b->x);
    free(b->lab);
    memset(b, 0, sizeof *b);
}

ssdc_status ds_buf_reserve(ds_buf *b, int64_t k, ssdc_error *err)
{
    if (k > b->max_values - b->nx)
        return ssdc_fail(err, SSDC_ERR_LIMIT, "more than %lld values in one split (the limit)",
                         (long long)b->max_values);
    if (b->nx + k <= b->capx)
        return SSDC_OK;
    int64_t cap = b->capx ? b->capx : 4096;
    while (cap < b->nx + k)
        cap = cap > INT64_MAX / 2 ? INT64_MAX : cap * 2;
    if (cap > b->max_values)
        cap = b->max_values;
    if ((uint64_t)cap > SIZE_MAX / sizeof(float))
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    float *nx = realloc(b->x, (size_t)cap * sizeof(float));
    if (!nx)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory for %lld values", (long long)cap);
    b->x = nx;
    b->capx = cap;
    return SSDC_OK;
}

ssdc_status ds_buf_push_label(ds_buf *b, int id, ssdc_error *err)
{
    if (b->n == b->capn) {
        int64_t cap = b->capn ? b->capn * 2 : 256;
        int *nl = realloc(b->lab, (size_t)cap * sizeof *nl);
        if (!nl)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        b->lab = nl;
        b->capn = cap;
    }
    b->lab[b->n++] = id;
    return SSDC_OK;
}

ssdc_status ds_buf_push_int_label(ds_buf *b, ds_labels *labels, long long v, const char *path,
                                  int64_t i, ssdc_error *err)
{
    int id;
    ssdc_status st = ds_labels_intern_int(labels, v, &id, err);
    if (!st)
        st = ds_buf_push_label(b, id, err);
    if (st)
        ssdc_error_prefix(err, "%s: label %lld", path, (long long)i);
    return st;
}

/* Moves b's values into d and maps its labels; copies names. */
static ssdc_status ds_build(dataset *d, ds_buf *b, const char *name, const char *format, int rank,
                            const int64_t *dims, const int *map, char *const *names,
                            int n_classes, ssdc_error *err)
{
    memset(d, 0, sizeof *d);
    d->format = format;
    d->n = b->n;
    d->rank = rank;
    for (int i = 0; i < rank; i++)
        d->dims[i] = dims[i];
    d->n_classes = n_classes;
    d->name = ds_strdup(name);
    d->y = malloc((size_t)(b->n ? b->n : 1) * sizeof *d->y);
    d->class_names = calloc((size_t)n_classes, sizeof *d->class_names);
    if (!d->name || !d->y || !d->class_names) {
        dataset_free(d);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    for (int c = 0; c < n_classes; c++) {
        d->class_names[c] = ds_strdup(names[c]);
        if (!d->class_names[c]) {
            dataset_free(d);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        }
    }
    for (int64_t i = 0; i < b->n; i++)
        d->y[i] = map ? map[b->lab[i]] : b->lab[i];
    if (b->x && b->nx < b->capx) {
        float *shrunk = realloc(b->x, (size_t)(b->nx ? b->nx : 1) * sizeof(float));
        if (shrunk)
            b->x = shrunk;
    }
    d->x = b->x ? b->x : malloc(sizeof(float));
    b->x = NULL;
    b->nx = b->capx = 0;
    if (!d->x) {
        dataset_free(d);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    return SSDC_OK;
}

ssdc_status ds_finish_pair(dataset_pair *out, ds_buf *tr, ds_buf *te, const ds_labels *labels,
                           const char *name, const char *format, int rank, const int64_t *dims,
                           ssdc_error *err)
{
    int *map = NULL;
    char **names = NULL;
    int nc;
    ssdc_status st = ds_labels_finalize(labels, &map, &names, &nc, err);
    if (st)
        return st;
    st = ds_build(&out->train, tr, name, format, rank, dims, map, names, nc, err);
    if (!st)
        st = ds_build(&out->test, te, name, format, rank, dims, map, names, nc, err);
    for (int c = 0; c < nc; c++)
        free(names[c]);
    free(names);
    free(map);
    if (st)
        dataset_pair_free(out);
    return st;
}

/* ---- numbers ---- */

bool ds_parse_double(const char *s, double *v)
{
    if (!*s)
        return false;
    char *end;
    double d = strtod(s, &end);
    if (*end != '\0')
        return false;
    *v = d;
    return true;
}

ds_num ds_check_value(double d, dataset_nan_mode nan_mode, double *out)
{
    if (isnan(d)) {
        if (nan_mode != DATASET_NAN_ZERO)
            return DS_NUM_MISSING;
        d = 0.0;
    } else if (!isfinite(d) || fabs(d) > FLT_MAX) {
        return DS_NUM_RANGE;
    }
    *out = d;
    return DS_NUM_OK;
}

/* ---- text fields ---- */

char *ds_trim(char *s, size_t *len)
{
    size_t n = *len;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    s[n] = '\0';
    *len = n;
    return s;
}

char *ds_split_field(char **p, char delim, size_t *len, bool *last)
{
    char *start = *p;
    char *end;
    if (delim == ' ') {
        end = start;
        while (*end && *end != ' ' && *end != '\t')
            end++;
    } else {
        end = strchr(start, delim);
        if (!end)
            end = start + strlen(start);
    }
    *last = *end == '\0';
    *len = (size_t)(end - start);
    char *field = ds_trim(start, len); /* may overwrite *end */
    if (!*last) {
        char *next = end + 1;
        if (delim == ' ')
            while (*next == ' ' || *next == '\t')
                next++;
        *p = next;
    }
    return field;
}

/* s is NUL-terminated and trimmed; '?' is a missing value. */
static ds_num ds_parse_value(const char *s, dataset_nan_mode nan_mode, float *out)
{
    double d;
    if (s[0] == '?' && s[1] == '\0')
        d = NAN;
    else if (!ds_parse_double(s, &d))
        return DS_NUM_BAD;
    ds_num k = ds_check_value(d, nan_mode, &d);
    if (k == DS_NUM_OK)
        *out = (float)d;
    return k;
}

/* Parses one value field; on failure fills err with "file:line: ..." */
static ssdc_status ds_value_field(char *field, size_t flen, const char *what, const ds_opts *o,
                                  const char *path, int64_t line, float *v, ssdc_error *err)
{
    char show[64];
    switch (ds_parse_value(field, o->nan_mode, v)) {
    case DS_NUM_OK:
        return SSDC_OK;
    case DS_NUM_MISSING:
        return ssdc_fail(err, SSDC_ERR_FORMAT,
                         "%s:%lld: %s is '%s', a missing value (NaN); --nan zero "
                         "replaces missing values with 0",
                         path, (long long)line, what, ds_show(field, flen, show, sizeof show));
    case DS_NUM_RANGE:
        return ssdc_fail(err, SSDC_ERR_FORMAT,
                         "%s:%lld: %s is '%s', outside the float32 range", path,
                         (long long)line, what, ds_show(field, flen, show, sizeof show));
    default:
        if (flen == 0)
            return ssdc_fail(err, SSDC_ERR_FORMAT, "%s:%lld: %s is empty, expected a number",
                             path, (long long)line, what);
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s:%lld: %s is '%s', expected a number", path,
                         (long long)line, what, ds_show(field, flen, show, sizeof show));
    }
}

ssdc_status ds_buf_push_field(ds_buf *b, char *field, size_t flen, const char *what,
                              const ds_opts *o, const char *path, int64_t line,
                              ssdc_error *err)
{
    float v = 0.0f; /* set when ds_value_field succeeds */
    ssdc_status st = ds_value_field(field, flen, what, o, path, line, &v, err);
    if (!st)
        st = ds_buf_reserve(b, 1, err);
    if (st) {
        if (st == SSDC_ERR_LIMIT || st == SSDC_ERR_NOMEM)
            ssdc_error_prefix(err, "%s:%lld", path, (long long)line);
        return st;
    }
    b->x[b->nx++] = v;
    return SSDC_OK;
}

/* ---- pair loaders ---- */

ssdc_status ds_load_text_pair(const char *train_path, const char *test_path,
                              const dataset_load_options *opt, ds_text_reader read_file,
                              const char *format, dataset_pair *out, ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    ds_opts o = ds_resolve_opts(opt);
    ds_labels labels = {0};
    ds_buf tr = {.max_values = o.max_values}, te = {.max_values = o.max_values};
    ds_sample_ref ref = {.channels = -1, .length = -1};
    char *pname = NULL, *pname_test = NULL, *name = NULL;
    ssdc_status st = read_file(train_path, &o, &labels, &tr, &ref, &pname, err);
    if (!st)
        st = read_file(test_path, &o, &labels, &te, &ref, &pname_test, err);
    if (!st) {
        name = pname ? ds_strdup(pname) : ds_name_from_train_path(train_path);
        if (!name)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        int64_t dims[2] = {ref.channels, ref.length};
        st = ds_finish_pair(out, &tr, &te, &labels, name, format, 2, dims, err);
    }
    free(name);
    free(pname);
    free(pname_test);
    ds_buf_free(&tr);
    ds_buf_free(&te);
    ds_labels_free(&labels);
    return st;
}

ssdc_status ds_load_array_pair(const ds_array_format *fmt, const char *x_train,
                               const char *y_train, const char *x_test, const char *y_test,
                               const dataset_load_options *opt, dataset_pair *out,
                               ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    ds_opts o = ds_resolve_opts(opt);
    ds_labels labels = {0};
    ds_buf tr = {.max_values = o.max_values}, te = {.max_values = o.max_values};
    int rank_tr = 0, rank_te = 0;
    int64_t dims_tr[3] = {0}, dims_te[3] = {0};
    char *name = NULL;
    ssdc_status st = fmt->read_x(x_train, &o, &tr, &rank_tr, dims_tr, err);
    if (!st)
        st = fmt->read_y(y_train, tr.n, x_train, &labels, &tr, err);
    if (!st)
        st = fmt->read_x(x_test, &o, &te, &rank_te, dims_te, err);
    if (!st)
        st = fmt->read_y(y_test, te.n, x_test, &labels, &te, err);
    if (!st && (rank_tr != rank_te || memcmp(dims_tr, dims_te, sizeof dims_tr) != 0))
        st = ssdc_fail(err, SSDC_ERR_SHAPE,
                       "%s: samples of shape [%lld,%lld,%lld] differ from those of %s "
                       "[%lld,%lld,%lld]",
                       x_test, (long long)dims_te[0], (long long)dims_te[1],
                       (long long)dims_te[2], x_train, (long long)dims_tr[0],
                       (long long)dims_tr[1], (long long)dims_tr[2]);
    if (!st) {
        name = fmt->name_of(x_train);
        if (!name)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!st)
        st = ds_finish_pair(out, &tr, &te, &labels, name, fmt->format, rank_tr, dims_tr, err);
    free(name);
    ds_buf_free(&tr);
    ds_buf_free(&te);
    ds_labels_free(&labels);
    return st;
}

ssdc_status ds_check_sample_dims(const char *path, int rank, const int64_t *dims,
                                 ssdc_error *err)
{
    if (dims[0] == 0)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s: no samples (the first dimension is 0)",
                         path);
    for (int i = 1; i < rank; i++)
        if (dims[i] == 0)
            return ssdc_fail(err, SSDC_ERR_SHAPE, "%s: dimension %d is 0", path, i);
    return SSDC_OK;
}
