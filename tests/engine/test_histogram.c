/* The log-linear histogram: 3 significant digits from 1 us to 60 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rankd/histogram.h"

#include <stdlib.h>

static rankd_hist *hist_new(void)
{
    rankd_hist *h = malloc(sizeof *h);
    assert_non_null(h);
    rankd_hist_reset(h);
    return h;
}

/* Within 0.1% (3 significant digits) above the true value, never below. */
static void assert_close(uint64_t got, uint64_t want)
{
    assert_true(got >= want);
    assert_true((double)(got - want) <= (double)want * 0.001 + 512);
}

static void test_uniform_percentiles(void **state)
{
    rankd_hist *h = hist_new();
    for (uint64_t us = 1; us <= 10000; us++)
        rankd_hist_record(h, us * 1000);
    assert_int_equal(h->total, 10000);
    assert_close(rankd_hist_percentile(h, 50), 5000000);
    assert_close(rankd_hist_percentile(h, 90), 9000000);
    assert_close(rankd_hist_percentile(h, 99), 9900000);
    assert_int_equal(rankd_hist_percentile(h, 100), 10000000);
    assert_int_equal(h->max_ns, 10000000);
    assert_int_equal(h->min_ns, 1000);
    assert_true(rankd_hist_mean(h) > 5000000 - 1 && rankd_hist_mean(h) < 5001000);
    free(h);
}

static void test_wide_range_and_clamp(void **state)
{
    rankd_hist *h = hist_new();
    rankd_hist_record(h, 59000000000ull);
    assert_close(rankd_hist_percentile(h, 50), 59000000000ull);
    /* Beyond 60 s the slot is the last one, but the maximum stays true. */
    rankd_hist_record(h, 120000000000ull);
    assert_int_equal(h->max_ns, 120000000000ull);
    assert_true(rankd_hist_percentile(h, 100) >= 60000000000ull);
    free(h);
}

static void test_merge_equals_single(void **state)
{
    rankd_hist *a = hist_new(), *b = hist_new(), *all = hist_new();
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t v = 1000 + i * 7919 % 2000000;
        rankd_hist_record(i % 2 ? a : b, v);
        rankd_hist_record(all, v);
    }
    rankd_hist_merge(a, b);
    assert_int_equal(a->total, all->total);
    for (double p = 1; p <= 100; p += 7)
        assert_int_equal(rankd_hist_percentile(a, p), rankd_hist_percentile(all, p));
    free(a);
    free(b);
    free(all);
}

static void test_empty(void **state)
{
    rankd_hist *h = hist_new();
    assert_int_equal(rankd_hist_percentile(h, 99), 0);
    assert_true(rankd_hist_mean(h) == 0.0);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_percentiles),
        cmocka_unit_test(test_wide_range_and_clamp),
        cmocka_unit_test(test_merge_equals_single),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
