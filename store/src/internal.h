/* Private declarations shared by librondo's sources. */
#ifndef RONDO_INTERNAL_H
#define RONDO_INTERNAL_H

#include "rondo/rondo.h"

#include <stdarg.h>
#include <string.h>

#define RONDO__MAGIC   "RONDOSER"
#define RONDO__VERSION 2u
/* Version 1 stored a slot's double as it is, an empty slot as NaN; version 2
 * stores it XORed with the empty marker, so that zero bytes read as empty and
 * a new file needs no slot written (fallocate alone). Both are read. */
#define RONDO__VERSION_RAW 1u
#define RONDO__EMPTY_BITS  0x7ff8000000000000ull
#define RONDO__BYTE_ORDER  0x01020304u
#define RONDO__HEADER_SIZE 4096u
/* The header checksum covers every byte before this offset. */
#define RONDO__CRC_END   1328u
#define RONDO__STATE_OFF 2048u
/* An archive, or the series, that has never been written. */
#define RONDO__NO_SLOT INT64_MIN

/* One archive as laid out in a data file. */
struct rondo__archive_disk {
    int64_t resolution;
    uint64_t rows;
    uint64_t offset;
    uint32_t cf;
    uint32_t reserved;
};

/* The first page of a data file. Everything before header_crc is written
 * once at creation and covered by the checksum; the state that every write
 * updates lives on its own cache lines after RONDO__STATE_OFF and is checked
 * for plausibility instead (a checksum there would cost a write per sample). */
struct rondo__header {
    char magic[8];
    uint32_t version;
    uint32_t byte_order;
    uint32_t header_size;
    uint32_t kind;
    uint32_t narchives;
    uint32_t key_len;
    uint64_t file_size;
    uint64_t reserved0;
    struct rondo__archive_disk archives[RONDO_MAX_ARCHIVES];
    char key[RONDO_MAX_KEY + 1];
    uint32_t header_crc;
    uint32_t reserved1;
    char pad0[RONDO__STATE_OFF - RONDO__CRC_END - 8];
    /* Mutable state. */
    int64_t last_slot[RONDO_MAX_ARCHIVES];
    int64_t first_time;
    uint64_t late, too_old, future, invalid;
    char pad1[RONDO__HEADER_SIZE - RONDO__STATE_OFF - 8 * RONDO_MAX_ARCHIVES - 8 - 32];
};

_Static_assert(sizeof(struct rondo__header) == RONDO__HEADER_SIZE, "header is one page");

/* The running consolidation of a coarse archive's newest slot. It lives in
 * memory only and is re-derived from the finest archive when a writer opens
 * the file, so a writer killed halfway through an update leaves no skew. */
struct rondo__acc {
    int64_t slot;     /* coarse slot being consolidated, or RONDO__NO_SLOT */
    int64_t end_fine; /* first finest slot after it */
    long double sum;  /* wider than a double: a sum of doubles may not fit one */
    double min, max, last;
    uint64_t count;
    uint32_t pos; /* ring position of slot */
};

/* What the write path needs of one archive, packed together so that a
 * write touches few cache lines even with thousands of series open. */
struct rondo__coarse {
    uint64_t *ring;
    int64_t ratio; /* resolution / finest resolution */
    uint32_t rows;
    rondo_cf cf;
    struct rondo__acc acc;
};

struct rondo_series {
    /* Hot fields of the write path first. */
    uint64_t *ring0;
    uint64_t slot_mask; /* RONDO__EMPTY_BITS, or 0 in a version 1 file */
    int64_t r0;
    int64_t t_start; /* the newest finest slot covers [t_start, t_end) */
    int64_t t_end;
    int64_t future_limit; /* writes up to here need no clock read */
    struct rondo__header *hdr;
    uint32_t rows0;
    uint32_t pos0;
    rondo_kind kind;
    bool writable;
    size_t narchives;
    struct rondo__coarse co[RONDO_MAX_ARCHIVES];
    /* Cold fields. */
    int64_t max_future;
    rondo_archive_spec archives[RONDO_MAX_ARCHIVES];
    uint64_t *rings[RONDO_MAX_ARCHIVES];
    void *map;
    size_t map_size;
    char *path;
    char key[]; /* sized to the key: a series costs a few hundred bytes of heap */
};

uint32_t rondo__crc32(const void *data, size_t len);

/* Floor division and a non-negative modulo, for slot arithmetic on times
 * that may precede a boundary. */
static inline int64_t rondo__floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline uint32_t rondo__mod(int64_t a, uint32_t rows)
{
    int64_t m = a % (int64_t)rows;
    return (uint32_t)(m < 0 ? m + rows : m);
}

/* rondo_error_set with a va_list, for the library's own variadic setters. */
void rondo__error_vset(rondo_error *err, rondo_status status, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Fills a mapped handle from its header; a writer also re-derives the
 * consolidation state of its coarse archives (series_write.c). */
void rondo__series_setup(rondo_series *s);

/* rondo_series_open_file, optionally without MAP_POPULATE (RONDO_OPEN_LAZY). */
rondo_status rondo__series_open(rondo_series **out, const char *path, bool writable, bool populate,
                                rondo_error *err);
/* Creates a data file at its final size, every slot empty. */
rondo_status rondo__series_create_file(const char *path, const rondo_series_id *id, rondo_kind kind,
                                       const rondo_archive_spec *archives, size_t narchives,
                                       rondo_error *err);

/* A ring slot's value, NaN when empty, in either version's encoding. */
static inline double rondo__slot_get(const rondo_series *s, const uint64_t *ring, size_t pos)
{
    uint64_t bits = ring[pos] ^ s->slot_mask;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static inline void rondo__slot_set(const rondo_series *s, uint64_t *ring, size_t pos, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    ring[pos] = bits ^ s->slot_mask;
}

static inline void rondo__slot_clear(const rondo_series *s, uint64_t *ring, size_t pos)
{
    ring[pos] = RONDO__EMPTY_BITS ^ s->slot_mask;
}

#endif
