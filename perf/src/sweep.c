#include "perfmatrix/sweep.h"

#include "perfmatrix/record.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool pm_mkdirs(const char *dir, char *err, size_t errlen)
{
    char path[PM_PATH_LEN];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "%.200s...: path too long", dir);
        return false;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
            return false;
        }
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

void pm_timestamp(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(buf, len, "%Y%m%d_%H%M%S", &tm);
}

void pm_iso_time(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
}

bool pm_write_file_atomic(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[PM_PATH_LEN + 32];
    /* A cut temporary name could be another file, which rename would then
     * move over path. */
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%.200s...: path too long", path);
        return false;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return false;
    }
    bool ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

char *pm_read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    bool failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        free(buf);
        snprintf(err, errlen, "%s: read failed", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

bool pm_sweep_begin(const char *out_dir, char *name, size_t namelen, char *err, size_t errlen)
{
    if (!pm_mkdirs(out_dir, err, errlen))
        return false;
    char ts[32], path[PM_PATH_LEN];
    pm_timestamp(ts, sizeof ts);
    /* Two setups within one second (a quick rerun) get distinct names. */
    for (int attempt = 1; attempt < 100; attempt++) {
        if (attempt == 1)
            snprintf(name, namelen, "sweep_%s", ts);
        else
            snprintf(name, namelen, "sweep_%s_%d", ts, attempt);
        if (snprintf(path, sizeof path, "%s/%s", out_dir, name) >= (int)sizeof path) {
            snprintf(err, errlen, "%.200s...: path too long", out_dir);
            return false;
        }
        if (mkdir(path, 0777) == 0) {
            char marker[PM_PATH_LEN], text[256];
            if (snprintf(marker, sizeof marker, "%s/.current_sweep", out_dir) >=
                (int)sizeof marker) {
                snprintf(err, errlen, "%.200s...: path too long", out_dir);
                return false;
            }
            snprintf(text, sizeof text, "%s\n", name);
            return pm_write_file_atomic(marker, text, err, errlen);
        }
        if (errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
            return false;
        }
    }
    snprintf(err, errlen, "%s: too many sweeps named sweep_%s", out_dir, ts);
    return false;
}

bool pm_sweep_current(const char *out_dir, bool create, char *name, size_t namelen, char *err,
                      size_t errlen)
{
    char marker[PM_PATH_LEN];
    if (snprintf(marker, sizeof marker, "%s/.current_sweep", out_dir) >= (int)sizeof marker) {
        snprintf(err, errlen, "%.200s...: path too long", out_dir);
        return false;
    }
    char *text = pm_read_file(marker, err, errlen);
    if (!text) {
        if (create)
            return pm_sweep_begin(out_dir, name, namelen, err, errlen);
        snprintf(err, errlen, "%s: no sweep recorded (run the setup test first)", marker);
        return false;
    }
    text[strcspn(text, "\r\n")] = '\0';
    bool ok = strncmp(text, "sweep_", 6) == 0 && strchr(text, '/') == NULL;
    if (ok)
        snprintf(name, namelen, "%s", text);
    else
        snprintf(err, errlen, "%s: '%s' is not a sweep name", marker, text);
    free(text);
    return ok;
}

bool pm_parse_double(const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno || isnan(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool pm_parse_int(const char *text, int min, int max, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

bool pm_env_double(const char *env, double def, double min, double max, double *out, char *err,
                   size_t errlen)
{
    const char *v = getenv(env);
    if (!v || *v == '\0') {
        *out = def;
        return true;
    }
    if (!pm_parse_double(v, min, max, out)) {
        snprintf(err, errlen, "environment %s='%s': expected a number in [%g, %g]", env, v, min,
                 max);
        return false;
    }
    return true;
}

bool pm_env_int(const char *env, int def, int min, int max, int *out, char *err, size_t errlen)
{
    const char *v = getenv(env);
    if (!v || *v == '\0') {
        *out = def;
        return true;
    }
    if (!pm_parse_int(v, min, max, out)) {
        snprintf(err, errlen, "environment %s='%s': expected an integer in [%d, %d]", env, v, min,
                 max);
        return false;
    }
    return true;
}

const char *pm_result_kind(const cJSON *obj)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
    return cJSON_IsString(kind) ? kind->valuestring : "";
}

bool pm_sweep_each(const char *sweep_dir, bool missing_ok, pm_sweep_visitor visit, void *ctx,
                   char *err, size_t errlen)
{
    DIR *d = opendir(sweep_dir);
    if (!d) {
        if (missing_ok && errno == ENOENT)
            return true;
        snprintf(err, errlen, "%s: %s", sweep_dir, strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[PM_PATH_LEN];
        if (snprintf(path, sizeof path, "%s/%s", sweep_dir, e->d_name) >= (int)sizeof path) {
            snprintf(err, errlen, "%.200s...: path too long", sweep_dir);
            ok = false;
            break;
        }
        char why[PM_ERR_LEN];
        char *text = pm_read_file(path, why, sizeof why);
        if (!text) {
            snprintf(err, errlen, "%s", why);
            ok = false;
            break;
        }
        cJSON *obj = cJSON_Parse(text);
        free(text);
        ok = visit(e->d_name, path, obj, ctx, err, errlen);
        cJSON_Delete(obj);
    }
    closedir(d);
    return ok;
}
