#include "pmbase/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

/* A server in a child process (ended by the test, or by its alarm should the
 * test fail first): answers each connection with "+PONG\r\n" in two writes
 * 1.5 s apart, then closes it. */
static pid_t pong_server(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(listen(s, 4), 0);
    *port = ntohs(a.sin_port);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(30);
        /* A client that has read enough closes first; the late write must
         * not end the server. */
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
            int c = accept(s, NULL, NULL);
            char buf[64];
            if (c < 0)
                _exit(1);
            ssize_t n = read(c, buf, sizeof buf);
            if (n > 0 && write(c, "+PO", 3) == 3) {
                usleep(1500000);
                n = write(c, "NG\r\n", 4);
            }
            close(c);
        }
    }
    close(s);
    return pid;
}

static void exchange_reads_the_first_answer_or_all_of_it(void **state)
{
    int port = 0;
    pid_t pid = pong_server(&port);
    char reply[64];
    /* A probe is content with the first read; a whole read waits for the
     * peer to close (each read may wait up to the timeout). */
    assert_int_equal(pmb_loopback_exchange(port, "PING\r\n", reply, sizeof reply, 1, false), 3);
    assert_string_equal(reply, "+PO");
    assert_int_equal(pmb_loopback_exchange(port, "PING\r\n", reply, sizeof reply, 3, true), 7);
    assert_string_equal(reply, "+PONG\r\n");
    /* The reply is cut to fit, and still terminated. */
    char small[4];
    assert_int_equal(pmb_loopback_exchange(port, "PING\r\n", small, sizeof small, 1, true), 3);
    assert_string_equal(small, "+PO");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* Nothing listens any more: no bytes, an empty reply. */
    assert_int_equal(pmb_loopback_exchange(port, "PING\r\n", reply, sizeof reply, 1, true), 0);
    assert_string_equal(reply, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(free_port_is_free_then_open_when_listened_on),
        cmocka_unit_test(exchange_reads_the_first_answer_or_all_of_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
