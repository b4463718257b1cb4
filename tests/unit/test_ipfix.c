// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* IPFIX encoding against bytes decoded by hand from RFC 7011 (message and
 * set headers, template records, data records) and the IANA element ids; a
 * flow record as per-direction data records; delta counters.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "flow.h"
#include "flow_delta.h"
#include "ipfix.h"

#define T0_MS 1700000000000ULL /* 0x0000018bcfe56800 */

/* The expected bytes, one field per line as RFC 7011 lays them out. */
/* clang-format off */

/* The IPFIX message header: version 10, length, export time, sequence, domain. */
static const uint8_t hdr_templates[] = {
	0x00, 0x0a, 0x00, 0xdc, /* version 10, length 220 = 16 + 204 */
	0x65, 0x53, 0xf1, 0x00, /* export time 1700000000 */
	0x00, 0x00, 0x00, 0x2a, /* sequence 42 */
	0x00, 0x00, 0x00, 0x07, /* observation domain 7 */
};

/* Enterprise field specifier: id | 0x8000, length, PEN 32473 (0x7ed9). */
#define ENT(id, len_hi, len_lo) 0x80, (id), (len_hi), (len_lo), 0x00, 0x00, 0x7e, 0xd9

/* Set id 2 (templates), length 204; template 256 (IPv4) with 19 fields,
 * template 257 (IPv6) with 19 fields.
 */
static const uint8_t template_set[] = {
	0x00, 0x02, 0x00, 0xcc,
	/* template 256 */
	0x01, 0x00, 0x00, 0x13,
	0x00, 0x08, 0x00, 0x04, /* sourceIPv4Address */
	0x00, 0x0c, 0x00, 0x04, /* destinationIPv4Address */
	0x00, 0x07, 0x00, 0x02, /* sourceTransportPort */
	0x00, 0x0b, 0x00, 0x02, /* destinationTransportPort */
	0x00, 0x04, 0x00, 0x01, /* protocolIdentifier */
	0x00, 0x06, 0x00, 0x02, /* tcpControlBits */
	0x00, 0x20, 0x00, 0x02, /* icmpTypeCodeIPv4 */
	0x00, 0x0a, 0x00, 0x04, /* ingressInterface */
	0x00, 0x02, 0x00, 0x08, /* packetDeltaCount */
	0x00, 0x01, 0x00, 0x08, /* octetDeltaCount */
	0x00, 0x98, 0x00, 0x08, /* flowStartMilliseconds */
	0x00, 0x99, 0x00, 0x08, /* flowEndMilliseconds */
	0x00, 0x88, 0x00, 0x01, /* flowEndReason */
	0x00, 0x59, 0x00, 0x01, /* forwardingStatus */
	ENT(0x05, 0x00, 0x01),	/* dropReason */
	ENT(0x01, 0xff, 0xff),	/* sourcePodNamespace, variable length */
	ENT(0x02, 0xff, 0xff),	/* sourcePodName */
	ENT(0x03, 0xff, 0xff),	/* destinationPodNamespace */
	ENT(0x04, 0xff, 0xff),	/* destinationPodName */
	/* template 257 */
	0x01, 0x01, 0x00, 0x13,
	0x00, 0x1b, 0x00, 0x10, /* sourceIPv6Address */
	0x00, 0x1c, 0x00, 0x10, /* destinationIPv6Address */
	0x00, 0x07, 0x00, 0x02,
	0x00, 0x0b, 0x00, 0x02,
	0x00, 0x04, 0x00, 0x01,
	0x00, 0x06, 0x00, 0x02,
	0x00, 0x8b, 0x00, 0x02, /* icmpTypeCodeIPv6 */
	0x00, 0x0a, 0x00, 0x04,
	0x00, 0x02, 0x00, 0x08,
	0x00, 0x01, 0x00, 0x08,
	0x00, 0x98, 0x00, 0x08,
	0x00, 0x99, 0x00, 0x08,
	0x00, 0x88, 0x00, 0x01,
	0x00, 0x59, 0x00, 0x01,
	ENT(0x05, 0x00, 0x01),
	ENT(0x01, 0xff, 0xff),
	ENT(0x02, 0xff, 0xff),
	ENT(0x03, 0xff, 0xff),
	ENT(0x04, 0xff, 0xff),
};

/* One IPv4 record: 10.0.0.1:40000 -> 10.0.0.2:80 TCP, SYN|ACK|FIN, if 7,
 * 10 packets, 1500 bytes, 1.5 s, end detected, forwarded, shop/frontend ->
 * shop/cart. Set 256, length 4 + 56 + 4 + 4 + 8 + 4 + 4 = 84.
 */
static const uint8_t data_v4[] = {
	0x00, 0x0a, 0x00, 0x64, /* version, length 100 = 16 + 84 */
	0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x00, 0x00, 0x54, /* set 256, length 84 */
	0x0a, 0x00, 0x00, 0x01, /* 10.0.0.1 */
	0x0a, 0x00, 0x00, 0x02, /* 10.0.0.2 */
	0x9c, 0x40, 0x00, 0x50, /* 40000, 80 */
	0x06,			/* TCP */
	0x00, 0x13,		/* ACK | SYN | FIN */
	0x00, 0x00,		/* no ICMP type */
	0x00, 0x00, 0x00, 0x07, /* ifindex 7 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, /* 10 packets */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc, /* 1500 bytes */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* T0 */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x6d, 0xdc, /* T0 + 1500 ms */
	0x03,			/* end of flow detected */
	0x40,			/* forwarded */
	0x00,			/* no drop reason */
	0x04, 's', 'h', 'o', 'p',
	0x08, 'f', 'r', 'o', 'n', 't', 'e', 'n', 'd',
	0x04, 's', 'h', 'o', 'p',
	0x04, 'c', 'a', 'r', 't',
};

/* One IPv6 record: fd00::1 -> fd00::2 ICMPv6 echo request (128/0), if 3,
 * 1 packet of 118 bytes dropped (reason 135) by the active timeout, the
 * source a pod, the destination not. Set 257, length 4 + 80 + 3 + 4 + 1 + 1 = 93.
 */
static const uint8_t data_v6[] = {
	0x00, 0x0a, 0x00, 0x6d, /* length 109 = 16 + 93 */
	0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01,
	0x01, 0x01, 0x00, 0x5d, /* set 257, length 93 */
	0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
	0x00, 0x00, 0x00, 0x00, /* no ports */
	0x3a,			/* ICMPv6 */
	0x00, 0x00,		/* no TCP flags */
	0x80, 0x00,		/* echo request, code 0 */
	0x00, 0x00, 0x00, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x76,
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
	0x02,			/* active timeout */
	0x80,			/* dropped */
	0x87,			/* drop reason 135 */
	0x02, 'n', 's',
	0x03, 'p', 'o', 'd',
	0x00,
	0x00,
};

/* clang-format on */

static struct weir_ipfix_flow flow_v4(void)
{
	struct weir_ipfix_flow f = {
		.family = 4,
		.sport = 40000,
		.dport = 80,
		.proto = IPPROTO_TCP,
		.tcp_flags = 0x13,
		.ifindex = 7,
		.packets = 10,
		.bytes = 1500,
		.start_ms = T0_MS,
		.end_ms = T0_MS + 1500,
		.end_reason = WEIR_IPFIX_END_DETECTED,
		.fwd_status = WEIR_IPFIX_FWD_FORWARDED,
		.src_namespace = "shop",
		.src_pod = "frontend",
		.dst_namespace = "shop",
		.dst_pod = "cart",
	};

	inet_pton(AF_INET, "10.0.0.1", f.saddr);
	inet_pton(AF_INET, "10.0.0.2", f.daddr);
	return f;
}

static struct weir_ipfix_flow flow_v6(void)
{
	struct weir_ipfix_flow f = {
		.family = 6,
		.proto = IPPROTO_ICMPV6,
		.icmp_type_code = 128 << 8,
		.ifindex = 3,
		.packets = 1,
		.bytes = 118,
		.start_ms = T0_MS,
		.end_ms = T0_MS,
		.end_reason = WEIR_IPFIX_END_ACTIVE,
		.fwd_status = WEIR_IPFIX_FWD_DROPPED,
		.drop_reason = 135,
		.src_namespace = "ns",
		.src_pod = "pod",
	};

	inet_pton(AF_INET6, "fd00::1", f.saddr);
	inet_pton(AF_INET6, "fd00::2", f.daddr);
	return f;
}

static void assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
	size_t i;

	assert_int_equal(got_len, want_len);
	for (i = 0; i < want_len; i++) {
		if (got[i] != want[i])
			fail_msg("byte %zu: got 0x%02x, want 0x%02x", i, got[i], want[i]);
	}
}

static void header_and_template_set(void **state)
{
	uint8_t buf[512], want[sizeof(hdr_templates) + sizeof(template_set)];
	struct weir_ipfix_msg m;
	size_t len;

	(void)state;
	memcpy(want, hdr_templates, sizeof(hdr_templates));
	memcpy(want + sizeof(hdr_templates), template_set, sizeof(template_set));
	weir_ipfix_msg_init(&m, buf, sizeof(buf));
	assert_int_equal(weir_ipfix_add_templates(&m, WEIR_IPFIX_PEN_DEFAULT), 0);
	len = weir_ipfix_msg_finish(&m, 1700000000, 42, 7);
	assert_bytes(buf, len, want, sizeof(want));
	assert_int_equal(m.n_records, 0);
	assert_int_equal(m.n_templates, 2);
}

static void data_record_v4(void **state)
{
	struct weir_ipfix_flow f = flow_v4();
	struct weir_ipfix_msg m;
	uint8_t buf[512];
	size_t len;

	(void)state;
	weir_ipfix_msg_init(&m, buf, sizeof(buf));
	assert_int_equal(weir_ipfix_add_flow(&m, &f), 0);
	len = weir_ipfix_msg_finish(&m, 1700000000, 0, 1);
	assert_bytes(buf, len, data_v4, sizeof(data_v4));
	assert_int_equal(m.n_records, 1);
}

static void data_record_v6(void **state)
{
	struct weir_ipfix_flow f = flow_v6();
	struct weir_ipfix_msg m;
	uint8_t buf[512];
	size_t len;

	(void)state;
	weir_ipfix_msg_init(&m, buf, sizeof(buf));
	assert_int_equal(weir_ipfix_add_flow(&m, &f), 0);
	len = weir_ipfix_msg_finish(&m, 1700000000, 5, 1);
	assert_bytes(buf, len, data_v6, sizeof(data_v6));
}

/* v4, v4, v6, v4: three data sets, each with its length; a record that does
 * not fit leaves the message as it was.
 */
static void sets_and_full_message(void **state)
{
	struct weir_ipfix_flow a = flow_v4(), b = flow_v6();
	size_t rec4 = sizeof(data_v4) - 20, rec6 = sizeof(data_v6) - 20, len, before;
	struct weir_ipfix_msg m;
	uint8_t buf[1024];

	(void)state;
	assert_int_equal(weir_ipfix_flow_len(&a), rec4);
	assert_int_equal(weir_ipfix_flow_len(&b), rec6);
	weir_ipfix_msg_init(&m, buf, 16 + 4 + 2 * rec4 + 4 + rec6 + 4 + rec4);
	assert_int_equal(weir_ipfix_add_flow(&m, &a), 0);
	assert_int_equal(weir_ipfix_add_flow(&m, &a), 0);
	assert_int_equal(weir_ipfix_add_flow(&m, &b), 0);
	assert_int_equal(weir_ipfix_add_flow(&m, &a), 0);
	before = m.len;
	assert_int_equal(weir_ipfix_add_flow(&m, &a), -ENOSPC);
	assert_int_equal(weir_ipfix_add_flow(&m, &b), -ENOSPC);
	assert_int_equal(m.len, before);
	len = weir_ipfix_msg_finish(&m, 1, 0, 1);
	assert_int_equal(len, m.cap);
	assert_int_equal(m.n_records, 4);
	/* set 256 with two records */
	assert_int_equal(buf[16] << 8 | buf[17], 256);
	assert_int_equal((size_t)(buf[18] << 8 | buf[19]), 4 + 2 * rec4);
	/* then set 257 with one */
	len = 16 + 4 + 2 * rec4;
	assert_int_equal(buf[len] << 8 | buf[len + 1], 257);
	assert_int_equal((size_t)(buf[len + 2] << 8 | buf[len + 3]), 4 + rec6);
	/* then 256 again */
	len += 4 + rec6;
	assert_int_equal(buf[len] << 8 | buf[len + 1], 256);
	assert_int_equal((size_t)(buf[len + 2] << 8 | buf[len + 3]), 4 + rec4);
	/* the header's length is the whole message */
	assert_int_equal((size_t)(buf[2] << 8 | buf[3]), m.cap);
}

/* A name longer than 254 bytes is cut to 254, in the one-byte length form. */
static void long_strings_are_cut(void **state)
{
	struct weir_ipfix_flow f = flow_v4();
	struct weir_ipfix_msg m;
	char name[400];
	uint8_t buf[2048];

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	f.src_pod = name;
	weir_ipfix_msg_init(&m, buf, sizeof(buf));
	assert_int_equal(weir_ipfix_add_flow(&m, &f), 0);
	/* after the header, the set header, 56 fixed bytes and "\x04shop" */
	assert_int_equal(buf[16 + 4 + 56 + 5], 254);
	assert_int_equal(weir_ipfix_flow_len(&f), 56 + 4 + 4 + 254 + 4 + 4);
}

static struct weir_flow_record *record(enum weir_record_type type, uint64_t pkts, uint64_t rpkts)
{
	struct weir_flow_record *r = weir_flow_record_new();
	struct weir_endpoint *src = weir_endpoint_new(WEIR_IDENTITY_POD);

	assert_non_null(r);
	assert_non_null(src);
	src->namespace = strdup("shop");
	src->pod_name = strdup("frontend");
	r->type = type;
	r->family = 4;
	r->proto = IPPROTO_ICMP;
	r->icmp_type = 8;
	inet_pton(AF_INET, "10.0.0.1", r->saddr);
	inet_pton(AF_INET, "10.0.0.2", r->daddr);
	r->ifindex = 9;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->packets = pkts;
	r->bytes = pkts * 98;
	r->reply_packets = rpkts;
	r->reply_bytes = rpkts * 98;
	r->first_seen_ns = T0_MS * 1000000ULL;
	r->last_seen_ns = (T0_MS + 2000) * 1000000ULL;
	r->end_reason = type == WEIR_RECORD_END ? WEIR_END_IDLE : WEIR_END_NONE;
	r->node_name = strdup("node-a");
	r->src = src;
	r->dst = weir_endpoint_get(weir_endpoint_world());
	return r;
}

/* Start records export nothing; an end record gives both directions, the
 * reply with addresses, pods and the ICMP type turned round.
 */
static void record_to_flows(void **state)
{
	struct weir_flow_record *start = record(WEIR_RECORD_START, 1, 0);
	struct weir_flow_record *end = record(WEIR_RECORD_END, 3, 2);
	struct weir_flow_counts d = { 3, 294, 2, 196 };
	struct weir_ipfix_flow out[2];
	uint8_t a1[4], a2[4];

	(void)state;
	inet_pton(AF_INET, "10.0.0.1", a1);
	inet_pton(AF_INET, "10.0.0.2", a2);
	assert_int_equal(weir_ipfix_flows_from_record(start, &d, out), 0);
	assert_int_equal(weir_ipfix_flows_from_record(end, &d, out), 2);
	assert_memory_equal(out[0].saddr, a1, 4);
	assert_int_equal(out[0].icmp_type_code, 8 << 8);
	assert_int_equal(out[0].packets, 3);
	assert_int_equal(out[0].bytes, 294);
	assert_string_equal(out[0].src_pod, "frontend");
	assert_null(out[0].dst_pod);
	assert_int_equal(out[0].end_reason, WEIR_IPFIX_END_IDLE);
	assert_int_equal(out[0].start_ms, T0_MS);
	assert_int_equal(out[0].end_ms, T0_MS + 2000);
	assert_memory_equal(out[1].saddr, a2, 4);
	assert_memory_equal(out[1].daddr, a1, 4);
	assert_int_equal(out[1].icmp_type_code, 0); /* echo reply */
	assert_int_equal(out[1].packets, 2);
	assert_null(out[1].src_pod);
	assert_string_equal(out[1].dst_pod, "frontend");
	/* no reply packets new: one record */
	d.reply_packets = 0;
	assert_int_equal(weir_ipfix_flows_from_record(end, &d, out), 1);
	weir_flow_record_put(start);
	weir_flow_record_put(end);
}

/* start 1 -> update 5/2 -> update 9/4 -> end 10/5: the deltas sum to the
 * end's totals; a flow never seen gives its whole counters; an end forgets.
 */
static void delta_counters(void **state)
{
	struct weir_flow_record *r;
	struct weir_flow_delta *d;
	struct weir_flow_counts c;
	const struct {
		enum weir_record_type type;
		uint64_t p, rp, want_p, want_rp;
	} steps[] = {
		{ WEIR_RECORD_START, 1, 0, 1, 0 },  { WEIR_RECORD_UPDATE, 5, 2, 4, 2 },
		{ WEIR_RECORD_UPDATE, 9, 4, 4, 2 }, { WEIR_RECORD_END, 10, 5, 1, 1 },
		{ WEIR_RECORD_UPDATE, 7, 7, 7, 7 }, { WEIR_RECORD_UPDATE, 3, 1, 3, 1 },
		{ WEIR_RECORD_DROP, 1, 0, 1, 0 },
	};
	size_t i;

	(void)state;
	assert_int_equal(weir_flow_delta_new(&d, 1000), 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		r = record(steps[i].type, steps[i].p, steps[i].rp);
		assert_int_equal(weir_flow_delta_take(d, r, 10 * i, &c), 0);
		if (c.packets != steps[i].want_p || c.reply_packets != steps[i].want_rp)
			fail_msg("step %zu: got %llu/%llu, want %llu/%llu", i,
				 (unsigned long long)c.packets, (unsigned long long)c.reply_packets,
				 (unsigned long long)steps[i].want_p,
				 (unsigned long long)steps[i].want_rp);
		assert_int_equal(c.bytes, c.packets * 98);
		weir_flow_record_put(r);
	}
	/* the last update is remembered until it is max_age old */
	assert_int_equal(weir_flow_delta_count(d), 1);
	assert_int_equal(weir_flow_delta_expire(d, 50 + 999), 0);
	assert_int_equal(weir_flow_delta_expire(d, 50 + 1000), 1);
	assert_int_equal(weir_flow_delta_count(d), 0);
	/* forget: the next update counts from zero */
	r = record(WEIR_RECORD_UPDATE, 4, 0);
	weir_flow_delta_take(d, r, 0, &c);
	weir_flow_delta_forget(d, r);
	weir_flow_delta_take(d, r, 0, &c);
	assert_int_equal(c.packets, 4);
	weir_flow_record_put(r);
	weir_flow_delta_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_and_template_set), cmocka_unit_test(data_record_v4),
		cmocka_unit_test(data_record_v6),	   cmocka_unit_test(sets_and_full_message),
		cmocka_unit_test(long_strings_are_cut),	   cmocka_unit_test(record_to_flows),
		cmocka_unit_test(delta_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
