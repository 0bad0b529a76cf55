/* Remote write export: reads the finest archive of each series from the
 * cursor on, sends requests with libcurl, retries or drops by the answer, and
 * moves the cursor. See rondo/remote_write.h for the delivery rules. */
#include "internal.h"
#include "pmbase/alloc.h"
#include "pmbase/clock.h"
#include "pmbase/file.h"
#include "rw_internal.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The bound on one token or basic-auth file. */
#define SECRET_MAX_BYTES 4096
/* How much of an error answer is kept for the log. */
#define ANSWER_KEEP 200
/* Bytes a sample may take in the protobuf (tags, lengths, double, varint). */
#define SAMPLE_BYTES_MAX 24

void rondo_rw_options_init(rondo_rw_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->cursor = "prometheus";
    opts->settle_sec = 2;
    opts->max_samples_per_request = 50000;
    opts->max_request_bytes = 8u << 20;
    opts->max_attempts = 6;
    opts->backoff_min_sec = 0.2;
    opts->backoff_max_sec = 5;
    opts->timeout_sec = 10;
}

/* ---- Control of one export: deadlines and sleeps ----------------------------- */

/* What a runner lends an export: a deadline once a stop is asked, and sleeps
 * that a stop shortens to that deadline. Without a runner, plain sleeps. */
struct rw_ctl {
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
    const bool *stopping;
    const double *deadline; /* monotonic seconds, meaningful once *stopping */
};

static double ctl_deadline(const struct rw_ctl *ctl)
{
    if (ctl == NULL)
        return 0;
    pthread_mutex_lock(ctl->mu);
    double d = *ctl->stopping ? *ctl->deadline : 0;
    pthread_mutex_unlock(ctl->mu);
    return d;
}

/* Sleeps sec seconds, or less when a stop's deadline comes first. */
static void ctl_sleep(const struct rw_ctl *ctl, double sec)
{
    if (ctl == NULL) {
        struct timespec ts = {(time_t)sec, (long)((sec - floor(sec)) * 1e9)};
        nanosleep(&ts, NULL);
        return;
    }
    double until = pmb_now_sec() + sec;
    pthread_mutex_lock(ctl->mu);
    for (;;) {
        double limit = until;
        if (*ctl->stopping && *ctl->deadline < limit)
            limit = *ctl->deadline;
        double now = pmb_now_sec();
        if (now >= limit)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double wait = limit - now;
        ts.tv_sec += (time_t)wait;
        ts.tv_nsec += (long)((wait - floor(wait)) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(ctl->cv, ctl->mu, &ts);
    }
    pthread_mutex_unlock(ctl->mu);
}

/* ---- Options ------------------------------------------------------------------- */

static void default_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "rondo remote write: %s\n", line);
}

static void rw_log(const rondo_rw_options *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void rw_log(const rondo_rw_options *o, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    (o->log ? o->log : default_log)(o->ctx, line);
}

static bool cursor_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (c == '.' && i > 0)))
            return false;
    }
    return true;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static rondo_status check_url(const char *url, rondo_error *err)
{
    char safe[512];
    rondo__rw_redact_url(url ? url : "", safe, sizeof safe);
    CURLU *u = curl_url();
    if (u == NULL) {
        rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory parsing the URL");
        return RONDO_ERR_NOMEM;
    }
    char *scheme = NULL, *host = NULL;
    CURLUcode uc = url ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_MALFORMED_INPUT;
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    rondo_status rc = RONDO_OK;
    if (uc != CURLUE_OK) {
        rondo_error_set(err, RONDO_ERR_INPUT, "bad URL '%s': %s", safe, curl_url_strerror(uc));
        rc = RONDO_ERR_INPUT;
    } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        rondo_error_set(err, RONDO_ERR_INPUT, "bad URL '%s': the scheme must be http or https",
                        safe);
        rc = RONDO_ERR_INPUT;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* Reads a secret file into a buffer the caller wipes and frees, without its
 * trailing line break. The message names the file, never the content. */
static rondo_status read_secret(const char *path, const char *what, char **out, rondo_error *err)
{
    pmb_error e;
    char *data;
    size_t len;
    if (pmb_file_read(path, SECRET_MAX_BYTES, &data, &len, &e) != PMB_OK) {
        rondo_error_set(err, RONDO_ERR_INPUT, "%s file: %s", what, e.msg);
        return RONDO_ERR_INPUT;
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        data[--len] = '\0';
    if (len == 0 || strlen(data) != len || strpbrk(data, "\r\n") != NULL) {
        explicit_bzero(data, len);
        free(data);
        rondo_error_set(err, RONDO_ERR_INPUT, "%s file %s: must hold one non-empty line", what,
                        path);
        return RONDO_ERR_INPUT;
    }
    *out = data;
    return RONDO_OK;
}

static void free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

rondo_status rondo_rw_options_check(const rondo_rw_options *o, rondo_error *err)
{
    rondo_status rc;
    if (!o->dry_run && (rc = check_url(o->url, err)) != RONDO_OK)
        return rc;
    if (o->cursor != NULL && !cursor_name_ok(o->cursor)) {
        rondo_error_set(err, RONDO_ERR_INPUT,
                        "bad cursor name '%s': use 1 to 64 of A-Z a-z 0-9 _ - .", o->cursor);
        return RONDO_ERR_INPUT;
    }
    if (o->nlabels > RONDO_RW_MAX_EXTRA_LABELS) {
        rondo_error_set(err, RONDO_ERR_INPUT, "at most %d extra labels", RONDO_RW_MAX_EXTRA_LABELS);
        return RONDO_ERR_INPUT;
    }
    rondo_series_id probe = {.name = "up"};
    rondo_label tmp[RONDO__RW_MAX_LABELS];
    size_t n;
    if ((rc = rondo__rw_labels(&probe, o->labels, o->nlabels, tmp, &n, err)) != RONDO_OK)
        return rc;
    if (o->selector != NULL) {
        rondo_selector sel;
        if ((rc = rondo_selector_parse(&sel, o->selector, err)) != RONDO_OK)
            return rc;
    }
    if (o->max_samples_per_request < 1 || o->max_request_bytes < 4096 || o->max_attempts < 1 ||
        !(o->backoff_min_sec >= 0) || !(o->backoff_max_sec >= o->backoff_min_sec) ||
        !(o->timeout_sec > 0) || o->settle_sec < 0) {
        rondo_error_set(err, RONDO_ERR_INPUT,
                        "bad remote-write limits (samples or bytes per request, attempts, "
                        "backoff, timeout or settle)");
        return RONDO_ERR_INPUT;
    }
    char *secret = NULL;
    if (o->bearer_token_file != NULL &&
        (rc = read_secret(o->bearer_token_file, "bearer token", &secret, err)) != RONDO_OK)
        return rc;
    free_secret(secret);
    secret = NULL;
    if (o->basic_auth_file != NULL) {
        if ((rc = read_secret(o->basic_auth_file, "basic auth", &secret, err)) != RONDO_OK)
            return rc;
        bool colon = strchr(secret, ':') != NULL;
        free_secret(secret);
        if (!colon) {
            rondo_error_set(err, RONDO_ERR_INPUT, "basic auth file %s: expected user:password",
                            o->basic_auth_file);
            return RONDO_ERR_INPUT;
        }
    }
    return RONDO_OK;
}

/* ---- HTTP -------------------------------------------------------------------- */

struct answer {
    char text[ANSWER_KEEP + 1];
    size_t len;
};

static size_t keep_answer(char *data, size_t size, size_t n, void *ctx)
{
    struct answer *a = ctx;
    size_t len = size * n;
    size_t room = ANSWER_KEEP - a->len;
    size_t take = len < room ? len : room;
    memcpy(a->text + a->len, data, take);
    a->len += take;
    a->text[a->len] = '\0';
    return len;
}

/* Aborts a transfer once a stop's deadline has passed. */
static int transfer_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    const struct rw_ctl *ctl = ctx;
    double deadline = ctl_deadline(ctl);
    return deadline > 0 && pmb_now_sec() > deadline;
}

struct rw_http {
    CURL *curl;
    struct curl_slist *headers;
    struct answer answer;
    char errbuf[CURL_ERROR_SIZE];
};

static void http_close(struct rw_http *h)
{
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    memset(h, 0, sizeof *h);
}

static rondo_status http_open(struct rw_http *h, const rondo_rw_options *o,
                              const struct rw_ctl *ctl, rondo_error *err)
{
    memset(h, 0, sizeof *h);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK || (h->curl = curl_easy_init()) == NULL) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot initialize libcurl");
        return RONDO_ERR_IO;
    }
    static const char *const fixed[] = {
        "Content-Encoding: snappy",
        "Content-Type: application/x-protobuf",
        ("X-Prometheus-Remote-Write-Version: " RONDO_RW_PROTOCOL_VERSION),
        /* No "Expect: 100-continue" round trip before a large body. */
        "Expect:",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        struct curl_slist *l = curl_slist_append(h->headers, fixed[i]);
        if (l == NULL)
            pmb_oom("HTTP headers");
        h->headers = l;
    }
    rondo_status rc = RONDO_OK;
    char *secret = NULL;
    if (o->bearer_token_file != NULL &&
        (rc = read_secret(o->bearer_token_file, "bearer token", &secret, err)) == RONDO_OK) {
        size_t len = strlen(secret) + 32;
        char *line = pmb_malloc(len);
        snprintf(line, len, "Authorization: Bearer %s", secret);
        struct curl_slist *l = curl_slist_append(h->headers, line);
        explicit_bzero(line, len);
        free(line);
        if (l == NULL)
            pmb_oom("HTTP headers");
        h->headers = l;
    }
    free_secret(secret);
    secret = NULL;
    if (rc == RONDO_OK && o->basic_auth_file != NULL &&
        (rc = read_secret(o->basic_auth_file, "basic auth", &secret, err)) == RONDO_OK) {
        curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h->curl, CURLOPT_USERPWD, secret);
    }
    free_secret(secret);
    if (rc != RONDO_OK) {
        http_close(h);
        return rc;
    }
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rondo-remote-write/" RONDO_RW_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->answer);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    if (o->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    if (o->insecure_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (ctl != NULL) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, transfer_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)ctl);
    }
    return RONDO_OK;
}

/* One POST. Returns the HTTP status, or 0 for a network error (message in
 * h->errbuf, which names the host but never credentials). */
static long http_post(struct rw_http *h, const void *body, size_t len, double timeout_sec)
{
    h->answer.len = 0;
    h->answer.text[0] = '\0';
    h->errbuf[0] = '\0';
    long ms = (long)(timeout_sec * 1000);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, ms < 1 ? 1L : ms);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode cc = curl_easy_perform(h->curl);
    if (cc != CURLE_OK) {
        if (h->errbuf[0] == '\0')
            snprintf(h->errbuf, sizeof h->errbuf, "%s", curl_easy_strerror(cc));
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* ---- The export ---------------------------------------------------------------- */

/* One series as the export sees it. */
struct rw_series {
    rondo_series *s;
    size_t entry; /* cursor entry */
    bool counter;
    int64_t res;
    int64_t to; /* the last slot this export sends */
    Prometheus__Label labels[RONDO__RW_MAX_LABELS];
    Prometheus__Label *label_ptrs[RONDO__RW_MAX_LABELS];
    size_t nlabels, label_bytes;
    size_t samples; /* sent (or planned) by this export */
};

/* A series' part of the request being built. */
struct rw_piece {
    size_t series;
    int64_t from, to;
    double total; /* a counter's running total after `to` */
    long ts;      /* its series in the request, -1 while it has no sample */
};

struct rw_export {
    const rondo_rw_options *o;
    const struct rw_ctl *ctl;
    rondo_rw_stats *stats;
    rondo_store *store;
    struct rondo__rw_cursor cursor;
    char *cursor_path;
    struct rw_series *series;
    size_t nseries;
    struct rw_piece *pieces;
    size_t npieces;
    struct rondo__rw_request req;
    size_t req_bytes;
    rondo_result result;
    struct rw_http http;
    bool http_open;
    uint64_t rng;
    bool resending;  /* the request is the one in flight when an export stopped */
    long kill_after; /* test hook: SIGKILL after this many 2xx, before the cursor write */
    char drop_kinds[RONDO_RW_MAX_DROP_KINDS][96];
    size_t ndrop_kinds;
};

static double jitter01(struct rw_export *x)
{
    x->rng ^= x->rng << 13;
    x->rng ^= x->rng >> 7;
    x->rng ^= x->rng << 17;
    return (double)(x->rng >> 11) / 9007199254740992.0;
}

/* Reads the cursor file; a missing file is an empty cursor. */
static rondo_status cursor_load(struct rw_export *x, rondo_error *err)
{
    size_t len = strlen(rondo_store_dir(x->store)) + strlen(x->o->cursor) + 16;
    x->cursor_path = pmb_malloc(len);
    snprintf(x->cursor_path, len, "%s/cursor_%s.json", rondo_store_dir(x->store), x->o->cursor);
    if (access(x->cursor_path, F_OK) != 0)
        return RONDO_OK;
    pmb_error e;
    char *text;
    size_t n;
    if (pmb_file_read(x->cursor_path, RONDO__RW_CURSOR_MAX_BYTES, &text, &n, &e) != PMB_OK) {
        rondo_error_set(err, RONDO_ERR_CORRUPT, "cursor %s", e.msg);
        return RONDO_ERR_CORRUPT;
    }
    rondo_status rc = strlen(text) != n
                          ? (rondo_error_set(err, RONDO_ERR_CORRUPT,
                                             "cursor %s: holds a NUL byte (nothing sent; move the "
                                             "file away to resend everything)",
                                             x->cursor_path),
                             RONDO_ERR_CORRUPT)
                          : rondo__rw_cursor_parse(&x->cursor, text, x->cursor_path, err);
    free(text);
    return rc;
}

static rondo_status cursor_save(struct rw_export *x, rondo_error *err)
{
    if (x->o->dry_run)
        return RONDO_OK;
    char *text = rondo__rw_cursor_format(&x->cursor, x->o->url);
    if (text == NULL)
        pmb_oom("cursor JSON");
    pmb_error e;
    int rc = pmb_file_write_atomic(x->cursor_path, text, strlen(text), 0644, &e);
    free(text);
    if (rc != PMB_OK) {
        rondo_error_set(err, RONDO_ERR_IO, "cursor: %s", e.msg);
        return RONDO_ERR_IO;
    }
    return RONDO_OK;
}

/* Maps the matching series to cursor entries and builds their labels. */
static rondo_status prepare(struct rw_export *x, rondo_error *err)
{
    const rondo_rw_options *o = x->o;
    rondo_selector sel;
    rondo_status rc;
    if (o->selector != NULL && (rc = rondo_selector_parse(&sel, o->selector, err)) != RONDO_OK)
        return rc;
    size_t n = rondo_store_series_count(x->store);
    x->series = pmb_calloc(n ? n : 1, sizeof *x->series);
    for (size_t i = 0; i < n; i++) {
        const rondo_series_id *id = rondo_store_series_id(x->store, i);
        if (o->selector != NULL && !rondo_selector_matches(&sel, id))
            continue;
        struct rw_series *s = &x->series[x->nseries];
        rondo_label labels[RONDO__RW_MAX_LABELS];
        rondo_error lerr;
        if (rondo__rw_labels(id, o->labels, o->nlabels, labels, &s->nlabels, &lerr) != RONDO_OK) {
            if (x->stats->series_invalid++ == 0)
                rw_log(o, "series skipped: %s", lerr.message);
            continue;
        }
        if ((rc = rondo_store_series(x->store, i, &s->s, err)) != RONDO_OK)
            return rc;
        rondo_series_info info;
        rondo_series_get_info(s->s, &info);
        s->counter = info.kind == RONDO_COUNTER;
        s->res = info.archives[0].resolution;
        for (size_t k = 0; k < s->nlabels; k++) {
            s->labels[k] = (Prometheus__Label)PROMETHEUS__LABEL__INIT;
            s->labels[k].name = (char *)labels[k].name;
            s->labels[k].value = (char *)labels[k].value;
            s->label_ptrs[k] = &s->labels[k];
            s->label_bytes += strlen(labels[k].name) + strlen(labels[k].value) + 8;
        }
        x->nseries++;
    }
    /* Entries are added first and looked up after, since adding moves them. */
    rondo_series_info info;
    for (size_t i = 0; i < x->nseries; i++) {
        rondo_series_get_info(x->series[i].s, &info);
        rondo__rw_cursor_entry(&x->cursor, info.key);
    }
    for (size_t i = 0; i < x->nseries; i++) {
        rondo_series_get_info(x->series[i].s, &info);
        x->series[i].entry = rondo__rw_cursor_entry(&x->cursor, info.key);
    }
    return RONDO_OK;
}

/* The last slot of series s this export may send: settled, in range, written. */
static int64_t last_sendable(const struct rw_export *x, const struct rw_series *s, int64_t now)
{
    int64_t start, end;
    if (!rondo_series_extent(s->s, &start, &end))
        return RONDO__RW_NONE;
    int64_t to = end - s->res;
    /* Once the runner is stopping, the writer has stopped: every written
     * slot is complete, the newest included. */
    bool final = x->ctl != NULL && *x->ctl->stopping;
    int64_t settled = rondo__floor_div(now - x->o->settle_sec, s->res) * s->res - s->res;
    if (!final && settled < to)
        to = settled;
    if (x->o->end > 0) {
        int64_t in_range = rondo__floor_div(x->o->end - 1, s->res) * s->res;
        if (in_range < to)
            to = in_range;
    }
    return to;
}

/* The first slot not yet delivered. */
static int64_t first_unsent(const struct rw_export *x, const struct rw_series *s)
{
    const struct rondo__rw_entry *e = &x->cursor.e[s->entry];
    int64_t from;
    if (e->last != RONDO__RW_NONE) {
        from = e->last + s->res;
    } else {
        int64_t start, end;
        if (!rondo_series_extent(s->s, &start, &end))
            return RONDO__RW_NONE;
        from = rondo__floor_div(start, s->res) * s->res;
    }
    if (from < x->o->start)
        from = rondo__floor_div(x->o->start + s->res - 1, s->res) * s->res;
    return from;
}

static bool request_full(const struct rw_export *x)
{
    return x->req.nsamples >= x->o->max_samples_per_request ||
           x->req_bytes + SAMPLE_BYTES_MAX > x->o->max_request_bytes;
}

/* Adds slots [from, to] of series si to the request, stopping early when the
 * request fills up (`whole`: only at the pool's size, for the batch resent
 * exactly). The piece records how far it got and the running total there. */
static rondo_status add_piece(struct rw_export *x, size_t si, int64_t from, int64_t to, bool whole,
                              rondo_error *err)
{
    struct rw_series *s = &x->series[si];
    double total = x->cursor.e[s->entry].total;
    struct rw_piece *p = &x->pieces[x->npieces++];
    *p = (struct rw_piece){si, from, from - s->res, total, -1};
    rondo_status rc = rondo_query(s->s, from, to + s->res, &x->result, err);
    if (rc != RONDO_OK)
        return rc;
    for (size_t k = 0; k < x->result.nparts; k++) {
        const rondo_part *part = &x->result.parts[k];
        for (size_t j = 0; j < part->count; j++) {
            int64_t t = part->start + (int64_t)j * part->resolution;
            if (t + part->resolution <= from || t > to)
                continue;
            double v = part->values[j];
            if (part->resolution != s->res) {
                /* Older than the finest archive still holds: not sent, but a
                 * counter's sum still belongs in its running total. */
                if (!isnan(v)) {
                    x->stats->samples_expired++;
                    if (s->counter && part->cf == RONDO_CF_SUM)
                        total += v;
                }
                p->to = t + part->resolution - s->res;
                p->total = total;
                continue;
            }
            if (!isnan(v)) {
                if (x->req.nsamples == x->req.samples_cap || (!whole && request_full(x)))
                    return RONDO_OK;
                if (p->ts < 0) {
                    p->ts = (long)x->req.req.n_timeseries;
                    rondo__rw_request_series(&x->req, s->label_ptrs, s->nlabels);
                    x->req_bytes += s->label_bytes;
                }
                if (s->counter)
                    total += v;
                rondo__rw_request_sample(&x->req, t * 1000, s->counter ? total : v);
                x->req_bytes += SAMPLE_BYTES_MAX;
            }
            p->to = t;
            p->total = total;
        }
    }
    p->to = to;
    return RONDO_OK;
}

/* Moves the cursor past the pieces of the request just answered (or, in a
 * dry run, planned) and counts each series' samples. */
static void advance(struct rw_export *x)
{
    for (size_t i = 0; i < x->npieces; i++) {
        const struct rw_piece *p = &x->pieces[i];
        struct rw_series *s = &x->series[p->series];
        struct rondo__rw_entry *e = &x->cursor.e[s->entry];
        if (p->to >= p->from) {
            e->last = p->to;
            e->total = p->total;
        }
        e->pend_from = e->pend_to = RONDO__RW_NONE;
        if (p->ts >= 0)
            s->samples += x->req.ts[p->ts].n_samples;
    }
}

static void mark_pending(struct rw_export *x)
{
    for (size_t i = 0; i < x->npieces; i++) {
        const struct rw_piece *p = &x->pieces[i];
        struct rondo__rw_entry *e = &x->cursor.e[x->series[p->series].entry];
        if (p->to >= p->from) {
            e->pend_from = p->from;
            e->pend_to = p->to;
        }
    }
}

/* A short, stable description of a refusal for logging once per kind:
 * the status and the answer's leading words, without numbers or labels. */
static void drop_kind(long status, const char *answer, char *kind, size_t size)
{
    int n = snprintf(kind, size, "HTTP %ld", status);
    size_t len = (size_t)n;
    if (answer[0] != '\0' && len + 2 < size) {
        kind[len++] = ':';
        kind[len++] = ' ';
        for (size_t i = 0; answer[i] != '\0' && len + 1 < size && len < 80; i++) {
            char c = answer[i];
            if (c == ':' || c == '{' || c == '\n' || c == '"' || (c >= '0' && c <= '9'))
                break;
            kind[len++] = c;
        }
        while (len > 0 && (kind[len - 1] == ' ' || kind[len - 1] == ':'))
            len--;
    }
    kind[len] = '\0';
}

static void count_drop(struct rw_export *x, long status)
{
    x->stats->requests_dropped++;
    x->stats->samples_dropped += x->req.nsamples;
    char kind[96];
    drop_kind(status, x->http.answer.text, kind, sizeof kind);
    for (size_t i = 0; i < x->ndrop_kinds; i++) {
        if (strcmp(x->drop_kinds[i], kind) == 0)
            return;
    }
    if (x->ndrop_kinds < RONDO_RW_MAX_DROP_KINDS)
        snprintf(x->drop_kinds[x->ndrop_kinds++], sizeof x->drop_kinds[0], "%s", kind);
    rw_log(x->o,
           "request of %zu samples refused and dropped (%s); later ones like it are counted "
           "only",
           x->req.nsamples, kind);
}

/* Sends the request until a 2xx, a refusal, or the attempt cap. */
static rondo_status send_request(struct rw_export *x, rondo_error *err)
{
    const rondo_rw_options *o = x->o;
    char safe[512];
    rondo__rw_redact_url(o->url, safe, sizeof safe);
    double backoff = o->backoff_min_sec;
    for (int attempt = 1;; attempt++) {
        double timeout = o->timeout_sec;
        double deadline = ctl_deadline(x->ctl);
        if (deadline > 0) {
            double left = deadline - pmb_now_sec();
            if (left <= 0) {
                x->stats->gave_up = true;
                rondo_error_set(err, RONDO_ERR_IO, "%s: stopped before delivery (flush deadline)",
                                safe);
                return RONDO_ERR_IO;
            }
            if (left < timeout)
                timeout = left;
        }
        long status = http_post(&x->http, x->req.packed, x->req.packed_len, timeout);
        x->stats->last_http_status = (int)status;
        if (status >= 200 && status < 300) {
            x->stats->requests_sent++;
            x->stats->samples_sent += x->req.nsamples;
            x->stats->bytes_sent += x->req.packed_len;
            x->stats->raw_bytes += x->req.raw_len;
            x->stats->last_success_unix = (int64_t)time(NULL);
            x->stats->gave_up = false;
            return RONDO_OK;
        }
        bool retry = status == 0 || status == 429 || status >= 500;
        if (!retry && x->resending) {
            x->stats->resends_refused++;
            rw_log(o,
                   "the request in flight when the last export stopped was refused on resend "
                   "(HTTP %ld %.*s): it was most likely stored before the stop; moving on",
                   status, (int)strcspn(x->http.answer.text, "\n"), x->http.answer.text);
            return RONDO_OK;
        }
        if (!retry) {
            count_drop(x, status);
            return RONDO_OK;
        }
        x->stats->attempts_failed++;
        char why[CURL_ERROR_SIZE + ANSWER_KEEP + 32];
        if (status == 0)
            snprintf(why, sizeof why, "%s", x->http.errbuf);
        else
            snprintf(why, sizeof why, "HTTP %ld %.*s", status,
                     (int)strcspn(x->http.answer.text, "\n"), x->http.answer.text);
        if (attempt >= o->max_attempts) {
            x->stats->gave_up = true;
            rondo_error_set(err, RONDO_ERR_IO,
                            "%s: unavailable after %d attempts (last: %s); the cursor is kept, "
                            "the next export resends",
                            safe, attempt, why);
            return RONDO_ERR_IO;
        }
        /* Full jitter over the upper half keeps a fleet of exporters from
         * retrying in step while still backing off. */
        double wait = backoff * (0.5 + 0.5 * jitter01(x));
        if (attempt == 1 || status != x->stats->last_http_status)
            rw_log(o, "%s: %s; retrying", safe, why);
        ctl_sleep(x->ctl, wait);
        backoff = backoff * 2 < o->backoff_max_sec ? backoff * 2 : o->backoff_max_sec;
    }
}

/* Encodes the request built, then sends it (or counts it in a dry run) and
 * moves the cursor. The cursor written before sending names this request as
 * pending, so a crash resends exactly it. */
static rondo_status flush_request(struct rw_export *x, rondo_error *err)
{
    rondo_status rc;
    if (x->req.nsamples > 0) {
        rondo__rw_request_encode(&x->req);
        if (x->o->dry_run) {
            x->stats->requests_planned++;
            x->stats->samples_planned += x->req.nsamples;
            x->stats->bytes_planned += x->req.packed_len;
        } else {
            mark_pending(x);
            if ((rc = cursor_save(x, err)) != RONDO_OK)
                return rc;
            if ((rc = send_request(x, err)) != RONDO_OK)
                return rc;
            if (x->kill_after > 0 && (long)x->stats->requests_sent >= x->kill_after)
                raise(SIGKILL);
        }
    }
    advance(x);
    x->npieces = 0;
    x->req_bytes = 0;
    rondo__rw_request_reset(&x->req);
    return RONDO_OK;
}

static rondo_status run_export(struct rw_export *x, rondo_error *err)
{
    rondo_status rc;
    if ((rc = cursor_load(x, err)) != RONDO_OK)
        return rc;
    if ((rc = prepare(x, err)) != RONDO_OK)
        return rc;
    if (!x->o->dry_run) {
        if ((rc = http_open(&x->http, x->o, x->ctl, err)) != RONDO_OK)
            return rc;
        x->http_open = true;
    }
    size_t cap = x->o->max_samples_per_request;
    rondo__rw_request_init(&x->req, x->nseries ? x->nseries : 1, cap);
    x->pieces = pmb_calloc(x->nseries ? x->nseries : 1, sizeof *x->pieces);

    /* First the batch in flight when the last export stopped, exactly. */
    for (size_t i = 0; i < x->nseries; i++) {
        const struct rondo__rw_entry *e = &x->cursor.e[x->series[i].entry];
        if (e->pend_from != RONDO__RW_NONE &&
            (rc = add_piece(x, i, e->pend_from, e->pend_to, true, err)) != RONDO_OK)
            return rc;
    }
    x->resending = true;
    if (x->npieces > 0 && (rc = flush_request(x, err)) != RONDO_OK)
        return rc;
    x->resending = false;
    /* Pending ranges of series no longer selected stay as they are. */
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < x->nseries; i++)
        x->series[i].to = last_sendable(x, &x->series[i], now);
    for (size_t i = 0; i < x->nseries; i++) {
        struct rw_series *s = &x->series[i];
        for (;;) {
            int64_t from = first_unsent(x, s);
            if (from == RONDO__RW_NONE || s->to == RONDO__RW_NONE || from > s->to)
                break;
            if ((rc = add_piece(x, i, from, s->to, false, err)) != RONDO_OK)
                return rc;
            struct rw_piece *p = &x->pieces[x->npieces - 1];
            bool complete = p->to >= s->to;
            if (complete && !request_full(x))
                break;
            /* The request is full (this piece may have made no progress):
             * send it, and the loop resumes this series where it stopped. */
            if ((rc = flush_request(x, err)) != RONDO_OK)
                return rc;
            if (complete)
                break;
        }
    }
    if ((rc = flush_request(x, err)) != RONDO_OK)
        return rc;
    for (size_t i = 0; i < x->nseries; i++) {
        if (x->series[i].samples == 0)
            continue;
        x->stats->series++;
        if (x->o->on_series != NULL) {
            rondo_series_info info;
            rondo_series_get_info(x->series[i].s, &info);
            x->o->on_series(x->o->ctx, info.key, x->series[i].samples);
        }
    }
    return cursor_save(x, err);
}

static rondo_status export_with(rondo_store *store, const rondo_rw_options *opts,
                                const struct rw_ctl *ctl, rondo_rw_stats *stats, rondo_error *err)
{
    rondo_rw_options o = *opts;
    if (o.cursor == NULL)
        o.cursor = "prometheus";
    rondo_status rc = rondo_rw_options_check(&o, err);
    if (rc != RONDO_OK)
        return rc;
    rondo_rw_stats local = {0};
    struct rw_export x = {.o = &o, .ctl = ctl, .stats = stats ? stats : &local, .store = store};
    x.rng = pmb_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&x;
    if (x.rng == 0)
        x.rng = 1;
    const char *kill = getenv("RONDO_RW_TEST_KILL_AFTER_SEND");
    x.kill_after = kill ? strtol(kill, NULL, 10) : 0;
    uint64_t sent_before = x.stats->requests_sent;
    x.kill_after = x.kill_after > 0 ? x.kill_after + (long)sent_before : 0;
    rc = run_export(&x, err);
    x.stats->exports++;
    if (rc != RONDO_OK)
        x.stats->exports_failed++;
    if (x.http_open)
        http_close(&x.http);
    rondo__rw_request_free(&x.req);
    rondo_result_free(&x.result);
    rondo__rw_cursor_free(&x.cursor);
    free(x.pieces);
    free(x.series);
    free(x.cursor_path);
    return rc;
}

rondo_status rondo_rw_export(rondo_store *store, const rondo_rw_options *opts,
                             rondo_rw_stats *stats, rondo_error *err)
{
    return export_with(store, opts, NULL, stats, err);
}

/* ---- The runner ------------------------------------------------------------------ */

struct rondo_rw_runner {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    double deadline;
    double interval;
    char *dir;
    rondo_rw_options opts;
    char *strings[8 + 2 * RONDO_RW_MAX_EXTRA_LABELS];
    size_t nstrings;
    rondo_rw_stats stats;
    rondo_status final_rc;
    rondo_error final_err;
    struct rw_ctl ctl;
};

static const char *keep(rondo_rw_runner *r, const char *s)
{
    if (s == NULL)
        return NULL;
    return r->strings[r->nstrings++] = pmb_strdup(s);
}

static void merge_stats(rondo_rw_stats *to, const rondo_rw_stats *from)
{
    to->series = from->series;
    to->samples_sent += from->samples_sent;
    to->requests_sent += from->requests_sent;
    to->bytes_sent += from->bytes_sent;
    to->raw_bytes += from->raw_bytes;
    to->attempts_failed += from->attempts_failed;
    to->requests_dropped += from->requests_dropped;
    to->samples_dropped += from->samples_dropped;
    to->resends_refused += from->resends_refused;
    to->series_invalid = from->series_invalid;
    to->samples_expired += from->samples_expired;
    to->exports += from->exports;
    to->exports_failed += from->exports_failed;
    if (from->last_success_unix != 0)
        to->last_success_unix = from->last_success_unix;
    to->last_http_status = from->last_http_status;
    to->gave_up = from->gave_up;
}

static rondo_status runner_round(rondo_rw_runner *r, int64_t settle, rondo_error *err)
{
    rondo_store *store;
    rondo_status rc = rondo_store_open(&store, r->dir, RONDO_OPEN_READ, err);
    rondo_rw_stats round = {0};
    if (rc == RONDO_OK) {
        rondo_rw_options o = r->opts;
        o.settle_sec = settle;
        rc = export_with(store, &o, &r->ctl, &round, err);
        rondo_store_close(store);
    } else {
        round.exports = round.exports_failed = 1;
    }
    if (rc != RONDO_OK)
        rw_log(&r->opts, "export failed: %s", err->message);
    pthread_mutex_lock(&r->mu);
    merge_stats(&r->stats, &round);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static void *runner_main(void *arg)
{
    rondo_rw_runner *r = arg;
    double next = pmb_now_sec() + r->interval;
    for (;;) {
        ctl_sleep(&r->ctl, next - pmb_now_sec());
        pthread_mutex_lock(&r->mu);
        bool stopping = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (stopping)
            break;
        rondo_error err;
        runner_round(r, r->opts.settle_sec, &err);
        next += r->interval;
        if (next < pmb_now_sec())
            next = pmb_now_sec() + r->interval;
    }
    r->final_rc = runner_round(r, 0, &r->final_err);
    return NULL;
}

rondo_status rondo_rw_runner_start(rondo_rw_runner **out, const char *store_dir,
                                   const rondo_rw_options *opts, double interval_sec,
                                   rondo_error *err)
{
    rondo_status rc = rondo_rw_options_check(opts, err);
    if (rc != RONDO_OK)
        return rc;
    if (!(interval_sec >= 0.1 && interval_sec <= 86400)) {
        rondo_error_set(err, RONDO_ERR_INPUT, "remote-write interval %g s: must be 0.1 to 86400",
                        interval_sec);
        return RONDO_ERR_INPUT;
    }
    rondo_rw_runner *r = pmb_calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->interval = interval_sec;
    r->dir = pmb_strdup(store_dir);
    r->opts = *opts;
    r->opts.url = keep(r, opts->url);
    r->opts.cursor = keep(r, opts->cursor);
    r->opts.selector = keep(r, opts->selector);
    r->opts.bearer_token_file = keep(r, opts->bearer_token_file);
    r->opts.basic_auth_file = keep(r, opts->basic_auth_file);
    r->opts.ca_file = keep(r, opts->ca_file);
    for (size_t i = 0; i < opts->nlabels; i++) {
        r->opts.labels[i].name = keep(r, opts->labels[i].name);
        r->opts.labels[i].value = keep(r, opts->labels[i].value);
    }
    r->ctl = (struct rw_ctl){&r->mu, &r->cv, &r->stopping, &r->deadline};
    int e = pthread_create(&r->thread, NULL, runner_main, r);
    if (e != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot start the remote-write thread: %s", strerror(e));
        for (size_t i = 0; i < r->nstrings; i++)
            free(r->strings[i]);
        free(r->dir);
        free(r);
        return RONDO_ERR_IO;
    }
    *out = r;
    return RONDO_OK;
}

void rondo_rw_runner_stats(rondo_rw_runner *r, rondo_rw_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    pthread_mutex_unlock(&r->mu);
}

rondo_status rondo_rw_runner_stop(rondo_rw_runner *r, double flush_timeout_sec,
                                  rondo_rw_stats *final, rondo_error *err)
{
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    r->deadline = pmb_now_sec() + (flush_timeout_sec > 0 ? flush_timeout_sec : 0);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    rondo_status rc = r->final_rc;
    if (rc != RONDO_OK && err != NULL)
        *err = r->final_err;
    if (final != NULL)
        *final = r->stats;
    for (size_t i = 0; i < r->nstrings; i++)
        free(r->strings[i]);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->dir);
    free(r);
    return rc;
}
