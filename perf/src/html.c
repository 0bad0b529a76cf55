#include "perfmatrix/html.h"

#include "pmbase/alloc.h"
#include "pmbase/file.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Plot files larger than this are linked by name instead of inlined. */
#define PM__SVG_MAX (16u << 20)

static const char pm__style[] =
    "body{font-family:sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}"
    "h3{font-size:1.05em}"
    "table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
    "th{background:#f2f2f2}td.l,th.l{text-align:left}"
    ".wide{max-width:100%;overflow-x:auto}"
    "pre{background:#f7f7f7;padding:.6em;white-space:pre-wrap;word-break:break-word}"
    "figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}"
    ".bad{color:#a00}.good{color:#070}";

static void pm__text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A number with a fixed precision, or an en dash when there is none. */
static void pm__num(FILE *f, double v, int decimals)
{
    if (isfinite(v))
        fprintf(f, "<td>%.*f</td>", decimals, v);
    else
        fputs("<td>&ndash;</td>", f);
}

static void pm__base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(digits[(v >> 18) & 63], f);
        fputc(digits[(v >> 12) & 63], f);
        fputc(i + 1 < n ? digits[(v >> 6) & 63] : '=', f);
        fputc(i + 2 < n ? digits[v & 63] : '=', f);
    }
}

/* What a text writer of the report (the knee analysis, the scheduler
 * comparison) prints to a FILE, captured in memory for a <pre> block. */
typedef struct {
    char *text;
    size_t len;
    FILE *f;
} pm__capture;

static FILE *pm__capture_open(pm__capture *c, const char *what)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    if (c->f == NULL)
        pmb_oom(what);
    return c->f;
}

/* Closes the capture and writes what it holds as <pre>, after heading when
 * it holds anything. */
static void pm__capture_pre(FILE *f, pm__capture *c, const char *heading)
{
    fclose(c->f);
    if (c->len > 0) {
        fputs(heading, f);
        fputs("<pre>", f);
        pm__text(f, c->text);
        fputs("</pre>\n", f);
    }
    free(c->text);
}

static void pm__pre_of_knee(FILE *f, const pm_series *s, double slo)
{
    pm__capture c;
    FILE *m = pm__capture_open(&c, "the knee analysis");
    pm_knee_analysis_write(m, s, slo);
    pm_noise_warnings_write(m, s);
    pm__capture_pre(f, &c, "");
}

static int pm__cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void pm__plots(FILE *f, const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    if (d == NULL) {
        fputs("<p>No plots (gnuplot was not run).</p>\n", f);
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".svg") == 0) {
            names = pmb_reallocarray(names, n + 1, sizeof *names);
            names[n++] = pmb_strdup(e->d_name);
        }
    }
    closedir(d);
    if (n == 0) {
        fputs("<p>No plots.</p>\n", f);
        return;
    }
    qsort(names, n, sizeof *names, pm__cmp_names);
    for (size_t i = 0; i < n; i++) {
        size_t plen = strlen(dir) + strlen(names[i]) + 2;
        char *path = pmb_malloc(plen);
        snprintf(path, plen, "%s/%s", dir, names[i]);
        char *data = NULL;
        size_t len = 0;
        pmb_error err = {0};
        fputs("<figure>", f);
        if (pmb_file_read(path, PM__SVG_MAX, &data, &len, &err) == PMB_OK) {
            fputs("<img alt=\"", f);
            pm__text(f, names[i]);
            fputs("\" src=\"data:image/svg+xml;base64,", f);
            pm__base64(f, (const unsigned char *)data, len);
            fputs("\">", f);
        } else {
            fputs("<p class=\"bad\">", f);
            pm__text(f, err.msg);
            fputs("</p>", f);
        }
        fputs("<figcaption>", f);
        pm__text(f, names[i]);
        fputs("</figcaption></figure>\n", f);
        free(data);
        free(path);
        free(names[i]);
    }
    free(names);
}

/* The async/sync comparison of the summary, when both modes were measured. */
static void pm__modes(FILE *f, const pm_series *series, size_t n)
{
    pm__capture c;
    FILE *m = pm__capture_open(&c, "the scheduler comparison");
    pm_modes_compare_write(m, series, n);
    pm__capture_pre(f, &c, "<h2>Async against sync</h2>\n");
}

/* One series' table; other, the other mode of its plan and vcpus or NULL,
 * adds the async/sync column. */
static void pm__series_table(FILE *f, const pm_series *s, const pm_series *other, double slo)
{
    fprintf(f, "<h3>%s &middot; vcpus %d &middot; %s &middot; cpu_threads %d, io_threads %d</h3>\n",
            s->plan, s->vcpus, s->async ? "async" : "sync", s->cpu_threads, s->io_threads);
    fputs("<div class=\"wide\"><table><tr><th>Concurrency</th><th>QPS (req/s)</th>"
          "<th>QPS min&ndash;max (req/s)</th><th>spread</th>"
          "<th>p50 (&micro;s)</th><th>p90 (&micro;s)</th><th>p99 (&micro;s)</th>"
          "<th>max (&micro;s)</th><th>valid runs</th>",
          f);
    if (other)
        fputs("<th>async/sync</th>", f);
    fputs("<th class=\"l\">Assessment</th></tr>\n", f);
    pm_modes_walk w = {0};
    if (other)
        pm_modes_walk_start(&w, s, other);
    for (size_t i = 0; i < s->n; i++) {
        fputs("<tr>", f);
        pm__num(f, s->concurrency[i], 0);
        pm__num(f, s->qps[i], 1);
        fprintf(f, "<td>%.1f&ndash;%.1f</td>", s->qps_min[i], s->qps_max[i]);
        if (s->qps[i] > 0)
            fprintf(f, "<td>%.1f%%</td>", (s->qps_max[i] - s->qps_min[i]) / s->qps[i] * 100);
        else
            fputs("<td>&ndash;</td>", f);
        pm__num(f, s->p50_us[i], 1);
        pm__num(f, s->p90_us[i], 1);
        pm__num(f, s->p99_us[i], 1);
        pm__num(f, s->max_us[i], 1);
        fprintf(f, "<td>%d of %d</td>", s->runs[i], s->recorded[i]);
        if (other) {
            char ratio[32];
            fprintf(f, "<td>%s</td>",
                    pm_modes_ratio_cell(&w, s->concurrency[i], ratio, sizeof ratio));
        }
        fprintf(f, "<td class=\"l\">%s%s</td></tr>\n", pm_assessment_name(s->assessment[i]),
                s->has_knee && s->knee == i ? " (knee)" : "");
    }
    fputs("</table></div>\n", f);
    pm__pre_of_knee(f, s, slo);
}

/* Any CSV written by the report (VM lifecycle, scale) as a table. */
static void pm__csv_table(FILE *f, const char *title, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (pmb_file_read(path, 64u << 20, &data, &len, NULL) != PMB_OK)
        return;
    fprintf(f, "<h2>%s</h2>\n<div class=\"wide\"><table>\n", title);
    bool header = true;
    for (char *save = NULL, *line = strtok_r(data, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        fputs("<tr>", f);
        for (char *cell = line;;) {
            char *comma = strchr(cell, ',');
            if (comma)
                *comma = '\0';
            fputs(header ? "<th>" : "<td>", f);
            pm__text(f, cell);
            fputs(header ? "</th>" : "</td>", f);
            if (!comma)
                break;
            cell = comma + 1;
        }
        fputs("</tr>\n", f);
        header = false;
    }
    fputs("</table></div>\n", f);
    free(data);
}

static void pm__config(FILE *f, const pm_rows *rows)
{
    /* The distinct values of each configuration column across the sweep. */
    char shas[256] = "", vcpus[128] = "", durations[128] = "", nproc[64] = "";
    int max_run = 0;
    for (size_t i = 0; i < rows->n; i++) {
        const pm_row *r = &rows->v[i];
        char item[64];
        snprintf(item, sizeof item, "%s ", r->git_sha[0] ? r->git_sha : "unknown");
        if (!strstr(shas, item) && strlen(shas) + strlen(item) < sizeof shas)
            strcat(shas, item);
        snprintf(item, sizeof item, "%d ", r->vcpus);
        if (!strstr(vcpus, item) && strlen(vcpus) + strlen(item) < sizeof vcpus)
            strcat(vcpus, item);
        snprintf(item, sizeof item, "%g s ", r->duration_sec);
        if (!strstr(durations, item) && strlen(durations) + strlen(item) < sizeof durations)
            strcat(durations, item);
        snprintf(item, sizeof item, "%d ", r->nproc);
        if (!strstr(nproc, item) && strlen(nproc) + strlen(item) < sizeof nproc)
            strcat(nproc, item);
        if (r->run_idx > max_run)
            max_run = r->run_idx;
    }
    fputs("<table><tr><th class=\"l\">setting</th><th class=\"l\">value</th></tr>\n", f);
    const char *keys[] = {"git sha", "nproc", "vcpus", "duration per point"};
    const char *vals[] = {shas, nproc, vcpus, durations};
    for (size_t i = 0; i < 4; i++) {
        fprintf(f, "<tr><td class=\"l\">%s</td><td class=\"l\">", keys[i]);
        pm__text(f, *vals[i] ? vals[i] : "none");
        fputs("</td></tr>\n", f);
    }
    fprintf(f,
            "<tr><td class=\"l\">points</td><td class=\"l\">%zu (up to %d runs each)</td></tr>\n",
            rows->n, max_run);
    fputs("</table>\n", f);
}

static void pm__comparison(FILE *f, const pm_rows *base, const pm_rows *rows)
{
    pm_compare_options opt = {PM_COMPARE_QPS, 0.05, 0.05};
    pm_compare_row *cmp = NULL;
    size_t n = pm_compare(base, rows, &opt, &cmp);
    fputs("<h2>Against the baseline</h2>\n", f);
    if (n == 0) {
        fputs("<p>The baseline has no ok point in common with this sweep.</p>\n", f);
        free(cmp);
        return;
    }
    fputs("<p>QPS, Mann-Whitney U at alpha 0.05, 95% bootstrap interval of the change of "
          "medians, regression beyond 5% (see perf/README.md).</p>\n"
          "<div class=\"wide\"><table><tr><th class=\"l\">plan</th><th>mode</th><th>vcpus</th>"
          "<th>Concurrency</th><th>base QPS (runs)</th><th>new QPS (runs)</th>"
          "<th>change</th><th>interval</th><th>p</th><th class=\"l\">verdict</th></tr>\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const pm_compare_row *r = &cmp[i];
        fputs("<tr><td class=\"l\">", f);
        pm__text(f, r->plan);
        fprintf(f,
                "</td><td>%s</td><td>%d</td><td>%d</td><td>%.1f (%zu)</td><td>%.1f (%zu)</td>"
                "<td>%+.1f%%</td><td>[%+.1f%%, %+.1f%%]</td><td>%.4f</td>"
                "<td class=\"l %s\">%s%s</td></tr>\n",
                r->async ? "async" : "sync", r->vcpus, r->concurrency, r->median_base, r->n_base,
                r->median_new, r->n_new, r->change.change * 100, r->change.low * 100,
                r->change.high * 100, r->p,
                r->regression                     ? "bad"
                : r->verdict == PM_VERDICT_FASTER ? "good"
                                                  : "",
                pm_verdict_name(r->verdict), r->regression ? " (regression)" : "");
    }
    fputs("</table></div>\n", f);
    free(cmp);
}

static void pm__missing(FILE *f, const pm_html_input *in)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m == NULL)
        pmb_oom("the missing points");
    size_t n = pm_missing_write(m, in->rows, in->opt->manifest);
    fclose(m);
    fputs("<h2>Missing or failed points</h2>\n", f);
    if (n == 0) {
        fputs("<p>None: every point of the sweep has an ok result.</p>\n", f);
    } else {
        fprintf(f, "<p class=\"bad\">%zu point%s:</p>\n<pre>", n, n == 1 ? "" : "s");
        pm__text(f, text);
        fputs("</pre>\n", f);
    }
    free(text);
}

bool pm_html_write(const pm_html_input *in, char *path, size_t pathlen, char *err, size_t errlen)
{
    const pm_report_options *opt = in->opt;
    snprintf(path, pathlen, "%s/%s.html", opt->out_dir, opt->base);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        pmb_oom("the report page");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    pm__text(f, opt->base);
    fprintf(f, " &middot; perfmatrix</title>\n<style>%s</style></head><body>\n<h1>perfmatrix: ",
            pm__style);
    pm__text(f, opt->base);
    fputs("</h1>\n<h2>Configuration</h2>\n", f);
    pm__config(f, in->rows);
    fputs("<h2>Throughput and latency per series</h2>\n", f);
    if (in->nseries == 0)
        fputs("<p class=\"bad\">No successful point: nothing to tabulate.</p>\n", f);
    for (size_t i = 0; i < in->nseries; i++)
        pm__series_table(f, &in->series[i],
                         pm_series_counterpart(in->series, in->nseries, &in->series[i]),
                         opt->slo_p99_us);
    pm__modes(f, in->series, in->nseries);
    fputs("<h2>Plots</h2>\n", f);
    pm__plots(f, in->plots_dir);
    const char *extra[][2] = {{"_vm.csv", "VM lifecycle"}, {"_scale.csv", "VM scale"}};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        char csv[4096];
        snprintf(csv, sizeof csv, "%s/%s%s", opt->out_dir, opt->base, extra[i][0]);
        pm__csv_table(f, extra[i][1], csv);
    }
    if (in->baseline)
        pm__comparison(f, in->baseline, in->rows);
    pm__missing(f, in);
    fputs("</body></html>\n", f);
    fclose(f);
    pmb_error e = {0};
    bool ok = pmb_file_write_atomic(path, text, len, 0644, &e) == PMB_OK;
    if (!ok)
        snprintf(err, errlen, "%s", e.msg);
    free(text);
    return ok;
}
