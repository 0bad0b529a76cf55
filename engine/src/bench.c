/* Bench mode. Requests are numbered in the order they are issued; the first
 * warmup_iters are warm-up and excluded from every figure. The measured
 * window opens when the first measured request is issued (the histogram
 * starts empty then, and the peak RSS is reset) and closes with the last
 * measured completion. Each thread records into its own histogram; they are
 * merged at the end, so recording costs no synchronisation. */
#include "rankd/bench.h"

#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#define NO_SEQ UINT64_MAX

typedef struct thread_stats thread_stats;

typedef struct bench {
    const rankd_bench_config *cfg;
    uint64_t generation;
    rankd_sched *sched;
    uint64_t total;
    uint64_t period_ns;
    uint64_t t0;
    atomic_uint_fast64_t next_seq;
    atomic_uint_fast64_t measure_start;
    atomic_uint_fast64_t stop_at;
    atomic_bool stop;
    bool rss_reset;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    thread_stats *stats;
    uint32_t active;
    /* Open loop: slots free to take the next request. */
    rankd_request **free_slots;
    uint32_t n_free;
    char first_error[256];
} bench;

struct thread_stats {
    rankd_hist hist;
    uint64_t completed;
    uint64_t errors;
    uint64_t last_ns;
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

/* Takes the next request number, or NO_SEQ when the run is over. *when is
 * its start: now for the closed loop, its slot in the schedule for the open
 * loop. The warm-up boundary opens the measured window. */
static uint64_t bench_next(bench *b, uint64_t *when)
{
    if (atomic_load_explicit(&b->stop, memory_order_relaxed))
        return NO_SEQ;
    uint64_t seq = atomic_fetch_add_explicit(&b->next_seq, 1, memory_order_relaxed);
    if (seq >= b->total) {
        atomic_store(&b->stop, true);
        return NO_SEQ;
    }
    uint64_t t = b->period_ns ? b->t0 + seq * b->period_ns : rankd_now_ns();
    uint64_t warmup = b->cfg->warmup_iters;
    if (seq == warmup) {
        b->rss_reset = rss_peak_reset();
        if (b->cfg->duration_sec > 0)
            atomic_store(&b->stop_at, t + (uint64_t)(b->cfg->duration_sec * 1e9));
        atomic_store(&b->measure_start, t);
    } else if (seq > warmup) {
        uint64_t stop_at = atomic_load_explicit(&b->stop_at, memory_order_relaxed);
        if (stop_at != 0 && t >= stop_at) {
            atomic_store(&b->stop, true);
            return NO_SEQ;
        }
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
    pthread_mutex_lock(&b->lock);
    st->next = b->stats;
    b->stats = st;
    pthread_mutex_unlock(&b->lock);
    tls_stats = st;
    tls_generation = b->generation;
    return st;
}

static void bench_record(bench *b, rankd_request *req, uint64_t now)
{
    if (req->seq < b->cfg->warmup_iters)
        return;
    thread_stats *st = stats_for_thread(b);
    st->completed++;
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
    rankd_hist_record(&st->hist, now > req->start_ns ? now - req->start_ns : 0);
}

static void request_start(bench *b, rankd_request *req, uint64_t seq, uint64_t when)
{
    rankd_request_reset(req, b->cfg->base_user_id + seq % 1024);
    req->seq = seq;
    req->start_ns = when;
}

static void retire(bench *b)
{
    pthread_mutex_lock(&b->lock);
    if (--b->active == 0)
        pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* Closed loop, async: the thread that completes a request issues the next
 * one in the same slot, so at concurrency 1 no thread ever wakes another. */
static void closed_done(rankd_request *req, void *arg)
{
    bench *b = arg;
    uint64_t now = rankd_now_ns();
    bench_record(b, req, now);
    uint64_t when;
    uint64_t seq = bench_next(b, &when);
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
} sync_thread;

/* Sync: each thread runs its requests one after the other; in the open
 * loop it waits for each request's slot in the schedule first. */
static void *sync_main(void *arg)
{
    sync_thread *t = arg;
    bench *b = t->b;
    uint64_t when, seq;
    if (b->period_ns)
        prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    while ((seq = bench_next(b, &when)) != NO_SEQ) {
        if (b->period_ns)
            sleep_until(when);
        request_start(b, t->req, seq, when);
        rankd_run_sync(t->req, t->ctx);
        bench_record(b, t->req, rankd_now_ns());
    }
    retire(b);
    return NULL;
}

/* Waits until every slot retired, printing progress once a second. */
static void wait_all(bench *b)
{
    uint64_t start = rankd_now_ns();
    pthread_mutex_lock(&b->lock);
    while (b->active > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        int rc = pthread_cond_timedwait(&b->cond, &b->lock, &until);
        if (rc == ETIMEDOUT && b->cfg->progress && b->active > 0) {
            double secs = (double)(rankd_now_ns() - start) / 1e9;
            /* The issue counter is read, not a completion counter: the
             * progress line must not add a shared write per request. */
            uint64_t issued = atomic_load_explicit(&b->next_seq, memory_order_relaxed);
            fprintf(stderr, "rankd: %.0f s, %llu requests issued\n", secs,
                    (unsigned long long)(issued < b->total ? issued : b->total));
        }
    }
    pthread_mutex_unlock(&b->lock);
}

/* The open loop's dispatcher, on the calling thread. */
static void open_dispatch(bench *b)
{
    uint64_t when, seq;
    uint32_t slots = b->cfg->concurrency;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    while ((seq = bench_next(b, &when)) != NO_SEQ) {
        sleep_until(when);
        pthread_mutex_lock(&b->lock);
        while (b->n_free == 0)
            pthread_cond_wait(&b->cond, &b->lock);
        rankd_request *req = b->free_slots[--b->n_free];
        pthread_mutex_unlock(&b->lock);
        request_start(b, req, seq, when);
        rankd_sched_submit(b->sched, req);
    }
    pthread_mutex_lock(&b->lock);
    while (b->n_free < slots)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

static int run_async(bench *b, rankd_request **reqs, rankd_error *err)
{
    const rankd_bench_config *cfg = b->cfg;
    rankd_sched_config sc = {cfg->cpu_threads, cfg->io_threads, cfg->redis_addr, cfg->plan->has_io};
    int rc = rankd_sched_create(&sc, &b->sched, err);
    if (rc != RANKD_OK)
        return rc;
    if (b->period_ns) {
        for (uint32_t i = 0; i < cfg->concurrency; i++) {
            reqs[i]->on_done = open_done;
            reqs[i]->done_arg = b;
            b->free_slots[b->n_free++] = reqs[i];
        }
        open_dispatch(b);
    } else {
        b->active = cfg->concurrency;
        for (uint32_t i = 0; i < cfg->concurrency; i++) {
            uint64_t when, seq = bench_next(b, &when);
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
    if (rc == RANKD_OK)
        wait_all(b);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(threads[i].thread, NULL);
    for (uint32_t i = 0; i < cfg->concurrency; i++)
        rankd_thread_ctx_free(threads[i].ctx);
    free(threads);
    return rc;
}

static void bench_results(bench *b, rankd_bench_result *res)
{
    rankd_hist *all = malloc(sizeof *all);
    memset(res, 0, sizeof *res);
    if (all == NULL)
        return;
    rankd_hist_reset(all);
    uint64_t last = 0;
    for (thread_stats *st = b->stats; st != NULL; st = st->next) {
        rankd_hist_merge(all, &st->hist);
        res->requests += st->completed;
        res->errors += st->errors;
        if (st->last_ns > last)
            last = st->last_ns;
    }
    uint64_t start = atomic_load(&b->measure_start);
    res->elapsed_sec = start != 0 && last > start ? (double)(last - start) / 1e9 : 0.0;
    if (res->elapsed_sec > 0) {
        res->qps = (double)(res->requests - res->errors) / res->elapsed_sec;
        res->achieved_rate = (double)res->requests / res->elapsed_sec;
        res->ns_per_node =
            res->elapsed_sec * 1e9 / (double)res->requests / (double)b->cfg->plan->n_nodes;
    }
    res->p50_us = (double)rankd_hist_percentile(all, 50) / 1e3;
    res->p90_us = (double)rankd_hist_percentile(all, 90) / 1e3;
    res->p99_us = (double)rankd_hist_percentile(all, 99) / 1e3;
    res->p999_us = (double)rankd_hist_percentile(all, 99.9) / 1e3;
    res->max_us = (double)all->max_ns / 1e3;
    res->min_us = all->total ? (double)all->min_ns / 1e3 : 0.0;
    res->mean_us = rankd_hist_mean(all) / 1e3;
    res->ru_maxrss_kb = rss_peak_kb();
    res->rss_reset = b->rss_reset;
    snprintf(res->first_error, sizeof res->first_error, "%s", b->first_error);
    free(all);
}

int rankd_bench_run(const rankd_bench_config *cfg, rankd_bench_result *res, rankd_error *err)
{
    if (cfg->concurrency < 1 || cfg->concurrency > 100000)
        return rankd_error_set(err, RANKD_EINPUT, "--concurrency: %u is not in [1, 100000]",
                               cfg->concurrency);
    if (cfg->requests == 0 && !(cfg->duration_sec > 0))
        return rankd_error_set(err, RANKD_EINPUT,
                               "bench: give --bench N (requests) or --duration_sec S");
    bench b = {.cfg = cfg};
    b.generation = atomic_fetch_add(&bench_generation, 1) + 1;
    b.total = cfg->requests ? cfg->warmup_iters + cfg->requests : UINT64_MAX;
    if (cfg->rate > 0) {
        b.period_ns = (uint64_t)(1e9 / cfg->rate);
        if (b.period_ns == 0)
            b.period_ns = 1;
        b.t0 = rankd_now_ns() + 1000000;
    }
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    rankd_request **reqs = calloc(cfg->concurrency, sizeof *reqs);
    b.free_slots = calloc(cfg->concurrency, sizeof *b.free_slots);
    int rc = RANKD_OK;
    if (reqs == NULL || b.free_slots == NULL)
        rc =
            rankd_error_set(err, RANKD_ERUNTIME, "out of memory for %u requests", cfg->concurrency);
    for (uint32_t i = 0; i < cfg->concurrency && rc == RANKD_OK; i++) {
        rc = rankd_request_create(cfg->plan, &reqs[i], err);
        if (rc == RANKD_OK)
            reqs[i]->slot = i;
    }
    if (rc == RANKD_OK)
        rc = cfg->async ? run_async(&b, reqs, err) : run_sync(&b, reqs, err);
    if (rc == RANKD_OK)
        bench_results(&b, res);
    for (uint32_t i = 0; reqs != NULL && i < cfg->concurrency; i++)
        rankd_request_free(reqs[i]);
    free(reqs);
    free(b.free_slots);
    while (b.stats != NULL) {
        thread_stats *next = b.stats->next;
        free(b.stats);
        b.stats = next;
    }
    pthread_cond_destroy(&b.cond);
    pthread_mutex_destroy(&b.lock);
    return rc;
}
