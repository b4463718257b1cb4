/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Hubble's enum spellings (flow.proto) for what flow JSON and filters share:
 * verdicts, drop reasons, traffic directions and TCP flags. Weir's own lists
 * (include/weir/) come first; Hubble's values that Weir never produces are
 * known too, so that Hubble's JSON and Hubble's filters read correctly.
 */
#ifndef WEIR_LIB_HUBBLE_NAMES_H
#define WEIR_LIB_HUBBLE_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Name of a Hubble Verdict ("FORWARDED", "AUDIT", ...), or NULL. */
const char *weir_hubble_verdict_name(unsigned int code);
/* Code for a name (case-insensitive), or -EINVAL. */
int weir_hubble_verdict_parse(const char *name);

/* Name of a Hubble DropReason (Weir's drop list first, then Hubble's:
 * "POLICY_DENIED"), "DROP_REASON_UNKNOWN" for 0, or NULL.
 */
const char *weir_hubble_drop_reason_name(unsigned int code);
/* Code for a name (case-insensitive), or -EINVAL. */
int weir_hubble_drop_reason_parse(const char *name);

/* "INGRESS", "EGRESS", "TRAFFIC_DIRECTION_UNKNOWN" (enum weir_dir), or NULL. */
const char *weir_hubble_dir_name(unsigned int dir);
int weir_hubble_dir_parse(const char *name);

/* TCP flags in flow.proto's order (FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS). */
struct weir_tcp_flag {
	uint32_t bit; /* WEIR_TCP_* */
	const char *name;
};
extern const struct weir_tcp_flag weir_tcp_flags[9];
/* WEIR_TCP_* for a name (case-insensitive), or 0. */
uint32_t weir_tcp_flag_parse(const char *name);

/* Hubble's Summary text of TCP flags: "SYN, ACK" (Hubble's order). */
void weir_tcp_flags_summary(uint32_t flags, char *buf, size_t len);
/* gopacket's ICMP type/code text, as Hubble's Summary prints it after
 * "ICMPv4 "/"ICMPv6 ": "EchoRequest", "DestinationUnreachable(Port)", "42(0)".
 */
void weir_icmp_summary(uint8_t proto, uint8_t type, uint8_t code, char *buf, size_t len);

#endif /* WEIR_LIB_HUBBLE_NAMES_H */
