/* ONNX conformance runner over the node tests of Debian's libonnx-testdata.
 *
 *   conformance [--data DIR] [--expected FILE] [--write-expected FILE]
 *               [--filter SUBSTR] [--verbose]
 *
 * --write-expected FILE rewrites the list from this run; given --expected too,
 * the reasons written there by hand are kept for tests whose status is unchanged.
 *
 * Every test whose ops all have a schema and a kernel is attempted; a test
 * passes when every output matches within 1e-4 absolute + 1e-4 relative.
 * Prints "N passed, M failed (S skipped)" and a per-op table.  With
 * --expected, exits non-zero unless the pass rate is at least 95% and every
 * failure and skip is listed in FILE with the same status (and nothing listed
 * there passes now). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/onnx_import.h"
#include "graph/ops.h"
#include "runtime/exec.h"
#include "runtime/kernel.h"

#define TOL_ABS 1e-4
#define TOL_REL 1e-4

typedef enum { RES_PASS, RES_FAIL, RES_SKIP } result_kind;

typedef struct {
    char name[256];
    result_kind kind;
    char reason[1200];
    char ops[512]; /* space-separated distinct op types */
} result;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static bool values_match(const graph_value *got, const graph_value *want, char *why, size_t size)
{
    if (got->rank != want->rank) {
        snprintf(why, size, "rank %d, expected %d", got->rank, want->rank);
        return false;
    }
    for (int d = 0; d < got->rank; d++)
        if (got->dims[d] != want->dims[d]) {
            snprintf(why, size, "dimension %d is %lld, expected %lld", d, (long long)got->dims[d],
                     (long long)want->dims[d]);
            return false;
        }
    bool fl_got = got->dtype == GRAPH_DT_FLOAT || got->dtype == GRAPH_DT_DOUBLE;
    bool fl_want = want->dtype == GRAPH_DT_FLOAT || want->dtype == GRAPH_DT_DOUBLE;
    if (got->dtype != want->dtype) {
        snprintf(why, size, "dtype %s, expected %s", graph_dtype_name(got->dtype),
                 graph_dtype_name(want->dtype));
        return false;
    }
    for (int64_t i = 0; i < got->numel; i++) {
        if (fl_got || fl_want) {
            double a = graph_value_get_f64(got, i), b = graph_value_get_f64(want, i);
            if (isnan(a) && isnan(b))
                continue;
            if (isinf(a) && isinf(b) && (a > 0) == (b > 0))
                continue;
            if (!(fabs(a - b) <= TOL_ABS + TOL_REL * fabs(b))) {
                snprintf(why, size, "element %lld is %.8g, expected %.8g", (long long)i, a, b);
                return false;
            }
        } else if (graph_value_get_i64(got, i) != graph_value_get_i64(want, i)) {
            snprintf(why, size, "element %lld is %lld, expected %lld", (long long)i,
                     (long long)graph_value_get_i64(got, i),
                     (long long)graph_value_get_i64(want, i));
            return false;
        }
    }
    return true;
}

static void collect_ops(const graph *g, char *ops, size_t size)
{
    ops[0] = 0;
    size_t pos = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const char *t = g->nodes[i].op_type;
        bool dup = false;
        for (int j = 0; j < i; j++)
            if (!strcmp(g->nodes[j].op_type, t))
                dup = true;
        if (!dup && pos < size)
            pos += (size_t)snprintf(ops + pos, size - pos, "%s%s", pos ? " " : "", t);
    }
}

/* Runs every test_data_set_* of one test folder. */
static void run_one(const char *dir, result *r)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ssdc_error err = {0};
    graph *g = NULL;
    r->kind = RES_PASS;
    r->reason[0] = 0;
    r->ops[0] = 0;
    if (onnx_import_file(path, &g, &err)) {
        /* a valid model using what ssdc does not support (a dtype, a domain,
         * sequence types) is a skip; any other import error is a failure */
        r->kind = err.code == SSDC_ERR_UNSUPPORTED ? RES_SKIP : RES_FAIL;
        snprintf(r->reason, sizeof r->reason, "import: %s", err.msg);
        return;
    }
    collect_ops(g, r->ops, sizeof r->ops);
    for (int i = 0; i < g->n_nodes; i++) {
        const graph_node *n = &g->nodes[i];
        if (!graph_op_schema_get(n->op) || !rt_kernel_get(n->op)) {
            r->kind = RES_SKIP;
            snprintf(r->reason, sizeof r->reason, "op %s%s%s not implemented",
                     n->domain[0] ? n->domain : "", n->domain[0] ? "::" : "", n->op_type);
            graph_free(g);
            return;
        }
    }
    for (int ds = 0;; ds++) {
        char dsdir[1100];
        snprintf(dsdir, sizeof dsdir, "%s/test_data_set_%d", dir, ds);
        if (!file_exists(dsdir))
            break;
        int n_in = g->n_inputs;
        graph_value *in = calloc((size_t)(n_in ? n_in : 1), sizeof *in);
        bool ok = in != NULL;
        for (int i = 0; ok && i < n_in; i++) {
            char f[1200];
            snprintf(f, sizeof f, "%s/input_%d.pb", dsdir, i);
            if (onnx_read_tensor_file(f, &in[i], NULL, &err)) {
                r->kind = RES_FAIL;
                snprintf(r->reason, sizeof r->reason, "reading input %d: %s", i, err.msg);
                ok = false;
            }
        }
        rt_session *s = NULL;
        if (ok && (rt_session_create(g, NULL, &s, &err) || rt_session_run(s, in, &err))) {
            r->kind = RES_FAIL;
            snprintf(r->reason, sizeof r->reason, "run: %s", err.msg);
            ok = false;
        }
        for (int o = 0; ok && o < g->n_outputs; o++) {
            char f[1200];
            snprintf(f, sizeof f, "%s/output_%d.pb", dsdir, o);
            graph_value want = {0};
            if (onnx_read_tensor_file(f, &want, NULL, &err)) {
                r->kind = RES_FAIL;
                snprintf(r->reason, sizeof r->reason, "reading output %d: %s", o, err.msg);
                ok = false;
                break;
            }
            char why[256];
            if (!values_match(rt_session_output(s, o), &want, why, sizeof why)) {
                r->kind = RES_FAIL;
                snprintf(r->reason, sizeof r->reason, "data set %d output %d '%s': %s", ds, o,
                         g->tensors[g->outputs[o]].name, why);
                ok = false;
            }
            free(want.data);
        }
        rt_session_free(s);
        for (int i = 0; in && i < n_in; i++)
            free(in[i].data);
        free(in);
        if (!ok)
            break;
    }
    graph_free(g);
}

typedef struct {
    char name[256];
    result_kind kind;
    bool seen;
    char reason[1200];
} expect;

static const char *kind_name(result_kind k)
{
    return k == RES_PASS ? "pass" : k == RES_FAIL ? "fail" : "skip";
}

/* Expected file: one "test_name<TAB|spaces>fail|skip<spaces>reason" per line; '#' comments. */
static expect *read_expected(const char *path, int *count)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    int cap = 256, n = 0;
    expect *e = malloc((size_t)cap * sizeof *e);
    char line[2048];
    while (e && fgets(line, sizeof line, f)) {
        char name[256], kind[16];
        int used = 0;
        if (line[0] == '#' || sscanf(line, "%255s %15s %n", name, kind, &used) != 2)
            continue;
        line[strcspn(line, "\n")] = 0;
        if (n == cap) {
            cap *= 2;
            expect *ne = realloc(e, (size_t)cap * sizeof *e);
            if (!ne)
                break;
            e = ne;
        }
        snprintf(e[n].name, sizeof e[n].name, "%s", name);
        e[n].kind = !strcmp(kind, "fail") ? RES_FAIL : !strcmp(kind, "skip") ? RES_SKIP : RES_PASS;
        e[n].seen = false;
        snprintf(e[n].reason, sizeof e[n].reason, "%s", line + used);
        n++;
    }
    fclose(f);
    *count = n;
    return e;
}

int main(int argc, char **argv)
{
    const char *data = "/usr/share/libonnx-testdata/data/node";
    const char *expected = NULL, *write_expected = NULL, *filter = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else if (!strcmp(argv[i], "--expected") && i + 1 < argc)
            expected = argv[++i];
        else if (!strcmp(argv[i], "--write-expected") && i + 1 < argc)
            write_expected = argv[++i];
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
            verbose = true;
        else {
            fprintf(stderr, "usage: conformance [--data DIR] [--expected FILE] "
                            "[--write-expected FILE] [--filter SUBSTR] [--verbose]\n");
            return 2;
        }
    }
    DIR *d = opendir(data);
    if (!d) {
        fprintf(stderr, "conformance: cannot open %s (install libonnx-testdata)\n", data);
        return 1;
    }
    int cap = 1024, nt = 0;
    char **names = malloc((size_t)cap * sizeof *names);
    struct dirent *de;
    while (names && (de = readdir(d))) {
        if (strncmp(de->d_name, "test_", 5) != 0)
            continue;
        if (filter && !strstr(de->d_name, filter))
            continue;
        if (nt == cap) {
            cap *= 2;
            char **nn = realloc(names, (size_t)cap * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        names[nt++] = strdup(de->d_name);
    }
    closedir(d);
    if (!names)
        return 1;
    qsort(names, (size_t)nt, sizeof *names, cmp_str);
    result *res = calloc((size_t)(nt ? nt : 1), sizeof *res);
    if (!res)
        return 1;
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < nt; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", data, names[i]);
        snprintf(res[i].name, sizeof res[i].name, "%s", names[i]);
        run_one(dir, &res[i]);
        if (res[i].kind == RES_PASS)
            passed++;
        else if (res[i].kind == RES_FAIL)
            failed++;
        else
            skipped++;
        if (verbose || res[i].kind == RES_FAIL)
            printf("%-60s %s%s%s\n", res[i].name, kind_name(res[i].kind),
                   res[i].reason[0] ? "  " : "", res[i].reason);
    }

    /* per-op table: every op of an attempted test gets the test's result */
    printf("\n%-24s %9s %7s %7s\n", "op", "attempted", "passed", "failed");
    for (int op = 0; op < GRAPH_OP_COUNT; op++) {
        const char *nm = graph_op_name(op);
        int att = 0, ok = 0;
        for (int i = 0; i < nt; i++) {
            if (res[i].kind == RES_SKIP)
                continue;
            char pat[64];
            snprintf(pat, sizeof pat, " %s ", nm);
            char ops[520];
            snprintf(ops, sizeof ops, " %s ", res[i].ops);
            if (!strstr(ops, pat))
                continue;
            att++;
            ok += res[i].kind == RES_PASS;
        }
        if (att)
            printf("%-24s %9d %7d %7d\n", nm, att, ok, att - ok);
        else if (graph_op_schema_get(op) && rt_kernel_get(op))
            printf("%-24s %9d %7d %7d   (no test attempted)\n", nm, 0, 0, 0);
    }
    int attempted = passed + failed;
    double rate = attempted ? 100.0 * passed / attempted : 0.0;
    printf("\n%d passed, %d failed (%d skipped; %.1f%% of %d attempted pass)\n", passed, failed,
           skipped, rate, attempted);

    int rc = 0;
    int n_old = 0;
    expect *old = expected ? read_expected(expected, &n_old) : NULL;
    if (write_expected) {
        FILE *f = fopen(write_expected, "w");
        if (!f) {
            perror(write_expected);
            return 1;
        }
        fprintf(f, "# ONNX node tests (libonnx-testdata) that ssdc does not pass, with the reason.\n"
                   "# Regenerate: build/tests/conformance --write-expected "
                   "tests/conformance_expected.txt\n"
                   "# test  status  reason\n");
        for (int i = 0; i < nt; i++) {
            if (res[i].kind == RES_PASS)
                continue;
            const char *reason = res[i].reason;
            for (int j = 0; j < n_old; j++)
                if (!strcmp(old[j].name, res[i].name) && old[j].kind == res[i].kind && old[j].reason[0])
                    reason = old[j].reason; /* keep a hand-written reason */
            fprintf(f, "%s\t%s\t%s\n", res[i].name, kind_name(res[i].kind), reason);
        }
        fclose(f);
        free(old);
        old = NULL;
        expected = NULL; /* just rewritten: nothing to compare */
    }
    if (expected) {
        int ne = 0;
        expect *e = read_expected(expected, &ne);
        if (!e) {
            fprintf(stderr, "conformance: cannot read %s\n", expected);
            return 1;
        }
        for (int i = 0; i < nt; i++) {
            expect *hit = NULL;
            for (int j = 0; j < ne; j++)
                if (!strcmp(e[j].name, res[i].name))
                    hit = &e[j];
            if (hit)
                hit->seen = true;
            if (res[i].kind == RES_PASS && hit) {
                printf("UNEXPECTED PASS: %s is listed as %s in %s; remove it\n", res[i].name,
                       kind_name(hit->kind), expected);
                rc = 1;
            } else if (res[i].kind != RES_PASS && (!hit || hit->kind != res[i].kind)) {
                printf("UNLISTED %s: %s (%s) is not listed as %s in %s\n",
                       kind_name(res[i].kind), res[i].name, res[i].reason, kind_name(res[i].kind),
                       expected);
                rc = 1;
            }
        }
        free(e);
        if (!filter && rate < 95.0) {
            printf("pass rate %.1f%% is below 95%%\n", rate);
            rc = 1;
        }
    }
    free(old);
    for (int i = 0; i < nt; i++)
        free(names[i]);
    free(names);
    free(res);
    return rc;
}
