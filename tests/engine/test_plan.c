/* Plan validation: every kind of bad plan is rejected with RANKD_EINPUT and
 * a message naming the file, the node and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rankd/rankd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    /* Issue 9, row 12: data after the object, and a key given twice (in
     * params the last one won, in a node the first), name file and line. */
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1}}]}\n\n garbage",
     {"line 3: trailing data after the JSON value"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"params\": {\"count\": "
     "1}}]} {\"name\": \"q\"}",
     {"line 1: trailing data"}},
    {"{\"name\": \"p\",\n \"nodes\": [\n{\"id\": \"a\", \"op\": \"source\",\n \"params\": "
     "{\"count\": 1,\n \"count\": 5}}]}",
     {"line 5: duplicate key 'count'"}},
    {"{\"name\": \"p\", \"nodes\": [{\"id\": \"a\", \"op\": \"source\", \"id\": \"b\", "
     "\"params\": {\"count\": 1}}]}",
     {"line 1: duplicate key 'id'"}},
    {"{\"name\": \"p\", \"name\": \"q\", \"nodes\": []}", {"duplicate key 'name'"}},
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
    assert_non_null(strstr(err.msg, "/nonexistent/dir/p.json: cannot open"));
    assert_int_equal(rankd_plan_load_named(".", "../etc/passwd", &plan, &err), RANKD_EINPUT);
    assert_non_null(strstr(err.msg, "plan name '../etc/passwd'"));
    /* The library describes the problem; naming a flag is the program's. */
    assert_null(strstr(err.msg, "--"));
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

/* Builds a plan text: a source, then a chain of n concat nodes listed in
 * reverse (each node's input comes later in the file), then a top_k. With
 * cycle, the chain's first node takes the last one as a second input: a
 * cycle through all n. */
static char *chain_plan(uint32_t n, bool cycle)
{
    size_t cap = (size_t)n * 80 + 512, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len,
                            "{\"name\": \"chain\", \"nodes\": [\n"
                            "{\"id\": \"out\", \"op\": \"top_k\", \"inputs\": [\"c%u\"], "
                            "\"params\": {\"k\": 1}},\n",
                            n - 1);
    for (uint32_t i = n; i-- > 0;) {
        if (i > 0)
            len += (size_t)snprintf(text + len, cap - len,
                                    "{\"id\": \"c%u\", \"op\": \"concat\", \"inputs\": "
                                    "[\"c%u\"]},\n",
                                    i, i - 1);
        else if (cycle)
            len += (size_t)snprintf(text + len, cap - len,
                                    "{\"id\": \"c0\", \"op\": \"concat\", \"inputs\": "
                                    "[\"src\", \"c%u\"]},\n",
                                    n - 1);
        else
            len += (size_t)snprintf(text + len, cap - len,
                                    "{\"id\": \"c0\", \"op\": \"concat\", \"inputs\": "
                                    "[\"src\"]},\n");
    }
    snprintf(text + len, cap - len,
             "{\"id\": \"src\", \"op\": \"source\", \"params\": {\"count\": 1}}]}\n");
    return text;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Issue 9, row 10: loading is linear in the nodes. A quadratic loader took
 * 49 s for 80,000 nodes; a linear one takes a fraction of a second, so
 * 10 s separates them on any host this runs on (sanitizers included). */
static void test_large_chain_loads(void **state)
{
    char *text = chain_plan(80000, false);
    rankd_plan *plan = NULL;
    rankd_error err;
    double t = now_seconds();
    int rc = rankd_plan_parse(text, strlen(text), "chain.json", &plan, &err);
    t = now_seconds() - t;
    print_message("80,000-node chain loaded in %.3f s\n", t);
    if (rc != RANKD_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, RANKD_OK);
    assert_int_equal(plan->n_nodes, 80002);
    assert_string_equal(plan->nodes[plan->sink].id, "out");
    assert_int_equal(rankd_plan_find(plan, "c79999"), 1);
    assert_int_equal(rankd_plan_find(plan, "src"), 80001);
    assert_int_equal(rankd_plan_find(plan, "c80000"), -1);
    assert_true(t < 10.0);
    rankd_plan_free(plan);
    free(text);
}

/* Checks that every "x -> y" printed in a cycle message is an edge of the
 * plan (y takes x as an input). */
static void assert_printed_edges_exist(const rankd_plan *plan, const char *msg)
{
    const char *p = strstr(msg, "nodes: ");
    assert_non_null(p);
    p += strlen("nodes: ");
    char prev[64] = "";
    int edges = 0;
    while (*p != '\0') {
        char id[64];
        size_t n = strcspn(p, " ");
        assert_true(n < sizeof id);
        memcpy(id, p, n);
        id[n] = '\0';
        p += n;
        if (strcmp(id, "...") == 0 || id[0] == '(' || strcmp(id, "more)") == 0) {
            prev[0] = '\0';
        } else if (prev[0] != '\0') {
            int from = rankd_plan_find(plan, prev), to = rankd_plan_find(plan, id);
            bool found = false;
            assert_true(from >= 0 && to >= 0);
            for (uint32_t k = 0; k < plan->nodes[to].n_inputs; k++)
                found = found || plan->nodes[to].inputs[k] == (uint32_t)from;
            if (!found)
                fail_msg("printed edge %s -> %s is not in the plan", prev, id);
            edges++;
            snprintf(prev, sizeof prev, "%s", id);
        } else {
            snprintf(prev, sizeof prev, "%s", id);
        }
        if (strncmp(p, " -> ", 4) == 0)
            p += 4;
        else if (*p == ' ')
            p++;
    }
    assert_true(edges >= 3);
}

/* Issue 9, row 13: a long cycle is shortened to its first and last nodes
 * with the count between, and every arrow printed is an edge. */
static void test_cycle_messages(void **state)
{
    static const uint32_t lengths[] = {3, 8, 9, 1000};
    for (size_t i = 0; i < 4; i++) {
        char *text = chain_plan(lengths[i], true);
        rankd_plan *plan = NULL;
        rankd_error err;
        assert_int_equal(rankd_plan_parse(text, strlen(text), "cycle.json", &plan, &err),
                         RANKD_EINPUT);
        print_message("%s\n", err.msg);
        char want[64];
        snprintf(want, sizeof want, "cycle of %u nodes: ", lengths[i]);
        assert_non_null(strstr(err.msg, want));
        if (lengths[i] > 8) {
            snprintf(want, sizeof want, "... (%u more) ...", lengths[i] - 6);
            assert_non_null(strstr(err.msg, want));
        } else {
            assert_null(strstr(err.msg, "more"));
        }
        /* The plan without the cycle, to look the printed edges up. */
        char *acyclic = chain_plan(lengths[i], false);
        rankd_plan *ok;
        assert_int_equal(rankd_plan_parse(acyclic, strlen(acyclic), "ok.json", &ok, &err),
                         RANKD_OK);
        /* c0 -> ... is the only edge the acyclic plan lacks: add it. */
        rankd_node *c0 = &ok->nodes[rankd_plan_find(ok, "c0")];
        c0->inputs = realloc(c0->inputs, 2 * sizeof *c0->inputs);
        char last[16];
        snprintf(last, sizeof last, "c%u", lengths[i] - 1);
        c0->inputs[c0->n_inputs++] = (uint32_t)rankd_plan_find(ok, last);
        char msg[sizeof err.msg];
        rankd_error again;
        rankd_plan_parse(text, strlen(text), "cycle.json", &plan, &again);
        snprintf(msg, sizeof msg, "%s", again.msg);
        assert_printed_edges_exist(ok, msg);
        rankd_plan_free(ok);
        free(acyclic);
        free(text);
    }
}

/* Many output nodes: the message names the first four whole and counts
 * the rest, never cutting a name. */
static void test_many_outputs_message(void **state)
{
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "{\"name\": \"p\", \"nodes\": [");
    for (int i = 0; i < 40; i++)
        len +=
            (size_t)snprintf(text + len, sizeof text - len,
                             "%s{\"id\": \"a_rather_long_output_node_%02d\", \"op\": \"source\", "
                             "\"params\": {\"count\": 1}}",
                             i ? ", " : "", i);
    snprintf(text + len, sizeof text - len, "]}");
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_parse(text, strlen(text), "p.json", &plan, &err), RANKD_EINPUT);
    print_message("%s\n", err.msg);
    assert_non_null(strstr(err.msg, "40 output nodes (a_rather_long_output_node_00, "
                                    "a_rather_long_output_node_01, a_rather_long_output_node_02, "
                                    "a_rather_long_output_node_03 and 36 more)"));
}

static void test_request_parse(void **state)
{
    uint64_t uid = 0;
    rankd_error err;
    const char *ok = "{\"user_id\": 42}";
    assert_int_equal(rankd_request_parse(ok, strlen(ok), &uid, &err), RANKD_OK);
    assert_int_equal(uid, 42);
    static const char *const bad[] = {"{\"user_id\": ",
                                      "[1]",
                                      "{}",
                                      "{\"user_id\": \"7\"}",
                                      "{\"user_id\": -1}",
                                      "{\"user_id\": 1.5}",
                                      "{\"user_id\": 1}{\"user_id\": 2}",
                                      "{\"user_id\": 1} x",
                                      "{\"user_id\": 1, \"user_id\": 2}"};
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
        cmocka_unit_test(test_large_chain_loads),
        cmocka_unit_test(test_cycle_messages),
        cmocka_unit_test(test_many_outputs_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
