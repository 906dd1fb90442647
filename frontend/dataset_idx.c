/* IDX (dataset_load_idx), gzip-compressed or plain, as in MNIST and
 * Fashion-MNIST: bytes 00 00, a type byte, the number of dimensions, then
 * each dimension as a big-endian uint32 and the elements, big-endian,
 * row-major.  Image files hold [N,L], [N,H,W] or [N,C,H,W] (ubyte values
 * are scaled by 1/255), label files [N] integers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "frontend/dataset_parse.h"

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
    st = ds_check_sample_dims(path, ix.ndim, ix.dims, err);
    if (st)
        goto done;
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
        double v;
        ds_num k = ds_check_value(ds_idx_get(&ix, i), o->nan_mode, &v);
        if (k == DS_NUM_MISSING) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT,
                           "%s: value %lld (sample %lld) is NaN; --nan zero replaces "
                           "missing values with 0",
                           path, (long long)i, (long long)(i / (ix.numel / ix.dims[0])));
            goto done;
        }
        if (k == DS_NUM_RANGE) {
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
        st = ds_buf_push_int_label(b, labels, (long long)ds_idx_get(&ix, i), path, i, err);
        if (st)
            goto done;
    }
done:
    free(ix.data);
    return st;
}

static const ds_array_format ds_idx_format = {
    .format = "idx",
    .read_x = ds_idx_images,
    .read_y = ds_idx_labels,
    .name_of = ds_name_from_dir_of,
};

ssdc_status dataset_load_idx(const char *train_images, const char *train_labels,
                             const char *test_images, const char *test_labels,
                             const dataset_load_options *opt, dataset_pair *out, ssdc_error *err)
{
    return ds_load_array_pair(&ds_idx_format, train_images, train_labels, test_images,
                              test_labels, opt, out, err);
}
