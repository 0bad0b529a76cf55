#include "pmbase/alloc.h"
#include "pmbase/error.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void set_returns_status_and_formats(void **state)
{
    pmb_error err = {0};
    assert_int_equal(pmb_error_set(&err, PMB_EINPUT, "node %s: field %d", "a", 3), PMB_EINPUT);
    assert_int_equal(err.status, PMB_EINPUT);
    assert_string_equal(err.msg, "node a: field 3");
}

static void set_tolerates_null(void **state)
{
    assert_int_equal(pmb_error_set(NULL, 7, "x"), 7);
}

static void errno_appends_reason(void **state)
{
    pmb_error err = {0};
    assert_int_equal(pmb_error_errno(&err, PMB_ERUNTIME, ENOENT, "open %s", "f"), PMB_ERUNTIME);
    assert_string_equal(err.msg, "open f: No such file or directory");
}

static void strdup_copies(void **state)
{
    char *s = pmb_strdup("abc");
    assert_string_equal(s, "abc");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_returns_status_and_formats),
        cmocka_unit_test(set_tolerates_null),
        cmocka_unit_test(errno_appends_reason),
        cmocka_unit_test(strdup_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
