/* The VM results: the summary parser, the store/summary verification, the
 * CSV and JSON forms and the VM table of the report. */
#include "perfmatrix/vm.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static const char *summary =
    "api: 127.0.0.1:1234\n"
    "{\"backend\":\"ptrace\",\"vcpus\":2,\"workload_duration_s\":15,\"status\":\"ok\","
    "\"start_to_entry_us\":1180.5,\"wall_s\":15.002,\"guest_exit_code\":0,"
    "\"exits_total\":30004,\"exits\":{\"io\":30003,\"shutdown\":1},"
    "\"points\":{\"vmm_uptime_seconds\":16,\"vcpu_exits_total{reason=io}\":16},"
    "\"expected_points\":16,\"capture_rate\":1,\"peak_rss_kb\":812,\"cpu_user_s\":0.5,"
    "\"cpu_sys_s\":1.25,\"git_sha\":\"abc123\"}\n";

static void test_parse_summary(void **state)
{
    pm_vm_row row;
    pm_vm_row_init(&row);
    double uptime = 0;
    char crash[64] = "x", err[128];
    assert_true(pm_vm_parse_summary(summary, &row, &uptime, crash, sizeof crash, err, sizeof err));
    assert_string_equal(row.backend, "ptrace");
    assert_int_equal(row.vcpus, 2);
    assert_near(row.start_to_entry_us, 1180.5, 1e-9);
    assert_near(row.expected_points, 16, 0);
    assert_near(row.exits_total, 30004, 0);
    assert_near(row.exits_per_sec, 30004 / 15.002, 1e-9);
    assert_near(row.peak_rss_kb, 812, 0);
    assert_near(uptime, 16, 0);
    assert_string_equal(crash, "");
    assert_string_equal(row.git_sha, "abc123");
    /* Without the summary object there is nothing to trust. */
    assert_false(pm_vm_parse_summary("backend: ptrace\n", &row, &uptime, NULL, 0, err, sizeof err));
    assert_string_equal(err, "no --json summary object on stdout");
}

static pm_vm_row parsed_row(void)
{
    pm_vm_row row;
    pm_vm_row_init(&row);
    double uptime;
    char err[128];
    assert_true(pm_vm_parse_summary(summary, &row, &uptime, NULL, 0, err, sizeof err));
    return row;
}

static void test_verify(void **state)
{
    pm_vm_row row = parsed_row();
    pm_vm_store_figures fig = {.uptime_points = 16, .exits = 30004};
    assert_true(pm_vm_verify(&row, 16, &fig));
    assert_near(row.capture_rate, 1, 0);
    assert_string_equal(row.status, "");

    /* A second lost in the store: the capture shows it and the run is invalid. */
    row = parsed_row();
    fig.uptime_points = 12;
    assert_false(pm_vm_verify(&row, 16, &fig));
    assert_string_equal(row.status, "invalid");
    assert_string_equal(
        row.reason, "the store holds 12 vmm_uptime_seconds points, expected 16 (capture 0.750)");
    assert_near(row.capture_rate, 0.75, 1e-12);

    /* The summary claiming points the store has not got. */
    row = parsed_row();
    fig.uptime_points = 16;
    assert_false(pm_vm_verify(&row, 17, &fig));
    assert_string_equal(row.reason, "the summary reports 17 vmm_uptime_seconds points written, "
                                    "the store holds 16");

    /* One exit too many or too few is a mismatch: the sum must be exact. */
    row = parsed_row();
    fig.exits = 30003;
    assert_false(pm_vm_verify(&row, 16, &fig));
    assert_string_equal(row.reason, "the store's vcpu_exits_total sums to 30003, the summary "
                                    "reports exits_total 30004");
}

static void test_csv_and_json(void **state)
{
    const char *documented =
        "ts,duration_s,run_idx,backend,vcpus,wall_s,start_to_entry_us,points,expected_points,"
        "capture_rate,exits_total,exits_per_sec,peak_rss_kb,cpu_user_s,cpu_sys_s,exit_code,"
        "timeout_killed,status,reason,";
    assert_int_equal(strncmp(pm_vm_csv_header(), documented, strlen(documented)), 0);
    pm_vm_row row = parsed_row();
    strcpy(row.ts, "2026-11-23T10:00:00+0000");
    strcpy(row.status, "failed");
    strcpy(row.reason, "exit code 1: bad \"disk\", no space");
    strcpy(row.test, "perf.vm.lifecycle.15s.r1");
    row.duration_s = 15;
    row.run_idx = 1;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    pm_vm_csv_write_row(f, &row);
    fclose(f);
    /* The reason is quoted, so its comma does not shift the columns, and an
     * unknown figure (points) stays empty. */
    assert_non_null(
        strstr(text, "2026-11-23T10:00:00+0000,15,1,ptrace,2,15.002,1180.5,,16,,30004,"));
    assert_non_null(strstr(text, ",failed,\"exit code 1: bad \"\"disk\"\", no space\","));
    free(text);

    cJSON *obj = pm_vm_row_to_json(&row);
    assert_string_equal(cJSON_GetObjectItem(obj, "kind")->valuestring, "vm");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(obj, "points")));
    pm_vm_row back;
    char err[128];
    assert_true(pm_vm_row_from_json(obj, &back, err, sizeof err));
    cJSON_Delete(obj);
    assert_string_equal(back.reason, row.reason);
    assert_true(isnan(back.points));
    assert_near(back.exits_total, 30004, 0);
    assert_int_equal(back.duration_s, 15);
}

static void test_summary_table(void **state)
{
    pm_vm_rows rows = {0};
    pm_vm_row row = parsed_row();
    strcpy(row.test, "perf.vm.lifecycle.15s.r1");
    strcpy(row.status, "ok");
    row.duration_s = 15;
    row.run_idx = 1;
    row.points = 16;
    row.capture_rate = 1;
    assert_true(pm_vm_rows_push(&rows, &row));
    strcpy(row.test, "perf.vm.lifecycle.15s.r2");
    strcpy(row.status, "timeout");
    strcpy(row.reason, "killed after the 45s per-run timeout (timeout_killed=1)");
    assert_true(pm_vm_rows_push(&rows, &row));

    char manifest[] = "/tmp/pm_test_vm_manifest_XXXXXX";
    int fd = mkstemp(manifest);
    assert_true(fd >= 0);
    const char *listed = "perf.vm.lifecycle.15s.r1\nperf.vm.lifecycle.30s.r1\n";
    assert_int_equal(write(fd, listed, strlen(listed)), (ssize_t)strlen(listed));
    close(fd);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    size_t missing = pm_vm_summary_write(f, &rows, manifest);
    fclose(f);
    unlink(manifest);
    assert_int_equal(missing, 2);
    assert_non_null(strstr(text, "duration | run | backend | vcpus | wall     | start-to-entry | "
                                 "points / expected | capture | exits/s"));
    assert_non_null(strstr(text,
                           "15s      | 1   | ptrace  | 2     | 15.002s  | 1180 us        | "
                           "16 / 16           | 1.000   | 2000       | 812 kB    | 0.50+1.25"));
    assert_non_null(strstr(text, "perf.vm.lifecycle.30s.r1: no result"));
    assert_non_null(strstr(text, "perf.vm.lifecycle.15s.r2: timeout: killed after the 45s"));
    free(text);
    pm_vm_rows_free(&rows);

    char path[64];
    pm_vm_manifest_path("build/perf_manifest_perf.txt", path, sizeof path);
    assert_string_equal(path, "build/perf_manifest_perf_vm.txt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_summary),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_csv_and_json),
        cmocka_unit_test(test_summary_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
