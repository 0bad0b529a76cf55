/* Small helpers: error messages, files, clocks, hashing, addresses. */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int rankd_error_set(rankd_error *err, int status, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

uint64_t rankd_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64's finaliser: cheap, well mixed, and the same on every host,
 * so sources produce the same candidates everywhere. */
uint64_t rankd__mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int rankd_read_stream(FILE *f, const char *name, char **text, size_t *len, rankd_error *err)
{
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        if (cap - used < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(buf, cap + 1);
            if (grown == NULL) {
                free(buf);
                return rankd_error_set(err, RANKD_ERUNTIME, "%s: out of memory", name);
            }
            buf = grown;
        }
        size_t n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return rankd_error_set(err, RANKD_EINPUT, "%s: cannot read: %s", name, strerror(errno));
    }
    buf[used] = '\0';
    *text = buf;
    *len = used;
    return RANKD_OK;
}

int rankd__read_file(const char *path, char **text, size_t *len, rankd_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rankd_error_set(err, RANKD_EINPUT, "%s: cannot read: %s", path, strerror(errno));
    int rc = rankd_read_stream(f, path, text, len, err);
    fclose(f);
    return rc;
}

int rankd__parse_addr(const char *addr, char *host, size_t host_len, int *port, rankd_error *err)
{
    const char *colon = strrchr(addr, ':');
    char *end = NULL;
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= host_len)
        return rankd_error_set(err, RANKD_EINPUT, "Redis address '%s': not host:port", addr);
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || p < 1 || p > 65535)
        return rankd_error_set(err, RANKD_EINPUT, "Redis address '%s': no valid port", addr);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    *port = (int)p;
    return RANKD_OK;
}

double rankd__feature_value(uint64_t id)
{
    return (double)(rankd__mix(id ^ 0xfea7u) >> 11) * 0x1.0p-53;
}

int rankd__feature_key(char *buf, size_t len, const char *prefix, uint64_t id)
{
    return snprintf(buf, len, "%s%llu", prefix, (unsigned long long)id);
}
