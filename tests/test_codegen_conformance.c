/* Generated C against the runtime on the ONNX node tests (Debian's
 * libonnx-testdata): for every test the runtime passes (its outputs match the
 * test's within the conformance runner's 1e-4) and whose nodes codegen
 * supports, the generated code -- compiled with the strict warning flags and
 * run through its test program -- must match the runtime within 1e-5
 * (absolute, plus 1e-5 relative for large values).  Integer inputs that
 * decide shapes (Reshape's shape, Slice's starts, ...) are specialised to the
 * test's values.  Prints the counts and the reasons for unsupported tests.
 *
 * Environment: SSDC_CG_CONFORMANCE_FILTER=substring limits the tests;
 * SSDC_CG_CC overrides the compiler (default cc). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen/codegen.h"
#include "frontend/onnx_import.h"
#include "graph/ops.h"
#include "runtime/exec.h"
#include "runtime/kernel.h"
#include "test_codegen_harness.h"

#define DATA "/usr/share/libonnx-testdata/data/node"
#define RT_TOL 1e-4
#define CG_TOL 1e-5

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

typedef enum { T_NOT_RT, T_UNSUPPORTED, T_PASS, T_FAIL } outcome;

typedef struct {
    int pass, fail, unsupported, not_rt;
    char reasons[64][160];
    int reason_count[64];
    int n_reasons;
} tally;

static void add_reason(tally *t, const char *why)
{
    /* group by the part after "): " (the reason without the node name) */
    const char *r = strstr(why, "): ");
    r = r ? r + 3 : why;
    char key[160];
    snprintf(key, sizeof key, "%s", r);
    /* drop tensor names in quotes to group similar reasons */
    char *q = strchr(key, '\'');
    if (q) {
        char *e = strchr(q + 1, '\'');
        if (e)
            memmove(q + 1, e, strlen(e) + 1);
    }
    for (int i = 0; i < t->n_reasons; i++)
        if (!strcmp(t->reasons[i], key)) {
            t->reason_count[i]++;
            return;
        }
    if (t->n_reasons < 64) {
        snprintf(t->reasons[t->n_reasons], sizeof t->reasons[0], "%s", key);
        t->reason_count[t->n_reasons++] = 1;
    }
}

/* Reads input_<i>.pb / output_<o>.pb of one data set. */
static bool read_set(const char *dsdir, const graph *g, graph_value *in, graph_value *want)
{
    ssdc_error err = {0};
    for (int i = 0; i < g->n_inputs; i++) {
        char f[1400];
        snprintf(f, sizeof f, "%s/input_%d.pb", dsdir, i);
        if (onnx_read_tensor_file(f, &in[i], NULL, &err))
            return false;
    }
    for (int o = 0; o < g->n_outputs; o++) {
        char f[1400];
        snprintf(f, sizeof f, "%s/output_%d.pb", dsdir, o);
        if (onnx_read_tensor_file(f, &want[o], NULL, &err))
            return false;
    }
    return true;
}

static bool rt_matches(const double *got, const graph_value *want, int n_out)
{
    size_t k = 0;
    for (int o = 0; o < n_out; o++) {
        for (int64_t i = 0; i < want[o].numel; i++, k++) {
            double a = got[k], b = graph_value_get_f64(&want[o], i);
            if (isnan(a) && isnan(b))
                continue;
            if (isinf(a) && isinf(b) && (a > 0) == (b > 0))
                continue;
            if (!(fabs(a - b) <= RT_TOL + RT_TOL * fabs(b)))
                return false;
        }
    }
    return true;
}

static outcome run_test(const char *name, const char *dir, const char *tmp, const char *cc,
                        bool no_libm, double tol, char *why, size_t why_size, double *max_diff)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ssdc_error err = {0};
    graph *g = NULL;
    why[0] = 0;
    *max_diff = 0;
    if (onnx_import_file(path, &g, &err))
        return T_NOT_RT;
    for (int i = 0; i < g->n_nodes; i++)
        if (!graph_op_schema_get(g->nodes[i].op) || !rt_kernel_get(g->nodes[i].op)) {
            graph_free(g);
            return T_NOT_RT;
        }
    outcome result = T_PASS;
    for (int ds = 0; result == T_PASS; ds++) {
        char dsdir[1300];
        snprintf(dsdir, sizeof dsdir, "%s/test_data_set_%d", dir, ds);
        if (!exists(dsdir))
            break;
        int ni = g->n_inputs, no = g->n_outputs;
        graph_value *in = calloc((size_t)(ni ? ni : 1), sizeof *in);
        graph_value *want = calloc((size_t)(no ? no : 1), sizeof *want);
        double *ref = NULL, *got = NULL;
        unsigned char *flat = NULL;
        size_t n_ref = 0, n_got = 0;
        graph *gc = NULL;
        codegen_result res;
        memset(&res, 0, sizeof res);
        if (!in || !want || !read_set(dsdir, g, in, want) ||
            cgt_reference(g, in, &ref, &n_ref, &err)) {
            result = T_NOT_RT;
            goto next;
        }
        /* the runtime must pass (float outputs compared as the runner does) */
        {
            size_t total = 0;
            bool all_float = true;
            for (int o = 0; o < no; o++) {
                total += (size_t)want[o].numel;
                all_float = all_float && want[o].dtype == GRAPH_DT_FLOAT;
            }
            if (total != n_ref || !rt_matches(ref, want, no)) {
                result = T_NOT_RT;
                goto next;
            }
            (void)all_float;
        }
        gc = graph_clone(g);
        codegen_options opt;
        memset(&opt, 0, sizeof opt);
        opt.name = "m";
        opt.emit_main = true;
        opt.source_path = name;
        opt.no_libm = no_libm;
        ssdc_status st = rt_prepare_static(gc, &(spec_inputs){.values = in}, &opt.inference,
                                           &opt.spec, NULL, &err);
        if (!st)
            st = codegen_generate(gc, &opt, &res, &err);
        if (st == SSDC_ERR_UNSUPPORTED) {
            result = T_UNSUPPORTED;
            snprintf(why, why_size, "%s", res.unsupported ? res.unsupported : err.msg);
            why[strcspn(why, "\n")] = 0;
            goto next;
        }
        if (st) {
            result = T_FAIL;
            snprintf(why, why_size, "codegen: %.900s", err.msg);
            goto next;
        }
        char sub[1400];
        snprintf(sub, sizeof sub, "%s/%s", tmp, name);
        mkdir(sub, 0777);
        if (codegen_write(sub, "m", &res, &err)) {
            result = T_FAIL;
            snprintf(why, why_size, "write: %.900s", err.msg);
            goto next;
        }
        char exe[1500], log[4096];
        snprintf(exe, sizeof exe, "%s/main", sub);
        if (cgt_compile(sub, "m", cc, CGT_STRICT " -O1", exe, log, sizeof log) != 0) {
            result = T_FAIL;
            snprintf(why, why_size, "compile: %.400s", log);
            goto next;
        }
        /* the entry's inputs in slot order, raw bytes of each one's dtype */
        size_t n_flat = 0;
        for (int i = 0; i < ni; i++)
            if (res.input_slot[i] >= 0)
                n_flat += graph_value_bytes(&in[i]);
        flat = malloc(n_flat ? n_flat : 1);
        {
            size_t k = 0;
            for (int slot = 0; slot < res.n_run_inputs; slot++)
                for (int i = 0; i < ni; i++)
                    if (res.input_slot[i] == slot) {
                        size_t nb = graph_value_bytes(&in[i]);
                        memcpy(flat + k, in[i].data, nb);
                        k += nb;
                    }
        }
        int rc = cgt_run(NULL, exe, sub, flat, n_flat, &got, &n_got, log, sizeof log);
        if (rc != 0 || n_got != n_ref) {
            result = T_FAIL;
            snprintf(why, why_size, "run: exit %d, %zu values (expected %zu): %.300s", rc, n_got,
                     n_ref, log);
            goto next;
        }
        size_t worst;
        if (!cgt_close(got, ref, n_ref, tol, tol, max_diff, &worst)) {
            result = T_FAIL;
            snprintf(why, why_size, "value %zu is %.9g, the runtime gives %.9g", worst,
                     (double)got[worst], (double)ref[worst]);
        }
    next:
        for (int i = 0; in && i < ni; i++)
            free(in[i].data);
        for (int o = 0; want && o < no; o++)
            free(want[o].data);
        free(in);
        free(want);
        free(ref);
        free(got);
        free(flat);
        codegen_result_free(&res);
        graph_free(gc);
    }
    graph_free(g);
    return result;
}

static void run_all(bool no_libm, double tol)
{
    DIR *d = opendir(DATA);
    if (!d)
        cr_skip_test("no ONNX test data in %s (install libonnx-testdata)", DATA);
    const char *filter = getenv("SSDC_CG_CONFORMANCE_FILTER");
    const char *cc = getenv("SSDC_CG_CC") ? getenv("SSDC_CG_CC") : "cc";
    int cap = 2048, nt = 0;
    char **names = malloc((size_t)cap * sizeof *names);
    struct dirent *de;
    while ((de = readdir(d)) && nt < cap) {
        if (strncmp(de->d_name, "test_", 5) || (filter && !strstr(de->d_name, filter)))
            continue;
        names[nt++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nt, sizeof *names, cmp_str);
    char tmp[256];
    cr_assert(cgt_mkdtemp(tmp, sizeof tmp));
    tally t;
    memset(&t, 0, sizeof t);
    double worst_diff = 0;
    char worst_name[256] = "";
    for (int i = 0; i < nt; i++) {
        char dir[1024], why[1024];
        snprintf(dir, sizeof dir, "%s/%s", DATA, names[i]);
        double md;
        outcome r = run_test(names[i], dir, tmp, cc, no_libm, tol, why, sizeof why, &md);
        switch (r) {
        case T_NOT_RT: t.not_rt++; break;
        case T_UNSUPPORTED:
            t.unsupported++;
            add_reason(&t, why);
            if (getenv("SSDC_CG_VERBOSE"))
                printf("unsupported %s: %s\n", names[i], why);
            break;
        case T_PASS:
            t.pass++;
            if (md > worst_diff) {
                worst_diff = md;
                snprintf(worst_name, sizeof worst_name, "%s", names[i]);
            }
            break;
        case T_FAIL:
            t.fail++;
            printf("FAIL %s: %s\n", names[i], why);
            break;
        }
        free(names[i]);
    }
    free(names);
    cgt_rmtree(tmp);
    printf("\ncodegen conformance%s: %d tests the runtime passes; generated C matches the runtime "
           "within %g on %d, differs on %d; %d use what codegen does not support\n",
           no_libm ? " (--no-libm)" : "", t.pass + t.fail + t.unsupported, tol, t.pass, t.fail,
           t.unsupported);
    printf("largest difference: %.3g (%s)\n", worst_diff, worst_name);
    printf("unsupported, by reason:\n");
    for (int i = 0; i < t.n_reasons; i++)
        printf("  %4d  %s\n", t.reason_count[i], t.reasons[i]);
    fflush(stdout);
    cr_expect_eq(t.fail, 0, "%d tests differ or fail to compile (see above)", t.fail);
    if (!filter)
        cr_expect_geq(t.pass, 400, "only %d tests generated and matched", t.pass);
}

Test(codegen_conformance, node_tests, .timeout = 1800)
{
    run_all(false, CG_TOL);
}

Test(codegen_conformance, node_tests_no_libm, .timeout = 1800)
{
    run_all(true, 1e-4);
}
