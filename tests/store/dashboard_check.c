/* dashboard_check DASHBOARD [ADDR STORE VM]: checks the Grafana dashboard's
 * structure (panels with titles, types, grid positions, the datasource and vm
 * variables, every target an expression using $vm, the panels the issue asks
 * for) and, given a Prometheus address, evaluates every expression with
 * /api/v1/query at the newest time of STORE with $vm set to VM: each must
 * parse (Prometheus answers 400 to a parse error; promtool 2.42 has no
 * expression check) and return data. Prints one line per problem; exit 1 when
 * there is any, 77 when ADDR says "skip: ...". */
#include "prom_query.h"
#include "rondo/rondo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t problems;

static void problem(const char *what, const char *detail)
{
    printf("dashboard: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    problems++;
}

/* Replaces every occurrence of key in text (at most a few) into out. */
static void substitute(const char *text, const char *key, const char *value, char *out, size_t size)
{
    size_t n = 0, klen = strlen(key);
    while (*text != '\0' && n + 1 < size) {
        if (strncmp(text, key, klen) == 0) {
            n += (size_t)snprintf(out + n, size - n, "%s", value);
            text += klen;
        } else {
            out[n++] = *text++;
        }
    }
    out[n < size ? n : size - 1] = '\0';
}

static void evaluate(const char *addr, const char *expr, const char *vm, int64_t at)
{
    char a[2048], b[2048];
    substitute(expr, "$__rate_interval", "1m", a, sizeof a);
    substitute(a, "$vm", vm, b, sizeof b);
    long status;
    cJSON *root = prom_query(addr, b, at, &status);
    const cJSON *result =
        root ? cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "result") : NULL;
    const cJSON *error = root ? cJSON_GetObjectItem(root, "error") : NULL;
    char detail[2600];
    if (root == NULL) {
        problem("cannot query Prometheus", b);
    } else if (status != 200) {
        snprintf(detail, sizeof detail, "%s: HTTP %ld %s", b, status,
                 cJSON_IsString(error) ? error->valuestring : "");
        problem("expression rejected", detail);
    } else if (!cJSON_IsArray(result) || cJSON_GetArraySize(result) == 0) {
        problem("expression returns no data", b);
    } else {
        printf("ok: %s (%d series)\n", b, cJSON_GetArraySize(result));
    }
    cJSON_Delete(root);
}

static bool has_string(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(obj, name);
    return cJSON_IsString(v) && v->valuestring[0] != '\0';
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: dashboard_check DASHBOARD [ADDR STORE VM]\n");
        return 2;
    }
    if (argc == 5 && strncmp(argv[2], "skip", 4) == 0) {
        printf("skipped: %s\n", argv[2]);
        return 77;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    cJSON *d = cJSON_Parse(text);
    if (d == NULL) {
        problem("not valid JSON", argv[1]);
        return 1;
    }
    if (!has_string(d, "uid") || !has_string(d, "title"))
        problem("missing uid or title", NULL);
    if (!cJSON_IsNumber(cJSON_GetObjectItem(d, "schemaVersion")))
        problem("missing schemaVersion", NULL);

    /* Variables: the datasource and vm. */
    bool ds_var = false, vm_var = false;
    const cJSON *var;
    cJSON_ArrayForEach(var, cJSON_GetObjectItem(cJSON_GetObjectItem(d, "templating"), "list"))
    {
        const cJSON *name = cJSON_GetObjectItem(var, "name");
        const cJSON *type = cJSON_GetObjectItem(var, "type");
        if (!cJSON_IsString(name) || !cJSON_IsString(type))
            continue;
        if (strcmp(name->valuestring, "datasource") == 0 &&
            strcmp(type->valuestring, "datasource") == 0)
            ds_var = true;
        const cJSON *def = cJSON_GetObjectItem(var, "definition");
        if (strcmp(name->valuestring, "vm") == 0 && strcmp(type->valuestring, "query") == 0 &&
            cJSON_IsString(def) && strstr(def->valuestring, "label_values(") != NULL &&
            strstr(def->valuestring, ", vm)") != NULL)
            vm_var = true;
    }
    if (!ds_var)
        problem("no datasource variable", NULL);
    if (!vm_var)
        problem("no vm variable (a query of label_values(..., vm))", NULL);

    /* Panels. */
    static const char *const wanted[] = {"uptime", "exits", "phase", "work", "rss", "exporter"};
    bool found[sizeof wanted / sizeof wanted[0]] = {false};
    const cJSON *panels = cJSON_GetObjectItem(d, "panels");
    if (!cJSON_IsArray(panels) || cJSON_GetArraySize(panels) == 0)
        problem("no panels", NULL);
    int ids[256], nids = 0;
    const char *exprs[256];
    size_t nexprs = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, panels)
    {
        const cJSON *title = cJSON_GetObjectItem(p, "title");
        const char *t = cJSON_IsString(title) ? title->valuestring : "?";
        const cJSON *id = cJSON_GetObjectItem(p, "id");
        if (!has_string(p, "title") || !has_string(p, "type") || !cJSON_IsNumber(id))
            problem("panel without title, type or id", t);
        for (int k = 0; cJSON_IsNumber(id) && k < nids; k++) {
            if (ids[k] == id->valueint)
                problem("panel id used twice", t);
        }
        if (cJSON_IsNumber(id) && nids < 256)
            ids[nids++] = id->valueint;
        const cJSON *g = cJSON_GetObjectItem(p, "gridPos");
        const cJSON *x = cJSON_GetObjectItem(g, "x"), *w = cJSON_GetObjectItem(g, "w");
        if (!cJSON_IsNumber(x) || !cJSON_IsNumber(w) ||
            !cJSON_IsNumber(cJSON_GetObjectItem(g, "y")) ||
            !cJSON_IsNumber(cJSON_GetObjectItem(g, "h")) || x->valueint + w->valueint > 24)
            problem("panel without a grid position inside 24 columns", t);
        const cJSON *ds = cJSON_GetObjectItem(p, "datasource");
        const cJSON *uid = cJSON_GetObjectItem(ds, "uid");
        if (!cJSON_IsString(uid) || strcmp(uid->valuestring, "${datasource}") != 0)
            problem("panel not on the datasource variable", t);
        for (size_t k = 0; k < sizeof wanted / sizeof wanted[0]; k++) {
            if (strcasestr(t, wanted[k]) != NULL)
                found[k] = true;
        }
        const cJSON *targets = cJSON_GetObjectItem(p, "targets");
        if (!cJSON_IsArray(targets) || cJSON_GetArraySize(targets) == 0)
            problem("panel without targets", t);
        const cJSON *target;
        cJSON_ArrayForEach(target, targets)
        {
            const cJSON *expr = cJSON_GetObjectItem(target, "expr");
            if (!has_string(target, "refId") || !has_string(target, "expr")) {
                problem("target without refId or expr", t);
                continue;
            }
            if (strstr(expr->valuestring, "vm=~\"$vm\"") == NULL)
                problem("expression does not filter on $vm", expr->valuestring);
            if (nexprs < 256)
                exprs[nexprs++] = expr->valuestring;
        }
    }
    for (size_t k = 0; k < sizeof wanted / sizeof wanted[0]; k++) {
        if (!found[k])
            problem("no panel about", wanted[k]);
    }
    printf("%d panels, %zu expressions\n", cJSON_GetArraySize(panels), nexprs);

    if (argc == 5) {
        rondo_store *store;
        rondo_error err;
        if (rondo_store_open(&store, argv[3], RONDO_OPEN_READ, &err) != RONDO_OK) {
            fprintf(stderr, "dashboard_check: %s\n", err.message);
            return 2;
        }
        int64_t newest = 0;
        for (size_t i = 0; i < rondo_store_series_count(store); i++) {
            rondo_series *s;
            int64_t a, b;
            if (rondo_store_series(store, i, &s, NULL) == RONDO_OK &&
                rondo_series_extent(s, &a, &b) && b - 1 > newest)
                newest = b - 1;
        }
        rondo_store_close(store);
        for (size_t i = 0; i < nexprs; i++)
            evaluate(argv[2], exprs[i], argv[4], newest);
    }
    cJSON_Delete(d);
    printf("%zu problems\n", problems);
    return problems ? 1 : 0;
}
