/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Peers from DNS: "name:port" (a Kubernetes headless Service, say) resolved to
 * every address it has, as "10.0.0.1:4244" or "[fd00::1]:4244".
 */
#ifndef WEIR_RELAY_RESOLVE_H
#define WEIR_RELAY_RESOLVE_H

#include <stddef.h>

/* Splits "host:port" or "[v6]:port": 0, or -EINVAL. */
int weir_hostport_split(const char *hostport, char *host, size_t host_len, char *port,
			size_t port_len);
/* Resolves name_port: 0 and a sorted list without duplicates (free with
 * weir_resolved_free); -ENOENT when the name has no address (the peers are
 * gone); -EAGAIN when the lookup failed for now (keep the peers); -EINVAL
 * for a malformed name. err says why.
 */
int weir_resolve(const char *name_port, char ***addrs, size_t *n, char *err, size_t err_len);
void weir_resolved_free(char **addrs, size_t n);

#endif /* WEIR_RELAY_RESOLVE_H */
