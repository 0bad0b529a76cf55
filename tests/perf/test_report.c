/* The report takes medians, tolerates missing points and names them. */
#include "perfmatrix/report.h"

#include <limits.h>
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

static pm_series *build(const pm_rows *rows, size_t want)
{
    pm_series *s = NULL;
    bool oom = true;
    assert_int_equal(pm_series_build(rows, 0, &s, &oom), want);
    assert_false(oom);
    return s;
}

/* The summary of one series of single runs at the given levels. */
static char *summary_of(const double *c, const double *qps, size_t n)
{
    pm_rows rows = {0};
    for (size_t i = 0; i < n; i++) {
        pm_row r = make_row((int)c[i], 1, qps[i], "ok");
        pm_rows_push(&rows, &r);
    }
    pm_series *s = build(&rows, 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    pm_summary_write_series(f, &s[0], NULL, 0);
    fclose(f);
    pm_series_free(s, 1);
    pm_rows_free(&rows);
    return text;
}

static void test_rising_curve_is_never_over_saturated(void **state)
{
    /* Issue 7's reels_plan_a: the curve bends at 8 but QPS keeps rising by
     * 5% or more per doubling to 128; the old summary put the knee at 8,
     * called 16-128 over-saturated and recommended 64. */
    static const double c[] = {1, 2, 4, 8, 16, 32, 64, 128};
    static const double qps[] = {1000, 1900, 3500, 6000, 6600, 7000, 7400, 7800};
    char *text = summary_of(c, qps, 8);
    assert_null(strstr(text, "ver-saturated"));
    assert_null(strstr(text, "<-"));
    assert_non_null(strstr(text, "Knee: none within the sweep (QPS still rises 5% per doubling "
                                 "into the last level, 128)"));
    free(text);
}

static void test_recommendation_agrees_with_assessment(void **state)
{
    /* Past the Kneedle bend QPS creeps up 4% per doubling: not enough to be
     * "still rising", but 95% of the peak is only reached at 64. The knee
     * moves there, so the recommended point is not called over-saturated. */
    static const double c[] = {1, 2, 4, 8, 16, 32, 64, 128};
    static const double qps[] = {1000, 1900, 3500, 6000, 6240, 6490, 6750, 7020};
    char *text = summary_of(c, qps, 8);
    assert_non_null(strstr(text, "Recommended operating point: concurrency 64, Saturated (knee)"));
    assert_non_null(strstr(text, "Knee: concurrency 64"));
    assert_non_null(strstr(text, "   128      |    7,020  |"));
    assert_non_null(strstr(text, "| Over-saturated "));
    free(text);
}

static void test_flat_curve_is_not_underutilized(void **state)
{
    /* A curve already at its peak with one request in flight: the lowest
     * level is the operating point, and it is not "Underutilized". */
    static const double c[] = {1, 2, 4, 8};
    static const double qps[] = {1000, 990, 980, 800};
    char *text = summary_of(c, qps, 4);
    assert_non_null(strstr(text, "Recommended operating point: concurrency 1, Saturated (knee)"));
    assert_null(strstr(text, "Underutilized"));
    free(text);
}

static void test_spread_and_noise_warnings(void **state)
{
    /* Three runs per level; the knee at 32 rests on a step of 12%, but the
     * runs at 32 spread over 30%. */
    static const double c[] = {1, 4, 8, 16, 32, 64, 128};
    static const double qps[] = {1200, 4500, 8200, 12500, 14000, 14200, 14100};
    pm_rows rows = {0};
    for (size_t i = 0; i < 7; i++) {
        for (int run = 1; run <= 3; run++) {
            double spread = c[i] == 32 ? 0.15 : 0.01;
            pm_row r = make_row((int)c[i], run, qps[i] * (1 + spread * (run - 2)), "ok");
            pm_rows_push(&rows, &r);
        }
    }
    pm_series *s = build(&rows, 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_true(pm_summary_write_series(f, &s[0], NULL, 0) >= 1);
    fclose(f);
    assert_non_null(strstr(text, "QPS min-max (spread)"));
    assert_non_null(strstr(text, "11,900-16,100 (30.0%)"));
    assert_non_null(strstr(text, "| 3 of 3"));
    assert_non_null(strstr(text, "Warning: the knee at 32 is within the noise"));
    free(text);
    pm_series_free(s, 1);
    pm_rows_free(&rows);
}

static void test_single_runs_warn_that_noise_is_unknown(void **state)
{
    static const double c[] = {1, 2, 4};
    static const double qps[] = {100, 200, 400};
    char *text = summary_of(c, qps, 3);
    assert_non_null(strstr(text, "one run, unknown"));
    assert_non_null(strstr(text, "Warning: one valid run per level"));
    free(text);
}

static void test_async_vs_sync_within_noise(void **state)
{
    pm_rows rows = {0};
    for (int run = 1; run <= 3; run++) {
        pm_row r = make_row(4, run, 1000 + 100 * run, "ok");
        pm_rows_push(&rows, &r);
        r = make_row(4, run, 1150 + 10 * run, "ok");
        r.async = 0;
        pm_rows_push(&rows, &r);
        r = make_row(8, run, 2000 + run, "ok");
        pm_rows_push(&rows, &r);
        r = make_row(8, run, 1000 + run, "ok");
        r.async = 0;
        pm_rows_push(&rows, &r);
    }
    pm_series *s = build(&rows, 2);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(pm_modes_compare_write(f, s, 2), 1);
    fclose(f);
    assert_non_null(strstr(text, "concurrency 4: async/sync 1.03x  Warning: within the noise "
                                 "(runs spread 200 QPS, more than the 30 QPS difference)"));
    assert_non_null(strstr(text, "concurrency 8: async/sync 2.00x\n"));
    free(text);
    pm_series_free(s, 2);
    pm_rows_free(&rows);
}

/* Pushes runs of one level: run r of n has qps * (1 + d * (r - (n + 1) / 2)),
 * so the median is qps and the min-max range is d * (n - 1) * qps. */
static void push_level(pm_rows *rows, int async, int c, double qps, int n, double d)
{
    for (int run = 1; run <= n; run++) {
        pm_row r = make_row(c, run, qps * (1 + d * (run - (n + 1) / 2.0)), "ok");
        r.async = async;
        pm_rows_push(rows, &r);
    }
}

/* Runs call, which writes to f, and puts what it wrote in text (malloc'd). */
#define CAPTURE(text, call)                                                                        \
    do {                                                                                           \
        size_t len_ = 0;                                                                           \
        FILE *f = open_memstream(&(text), &len_);                                                  \
        call;                                                                                      \
        fclose(f);                                                                                 \
    } while (0)

static void test_modes_column_only_with_counterpart(void **state)
{
    pm_rows rows = {0};
    push_level(&rows, 1, 1, 1070, 3, 0.01);
    push_level(&rows, 1, 2, 2000, 3, 0.01);
    push_level(&rows, 1, 4, 3000, 3, 0.01);
    push_level(&rows, 0, 1, 1000, 3, 0.01);
    push_level(&rows, 0, 4, 2000, 3, 0.01);
    push_level(&rows, 0, 8, 2500, 3, 0.01);
    pm_row other = make_row(1, 1, 500, "ok");
    strcpy(other.plan, "other_plan");
    pm_rows_push(&rows, &other);
    pm_series *s = build(&rows, 3);
    /* Sorted by plan, then async before sync. */
    assert_true(s[0].async && !s[1].async && strcmp(s[2].plan, "other_plan") == 0);
    assert_ptr_equal(pm_series_counterpart(s, 3, &s[0]), &s[1]);
    assert_ptr_equal(pm_series_counterpart(s, 3, &s[1]), &s[0]);
    assert_null(pm_series_counterpart(s, 3, &s[2]));

    char *async = NULL, *sync = NULL, *alone = NULL, *plain = NULL;
    CAPTURE(async, pm_summary_write_series(f, &s[0], &s[1], 0));
    CAPTURE(sync, pm_summary_write_series(f, &s[1], &s[0], 0));
    CAPTURE(alone, pm_summary_write_series(f, &s[2], NULL, 0));
    CAPTURE(plain, pm_summary_write_series(f, &s[0], NULL, 0));
    assert_non_null(strstr(async, "| Valid runs | async/sync\n------------|"));
    assert_non_null(strstr(async, "|------------|-----------\n"));
    assert_non_null(strstr(async, "     1      |    1,070  |"));
    assert_non_null(strstr(async, "| 3 of 3     | 1.07x\n"));
    /* 2 was measured in async only, 8 in sync only. */
    assert_non_null(strstr(async, "     2      |    2,000  |"));
    assert_non_null(strstr(async, "| 3 of 3     | -\n     4"));
    assert_non_null(strstr(async, "| 3 of 3     | 1.50x\n"));
    /* The sync table shows the same async/sync ratios. */
    assert_non_null(strstr(sync, "| 3 of 3     | 1.07x\n"));
    assert_non_null(strstr(sync, "| 3 of 3     | 1.50x\n"));
    assert_non_null(strstr(sync, "| 3 of 3     | -\nKnee"));
    /* Without a counterpart the table is as it always was. */
    for (char **text = (char *[]){alone, plain, NULL}; *text; text++) {
        assert_null(strstr(*text, "async/sync"));
        assert_non_null(strstr(*text, "| Valid runs\n"));
        assert_non_null(strstr(*text, "--------------------------|-----------\n"));
    }
    assert_non_null(strstr(plain, "| 3 of 3\n"));
    free(async);
    free(sync);
    free(alone);
    free(plain);
    pm_series_free(s, 3);
    pm_rows_free(&rows);
}

static void test_modes_wins_ties_and_one_mode_levels(void **state)
{
    /* Three runs a level, 1% apart (a 2% range) unless said otherwise. */
    pm_rows rows = {0};
    push_level(&rows, 1, 1, 500, 3, 0.01);
    push_level(&rows, 0, 1, 1000, 3, 0.01);
    push_level(&rows, 1, 2, 900, 3, 0.01);
    push_level(&rows, 0, 2, 1000, 3, 0.01);
    /* The async runs at 4 spread 200 QPS, more than the 50 QPS difference. */
    push_level(&rows, 1, 4, 1000, 3, 0.10);
    push_level(&rows, 0, 4, 1050, 3, 0.01);
    push_level(&rows, 1, 8, 1300, 3, 0.01);
    push_level(&rows, 0, 8, 1000, 3, 0.01);
    push_level(&rows, 1, 16, 1100, 3, 0.01);
    push_level(&rows, 0, 16, 1000, 3, 0.01);
    push_level(&rows, 1, 32, 1500, 3, 0.01);
    push_level(&rows, 1, 64, 2000, 3, 0.01);
    push_level(&rows, 0, 64, 1000, 3, 0.01);
    push_level(&rows, 0, 128, 900, 3, 0.01);
    pm_series *s = build(&rows, 2);

    static const double c[] = {1, 2, 4, 8, 16, 32, 64, 128};
    static const pm_modes_verdict want[] = {
        PM_MODES_SYNC_WINS,  PM_MODES_SYNC_WINS,  PM_MODES_TIE,        PM_MODES_ASYNC_WINS,
        PM_MODES_ASYNC_WINS, PM_MODES_ASYNC_ONLY, PM_MODES_ASYNC_WINS, PM_MODES_SYNC_ONLY};
    pm_modes_walk w;
    pm_modes_walk_start(&w, &s[1], &s[0]);
    pm_modes_level l;
    size_t n = 0;
    for (; pm_modes_next(&w, &l); n++) {
        assert_true(n < 8);
        assert_near(l.concurrency, c[n], 0);
        assert_int_equal(l.verdict, want[n]);
        bool common = want[n] != PM_MODES_ASYNC_ONLY && want[n] != PM_MODES_SYNC_ONLY;
        assert_int_equal(l.noise_known, common);
        assert_int_equal(isnan(l.ratio), !common);
    }
    assert_int_equal(n, 8);

    char *wins = NULL, *section = NULL;
    CAPTURE(wins, pm_modes_wins_write(f, &s[0], &s[1], ""));
    assert_string_equal(wins, "concat_plan vcpus=2: async wins at concurrency 8-16, 64 "
                              "(1.10-2.00x); sync wins at 1-2 (0.50-0.90x); within the noise at 4 "
                              "(0.95x); no valid sync run at 32; no valid async run at 128\n");
    CAPTURE(section, assert_int_equal(pm_modes_compare_write(f, s, 2), 1));
    assert_non_null(strstr(section, "  concurrency 4: async/sync 0.95x  Warning: within the noise "
                                    "(runs spread 200 QPS, more than the 50 QPS difference)\n"));
    assert_null(strstr(section, "concurrency 32:"));
    assert_non_null(strstr(section, "\n  concat_plan vcpus=2: async wins at concurrency 8-16, 64"));
    free(wins);
    free(section);
    pm_series_free(s, 2);
    pm_rows_free(&rows);
}

static void test_modes_single_runs_say_noise_unknown(void **state)
{
    /* One run a level, except three async runs at 8: the noise there is
     * known from async's range (20 QPS), below the 100 QPS difference. */
    pm_rows rows = {0};
    push_level(&rows, 1, 1, 100, 1, 0);
    push_level(&rows, 0, 1, 100, 1, 0);
    push_level(&rows, 1, 2, 200, 1, 0);
    push_level(&rows, 0, 2, 150, 1, 0);
    push_level(&rows, 1, 4, 400, 1, 0);
    push_level(&rows, 0, 4, 500, 1, 0);
    push_level(&rows, 1, 8, 1000, 3, 0.01);
    push_level(&rows, 0, 8, 1100, 1, 0);
    pm_series *s = build(&rows, 2);
    char *wins = NULL;
    CAPTURE(wins, pm_modes_wins_write(f, &s[0], &s[1], "  "));
    assert_string_equal(wins, "  concat_plan vcpus=2: async wins at concurrency 2 (1.33x); sync "
                              "wins at 4-8 (0.80-0.91x); within the noise at 1 (1.00x)\n"
                              "  Noise unknown at concurrency 1-4: one valid run in each mode, so "
                              "any difference counts as a win; use RUNS >= 3\n");
    free(wins);
    pm_series_free(s, 2);
    pm_rows_free(&rows);
}

static void test_modes_without_common_level(void **state)
{
    pm_rows rows = {0};
    push_level(&rows, 1, 1, 100, 2, 0.01);
    push_level(&rows, 0, 2, 100, 2, 0.01);
    pm_series *s = build(&rows, 2);
    char *wins = NULL;
    CAPTURE(wins, pm_modes_wins_write(f, &s[0], &s[1], ""));
    assert_string_equal(wins, "concat_plan vcpus=2: no concurrency level measured validly in "
                              "both modes; no valid sync run at concurrency 1; no valid async run "
                              "at 2\n");
    free(wins);
    pm_series_free(s, 2);
    pm_rows_free(&rows);
}

static void test_invalid_levels_are_named_and_usl_says_why(void **state)
{
    /* Issue 9 row 24: five levels, three of them invalid. */
    pm_rows rows = {0};
    static const int c[] = {1, 2, 4, 8, 16};
    for (size_t i = 0; i < 5; i++) {
        pm_row r = make_row(c[i], 1, 1000.0 * c[i], i < 2 ? "ok" : "invalid");
        pm_rows_push(&rows, &r);
    }
    pm_series *s = build(&rows, 1);
    assert_int_equal(s[0].n, 2);
    assert_int_equal(s[0].n_excluded, 3);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    pm_summary_write_series(f, &s[0], NULL, 0);
    fclose(f);
    assert_non_null(strstr(text, "    16      | not on the curve: none of its 1 runs is valid"));
    assert_non_null(strstr(text, "USL fit: not possible (2 distinct levels, at least three are "
                                 "needed; 3 of 5 levels have no valid run)"));
    free(text);
    pm_series_free(s, 1);
    pm_rows_free(&rows);
}

static void test_no_level_is_dropped(void **state)
{
    /* Issue 9 row 17: 100 levels became a 64-row table. Extreme values must
     * not overflow the comparator either (row 16). */
    pm_rows rows = {0};
    for (int c = 1; c <= 100; c++) {
        pm_row r = make_row(c, 1, 100.0 * c, "ok");
        pm_rows_push(&rows, &r);
    }
    pm_row r = make_row(INT_MAX, 1, 1, "ok");
    pm_rows_push(&rows, &r);
    r = make_row(-INT_MAX, 1, 1, "ok");
    pm_rows_push(&rows, &r);
    pm_series *s = build(&rows, 1);
    assert_int_equal(s[0].n, 102);
    assert_near(s[0].concurrency[0], -INT_MAX, 0);
    assert_near(s[0].concurrency[101], INT_MAX, 0);
    pm_series_free(s, 1);
    pm_rows_free(&rows);
}

static void test_many_series_plot_titles(void **state)
{
    /* Issue 9 row 15: vcpus 1-200 in both modes overflowed a fixed 2048-byte
     * title buffer. "true" stands in for gnuplot. */
    pm_rows rows = {0};
    for (int v = 1; v <= 200; v++) {
        for (int a = 0; a <= 1; a++) {
            pm_row r = make_row(1, 1, 100, "ok");
            r.vcpus = v;
            r.async = a;
            pm_rows_push(&rows, &r);
        }
    }
    pm_series *s = build(&rows, 400);
    char dir[] = "/tmp/pm-test-plots-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char err[PM_ERR_LEN];
    assert_true(pm_plot_plan(s, 400, dir, NULL, "true", ".", err, sizeof err));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -r '%s'", dir);
    assert_int_equal(system(cmd), 0);
    pm_series_free(s, 400);
    pm_rows_free(&rows);
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
    /* Nor an invalid one, however good its figures look. */
    r = make_row(2, 3, 1e6, "invalid"), pm_rows_push(&rows, &r);
    pm_series *s = build(&rows, 1);
    assert_int_equal(s[0].n, 2);
    assert_near(s[0].qps[0], 120, 0);
    assert_near(s[0].qps[1], 190, 0);
    assert_int_equal(s[0].runs[1], 1);
    assert_int_equal(s[0].recorded[1], 3);
    pm_series_free(s, 1);
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
    pm_series *s = build(&rows, 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    pm_summary_write_series(f, &s[0], NULL, 0);
    fclose(f);
    assert_non_null(strstr(text, "Concurrency |    QPS    |  p50 (us) |  p99 (us) | Assessment"));
    assert_non_null(strstr(text, "    32      |   14,000  |"));
    assert_non_null(strstr(text, "Saturated (knee) <-"));
    assert_non_null(strstr(text, "Headroom rule: run at 50-75% of the knee: concurrency 16-24"));
    free(text);
    pm_series_free(s, 1);
    pm_rows_free(&rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_medians_per_level),
        cmocka_unit_test(test_missing_points_are_named),
        cmocka_unit_test(test_report_without_points),
        cmocka_unit_test(test_summary_has_seed_table),
        cmocka_unit_test(test_rising_curve_is_never_over_saturated),
        cmocka_unit_test(test_recommendation_agrees_with_assessment),
        cmocka_unit_test(test_flat_curve_is_not_underutilized),
        cmocka_unit_test(test_spread_and_noise_warnings),
        cmocka_unit_test(test_single_runs_warn_that_noise_is_unknown),
        cmocka_unit_test(test_async_vs_sync_within_noise),
        cmocka_unit_test(test_modes_column_only_with_counterpart),
        cmocka_unit_test(test_modes_wins_ties_and_one_mode_levels),
        cmocka_unit_test(test_modes_single_runs_say_noise_unknown),
        cmocka_unit_test(test_modes_without_common_level),
        cmocka_unit_test(test_invalid_levels_are_named_and_usl_says_why),
        cmocka_unit_test(test_no_level_is_dropped),
        cmocka_unit_test(test_many_series_plot_titles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
