#include "perfmatrix/vm.h"

#include "columns.h"

#include "perfmatrix/cli.h"
#include "perfmatrix/point.h"
#include "perfmatrix/proc.h"
#include "perfmatrix/sweep.h"

#include <rondo/rondo.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

#define PM__COL(field, type) PM__COLUMN(pm_vm_row, field, PM__COL_##type)

/* The VM runs' table. The first 19 are the documented columns. */
static const pm__column pm__columns[] = {
    PM__COL(ts, STR),
    PM__COL(duration_s, INT),
    PM__COL(run_idx, INT),
    PM__COL(backend, STR),
    PM__COL(vcpus, INT),
    PM__COL(wall_s, DBL),
    PM__COL(start_to_entry_us, DBL),
    PM__COL(points, DBL),
    PM__COL(expected_points, DBL),
    PM__COL(capture_rate, DBL),
    PM__COL(exits_total, DBL),
    PM__COL(exits_per_sec, DBL),
    PM__COL(peak_rss_kb, DBL),
    PM__COL(cpu_user_s, DBL),
    PM__COL(cpu_sys_s, DBL),
    PM__COL(exit_code, INT),
    PM__COL(timeout_killed, INT),
    PM__COL(status, STR),
    PM__COL(reason, STR),
    PM__COL(nproc, INT),
    PM__COL(pinned_cpus, INT),
    PM__COL(ru_maxrss_kb, DBL),
    PM__COL(store_exits, DBL),
    PM__COL(git_sha, STR),
    PM__COL(test, STR),
    PM__COL(timeline, STR),
};

#define PM__NCOL (sizeof pm__columns / sizeof pm__columns[0])

static const pm__row_table pm__table = {"vm", pm__columns, PM__NCOL, 10};

void pm_vm_row_init(pm_vm_row *row)
{
    memset(row, 0, sizeof *row);
    pm__columns_unmeasured(&pm__table, row);
}

const char *pm_vm_csv_header(void)
{
    static char header[1024];
    if (header[0] == '\0')
        pm__columns_header(&pm__table, header, sizeof header);
    return header;
}

void pm_vm_csv_write_row(FILE *f, const pm_vm_row *row)
{
    pm__columns_write_csv(&pm__table, f, row);
}

cJSON *pm_vm_row_to_json(const pm_vm_row *row)
{
    return pm__columns_to_json(&pm__table, row);
}

bool pm_vm_row_from_json(const cJSON *obj, pm_vm_row *row, char *err, size_t errlen)
{
    pm_vm_row_init(row);
    return pm__columns_from_json(&pm__table, obj, row, err, errlen);
}

bool pm_vm_rows_push(pm_vm_rows *rows, const pm_vm_row *row)
{
    rows->v = pm__rows_append(rows->v, &rows->n, &rows->cap, sizeof *rows->v, row);
    return true;
}

void pm_vm_rows_free(pm_vm_rows *rows)
{
    free(rows->v);
    rows->v = NULL;
    rows->n = rows->cap = 0;
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
    const char *start = pm_stdout_object(out);
    if (!start) {
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
    double v = pm_result_number(obj, "vcpus");
    if (!isnan(v))
        row->vcpus = (int)v;
    row->wall_s = pm_result_number(obj, "wall_s");
    row->start_to_entry_us = pm_result_number(obj, "start_to_entry_us");
    row->expected_points = pm_result_number(obj, "expected_points");
    row->exits_total = pm_result_number(obj, "exits_total");
    row->peak_rss_kb = pm_result_number(obj, "peak_rss_kb");
    row->cpu_user_s = pm_result_number(obj, "cpu_user_s");
    row->cpu_sys_s = pm_result_number(obj, "cpu_sys_s");
    if (!isnan(row->exits_total) && row->wall_s > 0)
        row->exits_per_sec = row->exits_total / row->wall_s;
    pm__str(obj, "git_sha", row->git_sha, sizeof row->git_sha);
    if (crash)
        pm__str(obj, "crash", crash, crashlen);
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(obj, "points");
    *summary_uptime_points = pm_result_number(points, "vmm_uptime_seconds");
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
static bool pm__run_logged(char **argv, const pm_vm_config *cfg, int pin, const char *log_path,
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
static void pm__classify(pm_vm_row *row, const pm_vm_config *cfg, const char *log, bool parsed,
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

int pm_vm_run(const pm_vm_config *cfg, const char *out_dir)
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
    bool written = pm_write_json_file(result, obj, err, sizeof err);
    cJSON_Delete(obj);
    if (!written) {
        fprintf(stderr, "perfmatrix vm: %s\n", err);
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
