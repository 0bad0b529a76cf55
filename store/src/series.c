/* Data files: creation, validation on open, the O(1) write path with
 * consolidation, and stitched queries. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Keeps the compiler from reordering stores into the mapping. The order
 * matters if the process dies between two of them: a slot is cleared before
 * the header says it is the newest, and the value is stored after. Process
 * death (SIGKILL) cannot reorder stores the CPU has retired, so a compiler
 * barrier is all that is needed; a power loss is what rondo_series_sync is for. */
#define ORDERED() atomic_signal_fence(memory_order_seq_cst)

static size_t data_offset(const rondo_archive_spec *archives, size_t n, size_t i)
{
    size_t off = RONDO__HEADER_SIZE;
    for (size_t k = 0; k < i && k < n; k++)
        off += ((size_t)archives[k].rows * sizeof(double) + 63u) & ~(size_t)63u;
    return off;
}

static void fill_header(struct rondo__header *h, const char *key, rondo_kind kind,
                        const rondo_archive_spec *archives, size_t n)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, RONDO__MAGIC, 8);
    h->version = RONDO__VERSION;
    h->byte_order = RONDO__BYTE_ORDER;
    h->header_size = RONDO__HEADER_SIZE;
    h->kind = (uint32_t)kind;
    h->narchives = (uint32_t)n;
    h->key_len = (uint32_t)strlen(key);
    memcpy(h->key, key, h->key_len);
    for (size_t i = 0; i < n; i++) {
        h->archives[i].resolution = archives[i].resolution;
        h->archives[i].rows = archives[i].rows;
        h->archives[i].cf = (uint32_t)archives[i].cf;
        h->archives[i].offset = data_offset(archives, n, i);
    }
    h->file_size = data_offset(archives, n, n);
    h->header_crc = rondo__crc32(h, RONDO__CRC_END);
    for (size_t i = 0; i < RONDO_MAX_ARCHIVES; i++)
        h->last_slot[i] = RONDO__NO_SLOT;
    h->first_time = RONDO__NO_SLOT;
}

static rondo_status write_all(int fd, const void *buf, size_t len, off_t off, const char *path,
                              rondo_error *err)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rondo_error_set(err, RONDO_ERR_IO, "cannot write %s: %s", path,
                            n < 0 ? strerror(errno) : "short write");
            return RONDO_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return RONDO_OK;
}

rondo_status rondo__series_create_file(const char *path, const rondo_series_id *id, rondo_kind kind,
                                       const rondo_archive_spec *archives, size_t narchives,
                                       rondo_error *err)
{
    rondo_status st = rondo_archives_check(archives, narchives, err);
    if (st != RONDO_OK)
        return st;
    char key[RONDO_MAX_KEY + 1];
    if (rondo_series_id_format(id, key, sizeof key) < 0) {
        rondo_error_set(err, RONDO_ERR_INPUT, "series key too long");
        return RONDO_ERR_INPUT;
    }
    struct rondo__header *h = malloc(sizeof *h);
    double *nans = malloc(65536);
    if (h == NULL || nans == NULL) {
        free(h);
        free(nans);
        rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory creating %s", path);
        return RONDO_ERR_NOMEM;
    }
    fill_header(h, key, kind, archives, narchives);
    for (size_t i = 0; i < 65536 / sizeof(double); i++)
        nans[i] = NAN;
    /* A new file or nothing: never through a link, never over a file. */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        free(h);
        free(nans);
        return RONDO_ERR_IO;
    }
    /* Reserving every block now means a later store into the mapping can
     * never hit a full disk, which would arrive as SIGBUS instead of an error. */
    int rc = posix_fallocate(fd, 0, (off_t)h->file_size);
    if (rc != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot reserve %llu bytes for %s: %s",
                        (unsigned long long)h->file_size, path, strerror(rc));
        st = RONDO_ERR_IO;
    }
    for (size_t off = RONDO__HEADER_SIZE; st == RONDO_OK && off < h->file_size; off += 65536) {
        size_t len = h->file_size - off < 65536 ? h->file_size - off : 65536;
        st = write_all(fd, nans, len, (off_t)off, path, err);
    }
    if (st == RONDO_OK)
        st = write_all(fd, h, sizeof *h, 0, path, err);
    if (st == RONDO_OK && fsync(fd) != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot fsync %s: %s", path, strerror(errno));
        st = RONDO_ERR_IO;
    }
    /* The pages just written are clean now and mostly never read again: out
     * of the page cache with them, or the first read fault of a mapping maps
     * the 16 cached pages around it (fault-around) and a writer keeps them
     * resident. Advice only. */
    if (st == RONDO_OK)
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    free(h);
    free(nans);
    return st;
}

/* Checks everything a reader relies on, so that no later arithmetic on the
 * header can overflow or index outside the mapping. */
static rondo_status validate(const struct rondo__header *h, uint64_t size, const char *path,
                             rondo_error *err)
{
#define CORRUPT(...)                                                                               \
    do {                                                                                           \
        char why_[300];                                                                            \
        snprintf(why_, sizeof why_, __VA_ARGS__);                                                  \
        rondo_error_set(err, RONDO_ERR_CORRUPT, "%s: %s", path, why_);                             \
        return RONDO_ERR_CORRUPT;                                                                  \
    } while (0)
    if (size < RONDO__HEADER_SIZE)
        CORRUPT("truncated: %llu bytes, a rondo data file has at least %u",
                (unsigned long long)size, RONDO__HEADER_SIZE);
    if (memcmp(h->magic, RONDO__MAGIC, 8) != 0)
        CORRUPT("not a rondo data file (bad magic)");
    if (h->byte_order != RONDO__BYTE_ORDER)
        CORRUPT("written on a machine of another byte order");
    if (h->version != RONDO__VERSION)
        CORRUPT("format version %u, this build reads version %u", h->version, RONDO__VERSION);
    if (rondo__crc32(h, RONDO__CRC_END) != h->header_crc)
        CORRUPT("header checksum mismatch (corrupted or torn header)");
    if (h->header_size != RONDO__HEADER_SIZE || h->kind > RONDO_COUNTER || h->narchives < 1 ||
        h->narchives > RONDO_MAX_ARCHIVES || h->key_len == 0 || h->key_len > RONDO_MAX_KEY ||
        h->key[h->key_len] != '\0')
        CORRUPT("implausible header fields");
    rondo_archive_spec specs[RONDO_MAX_ARCHIVES];
    for (uint32_t i = 0; i < h->narchives; i++) {
        if (h->archives[i].rows > RONDO_MAX_ROWS || h->archives[i].cf > RONDO_CF_SUM)
            CORRUPT("archive %u has implausible geometry", i + 1);
        specs[i] = (rondo_archive_spec){h->archives[i].resolution, (uint32_t)h->archives[i].rows,
                                        (rondo_cf)h->archives[i].cf};
    }
    rondo_error sub;
    if (rondo_archives_check(specs, h->narchives, &sub) != RONDO_OK)
        CORRUPT("%.200s", sub.message);
    for (uint32_t i = 0; i < h->narchives; i++) {
        if (h->archives[i].offset != data_offset(specs, h->narchives, i))
            CORRUPT("archive %u has a wrong offset", i + 1);
    }
    if (h->file_size != data_offset(specs, h->narchives, h->narchives))
        CORRUPT("wrong file size in the header");
    if (size != h->file_size)
        CORRUPT("truncated or extended: %llu bytes, the header says %llu", (unsigned long long)size,
                (unsigned long long)h->file_size);
    rondo_series_id id;
    if (rondo_series_id_parse(&id, h->key, &sub) != RONDO_OK)
        CORRUPT("the series key in the header is invalid");
    /* The mutable state: each archive's newest slot must be a time in range
     * and no newer than the finest archive's. */
    int64_t last0 = h->last_slot[0];
    int64_t r0 = h->archives[0].resolution;
    for (uint32_t i = 0; i < h->narchives; i++) {
        int64_t last = h->last_slot[i];
        int64_t res = h->archives[i].resolution;
        if (last == RONDO__NO_SLOT)
            continue;
        if (last0 == RONDO__NO_SLOT || last < 0 || last > RONDO_TIME_MAX / res ||
            last > rondo__floor_div(last0 * r0, res))
            CORRUPT("archive %u has an implausible newest slot %lld", i + 1, (long long)last);
    }
    if (h->first_time != RONDO__NO_SLOT &&
        (h->first_time < 0 || h->first_time > RONDO_TIME_MAX || last0 == RONDO__NO_SLOT))
        CORRUPT("implausible first write time %lld", (long long)h->first_time);
    return RONDO_OK;
#undef CORRUPT
}

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
        double v = s->ring0[rondo__mod(f, s->rows0)];
        if (!isnan(v))
            acc_fold(&a, v);
    }
    s->co[i].ring[a.pos] = a.count ? cf_value(&a, s->co[i].cf) : NAN;
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
        s->co[i].ring[pos] = NAN;
    } else {
        c = rondo__floor_div(f, s->co[i].ratio);
        pos = rondo__mod(c, rows);
        int64_t from = a->slot == RONDO__NO_SLOT ? c : a->slot + 1;
        if (c - from + 1 >= (int64_t)rows)
            from = c - rows + 1;
        for (int64_t k = from; k <= c; k++)
            s->co[i].ring[rondo__mod(k, rows)] = NAN;
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
        s->co[i].ring[a->pos] = cf_value(a, s->co[i].cf);
    }
}

/* The newest finest slot moves from `last` to `slot`: `last` closes and is
 * folded into every coarser archive, then the finest ring advances. */
static void fine_advance(rondo_series *s, int64_t slot)
{
    int64_t last = s->hdr->last_slot[0];
    if (last != RONDO__NO_SLOT) {
        double closed = s->ring0[s->pos0];
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
        s->ring0[rondo__mod(k, s->rows0)] = NAN;
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
    double closed = s->ring0[s->pos0];
    for (size_t i = 1; i < s->narchives; i++)
        close_into(s, i, last, closed);
    uint32_t pos = s->pos0 + 1 == s->rows0 ? 0 : s->pos0 + 1;
    s->ring0[pos] = NAN;
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
static inline bool store_value(rondo_series *s, double *slot, double v)
{
    if (s->kind == RONDO_COUNTER && !isnan(*slot)) {
        double sum = *slot + v;
        if (!isfinite(sum))
            return false;
        *slot = sum;
    } else {
        *slot = v;
    }
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
        s->ring0[s->pos0] = v;
        if (h->first_time == RONDO__NO_SLOT || t < h->first_time)
            h->first_time = t;
        return RONDO_WRITE_APPLIED;
    }
    if (slot <= last - (int64_t)s->rows0) {
        h->too_old++;
        return RONDO_WRITE_TOO_OLD;
    }
    if (!store_value(s, &s->ring0[rondo__mod(slot, s->rows0)], v)) {
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
        if (store_value(s, &s->ring0[s->pos0], v))
            return RONDO_WRITE_APPLIED;
        s->hdr->invalid++;
        return RONDO_WRITE_INVALID;
    }
    /* Common case 2: into the next slot, one step of the ring. */
    if (t >= s->t_end && t < s->t_end + s->r0 && t <= s->future_limit && s->writable &&
        isfinite(v)) {
        fine_step(s);
        ORDERED();
        s->ring0[s->pos0] = v;
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

static void setup_handle(rondo_series *s)
{
    struct rondo__header *h = s->hdr;
    s->kind = (rondo_kind)h->kind;
    s->narchives = h->narchives;
    for (size_t i = 0; i < s->narchives; i++) {
        s->archives[i] = (rondo_archive_spec){
            h->archives[i].resolution, (uint32_t)h->archives[i].rows, (rondo_cf)h->archives[i].cf};
        s->rings[i] = (double *)((char *)s->map + h->archives[i].offset);
        s->co[i].ring = s->rings[i];
        s->co[i].ratio = h->archives[i].resolution / h->archives[0].resolution;
        s->co[i].rows = s->archives[i].rows;
        s->co[i].cf = s->archives[i].cf;
    }
    s->ring0 = s->rings[0];
    s->r0 = s->archives[0].resolution;
    s->rows0 = s->archives[0].rows;
    memcpy(s->key, h->key, h->key_len + 1);
    rondo_series_id_parse(&s->id, s->key, NULL);
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
            double v = s->rings[i][s->co[i].acc.pos];
            if (!isnan(v))
                acc_fold(&s->co[i].acc, v);
        }
    }
}

rondo_status rondo_series_open_file(rondo_series **out, const char *path, bool writable,
                                    rondo_error *err)
{
    return rondo__series_open(out, path, writable, true, err);
}

rondo_status rondo__series_open(rondo_series **out, const char *path, bool writable, bool populate,
                                rondo_error *err)
{
    *out = NULL;
    /* O_NONBLOCK: a FIFO in a data file's place must not block the open;
     * it is refused below, like a link (O_NOFOLLOW) or a directory. */
    int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        rondo_error_set(err, e == ENOENT ? RONDO_ERR_NOT_FOUND : RONDO_ERR_IO, "cannot open %s: %s",
                        path, e == ELOOP ? "it is a symbolic link" : strerror(e));
        return e == ENOENT ? RONDO_ERR_NOT_FOUND : RONDO_ERR_IO;
    }
    struct stat kind;
    if (fstat(fd, &kind) != 0 || !S_ISREG(kind.st_mode)) {
        rondo_error_set(err, RONDO_ERR_CORRUPT, "%s: not a regular file", path);
        close(fd);
        return RONDO_ERR_CORRUPT;
    }
    /* One writer per series: a second one would interleave ring advances.
     * The lock belongs to the open file, which the mapping keeps alive after
     * the descriptor is closed, so it lasts until the series is unmapped. */
    if (writable && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rondo_error_set(err, RONDO_ERR_BUSY, "%s is being written by another process", path);
        close(fd);
        return RONDO_ERR_BUSY;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return RONDO_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        rondo_error_set(err, RONDO_ERR_CORRUPT, "%s: not a regular file", path);
        close(fd);
        return RONDO_ERR_CORRUPT;
    }
    /* Validate a private copy before mapping, so a file we reject is never
     * mapped, and then validate the mapping again below, since a file can be
     * changed between the read and the map. */
    struct rondo__header h;
    uint64_t size = (uint64_t)st.st_size;
    /* A lazy open reads what it touches and nothing around it. */
    if (!populate)
        posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    if (size >= sizeof h && pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot read the header of %s", path);
        close(fd);
        return RONDO_ERR_IO;
    }
    rondo_status rc = validate(&h, size, path, err);
    if (rc != RONDO_OK) {
        close(fd);
        return rc;
    }
    void *map = mmap(NULL, (size_t)st.st_size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                     MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot map %s: %s", path, strerror(errno));
        return RONDO_ERR_IO;
    }
    /* No readahead on a lazy mapping's faults either: a writer uses four
     * pages of a series (the header and one page of each ring), and kept 20
     * resident when the kernel read and mapped around them. Advice only: a
     * kernel that ignores it costs memory, not correctness. */
    if (!populate)
        madvise(map, (size_t)st.st_size, MADV_RANDOM);
    rondo_series *s = calloc(1, sizeof *s);
    char *path_copy = strdup(path);
    if (s == NULL || path_copy == NULL) {
        free(s);
        free(path_copy);
        munmap(map, (size_t)st.st_size);
        rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory opening %s", path);
        return RONDO_ERR_NOMEM;
    }
    s->map = map;
    s->map_size = (size_t)st.st_size;
    s->hdr = map;
    s->path = path_copy;
    s->writable = writable;
    rc = validate(s->hdr, s->map_size, path, err);
    if (rc != RONDO_OK) {
        rondo_series_close(s);
        return rc;
    }
    setup_handle(s);
    *out = s;
    return RONDO_OK;
}

void rondo_series_close(rondo_series *s)
{
    if (s == NULL)
        return;
    munmap(s->map, s->map_size);
    free(s->path);
    free(s);
}

void rondo_series_set_max_future(rondo_series *s, int64_t seconds)
{
    s->max_future = seconds;
    refresh_future_limit(s);
}

rondo_status rondo_series_sync(rondo_series *s, rondo_error *err)
{
    if (msync(s->map, s->map_size, MS_SYNC) != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot sync %s: %s", s->path, strerror(errno));
        return RONDO_ERR_IO;
    }
    return RONDO_OK;
}

const rondo_series_id *rondo_series_get_id(const rondo_series *s)
{
    return &s->id;
}

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

/* Copies slots [first, first + count) of archive i into out, NaN where the
 * archive does not hold them. */
static void copy_slots(const rondo_series *s, size_t i, int64_t first, size_t count, double *out)
{
    int64_t last = s->hdr->last_slot[i];
    uint32_t rows = s->archives[i].rows;
    int64_t lo = last == RONDO__NO_SLOT ? 1 : last - (int64_t)rows + 1;
    int64_t hi = last == RONDO__NO_SLOT ? 0 : last;
    const double *ring = s->rings[i];
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
        memcpy(out + k, ring + pos, run * sizeof(double));
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
