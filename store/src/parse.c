/* Parsers for series keys, selectors and durations. They never allocate:
 * names and values are copied into the storage of the structure they fill,
 * and every error names the 1-based column where the text went wrong. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    const char *text;
    size_t pos;
    const char *what; /* "selector" or "series" */
    char *out;
    size_t out_used;
    size_t out_size;
    rondo_error *err;
};

static rondo_status parse_fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static rondo_status parse_fail(struct parser *p, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    rondo_error_set(p->err, RONDO_ERR_INPUT, "bad %s at column %zu: %s (in '%.200s')", p->what,
                    p->pos + 1, what, p->text);
    return RONDO_ERR_INPUT;
}

static bool is_name_start(char c, bool metric)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}

static bool is_name_char(char c, bool metric)
{
    return is_name_start(c, metric) || (c >= '0' && c <= '9');
}

/* Bare label values: printable, not a delimiter of the grammar. */
static bool is_bare_char(char c)
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x80)
        return true;
    if (u <= 0x20 || u == 0x7f)
        return false;
    return strchr(",{}=!\"\\", c) == NULL;
}

static void skip_space(struct parser *p)
{
    while (p->text[p->pos] == ' ' || p->text[p->pos] == '\t')
        p->pos++;
}

/* Starts a new string in the storage; returns it. */
static char *out_begin(struct parser *p)
{
    return p->out + p->out_used;
}

static bool out_put(struct parser *p, char c)
{
    if (p->out_used + 1 >= p->out_size)
        return false;
    p->out[p->out_used++] = c;
    return true;
}

static bool out_end(struct parser *p)
{
    if (p->out_used >= p->out_size)
        return false;
    p->out[p->out_used++] = '\0';
    return true;
}

static rondo_status parse_name(struct parser *p, bool metric, const char **out)
{
    char *start = out_begin(p);
    while (is_name_char(p->text[p->pos], metric)) {
        if (!out_put(p, p->text[p->pos]))
            return parse_fail(p, "text too long");
        p->pos++;
    }
    if (!out_end(p))
        return parse_fail(p, "text too long");
    *out = start;
    return RONDO_OK;
}

static rondo_status parse_value(struct parser *p, const char **out)
{
    char *start = out_begin(p);
    if (p->text[p->pos] == '"') {
        p->pos++;
        for (;;) {
            char c = p->text[p->pos];
            if (c == '\0')
                return parse_fail(p, "unterminated quoted value");
            if (c == '"')
                break;
            if (c == '\\') {
                char next = p->text[p->pos + 1];
                if (next != '"' && next != '\\')
                    return parse_fail(p, "only \\\" and \\\\ may be escaped");
                p->pos++;
                c = next;
            }
            if (!out_put(p, c))
                return parse_fail(p, "text too long");
            p->pos++;
        }
        p->pos++;
    } else {
        while (is_bare_char(p->text[p->pos])) {
            if (!out_put(p, p->text[p->pos]))
                return parse_fail(p, "text too long");
            p->pos++;
        }
    }
    if (!out_end(p))
        return parse_fail(p, "text too long");
    *out = start;
    return RONDO_OK;
}

/* Parses the grammar shared by selectors and series keys:
 *   [name] ['{' [label op value {',' label op value} [',']] '}']
 * with spaces allowed between tokens. */
static rondo_status parse_selector_text(struct parser *p, rondo_selector *sel)
{
    rondo_status st;
    sel->name = NULL;
    sel->nmatchers = 0;
    if (strlen(p->text) > RONDO_MAX_KEY) {
        p->pos = RONDO_MAX_KEY;
        return parse_fail(p, "longer than %d bytes", RONDO_MAX_KEY);
    }
    skip_space(p);
    if (is_name_start(p->text[p->pos], true)) {
        if ((st = parse_name(p, true, &sel->name)) != RONDO_OK)
            return st;
        skip_space(p);
    } else if (p->text[p->pos] != '{') {
        if (p->text[p->pos] == '\0')
            return parse_fail(p, "expected a metric name");
        return parse_fail(p, "unexpected '%c', expected a metric name or '{'", p->text[p->pos]);
    }
    if (p->text[p->pos] == '{') {
        p->pos++;
        skip_space(p);
        while (p->text[p->pos] != '}') {
            if (sel->nmatchers == RONDO_MAX_LABELS)
                return parse_fail(p, "more than %d labels", RONDO_MAX_LABELS);
            rondo_matcher *m = &sel->matchers[sel->nmatchers];
            if (!is_name_start(p->text[p->pos], false)) {
                if (p->text[p->pos] == '\0')
                    return parse_fail(p, "missing '}'");
                return parse_fail(p, "unexpected '%c', expected a label name", p->text[p->pos]);
            }
            if ((st = parse_name(p, false, &m->name)) != RONDO_OK)
                return st;
            skip_space(p);
            const char *op = p->text + p->pos;
            if (op[0] == '=' && op[1] == '~')
                return parse_fail(p, "regular expression matchers (=~) are not supported");
            if (op[0] == '!' && op[1] == '~')
                return parse_fail(p, "regular expression matchers (!~) are not supported");
            if (op[0] == '=') {
                m->op = RONDO_MATCH_EQ;
                p->pos += 1;
            } else if (op[0] == '!' && op[1] == '=') {
                m->op = RONDO_MATCH_NE;
                p->pos += 2;
            } else {
                return parse_fail(p, "expected '=' or '!=' after label '%s'", m->name);
            }
            skip_space(p);
            if ((st = parse_value(p, &m->value)) != RONDO_OK)
                return st;
            sel->nmatchers++;
            skip_space(p);
            if (p->text[p->pos] == ',') {
                p->pos++;
                skip_space(p);
            } else if (p->text[p->pos] != '}') {
                if (p->text[p->pos] == '\0')
                    return parse_fail(p, "missing '}'");
                return parse_fail(p, "unexpected '%c', expected ',' or '}'", p->text[p->pos]);
            }
        }
        p->pos++;
        skip_space(p);
    }
    if (p->text[p->pos] != '\0')
        return parse_fail(p, "unexpected '%c' after the selector", p->text[p->pos]);
    if (sel->name == NULL && sel->nmatchers == 0) {
        p->pos = 0;
        return parse_fail(p, "an empty selector needs a metric name");
    }
    return RONDO_OK;
}

rondo_status rondo_selector_parse(rondo_selector *out, const char *text, rondo_error *err)
{
    struct parser p = {text, 0, "selector", out->storage, 0, sizeof out->storage, err};
    return parse_selector_text(&p, out);
}

static int label_cmp(const void *a, const void *b)
{
    return strcmp(((const rondo_label *)a)->name, ((const rondo_label *)b)->name);
}

rondo_status rondo_series_id_parse(rondo_series_id *out, const char *text, rondo_error *err)
{
    rondo_selector sel;
    struct parser p = {text, 0, "series", sel.storage, 0, sizeof sel.storage, err};
    rondo_status st = parse_selector_text(&p, &sel);
    if (st != RONDO_OK)
        return st;
    if (sel.name == NULL) {
        rondo_error_set(err, RONDO_ERR_INPUT,
                        "bad series at column 1: a series needs a metric "
                        "name (in '%.200s')",
                        text);
        return RONDO_ERR_INPUT;
    }
    /* Re-point the strings into the series' own storage. */
    memcpy(out->storage, sel.storage, sizeof out->storage);
    out->name = out->storage + (sel.name - sel.storage);
    out->nlabels = sel.nmatchers;
    for (size_t i = 0; i < sel.nmatchers; i++) {
        const rondo_matcher *m = &sel.matchers[i];
        if (m->op != RONDO_MATCH_EQ) {
            rondo_error_set(err, RONDO_ERR_INPUT,
                            "bad series: label '%s' uses '!=', a series key only takes '=' "
                            "(in '%.200s')",
                            m->name, text);
            return RONDO_ERR_INPUT;
        }
        if (m->value[0] == '\0') {
            rondo_error_set(err, RONDO_ERR_INPUT,
                            "bad series: label '%s' has an empty value (in '%.200s')", m->name,
                            text);
            return RONDO_ERR_INPUT;
        }
        out->labels[i].name = out->storage + (m->name - sel.storage);
        out->labels[i].value = out->storage + (m->value - sel.storage);
    }
    qsort(out->labels, out->nlabels, sizeof out->labels[0], label_cmp);
    for (size_t i = 1; i < out->nlabels; i++) {
        if (strcmp(out->labels[i - 1].name, out->labels[i].name) == 0) {
            rondo_error_set(err, RONDO_ERR_INPUT,
                            "bad series: label '%s' appears twice (in '%.200s')",
                            out->labels[i].name, text);
            return RONDO_ERR_INPUT;
        }
    }
    char canonical[RONDO_MAX_KEY + 1];
    if (rondo_series_id_format(out, canonical, sizeof canonical) < 0) {
        rondo_error_set(err, RONDO_ERR_INPUT,
                        "bad series: its canonical key is longer than %d bytes (in '%.200s')",
                        RONDO_MAX_KEY, text);
        return RONDO_ERR_INPUT;
    }
    return RONDO_OK;
}

static bool needs_quotes(const char *v)
{
    /* A bare value starting with '~' would read back as the =~ operator. */
    if (*v == '\0' || *v == '~')
        return true;
    for (; *v; v++) {
        if (!is_bare_char(*v))
            return true;
    }
    return false;
}

int rondo_series_id_format(const rondo_series_id *id, char *buf, size_t size)
{
    size_t n = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 >= size)                                                                         \
            return -1;                                                                             \
        buf[n++] = (c);                                                                            \
    } while (0)
    for (const char *s = id->name; *s; s++)
        PUT(*s);
    if (id->nlabels > 0) {
        PUT('{');
        for (size_t i = 0; i < id->nlabels; i++) {
            if (i > 0)
                PUT(',');
            for (const char *s = id->labels[i].name; *s; s++)
                PUT(*s);
            PUT('=');
            const char *v = id->labels[i].value;
            bool quote = needs_quotes(v);
            if (quote)
                PUT('"');
            for (; *v; v++) {
                if (*v == '"' || *v == '\\')
                    PUT('\\');
                PUT(*v);
            }
            if (quote)
                PUT('"');
        }
        PUT('}');
    }
#undef PUT
    if (size == 0)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

const char *rondo_series_id_label(const rondo_series_id *id, const char *name)
{
    for (size_t i = 0; i < id->nlabels; i++) {
        if (strcmp(id->labels[i].name, name) == 0)
            return id->labels[i].value;
    }
    return NULL;
}

bool rondo_selector_matches(const rondo_selector *sel, const rondo_series_id *id)
{
    if (sel->name != NULL && strcmp(sel->name, id->name) != 0)
        return false;
    for (size_t i = 0; i < sel->nmatchers; i++) {
        const rondo_matcher *m = &sel->matchers[i];
        const char *v = rondo_series_id_label(id, m->name);
        bool equal = strcmp(v ? v : "", m->value) == 0;
        if (equal != (m->op == RONDO_MATCH_EQ))
            return false;
    }
    return true;
}

rondo_status rondo_duration_parse(const char *text, int64_t *seconds, rondo_error *err)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
    size_t pos = 0;
    int64_t total = 0;
    if (text[0] == '\0') {
        rondo_error_set(err, RONDO_ERR_INPUT, "bad duration '' at column 1: empty");
        return RONDO_ERR_INPUT;
    }
    while (text[pos] != '\0') {
        if (text[pos] < '0' || text[pos] > '9') {
            rondo_error_set(err, RONDO_ERR_INPUT,
                            "bad duration '%.100s' at column %zu: expected a number "
                            "(durations look like 90s, 5m, 1h30m, 2d, 1w)",
                            text, pos + 1);
            return RONDO_ERR_INPUT;
        }
        int64_t number = 0;
        while (text[pos] >= '0' && text[pos] <= '9') {
            number = number * 10 + (text[pos] - '0');
            if (number > RONDO_TIME_MAX) {
                rondo_error_set(err, RONDO_ERR_INPUT,
                                "bad duration '%.100s' at column %zu: too large", text, pos + 1);
                return RONDO_ERR_INPUT;
            }
            pos++;
        }
        int64_t scale = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (text[pos] == units[i].unit)
                scale = units[i].seconds;
        }
        if (scale == 0) {
            rondo_error_set(err, RONDO_ERR_INPUT,
                            "bad duration '%.100s' at column %zu: expected a unit s, m, h, d "
                            "or w after the number",
                            text, pos + 1);
            return RONDO_ERR_INPUT;
        }
        pos++;
        if (number > (RONDO_TIME_MAX - total) / scale) {
            rondo_error_set(err, RONDO_ERR_INPUT, "bad duration '%.100s' at column %zu: too large",
                            text, pos);
            return RONDO_ERR_INPUT;
        }
        total += number * scale;
    }
    if (total == 0) {
        rondo_error_set(err, RONDO_ERR_INPUT, "bad duration '%.100s' at column 1: must be positive",
                        text);
        return RONDO_ERR_INPUT;
    }
    *seconds = total;
    return RONDO_OK;
}
