/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TC attachments that registrations ask for. The datapath and the assembler
 * belong to the main loop's thread; an HTTP thread that registers a pod with
 * an interface queues a request here, the loop carries it out (an eventfd
 * wakes it), and the HTTP thread waits for the outcome for a bounded time.
 */
#ifndef WEIR_AGENT_POD_ATTACH_H
#define WEIR_AGENT_POD_ATTACH_H

#include <stdbool.h>

#define WEIR_POD_ATTACH_TIMEOUT_MS 3000 /* what a registration waits for the loop */

struct weir_pod_attach;

/* What the loop does with a request: 0 or -errno. */
typedef int (*weir_pod_attach_fn)(void *ctx, const char *ifname, bool attach);

int weir_pod_attach_new(struct weir_pod_attach **out);
/* Fails every request still queued with -ESHUTDOWN, then frees. */
void weir_pod_attach_free(struct weir_pod_attach *pa);
/* Readable when requests are queued: then call weir_pod_attach_process(). */
int weir_pod_attach_fd(struct weir_pod_attach *pa);
/* From any thread: attach (or detach) TC on ifname through the loop. Returns
 * fn's result, or -ETIMEDOUT when the loop did not get to it in timeout_ms.
 */
int weir_pod_attach_request(struct weir_pod_attach *pa, const char *ifname, bool attach,
			    unsigned int timeout_ms);
/* The loop's side: runs fn for every queued request and wakes its waiter. */
void weir_pod_attach_process(struct weir_pod_attach *pa, weir_pod_attach_fn fn, void *ctx);

/* Whether the kernel has Weir's TC filters on both hooks of ifname. */
bool weir_tc_attached(const char *ifname);

#endif /* WEIR_AGENT_POD_ATTACH_H */
