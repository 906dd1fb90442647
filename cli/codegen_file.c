/* The generated C of a model file: import, static graph, generation
 * (ssdc codegen, the pipeline's deploy step, the code generation tests). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "codegen/codegen.h"
#include "frontend/onnx_import.h"
#include "graph/fileio.h"
#include "runtime/exec.h"

ssdc_status cli_codegen_file(const char *model_path, const codegen_options *opt,
                             codegen_result *res, rt_plan_stats *rt, ssdc_error *err)
{
    memset(res, 0, sizeof *res);
    void *buf = NULL;
    size_t len = 0;
    ssdc_status st = ssdc_read_file(model_path, (size_t)2 << 30, &buf, &len, err);
    if (st)
        return st;
    char sha[65];
    codegen_sha256_hex(buf, len, sha);
    graph *g = NULL;
    st = onnx_import_buffer(buf, len, model_path, &g, err);
    free(buf);
    if (st)
        return st;
    codegen_options o = *opt;
    o.source_path = opt->source_path ? opt->source_path : model_path;
    o.source_sha256 = sha;
    if (!codegen_valid_name(o.name))
        st = codegen_generate(g, &o, res, err); /* the name's error */
    else if (!(st = rt_prepare_static(g, &(spec_inputs){.batch = opt->batch}, &o.inference,
                                      &o.spec, rt, err)))
        st = codegen_generate(g, &o, res, err);
    if (st && st != SSDC_ERR_ARG)
        ssdc_error_prefix(err, "%s", model_path);
    graph_free(g);
    return st;
}
