/* Remote write units: label rules, encoding (decoded back with protobuf-c and
 * snappy), the cursor file and URL redaction. */
#include "helpers.h"
#include "rw_internal.h"

#include <math.h>
#include <snappy-c.h>

static void labels_of(const char *key, const rondo_label *extra, size_t nextra, rondo_label *out,
                      size_t *n, rondo_status expect)
{
    static rondo_series_id id;
    rondo_error err;
    assert_int_equal(rondo_series_id_parse(&id, key, &err), RONDO_OK);
    assert_int_equal(rondo__rw_labels(&id, extra, nextra, out, n, &err), expect);
}

static void t_labels_sorted_name_first(void **state)
{
    (void)state;
    rondo_label out[RONDO__RW_MAX_LABELS];
    size_t n;
    rondo_label extra[] = {{"vm", "a"}, {"Zone", "x"}};
    labels_of("exits_total{reason=io,port=\"0x10\"}", extra, 2, out, &n, RONDO_OK);
    assert_int_equal(n, 5);
    assert_string_equal(out[0].name, "__name__");
    assert_string_equal(out[0].value, "exits_total");
    /* Byte order after __name__: upper case sorts first. */
    assert_string_equal(out[1].name, "Zone");
    assert_string_equal(out[2].name, "port");
    assert_string_equal(out[3].name, "reason");
    assert_string_equal(out[4].name, "vm");
}

static void t_labels_rules(void **state)
{
    (void)state;
    rondo_label out[RONDO__RW_MAX_LABELS];
    size_t n;
    /* The extra label collides with the series' own. */
    rondo_label dup[] = {{"host", "b"}};
    labels_of("cpu{host=a}", dup, 1, out, &n, RONDO_ERR_INPUT);
    /* Reserved and invalid names. */
    rondo_label reserved[] = {{"__vm", "b"}};
    labels_of("cpu", reserved, 1, out, &n, RONDO_ERR_INPUT);
    rondo_label bad[] = {{"1vm", "b"}};
    labels_of("cpu", bad, 1, out, &n, RONDO_ERR_INPUT);
    rondo_label empty_name[] = {{"", "b"}};
    labels_of("cpu", empty_name, 1, out, &n, RONDO_ERR_INPUT);
    /* An empty value means an absent label: left out. */
    rondo_label empty_value[] = {{"vm", ""}};
    labels_of("cpu{dc=x}", empty_value, 1, out, &n, RONDO_OK);
    assert_int_equal(n, 2);
    assert_string_equal(out[1].name, "dc");
    assert_true(rondo__rw_metric_name_ok("a:b_c9"));
    assert_false(rondo__rw_label_name_ok("a:b"));
    assert_false(rondo__rw_metric_name_ok("9a"));
}

static void t_encode_round_trip(void **state)
{
    (void)state;
    struct rondo__rw_request r;
    rondo__rw_request_init(&r, 2, 8);
    Prometheus__Label l[3] = {PROMETHEUS__LABEL__INIT, PROMETHEUS__LABEL__INIT,
                              PROMETHEUS__LABEL__INIT};
    l[0].name = "__name__";
    l[0].value = "cpu";
    l[1].name = "host";
    l[1].value = "a";
    l[2].name = "__name__";
    l[2].value = "up";
    Prometheus__Label *a[] = {&l[0], &l[1]}, *b[] = {&l[2]};
    for (int pass = 0; pass < 2; pass++) {
        rondo__rw_request_reset(&r);
        rondo__rw_request_series(&r, a, 2);
        rondo__rw_request_sample(&r, 1795476831000, 1.5);
        rondo__rw_request_sample(&r, 1795476832000, -0.1);
        rondo__rw_request_series(&r, b, 1);
        rondo__rw_request_sample(&r, 1000, 1e300);
        rondo__rw_request_encode(&r);
        size_t raw_len;
        assert_int_equal(snappy_uncompressed_length(r.packed, r.packed_len, &raw_len), SNAPPY_OK);
        assert_int_equal(raw_len, r.raw_len);
        char *raw = malloc(raw_len);
        assert_int_equal(snappy_uncompress(r.packed, r.packed_len, raw, &raw_len), SNAPPY_OK);
        Prometheus__WriteRequest *w =
            prometheus__write_request__unpack(NULL, raw_len, (const uint8_t *)raw);
        free(raw);
        assert_non_null(w);
        assert_int_equal(w->n_timeseries, 2);
        assert_int_equal(w->timeseries[0]->n_labels, 2);
        assert_string_equal(w->timeseries[0]->labels[1]->value, "a");
        assert_int_equal(w->timeseries[0]->n_samples, 2);
        assert_int_equal(w->timeseries[0]->samples[0]->timestamp, 1795476831000);
        assert_true(w->timeseries[0]->samples[1]->value == -0.1);
        assert_string_equal(w->timeseries[1]->labels[0]->value, "up");
        assert_int_equal(w->timeseries[1]->n_samples, 1);
        assert_true(w->timeseries[1]->samples[0]->value == 1e300);
        prometheus__write_request__free_unpacked(w, NULL);
    }
    rondo__rw_request_free(&r);
}

static void t_cursor_round_trip(void **state)
{
    (void)state;
    struct rondo__rw_cursor c = {0};
    size_t i = rondo__rw_cursor_entry(&c, "b{x=1}");
    c.e[i].last = 100;
    c.e[i].total = 0.1 + 0.2; /* needs 17 digits to read back */
    i = rondo__rw_cursor_entry(&c, "a");
    c.e[i].last = 50;
    c.e[i].pend_from = 51;
    c.e[i].pend_to = 70;
    rondo__rw_cursor_entry(&c, "never_sent");
    char *text = rondo__rw_cursor_format(&c, "http://user:s3cret@h:9/api/v1/write");
    assert_null(strstr(text, "s3cret"));
    assert_null(strstr(text, "never_sent"));
    struct rondo__rw_cursor d = {0};
    rondo_error err;
    assert_int_equal(rondo__rw_cursor_parse(&d, text, "c.json", &err), RONDO_OK);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.e[0].key, "a");
    assert_int_equal(d.e[0].last, 50);
    assert_int_equal(d.e[0].pend_from, 51);
    assert_int_equal(d.e[0].pend_to, 70);
    assert_int_equal(d.e[1].last, 100);
    assert_memory_equal(&d.e[1].total, &c.e[1].total, sizeof(double));
    assert_int_equal(d.e[1].pend_from, RONDO__RW_NONE);
    free(text);
    rondo__rw_cursor_free(&c);
    rondo__rw_cursor_free(&d);
}

static void t_cursor_corrupt(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{\"format\":\"other\",\"version\":1,\"series\":{}}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":2,\"series\":{}}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":[]}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{\"a\":{\"last\":-1,"
        "\"total\":0}}}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{\"a\":{\"last\":1.5,"
        "\"total\":0}}}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{\"a\":{\"last\":1}}}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{\"a{\":{\"total\":0}}"
        "}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{\"a\":{\"last\":5,"
        "\"total\":0,\"pending\":[5,9]}}}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{\"a\":{\"total\":0,"
        "\"pending\":[9,5]}}}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{\"a\":{\"total\":0},"
        "\"a\":{\"total\":1}}}",
        "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{}} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rondo__rw_cursor c = {0};
        rondo_error err;
        if (rondo__rw_cursor_parse(&c, bad[i], "/s/cursor.json", &err) != RONDO_ERR_CORRUPT)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err.message, "/s/cursor.json"));
        assert_int_equal(c.n, 0);
    }
}

static void t_redact(void **state)
{
    (void)state;
    char buf[128];
    rondo__rw_redact_url("https://u:p@h:1/w?x=@", buf, sizeof buf);
    assert_string_equal(buf, "https://***@h:1/w?x=@");
    rondo__rw_redact_url("http://h/w", buf, sizeof buf);
    assert_string_equal(buf, "http://h/w");
}

static void t_options_check(void **state)
{
    (void)state;
    rondo_rw_options o;
    rondo_rw_options_init(&o);
    rondo_error err;
    o.url = "not a url";
    assert_int_equal(rondo_rw_options_check(&o, &err), RONDO_ERR_INPUT);
    o.url = "ftp://h/x";
    assert_int_equal(rondo_rw_options_check(&o, &err), RONDO_ERR_INPUT);
    o.url = "http://127.0.0.1:9/api/v1/write";
    assert_int_equal(rondo_rw_options_check(&o, &err), RONDO_OK);
    o.cursor = "../x";
    assert_int_equal(rondo_rw_options_check(&o, &err), RONDO_ERR_INPUT);
    o.cursor = NULL;
    o.bearer_token_file = "/nonexistent/token";
    assert_int_equal(rondo_rw_options_check(&o, &err), RONDO_ERR_INPUT);
    assert_non_null(strstr(err.message, "bearer token file: /nonexistent/token"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_labels_sorted_name_first),
        cmocka_unit_test(t_labels_rules),
        cmocka_unit_test(t_encode_round_trip),
        cmocka_unit_test(t_cursor_round_trip),
        cmocka_unit_test(t_cursor_corrupt),
        cmocka_unit_test(t_redact),
        cmocka_unit_test(t_options_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
