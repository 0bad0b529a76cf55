/* A point records what happened to the measured program: a hang is killed
 * and recorded with timeout_killed=1, failures keep their exit code. */
#include "perfmatrix/point.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* cmocka 1.1.5 compares floats only; figures here need doubles. */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static pm_point_config config(char **command, size_t len, double timeout)
{
    pm_point_config cfg = {.plan = "concat_plan",
                           .test_name = "t",
                           .async = 1,
                           .concurrency = 4,
                           .run_idx = 1,
                           .io_threads = 1,
                           .warmup_iters = 0,
                           .vcpus = 1,
                           .duration_sec = 0.1,
                           .timeout_sec = timeout,
                           .command = command,
                           .command_len = len};
    return cfg;
}

static void test_timeout_is_killed_and_recorded(void **state)
{
    /* The knobs appended after the script land in $0.. and are ignored. */
    char *cmd[] = {"sh", "-c", "sleep 30"};
    pm_point_config cfg = config(cmd, 3, 0.3);
    pm_row row;
    pm_point_status status;
    char err[PM_ERR_LEN];
    assert_true(pm_point_run(&cfg, &row, &status, err, sizeof err));
    assert_int_equal(status, PM_POINT_FAILED);
    assert_int_equal(row.timeout_killed, 1);
    assert_string_equal(row.status, "timeout");
    assert_non_null(strstr(row.reason, "timeout_killed=1"));
    assert_int_equal(row.exit_code, 128 + 15);
}

static void test_json_output_is_recorded(void **state)
{
    char *cmd[] = {"sh", "-c",
                   "echo starting; echo '{\"qps\": 1500.5, \"p50_us\": 10, \"p99_us\": 40, "
                   "\"max_us\": 90, \"requests\": 150, \"errors\": 0, \"cpu_threads\": 1, "
                   "\"git_sha\": \"abc\"}'"};
    pm_point_config cfg = config(cmd, 3, 10);
    pm_row row;
    pm_point_status status;
    char err[PM_ERR_LEN];
    assert_true(pm_point_run(&cfg, &row, &status, err, sizeof err));
    assert_int_equal(status, PM_POINT_OK);
    assert_near(row.qps, 1500.5, 0);
    assert_near(row.p99_us, 40, 0);
    assert_string_equal(row.git_sha, "abc");
    assert_int_equal(row.timeout_killed, 0);
    assert_int_equal(row.pinned_cpus, 1);
    assert_true(row.ru_maxrss > 0);
}

static void test_request_errors_fail_the_point(void **state)
{
    char *cmd[] = {"sh", "-c", "echo '{\"qps\": 10, \"requests\": 95, \"errors\": 5}'; exit 3"};
    pm_point_config cfg = config(cmd, 3, 10);
    pm_row row;
    pm_point_status status;
    char err[PM_ERR_LEN];
    assert_true(pm_point_run(&cfg, &row, &status, err, sizeof err));
    assert_int_equal(status, PM_POINT_FAILED);
    assert_int_equal(row.exit_code, 3);
    assert_string_equal(row.reason, "5 of 100 requests failed (exit 3)");
}

static void test_missing_json_fails(void **state)
{
    char *cmd[] = {"sh", "-c", "echo not json"};
    pm_point_config cfg = config(cmd, 3, 10);
    pm_row row;
    pm_point_status status;
    char err[PM_ERR_LEN];
    assert_true(pm_point_run(&cfg, &row, &status, err, sizeof err));
    assert_int_equal(status, PM_POINT_FAILED);
    assert_string_equal(row.reason, "no JSON object on stdout");
    assert_true(isnan(row.qps));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_is_killed_and_recorded),
        cmocka_unit_test(test_json_output_is_recorded),
        cmocka_unit_test(test_request_errors_fail_the_point),
        cmocka_unit_test(test_missing_json_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
