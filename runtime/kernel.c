#include "runtime/kernel.h"

#include <stdio.h>

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
