#include "pmbase/file.h"

#include "pmbase/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pmb__too_big(const char *name, size_t max_bytes, pmb_error *err)
{
    return pmb_error_set(err, PMB_EINPUT, "%s: larger than the limit of %zu bytes", name,
                         max_bytes);
}

int pmb_stream_read(FILE *f, const char *name, size_t max_bytes, char **data, size_t *len,
                    pmb_error *err)
{
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        if (cap - used < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = pmb_realloc(buf, cap + 1);
        }
        size_t n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (max_bytes > 0 && used > max_bytes) {
            free(buf);
            return pmb__too_big(name, max_bytes, err);
        }
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        return pmb_error_errno(err, PMB_ERUNTIME, e, "%s: cannot read", name);
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return PMB_OK;
}

int pmb_file_read(const char *path, size_t max_bytes, char **data, size_t *len, pmb_error *err)
{
    /* O_NONBLOCK keeps open() from waiting for a FIFO's writer; the type is
     * checked on the descriptor, so a swap after the check cannot matter. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return pmb_error_errno(err, PMB_EINPUT, errno, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return pmb_error_errno(err, PMB_ERUNTIME, e, "%s: cannot stat", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pmb_error_set(err, PMB_EINPUT, "%s: not a regular file", path);
    }
    if (max_bytes > 0 && (uintmax_t)st.st_size > max_bytes) {
        close(fd);
        return pmb__too_big(path, max_bytes, err);
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        int e = errno;
        close(fd);
        return pmb_error_errno(err, PMB_ERUNTIME, e, "%s: cannot read", path);
    }
    int rc = pmb_stream_read(f, path, max_bytes, data, len, err);
    fclose(f);
    return rc;
}

static int pmb__write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int pmb_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          pmb_error *err)
{
    size_t plen = strlen(path);
    char *tmp = pmb_malloc(plen + 16);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    /* mkostemp creates with O_EXCL: it never opens a file that exists, and
     * so never writes through a symbolic link someone planted. */
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int rc =
            pmb_error_errno(err, PMB_ERUNTIME, errno, "%s: cannot create a temporary file", path);
        free(tmp);
        return rc;
    }
    int rc = PMB_OK;
    if (fchmod(fd, mode) != 0 || pmb__write_all(fd, data, len) != 0 || fsync(fd) != 0)
        rc = pmb_error_errno(err, PMB_ERUNTIME, errno, "%s: cannot write", tmp);
    if (close(fd) != 0 && rc == PMB_OK)
        rc = pmb_error_errno(err, PMB_ERUNTIME, errno, "%s: cannot write", tmp);
    if (rc == PMB_OK && rename(tmp, path) != 0)
        rc = pmb_error_errno(err, PMB_ERUNTIME, errno, "%s: cannot replace", path);
    if (rc != PMB_OK) {
        unlink(tmp);
        free(tmp);
        return rc;
    }
    /* The rename is durable only once the directory itself is on disk. */
    memcpy(tmp, path, plen + 1);
    int dfd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            rc = pmb_error_errno(err, PMB_ERUNTIME, errno, "%s: cannot sync its directory", path);
        close(dfd);
    }
    free(tmp);
    return rc;
}

int pmb_mkdirs(const char *dir, pmb_error *err)
{
    char *path = pmb_strdup(dir);
    int rc = PMB_OK;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            rc = pmb_error_errno(err, PMB_ERUNTIME, errno, "cannot create directory %s", path);
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    if (rc == PMB_OK) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = pmb_error_set(err, PMB_EINPUT, "%s: not a directory", dir);
    }
    free(path);
    return rc;
}
