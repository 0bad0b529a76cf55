/* rondo-cli export: pushes a store to a Prometheus remote-write receiver with
 * the same exporter rondo-vmm runs on its export thread (librondo_rw). */
#include "export.h"

#include "pmbase/number.h"
#include "rondo/remote_write.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char usage_export[] =
    "usage: rondo-cli export <store> --remote-write URL [<selector>] [--range D|all]\n"
    "                        [--cursor NAME] [--dry-run] [--label K=V]...\n"
    "                        [--bearer-token-file F] [--basic-auth-file F] [--ca-file F]\n"
    "                        [--insecure-skip-verify] [--max-attempts N] [--timeout S]\n"
    "                        [--max-samples-per-request N] [--settle S]\n"
    "\n"
    "Sends every sample of the store's finest archives not yet delivered to a\n"
    "Prometheus remote-write 1.0 receiver (Prometheus with\n"
    "--web.enable-remote-write-receiver: URL http://HOST:PORT/api/v1/write).\n"
    "Counters are sent as running totals. What was delivered is kept in\n"
    "<store>/cursor_<NAME>.json, so a second export sends only what is new and\n"
    "an interrupted one resends exactly what was not acknowledged.\n"
    "\n"
    "  --remote-write URL   the receiver (http or https; https verifies the\n"
    "                       certificate); not needed with --dry-run\n"
    "  <selector>           only the series matching it, e.g. 'cpu{host!=a}'\n"
    "  --range D|all        only the last D before the newest update (default all)\n"
    "  --cursor NAME        the destination's cursor (default prometheus)\n"
    "  --dry-run            print the series, sample counts and bytes that would\n"
    "                       be sent; send nothing, write no cursor\n"
    "  --label K=V          add a label to every series (e.g. vm=a); repeatable\n"
    "  --bearer-token-file F   send 'Authorization: Bearer <content of F>'\n"
    "  --basic-auth-file F     basic auth from F, one line user:password\n"
    "  --ca-file F          trust the CA certificates in F (https)\n"
    "  --insecure-skip-verify  https without certificate checks\n"
    "  --max-attempts N     attempts per request on 429, 5xx or network errors\n"
    "                       (default 6, backoff 0.2 s doubling to 5 s, jittered)\n"
    "  --timeout S          seconds per request (default 10)\n"
    "  --max-samples-per-request N   (default 50000)\n"
    "  --settle S           send a slot once it ended S seconds ago (default 2)\n"
    "\n"
    "A request refused with a 4xx other than 429 is dropped (counted, logged\n"
    "once per kind) and the cursor moves on. Secrets are never printed.\n"
    "\n"
    "exit codes: 0 ok; 1 runtime or I/O failure; 2 bad input (usage, URL,\n"
    "selector, token file, no such store, corrupt store or cursor file);\n"
    "3 the receiver stayed unavailable (429, 5xx, network) for --max-attempts:\n"
    "nothing lost, run again to resend; 4 done, but the receiver refused some\n"
    "requests, which were dropped.\n";

enum { EXIT_UNAVAILABLE = 3, EXIT_DROPPED = 4 };

static void print_series(void *ctx, const char *key, size_t samples)
{
    fprintf((FILE *)ctx, "%s\t%zu samples\n", key, samples);
}

static int fail(FILE *errf, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(FILE *errf, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("rondo-cli: export: ", errf);
    vfprintf(errf, fmt, ap);
    fputc('\n', errf);
    va_end(ap);
    return code;
}

/* The value of an option at argv[*i] (--name=value or --name value). */
static const char *option_value(int argc, char **argv, int *i, size_t namelen)
{
    const char *arg = argv[*i];
    if (arg[namelen] == '=')
        return arg + namelen + 1;
    if (*i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int rondocli__export(int argc, char **argv, FILE *out, FILE *errf)
{
    rondo_rw_options o;
    rondo_rw_options_init(&o);
    const char *positional[2] = {NULL, NULL};
    size_t npos = 0;
    const char *range = NULL;
    char labels[RONDO_RW_MAX_EXTRA_LABELS][256];
    pmb_error perr;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage_export, out);
            return RONDOCLI_EXIT_OK;
        }
        if (strcmp(arg, "--dry-run") == 0) {
            o.dry_run = true;
            continue;
        }
        if (strcmp(arg, "--insecure-skip-verify") == 0) {
            o.insecure_skip_verify = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (npos == 2)
                return fail(errf, RONDOCLI_EXIT_INPUT, "unexpected argument '%s'", arg);
            positional[npos++] = arg;
            continue;
        }
        static const char *const valued[] = {"--remote-write",
                                             "--range",
                                             "--cursor",
                                             "--label",
                                             "--bearer-token-file",
                                             "--basic-auth-file",
                                             "--ca-file",
                                             "--max-attempts",
                                             "--timeout",
                                             "--max-samples-per-request",
                                             "--settle"};
        size_t k, len = 0;
        for (k = 0; k < sizeof valued / sizeof valued[0]; k++) {
            len = strlen(valued[k]);
            if (strncmp(arg, valued[k], len) == 0 && (arg[len] == '\0' || arg[len] == '='))
                break;
        }
        if (k == sizeof valued / sizeof valued[0])
            return fail(errf, RONDOCLI_EXIT_INPUT,
                        "unknown option '%s' (see rondo-cli export --help)", arg);
        const char *v = option_value(argc, argv, &i, len);
        if (v == NULL)
            return fail(errf, RONDOCLI_EXIT_INPUT, "option %s needs a value", valued[k]);
        int64_t n;
        double d;
        switch (k) {
        case 0:
            o.url = v;
            break;
        case 1:
            range = v;
            break;
        case 2:
            o.cursor = v;
            break;
        case 3: {
            const char *eq = strchr(v, '=');
            if (eq == NULL || o.nlabels == RONDO_RW_MAX_EXTRA_LABELS ||
                strlen(v) >= sizeof labels[0])
                return fail(errf, RONDOCLI_EXIT_INPUT, "bad --label '%s': expected K=V (at most 8)",
                            v);
            char *copy = labels[o.nlabels];
            strcpy(copy, v);
            copy[eq - v] = '\0';
            o.labels[o.nlabels++] = (rondo_label){copy, copy + (eq - v) + 1};
            break;
        }
        case 4:
            o.bearer_token_file = v;
            break;
        case 5:
            o.basic_auth_file = v;
            break;
        case 6:
            o.ca_file = v;
            break;
        case 7:
            if (pmb_parse_i64("--max-attempts", v, 1, 100, &n, &perr) != PMB_OK)
                return fail(errf, RONDOCLI_EXIT_INPUT, "%s", perr.msg);
            o.max_attempts = (int)n;
            break;
        case 8:
            if (pmb_parse_double("--timeout", v, 0.001, 3600, &d, &perr) != PMB_OK)
                return fail(errf, RONDOCLI_EXIT_INPUT, "%s", perr.msg);
            o.timeout_sec = d;
            break;
        case 9:
            if (pmb_parse_i64("--max-samples-per-request", v, 1, 10000000, &n, &perr) != PMB_OK)
                return fail(errf, RONDOCLI_EXIT_INPUT, "%s", perr.msg);
            o.max_samples_per_request = (size_t)n;
            break;
        default:
            if (pmb_parse_i64("--settle", v, 0, 86400, &n, &perr) != PMB_OK)
                return fail(errf, RONDOCLI_EXIT_INPUT, "%s", perr.msg);
            o.settle_sec = n;
            break;
        }
    }
    if (npos == 0)
        return fail(errf, RONDOCLI_EXIT_INPUT, "missing <store> (see rondo-cli export --help)");
    if (o.url == NULL && !o.dry_run)
        return fail(errf, RONDOCLI_EXIT_INPUT, "missing --remote-write URL (or --dry-run)");
    o.selector = positional[1];
    rondo_error err = {RONDO_OK, ""};
    rondocli_range r = {true, 0};
    rondo_status rc;
    if (range != NULL && (rc = rondocli_parse_range(range, &r, &err)) != RONDO_OK)
        return fail(errf, RONDOCLI_EXIT_INPUT, "%s", err.message);
    if ((rc = rondo_rw_options_check(&o, &err)) != RONDO_OK)
        return fail(errf, rondocli_exit_code(rc), "%s", err.message);
    rondo_store *store;
    if ((rc = rondo_store_open(&store, positional[0], RONDO_OPEN_READ, &err)) != RONDO_OK)
        return fail(errf, rondocli_exit_code(rc), "%s", err.message);
    if (!r.all) {
        /* Like query: the window ends at the newest update of the store. */
        int64_t newest = INT64_MIN;
        for (size_t i = 0; i < rondo_store_series_count(store); i++) {
            rondo_series *s;
            int64_t start, end;
            if (rondo_store_series(store, i, &s, NULL) == RONDO_OK &&
                rondo_series_extent(s, &start, &end) && end > newest)
                newest = end;
        }
        o.start = newest == INT64_MIN ? 0 : newest - r.seconds;
    }
    if (o.dry_run) {
        o.on_series = print_series;
        o.ctx = out;
    }
    rondo_rw_stats st = {0};
    rc = rondo_rw_export(store, &o, &st, &err);
    rondo_store_close(store);
    if (o.dry_run && rc == RONDO_OK) {
        fprintf(out,
                "dry run: %llu series, %llu samples, %llu requests, %llu bytes (snappy), "
                "%.1f bytes per sample; nothing sent\n",
                (unsigned long long)st.series, (unsigned long long)st.samples_planned,
                (unsigned long long)st.requests_planned, (unsigned long long)st.bytes_planned,
                st.samples_planned ? (double)st.bytes_planned / (double)st.samples_planned : 0.0);
        return RONDOCLI_EXIT_OK;
    }
    if (rc != RONDO_OK) {
        int code = st.gave_up ? EXIT_UNAVAILABLE : rondocli_exit_code(rc);
        return fail(errf, code, "%s", err.message);
    }
    fprintf(out,
            "exported %llu samples of %llu series in %llu requests (%llu bytes); "
            "%llu retried attempts; %llu requests (%llu samples) refused and dropped; "
            "%llu resends refused\n",
            (unsigned long long)st.samples_sent, (unsigned long long)st.series,
            (unsigned long long)st.requests_sent, (unsigned long long)st.bytes_sent,
            (unsigned long long)st.attempts_failed, (unsigned long long)st.requests_dropped,
            (unsigned long long)st.samples_dropped, (unsigned long long)st.resends_refused);
    if (st.requests_dropped > 0) {
        fprintf(errf,
                "rondo-cli: export: the receiver refused %llu requests (%llu samples); they "
                "were dropped\n",
                (unsigned long long)st.requests_dropped, (unsigned long long)st.samples_dropped);
        return EXIT_DROPPED;
    }
    return RONDOCLI_EXIT_OK;
}
