// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Attach requests from HTTP threads, carried out by the main loop. A request
 * is shared by the queue and its waiter (two references), so a waiter that
 * gives up never leaves the loop with freed memory.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <bpf/libbpf.h>
#include "datapath.h"
#include "log.h"
#include "pod_attach.h"

struct request {
	struct request *next;
	char ifname[IF_NAMESIZE];
	bool attach;
	bool done;
	int result;
	int refs; /* under pa->lock */
};

struct weir_pod_attach {
	pthread_mutex_t lock;
	pthread_cond_t done; /* a request finished */
	struct request *head, *tail;
	int efd;
};

int weir_pod_attach_new(struct weir_pod_attach **out)
{
	struct weir_pod_attach *pa = calloc(1, sizeof(*pa));
	pthread_condattr_t attr;
	int err;

	if (!pa)
		return -ENOMEM;
	pa->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pa->efd < 0) {
		err = -errno;
		free(pa);
		log_err("pod attach: eventfd: %s", strerror(-err));
		return err;
	}
	pthread_mutex_init(&pa->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pa->done, &attr);
	pthread_condattr_destroy(&attr);
	*out = pa;
	return 0;
}

/* Under pa->lock. */
static void request_put(struct request *r)
{
	if (--r->refs == 0)
		free(r);
}

static void finish(struct weir_pod_attach *pa, struct request *r, int result)
{
	r->result = result;
	r->done = true;
	pthread_cond_broadcast(&pa->done);
	request_put(r);
}

void weir_pod_attach_free(struct weir_pod_attach *pa)
{
	struct request *r;

	if (!pa)
		return;
	pthread_mutex_lock(&pa->lock);
	while ((r = pa->head)) {
		pa->head = r->next;
		finish(pa, r, -ESHUTDOWN);
	}
	pthread_mutex_unlock(&pa->lock);
	close(pa->efd);
	pthread_cond_destroy(&pa->done);
	pthread_mutex_destroy(&pa->lock);
	free(pa);
}

int weir_pod_attach_fd(struct weir_pod_attach *pa)
{
	return pa->efd;
}

int weir_pod_attach_request(struct weir_pod_attach *pa, const char *ifname, bool attach,
			    unsigned int timeout_ms)
{
	const uint64_t one = 1;
	struct timespec deadline;
	struct request *r;
	int ret = 0;

	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	snprintf(r->ifname, sizeof(r->ifname), "%s", ifname);
	r->attach = attach;
	r->refs = 2;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&pa->lock);
	if (pa->tail)
		pa->tail->next = r;
	else
		pa->head = r;
	pa->tail = r;
	if (write(pa->efd, &one, sizeof(one)) != sizeof(one))
		log_warn("pod attach: wake the loop: %s", strerror(errno));
	while (!r->done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&pa->done, &pa->lock, &deadline);
	ret = r->done ? r->result : -ETIMEDOUT;
	request_put(r);
	pthread_mutex_unlock(&pa->lock);
	return ret;
}

void weir_pod_attach_process(struct weir_pod_attach *pa, weir_pod_attach_fn fn, void *ctx)
{
	struct request *r;
	uint64_t n;
	int result;

	if (read(pa->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("pod attach: read eventfd: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&pa->lock);
		r = pa->head;
		if (r) {
			pa->head = r->next;
			if (!pa->head)
				pa->tail = NULL;
		}
		pthread_mutex_unlock(&pa->lock);
		if (!r)
			return;
		/* Not under the lock: attaching talks to the kernel. */
		result = fn(ctx, r->ifname, r->attach);
		pthread_mutex_lock(&pa->lock);
		finish(pa, r, result);
		pthread_mutex_unlock(&pa->lock);
	}
}

bool weir_tc_attached(const char *ifname)
{
	static const enum bpf_tc_attach_point points[2] = { BPF_TC_INGRESS, BPF_TC_EGRESS };
	int ifindex = (int)if_nametoindex(ifname);
	int i;

	if (!ifindex)
		return false;
	for (i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = points[i]);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WEIR_TC_HANDLE,
			    .priority = WEIR_TC_PRIORITY);

		if (bpf_tc_query(&hook, &opts) || !opts.prog_id)
			return false;
	}
	return true;
}
