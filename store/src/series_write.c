/* The O(1) write path of a data file, with consolidation into the coarser
 * archives, and the handle's set-up that re-derives a writer's state. */
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* Keeps the compiler from reordering stores into the mapping. The order
 * matters if the process dies between two of them: a slot is cleared before
 * the header says it is the newest, and the value is stored after. Process
 * death (SIGKILL) cannot reorder stores the CPU has retired, so a compiler
 * barrier is all that is needed; a power loss is what rondo_series_sync is for. */
#define ORDERED() atomic_signal_fence(memory_order_seq_cst)

static double cf_value(const struct rondo__acc *a, rondo_cf cf)
{
    switch (cf) {
    case RONDO_CF_AVG:
        /* The sum is a long double: the mean of values near the limit of a
         * double is itself a double, though their sum is not. */
        return (double)(a->sum / (long double)a->count);
    case RONDO_CF_MIN:
        return a->min;
    case RONDO_CF_MAX:
        return a->max;
    case RONDO_CF_LAST:
        return a->last;
    case RONDO_CF_SUM:
        return (double)a->sum;
    }
    return NAN;
}

static void acc_fold(struct rondo__acc *a, double v)
{
    if (a->count == 0) {
        a->sum = a->min = a->max = v;
    } else {
        a->sum += v;
        a->min = v < a->min ? v : a->min;
        a->max = v > a->max ? v : a->max;
    }
    a->last = v;
    a->count++;
}

/* Re-derives coarse slot `c` of archive i from the finest archive's closed
 * slots. Only exact when every finest slot of `c` is still retained; callers
 * check that with fine_holds(). */
static void rederive(rondo_series *s, size_t i, int64_t c)
{
    uint32_t rows = s->co[i].rows;
    struct rondo__acc a = {
        .slot = c, .end_fine = (c + 1) * s->co[i].ratio, .pos = rondo__mod(c, rows)};
    int64_t last0 = s->hdr->last_slot[0];
    for (int64_t f = c * s->co[i].ratio; f < a.end_fine && f < last0; f++) {
        double v = rondo__slot_get(s, s->ring0, rondo__mod(f, s->rows0));
        if (!isnan(v))
            acc_fold(&a, v);
    }
    if (a.count)
        rondo__slot_set(s, s->co[i].ring, a.pos, cf_value(&a, s->co[i].cf));
    else
        rondo__slot_clear(s, s->co[i].ring, a.pos);
    if (c == s->co[i].acc.slot)
        s->co[i].acc = a;
}

/* Whether every finest slot of coarse slot c of archive i is retained. */
static bool fine_holds(const rondo_series *s, size_t i, int64_t c)
{
    int64_t last0 = s->hdr->last_slot[0];
    return c * s->co[i].ratio > last0 - (int64_t)s->rows0;
}

/* Moves coarse archive i forward so that its newest slot contains finest
 * slot f, clearing the slots it skips. The usual step of one slot needs no
 * division. */
static void coarse_advance(rondo_series *s, size_t i, int64_t f)
{
    struct rondo__acc *a = &s->co[i].acc;
    uint32_t rows = s->co[i].rows;
    int64_t c;
    uint32_t pos;
    if (a->slot != RONDO__NO_SLOT && f >= a->end_fine && f < a->end_fine + s->co[i].ratio) {
        c = a->slot + 1;
        pos = a->pos + 1 == rows ? 0 : a->pos + 1;
        rondo__slot_clear(s, s->co[i].ring, pos);
    } else {
        c = rondo__floor_div(f, s->co[i].ratio);
        pos = rondo__mod(c, rows);
        int64_t from = a->slot == RONDO__NO_SLOT ? c : a->slot + 1;
        if (c - from + 1 >= (int64_t)rows)
            from = c - rows + 1;
        for (int64_t k = from; k <= c; k++)
            rondo__slot_clear(s, s->co[i].ring, rondo__mod(k, rows));
    }
    ORDERED();
    s->hdr->last_slot[i] = c;
    *a = (struct rondo__acc){.slot = c, .end_fine = (c + 1) * s->co[i].ratio, .pos = pos};
}

/* Finest slot f closed holding `closed`: fold it into coarse archive i. */
static inline void close_into(rondo_series *s, size_t i, int64_t f, double closed)
{
    struct rondo__acc *a = &s->co[i].acc;
    if (a->slot == RONDO__NO_SLOT || f >= a->end_fine)
        coarse_advance(s, i, f);
    if (!isnan(closed)) {
        acc_fold(a, closed);
        rondo__slot_set(s, s->co[i].ring, a->pos, cf_value(a, s->co[i].cf));
    }
}

/* The newest finest slot moves from `last` to `slot`: `last` closes and is
 * folded into every coarser archive, then the finest ring advances. */
static void fine_advance(rondo_series *s, int64_t slot)
{
    int64_t last = s->hdr->last_slot[0];
    if (last != RONDO__NO_SLOT) {
        double closed = rondo__slot_get(s, s->ring0, s->pos0);
        for (size_t i = 1; i < s->narchives; i++) {
            close_into(s, i, last, closed);
            if (slot - 1 >= s->co[i].acc.end_fine)
                coarse_advance(s, i, slot - 1);
        }
    }
    int64_t from = last == RONDO__NO_SLOT ? slot : last + 1;
    if (slot - from + 1 >= (int64_t)s->rows0)
        from = slot - s->rows0 + 1;
    for (int64_t k = from; k <= slot; k++)
        rondo__slot_clear(s, s->ring0, rondo__mod(k, s->rows0));
    ORDERED();
    s->hdr->last_slot[0] = slot;
    s->pos0 = rondo__mod(slot, s->rows0);
    s->t_start = slot * s->r0;
    s->t_end = s->t_start + s->r0;
}

/* The common step of one finest slot, with no division anywhere. */
static inline void fine_step(rondo_series *s)
{
    int64_t last = s->hdr->last_slot[0];
    double closed = rondo__slot_get(s, s->ring0, s->pos0);
    for (size_t i = 1; i < s->narchives; i++)
        close_into(s, i, last, closed);
    uint32_t pos = s->pos0 + 1 == s->rows0 ? 0 : s->pos0 + 1;
    rondo__slot_clear(s, s->ring0, pos);
    ORDERED();
    s->hdr->last_slot[0] = last + 1;
    s->pos0 = pos;
    s->t_start = s->t_end;
    s->t_end += s->r0;
}

static void refresh_future_limit(rondo_series *s)
{
    if (s->max_future <= 0) {
        s->future_limit = RONDO_TIME_MAX;
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    int64_t limit = (int64_t)ts.tv_sec + s->max_future;
    s->future_limit = limit < RONDO_TIME_MAX ? limit : RONDO_TIME_MAX;
}

/* False, with nothing stored, when a counter's slot would leave the range of
 * a double: an overflow is refused, never stored as infinity. */
static inline bool store_value(rondo_series *s, uint32_t pos, double v)
{
    double held = rondo__slot_get(s, s->ring0, pos);
    if (s->kind == RONDO_COUNTER && !isnan(held)) {
        double sum = held + v;
        if (!isfinite(sum))
            return false;
        v = sum;
    }
    rondo__slot_set(s, s->ring0, pos, v);
    return true;
}

/* Everything but the two common cases of rondo_write. */
static rondo_write_outcome write_slow(rondo_series *s, int64_t t, double v)
{
    struct rondo__header *h = s->hdr;
    if (!s->writable)
        return RONDO_WRITE_READONLY;
    if (!isfinite(v) || t < 0 || t > RONDO_TIME_MAX) {
        h->invalid++;
        return RONDO_WRITE_INVALID;
    }
    int64_t slot = rondo__floor_div(t, s->r0);
    int64_t last = h->last_slot[0];
    if (last == RONDO__NO_SLOT || slot > last) {
        if (t > s->future_limit) {
            refresh_future_limit(s);
            if (t > s->future_limit) {
                h->future++;
                return RONDO_WRITE_FUTURE;
            }
        }
        fine_advance(s, slot);
        ORDERED();
        rondo__slot_set(s, s->ring0, s->pos0, v);
        if (h->first_time == RONDO__NO_SLOT || t < h->first_time)
            h->first_time = t;
        return RONDO_WRITE_APPLIED;
    }
    if (slot <= last - (int64_t)s->rows0) {
        h->too_old++;
        return RONDO_WRITE_TOO_OLD;
    }
    if (!store_value(s, rondo__mod(slot, s->rows0), v)) {
        h->invalid++;
        return RONDO_WRITE_INVALID;
    }
    if (t < h->first_time)
        h->first_time = t;
    if (slot == last)
        return RONDO_WRITE_APPLIED;
    /* A closed slot changed: re-derive the coarse slots that contain it,
     * where the finest archive still holds all of their finer slots. */
    for (size_t i = 1; i < s->narchives; i++) {
        int64_t c = rondo__floor_div(slot, s->co[i].ratio);
        if (h->last_slot[i] != RONDO__NO_SLOT && c <= h->last_slot[i] && fine_holds(s, i, c))
            rederive(s, i, c);
    }
    h->late++;
    return RONDO_WRITE_LATE;
}

rondo_write_outcome rondo_write(rondo_series *s, int64_t t, double v)
{
    /* Common case 1: into the newest slot. Validity of t follows from the
     * range check; a non-finite value falls through to the slow path. */
    if (t >= s->t_start && t < s->t_end && s->writable && isfinite(v)) {
        if (store_value(s, s->pos0, v))
            return RONDO_WRITE_APPLIED;
        s->hdr->invalid++;
        return RONDO_WRITE_INVALID;
    }
    /* Common case 2: into the next slot, one step of the ring. */
    if (t >= s->t_end && t < s->t_end + s->r0 && t <= s->future_limit && s->writable &&
        isfinite(v)) {
        fine_step(s);
        ORDERED();
        rondo__slot_set(s, s->ring0, s->pos0, v);
        return RONDO_WRITE_APPLIED;
    }
    return write_slow(s, t, v);
}

void rondo_write_batch(const rondo_sample *samples, size_t n, rondo_batch_result *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        switch (rondo_write(samples[i].series, samples[i].time, samples[i].value)) {
        case RONDO_WRITE_APPLIED:
            r->applied++;
            break;
        case RONDO_WRITE_LATE:
            r->late++;
            break;
        case RONDO_WRITE_TOO_OLD:
            r->too_old++;
            break;
        case RONDO_WRITE_FUTURE:
            r->future++;
            break;
        case RONDO_WRITE_INVALID:
            r->invalid++;
            break;
        case RONDO_WRITE_READONLY:
            r->readonly++;
            break;
        }
    }
}

void rondo__series_setup(rondo_series *s)
{
    struct rondo__header *h = s->hdr;
    s->kind = (rondo_kind)h->kind;
    s->slot_mask = h->version == RONDO__VERSION_RAW ? 0 : RONDO__EMPTY_BITS;
    s->narchives = h->narchives;
    for (size_t i = 0; i < s->narchives; i++) {
        s->archives[i] = (rondo_archive_spec){
            h->archives[i].resolution, (uint32_t)h->archives[i].rows, (rondo_cf)h->archives[i].cf};
        s->rings[i] = (uint64_t *)((char *)s->map + h->archives[i].offset);
        s->co[i].ring = s->rings[i];
        s->co[i].ratio = h->archives[i].resolution / h->archives[0].resolution;
        s->co[i].rows = s->archives[i].rows;
        s->co[i].cf = s->archives[i].cf;
    }
    s->ring0 = s->rings[0];
    s->r0 = s->archives[0].resolution;
    s->rows0 = s->archives[0].rows;
    int64_t last0 = h->last_slot[0];
    if (last0 == RONDO__NO_SLOT) {
        s->t_start = INT64_MAX;
        s->t_end = INT64_MIN;
        s->pos0 = 0;
    } else {
        s->pos0 = rondo__mod(last0, s->rows0);
        s->t_start = last0 * s->r0;
        s->t_end = s->t_start + s->r0;
    }
    s->max_future = RONDO_DEFAULT_MAX_FUTURE_SEC;
    refresh_future_limit(s);
    /* Only a writer consolidates. It re-derives the coarse slots being
     * consolidated from the finest archive when that still holds them, and
     * otherwise resumes from the value the coarse slot holds (an average
     * then weighs that value as one finest slot). */
    for (size_t i = 1; s->writable && i < s->narchives; i++) {
        int64_t c = h->last_slot[i];
        s->co[i].acc = (struct rondo__acc){.slot = c};
        if (c == RONDO__NO_SLOT)
            continue;
        s->co[i].acc.end_fine = (c + 1) * s->co[i].ratio;
        s->co[i].acc.pos = rondo__mod(c, s->archives[i].rows);
        if (fine_holds(s, i, c)) {
            rederive(s, i, c);
        } else {
            double v = rondo__slot_get(s, s->rings[i], s->co[i].acc.pos);
            if (!isnan(v))
                acc_fold(&s->co[i].acc, v);
        }
    }
}

void rondo_series_set_max_future(rondo_series *s, int64_t seconds)
{
    s->max_future = seconds;
    refresh_future_limit(s);
}
