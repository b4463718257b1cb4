// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Delta counters from cumulative records: a hash table of flows and the
 * counters last handed out for each, with a list in record order for expiry.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "flow_delta.h"
#include "hashtab.h"

/* What identifies a flow in its records. Hashed bytewise: every byte set. */
struct delta_key {
	uint64_t node_hash; /* of node_name: a relay sees every node's flows */
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint32_t ifindex;
	uint16_t sport;
	uint16_t dport;
	uint8_t family;
	uint8_t proto;
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t hook;
	uint8_t dir;
	uint8_t l3_only;
	uint8_t pad;
};

struct delta_entry {
	struct weir_hnode node;
	struct delta_key key;
	struct weir_flow_counts last;
	uint64_t touched_ns;
	struct delta_entry *prev, *next; /* least recently touched first */
};

struct weir_flow_delta {
	struct weir_htab tab;
	struct delta_entry *oldest, *newest;
	uint64_t max_age_ns;
};

int weir_flow_delta_new(struct weir_flow_delta **out, uint64_t max_age_ns)
{
	struct weir_flow_delta *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	err = weir_htab_init(&d->tab, 1024);
	if (err) {
		free(d);
		return err;
	}
	d->max_age_ns = max_age_ns;
	*out = d;
	return 0;
}

void weir_flow_delta_free(struct weir_flow_delta *d)
{
	struct delta_entry *e, *next;

	if (!d)
		return;
	for (e = d->oldest; e; e = next) {
		next = e->next;
		free(e);
	}
	weir_htab_release(&d->tab);
	free(d);
}

static void key_of(const struct weir_flow_record *r, struct delta_key *k)
{
	memset(k, 0, sizeof(*k));
	k->node_hash = r->node_name ? weir_hash_bytes(r->node_name, strlen(r->node_name)) : 0;
	memcpy(k->saddr, r->saddr, sizeof(k->saddr));
	memcpy(k->daddr, r->daddr, sizeof(k->daddr));
	k->ifindex = r->ifindex;
	k->sport = r->sport;
	k->dport = r->dport;
	k->family = r->family;
	k->proto = r->proto;
	k->icmp_type = r->icmp_type;
	k->icmp_code = r->icmp_code;
	k->hook = r->hook;
	k->dir = r->dir;
	k->l3_only = r->l3_only;
}

static struct delta_entry *find(struct weir_flow_delta *d, const struct delta_key *k, uint64_t h)
{
	struct weir_hnode *pos;

	weir_htab_for_each_possible(&d->tab, pos, h)
	{
		struct delta_entry *e = (struct delta_entry *)pos;

		if (!memcmp(&e->key, k, sizeof(*k)))
			return e;
	}
	return NULL;
}

static void list_unlink(struct weir_flow_delta *d, struct delta_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		d->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		d->newest = e->prev;
	e->prev = e->next = NULL;
}

static void list_append(struct weir_flow_delta *d, struct delta_entry *e)
{
	e->prev = d->newest;
	e->next = NULL;
	if (d->newest)
		d->newest->next = e;
	else
		d->oldest = e;
	d->newest = e;
}

static void forget(struct weir_flow_delta *d, struct delta_entry *e)
{
	list_unlink(d, e);
	weir_htab_remove(&d->tab, &e->node);
	free(e);
}

int weir_flow_delta_take(struct weir_flow_delta *d, const struct weir_flow_record *r,
			 uint64_t now_ns, struct weir_flow_counts *out)
{
	const struct weir_flow_counts cur = {
		.packets = r->packets,
		.bytes = r->bytes,
		.reply_packets = r->reply_packets,
		.reply_bytes = r->reply_bytes,
	};
	struct delta_entry *e;
	struct delta_key k;
	uint64_t h;

	*out = cur;
	if (r->type == WEIR_RECORD_DROP)
		return 0;
	key_of(r, &k);
	h = weir_hash_bytes(&k, sizeof(k));
	e = find(d, &k, h);
	if (e && r->type != WEIR_RECORD_START && cur.packets >= e->last.packets &&
	    cur.bytes >= e->last.bytes && cur.reply_packets >= e->last.reply_packets &&
	    cur.reply_bytes >= e->last.reply_bytes) {
		out->packets = cur.packets - e->last.packets;
		out->bytes = cur.bytes - e->last.bytes;
		out->reply_packets = cur.reply_packets - e->last.reply_packets;
		out->reply_bytes = cur.reply_bytes - e->last.reply_bytes;
	}
	if (r->type == WEIR_RECORD_END) {
		if (e)
			forget(d, e);
		return 0;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->key = k;
		if (weir_htab_insert(&d->tab, &e->node, h)) {
			free(e);
			return -ENOMEM;
		}
	} else {
		list_unlink(d, e);
	}
	e->last = cur;
	e->touched_ns = now_ns;
	list_append(d, e);
	return 0;
}

void weir_flow_delta_forget(struct weir_flow_delta *d, const struct weir_flow_record *r)
{
	struct delta_entry *e;
	struct delta_key k;

	key_of(r, &k);
	e = find(d, &k, weir_hash_bytes(&k, sizeof(k)));
	if (e)
		forget(d, e);
}

size_t weir_flow_delta_expire(struct weir_flow_delta *d, uint64_t now_ns)
{
	size_t n = 0;

	while (d->oldest && now_ns - d->oldest->touched_ns >= d->max_age_ns) {
		forget(d, d->oldest);
		n++;
	}
	return n;
}

size_t weir_flow_delta_count(const struct weir_flow_delta *d)
{
	return d->tab.n;
}
