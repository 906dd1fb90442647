#include "passes/specialize.h"

#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"

void spec_values_free(spec_values *v)
{
    if (!v || !v->g) {
        if (v)
            memset(v, 0, sizeof *v);
        return;
    }
    const graph *g = v->g;
    if (v->owned)
        for (int t = 0; t < g->n_tensors; t++)
            free(v->owned[t]);
    if (v->captured)
        for (int i = 0; i < g->n_inputs; i++)
            free(v->captured[i]);
    free(v->owned);
    free(v->captured);
    free(v->inputs_key);
    free(v->vals);
    free(v->is_const);
    free(v->folded);
    free(v->run_nodes);
    memset(v, 0, sizeof *v);
}

static ssdc_status bind_inputs(spec_values *v, const graph_value *inputs, ssdc_error *err)
{
    const graph *g = v->g;
    for (int i = 0; i < g->n_inputs; i++) {
        const graph_tensor *t = &g->tensors[g->inputs[i]];
        const graph_value *x = &inputs[i];
        if (t->dtype != GRAPH_DT_UNDEFINED && x->dtype != t->dtype)
            return ssdc_fail(err, SSDC_ERR_SHAPE, "input '%s': expected dtype %s, got %s",
                             t->name, graph_dtype_name(t->dtype), graph_dtype_name(x->dtype));
        if (!graph_dtype_supported(x->dtype))
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "input '%s': dtype %s is not supported",
                             t->name, graph_dtype_name(x->dtype));
        bool ok = t->shape.rank < 0 || t->shape.rank == x->rank;
        for (int d = 0; ok && d < x->rank; d++)
            if (x->dims[d] < 0 || (t->shape.rank >= 0 && t->shape.dims[d] >= 0 &&
                                   t->shape.dims[d] != x->dims[d]))
                ok = false;
        if (x->rank < 0 || x->rank > GRAPH_MAX_RANK)
            ok = false;
        if (!ok) {
            char want[160], got[160];
            graph_shape gs;
            graph_shape_init(&gs, x->rank < 0 ? 0 : x->rank, x->dims);
            graph_shape_format(&t->shape, want, sizeof want);
            graph_shape_format(&gs, got, sizeof got);
            return ssdc_fail(err, SSDC_ERR_SHAPE, "input '%s': expected shape %s, got %s",
                             t->name, want, got);
        }
        graph_value *pv = &v->vals[g->inputs[i]];
        graph_value_set_shape(pv, x->dtype, x->rank, x->dims);
        pv->data = x->data;
    }
    return SSDC_OK;
}

/* Marks in want[] the graph inputs that tensor t's value depends on. */
static void upstream_inputs(const graph *g, int t, bool *want, bool *visited)
{
    if (t < 0 || visited[t])
        return;
    visited[t] = true;
    const graph_tensor *tt = &g->tensors[t];
    if (tt->kind == GRAPH_TENSOR_INPUT) {
        for (int gi = 0; gi < g->n_inputs; gi++)
            if (g->inputs[gi] == t)
                want[gi] = true;
        return;
    }
    if (tt->producer < 0)
        return;
    const graph_node *n = &g->nodes[tt->producer];
    for (int i = 0; i < n->n_inputs; i++)
        upstream_inputs(g, n->inputs[i], want, visited);
}

/* One analysis treating the graph inputs marked in capture[] as constants.
 * When a shape depends on the value of caller-fed inputs not yet captured,
 * marks them in capture[], sets *retry and fails. */
static ssdc_status analyze_once(const graph *g, const graph_value *inputs, const spec_options *opt,
                                bool *capture, bool *retry, spec_values *v, ssdc_error *err)
{
    *retry = false;
    memset(v, 0, sizeof *v);
    v->g = g;
    ssdc_status st = SSDC_OK;
    int nn = g->n_nodes, nt = g->n_tensors;
    int64_t limit = opt->memory_limit > 0 ? opt->memory_limit : SSDC_DEFAULT_MEMORY_LIMIT;
    size_t n1 = (size_t)(nn ? nn : 1), t1 = (size_t)(nt ? nt : 1);
    size_t i1 = (size_t)(g->n_inputs ? g->n_inputs : 1);
    int *order = malloc(n1 * sizeof *order);
    v->run_nodes = malloc(n1 * sizeof *v->run_nodes);
    v->folded = calloc(n1, sizeof *v->folded);
    v->vals = calloc(t1, sizeof *v->vals);
    v->is_const = calloc(t1, sizeof *v->is_const);
    v->owned = calloc(t1, sizeof *v->owned);
    v->inputs_key = calloc(i1, sizeof *v->inputs_key);
    v->captured = calloc(i1, sizeof *v->captured);
    int max_io = graph_max_node_io(g);
    graph_dtype *idt = malloc((size_t)max_io * sizeof *idt);
    graph_shape *ish = malloc((size_t)max_io * sizeof *ish);
    const graph_value **ival = malloc((size_t)max_io * sizeof *ival);
    graph_dtype *odt = malloc((size_t)max_io * sizeof *odt);
    graph_shape *osh = malloc((size_t)max_io * sizeof *osh);
    graph_value *vin = malloc((size_t)max_io * sizeof *vin);
    graph_value *vout = malloc((size_t)max_io * sizeof *vout);
    if (!order || !v->run_nodes || !v->folded || !v->vals || !v->is_const || !v->owned ||
        !v->inputs_key || !v->captured || !idt || !ish || !ival || !odt || !osh || !vin || !vout) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    if ((st = graph_topo_order(g, order, err)))
        goto done;
    if ((st = bind_inputs(v, inputs, err)))
        goto done;
    for (int i = 0; i < g->n_inputs; i++) {
        v->inputs_key[i] = v->vals[g->inputs[i]];
        if (!capture[i])
            continue;
        /* the shapes depend on this caller-fed value: keep a copy */
        graph_value *x = &v->vals[g->inputs[i]];
        size_t bytes = graph_value_bytes(x);
        v->captured[i] = malloc(bytes ? bytes : 1);
        if (!v->captured[i]) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
            goto done;
        }
        if (bytes)
            memcpy(v->captured[i], x->data, bytes);
        x->data = v->captured[i];
        v->is_const[g->inputs[i]] = true;
    }
    for (int t = 0; t < nt; t++) {
        const graph_tensor *tt = &g->tensors[t];
        if (tt->kind == GRAPH_TENSOR_INITIALIZER) {
            graph_value_set_shape(&v->vals[t], tt->dtype, tt->shape.rank, tt->shape.dims);
            v->vals[t].data = tt->data;
            v->is_const[t] = true;
        }
    }

    int64_t const_bytes = 0;
    for (int k = 0; k < nn; k++) {
        int ni = order[k];
        const graph_node *n = &g->nodes[ni];
        const graph_op_schema *s = graph_op_schema_get(n->op);
        bool all_const = true;
        for (int i = 0; i < n->n_inputs; i++) {
            int t = n->inputs[i];
            if (t < 0) {
                idt[i] = GRAPH_DT_UNDEFINED;
                graph_shape_unknown(&ish[i]);
                ival[i] = NULL;
                continue;
            }
            const graph_value *x = &v->vals[t];
            idt[i] = x->dtype;
            graph_shape_init(&ish[i], x->rank, x->dims);
            ival[i] = v->is_const[t] ? x : NULL;
            if (!ival[i])
                all_const = false;
        }
        if ((st = graph_infer_node(g, n, idt, ish, ival, odt, osh, err)))
            goto done;
        for (int o = 0; o < n->n_outputs; o++) {
            int t = n->outputs[o];
            if (t < 0)
                continue;
            int64_t numel;
            if (!graph_shape_is_static(&osh[o])) {
                /* does the shape wait for the value of caller-fed inputs? */
                bool *visited = calloc(t1, sizeof *visited);
                bool *want = calloc(i1, sizeof *want);
                bool added = false;
                for (int i = 0; visited && want && i < n->n_inputs; i++)
                    if ((s->value_inputs >> i & 1u) && n->inputs[i] >= 0 && !ival[i])
                        upstream_inputs(g, n->inputs[i], want, visited);
                for (int gi = 0; want && gi < g->n_inputs; gi++)
                    if (want[gi] && !capture[gi])
                        capture[gi] = added = true;
                free(visited);
                free(want);
                if (added) {
                    *retry = true;
                    st = SSDC_ERR_SHAPE;
                    goto done;
                }
                char buf[160];
                graph_shape_format(&osh[o], buf, sizeof buf);
                st = ssdc_fail(err, SSDC_ERR_SHAPE,
                               "node '%s' (%s): cannot determine the shape of output '%s' "
                               "(got %s); it depends on values known only at run time",
                               n->name, n->op_type, g->tensors[t].name, buf);
                goto done;
            }
            if ((st = graph_shape_numel(&osh[o], &numel, err))) {
                ssdc_error_prefix(err, "node '%s' (%s): output '%s'", n->name, n->op_type,
                                  g->tensors[t].name);
                goto done;
            }
            if (!graph_dtype_supported(odt[o])) {
                st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "node '%s' (%s): output '%s' has dtype %s",
                               n->name, n->op_type, g->tensors[t].name, graph_dtype_name(odt[o]));
                goto done;
            }
            graph_value_set_shape(&v->vals[t], odt[o], osh[o].rank, osh[o].dims);
        }
        bool foldable = (all_const || s->shape_only) && n->op != GRAPH_OP_DROPOUT;
        if (!foldable) {
            v->run_nodes[v->n_run++] = ni;
            continue;
        }
        /* evaluate now: the outputs become constants */
        v->folded[ni] = true;
        for (int o = 0; o < n->n_outputs; o++) {
            int t = n->outputs[o];
            if (t < 0)
                continue;
            size_t bytes = graph_value_bytes(&v->vals[t]);
            const_bytes += (int64_t)bytes;
            if (const_bytes > limit) {
                st = ssdc_fail(err, SSDC_ERR_LIMIT,
                               "node '%s' (%s): constant outputs exceed the memory limit of %lld "
                               "bytes",
                               n->name, n->op_type, (long long)limit);
                goto done;
            }
            v->owned[t] = malloc(bytes ? bytes : 1);
            if (!v->owned[t]) {
                st = ssdc_fail(err, SSDC_ERR_NOMEM, "node '%s' (%s): out of memory", n->name,
                               n->op_type);
                goto done;
            }
            v->vals[t].data = v->owned[t];
            v->is_const[t] = true;
        }
        graph_node_values(v->vals, n, vin, vout);
        if ((st = opt->eval(opt->eval_ctx, g, ni, vin, n->n_inputs, vout, n->n_outputs, err)))
            goto done;
    }
    v->constant_bytes = (size_t)const_bytes;
done:
    free(order), free(idt), free(ish), free(ival), free(odt), free(osh), free(vin), free(vout);
    if (st)
        spec_values_free(v);
    return st;
}

ssdc_status spec_analyze(const graph *g, const graph_value *inputs, const spec_options *opt,
                         spec_values *out, ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    bool *capture = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *capture);
    if (!capture)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
    bool retry = true;
    ssdc_status st = SSDC_OK;
    /* each retry captures at least one more input */
    for (int attempt = 0; retry && attempt <= g->n_inputs; attempt++)
        st = analyze_once(g, inputs, opt, capture, &retry, out, err);
    free(capture);
    return st;
}

bool spec_values_match(const spec_values *v, const graph_value *inputs)
{
    const graph *g = v->g;
    for (int i = 0; i < g->n_inputs; i++) {
        const graph_value *a = &v->inputs_key[i], *b = &inputs[i];
        if (a->dtype != b->dtype || a->rank != b->rank)
            return false;
        for (int d = 0; d < a->rank; d++)
            if (a->dims[d] != b->dims[d])
                return false;
        if (v->captured[i] && memcmp(v->captured[i], b->data, graph_value_bytes(b)) != 0)
            return false;
    }
    return true;
}

/* ---- the static graph ---- */

void spec_inputs_free(const graph *g, graph_value *v)
{
    if (!v)
        return;
    for (int i = 0; i < g->n_inputs; i++)
        free(v[i].data);
    free(v);
}

ssdc_status spec_make_inputs(const graph *g, const spec_inputs *in, graph_value **out,
                             ssdc_error *err)
{
    int n = g->n_inputs;
    *out = NULL;
    graph_value *v = calloc((size_t)(n ? n : 1), sizeof *v);
    if (!v)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    ssdc_status st = SSDC_OK;
    int64_t batch = in->batch > 0 ? in->batch : 1;
    bool any_symbolic = false;
    for (int i = 0; i < n && !st; i++) {
        const graph_tensor *t = &g->tensors[g->inputs[i]];
        if (in->values) {
            v[i] = in->values[i];
            size_t bytes = graph_value_bytes(&in->values[i]);
            v[i].data = malloc(bytes ? bytes : 1);
            if (!v[i].data) {
                st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
                break;
            }
            if (bytes)
                memcpy(v[i].data, in->values[i].data, bytes);
            continue;
        }
        if (t->dtype == GRAPH_DT_UNDEFINED || t->shape.rank < 0) {
            st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                           "input '%s' has an unknown dtype or rank; code generation needs "
                           "concrete shapes", t->name);
            break;
        }
        int64_t dims[GRAPH_MAX_RANK];
        for (int d = 0; d < t->shape.rank && !st; d++) {
            dims[d] = t->shape.dims[d];
            if (dims[d] < 0 && d == 0)
                dims[d] = batch;
            else if (dims[d] < 0)
                st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                               "input '%s' has an unknown dimension %d (%s); code generation "
                               "needs concrete shapes (only dimension 0 takes --batch)",
                               t->name, d, t->shape.sym[d][0] ? t->shape.sym[d] : "?");
        }
        if (st)
            break;
        if (t->shape.rank > 0 && t->shape.dims[0] < 0)
            any_symbolic = true;
        graph_value_set_shape(&v[i], t->dtype, t->shape.rank, dims);
        if (v[i].numel > ((int64_t)1 << 28)) {
            st = ssdc_fail(err, SSDC_ERR_LIMIT, "input '%s' has %lld elements", t->name,
                           (long long)v[i].numel);
            break;
        }
        size_t bytes = graph_value_bytes(&v[i]);
        v[i].data = calloc(1, bytes ? bytes : 1);
        if (!v[i].data)
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (!st && !in->values && batch > 1 && !any_symbolic)
        st = ssdc_fail(err, SSDC_ERR_ARG,
                       "no input has a symbolic dimension 0 (the batch); --batch %lld does not "
                       "apply", (long long)batch);
    if (st) {
        spec_inputs_free(g, v);
        return st;
    }
    *out = v;
    return SSDC_OK;
}

bool spec_tensor_is_const(const graph *g, int t)
{
    const graph_tensor *tt = &g->tensors[t];
    return tt->kind == GRAPH_TENSOR_INITIALIZER || (tt->kind == GRAPH_TENSOR_INPUT && tt->data);
}

static void *dup_value(const graph_value *v)
{
    size_t bytes = graph_value_bytes(v);
    void *p = malloc(bytes ? bytes : 1);
    if (p && bytes)
        memcpy(p, v->data, bytes);
    return p;
}

ssdc_status passes_specialize(graph *g, const spec_inputs *in, const spec_options *opt,
                              spec_stats *stats, ssdc_error *err)
{
    graph_value *inputs = NULL;
    spec_values v;
    memset(&v, 0, sizeof v);
    ssdc_status st = spec_make_inputs(g, in, &inputs, err);
    if (!st)
        st = spec_analyze(g, inputs, opt, &v, err);
    spec_inputs_free(g, inputs);
    if (!st)
        st = passes_specialize_apply(g, in->values != NULL, &v, stats, err);
    else
        memset(stats, 0, sizeof *stats);
    spec_values_free(&v);
    return st;
}

ssdc_status passes_specialize_apply(graph *g, bool from_values, const spec_values *sv,
                                    spec_stats *stats, ssdc_error *err)
{
    memset(stats, 0, sizeof *stats);
    stats->from_values = from_values;
    const spec_values v = *sv;
    ssdc_status st = SSDC_OK;
    int nn = g->n_nodes, nt = g->n_tensors;
    int *order = malloc((size_t)(nn ? nn : 1) * sizeof *order);
    void **data = calloc((size_t)(nt ? nt : 1), sizeof *data);
    if (!order || !data) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < g->n_inputs && !st; i++) {
        int t = g->inputs[i];
        if (!v.captured[i])
            continue;
        if (!from_values) {
            st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                           "input '%s' decides the shapes of the model (its value is read "
                           "when planning); generated code needs shapes fixed in advance",
                           g->tensors[t].name);
            break;
        }
        if (!(data[t] = dup_value(&v.vals[t])))
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        stats->n_specialised++;
    }
    for (int t = 0; t < nt && !st; t++) {
        const graph_tensor *tt = &g->tensors[t];
        if (tt->kind == GRAPH_TENSOR_INTERMEDIATE && tt->producer >= 0 && v.folded[tt->producer] &&
            !(data[t] = dup_value(&v.vals[t])))
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    }
    if (st)
        goto done;
    /* the nodes left, in execution order; the folded ones go (only the
     * allocations before anything changes can fail) */
    bool *remove = calloc((size_t)(nn ? nn : 1), sizeof *remove);
    if (!remove) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    {
        int k = 0;
        for (int r = 0; r < v.n_run; r++)
            order[k++] = v.run_nodes[r];
        for (int i = 0; i < nn; i++)
            if (v.folded[i])
                order[k++] = i;
        for (int i = v.n_run; i < nn; i++)
            remove[i] = true;
    }
    if ((st = graph_reorder_nodes(g, order, err))) {
        free(remove);
        goto done;
    }
    graph_remove_nodes(g, remove);
    free(remove);
    stats->n_folded = nn - v.n_run;
    for (int t = 0; t < nt; t++) {
        graph_tensor *tt = &g->tensors[t];
        const graph_value *x = &v.vals[t];
        if (tt->kind != GRAPH_TENSOR_INITIALIZER && x->dtype != GRAPH_DT_UNDEFINED) {
            tt->dtype = x->dtype;
            graph_shape_init(&tt->shape, x->rank, x->dims);
        }
        if (data[t]) {
            free(tt->data);
            tt->data = data[t];
            data[t] = NULL;
            if (tt->kind == GRAPH_TENSOR_INTERMEDIATE)
                tt->kind = GRAPH_TENSOR_INITIALIZER;
        }
    }
done:
    if (data)
        for (int t = 0; t < nt; t++)
            free(data[t]);
    free(data);
    free(order);
    return st;
}
