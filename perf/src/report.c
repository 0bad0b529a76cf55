#include "perfmatrix/report.h"

#include "perfmatrix/html.h"
#include "perfmatrix/sweep.h"
#include "perfmatrix/vm.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int pm__cmp_rows(const void *a, const void *b)
{
    const pm_row *x = a, *y = b;
    int c = strcmp(x->plan, y->plan);
    if (c)
        return c;
    if (x->vcpus != y->vcpus)
        return x->vcpus - y->vcpus;
    if (x->async != y->async)
        return y->async - x->async;
    if (x->concurrency != y->concurrency)
        return x->concurrency - y->concurrency;
    return x->run_idx - y->run_idx;
}

static bool pm__same_series(const pm_row *a, const pm_series *s)
{
    return strcmp(a->plan, s->plan) == 0 && a->vcpus == s->vcpus && a->async == s->async;
}

size_t pm_series_build(const pm_rows *rows, pm_series **out)
{
    *out = NULL;
    pm_row *sorted = malloc((rows->n ? rows->n : 1) * sizeof *sorted);
    pm_series *series = calloc(rows->n ? rows->n : 1, sizeof *series);
    double *tmp = malloc((rows->n ? rows->n : 1) * sizeof *tmp);
    if (!sorted || !series || !tmp) {
        free(sorted);
        free(series);
        free(tmp);
        return 0;
    }
    size_t m = 0;
    for (size_t i = 0; i < rows->n; i++)
        if (strcmp(rows->v[i].status, "ok") == 0 && !isnan(rows->v[i].qps))
            sorted[m++] = rows->v[i];
    qsort(sorted, m, sizeof *sorted, pm__cmp_rows);

    size_t ns = 0;
    for (size_t i = 0; i < m;) {
        pm_series *s = NULL;
        if (ns == 0 || !pm__same_series(&sorted[i], &series[ns - 1])) {
            s = &series[ns++];
            snprintf(s->plan, sizeof s->plan, "%s", sorted[i].plan);
            s->vcpus = sorted[i].vcpus;
            s->async = sorted[i].async;
            s->cpu_threads = sorted[i].cpu_threads;
            s->io_threads = sorted[i].io_threads;
        } else {
            s = &series[ns - 1];
        }
        size_t j = i;
        while (j < m && pm__same_series(&sorted[j], s) &&
               sorted[j].concurrency == sorted[i].concurrency)
            j++;
        if (s->n < PM_MAX_LEVELS) {
            size_t k = s->n++, runs = j - i;
            s->concurrency[k] = sorted[i].concurrency;
            s->runs[k] = (int)runs;
            /* Medians, not means: one disturbed run on a shared host must not
             * move the curve. */
#define PM__MEDIAN(field, dest)                                                                    \
    do {                                                                                           \
        for (size_t r = 0; r < runs; r++)                                                          \
            tmp[r] = sorted[i + r].field;                                                          \
        s->dest[k] = pm_median(tmp, runs);                                                         \
    } while (0)
            PM__MEDIAN(qps, qps);
            PM__MEDIAN(p50_us, p50_us);
            PM__MEDIAN(p90_us, p90_us);
            PM__MEDIAN(p99_us, p99_us);
            PM__MEDIAN(max_us, max_us);
#undef PM__MEDIAN
        }
        i = j;
    }
    for (size_t k = 0; k < ns; k++) {
        pm_series *s = &series[k];
        s->has_knee = pm_knee(s->concurrency, s->qps, s->n, &s->knee);
        pm_assess(s->concurrency, s->qps, s->p99_us, s->n, s->has_knee ? s->knee : s->n,
                  s->assessment);
    }
    free(sorted);
    free(tmp);
    if (ns == 0) {
        free(series);
        return 0;
    }
    *out = series;
    return ns;
}

/* Formats an integer figure with thousands separators, as the seed does. */
static const char *pm__thousands(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t nd = strlen(digits), o = 0;
    if (v < 0 && o + 1 < len)
        buf[o++] = '-';
    for (size_t i = 0; i < nd && o + 2 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *pm__mode(int async)
{
    return async ? "async" : "sync";
}

void pm_knee_analysis_write(FILE *f, const pm_series *s, double slo_p99_us)
{
    char a[32], b[32];
    if (s->has_knee)
        fprintf(f,
                "Knee: concurrency %.0f (%s QPS, p99 %s us); Kneedle on QPS vs log2(concurrency)\n",
                s->concurrency[s->knee], pm__thousands(s->qps[s->knee], a, sizeof a),
                pm__thousands(s->p99_us[s->knee], b, sizeof b));
    else
        fprintf(f, "Knee: none found (the curve does not bend within the sweep)\n");

    size_t rec;
    double peak = 0;
    for (size_t i = 0; i < s->n; i++)
        peak = fmax(peak, s->qps[i]);
    if (slo_p99_us > 0)
        snprintf(b, sizeof b, "%.0f us", slo_p99_us);
    if (pm_recommend(s->qps, s->p99_us, s->n, slo_p99_us, &rec))
        fprintf(f,
                "Recommended operating point: concurrency %.0f (smallest reaching %.0f%% of peak "
                "QPS %s%s%s)\n",
                s->concurrency[rec], PM_RECOMMEND_PEAK_FRACTION * 100,
                pm__thousands(peak, a, sizeof a), slo_p99_us > 0 ? " with p99 <= " : "",
                slo_p99_us > 0 ? b : "");
    else
        fprintf(f, "Recommended operating point: none (no level reaches %.0f%% of peak QPS%s%s)\n",
                PM_RECOMMEND_PEAK_FRACTION * 100, slo_p99_us > 0 ? " with p99 <= " : "",
                slo_p99_us > 0 ? b : "");
    if (s->has_knee) {
        double lo = 0.5 * s->concurrency[s->knee], hi = 0.75 * s->concurrency[s->knee];
        fprintf(f, "Headroom rule: run at 50-75%% of the knee: concurrency %.0f-%.0f\n", lo, hi);
    }
    pm_usl usl;
    if (!pm_usl_fit(s->concurrency, s->qps, s->n, &usl))
        fprintf(f, "USL fit: not possible (fewer than three levels)\n");
    else if (usl.r2 < PM_USL_MIN_R2)
        fprintf(f, "USL fit: not shown (R^2 %.3f < %.1f, the model does not describe this curve)\n",
                usl.r2, PM_USL_MIN_R2);
    else if (usl.n_star > 0)
        fprintf(f, "USL fit: sigma %.4g, kappa %.4g, lambda %.4g QPS, N* %.1f (R^2 %.3f)\n",
                usl.sigma, usl.kappa, usl.lambda, usl.n_star, usl.r2);
    else
        fprintf(f, "USL fit: sigma %.4g, kappa 0, lambda %.4g QPS, N* unbounded (R^2 %.3f)\n",
                usl.sigma, usl.lambda, usl.r2);
}

void pm_summary_write_series(FILE *f, const pm_series *s, double slo_p99_us)
{
    int runs = 0;
    for (size_t i = 0; i < s->n; i++)
        runs = s->runs[i] > runs ? s->runs[i] : runs;
    fprintf(f, "== %s  vcpus=%d  %s  (cpu_threads=%d io_threads=%d; medians of up to %d runs) ==\n",
            s->plan, s->vcpus, pm__mode(s->async), s->cpu_threads, s->io_threads, runs);
    fprintf(f, "Concurrency |    QPS    |  p50 (us) |  p99 (us) | Assessment\n");
    fprintf(f, "------------|-----------|-----------|-----------|------------\n");
    for (size_t i = 0; i < s->n; i++) {
        char q[32], p50[32], p99[32];
        fprintf(f, "%6.0f      |%9s  |%8s   |%9s  | %s%s\n", s->concurrency[i],
                pm__thousands(s->qps[i], q, sizeof q), pm__thousands(s->p50_us[i], p50, sizeof p50),
                pm__thousands(s->p99_us[i], p99, sizeof p99), pm_assessment_name(s->assessment[i]),
                s->has_knee && i == s->knee ? " <-" : "");
    }
    pm_knee_analysis_write(f, s, slo_p99_us);
    fputc('\n', f);
}

static const pm_row *pm__find_test(const pm_rows *rows, const char *name)
{
    const pm_row *found = NULL;
    for (size_t i = 0; i < rows->n; i++)
        if (strcmp(rows->v[i].test, name) == 0)
            found = &rows->v[i];
    return found;
}

size_t pm_missing_write(FILE *f, const pm_rows *rows, const char *manifest)
{
    size_t missing = 0;
    if (manifest) {
        char err[PM_ERR_LEN];
        char *text = pm_read_file(manifest, err, sizeof err);
        if (!text) {
            fprintf(f, "  (expected points unknown: %s)\n", err);
        } else {
            char *save = NULL;
            for (char *line = strtok_r(text, "\n", &save); line;
                 line = strtok_r(NULL, "\n", &save)) {
                char *name = line;
                name[strcspn(name, "\t ")] = '\0';
                if (*name == '\0' || *name == '#')
                    continue;
                if (!pm__find_test(rows, name)) {
                    fprintf(f,
                            "  %s: no result (not run in this sweep, or killed by CTest's "
                            "TIMEOUT before it could record)\n",
                            name);
                    missing++;
                }
            }
            free(text);
        }
    }
    for (size_t i = 0; i < rows->n; i++) {
        const pm_row *r = &rows->v[i];
        if (strcmp(r->status, "ok") != 0) {
            fprintf(f, "  %s: %s: %s\n", r->test[0] ? r->test : r->plan, r->status, r->reason);
            missing++;
        }
    }
    return missing;
}

bool pm_sweep_load(const char *sweep_dir, pm_rows *rows, char *err, size_t errlen)
{
    DIR *d = opendir(sweep_dir);
    if (!d) {
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
        snprintf(path, sizeof path, "%s/%s", sweep_dir, e->d_name);
        char why[PM_ERR_LEN];
        char *text = pm_read_file(path, why, sizeof why);
        if (!text) {
            snprintf(err, errlen, "%s", why);
            ok = false;
            break;
        }
        cJSON *obj = cJSON_Parse(text);
        free(text);
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
        /* Benchmarks and command timings share the directory; only points
         * make up the matrix. A torn or foreign file is reported, not fatal:
         * the rest of the sweep still deserves its report. */
        if (!obj) {
            fprintf(stderr, "perfmatrix report: %s: not JSON, ignored\n", path);
        } else if (cJSON_IsString(kind) && strcmp(kind->valuestring, "point") == 0) {
            pm_row row;
            if (!pm_row_from_json(obj, &row, why, sizeof why))
                fprintf(stderr, "perfmatrix report: %s: %s, ignored\n", path, why);
            else if (!pm_rows_push(rows, &row)) {
                snprintf(err, errlen, "%s: out of memory", path);
                ok = false;
            }
        }
        cJSON_Delete(obj);
    }
    closedir(d);
    return ok;
}

static FILE *pm__open(const char *dir, const char *base, const char *suffix, char *path,
                      size_t pathlen, char *err, size_t errlen)
{
    snprintf(path, pathlen, "%s/%s%s", dir, base, suffix);
    FILE *f = fopen(path, "w");
    if (!f)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return f;
}

static bool pm__close(FILE *f, const char *path, char *err, size_t errlen)
{
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

static bool pm__write_tables(const pm_rows *rows, const pm_report_options *opt, char *err,
                             size_t errlen)
{
    char path[PM_PATH_LEN];
    FILE *f = pm__open(opt->out_dir, opt->base, ".csv", path, sizeof path, err, errlen);
    if (!f)
        return false;
    fprintf(f, "%s\n", pm_csv_header());
    for (size_t i = 0; i < rows->n; i++)
        pm_csv_write_row(f, &rows->v[i]);
    if (!pm__close(f, path, err, errlen))
        return false;
    printf("perfmatrix report: %s\n", path);

    f = pm__open(opt->out_dir, opt->base, ".jsonl", path, sizeof path, err, errlen);
    if (!f)
        return false;
    for (size_t i = 0; i < rows->n; i++) {
        cJSON *obj = pm_row_to_json(&rows->v[i]);
        char *line = obj ? cJSON_PrintUnformatted(obj) : NULL;
        if (line)
            fprintf(f, "%s\n", line);
        cJSON_free(line);
        cJSON_Delete(obj);
    }
    if (!pm__close(f, path, err, errlen))
        return false;
    printf("perfmatrix report: %s\n", path);
    return true;
}

/* The page comes last: it shows the plots and tables written before it. */
static bool pm__write_html(const pm_rows *rows, const pm_series *series, size_t ns,
                           const pm_report_options *opt, const char *plots, char *err,
                           size_t errlen)
{
    pm_rows baseline = {0};
    if (opt->baseline && !pm_csv_read(opt->baseline, &baseline, err, errlen))
        return false;
    pm_html_input in = {.rows = rows,
                        .series = series,
                        .nseries = ns,
                        .opt = opt,
                        .plots_dir = plots,
                        .baseline = opt->baseline ? &baseline : NULL};
    char path[PM_PATH_LEN];
    bool ok = pm_html_write(&in, path, sizeof path, err, errlen);
    if (ok)
        printf("perfmatrix report: %s\n", path);
    pm_rows_free(&baseline);
    return ok;
}

bool pm_report_write(const pm_rows *rows, const pm_report_options *opt, char *err, size_t errlen)
{
    pm_rows sorted = {0};
    for (size_t i = 0; i < rows->n; i++)
        if (!pm_rows_push(&sorted, &rows->v[i])) {
            snprintf(err, errlen, "out of memory");
            pm_rows_free(&sorted);
            return false;
        }
    if (sorted.n)
        qsort(sorted.v, sorted.n, sizeof *sorted.v, pm__cmp_rows);
    bool ok = pm__write_tables(&sorted, opt, err, errlen);

    pm_series *series = NULL;
    size_t ns = ok ? pm_series_build(&sorted, &series) : 0;
    char path[PM_PATH_LEN];
    FILE *f = ok ? pm__open(opt->out_dir, opt->base, "_summary.txt", path, sizeof path, err, errlen)
                 : NULL;
    ok = f != NULL;
    if (ok) {
        size_t good = 0;
        for (size_t i = 0; i < sorted.n; i++)
            good += strcmp(sorted.v[i].status, "ok") == 0;
        fprintf(f, "perfmatrix %s: %zu points recorded, %zu ok\n\n", opt->base, sorted.n, good);
        for (size_t i = 0; i < ns; i++)
            pm_summary_write_series(f, &series[i], opt->slo_p99_us);
        if (ns == 0)
            fprintf(f, "No successful point: nothing to summarize.\n\n");
        fprintf(f, "Missing or failed points:\n");
        size_t missing = pm_missing_write(f, &sorted, opt->manifest);
        if (missing == 0)
            fprintf(f, "  none\n");
        ok = pm__close(f, path, err, errlen);
        printf("perfmatrix report: %s (%zu series, %zu missing or failed points)\n", path, ns,
               missing);
        if (missing) {
            printf("perfmatrix report: missing or failed points:\n");
            pm_missing_write(stdout, &sorted, opt->manifest);
        }
    }

    /* Plots and the knee summary live together, one directory per sweep. */
    char plots[PM_PATH_LEN];
    const char *stamp = strncmp(opt->base, "sweep_", 6) == 0 ? opt->base + 6 : opt->base;
    snprintf(plots, sizeof plots, "%s/plots_%s", opt->out_dir, stamp);
    if (ok && ns > 0)
        ok = pm_mkdirs(plots, err, errlen);
    if (ok && ns > 0) {
        char kpath[PM_PATH_LEN + 32];
        snprintf(kpath, sizeof kpath, "%s/knee_summary.txt", plots);
        FILE *k = fopen(kpath, "w");
        if (!k) {
            snprintf(err, errlen, "%s: %s", kpath, strerror(errno));
            ok = false;
        } else {
            for (size_t i = 0; i < ns; i++) {
                fprintf(k, "== %s  vcpus=%d  %s ==\n", series[i].plan, series[i].vcpus,
                        pm__mode(series[i].async));
                pm_knee_analysis_write(k, &series[i], opt->slo_p99_us);
                fputc('\n', k);
            }
            ok = pm__close(k, kpath, err, errlen);
            printf("perfmatrix report: %s\n", kpath);
        }
    }
    if (ok && ns > 0 && !opt->gnuplot)
        printf("perfmatrix report: plots skipped: gnuplot is not installed\n");
    bool several_plans = ns > 0 && strcmp(series[0].plan, series[ns - 1].plan) != 0;
    for (size_t i = 0; ok && opt->gnuplot && i < ns;) {
        size_t j = i;
        while (j < ns && strcmp(series[j].plan, series[i].plan) == 0)
            j++;
        ok = pm_plot_plan(&series[i], j - i, plots, several_plans ? series[i].plan : NULL,
                          opt->gnuplot, opt->templates, err, errlen);
        i = j;
    }
    ok = ok && pm_vm_report_write(opt, err, errlen);
    if (ok)
        ok = pm__write_html(&sorted, series, ns, opt, ns > 0 ? plots : NULL, err, errlen);
    free(series);
    pm_rows_free(&sorted);
    return ok;
}
