/* ONNX import: ModelProto decoded with protobuf-c into the graph IR.
 *
 * The protobuf structs live only inside onnx_import_buffer: every string,
 * shape and tensor is copied into the graph before the message is freed.
 * Old-opset attribute forms are normalised into the opset-13+ input forms
 * (see onnx_normalise_node), so kernels and shape inference see one form. */
#include "frontend/onnx_import.h"
#include "graph/ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx.pb-c.h"

#define ONNX_MAX_FILE_BYTES ((size_t)1 << 31)   /* 2 GiB, the protobuf limit */
#define ONNX_MAX_NAME_LEN ((size_t)64 * 1024)   /* names, op types, strings */
#define ONNX_MAX_ATTR_ELEMS ((size_t)1 << 24)   /* entries in one attribute array */
#define ONNX_MIN_IR_VERSION 3
#define ONNX_MAX_IR_VERSION 8
#define ONNX_MIN_OPSET 7
#define ONNX_MAX_OPSET 17

/* ---- small helpers ---- */

static const char *onnx_str(const char *s)
{
    return s ? s : "";
}

static bool onnx_is_default_domain(const char *d)
{
    return !d || !d[0] || strcmp(d, "ai.onnx") == 0;
}

static bool onnx_host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Copies n little-endian elements of size es from src to dst in host order. */
static void onnx_copy_le(void *dst, const void *src, size_t n, size_t es)
{
    if (n == 0)
        return;
    if (onnx_host_is_little_endian() || es == 1) {
        memcpy(dst, src, n * es);
        return;
    }
    const uint8_t *s = src;
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < es; b++)
            d[i * es + b] = s[i * es + es - 1 - b];
}

/* Reads a whole file of at most ONNX_MAX_FILE_BYTES.  Messages do not carry
 * the path; the caller prefixes it. */
static ssdc_status onnx_read_file(const char *path, uint8_t **out, size_t *len, ssdc_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ssdc_fail(err, SSDC_ERR_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return ssdc_fail(err, SSDC_ERR_IO, "cannot stat: %s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return ssdc_fail(err, SSDC_ERR_IO, "is a directory, expected a file");
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > ONNX_MAX_FILE_BYTES) {
        fclose(f);
        return ssdc_fail(err, SSDC_ERR_LIMIT, "file is %lld bytes, more than the 2 GiB limit",
                         (long long)st.st_size);
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory reading %zu bytes", cap);
    }
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > ONNX_MAX_FILE_BYTES) {
                free(buf);
                fclose(f);
                return ssdc_fail(err, SSDC_ERR_LIMIT, "file is more than the 2 GiB limit");
            }
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory reading file");
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                fclose(f);
                return ssdc_fail(err, SSDC_ERR_IO, "read error: %s", strerror(e));
            }
            break;
        }
    }
    fclose(f);
    if (n > ONNX_MAX_FILE_BYTES) {
        free(buf);
        return ssdc_fail(err, SSDC_ERR_LIMIT, "file is more than the 2 GiB limit");
    }
    *out = buf;
    *len = n;
    return SSDC_OK;
}

/* ---- a set of strings (node names), open addressing ---- */

typedef struct {
    char **slots;
    size_t cap, count;
} onnx_name_set;

static uint64_t onnx_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void onnx_name_set_free(onnx_name_set *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static bool onnx_name_set_has(const onnx_name_set *s, const char *name)
{
    if (!s->cap)
        return false;
    size_t mask = s->cap - 1;
    for (size_t h = onnx_hash(name) & mask; s->slots[h]; h = (h + 1) & mask)
        if (strcmp(s->slots[h], name) == 0)
            return true;
    return false;
}

static ssdc_status onnx_name_set_add(onnx_name_set *s, const char *name, ssdc_error *err)
{
    if (onnx_name_set_has(s, name))
        return SSDC_OK;
    if ((s->count + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t h = onnx_hash(s->slots[i]) & (cap - 1);
            while (slots[h])
                h = (h + 1) & (cap - 1);
            slots[h] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    char *copy = graph_strdup(name);
    if (!copy)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    size_t h = onnx_hash(name) & (s->cap - 1);
    while (s->slots[h])
        h = (h + 1) & (s->cap - 1);
    s->slots[h] = copy;
    s->count++;
    return SSDC_OK;
}

/* ---- import context ---- */

typedef struct {
    graph *g;
    int64_t opset;
    onnx_name_set node_names; /* names taken by nodes (file names and synthesised ones) */
    ssdc_error *err;
} onnx_ctx;

static ssdc_status onnx_check_name(const char *s, const char *what, ssdc_error *err)
{
    if (s && strnlen(s, ONNX_MAX_NAME_LEN + 1) > ONNX_MAX_NAME_LEN)
        return ssdc_fail(err, SSDC_ERR_LIMIT, "%s is longer than %zu bytes", what,
                         ONNX_MAX_NAME_LEN);
    return SSDC_OK;
}

/* Bytes per element of the tensor element types ssdc decodes; 0 otherwise. */
static size_t onnx_elem_size(int32_t dt)
{
    switch (dt) {
    case GRAPH_DT_FLOAT: return 4;
    case GRAPH_DT_UINT8: return 1;
    case GRAPH_DT_INT8: return 1;
    case GRAPH_DT_UINT16: return 2;
    case GRAPH_DT_INT16: return 2;
    case GRAPH_DT_INT32: return 4;
    case GRAPH_DT_INT64: return 8;
    case GRAPH_DT_BOOL: return 1;
    case GRAPH_DT_DOUBLE: return 8;
    case GRAPH_DT_UINT32: return 4;
    case GRAPH_DT_UINT64: return 8;
    default: return 0;
    }
}

static const char *onnx_elem_type_name(int32_t dt)
{
    switch (dt) {
    case 14: return "complex64";
    case 15: return "complex128";
    default:
        if (dt >= 0 && dt <= 16)
            return graph_dtype_name((graph_dtype)dt);
        return "unknown";
    }
}

/* ---- tensors ---- */

/* Decodes a TensorProto into v (v->data malloc'd, at least one byte).  label
 * names the tensor in messages, e.g. "tensor 'w'". */
static ssdc_status onnx_decode_tensor(const Onnx__TensorProto *tp, const char *label,
                                      graph_value *v, ssdc_error *err)
{
    memset(v, 0, sizeof *v);
    if ((tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        tp->n_external_data > 0)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "%s: external data is not supported yet",
                         label);
    if (tp->segment)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "%s: segmented tensors are not supported",
                         label);
    int32_t dt = tp->has_data_type ? tp->data_type : 0;
    if (dt == GRAPH_DT_FLOAT16 || dt == GRAPH_DT_BFLOAT16 || dt == GRAPH_DT_STRING || dt == 14 ||
        dt == 15)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "%s: data type %s is not supported", label,
                         onnx_elem_type_name(dt));
    size_t es = onnx_elem_size(dt);
    if (!es)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s: invalid or missing data type %d", label,
                         (int)dt);
    if (tp->n_dims > GRAPH_MAX_RANK)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "%s: rank %zu, at most %d supported", label,
                         tp->n_dims, GRAPH_MAX_RANK);
    int64_t numel = 1;
    for (size_t i = 0; i < tp->n_dims; i++)
        if (tp->dims[i] < 0)
            return ssdc_fail(err, SSDC_ERR_FORMAT, "%s: negative dimension %lld", label,
                             (long long)tp->dims[i]);
    /* a zero dim counts as 1 for the limit: kernels multiply partial products */
    if (!graph_dims_numel((int)tp->n_dims, tp->dims, &numel))
        return ssdc_fail(err, SSDC_ERR_LIMIT, "%s: more than %lld elements", label,
                         (long long)SSDC_MAX_TENSOR_ELEMS);
    v->dtype = (graph_dtype)dt;
    v->rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++)
        v->dims[i] = tp->dims[i];
    v->numel = numel;

    /* which typed field carries the data for this element type */
    size_t typed_n;
    switch (dt) {
    case GRAPH_DT_FLOAT: typed_n = tp->n_float_data; break;
    case GRAPH_DT_DOUBLE: typed_n = tp->n_double_data; break;
    case GRAPH_DT_INT64: typed_n = tp->n_int64_data; break;
    case GRAPH_DT_UINT32:
    case GRAPH_DT_UINT64: typed_n = tp->n_uint64_data; break;
    default: typed_n = tp->n_int32_data; break;
    }
    size_t bytes = (size_t)numel * es;
    /* Check the dims against the data actually present before allocating:
     * a few header bytes must not make us allocate gigabytes. */
    bool use_raw = tp->has_raw_data && (tp->raw_data.len > 0 || typed_n == 0);
    if (use_raw && tp->raw_data.len != bytes)
        return ssdc_fail(err, SSDC_ERR_FORMAT,
                         "%s: raw_data has %zu bytes, expected %zu (%lld elements of %s)", label,
                         tp->raw_data.len, bytes, (long long)numel, onnx_elem_type_name(dt));
    if (!use_raw && typed_n != (size_t)numel)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s: has %zu data elements, expected %lld", label,
                         typed_n, (long long)numel);
    uint8_t *data = malloc(bytes ? bytes : 1);
    if (!data)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "%s: out of memory for %zu bytes", label, bytes);

    if (use_raw) {
        onnx_copy_le(data, tp->raw_data.data, (size_t)numel, es);
        if (dt == GRAPH_DT_BOOL)
            for (int64_t i = 0; i < numel; i++)
                data[i] = data[i] != 0;
    } else {
        for (int64_t i = 0; i < numel; i++) {
            switch (dt) {
            case GRAPH_DT_FLOAT: ((float *)data)[i] = tp->float_data[i]; break;
            case GRAPH_DT_DOUBLE: ((double *)data)[i] = tp->double_data[i]; break;
            case GRAPH_DT_INT64: ((int64_t *)data)[i] = tp->int64_data[i]; break;
            case GRAPH_DT_UINT64: ((uint64_t *)data)[i] = tp->uint64_data[i]; break;
            case GRAPH_DT_UINT32: ((uint32_t *)data)[i] = (uint32_t)tp->uint64_data[i]; break;
            case GRAPH_DT_INT32: ((int32_t *)data)[i] = tp->int32_data[i]; break;
            case GRAPH_DT_INT16: ((int16_t *)data)[i] = (int16_t)tp->int32_data[i]; break;
            case GRAPH_DT_UINT16: ((uint16_t *)data)[i] = (uint16_t)tp->int32_data[i]; break;
            case GRAPH_DT_INT8: ((int8_t *)data)[i] = (int8_t)tp->int32_data[i]; break;
            case GRAPH_DT_UINT8: data[i] = (uint8_t)tp->int32_data[i]; break;
            case GRAPH_DT_BOOL: data[i] = tp->int32_data[i] != 0; break;
            default: break;
            }
        }
    }
    v->data = data;
    return SSDC_OK;
}

/* ---- value_info (graph inputs and outputs) ---- */

static ssdc_status onnx_decode_value_info(const Onnx__ValueInfoProto *vi, const char *what,
                                          graph_dtype *dt, graph_shape *shape, ssdc_error *err)
{
    const char *name = onnx_str(vi->name);
    *dt = GRAPH_DT_UNDEFINED;
    graph_shape_unknown(shape);
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET)
        return SSDC_OK;
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "%s '%s': only tensor types are supported (not sequences, maps, "
                         "optionals or sparse tensors)", what, name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt)
        return SSDC_OK;
    if (tt->has_elem_type) {
        if (tt->elem_type < 0 || tt->elem_type > 16 || tt->elem_type == 14 || tt->elem_type == 15)
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "%s '%s': element type %s is not supported",
                             what, name, onnx_elem_type_name(tt->elem_type));
        *dt = (graph_dtype)tt->elem_type;
    }
    const Onnx__TensorShapeProto *sp = tt->shape;
    if (!sp)
        return SSDC_OK;
    if (sp->n_dim > GRAPH_MAX_RANK)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "%s '%s': rank %zu, at most %d supported",
                         what, name, sp->n_dim, GRAPH_MAX_RANK);
    graph_shape_init(shape, (int)sp->n_dim, NULL);
    for (size_t i = 0; i < sp->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
        if (!d)
            continue;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0)
                return ssdc_fail(err, SSDC_ERR_FORMAT, "%s '%s': negative dimension %lld",
                                 what, name, (long long)d->dim_value);
            if (d->dim_value > SSDC_MAX_TENSOR_ELEMS)
                return ssdc_fail(err, SSDC_ERR_LIMIT,
                                 "%s '%s': dimension %lld is more than %lld", what, name,
                                 (long long)d->dim_value, (long long)SSDC_MAX_TENSOR_ELEMS);
            shape->dims[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   d->dim_param) {
            ssdc_status st = onnx_check_name(d->dim_param, "dimension name", err);
            if (st)
                return st;
            /* symbolic: a label only; long names are truncated */
            snprintf(shape->sym[i], GRAPH_SYM_MAX, "%s", d->dim_param);
        }
    }
    return SSDC_OK;
}

/* ---- synthesised initializers (normalisation) ---- */

/* Finds a tensor name not yet used: base, base_1, base_2, ... */
static ssdc_status onnx_unique_tensor_name(const graph *g, const char *base, char **out,
                                           ssdc_error *err)
{
    size_t cap = strlen(base) + 24;
    char *name = malloc(cap);
    if (!name)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    snprintf(name, cap, "%s", base);
    for (long k = 1; graph_find_tensor(g, name) >= 0; k++)
        snprintf(name, cap, "%s_%ld", base, k);
    *out = name;
    return SSDC_OK;
}

/* Adds an initializer "<node>__<suffix>" holding a copy of n elements of
 * dtype dt (rank 1 of length n, or rank 0 when scalar). */
static ssdc_status onnx_add_const(onnx_ctx *c, const char *node_name, const char *suffix,
                                  graph_dtype dt, bool scalar, const void *values, size_t n,
                                  int *tensor)
{
    size_t base_len = strlen(node_name) + strlen(suffix) + 3;
    char *base = malloc(base_len);
    if (!base)
        return ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
    snprintf(base, base_len, "%s__%s", node_name, suffix);
    char *name = NULL;
    ssdc_status st = onnx_unique_tensor_name(c->g, base, &name, c->err);
    free(base);
    if (st)
        return st;
    size_t es = graph_dtype_size(dt);
    size_t bytes = n * es;
    void *data = malloc(bytes ? bytes : 1);
    if (!data) {
        free(name);
        return ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (n)
        memcpy(data, values, n * es);
    int64_t dims[1] = {(int64_t)n};
    st = graph_add_initializer(c->g, name, dt, scalar ? 0 : 1, dims, data, tensor, c->err);
    free(name);
    return st;
}

/* ---- attributes ---- */

static ssdc_status onnx_node_fail(ssdc_error *err, ssdc_status code, const char *node_name,
                                  const char *op_type, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static ssdc_status onnx_node_fail(ssdc_error *err, ssdc_status code, const char *node_name,
                                  const char *op_type, const char *fmt, ...)
{
    char msg[SSDC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ssdc_fail(err, code, "node '%s' (%s): %s", node_name, op_type, msg);
}

/* Converts one AttributeProto into a graph_attr with malloc'd contents. */
static ssdc_status onnx_convert_attr(const Onnx__AttributeProto *ap, const char *node_name,
                                     const char *op_type, graph_attr *a, ssdc_error *err)
{
    memset(a, 0, sizeof *a);
    const char *an = onnx_str(ap->name);
    if (!an[0])
        return onnx_node_fail(err, SSDC_ERR_FORMAT, node_name, op_type,
                              "attribute without a name");
    if (onnx_check_name(an, "attribute name", err))
        return onnx_node_fail(err, SSDC_ERR_LIMIT, node_name, op_type,
                              "attribute name is longer than %zu bytes", ONNX_MAX_NAME_LEN);
    if (ap->ref_attr_name && ap->ref_attr_name[0])
        return onnx_node_fail(err, SSDC_ERR_UNSUPPORTED, node_name, op_type,
                              "attribute '%s' refers to a function attribute, not supported", an);
    if (!ap->has_type || ap->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return onnx_node_fail(err, SSDC_ERR_FORMAT, node_name, op_type,
                              "attribute '%s' has no type", an);
    size_t n = 0;
    switch (ap->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: n = ap->n_floats; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: n = ap->n_ints; break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: n = ap->n_strings; break;
    default: break;
    }
    if (n > ONNX_MAX_ATTR_ELEMS)
        return onnx_node_fail(err, SSDC_ERR_LIMIT, node_name, op_type,
                              "attribute '%s' has %zu entries, more than the limit of %zu", an, n,
                              ONNX_MAX_ATTR_ELEMS);
    a->name = graph_strdup(an);
    if (!a->name)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = SSDC_OK;
    switch (ap->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        a->type = GRAPH_ATTR_FLOAT;
        a->f = ap->f;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        a->type = GRAPH_ATTR_INT;
        a->i = ap->i;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a->type = GRAPH_ATTR_STRING;
        if (ap->s.len > ONNX_MAX_NAME_LEN) {
            st = onnx_node_fail(err, SSDC_ERR_LIMIT, node_name, op_type,
                                "attribute '%s': string is longer than %zu bytes", an,
                                ONNX_MAX_NAME_LEN);
            break;
        }
        a->s = malloc(ap->s.len + 1);
        if (!a->s) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            break;
        }
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = 0;
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        a->type = GRAPH_ATTR_FLOATS;
        a->n = n;
        a->floats = malloc((n ? n : 1) * sizeof *a->floats);
        if (!a->floats) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            break;
        }
        if (n)
            memcpy(a->floats, ap->floats, n * sizeof *a->floats);
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        a->type = GRAPH_ATTR_INTS;
        a->n = n;
        a->ints = malloc((n ? n : 1) * sizeof *a->ints);
        if (!a->ints) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            break;
        }
        if (n)
            memcpy(a->ints, ap->ints, n * sizeof *a->ints);
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
        a->type = GRAPH_ATTR_STRINGS;
        a->strings = calloc(n ? n : 1, sizeof *a->strings);
        if (!a->strings) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            break;
        }
        a->n = n;
        for (size_t i = 0; i < n && !st; i++) {
            const ProtobufCBinaryData *b = &ap->strings[i];
            if (b->len > ONNX_MAX_NAME_LEN) {
                st = onnx_node_fail(err, SSDC_ERR_LIMIT, node_name, op_type,
                                    "attribute '%s': string %zu is longer than %zu bytes", an, i,
                                    ONNX_MAX_NAME_LEN);
                break;
            }
            a->strings[i] = malloc(b->len + 1);
            if (!a->strings[i]) {
                st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
                break;
            }
            if (b->len)
                memcpy(a->strings[i], b->data, b->len);
            a->strings[i][b->len] = 0;
        }
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
        a->type = GRAPH_ATTR_TENSOR;
        if (!ap->t) {
            st = onnx_node_fail(err, SSDC_ERR_FORMAT, node_name, op_type,
                                "attribute '%s' has type tensor but no tensor", an);
            break;
        }
        a->t = malloc(sizeof *a->t);
        if (!a->t) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            break;
        }
        char label[320];
        snprintf(label, sizeof label, "node '%.64s' (%.64s): attribute '%.64s': tensor '%.64s'",
                 node_name, op_type, an, onnx_str(ap->t->name));
        st = onnx_decode_tensor(ap->t, label, a->t, err);
        if (st) {
            free(a->t);
            a->t = NULL;
        }
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
        st = onnx_node_fail(err, SSDC_ERR_UNSUPPORTED, node_name, op_type,
                            "attribute '%s' is a subgraph; control flow (If, Loop, Scan) is "
                            "not supported", an);
        break;
    default:
        st = onnx_node_fail(err, SSDC_ERR_UNSUPPORTED, node_name, op_type,
                            "attribute '%s' has type %d (tensors, sparse tensors or type "
                            "protos), not supported", an, (int)ap->type);
        break;
    }
    if (st)
        graph_attr_clear(a);
    return st;
}

/* ---- nodes ---- */

static const Onnx__AttributeProto *onnx_find_attr(const Onnx__NodeProto *np, const char *name)
{
    for (size_t i = 0; i < np->n_attribute; i++)
        if (np->attribute[i] && strcmp(onnx_str(np->attribute[i]->name), name) == 0)
            return np->attribute[i];
    return NULL;
}

/* The inputs of a node under construction; normalisation may add some. */
typedef struct {
    int *ins;
    int n_in, cap_in;
    const char *name;    /* node name (possibly synthesised) */
    const char *op_type;
    const Onnx__NodeProto *np;
    /* attribute names to drop (moved into inputs or obsolete) */
    const char *drop[8];
    int n_drop;
} onnx_node_build;

static void onnx_drop_attr(onnx_node_build *b, const char *name)
{
    if (b->n_drop < (int)(sizeof b->drop / sizeof b->drop[0]))
        b->drop[b->n_drop++] = name;
}

static bool onnx_is_dropped(const onnx_node_build *b, const char *name)
{
    for (int i = 0; i < b->n_drop; i++)
        if (strcmp(b->drop[i], name) == 0)
            return true;
    return false;
}

/* Puts tensor t at input position pos (filling skipped positions with -1). */
static ssdc_status onnx_place_input(onnx_ctx *c, onnx_node_build *b, int pos, int t,
                                    const char *attr)
{
    if (pos < b->n_in && b->ins[pos] >= 0)
        return onnx_node_fail(c->err, SSDC_ERR_INVALID, b->name, b->op_type,
                              "attribute '%s' given and input %d given as well", attr, pos);
    if (pos >= b->cap_in) {
        int cap = pos + 4;
        int *ni = realloc(b->ins, (size_t)cap * sizeof *ni);
        if (!ni)
            return ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
        b->ins = ni;
        b->cap_in = cap;
    }
    while (b->n_in <= pos)
        b->ins[b->n_in++] = -1;
    b->ins[pos] = t;
    return SSDC_OK;
}

/* Moves INTS attribute `attr` into an int64 1-D initializer at input pos. */
static ssdc_status onnx_move_ints(onnx_ctx *c, onnx_node_build *b, const char *attr, int pos)
{
    const Onnx__AttributeProto *ap = onnx_find_attr(b->np, attr);
    if (!ap)
        return SSDC_OK;
    if (!ap->has_type || ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
        return onnx_node_fail(c->err, SSDC_ERR_INVALID, b->name, b->op_type,
                              "attribute '%s' must be a list of ints", attr);
    if (ap->n_ints > ONNX_MAX_ATTR_ELEMS)
        return onnx_node_fail(c->err, SSDC_ERR_LIMIT, b->name, b->op_type,
                              "attribute '%s' has %zu entries, more than the limit of %zu", attr,
                              ap->n_ints, ONNX_MAX_ATTR_ELEMS);
    int t;
    ssdc_status st = onnx_add_const(c, b->name, attr, GRAPH_DT_INT64, false, ap->ints,
                                    ap->n_ints, &t);
    if (!st)
        st = onnx_place_input(c, b, pos, t, attr);
    onnx_drop_attr(b, attr);
    return st;
}

/* Moves a FLOAT attribute into a scalar initializer at input pos.  The
 * scalar is float64 when input 0 is known to be float64, else float32. */
static ssdc_status onnx_move_float(onnx_ctx *c, onnx_node_build *b, const char *attr, int pos,
                                   bool skip_if_zero)
{
    const Onnx__AttributeProto *ap = onnx_find_attr(b->np, attr);
    if (!ap)
        return SSDC_OK;
    onnx_drop_attr(b, attr);
    if (!ap->has_type || ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        return onnx_node_fail(c->err, SSDC_ERR_INVALID, b->name, b->op_type,
                              "attribute '%s' must be a float", attr);
    if (skip_if_zero && ap->f == 0.0f)
        return SSDC_OK;
    bool dbl = b->n_in > 0 && b->ins[0] >= 0 && c->g->tensors[b->ins[0]].dtype == GRAPH_DT_DOUBLE;
    int t;
    ssdc_status st;
    if (dbl) {
        double d = ap->f;
        st = onnx_add_const(c, b->name, attr, GRAPH_DT_DOUBLE, true, &d, 1, &t);
    } else {
        st = onnx_add_const(c, b->name, attr, GRAPH_DT_FLOAT, true, &ap->f, 1, &t);
    }
    if (!st)
        st = onnx_place_input(c, b, pos, t, attr);
    return st;
}

/* Turns old-opset attribute forms into the opset-13+ input forms and drops
 * attributes that no longer exist.  Called before the node is added. */
static ssdc_status onnx_normalise_node(onnx_ctx *c, onnx_node_build *b)
{
    const char *op = b->op_type;
    int64_t v = c->opset;
    ssdc_status st = SSDC_OK;
    onnx_drop_attr(b, "consumed_inputs"); /* opset < 7 leftovers */
    if ((strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0) && v < 13) {
        st = onnx_move_ints(c, b, "axes", 1);
    } else if (strcmp(op, "Split") == 0 && v < 13) {
        st = onnx_move_ints(c, b, "split", 1);
    } else if (strcmp(op, "ReduceSum") == 0 && v < 13) {
        st = onnx_move_ints(c, b, "axes", 1);
    } else if (strcmp(op, "Pad") == 0 && v < 11) {
        st = onnx_move_ints(c, b, "pads", 1);
        if (!st)
            st = onnx_move_float(c, b, "value", 2, true);
    } else if (strcmp(op, "Clip") == 0 && v < 11) {
        st = onnx_move_float(c, b, "min", 1, false);
        if (!st)
            st = onnx_move_float(c, b, "max", 2, false);
    } else if (strcmp(op, "Slice") == 0 && v < 10) {
        if (!onnx_find_attr(b->np, "starts") || !onnx_find_attr(b->np, "ends"))
            return onnx_node_fail(c->err, SSDC_ERR_INVALID, b->name, b->op_type,
                                  "attributes 'starts' and 'ends' are required at opset %lld",
                                  (long long)v);
        st = onnx_move_ints(c, b, "starts", 1);
        if (!st)
            st = onnx_move_ints(c, b, "ends", 2);
        if (!st)
            st = onnx_move_ints(c, b, "axes", 3);
    } else if (strcmp(op, "Dropout") == 0 && v < 12) {
        st = onnx_move_float(c, b, "ratio", 1, false);
        onnx_drop_attr(b, "is_test");
    } else if (strcmp(op, "TopK") == 0 && v < 10) {
        const Onnx__AttributeProto *ap = onnx_find_attr(b->np, "k");
        if (!ap || !ap->has_type || ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
            return onnx_node_fail(c->err, SSDC_ERR_INVALID, b->name, b->op_type,
                                  "attribute 'k' (int) is required at opset %lld", (long long)v);
        int t;
        st = onnx_add_const(c, b->name, "k", GRAPH_DT_INT64, false, &ap->i, 1, &t);
        if (!st)
            st = onnx_place_input(c, b, 1, t, "k");
        onnx_drop_attr(b, "k");
    } else if (strcmp(op, "BatchNormalization") == 0 && v < 9) {
        const Onnx__AttributeProto *ap = onnx_find_attr(b->np, "spatial");
        if (ap && ap->has_type && ap->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT &&
            ap->i == 0)
            return onnx_node_fail(c->err, SSDC_ERR_UNSUPPORTED, b->name, b->op_type,
                                  "spatial=0 (per-activation statistics) is not supported");
        onnx_drop_attr(b, "spatial");
        onnx_drop_attr(b, "is_test");
    }
    return st;
}

/* Adds one node (attributes included) with the given inputs and outputs. */
static ssdc_status onnx_add_node_with_attrs(onnx_ctx *c, onnx_node_build *b, int n_out,
                                            const int *outs, int *node_index)
{
    const Onnx__NodeProto *np = b->np;
    ssdc_status st = graph_add_node(c->g, b->name, b->op_type, onnx_str(np->domain), b->n_in,
                                    b->ins, n_out, outs, node_index, c->err);
    if (st)
        return st;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        if (!ap)
            continue;
        if (onnx_is_dropped(b, onnx_str(ap->name)))
            continue;
        for (size_t k = 0; k < i; k++)
            if (np->attribute[k] && strcmp(onnx_str(np->attribute[k]->name),
                                           onnx_str(ap->name)) == 0)
                return onnx_node_fail(c->err, SSDC_ERR_INVALID, b->name, b->op_type,
                                      "attribute '%s' is given twice", onnx_str(ap->name));
        graph_attr a;
        st = onnx_convert_attr(ap, b->name, b->op_type, &a, c->err);
        if (st)
            return st;
        st = graph_node_add_attr(c->g, *node_index, &a, c->err);
        if (st)
            return st;
    }
    return SSDC_OK;
}

/* Adds a new intermediate tensor named "<node>__<suffix>" (made unique). */
static ssdc_status onnx_add_temp(onnx_ctx *c, const char *node_name, const char *suffix, int *t)
{
    size_t len = strlen(node_name) + strlen(suffix) + 3;
    char *base = malloc(len);
    if (!base)
        return ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
    snprintf(base, len, "%s__%s", node_name, suffix);
    char *name = NULL;
    ssdc_status st = onnx_unique_tensor_name(c->g, base, &name, c->err);
    free(base);
    if (st)
        return st;
    st = graph_add_tensor(c->g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, t,
                          c->err);
    free(name);
    return st;
}

/* A node name "<node>__<suffix>" not yet used by any node. */
static ssdc_status onnx_unique_node_name(onnx_ctx *c, const char *base, char **out)
{
    size_t cap = strlen(base) + 24;
    char *name = malloc(cap);
    if (!name)
        return ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
    snprintf(name, cap, "%s", base);
    for (long k = 1; onnx_name_set_has(&c->node_names, name); k++)
        snprintf(name, cap, "%s_%ld", base, k);
    ssdc_status st = onnx_name_set_add(&c->node_names, name, c->err);
    if (st) {
        free(name);
        return st;
    }
    *out = name;
    return SSDC_OK;
}

static ssdc_status onnx_add_helper_node(onnx_ctx *c, const char *base_name, const char *suffix,
                                        const char *op_type, int in, int out, int *node_index)
{
    size_t len = strlen(base_name) + strlen(suffix) + 3;
    char *base = malloc(len);
    if (!base)
        return ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
    snprintf(base, len, "%s__%s", base_name, suffix);
    char *name = NULL;
    ssdc_status st = onnx_unique_node_name(c, base, &name);
    free(base);
    if (st)
        return st;
    st = graph_add_node(c->g, name, op_type, "", 1, &in, 1, &out, node_index, c->err);
    free(name);
    return st;
}

/* Softmax / LogSoftmax before opset 13 coerce the input to 2-D at `axis`
 * (default 1) and normalise over the flattened tail.  The opset-13 form
 * normalises over one axis (default -1).  Where the two agree (axis is the
 * last one) only the axis is made explicit; otherwise the node becomes
 * Shape + Flatten(axis) + Softmax(axis=1) + Reshape, which is exact. */
static ssdc_status onnx_add_old_softmax(onnx_ctx *c, onnx_node_build *b, int n_out,
                                        const int *outs)
{
    const Onnx__AttributeProto *ap = onnx_find_attr(b->np, "axis");
    int64_t axis = 1;
    if (ap) {
        if (!ap->has_type || ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
            return onnx_node_fail(c->err, SSDC_ERR_INVALID, b->name, b->op_type,
                                  "attribute 'axis' must be an int");
        axis = ap->i;
    }
    onnx_drop_attr(b, "axis");
    if (b->n_in < 1 || b->ins[0] < 0 || n_out != 1 || outs[0] < 0)
        return onnx_node_fail(c->err, SSDC_ERR_INVALID, b->name, b->op_type,
                              "expected one input and one output");
    int x = b->ins[0];
    int rank = c->g->tensors[x].shape.rank;
    int64_t norm = axis < 0 && rank > 0 ? axis + rank : axis;
    bool last = axis == -1 || (rank > 0 && norm == rank - 1);
    int node;
    if (last) {
        ssdc_status st = onnx_add_node_with_attrs(c, b, n_out, outs, &node);
        if (!st)
            st = graph_node_set_int(c->g, node, "axis", axis, c->err);
        return st;
    }
    int shape_t, flat_t, soft_t;
    ssdc_status st = onnx_add_temp(c, b->name, "shape", &shape_t);
    if (!st)
        st = onnx_add_temp(c, b->name, "flat", &flat_t);
    if (!st)
        st = onnx_add_temp(c, b->name, "2d", &soft_t);
    if (!st)
        st = onnx_add_helper_node(c, b->name, "shape", "Shape", x, shape_t, &node);
    if (!st)
        st = onnx_add_helper_node(c, b->name, "flatten", "Flatten", x, flat_t, &node);
    if (!st)
        st = graph_node_set_int(c->g, node, "axis", axis, c->err);
    if (!st) {
        b->ins[0] = flat_t;
        st = onnx_add_node_with_attrs(c, b, 1, &soft_t, &node);
        b->ins[0] = x;
    }
    if (!st)
        st = graph_node_set_int(c->g, node, "axis", 1, c->err);
    if (st)
        return st;
    char *rname = NULL;
    size_t len = strlen(b->name) + 16;
    char *base = malloc(len);
    if (!base)
        return ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
    snprintf(base, len, "%s__reshape", b->name);
    st = onnx_unique_node_name(c, base, &rname);
    free(base);
    if (st)
        return st;
    int rin[2] = {soft_t, shape_t};
    st = graph_add_node(c->g, rname, "Reshape", "", 2, rin, 1, outs, &node, c->err);
    free(rname);
    return st;
}

/* Builds node i of the file.  All node outputs already exist as tensors. */
static ssdc_status onnx_import_node(onnx_ctx *c, const Onnx__NodeProto *np, const char *name)
{
    const char *op_type = onnx_str(np->op_type);
    onnx_node_build b;
    memset(&b, 0, sizeof b);
    b.name = name;
    b.op_type = op_type;
    b.np = np;
    b.cap_in = (int)np->n_input + 4;
    b.ins = malloc((size_t)b.cap_in * sizeof *b.ins);
    int *outs = malloc((np->n_output ? np->n_output : 1) * sizeof *outs);
    ssdc_status st = SSDC_OK;
    if (!b.ins || !outs) {
        st = ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < np->n_input; i++) {
        const char *in = onnx_str(np->input[i]);
        if (!in[0]) {
            b.ins[b.n_in++] = -1;
            continue;
        }
        int t = graph_find_tensor(c->g, in);
        if (t < 0) {
            st = onnx_node_fail(c->err, SSDC_ERR_INVALID, name, op_type,
                                "input '%s' is not defined", in);
            goto done;
        }
        b.ins[b.n_in++] = t;
    }
    for (size_t i = 0; i < np->n_output; i++) {
        const char *on = onnx_str(np->output[i]);
        outs[i] = on[0] ? graph_find_tensor(c->g, on) : -1;
    }
    if (onnx_is_default_domain(np->domain)) {
        st = onnx_normalise_node(c, &b);
        if (st)
            goto done;
        if ((strcmp(op_type, "Softmax") == 0 || strcmp(op_type, "LogSoftmax") == 0) &&
            c->opset < 13) {
            st = onnx_add_old_softmax(c, &b, (int)np->n_output, outs);
            goto done;
        }
    }
    int node;
    st = onnx_add_node_with_attrs(c, &b, (int)np->n_output, outs, &node);
done:
    free(b.ins);
    free(outs);
    return st;
}

/* ---- model ---- */

static ssdc_status onnx_set_string(char **dst, const char *src, const char *what, ssdc_error *err)
{
    ssdc_status st = onnx_check_name(src, what, err);
    if (st)
        return st;
    char *copy = graph_strdup(onnx_str(src));
    if (!copy)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    free(*dst);
    *dst = copy;
    return SSDC_OK;
}

static ssdc_status onnx_check_version(const Onnx__ModelProto *m, int64_t *opset, ssdc_error *err)
{
    if (!m->has_ir_version)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "no ir_version; not an ONNX model");
    if (m->ir_version < ONNX_MIN_IR_VERSION || m->ir_version > ONNX_MAX_IR_VERSION)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "IR version %lld is not supported (supported: %d to %d)",
                         (long long)m->ir_version, ONNX_MIN_IR_VERSION, ONNX_MAX_IR_VERSION);
    bool found = false;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!o || !onnx_is_default_domain(o->domain))
            continue;
        int64_t v = o->has_version ? o->version : 0;
        if (found && v != *opset)
            return ssdc_fail(err, SSDC_ERR_FORMAT,
                             "the default ONNX domain is imported twice (opsets %lld and %lld)",
                             (long long)*opset, (long long)v);
        *opset = v;
        found = true;
    }
    if (!found)
        return ssdc_fail(err, m->n_opset_import ? SSDC_ERR_UNSUPPORTED : SSDC_ERR_FORMAT,
                         "no opset_import for the default ONNX domain (ops of other domains "
                         "are not supported)");
    /* opsets 1-6 are accepted when every node is an op whose meaning has not
     * changed since (checked by onnx_check_old_opset after the graph is read) */
    if (*opset < 1 || *opset > ONNX_MAX_OPSET)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "opset %lld of the default ONNX domain is not supported (supported: %d "
                         "to %d)", (long long)*opset, ONNX_MIN_OPSET, ONNX_MAX_OPSET);
    return SSDC_OK;
}

/* Before opset 7 only ops whose definition is unchanged up to opset 17
 * (dtype additions aside) are accepted: the rest changed attributes
 * (broadcast, consumed_inputs, is_test, ...). */
static ssdc_status onnx_check_old_opset(const graph *g, ssdc_error *err)
{
    static const char *const unchanged[] = {
        "Abs", "Ceil", "Elu", "Exp", "Floor", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid",
        "Identity", "LeakyRelu", "Log", "Neg", "Not", "Reciprocal", "Relu", "Sigmoid", "Softplus",
        "Sqrt", "Tanh",
    };
    if (g->opset >= ONNX_MIN_OPSET)
        return SSDC_OK;
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        bool ok = false;
        for (size_t k = 0; k < sizeof unchanged / sizeof unchanged[0]; k++)
            ok = ok || strcmp(n->op_type, unchanged[k]) == 0;
        if (!ok)
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                             "opset %lld of the default ONNX domain is not supported (supported: "
                             "%d to %d; older only for ops unchanged since, and node '%s' (%s) "
                             "has changed)",
                             (long long)g->opset, ONNX_MIN_OPSET, ONNX_MAX_OPSET, n->name,
                             n->op_type);
    }
    return SSDC_OK;
}

/* PyTorch's exporter merges initializers that happen to hold equal values
 * (a fresh model's BatchNorm scales, biases and statistics) and feeds the
 * copies through Identity nodes.  They are distinct parameters: each Identity
 * of an initializer becomes an initializer of its own (a copy), so training
 * updates them separately and the graph computes the same. */
static ssdc_status onnx_untie_initializers(graph *g, ssdc_error *err)
{
    bool *remove = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        graph_node *n = &g->nodes[i];
        if (n->op != GRAPH_OP_IDENTITY || n->n_inputs != 1 || n->n_outputs != 1 ||
            n->inputs[0] < 0 || n->outputs[0] < 0)
            continue;
        const graph_tensor *src = &g->tensors[n->inputs[0]];
        graph_tensor *dst = &g->tensors[n->outputs[0]];
        if (src->kind != GRAPH_TENSOR_INITIALIZER || dst->is_output)
            continue;
        int64_t numel = 1;
        for (int d = 0; d < src->shape.rank; d++)
            numel *= src->shape.dims[d];
        size_t bytes = (size_t)numel * graph_dtype_size(src->dtype);
        void *copy = malloc(bytes ? bytes : 1);
        if (!remove)
            remove = calloc((size_t)g->n_nodes, sizeof *remove);
        if (!copy || !remove) {
            free(copy);
            free(remove);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        }
        if (bytes)
            memcpy(copy, src->data, bytes);
        dst->kind = GRAPH_TENSOR_INITIALIZER;
        dst->dtype = src->dtype;
        dst->shape = src->shape;
        dst->data = copy;
        dst->producer = -1;
        remove[i] = true;
    }
    if (remove) {
        graph_remove_nodes(g, remove);
        free(remove);
    }
    return SSDC_OK;
}

/* The node's name, or "<OpType>_<index>" (made unique) when it has none. */
static ssdc_status onnx_node_name(onnx_ctx *c, const Onnx__NodeProto *np, size_t index,
                                  char **out)
{
    const char *name = onnx_str(np->name);
    if (name[0]) {
        *out = graph_strdup(name);
        return *out ? SSDC_OK : ssdc_fail(c->err, SSDC_ERR_NOMEM, "out of memory");
    }
    char base[128];
    snprintf(base, sizeof base, "%.96s_%zu", onnx_str(np->op_type), index);
    return onnx_unique_node_name(c, base, out);
}

static ssdc_status onnx_build_graph(onnx_ctx *c, const Onnx__ModelProto *m)
{
    graph *g = c->g;
    ssdc_error *err = c->err;
    const Onnx__GraphProto *gp = m->graph;
    ssdc_status st;
    if (!gp)
        return ssdc_fail(err, SSDC_ERR_FORMAT, "the model has no graph");
    if ((st = onnx_set_string(&g->name, gp->name, "graph name", err)) ||
        (st = onnx_set_string(&g->producer_name, m->producer_name, "producer name", err)) ||
        (st = onnx_set_string(&g->producer_version, m->producer_version, "producer version",
                              err)))
        return st;
    if (gp->n_sparse_initializer > 0)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "sparse initializers are not supported");

    /* initializers */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = onnx_str(tp ? tp->name : NULL);
        if ((st = onnx_check_name(name, "initializer name", err)))
            return st;
        if (!name[0])
            return ssdc_fail(err, SSDC_ERR_FORMAT, "initializer %zu has no name", i);
        if (graph_find_tensor(g, name) >= 0)
            return ssdc_fail(err, SSDC_ERR_INVALID, "initializer '%s' is defined twice", name);
        char label[128];
        snprintf(label, sizeof label, "initializer '%.100s'", name);
        graph_value v;
        if ((st = onnx_decode_tensor(tp, label, &v, err)))
            return st;
        if ((st = graph_add_initializer(g, name, v.dtype, v.rank, v.dims, v.data, NULL, err)))
            return st;
    }

    /* graph inputs; one that is also an initializer is an initializer (IR < 4
     * lists every initializer as an input, in either order) */
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = onnx_str(vi ? vi->name : NULL);
        if ((st = onnx_check_name(name, "input name", err)))
            return st;
        if (!name[0])
            return ssdc_fail(err, SSDC_ERR_FORMAT, "graph input %zu has no name", i);
        int t = graph_find_tensor(g, name);
        if (t >= 0) {
            if (g->tensors[t].kind == GRAPH_TENSOR_INITIALIZER)
                continue;
            return ssdc_fail(err, SSDC_ERR_INVALID, "graph input '%s' is declared twice", name);
        }
        graph_dtype dt;
        graph_shape shape;
        if ((st = onnx_decode_value_info(vi, "graph input", &dt, &shape, err)))
            return st;
        if ((st = graph_add_tensor(g, name, dt, &shape, GRAPH_TENSOR_INPUT, &t, err)) ||
            (st = graph_add_input(g, t, err)))
            return st;
    }

    /* node names: the file's, then synthesised ones that avoid them */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        if (!np)
            return ssdc_fail(err, SSDC_ERR_FORMAT, "node %zu is empty", i);
        if ((st = onnx_check_name(np->name, "node name", err)) ||
            (st = onnx_check_name(np->op_type, "op type", err)) ||
            (st = onnx_check_name(np->domain, "domain", err)))
            return st;
        if (np->name && np->name[0] && (st = onnx_name_set_add(&c->node_names, np->name, err)))
            return st;
    }
    char **names = calloc(gp->n_node ? gp->n_node : 1, sizeof *names);
    if (!names)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_node && !st; i++)
        st = onnx_node_name(c, gp->node[i], i, &names[i]);

    /* every node output becomes a tensor first, so nodes may come in any order */
    for (size_t i = 0; i < gp->n_node && !st; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        const char *op_type = onnx_str(np->op_type);
        if (!op_type[0]) {
            st = ssdc_fail(err, SSDC_ERR_FORMAT, "node '%s' has no op_type", names[i]);
            break;
        }
        if (!onnx_is_default_domain(np->domain)) {
            st = onnx_node_fail(err, SSDC_ERR_UNSUPPORTED, names[i], op_type,
                                "domain '%s' is not supported (only the default ONNX domain)",
                                np->domain);
            break;
        }
        for (size_t k = 0; k < np->n_input && !st; k++)
            if (onnx_check_name(np->input[k], "tensor name", err))
                st = onnx_node_fail(err, SSDC_ERR_LIMIT, names[i], op_type,
                                    "input %zu: name is longer than %zu bytes", k,
                                    ONNX_MAX_NAME_LEN);
        for (size_t k = 0; k < np->n_output && !st; k++) {
            const char *on = onnx_str(np->output[k]);
            if (onnx_check_name(on, "tensor name", err)) {
                st = onnx_node_fail(err, SSDC_ERR_LIMIT, names[i], op_type,
                                    "output %zu: name is longer than %zu bytes", k,
                                    ONNX_MAX_NAME_LEN);
                break;
            }
            if (!on[0])
                continue;
            int t = graph_find_tensor(g, on);
            if (t >= 0) {
                const graph_tensor *gt = &g->tensors[t];
                st = onnx_node_fail(err, SSDC_ERR_INVALID, names[i], op_type,
                                    "output '%s' is already defined (%s)", on,
                                    gt->kind == GRAPH_TENSOR_INPUT         ? "a graph input"
                                    : gt->kind == GRAPH_TENSOR_INITIALIZER ? "an initializer"
                                                                           : "another node's output");
                break;
            }
            st = graph_add_tensor(g, on, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, NULL,
                                  err);
        }
    }
    for (size_t i = 0; i < gp->n_node && !st; i++)
        st = onnx_import_node(c, gp->node[i], names[i]);
    for (size_t i = 0; i < gp->n_node; i++)
        free(names[i]);
    free(names);
    if (st)
        return st;

    /* graph outputs */
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *name = onnx_str(vi ? vi->name : NULL);
        int t = graph_find_tensor(g, name);
        if (t < 0)
            return ssdc_fail(err, SSDC_ERR_INVALID,
                             "graph output '%.200s' is not defined (not an input, initializer or "
                             "node output)", name);
        graph_dtype dt;
        graph_shape shape;
        if ((st = onnx_decode_value_info(vi, "graph output", &dt, &shape, err)))
            return st;
        graph_tensor *gt = &g->tensors[t];
        if (gt->kind == GRAPH_TENSOR_INTERMEDIATE) {
            /* declared type and shape; shape inference refines them */
            if (gt->dtype == GRAPH_DT_UNDEFINED)
                gt->dtype = dt;
            if (gt->shape.rank < 0)
                gt->shape = shape;
        }
        if ((st = graph_add_output(g, t, err)))
            return st;
    }
    if (gp->n_output == 0)
        return ssdc_fail(err, SSDC_ERR_INVALID, "the graph has no outputs");
    return SSDC_OK;
}

ssdc_status onnx_import_buffer(const void *buf, size_t len, const char *source_name, graph **out,
                               ssdc_error *err)
{
    const char *src = source_name ? source_name : "<buffer>";
    *out = NULL;
    if (len > ONNX_MAX_FILE_BYTES) {
        ssdc_fail(err, SSDC_ERR_LIMIT, "model is %zu bytes, more than the 2 GiB limit", len);
        return ssdc_error_prefix(err, "%s", src);
    }
    if (len == 0) {
        ssdc_fail(err, SSDC_ERR_FORMAT, "empty file, not an ONNX model");
        return ssdc_error_prefix(err, "%s", src);
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m) {
        ssdc_fail(err, SSDC_ERR_FORMAT,
                  "not a valid ONNX model (protobuf decoding failed: truncated or corrupt)");
        return ssdc_error_prefix(err, "%s", src);
    }
    onnx_ctx c;
    memset(&c, 0, sizeof c);
    c.err = err;
    ssdc_status st = onnx_check_version(m, &c.opset, err);
    if (!st) {
        c.g = graph_new();
        if (!c.g)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        c.g->ir_version = m->ir_version;
        c.g->opset = c.opset;
        st = onnx_set_string(&c.g->source, src, "source name", err);
    }
    if (!st)
        st = onnx_build_graph(&c, m);
    if (!st)
        st = onnx_check_old_opset(c.g, err);
    if (!st)
        st = onnx_untie_initializers(c.g, err);
    onnx__model_proto__free_unpacked(m, NULL);
    onnx_name_set_free(&c.node_names);
    if (!st)
        st = graph_validate(c.g, err);
    if (st) {
        graph_free(c.g);
        return ssdc_error_prefix(err, "%s", src);
    }
    *out = c.g;
    return SSDC_OK;
}

ssdc_status onnx_import_file(const char *path, graph **out, ssdc_error *err)
{
    *out = NULL;
    uint8_t *buf;
    size_t len;
    ssdc_status st = onnx_read_file(path, &buf, &len, err);
    if (st)
        return ssdc_error_prefix(err, "%s", path);
    st = onnx_import_buffer(buf, len, path, out, err);
    free(buf);
    return st;
}

ssdc_status onnx_read_tensor_file(const char *path, graph_value *v, char **name, ssdc_error *err)
{
    memset(v, 0, sizeof *v);
    if (name)
        *name = NULL;
    uint8_t *buf;
    size_t len;
    ssdc_status st = onnx_read_file(path, &buf, &len, err);
    if (st)
        return ssdc_error_prefix(err, "%s", path);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp) {
        ssdc_fail(err, SSDC_ERR_FORMAT,
                  "not a valid ONNX TensorProto (protobuf decoding failed: truncated or corrupt)");
        return ssdc_error_prefix(err, "%s", path);
    }
    const char *tn = onnx_str(tp->name);
    char label[128];
    snprintf(label, sizeof label, "tensor '%.100s'", tn);
    st = onnx_check_name(tn, "tensor name", err);
    if (!st)
        st = onnx_decode_tensor(tp, label, v, err);
    if (!st && name) {
        *name = graph_strdup(tn);
        if (!*name) {
            free(v->data);
            memset(v, 0, sizeof *v);
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        }
    }
    onnx__tensor_proto__free_unpacked(tp, NULL);
    if (st)
        return ssdc_error_prefix(err, "%s", path);
    return SSDC_OK;
}
