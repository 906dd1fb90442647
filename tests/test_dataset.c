/* Data set loading: the real UCR/UEA files in ../shared/data (TSV and .ts),
 * Fashion-MNIST (IDX, gzip) when Debian's dataset-fashion-mnist is
 * installed, IDX and NPY files written at test time, the CBF generator,
 * malformed and hostile input (errors naming file and line, no crashes),
 * normalisation and stratified splits. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "frontend/dataset.h"
#include "frontend/npy.h"
#include "graph/graph.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char tmp_dir[64];

static void suite_setup(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ssdc_dataset_test_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp failed");
}

static void suite_teardown(void)
{
    if (strncmp(tmp_dir, "/tmp/ssdc_dataset_test_", 23) == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmp_dir);
    }
}

TestSuite(dataset, .init = suite_setup, .fini = suite_teardown);

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir, name);
    return buf[k];
}

/* ../shared/data/ucr/<rel> from the source root. */
static const char *ucr_path(const char *rel)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    const char *root = getenv("SSDC_SOURCE_ROOT");
    cr_assert_not_null(root, "SSDC_SOURCE_ROOT is not set");
    snprintf(buf[k], sizeof buf[k], "%s/../shared/data/ucr/%s", root, rel);
    return buf[k];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void write_bytes(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(buf, 1, n, f), n);
    fclose(f);
}

static void write_gz(const char *path, const void *buf, size_t n)
{
    gzFile gz = gzopen(path, "wb");
    cr_assert_not_null(gz);
    cr_assert_eq(gzwrite(gz, buf, (unsigned)n), (int)n);
    cr_assert_eq(gzclose(gz), Z_OK);
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len + 1);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    buf[len] = 0;
    *n = (size_t)len;
    return buf;
}

static void load_ok(const char *spec, const dataset_load_options *opt, dataset_pair *p)
{
    ssdc_error err = {0};
    ssdc_status st = dataset_load(spec, opt, p, &err);
    cr_assert_eq(st, SSDC_OK, "loading %s: %s", spec, err.msg);
}

/* Loading must fail with a message containing every needle, and leave *p zeroed. */
static void load_fails(const char *spec, const dataset_load_options *opt, const char *needle1,
                       const char *needle2)
{
    dataset_pair p;
    ssdc_error err = {0};
    ssdc_status st = dataset_load(spec, opt, &p, &err);
    cr_assert_neq(st, SSDC_OK, "%s should be refused", spec);
    cr_assert_neq(err.msg[0], '\0', "empty error message for %s", spec);
    cr_assert_not_null(strstr(err.msg, needle1), "message lacks '%s': %s", needle1, err.msg);
    if (needle2)
        cr_assert_not_null(strstr(err.msg, needle2), "message lacks '%s': %s", needle2,
                           err.msg);
    cr_assert_null(p.train.x);
    cr_assert_null(p.test.x);
    cr_assert_eq(p.train.n, 0);
}

static void check_labels_valid(const dataset *d)
{
    for (int64_t i = 0; i < d->n; i++)
        cr_assert(d->y[i] >= 0 && d->y[i] < d->n_classes, "label %lld of sample %lld",
                  (long long)d->y[i], (long long)i);
}

/* First `rows` rows of a UCR TSV: labels (as strings) and the first value. */
static int read_tsv_head(const char *path, int rows, char labels[][32], double *first)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char line[1 << 16];
    int k = 0;
    while (k < rows && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        cr_assert_not_null(tab);
        *tab = '\0';
        snprintf(labels[k], 32, "%.31s", line);
        first[k] = strtod(tab + 1, NULL);
        k++;
    }
    fclose(f);
    return k;
}

/* ---- UCR TSV ---- */

Test(dataset, ecg200_prefix)
{
    dataset_pair p;
    load_ok(ucr_path("ECG200/ECG200"), NULL, &p);
    cr_assert_str_eq(p.train.name, "ECG200");
    cr_assert_str_eq(p.train.format, "tsv");
    cr_assert_eq(p.train.n, 100);
    cr_assert_eq(p.test.n, 100);
    cr_assert_eq(p.train.rank, 2);
    cr_assert_eq(p.train.dims[0], 1);
    cr_assert_eq(p.train.dims[1], 96);
    cr_assert_eq(p.test.dims[1], 96);
    cr_assert_eq(p.train.n_classes, 2);
    cr_assert_eq(p.test.n_classes, 2);
    cr_assert_str_eq(p.train.class_names[0], "-1");
    cr_assert_str_eq(p.train.class_names[1], "1");
    cr_assert_str_eq(p.test.class_names[0], "-1");
    check_labels_valid(&p.train);
    check_labels_valid(&p.test);

    /* labels and first values against the file itself: -1 -> 0, 1 -> 1 */
    char labels[20][32];
    double first[20];
    int k = read_tsv_head(ucr_path("ECG200/ECG200_TRAIN.tsv"), 20, labels, first);
    cr_assert_eq(k, 20);
    int seen_neg = 0, seen_pos = 0;
    for (int i = 0; i < k; i++) {
        int64_t want = strcmp(labels[i], "-1") == 0 ? 0 : 1;
        cr_assert(strcmp(labels[i], "-1") == 0 || strcmp(labels[i], "1") == 0);
        seen_neg += want == 0;
        seen_pos += want == 1;
        cr_assert_eq(p.train.y[i], want, "row %d: label %s mapped to %lld", i + 1, labels[i],
                     (long long)p.train.y[i]);
        cr_assert_float_eq(p.train.x[i * 96], (float)first[i], 1e-6, "row %d", i + 1);
    }
    cr_assert(seen_neg > 0 && seen_pos > 0, "the first rows should hold both classes");
    cr_assert_float_eq(p.train.x[0], 0.50205548f, 1e-7);
    cr_assert_float_eq(p.train.x[1], 0.54216265f, 1e-7);
    int64_t counts[2];
    dataset_count_classes(&p.train, counts);
    cr_assert_eq(counts[0], 31);
    cr_assert_eq(counts[1], 69);
    dataset_pair_free(&p);
    cr_assert_null(p.train.x);
    dataset_pair_free(&p); /* twice is fine */
}

Test(dataset, ecg200_folder_and_train_file_agree)
{
    dataset_pair a, b, c;
    load_ok(ucr_path("ECG200/ECG200"), NULL, &a);
    load_ok(ucr_path("ECG200"), NULL, &b);
    load_ok(ucr_path("ECG200/ECG200_TRAIN.tsv"), NULL, &c);
    const dataset_pair *o[2] = {&b, &c};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(o[k]->train.n, a.train.n);
        cr_assert_eq(o[k]->test.n, a.test.n);
        cr_assert_str_eq(o[k]->train.name, "ECG200");
        cr_assert_eq(memcmp(o[k]->train.x, a.train.x, 100 * 96 * sizeof(float)), 0);
        cr_assert_eq(memcmp(o[k]->test.x, a.test.x, 100 * 96 * sizeof(float)), 0);
        cr_assert_eq(memcmp(o[k]->test.y, a.test.y, 100 * sizeof(int64_t)), 0);
    }
    dataset_pair_free(&a);
    dataset_pair_free(&b);
    dataset_pair_free(&c);
}

Test(dataset, gunpoint)
{
    dataset_pair p;
    load_ok(ucr_path("GunPoint"), NULL, &p);
    cr_assert_eq(p.train.n, 50);
    cr_assert_eq(p.test.n, 150);
    cr_assert_eq(p.train.dims[1], 150);
    cr_assert_eq(p.train.n_classes, 2);
    cr_assert_str_eq(p.train.class_names[0], "1");
    cr_assert_str_eq(p.train.class_names[1], "2");
    char labels[5][32];
    double first[5];
    read_tsv_head(ucr_path("GunPoint/GunPoint_TEST.tsv"), 5, labels, first);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(p.test.y[i], atoi(labels[i]) - 1);
        cr_assert_float_eq(p.test.x[i * 150], (float)first[i], 1e-6);
    }
    dataset_pair_free(&p);
}

Test(dataset, cricketx_numeric_label_order)
{
    dataset_pair p;
    load_ok(ucr_path("CricketX/CricketX"), NULL, &p);
    cr_assert_eq(p.train.n, 390);
    cr_assert_eq(p.test.n, 390);
    cr_assert_eq(p.train.dims[1], 300);
    cr_assert_eq(p.train.n_classes, 12);
    /* numeric, not string, order: "10" comes after "9" */
    for (int c = 0; c < 12; c++) {
        char want[16];
        snprintf(want, sizeof want, "%d", c + 1);
        cr_assert_str_eq(p.train.class_names[c], want);
    }
    char labels[30][32];
    double first[30];
    int k = read_tsv_head(ucr_path("CricketX/CricketX_TRAIN.tsv"), 30, labels, first);
    bool saw_two_digit = false;
    for (int i = 0; i < k; i++) {
        cr_assert_eq(p.train.y[i], atoi(labels[i]) - 1, "row %d label %s", i + 1, labels[i]);
        saw_two_digit |= atoi(labels[i]) >= 10;
    }
    cr_assert(saw_two_digit);
    int64_t counts[12];
    dataset_count_classes(&p.train, counts);
    for (int c = 0; c < 12; c++)
        cr_assert(counts[c] > 0);
    dataset_pair_free(&p);
}

Test(dataset, ecgfivedays)
{
    dataset_pair p;
    load_ok(ucr_path("ECGFiveDays"), NULL, &p);
    cr_assert_eq(p.train.n, 23);
    cr_assert_eq(p.test.n, 861);
    cr_assert_eq(p.train.dims[1], 136);
    cr_assert_eq(p.train.n_classes, 2);
    int64_t counts[2];
    dataset_count_classes(&p.train, counts);
    cr_assert_eq(counts[0], 14);
    cr_assert_eq(counts[1], 9);
    check_labels_valid(&p.test);
    dataset_pair_free(&p);
}

/* ---- UEA .ts ---- */

Test(dataset, basicmotions_ts)
{
    dataset_pair p;
    load_ok(ucr_path("BasicMotions"), NULL, &p);
    cr_assert_str_eq(p.train.name, "BasicMotions");
    cr_assert_str_eq(p.train.format, "ts");
    cr_assert_eq(p.train.n, 40);
    cr_assert_eq(p.test.n, 40);
    cr_assert_eq(p.train.rank, 2);
    cr_assert_eq(p.train.dims[0], 6);
    cr_assert_eq(p.train.dims[1], 100);
    cr_assert_eq(p.train.n_classes, 4);
    const char *names[4] = {"Badminton", "Running", "Standing", "Walking"};
    for (int c = 0; c < 4; c++) {
        cr_assert_str_eq(p.train.class_names[c], names[c]);
        cr_assert_str_eq(p.test.class_names[c], names[c]);
    }
    int64_t counts[4];
    dataset_count_classes(&p.train, counts);
    for (int c = 0; c < 4; c++)
        cr_assert_eq(counts[c], 10);

    /* the first sample against the file: channel k starts after the k-th ':' */
    FILE *f = fopen(ucr_path("BasicMotions/BasicMotions_TRAIN.ts"), "r");
    cr_assert_not_null(f);
    static char line[1 << 16];
    while (fgets(line, sizeof line, f) && strncmp(line, "@data", 5) != 0)
        ;
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    char *s = line;
    for (int c = 0; c < 6; c++) {
        cr_assert_float_eq(p.train.x[c * 100], (float)strtod(s, NULL), 1e-6, "channel %d", c);
        s = strchr(s, ':') + 1;
    }
    s[strcspn(s, "\r\n")] = '\0';
    cr_assert_str_eq(p.train.class_names[p.train.y[0]], s);
    dataset_pair_free(&p);
}

/* ---- IDX ---- */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* n images of h x w (value (i*7 + k) % 256) and n labels (i % 3) * 2 + 1. */
static size_t make_idx_images(unsigned char *buf, uint32_t n, uint32_t h, uint32_t w)
{
    buf[0] = buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = 3;
    put_be32(buf + 4, n);
    put_be32(buf + 8, h);
    put_be32(buf + 12, w);
    for (uint32_t i = 0; i < n * h * w; i++)
        buf[16 + i] = (unsigned char)((i * 7 + i / (h * w)) % 256);
    return 16 + (size_t)n * h * w;
}

static size_t make_idx_labels(unsigned char *buf, uint32_t n)
{
    buf[0] = buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = 1;
    put_be32(buf + 4, n);
    for (uint32_t i = 0; i < n; i++)
        buf[8 + i] = (unsigned char)((i % 3) * 2 + 1);
    return 8 + (size_t)n;
}

static void write_tiny_idx(const char *dir, bool gz)
{
    mkdir(dir, 0755);
    unsigned char buf[4096];
    char path[512];
    const char *ext = gz ? ".gz" : "";
    struct {
        const char *stem;
        uint32_t n;
        bool images;
    } files[4] = {{"train-images-idx3-ubyte", 7, true},
                  {"train-labels-idx1-ubyte", 7, false},
                  {"t10k-images-idx3-ubyte", 4, true},
                  {"t10k-labels-idx1-ubyte", 4, false}};
    for (int k = 0; k < 4; k++) {
        size_t n = files[k].images ? make_idx_images(buf, files[k].n, 5, 6)
                                   : make_idx_labels(buf, files[k].n);
        snprintf(path, sizeof path, "%s/%s%s", dir, files[k].stem, ext);
        if (gz)
            write_gz(path, buf, n);
        else
            write_bytes(path, buf, n);
    }
}

static void check_tiny_idx(const dataset_pair *p)
{
    cr_assert_str_eq(p->train.format, "idx");
    cr_assert_eq(p->train.n, 7);
    cr_assert_eq(p->test.n, 4);
    cr_assert_eq(p->train.rank, 3);
    cr_assert_eq(p->train.dims[0], 1);
    cr_assert_eq(p->train.dims[1], 5);
    cr_assert_eq(p->train.dims[2], 6);
    /* labels 1, 3, 5 -> classes 0, 1, 2 */
    cr_assert_eq(p->train.n_classes, 3);
    cr_assert_str_eq(p->train.class_names[0], "1");
    cr_assert_str_eq(p->train.class_names[2], "5");
    for (int i = 0; i < 7; i++)
        cr_assert_eq(p->train.y[i], i % 3);
    for (uint32_t i = 0; i < 7 * 30; i++) {
        float want = (float)(((i * 7 + i / 30) % 256) / 255.0);
        cr_assert_float_eq(p->train.x[i], want, 1e-6, "value %u", i);
    }
    for (uint32_t i = 0; i < 4 * 30; i++)
        cr_assert(p->test.x[i] >= 0.0f && p->test.x[i] <= 1.0f);
}

Test(dataset, idx_tiny_gzip_and_plain)
{
    const char *gzdir = tmp_path("idx_gz");
    const char *plain = tmp_path("idx_plain");
    write_tiny_idx(gzdir, true);
    write_tiny_idx(plain, false);
    dataset_pair a, b;
    load_ok(gzdir, NULL, &a);
    load_ok(plain, NULL, &b);
    check_tiny_idx(&a);
    check_tiny_idx(&b);
    cr_assert_str_eq(a.train.name, "idx_gz");
    cr_assert_eq(memcmp(a.test.x, b.test.x, 4 * 30 * sizeof(float)), 0);
    dataset_pair_free(&a);
    dataset_pair_free(&b);
}

Test(dataset, idx_fashion_mnist)
{
    struct stat sb;
    if (stat(FASHION_DIR "/train-images-idx3-ubyte.gz", &sb) != 0)
        cr_skip_test("dataset-fashion-mnist is not installed");
    dataset_pair p;
    load_ok(FASHION_DIR, NULL, &p);
    cr_assert_str_eq(p.train.name, "fashion-mnist");
    cr_assert_eq(p.train.n, 60000);
    cr_assert_eq(p.test.n, 10000);
    cr_assert_eq(p.train.rank, 3);
    cr_assert_eq(p.train.dims[0], 1);
    cr_assert_eq(p.train.dims[1], 28);
    cr_assert_eq(p.train.dims[2], 28);
    cr_assert_eq(p.train.n_classes, 10);
    int64_t counts[10];
    dataset_count_classes(&p.train, counts);
    for (int c = 0; c < 10; c++)
        cr_assert_eq(counts[c], 6000);
    dataset_count_classes(&p.test, counts);
    for (int c = 0; c < 10; c++)
        cr_assert_eq(counts[c], 1000);
    double s = 0;
    float mx = 0;
    for (int64_t i = 0; i < 60000LL * 784; i++) {
        cr_assert(p.train.x[i] >= 0.0f && p.train.x[i] <= 1.0f);
        s += p.train.x[i];
        mx = p.train.x[i] > mx ? p.train.x[i] : mx;
    }
    cr_assert_float_eq(mx, 1.0f, 1e-6);
    /* Fashion-MNIST's training mean is 0.2860 */
    cr_assert_float_eq(s / (60000.0 * 784), 0.2860, 2e-3);
    /* the first training image is an ankle boot (label 9) */
    cr_assert_eq(p.train.y[0], 9);
    dataset_pair_free(&p);
}

/* ---- NPY ---- */

static void write_npy(const char *path, graph_dtype dt, int rank, const int64_t *dims,
                      const void *data)
{
    graph_value v;
    memset(&v, 0, sizeof v);
    graph_value_set_shape(&v, dt, rank, dims);
    v.data = (void *)data;
    ssdc_error err = {0};
    cr_assert_eq(npy_write_file(path, &v, &err), SSDC_OK, "%s", err.msg);
}

Test(dataset, npy_folder_rank2)
{
    const char *dir = tmp_path("npy2");
    mkdir(dir, 0755);
    char p[512];
    double xtr[4 * 5], xte[3 * 5];
    for (int i = 0; i < 20; i++)
        xtr[i] = i * 0.5 - 3;
    for (int i = 0; i < 15; i++)
        xte[i] = -i * 0.25;
    int64_t ytr[4] = {7, -2, 5, 7}, yte[3] = {5, 5, -2};
    int64_t d2[2] = {4, 5}, d2t[2] = {3, 5}, d1[1] = {4}, d1t[1] = {3};
    snprintf(p, sizeof p, "%s/X_train.npy", dir);
    write_npy(p, GRAPH_DT_DOUBLE, 2, d2, xtr);
    snprintf(p, sizeof p, "%s/y_train.npy", dir);
    write_npy(p, GRAPH_DT_INT64, 1, d1, ytr);
    snprintf(p, sizeof p, "%s/X_test.npy", dir);
    write_npy(p, GRAPH_DT_DOUBLE, 2, d2t, xte);
    snprintf(p, sizeof p, "%s/y_test.npy", dir);
    write_npy(p, GRAPH_DT_INT64, 1, d1t, yte);

    dataset_pair d;
    load_ok(dir, NULL, &d);
    cr_assert_str_eq(d.train.format, "npy");
    cr_assert_str_eq(d.train.name, "npy2");
    cr_assert_eq(d.train.n, 4);
    cr_assert_eq(d.test.n, 3);
    cr_assert_eq(d.train.rank, 2);
    cr_assert_eq(d.train.dims[0], 1);
    cr_assert_eq(d.train.dims[1], 5);
    cr_assert_eq(d.train.n_classes, 3);
    cr_assert_str_eq(d.train.class_names[0], "-2");
    cr_assert_str_eq(d.train.class_names[1], "5");
    cr_assert_str_eq(d.train.class_names[2], "7");
    int64_t wtr[4] = {2, 0, 1, 2}, wte[3] = {1, 1, 0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(d.train.y[i], wtr[i]);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(d.test.y[i], wte[i]);
    for (int i = 0; i < 20; i++)
        cr_assert_float_eq(d.train.x[i], (float)xtr[i], 1e-7);
    for (int i = 0; i < 15; i++)
        cr_assert_float_eq(d.test.x[i], (float)xte[i], 1e-7);
    dataset_pair_free(&d);
}

Test(dataset, npy_prefix_rank4_int32_labels)
{
    const char *dir = tmp_path("npy4");
    mkdir(dir, 0755);
    char p[512];
    float xtr[3 * 2 * 3 * 4], xte[2 * 2 * 3 * 4];
    for (int i = 0; i < 72; i++)
        xtr[i] = (float)i;
    for (int i = 0; i < 48; i++)
        xte[i] = (float)-i;
    int32_t ytr[3] = {0, 1, 0}, yte[2] = {1, 1};
    int64_t d4[4] = {3, 2, 3, 4}, d4t[4] = {2, 2, 3, 4}, d1[1] = {3}, d1t[2] = {2, 1};
    snprintf(p, sizeof p, "%s/toy_X_train.npy", dir);
    write_npy(p, GRAPH_DT_FLOAT, 4, d4, xtr);
    snprintf(p, sizeof p, "%s/toy_y_train.npy", dir);
    write_npy(p, GRAPH_DT_INT32, 1, d1, ytr);
    snprintf(p, sizeof p, "%s/toy_X_test.npy", dir);
    write_npy(p, GRAPH_DT_FLOAT, 4, d4t, xte);
    snprintf(p, sizeof p, "%s/toy_y_test.npy", dir);
    write_npy(p, GRAPH_DT_INT32, 2, d1t, yte); /* [N,1] is accepted */

    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/toy", dir);
    dataset_pair a, b;
    load_ok(prefix, NULL, &a);
    load_ok(dir, NULL, &b); /* found by scanning the folder */
    const dataset_pair *ds[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        const dataset_pair *d = ds[k];
        cr_assert_str_eq(d->train.name, "toy");
        cr_assert_eq(d->train.rank, 3);
        cr_assert_eq(d->train.dims[0], 2);
        cr_assert_eq(d->train.dims[1], 3);
        cr_assert_eq(d->train.dims[2], 4);
        cr_assert_eq(d->train.n, 3);
        cr_assert_eq(d->test.n, 2);
        cr_assert_eq(d->train.n_classes, 2);
        cr_assert_eq(d->train.y[1], 1);
        cr_assert_eq(d->test.y[0], 1);
        cr_assert_float_eq(d->train.x[71], 71.0f, 0);
        cr_assert_float_eq(d->test.x[47], -47.0f, 0);
    }
    dataset_pair_free(&a);
    dataset_pair_free(&b);
}

Test(dataset, npy_bad_shapes)
{
    const char *dir = tmp_path("npybad");
    mkdir(dir, 0755);
    char p[512];
    float x[6] = {0};
    int64_t y[3] = {0, 1, 0};
    float yf[2] = {0.5f, 1.0f};
    int64_t d2[2] = {2, 3}, d1[1] = {3}, d1b[1] = {2};
    snprintf(p, sizeof p, "%s/X_train.npy", dir);
    write_npy(p, GRAPH_DT_FLOAT, 2, d2, x);
    snprintf(p, sizeof p, "%s/y_train.npy", dir);
    write_npy(p, GRAPH_DT_INT64, 1, d1, y); /* 3 labels for 2 samples */
    snprintf(p, sizeof p, "%s/X_test.npy", dir);
    write_npy(p, GRAPH_DT_FLOAT, 2, d2, x);
    snprintf(p, sizeof p, "%s/y_test.npy", dir);
    write_npy(p, GRAPH_DT_FLOAT, 1, d1b, yf);
    load_fails(dir, NULL, "y_train.npy", "3 labels");
    snprintf(p, sizeof p, "%s/y_train.npy", dir);
    write_npy(p, GRAPH_DT_INT64, 1, d1b, y);
    load_fails(dir, NULL, "y_test.npy", "whole number");
}

/* ---- CBF ---- */

static double cbf_class_mean_at(const dataset *d, int cls, int t /* 1-based */)
{
    double s = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < d->n; i++)
        if (d->y[i] == cls) {
            s += d->x[i * 128 + (t - 1)];
            k++;
        }
    return s / (double)k;
}

Test(dataset, cbf_sizes_balance_determinism)
{
    dataset_pair p;
    load_ok("cbf", NULL, &p);
    cr_assert_str_eq(p.train.name, "cbf");
    cr_assert_eq(p.train.n, 30);
    cr_assert_eq(p.test.n, 900);
    cr_assert_eq(p.train.rank, 2);
    cr_assert_eq(p.train.dims[0], 1);
    cr_assert_eq(p.train.dims[1], 128);
    cr_assert_eq(p.train.n_classes, 3);
    cr_assert_str_eq(p.train.class_names[0], "cylinder");
    cr_assert_str_eq(p.train.class_names[1], "bell");
    cr_assert_str_eq(p.train.class_names[2], "funnel");
    int64_t counts[3];
    dataset_count_classes(&p.train, counts);
    for (int c = 0; c < 3; c++)
        cr_assert_eq(counts[c], 10);
    dataset_count_classes(&p.test, counts);
    for (int c = 0; c < 3; c++)
        cr_assert_eq(counts[c], 300);
    /* shuffled, not in class blocks */
    bool mixed = false;
    for (int i = 1; i < 10; i++)
        mixed |= p.train.y[i] != p.train.y[0];
    cr_assert(mixed);

    dataset_load_options o = {.cbf_n_train = 31, .cbf_n_test = 8, .cbf_seed = 0};
    dataset_pair q, r, s;
    load_ok("cbf", &o, &q);
    load_ok("cbf", &o, &r);
    cr_assert_eq(q.train.n, 31);
    cr_assert_eq(q.test.n, 8);
    dataset_count_classes(&q.train, counts);
    cr_assert_eq(counts[0], 11);
    cr_assert_eq(counts[1], 10);
    cr_assert_eq(counts[2], 10);
    cr_assert_eq(memcmp(q.train.x, r.train.x, 31 * 128 * sizeof(float)), 0);
    cr_assert_eq(memcmp(q.train.y, r.train.y, 31 * sizeof(int64_t)), 0);
    cr_assert_eq(memcmp(q.test.x, r.test.x, 8 * 128 * sizeof(float)), 0);
    /* the test split is its own stream: the same seed and n_test give the
     * same test split whatever n_train is */
    o.cbf_n_train = 5;
    load_ok("cbf", &o, &s);
    cr_assert_eq(memcmp(q.test.x, s.test.x, 8 * 128 * sizeof(float)), 0);
    dataset_pair_free(&s);
    o.cbf_seed = 12345;
    o.cbf_n_train = 31;
    load_ok("cbf", &o, &s);
    cr_assert_neq(memcmp(q.train.x, s.train.x, 31 * 128 * sizeof(float)), 0);
    dataset_pair_free(&p);
    dataset_pair_free(&q);
    dataset_pair_free(&r);
    dataset_pair_free(&s);

    ssdc_error err = {0};
    cr_assert_neq(dataset_generate_cbf(0, 10, 1, &p, &err), SSDC_OK);
    cr_assert_not_null(strstr(err.msg, "cbf"));
}

Test(dataset, cbf_shapes)
{
    dataset_pair p;
    ssdc_error err = {0};
    cr_assert_eq(dataset_generate_cbf(30, 3000, 7, &p, &err), SSDC_OK, "%s", err.msg);
    const dataset *d = &p.test;
    /* before t = 16 every class is noise: mean ~0, std ~1 */
    double s = 0, ss = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < d->n; i++)
        for (int t = 0; t < 15; t++) {
            double v = d->x[i * 128 + t];
            s += v;
            ss += v * v;
            k++;
        }
    double m = s / k, sd = sqrt(ss / k - m * m);
    cr_assert(fabs(m) < 0.05, "mean %g", m);
    cr_assert(fabs(sd - 1.0) < 0.05, "std %g", sd);
    /* t = 33..47 lies in every support (a <= 32, b >= 48) */
    for (int t = 33; t <= 47; t++) {
        double cyl = cbf_class_mean_at(d, 0, t);
        cr_assert(fabs(cyl - 6.0) < 0.3, "cylinder mean %g at t=%d", cyl, t);
    }
    /* bell rises over its support, funnel falls, cylinder stays flat */
    double bell_lo = 0, bell_hi = 0, fun_lo = 0, fun_hi = 0, cyl_lo = 0, cyl_hi = 0;
    for (int t = 33; t <= 37; t++) {
        bell_lo += cbf_class_mean_at(d, 1, t);
        fun_lo += cbf_class_mean_at(d, 2, t);
        cyl_lo += cbf_class_mean_at(d, 0, t);
    }
    for (int t = 43; t <= 47; t++) {
        bell_hi += cbf_class_mean_at(d, 1, t);
        fun_hi += cbf_class_mean_at(d, 2, t);
        cyl_hi += cbf_class_mean_at(d, 0, t);
    }
    cr_assert(bell_hi - bell_lo > 2.0, "bell %g -> %g", bell_lo / 5, bell_hi / 5);
    cr_assert(fun_lo - fun_hi > 2.0, "funnel %g -> %g", fun_lo / 5, fun_hi / 5);
    cr_assert(fabs(cyl_hi - cyl_lo) < 1.0, "cylinder %g -> %g", cyl_lo / 5, cyl_hi / 5);
    cr_assert(cbf_class_mean_at(d, 2, 34) > cbf_class_mean_at(d, 1, 34) + 2.0);
    /* per sample: a bell's last in-support value is high and then it drops to
     * noise; a funnel starts high.  Check the bell's peak comes after its
     * steepest rise point on average: argmax of a bell lies in the second half
     * of the series more often than a funnel's. */
    int bell_late = 0, fun_late = 0, nb = 0, nf = 0;
    for (int64_t i = 0; i < d->n; i++) {
        const float *x = d->x + i * 128;
        int am = 0;
        for (int t = 1; t < 128; t++)
            am = x[t] > x[am] ? t : am;
        if (d->y[i] == 1) {
            nb++;
            bell_late += am >= 64;
        } else if (d->y[i] == 2) {
            nf++;
            fun_late += am >= 64;
        }
    }
    cr_assert(bell_late > nb / 2, "bell peaks late in %d of %d", bell_late, nb);
    cr_assert(fun_late < nf / 4, "funnel peaks late in %d of %d", fun_late, nf);
    dataset_pair_free(&p);
}

/* ---- malformed input ---- */

static const char *write_pair(const char *name, const char *train, const char *test)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s_TRAIN.tsv", tmp_dir, name);
    write_text(p, train);
    snprintf(p, sizeof p, "%s/%s_TEST.tsv", tmp_dir, name);
    write_text(p, test);
    return tmp_path(name);
}

static const char *good_test = "1\t1\t2\t3\t4\n2\t4\t3\t2\t1\n";

Test(dataset, tsv_nan_with_line_number)
{
    const char *spec = write_pair("nan", "1\t1\t2\t3\t4\n2\t1\t2\t3\t4\n1\t1\tNaN\t3\t4\n",
                                  good_test);
    load_fails(spec, NULL, "nan_TRAIN.tsv:3:", "field 3");
    dataset_load_options o = {.nan_mode = DATASET_NAN_ZERO};
    dataset_pair p;
    load_ok(spec, &o, &p);
    cr_assert_eq(p.train.n, 3);
    cr_assert_float_eq(p.train.x[2 * 4 + 1], 0.0f, 0);
    cr_assert_float_eq(p.train.x[2 * 4 + 2], 3.0f, 0);
    dataset_pair_free(&p);
}

Test(dataset, tsv_ragged_rows)
{
    const char *spec =
        write_pair("ragged", "1\t1\t2\t3\t4\n2\t1\t2\t3\t4\n\n1\t1\t2\t3\n", good_test);
    load_fails(spec, NULL, "ragged_TRAIN.tsv:4:", "3 values, expected 4");
    /* the test split must have the train length too */
    spec = write_pair("ragged2", good_test, "1\t1\t2\t3\t4\n2\t1\t2\t3\t4\t5\n");
    load_fails(spec, NULL, "ragged2_TEST.tsv:2:", "5 values, expected 4");
}

Test(dataset, tsv_bad_field_and_label)
{
    const char *spec =
        write_pair("abc", "1\t1\t2\t3\t4\n2\t1\t2\t3\t4\n1\t1\t2\t3\tabc\n", good_test);
    load_fails(spec, NULL, "abc_TRAIN.tsv:3: field 5 is 'abc', expected a number", NULL);
    spec = write_pair("emptylab", "1\t1\t2\t3\t4\n\t1\t2\t3\t4\n", good_test);
    load_fails(spec, NULL, "emptylab_TRAIN.tsv:2:", "label is empty");
    spec = write_pair("nanlab", "1\t1\t2\t3\t4\nNaN\t1\t2\t3\t4\n", good_test);
    load_fails(spec, NULL, "nanlab_TRAIN.tsv:2:", "class label");
    spec = write_pair("inf", "1\t1\t2\t3\t4\n1\t1\t1e39\t3\t4\n", good_test);
    load_fails(spec, NULL, "inf_TRAIN.tsv:2:", "float32 range");
    spec = write_pair("nolab", "1\n", good_test);
    load_fails(spec, NULL, "nolab_TRAIN.tsv:1:", "no values");
    spec = write_pair("empty", "\n\n", good_test);
    load_fails(spec, NULL, "empty_TRAIN.tsv", "no samples");
}

Test(dataset, tsv_comma_separated_and_string_labels)
{
    char p[512];
    snprintf(p, sizeof p, "%s/csv_TRAIN.csv", tmp_dir);
    write_text(p, "walk, 1.5, 2\r\nrun,3,4\r\nsit,5,6\r\n");
    snprintf(p, sizeof p, "%s/csv_TEST.csv", tmp_dir);
    write_text(p, "run,7,8\nzzz,9,10\n");
    dataset_pair d;
    load_ok(tmp_path("csv"), NULL, &d);
    cr_assert_eq(d.train.n, 3);
    cr_assert_eq(d.train.dims[1], 2);
    /* strcmp order over the union of both splits */
    cr_assert_eq(d.train.n_classes, 4);
    cr_assert_str_eq(d.train.class_names[0], "run");
    cr_assert_str_eq(d.train.class_names[1], "sit");
    cr_assert_str_eq(d.train.class_names[2], "walk");
    cr_assert_str_eq(d.train.class_names[3], "zzz");
    cr_assert_eq(d.train.y[0], 2);
    cr_assert_eq(d.test.y[1], 3);
    cr_assert_float_eq(d.train.x[0], 1.5f, 0);
    cr_assert_float_eq(d.test.x[3], 10.0f, 0);
    dataset_pair_free(&d);
}

Test(dataset, tsv_limits)
{
    dataset_load_options o = {.max_line_bytes = 200};
    load_fails(ucr_path("ECG200/ECG200"), &o, "ECG200_TRAIN.tsv:1:", "longer than 200 bytes");
    dataset_load_options o2 = {.max_values = 1000};
    load_fails(ucr_path("ECG200/ECG200"), &o2, "ECG200_TRAIN.tsv:11:", "more than 1000 values");
    load_fails(tmp_path("does_not_exist"), NULL, "does_not_exist", "no such data set");
    load_fails(tmp_dir, NULL, "no data set found", NULL);
    /* a train file without its test file */
    char p[512];
    snprintf(p, sizeof p, "%s/lonely_TRAIN.tsv", tmp_dir);
    write_text(p, good_test);
    load_fails(tmp_path("lonely"), NULL, "lonely_TEST.tsv", NULL);
}

/* BasicMotions_TRAIN.ts with the text cut after `keep` bytes. */
static const char *truncated_ts(const char *name, size_t keep, size_t *total)
{
    size_t n;
    unsigned char *buf = read_file(ucr_path("BasicMotions/BasicMotions_TRAIN.ts"), &n);
    *total = n;
    char p[512];
    snprintf(p, sizeof p, "%s/%s_TRAIN.ts", tmp_dir, name);
    write_bytes(p, buf, keep < n ? keep : n);
    snprintf(p, sizeof p, "%s/%s_TEST.ts", tmp_dir, name);
    write_bytes(p, buf, n);
    free(buf);
    return tmp_path(name);
}

Test(dataset, ts_truncated_and_malformed)
{
    size_t total;
    /* cut in the middle of the last sample line (line 53) */
    const char *spec = truncated_ts("cut", 0, &total);
    spec = truncated_ts("cut", total - 3000, &total);
    load_fails(spec, NULL, "cut_TRAIN.ts:53:", "expected 6");
    /* cut inside the header, before @data */
    size_t n;
    unsigned char *orig = read_file(ucr_path("BasicMotions/BasicMotions_TRAIN.ts"), &n);
    const char *at = strstr((const char *)orig, "@data");
    cr_assert_not_null(at);
    size_t data_off = (size_t)(at - (const char *)orig);
    free(orig);
    spec = truncated_ts("hdr", data_off - 3, &total);
    load_fails(spec, NULL, "hdr_TRAIN.ts", "before the @data");

    char p[512];
    const char *hdr = "@problemName toy\n@univariate false\n@dimensions 2\n@equalLength true\n"
                      "@seriesLength 3\n@classLabel true a b\n@data\n";
    char text[1024];
    snprintf(text, sizeof text, "# comment\n%s1,2,3:4,5,6:a\n1,2,3:4,5,6:b\n", hdr);
    snprintf(p, sizeof p, "%s/toy_TEST.ts", tmp_dir);
    write_text(p, text);

    snprintf(p, sizeof p, "%s/toy_TRAIN.ts", tmp_dir);
    snprintf(text, sizeof text, "%s1,2,3:4,5,6:a\n1,2,3:4,5,6:c\n", hdr);
    write_text(p, text);
    load_fails(tmp_path("toy"), NULL, "toy_TRAIN.ts:9:", "'c' is not one of those declared");

    snprintf(text, sizeof text, "%s1,2,3:4,5,6:a\n1,2,3:4,?,6:b\n", hdr);
    write_text(p, text);
    load_fails(tmp_path("toy"), NULL, "toy_TRAIN.ts:9:", "channel 2 value 2");
    dataset_load_options o = {.nan_mode = DATASET_NAN_ZERO};
    dataset_pair d;
    load_ok(tmp_path("toy"), &o, &d);
    cr_assert_str_eq(d.train.name, "toy");
    cr_assert_eq(d.train.dims[0], 2);
    cr_assert_eq(d.train.dims[1], 3);
    cr_assert_float_eq(d.train.x[6 + 4], 0.0f, 0);
    cr_assert_float_eq(d.train.x[6 + 5], 6.0f, 0);
    dataset_pair_free(&d);

    snprintf(text, sizeof text, "%s1,2,3:4,5,6:a\n1,2,3:4,5:b\n", hdr);
    write_text(p, text);
    load_fails(tmp_path("toy"), NULL, "toy_TRAIN.ts:9:", "channel 2 has 2 values, expected 3");

    snprintf(text, sizeof text, "%s1,2,3:4,5,6:a\n1,2,3:b\n", hdr);
    write_text(p, text);
    load_fails(tmp_path("toy"), NULL, "toy_TRAIN.ts:9:", "1 channel(s), expected 2");

    write_text(p, "@problemName toy\n@equalLength false\n@classLabel true a b\n@data\n"
                  "1,2:a\n1:b\n");
    load_fails(tmp_path("toy"), NULL, "toy_TRAIN.ts:2:", "unequal-length");

    write_text(p, "@problemName toy\n@timeStamps true\n@classLabel true a\n@data\n");
    load_fails(tmp_path("toy"), NULL, "toy_TRAIN.ts:2:", "@timeStamps");

    write_text(p, "@problemName toy\n@classLabel true a\n@data\n");
    load_fails(tmp_path("toy"), NULL, "toy_TRAIN.ts:3:", "no samples");
}

Test(dataset, idx_bad_magic_and_truncated_gzip)
{
    const char *dir = tmp_path("idx_bad");
    write_tiny_idx(dir, true);
    char p[512];
    unsigned char buf[4096];
    /* wrong magic in the train labels */
    size_t n = make_idx_labels(buf, 7);
    buf[2] = 0x42;
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte.gz", dir);
    write_gz(p, buf, n);
    load_fails(dir, NULL, "train-labels-idx1-ubyte.gz", "bad IDX magic 00 00 42 01");
    /* labels file where an image file is expected */
    n = make_idx_labels(buf, 7);
    write_gz(p, buf, n);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    write_gz(p, buf, n);
    load_fails(dir, NULL, "train-images-idx3-ubyte.gz", "label file");
    /* truncated gzip stream */
    n = make_idx_images(buf, 7, 5, 6);
    write_gz(p, buf, n);
    size_t gzlen;
    unsigned char *gzbuf = read_file(p, &gzlen);
    write_bytes(p, gzbuf, gzlen - 12);
    free(gzbuf);
    load_fails(dir, NULL, "train-images-idx3-ubyte.gz", "truncated");
    /* plain file shorter than its header says */
    const char *plain = tmp_path("idx_bad_plain");
    write_tiny_idx(plain, false);
    n = make_idx_images(buf, 7, 5, 6);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte", plain);
    write_bytes(p, buf, n - 1);
    load_fails(plain, NULL, "t10k-images-idx3-ubyte", "truncated");
    /* data after the declared values */
    write_bytes(p, buf, n);
    FILE *f = fopen(p, "ab");
    fputc(1, f);
    fclose(f);
    load_fails(plain, NULL, "t10k-images-idx3-ubyte", "continues after");
    /* a header declaring a huge image file with no data */
    buf[0] = buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = 3;
    put_be32(buf + 4, 0xFFFFFFFFu);
    put_be32(buf + 8, 0xFFFFFFFFu);
    put_be32(buf + 12, 2);
    write_bytes(p, buf, 16);
    load_fails(plain, NULL, "t10k-images-idx3-ubyte", "more than");
    put_be32(buf + 4, 1000);
    put_be32(buf + 8, 1000);
    put_be32(buf + 12, 1000);
    write_bytes(p, buf, 16);
    load_fails(plain, NULL, "t10k-images-idx3-ubyte", "truncated");
    /* mismatched label count */
    write_tiny_idx(plain, false);
    n = make_idx_labels(buf, 6);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte", plain);
    write_bytes(p, buf, n);
    load_fails(plain, NULL, "t10k-labels-idx1-ubyte", "6 labels");
}

/* Random byte mutations of small valid files: every load either succeeds
 * with consistent contents or fails with a message. */
Test(dataset, fuzz_mutations_never_crash)
{
    const char *tsv = "1\t0.5\t-1.25\t3e2\t4\n2\t1\t2\t3\t4\n-1\t1\t2\t3\t4\n";
    const char *ts = "@problemName f\n@dimensions 2\n@equalLength true\n@seriesLength 2\n"
                     "@classLabel true x y\n@data\n1,2:3,4:x\n5,6:7,8:y\n";
    unsigned char idx[256];
    size_t idx_n = make_idx_images(idx, 3, 2, 3);
    uint64_t s = 42;
    const char *idx_dir = tmp_path("fz_idx");
    write_tiny_idx(idx_dir, false);
    for (int iter = 0; iter < 600; iter++) {
        int kind = iter % 3;
        unsigned char buf[512];
        size_t n;
        if (kind == 0) {
            n = strlen(tsv);
            memcpy(buf, tsv, n);
        } else if (kind == 1) {
            n = strlen(ts);
            memcpy(buf, ts, n);
        } else {
            n = idx_n;
            memcpy(buf, idx, n);
        }
        int muts = 1 + iter % 4;
        for (int m = 0; m < muts; m++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(s >> 33) % n;
            unsigned char val = (unsigned char)(s >> 17);
            if ((s >> 60) % 4 == 0 && n > 1)
                n = pos + 1; /* truncate */
            else
                buf[pos] = val;
        }
        char p[512], q[512];
        dataset_pair d;
        ssdc_error err = {0};
        ssdc_status st;
        if (kind == 2) {
            snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", idx_dir);
            write_bytes(p, buf, n);
            st = dataset_load(idx_dir, NULL, &d, &err);
        } else {
            const char *ext = kind == 0 ? "tsv" : "ts";
            snprintf(p, sizeof p, "%s/fz_TRAIN.%s", tmp_dir, ext);
            snprintf(q, sizeof q, "%s/fz_TEST.%s", tmp_dir, ext);
            write_bytes(p, buf, n);
            write_text(q, kind == 0 ? tsv : ts);
            st = kind == 0 ? dataset_load_tsv(p, q, NULL, &d, &err)
                           : dataset_load_ts(p, q, NULL, &d, &err);
        }
        if (st == SSDC_OK) {
            cr_assert(d.train.n > 0);
            check_labels_valid(&d.train);
            check_labels_valid(&d.test);
            for (int64_t i = 0; i < d.train.n * dataset_sample_numel(&d.train); i++)
                cr_assert(isfinite(d.train.x[i]));
            dataset_pair_free(&d);
        } else {
            cr_assert_neq(err.msg[0], '\0', "iteration %d: empty message", iter);
            cr_assert_null(d.train.x);
        }
    }
}

/* ---- normalisation ---- */

static void check_sample_znorm(const dataset *d)
{
    int64_t C = d->dims[0], per = dataset_sample_numel(d), P = per / C;
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t c = 0; c < C; c++) {
            const float *x = d->x + i * per + c * P;
            double s = 0, ss = 0;
            for (int64_t k = 0; k < P; k++)
                s += x[k];
            double m = s / P;
            for (int64_t k = 0; k < P; k++)
                ss += (x[k] - m) * (x[k] - m);
            cr_assert(fabs(m) < 1e-5, "sample %lld channel %lld mean %g", (long long)i,
                      (long long)c, m);
            cr_assert(fabs(sqrt(ss / P) - 1.0) < 1e-4, "sample %lld channel %lld std %g",
                      (long long)i, (long long)c, sqrt(ss / P));
        }
}

Test(dataset, normalize_znorm_sample)
{
    dataset_pair p;
    load_ok(ucr_path("BasicMotions"), NULL, &p);
    dataset_norm_mode m;
    ssdc_error err = {0};
    cr_assert_eq(dataset_parse_norm_mode("znorm-sample", &m, &err), SSDC_OK);
    cr_assert_eq(m, DATASET_NORM_ZNORM_SAMPLE);
    cr_assert_str_eq(dataset_norm_mode_name(m), "znorm-sample");
    cr_assert_neq(dataset_parse_norm_mode("zscore", &m, &err), SSDC_OK);
    cr_assert_not_null(strstr(err.msg, "zscore"));
    cr_assert_eq(dataset_normalize(&p.train, &p.test, DATASET_NORM_ZNORM_SAMPLE, &err), SSDC_OK);
    check_sample_znorm(&p.train);
    check_sample_znorm(&p.test);
    dataset_pair_free(&p);

    load_ok(ucr_path("ECG200"), NULL, &p);
    cr_assert_eq(dataset_normalize(&p.train, NULL, DATASET_NORM_ZNORM_SAMPLE, &err), SSDC_OK);
    check_sample_znorm(&p.train);
    /* a constant series becomes zeros, not NaN */
    for (int k = 0; k < 96; k++)
        p.test.x[k] = 3.5f;
    dataset_znorm_samples(&p.test);
    for (int k = 0; k < 96; k++)
        cr_assert_float_eq(p.test.x[k], 0.0f, 0);
    dataset_pair_free(&p);
}

Test(dataset, normalize_znorm_dataset_uses_train_stats)
{
    dataset_pair p, orig;
    load_ok(ucr_path("BasicMotions"), NULL, &p);
    load_ok(ucr_path("BasicMotions"), NULL, &orig);
    ssdc_error err = {0};
    cr_assert_eq(dataset_normalize(&p.train, &p.test, DATASET_NORM_ZNORM_DATASET, &err), SSDC_OK,
                 "%s", err.msg);
    /* train channels: mean 0, std 1 over all samples */
    double mean[6], sd[6];
    cr_assert_eq(dataset_compute_channel_stats(&p.train, mean, sd, &err), SSDC_OK);
    for (int c = 0; c < 6; c++) {
        cr_assert(fabs(mean[c]) < 1e-5, "channel %d mean %g", c, mean[c]);
        cr_assert(fabs(sd[c] - 1.0) < 1e-4, "channel %d std %g", c, sd[c]);
    }
    /* test = (x - train mean) / train std, computed here independently */
    double om[6], os[6];
    for (int c = 0; c < 6; c++) {
        double s = 0, ss = 0;
        for (int64_t i = 0; i < 40; i++)
            for (int k = 0; k < 100; k++)
                s += orig.train.x[i * 600 + c * 100 + k];
        om[c] = s / 4000.0;
        for (int64_t i = 0; i < 40; i++)
            for (int k = 0; k < 100; k++) {
                double v = orig.train.x[i * 600 + c * 100 + k] - om[c];
                ss += v * v;
            }
        os[c] = sqrt(ss / 4000.0);
    }
    double test_mean_dev = 0;
    for (int64_t i = 0; i < 40; i++)
        for (int c = 0; c < 6; c++)
            for (int k = 0; k < 100; k++) {
                int64_t j = i * 600 + c * 100 + k;
                double want = (orig.test.x[j] - om[c]) / os[c];
                cr_assert(fabs(p.test.x[j] - want) < 1e-4 * (1 + fabs(want)),
                          "test value %lld: %g, expected %g", (long long)j, p.test.x[j], want);
            }
    /* and the test statistics differ from 0/1 (so they were not used) */
    double tm[6], ts[6];
    cr_assert_eq(dataset_compute_channel_stats(&p.test, tm, ts, &err), SSDC_OK);
    for (int c = 0; c < 6; c++)
        test_mean_dev += fabs(tm[c]) + fabs(ts[c] - 1.0);
    cr_assert(test_mean_dev > 1e-3);
    dataset_pair_free(&p);
    dataset_pair_free(&orig);
}

/* ---- stratified split ---- */

Test(dataset, split_stratified)
{
    dataset_pair p;
    load_ok(ucr_path("CricketX"), NULL, &p);
    const dataset *d = &p.train;
    dataset tr, va, tr2, va2, tr3, va3;
    ssdc_error err = {0};
    cr_assert_eq(dataset_split_stratified(d, 0.25, 9, &tr, &va, &err), SSDC_OK, "%s", err.msg);
    cr_assert_eq(tr.n + va.n, d->n);
    cr_assert_eq(tr.n_classes, 12);
    cr_assert_eq(va.n_classes, 12);
    cr_assert_str_eq(va.class_names[11], "12");
    cr_assert_eq(va.dims[1], 300);
    int64_t all[12], ct[12], cv[12];
    dataset_count_classes(d, all);
    dataset_count_classes(&tr, ct);
    dataset_count_classes(&va, cv);
    for (int c = 0; c < 12; c++) {
        cr_assert_eq(ct[c] + cv[c], all[c]);
        cr_assert_eq(cv[c], (int64_t)floor(all[c] * 0.25 + 0.5), "class %d: %lld of %lld", c,
                     (long long)cv[c], (long long)all[c]);
    }
    /* every sample lands in exactly one part, with its own label */
    int64_t per = 300;
    unsigned char *used = calloc((size_t)d->n, 1);
    const dataset *parts[2] = {&tr, &va};
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < parts[k]->n; i++) {
            int64_t hit = -1;
            for (int64_t j = 0; j < d->n && hit < 0; j++)
                if (!used[j] &&
                    memcmp(parts[k]->x + i * per, d->x + j * per, per * sizeof(float)) == 0)
                    hit = j;
            cr_assert(hit >= 0, "part %d sample %lld is not in the source", k, (long long)i);
            used[hit] = 1;
            cr_assert_eq(parts[k]->y[i], d->y[hit]);
        }
    free(used);
    /* deterministic for a seed, different for another */
    cr_assert_eq(dataset_split_stratified(d, 0.25, 9, &tr2, &va2, &err), SSDC_OK);
    cr_assert_eq(va2.n, va.n);
    cr_assert_eq(memcmp(va.x, va2.x, (size_t)(va.n * per) * sizeof(float)), 0);
    cr_assert_eq(memcmp(tr.y, tr2.y, (size_t)tr.n * sizeof(int64_t)), 0);
    cr_assert_eq(dataset_split_stratified(d, 0.25, 10, &tr3, &va3, &err), SSDC_OK);
    cr_assert_eq(va3.n, va.n);
    cr_assert_neq(memcmp(va.x, va3.x, (size_t)(va.n * per) * sizeof(float)), 0);
    dataset_free(&tr);
    dataset_free(&va);
    dataset_free(&tr2);
    dataset_free(&va2);
    dataset_free(&tr3);
    dataset_free(&va3);

    cr_assert_neq(dataset_split_stratified(d, 1.0, 1, &tr, &va, &err), SSDC_OK);
    cr_assert_not_null(strstr(err.msg, "fraction"));
    cr_assert_neq(dataset_split_stratified(d, -0.1, 1, &tr, &va, &err), SSDC_OK);
    dataset_pair_free(&p);
}

Test(dataset, split_keeps_one_per_class_in_train)
{
    /* ECGFiveDays train: 14 + 9 samples; with 0.95 every class keeps one */
    dataset_pair p;
    load_ok(ucr_path("ECGFiveDays"), NULL, &p);
    dataset tr, va;
    ssdc_error err = {0};
    cr_assert_eq(dataset_split_stratified(&p.train, 0.95, 3, &tr, &va, &err), SSDC_OK);
    int64_t ct[2], cv[2];
    dataset_count_classes(&tr, ct);
    dataset_count_classes(&va, cv);
    cr_assert_eq(ct[0], 1);
    cr_assert_eq(ct[1], 1);
    cr_assert_eq(cv[0], 13);
    cr_assert_eq(cv[1], 8);
    dataset_free(&tr);
    dataset_free(&va);
    /* fraction 0: everything in train, in the original order */
    cr_assert_eq(dataset_split_stratified(&p.train, 0.0, 3, &tr, &va, &err), SSDC_OK);
    cr_assert_eq(tr.n, 23);
    cr_assert_eq(va.n, 0);
    cr_assert_eq(memcmp(tr.x, p.train.x, 23 * 136 * sizeof(float)), 0);
    dataset_free(&tr);
    dataset_free(&va);
    dataset_pair_free(&p);
}
