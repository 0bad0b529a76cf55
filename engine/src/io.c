/* The async scheduler's I/O side: libuv loops that run sleep and Redis
 * nodes, so no CPU worker ever blocks on them. Each loop keeps its sleep
 * deadlines and Redis timeouts in a heap of nanosecond deadlines
 * (timer_heap.c) behind one timerfd, and talks to Redis through the
 * engine's own hiredis adapter (io_redis.c). */
#include "io_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* A failed Redis connection is retried at most this often. */
#define REDIS_RETRY_NS 100000000ull

/* An I/O node handed to a loop, with the moment it became ready. */
typedef struct io_task {
    rankd_request *req;
    uint32_t node;
    uint64_t ready_ns;
} io_task;

typedef struct io_loop io_loop;

struct io_loop {
    rankd_io *io;
    uv_loop_t loop;
    uv_async_t wake;
    uv_poll_t timer_watch;
    int tfd;
    uint64_t armed;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    io_task *inbox;
    uint32_t inbox_count;
    uint32_t inbox_cap;
    /* The loop thread swaps the inbox with this array and drains it
     * unlocked, so submitters never wait for the tasks to start. */
    io_task *draining;
    uint32_t draining_cap;
    atomic_bool stop;
    rankd__timer_heap timers;
    redisAsyncContext *redis;
    uint64_t redis_retry_at;
    char redis_error[128];
};

struct rankd_io {
    io_loop *loops;
    uint32_t n_loops;
    char *redis_addr;
    rankd_io_done_fn done;
    void *sched;
};

static _Thread_local io_loop *current_loop;

_Noreturn static void oom_abort(const char *what)
{
    fprintf(stderr, "rankd: out of memory %s\n", what);
    abort();
}

/* Points the timerfd at the earliest deadline when it must fire sooner than
 * it is set to. Redis timeouts whose command has finished are dropped from
 * the top first: otherwise each would wake the loop once, its timeout
 * after the reply. A timerfd set earlier than needed is left alone: it
 * fires once for nothing and is then set right, which is cheaper than a
 * timerfd_settime call for every command. */
static void timer_rearm(io_loop *l)
{
    while (l->timers.count > 0 && l->timers.items[0].op != NULL && l->timers.items[0].op->finished)
        free(rankd__timer_heap_pop(&l->timers).op);
    uint64_t next = l->timers.count > 0 ? l->timers.items[0].deadline : 0;
    if (next == 0 || (l->armed != 0 && l->armed <= next))
        return;
    struct itimerspec its = {{0, 0},
                             {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)}};
    timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    l->armed = next;
}

static void timer_heap_push(rankd__timer_heap *h, rankd__timer_entry e)
{
    if (rankd__timer_heap_push(h, e) != RANKD_OK)
        oom_abort("growing a timer heap");
}

static void node_done(io_loop *l, rankd_request *req, uint32_t node)
{
    l->io->done(l->io->sched, (uint32_t)(l - l->io->loops), req, node);
}

static void redis_finish(io_loop *l, rankd__redis_op *op, const redisReply *reply,
                         const char *failure)
{
    op->finished = true;
    rankd__redis_apply(op->req, op->node, reply, failure);
    node_done(l, op->req, op->node);
}

static void redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    rankd__redis_op *op = privdata;
    io_loop *l = ac->data;
    if (op->finished) {
        free(op);
        return;
    }
    const redisReply *reply = r;
    redis_finish(l, op, reply, reply == NULL ? (ac->errstr[0] ? ac->errstr : "no reply") : NULL);
    /* The timeout entry still points at op and frees it when it fires. */
}

static void redis_connected(const redisAsyncContext *ac, int status)
{
    io_loop *l = ac->data;
    if (status != REDIS_OK && l->redis == ac) {
        snprintf(l->redis_error, sizeof l->redis_error, "%s", ac->errstr);
        /* hiredis frees the context after this callback. */
        l->redis = NULL;
        l->redis_retry_at = rankd_now_ns() + REDIS_RETRY_NS;
    }
}

static void redis_disconnected(const redisAsyncContext *ac, int status)
{
    io_loop *l = ac->data;
    if (l->redis == ac) {
        l->redis = NULL;
        l->redis_retry_at = rankd_now_ns() + REDIS_RETRY_NS;
    }
}

static void redis_connect(io_loop *l)
{
    char host[256];
    int port;
    rankd_error err;
    if (l->io->redis_addr == NULL)
        return;
    if (rankd__parse_addr(l->io->redis_addr, host, sizeof host, &port, &err) != RANKD_OK) {
        snprintf(l->redis_error, sizeof l->redis_error, "%.120s", err.msg);
        return;
    }
    redisAsyncContext *ac = redisAsyncConnect(host, port);
    if (ac == NULL || ac->err || rankd__redis_attach(ac, &l->loop) != 0) {
        snprintf(l->redis_error, sizeof l->redis_error, "%s",
                 ac != NULL && ac->err ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        l->redis_retry_at = rankd_now_ns() + REDIS_RETRY_NS;
        return;
    }
    ac->data = l;
    redisAsyncSetConnectCallback(ac, redis_connected);
    redisAsyncSetDisconnectCallback(ac, redis_disconnected);
    l->redis = ac;
}

static void redis_start(io_loop *l, rankd_request *req, uint32_t node)
{
    const rankd_node *n = &req->plan->nodes[node];
    if (l->redis == NULL && rankd_now_ns() >= l->redis_retry_at)
        redis_connect(l);
    if (l->redis == NULL) {
        char why[160];
        snprintf(why, sizeof why, "%s: not connected (%s)",
                 l->io->redis_addr != NULL ? l->io->redis_addr : "redis",
                 l->redis_error[0] ? l->redis_error : "no address");
        rankd__redis_apply(req, node, NULL, why);
        node_done(l, req, node);
        return;
    }
    rankd__redis_op *op = calloc(1, sizeof *op);
    int argc;
    char **argv;
    size_t *argvlen;
    if (op == NULL || rankd__redis_args(req, node, &argc, &argv, &argvlen) != RANKD_OK)
        oom_abort("starting a Redis command");
    op->req = req;
    op->node = node;
    rankd__redis_watch *watch = rankd__redis_hold(l->redis);
    int rc = redisAsyncCommandArgv(l->redis, redis_reply, op, argc, (const char **)argv, argvlen);
    rankd__redis_args_free(argc, argv, argvlen);
    if (rc != REDIS_OK) {
        rankd__redis_release(watch);
        free(op);
        rankd__redis_apply(req, node, NULL, "cannot send MGET");
        node_done(l, req, node);
        return;
    }
    /* Send now rather than on the loop's next turn: waiting for the socket
     * to be reported writable costs an epoll round and two epoll_ctl calls
     * per command, and a connected socket is writable. A connection still
     * being made is left to the loop, which completes it first. A write
     * error frees the context through the disconnect callback, which fails
     * the command's op through redis_reply. */
    if (l->redis->c.flags & REDIS_CONNECTED)
        redisAsyncHandleWrite(l->redis);
    rankd__redis_release(watch);
    timer_heap_push(&l->timers,
                    (rankd__timer_entry){rankd_now_ns() + n->p.redis.timeout_ns, NULL, 0, op});
}

/* A sleep lasts from the moment its node became ready, as on the sync
 * scheduler, not from the moment the loop got to it: the loop's wake-up
 * latency is not part of the simulated I/O, and sleeps handed over in
 * order end in that order whichever thread started them. */
static void task_start(io_loop *l, rankd_request *req, uint32_t node, uint64_t ready_ns)
{
    const rankd_node *n = &req->plan->nodes[node];
    if (atomic_load_explicit(&req->failed, memory_order_relaxed)) {
        req->outputs[node].count = 0;
        node_done(l, req, node);
    } else if (n->op == RANKD_OP_SLEEP) {
        timer_heap_push(&l->timers,
                        (rankd__timer_entry){ready_ns + n->p.sleep.ns, req, node, NULL});
    } else {
        redis_start(l, req, node);
    }
}

static void timers_fire(io_loop *l)
{
    uint64_t now = rankd_now_ns();
    while (l->timers.count > 0 && l->timers.items[0].deadline <= now) {
        rankd__timer_entry e = rankd__timer_heap_pop(&l->timers);
        if (e.req != NULL) {
            rankd__pass_through(e.req, e.node);
            node_done(l, e.req, e.node);
        } else if (e.op->finished) {
            free(e.op);
        } else {
            char why[64];
            snprintf(why, sizeof why, "timed out after %.3f ms",
                     (double)e.op->req->plan->nodes[e.op->node].p.redis.timeout_ns / 1e6);
            redis_finish(l, e.op, NULL, why);
            /* The reply, when it comes, sees finished and frees the op. */
        }
    }
}

static void on_timer(uv_poll_t *handle, int status, int events)
{
    io_loop *l = handle->data;
    uint64_t expirations;
    (void)!read(l->tfd, &expirations, sizeof expirations);
    l->armed = 0;
    timers_fire(l);
    timer_rearm(l);
}

static void on_wake(uv_async_t *handle)
{
    io_loop *l = handle->data;
    for (;;) {
        pthread_mutex_lock(&l->lock);
        io_task *tasks = l->inbox;
        uint32_t n = l->inbox_count, cap = l->inbox_cap;
        l->inbox = l->draining;
        l->inbox_cap = l->draining_cap;
        l->inbox_count = 0;
        pthread_mutex_unlock(&l->lock);
        l->draining = tasks;
        l->draining_cap = cap;
        if (n == 0)
            break;
        for (uint32_t i = 0; i < n; i++)
            task_start(l, tasks[i].req, tasks[i].node, tasks[i].ready_ns);
    }
    /* A sleep of zero is already due. */
    timers_fire(l);
    timer_rearm(l);
    if (atomic_load(&l->stop)) {
        uv_close((uv_handle_t *)&l->wake, NULL);
        uv_close((uv_handle_t *)&l->timer_watch, NULL);
        if (l->redis != NULL) {
            redisAsyncContext *ac = l->redis;
            l->redis = NULL;
            redisAsyncFree(ac);
        }
    }
}

static void *loop_main(void *arg)
{
    io_loop *l = arg;
    current_loop = l;
    /* Sleep nodes want their deadlines to the microsecond. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    uv_run(&l->loop, UV_RUN_DEFAULT);
    current_loop = NULL;
    return NULL;
}

bool rankd__io_submit(rankd_io *io, rankd_request *req, uint32_t node)
{
    io_loop *l = &io->loops[req->io_index % io->n_loops];
    if (current_loop == l) {
        task_start(l, req, node, rankd_now_ns());
        timers_fire(l);
        timer_rearm(l);
        return false;
    }
    pthread_mutex_lock(&l->lock);
    if (l->inbox_count == l->inbox_cap) {
        l->inbox_cap = l->inbox_cap ? l->inbox_cap * 2 : 256;
        l->inbox = realloc(l->inbox, l->inbox_cap * sizeof *l->inbox);
        if (l->inbox == NULL)
            oom_abort("growing an I/O inbox");
    }
    l->inbox[l->inbox_count++] = (io_task){req, node, rankd_now_ns()};
    bool first = l->inbox_count == 1;
    pthread_mutex_unlock(&l->lock);
    /* Only the first task of an inbox needs a wake: the loop empties the
     * inbox until it finds it empty, so later ones are taken with it (a
     * fan-out of four sleeps costs one wake-up, not four). */
    if (first)
        uv_async_send(&l->wake);
    return first;
}

uint32_t rankd__io_count(const rankd_io *io)
{
    return io->n_loops;
}

static int loop_init(rankd_io *io, io_loop *l, rankd_error *err)
{
    l->io = io;
    l->tfd = -1;
    if (pthread_mutex_init(&l->lock, NULL) != 0 || uv_loop_init(&l->loop) != 0)
        return rankd_error_set(err, RANKD_ERUNTIME, "cannot create an I/O loop");
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->tfd < 0 || uv_async_init(&l->loop, &l->wake, on_wake) != 0 ||
        uv_poll_init(&l->loop, &l->timer_watch, l->tfd) != 0)
        return rankd_error_set(err, RANKD_ERUNTIME, "cannot create an I/O loop's timer");
    l->wake.data = l;
    l->timer_watch.data = l;
    uv_poll_start(&l->timer_watch, UV_READABLE, on_timer);
    if (io->redis_addr != NULL)
        redis_connect(l);
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0)
        return rankd_error_set(err, RANKD_ERUNTIME, "cannot start an I/O thread");
    l->started = true;
    return RANKD_OK;
}

int rankd__io_create(uint32_t threads, const char *redis_addr, rankd_io_done_fn done, void *sched,
                     rankd_io **out, rankd_error *err)
{
    *out = NULL;
    if (threads < 1 || threads > 256)
        return rankd_error_set(err, RANKD_EINPUT, "%u I/O threads: not in [1, 256]", threads);
    rankd_io *io = calloc(1, sizeof *io);
    if (io == NULL)
        return rankd_error_set(err, RANKD_ERUNTIME, "out of memory creating I/O loops");
    io->done = done;
    io->sched = sched;
    io->redis_addr = redis_addr != NULL ? strdup(redis_addr) : NULL;
    io->loops = calloc(threads, sizeof *io->loops);
    if (io->loops == NULL) {
        free(io->redis_addr);
        free(io);
        return rankd_error_set(err, RANKD_ERUNTIME, "out of memory creating I/O loops");
    }
    for (uint32_t i = 0; i < threads; i++) {
        io->n_loops = i + 1;
        int rc = loop_init(io, &io->loops[i], err);
        if (rc != RANKD_OK) {
            rankd__io_destroy(io);
            return rc;
        }
    }
    *out = io;
    return RANKD_OK;
}

void rankd__io_destroy(rankd_io *io)
{
    if (io == NULL)
        return;
    for (uint32_t i = 0; i < io->n_loops; i++) {
        io_loop *l = &io->loops[i];
        if (!l->started)
            continue;
        atomic_store(&l->stop, true);
        uv_async_send(&l->wake);
        pthread_join(l->thread, NULL);
    }
    for (uint32_t i = 0; i < io->n_loops; i++) {
        io_loop *l = &io->loops[i];
        if (l->started) {
            uv_run(&l->loop, UV_RUN_NOWAIT);
            uv_loop_close(&l->loop);
        }
        while (l->timers.count > 0) {
            rankd__timer_entry e = rankd__timer_heap_pop(&l->timers);
            free(e.op);
        }
        free(l->timers.items);
        free(l->inbox);
        free(l->draining);
        if (l->tfd >= 0)
            close(l->tfd);
        pthread_mutex_destroy(&l->lock);
    }
    free(io->loops);
    free(io->redis_addr);
    free(io);
}
