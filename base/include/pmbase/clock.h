/* Monotonic time, for durations and deadlines. */
#ifndef PMBASE_CLOCK_H
#define PMBASE_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint64_t pmb_now_ns(void);
double pmb_now_sec(void);

#ifdef __cplusplus
}
#endif

#endif
