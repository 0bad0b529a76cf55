/* Errors, names of enumerations, checksums and default archives. */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

void rondo__error_vset(rondo_error *err, rondo_status status, const char *fmt, va_list ap)
{
    if (err == NULL)
        return;
    err->status = status;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
}

void rondo_error_set(rondo_error *err, rondo_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rondo__error_vset(err, status, fmt, ap);
    va_end(ap);
}

const char *rondo_kind_name(rondo_kind kind)
{
    return kind == RONDO_COUNTER ? "counter" : "gauge";
}

static const char *const cf_names[] = {"avg", "min", "max", "last", "sum"};

const char *rondo_cf_name(rondo_cf cf)
{
    return (unsigned)cf < sizeof cf_names / sizeof cf_names[0] ? cf_names[cf] : "?";
}

bool rondo_cf_parse(const char *text, rondo_cf *out)
{
    for (size_t i = 0; i < sizeof cf_names / sizeof cf_names[0]; i++) {
        if (strcmp(text, cf_names[i]) == 0) {
            *out = (rondo_cf)i;
            return true;
        }
    }
    return false;
}

/* zlib's CRC-32. A bitwise loop took 9% of the CPU of creating a VM's 23
 * series: each header is checksummed when it is made and twice when opened. */
uint32_t rondo__crc32(const void *data, size_t len)
{
    return (uint32_t)crc32(0L, data, (uInt)len);
}

size_t rondo_default_archives(rondo_kind kind, rondo_archive_spec *out)
{
    rondo_cf cf = kind == RONDO_COUNTER ? RONDO_CF_SUM : RONDO_CF_AVG;
    out[0] = (rondo_archive_spec){1, 3600, cf};
    out[1] = (rondo_archive_spec){10, 8640, cf};
    out[2] = (rondo_archive_spec){60, 43200, cf};
    return 3;
}

rondo_status rondo_archives_check(const rondo_archive_spec *archives, size_t n, rondo_error *err)
{
    if (n == 0 || n > RONDO_MAX_ARCHIVES) {
        rondo_error_set(err, RONDO_ERR_INPUT, "a series needs 1 to %d archives, not %zu",
                        RONDO_MAX_ARCHIVES, n);
        return RONDO_ERR_INPUT;
    }
    for (size_t i = 0; i < n; i++) {
        const rondo_archive_spec *a = &archives[i];
        if (a->resolution < 1 || a->resolution > RONDO_TIME_MAX) {
            rondo_error_set(err, RONDO_ERR_INPUT, "archive %zu: resolution %lld s is out of range",
                            i + 1, (long long)a->resolution);
            return RONDO_ERR_INPUT;
        }
        if (a->rows < 1 || a->rows > RONDO_MAX_ROWS) {
            rondo_error_set(err, RONDO_ERR_INPUT, "archive %zu: %u rows, must be 1 to %u", i + 1,
                            a->rows, RONDO_MAX_ROWS);
            return RONDO_ERR_INPUT;
        }
        if ((unsigned)a->cf > RONDO_CF_SUM) {
            rondo_error_set(err, RONDO_ERR_INPUT, "archive %zu: unknown consolidation %d", i + 1,
                            (int)a->cf);
            return RONDO_ERR_INPUT;
        }
        if (i > 0) {
            int64_t prev = archives[i - 1].resolution;
            if (a->resolution <= prev || a->resolution % prev != 0) {
                rondo_error_set(err, RONDO_ERR_INPUT,
                                "archive %zu: resolution %lld s must be a larger multiple of "
                                "the previous archive's %lld s",
                                i + 1, (long long)a->resolution, (long long)prev);
                return RONDO_ERR_INPUT;
            }
        }
    }
    return RONDO_OK;
}
