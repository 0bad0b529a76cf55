/* Values near the limit of a double and implausible state on disk
 * (issue 9, rows 4 and 5). */
#include "helpers.h"
#include "internal.h"

#include <float.h>
#include <math.h>

static void mean_of_huge_values_stays_finite(void **state)
{
    char dir[64];
    make_temp_dir(dir, sizeof dir);
    rondo_store *store;
    rondo_archive_spec a[] = {{1, 4, RONDO_CF_AVG}, {10, 10, RONDO_CF_AVG}};
    rondo_series *s = new_series(dir, &store, "g", RONDO_GAUGE, a, 2);
    assert_int_equal(rondo_write(s, 100, 1e308), RONDO_WRITE_APPLIED);
    assert_int_equal(rondo_write(s, 101, 1e308), RONDO_WRITE_APPLIED);
    /* Move on so that [100, 110) is served by the 10 s average. */
    assert_int_equal(rondo_write(s, 130, 1), RONDO_WRITE_APPLIED);
    rondo_result res = {0};
    int64_t times[64];
    double values[64];
    size_t n = query_flat(s, 100, 110, &res, times, values, 64);
    assert_int_equal(n, 1);
    assert_true(isfinite(values[0]));
    assert_float_equal(values[0], 1e308, 1e293);
    rondo_result_free(&res);
    rondo_store_close(store);
    rm_tree(dir);
}

static void counter_overflow_is_refused(void **state)
{
    char dir[64];
    make_temp_dir(dir, sizeof dir);
    rondo_store *store;
    rondo_archive_spec a[] = {{1, 10, RONDO_CF_SUM}};
    rondo_series *s = new_series(dir, &store, "c", RONDO_COUNTER, a, 1);
    assert_int_equal(rondo_write(s, 100, 1e308), RONDO_WRITE_APPLIED);
    assert_int_equal(rondo_write(s, 100, 1e308), RONDO_WRITE_INVALID);
    assert_int_equal(rondo_write(s, 101, DBL_MAX), RONDO_WRITE_APPLIED);
    assert_int_equal(rondo_write(s, 101, DBL_MAX), RONDO_WRITE_INVALID);
    rondo_result res = {0};
    int64_t times[16];
    double values[16];
    size_t n = query_flat(s, 100, 102, &res, times, values, 16);
    assert_int_equal(n, 2);
    assert_float_equal(values[0], 1e308, 0);
    assert_float_equal(values[1], DBL_MAX, 0);
    rondo_series_info info;
    rondo_series_get_info(s, &info);
    assert_int_equal(info.invalid, 2);
    rondo_result_free(&res);
    rondo_store_close(store);
    rm_tree(dir);
}

/* The unchecksummed state says a coarse archive's newest slot is 0 and the
 * first write was at time 0: a query of everything must stay within what
 * the archives can hold, not span 1.8 billion seconds. */
static void query_size_follows_the_geometry(void **state)
{
    char dir[64];
    make_temp_dir(dir, sizeof dir);
    rondo_store *store;
    rondo_archive_spec a[RONDO_MAX_ARCHIVES];
    size_t na = rondo_default_archives(RONDO_GAUGE, a);
    rondo_series *s = new_series(dir, &store, "g", RONDO_GAUGE, a, na);
    for (int64_t t = 1800000000; t < 1800000100; t++)
        rondo_write(s, t, 1);
    s->hdr->last_slot[na - 1] = 0;
    s->hdr->first_time = 0;
    int64_t start, end;
    assert_true(rondo_series_extent(s, &start, &end));
    rondo_result res = {0};
    rondo_error err;
    assert_int_equal(rondo_query(s, start, end, &res, &err), RONDO_OK);
    size_t total = 0, rows = 0;
    for (size_t p = 0; p < res.nparts; p++)
        total += res.parts[p].count;
    for (size_t i = 0; i < na; i++)
        rows += a[i].rows;
    assert_true(total <= rows);
    rondo_result_free(&res);
    rondo_store_close(store);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mean_of_huge_values_stays_finite),
        cmocka_unit_test(counter_overflow_is_refused),
        cmocka_unit_test(query_size_follows_the_geometry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
