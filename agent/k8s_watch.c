// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The list-then-watch loop for this node's pods, on its own thread, over
 * libcurl's multi interface so that stopping wakes it from any wait.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include "endpoints.h"
#include "k8s_config.h"
#include "k8s_pod.h"
#include "k8s_watch.h"
#include "log.h"

#define LIST_MAX_BYTES	  (256 << 20) /* one list page */
#define LINE_MAX_BYTES	  (16 << 20)  /* one watch event */
#define ERROR_MAX_BYTES	  (64 << 10)  /* an error response's body */
#define CONNECT_TIMEOUT_S 10
#define LIST_TIMEOUT_S	  60
#define BACKOFF_MIN_MS	  1000
#define POLL_MS		  1000
#define ERR_LEN		  256

struct weir_k8s {
	struct weir_k8s_opts o;
	char *node_name;
	struct weir_k8s_conn conn;
	CURLM *multi;
	pthread_t thread;
	int stop;	      /* atomic */
	pthread_mutex_t lock; /* st */
	struct weir_k8s_stats st;
	char rv[64]; /* the thread's: where the next watch starts */
	unsigned int backoff_ms;
};

/* One request's state. */
struct xfer {
	struct weir_k8s *k;
	CURL *easy;
	bool watch;
	long status;
	char *buf; /* a list's body, an error's body, or a watch's partial line */
	size_t len, cap;
	size_t max;	 /* what buf may grow to */
	uint64_t events; /* watch events applied */
	int result;	 /* what stopped a watch early: -ESTALE, -EPROTO, -ENOMEM */
	char err[ERR_LEN];
};

static bool stopping(struct weir_k8s *k)
{
	return __atomic_load_n(&k->stop, __ATOMIC_ACQUIRE);
}

static void set_error(struct weir_k8s *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct weir_k8s *k, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&k->lock);
	va_start(ap, fmt);
	vsnprintf(k->st.last_error, sizeof(k->st.last_error), fmt, ap);
	va_end(ap);
	k->st.errors++;
	log_warn("k8s: %s", k->st.last_error);
	pthread_mutex_unlock(&k->lock);
}

static int buf_append(struct xfer *x, const char *data, size_t n)
{
	size_t cap;
	char *p;

	if (x->len + n > x->max)
		return -E2BIG;
	if (x->len + n + 1 > x->cap) {
		cap = x->cap ? x->cap : 65536;
		while (cap < x->len + n + 1)
			cap *= 2;
		p = realloc(x->buf, cap);
		if (!p)
			return -ENOMEM;
		x->buf = p;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return 0;
}

/* Applies every complete line in the buffer; keeps the partial one. */
static int watch_lines(struct xfer *x)
{
	struct weir_k8s *k = x->k;
	char *start = x->buf, *nl, rv[sizeof(k->rv)];
	int ret;

	while ((nl = memchr(start, '\n', x->len - (size_t)(start - x->buf)))) {
		if (nl > start) {
			snprintf(rv, sizeof(rv), "%s", k->rv);
			ret = weir_k8s_apply_event(k->o.eps, start, (size_t)(nl - start), rv,
						   sizeof(rv), x->err, sizeof(x->err));
			if (ret)
				return ret;
			snprintf(k->rv, sizeof(k->rv), "%s", rv);
			x->events++;
			pthread_mutex_lock(&k->lock);
			k->st.events++;
			snprintf(k->st.resource_version, sizeof(k->st.resource_version), "%s", rv);
			pthread_mutex_unlock(&k->lock);
		}
		start = nl + 1;
	}
	x->len -= (size_t)(start - x->buf);
	memmove(x->buf, start, x->len);
	return 0;
}

static size_t on_data(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;
	int ret;

	if (!x->status)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status != 200)
		x->max = ERROR_MAX_BYTES;
	ret = buf_append(x, data, len);
	if (!ret && x->watch && x->status == 200)
		ret = watch_lines(x);
	if (ret) {
		x->result = ret;
		if (ret == -E2BIG)
			snprintf(x->err, sizeof(x->err), "response over %zu bytes", x->max);
		return 0; /* aborts the transfer */
	}
	return len;
}

static int xferinfo(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		    curl_off_t ulnow)
{
	struct xfer *x = userp;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return stopping(x->k);
}

/* Runs one GET to completion (or until stopping). Returns curl's result. */
static CURLcode perform(struct weir_k8s *k, struct xfer *x, const char *url)
{
	struct curl_slist *hdrs = NULL;
	const struct weir_k8s_conn *c = &k->conn;
	CURLcode rc = CURLE_OK;
	char *token, *auth;
	int running = 1;
	CURLMsg *msg;
	int left;

	x->easy = curl_easy_init();
	if (!x->easy)
		return CURLE_OUT_OF_MEMORY;
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	token = weir_k8s_conn_token(c);
	if (token) {
		auth = malloc(strlen(token) + 32);
		if (auth) {
			sprintf(auth, "Authorization: Bearer %s", token);
			hdrs = curl_slist_append(hdrs, auth);
			free(auth);
		}
		free(token);
	} else if (c->token_file) {
		log_warn("k8s: token file=%s unreadable, request sent without it", c->token_file);
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(x->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->easy, CURLOPT_XFERINFOFUNCTION, xferinfo);
	curl_easy_setopt(x->easy, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "");
	if (x->watch) {
		/* The server ends the watch at timeoutSeconds; silence well past
		 * that is a dead connection.
		 */
		curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME, (long)k->o.watch_timeout_s + 60);
	} else {
		curl_easy_setopt(x->easy, CURLOPT_TIMEOUT, (long)LIST_TIMEOUT_S);
	}
	if (c->ca_file)
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, c->ca_file);
	if (c->ca_pem) {
		struct curl_blob b = { .data = c->ca_pem, .len = c->ca_pem_len };

		curl_easy_setopt(x->easy, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->cert_file)
		curl_easy_setopt(x->easy, CURLOPT_SSLCERT, c->cert_file);
	if (c->key_file)
		curl_easy_setopt(x->easy, CURLOPT_SSLKEY, c->key_file);
	if (c->cert_pem) {
		struct curl_blob b = { .data = c->cert_pem, .len = c->cert_pem_len };

		curl_easy_setopt(x->easy, CURLOPT_SSLCERT_BLOB, &b);
	}
	if (c->key_pem) {
		struct curl_blob b = { .data = c->key_pem, .len = c->key_pem_len };

		curl_easy_setopt(x->easy, CURLOPT_SSLKEY_BLOB, &b);
	}
	if (c->insecure) {
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}

	curl_multi_add_handle(k->multi, x->easy);
	while (running && !stopping(k)) {
		if (curl_multi_perform(k->multi, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(k->multi, &left)))
			if (msg->msg == CURLMSG_DONE)
				rc = msg->data.result;
		if (running)
			curl_multi_poll(k->multi, NULL, 0, POLL_MS, NULL);
	}
	if (stopping(k))
		rc = CURLE_ABORTED_BY_CALLBACK;
	if (!x->status)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
	curl_multi_remove_handle(k->multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(hdrs);
	x->easy = NULL;
	return rc;
}

static void xfer_release(struct xfer *x)
{
	free(x->buf);
	memset(x, 0, sizeof(*x));
}

/* A Status body's message, for an error response. */
static const char *status_message(const struct xfer *x, char *buf, size_t len)
{
	json_t *j = x->buf ? json_loadb(x->buf, x->len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(j, "message"));

	snprintf(buf, len, "%s", m ? m : x->buf ? x->buf : "");
	json_decref(j);
	return buf;
}

static char *escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out;

	out = e ? strdup(e) : NULL;
	curl_free(e);
	return out;
}

/* base + the node's field selector + extra, into url. */
static int pods_url(struct weir_k8s *k, char *url, size_t len, const char *extra)
{
	char *node = escape(k->node_name);
	int n;

	if (!node)
		return -ENOMEM;
	n = snprintf(url, len, "%s/api/v1/pods?fieldSelector=spec.nodeName%%3D%s%s", k->conn.server,
		     node, extra);
	free(node);
	return n > 0 && (size_t)n < len ? 0 : -E2BIG;
}

/* Lists every page; on success the cache's Kubernetes source is the list. */
static int list_pods(struct weir_k8s *k)
{
	char url[4096], extra[2048], msg[ERR_LEN], rv[sizeof(k->rv)] = "";
	json_t *docs = json_array(), *page, *item;
	const char *cont = NULL, *why;
	char *cont_esc = NULL;
	size_t i, pages = 0;
	struct xfer x;
	CURLcode rc;
	int ret = 0;

	if (!docs)
		return -ENOMEM;
	do {
		snprintf(extra, sizeof(extra), "&limit=%u%s%s", k->o.list_limit,
			 cont_esc ? "&continue=" : "", cont_esc ? cont_esc : "");
		free(cont_esc);
		cont_esc = NULL;
		ret = pods_url(k, url, sizeof(url), extra);
		if (ret)
			break;
		memset(&x, 0, sizeof(x));
		x.k = k;
		x.max = LIST_MAX_BYTES;
		rc = perform(k, &x, url);
		if (stopping(k)) {
			xfer_release(&x);
			ret = -ECANCELED;
			break;
		}
		if (rc != CURLE_OK || x.status != 200) {
			if (x.status == 410)
				log_info("k8s: list continue token expired, listing again");
			else if (rc != CURLE_OK)
				set_error(k, "list pods: %s%s%s", curl_easy_strerror(rc),
					  x.err[0] ? ": " : "", x.err);
			else
				set_error(k, "list pods: HTTP %ld: %s", x.status,
					  status_message(&x, msg, sizeof(msg)));
			ret = x.status == 410 ? -EAGAIN : -EIO;
			xfer_release(&x);
			break;
		}
		page = json_loadb(x.buf ? x.buf : "", x.len, 0, NULL);
		xfer_release(&x);
		if (!json_is_array(json_object_get(page, "items"))) {
			json_decref(page);
			set_error(k, "list pods: the answer is not a PodList");
			ret = -EPROTO;
			break;
		}
		json_array_foreach(json_object_get(page, "items"), i, item)
		{
			json_t *doc = weir_k8s_pod_doc(item, &why);

			if (doc)
				json_array_append_new(docs, doc);
		}
		snprintf(
			rv, sizeof(rv), "%s",
			json_string_value(json_object_get(json_object_get(page, "metadata"), "resourceVersion")) ?:
				"");
		cont = json_string_value(
			json_object_get(json_object_get(page, "metadata"), "continue"));
		if (cont && *cont) {
			cont_esc = escape(cont);
			if (!cont_esc)
				ret = -ENOMEM;
		}
		json_decref(page);
		pages++;
	} while (!ret && cont_esc);

	if (!ret)
		ret = weir_endpoints_k8s_replace(k->o.eps, docs);
	json_decref(docs);
	free(cont_esc);
	if (ret)
		return ret;
	snprintf(k->rv, sizeof(k->rv), "%s", rv);
	pthread_mutex_lock(&k->lock);
	k->st.synced = true;
	k->st.lists++;
	snprintf(k->st.resource_version, sizeof(k->st.resource_version), "%s", rv);
	pthread_mutex_unlock(&k->lock);
	log_info("k8s: listed node=%s pages=%zu resource_version=%s", k->node_name, pages, rv);
	if (k->o.on_listed)
		k->o.on_listed(k->o.ctx);
	return 0;
}

/* One watch from k->rv. 0: it ended or dropped after progress (resume at
 * once), -ESTALE: 410 (relist), -ENODATA: it ended empty, other: an error
 * (both back off, then resume).
 */
static int watch_pods(struct weir_k8s *k)
{
	char url[4096], extra[512], msg[ERR_LEN], *rv_esc = escape(k->rv);
	struct xfer x = { .k = k, .watch = true, .max = LINE_MAX_BYTES };
	CURLcode rc;
	int ret;

	if (!rv_esc)
		return -ENOMEM;
	snprintf(extra, sizeof(extra),
		 "&watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u", rv_esc,
		 k->o.watch_timeout_s);
	free(rv_esc);
	ret = pods_url(k, url, sizeof(url), extra);
	if (ret)
		return ret;
	pthread_mutex_lock(&k->lock);
	k->st.watches++;
	pthread_mutex_unlock(&k->lock);
	log_debug("k8s: watching from resource_version=%s", k->rv);
	rc = perform(k, &x, url);
	if (stopping(k)) {
		ret = -ECANCELED;
	} else if (x.status == 410 || x.result == -ESTALE) {
		log_info("k8s: resource_version=%s expired (410 Gone), listing again", k->rv);
		pthread_mutex_lock(&k->lock);
		k->st.expired++;
		pthread_mutex_unlock(&k->lock);
		ret = -ESTALE;
	} else if (x.status && x.status != 200) {
		set_error(k, "watch pods: HTTP %ld: %s", x.status,
			  status_message(&x, msg, sizeof(msg)));
		ret = -EIO;
	} else if (x.result) {
		set_error(k, "watch pods: %s", x.err);
		ret = x.result;
	} else if (rc != CURLE_OK && !x.events) {
		set_error(k, "watch pods: %s", curl_easy_strerror(rc));
		ret = -EIO;
	} else if (!x.events) {
		/* Ended at once with nothing in it: wait before the next one, so a
		 * server or proxy that closes watches cannot make this spin.
		 */
		log_debug("k8s: watch ended without events");
		ret = -ENODATA;
	} else {
		if (rc != CURLE_OK)
			log_info("k8s: watch dropped (%s) after events=%llu, resuming from "
				 "resource_version=%s",
				 curl_easy_strerror(rc), (unsigned long long)x.events, k->rv);
		ret = 0;
	}
	xfer_release(&x);
	return ret;
}

/* Waits ms, or less when stopping. */
static void pause_ms(struct weir_k8s *k, unsigned int ms)
{
	struct timespec t0, t;
	long waited;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stopping(k)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		waited = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (waited >= (long)ms)
			break;
		curl_multi_poll(k->multi, NULL, 0, (int)(ms - (unsigned int)waited), NULL);
	}
}

static void backoff(struct weir_k8s *k)
{
	pause_ms(k, k->backoff_ms);
	k->backoff_ms =
		k->backoff_ms * 2 > k->o.backoff_max_ms ? k->o.backoff_max_ms : k->backoff_ms * 2;
}

static void *run(void *arg)
{
	struct weir_k8s *k = arg;
	bool need_list = true;
	int ret;

	while (!stopping(k)) {
		if (need_list) {
			ret = list_pods(k);
			if (ret == -EAGAIN)
				continue;
			if (ret) {
				backoff(k);
				continue;
			}
			need_list = false;
			k->backoff_ms = BACKOFF_MIN_MS;
		}
		ret = watch_pods(k);
		if (ret == -ESTALE) {
			need_list = true;
		} else if (ret == -EPROTO) {
			/* A watch ERROR, or a line that is no event: start over. */
			need_list = true;
			backoff(k);
		} else if (ret) {
			backoff(k);
		} else {
			k->backoff_ms = BACKOFF_MIN_MS;
		}
	}
	return NULL;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

int weir_k8s_start(struct weir_k8s **out, const struct weir_k8s_opts *opts, char *err,
		   size_t err_len)
{
	struct weir_k8s *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->o = *opts;
	if (!k->o.watch_timeout_s)
		k->o.watch_timeout_s = 300;
	if (!k->o.backoff_max_ms)
		k->o.backoff_max_ms = 30000;
	if (!k->o.list_limit)
		k->o.list_limit = 500;
	k->backoff_ms = BACKOFF_MIN_MS;
	k->node_name = strdup(opts->node_name);
	if (!k->node_name) {
		free(k);
		return -ENOMEM;
	}
	if (opts->kubeconfig)
		ret = weir_k8s_conn_kubeconfig(&k->conn, opts->kubeconfig, err, err_len);
	else
		ret = weir_k8s_conn_in_cluster(&k->conn, WEIR_K8S_SA_DIR, env_get, err, err_len);
	if (ret)
		goto err_free;
	ret = -ENOMEM;
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		goto err_conn;
	k->multi = curl_multi_init();
	if (!k->multi)
		goto err_conn;
	pthread_mutex_init(&k->lock, NULL);
	ret = -pthread_create(&k->thread, NULL, run, k);
	if (ret) {
		snprintf(err, err_len, "k8s thread: %s", strerror(-ret));
		curl_multi_cleanup(k->multi);
		goto err_conn;
	}
	log_info("k8s: watching pods of node=%s server=%s", k->node_name, k->conn.server);
	*out = k;
	return 0;

err_conn:
	weir_k8s_conn_release(&k->conn);
err_free:
	free(k->node_name);
	free(k);
	return ret;
}

void weir_k8s_stop(struct weir_k8s *k)
{
	if (!k)
		return;
	__atomic_store_n(&k->stop, 1, __ATOMIC_RELEASE);
	curl_multi_wakeup(k->multi);
	pthread_join(k->thread, NULL);
	curl_multi_cleanup(k->multi);
	pthread_mutex_destroy(&k->lock);
	weir_k8s_conn_release(&k->conn);
	free(k->node_name);
	free(k);
}

void weir_k8s_stats(struct weir_k8s *k, struct weir_k8s_stats *st)
{
	pthread_mutex_lock(&k->lock);
	*st = k->st;
	pthread_mutex_unlock(&k->lock);
}
