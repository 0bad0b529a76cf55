/* Log-linear histogram: see rankd/histogram.h for the layout. */
#include "rankd/histogram.h"

#include <math.h>
#include <string.h>

#define SUB_COUNT      (1u << RANKD_HIST_SUB_SHIFT)
#define SUB_HALF_SHIFT (RANKD_HIST_SUB_SHIFT - 1)
#define SUB_HALF       (1u << SUB_HALF_SHIFT)
#define SUB_MASK       ((uint64_t)(SUB_COUNT - 1) << RANKD_HIST_UNIT_SHIFT)

static uint32_t bucket_of(uint64_t v)
{
    /* The position of the highest bit above the sub-bucket range. */
    int pow2 = 64 - __builtin_clzll(v | SUB_MASK);
    return (uint32_t)(pow2 - (RANKD_HIST_UNIT_SHIFT + RANKD_HIST_SUB_SHIFT));
}

static uint32_t index_of(uint64_t v)
{
    uint32_t bucket = bucket_of(v);
    uint32_t sub = (uint32_t)(v >> (bucket + RANKD_HIST_UNIT_SHIFT));
    return ((bucket + 1) << SUB_HALF_SHIFT) + (sub - SUB_HALF);
}

/* The highest value that lands in the same slot as index i. */
static uint64_t highest_of(uint32_t i)
{
    uint32_t bucket = (i >> SUB_HALF_SHIFT);
    uint32_t sub = (i & (SUB_HALF - 1)) + SUB_HALF;
    if (bucket == 0) {
        sub = i;
    } else {
        bucket -= 1;
    }
    uint64_t low = (uint64_t)sub << (bucket + RANKD_HIST_UNIT_SHIFT);
    return low + ((uint64_t)1 << (bucket + RANKD_HIST_UNIT_SHIFT)) - 1;
}

void rankd_hist_reset(rankd_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min_ns = UINT64_MAX;
}

void rankd_hist_record(rankd_hist *h, uint64_t ns)
{
    uint64_t v = ns > RANKD_HIST_MAX_NS ? RANKD_HIST_MAX_NS : ns;
    h->counts[index_of(v)]++;
    h->total++;
    h->sum_ns += (double)ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    if (ns < h->min_ns)
        h->min_ns = ns;
}

void rankd_hist_merge(rankd_hist *into, const rankd_hist *from)
{
    for (uint32_t i = 0; i < RANKD_HIST_COUNTS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    into->sum_ns += from->sum_ns;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
    if (from->min_ns < into->min_ns)
        into->min_ns = from->min_ns;
}

uint64_t rankd_hist_percentile(const rankd_hist *h, double percentile)
{
    if (h->total == 0)
        return 0;
    if (percentile < 0)
        percentile = 0;
    if (percentile > 100)
        percentile = 100;
    uint64_t rank = (uint64_t)ceil(percentile / 100.0 * (double)h->total);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < RANKD_HIST_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = highest_of(i);
            return v < h->max_ns ? v : h->max_ns;
        }
    }
    return h->max_ns;
}

double rankd_hist_mean(const rankd_hist *h)
{
    return h->total ? h->sum_ns / (double)h->total : 0.0;
}
