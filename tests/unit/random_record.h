/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Random flow records for the JSON tests: every optional field, every enum
 * value and some out of range, odd strings (quotes, controls, UTF-8 of every
 * length, bytes that are not UTF-8), counters past INT64_MAX. Deterministic:
 * the same sequence on every run.
 */
#ifndef WEIR_TESTS_RANDOM_RECORD_H
#define WEIR_TESTS_RANDOM_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "flow.h"

/* xorshift64*: the same sequence on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* Pieces of odd strings: escapes, controls, UTF-8 of every length, and
 * sequences jansson refuses (overlong, surrogate, past U+10FFFF, cut short).
 */
static const char *const pieces[] = {
	"a",
	"pod-1",
	"\"",
	"\\",
	"/",
	"\n",
	"\t",
	"\r",
	"\b",
	"\f",
	"\x01",
	"\x1f",
	"\x7f",
	" ",
	"k8s:app=x",
	"\xc3\xa9",
	"\xe2\x80\xa8",
	"\xf0\x9f\x98\x80",
	"\xef\xbf\xbf",
	"\xff",
	"\xc0\x80",
	"\x80",
	"\xed\xa0\x80",
	"\xf4\x90\x80\x80",
	"\xe2\x82",
	"\xc3",
	"reserved:world",
	"reserved:host",
	"\xf5\x80\x80\x80",
	"}",
};

/* Pieces that need no escape and are UTF-8: the strings agents send. */
static const char *const plain_pieces[] = {
	"a",
	"pod-1",
	"k8s:app=x",
	"\xc3\xa9",
	"\xf0\x9f\x98\x80",
	"reserved:world",
	"reserved:host",
	" ",
	"/",
	"}",
	"{",
	",",
	":",
	"[",
};

/* Only plain pieces in strings (and room for an interface name's NUL). */
static bool rr_plain;

/* A random string of up to max bytes (with its NUL); mostly plain. */
static char *odd_string(size_t max)
{
	char *s = calloc(1, max);
	size_t n = rnd_below(6), i, len = 0;

	assert_non_null(s);
	if (!rnd_below(3))
		n = 0;
	for (i = 0; i < n; i++) {
		const char *p = rr_plain ? plain_pieces[rnd_below(sizeof(plain_pieces) /
								  sizeof(plain_pieces[0]))] :
					   pieces[rnd_below(sizeof(pieces) / sizeof(pieces[0]))];
		size_t k = strlen(p);

		if (len + k >= max)
			break;
		memcpy(s + len, p, k + 1); /* its NUL too */
		len += k;
	}
	if (!len && !rnd_below(4))
		snprintf(s, max, "%s", max > 8 ? "plain" : "x");
	return s;
}

static char *maybe_string(void)
{
	switch (rnd_below(4)) {
	case 0:
		return NULL;
	case 1:
		return strdup("");
	default:
		return odd_string(48);
	}
}

static struct weir_endpoint *random_endpoint(void)
{
	struct weir_endpoint *ep;
	size_t i, n;

	switch (rnd_below(5)) {
	case 0:
		return NULL;
	case 1:
		return weir_endpoint_world();
	default:
		break;
	}
	ep = weir_endpoint_new((enum weir_identity)rnd_below(3));
	assert_non_null(ep);
	ep->namespace = maybe_string();
	ep->pod_name = maybe_string();
	ep->workload_name = maybe_string();
	ep->workload_kind = maybe_string();
	ep->node_name = maybe_string();
	n = rnd_below(4);
	if (n) {
		ep->labels = calloc(n, sizeof(char *));
		assert_non_null(ep->labels);
		for (i = 0; i < n; i++)
			ep->labels[i] = odd_string(40);
		ep->n_labels = n;
	}
	return ep;
}

static uint64_t random_u64(void)
{
	if (rr_plain)
		return rnd_below(2) ? rnd_below(100000) : rnd() >> 1; /* no strings */
	switch (rnd_below(5)) {
	case 0:
		return 0;
	case 1:
		return rnd_below(1000);
	case 2:
		return (uint64_t)INT64_MAX + rnd_below(3); /* strings past INT64_MAX */
	case 3:
		return UINT64_MAX - rnd_below(2);
	default:
		return rnd() >> rnd_below(64);
	}
}

/* A time with 0, 3, 6 or 9 fractional digits, or none at all. */
static uint64_t random_time(void)
{
	static const uint64_t frac_units[] = { 1000000000ULL, 1000000ULL, 1000ULL, 1ULL };
	uint64_t sec = 1700000000ULL + rnd_below(400000000ULL);

	if (!rnd_below(6))
		return 0;
	if (!rnd_below(10))
		return rnd(); /* up to 2554 */
	return sec * 1000000000ULL + rnd_below(1000000000ULL) / frac_units[rnd_below(4)] *
					     frac_units[rnd_below(4)] % 1000000000ULL;
}

static struct weir_flow_record *random_record(void)
{
	static const uint8_t protos[] = { 0,
					  IPPROTO_TCP,
					  IPPROTO_UDP,
					  IPPROTO_SCTP,
					  IPPROTO_ICMP,
					  IPPROTO_ICMPV6,
					  IPPROTO_IGMP,
					  112,
					  47,
					  255 };
	struct weir_flow_record *r = weir_flow_record_new();
	char *ifname;
	size_t i;

	assert_non_null(r);
	r->id = rnd();
	r->time_ns = random_time();
	r->first_seen_ns = random_time();
	r->last_seen_ns = random_time();
	r->type = (enum weir_record_type)rnd_below(6);
	r->end_reason = (enum weir_end_reason)rnd_below(7);
	r->family = (uint8_t[]){ 0, 4, 6, 6, 4, 5 }[rnd_below(6)];
	r->proto = protos[rnd_below(sizeof(protos))];
	for (i = 0; i < 16; i++) {
		r->saddr[i] = (uint8_t)rnd();
		r->daddr[i] = (uint8_t)rnd();
	}
	if (r->family == 4) {
		memset(r->saddr + 4, 0, 12);
		memset(r->daddr + 4, 0, 12);
	}
	r->sport = rnd_below(3) ? (uint16_t)rnd() : 0;
	r->dport = rnd_below(3) ? (uint16_t)rnd() : 0;
	r->icmp_type = rnd_below(2) ? (uint8_t)rnd() : 0;
	r->icmp_code = rnd_below(2) ? (uint8_t)rnd_below(20) : 0;
	r->l3_only = !rnd_below(5);
	r->ifindex = rnd_below(2) ? (uint32_t)rnd() : 0;
	ifname = odd_string(IF_NAMESIZE);
	if (rnd_below(8) || rr_plain)
		memcpy(r->ifname, ifname, strlen(ifname));
	else
		memset(r->ifname, 'e', sizeof(r->ifname)); /* no NUL: strnlen's bound */
	free(ifname);
	r->dir = (uint8_t)rnd_below(4);
	r->hook = (uint8_t)rnd_below(4);
	r->verdict = (uint8_t)rnd_below(8);
	r->reason = rnd_below(3) ? (uint8_t)rnd() : 0;
	r->is_reply = (enum weir_reply)rnd_below(3);
	r->tcp_flags = (uint32_t)rnd() & ((uint32_t)rnd() | 0x3);
	r->packets = random_u64();
	r->bytes = random_u64();
	r->reply_packets = random_u64();
	r->reply_bytes = random_u64();
	r->node_name = maybe_string();
	/* load-balanced: the service and the backend it was translated to */
	if ((r->family == 4 || r->family == 6) && !rnd_below(4)) {
		r->dst_service = maybe_string();
		for (i = 0; i < 16; i++)
			r->lb_backend[i] = (uint8_t)rnd();
		if (r->family == 4)
			memset(r->lb_backend + 4, 0, 12);
		r->lb_backend_port = (uint16_t)rnd();
	}
	r->src = random_endpoint();
	r->dst = random_endpoint();
	return r;
}

/* Bytes that make JSON and break it. */
static const char random_alphabet[] =
	"[]{}:,\" \\\n\t0123456789-.eEtruefalsn\x01\x7f\xc3\xa9\xff/aZ";

/* One random change to a line of len bytes in a buffer of cap: a byte
 * changed, inserted or cut out, the line truncated, a piece repeated, or a
 * digit bumped (numbers, codes and IDs out of range). Its new length.
 */
static inline size_t random_mutate(char *buf, size_t len, size_t cap)
{
	size_t pos = len ? rnd_below(len) : 0, n;

	switch (rnd_below(6)) {
	case 0: /* a byte changed */
		if (len)
			buf[pos] = random_alphabet[rnd_below(sizeof(random_alphabet) - 1)];
		return len;
	case 1: /* bytes cut out */
		n = 1 + rnd_below(8);
		if (pos + n > len)
			n = len - pos;
		memmove(buf + pos, buf + pos + n, len - pos - n);
		return len - n;
	case 2: /* a byte inserted */
		if (len + 1 > cap)
			return len;
		memmove(buf + pos + 1, buf + pos, len - pos);
		buf[pos] = random_alphabet[rnd_below(sizeof(random_alphabet) - 1)];
		return len + 1;
	case 3: /* truncated */
		return pos;
	case 4: /* a piece repeated */
		n = 1 + rnd_below(40);
		if (pos + n > len)
			n = len - pos;
		if (len + n > cap)
			return len;
		memmove(buf + pos + n, buf + pos, len - pos);
		return len + n;
	default: /* a digit bumped */
		for (; pos < len; pos++)
			if (buf[pos] >= '0' && buf[pos] <= '9') {
				buf[pos] = (char)('0' + rnd_below(10));
				break;
			}
		return len;
	}
}

#endif /* WEIR_TESTS_RANDOM_RECORD_H */
