/* Fuzzes opening a data file: the bytes become a regular file, which is
 * opened, and when it opens it is queried over its whole extent and
 * written to, so that no header can make a later step misbehave. The file
 * is a real one because the store refuses a path through a link, which
 * /proc/self/fd/N of a memfd is. */
#include "rondo/rondo.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerReplayAccepted(void);

static char dir[64];
static char path[96];
static size_t opened;

static void remove_file(void)
{
    unlink(path);
    rmdir(dir);
}

size_t LLVMFuzzerReplayAccepted(void)
{
    return opened;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/rondo-fuzz-XXXXXX");
        if (mkdtemp(dir) == NULL)
            abort();
        snprintf(path, sizeof path, "%s/series.rondo", dir);
        atexit(remove_file);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        abort();
    bool written = size == 0 || write(fd, data, size) == (ssize_t)size;
    close(fd);
    if (!written)
        return 0;
    for (int writable = 0; writable <= 1; writable++) {
        rondo_series *s;
        rondo_error err;
        if (rondo_series_open_file(&s, path, writable, &err) != RONDO_OK)
            continue;
        opened++;
        rondo_series_info info;
        rondo_series_get_info(s, &info);
        rondo_result res = {0};
        int64_t start, end;
        if (rondo_series_extent(s, &start, &end) && end - start < (int64_t)1 << 24)
            rondo_query(s, start, end, &res, &err);
        rondo_query(s, info.last_time - 100, info.last_time + 100, &res, &err);
        if (writable) {
            rondo_series_set_max_future(s, 0);
            rondo_write(s, info.last_time, 1.0);
            rondo_write(s, info.last_time + 1, 2.0);
            rondo_write(s, info.last_time - 3, 3.0);
            rondo_write(s, info.last_time + 1000, 4.0);
        }
        rondo_result_free(&res);
        rondo_series_close(s);
    }
    return 0;
}
