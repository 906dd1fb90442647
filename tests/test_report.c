/* The HTML run report end to end: a short CBF pipeline with --report and
 * --metrics; the page has the charts, the comparison table with the
 * accuracies the CLI printed, every epoch line's numbers and confusion
 * matrices that agree with the printed accuracies; `ssdc report` rebuilds the
 * same page from the metrics log; headless Chromium renders it (the
 * screenshot stays in the build folder: tests/report-artifacts/). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *env(const char *k)
{
    const char *v = getenv(k);
    cr_assert(v, "run through meson test (%s)", k);
    return v;
}

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The folder with this build's artifacts (kept, not committed). */
static void artifacts(char *dir, size_t n)
{
    snprintf(dir, n, "%s/tests/report-artifacts", env("SSDC_BUILD_ROOT"));
    mkdir(dir, 0777);
}

typedef struct {
    char name[64], acc[32], secs[32];
} table_row;

/* Rows of the comparison table pipeline printed. */
static int parse_table(const char *out, table_row *rows, int max)
{
    const char *p = strstr(out, "\nmodel ");
    cr_assert(p, "no comparison table in the output:\n%s", out);
    p = strchr(p + 1, '\n') + 1;
    int n = 0;
    while (*p && *p != '\n' && n < max) {
        const char *e = strchr(p, '\n');
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(e - p), p);
        char *pc = strchr(line, '%');
        cr_assert(pc, "table row without accuracy: %s", line);
        char *a = pc;
        while (a > line && a[-1] != ' ')
            a--;
        char *name_end = a;
        while (name_end > line && name_end[-1] == ' ')
            name_end--;
        table_row *r = &rows[n++];
        snprintf(r->name, sizeof r->name, "%.*s", (int)(name_end - line), line);
        snprintf(r->acc, sizeof r->acc, "%.*s", (int)(pc - a + 1), a);
        cr_assert_eq(sscanf(pc + 1, "%31s", r->secs), 1);
        p = e + 1;
    }
    return n;
}

/* The HTML-escaped form of a row name ("teacher (CE, early stopping)" has none). */
static const char *html_row(const char *html, const char *name)
{
    char key[1200];
    snprintf(key, sizeof key, "<tr><td class=\"text\">%s</td>", name);
    const char *p = strstr(html, key);
    cr_assert(p, "no table row '%s' in the report", name);
    return p;
}

/* Sums "true i, predicted j: N" over the confusion heat map with this id. */
static void confusion_sums(const char *html, const char *id, long long *total, long long *diag)
{
    char key[160];
    snprintf(key, sizeof key, "id=\"confusion-%s\"", id);
    const char *p = strstr(html, key);
    cr_assert(p, "no confusion matrix %s", key);
    const char *end = strstr(p, "</svg>");
    *total = *diag = 0;
    for (const char *q = strstr(p, "<title>true "); q && q < end; q = strstr(q + 1, "<title>true ")) {
        int i, j;
        long long v;
        cr_assert_eq(sscanf(q, "<title>true %d, predicted %d: %lld", &i, &j, &v), 3);
        *total += v;
        if (i == j)
            *diag += v;
    }
}

static void id_of(const char *name, char *id, size_t n)
{
    size_t k = 0;
    for (const char *c = name; *c && k + 1 < n; c++)
        id[k++] = ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))
                      ? *c
                      : '-';
    id[k] = 0;
}

Test(report, pipeline_page_matches_cli_and_renders, .timeout = 600)
{
    char dir[512], cmd[4096], html_path[600], csv_path[600], out_path[600], re_path[600],
        png[600];
    artifacts(dir, sizeof dir);
    snprintf(html_path, sizeof html_path, "%s/run.html", dir);
    snprintf(csv_path, sizeof csv_path, "%s/metrics.csv", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(re_path, sizeof re_path, "%s/rebuilt.html", dir);
    snprintf(png, sizeof png, "%s/screenshot.png", dir);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && OPENBLAS_NUM_THREADS=1 '%s' pipeline --data cbf --epochs 3 "
             "--teacher-epochs 3 --batch 16 --ablations --threads 1 --seed 3 -o models "
             "--report '%s' --metrics '%s' >'%s' 2>&1",
             dir, env("SSDC_BIN"), html_path, csv_path, out_path);
    int rc = sh(cmd);
    char *out = slurp(out_path, NULL);
    cr_assert_eq(rc, 0, "pipeline failed:\n%s", out);
    char *html = slurp(html_path, NULL);

    /* self-contained: no script, nothing fetched */
    cr_assert_eq(count(html, "<script"), 0);
    cr_assert_eq(count(html, "src="), 0);
    cr_assert_eq(count(html, "url("), 0);
    cr_assert_eq(count(html, "http://") + count(html, "https://"),
                 count(html, "xmlns=\"http://www.w3.org/2000/svg\""),
                 "the page refers to something outside it");

    /* charts: learning curves per run, SGKD for the SSD student, balance, confusions */
    const char *runs[] = {"teacher", "student[ssd]", "student[ce]", "student[self-distill]",
                          "student[all-reps-cosine]"};
    for (int i = 0; i < 5; i++) {
        char id[64], key[160];
        id_of(runs[i], id, sizeof id);
        snprintf(key, sizeof key, "<svg class=\"chart curves\" id=\"curves-%s\"", id);
        cr_assert(strstr(html, key), "no learning curves for %s", runs[i]);
    }
    cr_assert(strstr(html, "<svg class=\"chart weights\" id=\"weights-student-ssd-\""));
    cr_assert(strstr(html, "<svg class=\"chart kept\" id=\"kept-student-ssd-\""));
    cr_assert_eq(count(html, "<svg class=\"chart weights\""), 1, "SGKD weights only for SSD");
    cr_assert(strstr(html, "<title>Learning curves: teacher (ce)</title>"));
    cr_assert(strstr(html, "<title>SGKD weights per epoch: student[ssd] (K = 30)</title>"));
    cr_assert(strstr(html, "<title>Class balance: samples per class</title>"));
    cr_assert_geq(count(html, "<svg "), 5 + 2 + 1 + 5);
    cr_assert_eq(count(html, "<svg "), count(html, "</svg>"));

    /* data set summary as printed: "data: cbf (cbf): 30 train / 900 test samples, ..." */
    long long ntr, nte;
    int C;
    const char *d = strstr(out, "data: cbf (cbf): ");
    cr_assert(d);
    cr_assert_eq(sscanf(d, "data: cbf (cbf): %lld train / %lld test samples, %d classes", &ntr,
                        &nte, &C), 3);
    char key[1024];
    snprintf(key, sizeof key, "%lld train / %lld test", ntr, nte);
    cr_assert(strstr(html, key), "no '%s'", key);
    snprintf(key, sizeof key, "<th>classes</th><td>%d</td>", C);
    cr_assert(strstr(html, key));
    cr_assert(strstr(html, "<th>series length</th><td>128</td>"));
    cr_assert(strstr(html, "<td class=\"text\">cylinder</td>"));

    /* the comparison table: same accuracies and seconds as printed */
    table_row rows[8];
    int n = parse_table(out, rows, 8);
    cr_assert_eq(n, 6, "expected teacher + 4 students + the SSD student's generated C, got %d rows",
                 n);
    cr_assert_str_eq(rows[5].name, "student (generated C)");
    for (int i = 0; i < n; i++) {
        const char *row = html_row(html, rows[i].name);
        const char *end = strstr(row, "</tr>");
        char acc[64], secs[64];
        snprintf(acc, sizeof acc, "<td class=\"acc\">%s</td>", rows[i].acc);
        /* no training time for the generated C: "-" printed, "\u2013" in the page */
        snprintf(secs, sizeof secs, "<td>%s</td>",
                 strcmp(rows[i].secs, "-") ? rows[i].secs : "\u2013");
        const char *a = strstr(row, acc), *s = strstr(row, secs);
        cr_assert(a && a < end, "row '%s': accuracy %s not in the report", rows[i].name,
                  rows[i].acc);
        cr_assert(s && s < end, "row '%s': seconds %s not in the report", rows[i].name,
                  rows[i].secs);
        /* its confusion matrix: n_test samples, diagonal = the printed accuracy */
        char id[96];
        id_of(rows[i].name, id, sizeof id);
        long long total, diag;
        confusion_sums(html, id, &total, &diag);
        cr_assert_eq(total, nte, "%s: confusion holds %lld samples", rows[i].name, total);
        char pa[32];
        snprintf(pa, sizeof pa, "%.2f%%", 100.0 * (double)diag / (double)total);
        cr_assert_str_eq(pa, rows[i].acc, "%s: confusion diagonal gives %s", rows[i].name, pa);
    }

    /* every epoch line's numbers are in that run's table */
    int lines = 0;
    for (const char *p = out; (p = strstr(p, " epoch ")); p++) {
        int e, E;
        char loss[32], acc[32], vl[32], va[32];
        if (sscanf(p, " epoch %d/%d loss %31s acc %31s val_loss %31s val_acc %31s", &e, &E, loss,
                   acc, vl, va) != 6)
            continue;
        char row[256];
        snprintf(row, sizeof row, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
                 e, loss, acc, vl, va);
        cr_assert(strstr(html, row), "epoch line not in the report: %s", row);
        lines++;
    }
    cr_assert_eq(lines, 15, "expected 5 runs x 3 epoch lines, found %d", lines);

    /* model summary: the numbers ssdc inspect prints for the exported model */
    snprintf(cmd, sizeof cmd, "'%s' inspect '%s/models/student.onnx' >'%s/inspect.txt' 2>&1",
             env("SSDC_BIN"), dir, dir);
    cr_assert_eq(sh(cmd), 0);
    snprintf(key, sizeof key, "%s/inspect.txt", dir);
    char *ins = slurp(key, NULL);
    long long params, flops;
    const char *pp = strstr(ins, "parameters: "), *fp = strstr(ins, "FLOPs per sample: ");
    cr_assert(pp && fp);
    sscanf(pp, "parameters: %lld", &params);
    sscanf(fp, "FLOPs per sample: %lld", &flops);
    snprintf(key, sizeof key, "<th>parameters</th><td>%lld (", params);
    cr_assert(strstr(html, key), "no '%s'", key);
    snprintf(key, sizeof key, "<th>FLOPs per sample</th><td>%lld (", flops);
    cr_assert(strstr(html, key), "no '%s'", key);
    free(ins);

    /* the generated C's static arena, as the pipeline printed it ("arena N B") */
    const char *ca = strstr(out, "; arena ");
    long long arena;
    cr_assert(ca && sscanf(ca, "; arena %lld B", &arena) == 1, "no C arena printed:\n%s", out);
    cr_assert(!strstr(html, "no C generated"), "the page says no C was generated");
    const char *ra = strstr(html, "<th>static arena of the generated C</th><td>");
    cr_assert(ra, "no row for the generated C's arena");
    snprintf(key, sizeof key, " (%lld bytes)</td></tr>", arena);
    const char *rb = strstr(ra, key), *re = strstr(ra, "</tr>");
    cr_assert(rb && rb < re, "the page's C arena is not the %lld bytes printed", arena);

    /* ssdc report rebuilds the same page from the metrics log */
    snprintf(cmd, sizeof cmd, "'%s' report '%s' -o '%s' >/dev/null && cmp -s '%s' '%s'",
             env("SSDC_BIN"), csv_path, re_path, html_path, re_path);
    cr_assert_eq(sh(cmd), 0, "ssdc report did not reproduce %s", html_path);

    /* headless Chromium renders it */
    cr_assert_eq(sh("command -v chromium >/dev/null"), 0,
                 "chromium is not installed (scripts/install-deps.sh --test)");
    unlink(png);
    snprintf(cmd, sizeof cmd,
             "profile=$(mktemp -d) && timeout 300 chromium --headless --no-sandbox --disable-gpu "
             "--disable-quic --no-first-run --disable-background-networking "
             "--disable-component-update --disable-sync --user-data-dir=\"$profile\" "
             "--screenshot='%s' --window-size=1280,2400 'file://%s' >'%s/chromium.log' 2>&1; "
             "rc=$?; rm -rf \"$profile\"; exit $rc",
             png, html_path, dir);
    rc = sh(cmd);
    struct stat st;
    cr_assert_eq(stat(png, &st), 0, "no screenshot (chromium exit %d, see %s/chromium.log)", rc,
                 dir);
    /* a PNG of 1280 x 2400 with content (an empty page compresses to a few KiB) */
    size_t plen;
    unsigned char *p = (unsigned char *)slurp(png, &plen);
    cr_assert_geq(plen, 24);
    cr_assert_eq(memcmp(p, "\x89PNG\r\n\x1a\n", 8), 0);
    unsigned w = (unsigned)p[16] << 24 | p[17] << 16 | p[18] << 8 | p[19];
    unsigned h = (unsigned)p[20] << 24 | p[21] << 16 | p[22] << 8 | p[23];
    cr_assert_eq(w, 1280);
    cr_assert_eq(h, 2400);
    cr_assert_gt(plen, 60000, "screenshot of %zu bytes: the page looks empty", plen);
    free(p);
    free(html);
    free(out);
}

Test(report, train_and_bad_logs, .timeout = 300)
{
    char dir[512], cmd[4096];
    artifacts(dir, sizeof dir);
    /* ssdc train --report: one run, train/val/test accuracies as printed */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && OPENBLAS_NUM_THREADS=1 '%s' train '%s/models/cnn1d.onnx' --data cbf "
             "--init fresh --epochs 4 --batch 8 --patience 3 --threads 1 -o '%s/train.onnx' "
             "--report '%s/train.html' --metrics '%s/train.csv' >'%s/train.txt' 2>&1",
             dir, env("SSDC_BIN"), env("SSDC_SOURCE_ROOT"), dir, dir, dir, dir);
    char path[600];
    snprintf(path, sizeof path, "%s/train.txt", dir);
    int rc = sh(cmd);
    char *out = slurp(path, NULL);
    cr_assert_eq(rc, 0, "%s", out);
    snprintf(path, sizeof path, "%s/train.html", dir);
    char *html = slurp(path, NULL);
    char tra[32], va[32], te[32];
    const char *a = strstr(out, "accuracy: train ");
    cr_assert(a);
    cr_assert_eq(sscanf(a, "accuracy: train %31s val %31s test %31s", tra, va, te), 3);
    const char *row = strstr(html, "<tr><td class=\"text\">model (CE)</td>");
    cr_assert(row);
    char key[128];
    snprintf(key, sizeof key, "<td class=\"acc\">%s</td><td>", te);
    cr_assert(strstr(row, key), "test accuracy %s not in the report", te);
    snprintf(key, sizeof key, "<td>%s</td><td>%s</td>", tra, va);
    cr_assert(strstr(row, key), "train/val accuracy %s %s not in the report", tra, va);
    cr_assert(strstr(html, "<svg class=\"chart curves\" id=\"curves-model\""));
    cr_assert(strstr(html, "<svg class=\"chart confusion\" id=\"confusion-model--CE-\""));
    cr_assert(!strstr(html, "chart weights"), "no SGKD charts for a CE run");
    free(html);
    free(out);

    /* bad metrics logs: one-line errors naming file:line, exit 1 */
    static const struct {
        const char *text, *expect;
    } bad[] = {
        {"hello\n", "bad.csv:1: expected 'ssdc-metrics,1'"},
        {"ssdc-metrics,1\nepoch,x,1,1,1,1,1,1,0\n", "bad.csv:2: 'epoch' of run 'x' before"},
        {"ssdc-metrics,1\nrun,a,ce,0\nepoch,a,1,1,zz,1,1,1,0\n", "bad.csv:3: field 5 is 'zz'"},
        {"ssdc-metrics,1\nresult,m,ce,1,1,9,1,1,0,nan,nan\nconfusion,m,2,1,2,3\n",
         "bad.csv:3: 'confusion' of 2 classes has 3 values, expected 4"},
        {"ssdc-metrics,1\nmeta,a%2,b\n", "bad.csv:2: field 2: a '%' not followed"},
        {"ssdc-metrics,1\ndata,x,tsv,1,0,1,2,2,1,4,0\nclass,0,a,1,0,1\n",
         "bad.csv: no 'class' record for class 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad.csv", dir);
        FILE *f = fopen(path, "w");
        cr_assert(f);
        fputs(bad[i].text, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' report bad.csv -o bad.html 2>bad.err", dir,
                 env("SSDC_BIN"));
        cr_assert_eq(sh(cmd), 1, "case %zu", i);
        snprintf(path, sizeof path, "%s/bad.err", dir);
        char *err = slurp(path, NULL);
        cr_assert(strstr(err, bad[i].expect), "case %zu: '%s' lacks '%s'", i, err, bad[i].expect);
        free(err);
    }
    /* an unknown record is skipped (later versions may add some) */
    snprintf(path, sizeof path, "%s/future.csv", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs("ssdc-metrics,1\nmeta,command,ssdc x\nnewthing,1,2,3\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' report future.csv -o future.html >/dev/null", dir,
             env("SSDC_BIN"));
    cr_assert_eq(sh(cmd), 0);
    /* usage errors exit 2 */
    snprintf(cmd, sizeof cmd, "'%s' report 2>/dev/null", env("SSDC_BIN"));
    cr_assert_eq(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "'%s' pipeline --data cbf --report 2>/dev/null", env("SSDC_BIN"));
    cr_assert_eq(sh(cmd), 2);
}
