// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The compact flow stream (lib/flow_compact_*.c): random records of every
 * shape written and read back write the same JSON as the originals; the
 * dictionary reuses its definitions and starts over when full; mutated and
 * cut lines never crash the reader and either are refused or decode to a
 * record that is whole; IDs not defined, definitions out of order, lines
 * before the header and other versions are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "flow.h"
#include "flow_compact.h"
#include "json_writer.h"
#include "random_record.h"

#define RECORDS	  20000
#define MUTATIONS 40000
#define ERR_LEN	  160

/* A published record never has a NULL endpoint: the writer sends it as the
 * world. A node name that is not UTF-8 goes as JSON text does (each byte from
 * 0x80 on a '?'), as on the NDJSON stream; the uuid, made from the name,
 * changes with it there too: the original is given that name.
 */
static struct weir_flow_record *publishable(void)
{
	struct weir_flow_record *r = random_record();
	char *p;

	if (r->node_name && !weir_json_utf8_valid(r->node_name, strlen(r->node_name)))
		for (p = r->node_name; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';

	if (!r->src)
		r->src = weir_endpoint_world();
	if (!r->dst)
		r->dst = weir_endpoint_world();
	return r;
}

static char *json_of(const struct weir_flow_record *r)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	size_t len;

	assert_int_equal(weir_flow_record_write_json(r, &b), 0);
	return weir_json_buf_steal(&b, &len);
}

/* Reads every line of text; the records in order into v (at most n). */
static size_t read_all(struct weir_compact_decoder *d, const char *text, size_t len,
		       struct weir_flow_record **v, size_t n, size_t *defs, size_t *resets)
{
	const char *p = text, *end = text + len, *nl;
	char err[ERR_LEN];
	size_t got = 0;

	for (; p < end; p = nl + 1) {
		struct weir_flow_record *r;
		enum weir_compact_line k;

		nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl);
		k = weir_compact_decode_line(d, p, (size_t)(nl - p), &r, err, sizeof(err));
		if (k == WEIR_COMPACT_LINE_BAD)
			fprintf(stderr, "# refused: %s: %.*s\n", err, (int)(nl - p), p);
		assert_int_not_equal(k, WEIR_COMPACT_LINE_BAD);
		assert_int_not_equal(k, WEIR_COMPACT_LINE_OTHER);
		if (k == WEIR_COMPACT_LINE_RECORD) {
			assert_true(got < n);
			v[got++] = r;
		} else {
			if (defs)
				*defs += 1;
			if (resets && (size_t)(nl - p) == strlen("[\"reset\"]") &&
			    !memcmp(p, "[\"reset\"]", (size_t)(nl - p)))
				*resets += 1;
		}
	}
	return got;
}

static void assert_same_json(const struct weir_flow_record *a, const struct weir_flow_record *b)
{
	char *x = json_of(a), *y = json_of(b);

	if (strcmp(x, y) != 0) {
		fprintf(stderr, "# original %s\n# decoded  %s\n", x, y);
		fail();
	}
	free(x);
	free(y);
}

/* Writes n random records with e, reads them with d, compares each. */
static void round_trip(struct weir_compact_encoder *e, struct weir_compact_decoder *d, size_t n,
		       bool header, size_t *defs, size_t *resets)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	struct weir_flow_record **in = calloc(n, sizeof(struct weir_flow_record *));
	struct weir_flow_record **out = calloc(n, sizeof(struct weir_flow_record *));
	size_t i, got;

	assert_non_null(in);
	assert_non_null(out);
	if (header)
		assert_int_equal(weir_compact_write_header(&b), 0);
	for (i = 0; i < n; i++) {
		rr_plain = i % 3 == 0;
		in[i] = publishable();
		assert_int_equal(weir_compact_write_record(e, in[i], &b), 0);
	}
	rr_plain = false;
	got = read_all(d, b.data, b.len, out, n, defs, resets);
	assert_int_equal(got, n);
	for (i = 0; i < n; i++) {
		assert_same_json(in[i], out[i]);
		assert_int_equal(in[i]->id, out[i]->id);
		assert_int_equal(in[i]->time_ns, out[i]->time_ns);
		assert_non_null(out[i]->src);
		assert_non_null(out[i]->dst);
		weir_flow_record_put(in[i]);
		weir_flow_record_put(out[i]);
	}
	free(in);
	free(out);
	weir_json_buf_release(&b);
}

static void random_records_read_back_the_same(void **state)
{
	struct weir_compact_encoder *e;
	struct weir_compact_decoder *d;
	size_t defs = 0;

	(void)state;
	assert_int_equal(weir_compact_encoder_new(&e, 0, 0), 0);
	assert_int_equal(weir_compact_decoder_new(&d), 0);
	round_trip(e, d, RECORDS, true, &defs, NULL);
	printf("# %d records, %zu other lines\n", RECORDS, defs);
	weir_compact_decoder_free(d);
	weir_compact_encoder_free(e);
}

/* The bench's kind of record: a pod-to-pod TCP flow, line well under 250 bytes. */
static struct weir_flow_record *pod_record(unsigned int i, const char *node)
{
	struct weir_flow_record *r = weir_flow_record_new();
	struct weir_endpoint *ep[2];
	char s[64];
	int k;

	assert_non_null(r);
	for (k = 0; k < 2; k++) {
		ep[k] = weir_endpoint_new(WEIR_IDENTITY_POD);
		assert_non_null(ep[k]);
		snprintf(s, sizeof(s), "pod-%04u", (i + (unsigned int)k) % 100);
		ep[k]->namespace = strdup("default");
		ep[k]->pod_name = strdup(s);
		ep[k]->labels = calloc(1, sizeof(char *));
		ep[k]->labels[0] = strdup("k8s:app=web");
		ep[k]->n_labels = 1;
	}
	r->src = ep[0];
	r->dst = ep[1];
	r->id = 1000000 + i;
	r->time_ns = 1785924738123456789ULL + i;
	r->first_seen_ns = r->time_ns - 2000000;
	r->last_seen_ns = r->time_ns;
	r->type = WEIR_RECORD_UPDATE;
	r->end_reason = WEIR_END_ACTIVE;
	r->family = 4;
	r->proto = IPPROTO_TCP;
	memcpy(r->saddr, (uint8_t[]){ 10, 1, 2, 3 }, 4);
	memcpy(r->daddr, (uint8_t[]){ 10, 1, 9, 200 }, 4);
	r->sport = 43512;
	r->dport = 443;
	r->ifindex = 1234;
	snprintf(r->ifname, sizeof(r->ifname), "lxc%04u", i % 100);
	r->dir = WEIR_DIR_EGRESS;
	r->hook = WEIR_HOOK_TC;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->is_reply = WEIR_REPLY_NO;
	r->tcp_flags = WEIR_TCP_SYN | WEIR_TCP_ACK;
	r->packets = 12345;
	r->bytes = 9876543;
	r->reply_packets = 2345;
	r->reply_bytes = 876543;
	r->node_name = strdup(node);
	return r;
}

static void dictionary_is_reused_and_reset_when_full(void **state)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	struct weir_compact_encoder *e;
	struct weir_compact_decoder *d;
	struct weir_flow_record *r, *out[4] = { 0 };
	size_t defs = 0, resets = 0, len, i, commas;

	(void)state;
	assert_int_equal(weir_compact_encoder_new(&e, 0, 0), 0);
	assert_int_equal(weir_compact_decoder_new(&d), 0);
	/* first time: definitions; the same again: the record line alone */
	assert_int_equal(weir_compact_write_header(&b), 0);
	r = pod_record(1, "node-a");
	assert_int_equal(weir_compact_write_record(e, r, &b), 0);
	len = b.len;
	assert_int_equal(weir_compact_write_record(e, r, &b), 0);
	assert_ptr_equal(memchr(b.data + len, '\n', b.len - len), b.data + b.len - 1);
	printf("# a pod-to-pod record line: %zu bytes: %.*s", b.len - len, (int)(b.len - len),
	       b.data + len);
	assert_true(b.len - len < 200);
	/* every field but the tail's, none twice */
	for (i = len, commas = 0; i < b.len; i++)
		commas += b.data[i] == ',';
	assert_int_equal(commas + 1, WEIR_COMPACT_N_FIELDS - WEIR_COMPACT_TAIL);
	/* a copy of its endpoints (other objects, same content): no new definitions */
	weir_flow_record_put(r);
	r = pod_record(1, "node-a");
	len = b.len;
	assert_int_equal(weir_compact_write_record(e, r, &b), 0);
	assert_ptr_equal(memchr(b.data + len, '\n', b.len - len), b.data + b.len - 1);
	weir_flow_record_put(r);
	assert_int_equal(read_all(d, b.data, b.len, out, 4, &defs, &resets), 3);
	assert_int_equal(defs, 1 + 2 + 2); /* the header, node and ifname, two endpoints */
	if (!out[0] || !out[1] || !out[2]) {
		fail();
		return;
	}
	assert_ptr_equal(out[0]->src, out[1]->src);
	assert_ptr_equal(out[1]->src, out[2]->src);
	assert_string_equal(out[2]->node_name, "node-a");
	for (i = 0; i < 3; i++)
		weir_flow_record_put(out[i]);
	weir_compact_encoder_free(e);

	/* a small dictionary: resets, and the reader follows them */
	assert_int_equal(weir_compact_encoder_new(&e, 3, 5), 0);
	defs = 0;
	weir_compact_decoder_reset(d);
	round_trip(e, d, 3000, true, &defs, &resets);
	printf("# %zu resets\n", resets);
	assert_true(resets > 100);
	weir_compact_encoder_free(e);
	weir_compact_decoder_free(d);
	weir_json_buf_release(&b);
}

/* r's stream on its own (the header, its definitions, its line), one line of
 * it mutated, the lines before it read as they are: never a crash, and a
 * record only if whole.
 */
static void mutate_any_line(struct weir_compact_decoder *d, const struct weir_flow_record *r,
			    int *defs)
{
	struct weir_json_buf t = WEIR_JSON_BUF_INIT;
	struct weir_compact_encoder *e;
	struct weir_flow_record *g;
	const char *p, *nl, *end;
	size_t n, lines = 0, pick;
	char buf[8192], err[ERR_LEN];

	assert_int_equal(weir_compact_encoder_new(&e, 2, 3), 0);
	assert_int_equal(weir_compact_write_header(&t), 0);
	assert_int_equal(weir_compact_write_record(e, r, &t), 0);
	weir_compact_encoder_free(e);
	end = t.data + t.len;
	for (p = t.data; p < end; p++)
		lines += *p == '\n';
	if (!lines) {
		fail();
		return;
	}
	pick = rnd_below(lines);
	weir_compact_decoder_reset(d);
	for (p = t.data; pick; pick--, p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		assert_int_equal(
			weir_compact_decode_line(d, p, (size_t)(nl - p), &g, err, sizeof(err)),
			WEIR_COMPACT_LINE_DEF);
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	n = (size_t)(nl - p);
	if (n <= sizeof(buf) / 2) {
		memcpy(buf, p, n);
		n = random_mutate(buf, n, sizeof(buf));
		switch (weir_compact_decode_line(d, buf, n, &g, err, sizeof(err))) {
		case WEIR_COMPACT_LINE_RECORD:
			assert_non_null(g->src);
			assert_non_null(g->dst);
			free(json_of(g));
			weir_flow_record_put(g);
			break;
		case WEIR_COMPACT_LINE_DEF:
			*defs += 1;
			break;
		default:
			break;
		}
	}
	weir_json_buf_release(&t);
}

static void mutated_lines_are_refused_or_whole(void **state)
{
	struct weir_json_buf b = WEIR_JSON_BUF_INIT;
	struct weir_compact_encoder *e;
	struct weir_compact_decoder *d, *d2;
	int i, taken = 0, refused = 0, defs = 0;
	char buf[8192], err[ERR_LEN];

	(void)state;
	assert_int_equal(weir_compact_encoder_new(&e, 0, 0), 0);
	assert_int_equal(weir_compact_decoder_new(&d), 0);
	assert_int_equal(weir_compact_decoder_new(&d2), 0);
	assert_int_equal(weir_compact_write_header(&b), 0);
	for (i = 0; i < MUTATIONS; i++) {
		struct weir_flow_record *r = publishable(), *g;
		const char *p, *nl;
		size_t n;

		weir_json_buf_reset(&b);
		if (!i)
			assert_int_equal(weir_compact_write_header(&b), 0);
		assert_int_equal(weir_compact_write_record(e, r, &b), 0);
		mutate_any_line(d2, r, &defs);
		weir_flow_record_put(r);
		/* the definitions as they are, the last line (the record) mutated */
		for (p = b.data; (nl = memchr(p, '\n', b.len - (size_t)(p - b.data))) &&
				 nl + 1 < b.data + b.len;
		     p = nl + 1)
			assert_int_equal(weir_compact_decode_line(d, p, (size_t)(nl - p), &g, err,
								  sizeof(err)),
					 WEIR_COMPACT_LINE_DEF);
		n = (size_t)(b.data + b.len - 1 - p);
		if (n > sizeof(buf) / 2)
			continue;
		memcpy(buf, p, n);
		n = random_mutate(buf, n, sizeof(buf));
		if (i % 2)
			n = random_mutate(buf, n, sizeof(buf));
		switch (weir_compact_decode_line(d, buf, n, &g, err, sizeof(err))) {
		case WEIR_COMPACT_LINE_RECORD: {
			char *text;

			/* whole: endpoints set, writes JSON */
			assert_non_null(g->src);
			assert_non_null(g->dst);
			text = json_of(g);
			free(text);
			weir_flow_record_put(g);
			taken++;
			break;
		}
		case WEIR_COMPACT_LINE_BAD:
			assert_true(err[0] != '\0');
			refused++;
			break;
		default:
			/* a mutation that made a definition, a reset or an object: fine */
			break;
		}
	}
	printf("# %d mutated record lines decoded to whole records, %d refused; %d mutated lines "
	       "of any kind taken as definitions\n",
	       taken, refused, defs);
	assert_true(taken > 0 && refused > MUTATIONS / 4 && defs > 0);
	weir_compact_decoder_free(d);
	weir_compact_decoder_free(d2);
	weir_compact_encoder_free(e);
	weir_json_buf_release(&b);
}

static enum weir_compact_line one(struct weir_compact_decoder *d, const char *line)
{
	struct weir_flow_record *r = NULL;
	enum weir_compact_line k;
	char err[ERR_LEN] = "";

	k = weir_compact_decode_line(d, line, strlen(line), &r, err, sizeof(err));
	if (k == WEIR_COMPACT_LINE_RECORD)
		weir_flow_record_put(r);
	else
		assert_null(r);
	if (k == WEIR_COMPACT_LINE_BAD)
		assert_true(err[0] != '\0');
	return k;
}

#define REC_HEAD "[1785924738123456789,7,1,2,1,0,4,6,\"10.0.0.1\",\"10.0.0.2\",1,2,0,0,0,3,"
#define REC_MID	 ",1,2,0,0,1,18,1,2,3,4,"

static void undefined_ids_and_out_of_order_lines_are_refused(void **state)
{
	struct weir_compact_decoder *d;

	(void)state;
	assert_int_equal(weir_compact_decoder_new(&d), 0);
	/* nothing before the header */
	assert_int_equal(one(d, "[\"str\",0,\"node-a\"]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "null,0,0]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, "{\"format\":\"compact\",\"version\":2}"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, "{\"format\":\"compact\",\"version\":1}"), WEIR_COMPACT_LINE_DEF);
	/* no endpoint defined yet */
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "null,0,0]"), WEIR_COMPACT_LINE_BAD);
	/* IDs in order only */
	assert_int_equal(one(d, "[\"str\",1,\"node-a\"]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, "[\"str\",0,\"node-a\"]"), WEIR_COMPACT_LINE_DEF);
	assert_int_equal(one(d, "[\"ep\",1,2,\"ns\",\"pod\",[],null,null,null]"),
			 WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, "[\"ep\",0,2,\"ns\",\"pod\",[\"k8s:a=b\"],null,null,null]"),
			 WEIR_COMPACT_LINE_DEF);
	assert_int_equal(one(d, "[\"ep\",1,0,null,null,[],null,null,null]"), WEIR_COMPACT_LINE_DEF);
	assert_int_equal(one(d, "[\"ep\",2,3,null,null,[],null,null,null]"),
			 WEIR_COMPACT_LINE_BAD); /* no such identity */
	assert_int_equal(one(d, "[\"ep\",2,0,1,null,[],null,null,null]"), WEIR_COMPACT_LINE_BAD);
	/* good, then each ID one past what is defined */
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,0,1]"), WEIR_COMPACT_LINE_RECORD);
	assert_int_equal(one(d, REC_HEAD "0" REC_MID "0,0,1,0,\"10.0.0.3\",80]"),
			 WEIR_COMPACT_LINE_RECORD);
	assert_int_equal(one(d, REC_HEAD "1" REC_MID "0,0,1]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "1,0,1]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,2,1]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,0,2]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,0,1,1,\"10.0.0.3\",80]"),
			 WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,0,99999999999999999999]"),
			 WEIR_COMPACT_LINE_BAD);
	/* whitespace, a partial tail, an extra field, a leading zero, a wrong family */
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0, 0,1]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,0,1,0]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,0,1,0,\"10.0.0.3\",80,1]"),
			 WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,0,01]"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "0,0,1,0,\"fd00::1\",80]"),
			 WEIR_COMPACT_LINE_BAD);
	/* a reset forgets everything */
	assert_int_equal(one(d, "[\"reset\"]"), WEIR_COMPACT_LINE_DEF);
	assert_int_equal(one(d, REC_HEAD "null" REC_MID "null,0,0]"), WEIR_COMPACT_LINE_BAD);
	/* other objects are the caller's (lost_events, node_status) */
	assert_int_equal(one(d, "{\"lost_events\":{\"num_events_lost\":3}}"),
			 WEIR_COMPACT_LINE_OTHER);
	assert_int_equal(one(d, "garbage"), WEIR_COMPACT_LINE_BAD);
	assert_int_equal(one(d, ""), WEIR_COMPACT_LINE_BAD);
	/* a new stream starts over: the header again first */
	weir_compact_decoder_reset(d);
	assert_int_equal(one(d, "[\"reset\"]"), WEIR_COMPACT_LINE_BAD);
	weir_compact_decoder_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_records_read_back_the_same),
		cmocka_unit_test(dictionary_is_reused_and_reset_when_full),
		cmocka_unit_test(mutated_lines_are_refused_or_whole),
		cmocka_unit_test(undefined_ids_and_out_of_order_lines_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
