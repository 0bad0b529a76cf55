/* rankd's command line, parsed into a struct so tests can drive it. */
#ifndef RANKD_OPTIONS_H
#define RANKD_OPTIONS_H

#include "rankd/rankd.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rankd_options {
    const char *plan_name;
    const char *plan_dir;
    uint64_t bench;
    double duration_sec;
    uint64_t warmup_iters;
    uint32_t concurrency;
    bool concurrency_given;
    double rate;
    uint32_t cpu_threads;
    uint32_t io_threads;
    bool async;
    const char *redis;
    bool json;
    bool seed_redis;
    bool progress;
    bool help;
} rankd_options;

/* Fills opts from argv (flags as --flag=value or --flag value). Returns
 * RANKD_EINPUT with a message naming the flag on any bad flag or value. */
int rankd_options_parse(int argc, char **argv, rankd_options *opts, rankd_error *err);

/* The text of --help. */
const char *rankd_usage(void);

#ifdef __cplusplus
}
#endif

#endif
