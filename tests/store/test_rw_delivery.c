/* Remote write delivery against the stand-in receiver: scripted 200, 500, 429,
 * 400 and hangs. Every sample the receiver accepted must be exactly the
 * store's (counters as running totals), no more and no fewer; a sample sent
 * twice always carries the same value; retries, drops, the attempt cap, the
 * batch resent after a failure, auth headers, the cursor and the runner. */
#include "helpers.h"
#include "rondo/remote_write.h"
#include "rw_receiver.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

#define NPOINTS 40

struct fixture {
    char dir[64];
    rondo_store *store; /* writable, kept open to grow the store */
    rondo_series *cpu, *exits;
    int64_t t0;
    struct rw_receiver recv;
    char url[64];
    char log[8192];
};

static void log_line(void *ctx, const char *line)
{
    struct fixture *f = ctx;
    size_t n = strlen(f->log);
    snprintf(f->log + n, sizeof f->log - n, "%s\n", line);
}

/* cpu{host=a}: a gauge with a gap every 7th second; exits_total{reason=io}:
 * a counter, increments i % 5 (zero too, which is a sample). */
static void write_points(struct fixture *f, int from, int to)
{
    for (int i = from; i < to; i++) {
        if (i % 7 != 3)
            rondo_write(f->cpu, f->t0 + i, i * 0.25);
        rondo_write(f->exits, f->t0 + i, (double)(i % 5));
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    make_temp_dir(f->dir, sizeof f->dir);
    rondo_archive_spec a = {1, 600, RONDO_CF_AVG};
    f->cpu = new_series(f->dir, &f->store, "cpu{host=a}", RONDO_GAUGE, &a, 1);
    rondo_store_close(f->store);
    a.cf = RONDO_CF_SUM;
    f->exits = new_series(f->dir, &f->store, "exits_total{reason=io}", RONDO_COUNTER, &a, 1);
    rondo_store_close(f->store);
    rondo_error err;
    assert_int_equal(rondo_store_open(&f->store, f->dir, RONDO_OPEN_WRITE, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(f->store, "cpu{host=a}", &f->cpu, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(f->store, "exits_total{reason=io}", &f->exits, &err),
                     RONDO_OK);
    f->t0 = (int64_t)time(NULL) - 300;
    write_points(f, 0, NPOINTS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rondo_store_close(f->store);
    rm_tree(f->dir);
    free(f);
    return 0;
}

static void start_receiver(struct fixture *f, const int *script, size_t n)
{
    memset(&f->recv, 0, sizeof f->recv);
    if (n > 0)
        memcpy(f->recv.script, script, n * sizeof *script);
    f->recv.nscript = n;
    f->recv.decode = true;
    f->recv.max_life_sec = 60;
    assert_int_equal(rw_receiver_start(&f->recv), 0);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/api/v1/write", f->recv.port);
}

static void options(struct fixture *f, rondo_rw_options *o)
{
    rondo_rw_options_init(o);
    o->url = f->url;
    o->settle_sec = 0;
    o->max_samples_per_request = 7;
    o->max_attempts = 4;
    o->backoff_min_sec = 0.01;
    o->backoff_max_sec = 0.05;
    o->timeout_sec = 0.5;
    o->log = log_line;
    o->ctx = f;
}

static rondo_status export(struct fixture *f, const rondo_rw_options *o, rondo_rw_stats *st)
{
    rondo_store *rs;
    rondo_error err;
    assert_int_equal(rondo_store_open(&rs, f->dir, RONDO_OPEN_READ, &err), RONDO_OK);
    rondo_status rc = rondo_rw_export(rs, o, st, &err);
    if (rc != RONDO_OK)
        log_line(f, err.message);
    rondo_store_close(rs);
    return rc;
}

/* The value the store says series `s` ("cpu"/"exits") has at point i, or NaN. */
static double expected(const char *series, int i)
{
    if (strncmp(series, "__name__=cpu", 12) == 0)
        return i % 7 != 3 ? i * 0.25 : NAN;
    double total = 0;
    for (int k = 0; k <= i; k++)
        total += k % 5;
    return total;
}

/* Checks the receiver's record: every sample ever sent has the store's value
 * (so nothing was sent twice with different values), and the samples of the
 * requests answered 2xx are exactly the store's points [0, npoints), each
 * once, except those of requests answered 400 (dropped). */
static void check_delivery(struct fixture *f, int npoints)
{
    int seen[2][NPOINTS * 2] = {{0}};
    bool dropped[2][NPOINTS * 2] = {{false}};
    pthread_mutex_lock(&f->recv.mu);
    assert_int_equal(f->recv.bad_headers, 0);
    assert_int_equal(f->recv.bad_bodies, 0);
    for (size_t k = 0; k < f->recv.nsamples; k++) {
        const struct rw_recv_sample *s = &f->recv.samples[k];
        int which = strncmp(s->series, "__name__=cpu,host=a", 19) == 0 ? 0 : 1;
        if (which == 1)
            assert_string_equal(s->series, "__name__=exits_total,reason=io");
        int64_t i = (s->ms / 1000) - f->t0;
        assert_int_equal(s->ms % 1000, 0);
        assert_true(i >= 0 && i < npoints);
        double want = expected(s->series, (int)i);
        if (s->value != want)
            fail_msg("%s at %lld: sent %.17g, store has %.17g", s->series, (long long)i, s->value,
                     want);
        if (s->status == 200)
            seen[which][i]++;
        if (s->status == 400)
            dropped[which][i] = true;
    }
    pthread_mutex_unlock(&f->recv.mu);
    for (int i = 0; i < npoints; i++) {
        int want[2] = {i % 7 != 3 ? 1 : 0, 1};
        for (int w = 0; w < 2; w++) {
            if (dropped[w][i])
                want[w] = 0;
            if (seen[w][i] != want[w])
                fail_msg("point %d of series %d delivered %d times, expected %d", i, w, seen[w][i],
                         want[w]);
        }
    }
}

static void t_clean(void **state)
{
    struct fixture *f = *state;
    start_receiver(f, NULL, 0);
    rondo_rw_options o;
    options(f, &o);
    rondo_rw_stats st = {0};
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    check_delivery(f, NPOINTS);
    size_t total = NPOINTS + NPOINTS - NPOINTS / 7 - (NPOINTS % 7 > 3);
    assert_int_equal(st.samples_sent, total);
    assert_int_equal(st.requests_sent, (total + 6) / 7);
    assert_int_equal(st.series, 2);
    assert_int_equal(st.attempts_failed, 0);
    assert_non_null(strstr(f->recv.last_agent, "rondo-remote-write/" RONDO_RW_VERSION));
    /* Nothing new: a second export sends nothing. */
    size_t before = f->recv.requests;
    memset(&st, 0, sizeof st);
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    assert_int_equal(f->recv.requests, before);
    /* The store grows: only the new points go, counters continue. */
    write_points(f, NPOINTS, NPOINTS + 10);
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    check_delivery(f, NPOINTS + 10);
    rw_receiver_stop(&f->recv);
}

static void t_retry_then_deliver(void **state)
{
    struct fixture *f = *state;
    int script[] = {500, 429, 200, RW_HANG, 503};
    start_receiver(f, script, 5);
    rondo_rw_options o;
    options(f, &o);
    rondo_rw_stats st = {0};
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    assert_int_equal(st.attempts_failed, 4);
    assert_int_equal(st.requests_dropped, 0);
    check_delivery(f, NPOINTS);
    /* One log line per change of failure, never one per attempt forever. */
    assert_non_null(strstr(f->log, "HTTP 500 internal error; retrying"));
    rw_receiver_stop(&f->recv);
}

static void t_drop_on_400(void **state)
{
    struct fixture *f = *state;
    int script[] = {200, 400, 200, 400};
    start_receiver(f, script, 4);
    rondo_rw_options o;
    options(f, &o);
    rondo_rw_stats st = {0};
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    assert_int_equal(st.requests_dropped, 2);
    assert_int_equal(st.samples_dropped, 14);
    assert_int_equal(st.attempts_failed, 0);
    /* Logged once for the kind, not once per request. */
    const char *first = strstr(f->log, "HTTP 400: out of order sample");
    assert_non_null(first);
    assert_null(strstr(first + 1, "HTTP 400: out of order sample"));
    /* The cursor moved past the dropped requests: nothing is resent. */
    size_t before = f->recv.requests;
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    assert_int_equal(f->recv.requests, before);
    pthread_mutex_lock(&f->recv.mu);
    size_t accepted = 0;
    for (size_t k = 0; k < f->recv.nsamples; k++)
        accepted += f->recv.samples[k].status == 200;
    pthread_mutex_unlock(&f->recv.mu);
    assert_int_equal(accepted, st.samples_sent);
    check_delivery(f, NPOINTS);
    rw_receiver_stop(&f->recv);
}

/* The attempt cap: the export stops, the cursor keeps the request in flight,
 * and the next export resends exactly that request even though the store has
 * grown meanwhile, then the rest. */
static void t_give_up_then_resend_same(void **state)
{
    struct fixture *f = *state;
    int script[] = {200, 500, 500, RW_HANG, 500};
    start_receiver(f, script, 5);
    rondo_rw_options o;
    options(f, &o);
    o.max_samples_per_request = 1000;
    o.max_attempts = 4;
    rondo_rw_stats st = {0};
    /* First all 40 points in one request (accepted), then 10 more fail. */
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    write_points(f, NPOINTS, NPOINTS + 10);
    assert_int_equal(export(f, &o, &st), RONDO_ERR_IO);
    assert_true(st.gave_up);
    assert_non_null(strstr(f->log, "unavailable after 4 attempts"));
    write_points(f, NPOINTS + 10, NPOINTS + 20);
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    assert_false(st.gave_up);
    pthread_mutex_lock(&f->recv.mu);
    /* Requests 1-4 failed, 5 is the resend, 6 the new points. */
    assert_int_equal(f->recv.requests, 7);
    size_t in[7] = {0};
    for (size_t k = 0; k < f->recv.nsamples; k++)
        in[f->recv.samples[k].request]++;
    pthread_mutex_unlock(&f->recv.mu);
    for (int r = 2; r <= 5; r++)
        assert_int_equal(in[r], in[1]);
    assert_true(in[6] > 0);
    check_delivery(f, NPOINTS + 20);
    rw_receiver_stop(&f->recv);
}

/* The request in flight when an export stopped is resent; refused (as
 * Prometheus refuses an exact repeat of what it stored), it is counted as a
 * refused resend, not as a drop, and the cursor moves on. */
static void t_resend_refused(void **state)
{
    struct fixture *f = *state;
    int script[] = {RW_HANG, 400};
    start_receiver(f, script, 2);
    rondo_rw_options o;
    options(f, &o);
    o.max_attempts = 1;
    rondo_rw_stats st = {0};
    assert_int_equal(export(f, &o, &st), RONDO_ERR_IO);
    memset(&st, 0, sizeof st);
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    assert_int_equal(st.resends_refused, 1);
    assert_int_equal(st.requests_dropped, 0);
    assert_non_null(strstr(f->log, "refused on resend (HTTP 400 out of order sample)"));
    pthread_mutex_lock(&f->recv.mu);
    size_t in0 = 0, in1 = 0;
    for (size_t k = 0; k < f->recv.nsamples; k++) {
        in0 += f->recv.samples[k].request == 0;
        in1 += f->recv.samples[k].request == 1;
    }
    pthread_mutex_unlock(&f->recv.mu);
    assert_int_equal(in0, 7);
    assert_int_equal(in1, 7);
    check_delivery(f, NPOINTS);
    rw_receiver_stop(&f->recv);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void t_auth_and_secrets(void **state)
{
    struct fixture *f = *state;
    int script[] = {500, 200, 500};
    start_receiver(f, script, 3);
    char token[128], basic[128], url[128];
    snprintf(token, sizeof token, "%s/token", f->dir);
    snprintf(basic, sizeof basic, "%s/basic", f->dir);
    write_file(token, "s3cret-token\n");
    write_file(basic, "user:s3cret-pass\n");
    rondo_rw_options o;
    options(f, &o);
    o.bearer_token_file = token;
    o.max_samples_per_request = 1000;
    rondo_rw_stats st = {0};
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    assert_string_equal(f->recv.last_auth, "Bearer s3cret-token");
    o.bearer_token_file = NULL;
    o.basic_auth_file = basic;
    /* Credentials in the URL never reach a log line or the cursor either. */
    snprintf(url, sizeof url, "http://user:s3cret-url@127.0.0.1:%d/api/v1/write", f->recv.port);
    o.url = url;
    write_points(f, NPOINTS, NPOINTS + 5);
    assert_int_equal(export(f, &o, &st), RONDO_OK);
    assert_string_equal(f->recv.last_auth, "Basic dXNlcjpzM2NyZXQtcGFzcw==");
    o.basic_auth_file = "/nonexistent/basic";
    assert_int_equal(export(f, &o, &st), RONDO_ERR_INPUT);
    /* The 500 was logged with the URL: redacted. */
    assert_non_null(strstr(f->log, "retrying"));
    assert_null(strstr(f->log, "s3cret"));
    char cursor[128], *text;
    size_t len;
    snprintf(cursor, sizeof cursor, "%s/cursor_prometheus.json", f->dir);
    FILE *fp = fopen(cursor, "r");
    assert_non_null(fp);
    text = calloc(1, 1 << 16);
    len = fread(text, 1, (1 << 16) - 1, fp);
    fclose(fp);
    assert_true(len > 0);
    assert_null(strstr(text, "s3cret"));
    free(text);
    rw_receiver_stop(&f->recv);
}

static void t_corrupt_cursor_sends_nothing(void **state)
{
    struct fixture *f = *state;
    start_receiver(f, NULL, 0);
    char cursor[128];
    snprintf(cursor, sizeof cursor, "%s/cursor_other.json", f->dir);
    write_file(cursor, "{\"format\":\"rondo-remote-write-cursor\",\"version\":1,\"series\":{\"cpu");
    rondo_rw_options o;
    options(f, &o);
    o.cursor = "other";
    rondo_rw_stats st = {0};
    assert_int_equal(export(f, &o, &st), RONDO_ERR_CORRUPT);
    assert_non_null(strstr(f->log, "cursor_other.json: not valid JSON"));
    assert_int_equal(f->recv.requests, 0);
    rw_receiver_stop(&f->recv);
}

/* The runner exports periodically, then flushes at stop; a receiver that
 * hangs cannot hold the stop beyond its bound. */
static void t_runner(void **state)
{
    struct fixture *f = *state;
    start_receiver(f, NULL, 0);
    rondo_rw_options o;
    options(f, &o);
    rondo_rw_runner *r;
    rondo_error err;
    assert_int_equal(rondo_rw_runner_start(&r, f->dir, &o, 0.2, &err), RONDO_OK);
    rondo_rw_stats st;
    for (int i = 0; i < 100; i++) {
        rondo_rw_runner_stats(r, &st);
        if (st.samples_sent > 0)
            break;
        usleep(50000);
    }
    assert_true(st.samples_sent > 0);
    write_points(f, NPOINTS, NPOINTS + 3);
    assert_int_equal(rondo_rw_runner_stop(r, 5, &st, &err), RONDO_OK);
    check_delivery(f, NPOINTS + 3);
    rw_receiver_stop(&f->recv);

    int hang[] = {RW_HANG, RW_HANG, RW_HANG, RW_HANG};
    start_receiver(f, hang, 4);
    o.url = f->url;
    o.timeout_sec = 30;
    write_points(f, NPOINTS + 3, NPOINTS + 6);
    assert_int_equal(rondo_rw_runner_start(&r, f->dir, &o, 0.1, &err), RONDO_OK);
    usleep(300000);
    /* The exporter is stuck in a request: recording goes on regardless (the
     * runner reads through a handle of its own and takes no lock of the
     * writer's). */
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    for (int i = NPOINTS + 6; i < NPOINTS + 9; i++)
        assert_int_equal(rondo_write(f->cpu, f->t0 + i, 1.0), RONDO_WRITE_APPLIED);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    assert_true(w1.tv_sec - w0.tv_sec < 1);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(rondo_rw_runner_stop(r, 1.0, &st, &err), RONDO_ERR_IO);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    if (took > 2.5)
        fail_msg("stop took %.2f s with a 1 s flush bound", took);
    rw_receiver_stop(&f->recv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(t_retry_then_deliver, setup, teardown),
        cmocka_unit_test_setup_teardown(t_drop_on_400, setup, teardown),
        cmocka_unit_test_setup_teardown(t_give_up_then_resend_same, setup, teardown),
        cmocka_unit_test_setup_teardown(t_resend_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(t_auth_and_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(t_corrupt_cursor_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(t_runner, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
