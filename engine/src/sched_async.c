/* The async scheduler: a pool of CPU workers running ready nodes, beside the
 * I/O loops (io.c) that run sleep and Redis nodes.
 *
 * Waking a sleeping thread costs several microseconds here (a futex wake,
 * or an eventfd write for an I/O loop, and the wakee's trip through the
 * kernel), far more than most nodes, so the scheduler hands work to
 * another thread only when that pays. It measures what each node costs (a
 * sampled moving average, kept with the request) and:
 *
 * - the thread that completes a node runs its first ready successor
 *   itself; a further ready successor that costs less than a wake-up is
 *   kept by the same thread too (on its private stack, which no other
 *   thread sees), and only dearer ones -- real parallel work -- go to the
 *   worker's queue, where an idle worker may steal them;
 * - an I/O loop that completes an I/O node runs the ready cheap successors
 *   itself when every worker sleeps and nothing is queued, instead of
 *   waking a worker for a few microseconds of work; the request's next
 *   I/O node is then started on that same loop without any wake-up, and a
 *   request the completion callback submits from there (the closed-loop
 *   bench) runs there too. Under load the workers are awake and the loops
 *   hand everything to them.
 *
 * Fairness: new requests wait in FIFOs and are served oldest first: the
 * inject queue for requests from outside the CPU workers (callers, I/O
 * loops), and one per worker for the requests it submitted itself (the
 * closed loop re-issuing a slot from the completion callback), which an
 * idle worker steals from when it runs dry. A worker finishes the request
 * it is running (its private stack and its own queue) before it takes a
 * new one, and takes from the inject queue before its own FIFO. A request
 * submitted from a thread of the scheduler continues on that thread only
 * when nothing else waits. */
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

/* What waking a sleeping worker costs until the scheduler has measured it
 * (the time from the futex wake to the woken worker running, a moving
 * average kept in wake_cost_ns): 10 to 60 us on this project's 2-core KVM
 * guest. A node that costs less runs on the thread that made it ready. */
#define WAKE_COST_NS 10000u

/* The most a node may cost and still count as cheap, whatever a wake was
 * measured to cost: on a host so loaded that a wake takes a millisecond,
 * an I/O loop must still not run long CPU work while replies and timers
 * wait for it. */
#define CHEAP_MAX_NS 50000u

/* One run of a node in this many is timed (plus every run of a node not
 * measured yet): two clock reads on every run would cost as much as the
 * scheduler itself on a trivial node. A power of two. */
#define COST_SAMPLE_EVERY 64u

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
    /* Tasks taken so far: others read it, without the lock, to tell a
     * queue whose owner is stalled from one that moves. */
    atomic_uint pops;
} task_queue;

/* A growable array of tasks only its owner touches: ready nodes too cheap
 * to hand to another thread. A worker takes the newest (LIFO, cache-hot:
 * they are branches of the request it runs); an I/O loop takes the oldest
 * (FIFO), because its tasks come from several requests' completions, and
 * must run in the order those completed. */
typedef struct task_stack {
    task *items;
    uint32_t head;
    uint32_t count;
    uint32_t cap;
} task_stack;

/* A thread of the scheduler that runs CPU nodes: a worker, or an I/O loop
 * running cheap successors of its I/O nodes. */
typedef struct runner {
    rankd_sched *sched;
    rankd_thread_ctx *ctx;
    /* Where ready nodes worth another thread go: the worker's own queue,
     * or the inject queue for an I/O loop. */
    task_queue *spill;
    task_stack mine;
    /* Picks the runs whose cost is sampled. */
    uint32_t rng;
    /* An I/O loop's runner: its loop, and whether it is inside
     * io_node_done (a nested completion only queues on mine). */
    bool is_io;
    uint32_t io_index;
    bool draining;
    /* Wake-ups this thread caused; written by this thread only, read by
     * rankd__sched_wakeups at any time. */
    atomic_ullong wakeups;
} runner;

typedef struct worker {
    runner r;
    uint32_t index;
    pthread_t thread;
    bool started;
    task_queue local;
    /* The requests this worker submitted while others waited (the closed
     * loop re-issuing a slot), oldest first: one FIFO per worker rather
     * than the shared inject queue, whose lock and cache lines the workers
     * would otherwise pass back and forth on every request. Others steal
     * from its head when they run dry. */
    task_queue fresh;
    /* Per other worker: its fresh queue's pops when last looked at, and
     * how many of this worker's own requests began since they moved. */
    uint32_t *seen_pops;
    uint32_t *stalled_for;
} worker;

struct rankd_sched {
    worker *workers;
    uint32_t n_workers;
    /* One per I/O loop, used by the loop's thread only. */
    runner *io_runners;
    uint32_t n_io_runners;
    task_queue inject;
    /* Futex word: bumped by every wake-up so a sleeper cannot miss one. */
    atomic_uint epoch;
    atomic_int sleepers;
    /* Idle workers looking for work before they sleep: one of them takes
     * new work without being woken. */
    atomic_int spinning;
    /* When the last futex wake was sent, and the measured cost of a wake
     * (ns from the wake to the woken worker running, moving average). */
    atomic_ullong woke_at;
    atomic_uint wake_cost_ns;
    atomic_bool stop;
    rankd_io *io;
    uint32_t n_io;
    /* Wake-ups caused by threads that are not the scheduler's (a caller
     * submitting a request). */
    atomic_ullong foreign_wakeups;
};

static _Thread_local runner *current_runner;

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
        atomic_store_explicit(&q->pops, atomic_load_explicit(&q->pops, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
    pthread_mutex_unlock(&q->lock);
    return found;
}

static void stack_push(task_stack *st, task t)
{
    if (st->head > 0 && st->head == st->count) {
        st->head = 0;
        st->count = 0;
    }
    if (st->count == st->cap) {
        uint32_t cap = st->cap ? st->cap * 2 : 64;
        task *grown = realloc(st->items, cap * sizeof *grown);
        if (grown == NULL) {
            static const char msg[] = "rankd: out of memory growing a task stack\n";
            (void)!write(2, msg, sizeof msg - 1);
            abort();
        }
        st->items = grown;
        st->cap = cap;
    }
    st->items[st->count++] = t;
}

static bool stack_empty(const task_stack *st)
{
    return st->head == st->count;
}

static bool stack_pop(task_stack *st, task *out, bool fifo)
{
    if (stack_empty(st))
        return false;
    *out = fifo ? st->items[st->head++] : st->items[--st->count];
    return true;
}

/* Counts a wake-up caused by the calling thread. Only the owner writes its
 * counter, so a plain load and store suffice (no locked instruction). */
static void count_wakeup(rankd_sched *s)
{
    runner *r = current_runner;
    if (r != NULL && r->sched == s)
        atomic_store_explicit(&r->wakeups,
                              atomic_load_explicit(&r->wakeups, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&s->foreign_wakeups, 1, memory_order_relaxed);
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
    if (atomic_load_explicit(&s->spinning, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&s->sleepers, memory_order_relaxed) > 0) {
        atomic_store_explicit(&s->woke_at, rankd_now_ns(), memory_order_relaxed);
        atomic_fetch_add_explicit(&s->epoch, 1, memory_order_release);
        futex_wake(&s->epoch, 1);
        count_wakeup(s);
    }
}

/* Hands an I/O node to its loop, counting the wake-up when the loop is
 * another thread's. */
static void io_submit(rankd_sched *s, rankd_request *req, uint32_t node)
{
    if (rankd__io_submit(s->io, req, node))
        count_wakeup(s);
}

/* Whether a ready node should stay on the thread that made it ready: it
 * was measured and costs less than waking another thread would. */
static bool cheap(const rankd_sched *s, const rankd_request *req, uint32_t node)
{
    uint32_t cost = atomic_load_explicit(&req->cost_ns[node], memory_order_relaxed);
    uint32_t wake = atomic_load_explicit(&s->wake_cost_ns, memory_order_relaxed);
    return cost != 0 && cost < (wake < CHEAP_MAX_NS ? wake : CHEAP_MAX_NS);
}

/* Moves a moving average an eighth of the way to a sample. */
static uint32_t average_in(uint32_t avg, uint32_t sample)
{
    int64_t next = avg == 0 ? sample : (int64_t)avg + ((int64_t)sample - (int64_t)avg) / 8;
    return next > 0 ? (uint32_t)next : 1u;
}

/* Runs a CPU node, timing one run in COST_SAMPLE_EVERY (and every run
 * until the node has a cost) into its moving average, which moves an
 * eighth of the way to each sample. */
static void node_run(runner *r, rankd_request *req, uint32_t node)
{
    uint32_t cost = atomic_load_explicit(&req->cost_ns[node], memory_order_relaxed);
    r->rng = r->rng * 1664525u + 1013904223u;
    if (cost != 0 && (r->rng >> 16) % COST_SAMPLE_EVERY != 0) {
        rankd_node_run(req, node, r->ctx);
        return;
    }
    uint64_t t0 = rankd_now_ns();
    rankd_node_run(req, node, r->ctx);
    uint64_t took = rankd_now_ns() - t0;
    /* A run the kernel preempted says nothing about the node: cap it. */
    uint32_t sample = took < 1000000u ? (uint32_t)took + 1 : 1000000u;
    atomic_store_explicit(&req->cost_ns[node], average_in(cost, sample), memory_order_relaxed);
}

static bool find_task(worker *w, task *out)
{
    rankd_sched *s = w->r.sched;
    if (queue_pop(&w->local, out, true) || queue_pop(&s->inject, out, false))
        return true;
    /* A worker the host stalls (descheduled for milliseconds) would hold
     * the requests of its FIFO for as long. Once this worker has started
     * as many of its own as it holds while another's FIFO held work and
     * did not move, it serves that one's oldest. */
    uint32_t own = atomic_load_explicit(&w->fresh.count, memory_order_relaxed);
    for (uint32_t i = 1; i < s->n_workers; i++) {
        uint32_t v = (w->index + i) % s->n_workers;
        task_queue *q = &s->workers[v].fresh;
        uint32_t pops = atomic_load_explicit(&q->pops, memory_order_relaxed);
        if (pops != w->seen_pops[v] || atomic_load_explicit(&q->count, memory_order_relaxed) == 0) {
            w->seen_pops[v] = pops;
            w->stalled_for[v] = 0;
        } else if (++w->stalled_for[v] > own && queue_pop(q, out, false)) {
            w->stalled_for[v] = 0;
            return true;
        }
    }
    if (queue_pop(&w->fresh, out, false))
        return true;
    for (uint32_t i = 1; i < s->n_workers; i++) {
        worker *victim = &s->workers[(w->index + i) % s->n_workers];
        if (queue_pop(&victim->local, out, false))
            return true;
    }
    for (uint32_t i = 1; i < s->n_workers; i++) {
        worker *victim = &s->workers[(w->index + i) % s->n_workers];
        if (queue_pop(&victim->fresh, out, false))
            return true;
    }
    return false;
}

static bool work_visible(const rankd_sched *s)
{
    if (atomic_load_explicit(&s->inject.count, memory_order_relaxed) > 0)
        return true;
    for (uint32_t i = 0; i < s->n_workers; i++) {
        if (atomic_load_explicit(&s->workers[i].local.count, memory_order_relaxed) > 0 ||
            atomic_load_explicit(&s->workers[i].fresh.count, memory_order_relaxed) > 0)
            return true;
    }
    return false;
}

static void worker_sleep(worker *w)
{
    rankd_sched *s = w->r.sched;
    uint32_t seen = atomic_load_explicit(&s->epoch, memory_order_acquire);
    atomic_fetch_add_explicit(&s->sleepers, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (!work_visible(s) && !atomic_load(&s->stop)) {
        futex_wait(&s->epoch, seen);
        /* The wake this worker got, if it got one, measured from the
         * waker's clock; a wait of a millisecond or more is a worker the
         * kernel did not run, not the cost of a wake. */
        uint64_t sent = atomic_load_explicit(&s->woke_at, memory_order_relaxed);
        uint64_t took = rankd_now_ns() - sent;
        if (sent != 0 && took < 1000000u) {
            uint32_t cost = atomic_load_explicit(&s->wake_cost_ns, memory_order_relaxed);
            atomic_store_explicit(&s->wake_cost_ns, average_in(cost, (uint32_t)took),
                                  memory_order_relaxed);
        }
    }
    atomic_fetch_sub_explicit(&s->sleepers, 1, memory_order_relaxed);
}

/* Whether an I/O loop should run a ready CPU node itself: it is cheap, and
 * handing it over would wake a worker (every worker sleeps) while nothing
 * waits in the inject queue (where it would pass older requests). */
static bool io_keeps(rankd_sched *s, const rankd_request *req, uint32_t node)
{
    return cheap(s, req, node) &&
           atomic_load_explicit(&s->inject.count, memory_order_relaxed) == 0 &&
           (uint32_t)atomic_load_explicit(&s->sleepers, memory_order_relaxed) == s->n_workers;
}

/* Completes a node on runner r: the sink finishes the request; ready I/O
 * successors go to the request's loop; of the ready CPU successors, the
 * first is returned for r to run next when keep_first (UINT32_MAX when
 * there is none), and the others are kept on r's private stack when cheap
 * or spilled where another thread may take them. */
static uint32_t node_complete(runner *r, rankd_request *req, uint32_t node, bool keep_first)
{
    rankd_sched *s = r->sched;
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
        /* A node with one input is ready now: only a join needs the
         * atomic count (a locked instruction, on every edge otherwise). */
        if (plan->nodes[succ].n_inputs > 1 &&
            atomic_fetch_sub_explicit(&req->pending[succ], 1, memory_order_acq_rel) != 1)
            continue;
        if (rankd_op_is_io(plan->nodes[succ].op)) {
            io_submit(s, req, succ);
        } else if (keep_first && next == UINT32_MAX) {
            next = succ;
        } else if (r->is_io ? io_keeps(s, req, succ) : cheap(s, req, succ)) {
            stack_push(&r->mine, (task){req, succ});
        } else {
            queue_push(r->spill, (task){req, succ});
            queued = true;
        }
    }
    if (queued)
        sched_notify(s);
    return next;
}

/* Runs a node and then, on this thread, its first ready successor, and so
 * on down the chain; an I/O loop stops where a node is not cheap enough
 * to keep and hands it over. */
static void run_chain(runner *r, rankd_request *req, uint32_t node)
{
    while (node != UINT32_MAX) {
        node_run(r, req, node);
        node = node_complete(r, req, node, true);
        if (node != UINT32_MAX && r->is_io && !io_keeps(r->sched, req, node)) {
            queue_push(r->spill, (task){req, node});
            sched_notify(r->sched);
            return;
        }
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    rankd_sched *s = w->r.sched;
    current_runner = &w->r;
    for (;;) {
        task t;
        if (!stack_pop(&w->r.mine, &t, false) && !find_task(w, &t)) {
            /* Spin only while another worker runs, which may fan work out
             * any moment. With every other worker idle the work to come is
             * a new request or an I/O completion, which an I/O loop runs
             * itself when every worker sleeps (io_keeps): a spinning worker
             * would only take that from it, and the cores from the loop and
             * the Redis server. A spinner stops counting before it sleeps:
             * worker_sleep looks for work once more after announcing
             * itself, so a task pushed while neither count showed this
             * worker is still seen. */
            bool found = false;
            int idle = atomic_load_explicit(&s->sleepers, memory_order_relaxed) +
                       atomic_load_explicit(&s->spinning, memory_order_relaxed);
            if ((uint32_t)idle + 1 < s->n_workers) {
                atomic_fetch_add_explicit(&s->spinning, 1, memory_order_relaxed);
                atomic_thread_fence(memory_order_seq_cst);
                for (int spin = 0; spin < IDLE_SPINS && !found; spin++) {
                    __builtin_ia32_pause();
                    found = work_visible(s) && find_task(w, &t);
                }
                atomic_fetch_sub_explicit(&s->spinning, 1, memory_order_relaxed);
            }
            if (!found) {
                if (atomic_load(&s->stop))
                    break;
                worker_sleep(w);
                continue;
            }
        }
        run_chain(&w->r, t.req, t.node);
    }
    current_runner = NULL;
    return NULL;
}

/* A new request joins the back of a FIFO, behind every request queued
 * there before it: the submitting worker's own, or the inject queue when
 * the submitter is not a worker. A thread of the scheduler may run it at
 * once only when nothing waits in the inject queue nor on the thread
 * itself (the closed loop at
 * concurrency 1, or one slot per worker: no queue, no wake-up); were it to
 * do so with requests waiting, the completing thread would re-issue into
 * its own slot and run that slot forever while older requests starve.
 * Other workers' queues hold the branches of requests they are running,
 * which they finish first whatever this thread does. An I/O loop runs it
 * only when its roots are cheap and every worker sleeps (io_keeps), and
 * then serves its I/O nodes itself. */
void rankd_sched_submit(rankd_sched *s, rankd_request *req)
{
    const rankd_plan *plan = req->plan;
    runner *r = current_runner != NULL && current_runner->sched == s ? current_runner : NULL;
    bool run_here = r != NULL && stack_empty(&r->mine) &&
                    atomic_load_explicit(&s->inject.count, memory_order_relaxed) == 0;
    worker *w = r != NULL && !r->is_io ? (worker *)r : NULL;
    if (run_here && w != NULL)
        run_here = atomic_load_explicit(&w->local.count, memory_order_relaxed) == 0 &&
                   atomic_load_explicit(&w->fresh.count, memory_order_relaxed) == 0;
    for (uint32_t i = 0; i < plan->n_roots && run_here && r->is_io; i++) {
        uint32_t root = plan->roots[i];
        run_here = rankd_op_is_io(plan->nodes[root].op) || io_keeps(s, req, root);
    }
    bool queued = false;
    if (run_here && r->is_io)
        req->io_index = r->io_index;
    else
        req->io_index = s->n_io > 0 ? (uint32_t)(req->slot % s->n_io) : 0;
    for (uint32_t i = 0; i < plan->n_roots; i++) {
        uint32_t root = plan->roots[i];
        if (rankd_op_is_io(plan->nodes[root].op)) {
            io_submit(s, req, root);
        } else if (run_here && (stack_empty(&r->mine) || r->is_io || cheap(s, req, root))) {
            stack_push(&r->mine, (task){req, root});
        } else if (run_here) {
            queue_push(r->spill, (task){req, root});
            queued = true;
        } else {
            queue_push(w != NULL ? &w->fresh : &s->inject, (task){req, root});
            queued = true;
        }
    }
    if (queued)
        sched_notify(s);
}

/* Called on I/O loop number loop when an I/O node has its output. The
 * loop runs the cheap ready successors itself (see io_keeps), and the
 * chains they start, from its private stack; a completion nested in that
 * work (an I/O node failing at once, a sleep of zero) only adds to the
 * stack, which the outer call drains. */
static void io_node_done(void *arg, uint32_t loop, rankd_request *req, uint32_t node)
{
    rankd_sched *s = arg;
    runner *r = &s->io_runners[loop];
    runner *outer = current_runner;
    current_runner = r;
    node_complete(r, req, node, false);
    if (!r->draining) {
        r->draining = true;
        task t;
        while (stack_pop(&r->mine, &t, true))
            run_chain(r, t.req, t.node);
        r->draining = false;
    }
    current_runner = outer;
}

/* Wake-ups every thread has caused so far; see rankd__sched_wakeups. */
uint64_t rankd__sched_wakeups(const rankd_sched *s)
{
    uint64_t n = atomic_load_explicit(&s->foreign_wakeups, memory_order_relaxed);
    for (uint32_t i = 0; i < s->n_workers; i++)
        n += atomic_load_explicit(&s->workers[i].r.wakeups, memory_order_relaxed);
    for (uint32_t i = 0; s->io_runners != NULL && i < s->n_io_runners; i++)
        n += atomic_load_explicit(&s->io_runners[i].wakeups, memory_order_relaxed);
    return n;
}

/* Sets up a runner; its thread context holds the PCRE2 match data. */
static int runner_init(runner *r, rankd_sched *s, task_queue *spill, uint32_t seed,
                       rankd_error *err)
{
    r->sched = s;
    r->spill = spill;
    r->rng = seed * 2654435761u + 1;
    return rankd_thread_ctx_create(NULL, &r->ctx, err);
}

static void runner_destroy(runner *r)
{
    rankd_thread_ctx_free(r->ctx);
    free(r->mine.items);
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
    atomic_init(&s->wake_cost_ns, WAKE_COST_NS);
    s->workers = calloc(s->n_workers, sizeof *s->workers);
    if (s->workers == NULL)
        goto oom;
    for (uint32_t i = 0; i < s->n_workers; i++) {
        worker *w = &s->workers[i];
        w->index = i;
        w->seen_pops = calloc(s->n_workers, sizeof *w->seen_pops);
        w->stalled_for = calloc(s->n_workers, sizeof *w->stalled_for);
        if (queue_init(&w->local) != 0 || queue_init(&w->fresh) != 0 || w->seen_pops == NULL ||
            w->stalled_for == NULL)
            goto oom;
        rc = runner_init(&w->r, s, &w->local, i, err);
        if (rc != RANKD_OK)
            goto fail;
    }
    if (cfg->with_io) {
        /* The loops may complete nodes as soon as they run: their runners
         * exist first. io_create checks the count. */
        uint32_t n = cfg->io_threads >= 1 && cfg->io_threads <= 256 ? cfg->io_threads : 1;
        s->io_runners = calloc(n, sizeof *s->io_runners);
        if (s->io_runners == NULL)
            goto oom;
        s->n_io_runners = n;
        for (uint32_t i = 0; i < n; i++) {
            s->io_runners[i].is_io = true;
            s->io_runners[i].io_index = i;
            rc = runner_init(&s->io_runners[i], s, &s->inject, s->n_workers + i, err);
            if (rc != RANKD_OK)
                goto fail;
        }
        rc = rankd__io_create(cfg->io_threads, cfg->redis_addr, io_node_done, s, &s->io, err);
        if (rc != RANKD_OK)
            goto fail;
        s->n_io = rankd__io_count(s->io);
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
    for (uint32_t i = 0; s->io_runners != NULL && i < s->n_io_runners; i++)
        runner_destroy(&s->io_runners[i]);
    free(s->io_runners);
    if (s->workers != NULL) {
        for (uint32_t i = 0; i < s->n_workers; i++) {
            queue_destroy(&s->workers[i].local);
            queue_destroy(&s->workers[i].fresh);
            free(s->workers[i].seen_pops);
            free(s->workers[i].stalled_for);
            runner_destroy(&s->workers[i].r);
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
