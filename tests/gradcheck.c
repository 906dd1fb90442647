#include "tests/gradcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/autodiff.h"
#include "runtime/exec.h"

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

void gc_fill_f32(float *x, int64_t n, float lo, float hi, uint64_t seed)
{
    uint64_t s = seed * 2654435761ull + 1;
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)((double)lcg(&s) / 9007199254740992.0);
}

void gc_fill_f64(double *x, int64_t n, double lo, double hi, uint64_t seed)
{
    uint64_t s = seed * 2654435761ull + 1;
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * ((double)lcg(&s) / 9007199254740992.0);
}

void gc_value(graph_value *v, graph_dtype dt, int rank, const int64_t *dims, void *data)
{
    graph_value_set_shape(v, dt, rank, dims);
    v->data = data;
}

static double get(const graph_value *v, int64_t i)
{
    return graph_value_get_f64(v, i);
}

static void set(graph_value *v, int64_t i, double x)
{
    if (v->dtype == GRAPH_DT_DOUBLE)
        ((double *)v->data)[i] = x;
    else
        ((float *)v->data)[i] = (float)x;
}

static double run_loss(rt_plan *p, graph_value *inputs, uint64_t step)
{
    ssdc_error err = {0};
    rt_plan_set_step(p, step);
    cr_assert_eq(rt_plan_run(p, inputs, &err), SSDC_OK, "%s", err.msg);
    return get(rt_plan_output(p, 0), 0);
}

double gradcheck(const gc_case *c)
{
    ssdc_error err = {0};
    graph *g = graph_new();
    bool dbl = false;
    int in_t[GC_MAX_IO];
    int n_fed = 0;
    graph_value fed[GC_MAX_IO];
    int fed_of[GC_MAX_IO];
    for (int i = 0; i < c->n_in; i++) {
        char name[32];
        snprintf(name, sizeof name, "in%d", i);
        fed_of[i] = -1;
        if (c->omitted[i]) {
            in_t[i] = -1;
            continue;
        }
        const graph_value *v = &c->in[i];
        if (c->is_const[i]) {
            size_t bytes = graph_value_bytes(v);
            void *d = malloc(bytes ? bytes : 1);
            memcpy(d, v->data, bytes);
            cr_assert_eq(graph_add_initializer(g, name, v->dtype, v->rank, v->dims, d, &in_t[i], &err),
                         SSDC_OK, "%s", err.msg);
        } else {
            graph_shape s;
            graph_shape_init(&s, v->rank, v->dims);
            cr_assert_eq(graph_add_tensor(g, name, v->dtype, &s, GRAPH_TENSOR_INPUT, &in_t[i], &err),
                         SSDC_OK);
            graph_add_input(g, in_t[i], &err);
            fed[n_fed] = *v;
            /* private copy: finite differences perturb it */
            size_t bytes = graph_value_bytes(v);
            fed[n_fed].data = malloc(bytes ? bytes : 1);
            memcpy(fed[n_fed].data, v->data, bytes);
            fed_of[i] = n_fed++;
        }
        if (c->diff[i] && v->dtype == GRAPH_DT_DOUBLE)
            dbl = true;
    }
    int out_t[GC_MAX_IO];
    for (int o = 0; o < c->n_out; o++) {
        char name[32];
        snprintf(name, sizeof name, "out%d", o);
        cr_assert_eq(graph_add_tensor(g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE,
                                      &out_t[o], &err), SSDC_OK);
    }
    int node;
    cr_assert_eq(graph_add_node(g, "op", c->op_type, c->domain ? c->domain : "", c->n_in, in_t,
                                c->n_out, out_t, &node, &err), SSDC_OK, "%s", err.msg);
    if (c->attrs)
        c->attrs(g, node);
    cr_assert_eq(graph_infer_shapes(g, &err), SSDC_OK, "%s", err.msg);

    /* loss = Sum_k ReduceSum(out_k * R_k) */
    bool any_set = false;
    for (int o = 0; o < c->n_out; o++)
        any_set = any_set || c->loss_on[o];
    int terms[GC_MAX_IO], n_terms = 0;
    for (int o = 0; o < c->n_out; o++) {
        const graph_tensor *ot = &g->tensors[out_t[o]];
        bool fl = ot->dtype == GRAPH_DT_FLOAT || ot->dtype == GRAPH_DT_DOUBLE;
        if (!fl || (any_set && !c->loss_on[o]))
            continue;
        cr_assert(graph_shape_is_static(&ot->shape), "output %d has no static shape", o);
        int64_t numel = 1;
        for (int d = 0; d < ot->shape.rank; d++)
            numel *= ot->shape.dims[d];
        size_t es = graph_dtype_size(ot->dtype);
        void *r = malloc((size_t)(numel ? numel : 1) * es);
        if (ot->dtype == GRAPH_DT_DOUBLE)
            gc_fill_f64(r, numel, -1.0, 1.0, c->seed + 100 + (uint64_t)o);
        else
            gc_fill_f32(r, numel, -1.0f, 1.0f, c->seed + 100 + (uint64_t)o);
        char name[32];
        int rt, mt, st_;
        snprintf(name, sizeof name, "R%d", o);
        graph_add_initializer(g, name, ot->dtype, ot->shape.rank, ot->shape.dims, r, &rt, &err);
        snprintf(name, sizeof name, "m%d", o);
        graph_add_tensor(g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &mt, &err);
        snprintf(name, sizeof name, "s%d", o);
        graph_add_tensor(g, name, GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &st_, &err);
        int mul_in[2] = {out_t[o], rt};
        snprintf(name, sizeof name, "mul%d", o);
        cr_assert_eq(graph_add_node(g, name, "Mul", "", 2, mul_in, 1, &mt, NULL, &err), SSDC_OK);
        int rs;
        snprintf(name, sizeof name, "sum%d", o);
        cr_assert_eq(graph_add_node(g, name, "ReduceSum", "", 1, &mt, 1, &st_, &rs, &err), SSDC_OK);
        graph_node_set_int(g, rs, "keepdims", 0, &err);
        terms[n_terms++] = st_;
    }
    cr_assert(n_terms > 0, "no float output to build a loss from");
    int loss;
    graph_add_tensor(g, "loss", GRAPH_DT_UNDEFINED, NULL, GRAPH_TENSOR_INTERMEDIATE, &loss, &err);
    cr_assert_eq(graph_add_node(g, "total", "Sum", "", n_terms, terms, 1, &loss, NULL, &err), SSDC_OK);
    graph_add_output(g, loss, &err);
    cr_assert_eq(graph_infer_shapes(g, &err), SSDC_OK, "%s", err.msg);

    int params[GC_MAX_IO], grads[GC_MAX_IO], which[GC_MAX_IO], np_ = 0;
    for (int i = 0; i < c->n_in; i++)
        if (c->diff[i] && in_t[i] >= 0) {
            which[np_] = i;
            params[np_++] = in_t[i];
        }
    cr_assert_eq(autodiff_build(g, loss, params, np_, grads, &err), SSDC_OK, "%s", err.msg);
    for (int k = 0; k < np_; k++)
        graph_add_output(g, grads[k], &err);
    cr_assert_eq(graph_validate(g, &err), SSDC_OK, "%s", err.msg);

    rt_options opt = {.seed = c->seed, .training = c->training};
    rt_plan *p = NULL;
    cr_assert_eq(rt_plan_create(g, fed, &opt, &p, &err), SSDC_OK, "%s", err.msg);
    run_loss(p, fed, 7);
    /* copy the analytic gradients out: later runs overwrite the arena */
    graph_value ana[GC_MAX_IO];
    for (int k = 0; k < np_; k++) {
        ana[k] = *rt_plan_output(p, 1 + k);
        size_t bytes = graph_value_bytes(&ana[k]);
        void *d = malloc(bytes ? bytes : 1);
        memcpy(d, ana[k].data, bytes);
        ana[k].data = d;
        const graph_value *x = &c->in[which[k]];
        cr_assert_eq(ana[k].numel, x->numel, "gradient of input %d has %lld elements, expected %lld",
                     which[k], (long long)ana[k].numel, (long long)x->numel);
    }
    double eps = c->eps > 0 ? c->eps : dbl ? 1e-6 : 1e-2;
    double atol = c->atol > 0 ? c->atol : dbl ? 1e-7 : 2e-3;
    double rtol = c->rtol > 0 ? c->rtol : dbl ? 1e-6 : 2e-2;
    int max_checks = c->max_checks > 0 ? c->max_checks : 64;
    double worst = 0;
    for (int k = 0; k < np_; k++) {
        int i = which[k];
        graph_value *x = &fed[fed_of[i]];
        int64_t stride = x->numel <= max_checks ? 1 : x->numel / max_checks;
        for (int64_t j = 0; j < x->numel; j += stride) {
            double x0 = get(x, j);
            set(x, j, x0 + eps);
            double fp = run_loss(p, fed, 7);
            set(x, j, x0 - eps);
            double fm = run_loss(p, fed, 7);
            set(x, j, x0);
            double num = (fp - fm) / (2 * eps);
            double a = get(&ana[k], j);
            double e = fabs(a - num);
            if (e > worst)
                worst = e;
            cr_assert(e <= atol + rtol * fabs(num),
                      "%s: d loss / d input %d [%lld]: autodiff %.8g, finite difference %.8g", c->op_type,
                      i, (long long)j, a, num);
        }
        free(ana[k].data);
    }
    rt_plan_free(p);
    for (int f = 0; f < n_fed; f++)
        free(fed[f].data);
    graph_free(g);
    return worst;
}
