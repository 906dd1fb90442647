#include "graph/builder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"

ssdc_status graph_builder_init(graph_builder *b, graph *g, graph_builder_naming naming,
                               const char *prefix, ssdc_error *err)
{
    memset(b, 0, sizeof *b);
    b->g = g;
    b->err = err;
    b->naming = naming;
    return graph_builder_set_prefix(b, "%s", prefix ? prefix : "");
}

ssdc_status graph_builder_set_prefix(graph_builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->prefix, sizeof b->prefix, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b->prefix)
        return ssdc_fail(b->err, SSDC_ERR_LIMIT,
                         "name prefix '%.64s...' is longer than %d characters", b->prefix,
                         GRAPH_BUILDER_NAME_MAX - 1);
    return SSDC_OK;
}

graph_builder graph_builder_from_zero(const graph_builder *b)
{
    graph_builder own = *b;
    own.counter = 0;
    return own;
}

/* "<prefix><what>" or, numbered, "<prefix><what>#<k>" (for a tensor the
 * first k no tensor is named with). */
static ssdc_status make_name(graph_builder *b, const char *what, bool tensor,
                             char name[GRAPH_BUILDER_NAME_MAX])
{
    for (;;) {
        int n = b->naming == GRAPH_BUILDER_NUMBERED
                    ? snprintf(name, GRAPH_BUILDER_NAME_MAX, "%s%s#%d", b->prefix, what,
                               b->counter++)
                    : snprintf(name, GRAPH_BUILDER_NAME_MAX, "%s%s", b->prefix, what);
        if (n < 0 || n >= GRAPH_BUILDER_NAME_MAX)
            return ssdc_fail(b->err, SSDC_ERR_LIMIT,
                             "name '%.64s...' (prefix '%.64s', then '%.64s') is longer than %d "
                             "characters",
                             name, b->prefix, what, GRAPH_BUILDER_NAME_MAX - 1);
        if (b->naming == GRAPH_BUILDER_EXACT || !tensor || graph_find_tensor(b->g, name) < 0)
            return SSDC_OK;
    }
}

ssdc_status graph_builder_tensor_typed(graph_builder *b, const char *what, graph_dtype dt,
                                       const graph_shape *shape, int *t)
{
    char name[GRAPH_BUILDER_NAME_MAX];
    ssdc_status st = make_name(b, what, true, name);
    if (st)
        return st;
    return graph_add_tensor(b->g, name, dt, shape, GRAPH_TENSOR_INTERMEDIATE, t, b->err);
}

ssdc_status graph_builder_tensor(graph_builder *b, const char *what, int *t)
{
    return graph_builder_tensor_typed(b, what, GRAPH_DT_UNDEFINED, NULL, t);
}

/* The op id of op type `op` in the default domain or ssdc's, -1 if none. */
static int find_op(const char *op)
{
    int id = graph_op_lookup_domain("", op);
    return id >= 0 ? id : graph_op_lookup_domain(GRAPH_SSDC_DOMAIN, op);
}

static ssdc_status check_op(graph_builder *b, const char *op, const char *what, int *id)
{
    *id = op ? find_op(op) : -1;
    if (*id < 0)
        return ssdc_fail(b->err, SSDC_ERR_INVALID, "node '%s%s': ssdc has no op '%s'", b->prefix,
                         what ? what : (op ? op : ""), op ? op : "(null)");
    return SSDC_OK;
}

/* graph_builder_node once op is known to be op id `id` */
static ssdc_status add_node(graph_builder *b, int id, const char *op, const char *what, int n_in,
                            const int *in, int n_out, const int *out, int *node)
{
    char name[GRAPH_BUILDER_NAME_MAX];
    ssdc_status st = make_name(b, what ? what : op, false, name);
    if (st)
        return st;
    return graph_add_node(b->g, name, op, graph_op_domain(id), n_in, in, n_out, out, node, b->err);
}

ssdc_status graph_builder_node(graph_builder *b, const char *op, const char *what, int n_in,
                               const int *in, int n_out, const int *out, int *node)
{
    int id;
    ssdc_status st = check_op(b, op, what, &id);
    return st ? st : add_node(b, id, op, what, n_in, in, n_out, out, node);
}

ssdc_status graph_builder_op(graph_builder *b, const char *op, const char *what, int n_in,
                             const int *in, int *out, int *node)
{
    int id;
    ssdc_status st = check_op(b, op, what, &id);
    if (!st)
        st = graph_builder_tensor(b, what ? what : op, out);
    return st ? st : add_node(b, id, op, what, n_in, in, 1, out, node);
}

ssdc_status graph_builder_initializer(graph_builder *b, const char *what, graph_dtype dt,
                                      int rank, const int64_t *dims, const void *data, int *t)
{
    char name[GRAPH_BUILDER_NAME_MAX];
    ssdc_status st = make_name(b, what, true, name);
    if (st)
        return st;
    int64_t numel = 1;
    if (rank < 0 || rank > GRAPH_MAX_RANK || (rank > 0 && !dims) ||
        !graph_dims_numel(rank, dims, &numel))
        return ssdc_fail(b->err, SSDC_ERR_LIMIT,
                         "initializer '%s': rank %d or its dimensions are out of range", name,
                         rank);
    size_t bytes = (size_t)numel * graph_dtype_size(dt);
    void *copy = data ? malloc(bytes ? bytes : 1) : calloc(bytes ? bytes : 1, 1);
    if (!copy)
        return ssdc_fail(b->err, SSDC_ERR_NOMEM, "out of memory for initializer '%s'", name);
    if (data && bytes)
        memcpy(copy, data, bytes);
    return graph_add_initializer(b->g, name, dt, rank, dims, copy, t, b->err);
}

ssdc_status graph_builder_const_f32(graph_builder *b, const char *what, float v, int *t)
{
    return graph_builder_initializer(b, what, GRAPH_DT_FLOAT, 0, NULL, &v, t);
}

ssdc_status graph_builder_const_f64(graph_builder *b, const char *what, double v, int *t)
{
    return graph_builder_initializer(b, what, GRAPH_DT_DOUBLE, 0, NULL, &v, t);
}

ssdc_status graph_builder_const_i64(graph_builder *b, const char *what, const int64_t *v, int n,
                                    int *t)
{
    int64_t dims[1] = {n};
    return graph_builder_initializer(b, what, GRAPH_DT_INT64, 1, dims, v, t);
}

ssdc_status graph_builder_copy_attrs(graph_builder *b, int node, const graph_node *src)
{
    for (int a = 0; a < src->n_attrs; a++) {
        graph_attr copy;
        if (!graph_attr_copy(&copy, &src->attrs[a]))
            return ssdc_fail(b->err, SSDC_ERR_NOMEM, "out of memory copying attribute '%s' of "
                             "node '%s'", src->attrs[a].name, src->name);
        ssdc_status st = graph_node_add_attr(b->g, node, &copy, b->err);
        if (st)
            return st;
    }
    return SSDC_OK;
}
