// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Peers from DNS: every address a name resolves to. */
#define _GNU_SOURCE /* EAI_NODATA */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "resolve.h"

int weir_hostport_split(const char *hostport, char *host, size_t host_len, char *port,
			size_t port_len)
{
	const char *colon, *h = hostport;
	size_t n;

	if (hostport[0] == '[') {
		colon = strstr(hostport, "]:");
		if (!colon)
			return -EINVAL;
		h = hostport + 1;
		n = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(hostport, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - h);
	}
	if (!n || n >= host_len || !colon[1] || strlen(colon + 1) >= port_len ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strtoul(colon + 1, NULL, 10) > 65535)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, port_len, "%s", colon + 1);
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void weir_resolved_free(char **addrs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(addrs[i]);
	free(addrs);
}

/* "ip:port" or "[ip6]:port" of one address. */
static char *addr_str(const struct addrinfo *ai, const char *port)
{
	char ip[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN + 16];
	const void *a;

	if (ai->ai_family == AF_INET)
		a = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
	else
		a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	if (!inet_ntop(ai->ai_family, a, ip, sizeof(ip)))
		return NULL;
	snprintf(out, sizeof(out), ai->ai_family == AF_INET ? "%s:%s" : "[%s]:%s", ip, port);
	return strdup(out);
}

int weir_resolve(const char *name_port, char ***addrs, size_t *n, char *err, size_t err_len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	char host[256], port[8];
	char **v = NULL, **p;
	size_t k = 0, i, m;
	int gai, ret = 0;

	*addrs = NULL;
	*n = 0;
	if (weir_hostport_split(name_port, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, err_len, "'%s': want name:port", name_port);
		return -EINVAL;
	}
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai == EAI_NONAME || gai == EAI_NODATA) {
		snprintf(err, err_len, "%s: %s", host, gai_strerror(gai));
		return -ENOENT;
	}
	if (gai) {
		snprintf(err, err_len, "%s: %s", host, gai_strerror(gai));
		return -EAGAIN;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		p = realloc(v, (k + 1) * sizeof(*v));
		if (!p) {
			ret = -ENOMEM;
			break;
		}
		v = p;
		v[k] = addr_str(ai, port);
		if (!v[k]) {
			ret = -ENOMEM;
			break;
		}
		k++;
	}
	freeaddrinfo(res);
	if (ret) {
		snprintf(err, err_len, "%s: out of memory", host);
		weir_resolved_free(v, k);
		return ret;
	}
	if (!k) {
		snprintf(err, err_len, "%s: no IPv4 or IPv6 address", host);
		return -ENOENT;
	}
	qsort(v, k, sizeof(*v), str_cmp);
	for (i = 1, m = 1; i < k; i++) {
		if (strcmp(v[i], v[m - 1]) != 0)
			v[m++] = v[i];
		else
			free(v[i]);
	}
	*addrs = v;
	*n = m;
	return 0;
}
