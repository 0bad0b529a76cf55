#include "perfmatrix/point.h"

#include "perfmatrix/proc.h"
#include "perfmatrix/sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pm_print_measurement(const char *name, double value)
{
    if (isnan(value))
        return;
    printf("<CTestMeasurement type=\"numeric/double\" name=\"%s\">%.6g</CTestMeasurement>\n", name,
           value);
}

void pm_point_print_measurements(const pm_row *row)
{
    pm_print_measurement("qps", row->qps);
    pm_print_measurement("p50_us", row->p50_us);
    pm_print_measurement("p99_us", row->p99_us);
    pm_print_measurement("max_us", row->max_us);
    pm_print_measurement("ru_maxrss", (double)row->ru_maxrss);
    fflush(stdout);
}

static double pm__num(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(item) ? item->valuedouble : NAN;
}

bool pm_point_parse_output(const char *out, pm_row *row, char *err, size_t errlen)
{
    /* The program may log a line before its result; the object starts at
     * the first brace of a line. */
    const char *start = out;
    while (start && *start && *start != '{') {
        start = strchr(start, '\n');
        if (start)
            start++;
    }
    if (!start || *start != '{') {
        snprintf(err, errlen, "no JSON object on stdout");
        return false;
    }
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithOpts(start, &end, false);
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "stdout is not a JSON object (near byte %ld)",
                 (long)((end ? end : start) - out));
        cJSON_Delete(obj);
        return false;
    }
    row->qps = pm__num(obj, "qps");
    row->p50_us = pm__num(obj, "p50_us");
    row->p90_us = pm__num(obj, "p90_us");
    row->p99_us = pm__num(obj, "p99_us");
    row->p999_us = pm__num(obj, "p999_us");
    row->max_us = pm__num(obj, "max_us");
    row->mean_us = pm__num(obj, "mean_us");
    row->measured_sec = pm__num(obj, "duration_sec");
    double v = pm__num(obj, "requests");
    row->requests = isnan(v) ? 0 : (long)v;
    v = pm__num(obj, "errors");
    row->errors = isnan(v) ? 0 : (long)v;
    /* What the program says it used wins over what it was asked for. */
    v = pm__num(obj, "cpu_threads");
    if (!isnan(v))
        row->cpu_threads = (int)v;
    v = pm__num(obj, "io_threads");
    if (!isnan(v))
        row->io_threads = (int)v;
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(obj, "git_sha");
    if (cJSON_IsString(sha))
        snprintf(row->git_sha, sizeof row->git_sha, "%s", sha->valuestring);
    cJSON_Delete(obj);
    if (isnan(row->qps)) {
        snprintf(err, errlen, "the JSON object has no numeric 'qps'");
        return false;
    }
    return true;
}

bool pm_point_run(const pm_point_config *cfg, pm_row *row, pm_point_status *status, char *err,
                  size_t errlen)
{
    int nproc = pm_nproc();
    int pin = cfg->vcpus < nproc ? cfg->vcpus : nproc;
    char knobs[8][32];
    snprintf(knobs[0], sizeof knobs[0], "%g", cfg->duration_sec);
    snprintf(knobs[1], sizeof knobs[1], "%d", cfg->warmup_iters);
    snprintf(knobs[2], sizeof knobs[2], "%d", cfg->concurrency);
    snprintf(knobs[3], sizeof knobs[3], "%d", cfg->async);
    snprintf(knobs[4], sizeof knobs[4], "%d", cfg->vcpus);
    snprintf(knobs[5], sizeof knobs[5], "%d", cfg->io_threads);
    const char *extra[] = {"--plan_name",    cfg->plan, "--duration_sec", knobs[0],
                           "--warmup_iters", knobs[1],  "--concurrency",  knobs[2],
                           "--async",        knobs[3],  "--cpu_threads",  knobs[4],
                           "--io_threads",   knobs[5],  "--json"};
    size_t nextra = sizeof extra / sizeof extra[0];
    char **argv = calloc(cfg->command_len + nextra + 3, sizeof *argv);
    if (!argv) {
        snprintf(err, errlen, "out of memory for the command line");
        return false;
    }
    size_t argc = 0;
    for (size_t i = 0; i < cfg->command_len; i++)
        argv[argc++] = cfg->command[i];
    for (size_t i = 0; i < nextra; i++)
        argv[argc++] = (char *)extra[i];
    if (cfg->redis) {
        argv[argc++] = "--redis";
        argv[argc++] = (char *)cfg->redis;
    }

    pm_row_init(row);
    pm_iso_time(row->ts, sizeof row->ts);
    snprintf(row->plan, sizeof row->plan, "%s", cfg->plan);
    snprintf(row->test, sizeof row->test, "%s", cfg->test_name ? cfg->test_name : "");
    row->vcpus = cfg->vcpus;
    row->cpu_threads = cfg->vcpus;
    row->io_threads = cfg->io_threads;
    row->async = cfg->async;
    row->concurrency = cfg->concurrency;
    row->duration_sec = cfg->duration_sec;
    row->run_idx = cfg->run_idx;
    row->warmup_iters = cfg->warmup_iters;
    row->nproc = nproc;
    row->pinned_cpus = pin;

    pm_child child;
    bool started = pm_run_child(argv, cfg->timeout_sec, pin, cfg->echo, &child, err, errlen);
    free(argv);
    if (!started)
        return false;
    row->exit_code = child.exit_code;
    row->timeout_killed = child.timed_out;
    row->ru_maxrss = child.maxrss_kb;

    char why[200] = "";
    bool parsed = child.out_len > 0 && pm_point_parse_output(child.out, row, why, sizeof why);
    pm_child_free(&child);
    if (row->timeout_killed) {
        *status = PM_POINT_FAILED;
        snprintf(row->status, sizeof row->status, "timeout");
        snprintf(row->reason, sizeof row->reason,
                 "killed after the %gs per-run timeout (timeout_killed=1)", cfg->timeout_sec);
    } else if (row->exit_code == 77) {
        *status = PM_POINT_SKIPPED;
        snprintf(row->status, sizeof row->status, "skipped");
        snprintf(row->reason, sizeof row->reason,
                 "the program reported a missing prerequisite (exit 77)");
    } else if (row->exit_code == 3 && parsed) {
        *status = PM_POINT_FAILED;
        snprintf(row->status, sizeof row->status, "errors");
        snprintf(row->reason, sizeof row->reason, "%ld of %ld requests failed (exit 3)",
                 row->errors, row->requests + row->errors);
    } else if (row->exit_code != 0) {
        *status = PM_POINT_FAILED;
        snprintf(row->status, sizeof row->status, "failed");
        snprintf(row->reason, sizeof row->reason, "exit code %d", row->exit_code);
    } else if (!parsed) {
        *status = PM_POINT_FAILED;
        snprintf(row->status, sizeof row->status, "failed");
        snprintf(row->reason, sizeof row->reason, "%s", why[0] ? why : "no output");
    } else {
        *status = PM_POINT_OK;
        snprintf(row->status, sizeof row->status, "ok");
    }
    return true;
}
