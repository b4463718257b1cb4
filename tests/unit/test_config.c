// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* weir-agent's configuration: defaults, the JSON file, the flags over it,
 * and a bad key or value refused by name.
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
#include "config.h"

struct fixture {
	struct weir_agent_config cfg;
	char path[64];
	char err[256];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	weir_agent_config_defaults(&f->cfg);
	strcpy(f->path, "/tmp/weir-config-test-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	weir_agent_config_release(&f->cfg);
	free(f);
	return 0;
}

static int load(struct fixture *f, const char *json)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	fputs(json, fp);
	fclose(fp);
	return weir_agent_config_load(&f->cfg, f->path, f->err, sizeof(f->err));
}

static int args(struct fixture *f, int argc, char **argv)
{
	return weir_agent_config_args(&f->cfg, argc, argv, f->err, sizeof(f->err));
}

static void defaults_are_documented_ones(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->cfg.active_timeout_s, 10);
	assert_int_equal(f->cfg.idle_timeout_s, 30);
	assert_int_equal(f->cfg.store_capacity, 65535);
	assert_string_equal(f->cfg.listen, WEIR_AGENT_LISTEN_DEFAULT);
	assert_string_equal(f->cfg.socket_path, WEIR_AGENT_SOCKET_DEFAULT);
	assert_string_equal(f->cfg.pin_dir, "/sys/fs/bpf/weir");
	assert_int_equal(f->cfg.xdp_mode, WEIR_XDP_AUTO);
	assert_false(f->cfg.keep_datapath);
}

static void file_sets_every_kind_of_key(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "{\"node_name\": \"n1\", \"tc_pattern\": [\"lxc*\", \"veth*\"],"
				 " \"xdp_mode\": \"generic\", \"keep_datapath\": true,"
				 " \"idle_timeout\": 60, \"store_capacity\": 1000}"),
			 0);
	assert_string_equal(f->cfg.node_name, "n1");
	assert_int_equal(f->cfg.tc_patterns.n, 2);
	assert_string_equal(f->cfg.tc_patterns.v[1], "veth*");
	assert_int_equal(f->cfg.xdp_mode, WEIR_XDP_GENERIC);
	assert_true(f->cfg.keep_datapath);
	assert_int_equal(f->cfg.idle_timeout_s, 60);
	assert_int_equal(f->cfg.store_capacity, 1000);
}

static void unknown_key_is_refused_by_name(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "{\"idle_timeout\": 5, \"idel_timeout\": 5}"), -EINVAL);
	assert_non_null(strstr(f->err, "unknown key 'idel_timeout'"));
}

static void wrong_types_are_refused_by_name(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "{\"idle_timeout\": \"soon\"}"), -EINVAL);
	assert_non_null(strstr(f->err, "idle_timeout"));
	assert_int_equal(load(f, "{\"tc_pattern\": [\"a\", 3]}"), -EINVAL);
	assert_non_null(strstr(f->err, "tc_pattern[1]"));
	assert_int_equal(load(f, "{\"xdp_mode\": \"turbo\"}"), -EINVAL);
	assert_non_null(strstr(f->err, "xdp-mode"));
	assert_int_equal(load(f, "{\"store_capacity\": 0}"), -EINVAL);
	assert_int_equal(load(f, "[1, 2]"), -EINVAL);
	assert_int_equal(load(f, "{\"node_name\": "), -EINVAL);
	assert_non_null(strstr(f->err, f->path));
}

static void flags_override_the_file(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "weir-agent",	    "-c", f->path, "--idle-timeout", "90", "--tc", "eth1",
			 "--keep-datapath", NULL };

	assert_int_equal(load(f, "{\"idle_timeout\": 60, \"active_timeout\": 5}"), 0);
	assert_int_equal(args(f, 8, argv), 0);
	assert_int_equal(f->cfg.idle_timeout_s, 90);
	assert_int_equal(f->cfg.active_timeout_s, 5);
	assert_int_equal(f->cfg.tc_ifaces.n, 1);
	assert_true(f->cfg.keep_datapath);
}

static void bad_flags_are_refused_by_name(void **state)
{
	struct fixture *f = *state;
	char *unknown[] = { "weir-agent", "--idel-timeout", "5", NULL };
	char *bad_num[] = { "weir-agent", "--flows-max", "-5", NULL };
	char *missing[] = { "weir-agent", "--listen", NULL };
	char *stray[] = { "weir-agent", "eth0", NULL };

	assert_int_equal(args(f, 3, unknown), -EINVAL);
	assert_non_null(strstr(f->err, "--idel-timeout"));
	assert_int_equal(args(f, 3, bad_num), -EINVAL);
	assert_non_null(strstr(f->err, "flows-max"));
	assert_int_equal(args(f, 2, missing), -EINVAL);
	assert_non_null(strstr(f->err, "--listen"));
	assert_int_equal(args(f, 2, stray), -EINVAL);
	assert_non_null(strstr(f->err, "eth0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(defaults_are_documented_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(file_sets_every_kind_of_key, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_key_is_refused_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_types_are_refused_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(flags_override_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_flags_are_refused_by_name, setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
