/* One instant query against the test Prometheus's HTTP API, shared by the
 * checkers (rw_prom_check, dashboard_check). */
#ifndef PROM_QUERY_H
#define PROM_QUERY_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct prom_buf {
    char *data;
    size_t len;
};

static inline size_t prom_collect(char *p, size_t size, size_t n, void *ctx)
{
    struct prom_buf *b = ctx;
    char *grown = realloc(b->data, b->len + size * n + 1);
    if (grown == NULL)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, p, size * n);
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* GET /api/v1/query for promql at Unix time `at`. Returns the parsed answer
 * (NULL on a network error or a body that is not JSON, with a line on
 * stderr) and the HTTP status in *status. */
static inline cJSON *prom_query(const char *addr, const char *promql, int64_t at, long *status)
{
    CURL *c = curl_easy_init();
    char *esc = curl_easy_escape(c, promql, 0);
    char url[8192];
    snprintf(url, sizeof url, "http://%s/api/v1/query?query=%s&time=%lld", addr, esc,
             (long long)at);
    curl_free(esc);
    struct prom_buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, prom_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode cc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    cJSON *root = NULL;
    if (cc != CURLE_OK)
        fprintf(stderr, "query %s: %s\n", promql, curl_easy_strerror(cc));
    else if ((root = cJSON_Parse(b.data ? b.data : "")) == NULL)
        fprintf(stderr, "query %s: not JSON: %.200s\n", promql, b.data ? b.data : "");
    free(b.data);
    return root;
}

#endif
