/* A structure-aware libFuzzer mutator for ONNX models (fuzz_onnx, fuzz_run).
 *
 * Byte-level mutation of a protobuf mostly breaks its framing, so most
 * mutants die in the decoder.  This mutator decodes the ModelProto with
 * protobuf-c, changes it the way a hostile or careless exporter could (op
 * types, node inputs/outputs, attributes added/removed/changed, graph input
 * shapes and dtypes, initializer dims and values, opset versions, node order,
 * duplicated nodes), and re-encodes it; one mutation in four is still
 * libFuzzer's own byte-level one.
 *
 * Memory: new strings are static (op names, attribute names, names taken
 * from the same model) and every pointer or count changed in the decoded
 * message is recorded in an undo log and restored before
 * onnx__model_proto__free_unpacked, so protobuf-c frees exactly what it
 * allocated; what the mutator allocated it frees itself.
 *
 * Only compiled into the fuzz build (SSDC_FUZZ); the regression replay in
 * the normal test suite does not need it. */
#ifndef SSDC_FUZZ_ONNX_MUTATOR_H
#define SSDC_FUZZ_ONNX_MUTATOR_H

#ifdef SSDC_FUZZ

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph/ops.h"
#include "onnx.pb-c.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

typedef struct {
    uint64_t s;
} fm_rng;

static uint64_t fm_next(fm_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t fm_below(fm_rng *r, size_t n)
{
    return n ? (size_t)(fm_next(r) % n) : 0;
}

static const int64_t fm_ints[] = {0,  1,  2,  3,  4,  -1, -2, -3, 5,  7,  8,  16, 64, 255, 256,
                                  1000, 65536, 100000, (int64_t)1 << 31, -((int64_t)1 << 31),
                                  INT32_MAX, INT32_MIN, (int64_t)1 << 40, INT64_MAX, INT64_MIN,
                                  INT64_MAX - 1, INT64_MIN + 1};
static const float fm_floats[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 1e-7f, 1e30f, -1e30f,
                                  3.4e38f, 1e-45f, __builtin_inff(), -__builtin_inff(),
                                  __builtin_nanf("")};
static const int32_t fm_dtypes[] = {1, 1, 1, 7, 7, 6, 9, 11, 2, 3, 5, 10, 8, 12, 13, 0, 99, -1};
static const char *const fm_names[] = {"", "x", "X", "input", "y", "N", "batch", "?"};

static int64_t fm_int(fm_rng *r, int64_t old)
{
    switch (fm_below(r, 4)) {
    case 0: return (int64_t)((uint64_t)old + 1u); /* wraps, no UB */
    case 1: return (int64_t)((uint64_t)old - 1u);
    default: return fm_ints[fm_below(r, sizeof fm_ints / sizeof fm_ints[0])];
    }
}

static float fm_float(fm_rng *r, float old)
{
    switch (fm_below(r, 4)) {
    case 0: return old * 2.0f;
    case 1: return -old;
    default: return fm_floats[fm_below(r, sizeof fm_floats / sizeof fm_floats[0])];
    }
}

/* ---- undo log ---- */

typedef enum { FM_PTR, FM_SIZE, FM_I32, FM_FREE, FM_FREE_ATTR, FM_FREE_DIM } fm_kind;

typedef struct {
    fm_kind kind;
    void *slot;
    void *ptr;
    size_t size;
    int32_t i32;
} fm_undo;

#define FM_MAX_UNDO 256

typedef struct {
    fm_rng rng;
    fm_undo undo[FM_MAX_UNDO];
    int n_undo;
    /* every tensor name of the model, for rewiring (pointers into the message) */
    char **names;
    size_t n_names;
} fm_ctx;

static bool fm_room(fm_ctx *c, int k)
{
    return c->n_undo + k <= FM_MAX_UNDO;
}

static void fm_set_ptr(fm_ctx *c, void *slot, void *value)
{
    fm_undo *u = &c->undo[c->n_undo++];
    u->kind = FM_PTR;
    u->slot = slot;
    memcpy(&u->ptr, slot, sizeof(void *));
    memcpy(slot, &value, sizeof(void *));
}

static void fm_set_size(fm_ctx *c, size_t *slot, size_t value)
{
    fm_undo *u = &c->undo[c->n_undo++];
    u->kind = FM_SIZE;
    u->slot = slot;
    u->size = *slot;
    *slot = value;
}

static void fm_free_later(fm_ctx *c, fm_kind kind, void *p)
{
    fm_undo *u = &c->undo[c->n_undo++];
    u->kind = kind;
    u->slot = NULL;
    u->ptr = p;
}

static void fm_rollback(fm_ctx *c)
{
    for (int i = c->n_undo - 1; i >= 0; i--) {
        fm_undo *u = &c->undo[i];
        switch (u->kind) {
        case FM_PTR: memcpy(u->slot, &u->ptr, sizeof(void *)); break;
        case FM_SIZE: *(size_t *)u->slot = u->size; break;
        case FM_I32: *(int32_t *)u->slot = u->i32; break;
        case FM_FREE_ATTR: {
            Onnx__AttributeProto *a = u->ptr;
            free(a->ints);
            free(a->floats);
            free(a);
            break;
        }
        case FM_FREE: free(u->ptr); break;
        case FM_FREE_DIM: free(u->ptr); break;
        }
    }
    c->n_undo = 0;
}

/* A copy of a pointer array with one more slot (the caller fills it). */
static void **fm_grow(fm_ctx *c, void *slot, size_t *count)
{
    void **old;
    memcpy(&old, slot, sizeof old);
    void **nw = malloc((*count + 1) * sizeof *nw);
    if (!nw)
        return NULL;
    if (*count)
        memcpy(nw, old, *count * sizeof *nw);
    fm_free_later(c, FM_FREE, nw);
    fm_set_ptr(c, slot, nw);
    fm_set_size(c, count, *count + 1);
    return nw;
}

/* ---- the mutations ---- */

static const char *fm_random_op(fm_ctx *c)
{
    int op = (int)fm_below(&c->rng, GRAPH_OP_COUNT);
    const char *name = graph_op_name(op);
    return name ? name : "Relu";
}

static char *fm_random_name(fm_ctx *c)
{
    if (c->n_names && fm_below(&c->rng, 8))
        return c->names[fm_below(&c->rng, c->n_names)];
    return (char *)fm_names[fm_below(&c->rng, sizeof fm_names / sizeof fm_names[0])];
}

static void fm_mutate_attr(fm_ctx *c, Onnx__AttributeProto *a)
{
    fm_rng *r = &c->rng;
    switch (fm_below(r, 6)) {
    case 0:
        a->has_i = 1;
        a->i = fm_int(r, a->i);
        break;
    case 1:
        a->has_f = 1;
        a->f = fm_float(r, a->f);
        break;
    case 2:
        if (a->n_ints)
            a->ints[fm_below(r, a->n_ints)] = fm_int(r, 0);
        else
            a->i = fm_int(r, a->i);
        break;
    case 3:
        if (a->n_floats)
            a->floats[fm_below(r, a->n_floats)] = fm_float(r, 1.0f);
        break;
    case 4: /* drop the last element of a list */
        if (a->n_ints)
            fm_set_size(c, &a->n_ints, a->n_ints - 1);
        else if (a->n_floats)
            fm_set_size(c, &a->n_floats, a->n_floats - 1);
        break;
    case 5: { /* another type tag than the payload */
        fm_undo *u = &c->undo[c->n_undo++];
        u->kind = FM_I32;
        u->slot = &a->type;
        u->i32 = (int32_t)a->type;
        a->has_type = 1;
        a->type = (Onnx__AttributeProto__AttributeType)(1 + fm_below(r, 8));
        break;
    }
    }
}

/* Adds an attribute the op's schema knows (or a random name), with a value. */
static void fm_add_attr(fm_ctx *c, Onnx__NodeProto *n)
{
    fm_rng *r = &c->rng;
    int op = graph_op_lookup(n->op_type ? n->op_type : "");
    const graph_op_schema *s = op >= 0 ? graph_op_schema_get(op) : NULL;
    const char *name = "axis";
    graph_attr_type type = GRAPH_ATTR_INT;
    if (s && s->attrs && s->attrs[0].name) {
        size_t k = 0;
        while (s->attrs[k].name)
            k++;
        const graph_attr_spec *sp = &s->attrs[fm_below(r, k)];
        name = sp->name;
        type = sp->type;
    }
    Onnx__AttributeProto *a = malloc(sizeof *a);
    if (!a)
        return;
    onnx__attribute_proto__init(a);
    fm_free_later(c, FM_FREE_ATTR, a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    switch (type) {
    case GRAPH_ATTR_FLOAT:
        a->has_f = 1;
        a->f = fm_float(r, 1.0f);
        break;
    case GRAPH_ATTR_INTS: {
        size_t k = fm_below(r, 9);
        a->ints = malloc((k ? k : 1) * sizeof *a->ints);
        if (a->ints) {
            a->n_ints = k;
            for (size_t i = 0; i < k; i++)
                a->ints[i] = fm_below(r, 3) ? (int64_t)fm_below(r, 4) : fm_int(r, 1);
        }
        break;
    }
    case GRAPH_ATTR_FLOATS: {
        size_t k = fm_below(r, 5);
        a->floats = malloc((k ? k : 1) * sizeof *a->floats);
        if (a->floats) {
            a->n_floats = k;
            for (size_t i = 0; i < k; i++)
                a->floats[i] = fm_float(r, 1.0f);
        }
        break;
    }
    case GRAPH_ATTR_STRING:
        a->has_s = 1;
        a->s.data = (uint8_t *)(fm_below(r, 2) ? "SAME_UPPER" : "VALID");
        a->s.len = strlen((const char *)a->s.data);
        break;
    default:
        a->has_i = 1;
        a->i = fm_below(r, 2) ? (int64_t)fm_below(r, 4) - 1 : fm_int(r, 0);
        break;
    }
    void **arr = fm_grow(c, &n->attribute, &n->n_attribute);
    if (arr)
        arr[n->n_attribute - 1] = a;
}

static void fm_mutate_node(fm_ctx *c, Onnx__GraphProto *g)
{
    fm_rng *r = &c->rng;
    if (!g->n_node)
        return;
    Onnx__NodeProto *n = g->node[fm_below(r, g->n_node)];
    switch (fm_below(r, 10)) {
    case 0:
        fm_set_ptr(c, &n->op_type, (void *)fm_random_op(c));
        break;
    case 1:
    case 2:
        if (n->n_input)
            fm_set_ptr(c, &n->input[fm_below(r, n->n_input)], fm_random_name(c));
        break;
    case 3:
        if (n->n_input && fm_below(r, 2))
            fm_set_size(c, &n->n_input, n->n_input - 1);
        else {
            void **arr = fm_grow(c, &n->input, &n->n_input);
            if (arr)
                arr[n->n_input - 1] = fm_random_name(c);
        }
        break;
    case 4:
        if (n->n_output && fm_below(r, 4) == 0)
            fm_set_ptr(c, &n->output[fm_below(r, n->n_output)], fm_random_name(c));
        else if (n->n_output > 1)
            fm_set_size(c, &n->n_output, n->n_output - 1);
        break;
    case 5:
    case 6:
        if (n->n_attribute)
            fm_mutate_attr(c, n->attribute[fm_below(r, n->n_attribute)]);
        else
            fm_add_attr(c, n);
        break;
    case 7:
        fm_add_attr(c, n);
        break;
    case 8:
        if (n->n_attribute) {
            /* remove one: swap it to the end of a private copy of the array */
            size_t k = fm_below(r, n->n_attribute), cnt = n->n_attribute;
            Onnx__AttributeProto **copy = malloc(cnt * sizeof *copy);
            if (!copy)
                break;
            memcpy(copy, n->attribute, cnt * sizeof *copy);
            Onnx__AttributeProto *t = copy[k];
            copy[k] = copy[cnt - 1];
            copy[cnt - 1] = t;
            fm_free_later(c, FM_FREE, copy);
            fm_set_ptr(c, &n->attribute, copy);
            fm_set_size(c, &n->n_attribute, cnt - 1);
        }
        break;
    case 9: { /* reorder: swap two nodes (in a private copy of the array) */
        size_t cnt = g->n_node;
        Onnx__NodeProto **copy = malloc(cnt * sizeof *copy);
        if (!copy)
            break;
        memcpy(copy, g->node, cnt * sizeof *copy);
        size_t a = fm_below(r, cnt), b = fm_below(r, cnt);
        Onnx__NodeProto *t = copy[a];
        copy[a] = copy[b];
        copy[b] = t;
        fm_free_later(c, FM_FREE, copy);
        fm_set_ptr(c, &g->node, copy);
        break;
    }
    }
}

static void fm_mutate_value_info(fm_ctx *c, Onnx__ValueInfoProto *vi)
{
    fm_rng *r = &c->rng;
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !vi->type->tensor_type)
        return;
    Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    Onnx__TensorShapeProto *sh = tt->shape;
    switch (fm_below(r, 4)) {
    case 0:
        tt->has_elem_type = 1;
        tt->elem_type = fm_dtypes[fm_below(r, sizeof fm_dtypes / sizeof fm_dtypes[0])];
        break;
    case 1:
    case 2:
        if (sh && sh->n_dim) {
            Onnx__TensorShapeProto__Dimension *d = sh->dim[fm_below(r, sh->n_dim)];
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
                /* keep the parameter string owned by the message: undo the switch */
                Onnx__TensorShapeProto__Dimension *nd = malloc(sizeof *nd);
                if (!nd)
                    break;
                onnx__tensor_shape_proto__dimension__init(nd);
                nd->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                nd->dim_value = fm_below(r, 2) ? (int64_t)fm_below(r, 6) : fm_int(r, 1);
                fm_free_later(c, FM_FREE_DIM, nd);
                size_t k;
                for (k = 0; sh->dim[k] != d; k++)
                    ;
                fm_set_ptr(c, &sh->dim[k], nd);
            } else if (fm_below(r, 3) == 0) {
                Onnx__TensorShapeProto__Dimension *nd = malloc(sizeof *nd);
                if (!nd)
                    break;
                onnx__tensor_shape_proto__dimension__init(nd);
                nd->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                nd->dim_param = (char *)(fm_below(r, 2) ? "N" : "batch");
                fm_free_later(c, FM_FREE_DIM, nd);
                size_t k;
                for (k = 0; sh->dim[k] != d; k++)
                    ;
                fm_set_ptr(c, &sh->dim[k], nd);
            } else {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = fm_below(r, 2) ? (int64_t)fm_below(r, 6) : fm_int(r, d->dim_value);
            }
        }
        break;
    case 3:
        if (sh && sh->n_dim && fm_below(r, 2))
            fm_set_size(c, &sh->n_dim, sh->n_dim - 1);
        else if (sh) {
            Onnx__TensorShapeProto__Dimension *nd = malloc(sizeof *nd);
            if (!nd)
                break;
            onnx__tensor_shape_proto__dimension__init(nd);
            nd->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            nd->dim_value = (int64_t)fm_below(r, 5);
            fm_free_later(c, FM_FREE_DIM, nd);
            void **arr = fm_grow(c, &sh->dim, &sh->n_dim);
            if (arr)
                arr[sh->n_dim - 1] = nd;
        }
        break;
    }
}

static void fm_mutate_tensor(fm_ctx *c, Onnx__TensorProto *t)
{
    fm_rng *r = &c->rng;
    switch (fm_below(r, 5)) {
    case 0:
        if (t->n_dims)
            t->dims[fm_below(r, t->n_dims)] = fm_below(r, 2) ? (int64_t)fm_below(r, 6)
                                                             : fm_int(r, 1);
        break;
    case 1:
        t->has_data_type = 1;
        t->data_type = fm_dtypes[fm_below(r, sizeof fm_dtypes / sizeof fm_dtypes[0])];
        break;
    case 2:
    case 3:
    case 4:
        /* an element of the payload: shape tensors (int64) get interesting values */
        if (t->has_raw_data && t->raw_data.len >= 8 && t->data_type == 7) {
            size_t k = fm_below(r, t->raw_data.len / 8);
            int64_t v = fm_int(r, 0);
            memcpy(t->raw_data.data + 8 * k, &v, 8);
        } else if (t->has_raw_data && t->raw_data.len >= 4 && t->data_type == 1) {
            size_t k = fm_below(r, t->raw_data.len / 4);
            float v = fm_float(r, 1.0f);
            memcpy(t->raw_data.data + 4 * k, &v, 4);
        } else if (t->n_int64_data) {
            t->int64_data[fm_below(r, t->n_int64_data)] = fm_int(r, 0);
        } else if (t->n_float_data) {
            t->float_data[fm_below(r, t->n_float_data)] = fm_float(r, 1.0f);
        } else if (t->n_int32_data) {
            t->int32_data[fm_below(r, t->n_int32_data)] = (int32_t)fm_int(r, 0);
        } else if (t->has_raw_data && t->raw_data.len) {
            t->raw_data.data[fm_below(r, t->raw_data.len)] ^= (uint8_t)(1u << fm_below(r, 8));
        }
        break;
    }
}

static void fm_collect_names(fm_ctx *c, Onnx__GraphProto *g)
{
    size_t cap = g->n_input + g->n_output + g->n_initializer;
    for (size_t i = 0; i < g->n_node; i++)
        cap += g->node[i]->n_output;
    c->names = malloc((cap ? cap : 1) * sizeof *c->names);
    c->n_names = 0;
    if (!c->names)
        return;
    for (size_t i = 0; i < g->n_input; i++)
        c->names[c->n_names++] = g->input[i]->name;
    for (size_t i = 0; i < g->n_initializer; i++)
        c->names[c->n_names++] = g->initializer[i]->name;
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_output; k++)
            c->names[c->n_names++] = g->node[i]->output[k];
    for (size_t i = 0; i < g->n_output; i++)
        c->names[c->n_names++] = g->output[i]->name;
    size_t k = 0;
    for (size_t i = 0; i < c->n_names; i++)
        if (c->names[i])
            c->names[k++] = c->names[i];
    c->n_names = k;
}

static void fm_mutate_model(fm_ctx *c, Onnx__ModelProto *m)
{
    fm_rng *r = &c->rng;
    Onnx__GraphProto *g = m->graph;
    size_t rounds = 1 + fm_below(r, 3);
    for (size_t k = 0; k < rounds && fm_room(c, 8); k++) {
        switch (fm_below(r, 12)) {
        case 0: case 1: case 2: case 3: case 4:
            fm_mutate_node(c, g);
            break;
        case 5: case 6:
            if (g->n_input)
                fm_mutate_value_info(c, g->input[fm_below(r, g->n_input)]);
            break;
        case 7:
            if (g->n_output)
                fm_mutate_value_info(c, g->output[fm_below(r, g->n_output)]);
            break;
        case 8: case 9:
            if (g->n_initializer)
                fm_mutate_tensor(c, g->initializer[fm_below(r, g->n_initializer)]);
            break;
        case 10:
            for (size_t i = 0; i < m->n_opset_import; i++) {
                Onnx__OperatorSetIdProto *o = m->opset_import[i];
                if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) {
                    o->has_version = 1;
                    o->version = fm_below(r, 4) ? 6 + (int64_t)fm_below(r, 14) : fm_int(r, 13);
                }
            }
            break;
        case 11: /* the same node twice (two producers of its outputs) */
            if (g->n_node) {
                Onnx__NodeProto *n = g->node[fm_below(r, g->n_node)];
                void **arr = fm_grow(c, &g->node, &g->n_node);
                if (arr)
                    arr[g->n_node - 1] = n;
            }
            break;
        }
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    fm_ctx c;
    memset(&c, 0, sizeof c);
    c.rng.s = seed * 0x2545F4914F6CDD1Dull + 1;
    if (fm_below(&c.rng, 4) == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    if (!m || !m->graph) {
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    fm_collect_names(&c, m->graph);
    fm_mutate_model(&c, m);
    size_t out = 0;
    size_t need = onnx__model_proto__get_packed_size(m);
    if (need <= max_size) {
        uint8_t *buf = malloc(need ? need : 1);
        if (buf) {
            out = onnx__model_proto__pack(m, buf);
            memcpy(data, buf, out);
            free(buf);
        }
    }
    fm_rollback(&c);
    free(c.names);
    onnx__model_proto__free_unpacked(m, NULL);
    return out ? out : LLVMFuzzerMutate(data, size, max_size);
}

#endif /* SSDC_FUZZ */
#endif
