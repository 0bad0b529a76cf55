/* The CSV keeps the seed's columns in order and reads back by name. */
#include "perfmatrix/record.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* cmocka 1.1.5 compares floats only; figures here need doubles. */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static const char *seed_header = "ts,plan,vcpus,cpu_threads,io_threads,async,concurrency,"
                                 "duration_sec,run_idx,qps,p50_us,p90_us,p99_us,max_us,"
                                 "ru_maxrss,exit_code,timeout_killed";

static void test_header_starts_with_seed_columns(void **state)
{
    const char *h = pm_csv_header();
    assert_int_equal(strncmp(h, seed_header, strlen(seed_header)), 0);
    /* Anything after the seed's columns is appended, never inserted. */
    assert_true(h[strlen(seed_header)] == ',' || h[strlen(seed_header)] == '\0');
    assert_string_equal(pm_csv_column_name(16), "timeout_killed");
}

static void test_csv_round_trip(void **state)
{
    char path[] = "/tmp/pm-test-record-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    pm_row row;
    pm_row_init(&row);
    strcpy(row.plan, "concat_plan");
    strcpy(row.status, "ok");
    row.concurrency = 16;
    row.qps = 12345.5;
    row.timeout_killed = 1;
    fprintf(f, "%s\n", pm_csv_header());
    pm_csv_write_row(f, &row);
    fclose(f);
    pm_rows rows = {0};
    char err[PM_ERR_LEN];
    assert_true(pm_csv_read(path, &rows, err, sizeof err));
    assert_int_equal(rows.n, 1);
    assert_string_equal(rows.v[0].plan, "concat_plan");
    assert_int_equal(rows.v[0].concurrency, 16);
    assert_near(rows.v[0].qps, 12345.5, 1e-6);
    assert_int_equal(rows.v[0].timeout_killed, 1);
    assert_true(isnan(rows.v[0].p99_us));
    pm_rows_free(&rows);
    unlink(path);
}

static void test_csv_columns_found_by_name(void **state)
{
    char path[] = "/tmp/pm-test-record-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "qps,plan,future_column,concurrency\n42,regex_plan,x,8\n");
    fclose(f);
    pm_rows rows = {0};
    char err[PM_ERR_LEN];
    assert_true(pm_csv_read(path, &rows, err, sizeof err));
    assert_int_equal(rows.n, 1);
    assert_string_equal(rows.v[0].plan, "regex_plan");
    assert_int_equal(rows.v[0].concurrency, 8);
    pm_rows_free(&rows);
    unlink(path);
}

static void test_csv_errors_name_line_and_column(void **state)
{
    char path[] = "/tmp/pm-test-record-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "plan,concurrency\nconcat_plan,many\n");
    fclose(f);
    pm_rows rows = {0};
    char err[PM_ERR_LEN];
    assert_false(pm_csv_read(path, &rows, err, sizeof err));
    assert_non_null(strstr(err, ":2: column concurrency"));
    pm_rows_free(&rows);
    unlink(path);
}

static void test_json_round_trip(void **state)
{
    pm_row row, back;
    pm_row_init(&row);
    strcpy(row.plan, "p");
    strcpy(row.reason, "a, b");
    row.p99_us = 7;
    cJSON *obj = pm_row_to_json(&row);
    char err[PM_ERR_LEN];
    assert_true(pm_row_from_json(obj, &back, err, sizeof err));
    assert_string_equal(back.reason, "a, b");
    assert_near(back.p99_us, 7, 0);
    assert_true(isnan(back.qps));
    cJSON_Delete(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_starts_with_seed_columns),
        cmocka_unit_test(test_csv_round_trip),
        cmocka_unit_test(test_csv_columns_found_by_name),
        cmocka_unit_test(test_csv_errors_name_line_and_column),
        cmocka_unit_test(test_json_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
