/* Knee detection, the USL fit, the assessment column and the operating
 * point, on curves whose answers are known. */
#include "perfmatrix/analysis.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* cmocka 1.1.5 compares floats only; figures here need doubles. */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

/* The seed's example table (docs of the original sweep script). */
static const double seed_c[] = {1, 4, 8, 16, 32, 64, 128};
static const double seed_qps[] = {1200, 4500, 8200, 12500, 14000, 14200, 14100};
static const double seed_p99[] = {1500, 1800, 2500, 5000, 15000, 35000, 80000};
#define SEED_N 7

static void test_seed_knee_is_32(void **state)
{
    size_t knee;
    assert_true(pm_knee(seed_c, seed_qps, SEED_N, &knee));
    assert_int_equal((int)seed_c[knee], 32);
}

static void test_seed_kneedle_bend_is_16(void **state)
{
    /* The raw Kneedle maximum sits one level earlier; pm_knee moves past it
     * because 16 -> 32 still adds 12% throughput. */
    size_t bend;
    assert_true(pm_kneedle(seed_c, seed_qps, SEED_N, &bend));
    assert_int_equal((int)seed_c[bend], 16);
}

static void test_seed_assessment_column(void **state)
{
    pm_assessment a[SEED_N];
    pm_assess(seed_c, seed_qps, seed_p99, SEED_N, 4, a);
    const pm_assessment want[SEED_N] = {
        PM_ASSESS_UNDERUTILIZED,          PM_ASSESS_NEAR_LINEAR,    PM_ASSESS_GOOD_SCALING,
        PM_ASSESS_STARTING_TO_SATURATE,   PM_ASSESS_SATURATED_KNEE, PM_ASSESS_OVER_SATURATED,
        PM_ASSESS_SEVERELY_OVER_SATURATED};
    for (size_t i = 0; i < SEED_N; i++)
        assert_string_equal(pm_assessment_name(a[i]), pm_assessment_name(want[i]));
}

static void test_assessment_lost_throughput_is_severe(void **state)
{
    const double c[] = {1, 2, 4, 8};
    const double qps[] = {100, 195, 380, 300};
    const double p99[] = {10, 10, 11, 12};
    pm_assessment a[4];
    pm_assess(c, qps, p99, 4, 2, a);
    assert_int_equal(a[3], PM_ASSESS_SEVERELY_OVER_SATURATED);
}

static void test_seed_recommendation(void **state)
{
    size_t i;
    assert_true(pm_recommend(seed_qps, seed_p99, SEED_N, 0, &i));
    assert_int_equal((int)seed_c[i], 32);
    /* An SLO tighter than every level that reaches 95% leaves none. */
    assert_false(pm_recommend(seed_qps, seed_p99, SEED_N, 10000, &i));
    assert_true(pm_recommend(seed_qps, seed_p99, SEED_N, 20000, &i));
    assert_int_equal((int)seed_c[i], 32);
}

static void test_hockey_stick_knee(void **state)
{
    /* Perfect scaling up to 16 in flight, flat after: the knee is 16. */
    const double c[] = {1, 2, 4, 8, 16, 32, 64, 128};
    double qps[8];
    for (size_t i = 0; i < 8; i++)
        qps[i] = 1000 * fmin(c[i], 16);
    size_t knee;
    assert_true(pm_knee(c, qps, 8, &knee));
    assert_int_equal((int)c[knee], 16);
}

static void test_linear_curve_has_no_knee(void **state)
{
    const double c[] = {1, 2, 4, 8, 16, 32};
    const double qps[] = {100, 200, 400, 800, 1600, 3200};
    size_t knee;
    assert_false(pm_knee(c, qps, 6, &knee));
    assert_false(pm_kneedle(c, qps, 2, &knee));
}

static void test_usl_recovers_known_parameters(void **state)
{
    const double c[] = {1, 2, 4, 8, 16, 32, 64, 128};
    double qps[8];
    for (size_t i = 0; i < 8; i++)
        qps[i] = 1000 * c[i] / (1 + 0.05 * (c[i] - 1) + 0.001 * c[i] * (c[i] - 1));
    pm_usl u;
    assert_true(pm_usl_fit(c, qps, 8, &u, NULL, 0));
    assert_near(u.lambda, 1000, 1e-6);
    assert_near(u.sigma, 0.05, 1e-9);
    assert_near(u.kappa, 0.001, 1e-9);
    assert_near(u.r2, 1.0, 1e-9);
    assert_near(u.n_star, sqrt(0.95 / 0.001), 1e-6);
}

static void test_usl_amdahl_has_no_coherency(void **state)
{
    const double c[] = {1, 2, 4, 8, 16, 32};
    double qps[6];
    for (size_t i = 0; i < 6; i++)
        qps[i] = 500 * c[i] / (1 + 0.1 * (c[i] - 1));
    pm_usl u;
    assert_true(pm_usl_fit(c, qps, 6, &u, NULL, 0));
    assert_near(u.sigma, 0.1, 1e-9);
    assert_near(u.kappa, 0.0, 1e-12);
    assert_near(u.n_star, 0.0, 0);
}

static void test_usl_on_seed_table(void **state)
{
    pm_usl u;
    assert_true(pm_usl_fit(seed_c, seed_qps, SEED_N, &u, NULL, 0));
    /* The seed's curve saturates but barely retrogrades: a good fit whose
     * peak lies in the saturated region. */
    assert_true(u.r2 >= PM_USL_MIN_R2);
    assert_true(u.sigma >= 0 && u.kappa >= 0);
    assert_true(u.n_star > 16 && u.n_star < 128);
}

static void test_usl_rejects_too_few_levels(void **state)
{
    const double c[] = {1, 1, 2};
    const double qps[] = {10, 11, 20};
    pm_usl u;
    assert_false(pm_usl_fit(c, qps, 3, &u, NULL, 0));
}

static void test_median_and_pareto(void **state)
{
    double v[] = {5, 1, 3, 2};
    assert_near(pm_median(v, 4), 2.5, 1e-12);
    double w[] = {9, 1, 5};
    assert_near(pm_median(w, 3), 5, 1e-12);
    assert_true(isnan(pm_median(w, 0)));

    const double p99[] = {100, 200, 150, 400, 300};
    const double qps[] = {10, 30, 5, 35, 25};
    size_t idx[5];
    size_t n = pm_pareto(p99, qps, 5, idx);
    assert_int_equal(n, 3);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_knee_is_32),
        cmocka_unit_test(test_seed_kneedle_bend_is_16),
        cmocka_unit_test(test_seed_assessment_column),
        cmocka_unit_test(test_assessment_lost_throughput_is_severe),
        cmocka_unit_test(test_seed_recommendation),
        cmocka_unit_test(test_hockey_stick_knee),
        cmocka_unit_test(test_linear_curve_has_no_knee),
        cmocka_unit_test(test_usl_recovers_known_parameters),
        cmocka_unit_test(test_usl_amdahl_has_no_coherency),
        cmocka_unit_test(test_usl_on_seed_table),
        cmocka_unit_test(test_usl_rejects_too_few_levels),
        cmocka_unit_test(test_median_and_pareto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
