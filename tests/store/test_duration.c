/* The duration parser behind --range: units, sums, and errors that name
 * the column. */
#include "helpers.h"

static void durations(void **state)
{
    int64_t s;
    rondo_error err;
    assert_int_equal(rondo_duration_parse("5m", &s, &err), RONDO_OK);
    assert_int_equal(s, 300);
    assert_int_equal(rondo_duration_parse("1h30m", &s, &err), RONDO_OK);
    assert_int_equal(s, 5400);
    assert_int_equal(rondo_duration_parse("90s", &s, &err), RONDO_OK);
    assert_int_equal(s, 90);
    assert_int_equal(rondo_duration_parse("1w2d3h4m5s", &s, &err), RONDO_OK);
    assert_int_equal(s, 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
    struct {
        const char *text, *expect;
    } bad[] = {{"", "column 1"},     {"5", "column 2: expected a unit"},
               {"m", "column 1"},    {"5x", "column 2"},
               {"1h30", "column 5"}, {"0s", "positive"},
               {"-5m", "column 1"},  {"99999999999999999999s", "too large"},
               {"5m ", "column 3"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.message[0] = '\0';
        assert_int_equal(rondo_duration_parse(bad[i].text, &s, &err), RONDO_ERR_INPUT);
        if (strstr(err.message, bad[i].expect) == NULL)
            fail_msg("'%s': expected '%s' in '%s'", bad[i].text, bad[i].expect, err.message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(durations)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
