/* Inside the network module (librondovmm_net.so): the API's entry points,
 * gathered with the exporter's into rvmm_net_ops_v1 by net.c. */
#ifndef RVMM_NET_H
#define RVMM_NET_H

#include "internal.h"

int rvmm_api_start(rvmm_vm *vm, int port, void **out, int *bound_port, pmb_error *err);
void rvmm_api_stop(void *api);

extern const rvmm_net_ops rvmm_net_ops_v1;

#endif
