/* The async scheduler: a pool of CPU workers running ready nodes.
 *
 * Waking a sleeping thread costs several microseconds here, far more than a
 * node, so the design avoids it on the hot path: the thread that completes
 * a node runs its first ready successor itself, and only real fan-out (a
 * second ready successor) is queued where another worker may take it.
 *
 * Fairness: new requests wait in one FIFO (the inject queue) and are served
 * oldest first; a worker finishes the request it is running (its own queue)
 * before it takes a new one. A request submitted from a worker (the
 * closed-loop bench issuing its next request from the completion callback)
 * continues on that worker only when no other work is queued anywhere. */
#include "internal.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How often an idle worker looks for work before it sleeps. Spinning keeps
 * a worker ready for fan-out that is about to come. */
#define IDLE_SPINS 2000

typedef struct task {
    rankd_request *req;
    uint32_t node;
} task;

/* A growable ring of tasks behind a mutex. Uncontended locking costs tens
 * of nanoseconds, which the fan-out path can afford; count is atomic so an
 * idle worker can look without locking. */
typedef struct task_queue {
    pthread_mutex_t lock;
    task *items;
    uint32_t cap;
    uint32_t head;
    atomic_uint count;
} task_queue;

typedef struct worker {
    rankd_sched *sched;
    uint32_t index;
    pthread_t thread;
    bool started;
    task_queue local;
    /* The next task this worker runs, set by a submit from this worker. */
    task cont;
    bool has_cont;
    rankd_thread_ctx *ctx;
} worker;

struct rankd_sched {
    worker *workers;
    uint32_t n_workers;
    task_queue inject;
    /* Futex word: bumped by every wake-up so a sleeper cannot miss one. */
    atomic_uint epoch;
    atomic_int sleepers;
    atomic_bool stop;
    rankd_io *io;
    uint32_t n_io;
};

static _Thread_local worker *current_worker;

static int queue_init(task_queue *q)
{
    q->cap = 256;
    q->head = 0;
    atomic_init(&q->count, 0);
    q->items = malloc(q->cap * sizeof *q->items);
    if (q->items == NULL)
        return -1;
    return pthread_mutex_init(&q->lock, NULL) == 0 ? 0 : -1;
}

static void queue_destroy(task_queue *q)
{
    if (q->items == NULL)
        return;
    pthread_mutex_destroy(&q->lock);
    free(q->items);
    q->items = NULL;
}

static void queue_push(task_queue *q, task t)
{
    pthread_mutex_lock(&q->lock);
    uint32_t n = atomic_load_explicit(&q->count, memory_order_relaxed);
    if (n == q->cap) {
        /* Rare: grow and unwrap the ring. Losing a task is not an option,
         * so an allocation failure here aborts with a message. */
        task *grown = malloc(2 * q->cap * sizeof *grown);
        if (grown == NULL) {
            static const char msg[] = "rankd: out of memory growing a task queue\n";
            (void)!write(2, msg, sizeof msg - 1);
            abort();
        }
        for (uint32_t i = 0; i < n; i++)
            grown[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = grown;
        q->head = 0;
        q->cap *= 2;
    }
    q->items[(q->head + n) % q->cap] = t;
    atomic_store_explicit(&q->count, n + 1, memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
}

/* lifo: the owner takes its newest task (cache-hot); thieves take the
 * oldest. */
static bool queue_pop(task_queue *q, task *out, bool lifo)
{
    if (atomic_load_explicit(&q->count, memory_order_relaxed) == 0)
        return false;
    pthread_mutex_lock(&q->lock);
    uint32_t n = atomic_load_explicit(&q->count, memory_order_relaxed);
    bool found = n > 0;
    if (found) {
        if (lifo) {
            *out = q->items[(q->head + n - 1) % q->cap];
        } else {
            *out = q->items[q->head];
            q->head = (q->head + 1) % q->cap;
        }
        atomic_store_explicit(&q->count, n - 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&q->lock);
    return found;
}

static void futex_wait(atomic_uint *word, uint32_t expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* Called after queueing work: wakes one sleeper if there is one. The fence
 * pairs with the one in worker_sleep so that either the pusher sees the
 * sleeper or the sleeper sees the task. */
static void sched_notify(rankd_sched *s)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleepers, memory_order_relaxed) > 0) {
        atomic_fetch_add_explicit(&s->epoch, 1, memory_order_release);
        futex_wake(&s->epoch, 1);
    }
}

static bool find_task(worker *w, task *out)
{
    rankd_sched *s = w->sched;
    if (queue_pop(&w->local, out, true) || queue_pop(&s->inject, out, false))
        return true;
    for (uint32_t i = 1; i < s->n_workers; i++) {
        worker *victim = &s->workers[(w->index + i) % s->n_workers];
        if (queue_pop(&victim->local, out, false))
            return true;
    }
    return false;
}

static bool work_visible(const rankd_sched *s)
{
    if (atomic_load_explicit(&s->inject.count, memory_order_relaxed) > 0)
        return true;
    for (uint32_t i = 0; i < s->n_workers; i++) {
        if (atomic_load_explicit(&s->workers[i].local.count, memory_order_relaxed) > 0)
            return true;
    }
    return false;
}

static void worker_sleep(worker *w)
{
    rankd_sched *s = w->sched;
    uint32_t seen = atomic_load_explicit(&s->epoch, memory_order_acquire);
    atomic_fetch_add_explicit(&s->sleepers, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (!work_visible(s) && !atomic_load(&s->stop))
        futex_wait(&s->epoch, seen);
    atomic_fetch_sub_explicit(&s->sleepers, 1, memory_order_relaxed);
}

/* Completes a node: the sink finishes the request; ready I/O successors go
 * to the request's loop; ready CPU successors are queued on q, except the
 * first when keep_first, which is returned for the caller to run itself
 * (UINT32_MAX when there is none). */
static uint32_t node_complete(rankd_sched *s, rankd_request *req, uint32_t node, task_queue *q,
                              bool keep_first)
{
    const rankd_plan *plan = req->plan;
    if (node == plan->sink) {
        req->on_done(req, req->done_arg);
        return UINT32_MAX;
    }
    const rankd_node *n = &plan->nodes[node];
    uint32_t next = UINT32_MAX;
    bool queued = false;
    for (uint32_t k = 0; k < n->n_succ; k++) {
        uint32_t succ = n->succ[k];
        if (atomic_fetch_sub_explicit(&req->pending[succ], 1, memory_order_acq_rel) != 1)
            continue;
        if (rankd_op_is_io(plan->nodes[succ].op)) {
            rankd__io_submit(s->io, req, succ);
        } else if (keep_first && next == UINT32_MAX) {
            next = succ;
        } else {
            queue_push(q, (task){req, succ});
            queued = true;
        }
    }
    if (queued)
        sched_notify(s);
    return next;
}

/* Runs a node and then, on this thread, its first ready successor, and so
 * on down the chain. Other ready successors go to this worker's queue. */
static void run_chain(worker *w, rankd_request *req, uint32_t node)
{
    while (node != UINT32_MAX) {
        rankd_node_run(req, node, w->ctx);
        node = node_complete(w->sched, req, node, &w->local, true);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    rankd_sched *s = w->sched;
    current_worker = w;
    for (;;) {
        task t;
        if (w->has_cont) {
            t = w->cont;
            w->has_cont = false;
        } else if (!find_task(w, &t)) {
            bool found = false;
            for (int spin = 0; spin < IDLE_SPINS && !found; spin++) {
                __builtin_ia32_pause();
                found = work_visible(s) && find_task(w, &t);
            }
            if (!found) {
                if (atomic_load(&s->stop))
                    break;
                worker_sleep(w);
                continue;
            }
        }
        run_chain(w, t.req, t.node);
    }
    current_worker = NULL;
    return NULL;
}

/* Hands a ready CPU node of a running request to this worker: the first
 * becomes its continuation, the others go to its queue for thieves. */
static void dispatch_ready(worker *w, rankd_sched *s, rankd_request *req, uint32_t node)
{
    if (!w->has_cont) {
        w->cont = (task){req, node};
        w->has_cont = true;
    } else {
        queue_push(&w->local, (task){req, node});
        sched_notify(s);
    }
}

/* A new request joins the back of the shared FIFO, behind every request
 * queued before it. A worker may run it at once only when nothing waits in
 * that FIFO nor in its own queue (the closed loop at concurrency 1, or one
 * slot per worker: no queue, no wake-up); were it to do so with requests
 * waiting, the completing thread would re-issue into its own slot and run
 * that slot forever while older requests starve. Other workers' queues
 * hold the branches of requests they are running, which they finish first
 * whatever this worker does. */
void rankd_sched_submit(rankd_sched *s, rankd_request *req)
{
    const rankd_plan *plan = req->plan;
    worker *w = current_worker != NULL && current_worker->sched == s ? current_worker : NULL;
    bool run_here = w != NULL && !w->has_cont &&
                    atomic_load_explicit(&s->inject.count, memory_order_relaxed) == 0 &&
                    atomic_load_explicit(&w->local.count, memory_order_relaxed) == 0;
    bool queued = false;
    req->io_index = s->n_io > 0 ? (uint32_t)(req->slot % s->n_io) : 0;
    for (uint32_t i = 0; i < plan->n_roots; i++) {
        uint32_t root = plan->roots[i];
        if (rankd_op_is_io(plan->nodes[root].op)) {
            rankd__io_submit(s->io, req, root);
        } else if (run_here) {
            dispatch_ready(w, s, req, root);
        } else {
            queue_push(&s->inject, (task){req, root});
            queued = true;
        }
    }
    if (queued)
        sched_notify(s);
}

/* Called on an I/O loop when an I/O node has its output: its ready CPU
 * successors go to the pool, its ready I/O successors stay on the loops. */
static void io_node_done(void *arg, rankd_request *req, uint32_t node)
{
    rankd_sched *s = arg;
    node_complete(s, req, node, &s->inject, false);
}

int rankd_sched_create(const rankd_sched_config *cfg, rankd_sched **out, rankd_error *err)
{
    int rc = RANKD_ERUNTIME;
    *out = NULL;
    if (cfg->cpu_threads < 1 || cfg->cpu_threads > 1024)
        return rankd_error_set(err, RANKD_EINPUT, "%u CPU threads: not in [1, 1024]",
                               cfg->cpu_threads);
    rankd_sched *s = calloc(1, sizeof *s);
    if (s == NULL || queue_init(&s->inject) != 0)
        goto oom;
    s->n_workers = cfg->cpu_threads;
    s->workers = calloc(s->n_workers, sizeof *s->workers);
    if (s->workers == NULL)
        goto oom;
    if (cfg->with_io) {
        rc = rankd__io_create(cfg->io_threads, cfg->redis_addr, io_node_done, s, &s->io, err);
        if (rc != RANKD_OK)
            goto fail;
        s->n_io = rankd__io_count(s->io);
    }
    for (uint32_t i = 0; i < s->n_workers; i++) {
        worker *w = &s->workers[i];
        w->sched = s;
        w->index = i;
        if (queue_init(&w->local) != 0)
            goto oom;
        rc = rankd_thread_ctx_create(NULL, &w->ctx, err);
        if (rc != RANKD_OK)
            goto fail;
    }
    for (uint32_t i = 0; i < s->n_workers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            rc = rankd_error_set(err, RANKD_ERUNTIME, "cannot start CPU worker %u", i);
            goto fail;
        }
        s->workers[i].started = true;
    }
    *out = s;
    return RANKD_OK;
oom:
    rc = rankd_error_set(err, RANKD_ERUNTIME, "out of memory creating the async scheduler");
fail:
    rankd_sched_destroy(s);
    return rc;
}

void rankd_sched_destroy(rankd_sched *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    atomic_fetch_add(&s->epoch, 1);
    futex_wake(&s->epoch, INT32_MAX);
    for (uint32_t i = 0; s->workers != NULL && i < s->n_workers; i++) {
        if (s->workers[i].started)
            pthread_join(s->workers[i].thread, NULL);
    }
    rankd__io_destroy(s->io);
    if (s->workers != NULL) {
        for (uint32_t i = 0; i < s->n_workers; i++) {
            queue_destroy(&s->workers[i].local);
            rankd_thread_ctx_free(s->workers[i].ctx);
        }
    }
    free(s->workers);
    queue_destroy(&s->inject);
    free(s);
}

typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
} waiter;

static void waiter_done(rankd_request *req, void *arg)
{
    waiter *wt = arg;
    pthread_mutex_lock(&wt->lock);
    wt->done = true;
    pthread_cond_signal(&wt->cond);
    pthread_mutex_unlock(&wt->lock);
}

int rankd_run_async(rankd_sched *s, rankd_request *req)
{
    waiter wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    req->on_done = waiter_done;
    req->done_arg = &wt;
    rankd_sched_submit(s, req);
    pthread_mutex_lock(&wt.lock);
    while (!wt.done)
        pthread_cond_wait(&wt.cond, &wt.lock);
    pthread_mutex_unlock(&wt.lock);
    return atomic_load(&req->failed) ? RANKD_ERUNTIME : RANKD_OK;
}
