/* `perfmatrix service`: the supervisor behind every server fixture
 * (redis-server, prometheus, node-exporter). See perf/README.md.
 *
 *   service start --dir DIR [--probe tcp|redis|http:PATH] [--lifetime-sec S]
 *                 [--ready-timeout-sec S] [--port N] -- PROGRAM [ARG...]
 *   service stop  --dir DIR
 *   service run   --dir DIR [--timeout-sec S] -- COMMAND [ARG...]
 *
 * start runs PROGRAM on a free 127.0.0.1 port (or --port N, to restart a
 * server where its clients expect it) under a watchdog that bounds its
 * life, waits until the probe answers, and writes DIR/addr ("127.0.0.1:PORT").
 * In PROGRAM's arguments {port} and {dir} are replaced. When PROGRAM is not
 * installed, DIR/addr says "skip: <reason>" and start succeeds, so the tests
 * that need the server skip with that reason. run substitutes {addr} and
 * {port} in COMMAND's arguments and exits 77 when the service was skipped. */
#ifndef PERFMATRIX_SERVICE_H
#define PERFMATRIX_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

int pm_cmd_service(int argc, char **argv);

/* Reads DIR/addr: true with the address, or false with the reason to skip. */
bool pm_service_addr(const char *addr_file, char *addr, size_t len, char *why, size_t whylen);

#endif
