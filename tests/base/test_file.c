#include "pmbase/file.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

static int make_dir(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/pmbase_file_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static void write_then_read_round_trips(void **state)
{
    char p[128];
    path(p, sizeof p, "a.json");
    pmb_error err = {0};
    assert_int_equal(pmb_file_write_atomic(p, "hello", 5, 0644, &err), PMB_OK);
    assert_int_equal(pmb_file_write_atomic(p, "bye", 3, 0644, &err), PMB_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pmb_file_read(p, 0, &data, &len, &err), PMB_OK);
    assert_int_equal(len, 3);
    assert_string_equal(data, "bye");
    free(data);
    /* No temporary is left behind. */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        files += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, 1);
}

static void fifo_is_refused_without_blocking(void **state)
{
    char p[128];
    path(p, sizeof p, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    pmb_error err = {0};
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pmb_file_read(p, 0, &data, &len, &err), PMB_EINPUT);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

static void size_limit_is_enforced(void **state)
{
    char p[128];
    path(p, sizeof p, "big");
    pmb_error err = {0};
    assert_int_equal(pmb_file_write_atomic(p, "0123456789", 10, 0644, &err), PMB_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pmb_file_read(p, 9, &data, &len, &err), PMB_EINPUT);
    assert_non_null(strstr(err.msg, "limit of 9 bytes"));
}

static void missing_file_names_path(void **state)
{
    pmb_error err = {0};
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pmb_file_read("/nonexistent/x", 0, &data, &len, &err), PMB_EINPUT);
    assert_non_null(strstr(err.msg, "/nonexistent/x: cannot open: No such file"));
}

static void write_replaces_a_link_instead_of_following_it(void **state)
{
    char target[128], link[128];
    path(target, sizeof target, "outside");
    path(link, sizeof link, "link");
    pmb_error err = {0};
    assert_int_equal(pmb_file_write_atomic(target, "keep", 4, 0644, &err), PMB_OK);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(pmb_file_write_atomic(link, "new", 3, 0644, &err), PMB_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pmb_file_read(target, 0, &data, &len, &err), PMB_OK);
    assert_string_equal(data, "keep");
    free(data);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void mkdirs_creates_parents(void **state)
{
    char p[128];
    path(p, sizeof p, "x/y/z");
    pmb_error err = {0};
    assert_int_equal(pmb_mkdirs(p, &err), PMB_OK);
    assert_int_equal(pmb_mkdirs(p, &err), PMB_OK);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    path(p, sizeof p, "big/sub");
    assert_int_not_equal(pmb_mkdirs(p, &err), PMB_OK);
}

static void stream_reads_to_end(void **state)
{
    FILE *f = tmpfile();
    for (int i = 0; i < 10000; i++)
        fputs("0123456789", f);
    rewind(f);
    pmb_error err = {0};
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pmb_stream_read(f, "stdin", 0, &data, &len, &err), PMB_OK);
    assert_int_equal(len, 100000);
    free(data);
    rewind(f);
    assert_int_equal(pmb_stream_read(f, "stdin", 1000, &data, &len, &err), PMB_EINPUT);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_then_read_round_trips),
        cmocka_unit_test(fifo_is_refused_without_blocking),
        cmocka_unit_test(size_limit_is_enforced),
        cmocka_unit_test(missing_file_names_path),
        cmocka_unit_test(write_replaces_a_link_instead_of_following_it),
        cmocka_unit_test(mkdirs_creates_parents),
        cmocka_unit_test(stream_reads_to_end),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
