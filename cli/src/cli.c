/* rondo-cli's subcommands: query, info, create, record. */
#include "export.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int rondocli_exit_code(rondo_status status)
{
    switch (status) {
    case RONDO_OK:
        return RONDOCLI_EXIT_OK;
    case RONDO_ERR_IO:
    case RONDO_ERR_NOMEM:
    case RONDO_ERR_BUSY:
        return RONDOCLI_EXIT_RUNTIME;
    case RONDO_ERR_INPUT:
    case RONDO_ERR_NOT_FOUND:
    case RONDO_ERR_CORRUPT:
    case RONDO_ERR_EXISTS:
        return RONDOCLI_EXIT_INPUT;
    }
    return RONDOCLI_EXIT_RUNTIME;
}

static const char usage_main[] =
    "usage: rondo-cli <command> [arguments] [--help]\n"
    "\n"
    "Reads and writes rondo stores: directories of round-robin time series.\n"
    "\n"
    "commands:\n"
    "  query   print the points of the series matching a selector\n"
    "  info    list the series of a store with their archives and extent\n"
    "  create  create a store, or a series with custom archives\n"
    "  record  record one sample (creating the store and series if needed)\n"
    "  export  push the store to a Prometheus remote-write receiver\n"
    "\n"
    "Run `rondo-cli <command> --help` for the arguments of one command.\n"
    "\n"
    "exit codes: 0 ok; 1 runtime or I/O failure; 2 bad input (usage, selector,\n"
    "duration, no such store or series, corrupt file, a sample the store refused).\n";

static const char usage_query[] =
    "usage: rondo-cli query <store> <selector> [--range 5m|1h30m|all] [--end T]\n"
    "                       [--format table|csv|json]\n"
    "\n"
    "Prints the points of every series matching <selector>, e.g. 'cpu',\n"
    "'vcpu_exits_total{reason=io}', 'cpu{host!=a,dc=\"x y\"}'.\n"
    "\n"
    "  --range D|all  the last D (units s m h d w) before --end, or all the\n"
    "                 history the archives retain (default: all)\n"
    "  --end T        end of the range: Unix seconds, now, now-<D> or -<D>;\n"
    "                 default: the newest update of the matched series, so a\n"
    "                 store written yesterday reads back the same today\n"
    "  --format F     table (default), csv or json\n"
    "\n"
    "Each part of the range comes from the finest archive still holding it;\n"
    "the output says which resolution each part has. Empty slots print as -\n"
    "(table), an empty field (csv) or null (json).\n"
    "\n"
    "exit codes: 0 ok; 1 runtime or I/O failure; 2 bad input (bad selector or\n"
    "duration, no such store or series, corrupt file).\n";

static const char usage_info[] =
    "usage: rondo-cli info <store> [--format table|json]\n"
    "\n"
    "Lists every series: kind, archives, first and last timestamps, bytes on\n"
    "disk and the writes the store refused.\n"
    "\n"
    "exit codes: 0 ok; 1 runtime or I/O failure; 2 bad input (no such store,\n"
    "corrupt file).\n";

static const char usage_create[] =
    "usage: rondo-cli create <store> [<series> [--counter] [--archive RES:ROWS[:CF]]...]\n"
    "\n"
    "Creates the store directory if needed and, when <series> is given (e.g.\n"
    "'cpu{host=a}'), adds that series. Without --archive the series gets\n"
    "1s:3600, 10s:8640 and 60s:43200 (1 h, 1 d, 30 d).\n"
    "\n"
    "  --counter               the series is a counter (writes are increments\n"
    "                          added up within a slot); default: a gauge\n"
    "  --archive RES:ROWS[:CF] an archive of ROWS slots of RES (a duration);\n"
    "                          ROWS may be a duration spanned, e.g. 10s:1d;\n"
    "                          CF is avg, min, max, last or sum (default avg\n"
    "                          for a gauge, sum for a counter). Resolutions\n"
    "                          must grow, each a multiple of the previous.\n"
    "\n"
    "exit codes: 0 ok; 1 runtime or I/O failure; 2 bad input (bad series or\n"
    "archive, series already exists).\n";

static const char usage_record[] =
    "usage: rondo-cli record <store> <series> <value> [--time T] [--counter]\n"
    "\n"
    "Records one sample, creating the store and the series (default archives)\n"
    "when they do not exist yet.\n"
    "\n"
    "  --time T   the sample's time: Unix seconds, now (default), now-<D> or -<D>\n"
    "  --counter  the series is a counter: the value is an increment added to\n"
    "             its slot; it must match the kind of an existing series\n"
    "\n"
    "A sample older than the finest archive holds, more than 10 minutes in the\n"
    "future, or not finite is refused.\n"
    "\n"
    "exit codes: 0 ok; 1 runtime or I/O failure; 2 bad input (bad series or\n"
    "value, kind mismatch, refused sample).\n";

/* One subcommand's options. */
struct opt {
    const char *name;
    bool takes_value;
    const char *value; /* last value given, or "1" for a flag */
    const char *values[RONDO_MAX_ARCHIVES + 1];
    size_t count;
};

struct args {
    const char *command;
    const char *positional[4];
    size_t npositional;
    bool help;
};

static bool looks_like_number(const char *s)
{
    return s[0] == '-' && ((s[1] >= '0' && s[1] <= '9') || s[1] == '.');
}

/* Splits argv into options (`--name value` or `--name=value`) and
 * positionals, in any order. A negative number is a positional. */
static int parse_args(int argc, char **argv, struct args *a, struct opt *opts, size_t nopts,
                      size_t max_positional, rondo_error *err)
{
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = true;
            return 0;
        }
        if (arg[0] == '-' && arg[1] != '\0' && !looks_like_number(arg)) {
            const char *name = arg + (arg[1] == '-' ? 2 : 1);
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            struct opt *o = NULL;
            for (size_t k = 0; k < nopts; k++) {
                if (strlen(opts[k].name) == len && strncmp(opts[k].name, name, len) == 0)
                    o = &opts[k];
            }
            if (o == NULL || arg[1] != '-') {
                rondo_error_set(err, RONDO_ERR_INPUT,
                                "%s: unknown option '%s' (see rondo-cli %s --help)", a->command,
                                arg, a->command);
                return -1;
            }
            const char *value = "1";
            if (o->takes_value) {
                if (eq != NULL) {
                    value = eq + 1;
                } else if (i + 1 < argc) {
                    value = argv[++i];
                } else {
                    rondo_error_set(err, RONDO_ERR_INPUT, "%s: option --%s needs a value",
                                    a->command, o->name);
                    return -1;
                }
            } else if (eq != NULL) {
                rondo_error_set(err, RONDO_ERR_INPUT, "%s: option --%s takes no value", a->command,
                                o->name);
                return -1;
            }
            if (o->count == sizeof o->values / sizeof o->values[0]) {
                rondo_error_set(err, RONDO_ERR_INPUT, "%s: option --%s given too often", a->command,
                                o->name);
                return -1;
            }
            o->value = value;
            o->values[o->count++] = value;
            continue;
        }
        if (a->npositional == max_positional) {
            rondo_error_set(err, RONDO_ERR_INPUT,
                            "%s: unexpected argument '%s' (see rondo-cli %s "
                            "--help)",
                            a->command, arg, a->command);
            return -1;
        }
        a->positional[a->npositional++] = arg;
    }
    return 0;
}

static int64_t wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

/* ---- query -------------------------------------------------------------- */

struct matched {
    rondo_series *series;
    int64_t start, end;
    bool empty;
};

static void print_table_part(struct rondocli__out *o, const rondo_part *p, size_t index,
                             size_t nparts)
{
    char from[32], to[32];
    rondocli_format_time(p->start, from);
    rondocli_format_time(p->start + (int64_t)p->count * p->resolution, to);
    rondocli__out_printf(o, "# part %zu of %zu: resolution %llds (%s), %s to %s, %zu points\n",
                         index + 1, nparts, (long long)p->resolution, rondo_cf_name(p->cf), from,
                         to, p->count);
    if (index == 0)
        rondocli__out_str(o, "time                  value\n");
    struct rondocli__clock clock = {0, 0, ""};
    int64_t t = p->start;
    for (size_t k = 0; k < p->count; k++, t += p->resolution) {
        char *line = rondocli__out_reserve(o, 64);
        size_t n = rondocli__format_time_fast(&clock, t, line);
        line[n++] = ' ';
        line[n++] = ' ';
        if (isnan(p->values[k]))
            line[n++] = '-';
        else
            n += rondocli_format_double(p->values[k], line + n);
        line[n++] = '\n';
        o->len += n;
    }
}

static void print_csv_part(struct rondocli__out *o, const char *key, const rondo_part *p)
{
    char prefix[RONDO_MAX_KEY * 2 + 8];
    size_t plen = 0;
    prefix[plen++] = '"';
    for (const char *s = key; *s; s++) {
        if (*s == '"')
            prefix[plen++] = '"';
        prefix[plen++] = *s;
    }
    prefix[plen++] = '"';
    prefix[plen++] = ',';
    char suffix[32];
    size_t slen = rondocli_format_double((double)p->resolution, suffix + 1) + 1;
    suffix[0] = ',';
    suffix[slen++] = '\n';
    int64_t t = p->start;
    for (size_t k = 0; k < p->count; k++, t += p->resolution) {
        /* Times are below 2^41, so they print exactly as integral doubles. */
        char *line = rondocli__out_reserve(o, plen + slen + 64);
        memcpy(line, prefix, plen);
        size_t n = plen + rondocli_format_double((double)t, line + plen);
        line[n++] = ',';
        if (!isnan(p->values[k]))
            n += rondocli_format_double(p->values[k], line + n);
        memcpy(line + n, suffix, slen);
        o->len += n + slen;
    }
}

static void print_json_series(struct rondocli__out *o, const rondo_series *s, const rondo_result *r)
{
    rondo_series_id parsed;
    rondo_series_get_id(s, &parsed);
    const rondo_series_id *id = &parsed;
    rondo_series_info info;
    rondo_series_get_info(s, &info);
    rondocli__out_str(o, "{\"series\":");
    rondocli__out_json_string(o, info.key);
    rondocli__out_str(o, ",\"name\":");
    rondocli__out_json_string(o, id->name);
    rondocli__out_str(o, ",\"labels\":{");
    for (size_t i = 0; i < id->nlabels; i++) {
        if (i > 0)
            rondocli__out_str(o, ",");
        rondocli__out_json_string(o, id->labels[i].name);
        rondocli__out_str(o, ":");
        rondocli__out_json_string(o, id->labels[i].value);
    }
    rondocli__out_printf(o, "},\"kind\":\"%s\",\"parts\":[", rondo_kind_name(info.kind));
    for (size_t i = 0; i < r->nparts; i++) {
        const rondo_part *p = &r->parts[i];
        rondocli__out_printf(o,
                             "%s{\"resolution\":%lld,\"cf\":\"%s\",\"start\":%lld,\"end\":%lld,"
                             "\"values\":[",
                             i ? "," : "", (long long)p->resolution, rondo_cf_name(p->cf),
                             (long long)p->start,
                             (long long)(p->start + (int64_t)p->count * p->resolution));
        char num[40];
        for (size_t k = 0; k < p->count; k++) {
            size_t n = 0;
            if (k > 0)
                num[n++] = ',';
            /* JSON has no NaN or infinity: an empty slot, or a value a damaged
             * file might hold, is null. */
            if (!isfinite(p->values[k])) {
                memcpy(num + n, "null", 4);
                n += 4;
            } else {
                n += rondocli_format_double(p->values[k], num + n);
            }
            rondocli__out_write(o, num, n);
        }
        rondocli__out_str(o, "]}");
    }
    rondocli__out_str(o, "]}");
}

static int cmd_query(struct args *a, struct opt *opts, struct rondocli__out *o, rondo_error *err)
{
    rondocli_range range = {true, 0};
    rondocli_format format = RONDOCLI_TABLE;
    rondo_selector sel;
    rondo_status rc;
    if (opts[0].value && (rc = rondocli_parse_range(opts[0].value, &range, err)) != RONDO_OK)
        return rc;
    if (opts[2].value && !rondocli_parse_format(opts[2].value, &format)) {
        rondo_error_set(err, RONDO_ERR_INPUT, "query: bad format '%s': expected table, csv or json",
                        opts[2].value);
        return RONDO_ERR_INPUT;
    }
    int64_t end_opt = 0;
    if (opts[1].value &&
        (rc = rondocli_parse_time(opts[1].value, wall_clock(), &end_opt, err)) != RONDO_OK)
        return rc;
    if ((rc = rondo_selector_parse(&sel, a->positional[1], err)) != RONDO_OK)
        return rc;
    /* On demand: a selector with a metric name reads only that name's part
     * of the index, however many series the store holds. */
    rondo_store *store;
    rc = rondo_store_open(&store, a->positional[0], RONDO_OPEN_READ | RONDO_OPEN_ON_DEMAND, err);
    if (rc != RONDO_OK)
        return rc;
    size_t *selected = NULL, n = 0;
    rc = rondo_store_select(store, &sel, &selected, &n, err);
    struct matched *m = rc == RONDO_OK ? calloc(n ? n : 1, sizeof *m) : NULL;
    size_t nm = 0;
    int64_t newest = INT64_MIN;
    if (rc == RONDO_OK && m == NULL) {
        rondo_error_set(err, RONDO_ERR_NOMEM, "query: out of memory");
        rc = RONDO_ERR_NOMEM;
    }
    for (size_t i = 0; rc == RONDO_OK && i < n; i++) {
        rc = rondo_store_series(store, selected[i], &m[nm].series, err);
        if (rc != RONDO_OK)
            break;
        m[nm].empty = !rondo_series_extent(m[nm].series, &m[nm].start, &m[nm].end);
        if (!m[nm].empty && m[nm].end > newest)
            newest = m[nm].end;
        nm++;
    }
    if (rc == RONDO_OK && nm == 0) {
        rondo_error_set(err, RONDO_ERR_NOT_FOUND, "no such series: %s in store %s",
                        a->positional[1], a->positional[0]);
        rc = RONDO_ERR_NOT_FOUND;
    }
    /* A window ends at --end or else at the newest update of the matched
     * series: never at the wall clock, which would miss a store written
     * yesterday. */
    int64_t end = opts[1].value ? end_opt : newest;
    rondo_result result = {0};
    if (rc == RONDO_OK && format == RONDOCLI_CSV)
        rondocli__out_str(o, "series,time,value,resolution\n");
    if (rc == RONDO_OK && format == RONDOCLI_JSON)
        rondocli__out_str(o, "{\"series\":[");
    for (size_t k = 0; rc == RONDO_OK && k < nm; k++) {
        /* A store with nothing written has no end: no arithmetic on it. */
        int64_t qs;
        if (range.all)
            qs = m[k].start;
        else if (__builtin_sub_overflow(end, range.seconds, &qs))
            qs = INT64_MIN;
        int64_t qe = range.all ? m[k].end : end;
        if (m[k].empty)
            result.nparts = 0;
        else if ((rc = rondo_query(m[k].series, qs, qe, &result, err)) != RONDO_OK)
            break;
        const rondo_series *s = m[k].series;
        rondo_series_info info;
        rondo_series_get_info(s, &info);
        if (format == RONDOCLI_TABLE) {
            rondocli__out_printf(o, "%s# series %s (%s)%s\n", k ? "\n" : "", info.key,
                                 rondo_kind_name(info.kind), m[k].empty ? ", empty" : "");
            for (size_t i = 0; i < result.nparts; i++)
                print_table_part(o, &result.parts[i], i, result.nparts);
        } else if (format == RONDOCLI_CSV) {
            for (size_t i = 0; i < result.nparts; i++)
                print_csv_part(o, info.key, &result.parts[i]);
        } else {
            if (k > 0)
                rondocli__out_str(o, ",");
            print_json_series(o, s, &result);
        }
    }
    if (rc == RONDO_OK && format == RONDOCLI_JSON)
        rondocli__out_str(o, "]}\n");
    rondo_result_free(&result);
    free(m);
    free(selected);
    rondo_store_close(store);
    return rc;
}

/* ---- info --------------------------------------------------------------- */

static void format_span(int64_t seconds, char *buf, size_t size)
{
    static const struct {
        int64_t secs;
        char unit;
    } units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < 5 && seconds > 0; i++) {
        if (seconds >= units[i].secs) {
            n += (size_t)snprintf(buf + n, size - n, "%lld%c", (long long)(seconds / units[i].secs),
                                  units[i].unit);
            seconds %= units[i].secs;
            if (n >= size)
                return;
        }
    }
}

static int cmd_info(struct args *a, struct opt *opts, struct rondocli__out *o, rondo_error *err)
{
    rondocli_format format = RONDOCLI_TABLE;
    if (opts[0].value &&
        (!rondocli_parse_format(opts[0].value, &format) || format == RONDOCLI_CSV)) {
        rondo_error_set(err, RONDO_ERR_INPUT, "info: bad format '%s': expected table or json",
                        opts[0].value);
        return RONDO_ERR_INPUT;
    }
    rondo_store *store;
    rondo_status rc = rondo_store_open(&store, a->positional[0], RONDO_OPEN_READ, err);
    if (rc != RONDO_OK)
        return rc;
    size_t n = rondo_store_series_count(store);
    rondo_series_info *infos = calloc(n ? n : 1, sizeof *infos);
    uint64_t total = 0;
    rc = infos ? RONDO_OK : RONDO_ERR_NOMEM;
    for (size_t i = 0; rc == RONDO_OK && i < n; i++) {
        rondo_series *s;
        rc = rondo_store_series(store, i, &s, err);
        if (rc == RONDO_OK) {
            rondo_series_get_info(s, &infos[i]);
            total += infos[i].file_bytes;
        }
    }
    if (rc == RONDO_OK && format == RONDOCLI_TABLE) {
        rondocli__out_printf(o, "store %s: %zu series, %llu bytes of data files\n",
                             rondo_store_dir(store), n, (unsigned long long)total);
        for (size_t i = 0; i < n; i++) {
            const rondo_series_info *in = &infos[i];
            rondocli__out_printf(
                o, "\n%s\n  kind: %s\n  file: %s (%llu bytes)\n  archives:", in->key,
                rondo_kind_name(in->kind), in->path, (unsigned long long)in->file_bytes);
            for (size_t k = 0; k < in->narchives; k++) {
                char span[64];
                format_span(in->archives[k].resolution * in->archives[k].rows, span, sizeof span);
                rondocli__out_printf(o, "%s %llds x %u (%s) %s", k ? "," : "",
                                     (long long)in->archives[k].resolution, in->archives[k].rows,
                                     span, rondo_cf_name(in->archives[k].cf));
            }
            if (in->empty) {
                rondocli__out_str(o, "\n  first: -\n  last: -\n");
            } else {
                char first[32], last[32], kept[32];
                rondocli_format_time(in->first_time, first);
                rondocli_format_time(in->last_time, last);
                rondocli_format_time(in->retained_from, kept);
                rondocli__out_printf(o,
                                     "\n  first: %s (%lld)\n  last: %s (%lld)\n"
                                     "  retained from: %s (%lld)\n",
                                     first, (long long)in->first_time, last,
                                     (long long)in->last_time, kept, (long long)in->retained_from);
            }
            rondocli__out_printf(o,
                                 "  writes: %llu late (applied), %llu too old, %llu future, "
                                 "%llu invalid (dropped)\n",
                                 (unsigned long long)in->late, (unsigned long long)in->too_old,
                                 (unsigned long long)in->future, (unsigned long long)in->invalid);
        }
    } else if (rc == RONDO_OK) {
        rondocli__out_str(o, "{\"store\":");
        rondocli__out_json_string(o, rondo_store_dir(store));
        rondocli__out_printf(o, ",\"bytes\":%llu,\"series\":[", (unsigned long long)total);
        for (size_t i = 0; i < n; i++) {
            const rondo_series_info *in = &infos[i];
            rondocli__out_str(o, i ? ",{\"series\":" : "{\"series\":");
            rondocli__out_json_string(o, in->key);
            rondocli__out_printf(o, ",\"kind\":\"%s\",\"file\":", rondo_kind_name(in->kind));
            rondocli__out_json_string(o, in->path);
            rondocli__out_printf(o, ",\"bytes\":%llu,\"archives\":[",
                                 (unsigned long long)in->file_bytes);
            for (size_t k = 0; k < in->narchives; k++)
                rondocli__out_printf(o, "%s{\"resolution\":%lld,\"rows\":%u,\"cf\":\"%s\"}",
                                     k ? "," : "", (long long)in->archives[k].resolution,
                                     in->archives[k].rows, rondo_cf_name(in->archives[k].cf));
            if (in->empty)
                rondocli__out_str(o, "],\"first\":null,\"last\":null,\"retained_from\":null");
            else
                rondocli__out_printf(o, "],\"first\":%lld,\"last\":%lld,\"retained_from\":%lld",
                                     (long long)in->first_time, (long long)in->last_time,
                                     (long long)in->retained_from);
            rondocli__out_printf(o,
                                 ",\"late\":%llu,\"too_old\":%llu,\"future\":%llu,"
                                 "\"invalid\":%llu}",
                                 (unsigned long long)in->late, (unsigned long long)in->too_old,
                                 (unsigned long long)in->future, (unsigned long long)in->invalid);
        }
        rondocli__out_str(o, "]}\n");
    }
    free(infos);
    rondo_store_close(store);
    return rc;
}

/* ---- create and record ------------------------------------------------- */

static int cmd_create(struct args *a, struct opt *opts, struct rondocli__out *o, rondo_error *err)
{
    rondo_kind kind = opts[0].value ? RONDO_COUNTER : RONDO_GAUGE;
    rondo_archive_spec archives[RONDO_MAX_ARCHIVES];
    size_t n = 0;
    rondo_status rc;
    rondo_cf cf = kind == RONDO_COUNTER ? RONDO_CF_SUM : RONDO_CF_AVG;
    if (opts[1].count > RONDO_MAX_ARCHIVES) {
        rondo_error_set(err, RONDO_ERR_INPUT, "create: at most %d archives", RONDO_MAX_ARCHIVES);
        return RONDO_ERR_INPUT;
    }
    for (size_t i = 0; i < opts[1].count; i++) {
        if ((rc = rondocli_parse_archive(opts[1].values[i], cf, &archives[n++], err)) != RONDO_OK)
            return rc;
    }
    if (n == 0)
        n = rondo_default_archives(kind, archives);
    if (a->npositional < 2 && opts[1].count + (opts[0].value != NULL) > 0) {
        rondo_error_set(err, RONDO_ERR_INPUT, "create: --counter and --archive need a <series>");
        return RONDO_ERR_INPUT;
    }
    rondo_series_id id;
    if (a->npositional == 2 && (rc = rondo_series_id_parse(&id, a->positional[1], err)) != RONDO_OK)
        return rc;
    if (a->npositional == 2 && (rc = rondo_archives_check(archives, n, err)) != RONDO_OK)
        return rc;
    rondo_store *store;
    rc = rondo_store_open(&store, a->positional[0], RONDO_OPEN_CREATE | RONDO_OPEN_WRITE, err);
    if (rc != RONDO_OK)
        return rc;
    if (a->npositional == 2) {
        rondo_series *s;
        rc = rondo_store_add(store, a->positional[1], kind, archives, n, &s, err);
        if (rc == RONDO_OK) {
            rondo_series_info info;
            rondo_series_get_info(s, &info);
            rondocli__out_printf(o, "created %s %s in %s (%llu bytes)\n", rondo_kind_name(kind),
                                 info.key, info.path, (unsigned long long)info.file_bytes);
        }
    } else {
        rondocli__out_printf(o, "store %s ready (%zu series)\n", a->positional[0],
                             rondo_store_series_count(store));
    }
    rondo_store_close(store);
    return rc;
}

static int cmd_record(struct args *a, struct opt *opts, struct rondocli__out *o, rondo_error *err)
{
    rondo_kind kind = opts[1].value ? RONDO_COUNTER : RONDO_GAUGE;
    double value;
    int64_t t = wall_clock();
    rondo_status rc;
    rondo_series_id id;
    if ((rc = rondo_series_id_parse(&id, a->positional[1], err)) != RONDO_OK)
        return rc;
    if ((rc = rondocli_parse_value(a->positional[2], &value, err)) != RONDO_OK)
        return rc;
    if (opts[0].value && (rc = rondocli_parse_time(opts[0].value, t, &t, err)) != RONDO_OK)
        return rc;
    rondo_store *store;
    rc = rondo_store_open(&store, a->positional[0],
                          RONDO_OPEN_CREATE | RONDO_OPEN_WRITE | RONDO_OPEN_ON_DEMAND, err);
    if (rc != RONDO_OK)
        return rc;
    rondo_series *s = NULL;
    rc = rondo_store_find(store, a->positional[1], &s, err);
    if (rc == RONDO_ERR_NOT_FOUND) {
        rondo_archive_spec archives[RONDO_MAX_ARCHIVES];
        size_t n = rondo_default_archives(kind, archives);
        rc = rondo_store_add(store, a->positional[1], kind, archives, n, &s, err);
        /* Another process may have added it since we looked. */
        if (rc == RONDO_ERR_EXISTS)
            rc = rondo_store_find(store, a->positional[1], &s, err);
    }
    rondo_series_info info;
    if (rc == RONDO_OK) {
        rondo_series_get_info(s, &info);
        if (info.kind != kind) {
            rondo_error_set(err, RONDO_ERR_INPUT, "record: series %s is a %s%s", info.key,
                            rondo_kind_name(info.kind),
                            kind == RONDO_COUNTER ? ", but --counter was given"
                                                  : "; pass --counter to add to it");
            rc = RONDO_ERR_INPUT;
        }
    }
    if (rc == RONDO_OK) {
        static const char *const why[] = {
            [RONDO_WRITE_TOO_OLD] = "older than the finest archive of the series holds",
            [RONDO_WRITE_FUTURE] = "more than 10 minutes ahead of the wall clock",
            [RONDO_WRITE_INVALID] = "the time is out of range",
            [RONDO_WRITE_READONLY] = "the series is read-only",
        };
        rondo_write_outcome w = rondo_write(s, t, value);
        if (w != RONDO_WRITE_APPLIED && w != RONDO_WRITE_LATE) {
            rondo_error_set(err, RONDO_ERR_INPUT, "record: sample at %lld for %s refused: %s",
                            (long long)t, info.key, why[w]);
            rc = RONDO_ERR_INPUT;
        }
    }
    (void)o;
    rondo_store_close(store);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------ */

struct command {
    const char *name;
    const char *usage;
    size_t min_positional, max_positional;
    int (*run)(struct args *, struct opt *, struct rondocli__out *, rondo_error *);
    struct opt opts[4];
};

int rondocli_main(int argc, char **argv, FILE *out, FILE *errf)
{
    struct command commands[] = {
        {"query",
         usage_query,
         2,
         2,
         cmd_query,
         {{.name = "range", .takes_value = true},
          {.name = "end", .takes_value = true},
          {.name = "format", .takes_value = true}}},
        {"info", usage_info, 1, 1, cmd_info, {{.name = "format", .takes_value = true}}},
        {"create",
         usage_create,
         1,
         2,
         cmd_create,
         {{.name = "counter", .takes_value = false}, {.name = "archive", .takes_value = true}}},
        {"record",
         usage_record,
         3,
         3,
         cmd_record,
         {{.name = "time", .takes_value = true}, {.name = "counter", .takes_value = false}}},
    };
    if (argc < 2) {
        fputs(usage_main, errf);
        return RONDOCLI_EXIT_INPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_main, out);
        return RONDOCLI_EXIT_OK;
    }
    if (strcmp(argv[1], "export") == 0)
        return rondocli__export(argc, argv, out, errf);
    struct command *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    }
    if (cmd == NULL) {
        fprintf(errf, "rondo-cli: unknown command '%s' (see rondo-cli --help)\n", argv[1]);
        return RONDOCLI_EXIT_INPUT;
    }
    struct args a = {.command = cmd->name};
    rondo_error err = {RONDO_OK, ""};
    size_t nopts = 0;
    while (nopts < 4 && cmd->opts[nopts].name != NULL)
        nopts++;
    if (parse_args(argc, argv, &a, cmd->opts, nopts, cmd->max_positional, &err) != 0) {
        fprintf(errf, "rondo-cli: %s\n", err.message);
        return RONDOCLI_EXIT_INPUT;
    }
    if (a.help) {
        fputs(cmd->usage, out);
        return RONDOCLI_EXIT_OK;
    }
    if (a.npositional < cmd->min_positional) {
        fprintf(errf, "rondo-cli: %s: missing arguments (see rondo-cli %s --help)\n", cmd->name,
                cmd->name);
        return RONDOCLI_EXIT_INPUT;
    }
    struct rondocli__out *o = malloc(sizeof *o);
    if (o == NULL) {
        fputs("rondo-cli: out of memory\n", errf);
        return RONDOCLI_EXIT_RUNTIME;
    }
    o->file = out;
    o->failed = false;
    o->len = 0;
    int rc = cmd->run(&a, cmd->opts, o, &err);
    rondocli__out_flush(o);
    bool failed = o->failed || fflush(out) != 0;
    free(o);
    if (rc != RONDO_OK) {
        fprintf(errf, "rondo-cli: %s\n", err.message);
        return rondocli_exit_code((rondo_status)rc);
    }
    if (failed) {
        fputs("rondo-cli: cannot write the output\n", errf);
        return RONDOCLI_EXIT_RUNTIME;
    }
    return RONDOCLI_EXIT_OK;
}
