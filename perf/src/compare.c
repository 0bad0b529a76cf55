#include "perfmatrix/compare.h"

#include "perfmatrix/analysis.h"
#include "pmbase/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Enough resamples for stable 95% interval ends; a comparison stays well
 * under a second for hundreds of points. */
#define PM__BOOTSTRAP_RESAMPLES 2000

static const char *const pm__verdicts[] = {"no significant change", "faster", "slower",
                                           "too few runs to tell"};
static const char *const pm__metrics[] = {"qps", "p50_us", "p99_us"};

const char *pm_verdict_name(pm_verdict v)
{
    return pm__verdicts[v];
}

const char *pm_compare_metric_name(pm_compare_metric m)
{
    return pm__metrics[m];
}

bool pm_compare_metric_parse(const char *text, pm_compare_metric *out)
{
    for (size_t i = 0; i < sizeof pm__metrics / sizeof pm__metrics[0]; i++) {
        if (strcmp(text, pm__metrics[i]) == 0) {
            *out = (pm_compare_metric)i;
            return true;
        }
    }
    return false;
}

static double pm__metric(const pm_row *r, pm_compare_metric m)
{
    return m == PM_COMPARE_QPS ? r->qps : m == PM_COMPARE_P50 ? r->p50_us : r->p99_us;
}

static bool pm__usable(const pm_row *r, pm_compare_metric m)
{
    return strcmp(r->status, "ok") == 0 && isfinite(pm__metric(r, m));
}

static bool pm__same_point(const pm_row *a, const pm_row *b)
{
    return strcmp(a->plan, b->plan) == 0 && a->async == b->async && a->vcpus == b->vcpus &&
           a->concurrency == b->concurrency;
}

static int pm__cmp_rows(const void *x, const void *y)
{
    const pm_compare_row *a = x, *b = y;
    int c = strcmp(a->plan, b->plan);
    if (c != 0)
        return c;
    if (a->async != b->async)
        return b->async - a->async;
    if (a->vcpus != b->vcpus)
        return a->vcpus < b->vcpus ? -1 : 1;
    return (a->concurrency > b->concurrency) - (a->concurrency < b->concurrency);
}

/* The values of the metric at one point, from every usable run. */
static size_t pm__collect(const pm_rows *rows, const pm_row *key, pm_compare_metric m, double *out)
{
    size_t n = 0;
    for (size_t i = 0; i < rows->n; i++)
        if (pm__same_point(&rows->v[i], key) && pm__usable(&rows->v[i], m))
            out[n++] = pm__metric(&rows->v[i], m);
    return n;
}

static void pm__judge(pm_compare_row *r, const double *b, const double *f,
                      const pm_compare_options *opt)
{
    r->change = pm_median_change(b, r->n_base, f, r->n_new, opt->alpha, PM__BOOTSTRAP_RESAMPLES,
                                 (uint64_t)r->concurrency * 0x9E3779B97F4A7C15ull + 1);
    double *tmp = pmb_malloc((r->n_base > r->n_new ? r->n_base : r->n_new) * sizeof *tmp);
    memcpy(tmp, b, r->n_base * sizeof *tmp);
    r->median_base = pm_median(tmp, r->n_base);
    memcpy(tmp, f, r->n_new * sizeof *tmp);
    r->median_new = pm_median(tmp, r->n_new);
    free(tmp);
    r->p = pm_mann_whitney_p(b, r->n_base, f, r->n_new);
    if (pm_mann_whitney_min_p(r->n_base, r->n_new) > opt->alpha) {
        r->verdict = PM_VERDICT_TOO_FEW_RUNS;
        return;
    }
    if (r->p >= opt->alpha) {
        r->verdict = PM_VERDICT_NO_CHANGE;
        return;
    }
    /* Throughput is better higher; latencies are better lower. */
    bool up = r->median_new > r->median_base;
    bool better = opt->metric == PM_COMPARE_QPS ? up : !up;
    r->verdict = better ? PM_VERDICT_FASTER : PM_VERDICT_SLOWER;
    r->regression = !better && fabs(r->change.change) > opt->threshold;
}

size_t pm_compare(const pm_rows *base, const pm_rows *fresh, const pm_compare_options *opt,
                  pm_compare_row **out)
{
    size_t cap = base->n ? base->n : 1, n = 0;
    pm_compare_row *rows = pmb_calloc(cap, sizeof *rows);
    double *b = pmb_malloc((base->n + 1) * sizeof *b);
    double *f = pmb_malloc((fresh->n + 1) * sizeof *f);
    for (size_t i = 0; i < base->n; i++) {
        const pm_row *key = &base->v[i];
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = pm__same_point(&base->v[k], key);
        if (seen)
            continue;
        pm_compare_row r = {
            .async = key->async, .vcpus = key->vcpus, .concurrency = key->concurrency};
        snprintf(r.plan, sizeof r.plan, "%s", key->plan);
        r.n_base = pm__collect(base, key, opt->metric, b);
        r.n_new = pm__collect(fresh, key, opt->metric, f);
        if (r.n_base == 0 || r.n_new == 0)
            continue;
        pm__judge(&r, b, f, opt);
        rows[n++] = r;
    }
    free(b);
    free(f);
    qsort(rows, n, sizeof *rows, pm__cmp_rows);
    *out = rows;
    return n;
}

void pm_compare_write(FILE *f, const pm_compare_row *rows, size_t n, const pm_compare_options *opt)
{
    const char *metric = pm_compare_metric_name(opt->metric);
    fprintf(f,
            "Comparing %s: Mann-Whitney U at alpha %g, %.0f%% bootstrap interval of the "
            "change of medians, gate beyond %g%%\n\n",
            metric, opt->alpha, (1 - opt->alpha) * 100, opt->threshold * 100);
    fprintf(f, "%-24s %-5s %5s %6s  %14s %14s  %-26s %8s  %s\n", "plan", "mode", "vcpus", "conc",
            "base (runs)", "new (runs)", "change [interval]", "p", "verdict");
    size_t counts[4] = {0}, regressions = 0;
    for (size_t i = 0; i < n; i++) {
        const pm_compare_row *r = &rows[i];
        char base[32], fresh[32], change[48];
        snprintf(base, sizeof base, "%.1f (%zu)", r->median_base, r->n_base);
        snprintf(fresh, sizeof fresh, "%.1f (%zu)", r->median_new, r->n_new);
        snprintf(change, sizeof change, "%+.1f%% [%+.1f%%, %+.1f%%]", r->change.change * 100,
                 r->change.low * 100, r->change.high * 100);
        fprintf(f, "%-24s %-5s %5d %6d  %14s %14s  %-26s %8.4f  %s%s\n", r->plan,
                r->async ? "async" : "sync", r->vcpus, r->concurrency, base, fresh, change, r->p,
                pm_verdict_name(r->verdict), r->regression ? " (REGRESSION)" : "");
        counts[r->verdict]++;
        regressions += r->regression;
    }
    fprintf(f,
            "\n%zu points compared: %zu faster, %zu slower (%zu beyond the %g%% gate), %zu no "
            "significant change, %zu with too few runs to tell\n",
            n, counts[PM_VERDICT_FASTER], counts[PM_VERDICT_SLOWER], regressions,
            opt->threshold * 100, counts[PM_VERDICT_NO_CHANGE], counts[PM_VERDICT_TOO_FEW_RUNS]);
    if (counts[PM_VERDICT_TOO_FEW_RUNS] > 0) {
        size_t runs = 2;
        while (pm_mann_whitney_min_p(runs, runs) > opt->alpha)
            runs++;
        fprintf(f,
                "note: with so few runs no p-value can fall below %g; run at least %zu per "
                "side\n",
                opt->alpha, runs);
    }
}
