/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* An rtnetlink monitor: links appearing and disappearing, and this network
 * namespace's own addresses, from a dump at start and notifications after.
 */
#ifndef WEIR_AGENT_NETLINK_H
#define WEIR_AGENT_NETLINK_H

#include <stddef.h>
#include "flow.h"

struct weir_netlink;

struct weir_netlink_ops {
	/* A link exists (from the dump) or changed; may repeat for one link. */
	void (*link_up)(void *ctx, int ifindex, const char *ifname);
	void (*link_gone)(void *ctx, int ifindex, const char *ifname);
	/* The full set of local addresses, after every change. */
	void (*addrs)(void *ctx, const struct weir_addr *addrs, size_t n);
};

int weir_netlink_open(struct weir_netlink **out, const struct weir_netlink_ops *ops, void *ctx);
/* Poll this for readability, then call weir_netlink_process(). */
int weir_netlink_fd(struct weir_netlink *nl);
/* Reports every existing link and the address set (also after an overrun). */
int weir_netlink_sync(struct weir_netlink *nl);
int weir_netlink_process(struct weir_netlink *nl);
void weir_netlink_close(struct weir_netlink *nl);

#endif /* WEIR_AGENT_NETLINK_H */
