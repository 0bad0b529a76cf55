/* librondo: an embedded round-robin time-series store.
 *
 * A store is a directory holding schema.json, an index of its series (one
 * file per metric name) and one data file per series. A data file is created at its final
 * size and mapped into memory, so a write is a few stores into the mapping:
 * no system call, no allocation, and the data survives a SIGKILL of the
 * writer because it already sits in the page cache. See store/README.md for
 * the file format and the behaviour of late, repeated and future writes.
 *
 * Every function that can fail returns a rondo_status and fills a
 * rondo_error (when one is given) with a one-line message naming what failed
 * and where. */
#ifndef RONDO_RONDO_H
#define RONDO_RONDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RONDO_MAX_ARCHIVES 8
#define RONDO_MAX_LABELS   16
/* The longest series key or selector text, in bytes, terminator excluded. */
#define RONDO_MAX_KEY 1023
/* Rows of one archive; bounds a data file to a little over 1 GiB per archive. */
#define RONDO_MAX_ROWS (1u << 27)
/* Timestamps are whole seconds since the Unix epoch in [0, RONDO_TIME_MAX]. */
#define RONDO_TIME_MAX ((int64_t)1 << 40)
/* Writes more than this far ahead of the wall clock are rejected by default. */
#define RONDO_DEFAULT_MAX_FUTURE_SEC 600

typedef enum rondo_status {
    RONDO_OK = 0,
    RONDO_ERR_IO = 1,        /* a system call failed (open, mmap, write, rename...) */
    RONDO_ERR_INPUT = 2,     /* bad input: selector, duration, series key, archive spec */
    RONDO_ERR_NOT_FOUND = 3, /* no such store or no such series */
    RONDO_ERR_CORRUPT = 4,   /* a schema or data file is truncated, corrupted or foreign */
    RONDO_ERR_EXISTS = 5,    /* the series already exists */
    RONDO_ERR_NOMEM = 6,
    RONDO_ERR_BUSY = 7, /* another process is writing the series */
} rondo_status;

typedef struct rondo_error {
    rondo_status status;
    char message[512];
} rondo_error;

/* Fills err (when not NULL) with a status and a formatted message; the CLI
 * reports its own errors the same way. */
void rondo_error_set(rondo_error *err, rondo_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum rondo_kind {
    RONDO_GAUGE = 0,   /* a slot keeps the last value written into it */
    RONDO_COUNTER = 1, /* a write is an increment; a slot holds the sum of its increments */
} rondo_kind;

typedef enum rondo_cf {
    RONDO_CF_AVG = 0,
    RONDO_CF_MIN = 1,
    RONDO_CF_MAX = 2,
    RONDO_CF_LAST = 3,
    RONDO_CF_SUM = 4,
} rondo_cf;

const char *rondo_kind_name(rondo_kind kind);
const char *rondo_cf_name(rondo_cf cf);
/* Parses "avg", "min", "max", "last" or "sum"; returns false otherwise. */
bool rondo_cf_parse(const char *text, rondo_cf *out);

/* One round-robin archive: `rows` slots of `resolution` seconds each. */
typedef struct rondo_archive_spec {
    int64_t resolution;
    uint32_t rows;
    rondo_cf cf;
} rondo_archive_spec;

/* The default archives: 1 s x 1 h, 10 s x 1 d, 60 s x 30 d, consolidated
 * with avg for a gauge and sum for a counter (so totals survive). Returns
 * the number of archives written into `out` (at most RONDO_MAX_ARCHIVES). */
size_t rondo_default_archives(rondo_kind kind, rondo_archive_spec *out);

/* Checks that archives are usable together: 1 to RONDO_MAX_ARCHIVES of
 * them, resolutions strictly increasing and each a multiple of the previous
 * one, rows in [1, RONDO_MAX_ROWS]. */
rondo_status rondo_archives_check(const rondo_archive_spec *archives, size_t n, rondo_error *err);

/* ---- Series identities and selectors ---------------------------------- */

typedef struct rondo_label {
    const char *name;
    const char *value;
} rondo_label;

/* A metric name plus labels sorted by name; the strings live in `storage`. */
typedef struct rondo_series_id {
    const char *name;
    size_t nlabels;
    rondo_label labels[RONDO_MAX_LABELS];
    char storage[RONDO_MAX_KEY + 1];
} rondo_series_id;

/* Parses `name{k=v,k2="v 2"}` (labels optional). Values are bare tokens or
 * double-quoted strings with \" and \\ escapes. Errors give the 1-based
 * column, e.g. "bad series 'x{a}' at column 4: expected '=' after label". */
rondo_status rondo_series_id_parse(rondo_series_id *out, const char *text, rondo_error *err);

/* Writes the canonical key `name{a=1,b="x y"}` (labels sorted, quotes only
 * where needed). Returns the length, or -1 when it does not fit. */
int rondo_series_id_format(const rondo_series_id *id, char *buf, size_t size);

/* The value of label `name`, or NULL. */
const char *rondo_series_id_label(const rondo_series_id *id, const char *name);

typedef enum rondo_match_op {
    RONDO_MATCH_EQ = 0,
    RONDO_MATCH_NE = 1,
} rondo_match_op;

typedef struct rondo_matcher {
    const char *name;
    const char *value;
    rondo_match_op op;
} rondo_matcher;

/* `name{k=v,k2!=v2}`; the name may be omitted when there is at least one
 * matcher. As in Prometheus, a missing label has the empty value, so
 * `k!=v` matches series without k and `k=""` matches only series without k. */
typedef struct rondo_selector {
    const char *name; /* NULL when the selector has no metric name */
    size_t nmatchers;
    rondo_matcher matchers[RONDO_MAX_LABELS];
    char storage[RONDO_MAX_KEY + 1];
} rondo_selector;

rondo_status rondo_selector_parse(rondo_selector *out, const char *text, rondo_error *err);
bool rondo_selector_matches(const rondo_selector *sel, const rondo_series_id *id);

/* Parses a duration made of <integer><unit> terms, units s, m, h, d, w,
 * e.g. "90s", "5m", "1h30m". The total must be positive and at most
 * RONDO_TIME_MAX seconds. */
rondo_status rondo_duration_parse(const char *text, int64_t *seconds, rondo_error *err);

/* ---- Stores and series ------------------------------------------------ */

typedef struct rondo_store rondo_store;
typedef struct rondo_series rondo_series;

enum {
    RONDO_OPEN_READ = 0,   /* map data files read-only */
    RONDO_OPEN_WRITE = 1,  /* map data files read-write (one writer per series) */
    RONDO_OPEN_CREATE = 2, /* create the directory and an empty schema if missing */
    /* Map data files without faulting them in. A writer then takes one page
     * fault per 4 KiB of slots it reaches (8.5 minutes of a 1 s archive) and
     * keeps only those pages resident, instead of every archive of every
     * series: what a long-running embedded writer such as rondo-vmm wants. */
    RONDO_OPEN_LAZY = 4,
    /* Read the list of series on demand: opening reads no index file, and
     * rondo_store_find, rondo_store_add and rondo_store_select read only the
     * index file of the metric name they need, so their cost does not grow
     * with the number of series in the store. rondo_store_series_count and
     * rondo_store_series_id then cover only the series read so far, until
     * rondo_store_list reads them all. */
    RONDO_OPEN_ON_DEMAND = 8,
};

rondo_status rondo_store_open(rondo_store **out, const char *dir, int flags, rondo_error *err);
/* Unmaps every series opened through the store and frees it. */
void rondo_store_close(rondo_store *store);
const char *rondo_store_dir(const rondo_store *store);

/* Reads every series of the store into its list (what rondo_store_open does
 * without RONDO_OPEN_ON_DEMAND). The list holds the series of a version 1
 * schema.json first, then the others sorted by key; series read later, by a
 * find, a select or an add, are appended. */
rondo_status rondo_store_list(rondo_store *store, rondo_error *err);
/* The number of series in the list. */
size_t rondo_store_series_count(const rondo_store *store);
/* The identity of the i-th series of the list (no data file is opened). */
const rondo_series_id *rondo_store_series_id(const rondo_store *store, size_t i);
/* Opens (maps) the i-th series on first use and caches it in the store. */
rondo_status rondo_store_series(rondo_store *store, size_t i, rondo_series **out, rondo_error *err);
/* Finds a series by its key text (any spelling; it is canonicalized).
 * RONDO_ERR_NOT_FOUND when the store has no such series. */
rondo_status rondo_store_find(rondo_store *store, const char *key, rondo_series **out,
                              rondo_error *err);
/* The positions in the list of the series that match `sel`, reading first
 * what the list lacks (only the selector's metric name when it has one). The
 * array is the caller's to free. */
rondo_status rondo_store_select(rondo_store *store, const rondo_selector *sel, size_t **out,
                                size_t *count, rondo_error *err);
/* Adds a series, creating its data file at its final size, and appends it to
 * the index file of its metric name (under a lock, so that concurrent
 * writers of one store do not lose each other's series). RONDO_ERR_EXISTS
 * when the key is already there. Needs a store opened with RONDO_OPEN_WRITE. */
rondo_status rondo_store_add(rondo_store *store, const char *key, rondo_kind kind,
                             const rondo_archive_spec *archives, size_t narchives,
                             rondo_series **out, rondo_error *err);

/* Opens one data file on its own, without a schema (tests, fuzzing, repair
 * tools). Close it with rondo_series_close(); never close a series that
 * belongs to a store. */
rondo_status rondo_series_open_file(rondo_series **out, const char *path, bool writable,
                                    rondo_error *err);
void rondo_series_close(rondo_series *series);

/* Writes newer than the wall clock plus this many seconds are rejected
 * (0 disables the check). The default is RONDO_DEFAULT_MAX_FUTURE_SEC. */
void rondo_series_set_max_future(rondo_series *series, int64_t seconds);

typedef enum rondo_write_outcome {
    RONDO_WRITE_APPLIED = 0,  /* into the newest slot, or a newer one */
    RONDO_WRITE_LATE = 1,     /* into an older slot still in the finest archive */
    RONDO_WRITE_TOO_OLD = 2,  /* older than the finest archive holds: dropped, counted */
    RONDO_WRITE_FUTURE = 3,   /* too far ahead of the wall clock: dropped, counted */
    RONDO_WRITE_INVALID = 4,  /* value not finite or time out of range: dropped, counted */
    RONDO_WRITE_READONLY = 5, /* the series was opened read-only: nothing written */
} rondo_write_outcome;

/* Records one sample: O(1), no system call, no allocation. A gauge slot
 * keeps the last value written; a counter slot adds every value written. */
rondo_write_outcome rondo_write(rondo_series *series, int64_t time, double value);

typedef struct rondo_sample {
    rondo_series *series;
    int64_t time;
    double value;
} rondo_sample;

typedef struct rondo_batch_result {
    size_t applied, late, too_old, future, invalid, readonly;
} rondo_batch_result;

/* Writes every sample; a sample that cannot be applied is counted in the
 * result and never stops the rest of the batch. */
void rondo_write_batch(const rondo_sample *samples, size_t n, rondo_batch_result *result);

/* Flushes the mapping to disk (msync). Only needed to survive a power loss:
 * the page cache already survives the death of the writing process. */
rondo_status rondo_series_sync(rondo_series *series, rondo_error *err);

typedef struct rondo_series_info {
    const char *key;  /* canonical key */
    const char *path; /* data file */
    rondo_kind kind;
    size_t narchives;
    rondo_archive_spec archives[RONDO_MAX_ARCHIVES];
    bool empty;            /* nothing was ever written */
    int64_t first_time;    /* the oldest time written (maybe no longer retained) */
    int64_t last_time;     /* start of the newest slot of the finest archive */
    int64_t retained_from; /* the oldest time any archive still holds */
    uint64_t file_bytes;
    uint64_t late, too_old, future, invalid; /* write outcomes counted in the file */
} rondo_series_info;

void rondo_series_get_info(const rondo_series *series, rondo_series_info *info);
/* Parses the series' key into *id (a handle keeps only the key: the key was
 * validated when the file was opened, so this cannot fail). */
void rondo_series_get_id(const rondo_series *series, rondo_series_id *id);

/* ---- Queries ------------------------------------------------------------ */

/* One stretch of a query answer served by one archive. The value of slot k
 * covers [start + k * resolution, start + (k + 1) * resolution); NaN means
 * nothing was written there. */
typedef struct rondo_part {
    int64_t resolution;
    int64_t start;
    size_t count;
    const double *values;
    size_t archive; /* index of the archive in the series */
    rondo_cf cf;
} rondo_part;

/* A query answer: parts in time order, oldest first. Reuse one result for
 * many queries; its buffer only grows. Zero-initialize it before first use. */
typedef struct rondo_result {
    size_t nparts;
    rondo_part parts[RONDO_MAX_ARCHIVES];
    double *buffer;
    size_t capacity;
} rondo_result;

/* Answers [start, end): each part of the range comes from the finest archive
 * that still holds it. An archive's window is positioned by the series' own
 * last update, never by the wall clock. */
rondo_status rondo_query(const rondo_series *series, int64_t start, int64_t end,
                         rondo_result *result, rondo_error *err);
/* The whole retained history: from the oldest retained time written to the
 * end of the newest slot. Returns false when the series is empty. */
bool rondo_series_extent(const rondo_series *series, int64_t *start, int64_t *end);
void rondo_result_free(rondo_result *result);

#ifdef __cplusplus
}
#endif

#endif
