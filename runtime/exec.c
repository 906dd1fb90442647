#include "runtime/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"
#include "passes/memplan.h"
#include "passes/specialize.h"
#include "runtime/kernel.h"

#define ARENA_ALIGN 64

/* A plan is the specialisation of the graph for its inputs
 * (passes/specialize.h: concrete shapes, constants folded), the memory plan
 * of the nodes left (passes/memplan.h) and the arena that plan describes. */
static size_t align_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

struct rt_plan {
    const graph *g;
    rt_options opt;
    spec_values sv;   /* vals: every tensor's value, data pointing into the arena */
    memplan mp;
    uint8_t *arena;
    uint64_t runs;
    rt_plan_stats stats;
};

void rt_plan_free(rt_plan *p)
{
    if (!p)
        return;
    spec_values_free(&p->sv);
    memplan_free(&p->mp);
    free(p->arena);
    free(p);
}

/* Lists every node ssdc cannot run, all at once. */
static ssdc_status check_supported(const graph *g, ssdc_error *err)
{
    char list[768];
    size_t pos = 0;
    int bad = 0;
    list[0] = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        if (graph_op_schema_get(n->op) && rt_kernel_get(n->op))
            continue;
        if (bad++ < 8 && pos < sizeof list)
            pos += (size_t)snprintf(list + pos, sizeof list - pos, "%s'%s' (%s%s%s)",
                                    pos ? ", " : "", n->name, n->domain[0] ? n->domain : "",
                                    n->domain[0] ? "::" : "", n->op_type);
    }
    if (!bad)
        return SSDC_OK;
    return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "%d node%s use%s ops ssdc cannot run: %s%s", bad,
                     bad == 1 ? "" : "s", bad == 1 ? "s" : "", list, bad > 8 ? ", ..." : "");
}

ssdc_status rt_spec_eval(void *ctx, const graph *g, int node, const graph_value *in, int n_in,
                         graph_value *out, int n_out, ssdc_error *err)
{
    const rt_options *opt = ctx;
    const graph_node *n = &g->nodes[node];
    const rt_kernel *kern = rt_kernel_get(n->op);
    if (!kern)
        return ssdc_fail(err, SSDC_ERR_UNSUPPORTED, "node '%s' (%s): ssdc cannot run this op",
                         n->name, n->op_type);
    size_t sbytes = kern->scratch ? kern->scratch(n, in, n_in, out, n_out) : 0;
    void *scratch = sbytes ? aligned_alloc(ARENA_ALIGN, align_up(sbytes)) : NULL;
    if (sbytes && !scratch)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "node '%s' (%s): out of memory", n->name, n->op_type);
    rt_kernel_ctx kc = {.g = g, .node = n, .node_index = node,
                        .seed = opt ? opt->seed : 0, .training = opt && opt->training,
                        .scratch = scratch, .scratch_bytes = sbytes};
    ssdc_status st = kern->forward(&kc, in, n_in, out, n_out, err);
    free(scratch);
    return st;
}

/* ---- the runtime as a memory-planning target ---- */

static unsigned plan_node_caps(void *ctx, const graph_node *n, uint32_t *inplace)
{
    (void)ctx;
    return rt_kernel_caps(n->op, inplace);
}

static size_t plan_scratch(void *ctx, const graph *g, const memplan_step *s,
                           const graph_value *vals)
{
    const rt_options *opt = ctx;
    const graph_node *n = &g->nodes[s->node];
    if (s->fused_dropout >= 0)
        return rt_dropout_gap_scratch(&vals[g->nodes[s->fused_dropout].inputs[0]], opt->threads);
    const rt_kernel *kern = rt_kernel_get(n->op);
    if (!kern || !kern->scratch)
        return 0;
    enum { MAX_IO = 64 };
    graph_value stack_in[MAX_IO], stack_out[MAX_IO];
    if (n->n_inputs > MAX_IO || n->n_outputs > MAX_IO)
        return 0;
    graph_node_values(vals, n, stack_in, stack_out);
    return kern->scratch(n, stack_in, n->n_inputs, stack_out, n->n_outputs);
}

static ssdc_status plan_build(const graph *g, const graph_value *inputs, const rt_options *opt,
                              rt_plan **out, ssdc_error *err)
{
    *out = NULL;
    rt_plan *p = calloc(1, sizeof *p);
    if (!p)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory planning");
    p->g = g;
    if (opt)
        p->opt = *opt;
    if (p->opt.memory_limit <= 0)
        p->opt.memory_limit = SSDC_DEFAULT_MEMORY_LIMIT;
    spec_options so = {.eval = rt_spec_eval, .eval_ctx = &p->opt,
                       .memory_limit = p->opt.memory_limit};
    ssdc_status st = spec_analyze(g, inputs, &so, &p->sv, err);
    if (st)
        goto fail;
    memplan_target tg = {.align = ARENA_ALIGN, .node_caps = plan_node_caps,
                         .scratch = plan_scratch, .ctx = &p->opt,
                         .fuse_dropout_pool = !p->opt.no_fusion,
                         .empty_blocks_take_align = true};
    if ((st = memplan_build(g, p->sv.vals, p->sv.is_const, p->sv.run_nodes, p->sv.n_run, &tg,
                            &p->mp, err)))
        goto fail;
    for (int r = 0; r < p->mp.n_steps; r++) {
        const memplan_step *s = &p->mp.steps[r];
        if ((int64_t)s->scratch_bytes > p->opt.memory_limit) {
            const graph_node *n = &g->nodes[s->node];
            st = ssdc_fail(err, SSDC_ERR_LIMIT,
                           "node '%s' (%s): scratch of %zu bytes exceeds the memory limit",
                           n->name, n->op_type, s->scratch_bytes);
            goto fail;
        }
    }
    size_t arena_bytes = p->mp.stats.arena_bytes;
    size_t const_bytes = p->sv.constant_bytes;
    if ((int64_t)(arena_bytes + const_bytes) > p->opt.memory_limit) {
        st = ssdc_fail(err, SSDC_ERR_LIMIT,
                       "running this model needs %zu bytes, more than the memory limit of %lld "
                       "bytes",
                       arena_bytes + const_bytes, (long long)p->opt.memory_limit);
        goto fail;
    }
    p->stats = (rt_plan_stats){.arena_bytes = arena_bytes,
                               .sum_tensor_bytes = p->mp.stats.sum_tensor_bytes,
                               .peak_live_bytes = p->mp.stats.peak_live_bytes,
                               .constant_bytes = const_bytes};
    p->arena = aligned_alloc(ARENA_ALIGN, arena_bytes ? arena_bytes : ARENA_ALIGN);
    if (!p->arena) {
        st = ssdc_fail(err, SSDC_ERR_NOMEM, "cannot allocate the %zu-byte arena", arena_bytes);
        goto fail;
    }
    for (int t = 0; t < g->n_tensors; t++)
        if (p->mp.place[t].kind == MEMPLAN_ARENA)
            p->sv.vals[t].data = p->arena + p->mp.place[t].offset;
    *out = p;
    return SSDC_OK;
fail:
    rt_plan_free(p);
    return st;
}

ssdc_status rt_plan_create(const graph *g, const graph_value *inputs, const rt_options *opt,
                           rt_plan **out, ssdc_error *err)
{
    *out = NULL;
    ssdc_status st = check_supported(g, err);
    if (st)
        return st;
    return plan_build(g, inputs, opt, out, err);
}

bool rt_plan_matches(const rt_plan *p, const graph_value *inputs)
{
    return spec_values_match(&p->sv, inputs);
}

static bool all_finite(const graph_value *v)
{
    if (v->dtype == GRAPH_DT_FLOAT) {
        const float *x = v->data;
        for (int64_t i = 0; i < v->numel; i++)
            if (!isfinite(x[i]))
                return false;
    } else if (v->dtype == GRAPH_DT_DOUBLE) {
        const double *x = v->data;
        for (int64_t i = 0; i < v->numel; i++)
            if (!isfinite(x[i]))
                return false;
    }
    return true;
}

static ssdc_status run_nodes(rt_plan *p, const graph_value *inputs, bool check, int *bad_node,
                             int *bad_output, rt_observe_fn obs, void *obs_ctx, ssdc_error *err);

ssdc_status rt_plan_find_nonfinite(rt_plan *p, const graph_value *inputs, int *node, int *output,
                                   ssdc_error *err)
{
    *node = *output = -1;
    return run_nodes(p, inputs, true, node, output, NULL, NULL, err);
}

ssdc_status rt_plan_run(rt_plan *p, const graph_value *inputs, ssdc_error *err)
{
    return run_nodes(p, inputs, false, NULL, NULL, NULL, NULL, err);
}

ssdc_status rt_plan_run_observe(rt_plan *p, const graph_value *inputs, rt_observe_fn fn, void *ctx,
                                ssdc_error *err)
{
    return run_nodes(p, inputs, false, NULL, NULL, fn, ctx, err);
}

static ssdc_status run_nodes(rt_plan *p, const graph_value *inputs, bool check, int *bad_node,
                             int *bad_output, rt_observe_fn obs, void *obs_ctx, ssdc_error *err)
{
    const graph *g = p->g;
    if (!rt_plan_matches(p, inputs))
        return ssdc_fail(err, SSDC_ERR_SHAPE, "inputs do not have the shapes the plan was made for");
    graph_value *vals = p->sv.vals;
    for (int i = 0; i < g->n_inputs; i++)
        vals[g->inputs[i]].data = inputs[i].data;
    int max_io = 1;
    for (int r = 0; r < p->mp.n_steps; r++) {
        const graph_node *n = &g->nodes[p->mp.steps[r].node];
        if (n->n_inputs > max_io)
            max_io = n->n_inputs;
        if (n->n_outputs > max_io)
            max_io = n->n_outputs;
    }
    graph_value stack_in[16], stack_out[16];
    graph_value *vin = stack_in, *vout = stack_out;
    if (max_io > 16) {
        vin = malloc((size_t)max_io * sizeof *vin);
        vout = malloc((size_t)max_io * sizeof *vout);
        if (!vin || !vout) {
            free(vin), free(vout);
            return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
        }
    }
    ssdc_status st = SSDC_OK;
    for (int r = 0; r < p->mp.n_steps && !st; r++) {
        const memplan_step *s = &p->mp.steps[r];
        int ni = s->node;
        const graph_node *n = &g->nodes[ni];
        graph_node_values(vals, n, vin, vout);
        rt_kernel_ctx ctx = {.g = g, .node = n, .node_index = ni, .seed = p->opt.seed,
                             .step = p->runs, .training = p->opt.training,
                             .threads = p->opt.threads,
                             .scratch = s->scratch_bytes ? p->arena + s->scratch_offset : NULL,
                             .scratch_bytes = s->scratch_bytes};
        if (s->fused_dropout >= 0) {
            const graph_node *d = &g->nodes[s->fused_dropout];
            graph_value din[16], dout[16];
            graph_node_values(vals, d, din, dout);
            rt_kernel_ctx dctx = ctx;
            dctx.node = d;
            dctx.node_index = s->fused_dropout;
            st = rt_dropout_gap_forward(&dctx, din, d->n_inputs, &din[0], &vals[s->fused_src],
                                        s->fused_reps, &ctx, &vout[0], err);
        } else {
            st = rt_kernel_get(n->op)->forward(&ctx, vin, n->n_inputs, vout, n->n_outputs, err);
        }
        if (check && !st) {
            for (int o = 0; o < n->n_outputs; o++) {
                if (n->outputs[o] >= 0 && !all_finite(&vals[n->outputs[o]])) {
                    *bad_node = ni;
                    *bad_output = o;
                    goto stop;
                }
            }
        }
        for (int o = 0; obs && !st && o < n->n_outputs; o++)
            if (n->outputs[o] >= 0)
                st = obs(obs_ctx, ni, n->outputs[o], &vals[n->outputs[o]], err);
    }
stop:
    p->runs++;
    if (vin != stack_in) {
        free(vin);
        free(vout);
    }
    return st;
}

void rt_plan_set_step(rt_plan *p, uint64_t step)
{
    p->runs = step;
}

uint64_t rt_plan_step(const rt_plan *p)
{
    return p->runs;
}

const graph_value *rt_plan_output(const rt_plan *p, int i)
{
    if (i < 0 || i >= p->g->n_outputs)
        return NULL;
    return &p->sv.vals[p->g->outputs[i]];
}

const graph_value *rt_plan_tensor(const rt_plan *p, int tensor)
{
    if (tensor < 0 || tensor >= p->g->n_tensors)
        return NULL;
    return &p->sv.vals[tensor];
}

const spec_values *rt_plan_spec(const rt_plan *p)
{
    return &p->sv;
}

bool rt_plan_node_folded(const rt_plan *p, int node)
{
    return node >= 0 && node < p->g->n_nodes && p->sv.folded[node];
}

int64_t rt_plan_node_flops(const rt_plan *p, int node)
{
    const graph *g = p->g;
    if (node < 0 || node >= g->n_nodes || p->sv.folded[node])
        return 0;
    const graph_node *n = &g->nodes[node];
    const graph_op_schema *s = graph_op_schema_get(n->op);
    enum { MAX_IO = 64 };
    if (!s || n->n_inputs > MAX_IO || n->n_outputs > MAX_IO)
        return 0;
    graph_dtype idt[MAX_IO], odt[MAX_IO];
    graph_shape ish[MAX_IO], osh[MAX_IO];
    const graph_value *ival[MAX_IO];
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        ival[i] = t >= 0 && p->sv.is_const[t] ? &p->sv.vals[t] : NULL;
        idt[i] = t >= 0 ? p->sv.vals[t].dtype : GRAPH_DT_UNDEFINED;
        if (t >= 0)
            graph_shape_init(&ish[i], p->sv.vals[t].rank, p->sv.vals[t].dims);
        else
            graph_shape_unknown(&ish[i]);
    }
    int64_t total = 0;
    for (int o = 0; o < n->n_outputs; o++) {
        int t = n->outputs[o];
        odt[o] = t >= 0 ? p->sv.vals[t].dtype : GRAPH_DT_UNDEFINED;
        if (t >= 0) {
            graph_shape_init(&osh[o], p->sv.vals[t].rank, p->sv.vals[t].dims);
            if (o == 0)
                total = p->sv.vals[t].numel;
        } else {
            graph_shape_unknown(&osh[o]);
        }
    }
    if (!s->flops)
        return total;
    graph_infer_ctx c = {.g = g, .node = n, .n_in = n->n_inputs, .in_dtype = idt,
                         .in_shape = ish, .in_value = ival, .n_out = n->n_outputs,
                         .out_dtype = odt, .out_shape = osh};
    return s->flops(&c);
}

void rt_plan_get_stats(const rt_plan *p, rt_plan_stats *s)
{
    *s = p->stats;
}

ssdc_status rt_prepare_static(graph *g, const spec_inputs *in, inference_stats *istats,
                              spec_stats *sstats, rt_plan_stats *rt, ssdc_error *err)
{
    ssdc_status st = passes_optimize_inference(g, istats, err);
    if (st)
        return st;
    graph_value *inputs = NULL;
    if ((st = spec_make_inputs(g, in, &inputs, err)))
        return st;
    rt_plan *p = NULL;
    st = rt_plan_create(g, inputs, NULL, &p, err);
    spec_inputs_free(g, inputs);
    if (st)
        return st;
    if (rt)
        rt_plan_get_stats(p, rt);
    st = passes_specialize_apply(g, in->values != NULL, &p->sv, sstats, err);
    rt_plan_free(p);
    return st;
}

/* ---- session ---- */

struct rt_session {
    const graph *g;
    rt_options opt;
    rt_plan *plan;
};

ssdc_status rt_session_create(const graph *g, const rt_options *opt, rt_session **out,
                              ssdc_error *err)
{
    rt_session *s = calloc(1, sizeof *s);
    if (!s)
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory");
    s->g = g;
    if (opt)
        s->opt = *opt;
    *out = s;
    return SSDC_OK;
}

void rt_session_free(rt_session *s)
{
    if (!s)
        return;
    rt_plan_free(s->plan);
    free(s);
}

ssdc_status rt_session_run(rt_session *s, const graph_value *inputs, ssdc_error *err)
{
    if (!s->plan || !rt_plan_matches(s->plan, inputs)) {
        uint64_t runs = s->plan ? s->plan->runs : 0;
        rt_plan_free(s->plan);
        s->plan = NULL;
        ssdc_status st = rt_plan_create(s->g, inputs, &s->opt, &s->plan, err);
        if (st)
            return st;
        s->plan->runs = runs;
    }
    return rt_plan_run(s->plan, inputs, err);
}

const graph_value *rt_session_output(const rt_session *s, int i)
{
    return s->plan ? rt_plan_output(s->plan, i) : NULL;
}

rt_plan *rt_session_plan(rt_session *s)
{
    return s->plan;
}
