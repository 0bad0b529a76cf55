/* librondocli: everything rondo-cli does, as a library so that the
 * argument, range, time and output-format logic can be unit-tested. */
#ifndef RONDOCLI_RONDOCLI_H
#define RONDOCLI_RONDOCLI_H

#include "rondo/rondo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of rondo-cli. */
enum {
    RONDOCLI_EXIT_OK = 0,
    RONDOCLI_EXIT_RUNTIME = 1, /* a system call failed: I/O, mapping, memory */
    RONDOCLI_EXIT_INPUT = 2,   /* bad input: usage, selector, duration, no such store or
                                  series, corrupt file, a sample the store refused */
};

/* Runs rondo-cli with argv (argv[0] is the program name); returns the exit
 * code. Results go to `out`, the one-line error (if any) to `err`. */
int rondocli_main(int argc, char **argv, FILE *out, FILE *err);

/* The exit code for a librondo status. */
int rondocli_exit_code(rondo_status status);

/* `--range`: "all" or a duration ("5m", "1h30m"). */
typedef struct rondocli_range {
    bool all;
    int64_t seconds;
} rondocli_range;

rondo_status rondocli_parse_range(const char *text, rondocli_range *out, rondo_error *err);

/* `--time` and `--end`: Unix seconds ("1763719200"), "now", "now-<duration>"
 * or "-<duration>" (both relative to `now`). */
rondo_status rondocli_parse_time(const char *text, int64_t now, int64_t *out, rondo_error *err);

/* `--archive RES:ROWS[:CF]`: RES a duration, ROWS a count or a duration
 * spanned (then divided by RES), CF avg, min, max, last or sum (default
 * `default_cf`). E.g. "1s:3600", "10s:1d:max". */
rondo_status rondocli_parse_archive(const char *text, rondo_cf default_cf, rondo_archive_spec *out,
                                    rondo_error *err);

/* A finite decimal number for `record`. */
rondo_status rondocli_parse_value(const char *text, double *out, rondo_error *err);

typedef enum rondocli_format {
    RONDOCLI_TABLE = 0,
    RONDOCLI_CSV = 1,
    RONDOCLI_JSON = 2,
} rondocli_format;

bool rondocli_parse_format(const char *text, rondocli_format *out);

/* Writes the shortest of "%.6f trimmed" and "%.17g" that reads back as
 * exactly v (NaN as "NaN"); buf needs 32 bytes. Returns the length. */
size_t rondocli_format_double(double v, char *buf);

/* Writes t as "2026-11-22T10:00:00Z"; buf needs 32 bytes. Returns the length. */
size_t rondocli_format_time(int64_t t, char *buf);

#endif
