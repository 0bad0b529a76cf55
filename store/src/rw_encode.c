/* Remote write encoding: the label rules of Prometheus and a WriteRequest
 * packed with protobuf-c and compressed with snappy. */
#include "pmbase/alloc.h"
#include "rw_internal.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (colon && c == ':')
        return true;
    return !first && c >= '0' && c <= '9';
}

static bool name_ok(const char *name, bool colon)
{
    if (name == NULL || name[0] == '\0')
        return false;
    for (size_t i = 0; name[i] != '\0'; i++) {
        if (!name_char(name[i], i == 0, colon))
            return false;
    }
    return true;
}

bool rondo__rw_metric_name_ok(const char *name)
{
    return name_ok(name, true);
}

bool rondo__rw_label_name_ok(const char *name)
{
    return name_ok(name, false);
}

static int label_cmp(const void *a, const void *b)
{
    return strcmp(((const rondo_label *)a)->name, ((const rondo_label *)b)->name);
}

rondo_status rondo__rw_labels(const rondo_series_id *id, const rondo_label *extra, size_t nextra,
                              rondo_label *out, size_t *nout, rondo_error *err)
{
    if (!rondo__rw_metric_name_ok(id->name)) {
        rondo_error_set(err, RONDO_ERR_INPUT, "metric name '%s' is not valid for Prometheus",
                        id->name);
        return RONDO_ERR_INPUT;
    }
    size_t n = 0;
    out[n++] = (rondo_label){"__name__", id->name};
    for (size_t pass = 0; pass < 2; pass++) {
        const rondo_label *from = pass == 0 ? id->labels : extra;
        size_t count = pass == 0 ? id->nlabels : nextra;
        for (size_t i = 0; i < count; i++) {
            const rondo_label *l = &from[i];
            /* Names starting with __ are reserved for Prometheus itself. */
            if (!rondo__rw_label_name_ok(l->name) || strncmp(l->name, "__", 2) == 0) {
                rondo_error_set(err, RONDO_ERR_INPUT, "label name '%s' is not valid for Prometheus",
                                l->name);
                return RONDO_ERR_INPUT;
            }
            if (l->value == NULL || l->value[0] == '\0')
                continue;
            out[n++] = *l;
        }
    }
    qsort(out + 1, n - 1, sizeof *out, label_cmp);
    for (size_t i = 2; i < n; i++) {
        if (strcmp(out[i - 1].name, out[i].name) == 0) {
            rondo_error_set(err, RONDO_ERR_INPUT, "label '%s' given twice (series %s)", out[i].name,
                            id->name);
            return RONDO_ERR_INPUT;
        }
    }
    *nout = n;
    return RONDO_OK;
}

void rondo__rw_request_init(struct rondo__rw_request *r, size_t max_series, size_t max_samples)
{
    memset(r, 0, sizeof *r);
    r->ts_cap = max_series;
    r->ts = pmb_calloc(max_series, sizeof *r->ts);
    r->ts_ptrs = pmb_calloc(max_series, sizeof *r->ts_ptrs);
    r->samples_cap = max_samples;
    r->samples = pmb_calloc(max_samples, sizeof *r->samples);
    r->sample_ptrs = pmb_calloc(max_samples, sizeof *r->sample_ptrs);
    for (size_t i = 0; i < max_samples; i++) {
        r->samples[i] = (Prometheus__Sample)PROMETHEUS__SAMPLE__INIT;
        r->sample_ptrs[i] = &r->samples[i];
    }
    for (size_t i = 0; i < max_series; i++) {
        r->ts[i] = (Prometheus__TimeSeries)PROMETHEUS__TIME_SERIES__INIT;
        r->ts_ptrs[i] = &r->ts[i];
    }
    r->req = (Prometheus__WriteRequest)PROMETHEUS__WRITE_REQUEST__INIT;
    r->req.timeseries = r->ts_ptrs;
}

void rondo__rw_request_free(struct rondo__rw_request *r)
{
    free(r->ts);
    free(r->ts_ptrs);
    free(r->samples);
    free(r->sample_ptrs);
    free(r->raw);
    free(r->packed);
    memset(r, 0, sizeof *r);
}

void rondo__rw_request_reset(struct rondo__rw_request *r)
{
    r->req.n_timeseries = 0;
    r->nsamples = 0;
    r->raw_len = 0;
    r->packed_len = 0;
}

void rondo__rw_request_series(struct rondo__rw_request *r, Prometheus__Label **labels,
                              size_t nlabels)
{
    Prometheus__TimeSeries *ts = &r->ts[r->req.n_timeseries++];
    ts->labels = labels;
    ts->n_labels = nlabels;
    ts->samples = &r->sample_ptrs[r->nsamples];
    ts->n_samples = 0;
}

void rondo__rw_request_encode(struct rondo__rw_request *r)
{
    size_t need = prometheus__write_request__get_packed_size(&r->req);
    if (need > r->raw_cap) {
        free(r->raw);
        r->raw_cap = need + need / 4;
        r->raw = pmb_malloc(r->raw_cap);
    }
    r->raw_len = prometheus__write_request__pack(&r->req, r->raw);
    size_t max = snappy_max_compressed_length(r->raw_len);
    if (max > r->packed_cap) {
        free(r->packed);
        r->packed_cap = max;
        r->packed = pmb_malloc(max);
    }
    r->packed_len = r->packed_cap;
    /* snappy_compress fails only when the output is too small, and it was
     * sized by snappy_max_compressed_length. */
    if (snappy_compress((const char *)r->raw, r->raw_len, r->packed, &r->packed_len) != SNAPPY_OK)
        pmb_oom("snappy output buffer");
}
