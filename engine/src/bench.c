/* Bench mode. Requests are numbered in the order they are issued. The
 * warm-up ends by count and by time (see warm_up_completion); the measured
 * window opens then (the peak RSS is reset) and holds the requests issued
 * in it, each timed from its issue (closed loop: the completion of its
 * slot's previous request; open loop: its place in the schedule). A count
 * run's window closes with its last completion; a duration run's at its
 * deadline, after which the requests in flight are waited for, under the
 * same load (a cool-down), up to a bound, and then censored. Each thread
 * records into its own histogram; they are merged at the end, so recording
 * costs no synchronisation once the warm-up is over. */
#include "rankd/bench.h"

#include "internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#define NO_SEQ UINT64_MAX

typedef struct thread_stats thread_stats;

/* The start of the request a slot is running, 0 when idle. Whoever swaps
 * it to 0 accounts for the request: its completion, or the censoring at
 * the end of a run, never both. One cache line per slot, so completions
 * on different threads do not contend. */
typedef struct slot_state {
    _Alignas(64) atomic_uint_fast64_t start_ns;
    /* The slot completed a request during warm-up (under the lock). */
    bool served;
    /* Past the deadline, the slot finished its last measured request. */
    bool cooled;
} slot_state;

typedef struct bench {
    const rankd_bench_config *cfg;
    uint64_t generation;
    rankd_sched *sched;
    /* The scheduler's wake-up count when the window opened and when the
     * run ended (cool-down included, a few requests' worth). */
    uint64_t wakeups_open;
    uint64_t wakeups_close;
    /* Requests to issue, warm-up included: UINT64_MAX until the measured
     * window opens, then the warm-up's completions plus the requests asked
     * for (UINT64_MAX when a duration decides). */
    atomic_uint_fast64_t total;
    uint64_t period_ns;
    /* The run's start: every closed-loop slot's first request is issued
     * then, and the open loop's schedule starts there. */
    uint64_t t0;
    uint64_t drain_ns;
    atomic_uint_fast64_t next_seq;
    /* Warm-up, under the lock: completions so far, slots that completed
     * one, the slots that must (closed loop), and the time by which the
     * warm-up ends even if some slot has not. */
    uint64_t warm_completions;
    uint32_t served_slots;
    uint32_t slots_needed;
    uint64_t warm_limit;
    /* The first request issued in the measured window. */
    uint64_t seq_open;
    atomic_uint slots_cooled;
    atomic_bool measuring;
    atomic_uint_fast64_t measure_start;
    atomic_uint_fast64_t stop_at;
    atomic_bool stop;
    /* The run ended at its deadline (not by its count). */
    atomic_bool deadline_hit;
    bool rss_reset;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    thread_stats *stats;
    uint32_t active;
    /* Sync: set when every thread exists and the run starts. */
    bool go;
    bool open_async;
    /* Open loop: slots free to take the next request. */
    rankd_request **free_slots;
    uint32_t n_free;
    slot_state *slots;
    /* Requests censored at the end (main thread only). */
    rankd_hist *censored_hist;
    uint64_t censored;
    uint64_t oldest_censored_ns;
    double censored_sum_ns;
    uint64_t censored_at;
    char first_error[256];
} bench;

struct thread_stats {
    rankd_hist hist;
    uint64_t completed;
    uint64_t errors;
    uint64_t last_ns;
    /* Latency of every completion, failed ones included (Little's law). */
    double sum_all_ns;
    thread_stats *next;
};

/* A thread's stats belong to one bench run; the generation tells a stale
 * pointer (from an earlier run in this process) without dereferencing it. */
static atomic_uint_fast64_t bench_generation;
static _Thread_local thread_stats *tls_stats;
static _Thread_local uint64_t tls_generation;

/* Lets the kernel's peak RSS (VmHWM) start again from the current RSS. */
static bool rss_peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static uint64_t rss_peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
            break;
    }
    if (f != NULL)
        fclose(f);
    if (kb == 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = (unsigned long long)ru.ru_maxrss;
    }
    return kb;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Opens the measured window at time t: the histograms count from here,
 * the peak RSS starts again, a duration run gets its deadline and a count
 * run its last request. Called under the lock, or before any thread runs. */
static void open_window(bench *b, uint64_t t)
{
    b->rss_reset = rss_peak_reset();
    if (b->cfg->duration_sec > 0)
        atomic_store(&b->stop_at, t + (uint64_t)(b->cfg->duration_sec * 1e9));
    b->seq_open = atomic_load(&b->next_seq);
    if (b->cfg->requests > 0)
        atomic_store(&b->total, b->seq_open + b->cfg->requests);
    atomic_store(&b->measure_start, t);
    if (b->sched != NULL)
        b->wakeups_open = rankd__sched_wakeups(b->sched);
    atomic_store_explicit(&b->measuring, true, memory_order_release);
}

/* Whether a completion belongs to the warm-up. The warm-up ends by count
 * and by time: once warmup_iters requests have completed and, in the
 * closed loop, every slot has completed one (so a slot's slow first request
 * is not measured against the steady state), or at warm_limit if some slot
 * has not (so a starved slot cannot keep the warm-up open, nor hide in it:
 * its first request is then measured with its whole latency). The lock is
 * taken only while warming up. */
static bool warm_up_completion(bench *b, rankd_request *req, uint64_t now)
{
    if (atomic_load_explicit(&b->measuring, memory_order_acquire))
        return false;
    pthread_mutex_lock(&b->lock);
    bool warm = !atomic_load(&b->measuring);
    if (warm) {
        slot_state *slot = &b->slots[req->slot];
        if (!slot->served) {
            slot->served = true;
            b->served_slots++;
        }
        b->warm_completions++;
        if (b->warm_completions >= b->cfg->warmup_iters &&
            (b->served_slots >= b->slots_needed || now >= b->warm_limit))
            open_window(b, now);
    }
    pthread_mutex_unlock(&b->lock);
    return warm;
}

/* Past the deadline, whether every slot of a closed loop has finished the
 * request it had in flight then; marks this slot's as finished. */
static bool cooled_down(bench *b, uint32_t slot)
{
    slot_state *st = &b->slots[slot];
    if (!st->cooled) {
        st->cooled = true;
        atomic_fetch_add(&b->slots_cooled, 1);
    }
    return atomic_load(&b->slots_cooled) >= b->slots_needed;
}

/* Takes the next request number for a slot, or NO_SEQ when the run is
 * over: the count is issued, or the wall clock (now) reached the deadline,
 * whatever the rate. *when is its start: now for the closed loop (a slot's
 * next request is issued the moment its previous one completes, so time a
 * thread spends between requests is counted), its slot in the schedule for
 * the open loop.
 *
 * Past a closed loop's deadline the slots keep issuing unmeasured requests
 * (a cool-down) until every slot has finished the request it had in flight
 * at the deadline: the last measured requests then finish under the same
 * load as the rest, instead of on a machine that emptied as other slots
 * stopped, which would make them look faster and Little's law come short. */
static uint64_t bench_next(bench *b, uint32_t slot, uint64_t now, uint64_t *when)
{
    if (atomic_load_explicit(&b->stop, memory_order_relaxed))
        return NO_SEQ;
    uint64_t stop_at = atomic_load_explicit(&b->stop_at, memory_order_relaxed);
    if (stop_at != 0 && now >= stop_at) {
        atomic_store(&b->deadline_hit, true);
        if (b->period_ns != 0 || cooled_down(b, slot)) {
            atomic_store(&b->stop, true);
            return NO_SEQ;
        }
    }
    uint64_t seq = atomic_fetch_add_explicit(&b->next_seq, 1, memory_order_relaxed);
    if (seq >= atomic_load_explicit(&b->total, memory_order_relaxed)) {
        atomic_store(&b->stop, true);
        return NO_SEQ;
    }
    uint64_t t = b->period_ns ? b->t0 + seq * b->period_ns : now;
    if (b->period_ns != 0 && stop_at != 0 && t >= stop_at) {
        atomic_store(&b->deadline_hit, true);
        atomic_store(&b->stop, true);
        return NO_SEQ;
    }
    *when = t;
    return seq;
}

static thread_stats *stats_for_thread(bench *b)
{
    thread_stats *st = tls_stats;
    if (st != NULL && tls_generation == b->generation)
        return st;
    st = malloc(sizeof *st);
    if (st == NULL) {
        fprintf(stderr, "rankd: out of memory for a latency histogram\n");
        abort();
    }
    rankd_hist_reset(&st->hist);
    st->completed = st->errors = st->last_ns = 0;
    st->sum_all_ns = 0.0;
    pthread_mutex_lock(&b->lock);
    st->next = b->stats;
    b->stats = st;
    pthread_mutex_unlock(&b->lock);
    tls_stats = st;
    tls_generation = b->generation;
    return st;
}

/* The measured requests are the ones issued in the window, and a slot's
 * first request if it was still running when the warm-up ended. Counting
 * requests by their issue, not by their completion, keeps Little's law
 * unbiased: the window leaves out the part of the request in flight at its
 * start that falls after it, and takes in the part of the request in flight
 * at its end that falls after that, two lifetimes of the same law. */
static bool measured(const bench *b, const rankd_request *req)
{
    return req->seq >= b->seq_open || (b->slots_needed > 0 && !b->slots[req->slot].served);
}

/* Accounts for a completed request: warm-up, or measured. */
static void bench_record(bench *b, rankd_request *req, uint64_t now)
{
    if (atomic_exchange_explicit(&b->slots[req->slot].start_ns, 0, memory_order_acq_rel) == 0)
        return;
    if (warm_up_completion(b, req, now) || !measured(b, req))
        return;
    thread_stats *st = stats_for_thread(b);
    uint64_t latency = now > req->start_ns ? now - req->start_ns : 0;
    st->completed++;
    st->sum_all_ns += (double)latency;
    if (now > st->last_ns)
        st->last_ns = now;
    if (atomic_load_explicit(&req->failed, memory_order_relaxed)) {
        st->errors++;
        pthread_mutex_lock(&b->lock);
        if (b->first_error[0] == '\0')
            snprintf(b->first_error, sizeof b->first_error, "%s", req->error);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    rankd_hist_record(&st->hist, latency);
}

/* A cool-down request (issued past the deadline) leaves its slot's start
 * at 0: it is neither recorded nor censored. */
static void request_start(bench *b, rankd_request *req, uint64_t seq, uint64_t when)
{
    uint64_t stop_at = atomic_load_explicit(&b->stop_at, memory_order_relaxed);
    rankd_request_reset(req, b->cfg->base_user_id + seq % 1024);
    req->seq = seq;
    req->start_ns = when;
    atomic_store_explicit(&b->slots[req->slot].start_ns, stop_at != 0 && when >= stop_at ? 0 : when,
                          memory_order_release);
}

static void retire(bench *b)
{
    pthread_mutex_lock(&b->lock);
    if (--b->active == 0)
        pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* Closed loop, async: the completing thread issues the slot's next
 * request; the scheduler queues it behind older ones (or, with nothing
 * queued, runs it at once, so at concurrency 1 no thread wakes another). */
static void closed_done(rankd_request *req, void *arg)
{
    bench *b = arg;
    uint64_t now = rankd_now_ns();
    bench_record(b, req, now);
    uint64_t when;
    uint64_t seq = bench_next(b, req->slot, now, &when);
    if (seq == NO_SEQ) {
        retire(b);
        return;
    }
    request_start(b, req, seq, when);
    rankd_sched_submit(b->sched, req);
}

/* Open loop, async: the slot goes back to the dispatcher. */
static void open_done(rankd_request *req, void *arg)
{
    bench *b = arg;
    bench_record(b, req, rankd_now_ns());
    pthread_mutex_lock(&b->lock);
    b->free_slots[b->n_free++] = req;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

typedef struct sync_thread {
    bench *b;
    rankd_request *req;
    rankd_thread_ctx *ctx;
    pthread_t thread;
    /* Closed loop: the slot's first request, issued at the run's start. */
    uint64_t first_seq;
    uint64_t first_when;
} sync_thread;

/* Starts the run's clock: the open loop's schedule begins a millisecond
 * ahead, so its first request is not late by the time taken to start, and
 * without warm-up the measured window opens here. */
static void bench_start(bench *b)
{
    b->t0 = rankd_now_ns() + (b->period_ns ? 1000000 : 0);
    b->warm_limit = b->t0 + b->drain_ns;
    if (b->cfg->warmup_iters == 0)
        open_window(b, b->t0);
}

/* Sync: each thread runs its slot's requests one after the other; in the
 * open loop it waits for each request's slot in the schedule first. The
 * threads start together, once all exist: a thread that the kernel gets to
 * late still has its slot's first request, issued at the start, so a slot
 * can never be empty for part of the run. */
static void *sync_main(void *arg)
{
    sync_thread *t = arg;
    bench *b = t->b;
    pthread_mutex_lock(&b->lock);
    while (!b->go)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
    uint64_t when = t->first_when, seq = t->first_seq;
    if (b->period_ns) {
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
        seq = bench_next(b, t->req->slot, rankd_now_ns(), &when);
    }
    while (seq != NO_SEQ) {
        if (b->period_ns)
            sleep_until(when);
        request_start(b, t->req, seq, when);
        rankd_run_sync(t->req, t->ctx);
        uint64_t now = rankd_now_ns();
        bench_record(b, t->req, now);
        seq = bench_next(b, t->req->slot, b->period_ns ? rankd_now_ns() : now, &when);
    }
    retire(b);
    return NULL;
}

static void deadline_from_ns(uint64_t t, struct timespec *ts)
{
    ts->tv_sec = (time_t)(t / 1000000000ull);
    ts->tv_nsec = (long)(t % 1000000000ull);
}

static bool all_done(const bench *b)
{
    return b->open_async ? b->n_free == b->cfg->concurrency : b->active == 0;
}

/* Records the requests still in flight as censored, at their elapsed
 * time; their completions, when they come, are not counted again. */
static void censor_in_flight(bench *b)
{
    uint64_t now = rankd_now_ns();
    for (uint32_t i = 0; i < b->cfg->concurrency; i++) {
        uint64_t start = atomic_exchange(&b->slots[i].start_ns, 0);
        if (start == 0)
            continue;
        uint64_t elapsed = now > start ? now - start : 0;
        b->censored++;
        b->censored_sum_ns += (double)elapsed;
        if (elapsed > b->oldest_censored_ns)
            b->oldest_censored_ns = elapsed;
        rankd_hist_record(b->censored_hist, elapsed);
    }
    b->censored_at = now;
}

/* Waits until every slot is done, printing progress once a second. A
 * duration run waits for its requests in flight up to drain_ns past the
 * deadline, censors the ones still running, and then waits for them
 * unmeasured (the plan's own sleeps and timeouts bound that wait). */
static void wait_all(bench *b)
{
    uint64_t start = rankd_now_ns(), last_print = start;
    bool censored = false;
    pthread_mutex_lock(&b->lock);
    while (!all_done(b)) {
        uint64_t now = rankd_now_ns();
        uint64_t wake = now + 1000000000ull;
        uint64_t stop_at = atomic_load(&b->stop_at);
        if (!censored && stop_at != 0) {
            uint64_t limit = stop_at + b->drain_ns;
            if (now >= limit) {
                /* Every slot may be stuck in a request, and then no
                 * completion would ever see the deadline: the waiter ends
                 * the run (and the cool-down) itself. */
                atomic_store(&b->deadline_hit, true);
                atomic_store(&b->stop, true);
                pthread_mutex_unlock(&b->lock);
                censor_in_flight(b);
                pthread_mutex_lock(&b->lock);
                censored = true;
                continue;
            }
            wake = limit < wake ? limit : wake;
        }
        struct timespec until;
        deadline_from_ns(wake, &until);
        pthread_cond_timedwait(&b->cond, &b->lock, &until);
        now = rankd_now_ns();
        if (b->cfg->progress && !all_done(b) && now - last_print >= 1000000000ull) {
            last_print = now;
            /* The issue counter is read, not a completion counter: the
             * progress line must not add a shared write per request. */
            uint64_t issued = atomic_load_explicit(&b->next_seq, memory_order_relaxed);
            uint64_t total = atomic_load_explicit(&b->total, memory_order_relaxed);
            fprintf(stderr, "rankd: %.0f s, %llu requests issued\n", (double)(now - start) / 1e9,
                    (unsigned long long)(issued < total ? issued : total));
        }
    }
    pthread_mutex_unlock(&b->lock);
}

/* The open loop's dispatcher, on the calling thread. Waiting for a free
 * slot ends at the deadline too: a run never outlives its wall-clock
 * window because the requests could not keep up. */
static void open_dispatch(bench *b)
{
    uint64_t when, seq;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    while ((seq = bench_next(b, UINT32_MAX, rankd_now_ns(), &when)) != NO_SEQ) {
        sleep_until(when);
        pthread_mutex_lock(&b->lock);
        while (b->n_free == 0) {
            uint64_t stop_at = atomic_load(&b->stop_at);
            uint64_t now = rankd_now_ns();
            if (stop_at != 0 && now >= stop_at)
                break;
            struct timespec until;
            deadline_from_ns(stop_at != 0 ? stop_at : now + 1000000000ull, &until);
            pthread_cond_timedwait(&b->cond, &b->lock, &until);
        }
        rankd_request *req = b->n_free > 0 ? b->free_slots[--b->n_free] : NULL;
        pthread_mutex_unlock(&b->lock);
        if (req == NULL) {
            atomic_store(&b->deadline_hit, true);
            atomic_store(&b->stop, true);
            break;
        }
        request_start(b, req, seq, when);
        rankd_sched_submit(b->sched, req);
    }
    wait_all(b);
}

static int run_async(bench *b, rankd_request **reqs, rankd_error *err)
{
    const rankd_bench_config *cfg = b->cfg;
    rankd_sched_config sc = {cfg->cpu_threads, cfg->io_threads, cfg->redis_addr, cfg->plan->has_io};
    int rc = rankd_sched_create(&sc, &b->sched, err);
    if (rc != RANKD_OK)
        return rc;
    bench_start(b);
    if (b->period_ns) {
        for (uint32_t i = 0; i < cfg->concurrency; i++) {
            reqs[i]->on_done = open_done;
            reqs[i]->done_arg = b;
            b->free_slots[b->n_free++] = reqs[i];
        }
        b->open_async = true;
        open_dispatch(b);
    } else {
        b->active = cfg->concurrency;
        for (uint32_t i = 0; i < cfg->concurrency; i++) {
            uint64_t when, seq = bench_next(b, i, b->t0, &when);
            reqs[i]->on_done = closed_done;
            reqs[i]->done_arg = b;
            if (seq == NO_SEQ) {
                retire(b);
                continue;
            }
            request_start(b, reqs[i], seq, when);
            rankd_sched_submit(b->sched, reqs[i]);
        }
        wait_all(b);
    }
    b->wakeups_close = rankd__sched_wakeups(b->sched);
    rankd_sched_destroy(b->sched);
    return RANKD_OK;
}

static int run_sync(bench *b, rankd_request **reqs, rankd_error *err)
{
    const rankd_bench_config *cfg = b->cfg;
    sync_thread *threads = calloc(cfg->concurrency, sizeof *threads);
    int rc = RANKD_OK;
    uint32_t started = 0;
    if (threads == NULL)
        return rankd_error_set(err, RANKD_ERUNTIME, "out of memory for bench threads");
    for (uint32_t i = 0; i < cfg->concurrency && rc == RANKD_OK; i++) {
        threads[i].b = b;
        threads[i].req = reqs[i];
        threads[i].first_seq = NO_SEQ;
        rc = rankd_thread_ctx_create(cfg->redis_addr, &threads[i].ctx, err);
    }
    b->active = cfg->concurrency;
    for (uint32_t i = 0; i < cfg->concurrency && rc == RANKD_OK; i++) {
        if (pthread_create(&threads[i].thread, NULL, sync_main, &threads[i]) != 0) {
            rc = rankd_error_set(err, RANKD_ERUNTIME, "cannot start bench thread %u", i);
            atomic_store(&b->stop, true);
            break;
        }
        started++;
    }
    pthread_mutex_lock(&b->lock);
    bench_start(b);
    for (uint32_t i = 0; i < started && rc == RANKD_OK && !b->period_ns; i++)
        threads[i].first_seq = bench_next(b, i, b->t0, &threads[i].first_when);
    b->go = true;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    if (rc == RANKD_OK)
        wait_all(b);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(threads[i].thread, NULL);
    for (uint32_t i = 0; i < cfg->concurrency; i++)
        rankd_thread_ctx_free(threads[i].ctx);
    free(threads);
    return rc;
}

/* The self-checks every point must pass before its figures mean anything. */
static void bench_check(const rankd_bench_config *cfg, rankd_bench_result *res)
{
    res->valid = true;
    if (cfg->rate > 0) {
        res->little_in_flight = NAN;
        if (res->achieved_rate < 0.95 * cfg->rate) {
            res->valid = false;
            snprintf(res->invalid_reason, sizeof res->invalid_reason,
                     "could not keep up: achieved %.1f req/s of the %.1f targeted (%.1f%%)",
                     res->achieved_rate, cfg->rate, 100.0 * res->achieved_rate / cfg->rate);
        }
        return;
    }
    double c = (double)cfg->concurrency;
    if (fabs(res->little_in_flight - c) > 0.1 * c) {
        res->valid = false;
        snprintf(res->invalid_reason, sizeof res->invalid_reason,
                 "Little's law: rate x mean latency gives %.2f requests in flight, the "
                 "concurrency is %u (%+.1f%%)",
                 res->little_in_flight, cfg->concurrency, 100.0 * (res->little_in_flight - c) / c);
    }
}

static void bench_results(bench *b, rankd_bench_result *res)
{
    rankd_hist *all = malloc(sizeof *all);
    memset(res, 0, sizeof *res);
    if (all == NULL)
        return;
    rankd_hist_reset(all);
    rankd_hist_merge(all, b->censored_hist);
    uint64_t last = b->censored_at;
    double sum_all = b->censored_sum_ns;
    for (thread_stats *st = b->stats; st != NULL; st = st->next) {
        rankd_hist_merge(all, &st->hist);
        res->requests += st->completed;
        res->errors += st->errors;
        sum_all += st->sum_all_ns;
        if (st->last_ns > last)
            last = st->last_ns;
    }
    /* A duration run's window ends at its deadline: the requests issued
     * before it are all counted (the ones still running then with their
     * whole latency), which balances the ones that were already running
     * when the window opened, so Little's law holds without a drain tail.
     * A count run's window ends with its last completion. */
    uint64_t start = atomic_load(&b->measure_start);
    if (atomic_load(&b->deadline_hit))
        last = atomic_load(&b->stop_at);
    res->elapsed_sec = start != 0 && last > start ? (double)(last - start) / 1e9 : 0.0;
    if (res->elapsed_sec > 0) {
        res->qps = (double)(res->requests - res->errors) / res->elapsed_sec;
        res->achieved_rate = (double)res->requests / res->elapsed_sec;
        if (res->requests > 0)
            res->ns_per_node =
                res->elapsed_sec * 1e9 / (double)res->requests / (double)b->cfg->plan->n_nodes;
        res->little_in_flight = sum_all / (res->elapsed_sec * 1e9);
    }
    if (res->requests > 0 && b->wakeups_close > b->wakeups_open)
        res->wakeups_per_request =
            (double)(b->wakeups_close - b->wakeups_open) / (double)res->requests;
    res->p50_us = (double)rankd_hist_percentile(all, 50) / 1e3;
    res->p90_us = (double)rankd_hist_percentile(all, 90) / 1e3;
    res->p99_us = (double)rankd_hist_percentile(all, 99) / 1e3;
    res->p999_us = (double)rankd_hist_percentile(all, 99.9) / 1e3;
    res->max_us = (double)all->max_ns / 1e3;
    res->min_us = all->total ? (double)all->min_ns / 1e3 : 0.0;
    res->mean_us = rankd_hist_mean(all) / 1e3;
    res->ru_maxrss_kb = rss_peak_kb();
    res->rss_reset = b->rss_reset;
    res->in_flight_at_end = b->censored;
    res->oldest_in_flight_us = (double)b->oldest_censored_ns / 1e3;
    snprintf(res->first_error, sizeof res->first_error, "%s", b->first_error);
    bench_check(b->cfg, res);
    free(all);
}

int rankd_bench_run(const rankd_bench_config *cfg, rankd_bench_result *res, rankd_error *err)
{
    if (cfg->concurrency < 1 || cfg->concurrency > 100000)
        return rankd_error_set(err, RANKD_EINPUT, "bench: concurrency %u is not in [1, 100000]",
                               cfg->concurrency);
    if (cfg->requests == 0 && !(cfg->duration_sec > 0))
        return rankd_error_set(err, RANKD_EINPUT,
                               "bench: neither a request count nor a duration given");
    bench b = {.cfg = cfg};
    b.generation = atomic_fetch_add(&bench_generation, 1) + 1;
    atomic_init(&b.total, UINT64_MAX);
    b.slots_needed = cfg->rate > 0 ? 0 : cfg->concurrency;
    if (cfg->rate > 0) {
        b.period_ns = (uint64_t)(1e9 / cfg->rate);
        if (b.period_ns == 0)
            b.period_ns = 1;
    }
    b.drain_ns = RANKD_BENCH_DRAIN_NS + 2 * cfg->plan->critical_sleep_ns;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, &attr);
    pthread_condattr_destroy(&attr);
    rankd_request **reqs = calloc(cfg->concurrency, sizeof *reqs);
    b.free_slots = calloc(cfg->concurrency, sizeof *b.free_slots);
    b.slots = aligned_alloc(64, cfg->concurrency * sizeof *b.slots);
    b.censored_hist = malloc(sizeof *b.censored_hist);
    int rc = RANKD_OK;
    if (reqs == NULL || b.free_slots == NULL || b.slots == NULL || b.censored_hist == NULL)
        rc =
            rankd_error_set(err, RANKD_ERUNTIME, "out of memory for %u requests", cfg->concurrency);
    for (uint32_t i = 0; i < cfg->concurrency && rc == RANKD_OK; i++) {
        rc = rankd_request_create(cfg->plan, &reqs[i], err);
        if (rc == RANKD_OK)
            reqs[i]->slot = i;
    }
    if (rc == RANKD_OK) {
        for (uint32_t i = 0; i < cfg->concurrency; i++)
            b.slots[i] = (slot_state){.served = false, .cooled = false};
        rankd_hist_reset(b.censored_hist);
        rc = cfg->async ? run_async(&b, reqs, err) : run_sync(&b, reqs, err);
    }
    if (rc == RANKD_OK)
        bench_results(&b, res);
    for (uint32_t i = 0; reqs != NULL && i < cfg->concurrency; i++)
        rankd_request_free(reqs[i]);
    free(reqs);
    free(b.free_slots);
    free(b.slots);
    free(b.censored_hist);
    while (b.stats != NULL) {
        thread_stats *next = b.stats->next;
        free(b.stats);
        b.stats = next;
    }
    pthread_cond_destroy(&b.cond);
    pthread_mutex_destroy(&b.lock);
    return rc;
}
