/* RONDO_OPEN_LAZY maps data files without faulting them in: the store must
 * read and write exactly as with the default mapping, and keep resident only
 * what it touches. (What it saves per VM is measured by rondo-vmm's summary
 * and the scale points: see vmm/README.md and perf/README.md.) */
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

/* The resident size of this process's mapping of `path`, from smaps. */
static long mapped_rss_kb(const char *path)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[1024];
    bool in = false;
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (strchr(line, '-') == line + strspn(line, "0123456789abcdef"))
            in = len >= strlen(path) && strcmp(line + len - strlen(path), path) == 0;
        else if (in && strncmp(line, "Rss:", 4) == 0)
            kb = strtol(line + 4, NULL, 10);
    }
    fclose(f);
    return kb;
}

/* A lazy writer keeps resident only the pages it touches: the header and
 * one page of each archive's ring, not the 16 neighbours of each that the
 * kernel maps on a read fault unless told the access is random. */
static void lazy_writer_keeps_few_pages(void **state)
{
    char dir[64];
    make_temp_dir(dir, sizeof dir);
    rondo_store *store = NULL;
    rondo_error err;
    assert_int_equal(
        rondo_store_open(&store, dir, RONDO_OPEN_CREATE | RONDO_OPEN_WRITE | RONDO_OPEN_LAZY, &err),
        RONDO_OK);
    rondo_archive_spec a[RONDO_MAX_ARCHIVES];
    size_t na = rondo_default_archives(RONDO_GAUGE, a);
    rondo_series *s = NULL;
    assert_int_equal(rondo_store_add(store, "g", RONDO_GAUGE, a, na, &s, &err), RONDO_OK);
    rondo_series_set_max_future(s, 0);
    for (int64_t t = 1000; t < 1030; t++)
        assert_int_equal(rondo_write(s, t, 1), RONDO_WRITE_APPLIED);
    rondo_series_info info;
    rondo_series_get_info(s, &info);
    long kb = mapped_rss_kb(info.path);
    if (kb < 0 || kb > 4 * (long)(na + 1) + 8)
        fail_msg("%s: %ld kB resident for %zu archives", info.path, kb, na);
    rondo_store_close(store);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lazy_writer_reads_back_what_it_wrote),
        cmocka_unit_test(lazy_writer_keeps_few_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
