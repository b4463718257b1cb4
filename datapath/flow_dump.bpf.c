// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow table read whole: a map-element iterator that writes each entry
 * of weir_flows as one struct weir_flow_entry. The agent's sweep reads the
 * iterator's file in large reads (lib/flow_table.c) instead of batch lookups,
 * which take each bucket's lock and copy each bucket out on its own.
 *
 * Not part of the datapath object: it touches no packet, needs a kernel with
 * BPF iterators and BTF, and the agent falls back to batch lookups without it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <weir/abi.h>

/* The iterator's context, as the running kernel's BTF lays it out (CO-RE). */
struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_iter__bpf_map_elem {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
	void *key;
	void *value;
} __attribute__((preserve_access_index));

SEC("iter/bpf_map_elem")
int weir_flow_dump(struct bpf_iter__bpf_map_elem *ctx)
{
	const struct weir_flow_key *key = ctx->key;
	const struct weir_flow_value *value = ctx->value;
	struct weir_flow_entry e;

	if (!key || !value) /* the end of the table */
		return 0;
	__builtin_memcpy(&e.key, key, sizeof(e.key));
	__builtin_memcpy(&e.value, value, sizeof(e.value));
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
