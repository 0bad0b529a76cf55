#include "rondovmm/vmm.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static int parse(rvmm_options *o, pmb_error *err, int argc, char **argv)
{
    return rvmm_options_parse(argc, argv, o, err);
}

static void defaults(void **state)
{
    rvmm_options o;
    pmb_error err = {0};
    char *argv[] = {"rondo-vmm", NULL};
    assert_int_equal(parse(&o, &err, 1, argv), PMB_OK);
    assert_int_equal(o.backend, RVMM_BACKEND_AUTO);
    assert_int_equal(o.vcpus, 1);
    assert_int_equal(o.mem_mib, 64);
    assert_int_equal(o.api_port, -1);
    assert_string_equal(o.cmdline, "workload_duration=10");
}

static void both_spellings(void **state)
{
    rvmm_options o;
    pmb_error err = {0};
    char *argv[] = {"rondo-vmm",
                    "--vcpus=4",
                    "--backend",
                    "ptrace",
                    "--workload-duration",
                    "30",
                    "--metrics-store=/tmp/s",
                    "--api-port",
                    "0",
                    "--json",
                    NULL};
    assert_int_equal(parse(&o, &err, 10, argv), PMB_OK);
    assert_int_equal(o.vcpus, 4);
    assert_int_equal(o.backend, RVMM_BACKEND_PTRACE);
    assert_string_equal(o.cmdline, "workload_duration=30");
    assert_string_equal(o.metrics_store, "/tmp/s");
    assert_int_equal(o.api_port, 0);
    assert_true(o.json);
}

static void cmdline_and_duration_combine(void **state)
{
    rvmm_options o;
    pmb_error err = {0};
    char *argv[] = {"rondo-vmm", "--cmdline", "crash=ud2", "--workload-duration", "5", NULL};
    assert_int_equal(parse(&o, &err, 5, argv), PMB_OK);
    assert_string_equal(o.cmdline, "crash=ud2 workload_duration=5");
    char *only[] = {"rondo-vmm", "--cmdline", "workload_duration=7", NULL};
    assert_int_equal(parse(&o, &err, 3, only), PMB_OK);
    assert_string_equal(o.cmdline, "workload_duration=7");
}

static void bad_input_names_flag_and_value(void **state)
{
    struct {
        char *args[3];
        const char *msg;
    } cases[] = {
        {{"--vcpus", "9"}, "--vcpus: '9' is out of range [1, 8]"},
        {{"--vcpus", "two"}, "--vcpus: 'two' is not an integer"},
        {{"--backend", "xen"}, "--backend: 'xen' is not auto, kvm or ptrace"},
        {{"--mem-mib", "1"}, "--mem-mib: '1' is out of range"},
        {{"--api-port", "70000"}, "--api-port: '70000' is out of range"},
        {{"--workload-duration", "-1"}, "--workload-duration: '-1' is out of range"},
        {{"--frobnicate"}, "unknown option '--frobnicate'"},
        {{"--vcpus"}, "--vcpus: needs a value"},
        {{"extra"}, "unexpected argument 'extra'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rvmm_options o;
        pmb_error err = {0};
        char *argv[4] = {"rondo-vmm", cases[i].args[0], cases[i].args[1], NULL};
        int argc = cases[i].args[1] ? 3 : 2;
        assert_int_equal(parse(&o, &err, argc, argv), PMB_EINPUT);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(both_spellings),
        cmocka_unit_test(cmdline_and_duration_combine),
        cmocka_unit_test(bad_input_names_flag_and_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
