/* A store directory: schema.json, the index, the lock file and the data
 * files. Entries are only ever added, so a process that has a series open
 * never sees it move.
 *
 * The index is what keeps finding, opening and adding a series independent
 * of how many series the store holds: index/<h>.jsonl lists the series whose
 * metric name hashes to h, one JSON object per line, appended under the lock.
 * A lookup reads one such file; an add appends one line to it and names the
 * data file after the hash of the key. schema.json lists only the series of
 * stores written before the index existed (version 1) and is rewritten once,
 * as version 2, when such a store gets its first indexed series. */
#include "internal.h"

#include "pmbase/file.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_NAME    "schema.json"
#define SCHEMA_VERSION 2
#define INDEX_DIR      "index"
#define LOCK_NAME      ".lock"
#define SCHEMA_LIMIT   (64u << 20)
#define INDEX_LIMIT    (64u << 20)

struct entry {
    rondo_series_id id;
    char key[RONDO_MAX_KEY + 1];
    rondo_kind kind;
    size_t narchives;
    rondo_archive_spec archives[RONDO_MAX_ARCHIVES];
    char file[64];
    rondo_series *series; /* mapped on first use */
};

/* How far each index file has been read: an open-addressing map from the
 * file's hash (0 marks a free slot) to the length of its complete lines. The
 * files are append-only, so a later read parses only what was appended. */
struct read_map {
    uint64_t *hash;
    size_t *offset;
    size_t cap, n;
};

struct rondo_store {
    char *dir;
    int flags;
    int version; /* of schema.json as read */
    /* Entries are allocated one by one: a series id points into itself, so
     * an entry must never move. */
    struct entry **entries;
    size_t n, cap;
    size_t legacy;        /* entries[0, legacy) come from schema.json */
    size_t *by_key;       /* open addressing: entry index + 1, 0 free */
    size_t by_key_cap;    /* a power of two, at least twice n */
    struct read_map read; /* index files read so far */
    bool listed;          /* every index file has been read */
};

static uint64_t hash_text(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    /* FNV's low bits are poor for keys that differ in one digit, and the
     * tables index by the low bits: finish with a full avalanche. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h ? h : 1;
}

/* The slot of `h` in the map: its own, or the free one it would take. */
static size_t map_slot(const struct read_map *m, uint64_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->hash[i] != 0 && m->hash[i] != h)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static size_t *map_find(const struct read_map *m, uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t i = map_slot(m, h);
    return m->hash[i] == h ? &m->offset[i] : NULL;
}

static bool map_put(struct read_map *m, uint64_t h, size_t offset)
{
    size_t *known = map_find(m, h);
    if (known != NULL) {
        *known = offset;
        return true;
    }
    if (2 * (m->n + 1) > m->cap) {
        struct read_map grown = {.cap = m->cap ? 2 * m->cap : 16, .n = m->n};
        grown.hash = calloc(grown.cap, sizeof *grown.hash);
        grown.offset = calloc(grown.cap, sizeof *grown.offset);
        if (grown.hash == NULL || grown.offset == NULL) {
            free(grown.hash);
            free(grown.offset);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->hash[i] != 0) {
                size_t k = map_slot(&grown, m->hash[i]);
                grown.hash[k] = m->hash[i];
                grown.offset[k] = m->offset[i];
            }
        }
        free(m->hash);
        free(m->offset);
        *m = grown;
    }
    size_t i = map_slot(m, h);
    m->hash[i] = h;
    m->offset[i] = offset;
    m->n++;
    return true;
}

static char *path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p != NULL)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

static rondo_status no_memory(rondo_error *err, const char *what)
{
    rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory %s", what);
    return RONDO_ERR_NOMEM;
}

/* File names come from files that anyone can edit; only names this library
 * generates are accepted (series-N.rondo from version 1, series-<hash>.rondo
 * and series-<hash>-N.rondo since), so nothing can point outside the store. */
static bool valid_file_name(const char *name)
{
    if (strncmp(name, "series-", 7) != 0 || strlen(name) >= 64)
        return false;
    const char *p = name + 7;
    const char *digits = p;
    while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
        p++;
    if (p == digits)
        return false;
    if (*p == '-') {
        digits = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return false;
    }
    return strcmp(p, ".rondo") == 0;
}

/* Reads a file of the store's own: a regular file (a FIFO would block, a link
 * could point anywhere), within `limit` bytes. */
static rondo_status read_file(const char *path, size_t limit, char **out, size_t *len,
                              rondo_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        int e = errno;
        rondo_status rc = e == ENOENT ? RONDO_ERR_NOT_FOUND : RONDO_ERR_IO;
        rondo_error_set(err, rc, "cannot open %s: %s", path, strerror(e));
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        rondo_error_set(err, RONDO_ERR_CORRUPT, "%s: not a regular file", path);
        return RONDO_ERR_CORRUPT;
    }
    pmb_error perr = {0};
    int rc = pmb_file_read(path, limit, out, len, &perr);
    if (rc != PMB_OK) {
        rondo_error_set(err, rc == PMB_EINPUT ? RONDO_ERR_CORRUPT : RONDO_ERR_IO, "%s", perr.msg);
        return rc == PMB_EINPUT ? RONDO_ERR_CORRUPT : RONDO_ERR_IO;
    }
    return RONDO_OK;
}

static rondo_status corrupt(rondo_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static rondo_status corrupt(rondo_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rondo__error_vset(err, RONDO_ERR_CORRUPT, fmt, ap);
    va_end(ap);
    return RONDO_ERR_CORRUPT;
}

/* Parses one series entry, as schema.json and the index files hold them.
 * `where` names the file and the entry in every error. */
static rondo_status parse_entry(const char *where, const cJSON *js, struct entry *e,
                                rondo_error *err)
{
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(js, "key");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(js, "kind");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(js, "file");
    const cJSON *archives = cJSON_GetObjectItemCaseSensitive(js, "archives");
    if (!cJSON_IsString(key) || !cJSON_IsString(kind) || !cJSON_IsString(file) ||
        !cJSON_IsArray(archives))
        return corrupt(err, "%s: needs key, kind, file and archives", where);
    rondo_error sub;
    if (rondo_series_id_parse(&e->id, key->valuestring, &sub) != RONDO_OK)
        return corrupt(err, "%s.key: %s", where, sub.message);
    rondo_series_id_format(&e->id, e->key, sizeof e->key);
    if (strcmp(kind->valuestring, "gauge") == 0)
        e->kind = RONDO_GAUGE;
    else if (strcmp(kind->valuestring, "counter") == 0)
        e->kind = RONDO_COUNTER;
    else
        return corrupt(err, "%s.kind: '%.100s' is not gauge or counter", where, kind->valuestring);
    if (!valid_file_name(file->valuestring))
        return corrupt(err, "%s.file: '%.100s' is not a series-N.rondo name", where,
                       file->valuestring);
    snprintf(e->file, sizeof e->file, "%s", file->valuestring);
    e->narchives = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, archives)
    {
        if (e->narchives == RONDO_MAX_ARCHIVES)
            return corrupt(err, "%s.archives: more than 8", where);
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(a, "resolution");
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
        const cJSON *cf = cJSON_GetObjectItemCaseSensitive(a, "cf");
        rondo_archive_spec *spec = &e->archives[e->narchives];
        if (!cJSON_IsNumber(res) || !cJSON_IsNumber(rows) || !cJSON_IsString(cf) ||
            res->valuedouble < 1 || res->valuedouble > (double)RONDO_TIME_MAX ||
            rows->valuedouble < 1 || rows->valuedouble > RONDO_MAX_ROWS ||
            !rondo_cf_parse(cf->valuestring, &spec->cf))
            return corrupt(err,
                           "%s.archives: each needs a resolution, rows and a cf "
                           "(avg, min, max, last, sum)",
                           where);
        spec->resolution = (int64_t)res->valuedouble;
        spec->rows = (uint32_t)rows->valuedouble;
        e->narchives++;
    }
    if (rondo_archives_check(e->archives, e->narchives, &sub) != RONDO_OK)
        return corrupt(err, "%s.archives: %s", where, sub.message);
    return RONDO_OK;
}

static cJSON *entry_json(const struct entry *e)
{
    cJSON *js = cJSON_CreateObject();
    cJSON_AddStringToObject(js, "key", e->key);
    cJSON_AddStringToObject(js, "kind", rondo_kind_name(e->kind));
    cJSON_AddStringToObject(js, "file", e->file);
    cJSON *archives = cJSON_AddArrayToObject(js, "archives");
    for (size_t k = 0; k < e->narchives; k++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "resolution", (double)e->archives[k].resolution);
        cJSON_AddNumberToObject(a, "rows", e->archives[k].rows);
        cJSON_AddStringToObject(a, "cf", rondo_cf_name(e->archives[k].cf));
        cJSON_AddItemToArray(archives, a);
    }
    return js;
}

static struct entry *lookup(const rondo_store *s, const char *key)
{
    if (s->by_key_cap == 0)
        return NULL;
    for (size_t i = hash_text(key) & (s->by_key_cap - 1);; i = (i + 1) & (s->by_key_cap - 1)) {
        if (s->by_key[i] == 0)
            return NULL;
        if (strcmp(s->entries[s->by_key[i] - 1]->key, key) == 0)
            return s->entries[s->by_key[i] - 1];
    }
}

static void by_key_place(rondo_store *s, size_t index)
{
    size_t i = hash_text(s->entries[index]->key) & (s->by_key_cap - 1);
    while (s->by_key[i] != 0)
        i = (i + 1) & (s->by_key_cap - 1);
    s->by_key[i] = index + 1;
}

/* Rebuilds the key table, e.g. after the entries were sorted. */
static bool by_key_rebuild(rondo_store *s, size_t cap)
{
    size_t *table = calloc(cap, sizeof *table);
    if (table == NULL)
        return false;
    free(s->by_key);
    s->by_key = table;
    s->by_key_cap = cap;
    for (size_t i = 0; i < s->n; i++)
        by_key_place(s, i);
    return true;
}

/* Takes ownership of a parsed entry. A key the store already has is refused
 * as corrupt, naming `where`. */
static rondo_status push_entry(rondo_store *s, struct entry *e, const char *where, rondo_error *err)
{
    if (lookup(s, e->key) != NULL) {
        corrupt(err, "%s: duplicate key %s", where, e->key);
        free(e);
        return RONDO_ERR_CORRUPT;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct entry **grown = realloc(s->entries, cap * sizeof *grown);
        if (grown == NULL) {
            free(e);
            return no_memory(err, "listing series");
        }
        s->entries = grown;
        s->cap = cap;
    }
    s->entries[s->n++] = e;
    if (2 * s->n > s->by_key_cap) {
        if (!by_key_rebuild(s, s->by_key_cap ? 2 * s->by_key_cap : 32)) {
            s->n--;
            free(e);
            return no_memory(err, "listing series");
        }
    } else {
        by_key_place(s, s->n - 1);
    }
    return RONDO_OK;
}

/* Reads schema.json: its version and the series of a version 1 store. */
static rondo_status read_schema(rondo_store *s, rondo_error *err)
{
    struct stat st;
    if (stat(s->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rondo_error_set(err, RONDO_ERR_NOT_FOUND, "no such store: %s (no such directory)", s->dir);
        return RONDO_ERR_NOT_FOUND;
    }
    char *path = path_join(s->dir, SCHEMA_NAME);
    if (path == NULL)
        return no_memory(err, "opening a store");
    char *text = NULL;
    size_t len;
    rondo_status rc = read_file(path, SCHEMA_LIMIT, &text, &len, err);
    free(path);
    if (rc == RONDO_ERR_NOT_FOUND)
        rondo_error_set(err, rc, "no such store: %s has no " SCHEMA_NAME, s->dir);
    if (rc != RONDO_OK)
        return rc;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(root, "series");
    if (root == NULL || !cJSON_IsString(format) ||
        strcmp(format->valuestring, "rondo-store") != 0 || !cJSON_IsNumber(version) ||
        !cJSON_IsArray(series)) {
        cJSON_Delete(root);
        return corrupt(err,
                       "%s/" SCHEMA_NAME ": not a rondo store schema (needs format "
                       "\"rondo-store\", version and series)",
                       s->dir);
    }
    if (version->valuedouble != 1 && version->valuedouble != SCHEMA_VERSION) {
        double v = version->valuedouble;
        cJSON_Delete(root);
        return corrupt(err, "%s/" SCHEMA_NAME ": schema version %g, this build reads 1 and 2",
                       s->dir, v);
    }
    s->version = (int)version->valuedouble;
    size_t i = 0;
    const cJSON *js;
    cJSON_ArrayForEach(js, series)
    {
        char where[PATH_MAX + 64];
        snprintf(where, sizeof where, "%s/" SCHEMA_NAME ": series[%zu]", s->dir, i);
        struct entry *e = calloc(1, sizeof *e);
        rc = e ? parse_entry(where, js, e, err) : no_memory(err, "reading the schema");
        if (rc != RONDO_OK)
            free(e);
        else
            rc = push_entry(s, e, where, err);
        if (rc != RONDO_OK) {
            cJSON_Delete(root);
            return rc;
        }
        i++;
    }
    cJSON_Delete(root);
    s->legacy = s->n;
    return RONDO_OK;
}

/* Writes schema.json with write-temp-fsync-rename, so a reader sees the old
 * or the new schema, never half of one. */
static rondo_status write_schema(const rondo_store *s, rondo_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "rondo-store");
    cJSON_AddNumberToObject(root, "version", SCHEMA_VERSION);
    cJSON *series = cJSON_AddArrayToObject(root, "series");
    for (size_t i = 0; i < s->legacy; i++)
        cJSON_AddItemToArray(series, entry_json(s->entries[i]));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char *path = path_join(s->dir, SCHEMA_NAME);
    rondo_status rc = RONDO_OK;
    if (text == NULL || path == NULL)
        rc = no_memory(err, "writing a schema");
    pmb_error perr = {0};
    if (rc == RONDO_OK) {
        size_t len = strlen(text);
        text[len] = '\n';
        if (pmb_file_write_atomic(path, text, len + 1, 0644, &perr) != PMB_OK) {
            rondo_error_set(err, RONDO_ERR_IO, "%s", perr.msg);
            rc = RONDO_ERR_IO;
        }
    }
    free(text);
    free(path);
    return rc;
}

static void index_name(char *buf, size_t size, uint64_t bucket)
{
    snprintf(buf, size, INDEX_DIR "/%016llx.jsonl", (unsigned long long)bucket);
}

/* Reads what index file `bucket` holds beyond what was read before, and adds
 * the entries the store does not know yet. `valid` receives the length of
 * its complete lines: a line without its newline is an append cut short by a
 * crash, ignored here and cut off by the next add. */
static rondo_status read_index(rondo_store *s, uint64_t bucket, size_t *valid, rondo_error *err)
{
    char name[64];
    index_name(name, sizeof name, bucket);
    char *path = path_join(s->dir, name);
    if (path == NULL)
        return no_memory(err, "reading the index");
    const size_t *known_offset = map_find(&s->read, bucket);
    size_t offset = known_offset ? *known_offset : 0;
    char *text = NULL;
    size_t len = 0;
    rondo_status rc = RONDO_OK;
    /* O_NONBLOCK: a FIFO in the file's place must not block the open. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && errno != ENOENT) {
        rc = errno == ELOOP ? RONDO_ERR_CORRUPT : RONDO_ERR_IO;
        rondo_error_set(err, rc, "cannot open %s: %s", path, strerror(errno));
    } else if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        rc = corrupt(err, "%s: not a regular file", path);
    } else if (fd >= 0 && (size_t)st.st_size < offset) {
        rc = corrupt(err, "%s: shrank from %zu to %lld bytes while open", path, offset,
                     (long long)st.st_size);
    } else if (fd >= 0 && (size_t)st.st_size > INDEX_LIMIT) {
        rc = corrupt(err, "%s: larger than %u bytes", path, INDEX_LIMIT);
    } else if (fd >= 0 && (size_t)st.st_size > offset) {
        len = (size_t)st.st_size - offset;
        text = malloc(len);
        ssize_t got = text ? pread(fd, text, len, (off_t)offset) : -1;
        if (text == NULL) {
            rc = no_memory(err, "reading the index");
        } else if (got < 0) {
            rondo_error_set(err, RONDO_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            rc = RONDO_ERR_IO;
        } else {
            len = (size_t)got;
        }
    }
    if (fd >= 0)
        close(fd);
    size_t done = 0;
    for (char *p = text, *nl; rc == RONDO_OK && p && (nl = memchr(p, '\n', len - done));
         p = nl + 1) {
        char where[PATH_MAX + 64];
        snprintf(where, sizeof where, "%s: byte %zu", path, offset + done);
        cJSON *js = cJSON_ParseWithLength(p, (size_t)(nl - p));
        struct entry *e = calloc(1, sizeof *e);
        if (e == NULL)
            rc = no_memory(err, "reading the index");
        else if (!cJSON_IsObject(js))
            rc = corrupt(err, "%s: not a JSON object", where);
        else
            rc = parse_entry(where, js, e, err);
        cJSON_Delete(js);
        if (rc == RONDO_OK && hash_text(e->id.name) != bucket)
            rc = corrupt(err, "%s: series %s does not belong in this file", where, e->key);
        const struct entry *known = rc == RONDO_OK ? lookup(s, e->key) : NULL;
        if (known != NULL && strcmp(known->file, e->file) != 0)
            rc = corrupt(err, "%s: series %s is also listed with file %s", where, e->key,
                         known->file);
        if (rc != RONDO_OK || known != NULL)
            free(e);
        else
            rc = push_entry(s, e, where, err);
        done = (size_t)(nl + 1 - text);
    }
    free(text);
    free(path);
    *valid = offset + done;
    if (rc == RONDO_OK && !map_put(&s->read, bucket, offset + done))
        rc = no_memory(err, "reading the index");
    return rc;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp((*(struct entry *const *)a)->key, (*(struct entry *const *)b)->key);
}

/* Reads every index file not read yet; the series it finds are listed after
 * those already known, sorted by key. */
static rondo_status read_all(rondo_store *s, rondo_error *err)
{
    char *path = path_join(s->dir, INDEX_DIR);
    if (path == NULL)
        return no_memory(err, "listing series");
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    rondo_status rc = RONDO_OK;
    if (d == NULL && errno != ENOENT) {
        rondo_error_set(err, errno == ENOTDIR || errno == ELOOP ? RONDO_ERR_CORRUPT : RONDO_ERR_IO,
                        "cannot list %s: %s", path, strerror(errno));
        rc = errno == ENOTDIR || errno == ELOOP ? RONDO_ERR_CORRUPT : RONDO_ERR_IO;
    }
    if (d == NULL && fd >= 0)
        close(fd);
    free(path);
    size_t first = s->n;
    const struct dirent *de;
    while (rc == RONDO_OK && d != NULL && (de = readdir(d)) != NULL) {
        char *end;
        unsigned long long bucket = strtoull(de->d_name, &end, 16);
        size_t valid;
        if (end == de->d_name + 16 && strcmp(end, ".jsonl") == 0 &&
            map_find(&s->read, bucket) == NULL)
            rc = read_index(s, bucket, &valid, err);
    }
    if (d != NULL)
        closedir(d);
    if (rc == RONDO_OK && s->n > first) {
        qsort(s->entries + first, s->n - first, sizeof *s->entries, compare_entries);
        if (!by_key_rebuild(s, s->by_key_cap))
            rc = no_memory(err, "listing series");
    }
    if (rc == RONDO_OK)
        s->listed = true;
    return rc;
}

/* Serializes changes of the store between processes. Returns the lock's fd. */
static int lock_store(const char *dir, rondo_error *err)
{
    char *path = path_join(dir, LOCK_NAME);
    int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644) : -1;
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot lock %s: %s", path ? path : dir,
                        strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    free(path);
    return fd;
}

static void unlock_store(int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
}

/* The index directory, created if missing; refused when it is not a
 * directory of its own (a link could point anywhere). */
static rondo_status make_index_dir(const char *dir, rondo_error *err)
{
    char *path = path_join(dir, INDEX_DIR);
    if (path == NULL)
        return no_memory(err, "creating the index");
    rondo_status rc = RONDO_OK;
    struct stat st;
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        rc = RONDO_ERR_IO;
    } else if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = corrupt(err, "%s: not a directory", path);
    }
    free(path);
    return rc;
}

static rondo_status create_store(const char *dir, rondo_error *err)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot create store directory %s: %s", dir,
                        strerror(errno));
        return RONDO_ERR_IO;
    }
    int lock = lock_store(dir, err);
    if (lock < 0)
        return RONDO_ERR_IO;
    char *schema = path_join(dir, SCHEMA_NAME);
    rondo_status rc = RONDO_OK;
    struct stat st;
    if (schema == NULL) {
        rc = no_memory(err, "creating a store");
    } else if (lstat(schema, &st) != 0 && errno == ENOENT) {
        rondo_store empty = {.dir = (char *)dir};
        rc = make_index_dir(dir, err);
        if (rc == RONDO_OK)
            rc = write_schema(&empty, err);
    }
    free(schema);
    unlock_store(lock);
    return rc;
}

rondo_status rondo_store_open(rondo_store **out, const char *dir, int flags, rondo_error *err)
{
    *out = NULL;
    rondo_status rc;
    if ((flags & RONDO_OPEN_CREATE) && (rc = create_store(dir, err)) != RONDO_OK)
        return rc;
    rondo_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return no_memory(err, "opening a store");
    }
    s->flags = flags;
    rc = read_schema(s, err);
    if (rc == RONDO_OK && !(flags & RONDO_OPEN_ON_DEMAND))
        rc = read_all(s, err);
    if (rc != RONDO_OK) {
        rondo_store_close(s);
        return rc;
    }
    *out = s;
    return RONDO_OK;
}

void rondo_store_close(rondo_store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        rondo_series_close(s->entries[i]->series);
        free(s->entries[i]);
    }
    free(s->entries);
    free(s->by_key);
    free(s->read.hash);
    free(s->read.offset);
    free(s->dir);
    free(s);
}

const char *rondo_store_dir(const rondo_store *s)
{
    return s->dir;
}

size_t rondo_store_series_count(const rondo_store *s)
{
    return s->n;
}

const rondo_series_id *rondo_store_series_id(const rondo_store *s, size_t i)
{
    return i < s->n ? &s->entries[i]->id : NULL;
}

rondo_status rondo_store_list(rondo_store *s, rondo_error *err)
{
    return s->listed ? RONDO_OK : read_all(s, err);
}

static bool same_archives(const struct entry *e, const rondo_series *ser)
{
    if (e->narchives != ser->narchives || e->kind != ser->kind || strcmp(e->key, ser->key) != 0)
        return false;
    for (size_t k = 0; k < e->narchives; k++) {
        if (e->archives[k].resolution != ser->archives[k].resolution ||
            e->archives[k].rows != ser->archives[k].rows ||
            e->archives[k].cf != ser->archives[k].cf)
            return false;
    }
    return true;
}

static rondo_status open_entry(rondo_store *s, struct entry *e, rondo_series **out,
                               rondo_error *err)
{
    if (e->series == NULL) {
        char *path = path_join(s->dir, e->file);
        if (path == NULL)
            return no_memory(err, "opening a series");
        rondo_series *ser;
        rondo_status rc = rondo__series_open(&ser, path, (s->flags & RONDO_OPEN_WRITE) != 0,
                                             (s->flags & RONDO_OPEN_LAZY) == 0, err);
        if (rc == RONDO_ERR_NOT_FOUND)
            rc = corrupt(err, "%s: missing; the store lists it for series %s", path, e->key);
        if (rc == RONDO_OK && !same_archives(e, ser)) {
            rc = corrupt(err, "%s: its header does not match the store's entry for series %s", path,
                         e->key);
            rondo_series_close(ser);
        }
        free(path);
        if (rc != RONDO_OK)
            return rc;
        e->series = ser;
    }
    *out = e->series;
    return RONDO_OK;
}

rondo_status rondo_store_series(rondo_store *s, size_t i, rondo_series **out, rondo_error *err)
{
    if (i >= s->n) {
        rondo_error_set(err, RONDO_ERR_NOT_FOUND, "%s: no series number %zu", s->dir, i);
        return RONDO_ERR_NOT_FOUND;
    }
    return open_entry(s, s->entries[i], out, err);
}

/* Makes sure the index file of metric `name` has been read. */
static rondo_status know_name(rondo_store *s, const char *name, rondo_error *err)
{
    uint64_t bucket = hash_text(name);
    size_t valid;
    if (s->listed || map_find(&s->read, bucket) != NULL)
        return RONDO_OK;
    return read_index(s, bucket, &valid, err);
}

rondo_status rondo_store_find(rondo_store *s, const char *key, rondo_series **out, rondo_error *err)
{
    struct entry probe;
    rondo_status rc = rondo_series_id_parse(&probe.id, key, err);
    if (rc != RONDO_OK)
        return rc;
    rondo_series_id_format(&probe.id, probe.key, sizeof probe.key);
    uint64_t bucket = hash_text(probe.id.name);
    bool known = s->listed || map_find(&s->read, bucket) != NULL;
    struct entry *e = known ? lookup(s, probe.key) : NULL;
    size_t valid;
    /* The name's index file has not been read, or another process may have
     * added the series since: read what the file holds beyond what was read
     * (usually nothing) before saying there is none. */
    if (e == NULL && (rc = read_index(s, bucket, &valid, err)) != RONDO_OK)
        return rc;
    if (e == NULL)
        e = lookup(s, probe.key);
    if (e == NULL) {
        rondo_error_set(err, RONDO_ERR_NOT_FOUND, "no such series: %s in store %s", probe.key,
                        s->dir);
        return RONDO_ERR_NOT_FOUND;
    }
    return open_entry(s, e, out, err);
}

rondo_status rondo_store_select(rondo_store *s, const rondo_selector *sel, size_t **out,
                                size_t *count, rondo_error *err)
{
    *out = NULL;
    *count = 0;
    rondo_status rc = sel->name ? know_name(s, sel->name, err) : rondo_store_list(s, err);
    size_t *match = rc == RONDO_OK ? malloc((s->n ? s->n : 1) * sizeof *match) : NULL;
    if (rc == RONDO_OK && match == NULL)
        rc = no_memory(err, "selecting series");
    if (rc != RONDO_OK)
        return rc;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (rondo_selector_matches(sel, &s->entries[i]->id))
            match[n++] = i;
    }
    *out = match;
    *count = n;
    return RONDO_OK;
}

/* Appends `e` to its index file: one write of the whole line, then fdatasync.
 * `valid` is the length of the file's complete lines; anything after it is a
 * line a crash cut short, removed first. */
static rondo_status append_index(const rondo_store *s, const struct entry *e, uint64_t bucket,
                                 size_t valid, rondo_error *err)
{
    char name[64];
    index_name(name, sizeof name, bucket);
    char *path = path_join(s->dir, name);
    cJSON *js = entry_json(e);
    char *line = cJSON_PrintUnformatted(js);
    cJSON_Delete(js);
    rondo_status rc = RONDO_OK;
    int fd = -1;
    if (path == NULL || line == NULL) {
        rc = no_memory(err, "adding a series");
        goto out;
    }
    size_t len = strlen(line);
    char *grown = realloc(line, len + 2);
    if (grown == NULL) {
        rc = no_memory(err, "adding a series");
        goto out;
    }
    line = grown;
    memcpy(line + len, "\n", 2);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        rondo_error_set(err, errno == ELOOP ? RONDO_ERR_CORRUPT : RONDO_ERR_IO,
                        "cannot open %s: %s", path, strerror(errno));
        rc = errno == ELOOP ? RONDO_ERR_CORRUPT : RONDO_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = corrupt(err, "%s: not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > valid && ftruncate(fd, (off_t)valid) != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot cut the torn line of %s: %s", path,
                        strerror(errno));
        rc = RONDO_ERR_IO;
        goto out;
    }
    ssize_t n = write(fd, line, len + 1);
    if (n != (ssize_t)(len + 1) || fdatasync(fd) != 0) {
        rondo_error_set(err, RONDO_ERR_IO, "cannot append to %s: %s", path,
                        n < 0 || n == (ssize_t)(len + 1) ? strerror(errno) : "short write");
        rc = RONDO_ERR_IO;
        if (n > 0 && ftruncate(fd, (off_t)valid) != 0)
            rondo_error_set(err, RONDO_ERR_IO, "cannot undo a short append to %s: %s", path,
                            strerror(errno));
        goto out;
    }
    if (st.st_size == 0) {
        /* A new index file: its directory entry must be durable too. */
        char *dir = path_join(s->dir, INDEX_DIR);
        int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
out:
    if (fd >= 0)
        close(fd);
    free(line);
    free(path);
    return rc;
}

/* Creates the data file of `e` under a name derived from its key that no
 * directory entry has: the file is complete under a temporary name of this
 * process's own, then moved with RENAME_NOREPLACE, so no existing file,
 * listed or not, is ever replaced. A crash in between leaves at worst an
 * unlisted file, which later adds step over. */
static rondo_status create_data_file(const rondo_store *s, struct entry *e, rondo_error *err)
{
    unsigned long long h = (unsigned long long)hash_text(e->key);
    char tmp_name[96];
    snprintf(tmp_name, sizeof tmp_name, "series-%016llx.rondo.tmp.%ld", h, (long)getpid());
    char *tmp = path_join(s->dir, tmp_name);
    if (tmp == NULL)
        return no_memory(err, "adding a series");
    unlink(tmp);
    rondo_status rc =
        rondo__series_create_file(tmp, &e->id, e->kind, e->archives, e->narchives, err);
    for (unsigned k = 0; rc == RONDO_OK; k++) {
        if (k == 0)
            snprintf(e->file, sizeof e->file, "series-%016llx.rondo", h);
        else
            snprintf(e->file, sizeof e->file, "series-%016llx-%u.rondo", h, k);
        char *path = path_join(s->dir, e->file);
        if (path == NULL) {
            rc = no_memory(err, "adding a series");
            break;
        }
        int moved = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
        int e_no = errno;
        free(path);
        if (moved == 0)
            break;
        if (e_no != EEXIST || k == 1000) {
            rondo_error_set(err, RONDO_ERR_IO, "cannot move %s to %s/%s: %s", tmp, s->dir, e->file,
                            strerror(e_no));
            rc = RONDO_ERR_IO;
        }
    }
    unlink(tmp);
    free(tmp);
    return rc;
}

rondo_status rondo_store_add(rondo_store *s, const char *key, rondo_kind kind,
                             const rondo_archive_spec *archives, size_t narchives,
                             rondo_series **out, rondo_error *err)
{
    if (!(s->flags & RONDO_OPEN_WRITE)) {
        rondo_error_set(err, RONDO_ERR_INPUT, "store %s was opened read-only", s->dir);
        return RONDO_ERR_INPUT;
    }
    struct entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return no_memory(err, "adding a series");
    e->kind = kind;
    e->narchives = narchives;
    rondo_status rc = rondo_series_id_parse(&e->id, key, err);
    if (rc == RONDO_OK)
        rc = rondo_archives_check(archives, narchives, err);
    if (rc == RONDO_OK && kind != RONDO_GAUGE && kind != RONDO_COUNTER) {
        rondo_error_set(err, RONDO_ERR_INPUT, "unknown series kind %d", (int)kind);
        rc = RONDO_ERR_INPUT;
    }
    if (rc != RONDO_OK) {
        free(e);
        return rc;
    }
    rondo_series_id_format(&e->id, e->key, sizeof e->key);
    memcpy(e->archives, archives, narchives * sizeof *archives);
    int lock = lock_store(s->dir, err);
    if (lock < 0) {
        free(e);
        return RONDO_ERR_IO;
    }
    /* Under the lock, the index file of this name is read again: another
     * process may have added to it since. */
    uint64_t bucket = hash_text(e->id.name);
    size_t valid = 0;
    rc = read_index(s, bucket, &valid, err);
    if (rc == RONDO_OK && lookup(s, e->key) != NULL) {
        rondo_error_set(err, RONDO_ERR_EXISTS, "series %s already exists in store %s", e->key,
                        s->dir);
        rc = RONDO_ERR_EXISTS;
    }
    if (rc == RONDO_OK && s->version != SCHEMA_VERSION) {
        rc = make_index_dir(s->dir, err);
        if (rc == RONDO_OK && (rc = write_schema(s, err)) == RONDO_OK)
            s->version = SCHEMA_VERSION;
    }
    if (rc == RONDO_OK)
        rc = create_data_file(s, e, err);
    if (rc == RONDO_OK)
        rc = append_index(s, e, bucket, valid, err);
    unlock_store(lock);
    if (rc != RONDO_OK) {
        free(e);
        return rc;
    }
    if ((rc = push_entry(s, e, s->dir, err)) != RONDO_OK)
        return rc;
    return open_entry(s, s->entries[s->n - 1], out, err);
}
