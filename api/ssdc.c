/* libssdc: the public API (include/ssdc/ssdc.h), a thin layer over the
 * internal modules.  Every function checks its arguments, translates the
 * public option structs into the internal ones and passes errors through
 * unchanged.  Nothing here prints, exits or aborts. */
#include "include/ssdc/ssdc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "frontend/dataset.h"
#include "frontend/onnx_export.h"
#include "frontend/onnx_import.h"
#include "frontend/zoo.h"
#include "graph/graph.h"
#include "graph/ops.h"
#include "passes/inference.h"
#include "passes/ssd.h"
#include "runtime/exec.h"
#include "runtime/kernel.h"
#include "runtime/train.h"

/* The public enums mirror internal ones value for value. */
_Static_assert(SSDC_DTYPE_FLOAT == (int)GRAPH_DT_FLOAT && SSDC_DTYPE_INT64 == (int)GRAPH_DT_INT64 &&
                   SSDC_DTYPE_DOUBLE == (int)GRAPH_DT_DOUBLE &&
                   SSDC_DTYPE_BFLOAT16 == (int)GRAPH_DT_BFLOAT16,
               "ssdc_dtype must equal graph_dtype");
_Static_assert(SSDC_MAX_RANK == GRAPH_MAX_RANK, "SSDC_MAX_RANK must equal GRAPH_MAX_RANK");
_Static_assert(SSDC_OPTIM_SGD == (int)OPTIM_SGD && SSDC_OPTIM_ADAM == (int)OPTIM_ADAM &&
                   SSDC_OPTIM_ADAMW == (int)OPTIM_ADAMW,
               "ssdc_optimizer must equal optim_kind");
_Static_assert(SSDC_DISTILL_SSD == (int)SSD_MODE_SSD &&
                   SSDC_DISTILL_ALL_REPS_COSINE == (int)SSD_MODE_ALL_REPS_COSINE &&
                   SSDC_DISTILL_SELF_DISTILL == (int)SSD_MODE_SELF_DISTILL &&
                   SSDC_DISTILL_CE == (int)SSD_MODE_CE,
               "ssdc_distill_mode must equal ssd_mode");
_Static_assert(SSDC_NORM_NONE == (int)DATASET_NORM_NONE &&
                   SSDC_NORM_ZNORM_SAMPLE == (int)DATASET_NORM_ZNORM_SAMPLE &&
                   SSDC_NORM_ZNORM_DATASET == (int)DATASET_NORM_ZNORM_DATASET,
               "ssdc_normalize must equal dataset_norm_mode");

struct ssdc_model {
    graph *g;
};

struct ssdc_session {
    graph *g;            /* the session's own snapshot of the model */
    rt_session *rs;
    int n_inputs;
    graph_value *in;     /* per input: shape + data (the caller's or conv[i]) */
    void **conv;         /* per input: converted data when the model's dtype is not float */
    size_t *conv_cap;    /* bytes */
    float **out_conv;    /* per output: float copy of a non-float output */
    size_t *out_cap;     /* floats */
    bool ran;
};

struct ssdc_dataset {
    dataset_pair p;
};

/* Internal code may read err back (ssdc_error_prefix returns err->code), so
 * a caller's NULL err is replaced by a local one. */
#define LOCAL_ERR(err)                                                                         \
    ssdc_error err_local_;                                                                     \
    if (!(err))                                                                                \
    (err) = &err_local_

#define ARG_FAIL(err, ...) ssdc_fail(err, SSDC_ERR_ARG, __VA_ARGS__)
#define NOMEM(err) ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory")

/* ------------------------------------------------------------------ */
/* library                                                             */
/* ------------------------------------------------------------------ */

const char *ssdc_version(void)
{
    return SSDC_VERSION_STRING;
}

void ssdc_free(void *p)
{
    free(p);
}

const char *ssdc_dtype_name(ssdc_dtype dtype)
{
    return graph_dtype_name((graph_dtype)dtype);
}

/* ------------------------------------------------------------------ */
/* models                                                              */
/* ------------------------------------------------------------------ */

static ssdc_status wrap_graph(graph *g, ssdc_model **out, ssdc_error *err)
{
    ssdc_model *m = calloc(1, sizeof *m);
    if (!m) {
        graph_free(g);
        return NOMEM(err);
    }
    m->g = g;
    *out = m;
    return SSDC_OK;
}

/* Shape inference after import, so inputs/outputs report their shapes. */
static ssdc_status finish_import(graph *g, const char *source, ssdc_model **out, ssdc_error *err)
{
    ssdc_status st = graph_infer_shapes(g, err);
    if (st) {
        ssdc_error_prefix(err, "%s", source);
        graph_free(g);
        return st;
    }
    return wrap_graph(g, out, err);
}

ssdc_status ssdc_model_import(const char *path, ssdc_model **out, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!out)
        return ARG_FAIL(err, "ssdc_model_import: out is NULL");
    *out = NULL;
    if (!path)
        return ARG_FAIL(err, "ssdc_model_import: path is NULL");
    graph *g = NULL;
    ssdc_status st = onnx_import_file(path, &g, err);
    if (st)
        return st;
    return finish_import(g, path, out, err);
}

ssdc_status ssdc_model_import_buffer(const void *data, size_t len, const char *name,
                                     ssdc_model **out, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!out)
        return ARG_FAIL(err, "ssdc_model_import_buffer: out is NULL");
    *out = NULL;
    if (!data && len)
        return ARG_FAIL(err, "ssdc_model_import_buffer: data is NULL");
    if (!name)
        name = "<buffer>";
    graph *g = NULL;
    ssdc_status st = onnx_import_buffer(data ? data : "", len, name, &g, err);
    if (st)
        return st;
    return finish_import(g, name, out, err);
}

ssdc_status ssdc_model_builtin_cnn1d(int64_t channels, int64_t length, int n_classes,
                                     float dropout, uint64_t seed, ssdc_model **out,
                                     ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!out)
        return ARG_FAIL(err, "ssdc_model_builtin_cnn1d: out is NULL");
    *out = NULL;
    if (channels < 1 || length < 1 || n_classes < 2)
        return ARG_FAIL(err,
                        "ssdc_model_builtin_cnn1d: expected channels >= 1, length >= 1 and at "
                        "least 2 classes, got %lld, %lld, %d",
                        (long long)channels, (long long)length, n_classes);
    if (!(dropout >= 0 && dropout < 1))
        return ARG_FAIL(err, "ssdc_model_builtin_cnn1d: dropout %g is not in [0, 1)",
                        (double)dropout);
    graph *g = NULL;
    ssdc_status st = zoo_cnn1d(channels, length, n_classes, dropout, seed, &g, err);
    if (st)
        return st;
    return finish_import(g, "built-in cnn1d", out, err);
}

ssdc_status ssdc_model_clone(const ssdc_model *m, ssdc_model **out, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!out)
        return ARG_FAIL(err, "ssdc_model_clone: out is NULL");
    *out = NULL;
    if (!m)
        return ARG_FAIL(err, "ssdc_model_clone: model is NULL");
    graph *g = graph_clone(m->g);
    if (!g)
        return NOMEM(err);
    return wrap_graph(g, out, err);
}

void ssdc_model_free(ssdc_model *m)
{
    if (!m)
        return;
    graph_free(m->g);
    free(m);
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* FLOPs and arena with every symbolic dimension set to 1 (as ssdc inspect). */
static ssdc_status per_sample_plan(const graph *g, int64_t *flops, int64_t *arena,
                                   ssdc_error *err)
{
    graph_value *in = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *in);
    if (!in)
        return NOMEM(err);
    ssdc_status st = SSDC_OK;
    for (int i = 0; i < g->n_inputs && !st; i++) {
        const graph_tensor *t = &g->tensors[g->inputs[i]];
        if (t->shape.rank < 0) {
            st = ssdc_fail(err, SSDC_ERR_SHAPE, "input '%s' has no declared shape", t->name);
            break;
        }
        int64_t dims[GRAPH_MAX_RANK];
        for (int d = 0; d < t->shape.rank; d++)
            dims[d] = t->shape.dims[d] >= 0 ? t->shape.dims[d] : 1;
        graph_value_set_shape(&in[i], t->dtype, t->shape.rank, dims);
        if (in[i].numel > SSDC_MAX_TENSOR_ELEMS) {
            st = ssdc_fail(err, SSDC_ERR_LIMIT, "input '%s' is too large", t->name);
            break;
        }
        in[i].data = calloc((size_t)in[i].numel + 1, graph_dtype_size(t->dtype) + 1);
        if (!in[i].data)
            st = NOMEM(err);
    }
    rt_plan *p = NULL;
    if (!st)
        st = rt_plan_create(g, in, NULL, &p, err);
    if (!st) {
        int64_t total = 0;
        for (int n = 0; n < g->n_nodes; n++)
            total += rt_plan_node_flops(p, n);
        rt_plan_stats stats;
        rt_plan_get_stats(p, &stats);
        *flops = total;
        *arena = (int64_t)stats.arena_bytes;
    }
    rt_plan_free(p);
    for (int i = 0; i < g->n_inputs; i++)
        free(in[i].data);
    free(in);
    return st;
}

ssdc_status ssdc_model_get_info(const ssdc_model *m, ssdc_model_info *info, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m || !info)
        return ARG_FAIL(err, "ssdc_model_get_info: %s is NULL", m ? "info" : "model");
    const graph *g = m->g;
    memset(info, 0, sizeof *info);
    info->name = str_or_empty(g->name);
    info->source = str_or_empty(g->source);
    info->producer_name = str_or_empty(g->producer_name);
    info->producer_version = str_or_empty(g->producer_version);
    info->ir_version = g->ir_version;
    info->opset = g->opset;
    info->n_inputs = g->n_inputs;
    info->n_outputs = g->n_outputs;
    info->n_nodes = g->n_nodes;
    for (int t = 0; t < g->n_tensors; t++) {
        const graph_tensor *tt = &g->tensors[t];
        if (tt->kind != GRAPH_TENSOR_INITIALIZER)
            continue;
        int64_t n = 1;
        for (int d = 0; d < tt->shape.rank; d++)
            n *= tt->shape.dims[d];
        info->n_initializers++;
        info->param_bytes += n * (int64_t)graph_dtype_size(tt->dtype);
        if (tt->dtype == GRAPH_DT_FLOAT || tt->dtype == GRAPH_DT_DOUBLE)
            info->n_params += n;
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (!graph_op_schema_get(g->nodes[i].op) || !rt_kernel_get(g->nodes[i].op))
            info->n_unsupported++;
    info->flops_per_sample = -1;
    info->arena_bytes_per_sample = -1;
    if (!info->n_unsupported) {
        int64_t flops = 0, arena = 0;
        ssdc_error ignored;
        if (per_sample_plan(g, &flops, &arena, &ignored) == SSDC_OK) {
            info->flops_per_sample = flops;
            info->arena_bytes_per_sample = arena;
        }
    }
    return SSDC_OK;
}

static void fill_tensor_info(const graph_tensor *t, ssdc_tensor_info *info)
{
    memset(info, 0, sizeof *info);
    info->name = t->name;
    info->dtype = (ssdc_dtype)t->dtype;
    info->rank = t->shape.rank;
    for (int d = 0; d < SSDC_MAX_RANK; d++) {
        bool in_rank = d < t->shape.rank;
        info->dims[d] = in_rank ? t->shape.dims[d] : 0;
        info->dim_names[d] = in_rank && t->shape.dims[d] < 0 ? t->shape.sym[d] : "";
    }
}

ssdc_status ssdc_model_input(const ssdc_model *m, int i, ssdc_tensor_info *info, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m || !info)
        return ARG_FAIL(err, "ssdc_model_input: %s is NULL", m ? "info" : "model");
    if (i < 0 || i >= m->g->n_inputs)
        return ARG_FAIL(err, "ssdc_model_input: the model has %d inputs, asked for input %d",
                        m->g->n_inputs, i);
    fill_tensor_info(&m->g->tensors[m->g->inputs[i]], info);
    return SSDC_OK;
}

ssdc_status ssdc_model_output(const ssdc_model *m, int i, ssdc_tensor_info *info,
                              ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m || !info)
        return ARG_FAIL(err, "ssdc_model_output: %s is NULL", m ? "info" : "model");
    if (i < 0 || i >= m->g->n_outputs)
        return ARG_FAIL(err, "ssdc_model_output: the model has %d outputs, asked for output %d",
                        m->g->n_outputs, i);
    fill_tensor_info(&m->g->tensors[m->g->outputs[i]], info);
    return SSDC_OK;
}

ssdc_status ssdc_model_reinit(ssdc_model *m, ssdc_init how, uint64_t seed, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m)
        return ARG_FAIL(err, "ssdc_model_reinit: model is NULL");
    switch (how) {
    case SSDC_INIT_FRESH: return train_init_fresh(m->g, seed, err);
    case SSDC_INIT_STUDENT: return train_init_student(m->g, seed, err);
    }
    return ARG_FAIL(err, "ssdc_model_reinit: unknown initialisation %d", (int)how);
}

static const onnx_export_options export_options = {.producer_version = SSDC_VERSION_STRING};

ssdc_status ssdc_model_export(const ssdc_model *m, const char *path, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m || !path)
        return ARG_FAIL(err, "ssdc_model_export: %s is NULL", m ? "path" : "model");
    return onnx_export_file(m->g, path, &export_options, err);
}

ssdc_status ssdc_model_export_buffer(const ssdc_model *m, void **data, size_t *len,
                                     ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m || !data || !len)
        return ARG_FAIL(err, "ssdc_model_export_buffer: %s is NULL",
                        !m ? "model" : !data ? "data" : "len");
    uint8_t *bytes = NULL;
    *data = NULL;
    *len = 0;
    ssdc_status st = onnx_export_buffer(m->g, &export_options, &bytes, len, err);
    if (!st)
        *data = bytes;
    return st;
}

/* ------------------------------------------------------------------ */
/* sessions                                                            */
/* ------------------------------------------------------------------ */

ssdc_status ssdc_session_create(const ssdc_model *m, const ssdc_session_options *opt,
                                ssdc_session **out, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!out)
        return ARG_FAIL(err, "ssdc_session_create: out is NULL");
    *out = NULL;
    if (!m)
        return ARG_FAIL(err, "ssdc_session_create: model is NULL");
    ssdc_session_options o = {0};
    if (opt)
        o = *opt;
    if (o.memory_limit < 0)
        return ARG_FAIL(err, "ssdc_session_create: memory_limit %lld is negative",
                        (long long)o.memory_limit);
    ssdc_session *s = calloc(1, sizeof *s);
    if (!s)
        return NOMEM(err);
    ssdc_status st = SSDC_OK;
    s->g = graph_clone(m->g);
    if (!s->g) {
        st = NOMEM(err);
        goto fail;
    }
    /* As `ssdc run`: Dropout/Identity removed and BatchNormalization folded,
     * unless Dropout is to stay active. */
    if (!o.dropout_active && (st = passes_optimize_inference(s->g, NULL, err))) {
        ssdc_error_prefix(err, "%s", str_or_empty(s->g->source));
        goto fail;
    }
    s->n_inputs = s->g->n_inputs;
    int n_in = s->n_inputs ? s->n_inputs : 1, n_out = s->g->n_outputs ? s->g->n_outputs : 1;
    s->in = calloc((size_t)n_in, sizeof *s->in);
    s->conv = calloc((size_t)n_in, sizeof *s->conv);
    s->conv_cap = calloc((size_t)n_in, sizeof *s->conv_cap);
    s->out_conv = calloc((size_t)n_out, sizeof *s->out_conv);
    s->out_cap = calloc((size_t)n_out, sizeof *s->out_cap);
    if (!s->in || !s->conv || !s->conv_cap || !s->out_conv || !s->out_cap) {
        st = NOMEM(err);
        goto fail;
    }
    rt_options ro = {.seed = o.seed, .training = o.dropout_active, .memory_limit = o.memory_limit};
    if ((st = rt_session_create(s->g, &ro, &s->rs, err)))
        goto fail;
    *out = s;
    return SSDC_OK;
fail:
    ssdc_session_free(s);
    return st;
}

void ssdc_session_free(ssdc_session *s)
{
    if (!s)
        return;
    rt_session_free(s->rs);
    if (s->conv)
        for (int i = 0; i < s->n_inputs; i++)
            free(s->conv[i]);
    if (s->out_conv && s->g)
        for (int i = 0; i < s->g->n_outputs; i++)
            free(s->out_conv[i]);
    free(s->in);
    free(s->conv);
    free(s->conv_cap);
    free(s->out_conv);
    free(s->out_cap);
    graph_free(s->g);
    free(s);
}

/* Writes float x[n] as dtype dt into dst. */
static void convert_from_float(void *dst, graph_dtype dt, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        switch (dt) {
        case GRAPH_DT_DOUBLE: ((double *)dst)[i] = v; break;
        case GRAPH_DT_INT64: ((int64_t *)dst)[i] = (int64_t)v; break;
        case GRAPH_DT_INT32: ((int32_t *)dst)[i] = (int32_t)v; break;
        case GRAPH_DT_INT16: ((int16_t *)dst)[i] = (int16_t)v; break;
        case GRAPH_DT_INT8: ((int8_t *)dst)[i] = (int8_t)v; break;
        case GRAPH_DT_UINT8: ((uint8_t *)dst)[i] = (uint8_t)v; break;
        case GRAPH_DT_BOOL: ((uint8_t *)dst)[i] = v != 0; break;
        default: break;
        }
    }
}

static bool convertible(graph_dtype dt)
{
    switch (dt) {
    case GRAPH_DT_FLOAT:
    case GRAPH_DT_DOUBLE:
    case GRAPH_DT_INT64:
    case GRAPH_DT_INT32:
    case GRAPH_DT_INT16:
    case GRAPH_DT_INT8:
    case GRAPH_DT_UINT8:
    case GRAPH_DT_BOOL: return true;
    default: return false;
    }
}

ssdc_status ssdc_session_run(ssdc_session *s, const ssdc_tensor *inputs, int n_inputs,
                             ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!s)
        return ARG_FAIL(err, "ssdc_session_run: session is NULL");
    if (n_inputs != s->n_inputs)
        return ARG_FAIL(err, "ssdc_session_run: the model has %d inputs, %d given", s->n_inputs,
                        n_inputs);
    if (n_inputs && !inputs)
        return ARG_FAIL(err, "ssdc_session_run: inputs is NULL");
    s->ran = false;
    for (int i = 0; i < n_inputs; i++) {
        const ssdc_tensor *x = &inputs[i];
        const graph_tensor *t = &s->g->tensors[s->g->inputs[i]];
        if (x->rank < 0 || x->rank > SSDC_MAX_RANK)
            return ARG_FAIL(err, "ssdc_session_run: input %d ('%s') has rank %d, expected 0..%d",
                            i, t->name, x->rank, SSDC_MAX_RANK);
        int64_t numel = 1;
        for (int d = 0; d < x->rank; d++) {
            if (x->dims[d] < 0 || graph_mul_overflow(numel, x->dims[d], &numel) ||
                numel > SSDC_MAX_TENSOR_ELEMS)
                return ARG_FAIL(err,
                                "ssdc_session_run: input %d ('%s'): dimension %d is %lld (negative "
                                "or too large)",
                                i, t->name, d, (long long)x->dims[d]);
        }
        if (numel && !x->data)
            return ARG_FAIL(err, "ssdc_session_run: input %d ('%s') has no data", i, t->name);
        if (!convertible(t->dtype))
            return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                             "%s: input '%s' is %s, which cannot be fed from floats",
                             str_or_empty(s->g->source), t->name, graph_dtype_name(t->dtype));
        graph_value *v = &s->in[i];
        graph_value_set_shape(v, t->dtype, x->rank, x->dims);
        if (t->dtype == GRAPH_DT_FLOAT) {
            v->data = (void *)x->data; /* read only */
            continue;
        }
        size_t bytes = (size_t)numel * graph_dtype_size(t->dtype);
        if (bytes > s->conv_cap[i] || !s->conv[i]) {
            void *p = realloc(s->conv[i], bytes ? bytes : 1);
            if (!p)
                return NOMEM(err);
            s->conv[i] = p;
            s->conv_cap[i] = bytes;
        }
        convert_from_float(s->conv[i], t->dtype, x->data, numel);
        v->data = s->conv[i];
    }
    ssdc_status st = rt_session_run(s->rs, s->in, err);
    if (st) {
        if (s->g->source && s->g->source[0])
            ssdc_error_prefix(err, "%s", s->g->source);
        return st;
    }
    s->ran = true;
    return SSDC_OK;
}

ssdc_status ssdc_session_output(ssdc_session *s, int i, ssdc_tensor *out, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!s || !out)
        return ARG_FAIL(err, "ssdc_session_output: %s is NULL", s ? "out" : "session");
    if (!s->ran)
        return ARG_FAIL(err, "ssdc_session_output: no successful ssdc_session_run yet");
    if (i < 0 || i >= s->g->n_outputs)
        return ARG_FAIL(err, "ssdc_session_output: the model has %d outputs, asked for output %d",
                        s->g->n_outputs, i);
    const graph_value *v = rt_session_output(s->rs, i);
    if (!v)
        return ssdc_fail(err, SSDC_ERR_INVALID, "ssdc_session_output: output %d was not computed",
                         i);
    memset(out, 0, sizeof *out);
    out->rank = v->rank;
    for (int d = 0; d < v->rank && d < SSDC_MAX_RANK; d++)
        out->dims[d] = v->dims[d];
    if (v->dtype == GRAPH_DT_FLOAT) {
        out->data = v->data;
        return SSDC_OK;
    }
    if (!convertible(v->dtype))
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "output '%s' is %s, not convertible to float",
                         s->g->tensors[s->g->outputs[i]].name, graph_dtype_name(v->dtype));
    size_t n = (size_t)v->numel;
    if (n > s->out_cap[i] || !s->out_conv[i]) {
        float *p = realloc(s->out_conv[i], (n ? n : 1) * sizeof *p);
        if (!p)
            return NOMEM(err);
        s->out_conv[i] = p;
        s->out_cap[i] = n;
    }
    for (size_t k = 0; k < n; k++)
        s->out_conv[i][k] = (float)graph_value_get_f64(v, (int64_t)k);
    out->data = s->out_conv[i];
    return SSDC_OK;
}

/* ------------------------------------------------------------------ */
/* data sets                                                           */
/* ------------------------------------------------------------------ */

ssdc_status ssdc_dataset_load(const char *spec, const ssdc_dataset_options *opt,
                              ssdc_dataset **out, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!out)
        return ARG_FAIL(err, "ssdc_dataset_load: out is NULL");
    *out = NULL;
    if (!spec)
        return ARG_FAIL(err, "ssdc_dataset_load: spec is NULL");
    ssdc_dataset_options o = {0};
    if (opt)
        o = *opt;
    if (o.normalize < SSDC_NORM_NONE || o.normalize > SSDC_NORM_ZNORM_DATASET)
        return ARG_FAIL(err, "ssdc_dataset_load: unknown normalisation %d", (int)o.normalize);
    if (o.cbf_n_train < 0 || o.cbf_n_test < 0)
        return ARG_FAIL(err, "ssdc_dataset_load: negative CBF sample count");
    dataset_load_options lo = {
        .nan_mode = o.nan_to_zero ? DATASET_NAN_ZERO : DATASET_NAN_REFUSE,
        .cbf_n_train = o.cbf_n_train,
        .cbf_n_test = o.cbf_n_test,
        .cbf_seed = o.cbf_seed,
    };
    ssdc_dataset *d = calloc(1, sizeof *d);
    if (!d)
        return NOMEM(err);
    ssdc_status st = dataset_load(spec, &lo, &d->p, err);
    if (!st)
        st = dataset_normalize(&d->p.train, &d->p.test, (dataset_norm_mode)o.normalize, err);
    if (st) {
        ssdc_dataset_free(d);
        return st;
    }
    *out = d;
    return SSDC_OK;
}

static ssdc_status fill_split(dataset *s, const char *name, const ssdc_dataset_arrays *a,
                              const float *x, const int64_t *y, int64_t n, int64_t per,
                              int n_classes, ssdc_error *err)
{
    s->name = graph_strdup(name);
    s->format = "arrays";
    s->n = n;
    if (a->rank == 1) {
        s->rank = 2;
        s->dims[0] = 1;
        s->dims[1] = a->dims[0];
    } else {
        s->rank = a->rank;
        for (int d = 0; d < a->rank; d++)
            s->dims[d] = a->dims[d];
    }
    s->n_classes = n_classes;
    int64_t values = n * per;
    s->x = malloc((size_t)(values > 0 ? values : 1) * sizeof *s->x);
    s->y = malloc((size_t)(n ? n : 1) * sizeof *s->y);
    s->class_names = calloc((size_t)n_classes, sizeof *s->class_names);
    if (!s->name || !s->x || !s->y || !s->class_names)
        return NOMEM(err);
    if (n) {
        memcpy(s->x, x, (size_t)(n * per) * sizeof *s->x);
        memcpy(s->y, y, (size_t)n * sizeof *s->y);
    }
    for (int c = 0; c < n_classes; c++) {
        char buf[24];
        snprintf(buf, sizeof buf, "%d", c);
        if (!(s->class_names[c] = graph_strdup(buf)))
            return NOMEM(err);
    }
    return SSDC_OK;
}

ssdc_status ssdc_dataset_from_arrays(const ssdc_dataset_arrays *a, ssdc_dataset **out,
                                     ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!out)
        return ARG_FAIL(err, "ssdc_dataset_from_arrays: out is NULL");
    *out = NULL;
    if (!a)
        return ARG_FAIL(err, "ssdc_dataset_from_arrays: arrays is NULL");
    if (a->rank < 1 || a->rank > 3)
        return ARG_FAIL(err, "ssdc_dataset_from_arrays: per-sample rank %d, expected 1..3",
                        a->rank);
    int64_t per = 1;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] < 1 || graph_mul_overflow(per, a->dims[d], &per))
            return ARG_FAIL(err, "ssdc_dataset_from_arrays: per-sample dimension %d is %lld", d,
                            (long long)a->dims[d]);
    if (a->n_train < 1 || !a->x_train || !a->y_train)
        return ARG_FAIL(err, "ssdc_dataset_from_arrays: the train split needs samples, x_train "
                             "and y_train");
    if (a->n_test < 0 || (a->n_test > 0 && (!a->x_test || !a->y_test)))
        return ARG_FAIL(err, "ssdc_dataset_from_arrays: n_test > 0 needs x_test and y_test");
    int64_t prod;
    if (graph_mul_overflow(a->n_train > a->n_test ? a->n_train : a->n_test, per, &prod) ||
        prod > SSDC_MAX_TENSOR_ELEMS)
        return ssdc_fail(err, SSDC_ERR_LIMIT, "ssdc_dataset_from_arrays: more than %lld values",
                         (long long)SSDC_MAX_TENSOR_ELEMS);
    if (a->normalize < SSDC_NORM_NONE || a->normalize > SSDC_NORM_ZNORM_DATASET)
        return ARG_FAIL(err, "ssdc_dataset_from_arrays: unknown normalisation %d",
                        (int)a->normalize);
    int64_t maxl = -1;
    for (int s = 0; s < 2; s++) {
        const int64_t *y = s ? a->y_test : a->y_train;
        int64_t n = s ? a->n_test : a->n_train;
        for (int64_t i = 0; i < n; i++) {
            if (y[i] < 0 || y[i] >= DATASET_MAX_CLASSES)
                return ARG_FAIL(err, "ssdc_dataset_from_arrays: %s label %lld of sample %lld is "
                                     "out of range",
                                s ? "test" : "train", (long long)y[i], (long long)i);
            if (y[i] > maxl)
                maxl = y[i];
        }
    }
    int C = a->n_classes > 0 ? a->n_classes : (int)(maxl + 1);
    if (C > DATASET_MAX_CLASSES || maxl >= C)
        return ARG_FAIL(err, "ssdc_dataset_from_arrays: label %lld with n_classes %d",
                        (long long)maxl, a->n_classes);
    if (C < 2)
        return ARG_FAIL(err, "ssdc_dataset_from_arrays: need at least 2 classes, have %d", C);
    ssdc_dataset *d = calloc(1, sizeof *d);
    if (!d)
        return NOMEM(err);
    const char *name = a->name ? a->name : "arrays";
    ssdc_status st = fill_split(&d->p.train, name, a, a->x_train, a->y_train, a->n_train, per, C, err);
    if (!st)
        st = fill_split(&d->p.test, name, a, a->x_test, a->y_test, a->n_test, per, C, err);
    if (!st)
        st = dataset_normalize(&d->p.train, &d->p.test, (dataset_norm_mode)a->normalize, err);
    if (st) {
        ssdc_dataset_free(d);
        return st;
    }
    *out = d;
    return SSDC_OK;
}

void ssdc_dataset_free(ssdc_dataset *d)
{
    if (!d)
        return;
    dataset_pair_free(&d->p);
    free(d);
}

ssdc_status ssdc_dataset_get_info(const ssdc_dataset *d, ssdc_dataset_info *info,
                                  ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!d || !info)
        return ARG_FAIL(err, "ssdc_dataset_get_info: %s is NULL", d ? "info" : "dataset");
    const dataset *t = &d->p.train;
    memset(info, 0, sizeof *info);
    info->name = str_or_empty(t->name);
    info->format = str_or_empty(t->format);
    info->n_train = t->n;
    info->n_test = d->p.test.n;
    info->n_classes = t->n_classes;
    info->rank = t->rank;
    for (int i = 0; i < t->rank && i < 3; i++)
        info->dims[i] = t->dims[i];
    info->sample_size = dataset_sample_numel(t);
    return SSDC_OK;
}

ssdc_status ssdc_dataset_class_name(const ssdc_dataset *d, int c, const char **name,
                                    ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!d || !name)
        return ARG_FAIL(err, "ssdc_dataset_class_name: %s is NULL", d ? "name" : "dataset");
    if (c < 0 || c >= d->p.train.n_classes)
        return ARG_FAIL(err, "ssdc_dataset_class_name: class %d, the data set has %d", c,
                        d->p.train.n_classes);
    *name = d->p.train.class_names ? d->p.train.class_names[c] : "";
    return SSDC_OK;
}

static const dataset *split_of(const ssdc_dataset *d, ssdc_split split)
{
    if (split == SSDC_SPLIT_TRAIN)
        return &d->p.train;
    if (split == SSDC_SPLIT_TEST)
        return &d->p.test;
    return NULL;
}

ssdc_status ssdc_dataset_sample(const ssdc_dataset *d, ssdc_split split, int64_t i,
                                const float **x, int64_t *label, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!d || !x)
        return ARG_FAIL(err, "ssdc_dataset_sample: %s is NULL", d ? "x" : "dataset");
    const dataset *s = split_of(d, split);
    if (!s)
        return ARG_FAIL(err, "ssdc_dataset_sample: unknown split %d", (int)split);
    if (i < 0 || i >= s->n)
        return ARG_FAIL(err, "ssdc_dataset_sample: sample %lld, the %s split has %lld",
                        (long long)i, split == SSDC_SPLIT_TRAIN ? "train" : "test",
                        (long long)s->n);
    *x = s->x + i * dataset_sample_numel(s);
    if (label)
        *label = s->y[i];
    return SSDC_OK;
}

/* ------------------------------------------------------------------ */
/* training                                                            */
/* ------------------------------------------------------------------ */

void ssdc_train_options_init(ssdc_train_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->epochs = 100;
    o->batch = 128;
    o->optimizer = SSDC_OPTIM_ADAM;
    o->lr = 0;
    o->weight_decay = -1;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->val_split = -1;
    o->bn_recalibrate = true;
}

static train_data data_view(const dataset *d, int n_classes)
{
    train_data v = {.x = d->x, .y = d->y, .n = d->n, .rank = d->rank, .n_classes = n_classes};
    for (int i = 0; i < d->rank; i++)
        v.dims[i] = d->dims[i];
    return v;
}

/* The user's callback behind the internal one. */
typedef struct {
    void (*on_epoch)(const ssdc_epoch *e, void *user);
    void *user;
} epoch_hook;

static void epoch_trampoline(const train_epoch_stats *s, const train_progress *p, void *user)
{
    const epoch_hook *h = user;
    ssdc_epoch e = {
        .epoch = s->epoch,
        .epochs = p ? p->epochs : 0,
        .train_loss = s->train_loss,
        .train_acc = s->train_acc,
        .val_loss = s->val_loss,
        .val_acc = s->val_acc,
        .seconds = s->seconds,
        .best = s->best,
    };
    h->on_epoch(&e, h->user);
}

/* Checks the public options and builds the internal ones (without the
 * callback); *val_split receives the effective hold-out fraction. */
static ssdc_status convert_train_options(const ssdc_train_options *in, const char *fn,
                                         train_options *o, double *val_split, ssdc_error *err)
{
    if (in->epochs < 0 || in->epochs > 1000000)
        return ARG_FAIL(err, "%s: epochs %d, expected 0..1000000", fn, in->epochs);
    if (in->batch < 1 || in->batch > (1 << 20))
        return ARG_FAIL(err, "%s: batch %d, expected 1..%d", fn, in->batch, 1 << 20);
    if (in->optimizer < SSDC_OPTIM_SGD || in->optimizer > SSDC_OPTIM_ADAMW)
        return ARG_FAIL(err, "%s: unknown optimizer %d", fn, (int)in->optimizer);
    if (!(in->lr >= 0) || !isfinite(in->lr))
        return ARG_FAIL(err, "%s: learning rate %g, expected a finite number >= 0 (0: default)",
                        fn, (double)in->lr);
    if (!(in->momentum >= 0 && in->momentum < 1))
        return ARG_FAIL(err, "%s: momentum %g, expected [0, 1)", fn, (double)in->momentum);
    if (!isfinite(in->weight_decay))
        return ARG_FAIL(err, "%s: weight decay is not finite", fn);
    if (!(in->beta1 >= 0 && in->beta1 < 1) || !(in->beta2 >= 0 && in->beta2 < 1))
        return ARG_FAIL(err, "%s: Adam betas must be in [0, 1), got %g and %g", fn,
                        (double)in->beta1, (double)in->beta2);
    if (!(in->eps > 0) || !isfinite(in->eps))
        return ARG_FAIL(err, "%s: eps %g, expected a positive number", fn, (double)in->eps);
    if (!(in->label_smoothing >= 0 && in->label_smoothing < 1))
        return ARG_FAIL(err, "%s: label smoothing %g, expected [0, 1)", fn,
                        (double)in->label_smoothing);
    if (in->patience < 0)
        return ARG_FAIL(err, "%s: patience %d is negative", fn, in->patience);
    if (in->threads < 0 || in->threads > 1024)
        return ARG_FAIL(err, "%s: threads %d, expected 0..1024", fn, in->threads);
    if (in->nesterov && (in->optimizer != SSDC_OPTIM_SGD || in->momentum <= 0))
        return ARG_FAIL(err, "%s: nesterov needs the sgd optimizer and momentum > 0", fn);
    if (in->resume && !in->checkpoint)
        return ARG_FAIL(err, "%s: resume needs a checkpoint path", fn);
    double vs = in->val_split;
    if (isnan(vs) || vs >= 1)
        return ARG_FAIL(err, "%s: val_split %g, expected [0, 1) (< 0: default)", fn, vs);
    if (vs < 0)
        vs = in->patience > 0 ? 0.2 : 0.0;
    if (in->patience > 0 && vs <= 0)
        return ARG_FAIL(err, "%s: early stopping (patience) needs a validation split", fn);
    *val_split = vs;

    train_options_defaults(o);
    o->epochs = in->epochs;
    o->batch = in->batch;
    optim_defaults(&o->optim, (optim_kind)in->optimizer);
    if (in->lr > 0)
        o->optim.lr = in->lr;
    o->optim.momentum = in->momentum;
    o->optim.nesterov = in->nesterov;
    if (in->weight_decay >= 0)
        o->optim.weight_decay = in->weight_decay;
    o->optim.beta1 = in->beta1;
    o->optim.beta2 = in->beta2;
    o->optim.eps = in->eps;
    o->optim.amsgrad = in->amsgrad;
    o->label_smoothing = in->label_smoothing;
    o->patience = in->patience;
    o->seed = in->seed;
    o->threads = in->threads;
    o->checkpoint = in->checkpoint;
    o->resume = in->resume;
    o->log_path = in->log_path;
    o->stop = in->stop;
    o->bn_recalibrate = in->bn_recalibrate;
    return SSDC_OK;
}

/* The training split (and validation hold-out) of d: views when possible. */
typedef struct {
    dataset tr, va;   /* owned copies when a split was made */
    train_data train, val;
    bool has_val;
} split_data;

static ssdc_status make_split(const ssdc_dataset *d, double val_split, uint64_t seed,
                              split_data *s, ssdc_error *err)
{
    memset(s, 0, sizeof *s);
    int C = d->p.train.n_classes;
    if (val_split > 0) {
        ssdc_status st = dataset_split_stratified(&d->p.train, val_split, seed, &s->tr, &s->va, err);
        if (st)
            return st;
        s->train = data_view(&s->tr, C);
        s->val = data_view(&s->va, C);
        s->has_val = s->va.n > 0;
    } else {
        s->train = data_view(&d->p.train, C);
    }
    return SSDC_OK;
}

static void split_free(split_data *s)
{
    dataset_free(&s->tr);
    dataset_free(&s->va);
}

static void fill_train_result(const train_result *r, const split_data *s, ssdc_train_result *out)
{
    memset(out, 0, sizeof *out);
    out->epochs_run = r->epochs_run;
    out->best_epoch = r->best_epoch;
    out->best_val_loss = r->best_epoch ? r->best_val_loss : NAN;
    out->seconds = r->seconds;
    out->stopped_early = r->stopped_early;
    out->interrupted = r->interrupted;
    out->resumed = r->resumed;
    out->n_train = s->train.n;
    out->n_val = s->has_val ? s->val.n : 0;
    out->last.val_loss = out->last.val_acc = NAN;
    if (r->n_history > 0) {
        const train_epoch_stats *e = &r->history[r->n_history - 1];
        out->last.epoch = e->epoch;
        out->last.epochs = r->epochs_run;
        out->last.train_loss = e->train_loss;
        out->last.train_acc = e->train_acc;
        out->last.val_loss = e->val_loss;
        out->last.val_acc = e->val_acc;
        out->last.seconds = e->seconds;
        out->last.best = e->best;
    }
}

ssdc_status ssdc_train(ssdc_model *m, const ssdc_dataset *d, const ssdc_train_options *opt,
                       ssdc_train_result *res, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m || !d)
        return ARG_FAIL(err, "ssdc_train: %s is NULL", m ? "dataset" : "model");
    ssdc_train_options defaults;
    if (!opt) {
        ssdc_train_options_init(&defaults);
        opt = &defaults;
    }
    train_options to;
    double vs;
    ssdc_status st = convert_train_options(opt, "ssdc_train", &to, &vs, err);
    if (st)
        return st;
    epoch_hook hook = {opt->on_epoch, opt->user};
    if (opt->on_epoch) {
        to.on_epoch = epoch_trampoline;
        to.user = &hook;
    }
    split_data s;
    if ((st = make_split(d, vs, to.seed, &s, err)))
        return st;
    train_result r;
    st = train_model(m->g, &s.train, s.has_val ? &s.val : NULL, &to, &r, err);
    if (!st) {
        if (res)
            fill_train_result(&r, &s, res);
        train_result_free(&r);
    } else if (m->g->source && m->g->source[0]) {
        ssdc_error_prefix(err, "%s", m->g->source);
    }
    split_free(&s);
    return st;
}

/* ------------------------------------------------------------------ */
/* distillation                                                        */
/* ------------------------------------------------------------------ */

void ssdc_distill_options_init(ssdc_distill_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    ssd_options so;
    ssd_options_default(&so);
    o->mode = (ssdc_distill_mode)so.mode;
    o->reps = so.reps;
    o->tau = so.tau;
    o->percentile = so.q * 100.0f;
    o->alpha = so.alpha;
    o->beta = so.beta;
    o->kd_gamma = so.gamma;
    o->kd_temperature = so.kd_t;
    o->teacher_dropout_rate = so.teacher_dropout_rate;
    o->default_dropout_rate = so.default_dropout_rate;
}

static ssdc_status convert_distill_options(const ssdc_distill_options *in, ssd_options *so,
                                           ssd_dropout_spec *drop, ssdc_error *err)
{
    const char *fn = "ssdc_distill";
    if (in->mode < SSDC_DISTILL_SSD || in->mode > SSDC_DISTILL_CE)
        return ARG_FAIL(err, "%s: unknown mode %d", fn, (int)in->mode);
    if (in->reps < 1 || in->reps > 4096)
        return ARG_FAIL(err, "%s: reps %d, expected 1..4096", fn, in->reps);
    if (!(in->tau > 0) || !isfinite(in->tau))
        return ARG_FAIL(err, "%s: tau %g, expected a positive number", fn, (double)in->tau);
    if (!(in->percentile >= 0 && in->percentile <= 100))
        return ARG_FAIL(err, "%s: percentile %g, expected 0..100", fn, (double)in->percentile);
    if (!(in->alpha >= 0) || !(in->beta >= 0) || !isfinite(in->alpha) || !isfinite(in->beta))
        return ARG_FAIL(err, "%s: alpha and beta must be finite and >= 0", fn);
    if (!(in->kd_gamma >= 0) || !isfinite(in->kd_gamma) ||
        (in->kd_gamma > 0 && !(in->kd_temperature > 0)))
        return ARG_FAIL(err, "%s: logit KD needs gamma >= 0 and a positive temperature", fn);
    if (in->n_dropouts < 0 || in->n_dropouts > SSD_MAX_DROPOUTS ||
        (in->n_dropouts > 0 && !in->dropouts))
        return ARG_FAIL(err, "%s: n_dropouts %d, expected 0..%d with a dropouts array", fn,
                        in->n_dropouts, SSD_MAX_DROPOUTS);
    for (int i = 0; i < in->n_dropouts; i++) {
        if (!in->dropouts[i].tensor || !(in->dropouts[i].rate >= 0 && in->dropouts[i].rate < 1))
            return ARG_FAIL(err, "%s: dropout %d needs a tensor name and 0 <= rate < 1", fn, i);
        drop[i].tensor = in->dropouts[i].tensor;
        drop[i].rate = in->dropouts[i].rate;
    }
    if (!(in->teacher_dropout_rate < 1))
        return ARG_FAIL(err, "%s: teacher_dropout_rate %g, expected < 1 (< 0: the file's)", fn,
                        (double)in->teacher_dropout_rate);
    if (!(in->default_dropout_rate >= 0 && in->default_dropout_rate < 1))
        return ARG_FAIL(err, "%s: default_dropout_rate %g, expected [0, 1)", fn,
                        (double)in->default_dropout_rate);
    if (in->finetune_epochs < 0)
        return ARG_FAIL(err, "%s: finetune_epochs %d is negative", fn, in->finetune_epochs);
    ssd_options_default(so);
    so->mode = (ssd_mode)in->mode;
    so->reps = in->reps;
    so->tau = in->tau;
    so->q = in->percentile / 100.0f;
    so->alpha = in->alpha;
    so->beta = in->beta;
    so->gamma = in->kd_gamma;
    so->kd_t = in->kd_temperature > 0 ? in->kd_temperature : so->kd_t;
    so->feature = in->feature;
    so->dropouts = in->n_dropouts ? drop : NULL;
    so->n_dropouts = in->n_dropouts;
    so->teacher_dropout_rate = in->teacher_dropout_rate;
    so->default_dropout_rate = in->default_dropout_rate;
    return SSDC_OK;
}

ssdc_status ssdc_distill(const ssdc_model *teacher, const ssdc_dataset *d,
                         const ssdc_distill_options *dopt, const ssdc_train_options *topt,
                         ssdc_model **student, ssdc_distill_result *res, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!student)
        return ARG_FAIL(err, "ssdc_distill: student is NULL");
    *student = NULL;
    if (!teacher || !d)
        return ARG_FAIL(err, "ssdc_distill: %s is NULL", teacher ? "dataset" : "teacher");
    ssdc_distill_options ddef;
    ssdc_train_options tdef;
    if (!dopt) {
        ssdc_distill_options_init(&ddef);
        dopt = &ddef;
    }
    if (!topt) {
        ssdc_train_options_init(&tdef);
        topt = &tdef;
    }
    ssd_options so;
    ssd_dropout_spec drop[SSD_MAX_DROPOUTS];
    train_options to;
    double vs;
    ssdc_status st = convert_distill_options(dopt, &so, drop, err);
    if (!st)
        st = convert_train_options(topt, "ssdc_distill", &to, &vs, err);
    if (st)
        return st;
    so.label_smoothing = to.label_smoothing;
    epoch_hook hook = {topt->on_epoch, topt->user};
    if (topt->on_epoch) {
        to.on_epoch = epoch_trampoline;
        to.user = &hook;
    }
    const char *source = str_or_empty(teacher->g->source);

    graph *sg = graph_clone(teacher->g);
    if (!sg)
        return NOMEM(err);
    if (!dopt->student_from_teacher && (st = train_init_student(sg, to.seed, err))) {
        graph_free(sg);
        return st;
    }
    split_data s;
    if ((st = make_split(d, vs, to.seed, &s, err))) {
        graph_free(sg);
        return st;
    }
    train_graph tg;
    ssd_info info;
    memset(&info, 0, sizeof info);
    train_result r;
    memset(&r, 0, sizeof r);
    bool have_result = false;
    if ((st = ssd_build(teacher->g, sg, &so, &tg, &info, err)))
        goto done;
    if (dopt->emit_graph && (st = onnx_export_file(tg.g, dopt->emit_graph, &export_options, err))) {
        train_graph_free(&tg);
        goto done;
    }
    if ((st = train_model_graph(sg, &tg, &s.train, s.has_val ? &s.val : NULL, &to, &r, err)))
        goto done;
    have_result = true;
    if (r.interrupted) {
        st = ssdc_fail(err, SSDC_ERR_INVALID,
                       "distillation interrupted after %d epochs; %s holds them (resume to "
                       "continue)",
                       r.epochs_run, to.checkpoint ? to.checkpoint : "no checkpoint");
        goto done;
    }
    ssdc_train_result out;
    fill_train_result(&r, &s, &out);
    if (dopt->finetune_epochs > 0) {
        train_options fo = to;
        fo.epochs = dopt->finetune_epochs;
        char *fck = NULL;
        if (to.checkpoint) {
            size_t n = strlen(to.checkpoint) + 16;
            if (!(fck = malloc(n))) {
                st = NOMEM(err);
                goto done;
            }
            snprintf(fck, n, "%s.finetune", to.checkpoint);
            fo.checkpoint = fck;
        }
        train_result fr;
        st = train_model(sg, &s.train, s.has_val ? &s.val : NULL, &fo, &fr, err);
        free(fck);
        if (st)
            goto done;
        bool interrupted = fr.interrupted;
        ssdc_train_result fout;
        fill_train_result(&fr, &s, &fout);
        train_result_free(&fr);
        if (interrupted) {
            st = ssdc_fail(err, SSDC_ERR_INVALID, "fine-tuning after distillation interrupted");
            goto done;
        }
        double secs = out.seconds + fout.seconds;
        int eps = out.epochs_run + fout.epochs_run;
        out = fout;
        out.seconds = secs;
        out.epochs_run = eps;
    }
    if (res) {
        memset(res, 0, sizeof *res);
        res->train = out;
        snprintf(res->feature, sizeof res->feature, "%s", info.feature);
        res->feature_auto = info.feature_auto;
        snprintf(res->dropouts, sizeof res->dropouts, "%s", info.dropouts);
        res->dropout_default = info.dropout_default;
        res->prefix_nodes = info.prefix_nodes;
        res->region_nodes = info.region_nodes;
    }
    st = wrap_graph(sg, student, err);
    sg = NULL;
done:
    if (have_result)
        train_result_free(&r);
    if (st && source[0])
        ssdc_error_prefix(err, "%s", source);
    split_free(&s);
    graph_free(sg);
    return st;
}

/* ------------------------------------------------------------------ */
/* evaluation                                                          */
/* ------------------------------------------------------------------ */

ssdc_status ssdc_evaluate(const ssdc_model *m, const ssdc_dataset *d, ssdc_split split, int batch,
                          ssdc_eval_result *res, ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m || !d || !res)
        return ARG_FAIL(err, "ssdc_evaluate: %s is NULL", !m ? "model" : !d ? "dataset" : "res");
    memset(res, 0, sizeof *res);
    const dataset *s = split_of(d, split);
    if (!s)
        return ARG_FAIL(err, "ssdc_evaluate: unknown split %d", (int)split);
    if (batch < 0 || batch > (1 << 20))
        return ARG_FAIL(err, "ssdc_evaluate: batch %d, expected 0..%d", batch, 1 << 20);
    train_data v = data_view(s, d->p.train.n_classes);
    eval_result r;
    ssdc_status st = train_evaluate(m->g, &v, batch, &r, err);
    if (st) {
        if (m->g->source && m->g->source[0])
            ssdc_error_prefix(err, "%s", m->g->source);
        return st;
    }
    res->n = r.n;
    res->n_classes = r.n_classes;
    res->loss = r.loss;
    res->accuracy = r.accuracy;
    res->confusion = r.confusion; /* ownership moves to res */
    return SSDC_OK;
}

void ssdc_eval_result_free(ssdc_eval_result *res)
{
    if (!res)
        return;
    free(res->confusion);
    memset(res, 0, sizeof *res);
}

/* ------------------------------------------------------------------ */
/* code generation                                                     */
/* ------------------------------------------------------------------ */

ssdc_status ssdc_codegen(const ssdc_model *m, const char *outdir, const char *name,
                         const ssdc_codegen_options *opt, ssdc_codegen_result *res,
                         ssdc_error *err)
{
    LOCAL_ERR(err);
    if (!m || !outdir || !name)
        return ARG_FAIL(err, "ssdc_codegen: %s is NULL", !m ? "model" : !outdir ? "outdir" : "name");
    if (!codegen_valid_name(name))
        return ARG_FAIL(err,
                        "ssdc_codegen: name '%s' is not a C identifier (letters, digits, '_'; not "
                        "starting with a digit or '_'; at most 64 characters; not a keyword)",
                        name);
    ssdc_codegen_options o = {0};
    if (opt)
        o = *opt;
    codegen_options co;
    memset(&co, 0, sizeof co);
    co.name = name;
    co.batch = o.batch > 0 ? o.batch : 1;
    co.no_libm = o.no_libm;
    co.weights_section = o.weights_section;
    co.emit_main = o.emit_main;
    graph *g = graph_clone(m->g); /* made static for the batch */
    if (!g)
        return NOMEM(err);
    codegen_result cr;
    memset(&cr, 0, sizeof cr);
    ssdc_status st = rt_prepare_static(g, &(spec_inputs){.batch = co.batch}, &co.inference,
                                       &co.spec, NULL, err);
    if (!st)
        st = codegen_generate(g, &co, &cr, err);
    if (!st)
        st = codegen_write(outdir, name, &cr, err);
    else if (st != SSDC_ERR_ARG && m->g->source && m->g->source[0])
        ssdc_error_prefix(err, "%s", m->g->source);
    if (!st && res) {
        memset(res, 0, sizeof *res);
        res->arena_bytes = cr.arena_bytes;
        res->weight_bytes = cr.weight_bytes;
        res->peak_live_bytes = cr.peak_live_bytes;
        res->sum_tensor_bytes = cr.sum_tensor_bytes;
        res->n_nodes = cr.n_nodes;
        res->n_views = cr.n_views;
        res->n_inplace = cr.n_inplace;
        res->n_folded = cr.n_folded;
    }
    codegen_result_free(&cr);
    graph_free(g);
    return st;
}
