#include "runtime/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void optim_defaults(optim_options *o, optim_kind kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = kind == OPTIM_SGD ? 1e-2f : 1e-3f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->weight_decay = kind == OPTIM_ADAMW ? 1e-2f : 0.0f;
}

const char *optim_kind_name(optim_kind k)
{
    return k == OPTIM_SGD ? "sgd" : k == OPTIM_ADAM ? "adam" : "adamw";
}

bool optim_parse_kind(const char *s, optim_kind *k)
{
    if (!strcmp(s, "sgd"))
        *k = OPTIM_SGD;
    else if (!strcmp(s, "adam"))
        *k = OPTIM_ADAM;
    else if (!strcmp(s, "adamw"))
        *k = OPTIM_ADAMW;
    else
        return false;
    return true;
}

ssdc_status optim_init(optim_state *s, const optim_options *o, int64_t n, ssdc_error *err)
{
    memset(s, 0, sizeof *s);
    s->o = *o;
    s->n = n;
    size_t bytes = (size_t)(n ? n : 1) * sizeof(float);
    bool adam = o->kind != OPTIM_SGD;
    s->m = calloc(1, bytes);
    if (adam)
        s->v = calloc(1, bytes);
    if (adam && o->amsgrad)
        s->vmax = calloc(1, bytes);
    if (!s->m || (adam && !s->v) || (adam && o->amsgrad && !s->vmax)) {
        optim_free(s);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "out of memory for optimizer state");
    }
    return SSDC_OK;
}

void optim_free(optim_state *s)
{
    free(s->m);
    free(s->v);
    free(s->vmax);
    s->m = s->v = s->vmax = NULL;
}

int optim_state_arrays(const optim_state *s, float **arrays)
{
    int k = 0;
    arrays[k++] = s->m;
    if (s->v)
        arrays[k++] = s->v;
    if (s->vmax)
        arrays[k++] = s->vmax;
    return k;
}

static void sgd_step(optim_state *s, float *p, const float *g)
{
    const float lr = s->o.lr, mu = s->o.momentum, wd = s->o.weight_decay;
    const bool first = s->t == 1;
    float *buf = s->m;
    for (int64_t i = 0; i < s->n; i++) {
        float d = g[i] + wd * p[i];
        if (mu != 0.0f) {
            buf[i] = first ? d : mu * buf[i] + d;
            d = s->o.nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

static void adam_step(optim_state *s, float *p, const float *g)
{
    const float lr = s->o.lr, b1 = s->o.beta1, b2 = s->o.beta2, eps = s->o.eps;
    const float wd = s->o.weight_decay;
    const bool decoupled = s->o.kind == OPTIM_ADAMW;
    const double bc1 = 1.0 - pow(b1, (double)s->t);
    const double bc2 = 1.0 - pow(b2, (double)s->t);
    const float step = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    float *m = s->m, *v = s->v, *vmax = s->vmax;
    for (int64_t i = 0; i < s->n; i++) {
        float gi = g[i];
        if (decoupled)
            p[i] *= 1.0f - lr * wd;
        else
            gi += wd * p[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float vv = v[i];
        if (vmax) {
            if (vv > vmax[i])
                vmax[i] = vv;
            vv = vmax[i];
        }
        p[i] -= step * m[i] / (sqrtf(vv) / bc2_sqrt + eps);
    }
}

void optim_step(optim_state *s, float *params, const float *grads)
{
    s->t++;
    if (s->o.kind == OPTIM_SGD)
        sgd_step(s, params, grads);
    else
        adam_step(s, params, grads);
}
