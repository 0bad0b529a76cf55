/* Fuzzes the store's index: the bytes become the index file of the metric
 * name `m` in a real store, which is then listed whole and searched on
 * demand, so that no line (torn, duplicated, foreign, malformed) can make
 * the store crash or accept what it should refuse. */
#include "rondo/rondo.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char store_dir[64];
static char index_path[512];

static void remove_store(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", store_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_rondo_index: could not remove %s\n", store_dir);
}

/* A store with one series of name m, whose index file the input replaces;
 * removed at exit. */
static int make_store(void)
{
    snprintf(store_dir, sizeof store_dir, "/tmp/rondo-fuzz-index-XXXXXX");
    if (mkdtemp(store_dir) == NULL)
        return -1;
    atexit(remove_store);
    rondo_store *store;
    rondo_series *s;
    rondo_error err;
    rondo_archive_spec a = {1, 4, RONDO_CF_AVG};
    if (rondo_store_open(&store, store_dir, RONDO_OPEN_CREATE | RONDO_OPEN_WRITE, &err) !=
            RONDO_OK ||
        rondo_store_add(store, "m{a=1}", RONDO_GAUGE, &a, 1, &s, &err) != RONDO_OK)
        return -1;
    rondo_store_close(store);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/index", store_dir);
    DIR *d = opendir(dir);
    const struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.')
            snprintf(index_path, sizeof index_path, "%s/%s", dir, de->d_name);
    }
    if (d != NULL)
        closedir(d);
    return index_path[0] ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (store_dir[0] == '\0' && make_store() != 0)
        abort();
    int fd = open(index_path, O_WRONLY | O_TRUNC);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);
    rondo_store *store;
    rondo_series *s;
    rondo_error err;
    if (rondo_store_open(&store, store_dir, RONDO_OPEN_READ, &err) == RONDO_OK) {
        for (size_t i = 0; i < rondo_store_series_count(store); i++) {
            char key[RONDO_MAX_KEY + 1];
            if (rondo_series_id_format(rondo_store_series_id(store, i), key, sizeof key) < 0)
                abort();
            rondo_store_series(store, i, &s, &err);
        }
        rondo_store_close(store);
    }
    if (rondo_store_open(&store, store_dir, RONDO_OPEN_READ | RONDO_OPEN_ON_DEMAND, &err) ==
        RONDO_OK) {
        rondo_store_find(store, "m{a=1}", &s, &err);
        rondo_selector sel;
        size_t *match, n;
        if (rondo_selector_parse(&sel, "m", &err) == RONDO_OK &&
            rondo_store_select(store, &sel, &match, &n, &err) == RONDO_OK)
            free(match);
        rondo_store_close(store);
    }
    return 0;
}
