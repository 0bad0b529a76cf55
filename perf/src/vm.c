#include "perfmatrix/vm.h"

#include "perfmatrix/cli.h"
#include "perfmatrix/point.h"
#include "perfmatrix/proc.h"
#include "perfmatrix/sweep.h"

#include <rondo/rondo.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The per-run timeout when none is given: the workload's own duration plus
 * this margin, which covers the VMM's start and the store's final sync. */
#define PM__VM_TIMEOUT_MARGIN_SEC 30.0

/* A store whose series span more than this is not one VM lifecycle (a clock
 * jump or a foreign store); the timeline refuses it rather than allocate. */
#define PM__VM_MAX_SPAN_SEC (7 * 86400)

/* Fills err with a formatted message. A path in it may be cut short, which
 * is fine for a one-line error; vsnprintf keeps GCC from warning about it at
 * every call. */
__attribute__((format(printf, 3, 4))) static void pm__fmt(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

typedef enum { PM__STR, PM__INT, PM__DBL } pm__type;

typedef struct {
    const char *name;
    pm__type type;
    size_t offset;
    size_t size;
} pm__column;

#define PM__COL(field, type)                                                                       \
    {                                                                                              \
#field, type, offsetof(pm_vm_row, field), sizeof(((pm_vm_row *)0)->field)                  \
    }

/* One table drives the CSV header, the CSV rows and the JSON objects, so the
 * formats cannot drift apart. The first 19 are the documented columns. */
static const pm__column pm__columns[] = {
    PM__COL(ts, PM__STR),
    PM__COL(duration_s, PM__INT),
    PM__COL(run_idx, PM__INT),
    PM__COL(backend, PM__STR),
    PM__COL(vcpus, PM__INT),
    PM__COL(wall_s, PM__DBL),
    PM__COL(start_to_entry_us, PM__DBL),
    PM__COL(points, PM__DBL),
    PM__COL(expected_points, PM__DBL),
    PM__COL(capture_rate, PM__DBL),
    PM__COL(exits_total, PM__DBL),
    PM__COL(exits_per_sec, PM__DBL),
    PM__COL(peak_rss_kb, PM__DBL),
    PM__COL(cpu_user_s, PM__DBL),
    PM__COL(cpu_sys_s, PM__DBL),
    PM__COL(exit_code, PM__INT),
    PM__COL(timeout_killed, PM__INT),
    PM__COL(status, PM__STR),
    PM__COL(reason, PM__STR),
    PM__COL(nproc, PM__INT),
    PM__COL(pinned_cpus, PM__INT),
    PM__COL(ru_maxrss_kb, PM__DBL),
    PM__COL(store_exits, PM__DBL),
    PM__COL(git_sha, PM__STR),
    PM__COL(test, PM__STR),
    PM__COL(timeline, PM__STR),
};

#define PM__NCOL (sizeof pm__columns / sizeof pm__columns[0])

void pm_vm_row_init(pm_vm_row *row)
{
    memset(row, 0, sizeof *row);
    for (size_t i = 0; i < PM__NCOL; i++)
        if (pm__columns[i].type == PM__DBL)
            *(double *)(void *)((char *)row + pm__columns[i].offset) = NAN;
}

const char *pm_vm_csv_header(void)
{
    static char header[1024];
    if (header[0] == '\0') {
        size_t used = 0;
        for (size_t i = 0; i < PM__NCOL; i++)
            used += (size_t)snprintf(header + used, sizeof header - used, "%s%s", i ? "," : "",
                                     pm__columns[i].name);
    }
    return header;
}

static void pm__csv_text(FILE *f, const char *text)
{
    if (strpbrk(text, ",\"\r\n") == NULL) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            fputc('"', f);
        fputc(*c, f);
    }
    fputc('"', f);
}

void pm_vm_csv_write_row(FILE *f, const pm_vm_row *row)
{
    for (size_t i = 0; i < PM__NCOL; i++) {
        const pm__column *col = &pm__columns[i];
        const char *p = (const char *)row + col->offset;
        if (i)
            fputc(',', f);
        if (col->type == PM__STR) {
            pm__csv_text(f, p);
        } else if (col->type == PM__INT) {
            fprintf(f, "%d", *(const int *)(const void *)p);
        } else {
            /* An unmeasured figure stays empty rather than a fake zero. */
            double d = *(const double *)(const void *)p;
            if (!isnan(d))
                fprintf(f, "%.10g", d);
        }
    }
    fputc('\n', f);
}

cJSON *pm_vm_row_to_json(const pm_vm_row *row)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    cJSON_AddStringToObject(obj, "kind", "vm");
    for (size_t i = 0; i < PM__NCOL; i++) {
        const pm__column *col = &pm__columns[i];
        const char *p = (const char *)row + col->offset;
        if (col->type == PM__STR) {
            cJSON_AddStringToObject(obj, col->name, p);
        } else if (col->type == PM__INT) {
            cJSON_AddNumberToObject(obj, col->name, *(const int *)(const void *)p);
        } else {
            double d = *(const double *)(const void *)p;
            if (isnan(d))
                cJSON_AddNullToObject(obj, col->name);
            else
                cJSON_AddNumberToObject(obj, col->name, d);
        }
    }
    return obj;
}

bool pm_vm_row_from_json(const cJSON *obj, pm_vm_row *row, char *err, size_t errlen)
{
    pm_vm_row_init(row);
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "not a JSON object");
        return false;
    }
    for (size_t i = 0; i < PM__NCOL; i++) {
        const pm__column *col = &pm__columns[i];
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, col->name);
        char *p = (char *)row + col->offset;
        if (!item || cJSON_IsNull(item))
            continue;
        if (col->type == PM__STR) {
            if (!cJSON_IsString(item)) {
                snprintf(err, errlen, "field %s: expected a string", col->name);
                return false;
            }
            snprintf(p, col->size, "%s", item->valuestring);
        } else if (!cJSON_IsNumber(item)) {
            snprintf(err, errlen, "field %s: expected a number", col->name);
            return false;
        } else if (col->type == PM__INT) {
            *(int *)(void *)p = (int)item->valuedouble;
        } else {
            *(double *)(void *)p = item->valuedouble;
        }
    }
    return true;
}

bool pm_vm_rows_push(pm_vm_rows *rows, const pm_vm_row *row)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        pm_vm_row *v = realloc(rows->v, cap * sizeof *v);
        if (!v)
            return false;
        rows->v = v;
        rows->cap = cap;
    }
    rows->v[rows->n++] = *row;
    return true;
}

void pm_vm_rows_free(pm_vm_rows *rows)
{
    free(rows->v);
    rows->v = NULL;
    rows->n = rows->cap = 0;
}

static double pm__num(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

static void pm__str(const cJSON *obj, const char *key, char *out, size_t len)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsString(item))
        snprintf(out, len, "%s", item->valuestring);
}

bool pm_vm_parse_summary(const char *out, pm_vm_row *row, double *summary_uptime_points,
                         char *crash, size_t crashlen, char *err, size_t errlen)
{
    *summary_uptime_points = NAN;
    if (crash && crashlen)
        crash[0] = '\0';
    const char *start = out;
    while (start && *start && *start != '{') {
        start = strchr(start, '\n');
        if (start)
            start++;
    }
    if (!start || *start != '{') {
        snprintf(err, errlen, "no --json summary object on stdout");
        return false;
    }
    cJSON *obj = cJSON_ParseWithOpts(start, NULL, false);
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "the --json summary on stdout is not a JSON object");
        cJSON_Delete(obj);
        return false;
    }
    pm__str(obj, "backend", row->backend, sizeof row->backend);
    double v = pm__num(obj, "vcpus");
    if (!isnan(v))
        row->vcpus = (int)v;
    row->wall_s = pm__num(obj, "wall_s");
    row->start_to_entry_us = pm__num(obj, "start_to_entry_us");
    row->expected_points = pm__num(obj, "expected_points");
    row->exits_total = pm__num(obj, "exits_total");
    row->peak_rss_kb = pm__num(obj, "peak_rss_kb");
    row->cpu_user_s = pm__num(obj, "cpu_user_s");
    row->cpu_sys_s = pm__num(obj, "cpu_sys_s");
    if (!isnan(row->exits_total) && row->wall_s > 0)
        row->exits_per_sec = row->exits_total / row->wall_s;
    pm__str(obj, "git_sha", row->git_sha, sizeof row->git_sha);
    if (crash)
        pm__str(obj, "crash", crash, crashlen);
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(obj, "points");
    *summary_uptime_points = pm__num(points, "vmm_uptime_seconds");
    cJSON_Delete(obj);
    return true;
}

typedef enum { PM__NONE, PM__UPTIME, PM__EXITS, PM__PHASE } pm__role;

static pm__role pm__series_role(const char *name)
{
    if (strcmp(name, "vmm_uptime_seconds") == 0)
        return PM__UPTIME;
    if (strcmp(name, "vcpu_exits_total") == 0)
        return PM__EXITS;
    if (strcmp(name, "guest_phase") == 0)
        return PM__PHASE;
    return PM__NONE;
}

static void pm__cell(FILE *f, double v)
{
    if (!isnan(v))
        fprintf(f, "%.10g", v);
}

static bool pm__write_timeline(const char *path, int64_t t0, size_t span, const double *uptime,
                               const double *exits, const double *phase, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        pm__fmt(err, errlen, "%s: out of memory", path);
        return false;
    }
    fprintf(f, "time,second,uptime_s,exits_per_sec,phase\n");
    for (size_t k = 0; k < span; k++) {
        fprintf(f, "%lld,%zu,", (long long)(t0 + (int64_t)k), k);
        pm__cell(f, uptime[k]);
        fputc(',', f);
        pm__cell(f, exits[k]);
        fputc(',', f);
        pm__cell(f, phase[k]);
        fputc('\n', f);
    }
    bool ok = fclose(f) == 0 && text != NULL;
    ok = ok && pm_write_file_atomic(path, text, err, errlen);
    free(text);
    return ok;
}

bool pm_vm_store_read(const char *dir, const char *timeline_path, pm_vm_store_figures *fig,
                      char *err, size_t errlen)
{
    memset(fig, 0, sizeof *fig);
    rondo_store *store = NULL;
    rondo_error rerr = {0};
    if (rondo_store_open(&store, dir, RONDO_OPEN_READ, &rerr) != RONDO_OK) {
        snprintf(err, errlen, "%s", rerr.message);
        return false;
    }
    size_t nseries = rondo_store_series_count(store);
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    bool ok = true;
    for (size_t i = 0; ok && i < nseries; i++) {
        if (pm__series_role(rondo_store_series_id(store, i)->name) == PM__NONE)
            continue;
        rondo_series *s = NULL;
        int64_t a, b;
        if (rondo_store_series(store, i, &s, &rerr) != RONDO_OK) {
            snprintf(err, errlen, "%s", rerr.message);
            ok = false;
        } else if (rondo_series_extent(s, &a, &b)) {
            t0 = a < t0 ? a : t0;
            t1 = b > t1 ? b : t1;
        }
    }
    size_t span = ok && t1 > t0 ? (size_t)(t1 - t0) : 0;
    if (ok && span > PM__VM_MAX_SPAN_SEC) {
        pm__fmt(err, errlen, "%s: the series span %zu s, not one VM's life", dir, span);
        ok = false;
    }
    double *cells = ok ? malloc(3 * (span ? span : 1) * sizeof *cells) : NULL;
    if (ok && !cells) {
        pm__fmt(err, errlen, "%s: out of memory for a %zu s timeline", dir, span);
        ok = false;
    }
    double *uptime = cells, *exits = cells + span, *phase = cells + 2 * span;
    for (size_t k = 0; ok && k < 3 * span; k++)
        cells[k] = NAN;
    rondo_result res = {0};
    for (size_t i = 0; ok && span && i < nseries; i++) {
        pm__role role = pm__series_role(rondo_store_series_id(store, i)->name);
        rondo_series *s = NULL;
        if (role == PM__NONE)
            continue;
        if (rondo_store_series(store, i, &s, &rerr) != RONDO_OK ||
            rondo_query(s, t0, t1, &res, &rerr) != RONDO_OK) {
            snprintf(err, errlen, "%s", rerr.message);
            ok = false;
            break;
        }
        for (size_t p = 0; p < res.nparts; p++) {
            const rondo_part *part = &res.parts[p];
            for (size_t k = 0; k < part->count; k++) {
                double v = part->values[k];
                int64_t t = part->start + (int64_t)k * part->resolution;
                bool per_second = part->resolution == 1 && t >= t0 && t < t1;
                size_t at = per_second ? (size_t)(t - t0) : 0;
                if (isnan(v))
                    continue;
                /* Every exit counts, whatever archive still holds it; the
                 * timeline and the point count are per second only. */
                if (role == PM__EXITS)
                    fig->exits += v;
                if (!per_second)
                    continue;
                if (role == PM__UPTIME) {
                    fig->uptime_points += 1;
                    uptime[at] = v;
                } else if (role == PM__EXITS) {
                    exits[at] = isnan(exits[at]) ? v : exits[at] + v;
                } else {
                    phase[at] = v;
                }
            }
        }
    }
    rondo_result_free(&res);
    rondo_store_close(store);
    if (ok && timeline_path)
        ok = pm__write_timeline(timeline_path, t0 == INT64_MAX ? 0 : t0, span, uptime, exits, phase,
                                err, errlen);
    fig->seconds = span;
    free(cells);
    return ok;
}

bool pm_vm_verify(pm_vm_row *row, double summary_uptime_points, const pm_vm_store_figures *fig)
{
    row->points = fig->uptime_points;
    row->store_exits = fig->exits;
    if (row->expected_points > 0)
        row->capture_rate = row->points / row->expected_points;
    char why[sizeof row->reason] = "";
    if (isnan(row->expected_points))
        snprintf(why, sizeof why, "the summary has no expected_points");
    else if (row->points != row->expected_points)
        snprintf(why, sizeof why,
                 "the store holds %.0f vmm_uptime_seconds points, expected %.0f (capture %.3f)",
                 row->points, row->expected_points, row->capture_rate);
    else if (!isnan(summary_uptime_points) && summary_uptime_points != row->points)
        snprintf(why, sizeof why,
                 "the summary reports %.0f vmm_uptime_seconds points written, the store holds %.0f",
                 summary_uptime_points, row->points);
    else if (isnan(row->exits_total))
        snprintf(why, sizeof why, "the summary has no exits_total");
    else if (fig->exits != row->exits_total)
        snprintf(why, sizeof why,
                 "the store's vcpu_exits_total sums to %.0f, the summary reports exits_total %.0f",
                 fig->exits, row->exits_total);
    if (why[0] == '\0')
        return true;
    snprintf(row->status, sizeof row->status, "invalid");
    pm__fmt(row->reason, sizeof row->reason, "%s", why);
    return false;
}

void pm_vm_print_measurements(const pm_vm_row *row)
{
    pm_print_measurement("capture_rate", row->capture_rate);
    pm_print_measurement("exits_per_sec", row->exits_per_sec);
    pm_print_measurement("start_to_entry_us", row->start_to_entry_us);
    pm_print_measurement("peak_rss_kb", row->peak_rss_kb);
    fflush(stdout);
}

typedef struct {
    const char *test;
    const char *backend; /* NULL: the VMM's default */
    int duration_s;
    int run_idx;
    int vcpus;
    double timeout_sec;
    char *const *command;
    size_t command_len;
} pm__vm_config;

/* The last non-empty line of text (the VMM's one-line error), into out. */
static void pm__last_line(const char *text, char *out, size_t len)
{
    out[0] = '\0';
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    const char *start = end;
    while (start > text && start[-1] != '\n')
        start--;
    snprintf(out, len, "%.*s", (int)(end - start), start);
}

/* Runs the VMM with its stderr in log_path (kept beside the result, and
 * copied to ours afterwards so CTest's log still shows it): the driver needs
 * the VMM's one-line reason for a skip or a failure. */
static bool pm__run_logged(char **argv, const pm__vm_config *cfg, int pin, const char *log_path,
                           pm_child *child, char **log, char *err, size_t errlen)
{
    *log = NULL;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        pm__fmt(err, errlen, "%s: %s", log_path, strerror(errno));
        return false;
    }
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    if (saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
        pm__fmt(err, errlen, "redirecting stderr to %s: %s", log_path, strerror(errno));
        close(fd);
        if (saved >= 0)
            close(saved);
        return false;
    }
    close(fd);
    bool started = pm_run_child(argv, cfg->timeout_sec, pin, true, child, err, errlen);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char why[PM_ERR_LEN];
    *log = pm_read_file(log_path, why, sizeof why);
    if (*log)
        fputs(*log, stderr);
    return started;
}

/* Classifies a finished run from its exit, summary and store. */
static void pm__classify(pm_vm_row *row, const pm__vm_config *cfg, const char *log, bool parsed,
                         const char *parse_err, const char *crash, double summary_uptime,
                         const char *store_dir, const char *timeline_path)
{
    char line[200];
    pm__last_line(log ? log : "", line, sizeof line);
    if (row->exit_code == PM_VMM_EXIT_UNAVAILABLE && !row->timeout_killed) {
        snprintf(row->status, sizeof row->status, "skipped");
        pm__fmt(row->reason, sizeof row->reason, "%s",
                line[0] ? line : "rondo-vmm: backend unavailable (exit 4)");
        return;
    }
    /* Whatever the run left in the store is read back even when it failed:
     * the points and timeline of a crashed or killed VM are findings too. */
    pm_vm_store_figures fig;
    char store_err[PM_ERR_LEN] = "";
    bool have_store = pm_vm_store_read(store_dir, timeline_path, &fig, store_err, sizeof store_err);
    if (have_store) {
        row->points = fig.uptime_points;
        row->store_exits = fig.exits;
        if (row->expected_points > 0)
            row->capture_rate = row->points / row->expected_points;
        const char *slash = strrchr(timeline_path, '/');
        const char *name = slash ? slash + 1 : timeline_path;
        /* A name too long to record is left out rather than cut: the report
         * would read the wrong file. */
        if (strlen(name) < sizeof row->timeline)
            memcpy(row->timeline, name, strlen(name) + 1);
    }
    if (row->timeout_killed) {
        snprintf(row->status, sizeof row->status, "timeout");
        pm__fmt(row->reason, sizeof row->reason,
                "killed after the %gs per-run timeout (timeout_killed=1)", cfg->timeout_sec);
    } else if (row->exit_code == PM_VMM_EXIT_CRASHED) {
        snprintf(row->status, sizeof row->status, "failed");
        pm__fmt(row->reason, sizeof row->reason, "guest crashed (exit 3): %s",
                crash[0]  ? crash
                : line[0] ? line
                          : "no message");
    } else if (row->exit_code > 128) {
        snprintf(row->status, sizeof row->status, "failed");
        pm__fmt(row->reason, sizeof row->reason, "rondo-vmm killed by signal %d",
                row->exit_code - 128);
    } else if (row->exit_code != 0) {
        snprintf(row->status, sizeof row->status, "failed");
        pm__fmt(row->reason, sizeof row->reason, "exit code %d: %s", row->exit_code,
                line[0] ? line : "no message");
    } else if (!parsed) {
        snprintf(row->status, sizeof row->status, "failed");
        pm__fmt(row->reason, sizeof row->reason, "exit 0 but %s", parse_err);
    } else if (!have_store) {
        snprintf(row->status, sizeof row->status, "invalid");
        pm__fmt(row->reason, sizeof row->reason, "the metrics store cannot be read: %s", store_err);
    } else if (pm_vm_verify(row, summary_uptime, &fig)) {
        snprintf(row->status, sizeof row->status, "ok");
    }
}

static bool pm__plain_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *c = name; *c; c++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';
        if (!plain)
            return false;
    }
    return true;
}

/* A store directory that did not exist before this run: <test>.store, or
 * <test>.store.N when a rerun in the same sweep left one behind. */
static bool pm__fresh_store(const char *dir, const char *test, char *out, size_t len, char *err,
                            size_t errlen)
{
    for (int n = 1; n < 1000; n++) {
        if (n == 1)
            snprintf(out, len, "%s/%s.store", dir, test);
        else
            snprintf(out, len, "%s/%s.store.%d", dir, test, n);
        if (mkdir(out, 0777) == 0)
            return true;
        if (errno != EEXIST) {
            pm__fmt(err, errlen, "mkdir %s: %s", out, strerror(errno));
            return false;
        }
    }
    pm__fmt(err, errlen, "%s: too many stores for %s", dir, test);
    return false;
}

static int pm__usage(const char *msg)
{
    fprintf(stderr, "perfmatrix vm: %s (see perf/README.md)\n", msg);
    return PM_EXIT_USAGE;
}

static int pm__vm_run(const pm__vm_config *cfg, const char *out_dir)
{
    char sweep[256], dir[PM_PATH_LEN], err[PM_ERR_LEN];
    if (!pm_sweep_current(out_dir, true, sweep, sizeof sweep, err, sizeof err)) {
        fprintf(stderr, "perfmatrix vm: %s\n", err);
        return PM_EXIT_FAILED;
    }
    snprintf(dir, sizeof dir, "%s/%s", out_dir, sweep);
    char store[PM_PATH_LEN + 200], result[PM_PATH_LEN + 200], timeline[PM_PATH_LEN + 200];
    char log_path[PM_PATH_LEN + 200];
    if (!pm__fresh_store(dir, cfg->test, store, sizeof store, err, sizeof err)) {
        fprintf(stderr, "perfmatrix vm: %s\n", err);
        return PM_EXIT_FAILED;
    }
    snprintf(result, sizeof result, "%s/%s.json", dir, cfg->test);
    snprintf(timeline, sizeof timeline, "%s/%s_timeline.csv", dir, cfg->test);
    snprintf(log_path, sizeof log_path, "%s/%s.vmm.log", dir, cfg->test);

    int nproc = pm_nproc();
    int pin = cfg->vcpus < nproc ? cfg->vcpus : nproc;
    char duration[16], vcpus[16];
    snprintf(duration, sizeof duration, "%d", cfg->duration_s);
    snprintf(vcpus, sizeof vcpus, "%d", cfg->vcpus);
    char **argv = calloc(cfg->command_len + 12, sizeof *argv);
    if (!argv) {
        fprintf(stderr, "perfmatrix vm: out of memory for the command line\n");
        return PM_EXIT_FAILED;
    }
    size_t argc = 0;
    for (size_t i = 0; i < cfg->command_len; i++)
        argv[argc++] = cfg->command[i];
    char *extra[] = {"--workload-duration", duration, "--vcpus", vcpus,
                     "--metrics-store",     store,    "--json"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        argv[argc++] = extra[i];
    if (cfg->backend) {
        argv[argc++] = "--backend";
        argv[argc++] = (char *)cfg->backend;
    }

    pm_vm_row row;
    pm_vm_row_init(&row);
    pm_iso_time(row.ts, sizeof row.ts);
    snprintf(row.test, sizeof row.test, "%s", cfg->test);
    snprintf(row.backend, sizeof row.backend, "%s", cfg->backend ? cfg->backend : "");
    row.duration_s = cfg->duration_s;
    row.run_idx = cfg->run_idx;
    row.vcpus = cfg->vcpus;
    row.nproc = nproc;
    row.pinned_cpus = pin;

    pm_child child;
    char *log = NULL;
    bool started = pm__run_logged(argv, cfg, pin, log_path, &child, &log, err, sizeof err);
    free(argv);
    if (!started) {
        free(log);
        fprintf(stderr, "perfmatrix vm: %s\n", err);
        return PM_EXIT_FAILED;
    }
    row.exit_code = child.exit_code;
    row.timeout_killed = child.timed_out;
    row.ru_maxrss_kb = (double)child.maxrss_kb;
    char crash[200] = "", parse_err[200] = "";
    double summary_uptime = NAN;
    bool parsed =
        child.out_len > 0 && pm_vm_parse_summary(child.out, &row, &summary_uptime, crash,
                                                 sizeof crash, parse_err, sizeof parse_err);
    if (child.out_len == 0)
        snprintf(parse_err, sizeof parse_err, "nothing on stdout (no --json summary)");
    pm_child_free(&child);
    pm__classify(&row, cfg, log, parsed, parse_err, crash, summary_uptime, store, timeline);
    free(log);

    cJSON *obj = pm_vm_row_to_json(&row);
    char *text = obj ? cJSON_Print(obj) : NULL;
    cJSON_Delete(obj);
    size_t len = text ? strlen(text) : 0;
    char *file = text ? malloc(len + 2) : NULL;
    if (file) {
        memcpy(file, text, len);
        memcpy(file + len, "\n", 2);
    }
    cJSON_free(text);
    bool written = file && pm_write_file_atomic(result, file, err, sizeof err);
    free(file);
    if (!written) {
        fprintf(stderr, "perfmatrix vm: %s\n", text ? err : "out of memory for the result");
        return PM_EXIT_FAILED;
    }
    bool skipped = strcmp(row.status, "skipped") == 0;
    if (!skipped)
        pm_vm_print_measurements(&row);
    printf("perfmatrix vm: %s: %s, backend %s, %.0f/%.0f uptime points, %.6g exits/s, "
           "start-to-entry %.6g us, peak RSS %.0f kB, vcpus %d pinned to %d of %d CPUs -> %s\n",
           cfg->test, row.status, row.backend[0] ? row.backend : "?", row.points,
           row.expected_points, row.exits_per_sec, row.start_to_entry_us, row.peak_rss_kb,
           row.vcpus, row.pinned_cpus, row.nproc, result);
    fflush(stdout);
    if (skipped) {
        printf("skipped: %s\n", row.reason);
        return PM_EXIT_SKIPPED;
    }
    if (strcmp(row.status, "ok") != 0) {
        fprintf(stderr, "perfmatrix vm: %s: %s: %s\n", cfg->test, row.status, row.reason);
        return PM_EXIT_FAILED;
    }
    return PM_EXIT_OK;
}

int pm_vm_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output-dir", required_argument, NULL, 'o'}, {"duration", required_argument, NULL, 'd'},
        {"run", required_argument, NULL, 'r'},        {"timeout", required_argument, NULL, 't'},
        {"backend", required_argument, NULL, 'b'},    {"vcpus", required_argument, NULL, 'v'},
        {"test", required_argument, NULL, 'n'},       {NULL, 0, NULL, 0}};
    pm__vm_config cfg = {.run_idx = 1, .timeout_sec = 0};
    const char *out = NULL;
    int vcpus = 1, c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'd':
            ok = pm_parse_int(optarg, 1, 86400, &cfg.duration_s);
            break;
        case 'r':
            ok = pm_parse_int(optarg, 1, 1 << 20, &cfg.run_idx);
            break;
        case 't':
            ok = pm_parse_double(optarg, 0.001, 7 * 86400, &cfg.timeout_sec);
            break;
        case 'b':
            cfg.backend = optarg;
            ok = strcmp(optarg, "auto") == 0 || strcmp(optarg, "kvm") == 0 ||
                 strcmp(optarg, "ptrace") == 0;
            break;
        case 'v':
            ok = pm_parse_int(optarg, 1, 8, &vcpus);
            break;
        case 'n':
            cfg.test = optarg;
            break;
        default:
            return pm__usage("unknown option");
        }
    }
    if (!ok)
        return pm__usage("bad value for an option (--duration 1-86400 s, --backend "
                         "auto|kvm|ptrace, --vcpus 1-8)");
    if (cfg.duration_s == 0 || optind >= argc)
        return pm__usage("--duration and the rondo-vmm command after -- are required");
    cfg.command = argv + optind;
    cfg.command_len = (size_t)(argc - optind);
    if (cfg.timeout_sec == 0)
        cfg.timeout_sec = cfg.duration_s + PM__VM_TIMEOUT_MARGIN_SEC;
    char err[PM_ERR_LEN];
    /* VCPUS (the test presets') wins, as for engine points; rondo-vmm takes
     * 1 to 8 vCPUs. */
    if (!pm_env_int("VCPUS", vcpus, 1, 8, &cfg.vcpus, err, sizeof err)) {
        fprintf(stderr, "perfmatrix vm: %s (rondo-vmm runs 1 to 8 vCPUs)\n", err);
        return PM_EXIT_USAGE;
    }
    char name[160];
    if (!cfg.test) {
        snprintf(name, sizeof name, "vm.lifecycle.%ds.r%d", cfg.duration_s, cfg.run_idx);
        cfg.test = name;
    }
    if (!pm__plain_name(cfg.test) || strlen(cfg.test) > 120)
        return pm__usage("--test takes up to 120 letters, digits, '.', '_' or '-'");
    /* OUTPUT_DIR from the environment wins, as for every point; sets that
     * must not move (smoke) unset it through CTest. */
    const char *env = getenv("OUTPUT_DIR");
    if (env && *env)
        out = env;
    return pm__vm_run(&cfg, out ? out : "./perf_results");
}
