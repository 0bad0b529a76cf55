/* Reads `ctest --show-only=json-v1` on stdin and fails when a test lacks a
 * label for its kind or for its component (README.md promises both):
 *   check_labels KINDS COMPONENTS   (comma-separated lists) */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool in_list(const char *label, const char *list)
{
    size_t n = strlen(label);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, label, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: check_labels KINDS COMPONENTS < ctest.json\n");
        return 2;
    }
    size_t cap = 1 << 20, len = 0, n;
    char *text = malloc(cap);
    while (text && (n = fread(text + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (len + 1 == cap)
            text = realloc(text, cap *= 2);
    }
    if (!text) {
        fprintf(stderr, "check_labels: out of memory\n");
        return 1;
    }
    text[len] = '\0';
    cJSON *root = cJSON_Parse(text);
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
    if (!cJSON_IsArray(tests)) {
        fprintf(stderr, "check_labels: stdin is not ctest's json-v1 output\n");
        return 1;
    }
    int total = 0, bad = 0;
    const cJSON *test;
    cJSON_ArrayForEach(test, tests)
    {
        bool kind = false, component = false;
        const cJSON *prop;
        cJSON_ArrayForEach(prop, cJSON_GetObjectItemCaseSensitive(test, "properties"))
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(prop, "name");
            if (!cJSON_IsString(name) || strcmp(name->valuestring, "LABELS") != 0)
                continue;
            const cJSON *label;
            cJSON_ArrayForEach(label, cJSON_GetObjectItemCaseSensitive(prop, "value"))
            {
                if (!cJSON_IsString(label))
                    continue;
                kind = kind || in_list(label->valuestring, argv[1]);
                component = component || in_list(label->valuestring, argv[2]);
            }
        }
        total++;
        if (!kind || !component) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(test, "name");
            printf("%s: no %s label\n", cJSON_IsString(name) ? name->valuestring : "?",
                   !kind ? "kind" : "component");
            bad++;
        }
    }
    cJSON_Delete(root);
    free(text);
    printf("%d tests, %d without a kind and a component label\n", total, bad);
    return bad ? 1 : 0;
}
