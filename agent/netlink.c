// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* An rtnetlink monitor for links and local addresses (libmnl). */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include "log.h"
#include "netlink.h"

#define WEIR_NL_ADDRS_MAX 1024 /* local addresses tracked */

struct local_addr {
	int ifindex;
	struct weir_addr addr;
};

struct weir_netlink {
	struct mnl_socket *mon; /* multicast notifications */
	const struct weir_netlink_ops *ops;
	void *ctx;
	struct local_addr addrs[WEIR_NL_ADDRS_MAX];
	size_t n_addrs;
	char buf[32768]; /* MNL_SOCKET_BUFFER_SIZE is not a constant */
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
		return MNL_CB_OK;
	if (type == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	tb[type] = attr;
	return MNL_CB_OK;
}

static void on_link(struct weir_netlink *nl, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	const char *name;

	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);
	if (!tb[IFLA_IFNAME])
		return;
	name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	if (nlh->nlmsg_type == RTM_NEWLINK)
		nl->ops->link_up(nl->ctx, ifm->ifi_index, name);
	else
		nl->ops->link_gone(nl->ctx, ifm->ifi_index, name);
}

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static bool addr_equal(const struct local_addr *a, const struct local_addr *b)
{
	return a->ifindex == b->ifindex && a->addr.family == b->addr.family &&
	       !memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
}

/* Applies one RTM_NEWADDR/RTM_DELADDR; true if the set changed. */
static bool on_addr(struct weir_netlink *nl, const struct nlmsghdr *nlh)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct nlattr *a;
	struct local_addr la = { .ifindex = ifa->ifa_index };
	size_t i, len;

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return false;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	/* IFA_LOCAL is the local end of a point-to-point link; IFA_ADDRESS otherwise */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a)
		return false;
	len = ifa->ifa_family == AF_INET ? 4 : 16;
	if (mnl_attr_get_payload_len(a) < len)
		return false;
	la.addr.family = ifa->ifa_family == AF_INET ? 4 : 6;
	memcpy(la.addr.bytes, mnl_attr_get_payload(a), len);

	for (i = 0; i < nl->n_addrs; i++)
		if (addr_equal(&nl->addrs[i], &la))
			break;
	if (nlh->nlmsg_type == RTM_NEWADDR) {
		if (i < nl->n_addrs)
			return false;
		if (nl->n_addrs == WEIR_NL_ADDRS_MAX) {
			log_warn("netlink: too many local addresses, ignoring more max=%d",
				 WEIR_NL_ADDRS_MAX);
			return false;
		}
		nl->addrs[nl->n_addrs++] = la;
		return true;
	}
	if (i == nl->n_addrs)
		return false;
	nl->addrs[i] = nl->addrs[--nl->n_addrs];
	return true;
}

static void addrs_report(struct weir_netlink *nl)
{
	struct weir_addr out[WEIR_NL_ADDRS_MAX];
	size_t i;

	for (i = 0; i < nl->n_addrs; i++)
		out[i] = nl->addrs[i].addr;
	nl->ops->addrs(nl->ctx, out, nl->n_addrs);
}

struct msg_ctx {
	struct weir_netlink *nl;
	bool addrs_changed;
};

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct msg_ctx *mc = data;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		on_link(mc->nl, nlh);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		mc->addrs_changed |= on_addr(mc->nl, nlh);
		break;
	}
	return MNL_CB_OK;
}

/* One dump request on its own socket, so it never interleaves with
 * notifications.
 */
static int dump(struct weir_netlink *nl, int type, struct msg_ctx *mc)
{
	struct mnl_socket *s;
	struct nlmsghdr *nlh;
	struct rtgenmsg *rt;
	unsigned int seq = time(NULL), portid;
	ssize_t n;
	int ret, err = 0;

	s = mnl_socket_open(NETLINK_ROUTE);
	if (!s)
		return -errno;
	if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(s);
	nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(s, nl->buf, sizeof(nl->buf))) > 0) {
		ret = mnl_cb_run(nl->buf, n, seq, portid, msg_cb, mc);
		if (ret <= MNL_CB_STOP)
			break;
	}
	if (n < 0)
		err = -errno;
out:
	if (err)
		log_err("netlink dump type=%d: %s", type, strerror(-err));
	mnl_socket_close(s);
	return err;
}

int weir_netlink_sync(struct weir_netlink *nl)
{
	struct msg_ctx mc = { .nl = nl };
	int err;

	err = dump(nl, RTM_GETLINK, &mc);
	if (err)
		return err;
	nl->n_addrs = 0;
	err = dump(nl, RTM_GETADDR, &mc);
	if (err)
		return err;
	addrs_report(nl);
	return 0;
}

int weir_netlink_open(struct weir_netlink **out, const struct weir_netlink_ops *ops, void *ctx)
{
	struct weir_netlink *nl = calloc(1, sizeof(*nl));
	int err;

	if (!nl)
		return -ENOMEM;
	nl->ops = ops;
	nl->ctx = ctx;
	nl->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!nl->mon) {
		err = -errno;
		goto err_free;
	}
	if (mnl_socket_bind(nl->mon, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_close;
	}
	*out = nl;
	return 0;

err_close:
	mnl_socket_close(nl->mon);
err_free:
	log_err("netlink monitor: %s", strerror(-err));
	free(nl);
	return err;
}

int weir_netlink_fd(struct weir_netlink *nl)
{
	return mnl_socket_get_fd(nl->mon);
}

int weir_netlink_process(struct weir_netlink *nl)
{
	struct msg_ctx mc = { .nl = nl };
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(nl->mon, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (errno == ENOBUFS) {
				/* notifications were lost: start again from a dump */
				log_warn("netlink monitor overrun, resyncing");
				return weir_netlink_sync(nl);
			}
			log_err("netlink monitor: %s", strerror(errno));
			return -errno;
		}
		mnl_cb_run(nl->buf, n, 0, 0, msg_cb, &mc);
	}
	if (mc.addrs_changed)
		addrs_report(nl);
	return 0;
}

void weir_netlink_close(struct weir_netlink *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->mon);
	free(nl);
}
