/* The index keeps finding, opening and adding a series independent of how
 * many series a store holds (issue 9, row 7): an add appends one line to the
 * index file of its metric name and never rewrites schema.json, and a lookup
 * reads only its own name's file, so the other files may as well be broken. */
#include "helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static const rondo_archive_spec tiny = {1, 4, RONDO_CF_AVG};

static int setup(void **state)
{
    make_temp_dir(dir, sizeof dir);
    return 0;
}

static int teardown(void **state)
{
    rm_tree(dir);
    return 0;
}

static rondo_store *open_store(int flags)
{
    rondo_store *store;
    rondo_error err;
    if (rondo_store_open(&store, dir, flags, &err) != RONDO_OK)
        fail_msg("%s", err.message);
    return store;
}

static void add(rondo_store *store, const char *key)
{
    rondo_series *s;
    rondo_error err;
    if (rondo_store_add(store, key, RONDO_GAUGE, &tiny, 1, &s, &err) != RONDO_OK)
        fail_msg("add %s: %s", key, err.message);
}

/* The index file that lists the series named `name`: the only one whose
 * lines mention it. */
static void index_file_of(const char *key, char *out, size_t size)
{
    char index[128];
    snprintf(index, sizeof index, "%s/index", dir);
    DIR *d = opendir(index);
    assert_non_null(d);
    struct dirent *de;
    out[0] = '\0';
    while ((de = readdir(d)) != NULL) {
        char path[512], text[4096] = {0};
        snprintf(path, sizeof path, "%s/%s", index, de->d_name);
        FILE *f = de->d_name[0] != '.' ? fopen(path, "r") : NULL;
        if (f == NULL)
            continue;
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        char quoted[128];
        snprintf(quoted, sizeof quoted, "\"key\":\"%s\"", key);
        if (n > 0 && strstr(text, quoted) != NULL)
            snprintf(out, size, "%s", path);
    }
    closedir(d);
    assert_true(out[0] != '\0');
}

static void append_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void add_leaves_schema_alone(void **state)
{
    rondo_store *store = open_store(RONDO_OPEN_CREATE | RONDO_OPEN_WRITE | RONDO_OPEN_ON_DEMAND);
    char schema[128];
    snprintf(schema, sizeof schema, "%s/schema.json", dir);
    struct stat before, after;
    assert_int_equal(stat(schema, &before), 0);
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof key, "m%d{i=\"%d\"}", i % 7, i);
        add(store, key);
    }
    assert_int_equal(stat(schema, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    rondo_store_close(store);
    store = open_store(RONDO_OPEN_READ);
    assert_int_equal(rondo_store_series_count(store), 200);
    rondo_store_close(store);
}

static void lookup_reads_only_its_name(void **state)
{
    rondo_store *store = open_store(RONDO_OPEN_CREATE | RONDO_OPEN_WRITE);
    add(store, "alpha");
    add(store, "beta{x=1}");
    rondo_store_close(store);
    char broken[512];
    index_file_of("beta{x=1}", broken, sizeof broken);
    append_text(broken, "{not json\n");

    store = open_store(RONDO_OPEN_WRITE | RONDO_OPEN_ON_DEMAND);
    rondo_series *s;
    rondo_error err;
    assert_int_equal(rondo_store_find(store, "alpha", &s, &err), RONDO_OK);
    add(store, "gamma");
    rondo_selector sel;
    assert_int_equal(rondo_selector_parse(&sel, "alpha", &err), RONDO_OK);
    size_t *match, n;
    assert_int_equal(rondo_store_select(store, &sel, &match, &n, &err), RONDO_OK);
    assert_int_equal(n, 1);
    free(match);
    /* The broken file is found when it is needed, and named. */
    assert_int_equal(rondo_store_find(store, "beta{x=1}", &s, &err), RONDO_ERR_CORRUPT);
    assert_non_null(strstr(err.message, broken));
    assert_non_null(strstr(err.message, "not a JSON object"));
    assert_int_equal(rondo_store_list(store, &err), RONDO_ERR_CORRUPT);
    rondo_store_close(store);
    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_READ, &err), RONDO_ERR_CORRUPT);
}

/* A series id points into its own storage: the store's list must not move
 * entries as it grows (they once moved with realloc). */
static void entries_stay_put(void **state)
{
    rondo_store *store = open_store(RONDO_OPEN_CREATE | RONDO_OPEN_WRITE);
    const rondo_series_id *first = NULL;
    for (int i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "n%d", i);
        add(store, key);
        if (i == 0)
            first = rondo_store_series_id(store, 0);
    }
    assert_ptr_equal(first, rondo_store_series_id(store, 0));
    for (size_t i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof key, "n%zu", i);
        assert_string_equal(rondo_store_series_id(store, i)->name, key);
    }
    rondo_store_close(store);
}

/* A line cut short by a crash is ignored by readers and removed by the
 * next add; the lines around it survive. */
static void torn_line_is_cut(void **state)
{
    rondo_store *store = open_store(RONDO_OPEN_CREATE | RONDO_OPEN_WRITE);
    add(store, "cpu{core=0}");
    rondo_store_close(store);
    char index[512];
    index_file_of("cpu{core=0}", index, sizeof index);
    append_text(index, "{\"key\":\"cpu{core=9}\",\"ki");
    store = open_store(RONDO_OPEN_WRITE);
    assert_int_equal(rondo_store_series_count(store), 1);
    add(store, "cpu{core=1}");
    rondo_store_close(store);
    store = open_store(RONDO_OPEN_READ);
    assert_int_equal(rondo_store_series_count(store), 2);
    assert_string_equal(rondo_store_series_id(store, 1)->labels[0].value, "1");
    rondo_store_close(store);
}

/* A series another process adds is found without reopening the store. */
static void find_sees_other_writers(void **state)
{
    rondo_store *a = open_store(RONDO_OPEN_CREATE | RONDO_OPEN_WRITE | RONDO_OPEN_ON_DEMAND);
    rondo_store *b = open_store(RONDO_OPEN_READ | RONDO_OPEN_ON_DEMAND);
    rondo_series *s;
    rondo_error err;
    add(a, "disk{dev=a}");
    assert_int_equal(rondo_store_find(b, "disk{dev=a}", &s, &err), RONDO_OK);
    add(a, "disk{dev=b}");
    assert_int_equal(rondo_store_find(b, "disk{dev=b}", &s, &err), RONDO_OK);
    rondo_store_close(a);
    rondo_store_close(b);
}

/* A store written before the index (version 1: every series in schema.json)
 * reads as before and takes new series into the index. */
static void version1_store_upgrades(void **state)
{
    rondo_store *store = open_store(RONDO_OPEN_CREATE | RONDO_OPEN_WRITE);
    add(store, "old");
    rondo_series *s;
    rondo_error err;
    assert_int_equal(rondo_store_find(store, "old", &s, &err), RONDO_OK);
    assert_int_equal(rondo_write(s, 1000, 42.0), RONDO_WRITE_APPLIED);
    rondo_series_info info;
    rondo_series_get_info(s, &info);
    char legacy[256], cmd[768];
    snprintf(legacy, sizeof legacy, "%s/series-0.rondo", dir);
    assert_int_equal(rename(info.path, legacy), 0);
    rondo_store_close(store);
    snprintf(cmd, sizeof cmd,
             "rm -r '%s/index' && printf '%%s' '{\"format\":\"rondo-store\",\"version\":1,"
             "\"series\":[{\"key\":\"old\",\"kind\":\"gauge\",\"file\":\"series-0.rondo\","
             "\"archives\":[{\"resolution\":1,\"rows\":4,\"cf\":\"avg\"}]}]}' > '%s/schema.json'",
             dir, dir);
    assert_int_equal(system(cmd), 0);

    store = open_store(RONDO_OPEN_WRITE | RONDO_OPEN_ON_DEMAND);
    assert_int_equal(rondo_store_add(store, "old", RONDO_GAUGE, &tiny, 1, &s, &err),
                     RONDO_ERR_EXISTS);
    add(store, "new");
    rondo_store_close(store);
    store = open_store(RONDO_OPEN_READ);
    assert_int_equal(rondo_store_series_count(store), 2);
    assert_string_equal(rondo_store_series_id(store, 0)->name, "old");
    assert_int_equal(rondo_store_find(store, "old", &s, &err), RONDO_OK);
    rondo_result res = {0};
    assert_int_equal(rondo_query(s, 1000, 1001, &res, &err), RONDO_OK);
    assert_true(res.nparts == 1 && res.parts[0].values[0] == 42.0);
    rondo_result_free(&res);
    rondo_store_close(store);
    FILE *f = fopen(strcat(strcpy(cmd, dir), "/schema.json"), "r");
    char text[1024] = {0};
    assert_true(fread(text, 1, sizeof text - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(text, "\"version\":\t2"));
    assert_non_null(strstr(text, "series-0.rondo"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(add_leaves_schema_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(lookup_reads_only_its_name, setup, teardown),
        cmocka_unit_test_setup_teardown(entries_stay_put, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_line_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(find_sees_other_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(version1_store_upgrades, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
