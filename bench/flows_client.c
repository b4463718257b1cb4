// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/flows_client: bench/agent's HTTP client, a process of its own as
 * `weir observe` or curl is. Its checks of the answers (a JSON parse: ~100k
 * small allocations a request) never touch the agent's heap, whose allocator
 * would otherwise consolidate them in the agent's next query, several times
 * the query's own cost.
 *
 * usage: flows_client PORT SOCKET NS POD_PREFIX WANT REQUESTS FULL STATUS ALL_WANT
 *   REQUESTS times: GET /v1/flows?allowlist=source_pod NS/POD_PREFIX on a new
 *   TCP connection, then on a new unix-socket one, each answer checked to be
 *   the WANT records of those pods; FULL unfiltered GETs (the last checked to
 *   hold ALL_WANT records); STATUS GETs of /v1/status; one filtered GET with
 *   its chunked encoding kept, to count its chunks.
 *
 * Prints a line per request, "<tcp|unix|all|status|raw> <ms> <bytes>", then
 * "chunks <n>", and "bad <what>" for an answer that is wrong. Exits 1 when
 * a request fails.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include "json_writer.h"

/* curl's write callback: the body appended to a weir_json_buf. */
static size_t body_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct weir_json_buf *bd = ctx;

	weir_json_raw(bd, data, size * nmemb);
	return bd->err ? 0 : size * nmemb;
}

static CURL *client_new(struct weir_json_buf *bd, const char *unix_path)
{
	CURL *curl = curl_easy_init();

	if (!curl)
		return NULL;
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, bd);
	curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
	if (unix_path)
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, unix_path);
	return curl;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One GET on a new connection: its line printed as row, its body in bd.
 * 0, or -EIO (transfer) or -EPROTO (not 200), said on stderr.
 */
static int http_get(CURL *curl, const char *url, struct weir_json_buf *bd, const char *row)
{
	long status = 0;
	CURLcode rc;
	double t0, t1;

	weir_json_buf_reset(bd);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	t0 = now_ms();
	rc = curl_easy_perform(curl);
	t1 = now_ms();
	if (rc != CURLE_OK) {
		fprintf(stderr, "flows_client: GET %s: %s\n", url, curl_easy_strerror(rc));
		return -EIO;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		fprintf(stderr, "flows_client: GET %s: status %ld: %.200s\n", url, status,
			bd->data ? bd->data : "");
		return -EPROTO;
	}
	printf("%s %.4f %zu\n", row, t1 - t0, bd->len);
	return 0;
}

/* The answer is a JSON array of want records, all from pods ns/prefix*. */
static bool flows_answer_ok(const struct weir_json_buf *bd, size_t want, const char *ns,
			    const char *prefix)
{
	json_t *j = json_loadb(bd->data, bd->len, 0, NULL), *el;
	size_t i;
	bool ok;

	ok = json_is_array(j) && json_array_size(j) == want;
	json_array_foreach(j, i, el)
	{
		json_t *src = json_object_get(json_object_get(el, "flow"), "source");
		const char *ens = json_string_value(json_object_get(src, "namespace"));
		const char *pod = json_string_value(json_object_get(src, "pod_name"));

		if (!ok)
			break;
		ok = ens && pod && !strcmp(ens, ns) && !strncmp(pod, prefix, strlen(prefix));
	}
	json_decref(j);
	return ok;
}

/* Counts the chunks of a chunked body left undecoded. */
static long chunks_count(const struct weir_json_buf *bd)
{
	const char *p = bd->data, *end = bd->data + bd->len;
	unsigned long size;
	long n = 0;
	char *next;

	while (p < end) {
		size = strtoul(p, &next, 16);
		if (next == p || !size)
			break;
		n++;
		next = strstr(next, "\r\n");
		if (!next)
			return -1;
		p = next + 2 + size + 2;
	}
	return n;
}

int main(int argc, char **argv)
{
	char url_tcp[512], url_unix[512], url_all[128], url_status[128], filter[256];
	long port, want, requests, full, status, all_want, i;
	const char *sock, *ns, *prefix;
	CURL *tcp = NULL, *unx = NULL;
	struct weir_json_buf bd = WEIR_JSON_BUF_INIT;
	char *esc = NULL;
	int err = -ENOMEM;

	if (argc != 10) {
		fprintf(stderr,
			"usage: %s PORT SOCKET NS POD_PREFIX WANT REQUESTS FULL STATUS "
			"ALL_WANT\n",
			argv[0]);
		return 2;
	}
	port = strtol(argv[1], NULL, 10);
	sock = argv[2];
	ns = argv[3];
	prefix = argv[4];
	want = strtol(argv[5], NULL, 10);
	requests = strtol(argv[6], NULL, 10);
	full = strtol(argv[7], NULL, 10);
	status = strtol(argv[8], NULL, 10);
	all_want = strtol(argv[9], NULL, 10);
	/* The check of an answer frees ~100k small objects. glibc keeps such
	 * frees in fast bins and consolidates them at the next larger malloc:
	 * inside the next request's curl_easy_perform(), a few ms of its time.
	 * Without fast bins the frees coalesce as they happen, between requests.
	 */
	mallopt(M_MXFAST, 0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	snprintf(filter, sizeof(filter), "[{\"source_pod\":[\"%s/%s\"]}]", ns, prefix);
	tcp = client_new(&bd, NULL);
	unx = client_new(&bd, sock);
	esc = tcp ? curl_easy_escape(tcp, filter, 0) : NULL;
	if (!tcp || !unx || !esc)
		goto out;
	snprintf(url_tcp, sizeof(url_tcp), "http://127.0.0.1:%ld/v1/flows?allowlist=%s", port, esc);
	snprintf(url_unix, sizeof(url_unix), "http://agent/v1/flows?allowlist=%s", esc);
	snprintf(url_all, sizeof(url_all), "http://127.0.0.1:%ld/v1/flows", port);
	snprintf(url_status, sizeof(url_status), "http://127.0.0.1:%ld/v1/status", port);

	for (i = 0; i < requests; i++) {
		err = http_get(tcp, url_tcp, &bd, "tcp");
		if (!err && !flows_answer_ok(&bd, (size_t)want, ns, prefix))
			printf("bad /v1/flows over TCP: the filtered records, all of them\n");
		err = err ?: http_get(unx, url_unix, &bd, "unix");
		if (!err && !flows_answer_ok(&bd, (size_t)want, ns, prefix))
			printf("bad /v1/flows over the unix socket: the filtered records\n");
		if (err)
			goto out;
	}
	for (i = 0; i < full; i++) {
		err = http_get(tcp, url_all, &bd, "all");
		if (err)
			goto out;
	}
	if (full) {
		json_t *j = json_loadb(bd.data, bd.len, 0, NULL);

		if (!json_is_array(j) || json_array_size(j) != (size_t)all_want)
			printf("bad /v1/flows unfiltered: every stored record\n");
		json_decref(j);
	}
	for (i = 0; i < status; i++) {
		err = http_get(tcp, url_status, &bd, "status");
		if (err)
			goto out;
	}
	/* How the filtered answer travels: the chunks of its body, as sent. */
	curl_easy_setopt(tcp, CURLOPT_HTTP_TRANSFER_DECODING, 0L);
	err = http_get(tcp, url_tcp, &bd, "raw");
	if (!err)
		printf("chunks %ld\n", chunks_count(&bd));
out:
	curl_free(esc);
	if (tcp)
		curl_easy_cleanup(tcp);
	if (unx)
		curl_easy_cleanup(unx);
	weir_json_buf_release(&bd);
	curl_global_cleanup();
	return err ? 1 : 0;
}
