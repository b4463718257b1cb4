// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Network-namespace discovery: the addresses inside each named network
 * namespace. Only a short-lived helper thread ever joins another namespace;
 * the caller's thread, and the sockets it makes, stay where they are.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include "log.h"
#include "netns_discovery.h"

#define DUMP_BUF_BYTES 32768 /* the most the kernel puts in one dump read */
#define DUMP_TRIES     3     /* restarts when addresses change mid-dump */

struct scan {
	int dir_fd;
	struct weir_netns *ns; /* names filled in; the helper adds the addresses */
	bool *found;	       /* ns[i] was a network namespace */
	size_t n;
	int err; /* the helper's result */
};

struct dump {
	struct weir_netns *ns;
	unsigned int lo_index;
	bool intr; /* NLM_F_DUMP_INTR: the list changed while it was read */
	int err;
};

static bool addr_skipped(const struct weir_addr *a)
{
	static const uint8_t loopback6[16] = { [15] = 1 };

	if (a->family == 4)
		return a->bytes[0] == 127;
	return !memcmp(a->bytes, loopback6, sizeof(loopback6)) ||
	       (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80);
}

static int addr_add(struct weir_netns *ns, const struct weir_addr *a)
{
	struct weir_addr *grown;
	size_t i;

	for (i = 0; i < ns->n_addrs; i++)
		if (!memcmp(&ns->addrs[i], a, sizeof(*a)))
			return 0;
	grown = realloc(ns->addrs, (ns->n_addrs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ns->addrs = grown;
	ns->addrs[ns->n_addrs++] = *a;
	return 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const void *local = NULL, *address = NULL;
	const struct ifaddrmsg *ifa;
	struct dump *d = data;
	struct weir_addr a;
	struct nlattr *attr;
	size_t len;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		d->intr = true;
	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family == AF_INET)
		len = 4;
	else if (ifa->ifa_family == AF_INET6)
		len = 16;
	else
		return MNL_CB_OK;
	if (ifa->ifa_index == d->lo_index || ifa->ifa_scope == RT_SCOPE_HOST)
		return MNL_CB_OK;
	/* IFA_LOCAL is the local end of a point-to-point address, whose
	 * IFA_ADDRESS is the peer; otherwise only IFA_ADDRESS is sent.
	 */
	mnl_attr_for_each(attr, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_payload_len(attr) != len)
			continue;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = mnl_attr_get_payload(attr);
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = mnl_attr_get_payload(attr);
	}
	if (!local)
		local = address;
	if (!local)
		return MNL_CB_OK;
	memset(&a, 0, sizeof(a));
	a.family = len == 4 ? 4 : 6;
	memcpy(a.bytes, local, len);
	if (addr_skipped(&a))
		return MNL_CB_OK;
	d->err = addr_add(d->ns, &a);
	return d->err ? MNL_CB_ERROR : MNL_CB_OK;
}

/* RTM_GETADDR in the calling thread's network namespace. */
static int dump_addrs(struct weir_netns *ns, char *buf)
{
	struct dump d = { .ns = ns };
	struct mnl_socket *nl;
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	unsigned int portid;
	int ret, tries;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	d.lo_index = if_nametoindex("lo");
	for (tries = 1; tries <= DUMP_TRIES; tries++) {
		ns->n_addrs = 0;
		d.intr = false;
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_GETADDR;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = tries;
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = AF_UNSPEC;
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
			ret = -errno;
			goto out;
		}
		do {
			ssize_t got = mnl_socket_recvfrom(nl, buf, DUMP_BUF_BYTES);

			if (got <= 0) {
				ret = got ? -errno : -EIO;
				goto out;
			}
			ret = mnl_cb_run(buf, got, tries, portid, addr_cb, &d);
		} while (ret > MNL_CB_STOP);
		if (ret < 0) {
			ret = d.err ? d.err : -errno;
			goto out;
		}
		if (!d.intr)
			break;
	}
	if (d.intr)
		log_debug("netns discovery: addresses kept changing netns=%s", ns->name);
	ret = 0;
out:
	mnl_socket_close(nl);
	return ret;
}

/* Joins each namespace in turn; the thread's namespace dies with it. */
static void *scan_thread(void *arg)
{
	struct scan *s = arg;
	char *buf = malloc(DUMP_BUF_BYTES);
	struct statfs st;
	size_t i;
	int fd;

	if (!buf) {
		s->err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < s->n && !s->err; i++) {
		const char *name = s->ns[i].name;

		fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT) {
				s->err = -errno;
				log_err("netns discovery: open netns=%s: %s", name,
					strerror(errno));
			}
			continue;
		}
		/* Between `ip netns delete`'s unmount and unlink the file is
		 * an empty regular file: the namespace is gone, skip it.
		 */
		if (fstatfs(fd, &st) || st.f_type != NSFS_MAGIC) {
			log_debug("netns discovery: not a namespace, skipped netns=%s", name);
		} else if (setns(fd, CLONE_NEWNET)) {
			if (errno == EINVAL) {
				log_debug("netns discovery: not a network namespace netns=%s",
					  name);
			} else {
				s->err = -errno;
				log_err("netns discovery: setns netns=%s: %s", name,
					strerror(errno));
			}
		} else {
			s->err = dump_addrs(&s->ns[i], buf);
			if (s->err)
				log_err("netns discovery: read addresses netns=%s: %s", name,
					strerror(-s->err));
			else
				s->found[i] = true;
		}
		close(fd);
	}
	free(buf);
	return NULL;
}

static void netns_release(struct weir_netns *ns)
{
	free(ns->name);
	free(ns->addrs);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct weir_netns *)a)->name, ((const struct weir_netns *)b)->name);
}

static int read_names(DIR *d, struct scan *s)
{
	struct weir_netns *grown;
	struct dirent *de;
	size_t cap = 0;

	for (errno = 0; (de = readdir(d)); errno = 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (s->n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(s->ns, cap * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			s->ns = grown;
		}
		memset(&s->ns[s->n], 0, sizeof(s->ns[s->n]));
		s->ns[s->n].name = strdup(de->d_name);
		if (!s->ns[s->n].name)
			return -ENOMEM;
		s->n++;
	}
	if (errno)
		return -errno;
	if (s->n)
		qsort(s->ns, s->n, sizeof(*s->ns), cmp_name);
	return 0;
}

static int run_helper(struct scan *s)
{
	sigset_t all, old;
	pthread_t tid;
	int err;

	/* Signals go to the agent's own threads, never to the helper. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&tid, NULL, scan_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	pthread_join(tid, NULL);
	return s->err;
}

int weir_netns_scan(const char *dir, struct weir_netns **out, size_t *n_out)
{
	struct scan s = { .dir_fd = -1 };
	size_t i, kept = 0;
	DIR *d;
	int err;

	*out = NULL;
	*n_out = 0;
	d = opendir(dir);
	if (!d) {
		/* `ip netns` makes the directory with its first namespace. */
		return errno == ENOENT ? 0 : -errno;
	}
	s.dir_fd = dirfd(d);
	err = read_names(d, &s);
	if (err)
		goto out;
	if (!s.n)
		goto out;
	s.found = calloc(s.n, sizeof(*s.found));
	if (!s.found) {
		err = -ENOMEM;
		goto out;
	}
	err = run_helper(&s);
	if (err)
		goto out;
	for (i = 0; i < s.n; i++) {
		if (s.found[i])
			s.ns[kept++] = s.ns[i];
		else
			netns_release(&s.ns[i]);
	}
	*out = s.ns;
	*n_out = kept;
	s.ns = NULL;
	s.n = 0;
out:
	weir_netns_free(s.ns, s.n);
	free(s.found);
	closedir(d);
	return err;
}

void weir_netns_free(struct weir_netns *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		netns_release(&v[i]);
	free(v);
}
