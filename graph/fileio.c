#include "graph/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder holding path into dir; returns path's last component. */
static const char *dir_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, size, ".");
    else if (slash == path)
        snprintf(dir, size, "/");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
    return slash ? slash + 1 : path;
}

static void sync_dir_of(const char *path)
{
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

ssdc_status ssdc_atomic_open(ssdc_atomic_file *f, const char *path, ssdc_error *err)
{
    static unsigned counter;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t cap = strlen(path) + 64;
    f->path = malloc(strlen(path) + 1);
    f->tmp = malloc(cap);
    if (!f->path || !f->tmp) {
        ssdc_atomic_abort(f);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(f->path, path, strlen(path) + 1);
    /* next to the target so rename() stays on one file system */
    for (int attempt = 0; attempt < 100 && f->fd < 0; attempt++) {
        snprintf(f->tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (f->fd < 0 && errno != EEXIST)
            break;
    }
    if (f->fd >= 0) {
        /* a replaced file keeps its permission bits */
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            (void)fchmod(f->fd, sb.st_mode & 07777);
    }
    if (f->fd < 0) {
        int e = errno;
        ssdc_status st = ssdc_fail(err, SSDC_ERR_IO, "%s: cannot create a temporary file next to it: %s",
                                   path, strerror(e));
        free(f->tmp);
        f->tmp = NULL;
        ssdc_atomic_abort(f);
        return st;
    }
    return SSDC_OK;
}

ssdc_status ssdc_atomic_write(ssdc_atomic_file *f, const void *buf, size_t len, ssdc_error *err)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(f->fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ssdc_fail(err, SSDC_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
        }
        if (w == 0)
            return ssdc_fail(err, SSDC_ERR_IO, "%s: write failed: no progress", f->path);
        p += w;
        len -= (size_t)w;
    }
    return SSDC_OK;
}

/* Whether process pid exists and has not exited (a zombie, killed but not
 * yet reaped, counts as gone). */
static bool process_alive(long pid)
{
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return false;
    char stat_path[64], buf[512];
    snprintf(stat_path, sizeof stat_path, "/proc/%ld/stat", pid);
    FILE *f = fopen(stat_path, "r");
    if (!f)
        return true; /* exists (kill said so) but cannot look closer: keep its file */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

/* Removes PATH.tmp.PID.N files left next to path by writers that died
 * (SIGKILL, power loss) before renaming: only those whose PID no longer
 * exists, so a live writer's temporary file stays. */
static void remove_stale_temps(const char *path)
{
    char dir[4096];
    const char *base = dir_of(path, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t bl = strlen(base);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (strncmp(n, base, bl) || strncmp(n + bl, ".tmp.", 5))
            continue;
        const char *q = n + bl + 5;
        char *end;
        errno = 0;
        long pid = strtol(q, &end, 10);
        if (errno || end == q || *end != '.' || pid <= 0)
            continue;
        const char *c = end + 1;
        if (!*c || strspn(c, "0123456789") != strlen(c))
            continue;
        if (pid == (long)getpid() || process_alive(pid))
            continue; /* ours or alive: keep */
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, n);
        unlink(full);
    }
    closedir(d);
}

ssdc_status ssdc_atomic_commit(ssdc_atomic_file *f, ssdc_error *err)
{
    ssdc_status st = SSDC_OK;
    if (fsync(f->fd) != 0)
        st = ssdc_fail(err, SSDC_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    if (close(f->fd) != 0 && !st)
        st = ssdc_fail(err, SSDC_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
    f->fd = -1;
    if (!st && rename(f->tmp, f->path) != 0)
        st = ssdc_fail(err, SSDC_ERR_IO, "%s: cannot rename the temporary file into place: %s",
                       f->path, strerror(errno));
    if (st) {
        ssdc_atomic_abort(f);
        return st;
    }
    sync_dir_of(f->path);
    remove_stale_temps(f->path);
    free(f->tmp);
    free(f->path);
    f->tmp = f->path = NULL;
    return SSDC_OK;
}

void ssdc_atomic_abort(ssdc_atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    f->tmp = f->path = NULL;
}

ssdc_status ssdc_write_file_atomic(const char *path, const void *buf, size_t len, ssdc_error *err)
{
    ssdc_atomic_file f;
    ssdc_status st = ssdc_atomic_open(&f, path, err);
    if (st)
        return st;
    if ((st = ssdc_atomic_write(&f, buf, len, err))) {
        ssdc_atomic_abort(&f);
        return st;
    }
    return ssdc_atomic_commit(&f, err);
}

ssdc_status ssdc_read_file(const char *path, size_t max_bytes, void **buf, size_t *len,
                           ssdc_error *err)
{
    *buf = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return ssdc_fail(err, SSDC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return ssdc_fail(err, SSDC_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        fclose(fp);
        return ssdc_fail(err, SSDC_ERR_LIMIT, "%s: file of %lld bytes is larger than %zu bytes", path,
                         (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    char *b = malloc(n ? n : 1);
    if (!b) {
        fclose(fp);
        return ssdc_fail(err, SSDC_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = n ? fread(b, 1, n, fp) : 0;
    int bad = ferror(fp);
    fclose(fp);
    if (got != n || bad) {
        free(b);
        return ssdc_fail(err, SSDC_ERR_IO, "%s: read failed", path);
    }
    *buf = b;
    *len = n;
    return SSDC_OK;
}
