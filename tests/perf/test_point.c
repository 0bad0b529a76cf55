/* A point records what happened to the measured program: a hang is killed
 * and recorded with timeout_killed=1, failures keep their exit code, and a
 * result that fails the driver's self-checks is recorded as invalid. */
#include "perfmatrix/point.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A result line with every required figure; qps and mean latency chosen by
 * the caller, so Little's law holds or not (the config's concurrency is 4). */
#define RESULT(qps, mean_us, extra)                                                                \
    "echo '{\"qps\": " #qps ", \"mean_us\": " #mean_us ", \"p50_us\": 10, \"p90_us\": 20, "        \
    "\"p99_us\": 40, \"max_us\": 90, \"requests\": 150, \"errors\": 0, \"cpu_threads\": 1, "       \
    "\"git_sha\": \"abc\"" extra "}'"

static pm_point_status run_script(const char *script, double rate, pm_row *row)
{
    char *cmd[] = {"sh", "-c", (char *)script};
    pm_point_config cfg = config(cmd, 3, 10);
    cfg.rate = rate;
    pm_point_status status;
    char err[PM_ERR_LEN];
    assert_true(pm_point_run(&cfg, row, &status, err, sizeof err));
    return status;
}

static void test_json_output_is_recorded(void **state)
{
    /* 4 in flight: 2000 QPS x 2000 us = 4. */
    pm_row row;
    assert_int_equal(run_script("echo starting; " RESULT(2000, 2000, ""), 0, &row), PM_POINT_OK);
    assert_string_equal(row.status, "ok");
    assert_near(row.qps, 2000, 0);
    assert_near(row.p99_us, 40, 0);
    assert_near(row.little_in_flight, 4, 1e-9);
    assert_string_equal(row.mode, "closed");
    assert_string_equal(row.git_sha, "abc");
    assert_int_equal(row.timeout_killed, 0);
    assert_int_equal(row.pinned_cpus, 1);
    assert_true(row.ru_maxrss > 0);
    /* A result from before the in-flight fields still counts. */
    assert_true(isnan(row.in_flight_at_end));
}

static void test_little_violation_is_invalid(void **state)
{
    /* Issue 7's async CPU points: concurrency 4 but 100,000 QPS x 20 us = 2
     * in flight. The program says nothing is wrong; the driver must. */
    pm_row row;
    assert_int_equal(run_script(RESULT(100000, 20, ""), 0, &row), PM_POINT_FAILED);
    assert_string_equal(row.status, "invalid");
    assert_non_null(strstr(row.reason, "Little's law: QPS x mean latency = 2 requests in flight "
                                       "at concurrency 4 (-50%"));
    /* The figures stay recorded; only the status says they are not to be
     * believed. */
    assert_near(row.qps, 100000, 0);
    /* Within 10% passes: 1900 x 2000 us = 3.8. */
    assert_int_equal(run_script(RESULT(1900, 2000, ""), 0, &row), PM_POINT_OK);
}

static void test_open_loop_must_keep_up(void **state)
{
    pm_row row;
    assert_int_equal(run_script(RESULT(800, 50,
                                       ", \"mode\": \"open\", \"rate_target\": 1000, "
                                       "\"achieved_rate\": 800"),
                                1000, &row),
                     PM_POINT_FAILED);
    assert_string_equal(row.status, "invalid");
    assert_non_null(strstr(row.reason, "open loop could not keep up: achieved 800 req/s of the "
                                       "1000 target (-20.0%"));
    assert_near(row.rate_target, 1000, 0);
    assert_true(isnan(row.little_in_flight));
    assert_int_equal(run_script(RESULT(980, 50,
                                       ", \"mode\": \"open\", \"rate_target\": 1000, "
                                       "\"achieved_rate\": 980, \"little_in_flight\": null"),
                                1000, &row),
                     PM_POINT_OK);
}

static void test_program_verdict_is_honoured(void **state)
{
    pm_row row;
    assert_int_equal(run_script(RESULT(2000, 2000,
                                       ", \"status\": \"invalid\", "
                                       "\"invalid_reason\": \"slot 3 starved\""),
                                0, &row),
                     PM_POINT_FAILED);
    assert_string_equal(row.status, "invalid");
    assert_non_null(strstr(row.reason, "slot 3 starved"));
    /* Both verdicts are kept when the driver disagrees too. */
    assert_int_equal(run_script(RESULT(100000, 20,
                                       ", \"status\": \"invalid\", "
                                       "\"invalid_reason\": \"slot 3 starved\""),
                                0, &row),
                     PM_POINT_FAILED);
    assert_non_null(strstr(row.reason, "slot 3 starved; Little's law"));
}

static void test_censored_tail_is_invalid(void **state)
{
    pm_row row;
    assert_int_equal(run_script(RESULT(2000, 2000,
                                       ", \"in_flight_at_end\": 3, "
                                       "\"oldest_in_flight_us\": 1900000"),
                                0, &row),
                     PM_POINT_FAILED);
    assert_non_null(strstr(row.reason, "waited 1900000 us"));
    assert_near(row.in_flight_at_end, 3, 0);
}

static void test_non_finite_or_missing_figure_fails(void **state)
{
    /* Issue 9 row 18: 1e999 parses as infinity and was recorded as ok. */
    pm_row row;
    assert_int_equal(run_script(RESULT(1e999, 2000, ""), 0, &row), PM_POINT_FAILED);
    assert_string_equal(row.status, "failed");
    assert_non_null(strstr(row.reason, "'qps' is inf, not a finite number"));
    assert_int_equal(run_script("echo '{\"qps\": 10}'", 0, &row), PM_POINT_FAILED);
    assert_non_null(strstr(row.reason, "no numeric 'p50_us'"));
    assert_int_equal(run_script("echo '{\"qps\": 2000, \"mean_us\": 2000, \"p50_us\": 1, "
                                "\"p90_us\": 1, \"p99_us\": 1, \"max_us\": 1, \"requests\": 9, "
                                "\"errors\": 10}'",
                                0, &row),
                     PM_POINT_FAILED);
    assert_string_equal(row.reason, "the result says 10 errors among 9 requests");
}

static void test_request_errors_fail_the_point(void **state)
{
    /* rankd counts failed requests inside requests (issue 8): 5 of 95. */
    pm_row row;
    assert_int_equal(run_script("echo '{\"qps\": 10, \"mean_us\": 400000, \"p50_us\": 1, "
                                "\"p90_us\": 1, \"p99_us\": 1, \"max_us\": 1, \"requests\": 95, "
                                "\"errors\": 5}'; exit 3",
                                0, &row),
                     PM_POINT_FAILED);
    assert_int_equal(row.exit_code, 3);
    assert_string_equal(row.reason, "5 of 95 requests failed (exit 3)");
}

static void test_nothing_left_running(void **state)
{
    /* Issue 9 row 20: a grandchild in a session of its own outlived the
     * point. */
    char pidfile[] = "/tmp/pm-test-point-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    char script[512];
    snprintf(script, sizeof script, "setsid sleep 60 </dev/null >/dev/null & echo $! > %s; %s",
             pidfile, RESULT(2000, 2000, ""));
    pm_row row;
    assert_int_equal(run_script(script, 0, &row), PM_POINT_OK);
    FILE *f = fopen(pidfile, "r");
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    unlink(pidfile);
    assert_true(pid > 0);
    assert_int_equal(kill((pid_t)pid, 0), -1);
    assert_int_equal(errno, ESRCH);
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
        cmocka_unit_test(test_little_violation_is_invalid),
        cmocka_unit_test(test_open_loop_must_keep_up),
        cmocka_unit_test(test_program_verdict_is_honoured),
        cmocka_unit_test(test_censored_tail_is_invalid),
        cmocka_unit_test(test_non_finite_or_missing_figure_fails),
        cmocka_unit_test(test_request_errors_fail_the_point),
        cmocka_unit_test(test_nothing_left_running),
        cmocka_unit_test(test_missing_json_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
