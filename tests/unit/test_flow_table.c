// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading the whole flow table (lib/flow_table.c) through the kernel: its
 * iterator and batch lookups each hand out every entry once, with its value,
 * whatever the reader's batch; an empty table reads as nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <cmocka.h>
#include <weir/abi.h>
#include "flow_table.h"

#define TABLE_MAX 4096
#define ENTRIES	  1000

struct seen {
	unsigned int count[ENTRIES];
	size_t calls, most;
	bool bad_value;
};

static int table_new(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "t_flows", sizeof(struct weir_flow_key),
				sizeof(struct weir_flow_value), TABLE_MAX, NULL);

	assert_true(fd >= 0);
	return fd;
}

static void key_of(__u32 i, struct weir_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->saddr[0] = i;
	k->daddr[0] = ~i;
	k->sport = (__be16)(i & 0xffff);
	k->family = 4;
	k->proto = 6;
}

static void table_fill(int fd, __u64 packets_base)
{
	struct weir_flow_value v;
	struct weir_flow_key k;
	__u32 i;

	for (i = 0; i < ENTRIES; i++) {
		key_of(i, &k);
		memset(&v, 0, sizeof(v));
		v.packets = packets_base + i;
		v.bytes = (packets_base + i) * 100;
		v.tcp_flags = WEIR_TCP_SYN;
		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	}
}

static __u64 packets_base;

static const enum weir_flow_table_method methods[] = { WEIR_FLOW_TABLE_ITERATOR,
						       WEIR_FLOW_TABLE_BATCH };

static void count_entries(void *ctx, const struct weir_flow_entry *e, size_t n)
{
	struct seen *s = ctx;
	size_t j;

	s->calls++;
	if (n > s->most)
		s->most = n;
	for (j = 0; j < n; j++) {
		__u32 i = e[j].key.saddr[0];
		struct weir_flow_key k;

		key_of(i, &k);
		if (i >= ENTRIES || memcmp(&k, &e[j].key, sizeof(k)) != 0 ||
		    e[j].value.packets != packets_base + i ||
		    e[j].value.bytes != (packets_base + i) * 100 ||
		    e[j].value.tcp_flags != WEIR_TCP_SYN) {
			s->bad_value = true;
			continue;
		}
		s->count[i]++;
	}
}

static void read_checked(int fd, enum weir_flow_table_method method, size_t batch)
{
	struct weir_flow_table *t;
	struct seen *s = calloc(1, sizeof(*s));
	size_t i;

	assert_non_null(s);
	assert_int_equal(weir_flow_table_open(&t, fd, batch, method), 0);
	assert_string_equal(weir_flow_table_method_name(t),
			    method == WEIR_FLOW_TABLE_BATCH ? "batch" : "iterator");
	assert_int_equal(weir_flow_table_read(t, count_entries, s), ENTRIES);
	assert_false(s->bad_value);
	for (i = 0; i < ENTRIES; i++)
		assert_int_equal(s->count[i], 1);
	/* handed out batch at a time, never more */
	assert_true(s->most <= batch);
	assert_true(s->calls >= (ENTRIES + batch - 1) / batch);
	weir_flow_table_close(t);
	free(s);
}

static void every_entry_once_whatever_the_batch(void **state)
{
	static const size_t batches[] = { 1, 7, 64, 4096 };
	int fd = table_new();
	size_t b, m;

	(void)state;
	packets_base = 10;
	table_fill(fd, packets_base);
	for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
		for (b = 0; b < sizeof(batches) / sizeof(batches[0]); b++)
			read_checked(fd, methods[m], batches[b]);
	close(fd);
}

/* A reader reads the table anew each time: values written between two reads
 * show in the second.
 */
static void each_read_sees_the_table_now(void **state)
{
	int fd = table_new();
	struct weir_flow_table *t;
	struct seen *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	packets_base = 1;
	table_fill(fd, packets_base);
	assert_int_equal(weir_flow_table_open(&t, fd, 256, WEIR_FLOW_TABLE_AUTO), 0);
	assert_int_equal(weir_flow_table_read(t, count_entries, s), ENTRIES);
	assert_false(s->bad_value);
	packets_base = 5000;
	table_fill(fd, packets_base);
	memset(s, 0, sizeof(*s));
	assert_int_equal(weir_flow_table_read(t, count_entries, s), ENTRIES);
	assert_false(s->bad_value);
	assert_int_equal(s->count[ENTRIES - 1], 1);
	weir_flow_table_close(t);
	free(s);
	close(fd);
}

static void never_called(void *ctx, const struct weir_flow_entry *e, size_t n)
{
	(void)ctx;
	(void)e;
	(void)n;
	fail_msg("an empty table handed out entries");
}

static void empty_table_reads_nothing(void **state)
{
	int fd = table_new();
	struct weir_flow_table *t;
	size_t m;

	(void)state;
	for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
		assert_int_equal(weir_flow_table_open(&t, fd, 16, methods[m]), 0);
		assert_int_equal(weir_flow_table_read(t, never_called, NULL), 0);
		weir_flow_table_close(t);
	}
	close(fd);
}

/* The kernels Weir runs on (6.x, BTF) have map iterators: the default. */
static void the_iterator_is_the_default(void **state)
{
	int fd = table_new();
	struct weir_flow_table *t;

	(void)state;
	assert_int_equal(weir_flow_table_open(&t, fd, 16, WEIR_FLOW_TABLE_AUTO), 0);
	assert_string_equal(weir_flow_table_method_name(t), "iterator");
	weir_flow_table_close(t);
	close(fd);
}

static void bad_arguments_are_refused(void **state)
{
	struct weir_flow_table *t = NULL;
	int fd = table_new(), not_a_map = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_int_equal(weir_flow_table_open(&t, -1, 16, WEIR_FLOW_TABLE_AUTO), -EINVAL);
	assert_int_equal(weir_flow_table_open(&t, fd, 0, WEIR_FLOW_TABLE_AUTO), -EINVAL);
	/* the iterator cannot attach to what is not a map */
	assert_true(not_a_map >= 0);
	assert_true(weir_flow_table_open(&t, not_a_map, 16, WEIR_FLOW_TABLE_ITERATOR) < 0);
	assert_null(t);
	close(not_a_map);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_entry_once_whatever_the_batch),
		cmocka_unit_test(each_read_sees_the_table_now),
		cmocka_unit_test(empty_table_reads_nothing),
		cmocka_unit_test(the_iterator_is_the_default),
		cmocka_unit_test(bad_arguments_are_refused),
	};

	return cmocka_run_group_tests_name("flow_table", tests, NULL, NULL);
}
