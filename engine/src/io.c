/* The async scheduler's I/O side: libuv loops that run sleep and Redis
 * nodes, so no CPU worker ever blocks on them.
 *
 * libuv's own timers have millisecond resolution, which would add up to a
 * millisecond to every simulated sleep; each loop therefore keeps its own
 * heap of nanosecond deadlines behind one timerfd watched by the loop. */
#include "internal.h"

#include <hiredis/async.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

/* A failed Redis connection is retried at most this often. */
#define REDIS_RETRY_NS 100000000ull

typedef struct io_task {
    rankd_request *req;
    uint32_t node;
} io_task;

typedef struct io_loop io_loop;

/* A Redis command in flight. Whichever of its reply and its timeout comes
 * first completes the node; the other one frees the op. */
typedef struct redis_op {
    rankd_request *req;
    uint32_t node;
    bool finished;
} redis_op;

typedef struct timer_entry {
    uint64_t deadline;
    rankd_request *req; /* a sleep node, or NULL for a Redis timeout */
    uint32_t node;
    redis_op *op;
} timer_entry;

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
    timer_entry *heap;
    uint32_t heap_count;
    uint32_t heap_cap;
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

static void heap_push(io_loop *l, timer_entry e)
{
    if (l->heap_count == l->heap_cap) {
        l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 256;
        l->heap = realloc(l->heap, l->heap_cap * sizeof *l->heap);
        if (l->heap == NULL)
            oom_abort("growing a timer heap");
    }
    uint32_t i = l->heap_count++;
    while (i > 0 && l->heap[(i - 1) / 2].deadline > e.deadline) {
        l->heap[i] = l->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    l->heap[i] = e;
}

static timer_entry heap_pop(io_loop *l)
{
    timer_entry top = l->heap[0];
    timer_entry last = l->heap[--l->heap_count];
    uint32_t i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= l->heap_count)
            break;
        if (c + 1 < l->heap_count && l->heap[c + 1].deadline < l->heap[c].deadline)
            c++;
        if (l->heap[c].deadline >= last.deadline)
            break;
        l->heap[i] = l->heap[c];
        i = c;
    }
    if (l->heap_count > 0)
        l->heap[i] = last;
    return top;
}

/* Points the timerfd at the earliest deadline, if it changed. */
static void timer_rearm(io_loop *l)
{
    uint64_t next = l->heap_count > 0 ? l->heap[0].deadline : 0;
    if (next == l->armed)
        return;
    struct itimerspec its = {{0, 0},
                             {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)}};
    timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    l->armed = next;
}

static void node_done(io_loop *l, rankd_request *req, uint32_t node)
{
    l->io->done(l->io->sched, req, node);
}

static void redis_finish(io_loop *l, redis_op *op, const redisReply *reply, const char *failure)
{
    op->finished = true;
    rankd__redis_apply(op->req, op->node, reply, failure);
    node_done(l, op->req, op->node);
}

static void redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_op *op = privdata;
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

/* The glue between hiredis and libuv. The adapter packaged with hiredis
 * 0.14 returns early when libuv reports a socket error, so a refused
 * connection never completes and every command waits for its timeout;
 * this one hands the error to hiredis, which fails the pending commands. */
typedef struct redis_watch {
    uv_poll_t poll;
    redisAsyncContext *ac;
    int events;
} redis_watch;

static void redis_watch_cb(uv_poll_t *handle, int status, int events)
{
    redis_watch *w = handle->data;
    if (status < 0)
        events = w->events;
    /* Each call may free the context; cleanup then clears w->ac. */
    if (w->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(w->ac);
    if (w->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(w->ac);
}

static void redis_watch_update(redis_watch *w, int add, int del)
{
    w->events = (w->events | add) & ~del;
    if (w->events != 0)
        uv_poll_start(&w->poll, w->events, redis_watch_cb);
    else
        uv_poll_stop(&w->poll);
}

static void redis_add_read(void *data)
{
    redis_watch_update(data, UV_READABLE, 0);
}

static void redis_del_read(void *data)
{
    redis_watch_update(data, 0, UV_READABLE);
}

static void redis_add_write(void *data)
{
    redis_watch_update(data, UV_WRITABLE, 0);
}

static void redis_del_write(void *data)
{
    redis_watch_update(data, 0, UV_WRITABLE);
}

static void redis_watch_free(uv_handle_t *handle)
{
    free(handle->data);
}

static void redis_cleanup(void *data)
{
    redis_watch *w = data;
    w->ac = NULL;
    uv_close((uv_handle_t *)&w->poll, redis_watch_free);
}

static int redis_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    redis_watch *w = calloc(1, sizeof *w);
    if (w == NULL || uv_poll_init_socket(loop, &w->poll, ac->c.fd) != 0) {
        free(w);
        return -1;
    }
    w->poll.data = w;
    w->ac = ac;
    ac->ev.data = w;
    ac->ev.addRead = redis_add_read;
    ac->ev.delRead = redis_del_read;
    ac->ev.addWrite = redis_add_write;
    ac->ev.delWrite = redis_del_write;
    ac->ev.cleanup = redis_cleanup;
    return 0;
}

static void redis_connect(io_loop *l)
{
    char host[256];
    int port;
    rankd_error err;
    if (l->io->redis_addr == NULL ||
        rankd__parse_addr(l->io->redis_addr, host, sizeof host, &port, &err) != RANKD_OK)
        return;
    redisAsyncContext *ac = redisAsyncConnect(host, port);
    if (ac == NULL || ac->err || redis_attach(ac, &l->loop) != 0) {
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
    redis_op *op = calloc(1, sizeof *op);
    int argc;
    char **argv;
    size_t *argvlen;
    if (op == NULL || rankd__redis_args(req, node, &argc, &argv, &argvlen) != RANKD_OK)
        oom_abort("starting a Redis command");
    op->req = req;
    op->node = node;
    int rc = redisAsyncCommandArgv(l->redis, redis_reply, op, argc, (const char **)argv, argvlen);
    rankd__redis_args_free(argc, argv, argvlen);
    if (rc != REDIS_OK) {
        free(op);
        rankd__redis_apply(req, node, NULL, "cannot send MGET");
        node_done(l, req, node);
        return;
    }
    heap_push(l, (timer_entry){rankd_now_ns() + n->p.redis.timeout_ns, NULL, 0, op});
}

static void task_start(io_loop *l, rankd_request *req, uint32_t node)
{
    const rankd_node *n = &req->plan->nodes[node];
    if (atomic_load_explicit(&req->failed, memory_order_relaxed)) {
        req->outputs[node].count = 0;
        node_done(l, req, node);
    } else if (n->op == RANKD_OP_SLEEP) {
        heap_push(l, (timer_entry){rankd_now_ns() + n->p.sleep.ns, req, node, NULL});
    } else {
        redis_start(l, req, node);
    }
}

static void timers_fire(io_loop *l)
{
    uint64_t now = rankd_now_ns();
    while (l->heap_count > 0 && l->heap[0].deadline <= now) {
        timer_entry e = heap_pop(l);
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
            task_start(l, tasks[i].req, tasks[i].node);
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

void rankd__io_submit(rankd_io *io, rankd_request *req, uint32_t node)
{
    io_loop *l = &io->loops[req->io_index % io->n_loops];
    if (current_loop == l) {
        task_start(l, req, node);
        timers_fire(l);
        timer_rearm(l);
        return;
    }
    pthread_mutex_lock(&l->lock);
    if (l->inbox_count == l->inbox_cap) {
        l->inbox_cap = l->inbox_cap ? l->inbox_cap * 2 : 256;
        l->inbox = realloc(l->inbox, l->inbox_cap * sizeof *l->inbox);
        if (l->inbox == NULL)
            oom_abort("growing an I/O inbox");
    }
    l->inbox[l->inbox_count++] = (io_task){req, node};
    pthread_mutex_unlock(&l->lock);
    uv_async_send(&l->wake);
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
        return rankd_error_set(err, RANKD_EINPUT, "--io_threads: %u is not in [1, 256]", threads);
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
        while (l->heap_count > 0) {
            timer_entry e = heap_pop(l);
            free(e.op);
        }
        free(l->heap);
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
