/* Data files: their layout, creation, validation, opening and closing. The
 * write path is in series_write.c, queries in series_query.c. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    if (h == NULL) {
        rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory creating %s", path);
        return RONDO_ERR_NOMEM;
    }
    fill_header(h, key, kind, archives, narchives);
    /* A new file or nothing: never through a link, never over a file. */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        free(h);
        return RONDO_ERR_IO;
    }
    /* Reserving every block now means a later store into the mapping can
     * never hit a full disk, which would arrive as SIGBUS instead of an error.
     * The reserved blocks read as zero bytes, which is an empty slot, so no
     * slot is written here. */
    int rc = posix_fallocate(fd, 0, (off_t)h->file_size);
    if (rc != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot reserve %llu bytes for %s: %s",
                        (unsigned long long)h->file_size, path, strerror(rc));
        st = RONDO_ERR_IO;
    }
    if (st == RONDO_OK)
        st = write_all(fd, h, sizeof *h, 0, path, err);
    if (st == RONDO_OK && fsync(fd) != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot fsync %s: %s", path, strerror(errno));
        st = RONDO_ERR_IO;
    }
    close(fd);
    free(h);
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
    if (h->version != RONDO__VERSION && h->version != RONDO__VERSION_RAW)
        CORRUPT("format version %u, this build reads versions %u and %u", h->version,
                RONDO__VERSION_RAW, RONDO__VERSION);
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
    /* The key is copied from the validated private copy, whose length the
     * handle is sized for: the mapping's may have changed since. */
    rondo_series *s = calloc(1, sizeof *s + h.key_len + 1);
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
    memcpy(s->key, h.key, h.key_len + 1);
    rondo__series_setup(s);
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

rondo_status rondo_series_sync(rondo_series *s, rondo_error *err)
{
    if (msync(s->map, s->map_size, MS_SYNC) != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot sync %s: %s", s->path, strerror(errno));
        return RONDO_ERR_IO;
    }
    return RONDO_OK;
}

void rondo_series_get_id(const rondo_series *s, rondo_series_id *id)
{
    rondo_series_id_parse(id, s->key, NULL);
}
