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

/* Writes text to a temporary CSV and reads it; returns the error or "". */
static const char *read_csv(const char *text, pm_rows *rows)
{
    static char err[PM_ERR_LEN];
    char path[] = "/tmp/pm-test-record-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    err[0] = '\0';
    bool ok = pm_csv_read(path, rows, err, sizeof err);
    unlink(path);
    assert_true(ok == (err[0] == '\0'));
    return err;
}

#define SEED_HEADER                                                                                \
    "ts,plan,vcpus,cpu_threads,io_threads,async,concurrency,duration_sec,run_idx,qps,p50_us,"      \
    "p90_us,p99_us,max_us,ru_maxrss,exit_code,timeout_killed\n"
#define SEED_ROW(conc, qps) "t,concat_plan,2,2,1,1," conc ",10,1," qps ",1,2,3,4,5000,0,0\n"

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
    strcpy(row.status, "timeout");
    strcpy(row.reason, "said \"no\", then, stopped\nhere");
    row.vcpus = 2;
    row.concurrency = 16;
    row.run_idx = 1;
    row.qps = 12345.5;
    row.in_flight_at_end = 3;
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
    assert_near(rows.v[0].in_flight_at_end, 3, 0);
    assert_true(isnan(rows.v[0].oldest_in_flight_us));
    /* The reason keeps its commas and quotes; only the line break goes. */
    assert_string_equal(rows.v[0].reason, "said \"no\", then, stopped here");
    pm_rows_free(&rows);
    unlink(path);
}

static void test_csv_refuses_bad_input(void **state)
{
    /* Issue 9 row 16: a CSV with only plan,qps merged as concurrency 0. */
    pm_rows rows = {0};
    assert_non_null(strstr(read_csv("plan,qps\nconcat_plan,100\n", &rows),
                           ":1: required column ts is missing"));
    assert_non_null(strstr(read_csv(SEED_HEADER SEED_ROW("0", "100"), &rows),
                           ":2: row 1: column concurrency: 0 is outside [1, "));
    assert_non_null(strstr(read_csv(SEED_HEADER SEED_ROW("-2147483647", "100"), &rows),
                           "column concurrency: -2147483647 is outside"));
    assert_non_null(strstr(read_csv(SEED_HEADER SEED_ROW("2147483648", "100"), &rows),
                           "column concurrency: '2147483648' is out of range"));
    /* Row 18: nan was dropped without mention, inf accepted. */
    assert_non_null(strstr(read_csv(SEED_HEADER SEED_ROW("4", "1") SEED_ROW("4", "nan"), &rows),
                           ":3: row 2: column qps: 'nan' is not a finite number"));
    assert_non_null(strstr(read_csv(SEED_HEADER SEED_ROW("4", "inf"), &rows),
                           "column qps: 'inf' is not a finite number"));
    assert_non_null(strstr(read_csv(SEED_HEADER SEED_ROW("4", ""), &rows),
                           "column qps: empty in a row with status ok"));
    assert_non_null(strstr(read_csv(SEED_HEADER SEED_ROW("4", "-5"), &rows),
                           "column qps: -5 is not a finite number >= 0"));
    assert_int_equal(rows.n, 1); /* only the good row of the nan CSV */
    pm_rows_free(&rows);
    assert_string_equal(read_csv(SEED_HEADER SEED_ROW("2147483647", "1e308"), &rows), "");
    pm_rows_free(&rows);
}

static void test_csv_refuses_cut_text(void **state)
{
    char text[1024];
    char plan[100];
    memset(plan, 'p', sizeof plan - 1);
    plan[sizeof plan - 1] = '\0';
    snprintf(text, sizeof text, SEED_HEADER "t,%s,2,2,1,1,4,10,1,5,1,2,3,4,5000,0,0\n", plan);
    pm_rows rows = {0};
    assert_non_null(strstr(read_csv(text, &rows), "column plan: 99 characters, at most 63 fit"));
    pm_rows_free(&rows);
}

static void test_csv_columns_found_by_name(void **state)
{
    char path[] = "/tmp/pm-test-record-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "ts,qps,plan,future_column,vcpus,cpu_threads,io_threads,async,concurrency,"
               "duration_sec,run_idx,p50_us,p90_us,p99_us,max_us,ru_maxrss,exit_code,"
               "timeout_killed\nt,42,regex_plan,x,2,2,1,1,8,10,1,1,2,3,4,100,0,0\n");
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
    fprintf(f, SEED_HEADER "t,concat_plan,2,2,1,1,many,10,1,5,1,2,3,4,5000,0,0\n");
    fclose(f);
    pm_rows rows = {0};
    char err[PM_ERR_LEN];
    assert_false(pm_csv_read(path, &rows, err, sizeof err));
    assert_non_null(strstr(err, ":2: row 1: column concurrency: 'many' is not an integer"));
    pm_rows_free(&rows);
    unlink(path);
}

static void test_json_round_trip(void **state)
{
    pm_row row, back;
    pm_row_init(&row);
    strcpy(row.plan, "p");
    strcpy(row.status, "invalid");
    strcpy(row.reason, "a, b");
    row.vcpus = 1;
    row.concurrency = 1;
    row.oldest_in_flight_us = 12;
    row.p99_us = 7;
    cJSON *obj = pm_row_to_json(&row);
    char err[PM_ERR_LEN];
    assert_true(pm_row_from_json(obj, &back, err, sizeof err));
    assert_string_equal(back.reason, "a, b");
    assert_near(back.p99_us, 7, 0);
    assert_true(isnan(back.qps));
    assert_near(back.oldest_in_flight_us, 12, 0);
    cJSON_Delete(obj);
    /* Out of range or non-integral numbers are refused, not cast. */
    obj = pm_row_to_json(&row);
    cJSON_ReplaceItemInObject(obj, "concurrency", cJSON_CreateNumber(1e300));
    assert_false(pm_row_from_json(obj, &back, err, sizeof err));
    assert_non_null(strstr(err, "column concurrency: '1.0000000000000001e+300' is not an integer"));
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
        cmocka_unit_test(test_csv_refuses_bad_input),
        cmocka_unit_test(test_csv_refuses_cut_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
