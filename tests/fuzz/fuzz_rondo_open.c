/* Fuzzes opening a data file: the bytes become a file (a memfd), which is
 * opened, and when it opens it is queried over its whole extent and
 * written to, so that no header can make a later step misbehave. */
#include "rondo/rondo.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("rondo-fuzz", 0);
    if (fd < 0)
        return 0;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    for (int writable = 0; writable <= 1; writable++) {
        rondo_series *s;
        rondo_error err;
        if (rondo_series_open_file(&s, path, writable, &err) != RONDO_OK)
            continue;
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
    close(fd);
    return 0;
}
