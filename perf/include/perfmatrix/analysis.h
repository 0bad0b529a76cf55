/* Analysis of a throughput sweep: knee detection, the Universal Scalability
 * Law fit, the seed's assessment column and the recommended operating point.
 * Every function works on one series (one plan, vcpus and scheduler mode)
 * whose points are sorted by increasing concurrency. */
#ifndef PERFMATRIX_ANALYSIS_H
#define PERFMATRIX_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>

/* A level whose QPS still rises by at least this fraction per doubling of
 * the concurrency (from the level below) is not saturated yet: the knee is
 * never before it, and it is never called over-saturated (see pm_knee). */
#define PM_RISE_PER_DOUBLING 0.05

/* The operating point is the smallest concurrency reaching this fraction of
 * the peak throughput. */
#define PM_RECOMMEND_PEAK_FRACTION 0.95

/* The USL fit is reported only when it explains this much of the variance. */
#define PM_USL_MIN_R2 0.9

typedef enum {
    PM_ASSESS_UNDERUTILIZED,
    PM_ASSESS_NEAR_LINEAR,
    PM_ASSESS_GOOD_SCALING,
    PM_ASSESS_STARTING_TO_SATURATE,
    PM_ASSESS_SATURATED_KNEE,
    PM_ASSESS_OVER_SATURATED,
    PM_ASSESS_SEVERELY_OVER_SATURATED,
} pm_assessment;

typedef struct {
    double lambda; /* throughput of one request in flight (QPS) */
    double sigma;  /* contention */
    double kappa;  /* coherency (crosstalk) */
    double r2;     /* coefficient of determination on QPS */
    double n_star; /* concurrency of peak throughput, 0 when kappa is 0 */
} pm_usl;

/* Index of the Kneedle bend (Satopaa et al. 2011) of y over log2(x): the
 * maximum of the normalized difference curve of a concave increasing curve.
 * Returns false when the curve has no bend (fewer than three points, flat, or
 * never above the chord). */
bool pm_kneedle(const double *x, const double *y, size_t n, size_t *bend);

/* The rise of QPS into level i (i >= 1) from level i - 1, per doubling of
 * the concurrency: 0.05 means +5% per doubling. NaN when undefined. */
double pm_rise_per_doubling(const double *concurrency, const double *qps, size_t i);

/* Index of the knee of a QPS curve: the Kneedle bend, moved forward to the
 * last level whose QPS still rises by PM_RISE_PER_DOUBLING. Returns false
 * when there is no bend, or when QPS still rises that much at the last
 * level (the knee lies beyond the sweep). */
bool pm_knee(const double *concurrency, const double *qps, size_t n, size_t *knee);

/* Fits X(N) = lambda N / (1 + sigma (N - 1) + kappa N (N - 1)) by least
 * squares on N / X, with sigma and kappa kept non-negative. Returns false
 * with why (when not NULL) saying what prevented the fit: fewer than three
 * distinct levels, a level with no throughput, or no model with sigma and
 * kappa >= 0. */
bool pm_usl_fit(const double *concurrency, const double *qps, size_t n, pm_usl *out, char *why,
                size_t whylen);

/* Classifies every level of a series into the seed's assessment column;
 * knee is the index from pm_knee or n when there is none. The lowest level
 * is Underutilized only when it is below PM_RECOMMEND_PEAK_FRACTION of the
 * peak (more concurrency would pay). */
void pm_assess(const double *concurrency, const double *qps, const double *p99_us, size_t n,
               size_t knee, pm_assessment *out);

const char *pm_assessment_name(pm_assessment a);

/* Index of the smallest concurrency reaching PM_RECOMMEND_PEAK_FRACTION of
 * the peak throughput with p99 within slo_p99_us (ignored when <= 0).
 * Returns false when no level qualifies. */
bool pm_recommend(const double *qps, const double *p99_us, size_t n, double slo_p99_us,
                  size_t *index);

/* The whole analysis of one curve, made to agree with itself: no level still
 * rising by PM_RISE_PER_DOUBLING is past the knee, and the recommended level
 * is never past the knee nor Underutilized (when the recommendation lies past
 * the Kneedle knee, the curve was still climbing there, so the knee moves to
 * it; when no knee is found but the curve no longer rises after the
 * recommendation, the recommendation is the knee). */
typedef struct {
    bool has_bend; /* the raw Kneedle bend */
    size_t bend;
    bool has_knee;
    size_t knee;
    bool knee_at_recommendation; /* the knee was moved to the recommendation */
    bool still_rising;           /* QPS still rises PM_RISE_PER_DOUBLING at the last level */
    bool has_recommendation;
    size_t recommendation;
} pm_curve;

void pm_curve_analyze(const double *concurrency, const double *qps, const double *p99_us, size_t n,
                      double slo_p99_us, pm_curve *curve, pm_assessment *assessment);

/* Median of v (reordered in place); NaN for an empty array. */
double pm_median(double *v, size_t n);

/* Indices of the Pareto frontier of (p99, qps): the points that no other point
 * beats with both a lower p99 and a higher QPS, sorted by p99. Returns the
 * number written to out (which holds n entries). */
size_t pm_pareto(const double *p99_us, const double *qps, size_t n, size_t *out);

#endif
