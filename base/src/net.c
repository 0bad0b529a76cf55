#include "pmbase/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct sockaddr_in pmb__loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return a;
}

int pmb_loopback_free_port(int *port, pmb_error *err)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return pmb_error_errno(err, PMB_ERUNTIME, errno, "free loopback port: socket");
    struct sockaddr_in a = pmb__loopback(0);
    socklen_t len = sizeof a;
    int rc = PMB_OK;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        rc = pmb_error_errno(err, PMB_ERUNTIME, errno, "free loopback port: bind 127.0.0.1:0");
    else
        *port = ntohs(a.sin_port);
    close(s);
    return rc;
}

bool pmb_loopback_port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct sockaddr_in a = pmb__loopback(port);
    bool open = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return open;
}

size_t pmb_loopback_exchange(int port, const char *request, char *reply, size_t len,
                             double timeout_sec, bool whole)
{
    reply[0] = '\0';
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    struct timeval tv = {.tv_sec = (time_t)timeout_sec,
                         .tv_usec =
                             (suseconds_t)((timeout_sec - (double)(time_t)timeout_sec) * 1e6)};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = pmb__loopback(port);
    size_t rlen = strlen(request), used = 0;
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(s, request, rlen) == (ssize_t)rlen) {
        ssize_t n;
        while (used < len - 1 && (n = read(s, reply + used, len - 1 - used)) > 0) {
            used += (size_t)n;
            if (!whole)
                break;
        }
    }
    close(s);
    reply[used] = '\0';
    return used;
}
