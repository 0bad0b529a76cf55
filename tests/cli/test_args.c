/* rondo-cli's parsers and formatters: ranges, times, archives, values,
 * formats, and the number and time formatting of the query output. */
#include "rondocli/rondocli.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void ranges(void **state)
{
    rondocli_range r;
    rondo_error err;
    assert_int_equal(rondocli_parse_range("all", &r, &err), RONDO_OK);
    assert_true(r.all);
    assert_int_equal(rondocli_parse_range("1h30m", &r, &err), RONDO_OK);
    assert_false(r.all);
    assert_int_equal(r.seconds, 5400);
    assert_int_equal(rondocli_parse_range("5q", &r, &err), RONDO_ERR_INPUT);
    assert_non_null(strstr(err.message, "bad duration '5q' at column 2"));
    assert_int_equal(rondocli_parse_range("ALL", &r, &err), RONDO_ERR_INPUT);
}

static void times(void **state)
{
    int64_t t;
    rondo_error err;
    const int64_t now = 1795000000;
    assert_int_equal(rondocli_parse_time("now", now, &t, &err), RONDO_OK);
    assert_int_equal(t, now);
    assert_int_equal(rondocli_parse_time("now-1d", now, &t, &err), RONDO_OK);
    assert_int_equal(t, now - 86400);
    assert_int_equal(rondocli_parse_time("-90s", now, &t, &err), RONDO_OK);
    assert_int_equal(t, now - 90);
    assert_int_equal(rondocli_parse_time("1000", now, &t, &err), RONDO_OK);
    assert_int_equal(t, 1000);
    assert_int_equal(rondocli_parse_time("12x", now, &t, &err), RONDO_ERR_INPUT);
    assert_non_null(strstr(err.message, "at column 3"));
    assert_int_equal(rondocli_parse_time("yesterday", now, &t, &err), RONDO_ERR_INPUT);
    assert_int_equal(rondocli_parse_time("now-1x", now, &t, &err), RONDO_ERR_INPUT);
    assert_int_equal(rondocli_parse_time("-100w", 1000, &t, &err), RONDO_ERR_INPUT);
    assert_non_null(strstr(err.message, "before 1970"));
}

static void archives(void **state)
{
    rondo_archive_spec a;
    rondo_error err;
    assert_int_equal(rondocli_parse_archive("1s:3600", RONDO_CF_SUM, &a, &err), RONDO_OK);
    assert_int_equal(a.resolution, 1);
    assert_int_equal(a.rows, 3600);
    assert_int_equal(a.cf, RONDO_CF_SUM);
    assert_int_equal(rondocli_parse_archive("10s:1d:max", RONDO_CF_AVG, &a, &err), RONDO_OK);
    assert_int_equal(a.resolution, 10);
    assert_int_equal(a.rows, 8640);
    assert_int_equal(a.cf, RONDO_CF_MAX);
    assert_int_equal(rondocli_parse_archive("1m:30d", RONDO_CF_AVG, &a, &err), RONDO_OK);
    assert_int_equal(a.rows, 43200);
    assert_int_equal(rondocli_parse_archive("1s", RONDO_CF_AVG, &a, &err), RONDO_ERR_INPUT);
    assert_int_equal(rondocli_parse_archive("1s:0", RONDO_CF_AVG, &a, &err), RONDO_ERR_INPUT);
    assert_int_equal(rondocli_parse_archive("1s:10:median", RONDO_CF_AVG, &a, &err),
                     RONDO_ERR_INPUT);
    assert_non_null(strstr(err.message, "median"));
    assert_int_equal(rondocli_parse_archive("1q:10", RONDO_CF_AVG, &a, &err), RONDO_ERR_INPUT);
    assert_non_null(strstr(err.message, "resolution"));
    assert_int_equal(rondocli_parse_archive("1s:999999999999", RONDO_CF_AVG, &a, &err),
                     RONDO_ERR_INPUT);
}

static void values_and_formats(void **state)
{
    double v;
    rondo_error err;
    rondocli_format f;
    assert_int_equal(rondocli_parse_value("-2.5", &v, &err), RONDO_OK);
    assert_true(v == -2.5);
    assert_int_equal(rondocli_parse_value("1e3", &v, &err), RONDO_OK);
    assert_int_equal(rondocli_parse_value("nan", &v, &err), RONDO_ERR_INPUT);
    assert_int_equal(rondocli_parse_value("inf", &v, &err), RONDO_ERR_INPUT);
    assert_int_equal(rondocli_parse_value("1.5x", &v, &err), RONDO_ERR_INPUT);
    assert_int_equal(rondocli_parse_value("", &v, &err), RONDO_ERR_INPUT);
    assert_true(rondocli_parse_format("json", &f) && f == RONDOCLI_JSON);
    assert_true(rondocli_parse_format("csv", &f) && f == RONDOCLI_CSV);
    assert_true(rondocli_parse_format("table", &f) && f == RONDOCLI_TABLE);
    assert_false(rondocli_parse_format("xml", &f));
    assert_int_equal(rondocli_exit_code(RONDO_OK), 0);
    assert_int_equal(rondocli_exit_code(RONDO_ERR_IO), 1);
    assert_int_equal(rondocli_exit_code(RONDO_ERR_CORRUPT), 2);
    assert_int_equal(rondocli_exit_code(RONDO_ERR_NOT_FOUND), 2);
}

static void format_double(void **state)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {{0, "0"},       {1, "1"},           {-1.5, "-1.5"},
                 {0.25, "0.25"}, {1e-6, "0.000001"}, {123456.789, "123456.789"},
                 {0.1, "0.1"},   {1e20, "1e+20"},    {1.0 / 3, "0.333333333333333"},
                 {NAN, "NaN"}};
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = rondocli_format_double(cases[i].v, buf);
        assert_int_equal(n, strlen(buf));
        if (strcmp(buf, cases[i].text) != 0 && !(i == 8 && strtod(buf, NULL) == cases[i].v))
            fail_msg("%.17g printed as %s, expected %s", cases[i].v, buf, cases[i].text);
    }
    /* Whatever is printed reads back exactly. */
    for (int i = 0; i < 100000; i++) {
        double v = (double)rand() / RAND_MAX * 1e6 - 5e5;
        if (i % 3 == 0)
            v = nearbyint(v * 100) / 100;
        rondocli_format_double(v, buf);
        if (strtod(buf, NULL) != v)
            fail_msg("%.17g printed as %s", v, buf);
    }
}

static void format_time(void **state)
{
    char buf[32];
    assert_int_equal(rondocli_format_time(0, buf), 20);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    rondocli_format_time(1795305600, buf);
    assert_string_equal(buf, "2026-11-22T00:00:00Z");
    rondocli_format_time(951782400 + 86399, buf);
    assert_string_equal(buf, "2000-02-29T23:59:59Z");
    rondocli_format_time(-1, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ranges),        cmocka_unit_test(times),
        cmocka_unit_test(archives),      cmocka_unit_test(values_and_formats),
        cmocka_unit_test(format_double), cmocka_unit_test(format_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
