/* A store directory: schema.json, the lock file, and the data files it
 * lists. The schema only ever grows, so a process that has a series open
 * never sees it move. */
#include "internal.h"

#include "pmbase/file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_NAME  "schema.json"
#define LOCK_NAME    ".lock"
#define SCHEMA_LIMIT (64u << 20)

struct entry {
    rondo_series_id id;
    char key[RONDO_MAX_KEY + 1];
    rondo_kind kind;
    size_t narchives;
    rondo_archive_spec archives[RONDO_MAX_ARCHIVES];
    char file[64];
    rondo_series *series; /* mapped on first use */
};

struct rondo_store {
    char *dir;
    int flags;
    size_t n, cap;
    struct entry *entries;
};

static char *path_join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p != NULL)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* File names come from the schema, which anyone can edit; only names this
 * library generates are accepted, so a schema cannot point outside the store. */
static bool valid_file_name(const char *name)
{
    if (strncmp(name, "series-", 7) != 0)
        return false;
    const char *p = name + 7;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    return strcmp(p, ".rondo") == 0 && strlen(name) < 64;
}

/* Reads schema.json: a regular file (a FIFO would block, a link could point
 * anywhere), within SCHEMA_LIMIT. */
static rondo_status read_file(const char *path, char **out, rondo_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        int e = errno;
        rondo_error_set(err, e == ENOENT ? RONDO_ERR_NOT_FOUND : RONDO_ERR_IO, "cannot open %s: %s",
                        path, strerror(e));
        return e == ENOENT ? RONDO_ERR_NOT_FOUND : RONDO_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        rondo_error_set(err, RONDO_ERR_CORRUPT, "%s: not a regular file", path);
        return RONDO_ERR_CORRUPT;
    }
    pmb_error perr = {0};
    size_t len;
    int rc = pmb_file_read(path, SCHEMA_LIMIT, out, &len, &perr);
    if (rc != PMB_OK) {
        rondo_error_set(err, rc == PMB_EINPUT ? RONDO_ERR_CORRUPT : RONDO_ERR_IO, "%s", perr.msg);
        return rc == PMB_EINPUT ? RONDO_ERR_CORRUPT : RONDO_ERR_IO;
    }
    return RONDO_OK;
}

static rondo_status schema_error(const char *dir, rondo_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static rondo_status schema_error(const char *dir, rondo_error *err, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    rondo_error_set(err, RONDO_ERR_CORRUPT, "%s/" SCHEMA_NAME ": %s", dir, what);
    return RONDO_ERR_CORRUPT;
}

static rondo_status parse_entry(const char *dir, const cJSON *js, size_t i, struct entry *e,
                                rondo_error *err)
{
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(js, "key");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(js, "kind");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(js, "file");
    const cJSON *archives = cJSON_GetObjectItemCaseSensitive(js, "archives");
    if (!cJSON_IsString(key) || !cJSON_IsString(kind) || !cJSON_IsString(file) ||
        !cJSON_IsArray(archives))
        return schema_error(dir, err, "series[%zu]: needs key, kind, file and archives", i);
    rondo_error sub;
    if (rondo_series_id_parse(&e->id, key->valuestring, &sub) != RONDO_OK)
        return schema_error(dir, err, "series[%zu].key: %s", i, sub.message);
    rondo_series_id_format(&e->id, e->key, sizeof e->key);
    if (strcmp(kind->valuestring, "gauge") == 0)
        e->kind = RONDO_GAUGE;
    else if (strcmp(kind->valuestring, "counter") == 0)
        e->kind = RONDO_COUNTER;
    else
        return schema_error(dir, err, "series[%zu].kind: '%.100s' is not gauge or counter", i,
                            kind->valuestring);
    if (!valid_file_name(file->valuestring))
        return schema_error(dir, err, "series[%zu].file: '%.100s' is not a series-N.rondo name", i,
                            file->valuestring);
    snprintf(e->file, sizeof e->file, "%s", file->valuestring);
    e->narchives = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, archives)
    {
        if (e->narchives == RONDO_MAX_ARCHIVES)
            return schema_error(dir, err, "series[%zu].archives: more than 8", i);
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(a, "resolution");
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(a, "rows");
        const cJSON *cf = cJSON_GetObjectItemCaseSensitive(a, "cf");
        rondo_archive_spec *spec = &e->archives[e->narchives];
        if (!cJSON_IsNumber(res) || !cJSON_IsNumber(rows) || !cJSON_IsString(cf) ||
            res->valuedouble < 1 || res->valuedouble > (double)RONDO_TIME_MAX ||
            rows->valuedouble < 1 || rows->valuedouble > RONDO_MAX_ROWS ||
            !rondo_cf_parse(cf->valuestring, &spec->cf))
            return schema_error(dir, err,
                                "series[%zu].archives: each needs a resolution, "
                                "rows and a cf (avg, min, max, last, sum)",
                                i);
        spec->resolution = (int64_t)res->valuedouble;
        spec->rows = (uint32_t)rows->valuedouble;
        e->narchives++;
    }
    if (rondo_archives_check(e->archives, e->narchives, &sub) != RONDO_OK)
        return schema_error(dir, err, "series[%zu].archives: %s", i, sub.message);
    return RONDO_OK;
}

/* Reads schema.json into a fresh array of entries. */
static rondo_status load_schema(const char *dir, struct entry **out, size_t *count,
                                rondo_error *err)
{
    *out = NULL;
    *count = 0;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rondo_error_set(err, RONDO_ERR_NOT_FOUND, "no such store: %s (no such directory)", dir);
        return RONDO_ERR_NOT_FOUND;
    }
    char *path = path_join(dir, SCHEMA_NAME);
    if (path == NULL) {
        rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory");
        return RONDO_ERR_NOMEM;
    }
    char *text = NULL;
    rondo_status rc = read_file(path, &text, err);
    free(path);
    if (rc == RONDO_ERR_NOT_FOUND)
        rondo_error_set(err, rc, "no such store: %s has no " SCHEMA_NAME, dir);
    if (rc != RONDO_OK)
        return rc;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(root, "series");
    if (root == NULL || !cJSON_IsString(format) ||
        strcmp(format->valuestring, "rondo-store") != 0 || !cJSON_IsNumber(version) ||
        !cJSON_IsArray(series)) {
        cJSON_Delete(root);
        return schema_error(dir, err,
                            "not a rondo store schema (needs format \"rondo-store\", "
                            "version and series)");
    }
    if (version->valuedouble != 1) {
        double v = version->valuedouble;
        cJSON_Delete(root);
        return schema_error(dir, err, "schema version %g, this build reads version 1", v);
    }
    size_t n = (size_t)cJSON_GetArraySize(series);
    struct entry *entries = n ? calloc(n, sizeof *entries) : NULL;
    if (n && entries == NULL) {
        cJSON_Delete(root);
        rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory loading %s", dir);
        return RONDO_ERR_NOMEM;
    }
    size_t i = 0;
    const cJSON *js;
    cJSON_ArrayForEach(js, series)
    {
        rc = parse_entry(dir, js, i, &entries[i], err);
        for (size_t k = 0; rc == RONDO_OK && k < i; k++) {
            if (strcmp(entries[k].key, entries[i].key) == 0)
                rc = schema_error(dir, err, "series[%zu]: duplicate key %s", i, entries[i].key);
            else if (strcmp(entries[k].file, entries[i].file) == 0)
                rc = schema_error(dir, err, "series[%zu]: file %s is used twice", i,
                                  entries[i].file);
        }
        if (rc != RONDO_OK) {
            free(entries);
            cJSON_Delete(root);
            return rc;
        }
        i++;
    }
    cJSON_Delete(root);
    *out = entries;
    *count = n;
    return RONDO_OK;
}

/* Writes schema.json with write-temp-fsync-rename, so a reader sees the old
 * or the new schema, never half of one. */
static rondo_status save_schema(const char *dir, const struct entry *entries, size_t n,
                                rondo_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "rondo-store");
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON *series = cJSON_AddArrayToObject(root, "series");
    for (size_t i = 0; i < n; i++) {
        cJSON *js = cJSON_CreateObject();
        cJSON_AddStringToObject(js, "key", entries[i].key);
        cJSON_AddStringToObject(js, "kind", rondo_kind_name(entries[i].kind));
        cJSON_AddStringToObject(js, "file", entries[i].file);
        cJSON *archives = cJSON_AddArrayToObject(js, "archives");
        for (size_t k = 0; k < entries[i].narchives; k++) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "resolution", (double)entries[i].archives[k].resolution);
            cJSON_AddNumberToObject(a, "rows", entries[i].archives[k].rows);
            cJSON_AddStringToObject(a, "cf", rondo_cf_name(entries[i].archives[k].cf));
            cJSON_AddItemToArray(archives, a);
        }
        cJSON_AddItemToArray(series, js);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char *path = path_join(dir, SCHEMA_NAME);
    rondo_status rc = RONDO_OK;
    if (text == NULL || path == NULL) {
        rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory writing the schema of %s", dir);
        rc = RONDO_ERR_NOMEM;
    }
    /* A fresh temporary (never an existing name, never through a link),
     * fsync, rename over schema.json, fsync of the directory. */
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

/* Serializes schema changes between processes. Returns the lock's fd. */
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

rondo_status rondo_store_open(rondo_store **out, const char *dir, int flags, rondo_error *err)
{
    *out = NULL;
    rondo_status rc;
    if (flags & RONDO_OPEN_CREATE) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            rondo_error_set(err, RONDO_ERR_IO, "cannot create store directory %s: %s", dir,
                            strerror(errno));
            return RONDO_ERR_IO;
        }
        int lock = lock_store(dir, err);
        if (lock < 0)
            return RONDO_ERR_IO;
        char *schema = path_join(dir, SCHEMA_NAME);
        rc = RONDO_OK;
        if (schema == NULL) {
            rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory");
            rc = RONDO_ERR_NOMEM;
        } else if (access(schema, F_OK) != 0) {
            rc = save_schema(dir, NULL, 0, err);
        }
        free(schema);
        unlock_store(lock);
        if (rc != RONDO_OK)
            return rc;
    }
    rondo_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory opening %s", dir);
        return RONDO_ERR_NOMEM;
    }
    s->flags = flags;
    rc = load_schema(dir, &s->entries, &s->n, err);
    if (rc != RONDO_OK) {
        rondo_store_close(s);
        return rc;
    }
    s->cap = s->n;
    *out = s;
    return RONDO_OK;
}

void rondo_store_close(rondo_store *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        rondo_series_close(s->entries[i].series);
    free(s->entries);
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
    return i < s->n ? &s->entries[i].id : NULL;
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

rondo_status rondo_store_series(rondo_store *s, size_t i, rondo_series **out, rondo_error *err)
{
    if (i >= s->n) {
        rondo_error_set(err, RONDO_ERR_NOT_FOUND, "%s: no series number %zu", s->dir, i);
        return RONDO_ERR_NOT_FOUND;
    }
    struct entry *e = &s->entries[i];
    if (e->series == NULL) {
        char *path = path_join(s->dir, e->file);
        if (path == NULL) {
            rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory");
            return RONDO_ERR_NOMEM;
        }
        rondo_series *ser;
        rondo_status rc = rondo__series_open(&ser, path, (s->flags & RONDO_OPEN_WRITE) != 0,
                                             (s->flags & RONDO_OPEN_LAZY) == 0, err);
        if (rc == RONDO_ERR_NOT_FOUND) {
            rondo_error_set(err, RONDO_ERR_CORRUPT,
                            "%s: missing; " SCHEMA_NAME " lists it for series %s", path, e->key);
            rc = RONDO_ERR_CORRUPT;
        }
        if (rc == RONDO_OK && !same_archives(e, ser)) {
            rondo_error_set(err, RONDO_ERR_CORRUPT,
                            "%s: its header does not match the " SCHEMA_NAME " entry for series %s",
                            path, e->key);
            rondo_series_close(ser);
            rc = RONDO_ERR_CORRUPT;
        }
        free(path);
        if (rc != RONDO_OK)
            return rc;
        e->series = ser;
    }
    *out = e->series;
    return RONDO_OK;
}

static size_t find_key(const rondo_store *s, const char *canonical)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->entries[i].key, canonical) == 0)
            return i;
    }
    return SIZE_MAX;
}

rondo_status rondo_store_find(rondo_store *s, const char *key, rondo_series **out, rondo_error *err)
{
    rondo_series_id id;
    char canonical[RONDO_MAX_KEY + 1];
    rondo_status rc = rondo_series_id_parse(&id, key, err);
    if (rc != RONDO_OK)
        return rc;
    rondo_series_id_format(&id, canonical, sizeof canonical);
    size_t i = find_key(s, canonical);
    if (i == SIZE_MAX) {
        rondo_error_set(err, RONDO_ERR_NOT_FOUND, "no such series: %s in store %s", canonical,
                        s->dir);
        return RONDO_ERR_NOT_FOUND;
    }
    return rondo_store_series(s, i, out, err);
}

/* Appends what another process added to schema.json since we read it. */
static rondo_status refresh(rondo_store *s, rondo_error *err)
{
    struct entry *fresh;
    size_t n;
    rondo_status rc = load_schema(s->dir, &fresh, &n, err);
    if (rc != RONDO_OK)
        return rc;
    bool prefix = n >= s->n;
    for (size_t i = 0; prefix && i < s->n; i++)
        prefix = strcmp(fresh[i].key, s->entries[i].key) == 0;
    if (!prefix) {
        free(fresh);
        rondo_error_set(err, RONDO_ERR_CORRUPT,
                        "%s/" SCHEMA_NAME ": series were removed or reordered while open", s->dir);
        return RONDO_ERR_CORRUPT;
    }
    if (n > s->cap) {
        struct entry *grown = realloc(s->entries, n * sizeof *grown);
        if (grown == NULL) {
            free(fresh);
            rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory");
            return RONDO_ERR_NOMEM;
        }
        s->entries = grown;
        s->cap = n;
    }
    if (n > s->n)
        memcpy(s->entries + s->n, fresh + s->n, (n - s->n) * sizeof *fresh);
    s->n = n;
    free(fresh);
    return RONDO_OK;
}

/* The first series-K.rondo (K from the series count up) that no entry
 * lists and no directory entry has (a file renamed by hand, or left by a
 * crash, is stepped over, never reused), and a temporary name of this
 * process's own beside it. */
static rondo_status free_file_name(const rondo_store *s, struct entry *e, char **path, char **tmp,
                                   rondo_error *err)
{
    for (size_t k = s->n; k < s->n + 100000; k++) {
        snprintf(e->file, sizeof e->file, "series-%zu.rondo", k);
        bool listed = false;
        for (size_t i = 0; i < s->n && !listed; i++)
            listed = strcmp(s->entries[i].file, e->file) == 0;
        if (listed)
            continue;
        *path = path_join(s->dir, e->file);
        struct stat st;
        if (*path != NULL && lstat(*path, &st) != 0 && errno == ENOENT) {
            char tmp_name[96];
            snprintf(tmp_name, sizeof tmp_name, "%s.tmp.%ld", e->file, (long)getpid());
            *tmp = path_join(s->dir, tmp_name);
            if (*tmp != NULL)
                return RONDO_OK;
        }
        if (*path == NULL) {
            rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory");
            return RONDO_ERR_NOMEM;
        }
        free(*path);
        *path = NULL;
    }
    rondo_error_set(err, RONDO_ERR_IO, "%s: no free series file name", s->dir);
    return RONDO_ERR_IO;
}

rondo_status rondo_store_add(rondo_store *s, const char *key, rondo_kind kind,
                             const rondo_archive_spec *archives, size_t narchives,
                             rondo_series **out, rondo_error *err)
{
    if (!(s->flags & RONDO_OPEN_WRITE)) {
        rondo_error_set(err, RONDO_ERR_INPUT, "store %s was opened read-only", s->dir);
        return RONDO_ERR_INPUT;
    }
    struct entry e = {.kind = kind, .narchives = narchives};
    rondo_status rc = rondo_series_id_parse(&e.id, key, err);
    if (rc == RONDO_OK)
        rc = rondo_archives_check(archives, narchives, err);
    if (rc != RONDO_OK)
        return rc;
    if (kind != RONDO_GAUGE && kind != RONDO_COUNTER) {
        rondo_error_set(err, RONDO_ERR_INPUT, "unknown series kind %d", (int)kind);
        return RONDO_ERR_INPUT;
    }
    rondo_series_id_format(&e.id, e.key, sizeof e.key);
    memcpy(e.archives, archives, narchives * sizeof *archives);
    int lock = lock_store(s->dir, err);
    if (lock < 0)
        return RONDO_ERR_IO;
    rc = refresh(s, err);
    if (rc == RONDO_OK && find_key(s, e.key) != SIZE_MAX) {
        rondo_error_set(err, RONDO_ERR_EXISTS, "series %s already exists in store %s", e.key,
                        s->dir);
        rc = RONDO_ERR_EXISTS;
    }
    if (rc == RONDO_OK && s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct entry *grown = realloc(s->entries, cap * sizeof *grown);
        if (grown == NULL) {
            rondo_error_set(err, RONDO_ERR_NOMEM, "out of memory");
            rc = RONDO_ERR_NOMEM;
        } else {
            s->entries = grown;
            s->cap = cap;
        }
    }
    char *path = NULL, *tmp = NULL;
    if (rc == RONDO_OK)
        rc = free_file_name(s, &e, &path, &tmp, err);
    /* The data file is complete before the schema names it; it is created
     * under a name of this process's own and moved to a name nothing has, so
     * no existing file, listed or not, is ever replaced. A crash in between
     * leaves at worst an unlisted file, which the next add steps over. */
    if (rc == RONDO_OK) {
        unlink(tmp);
        rc = rondo__series_create_file(tmp, &e.id, kind, archives, narchives, err);
    }
    if (rc == RONDO_OK && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0) {
        rondo_error_set(err, errno == EEXIST ? RONDO_ERR_EXISTS : RONDO_ERR_IO,
                        "cannot move %s to %s: %s", tmp, path, strerror(errno));
        rc = errno == EEXIST ? RONDO_ERR_EXISTS : RONDO_ERR_IO;
    }
    if (rc == RONDO_OK) {
        s->entries[s->n] = e;
        rc = save_schema(s->dir, s->entries, s->n + 1, err);
        if (rc == RONDO_OK)
            s->n++;
    }
    unlock_store(lock);
    if (tmp != NULL)
        unlink(tmp);
    free(path);
    free(tmp);
    if (rc != RONDO_OK)
        return rc;
    return rondo_store_series(s, s->n - 1, out, err);
}
