/* Shared by the store's unit tests: temporary stores and small checks. */
#ifndef RONDO_TEST_HELPERS_H
#define RONDO_TEST_HELPERS_H

#include "rondo/rondo.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A fresh directory under /tmp, removed by rm_tree(). */
static inline void make_temp_dir(char *buf, size_t size)
{
    snprintf(buf, size, "/tmp/rondo-test-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static inline void rm_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Opens (creating) a writable store and adds one series. */
static inline rondo_series *new_series(const char *dir, rondo_store **store, const char *key,
                                       rondo_kind kind, const rondo_archive_spec *archives,
                                       size_t n)
{
    rondo_error err;
    rondo_series *s = NULL;
    if (rondo_store_open(store, dir, RONDO_OPEN_CREATE | RONDO_OPEN_WRITE, &err) != RONDO_OK)
        fail_msg("%s", err.message);
    if (rondo_store_add(*store, key, kind, archives, n, &s, &err) != RONDO_OK)
        fail_msg("%s", err.message);
    rondo_series_set_max_future(s, 0);
    return s;
}

/* Queries [start, end) and flattens the parts into (time, value) arrays. */
static inline size_t query_flat(const rondo_series *s, int64_t start, int64_t end,
                                rondo_result *res, int64_t *times, double *values, size_t cap)
{
    rondo_error err;
    if (rondo_query(s, start, end, res, &err) != RONDO_OK)
        fail_msg("%s", err.message);
    size_t n = 0;
    for (size_t p = 0; p < res->nparts; p++) {
        for (size_t k = 0; k < res->parts[p].count; k++) {
            assert_true(n < cap);
            times[n] = res->parts[p].start + (int64_t)k * res->parts[p].resolution;
            values[n] = res->parts[p].values[k];
            n++;
        }
    }
    return n;
}

#endif
