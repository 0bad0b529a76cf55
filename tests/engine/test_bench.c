/* Bench mode's accounting: measured requests are counted exactly, warm-up
 * is excluded, failures are counted and never dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rankd/bench.h"
#include "rankd/options.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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
        /* 200 requests at 2000/s take 0.1 s of schedule; the window runs
         * from the warm-up's last completion to the last measured one, so
         * it may be shorter by the jitter of the two latencies. */
        assert_true(res.elapsed_sec >= 0.095);
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

static rankd_bench_result run_bench(const rankd_bench_config *cfg)
{
    rankd_bench_result res;
    rankd_error err;
    int rc = rankd_bench_run(cfg, &res, &err);
    if (rc != RANKD_OK)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, RANKD_OK);
    print_message("%s c%u: %llu requests, qps %.0f, mean %.1f us, p99 %.1f us, max %.1f us, "
                  "Little %.2f, %s %s\n",
                  cfg->async ? "async" : "sync", cfg->concurrency, (unsigned long long)res.requests,
                  res.qps, res.mean_us, res.p99_us, res.max_us, res.little_in_flight,
                  res.valid ? "ok" : "invalid", res.invalid_reason);
    return res;
}

/* Issue 7: at concurrency 16 on two CPU threads every slot is served in
 * turn. Before the fix two slots ran forever and fourteen waited the whole
 * run inside the warm-up: Little's law gave 2 in flight, not 16, and the
 * longest latency was the run itself. */
static void test_closed_loop_is_fair(void **state)
{
    rankd_plan *plan = load("concat_plan");
    rankd_bench_config cfg = {.plan = plan,
                              .async = true,
                              .cpu_threads = 2,
                              .io_threads = 1,
                              .concurrency = 16,
                              .duration_sec = 0.5,
                              .warmup_iters = 100,
                              .base_user_id = 1};
    rankd_bench_result res = run_bench(&cfg);
    assert_true(res.valid);
    assert_true(fabs(res.little_in_flight - 16) <= 1.6);
    assert_true(fabs(res.qps * res.mean_us / 1e6 - 16) <= 1.6);
    /* Bounded by a multiple of the p99 or, on a host busy enough to stall
     * a worker for long, by a quarter of the run: a starved slot waits for
     * all of it. */
    assert_true(res.max_us <= 50 * res.p99_us || res.max_us <= res.elapsed_sec * 1e6 / 4);
    assert_int_equal(res.in_flight_at_end, 0);
    rankd_plan_free(plan);
}

/* Sync at high concurrency: a caller thread's time between two requests
 * (descheduled among 128 threads on a few cores) belongs to its next
 * request, so Little's law holds; before, it was counted nowhere (0.44 to
 * 0.88 of the concurrency in the issue, 0.66 to 0.75 at 128 on the day of
 * the fix). On a loaded host a thread may wait a large part of a second
 * for a core, which makes one short run noisy: the best of three runs must
 * hold within 10%, which the old accounting never did at 128. */
static void test_sync_high_concurrency_little(void **state)
{
    rankd_plan *plan = load("concat_plan");
    rankd_bench_config cfg = {.plan = plan,
                              .async = false,
                              .cpu_threads = 1,
                              .io_threads = 1,
                              .concurrency = 128,
                              .duration_sec = 1.0,
                              .warmup_iters = 100,
                              .base_user_id = 1};
    double best = 1e9;
    for (int run = 0; run < 3 && best > 12.8; run++) {
        rankd_bench_result res = run_bench(&cfg);
        double off = fabs(res.little_in_flight - 128);
        best = off < best ? off : best;
        assert_true(res.valid == (off <= 12.8));
    }
    assert_true(best <= 12.8);
    rankd_plan_free(plan);
}

/* A loopback port that accepts connections (the kernel's backlog) and
 * never answers: a Redis server that hangs. */
static int silent_server(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fd, 64), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

/* Requests still running well past the deadline are censored with their
 * elapsed time, never dropped; their late completions are not counted. */
static void test_in_flight_at_end_is_censored(void **state)
{
    static const char plan_json[] =
        "{\"name\": \"hang\", \"nodes\": ["
        "{\"id\": \"src\", \"op\": \"source\", \"params\": {\"count\": 4}},"
        "{\"id\": \"fetch\", \"op\": \"redis_fetch\", \"inputs\": [\"src\"],"
        " \"params\": {\"timeout_ms\": 2500}},"
        "{\"id\": \"top\", \"op\": \"top_k\", \"inputs\": [\"fetch\"], \"params\": {\"k\": 2}}]}";
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_parse(plan_json, strlen(plan_json), "hang.json", &plan, &err),
                     RANKD_OK);
    int port;
    int fd = silent_server(&port);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    for (int async = 0; async <= 1; async++) {
        rankd_bench_config cfg = {.plan = plan,
                                  .async = async,
                                  .cpu_threads = 1,
                                  .io_threads = 1,
                                  .concurrency = 3,
                                  .duration_sec = 0.2,
                                  .redis_addr = addr,
                                  .base_user_id = 1};
        rankd_bench_result res = run_bench(&cfg);
        assert_int_equal(res.in_flight_at_end, 3);
        assert_int_equal(res.requests, 0);
        /* Censored after the deadline (0.2 s) and the drain (1 s). */
        assert_true(res.oldest_in_flight_us >= 1.1e6);
        assert_true(res.max_us >= 1.1e6);
        assert_false(res.valid);
    }
    close(fd);
    rankd_plan_free(plan);
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Issue 9: the open loop ends at the wall-clock deadline whatever the rate,
 * and a rate it cannot reach is reported as such. Before, a rate of 1e8
 * never ended, and 1000/s of 10 ms requests one at a time ran ten times
 * its duration. */
static void test_open_loop_ends_at_deadline(void **state)
{
    static const struct {
        const char *plan;
        double rate;
        uint32_t concurrency;
    } cases[] = {{"concat_plan", 1e8, 1024}, {"parallel_sleep_plan", 1000, 1}};
    for (size_t i = 0; i < 2; i++) {
        rankd_plan *plan = load(cases[i].plan);
        for (int async = 0; async <= 1; async++) {
            rankd_bench_config cfg = {.plan = plan,
                                      .async = async,
                                      .cpu_threads = 1,
                                      .io_threads = 1,
                                      .concurrency = async ? cases[i].concurrency : 4,
                                      .rate = cases[i].rate,
                                      .duration_sec = 0.3,
                                      .base_user_id = 1};
            double t = wall_seconds();
            rankd_bench_result res = run_bench(&cfg);
            t = wall_seconds() - t;
            assert_true(t < 2.0);
            assert_true(fabs(res.elapsed_sec - 0.3) < 0.01);
            assert_false(res.valid);
            assert_non_null(strstr(res.invalid_reason, "could not keep up"));
            assert_true(res.achieved_rate < 0.95 * cfg.rate);
            assert_true(isnan(res.little_in_flight));
        }
        rankd_plan_free(plan);
    }
}

/* A regex match error fails the request, and the bench counts it. */
static void test_regex_errors_are_counted(void **state)
{
    static const char json[] =
        "{\"name\": \"bomb\", \"nodes\": ["
        "{\"id\": \"src\", \"op\": \"source\", \"params\": {\"count\": 1, "
        "\"id_base\": 1000000000000000, \"id_space\": 1000000000}},"
        "{\"id\": \"re\", \"op\": \"regex_filter\", \"inputs\": [\"src\"], \"params\": "
        "{\"pattern\": \"^(?:((\\\\w|\\\\d|-)+)+\\\\W|\\\\w)\"}},"
        "{\"id\": \"top\", \"op\": \"top_k\", \"inputs\": [\"re\"], \"params\": {\"k\": 1}}]}";
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_parse(json, strlen(json), "bomb.json", &plan, &err), RANKD_OK);
    rankd_bench_config cfg = {.plan = plan,
                              .async = true,
                              .cpu_threads = 1,
                              .io_threads = 1,
                              .concurrency = 1,
                              .requests = 4,
                              .base_user_id = 1};
    rankd_bench_result res = run_bench(&cfg);
    assert_int_equal(res.requests, 4);
    assert_int_equal(res.errors, 4);
    assert_non_null(strstr(res.first_error, "match limit exceeded"));
    rankd_plan_free(plan);
}

/* Little's law from the bench's own sum of latencies equals QPS x mean
 * latency when nothing failed, run after run in one process (a thread's
 * sum was once left uninitialised, so a run inherited an earlier one's). */
static void test_little_is_qps_times_mean(void **state)
{
    rankd_plan *plan = load("concat_plan");
    static const struct {
        bool async;
        uint32_t concurrency;
    } runs[] = {{true, 2}, {false, 1}, {false, 2}, {true, 2}, {true, 4}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        rankd_bench_config cfg = {.plan = plan,
                                  .async = runs[i].async,
                                  .cpu_threads = 2,
                                  .io_threads = 1,
                                  .concurrency = runs[i].concurrency,
                                  .requests = 3000,
                                  .warmup_iters = 100,
                                  .base_user_id = 1};
        rankd_bench_result res = run_bench(&cfg);
        double product = res.qps * res.mean_us / 1e6;
        assert_int_equal(res.errors, 0);
        assert_true(fabs(res.little_in_flight - product) <= 1e-6 * product);
    }
    rankd_plan_free(plan);
}

/* Issue 13: the wake-ups a run caused, per request. The sync scheduler wakes
 * no thread. In a slow open loop every request comes from the bench's
 * dispatching thread to idle CPU workers, which sleep between requests:
 * almost each one is woken. The figure is per request, so it stays near
 * 1, never the total. */
static void test_wakeups_per_request(void **state)
{
    rankd_plan *plan = load("concat_plan");
    rankd_bench_config cfg = {.plan = plan,
                              .async = false,
                              .cpu_threads = 2,
                              .io_threads = 1,
                              .concurrency = 4,
                              .rate = 200,
                              .duration_sec = 0.5,
                              .warmup_iters = 5,
                              .base_user_id = 1};
    rankd_bench_result res = run_bench(&cfg);
    assert_true(res.requests > 10);
    assert_true(res.wakeups_per_request == 0);
    cfg.async = true;
    res = run_bench(&cfg);
    assert_true(res.requests > 10);
    print_message("async, 200 req/s: %.2f wake-ups per request\n", res.wakeups_per_request);
    assert_true(res.wakeups_per_request >= 0.5);
    assert_true(res.wakeups_per_request <= 4);
    rankd_plan_free(plan);
}

/* Issue 13: at concurrency 1 with two CPU threads, the fan-out of
 * overhead_plan (three filters of a few nanoseconds each) used to wake the
 * second worker on every request, which cost more than the nodes. The
 * scheduler now measures its nodes and keeps work this cheap on the thread
 * that made it ready: almost no request wakes anyone. */
static void test_cheap_fan_out_wakes_nobody(void **state)
{
    rankd_plan *plan = load("overhead_plan");
    rankd_bench_config cfg = {.plan = plan,
                              .async = true,
                              .cpu_threads = 2,
                              .io_threads = 1,
                              .concurrency = 1,
                              .requests = 20000,
                              .warmup_iters = 1000,
                              .base_user_id = 1};
    rankd_bench_result res = run_bench(&cfg);
    print_message("overhead_plan, 2 CPU threads, c1: %.4f wake-ups per request\n",
                  res.wakeups_per_request);
    assert_true(res.wakeups_per_request < 0.2);
    rankd_plan_free(plan);
}

/* A node that fans out to four sleeps hands them to the I/O loop together:
 * only the first finds the loop's inbox empty and wakes it (it used to be
 * one eventfd wake per sleep). A request of this slow open loop then
 * costs about two wake-ups: the CPU worker for its source, the loop for
 * its sleeps; the loop runs what follows them itself. */
static void test_fan_out_to_a_loop_wakes_it_once(void **state)
{
    rankd_plan *plan = load("parallel_sleep_plan");
    rankd_bench_config cfg = {.plan = plan,
                              .async = true,
                              .cpu_threads = 1,
                              .io_threads = 1,
                              .concurrency = 8,
                              .rate = 100,
                              .duration_sec = 1.0,
                              .warmup_iters = 5,
                              .base_user_id = 1};
    rankd_bench_result res = run_bench(&cfg);
    print_message("parallel_sleep_plan, 100 req/s: %.2f wake-ups per request\n",
                  res.wakeups_per_request);
    assert_true(res.requests > 10);
    assert_true(res.wakeups_per_request <= 3.5);
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
    assert_non_null(strstr(err.msg, "neither a request count nor a duration"));
    assert_null(strstr(err.msg, "--"));
    cfg.requests = 10;
    cfg.concurrency = 0;
    assert_int_equal(rankd_bench_run(&cfg, &res, &err), RANKD_EINPUT);
    assert_non_null(strstr(err.msg, "concurrency 0 is not in [1, 100000]"));
    assert_null(strstr(err.msg, "--"));
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
        cmocka_unit_test(test_closed_loop_is_fair),
        cmocka_unit_test(test_sync_high_concurrency_little),
        cmocka_unit_test(test_in_flight_at_end_is_censored),
        cmocka_unit_test(test_open_loop_ends_at_deadline),
        cmocka_unit_test(test_regex_errors_are_counted),
        cmocka_unit_test(test_little_is_qps_times_mean),
        cmocka_unit_test(test_wakeups_per_request),
        cmocka_unit_test(test_cheap_fan_out_wakes_nobody),
        cmocka_unit_test(test_fan_out_to_a_loop_wakes_it_once),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
