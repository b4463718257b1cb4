// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's own status, gathered from its parts. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <weir/abi.h>
#include "agent.h"
#include "datapath.h"
#include "endpoints.h"
#include "store.h"
#include "weir.skel.h"

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t rss_bytes(void)
{
	char buf[128], *p, *end;
	unsigned long resident;
	FILE *f = fopen("/proc/self/statm", "r");
	bool ok;

	if (!f)
		return 0;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return 0;
	p = strchr(buf, ' '); /* size, then resident, in pages */
	if (!p)
		return 0;
	errno = 0;
	resident = strtoul(p + 1, &end, 10);
	if (errno || end == p + 1)
		return 0;
	return (uint64_t)resident * sysconf(_SC_PAGESIZE);
}

void weir_agent_status(struct weir_agent *a, struct weir_agent_status *st)
{
	__u64 counters[WEIR_CNT_MAX];
	struct weir_store_stats ss;

	memset(st, 0, sizeof(*st));
	st->uptime_ns = realtime_ns() - a->start_realtime_ns;
	weir_store_stats(a->store, &ss);
	st->seen_flows = ss.seen_flows;
	st->num_flows = ss.num_flows;
	st->max_flows = ss.max_flows;
	st->follower_lost = ss.follower_lost;
	if (!weir_datapath_read_counters(a->dp, counters)) {
		st->lost_events = counters[WEIR_CNT_LOST_EVENTS];
		st->flow_insert_failed = counters[WEIR_CNT_FLOW_INSERT_FAILED];
	}
	st->flow_table_max = bpf_map__max_entries(weir_datapath_skel(a->dp)->maps.weir_flows);

	pthread_mutex_lock(&a->stats_lock);
	st->flow_table_entries = a->assembler_stats.table_entries;
	st->flow_evictions = a->assembler_stats.evictions;
	st->active_flows = a->assembler_stats.active_flows;
	pthread_mutex_unlock(&a->stats_lock);

	st->endpoints = weir_endpoints_count(a->endpoints);
	st->rss_bytes = rss_bytes();
}
