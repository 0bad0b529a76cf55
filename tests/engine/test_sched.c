/* The schedulers: the async scheduler gives the sync scheduler's response
 * for every plan, thread count and user, and failures reach the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rankd/rankd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char *run_sync_json(const rankd_plan *plan, uint64_t user, const char *redis)
{
    rankd_request *req;
    rankd_thread_ctx *ctx;
    rankd_error err;
    assert_int_equal(rankd_request_create(plan, &req, &err), RANKD_OK);
    assert_int_equal(rankd_thread_ctx_create(redis, &ctx, &err), RANKD_OK);
    rankd_request_reset(req, user);
    int rc = rankd_run_sync(req, ctx);
    if (rc != RANKD_OK)
        print_error("%s\n", rankd_request_error(req));
    assert_int_equal(rc, RANKD_OK);
    char *json = rankd_response_json(req);
    rankd_thread_ctx_free(ctx);
    rankd_request_free(req);
    return json;
}

/* Compares sync and async responses for users 0..n-1 of a plan. */
static void compare_schedulers(const char *plan_name, const char *redis)
{
    static const uint32_t cpu[] = {1, 2, 4};
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_load_named(RANKD_TEST_PLAN_DIR, plan_name, &plan, &err), RANKD_OK);
    for (size_t c = 0; c < 3; c++) {
        rankd_sched_config cfg = {cpu[c], (uint32_t)c + 1, redis, plan->has_io};
        rankd_sched *sched;
        assert_int_equal(rankd_sched_create(&cfg, &sched, &err), RANKD_OK);
        rankd_request *req;
        assert_int_equal(rankd_request_create(plan, &req, &err), RANKD_OK);
        for (uint64_t user = 0; user < 12; user++) {
            char *want = run_sync_json(plan, user, redis);
            rankd_request_reset(req, user);
            rankd_request_set_slot(req, user);
            assert_int_equal(rankd_run_async(sched, req), RANKD_OK);
            char *got = rankd_response_json(req);
            assert_string_equal(got, want);
            assert_non_null(strstr(got, "\"candidates\":[{"));
            free(got);
            free(want);
        }
        rankd_request_free(req);
        rankd_sched_destroy(sched);
    }
    rankd_plan_free(plan);
}

static void test_concat_plan(void **state)
{
    compare_schedulers("concat_plan", NULL);
}

static void test_regex_plan(void **state)
{
    compare_schedulers("regex_plan", NULL);
}

static void test_parallel_sleep_plan(void **state)
{
    compare_schedulers("parallel_sleep_plan", NULL);
}

static void test_overhead_plan(void **state)
{
    compare_schedulers("overhead_plan", NULL);
}

/* Given by `--redis HOST:PORT` when the Redis fixture runs this program. */
static const char *redis_addr;

static void test_reels_plan_with_redis(void **state)
{
    if (redis_addr == NULL) {
        print_message("no --redis HOST:PORT: run through the Redis fixture\n");
        skip();
    }
    compare_schedulers("reels_plan_a", redis_addr);
}

/* Distinct candidates, ranked by score: the response is a real ranking. */
static void test_response_is_ranked(void **state)
{
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_load_named(RANKD_TEST_PLAN_DIR, "regex_plan", &plan, &err),
                     RANKD_OK);
    rankd_request *req;
    rankd_thread_ctx *ctx;
    assert_int_equal(rankd_request_create(plan, &req, &err), RANKD_OK);
    assert_int_equal(rankd_thread_ctx_create(NULL, &ctx, &err), RANKD_OK);
    rankd_request_reset(req, 7);
    assert_int_equal(rankd_run_sync(req, ctx), RANKD_OK);
    const rankd_list *out = rankd_request_output(req, plan->sink);
    assert_int_equal(out->count, 20);
    for (uint32_t i = 0; i < out->count; i++) {
        /* regex_plan keeps music/comedy/tech/art titles with an even id. */
        assert_int_equal(out->items[i].id % 2, 0);
        assert_null(strstr(out->items[i].title, "news"));
        if (i > 0) {
            assert_true(out->items[i - 1].score >= out->items[i].score);
            assert_true(out->items[i - 1].id != out->items[i].id);
        }
    }
    rankd_thread_ctx_free(ctx);
    rankd_request_free(req);
    rankd_plan_free(plan);
}

/* A Redis node that cannot reach its server fails the request with a
 * message naming the node, on both schedulers, and nothing hangs. */
static void test_redis_failure_is_reported(void **state)
{
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_load_named(RANKD_TEST_PLAN_DIR, "reels_plan_a", &plan, &err),
                     RANKD_OK);
    rankd_request *req;
    rankd_thread_ctx *ctx;
    assert_int_equal(rankd_request_create(plan, &req, &err), RANKD_OK);
    assert_int_equal(rankd_thread_ctx_create("127.0.0.1:1", &ctx, &err), RANKD_OK);
    rankd_request_reset(req, 1);
    assert_int_equal(rankd_run_sync(req, ctx), RANKD_ERUNTIME);
    assert_non_null(strstr(rankd_request_error(req), "node 'features': redis"));

    rankd_sched_config cfg = {2, 1, "127.0.0.1:1", true};
    rankd_sched *sched;
    assert_int_equal(rankd_sched_create(&cfg, &sched, &err), RANKD_OK);
    for (int i = 0; i < 3; i++) {
        rankd_request_reset(req, 1);
        assert_int_equal(rankd_run_async(sched, req), RANKD_ERUNTIME);
        assert_non_null(strstr(rankd_request_error(req), "node 'features': redis"));
        /* A refused connection fails at once, not by the node's timeout. */
        print_message("%s\n", rankd_request_error(req));
        assert_null(strstr(rankd_request_error(req), "timed out"));
    }
    rankd_sched_destroy(sched);
    rankd_thread_ctx_free(ctx);
    rankd_request_free(req);
    rankd_plan_free(plan);
}

/* Fairness: a closed loop of 8 slots on one CPU worker, each completion
 * re-issuing its slot from the worker (as the bench does). Requests must
 * finish in the order they were issued: the oldest queued request runs
 * before any newer one, and the completing slot never runs ahead. */
typedef struct fifo_run {
    rankd_sched *sched;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool released;
    uint64_t next_seq;
    uint64_t total;
    uint64_t done;
    uint64_t order[200];
    /* The requests of the run and the sequence number each one holds. */
    rankd_request *reqs[8];
    uint64_t seq[8];
} fifo_run;

static uint64_t *fifo_seq(fifo_run *r, const rankd_request *req)
{
    size_t i = 0;
    while (r->reqs[i] != req)
        i++;
    return &r->seq[i];
}

static void fifo_done(rankd_request *req, void *arg)
{
    fifo_run *r = arg;
    pthread_mutex_lock(&r->lock);
    /* The first completion waits until every slot has been submitted, so
     * the queue holds older requests when it re-issues. */
    while (!r->released)
        pthread_cond_wait(&r->cond, &r->lock);
    r->order[r->done++] = *fifo_seq(r, req);
    bool again = r->next_seq < r->total;
    uint64_t seq = r->next_seq++;
    if (r->done == r->total)
        pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (again) {
        rankd_request_reset(req, seq);
        *fifo_seq(r, req) = seq;
        rankd_sched_submit(r->sched, req);
    }
}

static void test_oldest_request_runs_first(void **state)
{
    static const char *const plans[] = {"concat_plan", "overhead_plan", "parallel_sleep_plan"};
    for (size_t p = 0; p < sizeof plans / sizeof plans[0]; p++) {
        rankd_plan *plan;
        rankd_error err;
        assert_int_equal(rankd_plan_load_named(RANKD_TEST_PLAN_DIR, plans[p], &plan, &err),
                         RANKD_OK);
        fifo_run r = {
            .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .total = 40};
        rankd_sched_config cfg = {1, 1, NULL, plan->has_io};
        assert_int_equal(rankd_sched_create(&cfg, &r.sched, &err), RANKD_OK);
        rankd_request **reqs = r.reqs;
        for (uint64_t i = 0; i < 8; i++) {
            assert_int_equal(rankd_request_create(plan, &reqs[i], &err), RANKD_OK);
            rankd_request_reset(reqs[i], i);
            r.seq[i] = i;
            rankd_request_set_slot(reqs[i], i);
            rankd_request_set_done(reqs[i], fifo_done, &r);
        }
        r.next_seq = 8;
        for (int i = 0; i < 8; i++)
            rankd_sched_submit(r.sched, reqs[i]);
        pthread_mutex_lock(&r.lock);
        r.released = true;
        pthread_cond_broadcast(&r.cond);
        while (r.done < r.total)
            pthread_cond_wait(&r.cond, &r.lock);
        pthread_mutex_unlock(&r.lock);
        rankd_sched_destroy(r.sched);
        for (uint64_t i = 0; i < r.total; i++) {
            if (r.order[i] != i)
                print_error("%s: completion %llu was request %llu\n", plans[p],
                            (unsigned long long)i, (unsigned long long)r.order[i]);
            assert_int_equal(r.order[i], i);
        }
        for (int i = 0; i < 8; i++)
            rankd_request_free(reqs[i]);
        rankd_plan_free(plan);
    }
}

/* Runs a plan given as JSON once on each scheduler; both must fail with a
 * message holding want. */
static void expect_failure(const char *json, const char *redis, const char *want)
{
    rankd_plan *plan;
    rankd_error err;
    assert_int_equal(rankd_plan_parse(json, strlen(json), "p.json", &plan, &err), RANKD_OK);
    rankd_request *req;
    rankd_thread_ctx *ctx;
    assert_int_equal(rankd_request_create(plan, &req, &err), RANKD_OK);
    assert_int_equal(rankd_thread_ctx_create(redis, &ctx, &err), RANKD_OK);
    rankd_request_reset(req, 1);
    assert_int_equal(rankd_run_sync(req, ctx), RANKD_ERUNTIME);
    print_message("sync: %s\n", rankd_request_error(req));
    assert_non_null(strstr(rankd_request_error(req), want));
    rankd_thread_ctx_free(ctx);
    rankd_sched_config cfg = {1, 1, redis, plan->has_io};
    rankd_sched *sched;
    assert_int_equal(rankd_sched_create(&cfg, &sched, &err), RANKD_OK);
    rankd_request_reset(req, 1);
    assert_int_equal(rankd_run_async(sched, req), RANKD_ERUNTIME);
    print_message("async: %s\n", rankd_request_error(req));
    assert_non_null(strstr(rankd_request_error(req), want));
    rankd_sched_destroy(sched);
    rankd_request_free(req);
    rankd_plan_free(plan);
}

/* Issue 9, row 11: a PCRE2 match that fails with an error (here the match
 * limit, by catastrophic backtracking on long titles) fails the request
 * with PCRE2's message; it used to read as "no match". */
static void test_regex_match_error_fails(void **state)
{
    static const char json[] =
        "{\"name\": \"bomb\", \"nodes\": ["
        "{\"id\": \"src\", \"op\": \"source\", \"params\": {\"count\": 2, "
        "\"id_base\": 1000000000000000, \"id_space\": 1000000000}},"
        "{\"id\": \"re\", \"op\": \"regex_filter\", \"inputs\": [\"src\"], \"params\": "
        "{\"pattern\": \"^(?:((\\\\w|\\\\d|-)+)+\\\\W|\\\\w)\"}},"
        "{\"id\": \"top\", \"op\": \"top_k\", \"inputs\": [\"re\"], \"params\": {\"k\": 2}}]}";
    expect_failure(json, NULL, "node 're': regex match on '");
    expect_failure(json, NULL, "match limit exceeded");
}

/* A socket listening on a free loopback port; its "host:port" in addr. The
 * kernel completes connections into the backlog, so a client connects and
 * then waits for answers nobody sends unless a test thread accepts. */
static int listen_loopback(char *addr_text, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addr_len = sizeof addr;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
    snprintf(addr_text, len, "127.0.0.1:%d", ntohs(addr.sin_port));
    return fd;
}

/* Issue 9, row 14: a Redis server that never replies: the sync scheduler
 * says the node timed out after its timeout, as the async one does (it
 * said "Resource temporarily unavailable"). */
static void test_redis_timeout_message(void **state)
{
    char redis[64];
    int fd = listen_loopback(redis, sizeof redis);
    static const char json[] =
        "{\"name\": \"silent\", \"nodes\": ["
        "{\"id\": \"src\", \"op\": \"source\", \"params\": {\"count\": 2}},"
        "{\"id\": \"fetch\", \"op\": \"redis_fetch\", \"inputs\": [\"src\"], "
        "\"params\": {\"timeout_ms\": 50}},"
        "{\"id\": \"top\", \"op\": \"top_k\", \"inputs\": [\"fetch\"], \"params\": {\"k\": 2}}]}";
    expect_failure(json, redis, "node 'fetch': redis: timed out after 50.000 ms");
    close(fd);
}

/* A one-trick Redis: answers every command on every connection with the
 * same two-element array. */
typedef struct fake_redis {
    int fd;
    const char *reply;
} fake_redis;

static void *fake_redis_main(void *arg)
{
    fake_redis *f = arg;
    int c;
    while ((c = accept(f->fd, NULL, NULL)) >= 0) {
        char buf[4096];
        while (read(c, buf, sizeof buf) > 0) {
            if (write(c, f->reply, strlen(f->reply)) < 0)
                break;
        }
        close(c);
    }
    return NULL;
}

/* A feature value that is not a number fails the request naming the key;
 * it used to read as 0 (a missing key still does). */
static void test_redis_bad_value_fails(void **state)
{
    char redis[64];
    fake_redis f = {listen_loopback(redis, sizeof redis), "*2\r\n$3\r\nabc\r\n$-1\r\n"};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, fake_redis_main, &f), 0);
    static const char json[] =
        "{\"name\": \"bad_value\", \"nodes\": ["
        "{\"id\": \"src\", \"op\": \"source\", \"params\": {\"count\": 2, \"id_space\": 1000000}},"
        "{\"id\": \"fetch\", \"op\": \"redis_fetch\", \"inputs\": [\"src\"], "
        "\"params\": {\"timeout_ms\": 2000}},"
        "{\"id\": \"top\", \"op\": \"top_k\", \"inputs\": [\"fetch\"], \"params\": {\"k\": 2}}]}";
    expect_failure(json, redis, "node 'fetch': redis: key 'feat:");
    expect_failure(json, redis, "' holds 'abc', not a number");
    shutdown(f.fd, SHUT_RDWR);
    close(f.fd);
    pthread_join(thread, NULL);
}

/* Issue 8: librankd's errors describe the problem; only the program knows
 * which flag set the value. */
static void test_config_errors_name_no_flag(void **state)
{
    rankd_sched *sched;
    rankd_error err;
    rankd_sched_config no_cpu = {0, 1, NULL, false};
    assert_int_equal(rankd_sched_create(&no_cpu, &sched, &err), RANKD_EINPUT);
    assert_non_null(strstr(err.msg, "0 CPU threads"));
    assert_null(strstr(err.msg, "--"));
    rankd_sched_config no_io = {1, 0, NULL, true};
    assert_int_equal(rankd_sched_create(&no_io, &sched, &err), RANKD_EINPUT);
    assert_non_null(strstr(err.msg, "0 I/O threads"));
    assert_null(strstr(err.msg, "--"));
    /* A Redis address without a port fails the request on both schedulers
     * with the address and what is wrong with it. */
    static const char json[] =
        "{\"name\": \"bad_addr\", \"nodes\": ["
        "{\"id\": \"src\", \"op\": \"source\", \"params\": {\"count\": 2}},"
        "{\"id\": \"fetch\", \"op\": \"redis_fetch\", \"inputs\": [\"src\"]}]}";
    expect_failure(json, "localhost", "Redis address 'localhost': not host:port");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--redis") == 0)
        redis_addr = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concat_plan),
        cmocka_unit_test(test_regex_plan),
        cmocka_unit_test(test_parallel_sleep_plan),
        cmocka_unit_test(test_overhead_plan),
        cmocka_unit_test(test_reels_plan_with_redis),
        cmocka_unit_test(test_response_is_ranked),
        cmocka_unit_test(test_redis_failure_is_reported),
        cmocka_unit_test(test_oldest_request_runs_first),
        cmocka_unit_test(test_regex_match_error_fails),
        cmocka_unit_test(test_redis_timeout_message),
        cmocka_unit_test(test_redis_bad_value_fails),
        cmocka_unit_test(test_config_errors_name_no_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
