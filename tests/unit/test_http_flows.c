// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* GET /v1/flows through the real HTTP server on a unix socket, read as raw
 * HTTP/1.1 so the chunks show: an array answer is jansson's JSON for every
 * record, batched into few chunks; a follow stream still delivers a new
 * record at once, and a burst whole; and a follow stream ended by the
 * server's stop ends with the chunked body's terminator, every time.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <jansson.h>
#include "flow.h"
#include "flow_compact.h"
#include "json_writer.h"
#include "http_server.h"
#include "store.h"

#define RECORDS		 3000
#define STOP_ROUNDS	 12
#define PROMPT_BUDGET_MS 2000 /* a follower sees a new record within this */
#define READ_TIMEOUT_MS	 5000

struct fixture {
	char dir[64];
	char sock[96];
	struct weir_store *store;
	struct weir_http_server *srv;
	uint64_t next_id;
};

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static struct weir_flow_record *record(struct fixture *fx)
{
	struct weir_flow_record *r = weir_flow_record_new();
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);
	uint64_t id = ++fx->next_id;

	assert_non_null(r);
	assert_non_null(ep);
	r->id = id;
	r->time_ns = 1785924738000000000ULL + id * 1000;
	r->first_seen_ns = r->time_ns - 5000000;
	r->last_seen_ns = r->time_ns;
	r->type = WEIR_RECORD_START;
	r->family = 4;
	r->proto = IPPROTO_TCP;
	r->saddr[0] = 10;
	r->saddr[3] = (uint8_t)id;
	r->daddr[0] = 10;
	r->daddr[3] = 1;
	r->sport = (uint16_t)(10000 + id % 50000);
	r->dport = 80;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->dir = WEIR_DIR_EGRESS;
	r->is_reply = WEIR_REPLY_NO;
	r->tcp_flags = WEIR_TCP_SYN;
	r->packets = id;
	r->bytes = id * 100;
	r->node_name = strdup("node-\"1\"\n\xc3\xa9");
	ep->namespace = strdup("default");
	ep->pod_name = strdup("pod-a");
	r->src = ep;
	r->dst = weir_endpoint_world();
	return r;
}

static void add_records(struct fixture *fx, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct weir_flow_record *r = record(fx);

		weir_store_add(fx->store, r);
		weir_flow_record_put(r);
	}
}

static void server_start(struct fixture *fx)
{
	struct weir_http_server_opts o = {
		.name = "test",
		.socket_path = fx->sock,
		.node_name = "test-node",
	};

	assert_int_equal(weir_store_new(&fx->store, 65535), 0);
	o.store = fx->store;
	assert_int_equal(weir_http_server_start(&o, &fx->srv), 0);
}

static void server_stop(struct fixture *fx)
{
	weir_http_server_stop(fx->srv);
	fx->srv = NULL;
	weir_store_free(fx->store);
	fx->store = NULL;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || !mkdtemp(strcpy(fx->dir, "/tmp/weir-test-http-XXXXXX")))
		return -1;
	snprintf(fx->sock, sizeof(fx->sock), "%s/api.sock", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->srv)
		server_stop(fx);
	unlink(fx->sock);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* ---- a raw HTTP/1.1 client ---- */

struct conn {
	int fd;
	char *buf; /* everything read, NUL-terminated */
	size_t len, cap;
	size_t body; /* offset of the body, once the headers are in */
};

static void conn_open(struct conn *c, const struct fixture *fx, const char *target)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[512];
	int n;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx->sock);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: weir\r\nConnection: close\r\n\r\n",
		     target);
	assert_int_equal(write(c->fd, req, (size_t)n), n);
}

/* Reads what is there within timeout_ms: bytes read, 0 at EOF, -1 on timeout. */
static ssize_t conn_read(struct conn *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	if (c->len + 65536 + 1 > c->cap) {
		c->cap = (c->cap ? c->cap * 2 : 65536) + 65536;
		c->buf = realloc(c->buf, c->cap);
		assert_non_null(c->buf);
	}
	n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
	if (n > 0)
		c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (!c->body && c->len) {
		char *end = strstr(c->buf, "\r\n\r\n");

		if (end)
			c->body = (size_t)(end + 4 - c->buf);
	}
	return n < 0 ? -1 : n;
}

static void conn_read_all(struct conn *c)
{
	ssize_t n;

	do
		n = conn_read(c, READ_TIMEOUT_MS);
	while (n > 0);
	assert_int_equal(n, 0);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->buf);
}

/* The chunked body decoded into out; the chunks counted; whether the
 * terminating zero-size chunk came.
 */
static bool dechunk(const struct conn *c, char **out, size_t *out_len, int *chunks)
{
	const char *p = c->buf + c->body, *end = c->buf + c->len;
	size_t len = 0, size;
	char *body = malloc(c->len + 1), *next;

	assert_non_null(body);
	*chunks = 0;
	while (p < end) {
		size = strtoul(p, &next, 16);
		if (next == p || strncmp(next, "\r\n", 2) != 0)
			break;
		p = next + 2;
		if (!size) {
			body[len] = '\0';
			*out = body;
			*out_len = len;
			return !strcmp(p, "\r\n");
		}
		if ((size_t)(end - p) < size + 2)
			break;
		memcpy(body + len, p, size);
		len += size;
		p += size + 2;
		(*chunks)++;
	}
	body[len] = '\0';
	*out = body;
	*out_len = len;
	return false;
}

static char *jansson_text(const struct weir_flow_record *r)
{
	json_t *j = weir_flow_record_to_json(r);
	char *text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	assert_non_null(text);
	return text;
}

/* ---- tests ---- */

static void array_answer_is_every_record_in_few_chunks(void **state)
{
	struct fixture *fx = *state;
	struct weir_flow_record **v = NULL;
	struct weir_flow_request req = { 0 };
	char target[64], err[128], *body, *el;
	json_t *arr, *j;
	size_t len, n = 0, i;
	int chunks;
	struct conn c;

	server_start(fx);
	add_records(fx, RECORDS);
	snprintf(target, sizeof(target), "/v1/flows?number=%d", RECORDS);
	conn_open(&c, fx, target);
	conn_read_all(&c);
	assert_non_null(strstr(c.buf, "HTTP/1.1 200"));
	assert_true(dechunk(&c, &body, &len, &chunks));
	/* ~800 bytes a record: 64 KiB chunks, not one per record */
	assert_true(chunks > 0 && chunks <= RECORDS / 20);
	arr = json_loadb(body, len, 0, NULL);
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), RECORDS);

	assert_int_equal(weir_flow_request_set(&req, "number", "3000", err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	assert_int_equal(weir_store_query(fx->store, &req, &v, &n), 0);
	assert_int_equal(n, RECORDS);
	for (i = 0; i < n; i++) {
		char *want = jansson_text(v[i]);

		j = json_array_get(arr, i);
		el = json_dumps(j, JSON_COMPACT);
		assert_string_equal(el, want);
		free(el);
		free(want);
		weir_flow_record_put(v[i]);
	}
	free(v);
	weir_flow_request_release(&req);
	json_decref(arr);
	free(body);
	conn_close(&c);
	/* an empty store answers [] */
	server_stop(fx);
	server_start(fx);
	conn_open(&c, fx, "/v1/flows");
	conn_read_all(&c);
	assert_true(dechunk(&c, &body, &len, &chunks));
	assert_string_equal(body, "[]\n");
	free(body);
	conn_close(&c);
	server_stop(fx);
}

/* Lines of NDJSON in the decoded body so far. */
/* NDJSON lines in the chunks received whole. Counted in the dechunked body:
 * a chunk may end between a record's '}' and its '\n' (it did, often, in a
 * build with sanitizers, where the stream sends smaller pieces).
 */
static size_t lines_in(const struct conn *c)
{
	size_t n = 0, len;
	char *body, *p;
	int chunks;

	if (!c->body)
		return 0;
	dechunk(c, &body, &len, &chunks);
	for (p = body; (p = strchr(p, '\n')); p++)
		n++;
	free(body);
	return n;
}

static void follow_sends_a_new_record_at_once_and_a_burst_whole(void **state)
{
	struct fixture *fx = *state;
	uint64_t t0, waited;
	struct conn c;
	size_t want;

	server_start(fx);
	add_records(fx, 5);
	conn_open(&c, fx, "/v1/flows?follow=1&number=5");
	t0 = now_ms();
	while (lines_in(&c) < 5 && now_ms() - t0 < READ_TIMEOUT_MS)
		conn_read(&c, 100);
	assert_int_equal(lines_in(&c), 5);
	/* the stream idles; one record comes */
	usleep(200 * 1000);
	add_records(fx, 1);
	t0 = now_ms();
	while (lines_in(&c) < 6 && now_ms() - t0 < READ_TIMEOUT_MS)
		conn_read(&c, 50);
	waited = now_ms() - t0;
	assert_int_equal(lines_in(&c), 6);
	printf("# a new record reached the follower in %llu ms\n", (unsigned long long)waited);
	assert_true(waited < PROMPT_BUDGET_MS);
	/* a burst larger than a block arrives whole (the queue holds 4096) */
	add_records(fx, 2000);
	want = 6 + 2000;
	t0 = now_ms();
	while (lines_in(&c) < want && now_ms() - t0 < READ_TIMEOUT_MS)
		conn_read(&c, 100);
	assert_int_equal(lines_in(&c), want);
	conn_close(&c);
	server_stop(fx);
}

static void follow_ends_with_the_chunk_terminator_at_stop(void **state)
{
	struct fixture *fx = *state;
	int round, chunks, clean = 0;
	size_t len;
	char *body;
	uint64_t t0;
	struct conn c;

	for (round = 0; round < STOP_ROUNDS; round++) {
		server_start(fx);
		add_records(fx, 3);
		conn_open(&c, fx, "/v1/flows?follow=1&number=3");
		t0 = now_ms();
		while (lines_in(&c) < 3 && now_ms() - t0 < READ_TIMEOUT_MS)
			conn_read(&c, 100);
		assert_int_equal(lines_in(&c), 3);
		/* the stream is waiting for records when the server stops */
		server_stop(fx);
		conn_read_all(&c);
		if (dechunk(&c, &body, &len, &chunks))
			clean++;
		else
			printf("# round %d: the body ended without its terminator: ...%s\n", round,
			       c.len > 40 ? c.buf + c.len - 40 : c.buf);
		free(body);
		conn_close(&c);
	}
	assert_int_equal(clean, STOP_ROUNDS);
}

/* The compact lines of a body read back: records into v (at most n). */
static size_t compact_records(const char *body, size_t len, struct weir_flow_record **v, size_t n)
{
	struct weir_compact_decoder *d;
	const char *p = body, *end = body + len, *nl;
	char err[160];
	size_t got = 0;

	assert_int_equal(weir_compact_decoder_new(&d), 0);
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		struct weir_flow_record *r;
		enum weir_compact_line k;

		k = weir_compact_decode_line(d, p, (size_t)(nl - p), &r, err, sizeof(err));
		if (k == WEIR_COMPACT_LINE_BAD)
			fprintf(stderr, "# %s: %.*s\n", err, (int)(nl - p), p);
		assert_true(k == WEIR_COMPACT_LINE_DEF || k == WEIR_COMPACT_LINE_RECORD);
		if (k == WEIR_COMPACT_LINE_RECORD) {
			assert_true(got < n);
			v[got++] = r;
		}
	}
	weir_compact_decoder_free(d);
	return got;
}

static char *record_json(const struct weir_flow_record *r)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	size_t len;

	assert_int_equal(weir_flow_record_write_json(r, &b), 0);
	return weir_json_buf_steal(&b, &len);
}

static void compact_answer_reads_back_as_the_store_holds(void **state)
{
	struct fixture *fx = *state;
	struct weir_flow_record **v = NULL, **got;
	struct weir_flow_request req = { 0 };
	char target[96], err[128], *body, *want, *have;
	size_t len, n = 0, i, plain_len;
	int chunks;
	struct conn c;

	server_start(fx);
	add_records(fx, RECORDS);
	snprintf(target, sizeof(target), "/v1/flows?number=%d&format=compact", RECORDS);
	conn_open(&c, fx, target);
	conn_read_all(&c);
	assert_non_null(strstr(c.buf, "HTTP/1.1 200"));
	assert_non_null(strstr(c.buf, "Content-Type: " WEIR_COMPACT_MEDIA "\r\n"));
	assert_true(dechunk(&c, &body, &len, &chunks));
	assert_int_equal(strncmp(body, "{\"format\":\"compact\",\"version\":1}\n", 33), 0);
	got = calloc(RECORDS, sizeof(struct weir_flow_record *));
	assert_non_null(got);
	assert_int_equal(compact_records(body, len, got, RECORDS), RECORDS);

	assert_int_equal(weir_flow_request_set(&req, "number", "3000", err, sizeof(err)), 0);
	assert_int_equal(weir_flow_request_finish(&req, err, sizeof(err)), 0);
	assert_int_equal(weir_store_query(fx->store, &req, &v, &n), 0);
	assert_int_equal(n, RECORDS);
	plain_len = 0;
	for (i = 0; i < n; i++) {
		want = record_json(v[i]);
		have = record_json(got[i]);
		assert_string_equal(have, want);
		plain_len += strlen(want) + 1;
		free(want);
		free(have);
		weir_flow_record_put(v[i]);
		weir_flow_record_put(got[i]);
	}
	printf("# %d records: %zu bytes compact, %zu as NDJSON\n", RECORDS, len, plain_len);
	assert_true(len * 3 < plain_len);
	free(v);
	free(got);
	weir_flow_request_release(&req);
	free(body);
	conn_close(&c);
	server_stop(fx);
}

/* The compact records a follow stream has sent whole within READ_TIMEOUT_MS,
 * once it has sent want of them (got[] then holds them all, to put).
 */
static size_t compact_wait(struct conn *c, struct weir_flow_record **got, size_t max, size_t want)
{
	uint64_t t0 = now_ms();
	size_t len, k;
	char *body;
	int chunks;

	for (;;) {
		conn_read(c, 100);
		dechunk(c, &body, &len, &chunks);
		k = compact_records(body, len, got, max);
		free(body);
		if (k >= want || now_ms() - t0 > READ_TIMEOUT_MS)
			return k;
		while (k)
			weir_flow_record_put(got[--k]);
	}
}

static void compact_follow_streams_new_records(void **state)
{
	struct fixture *fx = *state;
	struct weir_flow_record *got[8] = { 0 };
	struct conn c;
	size_t i, k;

	server_start(fx);
	add_records(fx, 2);
	conn_open(&c, fx, "/v1/flows?follow=1&number=2&format=compact");
	/* the 2 stored, after the header and the definitions */
	k = compact_wait(&c, got, 8, 2);
	assert_int_equal(k, 2);
	while (k)
		weir_flow_record_put(got[--k]);
	/* then what comes: the stream's dictionary goes on */
	add_records(fx, 3);
	k = compact_wait(&c, got, 8, 5);
	assert_int_equal(k, 5);
	assert_non_null(strstr(c.buf, "Content-Type: " WEIR_COMPACT_MEDIA "\r\n"));
	for (i = 0; i < 5; i++) {
		if (!got[i]) {
			fail();
			break;
		}
		assert_int_equal(got[i]->id, i + 1);
		weir_flow_record_put(got[i]);
	}
	conn_close(&c);
	server_stop(fx);
}

static void unknown_format_is_a_bad_request(void **state)
{
	struct fixture *fx = *state;
	struct conn c;
	char *text;
	json_t *j;

	server_start(fx);
	conn_open(&c, fx, "/v1/flows?follow=1&format=protobuf");
	conn_read_all(&c);
	if (!c.buf) {
		fail();
		return;
	}
	assert_non_null(strstr(c.buf, "HTTP/1.1 400"));
	assert_non_null(c.body);
	j = json_loads(c.buf + c.body, JSON_DISABLE_EOF_CHECK, NULL);
	assert_true(json_is_object(j));
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(text, "protobuf"));
	free(text);
	json_decref(j);
	conn_close(&c);
	server_stop(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(array_answer_is_every_record_in_few_chunks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(follow_sends_a_new_record_at_once_and_a_burst_whole,
						setup, teardown),
		cmocka_unit_test_setup_teardown(follow_ends_with_the_chunk_terminator_at_stop,
						setup, teardown),
		cmocka_unit_test_setup_teardown(compact_answer_reads_back_as_the_store_holds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(compact_follow_streams_new_records, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unknown_format_is_a_bad_request, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
