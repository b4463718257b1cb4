// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The registrations' state file: a round trip through a restart, every
 * change written, the file replaced whole (write aside, rename), damaged
 * files moved aside, registrations of vanished interfaces dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "endpoints.h"
#include "endpoints_state.h"
#include "log.h"
#include "state_file.h"

#define NODE	"node-a"
#define ERR_LEN 256

#define CART                                                                 \
	"{\"ips\": [\"10.1.0.5\", \"fd00:1::5\"], \"namespace\": \"shop\", " \
	"\"pod_name\": \"cart-1\", \"labels\": {\"app\": \"cart\"}, "        \
	"\"workload\": {\"name\": \"cart\", \"kind\": \"Deployment\"}, "     \
	"\"interface\": \"veth-cart\", \"container_id\": \"c0ffee\", \"pod_uid\": \"u-1\"}"
#define DB                                                                            \
	"{\"ips\": [\"10.1.0.6\"], \"namespace\": \"shop\", \"pod_name\": \"db-0\", " \
	"\"interface\": \"veth-db\"}"
#define PLAIN "{\"ips\": [\"10.1.0.7\"], \"namespace\": \"ops\", \"pod_name\": \"job-1\"}"

struct fixture {
	char dir[64];
	char path[PATH_MAX];
	struct weir_endpoints *eps;
	struct weir_endpoints_state *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/weir-test-eps-state-XXXXXX");
	if (!mkdtemp(f->dir) || weir_endpoints_new(&f->eps, NODE) ||
	    weir_endpoints_state_new(&f->st, f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/" WEIR_ENDPOINTS_STATE_FILE, f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	weir_endpoints_free(f->eps);
	weir_endpoints_state_free(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

static void reg(struct weir_endpoints *eps, const char *text)
{
	char err[ERR_LEN] = "";
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);

	assert_non_null(doc);
	assert_int_equal(weir_endpoints_register(eps, doc, err, sizeof(err)), 0);
	json_decref(doc);
}

static void put_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "we");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static char *get_file(const char *path)
{
	static char buf[8192];
	FILE *fp = fopen(path, "re");
	size_t n;

	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The file's registrations, by pod name in order. */
static size_t file_pods(const char *path, char *names, size_t len)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *doc;
	size_t i, n, used;

	assert_non_null(root);
	assert_int_equal(json_integer_value(json_object_get(root, "version")),
			 WEIR_ENDPOINTS_STATE_VERSION);
	names[0] = '\0';
	json_array_foreach(json_object_get(root, "endpoints"), i, doc)
	{
		used = strlen(names);
		snprintf(names + used, len - used, "%s ",
			 json_string_value(json_object_get(doc, "pod_name")));
	}
	n = json_array_size(json_object_get(root, "endpoints"));
	json_decref(root);
	return n;
}

static const char *pod_of(struct weir_endpoints *eps, const char *addr)
{
	static char name[64];
	struct weir_endpoint *ep;
	uint8_t b[16] = { 0 };

	assert_int_equal(inet_pton(AF_INET, addr, b), 1);
	ep = weir_endpoints_lookup(eps, 4, b);
	snprintf(name, sizeof(name), "%s", ep->pod_name ? ep->pod_name : "");
	weir_endpoint_put(ep);
	return name;
}

static bool all_exist(void *ctx, const char *ifname)
{
	(void)ctx;
	(void)ifname;
	return true;
}

/* ctx: the one interface that is gone. */
static bool all_but(void *ctx, const char *ifname)
{
	return strcmp(ifname, ctx) != 0;
}

/* Another run of the agent: a fresh cache restored from the same dir. */
static int restart(struct fixture *f, weir_iface_exists_fn fn, void *ctx,
		   struct weir_endpoints **eps)
{
	struct weir_endpoints_state *st;
	int n;

	assert_int_equal(weir_endpoints_new(eps, NODE), 0);
	assert_int_equal(weir_endpoints_state_new(&st, f->dir), 0);
	n = weir_endpoints_state_restore(st, *eps, fn, ctx);
	weir_endpoints_state_free(st);
	return n;
}

static void round_trip_keeps_every_field(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoints *again;
	json_t *before, *after;

	weir_endpoints_state_follow(f->st, f->eps);
	reg(f->eps, CART);
	reg(f->eps, DB);
	reg(f->eps, PLAIN);
	assert_int_equal(restart(f, all_exist, NULL, &again), 3);
	before = weir_endpoints_registrations(f->eps);
	after = weir_endpoints_registrations(again);
	assert_int_equal(json_array_size(after), 3);
	assert_true(json_equal(before, after));
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(after, 0), "container_id")),
		"c0ffee");
	assert_string_equal(pod_of(again, "10.1.0.5"), "cart-1");
	assert_string_equal(pod_of(again, "10.1.0.7"), "job-1");
	json_decref(before);
	json_decref(after);
	weir_endpoints_free(again);
}

static void every_change_is_written(void **state)
{
	struct fixture *f = *state;
	char names[256];

	assert_false(exists(f->path));
	weir_endpoints_state_follow(f->st, f->eps);
	reg(f->eps, CART);
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 1);
	reg(f->eps, DB);
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 2);
	assert_string_equal(names, "cart-1 db-0 ");
	assert_int_equal(
		weir_endpoints_unregister_container(f->eps, "shop", "cart-1", "c0ffee", NULL, 0),
		0);
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 1);
	assert_string_equal(names, "db-0 ");
	/* A stale DEL (an earlier container) changes nothing, the file neither. */
	reg(f->eps, CART);
	assert_int_equal(
		weir_endpoints_unregister_container(f->eps, "shop", "cart-1", "old", NULL, 0),
		-ESTALE);
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 2);
	assert_string_equal(names, "db-0 cart-1 ");
	assert_int_equal(weir_endpoints_unregister(f->eps, "shop", "cart-1"), 0);
	assert_int_equal(weir_endpoints_unregister_container(f->eps, "shop", "db-0", NULL, NULL, 0),
			 0);
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 0);
	/* Not followed any more: nothing is written. */
	weir_endpoints_on_registrations(f->eps, NULL, NULL);
	reg(f->eps, PLAIN);
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 0);
}

static void file_is_replaced_never_rewritten_in_place(void **state)
{
	struct fixture *f = *state;
	char tmp[PATH_MAX + 8], names[256];
	struct stat a, b;

	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	reg(f->eps, CART);
	assert_int_equal(weir_endpoints_state_save(f->st, f->eps), 0);
	assert_int_equal(stat(f->path, &a), 0);
	assert_int_equal(a.st_mode & 0777, 0600);
	reg(f->eps, DB);
	assert_int_equal(weir_endpoints_state_save(f->st, f->eps), 0);
	assert_int_equal(stat(f->path, &b), 0);
	assert_int_not_equal(a.st_ino, b.st_ino); /* a new file renamed over the old */
	assert_false(exists(tmp));
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 2);

	/* A crash half-way left a torn temporary file: it is not the state. */
	put_file(tmp, "{\"version\": 1, \"endpoints\": [{\"ips\"");
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 2);
	assert_int_equal(weir_endpoints_state_save(f->st, f->eps), 0);
	assert_false(exists(tmp));

	/* A write that fails leaves the old file whole. */
	assert_int_equal(mkdir(tmp, 0700), 0);
	reg(f->eps, PLAIN);
	assert_int_equal(weir_endpoints_state_save(f->st, f->eps), -EISDIR);
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 2);
	assert_int_equal(rmdir(tmp), 0);
}

static void state_dir_is_created(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoints_state *st;
	char dir[PATH_MAX], path[PATH_MAX + 32], names[256];

	snprintf(dir, sizeof(dir), "%s/var/lib/weir", f->dir);
	assert_int_equal(weir_endpoints_state_new(&st, dir), 0);
	snprintf(path, sizeof(path), "%s/" WEIR_ENDPOINTS_STATE_FILE, dir);
	assert_string_equal(weir_endpoints_state_path(st), path);
	reg(f->eps, DB);
	assert_int_equal(weir_endpoints_state_save(st, f->eps), 0);
	assert_int_equal(file_pods(path, names, sizeof(names)), 1);
	weir_endpoints_state_free(st);
}

static void no_file_is_no_registrations(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoints *again;

	assert_int_equal(restart(f, all_exist, NULL, &again), 0);
	assert_int_equal(weir_endpoints_count(again), 0);
	assert_false(exists(f->path)); /* nothing to write until something changes */
	weir_endpoints_free(again);
}

static void damaged_file_is_moved_aside(void **state)
{
	static const char *const damaged[] = {
		"{\"version\": 1, \"endpoints\": [{\"ips\": [\"10.1",  /* torn */
		"",						       /* empty */
		"[]",						       /* not an object */
		"{\"version\": 99, \"endpoints\": []}",		       /* unknown version */
		"{\"version\": 1, \"endpoints\": {}}",		       /* not a list */
		"{\"version\": 1, \"version\": 1, \"endpoints\": []}", /* duplicate key */
		"\x7f\x45\x4c\x46\x02\x01",			       /* not text */
	};
	struct fixture *f = *state;
	struct weir_endpoints *again;
	char bad[PATH_MAX + 8], names[256];
	size_t i;

	snprintf(bad, sizeof(bad), "%s" WEIR_STATE_FILE_BAD_SUFFIX, f->path);
	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		put_file(f->path, damaged[i]);
		assert_int_equal(restart(f, all_exist, NULL, &again), 0);
		assert_int_equal(weir_endpoints_count(again), 0);
		assert_false(exists(f->path));
		assert_non_null(get_file(bad));
		assert_string_equal(get_file(bad), damaged[i]); /* kept as it was, to look at */
		/* The agent carries on: the next registration makes a good file. */
		weir_endpoints_state_follow(f->st, again);
		reg(again, DB);
		assert_int_equal(file_pods(f->path, names, sizeof(names)), 1);
		weir_endpoints_free(again);
	}
}

static void registration_of_a_gone_interface_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoints *again;
	char names[256];

	weir_endpoints_state_follow(f->st, f->eps);
	reg(f->eps, CART);
	reg(f->eps, DB);
	reg(f->eps, PLAIN);
	assert_int_equal(restart(f, all_but, "veth-cart", &again), 2);
	assert_string_equal(pod_of(again, "10.1.0.5"), "");
	assert_string_equal(pod_of(again, "10.1.0.6"), "db-0");
	assert_string_equal(pod_of(again, "10.1.0.7"), "job-1"); /* no interface: kept */
	/* The file says so at once, not only after the next change. */
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 2);
	assert_string_equal(names, "db-0 job-1 ");
	weir_endpoints_free(again);
}

static void invalid_registration_is_dropped_the_rest_kept(void **state)
{
	struct fixture *f = *state;
	struct weir_endpoints *again;
	char names[256];

	put_file(f->path, "{\"version\": 1, \"endpoints\": [" DB ", "
			  "{\"ips\": [\"300.1.0.1\"], \"namespace\": \"x\", \"pod_name\": \"y\"}, "
			  "42, " PLAIN "]}");
	assert_int_equal(restart(f, all_exist, NULL, &again), 2);
	assert_string_equal(pod_of(again, "10.1.0.6"), "db-0");
	assert_string_equal(pod_of(again, "10.1.0.7"), "job-1");
	assert_int_equal(file_pods(f->path, names, sizeof(names)), 2);
	weir_endpoints_free(again);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(round_trip_keeps_every_field),
		T(every_change_is_written),
		T(file_is_replaced_never_rewritten_in_place),
		T(state_dir_is_created),
		T(no_file_is_no_registrations),
		T(damaged_file_is_moved_aside),
		T(registration_of_a_gone_interface_is_dropped),
		T(invalid_registration_is_dropped_the_rest_kept),
	};

	weir_log_set_level(WEIR_LOG_ERR);
	return cmocka_run_group_tests_name("endpoints_state", tests, NULL, NULL);
}
