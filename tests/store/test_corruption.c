/* Truncated, corrupted and foreign files get a clear error naming the file,
 * never a crash or a wrong answer; so do broken schemas. */
#include "helpers.h"

#include "internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static int setup(void **state)
{
    make_temp_dir(dir, sizeof dir);
    rondo_store *store;
    rondo_archive_spec a[2] = {{1, 16, RONDO_CF_AVG}, {4, 16, RONDO_CF_MAX}};
    rondo_series *s = new_series(dir, &store, "cpu{host=a}", RONDO_GAUGE, a, 2);
    for (int64_t t = 100; t < 130; t++)
        rondo_write(s, t, 1.0);
    rondo_series_info info;
    rondo_series_get_info(s, &info);
    snprintf(path, sizeof path, "%s", info.path);
    rondo_store_close(store);
    return 0;
}

static int teardown(void **state)
{
    rm_tree(dir);
    return 0;
}

static void patch(const char *file, off_t off, const void *bytes, size_t n)
{
    int fd = open(file, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

static void expect_corrupt(const char *file, const char *why)
{
    rondo_series *s = NULL;
    rondo_error err = {0};
    assert_int_equal(rondo_series_open_file(&s, file, false, &err), RONDO_ERR_CORRUPT);
    assert_null(s);
    if (strstr(err.message, file) == NULL || strstr(err.message, why) == NULL)
        fail_msg("expected '%s' naming %s, got '%s'", why, file, err.message);
}

static void intact_file_opens(void **state)
{
    rondo_series *s;
    rondo_error err;
    assert_int_equal(rondo_series_open_file(&s, path, false, &err), RONDO_OK);
    rondo_series_info info;
    rondo_series_get_info(s, &info);
    assert_string_equal(info.key, "cpu{host=a}");
    rondo_series_close(s);
}

static void truncated(void **state)
{
    assert_int_equal(truncate(path, 100), 0);
    expect_corrupt(path, "truncated: 100 bytes");
    assert_int_equal(truncate(path, 0), 0);
    expect_corrupt(path, "truncated: 0 bytes");
}

static void truncated_data(void **state)
{
    assert_int_equal(truncate(path, RONDO__HEADER_SIZE + 64), 0);
    expect_corrupt(path, "truncated or extended");
}

static void bad_magic(void **state)
{
    patch(path, 0, "XONDO", 5);
    expect_corrupt(path, "bad magic");
}

static void header_checksum(void **state)
{
    /* One flipped bit in the key or the geometry is caught by the checksum. */
    patch(path, offsetof(struct rondo__header, key) + 1, "P", 1);
    expect_corrupt(path, "checksum");
}

static void geometry_checksum(void **state)
{
    uint64_t rows = 17;
    patch(path,
          offsetof(struct rondo__header, archives) + offsetof(struct rondo__archive_disk, rows),
          &rows, sizeof rows);
    expect_corrupt(path, "checksum");
}

static void implausible_state(void **state)
{
    int64_t last = -5;
    patch(path, offsetof(struct rondo__header, last_slot), &last, sizeof last);
    expect_corrupt(path, "implausible newest slot");
    last = INT64_MAX / 2;
    patch(path, offsetof(struct rondo__header, last_slot), &last, sizeof last);
    expect_corrupt(path, "implausible");
}

static void foreign_files(void **state)
{
    char other[160];
    snprintf(other, sizeof other, "%s/foreign", dir);
    FILE *f = fopen(other, "wb");
    for (int i = 0; i < 5000; i++)
        fputc("#!/bin/sh\n"[i % 10], f);
    fclose(f);
    expect_corrupt(other, "bad magic");
    /* A directory is not a data file either. */
    rondo_series *s;
    rondo_error err;
    assert_int_equal(rondo_series_open_file(&s, dir, false, &err), RONDO_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "not a regular file"));
    snprintf(other, sizeof other, "%s/absent", dir);
    assert_int_equal(rondo_series_open_file(&s, other, false, &err), RONDO_ERR_NOT_FOUND);
}

static void write_schema(const char *text)
{
    char p[160];
    snprintf(p, sizeof p, "%s/schema.json", dir);
    FILE *f = fopen(p, "wb");
    fputs(text, f);
    fclose(f);
}

static void expect_store_error(rondo_status status, const char *why)
{
    rondo_store *store = NULL;
    rondo_error err = {0};
    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_READ, &err), status);
    if (strstr(err.message, why) == NULL)
        fail_msg("expected '%s', got '%s'", why, err.message);
}

static void broken_schema(void **state)
{
    write_schema("{not json");
    expect_store_error(RONDO_ERR_CORRUPT, "schema.json: not a rondo store schema");
    write_schema("{\"format\":\"rondo-store\",\"version\":3,\"series\":[]}");
    expect_store_error(RONDO_ERR_CORRUPT, "schema version 3");
    write_schema("{\"format\":\"rondo-store\",\"version\":1,\"series\":[{\"key\":\"a\","
                 "\"kind\":\"gauge\",\"file\":\"../../etc/passwd\",\"archives\":"
                 "[{\"resolution\":1,\"rows\":1,\"cf\":\"avg\"}]}]}");
    expect_store_error(RONDO_ERR_CORRUPT, "series[0].file");
    write_schema("{\"format\":\"rondo-store\",\"version\":1,\"series\":[{\"key\":\"a{\","
                 "\"kind\":\"gauge\",\"file\":\"series-0.rondo\",\"archives\":[]}]}");
    expect_store_error(RONDO_ERR_CORRUPT, "series[0].key");
    write_schema("{\"format\":\"rondo-store\",\"version\":1,\"series\":[{\"key\":\"a\","
                 "\"kind\":\"gauge\",\"file\":\"series-0.rondo\",\"archives\":"
                 "[{\"resolution\":1,\"rows\":0,\"cf\":\"avg\"}]}]}");
    expect_store_error(RONDO_ERR_CORRUPT, "series[0].archives");
    char p[160];
    snprintf(p, sizeof p, "%s/schema.json", dir);
    unlink(p);
    expect_store_error(RONDO_ERR_NOT_FOUND, "no such store");
    rm_tree(dir);
    expect_store_error(RONDO_ERR_NOT_FOUND, "no such store");
    assert_int_equal(mkdir(dir, 0755), 0);
}

static void schema_file_mismatch(void **state)
{
    /* A version 1 schema names a file whose header describes another series. */
    char text[1024];
    snprintf(text, sizeof text,
             "{\"format\":\"rondo-store\",\"version\":1,\"series\":[{\"key\":\"mem\","
             "\"kind\":\"gauge\",\"file\":\"%s\",\"archives\":"
             "[{\"resolution\":1,\"rows\":16,\"cf\":\"avg\"},"
             "{\"resolution\":4,\"rows\":16,\"cf\":\"max\"}]},"
             "{\"key\":\"gone\",\"kind\":\"gauge\",\"file\":\"series-7.rondo\",\"archives\":"
             "[{\"resolution\":1,\"rows\":16,\"cf\":\"avg\"}]}]}",
             strrchr(path, '/') + 1);
    write_schema(text);
    rondo_store *store;
    rondo_series *s;
    rondo_error err;
    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_READ, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(store, "mem", &s, &err), RONDO_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "does not match"));
    assert_int_equal(rondo_store_find(store, "gone", &s, &err), RONDO_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "series-7.rondo: missing"));
    rondo_store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(intact_file_opens, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_data, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(header_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(geometry_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(implausible_state, setup, teardown),
        cmocka_unit_test_setup_teardown(foreign_files, setup, teardown),
        cmocka_unit_test_setup_teardown(broken_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(schema_file_mismatch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
