// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* HTTP calls to an agent or the relay over libcurl, on TCP or a unix socket. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "client.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif

#define ERROR_BODY_MAX_BYTES (64u << 10) /* what is kept of a 4xx/5xx body */
#define JSON_BODY_MAX_BYTES  (64u << 20) /* a unary answer */
#define KEEPALIVE_IDLE_S     10		 /* a silent follow stream probes its peer */
#define KEEPALIVE_INTERVAL_S 5

int weir_client_init(struct weir_client *c, const char *server, char *err, size_t err_len)
{
	const char *s = server && *server ? server : getenv("WEIR_SERVER");
	size_t len;

	memset(c, 0, sizeof(*c));
	c->connect_timeout_ns = 5000000000ULL;
	if (!s || !*s)
		s = WEIR_DEFAULT_SOCKET;
	if (!strncmp(s, "unix://", 7))
		s += 7;
	else if (!strncmp(s, "unix:", 5))
		s += 5;
	else if (s[0] != '/') {
		/* a URL, with http:// when no scheme is given */
		bool scheme = strstr(s, "://") != NULL;

		if (scheme && strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
			snprintf(err, err_len,
				 "--server %.64s: only http:// and https:// are spoken", s);
			return -EINVAL;
		}
		if (asprintf(&c->url, "%s%s", scheme ? "" : "http://", s) < 0) {
			c->url = NULL;
			goto nomem;
		}
		len = strlen(c->url);
		while (len && c->url[len - 1] == '/')
			c->url[--len] = '\0';
		c->display = strdup(c->url);
		if (!c->display)
			goto nomem;
		return 0;
	}
	if (s[0] != '/') {
		snprintf(err, err_len, "--server unix:%.64s: a socket path must be absolute", s);
		return -EINVAL;
	}
	c->socket_path = strdup(s);
	c->url = strdup("http://localhost");
	if (!c->socket_path || !c->url || asprintf(&c->display, "unix://%s", s) < 0) {
		c->display = NULL;
		goto nomem;
	}
	return 0;
nomem:
	weir_client_release(c);
	snprintf(err, err_len, "out of memory");
	return -ENOMEM;
}

void weir_client_release(struct weir_client *c)
{
	free(c->url);
	free(c->socket_path);
	free(c->display);
	c->url = c->socket_path = c->display = NULL;
}

char *weir_client_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *copy;

	if (!e)
		return NULL;
	copy = strdup(e);
	curl_free(e);
	return copy;
}

int weir_client_query_add(FILE *q, const char *key, const char *value, bool *first)
{
	char *v = weir_client_escape(value);

	if (!v)
		return -ENOMEM;
	fprintf(q, "%c%s=%s", *first ? '?' : '&', key, v);
	*first = false;
	free(v);
	return 0;
}

int weir_client_query_add_json(FILE *q, const char *key, const json_t *list, bool *first)
{
	char *text;
	int ret;

	if (!list)
		return 0;
	text = json_dumps(list, JSON_COMPACT);
	if (!text)
		return -ENOMEM;
	ret = weir_client_query_add(q, key, text, first);
	free(text);
	return ret;
}

/* One transfer. */
struct xfer {
	struct weir_client *c;
	CURL *h;
	long status; /* once the first byte of the body is in */
	int (*fn)(void *ctx, const char *data, size_t n);
	void *ctx;
	int fn_err;
	char *body; /* an error body, or a unary answer */
	size_t len, max;
	const char *method;   /* NULL: GET */
	const char *req_body; /* sent as application/json when not NULL */
	size_t req_len;
};

static void body_add(struct xfer *x, const char *data, size_t n)
{
	char *b;

	if (x->len + n > x->max)
		n = x->max > x->len ? x->max - x->len : 0;
	if (!n)
		return;
	b = realloc(x->body, x->len + n + 1);
	if (!b)
		return;
	memcpy(b + x->len, data, n);
	x->body = b;
	x->len += n;
	x->body[x->len] = '\0';
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *cls)
{
	struct xfer *x = cls;
	size_t n = size * nmemb;

	if (!x->status)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status >= 300 || !x->fn) {
		if (x->status >= 300)
			x->max = ERROR_BODY_MAX_BYTES;
		body_add(x, data, n);
		if (!x->fn && x->status < 300 && x->len >= JSON_BODY_MAX_BYTES) {
			x->fn_err = -EFBIG;
			return 0;
		}
		return n;
	}
	x->fn_err = x->fn(x->ctx, data, n);
	return x->fn_err ? 0 : n;
}

static int on_progress(void *cls, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = cls;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->c->stop && *x->c->stop;
}

static const char *reason_phrase(long status)
{
	switch (status) {
	case 400:
		return " Bad Request";
	case 401:
		return " Unauthorized";
	case 403:
		return " Forbidden";
	case 404:
		return " Not Found";
	case 405:
		return " Method Not Allowed";
	case 409:
		return " Conflict";
	case 413:
		return " Payload Too Large";
	case 500:
		return " Internal Server Error";
	case 502:
		return " Bad Gateway";
	case 503:
		return " Service Unavailable";
	case 504:
		return " Gateway Timeout";
	}
	return "";
}

/* "SERVER: 400 Bad Request: <the server's error>". */
static int http_error(struct xfer *x, char *err, size_t err_len)
{
	const char *msg = NULL;
	json_t *j = x->body ? json_loadb(x->body, x->len, 0, NULL) : NULL;
	char *p;

	if (json_is_string(json_object_get(j, "error")))
		msg = json_string_value(json_object_get(j, "error"));
	else if (x->body && x->len)
		msg = x->body;
	snprintf(err, err_len, "%s: %ld%s%s%.300s", x->c->display, x->status,
		 reason_phrase(x->status), msg ? ": " : "", msg ? msg : "");
	/* one line of plain text, whatever the server sent */
	for (p = err; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	json_decref(j);
	return -EPROTO;
}

static int connect_error(struct xfer *x, const char *curl_msg, char *err, size_t err_len)
{
	const char *who = x->c->display;
	long os_errno = 0;

	curl_easy_getinfo(x->h, CURLINFO_OS_ERRNO, &os_errno);
	switch (os_errno) {
	case ECONNREFUSED:
		snprintf(err, err_len, "connection refused by %s (is the server running?)", who);
		return -ECONNREFUSED;
	case ENOENT:
		snprintf(err, err_len,
			 "cannot connect to %s: no such socket (is weir-agent running?)", who);
		return -ENOENT;
	case EACCES:
	case EPERM:
		snprintf(err, err_len, "cannot connect to %s: permission denied", who);
		return -EACCES;
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
		snprintf(err, err_len, "cannot reach %s: %s", who, strerror((int)os_errno));
		return -EHOSTUNREACH;
	}
	snprintf(err, err_len, "cannot connect to %s: %s", who, curl_msg);
	return -EHOSTUNREACH;
}

static int transfer_error(struct xfer *x, CURLcode rc, const char *errbuf, char *err,
			  size_t err_len)
{
	const char *who = x->c->display, *msg = *errbuf ? errbuf : curl_easy_strerror(rc);
	double connect_s = 0;

	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		snprintf(err, err_len, "interrupted");
		return -EINTR;
	case CURLE_WRITE_ERROR:
		if (x->fn_err == -EFBIG) {
			snprintf(err, err_len, "%s: answer larger than %u MiB", who,
				 JSON_BODY_MAX_BYTES >> 20);
			return -EFBIG;
		}
		return x->fn_err ? x->fn_err : -EIO;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, err_len, "cannot reach %s: %s", who, msg);
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return connect_error(x, msg, err, err_len);
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(x->h, CURLINFO_CONNECT_TIME, &connect_s);
		if (connect_s <= 0)
			snprintf(err, err_len, "cannot reach %s: no connection within %llu ms", who,
				 (unsigned long long)(x->c->connect_timeout_ns / 1000000));
		else
			snprintf(err, err_len, "%s did not answer within %llu ms", who,
				 (unsigned long long)(x->c->request_timeout_ns / 1000000));
		return -ETIMEDOUT;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
		snprintf(err, err_len, "lost the connection to %s: %s", who, msg);
		return -ECONNRESET;
	default:
		snprintf(err, err_len, "%s: %s", who, msg);
		return -EIO;
	}
}

static int perform(struct weir_client *c, const char *path, struct xfer *x, uint64_t timeout_ns,
		   long *status, char *err, size_t err_len)
{
	char errbuf[CURL_ERROR_SIZE] = "", *url = NULL;
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int ret;

	x->c = c;
	x->h = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Accept: application/json, application/x-ndjson");
	if (hdrs && x->req_body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (!x->h || !hdrs || asprintf(&url, "%s%s", c->url, path) < 0) {
		url = NULL;
		snprintf(err, err_len, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	if (x->req_body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	if (x->method)
		curl_easy_setopt(x->h, CURLOPT_CUSTOMREQUEST, x->method);
	if (x->req_body) {
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->req_body);
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req_len);
	}
	if (c->socket_path)
		curl_easy_setopt(x->h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_USERAGENT, "weir/" WEIR_VERSION);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_ns / 1000000));
	if (timeout_ns)
		curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, (long)(timeout_ns / 1000000));
	curl_easy_setopt(x->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x->h, CURLOPT_TCP_KEEPIDLE, (long)KEEPALIVE_IDLE_S);
	curl_easy_setopt(x->h, CURLOPT_TCP_KEEPINTVL, (long)KEEPALIVE_INTERVAL_S);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x->h, CURLOPT_XFERINFODATA, x);

	rc = curl_easy_perform(x->h);
	if (!x->status)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (status)
		*status = x->status;
	if (x->status >= 300 && rc != CURLE_ABORTED_BY_CALLBACK)
		ret = http_error(x, err, err_len);
	else if (rc != CURLE_OK)
		ret = transfer_error(x, rc, errbuf, err, err_len);
	else
		ret = 0;
out:
	free(url);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(x->h);
	return ret;
}

int weir_client_get_json(struct weir_client *c, const char *path, long *status, json_t **out,
			 char *err, size_t err_len)
{
	struct xfer x = { .max = JSON_BODY_MAX_BYTES };
	json_error_t jerr;
	int ret;

	*out = NULL;
	ret = perform(c, path, &x, c->request_timeout_ns, status, err, err_len);
	if (!ret) {
		*out = x.body ? json_loadb(x.body, x.len, 0, &jerr) : NULL;
		if (!*out) {
			snprintf(err, err_len, "%s: the answer to GET %s is not JSON: %s",
				 c->display, path, x.body ? jerr.text : "empty body");
			ret = -EBADMSG;
		}
	}
	free(x.body);
	return ret;
}

int weir_client_send_json(struct weir_client *c, const char *method, const char *path,
			  const json_t *body, long *status, json_t **out, char *err, size_t err_len)
{
	struct xfer x = { .max = JSON_BODY_MAX_BYTES, .method = method };
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_error_t jerr;
	int ret;

	if (out)
		*out = NULL;
	if (body && !text) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	x.req_body = text;
	x.req_len = text ? strlen(text) : 0;
	ret = perform(c, path, &x, c->request_timeout_ns, status, err, err_len);
	if (!ret && out && x.body && x.len) {
		*out = json_loadb(x.body, x.len, 0, &jerr);
		if (!*out) {
			snprintf(err, err_len, "%s: the answer to %s %s is not JSON: %s",
				 c->display, method, path, jerr.text);
			ret = -EBADMSG;
		}
	}
	free(x.body);
	free(text);
	return ret;
}

int weir_client_stream(struct weir_client *c, const char *path,
		       int (*fn)(void *ctx, const char *data, size_t n), void *ctx, long *status,
		       char *err, size_t err_len)
{
	struct xfer x = { .fn = fn, .ctx = ctx };
	int ret;

	ret = perform(c, path, &x, 0, status, err, err_len);
	free(x.body);
	return ret;
}
