#include "perfmatrix/report.h"

#include "perfmatrix/html.h"
#include "perfmatrix/scale.h"
#include "perfmatrix/sweep.h"
#include "perfmatrix/vm.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Three-way comparison without subtraction: concurrency INT_MAX against
 * -INT_MAX would overflow. */
#define PM__CMP(a, b) (((a) > (b)) - ((a) < (b)))

static int pm__cmp_rows(const void *a, const void *b)
{
    const pm_row *x = a, *y = b;
    int c = strcmp(x->plan, y->plan);
    if (c)
        return c;
    if (x->vcpus != y->vcpus)
        return PM__CMP(x->vcpus, y->vcpus);
    if (x->async != y->async)
        return PM__CMP(y->async, x->async);
    if (x->concurrency != y->concurrency)
        return PM__CMP(x->concurrency, y->concurrency);
    return PM__CMP(x->run_idx, y->run_idx);
}

static bool pm__same_series(const pm_row *a, const pm_row *b)
{
    return strcmp(a->plan, b->plan) == 0 && a->vcpus == b->vcpus && a->async == b->async;
}

static bool pm__row_ok(const pm_row *r)
{
    return strcmp(r->status, "ok") == 0 && isfinite(r->qps);
}

void pm_series_free(pm_series *series, size_t n)
{
    for (size_t i = 0; series && i < n; i++) {
        pm_series *s = &series[i];
        double *d[] = {s->concurrency, s->qps,     s->p50_us,  s->p90_us,  s->p99_us,  s->max_us,
                       s->qps_min,     s->qps_max, s->p99_min, s->p99_max, s->excluded};
        for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
            free(d[k]);
        free(s->runs);
        free(s->recorded);
        free(s->assessment);
        free(s->excluded_rows);
    }
    free(series);
}

/* Allocates the arrays of a series for up to levels entries. */
static bool pm__series_alloc(pm_series *s, size_t levels)
{
    double **d[] = {&s->concurrency, &s->qps,     &s->p50_us,  &s->p90_us,  &s->p99_us,  &s->max_us,
                    &s->qps_min,     &s->qps_max, &s->p99_min, &s->p99_max, &s->excluded};
    bool ok = true;
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++)
        ok = (*d[k] = calloc(levels, sizeof(double))) != NULL && ok;
    ok = (s->runs = calloc(levels, sizeof *s->runs)) != NULL && ok;
    ok = (s->recorded = calloc(levels, sizeof *s->recorded)) != NULL && ok;
    ok = (s->excluded_rows = calloc(levels, sizeof *s->excluded_rows)) != NULL && ok;
    ok = (s->assessment = calloc(levels, sizeof *s->assessment)) != NULL && ok;
    return ok;
}

/* Medians, not means: one disturbed run on a shared host must not move the
 * curve. The spread (min and max) is kept beside them so it can be shown. */
static void pm__level_stats(const pm_row *rows, size_t n, size_t offset, double *tmp,
                            double *median, double *min, double *max)
{
    size_t m = 0;
    for (size_t r = 0; r < n; r++)
        if (pm__row_ok(&rows[r]))
            tmp[m++] = *(const double *)(const void *)((const char *)&rows[r] + offset);
    *median = pm_median(tmp, m);
    if (min)
        *min = m ? tmp[0] : NAN;
    if (max)
        *max = m ? tmp[m - 1] : NAN;
}

size_t pm_series_build(const pm_rows *rows, double slo_p99_us, pm_series **out, bool *oom)
{
    *out = NULL;
    *oom = false;
    size_t cap = rows->n ? rows->n : 1;
    pm_row *sorted = malloc(cap * sizeof *sorted);
    pm_series *series = calloc(cap, sizeof *series);
    double *tmp = malloc(cap * sizeof *tmp);
    if (!sorted || !series || !tmp) {
        free(sorted);
        free(series);
        free(tmp);
        *oom = true;
        return 0;
    }
    /* Skipped rows never measured anything; every other row belongs to its
     * level, valid or not, so a level whose runs all failed stays visible. */
    size_t m = 0;
    for (size_t i = 0; i < rows->n; i++)
        if (strcmp(rows->v[i].status, "skipped") != 0)
            sorted[m++] = rows->v[i];
    if (m)
        qsort(sorted, m, sizeof *sorted, pm__cmp_rows);

    size_t ns = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < m;) {
        size_t end = i;
        while (end < m && pm__same_series(&sorted[end], &sorted[i]))
            end++;
        pm_series *s = &series[ns++];
        snprintf(s->plan, sizeof s->plan, "%s", sorted[i].plan);
        s->vcpus = sorted[i].vcpus;
        s->async = sorted[i].async;
        s->cpu_threads = sorted[i].cpu_threads;
        s->io_threads = sorted[i].io_threads;
        ok = pm__series_alloc(s, end - i);
        for (size_t j = i; ok && j < end;) {
            size_t k = j, valid = 0;
            while (k < end && sorted[k].concurrency == sorted[j].concurrency)
                valid += pm__row_ok(&sorted[k++]);
            if (valid == 0) {
                s->excluded[s->n_excluded] = sorted[j].concurrency;
                s->excluded_rows[s->n_excluded++] = (int)(k - j);
                j = k;
                continue;
            }
            size_t l = s->n++;
            s->concurrency[l] = sorted[j].concurrency;
            s->runs[l] = (int)valid;
            s->recorded[l] = (int)(k - j);
            const pm_row *r = &sorted[j];
            size_t nr = k - j;
            pm__level_stats(r, nr, offsetof(pm_row, qps), tmp, &s->qps[l], &s->qps_min[l],
                            &s->qps_max[l]);
            pm__level_stats(r, nr, offsetof(pm_row, p99_us), tmp, &s->p99_us[l], &s->p99_min[l],
                            &s->p99_max[l]);
            pm__level_stats(r, nr, offsetof(pm_row, p50_us), tmp, &s->p50_us[l], NULL, NULL);
            pm__level_stats(r, nr, offsetof(pm_row, p90_us), tmp, &s->p90_us[l], NULL, NULL);
            pm__level_stats(r, nr, offsetof(pm_row, max_us), tmp, &s->max_us[l], NULL, NULL);
            j = k;
        }
        pm_curve_analyze(s->concurrency, s->qps, s->p99_us, s->n, slo_p99_us, &s->curve,
                         s->assessment);
        s->has_knee = s->curve.has_knee;
        s->knee = s->curve.knee;
        i = end;
    }
    free(sorted);
    free(tmp);
    if (!ok) {
        pm_series_free(series, ns);
        *oom = true;
        return 0;
    }
    if (ns == 0) {
        free(series);
        return 0;
    }
    *out = series;
    return ns;
}

/* Formats a figure with thousands separators, as the seed does; beyond what
 * a table column can show, in exponent form rather than cut digits. */
static const char *pm__thousands(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    if (!isfinite(v) || fabs(v) >= 1e15) {
        snprintf(buf, len, "%.4g", v);
        return buf;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t nd = strlen(digits), o = 0;
    if (v <= -0.5 && o + 1 < len)
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

/* The spread of a level's valid runs relative to its median, in percent;
 * NaN with one run (unknown, not zero). */
static double pm__spread_pct(const pm_series *s, size_t i)
{
    if (s->runs[i] < 2 || !(s->qps[i] > 0))
        return NAN;
    return (s->qps_max[i] - s->qps_min[i]) / s->qps[i] * 100.0;
}

void pm_knee_analysis_write(FILE *f, const pm_series *s, double slo_p99_us)
{
    char a[40], b[40];
    const pm_curve *cv = &s->curve;
    if (cv->has_knee) {
        fprintf(f, "Knee: concurrency %.0f (%s QPS, p99 %s us); ", s->concurrency[cv->knee],
                pm__thousands(s->qps[cv->knee], a, sizeof a),
                pm__thousands(s->p99_us[cv->knee], b, sizeof b));
        if (cv->knee_at_recommendation)
            fprintf(f, "at the recommended point, where QPS first reaches %.0f%% of its peak\n",
                    PM_RECOMMEND_PEAK_FRACTION * 100);
        else if (cv->has_bend && cv->bend != cv->knee)
            fprintf(f,
                    "Kneedle bend at %.0f, moved to the last level whose QPS still rises "
                    ">= %.0f%% per doubling\n",
                    s->concurrency[cv->bend], PM_RISE_PER_DOUBLING * 100);
        else
            fprintf(f, "Kneedle on QPS vs log2(concurrency)\n");
    } else if (cv->still_rising) {
        fprintf(f,
                "Knee: none within the sweep (QPS still rises %.0f%% per doubling into the last "
                "level, %.0f)\n",
                pm_rise_per_doubling(s->concurrency, s->qps, s->n - 1) * 100,
                s->concurrency[s->n - 1]);
    } else {
        fprintf(f, "Knee: none found (the curve does not bend within the sweep)\n");
    }

    double peak = 0;
    for (size_t i = 0; i < s->n; i++)
        peak = fmax(peak, s->qps[i]);
    if (slo_p99_us > 0)
        snprintf(b, sizeof b, "%.0f us", slo_p99_us);
    if (cv->has_recommendation)
        fprintf(f,
                "Recommended operating point: concurrency %.0f, %s (smallest reaching %.0f%% of "
                "peak QPS %s%s%s)\n",
                s->concurrency[cv->recommendation],
                pm_assessment_name(s->assessment[cv->recommendation]),
                PM_RECOMMEND_PEAK_FRACTION * 100, pm__thousands(peak, a, sizeof a),
                slo_p99_us > 0 ? " with p99 <= " : "", slo_p99_us > 0 ? b : "");
    else
        fprintf(f, "Recommended operating point: none (no level reaches %.0f%% of peak QPS%s%s)\n",
                PM_RECOMMEND_PEAK_FRACTION * 100, slo_p99_us > 0 ? " with p99 <= " : "",
                slo_p99_us > 0 ? b : "");
    if (cv->has_knee) {
        double lo = 0.5 * s->concurrency[cv->knee], hi = 0.75 * s->concurrency[cv->knee];
        fprintf(f, "Headroom rule: run at 50-75%% of the knee: concurrency %.0f-%.0f\n", lo, hi);
    }
    pm_usl usl;
    char why[160];
    if (!pm_usl_fit(s->concurrency, s->qps, s->n, &usl, why, sizeof why)) {
        fprintf(f, "USL fit: not possible (%s", why);
        if (s->n_excluded)
            fprintf(f, "; %zu of %zu levels have no valid run", s->n_excluded,
                    s->n + s->n_excluded);
        fprintf(f, ")\n");
    } else if (usl.r2 < PM_USL_MIN_R2) {
        fprintf(f, "USL fit: not shown (R^2 %.3f < %.1f, the model does not describe this curve)\n",
                usl.r2, PM_USL_MIN_R2);
    } else if (usl.n_star > 0) {
        fprintf(f, "USL fit: sigma %.4g, kappa %.4g, lambda %.4g QPS, N* %.1f (R^2 %.3f)\n",
                usl.sigma, usl.kappa, usl.lambda, usl.n_star, usl.r2);
    } else {
        fprintf(f, "USL fit: sigma %.4g, kappa 0, lambda %.4g QPS, N* unbounded (R^2 %.3f)\n",
                usl.sigma, usl.lambda, usl.r2);
    }
}

size_t pm_noise_warnings_write(FILE *f, const pm_series *s)
{
    size_t warnings = 0;
    int most = 0;
    for (size_t i = 0; i < s->n; i++)
        most = s->runs[i] > most ? s->runs[i] : most;
    if (s->n > 0 && most < 2) {
        fprintf(f, "Warning: one valid run per level: the noise is unknown, so differences of a "
                   "few percent (the knee, async vs sync) may be noise; use RUNS >= 3\n");
        warnings++;
    }
    const pm_curve *cv = &s->curve;
    if (!cv->has_knee || cv->knee_at_recommendation)
        return warnings;
    /* The knee rests on two steps: QPS still rises PM_RISE_PER_DOUBLING into
     * it and no longer rises that much after it. How far each step is from
     * that threshold, in QPS, is the difference the runs' spread must not
     * exceed. */
    for (size_t j = cv->knee; j <= cv->knee + 1 && j < s->n; j++) {
        if (j == 0)
            continue;
        double threshold = s->qps[j - 1] * pow(1.0 + PM_RISE_PER_DOUBLING,
                                               log2(s->concurrency[j] / s->concurrency[j - 1]));
        double margin = fabs(s->qps[j] - threshold);
        double spread = 0;
        size_t at = j;
        for (size_t l = j - 1; l <= j; l++) {
            if (s->runs[l] >= 2 && s->qps_max[l] - s->qps_min[l] > spread) {
                spread = s->qps_max[l] - s->qps_min[l];
                at = l;
            }
        }
        if (spread > margin) {
            char a[40], b[40];
            fprintf(f,
                    "Warning: the knee at %.0f is within the noise: the runs at %.0f spread %s "
                    "QPS, more than the %s QPS by which the step %.0f -> %.0f clears the %.0f%% "
                    "per doubling threshold\n",
                    s->concurrency[cv->knee], s->concurrency[at],
                    pm__thousands(spread, a, sizeof a), pm__thousands(margin, b, sizeof b),
                    s->concurrency[j - 1], s->concurrency[j], PM_RISE_PER_DOUBLING * 100);
            warnings++;
        }
    }
    return warnings;
}

const pm_series *pm_series_counterpart(const pm_series *series, size_t n, const pm_series *s)
{
    for (size_t i = 0; i < n; i++)
        if ((series[i].async != 0) != (s->async != 0) && series[i].vcpus == s->vcpus &&
            strcmp(series[i].plan, s->plan) == 0)
            return &series[i];
    return NULL;
}

void pm_modes_walk_start(pm_modes_walk *w, const pm_series *one, const pm_series *other)
{
    w->async = one->async ? one : other;
    w->sync = one->async ? other : one;
    w->ia = w->is = 0;
}

bool pm_modes_next(pm_modes_walk *w, pm_modes_level *out)
{
    const pm_series *a = w->async, *s = w->sync;
    bool more_a = w->ia < a->n, more_s = w->is < s->n;
    if (!more_a && !more_s)
        return false;
    *out = (pm_modes_level){.ratio = NAN, .diff = NAN, .spread = NAN};
    if (more_a && (!more_s || a->concurrency[w->ia] < s->concurrency[w->is])) {
        out->concurrency = a->concurrency[w->ia++];
        out->verdict = PM_MODES_ASYNC_ONLY;
        return true;
    }
    if (!more_a || s->concurrency[w->is] < a->concurrency[w->ia]) {
        out->concurrency = s->concurrency[w->is++];
        out->verdict = PM_MODES_SYNC_ONLY;
        return true;
    }
    size_t i = w->ia++, k = w->is++;
    /* The noise rule of the async-vs-sync warning: the wider min-max range
     * of the two modes' runs is the difference that could be noise alone. A
     * single run has no range, so with one run in both modes it is 0. */
    double spread = 0;
    if (a->runs[i] >= 2) {
        spread = a->qps_max[i] - a->qps_min[i];
        out->noise_known = true;
    }
    if (s->runs[k] >= 2) {
        spread = fmax(spread, s->qps_max[k] - s->qps_min[k]);
        out->noise_known = true;
    }
    out->concurrency = a->concurrency[i];
    out->ratio = a->qps[i] / s->qps[k];
    out->diff = fabs(a->qps[i] - s->qps[k]);
    out->spread = spread;
    /* The threshold for a win: ahead by at least that spread. Anything less
     * is inside the noise band, and equal medians are a tie whatever it is. */
    if (out->diff < spread || out->diff == 0)
        out->verdict = PM_MODES_TIE;
    else
        out->verdict = a->qps[i] > s->qps[k] ? PM_MODES_ASYNC_WINS : PM_MODES_SYNC_WINS;
    return true;
}

/* An async/sync ratio as the tables and the statement show it; a sync
 * median of 0 has no ratio. */
static const char *pm__ratio(double ratio, char *buf, size_t len)
{
    if (isfinite(ratio))
        snprintf(buf, len, "%.2fx", ratio);
    else
        snprintf(buf, len, "n/a");
    return buf;
}

const char *pm_modes_ratio_cell(pm_modes_walk *w, double concurrency, char *buf, size_t len)
{
    pm_modes_level l;
    while (pm_modes_next(w, &l)) {
        if (l.concurrency != concurrency)
            continue;
        if (l.verdict == PM_MODES_ASYNC_ONLY || l.verdict == PM_MODES_SYNC_ONLY)
            break;
        return pm__ratio(l.ratio, buf, len);
    }
    snprintf(buf, len, "-");
    return buf;
}

/* Picks, besides the verdicts, the common levels whose noise is unknown. */
#define PM__NOISE_UNKNOWN (-1)

static bool pm__picks(const pm_modes_level *l, int pick)
{
    if (pick == PM__NOISE_UNKNOWN)
        return l->verdict != PM_MODES_ASYNC_ONLY && l->verdict != PM_MODES_SYNC_ONLY &&
               !l->noise_known;
    return (int)l->verdict == pick;
}

/* Counts the levels a clause of the statement picks, with their lowest and
 * highest finite ratio, and, when f is not NULL, writes them as ranges of
 * levels that are neighbours in the walk ("1-8, 64"): a range never hides a
 * level of another verdict, nor one measured in one mode only. */
static size_t pm__clause_levels(FILE *f, const pm_series *async, const pm_series *sync, int pick,
                                double *lo, double *hi)
{
    pm_modes_walk w = {0};
    pm_modes_walk_start(&w, async, sync);
    pm_modes_level l;
    size_t count = 0, ranges = 0;
    bool open = false, more = true;
    double first = 0, last = 0;
    *lo = INFINITY;
    *hi = -INFINITY;
    while (more) {
        more = pm_modes_next(&w, &l);
        if (more && pm__picks(&l, pick)) {
            count++;
            if (isfinite(l.ratio)) {
                *lo = fmin(*lo, l.ratio);
                *hi = fmax(*hi, l.ratio);
            }
            if (!open)
                first = l.concurrency;
            last = l.concurrency;
            open = true;
        } else if (open) {
            if (f) {
                fprintf(f, "%s%.0f", ranges ? ", " : "", first);
                if (last != first)
                    fprintf(f, "-%.0f", last);
            }
            ranges++;
            open = false;
        }
    }
    return count;
}

void pm_modes_wins_write(FILE *f, const pm_series *async, const pm_series *sync, const char *indent)
{
    static const struct {
        int pick;
        const char *words;
    } clauses[] = {
        {PM_MODES_ASYNC_WINS, "async wins at"},
        {PM_MODES_SYNC_WINS, "sync wins at"},
        {PM_MODES_TIE, "within the noise at"},
        {PM_MODES_ASYNC_ONLY, "no valid sync run at"},
        {PM_MODES_SYNC_ONLY, "no valid async run at"},
    };
    fprintf(f, "%s%s vcpus=%d:", indent, async->plan, async->vcpus);
    /* Clauses are separated once something follows the colon; the first to
     * list levels names their unit. */
    bool said = false, unit = false;
    for (size_t k = 0; k < sizeof clauses / sizeof clauses[0]; k++) {
        double lo, hi;
        if (clauses[k].pick == PM_MODES_ASYNC_ONLY && !said) {
            fprintf(f, " no concurrency level measured validly in both modes");
            said = true;
        }
        if (pm__clause_levels(NULL, async, sync, clauses[k].pick, &lo, &hi) == 0)
            continue;
        fprintf(f, "%s %s %s", said ? ";" : "", clauses[k].words, unit ? "" : "concurrency ");
        said = unit = true;
        pm__clause_levels(f, async, sync, clauses[k].pick, &lo, &hi);
        if (lo <= hi) {
            char x[32], y[32];
            pm__ratio(lo, x, sizeof x);
            pm__ratio(hi, y, sizeof y);
            /* One "x" for a range: "1.10-2.00x". */
            if (strcmp(x, y) == 0)
                fprintf(f, " (%s)", x);
            else
                fprintf(f, " (%.*s-%s)", (int)strlen(x) - 1, x, y);
        }
    }
    fputc('\n', f);
    double lo, hi;
    if (pm__clause_levels(NULL, async, sync, PM__NOISE_UNKNOWN, &lo, &hi) > 0) {
        fprintf(f, "%sNoise unknown at concurrency ", indent);
        pm__clause_levels(f, async, sync, PM__NOISE_UNKNOWN, &lo, &hi);
        fprintf(f, ": one valid run in each mode, so any difference counts as a win; use RUNS "
                   ">= 3\n");
    }
}

size_t pm_modes_compare_write(FILE *f, const pm_series *series, size_t n)
{
    size_t warnings = 0;
    for (size_t a = 0; a < n; a++) {
        const pm_series *as = &series[a], *ss = pm_series_counterpart(series, n, as);
        if (!as->async || !ss)
            continue;
        fprintf(f, "== %s  vcpus=%d  async vs sync (QPS medians) ==\n", as->plan, as->vcpus);
        pm_modes_walk w;
        pm_modes_walk_start(&w, as, ss);
        pm_modes_level l;
        while (pm_modes_next(&w, &l)) {
            if (l.verdict == PM_MODES_ASYNC_ONLY || l.verdict == PM_MODES_SYNC_ONLY)
                continue;
            char r[32];
            fprintf(f, "  concurrency %.0f: async/sync %s", l.concurrency,
                    pm__ratio(l.ratio, r, sizeof r));
            if (l.spread > l.diff) {
                char x[40], y[40];
                fprintf(f,
                        "  Warning: within the noise (runs spread %s QPS, more than the %s QPS "
                        "difference)",
                        pm__thousands(l.spread, x, sizeof x), pm__thousands(l.diff, y, sizeof y));
                warnings++;
            }
            fputc('\n', f);
        }
        pm_modes_wins_write(f, as, ss, "  ");
        fputc('\n', f);
    }
    return warnings;
}

size_t pm_summary_write_series(FILE *f, const pm_series *s, const pm_series *other,
                               double slo_p99_us)
{
    int runs = 0;
    for (size_t i = 0; i < s->n; i++)
        runs = s->runs[i] > runs ? s->runs[i] : runs;
    fprintf(f,
            "== %s  vcpus=%d  %s  (cpu_threads=%d io_threads=%d; medians of up to %d valid runs) "
            "==\n",
            s->plan, s->vcpus, pm__mode(s->async), s->cpu_threads, s->io_threads, runs);
    fprintf(f,
            "Concurrency |    QPS    |  p50 (us) |  p99 (us) | Assessment                 | "
            "QPS min-max (spread)      | Valid runs%s\n",
            other ? " | async/sync" : "");
    fprintf(f,
            "------------|-----------|-----------|-----------|----------------------------|-"
            "--------------------------|-----------%s\n",
            other ? "-|-----------" : "");
    pm_modes_walk w = {0};
    if (other)
        pm_modes_walk_start(&w, s, other);
    for (size_t i = 0; i < s->n; i++) {
        char q[40], p50[40], p99[40], lo[40], hi[40], assess[64], spread[80], valid[32];
        snprintf(assess, sizeof assess, "%s%s", pm_assessment_name(s->assessment[i]),
                 s->has_knee && i == s->knee ? " <-" : "");
        double pct = pm__spread_pct(s, i);
        if (isnan(pct))
            snprintf(spread, sizeof spread, "one run, unknown");
        else
            snprintf(spread, sizeof spread, "%s-%s (%.1f%%)",
                     pm__thousands(s->qps_min[i], lo, sizeof lo),
                     pm__thousands(s->qps_max[i], hi, sizeof hi), pct);
        snprintf(valid, sizeof valid, "%d of %d", s->runs[i], s->recorded[i]);
        fprintf(f, "%6.0f      |%9s  |%8s   |%9s  | %-26s | %-25s | ", s->concurrency[i],
                pm__thousands(s->qps[i], q, sizeof q), pm__thousands(s->p50_us[i], p50, sizeof p50),
                pm__thousands(s->p99_us[i], p99, sizeof p99), assess, spread);
        if (other) {
            char ratio[32];
            fprintf(f, "%-10s | %s\n", valid,
                    pm_modes_ratio_cell(&w, s->concurrency[i], ratio, sizeof ratio));
        } else {
            fprintf(f, "%s\n", valid);
        }
    }
    for (size_t i = 0; i < s->n_excluded; i++)
        fprintf(f, "%6.0f      | not on the curve: none of its %d runs is valid (see below)\n",
                s->excluded[i], s->excluded_rows[i]);
    if (s->n == 0)
        fprintf(f, "No valid run in this series.\n");
    else
        pm_knee_analysis_write(f, s, slo_p99_us);
    size_t warnings = pm_noise_warnings_write(f, s);
    fputc('\n', f);
    return warnings;
}

static const pm_row *pm__find_test(const pm_rows *rows, const char *name)
{
    const pm_row *found = NULL;
    for (size_t i = 0; i < rows->n; i++)
        if (strcmp(rows->v[i].test, name) == 0)
            found = &rows->v[i];
    return found;
}

size_t pm_manifest_missing(FILE *f, const char *manifest, pm_has_result has_result, const void *ctx,
                           bool say_unreadable)
{
    char err[PM_ERR_LEN];
    char *text = manifest ? pm_read_file(manifest, err, sizeof err) : NULL;
    if (manifest && !text && say_unreadable)
        fprintf(f, "  (expected points unknown: %s)\n", err);
    size_t missing = 0;
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "\t ")] = '\0';
        if (*line == '\0' || *line == '#' || has_result(ctx, line))
            continue;
        fprintf(f,
                "  %s: no result (not run in this sweep, or killed by CTest's TIMEOUT before it "
                "could record)\n",
                line);
        missing++;
    }
    free(text);
    return missing;
}

static bool pm__has_point(const void *ctx, const char *name)
{
    return pm__find_test(ctx, name) != NULL;
}

size_t pm_missing_write(FILE *f, const pm_rows *rows, const char *manifest)
{
    size_t missing = pm_manifest_missing(f, manifest, pm__has_point, rows, true);
    for (size_t i = 0; i < rows->n; i++) {
        const pm_row *r = &rows->v[i];
        if (strcmp(r->status, "ok") != 0) {
            if (r->test[0])
                fprintf(f, "  %s: %s: %s\n", r->test, r->status, r->reason);
            else
                fprintf(f, "  %s vcpus=%d %s c%d r%d: %s: %s\n", r->plan, r->vcpus,
                        pm__mode(r->async), r->concurrency, r->run_idx, r->status, r->reason);
            missing++;
        }
    }
    for (const char *n = rows->notes; n && *n;) {
        size_t len = strcspn(n, "\n");
        fprintf(f, "  %.*s\n", (int)len, n);
        missing++;
        n += len + (n[len] == '\n');
    }
    return missing;
}

/* Benchmarks, command timings and VM results share the directory; only
 * points make up the matrix. A torn or foreign file is reported, not fatal:
 * the rest of the sweep still deserves its report. */
static bool pm__load_point(const char *name, const char *path, const cJSON *obj, void *ctx,
                           char *err, size_t errlen)
{
    pm_rows *rows = ctx;
    char note[PM_PATH_LEN + PM_ERR_LEN], why[PM_ERR_LEN];
    note[0] = '\0';
    if (!obj) {
        snprintf(note, sizeof note, "%s: unreadable result file: not JSON", name);
    } else if (strcmp(pm_result_kind(obj), "point") == 0) {
        pm_row row;
        if (!pm_row_from_json(obj, &row, why, sizeof why))
            snprintf(note, sizeof note, "%s: unreadable result file: %s", name, why);
        else if (!pm_rows_push(rows, &row)) {
            snprintf(err, errlen, "%s: out of memory", path);
            return false;
        }
    }
    if (note[0]) {
        fprintf(stderr, "perfmatrix report: %s, left out of the tables\n", path);
        if (!pm_rows_note(rows, note)) {
            snprintf(err, errlen, "%s: out of memory", path);
            return false;
        }
    }
    return true;
}

bool pm_sweep_load(const char *sweep_dir, pm_rows *rows, char *err, size_t errlen)
{
    return pm_sweep_each(sweep_dir, false, pm__load_point, rows, err, errlen);
}

static FILE *pm__open(const char *dir, const char *base, const char *suffix, char *path,
                      size_t pathlen, char *err, size_t errlen)
{
    if (snprintf(path, pathlen, "%s/%s%s", dir, base, suffix) >= (int)pathlen) {
        snprintf(err, errlen, "%.200s...: path too long for %s%s", dir, base, suffix);
        return NULL;
    }
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

/* Counts rows per status for the summary's first line. */
static void pm__status_counts(const pm_rows *rows, char *buf, size_t len)
{
    static const char *order[] = {"ok", "invalid", "errors", "failed", "timeout", "skipped"};
    size_t used = (size_t)snprintf(buf, len, "%zu points recorded", rows->n);
    for (size_t k = 0; k < sizeof order / sizeof order[0] && used < len; k++) {
        size_t count = 0;
        for (size_t i = 0; i < rows->n; i++)
            count += strcmp(rows->v[i].status, order[k]) == 0;
        if (count || k == 0)
            used += (size_t)snprintf(buf + used, len - used, ", %zu %s", count, order[k]);
    }
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
    sorted.notes = rows->notes;
    if (sorted.n)
        qsort(sorted.v, sorted.n, sizeof *sorted.v, pm__cmp_rows);
    bool ok = pm__write_tables(&sorted, opt, err, errlen);

    pm_series *series = NULL;
    bool oom = false;
    size_t ns = ok ? pm_series_build(&sorted, opt->slo_p99_us, &series, &oom) : 0;
    if (ok && oom) {
        snprintf(err, errlen, "out of memory for the series");
        ok = false;
    }
    char path[PM_PATH_LEN];
    FILE *f = ok ? pm__open(opt->out_dir, opt->base, "_summary.txt", path, sizeof path, err, errlen)
                 : NULL;
    ok = f != NULL;
    if (ok) {
        char counts[256];
        pm__status_counts(&sorted, counts, sizeof counts);
        fprintf(f, "perfmatrix %s: %s\n", opt->base, counts);
        fprintf(f, "Only valid runs (status ok) enter the medians; the spread column is their "
                   "min-max.\n\n");
        size_t warnings = 0;
        for (size_t i = 0; i < ns; i++)
            warnings += pm_summary_write_series(
                f, &series[i], pm_series_counterpart(series, ns, &series[i]), opt->slo_p99_us);
        if (ns == 0)
            fprintf(f, "No successful point: nothing to summarize.\n\n");
        warnings += pm_modes_compare_write(f, series, ns);
        fprintf(f, "Missing, failed or invalid points:\n");
        size_t missing = pm_missing_write(f, &sorted, opt->manifest);
        if (missing == 0)
            fprintf(f, "  none\n");
        ok = pm__close(f, path, err, errlen);
        printf("perfmatrix report: %s (%zu series, %zu missing, failed or invalid points, %zu "
               "noise warnings)\n",
               path, ns, missing, warnings);
        if (missing) {
            printf("perfmatrix report: missing, failed or invalid points:\n");
            pm_missing_write(stdout, &sorted, opt->manifest);
        }
    }

    /* Plots and the knee summary live together, one directory per sweep. */
    char plots[PM_PATH_LEN];
    const char *stamp = strncmp(opt->base, "sweep_", 6) == 0 ? opt->base + 6 : opt->base;
    if (ok &&
        snprintf(plots, sizeof plots, "%s/plots_%s", opt->out_dir, stamp) >= (int)sizeof plots) {
        snprintf(err, errlen, "%.200s...: path too long for the plots directory", opt->out_dir);
        ok = false;
    }
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
                if (series[i].n > 0)
                    pm_knee_analysis_write(k, &series[i], opt->slo_p99_us);
                pm_noise_warnings_write(k, &series[i]);
                fputc('\n', k);
                /* Series come async first, so the pair's statement follows
                 * the sync block, after both modes' knees. */
                const pm_series *async = pm_series_counterpart(series, ns, &series[i]);
                if (!series[i].async && async) {
                    fprintf(k, "== %s  vcpus=%d  which mode wins ==\n", series[i].plan,
                            series[i].vcpus);
                    pm_modes_wins_write(k, async, &series[i], "");
                    fputc('\n', k);
                }
            }
            ok = pm__close(k, kpath, err, errlen);
            printf("perfmatrix report: %s\n", kpath);
        }
    }
    if (ok && ns > 0 && !opt->gnuplot)
        printf("perfmatrix report: plots skipped: %s\n",
               opt->no_plots ? opt->no_plots : "no gnuplot given");
    bool several_plans = ns > 0 && strcmp(series[0].plan, series[ns - 1].plan) != 0;
    for (size_t i = 0; ok && opt->gnuplot && i < ns;) {
        size_t j = i, drawable = 0;
        while (j < ns && strcmp(series[j].plan, series[i].plan) == 0)
            drawable += series[j++].n > 0;
        if (drawable > 0)
            ok = pm_plot_plan(&series[i], j - i, plots, several_plans ? series[i].plan : NULL,
                              opt->gnuplot, opt->templates, err, errlen);
        i = j;
    }
    ok = ok && pm_vm_report_write(opt, err, errlen);
    ok = ok && pm_scale_report_write(opt, err, errlen);
    if (ok)
        ok = pm__write_html(&sorted, series, ns, opt, plots, err, errlen);
    pm_series_free(series, ns);
    sorted.notes = NULL;
    pm_rows_free(&sorted);
    return ok;
}
