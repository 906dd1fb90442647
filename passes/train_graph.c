#include "passes/train_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/builder.h"
#include "graph/ops.h"
#include "passes/autodiff.h"
#include "passes/inference.h"

/* Does tensor t reach input slot `slot` of an op in `ops`, directly or
 * through Identity nodes? */
static bool feeds_param_slot(const graph *g, int t, int depth)
{
    if (depth > 16)
        return false;
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            if (n->inputs[k] != t)
                continue;
            switch (n->op) {
            case GRAPH_OP_CONV:
            case GRAPH_OP_GEMM:
            case GRAPH_OP_MATMUL:
            case GRAPH_OP_PRELU:
                if (k >= 1 || n->op == GRAPH_OP_MATMUL)
                    return true;
                break;
            case GRAPH_OP_BATCHNORMALIZATION:
                if (k == 1 || k == 2)
                    return true;
                break;
            case GRAPH_OP_ADD:
                return true; /* a bias added to a MatMul/Conv output */
            case GRAPH_OP_IDENTITY:
                if (n->outputs[0] >= 0 && feeds_param_slot(g, n->outputs[0], depth + 1))
                    return true;
                break;
            default:
                break;
            }
        }
    }
    return false;
}

bool train_graph_is_trainable(const graph *model, int t)
{
    const graph_tensor *tt = &model->tensors[t];
    if (tt->kind != GRAPH_TENSOR_INITIALIZER || tt->dtype != GRAPH_DT_FLOAT)
        return false;
    int64_t n = 1;
    for (int d = 0; d < tt->shape.rank; d++)
        n *= tt->shape.dims[d];
    if (n <= 1 && tt->shape.rank == 0)
        return false; /* scalar constants are not weights */
    return feeds_param_slot(model, t, 0);
}

static bool is_bn_state(const graph *g, int t)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        if (n->op == GRAPH_OP_BATCHNORMALIZATION && n->n_inputs >= 5 &&
            (n->inputs[3] == t || n->inputs[4] == t))
            return true;
    }
    return false;
}

void train_graph_free(train_graph *t)
{
    if (!t)
        return;
    graph_free(t->g);
    free(t->param_src);
    free(t->param_input);
    free(t->state_src);
    free(t->state_input);
    free(t->grad_output);
    free(t->state_output);
    free(t->state_new);
    memset(t, 0, sizeof *t);
}

/* loss = (1 - eps) * SCE(logits, y) + eps * -mean(LogSoftmax(logits)) */
static ssdc_status add_loss(graph *g, int logits, int labels, float eps, int *loss, ssdc_error *err)
{
    graph_builder bd, *b = &bd;
    ssdc_status st;
    int sce, node;
    if ((st = graph_builder_init(b, g, GRAPH_BUILDER_EXACT, "train/", err)) ||
        (st = graph_builder_tensor(b, "ce", &sce)))
        return st;
    int in[2] = {logits, labels};
    if ((st = graph_builder_node(b, "SoftmaxCrossEntropyLoss", NULL, 2, in, 1, &sce, &node)) ||
        (st = graph_node_set_string(g, node, "reduction", "mean", err)))
        return st;
    if (eps <= 0.0f) {
        *loss = sce;
        return SSDC_OK;
    }
    int logp, mean, w1, w2, c1, c2;
    if ((st = graph_builder_const_f32(b, "one_minus_eps", 1.0f - eps, &c1)) ||
        (st = graph_builder_const_f32(b, "minus_eps", -eps, &c2)) ||
        (st = graph_builder_tensor(b, "logp", &logp)) ||
        (st = graph_builder_tensor(b, "mean_logp", &mean)) ||
        (st = graph_builder_tensor(b, "w_ce", &w1)) ||
        (st = graph_builder_tensor(b, "w_smooth", &w2)) ||
        (st = graph_builder_tensor(b, "loss", loss)))
        return st;
    if ((st = graph_builder_node(b, "LogSoftmax", NULL, 1, &logits, 1, &logp, &node)) ||
        (st = graph_node_set_int(g, node, "axis", 1, err)))
        return st;
    if ((st = graph_builder_node(b, "ReduceMean", NULL, 1, &logp, 1, &mean, &node)) ||
        (st = graph_node_set_int(g, node, "keepdims", 0, err)))
        return st;
    int m1[2] = {sce, c1}, m2[2] = {mean, c2}, s[2] = {w1, w2};
    if ((st = graph_builder_node(b, "Mul", "scale_ce", 2, m1, 1, &w1, NULL)) ||
        (st = graph_builder_node(b, "Mul", "scale_smooth", 2, m2, 1, &w2, NULL)))
        return st;
    return graph_builder_node(b, "Add", "total_loss", 2, s, 1, loss, NULL);
}

ssdc_status train_graph_begin(const graph *model, train_graph *out, ssdc_error *err)
{
    memset(out, 0, sizeof *out);
    out->loss_output = out->logits_output = -1;
    if (model->n_inputs != 1)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                         "training needs a model with one data input; this one has %d",
                         model->n_inputs);
    if (model->n_outputs < 1)
        return ssdc_fail(err, SSDC_ERR_INVALID, "the model has no output");
    graph *g = graph_clone(model);
    if (!g)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory cloning the model");
    out->g = g;
    ssdc_status st = SSDC_OK;
    int nt = g->n_tensors;
    out->param_src = malloc((size_t)nt * sizeof(int));
    out->param_input = malloc((size_t)nt * sizeof(int));
    out->state_src = malloc((size_t)nt * sizeof(int));
    out->state_input = malloc((size_t)nt * sizeof(int));
    out->state_new = malloc((size_t)nt * sizeof(int));
    if (!out->param_src || !out->param_input || !out->state_src || !out->state_input ||
        !out->state_new) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    out->x_input = 0;
    out->x_tensor = g->inputs[0];
    /* the outputs of the training graph are set by train_graph_finish */
    out->logits_tensor = g->outputs[0];
    for (int i = 0; i < g->n_outputs; i++)
        g->tensors[g->outputs[i]].is_output = false;
    g->n_outputs = 0;

    /* labels [batch] */
    const graph_shape *xs = &g->tensors[g->inputs[0]].shape;
    graph_shape ls;
    graph_shape_init(&ls, 1, NULL);
    if (xs->rank >= 1)
        graph_shape_copy_dim(&ls, 0, xs, 0);
    if ((st = graph_add_tensor(g, "labels", GRAPH_DT_INT64, &ls, GRAPH_TENSOR_INPUT,
                               &out->label_tensor, err)) ||
        (st = graph_add_input(g, out->label_tensor, err)))
        goto fail;
    out->label_input = g->n_inputs - 1;

    /* parameters and BN state become caller-fed inputs */
    for (int t = 0; t < nt; t++) {
        if (g->tensors[t].kind != GRAPH_TENSOR_INITIALIZER)
            continue;
        bool param = train_graph_is_trainable(model, t);
        bool state = !param && g->tensors[t].dtype == GRAPH_DT_FLOAT && is_bn_state(model, t);
        if (!param && !state)
            continue;
        free(g->tensors[t].data);
        g->tensors[t].data = NULL;
        if ((st = graph_add_input(g, t, err)))
            goto fail;
        if (param) {
            out->param_src[out->n_params] = t;
            out->param_input[out->n_params++] = g->n_inputs - 1;
        } else {
            out->state_src[out->n_state] = t;
            out->state_new[out->n_state] = -1;
            out->state_input[out->n_state++] = g->n_inputs - 1;
        }
    }
    if (out->n_params == 0) {
        st = ssdc_fail(err, SSDC_ERR_INVALID, "the model has no trainable parameters");
        goto fail;
    }

    /* BN in training mode, outputting the updated running statistics */
    graph_builder b;
    if ((st = graph_builder_init(&b, g, GRAPH_BUILDER_EXACT, "", err)))
        goto fail;
    int n_nodes = g->n_nodes;
    for (int i = 0; i < n_nodes && !st; i++) {
        if (g->nodes[i].op != GRAPH_OP_BATCHNORMALIZATION)
            continue;
        if (g->nodes[i].n_outputs > 1 && g->nodes[i].outputs[1] >= 0) {
            st = ssdc_fail(err, SSDC_ERR_UNSUPPORTED,
                           "node '%s' (BatchNormalization) is already in training form",
                           g->nodes[i].name);
            break;
        }
        int new_stats[2];
        if ((st = graph_builder_set_prefix(&b, "%s/", g->nodes[i].name)) ||
            (st = graph_builder_tensor(&b, "running_mean", &new_stats[0])) ||
            (st = graph_builder_tensor(&b, "running_var", &new_stats[1])))
            break;
        graph_node *n = &g->nodes[i];
        int *outs = realloc(n->outputs, 3 * sizeof *outs);
        if (!outs) {
            st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
            break;
        }
        n->outputs = outs;
        n->n_outputs = 3;
        outs[1] = new_stats[0];
        outs[2] = new_stats[1];
        g->tensors[new_stats[0]].producer = i;
        g->tensors[new_stats[1]].producer = i;
        st = graph_node_set_int(g, i, "training_mode", 1, err);
        for (int s = 0; s < out->n_state && !st; s++) {
            if (out->state_src[s] == g->nodes[i].inputs[3])
                out->state_new[s] = new_stats[0];
            if (out->state_src[s] == g->nodes[i].inputs[4])
                out->state_new[s] = new_stats[1];
        }
    }
    if (st)
        goto fail;
    return SSDC_OK;
fail:
    train_graph_free(out);
    return st;
}

ssdc_status train_graph_add_ce(train_graph *t, float label_smoothing, int *loss, ssdc_error *err)
{
    return add_loss(t->g, t->logits_tensor, t->label_tensor, label_smoothing, loss, err);
}

ssdc_status train_graph_add_output(train_graph *t, int tensor, int *position, ssdc_error *err)
{
    ssdc_status st = graph_add_output(t->g, tensor, err);
    if (!st && position)
        *position = t->g->n_outputs - 1;
    return st;
}

ssdc_status train_graph_finish(train_graph *out, int loss, ssdc_error *err)
{
    graph *g = out->g;
    int logits = out->logits_tensor;
    ssdc_status st = graph_infer_shapes(g, err);
    if (st)
        goto fail;
    const graph_shape *lg = &g->tensors[logits].shape;
    if (lg->rank != 2) {
        char buf[128];
        graph_shape_format(lg, buf, sizeof buf);
        st = ssdc_fail(err, SSDC_ERR_SHAPE,
                       "output '%s' has shape %s; training needs class scores of shape [N, C]",
                       g->tensors[logits].name, buf);
        goto fail;
    }
    int *params = malloc((size_t)out->n_params * sizeof(int));
    int *grads = malloc((size_t)out->n_params * sizeof(int));
    /* extra outputs added before finish (reports) keep their positions after ours */
    int n_extra = g->n_outputs;
    int *extra = malloc((size_t)(n_extra ? n_extra : 1) * sizeof(int));
    out->grad_output = malloc((size_t)out->n_params * sizeof(int));
    out->state_output = malloc((size_t)(out->n_state ? out->n_state : 1) * sizeof(int));
    if (!params || !grads || !extra || !out->grad_output || !out->state_output) {
        free(params), free(grads), free(extra);
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(extra, g->outputs, (size_t)n_extra * sizeof(int));
    g->n_outputs = 0;
    for (int p = 0; p < out->n_params; p++)
        params[p] = out->param_src[p]; /* the clone keeps the model's indices */
    st = autodiff_build(g, loss, params, out->n_params, grads, err);
    if (!st)
        st = graph_add_output(g, loss, err);
    out->loss_output = 0;
    if (!st)
        st = graph_add_output(g, logits, err);
    out->logits_output = 1;
    for (int p = 0; p < out->n_params && !st; p++) {
        out->grad_output[p] = g->n_outputs;
        st = graph_add_output(g, grads[p], err);
    }
    for (int s = 0; s < out->n_state && !st; s++) {
        if (out->state_new[s] < 0) {
            st = ssdc_fail(err, SSDC_ERR_INVALID, "state tensor '%s' has no update",
                           g->tensors[out->state_src[s]].name);
            break;
        }
        out->state_output[s] = g->n_outputs;
        st = graph_add_output(g, out->state_new[s], err);
    }
    out->extra_output0 = g->n_outputs;
    out->n_extra_outputs = n_extra;
    for (int e = 0; e < n_extra && !st; e++)
        st = graph_add_output(g, extra[e], err);
    free(params), free(grads), free(extra);
    /* e.g. a teacher's classifier when only its feature is distilled */
    if (!st)
        passes_remove_dead_nodes(g);
    if (!st)
        st = graph_validate(g, err);
    if (st)
        goto fail;
    return SSDC_OK;
fail:
    train_graph_free(out);
    return st;
}

ssdc_status train_graph_build(const graph *model, const train_graph_options *opt, train_graph *out,
                              ssdc_error *err)
{
    ssdc_status st = train_graph_begin(model, out, err);
    if (st)
        return st;
    int loss;
    if ((st = train_graph_add_ce(out, opt ? opt->label_smoothing : 0.0f, &loss, err))) {
        train_graph_free(out);
        return st;
    }
    return train_graph_finish(out, loss, err);
}

ssdc_status train_graph_split_cached(train_graph *t, graph **prefix_out, int *input_pos,
                                     ssdc_error *err)
{
    *prefix_out = NULL;
    graph *g = t->g;
    int n = t->n_cacheable;
    if (n <= 0)
        return SSDC_OK;
    /* the prefix: the data input -> the cacheable tensors, nothing else */
    graph *pg = graph_clone(g);
    if (!pg)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    int x = g->inputs[t->x_input];
    pg->n_outputs = 0;
    for (int t2 = 0; t2 < pg->n_tensors; t2++)
        pg->tensors[t2].is_output = false;
    pg->inputs[0] = x;
    pg->n_inputs = 1;
    for (int t2 = 0; t2 < pg->n_tensors; t2++)
        if (pg->tensors[t2].kind == GRAPH_TENSOR_INPUT && t2 != x)
            pg->tensors[t2].kind = GRAPH_TENSOR_INTERMEDIATE; /* no longer fed: must be unused */
    ssdc_status st = SSDC_OK;
    for (int i = 0; i < n && !st; i++)
        st = graph_add_output(pg, t->cacheable[i], err);
    if (!st) {
        passes_remove_dead_nodes(pg);
        st = graph_validate(pg, err);
        if (st)
            ssdc_error_prefix(err, "the cached part of the training graph");
    }
    if (st) {
        graph_free(pg);
        return st;
    }
    /* the training graph: each cacheable tensor's uses read a new input */
    for (int i = 0; i < n && !st; i++) {
        int c = t->cacheable[i], in;
        char name[600];
        snprintf(name, sizeof name, "cached:%s", g->tensors[c].name);
        graph_shape sh = g->tensors[c].shape;
        st = graph_add_tensor(g, name, g->tensors[c].dtype, &sh, GRAPH_TENSOR_INPUT, &in, err);
        if (!st)
            st = graph_add_input(g, in, err);
        if (st)
            break;
        input_pos[i] = g->n_inputs - 1;
        for (int k = 0; k < g->n_nodes; k++)
            for (int j = 0; j < g->nodes[k].n_inputs; j++)
                if (g->nodes[k].inputs[j] == c)
                    g->nodes[k].inputs[j] = in;
    }
    if (!st) {
        passes_remove_dead_nodes(g);
        st = graph_validate(g, err);
    }
    if (st) {
        graph_free(pg);
        return st;
    }
    t->n_cacheable = 0;
    *prefix_out = pg;
    return SSDC_OK;
}
