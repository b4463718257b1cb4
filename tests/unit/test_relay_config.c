// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-relay's configuration: defaults, durations and sizes as people write
 * them, the JSON file under the flags, bad keys and values refused by name,
 * and the store's capacity for a number of peers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "relay_config.h"

#define S 1000000000ULL

struct fixture {
	struct weir_relay_config cfg;
	char path[64];
	char err[256];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	weir_relay_config_defaults(&f->cfg);
	strcpy(f->path, "/tmp/weir-relay-config-test-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	weir_relay_config_release(&f->cfg);
	unlink(f->path);
	free(f);
	return 0;
}

static int args(struct fixture *f, int argc, char **argv)
{
	return weir_relay_config_args(&f->cfg, argc, argv, f->err, sizeof(f->err));
}

static void write_file(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void defaults_are_hubble_relays(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->cfg.listen, "127.0.0.1:4245");
	assert_int_equal(f->cfg.sort_window_ns, S);
	assert_int_equal(f->cfg.resolve_interval_ns, 10 * S);
	assert_int_equal(f->cfg.backoff_min_ns, S);
	assert_int_equal(f->cfg.backoff_max_ns, 30 * S);
	assert_int_equal(f->cfg.max_line_bytes, 1 << 20);
	assert_int_equal(f->cfg.max_memory_bytes, 1ULL << 30);
}

static void flags_take_durations_and_sizes(void **state)
{
	char *argv[] = { "weir-relay",
			 "--peer",
			 "10.0.0.1:4244",
			 "--peer",
			 "10.0.0.2:4244",
			 "--peer-dns",
			 "nodes.weir:4244",
			 "--sort-window",
			 "500ms",
			 "--resolve-interval",
			 "2",
			 "--backoff-max",
			 "1m",
			 "--max-memory",
			 "512M",
			 "--max-line-bytes",
			 "64KiB",
			 "--max-bad-lines",
			 "3",
			 NULL };
	struct fixture *f = *state;

	assert_int_equal(args(f, 19, argv), 0);
	assert_int_equal(f->cfg.peers.n, 2);
	assert_string_equal(f->cfg.peers.v[1], "10.0.0.2:4244");
	assert_int_equal(f->cfg.peers_dns.n, 1);
	assert_int_equal(f->cfg.sort_window_ns, S / 2);
	assert_int_equal(f->cfg.resolve_interval_ns, 2 * S);
	assert_int_equal(f->cfg.backoff_max_ns, 60 * S);
	assert_int_equal(f->cfg.max_memory_bytes, 512ULL << 20);
	assert_int_equal(f->cfg.max_line_bytes, 64 << 10);
	assert_int_equal(f->cfg.max_bad_lines, 3);
}

static void bad_values_are_refused_by_name(void **state)
{
	char *no_peer[] = { "weir-relay", NULL };
	char *bad_window[] = { "weir-relay", "--peer", "a:1", "--sort-window", "soon", NULL };
	char *bad_size[] = { "weir-relay", "--peer", "a:1", "--max-memory", "12X", NULL };
	char *backwards[] = { "weir-relay", "--peer",	     "a:1", "--backoff-min",
			      "10s",	    "--backoff-max", "1s",  NULL };
	struct fixture *f = *state;

	assert_int_equal(args(f, 1, no_peer), -EINVAL);
	assert_non_null(strstr(f->err, "--peer"));
	assert_int_equal(args(f, 5, bad_window), -EINVAL);
	assert_non_null(strstr(f->err, "sort-window"));
	assert_int_equal(args(f, 5, bad_size), -EINVAL);
	assert_non_null(strstr(f->err, "max-memory"));
	assert_int_equal(args(f, 7, backwards), -EINVAL);
	assert_non_null(strstr(f->err, "backoff-max"));
}

static void the_file_sets_keys_and_flags_override_it(void **state)
{
	char *argv[] = { "weir-relay", "--sort-window", "2s", NULL };
	struct fixture *f = *state;

	write_file(f, "{\"peer\": [\"10.0.0.9:4244\"], \"sort_window\": \"3s\","
		      " \"status_interval\": 7, \"max_memory\": 1048576, \"name\": \"relay-1\"}");
	assert_int_equal(weir_relay_config_load(&f->cfg, f->path, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->cfg.sort_window_ns, 3 * S);
	assert_int_equal(f->cfg.status_interval_ns, 7 * S);
	assert_int_equal(f->cfg.max_memory_bytes, 1 << 20);
	assert_string_equal(f->cfg.name, "relay-1");
	assert_int_equal(args(f, 3, argv), 0);
	assert_int_equal(f->cfg.sort_window_ns, 2 * S);
	assert_string_equal(f->cfg.peers.v[0], "10.0.0.9:4244");

	write_file(f, "{\"peers\": [\"x:1\"]}");
	assert_int_equal(weir_relay_config_load(&f->cfg, f->path, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "unknown key 'peers'"));
	write_file(f, "{\"max_bad_lines\": \"many\"}");
	assert_int_equal(weir_relay_config_load(&f->cfg, f->path, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "max_bad_lines"));
}

/* 65535 per peer, within four fifths of --max-memory at 1 KiB a record. */
static void store_capacity_follows_peers_within_memory(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(weir_relay_store_capacity(&f->cfg, 0), 65535);
	assert_int_equal(weir_relay_store_capacity(&f->cfg, 3), 3 * 65535);
	assert_int_equal(weir_relay_store_capacity(&f->cfg, 100), (1 << 30) / 5 * 4 / 1024);
	f->cfg.store_capacity = 1000;
	assert_int_equal(weir_relay_store_capacity(&f->cfg, 100), 1000);
	f->cfg.max_memory_bytes = 1 << 20;
	assert_int_equal(weir_relay_store_capacity(&f->cfg, 1), (1 << 20) / 5 * 4 / 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(defaults_are_hubble_relays, setup, teardown),
		cmocka_unit_test_setup_teardown(flags_take_durations_and_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_values_are_refused_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(the_file_sets_keys_and_flags_override_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(store_capacity_follows_peers_within_memory, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
