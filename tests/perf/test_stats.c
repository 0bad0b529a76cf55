#include "perfmatrix/compare.h"
#include "perfmatrix/stats.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A reproducible normal sample (Box-Muller over xorshift64*). */
static uint64_t rng = 88172645463325252ull;

static double uniform(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return ((double)((rng * 0x2545F4914F6CDD1Dull) >> 11) + 0.5) * 0x1.0p-53;
}

static double normal(double mean, double sd)
{
    return mean + sd * sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

static void exact_p_matches_tables(void **state)
{
    /* Complete separation of 5 vs 5: 2 of C(10, 5) = 252 orderings. */
    double a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10};
    assert_float_equal(pm_mann_whitney_p(a, 5, b, 5), 2.0 / 252, 1e-12);
    assert_float_equal(pm_mann_whitney_p(b, 5, a, 5), 2.0 / 252, 1e-12);
    /* Perfectly interleaved: no evidence at all. */
    double c[] = {1, 3, 5, 7}, d[] = {2, 4, 6, 8};
    assert_true(pm_mann_whitney_p(c, 4, d, 4) > 0.6);
    assert_float_equal(pm_mann_whitney_min_p(3, 3), 0.1, 1e-12);
    assert_float_equal(pm_mann_whitney_min_p(5, 5), 2.0 / 252, 1e-12);
}

static void ties_use_the_normal_approximation(void **state)
{
    double a[] = {1, 1, 1, 1, 1, 1}, b[] = {1, 1, 1, 1, 1, 1};
    assert_float_equal(pm_mann_whitney_p(a, 6, b, 6), 1, 1e-12);
    double c[] = {1, 1, 2, 2, 3, 3, 4, 4}, d[] = {5, 5, 6, 6, 7, 7, 8, 8};
    assert_true(pm_mann_whitney_p(c, 8, d, 8) < 0.01);
}

/* Identical distributions must be flagged at alpha 0.05 in about 5% of
 * trials at most: the test must not cry wolf on noise. */
static void identical_distributions_are_rarely_flagged(void **state)
{
    int flagged = 0, trials = 2000;
    for (int t = 0; t < trials; t++) {
        double a[5], b[5];
        for (int i = 0; i < 5; i++) {
            a[i] = normal(1000, 150);
            b[i] = normal(1000, 150);
        }
        flagged += pm_mann_whitney_p(a, 5, b, 5) < 0.05;
    }
    assert_true(flagged <= trials * 0.065);
}

/* A 20% shift with 5 runs a side and 5% noise must be flagged nearly always. */
static void a_twenty_percent_shift_is_flagged(void **state)
{
    int flagged = 0, trials = 500;
    for (int t = 0; t < trials; t++) {
        double a[5], b[5];
        for (int i = 0; i < 5; i++) {
            a[i] = normal(1000, 50);
            b[i] = normal(800, 40);
        }
        flagged += pm_mann_whitney_p(a, 5, b, 5) < 0.05;
    }
    assert_true(flagged >= trials * 0.98);
}

static void bootstrap_interval_brackets_the_change(void **state)
{
    double a[] = {100, 102, 98, 101, 99}, b[] = {80, 82, 78, 81, 79};
    pm_change c = pm_median_change(a, 5, b, 5, 0.05, 2000, 7);
    assert_float_equal(c.change, -0.2, 1e-12);
    assert_true(c.low <= c.change && c.change <= c.high);
    assert_true(c.high < 0);
    pm_change again = pm_median_change(a, 5, b, 5, 0.05, 2000, 7);
    assert_float_equal(again.low, c.low, 0);
}

static pm_row row(const char *plan, int c, double qps)
{
    pm_row r;
    pm_row_init(&r);
    snprintf(r.plan, sizeof r.plan, "%s", plan);
    snprintf(r.status, sizeof r.status, "ok");
    r.async = 1;
    r.vcpus = 2;
    r.concurrency = c;
    r.qps = qps;
    r.p50_us = 1e6 / qps;
    r.p99_us = 2e6 / qps;
    return r;
}

static void verdicts_per_point(void **state)
{
    pm_rows base = {0}, fresh = {0};
    for (int i = 0; i < 5; i++) {
        pm_row r = row("p", 1, 1000 + i);
        pm_rows_push(&base, &r);
        r = row("p", 1, 800 + i); /* 20% slower */
        pm_rows_push(&fresh, &r);
        r = row("p", 4, 2000 + i * 10);
        pm_rows_push(&base, &r);
        r = row("p", 4, 2005 + i * 10 * (i % 2 ? 1 : -1)); /* the same */
        pm_rows_push(&fresh, &r);
    }
    for (int i = 0; i < 2; i++) {
        pm_row r = row("p", 16, 3000);
        pm_rows_push(&base, &r);
        pm_rows_push(&fresh, &r);
    }
    pm_row failed = row("p", 1, 1);
    snprintf(failed.status, sizeof failed.status, "invalid");
    pm_rows_push(&fresh, &failed);

    pm_compare_options opt = {PM_COMPARE_QPS, 0.05, 0.05};
    pm_compare_row *rows = NULL;
    size_t n = pm_compare(&base, &fresh, &opt, &rows);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].concurrency, 1);
    assert_int_equal(rows[0].n_new, 5); /* the invalid run is left out */
    assert_int_equal(rows[0].verdict, PM_VERDICT_SLOWER);
    assert_true(rows[0].regression);
    assert_int_equal(rows[1].verdict, PM_VERDICT_NO_CHANGE);
    assert_int_equal(rows[2].verdict, PM_VERDICT_TOO_FEW_RUNS);
    free(rows);

    /* The same data judged on p99: latency went up, which is also slower. */
    opt.metric = PM_COMPARE_P99;
    n = pm_compare(&base, &fresh, &opt, &rows);
    assert_int_equal(rows[0].verdict, PM_VERDICT_SLOWER);
    free(rows);

    /* A slowdown inside the threshold is reported but does not gate. */
    opt.metric = PM_COMPARE_QPS;
    opt.threshold = 0.5;
    n = pm_compare(&base, &fresh, &opt, &rows);
    assert_int_equal(rows[0].verdict, PM_VERDICT_SLOWER);
    assert_false(rows[0].regression);
    free(rows);
    pm_rows_free(&base);
    pm_rows_free(&fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_p_matches_tables),
        cmocka_unit_test(ties_use_the_normal_approximation),
        cmocka_unit_test(identical_distributions_are_rarely_flagged),
        cmocka_unit_test(a_twenty_percent_shift_is_flagged),
        cmocka_unit_test(bootstrap_interval_brackets_the_change),
        cmocka_unit_test(verdicts_per_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
