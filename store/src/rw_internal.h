/* Private declarations of the remote-write exporter, shared by its sources
 * and reached by the unit tests: label rules, the cursor, encoding. */
#ifndef RONDO_RW_INTERNAL_H
#define RONDO_RW_INTERNAL_H

#include "remote.pb-c.h"
#include "rondo/remote_write.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* No slot: a cursor entry that has delivered nothing, no batch pending. */
#define RONDO__RW_NONE INT64_MIN
/* __name__, the series' labels and the extra labels. */
#define RONDO__RW_MAX_LABELS (1 + RONDO_MAX_LABELS + RONDO_RW_MAX_EXTRA_LABELS)
/* The largest cursor file read (a few hundred bytes per series). */
#define RONDO__RW_CURSOR_MAX_BYTES (64u << 20)

/* Builds the labels of one series as sent: __name__ first, then the series'
 * labels and `extra` merged, sorted by name (byte order), every name valid
 * for Prometheus, no name twice, no empty value (an empty value means an
 * absent label to Prometheus, so such a label is left out). The strings are
 * not copied. RONDO_ERR_INPUT names the offending label. */
rondo_status rondo__rw_labels(const rondo_series_id *id, const rondo_label *extra, size_t nextra,
                              rondo_label *out, size_t *nout, rondo_error *err);

bool rondo__rw_metric_name_ok(const char *name);
bool rondo__rw_label_name_ok(const char *name);

/* ---- The cursor ------------------------------------------------------------ */

struct rondo__rw_entry {
    char *key;                  /* canonical series key, without the extra labels */
    int64_t last;               /* start of the last slot delivered, or RONDO__RW_NONE */
    double total;               /* a counter's running total through `last` */
    int64_t pend_from, pend_to; /* the slots of the batch in flight, or RONDO__RW_NONE */
};

/* Entries sorted by key. */
struct rondo__rw_cursor {
    struct rondo__rw_entry *e;
    size_t n, cap;
};

/* Parses a cursor file's text; `path` names it in messages. Anything but a
 * well-formed cursor is RONDO_ERR_CORRUPT. */
rondo_status rondo__rw_cursor_parse(struct rondo__rw_cursor *c, const char *text, const char *path,
                                    rondo_error *err);
/* The cursor as JSON (a string the caller frees); `url` is recorded with any
 * credentials taken out. NULL when out of memory. */
char *rondo__rw_cursor_format(const struct rondo__rw_cursor *c, const char *url);
/* The entry for key, added (nothing delivered) when absent. Adding moves the
 * entries, so callers keep indices only after every key is added. */
size_t rondo__rw_cursor_entry(struct rondo__rw_cursor *c, const char *key);
void rondo__rw_cursor_free(struct rondo__rw_cursor *c);

/* Writes `url` without user:password into buf (for logs and the cursor). */
void rondo__rw_redact_url(const char *url, char *buf, size_t size);

/* ---- Encoding -------------------------------------------------------------- */

/* A request under construction: series with their labels and samples, in
 * pools sized once for the largest request allowed. */
struct rondo__rw_request {
    Prometheus__WriteRequest req;
    Prometheus__TimeSeries *ts;       /* pool of series */
    Prometheus__TimeSeries **ts_ptrs; /* req.timeseries */
    size_t ts_cap;
    Prometheus__Sample *samples;
    Prometheus__Sample **sample_ptrs;
    size_t nsamples, samples_cap;
    uint8_t *raw; /* packed protobuf */
    size_t raw_cap, raw_len;
    char *packed; /* snappy block */
    size_t packed_cap, packed_len;
};

void rondo__rw_request_init(struct rondo__rw_request *r, size_t max_series, size_t max_samples);
void rondo__rw_request_free(struct rondo__rw_request *r);
void rondo__rw_request_reset(struct rondo__rw_request *r);
/* Starts a series whose label array lives as long as the request is used;
 * its samples are the ones added until the next series starts. */
void rondo__rw_request_series(struct rondo__rw_request *r, Prometheus__Label **labels,
                              size_t nlabels);
/* Adds a sample to the current series; the caller keeps within samples_cap. */
static inline void rondo__rw_request_sample(struct rondo__rw_request *r, int64_t ms, double v)
{
    Prometheus__Sample *s = &r->samples[r->nsamples];
    s->value = v;
    s->timestamp = ms;
    r->ts[r->req.n_timeseries - 1].n_samples++;
    r->nsamples++;
}
/* Packs the request and compresses it with snappy into r->packed. */
void rondo__rw_request_encode(struct rondo__rw_request *r);

#endif
