// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPFIX export: a store follower, the delta tracker, the message being
 * filled, and the socket to the collector, all on the exporter's thread.
 */
#define _GNU_SOURCE /* sendmmsg() */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "flow_delta.h"
#include "ipfix.h"
#include "ipfix_export.h"
#include "log.h"
#include "store.h"

#define NS_PER_S	 1000000000ULL
#define NS_PER_MS	 1000000ULL
#define WAIT_MS		 200 /* the thread looks at the stop flag this often */
/* Woken from idle by one record, the thread lets more gather before it
 * drains the queue: one wakeup per batch rather than per record.
 */
#define BATCH_GATHER_US	 2000
#define UDP_BATCH	 16 /* UDP messages handed to the kernel by one sendmmsg() */
#define CONNECT_MS	 2000
#define SEND_TIMEOUT_S	 5
#define BACKOFF_MIN_NS	 NS_PER_S
#define BACKOFF_MAX_NS	 (30 * NS_PER_S)
#define FLOW_MAX_AGE_MIN (60 * NS_PER_S)

struct weir_ipfix_exporter {
	struct weir_ipfix_export_opts o;
	char *collector;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;
	struct weir_follower *f;
	struct weir_flow_delta *delta;
	pthread_t thread;
	bool stop; /* atomic */

	/* the thread's */
	uint8_t *buf; /* batch_max messages of msg_max_bytes */
	size_t batch_max;
	struct weir_ipfix_msg msg;
	bool msg_open;
	struct pending {
		size_t len;
		uint32_t n_records;
		bool templates;
	} pending[UDP_BATCH]; /* finished messages not yet handed to the kernel */
	size_t n_pending;
	bool templates_due;
	bool templates_pending; /* a pending message carries them */
	uint32_t seq; /* data records sent, mod 2^32: the next message's sequence number */
	uint64_t next_template_ns;
	uint64_t next_connect_ns;
	uint64_t backoff_ns;

	pthread_mutex_t lock; /* guards st */
	struct weir_ipfix_export_stats st;
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void stat_add(struct weir_ipfix_exporter *x, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&x->lock);
	*field += n;
	pthread_mutex_unlock(&x->lock);
}

/* "host:port" or "[v6]:port" to an address. */
static int collector_resolve(struct weir_ipfix_exporter *x)
{
	struct addrinfo hints = { .ai_socktype = x->o.tcp ? SOCK_STREAM : SOCK_DGRAM };
	char host[256], *port;
	struct addrinfo *res;
	int rc;

	snprintf(host, sizeof(host), "%s", x->o.collector);
	port = strrchr(host, ':');
	if (!port || port == host || !port[1]) {
		log_err("ipfix: collector '%s': want host:port", x->o.collector);
		return -EINVAL;
	}
	*port++ = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (host[n - 1] != ']') {
			log_err("ipfix: collector '%s': want [address]:port", x->o.collector);
			return -EINVAL;
		}
		host[n - 1] = '\0';
		memmove(host, host + 1, n - 1);
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		log_err("ipfix: resolve collector '%s': %s", x->o.collector, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	memcpy(&x->addr, res->ai_addr, res->ai_addrlen);
	x->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void conn_close(struct weir_ipfix_exporter *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	pthread_mutex_lock(&x->lock);
	x->st.connected = false;
	pthread_mutex_unlock(&x->lock);
}

/* A connected socket: UDP (sends fail fast when the collector's port is
 * closed), or TCP within CONNECT_MS, with a send timeout so a stuck
 * collector cannot hold the thread for long.
 */
static int conn_open(struct weir_ipfix_exporter *x)
{
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	struct pollfd p;
	int fd, err = 0, flags;
	socklen_t len = sizeof(err);

	fd = socket(x->addr.ss_family, (x->o.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&x->addr, x->addr_len)) {
		err = -errno;
		if (err == -EINPROGRESS) {
			p = (struct pollfd){ .fd = fd, .events = POLLOUT };
			err = poll(&p, 1, CONNECT_MS) == 1 ? 0 : -ETIMEDOUT;
			if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
				err = -err;
		}
	}
	if (err) {
		close(fd);
		return err;
	}
	fcntl(fd, F_SETFL, flags);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	x->fd = fd;
	x->templates_due = true; /* a new TCP session, or the first UDP message */
	pthread_mutex_lock(&x->lock);
	x->st.connected = true;
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* TCP: reconnect once the backoff allows. */
static bool conn_ready(struct weir_ipfix_exporter *x, uint64_t now)
{
	int err;

	if (x->fd >= 0)
		return true;
	if (now < x->next_connect_ns)
		return false;
	err = conn_open(x);
	if (!err) {
		log_info("ipfix: connected to collector=%s transport=%s", x->collector,
			 x->o.tcp ? "tcp" : "udp");
		x->backoff_ns = 0;
		return true;
	}
	x->backoff_ns = x->backoff_ns ? x->backoff_ns * 2 : BACKOFF_MIN_NS;
	if (x->backoff_ns > BACKOFF_MAX_NS)
		x->backoff_ns = BACKOFF_MAX_NS;
	x->next_connect_ns = now + x->backoff_ns;
	log_warn("ipfix: connect collector=%s: %s (retry in %llus)", x->collector, strerror(-err),
		 (unsigned long long)(x->backoff_ns / NS_PER_S));
	stat_add(x, &x->st.send_errors, 1);
	return false;
}

static int send_all(struct weir_ipfix_exporter *x, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(x->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!x->o.tcp && (size_t)n != len)
			return -EMSGSIZE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint8_t *slot(struct weir_ipfix_exporter *x, size_t i)
{
	return x->buf + i * x->o.msg_max_bytes;
}

static void msg_begin(struct weir_ipfix_exporter *x)
{
	weir_ipfix_msg_init(&x->msg, slot(x, x->n_pending), x->o.msg_max_bytes);
	if (x->templates_due && !x->templates_pending) {
		weir_ipfix_add_templates(&x->msg, x->o.pen); /* always fits: checked at start */
		x->templates_pending = true;
	}
	x->msg_open = true;
}

/* Hands the pending messages to the kernel: one sendmmsg() for UDP, a
 * stream write for TCP. What fails is counted and dropped; the sequence
 * number counts only data records that left (RFC 7011 3.1: records sent
 * before the message).
 */
static void batch_send(struct weir_ipfix_exporter *x)
{
	struct mmsghdr mh[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	uint64_t now = clock_ns(CLOCK_MONOTONIC), records = 0, bytes = 0, dropped = 0;
	size_t i, n = x->n_pending, sent = 0;
	bool templates = false;
	int err = 0, k;

	if (!n)
		return;
	x->n_pending = 0;
	x->templates_pending = false;
	if (!conn_ready(x, now)) {
		for (i = 0; i < n; i++)
			dropped += x->pending[i].n_records;
		stat_add(x, &x->st.dropped_records, dropped);
		return;
	}
	if (x->o.tcp) {
		err = send_all(x, slot(x, 0), x->pending[0].len);
		sent = err ? 0 : 1;
	} else {
		memset(mh, 0, sizeof(mh));
		for (i = 0; i < n; i++) {
			iov[i] = (struct iovec){ slot(x, i), x->pending[i].len };
			mh[i].msg_hdr.msg_iov = &iov[i];
			mh[i].msg_hdr.msg_iovlen = 1;
		}
		while (sent < n) {
			k = sendmmsg(x->fd, mh + sent, (unsigned int)(n - sent), MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				err = k < 0 ? -errno : -EIO;
				break;
			}
			sent += (size_t)k;
		}
	}
	for (i = 0; i < n; i++) {
		if (i < sent) {
			records += x->pending[i].n_records;
			bytes += x->pending[i].len;
			templates |= x->pending[i].templates;
		} else {
			dropped += x->pending[i].n_records;
		}
	}
	x->seq += (uint32_t)records;
	if (templates) {
		x->templates_due = false;
		x->next_template_ns = now + x->o.template_refresh_ns;
	}
	pthread_mutex_lock(&x->lock);
	x->st.messages += sent;
	x->st.records += records;
	x->st.bytes += bytes;
	x->st.template_sends += templates;
	x->st.dropped_records += dropped;
	x->st.send_errors += err ? 1 : 0;
	pthread_mutex_unlock(&x->lock);
	if (!err)
		return;
	log_debug("ipfix: send collector=%s: %s", x->collector, strerror(-err));
	if (x->o.tcp) {
		log_warn("ipfix: collector=%s: %s, reconnecting", x->collector, strerror(-err));
		conn_close(x);
		x->next_connect_ns = now + BACKOFF_MIN_NS;
	}
}

/* Finishes the message being filled; it goes with the batch, at once when the batch is full. */
static void msg_send(struct weir_ipfix_exporter *x)
{
	struct weir_ipfix_msg *m = &x->msg;
	uint32_t seq = x->seq;
	size_t i;

	if (!x->msg_open)
		return;
	x->msg_open = false;
	if (!m->n_records && !m->n_templates)
		return;
	/* the data records of the pending messages go before this one */
	for (i = 0; i < x->n_pending; i++)
		seq += x->pending[i].n_records;
	x->pending[x->n_pending++] = (struct pending){
		.len = weir_ipfix_msg_finish(m, (uint32_t)(clock_ns(CLOCK_REALTIME) / NS_PER_S),
					     seq, x->o.domain_id),
		.n_records = m->n_records,
		.templates = m->n_templates > 0,
	};
	if (x->n_pending == x->batch_max)
		batch_send(x);
}

static void add_flow(struct weir_ipfix_exporter *x, const struct weir_ipfix_flow *fl)
{
	if (!x->msg_open)
		msg_begin(x);
	if (weir_ipfix_add_flow(&x->msg, fl) != -ENOSPC)
		return;
	msg_send(x);
	msg_begin(x);
	weir_ipfix_add_flow(&x->msg, fl); /* fits an empty message: names are bounded */
}

static void on_record(struct weir_ipfix_exporter *x, const struct weir_flow_record *r, uint64_t now)
{
	struct weir_ipfix_flow out[2];
	struct weir_flow_counts d;
	int i, n;

	if (r->type == WEIR_RECORD_START) {
		/* reported with its first update or its end, counting from zero */
		weir_flow_delta_forget(x->delta, r);
		return;
	}
	if (x->o.tcp && x->fd < 0 && !conn_ready(x, now)) {
		/* not taken: the flow's next record carries these counts too */
		stat_add(x, &x->st.dropped_records, 1);
		return;
	}
	weir_flow_delta_take(x->delta, r, now, &d);
	n = weir_ipfix_flows_from_record(r, &d, out);
	for (i = 0; i < n; i++)
		add_flow(x, &out[i]);
}

static void *exporter_thread(void *arg)
{
	struct weir_ipfix_exporter *x = arg;
	struct weir_flow_record *r;
	uint64_t lost, now;
	bool stopping;
	int err, timeout;

	for (;;) {
		stopping = __atomic_load_n(&x->stop, __ATOMIC_ACQUIRE);
		/* a message being filled goes as soon as the queue is empty */
		timeout = stopping || x->msg_open ? 0 : WAIT_MS;
		err = weir_follower_next(x->f, timeout, &r, &lost);
		if (lost)
			stat_add(x, &x->st.queue_lost, lost);
		now = clock_ns(CLOCK_MONOTONIC);
		if (!err) {
			if (timeout)
				usleep(BATCH_GATHER_US);
			on_record(x, r, now);
			weir_flow_record_put(r);
			continue;
		}
		msg_send(x);
		batch_send(x);
		if (err == -EPIPE || stopping)
			break;
		if (x->o.tcp)
			conn_ready(x, now);
		/* UDP: templates again when due, even with nothing else to send */
		if (!x->o.tcp && now >= x->next_template_ns) {
			x->templates_due = true;
			msg_begin(x);
			msg_send(x);
			batch_send(x);
		}
		weir_flow_delta_expire(x->delta, now);
		pthread_mutex_lock(&x->lock);
		x->st.tracked_flows = weir_flow_delta_count(x->delta);
		pthread_mutex_unlock(&x->lock);
	}
	return NULL;
}

static void exporter_free(struct weir_ipfix_exporter *x)
{
	if (x->fd >= 0)
		close(x->fd);
	weir_follower_free(x->f);
	weir_flow_delta_free(x->delta);
	pthread_mutex_destroy(&x->lock);
	free(x->buf);
	free(x->collector);
	free(x);
}

int weir_ipfix_export_start(struct weir_ipfix_exporter **out,
			    const struct weir_ipfix_export_opts *opts)
{
	struct weir_ipfix_exporter *x = calloc(1, sizeof(*x));
	int err = -ENOMEM;

	if (!x)
		return -ENOMEM;
	x->fd = -1;
	x->o = *opts;
	if (!x->o.msg_max_bytes)
		x->o.msg_max_bytes = x->o.tcp ? WEIR_IPFIX_MSG_MAX : WEIR_IPFIX_UDP_MSG_MAX;
	/* templates and one record with the longest names must fit */
	if (x->o.msg_max_bytes < 1024)
		x->o.msg_max_bytes = 1024;
	if (!x->o.template_refresh_ns)
		x->o.template_refresh_ns = WEIR_IPFIX_TEMPLATE_REFRESH_DEFAULT_NS;
	if (x->o.flow_max_age_ns < FLOW_MAX_AGE_MIN)
		x->o.flow_max_age_ns = FLOW_MAX_AGE_MIN;
	pthread_mutex_init(&x->lock, NULL);
	x->collector = strdup(opts->collector);
	x->batch_max = x->o.tcp ? 1 : UDP_BATCH;
	x->buf = malloc(x->batch_max * x->o.msg_max_bytes);
	if (!x->collector || !x->buf)
		goto err;
	err = collector_resolve(x);
	err = err ?: weir_flow_delta_new(&x->delta, x->o.flow_max_age_ns);
	if (err)
		goto err;
	if (!x->o.tcp) {
		err = conn_open(x);
		if (err) {
			log_err("ipfix: socket to collector=%s: %s", x->collector, strerror(-err));
			goto err;
		}
	}
	err = weir_store_follow(x->o.store, NULL, x->o.queue, &x->f);
	if (err)
		goto err;
	err = -pthread_create(&x->thread, NULL, exporter_thread, x);
	if (err)
		goto err;
	log_info("ipfix: exporting to collector=%s transport=%s domain=%u pen=%u", x->collector,
		 x->o.tcp ? "tcp" : "udp", x->o.domain_id, x->o.pen);
	*out = x;
	return 0;

err:
	exporter_free(x);
	return err;
}

void weir_ipfix_export_stop(struct weir_ipfix_exporter *x)
{
	if (!x)
		return;
	__atomic_store_n(&x->stop, true, __ATOMIC_RELEASE);
	pthread_join(x->thread, NULL);
	exporter_free(x);
}

void weir_ipfix_export_stats(struct weir_ipfix_exporter *x, struct weir_ipfix_export_stats *st)
{
	pthread_mutex_lock(&x->lock);
	*st = x->st;
	pthread_mutex_unlock(&x->lock);
}
