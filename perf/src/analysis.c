#include "perfmatrix/analysis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pm_kneedle(const double *x, const double *y, size_t n, size_t *bend)
{
    if (n < 3)
        return false;
    /* Sweeps double the concurrency at each step, so the curve is sampled
     * evenly on log2(x); on a linear axis the sparse tail would dominate. */
    double lx0 = log2(x[0]), lx1 = log2(x[n - 1]);
    double ymin = y[0], ymax = y[0];
    for (size_t i = 1; i < n; i++) {
        ymin = fmin(ymin, y[i]);
        ymax = fmax(ymax, y[i]);
    }
    if (!(lx1 > lx0) || !(ymax > ymin))
        return false;
    size_t best = 0;
    double best_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        double xn = (log2(x[i]) - lx0) / (lx1 - lx0);
        double yn = (y[i] - ymin) / (ymax - ymin);
        if (yn - xn > best_diff) {
            best_diff = yn - xn;
            best = i;
        }
    }
    /* A maximum at either end means the curve never bends inside the sweep. */
    if (best == 0 || best == n - 1)
        return false;
    *bend = best;
    return true;
}

double pm_rise_per_doubling(const double *concurrency, const double *qps, size_t i)
{
    if (i == 0)
        return NAN;
    double doublings = log2(concurrency[i] / concurrency[i - 1]);
    if (!(doublings > 0) || !(qps[i - 1] > 0) || !(qps[i] >= 0))
        return NAN;
    /* Sweeps step by 2x or 4x; per doubling makes both comparable. */
    return pow(qps[i] / qps[i - 1], 1.0 / doublings) - 1.0;
}

static bool pm__rising(const double *concurrency, const double *qps, size_t i)
{
    return pm_rise_per_doubling(concurrency, qps, i) >= PM_RISE_PER_DOUBLING;
}

bool pm_knee(const double *concurrency, const double *qps, size_t n, size_t *knee)
{
    size_t k;
    if (!pm_kneedle(concurrency, qps, n, &k))
        return false;
    /* On a coarse doubling sweep the difference curve peaks at the last level
     * before the tangent falls below the chord, which can still be scaling
     * well; and a level the curve still climbs into is not saturated, so the
     * knee is at the last level that still rises PM_RISE_PER_DOUBLING. */
    for (size_t i = k + 1; i < n; i++)
        if (pm__rising(concurrency, qps, i))
            k = i;
    if (k == n - 1)
        return false;
    *knee = k;
    return true;
}

/* Solves the m x m system a * sol = b (m <= 3) by Gaussian elimination with
 * partial pivoting; false when the system is singular. */
static bool pm__solve(double a[3][3], double b[3], size_t m, double sol[3])
{
    for (size_t col = 0; col < m; col++) {
        size_t piv = col;
        for (size_t r = col + 1; r < m; r++)
            if (fabs(a[r][col]) > fabs(a[piv][col]))
                piv = r;
        if (fabs(a[piv][col]) < 1e-300)
            return false;
        if (piv != col) {
            for (size_t c = 0; c < m; c++) {
                double t = a[col][c];
                a[col][c] = a[piv][c];
                a[piv][c] = t;
            }
            double t = b[col];
            b[col] = b[piv];
            b[piv] = t;
        }
        for (size_t r = col + 1; r < m; r++) {
            double f = a[r][col] / a[col][col];
            for (size_t c = col; c < m; c++)
                a[r][c] -= f * a[col][c];
            b[r] -= f * b[col];
        }
    }
    for (size_t i = m; i-- > 0;) {
        double s = b[i];
        for (size_t c = i + 1; c < m; c++)
            s -= a[i][c] * sol[c];
        sol[i] = s / a[i][i];
    }
    return true;
}

static double pm__usl_eval(const pm_usl *u, double nn)
{
    return u->lambda * nn / (1.0 + u->sigma * (nn - 1.0) + u->kappa * nn * (nn - 1.0));
}

bool pm_usl_fit(const double *concurrency, const double *qps, size_t n, pm_usl *out, char *why,
                size_t whylen)
{
    char ignored[8];
    if (!why) {
        why = ignored;
        whylen = sizeof ignored;
    }
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(concurrency[i] > 0) || !(qps[i] > 0)) {
            snprintf(why, whylen, "concurrency %g has no throughput", concurrency[i]);
            return false;
        }
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || concurrency[j] == concurrency[i];
        distinct += !seen;
    }
    if (distinct < 3) {
        snprintf(why, whylen, "%zu distinct levels, at least three are needed", distinct);
        return false;
    }
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += qps[i] / (double)n;
    double ss_tot = 0.0;
    for (size_t i = 0; i < n; i++)
        ss_tot += (qps[i] - mean) * (qps[i] - mean);

    /* N / X = a + b (N - 1) + c N (N - 1) is linear in (a, b, c) with
     * lambda = 1/a, sigma = b/a, kappa = c/a. A negative sigma or kappa has
     * no physical meaning, so the submodels without them compete too; a
     * richer model must improve R^2 to win, so an Amdahl curve keeps kappa
     * exactly 0 instead of a rounding-error crosstalk. */
    static const bool use[4][3] = {{1, 0, 0}, {1, 1, 0}, {1, 0, 1}, {1, 1, 1}};
    bool found = false;
    pm_usl best = {0};
    for (size_t model = 0; model < 4; model++) {
        size_t cols[3], m = 0;
        for (size_t k = 0; k < 3; k++)
            if (use[model][k])
                cols[m++] = k;
        double ata[3][3] = {{0}}, atb[3] = {0}, sol[3] = {0};
        for (size_t i = 0; i < n; i++) {
            double nn = concurrency[i];
            double basis[3] = {1.0, nn - 1.0, nn * (nn - 1.0)};
            double target = nn / qps[i];
            for (size_t r = 0; r < m; r++) {
                for (size_t c = 0; c < m; c++)
                    ata[r][c] += basis[cols[r]] * basis[cols[c]];
                atb[r] += basis[cols[r]] * target;
            }
        }
        if (!pm__solve(ata, atb, m, sol))
            continue;
        double coef[3] = {0};
        for (size_t r = 0; r < m; r++)
            coef[cols[r]] = sol[r];
        if (!(coef[0] > 0) || coef[1] < 0 || coef[2] < 0)
            continue;
        pm_usl u = {
            .lambda = 1.0 / coef[0], .sigma = coef[1] / coef[0], .kappa = coef[2] / coef[0]};
        double ss_res = 0.0;
        for (size_t i = 0; i < n; i++) {
            double e = qps[i] - pm__usl_eval(&u, concurrency[i]);
            ss_res += e * e;
        }
        u.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
        u.n_star = u.kappa > 0 && u.sigma < 1 ? sqrt((1.0 - u.sigma) / u.kappa) : 0.0;
        if (!found || u.r2 > best.r2 + 1e-9) {
            best = u;
            found = true;
        }
    }
    if (found)
        *out = best;
    else
        snprintf(why, whylen, "no model with sigma and kappa >= 0 fits these levels");
    return found;
}

void pm_assess(const double *concurrency, const double *qps, const double *p99_us, size_t n,
               size_t knee, pm_assessment *out)
{
    double peak = 0.0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, qps[i]);
    for (size_t i = 0; i < n; i++) {
        if (i == knee) {
            out[i] = PM_ASSESS_SATURATED_KNEE;
        } else if (i == 0) {
            /* The lowest level leaves the parallel hardware idle, unless it
             * already reaches (nearly) the peak: then more concurrency would
             * not pay, and calling it underutilized would be wrong. */
            out[i] = qps[i] < PM_RECOMMEND_PEAK_FRACTION * peak ? PM_ASSESS_UNDERUTILIZED
                                                                : PM_ASSESS_NEAR_LINEAR;
        } else if (i < knee) {
            double speedup = qps[0] > 0 ? qps[i] / qps[0] : 0.0;
            double efficiency = speedup / (concurrency[i] / concurrency[0]);
            out[i] = efficiency >= 0.9    ? PM_ASSESS_NEAR_LINEAR
                     : efficiency >= 0.75 ? PM_ASSESS_GOOD_SCALING
                                          : PM_ASSESS_STARTING_TO_SATURATE;
        } else {
            /* Past the knee the extra requests only queue: the cost shows as
             * tail latency first, and as lost throughput when it is severe. */
            bool tail_blown = p99_us[i] > 4.0 * p99_us[knee];
            bool qps_lost = qps[i] < 0.9 * peak;
            out[i] = tail_blown || qps_lost ? PM_ASSESS_SEVERELY_OVER_SATURATED
                                            : PM_ASSESS_OVER_SATURATED;
        }
    }
}

const char *pm_assessment_name(pm_assessment a)
{
    switch (a) {
    case PM_ASSESS_UNDERUTILIZED:
        return "Underutilized";
    case PM_ASSESS_NEAR_LINEAR:
        return "Near-linear scaling";
    case PM_ASSESS_GOOD_SCALING:
        return "Good scaling";
    case PM_ASSESS_STARTING_TO_SATURATE:
        return "Starting to saturate";
    case PM_ASSESS_SATURATED_KNEE:
        return "Saturated (knee)";
    case PM_ASSESS_OVER_SATURATED:
        return "Over-saturated";
    case PM_ASSESS_SEVERELY_OVER_SATURATED:
        return "Severely over-saturated";
    }
    return "?";
}

bool pm_recommend(const double *qps, const double *p99_us, size_t n, double slo_p99_us,
                  size_t *index)
{
    double peak = 0.0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, qps[i]);
    if (!(peak > 0))
        return false;
    for (size_t i = 0; i < n; i++) {
        bool within_slo = slo_p99_us <= 0 || p99_us[i] <= slo_p99_us;
        if (qps[i] >= PM_RECOMMEND_PEAK_FRACTION * peak && within_slo) {
            *index = i;
            return true;
        }
    }
    return false;
}

void pm_curve_analyze(const double *concurrency, const double *qps, const double *p99_us, size_t n,
                      double slo_p99_us, pm_curve *curve, pm_assessment *assessment)
{
    memset(curve, 0, sizeof *curve);
    curve->has_bend = pm_kneedle(concurrency, qps, n, &curve->bend);
    curve->has_knee = pm_knee(concurrency, qps, n, &curve->knee);
    curve->still_rising = n >= 2 && pm__rising(concurrency, qps, n - 1);
    curve->has_recommendation = pm_recommend(qps, p99_us, n, slo_p99_us, &curve->recommendation);
    if (curve->has_recommendation) {
        size_t rec = curve->recommendation;
        bool rises_later = false;
        for (size_t i = rec + 1; i < n; i++)
            rises_later = rises_later || pm__rising(concurrency, qps, i);
        /* A recommendation past the knee means the curve still climbed to
         * 95% of its peak there; without a knee, a curve flat after the
         * recommendation bends at it. Either way the recommendation is the
         * knee, so the two never disagree. */
        if ((curve->has_knee && rec > curve->knee) ||
            (!curve->has_knee && !rises_later && rec + 1 < n)) {
            curve->has_knee = true;
            curve->knee = rec;
            curve->knee_at_recommendation = true;
        }
    }
    pm_assess(concurrency, qps, p99_us, n, curve->has_knee ? curve->knee : n, assessment);
}

static int pm__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double pm_median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, pm__cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

size_t pm_pareto(const double *p99_us, const double *qps, size_t n, size_t *out)
{
    /* Insertion sort by p99, then QPS descending: sweeps hold a few dozen
     * points, and the order must be stable for reproducible plots. */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && (p99_us[out[j - 1]] > p99_us[i] ||
                         (p99_us[out[j - 1]] == p99_us[i] && qps[out[j - 1]] < qps[i]))) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
    size_t kept = 0;
    double best = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (qps[out[i]] > best) {
            best = qps[out[i]];
            out[kept++] = out[i];
        }
    }
    return kept;
}
