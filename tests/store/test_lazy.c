/* RONDO_OPEN_LAZY maps data files without faulting them in: the store must
 * read and write exactly as with the default mapping. (What it saves, the
 * resident memory of every archive of every series, is measured by
 * rondo-vmm's summary: see vmm/README.md.) */
#include "helpers.h"

static void lazy_writer_reads_back_what_it_wrote(void **state)
{
    char dir[64];
    make_temp_dir(dir, sizeof dir);
    rondo_store *store = NULL;
    rondo_error err;
    assert_int_equal(
        rondo_store_open(&store, dir, RONDO_OPEN_CREATE | RONDO_OPEN_WRITE | RONDO_OPEN_LAZY, &err),
        RONDO_OK);
    rondo_archive_spec a[RONDO_MAX_ARCHIVES];
    size_t na = rondo_default_archives(RONDO_COUNTER, a);
    rondo_series *s = NULL;
    assert_int_equal(rondo_store_add(store, "c", RONDO_COUNTER, a, na, &s, &err), RONDO_OK);
    rondo_series_set_max_future(s, 0);
    for (int64_t t = 1000; t < 1600; t++)
        assert_int_equal(rondo_write(s, t, 2), RONDO_WRITE_APPLIED);
    rondo_store_close(store);

    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_READ, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(store, "c", &s, &err), RONDO_OK);
    rondo_result res = {0};
    int64_t times[1000];
    double values[1000];
    size_t n = query_flat(s, 1000, 1600, &res, times, values, 1000);
    assert_int_equal(n, 600);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(values[i], 2, 0);
    rondo_result_free(&res);
    rondo_store_close(store);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_writer_reads_back_what_it_wrote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
