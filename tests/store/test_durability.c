/* Data written before a SIGKILL of the writer is readable afterwards: a
 * forked child writes as fast as it can and is killed mid-write. */
#include "helpers.h"

#include <math.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROWS 50000

static void killed_mid_write(void **state)
{
    char dir[64];
    make_temp_dir(dir, sizeof dir);
    rondo_store *store;
    rondo_archive_spec a[2] = {{1, ROWS, RONDO_CF_AVG}, {10, ROWS, RONDO_CF_AVG}};
    new_series(dir, &store, "durable", RONDO_GAUGE, a, 2);
    rondo_store_close(store);
    /* The child publishes the index of each completed write here. */
    volatile int64_t *done =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(done != MAP_FAILED);
    *done = -1;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        rondo_error err;
        rondo_series *s;
        if (rondo_store_open(&store, dir, RONDO_OPEN_WRITE, &err) != RONDO_OK ||
            rondo_store_find(store, "durable", &s, &err) != RONDO_OK)
            _exit(3);
        rondo_series_set_max_future(s, 0);
        for (int64_t i = 0;; i++) {
            rondo_write(s, 1000 + i, (double)i);
            *done = i;
        }
    }
    while (*done < 3 * ROWS)
        usleep(1000);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int64_t last = *done;
    rondo_error err;
    rondo_series *s;
    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_READ, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(store, "durable", &s, &err), RONDO_OK);
    /* Every completed write of the finest window is there; the write in
     * flight is either absent or complete. */
    rondo_result res = {0};
    int64_t end = 1000 + last + 1;
    assert_int_equal(rondo_query(s, end - ROWS + 1, end + 1, &res, &err), RONDO_OK);
    assert_int_equal(res.nparts, 1);
    assert_int_equal(res.parts[0].resolution, 1);
    const rondo_part *p = &res.parts[0];
    size_t checked = 0;
    for (size_t k = 0; k < p->count; k++) {
        int64_t i = p->start + (int64_t)k - 1000;
        double v = p->values[k];
        if (i <= last) {
            if (v != (double)i)
                fail_msg("slot %lld holds %g after the kill", (long long)i, v);
            checked++;
        } else {
            assert_true(isnan(v) || v == (double)i);
        }
    }
    assert_true(checked >= ROWS - 1);
    rondo_result_free(&res);
    rondo_store_close(store);
    /* The lock died with the writer: a new writer carries on. */
    assert_int_equal(rondo_store_open(&store, dir, RONDO_OPEN_WRITE, &err), RONDO_OK);
    assert_int_equal(rondo_store_find(store, "durable", &s, &err), RONDO_OK);
    rondo_series_set_max_future(s, 0);
    assert_int_equal(rondo_write(s, end + 5, 1.0), RONDO_WRITE_APPLIED);
    rondo_store_close(store);
    munmap((void *)done, 4096);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(killed_mid_write)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
