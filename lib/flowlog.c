// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A flow log: the filters, the mask, the aggregator and the file, fed by a
 * store follower on a thread of its own; and the daemons' flow logs from
 * their flags and from a --flowlog-config file.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "filter.h"
#include "flowlog.h"
#include "log.h"
#include "store.h"

#define WAIT_MS		200 /* the thread looks at the stop flag this often */
#define FLUSH_IDLE_MS	100 /* a buffered line waits at most about this long */
/* Woken from idle by one record, the thread lets more gather before it
 * drains the queue: one wakeup per batch rather than per record.
 */
#define BATCH_GATHER_US 2000

struct weir_flowlog {
	char *name;
	struct weir_filter_set *filters;
	struct weir_field_mask *mask; /* NULL: everything */
	struct weir_flow_agg *agg;    /* NULL: a line per record */
	struct weir_logfile *file;
	struct weir_follower *f;
	size_t queue;
	pthread_t thread;
	bool running;
	bool stop; /* atomic */

	pthread_mutex_t lock; /* guards st */
	struct weir_flowlog_stats st;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *weir_flowlog_name(const struct weir_flowlog *fl)
{
	return fl->name;
}

/* One response as a line: masked, compact, newline-terminated. */
static void write_json(void *ctx, json_t *resp)
{
	struct weir_flowlog *fl = ctx;
	struct weir_logfile_stats after;
	char *line;
	size_t len;

	if (fl->mask)
		weir_field_mask_apply(fl->mask, resp);
	line = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (!line)
		return;
	len = strlen(line);
	line[len] = '\n'; /* json_dumps' terminator, then the string is a line */
	weir_logfile_write(fl->file, line, len + 1);
	weir_logfile_stats(fl->file, &after);
	free(line);
	pthread_mutex_lock(&fl->lock);
	fl->st.lines++; /* a failed write is counted in write_errors */
	fl->st.bytes = after.bytes;
	fl->st.write_errors = after.write_errors;
	fl->st.rotations = after.rotations;
	pthread_mutex_unlock(&fl->lock);
}

/* A record that passed the filters. */
static void process_matched(struct weir_flowlog *fl, const struct weir_flow_record *r,
			    uint64_t now_ns)
{
	json_t *resp;

	pthread_mutex_lock(&fl->lock);
	fl->st.records++;
	pthread_mutex_unlock(&fl->lock);
	if (fl->agg) {
		weir_flow_agg_add(fl->agg, r, now_ns, write_json, fl);
		return;
	}
	resp = weir_flow_record_to_json(r);
	if (resp)
		write_json(fl, resp);
}

void weir_flowlog_process(struct weir_flowlog *fl, const struct weir_flow_record *r,
			  uint64_t now_ns)
{
	if (weir_filter_set_match(fl->filters, r))
		process_matched(fl, r, now_ns);
}

void weir_flowlog_tick(struct weir_flowlog *fl, uint64_t now_ns, bool force)
{
	struct weir_logfile_stats st;

	if (fl->agg)
		weir_flow_agg_tick(fl->agg, now_ns, force, write_json, fl);
	weir_logfile_flush(fl->file);
	weir_logfile_stats(fl->file, &st);
	pthread_mutex_lock(&fl->lock);
	fl->st.bytes = st.bytes;
	fl->st.write_errors = st.write_errors;
	fl->st.rotations = st.rotations;
	pthread_mutex_unlock(&fl->lock);
}

int weir_flowlog_new(struct weir_flowlog **out, const struct weir_flowlog_opts *o, char *err,
		     size_t err_len)
{
	struct weir_flowlog *fl = calloc(1, sizeof(*fl));
	unsigned int fields;
	int ret = -ENOMEM;

	if (!fl)
		return -ENOMEM;
	pthread_mutex_init(&fl->lock, NULL);
	fl->queue = o->queue;
	fl->name = strdup(o->name ? o->name : o->file);
	if (!fl->name)
		goto err;
	ret = weir_filter_set_new(&fl->filters, o->allow, o->deny, err, err_len);
	if (ret)
		goto err;
	if (o->fields && *o->fields) {
		ret = weir_field_mask_parse(&fl->mask, o->fields, err, err_len);
		if (ret)
			goto err;
	}
	if (o->aggregate_interval_ns) {
		ret = weir_agg_fields_parse(o->aggregate_by, &fields, err, err_len);
		ret = ret ?: weir_flow_agg_new(&fl->agg, o->aggregate_interval_ns, fields);
		if (ret)
			goto err;
	}
	ret = weir_logfile_open(&fl->file, o->file, o->max_size_bytes, o->max_files);
	if (ret) {
		snprintf(err, err_len, "flow log %s: open %s: %s", fl->name, o->file,
			 strerror(-ret));
		goto err;
	}
	*out = fl;
	return 0;

err:
	weir_flowlog_free(fl);
	return ret;
}

static void *flowlog_thread(void *arg)
{
	struct weir_flowlog *fl = arg;
	struct weir_flow_record *r;
	uint64_t lost, due, now;
	bool stopping, pending = false;
	int err, timeout;

	for (;;) {
		stopping = __atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE);
		timeout = stopping ? 0 : pending ? FLUSH_IDLE_MS : WAIT_MS;
		if (!stopping && fl->agg && (due = weir_flow_agg_due(fl->agg))) {
			now = realtime_ns();
			if (due <= now)
				timeout = 0;
			else if ((due - now) / 1000000ULL < (uint64_t)timeout)
				timeout = (int)((due - now) / 1000000ULL) + 1;
		}
		err = weir_follower_next(fl->f, timeout, &r, &lost);
		if (lost) {
			pthread_mutex_lock(&fl->lock);
			fl->st.queue_lost += lost;
			pthread_mutex_unlock(&fl->lock);
		}
		if (!err) {
			if (timeout && !pending)
				usleep(BATCH_GATHER_US);
			/* the follower's filters matched it */
			process_matched(fl, r, realtime_ns());
			weir_flow_record_put(r);
			pending = true;
			continue;
		}
		weir_flowlog_tick(fl, realtime_ns(), stopping || err == -EPIPE);
		pending = false;
		if (stopping || err == -EPIPE)
			break;
	}
	return NULL;
}

int weir_flowlog_start(struct weir_flowlog *fl, struct weir_store *store)
{
	int err;

	err = weir_store_follow(store, fl->filters, fl->queue, &fl->f);
	if (err)
		return err;
	err = -pthread_create(&fl->thread, NULL, flowlog_thread, fl);
	if (err) {
		weir_follower_free(fl->f);
		fl->f = NULL;
		return err;
	}
	fl->running = true;
	return 0;
}

void weir_flowlog_free(struct weir_flowlog *fl)
{
	if (!fl)
		return;
	if (fl->running) {
		__atomic_store_n(&fl->stop, true, __ATOMIC_RELEASE);
		pthread_join(fl->thread, NULL);
	} else if (fl->file) {
		weir_flowlog_tick(fl, realtime_ns(), true);
	}
	weir_follower_free(fl->f);
	weir_logfile_close(fl->file);
	weir_flow_agg_free(fl->agg);
	weir_field_mask_free(fl->mask);
	weir_filter_set_free(fl->filters);
	pthread_mutex_destroy(&fl->lock);
	free(fl->name);
	free(fl);
}

void weir_flowlog_stats(struct weir_flowlog *fl, struct weir_flowlog_stats *st)
{
	pthread_mutex_lock(&fl->lock);
	*st = fl->st;
	pthread_mutex_unlock(&fl->lock);
}
