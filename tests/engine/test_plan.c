/* Plan validation: every kind of bad plan is rejected with RANKD_EINPUT and
 * a message naming the file, the node and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rankd/rankd.h"

#include <string.h>

typedef struct bad_case {
    const char *json;
    const char *expect[3];
} bad_case;

static const bad_case bad_cases[] = {
    {"{\"name\": \"p\", \"nodes\": [", {"invalid JSON near byte"}},
    {"[]", {"must be a JSON object"}},
    {"{\"nodes\": []}", {"field 'name'"}},
    {"{\"name\": \"p\", \"nodes\": []}", {"field 'nodes'", "non-empty array"}},
    {"{\"name\": \"p\", \"extra\": 1, \"nodes\": [{\"id\": \"a\", \"op\": \"source\", "
     "\"params\": {\"count\": 1}}]}",
     {"field 'extra'", "unknown field"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"blend\"}]}",
     {"node 'a'", "field 'op'", "unknown op 'blend'"}},
    {"{\"name\": \"p\", \"nodes\": [{\"op\": \"source\"}]}", {"nodes[0]", "field 'id'"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1}}, {\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": 1}}]}",
     {"node 'a'", "field 'id'", "duplicate id"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"t\", \"op\": \"top_k\", \"inputs\": [\"ghost\"], "
     "\"params\": {\"k\": 1}}]}",
     {"node 't'", "field 'inputs[0]'", "no node with id 'ghost'"}},
    {"{\"name\": \"p\", \"nodes\": ["
     "{\"id\": \"a\", \"op\": \"concat\", \"inputs\": [\"c\"]},"
     "{\"id\": \"b\", \"op\": \"concat\", \"inputs\": [\"a\"]},"
     "{\"id\": \"c\", \"op\": \"concat\", \"inputs\": [\"b\"]},"
     "{\"id\": \"out\", \"op\": \"top_k\", \"inputs\": [\"c\"], \"params\": {\"k\": 1}}]}",
     {"cycle", "field 'inputs'", "-> "}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "\"ten\"}}]}",
     {"node 'a'", "field 'params.count'", "must be an integer, got a string"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1.5}}]}",
     {"field 'params.count'", "must be an integer"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "-1}}]}",
     {"field 'params.count'", "out of range"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\"}]}",
     {"field 'params.count'", "required"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1, \"colour\": 2}}]}",
     {"field 'params.colour'", "unknown param"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1}}, {\"id\": \"r\", \"op\": \"regex_filter\", \"inputs\": [\"a\"], \"params\": "
     "{\"pattern\": \"(unclosed\"}}]}",
     {"node 'r'", "field 'params.pattern'", "at offset"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1}}, {\"id\": \"b\", \"op\": \"source\", \"params\": {\"count\": 1}}]}",
     {"2 output nodes", "a, b"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1}}, {\"id\": \"t\", \"op\": \"top_k\", \"inputs\": [\"a\", \"a\"], \"params\": {\"k\": "
     "1}}]}",
     {"node 't'", "takes 1 input, got 2"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1}}, {\"id\": \"t\", \"op\": \"top_k\", \"inputs\": \"a\", \"params\": {\"k\": 1}}]}",
     {"node 't'", "field 'inputs'", "must be an array"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": [1]}]}",
     {"field 'params'", "must be an object"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"s\", \"op\": \"sleep\", \"params\": {\"sleep_ms\": "
     "true}}]}",
     {"field 'params.sleep_ms'", "must be a number, got a boolean"}},
};

static void test_bad_plans_are_rejected(void **state)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        rankd_plan *plan = (rankd_plan *)1;
        rankd_error err = {{0}};
        const char *json = bad_cases[i].json;
        int rc = rankd_plan_parse(json, strlen(json), "bad.json", &plan, &err);
        print_message("case %zu: %s\n", i, err.msg);
        assert_int_equal(rc, RANKD_EINPUT);
        assert_null(plan);
        assert_non_null(strstr(err.msg, "bad.json: "));
        for (int k = 0; k < 3 && bad_cases[i].expect[k] != NULL; k++)
            assert_non_null(strstr(err.msg, bad_cases[i].expect[k]));
    }
}

static void test_unreadable_file_names_it(void **state)
{
    rankd_plan *plan = NULL;
    rankd_error err;
    assert_int_equal(rankd_plan_load("/nonexistent/dir/p.json", &plan, &err), RANKD_EINPUT);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/p.json: cannot read"));
    assert_int_equal(rankd_plan_load_named(".", "../etc/passwd", &plan, &err), RANKD_EINPUT);
    assert_non_null(strstr(err.msg, "--plan_name"));
}

static void test_shipped_plans_load(void **state)
{
    static const char *const names[] = {"concat_plan", "regex_plan", "parallel_sleep_plan",
                                        "reels_plan_a", "overhead_plan"};
    for (size_t i = 0; i < 5; i++) {
        rankd_plan *plan = NULL;
        rankd_error err;
        int rc = rankd_plan_load_named(RANKD_TEST_PLAN_DIR, names[i], &plan, &err);
        if (rc != RANKD_OK)
            print_error("%s\n", err.msg);
        assert_int_equal(rc, RANKD_OK);
        assert_string_equal(plan->name, names[i]);
        rankd_plan_free(plan);
    }
}

static void test_layout_and_order(void **state)
{
    rankd_plan *plan = NULL;
    rankd_error err;
    assert_int_equal(rankd_plan_load_named(RANKD_TEST_PLAN_DIR, "parallel_sleep_plan", &plan, &err),
                     RANKD_OK);
    assert_int_equal(plan->n_nodes, 8);
    assert_int_equal(plan->n_roots, 1);
    assert_string_equal(plan->nodes[plan->sink].id, "top");
    assert_true(plan->has_io);
    assert_false(plan->needs_redis);
    /* Four 10 ms sleeps in parallel: the critical path is one of them. */
    assert_int_equal(plan->critical_sleep_ns, 10000000);
    /* Every node comes after all of its inputs in the topological order. */
    uint32_t pos[8];
    for (uint32_t t = 0; t < plan->n_nodes; t++)
        pos[plan->topo[t]] = t;
    for (uint32_t i = 0; i < plan->n_nodes; i++) {
        for (uint32_t k = 0; k < plan->nodes[i].n_inputs; k++)
            assert_true(pos[plan->nodes[i].inputs[k]] < pos[i]);
    }
    /* concat of four 16-candidate sleeps holds 64; top_k keeps 10. */
    assert_int_equal(plan->nodes[rankd_plan_find(plan, "join")].capacity, 64);
    assert_int_equal(plan->nodes[plan->sink].capacity, 10);
    rankd_plan_free(plan);
}

static void test_request_parse(void **state)
{
    uint64_t uid = 0;
    rankd_error err;
    const char *ok = "{\"user_id\": 42}";
    assert_int_equal(rankd_request_parse(ok, strlen(ok), &uid, &err), RANKD_OK);
    assert_int_equal(uid, 42);
    static const char *const bad[] = {
        "{\"user_id\": ",    "[1]", "{}", "{\"user_id\": \"7\"}", "{\"user_id\": -1}",
        "{\"user_id\": 1.5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rankd_request_parse(bad[i], strlen(bad[i]), &uid, &err), RANKD_EINPUT);
        assert_non_null(strstr(err.msg, "request: "));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_plans_are_rejected),
        cmocka_unit_test(test_unreadable_file_names_it),
        cmocka_unit_test(test_shipped_plans_load),
        cmocka_unit_test(test_layout_and_order),
        cmocka_unit_test(test_request_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
