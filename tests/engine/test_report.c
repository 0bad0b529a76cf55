/* The bench result's JSON, the contract between rankd and perfmatrix:
 * every field documented in engine/README.md (between the bench-fields
 * markers) is present with its documented type, nothing undocumented is,
 * and the counts mean what the README says ("requests" counts every
 * completed request, failed ones included; "errors" the failed ones). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rankd/bench.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct field {
    char name[64];
    char type[32];
} field;

/* Reads the table rows "| `name` | type | meaning |" between the markers. */
static size_t documented_fields(field *out, size_t max)
{
    FILE *f = fopen(RANKD_TEST_README, "r");
    char line[1024];
    size_t n = 0;
    bool inside = false;
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "<!-- bench-fields -->") != NULL) {
            inside = true;
        } else if (strstr(line, "<!-- /bench-fields -->") != NULL) {
            inside = false;
        } else if (inside && strncmp(line, "| `", 3) == 0) {
            assert_true(n < max);
            assert_int_equal(sscanf(line, "| `%63[^`]` | %31[^ |]", out[n].name, out[n].type), 2);
            n++;
        }
    }
    fclose(f);
    return n;
}

static bool has_type(const cJSON *v, const char *type)
{
    if (strcmp(type, "integer") == 0)
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    if (strcmp(type, "number") == 0)
        return cJSON_IsNumber(v);
    if (strcmp(type, "number/null") == 0)
        return cJSON_IsNumber(v) || cJSON_IsNull(v);
    if (strcmp(type, "string") == 0)
        return cJSON_IsString(v);
    if (strcmp(type, "boolean") == 0)
        return cJSON_IsBool(v);
    fail_msg("README: unknown type '%s'", type);
    return false;
}

static rankd_plan *load(const char *name)
{
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_load_named(RANKD_TEST_PLAN_DIR, name, &plan, &err), RANKD_OK);
    return plan;
}

/* A result with every optional field present: failed requests and a
 * failed self-check. */
static rankd_bench_result sample_result(void)
{
    rankd_bench_result r = {.requests = 50,
                            .errors = 10,
                            .elapsed_sec = 2.0,
                            .qps = 20.0,
                            .achieved_rate = 25.0,
                            .p50_us = 100,
                            .p90_us = 200,
                            .p99_us = 300,
                            .p999_us = 400,
                            .max_us = 500,
                            .min_us = 50,
                            .mean_us = 120,
                            .ru_maxrss_kb = 4096,
                            .rss_reset = true,
                            .ns_per_node = 1000,
                            .wakeups_per_request = 0.5,
                            .in_flight_at_end = 2,
                            .oldest_in_flight_us = 1.5e6,
                            .little_in_flight = 0.003,
                            .valid = false};
    snprintf(r.invalid_reason, sizeof r.invalid_reason, "Little's law: off");
    snprintf(r.first_error, sizeof r.first_error, "node 'x': redis: down");
    return r;
}

static void test_fields_match_readme(void **state)
{
    field docs[64];
    size_t n = documented_fields(docs, 64);
    assert_true(n >= 30);
    rankd_plan *plan = load("concat_plan");
    rankd_bench_config cfg = {.plan = plan,
                              .async = true,
                              .cpu_threads = 2,
                              .io_threads = 1,
                              .concurrency = 4,
                              .warmup_iters = 7,
                              .duration_sec = 2};
    rankd_bench_result r = sample_result();
    cJSON *j = rankd_bench_json(&cfg, &r, "abc123");
    assert_non_null(j);
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, docs[i].name);
        if (v == NULL)
            fail_msg("documented field '%s' is missing", docs[i].name);
        if (!has_type(v, docs[i].type))
            fail_msg("field '%s' is not %s", docs[i].name, docs[i].type);
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, j)
    {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(docs[i].name, v->string) == 0;
        if (!found)
            fail_msg("field '%s' is not documented in engine/README.md", v->string);
    }
    cJSON_Delete(j);
    rankd_plan_free(plan);
}

static double num(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const char *str(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* Each field carries the figure it is documented to carry. */
static void test_field_meanings(void **state)
{
    rankd_plan *plan = load("concat_plan");
    rankd_bench_config cfg = {.plan = plan,
                              .async = false,
                              .cpu_threads = 3,
                              .io_threads = 2,
                              .concurrency = 4,
                              .warmup_iters = 7};
    rankd_bench_result r = sample_result();
    cJSON *j = rankd_bench_json(&cfg, &r, "abc123");
    assert_string_equal(str(j, "plan"), "concat_plan");
    assert_string_equal(str(j, "mode"), "closed");
    assert_string_equal(str(j, "git_sha"), "abc123");
    assert_true(num(j, "async") == 0);
    assert_true(num(j, "cpu_threads") == 3 && num(j, "io_threads") == 2);
    assert_true(num(j, "concurrency") == 4 && num(j, "warmup_iters") == 7);
    assert_true(num(j, "rate_target") == 0);
    assert_true(num(j, "requests") == 50 && num(j, "errors") == 10);
    assert_true(num(j, "qps") == 20 && num(j, "achieved_rate") == 25);
    assert_true(num(j, "duration_sec") == 2);
    assert_true(num(j, "p50_us") == 100 && num(j, "p99_us") == 300 && num(j, "max_us") == 500);
    assert_true(num(j, "mean_us") == 120 && num(j, "ru_maxrss_kb") == 4096);
    assert_true(num(j, "nodes") == plan->n_nodes);
    assert_true(num(j, "in_flight_at_end") == 2 && num(j, "oldest_in_flight_us") == 1.5e6);
    assert_true(num(j, "little_in_flight") == 0.003);
    assert_string_equal(str(j, "status"), "invalid");
    assert_string_equal(str(j, "invalid_reason"), "Little's law: off");
    assert_string_equal(str(j, "first_error"), "node 'x': redis: down");
    cJSON_Delete(j);

    /* A valid open-loop point: no Little's law (null), no reason, no error. */
    cfg.rate = 500;
    r.valid = true;
    r.errors = 0;
    r.invalid_reason[0] = '\0';
    j = rankd_bench_json(&cfg, &r, "abc123");
    assert_string_equal(str(j, "mode"), "open");
    assert_true(num(j, "rate_target") == 500);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "little_in_flight")));
    assert_string_equal(str(j, "status"), "ok");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "invalid_reason"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "first_error"));
    cJSON_Delete(j);
    rankd_plan_free(plan);
}

/* From a real run: when every request fails, "requests" still counts them
 * all and "errors" says all of them failed (50 of 50, not 50 of 100). */
static void test_failed_requests_are_in_requests(void **state)
{
    rankd_plan *plan = load("reels_plan_a");
    rankd_bench_config cfg = {.plan = plan,
                              .async = true,
                              .cpu_threads = 1,
                              .io_threads = 1,
                              .concurrency = 2,
                              .requests = 20,
                              .redis_addr = "127.0.0.1:1",
                              .base_user_id = 1};
    rankd_bench_result r;
    rankd_error err;
    assert_int_equal(rankd_bench_run(&cfg, &r, &err), RANKD_OK);
    cJSON *j = rankd_bench_json(&cfg, &r, "abc123");
    assert_true(num(j, "requests") == 20);
    assert_true(num(j, "errors") == 20);
    assert_true(num(j, "qps") == 0);
    assert_non_null(strstr(str(j, "first_error"), "node 'features': redis"));
    cJSON_Delete(j);
    rankd_plan_free(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_match_readme),
        cmocka_unit_test(test_field_meanings),
        cmocka_unit_test(test_failed_requests_are_in_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
