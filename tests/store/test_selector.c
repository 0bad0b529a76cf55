/* Selector and series key parsers: accepted forms, canonical keys,
 * matching semantics, and errors that name the column. */
#include "helpers.h"

static void selector_forms(void **state)
{
    rondo_selector sel;
    rondo_error err;
    assert_int_equal(rondo_selector_parse(&sel, "cpu", &err), RONDO_OK);
    assert_string_equal(sel.name, "cpu");
    assert_int_equal(sel.nmatchers, 0);
    assert_int_equal(
        rondo_selector_parse(&sel, " vcpu_exits_total { reason = io , vm!=\"a b\" } ", &err),
        RONDO_OK);
    assert_string_equal(sel.name, "vcpu_exits_total");
    assert_int_equal(sel.nmatchers, 2);
    assert_string_equal(sel.matchers[0].name, "reason");
    assert_string_equal(sel.matchers[0].value, "io");
    assert_int_equal(sel.matchers[0].op, RONDO_MATCH_EQ);
    assert_string_equal(sel.matchers[1].value, "a b");
    assert_int_equal(sel.matchers[1].op, RONDO_MATCH_NE);
    assert_int_equal(rondo_selector_parse(&sel, "{job=x,}", &err), RONDO_OK);
    assert_null(sel.name);
    assert_int_equal(rondo_selector_parse(&sel, "m{k=\"q\\\"\\\\\"}", &err), RONDO_OK);
    assert_string_equal(sel.matchers[0].value, "q\"\\");
    assert_int_equal(rondo_selector_parse(&sel, "m{k=}", &err), RONDO_OK);
    assert_string_equal(sel.matchers[0].value, "");
}

static void expect_selector_error(const char *text, const char *column)
{
    rondo_selector sel;
    rondo_error err = {0};
    assert_int_equal(rondo_selector_parse(&sel, text, &err), RONDO_ERR_INPUT);
    assert_int_equal(err.status, RONDO_ERR_INPUT);
    if (strstr(err.message, column) == NULL)
        fail_msg("'%s': expected '%s' in '%s'", text, column, err.message);
}

static void selector_errors(void **state)
{
    expect_selector_error("", "at column 1");
    expect_selector_error("cpu{host=a", "at column 11: missing '}'");
    expect_selector_error("cpu{host}", "at column 9: expected '=' or '!='");
    expect_selector_error("cpu{=a}", "at column 5");
    expect_selector_error("cpu{a=~\"x\"}", "at column 6: regular expression");
    expect_selector_error("cpu{a=\"x}", "unterminated");
    expect_selector_error("cpu{a=b c}", "at column 9");
    expect_selector_error("cpu x", "at column 5");
    expect_selector_error("9cpu", "at column 1");
    expect_selector_error("{}", "at column 1");
    expect_selector_error("m{a=\"\\n\"}", "escaped");
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_selector_error(big, "longer than");
    char many[400] = "m{";
    for (int i = 0; i < 17; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "l%d=v,", i);
    strcat(many, "}");
    expect_selector_error(many, "more than 16 labels");
}

static void series_keys(void **state)
{
    rondo_series_id id;
    rondo_error err;
    char buf[RONDO_MAX_KEY + 1];
    assert_int_equal(rondo_series_id_parse(&id, "cpu{z=1, a=\"x y\", m=q}", &err), RONDO_OK);
    assert_int_equal(id.nlabels, 3);
    assert_string_equal(id.labels[0].name, "a");
    assert_string_equal(id.labels[2].name, "z");
    assert_true(rondo_series_id_format(&id, buf, sizeof buf) > 0);
    assert_string_equal(buf, "cpu{a=\"x y\",m=q,z=1}");
    assert_string_equal(rondo_series_id_label(&id, "m"), "q");
    assert_null(rondo_series_id_label(&id, "nope"));
    assert_int_equal(rondo_series_id_format(&id, buf, 5), -1);
    /* A value starting with '~' is quoted, or it would read back as =~. */
    assert_int_equal(rondo_series_id_parse(&id, "m{a=\"~x\"}", &err), RONDO_OK);
    assert_true(rondo_series_id_format(&id, buf, sizeof buf) > 0);
    assert_string_equal(buf, "m{a=\"~x\"}");
    assert_int_equal(rondo_series_id_parse(&id, "cpu{a=1,a=2}", &err), RONDO_ERR_INPUT);
    assert_non_null(strstr(err.message, "appears twice"));
    assert_int_equal(rondo_series_id_parse(&id, "cpu{a!=1}", &err), RONDO_ERR_INPUT);
    assert_int_equal(rondo_series_id_parse(&id, "cpu{a=}", &err), RONDO_ERR_INPUT);
    assert_int_equal(rondo_series_id_parse(&id, "{a=1}", &err), RONDO_ERR_INPUT);
}

static void matching(void **state)
{
    rondo_series_id io, mmio;
    rondo_selector sel;
    rondo_error err;
    assert_int_equal(rondo_series_id_parse(&io, "exits{reason=io,vm=a}", &err), RONDO_OK);
    assert_int_equal(rondo_series_id_parse(&mmio, "exits{reason=mmio}", &err), RONDO_OK);
    rondo_selector_parse(&sel, "exits", &err);
    assert_true(rondo_selector_matches(&sel, &io) && rondo_selector_matches(&sel, &mmio));
    rondo_selector_parse(&sel, "exits{reason=io}", &err);
    assert_true(rondo_selector_matches(&sel, &io));
    assert_false(rondo_selector_matches(&sel, &mmio));
    rondo_selector_parse(&sel, "exits{reason!=io}", &err);
    assert_false(rondo_selector_matches(&sel, &io));
    assert_true(rondo_selector_matches(&sel, &mmio));
    /* A missing label is the empty value, as in Prometheus. */
    rondo_selector_parse(&sel, "{vm!=a}", &err);
    assert_true(rondo_selector_matches(&sel, &mmio));
    rondo_selector_parse(&sel, "exits{vm=\"\"}", &err);
    assert_true(rondo_selector_matches(&sel, &mmio));
    assert_false(rondo_selector_matches(&sel, &io));
    rondo_selector_parse(&sel, "other", &err);
    assert_false(rondo_selector_matches(&sel, &io));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selector_forms),
        cmocka_unit_test(selector_errors),
        cmocka_unit_test(series_keys),
        cmocka_unit_test(matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
