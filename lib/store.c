// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow store: a ring of recent records, and bounded follower queues of
 * records and notes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "store.h"

/* One lock guards the ring, the follower list and every follower's queue:
 * an add touches all of them at once, and each follower waits on its own
 * condition variable so a wakeup goes only where a record went.
 */
struct weir_follower {
	struct weir_store *s;
	const struct weir_filter_set *fs; /* borrowed; NULL matches everything */
	struct weir_flow_record **q;	  /* FIFO of references */
	size_t q_max;
	size_t q_head; /* index of the oldest queued record */
	size_t q_len;
	uint64_t lost; /* dropped from q since the last weir_follower_next() */
	char **notes;  /* FIFO of lines, WEIR_FOLLOW_NOTES_MAX long; NULL until the first */
	size_t n_head;
	size_t n_len;
	pthread_cond_t cond;
	struct weir_follower *prev;
	struct weir_follower *next;
};

/* A record in the ring, with what a query's first look reads copied next
 * to it (records never change once added): a scan runs along the ring and
 * reads a record itself only when its time and endpoints leave it possible.
 */
struct store_entry {
	struct weir_flow_record *r;
	const struct weir_endpoint *src, *dst;
	uint64_t time_ns;
};

struct weir_store {
	pthread_mutex_t lock;
	struct store_entry *ring;
	size_t cap;
	size_t head; /* index of the oldest record */
	size_t len;
	uint64_t seen;
	uint64_t gone; /* records that left the ring: their endpoints may be freed */
	uint64_t follower_lost;
	uint64_t n_followers;
	bool closed;
	struct weir_follower *followers;
};

int weir_store_new(struct weir_store **out, size_t capacity)
{
	struct weir_store *s;
	int err;

	if (!capacity)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ring = calloc(capacity, sizeof(*s->ring));
	if (!s->ring) {
		err = -ENOMEM;
		log_err("flow store: cannot allocate capacity=%zu records", capacity);
		goto err_free;
	}
	err = -pthread_mutex_init(&s->lock, NULL);
	if (err)
		goto err_free;
	s->cap = capacity;
	*out = s;
	return 0;

err_free:
	free(s->ring);
	free(s);
	return err;
}

void weir_store_free(struct weir_store *s)
{
	size_t i;

	if (!s)
		return;
	if (s->followers)
		log_err("flow store freed with followers=%llu still open",
			(unsigned long long)s->n_followers);
	for (i = 0; i < s->len; i++)
		weir_flow_record_put(s->ring[(s->head + i) % s->cap].r);
	pthread_mutex_destroy(&s->lock);
	free(s->ring);
	free(s);
}

/* Called with the store locked. A full queue loses its oldest record: the
 * follower hears of the gap, the writer never waits.
 */
static void follower_push(struct weir_follower *f, struct weir_flow_record *r)
{
	if (f->q_len == f->q_max) {
		weir_flow_record_put(f->q[f->q_head]);
		f->q[f->q_head] = weir_flow_record_get(r);
		f->q_head = (f->q_head + 1) % f->q_max;
		f->lost++;
		f->s->follower_lost++;
	} else {
		f->q[(f->q_head + f->q_len) % f->q_max] = weir_flow_record_get(r);
		f->q_len++;
	}
	pthread_cond_signal(&f->cond);
}

void weir_store_add(struct weir_store *s, struct weir_flow_record *r)
{
	struct weir_flow_record *old = NULL;
	struct weir_follower *f;
	struct store_entry *e;

	if (!r)
		return;
	weir_flow_record_get(r);
	pthread_mutex_lock(&s->lock);
	if (s->len == s->cap) {
		e = &s->ring[s->head];
		old = e->r;
		s->head = (s->head + 1) % s->cap;
		s->gone++;
	} else {
		e = &s->ring[(s->head + s->len) % s->cap];
		s->len++;
	}
	*e = (struct store_entry){ .r = r, .src = r->src, .dst = r->dst, .time_ns = r->time_ns };
	s->seen++;
	if (!s->closed) {
		for (f = s->followers; f; f = f->next)
			if (!f->fs || weir_filter_set_match(f->fs, r))
				follower_push(f, r);
	}
	pthread_mutex_unlock(&s->lock);
	/* The last reference may free: do it outside the lock. */
	if (old)
		weir_flow_record_put(old);
}

static bool in_time(const struct weir_flow_request *req, uint64_t time_ns)
{
	if (req->since_ns && time_ns < req->since_ns)
		return false;
	if (req->until_ns && time_ns > req->until_ns)
		return false;
	return true;
}

/* Records a query looks at per hold of the lock: ~0.1-0.5 ms of matching. */
#define QUERY_BATCH 4096
#define QUERY_FIRST 256 /* room for matches at first: a 1% query of a full store fits */

/* Records are scattered in the heap, a cache miss or two each: a batch's
 * candidates are fetched (the head, and the endpoints' pointers the filters
 * read) as the ring's first look finds them, and matched after it.
 */
static void record_prefetch(const struct weir_flow_record *r)
{
	__builtin_prefetch(r);
	__builtin_prefetch(&r->src);
}

/* Room for one more match in *v (grown by doubling): 0 or -ENOMEM. */
static int matches_room(struct weir_flow_record ***v, size_t k, size_t *cap)
{
	struct weir_flow_record **p;
	size_t n;

	if (k < *cap)
		return 0;
	n = *cap ? *cap * 2 : QUERY_FIRST;
	p = realloc(*v, n * sizeof(struct weir_flow_record *));
	if (!p)
		return -ENOMEM;
	memset(p + *cap, 0, (n - *cap) * sizeof(struct weir_flow_record *));
	*v = p;
	*cap = n;
	return 0;
}

int weir_store_query(struct weir_store *s, const struct weir_flow_request *req,
		     struct weir_flow_record ***out, size_t *n)
{
	struct weir_flow_record **v = NULL, **cand;
	struct weir_filter_scan *scan;
	uint64_t next, end, oldest, gone;
	size_t i, c, k = 0, cap = 0, batch, drop, n_cand, at;
	int err;

	*out = NULL;
	*n = 0;
	cand = malloc(QUERY_BATCH * sizeof(struct weir_flow_record *));
	if (!cand)
		return -ENOMEM;
	err = weir_filter_scan_new(&scan, req ? req->filters : NULL);
	if (err) {
		free(cand);
		return err;
	}
	/* Match under the lock, a batch at a time, and reference only what
	 * matches: a 1% query of pods reads the ring's entries and 1% of the
	 * records, with no atomics for the other 99%, and never holds up the
	 * assembler for long. Each batch is a first look along the ring (time
	 * and endpoints), then a match of the candidates it found. Records
	 * are numbered by when they were added (s->seen counts them), so a
	 * batch finds where the last one stopped however the ring moved;
	 * records added meanwhile are past end, those fallen out are skipped.
	 */
	pthread_mutex_lock(&s->lock);
	end = s->seen;
	next = s->seen - s->len;
	for (;;) {
		oldest = s->seen - s->len;
		if (next < oldest)
			next = oldest;
		at = (s->head + (next - oldest)) % s->cap;
		n_cand = 0;
		for (batch = 0; next < end && batch < QUERY_BATCH; next++, batch++) {
			const struct store_entry *e = &s->ring[at];

			if (++at == s->cap)
				at = 0;
			if ((!req || in_time(req, e->time_ns)) &&
			    weir_filter_scan_may_match(scan, e->src, e->dst)) {
				record_prefetch(e->r);
				cand[n_cand++] = e->r;
			}
		}
		for (c = 0; c < n_cand; c++) {
			if (!weir_filter_scan_match(scan, cand[c]))
				continue;
			err = matches_room(&v, k, &cap);
			if (err)
				break;
			v[k++] = weir_flow_record_get(cand[c]);
		}
		if (next >= end || err)
			break;
		gone = s->gone;
		pthread_mutex_unlock(&s->lock);
		pthread_mutex_lock(&s->lock);
		/* records that fell out meanwhile may have freed their endpoints */
		if (s->gone != gone)
			weir_filter_scan_forget(scan);
	}
	pthread_mutex_unlock(&s->lock);
	weir_filter_scan_free(scan);
	free(cand);
	if (!err && !v)
		err = matches_room(&v, 0, &cap); /* an empty answer is an empty array */
	if (err) {
		for (i = 0; i < k; i++)
			weir_flow_record_put(v[i]);
		free(v);
		return err;
	}

	if (req && req->number && k > req->number) {
		drop = k - req->number;
		if (req->first) {
			for (i = req->number; i < k; i++)
				weir_flow_record_put(v[i]);
		} else {
			for (i = 0; i < drop; i++)
				weir_flow_record_put(v[i]);
			memmove(v, v + drop, req->number * sizeof(void *));
		}
		k = req->number;
	}
	*out = v;
	*n = k;
	return 0;
}

void weir_store_stats(struct weir_store *s, struct weir_store_stats *st)
{
	pthread_mutex_lock(&s->lock);
	st->seen_flows = s->seen;
	st->num_flows = s->len;
	st->max_flows = s->cap;
	st->followers = s->n_followers;
	st->follower_lost = s->follower_lost;
	pthread_mutex_unlock(&s->lock);
}

int weir_store_resize(struct weir_store *s, size_t capacity)
{
	struct store_entry *ring, *old;
	size_t i, keep, n_gone, old_head, old_cap;

	if (!capacity)
		return -EINVAL;
	ring = calloc(capacity, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	keep = s->len < capacity ? s->len : capacity;
	n_gone = s->len - keep;
	for (i = 0; i < keep; i++)
		ring[i] = s->ring[(s->head + n_gone + i) % s->cap];
	old = s->ring;
	old_head = s->head;
	old_cap = s->cap;
	s->ring = ring;
	s->cap = capacity;
	s->head = 0;
	s->len = keep;
	s->gone += n_gone;
	pthread_mutex_unlock(&s->lock);
	/* The oldest that no longer fit; the last reference may free: outside the lock. */
	for (i = 0; i < n_gone; i++)
		weir_flow_record_put(old[(old_head + i) % old_cap].r);
	free(old);
	return 0;
}

int weir_store_follow(struct weir_store *s, const struct weir_filter_set *fs, size_t queue_max,
		      struct weir_follower **out)
{
	pthread_condattr_t attr;
	struct weir_follower *f;
	int err;

	if (!queue_max)
		queue_max = WEIR_FOLLOW_QUEUE_DEFAULT;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->q = calloc(queue_max, sizeof(void *));
	if (!f->q) {
		err = -ENOMEM;
		goto err_free;
	}
	f->s = s;
	f->fs = fs;
	f->q_max = queue_max;
	/* Timeouts are intervals: measure them on a clock that never jumps. */
	err = -pthread_condattr_init(&attr);
	if (err)
		goto err_free;
	err = -pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = -pthread_cond_init(&f->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (err)
		goto err_free;

	pthread_mutex_lock(&s->lock);
	if (s->closed) {
		pthread_mutex_unlock(&s->lock);
		err = -EPIPE;
		goto err_cond;
	}
	f->next = s->followers;
	if (s->followers)
		s->followers->prev = f;
	s->followers = f;
	s->n_followers++;
	pthread_mutex_unlock(&s->lock);
	*out = f;
	return 0;

err_cond:
	pthread_cond_destroy(&f->cond);
err_free:
	free(f->q);
	free(f);
	return err;
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Called with the store locked. */
static void note_push(struct weir_follower *f, char *line)
{
	if (f->n_len == WEIR_FOLLOW_NOTES_MAX) {
		free(f->notes[f->n_head]);
		f->notes[f->n_head] = line;
		f->n_head = (f->n_head + 1) % WEIR_FOLLOW_NOTES_MAX;
		f->lost++;
		f->s->follower_lost++;
	} else {
		f->notes[(f->n_head + f->n_len) % WEIR_FOLLOW_NOTES_MAX] = line;
		f->n_len++;
	}
	pthread_cond_signal(&f->cond);
}

/* notes NULL: records only, notes stay queued. */
static int follower_wait(struct weir_follower *f, int timeout_ms, struct weir_flow_record **r,
			 char **note, uint64_t *lost)
{
	struct weir_store *s = f->s;
	struct timespec deadline;
	int err = 0;

	*r = NULL;
	if (note)
		*note = NULL;
	if (timeout_ms > 0)
		deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&s->lock);
	while (!f->q_len && !(note && f->n_len) && !s->closed) {
		if (!timeout_ms) {
			err = -EAGAIN;
			break;
		}
		if (timeout_ms < 0) {
			pthread_cond_wait(&f->cond, &s->lock);
			continue;
		}
		if (pthread_cond_timedwait(&f->cond, &s->lock, &deadline) == ETIMEDOUT) {
			err = f->q_len || (note && f->n_len) || s->closed ? 0 : -EAGAIN;
			break;
		}
	}
	if (s->closed) {
		err = -EPIPE;
	} else if (!err && note && f->n_len) {
		*note = f->notes[f->n_head];
		f->n_head = (f->n_head + 1) % WEIR_FOLLOW_NOTES_MAX;
		f->n_len--;
	} else if (!err) {
		*r = f->q[f->q_head];
		f->q_head = (f->q_head + 1) % f->q_max;
		f->q_len--;
	}
	*lost = f->lost;
	f->lost = 0;
	pthread_mutex_unlock(&s->lock);
	return err;
}

int weir_follower_next(struct weir_follower *f, int timeout_ms, struct weir_flow_record **r,
		       uint64_t *lost)
{
	return follower_wait(f, timeout_ms, r, NULL, lost);
}

int weir_follower_next_note(struct weir_follower *f, int timeout_ms, struct weir_flow_record **r,
			    char **note, uint64_t *lost)
{
	return follower_wait(f, timeout_ms, r, note, lost);
}

/* Called with the store locked; false when out of memory (the note is lost). */
static bool notify_one(struct weir_follower *f, const char *line)
{
	char *copy;

	if (!f->notes) {
		f->notes = calloc(WEIR_FOLLOW_NOTES_MAX, sizeof(char *));
		if (!f->notes)
			return false;
	}
	copy = strdup(line);
	if (!copy)
		return false;
	note_push(f, copy);
	return true;
}

void weir_store_notify(struct weir_store *s, const char *line)
{
	struct weir_follower *f;

	pthread_mutex_lock(&s->lock);
	if (!s->closed) {
		for (f = s->followers; f; f = f->next) {
			if (!notify_one(f, line)) {
				f->lost++;
				s->follower_lost++;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
}

int weir_follower_notify(struct weir_follower *f, const char *line)
{
	bool ok;

	pthread_mutex_lock(&f->s->lock);
	ok = notify_one(f, line);
	pthread_mutex_unlock(&f->s->lock);
	return ok ? 0 : -ENOMEM;
}

void weir_follower_free(struct weir_follower *f)
{
	struct weir_store *s;
	size_t i;

	if (!f)
		return;
	s = f->s;
	pthread_mutex_lock(&s->lock);
	if (f->prev)
		f->prev->next = f->next;
	else
		s->followers = f->next;
	if (f->next)
		f->next->prev = f->prev;
	s->n_followers--;
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < f->q_len; i++)
		weir_flow_record_put(f->q[(f->q_head + i) % f->q_max]);
	for (i = 0; i < f->n_len; i++)
		free(f->notes[(f->n_head + i) % WEIR_FOLLOW_NOTES_MAX]);
	free(f->notes);
	pthread_cond_destroy(&f->cond);
	free(f->q);
	free(f);
}

void weir_store_close(struct weir_store *s)
{
	struct weir_follower *f;

	pthread_mutex_lock(&s->lock);
	s->closed = true;
	for (f = s->followers; f; f = f->next)
		pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&s->lock);
}
