/* Bench mode's accounting: measured requests are counted exactly, warm-up
 * is excluded, failures are counted and never dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rankd/bench.h"
#include "rankd/options.h"

#include <string.h>

static rankd_plan *load(const char *name)
{
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_load_named(RANKD_TEST_PLAN_DIR, name, &plan, &err), RANKD_OK);
    return plan;
}

static void test_closed_loop_counts(void **state)
{
    rankd_plan *plan = load("concat_plan");
    for (int async = 0; async <= 1; async++) {
        for (uint32_t c = 1; c <= 8; c *= 2) {
            rankd_bench_config cfg = {.plan = plan,
                                      .async = async,
                                      .cpu_threads = 2,
                                      .io_threads = 1,
                                      .concurrency = c,
                                      .requests = 300,
                                      .warmup_iters = 50,
                                      .base_user_id = 1};
            rankd_bench_result res;
            rankd_error err;
            assert_int_equal(rankd_bench_run(&cfg, &res, &err), RANKD_OK);
            assert_int_equal(res.requests, 300);
            assert_int_equal(res.errors, 0);
            assert_true(res.qps > 0);
            assert_true(res.p50_us > 0 && res.p50_us <= res.p90_us);
            assert_true(res.p90_us <= res.p99_us && res.p99_us <= res.p999_us);
            assert_true(res.p999_us <= res.max_us + 0.001);
            assert_true(res.ru_maxrss_kb > 0);
            assert_true(res.ns_per_node > 0);
        }
    }
    rankd_plan_free(plan);
}

/* The measured window follows warm-up: with a sleep plan every measured
 * latency is at least the sleep, and the count excludes warm-up. */
static void test_duration_and_sleep_latency(void **state)
{
    rankd_plan *plan = load("parallel_sleep_plan");
    rankd_bench_config cfg = {.plan = plan,
                              .async = true,
                              .cpu_threads = 1,
                              .io_threads = 1,
                              .concurrency = 8,
                              .duration_sec = 0.3,
                              .warmup_iters = 16,
                              .base_user_id = 1};
    rankd_bench_result res;
    rankd_error err;
    assert_int_equal(rankd_bench_run(&cfg, &res, &err), RANKD_OK);
    assert_true(res.elapsed_sec >= 0.3);
    assert_true(res.requests >= 8);
    assert_true(res.min_us >= 10000.0);
    assert_int_equal(res.errors, 0);
    rankd_plan_free(plan);
}

static void test_open_loop(void **state)
{
    rankd_plan *plan = load("concat_plan");
    for (int async = 0; async <= 1; async++) {
        rankd_bench_config cfg = {.plan = plan,
                                  .async = async,
                                  .cpu_threads = 1,
                                  .io_threads = 1,
                                  .concurrency = 4,
                                  .rate = 2000,
                                  .requests = 200,
                                  .warmup_iters = 10,
                                  .base_user_id = 1};
        rankd_bench_result res;
        rankd_error err;
        assert_int_equal(rankd_bench_run(&cfg, &res, &err), RANKD_OK);
        assert_int_equal(res.requests, 200);
        /* 200 requests at 2000/s take at least 0.1 s of schedule. */
        assert_true(res.elapsed_sec >= 0.099);
    }
    rankd_plan_free(plan);
}

static void test_errors_are_counted(void **state)
{
    rankd_plan *plan = load("reels_plan_a");
    for (int async = 0; async <= 1; async++) {
        rankd_bench_config cfg = {.plan = plan,
                                  .async = async,
                                  .cpu_threads = 1,
                                  .io_threads = 1,
                                  .concurrency = 2,
                                  .requests = 20,
                                  .redis_addr = "127.0.0.1:1",
                                  .base_user_id = 1};
        rankd_bench_result res;
        rankd_error err;
        assert_int_equal(rankd_bench_run(&cfg, &res, &err), RANKD_OK);
        assert_int_equal(res.requests, 20);
        assert_int_equal(res.errors, 20);
        assert_true(res.qps == 0);
        assert_non_null(strstr(res.first_error, "node 'features': redis"));
    }
    rankd_plan_free(plan);
}

static void test_bad_config(void **state)
{
    rankd_plan *plan = load("concat_plan");
    rankd_bench_config cfg = {
        .plan = plan, .async = true, .cpu_threads = 1, .io_threads = 1, .concurrency = 1};
    rankd_bench_result res;
    rankd_error err;
    assert_int_equal(rankd_bench_run(&cfg, &res, &err), RANKD_EINPUT);
    assert_non_null(strstr(err.msg, "--bench"));
    rankd_plan_free(plan);
}

static void test_options(void **state)
{
    char *ok[] = {
        "rankd", "--plan_name=regex_plan", "--bench", "10",     "--async=0", "--concurrency",
        "16",    "--cpu_threads=3",        "--json",  "--rate", "500.5"};
    rankd_options o;
    rankd_error err;
    assert_int_equal(rankd_options_parse(11, ok, &o, &err), RANKD_OK);
    assert_string_equal(o.plan_name, "regex_plan");
    assert_int_equal(o.bench, 10);
    assert_false(o.async);
    assert_int_equal(o.concurrency, 16);
    assert_int_equal(o.cpu_threads, 3);
    assert_true(o.json);
    assert_true(o.rate == 500.5);

    char *open_default[] = {"rankd", "--rate=100"};
    assert_int_equal(rankd_options_parse(2, open_default, &o, &err), RANKD_OK);
    assert_int_equal(o.concurrency, 1024);

    static const char *const bad[][2] = {
        {"--bench", "ten"},    {"--async", "2"},          {"--concurrency", "0"},
        {"--rate", "-5"},      {"--duration_sec", "inf"}, {"--cpu_threads", "1x"},
        {"--frobnicate", "1"}, {"--warmup_iters", "-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"rankd", (char *)bad[i][0], (char *)bad[i][1]};
        assert_int_equal(rankd_options_parse(3, argv, &o, &err), RANKD_EINPUT);
        assert_non_null(strstr(err.msg, bad[i][0]));
    }
    char *missing[] = {"rankd", "--plan_name"};
    assert_int_equal(rankd_options_parse(2, missing, &o, &err), RANKD_EINPUT);
    assert_non_null(strstr(err.msg, "missing value"));
    char *valued_switch[] = {"rankd", "--json=1"};
    assert_int_equal(rankd_options_parse(2, valued_switch, &o, &err), RANKD_EINPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_loop_counts),
        cmocka_unit_test(test_duration_and_sleep_latency),
        cmocka_unit_test(test_open_loop),
        cmocka_unit_test(test_errors_are_counted),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
