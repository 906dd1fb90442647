#include "graph/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"

char *graph_strdup(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

bool graph_mul_overflow(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* ---- dtypes ---- */

size_t graph_dtype_size(graph_dtype dt)
{
    switch (dt) {
    case GRAPH_DT_FLOAT: return 4;
    case GRAPH_DT_DOUBLE: return 8;
    case GRAPH_DT_INT64: return 8;
    case GRAPH_DT_INT32: return 4;
    case GRAPH_DT_INT16: return 2;
    case GRAPH_DT_INT8: return 1;
    case GRAPH_DT_UINT8: return 1;
    case GRAPH_DT_BOOL: return 1;
    default: return 0;
    }
}

bool graph_dtype_supported(graph_dtype dt)
{
    return graph_dtype_size(dt) != 0;
}

const char *graph_dtype_name(graph_dtype dt)
{
    switch (dt) {
    case GRAPH_DT_UNDEFINED: return "undefined";
    case GRAPH_DT_FLOAT: return "float32";
    case GRAPH_DT_UINT8: return "uint8";
    case GRAPH_DT_INT8: return "int8";
    case GRAPH_DT_UINT16: return "uint16";
    case GRAPH_DT_INT16: return "int16";
    case GRAPH_DT_INT32: return "int32";
    case GRAPH_DT_INT64: return "int64";
    case GRAPH_DT_STRING: return "string";
    case GRAPH_DT_BOOL: return "bool";
    case GRAPH_DT_FLOAT16: return "float16";
    case GRAPH_DT_DOUBLE: return "float64";
    case GRAPH_DT_UINT32: return "uint32";
    case GRAPH_DT_UINT64: return "uint64";
    case GRAPH_DT_BFLOAT16: return "bfloat16";
    }
    return "unknown-dtype";
}

const char *graph_attr_type_name(graph_attr_type t)
{
    switch (t) {
    case GRAPH_ATTR_UNDEFINED: return "undefined";
    case GRAPH_ATTR_FLOAT: return "float";
    case GRAPH_ATTR_INT: return "int";
    case GRAPH_ATTR_STRING: return "string";
    case GRAPH_ATTR_TENSOR: return "tensor";
    case GRAPH_ATTR_GRAPH: return "graph";
    case GRAPH_ATTR_FLOATS: return "floats";
    case GRAPH_ATTR_INTS: return "ints";
    case GRAPH_ATTR_STRINGS: return "strings";
    }
    return "unknown";
}

/* ---- shapes ---- */

void graph_shape_init(graph_shape *s, int rank, const int64_t *dims)
{
    memset(s, 0, sizeof *s);
    s->rank = rank;
    for (int i = 0; i < rank && i < GRAPH_MAX_RANK; i++)
        s->dims[i] = dims ? dims[i] : -1;
}

void graph_shape_unknown(graph_shape *s)
{
    memset(s, 0, sizeof *s);
    s->rank = -1;
}

bool graph_shape_is_static(const graph_shape *s)
{
    if (s->rank < 0)
        return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0)
            return false;
    return true;
}

bool graph_dims_numel(int rank, const int64_t *dims, int64_t *numel)
{
    int64_t nz = 1; /* product of the non-zero dims */
    bool empty = false;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] == 0) {
            empty = true;
            continue;
        }
        if (graph_mul_overflow(nz, dims[i], &nz) || nz > SSDC_MAX_TENSOR_ELEMS)
            return false;
    }
    *numel = empty ? 0 : nz;
    return true;
}

ssdc_status graph_shape_numel(const graph_shape *s, int64_t *numel, ssdc_error *err)
{
    if (!graph_shape_is_static(s))
        return ssdc_fail(err, SSDC_ERR_SHAPE, "shape is not static");
    if (!graph_dims_numel(s->rank, s->dims, numel)) {
        char buf[160];
        graph_shape_format(s, buf, sizeof buf);
        bool empty = false;
        for (int i = 0; i < s->rank; i++)
            empty |= s->dims[i] == 0;
        return ssdc_fail(err, SSDC_ERR_LIMIT, "shape %s has more than %lld elements%s", buf,
                         (long long)SSDC_MAX_TENSOR_ELEMS,
                         empty ? " (counting its zero dimensions as 1)" : "");
    }
    return SSDC_OK;
}

bool graph_shape_equal(const graph_shape *a, const graph_shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++) {
        if (a->dims[i] != b->dims[i])
            return false;
        if (a->dims[i] < 0 && strcmp(a->sym[i], b->sym[i]) != 0)
            return false;
    }
    return true;
}

void graph_shape_format(const graph_shape *s, char *buf, size_t size)
{
    if (size == 0)
        return;
    if (s->rank < 0) {
        snprintf(buf, size, "[*]");
        return;
    }
    size_t pos = 0;
    pos += (size_t)snprintf(buf + pos, size - pos, "[");
    for (int i = 0; i < s->rank && pos < size; i++) {
        const char *sep = i ? "," : "";
        if (s->dims[i] >= 0)
            pos += (size_t)snprintf(buf + pos, size - pos, "%s%lld", sep, (long long)s->dims[i]);
        else if (s->sym[i][0])
            pos += (size_t)snprintf(buf + pos, size - pos, "%s%s", sep, s->sym[i]);
        else
            pos += (size_t)snprintf(buf + pos, size - pos, "%s?", sep);
    }
    if (pos < size)
        snprintf(buf + pos, size - pos, "]");
}

void graph_shape_copy_dim(graph_shape *dst, int j, const graph_shape *src, int i)
{
    dst->dims[j] = src->dims[i];
    memcpy(dst->sym[j], src->sym[i], GRAPH_SYM_MAX);
}

/* ---- values ---- */

void graph_value_set_shape(graph_value *v, graph_dtype dt, int rank, const int64_t *dims)
{
    v->dtype = dt;
    v->rank = rank;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        v->dims[i] = dims[i];
        n *= dims[i];
    }
    v->numel = n;
}

size_t graph_value_bytes(const graph_value *v)
{
    return (size_t)v->numel * graph_dtype_size(v->dtype);
}

/* double -> int64 saturated, NaN -> 0 (a plain cast is undefined out of range) */
static int64_t graph_f2i64(double x)
{
    if (x != x)
        return 0;
    if (x <= -9223372036854775808.0)
        return INT64_MIN;
    if (x >= 9223372036854775808.0)
        return INT64_MAX;
    return (int64_t)x;
}

int64_t graph_value_get_i64(const graph_value *v, int64_t i)
{
    switch (v->dtype) {
    case GRAPH_DT_INT64: return ((const int64_t *)v->data)[i];
    case GRAPH_DT_INT32: return ((const int32_t *)v->data)[i];
    case GRAPH_DT_INT16: return ((const int16_t *)v->data)[i];
    case GRAPH_DT_INT8: return ((const int8_t *)v->data)[i];
    case GRAPH_DT_UINT8: return ((const uint8_t *)v->data)[i];
    case GRAPH_DT_BOOL: return ((const uint8_t *)v->data)[i] != 0;
    case GRAPH_DT_FLOAT: return graph_f2i64(((const float *)v->data)[i]);
    case GRAPH_DT_DOUBLE: return graph_f2i64(((const double *)v->data)[i]);
    default: return 0;
    }
}

double graph_value_get_f64(const graph_value *v, int64_t i)
{
    switch (v->dtype) {
    case GRAPH_DT_FLOAT: return ((const float *)v->data)[i];
    case GRAPH_DT_DOUBLE: return ((const double *)v->data)[i];
    default: return (double)graph_value_get_i64(v, i);
    }
}

/* ---- graph ---- */

graph *graph_new(void)
{
    graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->name = graph_strdup("");
    g->source = graph_strdup("");
    g->producer_name = graph_strdup("");
    g->producer_version = graph_strdup("");
    g->ir_version = 8;
    g->opset = 17;
    if (!g->name || !g->source || !g->producer_name || !g->producer_version) {
        graph_free(g);
        return NULL;
    }
    return g;
}

void graph_attr_clear(graph_attr *a)
{
    free(a->name);
    free(a->s);
    free(a->floats);
    free(a->ints);
    if (a->strings)
        for (size_t i = 0; i < a->n; i++)
            free(a->strings[i]);
    free(a->strings);
    if (a->t) {
        free(a->t->data);
        free(a->t);
    }
    memset(a, 0, sizeof *a);
}

void graph_free(graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_tensors; i++) {
        free(g->tensors[i].name);
        free(g->tensors[i].data);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        graph_node *n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->domain);
        free(n->inputs);
        free(n->outputs);
        for (int a = 0; a < n->n_attrs; a++)
            graph_attr_clear(&n->attrs[a]);
        free(n->attrs);
    }
    free(g->tensors);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->index);
    free(g->name);
    free(g->source);
    free(g->producer_name);
    free(g->producer_version);
    free(g);
}

static void *dup_bytes(const void *src, size_t n)
{
    void *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, src, n);
    return d;
}

bool graph_attr_copy(graph_attr *dst, const graph_attr *src)
{
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->f = src->f;
    dst->i = src->i;
    dst->n = src->n;
    dst->name = graph_strdup(src->name);
    bool ok = dst->name != NULL;
    if (ok && src->s)
        ok = (dst->s = graph_strdup(src->s)) != NULL;
    if (ok && src->floats)
        ok = (dst->floats = dup_bytes(src->floats, src->n * sizeof(float))) != NULL;
    if (ok && src->ints)
        ok = (dst->ints = dup_bytes(src->ints, src->n * sizeof(int64_t))) != NULL;
    if (ok && src->strings) {
        ok = (dst->strings = calloc(src->n ? src->n : 1, sizeof(char *))) != NULL;
        for (size_t k = 0; ok && k < src->n; k++)
            ok = (dst->strings[k] = graph_strdup(src->strings[k])) != NULL;
    }
    if (ok && src->t) {
        ok = (dst->t = malloc(sizeof *dst->t)) != NULL;
        if (ok) {
            *dst->t = *src->t;
            dst->t->data = dup_bytes(src->t->data, graph_value_bytes(src->t));
            ok = dst->t->data != NULL;
            if (!ok) {
                free(dst->t);
                dst->t = NULL;
            }
        }
    }
    if (!ok)
        graph_attr_clear(dst);
    return ok;
}

graph *graph_clone(const graph *g)
{
    graph *c = graph_new();
    if (!c)
        return NULL;
    bool ok = true;
    free(c->name), free(c->source), free(c->producer_name), free(c->producer_version);
    c->name = graph_strdup(g->name);
    c->source = graph_strdup(g->source);
    c->producer_name = graph_strdup(g->producer_name);
    c->producer_version = graph_strdup(g->producer_version);
    c->ir_version = g->ir_version;
    c->opset = g->opset;
    ok = c->name && c->source && c->producer_name && c->producer_version;
    for (int t = 0; ok && t < g->n_tensors; t++) {
        const graph_tensor *src = &g->tensors[t];
        int idx;
        ok = graph_add_tensor(c, src->name, src->dtype, &src->shape, src->kind, &idx, NULL) == SSDC_OK;
        if (!ok)
            break;
        c->tensors[idx].is_output = src->is_output;
        if (src->data) {
            int64_t n = 1;
            for (int d = 0; d < src->shape.rank; d++)
                n *= src->shape.dims[d];
            c->tensors[idx].data = dup_bytes(src->data, (size_t)n * graph_dtype_size(src->dtype));
            ok = c->tensors[idx].data != NULL;
        }
    }
    for (int i = 0; ok && i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        int idx;
        ok = graph_add_node(c, n->name, n->op_type, n->domain, n->n_inputs, n->inputs, n->n_outputs,
                            n->outputs, &idx, NULL) == SSDC_OK;
        for (int a = 0; ok && a < n->n_attrs; a++) {
            graph_attr copy;
            ok = graph_attr_copy(&copy, &n->attrs[a]) && graph_node_add_attr(c, idx, &copy, NULL) == SSDC_OK;
        }
    }
    if (ok && g->n_inputs)
        ok = (c->inputs = dup_bytes(g->inputs, (size_t)g->n_inputs * sizeof(int))) != NULL;
    if (ok && g->n_outputs)
        ok = (c->outputs = dup_bytes(g->outputs, (size_t)g->n_outputs * sizeof(int))) != NULL;
    c->n_inputs = ok ? g->n_inputs : 0;
    c->n_outputs = ok ? g->n_outputs : 0;
    if (!ok) {
        graph_free(c);
        return NULL;
    }
    return c;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Inserts tensor t into the name index; the table must have a free slot. */
static void index_insert(graph *g, int t)
{
    uint64_t mask = (uint64_t)g->index_cap - 1;
    uint64_t h = hash_str(g->tensors[t].name) & mask;
    while (g->index[h] >= 0)
        h = (h + 1) & mask;
    g->index[h] = t;
}

/* Keeps the index at most half full: rebuilds it at double size when needed. */
static ssdc_status index_reserve(graph *g, int n_tensors, ssdc_error *err)
{
    if (n_tensors * 2 <= g->index_cap)
        return SSDC_OK;
    int cap = g->index_cap ? g->index_cap * 2 : 64;
    while (n_tensors * 2 > cap)
        cap *= 2;
    int *idx = malloc((size_t)cap * sizeof *idx);
    if (!idx)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory growing tensor index");
    for (int i = 0; i < cap; i++)
        idx[i] = -1;
    free(g->index);
    g->index = idx;
    g->index_cap = cap;
    for (int t = 0; t < g->n_tensors; t++)
        index_insert(g, t);
    return SSDC_OK;
}

int graph_find_tensor(const graph *g, const char *name)
{
    if (!g->index_cap || !name)
        return -1;
    uint64_t mask = (uint64_t)g->index_cap - 1;
    uint64_t h = hash_str(name) & mask;
    while (g->index[h] >= 0) {
        if (strcmp(g->tensors[g->index[h]].name, name) == 0)
            return g->index[h];
        h = (h + 1) & mask;
    }
    return -1;
}

ssdc_status graph_add_tensor(graph *g, const char *name, graph_dtype dt, const graph_shape *shape,
                             graph_tensor_kind kind, int *index, ssdc_error *err)
{
    if (!name || !name[0])
        return ssdc_fail(err, SSDC_ERR_INVALID, "tensor with an empty name");
    if (graph_find_tensor(g, name) >= 0)
        return ssdc_fail(err, SSDC_ERR_INVALID, "duplicate tensor name '%s'", name);
    if (shape && shape->rank > GRAPH_MAX_RANK)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "tensor '%s' has rank %d, at most %d supported",
                         name, shape->rank, GRAPH_MAX_RANK);
    if (g->n_tensors == g->cap_tensors) {
        int cap = g->cap_tensors ? g->cap_tensors * 2 : 32;
        graph_tensor *t = realloc(g->tensors, (size_t)cap * sizeof *t);
        if (!t)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory adding tensor '%s'", name);
        g->tensors = t;
        g->cap_tensors = cap;
    }
    graph_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = graph_strdup(name);
    if (!t->name)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    t->kind = kind;
    t->dtype = dt;
    if (shape)
        t->shape = *shape;
    else
        graph_shape_unknown(&t->shape);
    t->producer = -1;
    ssdc_status st = index_reserve(g, g->n_tensors + 1, err);
    if (st) {
        free(t->name);
        return st;
    }
    int ti = g->n_tensors++;
    index_insert(g, ti);
    if (index)
        *index = ti;
    return SSDC_OK;
}

ssdc_status graph_add_initializer(graph *g, const char *name, graph_dtype dt, int rank,
                                  const int64_t *dims, void *data, int *index, ssdc_error *err)
{
    if (rank < 0 || rank > GRAPH_MAX_RANK) {
        free(data);
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "initializer '%s' has rank %d, at most %d supported",
                         name, rank, GRAPH_MAX_RANK);
    }
    graph_shape s;
    graph_shape_init(&s, rank, dims);
    int t;
    ssdc_status st = graph_add_tensor(g, name, dt, &s, GRAPH_TENSOR_INITIALIZER, &t, err);
    if (st) {
        free(data);
        return st;
    }
    g->tensors[t].data = data;
    if (index)
        *index = t;
    return SSDC_OK;
}

static ssdc_status append_int(int **arr, int *n, int v, ssdc_error *err)
{
    int *a = realloc(*arr, (size_t)(*n + 1) * sizeof *a);
    if (!a)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    a[(*n)++] = v;
    *arr = a;
    return SSDC_OK;
}

ssdc_status graph_add_input(graph *g, int t, ssdc_error *err)
{
    if (t < 0 || t >= g->n_tensors)
        return ssdc_fail(err, SSDC_ERR_INVALID, "graph input index %d out of range", t);
    g->tensors[t].kind = GRAPH_TENSOR_INPUT;
    return append_int(&g->inputs, &g->n_inputs, t, err);
}

ssdc_status graph_add_output(graph *g, int t, ssdc_error *err)
{
    if (t < 0 || t >= g->n_tensors)
        return ssdc_fail(err, SSDC_ERR_INVALID, "graph output index %d out of range", t);
    g->tensors[t].is_output = true;
    return append_int(&g->outputs, &g->n_outputs, t, err);
}

ssdc_status graph_add_node(graph *g, const char *name, const char *op_type, const char *domain,
                           int n_in, const int *in, int n_out, const int *out, int *index,
                           ssdc_error *err)
{
    if (!op_type || !op_type[0])
        return ssdc_fail(err, SSDC_ERR_INVALID, "node '%s' has no op_type", name ? name : "");
    for (int i = 0; i < n_in; i++)
        if (in[i] < -1 || in[i] >= g->n_tensors)
            return ssdc_fail(err, SSDC_ERR_INVALID, "node '%s' (%s): input %d index out of range",
                             name, op_type, i);
    for (int i = 0; i < n_out; i++) {
        if (out[i] < -1 || out[i] >= g->n_tensors)
            return ssdc_fail(err, SSDC_ERR_INVALID, "node '%s' (%s): output %d index out of range",
                             name, op_type, i);
        if (out[i] >= 0 && g->tensors[out[i]].producer >= 0)
            return ssdc_fail(err, SSDC_ERR_INVALID,
                             "node '%s' (%s): output '%s' is already produced by node '%s'", name,
                             op_type, g->tensors[out[i]].name,
                             g->nodes[g->tensors[out[i]].producer].name);
        if (out[i] >= 0 && g->tensors[out[i]].kind != GRAPH_TENSOR_INTERMEDIATE)
            return ssdc_fail(err, SSDC_ERR_INVALID,
                             "node '%s' (%s): output '%s' is a graph input or initializer", name,
                             op_type, g->tensors[out[i]].name);
    }
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 32;
        graph_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn)
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory adding node '%s'", name);
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    graph_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    char synth[64];
    if (!name || !name[0]) {
        snprintf(synth, sizeof synth, "%s_%d", op_type, g->n_nodes);
        name = synth;
    }
    n->name = graph_strdup(name);
    n->op_type = graph_strdup(op_type);
    n->domain = graph_strdup(domain ? domain : "");
    n->inputs = malloc((size_t)(n_in ? n_in : 1) * sizeof(int));
    n->outputs = malloc((size_t)(n_out ? n_out : 1) * sizeof(int));
    if (!n->name || !n->op_type || !n->domain || !n->inputs || !n->outputs) {
        free(n->name), free(n->op_type), free(n->domain), free(n->inputs), free(n->outputs);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory adding node '%s'", name);
    }
    if (n_in)
        memcpy(n->inputs, in, (size_t)n_in * sizeof(int));
    if (n_out)
        memcpy(n->outputs, out, (size_t)n_out * sizeof(int));
    n->n_inputs = n_in;
    n->n_outputs = n_out;
    n->op = graph_op_lookup_domain(n->domain, op_type);
    int ni = g->n_nodes++;
    for (int i = 0; i < n_out; i++)
        if (out[i] >= 0)
            g->tensors[out[i]].producer = ni;
    if (index)
        *index = ni;
    return SSDC_OK;
}

void graph_remove_nodes(graph *g, const bool *remove)
{
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        graph_node *n = &g->nodes[i];
        if (remove[i]) {
            free(n->name);
            free(n->op_type);
            free(n->domain);
            free(n->inputs);
            free(n->outputs);
            for (int a = 0; a < n->n_attrs; a++)
                graph_attr_clear(&n->attrs[a]);
            free(n->attrs);
            continue;
        }
        g->nodes[k++] = *n;
    }
    g->n_nodes = k;
    for (int t = 0; t < g->n_tensors; t++)
        g->tensors[t].producer = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i].n_outputs; o++)
            if (g->nodes[i].outputs[o] >= 0)
                g->tensors[g->nodes[i].outputs[o]].producer = i;
}

int graph_max_node_io(const graph *g)
{
    int max_io = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_inputs > max_io)
            max_io = g->nodes[i].n_inputs;
        if (g->nodes[i].n_outputs > max_io)
            max_io = g->nodes[i].n_outputs;
    }
    return max_io;
}

void graph_node_values(const graph_value *vals, const graph_node *n, graph_value *in,
                       graph_value *out)
{
    for (int i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] < 0)
            memset(&in[i], 0, sizeof in[i]);
        else
            in[i] = vals[n->inputs[i]];
    }
    for (int i = 0; i < n->n_outputs; i++) {
        if (n->outputs[i] < 0)
            memset(&out[i], 0, sizeof out[i]);
        else
            out[i] = vals[n->outputs[i]];
    }
}

ssdc_status graph_reorder_nodes(graph *g, const int *order, ssdc_error *err)
{
    int nn = g->n_nodes;
    graph_node *nodes = malloc((size_t)(nn ? nn : 1) * sizeof *nodes);
    bool *seen = calloc((size_t)(nn ? nn : 1), sizeof *seen);
    if (!nodes || !seen) {
        free(nodes), free(seen);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory ordering the graph");
    }
    for (int k = 0; k < nn; k++) {
        if (order[k] < 0 || order[k] >= nn || seen[order[k]]) {
            free(nodes), free(seen);
            return ssdc_fail(err, SSDC_ERR_ARG, "graph_reorder_nodes: not a permutation of the "
                                                "%d nodes (position %d)", nn, k);
        }
        seen[order[k]] = true;
        nodes[k] = g->nodes[order[k]];
    }
    memcpy(g->nodes, nodes, (size_t)nn * sizeof *nodes);
    free(nodes), free(seen);
    for (int i = 0; i < nn; i++)
        for (int o = 0; o < g->nodes[i].n_outputs; o++)
            if (g->nodes[i].outputs[o] >= 0)
                g->tensors[g->nodes[i].outputs[o]].producer = i;
    return SSDC_OK;
}

ssdc_status graph_node_add_attr(graph *g, int node, graph_attr *a, ssdc_error *err)
{
    graph_node *n = &g->nodes[node];
    for (int i = 0; i < n->n_attrs; i++) {
        if (strcmp(n->attrs[i].name, a->name) == 0) {
            graph_attr_clear(&n->attrs[i]);
            n->attrs[i] = *a;
            return SSDC_OK;
        }
    }
    graph_attr *na = realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof *na);
    if (!na) {
        graph_attr_clear(a);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory adding attribute");
    }
    n->attrs = na;
    n->attrs[n->n_attrs++] = *a;
    return SSDC_OK;
}

static ssdc_status new_attr(graph_attr *a, const char *name, graph_attr_type type, ssdc_error *err)
{
    memset(a, 0, sizeof *a);
    a->name = graph_strdup(name);
    a->type = type;
    return a->name ? SSDC_OK : ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
}

ssdc_status graph_node_set_int(graph *g, int node, const char *name, int64_t v, ssdc_error *err)
{
    graph_attr a;
    if (new_attr(&a, name, GRAPH_ATTR_INT, err))
        return err ? err->code : SSDC_ERR_NOMEM;
    a.i = v;
    return graph_node_add_attr(g, node, &a, err);
}

ssdc_status graph_node_set_float(graph *g, int node, const char *name, float v, ssdc_error *err)
{
    graph_attr a;
    if (new_attr(&a, name, GRAPH_ATTR_FLOAT, err))
        return SSDC_ERR_NOMEM;
    a.f = v;
    return graph_node_add_attr(g, node, &a, err);
}

ssdc_status graph_node_set_string(graph *g, int node, const char *name, const char *v,
                                  ssdc_error *err)
{
    graph_attr a;
    if (new_attr(&a, name, GRAPH_ATTR_STRING, err))
        return SSDC_ERR_NOMEM;
    a.s = graph_strdup(v);
    if (!a.s) {
        graph_attr_clear(&a);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    return graph_node_add_attr(g, node, &a, err);
}

ssdc_status graph_node_set_ints(graph *g, int node, const char *name, const int64_t *v, size_t n,
                                ssdc_error *err)
{
    graph_attr a;
    if (new_attr(&a, name, GRAPH_ATTR_INTS, err))
        return SSDC_ERR_NOMEM;
    a.n = n;
    a.ints = malloc((n ? n : 1) * sizeof(int64_t));
    if (!a.ints) {
        graph_attr_clear(&a);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (n)
        memcpy(a.ints, v, n * sizeof(int64_t));
    return graph_node_add_attr(g, node, &a, err);
}

ssdc_status graph_node_set_floats(graph *g, int node, const char *name, const float *v, size_t n,
                                  ssdc_error *err)
{
    graph_attr a;
    if (new_attr(&a, name, GRAPH_ATTR_FLOATS, err))
        return SSDC_ERR_NOMEM;
    a.n = n;
    a.floats = malloc((n ? n : 1) * sizeof(float));
    if (!a.floats) {
        graph_attr_clear(&a);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (n)
        memcpy(a.floats, v, n * sizeof(float));
    return graph_node_add_attr(g, node, &a, err);
}

const graph_attr *graph_node_attr(const graph_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t graph_attr_int(const graph_node *n, const char *name, int64_t def)
{
    const graph_attr *a = graph_node_attr(n, name);
    return a && a->type == GRAPH_ATTR_INT ? a->i : def;
}

float graph_attr_float(const graph_node *n, const char *name, float def)
{
    const graph_attr *a = graph_node_attr(n, name);
    if (!a)
        return def;
    if (a->type == GRAPH_ATTR_FLOAT)
        return a->f;
    if (a->type == GRAPH_ATTR_INT)
        return (float)a->i;
    return def;
}

const char *graph_attr_string(const graph_node *n, const char *name, const char *def)
{
    const graph_attr *a = graph_node_attr(n, name);
    return a && a->type == GRAPH_ATTR_STRING ? a->s : def;
}

const int64_t *graph_attr_ints(const graph_node *n, const char *name, size_t *count)
{
    const graph_attr *a = graph_node_attr(n, name);
    if (!a || a->type != GRAPH_ATTR_INTS) {
        if (count)
            *count = 0;
        return NULL;
    }
    if (count)
        *count = a->n;
    return a->ints;
}

const float *graph_attr_floats(const graph_node *n, const char *name, size_t *count)
{
    const graph_attr *a = graph_node_attr(n, name);
    if (!a || a->type != GRAPH_ATTR_FLOATS) {
        if (count)
            *count = 0;
        return NULL;
    }
    if (count)
        *count = a->n;
    return a->floats;
}

const graph_tensor *graph_node_input(const graph *g, const graph_node *n, int i)
{
    if (i < 0 || i >= n->n_inputs || n->inputs[i] < 0)
        return NULL;
    return &g->tensors[n->inputs[i]];
}

const char *graph_node_label(const graph_node *n, char *buf, size_t size)
{
    snprintf(buf, size, "node '%s' (%s)", n->name, n->op_type);
    return buf;
}

/* ---- topological order (Kahn) ---- */

ssdc_status graph_topo_order(const graph *g, int *order, ssdc_error *err)
{
    int nn = g->n_nodes;
    if (nn == 0)
        return SSDC_OK;
    int *indeg = calloc((size_t)nn, sizeof *indeg);
    /* consumers: CSR over tensors */
    int *cstart = calloc((size_t)g->n_tensors + 1, sizeof *cstart);
    int total = 0;
    for (int i = 0; i < nn; i++)
        total += g->nodes[i].n_inputs;
    int *clist = malloc((size_t)(total ? total : 1) * sizeof *clist);
    int *fill = calloc((size_t)g->n_tensors + 1, sizeof *fill);
    int *queue = malloc((size_t)nn * sizeof *queue);
    if (!indeg || !cstart || !clist || !fill || !queue) {
        free(indeg), free(cstart), free(clist), free(fill), free(queue);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory ordering the graph");
    }
    for (int i = 0; i < nn; i++) {
        const graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t >= 0 && g->tensors[t].producer >= 0) {
                indeg[i]++;
                cstart[t + 1]++;
            }
        }
    }
    for (int t = 0; t < g->n_tensors; t++)
        cstart[t + 1] += cstart[t];
    for (int i = 0; i < nn; i++) {
        const graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t >= 0 && g->tensors[t].producer >= 0)
                clist[cstart[t] + fill[t]++] = i;
        }
    }
    int head = 0, tail = 0;
    for (int i = 0; i < nn; i++)
        if (indeg[i] == 0)
            queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        order[head - 1] = i;
        const graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_outputs; k++) {
            int t = n->outputs[k];
            if (t < 0)
                continue;
            for (int c = cstart[t]; c < cstart[t + 1]; c++)
                if (--indeg[clist[c]] == 0)
                    queue[tail++] = clist[c];
        }
    }
    ssdc_status st = SSDC_OK;
    if (tail < nn) {
        char names[512];
        size_t pos = 0;
        names[0] = 0;
        int shown = 0;
        for (int i = 0; i < nn && pos < sizeof names - 1; i++) {
            if (indeg[i] > 0) {
                if (shown++ == 6) {
                    snprintf(names + pos, sizeof names - pos, ", ...");
                    break;
                }
                pos += (size_t)snprintf(names + pos, sizeof names - pos, "%s'%s'",
                                        pos ? ", " : "", g->nodes[i].name);
            }
        }
        st = ssdc_fail(err, SSDC_ERR_INVALID, "graph has a cycle through nodes %s", names);
    }
    free(indeg), free(cstart), free(clist), free(fill), free(queue);
    return st;
}

/* ---- validation ---- */

static ssdc_status validate_attrs(const graph_node *n, const graph_op_schema *s, ssdc_error *err)
{
    for (int a = 0; a < n->n_attrs; a++) {
        const graph_attr *at = &n->attrs[a];
        const graph_attr_spec *spec = NULL;
        for (const graph_attr_spec *p = s->attrs; p && p->name; p++)
            if (strcmp(p->name, at->name) == 0)
                spec = p;
        if (!spec)
            return ssdc_fail(err, SSDC_ERR_INVALID,
                             "node '%s' (%s): unknown attribute '%s'", n->name, n->op_type,
                             at->name);
        if (spec->type != at->type)
            return ssdc_fail(err, SSDC_ERR_INVALID,
                             "node '%s' (%s): attribute '%s' is %s, expected %s", n->name,
                             n->op_type, at->name, graph_attr_type_name(at->type),
                             graph_attr_type_name(spec->type));
    }
    return SSDC_OK;
}

ssdc_status graph_validate(const graph *g, ssdc_error *err)
{
    /* every node input must be defined: an input, initializer or node output */
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t < 0)
                continue;
            const graph_tensor *tt = &g->tensors[t];
            if (tt->kind == GRAPH_TENSOR_INTERMEDIATE && tt->producer < 0)
                return ssdc_fail(err, SSDC_ERR_INVALID,
                                 "node '%s' (%s): input '%s' is not defined (not a graph input, "
                                 "initializer or node output)",
                                 n->name, n->op_type, tt->name);
        }
        const graph_op_schema *s = n->op >= 0 ? graph_op_schema_get(n->op) : NULL;
        if (!s)
            continue; /* unsupported ops are reported by the caller, all at once */
        if (n->n_inputs < s->min_in || (s->max_in >= 0 && n->n_inputs > s->max_in))
            return ssdc_fail(err, SSDC_ERR_INVALID,
                             "node '%s' (%s): has %d inputs, expected %d..%d", n->name,
                             n->op_type, n->n_inputs, s->min_in, s->max_in);
        for (int k = 0; k < s->min_in && k < n->n_inputs; k++)
            if (n->inputs[k] < 0)
                return ssdc_fail(err, SSDC_ERR_INVALID,
                                 "node '%s' (%s): required input %d is empty", n->name,
                                 n->op_type, k);
        if (n->n_outputs < s->min_out || n->n_outputs > s->max_out)
            return ssdc_fail(err, SSDC_ERR_INVALID,
                             "node '%s' (%s): has %d outputs, expected %d..%d", n->name,
                             n->op_type, n->n_outputs, s->min_out, s->max_out);
        ssdc_status st = validate_attrs(n, s, err);
        if (st)
            return st;
    }
    for (int i = 0; i < g->n_outputs; i++) {
        const graph_tensor *t = &g->tensors[g->outputs[i]];
        if (t->kind == GRAPH_TENSOR_INTERMEDIATE && t->producer < 0)
            return ssdc_fail(err, SSDC_ERR_INVALID, "graph output '%s' is not produced by any node",
                             t->name);
    }
    for (int i = 0; i < g->n_tensors; i++) {
        const graph_tensor *t = &g->tensors[i];
        if (t->kind == GRAPH_TENSOR_INPUT && t->dtype != GRAPH_DT_UNDEFINED &&
            !graph_dtype_supported(t->dtype))
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "graph input '%s' has dtype %s",
                             t->name, graph_dtype_name(t->dtype));
        if (t->kind == GRAPH_TENSOR_INITIALIZER && !graph_dtype_supported(t->dtype))
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "initializer '%s' has dtype %s",
                             t->name, graph_dtype_name(t->dtype));
        for (int d = 0; d < t->shape.rank; d++)
            if (t->shape.dims[d] < -1)
                return ssdc_fail(err, SSDC_ERR_SHAPE, "tensor '%s' has negative dimension %lld",
                                 t->name, (long long)t->shape.dims[d]);
    }
    int *order = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *order);
    if (!order)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = graph_topo_order(g, order, err);
    free(order);
    return st;
}
