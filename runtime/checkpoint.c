#include "runtime/checkpoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/fileio.h"

#define CKPT_MAGIC "SSDCCKP1"
#define CKPT_VERSION 1u

typedef struct {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

#define PUT(b, v) put((b), &(v), sizeof(v))

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void put_history(wbuf *b, const train_epoch_stats *s)
{
    int32_t e = s->epoch;
    uint8_t best = s->best;
    PUT(b, e);
    PUT(b, s->train_loss);
    PUT(b, s->train_acc);
    PUT(b, s->val_loss);
    PUT(b, s->val_acc);
    PUT(b, s->seconds);
    PUT(b, best);
}

ssdc_status checkpoint_write(const char *path, const checkpoint *c, ssdc_error *err)
{
    wbuf b = {0};
    uint32_t version = CKPT_VERSION;
    put(&b, CKPT_MAGIC, 8);
    PUT(&b, version);
    PUT(&b, c->model_key);
    PUT(&b, c->epochs_done);
    PUT(&b, c->step);
    PUT(&b, c->optim_kind);
    PUT(&b, c->optim_t);
    PUT(&b, c->n_optim_arrays);
    PUT(&b, c->n_params);
    PUT(&b, c->n_state);
    PUT(&b, c->best_val);
    PUT(&b, c->best_epoch);
    PUT(&b, c->bad_epochs);
    PUT(&b, c->n_history);
    size_t pb = (size_t)c->n_params * sizeof(float), sb = (size_t)c->n_state * sizeof(float);
    put(&b, c->params, pb);
    put(&b, c->state, sb);
    for (int k = 0; k < c->n_optim_arrays; k++)
        put(&b, c->optim[k], pb);
    put(&b, c->best_params, pb);
    put(&b, c->best_state, sb);
    for (int i = 0; i < c->n_history; i++)
        put_history(&b, &c->history[i]);
    uint64_t h = b.oom ? 0 : fnv1a(b.p, b.len);
    PUT(&b, h);
    if (b.oom) {
        free(b.p);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "%s: out of memory building the checkpoint", path);
    }
    ssdc_status st = ssdc_write_file_atomic(path, b.p, b.len, err);
    free(b.p);
    return st;
}

typedef struct {
    const unsigned char *p;
    size_t len, pos;
    bool short_read;
} rbuf;

static void get(rbuf *r, void *dst, size_t n)
{
    if (r->short_read || r->len - r->pos < n) {
        r->short_read = true;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
}

#define GET(r, v) get((r), &(v), sizeof(v))

static float *get_floats(rbuf *r, int64_t n)
{
    if (n < 0 || (uint64_t)n > (r->len - r->pos) / sizeof(float)) {
        r->short_read = true;
        return NULL;
    }
    float *a = malloc((size_t)(n ? n : 1) * sizeof *a);
    if (a)
        get(r, a, (size_t)n * sizeof *a);
    return a;
}

void checkpoint_free(checkpoint *c)
{
    free(c->params);
    free(c->state);
    for (int k = 0; k < 3; k++)
        free(c->optim[k]);
    free(c->best_params);
    free(c->best_state);
    free(c->history);
    memset(c, 0, sizeof *c);
}

ssdc_status checkpoint_read(const char *path, checkpoint *c, ssdc_error *err)
{
    memset(c, 0, sizeof *c);
    void *data;
    size_t len;
    ssdc_status st = ssdc_read_file(path, (size_t)1 << 34, &data, &len, err);
    if (st)
        return st;
    rbuf r = {.p = data, .len = len};
    char magic[8];
    uint32_t version = 0;
    if (len < 8 + sizeof(uint64_t) || memcmp(data, CKPT_MAGIC, 8) != 0) {
        free(data);
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s: not an ssdc checkpoint", path);
    }
    uint64_t stored;
    memcpy(&stored, (const unsigned char *)data + len - sizeof stored, sizeof stored);
    if (fnv1a(data, len - sizeof stored) != stored) {
        free(data);
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s: checksum mismatch (torn or corrupt checkpoint)",
                         path);
    }
    r.len = len - sizeof stored;
    get(&r, magic, 8);
    GET(&r, version);
    if (version != CKPT_VERSION) {
        free(data);
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s: checkpoint version %u, expected %u", path,
                         version, CKPT_VERSION);
    }
    GET(&r, c->model_key);
    GET(&r, c->epochs_done);
    GET(&r, c->step);
    GET(&r, c->optim_kind);
    GET(&r, c->optim_t);
    GET(&r, c->n_optim_arrays);
    GET(&r, c->n_params);
    GET(&r, c->n_state);
    GET(&r, c->best_val);
    GET(&r, c->best_epoch);
    GET(&r, c->bad_epochs);
    GET(&r, c->n_history);
    if (c->n_optim_arrays < 0 || c->n_optim_arrays > 3 || c->n_history < 0 ||
        c->n_history > 1000000)
        r.short_read = true;
    if (!r.short_read) {
        c->params = get_floats(&r, c->n_params);
        c->state = get_floats(&r, c->n_state);
        for (int k = 0; k < c->n_optim_arrays && !r.short_read; k++)
            c->optim[k] = get_floats(&r, c->n_params);
        c->best_params = get_floats(&r, c->n_params);
        c->best_state = get_floats(&r, c->n_state);
        c->history = calloc((size_t)(c->n_history ? c->n_history : 1), sizeof *c->history);
        for (int i = 0; c->history && i < c->n_history && !r.short_read; i++) {
            train_epoch_stats *s = &c->history[i];
            int32_t e;
            uint8_t best;
            GET(&r, e);
            GET(&r, s->train_loss);
            GET(&r, s->train_acc);
            GET(&r, s->val_loss);
            GET(&r, s->val_acc);
            GET(&r, s->seconds);
            GET(&r, best);
            s->epoch = e;
            s->best = best != 0;
        }
    }
    free(data);
    bool missing = !c->params || !c->state || !c->best_params || !c->best_state || !c->history;
    for (int k = 0; k < c->n_optim_arrays; k++)
        missing = missing || !c->optim[k];
    if (r.short_read || missing || r.pos != r.len) {
        checkpoint_free(c);
        return ssdc_fail(err, SSDC_ERR_FORMAT, "%s: malformed checkpoint", path);
    }
    return SSDC_OK;
}
