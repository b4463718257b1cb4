// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* /v1/flows on the relay: the ring, and the history when a request's time
 * bounds reach before the ring's oldest record.
 *
 * The history holds every record the ring got (and the ones it lost), so a
 * request that reaches past the ring is answered from the history, after the
 * writer committed what was queued, united with the ring's answer read after
 * it: a record in both (the same node, id and time) is the ring's, so a
 * follow stream's catch-up recognises it, and one the history failed to
 * store still comes from the ring. No duplicates at the seam, time order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "history.h"
#include "history_flows.h"
#include "log.h"
#include "store.h"

#define FLUSH_TIMEOUT_MS 5000

struct item {
	struct weir_flow_record *r;
	size_t rank; /* order among records of the same time */
};

static int key_cmp(const struct weir_flow_record *a, const struct weir_flow_record *b)
{
	int c;

	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	c = strcmp(a->node_name ? a->node_name : "", b->node_name ? b->node_name : "");
	return c;
}

static int rec_cmp(const void *a, const void *b)
{
	return key_cmp(*(struct weir_flow_record *const *)a, *(struct weir_flow_record *const *)b);
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->r->time_ns != y->r->time_ns)
		return x->r->time_ns < y->r->time_ns ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* The ring's oldest record's time, 0 when the ring is empty. */
static uint64_t ring_oldest_ns(struct weir_store *store)
{
	struct weir_flow_request q = { .number = 1, .first = true };
	struct weir_flow_record **v;
	uint64_t t = 0;
	size_t n;

	if (weir_store_query(store, &q, &v, &n))
		return 0;
	if (n) {
		t = v[0]->time_ns;
		weir_flow_record_put(v[0]);
	}
	free(v);
	return t;
}

static bool reaches_history(struct weir_store *store, const struct weir_flow_request *req)
{
	uint64_t oldest;

	/* only time-bounded requests: a plain "last N" is the ring's */
	if (!req->since_ns && !req->until_ns)
		return false;
	oldest = ring_oldest_ns(store);
	return !oldest || (req->since_ns && req->since_ns < oldest) ||
	       (req->until_ns && req->until_ns < oldest);
}

static void put_all(struct weir_flow_record **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		weir_flow_record_put(v[i]);
	free(v);
}

int weir_relay_flows_more(struct weir_store *store, struct weir_history *h,
			  const struct weir_flow_request *req, struct weir_flow_record ***recs,
			  size_t *n)
{
	struct weir_flow_record **hist = NULL, **ring = NULL, **sorted = NULL, **hsorted = NULL;
	struct weir_flow_record **res;
	size_t n_hist = 0, n_ring = 0, i, k = 0, skip = 0, keep;
	struct item *items = NULL;
	bool truncated;
	int err;

	if (!h || !reaches_history(store, req))
		return 0;
	err = weir_history_flush(h, FLUSH_TIMEOUT_MS);
	if (err)
		log_warn("history: flush before a query: %s; newest records may be missing",
			 strerror(-err));
	err = weir_history_query(h, req, 0, &hist, &n_hist, &truncated);
	if (err) {
		/* the ring's answer stands; the history's error is in /v1/status */
		log_warn("history: query: %s; answering from the ring", strerror(-err));
		return 0;
	}
	if (truncated)
		log_warn("history: answer cut at the query limit records=%zu", n_hist);
	err = weir_store_query(store, req, &ring, &n_ring);
	if (err)
		goto out;
	sorted = malloc((n_ring ? n_ring : 1) * sizeof(void *));
	hsorted = malloc((n_hist ? n_hist : 1) * sizeof(void *));
	items = malloc((n_hist + n_ring + 1) * sizeof(*items));
	if (!sorted || !hsorted || !items) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(sorted, ring, n_ring * sizeof(void *));
	qsort(sorted, n_ring, sizeof(void *), rec_cmp);
	memcpy(hsorted, hist, n_hist * sizeof(void *));
	qsort(hsorted, n_hist, sizeof(void *), rec_cmp);
	for (i = 0; i < n_hist; i++) {
		struct weir_flow_record **same =
			bsearch(&hist[i], sorted, n_ring, sizeof(void *), rec_cmp);

		/* the ring's own record, so follow streams recognise it */
		items[k].r = same ? *same : hist[i];
		items[k++].rank = i;
	}
	/* ring records the history lacks (not stored, or newer than the flush) */
	for (i = 0; i < n_ring; i++) {
		struct weir_flow_record **same =
			bsearch(&ring[i], hsorted, n_hist, sizeof(void *), rec_cmp);

		if (same)
			continue;
		items[k].r = ring[i];
		items[k++].rank = n_hist + i;
	}
	qsort(items, k, sizeof(*items), item_cmp);
	keep = req->number && k > req->number ? (size_t)req->number : k;
	skip = req->first ? 0 : k - keep;
	res = malloc((keep ? keep : 1) * sizeof(void *));
	if (!res) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < keep; i++)
		res[i] = weir_flow_record_get(items[skip + i].r);
	put_all(*recs, *n);
	*recs = res;
	*n = keep;
out:
	free(items);
	free(sorted);
	free(hsorted);
	put_all(hist, n_hist);
	put_all(ring, n_ring);
	return err;
}
