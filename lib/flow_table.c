// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading the whole flow table (see flow_table.h).
 *
 * A batch lookup takes each bucket's lock and copies each bucket to user
 * space on its own; the iterator walks the buckets under RCU and fills a
 * kernel buffer of many entries per copy. On a table of 1M flows the
 * iterator's read costs a little over half of the batch lookups' (bench/agent
 * prints both).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "flow_dump.skel.h"
#include "flow_table.h"
#include "log.h"

/* A batch lookup returns whole buckets, and fails (ENOSPC) on a bucket of
 * more entries than it may return: it asks for at least this many.
 */
#define LOOKUP_BATCH_MIN 256

struct weir_flow_table {
	int flows_fd;
	size_t batch;		    /* entries handed out at a time */
	size_t cap;		    /* entries buf holds */
	struct flow_dump_bpf *skel; /* NULL: batch lookups */
	struct bpf_link *link;
	struct weir_flow_entry *buf; /* batch entries */
	struct weir_flow_key *keys;  /* batch lookups' keys and values */
	struct weir_flow_value *vals;
};

static int iterator_open(struct weir_flow_table *t)
{
	union bpf_iter_link_info info = { .map.map_fd = (__u32)t->flows_fd };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &info, .link_info_len = sizeof(info));
	int err;

	t->skel = flow_dump_bpf__open_and_load();
	if (!t->skel)
		return -errno;
	t->link = bpf_program__attach_iter(t->skel->progs.weir_flow_dump, &opts);
	if (!t->link) {
		err = -errno;
		flow_dump_bpf__destroy(t->skel);
		t->skel = NULL;
		return err;
	}
	return 0;
}

int weir_flow_table_open(struct weir_flow_table **out, int flows_fd, size_t batch,
			 enum weir_flow_table_method method)
{
	struct weir_flow_table *t;
	int err;

	if (flows_fd < 0 || !batch)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->flows_fd = flows_fd;
	t->batch = batch;
	if (method != WEIR_FLOW_TABLE_BATCH) {
		err = iterator_open(t);
		if (err && method == WEIR_FLOW_TABLE_ITERATOR) {
			log_err("flow table: its iterator: %s", strerror(-err));
			goto fail;
		}
		if (err)
			log_info("flow table: no BPF iterator (%s): reading it with batch lookups",
				 strerror(-err));
	}
	t->cap = t->skel || batch >= LOOKUP_BATCH_MIN ? batch : LOOKUP_BATCH_MIN;
	t->buf = calloc(t->cap, sizeof(*t->buf));
	if (!t->skel) {
		t->keys = calloc(t->cap, sizeof(*t->keys));
		t->vals = calloc(t->cap, sizeof(*t->vals));
	}
	if (!t->buf || (!t->skel && (!t->keys || !t->vals))) {
		err = -ENOMEM;
		goto fail;
	}
	*out = t;
	return 0;
fail:
	weir_flow_table_close(t);
	return err;
}

void weir_flow_table_close(struct weir_flow_table *t)
{
	if (!t)
		return;
	bpf_link__destroy(t->link);
	flow_dump_bpf__destroy(t->skel);
	free(t->buf);
	free(t->keys);
	free(t->vals);
	free(t);
}

const char *weir_flow_table_method_name(const struct weir_flow_table *t)
{
	return t->skel ? "iterator" : "batch";
}

/* The iterator's file, read into buf until it is full or the table ends. A
 * read returns whole entries in practice; a part of one is kept for the next.
 */
static long long read_iterator(struct weir_flow_table *t, weir_flow_entries_fn fn, void *ctx)
{
	size_t cap = t->cap * sizeof(*t->buf), len = 0, whole;
	uint8_t *buf = (uint8_t *)t->buf;
	long long total = 0;
	bool end = false;
	ssize_t n;
	int fd;

	fd = bpf_iter_create(bpf_link__fd(t->link));
	if (fd < 0) {
		log_err("flow table: iterator: %s", strerror(errno));
		return -errno;
	}
	while (!end) {
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			log_err("flow table: read iterator: %s", strerror(errno));
			close(fd);
			return n;
		}
		end = n == 0;
		len += (size_t)n;
		if (len < cap && !end)
			continue;
		whole = len / sizeof(*t->buf);
		if (whole)
			fn(ctx, t->buf, whole);
		total += (long long)whole;
		len -= whole * sizeof(*t->buf);
		memmove(buf, buf + whole * sizeof(*t->buf), len);
	}
	close(fd);
	if (len) {
		log_err("flow table: iterator ended inside an entry (%zu bytes)", len);
		return -EPROTO;
	}
	return total;
}

static long long read_batch(struct weir_flow_table *t, weir_flow_entries_fn fn, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct weir_flow_key out_batch;
	long long total = 0;
	void *in = NULL;
	__u32 count, i, n;
	int err;

	do {
		count = (__u32)t->cap;
		err = bpf_map_lookup_batch(t->flows_fd, in, &out_batch, t->keys, t->vals, &count,
					   &opts);
		if (err && errno != ENOENT) {
			err = -errno;
			log_err("flow table: batch lookup: %s", strerror(-err));
			return err;
		}
		for (i = 0; i < count; i++) {
			t->buf[i].key = t->keys[i];
			t->buf[i].value = t->vals[i];
		}
		for (i = 0; i < count; i += n) {
			n = count - i < t->batch ? count - i : (__u32)t->batch;
			fn(ctx, t->buf + i, n);
		}
		total += count;
		in = &out_batch;
	} while (!err);
	return total;
}

long long weir_flow_table_read(struct weir_flow_table *t, weir_flow_entries_fn fn, void *ctx)
{
	return t->skel ? read_iterator(t, fn, ctx) : read_batch(t, fn, ctx);
}
