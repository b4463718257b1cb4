// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir against a fake server on a unix socket: how --server is read, the
 * flows request a command line makes (Hubble's GetFlowsRequest fields in the
 * query string), streamed answers, and every failure as one line and an exit
 * status: no socket, a refused connection, a 4xx with the server's message,
 * a connection lost mid-answer, a follow the server ends, an interrupted
 * transfer. Also status, nodes (a relay's list; an agent's 404) and
 * endpoints against canned answers.
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
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include "../../cli/cli.h"
#include "../../cli/client.h"

/* ---- a one-connection HTTP server ---- */

struct fake {
	char sock[108];
	int lfd;
	const char *response; /* raw HTTP, written after the request's head */
	bool hold;	      /* then keep the connection until the client leaves */
	char request[8192];   /* the request's head */
	pthread_t th;
};

static void *serve(void *arg)
{
	struct fake *f = arg;
	size_t n = 0;
	char c;
	int fd;

	fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	while (n + 1 < sizeof(f->request) && read(fd, f->request + n, 1) == 1) {
		n++;
		if (n >= 4 && !memcmp(f->request + n - 4, "\r\n\r\n", 4))
			break;
	}
	f->request[n] = '\0';
	if (f->response && write(fd, f->response, strlen(f->response)) < 0)
		f->hold = false;
	while (f->hold && read(fd, &c, 1) > 0)
		;
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, const char *response, bool hold)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	snprintf(f->sock, sizeof(f->sock), "/tmp/weir-test-cli-%d.sock", (int)getpid());
	unlink(f->sock);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	f->response = response;
	f->hold = hold;
	assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->sock);
}

#define JSON_200(body) \
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" body

/* ---- running a command with its output captured ---- */

struct run {
	int rc;
	char *out, *err;
};

static char *slurp(FILE *f)
{
	long n = ftell(f);
	char *s = calloc(1, (size_t)n + 1);

	rewind(f);
	if (n && fread(s, 1, (size_t)n, f) != (size_t)n)
		fail_msg("short read");
	fclose(f);
	return s;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static struct run run(int (*cmd)(struct weir_common *, int, char **), const char *server,
		      const char *const *args)
{
	struct weir_common common = { .server = server };
	char *argv[40] = { "cmd" };
	FILE *out = tmpfile(), *err = tmpfile();
	int so, se, argc = 1;
	struct run r;

	while (*args)
		argv[argc++] = (char *)*args++;
	fflush(stdout);
	fflush(stderr);
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	dup2(fileno(out), STDOUT_FILENO);
	dup2(fileno(err), STDERR_FILENO);
	weir_stop = 0;
	r.rc = cmd(&common, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	fseek(out, 0, SEEK_END);
	fseek(err, 0, SEEK_END);
	r.out = slurp(out);
	r.err = slurp(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The decoded value of key in the request line's query string, or NULL. */
static char *query_value(const struct fake *f, const char *key)
{
	const char *q = strchr(f->request, '?'), *end = strstr(f->request, " HTTP/1.1");
	char want[64], *v = NULL;
	size_t klen;

	if (!q || !end)
		return NULL;
	snprintf(want, sizeof(want), "%s=", key);
	klen = strlen(want);
	for (q++; q < end;) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		size_t len = amp ? (size_t)(amp - q) : (size_t)(end - q);

		if (len > klen && !strncmp(q, want, klen)) {
			int n;
			char *d = curl_easy_unescape(NULL, q + klen, (int)(len - klen), &n);

			v = strdup(d);
			curl_free(d);
			return v;
		}
		q += len + 1;
	}
	return NULL;
}

/* ---- --server ---- */

static void server_is_a_socket_or_a_url(void **state)
{
	static const struct {
		const char *server, *url, *socket, *display;
	} cases[] = {
		{ "/run/weir/agent.sock", "http://localhost", "/run/weir/agent.sock",
		  "unix:///run/weir/agent.sock" },
		{ "unix:///tmp/a.sock", "http://localhost", "/tmp/a.sock", "unix:///tmp/a.sock" },
		{ "unix:/tmp/a.sock", "http://localhost", "/tmp/a.sock", "unix:///tmp/a.sock" },
		{ "10.0.0.1:4244", "http://10.0.0.1:4244", NULL, "http://10.0.0.1:4244" },
		{ "http://relay:4245/", "http://relay:4245", NULL, "http://relay:4245" },
		{ "https://[fd00::1]:4245", "https://[fd00::1]:4245", NULL,
		  "https://[fd00::1]:4245" },
	};
	struct weir_client c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(weir_client_init(&c, cases[i].server, err, sizeof(err)), 0);
		assert_string_equal(c.url, cases[i].url);
		if (cases[i].socket)
			assert_string_equal(c.socket_path, cases[i].socket);
		else
			assert_null(c.socket_path);
		assert_string_equal(c.display, cases[i].display);
		weir_client_release(&c);
	}
	assert_int_equal(weir_client_init(&c, "ftp://x", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--server ftp://x: only http:// and https:// are spoken");
	assert_int_equal(weir_client_init(&c, "unix:relative.sock", err, sizeof(err)), -EINVAL);
	setenv("WEIR_SERVER", "127.0.0.1:9", 1);
	assert_int_equal(weir_client_init(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://127.0.0.1:9");
	weir_client_release(&c);
	unsetenv("WEIR_SERVER");
	assert_int_equal(weir_client_init(&c, "", err, sizeof(err)), 0);
	assert_string_equal(c.socket_path, WEIR_DEFAULT_SOCKET);
	weir_client_release(&c);
}

/* ---- the flows request ---- */

static void observe_sends_hubbles_request_fields(void **state)
{
	struct fake f;
	struct run r;
	char *v;

	(void)state;
	fake_start(&f, JSON_200("[]\n"), false);
	r = run(weir_observe_main, f.sock,
		ARGS("--last", "5", "--from-pod", "shop/a", "--not", "--protocol", "udp", "--since",
		     "2026-08-05T10:12:18Z", "--until", "2026-08-05T10:13Z"));
	fake_stop(&f);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(f.request, "GET /v1/flows?"));
	v = query_value(&f, "number");
	assert_string_equal(v, "5");
	free(v);
	v = query_value(&f, "since");
	assert_string_equal(v, "2026-08-05T10:12:18Z");
	free(v);
	v = query_value(&f, "until");
	assert_string_equal(v, "2026-08-05T10:13:00Z");
	free(v);
	v = query_value(&f, "allowlist");
	assert_string_equal(v, "[{\"source_pod\":[\"shop/a\"]}]");
	free(v);
	v = query_value(&f, "denylist");
	assert_string_equal(v, "[{\"protocol\":[\"udp\"]}]");
	free(v);
	assert_null(query_value(&f, "follow"));
	assert_null(query_value(&f, "first"));
	run_free(&r);
}

static void observe_defaults_to_the_last_20(void **state)
{
	struct fake f;
	struct run r;
	char *v;

	(void)state;
	fake_start(&f, JSON_200("[]\n"), false);
	r = run(weir_observe_main, f.sock, ARGS("-o", "json"));
	fake_stop(&f);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "");
	v = query_value(&f, "number");
	assert_string_equal(v, "20");
	free(v);
	assert_null(query_value(&f, "allowlist"));
	run_free(&r);
	/* --first N is first=1&number=N; --all is Hubble's --last 2^64-1 */
	fake_start(&f, JSON_200("[]\n"), false);
	r = run(weir_observe_main, f.sock, ARGS("--first", "3"));
	fake_stop(&f);
	v = query_value(&f, "first");
	assert_string_equal(v, "1");
	free(v);
	v = query_value(&f, "number");
	assert_string_equal(v, "3");
	free(v);
	run_free(&r);
	fake_start(&f, JSON_200("[]\n"), false);
	r = run(weir_observe_main, f.sock, ARGS("--all", "--follow"));
	fake_stop(&f);
	v = query_value(&f, "number");
	assert_string_equal(v, "18446744073709551615");
	free(v);
	run_free(&r);
}

#define FLOW_A                                                                                \
	"{\"flow\":{\"time\":\"2026-08-05T10:12:18Z\",\"verdict\":\"FORWARDED\",\"IP\":"      \
	"{\"source\":\"10.0.0.1\",\"destination\":\"10.0.0.2\",\"ipVersion\":\"IPv4\"},"      \
	"\"l4\":{\"UDP\":{\"source_port\":1000,\"destination_port\":53}},\"is_reply\":false," \
	"\"Summary\":\"UDP\"},\"node_name\":\"n1\",\"time\":\"2026-08-05T10:12:18Z\"}"
#define LOST_A                                                                           \
	"{\"lost_events\":{\"source\":\"OBSERVER_EVENTS_QUEUE\",\"num_events_lost\":7}," \
	"\"node_name\":\"n1\",\"time\":\"2026-08-05T10:12:19Z\"}"

/* An HTTP answer with body in chunks of step bytes (free it). */
static char *chunked(const char *body, size_t step)
{
	size_t len = strlen(body), i, n = 0, cap = len * 4 + 256;
	char *r = malloc(cap);

	n += (size_t)snprintf(r, cap,
			      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			      "Transfer-Encoding: chunked\r\n\r\n");
	for (i = 0; i < len; i += step) {
		size_t k = len - i < step ? len - i : step;

		n += (size_t)snprintf(r + n, cap - n, "%zx\r\n%.*s\r\n", k, (int)k, body + i);
	}
	snprintf(r + n, cap - n, "0\r\n\r\n");
	return r;
}

static void observe_prints_a_streamed_array(void **state)
{
	char *resp = chunked("[" FLOW_A ",\n" LOST_A ",\n" FLOW_A "\n]\n", 7);
	struct fake f;
	struct run r;

	(void)state;
	fake_start(&f, resp, false);
	r = run(weir_observe_main, f.sock, ARGS("--color", "never", "--numeric"));
	fake_stop(&f);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "Aug  5 10:12:18.000: 10.0.0.1:1000 -> 10.0.0.2:53 UNKNOWN "
				   "FORWARDED (UDP)\n"
				   "EVENTS LOST: OBSERVER_EVENTS_QUEUE CPU(0) 7\n"
				   "Aug  5 10:12:18.000: 10.0.0.1:1000 -> 10.0.0.2:53 UNKNOWN "
				   "FORWARDED (UDP)\n");
	run_free(&r);
	free(resp);
}

static void one_line(const struct run *r)
{
	const char *nl = strchr(r->err, '\n');

	if (!nl || nl[1])
		fail_msg("not one line on stderr: \"%s\"", r->err);
}

static void *stop_later(void *arg)
{
	struct timespec ts = { 0, 300000000 };

	(void)arg;
	nanosleep(&ts, NULL);
	weir_stop = 1;
	return NULL;
}

static void follow_ends_cleanly_on_interrupt_and_when_the_server_leaves(void **state)
{
	static char resp[1024];
	pthread_t t;
	struct fake f;
	struct run r;
	char *v;

	(void)state;
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\n\r\n%zx\r\n%s\n\r\n",
		 strlen(FLOW_A) + 1, FLOW_A, strlen(LOST_A) + 1, LOST_A);
	/* Ctrl-C: the stream stays open until weir_stop is set */
	fake_start(&f, resp, true);
	pthread_create(&t, NULL, stop_later, NULL);
	r = run(weir_observe_main, f.sock, ARGS("-f", "--color", "never"));
	pthread_join(t, NULL);
	fake_stop(&f);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
			    "Aug  5 10:12:18.000: 10.0.0.1:1000 -> 10.0.0.2:53 UNKNOWN "
			    "FORWARDED (UDP)\nEVENTS LOST: OBSERVER_EVENTS_QUEUE CPU(0) 7\n");
	assert_string_equal(r.err, "");
	v = query_value(&f, "follow");
	assert_string_equal(v, "1");
	free(v);
	run_free(&r);
	/* the server ends the stream: a message and exit 1 */
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\n\r\n0\r\n\r\n",
		 strlen(FLOW_A) + 1, FLOW_A);
	fake_start(&f, resp, false);
	r = run(weir_observe_main, f.sock, ARGS("--follow", "-o", "json"));
	fake_stop(&f);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, FLOW_A "\n");
	assert_non_null(strstr(r.err, "weir: unix:///tmp/weir-test-cli-"));
	assert_non_null(strstr(r.err, " ended the stream (the server stopped?)\n"));
	run_free(&r);
	/* the connection breaks mid-chunk */
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\n\r\n400\r\n{\"flow\":",
		 strlen(FLOW_A) + 1, FLOW_A);
	fake_start(&f, resp, false);
	r = run(weir_observe_main, f.sock, ARGS("--follow", "-o", "json"));
	fake_stop(&f);
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, FLOW_A "\n");
	assert_non_null(strstr(r.err, "weir: lost the connection to unix:///tmp/weir-test-cli-"));
	one_line(&r);
	run_free(&r);
}

/* ---- failures: one line, an exit status ---- */

static void errors_are_one_line_with_a_status(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fake f;
	struct run r;
	int fd;

	(void)state;
	/* no socket */
	r = run(weir_observe_main, "/tmp/weir-test-cli-nonexistent.sock", ARGS("--last", "1"));
	assert_int_equal(r.rc, WEIR_EXIT_FAIL);
	one_line(&r);
	assert_string_equal(r.err, "weir: cannot connect to unix:///tmp/weir-test-cli-nonexistent"
				   ".sock: no such socket (is weir-agent running?)\n");
	run_free(&r);
	/* a socket nobody listens on */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/weir-test-cli-%d-dead.sock",
		 (int)getpid());
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	r = run(weir_status_main, sa.sun_path, ARGS("-o", "json"));
	close(fd);
	unlink(sa.sun_path);
	assert_int_equal(r.rc, WEIR_EXIT_FAIL);
	one_line(&r);
	assert_non_null(strstr(r.err, "weir: connection refused by unix:///tmp/weir-test-cli-"));
	run_free(&r);
	/* a 4xx: the server's message */
	fake_start(
		&f,
		"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
		"Connection: close\r\n\r\n{\"error\": \"bad query: number: expected a count\"}\n",
		false);
	r = run(weir_observe_main, f.sock, ARGS("--last", "1"));
	fake_stop(&f);
	assert_int_equal(r.rc, WEIR_EXIT_FAIL);
	one_line(&r);
	assert_non_null(strstr(r.err, ".sock: 400 Bad Request: bad query: number: expected a "
				      "count\n"));
	assert_string_equal(r.out, "");
	run_free(&r);
	/* a 5xx without JSON */
	fake_start(&f,
		   "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nbusy\nreally\n",
		   false);
	r = run(weir_status_main, f.sock, ARGS(NULL));
	fake_stop(&f);
	assert_int_equal(r.rc, WEIR_EXIT_FAIL);
	one_line(&r);
	assert_non_null(strstr(r.err, ".sock: 503 Service Unavailable: busy really \n"));
	run_free(&r);
	/* not JSON where flows were expected */
	fake_start(&f, JSON_200("hello"), false);
	r = run(weir_observe_main, f.sock, ARGS("--last", "1"));
	fake_stop(&f);
	assert_int_equal(r.rc, WEIR_EXIT_FAIL);
	one_line(&r);
	assert_non_null(strstr(r.err, "sent something that is not flow JSON: line 1: expected a "
				      "JSON object\n"));
	run_free(&r);
	/* the command line: exit 2 before any connection */
	r = run(weir_observe_main, "/nonexistent", ARGS("--first", "1", "--follow"));
	assert_int_equal(r.rc, WEIR_EXIT_USAGE);
	one_line(&r);
	run_free(&r);
	r = run(weir_observe_main, "/nonexistent", ARGS("--bogus"));
	assert_int_equal(r.rc, WEIR_EXIT_USAGE);
	assert_string_equal(r.err, "weir observe: unknown flag: --bogus (see 'weir observe "
				   "--help')\n");
	run_free(&r);
	r = run(weir_observe_main, "/nonexistent", ARGS("-o", "table", "-f"));
	assert_int_equal(r.rc, WEIR_EXIT_USAGE);
	assert_string_equal(r.err, "weir observe: table output format is not compatible with "
				   "follow mode (see 'weir observe --help')\n");
	run_free(&r);
	r = run(weir_status_main, "/nonexistent", ARGS("extra"));
	assert_int_equal(r.rc, WEIR_EXIT_USAGE);
	one_line(&r);
	run_free(&r);
}

static void interrupted_unary_call_ends_quietly(void **state)
{
	pthread_t t;
	struct fake f;
	struct run r;

	(void)state;
	fake_start(&f, NULL, true); /* accepts, never answers */
	pthread_create(&t, NULL, stop_later, NULL);
	r = run(weir_status_main, f.sock, ARGS(NULL));
	pthread_join(t, NULL);
	fake_stop(&f);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	run_free(&r);
}

/* ---- status, nodes, endpoints ---- */

static void status_prints_as_hubble_status(void **state)
{
	struct fake f;
	struct run r;
	char want[512];

	(void)state;
	fake_start(&f,
		   JSON_200("{\"num_flows\":1234,\"max_flows\":4096,\"seen_flows\":5000,"
			    "\"uptime_ns\":100000000000,\"version\":\"dev\",\"node_name\":\"n1\","
			    "\"lost_events\":2}"),
		   false);
	r = run(weir_status_main, f.sock, ARGS(NULL));
	fake_stop(&f);
	assert_int_equal(r.rc, 0);
	snprintf(want, sizeof(want),
		 "Healthcheck (via unix://%s): Ok\nCurrent/Max Flows: 1,234/4,096 (30.13%%)\n"
		 "Flows/s: 50.00\nLost Events: 2\n",
		 f.sock);
	assert_string_equal(r.out, want);
	assert_non_null(strstr(f.request, "GET /v1/status HTTP/1.1"));
	run_free(&r);
	/* a relay's */
	fake_start(&f,
		   JSON_200("{\"num_flows\":10,\"max_flows\":0,\"seen_flows\":10,\"uptime_ns\":0,"
			    "\"flows_rate\":12.5,\"num_connected_nodes\":2,"
			    "\"num_unavailable_nodes\":1,\"unavailable_nodes\":[\"node-c\"]}"),
		   false);
	r = run(weir_status_main, f.sock, ARGS(NULL));
	fake_stop(&f);
	snprintf(want, sizeof(want),
		 "Healthcheck (via unix://%s): Ok\nCurrent/Max Flows: 10/0\nFlows/s: 12.50\n"
		 "Connected Nodes: 2/3\nUnavailable Nodes: 1\n  - node-c\n",
		 f.sock);
	assert_string_equal(r.out, want);
	run_free(&r);
	/* an agent's policies, held, and its Kubernetes watch */
	fake_start(&f,
		   JSON_200("{\"num_flows\":0,\"max_flows\":10,\"seen_flows\":0,\"uptime_ns\":0,"
			    "\"policy\":{\"policies\":2,\"endpoints\":5,\"held\":true},"
			    "\"k8s\":{\"synced\":false,\"lists\":0,"
			    "\"last_error\":\"list pods: connection refused\"}}"),
		   false);
	r = run(weir_status_main, f.sock, ARGS(NULL));
	fake_stop(&f);
	snprintf(want, sizeof(want),
		 "Healthcheck (via unix://%s): Ok\nCurrent/Max Flows: 0/10 (0.00%%)\nFlows/s: N/A\n"
		 "Policies: 2 on 5 endpoint addresses (held: waiting for the Kubernetes pod list)\n"
		 "Kubernetes: not synced: list pods: connection refused\n",
		 f.sock);
	assert_string_equal(r.out, want);
	run_free(&r);
}

static void nodes_lists_a_relays_nodes_and_refuses_an_agent(void **state)
{
	struct fake f;
	struct run r;

	(void)state;
	fake_start(&f,
		   JSON_200("{\"nodes\":[{\"name\":\"node-b\",\"state\":\"NODE_UNAVAILABLE\","
			    "\"address\":\"10.0.0.2:4244\",\"last_error\":\"connection refused\"},"
			    "{\"name\":\"node-a\",\"state\":\"NODE_CONNECTED\",\"address\":"
			    "\"10.0.0.1:4244\",\"uptime_ns\":310000000000,\"num_flows\":1000,"
			    "\"max_flows\":4096,\"seen_flows\":3100}]}"),
		   false);
	r = run(weir_nodes_main, f.sock, ARGS(NULL));
	fake_stop(&f);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "NAME     STATUS        ADDRESS         AGE     FLOWS/S   "
				   "CURRENT/MAX-FLOWS      LAST-CONTACT   LAST-ERROR\n"
				   "node-a   Connected     10.0.0.1:4244   5m10s   10.00     "
				   "1,000/4,096 (24.41%)   N/A            \n"
				   "node-b   Unavailable   10.0.0.2:4244   N/A     N/A       "
				   "N/A                    N/A            connection refused\n");
	assert_non_null(strstr(f.request, "GET /v1/nodes HTTP/1.1"));
	run_free(&r);
	fake_start(&f,
		   "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: "
		   "close\r\n\r\n{\"error\": \"unknown path /v1/nodes\"}\n",
		   false);
	r = run(weir_nodes_main, f.sock, ARGS(NULL));
	fake_stop(&f);
	assert_int_equal(r.rc, WEIR_EXIT_FAIL);
	one_line(&r);
	assert_non_null(strstr(r.err, " is not a relay: it has no /v1/nodes (point --server at "
				      "weir-relay)\n"));
	run_free(&r);
}

static void endpoints_lists_pods(void **state)
{
	struct fake f;
	struct run r;

	(void)state;
	fake_start(&f,
		   JSON_200("[{\"ips\":[\"10.0.0.11\",\"fd00::11\"],\"namespace\":\"shop\","
			    "\"pod_name\":\"cart-1\",\"labels\":{\"app\":\"cart\",\"tier\":"
			    "\"db\"},\"workload\":{\"name\":\"cart\",\"kind\":\"Deployment\"},"
			    "\"node_name\":\"n1\",\"source\":\"api\"}]"),
		   false);
	r = run(weir_endpoints_main, f.sock, ARGS(NULL));
	fake_stop(&f);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "NAMESPACE   POD      IPS                  LABELS             "
				   "WORKLOAD          NODE   SOURCE\n"
				   "shop        cart-1   10.0.0.11,fd00::11   app=cart,tier=db   "
				   "Deployment/cart   n1     api\n");
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_is_a_socket_or_a_url),
		cmocka_unit_test(observe_sends_hubbles_request_fields),
		cmocka_unit_test(observe_defaults_to_the_last_20),
		cmocka_unit_test(observe_prints_a_streamed_array),
		cmocka_unit_test(follow_ends_cleanly_on_interrupt_and_when_the_server_leaves),
		cmocka_unit_test(errors_are_one_line_with_a_status),
		cmocka_unit_test(interrupted_unary_call_ends_quietly),
		cmocka_unit_test(status_prints_as_hubble_status),
		cmocka_unit_test(nodes_lists_a_relays_nodes_and_refuses_an_agent),
		cmocka_unit_test(endpoints_lists_pods),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
