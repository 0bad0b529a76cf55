/* rw_prom_check STORE ADDR LABEL=VALUE: compares what a real Prometheus holds
 * for the series labelled LABEL=VALUE with the store: every sample of the
 * finest archive of every series, values and millisecond timestamps equal
 * (counters as running totals from the first slot), no more, no fewer, and
 * no series Prometheus has that the store has not. Prints one line per
 * difference and exits 1 when there is any; 77 when ADDR says "skip: ...". */
#include "prom_query.h"
#include "rondo/rondo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 4 || strchr(argv[3], '=') == NULL) {
        fprintf(stderr, "usage: rw_prom_check STORE ADDR LABEL=VALUE\n");
        return 2;
    }
    if (strncmp(argv[2], "skip", 4) == 0) {
        printf("skipped: %s\n", argv[2]);
        return 77;
    }
    char label[128], value[128];
    snprintf(label, sizeof label, "%.*s", (int)(strchr(argv[3], '=') - argv[3]), argv[3]);
    snprintf(value, sizeof value, "%s", strchr(argv[3], '=') + 1);
    rondo_store *store;
    rondo_error err;
    if (rondo_store_open(&store, argv[1], RONDO_OPEN_READ, &err) != RONDO_OK) {
        fprintf(stderr, "rw_prom_check: %s\n", err.message);
        return 2;
    }
    /* One range query over everything the store holds. */
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    size_t n = rondo_store_series_count(store);
    for (size_t i = 0; i < n; i++) {
        rondo_series *s;
        int64_t a, b;
        if (rondo_store_series(store, i, &s, &err) != RONDO_OK) {
            fprintf(stderr, "rw_prom_check: %s\n", err.message);
            return 2;
        }
        if (rondo_series_extent(s, &a, &b)) {
            lo = a < lo ? a : lo;
            hi = b > hi ? b : hi;
        }
    }
    char promql[512];
    snprintf(promql, sizeof promql, "{%s=\"%s\"}[%llds]", label, value, (long long)(hi - lo + 60));
    long status;
    cJSON *root = prom_query(argv[2], promql, hi + 1, &status);
    cJSON *result = root ? cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "result") : NULL;
    if (!cJSON_IsArray(result)) {
        fprintf(stderr, "rw_prom_check: no result for %s\n", promql);
        return 1;
    }
    size_t problems = 0, checked = 0, series_seen = 0;
    bool *matched = calloc(n ? n : 1, sizeof *matched);
    rondo_result res = {0};
    const cJSON *item;
    cJSON_ArrayForEach(item, result)
    {
        /* The series key as rondo spells it, without the test label. */
        const cJSON *metric = cJSON_GetObjectItem(item, "metric");
        const cJSON *name = cJSON_GetObjectItem(metric, "__name__");
        char key[RONDO_MAX_KEY + 1];
        size_t off = (size_t)snprintf(key, sizeof key, "%s{", name ? name->valuestring : "?");
        const cJSON *l;
        cJSON_ArrayForEach(l, metric)
        {
            if (strcmp(l->string, "__name__") == 0 || strcmp(l->string, label) == 0)
                continue;
            off += (size_t)snprintf(key + off, sizeof key - off, "%s%s=\"%s\"",
                                    key[off - 1] == '{' ? "" : ",", l->string, l->valuestring);
        }
        snprintf(key + off, sizeof key - off, "}");
        series_seen++;
        rondo_series *s;
        if (rondo_store_find(store, key, &s, &err) != RONDO_OK) {
            printf("extra series in Prometheus: %s\n", key);
            problems++;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            rondo_series *si;
            if (rondo_store_series(store, i, &si, NULL) == RONDO_OK && si == s)
                matched[i] = true;
        }
        rondo_series_info info;
        rondo_series_get_info(s, &info);
        int64_t a, b;
        rondo_series_extent(s, &a, &b);
        rondo_query(s, a, b, &res, &err);
        const cJSON *values = cJSON_GetObjectItem(item, "values");
        const cJSON *v = values ? values->child : NULL;
        double total = 0;
        for (size_t p = 0; p < res.nparts; p++) {
            const rondo_part *part = &res.parts[p];
            if (part->resolution != info.archives[0].resolution)
                continue;
            for (size_t k = 0; k < part->count; k++) {
                double want = part->values[k];
                if (isnan(want))
                    continue;
                if (info.kind == RONDO_COUNTER)
                    want = total += want;
                int64_t ms = (part->start + (int64_t)k * part->resolution) * 1000;
                checked++;
                if (v == NULL) {
                    printf("%s: missing sample at %lld ms\n", key, (long long)ms);
                    problems++;
                    continue;
                }
                double ts = cJSON_GetArrayItem(v, 0)->valuedouble;
                double got = strtod(cJSON_GetArrayItem(v, 1)->valuestring, NULL);
                int64_t got_ms = (int64_t)llround(ts * 1000);
                if (got_ms != ms || got != want) {
                    printf("%s: at %lld ms store has %.17g, Prometheus has %.17g at %lld ms\n", key,
                           (long long)ms, want, got, (long long)got_ms);
                    problems++;
                }
                v = v->next;
            }
        }
        for (; v != NULL; v = v->next) {
            printf("%s: extra sample in Prometheus at %.3f\n", key,
                   cJSON_GetArrayItem(v, 0)->valuedouble);
            problems++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rondo_series *s;
        int64_t a, b;
        if (!matched[i] && rondo_store_series(store, i, &s, NULL) == RONDO_OK &&
            rondo_series_extent(s, &a, &b)) {
            rondo_series_info info;
            rondo_series_get_info(s, &info);
            printf("series missing in Prometheus: %s\n", info.key);
            problems++;
        }
    }
    printf("%zu series, %zu samples compared, %zu differences\n", series_seen, checked, problems);
    rondo_result_free(&res);
    free(matched);
    cJSON_Delete(root);
    rondo_store_close(store);
    return problems ? 1 : 0;
}
