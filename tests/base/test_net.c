#include "pmbase/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static void free_port_is_free_then_open_when_listened_on(void **state)
{
    int port = 0;
    pmb_error err = {0};
    assert_int_equal(pmb_loopback_free_port(&port, &err), PMB_OK);
    assert_true(port > 0 && port < 65536);
    assert_false(pmb_loopback_port_open(port));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 1), 0);
    assert_true(pmb_loopback_port_open(port));
    close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(free_port_is_free_then_open_when_listened_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
