#include "pmbase/child.h"
#include "pmbase/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static void exit_code_is_reported(void **state)
{
    char *argv[] = {"sh", "-c", "exit 3", NULL};
    pid_t pid;
    pmb_error err = {0};
    assert_int_equal(pmb_child_spawn(argv, NULL, &pid, &err), PMB_OK);
    pmb_child_status st;
    assert_int_equal(pmb_child_wait(pid, 10, 1, &st, &err), PMB_OK);
    assert_int_equal(st.exit_code, 3);
    assert_false(st.timed_out);
}

static void missing_program_is_an_input_error(void **state)
{
    char *argv[] = {"/nonexistent/program", NULL};
    pid_t pid;
    pmb_error err = {0};
    assert_int_equal(pmb_child_spawn(argv, NULL, &pid, &err), PMB_EINPUT);
    assert_non_null(strstr(err.msg, "cannot run /nonexistent/program"));
}

/* True while pid runs; a zombie waiting for its new parent to reap it has
 * ended, though kill(pid, 0) still finds it. */
static bool alive(pid_t pid)
{
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    int n = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    return n == 1 && state != 'Z' && state != 'X';
}

/* A child that ignores SIGTERM and leaves a grandchild behind: the deadline
 * must stop both, the grandchild through the process group. */
static void deadline_stops_the_whole_group(void **state)
{
    char pidfile[] = "/tmp/pmbase_child_XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    char script[256];
    snprintf(script, sizeof script,
             "trap '' TERM; sleep 60 & echo $! > %s; while :; do sleep 1; done", pidfile);
    char *argv[] = {"sh", "-c", script, NULL};
    pid_t pid;
    pmb_error err = {0};
    assert_int_equal(pmb_child_spawn(argv, NULL, &pid, &err), PMB_OK);
    double start = pmb_now_sec();
    pmb_child_status st;
    assert_int_equal(pmb_child_wait(pid, 0.5, 0.3, &st, &err), PMB_ERUNTIME);
    assert_true(st.timed_out);
    assert_true(st.signaled);
    assert_true(pmb_now_sec() - start < 5);
    FILE *f = fopen(pidfile, "r");
    long grandchild = 0;
    assert_int_equal(fscanf(f, "%ld", &grandchild), 1);
    fclose(f);
    unlink(pidfile);
    /* Signal delivery is asynchronous: give the kernel a moment. */
    for (int i = 0; i < 100 && alive((pid_t)grandchild); i++)
        usleep(10000);
    assert_false(alive((pid_t)grandchild));
}

static void output_goes_to_the_given_descriptor(void **state)
{
    FILE *out = tmpfile();
    pmb_spawn_options o = PMB_SPAWN_DEFAULTS;
    o.stdout_fd = fileno(out);
    char *argv[] = {"sh", "-c", "echo hi", NULL};
    pid_t pid;
    pmb_error err = {0};
    assert_int_equal(pmb_child_spawn(argv, &o, &pid, &err), PMB_OK);
    pmb_child_status st;
    assert_int_equal(pmb_child_wait(pid, 10, 1, &st, &err), PMB_OK);
    rewind(out);
    char line[16] = "";
    assert_non_null(fgets(line, sizeof line, out));
    assert_string_equal(line, "hi\n");
    fclose(out);
}

/* A driver killed with SIGKILL (a CTest timeout, an impatient user) takes
 * the children it asked to die with it: they are in groups of their own, so
 * nothing else would reach them. */
static void children_die_with_a_killed_parent(void **state)
{
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t driver = fork();
    assert_true(driver >= 0);
    if (driver == 0) {
        pmb_spawn_options o = PMB_SPAWN_DEFAULTS;
        o.die_with_parent = true;
        char *argv[] = {"sleep", "60", NULL};
        pid_t child;
        if (pmb_child_spawn(argv, &o, &child, NULL) != PMB_OK)
            _exit(1);
        ssize_t n = write(pipefd[1], &child, sizeof child);
        (void)n;
        pause();
        _exit(0);
    }
    close(pipefd[1]);
    pid_t child = 0;
    assert_int_equal(read(pipefd[0], &child, sizeof child), (ssize_t)sizeof child);
    close(pipefd[0]);
    assert_true(alive(child));
    kill(driver, SIGKILL);
    waitpid(driver, NULL, 0);
    for (int i = 0; i < 200 && alive(child); i++)
        usleep(10000);
    assert_false(alive(child));
}

static void programs_are_found_in_path(void **state)
{
    char path[4096];
    assert_true(pmb_program_find("sh", path, sizeof path));
    assert_int_equal(access(path, X_OK), 0);
    assert_true(pmb_program_find("/bin/sh", path, sizeof path));
    assert_false(pmb_program_find("no-such-program-here", path, sizeof path));
    assert_false(pmb_program_find("", path, sizeof path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exit_code_is_reported),
        cmocka_unit_test(missing_program_is_an_input_error),
        cmocka_unit_test(deadline_stops_the_whole_group),
        cmocka_unit_test(output_goes_to_the_given_descriptor),
        cmocka_unit_test(children_die_with_a_killed_parent),
        cmocka_unit_test(programs_are_found_in_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
