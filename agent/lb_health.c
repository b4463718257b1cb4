// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Health checks of load-balancer backends: see lb_health.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include "lb_health.h"
#include "log.h"
#include "services.h"

#define TICK_MS	     10	 /* probes start and time out on this grid */
#define HTTP_BUF_LEN 128 /* the status line is all a probe reads */

enum phase { IDLE, CONNECTING, AWAITING };

struct probe {
	struct weir_lb_target t;
	int fd;
	enum phase phase;
	uint64_t due_ns, deadline_ns;
	uint32_t ok_streak, fail_streak;
	bool up; /* what the services table was last told */
	char buf[HTTP_BUF_LEN];
	size_t len;
};

struct weir_lb_health {
	struct weir_services *s;
	int epfd, timerfd;
	struct probe **p;
	size_t n;
	uint64_t gen;
	bool synced;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int weir_lb_health_new(struct weir_lb_health **out, struct weir_services *s)
{
	struct itimerspec its = { .it_interval = { 0, TICK_MS * 1000000L },
				  .it_value = { 0, TICK_MS * 1000000L } };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct weir_lb_health *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return -ENOMEM;
	h->s = s;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->epfd < 0 || h->timerfd < 0 || timerfd_settime(h->timerfd, 0, &its, NULL) ||
	    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timerfd, &ev)) {
		err = -errno;
		log_err("lb health: set up the event loop: %s", strerror(-err));
		weir_lb_health_free(h);
		return err;
	}
	*out = h;
	return 0;
}

static void probe_close(struct weir_lb_health *h, struct probe *p)
{
	if (p->fd >= 0) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	p->fd = -1;
	p->phase = IDLE;
	p->len = 0;
}

void weir_lb_health_free(struct weir_lb_health *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++) {
		probe_close(h, h->p[i]);
		free(h->p[i]);
	}
	free(h->p);
	if (h->timerfd >= 0)
		close(h->timerfd);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
}

int weir_lb_health_fd(const struct weir_lb_health *h)
{
	return h->epfd;
}

static bool same_health(const struct weir_health_cfg *a, const struct weir_health_cfg *b)
{
	return a->type == b->type && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->rise == b->rise && a->fall == b->fall &&
	       a->port == b->port && !strcmp(a->path, b->path) && !strcmp(a->send, b->send);
}

static bool same_target(const struct weir_lb_target *a, const struct weir_lb_target *b)
{
	return !strcmp(a->svc, b->svc) && a->addr.family == b->addr.family &&
	       !memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes)) && a->port == b->port &&
	       a->probe_port == b->probe_port && same_health(&a->health, &b->health);
}

/* Takes the services' current targets, keeping the streaks of those that
 * stay the same.
 */
/* Orders targets by service, address and ports: a backend's identity. */
static int target_cmp(const struct weir_lb_target *a, const struct weir_lb_target *b)
{
	int c = strcmp(a->svc, b->svc);

	if (!c)
		c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
	if (!c)
		c = (int)a->port - (int)b->port;
	if (!c)
		c = (int)a->probe_port - (int)b->probe_port;
	return c;
}

static int probe_cmp(const void *x, const void *y)
{
	return target_cmp(&(*(struct probe *const *)x)->t, &(*(struct probe *const *)y)->t);
}

/* The old probe of target t in the sorted h->p, or -1. */
static ssize_t probe_find(const struct weir_lb_health *h, const struct weir_lb_target *t)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = target_cmp(&h->p[mid]->t, t);

		if (!c)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Takes the services' current targets, keeping the probes (streaks, state,
 * a probe in flight) of those that stay the same. O(n log n).
 */
static void sync_targets(struct weir_lb_health *h)
{
	struct weir_lb_target *t = NULL;
	struct probe **np;
	uint64_t gen, now = now_ns();
	bool *kept = NULL;
	size_t i, j, n = 0;
	ssize_t o;

	if (weir_services_targets(h->s, &t, &n, &gen))
		return;
	np = calloc(n ? n : 1, sizeof(struct probe *));
	kept = calloc(h->n ? h->n : 1, sizeof(*kept));
	if (!np || !kept) {
		free(np);
		free(kept);
		free(t);
		return;
	}
	if (h->n)
		qsort((void *)h->p, h->n, sizeof(struct probe *), probe_cmp);
	for (i = 0; i < n; i++) {
		o = probe_find(h, &t[i]);
		if (o >= 0 && !kept[o] && same_target(&h->p[o]->t, &t[i])) {
			np[i] = h->p[o];
			kept[o] = true;
			continue;
		}
		np[i] = calloc(1, sizeof(struct probe));
		if (!np[i])
			continue;
		np[i]->t = t[i];
		np[i]->fd = -1;
		np[i]->up = true; /* as the services table starts it */
		/* Spread first probes over the interval. */
		np[i]->due_ns = now + (i * 7919ULL % (t[i].health.interval_ms + 1)) * 1000000ULL;
	}
	for (j = 0; j < h->n; j++) {
		if (kept[j])
			continue;
		probe_close(h, h->p[j]);
		free(h->p[j]);
	}
	/* Out of memory for some: probe the others, try again next tick. */
	for (i = j = 0; i < n; i++)
		if (np[i])
			np[j++] = np[i];
	free(kept);
	free(h->p);
	free(t);
	h->p = np;
	h->n = j;
	h->gen = gen;
	h->synced = j == n;
}

static void verdict(struct weir_lb_health *h, struct probe *p, bool ok, const char *why)
{
	char addr[64];

	probe_close(h, p);
	p->due_ns += (uint64_t)p->t.health.interval_ms * 1000000ULL;
	if (p->due_ns < now_ns())
		p->due_ns = now_ns() + (uint64_t)p->t.health.interval_ms * 1000000ULL;
	if (ok) {
		p->fail_streak = 0;
		p->ok_streak++;
	} else {
		p->ok_streak = 0;
		p->fail_streak++;
		weir_addr_str(p->t.addr.family, p->t.addr.bytes, addr, sizeof(addr));
		log_debug("lb health: service=%s backend=%s port=%u probe failed: %s", p->t.svc,
			  addr, p->t.probe_port, why);
	}
	if (p->up && p->fail_streak >= p->t.health.fall)
		p->up = false;
	else if (!p->up && p->ok_streak >= p->t.health.rise)
		p->up = true;
	else
		return;
	weir_services_set_health(h->s, p->t.svc, &p->t.addr, p->t.port, p->up);
}

static int watch(struct weir_lb_health *h, struct probe *p, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = p };

	return epoll_ctl(h->epfd, op, p->fd, &ev) ? -errno : 0;
}

static void probe_start(struct weir_lb_health *h, struct probe *p, uint64_t now)
{
	bool udp = p->t.health.type == WEIR_HEALTH_UDP;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (p->t.addr.family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(p->t.probe_port);
		memcpy(&sin->sin_addr, p->t.addr.bytes, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p->t.probe_port);
		memcpy(&sin6->sin6_addr, p->t.addr.bytes, 16);
		sl = sizeof(*sin6);
	}
	p->deadline_ns = now + (uint64_t)p->t.health.timeout_ms * 1000000ULL;
	fd = socket(ss.ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		verdict(h, p, false, strerror(errno));
		return;
	}
	p->fd = fd;
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		verdict(h, p, false, strerror(errno));
		return;
	}
	if (udp) {
		if (send(fd, p->t.health.send, strlen(p->t.health.send), 0) < 0) {
			verdict(h, p, false, strerror(errno));
			return;
		}
		p->phase = AWAITING;
		if (watch(h, p, EPOLLIN, EPOLL_CTL_ADD))
			verdict(h, p, false, "epoll");
		return;
	}
	p->phase = CONNECTING;
	if (watch(h, p, EPOLLOUT, EPOLL_CTL_ADD))
		verdict(h, p, false, "epoll");
}

static void http_send(struct weir_lb_health *h, struct probe *p)
{
	char req[WEIR_SVC_HEALTH_PATH_MAX + 128], addr[64];
	int n;

	weir_addr_str(p->t.addr.family, p->t.addr.bytes, addr, sizeof(addr));
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.0\r\nHost: %s%s%s:%u\r\nUser-Agent: weir-agent\r\n"
		     "Connection: close\r\n\r\n",
		     p->t.health.path, p->t.addr.family == 6 ? "[" : "", addr,
		     p->t.addr.family == 6 ? "]" : "", p->t.probe_port);
	if (send(p->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		verdict(h, p, false, "send");
		return;
	}
	p->phase = AWAITING;
	if (watch(h, p, EPOLLIN, EPOLL_CTL_MOD))
		verdict(h, p, false, "epoll");
}

/* "HTTP/1.x NNN": a 2xx or 3xx passes. Returns 1 pass, 0 fail, -1 need more. */
static int http_status(const struct probe *p, bool eof)
{
	const char *sp;
	char *end;
	long code;

	if (!memchr(p->buf, '\n', p->len) && !eof && p->len < sizeof(p->buf) - 1)
		return -1;
	if (p->len < 12 || strncmp(p->buf, "HTTP/1.", 7) != 0)
		return 0;
	sp = memchr(p->buf, ' ', p->len);
	if (!sp)
		return 0;
	code = strtol(sp + 1, &end, 10);
	if (end != sp + 4)
		return 0; /* not three digits */
	return code >= 200 && code < 400;
}

static void on_socket(struct weir_lb_health *h, struct probe *p, uint32_t events)
{
	int soerr = 0, st;
	socklen_t sl = sizeof(soerr);
	ssize_t n;

	if (p->phase == CONNECTING) {
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
			verdict(h, p, false, strerror(soerr ? soerr : errno));
			return;
		}
		if (p->t.health.type == WEIR_HEALTH_TCP)
			verdict(h, p, true, NULL);
		else
			http_send(h, p);
		return;
	}
	if (p->t.health.type == WEIR_HEALTH_UDP) {
		char buf[64];

		n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		verdict(h, p, n >= 0, n < 0 ? strerror(errno) : NULL);
		return;
	}
	n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		verdict(h, p, false, strerror(errno));
		return;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	st = http_status(p, n == 0 || (events & (EPOLLHUP | EPOLLERR)));
	if (st >= 0)
		verdict(h, p, st == 1, "HTTP status not 2xx or 3xx");
}

static void on_tick(struct weir_lb_health *h)
{
	uint64_t expirations, now = now_ns();
	size_t i;

	if (read(h->timerfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	if (!h->synced || weir_services_generation(h->s) != h->gen)
		sync_targets(h);
	for (i = 0; i < h->n; i++) {
		struct probe *p = h->p[i];

		if (!p)
			continue;
		if (p->phase != IDLE && now >= p->deadline_ns)
			verdict(h, p, false, "timeout");
		else if (p->phase == IDLE && now >= p->due_ns)
			probe_start(h, p, now);
	}
}

void weir_lb_health_process(struct weir_lb_health *h)
{
	struct epoll_event evs[64];
	bool tick = false;
	int n, i;

	/* Sockets first: a tick may free the probes the batch points to. */
	n = epoll_wait(h->epfd, evs, 64, 0);
	for (i = 0; i < n; i++) {
		if (!evs[i].data.ptr)
			tick = true;
		else
			on_socket(h, evs[i].data.ptr, evs[i].events);
	}
	if (tick)
		on_tick(h);
}
