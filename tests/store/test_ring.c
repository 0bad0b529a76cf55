/* The write path and queries: slot arithmetic across wrap-around, counters,
 * consolidation as finer slots close, late/repeated/future writes, and the
 * stitched multi-resolution answer. White-box where a coarse archive must be
 * read directly (internal.h). */
#include "helpers.h"

#include "internal.h"

#include <math.h>
#include <string.h>
#include <time.h>

static char dir[64];

static int setup(void **state)
{
    make_temp_dir(dir, sizeof dir);
    return 0;
}

static int teardown(void **state)
{
    rm_tree(dir);
    return 0;
}

/* The value of absolute slot `slot` of archive i, read from the mapping. */
static double raw_slot(const rondo_series *s, size_t i, int64_t slot)
{
    return rondo__slot_get(s, s->rings[i], rondo__mod(slot, s->archives[i].rows));
}

static void slot_arithmetic(void **state)
{
    assert_int_equal(rondo__floor_div(7, 5), 1);
    assert_int_equal(rondo__floor_div(-1, 5), -1);
    assert_int_equal(rondo__floor_div(-5, 5), -1);
    assert_int_equal(rondo__floor_div(-6, 5), -2);
    assert_int_equal(rondo__mod(-1, 5), 4);
    assert_int_equal(rondo__mod(10, 5), 0);
    assert_int_equal(rondo__mod(INT64_MAX, 7), (uint32_t)(INT64_MAX % 7));
}

static void wrap_around(void **state)
{
    rondo_store *store;
    rondo_archive_spec a = {1, 5, RONDO_CF_AVG};
    rondo_series *s = new_series(dir, &store, "wrap", RONDO_GAUGE, &a, 1);
    rondo_result res = {0};
    int64_t times[64];
    double values[64];
    /* 12 writes into 5 rows: the ring wraps twice and keeps 107..111. */
    for (int64_t t = 100; t < 112; t++)
        assert_int_equal(rondo_write(s, t, (double)t), RONDO_WRITE_APPLIED);
    int64_t start, end;
    assert_true(rondo_series_extent(s, &start, &end));
    assert_int_equal(start, 107);
    assert_int_equal(end, 112);
    size_t n = query_flat(s, 0, 1000, &res, times, values, 64);
    assert_int_equal(n, 5);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(times[k], 107 + (int64_t)k);
        assert_true(values[k] == (double)(107 + k));
    }
    /* A jump of 3 slots leaves the skipped slots empty, not stale. */
    assert_int_equal(rondo_write(s, 114, 114.0), RONDO_WRITE_APPLIED);
    n = query_flat(s, 0, 1000, &res, times, values, 64);
    assert_int_equal(n, 5);
    assert_true(values[0] == 110.0 && values[1] == 111.0);
    assert_true(isnan(values[2]) && isnan(values[3]));
    assert_true(values[4] == 114.0);
    /* A jump longer than the ring empties it: the window is 996..1000 and
     * only 1000 holds a value. */
    assert_int_equal(rondo_write(s, 1000, 1.0), RONDO_WRITE_APPLIED);
    n = query_flat(s, 0, 2000, &res, times, values, 64);
    assert_int_equal(n, 5);
    assert_int_equal(times[0], 996);
    for (size_t k = 0; k < 4; k++)
        assert_true(isnan(values[k]));
    assert_true(values[4] == 1.0);
    rondo_result_free(&res);
    rondo_store_close(store);
}

static void counter_accumulates(void **state)
{
    rondo_store *store;
    rondo_archive_spec a[2] = {{1, 10, RONDO_CF_SUM}, {10, 10, RONDO_CF_SUM}};
    rondo_series *c = new_series(dir, &store, "exits{reason=io}", RONDO_COUNTER, a, 2);
    rondo_series *g;
    rondo_error err;
    assert_int_equal(rondo_store_add(store, "temp", RONDO_GAUGE, a, 2, &g, &err), RONDO_OK);
    rondo_series_set_max_future(g, 0);
    /* Three increments in one second add up: the seed's bug overwrote them. */
    for (double v = 1; v <= 3; v++) {
        assert_int_equal(rondo_write(c, 1000, v), RONDO_WRITE_APPLIED);
        assert_int_equal(rondo_write(g, 1000, v), RONDO_WRITE_APPLIED);
    }
    assert_int_equal(rondo_write(c, 1001, 1.0), RONDO_WRITE_APPLIED);
    assert_int_equal(rondo_write(g, 1001, 1.0), RONDO_WRITE_APPLIED);
    /* A late increment adds to its closed slot too. */
    assert_int_equal(rondo_write(c, 1000, 4.0), RONDO_WRITE_LATE);
    rondo_result res = {0};
    int64_t times[16];
    double values[16];
    size_t n = query_flat(c, 1000, 1002, &res, times, values, 16);
    assert_int_equal(n, 2);
    assert_true(values[0] == 10.0);
    assert_true(values[1] == 1.0);
    n = query_flat(g, 1000, 1002, &res, times, values, 16);
    assert_true(values[0] == 3.0);
    /* The coarse sum holds the closed slot's total. */
    assert_int_equal(rondo_write(c, 1010, 1.0), RONDO_WRITE_APPLIED);
    assert_true(raw_slot(c, 1, 100) == 11.0);
    rondo_result_free(&res);
    rondo_store_close(store);
}

static void consolidation(void **state)
{
    rondo_store *store = NULL;
    static const double expect[][2] = {
        [RONDO_CF_AVG] = {4.5, 14.5}, [RONDO_CF_MIN] = {0, 10},   [RONDO_CF_MAX] = {9, 19},
        [RONDO_CF_LAST] = {9, 19},    [RONDO_CF_SUM] = {45, 145},
    };
    for (int cf = RONDO_CF_AVG; cf <= RONDO_CF_SUM; cf++) {
        rondo_archive_spec a[2] = {{1, 5, RONDO_CF_AVG}, {10, 10, (rondo_cf)cf}};
        char key[32];
        snprintf(key, sizeof key, "g{cf=%s}", rondo_cf_name((rondo_cf)cf));
        rondo_series *s;
        rondo_error err;
        if (store == NULL) {
            s = new_series(dir, &store, key, RONDO_GAUGE, a, 2);
        } else {
            assert_int_equal(rondo_store_add(store, key, RONDO_GAUGE, a, 2, &s, &err), RONDO_OK);
            rondo_series_set_max_future(s, 0);
        }
        for (int64_t t = 1000; t < 1020; t++)
            assert_int_equal(rondo_write(s, t, (double)(t - 1000)), RONDO_WRITE_APPLIED);
        /* Slot 1019 is still open, so coarse slot 101 holds 1010..1018. */
        assert_true(raw_slot(s, 1, 100) == expect[cf][0]);
        if (cf == RONDO_CF_AVG)
            assert_true(raw_slot(s, 1, 101) == 14.0);
        assert_int_equal(rondo_write(s, 1020, 20.0), RONDO_WRITE_APPLIED);
        assert_true(raw_slot(s, 1, 100) == expect[cf][0]);
        assert_true(raw_slot(s, 1, 101) == expect[cf][1]);
        /* The stitched answer: the coarse archive for what the 5-row finest
         * archive no longer holds, then the finest from a 10 s boundary. */
        rondo_result res = {0};
        assert_int_equal(rondo_query(s, 1000, 1021, &res, &err), RONDO_OK);
        assert_int_equal(res.nparts, 2);
        assert_int_equal(res.parts[0].resolution, 10);
        assert_int_equal(res.parts[0].start, 1000);
        assert_int_equal(res.parts[0].count, 2);
        assert_int_equal(res.parts[0].cf, cf);
        assert_true(res.parts[0].values[1] == expect[cf][1]);
        assert_int_equal(res.parts[1].resolution, 1);
        assert_int_equal(res.parts[1].start, 1020);
        assert_int_equal(res.parts[1].count, 1);
        assert_true(res.parts[1].values[0] == 20.0);
        rondo_result_free(&res);
    }
    rondo_store_close(store);
}

static void stitched_query(void **state)
{
    rondo_store *store;
    rondo_archive_spec a[3] = {
        {1, 60, RONDO_CF_AVG}, {10, 60, RONDO_CF_AVG}, {60, 100, RONDO_CF_AVG}};
    rondo_series *s = new_series(dir, &store, "stitch", RONDO_GAUGE, a, 3);
    for (int64_t t = 0; t < 3600; t++)
        rondo_write(s, 10000 + t, 1.0);
    rondo_result res = {0};
    rondo_error err;
    /* A long range keeps the finest resolution where it exists: 1 s for the
     * last minute, 10 s for the 10 minutes before, 60 s before that. */
    assert_int_equal(rondo_query(s, 10000, 13600, &res, &err), RONDO_OK);
    assert_int_equal(res.nparts, 3);
    assert_int_equal(res.parts[0].resolution, 60);
    assert_int_equal(res.parts[1].resolution, 10);
    assert_int_equal(res.parts[2].resolution, 1);
    assert_int_equal(res.parts[2].start, 13540);
    assert_int_equal(res.parts[2].count, 60);
    assert_int_equal(res.parts[1].start + (int64_t)res.parts[1].count * 10, 13540);
    assert_int_equal(res.parts[0].start, 9960); /* the 60 s slot holding 10000 */
    assert_int_equal(res.parts[0].start + (int64_t)res.parts[0].count * 60, res.parts[1].start);
    for (size_t p = 0; p < res.nparts; p++) {
        for (size_t k = 0; k < res.parts[p].count; k++)
            assert_true(res.parts[p].values[k] == 1.0);
    }
    /* A short recent range comes entirely from the finest archive. */
    assert_int_equal(rondo_query(s, 13600 - 60, 13600, &res, &err), RONDO_OK);
    assert_int_equal(res.nparts, 1);
    assert_int_equal(res.parts[0].resolution, 1);
    assert_int_equal(res.parts[0].count, 60);
    /* Outside what is retained nothing is reported. */
    assert_int_equal(rondo_query(s, 0, 5000, &res, &err), RONDO_OK);
    assert_int_equal(res.nparts, 0);
    rondo_result_free(&res);
    rondo_store_close(store);
}

static void late_repeated_future(void **state)
{
    rondo_store *store;
    rondo_archive_spec a[2] = {{1, 20, RONDO_CF_AVG}, {10, 10, RONDO_CF_AVG}};
    rondo_series *s = new_series(dir, &store, "late", RONDO_GAUGE, a, 2);
    for (int64_t t = 100; t <= 110; t++)
        assert_int_equal(rondo_write(s, t, 1.0), RONDO_WRITE_APPLIED);
    assert_true(raw_slot(s, 1, 10) == 1.0);
    /* Late but retained: applied, and the closed coarse slot re-derived. */
    assert_int_equal(rondo_write(s, 105, 11.0), RONDO_WRITE_LATE);
    assert_true(raw_slot(s, 0, 105) == 11.0);
    assert_true(raw_slot(s, 1, 10) == 2.0);
    /* Repeated gauge write: the last one wins. */
    assert_int_equal(rondo_write(s, 105, 3.0), RONDO_WRITE_LATE);
    assert_true(raw_slot(s, 1, 10) == 1.2);
    assert_int_equal(rondo_write(s, 110, 5.0), RONDO_WRITE_APPLIED);
    assert_int_equal(rondo_write(s, 110, 6.0), RONDO_WRITE_APPLIED);
    assert_true(raw_slot(s, 0, 110) == 6.0);
    /* Older than the finest archive: dropped and counted, nothing changes. */
    assert_int_equal(rondo_write(s, 90, 99.0), RONDO_WRITE_TOO_OLD);
    assert_int_equal(rondo_write(s, 50, 99.0), RONDO_WRITE_TOO_OLD);
    assert_int_equal(rondo_write(s, 101, 7.0), RONDO_WRITE_LATE);
    /* Not finite, or a time out of range: dropped and counted. */
    assert_int_equal(rondo_write(s, 111, NAN), RONDO_WRITE_INVALID);
    assert_int_equal(rondo_write(s, 111, INFINITY), RONDO_WRITE_INVALID);
    assert_int_equal(rondo_write(s, -1, 1.0), RONDO_WRITE_INVALID);
    /* Far ahead of the wall clock: rejected; within the bound: applied. */
    rondo_series_set_max_future(s, 600);
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(rondo_write(s, now + 3600, 1.0), RONDO_WRITE_FUTURE);
    assert_int_equal(rondo_write(s, now + 60, 1.0), RONDO_WRITE_APPLIED);
    rondo_series_info info;
    rondo_series_get_info(s, &info);
    assert_int_equal(info.too_old, 2);
    assert_int_equal(info.late, 3);
    assert_int_equal(info.invalid, 3);
    assert_int_equal(info.future, 1);
    assert_int_equal(info.first_time, 100);
    assert_int_equal(info.last_time, now + 60);
    rondo_store_close(store);
}

static void batch_continues(void **state)
{
    rondo_store *store;
    rondo_archive_spec a = {1, 10, RONDO_CF_AVG};
    rondo_series *s = new_series(dir, &store, "batch", RONDO_GAUGE, &a, 1);
    rondo_sample samples[] = {
        {s, 100, 1.0}, {s, 110, 2.0}, {s, 50, 3.0}, {s, 105, 4.0}, {s, 111, NAN}, {s, 111, 5.0},
    };
    rondo_batch_result r;
    rondo_write_batch(samples, 6, &r);
    assert_int_equal(r.applied, 3);
    assert_int_equal(r.late, 1);
    assert_int_equal(r.too_old, 1);
    assert_int_equal(r.invalid, 1);
    rondo_result res = {0};
    int64_t times[16];
    double values[16];
    size_t n = query_flat(s, 0, 200, &res, times, values, 16);
    assert_int_equal(n, 10);
    assert_true(values[9] == 5.0 && values[8] == 2.0 && values[3] == 4.0);
    rondo_result_free(&res);
    rondo_store_close(store);
}

static void reopen_and_readonly(void **state)
{
    rondo_store *store;
    rondo_archive_spec a[2] = {{1, 10, RONDO_CF_AVG}, {10, 10, RONDO_CF_AVG}};
    rondo_series *s = new_series(dir, &store, "reopen{a=1}", RONDO_GAUGE, a, 2);
    for (int64_t t = 100; t < 105; t++)
        rondo_write(s, t, 2.0);
    rondo_store_close(store);
    rondo_error err;
    /* A new writer resumes the running consolidation from the file. */
    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_WRITE, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(store, "reopen{ a = 1 }", &s, &err), RONDO_OK);
    rondo_series_set_max_future(s, 0);
    for (int64_t t = 105; t <= 110; t++)
        rondo_write(s, t, 4.0);
    assert_true(raw_slot(s, 1, 10) == 3.0);
    /* A second writer of the same series is refused. */
    rondo_store *other;
    rondo_series *o;
    assert_int_equal(rondo_store_open(&other, dir, RONDO_OPEN_WRITE, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(other, "reopen{a=1}", &o, &err), RONDO_ERR_BUSY);
    assert_non_null(strstr(err.message, "another process"));
    rondo_store_close(other);
    rondo_store_close(store);
    /* Readers see the data and cannot write. */
    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_READ, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(store, "reopen{a=1}", &s, &err), RONDO_OK);
    assert_int_equal(rondo_write(s, 111, 1.0), RONDO_WRITE_READONLY);
    assert_int_equal(rondo_store_find(store, "reopen{a=2}", &s, &err), RONDO_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "no such series: reopen{a=2}"));
    assert_int_equal(rondo_store_add(store, "x", RONDO_GAUGE, a, 2, &s, &err), RONDO_ERR_INPUT);
    rondo_store_close(store);
}

static void schema_grows(void **state)
{
    rondo_store *a_store, *b_store;
    rondo_archive_spec a = {1, 10, RONDO_CF_AVG};
    rondo_series *s;
    rondo_error err;
    new_series(dir, &a_store, "one", RONDO_GAUGE, &a, 1);
    assert_int_equal(rondo_store_open(&b_store, dir, RONDO_OPEN_WRITE, &err), RONDO_OK);
    assert_int_equal(rondo_store_add(a_store, "two", RONDO_GAUGE, &a, 1, &s, &err), RONDO_OK);
    /* b learns about "two" when it adds "three" and writes all three. */
    assert_int_equal(rondo_store_add(b_store, "two", RONDO_GAUGE, &a, 1, &s, &err),
                     RONDO_ERR_EXISTS);
    assert_int_equal(rondo_store_add(b_store, "three", RONDO_COUNTER, &a, 1, &s, &err), RONDO_OK);
    assert_int_equal(rondo_store_series_count(b_store), 3);
    rondo_store_close(a_store);
    rondo_store_close(b_store);
    assert_int_equal(rondo_store_open(&a_store, dir, RONDO_OPEN_READ, &err), RONDO_OK);
    /* A fresh open lists them sorted by key. */
    assert_int_equal(rondo_store_series_count(a_store), 3);
    assert_string_equal(rondo_store_series_id(a_store, 1)->name, "three");
    assert_string_equal(rondo_store_series_id(a_store, 2)->name, "two");
    rondo_store_close(a_store);
    rondo_archive_spec bad[2] = {{10, 10, RONDO_CF_AVG}, {15, 10, RONDO_CF_AVG}};
    assert_int_equal(rondo_archives_check(bad, 2, &err), RONDO_ERR_INPUT);
    assert_non_null(strstr(err.message, "multiple"));
}

/* A new data file is its header and zero bytes: creation writes no slot, and
 * zero bytes read as empty. */
static void new_file_slots_are_zero_and_empty(void **state)
{
    rondo_store *store;
    rondo_archive_spec a[2] = {{1, 600, RONDO_CF_AVG}, {60, 60, RONDO_CF_MAX}};
    rondo_series *s = new_series(dir, &store, "fresh", RONDO_GAUGE, a, 2);
    const unsigned char *bytes = s->map;
    size_t nonzero = 0;
    for (size_t i = RONDO__HEADER_SIZE; i < s->map_size; i++)
        nonzero += bytes[i] != 0;
    assert_int_equal(nonzero, 0);
    for (size_t i = 0; i < 2; i++)
        for (int64_t slot = 0; slot < (int64_t)a[i].rows; slot++)
            assert_true(isnan(raw_slot(s, i, slot)));
    /* A write, and the ring step after it, leave the other slots empty. */
    rondo_series_set_max_future(s, 0);
    assert_int_equal(rondo_write(s, 7200, 0.0), RONDO_WRITE_APPLIED);
    assert_int_equal(rondo_write(s, 7201, -1.5), RONDO_WRITE_APPLIED);
    rondo_result res = {0};
    int64_t times[8];
    double values[8];
    assert_int_equal(query_flat(s, 7198, 7203, &res, times, values, 8), 4);
    assert_true(isnan(values[0]) && isnan(values[1]));
    assert_true(values[2] == 0.0 && !signbit(values[2]));
    assert_true(values[3] == -1.5);
    assert_true(isnan(raw_slot(s, 0, 7202)));
    rondo_result_free(&res);
    rondo_store_close(store);
}

/* Rewrites a closed data file as version 1 wrote it: every slot's double as
 * it is (an empty one NaN), version 1 in a re-checksummed header. */
static void rewrite_as_version1(const char *path)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    struct rondo__header h;
    assert_int_equal(fread(&h, sizeof h, 1, f), 1);
    h.version = RONDO__VERSION_RAW;
    h.header_crc = rondo__crc32(&h, RONDO__CRC_END);
    uint64_t slot;
    for (long off = RONDO__HEADER_SIZE; off < (long)h.file_size; off += 8) {
        assert_int_equal(fseek(f, off, SEEK_SET), 0);
        assert_int_equal(fread(&slot, 8, 1, f), 1);
        slot ^= RONDO__EMPTY_BITS;
        assert_int_equal(fseek(f, off, SEEK_SET), 0);
        assert_int_equal(fwrite(&slot, 8, 1, f), 1);
    }
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    assert_int_equal(fwrite(&h, sizeof h, 1, f), 1);
    assert_int_equal(fclose(f), 0);
}

/* A version 1 file (empty slots stored as NaN) reads as it did, and a writer
 * goes on in that file's encoding. */
static void version1_file_reads_and_writes(void **state)
{
    rondo_store *store;
    rondo_error err;
    rondo_archive_spec a[2] = {{1, 20, RONDO_CF_SUM}, {10, 10, RONDO_CF_SUM}};
    rondo_series *s = new_series(dir, &store, "old", RONDO_COUNTER, a, 2);
    rondo_series_set_max_future(s, 0);
    for (int64_t t = 100; t < 112; t++)
        if (t != 105)
            assert_int_equal(rondo_write(s, t, (double)t), RONDO_WRITE_APPLIED);
    char path[512];
    snprintf(path, sizeof path, "%s", s->path);
    rondo_store_close(store);
    rewrite_as_version1(path);

    assert_int_equal(rondo_series_open_file(&s, path, true, &err), RONDO_OK);
    assert_int_equal(s->hdr->version, RONDO__VERSION_RAW);
    rondo_series_set_max_future(s, 0);
    assert_int_equal(rondo_write(s, 112, 1.0), RONDO_WRITE_APPLIED);
    assert_int_equal(rondo_write(s, 111, 2.0), RONDO_WRITE_LATE);
    rondo_result res = {0};
    int64_t times[32];
    double values[32];
    size_t n = query_flat(s, 100, 113, &res, times, values, 32);
    assert_int_equal(n, 13);
    for (size_t i = 0; i < n; i++) {
        if (times[i] == 105)
            assert_true(isnan(values[i]));
        else if (times[i] == 111)
            assert_true(values[i] == 113.0);
        else if (times[i] == 112)
            assert_true(values[i] == 1.0);
        else
            assert_true(values[i] == (double)times[i]);
    }
    /* The coarse slot 100-109 closed before the rewrite; its sum survives. */
    assert_true(raw_slot(s, 1, 10) == 100 + 101 + 102 + 103 + 104 + 106 + 107 + 108 + 109);
    /* An empty slot is still stored as NaN in this file. */
    uint64_t bits;
    memcpy(&bits, &s->ring0[rondo__mod(105, 20)], sizeof bits);
    assert_true(bits == RONDO__EMPTY_BITS);
    rondo_result_free(&res);
    rondo_series_close(s);
}

/* A handle holds its key in an allocation sized to it: the longest key
 * survives a reopen whole, and parses back into its name and label. */
static void longest_key_round_trip(void **state)
{
    char key[RONDO_MAX_KEY + 1];
    size_t value_len = RONDO_MAX_KEY - strlen("m{l=}");
    memcpy(key, "m{l=", 4);
    memset(key + 4, 'v', value_len);
    memcpy(key + 4 + value_len, "}", 2);
    assert_int_equal(strlen(key), RONDO_MAX_KEY);
    rondo_store *store;
    rondo_archive_spec a[1] = {{1, 10, RONDO_CF_LAST}};
    rondo_series *s = new_series(dir, &store, key, RONDO_GAUGE, a, 1);
    assert_int_equal(rondo_write(s, 50, 1.0), RONDO_WRITE_APPLIED);
    rondo_store_close(store);

    rondo_error err;
    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_WRITE | RONDO_OPEN_LAZY, &err),
                     RONDO_OK);
    assert_int_equal(rondo_store_find(store, key, &s, &err), RONDO_OK);
    rondo_series_info info;
    rondo_series_get_info(s, &info);
    assert_string_equal(info.key, key);
    rondo_series_id id;
    rondo_series_get_id(s, &id);
    assert_string_equal(id.name, "m");
    assert_int_equal(id.nlabels, 1);
    assert_int_equal(strlen(id.labels[0].value), value_len);
    rondo_store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slot_arithmetic),
        cmocka_unit_test_setup_teardown(wrap_around, setup, teardown),
        cmocka_unit_test_setup_teardown(counter_accumulates, setup, teardown),
        cmocka_unit_test_setup_teardown(consolidation, setup, teardown),
        cmocka_unit_test_setup_teardown(stitched_query, setup, teardown),
        cmocka_unit_test_setup_teardown(late_repeated_future, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_and_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(new_file_slots_are_zero_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(version1_file_reads_and_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(longest_key_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
