/* Loopback helpers for the servers the tests and benchmarks start. Nothing
 * here ever binds or connects to anything but 127.0.0.1. */
#ifndef PMBASE_NET_H
#define PMBASE_NET_H

#include "pmbase/error.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0). */
int pmb_loopback_free_port(int *port, pmb_error *err);

/* True when something accepts a TCP connection on 127.0.0.1:port. */
bool pmb_loopback_port_open(int port);

/* Sends request to 127.0.0.1:port and reads the answer into reply, at most
 * len - 1 bytes and NUL-terminated, each send and read waiting timeout_sec at
 * most. With whole it reads until the peer closes (an HTTP/1.0 body);
 * otherwise the first read is enough (a readiness probe). Returns the bytes
 * read, 0 when the connection or the exchange failed. */
size_t pmb_loopback_exchange(int port, const char *request, char *reply, size_t len,
                             double timeout_sec, bool whole);

#ifdef __cplusplus
}
#endif

#endif
