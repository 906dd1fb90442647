#include "runtime/kernel.h"

#include <stdio.h>

#include "passes/memplan.h"

const rt_kernel *rt_kernel_get(int op)
{
    static const rt_kernel *const table[GRAPH_OP_COUNT] = {
#define X(e, name, sym) &rt_kernel_##sym,
#include "graph/ops.def"
#include "graph/ops_training.def"
#undef X
    };
    if (op < 0 || op >= GRAPH_OP_COUNT)
        return NULL;
    const rt_kernel *k = table[op];
    return k && k->forward ? k : NULL;
}

unsigned rt_kernel_caps(int op, uint32_t *inplace)
{
    *inplace = 0;
    switch (op) {
    case GRAPH_OP_RESHAPE: case GRAPH_OP_FLATTEN: case GRAPH_OP_SQUEEZE:
    case GRAPH_OP_UNSQUEEZE: case GRAPH_OP_IDENTITY:
        return MEMPLAN_VIEW;
    /* element i read before element i is written, from input 0 */
    case GRAPH_OP_RELU: case GRAPH_OP_LEAKYRELU: case GRAPH_OP_SIGMOID: case GRAPH_OP_TANH:
    case GRAPH_OP_NEG: case GRAPH_OP_ABS: case GRAPH_OP_EXP: case GRAPH_OP_LOG:
    case GRAPH_OP_SQRT: case GRAPH_OP_CLIP: case GRAPH_OP_DROPOUT: case GRAPH_OP_ADD:
    case GRAPH_OP_SUB: case GRAPH_OP_MUL: case GRAPH_OP_DIV: case GRAPH_OP_QLUT:
        *inplace = 1u;
        return 0;
    default:
        return 0;
    }
}

ssdc_status rt_kernel_fail(const rt_kernel_ctx *ctx, ssdc_error *err, ssdc_status code,
                           const char *fmt, ...)
{
    if (!err)
        return code;
    char msg[SSDC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ssdc_fail(err, code, "node '%s' (%s): %s", ctx->node->name, ctx->node->op_type, msg);
}
