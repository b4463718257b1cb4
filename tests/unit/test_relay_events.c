// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Node status events for a node that never connects: its state machine
 * announces it once, and the relay's peers loop, pointed at a port nobody
 * listens on, sends the follow streams a NODE_UNAVAILABLE line naming it.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include "backoff.h"
#include "peer.h"
#include "peers.h"

#define S	1000000000ULL
#define MS	1000000ULL
#define WAIT_MS 5000

static uint64_t fixed_rand(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void never_connected_node_is_announced_unavailable_once(void **state)
{
	uint64_t zero = 0, now = 100 * S;
	struct weir_peer_event ev;
	struct weir_backoff b;
	struct weir_peer p;

	(void)state;
	weir_backoff_init(&b, S, 30 * S, fixed_rand, &zero);
	assert_int_equal(weir_peer_init(&p, "10.0.0.9:4244", false, &b, 3), 0);
	assert_int_equal(p.node_state, WEIR_NODE_UNAVAILABLE); /* as Hubble counts it */
	ev = weir_peer_failed(&p, false, "connection refused", now);
	assert_int_equal(ev.state, WEIR_NODE_UNAVAILABLE);
	assert_string_equal(ev.message, "connection refused");
	/* the retry fails the same way: no news */
	now += S;
	weir_peer_attempt(&p, now);
	ev = weir_peer_failed(&p, false, "connection refused", now);
	assert_int_equal(ev.state, WEIR_NODE_UNKNOWN);
	weir_peer_release(&p);

	/* an error first is an ERROR event, then UNAVAILABLE is news too */
	assert_int_equal(weir_peer_init(&p, "10.0.0.9:4244", false, &b, 3), 0);
	ev = weir_peer_failed(&p, true, "HTTP 500", now);
	assert_int_equal(ev.state, WEIR_NODE_ERROR);
	ev = weir_peer_failed(&p, false, "connection refused", now);
	assert_int_equal(ev.state, WEIR_NODE_UNAVAILABLE);
	weir_peer_release(&p);
}

struct notes {
	pthread_mutex_t lock;
	char *lines[64];
	size_t n;
};

static void on_note(void *ctx, const char *line)
{
	struct notes *nt = ctx;

	pthread_mutex_lock(&nt->lock);
	if (nt->n < sizeof(nt->lines) / sizeof(nt->lines[0]))
		nt->lines[nt->n++] = strdup(line);
	pthread_mutex_unlock(&nt->lock);
}

static void on_record(void *ctx, struct weir_flow_record *r, uint64_t now_real_ns)
{
	(void)ctx;
	(void)r;
	(void)now_real_ns;
}

/* A loopback port with nobody listening (bound, then closed). */
static int dead_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* The note announcing state for address, or NULL. */
static const char *find_note(struct notes *nt, const char *state, const char *address)
{
	const char *found = NULL;
	size_t i;

	pthread_mutex_lock(&nt->lock);
	for (i = 0; i < nt->n && !found; i++)
		if (strstr(nt->lines[i], state) && strstr(nt->lines[i], address))
			found = nt->lines[i];
	pthread_mutex_unlock(&nt->lock);
	return found;
}

static void relay_announces_a_node_that_never_connects(void **state)
{
	struct notes nt = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct weir_peers_opts o = {
		.connect_timeout_ns = 2 * S,
		.backoff_min_ns = 10 * S, /* one attempt during the test */
		.backoff_max_ns = 10 * S,
		.on_record = on_record,
		.on_note = on_note,
		.ctx = &nt,
	};
	struct weir_peers *ps = NULL;
	const char *line = NULL;
	char address[32];
	json_t *j;
	int waited;
	size_t i;

	(void)state;
	snprintf(address, sizeof(address), "127.0.0.1:%d", dead_port());
	assert_int_equal(weir_peers_new(&ps, &o), 0);
	assert_int_equal(weir_peers_add(ps, address), 0);
	assert_int_equal(weir_peers_start(ps), 0);
	for (waited = 0; waited < WAIT_MS && !line; waited += 10) {
		usleep(10 * 1000);
		line = find_note(&nt, "NODE_UNAVAILABLE", address);
	}
	assert_non_null(line);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "node_status"),
							      "state_change")),
			    "NODE_UNAVAILABLE");
	assert_string_equal(
		json_string_value(json_array_get(
			json_object_get(json_object_get(j, "node_status"), "node_names"), 0)),
		address);
	json_decref(j);
	weir_peers_free(ps);
	for (i = 0; i < nt.n; i++)
		free(nt.lines[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(never_connected_node_is_announced_unavailable_once),
		cmocka_unit_test(relay_announces_a_node_that_never_connects),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
