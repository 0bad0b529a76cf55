/* Fuzzes the selector and series key parsers: any bytes must give a parse
 * or a clean error, and whatever parses must format and re-parse to the
 * same canonical key. */
#include "rondo/rondo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    rondo_selector sel;
    rondo_error err;
    if (rondo_selector_parse(&sel, text, &err) == RONDO_OK && sel.name != NULL)
        (void)strlen(sel.name);
    rondo_series_id id;
    if (rondo_series_id_parse(&id, text, &err) == RONDO_OK) {
        char key[RONDO_MAX_KEY + 1], again[RONDO_MAX_KEY + 1];
        if (rondo_series_id_format(&id, key, sizeof key) < 0)
            abort();
        rondo_series_id id2;
        if (rondo_series_id_parse(&id2, key, &err) != RONDO_OK)
            abort();
        if (rondo_series_id_format(&id2, again, sizeof again) < 0 || strcmp(key, again) != 0)
            abort();
        rondo_selector self;
        if (rondo_selector_parse(&self, key, &err) != RONDO_OK ||
            !rondo_selector_matches(&self, &id))
            abort();
    }
    int64_t seconds;
    rondo_duration_parse(text, &seconds, &err);
    free(text);
    return 0;
}
