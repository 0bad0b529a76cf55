/* Reading a data file: its info, its extent and stitched queries. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The oldest time archive i holds, or INT64_MAX when it is empty. */
static int64_t window_start(const rondo_series *s, size_t i)
{
    int64_t last = s->hdr->last_slot[i];
    if (last == RONDO__NO_SLOT)
        return INT64_MAX;
    int64_t first = last - (int64_t)s->archives[i].rows + 1;
    return first * s->archives[i].resolution;
}

static int64_t retained_from(const rondo_series *s)
{
    int64_t from = INT64_MAX;
    for (size_t i = 0; i < s->narchives; i++) {
        int64_t w = window_start(s, i);
        from = w < from ? w : from;
    }
    return from;
}

void rondo_series_get_info(const rondo_series *s, rondo_series_info *info)
{
    const struct rondo__header *h = s->hdr;
    memset(info, 0, sizeof *info);
    info->key = s->key;
    info->path = s->path;
    info->kind = s->kind;
    info->narchives = s->narchives;
    memcpy(info->archives, s->archives, sizeof s->archives);
    info->empty = h->last_slot[0] == RONDO__NO_SLOT;
    info->first_time = info->empty ? 0 : h->first_time;
    info->last_time = info->empty ? 0 : h->last_slot[0] * s->r0;
    info->retained_from = info->empty ? 0 : retained_from(s);
    info->file_bytes = s->map_size;
    info->late = h->late;
    info->too_old = h->too_old;
    info->future = h->future;
    info->invalid = h->invalid;
}

bool rondo_series_extent(const rondo_series *s, int64_t *start, int64_t *end)
{
    const struct rondo__header *h = s->hdr;
    if (h->last_slot[0] == RONDO__NO_SLOT)
        return false;
    int64_t from = retained_from(s);
    *start = h->first_time > from ? h->first_time : from;
    *end = (h->last_slot[0] + 1) * s->r0;
    return true;
}

static int64_t align_down(int64_t t, int64_t r)
{
    return rondo__floor_div(t, r) * r;
}

static int64_t align_up(int64_t t, int64_t r)
{
    return -rondo__floor_div(-t, r) * r;
}

/* Decodes n consecutive slots into out. A query's copy is most of its time,
 * so the XOR goes four slots at a time, in AVX2 registers where the CPU has
 * them (GCC and clang pick the clone when the program loads); a slot at a
 * time it took four times as long as the memcpy of a version 1 file. */
typedef uint64_t u64x4 __attribute__((vector_size(32)));

__attribute__((target_clones("avx2", "default"))) static void
decode_slots(double *restrict out, const uint64_t *restrict ring, size_t n, uint64_t mask)
{
    u64x4 m = {mask, mask, mask, mask};
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        u64x4 v;
        memcpy(&v, ring + j, sizeof v);
        v ^= m;
        memcpy(out + j, &v, sizeof v);
    }
    for (; j < n; j++) {
        uint64_t bits = ring[j] ^ mask;
        memcpy(out + j, &bits, sizeof bits);
    }
}

/* Copies slots [first, first + count) of archive i into out, NaN where the
 * archive does not hold them. */
static void copy_slots(const rondo_series *s, size_t i, int64_t first, size_t count, double *out)
{
    int64_t last = s->hdr->last_slot[i];
    uint32_t rows = s->archives[i].rows;
    int64_t lo = last == RONDO__NO_SLOT ? 1 : last - (int64_t)rows + 1;
    int64_t hi = last == RONDO__NO_SLOT ? 0 : last;
    const uint64_t *ring = s->rings[i];
    size_t k = 0;
    while (k < count) {
        int64_t slot = first + (int64_t)k;
        if (slot < lo || slot > hi) {
            out[k++] = NAN;
            continue;
        }
        /* A run of held slots up to the end of the ring or of the window. */
        uint32_t pos = rondo__mod(slot, rows);
        size_t run = rows - pos;
        if ((int64_t)run > hi - slot + 1)
            run = (size_t)(hi - slot + 1);
        if (run > count - k)
            run = count - k;
        decode_slots(out + k, ring + pos, run, s->slot_mask);
        k += run;
    }
}

rondo_status rondo_query(const rondo_series *s, int64_t start, int64_t end, rondo_result *res,
                         rondo_error *err)
{
    res->nparts = 0;
    if (s->hdr->last_slot[0] == RONDO__NO_SLOT)
        return RONDO_OK;
    /* Nothing is reported outside what the archives hold: before the oldest
     * retained slot or after the newest one. */
    int64_t from = retained_from(s);
    int64_t newest_end = (s->hdr->last_slot[0] + 1) * s->r0;
    start = start > from ? start : from;
    end = end < newest_end ? end : newest_end;
    if (start >= end)
        return RONDO_OK;
    /* Plan the parts newest first (no part longer than its archive, so an
     * answer's size follows from the geometry, never from state read from
     * disk): archive i serves [lo, hi), where hi is
     * where the finer part began and lo is where archive i's window begins,
     * rounded up to the next coarser resolution so parts meet on a boundary. */
    struct {
        size_t archive;
        int64_t lo, hi;
    } plan[RONDO_MAX_ARCHIVES];
    size_t nplan = 0, total = 0;
    int64_t hi = align_up(end, s->r0);
    for (size_t i = 0; i < s->narchives && hi > start; i++) {
        int64_t r = s->archives[i].resolution;
        /* The newest part may round its end up; an older one must not
         * overlap the part after it. */
        hi = nplan == 0 ? align_up(hi, r) : align_down(hi, r);
        int64_t lo = align_down(start, r);
        int64_t w = window_start(s, i);
        /* Only when this archive cannot reach the start and a coarser one
         * reaches further back does the part stop at a coarser boundary. */
        if (lo < w && i + 1 < s->narchives && s->hdr->last_slot[i + 1] != RONDO__NO_SLOT &&
            window_start(s, i + 1) < w) {
            int64_t boundary = align_up(w, s->archives[i + 1].resolution);
            lo = boundary > lo ? boundary : lo;
        }
        int64_t span, min_lo;
        if (!__builtin_mul_overflow((int64_t)s->archives[i].rows, r, &span) &&
            !__builtin_sub_overflow(hi, span, &min_lo) && lo < min_lo)
            lo = min_lo;
        if (lo >= hi)
            continue;
        plan[nplan].archive = i;
        plan[nplan].lo = lo;
        plan[nplan].hi = hi;
        total += (size_t)((hi - lo) / r);
        nplan++;
        hi = lo;
    }
    if (total > res->capacity) {
        double *grown = realloc(res->buffer, total * sizeof(double));
        if (grown == NULL) {
            rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory: %zu values for %s", total,
                            s->key);
            return RONDO_ERR_NOMEM;
        }
        res->buffer = grown;
        res->capacity = total;
    }
    size_t used = 0;
    for (size_t k = nplan; k-- > 0;) {
        size_t i = plan[k].archive;
        int64_t r = s->archives[i].resolution;
        rondo_part *p = &res->parts[res->nparts++];
        p->archive = i;
        p->resolution = r;
        p->cf = s->archives[i].cf;
        p->start = plan[k].lo;
        p->count = (size_t)((plan[k].hi - plan[k].lo) / r);
        p->values = res->buffer + used;
        copy_slots(s, i, plan[k].lo / r, p->count, res->buffer + used);
        used += p->count;
    }
    return RONDO_OK;
}

void rondo_result_free(rondo_result *res)
{
    free(res->buffer);
    res->buffer = NULL;
    res->capacity = 0;
    res->nparts = 0;
}
