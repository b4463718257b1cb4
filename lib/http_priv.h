/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by libweir's HTTP server files (http_server.c: daemons and routing;
 * http_respond.c: responses; http_listen.c: sockets; http_flows.c: /v1/flows).
 */
#ifndef WEIR_HTTP_PRIV_H
#define WEIR_HTTP_PRIV_H

#include <stdbool.h>
#include <microhttpd.h>
#include "http_server.h"

struct weir_http_listener {
	struct weir_http_server *s;
	bool tcp; /* non-GET calls need the bearer token */
	int fd;	  /* listening socket, until the daemon owns it */
	struct MHD_Daemon *d;
};

struct weir_http_server {
	struct weir_http_server_opts o; /* its strings are copies, owned */
	struct weir_http_listener tcp;
	struct weir_http_listener unix_sock;
	bool socket_bound; /* o.socket_path is ours to remove at stop */
	int streams;	   /* atomic: /v1/flows answers not yet freed (http_flows.c) */
};

/* "host:port", "[v6]:port" or ":port" (every address): a listening socket. */
int weir_http_listen_tcp(const char *addr, int *out);
/* A listening unix socket at path (its directory made, a stale socket
 * removed); name says who else might be serving it.
 */
int weir_http_listen_unix(const char *path, const char *name, int *out);

/* GET /v1/flows: a JSON array, or with follow an NDJSON stream. */
enum MHD_Result weir_http_flows_get(struct weir_http_server *s, struct MHD_Connection *c);

#endif /* WEIR_HTTP_PRIV_H */
