#include "pmbase/number.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void integers_are_strict(void **state)
{
    pmb_error err = {0};
    int64_t v = 0;
    assert_int_equal(pmb_parse_i64("--n", "42", 0, 100, &v, &err), PMB_OK);
    assert_int_equal(v, 42);
    assert_int_equal(pmb_parse_i64("--n", "-5", -10, 10, &v, &err), PMB_OK);
    assert_int_equal(v, -5);
    const char *bad[] = {"", " 4", "4 ", "4x", "0x10", "1e3", "+", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pmb_parse_i64("--n", bad[i], INT64_MIN, INT64_MAX, &v, &err), PMB_EINPUT);
}

static void messages_name_source_and_value(void **state)
{
    pmb_error err = {0};
    int v;
    assert_int_equal(pmb_parse_int("--concurrency", "300", 1, 256, &v, &err), PMB_EINPUT);
    assert_non_null(strstr(err.msg, "--concurrency"));
    assert_non_null(strstr(err.msg, "'300'"));
    assert_non_null(strstr(err.msg, "[1, 256]"));
    assert_int_equal(pmb_parse_int("environment RUNS", "x", 1, 9, &v, &err), PMB_EINPUT);
    assert_non_null(strstr(err.msg, "environment RUNS: 'x' is not an integer"));
}

static void doubles_are_finite_and_strict(void **state)
{
    pmb_error err = {0};
    double v = 0;
    assert_int_equal(pmb_parse_double("x", "1e-310", 0, 1, &v, &err), PMB_OK);
    assert_true(v > 0);
    assert_int_equal(pmb_parse_double("x", "1e308", -1e308, 1e308, &v, &err), PMB_OK);
    const char *bad[] = {"", " 1", "1 ", "nan", "inf", "-inf", "1e999", "1.5s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pmb_parse_double("x", bad[i], -1e308, 1e308, &v, &err), PMB_EINPUT);
    assert_int_equal(pmb_parse_double("x", "2", 0, 1, &v, &err), PMB_EINPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_are_strict),
        cmocka_unit_test(messages_name_source_and_value),
        cmocka_unit_test(doubles_are_finite_and_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
