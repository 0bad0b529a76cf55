/* The report takes medians, tolerates missing points and names them. */
#include "perfmatrix/report.h"

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

static pm_row make_row(int c, int run, double qps, const char *status)
{
    pm_row r;
    pm_row_init(&r);
    strcpy(r.plan, "concat_plan");
    strcpy(r.status, status);
    snprintf(r.test, sizeof r.test, "perf.engine.concat_plan.async.c%d.r%d", c, run);
    r.vcpus = 2;
    r.async = 1;
    r.concurrency = c;
    r.run_idx = run;
    r.qps = qps;
    r.p50_us = r.p90_us = r.p99_us = r.max_us = 100.0 * c;
    return r;
}

static void test_medians_per_level(void **state)
{
    pm_rows rows = {0};
    pm_row r;
    r = make_row(1, 1, 100, "ok"), pm_rows_push(&rows, &r);
    r = make_row(1, 2, 300, "ok"), pm_rows_push(&rows, &r);
    r = make_row(1, 3, 120, "ok"), pm_rows_push(&rows, &r);
    r = make_row(2, 1, 190, "ok"), pm_rows_push(&rows, &r);
    /* A failed run must not count in the medians. */
    r = make_row(2, 2, 5, "timeout"), pm_rows_push(&rows, &r);
    pm_series *s;
    assert_int_equal(pm_series_build(&rows, &s), 1);
    assert_int_equal(s[0].n, 2);
    assert_near(s[0].qps[0], 120, 0);
    assert_near(s[0].qps[1], 190, 0);
    assert_int_equal(s[0].runs[1], 1);
    free(s);
    pm_rows_free(&rows);
}

static void test_missing_points_are_named(void **state)
{
    char manifest[] = "/tmp/pm-test-manifest-XXXXXX";
    int fd = mkstemp(manifest);
    FILE *m = fdopen(fd, "w");
    fprintf(m, "perf.engine.concat_plan.async.c1.r1\nperf.engine.concat_plan.async.c2.r1\n"
               "perf.engine.concat_plan.async.c4.r1\n");
    fclose(m);
    pm_rows rows = {0};
    pm_row r = make_row(1, 1, 100, "ok");
    pm_rows_push(&rows, &r);
    r = make_row(2, 1, 0, "timeout");
    strcpy(r.reason, "killed after the 1s per-run timeout (timeout_killed=1)");
    pm_rows_push(&rows, &r);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(pm_missing_write(f, &rows, manifest), 2);
    fclose(f);
    assert_non_null(strstr(text, "c4.r1: no result"));
    assert_non_null(strstr(text, "c2.r1: timeout: killed after"));
    assert_null(strstr(text, "c1.r1"));
    free(text);
    pm_rows_free(&rows);
    unlink(manifest);
}

static void test_report_without_points(void **state)
{
    char dir[] = "/tmp/pm-test-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    pm_rows rows = {0};
    pm_report_options opt = {.out_dir = dir, .base = "sweep_empty", .templates = "."};
    char err[PM_ERR_LEN];
    assert_true(pm_report_write(&rows, &opt, err, sizeof err));
    char path[512];
    snprintf(path, sizeof path, "%s/sweep_empty.csv", dir);
    assert_int_equal(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/sweep_empty_summary.txt", dir);
    assert_int_equal(access(path, R_OK), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -r '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_summary_has_seed_table(void **state)
{
    static const double c[] = {1, 4, 8, 16, 32, 64, 128};
    static const double qps[] = {1200, 4500, 8200, 12500, 14000, 14200, 14100};
    pm_rows rows = {0};
    for (size_t i = 0; i < 7; i++) {
        pm_row r = make_row((int)c[i], 1, qps[i], "ok");
        pm_rows_push(&rows, &r);
    }
    pm_series *s;
    assert_int_equal(pm_series_build(&rows, &s), 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    pm_summary_write_series(f, &s[0], 0);
    fclose(f);
    assert_non_null(strstr(text, "Concurrency |    QPS    |  p50 (us) |  p99 (us) | Assessment"));
    assert_non_null(strstr(text, "    32      |   14,000  |"));
    assert_non_null(strstr(text, "Saturated (knee) <-"));
    assert_non_null(strstr(text, "Headroom rule: run at 50-75% of the knee: concurrency 16-24"));
    free(text);
    free(s);
    pm_rows_free(&rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_medians_per_level),
        cmocka_unit_test(test_missing_points_are_named),
        cmocka_unit_test(test_report_without_points),
        cmocka_unit_test(test_summary_has_seed_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
