/* Classification data sets: UCR TSV/CSV, UEA .ts, IDX (gzip or plain), NPY
 * pairs, the CBF generator, stratified splits and normalisation.
 *
 * Text formats are read line by line with a bounded line buffer (lines above
 * max_line_bytes are refused before they are held in memory); values are
 * appended to growable buffers whose size is capped by max_values, so hostile
 * files cannot make us allocate more than the data they contain (binary
 * formats grow their buffers as the bytes actually arrive, whatever the
 * header claims). */
#include "frontend/dataset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#include "frontend/npy.h"
#include "graph/graph.h"

/* ---- options ---- */

typedef struct {
    dataset_nan_mode nan_mode;
    int64_t max_values;
    int64_t max_line;
} ds_opts;

static ds_opts ds_resolve_opts(const dataset_load_options *o)
{
    ds_opts r;
    r.nan_mode = o ? o->nan_mode : DATASET_NAN_REFUSE;
    r.max_values = (o && o->max_values > 0) ? o->max_values : SSDC_MAX_TENSOR_ELEMS;
    r.max_line = (o && o->max_line_bytes > 0) ? o->max_line_bytes : DATASET_DEFAULT_MAX_LINE;
    return r;
}

/* ---- small helpers ---- */

static char *ds_strndup(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

static char *ds_strdup(const char *s)
{
    return ds_strndup(s, strlen(s));
}

/* Copies at most 40 bytes of s into buf for an error message, replacing
 * unprintable bytes with '?' and marking a cut with "...". */
static const char *ds_show(const char *s, size_t len, char *buf, size_t cap)
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

static bool ds_is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool ds_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
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

/* The last path component of p without trailing slashes (malloc'd). */
static char *ds_basename(const char *p)
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

static bool ds_ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Overflow-safe a*b against a limit: false if a*b > limit. */
static bool ds_mul_within(int64_t a, int64_t b, int64_t limit, int64_t *out)
{
    if (a < 0 || b < 0)
        return false;
    if (a != 0 && b > limit / a)
        return false;
    *out = a * b;
    return *out <= limit;
}

/* ---- bounded line reader ---- */

#define DS_BLOCK ((size_t)1 << 20)

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

static ssdc_status ds_reader_open(ds_reader *r, const char *path, int64_t max_line,
                                  ssdc_error *err)
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

static void ds_reader_close(ds_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->blk);
    free(r->line);
    memset(r, 0, sizeof *r);
}

/* Reads the next line into r->line (NUL-terminated, without "\n" or "\r\n").
 * *got = false at end of file. */
static ssdc_status ds_reader_next(ds_reader *r, bool *got, ssdc_error *err)
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

/* ---- label table: interned label strings, union over train and test ---- */

typedef struct {
    char **names;
    size_t *lens;
    int n, cap;
    int *slots; /* open addressing over names, -1 = empty */
    size_t nslots;
} ds_labels;

static void ds_labels_free(ds_labels *t)
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

static int ds_labels_find(const ds_labels *t, const char *s, size_t len)
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

static ssdc_status ds_labels_intern(ds_labels *t, const char *s, size_t len, int *id,
                                    ssdc_error *err)
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

static bool ds_parse_number(const char *s, double *v)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end != '\0' || !isfinite(d))
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

/* ---- growable split buffer: values and raw label ids ---- */

typedef struct {
    float *x;
    int64_t nx, capx;
    int *lab;
    int64_t n, capn;
    int64_t max_values;
} ds_buf;

static void ds_buf_free(ds_buf *b)
{
    free(b->x);
    free(b->lab);
    memset(b, 0, sizeof *b);
}

/* Makes room for k more values; the message is completed by the caller. */
static ssdc_status ds_buf_reserve(ds_buf *b, int64_t k, ssdc_error *err)
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

static ssdc_status ds_buf_push_label(ds_buf *b, int id, ssdc_error *err)
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

/* Finishes a pair from two buffers sharing one label table. */
static ssdc_status ds_finish_pair(dataset_pair *out, ds_buf *tr, ds_buf *te,
                                  const ds_labels *labels, const char *name, const char *format,
                                  int rank, const int64_t *dims, ssdc_error *err)
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

/* The data set name from a train file path: ".../ECG200_TRAIN.tsv" -> "ECG200". */
static char *ds_name_from_train_path(const char *path)
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

/* ---- number fields ---- */

typedef enum { DS_NUM_OK, DS_NUM_MISSING, DS_NUM_BAD, DS_NUM_RANGE } ds_num;

/* s is NUL-terminated and trimmed. */
static ds_num ds_parse_value(const char *s, float *out)
{
    if (!*s)
        return DS_NUM_BAD;
    if (s[0] == '?' && s[1] == '\0')
        return DS_NUM_MISSING;
    char *end;
    double d = strtod(s, &end);
    if (*end != '\0')
        return DS_NUM_BAD;
    if (isnan(d))
        return DS_NUM_MISSING;
    if (!isfinite(d) || fabs(d) > FLT_MAX)
        return DS_NUM_RANGE;
    *out = (float)d;
    return DS_NUM_OK;
}

static char *ds_trim(char *s, size_t *len)
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

/* Parses one value field; on failure fills err with "file:line: ..." */
static ssdc_status ds_value_field(char *field, size_t flen, const char *what, const ds_opts *o,
                                  const char *path, int64_t line, float *v, ssdc_error *err)
{
    char show[64];
    switch (ds_parse_value(field, v)) {
    case DS_NUM_OK:
        return SSDC_OK;
    case DS_NUM_MISSING:
        if (o->nan_mode == DATASET_NAN_ZERO) {
            *v = 0.0f;
            return SSDC_OK;
        }
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

/* A label field: not empty, not a NaN/inf number. */
static ssdc_status ds_label_field(ds_labels *labels, char *field, size_t flen, const char *path,
                                  int64_t line, int *id, ssdc_error *err)
{
    char show[64];
    if (flen == 0)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s:%lld: the class label is empty", path,
                         (long long)line);
    char *end;
    double d = strtod(field, &end);
    if (*end == '\0' && end != field && !isfinite(d))
        return ssdc_fail(err, SSDC_ERR_FORMAT,
                         "%s:%lld: the class label is '%s', expected a class name or number",
                         path, (long long)line, ds_show(field, flen, show, sizeof show));
    ssdc_status st = ds_labels_intern(labels, field, flen, id, err);
    if (st)
        return ssdc_error_prefix(err, "%s:%lld", path, (long long)line);
    return SSDC_OK;
}

/* ---- UCR TSV / CSV ---- */

typedef struct {
    int64_t len;          /* values per row, -1 until the first row */
    const char *ref_path; /* where len was set */
    int64_t ref_line;
} ds_row_ref;

static ssdc_status ds_tsv_read_file(const char *path, const ds_opts *o, ds_labels *labels,
                                    ds_buf *b, ds_row_ref *ref, ssdc_error *err)
{
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
            char *start = p;
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
            bool last = *end == '\0';
            size_t flen = (size_t)(end - start);
            char *field = ds_trim(start, &flen);
            field_no++;
            if (field_no == 1) {
                int id;
                st = ds_label_field(labels, field, flen, path, r.lineno, &id, err);
                if (!st)
                    st = ds_buf_push_label(b, id, err);
                if (st)
                    goto done;
            } else {
                char what[48];
                snprintf(what, sizeof what, "field %lld", (long long)field_no);
                float v;
                st = ds_value_field(field, flen, what, o, path, r.lineno, &v, err);
                if (!st)
                    st = ds_buf_reserve(b, 1, err);
                if (st) {
                    if (st == SSDC_ERR_LIMIT || st == SSDC_ERR_NOMEM)
                        ssdc_error_prefix(err, "%s:%lld", path, (long long)r.lineno);
                    goto done;
                }
                b->x[b->nx++] = v;
                values++;
            }
            if (last)
                break;
            p = end + 1;
            if (delim == ' ')
                while (*p == ' ' || *p == '\t')
                    p++;
        }
        if (values == 0) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s:%lld: the row has a class label but no values (expected the "
                           "label, then the series, separated by %s)",
                           path, (long long)r.lineno,
                           delim == '\t' ? "tabs" : delim == ',' ? "commas" : "blanks");
            goto done;
        }
        if (ref->len < 0) {
            ref->len = values;
            ref->ref_path = path;
            ref->ref_line = r.lineno;
        } else if (values != ref->len) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s:%lld: the row has %lld values, expected %lld as on %s:%lld "
                           "(rows of different lengths are not supported; pad with NaN)",
                           path, (long long)r.lineno, (long long)values, (long long)ref->len,
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
    memset(out, 0, sizeof *out);
    ds_opts o = ds_resolve_opts(opt);
    ds_labels labels = {0};
    ds_buf tr = {.max_values = o.max_values}, te = {.max_values = o.max_values};
    ds_row_ref ref = {.len = -1};
    char *name = NULL;
    ssdc_status st = ds_tsv_read_file(train_path, &o, &labels, &tr, &ref, err);
    if (!st)
        st = ds_tsv_read_file(test_path, &o, &labels, &te, &ref, err);
    if (!st) {
        name = ds_name_from_train_path(train_path);
        if (!name)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        int64_t dims[2] = {1, ref.len};
        st = ds_finish_pair(out, &tr, &te, &labels, name, "tsv", 2, dims, err);
    }
    free(name);
    ds_buf_free(&tr);
    ds_buf_free(&te);
    ds_labels_free(&labels);
    return st;
}

/* ---- UEA .ts ---- */

typedef struct {
    int64_t channels, length; /* -1 until known */
    const char *ref_path;
    int64_t ref_line;
} ds_ts_ref;

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

static ssdc_status ds_ts_read_file(const char *path, const ds_opts *o, ds_labels *labels,
                                   ds_buf *b, ds_ts_ref *ref, char **problem_name,
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
                bool v;
                if (!ds_parse_bool_word(val, &v)) {
                    st = ssdc_fail(err, SSDC_ERR_FORMAT,
                                   "%s:%lld: @timeStamps must be true or false", path,
                                   (long long)ln);
                    goto done;
                }
                if (v) {
                    st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                   "%s:%lld: time-stamped series (@timeStamps true) are not "
                                   "supported",
                                   path, (long long)ln);
                    goto done;
                }
            } else if (strcasecmp(key, "equalLength") == 0) {
                bool v;
                if (!ds_parse_bool_word(val, &v)) {
                    st = ssdc_fail(err, SSDC_ERR_FORMAT,
                                   "%s:%lld: @equalLength must be true or false", path,
                                   (long long)ln);
                    goto done;
                }
                if (!v) {
                    st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                   "%s:%lld: unequal-length series (@equalLength false) are not "
                                   "supported; resample or pad them to one length first",
                                   path, (long long)ln);
                    goto done;
                }
            } else if (strcasecmp(key, "dimensions") == 0) {
                if (!ds_parse_count(val, &hdr_dims)) {
                    st = ssdc_fail(err, SSDC_ERR_FORMAT,
                                   "%s:%lld: @dimensions must be a positive integer", path,
                                   (long long)ln);
                    goto done;
                }
            } else if (strcasecmp(key, "univariate") == 0) {
                bool v;
                if (!ds_parse_bool_word(val, &v)) {
                    st = ssdc_fail(err, SSDC_ERR_FORMAT,
                                   "%s:%lld: @univariate must be true or false", path,
                                   (long long)ln);
                    goto done;
                }
                if (v && hdr_dims < 0)
                    hdr_dims = 1;
            } else if (strcasecmp(key, "seriesLength") == 0) {
                if (!ds_parse_count(val, &hdr_len)) {
                    st = ssdc_fail(err, SSDC_ERR_FORMAT,
                                   "%s:%lld: @seriesLength must be a positive integer", path,
                                   (long long)ln);
                    goto done;
                }
            } else if (strcasecmp(key, "classLabel") == 0) {
                bool v;
                if (!ds_parse_bool_word(val, &v)) {
                    st = ssdc_fail(err, SSDC_ERR_FORMAT,
                                   "%s:%lld: @classLabel must be true or false", path,
                                   (long long)ln);
                    goto done;
                }
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
                char *comma = strchr(q, ',');
                char *fe = comma ? comma : q + strlen(q);
                bool last = !comma;
                size_t flen = (size_t)(fe - q);
                char *field = ds_trim(q, &flen);
                count++;
                char what[80];
                snprintf(what, sizeof what, "channel %lld value %lld", (long long)c + 1,
                         (long long)count);
                float v;
                st = ds_value_field(field, flen, what, o, path, ln, &v, err);
                if (!st)
                    st = ds_buf_reserve(b, 1, err);
                if (st) {
                    if (st == SSDC_ERR_LIMIT || st == SSDC_ERR_NOMEM)
                        ssdc_error_prefix(err, "%s:%lld", path, (long long)ln);
                    goto done;
                }
                b->x[b->nx++] = v;
                if (last)
                    break;
                q = fe + 1;
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
    memset(out, 0, sizeof *out);
    ds_opts o = ds_resolve_opts(opt);
    ds_labels labels = {0};
    ds_buf tr = {.max_values = o.max_values}, te = {.max_values = o.max_values};
    ds_ts_ref ref = {.channels = -1, .length = -1};
    char *pname = NULL, *pname_test = NULL, *name = NULL;
    ssdc_status st = ds_ts_read_file(train_path, &o, &labels, &tr, &ref, &pname, err);
    if (!st)
        st = ds_ts_read_file(test_path, &o, &labels, &te, &ref, &pname_test, err);
    if (!st) {
        name = pname ? ds_strdup(pname) : ds_name_from_train_path(train_path);
        if (!name)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        int64_t dims[2] = {ref.channels, ref.length};
        st = ds_finish_pair(out, &tr, &te, &labels, name, "ts", 2, dims, err);
    }
    free(name);
    free(pname);
    free(pname_test);
    ds_buf_free(&tr);
    ds_buf_free(&te);
    ds_labels_free(&labels);
    return st;
}

/* ---- IDX (gzip or plain) ---- */

typedef struct {
    int type;   /* 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64 */
    int ndim;
    int64_t dims[4];
    int64_t numel;
    size_t esize;
    uint8_t *data; /* big-endian elements */
} ds_idx;

static size_t ds_idx_esize(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

/* Reads up to n bytes; returns the count (short at end of stream or error). */
static size_t ds_gz_read(gzFile gz, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        int k = gzread(gz, (uint8_t *)buf + got, (unsigned)want);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

static const char *ds_gz_msg(gzFile gz)
{
    int code = 0;
    const char *m = gzerror(gz, &code);
    return (code != Z_OK && m && *m) ? m : NULL;
}

static ssdc_status ds_idx_read(const char *path, int64_t max_values, ds_idx *ix, ssdc_error *err)
{
    memset(ix, 0, sizeof *ix);
    if (ds_is_dir(path))
        return ssdc_fail(err, SSDC_ERR_IO, "%s: is a folder, expected an IDX file", path);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return ssdc_fail(err, SSDC_ERR_IO, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "out of memory");
    ssdc_status st = SSDC_OK;
    const char *zm;
    bool compressed = !gzdirect(gz);
    const char *what = compressed ? " of the decompressed data" : "";
    uint8_t hdr[4];
    size_t got = ds_gz_read(gz, hdr, 4);
    if (got < 4) {
        zm = ds_gz_msg(gz);
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s: %zu bytes, too short for an IDX header%s%s",
                       path, got, zm ? ": gzip: " : "", zm ? zm : "");
        goto done;
    }
    ix->type = hdr[2];
    ix->ndim = hdr[3];
    ix->esize = ds_idx_esize(ix->type);
    if (hdr[0] != 0 || hdr[1] != 0 || ix->esize == 0 || ix->ndim < 1 || ix->ndim > 4) {
        st = ssdc_fail(err, SSDC_ERR_FORMAT,
                       "%s: byte 0%s: bad IDX magic %02X %02X %02X %02X (expected 00 00, a type "
                       "08/09/0B/0C/0D/0E and 1 to 4 dimensions)",
                       path, what, hdr[0], hdr[1], hdr[2], hdr[3]);
        goto done;
    }
    uint8_t dimb[16];
    got = ds_gz_read(gz, dimb, (size_t)ix->ndim * 4);
    if (got < (size_t)ix->ndim * 4) {
        zm = ds_gz_msg(gz);
        st = ssdc_fail(err, SSDC_ERR_FORMAT,
                       "%s: byte %zu%s: truncated IDX header (%d dimensions declared)%s%s",
                       path, 4 + got, what, ix->ndim, zm ? ": gzip: " : "", zm ? zm : "");
        goto done;
    }
    ix->numel = 1;
    for (int i = 0; i < ix->ndim; i++) {
        uint32_t d = (uint32_t)dimb[4 * i] << 24 | (uint32_t)dimb[4 * i + 1] << 16 |
                     (uint32_t)dimb[4 * i + 2] << 8 | dimb[4 * i + 3];
        ix->dims[i] = d;
        if (!ds_mul_within(ix->numel, (int64_t)d, max_values, &ix->numel)) {
            st = ssdc_fail(err, SSDC_ERR_LIMIT,
                           "%s: the IDX header declares more than %lld values (the limit)", path,
                           (long long)max_values);
            goto done;
        }
    }
    size_t off = 4 + (size_t)ix->ndim * 4;
    size_t bytes = (size_t)ix->numel * ix->esize;
    /* grow as the data arrives: a lying header cannot make us allocate */
    size_t cap = bytes < ((size_t)1 << 20) ? bytes : ((size_t)1 << 20);
    ix->data = malloc(cap ? cap : 1);
    if (!ix->data) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t have = 0;
    while (have < bytes) {
        if (have == cap) {
            size_t nc = cap * 2 < bytes ? cap * 2 : bytes;
            uint8_t *nd = realloc(ix->data, nc);
            if (!nd) {
                st = ssdc_fail(err, SSDC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, nc);
                goto done;
            }
            ix->data = nd;
            cap = nc;
        }
        size_t want = cap - have;
        size_t k = ds_gz_read(gz, ix->data + have, want);
        have += k;
        if (k < want)
            break; /* short read: end of stream or error */
    }
    if (have < bytes) {
        zm = ds_gz_msg(gz);
        st = ssdc_fail(err, SSDC_ERR_FORMAT,
                       "%s: byte %zu%s: truncated: the header declares %lld values (%zu bytes) "
                       "but the data ends after %zu bytes%s%s",
                       path, off + have, what, (long long)ix->numel, bytes, have,
                       zm ? "; gzip: " : "", zm ? zm : "");
        goto done;
    }
    uint8_t extra;
    got = ds_gz_read(gz, &extra, 1);
    zm = ds_gz_msg(gz);
    if (zm) {
        st = ssdc_fail(err, SSDC_ERR_FORMAT,
                       "%s: byte %zu%s: gzip: %s (the file is damaged or truncated)", path,
                       off + bytes, what, zm);
        goto done;
    }
    if (got > 0) {
        st = ssdc_fail(err, SSDC_ERR_FORMAT,
                       "%s: byte %zu%s: data continues after the %lld values the IDX header "
                       "declares",
                       path, off + bytes, what, (long long)ix->numel);
        goto done;
    }
done:
    gzclose(gz);
    if (st) {
        free(ix->data);
        ix->data = NULL;
    }
    return st;
}

static double ds_idx_get(const ds_idx *ix, int64_t i)
{
    const uint8_t *p = ix->data + (size_t)i * ix->esize;
    switch (ix->type) {
    case 0x08: return p[0];
    case 0x09: return (int8_t)p[0];
    case 0x0B: return (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
    case 0x0C:
        return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    case 0x0D: {
        uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    default: {
        uint64_t u = 0;
        for (int k = 0; k < 8; k++)
            u = u << 8 | p[k];
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    }
}

/* Values of an image file into b; per-sample dims into dims/rank. */
static ssdc_status ds_idx_images(const char *path, const ds_opts *o, ds_buf *b, int *rank,
                                 int64_t *dims, ssdc_error *err)
{
    ds_idx ix;
    ssdc_status st = ds_idx_read(path, o->max_values, &ix, err);
    if (st)
        return st;
    if (ix.ndim < 2) {
        st = ssdc_fail(err, SSDC_ERR_SHAPE,
                       "%s: an image file needs 2 to 4 dimensions ([N,L], [N,H,W] or [N,C,H,W]), "
                       "found %d (is this a label file?)",
                       path, ix.ndim);
        goto done;
    }
    if (ix.dims[0] == 0) {
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s: no samples (the first dimension is 0)", path);
        goto done;
    }
    for (int i = 1; i < ix.ndim; i++)
        if (ix.dims[i] == 0) {
            st = ssdc_fail(err, SSDC_ERR_SHAPE, "%s: dimension %d is 0", path, i);
            goto done;
        }
    if (ix.ndim == 2) {
        *rank = 2;
        dims[0] = 1;
        dims[1] = ix.dims[1];
    } else if (ix.ndim == 3) {
        *rank = 3;
        dims[0] = 1;
        dims[1] = ix.dims[1];
        dims[2] = ix.dims[2];
    } else {
        *rank = 3;
        dims[0] = ix.dims[1];
        dims[1] = ix.dims[2];
        dims[2] = ix.dims[3];
    }
    st = ds_buf_reserve(b, ix.numel, err);
    if (st) {
        ssdc_error_prefix(err, "%s", path);
        goto done;
    }
    double scale = ix.type == 0x08 ? 1.0 / 255.0 : 1.0;
    for (int64_t i = 0; i < ix.numel; i++) {
        double v = ds_idx_get(&ix, i);
        if (isnan(v)) {
            if (o->nan_mode != DATASET_NAN_ZERO) {
                st = ssdc_fail(err, SSDC_ERR_FORMAT,
                               "%s: value %lld (sample %lld) is NaN; --nan zero replaces "
                               "missing values with 0",
                               path, (long long)i, (long long)(i / (ix.numel / ix.dims[0])));
                goto done;
            }
            v = 0;
        } else if (!isfinite(v) || fabs(v) > FLT_MAX) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s: value %lld is outside the float32 range",
                           path, (long long)i);
            goto done;
        }
        b->x[b->nx++] = (float)(v * scale);
    }
    b->n = ix.dims[0]; /* labels are pushed by ds_idx_labels */
done:
    free(ix.data);
    return st;
}

static ssdc_status ds_labels_intern_int(ds_labels *labels, long long v, int *id, ssdc_error *err)
{
    char s[32];
    int k = snprintf(s, sizeof s, "%lld", v);
    return ds_labels_intern(labels, s, (size_t)k, id, err);
}

static ssdc_status ds_idx_labels(const char *path, int64_t n_images, const char *images_path,
                                 ds_labels *labels, ds_buf *b, ssdc_error *err)
{
    ds_idx ix;
    ssdc_status st = ds_idx_read(path, SSDC_MAX_TENSOR_ELEMS, &ix, err);
    if (st)
        return st;
    if (!(ix.ndim == 1 || (ix.ndim == 2 && ix.dims[1] == 1))) {
        st = ssdc_fail(err, SSDC_ERR_SHAPE,
                       "%s: a label file needs 1 dimension [N], found %d (is this an image "
                       "file?)",
                       path, ix.ndim);
        goto done;
    }
    if (ix.type == 0x0D || ix.type == 0x0E) {
        st = ssdc_fail(err, SSDC_ERR_FORMAT,
                       "%s: labels must be integers (IDX type 08, 09, 0B or 0C), found type %02X",
                       path, ix.type);
        goto done;
    }
    if (ix.dims[0] != n_images) {
        st = ssdc_fail(err, SSDC_ERR_SHAPE, "%s: %lld labels, but %s has %lld images", path,
                       (long long)ix.dims[0], images_path, (long long)n_images);
        goto done;
    }
    b->n = 0;
    for (int64_t i = 0; i < ix.dims[0]; i++) {
        int id;
        st = ds_labels_intern_int(labels, (long long)ds_idx_get(&ix, i), &id, err);
        if (!st)
            st = ds_buf_push_label(b, id, err);
        if (st) {
            ssdc_error_prefix(err, "%s: label %lld", path, (long long)i);
            goto done;
        }
    }
done:
    free(ix.data);
    return st;
}

/* Name for a data set in a folder: the folder's name. */
static char *ds_name_from_dir_of(const char *path)
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

ssdc_status dataset_load_idx(const char *train_images, const char *train_labels,
                             const char *test_images, const char *test_labels,
                             const dataset_load_options *opt, dataset_pair *out, ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    ds_opts o = ds_resolve_opts(opt);
    ds_labels labels = {0};
    ds_buf tr = {.max_values = o.max_values}, te = {.max_values = o.max_values};
    int rank_tr = 0, rank_te = 0;
    int64_t dims_tr[3] = {0}, dims_te[3] = {0};
    char *name = NULL;
    ssdc_status st = ds_idx_images(train_images, &o, &tr, &rank_tr, dims_tr, err);
    if (!st)
        st = ds_idx_labels(train_labels, tr.n, train_images, &labels, &tr, err);
    if (!st)
        st = ds_idx_images(test_images, &o, &te, &rank_te, dims_te, err);
    if (!st)
        st = ds_idx_labels(test_labels, te.n, test_images, &labels, &te, err);
    if (!st && (rank_tr != rank_te || memcmp(dims_tr, dims_te, sizeof dims_tr) != 0))
        st = ssdc_fail(err, SSDC_ERR_SHAPE,
                       "%s: samples of shape [%lld,%lld,%lld] differ from those of %s "
                       "[%lld,%lld,%lld]",
                       test_images, (long long)dims_te[0], (long long)dims_te[1],
                       (long long)dims_te[2], train_images, (long long)dims_tr[0],
                       (long long)dims_tr[1], (long long)dims_tr[2]);
    if (!st) {
        name = ds_name_from_dir_of(train_images);
        if (!name)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!st)
        st = ds_finish_pair(out, &tr, &te, &labels, name, "idx", rank_tr, dims_tr, err);
    free(name);
    ds_buf_free(&tr);
    ds_buf_free(&te);
    ds_labels_free(&labels);
    return st;
}

/* ---- NPY pairs ---- */

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
    if (v.dims[0] == 0) {
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "%s: no samples (the first dimension is 0)", path);
        goto done;
    }
    for (int i = 1; i < v.rank; i++)
        if (v.dims[i] == 0) {
            st = ssdc_fail(err, SSDC_ERR_SHAPE, "%s: dimension %d is 0", path, i);
            goto done;
        }
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
        double x = graph_value_get_f64(&v, i);
        if (isnan(x)) {
            if (o->nan_mode != DATASET_NAN_ZERO) {
                st = ssdc_fail(err, SSDC_ERR_FORMAT,
                               "%s: element %lld (sample %lld) is NaN; --nan zero replaces "
                               "missing values with 0",
                               path, (long long)i, (long long)(i / per));
                goto done;
            }
            x = 0;
        } else if (!isfinite(x) || fabs(x) > FLT_MAX) {
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
        int id;
        st = ds_labels_intern_int(labels, lab, &id, err);
        if (!st)
            st = ds_buf_push_label(b, id, err);
        if (st) {
            ssdc_error_prefix(err, "%s: label %lld", path, (long long)i);
            goto done;
        }
    }
done:
    free(v.data);
    return st;
}

ssdc_status dataset_load_npy(const char *x_train, const char *y_train, const char *x_test,
                             const char *y_test, const dataset_load_options *opt,
                             dataset_pair *out, ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    ds_opts o = ds_resolve_opts(opt);
    ds_labels labels = {0};
    ds_buf tr = {.max_values = o.max_values}, te = {.max_values = o.max_values};
    int rank_tr = 0, rank_te = 0;
    int64_t dims_tr[3] = {0}, dims_te[3] = {0};
    char *name = NULL;
    ssdc_status st = ds_npy_x(x_train, &o, &tr, &rank_tr, dims_tr, err);
    if (!st)
        st = ds_npy_y(y_train, tr.n, x_train, &labels, &tr, err);
    if (!st)
        st = ds_npy_x(x_test, &o, &te, &rank_te, dims_te, err);
    if (!st)
        st = ds_npy_y(y_test, te.n, x_test, &labels, &te, err);
    if (!st && (rank_tr != rank_te || memcmp(dims_tr, dims_te, sizeof dims_tr) != 0))
        st = ssdc_fail(err, SSDC_ERR_SHAPE,
                       "%s: samples of shape [%lld,%lld,%lld] differ from those of %s "
                       "[%lld,%lld,%lld]",
                       x_test, (long long)dims_te[0], (long long)dims_te[1],
                       (long long)dims_te[2], x_train, (long long)dims_tr[0],
                       (long long)dims_tr[1], (long long)dims_tr[2]);
    if (!st) {
        char *base = ds_basename(x_train);
        if (base && strcmp(base, "X_train.npy") == 0) {
            free(base);
            name = ds_name_from_dir_of(x_train);
        } else {
            free(base);
            name = ds_name_from_train_path(x_train);
        }
        if (!name)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!st)
        st = ds_finish_pair(out, &tr, &te, &labels, name, "npy", rank_tr, dims_tr, err);
    free(name);
    ds_buf_free(&tr);
    ds_buf_free(&te);
    ds_labels_free(&labels);
    return st;
}

/* ---- CBF generator ---- */

typedef struct {
    uint64_t s;
    bool has_spare;
    double spare;
} ds_rng;

static uint64_t ds_splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void ds_rng_init(ds_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t s = seed;
    uint64_t a = ds_splitmix64(&s);
    s = a ^ (stream * 0xD1B54A32D192ED03ull);
    r->s = ds_splitmix64(&s);
    r->has_spare = false;
    r->spare = 0.0;
}

/* Uniform in [0, 1) with 53 random bits. */
static double ds_rng_uniform(ds_rng *r)
{
    return (double)(ds_splitmix64(&r->s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0, without modulo bias. */
static uint64_t ds_rng_below(ds_rng *r, uint64_t n)
{
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = ds_splitmix64(&r->s);
    while (x >= lim);
    return x % n;
}

/* Standard normal (Box-Muller, both values used). */
static double ds_rng_normal(ds_rng *r)
{
    if (r->has_spare) {
        r->has_spare = false;
        return r->spare;
    }
    double u1 = ds_rng_uniform(r), u2 = ds_rng_uniform(r);
    double rad = sqrt(-2.0 * log(1.0 - u1)); /* 1-u1 in (0,1] */
    double th = 6.283185307179586 * u2; /* 2 pi */
    r->spare = rad * sin(th);
    r->has_spare = true;
    return rad * cos(th);
}

static void ds_shuffle(int64_t *v, int64_t n, ds_rng *r)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)ds_rng_below(r, (uint64_t)i + 1);
        int64_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static ssdc_status ds_cbf_split(dataset *d, int64_t n, uint64_t seed, uint64_t stream,
                                ssdc_error *err)
{
    static const char *const names[3] = {"cylinder", "bell", "funnel"};
    const int64_t L = DATASET_CBF_LENGTH;
    memset(d, 0, sizeof *d);
    d->format = "cbf";
    d->n = n;
    d->rank = 2;
    d->dims[0] = 1;
    d->dims[1] = L;
    d->n_classes = 3;
    d->name = ds_strdup("cbf");
    d->x = malloc((size_t)n * (size_t)L * sizeof *d->x);
    d->y = malloc((size_t)n * sizeof *d->y);
    d->class_names = calloc(3, sizeof *d->class_names);
    if (!d->name || !d->x || !d->y || !d->class_names) {
        dataset_free(d);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "cbf: out of memory for %lld samples",
                         (long long)n);
    }
    for (int c = 0; c < 3; c++)
        if (!(d->class_names[c] = ds_strdup(names[c]))) {
            dataset_free(d);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "cbf: out of memory");
        }
    ds_rng r;
    ds_rng_init(&r, seed, stream);
    for (int64_t i = 0; i < n; i++)
        d->y[i] = i % 3;
    ds_shuffle(d->y, n, &r);
    for (int64_t i = 0; i < n; i++) {
        int64_t a = 16 + (int64_t)ds_rng_below(&r, 17);     /* U{16..32} */
        int64_t b = a + 32 + (int64_t)ds_rng_below(&r, 65); /* b - a ~ U{32..96} */
        double amp = 6.0 + ds_rng_normal(&r);
        float *x = d->x + i * L;
        for (int64_t t = 1; t <= L; t++) {
            double shape = 0.0;
            if (t >= a && t <= b) {
                switch (d->y[i]) {
                case 0: shape = 1.0; break;
                case 1: shape = (double)(t - a) / (double)(b - a); break;
                default: shape = (double)(b - t) / (double)(b - a); break;
                }
            }
            x[t - 1] = (float)(amp * shape + ds_rng_normal(&r));
        }
    }
    return SSDC_OK;
}

ssdc_status dataset_generate_cbf(int64_t n_train, int64_t n_test, uint64_t seed,
                                 dataset_pair *out, ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t limit = SSDC_MAX_TENSOR_ELEMS / DATASET_CBF_LENGTH;
    if (n_train <= 0 || n_test <= 0 || n_train > limit || n_test > limit)
        return ssdc_fail(err, SSDC_ERR_ARG,
                         "cbf: sample counts must be between 1 and %lld (got %lld train, %lld "
                         "test)",
                         (long long)limit, (long long)n_train, (long long)n_test);
    ssdc_status st = ds_cbf_split(&out->train, n_train, seed, 1, err);
    if (!st)
        st = ds_cbf_split(&out->test, n_test, seed, 2, err);
    if (st)
        dataset_pair_free(out);
    return st;
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
