/* The recorder: a maintenance thread on an absolute 1 Hz clock (so it never
 * drifts) that writes each second's increments of the exit-path counters
 * into the rondo store. Second k of the VM's life goes in the slot where it
 * began (boot second + k - 1); a tick that comes late is caught up, never skipped, and the last
 * partial second is written at the end, so every second of the VM's life leaves exactly one point
 * per series. */
#include "internal.h"

#include "pmbase/alloc.h"
#include "pmbase/clock.h"
#include "rondo/remote_write.h"
#include "rondo/rondo.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum {
    RVMM__SRC_UPTIME,
    RVMM__SRC_EXITS, /* arg: exit reason */
    RVMM__SRC_PORT,  /* arg: port */
    RVMM__SRC_PHASE,
    RVMM__SRC_WORK, /* arg: metric id */
    RVMM__SRC_IO_BYTES,
    RVMM__SRC_RSS,
    RVMM__SRC_RW, /* arg: which exporter count */
} rvmm__source;

enum { RVMM__RW_SENT, RVMM__RW_FAILED, RVMM__RW_DROPPED, RVMM__RW_LAST_SUCCESS };

typedef struct {
    char key[96];
    rondo_kind kind;
    rvmm__source source;
    int arg;
    rondo_series *series;
    uint64_t last; /* the counter's total at the previous point */
    uint64_t points;
} rvmm__series;

#define RVMM__MAX_SERIES 40

struct rvmm_recorder {
    rvmm_vm *vm;
    rondo_store *store;
    rvmm__series series[RVMM__MAX_SERIES];
    size_t n;
    pthread_t thread;
    bool thread_started;
    _Atomic bool finish;
    pthread_mutex_t lock; /* one writer of the store at a time */
    pthread_cond_t wake;  /* on CLOCK_MONOTONIC: the tick, or the finish */
    int64_t boot_second;
    int statm_fd;   /* /proc/self/statm, open for the life of the recorder */
    uint64_t ticks; /* whole seconds written */
    uint64_t expected;
    bool failed;
    char error[PMB_ERROR_LEN];
    /* CPU time spent recording, on whichever thread did it: opening the
     * store and its series, the tick thread, and the last writes and sync. */
    uint64_t cpu_ns;
    uint64_t setup_cpu_ns; /* the part spent opening and creating series */
    uint64_t tick_cpu_ns;  /* the part on the 1 Hz thread */
    /* The 1 Hz thread's CPU after its first point, which takes the page
     * faults of every series' first write: the steady state of a long life. */
    uint64_t steady_cpu_ns;
    uint64_t steady_ticks;
};

static uint64_t rvmm__thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void rvmm__define(rvmm_recorder *r, const char *key, rondo_kind kind, rvmm__source src,
                         int arg)
{
    rvmm__series *s = &r->series[r->n++];
    snprintf(s->key, sizeof s->key, "%s", key);
    s->kind = kind;
    s->source = src;
    s->arg = arg;
}

static void rvmm__define_all(rvmm_recorder *r)
{
    char key[96];
    rvmm__define(r, "vmm_uptime_seconds", RONDO_GAUGE, RVMM__SRC_UPTIME, 0);
    rvmm__define(r, "vcpu_exits_total{reason=io}", RONDO_COUNTER, RVMM__SRC_EXITS, RVMM_EXIT_IO);
    for (size_t i = 0; i < rvmm_abi_nports; i++) {
        snprintf(key, sizeof key, "vcpu_exits_by_port_total{port=0x%02x}", rvmm_abi_ports[i]);
        rvmm__define(r, key, RONDO_COUNTER, RVMM__SRC_PORT, rvmm_abi_ports[i]);
    }
    rvmm__define(r, "vcpu_exits_by_port_total{port=other}", RONDO_COUNTER, RVMM__SRC_PORT, -1);
    rvmm__define(r, "guest_phase", RONDO_GAUGE, RVMM__SRC_PHASE, 0);
    for (int m = RVMM_METRIC_WORK_CPU; m <= RVMM_METRIC_WORK_MIXED; m++) {
        snprintf(key, sizeof key, "guest_work_total{phase=%s}", rvmm_phase_name(m));
        rvmm__define(r, key, RONDO_COUNTER, RVMM__SRC_WORK, m);
    }
    rvmm__define(r, "guest_io_bytes_total", RONDO_COUNTER, RVMM__SRC_IO_BYTES, 0);
    rvmm__define(r, "vmm_rss_bytes", RONDO_GAUGE, RVMM__SRC_RSS, 0);
    if (r->vm->opts->remote_write != NULL) {
        rvmm__define(r, "rondo_rw_samples_sent_total", RONDO_COUNTER, RVMM__SRC_RW, RVMM__RW_SENT);
        rvmm__define(r, "rondo_rw_attempts_failed_total", RONDO_COUNTER, RVMM__SRC_RW,
                     RVMM__RW_FAILED);
        rvmm__define(r, "rondo_rw_samples_dropped_total", RONDO_COUNTER, RVMM__SRC_RW,
                     RVMM__RW_DROPPED);
        rvmm__define(r, "rondo_rw_last_success_timestamp_seconds", RONDO_GAUGE, RVMM__SRC_RW,
                     RVMM__RW_LAST_SUCCESS);
    }
}

static double rvmm__rw_value(const rondo_rw_stats *st, int which)
{
    switch (which) {
    case RVMM__RW_SENT:
        return (double)st->samples_sent;
    case RVMM__RW_FAILED:
        return (double)st->attempts_failed;
    case RVMM__RW_DROPPED:
        return (double)st->samples_dropped;
    default:
        return (double)st->last_success_unix;
    }
}

/* Crashes and the other exit reasons get their series when first seen. */
static void rvmm__define_reasons(rvmm_recorder *r, const rvmm_totals *t, pmb_error *err)
{
    for (int reason = 0; reason < RVMM_EXIT_REASONS; reason++) {
        if (reason == RVMM_EXIT_IO || reason == RVMM_EXIT_STOPPED || t->exits[reason] == 0)
            continue;
        char key[96];
        snprintf(key, sizeof key, "vcpu_exits_total{reason=%s}",
                 rvmm_exit_reason_name((rvmm_exit_reason)reason));
        bool known = false;
        for (size_t i = 0; i < r->n && !known; i++)
            known = strcmp(r->series[i].key, key) == 0;
        if (known || r->n == RVMM__MAX_SERIES)
            continue;
        rvmm__define(r, key, RONDO_COUNTER, RVMM__SRC_EXITS, reason);
        rvmm__series *s = &r->series[r->n - 1];
        rondo_error rerr = {0};
        rondo_status st = rondo_store_find(r->store, s->key, &s->series, &rerr);
        if (st == RONDO_ERR_NOT_FOUND) {
            rondo_archive_spec a[RONDO_MAX_ARCHIVES];
            size_t na = rondo_default_archives(s->kind, a);
            st = rondo_store_add(r->store, s->key, s->kind, a, na, &s->series, &rerr);
        }
        if (st != RONDO_OK)
            pmb_error_set(err, RVMM_ERUNTIME, "metrics store: %s: %s", s->key, rerr.message);
    }
}

static uint64_t rvmm__total(const rvmm__series *s, const rvmm_totals *t)
{
    switch (s->source) {
    case RVMM__SRC_EXITS:
        return t->exits[s->arg];
    case RVMM__SRC_PORT:
        return t->port[s->arg < 0 ? 0 : s->arg];
    case RVMM__SRC_WORK:
        return t->metric[s->arg];
    case RVMM__SRC_IO_BYTES:
        return t->io_bytes;
    default:
        return 0;
    }
}

/* One point per series at boot second + k; uptime is the VM's age. */
static void rvmm__write_point(rvmm_recorder *r, uint64_t k, double uptime)
{
    rvmm_totals t;
    rvmm_vm_totals(r->vm, &t);
    pmb_error err = {0};
    rvmm__define_reasons(r, &t, &err);
    /* Second k of the VM's life began at boot_wall + k - 1: its point goes
     * in the slot holding that instant, never in one ahead of the clock. */
    int64_t when = r->boot_second + (int64_t)k - 1;
    double rss = (double)(r->statm_fd >= 0 ? rvmm_rss_bytes_of(r->statm_fd) : rvmm_rss_bytes());
    rondo_rw_stats rw;
    rvmm_vm_rw_stats(r->vm, &rw);
    for (size_t i = 0; i < r->n; i++) {
        rvmm__series *s = &r->series[i];
        if (s->series == NULL)
            continue;
        double value;
        switch (s->source) {
        case RVMM__SRC_UPTIME:
            value = uptime;
            break;
        case RVMM__SRC_PHASE:
            value = atomic_load_explicit(&r->vm->phase, memory_order_relaxed);
            break;
        case RVMM__SRC_RSS:
            value = rss;
            break;
        case RVMM__SRC_RW:
            /* A gauge as it is; a counter as this second's increment. */
            value = rvmm__rw_value(&rw, s->arg);
            if (s->kind == RONDO_COUNTER) {
                uint64_t total = (uint64_t)value;
                value = (double)(total - s->last);
                s->last = total;
            }
            break;
        default: {
            uint64_t total = rvmm__total(s, &t);
            value = (double)(total - s->last);
            s->last = total;
        }
        }
        if (rondo_write(s->series, when, value) <= RONDO_WRITE_LATE)
            s->points++;
    }
}

static void *rvmm__tick_main(void *arg)
{
    rvmm_recorder *r = arg;
    uint64_t first = 0;
    pthread_mutex_lock(&r->lock);
    while (!atomic_load(&r->finish)) {
        uint64_t next = r->vm->boot_ns + (r->ticks + 1) * 1000000000ull;
        struct timespec ts = {.tv_sec = (time_t)(next / 1000000000ull),
                              .tv_nsec = (long)(next % 1000000000ull)};
        pthread_cond_timedwait(&r->wake, &r->lock, &ts);
        /* Catch up on every whole second due, late or not. */
        while (!atomic_load(&r->finish) &&
               pmb_now_ns() >= r->vm->boot_ns + (r->ticks + 1) * 1000000000ull) {
            r->ticks++;
            rvmm__write_point(r, r->ticks, (double)r->ticks);
            if (r->ticks == 1)
                first = rvmm__thread_cpu_ns();
        }
    }
    /* The whole life of this thread is recording; read under the lock, which
     * rvmm_recorder_finish takes after joining it. */
    r->tick_cpu_ns = rvmm__thread_cpu_ns();
    r->cpu_ns += r->tick_cpu_ns;
    if (r->ticks > 1) {
        r->steady_cpu_ns = r->tick_cpu_ns - first;
        r->steady_ticks = r->ticks - 1;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Ends the tick thread: it wakes at once instead of at its next second. */
static void rvmm__stop_thread(rvmm_recorder *r)
{
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->finish, true);
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    r->thread_started = false;
}

int rvmm_recorder_start(rvmm_vm *vm, const char *dir, rvmm_recorder **out, pmb_error *err)
{
    uint64_t cpu0 = rvmm__thread_cpu_ns();
    rvmm_recorder *r = pmb_calloc(1, sizeof *r);
    r->vm = vm;
    r->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &attr);
    pthread_condattr_destroy(&attr);
    r->boot_second = (int64_t)floor(vm->boot_wall);
    rvmm__define_all(r);
    rondo_error rerr = {0};
    if (rondo_store_open(&r->store, dir,
                         RONDO_OPEN_WRITE | RONDO_OPEN_CREATE | RONDO_OPEN_LAZY |
                             RONDO_OPEN_ON_DEMAND,
                         &rerr) != RONDO_OK) {
        int rc = pmb_error_set(err, RVMM_EINPUT, "--metrics-store %s: %s", dir, rerr.message);
        rvmm_recorder_free(r);
        return rc;
    }
    for (size_t i = 0; i < r->n; i++) {
        rvmm__series *s = &r->series[i];
        rondo_status st = rondo_store_find(r->store, s->key, &s->series, &rerr);
        if (st == RONDO_ERR_NOT_FOUND) {
            rondo_archive_spec a[RONDO_MAX_ARCHIVES];
            size_t na = rondo_default_archives(s->kind, a);
            st = rondo_store_add(r->store, s->key, s->kind, a, na, &s->series, &rerr);
        }
        if (st != RONDO_OK) {
            int rc = pmb_error_set(err, RVMM_ERUNTIME, "--metrics-store %s: %s: %s", dir, s->key,
                                   rerr.message);
            rvmm_recorder_free(r);
            return rc;
        }
    }
    r->setup_cpu_ns = r->cpu_ns = rvmm__thread_cpu_ns() - cpu0;
    if (pthread_create(&r->thread, NULL, rvmm__tick_main, r) != 0) {
        rvmm_recorder_free(r);
        return pmb_error_set(err, RVMM_ERUNTIME, "cannot start the recorder thread");
    }
    r->thread_started = true;
    *out = r;
    return PMB_OK;
}

int rvmm_recorder_finish(rvmm_recorder *r, pmb_error *err)
{
    rvmm__stop_thread(r);
    uint64_t cpu0 = rvmm__thread_cpu_ns();
    pthread_mutex_lock(&r->lock);
    double age = (double)(pmb_now_ns() - r->vm->boot_ns) / 1e9;
    while ((double)(r->ticks + 1) <= age) {
        r->ticks++;
        rvmm__write_point(r, r->ticks, (double)r->ticks);
    }
    r->expected = (uint64_t)ceil(age);
    if ((double)r->ticks < age)
        rvmm__write_point(r, r->ticks + 1, age);
    pthread_mutex_unlock(&r->lock);
    int rc = PMB_OK;
    for (size_t i = 0; i < r->n && rc == PMB_OK; i++) {
        rondo_error rerr = {0};
        if (r->series[i].series != NULL &&
            rondo_series_sync(r->series[i].series, &rerr) != RONDO_OK)
            rc = pmb_error_set(err, RVMM_ERUNTIME, "metrics store: syncing %s: %s",
                               r->series[i].key, rerr.message);
    }
    r->cpu_ns += rvmm__thread_cpu_ns() - cpu0;
    return rc;
}

double rvmm_recorder_capture(const rvmm_recorder *r)
{
    return r->expected ? (double)r->series[0].points / (double)r->expected : 0;
}

void rvmm_recorder_summary(const rvmm_recorder *r, cJSON *summary)
{
    cJSON *points = cJSON_AddObjectToObject(summary, "points");
    for (size_t i = 0; i < r->n; i++)
        if (r->series[i].series != NULL)
            cJSON_AddNumberToObject(points, r->series[i].key, (double)r->series[i].points);
    cJSON_AddNumberToObject(summary, "expected_points", (double)r->expected);
    cJSON_AddNumberToObject(summary, "capture_rate", rvmm_recorder_capture(r));
    cJSON_AddNumberToObject(summary, "recording_cpu_seconds", (double)r->cpu_ns / 1e9);
    cJSON_AddNumberToObject(summary, "recording_setup_cpu_seconds", (double)r->setup_cpu_ns / 1e9);
    cJSON_AddNumberToObject(summary, "recording_tick_cpu_seconds", (double)r->tick_cpu_ns / 1e9);
    cJSON_AddNumberToObject(summary, "recording_steady_cpu_seconds",
                            (double)r->steady_cpu_ns / 1e9);
    cJSON_AddNumberToObject(summary, "recording_steady_seconds", (double)r->steady_ticks);
}

void rvmm_recorder_free(rvmm_recorder *r)
{
    if (r == NULL)
        return;
    if (r->thread_started)
        rvmm__stop_thread(r);
    if (r->store != NULL)
        rondo_store_close(r->store);
    if (r->statm_fd >= 0)
        close(r->statm_fd);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
