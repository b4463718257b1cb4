// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* State files (lib/state_file.c): made with their directories, replaced
 * whole, and left as they were when a write fails.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "state_file.h"

static char base[] = "/tmp/weir-test-state-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static json_t *read_back(const char *path)
{
	json_error_t jerr;

	return json_load_file(path, 0, &jerr);
}

static void makes_its_directories_and_replaces_whole(void **state)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	json_t *doc, *got;
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/a/b/state.json", base);
	doc = json_pack("{s:i,s:[s,s]}", "version", 1, "names", "x", "y");
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), 0);
	got = read_back(path);
	assert_non_null(got);
	assert_true(json_equal(doc, got));
	json_decref(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the temporary is gone once renamed */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);

	json_object_set_new(doc, "version", json_integer(2));
	assert_int_equal(weir_state_file_write(path, doc, JSON_INDENT(2)), 0);
	got = read_back(path);
	assert_int_equal(json_integer_value(json_object_get(got, "version")), 2);
	json_decref(got);
	json_decref(doc);
}

static void a_failed_write_leaves_the_old_file(void **state)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	json_t *old = json_pack("{s:s}", "keep", "me"), *doc = json_pack("{s:i}", "new", 1), *got;

	(void)state;
	snprintf(path, sizeof(path), "%s/keep.json", base);
	assert_int_equal(weir_state_file_write(path, old, JSON_COMPACT), 0);
	/* the temporary's name is taken by a directory: the write cannot start */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), -EISDIR);
	got = read_back(path);
	assert_non_null(got);
	assert_true(json_equal(old, got));
	json_decref(got);
	assert_int_equal(rmdir(tmp), 0);
	json_decref(old);
	json_decref(doc);
}

static void a_directory_path_through_a_file_is_an_error(void **state)
{
	char file[PATH_MAX], path[PATH_MAX + 16];
	json_t *doc = json_pack("{s:i}", "x", 1);

	(void)state;
	snprintf(file, sizeof(file), "%s/plain", base);
	assert_int_equal(weir_state_file_write(file, doc, JSON_COMPACT), 0);
	snprintf(path, sizeof(path), "%s/sub/state.json", file);
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), -ENOTDIR);
	assert_int_equal(weir_mkdir_p(file, 0700), -ENOTDIR);
	json_decref(doc);
}

static const struct weir_state_file_health *health_of(struct weir_state_file_health *h, size_t n,
						      const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(h[i].name, name))
			return &h[i];
	return NULL;
}

/* What /metrics shows: failures counted by file name, stale until a write
 * succeeds again.
 */
static void failed_writes_are_counted_until_one_succeeds(void **state)
{
	struct weir_state_file_health h[WEIR_STATE_FILES_MAX];
	const struct weir_state_file_health *e;
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	json_t *doc = json_pack("{s:i}", "x", 1);
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/counted.json", base);
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), 0);
	n = weir_state_file_health(h, WEIR_STATE_FILES_MAX);
	e = health_of(h, n, "counted.json");
	assert_non_null(e);
	assert_int_equal(e->failures, 0);
	assert_false(e->stale);

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), -EISDIR);
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), -EISDIR);
	n = weir_state_file_health(h, WEIR_STATE_FILES_MAX);
	e = health_of(h, n, "counted.json");
	assert_non_null(e);
	assert_int_equal(e->failures, 2);
	assert_true(e->stale);

	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(weir_state_file_write(path, doc, JSON_COMPACT), 0);
	n = weir_state_file_health(h, WEIR_STATE_FILES_MAX);
	e = health_of(h, n, "counted.json");
	assert_int_equal(e->failures, 2);
	assert_false(e->stale);
	/* a copy is asked for: fewer slots than files is fine */
	assert_int_equal(weir_state_file_health(h, 1), 1);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(makes_its_directories_and_replaces_whole),
		cmocka_unit_test(a_failed_write_leaves_the_old_file),
		cmocka_unit_test(a_directory_path_through_a_file_is_an_error),
		cmocka_unit_test(failed_writes_are_counted_until_one_succeeds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
