#include "perfmatrix/sweep.h"

#include "perfmatrix/record.h"
#include "pmbase/alloc.h"
#include "pmbase/file.h"
#include "pmbase/number.h"

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
    /* The driver's paths live in PM_PATH_LEN buffers: a longer directory is
     * refused here rather than cut later into another file's name. */
    if (strlen(dir) >= PM_PATH_LEN) {
        snprintf(err, errlen, "%.200s...: path too long", dir);
        return false;
    }
    pmb_error e = {0};
    if (pmb_mkdirs(dir, &e) != PMB_OK) {
        snprintf(err, errlen, "%s", e.msg);
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
    pmb_error e = {0};
    if (pmb_file_write_atomic(path, text, strlen(text), 0644, &e) != PMB_OK) {
        snprintf(err, errlen, "%s", e.msg);
        return false;
    }
    return true;
}

bool pm_write_json_file(const char *path, const cJSON *obj, char *err, size_t errlen)
{
    char *text = cJSON_Print(obj);
    if (!text)
        pmb_oom("a result object as text");
    size_t len = strlen(text);
    char *file = pmb_malloc(len + 2);
    memcpy(file, text, len);
    memcpy(file + len, "\n", 2);
    cJSON_free(text);
    bool ok = pm_write_file_atomic(path, file, err, errlen);
    free(file);
    return ok;
}

char *pm_read_file(const char *path, char *err, size_t errlen)
{
    pmb_error e = {0};
    char *text = NULL;
    size_t len;
    if (pmb_file_read(path, 0, &text, &len, &e) != PMB_OK) {
        snprintf(err, errlen, "%s", e.msg);
        return NULL;
    }
    return text;
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

/* The strict parsers of pmbase, for callers that word their own message. */
bool pm_parse_double(const char *text, double min, double max, double *out)
{
    return pmb_parse_double("", text, min, max, out, NULL) == PMB_OK;
}

bool pm_parse_int(const char *text, int min, int max, int *out)
{
    return pmb_parse_int("", text, min, max, out, NULL) == PMB_OK;
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

double pm_result_number(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

const char *pm_stdout_object(const char *out)
{
    for (const char *line = out; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (*line == '{')
            return line;
    }
    return NULL;
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
