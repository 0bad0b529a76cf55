/* The sweep directory: perf.setup creates OUTPUT_DIR/sweep_<ts>/ and records
 * its name in OUTPUT_DIR/.current_sweep; every point writes into it and the
 * report merges it. */
#ifndef PERFMATRIX_SWEEP_H
#define PERFMATRIX_SWEEP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define PM_PATH_LEN 4096

/* Creates dir and its parents (mkdir -p). */
bool pm_mkdirs(const char *dir, char *err, size_t errlen);

/* Creates a new sweep directory under out_dir and makes it current; name
 * receives "sweep_<YYYYmmdd_HHMMSS>". */
bool pm_sweep_begin(const char *out_dir, char *name, size_t namelen, char *err, size_t errlen);

/* The current sweep's name; when none is recorded and create is set, begins
 * one (a point run without its fixture still lands somewhere). */
bool pm_sweep_current(const char *out_dir, bool create, char *name, size_t namelen, char *err,
                      size_t errlen);

/* Visits every result file (*.json) of a sweep directory: obj is the parsed
 * object, NULL for a file that is not JSON; the visitor returns false, with
 * err set, to stop. A missing directory is an empty sweep when missing_ok. */
typedef bool (*pm_sweep_visitor)(const char *name, const char *path, const cJSON *obj, void *ctx,
                                 char *err, size_t errlen);
bool pm_sweep_each(const char *sweep_dir, bool missing_ok, pm_sweep_visitor visit, void *ctx,
                   char *err, size_t errlen);
/* The "kind" of a result object ("point", "vm", "scale", ...), or "". */
const char *pm_result_kind(const cJSON *obj);

/* A number field of a result object, or NaN when it is absent or not a
 * number. */
double pm_result_number(const cJSON *obj, const char *key);

/* Where the JSON object a program printed starts in its stdout: the first
 * line beginning with '{' (a program may log lines before it), or NULL. */
const char *pm_stdout_object(const char *out);

/* Writes text to path through a temporary file and rename, so readers never
 * see half a file. */
bool pm_write_file_atomic(const char *path, const char *text, char *err, size_t errlen);

/* Writes obj, pretty-printed with a final newline, to path the same way. */
bool pm_write_json_file(const char *path, const cJSON *obj, char *err, size_t errlen);

/* Reads a whole file; NULL with err on failure. The caller frees. */
char *pm_read_file(const char *path, char *err, size_t errlen);

/* Local time as "YYYYmmdd_HHMMSS" and as ISO 8601 with offset. */
void pm_timestamp(char *buf, size_t len);
void pm_iso_time(char *buf, size_t len);

/* Knob resolution: the environment variable env (the seed's name) overrides
 * the given default. Returns false with err naming the variable when it is
 * set but not a number in [min, max]. */
bool pm_env_double(const char *env, double def, double min, double max, double *out, char *err,
                   size_t errlen);
bool pm_env_int(const char *env, int def, int min, int max, int *out, char *err, size_t errlen);

/* Parses a whole string as a number in [min, max]. */
bool pm_parse_double(const char *text, double min, double max, double *out);
bool pm_parse_int(const char *text, int min, int max, int *out);

#endif
