#include "perfmatrix/cli.h"

#include "perfmatrix/compare.h"
#include "perfmatrix/point.h"
#include "perfmatrix/proc.h"
#include "perfmatrix/record.h"
#include "perfmatrix/report.h"
#include "perfmatrix/scale.h"
#include "perfmatrix/service.h"
#include "perfmatrix/sweep.h"
#include "perfmatrix/vm.h"
#include "pmbase/child.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PM_GNUPLOT_DIR
#error "PM_GNUPLOT_DIR must name the directory of the gnuplot templates"
#endif

/* Seconds kept between the driver's own deadline and CTest's TIMEOUT, so the
 * driver always records a hung run before CTest kills the driver. */
#define PM_CTEST_MARGIN_SEC 10.0

static int pm__usage(const char *cmd, const char *msg)
{
    fprintf(stderr, "perfmatrix %s: %s (see perf/README.md)\n", cmd, msg);
    return PM_EXIT_USAGE;
}

/* What pm__getopt returns after reporting a bad option. */
#define PM__OPT_ERROR (-2)

/* getopt_long for every subcommand: "+:" stops at the first word that is
 * not an option (the measured command) and tells a missing value apart from
 * an unknown option. A value that is itself an option ("--plan --", or
 * "--plan --test x") is refused: getopt would take it as the value, unless
 * the option passes words through to another program (--setup-arg). Errors
 * are one line naming the option as the user wrote it. */
static int pm__getopt(const char *cmd, int argc, char **argv, const struct option *opts)
{
    int li = -1;
    int c = getopt_long(argc, argv, "+:", opts, &li);
    if (c == -1)
        return -1;
    const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    if (c == '?') {
        fprintf(stderr, "perfmatrix %s: unknown option '%s' (see perf/README.md)\n", cmd, word);
        return PM__OPT_ERROR;
    }
    if (c == ':') {
        fprintf(stderr, "perfmatrix %s: option '%s' needs a value\n", cmd, word);
        return PM__OPT_ERROR;
    }
    /* Options named *-arg pass a word through to another program, which
     * may well be a flag of that program's own. */
    size_t nlen = li >= 0 ? strlen(opts[li].name) : 0;
    bool passthrough = nlen > 4 && strcmp(opts[li].name + nlen - 4, "-arg") == 0;
    if (optarg && li >= 0 && !passthrough && strncmp(optarg, "--", 2) == 0) {
        fprintf(stderr, "perfmatrix %s: option '--%s' needs a value, got '%s'\n", cmd,
                opts[li].name, optarg);
        return PM__OPT_ERROR;
    }
    return c;
}

static const char *pm__opt_name(const struct option *opts, int c)
{
    for (; opts->name; opts++)
        if (opts->val == c)
            return opts->name;
    return "?";
}

/* Parses the value of option c as an integer in [min, max]; on failure
 * prints one line naming the option, the value and the range. */
static bool pm__int_opt(const char *cmd, const struct option *opts, int c, int min, int max,
                        int *out)
{
    if (pm_parse_int(optarg, min, max, out))
        return true;
    fprintf(stderr, "perfmatrix %s: option '--%s' '%s': expected an integer in [%d, %d]\n", cmd,
            pm__opt_name(opts, c), optarg, min, max);
    return false;
}

static bool pm__double_opt(const char *cmd, const struct option *opts, int c, double min,
                           double max, double *out)
{
    if (pm_parse_double(optarg, min, max, out))
        return true;
    fprintf(stderr, "perfmatrix %s: option '--%s' '%s': expected a number in [%g, %g]\n", cmd,
            pm__opt_name(opts, c), optarg, min, max);
    return false;
}

/* A text value that must fit its field whole (a cut plan name would merge
 * points that differ). */
static bool pm__text_opt(const char *cmd, const struct option *opts, int c, size_t max_len,
                         const char **out)
{
    size_t len = strlen(optarg);
    if (len > 0 && len <= max_len) {
        *out = optarg;
        return true;
    }
    fprintf(stderr, "perfmatrix %s: option '--%s': %zu characters, expected 1 to %zu\n", cmd,
            pm__opt_name(opts, c), len, max_len);
    return false;
}

static const char *pm__output_dir(const char *option)
{
    const char *env = getenv("OUTPUT_DIR");
    if (env && *env)
        return env;
    return option ? option : "./perf_results";
}

/* Finds a program as execvp would; returns false when it is not there. */
static bool pm__write_json(const char *path, cJSON *obj, char *err, size_t errlen)
{
    char *text = cJSON_Print(obj);
    if (!text) {
        snprintf(err, errlen, "%s: cannot serialize", path);
        return false;
    }
    size_t len = strlen(text);
    char *line = malloc(len + 2);
    bool ok = line != NULL;
    if (ok) {
        memcpy(line, text, len);
        memcpy(line + len, "\n", 2);
        ok = pm_write_file_atomic(path, line, err, errlen);
    } else {
        snprintf(err, errlen, "%s: out of memory", path);
    }
    free(line);
    cJSON_free(text);
    return ok;
}

/* A file name for a result from a test name: dots kept, anything else that
 * is not [A-Za-z0-9_-] replaced. */
static void pm__file_name(const char *name, char *out, size_t len)
{
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++) {
        char c = name[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '_' || c == '-';
        out[i] = plain ? c : '_';
    }
    out[i] = '\0';
}

static int pm__cmd_setup(int argc, char **argv)
{
    static const struct option opts[] = {{"output-dir", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    while ((c = pm__getopt("setup", argc, argv, opts)) != -1) {
        if (c != 'o')
            return PM_EXIT_USAGE;
        out = optarg;
    }
    if (optind != argc)
        return pm__usage("setup", "unexpected argument");
    out = pm__output_dir(out);
    char name[256], err[PM_ERR_LEN];
    if (!pm_sweep_begin(out, name, sizeof name, err, sizeof err)) {
        fprintf(stderr, "perfmatrix setup: %s\n", err);
        return PM_EXIT_FAILED;
    }
    printf("perfmatrix setup: sweep %s/%s\n", out, name);
    return PM_EXIT_OK;
}

static int pm__cmd_point(int argc, char **argv)
{
    static const struct option opts[] = {{"plan", required_argument, NULL, 'p'},
                                         {"async", required_argument, NULL, 'a'},
                                         {"concurrency", required_argument, NULL, 'c'},
                                         {"run", required_argument, NULL, 'r'},
                                         {"io-threads", required_argument, NULL, 'i'},
                                         {"duration-sec", required_argument, NULL, 'd'},
                                         {"warmup-iters", required_argument, NULL, 'w'},
                                         {"timeout-sec", required_argument, NULL, 't'},
                                         {"vcpus", required_argument, NULL, 'v'},
                                         {"output-dir", required_argument, NULL, 'o'},
                                         {"test", required_argument, NULL, 'n'},
                                         {"ctest-timeout", required_argument, NULL, 'T'},
                                         {"redis-file", required_argument, NULL, 'R'},
                                         {"rate", required_argument, NULL, 'L'},
                                         {NULL, 0, NULL, 0}};
    pm_point_config cfg = {.async = 1,
                           .concurrency = 1,
                           .run_idx = 1,
                           .io_threads = 1,
                           .warmup_iters = 100,
                           .duration_sec = 10,
                           .timeout_sec = 60,
                           .echo = true};
    const char *out = NULL, *redis_file = NULL;
    double ctest_timeout = 0;
    int vcpus = 0, c;
    bool ok = true;
    while (ok && (c = pm__getopt("point", argc, argv, opts)) != -1) {
        switch (c) {
        case 'p':
            ok = pm__text_opt("point", opts, c, sizeof(((pm_row *)0)->plan) - 1, &cfg.plan);
            break;
        case 'a':
            ok = pm__int_opt("point", opts, c, 0, 1, &cfg.async);
            break;
        case 'c':
            ok = pm__int_opt("point", opts, c, 1, 1 << 20, &cfg.concurrency);
            break;
        case 'r':
            ok = pm__int_opt("point", opts, c, 1, 1 << 20, &cfg.run_idx);
            break;
        case 'i':
            ok = pm__int_opt("point", opts, c, 0, 4096, &cfg.io_threads);
            break;
        case 'd':
            ok = pm__double_opt("point", opts, c, 0.001, 86400, &cfg.duration_sec);
            break;
        case 'w':
            ok = pm__int_opt("point", opts, c, 0, 1 << 30, &cfg.warmup_iters);
            break;
        case 't':
            ok = pm__double_opt("point", opts, c, 0.001, 86400, &cfg.timeout_sec);
            break;
        case 'v':
            ok = pm__int_opt("point", opts, c, 1, 4096, &vcpus);
            break;
        case 'o':
            out = optarg;
            break;
        case 'n':
            ok = pm__text_opt("point", opts, c, sizeof(((pm_row *)0)->test) - 1, &cfg.test_name);
            break;
        case 'T':
            ok = pm__double_opt("point", opts, c, 0, 86400, &ctest_timeout);
            break;
        case 'R':
            redis_file = optarg;
            break;
        case 'L':
            ok = pm__double_opt("point", opts, c, 0.001, 1e9, &cfg.rate);
            break;
        default:
            return PM_EXIT_USAGE;
        }
    }
    if (!ok)
        return PM_EXIT_USAGE;
    if (!cfg.plan || optind >= argc)
        return pm__usage("point", "--plan and a command after -- are required");
    cfg.command = argv + optind;
    cfg.command_len = (size_t)(argc - optind);

    char err[PM_ERR_LEN];
    if (!pm_env_double("DURATION_SEC", cfg.duration_sec, 0.001, 86400, &cfg.duration_sec, err,
                       sizeof err) ||
        !pm_env_int("WARMUP_ITERS", cfg.warmup_iters, 0, 1 << 30, &cfg.warmup_iters, err,
                    sizeof err) ||
        !pm_env_double("TIMEOUT_SEC", cfg.timeout_sec, 0.001, 86400, &cfg.timeout_sec, err,
                       sizeof err) ||
        !pm_env_int("VCPUS", vcpus > 0 ? vcpus : pm_nproc(), 1, 4096, &cfg.vcpus, err,
                    sizeof err)) {
        fprintf(stderr, "perfmatrix point: %s\n", err);
        return PM_EXIT_USAGE;
    }
    if (ctest_timeout > 0 && cfg.timeout_sec > ctest_timeout - PM_CTEST_MARGIN_SEC) {
        double clamped = fmax(1.0, ctest_timeout - PM_CTEST_MARGIN_SEC);
        fprintf(stderr,
                "perfmatrix point: timeout %gs would outlive CTest's TIMEOUT %gs; using %gs "
                "(reconfigure with a larger PERF_TIMEOUT_SEC)\n",
                cfg.timeout_sec, ctest_timeout, clamped);
        cfg.timeout_sec = clamped;
    }
    out = pm__output_dir(out);
    char sweep[256], dir[PM_PATH_LEN];
    if (!pm_sweep_current(out, true, sweep, sizeof sweep, err, sizeof err)) {
        fprintf(stderr, "perfmatrix point: %s\n", err);
        return PM_EXIT_FAILED;
    }
    if (snprintf(dir, sizeof dir, "%s/%s", out, sweep) >= (int)sizeof dir) {
        fprintf(stderr, "perfmatrix point: output directory '%.200s...': path too long\n", out);
        return PM_EXIT_USAGE;
    }

    char default_name[256], file[256], path[PM_PATH_LEN + 300];
    snprintf(default_name, sizeof default_name, "%s.%s.c%d.r%d", cfg.plan,
             cfg.async ? "async" : "sync", cfg.concurrency, cfg.run_idx);
    if (!cfg.test_name)
        cfg.test_name = default_name;
    pm__file_name(cfg.test_name, file, sizeof file);
    snprintf(path, sizeof path, "%s/%s.json", dir, file);

    pm_row row;
    pm_point_status status;
    char addr[256], why[PM_ERR_LEN];
    if (redis_file && !pm_service_addr(redis_file, addr, sizeof addr, why, sizeof why)) {
        /* The skip is recorded too, so the report can say why the point is
         * missing from the table. */
        pm_row_init(&row);
        pm_iso_time(row.ts, sizeof row.ts);
        snprintf(row.plan, sizeof row.plan, "%s", cfg.plan);
        snprintf(row.test, sizeof row.test, "%s", cfg.test_name);
        snprintf(row.status, sizeof row.status, "skipped");
        if (snprintf(row.reason, sizeof row.reason, "%s", why) >= (int)sizeof row.reason)
            fprintf(stderr, "perfmatrix point: reason shortened: %s\n", why);
        row.async = cfg.async;
        row.concurrency = cfg.concurrency;
        row.run_idx = cfg.run_idx;
        row.vcpus = cfg.vcpus;
        status = PM_POINT_SKIPPED;
    } else {
        cfg.redis = redis_file ? addr : NULL;
        if (!pm_point_run(&cfg, &row, &status, err, sizeof err)) {
            fprintf(stderr, "perfmatrix point: %s\n", err);
            return PM_EXIT_FAILED;
        }
    }
    cJSON *obj = pm_row_to_json(&row);
    bool written = obj && pm__write_json(path, obj, err, sizeof err);
    cJSON_Delete(obj);
    if (!written) {
        fprintf(stderr, "perfmatrix point: %s\n", obj ? err : "out of memory");
        return PM_EXIT_FAILED;
    }
    if (!isnan(row.qps))
        pm_point_print_measurements(&row);
    printf("perfmatrix point: %s: %s, qps %.6g, p99 %.6g us, rss %ld kB, vcpus %d pinned to %d "
           "of %d CPUs -> %s\n",
           cfg.test_name, row.status, row.qps, row.p99_us, row.ru_maxrss, row.vcpus,
           row.pinned_cpus, row.nproc, path);
    fflush(stdout);
    if (status == PM_POINT_SKIPPED) {
        printf("skipped: %s\n", row.reason);
        return PM_EXIT_SKIPPED;
    }
    if (status == PM_POINT_FAILED) {
        fprintf(stderr, "perfmatrix point: %s: %s\n", cfg.test_name, row.reason);
        return PM_EXIT_FAILED;
    }
    return PM_EXIT_OK;
}

static int pm__cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output-dir", required_argument, NULL, 'o'}, {"sweep", required_argument, NULL, 's'},
        {"in", required_argument, NULL, 'i'},         {"manifest", required_argument, NULL, 'm'},
        {"slo-p99-us", required_argument, NULL, 'S'}, {"gnuplot", required_argument, NULL, 'g'},
        {"templates", required_argument, NULL, 't'},  {"no-plots", no_argument, NULL, 'N'},
        {"baseline", required_argument, NULL, 'b'},   {NULL, 0, NULL, 0}};
    const char *out = NULL, *sweep = NULL, *manifest = NULL, *gnuplot = "gnuplot";
    const char *baseline = NULL;
    const char *templates = PM_GNUPLOT_DIR;
    const char *inputs[64];
    size_t ninputs = 0;
    double slo = 0;
    int c;
    const char *no_plots = NULL;
    while ((c = pm__getopt("report", argc, argv, opts)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            sweep = optarg;
            break;
        case 'i':
            if (ninputs == sizeof inputs / sizeof inputs[0]) {
                fprintf(stderr, "perfmatrix report: option '--in' '%s': at most %zu inputs\n",
                        optarg, sizeof inputs / sizeof inputs[0]);
                return PM_EXIT_USAGE;
            }
            inputs[ninputs++] = optarg;
            break;
        case 'm':
            manifest = optarg;
            break;
        case 'S':
            if (!pm__double_opt("report", opts, c, 0, 1e12, &slo))
                return PM_EXIT_USAGE;
            break;
        case 'g':
            gnuplot = optarg;
            break;
        case 't':
            templates = optarg;
            break;
        case 'N':
            gnuplot = NULL;
            no_plots = "--no-plots was given";
            break;
        case 'b':
            baseline = optarg;
            break;
        default:
            return PM_EXIT_USAGE;
        }
    }
    if (optind != argc)
        return pm__usage("report", "unexpected argument");
    char err[PM_ERR_LEN];
    if (!pm_env_double("P99_SLO_US", slo, 0, 1e12, &slo, err, sizeof err)) {
        fprintf(stderr, "perfmatrix report: %s\n", err);
        return PM_EXIT_USAGE;
    }
    out = pm__output_dir(out);
    pm_rows rows = {0};
    char base[256], name[256];
    if (ninputs > 0) {
        /* Merging sweeps (one per vCPU preset, say) makes a comparison with
         * its own name; the inputs stay untouched. */
        for (size_t i = 0; i < ninputs; i++) {
            if (!pm_csv_read(inputs[i], &rows, err, sizeof err)) {
                fprintf(stderr, "perfmatrix report: %s\n", err);
                pm_rows_free(&rows);
                return PM_EXIT_USAGE;
            }
        }
        char ts[32];
        pm_timestamp(ts, sizeof ts);
        snprintf(base, sizeof base, "merged_%s", ts);
        if (!pm_mkdirs(out, err, sizeof err)) {
            fprintf(stderr, "perfmatrix report: %s\n", err);
            return PM_EXIT_FAILED;
        }
    } else {
        if (!sweep && !pm_sweep_current(out, false, name, sizeof name, err, sizeof err)) {
            fprintf(stderr, "perfmatrix report: %s\n", err);
            return PM_EXIT_FAILED;
        }
        if (snprintf(base, sizeof base, "%s", sweep ? sweep : name) >= (int)sizeof base) {
            fprintf(stderr, "perfmatrix report: option '--sweep': name too long\n");
            return PM_EXIT_USAGE;
        }
        char dir[PM_PATH_LEN];
        if (snprintf(dir, sizeof dir, "%s/%s", out, base) >= (int)sizeof dir) {
            fprintf(stderr, "perfmatrix report: output directory '%.200s...': path too long\n",
                    out);
            return PM_EXIT_USAGE;
        }
        if (!pm_sweep_load(dir, &rows, err, sizeof err)) {
            fprintf(stderr, "perfmatrix report: %s\n", err);
            pm_rows_free(&rows);
            return PM_EXIT_FAILED;
        }
    }
    char gp[PM_PATH_LEN], missing[PM_PATH_LEN + 64];
    bool have_gnuplot = gnuplot && pmb_program_find(gnuplot, gp, sizeof gp);
    if (gnuplot && !have_gnuplot) {
        snprintf(missing, sizeof missing, "gnuplot not found as '%s'", gnuplot);
        no_plots = missing;
    }
    pm_report_options opt = {.out_dir = out,
                             .base = base,
                             .manifest = manifest,
                             .slo_p99_us = slo,
                             .gnuplot = have_gnuplot ? gp : NULL,
                             .no_plots = no_plots,
                             .templates = templates,
                             .baseline = baseline};
    bool ok = pm_report_write(&rows, &opt, err, sizeof err);
    pm_rows_free(&rows);
    if (!ok) {
        fprintf(stderr, "perfmatrix report: %s\n", err);
        return PM_EXIT_FAILED;
    }
    return PM_EXIT_OK;
}

/* Records an auxiliary result (benchmark or command timing) into the
 * current sweep when there is one; without a sweep the tags still reach
 * the dashboard. */
static void pm__record_aux(const char *out, const char *prefix, const char *name, cJSON *obj)
{
    char sweep[256], err[PM_ERR_LEN], file[256], path[PM_PATH_LEN + 600];
    if (!pm_sweep_current(out, false, sweep, sizeof sweep, err, sizeof err))
        return;
    pm__file_name(name, file, sizeof file);
    if (snprintf(path, sizeof path, "%s/%s/%s%s.json", out, sweep, prefix, file) >=
        (int)sizeof path) {
        fprintf(stderr, "perfmatrix: %s: path too long, result not recorded\n", out);
        return;
    }
    if (!pm__write_json(path, obj, err, sizeof err))
        fprintf(stderr, "perfmatrix: %s\n", err);
}

static int pm__cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"timeout-sec", required_argument, NULL, 't'},
                                         {"output-dir", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *out = NULL;
    double timeout = 120;
    int c;
    while ((c = pm__getopt("bench", argc, argv, opts)) != -1) {
        if (c == 'n')
            name = optarg;
        else if (c == 't' && pm__double_opt("bench", opts, c, 0.001, 86400, &timeout))
            continue;
        else if (c == 'o')
            out = optarg;
        else
            return PM_EXIT_USAGE;
    }
    if (!name || optind >= argc)
        return pm__usage("bench", "--name and a command after -- are required");
    char err[PM_ERR_LEN];
    pm_child child;
    if (!pm_run_child(argv + optind, timeout, 0, true, &child, err, sizeof err)) {
        fprintf(stderr, "perfmatrix bench: %s\n", err);
        return PM_EXIT_FAILED;
    }
    int rc = child.exit_code;
    bool timed_out = child.timed_out;
    const char *start = child.out ? strchr(child.out, '{') : NULL;
    cJSON *obj = start ? cJSON_Parse(start) : NULL;
    pm_child_free(&child);
    if (rc == 77 && !timed_out) {
        printf("skipped: %s reported a missing prerequisite\n", argv[optind]);
        cJSON_Delete(obj);
        return PM_EXIT_SKIPPED;
    }
    if (cJSON_IsObject(obj)) {
        for (const cJSON *it = obj->child; it; it = it->next)
            if (cJSON_IsNumber(it))
                pm_print_measurement(it->string, it->valuedouble);
        cJSON_AddStringToObject(obj, "kind", "bench");
        cJSON_AddStringToObject(obj, "bench", name);
        cJSON_AddNumberToObject(obj, "exit_code", rc);
        cJSON_AddNumberToObject(obj, "timeout_killed", timed_out);
        pm__record_aux(pm__output_dir(out), "bench_", name, obj);
    }
    bool is_obj = cJSON_IsObject(obj);
    cJSON_Delete(obj);
    if (timed_out) {
        fprintf(stderr, "perfmatrix bench: %s: killed after %gs (timeout_killed=1)\n", name,
                timeout);
        return PM_EXIT_FAILED;
    }
    if (rc != 0 || !is_obj) {
        fprintf(stderr, "perfmatrix bench: %s: %s\n", name,
                rc ? "the benchmark exited non-zero" : "no JSON object on stdout");
        return PM_EXIT_FAILED;
    }
    return PM_EXIT_OK;
}

/* Writes one word quoted for hyperfine's shell-free command splitting; the
 * whole word, however long. */
static void pm__quote(FILE *f, const char *word)
{
    fputc('\'', f);
    for (const char *p = word; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", f);
        else
            fputc(*p, f);
    }
    fputc('\'', f);
}

static int pm__cmd_command(int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},       {"runs", required_argument, NULL, 'r'},
        {"warmup", required_argument, NULL, 'w'},     {"timeout-sec", required_argument, NULL, 't'},
        {"output-dir", required_argument, NULL, 'o'}, {"hyperfine", required_argument, NULL, 'h'},
        {"setup-arg", required_argument, NULL, 's'},  {NULL, 0, NULL, 0}};
    const char *name = NULL, *out = NULL, *hyperfine = "hyperfine";
    char *setup[64];
    size_t nsetup = 0;
    int runs = 10, warmup = 1, c;
    double timeout = 120;
    bool ok = true;
    while (ok && (c = pm__getopt("command", argc, argv, opts)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'r':
            ok = pm__int_opt("command", opts, c, 2, 1 << 20, &runs);
            break;
        case 'w':
            ok = pm__int_opt("command", opts, c, 0, 1 << 20, &warmup);
            break;
        case 't':
            ok = pm__double_opt("command", opts, c, 0.001, 86400, &timeout);
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            hyperfine = optarg;
            break;
        case 's':
            ok = nsetup + 1 < sizeof setup / sizeof setup[0];
            if (ok)
                setup[nsetup++] = optarg;
            else
                fprintf(stderr, "perfmatrix command: option '--setup-arg' '%s': at most %zu\n",
                        optarg, sizeof setup / sizeof setup[0] - 1);
            break;
        default:
            return PM_EXIT_USAGE;
        }
    }
    if (!ok)
        return PM_EXIT_USAGE;
    if (!name || optind >= argc)
        return pm__usage("command", "--name and a command after -- are required");
    char hf[PM_PATH_LEN], err[PM_ERR_LEN];
    if (!pmb_program_find(hyperfine, hf, sizeof hf)) {
        printf("skipped: hyperfine is not installed\n");
        return PM_EXIT_SKIPPED;
    }
    double start = pm_now();
    if (nsetup > 0) {
        setup[nsetup] = NULL;
        pm_child child;
        if (!pm_run_child(setup, timeout, 0, true, &child, err, sizeof err)) {
            fprintf(stderr, "perfmatrix command: setup: %s\n", err);
            return PM_EXIT_FAILED;
        }
        int rc = child.timed_out ? -1 : child.exit_code;
        pm_child_free(&child);
        if (rc != 0) {
            fprintf(stderr, "perfmatrix command: %s: the setup command %s (exit %d)\n", name,
                    rc < 0 ? "timed out" : "failed", rc);
            return PM_EXIT_FAILED;
        }
    }
    char *cmdline = NULL;
    size_t cmdline_len = 0;
    FILE *cl = open_memstream(&cmdline, &cmdline_len);
    for (int i = optind; cl && i < argc; i++) {
        if (i > optind)
            fputc(' ', cl);
        pm__quote(cl, argv[i]);
    }
    if (!cl || fclose(cl) != 0 || !cmdline) {
        free(cmdline);
        fprintf(stderr, "perfmatrix command: out of memory for the command line\n");
        return PM_EXIT_FAILED;
    }
    char json_path[] = "/tmp/perfmatrix-hyperfine-XXXXXX";
    int fd = mkstemp(json_path);
    if (fd < 0) {
        fprintf(stderr, "perfmatrix command: mkstemp: %s\n", strerror(errno));
        free(cmdline);
        return PM_EXIT_FAILED;
    }
    close(fd);
    char runs_s[16], warm_s[16];
    snprintf(runs_s, sizeof runs_s, "%d", runs);
    snprintf(warm_s, sizeof warm_s, "%d", warmup);
    char *hargv[] = {hf,         "-N",   "--style",       "basic",   "--runs", runs_s,
                     "--warmup", warm_s, "--export-json", json_path, cmdline,  NULL};
    pm_child child;
    double left = timeout - (pm_now() - start);
    bool started = pm_run_child(hargv, left > 1 ? left : 1, 0, true, &child, err, sizeof err);
    free(cmdline);
    if (!started) {
        fprintf(stderr, "perfmatrix command: %s\n", err);
        unlink(json_path);
        return PM_EXIT_FAILED;
    }
    int rc = child.exit_code;
    bool timed_out = child.timed_out;
    pm_child_free(&child);
    char *text = pm_read_file(json_path, err, sizeof err);
    unlink(json_path);
    cJSON *obj = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *result = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(obj, "results"), 0);
    if (timed_out || rc != 0 || !cJSON_IsObject(result)) {
        fprintf(stderr, "perfmatrix command: %s: %s\n", name,
                timed_out ? "killed after the timeout (timeout_killed=1)"
                          : "hyperfine failed or wrote no result");
        cJSON_Delete(obj);
        return PM_EXIT_FAILED;
    }
    static const char *fields[] = {"mean", "stddev", "median", "min", "max", "user", "system"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, fields[i]);
        char mname[32];
        snprintf(mname, sizeof mname, "%s_s", fields[i]);
        if (cJSON_IsNumber(v))
            pm_print_measurement(mname, v->valuedouble);
    }
    cJSON_AddStringToObject(result, "kind", "command");
    cJSON_AddStringToObject(result, "name", name);
    pm__record_aux(pm__output_dir(out), "cmd_", name, result);
    cJSON_Delete(obj);
    return PM_EXIT_OK;
}

int pm_main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {
        {"setup", pm__cmd_setup},    {"point", pm__cmd_point},     {"report", pm__cmd_report},
        {"bench", pm__cmd_bench},    {"command", pm__cmd_command}, {"service", pm_cmd_service},
        {"compare", pm_cmd_compare}, {"vm", pm_vm_main},           {"scale", pm_scale_main}};
    if (argc < 2) {
        fprintf(
            stderr,
            "usage: perfmatrix setup|point|report|bench|command|service|compare|vm|scale [options] "
            "[-- command...]\n");
        return PM_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            optind = 0;
            opterr = 0;
            return cmds[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "perfmatrix: unknown subcommand '%s'\n", argv[1]);
    return PM_EXIT_USAGE;
}
