/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The HTTP client of an agent or the relay (libcurl): a server given as a
 * URL ("http://10.0.0.1:4244", "127.0.0.1:4244") or a unix socket ("/run/
 * weir/agent.sock", "unix:///run/weir/agent.sock"); unary JSON calls and
 * streamed bodies; every failure as -errno and one line that names the
 * server and says what went wrong.
 */
#ifndef WEIR_CLI_CLIENT_H
#define WEIR_CLI_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#define WEIR_DEFAULT_SOCKET "/run/weir/agent.sock"

struct weir_client {
	char *url;	   /* "http://host:port" (for a socket: "http://localhost") */
	char *socket_path; /* NULL over TCP */
	char *display;	   /* how messages name the server */
	uint64_t connect_timeout_ns;
	uint64_t request_timeout_ns;	   /* unary calls only; 0: none */
	const volatile sig_atomic_t *stop; /* when set (by a signal), a transfer ends: -EINTR */
};

/* server NULL or "": $WEIR_SERVER, then WEIR_DEFAULT_SOCKET. Returns 0 or
 * -EINVAL/-ENOMEM with a message.
 */
int weir_client_init(struct weir_client *c, const char *server, char *err, size_t err_len);
void weir_client_release(struct weir_client *c);

/* Percent-encodes s for a query string; free() the result. NULL: no memory. */
char *weir_client_escape(const char *s);

/* Appends key=value (value percent-encoded) to the query string being
 * written to q: '?' before the first (*first, then cleared), '&' after.
 * weir_client_query_add_json() appends list's compact JSON; nothing for NULL.
 * 0 or -ENOMEM.
 */
int weir_client_query_add(FILE *q, const char *key, const char *value, bool *first);
int weir_client_query_add_json(FILE *q, const char *key, const json_t *list, bool *first);

/* GET path: the JSON body of a 2xx answer in *out. Errors: -ECONNREFUSED,
 * -ENOENT (no socket), -EACCES, -EHOSTUNREACH, -ETIMEDOUT, -ECONNRESET,
 * -EBADMSG (not JSON), -EPROTO (an HTTP error: *status says which, err has
 * the server's {"error"} text), -EINTR (stopped).
 */
int weir_client_get_json(struct weir_client *c, const char *path, long *status, json_t **out,
			 char *err, size_t err_len);

/* method (PUT, PATCH, DELETE, POST) path with body (NULL: none) as JSON; the
 * JSON answer of a 2xx, if any, in *out (NULL when the answer is empty; out
 * may be NULL). Errors as weir_client_get_json().
 */
int weir_client_send_json(struct weir_client *c, const char *method, const char *path,
			  const json_t *body, long *status, json_t **out, char *err,
			  size_t err_len);

/* GET path, the body handed to fn as it arrives; fn's non-zero return ends
 * the transfer and is returned. Returns 0 when the server ends the body, or
 * an error as weir_client_get_json() does.
 */
int weir_client_stream(struct weir_client *c, const char *path,
		       int (*fn)(void *ctx, const char *data, size_t n), void *ctx, long *status,
		       char *err, size_t err_len);

#endif /* WEIR_CLI_CLIENT_H */
