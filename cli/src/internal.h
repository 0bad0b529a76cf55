/* Private declarations of librondocli. */
#ifndef RONDOCLI_INTERNAL_H
#define RONDOCLI_INTERNAL_H

#include "rondocli/rondocli.h"

#include <stdarg.h>

/* A large output buffer in front of stdio: the query path writes one short
 * line per point and must not pay a locked stdio call for each. */
struct rondocli__out {
    FILE *file;
    bool failed;
    size_t len;
    char buf[1 << 16];
};

void rondocli__out_flush(struct rondocli__out *o);
/* Room for n more bytes (n at most the buffer size): format in place, then
 * add the length written to o->len. */
char *rondocli__out_reserve(struct rondocli__out *o, size_t n);
void rondocli__out_write(struct rondocli__out *o, const char *s, size_t n);
void rondocli__out_str(struct rondocli__out *o, const char *s);
void rondocli__out_printf(struct rondocli__out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rondocli__out_json_string(struct rondocli__out *o, const char *s);
void rondocli__out_csv_string(struct rondocli__out *o, const char *s);

/* Formats consecutive times quickly: the date part is computed once per
 * day, the time of day with a few small divisions. */
struct rondocli__clock {
    int64_t day_start, day_end;
    char date[12]; /* "YYYY-MM-DDT" */
};

size_t rondocli__format_time_fast(struct rondocli__clock *c, int64_t t, char *buf);

#endif
