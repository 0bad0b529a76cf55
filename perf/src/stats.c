#include "perfmatrix/stats.h"

#include "perfmatrix/analysis.h"
#include "pmbase/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double v;
    int side;
} pm__obs;

static int pm__cmp_obs(const void *x, const void *y)
{
    double a = ((const pm__obs *)x)->v, b = ((const pm__obs *)y)->v;
    return (a > b) - (a < b);
}

/* Number of ways to choose, out of the sizes given, a subset of na values
 * whose U statistic is u, for every u: the exact null distribution. */
static double *pm__u_counts(size_t na, size_t nb)
{
    size_t umax = na * nb;
    /* f[i][j][u]: arrangements of i a's and j b's with U = u, rolled over i. */
    size_t width = umax + 1;
    double *prev = pmb_calloc((nb + 1) * width, sizeof *prev);
    double *cur = pmb_calloc((nb + 1) * width, sizeof *cur);
    for (size_t j = 0; j <= nb; j++)
        prev[j * width] = 1; /* i = 0: U = 0 */
    for (size_t i = 1; i <= na; i++) {
        memset(cur, 0, (nb + 1) * width * sizeof *cur);
        cur[0] = 1; /* j = 0 */
        for (size_t j = 1; j <= nb; j++)
            for (size_t u = 0; u <= i * j; u++) {
                /* The largest value is an a (it beats all j b's) or a b. */
                double with_a = u >= j ? prev[j * width + u - j] : 0;
                double with_b = cur[(j - 1) * width + u];
                cur[j * width + u] = with_a + with_b;
            }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double *out = pmb_malloc(width * sizeof *out);
    memcpy(out, prev + nb * width, width * sizeof *out);
    free(prev);
    free(cur);
    return out;
}

static double pm__exact_p(double u, size_t na, size_t nb)
{
    double *counts = pm__u_counts(na, nb);
    size_t umax = na * nb;
    double total = 0, tail = 0;
    /* Two-sided: the tail at least as far from the centre as u. */
    double centre = (double)umax / 2, dist = fabs(u - centre);
    for (size_t k = 0; k <= umax; k++) {
        total += counts[k];
        if (fabs((double)k - centre) >= dist - 1e-9)
            tail += counts[k];
    }
    free(counts);
    return tail / total;
}

double pm_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return 1;
    size_t n = na + nb;
    pm__obs *obs = pmb_malloc(n * sizeof *obs);
    for (size_t i = 0; i < na; i++)
        obs[i] = (pm__obs){a[i], 0};
    for (size_t i = 0; i < nb; i++)
        obs[na + i] = (pm__obs){b[i], 1};
    qsort(obs, n, sizeof *obs, pm__cmp_obs);
    double rank_a = 0, ties = 0;
    bool tied = false;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && obs[j + 1].v == obs[i].v)
            j++;
        double t = (double)(j - i + 1), mid = (double)(i + j) / 2 + 1;
        for (size_t k = i; k <= j; k++)
            if (obs[k].side == 0)
                rank_a += mid;
        ties += t * t * t - t;
        tied = tied || t > 1;
        i = j + 1;
    }
    free(obs);
    double u = rank_a - (double)na * (double)(na + 1) / 2;
    if (!tied && na <= PM_MWU_EXACT_MAX && nb <= PM_MWU_EXACT_MAX)
        return pm__exact_p(u, na, nb);
    double mu = (double)na * (double)nb / 2;
    double var =
        (double)na * (double)nb / 12 * ((double)(n + 1) - ties / ((double)n * (double)(n - 1)));
    if (var <= 0)
        return 1;
    /* Continuity correction towards the centre. */
    double z = (fabs(u - mu) - 0.5) / sqrt(var);
    if (z < 0)
        z = 0;
    return erfc(z / sqrt(2));
}

double pm_mann_whitney_min_p(size_t na, size_t nb)
{
    if (na == 0 || nb == 0)
        return 1;
    /* The most extreme arrangement: one of the C(n, na) orderings per tail. */
    double c = 1;
    for (size_t i = 1; i <= na; i++)
        c = c * (double)(nb + i) / (double)i;
    return fmin(1, 2 / c);
}

/* xorshift64*: small, fast, and the same sequence everywhere. */
static uint64_t pm__next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static double pm__resampled_median(const double *v, size_t n, double *tmp, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = v[pm__next(s) % n];
    return pm_median(tmp, n);
}

static int pm__cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

pm_change pm_median_change(const double *base, size_t nb, const double *fresh, size_t nn,
                           double alpha, unsigned resamples, uint64_t seed)
{
    pm_change out = {NAN, NAN, NAN};
    if (nb == 0 || nn == 0)
        return out;
    double *tmp = pmb_malloc((nb > nn ? nb : nn) * sizeof *tmp);
    memcpy(tmp, base, nb * sizeof *tmp);
    double mb = pm_median(tmp, nb);
    memcpy(tmp, fresh, nn * sizeof *tmp);
    double mn = pm_median(tmp, nn);
    out.change = mn / mb - 1;
    if (resamples > 0) {
        double *ratios = pmb_malloc(resamples * sizeof *ratios);
        uint64_t s = seed ? seed : 0x9E3779B97F4A7C15ull;
        for (unsigned r = 0; r < resamples; r++) {
            double b = pm__resampled_median(base, nb, tmp, &s);
            double f = pm__resampled_median(fresh, nn, tmp, &s);
            ratios[r] = f / b - 1;
        }
        qsort(ratios, resamples, sizeof *ratios, pm__cmp_double);
        size_t lo = (size_t)floor(alpha / 2 * (resamples - 1));
        size_t hi = (size_t)ceil((1 - alpha / 2) * (resamples - 1));
        out.low = ratios[lo];
        out.high = ratios[hi];
        free(ratios);
    }
    free(tmp);
    return out;
}
