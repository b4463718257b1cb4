/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Named network namespaces (`ip netns add`) and the addresses inside them,
 * read over rtnetlink from a helper thread that joins each namespace in turn.
 */
#ifndef WEIR_AGENT_NETNS_DISCOVERY_H
#define WEIR_AGENT_NETNS_DISCOVERY_H

#include <stddef.h>
#include "flow.h"

struct weir_netns {
	char *name;		 /* the file name under the directory */
	struct weir_addr *addrs; /* without loopback, fe80::/10, or addresses on lo */
	size_t n_addrs;
};

/* Every network namespace file in dir, sorted by name, into *out (free with
 * weir_netns_free). A missing dir is no namespaces; a file that is not (or no
 * longer) a network namespace is skipped. Returns 0 or -errno.
 */
int weir_netns_scan(const char *dir, struct weir_netns **out, size_t *n);
void weir_netns_free(struct weir_netns *v, size_t n);

#endif /* WEIR_AGENT_NETNS_DISCOVERY_H */
