#include "perfmatrix/sampler.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

static void status_fields(void **state)
{
    const char *text = "Name:\trondo-vmm\nUmask:\t0022\nState:\tS (sleeping)\n"
                       "VmHWM:\t    4304 kB\nVmRSS:\t    4100 kB\nThreads:\t3\n";
    pm_proc_sample s = {0};
    assert_true(pm_proc_parse_status(text, &s));
    assert_int_equal(s.hwm_kb, 4304);
    assert_int_equal(s.rss_kb, 4100);
    assert_int_equal(s.threads, 3);
    /* A zombie has no memory lines; a damaged text no thread count. */
    assert_true(pm_proc_parse_status("Name:\tx\nState:\tZ\nThreads:\t1\n", &s));
    assert_int_equal(s.rss_kb, 0);
    assert_false(pm_proc_parse_status("garbage", &s));
}

static void stat_fields_survive_odd_names(void **state)
{
    long ticks = 0;
    assert_true(pm_proc_parse_stat(
        "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 1 0", &ticks));
    assert_int_equal(ticks, 22);
    assert_false(pm_proc_parse_stat("1234 no parenthesis", &ticks));
}

static void reads_this_process_and_misses_a_dead_one(void **state)
{
    pm_proc_sample s = {0};
    assert_true(pm_proc_read_tree(getpid(), &s));
    assert_true(s.rss_kb > 0 && s.threads >= 1 && s.fds >= 3 && s.processes >= 1);
    pm_proc_sample none = {0};
    assert_false(pm_proc_read(999999999, &none));
    assert_int_equal(none.processes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_fields),
        cmocka_unit_test(stat_fields_survive_odd_names),
        cmocka_unit_test(reads_this_process_and_misses_a_dead_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
