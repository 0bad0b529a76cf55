#include "perfmatrix/point.h"

#include "perfmatrix/proc.h"
#include "perfmatrix/sweep.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pm_print_measurement(const char *name, double value)
{
    if (!isfinite(value))
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

/* Reads a numeric field: false (with err) when it is present but not a
 * finite number >= 0, or absent while required. An absent optional field
 * (or a JSON null) leaves *out NaN. */
static bool pm__num(const cJSON *obj, const char *key, bool required, double *out, char *err,
                    size_t errlen)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NAN;
    if (!item || cJSON_IsNull(item)) {
        if (required)
            snprintf(err, errlen, "the result has no numeric '%s'", key);
        return !required;
    }
    if (!cJSON_IsNumber(item)) {
        snprintf(err, errlen, "the result's '%s' is not a number", key);
        return false;
    }
    /* cJSON turns 1e999 into infinity; a figure must be a real measurement. */
    if (!isfinite(item->valuedouble) || item->valuedouble < 0) {
        snprintf(err, errlen, "the result's '%s' is %g, not a finite number >= 0", key,
                 item->valuedouble);
        return false;
    }
    *out = item->valuedouble;
    return true;
}

/* A count read as a double: a whole number that a long holds exactly. */
static bool pm__count(const cJSON *obj, const char *key, long *out, char *err, size_t errlen)
{
    double v;
    if (!pm__num(obj, key, true, &v, err, errlen))
        return false;
    if (v != floor(v) || v > 9.0e15) {
        snprintf(err, errlen, "the result's '%s' is %g, not a whole count", key, v);
        return false;
    }
    *out = (long)v;
    return true;
}

/* Copies text into a fixed field, marking a cut with "..." rather than
 * losing the end silently. */
static void pm__copy_text(char *dst, size_t size, const char *text)
{
    if (snprintf(dst, size, "%s", text) >= (int)size && size > 4)
        memcpy(dst + size - 4, "...", 4);
}

bool pm_point_parse_output(const char *out, pm_row *row, char *err, size_t errlen)
{
    /* The program may log a line before its result; the object starts at
     * the first brace of a line. */
    const char *start = pm_stdout_object(out);
    if (!start) {
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
    struct {
        const char *key;
        double *dest;
        bool required;
    } figs[] = {
        {"qps", &row->qps, true},
        {"p50_us", &row->p50_us, true},
        {"p90_us", &row->p90_us, true},
        {"p99_us", &row->p99_us, true},
        {"max_us", &row->max_us, true},
        {"mean_us", &row->mean_us, true},
        {"p999_us", &row->p999_us, false},
        {"duration_sec", &row->measured_sec, false},
        {"achieved_rate", &row->achieved_rate, false},
        {"in_flight_at_end", &row->in_flight_at_end, false},
        {"oldest_in_flight_us", &row->oldest_in_flight_us, false},
    };
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof figs / sizeof figs[0]; i++)
        ok = pm__num(obj, figs[i].key, figs[i].required, figs[i].dest, err, errlen);
    ok = ok && pm__count(obj, "requests", &row->requests, err, errlen) &&
         pm__count(obj, "errors", &row->errors, err, errlen);
    if (ok && row->errors > row->requests) {
        /* rankd counts the failed requests among the completed ones. */
        snprintf(err, errlen, "the result says %ld errors among %ld requests", row->errors,
                 row->requests);
        ok = false;
    }
    /* The program's own account of its mode and target wins over what it
     * was asked for only when it gives one. */
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(obj, "mode");
    if (ok && cJSON_IsString(mode)) {
        if (strcmp(mode->valuestring, "open") != 0 && strcmp(mode->valuestring, "closed") != 0) {
            snprintf(err, errlen, "the result's 'mode' is '%.20s', neither open nor closed",
                     mode->valuestring);
            ok = false;
        } else {
            snprintf(row->mode, sizeof row->mode, "%s", mode->valuestring);
        }
    }
    double v = NAN;
    if (ok && (ok = pm__num(obj, "rate_target", false, &v, err, errlen)) && v > 0)
        row->rate_target = v;
    /* What the program says it used wins over what it was asked for. */
    if (ok && (ok = pm__num(obj, "cpu_threads", false, &v, err, errlen)) && !isnan(v))
        row->cpu_threads = v < INT_MAX ? (int)v : INT_MAX;
    if (ok && (ok = pm__num(obj, "io_threads", false, &v, err, errlen)) && !isnan(v))
        row->io_threads = v < INT_MAX ? (int)v : INT_MAX;
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(obj, "git_sha");
    if (ok && cJSON_IsString(sha))
        pm__copy_text(row->git_sha, sizeof row->git_sha, sha->valuestring);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
    if (ok && cJSON_IsString(status) && strcmp(status->valuestring, "ok") != 0) {
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(obj, "invalid_reason");
        char text[sizeof row->reason];
        snprintf(text, sizeof text, "the program says its result is %s: %s", status->valuestring,
                 cJSON_IsString(why) ? why->valuestring : "no reason given");
        snprintf(row->status, sizeof row->status, "invalid");
        pm__copy_text(row->reason, sizeof row->reason, text);
    }
    cJSON_Delete(obj);
    return ok;
}

bool pm_point_check(pm_row *row, char *why, size_t whylen)
{
    bool open = strcmp(row->mode, "open") == 0 || (row->mode[0] == '\0' && row->rate_target > 0);
    if (row->requests == 0 || !(row->qps > 0)) {
        snprintf(why, whylen, "no request completed in the measured window");
        return false;
    }
    if (open) {
        if (!(row->rate_target > 0)) {
            snprintf(why, whylen, "open loop without a target rate");
            return false;
        }
        double achieved = isnan(row->achieved_rate) ? row->qps : row->achieved_rate;
        double off = achieved / row->rate_target - 1.0;
        if (fabs(off) > PM_CHECK_RATE_TOLERANCE) {
            snprintf(why, whylen,
                     "open loop %s: achieved %.6g req/s of the %.6g target (%+.1f%%, limit "
                     "+-%.0f%%)",
                     off < 0 ? "could not keep up" : "ran above its target", achieved,
                     row->rate_target, off * 100, PM_CHECK_RATE_TOLERANCE * 100);
            return false;
        }
    } else {
        /* Little's law: in a closed loop exactly C requests are in flight,
         * so QPS x mean latency must come back to C. Less means requests
         * waited without being timed (or never ran). */
        row->little_in_flight = row->qps * row->mean_us / 1e6;
        double off = row->little_in_flight / row->concurrency - 1.0;
        if (fabs(off) > PM_CHECK_LITTLE_TOLERANCE) {
            snprintf(why, whylen,
                     "Little's law: QPS x mean latency = %.3g requests in flight at concurrency "
                     "%d (%+.0f%%, limit +-%.0f%%)",
                     row->little_in_flight, row->concurrency, off * 100,
                     PM_CHECK_LITTLE_TOLERANCE * 100);
            return false;
        }
    }
    if (row->in_flight_at_end > 0 &&
        row->oldest_in_flight_us > PM_CHECK_CENSORED_FACTOR * row->max_us) {
        snprintf(why, whylen,
                 "a request still in flight at the end had waited %.0f us, more than %.0fx the "
                 "slowest completed one (%.0f us): the tail is censored",
                 row->oldest_in_flight_us, PM_CHECK_CENSORED_FACTOR, row->max_us);
        return false;
    }
    return true;
}

bool pm_point_run(const pm_point_config *cfg, pm_row *row, pm_point_status *status, char *err,
                  size_t errlen)
{
    int nproc = pm_nproc();
    int pin = cfg->vcpus < nproc ? cfg->vcpus : nproc;
    char knobs[8][40];
    snprintf(knobs[0], sizeof knobs[0], "%g", cfg->duration_sec);
    snprintf(knobs[1], sizeof knobs[1], "%d", cfg->warmup_iters);
    snprintf(knobs[2], sizeof knobs[2], "%d", cfg->concurrency);
    snprintf(knobs[3], sizeof knobs[3], "%d", cfg->async);
    snprintf(knobs[4], sizeof knobs[4], "%d", cfg->vcpus);
    snprintf(knobs[5], sizeof knobs[5], "%d", cfg->io_threads);
    snprintf(knobs[6], sizeof knobs[6], "%.17g", cfg->rate);
    const char *extra[] = {"--plan_name",    cfg->plan, "--duration_sec", knobs[0],
                           "--warmup_iters", knobs[1],  "--concurrency",  knobs[2],
                           "--async",        knobs[3],  "--cpu_threads",  knobs[4],
                           "--io_threads",   knobs[5],  "--json"};
    size_t nextra = sizeof extra / sizeof extra[0];
    char **argv = calloc(cfg->command_len + nextra + 5, sizeof *argv);
    if (!argv) {
        snprintf(err, errlen, "out of memory for the command line");
        return false;
    }
    size_t argc = 0;
    for (size_t i = 0; i < cfg->command_len; i++)
        argv[argc++] = cfg->command[i];
    for (size_t i = 0; i < nextra; i++)
        argv[argc++] = (char *)extra[i];
    if (cfg->rate > 0) {
        argv[argc++] = "--rate";
        argv[argc++] = knobs[6];
    }
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
    snprintf(row->mode, sizeof row->mode, "%s", cfg->rate > 0 ? "open" : "closed");
    if (cfg->rate > 0)
        row->rate_target = cfg->rate;

    pm_child child;
    bool started = pm_run_child(argv, cfg->timeout_sec, pin, cfg->echo, &child, err, errlen);
    free(argv);
    if (!started)
        return false;
    if (child.leftovers > 0)
        fprintf(stderr, "perfmatrix point: %s: ended %d process(es) the program left running\n",
                row->test, child.leftovers);
    row->exit_code = child.exit_code;
    row->timeout_killed = child.timed_out;
    row->ru_maxrss = child.maxrss_kb;

    char why[sizeof row->reason] = "";
    bool parsed = child.out_len > 0 && pm_point_parse_output(child.out, row, why, sizeof why);
    pm_child_free(&child);
    /* The driver checks every parsed point itself, whatever the program
     * says; both verdicts are kept when both fail. */
    char check[sizeof row->reason] = "";
    bool checked = parsed && pm_point_check(row, check, sizeof check);
    bool program_invalid = parsed && strcmp(row->status, "invalid") == 0;
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
        /* rankd's requests include the failed ones (issue 8). */
        snprintf(row->reason, sizeof row->reason, "%ld of %ld requests failed (exit 3)",
                 row->errors, row->requests);
    } else if (row->exit_code != 0) {
        *status = PM_POINT_FAILED;
        snprintf(row->status, sizeof row->status, "failed");
        snprintf(row->reason, sizeof row->reason, "exit code %d", row->exit_code);
    } else if (!parsed) {
        *status = PM_POINT_FAILED;
        snprintf(row->status, sizeof row->status, "failed");
        pm__copy_text(row->reason, sizeof row->reason, why[0] ? why : "no output");
    } else if (program_invalid || !checked) {
        /* Measured, but not to be believed: recorded with the reason, kept
         * out of every median, and the point's test fails. */
        *status = PM_POINT_FAILED;
        char text[2 * sizeof row->reason];
        snprintf(text, sizeof text, "%s%s%s", program_invalid ? row->reason : "",
                 program_invalid && !checked ? "; " : "", checked ? "" : check);
        snprintf(row->status, sizeof row->status, "invalid");
        pm__copy_text(row->reason, sizeof row->reason, text);
    } else {
        *status = PM_POINT_OK;
        snprintf(row->status, sizeof row->status, "ok");
    }
    return true;
}
