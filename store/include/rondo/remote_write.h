/* rondo remote write: pushes a store's series to anything that speaks
 * Prometheus remote write 1.0 (Prometheus with --web.enable-remote-write-receiver,
 * Mimir, Thanos, VictoriaMetrics).
 *
 * Delivery is at-least-once and exact. A cursor file in the store directory
 * (cursor_<name>.json, "prometheus" by default) records, per series, the last
 * slot delivered and, for a counter, the running total sent with it; it is
 * replaced with write-temp-fsync-rename after every 2xx. rondo keeps each
 * second's increment of a counter, Prometheus wants cumulative values, so a
 * counter is sent as the running total continued from the cursor: a resend
 * after a crash sends identical samples. The cursor also names the batch in
 * flight, so the batch resent after a crash is the very same request even when
 * the store has grown meanwhile (Prometheus refuses a whole request with an old
 * sample in it, and the refused request must not carry new ones).
 *
 * Only the finest archive is sent, one sample per non-empty slot, stamped with
 * the slot's start in milliseconds (the time rondo-cli query prints). A slot is
 * sent once it is settled (its end at least settle_sec in the past), so a slot
 * still being written is never sent with a value it will not keep.
 *
 * Server answers: 2xx advances the cursor. 429, 5xx and network errors (a
 * timeout included) are retried with capped exponential backoff and jitter, at
 * most max_attempts times per request; then the export stops with
 * RONDO_ERR_IO and stats.gave_up set, the cursor where it was, so the next
 * export resends. Any other 4xx drops the request: counted in the stats,
 * logged once per kind, and the cursor advances (no endless retry).
 *
 * Secrets (the bearer token, the basic-auth password, credentials in the URL)
 * never appear in a log line, an error message or the cursor. */
#ifndef RONDO_REMOTE_WRITE_H
#define RONDO_REMOTE_WRITE_H

#include "rondo/rondo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The remote-write protocol version sent in X-Prometheus-Remote-Write-Version. */
#define RONDO_RW_PROTOCOL_VERSION "0.1.0"
/* The exporter's version, sent in the User-Agent ("rondo-remote-write/<v>"). */
#define RONDO_RW_VERSION "0.1.0"
/* Extra labels (e.g. vm) an export may add to every series. */
#define RONDO_RW_MAX_EXTRA_LABELS 8
/* Kinds of dropped requests remembered for logging once per kind. */
#define RONDO_RW_MAX_DROP_KINDS 16

typedef struct rondo_rw_options {
    const char *url;      /* http:// or https:// (required unless dry_run) */
    const char *cursor;   /* destination name: [A-Za-z0-9_.-]{1,64}; NULL: "prometheus" */
    const char *selector; /* only series matching it; NULL: every series */
    int64_t start, end;   /* only slots starting in [start, end) (Unix s); end 0: no bound */
    rondo_label labels[RONDO_RW_MAX_EXTRA_LABELS]; /* added to every series, e.g. {"vm","a"} */
    size_t nlabels;
    const char *bearer_token_file; /* "Authorization: Bearer <file content>" */
    const char *basic_auth_file;   /* one line "user:password" */
    const char *ca_file;           /* extra CA bundle for https */
    bool insecure_skip_verify;     /* https without certificate checks (never the default) */
    int64_t settle_sec;            /* a slot is sent once its end is this far in the past */
    size_t max_samples_per_request;
    size_t max_request_bytes; /* bound on the uncompressed protobuf of one request */
    int max_attempts;         /* per request, first attempt included */
    double backoff_min_sec, backoff_max_sec;
    double timeout_sec; /* one HTTP request, connection included */
    bool dry_run;       /* encode and count, send nothing, write no cursor */
    /* Called once per series with something to send (also in a dry run), with
     * the series key as rondo prints it and its sample count. May be NULL. */
    void (*on_series)(void *ctx, const char *key, size_t samples);
    /* Receives each log line (no newline); NULL: stderr, prefixed
     * "rondo remote write: ". Lines name statuses and counts, never secrets. */
    void (*log)(void *ctx, const char *line);
    void *ctx;
} rondo_rw_options;

/* Defaults: cursor "prometheus", settle 2 s, 50,000 samples and 8 MiB per
 * request, 6 attempts, backoff 0.2 s doubling to 5 s, 10 s per request. */
void rondo_rw_options_init(rondo_rw_options *opts);

/* What an export did; counts add up over the exports of one runner. */
typedef struct rondo_rw_stats {
    uint64_t series;           /* series that had samples to send */
    uint64_t samples_sent;     /* samples in requests answered 2xx */
    uint64_t requests_sent;    /* requests answered 2xx */
    uint64_t bytes_sent;       /* compressed bytes of those requests */
    uint64_t raw_bytes;        /* their uncompressed protobuf bytes */
    uint64_t attempts_failed;  /* 429, 5xx or network error (each one retried or given up) */
    uint64_t requests_dropped; /* refused with another 4xx */
    uint64_t samples_dropped;
    /* The request in flight when an earlier export stopped, resent and
     * refused with a 4xx: Prometheus refuses an exact repeat of a request it
     * already stored ("out of order sample"), so this is the normal outcome
     * of a crash after delivery. Not counted as dropped. */
    uint64_t resends_refused;
    uint64_t series_invalid;  /* skipped: a name or label Prometheus would refuse */
    uint64_t samples_expired; /* older than the finest archive holds when exported */
    uint64_t exports;         /* completed export rounds */
    uint64_t exports_failed;
    int64_t last_success_unix; /* wall-clock time of the last 2xx, 0: never */
    int last_http_status;      /* of the last answer, 0: none (network error) */
    bool gave_up;              /* the last export stopped at the attempt cap */
    /* Dry run: requests that would be sent, their compressed bytes. */
    uint64_t requests_planned, samples_planned, bytes_planned;
} rondo_rw_stats;

/* Checks the options without sending anything: the URL, the cursor name,
 * the labels, that the token files can be read. RONDO_ERR_INPUT when not. */
rondo_status rondo_rw_options_check(const rondo_rw_options *opts, rondo_error *err);

/* Sends every settled sample of `store` not yet delivered to the destination
 * and returns when everything is sent (RONDO_OK), or on the first failure.
 * `store` may be opened read-only. `stats` (may be NULL) is added to.
 * Errors: RONDO_ERR_INPUT (options, token file), RONDO_ERR_CORRUPT (the
 * cursor file is not one: nothing is sent; move it away to start over),
 * RONDO_ERR_IO (the destination was unavailable after max_attempts, see
 * stats.gave_up; or the cursor could not be written). Not thread-safe on one
 * store handle; give each thread its own read-only handle. */
rondo_status rondo_rw_export(rondo_store *store, const rondo_rw_options *opts,
                             rondo_rw_stats *stats, rondo_error *err);

/* ---- Periodic export on a thread of its own (rondo-vmm) ------------------- */

typedef struct rondo_rw_runner rondo_rw_runner;

/* Checks the options (copied: the caller's strings may go), then starts a
 * thread that every interval_sec opens `store_dir` read-only (so that it sees
 * series added since), exports, and closes it. Failures are logged and
 * counted, never fatal: the next round retries. */
rondo_status rondo_rw_runner_start(rondo_rw_runner **out, const char *store_dir,
                                   const rondo_rw_options *opts, double interval_sec,
                                   rondo_error *err);

/* A snapshot of the counts so far (for /metrics and the store). */
void rondo_rw_runner_stats(rondo_rw_runner *runner, rondo_rw_stats *out);

/* Stops the thread: a final export of every written slot, the newest
 * included (the recording has stopped, so it is complete), bounded by flush_timeout_sec
 * altogether (backoff and requests included), then joins and frees. Returns
 * the status of the final export; `final` (may be NULL) gets the stats. */
rondo_status rondo_rw_runner_stop(rondo_rw_runner *runner, double flush_timeout_sec,
                                  rondo_rw_stats *final, rondo_error *err);

#ifdef __cplusplus
}
#endif

#endif
