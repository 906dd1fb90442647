/* ssdc train end to end: byte-identical reruns, SIGKILL and Ctrl-C during
 * training followed by --resume, and the exported model checked by
 * onnx.checker and ONNX Runtime against ssdc's own outputs. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frontend/dataset.h"
#include "frontend/npy.h"
#include "frontend/onnx_import.h"
#include "graph/fileio.h"
#include "runtime/exec.h"

static const char *env(const char *k)
{
    const char *v = getenv(k);
    cr_assert(v, "run through meson test (%s)", k);
    return v;
}

static char *tmpdir(void)
{
    char *buf = malloc(64);
    snprintf(buf, 64, "/tmp/ssdc_traincli_XXXXXX");
    cr_assert(mkdtemp(buf));
    return buf;
}

static int sh(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ssdc train with small settings into dir/NAME.onnx */
static void train_cmd(char *cmd, size_t n, const char *dir, const char *name, int epochs,
                      const char *extra)
{
    snprintf(cmd, n,
             "cd '%s' && OPENBLAS_NUM_THREADS=1 '%s' train models/cnn1d.onnx --data cbf "
             "--init fresh --epochs %d --batch 8 --seed 11 --threads 1 --quiet -o '%s/%s.onnx' "
             "--log '%s/%s.csv' %s >'%s/%s.out' 2>&1",
             env("SSDC_SOURCE_ROOT"), env("SSDC_BIN"), epochs, dir, name, dir, name, extra, dir,
             name);
}

Test(train_cli, same_seed_gives_identical_files, .timeout = 300)
{
    char *dir = tmpdir();
    char cmd[4096];
    train_cmd(cmd, sizeof cmd, dir, "a", 5, "");
    cr_assert_eq(sh(cmd), 0);
    train_cmd(cmd, sizeof cmd, dir, "b", 5, "");
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "cmp '%s/a.onnx' '%s/b.onnx'", dir, dir);
    cr_assert_eq(sh(cmd), 0, "two runs with the same seed differ");
    /* a different seed gives a different model */
    train_cmd(cmd, sizeof cmd, dir, "c", 5, "--seed 12");
    cr_assert_eq(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "cmp -s '%s/a.onnx' '%s/c.onnx'", dir, dir);
    cr_assert_neq(sh(cmd), 0, "the seed has no effect");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
    free(dir);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* After the kill the output path holds nothing or a complete model. */
static void assert_nothing_or_valid(const char *path)
{
    if (!file_exists(path))
        return;
    graph *g = NULL;
    ssdc_error err = {0};
    cr_assert_eq(onnx_import_file(path, &g, &err), SSDC_OK, "partial model left behind: %s", err.msg);
    graph_free(g);
}

static void kill_then_resume(int sig)
{
    char *dir = tmpdir();
    char cmd[4096], ckpt[256], out[256], log[256];
    snprintf(ckpt, sizeof ckpt, "%s/k.onnx.ckpt", dir);
    snprintf(out, sizeof out, "%s/k.onnx", dir);
    snprintf(log, sizeof log, "%s/k.csv", dir);
    int epochs = 400;
    train_cmd(cmd, sizeof cmd, dir, "k", epochs, "");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* wait for the first checkpoint, then a random-ish moment later */
    for (int i = 0; i < 3000 && !file_exists(ckpt); i++)
        usleep(2000);
    cr_assert(file_exists(ckpt), "no checkpoint appeared");
    usleep(20000 + (useconds_t)(clock() % 30000));
    /* the shell's child is ssdc: signal the whole process group of the shell */
    char kill_cmd[256];
    snprintf(kill_cmd, sizeof kill_cmd, "pkill -%d -f '%s/k.onnx'", sig, dir);
    sh(kill_cmd);
    int status;
    waitpid(pid, &status, 0);
    /* the shell may exit before ssdc has finished stopping: wait for ssdc too
     * ("[k]" keeps pgrep's own shell from matching the pattern) */
    snprintf(kill_cmd, sizeof kill_cmd, "pgrep -f '%s/[k].onnx' >/dev/null", dir);
    for (int i = 0; i < 3000 && sh(kill_cmd) == 0; i++)
        usleep(2000);
    assert_nothing_or_valid(out);
    int done_before = count_lines(log) - 1;
    cr_assert(done_before >= 1 && done_before < epochs, "epochs before the kill: %d", done_before);
    train_cmd(cmd, sizeof cmd, dir, "k", epochs, "--resume");
    int rc = sh(cmd);
    char outlog[256];
    snprintf(outlog, sizeof outlog, "%s/k.out", dir);
    char text[4096] = {0};
    FILE *f = fopen(outlog, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
    }
    cr_assert_eq(rc, 0, "resume failed (exit %d): %s", rc, text);
    graph *g = NULL;
    ssdc_error err = {0};
    cr_assert_eq(onnx_import_file(out, &g, &err), SSDC_OK, "%s", err.msg);
    graph_free(g);
    cr_assert_eq(count_lines(log) - 1, epochs, "the log does not hold every epoch");
    cr_assert(strstr(text, "accuracy: train"), "%s", text);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
    free(dir);
}

Test(train_cli, sigkill_then_resume, .timeout = 600) { kill_then_resume(SIGKILL); }

Test(train_cli, ctrl_c_then_resume, .timeout = 600) { kill_then_resume(SIGINT); }

/* The trained model passes onnx.checker, and ONNX Runtime gives ssdc's outputs. */
Test(train_cli, exported_model_matches_onnx_runtime, .timeout = 300)
{
    char *dir = tmpdir();
    char cmd[4096];
    train_cmd(cmd, sizeof cmd, dir, "e", 10, "");
    cr_assert_eq(sh(cmd), 0);
    char model[256];
    snprintf(model, sizeof model, "%s/e.onnx", dir);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import onnx; onnx.checker.check_model(onnx.load('%s'), "
             "full_check=True)\"",
             model);
    cr_assert_eq(sh(cmd), 0, "onnx.checker refused the trained model");
    /* the whole CBF test split as one input */
    dataset_pair dp;
    ssdc_error err = {0};
    cr_assert_eq(dataset_generate_cbf(30, 900, 0, &dp, &err), SSDC_OK);
    graph_value x = {0};
    int64_t dims[3] = {dp.test.n, 1, 128};
    graph_value_set_shape(&x, GRAPH_DT_FLOAT, 3, dims);
    x.data = dp.test.x;
    char xin[256];
    snprintf(xin, sizeof xin, "%s/x.npy", dir);
    cr_assert_eq(npy_write_file(xin, &x, &err), SSDC_OK);
    snprintf(cmd, sizeof cmd,
             "node '%s/tests/ort/run.js' '%s' --input 'input=%s' --output-dir '%s/ort' --threads 1 "
             ">/dev/null",
             env("SSDC_SOURCE_ROOT"), model, xin, dir);
    cr_assert_eq(sh(cmd), 0, "ONNX Runtime failed on the trained model");
    graph *g = NULL;
    cr_assert_eq(onnx_import_file(model, &g, &err), SSDC_OK);
    rt_session *s;
    rt_session_create(g, NULL, &s, &err);
    cr_assert_eq(rt_session_run(s, &x, &err), SSDC_OK, "%s", err.msg);
    const graph_value *mine = rt_session_output(s, 0);
    char ort_out[256];
    snprintf(ort_out, sizeof ort_out, "%s/ort/logits.npy", dir);
    graph_value theirs = {0};
    cr_assert_eq(npy_read_file(ort_out, &theirs, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(theirs.numel, mine->numel);
    double worst = 0;
    for (int64_t i = 0; i < mine->numel; i++) {
        double a = ((float *)mine->data)[i], b = ((float *)theirs.data)[i];
        if (fabs(a - b) > worst)
            worst = fabs(a - b);
        cr_assert(fabs(a - b) <= 1e-5 + 1e-5 * fabs(b), "logit %lld: ssdc %.8g, ORT %.8g",
                  (long long)i, a, b);
    }
    cr_log_info("trained cnn1d on the CBF test split: max |ssdc - ORT| = %.3g", worst);
    free(theirs.data);
    rt_session_free(s);
    graph_free(g);
    dataset_pair_free(&dp);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
    free(dir);
}

/* 20 SIGKILLs at random points of `ssdc train` and of `ssdc distill`: the
 * output path holds nothing or a complete model every time, and --resume
 * always finishes. */
static void kill_trials(const char *what)
{
    char *dir = tmpdir();
    char cmd[4096], teacher[256];
    snprintf(teacher, sizeof teacher, "%s/teacher.onnx", dir);
    if (!strcmp(what, "distill")) {
        train_cmd(cmd, sizeof cmd, dir, "teacher", 30, "");
        cr_assert_eq(sh(cmd), 0);
    }
    unsigned seed = 12345;
    for (int trial = 0; trial < 20; trial++) {
        char name[32], out[256], run[4096];
        snprintf(name, sizeof name, "%s%d", what, trial);
        snprintf(out, sizeof out, "%s/%s.onnx", dir, name);
        if (!strcmp(what, "train"))
            train_cmd(run, sizeof run, dir, name, 30, "");
        else
            snprintf(run, sizeof run,
                     "cd '%s' && exec '%s' distill '%s' --data cbf --epochs 20 --batch 8 --reps 6 "
                     "--threads 1 --quiet -o '%s' > '%s.out' 2>&1",
                     env("SSDC_SOURCE_ROOT"), env("SSDC_BIN"), teacher, out, out);
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
            setpgid(0, 0);
            execl("/bin/sh", "sh", "-c", run, (char *)NULL);
            _exit(127);
        }
        seed = seed * 1103515245u + 12345u;
        usleep(30000 + (seed >> 8) % 500000); /* 30 ms .. 0.53 s */
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        char probe[512];
        snprintf(probe, sizeof probe, "pgrep -f '%s/[%c]%s' >/dev/null", dir, name[0], name + 1);
        for (int i = 0; i < 1000 && sh(probe) == 0; i++)
            usleep(2000);
        assert_nothing_or_valid(out);
        /* resume (or start again when the kill came before the first epoch) */
        char resume[4200];
        if (!strcmp(what, "train"))
            train_cmd(resume, sizeof resume, dir, name, 30, "--resume");
        else
            snprintf(resume, sizeof resume,
                     "cd '%s' && '%s' distill '%s' --data cbf --epochs 20 --batch 8 --reps 6 "
                     "--threads 1 --quiet --resume -o '%s' > '%s.out' 2>&1",
                     env("SSDC_SOURCE_ROOT"), env("SSDC_BIN"), teacher, out, out);
        int rrc = sh(resume);
        if (rrc != 0) {
            char log[512], text[2048] = {0};
            snprintf(log, sizeof log, "%s%s", out, strcmp(what, "train") ? ".out" : "");
            if (!strcmp(what, "train"))
                snprintf(log, sizeof log, "%s/%s.out", dir, name);
            FILE *f = fopen(log, "r");
            if (f) {
                size_t nr = fread(text, 1, sizeof text - 1, f);
                text[nr] = 0;
                fclose(f);
            }
            cr_assert_fail("trial %d: --resume failed (exit %d): %s", trial, rrc, text);
        }
        graph *g = NULL;
        ssdc_error err = {0};
        cr_assert_eq(onnx_import_file(out, &g, &err), SSDC_OK, "trial %d: %s", trial, err.msg);
        graph_free(g);
        /* the killed run's temporary files (model, checkpoint, log) were cleaned up by the
         * finished run's writes */
        snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -q '^%s\\..*tmp\\.'", dir, name);
        if (sh(cmd) == 0) {
            snprintf(cmd, sizeof cmd, "ls -A '%s' >&2", dir);
            sh(cmd);
            cr_assert_fail("trial %d: temporary files of the killed run are left in %s", trial, dir);
        }
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    sh(cmd);
    free(dir);
}

Test(train_cli, kill_trials_train, .timeout = 900) { kill_trials("train"); }
Test(train_cli, kill_trials_distill, .timeout = 900) { kill_trials("distill"); }
