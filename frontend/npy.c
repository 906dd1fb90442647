/* NumPy .npy reader and writer.
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0,
 * uint32 LE for 2.0/3.0), then an ASCII (3.0: UTF-8) Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and ended by '\n', then the raw C-order data. */
#include "frontend/npy.h"

#include "graph/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER_LEN ((size_t)1 << 20) /* numpy itself refuses > 10000 by default */

/* ---- byte order ---- */

static bool npy_host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Swaps each element in place when the host is big-endian (data on disk is
 * little-endian); a no-op on little-endian hosts. */
static void npy_swap_to_host(void *data, size_t n, size_t es)
{
    if (npy_host_is_little_endian() || es == 1)
        return;
    uint8_t *d = data;
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < es / 2; b++) {
            uint8_t t = d[i * es + b];
            d[i * es + b] = d[i * es + es - 1 - b];
            d[i * es + es - 1 - b] = t;
        }
}

/* ---- dtypes ---- */

/* Maps a descr string to a dtype.  Accepts the byte-order marks '<', '|', '='
 * (native, little-endian hosts only) or none; '>' only for one-byte types. */
static ssdc_status npy_parse_descr(const char *descr, graph_dtype *dt, ssdc_error *err)
{
    char order = 0;
    const char *t = descr;
    if (*t == '<' || *t == '>' || *t == '|' || *t == '=') {
        order = *t;
        t++;
    }
    size_t size;
    if (strcmp(t, "f4") == 0)
        *dt = GRAPH_DT_FLOAT, size = 4;
    else if (strcmp(t, "f8") == 0)
        *dt = GRAPH_DT_DOUBLE, size = 8;
    else if (strcmp(t, "i8") == 0)
        *dt = GRAPH_DT_INT64, size = 8;
    else if (strcmp(t, "i4") == 0)
        *dt = GRAPH_DT_INT32, size = 4;
    else if (strcmp(t, "b1") == 0 || strcmp(t, "?") == 0)
        *dt = GRAPH_DT_BOOL, size = 1;
    else if (strcmp(t, "u1") == 0)
        *dt = GRAPH_DT_UINT8, size = 1;
    else if (strcmp(t, "i1") == 0)
        *dt = GRAPH_DT_INT8, size = 1;
    else if (t[0] == 'O')
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "object arrays (dtype '%s') are not supported", descr);
    else
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "dtype '%s' is not supported (supported: <f4 <f8 <i8 <i4 |b1 |u1 |i1)",
                         descr);
    bool big = order == '>' || (order == '=' && !npy_host_is_little_endian());
    if (big && size > 1)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "big-endian data (dtype '%s') is not supported; save it little-endian",
                         descr);
    return SSDC_OK;
}

static const char *npy_descr_of(graph_dtype dt)
{
    switch (dt) {
    case GRAPH_DT_FLOAT: return "<f4";
    case GRAPH_DT_DOUBLE: return "<f8";
    case GRAPH_DT_INT64: return "<i8";
    case GRAPH_DT_INT32: return "<i4";
    case GRAPH_DT_BOOL: return "|b1";
    case GRAPH_DT_UINT8: return "|u1";
    case GRAPH_DT_INT8: return "|i1";
    default: return NULL;
    }
}

/* ---- header dict parser ---- */

typedef struct {
    const char *p, *end;
} npy_cursor;

static void npy_skip_ws(npy_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool npy_accept(npy_cursor *c, char ch)
{
    npy_skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes, copied into out (size cap). */
static bool npy_parse_string(npy_cursor *c, char *out, size_t cap)
{
    npy_skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return false;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    out[n] = 0;
    return true;
}

static bool npy_accept_word(npy_cursor *c, const char *w)
{
    npy_skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return true;
    }
    return false;
}

/* Parses "(d0, d1, ...)" with an optional trailing comma; () is a scalar. */
static ssdc_status npy_parse_shape(npy_cursor *c, int *rank, int64_t *dims, ssdc_error *err)
{
    if (!npy_accept(c, '('))
        return ssdc_fail(err, SSDC_ERR_FORMAT, "header: 'shape' must be a tuple");
    *rank = 0;
    npy_skip_ws(c);
    if (npy_accept(c, ')'))
        return SSDC_OK;
    for (;;) {
        npy_skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return ssdc_fail(err, SSDC_ERR_FORMAT,
                             "header: 'shape' must hold non-negative integers");
        int64_t d = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (d > (SSDC_MAX_TENSOR_ELEMS - 9) / 10)
                return ssdc_fail(err, SSDC_ERR_LIMIT,
                                 "header: a dimension is more than %lld",
                                 (long long)SSDC_MAX_TENSOR_ELEMS);
            d = d * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) /* Python 2 longs */
            c->p++;
        if (*rank >= GRAPH_MAX_RANK)
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "header: rank above %d is not supported",
                             GRAPH_MAX_RANK);
        dims[(*rank)++] = d;
        if (npy_accept(c, ')'))
            return SSDC_OK;
        if (!npy_accept(c, ','))
            return ssdc_fail(err, SSDC_ERR_FORMAT, "header: malformed 'shape' tuple");
        if (npy_accept(c, ')'))
            return SSDC_OK;
    }
}

typedef struct {
    graph_dtype dtype;
    int rank;
    int64_t dims[GRAPH_MAX_RANK];
    int64_t numel;
    size_t data_bytes;
} npy_header;

static ssdc_status npy_parse_dict(const char *text, size_t len, npy_header *h, ssdc_error *err)
{
    npy_cursor c = {text, text + len};
    bool have_descr = false, have_order = false, have_shape = false;
    if (!npy_accept(&c, '{'))
        return ssdc_fail(err, SSDC_ERR_FORMAT, "header is not a Python dict literal");
    for (;;) {
        if (npy_accept(&c, '}'))
            break;
        char key[32];
        if (!npy_parse_string(&c, key, sizeof key))
            return ssdc_fail(err, SSDC_ERR_FORMAT, "header: expected a quoted key");
        if (!npy_accept(&c, ':'))
            return ssdc_fail(err, SSDC_ERR_FORMAT, "header: expected ':' after '%s'", key);
        ssdc_status st;
        if (strcmp(key, "descr") == 0) {
            if (have_descr)
                return ssdc_fail(err, SSDC_ERR_FORMAT, "header: 'descr' given twice");
            npy_skip_ws(&c);
            if (c.p < c.end && *c.p == '[')
                return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                 "structured arrays (record dtypes) are not supported");
            char descr[32];
            if (!npy_parse_string(&c, descr, sizeof descr))
                return ssdc_fail(err, SSDC_ERR_FORMAT, "header: 'descr' must be a short string");
            if ((st = npy_parse_descr(descr, &h->dtype, err)))
                return st;
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_order)
                return ssdc_fail(err, SSDC_ERR_FORMAT, "header: 'fortran_order' given twice");
            if (npy_accept_word(&c, "True"))
                return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                                 "Fortran-order arrays are not supported; save with "
                                 "np.ascontiguousarray");
            if (!npy_accept_word(&c, "False"))
                return ssdc_fail(err, SSDC_ERR_FORMAT,
                                 "header: 'fortran_order' must be True or False");
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape)
                return ssdc_fail(err, SSDC_ERR_FORMAT, "header: 'shape' given twice");
            if ((st = npy_parse_shape(&c, &h->rank, h->dims, err)))
                return st;
            have_shape = true;
        } else {
            return ssdc_fail(err, SSDC_ERR_FORMAT, "header: unexpected key '%s'", key);
        }
        if (npy_accept(&c, '}'))
            break;
        if (!npy_accept(&c, ','))
            return ssdc_fail(err, SSDC_ERR_FORMAT, "header: expected ',' or '}'");
    }
    npy_skip_ws(&c);
    while (c.p < c.end && *c.p == 0) /* tolerate NUL padding */
        c.p++;
    if (c.p != c.end)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "header: unexpected text after the dict");
    if (!have_descr || !have_order || !have_shape)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "header: missing key '%s'",
                         !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    int64_t n = 1;
    if (!graph_dims_numel(h->rank, h->dims, &n)) /* a zero dim counts as 1 for the limit */
        return ssdc_fail(err, SSDC_ERR_LIMIT, "array has more than %lld elements",
                         (long long)SSDC_MAX_TENSOR_ELEMS);
    h->numel = n;
    h->data_bytes = (size_t)n * graph_dtype_size(h->dtype);
    return SSDC_OK;
}

/* Parses the fixed preamble: sets *text_off (start of the dict) and
 * *text_len.  avail bytes are available (at least 12 if possible). */
static ssdc_status npy_parse_preamble(const uint8_t *p, size_t avail, size_t *text_off,
                                      size_t *text_len, ssdc_error *err)
{
    size_t m = avail < NPY_MAGIC_LEN ? avail : NPY_MAGIC_LEN;
    if (memcmp(p, NPY_MAGIC, m) != 0)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "not a .npy file (bad magic)");
    if (avail < 10)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "truncated header (%zu bytes)", avail);
    unsigned major = p[6], minor = p[7];
    if (major == 1 && minor == 0) {
        *text_off = 10;
        *text_len = (size_t)p[8] | (size_t)p[9] << 8;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (avail < 12)
            return ssdc_fail(err, SSDC_ERR_FORMAT, "truncated header");
        *text_off = 12;
        *text_len = (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 |
                    (size_t)p[11] << 24;
    } else {
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "format version %u.%u is not supported",
                         major, minor);
    }
    if (*text_len > NPY_MAX_HEADER_LEN)
        return ssdc_fail(err, SSDC_ERR_LIMIT, "header of %zu bytes is too long", *text_len);
    return SSDC_OK;
}

/* ---- reading ---- */

ssdc_status npy_read_buffer(const void *buf, size_t len, const char *source_name, graph_value *v,
                            ssdc_error *err)
{
    const char *src = source_name ? source_name : "<buffer>";
    memset(v, 0, sizeof *v);
    const uint8_t *p = buf;
    size_t off, tlen;
    npy_header h;
    memset(&h, 0, sizeof h);
    ssdc_status st = npy_parse_preamble(p, len, &off, &tlen, err);
    if (!st && len - off < tlen)
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "truncated header: %zu bytes, expected %zu",
                       len - off, tlen);
    if (!st)
        st = npy_parse_dict((const char *)p + off, tlen, &h, err);
    if (!st && len - off - tlen != h.data_bytes)
        st = ssdc_fail(err, SSDC_ERR_FORMAT, "data is %zu bytes, expected %zu for %lld elements",
                       len - off - tlen, h.data_bytes, (long long)h.numel);
    if (st)
        return ssdc_error_prefix(err, "%s", src);
    void *data = malloc(h.data_bytes ? h.data_bytes : 1);
    if (!data) {
        ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory for %zu bytes", h.data_bytes);
        return ssdc_error_prefix(err, "%s", src);
    }
    if (h.data_bytes)
        memcpy(data, p + off + tlen, h.data_bytes);
    size_t es = graph_dtype_size(h.dtype);
    npy_swap_to_host(data, (size_t)h.numel, es);
    if (h.dtype == GRAPH_DT_BOOL)
        for (int64_t i = 0; i < h.numel; i++)
            ((uint8_t *)data)[i] = ((uint8_t *)data)[i] != 0;
    graph_value_set_shape(v, h.dtype, h.rank, h.dims);
    v->data = data;
    return SSDC_OK;
}

static ssdc_status npy_read_stream(FILE *f, graph_value *v, ssdc_error *err)
{
    uint8_t pre[12];
    size_t got = fread(pre, 1, sizeof pre, f);
    size_t off, tlen;
    ssdc_status st = npy_parse_preamble(pre, got, &off, &tlen, err);
    if (st)
        return st;
    char *text = malloc(tlen ? tlen : 1);
    if (!text)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    /* the preamble read may have consumed the first bytes of the dict */
    size_t have = got - off;
    if (have > tlen)
        have = tlen;
    memcpy(text, pre + off, have);
    size_t extra = got - off - have; /* bytes after the dict already read */
    if (tlen - have > 0 && fread(text + have, 1, tlen - have, f) != tlen - have) {
        free(text);
        return ssdc_fail(err, SSDC_ERR_FORMAT, "truncated header");
    }
    npy_header h;
    memset(&h, 0, sizeof h);
    st = npy_parse_dict(text, tlen, &h, err);
    free(text);
    if (st)
        return st;
    uint8_t *data = malloc(h.data_bytes ? h.data_bytes : 1);
    if (!data)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory for %zu bytes", h.data_bytes);
    size_t n = extra < h.data_bytes ? extra : h.data_bytes;
    memcpy(data, pre + got - extra, n);
    n += fread(data + n, 1, h.data_bytes - n, f);
    if (n < h.data_bytes) {
        free(data);
        return ssdc_fail(err, SSDC_ERR_FORMAT, "data is %zu bytes, expected %zu for %lld elements",
                         n, h.data_bytes, (long long)h.numel);
    }
    if (extra > h.data_bytes || fgetc(f) != EOF) {
        free(data);
        return ssdc_fail(err, SSDC_ERR_FORMAT,
                         "data is longer than the %zu bytes expected for %lld elements",
                         h.data_bytes, (long long)h.numel);
    }
    if (ferror(f)) {
        free(data);
        return ssdc_fail(err, SSDC_ERR_IO, "read error");
    }
    npy_swap_to_host(data, (size_t)h.numel, graph_dtype_size(h.dtype));
    if (h.dtype == GRAPH_DT_BOOL)
        for (int64_t i = 0; i < h.numel; i++)
            data[i] = data[i] != 0;
    graph_value_set_shape(v, h.dtype, h.rank, h.dims);
    v->data = data;
    return SSDC_OK;
}

ssdc_status npy_read_file(const char *path, graph_value *v, ssdc_error *err)
{
    memset(v, 0, sizeof *v);
    FILE *f = fopen(path, "rb");
    if (!f) {
        ssdc_fail(err, SSDC_ERR_IO, "cannot open: %s", strerror(errno));
        return ssdc_error_prefix(err, "%s", path);
    }
    struct stat sb;
    ssdc_status st = SSDC_OK;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode))
        st = ssdc_fail(err, SSDC_ERR_IO, "is a directory, expected a .npy file");
    if (!st)
        st = npy_read_stream(f, v, err);
    fclose(f);
    if (st)
        return ssdc_error_prefix(err, "%s", path);
    return SSDC_OK;
}

/* ---- writing ---- */

static ssdc_status npy_build_header(const graph_value *v, const char *descr, char *out,
                                    size_t cap, size_t *len, ssdc_error *err)
{
    char shape[GRAPH_MAX_RANK * 24 + 8];
    size_t pos = 0;
    shape[pos++] = '(';
    for (int i = 0; i < v->rank; i++)
        pos += (size_t)snprintf(shape + pos, sizeof shape - pos, "%s%lld", i ? ", " : "",
                                (long long)v->dims[i]);
    if (v->rank == 1)
        shape[pos++] = ',';
    shape[pos++] = ')';
    shape[pos] = 0;
    char dict[sizeof shape + 96];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      descr, shape);
    size_t total = 10 + (size_t)dl + 1;
    total = (total + 63) / 64 * 64;
    if (total > cap || total - 10 > 65535)
        return ssdc_fail(err, SSDC_ERR_INVALID, "header too long");
    memcpy(out, NPY_MAGIC, NPY_MAGIC_LEN);
    out[6] = 1;
    out[7] = 0;
    size_t hl = total - 10;
    out[8] = (char)(hl & 0xff);
    out[9] = (char)(hl >> 8);
    memcpy(out + 10, dict, (size_t)dl);
    memset(out + 10 + dl, ' ', total - 10 - (size_t)dl - 1);
    out[total - 1] = '\n';
    *len = total;
    return SSDC_OK;
}

static ssdc_status npy_check_value(const graph_value *v, const char **descr, size_t *bytes,
                                   ssdc_error *err)
{
    *descr = npy_descr_of(v->dtype);
    if (!*descr)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "cannot write dtype %s to .npy",
                         graph_dtype_name(v->dtype));
    if (v->rank < 0 || v->rank > GRAPH_MAX_RANK)
        return ssdc_fail(err, SSDC_ERR_INVALID, "invalid rank %d", v->rank);
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++)
        if (v->dims[i] < 0 || graph_mul_overflow(n, v->dims[i], &n) ||
            n > SSDC_MAX_TENSOR_ELEMS)
            return ssdc_fail(err, SSDC_ERR_INVALID, "invalid shape (dimension %d is %lld)", i,
                             (long long)v->dims[i]);
    if (n != v->numel)
        return ssdc_fail(err, SSDC_ERR_INVALID, "value has numel %lld but its shape holds %lld",
                         (long long)v->numel, (long long)n);
    if (n > 0 && !v->data)
        return ssdc_fail(err, SSDC_ERR_INVALID, "value has no data");
    *bytes = (size_t)n * graph_dtype_size(v->dtype);
    return SSDC_OK;
}

/* Writes the data in little-endian order, swapping through a buffer on
 * big-endian hosts. */
static ssdc_status npy_write_data(ssdc_atomic_file *f, const graph_value *v, size_t bytes,
                                  ssdc_error *err)
{
    size_t es = graph_dtype_size(v->dtype);
    if (npy_host_is_little_endian() || es == 1)
        return ssdc_atomic_write(f, v->data, bytes, err);
    uint8_t tmp[4096];
    const uint8_t *p = v->data;
    for (size_t off = 0; off < bytes; off += sizeof tmp) {
        size_t n = bytes - off < sizeof tmp ? bytes - off : sizeof tmp;
        memcpy(tmp, p + off, n);
        npy_swap_to_host(tmp, n / es, es);
        ssdc_status st = ssdc_atomic_write(f, tmp, n, err);
        if (st)
            return st;
    }
    return SSDC_OK;
}

ssdc_status npy_write_file(const char *path, const graph_value *v, ssdc_error *err)
{
    const char *descr;
    size_t bytes = 0;
    ssdc_status st = npy_check_value(v, &descr, &bytes, err);
    char header[512];
    size_t hlen = 0;
    if (!st)
        st = npy_build_header(v, descr, header, sizeof header, &hlen, err);
    if (st)
        return ssdc_error_prefix(err, "%s", path);
    ssdc_atomic_file f;
    if ((st = ssdc_atomic_open(&f, path, err)))
        return st;
    st = ssdc_atomic_write(&f, header, hlen, err);
    if (!st)
        st = npy_write_data(&f, v, bytes, err);
    if (st) {
        ssdc_atomic_abort(&f);
        return st;
    }
    return ssdc_atomic_commit(&f, err);
}
