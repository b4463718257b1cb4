// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow records and endpoints: allocation, reference counting, and the address
 * and protocol names every printer needs. JSON lives in flow_json.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "flow.h"

/* Never freed: get and put leave it alone, so it needs no reference count. */
static struct weir_endpoint world = {
	.refcnt = 1,
	.identity = WEIR_IDENTITY_WORLD,
};

struct weir_endpoint *weir_endpoint_world(void)
{
	return &world;
}

struct weir_endpoint *weir_endpoint_new(enum weir_identity identity)
{
	struct weir_endpoint *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	ep->refcnt = 1;
	ep->identity = identity;
	return ep;
}

struct weir_endpoint *weir_endpoint_get(struct weir_endpoint *ep)
{
	if (ep && ep != &world)
		__atomic_fetch_add(&ep->refcnt, 1, __ATOMIC_RELAXED);
	return ep;
}

void weir_endpoint_put(struct weir_endpoint *ep)
{
	size_t i;

	if (!ep || ep == &world)
		return;
	/* Release our writes; the last one acquires everyone else's before freeing. */
	if (__atomic_sub_fetch(&ep->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	free(ep->namespace);
	free(ep->pod_name);
	for (i = 0; i < ep->n_labels; i++)
		free(ep->labels[i]);
	free((void *)ep->labels);
	free(ep->workload_name);
	free(ep->workload_kind);
	free(ep->node_name);
	free(ep);
}

struct weir_flow_record *weir_flow_record_new(void)
{
	struct weir_flow_record *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->refcnt = 1;
	return r;
}

struct weir_flow_record *weir_flow_record_get(struct weir_flow_record *r)
{
	if (r)
		__atomic_fetch_add(&r->refcnt, 1, __ATOMIC_RELAXED);
	return r;
}

/* The name weir_flow_record_new_named() put in the record's own block. */
static char *inline_name(struct weir_flow_record *r)
{
	return (char *)(r + 1);
}

struct weir_flow_record *weir_flow_record_new_named(const char *node_name, size_t len)
{
	struct weir_flow_record *r = malloc(sizeof(*r) + len + 1);

	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->refcnt = 1;
	r->node_name = inline_name(r);
	memcpy(r->node_name, node_name, len);
	r->node_name[len] = '\0';
	return r;
}

int weir_flow_record_set_node_name(struct weir_flow_record *r, const char *node_name)
{
	char *copy = node_name ? strdup(node_name) : NULL;

	if (node_name && !copy)
		return -ENOMEM;
	if (r->node_name != inline_name(r))
		free(r->node_name);
	r->node_name = copy;
	return 0;
}

void weir_flow_record_put(struct weir_flow_record *r)
{
	if (!r || __atomic_sub_fetch(&r->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	if (r->node_name != inline_name(r))
		free(r->node_name);
	free(r->dst_service);
	weir_endpoint_put(r->src);
	weir_endpoint_put(r->dst);
	free(r);
}

const char *weir_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len)
{
	int af = family == 6 ? AF_INET6 : AF_INET;

	if ((family != 4 && family != 6) || !inet_ntop(af, addr, buf, (socklen_t)len)) {
		if (len)
			buf[0] = '\0';
	}
	return buf;
}

const char *weir_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMP:
		return "ICMPv4";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	case IPPROTO_SCTP:
		return "SCTP";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}
