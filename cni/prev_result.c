// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The previous plugin's result: the pod's addresses and its host-side
 * interface. bridge reports [bridge, host veth, container eth0 (sandbox)],
 * ptp [host veth, container eth0]; macvlan and ipvlan have no host side.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "cni.h"

static bool has_sandbox(const json_t *iface)
{
	const char *s = json_string_value(json_object_get(iface, "sandbox"));

	return s && *s;
}

/* "10.1.0.5/24" -> "10.1.0.5", checked. */
static int strip_prefix(const char *cidr, char *out, size_t len)
{
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned char buf[16];

	if (n >= len)
		return -1;
	memcpy(out, cidr, n);
	out[n] = '\0';
	if (inet_pton(AF_INET, out, buf) != 1 && inet_pton(AF_INET6, out, buf) != 1)
		return -1;
	return 0;
}

static int parse_ips(const json_t *prev, const json_t *ifaces, struct weir_cni_prev *out,
		     struct weir_cni_err *e)
{
	const json_t *ips = json_object_get(prev, "ips"), *ip, *idx;
	size_t i;

	if (ips && !json_is_array(ips))
		return weir_cni_fail(e, WEIR_CNI_E_DECODE, "prevResult.ips is not an array");
	json_array_foreach(ips, i, ip)
	{
		const char *addr = json_string_value(json_object_get(ip, "address"));

		if (!addr)
			return weir_cni_fail(e, WEIR_CNI_E_DECODE,
					     "prevResult.ips[%zu].address is missing", i);
		/* An address on a host-side interface is not the pod's. */
		idx = json_object_get(ip, "interface");
		if (json_is_integer(idx) &&
		    !has_sandbox(json_array_get(ifaces, (size_t)json_integer_value(idx))))
			continue;
		if (out->n_ips == WEIR_CNI_IPS_MAX)
			return weir_cni_fail(e, WEIR_CNI_E_DECODE,
					     "prevResult has more than %d addresses",
					     WEIR_CNI_IPS_MAX);
		if (strip_prefix(addr, out->ips[out->n_ips], sizeof(out->ips[0])))
			return weir_cni_fail(e, WEIR_CNI_E_DECODE,
					     "prevResult.ips[%zu].address \"%.64s\" is not an "
					     "address/prefix",
					     i, addr);
		out->n_ips++;
	}
	if (!out->n_ips)
		return weir_cni_fail(e, WEIR_CNI_E_CONFIG,
				     "prevResult gives the pod no address: is weir-cni chained "
				     "after the plugin that sets up the pod's network?");
	return 0;
}

int weir_cni_prev_parse(const json_t *prev, bool (*is_bridge)(const char *ifname),
			struct weir_cni_prev *out, struct weir_cni_err *e)
{
	const json_t *ifaces = json_object_get(prev, "interfaces"), *iface;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (ifaces && !json_is_array(ifaces))
		return weir_cni_fail(e, WEIR_CNI_E_DECODE, "prevResult.interfaces is not an array");
	json_array_foreach(ifaces, i, iface)
	{
		const char *name = json_string_value(json_object_get(iface, "name"));

		if (!name || !*name || strlen(name) >= sizeof(out->host_if) || strchr(name, '/'))
			return weir_cni_fail(e, WEIR_CNI_E_DECODE,
					     "prevResult.interfaces[%zu].name is not an interface "
					     "name",
					     i);
		if (has_sandbox(iface) || (is_bridge && is_bridge(name)))
			continue;
		snprintf(out->host_if, sizeof(out->host_if), "%s", name);
	}
	return parse_ips(prev, ifaces, out, e);
}
