/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* weir-relay's configuration: defaults, a JSON file, then command-line flags,
 * each overriding the one before, as the agent's. A bad key or value is
 * refused by name.
 */
#ifndef WEIR_RELAY_RELAY_CONFIG_H
#define WEIR_RELAY_RELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "flowlog.h"
#include "options.h"

#define WEIR_RELAY_LISTEN_DEFAULT	  "127.0.0.1:4245" /* Hubble Relay's port */
#define WEIR_RELAY_STORE_PER_PEER_DEFAULT 65535
#define WEIR_RELAY_MAX_MEMORY_DEFAULT	  (1ULL << 30)
/* What a stored record costs, estimated: the record, its two endpoints with
 * a few labels, their strings and the allocator's overhead, plus its ring
 * slot and its share of the sort heap.
 */
#define WEIR_RELAY_RECORD_BYTES_ESTIMATE  1024

struct weir_relay_config {
	struct weir_strv peers;	      /* "host:port" */
	struct weir_strv peers_dns;   /* "name:port", re-resolved */
	uint64_t resolve_interval_ns; /* 10 s */
	uint64_t status_interval_ns;  /* 5 s */
	uint64_t connect_timeout_ns;  /* 5 s */
	uint64_t backoff_min_ns;      /* 1 s */
	uint64_t backoff_max_ns;      /* 30 s */
	uint64_t sort_window_ns;      /* 1 s */
	size_t store_capacity;	      /* 0: 65535 per peer */
	uint64_t max_memory_bytes;    /* caps the store (and the sort window's records) */
	uint64_t max_line_bytes;      /* a longer line is an error (1 MiB) */
	uint32_t max_bad_lines;	      /* invalid lines on one connection before an error */
	size_t follow_queue;	      /* records a follow stream may fall behind (4096) */
	char *listen;		      /* TCP "host:port"; "" for none */
	char *socket_path;	      /* unix socket; "" for none */
	char *name;		      /* the relay's name (default: the host name) */
	char *history_db;	      /* SQLite history (relay/history.h); "" for none */
	uint64_t history_age_ns;      /* records older are deleted (7d) */
	uint64_t history_max_bytes;   /* past this the oldest are deleted (10G) */
	int verbose;
	/* --flowlog-*: the merged records to files */
	struct weir_flowlog_config flowlog;
};

void weir_relay_config_defaults(struct weir_relay_config *cfg);
/* Reads the JSON config file over cfg. -EINVAL naming the bad key in err. */
int weir_relay_config_load(struct weir_relay_config *cfg, const char *path, char *err,
			   size_t err_len);
/* Applies command-line flags over cfg. Returns 0, 1 after --help (printed),
 * or -EINVAL naming the bad flag in err.
 */
int weir_relay_config_args(struct weir_relay_config *cfg, int argc, char **argv, char *err,
			   size_t err_len);
void weir_relay_config_release(struct weir_relay_config *cfg);
/* The store's capacity for n peers: the configured one, or 65535 per peer,
 * capped by max_memory.
 */
size_t weir_relay_store_capacity(const struct weir_relay_config *cfg, size_t n_peers);

#endif /* WEIR_RELAY_RELAY_CONFIG_H */
