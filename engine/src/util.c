/* Small helpers: error messages, files, clocks, hashing, addresses. */
#include "internal.h"

#include "pmbase/file.h"
#include "pmbase/number.h"

#include <stdarg.h>
#include <stdio.h>
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

int rankd__status(int pmb_status, const pmb_error *from, rankd_error *err)
{
    if (pmb_status == PMB_OK)
        return RANKD_OK;
    return rankd_error_set(err, pmb_status == PMB_EINPUT ? RANKD_EINPUT : RANKD_ERUNTIME, "%s",
                           from->msg);
}

/* The stream is the program's input (a request on stdin), so a read error
 * is reported as bad input, exit code 2. */
int rankd_read_stream(FILE *f, const char *name, char **text, size_t *len, rankd_error *err)
{
    pmb_error e;
    if (pmb_stream_read(f, name, 0, text, len, &e) != PMB_OK)
        return rankd_error_set(err, RANKD_EINPUT, "%s", e.msg);
    return RANKD_OK;
}

int rankd__read_file(const char *path, char **text, size_t *len, rankd_error *err)
{
    pmb_error e;
    return rankd__status(pmb_file_read(path, RANKD__FILE_MAX, text, len, &e), &e, err);
}

int rankd__parse_addr(const char *addr, char *host, size_t host_len, int *port, rankd_error *err)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || (size_t)(colon - addr) >= host_len)
        return rankd_error_set(err, RANKD_EINPUT, "Redis address '%s': not host:port", addr);
    pmb_error e;
    if (pmb_parse_int("Redis port", colon + 1, 1, 65535, port, &e) != PMB_OK)
        return rankd_error_set(err, RANKD_EINPUT, "Redis address '%s': %s", addr, e.msg);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
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
