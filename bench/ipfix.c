// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* bench/ipfix: what IPFIX export costs, through the real code (lib/ipfix,
 * lib/flow_delta, agent/ipfix_export; nothing stubbed):
 *
 *   encode    update records of 200k conversations (10% IPv6, pods at both
 *             ends) through the delta tracker into IPFIX messages of 1452
 *             bytes: records/s of one core;
 *   json      the same records as flow-log lines (weir_flow_record_to_json,
 *             json_dumps): the same-run reference;
 *   floor     the same records added to a store and taken by a follower
 *             thread that does nothing else: what the exporter cannot beat;
 *   exporter  the records added to a store that the real exporter follows
 *             and sends over UDP to a socket on loopback, read by a thread
 *             that counts what arrives: records/s from the first add to the
 *             last send, and what the collector got.
 *
 * Times are the CPU time of the calling thread for encode and json, wall time
 * for the exporter (it has its own thread). 5 rounds, interleaved; medians.
 * A target missed prints MISS; a record lost on loopback or a wrong count
 * makes the exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <jansson.h>
#include "common.h"
#include "flow.h"
#include "flow_delta.h"
#include "ipfix.h"
#include "ipfix_export.h"
#include "log.h"
#include "store.h"

#define N_RECORDS	200000
#define N_JSON		20000 /* the reference is slow: fewer records */
#define ROUNDS		5
#define NS_PER_S	1000000000ULL
#define TARGET_ENCODE	2000000.0 /* records/s, one core */
#define TARGET_EXPORTER 500000.0  /* records/s through the store, UDP on loopback */

static struct weir_endpoint *pod(unsigned int i)
{
	struct weir_endpoint *ep = weir_endpoint_new(WEIR_IDENTITY_POD);
	char name[64];

	if (!ep)
		return NULL;
	snprintf(name, sizeof(name), "frontend-7d9c8b6f5-%05u", i);
	ep->namespace = strdup("shop");
	ep->pod_name = strdup(name);
	return ep;
}

/* Conversation i's update record: 10 packets more each time (gen). */
static struct weir_flow_record *record(unsigned int i, unsigned int gen,
				       struct weir_endpoint **pods)
{
	struct weir_flow_record *r = weir_flow_record_new();

	if (!r)
		return NULL;
	r->id = (uint64_t)gen * N_RECORDS + i;
	r->time_ns = 1700000000ULL * NS_PER_S;
	r->type = WEIR_RECORD_UPDATE;
	r->end_reason = WEIR_END_ACTIVE;
	r->family = i % 10 ? 4 : 6;
	r->proto = IPPROTO_TCP;
	if (r->family == 4) {
		r->saddr[0] = 10;
		r->saddr[1] = 1;
		r->saddr[2] = i >> 8;
		r->saddr[3] = i;
		r->daddr[0] = 10;
		r->daddr[1] = 2;
		r->daddr[3] = 1;
	} else {
		r->saddr[0] = 0xfd;
		memcpy(r->saddr + 12, &i, sizeof(i));
		r->daddr[0] = 0xfd;
		r->daddr[15] = 1;
	}
	r->sport = 10000 + i % 50000;
	r->dport = 443;
	r->ifindex = 7;
	r->tcp_flags = 0x18;
	r->verdict = WEIR_VERDICT_FORWARDED;
	r->packets = 10ULL * (gen + 1);
	r->bytes = r->packets * 900;
	r->reply_packets = 8ULL * (gen + 1);
	r->reply_bytes = r->reply_packets * 120;
	r->first_seen_ns = r->time_ns - 10 * NS_PER_S;
	r->last_seen_ns = r->time_ns;
	r->node_name = strdup("bench-node");
	r->src = weir_endpoint_get(pods[i % 1000]);
	r->dst = weir_endpoint_get(pods[1000]);
	if (!r->node_name) {
		weir_flow_record_put(r);
		return NULL;
	}
	return r;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return bench_ts_ns(&ts) / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return bench_ts_ns(&ts) / 1e9;
}

/* Every record through the tracker and the encoder; returns data records. */
static uint64_t encode_all(struct weir_flow_record **recs, size_t n, struct weir_flow_delta *d)
{
	uint8_t buf[WEIR_IPFIX_UDP_MSG_MAX];
	struct weir_ipfix_flow out[2];
	struct weir_flow_counts c;
	struct weir_ipfix_msg m;
	uint64_t sent = 0;
	size_t i;
	int k, j;

	weir_ipfix_msg_init(&m, buf, sizeof(buf));
	for (i = 0; i < n; i++) {
		weir_flow_delta_take(d, recs[i], 0, &c);
		k = weir_ipfix_flows_from_record(recs[i], &c, out);
		for (j = 0; j < k; j++) {
			if (weir_ipfix_add_flow(&m, &out[j]) == -ENOSPC) {
				weir_ipfix_msg_finish(&m, 1700000000, (uint32_t)sent, 1);
				sent += m.n_records;
				weir_ipfix_msg_init(&m, buf, sizeof(buf));
				weir_ipfix_add_flow(&m, &out[j]);
			}
		}
	}
	weir_ipfix_msg_finish(&m, 1700000000, (uint32_t)sent, 1);
	return sent + m.n_records;
}

static size_t json_all(struct weir_flow_record **recs, size_t n)
{
	size_t i, bytes = 0;

	for (i = 0; i < n; i++) {
		json_t *j = weir_flow_record_to_json(recs[i]);
		char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

		bytes += s ? strlen(s) + 1 : 0;
		free(s);
		json_decref(j);
	}
	return bytes;
}

/* The calling thread on any CPU, and the threads it starts after. */
static void unpin(void)
{
	cpu_set_t all;
	int i;

	CPU_ZERO(&all);
	for (i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	sched_setaffinity(0, sizeof(all), &all);
}

/* The collector: counts data records in the messages it gets. */
struct collector {
	int fd;
	uint64_t records;
	uint64_t messages;
	uint64_t seq_errors; /* a message whose sequence number is not the records before it */
	uint32_t next_seq;
	bool stop;
};

static void *collector_thread(void *arg)
{
	struct collector *c = arg;
	uint8_t buf[65536];
	struct timeval tv = { .tv_usec = 100000 };
	uint32_t seq;
	ssize_t n;

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		size_t p = 16;

		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 16)
			continue;
		__atomic_add_fetch(&c->messages, 1, __ATOMIC_RELAXED);
		seq = (uint32_t)buf[8] << 24 | buf[9] << 16 | buf[10] << 8 | buf[11];
		/* each exporter (round) starts at 0 */
		if (seq && seq != c->next_seq)
			__atomic_add_fetch(&c->seq_errors, 1, __ATOMIC_RELAXED);
		c->next_seq = seq;
		while (p + 4 <= (size_t)n) {
			unsigned int sid = buf[p] << 8 | buf[p + 1],
				     slen = buf[p + 2] << 8 | buf[p + 3];
			size_t q = p + 4, fixed = sid == 256 ? 56 : 80;

			if (slen < 4)
				break;
			while (sid >= 256 && q < p + slen) {
				q += fixed;
				for (int s = 0; s < 4 && q < (size_t)n; s++)
					q += 1 + buf[q];
				__atomic_add_fetch(&c->records, 1, __ATOMIC_RELAXED);
				c->next_seq++;
			}
			p += slen;
		}
	}
	return NULL;
}

/* The floor: a follower thread that only takes the records, batching as the exporter does. */
struct drain {
	struct weir_follower *f;
	uint64_t n;
	bool stop;
};

static void *drain_thread(void *arg)
{
	struct drain *d = arg;
	struct weir_flow_record *r;
	uint64_t lost;
	int timeout = 200;

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		if (weir_follower_next(d->f, timeout, &r, &lost)) {
			timeout = 200;
			continue;
		}
		if (timeout)
			usleep(2000);
		timeout = 0;
		weir_flow_record_put(r);
		__atomic_add_fetch(&d->n, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double drain_round(struct weir_flow_record **recs, size_t n)
{
	struct drain d = { 0 };
	struct weir_store *s;
	double t0, t1;
	pthread_t th;
	size_t i;

	if (weir_store_new(&s, 1024))
		return 0;
	if (weir_store_follow(s, NULL, n + 1, &d.f) ||
	    pthread_create(&th, NULL, drain_thread, &d)) {
		weir_store_free(s);
		return 0;
	}
	t0 = wall_s();
	for (i = 0; i < n; i++)
		weir_store_add(s, recs[i]);
	while (__atomic_load_n(&d.n, __ATOMIC_ACQUIRE) < n && wall_s() - t0 < 30)
		usleep(500);
	t1 = wall_s();
	__atomic_store_n(&d.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	weir_follower_free(d.f);
	weir_store_free(s);
	return (double)n / (t1 - t0);
}

struct exporter_run {
	double rate;
	uint64_t sent, received, lost;
};

static int exporter_round(struct weir_flow_record **recs, size_t n, int port, struct collector *c,
			  struct exporter_run *out)
{
	struct weir_ipfix_export_opts o = { .domain_id = 1, .pen = WEIR_IPFIX_PEN_DEFAULT };
	struct weir_ipfix_export_stats st;
	struct weir_ipfix_exporter *x;
	struct weir_store *s;
	char collector[32];
	uint64_t want = 0, before = __atomic_load_n(&c->records, __ATOMIC_RELAXED);
	double t0, t1;
	size_t i;
	int err;

	snprintf(collector, sizeof(collector), "127.0.0.1:%d", port);
	err = weir_store_new(&s, 1024);
	if (err)
		return err;
	o.collector = collector;
	o.queue = n + 1;
	o.store = s;
	err = weir_ipfix_export_start(&x, &o);
	if (err) {
		weir_store_free(s);
		return err;
	}
	for (i = 0; i < n; i++)
		want += 2; /* both directions have new packets */
	t0 = wall_s();
	for (i = 0; i < n; i++)
		weir_store_add(s, recs[i]);
	do {
		usleep(500);
		weir_ipfix_export_stats(x, &st);
	} while (st.records + st.dropped_records < want && wall_s() - t0 < 30);
	t1 = wall_s();
	weir_ipfix_export_stop(x);
	weir_store_free(s);
	usleep(200000); /* the collector reads the last datagrams */
	out->rate = (double)n / (t1 - t0);
	out->sent = st.records;
	out->lost = st.queue_lost + st.dropped_records;
	out->received = __atomic_load_n(&c->records, __ATOMIC_RELAXED) - before;
	return st.records == want ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	bool only_encode = argc > 1 && !strcmp(argv[1], "encode");
	struct weir_flow_record **recs[2] = { 0 };
	double enc[ROUNDS], js[ROUNDS], exp_rate[ROUNDS], floor_rate[ROUNDS];
	struct weir_endpoint *pods[1001];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct collector c = { 0 };
	struct exporter_run run = { 0 };
	uint64_t data = 0, received = 0, sent = 0;
	size_t json_bytes = 0;
	pthread_t th;
	int r, g, rcvbuf = 64 << 20, status = 0, cpu;
	unsigned int i;

	weir_log_set_level(WEIR_LOG_WARN);
	cpu = bench_pin_cpu(-2);
	unpin(); /* the collector's thread: anywhere */
	for (i = 0; i <= 1000; i++) {
		pods[i] = pod(i);
		if (!pods[i])
			return 1;
	}
	/* two generations: the second one's deltas are what a steady exporter sends */
	for (g = 0; g < 2; g++) {
		recs[g] = calloc(N_RECORDS, sizeof(struct weir_flow_record *));
		if (!recs[g])
			return 1;
		for (i = 0; i < N_RECORDS; i++) {
			recs[g][i] = record(i, (unsigned int)g, pods);
			if (!recs[g][i])
				return 1;
		}
	}
	c.fd = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (c.fd < 0 || bind(c.fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(c.fd, (struct sockaddr *)&sa, &sl) ||
	    pthread_create(&th, NULL, collector_thread, &c)) {
		perror("bench/ipfix: collector socket");
		return 1;
	}
	bench_pin_cpu(cpu);

	for (r = 0; r < ROUNDS; r++) {
		struct weir_flow_delta *d;
		double t0;

		if (weir_flow_delta_new(&d, 3600 * NS_PER_S))
			return 1;
		encode_all(recs[0], N_RECORDS, d); /* the first generation: every flow new */
		t0 = cpu_s();
		data = encode_all(recs[1], N_RECORDS, d);
		enc[r] = N_RECORDS / (cpu_s() - t0);
		weir_flow_delta_free(d);
		if (data != 2ULL * N_RECORDS) {
			fprintf(stderr, "bench/ipfix: encoded %llu data records, want %llu\n",
				(unsigned long long)data, 2ULL * N_RECORDS);
			status = 1;
		}

		if (only_encode)
			continue;
		t0 = cpu_s();
		json_bytes = json_all(recs[1], N_JSON);
		js[r] = N_JSON / (cpu_s() - t0);

		/* the exporter's and the collector's threads go where the scheduler wants */
		unpin();
		floor_rate[r] = drain_round(recs[0], N_RECORDS);
		if (exporter_round(recs[0], N_RECORDS, ntohs(sa.sin_port), &c, &run)) {
			fprintf(stderr,
				"bench/ipfix: the exporter sent %llu of %llu data records\n",
				(unsigned long long)run.sent, 2ULL * N_RECORDS);
			status = 1;
		}
		exp_rate[r] = run.rate;
		bench_pin_cpu(cpu);
		sent += run.sent;
		received += run.received;
	}
	__atomic_store_n(&c.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	close(c.fd);

	qsort(enc, ROUNDS, sizeof(double), bench_cmp_double);
	if (only_encode) {
		printf("IPFIX encode: %.0f records/s, %.0f ns/record\n", bench_median(enc, ROUNDS),
		       1e9 / bench_median(enc, ROUNDS));
		return status;
	}
	qsort(js, ROUNDS, sizeof(double), bench_cmp_double);
	qsort(exp_rate, ROUNDS, sizeof(double), bench_cmp_double);
	qsort(floor_rate, ROUNDS, sizeof(double), bench_cmp_double);
	printf("bench/ipfix: %d records a round (10%% IPv6, pods at both ends), %d rounds, "
	       "CPU %d; medians\n\n",
	       N_RECORDS, ROUNDS, cpu);
	printf("| path | records/s | ns/record | data records | target |\n|---|---|---|---|---|\n");
	printf("| IPFIX encode (delta tracker + encoder), one core | %.0f | %.0f | 2 per record "
	       "| >= %.0f: %s |\n",
	       bench_median(enc, ROUNDS), 1e9 / bench_median(enc, ROUNDS), TARGET_ENCODE,
	       bench_verdict(bench_median(enc, ROUNDS) >= TARGET_ENCODE));
	printf("| flow-log JSON line (reference), one core | %.0f | %.0f | %zu B/line | |\n",
	       bench_median(js, ROUNDS), 1e9 / bench_median(js, ROUNDS), json_bytes / N_JSON);
	printf("| store -> follower, records only taken (floor) | %.0f | %.0f | | |\n",
	       bench_median(floor_rate, ROUNDS), 1e9 / bench_median(floor_rate, ROUNDS));
	printf("| exporter: store -> follower -> UDP on loopback | %.0f | %.0f | %llu sent, %llu "
	       "received | >= %.0f: %s |\n",
	       bench_median(exp_rate, ROUNDS), 1e9 / bench_median(exp_rate, ROUNDS),
	       (unsigned long long)sent, (unsigned long long)received, TARGET_EXPORTER,
	       bench_verdict(bench_median(exp_rate, ROUNDS) >= TARGET_EXPORTER));
	printf("\nIPFIX encode is %.1fx the JSON line's rate; the exporter runs at %.2fx the "
	       "store's follower floor.\n",
	       bench_median(enc, ROUNDS) / bench_median(js, ROUNDS),
	       bench_median(exp_rate, ROUNDS) / bench_median(floor_rate, ROUNDS));
	if (c.seq_errors) {
		fprintf(stderr, "bench/ipfix: %llu messages with a wrong sequence number\n",
			(unsigned long long)c.seq_errors);
		status = 1;
	}
	if (received != sent) {
		fprintf(stderr, "bench/ipfix: the collector got %llu of %llu data records\n",
			(unsigned long long)received, (unsigned long long)sent);
		status = 1;
	}
	for (g = 0; g < 2; g++) {
		for (i = 0; i < N_RECORDS; i++)
			weir_flow_record_put(recs[g][i]);
		free(recs[g]);
	}
	for (i = 0; i <= 1000; i++)
		weir_endpoint_put(pods[i]);
	return status;
}
