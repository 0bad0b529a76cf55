/* Loopback helpers for the servers the tests and benchmarks start. Nothing
 * here ever binds or connects to anything but 127.0.0.1. */
#ifndef PMBASE_NET_H
#define PMBASE_NET_H

#include "pmbase/error.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0). */
int pmb_loopback_free_port(int *port, pmb_error *err);

/* True when something accepts a TCP connection on 127.0.0.1:port. */
bool pmb_loopback_port_open(int port);

#ifdef __cplusplus
}
#endif

#endif
