/* Number and time formatting, and parsers for the CLI's small value types.
 * The formatters avoid printf on the per-point path: a whole-process query
 * of 86,400 points has a budget of a few milliseconds. */
#include "internal.h"

#include "pmbase/alloc.h"
#include "pmbase/number.h"

#include <float.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t put_uint(uint64_t v, char *buf)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

size_t rondocli_format_double(double v, char *buf)
{
    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }
    /* Most gauges and counters hold integers or a few decimals. m / 1e6 is
     * the correctly rounded quotient of two exact doubles, which is exactly
     * what reading the printed decimal back gives, so the equality test
     * proves the short form round-trips. */
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
        int64_t i = (int64_t)v;
        size_t n = 0;
        if (i < 0 || (i == 0 && signbit(v)))
            buf[n++] = '-';
        n += put_uint(i < 0 ? (uint64_t)(-i) : (uint64_t)i, buf + n);
        buf[n] = '\0';
        return n;
    }
    if (fabs(v) < 1e9) {
        /* Rounding half away from zero by hand avoids a libm call; an
         * imperfect rounding only means the check below fails over to the
         * slow path. */
        double scaled = v * 1e6;
        int64_t m = (int64_t)(scaled >= 0 ? scaled + 0.5 : scaled - 0.5);
        if ((double)m / 1e6 == v) {
            size_t n = 0;
            uint64_t u = m < 0 ? (uint64_t)(-m) : (uint64_t)m;
            if (m < 0)
                buf[n++] = '-';
            n += put_uint(u / 1000000, buf + n);
            uint64_t frac = u % 1000000;
            if (frac != 0) {
                buf[n++] = '.';
                char digits[6];
                for (int k = 5; k >= 0; k--) {
                    digits[k] = (char)('0' + frac % 10);
                    frac /= 10;
                }
                int len = 6;
                while (digits[len - 1] == '0')
                    len--;
                memcpy(buf + n, digits, (size_t)len);
                n += (size_t)len;
            }
            buf[n] = '\0';
            return n;
        }
    }
    /* Otherwise the shortest of %.15g .. %.17g that reads back exactly. */
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            return (size_t)n;
    }
    return 0;
}

size_t rondocli_format_time(int64_t t, char *buf)
{
    /* Civil date from days since the epoch (Howard Hinnant's algorithm):
     * no locale, no time zone database, a few multiplications. */
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    int64_t hh = secs / 3600, mm = secs / 60 % 60, ss = secs % 60;
    if (y < 0 || y > 9999)
        return (size_t)snprintf(buf, 32, "@%lld", (long long)t);
    char *p = buf;
    p[0] = (char)('0' + y / 1000);
    p[1] = (char)('0' + y / 100 % 10);
    p[2] = (char)('0' + y / 10 % 10);
    p[3] = (char)('0' + y % 10);
    p[4] = '-';
    p[5] = (char)('0' + m / 10);
    p[6] = (char)('0' + m % 10);
    p[7] = '-';
    p[8] = (char)('0' + d / 10);
    p[9] = (char)('0' + d % 10);
    p[10] = 'T';
    p[11] = (char)('0' + hh / 10);
    p[12] = (char)('0' + hh % 10);
    p[13] = ':';
    p[14] = (char)('0' + mm / 10);
    p[15] = (char)('0' + mm % 10);
    p[16] = ':';
    p[17] = (char)('0' + ss / 10);
    p[18] = (char)('0' + ss % 10);
    p[19] = 'Z';
    p[20] = '\0';
    return 20;
}

size_t rondocli__format_time_fast(struct rondocli__clock *c, int64_t t, char *buf)
{
    if (t < c->day_start || t >= c->day_end) {
        int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
        char full[32];
        if (rondocli_format_time(day * 86400, full) != 20)
            return rondocli_format_time(t, buf);
        memcpy(c->date, full, 11);
        c->day_start = day * 86400;
        c->day_end = c->day_start + 86400;
    }
    uint32_t secs = (uint32_t)(t - c->day_start);
    uint32_t hh = secs / 3600, mm = secs / 60 % 60, ss = secs % 60;
    memcpy(buf, c->date, 11);
    buf[11] = (char)('0' + hh / 10);
    buf[12] = (char)('0' + hh % 10);
    buf[13] = ':';
    buf[14] = (char)('0' + mm / 10);
    buf[15] = (char)('0' + mm % 10);
    buf[16] = ':';
    buf[17] = (char)('0' + ss / 10);
    buf[18] = (char)('0' + ss % 10);
    buf[19] = 'Z';
    buf[20] = '\0';
    return 20;
}

rondo_status rondocli_parse_range(const char *text, rondocli_range *out, rondo_error *err)
{
    if (strcmp(text, "all") == 0) {
        *out = (rondocli_range){true, 0};
        return RONDO_OK;
    }
    out->all = false;
    return rondo_duration_parse(text, &out->seconds, err);
}

rondo_status rondocli_parse_time(const char *text, int64_t now, int64_t *out, rondo_error *err)
{
    const char *rel = NULL;
    if (strcmp(text, "now") == 0) {
        *out = now;
        return RONDO_OK;
    }
    if (strncmp(text, "now-", 4) == 0)
        rel = text + 4;
    else if (text[0] == '-')
        rel = text + 1;
    if (rel != NULL) {
        int64_t d = 0;
        rondo_error sub;
        if (rondo_duration_parse(rel, &d, &sub) != RONDO_OK || d > now) {
            rondo_error_set(err, RONDO_ERR_INPUT,
                            "bad time '%.100s': expected Unix seconds, now, now-<duration> or "
                            "-<duration> (%.200s)",
                            text, d > now ? "before 1970" : sub.message);
            return RONDO_ERR_INPUT;
        }
        *out = now - d;
        return RONDO_OK;
    }
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v > RONDO_TIME_MAX) {
        rondo_error_set(err, RONDO_ERR_INPUT,
                        "bad time '%.100s' at column %zu: expected Unix seconds, now, "
                        "now-<duration> or -<duration>",
                        text, (size_t)(text[0] < '0' || text[0] > '9' ? 1 : end - text + 1));
        return RONDO_ERR_INPUT;
    }
    *out = v;
    return RONDO_OK;
}

static bool parse_count(const char *text, size_t len, uint64_t *out)
{
    if (len == 0 || len > 12)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    *out = v;
    return true;
}

rondo_status rondocli_parse_archive(const char *text, rondo_cf default_cf, rondo_archive_spec *out,
                                    rondo_error *err)
{
    char buf[64];
    if (strlen(text) >= sizeof buf) {
        rondo_error_set(err, RONDO_ERR_INPUT, "bad archive '%.100s': too long", text);
        return RONDO_ERR_INPUT;
    }
    strcpy(buf, text);
    char *rows = strchr(buf, ':');
    char *cf = rows ? strchr(rows + 1, ':') : NULL;
    if (rows == NULL) {
        rondo_error_set(err, RONDO_ERR_INPUT,
                        "bad archive '%s': expected RESOLUTION:ROWS[:CF], e.g. 1s:3600 or "
                        "10s:1d:max",
                        text);
        return RONDO_ERR_INPUT;
    }
    *rows++ = '\0';
    if (cf != NULL)
        *cf++ = '\0';
    rondo_error sub;
    int64_t res;
    if (rondo_duration_parse(buf, &res, &sub) != RONDO_OK) {
        rondo_error_set(err, RONDO_ERR_INPUT, "bad archive '%s': resolution: %.300s", text,
                        sub.message);
        return RONDO_ERR_INPUT;
    }
    uint64_t count;
    if (!parse_count(rows, strlen(rows), &count)) {
        int64_t span;
        if (rondo_duration_parse(rows, &span, &sub) != RONDO_OK) {
            rondo_error_set(err, RONDO_ERR_INPUT,
                            "bad archive '%s': rows must be a count or a duration (%.300s)", text,
                            sub.message);
            return RONDO_ERR_INPUT;
        }
        count = (uint64_t)((span + res - 1) / res);
    }
    if (count < 1 || count > RONDO_MAX_ROWS) {
        rondo_error_set(err, RONDO_ERR_INPUT, "bad archive '%s': %llu rows, must be 1 to %u", text,
                        (unsigned long long)count, RONDO_MAX_ROWS);
        return RONDO_ERR_INPUT;
    }
    out->resolution = res;
    out->rows = (uint32_t)count;
    out->cf = default_cf;
    if (cf != NULL && !rondo_cf_parse(cf, &out->cf)) {
        rondo_error_set(err, RONDO_ERR_INPUT,
                        "bad archive '%s': consolidation '%s' is not avg, min, max, last or sum",
                        text, cf);
        return RONDO_ERR_INPUT;
    }
    return RONDO_OK;
}

rondo_status rondocli_parse_value(const char *text, double *out, rondo_error *err)
{
    /* Any finite double, subnormals included (strtod's ERANGE on underflow
     * still gives the right value). */
    pmb_error perr = {0};
    if (pmb_parse_double("value", text, -DBL_MAX, DBL_MAX, out, &perr) != PMB_OK) {
        rondo_error_set(err, RONDO_ERR_INPUT, "bad value '%.100s': expected a finite number", text);
        return RONDO_ERR_INPUT;
    }
    return RONDO_OK;
}

bool rondocli_parse_format(const char *text, rondocli_format *out)
{
    static const char *const names[] = {"table", "csv", "json"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (rondocli_format)i;
            return true;
        }
    }
    return false;
}

void rondocli__out_flush(struct rondocli__out *o)
{
    if (o->len > 0 && fwrite(o->buf, 1, o->len, o->file) != o->len)
        o->failed = true;
    o->len = 0;
}

char *rondocli__out_reserve(struct rondocli__out *o, size_t n)
{
    if (o->len + n > sizeof o->buf)
        rondocli__out_flush(o);
    return o->buf + o->len;
}

void rondocli__out_write(struct rondocli__out *o, const char *s, size_t n)
{
    if (o->len + n > sizeof o->buf) {
        rondocli__out_flush(o);
        if (n > sizeof o->buf) {
            if (fwrite(s, 1, n, o->file) != n)
                o->failed = true;
            return;
        }
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

void rondocli__out_str(struct rondocli__out *o, const char *s)
{
    rondocli__out_write(o, s, strlen(s));
}

void rondocli__out_printf(struct rondocli__out *o, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    if ((size_t)n < sizeof tmp) {
        rondocli__out_write(o, tmp, (size_t)n);
        return;
    }
    /* A line longer than the stack buffer (a long store path) is formatted
     * again at its full size: output is never cut. */
    char *big = pmb_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rondocli__out_write(o, big, (size_t)n);
    free(big);
}

void rondocli__out_json_string(struct rondocli__out *o, const char *s)
{
    rondocli__out_write(o, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rondocli__out_write(o, esc, 2);
        } else if (c < 0x20) {
            rondocli__out_printf(o, "\\u%04x", c);
        } else {
            rondocli__out_write(o, s, 1);
        }
    }
    rondocli__out_write(o, "\"", 1);
}

void rondocli__out_csv_string(struct rondocli__out *o, const char *s)
{
    rondocli__out_write(o, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            rondocli__out_write(o, "\"", 1);
        rondocli__out_write(o, s, 1);
    }
    rondocli__out_write(o, "\"", 1);
}
